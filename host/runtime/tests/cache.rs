//! The metadata cache against an Engine API server on a unix socket: look-ups
//! happen on the source's thread and land in the cache, the cache stays
//! bounded and forgets containers that go, a dead runtime is counted and
//! leaves containers unnamed, and what 500 cached containers cost in memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harrier_enrich::WorkloadSource;
use harrier_enrich::container::Runtime;
use harrier_runtime::{RuntimeConfig, RuntimeMetadata};

/// Counts live heap bytes, so the cache's footprint can be measured.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests share the allocation counter: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// An Engine API server answering `GET /containers/{id}/json` for ids
/// starting with `c` (404 otherwise), like dockerd; counts requests.
fn engine_server(socket: &Path) -> Arc<AtomicUsize> {
    let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let count = requests.clone();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut buf = [0u8; 2048];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_string();
            count.fetch_add(1, Ordering::Relaxed);
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            let id = path
                .trim_start_matches("/containers/")
                .trim_end_matches("/json");
            let response = if path.starts_with("/images/") {
                "HTTP/1.0 200 OK\r\n\r\n{\"RepoDigests\":[\"registry.example/team/app@sha256:ab\"]}"
                    .to_string()
            } else if id.starts_with('c') {
                let labels: Vec<String> = (0..8)
                    .map(|i| format!("\"label-{i}.example.com/key\":\"value-{i}-{id}\""))
                    .collect();
                format!(
                    "HTTP/1.0 200 OK\r\n\r\n{{\"Id\":\"{id}\",\"Name\":\"/app-{id}\",\"Image\":\"sha256:{id}\",\
                     \"Config\":{{\"Image\":\"registry.example/team/app:1.4.2\",\"Labels\":{{{}}}}},\
                     \"HostConfig\":{{\"Privileged\":false}}}}",
                    labels.join(",")
                )
            } else {
                "HTTP/1.0 404 Not Found\r\n\r\n{\"message\":\"No such container\"}".to_string()
            };
            let _ = stream.write_all(response.as_bytes());
        }
    });
    requests
}

fn config(socket: &Path, max: usize) -> RuntimeConfig {
    RuntimeConfig {
        cri_sockets: vec![],
        docker_sockets: vec![socket.to_path_buf()],
        podman_sockets: vec![],
        timeout: Duration::from_secs(2),
        max_containers: max,
        queue_len: 4096,
        retry_after: Duration::from_secs(60),
        ..RuntimeConfig::default()
    }
}

fn id(n: usize) -> String {
    format!("c{n:063x}")
}

/// Waits until `f` holds (5 s at most).
fn eventually(f: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[test]
fn lookups_fill_the_cache_off_the_caller_and_go_with_the_container() {
    let _serial = SERIAL.lock().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("docker.sock");
    let requests = engine_server(&socket);
    let source = RuntimeMetadata::start(&config(&socket, 3)).unwrap();
    let first = id(1);
    source.container_seen(&first, Runtime::Docker);
    // The caller never waits; a finding may wait for a look-up under way.
    let w = source
        .workload_settled(&first, Duration::from_secs(5))
        .expect("answered");
    assert_eq!(w.runtime, "docker");
    assert_eq!(
        w.container_name.as_deref(),
        Some(format!("app-{first}").as_str())
    );
    assert_eq!(w.image.as_deref(), Some("registry.example/team/app:1.4.2"));
    assert_eq!(
        w.image_digest.as_deref(),
        Some("registry.example/team/app@sha256:ab")
    );
    assert_eq!(w.privileged, Some(false));
    // Seen again: no second look-up.
    let before = requests.load(Ordering::Relaxed);
    source.container_seen(&first, Runtime::Docker);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(requests.load(Ordering::Relaxed), before);
    // Unknown to the runtime: unnamed, counted.
    source.container_seen("d-unknown", Runtime::Docker);
    assert!(eventually(|| source.stats().containers_unnamed == 1));
    assert!(source.workload("d-unknown").is_none());
    // Bounded: the least recently used goes.
    for n in 2..=5 {
        source.container_seen(&id(n), Runtime::Docker);
    }
    assert!(eventually(|| source.workload(&id(5)).is_some()));
    assert!(source.workload(&first).is_none(), "evicted");
    assert!(source.stats().containers_cached <= 3);
    assert!(source.stats().containers_evicted >= 2);
    // The cgroup goes: so does the entry.
    source.container_gone(&id(5));
    assert!(source.workload(&id(5)).is_none());
    assert_eq!(source.stats().containers_gone, 1);
    let endpoint = &source.stats().endpoints[0];
    assert!(
        endpoint.up && endpoint.found >= 4 && endpoint.errors == 0,
        "{endpoint:?}"
    );
    println!(
        "engine API look-up latency: mean {} us, max {} us over {} look-ups",
        endpoint.latency_mean_us(),
        endpoint.latency_max_us,
        endpoint.answered
    );
}

#[test]
fn a_dead_runtime_is_counted_and_leaves_containers_unnamed() {
    let _serial = SERIAL.lock().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("docker.sock");
    let _requests = engine_server(&socket);
    let source = RuntimeMetadata::start(&config(&socket, 100)).unwrap();
    source.container_seen(&id(1), Runtime::Docker);
    assert!(
        source
            .workload_settled(&id(1), Duration::from_secs(5))
            .is_some()
    );
    // The runtime goes away (its socket with it).
    std::fs::remove_file(&socket).unwrap();
    source.container_seen(&id(2), Runtime::Docker);
    assert!(eventually(|| source.stats().endpoints[0].errors == 1));
    let stats = source.stats();
    assert!(!stats.endpoints[0].up, "{stats:?}");
    assert_eq!(stats.containers_unnamed, 1);
    assert!(source.workload(&id(2)).is_none());
    // What was known stays known.
    assert!(source.workload(&id(1)).is_some());
}

#[test]
fn memory_of_500_cached_containers() {
    let _serial = SERIAL.lock().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("docker.sock");
    let _requests = engine_server(&socket);
    let source = RuntimeMetadata::start(&config(&socket, 4096)).unwrap();
    // Warm the thread's runtime and buffers first.
    source.container_seen(&id(100_000), Runtime::Docker);
    assert!(
        source
            .workload_settled(&id(100_000), Duration::from_secs(5))
            .is_some()
    );
    let before = LIVE.load(Ordering::Relaxed);
    for n in 0..500 {
        source.container_seen(&id(n), Runtime::Docker);
    }
    assert!(eventually(|| source.stats().containers_cached == 501));
    let bytes = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "metadata cache: 500 containers (8 labels each) hold {bytes} bytes, {} per container",
        bytes / 500
    );
    assert!(
        bytes > 500 * 200,
        "a workload is a few hundred bytes at least: {bytes}"
    );
    assert!(
        bytes < 4 * 1024 * 1024,
        "500 containers should fit in 4 MiB: {bytes}"
    );
}
