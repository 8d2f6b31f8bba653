//! Ed25519 signing keys, public keys, key ids and the trust store (a directory of public keys).
//!
//! Key files are small TOML documents with hex-encoded keys:
//!
//! ```toml
//! algorithm = "ed25519"
//! key-id = "3f2a9c0d41b7e856"          # first 16 hex digits of sha256(public key)
//! public-key = "<64 hex digits>"       # in NAME.pub
//! secret-key = "<64 hex digits>"       # in NAME.key (mode 0600), instead of public-key
//! comment = "acme release key"
//! ```

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::PackError;

/// The only signature algorithm packs use.
pub const ALGORITHM: &str = "ed25519";
/// File extension of public key files in a trust store.
pub const PUBLIC_KEY_EXT: &str = "pub";
/// File extension of secret key files written by `keygen`.
pub const SECRET_KEY_EXT: &str = "key";

/// Returns the key id of a public key: the first 16 hex digits of its sha256.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct KeyFile {
    algorithm: String,
    key_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_key: Option<String>,
    #[serde(default)]
    comment: String,
}

impl KeyFile {
    fn read(path: &Path) -> Result<KeyFile, PackError> {
        let text = fs::read_to_string(path).map_err(|e| PackError::io(path, e))?;
        let file: KeyFile = toml::from_str(&text).map_err(|e| key_err(path, e.to_string()))?;
        if file.algorithm != ALGORITHM {
            return Err(key_err(
                path,
                format!("algorithm {:?} is not ed25519", file.algorithm),
            ));
        }
        Ok(file)
    }
}

fn key_err(path: &Path, reason: impl Into<String>) -> PackError {
    PackError::Key {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn decode_32(path: &Path, field: &str, text: Option<&str>) -> Result<[u8; 32], PackError> {
    let text = text.ok_or_else(|| key_err(path, format!("no {field}")))?;
    let bytes = hex::decode(text).map_err(|e| key_err(path, format!("{field}: {e}")))?;
    bytes
        .try_into()
        .map_err(|_| key_err(path, format!("{field}: expected 32 bytes (64 hex digits)")))
}

/// A public key someone trusts to sign packs.
#[derive(Debug, Clone)]
pub struct PublicKey {
    key: VerifyingKey,
    key_id: String,
    comment: String,
}

impl PublicKey {
    /// Wraps a verifying key, computing its key id.
    pub fn new(key: VerifyingKey, comment: impl Into<String>) -> Self {
        PublicKey {
            key_id: key_id(&key),
            key,
            comment: comment.into(),
        }
    }

    /// Reads a `.pub` key file, checking that its key id matches the key.
    pub fn load(path: &Path) -> Result<PublicKey, PackError> {
        let file = KeyFile::read(path)?;
        let bytes = decode_32(path, "public-key", file.public_key.as_deref())?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|e| key_err(path, format!("public-key: {e}")))?;
        let public = PublicKey::new(key, file.comment);
        if public.key_id != file.key_id {
            return Err(key_err(
                path,
                format!(
                    "key-id {} does not match the key (expected {})",
                    file.key_id, public.key_id
                ),
            ));
        }
        Ok(public)
    }

    /// Writes this key as a `.pub` file (refuses to overwrite).
    pub fn save(&self, path: &Path) -> Result<(), PackError> {
        let file = KeyFile {
            algorithm: ALGORITHM.into(),
            key_id: self.key_id.clone(),
            public_key: Some(hex::encode(self.key.as_bytes())),
            secret_key: None,
            comment: self.comment.clone(),
        };
        write_new(path, &file, 0o644)
    }

    /// The key id (16 hex digits).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The free-text comment stored with the key.
    pub fn comment(&self) -> &str {
        &self.comment
    }

    /// The ed25519 verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }
}

/// A private key that signs packs.
pub struct SecretKey {
    key: SigningKey,
    comment: String,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretKey")
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// Generates a new key from the operating system's random source.
    pub fn generate(comment: impl Into<String>) -> Result<SecretKey, PackError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| PackError::Key {
            path: PathBuf::from("(new key)"),
            reason: format!("no randomness from the operating system: {e}"),
        })?;
        Ok(SecretKey {
            key: SigningKey::from_bytes(&seed),
            comment: comment.into(),
        })
    }

    /// Reads a `.key` file, checking that its key id matches the key.
    pub fn load(path: &Path) -> Result<SecretKey, PackError> {
        let file = KeyFile::read(path)?;
        let seed = decode_32(path, "secret-key", file.secret_key.as_deref())?;
        let secret = SecretKey {
            key: SigningKey::from_bytes(&seed),
            comment: file.comment,
        };
        if secret.key_id() != file.key_id {
            return Err(key_err(
                path,
                format!(
                    "key-id {} does not match the key (expected {})",
                    file.key_id,
                    secret.key_id()
                ),
            ));
        }
        Ok(secret)
    }

    /// Writes this key as a `.key` file with mode 0600 (refuses to overwrite).
    pub fn save(&self, path: &Path) -> Result<(), PackError> {
        let file = KeyFile {
            algorithm: ALGORITHM.into(),
            key_id: self.key_id(),
            public_key: None,
            secret_key: Some(hex::encode(self.key.to_bytes())),
            comment: self.comment.clone(),
        };
        write_new(path, &file, 0o600)
    }

    /// The key id of the matching public key.
    pub fn key_id(&self) -> String {
        key_id(&self.key.verifying_key())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::new(self.key.verifying_key(), self.comment.clone())
    }

    /// Signs a message.
    pub fn sign(&self, message: &[u8]) -> ed25519_dalek::Signature {
        self.key.sign(message)
    }
}

