//! Caches are not leaks once marked: a `regex::Regex` built before a check and used inside it
//! creates its matching caches on first use, which an unmarked check reports (issue 12: 25
//! blocks, 10 KB); marking the cache's allocation site by function name makes it pass, and a
//! real leak next to it is still reported. One test, in order: marks are process-wide.

use gpa::report::FindingKind;
use gpa::{Config, GeneralPurposeAllocator, OnError};
use regex::Regex;

#[global_allocator]
static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config {
    on_error: OnError::Record,
    ..Config::debug()
});

fn words(re: &Regex, text: &str) -> usize {
    re.find_iter(text).count()
}

#[inline(never)]
fn leak_next_to_the_cache(len: usize) {
    core::mem::forget(std::hint::black_box(vec![1_u8; len]));
}

/// Where regex keeps its matching caches: a pool of per-thread caches, created on first use,
/// whose lazy DFA adds states as it meets new input.
const REGEX_CACHES: [&str; 2] = [
    "regex_automata::util::pool",
    "regex_automata::hybrid::dfa::Lazy",
];

#[test]
fn a_lazily_built_cache_fails_unmarked_and_passes_once_marked() {
    let text = "the quick brown fox jumps over the lazy dog";

    let unmarked = Regex::new(r"\b\w+\b").unwrap();
    let report = gpa::testing::check(|| {
        assert_eq!(words(&unmarked, text), 9);
    });
    assert!(
        !report.is_clean(),
        "the cache's first use allocates inside the check"
    );
    eprintln!("unmarked: {:?} (blocks, bytes)", report.leak_totals());
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.kind == FindingKind::Leak && f.mentions_function("regex")),
        "{report}"
    );

    for pattern in REGEX_CACHES {
        gpa::testing::mark_cache(pattern);
    }
    let marked = Regex::new(r"\b\w+\b").unwrap();
    gpa::testing::assert_no_leaks(|| {
        assert_eq!(words(&marked, text), 9);
    });

    // A leak inside the same check is still found.
    let other = Regex::new(r"o\w").unwrap();
    let report = gpa::testing::check(|| {
        assert_eq!(words(&other, text), 4);
        leak_next_to_the_cache(77);
    });
    assert_eq!(report.leak_totals(), (1, 77), "{report}");
    assert!(report.findings[0].mentions_function("leak_next_to_the_cache"));

    // The same marks hold for a GPA's own leak checks.
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..Config::debug()
    });
    let handle = gpa.allocator();
    let pool_like = cached_in_a_pool(handle);
    assert_eq!(pool_like, 64);
    assert_eq!(gpa.deinit(), gpa::Check::Leak, "not marked yet");
    assert_eq!(gpa.take_report().leak_totals(), (1, 64));
    gpa::testing::mark_cache("leak_checked_caches::cached_in_a_pool");
    cached_in_a_pool(gpa.allocator());
    assert_eq!(gpa.detect_leaks(), 0);
    assert_eq!(gpa.deinit(), gpa::Check::Ok);
}

/// A cache of the program's own, kept in a GPA instance.
#[inline(never)]
fn cached_in_a_pool(a: gpa::Allocator<'_>) -> usize {
    let block = a.alloc::<u8>(64).unwrap();
    block.len()
}
