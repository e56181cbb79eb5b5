//! `gpa::testing::FailingAllocator` and `gpa::testing::check_all_allocation_failures`, including
//! a small parser with a missing free planted on an out-of-memory path.

use std::cell::Cell;

use gpa::testing::{
    check_all_allocation_failures, Config, FailingAllocator, InducedFailure, OutOfMemory, Problem,
};
use gpa::{Allocator, ArenaAllocator, Error, PageAllocator};

// ---------------------------------------------------------------------------------------------
// FailingAllocator

#[test]
fn counts_allocations_frees_and_bytes() {
    let page = PageAllocator::new();
    let failing = FailingAllocator::new(page.allocator(), Config::NEVER);
    let allocator = failing.allocator();
    let a = allocator.raw_alloc(100, 8).unwrap();
    let b = allocator.raw_alloc(5000, 64).unwrap();
    assert_eq!(failing.allocations(), 2);
    assert_eq!(failing.alloc_index(), 2);
    assert_eq!(failing.allocated_bytes(), 5100);
    // SAFETY: live blocks with these layouts; lengths follow each successful call.
    unsafe {
        assert!(allocator.raw_resize(b, 5000, 64, 6000)); // page: same two pages
        assert_eq!(failing.allocated_bytes(), 6100);
        assert!(allocator.raw_resize(b, 6000, 64, 1000));
        assert_eq!(failing.freed_bytes(), 5000);
        assert_eq!(failing.resize_index(), 2);
        allocator.raw_free(a, 100, 8);
        allocator.raw_free(b, 1000, 64);
    }
    assert_eq!(failing.deallocations(), 2);
    assert_eq!(failing.freed_bytes(), 6100);
    assert_eq!(failing.live_bytes(), 0);
    assert!(!failing.has_induced_failure());
    assert_eq!(failing.induced_failure_trace(), None);
}

#[test]
fn fails_from_fail_index_on() {
    let page = PageAllocator::new();
    let failing = FailingAllocator::new(page.allocator(), Config::fail_at(3));
    let allocator = failing.allocator();
    let mut boxes = Vec::new();
    for i in 0..3u32 {
        boxes.push(allocator.new_box(i).unwrap());
    }
    assert!(!failing.has_induced_failure());
    assert_eq!(allocator.new_box(3u32).unwrap_err(), Error::OutOfMemory);
    assert!(failing.has_induced_failure());
    assert_eq!(failing.induced_failure(), Some(InducedFailure::Alloc(3)));
    // Memory stays exhausted, even after frees (Zig's semantics).
    drop(boxes);
    assert_eq!(allocator.new_box(4u32).unwrap_err(), Error::OutOfMemory);
    assert_eq!(failing.allocations(), 3);
    assert_eq!(failing.deallocations(), 3);
    assert_eq!(failing.alloc_index(), 3);
    assert_eq!(failing.live_bytes(), 0);
}

#[test]
fn fail_index_zero_fails_the_first_allocation() {
    let page = PageAllocator::new();
    let failing = FailingAllocator::new(page.allocator(), Config::fail_at(0));
    let mut v = allocator_api2::vec::Vec::<u8, _>::new_in(&failing);
    assert!(v.try_reserve(10).is_err());
    assert_eq!(failing.allocations(), 0);
    assert_eq!(failing.induced_failure(), Some(InducedFailure::Alloc(0)));
}

#[test]
fn fails_resizes_from_resize_fail_index_on() {
    let page = PageAllocator::new();
    let config = Config {
        fail_index: usize::MAX,
        resize_fail_index: 1,
    };
    let failing = FailingAllocator::new(page.allocator(), config);
    let allocator = failing.allocator();
    let block = allocator.raw_alloc(8192, 8).unwrap();
    // SAFETY: a live block; lengths follow each successful call.
    unsafe {
        assert!(allocator.raw_resize(block, 8192, 8, 4096)); // resize index 0
        assert!(!allocator.raw_resize(block, 4096, 8, 100)); // index 1: fails
        assert!(allocator.raw_remap(block, 4096, 8, 100).is_none()); // still failing
        assert_eq!(failing.induced_failure(), Some(InducedFailure::Resize(1)));
        assert_eq!(failing.resize_index(), 1);
        allocator.raw_free(block, 4096, 8);
    }
    assert_eq!(failing.live_bytes(), 0);
}

