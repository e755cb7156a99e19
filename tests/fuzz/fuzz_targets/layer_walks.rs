#![no_main]
//! cargo fuzz target `layer_walks`: see `checks::layer_walks` (tests/fuzz/checks.rs).

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::layer_walks(data));
