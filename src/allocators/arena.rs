//! `ArenaAllocator`: many allocations, freed all together (Zig's `std.heap.ArenaAllocator`).
//!
//! # Design
//! The arena takes *buffers* from a child allocator and bump-allocates inside the newest one.
//! Buffers form a singly linked list, newest first; each starts with a small `Node` header
//! holding its length and the link to the next (older) buffer:
//!
//! ```text
//!  first ──► [ Node{len, next} | blocks ... | free ]   (newest: `end_index` counts from here)
//!                       │                  ^data + end_index
//!                       ▼
//!            [ Node{len, next: None} | blocks ... | unused tail ]   (older, full)
//! ```
//!
//! When a request does not fit in the newest buffer, the arena first asks the child to grow that
//! buffer in place; if it cannot, it takes a new buffer of `1.5 * (previous + request + header
//! room)` bytes, so buffer sizes grow geometrically and the number of child calls stays
//! logarithmic in the total allocated. A request's worst-case alignment padding is included in
//! that size, so alignments far above the buffer's own (up to 1 MiB and beyond) always fit.
//!
//! Freeing or resizing the most recent block (the one ending exactly at `end_index` in the
//! newest buffer) moves `end_index`, reclaiming its bytes; every other free is a no-op and every
//! other resize succeeds only when it does not grow the block. All memory goes back to the child
//! at [`ArenaAllocator::reset`], [`ArenaAllocator::deinit`] or drop.
//!
//! The arena must outlive its blocks; the borrow checker rejects code where it does not:
//!
//! ```compile_fail,E0597
//! let message: &str;
//! {
//!     let page = gpa::PageAllocator::new();
//!     let arena = gpa::ArenaAllocator::new(page.allocator());
//!     message = arena.allocator().alloc_print(format_args!("hello")).unwrap();
//! } // `arena` is dropped here while `message` still borrows it
//! println!("{message}");
//! ```
//!
//! # Invariants
//! * Every buffer in the list is a live block of the child with length `node.len` and alignment
//!   `NODE_ALIGN`; its first `HEADER` bytes hold its `Node`.
//! * `end_index <= capacity(first)`; every live block lies in `[data, data + end_index)` of the
//!   newest buffer or inside an older buffer, so blocks never overlap.
//! * The arena is `!Sync` (the `Cell`s): one thread at a time. Use it behind a thread-safe wrapper
//!   to share it.

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt;
use core::ptr::NonNull;

use crate::interface::{impl_allocator_api2, Allocator, RawAllocator};

/// The header at the start of every buffer taken from the child.
struct Node {
    /// Length of the whole buffer, header included (the length the child knows it by).
    len: usize,
    /// The next older buffer.
    next: Option<NonNull<Node>>,
}

const HEADER: usize = core::mem::size_of::<Node>();
const NODE_ALIGN: usize = core::mem::align_of::<Node>();
const _: () = assert!(HEADER % NODE_ALIGN == 0);

/// Extra room asked for beyond a request when a new buffer is created (Zig uses the same slack),
/// so that a few small requests that follow a large one fit too.
const SLACK: usize = 16;

/// What [`ArenaAllocator::reset`] keeps.
///
/// ```
/// let page = gpa::PageAllocator::new();
/// let mut arena = gpa::ArenaAllocator::new(page.allocator());
/// for request in 0..3 {
///     let text = arena.allocator().alloc_print(format_args!("request {request}")).unwrap();
///     assert!(text.starts_with("request"));
///     // Everything of this request goes at once; its buffer stays for the next one.
///     assert!(arena.reset(gpa::ResetMode::RetainCapacity));
/// }
/// assert!(arena.query_capacity() > 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetMode {
    /// Return every buffer to the child.
    FreeAll,
    /// Keep one buffer as large as the arena's whole current capacity, so the next cycle of
    /// allocations of the same total size needs no child call.
    RetainCapacity,
    /// As `RetainCapacity`, but keep at most this many bytes of capacity.
    RetainWithLimit(usize),
}

