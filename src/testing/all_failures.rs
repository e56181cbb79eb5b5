//! `check_all_allocation_failures`: proves that code frees what it took on every
//! out-of-memory path (Zig's `std.testing.checkAllAllocationFailures`).
//!
//! # Design
//! The closure under test receives an [`Allocator`] and returns `Result<T, E>`. It is run once
//! through a [`FailingAllocator`] that never fails, to count its allocations (`n`), then once
//! for each index `i` in `0..n` with allocation `i` (and every later one, see
//! [`FailingAllocator`]) failing. Each run is judged after the closure returned **and its
//! result was dropped**:
//!
//! * **leaked**: bytes or blocks allocated through the wrapper were not all freed;
//! * **swallowed**: it returned `Ok`, or an error that is not out-of-memory, although an
//!   allocation failed (code that hides an out-of-memory error as a parse error hides bugs);
//! * **panicked**: it unwound (caught with `catch_unwind`), for instance an `unwrap` on an
//!   allocation result;
//! * **not reached**: allocation `i` was never requested, so the closure allocates
//!   differently from run to run (its behaviour must be deterministic).
//!
//! Every bad run is reported with its index and the symbolized stack of the failed allocation.
//!
//! # The closure must be re-runnable
//! It runs `n + 1` times, and each run must start from the same state and make the same
//! allocation requests in the same order until the induced failure. So it must not consume
//! what it captures (it is `FnMut`, not `FnOnce`), must undo any change to captured state
//! (or not change it), must allocate only through the allocator it is given (allocations
//! through other allocators are neither counted nor failed), and must not depend on time,
//! randomness or global state that an earlier run changed. Its result type cannot borrow the
//! allocator: anything allocated must be freed before it returns, or returned as owned data
//! from another allocator (a count, a `String`).
//!
//! # What leaks cost
//! A leaking run leaves its blocks allocated in `backing` (nobody has their addresses any
//! more). Give it an arena as `backing` when the leaks should be reclaimed afterwards.

use core::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::interface::{Allocator, Error};
use crate::testing::{Config, FailingAllocator};

/// Errors that can say whether they mean "out of memory". Implemented for the crate's
/// [`Error`] and `allocator_api2`'s errors; implement it for your own error types (typically
/// an enum with an out-of-memory variant) to test functions that return them.
///
/// Example: the [`testing`](crate::testing) module documentation.
pub trait OutOfMemory {
    /// Whether this error reports an allocation failure.
    fn is_out_of_memory(&self) -> bool;
}

impl OutOfMemory for Error {
    fn is_out_of_memory(&self) -> bool {
        *self == Error::OutOfMemory
    }
}

impl OutOfMemory for allocator_api2::alloc::AllocError {
    fn is_out_of_memory(&self) -> bool {
        true
    }
}

impl OutOfMemory for allocator_api2::collections::TryReserveError {
    fn is_out_of_memory(&self) -> bool {
        matches!(
            self.kind(),
            allocator_api2::collections::TryReserveErrorKind::AllocError { .. }
        )
    }
}

/// What was wrong with one run.
///
/// Example: the [`testing`](crate::testing) module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Allocations made through the wrapper were still live after the run.
    Leaked {
        /// `allocated_bytes - freed_bytes`.
        bytes: usize,
        /// `allocations - deallocations`.
        blocks: usize,
    },
    /// The run returned `Ok` although an allocation failed.
    Swallowed,
    /// The run returned an error other than out-of-memory (its `Debug` text).
    WrongError(String),
    /// The run panicked (the panic message, when it was a string).
    Panicked(String),
    /// The counting run (nothing fails) returned an error (its `Debug` text).
    FailedWithoutInducedFailure(String),
    /// Allocation `fail_index` was never requested: the closure is not deterministic.
    NotReached,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Leaked { bytes, blocks } => {
                let plural = |n: &usize| if *n == 1 { "" } else { "s" };
                write!(
                    f,
                    "leaked {bytes} byte{} in {blocks} block{}",
                    plural(bytes),
                    plural(blocks)
                )
            }
            Problem::Swallowed => f.write_str("returned Ok although an allocation failed"),
            Problem::WrongError(error) => {
                write!(f, "returned {error} instead of an out-of-memory error")
            }
            Problem::Panicked(message) => write!(f, "panicked: {message}"),
            Problem::FailedWithoutInducedFailure(error) => {
                write!(f, "failed with {error} although no allocation failed")
            }
            Problem::NotReached => f.write_str(
                "the failing allocation was never requested (the closure is not deterministic)",
            ),
        }
    }
}

/// One run that went wrong.
///
/// Example: the [`testing`](crate::testing) module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedRun {
    /// The index of the allocation made to fail; `None` for the counting run.
    pub fail_index: Option<usize>,
    /// Everything wrong with it.
    pub problems: Vec<Problem>,
    /// The symbolized stack of the failed allocation request (absent for the counting run).
    pub trace: Option<String>,
}

