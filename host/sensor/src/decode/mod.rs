//! Pure decoding of kernel records into [`harrier_events::Event`]s.
//!
//! Nothing here needs privileges or a kernel: it is bytes in, events out.

mod fidelity;
mod path;
pub mod record;

use harrier_events::{DnsAnswerEvent, Event, EventDetail, EventKind, Process};
use harrier_sensor_common::MAX_SYSCALLS;

pub use record::{Item, RawRecord};

use crate::families::{self, network, process};

/// A record that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Shorter than a header.
    #[error("record of {len} bytes is shorter than its {need}-byte header")]
    Short {
        /// Bytes received.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// The header's size field disagrees with the bytes received.
    #[error("record says it is {size} bytes but {len} were received")]
    BadSize {
        /// Size in the header.
        size: usize,
        /// Bytes received.
        len: usize,
    },
    /// An item runs past the end of the record.
    #[error("item with tag {tag} at offset {offset} runs past the end of the record")]
    BadItem {
        /// The item's tag.
        tag: u8,
        /// Its offset in the record.
        offset: usize,
    },
    /// The kind index is not an event kind.
    #[error("unknown event kind index {0}")]
    UnknownKind(u8),
    /// A syscall record for a syscall no family hooks.
    #[error("record for syscall {0}, which no event family hooks")]
    UnknownSyscall(u16),
}

/// Turns records into events: assigns sequence numbers and wall-clock times.
#[derive(Debug, Clone)]
pub struct Decoder {
    next_seq: u64,
    boot_to_epoch_ns: i64,
    enabled: [bool; EventKind::ALL.len()],
    syscall_names: Vec<&'static str>,
    max_args: usize,
    dns: DnsCounts,
}

/// DNS answers the decoder could not fully read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DnsCounts {
    /// Records whose payload is not a DNS response (no event made).
    pub malformed: u64,
    /// Responses whose answer section was cut or malformed (the answers before
    /// the cut are in the event).
    pub incomplete: u64,
}

impl Decoder {
    /// A decoder whose times are `boot_ns + boot_to_epoch_ns` and whose first event gets seq 1.
    /// Every kind is accepted until [`Decoder::set_enabled`] says otherwise.
    pub fn new(boot_to_epoch_ns: i64) -> Decoder {
        let mut syscall_names = vec![""; MAX_SYSCALLS as usize];
        for hook in families::all_hooks() {
            if let Some(slot) = syscall_names.get_mut(hook.nr as usize) {
                *slot = hook.name;
            }
        }
        Decoder {
            next_seq: 1,
            boot_to_epoch_ns,
            enabled: [true; EventKind::ALL.len()],
            syscall_names,
            max_args: usize::MAX,
            dns: DnsCounts::default(),
        }
    }

    /// DNS answers that were malformed or incomplete so far.
    pub fn dns_counts(&self) -> DnsCounts {
        self.dns
    }

    /// Keep at most `max` exec arguments (more are dropped and the event marked truncated).
    pub fn set_max_args(&mut self, max: usize) {
        self.max_args = max;
    }

    /// Only events of these kinds are returned (others decode to `None`).
    pub fn set_enabled(&mut self, kinds: &[EventKind]) {
        self.enabled = [false; EventKind::ALL.len()];
        for kind in kinds {
            self.enabled[kind.index()] = true;
        }
    }

    /// The name of hooked syscall `nr` ("" if not hooked).
    pub fn syscall_name(&self, nr: u64) -> &'static str {
        self.syscall_names.get(nr as usize).copied().unwrap_or("")
    }

    /// Decode one record. `Ok(None)` when the record is valid but makes no event
    /// (its decoded kind is switched off).
    pub fn decode(&mut self, bytes: &[u8]) -> Result<Option<Event>, DecodeError> {
        let rec = RawRecord::parse(bytes)?;
        let h = &rec.header;
        let kind = *EventKind::ALL
            .get(h.kind as usize)
            .ok_or(DecodeError::UnknownKind(h.kind))?;
        if h.nr != 0 && matches!(kind, EventKind::Exec | EventKind::Exit | EventKind::Fork) {
            return Err(DecodeError::UnknownSyscall(h.nr));
        }
        let detail = match kind {
            EventKind::Exec => Some(process::decode_exec(&rec, self.max_args)),
            EventKind::Exit => Some(process::decode_exit(&rec)),
            EventKind::Fork => Some(process::decode_fork(&rec, self.syscall_name(rec.arg(3)))),
            EventKind::DnsAnswer if !self.syscall_name(h.nr as u64).is_empty() => {
                self.dns_answer(&rec)
            }
            _ => {
                let name = self.syscall_name(h.nr as u64);
                if name.is_empty() {
                    return Err(DecodeError::UnknownSyscall(h.nr));
                }
                families::decode_syscall(kind, name, &rec)
            }
        };
        let Some(detail) = detail else {
            return Ok(None);
        };
        if !self.enabled[detail.kind().index()] {
            return Ok(None);
        }
        let exe = match &detail {
            // The binary's own path (symlinks resolved) when the kernel sent it.
            EventDetail::Exec(e) => rec
                .dpath(harrier_sensor_common::tag::EXEC_EXE)
                .filter(|p| p != "/")
                .unwrap_or_else(|| e.filename.clone()),
            _ => String::new(),
        };
        let comm = rec.text(record::COMM, None, record::until_nul(&h.comm));
        let seq = self.next_seq;
        self.next_seq += 1;
        Ok(Some(Event {
            fidelity: fidelity::of(kind, rec.take_notes()),
            seq,
            time_ns: (h.boot_ns as i64)
                .saturating_add(self.boot_to_epoch_ns)
                .max(0) as u64,
            process: Process {
                pid: h.pid,
                tid: h.tid,
                ppid: h.ppid,
                uid: h.uid,
                euid: h.euid,
                gid: h.gid,
                egid: h.egid,
                comm,
                exe,
                container_id: None,
                cgroup_id: (h.cgroup_id != 0).then_some(h.cgroup_id),
            },
            detail,
        }))
    }
}

impl Decoder {
    /// A DNS answer event, counting what cannot be read (`None`: not a response).
    fn dns_answer(&mut self, rec: &RawRecord<'_>) -> Option<EventDetail> {
        match network::decode_dns_answer(rec) {
            Ok(response) => {
                if !response.complete {
                    self.dns.incomplete += 1;
                }
                Some(EventDetail::DnsAnswer(DnsAnswerEvent {
                    query: response.query,
                    query_type: response.query_type,
                    rcode: response.rcode,
                    answers: response.answers,
                    server: network::dns_server(rec),
                }))
            }
            Err(error) => {
                self.dns.malformed += 1;
                tracing::debug!(%error, pid = rec.header.pid, "malformed DNS answer");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests;
