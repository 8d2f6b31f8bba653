//! Process family: exec, exit, fork.
//!
//! Kernel side: sensor-ebpf/programs/src/process.rs (sched_process_exec/exit/fork).
//! The clone-family syscalls are hooked only to keep their flags for the fork hook.

use harrier_sensor_common::{ExecInfo, tag};

use super::prelude::*;
use harrier_events::ArgsGap;

use crate::decode::RawRecord;

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

/// Decode an exec record, keeping at most `max_args` arguments (head and tail).
pub fn decode_exec(rec: &RawRecord<'_>, max_args: usize) -> EventDetail {
    let info: ExecInfo = rec
        .item(tag::EXEC_INFO)
        .filter(|i| i.data.len() >= std::mem::size_of::<ExecInfo>())
        // SAFETY: length checked; ExecInfo is plain integers.
        .map(|i| unsafe { std::ptr::read_unaligned(i.data.as_ptr() as *const ExecInfo) })
        .unwrap_or_default();
    let cwd = rec.dpath_bytes(tag::EXEC_CWD).unwrap_or_default();
    let filename = rec.string_bytes(tag::EXEC_FILENAME).unwrap_or_default();
    let relative = !filename.starts_with(b"/") && !cwd.is_empty();
    if relative
        && rec
            .item(tag::EXEC_CWD)
            .is_some_and(|c| c.truncated || c.cut)
    {
        rec.note_cut(tag::EXEC_FILENAME);
    }
    let filename = rec.path_text(tag::EXEC_FILENAME, relative.then_some(&cwd[..]), filename);
    let argv = Argv::from_record(rec, &info).bounded(max_args);
    let (ld_preload, ld_library_path) = rec
        .item(tag::EXEC_ENV)
        .map(|item| loader_env(item.data))
        .unwrap_or((None, None));
    EventDetail::Exec(harrier_events::ExecEvent {
        filename,
        args: argv
            .args
            .iter()
            .enumerate()
            .map(|(i, a)| rec.text(tag::EXEC_ARGV, Some(i), a))
            .collect(),
        args_truncated: argv.truncated,
        cwd: rec.text(tag::EXEC_CWD, None, &cwd),
        ld_preload,
        ld_library_path,
        file_mode: info.mode,
        dev: kernel_dev_to_user(info.dev),
        inode: info.inode,
        mtime_ns: info.mtime_ns,
        args_gap: argv.gap.map(|(index, omitted_bytes)| ArgsGap {
            index: index as u32,
            omitted_bytes,
        }),
    })
}

/// The arguments of an exec as the kernel sent them: the head of argv and,
/// when argv was longer than the kernel's bound, its tail.
#[derive(Debug, PartialEq, Eq)]
pub struct Argv<'a> {
    /// The arguments, head then tail.
    pub args: Vec<&'a [u8]>,
    /// Something was left out.
    pub truncated: bool,
    /// Index of the first tail argument and the bytes left out before it.
    pub gap: Option<(usize, u64)>,
}

impl<'a> Argv<'a> {
    /// The EXEC_ARGV (and EXEC_ARGV_TAIL) items of a record.
    pub fn from_record(rec: &RawRecord<'a>, info: &ExecInfo) -> Argv<'a> {
        let Some(head) = rec.item(tag::EXEC_ARGV) else {
            return Argv {
                args: Vec::new(),
                truncated: info.args_len > 0,
                gap: None,
            };
        };
        let mut args = split_nul(head.data);
        let mut kept = head.data.len() as u64;
        let mut gap = None;
        if let Some(tail) = rec.item(tag::EXEC_ARGV_TAIL) {
            kept += tail.data.len() as u64;
            gap = Some((args.len(), info.args_len.saturating_sub(kept)));
            // A tail that starts on a separator starts with a whole argument.
            let data = tail.data.strip_prefix(&[0]).unwrap_or(tail.data);
            args.extend(split_nul(data));
        }
        Argv {
            args,
            truncated: head.truncated || kept < info.args_len,
            gap,
        }
    }

    /// At most `max` arguments: the first and the last ones, the gap between
    /// them recorded (where the kernel cut argv, if it did, stays inside the gap).
    pub fn bounded(mut self, max: usize) -> Argv<'a> {
        let len = self.args.len();
        if len <= max {
            return self;
        }
        let (at, omitted) = self.gap.unwrap_or((len, 0));
        let tail = if self.gap.is_some() {
            (len - at).min(max / 2)
        } else {
            max / 2
        };
        let head = at.min(max - tail);
        let tail = max - head;
        let dropped: u64 = self.args[head..len - tail]
            .iter()
            .map(|a| a.len() as u64 + 1)
            .sum();
        self.args.drain(head..len - tail);
        Argv {
            args: self.args,
            truncated: true,
            gap: Some((head, omitted + dropped)),
        }
    }
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
pub fn split_nul(bytes: &[u8]) -> Vec<&[u8]> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes.split(|&b| b == 0).collect()
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
        assert_eq!(
            split_nul(b"ls\0-l\0/tmp\0"),
            vec![&b"ls"[..], b"-l", b"/tmp"]
        );
        assert_eq!(split_nul(b"a\0\0b\0"), vec![&b"a"[..], b"", b"b"]);
        assert!(split_nul(b"").is_empty());
    }

    fn argv(args: &[&'static str], gap: Option<(usize, u64)>) -> Argv<'static> {
        Argv {
            args: args.iter().map(|a| a.as_bytes()).collect(),
            truncated: gap.is_some(),
            gap,
        }
    }

    #[test]
    fn many_arguments_keep_head_and_tail() {
        let mut args = vec!["xmrig"];
        args.extend(std::iter::repeat_n("pad", 70));
        args.extend(["-o", "stratum+tcp://pool:3333"]);
        let got = argv(&args, None).bounded(8);
        assert_eq!(
            got.args,
            vec![
                &b"xmrig"[..],
                b"pad",
                b"pad",
                b"pad",
                b"pad",
                b"pad",
                b"-o",
                b"stratum+tcp://pool:3333"
            ]
        );
        // 65 "pad\0" left out.
        assert_eq!(got.gap, Some((4, 65 * 4)));
        assert!(got.truncated);
        let short = argv(&["ls", "-l"], None).bounded(8);
        assert_eq!((short.gap, short.truncated), (None, false));
    }

    #[test]
    fn a_kernel_gap_stays_inside_the_kept_arguments() {
        // Head of 2, tail of 10 from the kernel, 500 bytes left out between.
        let mut args = vec!["a", "b"];
        args.extend(std::iter::repeat_n("t", 10));
        let got = argv(&args, Some((2, 500))).bounded(6);
        assert_eq!(got.args.len(), 6);
        assert_eq!(got.gap, Some((2, 500 + 6 * 2)));
        assert_eq!(&got.args[..2], &[&b"a"[..], b"b"]);
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
