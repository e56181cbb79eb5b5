//! Testing helpers: leak-checked tests and allocators that fail on purpose (Zig's
//! `std.testing.allocator`, `FailingAllocator` and `checkAllAllocationFailures`).
//!
//! * [`check`] / [`assert_no_leaks`]: with a
//!   [`GeneralPurposeAllocator`](crate::GeneralPurposeAllocator) as `#[global_allocator]`,
//!   the blocks a closure allocates (on its thread, and on threads
//!   it spawns: see below) and has not freed when it returns are its leaks, reported with
//!   symbolized allocation traces. Each closure has its own scope, so leak-checked tests run
//!   in parallel in one binary and each gets its own verdict.
//! * [`with_gpa`]: instance-per-test, for code that takes an [`Allocator`](crate::Allocator):
//!   a fresh debug GPA per test, and its `deinit` report as the failure message.
//! * [`FailingAllocator`] and [`check_all_allocation_failures`]: out-of-memory paths.
//!
//! # Example
//! In a test file, the GPA is the binary's global allocator and each `#[test]` checks its
//! own closure (shown here as one program):
//!
//! ```
//! use gpa::testing::{assert_all_allocation_failures, assert_no_leaks, check, with_gpa};
//! use gpa::{Config, GeneralPurposeAllocator, OnError};
//!
//! #[global_allocator]
//! static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config {
//!     on_error: OnError::Record,
//!     ..Config::debug()
//! });
//!
//! /// Code under test that takes an allocator and returns out-of-memory as an error.
//! fn shout(allocator: gpa::Allocator<'_>, text: &str) -> Result<usize, gpa::Error> {
//!     let loud = allocator.print(format_args!("{}!", text.to_uppercase()))?;
//!     Ok(loud.len())
//! }
//!
//! fn main() {
//!     // Ordinary Rust code: blocks left allocated are the closure's leaks.
//!     assert_no_leaks(|| assert_eq!(vec![1, 2, 3].len(), 3));
//!     let report = check(|| std::mem::forget(String::from("kept forever")));
//!     assert_eq!(report.leak_totals(), (1, 12));
//!
//!     // Code that takes an allocator, on a GPA of its own that must end clean.
//!     with_gpa(|allocator| assert_eq!(shout(allocator, "hi"), Ok(3)));
//!
//!     // Each allocation failing in turn: every run returns the error and leaks nothing.
//!     with_gpa(|allocator| assert_all_allocation_failures(allocator, |a| shout(a, "hi")));
//! }
//! ```
//!
//! # What `check` attributes to the closure
//! Blocks allocated inside it and still live when it returns, freed by no thread. A block
//! freed by any thread is not a leak; a block allocated before the closure and grown inside it
//! (a `realloc`) is not attributed to it. Threads created inside the closure inherit its
//! scope, whatever creates them (`std::thread::spawn`, `scope`, `Builder`, a C library):
//! `pthread_create` is interposed in programs that call `check` (Linux with glibc, x86-64 and
//! AArch64; elsewhere spawn them with [`spawn`]). The end of the check also waits, up to 2 s,
//! for those threads to exit, since they free their last blocks after signalling completion. A long-lived thread pool created inside a check (a lazily
//! started global pool) inherits the scope too and its blocks are reported: start such pools
//! before the check.
//!
//! # What is not a leak: std's lazy allocations
//! std creates some structures on first use and keeps them for the process or thread: the
//! stdout buffer, the current thread's handle, libtest's output-capture buffer (allocated by a
//! test's first `println!`), `OnceLock`/`LazyLock` statics, thread-locals, the stack-overflow
//! handler's thread registry. `check` touches `stdout()`, `stderr()` and `thread::current()`
//! before the closure starts, and at its end it drops blocks whose allocation trace passes
//! through one of [`LAZY_INIT_FUNCTIONS`]. Limits: that needs symbols (traces are complete with
//! or without frame pointers, see `TraceMethod::Auto`); an initialization more than about 30
//! frames above
//! the allocation is not recognized (the block is then reported); and code running *under*
//! those functions (a `Display` impl called by `println!`, an `OnceLock` initializer) is
//! excused even when it leaks.
//!
//! # Caches
//! A cache built on first use inside a check (a `regex::Regex`'s matching caches) is not a
//! leak once its allocation site is marked by function name with [`mark_cache`].

mod all_failures;
mod failing;
mod instance;
mod scope;

pub use crate::gpa::caches::mark as mark_cache;
pub use all_failures::*;
pub use failing::*;
pub use instance::{assert_deinit_ok, with_gpa, with_gpa_config};
pub use scope::{
    assert_no_leaks, check, check_with, in_check, spawn, LAZY_INIT_FUNCTIONS, REPORT_DEPTH,
    TRACE_DEPTH,
};
