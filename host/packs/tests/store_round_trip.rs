//! The install store and the full authoring round trip:
//! keygen -> build -> sign -> verify -> archive -> install -> list -> load -> remove.

mod common;

use std::fs;

use common::*;
use harrier_packs::{
    PackError, SecretKey, Signer, TrustStore, archive, build, install, keygen, list,
    load_installed, remove, sign, verify,
};

fn hidden_entries(dir: &std::path::Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect()
}

#[test]
fn round_trip_keygen_build_sign_verify_install_list_remove() {
    let tmp = tempfile::tempdir().unwrap();
    let key = keygen(&tmp.path().join("keys"), "release").unwrap();
    assert_eq!(key.key_id.len(), 16);
    let trust_dir = tmp.path().join("trust");
    fs::create_dir(&trust_dir).unwrap();
    fs::copy(&key.public_path, trust_dir.join("release.pub")).unwrap();
    let trust = TrustStore::load(&trust_dir).unwrap();
    assert_eq!(trust.len(), 1);

    // A vendor's directory with components and no manifest at all.
    let src = tmp.path().join("net-pack");
    fs::create_dir_all(src.join("fixtures")).unwrap();
    fs::write(src.join("reverse_shell.wasm"), wasm_bytes(5)).unwrap();
    fs::write(src.join("dns_tunnel.wasm"), wasm_bytes(9)).unwrap();
    fs::write(src.join("fixtures/shell.jsonl"), b"{}\n").unwrap();
    let built = build(
        &src,
        &harrier_packs::BuildOptions {
            version: Some("2.1.0".into()),
            vendor: Some("Net Team".into()),
            ..build_opts()
        },
    )
    .unwrap();
    assert_eq!(built.manifest.name, "net-pack");
    assert_eq!(
        built.discovered,
        vec!["dns-tunnel".to_string(), "reverse-shell".to_string()]
    );
    assert_eq!(built.manifest.fixtures.len(), 1);
    assert!(built.unlisted.is_empty(), "{:?}", built.unlisted);

    let secret = SecretKey::load(&key.secret_path).unwrap();
    assert_eq!(sign(&src, &secret).unwrap(), key.key_id);
    let verified = verify(&src, &trust, &opts()).unwrap();
    assert_eq!(verified.signer(), &Signer::Key(key.key_id.clone()));
    assert_eq!(
        &verified.plugin("reverse-shell").unwrap().bytes()[..],
        &wasm_bytes(5)[..]
    );

    let tarball = tmp.path().join("net-pack-2.1.0.tar.gz");
    archive(&src, &tarball).unwrap();
    let packs_dir = tmp.path().join("packs");
    let outcome = install(&tarball, &packs_dir, &trust, &opts()).unwrap();
    assert_eq!(outcome.dir, packs_dir.join("net-pack"));
    assert_eq!(outcome.replaced, None);
    assert_eq!(outcome.pack.digest(), verified.digest());
    assert_eq!(
        fs::read(packs_dir.join("net-pack/dns_tunnel.wasm")).unwrap(),
        wasm_bytes(9)
    );
    assert!(
        hidden_entries(&packs_dir).is_empty(),
        "{:?}",
        hidden_entries(&packs_dir)
    );

    let listed = list(&packs_dir).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "net-pack");
    assert_eq!(listed[0].manifest.as_ref().unwrap().version, "2.1.0");
    assert_eq!(
        listed[0].claimed_key_id.as_deref(),
        Some(key.key_id.as_str())
    );
    assert_eq!(listed[0].problem, None);

    let loaded = load_installed(&packs_dir, &trust, &opts());
    assert_eq!(loaded.len(), 1);
    assert_eq!(loaded[0].as_ref().unwrap().digest(), verified.digest());

    remove(&packs_dir, "net-pack").unwrap();
    assert!(list(&packs_dir).unwrap().is_empty());
    assert!(!packs_dir.join("net-pack").exists());
    assert!(hidden_entries(&packs_dir).is_empty());
    let err = remove(&packs_dir, "net-pack").unwrap_err();
    assert_mentions(&err, &["net-pack", "not installed"]);
}

