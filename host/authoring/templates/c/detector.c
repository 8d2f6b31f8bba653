#include "harrier-sdk/harrier.h"

static const hr_spec_t SPEC = {"Execution:Runtime/{{pascal}}", 5.0f, "Watched program executed",
    "A process ran a program named in the detector's configuration (key programs, default kubectl).", "T1609"};

typedef struct { hr_policy_t policy; hr_strings_t programs; } config_t;

static bool configure(config_t *c, const detector_string_t *json, detector_string_t *err) {
    static const char *const defaults[] = {"kubectl"};
    hr_strings_set(&c->programs, defaults, 1);
    hr_key_t own[] = {{"programs", HR_STRINGS, &c->programs}};
    return hr_config_parse(json, &c->policy, own, 1, err);
}

static void release(config_t *c) { hr_policy_free(&c->policy); hr_strings_free(&c->programs); }

static void detect(const config_t *c, const detector_event_t *e, detector_list_finding_t *out) {
    if (e->detail.tag != HARRIER_DETECTOR_TYPES_EVENT_DETAIL_EXEC) return;
    const harrier_detector_types_exec_event_t *exec = &e->detail.val.exec;
    detector_string_t program = hr_basename(&exec->filename);
    if (!hr_strings_has(&c->programs, program.ptr, program.len)) return;
    if (!hr_policy_permits(&c->policy, SPEC.finding_type, &e->process, NULL)) return;
    detector_finding_t *f = hr_finding_push(out, &SPEC, e);
    hr_evidence(f, "filename", &exec->filename);
    hr_evidence_joined(f, "cmdline", &exec->args, " ");
}

void exports_detector_metadata(detector_metadata_t *ret) {
    const harrier_detector_types_event_kind_t kinds[] = {HARRIER_DETECTOR_TYPES_EVENT_KIND_EXEC};
    hr_metadata(ret, "{{name}}", "0.1.0", "Reports a run of a program named in the configuration key programs.", kinds, 1, &SPEC, 1);
}

HR_DETECTOR(config_t, configure, release, detect)

bool exports_detector_self_test(detector_string_t *err) {
    static const char *const args[] = {"kubectl", "exec", "-it", "web-0", "--", "sh"};
    config_t c = {0};
    detector_string_t empty = {0};
    detector_event_t event;
    detector_list_finding_t found = {0};
    bool ok = configure(&c, &empty, err);
    hr_exec_event(&event, 1, 2101, "/usr/local/bin/kubectl", args, 6);
    if (ok) detect(&c, &event, &found);
    ok = ok && hr_expect_types(&found, &SPEC, 1, err);
    detector_list_finding_free(&found);
    detector_event_free(&event);
    release(&c);
    return ok;
}
