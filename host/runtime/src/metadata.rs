//! [`RuntimeMetadata`]: the workload metadata cache, filled by one thread
//! that asks the container runtimes, so the event path only ever reads it.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use harrier_enrich::container::Runtime;
use harrier_enrich::{Workload, WorkloadSource};
use lru::LruCache;
use parking_lot::{Condvar, Mutex};
use tokio::sync::mpsc;

use crate::config::RuntimeConfig;
use crate::cri::CriClient;
use crate::engine::EngineClient;
use crate::error::LookupError;
use crate::stats::{EndpointStats, RuntimeStats};

/// What the cache holds for one container.
#[derive(Debug, Clone)]
enum Slot {
    /// Queued or being looked up.
    Pending,
    /// The runtime's answer.
    Known(Arc<Workload>),
    /// No runtime could name it; asked again after this instant.
    Unnamed(Instant),
}

/// One look-up request.
#[derive(Debug)]
struct Request {
    id: String,
    runtime: Runtime,
}

/// State shared by the callers and the look-up thread.
#[derive(Debug)]
struct Shared {
    cache: Mutex<LruCache<String, Slot>>,
    /// Signalled whenever a look-up finishes.
    settled: Condvar,
    retry_after: Duration,
    queued: AtomicU64,
    dropped: AtomicU64,
    evicted: AtomicU64,
    gone: AtomicU64,
    unnamed: AtomicU64,
    endpoints: Mutex<Vec<EndpointStats>>,
}

