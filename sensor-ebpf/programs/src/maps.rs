//! The maps shared by all programs, and the small checks every program makes.

use aya_ebpf::{
    helpers::bpf_get_current_pid_tgid,
    macros::map,
    maps::{Array, HashMap, LpmTrie, LruHashMap, PerCpuArray, RingBuf},
};
use harrier_sensor_common::{
    MAX_KINDS, MAX_SYSCALLS, NAME_MAX, OPEN_PREFIX_ENTRIES, OPEN_PREFIX_MAX, PATH_TOP,
    SCRATCH_SIZE, SyscallSpec,
};

/// Records to user space (size set by the host at load).
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(1 << 24, 0);

/// Non-zero at index `EventKind::index()` when the kind is switched on.
#[map]
pub static ENABLED: Array<u32> = Array::with_max_entries(MAX_KINDS, 0);

/// Per kind, records lost because the ring buffer was full.
#[map]
pub static DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(MAX_KINDS, 0);

/// How each syscall number is captured.
#[map]
pub static SPECS: Array<SyscallSpec> = Array::with_max_entries(MAX_SYSCALLS, 0);

/// Thread-group ids whose events are never emitted (the agent itself).
#[map]
pub static EXCLUDED: HashMap<u32, u8> = HashMap::with_max_entries(64, 0);

/// Path prefixes of the read-only opens some detector wants (`filter::OPEN_READ`).
/// The empty prefix, which matches every path, switches the filter off.
#[map]
pub static OPEN_PREFIXES: LpmTrie<[u8; OPEN_PREFIX_MAX], u8> =
    LpmTrie::with_max_entries(OPEN_PREFIX_ENTRIES, 0);

/// Syscall arguments kept from entry to exit, by pid_tgid.
#[map]
pub static STASH: LruHashMap<u64, Stash> = LruHashMap::with_max_entries(16384, 0);

/// Last file seen written per (tgid << 32 | fd), for first-write-per-file.
#[map]
pub static WRITTEN: LruHashMap<u64, u64> = LruHashMap::with_max_entries(16384, 0);

/// Scratch buffers per CPU to build records in: one per [`Slot`], because the
/// syscall programs may be preempted (syscall tracepoints are faultable) while
/// the scheduler hooks run on the same CPU.
#[map]
pub static SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(2, 0);

/// Which scratch buffer a program uses.
#[derive(Clone, Copy)]
#[repr(u32)]
pub enum Slot {
    /// sys_exit.
    Syscall = 0,
    /// sched_process_exec/exit/fork.
    Sched = 1,
}

/// A syscall's number and raw arguments.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Stash {
    pub nr: u64,
    pub args: [u64; 6],
}

/// Scratch space for one record, and the writer's state.
///
/// The state lives in the map, not in registers, on purpose: values read back
/// from a map are unknown to the verifier, so paths that differ only in how
/// long earlier items were converge instead of multiplying.
#[repr(C)]
pub struct Scratch {
    pub buf: [u8; SCRATCH_SIZE],
    /// Bytes written so far.
    pub off: u64,
    /// Dentry walk state (see writer.rs).
    pub walk: Walk,
    /// The last [`PATH_TOP`] components a walk passed without copying them,
    /// a ring indexed by `Walk::skipped`.
    pub top: [[u8; NAME_MAX]; PATH_TOP],
    /// The slot this buffer is (set by the writer, read by the walk callback).
    pub slot: u32,
    pub _pad: u32,
}

/// State of a dentry walk.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Walk {
    pub start: u64,
    pub used: u64,
    pub room: u64,
    pub dentry: u64,
    pub vfsmnt: u64,
    pub mnt_root: u64,
    pub done: u64,
    /// Components copied leaf first.
    pub copied: u64,
    /// Components passed after the copy stopped (the last PATH_TOP are in `top`).
    pub skipped: u64,
}

/// Whether the kind with this index is switched on.
#[inline(always)]
pub fn enabled(kind: u8) -> bool {
    matches!(ENABLED.get(kind as u32), Some(v) if *v != 0)
}

/// Whether the current process is excluded (the agent itself).
#[inline(always)]
pub fn excluded() -> bool {
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    unsafe { EXCLUDED.get(tgid) }.is_some()
}

/// This CPU's scratch space for `slot`.
#[inline(always)]
pub fn scratch(slot: Slot) -> Option<*mut Scratch> {
    SCRATCH.get_ptr_mut(slot as u32)
}

/// Send the record in `buf` of `len` bytes; count a drop for `kind` if the ring is full.
#[inline(always)]
pub fn emit(buf: *const u8, len: usize, kind: u8) {
    let len = len & (SCRATCH_SIZE - 1);
    if len == 0 {
        return;
    }
    let data = unsafe { core::slice::from_raw_parts(buf, len) };
    if EVENTS.output::<[u8]>(data, 0).is_err()
        && let Some(count) = DROPS.get_ptr_mut(kind as u32)
    {
        unsafe { *count += 1 };
    }
}