/// Bump allocator over buffers from a child allocator; everything is freed at once.
///
/// ```
/// let page = gpa::PageAllocator::new();
/// let arena = gpa::ArenaAllocator::new(page.allocator());
/// let allocator = arena.allocator();
/// for round in 0..100 {
///     let text = allocator.alloc_print(format_args!("round {round}")).unwrap();
///     assert!(text.starts_with("round"));
/// }
/// arena.deinit(); // every block goes back to the page allocator at once
/// ```
///
/// # Threads
/// The arena is `!Sync`: one thread uses it at a time. Over a thread-safe child's
/// [`SyncAllocator`](crate::SyncAllocator) it is `Send`, so it can move to another thread (or
/// be shared behind a [`ThreadSafeAllocator`](crate::ThreadSafeAllocator)):
///
/// ```
/// let gpa = gpa::GeneralPurposeAllocator::new();
/// let arena = gpa::ArenaAllocator::new(gpa.sync_allocator());
/// let total = std::thread::scope(|s| {
///     s.spawn(move || {
///         let numbers = arena.allocator().dupe(&[1u64, 2, 3]).unwrap();
///         numbers.iter().sum::<u64>()
///     })
///     .join()
///     .unwrap()
/// });
/// assert_eq!(total, 6);
/// ```
///
/// Sharing an arena between threads does not compile:
///
/// ```compile_fail,E0277
/// let page = gpa::PageAllocator::new();
/// let arena = gpa::ArenaAllocator::new(page.sync_allocator());
/// std::thread::scope(|s| {
///     s.spawn(|| arena.allocator().alloc::<u8>(8).map(|_| ()));
///     s.spawn(|| arena.allocator().alloc::<u8>(8).map(|_| ()));
/// });
/// ```
///
/// Nor does sending its handle (any [`Allocator`] may point at a single-threaded
/// implementation), or sending an arena whose child is a plain [`Allocator`]:
///
/// ```compile_fail,E0277
/// let page = gpa::PageAllocator::new();
/// let arena = gpa::ArenaAllocator::new(page.sync_allocator());
/// let handle = arena.allocator();
/// std::thread::scope(|s| {
///     s.spawn(move || handle.alloc::<u8>(8).map(|_| ()));
/// });
/// ```
///
/// ```compile_fail,E0277
/// let page = gpa::PageAllocator::new();
/// let arena = gpa::ArenaAllocator::new(page.allocator());
/// std::thread::scope(|s| {
///     s.spawn(move || arena.allocator().alloc::<u8>(8).map(|_| ()));
/// });
/// ```
pub struct ArenaAllocator<'a, R: ?Sized + RawAllocator = dyn RawAllocator + 'a> {
    child: Allocator<'a, R>,
    first: Cell<Option<NonNull<Node>>>,
    /// Offset of the first unused byte of the newest buffer's data area.
    end_index: Cell<usize>,
}

/// The data area of `node` (just after the header).
#[inline]
fn data_of(node: NonNull<Node>) -> NonNull<u8> {
    // SAFETY: every buffer is at least `HEADER` bytes long (invariant), so the data area starts
    // inside it or one past its end.
    unsafe { node.cast::<u8>().add(HEADER) }
}

/// The length of `node`'s buffer.
#[inline]
fn len_of(node: NonNull<Node>) -> usize {
    // SAFETY: list nodes are initialized headers of live child buffers (invariant).
    unsafe { (*node.as_ptr()).len }
}

/// The older buffer after `node`.
#[inline]
fn next_of(node: NonNull<Node>) -> Option<NonNull<Node>> {
    // SAFETY: as in `len_of`.
    unsafe { (*node.as_ptr()).next }
}

impl<'a, R: ?Sized + RawAllocator> ArenaAllocator<'a, R> {
    /// An empty arena that takes its buffers from `child`. Takes no memory until first used.
    pub const fn new(child: Allocator<'a, R>) -> Self {
        ArenaAllocator {
            child,
            first: Cell::new(None),
            end_index: Cell::new(0),
        }
    }

