//! Records and configuration shared by Harrier's eBPF programs and the host sensor.
//!
//! Everything here is `#[repr(C)]` and `no_std` so both sides agree byte for byte.
//!
//! A record is a [`RecordHeader`] followed by zero or more items, each an
//! [`ItemHeader`] and `len` payload bytes, padded to 8 bytes. Every event family
//! uses the same record shape: the header carries the process, the syscall
//! number, up to six raw arguments and the result; items carry strings, socket
//! addresses, paths walked from kernel dentries and small fixed structs.
#![no_std]
#![deny(missing_docs)]

/// Number of slots in the in-kernel enable map and the drop counters (≥ number of event kinds).
pub const MAX_KINDS: u32 = 32;
/// Number of entries in the syscall spec table (syscall numbers below this are hookable).
pub const MAX_SYSCALLS: u32 = 512;
/// Largest record the programs emit, in bytes (a power of two).
pub const RECORD_MAX: usize = 8192;
/// Size of the per-CPU scratch buffer records are built in (room for one item past `RECORD_MAX`).
pub const SCRATCH_SIZE: usize = RECORD_MAX * 2;
/// Largest payload of one user string item (paths, names).
pub const STR_MAX: usize = 512;
/// Largest payload of the argv and environment items of an exec record.
pub const ARGS_MAX: usize = 2048;
/// When argv is longer than [`ARGS_MAX`], the bytes kept of its head and of its
/// tail (items `EXEC_ARGV` and `EXEC_ARGV_TAIL`), so padding cannot push an
/// indicator at the end of a command line out of sight.
pub const ARGS_HALF: usize = ARGS_MAX / 2;
/// Largest payload of the environment item of an exec record.
pub const ENV_MAX: usize = 4096;
/// Largest single path component read from a dentry.
pub const NAME_MAX: usize = 256;
/// Most path components copied leaf first from a dentry walk; a deeper path
/// keeps these and its [`PATH_TOP`] components nearest the root.
pub const PATH_DEPTH: u32 = 24;
/// Most bytes of leaf-first components copied from a dentry walk; past them
/// (or [`PATH_DEPTH`] components) a path keeps only its [`PATH_TOP`] top components.
pub const PATH_LEAF_BYTES: usize = 1536;
/// Components nearest the root kept of a path deeper than [`PATH_DEPTH`]
/// components or than the record's room (the mount point and first directories).
pub const PATH_TOP: usize = 4;
/// Most steps of a dentry walk (components and mount crossings): enough for a
/// path of `PATH_MAX` bytes of one-letter components.
pub const PATH_STEPS: u32 = 4160;
/// Largest socket address captured.
pub const SOCKADDR_MAX: usize = 128;
/// Largest payload prefix captured from a send (DNS queries).
pub const PAYLOAD_MAX: usize = 256;
/// Largest prefix of a received datagram captured (DNS answers).
pub const RECV_MAX: usize = 2048;
/// Largest fixed struct read from a user pointer (e.g. `struct open_how`).
pub const BLOB_MAX: usize = 64;
/// Value meaning "no argument" in a [`SyscallSpec`] argument index.
pub const NO_ARG: u8 = 0xff;
/// Value of a `dirfd_args` entry meaning "the string is not a path; never resolve it".
pub const NO_BASE: u8 = 0xfe;
/// Value meaning "no kind" in a [`SyscallSpec`] kind.
pub const NO_KIND: u8 = 0xff;

/// `RecordHeader::flags`: the record comes from a syscall exit (`ret` is valid).
pub const REC_HAS_RESULT: u8 = 1;
/// `RecordHeader::flags`: the record was cut short because it hit [`RECORD_MAX`].
pub const REC_TRUNCATED: u8 = 2;

