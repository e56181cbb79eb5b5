//! Check mode's C entries: `malloc` and `free` of small blocks straight to the slot, for the
//! C ABI (`capi`), without the GPA's general layers.
//!
//! # Design
//! Through the general paths a checked C `malloc` passes `GlobalAlloc::alloc`, the mode and
//! accounting tests of `alloc_impl`, `alloc_checked`, and only then the small-block allocation;
//! a checked `free` looks the block up into a `BlockSpan` (`block_containing_located`), the C
//! ABI turns that into its own description (`capi::guard::Found`) and checks it, and the GPA
//! frees it through `free_located`. Each layer re-tests settings and rebuilds descriptions;
//! together they cost about as much as the checks themselves. Here, for the common case only
//! (a GPA in check mode with no guarded blocks, no memory limit, no log, no observer):
//!
//! * [`GeneralPurposeAllocator::c_alloc_checked_prefixed`]: a small block of the size asked
//!   for, taken as `alloc_small_checked` takes it (slot metadata, canary, allocation trace),
//!   its first bytes the caller's prefix (the C ABI's front guard), all before it goes live;
//!   [`GeneralPurposeAllocator::c_alloc_checked_as`] the same at any small alignment and with
//!   the block's tag set (the C ABI's aligned allocations and `operator new`, whose family is
//!   the tag);
//! * [`GeneralPurposeAllocator::c_checked_block`]: the live small block holding an address,
//!   found with the same checks as `block_containing_located` (page map, segment header and
//!   owner, page descriptor, slot metadata, slot state), as a [`CheckedBlock`] the C ABI
//!   checks against its own rules (its front guard, the block's family);
//! * [`GeneralPurposeAllocator::c_free_checked`]: frees that block through the same end as
//!   every checked free (`free_small_slot`: state change, redzone, free trace, poison,
//!   quarantine).
//!
//! Both entries take the frame pointer of the C ABI function that calls them (`frame`, see
//! `trace::capture_id_at`; never 0: `crate::os::frame_address()` of a function of this
//! object, which keeps frame pointers), so that the trace is remembered by where the
//! program's frames start, without the allocator's own frames. Anything else (a zero-byte or large block, a
//! pointer that is no live small block of this GPA, a configuration with guarded blocks or
//! accounting) returns "not here" and the caller takes the general path, which reports what it
//! finds: no check is skipped, only layers.
//!
//! `c_checked_block` remembers, per thread, the pages it found ([`FreeLookup`], 64 entries
//! direct-mapped by unit, in static TLS; behind it, asked only where it misses, a second level
//! of 256 entries in the thread's trace caches, [`second_page`]): frees come mostly from a
//! few pages at a time, and the page map,
//! the segment header's checks and the page descriptor's soundness (about 90 instructions
//! of a free, with the registers they spill) then need not be repeated. The remembered page
//! is used only in the generation of the pages' layout it was found in
//! (`segment::page_layout_generation`, one counter per shard of segments, the address's,
//! bumped before and again after any page of a segment of the shard is claimed or released
//! or such a segment released, and read before the lookup: a lookup that overlapped a
//! change is remembered in a generation already over), for the same GPA and the same 64 KiB
//! unit, so it is the page the full lookup finds. The page's metadata is checked to be a
//! live block of the internal heap when the page is found, not on a remembered page: a
//! page's metadata is freed (`release_page`, `release_heap_memory`) or replaced (a claim
//! clears it) only inside a change of the layout, and a page without live metadata is not
//! remembered. The slot's checks (carved, state) are made on every free.
//!
//! # Invariants
//! * A [`FreeLookup`] entry, and a second-level entry, names the page that, in its
//!   generation, the full lookup (`pagemap::lookup`, `owns_header`, `checked_page_of`, the
//!   metadata's liveness) found for an address of its unit in the GPA with its id; it holds
//!   no address of the program's memory (the unit is kept as a number: thread-local memory
//!   is a root of the leak scan; the trace caches are not one).
//! * A page's metadata pointer changes from a live block only inside a change of the pages'
//!   layout (`segment::page_layout_changes`).
//! * A [`CheckedBlock`] is a live slot of this GPA's small segment, validated as
//!   `small_block_span` validates it, found on the calling thread; it is freed at most once
//!   and only on that thread (it is neither `Send` nor `Clone`).
//! * The entries do nothing while the thread is inside the allocator (re-entrant requests go
//!   to the internal heap by the general path) or an observer is registered.

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use super::heap;
use super::safety::Prefix;
use super::segment::{self, Page, Segment, SegmentKind, SlotMeta, SLOT_LIVE, UNIT_SIZE};
use super::{internal, observer, pagemap, safety, size_class, GeneralPurposeAllocator};

/// A page found by [`GeneralPurposeAllocator::c_checked_block`]: the unit number (`address /
/// UNIT_SIZE`; 0, which holds no segment's page, when empty), the GPA's id, the generation of
/// the pages' layout it was found in, and the page (its segment is `Segment::of(page)`: the
/// descriptors lie in the segment's header).
struct FoundPage {
    unit: Cell<usize>,
    gpa: Cell<u64>,
    generation: Cell<u64>,
    page: Cell<*mut Page>,
}

