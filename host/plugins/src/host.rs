//! What detectors may ask of the host: the WIT `host` interface, backed by
//! the agent's enrichment ([`HostServices`]), plus a WASI context with no
//! files, no network, no environment and stdout/stderr sent to the log,
//! linked only as far as the detector's [`Permissions`] grant (see
//! [`crate::linking`]).
//!
//! Host functions that hand out gated data check the store's permissions
//! with `PluginState::permits` (e.g. `workload` names in `process-info`);
//! gated host functions are listed in
//! [`Requirement::of_host_function`](crate::permissions::Requirement::of_host_function)
//! and link as denials for detectors without the grant.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use harrier_events::{FileWriteInfo, IndicatorKind, IntelHit, LogLevel, ProcessInfo};
use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::permissions::{Permission, Permissions};
use crate::wasi_log::LogStream;

/// Deepest ancestry a detector may ask for in one call.
pub const MAX_ANCESTRY_DEPTH: u32 = 64;
/// Longest log line a detector may write; the rest is cut.
pub const MAX_LOG_LINE: usize = 4096;

/// The agent's knowledge that detectors can query. Implemented by the
/// pipeline over its process table; shared by every detector.
pub trait HostServices: Send + Sync {
    /// The process with this pid, if known.
    fn process(&self, pid: u32) -> Option<ProcessInfo>;
    /// Ancestors of `pid`, nearest first, at most `max_depth`.
    fn ancestry(&self, pid: u32, max_depth: u32) -> Vec<ProcessInfo>;
    /// Who created or wrote `path` recently, if anyone.
    fn recent_write(&self, path: &str) -> Option<FileWriteInfo>;
    /// The current time in ns since the Unix epoch. Live agents return the
    /// wall clock; replay returns the time of the event being processed, so
    /// results do not depend on when the replay runs.
    fn now_ns(&self) -> u64 {
        wall_clock_ns()
    }
    /// Whether `value` is a known indicator of compromise, and what it
    /// means. Hosts without threat intelligence know none.
    fn intel_match(&self, _kind: IndicatorKind, _value: &str) -> Option<IntelHit> {
        None
    }
}

/// Host services that know nothing: for tests and tools that load a
/// detector without an agent around it.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHostServices;

impl HostServices for NoHostServices {
    fn process(&self, _pid: u32) -> Option<ProcessInfo> {
        None
    }
    fn ancestry(&self, _pid: u32, _max_depth: u32) -> Vec<ProcessInfo> {
        Vec::new()
    }
    fn recent_write(&self, _path: &str) -> Option<FileWriteInfo> {
        None
    }
}

/// Nanoseconds since the Unix epoch.
pub fn wall_clock_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The data of one detector's store.
pub(crate) struct PluginState {
    pub(crate) name: Arc<str>,
    pub(crate) limits: StoreLimits,
    /// What the operator granted this detector.
    pub(crate) permissions: Permissions,
    /// When the current call must end (wall clock), for host functions that
    /// could otherwise wait past it.
    pub(crate) deadline: Option<Instant>,
    services: Arc<dyn HostServices>,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl PluginState {
    pub(crate) fn new(
        name: Arc<str>,
        limits: StoreLimits,
        permissions: Permissions,
        services: Arc<dyn HostServices>,
    ) -> Self {
        // Nothing ambient: no preopens, no env, no args, no sockets (denied
        // by default), stdin empty; output goes to the log under our name.
        let wasi = WasiCtx::builder()
            .stdout(LogStream::new(name.clone(), "stdout"))
            .stderr(LogStream::new(name.clone(), "stderr"))
            .build();
        Self {
            name,
            limits,
            permissions,
            deadline: None,
            services,
            wasi,
            table: ResourceTable::new(),
        }
    }
}

impl PluginState {
    /// Whether the detector was granted `permission`.
    pub fn permits(&self, permission: Permission) -> bool {
        self.permissions.contains(permission)
    }