/// The result of [`check_all_allocation_failures`] when some run went wrong.
///
/// Example: the [`testing`](crate::testing) module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocationFailureReport {
    /// Allocations made by the counting run (so runs with indices `0..allocations` followed).
    pub allocations: usize,
    /// The bad runs, in index order (the counting run first if it was bad).
    pub failed_runs: Vec<FailedRun>,
}

impl AllocationFailureReport {
    /// The indices of the bad runs with a failure induced.
    pub fn failing_indices(&self) -> Vec<usize> {
        self.failed_runs
            .iter()
            .filter_map(|run| run.fail_index)
            .collect()
    }
}

impl fmt::Display for AllocationFailureReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "check_all_allocation_failures: {} of {} runs went wrong ({} allocations counted)",
            self.failed_runs.len(),
            self.allocations + 1,
            self.allocations
        )?;
        for run in &self.failed_runs {
            match run.fail_index {
                Some(index) => writeln!(f, "run with allocation {index} failing:")?,
                None => writeln!(f, "counting run (no allocation failing):")?,
            }
            for problem in &run.problems {
                writeln!(f, "  - {problem}")?;
            }
            if let Some(trace) = &run.trace {
                writeln!(f, "  the failed allocation was requested at:")?;
                f.write_str(trace)?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for AllocationFailureReport {}

fn panic_message(payload: &(dyn core::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

/// Runs `test` once per allocation it makes, failing that allocation, and reports every run
/// that leaked, did not return an out-of-memory error, or panicked. See the module
/// documentation, in particular the requirement that `test` be re-runnable.
///
/// ```
/// use gpa::testing::check_all_allocation_failures;
/// let page = gpa::PageAllocator::new();
/// let result = check_all_allocation_failures(page.allocator(), |allocator| {
///     let a = allocator.new_box(1u64)?;
///     let b = allocator.new_box(2u64)?;
///     Ok::<u64, gpa::Error>(*a + *b)
/// });
/// assert!(result.is_ok());
/// ```
pub fn check_all_allocation_failures<T, E, F>(
    backing: Allocator<'_>,
    mut test: F,
) -> Result<(), AllocationFailureReport>
where
    F: FnMut(Allocator<'_>) -> Result<T, E>,
    E: OutOfMemory + fmt::Debug,
{
    let mut failed_runs = Vec::new();

    let counter = FailingAllocator::new(backing, Config::NEVER);
    let outcome = catch_unwind(AssertUnwindSafe(|| test(counter.allocator())));
    let mut problems = Vec::new();
    let usable = match &outcome {
        Ok(Ok(_)) => true,
        Ok(Err(error)) => {
            problems.push(Problem::FailedWithoutInducedFailure(format!("{error:?}")));
            false
        }
        Err(payload) => {
            problems.push(Problem::Panicked(panic_message(payload.as_ref())));
            false
        }
    };
    drop(outcome);
    push_leak(&counter, &mut problems);
    let allocations = counter.allocations();
    if !problems.is_empty() {
        failed_runs.push(FailedRun {
            fail_index: None,
            problems,
            trace: None,
        });
    }
    if !usable {
        return Err(AllocationFailureReport {
            allocations,
            failed_runs,
        });
    }

    for index in 0..allocations {
        let failing = FailingAllocator::new(backing, Config::fail_at(index));
        let outcome = catch_unwind(AssertUnwindSafe(|| test(failing.allocator())));
        let mut problems = Vec::new();
        if !failing.has_induced_failure() {
            problems.push(Problem::NotReached);
        }
        match &outcome {
            Ok(Ok(_)) if failing.has_induced_failure() => problems.push(Problem::Swallowed),
            Ok(Ok(_)) => {}
            Ok(Err(error)) if !error.is_out_of_memory() => {
                problems.push(Problem::WrongError(format!("{error:?}")));
            }
            Ok(Err(_)) => {}
            Err(payload) => problems.push(Problem::Panicked(panic_message(payload.as_ref()))),
        }
        drop(outcome);
        push_leak(&failing, &mut problems);
        if !problems.is_empty() {
            failed_runs.push(FailedRun {
                fail_index: Some(index),
                problems,
                trace: failing.induced_failure_trace(),
            });
        }
    }

    if failed_runs.is_empty() {
        Ok(())
    } else {
        Err(AllocationFailureReport {
            allocations,
            failed_runs,
        })
    }
}

/// As [`check_all_allocation_failures`], panicking with the report when a run went wrong.
///
/// Example: the [`testing`](crate::testing) module documentation.
#[track_caller]
pub fn assert_all_allocation_failures<T, E, F>(backing: Allocator<'_>, test: F)
where
    F: FnMut(Allocator<'_>) -> Result<T, E>,
    E: OutOfMemory + fmt::Debug,
{
    if let Err(report) = check_all_allocation_failures(backing, test) {
        panic!("{report}");
    }
}

fn push_leak(allocator: &FailingAllocator<'_>, problems: &mut Vec<Problem>) {
    let bytes = allocator.live_bytes();
    let blocks = allocator
        .allocations()
        .saturating_sub(allocator.deallocations());
    if bytes != 0 || blocks != 0 {
        problems.push(Problem::Leaked { bytes, blocks });
    }
}
