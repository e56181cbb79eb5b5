//! Leak verdicts as Valgrind memcheck gives them, for any caller that knows its live blocks
//! and its roots: `gpa run`'s exit report (`capi::scan`) and the Rust GPA's leak checks.
//!
//! # Design
//! Three steps, each its own module:
//! 1. [`graph`]: the reachability graph. Roots (memory ranges and single words such as a
//!    stopped thread's registers) reach blocks through start or interior pointers, blocks
//!    reach blocks; every block gets a [`LeakKind`] (definitely, indirectly, possibly lost,
//!    still reachable) and each definitely lost block the bytes it holds indirectly.
//! 2. [`records`]: blocks grouped into loss records by kind and allocation trace, ordered and
//!    numbered as a report shows them, and the summary's totals.
//! 3. Suppressions, shared with the reports of other findings, live in
//!    [`crate::report::suppress`].
//!
//! [`maps`] reads the process's memory map: which memory may be read, which mappings are
//! roots; [`populated`] which pages of it may hold a pointer at all (present or swapped out:
//! a page never touched is zeros, and a huge block of them is not read); [`roots`] scans those roots at exit, each known stack from its live frames up.
//! [`world`] stops the other threads of the process while their heaps are examined and reads
//! their registers and stack pointers (Linux; the platform part of a leak check); `unlisted`
//! finds those threads where a seccomp filter kills the directory listing of
//! `/proc/self/task`.

pub mod graph;
pub mod maps;
pub mod populated;
pub mod records;
pub mod roots;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub(crate) mod unlisted;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod world;

pub use graph::{Graph, Heuristics, Judged, LeaderOrder};
pub use maps::Maps;
pub use records::{loss_records, thousands, KindSet, Totals};

#[cfg(doc)]
use crate::report::LeakKind;
