//! Packs and trust stores mounted the Kubernetes way: a ConfigMap volume whose entries are
//! links into a `..data` link to a hidden timestamped directory. That one shape of links
//! loads (verify, install, load installed, the update swap); every other link is refused.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use common::*;
use harrier_packs::{PackError, TrustStore, install, load_installed_pack, verify};

/// Copies `src` into `volume` laid out like a kubelet-written ConfigMap volume, with the
/// data in `..<stamp>`.
fn mount_like_a_configmap(src: &Path, volume: &Path, stamp: &str) {
    let data = volume.join(format!("..{stamp}"));
    copy_tree(src, &data);
    fs::create_dir_all(volume).unwrap();
    let link = volume.join("..data");
    let _ = fs::remove_file(&link);
    symlink(format!("..{stamp}"), &link).unwrap();
    for entry in fs::read_dir(&data).unwrap() {
        let name = entry.unwrap().file_name();
        let top = volume.join(&name);
        if fs::symlink_metadata(&top).is_err() {
            symlink(Path::new("..data").join(&name), &top).unwrap();
        }
    }
}

fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for entry in fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let to = dst.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            fs::copy(entry.path(), &to).unwrap();
        }
    }
}

#[test]
fn a_configmap_pack_verifies_installs_and_loads_installed() {
    let w = World::new();
    let volume = w.path("configmap/acme-runtime");
    mount_like_a_configmap(&w.pack, &volume, "2026_12_01_21_00_00.000000001");
    let from_dir = verify(&w.pack, &w.trust(), &opts()).unwrap();
    let mounted = verify(&volume, &w.trust(), &opts()).unwrap();
    assert_eq!(mounted.digest(), from_dir.digest());

    // Installed from the mount: the store holds plain files.
    let packs = w.path("packs");
    install(&volume, &packs, &w.trust(), &opts()).unwrap();
    let installed = packs.join("acme-runtime/plugins/alpha.wasm");
    assert!(
        !fs::symlink_metadata(&installed)
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // A pack directory of the store that is itself a ConfigMap mount loads.
    let store = w.path("mounted-store");
    mount_like_a_configmap(
        &w.pack,
        &store.join("acme-runtime"),
        "2026_12_01_21_00_00.1",
    );
    let loaded = load_installed_pack(&store, "acme-runtime", &w.trust(), &opts()).unwrap();
    assert_eq!(
        &loaded.plugin("alpha").unwrap().bytes()[..],
        &wasm_bytes(3)[..]
    );
}

#[test]
fn a_configmap_update_swaps_to_the_new_data() {
    let w = World::new();
    let volume = w.path("configmap/acme-runtime");
    mount_like_a_configmap(&w.pack, &volume, "old");
    // The kubelet's update: new timestamped directory, then ..data swapped.
    let v2 = World::with("acme-runtime", "2.0.0", ["alpha", "beta"]);
    copy_tree(&v2.pack, &volume.join("..new"));
    let tmp_link = volume.join("..data_tmp");
    symlink("..new", &tmp_link).unwrap();
    fs::rename(&tmp_link, volume.join("..data")).unwrap();
    let mut trust = w.trust();
    for key in v2.trust().keys() {
        trust.add(key.clone());
    }
    let pack = verify(&volume, &trust, &opts()).unwrap();
    assert_eq!(pack.version().to_string(), "2.0.0");
}

#[test]
fn links_of_any_other_shape_are_still_refused() {
    let w = World::new();
    let outside = w.path("outside.toml");
    fs::write(&outside, "name = \"evil\"").unwrap();
    type Tamper = fn(&Path, &Path);
    let cases: [(&str, Tamper); 4] = [
        ("entry linking outside ..data", |volume, outside| {
            fs::remove_file(volume.join("pack.toml")).unwrap();
            symlink(outside, volume.join("pack.toml")).unwrap();
        }),
        ("..data linking outside the volume", |volume, _| {
            fs::remove_file(volume.join("..data")).unwrap();
            symlink("/etc", volume.join("..data")).unwrap();
        }),
        ("a plain file next to the links", |volume, _| {
            fs::write(volume.join("extra.wasm"), b"x").unwrap();
        }),
        ("a link inside the data directory", |volume, outside| {
            symlink(outside, volume.join("..data/plugins/gamma.wasm")).unwrap();
        }),
    ];
    for (i, (what, spoil)) in cases.into_iter().enumerate() {
        let volume = w.path(&format!("cm{i}/acme-runtime"));
        mount_like_a_configmap(&w.pack, &volume, "stamp");
        spoil(&volume, &outside);
        let err = verify(&volume, &w.trust(), &opts()).unwrap_err();
        assert!(
            matches!(err, PackError::UnsafeEntry { .. }),
            "{what}: {err}"
        );
    }
}

#[test]
fn a_trust_store_mounted_as_a_configmap_loads() {
    let w = World::new();
    let volume = w.path("trust-configmap");
    mount_like_a_configmap(&w.trust_dir, &volume, "2026_12_01_21_00_00.2");
    let trust = TrustStore::load(&volume).unwrap();
    assert_eq!(trust.len(), 1);
    verify(&w.pack, &trust, &opts()).unwrap();
}