/// `ItemHeader::flags`: the payload was cut at its bound.
pub const ITEM_TRUNCATED: u8 = 1;
/// `ItemHeader::flags`: a dentry path whose middle components were left out:
/// the leaf-first components kept, an empty component (a lone NUL), then the
/// [`PATH_TOP`] components nearest the root, leaf first.
pub const ITEM_CUT: u8 = 2;

/// Item tags: what an item's payload is.
pub mod tag {
    /// Exec: the filename given to execve (kernel string, NUL-terminated).
    pub const EXEC_FILENAME: u8 = 1;
    /// Exec: the argv region, NUL-separated (its first [`crate::ARGS_HALF`] bytes when longer
    /// than [`crate::ARGS_MAX`]).
    pub const EXEC_ARGV: u8 = 2;
    /// Exec: the environment region, NUL-separated.
    pub const EXEC_ENV: u8 = 3;
    /// Exec: the working directory, as dentry components leaf first.
    pub const EXEC_CWD: u8 = 4;
    /// Exec: an [`crate::ExecInfo`].
    pub const EXEC_INFO: u8 = 5;
    /// Exec: the executable's own path (symlinks resolved), dentry components leaf first.
    pub const EXEC_EXE: u8 = 6;
    /// Exec: the last [`crate::ARGS_HALF`] bytes of an argv region longer than [`crate::ARGS_MAX`].
    pub const EXEC_ARGV_TAIL: u8 = 7;
    /// Syscall string argument 0..=2 (user string, NUL-terminated).
    pub const STR0: u8 = 10;
    /// Base directory for a relative `STR0+i`, as dentry components leaf first.
    pub const BASE0: u8 = 20;
    /// A socket address (raw `struct sockaddr` bytes).
    pub const SOCKADDR: u8 = 30;
    /// A prefix of the data sent or received (DNS).
    pub const PAYLOAD: u8 = 31;
    /// The path of the file behind the spec's fd argument, dentry components leaf first.
    pub const FD_PATH: u8 = 32;
    /// An [`crate::FdInfo`] about the spec's fd argument.
    pub const FD_INFO: u8 = 33;
    /// Raw bytes of a fixed struct read from a user pointer (`open_how`, `clone_args`).
    pub const BLOB: u8 = 34;
}

/// Filters applied in the kernel before a syscall record is emitted (`SyscallSpec::filter`).
pub mod filter {
    /// Emit every call.
    pub const NONE: u8 = 0;
    /// Only when `args[filter_arg] <= 2` (dup2/dup3 onto stdin/stdout/stderr).
    pub const STD_FD: u8 = 1;
    /// Only when `args[filter_arg] & PROT_EXEC` and the fd argument is >= 0 (mmap of a file).
    pub const PROT_EXEC: u8 = 2;
    /// Only the first successful write per (process, fd, file) to a regular file.
    pub const FIRST_WRITE: u8 = 3;
    /// Only when the destination port (sockaddr or connected peer) is 53.
    pub const DNS: u8 = 4;
    /// Keep the arguments for the fork hook; emit nothing at syscall exit.
    pub const STASH_ONLY: u8 = 5;
    /// An open: when `args[filter_arg]` (the flags) asks neither to write,
    /// create nor truncate and the path (`str_args[0]`) is absolute, only when
    /// the path starts with a prefix in the `OPEN_PREFIXES` map.
    pub const OPEN_READ: u8 = 6;
    /// A receive (DNS answers): at entry, only when the fd argument is an
    /// IPv4/IPv6 datagram socket (and, without an address argument, connected
    /// to port 53); at exit, only when data arrived from port 53.
    pub const DNS_REPLY: u8 = 7;
}

/// Where the length of the payload a spec captures comes from (`SyscallSpec::payload_mode`).
pub mod payload_mode {
    /// Data sent: the argument after the payload pointer (or the first iovec's length).
    pub const SENT: u8 = 0;
    /// Data received: the syscall result, bounded by the buffer (or first iovec) length.
    pub const RECEIVED: u8 = 1;
    /// Data received by recvmmsg: the first `struct mmsghdr`'s `msg_len`.
    pub const RECEIVED_MMSG: u8 = 2;
}