    /// The handle to pass to functions.
    pub fn allocator(&self) -> Allocator<'_> {
        Allocator::new(self)
    }

    /// The allocator the arena takes its buffers from.
    pub fn child(&self) -> Allocator<'a, R> {
        self.child
    }

    /// The total number of bytes the arena's buffers can hold (headers not counted), whether
    /// used or not.
    pub fn query_capacity(&self) -> usize {
        let mut total = 0;
        let mut cursor = self.first.get();
        while let Some(node) = cursor {
            total += len_of(node) - HEADER;
            cursor = next_of(node);
        }
        total
    }

    /// How many buffers the arena holds at the moment.
    pub fn buffer_count(&self) -> usize {
        let mut count = 0;
        let mut cursor = self.first.get();
        while let Some(node) = cursor {
            count += 1;
            cursor = next_of(node);
        }
        count
    }

    /// Walks the buffer list and checks the invariants in the module documentation (every
    /// buffer holds at least its header and is aligned for it, `end_index` lies inside the
    /// newest buffer). For tests; it costs a walk of the list.
    pub fn check_invariants(&self) -> Result<(), String> {
        let Some(first) = self.first.get() else {
            return match self.end_index.get() {
                0 => Ok(()),
                end => Err(format!("no buffer but end_index {end}")),
            };
        };
        let capacity = len_of(first) - HEADER;
        if self.end_index.get() > capacity {
            return Err(format!(
                "end_index {} beyond the newest buffer's capacity {capacity}",
                self.end_index.get()
            ));
        }
        let mut cursor = Some(first);
        while let Some(node) = cursor {
            if node.as_ptr() as usize % NODE_ALIGN != 0 || len_of(node) < HEADER {
                return Err(format!(
                    "buffer {node:?} of {} bytes is malformed",
                    len_of(node)
                ));
            }
            cursor = next_of(node);
        }
        Ok(())
    }

    /// Frees every block at once, keeping capacity as `mode` says (Zig's `reset`).
    ///
    /// With a retaining mode the arena keeps its largest buffer, resized (in place if the child
    /// can, else replaced by a fresh buffer) to the retained capacity, and returns every other
    /// buffer to the child. Returns `false` when the child could neither resize the kept buffer
    /// nor provide a new one of that size; the arena is then empty of blocks but keeps the old
    /// buffer as it was, so it remains fully usable. `FreeAll` and zero capacities always
    /// succeed.
    pub fn reset(&mut self, mode: ResetMode) -> bool {
        let capacity = self.query_capacity();
        let requested = match mode {
            ResetMode::FreeAll => 0,
            ResetMode::RetainCapacity => capacity,
            ResetMode::RetainWithLimit(limit) => limit.min(capacity),
        };
        self.end_index.set(0);
        if requested == 0 {
            self.free_all();
            return true;
        }
        let Some(keep) = self.keep_largest() else {
            return true;
        };
        let total = requested.saturating_add(HEADER);
        let kept_len = len_of(keep);
        if kept_len == total {
            return true;
        }
        // SAFETY: `keep` is a live child buffer of `kept_len` bytes with `NODE_ALIGN`
        // (invariant); nothing in it is in use any more.
        if unsafe {
            self.child
                .raw_resize(keep.cast(), kept_len, NODE_ALIGN, total)
        } {
            // SAFETY: `keep` is the initialized header of the (resized) buffer.
            unsafe { (*keep.as_ptr()).len = total };
            return true;
        }
        let Ok(fresh) = self.child.raw_alloc(total, NODE_ALIGN) else {
            return false;
        };
        // SAFETY: `keep` is a live child buffer with this length and alignment, and nothing
        // refers to it after this; `fresh` is a new buffer of `total >= HEADER` bytes aligned
        // for `Node`.
        unsafe {
            self.child.raw_free(keep.cast(), kept_len, NODE_ALIGN);
            fresh.cast::<Node>().write(Node {
                len: total,
                next: None,
            });
        }
        self.first.set(Some(fresh.cast()));
        true
    }

    /// Returns every buffer to the child and ends the arena (dropping it does the same).
    pub fn deinit(self) {
        drop(self);
    }

    /// Frees every buffer but the largest, which becomes the only one. `None` if there is none.
    fn keep_largest(&mut self) -> Option<NonNull<Node>> {
        let mut largest = self.first.get()?;
        let mut cursor = next_of(largest);
        while let Some(node) = cursor {
            if len_of(node) > len_of(largest) {
                largest = node;
            }
            cursor = next_of(node);
        }
        let mut cursor = self.first.get();
        while let Some(node) = cursor {
            cursor = next_of(node);
            if node != largest {
                // SAFETY: `node` is a live child buffer with its recorded length (invariant),
                // unlinked here because the list is rebuilt below.
                unsafe { self.child.raw_free(node.cast(), len_of(node), NODE_ALIGN) };
            }
        }
        // SAFETY: `largest` is an initialized header of a live buffer.
        unsafe { (*largest.as_ptr()).next = None };
        self.first.set(Some(largest));
        Some(largest)
    }

    fn free_all(&mut self) {
        let mut cursor = self.first.take();
        while let Some(node) = cursor {
            cursor = next_of(node);
            // SAFETY: `node` is a live child buffer with its recorded length (invariant); the
            // list head was cleared above, so it is not reachable any more.
            unsafe { self.child.raw_free(node.cast(), len_of(node), NODE_ALIGN) };
        }
        self.end_index.set(0);
    }

    /// Where a block for `layout` would lie in `node`'s data area if its free space begins at
    /// `end_index`: `(begin, end)` offsets, not checked against the capacity.
    #[inline]
    fn place(node: NonNull<Node>, end_index: usize, layout: Layout) -> Option<(usize, usize)> {
        let data = data_of(node).as_ptr() as usize;
        let mask = layout.align() - 1;
        let aligned = data.checked_add(end_index)?.checked_add(mask)? & !mask;
        let begin = aligned - data;
        Some((begin, begin.checked_add(layout.size())?))
    }

    /// Asks the child to make `node`'s data area at least `capacity` bytes without moving it.
    fn try_grow_in_place(&self, node: NonNull<Node>, capacity: usize) -> bool {
        let Some(wanted) = capacity.checked_add(HEADER) else {
            return false;
        };
        let len = len_of(node);
        // SAFETY: `node` is a live child buffer of `len` bytes with `NODE_ALIGN` (invariant).
        if unsafe { self.child.raw_resize(node.cast(), len, NODE_ALIGN, wanted) } {
            // SAFETY: the header is initialized; the buffer is now `wanted` bytes long.
            unsafe { (*node.as_ptr()).len = wanted };
            return true;
        }
        false
    }

    /// Takes a new buffer able to hold `layout` at any alignment and makes it the newest.
    #[cold]
    #[inline(never)]
    fn push_buffer(&self, previous_capacity: usize, layout: Layout) -> Option<NonNull<Node>> {
        let minimum = layout
            .size()
            .checked_add(layout.align())?
            .checked_add(HEADER + SLACK)?;
        let preferred = previous_capacity
            .checked_add(minimum)
            .and_then(|len| len.checked_add(len / 2));
        let (memory, len) = match preferred.map(|len| (self.child.raw_alloc(len, NODE_ALIGN), len))
        {
            Some((Ok(memory), len)) => (memory, len),
            // The geometric size may be too much for a bounded child; the minimum may not be.
            _ => (self.child.raw_alloc(minimum, NODE_ALIGN).ok()?, minimum),
        };
        let node = memory.cast::<Node>();
        // SAFETY: `memory` is a fresh child buffer of `len >= HEADER` bytes aligned for `Node`.
        unsafe {
            node.as_ptr().write(Node {
                len,
                next: self.first.get(),
            })
        };
        self.first.set(Some(node));
        self.end_index.set(0);
        Some(node)
    }

    #[cold]
    #[inline(never)]
    fn alloc_slow(&self, layout: Layout) -> Option<NonNull<u8>> {
        let node = match self.first.get() {
            Some(node) => {
                let (begin, end) = Self::place(node, self.end_index.get(), layout)?;
                if self.try_grow_in_place(node, end) {
                    self.end_index.set(end);
                    // SAFETY: the buffer now holds `end` data bytes, so the block lies inside.
                    return Some(unsafe { data_of(node).add(begin) });
                }
                self.push_buffer(len_of(node) - HEADER, layout)?
            }
            None => self.push_buffer(0, layout)?,
        };
        let (begin, end) = Self::place(node, 0, layout)?;
        debug_assert!(
            end <= len_of(node) - HEADER,
            "a new buffer always fits its request"
        );
        self.end_index.set(end);
        // SAFETY: `begin + size <= capacity`, so the block lies inside the new buffer.
        Some(unsafe { data_of(node).add(begin) })
    }

    /// Whether `memory` of `len` bytes ends exactly at `end_index` of the newest buffer.
    #[inline]
    fn is_last(&self, memory: NonNull<u8>, len: usize) -> Option<NonNull<Node>> {
        let node = self.first.get()?;
        let end = data_of(node).as_ptr() as usize + self.end_index.get();
        (memory.as_ptr() as usize + len == end).then_some(node)
    }
}

