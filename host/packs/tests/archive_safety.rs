//! Verification of `.tar.gz` packs: real archives written with the tar crate, including
//! hand-crafted hostile entries.

mod common;

use std::fs;
use std::io::Read as _;

use common::*;
use harrier_packs::{PackError, VerifyOptions, archive, verify};

fn refused(w: &World, entries: Vec<Entry>) -> PackError {
    let path = w.path("hostile.tar.gz");
    write_tar_gz(&path, &entries);
    verify(&path, &w.trust(), &opts()).unwrap_err()
}

fn with_pack(w: &World, extra: Entry) -> Vec<Entry> {
    let mut entries = dir_entries(&w.pack, "");
    entries.push(extra);
    entries
}

#[test]
fn archive_written_by_pack_archive_verifies_like_the_directory() {
    let w = World::new();
    let out = w.path("acme.tar.gz");
    archive(&w.pack, &out).unwrap();
    let from_archive = verify(&out, &w.trust(), &opts()).unwrap();
    let from_dir = verify(&w.pack, &w.trust(), &opts()).unwrap();
    assert_eq!(from_archive.digest(), from_dir.digest());
    assert_eq!(
        &from_archive.plugin("alpha").unwrap().bytes()[..],
        &wasm_bytes(3)[..]
    );
    // Reproducible: the same directory gives the same archive bytes.
    let again = w.path("again.tar.gz");
    archive(&w.pack, &again).unwrap();
    assert_eq!(fs::read(&out).unwrap(), fs::read(&again).unwrap());
}

#[test]
fn archive_with_dot_prefix_and_directory_entries_verifies() {
    let w = World::new();
    let mut entries = vec![Entry::Dir("./".into()), Entry::Dir("./plugins/".into())];
    entries.extend(dir_entries(&w.pack, "./"));
    let path = w.path("dot.tar.gz");
    write_tar_gz(&path, &entries);
    verify(&path, &w.trust(), &opts()).unwrap();
}

#[test]
fn archive_with_a_single_top_directory_verifies() {
    let w = World::new();
    let path = w.path("top.tar.gz");
    write_tar_gz(&path, &dir_entries(&w.pack, "acme-runtime-1.0.0/"));
    let pack = verify(&path, &w.trust(), &opts()).unwrap();
    assert_eq!(pack.name(), "acme-runtime");
}

#[test]
fn dotdot_entry_is_refused() {
    let w = World::new();
    let err = refused(
        &w,
        with_pack(
            &w,
            Entry::File("plugins/../../evil.wasm".into(), b"x".to_vec()),
        ),
    );
    assert!(matches!(err, PackError::UnsafeEntry { .. }), "{err}");
    assert_mentions(&err, &["hostile.tar.gz", "plugins/../../evil.wasm", ".."]);
}

#[test]
fn absolute_path_entry_is_refused() {
    let w = World::new();
    let err = refused(
        &w,
        with_pack(&w, Entry::File("/etc/cron.d/evil".into(), b"x".to_vec())),
    );
    assert!(matches!(err, PackError::UnsafeEntry { .. }), "{err}");
    assert_mentions(&err, &["/etc/cron.d/evil", "absolute path"]);
}

#[test]
fn symlink_entry_is_refused() {
    let w = World::new();
    let err = refused(
        &w,
        with_pack(
            &w,
            Entry::Symlink("fixtures/passwd".into(), "/etc/passwd".into()),
        ),
    );
    assert!(matches!(err, PackError::UnsafeEntry { .. }), "{err}");
    assert_mentions(&err, &["fixtures/passwd", "symbolic link", "/etc/passwd"]);
}

#[test]
fn symlink_replacing_a_listed_plugin_is_refused() {
    let w = World::new();
    let mut entries: Vec<Entry> = dir_entries(&w.pack, "")
        .into_iter()
        .filter(|e| !matches!(e, Entry::File(n, _) if n == "plugins/beta.wasm"))
        .collect();
    entries.push(Entry::Symlink(
        "plugins/beta.wasm".into(),
        "alpha.wasm".into(),
    ));
    let err = refused(&w, entries);
    assert!(matches!(err, PackError::UnsafeEntry { .. }), "{err}");
    assert_mentions(&err, &["plugins/beta.wasm", "symbolic link"]);
}

#[test]
fn hard_link_entry_is_refused() {
    let w = World::new();
    let err = refused(
        &w,
        with_pack(
            &w,
            Entry::HardLink("fixtures/shadow".into(), "/etc/shadow".into()),
        ),
    );
    assert!(matches!(err, PackError::UnsafeEntry { .. }), "{err}");
    assert_mentions(&err, &["fixtures/shadow", "hard link"]);
}

