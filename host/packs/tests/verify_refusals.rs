//! Verification of pack directories: the accepted case and every refusal, with real keys,
//! real signatures and real files.

mod common;

use std::fs;
use std::os::unix::fs::symlink;

use common::*;
use harrier_packs::signature::PackSignature;
use harrier_packs::{PackError, SecretKey, Signer, TrustStore, VerifyOptions, build, sign, verify};

#[test]
fn signed_pack_verifies_and_exposes_checked_bytes() {
    let w = World::new();
    let pack = verify(&w.pack, &w.trust(), &opts()).unwrap();
    assert_eq!(pack.name(), "acme-runtime");
    assert_eq!(pack.version().to_string(), "1.0.0");
    assert_eq!(pack.signer(), &Signer::Key(w.key_id.clone()));
    assert_eq!(pack.label(), "acme-runtime 1.0.0");
    let alpha = pack.plugin("alpha").unwrap();
    assert_eq!(&alpha.bytes()[..], &wasm_bytes(3)[..]);
    assert_eq!(alpha.version().to_string(), "1.0.0");
    assert_eq!(alpha.permissions(), ["host:recent-write".to_string()]);
    assert_eq!(
        alpha.config(),
        &serde_json::json!({"threshold": 3, "paths": ["/tmp"], "nested": {"a": 1, "b": 2}})
    );
    assert_eq!(pack.plugin("beta").unwrap().config_json(), "{}");
    let fixtures: Vec<_> = pack.fixtures().collect();
    assert_eq!(
        fixtures,
        vec![("fixtures/exec.jsonl", &b"{\"seq\":1}\n"[..])]
    );
    assert_eq!(pack.digest().len(), 64);
}

#[test]
fn changed_wasm_byte_is_refused() {
    let w = World::new();
    let file = w.pack.join("plugins/alpha.wasm");
    let mut bytes = fs::read(&file).unwrap();
    bytes[100] ^= 1;
    fs::write(&file, bytes).unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::DigestMismatch { .. }), "{err}");
    assert_mentions(
        &err,
        &["acme-runtime 1.0.0", "plugins/alpha.wasm", "does not match"],
    );
}

#[test]
fn changed_fixture_byte_is_refused() {
    let w = World::new();
    fs::write(w.pack.join("fixtures/exec.jsonl"), b"{\"seq\":2}\n").unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::DigestMismatch { .. }), "{err}");
    assert_mentions(&err, &["fixtures/exec.jsonl"]);
}

#[test]
fn changed_manifest_is_refused() {
    let w = World::new();
    let path = w.pack.join("pack.toml");
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("threshold = 3"));
    fs::write(&path, text.replace("threshold = 3", "threshold = 4")).unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::BadSignature { .. }), "{err}");
    assert_mentions(&err, &["acme-runtime", "pack.sig", &w.key_id, "changed"]);
}

#[test]
fn tampered_wasm_with_updated_digest_is_refused_by_the_signature() {
    let w = World::new();
    let file = w.pack.join("plugins/beta.wasm");
    let old = harrier_packs::verify::sha256_hex(&fs::read(&file).unwrap());
    let evil = wasm_bytes(99);
    fs::write(&file, &evil).unwrap();
    let manifest = w.pack.join("pack.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(
        &manifest,
        text.replace(&old, &harrier_packs::verify::sha256_hex(&evil)),
    )
    .unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::BadSignature { .. }), "{err}");
}

#[test]
fn cosmetic_manifest_edits_keep_the_signature_valid() {
    let w = World::new();
    let path = w.pack.join("pack.toml");
    let text = fs::read_to_string(&path).unwrap();
    let edited = format!(
        "# reviewed by ops\n\n{}\n\n# end\n",
        text.replace(" = ", "   =   ")
    );
    fs::write(&path, edited).unwrap();
    verify(&w.pack, &w.trust(), &opts()).unwrap();
}

#[test]
fn unknown_key_is_refused() {
    let w = World::new();
    let err = verify(&w.pack, &TrustStore::empty(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::UnknownKey { .. }), "{err}");
    assert_mentions(&err, &["acme-runtime", &w.key_id, "not in the trust store"]);
}

#[test]
fn unknown_key_is_refused_even_when_unsigned_packs_are_allowed() {
    let w = World::new();
    let err = verify(&w.pack, &TrustStore::empty(), &unsigned_opts()).unwrap_err();
    assert!(matches!(err, PackError::UnknownKey { .. }), "{err}");
}

