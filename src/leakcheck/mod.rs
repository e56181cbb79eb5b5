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
//! roots. [`world`] stops the other threads of the process while their heaps are examined
//! and reads their registers and stack pointers (Linux; the platform part of a leak check).
//!
//! A minimal use, for blocks whose memory is all readable:
//!
//! ```
//! use gpa::leakcheck::{judge, loss_records, AllReadable, Heuristics};
//! use gpa::report::LeakKind;
//! use gpa::LiveBlock;
//!
//! let kept = std::boxed::Box::new([0usize; 2]);
//! let root = [&*kept as *const [usize; 2] as usize];
//! let blocks = std::vec![LiveBlock {
//!     address: root[0],
//!     size: 16,
//!     alloc_trace: gpa::trace::TraceId::NONE,
//! }];
//! let roots = [(root.as_ptr() as usize, root.as_ptr() as usize + 8)];
//! let judged = judge(blocks, &roots, &[], &AllReadable, Heuristics::ALL);
//! assert_eq!(judged[0].kind, LeakKind::Reachable);
//! assert_eq!(loss_records(&judged).len(), 1);
//! ```

pub mod graph;
pub mod maps;
pub mod records;
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub mod world;

pub use graph::{AllReadable, Graph, Heuristic, Heuristics, Judged, Memory};
pub use maps::{Mapping, Maps};
pub use records::{loss_records, thousands, Amount, KindSet, LossRecord, Totals, KINDS};

use crate::gpa::LiveBlock;
#[cfg(doc)]
use crate::report::LeakKind;

/// Judges `blocks` against root ranges `[start, end)` and root words (registers), reading
/// through `memory`. The caller makes sure the blocks' memory stays put meanwhile (no other
/// thread frees or writes them), and that what this allocates does not change the heap being
/// judged.
pub fn judge(
    blocks: std::vec::Vec<LiveBlock>,
    root_ranges: &[(usize, usize)],
    root_words: &[usize],
    memory: &dyn Memory,
    heuristics: Heuristics,
) -> std::vec::Vec<Judged> {
    let mut graph = Graph::new(blocks, memory, heuristics);
    for &(start, end) in root_ranges {
        graph.scan_root_range(start, end);
    }
    for &word in root_words {
        graph.add_root_word(word);
    }
    graph.finish()
}
