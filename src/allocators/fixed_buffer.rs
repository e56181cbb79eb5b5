//! `FixedBufferAllocator`: every block comes from one caller-given byte buffer, no heap at all
//! (Zig's `std.heap.FixedBufferAllocator`).
//!
//! # Design
//! A bump allocator: `end_index` is the offset of the first unused byte of the buffer. A request
//! aligns the address `start + end_index` up to the requested alignment and moves `end_index`
//! past the block. Only the most recent block (the one ending exactly at `end_index`) can be
//! given back: freeing it moves `end_index` back to its start, and resizing it moves `end_index`
//! with its end. Freeing any other block is an accepted no-op (its bytes stay used until
//! [`FixedBufferAllocator::reset`]); resizing any other block succeeds only when the new length
//! does not exceed its current length (its bytes stay reserved either way). When the buffer is
//! exhausted, `alloc` answers `None`, which the handle turns into [`crate::Error::OutOfMemory`];
//! nothing here panics.
//!
//! ```text
//!  buffer: [ block A | pad | block B | block C |        free        ]
//!          ^start                              ^start + end_index   ^start + len
//!  free(C) or resize(C) moves end_index; free(A) and free(B) change nothing.
//! ```
//!
//! Two types:
//! * [`FixedBufferAllocator`] keeps `end_index` in a `Cell`, so it is `!Sync`: one thread at a
//!   time (it is `Send`, so it can move between threads).
//! * [`ThreadSafeFixedBufferAllocator`] keeps it in an `AtomicUsize` and bumps it with a
//!   compare-and-swap loop; freeing or resizing the last block is a single compare-and-swap that
//!   simply fails (turning into the no-op case) when another thread allocated in between.
//!
//! # Invariants
//! * `end_index <= len`.
//! * Every live block lies inside `[start, start + end_index)`; blocks never overlap. `end_index`
//!   only moves back over the block that ends exactly at it, which by the first property is not
//!   overlapped by any other live block.
//! * [`FixedBufferAllocator::reset`] takes `&mut self`, so no handle (and hence no block handed
//!   out through a typed helper) can still be alive when the buffer is reused.

use core::alloc::Layout;
use core::cell::Cell;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::interface::{impl_allocator_api2, Allocator, RawAllocator, SyncAllocator};

/// The buffer being carved up: its start and length. Shared by both allocator types.
#[derive(Clone, Copy, Debug)]
struct Region {
    start: NonNull<u8>,
    len: usize,
}

impl Region {
    fn new(buffer: &mut [u8]) -> Self {
        let len = buffer.len();
        Region {
            start: NonNull::from(buffer).cast(),
            len,
        }
    }

    /// Where a block for `layout` would start and end (offsets) if the free space begins at
    /// `end_index`; `None` when it does not fit.
    #[inline]
    fn place(&self, end_index: usize, layout: Layout) -> Option<(usize, usize)> {
        let base = self.start.as_ptr() as usize;
        let address = base.checked_add(end_index)?;
        let mask = layout.align() - 1;
        let aligned = address.checked_add(mask)? & !mask;
        let begin = aligned - base;
        let end = begin.checked_add(layout.size())?;
        (end <= self.len).then_some((begin, end))
    }

    /// The block at offset `begin`, as a pointer with the buffer's provenance.
    #[inline]
    fn at(&self, begin: usize) -> NonNull<u8> {
        // SAFETY: callers pass `begin <= len` (from `place`), so the result stays inside the
        // buffer or one past its end, and is non-null because `start` is.
        unsafe { self.start.add(begin) }
    }

    /// The offset of a block of this buffer.
    #[inline]
    fn offset_of(&self, memory: NonNull<u8>) -> usize {
        memory.as_ptr() as usize - self.start.as_ptr() as usize
    }

    fn owns(&self, ptr: *const u8) -> bool {
        let base = self.start.as_ptr() as usize;
        let address = ptr as usize;
        address >= base && address - base < self.len
    }
}

