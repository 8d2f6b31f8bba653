//! Shared test helpers: real pack directories, real keys and signatures, real tar.gz archives.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use harrier_packs::{
    BuildOptions, PackError, SecretKey, TrustStore, VerifyOptions, build, keygen, sign,
};
use tempfile::TempDir;

/// The host WIT version the tests pretend to run.
pub const HOST_WIT: &str = "0.1.0";

/// Component-looking bytes (the packs crate never compiles them).
pub fn wasm_bytes(seed: u8) -> Vec<u8> {
    let mut bytes = b"\0asm\x0d\0\x01\0".to_vec();
    bytes.extend((0..200u32).map(|i| (i as u8).wrapping_mul(seed)));
    bytes
}

/// A hand-written manifest without digests (build fills them in).
pub fn manifest_text(name: &str, version: &str, detectors: [&str; 2]) -> String {
    format!(
        r#"# Test pack
name = "{name}"
version = "{version}"
vendor = "ACME Security"
description = "Test detectors"
wit = "^0.1"

[[plugin]]
name = "{a}"
file = "plugins/alpha.wasm"
version = "1.0.0"
permissions = ["host:recent-write"]
[plugin.config]
threshold = 3
paths = ["/tmp"]
[plugin.config.nested]
a = 1
b = 2

[[plugin]]
name = "{b}"
file = "plugins/beta.wasm"
version = "0.2.0"
"#,
        a = detectors[0],
        b = detectors[1],
    )
}

/// A temp world with a signed pack directory, a key pair and a trust store holding it.
pub struct World {
    pub tmp: TempDir,
    pub pack: PathBuf,
    pub trust_dir: PathBuf,
    pub key: SecretKey,
    pub key_path: PathBuf,
    pub key_id: String,
}

impl World {
    /// A signed pack `acme-runtime` 1.0.0 with detectors alpha and beta and one fixture.
    pub fn new() -> World {
        World::with("acme-runtime", "1.0.0", ["alpha", "beta"])
    }

    /// A signed pack with the given name, version and detector names.
    pub fn with(name: &str, version: &str, detectors: [&str; 2]) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let keys = tmp.path().join("keys");
        let generated = keygen(&keys, "vendor").unwrap();
        let trust_dir = tmp.path().join("trust");
        fs::create_dir_all(&trust_dir).unwrap();
        fs::copy(&generated.public_path, trust_dir.join("vendor.pub")).unwrap();
        let key = SecretKey::load(&generated.secret_path).unwrap();
        let pack = tmp.path().join("src").join(name);
        write_pack_sources(&pack, &manifest_text(name, version, detectors));
        build(&pack, &build_opts()).unwrap();
        sign(&pack, &key).unwrap();
        World {
            pack,
            trust_dir,
            key,
            key_path: generated.secret_path,
            key_id: generated.key_id,
            tmp,
        }
    }

    /// The trust store holding the vendor key.
    pub fn trust(&self) -> TrustStore {
        TrustStore::load(&self.trust_dir).unwrap()
    }

    /// A path inside the temp world.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }
}

/// Writes plugins, a fixture and pack.toml into a directory.
pub fn write_pack_sources(dir: &Path, manifest: &str) {
    fs::create_dir_all(dir.join("plugins")).unwrap();
    fs::create_dir_all(dir.join("fixtures")).unwrap();
    fs::write(dir.join("plugins/alpha.wasm"), wasm_bytes(3)).unwrap();
    fs::write(dir.join("plugins/beta.wasm"), wasm_bytes(7)).unwrap();
    fs::write(dir.join("fixtures/exec.jsonl"), b"{\"seq\":1}\n").unwrap();
    fs::write(dir.join("pack.toml"), manifest).unwrap();
}

/// Build options as the CLI would pass for host 0.1.0.
pub fn build_opts() -> BuildOptions {
    BuildOptions {
        default_wit: "^0.1".into(),
        ..BuildOptions::default()
    }
}

/// Default verification options for host 0.1.0, signatures required.
pub fn opts() -> VerifyOptions {
    VerifyOptions::new(HOST_WIT).unwrap()
}

/// Options that accept unsigned packs.
pub fn unsigned_opts() -> VerifyOptions {
    VerifyOptions {
        allow_unsigned: true,
        ..opts()
    }
}

/// Asserts the error's message contains every fragment.
pub fn assert_mentions(err: &PackError, fragments: &[&str]) {
    let text = err.to_string();
    for fragment in fragments {
        assert!(
            text.contains(fragment),
            "error {text:?} does not mention {fragment:?}"
        );
    }
}

/// One archive entry, with its raw name (written byte for byte, so unsafe names are possible).
pub enum Entry {
    File(String, Vec<u8>),
    Dir(String),
    Symlink(String, String),
    HardLink(String, String),
    CharDevice(String),
    Fifo(String),
    /// A header claiming `size` bytes followed by that many zero bytes.
    Sized(String, u64),
}

/// The files of a pack directory as archive entries, optionally under a prefix such as `./`.
pub fn dir_entries(dir: &Path, prefix: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string();
                out.push(Entry::File(
                    format!("{prefix}{rel}"),
                    fs::read(&path).unwrap(),
                ));
            }
        }
    }
    out
}

/// Writes a real .tar.gz with the given entries, names copied raw into the ustar header.
pub fn write_tar_gz(path: &Path, entries: &[Entry]) {
    let file = fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for entry in entries {
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        header.set_mtime(0);
        let (name, kind, link, data): (&str, tar::EntryType, Option<&str>, Vec<u8>) = match entry {
            Entry::File(n, d) => (n, tar::EntryType::Regular, None, d.clone()),
            Entry::Dir(n) => (n, tar::EntryType::Directory, None, Vec::new()),
            Entry::Symlink(n, t) => (n, tar::EntryType::Symlink, Some(t), Vec::new()),
            Entry::HardLink(n, t) => (n, tar::EntryType::Link, Some(t), Vec::new()),
            Entry::CharDevice(n) => (n, tar::EntryType::Char, None, Vec::new()),
            Entry::Fifo(n) => (n, tar::EntryType::Fifo, None, Vec::new()),
            Entry::Sized(n, size) => (n, tar::EntryType::Regular, None, vec![0; *size as usize]),
        };
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        let raw = &mut header.as_old_mut().name;
        assert!(name.len() < raw.len(), "test entry name too long");
        raw[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(link) = link {
            let raw = &mut header.as_old_mut().linkname;
            raw[..link.len()].copy_from_slice(link.as_bytes());
        }
        header.set_cksum();
        builder.append(&header, &data[..]).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}