#[inline(never)]
fn allocate_three_times(allocator: Allocator<'_>) -> Result<(), Error> {
    let _a = allocator.new_box([0u8; 16])?;
    let _b = allocator.new_box([0u8; 16])?;
    let _c = allocator.new_box([0u8; 16])?;
    Ok(())
}

#[test]
fn records_the_stack_of_the_induced_failure() {
    let page = PageAllocator::new();
    let failing = FailingAllocator::new(page.allocator(), Config::fail_at(2));
    assert_eq!(
        allocate_three_times(failing.allocator()),
        Err(Error::OutOfMemory)
    );
    let trace = failing
        .induced_failure_trace()
        .expect("a failure was induced");
    assert!(trace.contains("allocate_three_times"), "trace:\n{trace}");
    assert!(trace.contains("failing.rs:"), "trace:\n{trace}");
    // The machinery frames are cut from the top: the first frame is the caller's code
    // (the typed helper inlined into it or the function itself), not the backtrace crate.
    assert!(
        !trace.lines().next().unwrap().contains("backtrace::"),
        "trace:\n{trace}"
    );
}

// ---------------------------------------------------------------------------------------------
// check_all_allocation_failures on a small parser

/// A parse error: either the input is malformed or memory ran out.
#[derive(Debug, PartialEq)]
enum ParseError {
    OutOfMemory,
    MissingEquals { item: usize },
}

impl From<Error> for ParseError {
    fn from(_: Error) -> Self {
        ParseError::OutOfMemory
    }
}

impl OutOfMemory for ParseError {
    fn is_out_of_memory(&self) -> bool {
        *self == ParseError::OutOfMemory
    }
}

/// One `key=value` pair, each string owned (raw form: freed explicitly).
struct Entry<'a> {
    key: &'a mut [u8],
    value: &'a mut [u8],
}

type Entries<'a> = allocator_api2::vec::Vec<Entry<'a>, Allocator<'a>>;

fn free_entries<'a>(allocator: Allocator<'a>, entries: Entries<'a>) {
    for entry in entries {
        // SAFETY: both slices were allocated by `allocator` with these lengths (via `dupe`).
        unsafe {
            allocator.free(entry.key);
            allocator.free(entry.value);
        }
    }
}

#[inline(never)]
fn dupe_value<'a>(allocator: Allocator<'a>, value: &str) -> Result<&'a mut [u8], Error> {
    allocator.dupe(value.as_bytes())
}

/// Parses `key=value;key=value;...`. With `forget_key_on_error`, the out-of-memory path of the
/// value's allocation returns without freeing the key just allocated: the planted bug.
fn parse<'a>(
    allocator: Allocator<'a>,
    input: &str,
    forget_key_on_error: bool,
) -> Result<Entries<'a>, ParseError> {
    let mut entries: Entries<'a> = allocator_api2::vec::Vec::new_in(allocator);
    for (item, text) in input.split(';').filter(|text| !text.is_empty()).enumerate() {
        let Some((key, value)) = text.split_once('=') else {
            free_entries(allocator, entries);
            return Err(ParseError::MissingEquals { item });
        };
        let key = match allocator.dupe(key.as_bytes()) {
            Ok(key) => key,
            Err(error) => {
                free_entries(allocator, entries);
                return Err(error.into());
            }
        };
        let value = match dupe_value(allocator, value) {
            Ok(value) => value,
            Err(error) => {
                if !forget_key_on_error {
                    // SAFETY: allocated just above by `allocator` with this length.
                    unsafe { allocator.free(key) };
                }
                free_entries(allocator, entries);
                return Err(error.into());
            }
        };
        if entries.try_reserve(1).is_err() {
            // SAFETY: both allocated just above by `allocator` with these lengths.
            unsafe {
                allocator.free(key);
                allocator.free(value);
            }
            free_entries(allocator, entries);
            return Err(ParseError::OutOfMemory);
        }
        entries.push(Entry { key, value });
    }
    Ok(entries)
}

