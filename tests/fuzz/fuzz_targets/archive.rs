#![no_main]
//! cargo fuzz target `archive`: see `checks::archive` (tests/fuzz/checks.rs).

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::archive(data));