/// Pages a thread's [`FreeLookup`] remembers, direct-mapped by unit (a program freeing blocks
/// of many size classes at random, as bench/c/alloc-test, frees from dozens of pages).
const FOUND_PAGES: usize = 64;
const _: () = assert!(FOUND_PAGES.is_power_of_two());

/// The calling thread's pages found by [`GeneralPurposeAllocator::c_checked_block`].
struct FreeLookup {
    pages: [FoundPage; FOUND_PAGES],
}

// SAFETY: unit 0 matches no lookup (no page lies in an address's first 64 KiB), so all-zero
// entries are empty.
unsafe impl crate::tls::ZeroInit for FreeLookup {}

crate::tls::fast_thread_local!(
    /// The calling thread's [`FreeLookup`].
    fn free_lookup() -> FreeLookup;
);

/// The calling thread's [`FreeLookup`], `(address, bytes)` (one of `gpa::own_thread_locals`:
/// the library's state, which a leak scan skips).
pub(super) fn thread_local_extent() -> (usize, usize) {
    crate::tls::extent(free_lookup())
}

/// The entry of [`FreeLookup`] for the unit `unit`: by its index in the segment and, above
/// that, the segment's address (so that the same unit of two segments lands apart).
#[inline(always)]
fn found_page(unit: usize) -> &'static FoundPage {
    &free_lookup().pages[(unit ^ unit >> 6) & (FOUND_PAGES - 1)]
}

/// Entries of a thread's second-level lookup ([`second_page`]), asked where its
/// [`FreeLookup`] (the first level, in static TLS, which cannot grow) misses.
const SECOND_PAGES: usize = 256;
/// Words of a second-level entry: the unit, the GPA's id, the generation, the page (a
/// [`FoundPage`]'s fields, in that order).
const SECOND_WORDS: usize = 4;
const _: () = assert!(SECOND_PAGES.is_power_of_two());
const _: () = assert!(SECOND_PAGES * SECOND_WORDS <= crate::trace::SIDE_WORDS);

/// The calling thread's second-level entry for the unit `unit`, indexed as [`found_page`]
/// with two more bits (so that units the first level puts in one entry mostly land apart):
/// 256 pages a thread in its trace caches' side words (`trace::side_words`: out of static
/// TLS, made only in threads that use check mode). An entry says what a [`FoundPage`] says
/// (the same invariants), and is kept the same way. `None` when the thread has no caches (the
/// system refused their mapping): then only the first level remembers.
///
/// Why: a program that frees from more pages than the first level's 64 entries hold
/// (bench/c/larson's two lineages of 5,000 blocks of 8 to 1,000 bytes, alloc-test's dozens of
/// classes) took the full lookup (about 150 instructions) on a quarter of its frees (stop 55).
#[inline(always)]
fn second_page(unit: usize) -> Option<&'static [Cell<u64>]> {
    let words = crate::trace::side_words()?;
    let index = (unit ^ unit >> 6) & (SECOND_PAGES - 1);
    Some(&words[index * SECOND_WORDS..][..SECOND_WORDS])
}

/// Fills the first-level entry `found` with `page`, found for `unit` of the GPA `gpa` in
/// `generation`.
#[inline(always)]
fn remember(found: &FoundPage, unit: usize, gpa: u64, generation: u64, page: *mut Page) {
    found.unit.set(unit);
    found.gpa.set(gpa);
    found.generation.set(generation);
    found.page.set(page);
}

/// The alignment of every C block.
const C_ALIGN: usize = 16;

/// The blocks [`GeneralPurposeAllocator::c_alloc_checked_as`] sizes by a short way: up to
/// this many bytes, at most [`C_ALIGN`]-aligned, a block's redzone is that of this size and
/// its padded size lies in the class table's direct range, where `class_for` gives what
/// `class_of` does (checked by `the_short_way_to_a_class_is_class_for`).
const SHORT_BLOCK: usize = 256;
const _: () = assert!(safety::redzone(1) == safety::redzone(SHORT_BLOCK));
const _: () = assert!(SHORT_BLOCK + safety::redzone(SHORT_BLOCK) <= 1024);

/// A live small block found by [`GeneralPurposeAllocator::c_checked_block`], to check and
/// then free with [`GeneralPurposeAllocator::c_free_checked`].
pub(crate) struct CheckedBlock {
    /// The block's start.
    pub start: usize,
    /// Its alignment.
    pub align: usize,
    /// Its tag (`GeneralPurposeAllocator::set_block_tag`).
    pub tag: u8,
    segment: *mut Segment,
    page: *mut Page,
    index: usize,
    /// Its slot's metadata (found by the lookup, handed on so that the free does not find it
    /// again: three instructions a checked `free`).
    meta: *const SlotMeta,
}

impl CheckedBlock {
    /// The block's requested size (the GPA block's: a front guard the caller added included).
    #[inline(always)]
    pub(crate) fn size(&self) -> usize {
        // SAFETY: a `CheckedBlock` is a live slot of a live page (type invariant), and `meta`
        // its metadata.
        let meta = unsafe { &*self.meta };
        meta.requested.load(Ordering::Relaxed) as usize
    }
}

impl GeneralPurposeAllocator {
    /// Whether the check-mode entries serve requests: safety on, nothing else that the general
    /// paths would have to do (guarded blocks, accounting, the log, an observer's events).
    #[inline(always)]
    fn lean_checked(&self) -> bool {
        self.lean_gate == observer::gate()
    }

