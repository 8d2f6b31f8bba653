/* Harrier detector SDK for C; see harrier.h. Uses only memory and string
 * functions of the C library, so a detector imports nothing from WASI. */
#include "harrier.h"

#include <stdlib.h>
#include <string.h>

/* How far up the process tree allow_parents looks, as in the Rust SDK. */
#define PARENT_DEPTH 4

/* ---- growable byte buffer ------------------------------------------- */

typedef struct {
  char *bytes;
  size_t len, cap;
} buf_t;

static void buf_push(buf_t *b, const void *data, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->bytes = realloc(b->bytes, b->cap);
    if (!b->bytes) abort();
  }
  memcpy(b->bytes + b->len, data, n);
  b->len += n;
  b->bytes[b->len] = 0;
}

static void buf_str(buf_t *b, const char *s) { buf_push(b, s, strlen(s)); }

bool hr_fail(detector_string_t *err, const char *message) {
  detector_string_dup(err, message);
  return false;
}

/* err = "invalid configuration: " a b c */
static bool config_error(detector_string_t *err, const char *a, const char *b, const char *c) {
  buf_t m = {0};
  buf_str(&m, "invalid configuration: ");
  buf_str(&m, a);
  buf_str(&m, b);
  buf_str(&m, c);
  err->ptr = (uint8_t *)m.bytes;
  err->len = m.len;
  return false;
}

/* ---- string lists ------------------------------------------------------ */

void hr_strings_free(hr_strings_t *list) {
  for (size_t i = 0; i < list->len; i++) free(list->items[i]);
  free(list->items);
  list->items = NULL;
  list->len = 0;
}

static void strings_push(hr_strings_t *list, char *owned) {
  list->items = realloc(list->items, (list->len + 1) * sizeof(char *));
  if (!list->items) abort();
  list->items[list->len++] = owned;
}

void hr_strings_set(hr_strings_t *list, const char *const *items, size_t n) {
  hr_strings_free(list);
  for (size_t i = 0; i < n; i++) strings_push(list, strdup(items[i]));
}

void hr_policy_free(hr_policy_t *policy) {
  hr_strings_free(&policy->allow_executables);
  hr_strings_free(&policy->allow_parents);
  hr_strings_free(&policy->allow_paths);
  hr_strings_free(&policy->disabled_types);
}

bool hr_strings_has(const hr_strings_t *list, const uint8_t *s, size_t len) {
  for (size_t i = 0; i < list->len; i++)
    if (strlen(list->items[i]) == len && memcmp(list->items[i], s, len) == 0) return true;
  return false;
}

