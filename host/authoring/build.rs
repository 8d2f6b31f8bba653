//! Embeds the scaffold templates, the contract and each language's SDK as a
//! list of `(path, bytes)` per tree, so `harrier new` needs nothing beside
//! the binary. Build output (`node_modules`, `__pycache__`, `target`, dot
//! files) is left out.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Trees embedded, by the constant name they get in `embedded.rs`.
/// Trees embedded, by the constant name they get in `embedded.rs`, and
/// whether it is a library (whose own tests stay behind).
const TREES: &[(&str, &str, bool)] = &[
    ("TEMPLATE_COMMON", "templates/common", false),
    ("TEMPLATE_RUST", "templates/rust", false),
    ("TEMPLATE_PYTHON", "templates/python", false),
    ("TEMPLATE_JS", "templates/js", false),
    ("TEMPLATE_C", "templates/c", false),
    ("SDK_RUST", "../../sdk/src", true),
    ("SDK_PYTHON", "../../sdk/python/harrier_sdk", true),
    ("SDK_JS", "../../sdk/js/harrier-sdk", true),
    ("SDK_C", "../../sdk/c", true),
    ("CONTRACT", "../../wit", true),
];

/// Build output, never embedded.
const BUILD_OUTPUT: &[&str] = &["node_modules", "__pycache__", "target", "build"];
/// A library's own tests, left behind.
const LIBRARY_TESTS: &[&str] = &["test", "tests"];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let mut out = String::new();
    for (constant, rel, library) in TREES {
        let root = manifest.join(rel);
        println!("cargo:rerun-if-changed={}", root.display());
        let mut files = Vec::new();
        if root.is_dir() {
            collect(&root, &root, *library, &mut files);
        }
        files.sort();
        writeln!(out, "pub(crate) const {constant}: &[(&str, &[u8])] = &[").unwrap();
        for (relative, absolute) in files {
            writeln!(out, "    ({relative:?}, include_bytes!({absolute:?})),").unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(dest, out).unwrap();
}

fn collect(root: &Path, dir: &Path, library: bool, files: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') && name != ".gitignore" || name.ends_with(".pyc") {
            continue;
        }
        if path.is_dir() {
            let skipped = BUILD_OUTPUT.contains(&name.as_str())
                || library && LIBRARY_TESTS.contains(&name.as_str());
            if !skipped {
                collect(root, &path, library, files);
            }
        } else {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            files.push((relative, path.display().to_string()));
        }
    }
}
