//! A guarded area: the reservation, its extents and records, and the placement of blocks in
//! them (see the parent module for the design and the invariants).

use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};

use super::super::lock::Lock;
use super::super::safety::Prefix;
use super::super::segment::{
    SegmentCommon, SegmentKind, SEGMENT_SIZE, SLOT_FREE, SLOT_FREED, SLOT_LIVE, SLOT_QUARANTINED,
};
use super::super::{pagemap, safety};
use crate::os;
use crate::report::{Access, BlockClaim, FindingKind, RawFinding};
use crate::trace::TraceId;

mod pool;

/// Bytes of address space for blocks in one area, without an address-space limit.
pub const AREA_LEN: usize = 64 << 30;
/// Under an address-space limit (`RLIMIT_AS`) guard mode's block area is at most this share
/// of it (`os::reservation_len`; docs/c_abi.md, "Address-space limits"), its metadata shrunk
/// with it.
pub const AREA_SHARE: usize = 16;
/// The share of a GPA that does not guard every block (check mode's blocks of no bytes,
/// sampled mode's slots and blocks).
pub const AREA_SHARE_UNGUARDED: usize = 128;
/// The smallest block area worth reserving under a limit (the slot pool alone takes 2 MiB;
/// the metadata and the gap add 8 MiB more).
pub const AREA_MIN: usize = 2 * SEGMENT_SIZE;
/// Inaccessible bytes between the area's metadata and its first extent.
const GAP: usize = SEGMENT_SIZE;
/// The most extents (and so records) one area holds.
const MAX_RECORDS: usize = 1 << 22;
/// Extents of up to this many pages are reused by exact size; larger ones first-fit.
pub const EXACT_LISTS: usize = 64;
/// With guard pages inside the mapping, the carved part of the area is made accessible (and
/// turned into guard pages) this many bytes at a time.
const COMMIT_STEP: usize = 2 << 20;
/// Free extents a first-fit search looks at before carving fresh space instead.
const FIRST_FIT_TRIES: usize = 64;
/// Pages a fault outside every extent is searched around for the nearest live block.
const NEAREST_SEARCH_PAGES: usize = 1 << 16;
/// No record (record 0 is never used).
const NONE: u32 = 0;

/// What an extent's placement is.
const END_AGAINST_GUARD: u8 = 0;
const START_AGAINST_GUARD: u8 = 1;

/// One extent and the block it holds (or last held).
#[repr(C)]
pub struct Record {
    /// `SLOT_FREE`, `SLOT_LIVE`, `SLOT_QUARANTINED` or `SLOT_FREED` (see the invariants).
    pub state: AtomicU8,
    placement: AtomicU8,
    align_log2: AtomicU8,
    /// The caller's tag (`GeneralPurposeAllocator::set_block_tag`), 0 at allocation.
    tag: AtomicU8,
    first_page: AtomicU32,
    pages: AtomicU32,
    data_pages: AtomicU32,
    next: AtomicU32,
    alloc_trace: AtomicU32,
    free_trace: AtomicU32,
    /// 1 while the block is quarantined with its contents kept (its data pages `PROT_NONE`,
    /// not discarded: see "Contents kept after free" in the parent module); else 0.
    kept: AtomicU8,
    /// 0 from the block's allocation until a finding names it, then 1 (see [`BlockClaim`]).
    mark: AtomicU8,
    data: AtomicUsize,
    requested: AtomicUsize,
}

const _: () = assert!(core::mem::size_of::<Record>() == 48);

impl Record {
    /// The claim a finding on this extent's block makes (see [`BlockClaim`]).
    fn claim(&self) -> BlockClaim {
        BlockClaim::on(&self.mark, self as *const Self as usize)
    }

    /// Records a new block at `data` (its data pages already set and accessible, the caller's
    /// prefix written) with the caller's `birth.tag`, and publishes it as live: the state is
    /// stored last (Release), so that any reader that sees the block live (the exit scan,
    /// which stops threads wherever they are, a fault, a lookup) sees its tag, its prefix
    /// and its canary bytes too.
    fn make_live(&self, data: usize, layout: Layout, birth: &Birth) {
        let start_against_guard = birth.start_against_guard;
        let trace = birth.trace;
        let placement = if start_against_guard {
            START_AGAINST_GUARD
        } else {
            END_AGAINST_GUARD
        };
        self.placement.store(placement, Ordering::Relaxed);
        self.align_log2
            .store(layout.align().trailing_zeros() as u8, Ordering::Relaxed);
        self.data.store(data, Ordering::Relaxed);
        self.requested.store(layout.size(), Ordering::Relaxed);
        self.alloc_trace.store(trace.0, Ordering::Relaxed);
        self.free_trace.store(0, Ordering::Relaxed);
        self.tag.store(birth.tag, Ordering::Relaxed);
        self.kept.store(0, Ordering::Relaxed);
        self.mark.store(0, Ordering::Relaxed);
        self.state.store(SLOT_LIVE, Ordering::Release);
    }
}

/// The mutable bookkeeping of an area (under its lock).
pub(super) struct State {
    /// The next page never carved (page 0 never is).
    bump: usize,
    /// Pages made accessible and turned into guard pages (guard-page backend).
    committed: usize,
    /// The next record never used.
    next_record: u32,
    /// Free extents of `i + 1` pages.
    exact: [u32; EXACT_LISTS],
    /// Free extents of more pages.
    big: u32,
    /// The quarantine: oldest, newest, bytes held.
    quarantine_head: u32,
    quarantine_tail: u32,
    quarantine_bytes: usize,
    /// The oldest quarantined record whose contents are kept (every kept record is at or
    /// after it in the quarantine), the data-page bytes and the number of records kept.
    kept_head: u32,
    kept_bytes: usize,
    kept_count: usize,
    /// The slot pool of sampled mode.
    pool: pool::PoolState,
}

/// The size from which [`Area::alloc`] asks whether the program's address-space limit
/// (`RLIMIT_AS`) allows a block: 1 MiB (glibc maps blocks from 128 KiB on by themselves; the
/// requests a capped program expects to fail are far larger).
const LIMITED_FROM: usize = 1 << 20;

