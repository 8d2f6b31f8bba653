//! Harrier detector `crypto-miner`: `Impact:Runtime/CryptoMinerExecuted`.
//!
//! Reports an execution when the program is a known miner (by file name or
//! `argv[0]`), when an argument is a stratum URL (`stratum+tcp://`,
//! `stratum+ssl://`, ...), or when an argument names a known mining pool.
//! Configuration (JSON, see `default-config.json`): `extra_miner_names`,
//! `extra_pool_domains`, plus the shared policy keys of
//! [`harrier_sdk::config`].

#![deny(missing_docs)]

use aho_corasick::{AhoCorasick, MatchKind};
use harrier_sdk::matching::basename;
use harrier_sdk::{
    Detector, Event, EventDetail, EventKind, ExecEvent, Finding, FindingBuilder, FindingSpec,
    Metadata, Policy, config, finding, testing,
};

/// The finding this detector emits.
pub const MINER: FindingSpec = FindingSpec {
    finding_type: "Impact:Runtime/CryptoMinerExecuted",
    severity: 8.0,
    title: "Cryptocurrency miner executed",
    description: "A process started a known cryptocurrency miner, or a program connecting to a mining pool (stratum URL or known pool host).",
    mitre: "T1496",
};

/// Program names of common miners (compared with the executable's and
/// `argv[0]`'s file name, case-insensitively).
pub const MINER_NAMES: &[&str] = &[
    "xmrig",
    "xmrig-notls",
    "xmrig-cuda",
    "xmr-stak",
    "xmr-stak-cpu",
    "xmr-stak-rx",
    "minerd",
    "cpuminer",
    "cpuminer-multi",
    "cpuminer-opt",
    "ccminer",
    "cgminer",
    "bfgminer",
    "ethminer",
    "nbminer",
    "t-rex",
    "lolminer",
    "phoenixminer",
    "nanominer",
    "gminer",
    "teamredminer",
    "srbminer",
    "srbminer-multi",
    "kawpowminer",
    "bminer",
    "xmr-node-proxy",
    "nheqminer",
    "claymore",
    "excavator",
    "wildrig",
    "cryptonight",
    "kdevtmpfsi",
    "kinsing",
];

/// URL schemes of the stratum mining protocol.
pub const STRATUM_SCHEMES: &[&str] = &[
    "stratum+tcp://",
    "stratum+ssl://",
    "stratum+tls://",
    "stratum2+tcp://",
    "stratum1+tcp://",
];

/// Mining pool domains (matched as substrings of arguments).
pub const POOL_DOMAINS: &[&str] = &[
    "supportxmr.com",
    "minexmr.com",
    "nanopool.org",
    "hashvault.pro",
    "moneroocean.stream",
    "c3pool.com",
    "2miners.com",
    "f2pool.com",
    "minergate.com",
    "herominers.com",
    "ethermine.org",
    "nicehash.com",
    "unmineable.com",
    "xmrpool.eu",
    "monerohash.com",
    "dwarfpool.com",
    "viabtc.com",
    "antpool.com",
    "slushpool.com",
    "poolin.com",
    "mining-dutch.nl",
    "zpool.ca",
    "prohashing.com",
    "miningpoolhub.com",
    "xmrig.com",
];

/// The detector's own configuration keys.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Own {
    /// More miner program names.
    extra_miner_names: Vec<String>,
    /// More pool domains.
    extra_pool_domains: Vec<String>,
}

/// The crypto-miner detector.
pub struct CryptoMiner {
    policy: Policy,
    names: Vec<String>,
    /// Stratum schemes (pattern ids first) then pool domains, bundled and
    /// configured, matched case-insensitively in one pass per argument.
    searcher: AhoCorasick,
}

impl CryptoMiner {
    fn is_miner_name(&self, name: &str) -> bool {
        MINER_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
            || self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// Why `exec` looks like mining, as (evidence key, value).
    fn indicator(&self, exec: &ExecEvent) -> Option<(&'static str, String)> {
        let file = basename(&exec.filename);
        if self.is_miner_name(file) {
            return Some(("miner_name", file.to_string()));
        }
        if let Some(arg0) = exec.args.first().map(|a| basename(a))
            && self.is_miner_name(arg0)
        {
            return Some(("miner_name", arg0.to_string()));
        }
        for arg in &exec.args {
            if let Some(hit) = self.searcher.find(arg.as_str()) {
                let key = if hit.pattern().as_usize() < STRATUM_SCHEMES.len() {
                    "stratum_url"
                } else {
                    "pool_argument"
                };
                return Some((key, arg.clone()));
            }
        }
        None
    }
}

impl Detector for CryptoMiner {
    fn metadata() -> Metadata {
        finding::metadata(
            "crypto-miner",
            env!("CARGO_PKG_VERSION"),
            "Cryptocurrency miners: known miner programs, stratum URLs and mining pool hosts in arguments.",
            &[EventKind::Exec],
            &[MINER],
        )
    }