/// Bump allocator over one caller-given buffer; `!Sync` (see the module docs).
///
/// ```
/// let mut buffer = [0u8; 256];
/// let fixed = gpa::FixedBufferAllocator::new(&mut buffer);
/// let allocator = fixed.allocator();
/// let numbers = allocator.dupe(&[1u32, 2, 3]).unwrap();
/// assert_eq!(numbers, [1, 2, 3]);
/// assert!(allocator.alloc::<u8>(1000).is_err()); // exhausted: an error, not a panic
/// ```
///
/// It is `Send` (it may move to another thread with its buffer) but not `Sync`: threads that
/// share a buffer use [`ThreadSafeFixedBufferAllocator`] instead. This does not compile:
///
/// ```compile_fail,E0277
/// let mut buffer = [0u8; 256];
/// let fixed = gpa::FixedBufferAllocator::new(&mut buffer);
/// std::thread::scope(|s| {
///     s.spawn(|| fixed.allocator().alloc::<u8>(8).map(|_| ()));
///     s.spawn(|| fixed.allocator().alloc::<u8>(8).map(|_| ()));
/// });
/// ```
#[derive(Debug)]
pub struct FixedBufferAllocator<'buf> {
    region: Region,
    end_index: Cell<usize>,
    _buffer: PhantomData<&'buf mut [u8]>,
}

// SAFETY: the allocator is the only user of the buffer it borrows mutably; moving it to another
// thread moves that exclusive access along. It is not `Sync` (the `Cell`).
unsafe impl Send for FixedBufferAllocator<'_> {}

impl<'buf> FixedBufferAllocator<'buf> {
    /// An allocator that hands out parts of `buffer` and nothing else.
    pub fn new(buffer: &'buf mut [u8]) -> Self {
        FixedBufferAllocator {
            region: Region::new(buffer),
            end_index: Cell::new(0),
            _buffer: PhantomData,
        }
    }

    /// The handle to pass to functions.
    pub fn allocator(&self) -> Allocator<'_> {
        Allocator::new(self)
    }

    /// How many bytes of the buffer are in use (including alignment padding and blocks freed
    /// out of order).
    pub fn end_index(&self) -> usize {
        self.end_index.get()
    }

    /// The length of the buffer.
    pub fn capacity(&self) -> usize {
        self.region.len
    }

    /// Makes the whole buffer free again. Takes `&mut self`, so every handle and every block
    /// obtained through one must be gone.
    pub fn reset(&mut self) {
        self.end_index.set(0);
    }

    /// Whether `ptr` points into the buffer (whether or not it is inside a live block).
    pub fn owns(&self, ptr: *const u8) -> bool {
        self.region.owns(ptr)
    }

    /// Whether `memory` of `len` bytes ends exactly where the free space begins.
    #[inline]
    fn is_last(&self, memory: NonNull<u8>, len: usize) -> bool {
        self.region.offset_of(memory) + len == self.end_index.get()
    }
}

// SAFETY: blocks are disjoint ranges of the borrowed buffer below `end_index` (module
// invariants), aligned by `Region::place`, and valid for the buffer's lifetime, which outlives
// `self`.
unsafe impl RawAllocator for FixedBufferAllocator<'_> {
    #[inline]
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        let (begin, end) = self.region.place(self.end_index.get(), layout)?;
        self.end_index.set(end);
        Some(self.region.at(begin))
    }

    unsafe fn resize(&self, memory: NonNull<u8>, layout: Layout, new_len: usize) -> bool {
        let old_len = layout.size();
        if !self.is_last(memory, old_len) {
            return new_len <= old_len;
        }
        let begin = self.region.offset_of(memory);
        // The block is last, so `begin + old_len == end_index <= len`: no overflow below.
        if new_len > self.region.len - begin {
            return false;
        }
        self.end_index.set(begin + new_len);
        true
    }

    unsafe fn free(&self, memory: NonNull<u8>, layout: Layout) {
        debug_assert!(
            self.owns(memory.as_ptr()),
            "free of a block from another allocator"
        );
        if self.is_last(memory, layout.size()) {
            self.end_index.set(self.region.offset_of(memory));
        }
    }
}