/// The header at the start of an area (in its metadata part).
#[repr(C)]
pub struct Area {
    /// Kind (`Guarded`) and owner, as in every page-map target.
    pub common: SegmentCommon,
    /// Bytes reserved in all (metadata, gap, block area).
    pub total_len: usize,
    /// The first byte of the block area.
    pub block_start: usize,
    /// Pages in the block area.
    block_pages: usize,
    /// Records the metadata part holds ([`MAX_RECORDS`], fewer in a smaller area).
    max_records: usize,
    owner: *const AtomicU32,
    records: *const Record,
    /// Guard pages inside the mapping (`MADV_GUARD_INSTALL`) rather than `mprotect`.
    pub markers: bool,
    /// Live guarded blocks allowed at once (the mapping limit; unbounded with markers).
    pub budget: usize,
    /// Live guarded blocks with data pages (blocks of no bytes open no page and cost no
    /// mapping, so they are not counted against the budget).
    pub live: AtomicUsize,
    /// Bytes of freed extents the quarantine may hold.
    quarantine_limit: usize,
    /// Bytes of data pages of the most recently freed blocks whose contents are kept
    /// (`Config::guard_keep_bytes`), and the most such blocks (the mapping limit).
    keep_limit: usize,
    keep_most: usize,
    /// Stack frames the owner's reports keep.
    pub frames: usize,
    /// The record of the pool's first slot, or 0 before the pool is set up (see `pool`).
    pool_first: AtomicU32,
    pub(super) state: Lock<State>,
}

/// What a new guarded block starts with, all set before it goes live ([`Record::make_live`]).
#[derive(Clone, Copy, Debug)]
pub struct Birth {
    /// The block starts against its guard page (`Config::guard_underflow`) rather than
    /// ending there.
    pub start_against_guard: bool,
    /// The allocation trace.
    pub trace: TraceId,
    /// The caller's tag (`GeneralPurposeAllocator::set_block_tag`).
    pub tag: u8,
    /// The caller's first bytes of the block (the C ABI's front guard), at most its size.
    pub prefix: Prefix,
}

/// How a request is laid out in an extent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shape {
    /// Accessible pages.
    data_pages: usize,
    /// Pages of the extent (data, guard, alignment room).
    pages: usize,
}

fn shape(size: usize, align: usize, start_against_guard: bool) -> Option<Shape> {
    let page = os::page_size();
    let span = if start_against_guard {
        size
    } else {
        size.checked_next_multiple_of(align)?
    };
    let data_pages = span.div_ceil(page);
    let room = align.max(page) / page - 1;
    let guards = if start_against_guard && data_pages == 0 {
        2
    } else {
        1
    };
    Some(Shape {
        data_pages,
        pages: data_pages.checked_add(guards + room)?,
    })
}

impl Area {
    /// A new area whose block area is `area_len` bytes (a multiple of [`SEGMENT_SIZE`]), with
    /// metadata for its pages (at most one record a page); `None` when the OS refuses.
    pub(super) fn create(
        gpa_id: u64,
        canary: u64,
        quarantine_limit: usize,
        keep_limit: usize,
        frames: usize,
        area_len: usize,
    ) -> Option<*mut Area> {
        let page = os::page_size();
        let block_pages = area_len / page;
        let max_records = MAX_RECORDS.min(block_pages);
        let header = core::mem::size_of::<Area>().next_multiple_of(64);
        let owner_bytes = block_pages * core::mem::size_of::<AtomicU32>();
        let records_bytes = max_records * core::mem::size_of::<Record>();
        let meta_len = (header + owner_bytes + records_bytes).next_multiple_of(SEGMENT_SIZE);
        let total_len = meta_len + GAP + area_len;
        let base = os::reserve_aligned(total_len, SEGMENT_SIZE)?;
        // SAFETY: the metadata part of the reservation just made.
        if !unsafe { os::protect(base, meta_len, true) } {
            // SAFETY: unused reservation.
            unsafe { os::unmap(base, total_len) };
            return None;
        }
        let base_address = base.as_ptr() as usize;
        let block_start = base_address + meta_len + GAP;
        let markers = !forced_mprotect() && Self::markers_work(block_start);
        let budget = if markers {
            usize::MAX
        } else {
            let limit = os::max_map_count();
            limit.saturating_sub(limit / 4 + 2048) / 2
        };
        // A kept block's data pages are `PROT_NONE` in the middle of the area's one mapping
        // (guard markers): two more mappings each. With `mprotect`, a freed block is
        // `PROT_NONE` kept or not.
        let keep_most = if markers {
            os::max_map_count() / 8
        } else {
            usize::MAX
        };
        let area = base.as_ptr().cast::<Area>();
        // SAFETY: the header page is fresh, writable and ours.
        unsafe {
            area.write(Area {
                common: SegmentCommon::new(SegmentKind::Guarded, gpa_id, canary, base_address),
                total_len,
                block_start,
                block_pages,
                max_records,
                owner: (base_address + header) as *const AtomicU32,
                records: (base_address + header + owner_bytes) as *const Record,
                markers,
                budget,
                live: AtomicUsize::new(0),
                quarantine_limit,
                keep_limit,
                keep_most,
                frames,
                pool_first: AtomicU32::new(NONE),
                state: Lock::new(State {
                    // Page 0 is never carved: its address is `block_start`, which the GPA
                    // also keeps in an ordinary static (`Guarded::start`), where a leak scan
                    // would take it for a pointer to a block of no bytes placed there.
                    bump: 1,
                    committed: if markers { COMMIT_STEP / page } else { 0 },
                    next_record: 1,
                    exact: [NONE; EXACT_LISTS],
                    big: NONE,
                    quarantine_head: NONE,
                    quarantine_tail: NONE,
                    quarantine_bytes: 0,
                    kept_head: NONE,
                    kept_bytes: 0,
                    kept_count: 0,
                    pool: pool::PoolState::new(),
                }),
            });
        }
        if !super::register_area(base_address) {
            // SAFETY: never published.
            unsafe { os::unmap(base, total_len) };
            return None;
        }
        if !pagemap::register_guarded(base_address, total_len, area) {
            super::unregister_area(base_address);
            pagemap::unregister(base_address, total_len);
            // SAFETY: never published (the page map no longer names it).
            unsafe { os::unmap(base, total_len) };
            return None;
        }
        super::super::fault::install_default_hook();
        Some(area)
    }

