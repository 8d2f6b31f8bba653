//! Matching helpers for the hot path: names, path prefixes, case-insensitive
//! substrings and ancestry checks, none allocating per call.

use crate::{ProcessInfo, host};

pub use crate::config::GlobList;

/// The last component of a path (`/usr/bin/bash` -> `bash`).
pub fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Common Unix shells by program name.
pub const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "ash", "fish", "csh", "tcsh", "mksh", "busybox",
];

/// Whether a program name (not a path) is a shell.
pub fn is_shell(name: &str) -> bool {
    SHELLS.contains(&name)
}

/// Whether `path` starts with any of `prefixes`.
pub fn has_prefix(path: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| path.starts_with(p))
}

/// Whether `hay` contains `needle`, ignoring ASCII case (`needle` lower-case).
pub fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return true;
    }
    if n.len() > h.len() {
        return false;
    }
    h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

/// Whether any argument contains `needle`, ignoring ASCII case.
pub fn any_arg_contains(args: &[String], needle: &str) -> bool {
    args.iter().any(|a| contains_ignore_case(a, needle))
}

/// Whether `name` is in a list of exact names (owned strings from configuration).
pub fn in_list(list: &[String], name: &str) -> bool {
    list.iter().any(|n| n == name)
}

/// A syscall result as evidence: `0`/`3` on success, `-13 (EACCES)` on
/// failure (the sensor reports failures as a negative errno).
pub fn result_text(result: i64) -> String {
    if result >= 0 {
        return result.to_string();
    }
    match errno_name(result.unsigned_abs()) {
        Some(name) => format!("{result} ({name})"),
        None => result.to_string(),
    }
}

/// The symbolic name of a Linux errno value (x86-64 numbering), if common.
pub fn errno_name(errno: u64) -> Option<&'static str> {
    const NAMES: &[(u64, &str)] = &[
        (1, "EPERM"),
        (2, "ENOENT"),
        (3, "ESRCH"),
        (4, "EINTR"),
        (5, "EIO"),
        (6, "ENXIO"),
        (7, "E2BIG"),
        (8, "ENOEXEC"),
        (9, "EBADF"),
        (10, "ECHILD"),
        (11, "EAGAIN"),
        (12, "ENOMEM"),
        (13, "EACCES"),
        (14, "EFAULT"),
        (15, "ENOTBLK"),
        (16, "EBUSY"),
        (17, "EEXIST"),
        (18, "EXDEV"),
        (19, "ENODEV"),
        (20, "ENOTDIR"),
        (21, "EISDIR"),
        (22, "EINVAL"),
        (26, "ETXTBSY"),
        (28, "ENOSPC"),
        (30, "EROFS"),
        (38, "ENOSYS"),
        (40, "ELOOP"),
        (88, "ENOTSOCK"),
        (95, "EOPNOTSUPP"),
        (97, "EAFNOSUPPORT"),
        (98, "EADDRINUSE"),
        (99, "EADDRNOTAVAIL"),
        (101, "ENETUNREACH"),
        (104, "ECONNRESET"),
        (110, "ETIMEDOUT"),
        (111, "ECONNREFUSED"),
        (115, "EINPROGRESS"),
    ];
    NAMES
        .iter()
        .find(|(n, _)| *n == errno)
        .map(|(_, name)| *name)
}

/// The first ancestor of `pid` (at most `depth` up) satisfying `pred`.
pub fn find_ancestor(
    pid: u32,
    depth: u32,
    mut pred: impl FnMut(&ProcessInfo) -> bool,
) -> Option<ProcessInfo> {
    host::ancestry(pid, depth).into_iter().find(|p| pred(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(basename("/usr/bin/bash"), "bash");
        assert_eq!(basename("bash"), "bash");
        assert!(is_shell("dash") && !is_shell("python3"));
        assert!(has_prefix("/dev/shm/x", &["/tmp/", "/dev/shm/"]));
        assert!(contains_ignore_case("STRATUM+tcp://pool", "stratum+tcp://"));
        assert!(!contains_ignore_case("abc", "abcd"));
        assert!(any_arg_contains(&["a".into(), "xMRig".into()], "xmrig"));
        assert_eq!(result_text(0), "0");
        assert_eq!(result_text(-19), "-19 (ENODEV)");
        assert_eq!(result_text(-4095), "-4095");
    }

    #[test]
    fn find_ancestor_walks_the_fake_host_table() {
        use crate::fake;
        use crate::testing::process_info;
        let mut host = fake::FakeHost::new();
        host.add_process(process_info(1, 0, "/sbin/init"))
            .add_process(process_info(10, 1, "/usr/sbin/nginx"))
            .add_process(process_info(11, 10, "/bin/sh"))
            .add_process(process_info(12, 11, "/bin/bash"));
        let previous = fake::install(host);
        let nginx = find_ancestor(12, 3, |p| basename(&p.exe) == "nginx");
        let too_shallow = find_ancestor(12, 1, |p| basename(&p.exe) == "nginx");
        let none = find_ancestor(12, 8, |p| p.exe == "/nope");
        fake::uninstall();
        if let Some(p) = previous {
            fake::install(p);
        }
        assert_eq!(nginx.map(|p| p.pid), Some(10));
        assert!(too_shallow.is_none());
        assert!(none.is_none());
    }
}
