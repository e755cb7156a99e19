#![no_main]
//! cargo fuzz target `merge`: see `checks::merge` (tests/fuzz/checks.rs).

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::merge(data));
