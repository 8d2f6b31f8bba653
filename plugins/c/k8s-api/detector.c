/*
 * Harrier detector in C: Discovery:Runtime/KubernetesAPIServerContacted.
 *
 * Reports a process in a container connecting (or trying to: the result is
 * in the evidence) to the Kubernetes API server: port 6443, or an address
 * in `api_servers` (the `kubernetes` service's cluster IP on port 443 in
 * the usual service ranges of kubeadm, EKS and GKE). Falco's rule "Contact
 * K8S API Server From Container" is the model; workloads that talk to the
 * API by design (operators, controllers) are allowed with the shared keys
 * `allow_executables` or `allow_parents`.
 *
 * Configuration (JSON object, unknown keys refused): the shared policy keys,
 * `api_servers` (list of "address:port"), `api_ports` (list of ports, as
 * strings, that are the API server's wherever it runs).
 */
#include "harrier.h"

#include <string.h>

static const hr_spec_t SPEC = {
    "Discovery:Runtime/KubernetesAPIServerContacted", 3.0f, "Kubernetes API server contacted from a container",
    "A process in a container connected to the Kubernetes API server. Attackers in a compromised pod use the "
    "service account token to list secrets, create pods or escalate; most application containers never talk to "
    "the API.",
    "T1613"};

typedef struct {
  hr_policy_t policy;
  hr_strings_t api_servers;
  hr_strings_t api_ports;
} config_t;

static bool configure(config_t *c, const detector_string_t *json, detector_string_t *err) {
  static const char *const servers[] = {"10.96.0.1:443", "10.100.0.1:443", "172.20.0.1:443", "10.0.0.1:443"};
  static const char *const ports[] = {"6443"};
  hr_strings_set(&c->api_servers, servers, sizeof servers / sizeof servers[0]);
  hr_strings_set(&c->api_ports, ports, 1);
  hr_key_t own[] = {{"api_servers", HR_STRINGS, &c->api_servers}, {"api_ports", HR_STRINGS, &c->api_ports}};
  return hr_config_parse(json, &c->policy, own, 2, err);
}

static void release(config_t *c) {
  hr_policy_free(&c->policy);
  hr_strings_free(&c->api_servers);
  hr_strings_free(&c->api_ports);
}

/* Decimal text of `n` into `out` (at least 21 bytes); returns its length. */
static size_t decimal(int64_t n, char *out) {
  char digits[21];
  size_t len = 0, i = 0;
  uint64_t u = n < 0 ? -(uint64_t)n : (uint64_t)n;
  do digits[len++] = '0' + u % 10; while ((u /= 10));
  if (n < 0) out[i++] = '-';
  while (len) out[i++] = digits[--len];
  return i;
}

static void detect(const config_t *c, const detector_event_t *e, detector_list_finding_t *out) {
  if (e->detail.tag != HARRIER_DETECTOR_TYPES_EVENT_DETAIL_NET_CONNECT || !e->process.container_id.is_some) return;
  const harrier_detector_types_net_event_t *connect = &e->detail.val.net_connect;
  const detector_tuple2_string_u16_t *peer;
  if (connect->address.tag == HARRIER_DETECTOR_TYPES_SOCKET_ADDRESS_IPV4) peer = &connect->address.val.ipv4;
  else if (connect->address.tag == HARRIER_DETECTOR_TYPES_SOCKET_ADDRESS_IPV6) peer = &connect->address.val.ipv6;
  else return;
  char port[24], endpoint[96];
  size_t port_len = decimal(peer->f1, port);
  if (peer->f0.len + 1 + port_len > sizeof endpoint) return;
  memcpy(endpoint, peer->f0.ptr, peer->f0.len);
  endpoint[peer->f0.len] = ':';
  memcpy(endpoint + peer->f0.len + 1, port, port_len);
  size_t endpoint_len = peer->f0.len + 1 + port_len;
  bool api = hr_strings_has(&c->api_ports, (const uint8_t *)port, port_len) ||
             hr_strings_has(&c->api_servers, (const uint8_t *)endpoint, endpoint_len);
  if (!api || !hr_policy_permits(&c->policy, SPEC.finding_type, &e->process, NULL)) return;
  char result[24];
  size_t result_len = decimal(connect->result, result);
  detector_finding_t *f = hr_finding_push(out, &SPEC, e);
  hr_evidence_n(f, "remote", (const uint8_t *)endpoint, endpoint_len);
  hr_evidence_n(f, "result", (const uint8_t *)result, result_len);
}

void exports_detector_metadata(detector_metadata_t *ret) {
  const harrier_detector_types_event_kind_t kinds[] = {HARRIER_DETECTOR_TYPES_EVENT_KIND_NET_CONNECT};
  hr_metadata(ret, "k8s-api-c", "0.1.0",
              "Kubernetes API server contacted from a container (Falco's Contact K8S API Server From Container).",
              kinds, 1, &SPEC, 1);
}

HR_DETECTOR(config_t, configure, release, detect)

/* A connect to 10.96.0.1:443 from a container is reported; one to an
 * ordinary service is not. */
bool exports_detector_self_test(detector_string_t *err) {
  config_t c = {0};
  detector_string_t empty = {0};
  detector_event_t events[2];
  const char *const addresses[] = {"10.96.0.1", "10.96.12.7"};
  detector_list_finding_t found = {0};
  bool ok = configure(&c, &empty, err);
  for (size_t i = 0; i < 2; i++) {
    hr_process_event(&events[i], i + 1, 3100, "/usr/bin/curl");
    events[i].process.container_id.is_some = true;
    detector_string_dup(&events[i].process.container_id.val, "self-test");
    events[i].detail.tag = HARRIER_DETECTOR_TYPES_EVENT_DETAIL_NET_CONNECT;
    harrier_detector_types_net_event_t *connect = &events[i].detail.val.net_connect;
    memset(connect, 0, sizeof *connect);
    connect->address.tag = HARRIER_DETECTOR_TYPES_SOCKET_ADDRESS_IPV4;
    detector_string_dup(&connect->address.val.ipv4.f0, addresses[i]);
    connect->address.val.ipv4.f1 = 443;
    if (ok) detect(&c, &events[i], &found);
  }
  ok = ok && hr_expect_types(&found, &SPEC, 1, err);
  detector_list_finding_free(&found);
  for (size_t i = 0; i < 2; i++) detector_event_free(&events[i]);
  release(&c);
  return ok;
}
