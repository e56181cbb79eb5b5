//! Leak-checked tests on the global allocator, run in parallel by libtest's default threads:
//! every test wraps its body in `gpa::testing::check` or `assert_no_leaks`, some leak on
//! purpose (`should_panic`), some print, spawn threads or hand blocks to other threads.
//! `scripts/leak_checked_20_runs.sh` runs this binary 20 times in a row.

use gpa::{Config, GeneralPurposeAllocator, OnError};

#[global_allocator]
static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config {
    on_error: OnError::Record,
    ..Config::debug()
});

include!("leak_checked_cases/cases.rs");
