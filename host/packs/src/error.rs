//! The one error type of the crate: every refusal names the pack, the file and the reason.

use std::path::PathBuf;

/// Why a pack (or a key, or the install store) was refused.
///
/// `pack` fields name the pack as the operator gave it: its path, and its name and version once
/// the manifest has been read.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The pack path is neither a directory nor a `.tar.gz` archive.
    #[error("pack {pack}: not a directory or a .tar.gz archive")]
    NotAPack {
        /// The pack.
        pack: String,
    },
    /// `pack.toml` is missing, malformed or fails validation.
    #[error("pack {pack}: pack.toml: {reason}")]
    Manifest {
        /// The pack.
        pack: String,
        /// What is wrong with the manifest.
        reason: String,
    },
    /// A file the manifest lists is not in the pack.
    #[error("pack {pack}: file {file}: listed in pack.toml but missing from the pack")]
    MissingFile {
        /// The pack.
        pack: String,
        /// The missing file (pack-relative).
        file: String,
    },
    /// One of the pack's own test vectors failed.
    #[error("pack {pack}: plugin {plugin}: {vector} failed: {reason}")]
    TestFailed {
        /// The pack.
        pack: String,
        /// The plugin tested.
        plugin: String,
        /// Which vector (its number and capture).
        vector: String,
        /// The differences, or why it could not run.
        reason: String,
    },
    /// A file in the pack is not listed in the manifest.
    #[error("pack {pack}: file {file}: not listed in pack.toml (extra files are refused)")]
    ExtraFile {
        /// The pack.
        pack: String,
        /// The unlisted file (pack-relative).
        file: String,
    },
    /// A file's sha256 differs from the one in the manifest.
    #[error("pack {pack}: file {file}: sha256 {actual} does not match {expected} in pack.toml")]
    DigestMismatch {
        /// The pack.
        pack: String,
        /// The file (pack-relative).
        file: String,
        /// Digest from the manifest.
        expected: String,
        /// Digest of the bytes found.
        actual: String,
    },
    /// An archive or directory entry that could escape or alias the pack: `..`, absolute path,
    /// symlink, hard link, device, fifo, socket, duplicate entry.
    #[error("pack {pack}: entry {entry}: {reason}")]
    UnsafeEntry {
        /// The pack.
        pack: String,
        /// The entry path as found.
        entry: String,
        /// Why it is refused.
        reason: String,
    },
    /// An entry, or the pack as a whole, exceeds the size limits.
    #[error("pack {pack}: entry {entry}: {size} bytes exceeds the limit of {limit} bytes")]
    Oversized {
        /// The pack.
        pack: String,
        /// The entry (or `(total)` for the whole pack).
        entry: String,
        /// Bytes seen (at least).
        size: u64,
        /// The limit that applies.
        limit: u64,
    },
    /// The pack has no `pack.sig` and unsigned packs are not allowed.
    #[error("pack {pack}: pack.sig: pack is unsigned (use --allow-unsigned for development only)")]
    Unsigned {
        /// The pack.
        pack: String,
    },
    /// `pack.sig` is malformed.
    #[error("pack {pack}: pack.sig: {reason}")]
    SignatureFile {
        /// The pack.
        pack: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The signing key is not in the trust store.
    #[error("pack {pack}: pack.sig: signed by key {key_id}, which is not in the trust store")]
    UnknownKey {
        /// The pack.
        pack: String,
        /// The key id named by `pack.sig`.
        key_id: String,
    },
    /// The signature does not verify: the manifest changed or the wrong key signed it.
    #[error(
        "pack {pack}: pack.sig: signature does not verify with trusted key {key_id} \
         (pack.toml changed after signing, or signed with a different key)"
    )]
    BadSignature {
        /// The pack.
        pack: String,
        /// The key id named by `pack.sig`.
        key_id: String,
    },
    /// The pack needs a WIT package version this host does not provide.
    #[error("pack {pack}: pack.toml: needs WIT harrier:detector {required}, host provides {host}")]
    IncompatibleWit {
        /// The pack.
        pack: String,
        /// The requirement in the manifest.
        required: String,
        /// The host's WIT version.
        host: String,
    },
    /// Two packs ship a detector with the same name.
    #[error("detector {detector}: provided by both pack {first} and pack {second}")]
    DuplicateDetector {
        /// The detector name.
        detector: String,
        /// The first pack providing it.
        first: String,
        /// The second pack providing it.
        second: String,
    },
    /// A plugin asks for a permission the operator does not allow.
    #[error(
        "pack {pack}: plugin {plugin}: permission {permission} is requested but not allowed by \
         the operator's configuration"
    )]
    PermissionDenied {
        /// The pack.
        pack: String,
        /// The plugin.
        plugin: String,
        /// The permission.
        permission: String,
    },
    /// An operator override cannot be applied.
    #[error("pack {pack}: override: {reason}")]
    Override {
        /// The pack.
        pack: String,
        /// Why.
        reason: String,
    },
    /// A key file is malformed or does not match its key id.
    #[error("key {path}: {reason}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The install store refused an operation.
    #[error("packs directory {dir}: {reason}")]
    Store {
        /// The packs directory.
        dir: PathBuf,
        /// Why.
        reason: String,
    },
}

impl PackError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PackError::Io {
            path: path.into(),
            source,
        }
    }
}
