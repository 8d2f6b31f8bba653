//! Host facts the sensor needs: privileges, tracefs, clocks, waiting on an fd.

use std::time::Duration;

use crate::SensorError;

/// `CAP_SYS_ADMIN`.
const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_PERFMON`.
const CAP_PERFMON: u32 = 38;
/// `CAP_BPF`.
const CAP_BPF: u32 = 39;

/// Where tracefs is expected.
pub const TRACEFS: &str = "/sys/kernel/tracing";

/// Fail with one clear line unless this process may load tracing eBPF programs.
pub fn check_privileges() -> Result<(), SensorError> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let caps = effective_caps(&status);
    if has_bpf_caps(caps) {
        return Ok(());
    }
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    Err(SensorError::Privileges(format!(
        "the eBPF sensor needs root or the CAP_BPF and CAP_PERFMON capabilities \
         (running as uid {euid} with effective capabilities {caps:#x}); run as root or grant them"
    )))
}

/// The `CapEff` mask from the text of /proc/<pid>/status (0 if absent).
pub fn effective_caps(status: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0)
}

/// Whether a capability mask allows loading and attaching tracing programs.
pub fn has_bpf_caps(caps: u64) -> bool {
    let has = |c: u32| caps & (1u64 << c) != 0;
    (has(CAP_BPF) && has(CAP_PERFMON)) || has(CAP_SYS_ADMIN)
}

/// Mount tracefs at [`TRACEFS`] if it is not there; returns what happened, for the features report.
pub fn ensure_tracefs() -> String {
    if std::path::Path::new(TRACEFS).join("events").exists() {
        return "present".to_string();
    }
    let target = std::ffi::CString::new(TRACEFS).expect("no NUL in a constant");
    let fstype = c"tracefs";
    // SAFETY: valid NUL-terminated strings; no data argument.
    let rc = unsafe {
        libc::mount(
            fstype.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        tracing::info!(path = TRACEFS, "mounted tracefs");
        "mounted".to_string()
    } else {
        let err = std::io::Error::last_os_error();
        tracing::warn!(path = TRACEFS, error = %err, "could not mount tracefs (raw tracepoints do not need it)");
        format!("mount failed: {err}")
    }
}

fn clock_ns(clock: libc::clockid_t) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// Wall clock minus boot clock, in ns: add to `bpf_ktime_get_boot_ns()` for epoch time.
pub fn boot_to_epoch_ns() -> i64 {
    // Bracket the boot clock read by two wall-clock reads to halve the skew.
    let before = clock_ns(libc::CLOCK_REALTIME);
    let boot = clock_ns(libc::CLOCK_BOOTTIME);
    let after = clock_ns(libc::CLOCK_REALTIME);
    before + (after - before) / 2 - boot
}

/// Wait until `fd` is readable or `timeout` passes. Returns whether it is readable.
pub fn wait_readable(fd: i32, timeout: Duration) -> Result<bool, SensorError> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    if rc < 0 {
        let err = std::io::Error::last_os_error();
        if err.kind() == std::io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(SensorError::Poll(err));
    }
    Ok(rc > 0)
}

/// The kernel's count of runs of a program skipped because it was already running
/// on that CPU (`bpf_prog_info.recursion_misses`).
pub fn recursion_misses(prog_fd: i32) -> Result<u64, std::io::Error> {
    /// The `BPF_OBJ_GET_INFO_BY_FD` part of `union bpf_attr`.
    #[repr(C)]
    struct InfoAttr {
        bpf_fd: u32,
        info_len: u32,
        info: u64,
    }
    // SAFETY: bpf_prog_info is plain integers; all-zero is valid.
    let mut info: aya_obj::generated::bpf_prog_info = unsafe { std::mem::zeroed() };
    let attr = InfoAttr {
        bpf_fd: prog_fd as u32,
        info_len: std::mem::size_of_val(&info) as u32,
        info: &mut info as *mut _ as u64,
    };
    // SAFETY: attr points to a live info buffer of the stated length.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            aya_obj::generated::bpf_cmd::BPF_OBJ_GET_INFO_BY_FD as i32,
            &attr as *const InfoAttr,
            std::mem::size_of::<InfoAttr>() as u32,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(info.recursion_misses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_read_and_judged() {
        let root = "Name:\tx\nCapEff:\t000001ffffffffff\n";
        assert_eq!(effective_caps(root), 0x1ff_ffff_ffff);
        assert!(has_bpf_caps(effective_caps(root)));
        let bpf_only = format!("CapEff:\t{:016x}\n", (1u64 << 39) | (1u64 << 38));
        assert!(has_bpf_caps(effective_caps(&bpf_only)));
        assert!(!has_bpf_caps(effective_caps("CapEff:\t0000000000000000\n")));
        assert!(!has_bpf_caps(1 << 39));
        assert_eq!(effective_caps("garbage"), 0);
    }

    #[test]
    fn boot_offset_is_plausible() {
        let offset = boot_to_epoch_ns();
        // Booted after 2020 and before now.
        assert!(offset > 1_577_836_800 * 1_000_000_000);
        assert!(offset < clock_ns(libc::CLOCK_REALTIME));
    }
}
