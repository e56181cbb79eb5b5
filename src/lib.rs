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

pub mod allocators;
pub mod capi;
pub mod gpa;
pub mod interface;
pub mod os;
pub mod report;
pub mod testing;
#[doc(hidden)]
pub mod tls;
pub mod trace;

pub use allocators::*;
pub use gpa::{Check, Config, GeneralPurposeAllocator, LiveBlock, OnError};
pub use interface::{Allocator, Box, Error, RawAllocator, SyncAllocator, Vec};
