//! The `pack` subcommands, parsed by clap as the `harrier` binary will mount them and run.

mod common;

use std::fs;
use std::path::Path;

use clap::Parser;
use common::*;
use harrier_packs::{PackCommand, run};

#[derive(Parser)]
struct Harrier {
    #[command(subcommand)]
    pack: PackCommand,
}

fn pack(args: &[&str]) -> anyhow::Result<()> {
    let parsed = Harrier::try_parse_from(std::iter::once("harrier").chain(args.iter().copied()))?;
    run(
        parsed.pack,
        "harrier:detector@0.1.0",
        &harrier_packs::NoRunner,
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn cli_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let trust = tmp.path().join("trust");
    let src = tmp.path().join("cli-pack");
    let packs = tmp.path().join("packs");
    let tarball = tmp.path().join("cli-pack.tar.gz");
    fs::create_dir_all(&trust).unwrap();
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("miner.wasm"), wasm_bytes(17)).unwrap();

    pack(&["keygen", "--out", s(&keys), "--name", "ci"]).unwrap();
    fs::copy(keys.join("ci.pub"), trust.join("ci.pub")).unwrap();
    pack(&[
        "build",
        s(&src),
        "--pack-version",
        "0.3.0",
        "--vendor",
        "CI",
    ])
    .unwrap();
    let manifest = fs::read_to_string(src.join("pack.toml")).unwrap();
    assert!(manifest.contains("wit = \"^0.1\""), "{manifest}");
    assert!(manifest.contains("name = \"miner\""), "{manifest}");

    // Unsigned: refused, then accepted with --allow-unsigned.
    let err = pack(&["verify", s(&src), "--trust", s(&trust)]).unwrap_err();
    assert!(err.to_string().contains("unsigned"), "{err}");
    pack(&["verify", s(&src), "--trust", s(&trust), "--allow-unsigned"]).unwrap();

    pack(&["sign", s(&src), "--key", s(&keys.join("ci.key"))]).unwrap();
    pack(&["archive", s(&src), "-o", s(&tarball)]).unwrap();
    pack(&["verify", s(&tarball), "--trust", s(&trust)]).unwrap();
    pack(&["inspect", s(&tarball)]).unwrap();
    pack(&[
        "install",
        s(&tarball),
        "--packs-dir",
        s(&packs),
        "--trust",
        s(&trust),
    ])
    .unwrap();
    assert!(packs.join("cli-pack/miner.wasm").is_file());
    pack(&["list", "--packs-dir", s(&packs), "--trust", s(&trust)]).unwrap();
    pack(&["remove", "cli-pack", "--packs-dir", s(&packs)]).unwrap();
    assert!(!packs.join("cli-pack").exists());

    // A tampered pack: the error names the pack, the file and the reason.
    fs::write(src.join("miner.wasm"), b"changed").unwrap();
    let err = pack(&["verify", s(&src), "--trust", s(&trust)]).unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("cli-pack 0.3.0")
            && text.contains("miner.wasm")
            && text.contains("does not match"),
        "{text}"
    );
    let err = pack(&[
        "install",
        s(&src),
        "--packs-dir",
        s(&packs),
        "--trust",
        s(&trust),
    ])
    .unwrap_err();
    assert!(err.to_string().contains("miner.wasm"), "{err}");
    assert!(!packs.join("cli-pack").exists());
}

#[test]
fn cli_verify_with_a_missing_trust_store_fails_clearly() {
    let w = World::new();
    let err = pack(&["verify", s(&w.pack), "--trust", s(&w.path("no-such-trust"))]).unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("trust store") && text.contains("no-such-trust"),
        "{text}"
    );
}

#[test]
fn verify_help_lists_the_trust_flags() {
    let err = match Harrier::try_parse_from(["harrier", "verify", "--help"]) {
        Err(e) => e,
        Ok(_) => panic!("--help must stop parsing"),
    };
    let help = err.render().to_string();
    for flag in [
        "--trust <DIR>",
        "--allow-unsigned",
        "--max-entry-bytes",
        "/etc/harrier/trust",
    ] {
        assert!(help.contains(flag), "{help}");
    }
}

#[test]
fn installing_an_older_version_needs_allow_downgrade() {
    let tmp = tempfile::tempdir().unwrap();
    let (keys, src, packs) = (
        tmp.path().join("keys"),
        tmp.path().join("down-pack"),
        tmp.path().join("packs"),
    );
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("miner.wasm"), wasm_bytes(21)).unwrap();
    pack(&["keygen", "--out", s(&keys), "--name", "ci"]).unwrap();
    let version = |v: &str| {
        pack(&["build", s(&src), "--pack-version", v, "--vendor", "CI"]).unwrap();
        pack(&["sign", s(&src), "--key", s(&keys.join("ci.key"))]).unwrap();
    };
    let install = |extra: &[&str]| {
        let mut args = vec![
            "install",
            s(&src),
            "--packs-dir",
            s(&packs),
            "--trust",
            s(&keys),
        ];
        args.extend_from_slice(extra);
        pack(&args)
    };
    version("2.0.0");
    install(&[]).unwrap();
    version("1.0.0");
    let err = format!("{:#}", install(&[]).unwrap_err());
    assert!(
        err.contains("down-pack")
            && err.contains("1.0.0")
            && err.contains("2.0.0")
            && err.contains("--allow-downgrade"),
        "{err}"
    );
    let manifest = fs::read_to_string(packs.join("down-pack/pack.toml")).unwrap();
    assert!(
        manifest.contains("version = \"2.0.0\""),
        "still 2.0.0: {manifest}"
    );
    install(&["--allow-downgrade"]).unwrap();
    let manifest = fs::read_to_string(packs.join("down-pack/pack.toml")).unwrap();
    assert!(manifest.contains("version = \"1.0.0\""), "{manifest}");
    // The same version again is not a downgrade.
    install(&[]).unwrap();
}