    /// Tries the guard-page backend on the area's first step (left committed when it works).
    fn markers_work(block_start: usize) -> bool {
        // SAFETY: the first step of the block area is part of our fresh reservation.
        unsafe {
            let first = NonNull::new_unchecked(block_start as *mut u8);
            if !os::protect(first, COMMIT_STEP, true) {
                return false;
            }
            if os::guard_install(first, COMMIT_STEP) {
                return true;
            }
            os::protect(first, COMMIT_STEP, false);
        }
        false
    }

    #[inline]
    fn owner(&self, page: usize) -> &AtomicU32 {
        debug_assert!(page < self.block_pages);
        // SAFETY: the owner map has one entry per block-area page, inside the metadata part.
        unsafe { &*self.owner.add(page) }
    }

    #[inline]
    fn record(&self, index: u32) -> &Record {
        debug_assert!(index != NONE && (index as usize) < self.max_records);
        // SAFETY: records below `max_records` lie inside the metadata part (all-zero until
        // first used, which is a valid empty record).
        unsafe { &*self.records.add(index as usize) }
    }

    fn page_address(&self, page: usize) -> usize {
        self.block_start + page * os::page_size()
    }

    /// The block-area page holding `address`, if it is in the block area.
    fn page_of(&self, address: usize) -> Option<usize> {
        let offset = address.checked_sub(self.block_start)?;
        let page = offset / os::page_size();
        (page < self.block_pages).then_some(page)
    }

    /// The record of the extent holding `address`.
    fn record_at(&self, address: usize) -> Option<(u32, &Record)> {
        let page = self.page_of(address)?;
        let index = self.owner(page).load(Ordering::Acquire);
        (index != NONE).then(|| (index, self.record(index)))
    }

    /// A guarded block for `layout`; `None` when the area is full, the mapping budget is used
    /// up, or the OS refuses (the caller then serves the request unguarded).
    pub fn alloc(&self, layout: Layout, birth: &Birth) -> Option<NonNull<u8>> {
        let start_against_guard = birth.start_against_guard;
        let shape = shape(layout.size(), layout.align(), start_against_guard)?;
        // The area's address space was reserved before the program may have capped its own
        // (`RLIMIT_AS`): a block the kernel would refuse a mapping for now is refused here
        // too, and the caller serves the request as check mode does, which gets the kernel's
        // verdict (a program that caps its address space and expects a large `realloc` to
        // fail sees it fail, as natively and under Valgrind). Asked only for blocks of
        // `LIMITED_FROM` bytes or more: the question costs a system call (two more and a
        // file read under a limit), which every small guarded block paid (one `prlimit64` a
        // `malloc`: `node -e 0` under `--guard` 3.4 s → 4.5 s, 8.2 s under `ulimit -v`);
        // a small block comes from the reservation, as natively from an arena already mapped.
        // Likewise the kernel's overcommit policy, which does not account the reservation
        // (`MAP_NORESERVE`): a block it would refuse glibc's mapping for (1 TiB, or more than
        // RAM and swap, under the default heuristic) is refused here, and check mode's path
        // then gets the kernel's `ENOMEM` (`os::commit_allows`: two more system calls).
        let bytes = shape.pages * os::page_size();
        if shape.data_pages != 0
            && bytes >= LIMITED_FROM
            && !(os::address_space_allows(bytes)
                && os::commit_allows(shape.data_pages * os::page_size()))
        {
            return None;
        }
        // A block of no bytes opens no page, so it costs no mapping: only blocks with data
        // pages count against the budget.
        let counted = usize::from(shape.data_pages != 0);
        if self.live.fetch_add(counted, Ordering::AcqRel) >= self.budget && counted != 0 {
            self.live.fetch_sub(counted, Ordering::AcqRel);
            return None;
        }
        // Claimed until its data pages are open (see `take_extent`).
        let Some((index, claim)) = self.take_extent(shape.pages) else {
            self.live.fetch_sub(counted, Ordering::AcqRel);
            return None;
        };
        let record = self.record(index);
        let first = self.page_address(record.first_page.load(Ordering::Relaxed) as usize);
        let pages = record.pages.load(Ordering::Relaxed) as usize;
        let page = os::page_size();
        // Pages of the extent a fault left open (`os::signal::resume_after`) are put back
        // first: the ones that become guard pages now get no other call that would.
        os::signal::close_left_open(first, pages * page);
        let (data, access_start) = if start_against_guard {
            let data = (first + page).next_multiple_of(layout.align());
            (data, data)
        } else {
            let end = first + pages * page;
            let guard = if layout.align() > page {
                (end - page) & !(layout.align() - 1)
            } else {
                end - page
            };
            let span = layout.size().next_multiple_of(layout.align());
            (guard - span, guard - shape.data_pages * page)
        };
        let access_len = shape.data_pages * page;
        if access_len != 0 {
            // SAFETY: the data pages lie inside this extent, which is ours (taken above).
            let opened = unsafe {
                let pages = NonNull::new_unchecked(access_start as *mut u8);
                if self.markers {
                    os::guard_remove(pages, access_len)
                } else {
                    os::protect(pages, access_len, true)
                }
            };
            if !opened {
                let mut state = self.state.lock();
                self.push_free(&mut state, index);
                drop(state);
                self.live.fetch_sub(counted, Ordering::AcqRel);
                return None;
            }
            // SAFETY: the data pages are accessible now and exclusively ours: fill the bytes
            // around the data with the canary.
            // The prefix, at most the block's size, lies in its data.
            unsafe {
                fill(access_start, data - access_start);
                let end = data + layout.size();
                fill(end, access_start + access_len - end);
                debug_assert!(birth.prefix.len <= layout.size());
                birth.prefix.fill(data);
            }
        }
        drop(claim);
        record
            .data_pages
            .store(shape.data_pages as u32, Ordering::Relaxed);
        record.make_live(data, layout, birth);
        NonNull::new(data as *mut u8)
    }