/// Bytes of a path the kernel compares with the `OPEN_PREFIXES` map; longer
/// prefixes are cut to this length there (the host filters exactly).
pub const OPEN_PREFIX_MAX: usize = 64;

/// Most prefixes the `OPEN_PREFIXES` map holds; beyond, the filter is off.
pub const OPEN_PREFIX_ENTRIES: u32 = 1024;

/// `O_WRONLY | O_RDWR | O_CREAT | O_TRUNC`: an open with any of these is
/// never filtered out, so the host always learns of written files (the
/// contract's rule, wit/read-path-filter.rs; a host test keeps them equal).
pub const OPEN_WRITE_FLAGS: u64 = 0o1 | 0o2 | 0o100 | 0o1000;

/// How a spec's socket address argument is laid out (`SyscallSpec::addr_mode`).
pub mod addr_mode {
    /// No address.
    pub const NONE: u8 = 0;
    /// `addr_arg` points to a sockaddr, `addr_len_arg` is its length.
    pub const PTR_LEN: u8 = 1;
    /// `addr_arg` points to a sockaddr, `addr_len_arg` points to its length (accept; read at exit).
    pub const PTR_LEN_PTR: u8 = 2;
    /// `addr_arg` points to a `struct msghdr` (sendmsg): name and first iovec.
    pub const MSGHDR: u8 = 3;
}

/// `SyscallSpec::fd_mode` bits: what to learn about the fd argument.
pub mod fd_mode {
    /// Walk the file's path.
    pub const PATH: u8 = 1;
    /// Fill an [`crate::FdInfo`] (inode mode, socket family/type/addresses).
    pub const INFO: u8 = 2;
    /// The "fd" argument is a user address: describe the file mapped there (mprotect).
    pub const VMA: u8 = 4;
}

/// How one syscall is captured; the host fills a table of these indexed by syscall number.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallSpec {
    /// Event kind index, or [`NO_KIND`] when the syscall is not hooked.
    pub kind: u8,
    /// A second kind that also switches this syscall on (e.g. proc-mem writes), or [`NO_KIND`].
    pub kind2: u8,
    /// One of [`filter`].
    pub filter: u8,
    /// Argument the filter looks at.
    pub filter_arg: u8,
    /// Arguments that are user strings (paths, names), or [`NO_ARG`].
    pub str_args: [u8; 3],
    /// For each string argument, the dirfd argument it is relative to, or [`NO_ARG`] (cwd).
    pub dirfd_args: [u8; 3],
    /// One of [`addr_mode`].
    pub addr_mode: u8,
    /// Argument holding the sockaddr (or msghdr) pointer.
    pub addr_arg: u8,
    /// Argument holding the sockaddr length (or pointer to it).
    pub addr_len_arg: u8,
    /// Argument pointing to data sent (payload prefix captured), or [`NO_ARG`].
    pub payload_arg: u8,
    /// Argument holding an fd to describe, or [`NO_ARG`].
    pub fd_arg: u8,
    /// [`fd_mode`] bits.
    pub fd_mode: u8,
    /// Argument pointing to a fixed struct to copy (`BLOB`), or [`NO_ARG`].
    pub blob_arg: u8,
    /// Bytes of the blob to copy (≤ [`BLOB_MAX`]).
    pub blob_len: u8,
    /// One of [`payload_mode`].
    pub payload_mode: u8,
    /// Reserved, zero.
    pub _pad: [u8; 2],
}

impl SyscallSpec {
    /// A spec for a syscall that is not hooked.
    pub const NONE: SyscallSpec = SyscallSpec {
        kind: NO_KIND,
        kind2: NO_KIND,
        filter: filter::NONE,
        filter_arg: NO_ARG,
        str_args: [NO_ARG; 3],
        dirfd_args: [NO_ARG; 3],
        addr_mode: addr_mode::NONE,
        addr_arg: NO_ARG,
        addr_len_arg: NO_ARG,
        payload_arg: NO_ARG,
        fd_arg: NO_ARG,
        fd_mode: 0,
        blob_arg: NO_ARG,
        blob_len: 0,
        payload_mode: payload_mode::SENT,
        _pad: [0; 2],
    };
}

