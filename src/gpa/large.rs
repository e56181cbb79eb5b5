//! Large blocks: each one a segment-aligned mapping of its own, with a header page in front.
//!
//! # Memory layout
//! ```text
//!  base (aligned to max(4 MiB, alignment))
//!  ┌──────────────┬─────────────── ... ───────────────┬─────────┐
//!  │ LargeBlock   │ user data (requested bytes)       │ canary  │
//!  │ header page  │                                   │ (safety)│
//!  └──────────────┴─────────────── ... ───────────────┴─────────┘
//!  <-data_offset->                 (mapping_len in all, page-rounded)
//! ```
//! The page map points every 4 MiB chunk of the mapping at `base`, so any pointer into it
//! (also an interior one) finds the header in two loads. Each GPA keeps its large blocks in a
//! doubly linked list (the side table) under a mutex, for leak reports and `deinit`.
//!
//! # Invariants
//! * `data_offset = max(OS page, alignment)`; the header never shares an OS page with data.
//! * A block is in its GPA's `live` list while `state == SLOT_LIVE`, and in `retained` after
//!   a free that keeps its header for diagnosis (`retain_metadata` / `never_unmap`).

use core::alloc::Layout;
use core::sync::atomic::{AtomicU32, AtomicU8};

use super::segment::{SegmentCommon, SEGMENT_SIZE};
use crate::os;

/// The header of a large block, at the start of its mapping.
#[repr(C)]
pub struct LargeBlock {
    /// Kind (`Large`) and owner.
    pub common: SegmentCommon,
    /// Bytes obtained from the backing allocator (now held).
    pub mapping_len: usize,
    /// Bytes registered in the page map (the most the mapping ever covered).
    pub registered_len: usize,
    /// Alignment asked of the backing allocator.
    pub mapping_align: usize,
    /// Offset of the user data from the header.
    pub data_offset: usize,
    /// Bytes the user asked for (as of the last resize).
    pub requested: usize,
    /// Alignment the user asked for.
    pub align: usize,
    /// `SLOT_LIVE` or `SLOT_FREED`.
    pub state: AtomicU8,
    /// The caller's tag (as `SlotMeta::tag`).
    pub tag: AtomicU8,
    /// Interned allocation trace.
    pub alloc_trace: AtomicU32,
    /// Interned trace of the free.
    pub free_trace: AtomicU32,
    /// Neighbours in the GPA's list.
    pub next: *mut LargeBlock,
    /// See `next`.
    pub prev: *mut LargeBlock,
}

/// A doubly linked list of large blocks (protected by its GPA's mutex).
pub struct LargeList {
    /// First block.
    pub head: *mut LargeBlock,
    /// Blocks in the list.
    pub count: usize,
}

// SAFETY: the list only holds pointers to headers that its mutex's users own jointly.
unsafe impl Send for LargeList {}

impl LargeList {
    /// An empty list.
    pub const fn new() -> Self {
        LargeList {
            head: core::ptr::null_mut(),
            count: 0,
        }
    }

    /// Adds a block at the front.
    ///
    /// # Safety
    /// `block` is a valid header not in any list.
    pub unsafe fn push(&mut self, block: *mut LargeBlock) {
        // SAFETY: caller contract; the head (if any) is a valid header in this list.
        unsafe {
            (*block).prev = core::ptr::null_mut();
            (*block).next = self.head;
            if !self.head.is_null() {
                (*self.head).prev = block;
            }
        }
        self.head = block;
        self.count += 1;
    }

    /// Removes a block.
    ///
    /// # Safety
    /// `block` is in this list.
    pub unsafe fn remove(&mut self, block: *mut LargeBlock) {
        // SAFETY: caller contract; neighbours are valid headers in this list.
        unsafe {
            let (prev, next) = ((*block).prev, (*block).next);
            if prev.is_null() {
                self.head = next;
            } else {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            (*block).next = core::ptr::null_mut();
            (*block).prev = core::ptr::null_mut();
        }
        self.count -= 1;
    }

    /// Iterates over the headers (the caller holds the mutex).
    pub fn iter(&self) -> impl Iterator<Item = *mut LargeBlock> + '_ {
        let mut current = self.head;
        core::iter::from_fn(move || {
            if current.is_null() {
                return None;
            }
            let block = current;
            // SAFETY: list members are valid headers while the mutex is held.
            current = unsafe { (*block).next };
            Some(block)
        })
    }
}

