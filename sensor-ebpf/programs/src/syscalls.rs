//! Every syscall-based family, driven by the host's [`SyscallSpec`] table.
//!
//! `sys_enter` keeps the arguments of hooked, enabled syscalls; `sys_exit`
//! builds the record (strings, addresses, fd details) with the result and emits it.
//! Syscalls whose kind is off cost one array lookup.

use core::ffi::c_void;

use aya_ebpf::{
    helpers::{
        bpf_get_current_pid_tgid, bpf_probe_read_kernel, bpf_probe_read_user,
        bpf_probe_read_user_str_bytes,
        generated::{bpf_find_vma, bpf_get_current_task_btf},
    },
    macros::raw_tracepoint,
    maps::lpm_trie::Key,
    programs::RawTracePointContext,
};
use harrier_sensor_common::{
    BLOB_MAX, MAX_SYSCALLS, NO_ARG, NO_BASE, NO_KIND, OPEN_PREFIX_MAX, OPEN_WRITE_FLAGS,
    PAYLOAD_MAX, REC_HAS_RESULT, RECV_MAX, SOCKADDR_MAX, STR_MAX, SyscallSpec, addr_mode, fd_mode,
    filter, payload_mode, tag,
};

use crate::{
    kernel::{
        Offsets, current_task, fd_file, fd_info, file_mode, fill_header, is_regular, offsets,
        read_ptr,
    },
    maps::{OPEN_PREFIXES, SPECS, STASH, Slot, Stash, WRITTEN, emit, enabled, excluded, scratch},
    writer::Writer,
};

/// x86_64 `struct pt_regs` offset of r10, the first of the argument registers in memory order.
const ARG_REGS_BASE: u64 = 56;
/// x86_64 `struct pt_regs` offset of `orig_ax` (the syscall number).
const ORIG_AX: usize = 120;
/// `AT_FDCWD` as the kernel sees it in a register.
const AT_FDCWD: i32 = -100;
/// `PROT_EXEC`.
const PROT_EXEC: u64 = 4;
/// `SOCK_DGRAM`.
const SOCK_DGRAM: u16 = 2;
/// `sizeof(struct msghdr)`: where `msg_len` sits in a `struct mmsghdr`.
const MMSGHDR_LEN_AT: u64 = 56;

#[inline(always)]
fn spec_for(nr: u64) -> Option<&'static SyscallSpec> {
    if nr >= MAX_SYSCALLS as u64 {
        return None;
    }
    let spec = SPECS.get(nr as u32)?;
    if spec.kind == NO_KIND {
        return None;
    }
    if enabled(spec.kind) || (spec.kind2 != NO_KIND && enabled(spec.kind2)) {
        Some(spec)
    } else {
        None
    }
}

/// Argument `idx` (0 when out of range). A match, because the verifier refuses
/// variable-offset reads from the stack.
#[inline(always)]
pub fn arg(args: &[u64; 6], idx: u8) -> u64 {
    match idx {
        0 => args[0],
        1 => args[1],
        2 => args[2],
        3 => args[3],
        4 => args[4],
        5 => args[5],
        _ => 0,
    }
}