// SAFETY: every block is carved from a live child buffer below `end_index` (or from an older,
// full buffer), aligned by `place`, and never handed out twice before being freed; buffers live
// until reset/deinit/drop, which need `&mut self` or `self`.
unsafe impl<R: ?Sized + RawAllocator> RawAllocator for ArenaAllocator<'_, R> {
    #[inline]
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        if let Some(node) = self.first.get() {
            let (begin, end) = Self::place(node, self.end_index.get(), layout)?;
            if end <= len_of(node) - HEADER {
                self.end_index.set(end);
                // SAFETY: `begin + size <= capacity`: the block lies inside the buffer.
                return Some(unsafe { data_of(node).add(begin) });
            }
        }
        self.alloc_slow(layout)
    }

    unsafe fn resize(&self, memory: NonNull<u8>, layout: Layout, new_len: usize) -> bool {
        let old_len = layout.size();
        let Some(node) = self.is_last(memory, old_len) else {
            return new_len <= old_len;
        };
        let begin = memory.as_ptr() as usize - data_of(node).as_ptr() as usize;
        let Some(end) = begin.checked_add(new_len) else {
            return false;
        };
        if end <= len_of(node) - HEADER || self.try_grow_in_place(node, end) {
            self.end_index.set(end);
            return true;
        }
        false
    }

    unsafe fn free(&self, memory: NonNull<u8>, layout: Layout) {
        if let Some(node) = self.is_last(memory, layout.size()) {
            self.end_index
                .set(memory.as_ptr() as usize - data_of(node).as_ptr() as usize);
        }
    }
}