/// The last few large blocks whose memory went back to the backing allocator (safety mode),
/// so that a second free of one is reported as a double free with its traces, not as an
/// unknown pointer.
pub struct FreedRing {
    entries: [RawFinding; FREED_RING_LEN],
    next: usize,
}

const FREED_RING_LEN: usize = 64;

impl FreedRing {
    /// An empty ring.
    pub const fn new() -> Self {
        FreedRing {
            entries: [RawFinding::new(FindingKind::DoubleFree, 0); FREED_RING_LEN],
            next: 0,
        }
    }

    fn remember(&mut self, finding: RawFinding) {
        self.entries[self.next] = finding;
        self.next = (self.next + 1) % FREED_RING_LEN;
    }

    fn forget(&mut self, address: usize) -> Option<RawFinding> {
        let entry = self
            .entries
            .iter_mut()
            .find(|entry| entry.address == address)?;
        Some(core::mem::replace(
            entry,
            RawFinding::new(FindingKind::DoubleFree, 0),
        ))
    }
}

/// Mappings of freed large blocks kept for reuse, so that a program that frees and allocates
/// big buffers in a loop does not pay a fresh mapping, and a page fault (the kernel zeroing a
/// page) for each of its OS pages, every time: glibc reuses such memory from its heap, which
/// made it several times faster than a map-per-block allocator on buffers of megabytes.
///
/// # Policy
/// * **Reuse:** an allocation takes the smallest cached mapping that fits (best fit); when it
///   would leave more than half of the mapping unused, the tail is trimmed off first. When
///   none fits, the largest cached mapping of at least half the size grows in place or moves
///   (`mremap`: page tables move, only the new tail is faulted in).
/// * **Bounds:** at most [`LARGE_CACHE_ENTRIES`] mappings, and at most half the bytes of live
///   large blocks, but never less than [`LARGE_CACHE_MIN_BYTES`] nor more than
///   [`LARGE_CACHE_MAX_BYTES`]: the memory a program just freed stays resident while it keeps
///   working at that size, and goes back to the OS (`munmap`, oldest first) when it shrinks.
/// * **Safety mode** first holds a freed mapping in a quarantine, inaccessible
///   (`PROT_NONE`), so that a use after free still faults as it did when every freed block was
///   unmapped at once; at most [`LARGE_QUARANTINE_ENTRIES`] mappings and
///   [`LARGE_QUARANTINE_BYTES`] bytes, the oldest leaving to the reuse list (made accessible
///   again) first.
pub struct LargeCache {
    /// (base, length, alignment) of the reusable mappings, oldest first, in `entries[..len]`.
    entries: [(usize, usize, usize); LARGE_CACHE_ENTRIES],
    len: usize,
    bytes: usize,
    /// Freed mappings not yet reusable (safety mode), oldest first.
    quarantine: [(usize, usize, usize); LARGE_QUARANTINE_ENTRIES],
    quarantined: usize,
    quarantined_bytes: usize,
    /// Bytes of live large mappings (approximate: in-place resizes are not counted).
    live_bytes: usize,
}

/// Mappings a GPA keeps for reuse.
pub const LARGE_CACHE_ENTRIES: usize = 16;
/// The reuse cache may always hold this many bytes.
pub const LARGE_CACHE_MIN_BYTES: usize = 64 << 20;
/// The reuse cache never holds more than this many bytes.
pub const LARGE_CACHE_MAX_BYTES: usize = 1 << 30;
/// Freed mappings held inaccessible in safety mode.
pub const LARGE_QUARANTINE_ENTRIES: usize = 8;
/// Bytes of freed mappings held inaccessible in safety mode.
pub const LARGE_QUARANTINE_BYTES: usize = 64 << 20;

/// Mappings leaving the cache, to be returned to the backing allocator.
pub type Evicted = [(usize, Layout); LARGE_CACHE_ENTRIES + LARGE_QUARANTINE_ENTRIES + 1];

/// Where a large allocation's mapping comes from.
pub enum Reuse {
    /// A cached mapping at least as big as wanted.
    Fit(usize, Layout),
    /// A cached mapping smaller than wanted, to grow.
    Grow(usize, Layout),
    /// Nothing suitable is cached: map afresh.
    Fresh,
}

