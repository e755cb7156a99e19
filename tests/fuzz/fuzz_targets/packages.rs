#![no_main]
//! cargo fuzz target `packages`: see `checks::packages` (tests/fuzz/checks.rs).

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::packages(data));