#[test]
fn signature_by_another_key_claiming_the_trusted_key_id_is_refused() {
    let w = World::new();
    let other = SecretKey::generate("attacker").unwrap();
    sign(&w.pack, &other).unwrap();
    let sig_path = w.pack.join("pack.sig");
    let text = fs::read_to_string(&sig_path).unwrap();
    let forged = text.replace(&other.key_id(), &w.key_id);
    assert_ne!(text, forged);
    fs::write(&sig_path, forged).unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::BadSignature { .. }), "{err}");
    assert_mentions(&err, &[&w.key_id]);
}

#[test]
fn signature_by_an_untrusted_key_is_refused() {
    let w = World::new();
    let other = SecretKey::generate("someone").unwrap();
    let other_id = sign(&w.pack, &other).unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(
        matches!(err, PackError::UnknownKey { ref key_id, .. } if *key_id == other_id),
        "{err}"
    );
}

#[test]
fn malformed_signature_file_is_refused() {
    let w = World::new();
    fs::write(
        w.pack.join("pack.sig"),
        "algorithm = \"ed25519\"\nkey-id = \"x\"\nsignature = \"zz\"\n",
    )
    .unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::SignatureFile { .. }), "{err}");
    assert_mentions(&err, &["acme-runtime", "pack.sig", "signature"]);
}

#[test]
fn signature_renders_and_parses_back() {
    let key = SecretKey::generate("k").unwrap();
    let sig = PackSignature::sign(b"message", &key);
    assert_eq!(PackSignature::parse(&sig.render()).unwrap(), sig);
}

#[test]
fn missing_plugin_file_is_refused() {
    let w = World::new();
    fs::remove_file(w.pack.join("plugins/beta.wasm")).unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::MissingFile { .. }), "{err}");
    assert_mentions(
        &err,
        &["acme-runtime 1.0.0", "plugins/beta.wasm", "missing"],
    );
}

#[test]
fn missing_manifest_is_refused() {
    let w = World::new();
    fs::remove_file(w.pack.join("pack.toml")).unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(
        matches!(err, PackError::MissingFile { ref file, .. } if file == "pack.toml"),
        "{err}"
    );
}

#[test]
fn extra_unlisted_file_is_refused() {
    let w = World::new();
    fs::write(w.pack.join("plugins/gamma.wasm"), wasm_bytes(11)).unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::ExtraFile { .. }), "{err}");
    assert_mentions(&err, &["acme-runtime", "plugins/gamma.wasm", "not listed"]);
}

#[test]
fn unsigned_pack_is_refused_unless_allowed_and_then_marked() {
    let w = World::new();
    fs::remove_file(w.pack.join("pack.sig")).unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::Unsigned { .. }), "{err}");
    assert_mentions(&err, &["acme-runtime", "unsigned", "--allow-unsigned"]);

    let pack = verify(&w.pack, &TrustStore::empty(), &unsigned_opts()).unwrap();
    assert_eq!(pack.signer(), &Signer::Unsigned);
    assert!(pack.label().contains("UNSIGNED"), "{}", pack.label());
    assert!(pack.signer().to_string().contains("UNSIGNED"));
}

#[test]
fn incompatible_wit_major_version_is_refused() {
    let w = World::new();
    let path = w.pack.join("pack.toml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("wit = \"^0.1\"", "wit = \"^1.0\"")).unwrap();
    sign(&w.pack, &w.key).unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::IncompatibleWit { .. }), "{err}");
    assert_mentions(&err, &["acme-runtime", "^1.0", "0.1.0"]);
}

#[test]
fn host_with_a_new_wit_major_refuses_old_packs_and_accepts_package_spelling() {
    let w = World::new();
    let newer = VerifyOptions::new("harrier:detector@1.0.0").unwrap();
    let err = verify(&w.pack, &w.trust(), &newer).unwrap_err();
    assert!(matches!(err, PackError::IncompatibleWit { .. }), "{err}");
    let same = VerifyOptions::new("harrier:detector@0.1.0").unwrap();
    verify(&w.pack, &w.trust(), &same).unwrap();
}

#[test]
fn symlink_in_pack_directory_is_refused() {
    let w = World::new();
    fs::remove_file(w.pack.join("plugins/beta.wasm")).unwrap();
    symlink("/etc/passwd", w.pack.join("plugins/beta.wasm")).unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::UnsafeEntry { .. }), "{err}");
    assert_mentions(&err, &["plugins/beta.wasm", "symbolic link"]);
}

