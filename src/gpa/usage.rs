//! Heap figures for C's `mallinfo` family (`capi::mallinfo`): what the GPA holds, in bytes
//! and blocks, and the release of free memory on request (`malloc_trim`).
//!
//! # Design
//! No counter is kept on the allocation paths (they stay as short as they are): the figures
//! are gathered when asked, by a walk of every heap's segments and page descriptors and of
//! the live large blocks.
//!
//! * **Small blocks**: a page's slots handed out (`Page::used`) times its slot size, less the
//!   bytes in its heap's quarantine (safety mode: freed blocks not reusable yet, counted as
//!   free memory held, as glibc counts a freed chunk). Slots freed by another thread and not
//!   yet collected by the owner still count as used.
//! * **Free memory held**: the free slots of pages in use, the free units of segments and the
//!   quarantined bytes; `releasable`: free units whose memory is still resident (what a
//!   purge would give back, glibc's `keepcost` of a trimmable top).
//! * **Large blocks**: the live list (count, mapping bytes), read under its lock.
//! * **Guarded blocks** (guard mode, sampled guarded blocks): their requested bytes count as
//!   live small blocks' and as heap memory (`capi::mallinfo` adds them to `arena`); the
//!   rest of their pages is the checking's cost, left out (the area's records, never the
//!   blocks' pages, are read).
//!
//! # Invariants and limits
//! * Other threads keep allocating meanwhile: their heaps' figures are a snapshot that may be
//!   off by the blocks they allocate or free during the walk (glibc's `mallinfo2` locks one
//!   arena at a time, no more exact across arenas). The page descriptors read lie in segment
//!   headers; a segment is not released while a walk runs (`segment_walk`, taken by
//!   `release_segment`), so every header read is mapped.
//! * Only the calling thread's own heap is purged by [`GeneralPurposeAllocator::trim`]:
//!   another thread's free units are its owner's to change.

use super::heap::{self, Heap};
use super::segment::{Segment, SEGMENT_SIZE, UNITS, UNIT_SIZE};
use super::{lock, GeneralPurposeAllocator};

/// The GPA's heap figures (bytes, blocks), as [`GeneralPurposeAllocator::usage`] finds them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes of small segments mapped (the heap's memory from the OS, headers included).
    pub segment_bytes: usize,
    /// Small segments.
    pub segments: usize,
    /// Bytes of the slots of live small blocks.
    pub small_live_bytes: usize,
    /// Free bytes held: free slots of pages in use, free units, quarantined slots.
    pub free_bytes: usize,
    /// Free chunks: pages in use with a free slot, runs of free units.
    pub free_chunks: usize,
    /// Of `free_bytes`, free units whose memory is still resident (a purge gives it back).
    pub releasable_bytes: usize,
    /// Live large blocks (each its own mapping).
    pub large_blocks: usize,
    /// Bytes of their mappings.
    pub large_bytes: usize,
    /// Requested bytes of live guarded blocks (guard mode), also in `small_live_bytes`.
    pub guarded_bytes: usize,
}

impl GeneralPurposeAllocator {
    /// The heap's figures now (see the module docs).
    pub(crate) fn usage(&self) -> Usage {
        let _inside = heap::InsideAllocator::enter();
        let mut usage = Usage::default();
        self.visit_heaps(|heap| {
            let _walk = lock(&self.segment_walk);
            // SAFETY: heaps in the list stay allocated while HEAP_GPA_REF is held; their
            // segments are not released while `segment_walk` is held (module docs).
            unsafe { add_heap(&*heap, &mut usage) };
        });
        // Guarded blocks (guard mode, sampled guarded blocks): the bytes the program asked
        // for, as live small blocks' and as heap memory (the rest of their data pages and
        // their guard pages are the checking's cost, as Valgrind leaves its redzones out of
        // its `mallinfo`).
        usage.guarded_bytes = self.guarded_live_bytes();
        usage.small_live_bytes += usage.guarded_bytes;
        let large = lock(&self.large);
        for header in large.iter() {
            // SAFETY: members of the live list are valid headers while its lock is held.
            let block = unsafe { &*header };
            usage.large_blocks += 1;
            usage.large_bytes += block.mapping_len;
        }
        usage
    }

    /// Gives the memory of the calling thread's free page units back to the OS; the bytes
    /// given back (0 when there were none, or the thread has no heap of this GPA).
    pub(crate) fn trim(&self) -> usize {
        let heap = heap::cached(self.id());
        // SAFETY: the calling thread owns its cached heap.
        let Some(heap) = (unsafe { heap.as_mut() }) else {
            return 0;
        };
        let _inside = heap::InsideAllocator::enter();
        let mut purged = 0;
        let mut segment = heap.segments;
        while !segment.is_null() {
            // SAFETY: the heap's segments are live and owned by this thread.
            unsafe {
                purged += (*segment).purge_free_units();
                segment = (*segment).next;
            }
        }
        heap.dirty_bytes = 0;
        purged
    }
}

/// Adds the figures of `heap`'s segments to `usage`.
///
/// # Safety
/// `heap` is a live heap whose segments are not released meanwhile.
unsafe fn add_heap(heap: &Heap, usage: &mut Usage) {
    let mut segment = heap.segments;
    let mut live = 0usize;
    while !segment.is_null() {
        // SAFETY: caller contract: a mapped segment header (its owner may change its pages
        // meanwhile: the figures are a snapshot).
        let segment_ref: &Segment = unsafe { &*segment };
        usage.segments += 1;
        usage.segment_bytes += SEGMENT_SIZE;
        let free_units = segment_ref.free_units;
        usage.free_bytes += free_units.count_ones() as usize * UNIT_SIZE;
        usage.releasable_bytes +=
            (segment_ref.dirty_units & free_units).count_ones() as usize * UNIT_SIZE;
        // Runs of free units (a free chunk each).
        usage.free_chunks += (free_units & !(free_units << 1)).count_ones() as usize;
        for unit in 1..UNITS {
            let page = &segment_ref.pages[unit];
            if page.units == 0 {
                continue;
            }
            let block_size = page.block_size as usize;
            let used = (page.used() as usize).min(page.capacity as usize);
            live += used * block_size;
            let free = (page.capacity as usize - used) * block_size;
            usage.free_bytes += free;
            usage.free_chunks += usize::from(free != 0);
        }
        segment = segment_ref.next;
    }
    let quarantined = heap.quarantine.bytes.min(live);
    usage.small_live_bytes += live - quarantined;
    usage.free_bytes += quarantined;
}
