//! `PageAllocator`: every block is its own OS mapping (Zig's `std.heap.page_allocator`).
//!
//! # Design
//! A request is rounded up to whole OS pages and mapped with `mmap`. Alignments above the OS
//! page size are met by `os::map_aligned` (an aligned address hint, else mapping
//! `len + alignment - page` bytes and unmapping the unaligned head and the unused tail), so no
//! address space is kept beyond the block. Resize shrinks by
//! unmapping the tail and grows with a non-moving `mremap`; remap may move the mapping with
//! `mremap(MREMAP_MAYMOVE)` when the alignment is no more than a page (the kernel keeps only
//! page alignment). `move_pages_out` moves a block's pages onto a fresh mapping with
//! `mremap(MREMAP_DONTUNMAP)`, the old range staying mapped without them; `split_off` moves a
//! block's tail onto a fresh aligned mapping of its own (`mremap` with `MREMAP_FIXED`). It is stateless, so it is `Copy`, `Sync` and free to construct, and it is
//! the default backing allocator of everything else in the crate.
//!
//! Blocks are mapped with `MAP_NORESERVE` (reservations the kernel does not account), but
//! `alloc_accounted`'s (the GPA's large blocks, the program's data) without it, as glibc maps
//! its large chunks, so the kernel's overcommit policy refuses what it refuses glibc. A block
//! keeps its kind when it grows or moves (`mremap` keeps the mapping's accounting, and moves
//! onto a target the pages' own mapping, not the target's).
//!
//! # Invariants
//! A block of `len` bytes owns exactly the pages `[ptr, ptr + round_up(len, page))`.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;

use crate::interface::{impl_allocator_api2, Allocator, RawAllocator, SyncAllocator};
use crate::os;

/// Maps every allocation directly from the OS (Zig's `std.heap.page_allocator`): each block is
/// its own mapping, rounded up to whole OS pages, so it suits few, large, long-lived blocks and
/// the backing of other allocators (it is the GPA's default backing). Stateless, `Copy` and
/// thread-safe; also a `GlobalAlloc`.
///
/// ```
/// let page = gpa::PageAllocator::new();
/// let allocator = page.allocator();
/// let table = allocator.alloc_filled(1 << 20, 0u8).unwrap(); // 1 MiB, zeroed pages
/// assert_eq!(table.as_ptr() as usize % gpa::page_size(), 0);
/// // SAFETY: `table` came from this allocator and is not used again.
/// unsafe { allocator.free(table) };
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct PageAllocator;

/// A `PageAllocator` usable where a `&'static` is needed (as for
/// [`Config::backing_allocator`](crate::Config::backing_allocator)):
/// `gpa::PAGE_ALLOCATOR.allocator()` is an `Allocator<'static>`.
///
/// Example: [`Config::backing_allocator`](crate::Config::backing_allocator) takes it.
pub static PAGE_ALLOCATOR: PageAllocator = PageAllocator;

#[inline]
fn round_to_pages(len: usize) -> Option<usize> {
    let page = os::page_size();
    len.checked_add(page - 1).map(|padded| padded & !(page - 1))
}

