//! The sensor's record decoder: any bytes from the ring buffer decode to an
//! event, nothing, or an error, never a panic.
#![no_main]

use harrier_events::EventKind;
use harrier_sensor::decode::Decoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut decoder = Decoder::new(0);
    decoder.set_enabled(&EventKind::ALL);
    let _ = decoder.decode(data);
});
