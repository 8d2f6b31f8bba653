//! LIVE (root): real cgroups with Kubernetes-style paths on this machine; the
//! enricher, reading the real /proc, must report the container id and pod uid.

mod common;

use common::*;
use harrier_enrich::{EnrichConfig, Enricher};
use harrier_events::{EventDetail, ExecEvent, FileOpenEvent};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether the test may run: root, or skipped on request.
fn privileged(test: &str) -> bool {
    if std::env::var("HARRIER_SKIP_PRIVILEGED").as_deref() == Ok("1") {
        eprintln!("SKIPPED: {test} needs root (creates cgroups); HARRIER_SKIP_PRIVILEGED=1");
        return false;
    }
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "{test} needs root (creates cgroups under /sys/fs/cgroup and moves a process into them); \
         run as root or set HARRIER_SKIP_PRIVILEGED=1"
    );
    true
}

/// A 64-hex container id and a dashed pod uid, unique to this run.
fn ids(label: &str) -> (String, String) {
    let seed = format!(
        "{label}-{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now()
    );
    let id = hex::encode(Sha256::digest(seed.as_bytes()));
    let u = &hex::encode(Sha256::digest(id.as_bytes()))[..32];
    let uid = format!(
        "{}-{}-{}-{}-{}",
        &u[..8],
        &u[8..12],
        &u[12..16],
        &u[16..20],
        &u[20..]
    );
    (id, uid)
}

/// A nested cgroup and a `sleep` in it; removes both when dropped.
struct LiveCgroup {
    dirs: Vec<PathBuf>,
    leaf: PathBuf,
    child: std::process::Child,
}

impl LiveCgroup {
    /// Creates `hierarchy/<relative>` directory by directory and spawns `sleep 30`.
    fn create(hierarchy: &Path, relative: &str) -> LiveCgroup {
        assert!(
            hierarchy.join("cgroup.procs").exists(),
            "{} is not a mounted cgroup hierarchy",
            hierarchy.display()
        );
        let mut dirs = Vec::new();
        let mut path = hierarchy.to_path_buf();
        for part in relative.split('/').filter(|p| !p.is_empty()) {
            path.push(part);
            fs::create_dir(&path)
                .unwrap_or_else(|e| panic!("cannot create cgroup {}: {e}", path.display()));
            dirs.push(path.clone());
        }
        let child = Command::new("sleep")
            .arg("30")
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn sleep");
        LiveCgroup {
            leaf: path,
            dirs,
            child,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Moves the child into the leaf cgroup.
    fn enter(&self) {
        let procs = self.leaf.join("cgroup.procs");
        fs::write(&procs, self.pid().to_string())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", procs.display()));
    }
}

impl Drop for LiveCgroup {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for dir in self.dirs.iter().rev() {
            // The killed child may take a moment to leave the cgroup.
            for _ in 0..100 {
                if fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

fn open_event(pid: u32) -> harrier_events::Event {
    event(
        S,
        proc_of(pid, 0, 0),
        EventDetail::FileOpen(FileOpenEvent {
            path: "/etc/hosts".into(),
            flags: 0,
            mode: 0,
            result: 3,
        }),
    )
}

#[test]
fn cgroup_v1_systemd_slice_containerd_scope() {
    if !privileged("cgroup_v1_systemd_slice_containerd_scope") {
        return;
    }
    let (id, uid) = ids("v1");
    let relative = format!(
        "harrier-test-v1-{}/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{}.slice/cri-containerd-{id}.scope",
        std::process::id(),
        uid.replace('-', "_")
    );
    let cg = LiveCgroup::create(Path::new("/sys/fs/cgroup/pids"), &relative);
    cg.enter();
    let text = fs::read_to_string(format!("/proc/{}/cgroup", cg.pid())).unwrap();
    assert!(text.contains(&id), "the kernel shows the move: {text}");

    // Lazy load through an event.
    let e = Enricher::new(EnrichConfig::default());
    let mut ev = open_event(cg.pid());
    e.observe(&mut ev);
    assert_eq!(ev.process.container_id.as_deref(), Some(id.as_str()));
    let info = e.process(cg.pid()).unwrap();
    assert_eq!(info.container_id.as_deref(), Some(id.as_str()));
    assert_eq!(info.pod_uid.as_deref(), Some(uid.as_str()));

    // Seeding at start-up finds it too.
    let e = Enricher::new(EnrichConfig::default());
    e.seed_from_proc().unwrap();
    let info = e.process(cg.pid()).unwrap();
    assert_eq!(info.container_id.as_deref(), Some(id.as_str()));
    assert_eq!(info.pod_uid.as_deref(), Some(uid.as_str()));
}

#[test]
fn cgroup_v2_cgroupfs_kubepods_moved_before_exec() {
    if !privileged("cgroup_v2_cgroupfs_kubepods_moved_before_exec") {
        return;
    }
    let (id, uid) = ids("v2");
    let relative = format!(
        "harrier-test-v2-{}/kubepods/burstable/pod{uid}/{id}",
        std::process::id()
    );
    let cg = LiveCgroup::create(Path::new("/sys/fs/cgroup/unified"), &relative);
    let e = Enricher::new(EnrichConfig::default());
    // Seen before the runtime moves it: no container yet.
    e.observe(&mut open_event(cg.pid()));
    assert_eq!(e.process(cg.pid()).unwrap().container_id, None);
    // Moved into the container's cgroup, then exec: the exec re-reads the cgroup.
    cg.enter();
    let text = fs::read_to_string(format!("/proc/{}/cgroup", cg.pid())).unwrap();
    assert!(
        text.contains(&format!("0::/{relative}")),
        "the kernel shows the move: {text}"
    );
    e.observe(&mut event(
        2 * S,
        proc_of(cg.pid(), 0, 0),
        EventDetail::Exec(ExecEvent {
            args_gap: None,
            filename: "/usr/bin/sleep".into(),
            args: vec!["sleep".into(), "30".into()],
            args_truncated: false,
            cwd: "/".into(),
            ld_preload: None,
            ld_library_path: None,
            file_mode: 0o755,
            dev: 0,
            inode: 0,
            mtime_ns: 0,
        }),
    ));
    let info = e.process(cg.pid()).unwrap();
    assert_eq!(info.container_id.as_deref(), Some(id.as_str()));
    assert_eq!(info.pod_uid.as_deref(), Some(uid.as_str()));
    let mut ev = open_event(cg.pid());
    e.observe(&mut ev);
    assert_eq!(ev.process.container_id.as_deref(), Some(id.as_str()));
}