const INPUT: &str = "a=1;bb=22;ccc=333";

fn parse_and_count(allocator: Allocator<'_>, buggy: bool) -> Result<usize, ParseError> {
    let entries = parse(allocator, INPUT, buggy)?;
    let count = entries.len();
    let total: usize = entries.iter().map(|e| e.key.len() + e.value.len()).sum();
    assert_eq!(total, 12);
    free_entries(allocator, entries);
    Ok(count)
}

#[test]
fn parser_works() {
    let page = PageAllocator::new();
    let failing = FailingAllocator::new(page.allocator(), Config::NEVER);
    let entries = parse(failing.allocator(), INPUT, false).unwrap();
    let pairs: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                String::from_utf8(e.key.to_vec()).unwrap(),
                String::from_utf8(e.value.to_vec()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [("a", "1"), ("bb", "22"), ("ccc", "333")].map(|(k, v)| (k.to_owned(), v.to_owned()))
    );
    free_entries(failing.allocator(), entries);
    assert_eq!(failing.live_bytes(), 0);
    let bad = parse(failing.allocator(), "a=1;oops;c=3", false);
    assert_eq!(bad.err(), Some(ParseError::MissingEquals { item: 1 }));
    assert_eq!(failing.live_bytes(), 0);
}

#[test]
fn finds_the_planted_missing_free() {
    let page = PageAllocator::new();
    // Leaked keys are reclaimed when the arena goes, instead of leaking into the page allocator.
    let arena = ArenaAllocator::new(page.allocator());
    let report = check_all_allocation_failures(arena.allocator(), |allocator| {
        parse_and_count(allocator, true)
    })
    .expect_err("the buggy parser leaks");
    // The allocation order is: key "a" (0), value "1" (1), the vector's buffer (2, room for
    // four entries), key "bb" (3), value "22" (4), key "ccc" (5), value "333" (6).
    assert_eq!(report.allocations, 7);
    // The bug is on the value's failure path: indices 1, 4 and 6, each leaking its key.
    assert_eq!(report.failing_indices(), [1, 4, 6]);
    let leaks: Vec<&Vec<Problem>> = report.failed_runs.iter().map(|run| &run.problems).collect();
    assert_eq!(
        leaks,
        [
            &vec![Problem::Leaked {
                bytes: 1,
                blocks: 1
            }],
            &vec![Problem::Leaked {
                bytes: 2,
                blocks: 1
            }],
            &vec![Problem::Leaked {
                bytes: 3,
                blocks: 1
            }],
        ]
    );
    for run in &report.failed_runs {
        let trace = run
            .trace
            .as_deref()
            .expect("every induced failure has a trace");
        assert!(trace.contains("dupe_value"), "trace:\n{trace}");
    }
    let text = report.to_string();
    println!("{text}"); // visible with `cargo test --test failing -- --nocapture`
    assert!(text.contains("run with allocation 4 failing"), "{text}");
    assert!(text.contains("leaked 2 bytes in 1 block"), "{text}");
    assert!(text.contains("dupe_value"), "{text}");
}

#[test]
fn passes_the_corrected_parser() {
    let page = PageAllocator::new();
    let runs = Cell::new(0);
    let result = check_all_allocation_failures(page.allocator(), |allocator| {
        runs.set(runs.get() + 1);
        parse_and_count(allocator, false)
    });
    assert_eq!(result, Ok(()));
    // The counting run plus one run per allocation.
    assert_eq!(runs.get(), 8);
}