#[test]
fn symlinked_directory_in_pack_is_refused() {
    let w = World::new();
    let outside = w.path("outside");
    fs::create_dir_all(&outside).unwrap();
    symlink(&outside, w.pack.join("fixtures/more")).unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::UnsafeEntry { .. }), "{err}");
    assert_mentions(&err, &["fixtures/more", "symbolic link"]);
}

#[test]
fn hard_link_in_pack_directory_is_refused() {
    let w = World::new();
    let outside = w.path("secret");
    fs::write(&outside, b"secret").unwrap();
    fs::hard_link(&outside, w.pack.join("fixtures/secret")).unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::UnsafeEntry { .. }), "{err}");
    assert_mentions(&err, &["fixtures/secret", "hard link"]);
}

#[test]
fn fifo_in_pack_directory_is_refused() {
    let w = World::new();
    let path = std::ffi::CString::new(w.pack.join("fixtures/pipe").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::UnsafeEntry { .. }), "{err}");
    assert_mentions(&err, &["fixtures/pipe", "fifo"]);
}

#[test]
fn device_in_pack_directory_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        if std::env::var_os("HARRIER_SKIP_PRIVILEGED").is_some_and(|v| v == "1") {
            eprintln!("SKIPPED: device_in_pack_directory_is_refused needs root (mknod)");
            return;
        }
        panic!("needs root (mknod of a character device)");
    }
    let w = World::new();
    let path = std::ffi::CString::new(w.pack.join("fixtures/null").to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path; makedev(1, 3) is /dev/null's number.
    let rc = unsafe { libc::mknod(path.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 3)) };
    assert_eq!(rc, 0, "mknod: {}", std::io::Error::last_os_error());
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::UnsafeEntry { .. }), "{err}");
    assert_mentions(&err, &["fixtures/null", "character device"]);
}

#[test]
fn oversized_file_in_pack_directory_is_refused() {
    let w = World::new();
    let small = VerifyOptions {
        max_entry_bytes: 100,
        ..opts()
    };
    let err = verify(&w.pack, &w.trust(), &small).unwrap_err();
    assert!(matches!(err, PackError::Oversized { .. }), "{err}");
    assert_mentions(&err, &["acme-runtime", "exceeds the limit of 100 bytes"]);
}

#[test]
fn oversized_pack_total_is_refused() {
    let w = World::new();
    let small = VerifyOptions {
        max_total_bytes: 300,
        ..opts()
    };
    let err = verify(&w.pack, &w.trust(), &small).unwrap_err();
    assert!(
        matches!(err, PackError::Oversized { ref entry, .. } if entry.contains("all files")),
        "{err}"
    );
}

#[test]
fn manifest_with_traversal_path_is_refused() {
    let w = World::new();
    let path = w.pack.join("pack.toml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        text.replace("file = \"plugins/beta.wasm\"", "file = \"../beta.wasm\""),
    )
    .unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::Manifest { .. }), "{err}");
    assert_mentions(&err, &["pack.toml", "plugin beta", ".."]);
}

#[test]
fn manifest_with_absolute_path_or_unknown_field_is_refused() {
    let w = World::new();
    let path = w.pack.join("pack.toml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        text.replace("file = \"plugins/beta.wasm\"", "file = \"/etc/beta.wasm\""),
    )
    .unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert_mentions(&err, &["pack.toml", "absolute"]);
    fs::write(&path, format!("{text}\nexecute = true\n")).unwrap();
    let err = verify(&w.pack, &w.trust(), &opts()).unwrap_err();
    assert_mentions(&err, &["pack.toml", "unknown field"]);
}

#[test]
fn duplicate_plugin_names_in_one_manifest_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dup");
    write_pack_sources(&dir, &manifest_text("dup", "1.0.0", ["same", "same"]));
    let err = build(&dir, &build_opts()).unwrap_err();
    assert_mentions(&err, &["pack.toml", "plugin same", "listed twice"]);
}

#[test]
fn a_plain_file_is_not_a_pack() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("pack.zip");
    fs::write(&file, b"PK\x03\x04").unwrap();
    let err = verify(&file, &TrustStore::empty(), &opts()).unwrap_err();
    assert!(matches!(err, PackError::NotAPack { .. }), "{err}");
}
