//! `harrier test`: one detector component over a capture, like a unit test.
//! It is loaded exactly as the agent loads a plugin-directory file (engine,
//! limits, host functions); its findings are printed and, with `--expect`,
//! compared with an expectation file (see `harrier_pipeline::testbench`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use harrier_enrich::Enricher;
use harrier_findings::{Merger, UnifiedFinding};
use harrier_pipeline::testbench::{self, differences, expected_text, parse_expected};
use harrier_pipeline::{DetectorSet, EnricherServices};
use harrier_plugins::{Permission, Permissions, PluginEngine, PluginSource, PluginSpec};

use crate::cli::TestArgs;
use crate::config::Config;

/// Run the test; an error (non-zero exit) when the component does not load,
/// the capture is bad, or the findings differ from the expectation.
pub fn test(args: TestArgs) -> anyhow::Result<()> {
    let config = Config::load(args.agent_config.as_deref())?;
    let detector_config = match &args.config {
        Some(text) => detector_config(text)?,
        None => "{}".to_string(),
    };
    let engine = PluginEngine::new(&config.plugins.engine).context("starting the plugin engine")?;
    let permissions = if args.grants.is_empty() {
        let name = harrier_pipeline::DetectorKey::File {
            path: args.component.clone(),
        }
        .config_name();
        config
            .plugins
            .permissions
            .get(&name)
            .copied()
            .unwrap_or_default()
    } else {
        args.grants.iter().copied().collect()
    };
    let findings = run_component(
        &config,
        &engine,
        &args.component,
        (detector_config, permissions),
        &args.events,
    )?;
    let text = expected_text(&findings);
    print!("{text}");
    let Some(expect) = &args.expect else {
        return Ok(());
    };
    if args.update {
        std::fs::write(expect, &text).with_context(|| format!("writing {}", expect.display()))?;
        tracing::info!(findings = findings.len(), file = %expect.display(), "expectation updated");
        return Ok(());
    }
    compare(expect, &findings)
}

/// Compare findings with an expectation file; the error lists every
/// difference.
pub fn compare(expect: &Path, findings: &[UnifiedFinding]) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(expect)
        .with_context(|| format!("expectation {}", expect.display()))?;
    let diff = compare_text(&text, findings)
        .map_err(|e| anyhow::anyhow!("expectation {}: {e}", expect.display()))?;
    if diff.is_empty() {
        tracing::info!(findings = findings.len(), file = %expect.display(), "findings as expected");
        return Ok(());
    }
    for line in &diff {
        eprintln!("{line}");
    }
    anyhow::bail!(
        "{} difference(s) from {} (update it with --update after review)",
        diff.len(),
        expect.display()
    )
}

/// The differences between an expectation's text and findings.
fn compare_text(text: &str, findings: &[UnifiedFinding]) -> Result<Vec<String>, String> {
    let wanted = parse_expected(text)?;
    let got: Vec<_> = findings.iter().map(testbench::comparable).collect();
    Ok(differences(&wanted, &got))
}

/// Load one component file with its configuration and grants and run
/// `capture` through it; the error names the component when it does not
/// load.
pub fn run_component(
    config: &Config,
    engine: &PluginEngine,
    component: &Path,
    (detector_config, permissions): (String, Permissions),
    capture: &Path,
) -> anyhow::Result<Vec<UnifiedFinding>> {
    let wasm = std::fs::read(component)
        .with_context(|| format!("component {}: cannot read", component.display()))?;
    let spec = PluginSpec {
        origin: component.display().to_string(),
        source: PluginSource::Directory {
            path: component.to_path_buf(),
        },
        wasm: wasm.into(),
        config_json: detector_config,
        limits: config.plugins.limits.clone(),
        severity_override: None,
        permissions,
        shadow: None,
    };
    let file =
        std::fs::File::open(capture).with_context(|| format!("capture {}", capture.display()))?;
    run_spec(config, engine, spec, BufReader::new(file))
        .with_context(|| format!("capture {}", capture.display()))
}

/// Run `capture` through the detector `spec`, loaded as the agent would.
pub fn run_spec(
    config: &Config,
    engine: &PluginEngine,
    spec: PluginSpec,
    capture: impl BufRead + Send + 'static,
) -> anyhow::Result<Vec<UnifiedFinding>> {
    let mut enrich = config.enrich.clone();
    // The capture is the only truth: nothing from this machine's /proc.
    enrich.read_proc = false;
    let services = Arc::new(EnricherServices::replay(Arc::new(Enricher::new(enrich))));
    let plugin = engine
        .load(spec, services.clone())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut set = DetectorSet::new(config.quarantine.clone());
    set.upsert(plugin);
    let merger = Merger::new(config.findings.clone()).context("[findings] configuration")?;
    testbench::run_capture(capture, set, services, merger)
}

/// Runs rule packs' own test vectors for `harrier pack verify|install`,
/// with the agent's default engine, limits and host functions.
#[derive(Default)]
pub struct PackVectors {
    config: Config,
    engine: std::sync::OnceLock<PluginEngine>,
}

impl harrier_packs::VectorRunner for PackVectors {
    fn run(&self, case: harrier_packs::VectorCase<'_>) -> Result<usize, String> {
        let permissions = case
            .permissions
            .iter()
            .map(|name| name.parse::<Permission>().map_err(|e| e.to_string()))
            .collect::<Result<Permissions, _>>()?;
        let engine = match self.engine.get() {
            Some(engine) => engine,
            None => {
                let engine = PluginEngine::new(&self.config.plugins.engine)
                    .map_err(|e| format!("starting the plugin engine: {e:#}"))?;
                self.engine.get_or_init(|| engine)
            }
        };
        let spec = PluginSpec {
            origin: format!("test vector of {}", case.detector),
            source: PluginSource::Embedded,
            wasm: case.component.into(),
            config_json: case.config_json.to_string(),
            limits: self.config.plugins.limits.clone(),
            severity_override: None,
            permissions,
            shadow: None,
        };
        let capture = std::io::Cursor::new(case.events.to_vec());
        let findings =
            run_spec(&self.config, engine, spec, capture).map_err(|e| format!("{e:#}"))?;
        let expect =
            std::str::from_utf8(case.expect).map_err(|_| "expectation is not UTF-8".to_string())?;
        let diff = compare_text(expect, &findings)?;
        if diff.is_empty() {
            Ok(findings.len())
        } else {
            Err(diff.join("; "))
        }
    }
}

/// `--config`: a JSON object given inline, or the path of a file holding one.
fn detector_config(text: &str) -> anyhow::Result<String> {
    let json = if text.trim_start().starts_with('{') {
        text.to_string()
    } else {
        std::fs::read_to_string(text).with_context(|| format!("--config {text}"))?
    };
    match serde_json::from_str::<serde_json::Value>(&json) {
        Ok(serde_json::Value::Object(_)) => Ok(json),
        Ok(_) => anyhow::bail!("--config {text}: expected a JSON object"),
        Err(e) => anyhow::bail!("--config {text}: {e}"),
    }
}