    /// An extent of exactly `pages` pages: reused, split from a bigger free one, or carved;
    /// claimed (`os::signal::claim`) until the caller has opened its data pages. An extent a
    /// fault's step has a page of open is not taken now: the step's close would undo the
    /// opening (a guard marker reinstalled, a page made inaccessible or discarded under the
    /// new block). The next one is taken instead, or a fresh one carved; `None` when even
    /// that is open (a wild access stepped there), and the caller serves the request
    /// unguarded.
    fn take_extent(&self, pages: usize) -> Option<(u32, os::signal::Claim)> {
        let mut state = self.state.lock();
        if pages <= EXACT_LISTS {
            let mut link: *mut u32 = &mut state.exact[pages - 1];
            let mut tries = 0;
            // SAFETY: `link` points into `state` or at a record's `next` (as a plain u32
            // through its atomic, only written under the lock we hold).
            unsafe {
                while *link != NONE && tries < FIRST_FIT_TRIES {
                    let index = *link;
                    let record = self.record(index);
                    if let Some(claim) = self.claim_extent(index, pages) {
                        *link = record.next.load(Ordering::Relaxed);
                        return Some((index, claim));
                    }
                    link = record.next.as_ptr();
                    tries += 1;
                }
            }
        }
        if let Some(found) = self.first_fit(&mut state, pages) {
            return Some(found);
        }
        let index = self.carve(&mut state, pages)?;
        match self.claim_extent(index, pages) {
            Some(claim) => Some((index, claim)),
            None => {
                self.push_free(&mut state, index);
                None
            }
        }
    }

    /// Claims the first `pages` pages of record `index`'s extent (`os::signal::claim`).
    fn claim_extent(&self, index: u32, pages: usize) -> Option<os::signal::Claim> {
        let first = self.record(index).first_page.load(Ordering::Relaxed) as usize;
        os::signal::claim(
            self.page_address(first),
            pages * os::page_size(),
            crate::gpa::heap::current_thread_id(),
        )
    }

    fn first_fit(&self, state: &mut State, pages: usize) -> Option<(u32, os::signal::Claim)> {
        let mut link: *mut u32 = &mut state.big;
        let mut tries = 0;
        // SAFETY: `link` points into `state` or at a record's `next` (as a plain u32 through
        // its atomic, only written under the lock we hold).
        unsafe {
            while *link != NONE && tries < FIRST_FIT_TRIES {
                let index = *link;
                let record = self.record(index);
                let have = record.pages.load(Ordering::Relaxed) as usize;
                if let Some(claim) = (have >= pages)
                    .then(|| self.claim_extent(index, pages))
                    .flatten()
                {
                    *link = record.next.load(Ordering::Relaxed);
                    if have > pages {
                        self.split(state, index, pages);
                    }
                    return Some((index, claim));
                }
                link = record.next.as_ptr();
                tries += 1;
            }
        }
        None
    }

    /// Cuts a free extent down to `pages`; the rest becomes a free extent of its own (or
    /// stays part of this one when no record is left).
    fn split(&self, state: &mut State, index: u32, pages: usize) {
        let Some(rest) = self.new_record(state) else {
            return;
        };
        let record = self.record(index);
        let first = record.first_page.load(Ordering::Relaxed) as usize;
        let have = record.pages.load(Ordering::Relaxed) as usize;
        record.pages.store(pages as u32, Ordering::Relaxed);
        let remainder = self.record(rest);
        remainder
            .first_page
            .store((first + pages) as u32, Ordering::Relaxed);
        remainder
            .pages
            .store((have - pages) as u32, Ordering::Relaxed);
        remainder.state.store(SLOT_FREE, Ordering::Relaxed);
        for page in first + pages..first + have {
            self.owner(page).store(rest, Ordering::Release);
        }
        self.push_free(state, rest);
    }

    fn new_record(&self, state: &mut State) -> Option<u32> {
        if state.next_record as usize >= self.max_records {
            return None;
        }
        let index = state.next_record;
        state.next_record += 1;
        Some(index)
    }

    fn carve(&self, state: &mut State, pages: usize) -> Option<u32> {
        let first = state.bump;
        let end = first.checked_add(pages)?;
        if end > self.block_pages {
            return None;
        }
        if self.markers && end > state.committed {
            let step = COMMIT_STEP / os::page_size();
            let target = end.next_multiple_of(step).min(self.block_pages);
            let start = self.page_address(state.committed);
            let len = (target - state.committed) * os::page_size();
            // SAFETY: pages of our reservation beyond every extent: nothing uses them.
            let ready = unsafe {
                let range = NonNull::new_unchecked(start as *mut u8);
                os::protect(range, len, true) && os::guard_install(range, len)
            };
            if !ready {
                return None;
            }
            state.committed = target;
        }
        let index = self.new_record(state)?;
        state.bump = end;
        let record = self.record(index);
        record.first_page.store(first as u32, Ordering::Relaxed);
        record.pages.store(pages as u32, Ordering::Relaxed);
        for page in first..end {
            self.owner(page).store(index, Ordering::Release);
        }
        Some(index)
    }

    fn push_free(&self, state: &mut State, index: u32) {
        let record = self.record(index);
        let pages = record.pages.load(Ordering::Relaxed) as usize;
        let head = if pages <= EXACT_LISTS {
            &mut state.exact[pages - 1]
        } else {
            &mut state.big
        };
        record.next.store(*head, Ordering::Relaxed);
        *head = index;
    }

