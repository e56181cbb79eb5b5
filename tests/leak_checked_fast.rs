//! The cases of `tests/leak_checked.rs` over a GPA in its fast configuration: no safety checks
//! and no traces of its own, so the leak checks' traces (and the lazy-init filter that reads
//! them) must stand on their own.

use gpa::{Config, GeneralPurposeAllocator, OnError};

#[global_allocator]
static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config {
    on_error: OnError::Record,
    ..Config::fast()
});

include!("leak_checked_cases/cases.rs");
