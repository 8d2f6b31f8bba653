//! Pack archives (`.tar.gz`): any bytes are read or refused with an error,
//! never a panic, within the size limits.
#![no_main]

use std::io::Write;

use harrier_packs::source::{Limits, read_pack};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut file = tempfile::Builder::new()
        .suffix(".tar.gz")
        .tempfile()
        .expect("temp file");
    file.write_all(data).expect("write");
    let limits = Limits {
        max_entry_bytes: 1 << 20,
        max_total_bytes: 4 << 20,
    };
    if let Ok(pack) = read_pack(file.path(), &limits) {
        let total: usize = pack.files.values().map(Vec::len).sum();
        assert!(total as u64 <= limits.max_total_bytes);
    }
});
