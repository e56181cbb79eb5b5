//! Instance-per-test leak checks (Zig's habit: each test makes its own allocator and ends with
//! `try std.testing.expect(gpa.deinit() == .ok)`), in one call.
//!
//! # Design
//! [`with_gpa`] creates a [`GeneralPurposeAllocator`] with [`Config::debug`] and
//! [`OnError::Record`] (mistakes are recorded, not printed, so the panic message is the only
//! output), runs the test with `gpa.allocator()`, then calls `deinit` and panics with the
//! rendered report when it is not [`Check::Ok`]. Because the closure is generic over the
//! handle's lifetime, nothing it returns can borrow the allocator: every block must be freed
//! (or leaked on purpose) before `deinit` runs. It needs no global allocator and works in any
//! number of parallel tests: each test has its own instance.
//!
//! Beyond leaks, the report includes every other mistake the instance recorded during the test
//! (double frees, invalid frees, overflows...), and any of them fails the test too.

use crate::gpa::{Check, Config, GeneralPurposeAllocator, OnError};
use crate::interface::Allocator;

/// Runs `test` with a fresh debug [`GeneralPurposeAllocator`] and panics with its report when
/// the test leaked or made any other memory mistake. Returns the test's result.
///
/// Example: the [`testing`](crate::testing) module documentation.
#[track_caller]
pub fn with_gpa<R>(test: impl for<'a> FnOnce(Allocator<'a>) -> R) -> R {
    with_gpa_config(Config::debug(), test)
}

/// [`with_gpa`] with another configuration (`on_error` is forced to [`OnError::Record`]).
///
/// Example: the [`testing`](crate::testing) module documentation.
#[track_caller]
pub fn with_gpa_config<R>(config: Config, test: impl for<'a> FnOnce(Allocator<'a>) -> R) -> R {
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..config
    });
    let result = test(gpa.allocator());
    assert_deinit_ok(&mut gpa);
    result
}

/// `assert_eq!(gpa.deinit(), Check::Ok)` with the leak report as the panic message; also
/// fails on any other recorded mistake. For tests that build their own
/// [`GeneralPurposeAllocator`] (use `OnError::Record` so the report is not also printed).
///
/// Example: the [`testing`](crate::testing) module documentation.
#[track_caller]
pub fn assert_deinit_ok(gpa: &mut GeneralPurposeAllocator) {
    let verdict = gpa.deinit();
    let report = gpa.take_report();
    if verdict != Check::Ok || !report.is_clean() {
        panic!("{report}");
    }
}
