//! The `on-events` argument, lowered into a guest with one view of its
//! memory per event.
//!
//! Lowering is where a detector call spends its time: wasmtime's derived
//! lowering looks the guest's memory up again for every field it stores
//! (`Instance::options_memory_mut`, 15% of a default-pack run on its own)
//! and walks each record's layout at run time. [`EventList`] lowers the
//! same `list<event>`, byte for byte, in two steps per event: first every
//! string and list it holds is allocated in the guest and copied (one
//! `realloc` each, as the canonical ABI requires, since the guest owns and
//! frees each one), then the event's fixed part is written through a
//! single slice, at offsets computed once from the types' ABI. The kinds
//! that make up nearly all traffic (exec, exit, fork, opens and writes,
//! connects and their kin, DNS queries) are written this way; rarer kinds
//! and `fidelity` records go through wasmtime's own lowering for their
//! part of the event.
//!
//! This implements wasmtime's hidden lowering traits, which the workspace
//! pins to one wasmtime version; `tests` round-trips every event kind
//! through a guest and back through wasmtime's lifting, so a layout that
//! drifted would fail there.

use std::mem::MaybeUninit;

use harrier_events::{Event, EventDetail, ExecEvent, Fidelity, NetEvent, Process, SocketAddress};
use wasmtime::component::__internal::{
    CanonicalAbiInfo, ComponentVariant, InstanceType, InterfaceType, LowerContext, bad_type_info,
    map_maybe_uninit, wasmtime_environ::component::StringEncoding,
};
use wasmtime::component::{ComponentType, Lower};
use wasmtime::{Result, ValRaw, bail};