#[test]
fn device_entry_is_refused() {
    let w = World::new();
    let err = refused(&w, with_pack(&w, Entry::CharDevice("fixtures/mem".into())));
    assert!(matches!(err, PackError::UnsafeEntry { .. }), "{err}");
    assert_mentions(&err, &["fixtures/mem", "device"]);
}

#[test]
fn fifo_entry_is_refused() {
    let w = World::new();
    let err = refused(&w, with_pack(&w, Entry::Fifo("fixtures/pipe".into())));
    assert!(matches!(err, PackError::UnsafeEntry { .. }), "{err}");
    assert_mentions(&err, &["fixtures/pipe", "fifo"]);
}

#[test]
fn duplicate_entry_is_refused() {
    let w = World::new();
    let err = refused(
        &w,
        with_pack(&w, Entry::File("plugins/alpha.wasm".into(), wasm_bytes(3))),
    );
    assert!(matches!(err, PackError::UnsafeEntry { .. }), "{err}");
    assert_mentions(&err, &["plugins/alpha.wasm", "twice"]);
}

#[test]
fn oversized_entry_is_refused() {
    let w = World::new();
    let path = w.path("big.tar.gz");
    write_tar_gz(
        &path,
        &with_pack(&w, Entry::Sized("fixtures/huge.bin".into(), 64 * 1024)),
    );
    let small = VerifyOptions {
        max_entry_bytes: 16 * 1024,
        ..opts()
    };
    let err = verify(&path, &w.trust(), &small).unwrap_err();
    assert!(matches!(err, PackError::Oversized { .. }), "{err}");
    assert_mentions(
        &err,
        &["big.tar.gz", "fixtures/huge.bin", "65536 bytes", "16384"],
    );
}

#[test]
fn archive_larger_than_the_total_limit_is_refused() {
    let w = World::new();
    let path = w.path("many.tar.gz");
    let mut entries = dir_entries(&w.pack, "");
    for i in 0..8 {
        entries.push(Entry::Sized(format!("fixtures/part{i}.bin"), 8 * 1024));
    }
    write_tar_gz(&path, &entries);
    let small = VerifyOptions {
        max_total_bytes: 32 * 1024,
        ..opts()
    };
    let err = verify(&path, &w.trust(), &small).unwrap_err();
    assert!(matches!(err, PackError::Oversized { .. }), "{err}");
    assert_mentions(&err, &["all files together", "32768"]);
}

#[test]
fn changed_byte_inside_archive_is_refused() {
    let w = World::new();
    let entries: Vec<Entry> = dir_entries(&w.pack, "")
        .into_iter()
        .map(|e| match e {
            Entry::File(n, mut d) if n == "plugins/alpha.wasm" => {
                d[50] ^= 0x80;
                Entry::File(n, d)
            }
            other => other,
        })
        .collect();
    let err = refused(&w, entries);
    assert!(matches!(err, PackError::DigestMismatch { .. }), "{err}");
    assert_mentions(
        &err,
        &["acme-runtime 1.0.0", "hostile.tar.gz", "plugins/alpha.wasm"],
    );
}

#[test]
fn extra_file_inside_archive_is_refused() {
    let w = World::new();
    let err = refused(
        &w,
        with_pack(&w, Entry::File("README".into(), b"hi".to_vec())),
    );
    assert!(matches!(err, PackError::ExtraFile { .. }), "{err}");
    assert_mentions(&err, &["README", "not listed"]);
}

#[test]
fn truncated_archive_is_refused_with_an_io_error() {
    let w = World::new();
    let out = w.path("acme.tar.gz");
    archive(&w.pack, &out).unwrap();
    let bytes = fs::read(&out).unwrap();
    let cut = w.path("cut.tar.gz");
    fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = verify(&cut, &w.trust(), &opts()).unwrap_err();
    assert_mentions(&err, &["cut.tar.gz"]);
}

#[test]
fn archive_decompressing_far_beyond_the_limits_is_refused() {
    // A 9 MiB PAX extension header (tar metadata, not a file) compresses to a few KiB; the
    // decompressed stream is capped at max_total_bytes + 8 MiB whatever the entries claim.
    let w = World::new();
    let path = w.path("bomb.tar.gz");
    let file = fs::File::create(&path).unwrap();
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::fast(),
    ));
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::XHeader);
    header.set_size(9 << 20);
    header.set_cksum();
    builder
        .append(&header, std::io::repeat(b'a').take(9 << 20))
        .unwrap();
    builder.into_inner().unwrap().finish().unwrap();
    assert!(fs::metadata(&path).unwrap().len() < 1 << 20);
    let small = VerifyOptions {
        max_total_bytes: 1024,
        ..opts()
    };
    let err = verify(&path, &w.trust(), &small).unwrap_err();
    assert!(matches!(err, PackError::Oversized { .. }), "{err}");
    assert_mentions(&err, &["bomb.tar.gz", "decompressed archive"]);
}
