//! Leaves nothing behind: processes, mounts and cgroups a runtime made for
//! the test, found by the test's own unique paths and pod uids.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// SIGKILLs every process whose command line mentions `dir` (the shims of
/// a runtime started with sockets in `dir`).
pub fn kill_processes_mentioning(dir: &Path) {
    let needle = dir.to_string_lossy().into_owned();
    for pid in processes(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| String::from_utf8_lossy(&c).contains(&needle))
            .unwrap_or(false)
    }) {
        // SAFETY: signalling a process the test's runtime started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// SIGKILLs every process in the cgroup of one of the pods.
pub fn kill_pods(pod_uids: &[String]) {
    if pod_uids.is_empty() {
        return;
    }
    for pid in processes(|pid| {
        std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .map(|c| pod_uids.iter().any(|u| c.contains(&format!("pod{u}"))))
            .unwrap_or(false)
    }) {
        // SAFETY: signalling a process of the test's own pods.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Detaches every mount at or below `dir`, deepest first.
pub fn unmount_under(dir: &Path) {
    let Ok(text) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return;
    };
    let mut points: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(PathBuf::from))
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for point in points {
        let c = std::ffi::CString::new(point.to_string_lossy().as_bytes()).unwrap();
        // SAFETY: a valid C string; MNT_DETACH never blocks.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
}

/// Removes the pods' cgroups (`…/kubepods/besteffort/pod<uid>` and below)
/// in every hierarchy, waiting briefly for killed processes to leave.
pub fn remove_pod_cgroups(pod_uids: &[String]) {
    let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    let hierarchies: Vec<PathBuf> = hierarchies.flatten().map(|e| e.path()).collect();
    for uid in pod_uids {
        for h in &hierarchies {
            let pod = h.join(format!("kubepods/besteffort/pod{uid}"));
            if pod.exists() {
                remove_tree(&pod);
            }
        }
    }
}

/// rmdir of a cgroup tree, children first.
pub fn remove_tree(dir: &Path) {
    if let Ok(children) = std::fs::read_dir(dir) {
        for child in children.flatten() {
            if child.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&child.path());
            }
        }
    }
    for _ in 0..100 {
        if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Pids of the processes (other than this one) for which `wanted` holds.
fn processes(wanted: impl Fn(i32) -> bool) -> Vec<i32> {
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter(|&pid| pid != me && wanted(pid))
                .collect()
        })
        .unwrap_or_default()
}
