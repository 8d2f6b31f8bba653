//! Stable finding ids: the same input always gives the same id.

use sha2::{Digest, Sha256};

/// A finding's id: the first 128 bits of SHA-256 over its type, its resource
/// key and the sequence number of its first event, as 32 lower-case hex
/// digits. Replaying a capture therefore reproduces every id.
pub(crate) fn finding_id(finding_type: &str, resource: &str, first_seq: u64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(finding_type.as_bytes());
    hasher.update([0]);
    hasher.update(resource.as_bytes());
    hasher.update([0]);
    hasher.update(first_seq.to_le_bytes());
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let a = finding_id("Execution:Runtime/ReverseShell", "container:abc", 7);
        assert_eq!(
            a,
            finding_id("Execution:Runtime/ReverseShell", "container:abc", 7)
        );
        assert_eq!(a.len(), 32);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(
            a,
            finding_id("Execution:Runtime/ReverseShell", "container:abc", 8)
        );
        assert_ne!(
            a,
            finding_id("Execution:Runtime/ReverseShell", "container:abd", 7)
        );
        assert_ne!(
            a,
            finding_id("Impact:Runtime/CryptoMinerExecuted", "container:abc", 7)
        );
    }
}
