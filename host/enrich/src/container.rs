//! Container and Kubernetes pod identity from a process's cgroup paths.
//!
//! [`identify`] reads the text of `/proc/<pid>/cgroup` (cgroup v1 or v2) and
//! recognises the naming of containerd, CRI-O, Docker and Podman, both with
//! the systemd cgroup driver (`.slice`/`.scope` units) and with the cgroupfs
//! driver (plain directories):
//!
//! - `…/kubepods-besteffort-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope`
//! - `…/kubepods-burstable-pod<uid>.slice:cri-containerd:<id>` (kind, nested containerd)
//! - `/kubepods/burstable/pod<uid>/<id>` and `/kubepods/pod<uid>/crio-<id>`
//! - `/docker/<id>`, `/system.slice/docker-<id>.scope`
//! - `crio-<id>.scope`, `libpod-<id>.scope`, `/libpod_parent/libpod-<id>`
//!
//! Conmon's own scopes (`crio-conmon-<id>.scope`, `libpod-conmon-<id>.scope`)
//! are the runtime's monitor, not the container, and are not matched. When
//! containers are nested (kind on Docker), the innermost one wins.

/// The container runtime whose naming the cgroup path follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runtime {
    /// containerd's CRI plugin (`cri-containerd-<id>.scope`).
    Containerd,
    /// CRI-O (`crio-<id>`).
    CriO,
    /// Docker (`docker-<id>.scope`, `/docker/<id>`).
    Docker,
    /// Podman (`libpod-<id>`).
    Podman,
    /// A bare 64-hex directory (cgroupfs driver) whose runtime the path does not tell.
    Unknown,
}

impl Runtime {
    /// The runtime's short name, as used in logs and findings.
    pub fn as_str(self) -> &'static str {
        match self {
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
            Runtime::Unknown => "unknown",
        }
    }
}

/// The container (and Kubernetes pod, if any) a cgroup path belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ContainerIdentity {
    /// Which runtime's naming matched.
    pub runtime: Runtime,
    /// The container id: 64 lower-case hex digits.
    pub container_id: String,
    /// The Kubernetes pod uid, with dashes (`0b8a…-…`), when the path is under kubepods.
    pub pod_uid: Option<String>,
}

/// Identifies the container and pod from the text of `/proc/<pid>/cgroup`.
///
/// Returns `None` when no line names a container. Lines are examined in
/// order; the first that names a container gives the answer.
pub fn identify(cgroup_file_text: &str) -> Option<ContainerIdentity> {
    cgroup_file_text.lines().find_map(identify_path_line)
}

/// Identifies one `hierarchy-id:controllers:path` line (or a bare path).
fn identify_path_line(line: &str) -> Option<ContainerIdentity> {
    // The path is everything after the second colon; a bare path is accepted too.
    let path = match line.split_once(':') {
        Some((_, rest)) if !line.starts_with('/') => rest.split_once(':').map(|(_, p)| p)?,
        _ => line,
    };
    let path = path.trim();
    let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    // Innermost container wins: search from the deepest component up.
    let (index, runtime, container_id) =
        components.iter().enumerate().rev().find_map(|(i, comp)| {
            let parent = i.checked_sub(1).map(|p| components[p]);
            container_in_component(comp, parent).map(|(rt, id)| (i, rt, id))
        })?;
    // The pod is an ancestor of the container (or the same component in the
    // colon form `kubepods-…-pod<uid>.slice:cri-containerd:<id>`).
    let pod_uid = components[..=index]
        .iter()
        .rev()
        .find_map(|comp| pod_in_component(comp));
    Some(ContainerIdentity {
        runtime,
        container_id: container_id.to_ascii_lowercase(),
        pod_uid,
    })
}

/// Prefixed unit names that carry a container id, and the runtime each means.
const PREFIXES: &[(&str, Runtime)] = &[
    ("cri-containerd-", Runtime::Containerd),
    ("crio-", Runtime::CriO),
    ("docker-", Runtime::Docker),
    ("libpod-", Runtime::Podman),
];

/// Runtime names used in the colon form `<slice>:<runtime>:<id>`.
const COLON_RUNTIMES: &[(&str, Runtime)] = &[
    ("cri-containerd", Runtime::Containerd),
    ("crio", Runtime::CriO),
    ("docker", Runtime::Docker),
    ("libpod", Runtime::Podman),
];

