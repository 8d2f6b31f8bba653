//! Carrying a detector's state across a hot reload: serialise it in
//! `snapshot`, read it back in `restore`.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Serialise `state` for [`crate::Detector::snapshot`].
pub fn save<T: Serialize>(state: &T) -> Vec<u8> {
    serde_json::to_vec(state).unwrap_or_default()
}

/// Read state written by [`save`] into `state` (an empty snapshot, from a
/// stateless previous version, leaves it as it is).
pub fn load<T: DeserializeOwned>(bytes: &[u8], state: &mut T) -> Result<(), String> {
    if !bytes.is_empty() {
        *state = serde_json::from_slice(bytes).map_err(|e| format!("bad snapshot: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_empty_snapshot() {
        let mut state = vec![1u32, 2];
        load(&save(&vec![7u32]), &mut state).unwrap();
        assert_eq!(state, vec![7]);
        load(&[], &mut state).unwrap();
        assert_eq!(state, vec![7]);
        assert!(
            load(b"{", &mut state)
                .unwrap_err()
                .starts_with("bad snapshot")
        );
    }
}
