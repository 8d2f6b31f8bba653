//! Event families: for each, the syscalls it hooks (the spec table the kernel
//! program follows) and the decoder from raw record to event detail.
//!
//! The process family (exec/exit/fork) also has dedicated kernel programs in
//! sensor-ebpf/programs/src/process.rs; every other family is described only by
//! its [`Hook`] table and runs through the generic syscall programs.

pub mod creds;
pub mod files;
pub mod injection;
pub mod network;
pub mod process;

use harrier_events::{EventDetail, EventKind};
use harrier_sensor_common::{
    BLOB_MAX, MAX_SYSCALLS, NO_ARG, NO_BASE, NO_KIND, SyscallSpec, addr_mode, fd_mode, filter,
};

use crate::decode::RawRecord;

/// One hooked syscall: number (x86_64), name and how the kernel captures it.
#[derive(Clone, Copy, Debug)]
pub struct Hook {
    /// Syscall number.
    pub nr: i64,
    /// Syscall name as reported in events.
    pub name: &'static str,
    /// Capture spec.
    pub spec: SyscallSpec,
}

/// Every hook of every family.
pub fn all_hooks() -> impl Iterator<Item = &'static Hook> {
    process::HOOKS
        .iter()
        .chain(creds::HOOKS)
        .chain(files::HOOKS)
        .chain(injection::HOOKS)
        .chain(network::HOOKS)
}

/// The full table the kernel follows, indexed by syscall number ([`SyscallSpec::NONE`] when unhooked).
pub fn spec_table() -> Vec<SyscallSpec> {
    let mut table = vec![SyscallSpec::NONE; MAX_SYSCALLS as usize];
    for hook in all_hooks() {
        table[hook.nr as usize] = hook.spec;
    }
    table
}

/// Decode a syscall record of `kind` made by syscall `name` into its detail.
/// `None` means the record does not make an event (filtered in user space).
pub fn decode_syscall(kind: EventKind, name: &str, rec: &RawRecord<'_>) -> Option<EventDetail> {
    match kind {
        EventKind::NamespaceChange | EventKind::CredentialChange => creds::decode(kind, name, rec),
        EventKind::FileOpen
        | EventKind::FileWrite
        | EventKind::FileRename
        | EventKind::FileUnlink
        | EventKind::FileChmod
        | EventKind::FileChown
        | EventKind::FileLink
        | EventKind::FileTruncate
        | EventKind::MemfdCreate
        | EventKind::MmapExec => files::decode(kind, name, rec),
        EventKind::Ptrace
        | EventKind::ProcessVmWrite
        | EventKind::Userfaultfd
        | EventKind::ModuleLoad
        | EventKind::ModuleUnload
        | EventKind::BpfCall
        | EventKind::Mount
        | EventKind::Umount => injection::decode(kind, name, rec),
        EventKind::SocketCreate
        | EventKind::NetConnect
        | EventKind::NetAccept
        | EventKind::NetBind
        | EventKind::NetListen
        | EventKind::DnsQuery
        | EventKind::FdRedirect => network::decode(kind, name, rec),
        // Decoded by the Decoder itself, which counts what is malformed.
        EventKind::Exec | EventKind::Exit | EventKind::Fork | EventKind::DnsAnswer => None,
    }
}

/// A const builder for [`SyscallSpec`]s, so family tables read like declarations.
#[derive(Clone, Copy)]
pub struct Spec(pub SyscallSpec);