    /// Frees the guarded block at `address`. Mistakes (double, invalid frees, layout
    /// mismatches, damaged canary bytes) go to `report` as findings; `trace` is the free's.
    pub fn free(
        &self,
        address: usize,
        claimed: Option<Layout>,
        trace: TraceId,
        report: &mut dyn FnMut(RawFinding),
    ) {
        let Some((index, record)) = self.record_at(address) else {
            let mut finding = RawFinding::new(FindingKind::InvalidFree, address);
            set_claim(&mut finding, claimed);
            finding.site_trace = trace;
            return report(finding);
        };
        let data = record.data.load(Ordering::Relaxed);
        let state = record.state.load(Ordering::Acquire);
        if address != data || state == SLOT_FREE {
            let mut finding = RawFinding::new(FindingKind::InvalidFree, address);
            if state != SLOT_FREE {
                // A pointer inside a live block, or inside a freed one whose traces are kept
                // (quarantined, or on a free list since): the block is named, with its
                // traces, as Valgrind names it ("1 bytes inside a block of size 32 free'd")
                // and as check mode does; the report groups repeats by those traces. A freed
                // block was left unnamed: each free of `p + 1` after `free (p)` was a finding
                // of its own, with neither size nor stacks.
                let block = block_finding(FindingKind::InvalidFree, record);
                finding.size = block.size;
                finding.align = block.align;
                finding.alloc_trace = block.alloc_trace;
                if state != SLOT_LIVE {
                    finding.free_trace = block.free_trace;
                }
                finding.block_claim = record.claim();
            }
            set_claim(&mut finding, claimed);
            finding.site_trace = trace;
            return report(finding);
        }
        if state == SLOT_LIVE {
            if let Some(layout) = claimed {
                let (size, align) = block_layout(record);
                if layout.size() != size || layout.align() != align {
                    let mut finding = block_finding(FindingKind::LayoutMismatch, record);
                    set_claim(&mut finding, claimed);
                    finding.site_trace = trace;
                    report(finding);
                }
            }
        }
        if record
            .state
            .compare_exchange(
                SLOT_LIVE,
                SLOT_QUARANTINED,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            let mut finding = block_finding(FindingKind::DoubleFree, record);
            finding.block_claim = record.claim();
            finding.site_trace = trace;
            return report(finding);
        }
        self.check_fill(index, record, trace, report);
        record.free_trace.store(trace.0, Ordering::Relaxed);
        if let Some(slot) = self.pool_slot(index) {
            // A slot is made `PROT_NONE` without a discard: its contents stay until its chunk
            // is reused (a bounded pool, so no window of its own).
            record.kept.store(1, Ordering::Release);
            return self.release_slot(slot);
        }
        let page = os::page_size();
        let data_pages = record.data_pages.load(Ordering::Relaxed) as usize;
        let data_bytes = data_pages * page;
        if data_pages != 0 {
            let start = data & !(page - 1);
            // Flagged before the pages close, so that a fault on them (another thread's use
            // after free) already finds them kept and its step does not discard them.
            let keep = data_bytes <= self.keep_limit && self.keep_most != 0;
            record.kept.store(u8::from(keep), Ordering::Release);
            // SAFETY: the block's data pages, which nobody may use after its free.
            unsafe {
                let pages = NonNull::new_unchecked(start as *mut u8);
                if keep && os::protect(pages, data_bytes, false) {
                    // Kept: `PROT_NONE`, contents in place (see "Contents kept after free").
                } else {
                    record.kept.store(0, Ordering::Release);
                    if self.markers {
                        os::guard_install(pages, data_bytes);
                    } else {
                        os::protect(pages, data_bytes, false);
                        os::discard(pages, data_bytes);
                    }
                }
            }
        }
        self.live
            .fetch_sub(usize::from(data_pages != 0), Ordering::AcqRel);
        let mut state = self.state.lock();
        let bytes = record.pages.load(Ordering::Relaxed) as usize * page;
        record.next.store(NONE, Ordering::Relaxed);
        if state.quarantine_tail == NONE {
            state.quarantine_head = index;
        } else {
            self.record(state.quarantine_tail)
                .next
                .store(index, Ordering::Relaxed);
        }
        state.quarantine_tail = index;
        state.quarantine_bytes += bytes;
        if record.kept.load(Ordering::Relaxed) != 0 {
            if state.kept_head == NONE {
                state.kept_head = index;
            }
            state.kept_bytes += data_bytes;
            state.kept_count += 1;
            // The window may stay over its budget until a later free while a fault's step
            // has a page of the oldest kept block open (see `forget`).
            while (state.kept_bytes > self.keep_limit || state.kept_count > self.keep_most)
                && state.kept_head != NONE
            {
                let oldest = state.kept_head;
                if !self.forget(&mut state, oldest) {
                    break;
                }
            }
        }
        while state.quarantine_bytes > self.quarantine_limit && state.quarantine_head != NONE {
            let oldest = state.quarantine_head;
            let leaving = self.record(oldest);
            // A kept block is forgotten before it leaves; while it cannot be (a step has a
            // page of it open), the quarantine stays over its budget until a later free.
            if state.kept_head == oldest && !self.forget(&mut state, oldest) {
                break;
            }
            state.quarantine_head = leaving.next.load(Ordering::Relaxed);
            if state.quarantine_head == NONE {
                state.quarantine_tail = NONE;
            }
            state.quarantine_bytes -= leaving.pages.load(Ordering::Relaxed) as usize * page;
            leaving.state.store(SLOT_FREED, Ordering::Release);
            self.push_free(&mut state, oldest);
        }
    }

    /// Drops the kept contents of quarantined record `index`, the oldest kept
    /// (`kept_head`), and moves `kept_head` on to the next kept record: its data pages are
    /// closed as a freed block's are without the window (a guard marker, or `PROT_NONE` and
    /// discarded), so that they read zeros and cost no memory. Under the area's lock, before
    /// the record can leave the quarantine and be reused.
    ///
    /// `false`, with nothing changed, while a fault's step has one of its pages open
    /// (`os::signal::claim` fails): the step's close would make the page `PROT_NONE` again
    /// after the marker went in (inaccessible when reused). The block then stays kept; its
    /// pages are claimed while they change, so no step opens one meanwhile.
    fn forget(&self, state: &mut State, index: u32) -> bool {
        let record = self.record(index);
        let page = os::page_size();
        let data_bytes = record.data_pages.load(Ordering::Relaxed) as usize * page;
        let start = record.data.load(Ordering::Relaxed) & !(page - 1);
        let claim = if record.kept.load(Ordering::Relaxed) != 0 {
            let tid = crate::gpa::heap::current_thread_id();
            let Some(claim) = os::signal::claim(start, data_bytes, tid) else {
                return false;
            };
            if self.markers {
                // A step of this thread (the program's signal handler, run between the
                // marker's install and the protection's change below) closes the page
                // with a marker too: it removed the one in place to find how to open it.
                claim.marks();
            }
            Some(claim)
        } else {
            None
        };
        let mut next = record.next.load(Ordering::Relaxed);
        while next != NONE && self.record(next).kept.load(Ordering::Relaxed) == 0 {
            next = self.record(next).next.load(Ordering::Relaxed);
        }
        state.kept_head = next;
        if record.kept.swap(0, Ordering::AcqRel) == 0 {
            return true;
        }
        state.kept_bytes -= data_bytes;
        state.kept_count -= 1;
        // SAFETY: the data pages of a quarantined block, which nobody may use; they are
        // `PROT_NONE` (kept), and become what a freed block's pages are without the window.
        unsafe {
            let pages = NonNull::new_unchecked(start as *mut u8);
            if self.markers {
                // The marker first, while the pages are still inaccessible (installing one
                // zaps the page), then the protection back to the mapping's, which merges
                // the split mapping again.
                let installed = os::guard_install(pages, data_bytes);
                os::protect(pages, data_bytes, true);
                if !installed {
                    os::guard_install(pages, data_bytes);
                }
            } else {
                os::discard(pages, data_bytes);
            }
        }
        drop(claim);
        true
    }