    /// `info` as this detector may see it: Kubernetes and runtime names
    /// (`workload`) only with the `workload` permission. Ids (container,
    /// pod uid from the cgroup) stay: every detector needs them.
    fn visible(&self, mut info: ProcessInfo) -> ProcessInfo {
        if !self.permits(Permission::Workload) {
            info.workload = None;
        }
        info
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl harrier_events::types::Host for PluginState {}

impl harrier_events::host::Host for PluginState {
    fn log(&mut self, level: LogLevel, message: String) {
        let message = log_text(&message);
        let plugin = &*self.name;
        match level {
            LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            LogLevel::Info => tracing::info!(plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn now_ns(&mut self) -> u64 {
        self.services.now_ns()
    }

    fn process(&mut self, pid: u32) -> Option<ProcessInfo> {
        self.services.process(pid).map(|info| self.visible(info))
    }

    fn ancestry(&mut self, pid: u32, max_depth: u32) -> Vec<ProcessInfo> {
        self.services
            .ancestry(pid, max_depth.min(MAX_ANCESTRY_DEPTH))
            .into_iter()
            .map(|info| self.visible(info))
            .collect()
    }

    fn recent_write(&mut self, path: String) -> Option<FileWriteInfo> {
        self.services.recent_write(&path)
    }

    fn intel_match(&mut self, kind: IndicatorKind, value: String) -> Option<IntelHit> {
        self.services.intel_match(kind, &value)
    }
}

/// A detector's log line as the host writes it: at most [`MAX_LOG_LINE`]
/// bytes, control characters escaped so it cannot forge lines of its own.
pub(crate) fn log_text(text: &str) -> String {
    let head = if text.len() > MAX_LOG_LINE {
        let mut end = MAX_LOG_LINE;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        &text[..end]
    } else {
        text
    };
    let mut line = crate::bounds::escape_controls(head);
    crate::bounds::cap_string(&mut line, MAX_LOG_LINE);
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::permissions::Permission;
    use harrier_events::WorkloadInfo;
    use harrier_events::host::Host as _;

    /// One process in a pod, with the runtime's names.
    struct InAPod;

    impl HostServices for InAPod {
        fn process(&self, pid: u32) -> Option<ProcessInfo> {
            Some(ProcessInfo {
                pid,
                ppid: 1,
                uid: 0,
                euid: 0,
                exe: "/bin/sh".into(),
                cmdline: "sh".into(),
                start_time_ns: 0,
                container_id: Some("c0ffee".into()),
                pod_uid: Some("uid-1".into()),
                cwd: "/".into(),
                user_name: None,
                exe_sha256: None,
                workload: Some(WorkloadInfo {
                    namespace: Some("shop".into()),
                    pod_name: Some("cart-0".into()),
                    pod_uid: Some("uid-1".into()),
                    container_name: Some("cart".into()),
                    image: Some("cart:1".into()),
                    image_digest: None,
                    runtime: Some("containerd".into()),
                }),
            })
        }
        fn ancestry(&self, pid: u32, _max_depth: u32) -> Vec<ProcessInfo> {
            self.process(pid + 1).into_iter().collect()
        }
        fn recent_write(&self, _path: &str) -> Option<FileWriteInfo> {
            None
        }
    }

    fn state(permissions: Permissions) -> PluginState {
        PluginState::new(
            Arc::from("t"),
            StoreLimits::default(),
            permissions,
            Arc::new(InAPod),
        )
    }

    #[test]
    fn workload_names_need_the_workload_permission_and_ids_do_not() {
        let mut without = state(Permissions::NONE);
        let seen = without.process(7).unwrap();
        assert_eq!(seen.workload, None);
        assert_eq!(seen.container_id.as_deref(), Some("c0ffee"));
        assert_eq!(seen.pod_uid.as_deref(), Some("uid-1"));
        assert!(without.ancestry(7, 4).iter().all(|a| a.workload.is_none()));

        let mut with = state(Permissions::NONE.with(Permission::Workload));
        let seen = with.process(7).unwrap();
        assert_eq!(
            seen.workload.and_then(|w| w.namespace).as_deref(),
            Some("shop")
        );
        assert!(with.ancestry(7, 4).iter().all(|a| a.workload.is_some()));
    }
}