bool hr_glob(const char *pattern, const uint8_t *text, size_t len) {
  const char *p = pattern, *star = NULL;
  size_t t = 0, star_t = 0;
  while (t < len) {
    if (*p == '*') {
      star = p++;
      star_t = t;
    } else if (*p && (*p == '?' || (uint8_t)*p == text[t])) {
      p++;
      t++;
    } else if (star) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (*p == '*') p++;
  return *p == 0;
}

static bool any_glob(const hr_strings_t *globs, const detector_string_t *text) {
  for (size_t i = 0; i < globs->len; i++)
    if (hr_glob(globs->items[i], text->ptr, text->len)) return true;
  return false;
}

/* ---- configuration (a flat JSON object) --------------------------------- */

typedef struct {
  const uint8_t *p, *end;
} cursor_t;

static void skip_ws(cursor_t *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static bool take(cursor_t *c, char expected) {
  skip_ws(c);
  if (c->p < c->end && *c->p == expected) {
    c->p++;
    return true;
  }
  return false;
}

static bool take_word(cursor_t *c, const char *word) {
  size_t n = strlen(word);
  skip_ws(c);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0) return false;
  c->p += n;
  return true;
}

static bool hex4(cursor_t *c, uint32_t *out) {
  if (c->end - c->p < 4) return false;
  *out = 0;
  for (int i = 0; i < 4; i++) {
    uint8_t h = *c->p++, l = h | 32;
    *out <<= 4;
    if (h >= '0' && h <= '9') *out |= h - '0';
    else if (l >= 'a' && l <= 'f') *out |= l - 'a' + 10;
    else return false;
  }
  return true;
}

static void push_utf8(buf_t *b, uint32_t ch) {
  uint8_t u[4];
  size_t n;
  if (ch < 0x80) { u[0] = ch; n = 1; }
  else if (ch < 0x800) { u[0] = 0xC0 | ch >> 6; u[1] = 0x80 | (ch & 0x3F); n = 2; }
  else if (ch < 0x10000) { u[0] = 0xE0 | ch >> 12; u[1] = 0x80 | (ch >> 6 & 0x3F); u[2] = 0x80 | (ch & 0x3F); n = 3; }
  else { u[0] = 0xF0 | ch >> 18; u[1] = 0x80 | (ch >> 12 & 0x3F); u[2] = 0x80 | (ch >> 6 & 0x3F); u[3] = 0x80 | (ch & 0x3F); n = 4; }
  buf_push(b, u, n);
}

/* A JSON string, unescaped, as a malloc'd NUL-terminated copy; NULL if malformed. */
static char *json_string(cursor_t *c) {
  if (!take(c, '"')) return NULL;
  buf_t out = {0};
  buf_push(&out, "", 0);
  while (c->p < c->end && *c->p != '"') {
    uint8_t byte = *c->p++;
    if (byte != '\\') {
      buf_push(&out, &byte, 1);
      continue;
    }
    if (c->p >= c->end) goto bad;
    uint32_t ch;
    switch (*c->p++) {
      case '"': ch = '"'; break;
      case '\\': ch = '\\'; break;
      case '/': ch = '/'; break;
      case 'b': ch = '\b'; break;
      case 'f': ch = '\f'; break;
      case 'n': ch = '\n'; break;
      case 'r': ch = '\r'; break;
      case 't': ch = '\t'; break;
      case 'u': {
        if (!hex4(c, &ch)) goto bad;
        if (ch >= 0xD800 && ch < 0xDC00) {
          uint32_t low;
          if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u') goto bad;
          c->p += 2;
          if (!hex4(c, &low) || low < 0xDC00 || low >= 0xE000) goto bad;
          ch = 0x10000 + ((ch - 0xD800) << 10) + (low - 0xDC00);
        }
        break;
      }
      default: goto bad;
    }
    push_utf8(&out, ch);
  }
  if (c->p >= c->end) goto bad;
  c->p++;
  return out.bytes;
bad:
  free(out.bytes);
  return NULL;
}

static bool json_strings(cursor_t *c, hr_strings_t *into) {
  hr_strings_t list = {0};
  if (!take(c, '[')) return false;
  if (!take(c, ']')) {
    do {
      char *s = json_string(c);
      if (!s) {
        hr_strings_free(&list);
        return false;
      }
      strings_push(&list, s);
    } while (take(c, ','));
    if (!take(c, ']')) {
      hr_strings_free(&list);
      return false;
    }
  }
  hr_strings_free(into);
  *into = list;
  return true;
}

static bool json_bool(cursor_t *c, bool *into) {
  if (take_word(c, "true")) *into = true;
  else if (take_word(c, "false")) *into = false;
  else return false;
  return true;
}

bool hr_config_parse(const detector_string_t *json, hr_policy_t *policy, const hr_key_t *own, size_t n_own,
                     detector_string_t *err) {
  hr_key_t shared[] = {
      {"allow_executables", HR_STRINGS, &policy->allow_executables},
      {"allow_parents", HR_STRINGS, &policy->allow_parents},
      {"allow_paths", HR_STRINGS, &policy->allow_paths},
      {"disabled_types", HR_STRINGS, &policy->disabled_types},
      {"containers_only", HR_BOOL, &policy->containers_only},
  };
  size_t n_shared = sizeof shared / sizeof shared[0];
  cursor_t c = {json->ptr, json->ptr + json->len};
  skip_ws(&c);
  if (c.p == c.end) return true; /* empty: every default */
  if (!take(&c, '{')) return config_error(err, "not a JSON object", "", "");
  if (!take(&c, '}')) {
    do {
      char *key = json_string(&c);
      if (!key || !take(&c, ':')) {
        free(key);
        return config_error(err, "not valid JSON (expected \"key\": value)", "", "");
      }
      const hr_key_t *k = NULL;
      for (size_t i = 0; i < n_shared + n_own && !k; i++) {
        const hr_key_t *candidate = i < n_shared ? &shared[i] : &own[i - n_shared];
        if (strcmp(candidate->key, key) == 0) k = candidate;
      }
      if (!k) {
        config_error(err, "unknown key `", key, "`");
        free(key);
        return false;
      }
      bool ok = k->kind == HR_STRINGS ? json_strings(&c, k->value) : json_bool(&c, k->value);
      if (!ok) {
        config_error(err, "`", key, k->kind == HR_STRINGS ? "` must be a list of strings" : "` must be true or false");
        free(key);
        return false;
      }
      free(key);
    } while (take(&c, ','));
    if (!take(&c, '}')) return config_error(err, "not valid JSON (expected , or })", "", "");
  }
  skip_ws(&c);
  if (c.p != c.end) return config_error(err, "not valid JSON (text after the object)", "", "");
  return true;
}

/* ---- policy ------------------------------------------------------------- */

bool hr_policy_permits(const hr_policy_t *policy, const char *finding_type,
                       const harrier_detector_types_process_t *process, const detector_string_t *path) {
  if (policy->containers_only && !process->container_id.is_some) return false;
  if (hr_strings_has(&policy->disabled_types, (const uint8_t *)finding_type, strlen(finding_type))) return false;
  if (any_glob(&policy->allow_executables, &process->exe)) return false;
  if (path && any_glob(&policy->allow_paths, path)) return false;
  if (policy->allow_parents.len) {
    harrier_detector_host_list_process_info_t ancestors;
    harrier_detector_host_ancestry(process->pid, PARENT_DEPTH, &ancestors);
    bool allowed = false;
    for (size_t i = 0; i < ancestors.len && !allowed; i++)
      allowed = any_glob(&policy->allow_parents, &ancestors.ptr[i].exe);
    harrier_detector_host_list_process_info_free(&ancestors);
    if (allowed) return false;
  }
  return true;
}

detector_string_t hr_basename(const detector_string_t *path) {
  size_t start = path->len;
  while (start > 0 && path->ptr[start - 1] != '/') start--;
  return (detector_string_t){path->ptr + start, path->len - start};
}

/* ---- metadata and findings ----------------------------------------------- */

void hr_metadata(detector_metadata_t *ret, const char *name, const char *version, const char *description,
                 const harrier_detector_types_event_kind_t *kinds, size_t n_kinds, const hr_spec_t *specs,
                 size_t n_specs) {
  memset(ret, 0, sizeof *ret);
  detector_string_dup(&ret->name, name);
  detector_string_dup(&ret->version, version);
  detector_string_dup(&ret->description, description);
  ret->subscriptions.ptr = malloc(n_kinds * sizeof kinds[0] + 1);
  memcpy(ret->subscriptions.ptr, kinds, n_kinds * sizeof kinds[0]);
  ret->subscriptions.len = n_kinds;
  ret->finding_types.ptr = malloc(n_specs * sizeof(detector_string_t) + 1);
  for (size_t i = 0; i < n_specs; i++) detector_string_dup(&ret->finding_types.ptr[i], specs[i].finding_type);
  ret->finding_types.len = n_specs;
}

void hr_evidence_n(detector_finding_t *finding, const char *key, const uint8_t *value, size_t len) {
  if (len == 0) return;
  harrier_detector_types_list_evidence_t *list = &finding->evidence;
  list->ptr = realloc(list->ptr, (list->len + 1) * sizeof list->ptr[0]);
  if (!list->ptr) abort();
  harrier_detector_types_evidence_t *e = &list->ptr[list->len++];
  detector_string_dup(&e->key, key);
  detector_string_dup_n(&e->value, (const char *)value, len);
}

void hr_evidence(detector_finding_t *finding, const char *key, const detector_string_t *value) {
  hr_evidence_n(finding, key, value->ptr, value->len);
}

void hr_evidence_joined(detector_finding_t *finding, const char *key, const detector_list_string_t *list,
                        const char *sep) {
  buf_t joined = {0};
  for (size_t i = 0; i < list->len; i++) {
    if (i) buf_str(&joined, sep);
    buf_push(&joined, list->ptr[i].ptr, list->ptr[i].len);
  }
  hr_evidence_n(finding, key, (const uint8_t *)joined.bytes, joined.len);
  free(joined.bytes);
}

detector_finding_t *hr_finding_push(detector_list_finding_t *out, const hr_spec_t *spec,
                                    const detector_event_t *event) {
  out->ptr = realloc(out->ptr, (out->len + 1) * sizeof out->ptr[0]);
  if (!out->ptr) abort();
  detector_finding_t *f = &out->ptr[out->len++];
  memset(f, 0, sizeof *f);
  detector_string_dup(&f->finding_type, spec->finding_type);
  f->severity = spec->severity;
  detector_string_dup(&f->title, spec->title);
  detector_string_dup(&f->description, spec->description);
  f->mitre_technique.is_some = true;
  detector_string_dup(&f->mitre_technique.val, spec->mitre);
  f->pid = event->process.pid;
  f->event_seqs.ptr = malloc(sizeof(uint64_t));
  f->event_seqs.ptr[0] = event->seq;
  f->event_seqs.len = 1;
  hr_evidence(f, "exe", &event->process.exe);
  hr_evidence(f, "comm", &event->process.comm);
  if (event->fidelity.is_some) {
    const harrier_detector_types_list_raw_string_t *folded = &event->fidelity.val.folded;
    for (size_t i = 0; i < folded->len; i++) {
      buf_t key = {0};
      for (size_t j = 0; j < folded->ptr[i].field.len; j++) {
        char ch = folded->ptr[i].field.ptr[j] == '-' ? '_' : (char)folded->ptr[i].field.ptr[j];
        buf_push(&key, &ch, 1);
      }
      buf_str(&key, "_as_given");
      hr_evidence(f, key.bytes, &folded->ptr[i].escaped);
      free(key.bytes);
    }
  }
  return f;
}

/* ---- self-test helpers ---------------------------------------------------- */

void hr_process_event(detector_event_t *event, uint64_t seq, uint32_t pid, const char *exe) {
  memset(event, 0, sizeof *event);
  event->seq = seq;
  event->process.pid = event->process.tid = pid;
  event->process.ppid = 1;
  detector_string_dup(&event->process.exe, exe);
  detector_string_t base = hr_basename(&event->process.exe);
  detector_string_dup_n(&event->process.comm, (const char *)base.ptr, base.len > 15 ? 15 : base.len);
}

void hr_exec_event(detector_event_t *event, uint64_t seq, uint32_t pid, const char *filename,
                   const char *const *args, size_t n_args) {
  hr_process_event(event, seq, pid, filename);
  event->detail.tag = HARRIER_DETECTOR_TYPES_EVENT_DETAIL_EXEC;
  harrier_detector_types_exec_event_t *exec = &event->detail.val.exec;
  detector_string_dup(&exec->filename, filename);
  exec->args.ptr = malloc(n_args * sizeof(detector_string_t) + 1);
  for (size_t i = 0; i < n_args; i++) detector_string_dup(&exec->args.ptr[i], args[i]);
  exec->args.len = n_args;
  detector_string_dup(&exec->cwd, "/");
  exec->file_mode = 0100755;
}

bool hr_expect_types(const detector_list_finding_t *findings, const hr_spec_t *specs, size_t n_specs,
                     detector_string_t *err) {
  if (findings->len != n_specs) return hr_fail(err, "self-test: expected one finding of each type, got a different number");
  for (size_t i = 0; i < findings->len; i++) {
    const detector_finding_t *f = &findings->ptr[i];
    if (!(f->severity >= 1.0f && f->severity <= 10.0f)) return hr_fail(err, "self-test: a severity is outside 1.0-10.0");
    if (f->event_seqs.len == 0) return hr_fail(err, "self-test: a finding cites no event");
    size_t same = 0;
    for (size_t j = 0; j < n_specs; j++)
      same += strlen(specs[j].finding_type) == f->finding_type.len &&
              memcmp(specs[j].finding_type, f->finding_type.ptr, f->finding_type.len) == 0;
    if (same != 1) return hr_fail(err, "self-test: a finding's type is not one of the expected ones");
    for (size_t k = 0; k < i; k++)
      if (findings->ptr[k].finding_type.len == f->finding_type.len &&
          memcmp(findings->ptr[k].finding_type.ptr, f->finding_type.ptr, f->finding_type.len) == 0)
        return hr_fail(err, "self-test: a finding type was reported twice");
  }
  return true;
}

/* ---- defaults for the exports most detectors do not need ------------------ */

__attribute__((weak)) bool exports_detector_read_path_prefixes(detector_list_string_t *ret) {
  (void)ret;
  return false; /* none: the detector does not subscribe to file-open */
}

__attribute__((weak)) void exports_detector_tick(uint64_t now_ns, detector_list_finding_t *ret) {
  (void)now_ns;
  *ret = (detector_list_finding_t){0};
}

__attribute__((weak)) void exports_detector_snapshot(detector_list_u8_t *ret) { *ret = (detector_list_u8_t){0}; }

__attribute__((weak)) bool exports_detector_restore(detector_list_u8_t *state, detector_string_t *err) {
  (void)err;
  detector_list_u8_free(state);
  return true;
}
