//! Resource keys: what "the same resource" means for merging and correlation.

use crate::input::FindingInput;

/// The key under which repeats of one finding type merge: the container id
/// for a containerised process, else the executable plus the executables of
/// its nearest `lineage_depth` ancestors (so a miner restarted by the same
/// cron job merges even though its pid changed).
pub(crate) fn merge_key(input: &FindingInput, lineage_depth: usize) -> String {
    if let Some(container) = &input.container {
        return format!("container:{}", container.id);
    }
    let mut key = String::from("host:");
    push_exe(&mut key, &input.process.exe, input.process.pid);
    for ancestor in input.process.ancestry.iter().take(lineage_depth) {
        key.push('<');
        push_exe(&mut key, &ancestor.exe, ancestor.pid);
    }
    key
}

/// The key under which findings of different types correlate into an attack
/// sequence: the container id for a containerised process, else the root of
/// its process tree — the farthest known ancestor that is not init (pid 1),
/// or the process itself when it has no such ancestor. Every process started
/// under one service or login session therefore shares a key.
pub(crate) fn correlation_key(input: &FindingInput) -> String {
    if let Some(container) = &input.container {
        return format!("container:{}", container.id);
    }
    let process = &input.process;
    let root = process
        .ancestry
        .iter()
        .rev()
        .find(|a| a.pid > 1)
        .map(|a| (a.pid, a.exe.as_str()))
        .unwrap_or((process.pid, process.exe.as_str()));
    format!("lineage:{}:{}", root.0, root.1)
}

/// Appends an executable path, or the pid when the path is unknown.
fn push_exe(key: &mut String, exe: &str, pid: u32) {
    if exe.is_empty() {
        key.push_str(&format!("pid={pid}"));
    } else {
        key.push_str(exe);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{AncestorSummary, ContainerContext, DetectorRef, ProcessContext};

    fn input(pid: u32, exe: &str, ancestry: &[(u32, &str)]) -> FindingInput {
        FindingInput {
            raw: harrier_events::Finding {
                finding_type: "T".into(),
                severity: 5.0,
                title: String::new(),
                description: String::new(),
                mitre_technique: None,
                pid,
                event_seqs: vec![],
                evidence: vec![],
            },
            detector: DetectorRef::new("d", "1"),
            process: ProcessContext {
                pid,
                exe: exe.into(),
                ancestry: ancestry
                    .iter()
                    .map(|(pid, exe)| AncestorSummary {
                        pid: *pid,
                        exe: exe.to_string(),
                        cmdline: String::new(),
                    })
                    .collect(),
                ..Default::default()
            },
            container: None,
            kubernetes: None,
            events: vec![],
            time_ns: 0,
        }
    }

    #[test]
    fn host_merge_key_uses_exe_lineage_not_pids() {
        let a = input(
            10,
            "/tmp/xmrig",
            &[(9, "/bin/sh"), (8, "/usr/sbin/cron"), (1, "/sbin/init")],
        );
        let b = input(
            20,
            "/tmp/xmrig",
            &[(19, "/bin/sh"), (8, "/usr/sbin/cron"), (1, "/sbin/init")],
        );
        assert_eq!(merge_key(&a, 3), merge_key(&b, 3));
        assert_eq!(
            merge_key(&a, 3),
            "host:/tmp/xmrig</bin/sh</usr/sbin/cron</sbin/init"
        );
        let c = input(30, "/tmp/xmrig", &[(29, "/bin/bash")]);
        assert_ne!(merge_key(&a, 3), merge_key(&c, 3));
    }

    #[test]
    fn container_keys_ignore_the_process() {
        let mut a = input(10, "/bin/sh", &[]);
        let mut b = input(11, "/usr/bin/curl", &[]);
        for i in [&mut a, &mut b] {
            i.container = Some(ContainerContext {
                id: "c1".into(),
                ..Default::default()
            });
        }
        assert_eq!(merge_key(&a, 3), merge_key(&b, 3));
        assert_eq!(correlation_key(&a), "container:c1");
    }

    #[test]
    fn correlation_key_is_the_tree_root_below_init() {
        let shell = input(
            12,
            "/bin/sh",
            &[
                (11, "/usr/sbin/nginx"),
                (10, "/usr/sbin/nginx"),
                (1, "/sbin/init"),
            ],
        );
        let miner = input(
            13,
            "/tmp/xmrig",
            &[
                (12, "/bin/sh"),
                (11, "/usr/sbin/nginx"),
                (10, "/usr/sbin/nginx"),
                (1, "/sbin/init"),
            ],
        );
        assert_eq!(correlation_key(&shell), "lineage:10:/usr/sbin/nginx");
        assert_eq!(correlation_key(&shell), correlation_key(&miner));
        let daemon = input(10, "/usr/sbin/nginx", &[(1, "/sbin/init")]);
        assert_eq!(correlation_key(&daemon), correlation_key(&shell));
    }
}
