//! Fuzz target: see `hoist::fuzzing::kie`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| hoist::fuzzing::kie(data));