/// The workload metadata source over the configured container runtimes.
///
/// [`container_seen`](WorkloadSource::container_seen) queues a look-up
/// (bounded queue; overflow is dropped and counted) unless the container is
/// cached; a thread asks, in order, the runtimes the cgroup path points to
/// (CRI endpoints for Kubernetes and containerd/CRI-O containers, Docker for
/// `docker`, Podman for `libpod`; all of them when the path does not say),
/// and caches the first answer (least recently used evicted beyond
/// `max_containers`, removed when the cgroup goes). An unreachable runtime
/// is a warning (when it goes down) and a counter, never an error: its
/// containers keep their cgroup identity and are asked again after
/// `retry_after`.
#[derive(Debug)]
pub struct RuntimeMetadata {
    shared: Arc<Shared>,
    queue: mpsc::Sender<Request>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RuntimeMetadata {
    /// Starts the look-up thread over the runtimes in `config`.
    pub fn start(config: &RuntimeConfig) -> std::io::Result<RuntimeMetadata> {
        let capacity = NonZeroUsize::new(config.max_containers.max(1)).expect("at least one");
        let endpoints = Endpoints::new(config);
        let shared = Arc::new(Shared {
            cache: Mutex::new(LruCache::new(capacity)),
            settled: Condvar::new(),
            retry_after: config.retry_after,
            queued: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            gone: AtomicU64::new(0),
            unnamed: AtomicU64::new(0),
            endpoints: Mutex::new(endpoints.stats()),
        });
        let (queue, rx) = mpsc::channel(config.queue_len.max(1));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let worker_shared = shared.clone();
        let timeout = config.timeout;
        let thread = std::thread::Builder::new()
            .name("harrier-runtime".into())
            .spawn(move || runtime.block_on(serve(rx, endpoints, worker_shared, timeout)))?;
        Ok(RuntimeMetadata {
            shared,
            queue,
            thread: Some(thread),
        })
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> RuntimeStats {
        let s = &self.shared;
        let cache = s.cache.lock();
        let cached = cache
            .iter()
            .filter(|(_, slot)| matches!(slot, Slot::Known(_)))
            .count() as u64;
        drop(cache);
        RuntimeStats {
            containers_cached: cached,
            lookups_queued: s.queued.load(Ordering::Relaxed),
            lookups_dropped: s.dropped.load(Ordering::Relaxed),
            containers_evicted: s.evicted.load(Ordering::Relaxed),
            containers_gone: s.gone.load(Ordering::Relaxed),
            containers_unnamed: s.unnamed.load(Ordering::Relaxed),
            endpoints: s.endpoints.lock().clone(),
        }
    }
}

impl Drop for RuntimeMetadata {
    fn drop(&mut self) {
        // Closing the queue ends the thread once its current look-up is done.
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.queue, closed));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl WorkloadSource for RuntimeMetadata {
    fn container_seen(&self, container_id: &str, runtime: Runtime) {
        let s = &self.shared;
        {
            let mut cache = s.cache.lock();
            match cache.get(container_id) {
                Some(Slot::Known(_) | Slot::Pending) => return,
                Some(Slot::Unnamed(until)) if Instant::now() < *until => return,
                _ => {}
            }
            if let Some((old, _)) = cache.push(container_id.to_string(), Slot::Pending)
                && old != container_id
            {
                s.evicted.fetch_add(1, Ordering::Relaxed);
            }
        }
        let request = Request {
            id: container_id.to_string(),
            runtime,
        };
        match self.queue.try_send(request) {
            Ok(()) => {
                s.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                s.dropped.fetch_add(1, Ordering::Relaxed);
                s.cache.lock().pop(container_id);
                s.settled.notify_all();
            }
        }
    }

    fn container_gone(&self, container_id: &str) {
        if self.shared.cache.lock().pop(container_id).is_some() {
            self.shared.gone.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn workload(&self, container_id: &str) -> Option<Arc<Workload>> {
        match self.shared.cache.lock().peek(container_id) {
            Some(Slot::Known(w)) => Some(w.clone()),
            _ => None,
        }
    }

    fn workload_settled(&self, container_id: &str, wait: Duration) -> Option<Arc<Workload>> {
        let deadline = Instant::now() + wait;
        let mut cache = self.shared.cache.lock();
        loop {
            match cache.peek(container_id) {
                Some(Slot::Known(w)) => return Some(w.clone()),
                Some(Slot::Pending) => {
                    if self
                        .shared
                        .settled
                        .wait_until(&mut cache, deadline)
                        .timed_out()
                    {
                        return None;
                    }
                }
                _ => return None,
            }
        }
    }
}

/// The look-up thread: answers requests until the queue closes.
async fn serve(
    mut rx: mpsc::Receiver<Request>,
    mut endpoints: Endpoints,
    shared: Arc<Shared>,
    timeout: Duration,
) {
    while let Some(request) = rx.recv().await {
        let found = endpoints.lookup(&request, timeout).await;
        *shared.endpoints.lock() = endpoints.stats();
        let slot = match found {
            Some(workload) => Slot::Known(Arc::new(workload)),
            None => {
                shared.unnamed.fetch_add(1, Ordering::Relaxed);
                Slot::Unnamed(Instant::now() + shared.retry_after)
            }
        };
        let mut cache = shared.cache.lock();
        // Only if still wanted: the container may have gone meanwhile.
        if let Some(current) = cache.peek_mut(&request.id) {
            *current = slot;
        }
        drop(cache);
        shared.settled.notify_all();
    }
}

/// A runtime endpoint and its client.
#[derive(Debug)]
enum Client {
    /// A CRI endpoint, connected lazily (and again after a failure).
    Cri(Option<CriClient>),
    /// A Docker-compatible Engine API endpoint.
    Engine(EngineClient),
}

/// Which runtimes an endpoint can answer for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Cri,
    Docker,
    Podman,
}

/// One configured endpoint.
#[derive(Debug)]
struct Endpoint {
    socket: PathBuf,
    kind: Kind,
    client: Client,
    stats: EndpointStats,
}

/// Every configured endpoint, in the order they are asked.
#[derive(Debug)]
struct Endpoints {
    all: Vec<Endpoint>,
}

impl Endpoints {
    fn new(config: &RuntimeConfig) -> Endpoints {
        let mut all = Vec::new();
        let mut add = |sockets: &[PathBuf], kind: Kind| {
            for socket in sockets {
                let client = match kind {
                    Kind::Cri => Client::Cri(None),
                    Kind::Docker => Client::Engine(EngineClient::new(socket, "docker")),
                    Kind::Podman => Client::Engine(EngineClient::new(socket, "podman")),
                };
                all.push(Endpoint {
                    socket: socket.clone(),
                    kind,
                    client,
                    stats: EndpointStats::new(socket, kind_name(kind)),
                });
            }
        };
        add(&config.cri_sockets, Kind::Cri);
        add(&config.docker_sockets, Kind::Docker);
        add(&config.podman_sockets, Kind::Podman);
        for e in &all {
            if e.socket.exists() {
                tracing::info!(socket = %e.socket.display(), runtime = kind_name(e.kind), "container runtime endpoint");
            }
        }
        Endpoints { all }
    }

    fn stats(&self) -> Vec<EndpointStats> {
        self.all.iter().map(|e| e.stats.clone()).collect()
    }

    /// Asks the endpoints that can know a container of this runtime, in
    /// order; the first that knows it answers.
    async fn lookup(&mut self, request: &Request, timeout: Duration) -> Option<Workload> {
        let wanted: &[Kind] = match request.runtime {
            Runtime::Containerd | Runtime::CriO => &[Kind::Cri],
            Runtime::Docker => &[Kind::Docker],
            Runtime::Podman => &[Kind::Podman],
            Runtime::Unknown => &[Kind::Cri, Kind::Docker, Kind::Podman],
        };
        for endpoint in self.all.iter_mut().filter(|e| wanted.contains(&e.kind)) {
            // A socket that was never there is not a runtime of this host.
            if !endpoint.socket.exists() && !endpoint.stats.ever_up {
                continue;
            }
            let started = Instant::now();
            let answer = tokio::time::timeout(timeout, endpoint.ask(&request.id, timeout))
                .await
                .unwrap_or_else(|_| {
                    Err(LookupError::Unavailable {
                        endpoint: endpoint.socket.display().to_string(),
                        reason: format!("no answer within {timeout:?}"),
                    })
                });
            let elapsed = started.elapsed();
            match answer {
                Ok(found) => {
                    endpoint.stats.record_answer(found.is_some(), elapsed);
                    if let Some(workload) = found {
                        return Some(workload);
                    }
                }
                Err(error) => {
                    if endpoint.stats.record_error() {
                        tracing::warn!(
                            %error,
                            "container runtime down: containers it runs are named from their cgroup only"
                        );
                    }
                    if let Client::Cri(client) = &mut endpoint.client {
                        *client = None;
                    }
                }
            }
        }
        None
    }
}

impl Endpoint {
    /// One look-up at this endpoint, connecting first if needed.
    async fn ask(&mut self, id: &str, timeout: Duration) -> Result<Option<Workload>, LookupError> {
        match &mut self.client {
            Client::Engine(engine) => engine.lookup(id).await,
            Client::Cri(slot) => {
                if slot.is_none() {
                    let client = CriClient::connect(&self.socket, timeout).await?;
                    tracing::debug!(socket = %client.socket().display(), "CRI connected");
                    *slot = Some(client);
                }
                let client = slot.as_mut().expect("connected above");
                client.lookup(id).await
            }
        }
    }
}

/// The name an endpoint kind has in metrics.
fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Cri => "cri",
        Kind::Docker => "docker",
        Kind::Podman => "podman",
    }
}