/// The container named by one path component, if any.
fn container_in_component<'a>(comp: &'a str, parent: Option<&str>) -> Option<(Runtime, &'a str)> {
    // Colon form used by containerd/CRI-O with systemd cgroups when nested (kind).
    if let Some((_, rest)) = comp.split_once(':') {
        let (runtime_name, id) = rest.split_once(':')?;
        let runtime = COLON_RUNTIMES
            .iter()
            .find(|(name, _)| *name == runtime_name)
            .map(|(_, rt)| *rt)?;
        return is_container_id(id).then_some((runtime, id));
    }
    let unit = comp.strip_suffix(".scope").unwrap_or(comp);
    for (prefix, runtime) in PREFIXES {
        if let Some(id) = unit.strip_prefix(prefix)
            && is_container_id(id)
        {
            return Some((*runtime, id));
        }
    }
    if is_container_id(comp) {
        let runtime = match parent {
            Some("docker") => Runtime::Docker,
            Some("libpod_parent") => Runtime::Podman,
            _ => Runtime::Unknown,
        };
        return Some((runtime, comp));
    }
    None
}

/// The pod uid named by one path component, if any, normalised to dashes.
fn pod_in_component(comp: &str) -> Option<String> {
    // Colon form: take the slice part.
    let comp = comp.split(':').next().unwrap_or(comp);
    let raw = if let Some(slice) = comp.strip_suffix(".slice") {
        // kubepods-pod<uid>.slice, kubepods-burstable-pod<uid>.slice
        if !slice.starts_with("kubepods") {
            return None;
        }
        let at = slice.rfind("-pod")?;
        &slice[at + 4..]
    } else {
        // cgroupfs: pod<uid>
        comp.strip_prefix("pod")?
    };
    let uid = raw.replace('_', "-").to_ascii_lowercase();
    is_uuid(&uid).then_some(uid)
}

