//! `harrier export-default-pack`: the built-in detectors as a rule pack
//! directory, so the default pack is signed and verified like any other.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use harrier_packs::BuildOptions;
use harrier_packs::manifest::MANIFEST_FILE;

/// Options of `harrier export-default-pack`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Directory to write the pack into (created if missing).
    pub dir: PathBuf,
}

/// Write every embedded detector and a manifest with digests, default
/// configuration and the permissions each needs (an operator installing the
/// pack allows them in `[packs] allowed_permissions`); sign it with
/// `harrier pack sign`.
pub fn export(args: ExportArgs) -> anyhow::Result<()> {
    let plugins = args.dir.join("plugins");
    std::fs::create_dir_all(&plugins).with_context(|| format!("creating {}", plugins.display()))?;
    for detector in harrier_default_pack::detectors() {
        let file = plugins.join(format!("{}.wasm", detector.name));
        std::fs::write(&file, detector.wasm)
            .with_context(|| format!("writing {}", file.display()))?;
    }
    let options = BuildOptions {
        name: Some("harrier-default".into()),
        version: Some(env!("CARGO_PKG_VERSION").into()),
        vendor: Some("Harrier".into()),
        description: Some("The detectors built into harrier.".into()),
        wit: None,
        default_wit: format!("^{}", harrier_events::WIT_VERSION),
    };
    let mut manifest = harrier_packs::build(&args.dir, &options)?.manifest;
    for plugin in &mut manifest.plugins {
        if let Some(detector) = harrier_default_pack::detector(&plugin.name) {
            plugin.config = serde_json::from_str(detector.default_config)
                .with_context(|| format!("default configuration of {}", detector.name))?;
            plugin.permissions = detector.permissions.iter().map(|p| p.to_string()).collect();
        }
    }
    let text = manifest.to_toml().map_err(anyhow::Error::msg)?;
    std::fs::write(args.dir.join(MANIFEST_FILE), text)?;
    println!(
        "wrote {} detectors to {}; sign with `harrier pack sign {} --key KEY`",
        manifest.plugins.len(),
        args.dir.display(),
        args.dir.display()
    );
    Ok(())
}