    fn new(config_json: &str) -> Result<Self, String> {
        let (policy, own): (Policy, Own) = config::parse(config_json)?;
        let patterns = STRATUM_SCHEMES
            .iter()
            .chain(POOL_DOMAINS)
            .copied()
            .chain(own.extra_pool_domains.iter().map(String::as_str));
        let searcher = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostFirst)
            .build(patterns)
            .map_err(|e| format!("invalid configuration: `extra_pool_domains`: {e}"))?;
        Ok(Self {
            policy,
            names: own.extra_miner_names,
            searcher,
        })
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Finding>) {
        let EventDetail::Exec(exec) = &event.detail else {
            return;
        };
        let Some((key, value)) = self.indicator(exec) else {
            return;
        };
        if !self
            .policy
            .permits(MINER.finding_type, &event.process, None)
        {
            return;
        }
        out.push(
            FindingBuilder::new(&MINER, event)
                .evidence(key, &value)
                .evidence("filename", &exec.filename)
                .evidence("cmdline", exec.args.join(" "))
                .build(),
        );
    }

    fn self_test() -> Result<(), String> {
        finding::validate_specs(&[MINER])?;
        testing::self_test::<Self>(
            "{}",
            include_str!("../../../fixtures/crypto-miner/detect.jsonl"),
            |_| {},
            &[MINER.finding_type; 3],
        )
    }
}

harrier_sdk::export_detector!(CryptoMiner);

#[cfg(test)]
mod tests {
    use super::*;
    use harrier_sdk::testing::{medium_or_worse, process_info, types};

    harrier_sdk::detector_tests!(CryptoMiner);

    /// The fixtures' miners run under a bash (pid 100) started by init.
    fn run_in_shell(config: &str, fixture: &str) -> Vec<Finding> {
        run_with(config, fixture, |h| {
            h.host_mut()
                .add_process(process_info(100, 1, "/bin/bash"))
                .add_process(process_info(1, 0, "/sbin/init"));
        })
    }

    #[test]
    fn detects_name_stratum_and_pool() {
        let f = run_in_shell("{}", "crypto-miner/detect.jsonl");
        assert_eq!(types(&f), vec![MINER.finding_type; 3]);
        let pids: Vec<u32> = f.iter().map(|f| f.pid).collect();
        assert_eq!(pids, vec![101, 102, 103]);
        let keys: Vec<&str> = f.iter().map(|f| f.evidence[2].key.as_str()).collect();
        assert_eq!(keys, vec!["miner_name", "stratum_url", "pool_argument"]);
        assert!(
            f.iter()
                .all(|f| f.mitre_technique.as_deref() == Some("T1496"))
        );
    }

    #[test]
    fn benign_workload_is_quiet() {
        let f = run_in_shell("{}", "benign.jsonl");
        assert!(medium_or_worse(&f).is_empty(), "{:?}", medium_or_worse(&f));
    }

    #[test]
    fn allow_lists_and_container_switch_cut_findings() {
        let f = run_in_shell(
            r#"{"allow_executables":["/tmp/*"]}"#,
            "crypto-miner/detect.jsonl",
        );
        assert_eq!(f.len(), 2);
        let f = run_in_shell(r#"{"containers_only":true}"#, "crypto-miner/detect.jsonl");
        assert_eq!(f.iter().map(|f| f.pid).collect::<Vec<_>>(), vec![103]);
        let f = run_in_shell(
            r#"{"allow_parents":["/bin/bash"]}"#,
            "crypto-miner/detect.jsonl",
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn configuration_extends_and_errors_are_clear() {
        let f = run_in_shell(
            r#"{"extra_miner_names":["ls"]}"#,
            "crypto-miner/detect.jsonl",
        );
        assert_eq!(f.len(), 4);
        let err = CryptoMiner::new(r#"{"extra_miner_names":"ls"}"#)
            .err()
            .unwrap();
        assert!(err.contains("extra_miner_names"), "{err}");
    }

    #[test]
    fn indicators_ignore_case_and_prefer_the_leftmost() {
        let d = CryptoMiner::new(r#"{"extra_pool_domains":["Pool.Example"]}"#).unwrap();
        let exec = |args: &[&str]| harrier_sdk::ExecEvent {
            args_gap: None,
            filename: "/usr/bin/x".into(),
            args: args.iter().map(|a| a.to_string()).collect(),
            args_truncated: false,
            cwd: String::new(),
            ld_preload: None,
            ld_library_path: None,
            file_mode: 0,
            dev: 0,
            inode: 0,
            mtime_ns: 0,
        };
        let key = |args: &[&str]| d.indicator(&exec(args)).map(|(k, _)| k);
        assert_eq!(
            key(&["x", "STRATUM+SSL://a.supportxmr.com:443"]),
            Some("stratum_url")
        );
        assert_eq!(
            key(&["x", "-o", "eu.POOL.example:3333"]),
            Some("pool_argument")
        );
        assert_eq!(key(&["XMRig"]), Some("miner_name"));
        assert_eq!(key(&["x", "--config", "/etc/x.json"]), None);
    }
}