impl LargeCache {
    /// An empty cache.
    pub const fn new() -> Self {
        LargeCache {
            entries: [(0, 0, 0); LARGE_CACHE_ENTRIES],
            len: 0,
            bytes: 0,
            quarantine: [(0, 0, 0); LARGE_QUARANTINE_ENTRIES],
            quarantined: 0,
            quarantined_bytes: 0,
            live_bytes: 0,
        }
    }

    fn remove(&mut self, index: usize) -> (usize, Layout) {
        let (base, len, align) = self.entries[index];
        self.entries[index..self.len].rotate_left(1);
        self.len -= 1;
        self.bytes -= len;
        // SAFETY: the values formed a valid layout when the mapping was made.
        (base, unsafe {
            Layout::from_size_align_unchecked(len, align)
        })
    }

    /// The byte bound of the reuse list (see the policy).
    fn budget(&self) -> usize {
        (self.live_bytes / 2).clamp(LARGE_CACHE_MIN_BYTES, LARGE_CACHE_MAX_BYTES)
    }

    /// Chooses the mapping for an allocation of `wanted` (see the policy) and counts it live.
    pub fn take(&mut self, wanted: Layout) -> Reuse {
        self.live_bytes += wanted.size();
        let usable = |&(base, _, align): &(usize, usize, usize)| {
            base % wanted.align() == 0 && align == wanted.align()
        };
        let mut fit: Option<usize> = None;
        let mut grow: Option<usize> = None;
        for (index, entry) in self.entries[..self.len].iter().enumerate() {
            if !usable(entry) {
                continue;
            }
            let len = entry.1;
            if len >= wanted.size() {
                if fit.is_none_or(|best| len < self.entries[best].1) {
                    fit = Some(index);
                }
            } else if len >= wanted.size() / 2 && grow.is_none_or(|best| len > self.entries[best].1)
            {
                grow = Some(index);
            }
        }
        if let Some(index) = fit {
            let (base, layout) = self.remove(index);
            return Reuse::Fit(base, layout);
        }
        if let Some(index) = grow {
            let (base, layout) = self.remove(index);
            return Reuse::Grow(base, layout);
        }
        Reuse::Fresh
    }

    /// Counts a mapping of `len` bytes as no longer live (after a failed allocation).
    pub fn untake(&mut self, len: usize) {
        self.live_bytes = self.live_bytes.saturating_sub(len);
    }

    /// Stores a freed mapping for reuse; writes to `evicted` those that must go back to the
    /// backing allocator (the mapping itself when it is too big, or the oldest ones to make
    /// room) and returns how many.
    fn put(&mut self, base: usize, layout: Layout, evicted: &mut Evicted) -> usize {
        self.live_bytes = self.live_bytes.saturating_sub(layout.size());
        self.put_reusable(base, layout, evicted, 0)
    }

    fn put_reusable(
        &mut self,
        base: usize,
        layout: Layout,
        evicted: &mut Evicted,
        mut count: usize,
    ) -> usize {
        let budget = self.budget();
        if layout.size() > budget {
            evicted[count] = (base, layout);
            return count + 1;
        }
        while self.len == LARGE_CACHE_ENTRIES || self.bytes + layout.size() > budget {
            evicted[count] = self.remove(0);
            count += 1;
        }
        self.entries[self.len] = (base, layout.size(), layout.align());
        self.len += 1;
        self.bytes += layout.size();
        count
    }

    /// Safety mode: holds a freed mapping, already made inaccessible, in the quarantine; the
    /// oldest ones leave it (to be made accessible again and passed to [`Self::put_released`])
    /// into `released`; returns how many.
    fn quarantine(&mut self, base: usize, layout: Layout, released: &mut Evicted) -> usize {
        self.live_bytes = self.live_bytes.saturating_sub(layout.size());
        let mut count = 0;
        while self.quarantined != 0
            && (self.quarantined == LARGE_QUARANTINE_ENTRIES
                || self.quarantined_bytes + layout.size() > LARGE_QUARANTINE_BYTES)
        {
            let (old_base, len, align) = self.quarantine[0];
            self.quarantine[..self.quarantined].rotate_left(1);
            self.quarantined -= 1;
            self.quarantined_bytes -= len;
            // SAFETY: the values formed a valid layout when the mapping was made.
            released[count] = (old_base, unsafe {
                Layout::from_size_align_unchecked(len, align)
            });
            count += 1;
        }
        self.quarantine[self.quarantined] = (base, layout.size(), layout.align());
        self.quarantined += 1;
        self.quarantined_bytes += layout.size();
        count
    }