impl<R: ?Sized + RawAllocator> Drop for ArenaAllocator<'_, R> {
    fn drop(&mut self) {
        self.free_all();
    }
}

impl<R: ?Sized + RawAllocator> fmt::Debug for ArenaAllocator<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArenaAllocator")
            .field("buffers", &self.buffer_count())
            .field("capacity", &self.query_capacity())
            .field("end_index", &self.end_index.get())
            .finish()
    }
}

// SAFETY: the arena owns its buffers (the `NonNull`s point only into them), so moving it to
// another thread moves them too; the child is reached through `&R`, usable from any thread
// because `R: Sync`. The arena stays `!Sync` (its `Cell`s): one thread at a time.
unsafe impl<R: ?Sized + RawAllocator + Sync> Send for ArenaAllocator<'_, R> {}

impl_allocator_api2!(['a, R: ?Sized + RawAllocator] &ArenaAllocator<'a, R> => |this| this.allocator());

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PageAllocator;

    #[test]
    fn most_recent_block_is_reclaimed() {
        let page = PageAllocator::new();
        let arena = ArenaAllocator::new(page.allocator());
        let a = arena.allocator();
        let first = a.raw_alloc(100, 8).unwrap();
        let second = a.raw_alloc(100, 8).unwrap();
        let before = arena.end_index.get();
        // SAFETY: live blocks of this arena with these layouts.
        unsafe {
            a.raw_free(first, 100, 8);
            assert_eq!(
                arena.end_index.get(),
                before,
                "an older block is not reclaimed"
            );
            assert!(a.raw_resize(second, 100, 8, 300));
            assert_eq!(arena.end_index.get(), before + 200);
            a.raw_free(second, 300, 8);
        }
        assert_eq!(arena.end_index.get(), before - 100);
    }

    #[test]
    fn buffers_grow_geometrically() {
        let page = PageAllocator::new();
        let arena = ArenaAllocator::new(page.allocator());
        let a = arena.allocator();
        for _ in 0..10_000 {
            a.raw_alloc(1000, 8).unwrap();
        }
        assert!(arena.query_capacity() >= 10_000 * 1000);
        assert!(
            arena.buffer_count() < 40,
            "{} buffers",
            arena.buffer_count()
        );
    }

    #[test]
    fn huge_alignment_fits() {
        let page = PageAllocator::new();
        let arena = ArenaAllocator::new(page.allocator());
        let a = arena.allocator();
        for align_log2 in [12, 16, 20] {
            let block = a.raw_alloc(10, 1 << align_log2).unwrap();
            assert_eq!(block.as_ptr() as usize % (1 << align_log2), 0);
        }
    }
}