impl Spec {
    /// A spec emitting `kind`.
    pub const fn new(kind: EventKind) -> Spec {
        let mut s = SyscallSpec::NONE;
        s.kind = kind as u8;
        Spec(s)
    }
    /// Also switched on by `kind`.
    pub const fn also(mut self, kind: EventKind) -> Spec {
        self.0.kind2 = kind as u8;
        self
    }
    /// String argument `slot` is argument `arg`, a path relative to the cwd.
    pub const fn path(mut self, slot: usize, arg: u8) -> Spec {
        self.0.str_args[slot] = arg;
        self
    }
    /// String argument `slot` is argument `arg`, a path relative to dirfd argument `dirfd`.
    pub const fn path_at(mut self, slot: usize, arg: u8, dirfd: u8) -> Spec {
        self.0.str_args[slot] = arg;
        self.0.dirfd_args[slot] = dirfd;
        self
    }
    /// String argument `slot` is argument `arg`, not a path.
    pub const fn string(mut self, slot: usize, arg: u8) -> Spec {
        self.0.str_args[slot] = arg;
        self.0.dirfd_args[slot] = NO_BASE;
        self
    }
    /// Describe fd argument `arg` with `mode` ([`fd_mode`] bits).
    pub const fn fd(mut self, arg: u8, mode: u8) -> Spec {
        self.0.fd_arg = arg;
        self.0.fd_mode = mode;
        self
    }
    /// The file behind fd argument `arg`: its path.
    pub const fn fd_path(self, arg: u8) -> Spec {
        self.fd(arg, fd_mode::PATH)
    }
    /// Socket address at argument `arg`, length per `mode` in argument `len`.
    pub const fn addr(mut self, mode: u8, arg: u8, len: u8) -> Spec {
        self.0.addr_mode = mode;
        self.0.addr_arg = arg;
        self.0.addr_len_arg = len;
        self
    }
    /// Data sent at argument `arg` (length in `arg + 1`).
    pub const fn payload(mut self, arg: u8) -> Spec {
        self.0.payload_arg = arg;
        self
    }
    /// Apply kernel filter `f` on argument `arg`.
    pub const fn filter(mut self, f: u8, arg: u8) -> Spec {
        self.0.filter = f;
        self.0.filter_arg = arg;
        self
    }
    /// The payload is data received, its length per `mode`
    /// ([`payload_mode`](harrier_sensor_common::payload_mode)).
    pub const fn received(mut self, mode: u8) -> Spec {
        self.0.payload_mode = mode;
        self
    }
    /// Copy `len` bytes of the struct argument `arg` points to.
    pub const fn blob(mut self, arg: u8, len: u8) -> Spec {
        assert!(len as usize <= BLOB_MAX);
        self.0.blob_arg = arg;
        self.0.blob_len = len;
        self
    }
    /// A hook of syscall `nr` named `name`.
    pub const fn hook(self, nr: i64, name: &'static str) -> Hook {
        Hook {
            nr,
            name,
            spec: self.0,
        }
    }
}

/// Re-exports for family tables.
pub(crate) mod prelude {
    pub use super::{Hook, Spec};
    pub use harrier_events::{EventDetail, EventKind};
    pub use harrier_sensor_common::{addr_mode, fd_mode, filter, payload_mode, tag};
}

const _: () = {
    assert!(NO_KIND == 0xff && NO_ARG == 0xff);
    let _ = (addr_mode::NONE, filter::NONE);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unhooked_syscalls_have_no_kind() {
        let table = spec_table();
        assert_eq!(table.len(), MAX_SYSCALLS as usize);
        assert_eq!(table[libc::SYS_getpid as usize].kind, NO_KIND);
        assert_eq!(
            table[libc::SYS_openat as usize].kind,
            EventKind::FileOpen as u8
        );
    }

    #[test]
    fn every_hook_has_a_distinct_syscall_and_a_kind_in_range() {
        let mut seen = std::collections::HashSet::new();
        for hook in all_hooks() {
            assert!(seen.insert(hook.nr), "syscall {} hooked twice", hook.name);
            assert!(
                (hook.spec.kind as usize) < EventKind::ALL.len(),
                "{}",
                hook.name
            );
            assert!(
                (hook.nr as u32) < harrier_sensor_common::MAX_SYSCALLS,
                "{}",
                hook.name
            );
        }
    }
}
