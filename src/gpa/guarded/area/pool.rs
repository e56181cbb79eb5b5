//! The slot pool of sampled guard mode (`Config::guard_sample`): a fixed set of one-page slots,
//! each followed by a guard page, kept resident between uses so that a sampled block costs one
//! `mprotect` when it is freed and (amortized) a fraction of one when it is allocated, with no
//! page fault after a slot's first use (GWP-ASan's design, with slots opened in chunks).
//!
//! # Design
//! On the first sampled request the pool is carved from the area's block space:
//!
//! ```text
//!  end placement (default)
//!  lead guard  slot 0          slot 1          ...  slot SLOTS-1
//!  ┌───────┬──────┬───────┬──────┬───────┬─────┬──────┬───────┐
//!  │ guard │ data │ guard │ data │ guard │ ... │ data │ guard │
//!  └───────┴──────┴───────┴──────┴───────┴─────┴──────┴───────┘
//!          └── chunk 0: SLOTS_PER_CHUNK slots ───┘ chunk 1 ...
//!  start placement (`Config::guard_underflow`)
//!  slot 0          slot 1          ...  slot SLOTS-1     trailing guard
//!  ┌───────┬──────┬───────┬──────┬─────┬───────┬──────┬───────┐
//!  │ guard │ data │ guard │ data │ ... │ guard │ data │ guard │
//!  └───────┴──────┴───────┴──────┴─────┴───────┴──────┴───────┘
//! ```
//! Guard pages are guard markers (`MADV_GUARD_INSTALL`, installed once with the area's step and
//! never removed), which survive `mprotect`. Each slot (data page and guard page) is made a
//! mapping of its own by giving neighbouring slots different mapping flags
//! ([`os::set_mapping_kind`]), so protecting one slot or a whole chunk changes mappings without
//! splitting or merging any (the costly part of an `mprotect` inside a larger mapping).
//!
//! Slots are handed out in address order from the **open chunk** (made accessible by one
//! `mprotect` for all its slots). Freeing a block makes its slot inaccessible at once (one
//! `mprotect` of the slot: a use after free faults) and leaves it there, quarantined, until its
//! whole chunk is reopened. When the open chunk is used up, the next chunk in round-robin
//! order whose slots are all freed is reopened, so a freed slot is reused only after every
//! other chunk that could be was used (the oldest first). When no chunk is free, the request is
//! served unsampled, as GWP-ASan does. The block lies against its slot's guard page (its end,
//! or its start with `Config::guard_underflow`: the guard page then comes first in the slot,
//! so that a fault on it is attributed to the block it guards); the [`FILL_REACH`] bytes on each side of it hold the canary, checked when
//! the block is freed.
//!
//! Requests larger than a page, with an alignment above a page, or of zero bytes take the
//! area's extents instead (as full guard mode does), and so does everything when guard markers
//! are not available (the `mprotect` backend), because batch opening needs guard pages that
//! survive `mprotect`.
//!
//! # Invariants
//! * The pool's records are consecutive: slot `s` is record `pool_first + s`; each has
//!   `pages == 2` and owns its data page and its guard page in the owner map; the extra guard
//!   page (lead or trailing) is the carved record's, never handed out.
//! * All slots have the placement the pool was made with (a GPA's `guard_underflow` is fixed).
//! * `outstanding[c]` counts the slots of chunk `c` handed out and not yet freed; a chunk is
//!   reopened only when it is 0 and all its slots were handed out (or it was never opened),
//!   so every slot of a reopened chunk is inaccessible before the `mprotect`.
//! * Slots of the open chunk at or after `next` are accessible and hold no block.

use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use super::{fill, Area, Birth, State, NONE, SLOT_FREE, SLOT_FREED, SLOT_QUARANTINED};
use crate::os;

/// Slots opened together by one `mprotect` (even: neighbouring chunks' edge slots then differ
/// in mapping kind).
const SLOTS_PER_CHUNK: usize = 16;
/// Chunks in the pool.
const CHUNKS: usize = 16;
/// Slots in the pool: at most this many sampled blocks are live at once.
pub const SLOTS: usize = SLOTS_PER_CHUNK * CHUNKS;
/// Bytes on each side of a slot's block that hold the canary (checked when it is freed and
/// at exit); beyond them, up to the guard page, the page keeps old contents unchecked. Filling
/// and checking the whole page would cost more than the rest of a sampled allocation.
pub const FILL_REACH: usize = 256;
/// Pages of a slot: its data page and its guard page.
const SLOT_PAGES: usize = 2;

/// The pool's bookkeeping (under the area's lock).
pub(in super::super) struct PoolState {
    /// Block-area page of slot 0's first page; `usize::MAX` before setup.
    first_page: usize,
    /// The slots' guard page comes first (start placement).
    start_against_guard: bool,
    /// Setup failed (records or space ran out, or the OS refused): no pool.
    failed: bool,
    /// Chunks made into separate mappings so far (set up in order).
    ready: usize,
    /// The open chunk (before the first, the last one, used up: the search starts at 0).
    open: usize,
    /// The open chunk's next slot to hand out.
    next: usize,
    /// Per chunk, slots handed out and not yet freed.
    outstanding: [u16; CHUNKS],
}

