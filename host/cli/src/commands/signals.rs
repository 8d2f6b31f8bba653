//! SIGINT/SIGTERM (stop) and SIGHUP (rescan) handling on a small tokio
//! runtime of its own, so the event path stays on plain threads.

use tokio::signal::unix::{SignalKind, signal};

/// Call `on_stop` at the first SIGINT or SIGTERM and `on_hup` at every
/// SIGHUP, from a background thread.
pub fn spawn(
    on_stop: impl Fn() + Send + 'static,
    on_hup: impl Fn() + Send + 'static,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Install the handlers now, before returning, so no early signal is lost.
    let (mut int, mut term, mut hup) = runtime.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        ))
    })?;
    std::thread::Builder::new()
        .name("harrier-signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                loop {
                    tokio::select! {
                        _ = int.recv() => break,
                        _ = term.recv() => break,
                        _ = hup.recv() => on_hup(),
                    }
                }
                tracing::info!("stop requested; draining");
                on_stop();
            })
        })?;
    Ok(())
}