/// sys_enter(struct pt_regs *regs, long id)
#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn sys_enter(ctx: RawTracePointContext) -> u32 {
    let nr: u64 = ctx.arg(1);
    let Some(spec) = spec_for(nr) else { return 0 };
    let regs: u64 = ctx.arg(0);
    // pt_regs from r10 (@56) to di (@112): r10 r9 r8 ax cx dx si di.
    let regs: [u64; 8] =
        unsafe { bpf_probe_read_kernel((regs + ARG_REGS_BASE) as *const [u64; 8]) }
            .unwrap_or([0; 8]);
    let args = [regs[7], regs[6], regs[5], regs[0], regs[2], regs[1]];
    match spec.filter {
        filter::STD_FD if arg(&args, spec.filter_arg) > 2 => return 0,
        filter::PROT_EXEC => {
            if arg(&args, spec.filter_arg) & PROT_EXEC == 0 {
                return 0;
            }
            if spec.fd_arg != NO_ARG
                && spec.fd_mode & fd_mode::VMA == 0
                && (arg(&args, spec.fd_arg) as i32) < 0
            {
                return 0;
            }
        }
        filter::OPEN_READ => {
            if arg(&args, spec.filter_arg) & OPEN_WRITE_FLAGS == 0
                && !wanted_read_path(arg(&args, spec.str_args[0]))
            {
                return 0;
            }
        }
        filter::DNS_REPLY if !may_receive_dns(&args, spec) => return 0,
        _ => {}
    }
    // After the filters: they are cheaper than this hash lookup and reject more.
    if excluded() {
        return 0;
    }
    let stash = Stash { nr, args };
    let _ = STASH.insert(bpf_get_current_pid_tgid(), stash, 0);
    0
}

/// Whether some detector wants a read-only open of the user path at `ptr`:
/// relative paths always (their directory is known only at exit), absolute
/// ones when they start with a prefix in [`OPEN_PREFIXES`], or may reach one
/// through a dot segment anywhere in them or through `/proc/<pid>/root`
/// (user space folds them and decides).
#[inline(always)]
fn wanted_read_path(ptr: u64) -> bool {
    let mut key = Key::new((OPEN_PREFIX_MAX * 8) as u32, [0u8; OPEN_PREFIX_MAX]);
    let Ok(head) = (unsafe { bpf_probe_read_user_str_bytes(ptr as *const u8, &mut key.data) }) else {
        // Unreadable now: let the exit program report what it can.
        return true;
    };
    let head_len = head.len();
    key.data[0] != b'/'
        || OPEN_PREFIXES.get(&key).is_some()
        || through_proc_root(&key.data)
        || has_dot_segment(&key.data)
        || dot_segment_further(ptr, head_len, &mut key.data)
}

/// Chunks of a path the dot-segment scan reads, and how far apart they
/// start: [`has_dot_segment`] looks at slashes up to 4 bytes before a
/// chunk's end, so consecutive chunks overlap by 3 bytes.
const DOT_SCAN_CHUNKS: usize = 4;
const DOT_SCAN_STRIDE: usize = OPEN_PREFIX_MAX - 3;

/// Whether a path longer than one chunk (`head_len` bytes were read of it)
/// holds a dot segment after its first chunk, or is longer than the scan
/// reads (then user space, which sees all of it, decides). `buf` is reused.
#[inline(always)]
fn dot_segment_further(ptr: u64, head_len: usize, buf: &mut [u8; OPEN_PREFIX_MAX]) -> bool {
    let mut len = head_len;
    for chunk in 1..DOT_SCAN_CHUNKS {
        if len < OPEN_PREFIX_MAX - 1 {
            // The path ended in the chunk already scanned.
            return false;
        }
        let at = ptr + (chunk * DOT_SCAN_STRIDE) as u64;
        match unsafe { bpf_probe_read_user_str_bytes(at as *const u8, buf) } {
            Ok(read) => len = read.len(),
            Err(_) => return true,
        }
        if has_dot_segment(buf) {
            return true;
        }
    }
    len >= OPEN_PREFIX_MAX - 1
}

/// Whether a path under `/proc/` goes through a `root` component
/// (`/proc/self/root/etc/shadow`, `/proc/1/task/1/root/...`): the file is
/// another path from that process's root.
#[inline(always)]
fn through_proc_root(path: &[u8; OPEN_PREFIX_MAX]) -> bool {
    // Byte by byte: slice comparisons would call memcmp, which eBPF lacks.
    let proc_dir = [b'/', b'p', b'r', b'o', b'c', b'/'];
    let mut i = 0;
    while i < proc_dir.len() {
        if path[i] != proc_dir[i] {
            return false;
        }
        i += 1;
    }
    let mut i = 5;
    while i + 5 < OPEN_PREFIX_MAX {
        if path[i] == 0 {
            return false;
        }
        if path[i] == b'/'
            && path[i + 1] == b'r'
            && path[i + 2] == b'o'
            && path[i + 3] == b'o'
            && path[i + 4] == b't'
            && (path[i + 5] == b'/' || path[i + 5] == 0)
        {
            return true;
        }
        i += 1;
    }
    false
}

