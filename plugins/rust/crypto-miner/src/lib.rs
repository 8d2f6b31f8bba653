//! Harrier detector `crypto-miner`: `Impact:Runtime/CryptoMinerExecuted`.
//!
//! Reports an execution when the program is a known miner (by file name or
//! `argv[0]`), when an argument is a stratum URL (`stratum+tcp://`,
//! `stratum+ssl://`, ...), or when an argument names a known mining pool.
//! Configuration (JSON, see `default-config.json`): `extra_miner_names`,
//! `extra_pool_domains`, plus the shared policy keys of
//! [`harrier_sdk::config`].

#![deny(missing_docs)]

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
    pools: Vec<String>,
    /// Reused buffer for lower-casing arguments.
    lower: String,
}

impl CryptoMiner {
    fn is_miner_name(&self, name: &str) -> bool {
        MINER_NAMES.iter().any(|n| n.eq_ignore_ascii_case(name))
            || self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    /// Why `exec` looks like mining, as (evidence key, value).
    fn indicator(&mut self, exec: &ExecEvent) -> Option<(&'static str, String)> {
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
            // Only arguments that can hold a URL or host name are looked at,
            // lower-cased once into a reused buffer.
            if !arg.contains('.') && !arg.contains("://") {
                continue;
            }
            self.lower.clear();
            self.lower.push_str(arg);
            self.lower.make_ascii_lowercase();
            let l = self.lower.as_str();
            if STRATUM_SCHEMES.iter().any(|s| l.contains(s)) {
                return Some(("stratum_url", arg.clone()));
            }
            if POOL_DOMAINS.iter().any(|d| l.contains(d))
                || self.pools.iter().any(|d| l.contains(d.as_str()))
            {
                return Some(("pool_argument", arg.clone()));
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
        let lower = |v: Vec<String>| v.into_iter().map(|s| s.to_ascii_lowercase()).collect();
        Ok(Self {
            policy,
            names: own.extra_miner_names,
            pools: lower(own.extra_pool_domains),
            lower: String::new(),
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
    use harrier_sdk::testing::{Harness, medium_or_worse, process_info, types};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/");

    fn run(config: &str, fixture: &str) -> Vec<Finding> {
        let mut h = Harness::<CryptoMiner>::new(config).unwrap();
        h.host_mut()
            .add_process(process_info(100, 1, "/bin/bash"))
            .add_process(process_info(1, 0, "/sbin/init"));
        h.run_fixture(format!("{FIXTURES}{fixture}")).unwrap()
    }

    #[test]
    fn detects_name_stratum_and_pool() {
        let f = run("{}", "crypto-miner/detect.jsonl");
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
        let f = run("{}", "benign.jsonl");
        assert!(medium_or_worse(&f).is_empty(), "{:?}", medium_or_worse(&f));
    }

    #[test]
    fn allow_lists_and_container_switch_cut_findings() {
        let f = run(
            r#"{"allow_executables":["/tmp/*"]}"#,
            "crypto-miner/detect.jsonl",
        );
        assert_eq!(f.len(), 2);
        let f = run(r#"{"containers_only":true}"#, "crypto-miner/detect.jsonl");
        assert_eq!(f.iter().map(|f| f.pid).collect::<Vec<_>>(), vec![103]);
        let f = run(
            r#"{"allow_parents":["/bin/bash"]}"#,
            "crypto-miner/detect.jsonl",
        );
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn configuration_extends_and_errors_are_clear() {
        let f = run(
            r#"{"extra_miner_names":["ls"]}"#,
            "crypto-miner/detect.jsonl",
        );
        assert_eq!(f.len(), 4);
        let err = CryptoMiner::new(r#"{"extra_miner_names":"ls"}"#)
            .err()
            .unwrap();
        assert!(err.contains("extra_miner_names"), "{err}");
        let default =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/default-config.json"))
                .unwrap();
        assert!(CryptoMiner::new(&default).is_ok());
    }

    #[test]
    fn self_test_passes() {
        CryptoMiner::self_test().unwrap();
    }
}