#[test]
fn reports_swallowed_errors() {
    let page = PageAllocator::new();
    let report = check_all_allocation_failures(page.allocator(), |allocator| {
        let first = allocator.new_box(1u32)?;
        // Swallows the failure of the second allocation.
        let second = allocator.new_box(2u32).map(|b| *b).unwrap_or(0);
        Ok::<u32, Error>(*first + second)
    })
    .expect_err("the second allocation's failure is swallowed");
    assert_eq!(report.allocations, 2);
    assert_eq!(report.failing_indices(), [1]);
    assert_eq!(report.failed_runs[0].problems, [Problem::Swallowed]);
}

#[test]
fn reports_a_different_error() {
    let page = PageAllocator::new();
    let report = check_all_allocation_failures(page.allocator(), |allocator| {
        let _ = allocator
            .new_box(1u32)
            .map_err(|_| ParseError::MissingEquals { item: 0 })?;
        Ok::<(), ParseError>(())
    })
    .expect_err("out-of-memory is turned into a parse error");
    assert_eq!(report.failing_indices(), [0]);
    assert_eq!(
        report.failed_runs[0].problems,
        [Problem::WrongError("MissingEquals { item: 0 }".to_owned())]
    );
}

#[test]
fn reports_panics() {
    let page = PageAllocator::new();
    let report = check_all_allocation_failures(page.allocator(), |allocator| {
        let a = allocator.new_box(1u8)?;
        let b = allocator.new_box(2u8).expect("second box");
        Ok::<u8, Error>(*a + *b)
    })
    .expect_err("the second allocation unwraps");
    assert_eq!(report.failing_indices(), [1]);
    let [Problem::Panicked(message)] = report.failed_runs[0].problems.as_slice() else {
        panic!("unexpected problems: {:?}", report.failed_runs[0].problems);
    };
    assert!(message.contains("second box"), "{message}");
}

#[test]
fn reports_nondeterministic_closures_and_a_failing_counting_run() {
    let page = PageAllocator::new();
    let runs = Cell::new(0);
    let report = check_all_allocation_failures(page.allocator(), |allocator| {
        runs.set(runs.get() + 1);
        // Breaks the re-runnable rule: only the first run allocates three times.
        let times = if runs.get() == 1 { 3 } else { 1 };
        for _ in 0..times {
            allocator.new_box(0u64)?;
        }
        Ok::<(), Error>(())
    })
    .expect_err("later runs allocate less");
    assert_eq!(report.allocations, 3);
    assert_eq!(report.failing_indices(), [1, 2]);
    assert!(report
        .failed_runs
        .iter()
        .all(|run| run.problems == [Problem::NotReached] && run.trace.is_none()));

    let report = check_all_allocation_failures(page.allocator(), |_| {
        Err::<(), ParseError>(ParseError::MissingEquals { item: 3 })
    })
    .expect_err("the counting run fails");
    assert_eq!(report.failed_runs.len(), 1);
    assert_eq!(report.failed_runs[0].fail_index, None);
    assert!(matches!(
        report.failed_runs[0].problems.as_slice(),
        [Problem::FailedWithoutInducedFailure(_)]
    ));
}

#[test]
#[should_panic(expected = "run with allocation 1 failing")]
fn assert_all_allocation_failures_panics_with_the_report() {
    let page = PageAllocator::new();
    gpa::testing::assert_all_allocation_failures(page.allocator(), |allocator| {
        let a = allocator.raw_alloc(8, 8)?;
        let b = allocator.raw_alloc(8, 8);
        // Forgets `a` when `b` fails.
        let b = b?;
        // SAFETY: both allocated above with these layouts.
        unsafe {
            allocator.raw_free(a, 8, 8);
            allocator.raw_free(b, 8, 8);
        }
        Ok::<(), Error>(())
    });
}
