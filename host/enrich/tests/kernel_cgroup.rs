//! The cgroup id the kernel puts in every event names the container and pod
//! of a process /proc never showed (it exited at once), in a cgroup created
//! a moment before; the workload source is told about the container and
//! answers the process's `workload`; removing the cgroup forgets it.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use harrier_enrich::container::Runtime;
use harrier_enrich::{EnrichConfig, Enricher, Workload, WorkloadSource};
use harrier_events::{EventDetail, ExecEvent, ExitEvent, FilePathEvent};

const ID: &str = "4a3f1b0c9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b";
const UID: &str = "0b8a5c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b";

/// A workload source that records what it is told and names one container.
#[derive(Debug, Default)]
struct Recording {
    seen: Mutex<Vec<(String, Runtime)>>,
    gone: Mutex<Vec<String>>,
}

impl WorkloadSource for Recording {
    fn container_seen(&self, id: &str, runtime: Runtime) {
        self.seen.lock().unwrap().push((id.to_string(), runtime));
    }
    fn container_gone(&self, id: &str) {
        self.gone.lock().unwrap().push(id.to_string());
    }
    fn workload(&self, id: &str) -> Option<Arc<Workload>> {
        (id == ID).then(|| {
            Arc::new(Workload {
                runtime: "containerd".into(),
                container_name: Some("app".into()),
                image: Some("busybox:1".into()),
                namespace: Some("shop".into()),
                pod_name: Some("cart-0".into()),
                labels: BTreeMap::new(),
                ..Workload::default()
            })
        })
    }
    fn workload_settled(&self, id: &str, _wait: Duration) -> Option<Arc<Workload>> {
        self.workload(id)
    }
}

fn exec(path: &str) -> EventDetail {
    EventDetail::Exec(ExecEvent {
        filename: path.into(),
        args: vec![path.into()],
        args_truncated: false,
        cwd: "/".into(),
        ld_preload: None,
        ld_library_path: None,
        file_mode: 0o755,
        dev: 0,
        inode: 0,
        mtime_ns: 0,
        args_gap: None,
    })
}

#[test]
fn a_process_gone_from_proc_is_named_by_its_cgroup_id() {
    let tree = tempfile::tempdir().unwrap();
    let enricher = Enricher::new(EnrichConfig {
        read_proc: false,
        cgroup2_mount: Some(tree.path().to_path_buf()),
        ..EnrichConfig::default()
    });
    let source = Arc::new(Recording::default());
    enricher.set_workload_source(source.clone());
    // The pod's cgroup appears after the enricher started.
    let dir = tree
        .path()
        .join(format!("kubepods/besteffort/pod{UID}/{ID}"));
    std::fs::create_dir_all(&dir).unwrap();
    let cgroup_id = std::fs::metadata(&dir).unwrap().ino();

    let mut process = proc_of(4242, 4200, 0);
    process.cgroup_id = Some(cgroup_id);
    let mut first = event(S, process.clone(), exec("/tmp/nb"));
    enricher.observe(&mut first);
    assert_eq!(first.process.container_id.as_deref(), Some(ID));
    let mut exit = event(
        S + 1,
        process,
        EventDetail::Exit(ExitEvent { code: 0, signal: 0 }),
    );
    enricher.observe(&mut exit);
    let info = enricher.process(4242).expect("lingers after exit");
    assert_eq!(info.container_id.as_deref(), Some(ID));
    assert_eq!(info.pod_uid.as_deref(), Some(UID));
    let workload = info.workload.expect("the source's names");
    assert_eq!(workload.namespace.as_deref(), Some("shop"));
    assert_eq!(workload.pod_name.as_deref(), Some("cart-0"));
    assert_eq!(
        workload.pod_uid.as_deref(),
        Some(UID),
        "from the cgroup path"
    );
    assert_eq!(workload.runtime.as_deref(), Some("containerd"));
    assert!(
        source
            .seen
            .lock()
            .unwrap()
            .contains(&(ID.to_string(), Runtime::Unknown)),
        "the source was told"
    );
    assert_eq!(enricher.stats().cgroups_resolved, 1);

    // A process whose parent is on the host but whose own event names the
    // pod's cgroup: the kernel wins over inheritance.
    let mut parent = proc_of(4300, 1, 0);
    parent.cgroup_id = Some(std::fs::metadata(tree.path()).unwrap().ino());
    let mut host_event = event(S + 2, parent, exec("/usr/bin/runc"));
    enricher.observe(&mut host_event);
    assert_eq!(host_event.process.container_id, None);

    // rmdir of the cgroup forgets it and tells the source.
    std::fs::remove_dir(&dir).unwrap();
    let mut rmdir = event(
        S + 3,
        proc_of(4300, 1, 0),
        EventDetail::FileUnlink(FilePathEvent {
            path: dir.display().to_string(),
            result: 0,
        }),
    );
    enricher.observe(&mut rmdir);
    assert_eq!(source.gone.lock().unwrap().as_slice(), [ID.to_string()]);
}
