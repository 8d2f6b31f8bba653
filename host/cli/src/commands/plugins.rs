//! `harrier plugins`: what is loaded, from the running agent if it is up.

use std::path::PathBuf;
use std::sync::Arc;

use harrier_enrich::Enricher;
use harrier_pipeline::{DetectorSet, DetectorStatus, EnricherServices};
use harrier_plugins::PluginEngine;

use super::{admin, load_detectors};
use crate::cli::PluginsArgs;
use crate::config::Config;

/// Print the detector table (or JSON).
pub fn plugins(args: PluginsArgs) -> anyhow::Result<()> {
    let mut config = Config::load(args.detectors.config.as_deref())?;
    config.apply_detector_args(&args.detectors);
    let socket: PathBuf = args.admin_socket.unwrap_or(config.admin.socket.clone());
    let (detectors, refused, origin) = match admin::get(&socket, "/plugins") {
        Ok(body) => (
            serde_json::from_str::<Vec<DetectorStatus>>(&body)
                .map_err(|e| anyhow::anyhow!("admin endpoint: {e}"))?,
            Vec::new(),
            format!("running agent at {}", socket.display()),
        ),
        Err(_) => {
            let (set, refused) = load_locally(&config)?;
            (
                set.status(),
                refused,
                "not running: the set `harrier run` would load".to_string(),
            )
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&detectors)?);
    } else {
        println!("# {origin}");
        println!(
            "{:<24} {:<9} {:<12} {:<14} {:<12} {:>10} {:>9}  SUBSCRIPTIONS",
            "NAME", "VERSION", "SHA256", "SOURCE", "STATE", "EVENTS", "FINDINGS"
        );
        for d in &detectors {
            println!(
                "{:<24} {:<9} {:<12} {:<14} {:<12} {:>10} {:>9}  {}",
                d.name,
                d.version,
                &d.sha256[..12.min(d.sha256.len())],
                source_label(d),
                d.state,
                d.stats.events_in,
                d.stats.findings_out,
                subscriptions_label(d)
            );
        }
    }
    for message in &refused {
        eprintln!("refused: {message}");
    }
    Ok(())
}

/// The kinds a detector subscribes to; its file opens say which reads it
/// wants, since that decides what the kernel drops.
fn subscriptions_label(d: &DetectorStatus) -> String {
    d.subscriptions
        .iter()
        .map(|kind| match (kind.as_str(), &d.read_prefixes) {
            ("file-open", None) => "file-open(every read)".to_string(),
            ("file-open", Some(p)) if p.is_empty() => "file-open(writes only)".to_string(),
            ("file-open", Some(p)) => format!("file-open(writes, {} read prefixes)", p.len()),
            _ => kind.clone(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn load_locally(config: &Config) -> anyhow::Result<(DetectorSet, Vec<String>)> {
    let engine = Arc::new(PluginEngine::new(&config.plugins.engine)?);
    let mut enrich = config.enrich.clone();
    enrich.read_proc = false;
    let services = Arc::new(EnricherServices::replay(Arc::new(Enricher::new(enrich))));
    let (set, _, refused) = load_detectors(config, &engine, services);
    Ok((set, refused))
}

fn source_label(d: &DetectorStatus) -> String {
    match &d.source {
        harrier_plugins::PluginSource::Embedded => "embedded".into(),
        harrier_plugins::PluginSource::Directory { .. } => "directory".into(),
        harrier_plugins::PluginSource::Pack { pack, signer, .. } if signer.contains("UNSIGNED") => {
            format!("pack:{pack} (UNSIGNED)")
        }
        harrier_plugins::PluginSource::Pack { pack, .. } => format!("pack:{pack}"),
    }
}
