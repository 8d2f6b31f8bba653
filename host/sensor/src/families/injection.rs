//! Injection and evasion: ptrace, process_vm_writev, userfaultfd, kernel modules, bpf(), mount.

use harrier_events::{
    BpfEvent, ModuleEvent, MountEvent, ProcessVmWriteEvent, PtraceEvent, UserfaultfdEvent,
};

use super::prelude::*;
use crate::decode::RawRecord;

/// Every injection/evasion syscall hooked.
pub static HOOKS: &[Hook] = &[
    Spec::new(EventKind::Ptrace).hook(libc::SYS_ptrace, "ptrace"),
    Spec::new(EventKind::ProcessVmWrite).hook(libc::SYS_process_vm_writev, "process_vm_writev"),
    Spec::new(EventKind::Userfaultfd).hook(libc::SYS_userfaultfd, "userfaultfd"),
    Spec::new(EventKind::ModuleLoad).hook(libc::SYS_init_module, "init_module"),
    Spec::new(EventKind::ModuleLoad)
        .fd_path(0)
        .hook(libc::SYS_finit_module, "finit_module"),
    Spec::new(EventKind::ModuleUnload)
        .string(0, 0)
        .hook(libc::SYS_delete_module, "delete_module"),
    Spec::new(EventKind::BpfCall).hook(libc::SYS_bpf, "bpf"),
    Spec::new(EventKind::Mount)
        .string(0, 0)
        .path(1, 1)
        .string(2, 2)
        .hook(libc::SYS_mount, "mount"),
    Spec::new(EventKind::Umount)
        .path(1, 0)
        .hook(libc::SYS_umount2, "umount2"),
];

/// Decode an injection/evasion record.
pub fn decode(kind: EventKind, name: &str, rec: &RawRecord<'_>) -> Option<EventDetail> {
    let result = rec.result();
    let detail = match kind {
        EventKind::Ptrace => EventDetail::Ptrace(PtraceEvent {
            request: rec.arg(0) as u32,
            target_pid: rec.arg(1) as u32,
            result,
        }),
        EventKind::ProcessVmWrite => EventDetail::ProcessVmWrite(ProcessVmWriteEvent {
            target_pid: rec.arg(0) as u32,
            method: name.to_string(),
            result,
        }),
        EventKind::Userfaultfd => EventDetail::Userfaultfd(UserfaultfdEvent {
            flags: rec.arg(0) as u32,
            result,
        }),
        EventKind::ModuleLoad | EventKind::ModuleUnload => {
            let module = ModuleEvent {
                name: match name {
                    "finit_module" => rec.dpath(tag::FD_PATH).unwrap_or_default(),
                    "delete_module" => rec.str_arg(0),
                    _ => String::new(),
                },
                syscall: name.to_string(),
                result,
            };
            if kind == EventKind::ModuleLoad {
                EventDetail::ModuleLoad(module)
            } else {
                EventDetail::ModuleUnload(module)
            }
        }
        EventKind::BpfCall => EventDetail::BpfCall(BpfEvent {
            command: rec.arg(0) as u32,
            result,
        }),
        EventKind::Mount => EventDetail::Mount(MountEvent {
            source: rec.str_arg(0),
            target: rec.path_arg(1),
            fs_type: rec.str_arg(2),
            flags: rec.arg(3),
            result,
        }),
        EventKind::Umount => EventDetail::Umount(MountEvent {
            source: String::new(),
            target: rec.path_arg(1),
            fs_type: String::new(),
            flags: rec.arg(1),
            result,
        }),
        _ => return None,
    };
    Some(detail)
}
