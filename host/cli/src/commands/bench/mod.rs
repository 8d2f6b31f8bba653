//! `harrier bench`: measurements that end with one JSON line of figures.
//! Every figure that depends on the machine is also given as a ratio to a
//! baseline measured in the same run, because these machines are noisy.

mod drops;
mod memory;
mod overhead;
mod pipeline;
mod pods;
mod stream;

use clap::Subcommand;

pub use overhead::{WorkerArgs, worker};

/// The benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Events/s through decode-free enrichment, routing, the default pack
    /// and merging, on one core; per-detector cost per event; 1 and 10
    /// copies of a detector.
    Pipeline(pipeline::PipelineArgs),
    /// Syscall-heavy and everyday workloads timed without a sensor, with
    /// the sensor's hooks attached but every kind off (the floor), and with
    /// the live agent; plus agent memory. Needs root.
    Overhead(overhead::OverheadArgs),
    /// Ramp the event rate until the sensor drops; check that generated =
    /// received + counted drops at every step. Needs root.
    Drops(drops::DropsArgs),
}

/// Run a benchmark.
pub fn bench(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Pipeline(args) => pipeline::run(args),
        BenchCommand::Overhead(args) => overhead::run(args),
        BenchCommand::Drops(args) => drops::run(args),
    }
}

/// Median of a few timings, in seconds.
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Resident set size of this process, in bytes.
fn rss_bytes() -> u64 {
    memory::Resident::of("self").total
}
