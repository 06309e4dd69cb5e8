//! Fuzz target: see `hoist::fuzzing::spec`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hoist::fuzzing::spec(data));