    /// Empties the cache (reuse list and quarantine) into `evicted`; returns how many.
    fn drain(&mut self, evicted: &mut Evicted) -> usize {
        let mut count = 0;
        while self.len != 0 {
            evicted[count] = self.remove(0);
            count += 1;
        }
        for &(base, len, align) in &self.quarantine[..self.quarantined] {
            // SAFETY: the values formed a valid layout when the mapping was made.
            evicted[count] = (base, unsafe {
                Layout::from_size_align_unchecked(len, align)
            });
            count += 1;
        }
        self.quarantined = 0;
        self.quarantined_bytes = 0;
        count
    }
}

/// Where the data of a large block with `align` starts.
pub fn data_offset(align: usize) -> usize {
    align.max(os::page_size())
}

/// The backing layout for `size` user bytes at `align`, plus `extra` bytes of canary room.
pub fn mapping_layout(size: usize, align: usize, extra: usize) -> Option<Layout> {
    let total = data_offset(align)
        .checked_add(size)?
        .checked_add(extra)?
        .checked_next_multiple_of(os::page_size())?;
    Layout::from_size_align(total, align.max(SEGMENT_SIZE)).ok()
}

impl LargeBlock {
    /// The user data's address.
    pub fn data(&self) -> usize {
        self as *const LargeBlock as usize + self.data_offset
    }

    /// The backing layout of the mapping.
    pub fn layout(&self) -> Layout {
        // SAFETY: these values formed a valid layout when the block was mapped.
        unsafe { Layout::from_size_align_unchecked(self.mapping_len, self.mapping_align) }
    }

    /// Bytes available after the data start.
    pub fn capacity(&self) -> usize {
        self.mapping_len - self.data_offset
    }
}

use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use super::segment::{SegmentKind, SLOT_FREED, SLOT_LIVE};
use super::{lock, pagemap, safety, GeneralPurposeAllocator};
use crate::report::{FindingKind, RawFinding};
use crate::trace::TraceId;

impl GeneralPurposeAllocator {
    #[cold]
    pub(super) fn alloc_large(&self, layout: Layout) -> Option<NonNull<u8>> {
        self.alloc_large_inner(layout).map(|(block, _)| block)
    }

    /// A large block whose data reads as zeros (C's `calloc`): reused mappings are cleared,
    /// fresh ones already are.
    #[cold]
    pub(super) fn alloc_large_zeroed(&self, layout: Layout) -> Option<NonNull<u8>> {
        let (block, zeroed) = self.alloc_large_inner(layout)?;
        if !zeroed {
            // SAFETY: the block's data holds `layout.size()` bytes.
            unsafe { core::ptr::write_bytes(block.as_ptr(), 0, layout.size()) };
        }
        Some(block)
    }

    /// A mapping for `wanted`: reused from the cache (trimmed or grown as needed) or fresh;
    /// `true` when its memory is known to be zero.
    fn large_mapping(&self, wanted: Layout) -> Option<(NonNull<u8>, Layout, bool)> {
        let backing = self.config.backing_allocator;
        // Cached mappings have `wanted`'s alignment (`LargeCache::take`), so a mapping resized
        // to `wanted.size()` has exactly the layout `wanted`.
        let reused = match lock(&self.large_cache).take(wanted) {
            Reuse::Fit(base, mapping) => {
                // SAFETY: cached mappings are non-null bases of unused mappings.
                let memory = unsafe { NonNull::new_unchecked(base as *mut u8) };
                // More than half unused: give the tail back rather than keep it resident.
                let trim = mapping.size() / 2 > wanted.size();
                // SAFETY: the mapping is ours, unused, with this layout; shrinking keeps its
                // start.
                if trim && unsafe { backing.resize(memory, mapping, wanted.size()) } {
                    Some((memory, wanted))
                } else {
                    Some((memory, mapping))
                }
            }
            Reuse::Grow(base, mapping) => {
                // SAFETY: cached mappings are non-null bases of unused mappings.
                let memory = unsafe { NonNull::new_unchecked(base as *mut u8) };
                // SAFETY: the mapping is ours, unused, with this layout; on success the old
                // range is gone. The page allocator keeps alignments above a page (it moves
                // such a mapping onto an aligned target), which is checked anyway.
                match unsafe { backing.remap(memory, mapping, wanted.size()) } {
                    Some(moved) if moved.as_ptr() as usize % wanted.align() == 0 => {
                        Some((moved, wanted))
                    }
                    Some(moved) => {
                        // SAFETY: the moved mapping is ours and unused, with layout `wanted`.
                        unsafe { backing.free(moved, wanted) };
                        None
                    }
                    None => {
                        // SAFETY: the mapping is unchanged and unused.
                        unsafe { backing.free(memory, mapping) };
                        None
                    }
                }
            }
            Reuse::Fresh => None,
        };
        if let Some((memory, mapping)) = reused {
            return Some((memory, mapping, false));
        }
        match backing.alloc(wanted) {
            Some(memory) => Some((memory, wanted, self.config.backing_allocator_zeroes)),
            None => {
                lock(&self.large_cache).untake(wanted.size());
                None
            }
        }
    }

