//! Testing helpers: leak-checked tests and allocators that fail on purpose (Zig's
//! `std.testing.allocator`, `FailingAllocator` and `checkAllAllocationFailures`).

mod all_failures;
mod failing;

pub use all_failures::*;
pub use failing::*;
