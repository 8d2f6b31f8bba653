//! The capture format (`harrier replay`): any bytes give events or errors
//! naming a line, never a panic, and memory stays bounded.
#![no_main]

use harrier_events::capture::CaptureReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(reader) = CaptureReader::new(data) else {
        return;
    };
    for event in reader {
        let _ = event.map(|e| e.detail.kind());
    }
});