    /// The tests' shorthand: [`Self::c_alloc_checked_prefixed`] without a prefix.
    #[cfg(test)]
    pub(crate) fn c_alloc_checked(&self, size: usize, frame: usize) -> *mut u8 {
        self.c_alloc_checked_prefixed(size, frame, Prefix::NONE)
    }

    /// Check mode's `malloc` of `size` bytes aligned to 16, with its allocation trace taken
    /// from `frame` and its first bytes `prefix` (the C ABI's front guard), written before the
    /// block goes live: a small block as the general path would make it, or null when the
    /// general path must serve the request (size 0, a large block, inside the allocator,
    /// another configuration, or no memory: the general path says so).
    #[inline(always)]
    pub(crate) fn c_alloc_checked_prefixed(
        &self,
        size: usize,
        frame: usize,
        prefix: Prefix,
    ) -> *mut u8 {
        self.c_alloc_checked_as(size, C_ALIGN, 0, frame, prefix)
    }

    /// [`Self::c_alloc_checked_prefixed`] of a block aligned to `align` (a power of two, 16 or more)
    /// with the tag `tag` (`set_block_tag`): the C ABI's aligned allocations and `operator
    /// new`. Null when the general path must serve the request, as there.
    #[inline(always)]
    pub(crate) fn c_alloc_checked_as(
        &self,
        size: usize,
        align: usize,
        tag: u8,
        frame: usize,
        prefix: Prefix,
    ) -> *mut u8 {
        if size == 0 || prefix.len > size || !self.lean_checked() || heap::inside_allocator() {
            return core::ptr::null_mut();
        }
        let class = if size <= SHORT_BLOCK && align <= C_ALIGN {
            // Most C blocks: the redzone a constant, the padded size in the class table's
            // range, no overflow possible (the same class as below, without its tests: about
            // ten instructions a `malloc`).
            size_class::class_of(size + safety::redzone(SHORT_BLOCK))
        } else {
            let Some(padded) = size.checked_add(safety::redzone(size)) else {
                return core::ptr::null_mut();
            };
            let Some(class) = size_class::class_for(padded, align) else {
                return core::ptr::null_mut();
            };
            class
        };
        let Ok(layout) = Layout::from_size_align(size, align) else {
            return core::ptr::null_mut();
        };
        self.alloc_small_checked_at::<true>(class, layout, frame, tag, prefix)
            .map_or(core::ptr::null_mut(), NonNull::as_ptr)
    }

    /// Check mode's `free` lookup: the live small block of this GPA whose slot holds `address`,
    /// validated as `block_containing_located` validates it; `None` when the general path must
    /// look (no such block, a freed one, another configuration).
    #[inline(always)]
    pub(crate) fn c_checked_block(&self, address: usize) -> Option<CheckedBlock> {
        if !self.lean_checked() {
            return None;
        }
        let generation = segment::page_layout_generation(address);
        let unit = address / UNIT_SIZE;
        let found = found_page(unit);
        let page_pointer = if found.unit.get() == unit
            && found.generation.get() == generation
            && found.gpa.get() == self.id.load(Ordering::Relaxed)
        {
            found.page.get()
        } else {
            self.c_checked_page(address, generation)?
        };
        let segment = Segment::of(page_pointer as usize);
        // SAFETY: a live page of this GPA's small segment holding `address`: found by
        // `c_checked_page` now, or remembered by it in this generation of the pages' layout
        // (`FreeLookup`).
        let page = unsafe { &*page_pointer };
        let (index, _) = page.slot_of(address);
        if index >= page.carved as usize {
            return None;
        }
        // SAFETY: safety mode keeps metadata for every slot; the page's metadata is live
        // (checked by `c_checked_page` when the page was found in this generation, and only
        // freed or replaced in a change of the layout) and `index` is a carved slot.
        let meta = unsafe { page.meta(index) };
        if meta.state.load(Ordering::Acquire) != SLOT_LIVE {
            return None;
        }
        Some(CheckedBlock {
            start: page.slot_address(index),
            align: 1 << meta.align_log2.load(Ordering::Relaxed),
            tag: meta.tag.load(Ordering::Relaxed),
            segment,
            page: page_pointer,
            index,
            meta,
        })
    }

    /// The Rust debug mode's free of `address` with its `claimed` layout by the pages this
    /// thread remembers ([`FreeLookup`], shared with [`Self::c_checked_block`]): when
    /// `address` is the start of a live carved slot of a page the full lookup found in this
    /// generation of the pages' layout (or finds now), and `claimed` is the block's layout,
    /// the slot is freed with every check of `free_small_on_page` (the state changed from
    /// live, the redzone, the trace, poison and quarantine) and `true` returned. Anything else
    /// (another configuration, no such page, an interior pointer, a slot not live, a layout
    /// mismatch) returns `false` having done nothing, and the caller's general path finds and
    /// reports it as before.
    ///
    /// Out of line: `free_general`, which C fast mode's slow ways reach, lies in the fast
    /// path's section (`capi/fast-path.ld`), and this Rust debug path inlined there made that
    /// section cross one more 64 KiB fault-around window (`preload_footprint`). Its frame is
    /// one more of the allocator's own, which symbolization drops as it drops the others.
    ///
    /// # Safety
    /// Safety mode's contract of `free_general`: any pointer; nothing else runs on this
    /// thread's heap meanwhile.
    #[inline(never)]
    pub(super) unsafe fn free_checked_remembered(&self, address: usize, claimed: Layout) -> bool {
        // SAFETY: forwarded contract.
        unsafe { self.free_checked_remembered_inlined(address, claimed) }
    }

