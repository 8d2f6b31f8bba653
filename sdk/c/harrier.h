/*
 * Harrier detector SDK for C: configuration with the shared policy keys,
 * findings built as every language's SDK builds them, and defaults for the
 * exports most detectors do not need. Include it after generating the
 * bindings (`wit-bindgen c wit --world detector --out-dir gen`) and compile
 * harrier.c with the detector.
 *
 * Ownership follows the bindings: arguments of exports belong to the
 * detector (free them), results belong to the host (allocate them with
 * malloc; the bindings free them after the call).
 */
#ifndef HARRIER_SDK_H
#define HARRIER_SDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detector.h"

/* A list of NUL-terminated strings, owned by the list. */
typedef struct {
  char **items;
  size_t len;
} hr_strings_t;

/* The keys every detector understands, as in the Rust SDK:
 * allow_executables, allow_parents, allow_paths (globs, `*` also matches
 * `/`), containers_only, disabled_types. */
typedef struct {
  hr_strings_t allow_executables;
  hr_strings_t allow_parents;
  hr_strings_t allow_paths;
  hr_strings_t disabled_types;
  bool containers_only;
} hr_policy_t;

/* The type of a detector's own configuration key. */
typedef enum { HR_STRINGS, HR_BOOL } hr_kind_t;

/* One of the detector's own keys; `value` points to an hr_strings_t or a
 * bool holding the default, replaced when the key is given. */
typedef struct {
  const char *key;
  hr_kind_t kind;
  void *value;
} hr_key_t;

/* Parse a configuration object: the shared keys into `policy`, the
 * detector's into `own`. Unknown keys, wrong types and bad JSON are refused
 * with `err` set ("invalid configuration: ..."); returns whether it parsed. */
bool hr_config_parse(const detector_string_t *json, hr_policy_t *policy, const hr_key_t *own,
                     size_t n_own, detector_string_t *err);

/* Replace `list` by copies of `items`. */
void hr_strings_set(hr_strings_t *list, const char *const *items, size_t n);
void hr_strings_free(hr_strings_t *list);
void hr_policy_free(hr_policy_t *policy);

/* Whether `list` holds exactly `s` (`len` bytes). */
bool hr_strings_has(const hr_strings_t *list, const uint8_t *s, size_t len);

/* `*` matches any run of bytes (including `/`), `?` one byte. */
bool hr_glob(const char *pattern, const uint8_t *text, size_t len);

/* Whether the policy lets `finding_type` be reported about `process`
 * (and `path`, which may be NULL), as the Rust SDK's Policy::permits. */
bool hr_policy_permits(const hr_policy_t *policy, const char *finding_type,
                       const harrier_detector_types_process_t *process, const detector_string_t *path);

/* The last component of `path`. */
detector_string_t hr_basename(const detector_string_t *path);

/* The static facts of one finding type. */
typedef struct {
  const char *finding_type;
  float severity;
  const char *title;
  const char *description;
  const char *mitre;
} hr_spec_t;

/* Fill the metadata export's result. */
void hr_metadata(detector_metadata_t *ret, const char *name, const char *version, const char *description,
                 const harrier_detector_types_event_kind_t *kinds, size_t n_kinds, const hr_spec_t *specs,
                 size_t n_specs);

/* Append a finding of `spec` about `event`'s process to `out`, citing the
 * event, with the evidence every SDK adds (exe, comm, and each path given
 * with dot segments as <field>_as_given); returns it to add more. */
detector_finding_t *hr_finding_push(detector_list_finding_t *out, const hr_spec_t *spec,
                                    const detector_event_t *event);

/* Add evidence (skipped when the value is empty). */
void hr_evidence(detector_finding_t *finding, const char *key, const detector_string_t *value);
void hr_evidence_n(detector_finding_t *finding, const char *key, const uint8_t *value, size_t len);
/* Add `list` joined by `sep` as one piece of evidence. */
void hr_evidence_joined(detector_finding_t *finding, const char *key, const detector_list_string_t *list,
                        const char *sep);

/* Set `err` to a copy of `message`; returns false, for `return hr_fail(...)`. */
bool hr_fail(detector_string_t *err, const char *message);

/* For self-tests: an event of process `pid` running `exe` (comm is its
 * base name), detail zeroed for the caller to set; owned by the caller
 * (free it with detector_event_free). */
void hr_process_event(detector_event_t *event, uint64_t seq, uint32_t pid, const char *exe);

/* For self-tests: an exec event of `filename` with `args`, owned by the
 * caller (free it with detector_event_free). */
void hr_exec_event(detector_event_t *event, uint64_t seq, uint32_t pid, const char *filename,
                   const char *const *args, size_t n_args);

/* For self-tests: check `findings` are exactly one of each of `specs`
 * (order ignored), valid and citing an event; sets `err` otherwise. */
bool hr_expect_types(const detector_list_finding_t *findings, const hr_spec_t *specs, size_t n_specs,
                     detector_string_t *err);

/* Define the `init` and `on-events` exports of a detector whose
 * configuration is a `type`: `configure(type *, const detector_string_t
 * *json, detector_string_t *err)` builds one (false refuses it, with `err`
 * set), `release(type *)` frees one, and `detect(const type *, const
 * detector_event_t *, detector_list_finding_t *out)` examines one event. A
 * refused configuration leaves the previous one serving. */
#define HR_DETECTOR(type, configure, release, detect)                                      \
  static type hr_live_config;                                                              \
  bool exports_detector_init(detector_string_t *json, detector_string_t *err) {            \
    type next = {0};                                                                       \
    bool ok = configure(&next, json, err);                                                 \
    detector_string_free(json);                                                            \
    if (!ok) {                                                                             \
      release(&next);                                                                      \
      return false;                                                                        \
    }                                                                                      \
    release(&hr_live_config);                                                              \
    hr_live_config = next;                                                                 \
    return true;                                                                           \
  }                                                                                        \
  void exports_detector_on_events(detector_list_event_t *events, detector_list_finding_t *ret) { \
    *ret = (detector_list_finding_t){0};                                                   \
    for (size_t i = 0; i < events->len; i++) detect(&hr_live_config, &events->ptr[i], ret); \
    detector_list_event_free(events);                                                      \
  }

#endif
