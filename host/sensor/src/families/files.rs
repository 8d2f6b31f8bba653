//! File family: open, write, rename, unlink, chmod, chown, link, truncate, memfd, mmap-exec.
//!
//! Writes are emitted once per (process, fd, file) and only for regular files;
//! a write to `/proc/<pid>/mem` becomes a process-vm-write event.

use harrier_events::{
    FileChmodEvent, FileChownEvent, FileLinkEvent, FileOpenEvent, FilePathEvent, FilePathPairEvent,
    FileWriteEvent, MemfdEvent, MmapExecEvent, ProcessVmWriteEvent,
};
use harrier_sensor_common::fd_mode::PATH as FD_PATH;

use super::prelude::*;
use crate::decode::RawRecord;

/// `O_CREAT | O_WRONLY | O_TRUNC`, the flags creat(2) implies.
const CREAT_FLAGS: u32 = (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u32;

/// Size of the start of `struct open_how` (flags, mode).
const OPEN_HOW_LEN: u8 = 16;

/// Every file syscall hooked.
pub static HOOKS: &[Hook] = &[
    Spec::new(EventKind::FileOpen)
        .path(0, 0)
        .filter(filter::OPEN_READ, 1)
        .hook(libc::SYS_open, "open"),
    Spec::new(EventKind::FileOpen)
        .path_at(0, 1, 0)
        .filter(filter::OPEN_READ, 2)
        .hook(libc::SYS_openat, "openat"),
    Spec::new(EventKind::FileOpen)
        .path_at(0, 1, 0)
        .blob(2, OPEN_HOW_LEN)
        .hook(libc::SYS_openat2, "openat2"),
    Spec::new(EventKind::FileOpen)
        .path(0, 0)
        .hook(libc::SYS_creat, "creat"),
    write_hook(libc::SYS_write, "write"),
    write_hook(libc::SYS_pwrite64, "pwrite64"),
    write_hook(libc::SYS_writev, "writev"),
    write_hook(libc::SYS_pwritev, "pwritev"),
    write_hook(libc::SYS_pwritev2, "pwritev2"),
    Spec::new(EventKind::FileRename)
        .path(0, 0)
        .path(1, 1)
        .hook(libc::SYS_rename, "rename"),
    Spec::new(EventKind::FileRename)
        .path_at(0, 1, 0)
        .path_at(1, 3, 2)
        .hook(libc::SYS_renameat, "renameat"),
    Spec::new(EventKind::FileRename)
        .path_at(0, 1, 0)
        .path_at(1, 3, 2)
        .hook(libc::SYS_renameat2, "renameat2"),
    Spec::new(EventKind::FileUnlink)
        .path(0, 0)
        .hook(libc::SYS_unlink, "unlink"),
    Spec::new(EventKind::FileUnlink)
        .path_at(0, 1, 0)
        .hook(libc::SYS_unlinkat, "unlinkat"),
    Spec::new(EventKind::FileUnlink)
        .path(0, 0)
        .hook(libc::SYS_rmdir, "rmdir"),
    Spec::new(EventKind::FileChmod)
        .path(0, 0)
        .hook(libc::SYS_chmod, "chmod"),
    Spec::new(EventKind::FileChmod)
        .fd_path(0)
        .hook(libc::SYS_fchmod, "fchmod"),
    Spec::new(EventKind::FileChmod)
        .path_at(0, 1, 0)
        .hook(libc::SYS_fchmodat, "fchmodat"),
    Spec::new(EventKind::FileChmod)
        .path_at(0, 1, 0)
        .hook(libc::SYS_fchmodat2, "fchmodat2"),
    Spec::new(EventKind::FileChown)
        .path(0, 0)
        .hook(libc::SYS_chown, "chown"),
    Spec::new(EventKind::FileChown)
        .path(0, 0)
        .hook(libc::SYS_lchown, "lchown"),
    Spec::new(EventKind::FileChown)
        .fd_path(0)
        .hook(libc::SYS_fchown, "fchown"),
    Spec::new(EventKind::FileChown)
        .path_at(0, 1, 0)
        .hook(libc::SYS_fchownat, "fchownat"),
    Spec::new(EventKind::FileLink)
        .path(0, 0)
        .path(1, 1)
        .hook(libc::SYS_link, "link"),
    Spec::new(EventKind::FileLink)
        .path_at(0, 1, 0)
        .path_at(1, 3, 2)
        .hook(libc::SYS_linkat, "linkat"),
    Spec::new(EventKind::FileLink)
        .string(0, 0)
        .path(1, 1)
        .hook(libc::SYS_symlink, "symlink"),
    Spec::new(EventKind::FileLink)
        .string(0, 0)
        .path_at(1, 2, 1)
        .hook(libc::SYS_symlinkat, "symlinkat"),
    Spec::new(EventKind::FileTruncate)
        .path(0, 0)
        .hook(libc::SYS_truncate, "truncate"),
    Spec::new(EventKind::FileTruncate)
        .fd_path(0)
        .hook(libc::SYS_ftruncate, "ftruncate"),
    Spec::new(EventKind::MemfdCreate)
        .string(0, 0)
        .hook(libc::SYS_memfd_create, "memfd_create"),
    Spec::new(EventKind::MmapExec)
        .filter(filter::PROT_EXEC, 2)
        .fd_path(4)
        .hook(libc::SYS_mmap, "mmap"),
    Spec::new(EventKind::MmapExec)
        .filter(filter::PROT_EXEC, 2)
        .fd(0, fd_mode::VMA | fd_mode::PATH)
        .hook(libc::SYS_mprotect, "mprotect"),
];

/// A write syscall: fd argument 0, first write per file, also feeding proc-mem detection.
const fn write_hook(nr: i64, name: &'static str) -> Hook {
    Spec::new(EventKind::FileWrite)
        .also(EventKind::ProcessVmWrite)
        .filter(filter::FIRST_WRITE, 0)
        .fd(0, FD_PATH)
        .hook(nr, name)
}

/// Decode a file record.
pub fn decode(kind: EventKind, name: &str, rec: &RawRecord<'_>) -> Option<EventDetail> {
    let result = rec.result();
    let fd_path = || rec.dpath(tag::FD_PATH).unwrap_or_default();
    let detail = match kind {
        EventKind::FileOpen => {
            let (flags, mode) = match name {
                "open" => (rec.arg(1) as u32, rec.arg(2) as u32),
                "openat" => (rec.arg(2) as u32, rec.arg(3) as u32),
                "openat2" => open_how(rec),
                "creat" => (CREAT_FLAGS, rec.arg(1) as u32),
                _ => (0, 0),
            };
            EventDetail::FileOpen(FileOpenEvent {
                path: rec.path_arg(0),
                flags,
                mode,
                result,
            })
        }
        EventKind::FileWrite => {
            let path = fd_path();
            if let Some(target_pid) = proc_mem_target(&path) {
                EventDetail::ProcessVmWrite(ProcessVmWriteEvent {
                    target_pid,
                    method: "proc_mem".to_string(),
                    result,
                })
            } else {
                EventDetail::FileWrite(FileWriteEvent {
                    path,
                    bytes: result.max(0) as u64,
                })
            }
        }
        EventKind::FileRename => EventDetail::FileRename(FilePathPairEvent {
            old_path: rec.path_arg(0),
            new_path: rec.path_arg(1),
            result,
        }),
        EventKind::FileUnlink => EventDetail::FileUnlink(FilePathEvent {
            path: rec.path_arg(0),
            result,
        }),
        EventKind::FileChmod => {
            let (path, mode) = match name {
                "fchmod" => (fd_path(), rec.arg(1)),
                "chmod" => (rec.path_arg(0), rec.arg(1)),
                _ => (rec.path_arg(0), rec.arg(2)),
            };
            EventDetail::FileChmod(FileChmodEvent {
                path,
                mode: mode as u32,
                result,
            })
        }
        EventKind::FileChown => {
            let (path, uid, gid) = match name {
                "fchown" => (fd_path(), rec.arg(1), rec.arg(2)),
                "fchownat" => (rec.path_arg(0), rec.arg(2), rec.arg(3)),
                _ => (rec.path_arg(0), rec.arg(1), rec.arg(2)),
            };
            EventDetail::FileChown(FileChownEvent {
                path,
                uid: uid as u32,
                gid: gid as u32,
                result,
            })
        }
        EventKind::FileLink => {
            let symbolic = name.starts_with("symlink");
            EventDetail::FileLink(FileLinkEvent {
                target: if symbolic {
                    rec.str_arg(0)
                } else {
                    rec.path_arg(0)
                },
                link_path: rec.path_arg(1),
                symbolic,
                result,
            })
        }
        EventKind::FileTruncate => EventDetail::FileTruncate(FilePathEvent {
            path: if name == "ftruncate" {
                fd_path()
            } else {
                rec.path_arg(0)
            },
            result,
        }),
        EventKind::MemfdCreate => EventDetail::MemfdCreate(MemfdEvent {
            name: rec.str_arg(0),
            flags: rec.arg(1) as u32,
            result,
        }),
        EventKind::MmapExec => {
            let path = fd_path();
            // mprotect of anonymous memory has no file: not a library load.
            if path.is_empty() {
                return None;
            }
            EventDetail::MmapExec(MmapExecEvent {
                path,
                prot: rec.arg(2) as u32,
                // mprotect has no flags argument.
                flags: if name == "mmap" { rec.arg(3) as u32 } else { 0 },
            })
        }
        _ => return None,
    };
    Some(detail)
}

/// flags and mode from the `struct open_how` blob of openat2.
fn open_how(rec: &RawRecord<'_>) -> (u32, u32) {
    let Some(blob) = rec.item(tag::BLOB) else {
        return (0, 0);
    };
    let word = |i: usize| {
        blob.data
            .get(i * 8..i * 8 + 8)
            .map(|b| u64::from_ne_bytes(b.try_into().unwrap_or_default()))
            .unwrap_or(0)
    };
    (word(0) as u32, word(1) as u32)
}

/// The pid in `/proc/<pid>/mem`, if `path` is such a file.
pub fn proc_mem_target(path: &str) -> Option<u32> {
    let pid = path.strip_prefix("/proc/")?.strip_suffix("/mem")?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_mem_paths_are_recognised() {
        assert_eq!(proc_mem_target("/proc/1234/mem"), Some(1234));
        assert_eq!(proc_mem_target("/proc/self/mem"), None);
        assert_eq!(proc_mem_target("/proc/1234/maps"), None);
        assert_eq!(proc_mem_target("/tmp/proc/1/mem"), None);
    }
}