impl PageAllocator {
    /// The page allocator (there is nothing to set up).
    pub const fn new() -> Self {
        PageAllocator
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

// SAFETY: every block is a fresh private mapping of at least `len` bytes, aligned as asked
// (see `alloc`), which no other block can overlap until it is unmapped.
unsafe impl RawAllocator for PageAllocator {
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        let page = os::page_size();
        let len = round_to_pages(layout.size())?;
        if layout.align() <= page {
            return os::map(len);
        }
        os::map_aligned(len, layout.align())
    }

    fn alloc_accounted(&self, layout: Layout) -> Option<NonNull<u8>> {
        let page = os::page_size();
        let len = round_to_pages(layout.size())?;
        if layout.align() <= page {
            return os::map_accounted(len);
        }
        os::map_aligned_accounted(len, layout.align())
    }

    unsafe fn resize(&self, memory: NonNull<u8>, layout: Layout, new_len: usize) -> bool {
        let (Some(old_pages), Some(new_pages)) =
            (round_to_pages(layout.size()), round_to_pages(new_len))
        else {
            return false;
        };
        if new_pages == old_pages {
            return true;
        }
        if new_pages < old_pages {
            // SAFETY: the tail pages belong to this block (invariant) and are no longer used.
            unsafe {
                os::unmap(
                    NonNull::new_unchecked(memory.as_ptr().add(new_pages)),
                    old_pages - new_pages,
                )
            };
            return true;
        }
        // SAFETY: the block's pages are a mapping made by `map` (invariant).
        unsafe { os::remap(memory, old_pages, new_pages, false) }.is_some()
    }

    unsafe fn remap(
        &self,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded caller contract.
        if unsafe { self.resize(memory, layout, new_len) } {
            return Some(memory);
        }
        let old_pages = round_to_pages(layout.size())?;
        let new_pages = round_to_pages(new_len)?;
        if layout.align() <= os::page_size() {
            // SAFETY: the block's pages are a mapping made by `map` (invariant); the kernel
            // keeps page alignment, which is all this block needs.
            return unsafe { os::remap(memory, old_pages, new_pages, true) };
        }
        // A stricter alignment: make an aligned mapping of the new size, then move the old
        // pages onto its start (page tables move; nothing is copied).
        let target = RawAllocator::alloc(
            self,
            Layout::from_size_align(new_pages, layout.align()).ok()?,
        )?;
        // SAFETY: the old mapping is the block's (invariant) and the caller gives it up on
        // success; `target` is a fresh mapping of `new_pages` bytes that we own.
        if unsafe { os::remap_to(memory, old_pages, new_pages, target) } {
            return Some(target);
        }
        // SAFETY: `target` was mapped above and is unused.
        unsafe { os::unmap(target, new_pages) };
        None
    }

    unsafe fn move_pages_out(&self, memory: NonNull<u8>, layout: Layout) -> Option<NonNull<u8>> {
        let len = round_to_pages(layout.size())?;
        let target = RawAllocator::alloc(self, layout)?;
        // SAFETY: the block owns exactly these pages (invariant), a private anonymous mapping
        // whose contents the caller gives up in place; `target` is a fresh mapping of `len`
        // bytes that we own, distinct from it.
        if unsafe { os::move_pages_keeping(memory, len, target) } {
            return Some(target);
        }
        // SAFETY: `target` was mapped above and is unused.
        unsafe { os::unmap(target, len) };
        None
    }

    unsafe fn split_off(
        &self,
        memory: NonNull<u8>,
        layout: Layout,
        at: usize,
        tail: Layout,
    ) -> Option<NonNull<u8>> {
        let len = round_to_pages(layout.size())?;
        if at % os::page_size() != 0 || at >= len || tail.size() != len - at {
            return None;
        }
        let target = RawAllocator::alloc(self, tail)?;
        // SAFETY: `at < len`: inside the block's mapping, not null.
        let source = unsafe { NonNull::new_unchecked(memory.as_ptr().add(at)) };
        // SAFETY: `[memory + at, memory + len)` are the block's own pages (invariant), part of
        // a mapping made by `map`, given up by the caller on success; `target` is a fresh
        // mapping of `len - at` bytes that we own, distinct from them.
        if unsafe { os::remap_to(source, len - at, len - at, target) } {
            return Some(target);
        }
        // SAFETY: `target` was mapped above and is unused.
        unsafe { os::unmap(target, len - at) };
        None
    }

    unsafe fn free(&self, memory: NonNull<u8>, layout: Layout) {
        if let Some(len) = round_to_pages(layout.size()) {
            // SAFETY: the block owns exactly these pages (invariant; caller contract).
            unsafe { os::unmap(memory, len) }
        }
    }
}

impl_allocator_api2!([] &PageAllocator => |this| this.allocator());

// SAFETY: forwards to the raw operations above, which return unique, aligned mappings; zero
// sizes never reach `GlobalAlloc` (its contract) but are handled by the handle anyway.
unsafe impl GlobalAlloc for PageAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocator()
            .alloc_layout(layout)
            .map_or(core::ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(memory) = NonNull::new(ptr) {
            // SAFETY: GlobalAlloc's contract: `ptr` came from `alloc` with `layout`.
            unsafe { self.allocator().free_layout(memory, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(memory) = NonNull::new(ptr) else {
            return core::ptr::null_mut();
        };
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return core::ptr::null_mut();
        };
        // SAFETY: GlobalAlloc's contract for realloc matches api2_reallocate's.
        unsafe { crate::interface::api2_reallocate(self.allocator(), memory, layout, new_layout) }
            .map_or(core::ptr::null_mut(), |block| block.as_ptr().cast())
    }
}
