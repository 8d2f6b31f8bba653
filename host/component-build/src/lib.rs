//! Builds Rust detector crates of this workspace into WebAssembly
//! components, for build scripts that embed or test them.
//!
//! The crates are compiled for `wasm32-unknown-unknown` (no WASI, so no
//! adapter) by one nested `cargo build` with its own target directory (the
//! outer build holds the lock on the main one) and a clean environment, then
//! each core module is wrapped into a component by `wit-component` using the
//! component-type section `wit-bindgen` embedded.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// The target detectors are compiled for.
pub const GUEST_TARGET: &str = "wasm32-unknown-unknown";

/// A detector crate found in a directory of crates.
#[derive(Debug, Clone)]
pub struct GuestCrate {
    /// Its directory name (the embedded detector's name).
    pub dir_name: String,
    /// Its Cargo package name.
    pub package: String,
    /// Its directory.
    pub dir: PathBuf,
    /// The permissions it needs (`[package.metadata.harrier] permissions`).
    pub permissions: Vec<String>,
}

/// A component built from one crate.
#[derive(Debug, Clone)]
pub struct BuiltComponent {
    /// The crate it came from.
    pub guest: GuestCrate,
    /// Where the component was written (`<out_dir>/<dir_name>.wasm`).
    pub path: PathBuf,
}

/// The crates directly under `dir` (each a folder with a Cargo.toml),
/// sorted by directory name.
pub fn crates_in(dir: &Path) -> anyhow::Result<Vec<GuestCrate>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let dir = entry?.path();
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        let package = package_name(&text)
            .with_context(|| format!("{}: no [package] name", manifest.display()))?;
        let permissions = permissions(&text)
            .with_context(|| format!("{}: [package.metadata.harrier]", manifest.display()))?;
        let dir_name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .context("crate directory name is not UTF-8")?
            .to_string();
        found.push(GuestCrate {
            dir_name,
            package,
            dir,
            permissions,
        });
    }
    found.sort_by(|a, b| a.dir_name.cmp(&b.dir_name));
    Ok(found)
}

/// Compile `guests` (crates of the workspace at `workspace_root`) and write
/// one component per crate into `out_dir`. `target_dir` must not be the
/// outer build's.
pub fn build_components(
    workspace_root: &Path,
    guests: &[GuestCrate],
    target_dir: &Path,
    out_dir: &Path,
) -> anyhow::Result<Vec<BuiltComponent>> {
    if guests.is_empty() {
        return Ok(Vec::new());
    }
    cargo_build(workspace_root, target_dir, guests)?;
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    guests
        .iter()
        .map(|guest| {
            let module = target_dir
                .join(GUEST_TARGET)
                .join("release")
                .join(format!("{}.wasm", guest.package.replace('-', "_")));
            let path = out_dir.join(format!("{}.wasm", guest.dir_name));
            componentize(&module, &path).with_context(|| format!("plugin {}", guest.dir_name))?;
            Ok(BuiltComponent {
                guest: guest.clone(),
                path,
            })
        })
        .collect()
}

/// Wrap a core module built with wit-bindgen into a component.
pub fn componentize(module: &Path, out: &Path) -> anyhow::Result<()> {
    let core = std::fs::read(module).with_context(|| format!("reading {}", module.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&core)
        .context("not a wit-bindgen core module")?
        .validate(true)
        .encode()
        .context("component encoding failed")?;
    std::fs::write(out, component).with_context(|| format!("writing {}", out.display()))
}

/// Build every guest in one nested cargo invocation with a clean environment.
fn cargo_build(root: &Path, target_dir: &Path, guests: &[GuestCrate]) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args([
            "build",
            "--release",
            "--target",
            GUEST_TARGET,
            "--target-dir",
        ])
        .arg(target_dir);
    for guest in guests {
        cmd.arg("-p").arg(&guest.package);
    }
    // The outer build's settings must not leak into the guest build: flags
    // for the host target, a target override, or the outer target dir.
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let keep = matches!(key, "CARGO_HOME" | "CARGO_MAKEFLAGS")
            || [
                "CARGO_NET_",
                "CARGO_HTTP_",
                "CARGO_REGISTRIES_",
                "CARGO_REGISTRY_",
            ]
            .iter()
            .any(|p| key.starts_with(p));
        let outer = matches!(
            key,
            "RUSTFLAGS"
                | "RUSTDOCFLAGS"
                | "RUSTC_WORKSPACE_WRAPPER"
                | "TARGET"
                | "HOST"
                | "OUT_DIR"
                | "PROFILE"
                | "OPT_LEVEL"
                | "DEBUG"
                | "NUM_JOBS"
                | "RUSTC_LINKER"
        );
        if (key.starts_with("CARGO_") && !keep) || outer {
            cmd.env_remove(key);
        }
    }
    // Guests: small and fast; this profile applies to this nested build only.
    cmd.env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
    let output = cmd
        .output()
        .context("could not run cargo for the guest build")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(60)..].join("\n");
        bail!(
            "`cargo build --release --target {GUEST_TARGET}` of the detectors failed \
             (is the target installed? `rustup target add {GUEST_TARGET}`):\n{tail}"
        );
    }
    Ok(())
}

/// The `name` of a manifest's `[package]` table.
fn package_name(manifest: &str) -> Option<String> {
    let table: toml::Table = manifest.parse().ok()?;
    Some(table.get("package")?.get("name")?.as_str()?.to_string())
}

/// `[package.metadata.harrier] permissions`, a list of names (none if
/// absent).
fn permissions(manifest: &str) -> anyhow::Result<Vec<String>> {
    let table: toml::Table = manifest.parse()?;
    let Some(list) = table
        .get("package")
        .and_then(|p| p.get("metadata"))
        .and_then(|m| m.get("harrier"))
        .and_then(|h| h.get("permissions"))
    else {
        return Ok(Vec::new());
    };
    list.as_array()
        .context("permissions is not a list")?
        .iter()
        .map(|p| {
            p.as_str()
                .map(str::to_string)
                .context("a permission is not a string")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{package_name, permissions};

    #[test]
    fn reads_declared_permissions() {
        let manifest =
            "[package]\nname = \"d\"\n[package.metadata.harrier]\npermissions = [\"intel\"]\n";
        assert_eq!(permissions(manifest).unwrap(), ["intel"]);
        assert!(permissions("[package]\nname = \"d\"\n").unwrap().is_empty());
        assert!(permissions("[package.metadata.harrier]\npermissions = \"intel\"\n").is_err());
    }

    #[test]
    fn reads_the_package_name_only() {
        let manifest =
            "[package]\nname = \"detector-x\"\nversion = \"1\"\n[lib]\nname = \"other\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("detector-x"));
        assert_eq!(package_name("[lib]\nname = \"x\"\n"), None);
    }
}