    /// Whether `address` lies on the data pages of a quarantined block whose contents are
    /// kept: a stepped access there must not discard them. Lock-free (the fault path).
    pub fn keeps(&self, address: usize) -> bool {
        self.record_at(address).is_some_and(|(_, record)| {
            record.state.load(Ordering::Acquire) == SLOT_QUARANTINED
                && record.kept.load(Ordering::Acquire) != 0
        })
    }

    /// Checks the canary bytes around a live block's data (on its data pages); reports an
    /// underflow for a change before the data and an overflow for one after it.
    /// A pool slot's canary covers at most [`pool::FILL_REACH`] bytes on each side.
    fn check_fill(
        &self,
        index: u32,
        record: &Record,
        trace: TraceId,
        report: &mut dyn FnMut(RawFinding),
    ) {
        let page = os::page_size();
        let data = record.data.load(Ordering::Relaxed);
        let size = record.requested.load(Ordering::Relaxed);
        let data_pages = record.data_pages.load(Ordering::Relaxed) as usize;
        if data_pages == 0 {
            return;
        }
        let mut start = data & !(page - 1);
        let mut end = start + data_pages * page;
        if self.pool_slot(index).is_some() {
            start = start.max(data.saturating_sub(pool::FILL_REACH));
            end = end.min(data + size + pool::FILL_REACH);
        }
        // SAFETY: the data pages are accessible while the block is live (or being freed by
        // the caller, who owns it now).
        unsafe {
            if let Some(changed) = first_changed(start, data - start) {
                let mut finding = block_finding(FindingKind::Underflow, record);
                finding.offset = Some(changed as isize - data as isize);
                finding.site_trace = trace;
                report(finding);
            }
            if let Some(changed) = first_changed(data + size, end - data - size) {
                let mut finding = block_finding(FindingKind::Overflow, record);
                finding.offset = Some((changed - data) as isize);
                finding.site_trace = trace;
                report(finding);
            }
        }
    }

    /// The live block whose data contains `address`: its start, layout and allocation trace.
    pub fn live_block_containing(&self, address: usize) -> Option<(usize, Layout, TraceId)> {
        let (_, record) = self.record_at(address)?;
        if record.state.load(Ordering::Acquire) != SLOT_LIVE {
            return None;
        }
        let data = record.data.load(Ordering::Relaxed);
        let (size, align) = block_layout(record);
        if address < data || address >= data + size.max(1) {
            return None;
        }
        let trace = TraceId(record.alloc_trace.load(Ordering::Relaxed));
        Some((data, Layout::from_size_align(size, align).ok()?, trace))
    }

    /// The layout, tag and allocation trace cells of the live block starting at `address`.
    pub fn live_cells(&self, address: usize) -> Option<(Layout, &AtomicU8, &AtomicU32)> {
        let (_, record) = self.record_at(address)?;
        if record.state.load(Ordering::Acquire) != SLOT_LIVE
            || record.data.load(Ordering::Relaxed) != address
        {
            return None;
        }
        let (size, align) = block_layout(record);
        let layout = Layout::from_size_align(size, align).ok()?;
        Some((layout, &record.tag, &record.alloc_trace))
    }

    /// The block (live, or freed and not yet reused) whose extent holds `address`.
    pub fn span_at(&self, address: usize) -> Option<super::super::BlockSpan> {
        let (_, record) = self.record_at(address)?;
        let state = record.state.load(Ordering::Acquire);
        if state == SLOT_FREE {
            return None;
        }
        let (size, align) = block_layout(record);
        let live = state == SLOT_LIVE;
        Some(super::super::BlockSpan {
            start: record.data.load(Ordering::Relaxed),
            size,
            align,
            live,
            alloc_trace: TraceId(record.alloc_trace.load(Ordering::Relaxed)),
            free_trace: if live {
                TraceId::NONE
            } else {
                TraceId(record.free_trace.load(Ordering::Relaxed))
            },
            tag: Some(record.tag.load(Ordering::Relaxed)),
        })
    }

    /// The layout of the live block starting at `address`.
    pub fn layout_of(&self, address: usize) -> Option<Layout> {
        let (_, record) = self.record_at(address)?;
        if record.state.load(Ordering::Acquire) != SLOT_LIVE
            || record.data.load(Ordering::Relaxed) != address
        {
            return None;
        }
        let (size, align) = block_layout(record);
        Layout::from_size_align(size, align).ok()
    }

    /// Checks a live block being resized: the finding when `address` is not a live block or
    /// `layout` is not its layout; `None` otherwise (guarded blocks never change size in
    /// place: the caller moves them).
    pub fn check_resize(
        &self,
        address: usize,
        layout: Layout,
        trace: TraceId,
    ) -> Option<RawFinding> {
        let Some((_, record)) = self.record_at(address) else {
            let mut finding = RawFinding::new(FindingKind::InvalidFree, address);
            finding.site_trace = trace;
            return Some(finding);
        };
        let state = record.state.load(Ordering::Acquire);
        let data = record.data.load(Ordering::Relaxed);
        let kind = if data != address || state == SLOT_FREE {
            FindingKind::InvalidFree
        } else if state != SLOT_LIVE {
            FindingKind::DoubleFree
        } else if block_layout(record) != (layout.size(), layout.align()) {
            FindingKind::LayoutMismatch
        } else {
            return None;
        };
        let mut finding = block_finding(kind, record);
        if kind == FindingKind::InvalidFree {
            // A pointer inside a block (live, or freed with its traces kept) names the block,
            // as `free` does; one in an extent that never held a block names none.
            finding.address = address;
            if state == SLOT_FREE {
                finding = RawFinding::new(kind, address);
            } else if state == SLOT_LIVE {
                finding.free_trace = TraceId::NONE;
            }
        }
        if state != SLOT_FREE {
            finding.block_claim = record.claim();
        }
        set_claim(&mut finding, Some(layout));
        finding.site_trace = trace;
        Some(finding)
    }