impl_allocator_api2!(['buf] &FixedBufferAllocator<'buf> => |this| this.allocator());

/// [`FixedBufferAllocator`] with an atomic `end_index`: `Sync`, usable from many threads at once.
///
/// ```
/// let mut buffer = vec![0u8; 4096];
/// let fixed = gpa::ThreadSafeFixedBufferAllocator::new(&mut buffer);
/// std::thread::scope(|scope| {
///     for _ in 0..4 {
///         scope.spawn(|| {
///             let allocator = fixed.allocator();
///             let block = allocator.alloc_filled(100, 7u8).unwrap();
///             assert!(block.iter().all(|&byte| byte == 7));
///         });
///     }
/// });
/// assert!(fixed.end_index() >= 400);
/// ```
#[derive(Debug)]
pub struct ThreadSafeFixedBufferAllocator<'buf> {
    region: Region,
    end_index: AtomicUsize,
    _buffer: PhantomData<&'buf mut [u8]>,
}

// SAFETY: the allocator has exclusive access to its buffer (it borrows it mutably); all shared
// state is the atomic `end_index`, and every block handed out is a disjoint range reserved by a
// successful compare-and-swap, so concurrent callers never receive overlapping memory.
unsafe impl Send for ThreadSafeFixedBufferAllocator<'_> {}
// SAFETY: as above.
unsafe impl Sync for ThreadSafeFixedBufferAllocator<'_> {}

impl<'buf> ThreadSafeFixedBufferAllocator<'buf> {
    /// An allocator that hands out parts of `buffer` to any thread.
    pub fn new(buffer: &'buf mut [u8]) -> Self {
        ThreadSafeFixedBufferAllocator {
            region: Region::new(buffer),
            end_index: AtomicUsize::new(0),
            _buffer: PhantomData,
        }
    }

    /// The handle to pass to functions (call it in each thread; the handle is `!Send`).
    pub fn allocator(&self) -> Allocator<'_> {
        Allocator::new(self)
    }

    /// A handle that is `Send + Sync`: collections built on it may move to other threads
    /// (see [`SyncAllocator`]).
    pub fn sync_allocator(&self) -> SyncAllocator<'_> {
        SyncAllocator::new_sync(self)
    }

    /// How many bytes of the buffer are in use at this moment.
    pub fn end_index(&self) -> usize {
        self.end_index.load(Ordering::Relaxed)
    }

    /// The length of the buffer.
    pub fn capacity(&self) -> usize {
        self.region.len
    }

    /// Makes the whole buffer free again (`&mut self`: no block can still be in use).
    pub fn reset(&mut self) {
        *self.end_index.get_mut() = 0;
    }

    /// Whether `ptr` points into the buffer (whether or not it is inside a live block).
    pub fn owns(&self, ptr: *const u8) -> bool {
        self.region.owns(ptr)
    }

    /// Moves `end_index` from the end of `memory` (`old_len` bytes) to `begin + new_len` if
    /// nothing was allocated after it; `false` if the block is not (or no longer) the last.
    #[inline]
    fn move_end_of_last(&self, memory: NonNull<u8>, old_len: usize, new_len: usize) -> bool {
        let begin = self.region.offset_of(memory);
        self.end_index
            .compare_exchange(
                begin + old_len,
                begin + new_len,
                Ordering::AcqRel,
                Ordering::Relaxed,
            )
            .is_ok()
    }
}