impl PoolState {
    pub(in super::super) const fn new() -> Self {
        PoolState {
            first_page: usize::MAX,
            start_against_guard: false,
            failed: false,
            ready: 0,
            open: CHUNKS - 1,
            next: SLOTS_PER_CHUNK,
            outstanding: [0; CHUNKS],
        }
    }
}

/// Whether a request can take a slot (a data page holds it, and it is placed against a
/// guard).
fn fits(layout: Layout, start_against_guard: bool) -> bool {
    let page = os::page_size();
    let span = if start_against_guard {
        layout.size()
    } else {
        layout.size().next_multiple_of(layout.align())
    };
    layout.size() != 0 && layout.align() <= page && span <= page
}

impl Area {
    /// A guarded block for a sampled request: a pool slot when it fits one, an extent
    /// otherwise; `None` when no slot (or extent) is free: the caller serves it unguarded.
    pub fn alloc_sampled(&self, layout: Layout, birth: &Birth) -> Option<NonNull<u8>> {
        let start_against_guard = birth.start_against_guard;
        if !self.markers || !fits(layout, start_against_guard) {
            return self.alloc(layout, birth);
        }
        let slot = match self.take_slot(start_against_guard) {
            Ok(slot) => slot?,
            Err(()) => return self.alloc(layout, birth),
        };
        self.live.fetch_add(1, Ordering::AcqRel);
        let page = os::page_size();
        let index = self.pool_first.load(Ordering::Acquire) + slot as u32;
        let record = self.record(index);
        let first_page = record.first_page.load(Ordering::Relaxed) as usize;
        let data_page = self.page_address(first_page + usize::from(start_against_guard));
        let data = if start_against_guard {
            data_page
        } else {
            data_page + page - layout.size().next_multiple_of(layout.align())
        };
        // SAFETY: the slot's data page is accessible (its chunk is open) and ours alone
        // (handed out once under the lock): fill up to FILL_REACH bytes on each side of the
        // data with the canary. The rest keeps what the slot's last block left, but for the
        // caller's prefix (at most the block's size), written before the block goes live.
        unsafe {
            let before = data.saturating_sub(FILL_REACH).max(data_page);
            fill(before, data - before);
            let end = data + layout.size();
            fill(end, (data_page + page).min(end + FILL_REACH) - end);
            debug_assert!(birth.prefix.len <= layout.size());
            birth.prefix.fill(data);
        }
        record.make_live(data, layout, birth);
        NonNull::new(data as *mut u8)
    }

    /// The pool slot that record `index` is, if it is one.
    #[inline]
    pub(super) fn pool_slot(&self, index: u32) -> Option<usize> {
        let first = self.pool_first.load(Ordering::Acquire);
        let slot = index.wrapping_sub(first) as usize;
        (first != NONE && slot < SLOTS).then_some(slot)
    }

    /// Closes the slot of a block being freed (its state already moved out of live by the
    /// caller): one `mprotect`, then the slot waits in its chunk for the chunk's reuse.
    pub(super) fn release_slot(&self, slot: usize) {
        let record = self.record(self.pool_first.load(Ordering::Acquire) + slot as u32);
        let start = self.page_address(record.first_page.load(Ordering::Relaxed) as usize);
        // SAFETY: the slot (its own mapping) belongs to the block being freed, which nobody
        // may use any more. Should the OS refuse, the slot merely stays accessible.
        unsafe {
            os::protect(
                NonNull::new_unchecked(start as *mut u8),
                SLOT_PAGES * os::page_size(),
                false,
            );
        }
        self.live.fetch_sub(1, Ordering::AcqRel);
        self.state.lock().pool.outstanding[slot / SLOTS_PER_CHUNK] -= 1;
    }

    /// A free slot of an open chunk (opening the next free chunk when needed), or `None`;
    /// `Err` when the pool was made with the other placement (never, for one GPA).
    fn take_slot(&self, start_against_guard: bool) -> Result<Option<usize>, ()> {
        let mut state = self.state.lock();
        if state.pool.first_page == usize::MAX && !self.set_up_pool(&mut state, start_against_guard)
        {
            return Ok(None);
        }
        if state.pool.start_against_guard != start_against_guard {
            return Err(());
        }
        if state.pool.next == SLOTS_PER_CHUNK && !self.open_next_chunk(&mut state) {
            return Ok(None);
        }
        let pool = &mut state.pool;
        let slot = pool.open * SLOTS_PER_CHUNK + pool.next;
        pool.next += 1;
        pool.outstanding[pool.open] += 1;
        Ok(Some(slot))
    }