    /// Calls `visit(address, size, alloc trace)` for each live block, and `report` for each
    /// whose canary bytes changed (checked at exit and at `deinit`) where
    /// `readable(start, length)` says its data pages may be read: the program may have made
    /// them inaccessible with `mprotect` (memcheck's leak-segv-jmp.c does), and the check
    /// must not fault on them.
    pub fn for_each_live(
        &self,
        readable: &dyn Fn(usize, usize) -> bool,
        visit: &mut dyn FnMut(usize, usize, TraceId),
        report: &mut dyn FnMut(RawFinding),
    ) {
        let used = self.state.lock().next_record;
        for index in 1..used {
            let record = self.record(index);
            if record.state.load(Ordering::Acquire) != SLOT_LIVE {
                continue;
            }
            let data_pages = record.data_pages.load(Ordering::Relaxed) as usize;
            let first_page = record.data.load(Ordering::Relaxed) & !(os::page_size() - 1);
            if readable(first_page, data_pages * os::page_size()) {
                self.check_fill(index, record, TraceId::NONE, report);
            }
            visit(
                record.data.load(Ordering::Relaxed),
                record.requested.load(Ordering::Relaxed),
                TraceId(record.alloc_trace.load(Ordering::Relaxed)),
            );
        }
    }

    /// The bytes the program asked for in the area's live blocks (for `mallinfo`): a
    /// snapshot, as other threads allocate and free meanwhile. Reads only the records, never
    /// a block's pages.
    pub fn live_bytes(&self) -> usize {
        let used = self.state.lock().next_record;
        (1..used)
            .map(|index| self.record(index))
            .filter(|record| record.state.load(Ordering::Acquire) == SLOT_LIVE)
            .map(|record| record.requested.load(Ordering::Relaxed))
            .sum()
    }

    /// The finding for a fault at `address` in this area, without a lock: an access to a live
    /// block's guard (or to unused space nearest to a live block) is an overflow or an
    /// underflow, an access to a freed block a read or write after free. `None` for
    /// addresses outside the area, and inside a live block's data (no memory fault there).
    pub fn attribute(
        &self,
        address: usize,
        access: Option<Access>,
        access_size: usize,
    ) -> Option<RawFinding> {
        let end = self.common_base() + self.total_len;
        if address < self.common_base() || address >= end {
            return None;
        }
        let (record, near) = match self.record_at(address) {
            Some((_, record)) if record.state.load(Ordering::Acquire) != SLOT_FREE => {
                (record, false)
            }
            _ => (self.nearest_live(address)?, true),
        };
        let data = record.data.load(Ordering::Relaxed);
        let size = record.requested.load(Ordering::Relaxed);
        let state = record.state.load(Ordering::Acquire);
        // Any access to a block of no bytes is past its end, freed or not (Valgrind: "0 bytes
        // after a block of size 0 free'd"); the finding carries the free trace all the same.
        let kind = if state != SLOT_LIVE && !near && size != 0 {
            match access {
                Some(Access::Write) => FindingKind::WriteAfterFree,
                _ => FindingKind::ReadAfterFree,
            }
        } else if address >= data + size.max(1) || (size == 0 && address >= data) {
            FindingKind::Overflow
        } else if address < data {
            FindingKind::Underflow
        } else {
            return None;
        };
        let mut finding = block_finding(kind, record);
        finding.access = access;
        finding.access_size = access_size;
        finding.offset = Some(address as isize - data as isize);
        Some(finding)
    }

    fn common_base(&self) -> usize {
        self as *const Area as usize
    }

    /// The live block nearest to `address` (searching a bounded number of pages each way).
    fn nearest_live(&self, address: usize) -> Option<&Record> {
        let page = os::page_size();
        let here = if address < self.block_start {
            None
        } else {
            Some(((address - self.block_start) / page).min(self.block_pages - 1))
        };
        let mut best: Option<(usize, &Record)> = None;
        fn consider<'a>(
            best: &mut Option<(usize, &'a Record)>,
            record: &'a Record,
            address: usize,
        ) {
            if record.state.load(Ordering::Acquire) != SLOT_LIVE {
                return;
            }
            let data = record.data.load(Ordering::Relaxed);
            let end = data + record.requested.load(Ordering::Relaxed);
            let distance = if address < data {
                data - address
            } else {
                address.saturating_sub(end)
            };
            if best.is_none_or(|(closest, _)| distance < closest) {
                *best = Some((distance, record));
            }
        }
        // Backwards from the page before `here`.
        if let Some(here) = here {
            let mut cursor = here as isize - 1;
            let mut visited = 0;
            while cursor >= 0 && visited < NEAREST_SEARCH_PAGES {
                let index = self.owner(cursor as usize).load(Ordering::Acquire);
                visited += 1;
                if index == NONE {
                    cursor -= 1;
                    continue;
                }
                let record = self.record(index);
                consider(&mut best, record, address);
                if record.state.load(Ordering::Acquire) == SLOT_LIVE {
                    break;
                }
                cursor = record.first_page.load(Ordering::Relaxed) as isize - 1;
            }
        }
        // Forwards from `here` (or from the first page, for the gap before the area).
        let mut cursor = here.map_or(0, |here| here + 1);
        let mut visited = 0;
        while cursor < self.block_pages && visited < NEAREST_SEARCH_PAGES {
            let index = self.owner(cursor).load(Ordering::Acquire);
            visited += 1;
            if index == NONE {
                cursor += 1;
                continue;
            }
            let record = self.record(index);
            consider(&mut best, record, address);
            if record.state.load(Ordering::Acquire) == SLOT_LIVE {
                break;
            }
            cursor = record.first_page.load(Ordering::Relaxed) as usize
                + (record.pages.load(Ordering::Relaxed) as usize).max(1);
        }
        best.map(|(_, record)| record)
    }
}

fn block_layout(record: &Record) -> (usize, usize) {
    (
        record.requested.load(Ordering::Relaxed),
        1usize << record.align_log2.load(Ordering::Relaxed),
    )
}