    /// The Rust debug mode's free from `dealloc` (`free_impl`, when safety is on and nothing
    /// else is to do): [`Self::free_checked_remembered`], inlined here, and when it declines
    /// the general path past it (`free_unremembered`). One call that `dealloc` makes as its
    /// last step (a jump: `dealloc` saves no registers for it), where `free_general`'s frame
    /// (six registers saved and restored, a kilobyte of stack) stood before the remembered
    /// path's; the free trace is taken from this function's frame, one allocator frame fewer
    /// above the program's, which symbolization drops anyway.
    ///
    /// # Safety
    /// As for [`Self::free_checked_remembered`].
    #[inline(never)]
    pub(super) unsafe fn free_checked_rust(&self, memory: NonNull<u8>, claimed: Layout) {
        // SAFETY: forwarded contract.
        if !unsafe { self.free_checked_remembered_inlined(memory.as_ptr() as usize, claimed) } {
            // SAFETY: as above; the remembered path declined, having done nothing.
            unsafe { self.free_unremembered(memory, Some(claimed), false) }
        }
    }

    /// [`Self::free_checked_remembered`]'s body, for it and [`Self::free_checked_rust`].
    ///
    /// # Safety
    /// As for [`Self::free_checked_remembered`].
    #[inline(always)]
    unsafe fn free_checked_remembered_inlined(&self, address: usize, claimed: Layout) -> bool {
        if !self.lean_checked() {
            return false;
        }
        // The lookup of `c_checked_block`, written again: shared through an inlined helper,
        // check mode's C `free` ran 0.8% more instructions (glibc-simple 10: 2,657.8M ->
        // 2,678.7M, the compiler's code for `c_checked_block` changed).
        let generation = segment::page_layout_generation(address);
        let unit = address / UNIT_SIZE;
        let found = found_page(unit);
        let page_pointer = if found.unit.get() == unit
            && found.generation.get() == generation
            && found.gpa.get() == self.id.load(Ordering::Relaxed)
        {
            found.page.get()
        } else {
            match self.c_checked_page(address, generation) {
                Some(page) => page,
                None => return false,
            }
        };
        // SAFETY: a live page of this GPA's small segment holding `address`: found by
        // `c_checked_page` now, or remembered by it in this generation of the pages' layout
        // (`FreeLookup`), with live metadata (as in `c_checked_block`).
        let page = unsafe { &mut *page_pointer };
        let Some(index) = page.carved_slot(address) else {
            return false;
        };
        // SAFETY: safety mode keeps metadata for every slot; `index` is carved. The metadata
        // lives as long as the page (not borrowed from `page`, which the free takes apart).
        let meta = unsafe { &*(page.meta(index) as *const SlotMeta) };
        // The slot's metadata line and the line of its redzone's first byte were last touched
        // when the block was allocated (about a thousand pairs ago on the mixed workload): both
        // are asked for now, and the free trace is captured (about a hundred instructions on
        // the stack's hot lines) while they come. The compare-and-swap of the state, a locked
        // instruction, would otherwise hold the capture back until the metadata line arrived.
        prefetch(meta as *const SlotMeta as usize);
        prefetch(address + claimed.size());
        let free_trace = self.trace_here_inline(1);
        if meta.state.load(Ordering::Acquire) != SLOT_LIVE {
            return false;
        }
        // SAFETY: the descriptors lie in their segment's header: `page`'s segment is live.
        let segment = unsafe { &mut *Segment::of(page_pointer as usize) };
        // SAFETY: a slot of a mapped segment is not null.
        let memory = unsafe { NonNull::new_unchecked(address as *mut u8) };
        // A layout other than the block's goes to the general path, which reports the
        // mismatch and frees the block (it is identified exactly). When it matches, the
        // slot's requested size is the claimed one, a value in a register since the call: the
        // redzone check's loads at `address + claimed.size()` go out without waiting for the
        // metadata line (the branch is predicted; the size read from that line would make
        // them wait).
        let align = 1usize << meta.align_log2.load(Ordering::Relaxed);
        if meta.requested.load(Ordering::Relaxed) as usize != claimed.size()
            || align != claimed.align()
        {
            return false;
        }
        // SAFETY: a validated carved slot start of a live page with metadata, in safety
        // mode, whose requested size is `claimed.size()` (compared just above).
        unsafe {
            self.free_small_slot_of::<false>(
                segment,
                page,
                index,
                meta,
                memory,
                0,
                claimed.size(),
                Some(free_trace),
            )
        };
        true
    }

    /// The page of this GPA's small segments that holds `address` (an address of one of its
    /// units), as [`Self::c_checked_block`] finds it: the page this thread remembers for the
    /// address's unit in the current generation of the pages' layout ([`FreeLookup`]), else
    /// the full lookup's ([`Self::c_checked_page`], which remembers it); `None` where the full
    /// lookup finds none. The page is live with live metadata (see the module's invariants);
    /// whether `address` is one of its carved slots is the caller's to ask. For the owner's
    /// check of each link of its heap's remote list ([`Self::is_remote_slot`]): the blocks
    /// other threads freed come mostly from a few pages at a time, as frees do.
    #[inline(always)]
    pub(super) fn remembered_page(&self, address: usize) -> Option<*mut Page> {
        let generation = segment::page_layout_generation(address);
        let unit = address / UNIT_SIZE;
        let found = found_page(unit);
        if found.unit.get() == unit
            && found.generation.get() == generation
            && found.gpa.get() == self.id.load(Ordering::Relaxed)
        {
            Some(found.page.get())
        } else {
            self.c_checked_page(address, generation)
        }
    }