    fn alloc_large_inner(&self, layout: Layout) -> Option<(NonNull<u8>, bool)> {
        let extra = if self.config.safety {
            safety::CANARY_LEN
        } else {
            0
        };
        let wanted = mapping_layout(layout.size(), layout.align(), extra)?;
        let (memory, mapping, zeroed) = self.large_mapping(wanted)?;
        let base = memory.as_ptr() as usize;
        let header = memory.as_ptr().cast::<LargeBlock>();
        // SAFETY: fresh memory of at least one OS page, aligned for the header.
        unsafe {
            header.write(LargeBlock {
                common: SegmentCommon {
                    kind: SegmentKind::Large,
                    gpa_id: self.id(),
                    canary: self.config.canary,
                },
                mapping_len: mapping.size(),
                registered_len: mapping.size(),
                mapping_align: mapping.align(),
                data_offset: data_offset(layout.align()),
                requested: layout.size(),
                align: layout.align(),
                state: AtomicU8::new(SLOT_LIVE),
                tag: AtomicU8::new(0),
                alloc_trace: AtomicU32::new(self.trace_here().0),
                free_trace: AtomicU32::new(0),
                next: core::ptr::null_mut(),
                prev: core::ptr::null_mut(),
            });
        }
        if !pagemap::set_range(base, mapping.size(), base) {
            lock(&self.large_cache).untake(mapping.size());
            // SAFETY: never published.
            unsafe { self.config.backing_allocator.free(memory, mapping) };
            return None;
        }
        if self.config.safety {
            lock(&self.recently_freed_large).forget(base + data_offset(layout.align()));
        }
        // SAFETY: the header was initialized above and is in no list.
        unsafe {
            lock(&self.large).push(header);
            let block = &*header;
            if self.config.safety {
                safety::write_canary(block.data(), layout.size(), block.capacity());
            }
            NonNull::new(block.data() as *mut u8).map(|data| (data, zeroed))
        }
    }

    /// Frees a large block after validating the pointer and, in safety mode, its state.
    ///
    /// # Safety
    /// `base` is the header of one of this GPA's large blocks.
    pub(super) unsafe fn free_large(
        &self,
        base: usize,
        memory: NonNull<u8>,
        claimed: Option<Layout>,
    ) {
        let address = memory.as_ptr() as usize;
        let header = base as *mut LargeBlock;
        // SAFETY: caller contract.
        let block = unsafe { &*header };
        if address != block.data() {
            let mut finding = RawFinding::new(FindingKind::InvalidFree, address);
            if block.state.load(Ordering::Acquire) == SLOT_LIVE
                && address > block.data()
                && address < block.data() + block.requested
            {
                finding.size = block.requested;
                finding.alloc_trace = TraceId(block.alloc_trace.load(Ordering::Relaxed));
            }
            finding.site_trace = self.trace_here();
            self.record(finding);
            return;
        }
        if self.config.safety {
            if let Some(layout) = claimed {
                if block.state.load(Ordering::Acquire) == SLOT_LIVE
                    && (layout.size() != block.requested || layout.align() != block.align)
                {
                    let mut finding = self.large_finding(FindingKind::LayoutMismatch, block);
                    finding.claimed_size = layout.size();
                    finding.claimed_align = layout.align();
                    self.record(finding);
                }
            }
        }
        if block
            .state
            .compare_exchange(SLOT_LIVE, SLOT_FREED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            self.record(self.large_finding(FindingKind::DoubleFree, block));
            return;
        }
        if self.config.enable_memory_limit {
            self.uncharge(block.requested);
        }
        if self.config.safety {
            // SAFETY: the block was live; its data and canary are inside the mapping.
            if !unsafe { safety::canary_intact(block.data(), block.requested, block.capacity()) } {
                self.record(self.large_finding(FindingKind::Overflow, block));
            }
        }
        block
            .free_trace
            .store(self.trace_here().0, Ordering::Relaxed);
        // SAFETY: the header is in the live list (it was live until the CAS above).
        unsafe { lock(&self.large).remove(header) };
        // SAFETY: the block is freed and unlisted; the retention policy decides its memory.
        unsafe { self.retire_large(header) };
    }

