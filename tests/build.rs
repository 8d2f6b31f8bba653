//! Builds the test detectors under tests/guests/ into components.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let root = here
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf();
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    for watched in ["tests/guests", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let crates = harrier_component_build::crates_in(&here.join("guests"))?;
    let built = harrier_component_build::build_components(
        &root,
        &crates,
        &root.join("target/guest-build/tests"),
        &out.join("guests"),
    )?;
    for component in built {
        let var = component.guest.package.to_uppercase().replace('-', "_");
        println!("cargo:rustc-env={var}_WASM={}", component.path.display());
    }
    Ok(())
}
