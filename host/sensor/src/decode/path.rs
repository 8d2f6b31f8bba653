//! Paths folded as the kernel would look them up: `.`/`..` components
//! and repeated slashes taken away.
//!
//! Folding is lexical: `..` after a symbolic link is folded as if the link
//! were a directory, which is what a reader of the path expects and what
//! detectors match on. The path exactly as the process gave it is kept in
//! the event's fidelity (`folded`) whenever folding changed it.

/// An absolute path with `.` components and empty ones (`//`, a trailing
/// `/`) dropped and each `..` removing the component before it (never
/// above `/`); `None` when there is nothing to fold, or nothing to anchor
/// it (a relative path).
pub fn fold(path: &[u8]) -> Option<Vec<u8>> {
    let components = path.strip_prefix(b"/")?;
    let foldable = !components.is_empty()
        && components
            .split(|&b| b == b'/')
            .any(|part| matches!(part, b"" | b"." | b".."));
    if !foldable {
        return None;
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in components.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Some(b"/".to_vec());
    }
    let mut out = Vec::with_capacity(path.len());
    for part in parts {
        out.push(b'/');
        out.extend_from_slice(part);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a field shows: the folded path, else the path itself.
    fn shown(path: &[u8]) -> Vec<u8> {
        fold(path).unwrap_or_else(|| path.to_vec())
    }

    #[test]
    fn dot_segments_and_repeated_slashes_fold_away() {
        assert_eq!(shown(b"/tmp/../etc/shadow"), b"/etc/shadow");
        assert_eq!(shown(b"/etc/./shadow"), b"/etc/shadow");
        assert_eq!(shown(b"//etc//shadow"), b"/etc/shadow");
        assert_eq!(shown(b"/../../etc/shadow"), b"/etc/shadow");
        assert_eq!(shown(b"/etc/ssh/.."), b"/etc");
        assert_eq!(shown(b"/etc/"), b"/etc");
        assert_eq!(shown(b"/.."), b"/");
        assert_eq!(shown(b"/"), b"/");
        assert_eq!(
            fold(b"/"),
            None,
            "the root folds to itself: nothing to note"
        );
    }

    #[test]
    fn hidden_names_are_not_dot_segments() {
        assert_eq!(fold(b"/root/.ssh/id_rsa"), None);
        assert_eq!(fold(b"/home/u/..hidden/x"), None);
        assert_eq!(shown(b"/root/.ssh/id_rsa"), b"/root/.ssh/id_rsa");
    }

    #[test]
    fn a_relative_path_has_nothing_to_anchor_it() {
        assert_eq!(fold(b"a/../b"), None);
    }
}