    fn large_finding(&self, kind: FindingKind, block: &LargeBlock) -> RawFinding {
        let mut finding = RawFinding::new(kind, block.data());
        finding.size = block.requested;
        finding.align = block.align;
        finding.alloc_trace = TraceId(block.alloc_trace.load(Ordering::Relaxed));
        finding.free_trace = TraceId(block.free_trace.load(Ordering::Relaxed));
        finding.site_trace = self.trace_here();
        finding
    }

    /// Gives a freed large block's memory back, or keeps (part of) it for diagnosis.
    ///
    /// # Safety
    /// `header` is a freed large block of this GPA in no list.
    unsafe fn retire_large(&self, header: *mut LargeBlock) {
        // SAFETY: caller contract.
        let block = unsafe { &mut *header };
        if self.config.never_unmap || self.config.retain_metadata {
            if self.config.never_unmap {
                if self.config.safety {
                    // SAFETY: the data is ours until the block is released.
                    unsafe { safety::poison(block.data(), block.requested) };
                }
            } else {
                // Keep only the header page: shrink the mapping in place if the backing
                // allocator can, else keep all of it.
                let keep = crate::os::page_size();
                // SAFETY: the mapping is ours and `keep` is within it.
                let shrunk = unsafe {
                    self.config.backing_allocator.resize(
                        NonNull::new_unchecked(header.cast()),
                        block.layout(),
                        keep,
                    )
                };
                if shrunk {
                    // The page map keeps covering the old range: a stale pointer anywhere in
                    // it still finds this header (which stays mapped) and is diagnosed.
                    block.mapping_len = keep;
                }
            }
            // SAFETY: freed and unlisted (caller contract).
            unsafe { lock(&self.retained).push(header) };
            return;
        }
        if self.config.safety {
            let mut finding = RawFinding::new(FindingKind::DoubleFree, block.data());
            finding.size = block.requested;
            finding.alloc_trace = TraceId(block.alloc_trace.load(Ordering::Relaxed));
            finding.free_trace = TraceId(block.free_trace.load(Ordering::Relaxed));
            lock(&self.recently_freed_large).remember(finding);
        }
        // SAFETY: caller contract; the block leaves the page map before its memory goes.
        unsafe { self.release_large(header) };
    }

    /// A double free of a large block that is already gone, if `address` was one.
    pub(super) fn recently_freed_large_at(&self, address: usize) -> Option<RawFinding> {
        if !self.config.safety || address == 0 {
            return None;
        }
        lock(&self.recently_freed_large).forget(address)
    }

