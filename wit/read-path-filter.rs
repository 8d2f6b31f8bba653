// The contract's rule for `read-path-prefixes`, in one place: the host
// (host/events) routes opens with it and the guest SDK's test harness
// (sdk) applies it too, so detector tests see what the host delivers.

/// `O_WRONLY | O_RDWR | O_CREAT | O_TRUNC`: an open with any of these
/// reaches every detector subscribed to `file-open`, whatever its prefixes.
pub const OPEN_WRITE_FLAGS: u32 = 0o1 | 0o2 | 0o100 | 0o1000;

/// Whether a detector whose `read-path-prefixes` answered `prefixes` gets an
/// open of `path` with `flags`: every open when `None`; otherwise writing
/// opens, relative paths, and paths under one of the prefixes.
pub fn wants_open(prefixes: Option<&[String]>, path: &str, flags: u32) -> bool {
    match prefixes {
        None => true,
        Some(list) => {
            flags & OPEN_WRITE_FLAGS != 0
                || !path.starts_with('/')
                || list.iter().any(|p| path.starts_with(p.as_str()))
        }
    }
}