/// Whether `s` is exactly 64 hex digits.
fn is_container_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `s` is a 36-character dashed UUID (8-4-4-4-12 hex digits).
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4a3f1b0c9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b";
    const ID2: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const UID: &str = "0b8a5c1e-2f3d-4e5f-8a9b-0c1d2e3f4a5b";
    const UID_US: &str = "0b8a5c1e_2f3d_4e5f_8a9b_0c1d2e3f4a5b";

    fn ident(text: &str) -> ContainerIdentity {
        identify(text).unwrap_or_else(|| panic!("no container found in {text:?}"))
    }

    #[test]
    fn containerd_systemd_v2_besteffort() {
        let text = format!(
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_US}.slice/cri-containerd-{ID}.scope\n"
        );
        let id = ident(&text);
        assert_eq!(id.runtime, Runtime::Containerd);
        assert_eq!(id.container_id, ID);
        assert_eq!(id.pod_uid.as_deref(), Some(UID));
    }

    #[test]
    fn containerd_systemd_guaranteed_pod_has_no_qos_slice() {
        let text =
            format!("0::/kubepods.slice/kubepods-pod{UID_US}.slice/cri-containerd-{ID}.scope");
        let id = ident(&text);
        assert_eq!(id.pod_uid.as_deref(), Some(UID));
        assert_eq!(id.runtime, Runtime::Containerd);
    }

    #[test]
    fn containerd_systemd_v1_many_controllers() {
        let path = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_US}.slice/cri-containerd-{ID}.scope"
        );
        let text = format!(
            "12:pids:{path}\n11:memory:{path}\n10:cpu,cpuacct:{path}\n1:name=systemd:{path}\n0::/\n"
        );
        let id = ident(&text);
        assert_eq!(id.container_id, ID);
        assert_eq!(id.pod_uid.as_deref(), Some(UID));
    }

    #[test]
    fn cgroupfs_kubepods_burstable() {
        let id = ident(&format!("4:pids:/kubepods/burstable/pod{UID}/{ID}\n"));
        assert_eq!(id.runtime, Runtime::Unknown);
        assert_eq!(id.container_id, ID);
        assert_eq!(id.pod_uid.as_deref(), Some(UID));
    }

    #[test]
    fn cgroupfs_kubepods_guaranteed() {
        let id = ident(&format!("0::/kubepods/pod{UID}/{ID}"));
        assert_eq!(id.pod_uid.as_deref(), Some(UID));
        assert_eq!(id.container_id, ID);
    }

    #[test]
    fn crio_systemd_scope() {
        let id = ident(&format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_US}.slice/crio-{ID}.scope"
        ));
        assert_eq!(id.runtime, Runtime::CriO);
        assert_eq!(id.pod_uid.as_deref(), Some(UID));
    }

    #[test]
    fn crio_cgroupfs() {
        let id = ident(&format!("0::/kubepods/besteffort/pod{UID}/crio-{ID}"));
        assert_eq!(id.runtime, Runtime::CriO);
        assert_eq!(id.container_id, ID);
        assert_eq!(id.pod_uid.as_deref(), Some(UID));
    }

    #[test]
    fn crio_conmon_is_not_the_container() {
        assert_eq!(
            identify(&format!(
                "0::/kubepods.slice/kubepods-pod{UID_US}.slice/crio-conmon-{ID}.scope"
            )),
            None
        );
    }

    #[test]
    fn docker_cgroupfs() {
        let id = ident(&format!("8:memory:/docker/{ID}\n"));
        assert_eq!(id.runtime, Runtime::Docker);
        assert_eq!(id.container_id, ID);
        assert_eq!(id.pod_uid, None);
    }

    #[test]
    fn docker_systemd_scope() {
        let id = ident(&format!("0::/system.slice/docker-{ID}.scope"));
        assert_eq!(id.runtime, Runtime::Docker);
        assert_eq!(id.pod_uid, None);
    }

    #[test]
    fn dockershim_systemd_in_pod() {
        let id = ident(&format!(
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_US}.slice/docker-{ID}.scope"
        ));
        assert_eq!(id.runtime, Runtime::Docker);
        assert_eq!(id.pod_uid.as_deref(), Some(UID));
    }

    #[test]
    fn podman_systemd_and_cgroupfs() {
        let id = ident(&format!(
            "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"
        ));
        assert_eq!(id.runtime, Runtime::Podman);
        let id = ident(&format!("0::/libpod_parent/libpod-{ID}"));
        assert_eq!(id.runtime, Runtime::Podman);
        let id = ident(&format!("0::/libpod_parent/{ID}"));
        assert_eq!(id.runtime, Runtime::Podman);
    }

    #[test]
    fn podman_conmon_is_not_the_container() {
        assert_eq!(
            identify(&format!("0::/machine.slice/libpod-conmon-{ID}.scope")),
            None
        );
    }

    #[test]
    fn kind_colon_form() {
        let id = ident(&format!(
            "0::/system.slice/containerd.service/kubepods-burstable-pod{UID_US}.slice:cri-containerd:{ID}"
        ));
        assert_eq!(id.runtime, Runtime::Containerd);
        assert_eq!(id.container_id, ID);
        assert_eq!(id.pod_uid.as_deref(), Some(UID));
    }

    #[test]
    fn nested_innermost_container_wins() {
        let id = ident(&format!(
            "0::/docker/{ID2}/kubepods/besteffort/pod{UID}/{ID}"
        ));
        assert_eq!(id.container_id, ID);
        assert_eq!(id.pod_uid.as_deref(), Some(UID));
        assert_eq!(id.runtime, Runtime::Unknown);
    }

    #[test]
    fn pod_must_be_above_the_container() {
        // A pod-looking directory below the container is not its pod.
        let id = ident(&format!("0::/docker/{ID}/pod{UID}"));
        assert_eq!(id.container_id, ID);
        assert_eq!(id.pod_uid, None);
    }

    #[test]
    fn upper_case_id_is_normalised() {
        let id = ident(&format!("0::/docker/{}", ID.to_ascii_uppercase()));
        assert_eq!(id.container_id, ID);
    }

    #[test]
    fn host_processes_have_no_container() {
        for text in [
            "0::/init.scope\n",
            "0::/user.slice/user-0.slice/session-3.scope\n",
            "12:pids:/\n11:memory:/system.slice/sshd.service\n0::/system.slice/sshd.service\n",
            "0::/\n",
            "",
            // A pod slice without a container below it (e.g. the pod's own cgroup).
            &format!("0::/kubepods.slice/kubepods-pod{UID_US}.slice\n"),
        ] {
            assert_eq!(identify(text), None, "{text:?}");
        }
    }

    #[test]
    fn near_miss_ids_are_rejected() {
        let short = &ID[..63];
        let non_hex = format!("{}g", &ID[..63]);
        for text in [
            format!("0::/docker/{short}"),
            format!("0::/docker/{non_hex}"),
            format!("0::/system.slice/docker-{short}.scope"),
            format!("0::/kubepods.slice/x:unknown-runtime:{ID}"),
        ] {
            assert_eq!(identify(&text), None, "{text:?}");
        }
    }

    #[test]
    fn malformed_pod_uid_is_ignored_but_container_kept() {
        let id = ident(&format!("0::/kubepods/burstable/podnot-a-uid/{ID}"));
        assert_eq!(id.container_id, ID);
        assert_eq!(id.pod_uid, None);
    }

    #[test]
    fn first_line_naming_a_container_wins() {
        let text = format!("3:cpu:/\n2:memory:/docker/{ID}\n1:pids:/docker/{ID2}\n");
        assert_eq!(ident(&text).container_id, ID);
    }

    #[test]
    fn bare_path_is_accepted() {
        assert_eq!(ident(&format!("/docker/{ID}")).container_id, ID);
    }

    #[test]
    fn runtime_names() {
        assert_eq!(Runtime::CriO.as_str(), "cri-o");
        assert_eq!(Runtime::Containerd.as_str(), "containerd");
    }
}