    /// Unregisters a large block and returns its mapping to the backing allocator.
    ///
    /// # Safety
    /// `header` is a large block of this GPA in no list; nothing uses it any more.
    pub(super) unsafe fn release_large(&self, header: *mut LargeBlock) {
        // SAFETY: caller contract.
        let (len, layout) = unsafe { ((*header).registered_len, (*header).layout()) };
        pagemap::set_range(header as usize, len, 0);
        let mut evicted: Evicted =
            [(0, layout); LARGE_CACHE_ENTRIES + LARGE_QUARANTINE_ENTRIES + 1];
        let count = if self.config.safety {
            // A freed block's memory becomes inaccessible at once, so that a use after free
            // faults instead of reading another block's data; it is reused only after the
            // quarantine.
            // SAFETY: the mapping is ours and nothing may use it any more.
            let protected = unsafe {
                crate::os::protect(NonNull::new_unchecked(header.cast()), layout.size(), false)
            };
            if protected {
                let mut released: Evicted = evicted;
                let leaving =
                    lock(&self.large_cache).quarantine(header as usize, layout, &mut released);
                let mut count = 0;
                for &(base, mapping) in &released[..leaving] {
                    // SAFETY: a quarantined mapping of ours, made inaccessible above.
                    let accessible = unsafe {
                        crate::os::protect(
                            NonNull::new_unchecked(base as *mut u8),
                            mapping.size(),
                            true,
                        )
                    };
                    if accessible {
                        count = lock(&self.large_cache).put_reusable(
                            base,
                            mapping,
                            &mut evicted,
                            count,
                        );
                    } else {
                        evicted[count] = (base, mapping);
                        count += 1;
                    }
                }
                count
            } else {
                lock(&self.large_cache).untake(layout.size());
                evicted[0] = (header as usize, layout);
                1
            }
        } else {
            lock(&self.large_cache).put(header as usize, layout, &mut evicted)
        };
        // SAFETY: evicted mappings came from the backing allocator with these layouts and
        // nothing uses them.
        unsafe { self.free_mappings(&evicted[..count]) };
    }

    /// Returns every cached mapping to the backing allocator.
    pub(super) fn flush_large_cache(&self) {
        let mut evicted: Evicted =
            [(0, Layout::new::<u8>()); LARGE_CACHE_ENTRIES + LARGE_QUARANTINE_ENTRIES + 1];
        let count = lock(&self.large_cache).drain(&mut evicted);
        // SAFETY: as in `release_large`.
        unsafe { self.free_mappings(&evicted[..count]) };
    }

    /// # Safety
    /// Each entry is an unused mapping of the backing allocator with its layout.
    unsafe fn free_mappings(&self, mappings: &[(usize, Layout)]) {
        for &(base, layout) in mappings {
            // SAFETY: caller contract.
            unsafe {
                self.config
                    .backing_allocator
                    .free(NonNull::new_unchecked(base as *mut u8), layout)
            };
        }
    }

