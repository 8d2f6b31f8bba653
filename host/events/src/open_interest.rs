//! Which detectors get a file open, by their `read-path-prefixes` answer.

include!("../../../wit/read-path-filter.rs");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_narrow_read_only_absolute_opens_only() {
        let list = vec!["/etc/shadow".to_string(), "/root/".into()];
        let wants = |path, flags| wants_open(Some(&list), path, flags);
        assert!(wants("/etc/shadow", 0));
        assert!(wants("/root/.ssh/id_rsa", 0o2000000));
        assert!(!wants("/etc/hostname", 0));
        assert!(wants("/etc/hostname", 0o1), "write-only");
        assert!(wants("/etc/hostname", 0o2), "read-write");
        assert!(wants("/etc/hostname", 0o100), "create");
        assert!(wants("/etc/hostname", 0o1000), "truncate");
        assert!(wants("relative/shadow", 0));
        assert!(wants_open(None, "/usr/lib/libc.so.6", 0));
        assert!(!wants_open(Some(&[]), "/usr/lib/libc.so.6", 0));
    }
}
