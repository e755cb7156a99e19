#![no_main]
//! cargo fuzz target `codec`: see `checks::codec` (tests/fuzz/checks.rs).

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::codec(data));