// SAFETY: as for `FixedBufferAllocator`; every change of `end_index` is a compare-and-swap
// from the value the decision was based on, so a range is reserved for exactly one block, and
// the acquire/release exchanges order the accesses of a block's successive owners.
unsafe impl RawAllocator for ThreadSafeFixedBufferAllocator<'_> {
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        let mut current = self.end_index.load(Ordering::Relaxed);
        loop {
            let (begin, end) = self.region.place(current, layout)?;
            // AcqRel on success (here and when freeing or shrinking): a thread that frees a
            // block releases its writes to it, and the thread that gets those bytes next
            // acquires them, so the two threads' accesses to the same bytes are ordered (no
            // data race). A failed exchange only reloads the index: Relaxed.
            match self.end_index.compare_exchange_weak(
                current,
                end,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(self.region.at(begin)),
                Err(now) => current = now,
            }
        }
    }

    unsafe fn resize(&self, memory: NonNull<u8>, layout: Layout, new_len: usize) -> bool {
        let old_len = layout.size();
        if new_len <= old_len {
            // Shrinking always succeeds; it gives bytes back only if the block is still last.
            self.move_end_of_last(memory, old_len, new_len);
            return true;
        }
        let begin = self.region.offset_of(memory);
        // The block is live, so `begin + old_len <= end_index <= len`.
        new_len <= self.region.len - begin && self.move_end_of_last(memory, old_len, new_len)
    }

    unsafe fn free(&self, memory: NonNull<u8>, layout: Layout) {
        debug_assert!(
            self.owns(memory.as_ptr()),
            "free of a block from another allocator"
        );
        self.move_end_of_last(memory, layout.size(), 0);
    }
}

impl_allocator_api2!(['buf] &ThreadSafeFixedBufferAllocator<'buf> => |this| this.allocator());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_block_is_reclaimed_others_are_not() {
        let mut buffer = [0u8; 64];
        let fixed = FixedBufferAllocator::new(&mut buffer);
        let a = fixed.allocator();
        let first = a.raw_alloc(8, 1).unwrap();
        let second = a.raw_alloc(8, 1).unwrap();
        assert_eq!(fixed.end_index(), 16);
        // SAFETY: both blocks are live blocks of this allocator with these layouts.
        unsafe {
            a.raw_free(first, 8, 1);
            assert_eq!(fixed.end_index(), 16, "freeing a non-last block is a no-op");
            assert!(
                a.raw_resize(first, 8, 1, 4),
                "shrinking a non-last block succeeds"
            );
            assert!(
                !a.raw_resize(first, 4, 1, 9),
                "growing a non-last block fails"
            );
            assert!(a.raw_resize(second, 8, 1, 20));
            assert_eq!(fixed.end_index(), 28);
            a.raw_free(second, 20, 1);
        }
        assert_eq!(fixed.end_index(), 8);
    }

    #[test]
    fn alignment_padding_and_exhaustion() {
        let mut buffer = [0u8; 100];
        let fixed = FixedBufferAllocator::new(&mut buffer);
        let a = fixed.allocator();
        a.raw_alloc(1, 1).unwrap();
        let aligned = a.raw_alloc(16, 32).unwrap();
        assert_eq!(aligned.as_ptr() as usize % 32, 0);
        assert!(fixed.owns(aligned.as_ptr()));
        assert_eq!(a.raw_alloc(1000, 1), Err(crate::Error::OutOfMemory));
        assert!(!fixed.owns(core::ptr::null()));
    }

    #[test]
    fn thread_safe_variant_reclaims_last_block() {
        let mut buffer = [0u8; 64];
        let fixed = ThreadSafeFixedBufferAllocator::new(&mut buffer);
        let a = fixed.allocator();
        let first = a.raw_alloc(8, 1).unwrap();
        let second = a.raw_alloc(8, 1).unwrap();
        // SAFETY: both blocks are live blocks of this allocator with these layouts.
        unsafe {
            assert!(!a.raw_resize(first, 8, 1, 9));
            assert!(a.raw_resize(second, 8, 1, 56));
            assert!(!a.raw_resize(second, 56, 1, 57));
            a.raw_free(first, 8, 1);
            assert_eq!(fixed.end_index(), 64);
            a.raw_free(second, 56, 1);
        }
        assert_eq!(fixed.end_index(), 8);
    }
}
