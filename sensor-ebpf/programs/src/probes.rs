//! Do-nothing programs the host tries to load at start-up to learn whether this
//! kernel accepts fentry and BPF LSM programs (optional hooks; never attached).

use aya_ebpf::{
    macros::{fentry, lsm},
    programs::{FEntryContext, LsmContext},
};

/// Probe for fentry support.
#[fentry(function = "do_sys_openat2")]
pub fn probe_fentry(_ctx: FEntryContext) -> u32 {
    0
}

/// Probe for BPF LSM support.
#[lsm(hook = "file_open")]
pub fn probe_lsm(_ctx: LsmContext) -> i32 {
    0
}
