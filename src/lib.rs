//! # gpa: a general-purpose allocator that catches memory mistakes, and its family
//!
//! Functions take an [`Allocator`] handle; the implementation is chosen once, near the top of
//! the program, and must outlive the memory it hands out (the handle's lifetime makes the borrow
//! checker enforce that). Implementations:
//!
//! * [`GeneralPurposeAllocator`]: any size, any free order; in safety mode it reports leaks,
//!   double frees, invalid frees, writes after free and overflows with symbolized stack traces.
//! * [`ArenaAllocator`]: many allocations freed together, over any child allocator.
//! * [`FixedBufferAllocator`]: all memory from one caller-given block, no heap at all.
//! * [`PageAllocator`]: direct OS mapping; the default backing of the others.
//! * [`testing`]: leak-checked tests and allocators that fail on purpose.
//!
//! All of them implement `allocator_api2::alloc::Allocator` (for `&Implementation` and for the
//! handle), so `allocator_api2` and `hashbrown` collections work on stable Rust.
//!
//! ## Vocabulary (used throughout the crate)
//! * **OS page**: the kernel's page (4 KiB). **block**: what one allocation returns.
//! * **size class**: a block size that small requests are rounded up to.
//! * **segment**: a large aligned region the GPA takes from its backing allocator; it is
//!   divided into **pages** (GPA pages, 64 KiB or more, not OS pages), each serving one size
//!   class, split into **slots** of that class's size.
//! * **heap**: one thread's set of pages for one GPA instance.
//! * **large block**: a block above the largest size class, with a segment of its own.
//! * **trace**: the return addresses of a stack, captured without allocating.
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

mod allocators;
// Its submodules pass internal types (raw findings, live blocks) between each other; only its
// top-level C functions are meant for the preload crate, through `__capi`.
#[allow(private_interfaces)]
mod capi;
mod gpa;
mod interface;
mod os;
pub mod report;
pub mod testing;
mod trace;

pub use allocators::{
    AlwaysFailingAllocator, ArenaAllocator, AssumeSend, BlockRecord, BufferFirstAllocator,
    FixedBufferAllocator, MemoryPool, PageAllocator, RawOperation, ResetMode, ThreadSafeAllocator,
    ThreadSafeFixedBufferAllocator, ValidatingAllocator, Violation, ViolationKind,
    ALWAYS_FAILING_ALLOCATOR, PAGE_ALLOCATOR,
};
pub use gpa::{Check, Config, GeneralPurposeAllocator, OnError};
pub use interface::{Allocator, Box, Error, RawAllocator, SyncAllocator, Vec};
pub use os::page_size;
pub use report::{Access, Finding, FindingKind, Frame, LeakKind, Report, Stack};
pub use trace::TraceMethod;

/// Allocation events for tools built above the GPA (leak checks, heap profilers): implement
/// [`Observer`](observer::Observer) and register it for one instance with
/// [`GeneralPurposeAllocator::observe`] or for every instance with
/// [`observe_all`](observer::observe_all). [`gpa::testing`](crate::testing)'s leak checks are
/// built this way.
pub mod observer {
    pub use crate::gpa::observer::{
        observe_all, Observation, Observer, TooManyObservers, MAX_OBSERVATIONS,
    };
    pub use crate::trace::TraceId;
}

/// The C allocation ABI for `libgpa_preload.so` (the `gpa-capi` crate): C semantics, settings,
/// front guards, the leak scan and the exit report. Not a Rust API: it may change in any
/// release.
#[doc(hidden)]
pub mod __capi {
    pub use crate::capi::*;
}
