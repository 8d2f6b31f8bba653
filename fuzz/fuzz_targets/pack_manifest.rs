//! Pack manifests (`pack.toml`) and their canonical form: parsing,
//! validation and canonical bytes never panic, and a validated manifest
//! written back and parsed again has the same canonical bytes (what the
//! signature covers must not depend on layout).
#![no_main]

use harrier_packs::Manifest;
use harrier_packs::canonical::canonical_bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(manifest) = Manifest::parse(text) else {
        return;
    };
    if manifest.validate().is_err() {
        return;
    }
    let Ok(canonical) = canonical_bytes(&manifest) else {
        return;
    };
    let written = manifest.to_toml().expect("a parsed manifest serialises");
    let again = Manifest::parse(&written).expect("a written manifest parses");
    assert_eq!(canonical_bytes(&again).as_deref(), Ok(&canonical[..]));
});
