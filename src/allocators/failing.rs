//! `AlwaysFailingAllocator`: an allocator whose every allocation fails (Zig's
//! `std.testing.failing_allocator`).
//!
//! # Design
//! Stateless and thread-safe. `alloc` returns `None`, `resize` returns `false` and `remap`
//! returns `None`, so code under test sees out-of-memory on its very first request. It is the
//! cheapest way to check that a function reports [`crate::Error::OutOfMemory`] instead of
//! panicking; to fail the *n*-th request instead, use [`crate::testing::FailingAllocator`].
//!
//! # Invariants
//! No block is ever live, so any `free`, `resize` or `remap` that reaches it breaks the raw
//! contract (the pointer cannot come from this allocator). `free` is a no-op that asserts in
//! debug builds; it never touches the pointer, so release builds stay sound.

use core::alloc::Layout;
use core::ptr::NonNull;

use crate::interface::{impl_allocator_api2, Allocator, RawAllocator, SyncAllocator};

/// Fails every allocation (Zig's `std.testing.failing_allocator`): the cheapest check that a
/// function reports [`Error::OutOfMemory`](crate::Error::OutOfMemory) instead of panicking.
/// To fail the *n*-th request instead, use [`FailingAllocator`](crate::testing::FailingAllocator).
/// Stateless, `Copy`, `Sync`.
///
/// ```
/// let failing = gpa::AlwaysFailingAllocator::new();
/// let result = failing.allocator().print(format_args!("{}", 42));
/// assert_eq!(result.unwrap_err(), gpa::Error::OutOfMemory);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct AlwaysFailingAllocator;

/// An `AlwaysFailingAllocator` usable where a `&'static` is needed:
/// `gpa::ALWAYS_FAILING_ALLOCATOR.allocator()` is an `Allocator<'static>`.
///
/// Example: [`AlwaysFailingAllocator`].
pub static ALWAYS_FAILING_ALLOCATOR: AlwaysFailingAllocator = AlwaysFailingAllocator;

impl AlwaysFailingAllocator {
    /// The always-failing allocator (there is nothing to set up).
    pub const fn new() -> Self {
        AlwaysFailingAllocator
    }

    /// The handle to pass to functions.
    pub fn allocator(&self) -> Allocator<'_> {
        Allocator::new(self)
    }

    /// A handle that is `Send + Sync`: collections built on it may move to other threads
    /// (see [`SyncAllocator`]).
    pub fn sync_allocator(&self) -> SyncAllocator<'_> {
        SyncAllocator::new_sync(self)
    }
}

// SAFETY: `alloc` never returns a block, so the promises about returned blocks hold vacuously.
unsafe impl RawAllocator for AlwaysFailingAllocator {
    #[inline]
    fn alloc(&self, _layout: Layout) -> Option<NonNull<u8>> {
        None
    }

    #[inline]
    unsafe fn resize(&self, _memory: NonNull<u8>, _layout: Layout, _new_len: usize) -> bool {
        false
    }

    #[inline]
    unsafe fn remap(
        &self,
        _memory: NonNull<u8>,
        _layout: Layout,
        _new_len: usize,
    ) -> Option<NonNull<u8>> {
        None
    }

    unsafe fn free(&self, memory: NonNull<u8>, layout: Layout) {
        // No block was ever handed out, so this pointer belongs to someone else. Ignoring it
        // keeps the real owner's heap intact; debug builds point at the bug.
        debug_assert!(
            false,
            "AlwaysFailingAllocator::free({memory:p}, {layout:?}): this allocator never \
             returned a block, so nothing can be freed into it"
        );
    }
}

impl_allocator_api2!([] &AlwaysFailingAllocator => |this| this.allocator());