#[test]
fn new_version_replaces_the_old_one_in_one_step() {
    let w = World::new();
    let packs_dir = w.path("packs");
    install(&w.pack, &packs_dir, &w.trust(), &opts()).unwrap();

    let path = w.pack.join("pack.toml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        text.replace("version = \"1.0.0\"\nvendor", "version = \"1.1.0\"\nvendor"),
    )
    .unwrap();
    fs::write(w.pack.join("plugins/alpha.wasm"), wasm_bytes(13)).unwrap();
    build(&w.pack, &build_opts()).unwrap();
    sign(&w.pack, &w.key).unwrap();

    let outcome = install(&w.pack, &packs_dir, &w.trust(), &opts()).unwrap();
    assert_eq!(outcome.replaced.as_deref(), Some("1.0.0"));
    assert_eq!(outcome.pack.version().to_string(), "1.1.0");
    assert_eq!(
        fs::read(packs_dir.join("acme-runtime/plugins/alpha.wasm")).unwrap(),
        wasm_bytes(13)
    );
    assert!(
        hidden_entries(&packs_dir).is_empty(),
        "{:?}",
        hidden_entries(&packs_dir)
    );
    let loaded = load_installed(&packs_dir, &w.trust(), &opts());
    assert_eq!(loaded[0].as_ref().unwrap().version().to_string(), "1.1.0");
}

#[test]
fn refused_install_leaves_the_installed_version_untouched() {
    let w = World::new();
    let packs_dir = w.path("packs");
    install(&w.pack, &packs_dir, &w.trust(), &opts()).unwrap();
    let before = fs::read(packs_dir.join("acme-runtime/pack.toml")).unwrap();

    fs::write(w.pack.join("plugins/alpha.wasm"), wasm_bytes(200)).unwrap();
    let err = install(&w.pack, &packs_dir, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::DigestMismatch { .. }), "{err}");
    assert_eq!(
        fs::read(packs_dir.join("acme-runtime/pack.toml")).unwrap(),
        before
    );
    assert_eq!(
        fs::read(packs_dir.join("acme-runtime/plugins/alpha.wasm")).unwrap(),
        wasm_bytes(3)
    );
    assert!(hidden_entries(&packs_dir).is_empty());
}

#[test]
fn load_installed_reverifies_each_pack_independently() {
    let a = World::with("pack-a", "1.0.0", ["a1", "a2"]);
    let b = World::with("pack-b", "1.0.0", ["b1", "b2"]);
    let packs_dir = a.path("packs");
    let mut trust = a.trust();
    trust.add(b.key.public_key());
    install(&a.pack, &packs_dir, &trust, &opts()).unwrap();
    install(&b.pack, &packs_dir, &trust, &opts()).unwrap();

    // Tamper with the installed copy of pack-a after installation.
    fs::write(packs_dir.join("pack-a/plugins/beta.wasm"), wasm_bytes(1)).unwrap();
    let loaded = load_installed(&packs_dir, &trust, &opts());
    assert_eq!(loaded.len(), 2);
    let err = loaded[0].as_ref().unwrap_err();
    assert!(matches!(err, PackError::DigestMismatch { .. }), "{err}");
    assert_mentions(err, &["pack-a", "plugins/beta.wasm"]);
    assert_eq!(loaded[1].as_ref().unwrap().name(), "pack-b");

    // A key removed from the trust store takes its packs down at the next load.
    let only_a = a.trust();
    let loaded = load_installed(&packs_dir, &only_a, &opts());
    assert!(matches!(loaded[1], Err(PackError::UnknownKey { .. })));
}

#[test]
fn installed_directory_must_carry_its_pack_name() {
    let w = World::new();
    let packs_dir = w.path("packs");
    install(&w.pack, &packs_dir, &w.trust(), &opts()).unwrap();
    fs::rename(packs_dir.join("acme-runtime"), packs_dir.join("other")).unwrap();
    let loaded = load_installed(&packs_dir, &w.trust(), &opts());
    let err = loaded[0].as_ref().unwrap_err();
    assert_mentions(err, &["directory other holds pack acme-runtime"]);
    assert!(list(&packs_dir).unwrap()[0].problem.is_some());
}

#[test]
fn missing_packs_directory_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let loaded = load_installed(&tmp.path().join("nope"), &TrustStore::empty(), &opts());
    assert_eq!(loaded.len(), 1);
    assert_mentions(loaded[0].as_ref().unwrap_err(), &["nope"]);
}

#[test]
fn unsigned_install_needs_allow_unsigned() {
    let w = World::new();
    fs::remove_file(w.pack.join("pack.sig")).unwrap();
    let packs_dir = w.path("packs");
    let err = install(&w.pack, &packs_dir, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::Unsigned { .. }), "{err}");
    assert!(!packs_dir.join("acme-runtime").exists());
    let outcome = install(&w.pack, &packs_dir, &w.trust(), &unsigned_opts()).unwrap();
    assert!(outcome.pack.signer().is_unsigned());
    assert_eq!(list(&packs_dir).unwrap()[0].claimed_key_id, None);
}

