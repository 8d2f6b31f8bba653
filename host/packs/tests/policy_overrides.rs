//! Operator policy: duplicate detectors across packs, permission grants, overrides and the
//! `[packs]` configuration section.

mod common;

use std::collections::BTreeSet;
use std::fs;

use common::*;
use harrier_packs::{
    PackError, PackOverrides, PacksConfig, apply_overrides, check_no_duplicates, grant_permissions,
    install, load_configured, verify,
};

fn overrides(text: &str) -> PackOverrides {
    toml::from_str(text).unwrap()
}

#[test]
fn duplicate_detector_names_across_packs_are_refused() {
    let a = World::with("pack-a", "1.0.0", ["shared", "only-a"]);
    let b = World::with("pack-b", "2.0.0", ["only-b", "shared"]);
    let pa = verify(&a.pack, &a.trust(), &opts()).unwrap();
    let pb = verify(&b.pack, &b.trust(), &opts()).unwrap();
    let err = check_no_duplicates(&[pa.clone(), pb.clone()]).unwrap_err();
    assert!(matches!(err, PackError::DuplicateDetector { .. }), "{err}");
    assert_mentions(&err, &["detector shared", "pack-a 1.0.0", "pack-b 2.0.0"]);

    // Distinct names pass.
    let c = World::with("pack-c", "1.0.0", ["c1", "c2"]);
    let pc = verify(&c.pack, &c.trust(), &opts()).unwrap();
    check_no_duplicates(&[pa.clone(), pc]).unwrap();

    // Disabling one of the two resolves the conflict.
    let mut pb = pb;
    apply_overrides(&mut pb, &overrides("[shared]\nenabled = false\n")).unwrap();
    check_no_duplicates(&[pa, pb]).unwrap();
}

#[test]
fn permissions_are_granted_only_when_allowed() {
    let w = World::new();
    let pack = verify(&w.pack, &w.trust(), &opts()).unwrap();
    let err = grant_permissions(&pack, &BTreeSet::new()).unwrap_err();
    assert!(matches!(err, PackError::PermissionDenied { .. }), "{err}");
    assert_mentions(
        &err,
        &[
            "acme-runtime",
            "plugin alpha",
            "permission host:recent-write",
            "not allowed",
        ],
    );

    let allowed: BTreeSet<String> =
        ["host:recent-write".to_string(), "host:other".to_string()].into();
    let grants = grant_permissions(&pack, &allowed).unwrap();
    assert_eq!(
        grants["alpha"],
        BTreeSet::from(["host:recent-write".to_string()])
    );
    assert!(grants["beta"].is_empty());
}

#[test]
fn disabled_plugins_need_no_permissions() {
    let w = World::new();
    let mut pack = verify(&w.pack, &w.trust(), &opts()).unwrap();
    apply_overrides(&mut pack, &overrides("[alpha]\nenabled = false\n")).unwrap();
    assert!(!pack.plugin("alpha").unwrap().enabled());
    let grants = grant_permissions(&pack, &BTreeSet::new()).unwrap();
    assert!(!grants.contains_key("alpha"));
}

#[test]
fn overrides_merge_or_replace_config_and_set_severity() {
    let w = World::new();
    let mut pack = verify(&w.pack, &w.trust(), &opts()).unwrap();
    let signed_digest = pack.digest().to_string();
    apply_overrides(
        &mut pack,
        &overrides(
            r#"
[alpha]
severity = 8.5
config = { threshold = 10, nested = { b = 20, c = 30 }, paths = ["/var/tmp"] }

[beta]
config-mode = "replace"
config = { only = true }
"#,
        ),
    )
    .unwrap();
    let alpha = pack.plugin("alpha").unwrap();
    assert_eq!(alpha.severity(), Some(8.5));
    assert_eq!(
        alpha.config(),
        &serde_json::json!({"threshold": 10, "paths": ["/var/tmp"], "nested": {"a": 1, "b": 20, "c": 30}})
    );
    assert_eq!(
        pack.plugin("beta").unwrap().config(),
        &serde_json::json!({"only": true})
    );
    assert!(pack.plugin("beta").unwrap().enabled());
    // The signed manifest and its identity are untouched.
    assert_eq!(pack.digest(), signed_digest);
    assert_eq!(
        pack.manifest().plugins[0].config["threshold"].as_integer(),
        Some(3)
    );
}

