//! Harrier's live eBPF sensor: loads the kernel programs of sensor-ebpf/programs
//! (embedded in this library), switches event kinds on and off in the kernel,
//! and decodes ring-buffer records into [`harrier_events::Event`]s.
//!
//! Layout: [`families`] holds, per event family, the syscall capture table the
//! kernel follows and the decoder; [`decode`] is pure (bytes in, events out);
//! [`LiveSensor`] is the thin part that needs a kernel.

#![deny(missing_docs)]

pub mod decode;
pub mod dns;
pub mod families;
mod live;
pub mod offsets;
mod open_prefixes;
mod stats;
pub mod system;

pub use live::LiveSensor;
pub use stats::{HookProbe, SensorFeatures, SensorStats};

/// The eBPF object built from sensor-ebpf/programs by this crate's build script.
pub static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/harrier-sensor"));

/// How the live sensor is set up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SensorConfig {
    /// Ring buffer size in bytes, rounded up to a power of two (default 4 MiB).
    pub ring_buffer_bytes: u32,
    /// Most exec arguments kept per event (the kernel also bounds argv to 2 KiB).
    pub max_args: u32,
    /// Processes whose events are dropped in the kernel (default: this process).
    pub exclude_pids: Vec<u32>,
}

impl Default for SensorConfig {
    fn default() -> Self {
        SensorConfig {
            ring_buffer_bytes: 4 << 20,
            max_args: 64,
            exclude_pids: vec![std::process::id()],
        }
    }
}

/// Why the sensor could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// Not allowed to load eBPF programs.
    #[error("{0}")]
    Privileges(String),
    /// Kernel struct offsets could not be resolved.
    #[error(transparent)]
    Offsets(#[from] offsets::OffsetError),
    /// The eBPF object could not be loaded.
    #[error("cannot load the eBPF object: {0}")]
    Load(String),
    /// A program could not be loaded or attached.
    #[error("cannot attach eBPF program `{program}`: {reason}")]
    Attach {
        /// The program.
        program: String,
        /// Why.
        reason: String,
    },
    /// A map could not be opened or updated.
    #[error("eBPF map `{map}`: {reason}")]
    Map {
        /// The map.
        map: String,
        /// Why.
        reason: String,
    },
    /// Waiting on the ring buffer failed.
    #[error("waiting for sensor records failed: {0}")]
    Poll(std::io::Error),
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_live_sensor_can_move_to_another_thread() {
        fn is_send<T: Send>() {}
        is_send::<super::LiveSensor>();
        is_send::<super::SensorError>();
    }
}
