//! `BufferFirstAllocator`: serves requests from a caller-given buffer (typically an array on
//! the stack) and falls back to another allocator when the buffer cannot (Zig's
//! `std.heap.StackFallbackAllocator`).
//!
//! # Design
//! A [`FixedBufferAllocator`] over the buffer answers first; when it returns `None` the
//! request goes to the fallback [`Allocator`]. `resize`, `remap` and `free` are routed by
//! address: a pointer inside the buffer belongs to the fixed buffer, any other to the fallback.
//! A buffer block that must grow beyond the buffer is not moved here: `remap` reports failure
//! and the caller (the handle's `realloc`, `allocator_api2`'s `grow`) allocates a new block,
//! which then comes from the fallback, copies and frees the old one.
//!
//! The common use: a function that usually needs a little scratch memory and occasionally a
//! lot keeps the usual case off the heap.
//!
//! ```
//! let mut scratch = [0u8; 256];
//! let page = gpa::PageAllocator::new();
//! let stack_first = gpa::BufferFirstAllocator::new(&mut scratch, page.allocator());
//! let allocator = stack_first.allocator();
//! let small = allocator.alloc_filled(16, 7u8).unwrap(); // from `scratch`
//! let large = allocator.alloc_filled(4096, 7u8).unwrap(); // from the page allocator
//! assert!(stack_first.in_buffer(small.as_ptr()) && !stack_first.in_buffer(large.as_ptr()));
//! ```
//!
//! # Invariants
//! The buffer and the fallback's blocks are disjoint (the buffer is borrowed mutably for
//! `'buf`, so no other allocator can hand out parts of it), hence routing by address sends
//! every block back to the allocator that made it.

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;

use crate::allocators::fixed_buffer::FixedBufferAllocator;
use crate::interface::{impl_allocator_api2, Allocator, RawAllocator};

/// Serves requests from a caller-given buffer (typically an array on the stack) and falls back
/// to another allocator when the buffer cannot (Zig's `std.heap.StackFallbackAllocator`): a
/// function that usually needs a little scratch memory and occasionally a lot keeps the usual
/// case off the heap.
///
/// `free`, `resize` and `remap` go to whichever allocator owns the pointer; a buffer block
/// that must grow beyond the buffer moves to the fallback.
///
/// ```
/// let mut scratch = [0u8; 256];
/// let page = gpa::PageAllocator::new();
/// let stack_first = gpa::BufferFirstAllocator::new(&mut scratch, page.allocator());
/// let allocator = stack_first.allocator();
/// let small = allocator.alloc_filled(16, 7u8).unwrap(); // from `scratch`
/// let large = allocator.alloc_filled(4096, 7u8).unwrap(); // from the page allocator
/// assert!(stack_first.in_buffer(small.as_ptr()) && !stack_first.in_buffer(large.as_ptr()));
/// // SAFETY: `large` came from this allocator and is not used again.
/// unsafe { allocator.free(large) };
/// ```
pub struct BufferFirstAllocator<'buf, 'a> {
    buffer: FixedBufferAllocator<'buf>,
    fallback: Allocator<'a>,
}

impl fmt::Debug for BufferFirstAllocator<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferFirstAllocator")
            .field("buffer_used", &self.buffer.end_index())
            .field("buffer_len", &self.buffer.capacity())
            .field("fallback", &self.fallback)
            .finish()
    }
}

impl<'buf, 'a> BufferFirstAllocator<'buf, 'a> {
    /// Serves from `buffer` first, then from `fallback`.
    pub fn new(buffer: &'buf mut [u8], fallback: Allocator<'a>) -> Self {
        BufferFirstAllocator {
            buffer: FixedBufferAllocator::new(buffer),
            fallback,
        }
    }

    /// The handle to pass to functions.
    pub fn allocator(&self) -> Allocator<'_> {
        Allocator::new(self)
    }

    /// The fallback allocator.
    pub fn fallback(&self) -> Allocator<'a> {
        self.fallback
    }

    /// Bytes of the buffer in use (as [`FixedBufferAllocator::end_index`]).
    pub fn buffer_used(&self) -> usize {
        self.buffer.end_index()
    }

    /// The length of the buffer.
    pub fn buffer_capacity(&self) -> usize {
        self.buffer.capacity()
    }

    /// Whether `ptr` points into the buffer (so its block was not served by the fallback).
    pub fn in_buffer(&self, ptr: *const u8) -> bool {
        self.buffer.owns(ptr)
    }

    /// Makes the whole buffer free again (Zig's `get()` does this on each use). `&mut self`
    /// proves no block served from the buffer is still reachable; blocks served by the
    /// fallback are unaffected and must still be freed.
    pub fn reset_buffer(&mut self) {
        self.buffer.reset();
    }

    /// The allocator that owns `memory`.
    #[inline]
    fn owner(&self, memory: NonNull<u8>) -> &dyn RawAllocator {
        if self.buffer.owns(memory.as_ptr()) {
            &self.buffer
        } else {
            self.fallback.implementation()
        }
    }
}

// SAFETY: every block comes unchanged from the fixed buffer or from the fallback, both of
// which uphold the contract, and the two never overlap (module invariant); later calls go to
// the allocator that owns the address.
unsafe impl RawAllocator for BufferFirstAllocator<'_, '_> {
    #[inline]
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        match RawAllocator::alloc(&self.buffer, layout) {
            Some(memory) => Some(memory),
            None => self.fallback.implementation().alloc(layout),
        }
    }

    #[inline]
    unsafe fn resize(&self, memory: NonNull<u8>, layout: Layout, new_len: usize) -> bool {
        // SAFETY: forwarded caller contract, sent to the allocator that made the block.
        unsafe { self.owner(memory).resize(memory, layout, new_len) }
    }

    #[inline]
    unsafe fn remap(
        &self,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded caller contract, sent to the allocator that made the block.
        unsafe { self.owner(memory).remap(memory, layout, new_len) }
    }

    #[inline]
    unsafe fn free(&self, memory: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded caller contract, sent to the allocator that made the block.
        unsafe { self.owner(memory).free(memory, layout) }
    }
}

impl_allocator_api2!(['buf, 'a] &BufferFirstAllocator<'buf, 'a> => |this| this.allocator());