#[test]
fn bad_overrides_are_refused_and_change_nothing() {
    let w = World::new();
    let mut pack = verify(&w.pack, &w.trust(), &opts()).unwrap();
    let err = apply_overrides(&mut pack, &overrides("[gamma]\nenabled = false\n")).unwrap_err();
    assert!(matches!(err, PackError::Override { .. }), "{err}");
    assert_mentions(
        &err,
        &["acme-runtime", "detector gamma", "not in this pack"],
    );

    let err = apply_overrides(
        &mut pack,
        &overrides("[alpha]\nenabled = false\n[beta]\nseverity = 11.0\n"),
    )
    .unwrap_err();
    assert_mentions(&err, &["detector beta", "severity 11"]);
    assert!(
        pack.plugin("alpha").unwrap().enabled(),
        "a refused override must not half-apply"
    );

    let unknown: Result<PackOverrides, _> = toml::from_str("[alpha]\nsevrity = 1.0\n");
    assert!(unknown.is_err());
}

#[test]
fn load_configured_applies_policy_and_isolates_refusals() {
    let a = World::with("pack-a", "1.0.0", ["dup", "a2"]);
    let b = World::with("pack-b", "1.0.0", ["b1", "dup"]);
    let c = World::with("pack-c", "1.0.0", ["c1", "c2"]);
    let packs_dir = a.path("packs");
    let trust_dir = a.trust_dir.clone();
    for other in [&b, &c] {
        let key = other.key.public_key();
        key.save(&trust_dir.join(format!("{}.pub", key.key_id())))
            .unwrap();
    }
    let trust = harrier_packs::TrustStore::load(&trust_dir).unwrap();
    assert_eq!(trust.len(), 3);
    for w in [&a, &b, &c] {
        install(&w.pack, &packs_dir, &trust, &opts()).unwrap();
    }
    let config_text = format!(
        r#"
dir = "{}"
trust = "{}"
allowed-permissions = ["host:recent-write"]

[overrides.pack-c.c1]
enabled = false
severity = 2.0

[overrides.pack-ghost.x]
enabled = false
"#,
        packs_dir.display(),
        trust_dir.display()
    );
    let config: PacksConfig = toml::from_str(&config_text).unwrap();
    let loaded = load_configured(&config, "harrier:detector@0.1.0");
    let names: Vec<&str> = loaded.packs.iter().map(|l| l.pack.name()).collect();
    assert_eq!(names, ["pack-a", "pack-c"]);
    assert_eq!(loaded.refused.len(), 1);
    assert_mentions(&loaded.refused[0], &["detector dup", "pack-a", "pack-b"]);
    assert_eq!(loaded.warnings.len(), 1);
    assert!(
        loaded.warnings[0].contains("pack-ghost"),
        "{:?}",
        loaded.warnings
    );
    let pack_c = &loaded.packs[1];
    assert!(!pack_c.pack.plugin("c1").unwrap().enabled());
    assert_eq!(
        pack_c.grants.len(),
        1,
        "only the enabled plugin gets grants"
    );

    // Without the permission, every pack with an enabled plugin asking for it is refused;
    // pack-c passes because the plugin asking for it (c1) is disabled.
    let strict = PacksConfig {
        allowed_permissions: BTreeSet::new(),
        ..config
    };
    let loaded = load_configured(&strict, "0.1.0");
    let names: Vec<&str> = loaded.packs.iter().map(|l| l.pack.name()).collect();
    assert_eq!(names, ["pack-c"]);
    assert_eq!(loaded.refused.len(), 2);
    assert!(
        loaded
            .refused
            .iter()
            .all(|e| matches!(e, PackError::PermissionDenied { .. }))
    );

    // Tampering one installed pack refuses only that pack.
    fs::write(packs_dir.join("pack-a/plugins/alpha.wasm"), b"evil").unwrap();
    let config: PacksConfig = toml::from_str(&config_text).unwrap();
    let loaded = load_configured(&config, "0.1.0");
    let names: Vec<&str> = loaded.packs.iter().map(|l| l.pack.name()).collect();
    assert_eq!(names, ["pack-b", "pack-c"]);
    assert!(matches!(
        loaded.refused[0],
        PackError::DigestMismatch { .. }
    ));
}
