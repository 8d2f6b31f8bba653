//! Paths folded as the kernel would look them up: `.`/`..` components
//! and repeated slashes taken away, and a leading `/proc/<pid>/root`
//! (a process's root directory) too, so `/proc/self/root/etc/shadow` is
//! the `/etc/shadow` it opens.
//!
//! Folding is lexical: `..` after a symbolic link is folded as if the link
//! were a directory, which is what a reader of the path expects and what
//! detectors match on. The path exactly as the process gave it is kept in
//! the event's fidelity (`folded`) whenever folding changed it.

/// An absolute path with `.` components and empty ones (`//`, a trailing
/// `/`) dropped, each `..` removing the component before it (never above
/// `/`), and leading `/proc/<pid>/root` or `/proc/<pid>/task/<tid>/root`
/// taken away; `None` when there is nothing to fold, or nothing to anchor
/// it (a relative path).
pub fn fold(path: &[u8]) -> Option<Vec<u8>> {
    let components = path.strip_prefix(b"/")?;
    if components.is_empty() {
        // `/` folds to itself.
        return None;
    }
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut dotted = false;
    for part in components.split(|&b| b == b'/') {
        match part {
            b"" | b"." => dotted = true,
            b".." => {
                dotted = true;
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    let rooted = strip_proc_roots(&mut parts);
    if !dotted && !rooted {
        return None;
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

/// Take away leading `proc/<pid>/root` and `proc/<pid>/task/<tid>/root`
/// components (repeatedly); whether there were any.
fn strip_proc_roots(parts: &mut Vec<&[u8]>) -> bool {
    let mut stripped = false;
    loop {
        let through = match parts.as_slice() {
            [b"proc", pid, b"root", ..] if is_pid(pid) => 3,
            [b"proc", pid, b"task", tid, b"root", ..] if is_pid(pid) && is_pid(tid) => 5,
            _ => return stripped,
        };
        parts.drain(..through);
        stripped = true;
    }
}

/// A `/proc` process directory name: digits, `self` or `thread-self`.
fn is_pid(name: &[u8]) -> bool {
    name == b"self"
        || name == b"thread-self"
        || (!name.is_empty() && name.iter().all(u8::is_ascii_digit))
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
    fn a_process_root_folds_to_the_path_from_it() {
        assert_eq!(shown(b"/proc/self/root/etc/shadow"), b"/etc/shadow");
        assert_eq!(shown(b"/proc/1/root/etc/shadow"), b"/etc/shadow");
        assert_eq!(
            shown(b"/proc/thread-self/root/root/.ssh/id_rsa"),
            b"/root/.ssh/id_rsa"
        );
        assert_eq!(shown(b"/proc/42/task/43/root/etc/sudoers"), b"/etc/sudoers");
        assert_eq!(
            shown(b"/proc/self/root/proc/1/root/etc/shadow"),
            b"/etc/shadow"
        );
        assert_eq!(shown(b"/proc/self/root"), b"/");
        assert_eq!(
            shown(b"/proc/self/../self/root/./etc/shadow"),
            b"/etc/shadow"
        );
        // Not a process's root: left as it is.
        assert_eq!(fold(b"/proc/self/status"), None);
        assert_eq!(fold(b"/proc/sys/root/x"), None);
        assert_eq!(fold(b"/srv/proc/1/root/etc/shadow"), None);
    }

    #[test]
    fn a_relative_path_has_nothing_to_anchor_it() {
        assert_eq!(fold(b"a/../b"), None);
    }
}