fn write_new(path: &Path, file: &KeyFile, mode: u32) -> Result<(), PackError> {
    let text = toml::to_string(file).map_err(|e| key_err(path, e.to_string()))?;
    let mut out = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| PackError::io(path, e))?;
    out.write_all(text.as_bytes())
        .and_then(|()| out.sync_all())
        .map_err(|e| PackError::io(path, e))
}

/// Paths written by [`keygen`].
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    /// The key id.
    pub key_id: String,
    /// The private key file (mode 0600).
    pub secret_path: PathBuf,
    /// The public key file, to copy into trust stores.
    pub public_path: PathBuf,
}

/// Generates a key pair and writes `DIR/NAME.key` and `DIR/NAME.pub` (refuses to overwrite).
pub fn keygen(dir: &Path, name: &str) -> Result<GeneratedKey, PackError> {
    crate::manifest::validate_name("key name", name).map_err(|reason| key_err(dir, reason))?;
    fs::create_dir_all(dir).map_err(|e| PackError::io(dir, e))?;
    let secret = SecretKey::generate(name)?;
    let secret_path = dir.join(format!("{name}.{SECRET_KEY_EXT}"));
    let public_path = dir.join(format!("{name}.{PUBLIC_KEY_EXT}"));
    if public_path.exists() {
        return Err(PackError::io(
            &public_path,
            std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        ));
    }
    secret.save(&secret_path)?;
    secret.public_key().save(&public_path)?;
    Ok(GeneratedKey {
        key_id: secret.key_id(),
        secret_path,
        public_path,
    })
}

/// The public keys an operator trusts, by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: BTreeMap<String, PublicKey>,
}

impl TrustStore {
    /// A trust store with no keys (only unsigned packs can pass, and only when allowed).
    pub fn empty() -> Self {
        TrustStore::default()
    }

    /// Loads every `*.pub` file of a directory; other files are ignored, a malformed `.pub` is
    /// an error (a trusted key is never skipped silently).
    pub fn load(dir: &Path) -> Result<TrustStore, PackError> {
        let mut store = TrustStore::empty();
        let entries = fs::read_dir(dir).map_err(|e| PackError::io(dir, e))?;
        let mut paths = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| PackError::io(dir, e))?.path();
            if path.extension().is_some_and(|ext| ext == PUBLIC_KEY_EXT) && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        for path in paths {
            store.add(PublicKey::load(&path)?);
        }
        Ok(store)
    }

    /// Adds a key.
    pub fn add(&mut self, key: PublicKey) {
        self.keys.insert(key.key_id.clone(), key);
    }

    /// The key with this id, if trusted.
    pub fn get(&self, key_id: &str) -> Option<&PublicKey> {
        self.keys.get(key_id)
    }

    /// The trusted keys, by key id.
    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.keys.values()
    }

    /// Number of trusted keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
