// Integer fields of captures in either JSON form, in one place: the host
// (host/events) reads captures with it and the guest SDK's test harness
// (sdk) loads fixtures with it, so both take what the other writes.
//
// Needs `serde_json` in the including crate.

/// Every integer field of the contract's event types, by JSON key (host/events
/// tests keep it equal to wit/detector.wit).
pub const INTEGER_KEYS: &[&str] = &[
    "bytes",
    "cgroup_id",
    "child_pid",
    "clone_flags",
    "code",
    "command",
    "dev",
    "egid",
    "euid",
    "family",
    "fd",
    "file_mode",
    "flags",
    "gid",
    "index",
    "inode",
    "mode",
    "mtime_ns",
    "new_fd",
    "old_fd",
    "omitted_bytes",
    "pid",
    "ppid",
    "prot",
    "protocol",
    "query_type",
    "rcode",
    "record_type",
    "request",
    "result",
    "seq",
    "signal",
    "socket_type",
    "target_pid",
    "tid",
    "time_ns",
    "ttl",
    "uid",
];

/// Rewrite, in place, integer fields given as decimal strings into numbers
/// (anything else is left for deserialization to refuse, naming the field).
pub fn from_text(value: &mut serde_json::Value) {
    walk(value, &mut |key, v| {
        let serde_json::Value::String(text) = v else { return };
        if !INTEGER_KEYS.contains(&key) {
            return;
        }
        let number = text
            .parse::<u64>()
            .map(serde_json::Number::from)
            .or_else(|_| text.parse::<i64>().map(serde_json::Number::from));
        if let Ok(number) = number {
            *v = serde_json::Value::Number(number);
        }
    });
}

/// Call `f` with every object member's key and value, depth first.
pub fn walk(value: &mut serde_json::Value, f: &mut impl FnMut(&str, &mut serde_json::Value)) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, member) in map.iter_mut() {
                f(key, member);
                walk(member, f);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| walk(item, f)),
        _ => {}
    }
}

