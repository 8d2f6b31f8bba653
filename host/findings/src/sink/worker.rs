//! One sink's bounded queue and delivery thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Rendered, SinkStats};

/// Something that delivers rendered findings, one at a time.
pub(crate) trait Deliver: Send {
    /// Delivers one finding (`item.line` has no newline); an error is
    /// logged and counted as a failure. `control` says whether to give up
    /// early.
    fn deliver(&mut self, item: &Rendered, control: &Control) -> Result<(), String>;
}

/// Shared counters and the abandon flag of one sink.
#[derive(Debug, Default)]
pub(crate) struct Control {
    accepted: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    abandoned: AtomicU64,
    retries: AtomicU64,
    abandon: AtomicBool,
}

impl Control {
    /// Whether shutdown's time ran out and the sink should stop trying.
    pub(crate) fn abandoned(&self) -> bool {
        self.abandon.load(Ordering::Relaxed)
    }

    /// Counts one retry.
    pub(crate) fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Sleeps up to `duration`, waking early if the sink is abandoned.
    /// Returns whether the full time passed.
    pub(crate) fn sleep(&self, duration: Duration) -> bool {
        let end = Instant::now() + duration;
        while !self.abandoned() {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Duration::from_millis(20)));
        }
        false
    }
}

/// A sink's queue sender, thread and counters.
#[derive(Debug)]
pub(crate) struct Worker {
    name: String,
    sender: Option<SyncSender<Arc<Rendered>>>,
    thread: Option<JoinHandle<()>>,
    control: Arc<Control>,
}

impl Worker {
    /// Starts the sink's thread with a queue of `capacity` findings.
    pub(crate) fn spawn(
        name: String,
        capacity: usize,
        mut deliver: Box<dyn Deliver>,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = sync_channel::<Arc<Rendered>>(capacity);
        let control = Arc::new(Control::default());
        let thread_control = control.clone();
        let thread_name = name.clone();
        let thread = std::thread::Builder::new()
            .name(format!("sink {name}"))
            .spawn(move || run(&thread_name, receiver, deliver.as_mut(), &thread_control))?;
        Ok(Self {
            name,
            sender: Some(sender),
            thread: Some(thread),
            control,
        })
    }

    /// The sink as given on the command line.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Queues a finding without waiting; counts a drop when the queue is
    /// full, the thread is gone, or the sink was closed.
    pub(crate) fn offer(&self, line: Arc<Rendered>) {
        let Some(sender) = &self.sender else {
            self.control.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        match sender.try_send(line) {
            Ok(()) => {
                self.control.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.control.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Stops accepting lines; the thread ends once its queue is drained.
    pub(crate) fn close(&mut self) {
        self.sender = None;
    }

    /// Waits until the thread ended or `deadline`; returns whether it ended.
    pub(crate) fn join_until(&mut self, deadline: Instant) -> bool {
        let Some(thread) = self.thread.take() else {
            return true;
        };
        while !thread.is_finished() {
            if Instant::now() >= deadline {
                self.thread = Some(thread);
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if thread.join().is_err() {
            tracing::error!(sink = %self.name, "sink thread panicked");
        }
        true
    }

    /// Tells the thread to drop what is left and stop retrying.
    pub(crate) fn abandon(&self) {
        self.control.abandon.store(true, Ordering::Relaxed);
    }

    /// The sink's counters now.
    pub(crate) fn stats(&self) -> SinkStats {
        let c = &self.control;
        let accepted = c.accepted.load(Ordering::Relaxed);
        let delivered = c.delivered.load(Ordering::Relaxed);
        let failed = c.failed.load(Ordering::Relaxed);
        let abandoned = c.abandoned.load(Ordering::Relaxed);
        SinkStats {
            name: self.name.clone(),
            accepted,
            delivered,
            failed,
            dropped: c.dropped.load(Ordering::Relaxed),
            abandoned,
            retries: c.retries.load(Ordering::Relaxed),
            pending: accepted.saturating_sub(delivered + failed + abandoned),
        }
    }
}

/// The sink thread: delivers queued lines until the queue is closed and
/// drained, dropping what is left once abandoned.
fn run(
    name: &str,
    receiver: Receiver<Arc<Rendered>>,
    deliver: &mut dyn Deliver,
    control: &Control,
) {
    while let Ok(line) = receiver.recv() {
        if control.abandoned() {
            control.abandoned.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        match deliver.deliver(&line, control) {
            Ok(()) => {
                control.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) if control.abandoned() => {
                control.abandoned.fetch_add(1, Ordering::Relaxed);
            }
            Err(reason) => {
                control.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(sink = %name, %reason, "finding not delivered");
            }
        }
    }
}