/// `list<event>` for `on-events`, lowered as [the module](self) explains.
pub struct EventList<'a>(pub &'a [&'a Event]);

// SAFETY: the same canonical-ABI type as `list<event>`: it type-checks as
// that list and its flat form is the list's pointer and length.
unsafe impl ComponentType for EventList<'_> {
    type Lower = <[Event] as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <[Event] as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> Result<()> {
        <[Event] as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: writes exactly what the derived lowering of `[Event]` writes (see
// the round-trip tests), only within memory the guest's `realloc` returned.
unsafe impl Lower for EventList<'_> {
    fn linear_lower_to_flat<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        ty: InterfaceType,
        dst: &mut MaybeUninit<Self::Lower>,
    ) -> Result<()> {
        if cx.options().string_encoding != StringEncoding::Utf8 {
            return self.0.linear_lower_to_flat(cx, ty, dst);
        }
        let (ptr, len) = lower_list(cx, ty, self.0)?;
        // The flat form of a list: pointer and length, each as an i64 slot.
        map_maybe_uninit!(dst[0]).write(ValRaw::i64(ptr as i64));
        map_maybe_uninit!(dst[1]).write(ValRaw::i64(len as i64));
        Ok(())
    }

    fn linear_lower_to_memory<T>(
        &self,
        cx: &mut LowerContext<'_, T>,
        ty: InterfaceType,
        offset: usize,
    ) -> Result<()> {
        // Only used when parameters spill to memory, which one list does not.
        self.0.linear_lower_to_memory(cx, ty, offset)
    }
}

/// The interface types of the parts that may go through wasmtime's own
/// lowering.
struct Parts {
    detail: InterfaceType,
    fidelity: InterfaceType,
}

fn lower_list<T>(
    cx: &mut LowerContext<'_, T>,
    ty: InterfaceType,
    events: &[&Event],
) -> Result<(usize, usize)> {
    let InterfaceType::List(list) = ty else {
        bad_type_info()
    };
    let InterfaceType::Record(record) = cx.types[list].element else {
        bad_type_info()
    };
    let fields = &cx.types[record].fields;
    let parts = Parts {
        detail: fields[3].ty,
        fidelity: fields[4].ty,
    };
    let Some(size) = events.len().checked_mul(EVENT_SIZE) else {
        bail!("size overflow copying a list");
    };
    let base = cx.realloc(0, 0, Event::ALIGN32, size)?;
    let mut args = Vec::new();
    for (i, event) in events.iter().enumerate() {
        lower_event(cx, &parts, base + i * EVENT_SIZE, event, &mut args)?;
    }
    Ok((base, events.len()))
}

/// A string or list already in guest memory: its pointer and length.
#[derive(Clone, Copy)]
struct Placed(u32, u32);

impl Placed {
    fn bytes(self) -> [u8; 8] {
        let mut out = [0; 8];
        out[..4].copy_from_slice(&self.0.to_le_bytes());
        out[4..].copy_from_slice(&self.1.to_le_bytes());
        out
    }
}

/// Copy a string into guest memory (one `realloc`, as the ABI requires).
fn place<T>(cx: &mut LowerContext<'_, T>, s: &str) -> Result<Placed> {
    if s.len() > MAX_STRING_BYTES {
        bail!("string length of {} too large to copy into wasm", s.len());
    }
    let ptr = cx.realloc(0, 0, 1, s.len())?;
    // `realloc` checked that `ptr..ptr + len` is inside memory.
    cx.as_slice_mut()[ptr..][..s.len()].copy_from_slice(s.as_bytes());
    Ok(Placed(ptr as u32, s.len() as u32))
}

fn place_opt<T>(cx: &mut LowerContext<'_, T>, s: &Option<String>) -> Result<Option<Placed>> {
    s.as_deref().map(|s| place(cx, s)).transpose()
}

/// The canonical ABI's bound on a string's length in bytes.
const MAX_STRING_BYTES: usize = (1 << 31) - 1;

/// The strings and lists of an event's detail, placed; `Other` for the
/// kinds left to wasmtime's lowering.
enum Staged {
    Exec {
        filename: Placed,
        args: Placed,
        cwd: Placed,
        ld_preload: Option<Placed>,
        ld_library_path: Option<Placed>,
    },
    Path(Placed),
    Address(Option<Placed>),
    Dns {
        query: Placed,
        server: Option<Placed>,
    },
    Fixed,
    Other,
}

fn stage<T>(
    cx: &mut LowerContext<'_, T>,
    detail: &EventDetail,
    args: &mut Vec<Placed>,
) -> Result<Staged> {
    Ok(match detail {
        EventDetail::Exec(e) => stage_exec(cx, e, args)?,
        EventDetail::FileOpen(e) => Staged::Path(place(cx, &e.path)?),
        EventDetail::FileWrite(e) => Staged::Path(place(cx, &e.path)?),
        EventDetail::NetConnect(e)
        | EventDetail::NetAccept(e)
        | EventDetail::NetBind(e)
        | EventDetail::NetListen(e) => Staged::Address(place_address(cx, &e.address)?),
        EventDetail::DnsQuery(e) => Staged::Dns {
            query: place(cx, &e.query)?,
            server: place_address(cx, &e.server)?,
        },
        EventDetail::Exit(_) | EventDetail::Fork(_) => Staged::Fixed,
        _ => Staged::Other,
    })
}

fn stage_exec<T>(
    cx: &mut LowerContext<'_, T>,
    e: &ExecEvent,
    args: &mut Vec<Placed>,
) -> Result<Staged> {
    let filename = place(cx, &e.filename)?;
    args.clear();
    for arg in &e.args {
        args.push(place(cx, arg)?);
    }
    let bytes = args.len() * STRING_SIZE;
    let list = cx.realloc(0, 0, String::ALIGN32, bytes)?;
    let mem = &mut cx.as_slice_mut()[list..][..bytes];
    for (slot, arg) in mem.chunks_exact_mut(STRING_SIZE).zip(args.iter()) {
        slot.copy_from_slice(&arg.bytes());
    }
    Ok(Staged::Exec {
        filename,
        args: Placed(list as u32, e.args.len() as u32),
        cwd: place(cx, &e.cwd)?,
        ld_preload: place_opt(cx, &e.ld_preload)?,
        ld_library_path: place_opt(cx, &e.ld_library_path)?,
    })
}

/// The string of a socket address, placed (`other` holds none).
fn place_address<T>(cx: &mut LowerContext<'_, T>, a: &SocketAddress) -> Result<Option<Placed>> {
    match a {
        SocketAddress::Ipv4((s, _)) | SocketAddress::Ipv6((s, _)) | SocketAddress::Unix(s) => {
            place(cx, s).map(Some)
        }
        SocketAddress::Other(_) => Ok(None),
    }
}

fn lower_event<T>(
    cx: &mut LowerContext<'_, T>,
    parts: &Parts,
    at: usize,
    event: &Event,
    args: &mut Vec<Placed>,
) -> Result<()> {
    let process = &event.process;
    let comm = place(cx, &process.comm)?;
    let exe = place(cx, &process.exe)?;
    let container = place_opt(cx, &process.container_id)?;
    let staged = stage(cx, &event.detail, args)?;

    // The list's allocation was checked to hold every event.
    let out = &mut cx.as_slice_mut()[at..][..EVENT_SIZE];
    put(out, EVENT[0], &event.seq.to_le_bytes());
    put(out, EVENT[1], &event.time_ns.to_le_bytes());
    write_process(
        &mut out[EVENT[2]..][..PROCESS_SIZE],
        process,
        comm,
        exe,
        container,
    );
    let detail = &mut out[EVENT[3]..][..DETAIL_SIZE];
    let other = matches!(staged, Staged::Other);
    if !other {
        write_detail(detail, &event.detail, &staged);
    }
    if event.fidelity.is_none() {
        out[EVENT[4]] = 0;
    }

    if other {
        event
            .detail
            .linear_lower_to_memory(cx, parts.detail, at + EVENT[3])?;
    }
    if event.fidelity.is_some() {
        event
            .fidelity
            .linear_lower_to_memory(cx, parts.fidelity, at + EVENT[4])?;
    }
    Ok(())
}

fn put(out: &mut [u8], at: usize, bytes: &[u8]) {
    out[at..][..bytes.len()].copy_from_slice(bytes);
}

/// An `option<T>`: its case byte, and the payload when there is one.
fn put_option<const N: usize>(
    out: &mut [u8],
    at: usize,
    payload_at: usize,
    payload: Option<[u8; N]>,
) {
    match payload {
        None => out[at] = 0,
        Some(bytes) => {
            out[at] = 1;
            put(out, at + payload_at, &bytes);
        }
    }
}

/// An `option<string>` already placed.
fn put_option_str(out: &mut [u8], at: usize, placed: Option<Placed>) {
    put_option(out, at, OPTION_STRING_PAYLOAD, placed.map(Placed::bytes));
}

fn write_process(
    out: &mut [u8],
    p: &Process,
    comm: Placed,
    exe: Placed,
    container: Option<Placed>,
) {
    for (i, id) in [p.pid, p.tid, p.ppid, p.uid, p.euid, p.gid, p.egid]
        .into_iter()
        .enumerate()
    {
        put(out, PROCESS[i], &id.to_le_bytes());
    }
    put(out, PROCESS[7], &comm.bytes());
    put(out, PROCESS[8], &exe.bytes());
    put_option_str(out, PROCESS[9], container);
    let cgroup = p.cgroup_id.map(u64::to_le_bytes);
    put_option(out, PROCESS[10], OPTION_U64_PAYLOAD, cgroup);
}

/// The detail variant: its case byte and payload (never `Staged::Other`).
fn write_detail(out: &mut [u8], detail: &EventDetail, staged: &Staged) {
    out[0] = case_of(detail);
    let out = &mut out[DETAIL_PAYLOAD..];
    match (detail, staged) {
        (
            EventDetail::Exec(e),
            Staged::Exec {
                filename,
                args,
                cwd,
                ld_preload,
                ld_library_path,
            },
        ) => {
            put(out, EXEC[0], &filename.bytes());
            put(out, EXEC[1], &args.bytes());
            out[EXEC[2]] = e.args_truncated as u8;
            put(out, EXEC[3], &cwd.bytes());
            put_option_str(out, EXEC[4], *ld_preload);
            put_option_str(out, EXEC[5], *ld_library_path);
            put(out, EXEC[6], &e.file_mode.to_le_bytes());
            put(out, EXEC[7], &e.dev.to_le_bytes());
            put(out, EXEC[8], &e.inode.to_le_bytes());
            put(out, EXEC[9], &e.mtime_ns.to_le_bytes());
            match &e.args_gap {
                None => out[EXEC[10]] = 0,
                Some(gap) => {
                    out[EXEC[10]] = 1;
                    let gap_out = &mut out[EXEC[10] + OPTION_GAP_PAYLOAD..];
                    put(gap_out, GAP[0], &gap.index.to_le_bytes());
                    put(gap_out, GAP[1], &gap.omitted_bytes.to_le_bytes());
                }
            }
        }
        (EventDetail::Exit(e), _) => {
            put(out, PAIR_32[0], &e.code.to_le_bytes());
            put(out, PAIR_32[1], &e.signal.to_le_bytes());
        }
        (EventDetail::Fork(e), _) => {
            put(out, FORK[0], &e.child_pid.to_le_bytes());
            put(out, FORK[1], &e.clone_flags.to_le_bytes());
        }
        (EventDetail::FileOpen(e), Staged::Path(path)) => {
            put(out, OPEN[0], &path.bytes());
            put(out, OPEN[1], &e.flags.to_le_bytes());
            put(out, OPEN[2], &e.mode.to_le_bytes());
            put(out, OPEN[3], &e.result.to_le_bytes());
        }
        (EventDetail::FileWrite(e), Staged::Path(path)) => {
            put(out, WRITE[0], &path.bytes());
            put(out, WRITE[1], &e.bytes.to_le_bytes());
        }
        (
            EventDetail::NetConnect(e)
            | EventDetail::NetAccept(e)
            | EventDetail::NetBind(e)
            | EventDetail::NetListen(e),
            Staged::Address(placed),
        ) => write_net(out, e, *placed),
        (EventDetail::DnsQuery(e), Staged::Dns { query, server }) => {
            put(out, DNS[0], &query.bytes());
            put(out, DNS[1], &e.query_type.to_le_bytes());
            write_address(&mut out[DNS[2]..], &e.server, *server);
        }
        _ => unreachable!("staged for another kind of event"),
    }
}

fn write_net(out: &mut [u8], e: &NetEvent, placed: Option<Placed>) {
    put(out, NET[0], &e.fd.to_le_bytes());
    write_address(&mut out[NET[1]..], &e.address, placed);
    put(out, NET[2], &e.result.to_le_bytes());
}

fn write_address(out: &mut [u8], a: &SocketAddress, placed: Option<Placed>) {
    let payload = &mut out[ADDRESS_PAYLOAD..];
    let case = match (a, placed) {
        (SocketAddress::Ipv4((_, port)), Some(s)) | (SocketAddress::Ipv6((_, port)), Some(s)) => {
            put(payload, HOST_PORT[0], &s.bytes());
            put(payload, HOST_PORT[1], &port.to_le_bytes());
            if matches!(a, SocketAddress::Ipv4(_)) {
                0
            } else {
                1
            }
        }
        (SocketAddress::Unix(_), Some(s)) => {
            put(payload, 0, &s.bytes());
            2
        }
        (SocketAddress::Other(family), _) => {
            put(payload, 0, &family.to_le_bytes());
            3
        }
        _ => unreachable!("an address with a string was placed"),
    };
    out[0] = case;
}

/// The case index of a hand-written detail, in the WIT's order.
fn case_of(detail: &EventDetail) -> u8 {
    match detail {
        EventDetail::Exec(_) => 0,
        EventDetail::Exit(_) => 1,
        EventDetail::Fork(_) => 2,
        EventDetail::FileOpen(_) => 5,
        EventDetail::FileWrite(_) => 6,
        EventDetail::NetConnect(_) => 24,
        EventDetail::NetAccept(_) => 25,
        EventDetail::NetBind(_) => 26,
        EventDetail::NetListen(_) => 27,
        EventDetail::DnsQuery(_) => 28,
        _ => unreachable!("lowered by wasmtime"),
    }
}

// Layouts, from the ABI of each field's type, the way the canonical ABI
// lays out a record: each field aligned to its type, in WIT order.

const fn record<const N: usize>(fields: [CanonicalAbiInfo; N]) -> [usize; N] {
    let mut out = [0; N];
    let mut offset = 0u32;
    let mut i = 0;
    while i < N {
        let align = fields[i].align32;
        offset = offset.div_ceil(align) * align;
        out[i] = offset as usize;
        offset += fields[i].size32;
        i += 1;
    }
    out
}

const fn abi<T: ComponentType + ?Sized>() -> CanonicalAbiInfo {
    T::ABI
}

const U16: CanonicalAbiInfo = abi::<u16>();
const U32: CanonicalAbiInfo = abi::<u32>();
const U64: CanonicalAbiInfo = abi::<u64>();
const STR: CanonicalAbiInfo = abi::<str>();
const STRING_SIZE: usize = STR.size32 as usize;

const EVENT_SIZE: usize = Event::SIZE32;
const EVENT: [usize; 5] = record([
    U64,
    U64,
    abi::<Process>(),
    abi::<EventDetail>(),
    abi::<Option<Fidelity>>(),
]);
const PROCESS_SIZE: usize = Process::SIZE32;
const PROCESS: [usize; 11] = record([
    U32,
    U32,
    U32,
    U32,
    U32,
    U32,
    U32,
    STR,
    STR,
    abi::<Option<String>>(),
    abi::<Option<u64>>(),
]);
const DETAIL_SIZE: usize = EventDetail::SIZE32;
const DETAIL_PAYLOAD: usize = <EventDetail as ComponentVariant>::PAYLOAD_OFFSET32;
const OPTION_STRING_PAYLOAD: usize = <Option<String> as ComponentVariant>::PAYLOAD_OFFSET32;
const OPTION_U64_PAYLOAD: usize = <Option<u64> as ComponentVariant>::PAYLOAD_OFFSET32;
const OPTION_GAP_PAYLOAD: usize =
    <Option<harrier_events::ArgsGap> as ComponentVariant>::PAYLOAD_OFFSET32;
const EXEC: [usize; 11] = record([
    STR,
    abi::<[String]>(),
    abi::<bool>(),
    STR,
    abi::<Option<String>>(),
    abi::<Option<String>>(),
    U32,
    U64,
    U64,
    U64,
    abi::<Option<harrier_events::ArgsGap>>(),
]);
const GAP: [usize; 2] = record([U32, U64]);
const PAIR_32: [usize; 2] = record([abi::<i32>(), U32]);
const FORK: [usize; 2] = record([U32, U64]);
const OPEN: [usize; 4] = record([STR, U32, U32, abi::<i64>()]);
const WRITE: [usize; 2] = record([STR, U64]);
const ADDRESS_PAYLOAD: usize = <SocketAddress as ComponentVariant>::PAYLOAD_OFFSET32;
const HOST_PORT: [usize; 2] = record([STR, U16]);
const NET: [usize; 3] = record([abi::<i64>(), abi::<SocketAddress>(), abi::<i64>()]);
const DNS: [usize; 3] = record([STR, U16, abi::<SocketAddress>()]);

#[cfg(test)]
mod tests;
