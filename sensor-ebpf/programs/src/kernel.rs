//! Reading kernel structs through offsets the host resolved from BTF.

use aya_ebpf::helpers::{
    bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_probe_read_kernel,
    generated::{bpf_get_current_cgroup_id, bpf_get_current_task, bpf_ktime_get_boot_ns},
};
pub use harrier_sensor_common::Offsets;
use harrier_sensor_common::{FdInfo, RecordHeader};

/// Field offsets, overridden by the host at load time (read-only data).
#[unsafe(no_mangle)]
static OFFSETS: Offsets = Offsets {
    task_real_parent: 0,
    task_tgid: 0,
    task_cred: 0,
    task_mm: 0,
    task_fs: 0,
    task_files: 0,
    task_exit_code: 0,
    cred_uid: 0,
    cred_euid: 0,
    cred_gid: 0,
    cred_egid: 0,
    mm_arg_start: 0,
    mm_arg_end: 0,
    mm_env_start: 0,
    mm_env_end: 0,
    bprm_file: 0,
    bprm_filename: 0,
    file_inode: 0,
    file_path: 0,
    file_private_data: 0,
    inode_mode: 0,
    inode_ino: 0,
    inode_sb: 0,
    inode_mtime_sec: 0,
    inode_mtime_nsec: 0,
    sb_dev: 0,
    fs_pwd: 0,
    path_mnt: 0,
    path_dentry: 0,
    dentry_parent: 0,
    dentry_name: 0,
    vfsmount_root: 0,
    mount_mnt: 0,
    mount_parent: 0,
    mount_mountpoint: 0,
    files_fdt: 0,
    fdt_max_fds: 0,
    fdt_fd: 0,
    socket_type: 0,
    socket_sk: 0,
    sk_family: 0,
    sk_daddr: 0,
    sk_saddr: 0,
    sk_dport: 0,
    sk_num: 0,
    sk_v6_daddr: 0,
    sk_v6_saddr: 0,
    task_pid: 0,
    vma_file: 0,
    _pad: 0,
};

/// The offsets. The pointer is read volatilely so the compiler cannot fold the
/// placeholder values above; the loader rewrites them before loading.
#[inline(always)]
pub fn offsets() -> &'static Offsets {
    let ptr: *const Offsets = &raw const OFFSETS;
    unsafe { &*core::ptr::read_volatile(&ptr) }
}

/// Read a `T` from kernel memory, zero on failure.
#[inline(always)]
pub fn read<T: Copy + Default>(addr: u64) -> T {
    if addr == 0 {
        return T::default();
    }
    unsafe { bpf_probe_read_kernel(addr as *const T) }.unwrap_or_default()
}

/// Read a pointer from kernel memory, 0 on failure.
#[inline(always)]
pub fn read_ptr(addr: u64) -> u64 {
    read::<u64>(addr)
}

/// The current task_struct.
#[inline(always)]
pub fn current_task() -> u64 {
    unsafe { bpf_get_current_task() }
}

/// Fill the process part of a record header from the current task.
#[inline(always)]
pub fn fill_header(h: &mut RecordHeader, o: &Offsets, kind: u8) {
    let task = current_task();
    let pid_tgid = bpf_get_current_pid_tgid();
    h.kind = kind;
    h.flags = 0;
    h.nr = 0;
    h.pid = (pid_tgid >> 32) as u32;
    h.tid = pid_tgid as u32;
    let parent = read_ptr(task + o.task_real_parent as u64);
    h.ppid = read::<u32>(parent + o.task_tgid as u64);
    let cred = read_ptr(task + o.task_cred as u64);
    h.uid = read::<u32>(cred + o.cred_uid as u64);
    h.euid = read::<u32>(cred + o.cred_euid as u64);
    h.gid = read::<u32>(cred + o.cred_gid as u64);
    h.egid = read::<u32>(cred + o.cred_egid as u64);
    h._pad = 0;
    h.boot_ns = unsafe { bpf_ktime_get_boot_ns() };
    h.ret = 0;
    h.args = [0; 6];
    h.comm = bpf_get_current_comm().unwrap_or_default();
    h.cgroup_id = unsafe { bpf_get_current_cgroup_id() };
}

/// The `struct file *` behind `fd` in the current task, 0 if none.
#[inline(always)]
pub fn fd_file(o: &Offsets, fd: u64) -> u64 {
    let fd = fd as i64;
    if fd < 0 {
        return 0;
    }
    let files = read_ptr(current_task() + o.task_files as u64);
    let fdt = read_ptr(files + o.files_fdt as u64);
    let max = read::<u32>(fdt + o.fdt_max_fds as u64) as i64;
    if fd >= max {
        return 0;
    }
    let array = read_ptr(fdt + o.fdt_fd as u64);
    read_ptr(array + (fd as u64) * 8)
}

/// The inode mode of an open file.
#[inline(always)]
pub fn file_mode(o: &Offsets, file: u64) -> u32 {
    let inode = read_ptr(file + o.file_inode as u64);
    read::<u16>(inode + o.inode_mode as u64) as u32
}

/// `S_IFSOCK` test on an inode mode.
#[inline(always)]
pub fn is_socket(mode: u32) -> bool {
    mode & 0o170000 == 0o140000
}

/// `S_IFREG` test on an inode mode.
#[inline(always)]
pub fn is_regular(mode: u32) -> bool {
    mode & 0o170000 == 0o100000
}

/// Describe an open file: mode, and for sockets family, type, ports and addresses.
#[inline(always)]
pub fn fd_info(o: &Offsets, file: u64) -> FdInfo {
    let mut info = FdInfo {
        mode: file_mode(o, file),
        ..FdInfo::default()
    };
    if !is_socket(info.mode) {
        return info;
    }
    let socket = read_ptr(file + o.file_private_data as u64);
    info.sock_type = read::<u16>(socket + o.socket_type as u64);
    let sk = read_ptr(socket + o.socket_sk as u64);
    if sk == 0 {
        return info;
    }
    info.family = read::<u16>(sk + o.sk_family as u64);
    info.dport = u16::from_be(read::<u16>(sk + o.sk_dport as u64));
    info.sport = read::<u16>(sk + o.sk_num as u64);
    if info.family == 10 {
        info.daddr = read::<[u8; 16]>(sk + o.sk_v6_daddr as u64);
        info.saddr = read::<[u8; 16]>(sk + o.sk_v6_saddr as u64);
    } else {
        let d = read::<[u8; 4]>(sk + o.sk_daddr as u64);
        let s = read::<[u8; 4]>(sk + o.sk_saddr as u64);
        info.daddr[..4].copy_from_slice(&d);
        info.saddr[..4].copy_from_slice(&s);
    }
    info
}
