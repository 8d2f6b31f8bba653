//! `harrier`: the command line. Flags and glue only; the work lives in the
//! library crates under host/.

mod catalog;
mod cli;
mod commands;
mod config;
mod intel;
mod live;

use clap::Parser;

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    let cli = cli::Cli::parse();
    init_logging(cli.verbose);
    match commands::dispatch(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One clear line: what failed and why (the chain joined by ": ").
            eprintln!("harrier: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Two malloc arenas instead of glibc's eight per core: the event path is
/// one thread plus detector workers, and each idle arena kept its peak
/// (a third of the agent's resident memory).
fn limit_malloc_arenas() {
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
}

/// Logs go to stderr (stdout carries findings). `RUST_LOG` overrides.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