    /// Resizes a large block in place (within its mapping, or by growing the mapping).
    ///
    /// # Safety
    /// `base` is the header of one of this GPA's large blocks.
    pub(super) unsafe fn resize_large(
        &self,
        base: usize,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> bool {
        let header = base as *mut LargeBlock;
        // SAFETY: caller contract.
        let block = unsafe { &mut *header };
        let address = memory.as_ptr() as usize;
        if address != block.data() || block.state.load(Ordering::Acquire) != SLOT_LIVE {
            let kind = if address == block.data() {
                FindingKind::DoubleFree
            } else {
                FindingKind::InvalidFree
            };
            self.record(self.large_finding(kind, block));
            return false;
        }
        if self.config.safety && (layout.size() != block.requested || layout.align() != block.align)
        {
            let mut finding = self.large_finding(FindingKind::LayoutMismatch, block);
            finding.claimed_size = layout.size();
            finding.claimed_align = layout.align();
            self.record(finding);
            return false;
        }
        if super::size_class::class_for(new_len, block.align).is_some() {
            // A block whose layout maps to a size class must live in a small segment: the
            // fast free path finds its segment from the layout alone. Let the caller move it.
            return false;
        }
        let extra = if self.config.safety {
            safety::CANARY_LEN
        } else {
            0
        };
        let Some(needed) = new_len.checked_add(extra) else {
            return false;
        };
        if needed > block.capacity() {
            let Some(wanted) = mapping_layout(new_len, block.align, extra) else {
                return false;
            };
            // SAFETY: the mapping is ours; the backing allocator grows it without moving.
            let grown = unsafe {
                self.config.backing_allocator.resize(
                    NonNull::new_unchecked(header.cast()),
                    block.layout(),
                    wanted.size(),
                )
            };
            if !grown || !pagemap::set_range(base, wanted.size(), base) {
                return false;
            }
            block.mapping_len = wanted.size();
            block.registered_len = block.registered_len.max(wanted.size());
        }
        if self.config.safety {
            // SAFETY: data and canary are inside the mapping.
            unsafe {
                if !safety::canary_intact(block.data(), block.requested, block.capacity()) {
                    self.record(self.large_finding(FindingKind::Overflow, block));
                }
                safety::write_canary(block.data(), new_len, block.capacity());
            }
        }
        block.requested = new_len;
        if self.config.resize_stack_traces {
            block
                .alloc_trace
                .store(self.trace_here().0, Ordering::Relaxed);
        }
        true
    }

    /// Releases the retained metadata (and memory) of freed large blocks.
    pub fn flush_retained_metadata(&self) {
        let mut retained = lock(&self.retained);
        while !retained.head.is_null() {
            let header = retained.head;
            // SAFETY: members of the retained list are freed blocks nobody uses.
            unsafe {
                retained.remove(header);
                self.release_large(header);
            }
        }
    }

    /// How many freed large blocks are retained for diagnosis.
    pub fn retained_block_count(&self) -> usize {
        lock(&self.retained).count
    }
}

const _: () = assert!(SLOT_FREED != SLOT_LIVE);

impl GeneralPurposeAllocator {
    /// Grows a large block by moving its mapping with the backing allocator's `remap` (for
    /// the page allocator, `mremap`: the pages move, nothing is copied and nothing new is
    /// faulted in). `None` when this is not a live large block of ours with `layout`, when the
    /// new size belongs in a size class, or when the backing allocator cannot move it; the
    /// block is then unchanged and the caller copies.
    ///
    /// # Safety
    /// `memory` is a live block of this GPA with `layout` (checked in safety mode by the
    /// `resize` that callers try first); on success it must no longer be used.
    pub(super) unsafe fn remap_large(
        &self,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> Option<NonNull<u8>> {
        let address = memory.as_ptr() as usize;
        let base = pagemap::lookup(address)?;
        // SAFETY: the page map only holds bases of live headers.
        let common = unsafe { &*(base as *const SegmentCommon) };
        if !self.owns_header(common) || common.kind != SegmentKind::Large {
            return None;
        }
        let header = base as *mut LargeBlock;
        // SAFETY: a large block header of ours.
        let block = unsafe { &*header };
        if address != block.data()
            || block.state.load(Ordering::Acquire) != SLOT_LIVE
            || layout.size() != block.requested
            || layout.align() != block.align
            || super::size_class::class_for(new_len, block.align).is_some()
        {
            return None;
        }
        let extra = if self.config.safety {
            safety::CANARY_LEN
        } else {
            0
        };
        let wanted = mapping_layout(new_len, block.align, extra)?;
        if wanted.size() <= block.mapping_len || wanted.align() != block.mapping_align {
            return None;
        }
        if self.config.enable_memory_limit && !self.charge(new_len - layout.size()) {
            return None;
        }
        let (old_layout, old_registered) = (block.layout(), block.registered_len);
        // Nobody may find the header at its old place while it moves.
        pagemap::set_range(base, old_registered, 0);
        // SAFETY: the header is in the live list.
        unsafe { lock(&self.large).remove(header) };
        // SAFETY: the mapping is ours with this layout; on success the old one is gone.
        let moved = unsafe {
            self.config.backing_allocator.remap(
                NonNull::new_unchecked(header.cast()),
                old_layout,
                wanted.size(),
            )
        };
        let Some(new_base) = moved else {
            pagemap::set_range(base, old_registered, base);
            // SAFETY: the header is unchanged and in no list.
            unsafe { lock(&self.large).push(header) };
            if self.config.enable_memory_limit {
                self.uncharge(new_len - layout.size());
            }
            return None;
        };
        // The first chunk (which holds the header and the data's start, all that frees and
        // lookups need) is registered first; a later chunk's leaf failing to map only leaves
        // interior pointers of the block unrecognized.
        let _ = pagemap::set_range(
            new_base.as_ptr() as usize,
            wanted.size(),
            new_base.as_ptr() as usize,
        );
        let header = new_base.as_ptr().cast::<LargeBlock>();
        // SAFETY: the header moved with the mapping and is exclusively ours (in no list).
        let block = unsafe { &mut *header };
        block.mapping_len = wanted.size();
        block.registered_len = wanted.size();
        if self.config.safety {
            // SAFETY: data and canary are inside the (grown) mapping.
            unsafe {
                if !safety::canary_intact(block.data(), block.requested, block.capacity()) {
                    self.record(self.large_finding(FindingKind::Overflow, block));
                }
                safety::write_canary(block.data(), new_len, block.capacity());
            }
        }
        block.requested = new_len;
        // SAFETY: the header is valid and in no list.
        unsafe { lock(&self.large).push(header) };
        NonNull::new(block.data() as *mut u8)
    }
}