fn block_finding(kind: FindingKind, record: &Record) -> RawFinding {
    let (size, align) = block_layout(record);
    let mut finding = RawFinding::new(kind, record.data.load(Ordering::Relaxed));
    finding.size = size;
    finding.align = align;
    finding.alloc_trace = TraceId(record.alloc_trace.load(Ordering::Relaxed));
    finding.free_trace = TraceId(record.free_trace.load(Ordering::Relaxed));
    finding
}

fn set_claim(finding: &mut RawFinding, claimed: Option<Layout>) {
    if let Some(layout) = claimed {
        finding.claimed_size = layout.size();
        finding.claimed_align = layout.align();
    }
}

/// Fills `len` bytes at `start` with the canary byte.
///
/// # Safety
/// The range is writable memory of a block being set up.
unsafe fn fill(start: usize, len: usize) {
    // SAFETY: caller contract.
    unsafe { core::ptr::write_bytes(start as *mut u8, safety::CANARY, len) };
}

/// The address of the first byte of `[start, start + len)` that is not the canary byte.
///
/// # Safety
/// The range is readable.
unsafe fn first_changed(start: usize, len: usize) -> Option<usize> {
    let word = u64::from_ne_bytes([safety::CANARY; 8]);
    let mut offset = 0;
    // Eight bytes at a time while they are intact (the common case), then byte by byte.
    while offset + 8 <= len {
        // SAFETY: in bounds (caller contract); unaligned reads are allowed by read_unaligned.
        if unsafe { ((start + offset) as *const u64).read_unaligned() } != word {
            break;
        }
        offset += 8;
    }
    // SAFETY: caller contract.
    let bytes = unsafe { core::slice::from_raw_parts((start + offset) as *const u8, len - offset) };
    bytes
        .iter()
        .position(|&byte| byte != safety::CANARY)
        .map(|index| start + offset + index)
}

/// `GPA_GUARD_PAGES=mprotect` selects the `mprotect` backend even where guard pages inside a
/// mapping are supported (to test it, or to compare).
fn forced_mprotect() -> bool {
    let _inside = super::super::heap::InsideAllocator::enter();
    std::env::var_os("GPA_GUARD_PAGES").is_some_and(|value| value == "mprotect")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An area of the smallest size, with `quarantine_limit` and `keep_limit`.
    fn small_area(quarantine_limit: usize, keep_limit: usize) -> &'static Area {
        let area = Area::create(
            1,
            0x9232_a6ff_85df_f10f,
            quarantine_limit,
            keep_limit,
            4,
            AREA_MIN,
        )
        .expect("an area");
        // SAFETY: just created; unmapped by `drop_area`.
        unsafe { &*area }
    }

    fn drop_area(area: &'static Area) {
        // SAFETY: the area's own mapping, no block of it used any more.
        unsafe {
            os::unmap(
                NonNull::new_unchecked(area as *const Area as *mut u8),
                area.total_len,
            )
        };
    }

    fn birth() -> Birth {
        Birth {
            start_against_guard: false,
            trace: TraceId(0),
            tag: 0,
            prefix: Prefix::NONE,
        }
    }

    /// A one-page block holding `byte` everywhere.
    fn block(area: &Area, byte: u8) -> usize {
        let layout = Layout::from_size_align(64, 16).unwrap();
        let data = area.alloc(layout, &birth()).expect("a block").as_ptr();
        // SAFETY: a live block of 64 bytes.
        unsafe { core::ptr::write_bytes(data, byte, 64) };
        data as usize
    }

    fn free(area: &Area, data: usize) {
        area.free(data, None, TraceId(0), &mut |finding| {
            panic!("unexpected finding {:?}", finding.kind)
        });
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_kept_block_with_a_page_open_for_a_step_is_not_forgotten_until_it_closes() {
        let page = os::page_size();
        // A window of two blocks (a page each).
        let area = small_area(1 << 30, 2 * page);
        let blocks: Vec<usize> = (1..=4).map(|byte| block(area, byte)).collect();
        free(area, blocks[0]);
        assert!(area.keeps(blocks[0]));
        let step = os::signal::begin_test_step(blocks[0] & !(page - 1), page);
        free(area, blocks[1]);
        free(area, blocks[2]);
        // Three kept, over the window: the oldest has a page open, so it stays kept.
        assert!(area.keeps(blocks[0]), "forgotten under an open step");
        assert!(area.keeps(blocks[1]) && area.keeps(blocks[2]));
        os::signal::end_test_step(step);
        free(area, blocks[3]);
        // The next free forgets the two oldest: the window holds two blocks again.
        assert!(!area.keeps(blocks[0]) && !area.keeps(blocks[1]));
        assert!(area.keeps(blocks[2]) && area.keeps(blocks[3]));
        drop_area(area);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn an_extent_with_a_page_open_for_a_step_is_not_handed_out_until_it_closes() {
        let page = os::page_size();
        // No quarantine: a freed extent is reused by the next request of its size.
        let area = small_area(0, 0);
        let first = block(area, 1);
        free(area, first);
        assert_eq!(block(area, 2), first, "reused at once");
        free(area, first);
        let step = os::signal::begin_test_step(first & !(page - 1), page);
        let other = block(area, 3);
        assert_ne!(other, first, "handed out under an open step");
        os::signal::end_test_step(step);
        let again = block(area, 4);
        assert_eq!(again, first, "reused once the step closed");
        // SAFETY: a live block of 64 bytes, filled by `block`.
        assert_eq!(unsafe { *(again as *const u8).add(63) }, 4);
        free(area, other);
        free(area, again);
        drop_area(area);
    }

    #[test]
    fn shapes_leave_room_for_guard_and_alignment() {
        let page = os::page_size();
        assert_eq!(
            shape(100, 16, false),
            Some(Shape {
                data_pages: 1,
                pages: 2
            })
        );
        assert_eq!(
            shape(0, 16, false),
            Some(Shape {
                data_pages: 0,
                pages: 1
            })
        );
        assert_eq!(
            shape(0, 16, true),
            Some(Shape {
                data_pages: 0,
                pages: 2
            })
        );
        assert_eq!(
            shape(page, 16, false),
            Some(Shape {
                data_pages: 1,
                pages: 2
            })
        );
        assert_eq!(
            shape(page + 1, 16, true),
            Some(Shape {
                data_pages: 2,
                pages: 3
            })
        );
        assert_eq!(
            shape(10, 4 * page, false),
            Some(Shape {
                data_pages: 4,
                pages: 8
            })
        );
    }
}
