//! Webhook sink against real HTTP servers on loopback: a healthy one, one
//! that returns errors before succeeding, one that always fails, and one that
//! stalls (which must block neither detection nor the other sinks).

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::sample_finding;
use harrier_findings::{Format, SinkSettings, SinkSpec, Sinks, UnifiedFinding};

/// What the test server does with its n-th request (0-based).
#[derive(Clone, Copy)]
enum Reply {
    Status(u16),
    Stall,
}

/// A request the test server received.
struct Received {
    content_type: String,
    body: String,
}

/// An HTTP server on 127.0.0.1 with a scripted behaviour.
struct TestServer {
    url: String,
    server: Arc<tiny_http::Server>,
    received: Arc<Mutex<Vec<Received>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    fn start(script: impl Fn(usize) -> Reply + Send + 'static) -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_server, thread_received, thread_stop) =
            (server.clone(), received.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let count = AtomicUsize::new(0);
            for mut request in thread_server.incoming_requests() {
                let mut body = String::new();
                request.as_reader().read_to_string(&mut body).unwrap();
                let content_type = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Content-Type"))
                    .map(|h| h.value.to_string())
                    .unwrap_or_default();
                thread_received
                    .lock()
                    .unwrap()
                    .push(Received { content_type, body });
                match script(count.fetch_add(1, Ordering::SeqCst)) {
                    Reply::Status(code) => {
                        let response =
                            tiny_http::Response::from_string("ok").with_status_code(code);
                        let _ = request.respond(response);
                    }
                    Reply::Stall => {
                        while !thread_stop.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        return;
                    }
                }
            }
        });
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            server,
            received,
            stop,
            thread: Some(thread),
        }
    }

    fn bodies(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.body.clone())
            .collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn fast_retries() -> SinkSettings {
    SinkSettings {
        webhook_retries: 3,
        webhook_backoff: Duration::from_millis(20),
        webhook_max_backoff: Duration::from_millis(100),
        webhook_timeout: Duration::from_secs(5),
        ..SinkSettings::default()
    }
}

fn numbered(count: u64) -> Vec<UnifiedFinding> {
    (1..=count)
        .map(|i| {
            let mut f = sample_finding(false);
            f.count = i;
            f
        })
        .collect()
}

#[test]
fn delivers_each_finding_as_a_json_post() {
    let server = TestServer::start(|_| Reply::Status(200));
    let spec = SinkSpec::parse_with(&format!("webhook:{}", server.url), &fast_retries()).unwrap();
    let sinks = Sinks::start(&[spec], Format::Native).unwrap();
    for finding in numbered(3) {
        sinks.emit(&finding);
    }
    let report = sinks.shutdown(Duration::from_secs(10));
    assert!(report.unfinished.is_empty());
    let stats = &report.sinks[0];
    assert_eq!(
        (stats.delivered, stats.failed, stats.dropped, stats.retries),
        (3, 0, 0, 0)
    );
    let received = server.received.lock().unwrap();
    assert_eq!(received.len(), 3);
    for (i, request) in received.iter().enumerate() {
        assert_eq!(request.content_type, "application/json");
        let json: serde_json::Value = serde_json::from_str(&request.body).unwrap();
        assert_eq!(json["count"], i as u64 + 1);
        assert_eq!(json["type"], "Impact:Runtime/CryptoMinerExecuted");
    }
}

#[test]
fn retries_server_errors_with_backoff_until_accepted() {
    let server = TestServer::start(|n| {
        if n < 2 {
            Reply::Status(500)
        } else {
            Reply::Status(200)
        }
    });
    let spec = SinkSpec::parse_with(&format!("webhook:{}", server.url), &fast_retries()).unwrap();
    let sinks = Sinks::start(&[spec], Format::Falco).unwrap();
    let started = Instant::now();
    sinks.emit(&sample_finding(false));
    let report = sinks.shutdown(Duration::from_secs(10));
    let stats = &report.sinks[0];
    assert_eq!((stats.delivered, stats.failed, stats.retries), (1, 0, 2));
    assert!(
        started.elapsed() >= Duration::from_millis(60),
        "backed off 20 + 40 ms"
    );
    let bodies = server.bodies();
    assert_eq!(bodies.len(), 3);
    assert!(
        bodies.iter().all(|b| *b == bodies[0]),
        "the same finding each time"
    );
    let json: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(json["rule"], "Impact:Runtime/CryptoMinerExecuted");
}

#[test]
fn gives_up_after_the_retry_budget_and_on_client_errors() {
    let failing = TestServer::start(|_| Reply::Status(503));
    let refusing = TestServer::start(|_| Reply::Status(400));
    let specs = [
        SinkSpec::parse_with(&format!("webhook:{}", failing.url), &fast_retries()).unwrap(),
        SinkSpec::parse_with(&format!("webhook:{}", refusing.url), &fast_retries()).unwrap(),
    ];
    let sinks = Sinks::start(&specs, Format::Native).unwrap();
    sinks.emit(&sample_finding(false));
    let report = sinks.shutdown(Duration::from_secs(10));
    assert!(report.unfinished.is_empty());
    assert_eq!((report.sinks[0].failed, report.sinks[0].retries), (1, 3));
    assert_eq!(failing.bodies().len(), 4, "first attempt + 3 retries");
    assert_eq!((report.sinks[1].failed, report.sinks[1].retries), (1, 0));
    assert_eq!(refusing.bodies().len(), 1, "4xx is not retried");
}

#[test]
fn a_stalled_webhook_blocks_neither_emit_nor_other_sinks() {
    let stalled = TestServer::start(|_| Reply::Stall);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("findings.json");
    let settings = SinkSettings {
        queue_capacity: 4,
        webhook_timeout: Duration::from_secs(30),
        ..fast_retries()
    };
    let specs = [
        SinkSpec::parse_with(&format!("webhook:{}", stalled.url), &settings).unwrap(),
        SinkSpec::parse_with("webhook:http://127.0.0.1:1/refused", &settings).unwrap(),
        SinkSpec::parse_with(
            &format!("file:{}", path.display()),
            &SinkSettings::default(),
        )
        .unwrap(),
    ];
    let sinks = Sinks::start(&specs, Format::Native).unwrap();
    let findings = numbered(50);
    let started = Instant::now();
    for finding in &findings {
        sinks.emit(finding);
    }
    let emit_time = started.elapsed();
    assert!(
        emit_time < Duration::from_millis(200),
        "50 emits took {emit_time:?}"
    );

    // The file sink gets everything while the webhook hangs.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .count();
        if lines == 50 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "file sink stuck at {lines} lines"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = sinks.stats();
    assert!(stats[0].accepted <= 5, "{:?}", stats[0]);
    assert_eq!(
        stats[0].accepted + stats[0].dropped,
        50,
        "drops are counted"
    );
    assert_eq!(stats[2].delivered, 50);

    let started = Instant::now();
    let report = sinks.shutdown(Duration::from_millis(300));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(
        report.unfinished.iter().any(|s| s.contains(&stalled.url)),
        "{report:?}"
    );
    assert!(
        !report.unfinished.iter().any(|s| s.starts_with("file:")),
        "{report:?}"
    );
    assert!(report.sinks[0].pending > 0);
}
