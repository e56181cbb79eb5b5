//! What a leak check leaves out: allocation sites marked as caches, and std's own runtime
//! blocks.
//!
//! # Caches
//! Some blocks are meant to live as long as the process and are built lazily by whichever code
//! touches them first: a compiled `regex::Regex`'s per-thread matching caches, a memoization
//! table, an interner. A leak check run after the first use is fine; one that makes the first
//! use reports them. [`mark`] (public as `gpa::testing::mark_cache`) names such allocation
//! sites by a function-name pattern: a block whose allocation trace has a frame whose
//! demangled function name contains the pattern is a cache, not a leak, for `gpa::testing` checks and for a GPA's `deinit` and `detect_leaks`
//! (and the exit report). Marks are process-wide (caches are process-wide by nature) and
//! cannot be removed. Choose patterns that name the cache machinery, not the whole library
//! (`regex_automata::util::pool` rather than `regex`), so that a leak of the library's other
//! objects is still reported.
//!
//! # std's runtime blocks
//! The runtime allocates a few blocks before `main` or on first use and keeps them until the
//! process ends ([`STD_RUNTIME_FUNCTIONS`]): the main thread's information for the
//! stack-overflow handler, stdout's buffer. `detect_leaks` and the exit report leave them out.
//!
//! # Design
//! Matching needs the block's allocation trace (safety mode with traces, or a leak check's own
//! trace) and symbols; a block without either is never left out. Symbolized function names are
//! cached per return address (`report::symbolize`'s `functions_at`). Callers hold the
//! GPA's re-entrancy guard: symbolization and the pattern list allocate from the internal heap.

use super::lock::Lock;
use super::InsideAllocator;
use crate::report::symbolize;
use crate::trace::TraceId;

/// Functions (substrings of demangled names) whose presence in an allocation trace marks the
/// block as std's runtime data, kept until the process ends.
pub(crate) const STD_RUNTIME_FUNCTIONS: &[&str] = &[
    "std::rt::init",
    "std::io::stdio::stdout",
    "std::io::stdio::stderr",
    "std::io::stdio::stdin",
    "std::sys::pal::unix::stack_overflow",
    "std::sys::thread_local::destructors",
];

static MARKED: Lock<std::vec::Vec<String>> = Lock::new(std::vec::Vec::new());

/// Marks allocation sites as caches: a block whose allocation trace has a function whose
/// demangled name contains `pattern` is not a leak, for `gpa::testing` checks and for a GPA's
/// `deinit`, `detect_leaks` and exit report (`report_leaks_at_exit`). For blocks meant to live
/// as long as the process that are built on first use, perhaps inside a check: a compiled
/// `regex::Regex`'s matching caches, a memoization table, an interner. Name the cache
/// machinery, not the whole library (`regex_automata::util::pool` rather than `regex`), so that
/// a leak of the library's other objects is still reported. Marks are process-wide and
/// permanent; marking a pattern twice is harmless. Matching needs allocation traces and
/// symbols: a block without them is never taken for a cache.
///
/// ```
/// gpa::testing::mark_cache("regex_automata::util::pool");
/// gpa::testing::mark_cache("regex_automata::hybrid::dfa::Lazy");
/// ```
pub fn mark(pattern: &str) {
    let _inside = InsideAllocator::enter();
    let mut marked = MARKED.lock();
    if !marked.iter().any(|known| known == pattern) {
        marked.push(pattern.to_owned());
    }
}

/// Whether the block allocated at `trace` is a marked cache. The caller holds the
/// re-entrancy guard.
pub(crate) fn is_cache(trace: TraceId) -> bool {
    if !trace.is_some() {
        return false;
    }
    let patterns = MARKED.lock().clone();
    !patterns.is_empty()
        && symbolize::trace_mentions(trace, |name| {
            patterns
                .iter()
                .any(|pattern| name.contains(pattern.as_str()))
        })
}

/// Whether the block allocated at `trace` is std's runtime data. The caller holds the
/// re-entrancy guard.
pub(crate) fn is_std_runtime(trace: TraceId) -> bool {
    trace.is_some()
        && symbolize::trace_mentions(trace, |name| {
            STD_RUNTIME_FUNCTIONS
                .iter()
                .any(|runtime| name.contains(runtime))
        })
}

/// Whether a leak check leaves the block allocated at `trace` out: a marked cache, or (with
/// `std_runtime`) std's runtime data. The caller holds the re-entrancy guard.
pub(crate) fn left_out(trace: TraceId, std_runtime: bool) -> bool {
    is_cache(trace) || (std_runtime && is_std_runtime(trace))
}
