//! Testing with gpa, by example: a test file to copy into your own crate's `tests/`.
//!
//! It shows the four tools of `gpa::testing`:
//! 1. `assert_no_leaks` / `check`: per-test leak checks on the global allocator, for ordinary
//!    Rust code (`Box`, `Vec`, `String`, `HashMap`...), with tests running in parallel;
//! 2. `with_gpa`: instance-per-test, for code that takes a `gpa::Allocator` (Zig style);
//! 3. `FailingAllocator`: make a chosen allocation fail;
//! 4. `check_all_allocation_failures`: make each allocation fail in turn, and prove that
//!    every error path returns the error and frees what it took.
//!
//! Threads spawned inside a check are checked too (Linux with glibc; elsewhere spawn them with
//! `gpa::testing::spawn`). Traces name your functions with or without frame pointers.

use std::collections::HashMap;

use gpa::testing::{
    assert_all_allocation_failures, assert_no_leaks, check, check_all_allocation_failures,
    with_gpa, FailingAllocator, OutOfMemory,
};
use gpa::{Allocator, Config, GeneralPurposeAllocator, OnError};

// Tool 1 needs the GPA as the test binary's global allocator (debug mode: traces in reports).
#[global_allocator]
static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config {
    on_error: OnError::Record,
    ..Config::debug()
});

// ---- 1. leak checks for ordinary Rust code ----

/// Code under test: counts words.
fn word_counts(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word.to_lowercase()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn word_counts_free_everything() {
    assert_no_leaks(|| {
        let counts = word_counts("The cat saw the other cat");
        assert_eq!(counts["cat"], 2);
        assert_eq!(counts["the"], 2);
    });
}

#[test]
fn a_leak_fails_the_test_with_its_allocation_trace() {
    // `assert_no_leaks` would panic here; `check` returns the report instead.
    let report = check(|| {
        let counts = word_counts("forgotten words");
        std::mem::forget(counts);
    });
    let (blocks, _bytes) = report.leak_totals();
    assert!(blocks >= 1, "{report}");
    assert!(report.to_string().contains("word_counts"), "{report}");
}

#[test]
fn threads_printing_and_collections_inside_a_check() {
    assert_no_leaks(|| {
        let total: usize = std::thread::scope(|s| {
            let handles: Vec<_> = ["a b", "c d e"]
                .iter()
                .map(|text| s.spawn(move || word_counts(text).len()))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        println!("counted {total} distinct words"); // libtest's capture buffer is not a leak
        assert_eq!(total, 5);
    });
}

// ---- code that takes an allocator: a small `key=value;key=value` parser ----

#[derive(Debug, PartialEq, Eq)]
enum ParseError {
    OutOfMemory,
    MissingEquals,
    BadNumber,
}

/// Lets `check_all_allocation_failures` tell an out-of-memory error from the others.
impl OutOfMemory for ParseError {
    fn is_out_of_memory(&self) -> bool {
        *self == ParseError::OutOfMemory
    }
}

impl From<gpa::Error> for ParseError {
    fn from(_: gpa::Error) -> Self {
        ParseError::OutOfMemory
    }
}

struct Setting<'a> {
    key: gpa::Box<'a, str>,
    value: u32,
}

fn parse_settings<'a>(
    allocator: Allocator<'a>,
    text: &str,
) -> Result<gpa::Vec<'a, Setting<'a>>, ParseError> {
    let mut settings = allocator.vec::<Setting<'a>>();
    for item in text.split(';').filter(|item| !item.is_empty()) {
        let (key, value) = item.split_once('=').ok_or(ParseError::MissingEquals)?;
        let value = value.trim().parse().map_err(|_| ParseError::BadNumber)?;
        let key = allocator.print(format_args!("{}", key.trim()))?;
        settings
            .try_reserve(1)
            .map_err(|_| ParseError::OutOfMemory)?;
        settings.push(Setting { key, value });
    }
    Ok(settings)
}

// ---- 2. instance per test ----

#[test]
fn parse_settings_with_its_own_allocator() {
    with_gpa(|allocator| {
        let settings = parse_settings(allocator, "width=80;height=24").unwrap();
        assert_eq!(&*settings[0].key, "width");
        assert_eq!(settings[1].value, 24);
        assert_eq!(
            parse_settings(allocator, "width").err(),
            Some(ParseError::MissingEquals)
        );
    }); // panics with the leak report if anything was left allocated
}

// ---- 3. one chosen allocation fails ----

#[test]
fn the_second_allocation_fails() {
    let page = gpa::PageAllocator::new();
    let failing = FailingAllocator::new(page.allocator(), gpa::testing::Config::fail_at(1));
    let result = parse_settings(failing.allocator(), "a=1;b=2");
    assert_eq!(result.err(), Some(ParseError::OutOfMemory));
    assert_eq!(failing.allocations(), 1);
    assert_eq!(
        failing.live_bytes(),
        0,
        "the error path freed the first key"
    );
}

// ---- 4. every allocation fails in turn ----

#[test]
fn every_out_of_memory_path_is_clean() {
    with_gpa(|allocator| {
        assert_all_allocation_failures(allocator, |allocator| {
            parse_settings(allocator, "a=1;bb=2;ccc=3").map(|settings| settings.len())
        });
    });
}

#[test]
fn a_swallowed_error_is_found() {
    // A buggy variant that turns out-of-memory into "no settings".
    let page = gpa::PageAllocator::new();
    let report = check_all_allocation_failures(page.allocator(), |allocator| {
        Ok::<usize, ParseError>(
            parse_settings(allocator, "a=1;b=2").map_or(0, |settings| settings.len()),
        )
    })
    .unwrap_err();
    assert_eq!(report.failed_runs.len(), report.allocations, "{report}");
    assert!(
        report
            .failed_runs
            .iter()
            .all(|run| run.problems.contains(&gpa::testing::Problem::Swallowed)),
        "{report}"
    );
}
