//! Builds every detector crate under `plugins/rust/` into a component (see
//! harrier-component-build) and writes `detectors.rs` listing them, with
//! their default configuration, for `include!`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

fn main() {
    if let Err(e) = run() {
        // `{:#}` prints the whole context chain on one line.
        panic!("harrier-default-pack: building the embedded detectors failed: {e:#}");
    }
}

fn run() -> Result<()> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let root = manifest_dir
        .parent()
        .and_then(Path::parent)
        .context("the crate is not two levels under the workspace root")?
        .to_path_buf();
    for watched in [
        "sdk",
        "plugins/rust",
        "plugins/fixtures",
        "wit",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let guests = harrier_component_build::crates_in(&root.join("plugins/rust"))?;
    let built = harrier_component_build::build_components(
        &root,
        &guests,
        &root.join("target/guest-build"),
        &out_dir,
    )?;
    let mut listing = String::from("&[\n");
    for component in &built {
        let name = &component.guest.dir_name;
        let config = component.guest.dir.join("default-config.json");
        if !config.is_file() {
            bail!("plugin {name}: missing {}", config.display());
        }
        writeln!(
            listing,
            "    EmbeddedDetector {{ name: {name:?}, wasm: include_bytes!({:?}), default_config: include_str!({:?}), permissions: &{:?} }},",
            component.path.display().to_string(),
            config.display().to_string(),
            component.guest.permissions,
        )?;
    }
    listing.push(']');
    std::fs::write(out_dir.join("detectors.rs"), listing)?;
    Ok(())
}