    /// The page of [`Self::c_checked_block`]'s full lookup (the page map, the segment header
    /// and owner, the page descriptor's soundness: `checked_page_of`), remembered in the
    /// thread's [`FreeLookup`] for `generation` (read before the lookup).
    #[inline(never)]
    fn c_checked_page(&self, address: usize, generation: u64) -> Option<*mut Page> {
        let unit = address / UNIT_SIZE;
        // The second level first: an entry for this unit, GPA and generation names the page
        // the full lookup found in this generation (its invariants are the first level's).
        let second = second_page(unit);
        let id = self.id.load(Ordering::Relaxed);
        if let Some(entry) = second {
            // (Unit 0, an empty entry's, holds no page: a wild pointer there is looked up.)
            if entry[0].get() == unit as u64
                && unit != 0
                && entry[1].get() == id
                && entry[2].get() == generation
            {
                let page = entry[3].get() as usize as *mut Page;
                remember(found_page(unit), unit, id, generation, page);
                return Some(page);
            }
        }
        let Some(pagemap::Entry::Small(segment)) = pagemap::lookup(address) else {
            return None;
        };
        // SAFETY: the page map validated the entry: a registered segment's header.
        let common = unsafe { &(*segment).common };
        if !common.is(SegmentKind::Small) || !self.owns_header(common) {
            return None;
        }
        // SAFETY: a sound small segment header of this GPA (checked above).
        let page = unsafe { (*segment).checked_page_of_inlined(address) }.ok()?;
        // The page's metadata: a live block of the internal heap (not a pointer a stray write
        // left in the descriptor). A remembered page is not checked again: its metadata is
        // freed or replaced only in a change of the layout, which ends its generation.
        // SAFETY: a sound page descriptor of a live segment (checked above).
        let meta = unsafe { (*page).meta };
        if meta.is_null() || !internal::is_live_inlined(meta as usize) {
            return None;
        }
        remember(found_page(unit), unit, common.gpa_id, generation, page);
        if let Some(entry) = second {
            entry[0].set(unit as u64);
            entry[1].set(common.gpa_id);
            entry[2].set(generation);
            entry[3].set(page as usize as u64);
        }
        Some(page)
    }

    /// Frees `block` with every check of a checked free (its state changes from live, so a
    /// second free is reported; its redzone is checked; it is poisoned and quarantined), with
    /// the free trace taken from `frame`.
    ///
    /// # Safety
    /// `block` came from [`Self::c_checked_block`] on this thread, and nothing ran since but
    /// the caller's checks: its page still holds the slot (a page with a live block is not
    /// released).
    #[inline(always)]
    pub(crate) unsafe fn c_free_checked(&self, block: CheckedBlock, frame: usize) {
        // SAFETY: caller contract: a validated live slot of a live page of this GPA's small
        // segment, and `start` its start (never null: a slot of a mapped segment).
        // `meta` is the slot's metadata (the type's invariant), which lives as long as its page.
        unsafe {
            let meta = &*block.meta;
            self.free_small_slot_of::<true>(
                &mut *block.segment,
                &mut *block.page,
                block.index,
                meta,
                NonNull::new_unchecked(block.start as *mut u8),
                frame,
                meta.requested.load(Ordering::Relaxed) as usize,
                None,
            )
        }
    }
}

