//! The detector authors' pages (docs/detectors/<language>.md), followed as
//! a reader would: every block marked `<!-- run -->` runs, in order, in one
//! shell in a fresh directory, and every block marked `<!-- file: PATH -->`
//! must be exactly the file `harrier new detector kubectl-exec` wrote there.
//! Each page scaffolds, builds and tests the project (`make test`, which
//! ends in `harrier test` against the shared expectation), so a doc step
//! that fails, or a language whose detector reports different findings,
//! fails here.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use harrier_tests::{harrier_bin, repo_root};

/// A page's checked blocks.
#[derive(Debug, Default)]
struct Page {
    /// Shell blocks to run, in order.
    run: Vec<String>,
    /// (path in the generated project, the block's text).
    files: Vec<(String, String)>,
}

/// Read the marked fenced blocks of a Markdown page.
fn parse(markdown: &str) -> Page {
    let mut page = Page::default();
    let mut lines = markdown.lines();
    let mut marker: Option<String> = None;
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if let Some(inner) = trimmed
            .strip_prefix("<!--")
            .and_then(|r| r.strip_suffix("-->"))
        {
            marker = Some(inner.trim().to_string());
            continue;
        }
        if trimmed.starts_with("```") {
            let mut body = String::new();
            for inner in lines.by_ref() {
                if inner.trim_start().starts_with("```") {
                    break;
                }
                body.push_str(inner);
                body.push('\n');
            }
            match marker.take().as_deref() {
                Some("run") => page.run.push(body),
                Some(m) if m.starts_with("file:") => page
                    .files
                    .push((m["file:".len()..].trim().to_string(), body)),
                _ => {}
            }
            continue;
        }
        if !trimmed.is_empty() {
            marker = None;
        }
    }
    page
}

/// PATH with the tools the pages use: harrier, the guest tools
/// scripts/build-guests.sh installs (wasm-tools, wit-bindgen,
/// componentize-py).
fn tool_path() -> String {
    let root = repo_root();
    let harrier_dir = harrier_bin().parent().unwrap().to_path_buf();
    let tools = [
        harrier_dir,
        root.join("target/guest-tools/cargo/bin"),
        root.join("target/guest-tools/venv/bin"),
    ];
    for tool in ["wasm-tools", "wit-bindgen", "componentize-py"] {
        assert!(
            tools.iter().any(|d| d.join(tool).is_file()),
            "{tool} is missing; install the guest tools first: scripts/build-guests.sh (./test.sh does)"
        );
    }
    let mut path: Vec<PathBuf> = tools.into();
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(path).unwrap().into_string().unwrap()
}

/// Follow one page; returns how long its commands took.
fn follow(language: &str) -> std::time::Duration {
    let root = repo_root();
    let doc = root.join(format!("docs/detectors/{language}.md"));
    let page = parse(&std::fs::read_to_string(&doc).unwrap());
    let script = page.run.concat();
    for needed in [
        format!("harrier new detector kubectl-exec --lang {language}"),
        "make test".to_string(),
    ] {
        assert!(
            script.contains(&needed),
            "{}: no run block with `{needed}`",
            doc.display()
        );
    }
    let work = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut shell = Command::new("bash");
    shell
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(work.path())
        .env("PATH", tool_path())
        .env(
            "COMPONENTIZE_PY",
            root.join("target/guest-tools/venv/bin/componentize-py"),
        )
        // The Rust page's dependencies build once per checkout, not per run.
        .env("CARGO_TARGET_DIR", root.join("target/scaffolds"));
    // Cargo's variables for this test would leak into the page's own builds.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("CARGO_") && key != "CARGO_HOME" || key.starts_with("RUSTC") {
            shell.env_remove(key);
        }
    }
    let out = shell.output().unwrap();
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "{}: its commands failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        doc.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let project = work.path().join("kubectl-exec");
    assert!(
        !page.files.is_empty(),
        "{}: shows no project file",
        doc.display()
    );
    for (path, shown) in &page.files {
        let actual = std::fs::read_to_string(project.join(path))
            .unwrap_or_else(|e| panic!("{}: shows {path}, not in the project: {e}", doc.display()));
        assert_eq!(
            &actual,
            shown,
            "{}: the block for {path} is not what `harrier new` writes",
            doc.display()
        );
    }
    eprintln!(
        "{language}: from `harrier new` to a passing `make test` in {:.1} s",
        elapsed.as_secs_f64()
    );
    elapsed
}

#[test]
fn parse_reads_marked_blocks_only() {
    let page = parse(
        "<!-- run -->\n```sh\necho a\n```\n```sh\nnot run\n```\n<!-- file: x.py -->\n```python\nprint(1)\n```\n<!-- run -->\n\ntext\n```sh\nnot run either\n```\n",
    );
    assert_eq!(page.run, ["echo a\n"]);
    assert_eq!(page.files, [("x.py".to_string(), "print(1)\n".to_string())]);
}

#[test]
fn rust_page() {
    follow("rust");
}

#[test]
fn python_page() {
    follow("python");
}

#[test]
fn js_page() {
    follow("js");
}

#[test]
fn c_page() {
    follow("c");
}