    /// Carves the pool and makes its records; `false` (for good) when that fails.
    fn set_up_pool(&self, state: &mut State, start_against_guard: bool) -> bool {
        if state.pool.failed {
            return false;
        }
        state.pool.failed = true;
        let Some(lead) = self.carve(state, 1 + SLOTS * SLOT_PAGES) else {
            return false;
        };
        // The carved record keeps the extra guard page (first, or last with start placement);
        // each slot gets a record of its own.
        let extra = self.record(lead);
        let region = extra.first_page.load(Ordering::Relaxed) as usize;
        let slots_start = region + usize::from(!start_against_guard);
        if start_against_guard {
            extra
                .first_page
                .store((region + SLOTS * SLOT_PAGES) as u32, Ordering::Relaxed);
        }
        extra.pages.store(1, Ordering::Relaxed);
        let mut first = NONE;
        for slot in 0..SLOTS {
            let Some(index) = self.new_record(state) else {
                // Too few records: the pool is not used, and its pages stay inaccessible
                // (the owner map names the carved record or slot records never handed out).
                return false;
            };
            if slot == 0 {
                first = index;
            }
            let page = slots_start + slot * SLOT_PAGES;
            let record = self.record(index);
            record.first_page.store(page as u32, Ordering::Relaxed);
            record.pages.store(SLOT_PAGES as u32, Ordering::Relaxed);
            record.data_pages.store(1, Ordering::Relaxed);
            record.state.store(SLOT_FREE, Ordering::Relaxed);
            for page in page..page + SLOT_PAGES {
                self.owner(page).store(index, Ordering::Release);
            }
        }
        state.pool.first_page = slots_start;
        state.pool.start_against_guard = start_against_guard;
        state.pool.failed = false;
        self.pool_first.store(first, Ordering::Release);
        true
    }

    /// Opens the next chunk (round-robin from the open one) whose slots are all free;
    /// `false` when none is.
    fn open_next_chunk(&self, state: &mut State) -> bool {
        let page = os::page_size();
        let from = state.pool.open;
        for step in 1..=CHUNKS {
            let chunk = (from + step) % CHUNKS;
            if state.pool.outstanding[chunk] != 0 {
                continue;
            }
            let first_slot = chunk * SLOTS_PER_CHUNK;
            let start = self.page_address(state.pool.first_page + first_slot * SLOT_PAGES);
            // Claimed while it opens: a fault's step with a page of it open would close that
            // page under a new block (`os::signal::claim`). Such a chunk is not reopened now;
            // a chunk never used is set up in order, so none is opened then.
            let len = SLOTS_PER_CHUNK * SLOT_PAGES * page;
            let tid = crate::gpa::heap::current_thread_id();
            let Some(claim) = os::signal::claim(start, len, tid) else {
                if chunk >= state.pool.ready {
                    return false;
                }
                continue;
            };
            let opened = if chunk >= state.pool.ready {
                // Never used (chunks are set up in order, so this is the next one).
                debug_assert_eq!(chunk, state.pool.ready);
                self.set_up_chunk(start, state.pool.start_against_guard)
            } else {
                // SAFETY: the chunk's slots are ours and all closed (none outstanding); the
                // guard markers in their guard pages survive the change (`protect_keeping`: no
                // fresh mapping where the OS refuses `mprotect`, which would drop them).
                unsafe {
                    os::protect_keeping(
                        NonNull::new_unchecked(start as *mut u8),
                        SLOTS_PER_CHUNK * SLOT_PAGES * page,
                        true,
                    )
                }
            };
            drop(claim);
            if !opened {
                return false;
            }
            if chunk >= state.pool.ready {
                state.pool.ready = chunk + 1;
            }
            let first = self.pool_first.load(Ordering::Relaxed);
            for slot in first_slot..first_slot + SLOTS_PER_CHUNK {
                let record = self.record(first + slot as u32);
                // Its last block's traces stay; it is no longer quarantined.
                let _ = record.state.compare_exchange(
                    SLOT_QUARANTINED,
                    SLOT_FREED,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
            state.pool.open = chunk;
            state.pool.next = 0;
            return true;
        }
        false
    }

    /// Makes a never-used chunk's slots usable: each data page loses its guard marker, and
    /// each slot becomes a mapping of its own (alternating mapping kinds).
    fn set_up_chunk(&self, start: usize, start_against_guard: bool) -> bool {
        let page = os::page_size();
        for slot in 0..SLOTS_PER_CHUNK {
            let slot_start = start + slot * SLOT_PAGES * page;
            // SAFETY: the slot's pages are part of the carved pool, accessible guard markers
            // (the area's committed step) that no block uses.
            unsafe {
                let data = slot_start + usize::from(start_against_guard) * page;
                if !os::guard_remove(NonNull::new_unchecked(data as *mut u8), page) {
                    return false;
                }
                let slot_pages = NonNull::new_unchecked(slot_start as *mut u8);
                os::set_mapping_kind(slot_pages, SLOT_PAGES * page, slot % 2 == 0);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_that_fit_a_slot() {
        let page = os::page_size();
        let layout = |size, align| Layout::from_size_align(size, align).unwrap();
        assert!(fits(layout(1, 1), false));
        assert!(fits(layout(page, 16), false));
        assert!(fits(layout(page, 16), true));
        assert!(!fits(layout(page + 1, 1), false));
        assert!(!fits(layout(0, 16), false));
        assert!(!fits(layout(16, 2 * page), false));
        assert!(fits(layout(page - 8, 16), false));
        assert!(!fits(layout(page + 1, 1), true));
    }
}
