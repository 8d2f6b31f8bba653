//! The thin part that needs a kernel: load, configure and attach the programs, read the ring.

use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use aya::{
    Btf, Ebpf, EbpfLoader,
    maps::{Array, HashMap, MapData, PerCpuArray, RingBuf},
    programs::{FEntry, Lsm, RawTracePoint},
};
use harrier_events::{Event, EventKind};
use harrier_sensor_common::{MAX_KINDS, SyscallSpec};

use crate::{
    OBJECT, SensorConfig, SensorError, SensorFeatures, SensorStats, decode::Decoder, families,
    offsets, open_prefixes::OpenPrefixes, stats::HookProbe, system,
};

/// How long `poll` lets records gather after a wake-up before draining them.
const COALESCE: Duration = Duration::from_millis(1);

/// Raw tracepoints the sensor attaches, with the program attached to each.
const ATTACH: &[(&str, &str)] = &[
    ("sys_enter", "sys_enter"),
    ("sys_exit", "sys_exit"),
    ("sched_process_exec", "sched_process_exec"),
    ("sched_process_exit", "sched_process_exit"),
    ("sched_process_fork", "sched_process_fork"),
];

/// The live eBPF sensor: programs attached, records decoded on `poll`.
pub struct LiveSensor {
    // Keeps programs, links and maps alive.
    _ebpf: Ebpf,
    ring: RingBuf<MapData>,
    enabled: Array<MapData, u32>,
    open_prefixes: OpenPrefixes,
    excluded: HashMap<MapData, u32, u8>,
    drops: PerCpuArray<MapData, u64>,
    decoder: Decoder,
    received: Vec<u64>,
    decode_errors: u64,
    features: SensorFeatures,
}

impl LiveSensor {
    /// Check privileges, mount tracefs if needed, resolve kernel offsets, load and attach
    /// the programs. Every event kind starts switched off: call [`LiveSensor::set_enabled`].
    pub fn start(config: &SensorConfig) -> Result<LiveSensor, SensorError> {
        if OBJECT.is_empty() {
            return Err(SensorError::Load(
                "this build has no eBPF object (built with AYA_BUILD_SKIP=1); rebuild with the nightly toolchain and bpf-linker".into(),
            ));
        }
        system::check_privileges()?;
        let started = Instant::now();
        let mut phases = Phases::new(started);
        let tracefs = system::ensure_tracefs();
        // Both parses of the kernel BTF run at once: ours for offsets, aya's for loading.
        let (offsets, btf) = std::thread::scope(|scope| {
            let ours = scope.spawn(|| offsets::resolve_file(offsets::VMLINUX_BTF));
            let aya = Btf::from_sys_fs();
            (ours.join(), aya)
        });
        let offsets =
            offsets.map_err(|_| SensorError::Load("BTF offset resolver panicked".into()))??;
        let btf = btf.map_err(|e| SensorError::Load(format!("kernel BTF: {e}")))?;
        phases.mark("btf");
        let mut ebpf = EbpfLoader::new()
            .btf(Some(&btf))
            .override_global("OFFSETS", &offsets, true)
            .map_max_entries("EVENTS", ring_size(config.ring_buffer_bytes))
            .load(OBJECT)
            .map_err(|e| SensorError::Load(e.to_string()))?;
        phases.mark("object-and-maps");

        // Every slot is written: a zeroed slot would read as kind 0 (exec).
        let mut specs: Array<_, SyscallSpec> = take_map(&mut ebpf, "SPECS")?;
        for (nr, spec) in families::spec_table().into_iter().enumerate() {
            specs
                .set(nr as u32, spec, 0)
                .map_err(|e| map_error("SPECS", e))?;
        }
        let mut excluded: HashMap<_, u32, u8> = take_map(&mut ebpf, "EXCLUDED")?;
        for pid in &config.exclude_pids {
            excluded
                .insert(pid, 1, 0)
                .map_err(|e| map_error("EXCLUDED", e))?;
        }

        let mut attached = Vec::new();
        for (tracepoint, program) in ATTACH {
            let prog: &mut RawTracePoint = ebpf
                .program_mut(program)
                .ok_or_else(|| attach_error(program, "program missing from the object"))?
                .try_into()
                .map_err(|e| attach_error(program, e))?;
            prog.load().map_err(|e| attach_error(program, e))?;
            prog.attach(tracepoint)
                .map_err(|e| attach_error(program, e))?;
            attached.push(format!("raw_tp/{tracepoint}"));
            phases.mark(program);
        }
        let fentry = probe_fentry(&mut ebpf, &btf);
        let lsm = probe_lsm(&mut ebpf, &btf);
        phases.mark("probes");

        let ring: RingBuf<MapData> = take_map(&mut ebpf, "EVENTS")?;
        let enabled = take_map(&mut ebpf, "ENABLED")?;
        let open_prefixes = OpenPrefixes::new(take_map(&mut ebpf, "OPEN_PREFIXES")?)?;
        let drops = take_map(&mut ebpf, "DROPS")?;
        let mut decoder = Decoder::new(system::boot_to_epoch_ns());
        decoder.set_enabled(&[]);
        decoder.set_max_args(config.max_args as usize);
        let features = SensorFeatures {
            attached,
            hooked_syscalls: families::all_hooks().count(),
            fentry,
            lsm,
            tracefs,
            startup: started.elapsed(),
            phases: phases.done,
        };
        tracing::info!(
            attached = ?features.attached,
            fentry = %features.fentry,
            lsm = %features.lsm,
            startup_ms = features.startup.as_millis() as u64,
            "eBPF sensor attached (raw tracepoints; fentry/LSM not used)"
        );
        Ok(LiveSensor {
            _ebpf: ebpf,
            ring,
            enabled,
            open_prefixes,
            excluded,
            drops,
            decoder,
            received: vec![0; EventKind::ALL.len()],
            decode_errors: 0,
            features,
        })
    }

