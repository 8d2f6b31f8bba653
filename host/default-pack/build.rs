//! Builds every detector crate under `plugins/rust/` for
//! `wasm32-unknown-unknown` with a nested `cargo build` (its own target
//! directory, `target/guest-build`, so the outer build's lock is never
//! touched), turns each core module into a component with wit-component, and
//! writes `detectors.rs` listing them for `include!`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The target detectors are compiled for: no WASI, so no adapter.
const GUEST_TARGET: &str = "wasm32-unknown-unknown";

/// One detector crate found under `plugins/rust/`.
struct Guest {
    /// Directory name, also the embedded detector's name.
    dir_name: String,
    /// Cargo package name.
    package: String,
    /// The crate directory.
    dir: PathBuf,
}

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
    let guests = find_guests(&root.join("plugins/rust"))?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    let target_dir = root.join("target/guest-build");
    if !guests.is_empty() {
        cargo_build(&root, &target_dir, &guests)?;
    }
    let mut listing = String::from("&[\n");
    for g in &guests {
        let core_path = target_dir
            .join(GUEST_TARGET)
            .join("release")
            .join(format!("{}.wasm", g.package.replace('-', "_")));
        let core = std::fs::read(&core_path)
            .with_context(|| format!("reading {} (plugin {})", core_path.display(), g.dir_name))?;
        let component = wit_component::ComponentEncoder::default()
            .module(&core)
            .with_context(|| format!("plugin {}: not a wit-bindgen core module", g.dir_name))?
            .validate(true)
            .encode()
            .with_context(|| format!("plugin {}: component encoding failed", g.dir_name))?;
        let out = out_dir.join(format!("{}.wasm", g.dir_name));
        std::fs::write(&out, &component).with_context(|| format!("writing {}", out.display()))?;
        let config = g.dir.join("default-config.json");
        if !config.is_file() {
            bail!("plugin {}: missing {}", g.dir_name, config.display());
        }
        writeln!(
            listing,
            "    EmbeddedDetector {{ name: {:?}, wasm: include_bytes!({:?}), default_config: include_str!({:?}) }},",
            g.dir_name,
            out.display().to_string(),
            config.display().to_string()
        )?;
    }
    listing.push(']');
    std::fs::write(out_dir.join("detectors.rs"), listing)?;
    Ok(())
}

/// Every directory under `plugins_dir` with a `Cargo.toml`, sorted by name.
fn find_guests(plugins_dir: &Path) -> Result<Vec<Guest>> {
    let mut guests = Vec::new();
    let entries = std::fs::read_dir(plugins_dir)
        .with_context(|| format!("listing {}", plugins_dir.display()))?;
    for entry in entries {
        let dir = entry?.path();
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)
            .with_context(|| format!("reading {}", manifest.display()))?;
        let parsed: toml::Table =
            toml::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
        let package = parsed
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .with_context(|| format!("{}: no [package] name", manifest.display()))?
            .to_string();
        let dir_name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .context("plugin directory name is not UTF-8")?
            .to_string();
        guests.push(Guest {
            dir_name,
            package,
            dir,
        });
    }
    guests.sort_by(|a, b| a.dir_name.cmp(&b.dir_name));
    Ok(guests)
}

/// Build all guests in one nested cargo invocation with a clean environment.
fn cargo_build(root: &Path, target_dir: &Path, guests: &[Guest]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .arg("build")
        .arg("--release")
        .arg("--target")
        .arg(GUEST_TARGET)
        .arg("--target-dir")
        .arg(target_dir);
    for g in guests {
        cmd.arg("-p").arg(&g.package);
    }
    // The outer build's settings must not leak into the guest build: flags
    // for the host target, a target override, or the outer target dir.
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let keep = matches!(key, "CARGO_HOME" | "CARGO_MAKEFLAGS")
            || key.starts_with("CARGO_NET_")
            || key.starts_with("CARGO_HTTP_")
            || key.starts_with("CARGO_REGISTRIES_")
            || key.starts_with("CARGO_REGISTRY_");
        let drop = (key.starts_with("CARGO_") && !keep)
            || matches!(
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
        if drop {
            cmd.env_remove(key);
        }
    }
    // Guests: small and fast; this profile only applies to this nested build.
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
        let tail: Vec<&str> = stderr.lines().rev().take(60).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!(
            "`cargo build --release --target {GUEST_TARGET}` of the detectors failed \
             (is the target installed? `rustup target add {GUEST_TARGET}`):\n{}",
            tail.join("\n")
        );
    }
    Ok(())
}
