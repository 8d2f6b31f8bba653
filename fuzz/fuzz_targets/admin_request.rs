//! The admin endpoint's request parsing: any bytes give a request or a
//! refusal, never a panic.
#![no_main]

#[path = "../../host/cli/src/commands/admin_request.rs"]
mod admin_request;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let admin_request::Request::Get(target) = admin_request::parse_request(data) {
        assert!(!target.contains(['\r', '\n', ' ']));
    }
});