    /// Switch event kinds on (those listed) and off (all others) in the kernel.
    pub fn set_enabled(&mut self, kinds: &[EventKind]) -> Result<(), SensorError> {
        for kind in EventKind::ALL {
            let on = u32::from(kinds.contains(kind));
            self.enabled
                .set(kind.index() as u32, on, 0)
                .map_err(|e| map_error("ENABLED", e))?;
        }
        self.decoder.set_enabled(kinds);
        Ok(())
    }

    /// Deliver read-only file opens of absolute paths only under these
    /// prefixes (`None`, the default: every open). Opens that write, create
    /// or truncate, and opens of relative paths, are always delivered.
    pub fn set_open_prefixes(&mut self, prefixes: Option<&[String]>) -> Result<(), SensorError> {
        self.open_prefixes.set(prefixes)
    }

    /// Drop every future event of process `pid` in the kernel (e.g. a helper the agent spawned).
    pub fn exclude_pid(&mut self, pid: u32) -> Result<(), SensorError> {
        self.excluded
            .insert(pid, 1, 0)
            .map_err(|e| map_error("EXCLUDED", e))
    }

    /// Wait up to `timeout` for records, decode up to `max` of them into `out`
    /// (appending) and return how many were appended.
    pub fn poll(
        &mut self,
        out: &mut Vec<Event>,
        max: usize,
        timeout: Duration,
    ) -> Result<usize, SensorError> {
        let deadline = Instant::now() + timeout;
        let mut appended = self.drain(out, max);
        while appended == 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if !system::wait_readable(self.ring.as_raw_fd(), deadline - now)? {
                break;
            }
            // The kernel wakes a consumer that has caught up on every new
            // record, and that wake-up is paid inside the traced syscall.
            // Letting records gather first makes it one wake-up per batch.
            std::thread::sleep(COALESCE.min(deadline.saturating_duration_since(Instant::now())));
            appended += self.drain(out, max);
        }
        Ok(appended)
    }

    /// Decode what is in the ring now, up to `max` events.
    fn drain(&mut self, out: &mut Vec<Event>, max: usize) -> usize {
        let mut appended = 0;
        while appended < max {
            let Some(item) = self.ring.next() else { break };
            match self.decoder.decode(&item) {
                Ok(Some(event)) => {
                    self.received[event.detail.kind().index()] += 1;
                    out.push(event);
                    appended += 1;
                }
                Ok(None) => {}
                Err(e) => {
                    self.decode_errors += 1;
                    tracing::debug!(error = %e, "undecodable sensor record");
                }
            }
        }
        appended
    }

    /// Counters: per kind received and dropped in the kernel, and decode errors.
    pub fn stats(&self) -> SensorStats {
        let mut dropped = vec![0; EventKind::ALL.len()];
        for (i, slot) in dropped.iter_mut().enumerate() {
            if let Ok(values) = self.drops.get(&(i as u32), 0) {
                *slot = values.iter().sum();
            }
        }
        let missed = ATTACH
            .iter()
            .filter_map(|(_, name)| self._ebpf.program(name)?.fd().ok())
            .filter_map(|fd| system::recursion_misses(fd.as_fd().as_raw_fd()).ok())
            .sum();
        let dns = self.decoder.dns_counts();
        SensorStats {
            received: self.received.clone(),
            dropped,
            decode_errors: self.decode_errors,
            missed,
            dns_malformed: dns.malformed,
            dns_incomplete: dns.incomplete,
        }
    }

    /// What the sensor attached and probed at start-up, and how long start-up took.
    pub fn features(&self) -> &SensorFeatures {
        &self.features
    }
}

