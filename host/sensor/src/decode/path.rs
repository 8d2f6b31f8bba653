//! Paths folded as the kernel would look them up: `.`/`..` components
//! and repeated slashes taken away.
//!
//! Folding is lexical: `..` after a symbolic link is folded as if the link
//! were a directory, which is what a reader of the path expects and what
//! detectors match on. The path exactly as the process gave it is kept in
//! the event's fidelity (`given`) whenever folding changed it.

/// An absolute path with `.` components and empty ones (`//`) dropped and
/// each `..` removing the component before it (never above `/`). A path
/// not starting with `/` is returned as it is (nothing to anchor it).
pub fn fold(path: &[u8]) -> Vec<u8> {
    if !path.starts_with(b"/") || !needs_folding(path) {
        return path.to_vec();
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    if parts.is_empty() {
        return b"/".to_vec();
    }
    let mut out = Vec::with_capacity(path.len());
    for part in parts {
        out.push(b'/');
        out.extend_from_slice(part);
    }
    out
}

/// Whether `path` has a `.` or `..` component, an empty one, or a
/// trailing slash (anything [`fold`] would change).
pub fn needs_folding(path: &[u8]) -> bool {
    path.len() > 1 && path.ends_with(b"/")
        || path
            .split(|&b| b == b'/')
            .skip(1)
            .any(|part| matches!(part, b"" | b"." | b".."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_and_repeated_slashes_fold_away() {
        assert_eq!(fold(b"/tmp/../etc/shadow"), b"/etc/shadow");
        assert_eq!(fold(b"/etc/./shadow"), b"/etc/shadow");
        assert_eq!(fold(b"//etc//shadow"), b"/etc/shadow");
        assert_eq!(fold(b"/../../etc/shadow"), b"/etc/shadow");
        assert_eq!(fold(b"/etc/ssh/.."), b"/etc");
        assert_eq!(fold(b"/etc/"), b"/etc");
        assert_eq!(fold(b"/.."), b"/");
        assert_eq!(fold(b"/"), b"/");
    }

    #[test]
    fn hidden_names_are_not_dot_segments() {
        assert!(!needs_folding(b"/root/.ssh/id_rsa"));
        assert!(!needs_folding(b"/home/u/..hidden/x"));
        assert_eq!(fold(b"/root/.ssh/id_rsa"), b"/root/.ssh/id_rsa");
    }
}
