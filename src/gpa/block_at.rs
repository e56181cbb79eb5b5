//! The block of the program's heap at an address, for checks of the ranges a program hands to
//! libc's memory and string functions (`capi::libc_calls`).
//!
//! # Design
//! [`GeneralPurposeAllocator::heap_block_at`] is [`GeneralPurposeAllocator::block_containing_located`]
//! behind one page-map load: an address no GPA segment, large block or guarded area covers
//! (a stack, a static, libc's own heap, a mapping of the program's) is rejected in a few
//! instructions, before any header is read. A small segment's block is looked up from the
//! page map's entry directly (its header checked as `locate` checks it, without a second
//! page-map load), and its page descriptor is trusted as the fault handler trusts it (the
//! header lies between guard pages in safety mode): unit, page, slot by the reciprocal, the
//! slot's metadata, none of the free path's consistency checks of the descriptor. Blocks of the internal heap (requests made while gpa was busy) are not the
//! program's and are never returned. [`GeneralPurposeAllocator::heap_block_in`] does the same
//! for a range, loading the page map once when both ends share a chunk.
//!
//! [`GeneralPurposeAllocator::heap_slot_at`] is the same lookup for the common case of a
//! libc call's check, an address inside a live small block: it reads only the slot's state,
//! requested size and alignment (no traces, no description), and says "ask
//! [`GeneralPurposeAllocator::heap_block_at`]" for anything else. A check that finds its range
//! within the live block so described is done; any other answer (a freed block, a range that
//! leaves the block) is looked up again in full before it is judged, so both lookups agree on
//! every finding. Its page-map test takes a small segment's entry first, in one compare of
//! the entry with the chunk's address and tag ([`pagemap::small_segment_or`]), and leaves
//! any other entry to the full lookup: about 80 instructions from the address to the room
//! left in its block (a checked `strcmp` of a heap string and a stack one: 140).
//!
//! A per-thread cache of the pages found (the one check mode's C `free` keeps, 64 entries)
//! was measured in front of this lookup and left out: the mixed workload's `strcmp`s read
//! the words of a hash table spread over some 200 units at random, most lookups missed, and
//! a miss (the page descriptor checked as the free path checks it) cost more than the hits
//! saved (alloc_workload 1: 1,792M instructions to 1,935M).
//!
//! # Invariants
//! * Never reads the memory at the address, takes no lock and does not allocate.

use core::sync::atomic::Ordering;

use super::segment::{Segment, SegmentKind, SEGMENT_SIZE, SLOT_LIVE, UNIT_SIZE};
use super::{pagemap, BlockSpan, GeneralPurposeAllocator};

/// What [`GeneralPurposeAllocator::heap_slot_at`] finds at an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeapSlot {
    /// No GPA segment, large block or guarded area covers the address:
    /// [`GeneralPurposeAllocator::heap_block_at`] would return `None`.
    Outside,
    /// The live small block whose slot holds the address: the slot's start, the block's
    /// requested size and alignment, as `heap_block_at` would describe them.
    Live {
        /// The block's first byte.
        start: usize,
        /// Its requested size.
        size: usize,
        /// Its requested alignment.
        align: usize,
    },
    /// Anything else (a freed slot, a large or guarded block, another GPA's memory...):
    /// [`GeneralPurposeAllocator::heap_block_at`] says what.
    Other,
}

impl GeneralPurposeAllocator {
    /// The block (live, or freed and still in the quarantine) of this GPA's segments, large
    /// mappings or guarded areas whose memory holds `address`: its start, requested size and
    /// alignment, liveness and traces, in the GPA's terms (a front guard a caller adds is part
    /// of the block). `None` quickly for memory no GPA manages; `None` without safety.
    #[inline]
    pub(crate) fn heap_block_at(&self, address: usize) -> Option<BlockSpan> {
        let entry = pagemap::lookup(address)?;
        self.block_of_entry(entry, address)
    }

    /// The live small block holding `address`, as [`Self::heap_block_at`] would find it, read
    /// with fewer loads (state, size and alignment of the slot only); [`HeapSlot::Other`] for
    /// everything `heap_block_at` must describe.
    ///
    /// Every check of the full lookup's is made, in fewer instructions: the page map's entry
    /// tested for a small segment's first ([`pagemap::small_segment_or`]; any other entry
    /// is left to the full lookup, which validates it), the owner's id read without
    /// assigning one (a GPA without an id has no segment, and no header holds id 0).
    #[inline(always)]
    pub(crate) fn heap_slot_at(&self, address: usize) -> HeapSlot {
        let segment = match pagemap::small_segment_or(address) {
            pagemap::SmallOr::Small(segment) => segment,
            pagemap::SmallOr::Nothing => return HeapSlot::Outside,
            pagemap::SmallOr::Other => return HeapSlot::Other,
        };
        // SAFETY: the page map's entry names this chunk's registered small segment.
        let common = unsafe { &(*segment).common };
        if !self.config.safety
            || !common.is(SegmentKind::Small)
            || common.gpa_id != self.id.load(Ordering::Relaxed)
            || common.canary != self.config.canary
        {
            return HeapSlot::Other;
        }
        // SAFETY: a sound small segment of this GPA's; the page map's entry for the chunk
        // holding `address`.
        unsafe { live_slot(&*segment, address) }.unwrap_or(HeapSlot::Other)
    }

