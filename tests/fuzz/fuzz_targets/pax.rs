#![no_main]
//! cargo fuzz target `pax`: see `checks::pax` (tests/fuzz/checks.rs).

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::pax(data));