#[test]
fn build_removes_a_stale_signature_and_sign_refuses_stale_digests() {
    let w = World::new();
    // Rebuilding an unchanged pack keeps the signature.
    let same = build(&w.pack, &build_opts()).unwrap();
    assert!(!same.removed_signature);
    // A component the manifest does not list is reported (the manifest lists plugins already).
    fs::write(w.pack.join("plugins/stray.wasm"), wasm_bytes(1)).unwrap();
    let stray = build(&w.pack, &build_opts()).unwrap();
    assert_eq!(stray.unlisted, vec!["plugins/stray.wasm".to_string()]);
    fs::remove_file(w.pack.join("plugins/stray.wasm")).unwrap();
    verify(&w.pack, &w.trust(), &opts()).unwrap();

    fs::write(w.pack.join("plugins/beta.wasm"), wasm_bytes(42)).unwrap();
    let err = sign(&w.pack, &w.key).unwrap_err();
    assert!(matches!(err, PackError::DigestMismatch { .. }), "{err}");

    let changed = build(&w.pack, &build_opts()).unwrap();
    assert!(changed.removed_signature);
    assert!(!w.pack.join("pack.sig").exists());
    sign(&w.pack, &w.key).unwrap();
    verify(&w.pack, &w.trust(), &opts()).unwrap();
}

#[test]
fn key_files_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let key = keygen(tmp.path(), "k").unwrap();
    let err = keygen(tmp.path(), "k").unwrap_err();
    assert_mentions(&err, &["k.pub", "already exists"]);
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(&key.secret_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let text = fs::read_to_string(&key.public_path).unwrap();
    fs::write(
        &key.public_path,
        text.replace(&key.key_id, "0000000000000000"),
    )
    .unwrap();
    let err = TrustStore::load(tmp.path()).unwrap_err();
    assert!(matches!(err, PackError::Key { .. }), "{err}");
    assert_mentions(&err, &["k.pub", "does not match"]);
}

#[test]
fn inspect_shows_claims_and_problems() {
    let w = World::new();
    let text = harrier_packs::inspect(&w.pack).unwrap();
    assert!(text.contains("pack acme-runtime 1.0.0"), "{text}");
    assert!(text.contains(&format!("claims key {}", w.key_id)), "{text}");
    assert!(text.contains("alpha 1.0.0  plugins/alpha.wasm"), "{text}");
    assert!(text.contains("permissions: host:recent-write"), "{text}");
    fs::write(w.pack.join("plugins/alpha.wasm"), b"x").unwrap();
    fs::write(w.pack.join("notes.txt"), b"x").unwrap();
    fs::remove_file(w.pack.join("pack.sig")).unwrap();
    let text = harrier_packs::inspect(&w.pack).unwrap();
    assert!(text.contains("UNSIGNED"), "{text}");
    assert!(text.contains("DIGEST MISMATCH"), "{text}");
    assert!(
        text.contains("UNLISTED FILES (refused by verify): notes.txt"),
        "{text}"
    );
}

#[test]
fn loads_during_repeated_installs_never_fail_or_mix_versions() {
    let w = World::new();
    let packs_dir = w.path("packs");
    // A second version of the same pack in another directory.
    let v2 = w.path("src/v2");
    fs::create_dir_all(&v2).unwrap();
    write_pack_sources(
        &v2,
        &manifest_text("acme-runtime", "2.0.0", ["alpha", "beta"]),
    );
    fs::write(v2.join("plugins/alpha.wasm"), wasm_bytes(77)).unwrap();
    build(&v2, &build_opts()).unwrap();
    sign(&v2, &w.key).unwrap();
    install(&w.pack, &packs_dir, &w.trust(), &opts()).unwrap();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (packs_dir, trust, stop) = (packs_dir.clone(), w.trust(), stop.clone());
        std::thread::spawn(move || {
            let mut loads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let pack =
                    harrier_packs::load_installed_pack(&packs_dir, "acme-runtime", &trust, &opts())
                        .expect("a load during installs must see one complete version");
                let expected = if pack.version().major == 1 {
                    wasm_bytes(3)
                } else {
                    wasm_bytes(77)
                };
                assert_eq!(&pack.plugin("alpha").unwrap().bytes()[..], &expected[..]);
                loads += 1;
            }
            loads
        })
    };
    for i in 0..60 {
        let src = if i % 2 == 0 { &v2 } else { &w.pack };
        install(src, &packs_dir, &w.trust(), &opts()).unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let loads = reader.join().unwrap();
    assert!(loads > 0);
    assert!(
        hidden_entries(&packs_dir).is_empty(),
        "{:?}",
        hidden_entries(&packs_dir)
    );
}
