#![no_main]
//! cargo fuzz target `decompress`: see `checks::decompress` (tests/fuzz/checks.rs).

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::decompress(data));
