//! Testing helpers: leak-checked tests and allocators that fail on purpose (Zig's
//! `std.testing.allocator`, `FailingAllocator` and `checkAllAllocationFailures`).

mod all_failures;
mod failing;
mod instance;
mod scope;

pub use all_failures::*;
pub use failing::*;
pub use instance::{assert_deinit_ok, with_gpa, with_gpa_config};
pub use scope::{
    assert_no_leaks, check, check_with, in_check, spawn, LAZY_INIT_FUNCTIONS, REPORT_DEPTH,
    TRACE_DEPTH,
};
pub(crate) use scope::{on_alloc, on_dealloc, on_realloc, tracking};