    /// Whether no GPA memory lies at `last`, given that none lies at `start`
    /// ([`HeapSlot::Outside`]): then [`Self::heap_block_in`] finds no block for `[start,
    /// last]`. No second page-map load when both ends share a chunk.
    #[inline(always)]
    pub(crate) fn heap_outside_from(&self, start: usize, last: usize) -> bool {
        (start ^ last) < SEGMENT_SIZE || pagemap::lookup(last).is_none()
    }

    /// The block [`Self::heap_block_at`] finds for the first byte of the range `[start,
    /// last]`, else for its last byte (a range that starts before the heap).
    #[inline]
    pub(crate) fn heap_block_in(&self, start: usize, last: usize) -> Option<BlockSpan> {
        match pagemap::lookup(start) {
            Some(entry) => self
                .block_of_entry(entry, start)
                .or_else(|| self.heap_block_at(last)),
            // One chunk: one page-map entry (none).
            None if (start ^ last) < SEGMENT_SIZE => None,
            None => self.heap_block_at(last),
        }
    }

    #[inline]
    fn block_of_entry(&self, entry: pagemap::Entry, address: usize) -> Option<BlockSpan> {
        if let pagemap::Entry::Small(segment) = entry {
            // SAFETY: the page map validated a registered segment's header.
            let common = unsafe { &(*segment).common };
            if !self.config.safety || !common.is(SegmentKind::Small) || !self.owns_header(common) {
                return None;
            }
            // SAFETY: a sound small segment of this GPA's; the page map's entry for the chunk
            // holding `address`.
            return unsafe { small_span(&*segment, address) };
        }
        let (span, _) = self.block_containing_located(address)?;
        // The internal heap's blocks carry no tag: gpa's own, not the program's.
        span.tag.map(|_| span)
    }
}

/// The page and carved slot of the small segment `segment` whose slot holds `address`
/// (a slot with metadata, live or not).
///
/// # Safety
/// `segment` is a sound small segment whose chunk holds `address`.
#[inline(always)]
unsafe fn slot_in(segment: &Segment, address: usize) -> Option<(&super::segment::Page, usize)> {
    // The offset in the chunk (which is the segment's): the unit is below `UNITS`, which
    // the compiler then knows (no bounds check on `unit_page`).
    let unit = (address & (SEGMENT_SIZE - 1)) / UNIT_SIZE;
    debug_assert_eq!(unit, (address - segment.base()) / UNIT_SIZE);
    if unit == 0 || segment.free_units & (1 << unit) != 0 {
        return None;
    }
    let page = segment.pages.get(*segment.unit_page.get(unit)? as usize)?;
    if page.block_size == 0 || page.meta.is_null() || address < page.start as usize {
        return None;
    }
    let (index, _) = page.slot_of(address);
    if index >= page.carved as usize {
        return None;
    }
    Some((page, index))
}

/// The block (live or freed) of the small segment `segment` whose slot holds `address`.
///
/// # Safety
/// `segment` is a sound small segment whose chunk holds `address`.
#[inline]
unsafe fn small_span(segment: &Segment, address: usize) -> Option<BlockSpan> {
    // SAFETY: caller contract.
    let (page, index) = unsafe { slot_in(segment, address) }?;
    // SAFETY: a page in use (its unit is not free) keeps its metadata for every carved slot.
    unsafe { GeneralPurposeAllocator::slot_span(page, index) }
}

/// The live block of the small segment `segment` whose slot holds `address`, as
/// [`HeapSlot::Live`]; `None` when there is none (no slot, or a slot not live).
///
/// # Safety
/// As for [`small_span`].
#[inline(always)]
unsafe fn live_slot(segment: &Segment, address: usize) -> Option<HeapSlot> {
    // SAFETY: caller contract.
    let (page, index) = unsafe { slot_in(segment, address) }?;
    // SAFETY: a page in use keeps its metadata for every carved slot (as in `small_span`).
    let meta = unsafe { page.meta(index) };
    if meta.state.load(Ordering::Acquire) != SLOT_LIVE {
        return None;
    }
    Some(HeapSlot::Live {
        start: page.slot_address(index),
        size: meta.requested.load(Ordering::Relaxed) as usize,
        align: 1 << meta.align_log2.load(Ordering::Relaxed),
    })
}
