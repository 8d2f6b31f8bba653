//! Reading one process's details from procfs (`/proc/<pid>/…`).

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::container::{self, ContainerIdentity};

/// Identity of an executable file's content: device, inode and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FileKey {
    pub dev: u64,
    pub inode: u64,
    pub mtime_ns: u64,
}

impl FileKey {
    /// The key of the file `metadata` describes.
    pub fn of(metadata: &fs::Metadata) -> FileKey {
        FileKey {
            dev: metadata.dev(),
            inode: metadata.ino(),
            mtime_ns: (metadata.mtime().max(0) as u64)
                .saturating_mul(1_000_000_000)
                .saturating_add(metadata.mtime_nsec().max(0) as u64),
        }
    }
}

/// What procfs tells about one process.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProcSnapshot {
    pub ppid: u32,
    pub uid: u32,
    pub euid: u32,
    pub exe: String,
    pub cmdline: String,
    pub cwd: String,
    pub start_time_ns: u64,
    pub container: Option<ContainerIdentity>,
    pub exe_key: Option<FileKey>,
}

/// A procfs mount, with the boot time needed to turn start ticks into wall time.
#[derive(Debug)]
pub(crate) struct ProcFs {
    root: PathBuf,
    boot_time_ns: u64,
    ticks_per_sec: u64,
}

impl ProcFs {
    /// Opens the procfs at `root` (reads `btime` from `<root>/stat`; 0 if unreadable).
    pub fn new(root: &Path) -> ProcFs {
        let boot_time_ns = fs::read_to_string(root.join("stat"))
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("btime "))
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
            .map_or(0, |secs| secs.saturating_mul(1_000_000_000));
        // SAFETY: sysconf has no preconditions; it only reads a constant.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        ProcFs {
            root: root.to_path_buf(),
            boot_time_ns,
            ticks_per_sec: if ticks > 0 { ticks as u64 } else { 100 },
        }
    }

    /// The path of `<root>/<pid>/<file>`.
    pub fn path(&self, pid: u32, file: &str) -> PathBuf {
        self.root.join(pid.to_string()).join(file)
    }

    /// Every pid currently listed in the procfs root.
    pub fn pids(&self) -> io::Result<Vec<u32>> {
        let entries = fs::read_dir(&self.root).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot list {}: {e}", self.root.display()),
            )
        })?;
        Ok(entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .collect())
    }

    /// Reads everything procfs tells about `pid`.
    ///
    /// Fails only when `status` cannot be read (the process is gone or the
    /// root is wrong); every other file is best effort (kernel threads have
    /// no exe, other users' cwd may be unreadable).
    pub fn read(&self, pid: u32) -> io::Result<ProcSnapshot> {
        let status = fs::read_to_string(self.path(pid, "status"))?;
        let mut snap = ProcSnapshot::default();
        for line in status.lines() {
            if let Some(v) = line.strip_prefix("PPid:") {
                snap.ppid = v.trim().parse().unwrap_or(0);
            } else if let Some(v) = line.strip_prefix("Uid:") {
                let mut ids = v.split_whitespace().map(|x| x.parse::<u32>().unwrap_or(0));
                snap.uid = ids.next().unwrap_or(0);
                snap.euid = ids.next().unwrap_or(snap.uid);
            }
        }
        snap.exe = read_link_string(&self.path(pid, "exe"));
        snap.cwd = read_link_string(&self.path(pid, "cwd"));
        snap.cmdline = fs::read(self.path(pid, "cmdline"))
            .map(|bytes| cmdline_from_nul_separated(&bytes))
            .unwrap_or_default();
        snap.start_time_ns = fs::read_to_string(self.path(pid, "stat"))
            .ok()
            .and_then(|stat| start_ticks(&stat))
            .map_or(0, |ticks| {
                self.boot_time_ns
                    .saturating_add(ticks.saturating_mul(1_000_000_000) / self.ticks_per_sec)
            });
        snap.container = self.container(pid).ok().flatten();
        snap.exe_key = self.exe_key(pid);
        Ok(snap)
    }

    /// The container `pid` runs in (`Ok(None)`: none), from its cgroup file.
    pub fn container(&self, pid: u32) -> io::Result<Option<ContainerIdentity>> {
        let text = fs::read_to_string(self.path(pid, "cgroup"))?;
        Ok(container::identify(&text))
    }

    /// The content key of `pid`'s executable (follows the `exe` magic link).
    pub fn exe_key(&self, pid: u32) -> Option<FileKey> {
        fs::metadata(self.path(pid, "exe"))
            .ok()
            .map(|m| FileKey::of(&m))
    }
}

/// The target of a symlink as a string ("" when unreadable).
fn read_link_string(path: &Path) -> String {
    fs::read_link(path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `/proc/<pid>/cmdline` (NUL-separated arguments) as one space-separated line.
pub(crate) fn cmdline_from_nul_separated(bytes: &[u8]) -> String {
    let trimmed = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    String::from_utf8_lossy(trimmed).replace('\0', " ")
}

/// Field 22 (`starttime`, clock ticks since boot) of `/proc/<pid>/stat`.
fn start_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) may contain spaces and parentheses: skip past the last ')'.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // after_comm starts at field 3 (state); starttime is field 22.
    after_comm.split_whitespace().nth(22 - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_ticks_skips_odd_command_names() {
        let stat = "42 (a b) c)) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 1000 10";
        assert_eq!(start_ticks(stat), Some(12345));
        assert_eq!(start_ticks("garbage"), None);
    }

    #[test]
    fn cmdline_joins_arguments() {
        assert_eq!(cmdline_from_nul_separated(b"sleep\x0030\x00"), "sleep 30");
        assert_eq!(cmdline_from_nul_separated(b""), "");
    }
}
