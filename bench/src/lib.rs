//! # gpa-bench: allocators side by side, in one process run
//!
//! The library half of the `gpa-bench` tool (the binary in `main.rs` is a thin command line over
//! it; the criterion micro-benchmarks and the tests reuse it).
//!
//! # Design
//! * [`allocators`]: the allocators under test, one line each. Every workload is generic over
//!   `A: GlobalAlloc + Sync` and called with a `&'static A`, so each allocator gets its own
//!   monomorphized copy of every workload: the allocator's `alloc`/`dealloc`/`realloc` are
//!   direct (inlinable) calls, never virtual. The only dynamic dispatch is one call per
//!   workload run, outside the timed region.
//! * [`workloads`]: the programs that exercise an allocator; each returns one [`Sample`]
//!   (nanoseconds per unit of work, or a memory ratio) and frees everything it allocated.
//! * [`harness`]: runs every (workload, allocator) pair round-robin, repeated, and keeps the
//!   median; the fragmentation workload runs in a child process per allocator, because RSS is a
//!   per-process quantity.
//! * [`table`]: the report as a markdown table (medians and ratios against mimalloc) and JSON.
//!
//! # Invariants
//! * Every allocator sees the same random sequence in the same repetition (seed = base + rep),
//!   and a different one in the next, so no result depends on one particular input.
//! * Workloads free every block they allocate, so repetitions do not leak into one another
//!   (`tests/smoke.rs` checks this with a counting allocator).

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod allocators;
pub mod cbench;
pub mod harness;
pub mod rng;
pub mod sys;
pub mod table;
pub mod workloads;

pub use workloads::{Params, Sample, Workload};
