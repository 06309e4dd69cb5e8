//! Fuzz target: see `hoist::fuzzing::package`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hoist::fuzzing::package(data));
