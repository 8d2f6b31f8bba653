//! Test support: capture fixtures, a harness around a [`Detector`], and the
//! self-test runner detectors call from `self_test`.
//!
//! Fixtures use the capture format of `harrier record`: a header line
//! `{"harrier_capture":1,"wit":"0.1.0"}`, then one event per line with
//! `kind` and `pid` up front. The harness feeds events to the detector under
//! a [`FakeHost`] that learns processes and recent writes from the same
//! events, as the host's enrichment does. The header may declare
//! threat-intelligence indicators for the fake host,
//! `"indicators":[{"kind":"domain","value":"*.evil.example","category":"command-and-control"}]`
//! (see [`FakeIndicator`]); the host ignores them.

use std::path::Path;

use crate::fake::{self, FakeHost, FakeIndicator};
use crate::open_interest::wants_open;
use crate::{Detector, Event, EventDetail, Finding, ProcessInfo, finding::Severity, kind};

/// Parse a capture from text; errors name the 1-based line.
pub fn parse_fixture(text: &str) -> Result<Vec<Event>, String> {
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Err("line 1: empty capture, expected a header".to_string());
    };
    let header: serde_json::Value =
        serde_json::from_str(header).map_err(|e| format!("line 1: bad header: {e}"))?;
    if header.get("harrier_capture") != Some(&serde_json::Value::from(1)) {
        return Err("line 1: not a version 1 Harrier capture header".to_string());
    }
    let mut events = Vec::new();
    for (i, line) in lines {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let n = i + 1;
        let mut value: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("line {n}: {e}"))?;
        crate::exact_ints::from_text(&mut value);
        let declared = value
            .get("kind")
            .and_then(|k| k.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("line {n}: no `kind` field"))?;
        let event: Event = serde_json::from_value(value).map_err(|e| format!("line {n}: {e}"))?;
        let actual = kind::name(kind::of(&event.detail));
        if declared != actual {
            return Err(format!(
                "line {n}: kind `{declared}` does not match its detail `{actual}`"
            ));
        }
        events.push(event);
    }
    Ok(events)
}

/// The indicators a fixture's header declares (none if it declares none).
pub fn fixture_indicators(text: &str) -> Result<Vec<FakeIndicator>, String> {
    let header = text.lines().next().unwrap_or("");
    let header: serde_json::Value =
        serde_json::from_str(header).map_err(|e| format!("line 1: bad header: {e}"))?;
    match header.get("indicators") {
        None => Ok(Vec::new()),
        Some(list) => serde_json::from_value(list.clone())
            .map_err(|e| format!("line 1: bad `indicators`: {e}")),
    }
}