/// Byte offsets of kernel struct fields, resolved by the host from BTF and set as a global.
///
/// A value of [`Offsets::MISSING`] means the field does not exist on this kernel.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offsets {
    /// `task_struct.real_parent`
    pub task_real_parent: u32,
    /// `task_struct.tgid`
    pub task_tgid: u32,
    /// `task_struct.cred`
    pub task_cred: u32,
    /// `task_struct.mm`
    pub task_mm: u32,
    /// `task_struct.fs`
    pub task_fs: u32,
    /// `task_struct.files`
    pub task_files: u32,
    /// `task_struct.exit_code`
    pub task_exit_code: u32,
    /// `cred.uid`
    pub cred_uid: u32,
    /// `cred.euid`
    pub cred_euid: u32,
    /// `cred.gid`
    pub cred_gid: u32,
    /// `cred.egid`
    pub cred_egid: u32,
    /// `mm_struct.arg_start`
    pub mm_arg_start: u32,
    /// `mm_struct.arg_end`
    pub mm_arg_end: u32,
    /// `mm_struct.env_start`
    pub mm_env_start: u32,
    /// `mm_struct.env_end`
    pub mm_env_end: u32,
    /// `linux_binprm.file`
    pub bprm_file: u32,
    /// `linux_binprm.filename`
    pub bprm_filename: u32,
    /// `file.f_inode`
    pub file_inode: u32,
    /// `file.f_path`
    pub file_path: u32,
    /// `file.private_data`
    pub file_private_data: u32,
    /// `inode.i_mode`
    pub inode_mode: u32,
    /// `inode.i_ino`
    pub inode_ino: u32,
    /// `inode.i_sb`
    pub inode_sb: u32,
    /// `inode.i_mtime_sec` (or `__i_mtime.tv_sec` on older kernels)
    pub inode_mtime_sec: u32,
    /// `inode.i_mtime_nsec` (or `__i_mtime.tv_nsec`)
    pub inode_mtime_nsec: u32,
    /// `super_block.s_dev`
    pub sb_dev: u32,
    /// `fs_struct.pwd`
    pub fs_pwd: u32,
    /// `path.mnt`
    pub path_mnt: u32,
    /// `path.dentry`
    pub path_dentry: u32,
    /// `dentry.d_parent`
    pub dentry_parent: u32,
    /// `dentry.d_name.name`
    pub dentry_name: u32,
    /// `vfsmount.mnt_root`
    pub vfsmount_root: u32,
    /// `mount.mnt` (the embedded vfsmount)
    pub mount_mnt: u32,
    /// `mount.mnt_parent`
    pub mount_parent: u32,
    /// `mount.mnt_mountpoint`
    pub mount_mountpoint: u32,
    /// `files_struct.fdt`
    pub files_fdt: u32,
    /// `fdtable.max_fds`
    pub fdt_max_fds: u32,
    /// `fdtable.fd`
    pub fdt_fd: u32,
    /// `socket.type`
    pub socket_type: u32,
    /// `socket.sk`
    pub socket_sk: u32,
    /// `sock.__sk_common.skc_family`
    pub sk_family: u32,
    /// `sock.__sk_common.skc_daddr`
    pub sk_daddr: u32,
    /// `sock.__sk_common.skc_rcv_saddr`
    pub sk_saddr: u32,
    /// `sock.__sk_common.skc_dport`
    pub sk_dport: u32,
    /// `sock.__sk_common.skc_num`
    pub sk_num: u32,
    /// `sock.__sk_common.skc_v6_daddr`
    pub sk_v6_daddr: u32,
    /// `sock.__sk_common.skc_v6_rcv_saddr`
    pub sk_v6_saddr: u32,
    /// `task_struct.pid`
    pub task_pid: u32,
    /// `vm_area_struct.vm_file`
    pub vma_file: u32,
    /// Reserved, zero.
    pub _pad: u32,
}

