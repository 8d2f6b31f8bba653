//! Process family: exec, exit, fork.
//!
//! Kernel side: sensor-ebpf/programs/src/process.rs (sched_process_exec/exit/fork).
//! The clone-family syscalls are hooked only to keep their flags for the fork hook.

use harrier_sensor_common::{ExecInfo, tag};

use super::prelude::*;
use crate::decode::{RawRecord, record::join_relative};

/// `SIGCHLD`, the flags word of fork(2).
const SIGCHLD: u64 = 17;
/// `CLONE_VM | CLONE_VFORK | SIGCHLD`, the flags word of vfork(2).
const VFORK_FLAGS: u64 = 0x4000 | 0x100 | SIGCHLD;

/// Clone-family syscalls: arguments kept for the fork hook, nothing emitted at exit.
pub static HOOKS: &[Hook] = &[
    Spec::new(EventKind::Fork)
        .filter(filter::STASH_ONLY, 0)
        .hook(libc::SYS_clone, "clone"),
    Spec::new(EventKind::Fork)
        .filter(filter::STASH_ONLY, 0)
        .blob(0, 8)
        .hook(libc::SYS_clone3, "clone3"),
    Spec::new(EventKind::Fork)
        .filter(filter::STASH_ONLY, 0)
        .hook(libc::SYS_fork, "fork"),
    Spec::new(EventKind::Fork)
        .filter(filter::STASH_ONLY, 0)
        .hook(libc::SYS_vfork, "vfork"),
];

/// Decode an exec record.
pub fn decode_exec(rec: &RawRecord<'_>) -> EventDetail {
    let info: ExecInfo = rec
        .item(tag::EXEC_INFO)
        .filter(|i| i.data.len() >= std::mem::size_of::<ExecInfo>())
        // SAFETY: length checked; ExecInfo is plain integers.
        .map(|i| unsafe { std::ptr::read_unaligned(i.data.as_ptr() as *const ExecInfo) })
        .unwrap_or_default();
    let cwd = rec.dpath(tag::EXEC_CWD).unwrap_or_default();
    let filename = rec
        .string(tag::EXEC_FILENAME)
        .map(|(s, _)| s)
        .unwrap_or_default();
    let filename = if filename.starts_with('/') || cwd.is_empty() {
        filename
    } else {
        join_relative(&cwd, &filename)
    };
    let (args, mut args_truncated) = match rec.item(tag::EXEC_ARGV) {
        Some(item) => (split_nul(item.data), item.truncated),
        None => (Vec::new(), info.args_len > 0),
    };
    if let Some(item) = rec.item(tag::EXEC_ARGV) {
        args_truncated |= (item.data.len() as u64) < info.args_len;
    }
    let (ld_preload, ld_library_path) = rec
        .item(tag::EXEC_ENV)
        .map(|item| loader_env(item.data))
        .unwrap_or((None, None));
    EventDetail::Exec(harrier_events::ExecEvent {
        filename,
        args,
        args_truncated,
        cwd,
        ld_preload,
        ld_library_path,
        file_mode: info.mode,
        dev: kernel_dev_to_user(info.dev),
        inode: info.inode,
        mtime_ns: info.mtime_ns,
    })
}

/// Decode an exit record (`args[0]` = wait status).
pub fn decode_exit(rec: &RawRecord<'_>) -> EventDetail {
    let status = rec.arg(0) as u32;
    EventDetail::Exit(harrier_events::ExitEvent {
        code: ((status >> 8) & 0xff) as i32,
        signal: status & 0x7f,
    })
}

/// Decode a fork record; `syscall` is the name of the syscall in `args[3]` ("" if none).
pub fn decode_fork(rec: &RawRecord<'_>, syscall: &str) -> EventDetail {
    let clone_flags = match syscall {
        "clone" | "clone3" => rec.arg(2),
        "fork" => SIGCHLD,
        "vfork" => VFORK_FLAGS,
        _ => 0,
    };
    EventDetail::Fork(harrier_events::ForkEvent {
        child_pid: rec.arg(0) as u32,
        clone_flags,
    })
}

/// NUL-separated strings (a trailing empty one dropped).
pub fn split_nul(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|&b| b == 0)
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// `LD_PRELOAD` and `LD_LIBRARY_PATH` from a NUL-separated environment block.
pub fn loader_env(env: &[u8]) -> (Option<String>, Option<String>) {
    let mut preload = None;
    let mut library_path = None;
    for entry in env.split(|&b| b == 0) {
        if let Some(v) = entry.strip_prefix(b"LD_PRELOAD=") {
            preload = Some(String::from_utf8_lossy(v).into_owned());
        } else if let Some(v) = entry.strip_prefix(b"LD_LIBRARY_PATH=") {
            library_path = Some(String::from_utf8_lossy(v).into_owned());
        }
    }
    (preload, library_path)
}

/// Kernel `dev_t` (major << 20 | minor) to the user-space encoding `stat` reports.
pub fn kernel_dev_to_user(dev: u64) -> u64 {
    let major = (dev >> 20) & 0xfff;
    let minor = dev & 0xfffff;
    libc::makedev(major as u32, minor as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_splits_on_nul() {
        assert_eq!(split_nul(b"ls\0-l\0/tmp\0"), vec!["ls", "-l", "/tmp"]);
        assert_eq!(split_nul(b"a\0\0b\0"), vec!["a", "", "b"]);
        assert!(split_nul(b"").is_empty());
    }

    #[test]
    fn only_loader_variables_are_kept() {
        let env = b"PATH=/bin\0LD_PRELOAD=/tmp/x.so\0HOME=/root\0LD_LIBRARY_PATH=/opt/lib\0";
        assert_eq!(
            loader_env(env),
            (Some("/tmp/x.so".into()), Some("/opt/lib".into()))
        );
        assert_eq!(loader_env(b"PATH=/bin\0"), (None, None));
    }

    #[test]
    fn dev_matches_stat_encoding() {
        // 8:1 (sda1) in kernel encoding.
        assert_eq!(kernel_dev_to_user((8 << 20) | 1), libc::makedev(8, 1));
        assert_eq!(kernel_dev_to_user((259 << 20) | 3), libc::makedev(259, 3));
    }
}