/// Whether a chunk of a path holds a `.` or `..` component or an empty
/// one (`//`): `/tmp/../etc/shadow` starts with no watched prefix but
/// opens a watched file. Hidden names (`/.ssh`, `/..x`) are not dot
/// segments. Slashes up to the chunk's fourth-last byte are looked at.
#[inline(always)]
fn has_dot_segment(path: &[u8; OPEN_PREFIX_MAX]) -> bool {
    let end = |b: u8| b == b'/' || b == 0;
    let mut i = 0;
    while i + 3 < OPEN_PREFIX_MAX {
        if path[i] == 0 {
            return false;
        }
        if path[i] == b'/' {
            let (a, b, c) = (path[i + 1], path[i + 2], path[i + 3]);
            if a == b'/' || (a == b'.' && (end(b) || (b == b'.' && end(c)))) {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// Could a receive on the fd argument bring a DNS answer? An IPv4/IPv6
/// datagram socket; without an address argument (read), connected to port 53.
/// Checked at entry so that a hooked `read` of anything else costs no stash.
#[inline(always)]
fn may_receive_dns(args: &[u64; 6], spec: &SyscallSpec) -> bool {
    let o = offsets();
    let file = fd_file(o, arg(args, spec.fd_arg));
    if file == 0 {
        return false;
    }
    let info = fd_info(o, file);
    if info.sock_type != SOCK_DGRAM || (info.family != 2 && info.family != 10) {
        return false;
    }
    spec.addr_mode != addr_mode::NONE || info.dport == 53
}

/// sys_exit(struct pt_regs *regs, long ret)
#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn sys_exit(ctx: RawTracePointContext) -> u32 {
    let regs: u64 = ctx.arg(0);
    let nr =
        unsafe { bpf_probe_read_kernel((regs + ORIG_AX as u64) as *const u64) }.unwrap_or(u64::MAX);
    let Some(spec) = spec_for(nr) else { return 0 };
    let pid_tgid = bpf_get_current_pid_tgid();
    let Some(stash) = STASH.get_ptr(pid_tgid) else {
        return 0;
    };
    let stash = unsafe { *stash };
    let _ = STASH.remove(pid_tgid);
    if stash.nr != nr || spec.filter == filter::STASH_ONLY {
        return 0;
    }
    let ret: i64 = ctx.arg(1);
    let o = offsets();
    let args = stash.args;

    let fd_file_ptr = if spec.fd_arg == NO_ARG {
        0
    } else if spec.fd_mode & fd_mode::VMA != 0 {
        vma_file(arg(&args, spec.fd_arg))
    } else {
        fd_file(o, arg(&args, spec.fd_arg))
    };
    if spec.fd_mode & fd_mode::VMA != 0 && fd_file_ptr == 0 {
        // An anonymous mapping (JIT code): not a file being made executable.
        return 0;
    }
    if spec.filter == filter::FIRST_WRITE
        && !first_write(o, pid_tgid, &args, spec, ret, fd_file_ptr)
    {
        return 0;
    }
    if spec.filter == filter::DNS && !is_dns(o, &args, spec, fd_file_ptr) {
        return 0;
    }
    if spec.filter == filter::DNS_REPLY && (ret <= 0 || !is_dns(o, &args, spec, fd_file_ptr)) {
        return 0;
    }

    let Some(buf) = scratch(Slot::Syscall) else {
        return 0;
    };
    let mut w = Writer::new(buf, Slot::Syscall);
    let h = w.header();
    fill_header(h, o, spec.kind);
    h.flags = REC_HAS_RESULT;
    h.nr = nr as u16;
    h.ret = ret;
    h.args = args;

    put_strings(&mut w, o, &args, spec);
    let (data, len) = put_address(&mut w, &args, spec);
    if spec.payload_arg != NO_ARG {
        let len = arg(&args, spec.payload_arg.wrapping_add(1));
        put_payload(&mut w, &args, spec, ret, arg(&args, spec.payload_arg), len);
    } else if data != 0 {
        put_payload(&mut w, &args, spec, ret, data, len);
    }
    if fd_file_ptr != 0 {
        if spec.fd_mode & fd_mode::INFO != 0 {
            w.put(tag::FD_INFO, &fd_info(o, fd_file_ptr));
        }
        if spec.fd_mode & fd_mode::PATH != 0 {
            put_file_path(&mut w, o, tag::FD_PATH, fd_file_ptr);
        }
    }
    if spec.blob_arg != NO_ARG {
        let len = spec.blob_len as u64;
        w.put_bytes::<BLOB_MAX>(tag::BLOB, arg(&args, spec.blob_arg), len, true);
    }
    let (ptr, len) = w.finish();
    emit(ptr, len, spec.kind);
    0
}

/// The file mapped at user address `addr` in the current task, 0 if none.
#[inline(always)]
fn vma_file(addr: u64) -> u64 {
    let mut file: u64 = 0;
    unsafe {
        bpf_find_vma(
            bpf_get_current_task_btf(),
            addr,
            vma_step as *const () as *mut c_void,
            &mut file as *mut u64 as *mut c_void,
            0,
        )
    };
    file
}

/// `bpf_find_vma` callback: keep the vma's file.
#[inline(never)]
extern "C" fn vma_step(_task: *mut c_void, vma: *mut c_void, ctx: *mut c_void) -> i64 {
    let file = read_ptr(vma as u64 + offsets().vma_file as u64);
    unsafe { *(ctx as *mut u64) = file };
    0
}

/// First successful write to a regular file per (process, fd, file)?
#[inline(always)]
fn first_write(
    o: &Offsets,
    pid_tgid: u64,
    args: &[u64; 6],
    spec: &SyscallSpec,
    ret: i64,
    file: u64,
) -> bool {
    if ret <= 0 || file == 0 || !is_regular(file_mode(o, file)) {
        return false;
    }
    let fd = arg(args, spec.fd_arg) & 0xffff_ffff;
    let key = (pid_tgid & 0xffff_ffff_0000_0000) | fd;
    if let Some(seen) = WRITTEN.get_ptr(key)
        && unsafe { *seen } == file
    {
        return false;
    }
    let _ = WRITTEN.insert(key, file, 0);
    true
}

/// Is the destination port 53 (sockaddr argument, or the connected peer)?
#[inline(always)]
fn is_dns(o: &Offsets, args: &[u64; 6], spec: &SyscallSpec, file: u64) -> bool {
    let mut addr = arg(args, spec.addr_arg);
    if spec.addr_mode == addr_mode::MSGHDR && addr != 0 {
        addr = unsafe { bpf_probe_read_user(addr as *const u64) }.unwrap_or(0);
    }
    if addr != 0 {
        let head = unsafe { bpf_probe_read_user(addr as *const [u8; 4]) }.unwrap_or([0; 4]);
        let family = u16::from_ne_bytes([head[0], head[1]]);
        if family == 2 || family == 10 {
            return u16::from_be_bytes([head[2], head[3]]) == 53;
        }
    }
    file != 0 && fd_info(o, file).dport == 53
}

/// String arguments, each with the base directory when it is relative.
#[inline(always)]
fn put_strings(w: &mut Writer, o: &Offsets, args: &[u64; 6], spec: &SyscallSpec) {
    for i in 0..3usize {
        let idx = spec.str_args[i];
        if idx == NO_ARG {
            continue;
        }
        let dirfd = spec.dirfd_args[i];
        let Some(at) = w.put_str::<STR_MAX>(tag::STR0 + i as u8, arg(args, idx), true) else {
            continue;
        };
        if dirfd == NO_BASE || w.byte_at(at) == b'/' {
            continue;
        }
        let base_tag = tag::BASE0 + i as u8;
        // Pick the base directory first so there is one walk per string, not two.
        let path = if dirfd == NO_ARG || arg(args, dirfd) as i32 == AT_FDCWD {
            let fs = read_ptr(current_task() + o.task_fs as u64);
            fs + o.fs_pwd as u64
        } else {
            let file = fd_file(o, arg(args, dirfd));
            if file == 0 {
                continue;
            }
            file + o.file_path as u64
        };
        w.put_dpath(
            base_tag,
            o,
            read_ptr(path + o.path_dentry as u64),
            read_ptr(path + o.path_mnt as u64),
        );
    }
}

/// The path of an open file.
#[inline(always)]
fn put_file_path(w: &mut Writer, o: &Offsets, tag: u8, file: u64) {
    let path = file + o.file_path as u64;
    w.put_dpath(
        tag,
        o,
        read_ptr(path + o.path_dentry as u64),
        read_ptr(path + o.path_mnt as u64),
    );
}

/// The data sent or received at `data` in a buffer of `len` bytes, bounded per
/// [`payload_mode`]: what was sent, or what arrived (the result).
#[inline(always)]
fn put_payload(w: &mut Writer, args: &[u64; 6], spec: &SyscallSpec, ret: i64, data: u64, len: u64) {
    if spec.payload_mode == payload_mode::SENT {
        w.put_bytes::<PAYLOAD_MAX>(tag::PAYLOAD, data, len, true);
        return;
    }
    let got = if spec.payload_mode == payload_mode::RECEIVED_MMSG {
        let at = arg(args, spec.addr_arg) + MMSGHDR_LEN_AT;
        unsafe { bpf_probe_read_user(at as *const u32) }.unwrap_or(0) as u64
    } else {
        ret as u64
    };
    let len = if got < len { got } else { len };
    w.put_bytes::<RECV_MAX>(tag::PAYLOAD, data, len, true);
}

/// The socket address argument. For a `struct msghdr`, returns its first
/// iovec (base, length), the payload; otherwise (0, 0).
#[inline(always)]
fn put_address(w: &mut Writer, args: &[u64; 6], spec: &SyscallSpec) -> (u64, u64) {
    match spec.addr_mode {
        addr_mode::PTR_LEN => {
            let len = arg(args, spec.addr_len_arg) & 0xffff_ffff;
            w.put_bytes::<SOCKADDR_MAX>(tag::SOCKADDR, arg(args, spec.addr_arg), len, true);
            (0, 0)
        }
        addr_mode::PTR_LEN_PTR => {
            let len_ptr = arg(args, spec.addr_len_arg);
            if len_ptr == 0 {
                return (0, 0);
            }
            let len = unsafe { bpf_probe_read_user(len_ptr as *const u32) }.unwrap_or(0);
            w.put_bytes::<SOCKADDR_MAX>(tag::SOCKADDR, arg(args, spec.addr_arg), len as u64, true);
            (0, 0)
        }
        addr_mode::MSGHDR => {
            let msg = arg(args, spec.addr_arg);
            if msg == 0 {
                return (0, 0);
            }
            // struct msghdr: msg_name @0, msg_namelen @8, msg_iov @16.
            let head = unsafe { bpf_probe_read_user(msg as *const [u64; 3]) }.unwrap_or([0; 3]);
            w.put_bytes::<SOCKADDR_MAX>(tag::SOCKADDR, head[0], head[1] & 0xffff_ffff, true);
            // struct iovec: iov_base @0, iov_len @8.
            let iov = unsafe { bpf_probe_read_user(head[2] as *const [u64; 2]) }.unwrap_or([0; 2]);
            (iov[0], iov[1])
        }
        _ => (0, 0),
    }
}