/// Load a capture fixture file; errors name the file and line.
pub fn load_fixture(path: impl AsRef<Path>) -> Result<Vec<Event>, String> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_fixture(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A detector under test with its fake host.
pub struct Harness<D: Detector> {
    detector: D,
    host: FakeHost,
    /// Whether the fake host learns from the events fed (default true).
    pub observe: bool,
}

impl<D: Detector> Harness<D> {
    /// Build the detector from `config` with an empty fake host.
    pub fn new(config: &str) -> Result<Self, String> {
        Ok(Self {
            detector: D::new(config)?,
            host: FakeHost::new(),
            observe: true,
        })
    }

    /// The fake host, to add processes, recent writes or hashes.
    pub fn host_mut(&mut self) -> &mut FakeHost {
        &mut self.host
    }

    /// The detector.
    pub fn detector(&mut self) -> &mut D {
        &mut self.detector
    }

    /// Run `f` with this harness's fake host installed.
    fn hosted<R>(&mut self, f: impl FnOnce(&mut D) -> R) -> R {
        let previous = fake::install(std::mem::take(&mut self.host));
        let r = f(&mut self.detector);
        self.host = fake::uninstall().unwrap_or_default();
        if let Some(p) = previous {
            fake::install(p);
        }
        r
    }

    /// Feed a batch (the fake host learns from it first, as the host's
    /// enrichment runs before detectors) and return the findings. Like the
    /// host, it holds back the file opens the detector's
    /// [`Detector::read_path_prefixes`] does not want.
    pub fn run(&mut self, events: &[Event]) -> Vec<Finding> {
        if self.observe {
            for e in events {
                self.host.observe(e);
            }
        }
        let wanted = self.detector.read_path_prefixes().map(|prefixes| {
            events
                .iter()
                .filter(|e| match &e.detail {
                    EventDetail::FileOpen(open) => {
                        wants_open(Some(&prefixes), &open.path, open.flags)
                    }
                    _ => true,
                })
                .cloned()
                .collect::<Vec<_>>()
        });
        self.hosted(|d| {
            let mut out = Vec::new();
            d.on_events(wanted.as_deref().unwrap_or(events), &mut out);
            out
        })
    }

    /// Feed a fixture file as one batch, after adding the indicators its
    /// header declares to the fake host.
    pub fn run_fixture(&mut self, path: impl AsRef<Path>) -> Result<Vec<Finding>, String> {
        let path = path.as_ref();
        let events = load_fixture(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let declared = fixture_indicators(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        self.host.indicators.extend(declared);
        Ok(self.run(&events))
    }

    /// Call tick at `now_ns` (also the fake clock).
    pub fn tick(&mut self, now_ns: u64) -> Vec<Finding> {
        self.host.now_ns = now_ns;
        self.hosted(|d| {
            let mut out = Vec::new();
            d.tick(now_ns, &mut out);
            out
        })
    }
}

/// A process-table entry with the given ids and executable (uid 0, no container).
pub fn process_info(pid: u32, ppid: u32, exe: &str) -> ProcessInfo {
    ProcessInfo {
        pid,
        ppid,
        uid: 0,
        euid: 0,
        exe: exe.to_string(),
        cmdline: exe.to_string(),
        start_time_ns: 0,
        container_id: None,
        pod_uid: None,
        cwd: String::new(),
        user_name: Some("root".to_string()),
        exe_sha256: None,
        workload: None,
    }
}

/// The finding types of `findings`, sorted.
pub fn types(findings: &[Finding]) -> Vec<String> {
    let mut t: Vec<String> = findings.iter().map(|f| f.finding_type.clone()).collect();
    t.sort();
    t
}

/// Findings at Medium (4.0) or worse, as "type (severity) pid" lines.
pub fn medium_or_worse(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.severity >= 4.0)
        .map(|f| {
            format!(
                "{} ({}) pid {} {:?}",
                f.finding_type, f.severity, f.pid, f.evidence
            )
        })
        .collect()
}

/// Check findings against what the SDK promises the host: valid severity,
/// a declared type, at least one cited event or evidence.
pub fn check_findings(declared: &[String], findings: &[Finding]) -> Result<(), String> {
    for f in findings {
        Severity::new(f.severity).map_err(|e| format!("{}: {e}", f.finding_type))?;
        if !declared.contains(&f.finding_type) {
            return Err(format!(
                "finding type `{}` is not declared in metadata()",
                f.finding_type
            ));
        }
        if f.event_seqs.is_empty() {
            return Err(format!("{} cites no event", f.finding_type));
        }
    }
    Ok(())
}

/// A detector's self-test: run a fresh instance (built from `config`) over
/// the embedded `fixture` under a fake host prepared by `prepare` (plus the
/// indicators the fixture's header declares), and check
/// the finding types are exactly `expected` (order ignored). Used on wasm32
/// too: the fake host replaces the live one for the duration.
pub fn self_test<D: Detector>(
    config: &str,
    fixture: &str,
    prepare: impl FnOnce(&mut FakeHost),
    expected: &[&str],
) -> Result<(), String> {
    let events = parse_fixture(fixture).map_err(|e| format!("self-test fixture: {e}"))?;
    let mut h = Harness::<D>::new(config).map_err(|e| format!("self-test config: {e}"))?;
    for e in &events {
        h.host.observe(e);
    }
    h.host.indicators =
        fixture_indicators(fixture).map_err(|e| format!("self-test fixture: {e}"))?;
    prepare(&mut h.host);
    h.observe = false;
    let mut findings = h.run(&events);
    let last = events.last().map(|e| e.time_ns).unwrap_or(0);
    findings.extend(h.tick(last + 1));
    check_findings(&D::metadata().finding_types, &findings)?;
    let got = types(&findings);
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    if got != want {
        return Err(format!(
            "self-test: expected findings {want:?}, got {got:?}"
        ));
    }
    Ok(())
}

/// The tests every detector crate shares, and the path of the shared
/// fixtures: defines `FIXTURES` (`plugins/fixtures/`, with a trailing `/`)
/// and the tests `default_config_is_accepted` (the crate's
/// `default-config.json`, which the host hands to `init`, is valid) and
/// `self_test_passes`. Use it inside the crate's `#[cfg(test)]` module.
#[macro_export]
macro_rules! detector_tests {
    ($detector:ty) => {
        const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/");

        #[test]
        fn default_config_is_accepted() {
            let default = std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/default-config.json"
            ))
            .expect("the crate has a default-config.json");
            if let Err(e) = <$detector as $crate::Detector>::new(&default) {
                panic!("default-config.json is refused: {e}");
            }
        }

        #[test]
        fn self_test_passes() {
            <$detector as $crate::Detector>::self_test().unwrap();
        }

        /// The findings of `fixture` (a path under plugins/fixtures) with
        /// `config`, after `setup` prepared the fake host.
        // Not every detector's tests need both helpers.
        #[allow(dead_code)]
        fn run_with(
            config: &str,
            fixture: &str,
            setup: impl FnOnce(&mut $crate::testing::Harness<$detector>),
        ) -> Vec<$crate::Finding> {
            let mut h = $crate::testing::Harness::<$detector>::new(config).unwrap();
            setup(&mut h);
            h.run_fixture(format!("{FIXTURES}{fixture}")).unwrap()
        }

        /// The findings of `fixture` with `config` on an empty fake host.
        #[allow(dead_code)]
        fn run(config: &str, fixture: &str) -> Vec<$crate::Finding> {
            run_with(config, fixture, |_| {})
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = r#"{"harrier_capture":1,"wit":"0.1.0"}
{"kind":"exec","pid":10,"seq":1,"time_ns":5,"process":{"pid":10,"tid":10,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"sh","exe":"/bin/sh","container_id":null},"detail":{"Exec":{"filename":"/usr/bin/true","args":["true"],"args_truncated":false,"cwd":"/","ld_preload":null,"ld_library_path":null,"file_mode":33261,"dev":1,"inode":2,"mtime_ns":3}}}
{"kind":"net-connect","pid":10,"seq":2,"time_ns":6,"process":{"pid":10,"tid":10,"ppid":1,"uid":0,"euid":0,"gid":0,"egid":0,"comm":"true","exe":"/usr/bin/true","container_id":"abc"},"detail":{"NetConnect":{"fd":3,"address":{"Ipv4":["127.0.0.1",80]},"result":0}}}
"#;

    #[test]
    fn fixtures_parse_in_capture_format() {
        let events = parse_fixture(FIXTURE).unwrap();
        assert_eq!(events.len(), 2);
        assert!(matches!(
            &events[1].detail,
            crate::EventDetail::NetConnect(n) if n.address == crate::SocketAddress::Ipv4(("127.0.0.1".into(), 80))
        ));
        let mut host = FakeHost::new();
        for e in &events {
            host.observe(e);
        }
        assert_eq!(host.processes[&10].exe, "/usr/bin/true");
        assert_eq!(host.now_ns, 6);
    }

    #[test]
    fn fixture_headers_declare_indicators_for_the_fake_host() {
        use crate::IndicatorKind;
        let header = r#"{"harrier_capture":1,"wit":"0.1.0","indicators":[{"kind":"domain","value":"*.evil.example","category":"command-and-control"},{"kind":"ip","value":"198.51.100.0/24","category":"tor-relay","source":"list"},{"kind":"ip","value":"198.51.100.7","category":"drop-point"}]}"#;
        let mut host = FakeHost::new();
        host.indicators = fixture_indicators(header).unwrap();
        let hit = host
            .intel_match(IndicatorKind::Domain, "A.Evil.Example.")
            .unwrap();
        assert_eq!(
            (
                hit.category.as_str(),
                hit.indicator.as_str(),
                hit.source.as_str()
            ),
            ("command-and-control", "evil.example", "fixture")
        );
        assert!(
            host.intel_match(IndicatorKind::Domain, "notevil.example")
                .is_none()
        );
        assert_eq!(
            host.intel_match(IndicatorKind::Ip, "198.51.100.7")
                .unwrap()
                .category,
            "drop-point"
        );
        assert_eq!(
            host.intel_match(IndicatorKind::Ip, "198.51.100.9")
                .unwrap()
                .source,
            "list"
        );
        assert!(
            host.intel_match(IndicatorKind::Ip, "198.51.101.9")
                .is_none()
        );
        assert!(
            host.intel_match(IndicatorKind::Sha256, "198.51.100.7")
                .is_none()
        );
        let bad = header.replace(r#""kind":"domain""#, r#""kind":"url""#);
        assert!(
            fixture_indicators(&bad)
                .unwrap_err()
                .contains("unknown indicator kind `url`")
        );
        assert!(fixture_indicators(FIXTURE).unwrap().is_empty());
    }

    #[test]
    fn fixture_errors_name_the_line() {
        let lying = FIXTURE.replace("\"kind\":\"exec\"", "\"kind\":\"exit\"");
        assert!(parse_fixture(&lying).unwrap_err().starts_with("line 2:"));
        let broken = FIXTURE.replace("\"seq\":2", "\"seq\":\"x\"");
        assert!(parse_fixture(&broken).unwrap_err().starts_with("line 3:"));
        assert!(parse_fixture("{}\n").unwrap_err().starts_with("line 1:"));
    }

    #[test]
    fn fake_host_tracks_ancestry_and_writes() {
        let mut host = FakeHost::new();
        let mk = |pid, ppid, exe: &str| crate::ProcessInfo {
            pid,
            ppid,
            uid: 0,
            euid: 0,
            exe: exe.into(),
            cmdline: String::new(),
            start_time_ns: 0,
            container_id: None,
            pod_uid: None,
            cwd: String::new(),
            user_name: None,
            exe_sha256: None,
            workload: None,
        };
        host.add_process(mk(1, 0, "/sbin/init"))
            .add_process(mk(2, 1, "/usr/sbin/sshd"))
            .add_process(mk(3, 2, "/bin/bash"))
            .add_recent_write("/tmp/x", 3, 9, true);
        let chain: Vec<u32> = host.ancestry(3, 8).iter().map(|p| p.pid).collect();
        assert_eq!(chain, vec![2, 1]);
        assert_eq!(host.ancestry(3, 1).len(), 1);
        assert_eq!(host.recent_writes["/tmp/x"].writer_exe, "/bin/bash");
    }
}
