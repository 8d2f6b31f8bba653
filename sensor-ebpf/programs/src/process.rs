//! Process family: exec, exit and fork from the scheduler's raw tracepoints.
//!
//! Record layouts (decoded in host/sensor/src/families/process.rs):
//! - exec: `args[0]` = old pid; items EXEC_INFO, EXEC_FILENAME, EXEC_ARGV (and EXEC_ARGV_TAIL
//!   when argv is longer than ARGS_MAX), EXEC_EXE, EXEC_CWD, EXEC_ENV.
//! - exit: `args[0]` = task exit_code (status).
//! - fork: `args[0]` = child tid, `args[1]` = child tgid, `args[2]` = clone flags word
//!   (raw first argument, or clone_args.flags for clone3), `args[3]` = syscall number
//!   (0 when not from a syscall, e.g. kernel threads).

use aya_ebpf::{
    helpers::{bpf_get_current_pid_tgid, bpf_probe_read_user},
    macros::raw_tracepoint,
    programs::RawTracePointContext,
};
use harrier_sensor_common::{ARGS_HALF, ARGS_MAX, ENV_MAX, ExecInfo, NO_ARG, STR_MAX, tag};

use crate::{
    kernel::{fill_header, offsets, read, read_ptr},
    maps::{SPECS, STASH, Slot, emit, enabled, excluded, scratch},
    syscalls::arg,
    writer::Writer,
};

/// `EventKind::Exec.index()`.
const KIND_EXEC: u8 = 0;
/// `EventKind::Exit.index()`.
const KIND_EXIT: u8 = 1;
/// `EventKind::Fork.index()`.
const KIND_FORK: u8 = 2;

/// sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
#[raw_tracepoint(tracepoint = "sched_process_exec")]
pub fn sched_process_exec(ctx: RawTracePointContext) -> u32 {
    if !enabled(KIND_EXEC) || excluded() {
        return 0;
    }
    let Some(buf) = scratch(Slot::Sched) else {
        return 0;
    };
    let o = offsets();
    let task: u64 = ctx.arg(0);
    let old_pid: u64 = ctx.arg(1);
    let bprm: u64 = ctx.arg(2);
    let mut w = Writer::new(buf, Slot::Sched);
    fill_header(w.header(), o, KIND_EXEC);
    w.header().args[0] = old_pid;

    let mm = read_ptr(task + o.task_mm as u64);
    let arg_start = read_ptr(mm + o.mm_arg_start as u64);
    let arg_end = read_ptr(mm + o.mm_arg_end as u64);
    let env_start = read_ptr(mm + o.mm_env_start as u64);
    let env_end = read_ptr(mm + o.mm_env_end as u64);

    let file = read_ptr(bprm + o.bprm_file as u64);
    let inode = read_ptr(file + o.file_inode as u64);
    let sb = read_ptr(inode + o.inode_sb as u64);
    let mtime_ns = if o.inode_mtime_sec == u32::MAX {
        0
    } else {
        let sec = read::<i64>(inode + o.inode_mtime_sec as u64);
        let nsec = read::<u32>(inode + o.inode_mtime_nsec as u64);
        (sec as u64).wrapping_mul(1_000_000_000) + nsec as u64
    };
    let info = ExecInfo {
        mode: read::<u16>(inode + o.inode_mode as u64) as u32,
        _pad: 0,
        dev: read::<u32>(sb + o.sb_dev as u64) as u64,
        inode: read::<u64>(inode + o.inode_ino as u64),
        mtime_ns,
        args_len: arg_end.wrapping_sub(arg_start),
        env_len: env_end.wrapping_sub(env_start),
    };
    w.put(tag::EXEC_INFO, &info);
    w.put_str::<STR_MAX>(
        tag::EXEC_FILENAME,
        read_ptr(bprm + o.bprm_filename as u64),
        false,
    );
    let args_len = arg_end.wrapping_sub(arg_start);
    if args_len > ARGS_MAX as u64 && arg_end > arg_start {
        // Head and tail: an indicator after padding stays in sight.
        w.put_bytes::<ARGS_HALF>(tag::EXEC_ARGV, arg_start, ARGS_HALF as u64, true);
        let tail = arg_end - ARGS_HALF as u64;
        w.put_bytes::<ARGS_HALF>(tag::EXEC_ARGV_TAIL, tail, ARGS_HALF as u64, true);
    } else if arg_end > arg_start {
        w.put_bytes::<ARGS_MAX>(tag::EXEC_ARGV, arg_start, args_len, true);
    }
    let exe = file + o.file_path as u64;
    w.put_dpath(
        tag::EXEC_EXE,
        o,
        read_ptr(exe + o.path_dentry as u64),
        read_ptr(exe + o.path_mnt as u64),
    );
    let fs = read_ptr(task + o.task_fs as u64);
    let pwd = fs + o.fs_pwd as u64;
    w.put_dpath(
        tag::EXEC_CWD,
        o,
        read_ptr(pwd + o.path_dentry as u64),
        read_ptr(pwd + o.path_mnt as u64),
    );
    if env_end > env_start {
        w.put_bytes::<ENV_MAX>(tag::EXEC_ENV, env_start, env_end - env_start, true);
    }
    let (ptr, len) = w.finish();
    emit(ptr, len, KIND_EXEC);
    0
}

/// sched_process_exit(struct task_struct *p, ...): one record per thread-group leader.
#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn sched_process_exit(ctx: RawTracePointContext) -> u32 {
    if !enabled(KIND_EXIT) || excluded() {
        return 0;
    }
    let pid_tgid = bpf_get_current_pid_tgid();
    if pid_tgid >> 32 != pid_tgid & 0xffff_ffff {
        return 0;
    }
    let Some(buf) = scratch(Slot::Sched) else {
        return 0;
    };
    let o = offsets();
    let task: u64 = ctx.arg(0);
    let mut w = Writer::new(buf, Slot::Sched);
    fill_header(w.header(), o, KIND_EXIT);
    w.header().args[0] = read::<i32>(task + o.task_exit_code as u64) as u32 as u64;
    let (ptr, len) = w.finish();
    emit(ptr, len, KIND_EXIT);
    0
}

/// sched_process_fork(struct task_struct *parent, struct task_struct *child)
#[raw_tracepoint(tracepoint = "sched_process_fork")]
pub fn sched_process_fork(ctx: RawTracePointContext) -> u32 {
    if !enabled(KIND_FORK) || excluded() {
        return 0;
    }
    let Some(buf) = scratch(Slot::Sched) else {
        return 0;
    };
    let o = offsets();
    let child: u64 = ctx.arg(1);
    let mut w = Writer::new(buf, Slot::Sched);
    fill_header(w.header(), o, KIND_FORK);
    let h = w.header();
    h.args[0] = read::<i32>(child + o.task_pid as u64) as u32 as u64;
    h.args[1] = read::<i32>(child + o.task_tgid as u64) as u32 as u64;
    if let Some(stash) = STASH.get_ptr(bpf_get_current_pid_tgid()) {
        let stash = unsafe { *stash };
        h.args[3] = stash.nr;
        let mut flags = stash.args[0];
        if let Some(spec) = SPECS.get(stash.nr as u32)
            && spec.blob_arg != NO_ARG
        {
            let ptr = arg(&stash.args, spec.blob_arg);
            flags = unsafe { bpf_probe_read_user(ptr as *const u64) }.unwrap_or(0);
        }
        h.args[2] = flags;
    }
    let (ptr, len) = w.finish();
    emit(ptr, len, KIND_FORK);
    0
}