impl Offsets {
    /// Marks a field that this kernel does not have.
    pub const MISSING: u32 = u32::MAX;
}

/// Fixed header of every record.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecordHeader {
    /// Total record size in bytes, header and items included.
    pub size: u32,
    /// Event kind index (`EventKind::index()`).
    pub kind: u8,
    /// `REC_*` bits.
    pub flags: u8,
    /// Syscall number for syscall records, 0 otherwise.
    pub nr: u16,
    /// Thread-group id.
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// Parent's thread-group id.
    pub ppid: u32,
    /// Real uid.
    pub uid: u32,
    /// Effective uid.
    pub euid: u32,
    /// Real gid.
    pub gid: u32,
    /// Effective gid.
    pub egid: u32,
    /// Reserved, zero.
    pub _pad: u32,
    /// `bpf_ktime_get_boot_ns()` at emission.
    pub boot_ns: u64,
    /// Syscall result (valid with `REC_HAS_RESULT`).
    pub ret: i64,
    /// Raw syscall arguments (or hook-specific values, see each family).
    pub args: [u64; 6],
    /// `comm` of the current task.
    pub comm: [u8; 16],
    /// `bpf_get_current_cgroup_id()`: the task's cgroup in the unified (v2)
    /// hierarchy, equal to the inode number of its cgroup2 directory.
    pub cgroup_id: u64,
}

/// Header of one item following the record header.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ItemHeader {
    /// One of [`tag`].
    pub tag: u8,
    /// `ITEM_*` bits.
    pub flags: u8,
    /// Payload length in bytes (not counting padding).
    pub len: u16,
    /// Reserved, zero.
    pub _pad: u32,
}

/// What the exec hook learns about the executable and the new image.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExecInfo {
    /// `i_mode` of the executable.
    pub mode: u32,
    /// Reserved, zero.
    pub _pad: u32,
    /// `s_dev` of the executable's super block (kernel encoding: major << 20 | minor).
    pub dev: u64,
    /// Inode number of the executable.
    pub inode: u64,
    /// Modification time of the executable, ns since the epoch.
    pub mtime_ns: u64,
    /// Full length of the argv region (to tell truncation).
    pub args_len: u64,
    /// Full length of the environment region.
    pub env_len: u64,
}

/// What the kernel knows about a file descriptor argument.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FdInfo {
    /// `i_mode` of the file's inode (0 if the fd is not open).
    pub mode: u32,
    /// Socket address family (0 if not a socket).
    pub family: u16,
    /// Socket type (SOCK_STREAM, ...).
    pub sock_type: u16,
    /// Peer port, host byte order.
    pub dport: u16,
    /// Local port, host byte order.
    pub sport: u16,
    /// Reserved, zero.
    pub _pad: u32,
    /// Peer address (IPv4 in the first 4 bytes).
    pub daddr: [u8; 16],
    /// Local address (IPv4 in the first 4 bytes).
    pub saddr: [u8; 16],
}

/// Size of [`RecordHeader`].
pub const HEADER_SIZE: usize = core::mem::size_of::<RecordHeader>();
/// Size of [`ItemHeader`].
pub const ITEM_HEADER_SIZE: usize = core::mem::size_of::<ItemHeader>();

#[cfg(feature = "user")]
mod pod {
    // SAFETY: plain #[repr(C)] integers with explicit padding fields.
    unsafe impl aya::Pod for super::SyscallSpec {}
    // SAFETY: plain #[repr(C)] integers with explicit padding fields.
    unsafe impl aya::Pod for super::Offsets {}
}