/// Start-up phase timer.
struct Phases {
    last: Instant,
    done: Vec<(String, Duration)>,
}

impl Phases {
    fn new(start: Instant) -> Phases {
        Phases {
            last: start,
            done: Vec::new(),
        }
    }
    fn mark(&mut self, name: &str) {
        let now = Instant::now();
        self.done.push((name.to_string(), now - self.last));
        self.last = now;
    }
}

/// Ring size: a power of two, at least one page (the kernel's requirement).
fn ring_size(bytes: u32) -> u32 {
    bytes
        .max(4096)
        .checked_next_power_of_two()
        .unwrap_or(1 << 31)
}

fn take_map<T: TryFrom<aya::maps::Map, Error = aya::maps::MapError>>(
    ebpf: &mut Ebpf,
    name: &str,
) -> Result<T, SensorError> {
    let map = ebpf.take_map(name).ok_or_else(|| SensorError::Map {
        map: name.to_string(),
        reason: "missing from the eBPF object".into(),
    })?;
    T::try_from(map).map_err(|e| map_error(name, e))
}

pub(crate) fn map_error(map: &str, e: impl std::fmt::Display) -> SensorError {
    SensorError::Map {
        map: map.to_string(),
        reason: e.to_string(),
    }
}

fn attach_error(program: &str, e: impl std::fmt::Display) -> SensorError {
    SensorError::Attach {
        program: program.to_string(),
        reason: e.to_string(),
    }
}

fn probe_fentry(ebpf: &mut Ebpf, btf: &Btf) -> HookProbe {
    let Some(prog) = ebpf.program_mut("probe_fentry") else {
        return HookProbe::Refused("probe program missing".into());
    };
    let prog: Result<&mut FEntry, _> = prog.try_into();
    match prog.map(|p| p.load("do_sys_openat2", btf)) {
        Ok(Ok(())) => HookProbe::Available,
        Ok(Err(e)) => HookProbe::Refused(error_chain(&e)),
        Err(e) => HookProbe::Refused(e.to_string()),
    }
}

fn probe_lsm(ebpf: &mut Ebpf, btf: &Btf) -> HookProbe {
    let Some(prog) = ebpf.program_mut("probe_lsm") else {
        return HookProbe::Refused("probe program missing".into());
    };
    let prog: Result<&mut Lsm, _> = prog.try_into();
    match prog.map(|p| p.load("file_open", btf)) {
        Ok(Ok(())) => HookProbe::Available,
        Ok(Err(e)) => HookProbe::Refused(error_chain(&e)),
        Err(e) => HookProbe::Refused(e.to_string()),
    }
}

/// An error and its sources on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s.lines().next().unwrap_or_default().to_string()
}

const _: () = assert!(EventKind::ALL.len() <= MAX_KINDS as usize);