/// Asks the CPU to bring the cache line holding `address` into the L1 cache: a hint, which
/// never faults, whatever the address.
#[inline(always)]
fn prefetch(address: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults and reads nothing the program sees,
    // whatever the address (mapped or not).
    unsafe {
        core::arch::x86_64::_mm_prefetch(address as *const i8, core::arch::x86_64::_MM_HINT_T0)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpa::small::tests::checked;
    use crate::gpa::Config;
    use crate::report::FindingKind;

    fn count(gpa: &GeneralPurposeAllocator, kind: FindingKind) -> usize {
        gpa.report().of_kind(kind).count()
    }

    #[test]
    fn a_block_goes_through_the_entries_from_malloc_to_free() {
        let gpa = checked();
        let block = gpa.c_alloc_checked(100, crate::os::frame_address());
        assert!(!block.is_null());
        assert_eq!(block as usize % C_ALIGN, 0);
        let address = block as usize;
        // Any byte of the slot finds the block (the C ABI asks with the byte before the user
        // pointer, in its front guard).
        for inside in [address, address + 50, address + 99] {
            let found = gpa.c_checked_block(inside).expect("a live block");
            assert_eq!((found.start, found.align, found.tag), (address, C_ALIGN, 0));
        }
        assert_eq!(
            gpa.block_layout(block).map(|layout| layout.size()),
            Some(100)
        );
        let found = gpa.c_checked_block(address).unwrap();
        // SAFETY: found just above on this thread.
        unsafe { gpa.c_free_checked(found, crate::os::frame_address()) };
        // Freed (and quarantined): no longer a live block, so the C ABI's general path looks
        // at a second free.
        assert!(gpa.c_checked_block(address).is_none());
        assert!(gpa.block_layout(block).is_none());
        assert!(gpa.report().is_clean());
    }

    #[test]
    fn a_second_free_after_the_entry_is_reported_as_a_double_free() {
        let gpa = checked();
        let block = gpa.c_alloc_checked(24, crate::os::frame_address());
        let found = gpa.c_checked_block(block as usize).unwrap();
        // SAFETY: found just above on this thread.
        unsafe { gpa.c_free_checked(found, crate::os::frame_address()) };
        // SAFETY: safety mode accepts any pointer and reports mistakes.
        unsafe { gpa.free_unsized(block) };
        assert_eq!(count(&gpa, FindingKind::DoubleFree), 1);
    }

    /// `gpa` reported the overflow of the block at `block` (`size` bytes) at its first byte
    /// past the end.
    fn assert_overflow_at_end(gpa: &GeneralPurposeAllocator, block: *mut u8, size: usize) {
        let report = gpa.report();
        let overflow = report
            .of_kind(FindingKind::Overflow)
            .find(|finding| finding.address == block as usize)
            .expect("the overflow is reported");
        assert_eq!(
            (overflow.size, overflow.offset),
            (size, Some(size as isize))
        );
    }

    #[test]
    fn an_overflow_into_the_redzone_is_reported_by_the_entry_free() {
        let gpa = checked();
        for size in [1usize, 24, 100, 1000, 3000] {
            let block = gpa.c_alloc_checked(size, crate::os::frame_address());
            // SAFETY: the byte just past the block is its redzone, inside its slot.
            unsafe { block.add(size).write(0) };
            let found = gpa.c_checked_block(block as usize).unwrap();
            // SAFETY: found just above on this thread.
            unsafe { gpa.c_free_checked(found, crate::os::frame_address()) };
            assert_overflow_at_end(&gpa, block, size);
        }
    }

    #[test]
    fn a_write_after_an_entry_free_is_reported_when_the_block_leaves_the_quarantine() {
        let gpa = checked();
        let block = gpa.c_alloc_checked(64, crate::os::frame_address());
        let found = gpa.c_checked_block(block as usize).unwrap();
        // SAFETY: found just above on this thread.
        unsafe { gpa.c_free_checked(found, crate::os::frame_address()) };
        // SAFETY: the freed block's memory stays mapped (quarantined): a write after free.
        unsafe { block.add(40).write(7) };
        gpa.flush_thread_quarantine();
        let report = gpa.report();
        let finding = report
            .of_kind(FindingKind::WriteAfterFree)
            .next()
            .expect("the write after free is reported");
        assert_eq!(finding.offset, Some(40));
    }

    #[test]
    fn an_aligned_tagged_block_goes_through_the_entries() {
        let gpa = checked();
        for (size, align, tag) in [(24usize, 16usize, 1u8), (100, 64, 2), (3000, 256, 0x81)] {
            let block =
                gpa.c_alloc_checked_as(size, align, tag, crate::os::frame_address(), Prefix::NONE);
            assert!(!block.is_null());
            assert_eq!(block as usize % align, 0);
            // As the general path would have made it (`alloc_unsized` + `set_block_tag`).
            let layout = gpa.block_layout(block).expect("a live block");
            assert_eq!((layout.size(), layout.align()), (size, align));
            let found = gpa.c_checked_block(block as usize + size - 1).unwrap();
            assert_eq!(
                (found.start, found.align, found.tag, found.size()),
                (block as usize, align, tag, size)
            );
            // SAFETY: found just above on this thread.
            unsafe { gpa.c_free_checked(found, crate::os::frame_address()) };
            assert!(gpa.c_checked_block(block as usize).is_none());
            // SAFETY: safety mode accepts any pointer and reports mistakes.
            unsafe { gpa.free_unsized(block) };
        }
        assert_eq!(count(&gpa, FindingKind::DoubleFree), 3);
        // Alignments no small block serves: the general path's.
        assert!(gpa
            .c_alloc_checked_as(64, 1 << 20, 0, crate::os::frame_address(), Prefix::NONE)
            .is_null());
    }

    #[test]
    fn a_remembered_page_answers_only_for_its_gpa_and_generation() {
        let gpa = checked();
        let block = gpa.c_alloc_checked(48, crate::os::frame_address());
        let unit = block as usize / UNIT_SIZE;
        // The first lookup remembers the page; a second free lookup of the same unit uses it
        // and finds the same block.
        let found = gpa.c_checked_block(block as usize).unwrap();
        assert_eq!(found.start, block as usize);
        let entry = found_page(unit);
        assert_eq!(entry.unit.get(), unit);
        assert_eq!(entry.page.get(), found.page);
        let generation = entry.generation.get();
        let again = gpa.c_checked_block(block as usize + 40).unwrap();
        assert_eq!((again.start, again.page), (found.start, found.page));
        // Another GPA finds nothing of this one's through the remembered page.
        let other = checked();
        assert!(other.c_checked_block(block as usize).is_none());
        // A page claimed (here: of another class, in the same segment: the heap's first
        // has room) starts a new generation of the segment's shard: the entry is stale, and
        // the next lookup looks up and remembers again.
        let elsewhere = gpa.c_alloc_checked(3000, crate::os::frame_address());
        assert_eq!(Segment::of(elsewhere as usize), Segment::of(block as usize));
        assert!(segment::page_layout_generation(block as usize) > generation);
        let renewed = gpa.c_checked_block(block as usize).unwrap();
        assert_eq!(renewed.start, block as usize);
        // (Other tests' threads may start generations too: later, never earlier.)
        assert!(found_page(unit).generation.get() > generation);
        // SAFETY: found just above on this thread.
        unsafe { gpa.c_free_checked(renewed, crate::os::frame_address()) };
        // Freed: the remembered page no longer yields the block (the slot is checked on every
        // lookup), and a second free is reported by the general path.
        assert!(gpa.c_checked_block(block as usize).is_none());
        // SAFETY: safety mode accepts any pointer and reports mistakes.
        unsafe {
            gpa.free_unsized(block);
            gpa.free_unsized(elsewhere);
        }
        assert_eq!(count(&gpa, FindingKind::DoubleFree), 1);
    }

    #[test]
    fn a_page_without_live_metadata_is_neither_served_nor_remembered() {
        let gpa = checked();
        let block = gpa.c_alloc_checked(48, crate::os::frame_address());
        let unit = block as usize / UNIT_SIZE;
        let found = gpa.c_checked_block(block as usize).unwrap();
        let page = found.page;
        // The descriptor's metadata pointer changed by a stray write (here: into the
        // metadata block, not its start): the full lookup neither serves the block nor
        // remembers the page (the entries of both levels are emptied first, so the lookup is a
        // full one).
        found_page(unit).unit.set(0);
        second_page(unit).expect("the thread's trace caches")[0].set(0);
        // SAFETY: the page is this GPA's, used by this thread only.
        let meta = unsafe { (*page).meta };
        // SAFETY: as above; restored below, before the page is used again.
        unsafe { (*page).meta = meta.wrapping_add(1) };
        assert!(gpa.c_checked_block(block as usize).is_none());
        assert_ne!(found_page(unit).unit.get(), unit);
        // SAFETY: as above.
        unsafe { (*page).meta = meta };
        // Sound again: served, and remembered.
        let again = gpa.c_checked_block(block as usize).unwrap();
        assert_eq!(again.start, block as usize);
        assert_eq!(found_page(unit).unit.get(), unit);
        // SAFETY: found just above on this thread.
        unsafe { gpa.c_free_checked(again, crate::os::frame_address()) };
        assert!(gpa.report().is_clean());
    }

    #[test]
    fn the_second_level_answers_for_its_unit_gpa_and_generation_only() {
        let gpa = checked();
        let block = gpa.c_alloc_checked(48, crate::os::frame_address());
        let unit = block as usize / UNIT_SIZE;
        // Another page of the same GPA, to plant in stale entries.
        let other_block = gpa.c_alloc_checked(3000, crate::os::frame_address());
        let other_page = gpa.c_checked_block(other_block as usize).unwrap().page;
        // The full lookup remembers the page in both levels.
        found_page(unit).unit.set(0);
        second_page(unit).expect("the thread's trace caches")[0].set(0);
        let generation = segment::page_layout_generation(block as usize);
        let found = gpa.c_checked_block(block as usize).unwrap();
        let second = second_page(unit).unwrap();
        let id = gpa.id.load(Ordering::Relaxed);
        // Sound: this unit, GPA and page, remembered in this generation or a later one (other
        // tests' threads may start generations of the shard too: later, never earlier).
        let is_sound = |e: &[Cell<u64>]| {
            (e[0].get(), e[1].get(), e[3].get()) == (unit as u64, id, found.page as usize as u64)
                && e[2].get() >= generation
        };
        assert!(is_sound(second));
        assert_ne!(found.page, other_page);
        // The first level forgot the unit (another unit took its entry): the second answers
        // with the same page, and the first remembers it again.
        found_page(unit).unit.set(0);
        let again = gpa.c_checked_block(block as usize).unwrap();
        assert_eq!((again.start, again.page), (found.start, found.page));
        assert_eq!(found_page(unit).unit.get(), unit);
        assert_eq!(found_page(unit).page.get(), found.page);
        // A second-level entry of another generation, another GPA or another unit is not
        // used: the full lookup finds the page and both levels remember it anew.
        let stale = [
            [
                unit as u64,
                id,
                generation.wrapping_sub(1),
                other_page as usize as u64,
            ],
            [unit as u64, id + 1, generation, other_page as usize as u64],
            [unit as u64 + 64, id, generation, other_page as usize as u64],
        ];
        for planted in stale {
            found_page(unit).unit.set(0);
            for (word, value) in second.iter().zip(planted) {
                word.set(value);
            }
            let looked_up = gpa.c_checked_block(block as usize).unwrap();
            assert_eq!(looked_up.page, found.page, "{planted:x?} was used");
            assert!(is_sound(second), "{planted:x?} was kept");
            assert_eq!(found_page(unit).page.get(), found.page);
        }
        // SAFETY: found just above on this thread.
        unsafe {
            let last = gpa.c_checked_block(block as usize).unwrap();
            gpa.c_free_checked(last, crate::os::frame_address());
            let other = gpa.c_checked_block(other_block as usize).unwrap();
            gpa.c_free_checked(other, crate::os::frame_address());
        }
        assert!(gpa.report().is_clean());
    }

    #[test]
    fn the_short_way_to_a_class_is_class_for() {
        for align in [1usize, 2, 4, 8, 16] {
            for size in 1..=SHORT_BLOCK {
                let padded = size + safety::redzone(size);
                assert_eq!(
                    Some(size_class::class_of(size + safety::redzone(SHORT_BLOCK))),
                    size_class::class_for(padded, align),
                    "size {size}, align {align}"
                );
            }
        }
    }

    #[test]
    fn what_the_entries_do_not_serve_is_left_to_the_general_paths() {
        let gpa = checked();
        // A block of no bytes, a large block, a pointer into nothing of the GPA's.
        assert!(gpa.c_alloc_checked(0, crate::os::frame_address()).is_null());
        assert!(gpa
            .c_alloc_checked(1 << 20, crate::os::frame_address())
            .is_null());
        let local = 0u64;
        assert!(gpa.c_checked_block(&local as *const u64 as usize).is_none());
        // Past the carved slots of a page, or the block of another GPA.
        let block = gpa.c_alloc_checked(32, crate::os::frame_address());
        let other = checked();
        assert!(other.c_checked_block(block as usize).is_none());
        // Configurations whose general paths do more: no checks, accounting, guarded blocks.
        for config in [
            Config::fast(),
            Config {
                enable_memory_limit: true,
                ..Config::debug()
            },
            Config {
                guard_sample: 10,
                ..Config::debug()
            },
        ] {
            let gpa = GeneralPurposeAllocator::with_config(config);
            assert!(gpa
                .c_alloc_checked(32, crate::os::frame_address())
                .is_null());
            let block = gpa.alloc_unsized(32, 16);
            assert!(gpa.c_checked_block(block as usize).is_none());
            // SAFETY: a live block of `gpa`.
            unsafe { gpa.free_unsized(block) };
        }
        assert!(gpa.report().is_clean());
    }

    /// The Rust debug free by a remembered page (`free_checked_remembered`) finds what the
    /// general path finds: after a free that remembered the page, a double free, a free of an
    /// interior pointer, a layout mismatch (the block is freed all the same) and an overflow
    /// of blocks on that page are each reported once, with the block's size, offset and
    /// traces; a write after free is reported when a flush takes the block out of the
    /// quarantine (without it, when an allocation takes its slot again). Valgrind
    /// memcheck on the same mistakes in C (`malloc(40)` blocks): "Invalid free() ... 0 bytes
    /// inside a block of size 40 free'd", "8 bytes inside a block of size 40 alloc'd",
    /// "Invalid write of size 1 ... 0 bytes after a block of size 40", "16 bytes inside a
    /// block of size 40 free'd".
    #[test]
    fn the_rust_free_by_a_remembered_page_reports_what_the_general_path_reports() {
        use core::alloc::GlobalAlloc;
        let gpa = checked();
        let layout = Layout::from_size_align(40, 8).unwrap();
        // SAFETY: safety mode accepts any pointer and reports mistakes; every block below is
        // of `gpa`, and the program's mistakes are the test's.
        unsafe {
            let blocks: [*mut u8; 5] = core::array::from_fn(|_| gpa.alloc(layout));
            gpa.dealloc(blocks[0], layout);
            let unit = blocks[0] as usize / UNIT_SIZE;
            assert_eq!(found_page(unit).unit.get(), unit, "the page is remembered");
            assert!(gpa.report().is_clean());
            let finding = |kind| {
                let report = gpa.report();
                let found: Vec<_> = report.of_kind(kind).cloned().collect();
                assert_eq!(found.len(), 1, "{kind:?}: {report:?}");
                found.into_iter().next().unwrap()
            };
            let labels = |finding: &crate::report::Finding| {
                finding
                    .stacks
                    .iter()
                    .map(|stack| stack.name)
                    .collect::<Vec<_>>()
            };

            gpa.dealloc(blocks[0], layout);
            let double = finding(FindingKind::DoubleFree);
            assert_eq!((double.address, double.size), (blocks[0] as usize, 40));
            assert_eq!(labels(&double), ["alloc", "free", "second_free"]);

            gpa.dealloc(blocks[1].add(8), layout);
            let interior = finding(FindingKind::InvalidFree);
            assert_eq!((interior.size, interior.offset), (40, Some(8)));

            gpa.dealloc(blocks[2], Layout::from_size_align(48, 8).unwrap());
            let mismatch = finding(FindingKind::LayoutMismatch);
            assert_eq!((mismatch.address, mismatch.size), (blocks[2] as usize, 40));
            gpa.dealloc(blocks[2], layout);
            assert_eq!(gpa.report().of_kind(FindingKind::DoubleFree).count(), 2);

            blocks[3].add(40).write(0);
            gpa.dealloc(blocks[3], layout);
            let overflow = finding(FindingKind::Overflow);
            assert_eq!(
                (overflow.address, overflow.size, overflow.offset),
                (blocks[3] as usize, 40, Some(40))
            );

            gpa.dealloc(blocks[4], layout);
            blocks[4].add(16).write(1);
            gpa.flush_thread_quarantine();
            let written = finding(FindingKind::WriteAfterFree);
            assert_eq!(
                (written.address, written.offset),
                (blocks[4] as usize, Some(16))
            );
            gpa.dealloc(blocks[1], layout);
        }
    }
}
