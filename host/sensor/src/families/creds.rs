//! Namespace and credential changes: unshare/setns, set*id and capset.

use harrier_events::{CredentialEvent, NamespaceEvent};

use super::prelude::*;
use crate::decode::RawRecord;

/// "Unchanged" in a credential event.
const UNCHANGED: u32 = u32::MAX;

/// unshare, setns, setuid, setgid, setreuid, setregid, setresuid, setresgid, capset.
pub static HOOKS: &[Hook] = &[
    Spec::new(EventKind::NamespaceChange).hook(libc::SYS_unshare, "unshare"),
    Spec::new(EventKind::NamespaceChange).hook(libc::SYS_setns, "setns"),
    Spec::new(EventKind::CredentialChange).hook(libc::SYS_setuid, "setuid"),
    Spec::new(EventKind::CredentialChange).hook(libc::SYS_setgid, "setgid"),
    Spec::new(EventKind::CredentialChange).hook(libc::SYS_setreuid, "setreuid"),
    Spec::new(EventKind::CredentialChange).hook(libc::SYS_setregid, "setregid"),
    Spec::new(EventKind::CredentialChange).hook(libc::SYS_setresuid, "setresuid"),
    Spec::new(EventKind::CredentialChange).hook(libc::SYS_setresgid, "setresgid"),
    Spec::new(EventKind::CredentialChange).hook(libc::SYS_capset, "capset"),
];

/// Decode a namespace or credential record.
pub fn decode(kind: EventKind, name: &str, rec: &RawRecord<'_>) -> Option<EventDetail> {
    let a = |i| rec.arg(i) as u32;
    let result = rec.result();
    if kind == EventKind::NamespaceChange {
        let flags = match name {
            "setns" => rec.arg(1) & 0xffff_ffff,
            _ => rec.arg(0),
        };
        return Some(EventDetail::NamespaceChange(NamespaceEvent {
            syscall: name.to_string(),
            flags,
            result,
        }));
    }
    let (uid, euid, gid, egid) = match name {
        "setuid" => (a(0), a(0), UNCHANGED, UNCHANGED),
        "setgid" => (UNCHANGED, UNCHANGED, a(0), a(0)),
        "setreuid" | "setresuid" => (a(0), a(1), UNCHANGED, UNCHANGED),
        "setregid" | "setresgid" => (UNCHANGED, UNCHANGED, a(0), a(1)),
        _ => (UNCHANGED, UNCHANGED, UNCHANGED, UNCHANGED),
    };
    Some(EventDetail::CredentialChange(CredentialEvent {
        syscall: name.to_string(),
        uid,
        euid,
        gid,
        egid,
        result,
    }))
}
