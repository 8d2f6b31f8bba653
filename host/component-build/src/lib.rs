//! Builds Rust detector crates of this workspace into WebAssembly
//! components, for build scripts that embed or test them.
//!
//! A detector crate is compiled for `wasm32-unknown-unknown` (no WASI) by a
//! nested `cargo build` with its own target directory (the outer build holds
//! the lock on the main one), then wrapped into a component by
//! `wit-component` using the component-type section `wit-bindgen` embedded.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The target detectors are compiled for.
pub const GUEST_TARGET: &str = "wasm32-unknown-unknown";

/// A component built from one crate.
#[derive(Debug, Clone)]
pub struct BuiltComponent {
    /// The crate's package name.
    pub package: String,
    /// Where the component was written.
    pub path: PathBuf,
}

/// Compile `packages` (package names of the workspace at `workspace_root`)
/// in release mode and write one component per package into `out_dir` as
/// `<package>.wasm`. `target_dir` must not be the outer build's.
pub fn build_components(
    workspace_root: &Path,
    packages: &[String],
    target_dir: &Path,
    out_dir: &Path,
) -> anyhow::Result<Vec<BuiltComponent>> {
    if packages.is_empty() {
        return Ok(Vec::new());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace_root)
        .args([
            "build",
            "--release",
            "--target",
            GUEST_TARGET,
            "--target-dir",
        ])
        .arg(target_dir);
    for package in packages {
        cmd.args(["-p", package]);
    }
    // Settings of the outer build must not leak into the guest build.
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_LLVM_COV",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .with_context(|| format!("running cargo to build {}", packages.join(", ")))?;
    if !status.success() {
        bail!(
            "building detector crates {} for {GUEST_TARGET} failed (is the target installed? `rustup target add {GUEST_TARGET}`)",
            packages.join(", ")
        );
    }
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    packages
        .iter()
        .map(|package| {
            let module = target_dir
                .join(GUEST_TARGET)
                .join("release")
                .join(format!("{}.wasm", package.replace('-', "_")));
            let path = out_dir.join(format!("{package}.wasm"));
            componentize(&module, &path)
                .with_context(|| format!("making a component of {package}"))?;
            Ok(BuiltComponent {
                package: package.clone(),
                path,
            })
        })
        .collect()
}

/// Wrap a core module built with wit-bindgen into a component.
pub fn componentize(module: &Path, out: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(module).with_context(|| format!("reading {}", module.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&bytes)?
        .validate(true)
        .encode()?;
    std::fs::write(out, component).with_context(|| format!("writing {}", out.display()))
}

/// Package names of the crates directly under `dir` (each a folder with a
/// Cargo.toml), sorted, plus the paths a build script should watch.
pub fn crates_in(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let manifest = path.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)?;
        let name = package_name(&text)
            .with_context(|| format!("no [package] name in {}", manifest.display()))?;
        found.push((name, path));
    }
    found.sort();
    Ok(found)
}

/// The `name` of a manifest's `[package]` table.
fn package_name(manifest: &str) -> Option<String> {
    let table: toml::Table = manifest.parse().ok()?;
    Some(table.get("package")?.get("name")?.as_str()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::package_name;

    #[test]
    fn reads_the_package_name_only() {
        let manifest =
            "[package]\nname = \"detector-x\"\nversion = \"1\"\n[lib]\nname = \"other\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("detector-x"));
        assert_eq!(package_name("[lib]\nname = \"x\"\n"), None);
    }
}
