//! The detached signature file `pack.sig`: its format, creation and verification.
//!
//! ```toml
//! algorithm = "ed25519"
//! key-id = "3f2a9c0d41b7e856"
//! signature = "<128 hex digits>"   # ed25519 over the canonical manifest bytes
//! ```

use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

use crate::keys::{ALGORITHM, SecretKey, TrustStore};

/// A parsed `pack.sig`.
#[derive(Debug, Clone, PartialEq)]
pub struct PackSignature {
    /// Key id of the key that signed.
    pub key_id: String,
    /// The ed25519 signature over the canonical manifest bytes.
    pub signature: Signature,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SigFile {
    algorithm: String,
    key_id: String,
    signature: String,
}

impl PackSignature {
    /// Signs canonical manifest bytes.
    pub fn sign(canonical: &[u8], key: &SecretKey) -> PackSignature {
        PackSignature {
            key_id: key.key_id(),
            signature: key.sign(canonical),
        }
    }

    /// Parses the text of `pack.sig`; the error is the reason, without the pack name.
    pub fn parse(text: &str) -> Result<PackSignature, String> {
        let file: SigFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if file.algorithm != ALGORITHM {
            return Err(format!("algorithm {:?} is not ed25519", file.algorithm));
        }
        let bytes = hex::decode(&file.signature).map_err(|e| format!("signature: {e}"))?;
        let bytes: [u8; 64] = bytes
            .try_into()
            .map_err(|_| "signature: expected 64 bytes (128 hex digits)".to_string())?;
        Ok(PackSignature {
            key_id: file.key_id,
            signature: Signature::from_bytes(&bytes),
        })
    }

    /// Renders the text of `pack.sig`.
    pub fn render(&self) -> String {
        let file = SigFile {
            algorithm: ALGORITHM.into(),
            key_id: self.key_id.clone(),
            signature: hex::encode(self.signature.to_bytes()),
        };
        let body = toml::to_string(&file).expect("a flat table of strings always serialises");
        format!("# Detached ed25519 signature over the canonical form of pack.toml\n{body}")
    }

    /// Checks the signature against the trust store.
    pub fn verify(&self, canonical: &[u8], trust: &TrustStore) -> Result<(), SignatureProblem> {
        let key = trust
            .get(&self.key_id)
            .ok_or(SignatureProblem::UnknownKey)?;
        key.verifying_key()
            .verify_strict(canonical, &self.signature)
            .map_err(|_| SignatureProblem::BadSignature)
    }
}

/// Why a well-formed signature was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureProblem {
    /// The key id is not in the trust store.
    UnknownKey,
    /// The key is trusted but the signature does not verify.
    BadSignature,
}
