//! Large blocks: each one a segment-aligned mapping of its own, described by a header kept out
//! of line in the internal heap.
//!
//! # Memory layout
//! ```text
//!  internal heap (guarded)     base (aligned to max(4 MiB, alignment))
//!  ┌────────────┐              ┌─────────┬───────────── ... ─────────┬─────────────────────┐
//!  │ LargeBlock │◄─ page map ──│ front   │ user data (requested)     │ tail: redzone       │
//!  │ header     │  (each 4 MiB │ (never  │ at base + front_len(align)│ (safety) or slack   │
//!  └────────────┘   chunk)     │ written)│                           │ to the mapping's end│
//!                              └─────────┴───────────── ... ─────────┴─────────────────────┘
//!                              <───────────── mapping_len (page multiples) ───────────────>
//! ```
//! No metadata lies in or next to the mapping: a block's underflow or overflow runs into its
//! own front or tail, then other mappings (or unmapped space), never into gpa's headers.
//!
//! # The block's edges are readable
//! C programs read a little before a block (`s[strlen(s) - 1]` on an empty string) or past
//! its end, and glibc lets them for its mmapped chunks: such a chunk is a mapping of its own
//! with a 16-byte header before the data (plus the alignment's lead for `memalign`), and its
//! usable size (`malloc_usable_size`) runs to the mapping's end, at least 8 bytes past the
//! request, up to a page more (`sysmalloc`: `ALIGN_UP(request2size(n) + 8, page)`). So the
//! data does not start at the mapping's base but [`front_len`] bytes after it (a page, or the
//! alignment when it is larger), and fast mode ends the mapping at least [`TAIL_SLACK`] bytes
//! past the request, page-rounded: as far past the data's end as glibc's plain `malloc` chunk
//! reaches, or farther. Safety mode's redzone (at least 32 bytes, to the mapping's end) is the
//! tail there. The front is part of the same read-write mapping: no extra mapping (VMA), no
//! `mprotect`, and `mremap` and the reuse cache move it with the rest. Fast mode never writes
//! it, so it costs no memory until the program writes it (a read maps the kernel's shared zero
//! page); it reads as zeros on a fresh mapping (one from the reuse cache may hold an earlier
//! block's bytes there, as fast mode's reused data does). A write there, which damages glibc's
//! header natively (its `free` then aborts with "munmap_chunk(): invalid pointer", or unmaps
//! a wrong length), damages nothing of gpa's: fast mode lets it be; safety mode fills the
//! front's last page with the canary ([`front_guard_len`], one resident page per live block)
//! and checks it with the redzone (at the free, a resize, the exit's walk): a write there is
//! an underflow, as Valgrind reports it ("N bytes before a block"); the C ABI's own front
//! guard (32 bytes at the data's start) reports a write to those bytes.
//!
//! The page map points every
//! 4 MiB chunk of the mapping at the header, so any pointer into it (also an interior one)
//! finds the header in two loads. Each GPA keeps its live large blocks in a doubly linked list
//! (the side table) under a mutex, for leak reports and `deinit`.
//!
//! # After a free (safety mode)
//! The mapping's memory (its resident pages) is moved at once to a mapping of its own at a
//! fresh address, which joins the reuse cache ([`LargeCache`], as in fast mode) for a later
//! large block of a fitting size, which clears it (`mremap` with `MREMAP_DONTUNMAP`: page
//! tables move, nothing is copied, and the new block pays no page faults, nor the kernel's
//! zeroing); where the cache is full or the kernel cannot move pages, the memory is returned
//! (`MADV_DONTNEED`). Either way the freed block's own address range stays
//! **reserved and inaccessible** while the block sits in a quarantine bounded in blocks and
//! bytes ([`QUARANTINE_BLOCKS`], [`QUARANTINE_BYTES`]): its header stays registered, so a use
//! after free faults at a known block, a second free is a double free with all three traces,
//! and the range is not reused by the next allocation. A block leaving the quarantine gives its
//! range back and leaves a compact record in a ring of [`FREED_RECORDS`], so a double free of
//! a block released thousands of frees ago is still reported as one, with its traces. Once a
//! range was given back, a later block may be mapped at the same address; a stale free of it
//! is then described by the most recent block there (as Valgrind does once its queue of
//! freed blocks has moved on).
//!
//! # Invariants
//! * The mapping is `mapping_len` bytes from `base`; the user data starts at `base + front`
//!   ([`LargeBlock::data`]), `front == front_len(align)`, and has `mapping_len - front` bytes
//!   of capacity. The front holds no metadata; only safety mode writes it (the canary of
//!   its last page, [`front_guard_len`]).
//! * A block is in its GPA's `live` list while `state == SLOT_LIVE`; after its free it is in
//!   the quarantine of [`FreedRing`], or in `retained` (`retain_metadata` / `never_unmap`), or
//!   gone (its header freed, its range unregistered).
//! * Every chunk of `[base, base + registered_len)` maps to the header while the header
//!   exists, except while the block moves (`remap_large`): its old range is unregistered
//!   first, and its new one registered only once `base`, `mapping_len`, `registered_len` and
//!   `requested` all describe the new place.
//! * `base`, `mapping_len` and `requested` change together only under the `large` list's
//!   lock (a move, `remap_large`), which a walk of the live list holds, and which the
//!   exit-time scan and `fork` hold while other threads stop: a walk never sees a new base
//!   with an old size. An in-place resize changes the capacity before the size when growing,
//!   and writes the redzone's canary before either, so that every intermediate state
//!   describes readable bytes with an intact redzone.

use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};

use super::safety::Prefix;
use super::segment::{SegmentCommon, SegmentKind, SEGMENT_SIZE, SLOT_FREED, SLOT_LIVE};
use super::{internal, lock, pagemap, released, safety, GeneralPurposeAllocator};
use crate::os;
use crate::report::{BlockClaim, FindingKind, RawFinding};
use crate::trace::TraceId;

/// The header of a large block (a block of the internal heap).
#[repr(C)]
pub struct LargeBlock {
    /// Kind (`Large`), owner, and the header's own address.
    pub common: SegmentCommon,
    /// The mapping's start; the user data lies `front` bytes after it.
    pub base: usize,
    /// Bytes of the mapping before the data: [`front_len`]`(align)`, kept here so that
    /// [`Self::data`] and [`Self::is_sound`] read no page size.
    pub front: usize,
    /// Bytes obtained from the backing allocator (now held).
    pub mapping_len: usize,
    /// Bytes registered in the page map (the most the mapping ever covered).
    pub registered_len: usize,
    /// Alignment asked of the backing allocator.
    pub mapping_align: usize,
    /// Bytes the user asked for (as of the last resize).
    pub requested: usize,
    /// Alignment the user asked for.
    pub align: usize,
    /// `SLOT_LIVE` or `SLOT_FREED`.
    pub state: AtomicU8,
    /// The freed block's range is inaccessible (protected) and its memory discarded.
    pub reserved: bool,
    /// The caller's tag (as `SlotMeta::tag`).
    pub tag: AtomicU8,
    /// 0 until a finding names the block, then 1 (as `SlotMeta::mark`; a header is written
    /// whole by each allocation).
    pub mark: AtomicU8,
    /// Interned allocation trace.
    pub alloc_trace: AtomicU32,
    /// Interned trace of the free.
    pub free_trace: AtomicU32,
    /// The allocating thread's serial number of the block in safety mode
    /// (`heap::next_serial`, as a small slot's); 0 otherwise. In what was padding.
    pub serial: AtomicU32,
    /// Neighbours in the list the block is in.
    pub next: *mut LargeBlock,
    /// See `next`.
    pub prev: *mut LargeBlock,
}

// `serial` took padding: the header did not grow.
const _: () = assert!(core::mem::size_of::<LargeBlock>() == 120);

/// A doubly linked list of large blocks (protected by its GPA's mutex); new blocks at the
/// head, the oldest at the tail.
pub struct LargeList {
    /// First (newest) block.
    pub head: *mut LargeBlock,
    /// Last (oldest) block.
    pub tail: *mut LargeBlock,
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
            tail: core::ptr::null_mut(),
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
            if self.head.is_null() {
                self.tail = block;
            } else {
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
            if next.is_null() {
                self.tail = prev;
            } else {
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

/// Freed large blocks kept in the quarantine at most (each one mapping, of the kernel's
/// `vm.max_map_count`, 65530 by default).
pub const QUARANTINE_BLOCKS: usize = 4096;
/// Bytes of address space the quarantine of freed large blocks keeps reserved at most (their
/// memory itself is returned at the free; the reservation costs address space only). Under an
/// address-space limit (`RLIMIT_AS`) at most an eighth of it ([`quarantine_bytes`]), and a
/// large block whose mapping fails empties the quarantine and tries again.
pub const QUARANTINE_BYTES: usize = 8 << 30;

/// [`QUARANTINE_BYTES`], or an eighth of the address-space limit read at the first free.
fn quarantine_bytes() -> usize {
    static BYTES: AtomicUsize = AtomicUsize::new(0);
    match BYTES.load(Ordering::Relaxed) {
        0 => {
            let bytes = os::reservation_len(QUARANTINE_BYTES, 8);
            BYTES.store(bytes, Ordering::Relaxed);
            bytes
        }
        bytes => bytes,
    }
}
/// Freed large blocks remembered (address range, size, traces) after their range was given
/// back: 48 bytes each, allocated on the first free.
pub const FREED_RECORDS: usize = 16384;

/// What is remembered of a large block whose range was given back.
#[derive(Clone, Copy)]
struct FreedRecord {
    /// The block's data (where a double free points).
    start: usize,
    /// The range it held: its mapping's start (before the data) and the registered end.
    low: usize,
    end: usize,
    requested: usize,
    align: usize,
    alloc_trace: u32,
    free_trace: u32,
}

/// Large blocks after their free (safety mode): the quarantine of reserved ranges, then a
/// ring of records (see the module docs).
pub struct FreedRing {
    quarantine: LargeList,
    quarantine_bytes: usize,
    records: *mut FreedRecord,
    next: usize,
    len: usize,
}

// SAFETY: the ring's pointers are owned by it and used under its GPA's mutex only.
unsafe impl Send for FreedRing {}

impl FreedRing {
    /// An empty ring.
    pub const fn new() -> Self {
        FreedRing {
            quarantine: LargeList::new(),
            quarantine_bytes: 0,
            records: core::ptr::null_mut(),
            next: 0,
            len: 0,
        }
    }

    /// Remembers a block whose range is given back, here and in the process's ring of
    /// released blocks (`released`, which the fault handler reads: an access to the range
    /// after it is unmapped is then a use after free of the block).
    fn remember(&mut self, block: &LargeBlock) {
        let freed = released::Remembered {
            start: block.data(),
            size: block.requested,
            align: block.align,
            alloc_trace: TraceId(block.alloc_trace.load(Ordering::Relaxed)),
            free_trace: TraceId(block.free_trace.load(Ordering::Relaxed)),
        };
        released::lock().push(block.common.gpa_id, freed, true);
        if self.records.is_null() {
            let bytes = FREED_RECORDS * core::mem::size_of::<FreedRecord>();
            match internal::alloc_metadata(bytes, 16) {
                Some(memory) => self.records = memory.as_ptr().cast(),
                None => return,
            }
        }
        let record = FreedRecord {
            start: block.data(),
            low: block.base,
            end: block.base + block.registered_len,
            requested: block.requested,
            align: block.align,
            alloc_trace: block.alloc_trace.load(Ordering::Relaxed),
            free_trace: block.free_trace.load(Ordering::Relaxed),
        };
        // SAFETY: `next < FREED_RECORDS` indexes the records array.
        unsafe { self.records.add(self.next).write(record) };
        self.next = (self.next + 1) % FREED_RECORDS;
        self.len = (self.len + 1).min(FREED_RECORDS);
    }

    /// The most recent record whose range holds `address`.
    fn find(&self, address: usize) -> Option<FreedRecord> {
        (1..=self.len).find_map(|age| {
            let index = (self.next + FREED_RECORDS - age) % FREED_RECORDS;
            // SAFETY: the first `len` records before `next` were written by `remember`.
            let record = unsafe { *self.records.add(index) };
            (record.low <= address && address < record.end).then_some(record)
        })
    }
}

/// Mappings of freed large blocks kept for reuse, so that a program that frees and allocates
/// big buffers in a loop does not pay a fresh mapping, and a page fault (the kernel zeroing a
/// page) for each of its OS pages, every time: glibc reuses such memory from its heap, which
/// made it several times faster than a map-per-block allocator on buffers of megabytes.
///
/// # Policy
/// * **Reuse:** an allocation takes the smallest cached mapping that fits (best fit); when it
///   would leave more than three quarters of the mapping unused, the tail is trimmed off
///   first. When none fits, the largest cached mapping of at least half the size grows in
///   place or moves (`mremap`: page tables move, only the new tail is faulted in).
/// * **Bounds:** at most [`LARGE_CACHE_ENTRIES`] mappings, and at most half the bytes of live
///   large blocks, but never less than [`LARGE_CACHE_MIN_BYTES`] nor more than
///   [`LARGE_CACHE_MAX_BYTES`]: the memory a program just freed stays resident while it keeps
///   working at that size, and goes back to the OS (`munmap`, oldest first) when it shrinks.
/// * **Safety mode** keeps a freed block's range reserved and inaccessible in its own
///   quarantine (see the module docs); what joins this cache is the block's memory, moved to a
///   mapping of its own at a new address (`GeneralPurposeAllocator::park_pages`), and a
///   reused mapping is always trimmed to the block's size (its redzone is a fresh block's;
///   a tail of [`SPLIT_MIN`] or more is split off into a cached mapping of its own rather than
///   returned) and cleared, so that it reads as zero as a fresh one does (no stale pointer for the leak
///   scan to follow; nothing for `calloc` to clear). The cache's mappings are returned to the
///   OS before a leak scan (their old contents must not act as roots) and when a large
///   mapping fails (address space). Every step that moves old contents between a block and
///   the cache holds the cache's lock, so that a leak scan, which stops threads only outside
///   gpa's locks, never finds them between the two.
pub struct LargeCache {
    /// (base, length, alignment) of the reusable mappings, oldest first, in `entries[..len]`.
    entries: [(usize, usize, usize); LARGE_CACHE_ENTRIES],
    len: usize,
    bytes: usize,
    /// Bytes of live large mappings (approximate: in-place resizes are not counted).
    live_bytes: usize,
}

/// Mappings a GPA keeps for reuse. A program with many large blocks of many sizes live finds
/// a fit more often among more of them (bench/c/mstress, 2 threads, blocks of 128 KiB to
/// 1.3 MiB: 16 entries took 125,000 page faults, 64 took 84,000; the byte bounds still apply).
pub const LARGE_CACHE_ENTRIES: usize = 64;
/// The reuse cache may always hold this many bytes.
pub const LARGE_CACHE_MIN_BYTES: usize = 64 << 20;
/// The reuse cache never holds more than this many bytes.
pub const LARGE_CACHE_MAX_BYTES: usize = 1 << 30;

/// Safety mode splits a reused mapping's tail of at least this many bytes off into a cached
/// mapping of its own (`RawAllocator::split_off`) rather than return it.
pub const SPLIT_MIN: usize = 1 << 20;

/// Mappings leaving the cache, to be returned to the backing allocator.
pub type Evicted = [(usize, Layout); LARGE_CACHE_ENTRIES + 1];

/// Where a large allocation's mapping comes from.
pub enum Reuse {
    /// A cached mapping at least as big as wanted.
    Fit(usize, Layout),
    /// A cached mapping smaller than wanted, to grow.
    Grow(usize, Layout),
    /// Nothing suitable is cached: map afresh.
    Fresh,
}

/// What a new large block's mapping holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Contents {
    /// Zeros (fresh from the page allocator).
    Zero,
    /// Whatever a backing allocator that does not zero gave, or a freed block's bytes (fast
    /// mode's reuse).
    Unknown,
    /// A freed block's bytes in the first this many bytes (the rest is fresh, zero), to be
    /// cleared once the new block's range is registered (safety mode's reuse).
    Stale(usize),
}

impl LargeCache {
    /// An empty cache.
    pub const fn new() -> Self {
        LargeCache {
            entries: [(0, 0, 0); LARGE_CACHE_ENTRIES],
            len: 0,
            bytes: 0,
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
        self.put_reusable(base, layout, evicted)
    }

    fn put_reusable(&mut self, base: usize, layout: Layout, evicted: &mut Evicted) -> usize {
        let mut count = 0;
        let budget = self.budget();
        if layout.size() > budget {
            evicted[0] = (base, layout);
            return 1;
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

    /// Empties the cache into `evicted`; returns how many.
    fn drain(&mut self, evicted: &mut Evicted) -> usize {
        let mut count = 0;
        while self.len != 0 {
            evicted[count] = self.remove(0);
            count += 1;
        }
        count
    }
}

/// Bytes fast mode's mapping holds at least past a block's requested size (see the module
/// docs): glibc's mmapped chunk gives at least 8 and at most 31 before its page rounding
/// (`request2size(n) + 8`), so a mapping of `n + 32` bytes rounded up to pages reaches at
/// least as far past the data's end as glibc's does.
pub const TAIL_SLACK: usize = 32;

/// Bytes of a large block's mapping before its data (the front, see the module docs): a page,
/// or the alignment when it is larger (the mapping's base is aligned to at least that, so the
/// data is aligned too). Always a multiple of the page size.
#[inline]
pub fn front_len(align: usize) -> usize {
    align.max(os::page_size())
}

/// Bytes at the end of a front of `front` bytes that safety mode fills with the canary and
/// checks with the redzone (the front guard): the front's last OS page, so that a write
/// before a large block is reported as an underflow, as a write past it is as an overflow.
/// Costs one resident page per live large block in safety mode; fast mode leaves the front
/// untouched.
#[inline]
pub fn front_guard_len(front: usize) -> usize {
    front.min(os::page_size())
}

/// The backing layout for `size` user bytes at `align`, plus `extra` bytes of redzone or
/// slack after them, behind the front ([`front_len`]).
pub fn mapping_layout(size: usize, align: usize, extra: usize) -> Option<Layout> {
    let tail = size
        .checked_add(extra)?
        .max(1)
        .checked_next_multiple_of(os::page_size())?;
    let total = tail.checked_add(front_len(align))?;
    Layout::from_size_align(total, align.max(SEGMENT_SIZE)).ok()
}

impl LargeBlock {
    /// The user data's address (`front` bytes into the mapping).
    pub fn data(&self) -> usize {
        self.base + self.front
    }

    /// The backing layout of the mapping.
    pub fn layout(&self) -> Layout {
        // SAFETY: these values formed a valid layout when the block was mapped.
        unsafe { Layout::from_size_align_unchecked(self.mapping_len, self.mapping_align) }
    }

    /// Bytes available from the data start (to the mapping's end).
    pub fn capacity(&self) -> usize {
        self.mapping_len - self.front
    }

    /// Whether `address` lies in the mapping (front, data or tail).
    pub fn maps(&self, address: usize) -> bool {
        address >= self.base && address - self.base < self.mapping_len
    }

    /// Whether the header is intact (not overwritten since it was written).
    pub fn is_sound(&self) -> bool {
        self.common.is(SegmentKind::Large)
            && self.base % SEGMENT_SIZE == 0
            && self.mapping_align >= SEGMENT_SIZE
            && self.mapping_align.is_power_of_two()
            && self.align.is_power_of_two()
            && self.front & (self.align - 1) == 0
            && self
                .front
                .checked_add(self.requested)
                .is_some_and(|end| end <= self.mapping_len)
            && self.mapping_len <= self.registered_len
    }
}

/// What the GPA knows of a freed large block, for reports (see `FreedRing`).
pub(super) struct FreedLarge {
    pub start: usize,
    pub requested: usize,
    pub align: usize,
    pub alloc_trace: TraceId,
    pub free_trace: TraceId,
}

impl GeneralPurposeAllocator {
    /// The bytes a large block of `size` gets after its data: its redzone in safety mode,
    /// else [`TAIL_SLACK`] (see the module docs).
    fn large_redzone(&self, size: usize) -> usize {
        if self.config.safety {
            safety::redzone(size)
        } else {
            TAIL_SLACK
        }
    }

    #[cold]
    pub(super) fn alloc_large(&self, layout: Layout) -> Option<NonNull<u8>> {
        self.alloc_large_inner(layout, 0, Prefix::NONE)
            .map(|(block, _)| block)
    }

    /// [`Self::alloc_large`] of a block tagged `tag` whose first bytes are `prefix` (safety
    /// mode, `GeneralPurposeAllocator::alloc_prefixed`), both written before the block joins
    /// the live list: a walk of the live blocks at exit never sees it without them.
    #[cold]
    pub(super) fn alloc_large_prefixed(
        &self,
        layout: Layout,
        tag: u8,
        prefix: Prefix,
    ) -> Option<NonNull<u8>> {
        self.alloc_large_inner(layout, tag, prefix)
            .map(|(block, _)| block)
    }

    /// A large block whose data reads as zeros (C's `calloc`): reused mappings are cleared,
    /// fresh ones already are.
    #[cold]
    pub(super) fn alloc_large_zeroed(&self, layout: Layout) -> Option<NonNull<u8>> {
        let (block, zeroed) = self.alloc_large_inner(layout, 0, Prefix::NONE)?;
        if !zeroed {
            // SAFETY: the block's data holds `layout.size()` bytes.
            unsafe { core::ptr::write_bytes(block.as_ptr(), 0, layout.size()) };
        }
        Some(block)
    }

    /// A mapping for `wanted`: reused from the cache (trimmed or grown as needed, see
    /// [`LargeCache`]), else fresh; `true` when its memory is known to be zero (fresh, or
    /// reused in safety mode).
    ///
    /// `held`: the reuse cache, locked by the caller for the whole allocation (safety mode,
    /// see [`Self::alloc_large_inner`]); `None`: locked here only to choose.
    fn large_mapping(
        &self,
        wanted: Layout,
        mut held: Option<&mut LargeCache>,
    ) -> Option<(NonNull<u8>, Layout, Contents)> {
        let backing = self.config.backing_allocator;
        let choice = match held.as_deref_mut() {
            Some(cache) => cache.take(wanted),
            None => lock(&self.large_cache).take(wanted),
        };
        // Cached mappings have `wanted`'s alignment (`LargeCache::take`), so a mapping resized
        // to `wanted.size()` has exactly the layout `wanted`.
        let reused = match choice {
            Reuse::Fit(base, mapping) => {
                // SAFETY: cached mappings are non-null bases of unused mappings.
                let memory = unsafe { NonNull::new_unchecked(base as *mut u8) };
                // More than three quarters unused: give the tail back rather than keep it
                // resident. (A tail kept serves the next, bigger block from the same mapping
                // without faulting its pages in again: bench/c/malloc-large, 5..25 MiB buffers
                // replaced at random, took 1.29x glibc's time trimming at half, 0.87x at three
                // quarters (two runs), peak RSS 1.02x and 1.05x mimalloc's.)
                // Safety mode trims every reused mapping to the block's own size, so that its
                // redzone (the canary, written and checked to the mapping's end) is what a
                // fresh mapping's would be.
                let trim = self.config.safety || mapping.size() / 4 > wanted.size();
                let excess = mapping.size() - wanted.size();
                if let (true, Some(cache)) = (trim && excess >= SPLIT_MIN, held.as_deref_mut()) {
                    // Safety mode keeps a tail of a mebibyte or more resident as a mapping of
                    // its own in the cache, instead of returning it.
                    // SAFETY: the mapping is ours, unused, with this layout; `wanted.size()`
                    // is a page multiple below its size.
                    let tail = unsafe {
                        backing.split_off(
                            memory,
                            mapping,
                            wanted.size(),
                            Layout::from_size_align_unchecked(excess, mapping.align()),
                        )
                    };
                    if let Some(tail) = tail {
                        let tail_layout = Layout::from_size_align(excess, mapping.align()).ok()?;
                        let mut evicted: Evicted = [(0, tail_layout); LARGE_CACHE_ENTRIES + 1];
                        let count =
                            cache.put_reusable(tail.as_ptr() as usize, tail_layout, &mut evicted);
                        // SAFETY: evicted mappings came from the backing allocator with these
                        // layouts and nothing uses them (freed under the lock: they hold old
                        // contents).
                        unsafe { self.free_mappings(&evicted[..count]) };
                        return Some((memory, wanted, Contents::Stale(wanted.size())));
                    }
                    // SAFETY: as below.
                    if unsafe { backing.resize(memory, mapping, wanted.size()) } {
                        return Some((memory, wanted, Contents::Stale(wanted.size())));
                    }
                    return Some((memory, mapping, Contents::Stale(mapping.size())));
                }
                // SAFETY: the mapping is ours, unused, with this layout; shrinking keeps its
                // start.
                if trim && unsafe { backing.resize(memory, mapping, wanted.size()) } {
                    Some((memory, wanted, wanted.size()))
                } else {
                    Some((memory, mapping, mapping.size()))
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
                        // Only the old part held a block; the grown tail is fresh.
                        Some((moved, wanted, mapping.size()))
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
        if let Some((memory, mapping, stale)) = reused {
            let contents = if self.config.safety {
                Contents::Stale(stale)
            } else {
                Contents::Unknown
            };
            return Some((memory, mapping, contents));
        }
        // The program's data: mapped as glibc's malloc maps a large chunk (accounted by the
        // kernel's overcommit policy), so that a request glibc gets refused (1 TiB under the
        // default heuristic) is refused here too, with `ENOMEM`, rather than mapped with
        // `MAP_NORESERVE` and the process killed when it touches the pages.
        match backing.alloc_accounted(wanted) {
            Some(memory) if self.config.backing_allocator_zeroes => {
                Some((memory, wanted, Contents::Zero))
            }
            Some(memory) => Some((memory, wanted, Contents::Unknown)),
            None => {
                match held {
                    Some(cache) => cache.untake(wanted.size()),
                    None => lock(&self.large_cache).untake(wanted.size()),
                }
                None
            }
        }
    }

    /// A large block of `layout`, tagged `tag`, its first bytes `prefix` (`prefix.len <=
    /// layout.size()`); `true` when its data is known to be zero (beyond the prefix).
    fn alloc_large_inner(
        &self,
        layout: Layout,
        tag: u8,
        prefix: Prefix,
    ) -> Option<(NonNull<u8>, bool)> {
        let wanted = mapping_layout(
            layout.size(),
            layout.align(),
            self.large_redzone(layout.size()),
        )?;
        let header = internal::alloc_metadata(core::mem::size_of::<LargeBlock>(), 16)?
            .as_ptr()
            .cast::<LargeBlock>();
        let alloc_trace = self.trace_here();
        // Safety mode holds the reuse cache's lock until the block's range is registered: a
        // reused mapping holds a freed block's old contents until it is cleared, and the
        // exit-time leak scan, which stops threads only outside gpa's locks, must find such a
        // mapping only in the cache (returned to the OS before the scan) or registered (the
        // GPA's memory, never a root).
        let mut held = self.config.safety.then(|| lock(&self.large_cache));
        let mut mapped = self.large_mapping(wanted, held.as_deref_mut());
        if mapped.is_none() && self.config.safety {
            // Out of address space (`RLIMIT_AS`) with freed blocks' ranges still reserved:
            // give them back (their records stay) rather than fail a malloc that would
            // succeed natively.
            drop(held.take());
            if self.empty_large_quarantine() {
                held = Some(lock(&self.large_cache));
                mapped = self.large_mapping(wanted, held.as_deref_mut());
            }
        }
        let Some((memory, mapping, contents)) = mapped else {
            // SAFETY: allocated above, never published.
            unsafe { internal::free(NonNull::new_unchecked(header.cast())) };
            return None;
        };
        let base = memory.as_ptr() as usize;
        // The data lies behind the front (the mapping's base is aligned to at least the
        // alignment, so the data is too).
        let data = base + front_len(layout.align());
        // SAFETY: a fresh internal block sized and aligned for the header.
        unsafe {
            header.write(LargeBlock {
                common: SegmentCommon::new(
                    SegmentKind::Large,
                    self.id(),
                    self.config.canary,
                    header as usize,
                ),
                base,
                front: data - base,
                mapping_len: mapping.size(),
                registered_len: mapping.size(),
                mapping_align: mapping.align(),
                requested: layout.size(),
                align: layout.align(),
                state: AtomicU8::new(SLOT_LIVE),
                reserved: false,
                tag: AtomicU8::new(tag),
                mark: AtomicU8::new(0),
                alloc_trace: AtomicU32::new(alloc_trace.0),
                free_trace: AtomicU32::new(0),
                serial: AtomicU32::new(if self.config.safety {
                    super::heap::next_serial()
                } else {
                    0
                }),
                next: core::ptr::null_mut(),
                prev: core::ptr::null_mut(),
            });
        }
        if !pagemap::register_large(base, mapping.size(), header) {
            match held.as_deref_mut() {
                Some(cache) => cache.untake(mapping.size()),
                None => lock(&self.large_cache).untake(mapping.size()),
            }
            // SAFETY: never published (unmapped before the lock goes).
            unsafe {
                self.config.backing_allocator.free(memory, mapping);
                internal::free(NonNull::new_unchecked(header.cast()));
            }
            return None;
        }
        drop(held);
        if let Contents::Stale(stale) = contents {
            // Safety mode hands out no freed block's old contents: the leak scan at exit reads
            // a live block's every word, and a stale pointer in bytes the program never wrote
            // would keep a leaked block "reachable" (Valgrind skips such bytes as undefined; a
            // fresh mapping reads as zero). Cleared here, just before the program fills the
            // block, whose pages are then still in the caches: 337 ms against 376 ms for
            // bench/c/malloc-large when they were cleared at the free (docs/performance.md,
            // "Check mode: large blocks reused").
            // The front is not the block's (no scan reads it) and stays untouched: clearing
            // it would make a page of it resident.
            // SAFETY: the mapping is ours, registered, not yet handed out, at least `stale`
            // bytes long, of which the front's are skipped.
            unsafe {
                core::ptr::write_bytes(data as *mut u8, 0, stale.saturating_sub(data - base))
            };
        }
        let zeroed = contents != Contents::Unknown;
        // Canary and prefix before the block joins the live list, which the exit-time walk of
        // live blocks reads (a thread it stopped here leaves no block without them).
        // SAFETY: the mapping is ours; data and redzone lie inside it, and the prefix inside
        // the data (`prefix.len <= layout.size()`).
        unsafe {
            if self.config.safety {
                safety::write_canary(data, layout.size(), mapping.size() - (data - base));
                let guard = front_guard_len(data - base);
                safety::write_canary(data - guard, 0, guard);
            }
            prefix.fill(data);
        }
        // The pointer the caller will hand out past its prefix (the C ABI's user pointer) is
        // kept in this frame while the block joins the list: a thread stopped inside the
        // lock (whose callees may have saved `base` on the stack) holds the block by the
        // pointer the exit-time leak scan looks for, not only by its start.
        let user = data + prefix.len;
        let held = core::hint::black_box(&user);
        // SAFETY: the header was initialized above and is in no list.
        unsafe { lock(&self.large).push(header) };
        core::hint::black_box(held);
        NonNull::new(data as *mut u8).map(|data| (data, zeroed))
    }

    /// Frees a large block after validating the pointer and, in safety mode, its state.
    ///
    /// # Safety
    /// `header` is a sound header of one of this GPA's large blocks.
    pub(super) unsafe fn free_large(
        &self,
        header: *mut LargeBlock,
        memory: NonNull<u8>,
        claimed: Option<Layout>,
    ) {
        let address = memory.as_ptr() as usize;
        // SAFETY: caller contract.
        let block = unsafe { &*header };
        if address != block.data() {
            let mut finding = self.large_finding(FindingKind::InvalidFree, block);
            finding.address = address;
            finding.offset = Some(address.wrapping_sub(block.data()) as isize);
            if block.state.load(Ordering::Acquire) == SLOT_LIVE {
                finding.free_trace = TraceId::NONE;
            }
            finding.block_claim = BlockClaim::on(&block.mark, block as *const LargeBlock as usize);
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
            let mut finding = self.large_finding(FindingKind::DoubleFree, block);
            finding.block_claim = BlockClaim::on(&block.mark, block as *const LargeBlock as usize);
            self.record(finding);
            return;
        }
        if self.config.enable_memory_limit {
            self.uncharge(block.requested);
        }
        if self.config.safety {
            self.check_large_redzone(block, false);
        }
        block
            .free_trace
            .store(self.trace_here().0, Ordering::Relaxed);
        // SAFETY: the header is in the live list (it was live until the CAS above).
        unsafe { lock(&self.large).remove(header) };
        // SAFETY: the block is freed and unlisted; the retention policy decides its memory.
        unsafe { self.retire_large(header) };
    }

    /// Checks the redzone of a live large block; reports an overflow (with the first
    /// damaged byte's offset) and rewrites it so it is reported once. `at_exit`: found by a
    /// walk of live blocks (no detection trace, see `check_small_redzone`).
    /// Also checks the front guard ([`front_guard_len`] bytes before the data): a write
    /// there is reported as an underflow, offset from the data's start.
    pub(super) fn check_large_redzone(&self, block: &LargeBlock, at_exit: bool) -> bool {
        let (data, requested, capacity) = (block.data(), block.requested, block.capacity());
        let guard = front_guard_len(block.front);
        // SAFETY: the block is live (caller); data, redzone and front guard lie inside its
        // mapping.
        let overflow = unsafe { safety::canary_damage(data, requested, capacity) };
        // SAFETY: as above.
        let underflow = unsafe { safety::canary_damage(data - guard, 0, guard) };
        let mut intact = true;
        for (kind, offset) in [
            (FindingKind::Overflow, overflow.map(|at| at as isize)),
            (
                FindingKind::Underflow,
                underflow.map(|at| at as isize - guard as isize),
            ),
        ] {
            let Some(offset) = offset else {
                continue;
            };
            intact = false;
            let mut finding = RawFinding::new(kind, data);
            finding.size = requested;
            finding.align = block.align;
            finding.alloc_trace = TraceId(block.alloc_trace.load(Ordering::Relaxed));
            finding.offset = Some(offset);
            if !at_exit {
                finding.site_trace = self.trace_here();
            }
            self.record(finding);
        }
        if !intact {
            // SAFETY: as above.
            unsafe {
                safety::write_canary(data, requested, capacity);
                safety::write_canary(data - guard, 0, guard);
            }
        }
        intact
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

    /// Safety mode: moves a freed block's pages (its memory, resident) into a mapping of their
    /// own that joins the reuse cache ([`LargeCache`]), when the cache takes a mapping of this
    /// size and the backing allocator can move pages (`RawAllocator::move_pages_out`: the page
    /// allocator, Linux 5.7 and later). The block's range stays mapped, without pages, for
    /// [`Self::reserve_range`] to make inaccessible. `true` when the pages moved.
    ///
    /// The next large block of a fitting size gets those pages at a fresh address: no page
    /// fault and no zeroing by the kernel, while the freed block's own range stays reserved
    /// and inaccessible in the quarantine, so a use after free of it faults as before.
    fn park_pages(&self, block: &LargeBlock) -> bool {
        let layout = block.layout();
        // The lock is held throughout, so that the exit-time leak scan (which stops threads
        // only outside gpa's locks) finds the old contents either in the freed block's range
        // (the GPA's memory, never a root) or in the cache (returned to the OS before the
        // scan), never in a mapping between them.
        let mut cache = lock(&self.large_cache);
        if layout.size() > cache.budget() {
            return false;
        }
        let backing = self.config.backing_allocator;
        // SAFETY: the block is freed (caller of `retire_large`); its mapping is ours with this
        // layout, and nobody needs its contents in place.
        let Some(moved) = (unsafe {
            backing.move_pages_out(NonNull::new_unchecked(block.base as *mut u8), layout)
        }) else {
            return false;
        };
        let mut evicted: Evicted = [(0, layout); LARGE_CACHE_ENTRIES + 1];
        let count = cache.put_reusable(moved.as_ptr() as usize, layout, &mut evicted);
        // SAFETY: evicted mappings came from the backing allocator with these layouts and
        // nothing uses them.
        unsafe { self.free_mappings(&evicted[..count]) };
        true
    }

    /// Returns the mappings of the reuse cache to the backing allocator (the quarantine of
    /// freed blocks stays): before a leak scan reads every readable mapping as a root, which
    /// the cache's mappings, holding freed blocks' old contents, must not be. Under the lock,
    /// so that no thread is stopped with such a mapping out of the cache and still mapped.
    pub(crate) fn release_reusable_large(&self) {
        let mut evicted: Evicted = [(0, Layout::new::<u8>()); LARGE_CACHE_ENTRIES + 1];
        let mut cache = lock(&self.large_cache);
        let count = cache.drain(&mut evicted);
        // SAFETY: as in `release_large`.
        unsafe { self.free_mappings(&evicted[..count]) };
        drop(cache);
    }

    /// Makes a freed block's range inaccessible and returns its memory to the OS, keeping the
    /// range reserved. `false` when the OS refused (the range is then released normally).
    ///
    /// # Safety
    /// `block` is freed and nobody uses its memory.
    unsafe fn reserve_range(&self, block: &mut LargeBlock) -> bool {
        // Safety mode first hands the pages to the reuse cache (then the range holds none).
        let moved = self.config.safety && !self.config.retain_metadata && self.park_pages(block);
        // SAFETY: caller contract; the mapping is page-aligned and ours.
        unsafe {
            let base = NonNull::new_unchecked(block.base as *mut u8);
            if !os::protect(base, block.mapping_len, false) {
                return false;
            }
            if !moved {
                os::discard(base, block.mapping_len);
            }
        }
        block.reserved = true;
        // A use after free now faults: let the fault be reported as one (`fault`).
        super::fault::install_default_hook();
        true
    }

    /// Gives a freed large block's memory back, or keeps (part of) it for diagnosis.
    ///
    /// # Safety
    /// `header` is a freed large block of this GPA in no list.
    unsafe fn retire_large(&self, header: *mut LargeBlock) {
        // SAFETY: caller contract.
        let block = unsafe { &mut *header };
        if self.config.safety || self.config.never_unmap || self.config.retain_metadata {
            // No longer live in the reuse cache's bounds (fast mode's release counts it when
            // the mapping joins the cache).
            lock(&self.large_cache).untake(block.mapping_len);
        }
        if self.config.never_unmap || self.config.retain_metadata {
            if self.config.never_unmap {
                if self.config.safety {
                    // SAFETY: the data is ours until the block is released.
                    unsafe {
                        safety::poison(block.data(), block.requested.min(safety::POISON_LIMIT))
                    };
                }
            } else {
                // Keep the header and the range: a stale pointer anywhere in it still finds
                // this header and is diagnosed, and a use of it faults.
                // SAFETY: caller contract.
                unsafe { self.reserve_range(block) };
            }
            // SAFETY: freed and unlisted (caller contract).
            unsafe { lock(&self.retained).push(header) };
            return;
        }
        if !self.config.safety {
            // SAFETY: caller contract; the block leaves the page map before its memory goes.
            unsafe { self.release_large(header) };
            return;
        }
        // SAFETY: caller contract.
        if !unsafe { self.reserve_range(block) } {
            lock(&self.recently_freed_large).remember(block);
            // SAFETY: as above.
            unsafe { self.release_large(header) };
            return;
        }
        let mut leaving = [core::ptr::null_mut(); 4];
        let mut count = 0;
        {
            let mut freed = lock(&self.recently_freed_large);
            // SAFETY: freed and unlisted (caller contract).
            unsafe { freed.quarantine.push(header) };
            freed.quarantine_bytes += block.mapping_len;
            while count < leaving.len()
                && freed.quarantine.count > 1
                && (freed.quarantine.count > QUARANTINE_BLOCKS
                    || freed.quarantine_bytes > quarantine_bytes())
            {
                let oldest = freed.quarantine.tail;
                // SAFETY: the tail is a quarantined header; it leaves the list here.
                unsafe {
                    freed.quarantine.remove(oldest);
                    freed.quarantine_bytes -= (*oldest).mapping_len;
                    freed.remember(&*oldest);
                }
                leaving[count] = oldest;
                count += 1;
            }
        }
        for &oldest in &leaving[..count] {
            // SAFETY: out of every list; nobody uses a quarantined block.
            unsafe { self.release_large(oldest) };
        }
    }

    /// What is known of a freed large block that held `address` (its range may have been
    /// given back since): from its header while it is quarantined or retained, else from the
    /// ring of records.
    pub(super) fn freed_large_at(&self, address: usize) -> Option<FreedLarge> {
        if !self.config.safety && !self.config.retain_metadata {
            return None;
        }
        if let Some(pagemap::Entry::Large(header)) = pagemap::lookup(address) {
            // SAFETY: the page map validated a live internal block; soundness checked next.
            let block = unsafe { &*header };
            if block.is_sound()
                && self.owns_header(&block.common)
                && block.state.load(Ordering::Acquire) == SLOT_FREED
            {
                return Some(FreedLarge {
                    start: block.data(),
                    requested: block.requested,
                    align: block.align,
                    alloc_trace: TraceId(block.alloc_trace.load(Ordering::Relaxed)),
                    free_trace: TraceId(block.free_trace.load(Ordering::Relaxed)),
                });
            }
            return None;
        }
        let record = lock(&self.recently_freed_large).find(address)?;
        Some(FreedLarge {
            start: record.start,
            requested: record.requested,
            align: record.align,
            alloc_trace: TraceId(record.alloc_trace),
            free_trace: TraceId(record.free_trace),
        })
    }

    /// A double free (at the start) or invalid free (inside) of a large block whose range
    /// was given back, if `address` was in one.
    pub(super) fn recently_freed_large_at(&self, address: usize) -> Option<RawFinding> {
        if !self.config.safety || address == 0 {
            return None;
        }
        let record = lock(&self.recently_freed_large).find(address)?;
        let mut finding = super::free_of_freed_block(address, record.start);
        finding.size = record.requested;
        finding.align = record.align;
        finding.alloc_trace = TraceId(record.alloc_trace);
        finding.free_trace = TraceId(record.free_trace);
        Some(finding)
    }

    /// Unregisters a large block, returns its mapping to the backing allocator (or to the
    /// cache of mappings, in fast mode) and frees its header.
    ///
    /// # Safety
    /// `header` is a large block of this GPA in no list; nobody uses it any more.
    pub(super) unsafe fn release_large(&self, header: *mut LargeBlock) {
        // SAFETY: caller contract.
        let block = unsafe { &mut *header };
        let (base, layout) = (block.base, block.layout());
        pagemap::unregister(base, block.registered_len);
        if block.reserved {
            // The backing allocator may hand the memory to anyone: make it usable again.
            // SAFETY: the mapping is ours and unused.
            unsafe {
                os::protect(
                    NonNull::new_unchecked(base as *mut u8),
                    block.mapping_len,
                    true,
                )
            };
        }
        // SAFETY: the header is a live internal block that nobody uses any more.
        unsafe { internal::free(NonNull::new_unchecked(header.cast())) };
        let mut evicted: Evicted = [(0, layout); LARGE_CACHE_ENTRIES + 1];
        let count = if self.config.safety {
            // In safety mode a freed block's memory goes away at once, so a use after free
            // faults instead of reading another block's data.
            evicted[0] = (base, layout);
            1
        } else {
            lock(&self.large_cache).put(base, layout, &mut evicted)
        };
        // SAFETY: evicted mappings came from the backing allocator with these layouts and
        // nothing uses them.
        unsafe { self.free_mappings(&evicted[..count]) };
    }

    /// Releases every quarantined freed block's range, remembering each in the records;
    /// whether there was one.
    #[cold]
    fn empty_large_quarantine(&self) -> bool {
        let mut released = lock(&self.large_cache).len != 0;
        self.release_reusable_large();
        loop {
            let oldest = {
                let mut freed = lock(&self.recently_freed_large);
                let oldest = freed.quarantine.tail;
                if oldest.is_null() {
                    return released;
                }
                // SAFETY: the tail is a quarantined header; it leaves the list here.
                unsafe {
                    freed.quarantine.remove(oldest);
                    freed.quarantine_bytes -= (*oldest).mapping_len;
                    freed.remember(&*oldest);
                }
                oldest
            };
            // SAFETY: out of every list; nobody uses a quarantined block.
            unsafe { self.release_large(oldest) };
            released = true;
        }
    }

    /// Returns every cached mapping to the backing allocator, and every quarantined freed
    /// block's range; forgets the records of freed blocks.
    pub(super) fn flush_large_cache(&self) {
        self.release_reusable_large();
        loop {
            let oldest = {
                let mut freed = lock(&self.recently_freed_large);
                let oldest = freed.quarantine.tail;
                if oldest.is_null() {
                    let records = core::mem::replace(&mut freed.records, core::ptr::null_mut());
                    freed.len = 0;
                    freed.next = 0;
                    if let Some(records) = NonNull::new(records) {
                        // SAFETY: the records array came from the internal heap; unused now.
                        unsafe { internal::free(records.cast()) };
                    }
                    break;
                }
                // SAFETY: the tail is a quarantined header; it leaves the list here.
                unsafe {
                    freed.quarantine.remove(oldest);
                    freed.quarantine_bytes -= (*oldest).mapping_len;
                }
                oldest
            };
            // SAFETY: out of every list; nobody uses a quarantined block.
            unsafe { self.release_large(oldest) };
        }
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
    /// `header` is a sound header of one of this GPA's large blocks.
    pub(super) unsafe fn resize_large(
        &self,
        header: *mut LargeBlock,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> bool {
        // SAFETY: caller contract.
        let block = unsafe { &mut *header };
        let address = memory.as_ptr() as usize;
        if address != block.data() || block.state.load(Ordering::Acquire) != SLOT_LIVE {
            let kind = if address == block.data() {
                FindingKind::DoubleFree
            } else {
                FindingKind::InvalidFree
            };
            let mut finding = self.large_finding(kind, block);
            finding.address = address;
            finding.block_claim = BlockClaim::on(&block.mark, block as *const LargeBlock as usize);
            self.record(finding);
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
        let extra = self.large_redzone(new_len);
        let Some(needed) = new_len.checked_add(extra) else {
            return false;
        };
        if self.config.safety {
            self.check_large_redzone(block, false);
        }
        if needed > block.capacity() {
            let Some(wanted) = mapping_layout(new_len, block.align, extra) else {
                return false;
            };
            // SAFETY: the mapping is ours; the backing allocator grows it without moving.
            let grown = unsafe {
                self.config.backing_allocator.resize(
                    NonNull::new_unchecked(block.base as *mut u8),
                    block.layout(),
                    wanted.size(),
                )
            };
            if !grown || !pagemap::register_large(block.base, wanted.size(), header) {
                return false;
            }
            if self.config.safety {
                // The grown part gets its canary before the larger capacity is published:
                // the exit-time walk of live blocks, which may stop this thread anywhere,
                // checks the redzone from `requested` to the capacity.
                // SAFETY: the grown mapping holds `wanted.size()` bytes from its base, the
                // data's front fewer from the data.
                unsafe {
                    safety::write_canary(block.data(), block.requested, wanted.size() - block.front)
                };
            }
            block.mapping_len = wanted.size();
            block.registered_len = block.registered_len.max(wanted.size());
        }
        if self.config.safety {
            // SAFETY: data and redzone are inside the mapping.
            unsafe { safety::write_canary(block.data(), new_len, block.capacity()) };
        }
        block.requested = new_len;
        if self.config.resize_stack_traces {
            // As a moved block (Valgrind's `realloc`): a new trace and a new serial.
            block
                .alloc_trace
                .store(self.trace_here().0, Ordering::Relaxed);
            if self.config.safety {
                block
                    .serial
                    .store(super::heap::next_serial(), Ordering::Relaxed);
            }
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
        let header = self.own_large_header(address)?;
        // SAFETY: a sound large block header of ours.
        let block = unsafe { &mut *header };
        if address != block.data()
            || block.state.load(Ordering::Acquire) != SLOT_LIVE
            || layout.size() != block.requested
            || layout.align() != block.align
            || super::size_class::class_for(new_len, block.align).is_some()
        {
            return None;
        }
        let wanted = mapping_layout(new_len, block.align, self.large_redzone(new_len))?;
        if wanted.size() <= block.mapping_len || wanted.align() != block.mapping_align {
            return None;
        }
        if self.config.enable_memory_limit && !self.charge(new_len - layout.size()) {
            return None;
        }
        if self.config.safety {
            self.check_large_redzone(block, false);
        }
        let (old_base, old_layout, old_registered) =
            (block.base, block.layout(), block.registered_len);
        // The move is published under the live list's lock: the exit-time scan holds every
        // lock of the GPA while it stops the other threads (`prepare_fork`, as a `fork`
        // does), so no thread is stopped, and no child forked, between the old place going
        // away and the new one being complete: a walk of the live list sees the block whole
        // at one place or the other, never a new base with an old size.
        let listed = lock(&self.large);
        // Nobody may find the block at its old place while it moves.
        pagemap::unregister(old_base, old_registered);
        // SAFETY: the mapping is ours with this layout; on success the old one is gone.
        let moved = unsafe {
            self.config.backing_allocator.remap(
                NonNull::new_unchecked(old_base as *mut u8),
                old_layout,
                wanted.size(),
            )
        };
        let Some(new_base) = moved else {
            pagemap::register_large(old_base, old_registered, header);
            drop(listed);
            if self.config.enable_memory_limit {
                self.uncharge(new_len - layout.size());
            }
            return None;
        };
        let new_base = new_base.as_ptr() as usize;
        if self.config.safety {
            // The redzone (from the new size to the new capacity) gets its canary before the
            // new place is published; the bytes the block held keep theirs (the old redzone,
            // now inside the block, is overwritten by the program).
            // SAFETY: the moved mapping holds `wanted.size()` bytes from `new_base`, the data
            // lying its front after it.
            unsafe {
                safety::write_canary(new_base + block.front, new_len, wanted.size() - block.front)
            };
        }
        block.base = new_base;
        block.mapping_len = wanted.size();
        block.registered_len = wanted.size();
        block.requested = new_len;
        drop(listed);
        // The page map publishes the new place (a release store per entry) after the header
        // holds all of it: a lookup by an address of the new range (`malloc_usable_size`, a
        // libc call's check, a fault) that finds the header reads the new base, capacity and
        // size together. The first chunk (which holds the data's start, all that frees and
        // lookups need) is registered first; a later chunk's leaf failing to map only leaves
        // interior pointers of the block unrecognized.
        let _ = pagemap::register_large(new_base, wanted.size(), header);
        NonNull::new((new_base + block.front) as *mut u8)
    }

    /// The sound header of this GPA's large block covering `address`, if there is one.
    pub(super) fn own_large_header(&self, address: usize) -> Option<*mut LargeBlock> {
        let pagemap::Entry::Large(header) = pagemap::lookup(address)? else {
            return None;
        };
        // SAFETY: the page map validated a live block of the internal heap at `header`.
        let block = unsafe { &*header };
        (block.is_sound() && self.owns_header(&block.common)).then_some(header)
    }
}

const _: () = assert!(SLOT_FREED != SLOT_LIVE);

#[cfg(test)]
mod tests {
    use super::lock;
    use crate::gpa::{Check, Config, GeneralPurposeAllocator, OnError};

    #[test]
    fn fast_mode_reuses_cached_mappings_and_still_rejects_a_second_free() {
        let mut gpa = GeneralPurposeAllocator::with_config(Config {
            on_error: OnError::Record,
            ..Config::fast()
        });
        // More freed mappings than the cache held before (16), of many sizes, each filled.
        let sizes: Vec<usize> = (0..40).map(|i| (300 << 10) + i * 37 * 4096 + i).collect();
        let blocks: Vec<*mut u8> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let block = gpa.alloc_unsized(size, 16);
                assert!(!block.is_null());
                // SAFETY: a fresh block of `size` bytes.
                unsafe { block.write_bytes(i as u8, size) };
                block
            })
            .collect();
        for &block in &blocks {
            // SAFETY: live blocks of this GPA, freed once.
            unsafe { gpa.free_unsized(block) };
        }
        // A second free of a block whose mapping sits in the cache is rejected, not followed.
        // Fast mode keeps no record of freed large blocks, so it is an invalid free of a
        // pointer that is not ours (Valgrind memcheck on the same C program, a 300,000-byte
        // block freed twice: "Invalid free() / delete / delete[] / realloc()").
        // SAFETY: deliberate double free; fast mode validates the pointer first.
        unsafe { gpa.free_unsized(blocks[7]) };
        let report = gpa.report();
        assert_eq!(report.findings.len(), 1, "{report}");
        assert_eq!(
            report.findings[0].kind,
            crate::report::FindingKind::InvalidFree
        );
        assert_eq!(report.findings[0].address, blocks[7] as usize);
        // Blocks made from cached mappings hold what is written to them, whole.
        let again: Vec<(*mut u8, usize)> = sizes
            .iter()
            .rev()
            .map(|&size| {
                let block = gpa.alloc_unsized(size, 16);
                assert!(!block.is_null());
                // SAFETY: a fresh block of `size` bytes.
                unsafe { block.write_bytes(0xa5, size) };
                (block, size)
            })
            .collect();
        for &(block, size) in &again {
            // SAFETY: live blocks of `size` bytes, read, then freed once.
            unsafe {
                assert!(core::slice::from_raw_parts(block, size)
                    .iter()
                    .all(|&b| b == 0xa5));
                gpa.free_unsized(block);
            }
        }
        assert_eq!(gpa.report().findings.len(), 1, "{}", gpa.report());
        gpa.take_report();
        assert_eq!(gpa.deinit(), Check::Ok);
    }

    #[test]
    fn safety_mode_reuses_a_freed_blocks_memory_and_keeps_its_range_quarantined() {
        let mut gpa = GeneralPurposeAllocator::with_config(Config {
            on_error: OnError::Record,
            ..Config::debug()
        });
        let size = 1 << 20;
        let old = gpa.alloc_unsized(size, 16);
        assert!(!old.is_null());
        // SAFETY: a fresh block of `size` bytes; filled with a pointer-like pattern, then
        // freed once.
        unsafe {
            old.write_bytes(0xa5, size);
            gpa.free_unsized(old);
        }
        let parked = lock(&gpa.large_cache).len;
        if parked == 0 {
            // The kernel cannot move pages (`MREMAP_DONTUNMAP`, Linux 5.7): nothing to test.
            eprintln!("skipped: no mapping kept for reuse");
            assert_eq!(gpa.deinit(), Check::Ok);
            return;
        }
        assert_eq!(parked, 1);
        for (round, zeroed) in [(0, false), (1, true)] {
            let new = if zeroed {
                gpa.calloc(size - 4096)
            } else {
                gpa.alloc_unsized(size, 16)
            };
            assert!(!new.is_null());
            // The memory was taken from the cache, at an address of its own.
            assert_eq!(lock(&gpa.large_cache).len, 0, "round {round}");
            assert_ne!(new, old);
            let len = if zeroed { size - 4096 } else { size };
            // SAFETY: a live block of `len` bytes: read, filled, then freed once.
            unsafe {
                // Reused memory holds none of the old contents.
                assert!(core::slice::from_raw_parts(new, len)
                    .iter()
                    .all(|&b| b == 0));
                new.write_bytes(0x5a, len);
                gpa.free_unsized(new);
            }
            // The first block is still known as freed, with both traces: its range stayed
            // reserved (a use of it faults and is reported as a use after free).
            let freed = gpa.block_containing(old as usize + 5000).unwrap();
            assert_eq!(
                (freed.start, freed.size, freed.live),
                (old as usize, size, false)
            );
            assert!(freed.alloc_trace.is_some() && freed.free_trace.is_some());
        }
        // A smaller block from a bigger cached mapping: the block gets exactly its own size
        // (its redzone as a fresh block's), the tail of a mebibyte or more stays cached as a
        // mapping of its own, and serves the next block, cleared too.
        gpa.release_reusable_large();
        let big = gpa.alloc_unsized(4 << 20, 16);
        // SAFETY: a fresh block of 4 MiB, filled, then freed once.
        unsafe {
            big.write_bytes(0xa5, 4 << 20);
            gpa.free_unsized(big);
        }
        let small = gpa.alloc_unsized(size, 16);
        let header = gpa.own_large_header(small as usize).unwrap();
        let fresh = super::mapping_layout(size, 16, crate::gpa::safety::redzone(size)).unwrap();
        // SAFETY: the live block's sound header.
        assert_eq!(unsafe { (*header).mapping_len }, fresh.size());
        assert_eq!(lock(&gpa.large_cache).len, 1, "the tail is cached");
        let tail = gpa.alloc_unsized(2 << 20, 16);
        assert_eq!(lock(&gpa.large_cache).len, 0, "the tail is reused");
        // SAFETY: live blocks of these sizes, read, then freed once.
        unsafe {
            for (block, len) in [(small, size), (tail, 2 << 20)] {
                assert!(core::slice::from_raw_parts(block, len)
                    .iter()
                    .all(|&b| b == 0));
                gpa.free_unsized(block);
            }
        }
        assert!(gpa.report().is_clean(), "{}", gpa.report());
        assert_eq!(gpa.deinit(), Check::Ok);
    }

    /// Reads every byte a C program may read around a large block (glibc's mmapped chunk:
    /// see the module docs): the page before the data and from its end to the end of that
    /// page, plus [`super::TAIL_SLACK`] - 1 bytes. A fault here kills the test.
    fn read_edges(block: *mut u8, size: usize) -> u32 {
        let page = crate::os::page_size();
        let end = block as usize + size;
        let last = (end + super::TAIL_SLACK - 1) | (page - 1);
        let mut sum = 0u32;
        for address in (block as usize - page..block as usize).chain(end..=last) {
            // SAFETY: the front and the tail of the block's mapping (what this test checks).
            sum += u32::from(unsafe { core::ptr::read_volatile(address as *const u8) });
        }
        sum
    }

    /// The layout invariants of the module docs for one live block: the data behind a front
    /// of a page (or the alignment), aligned; the mapping's base aligned to 4 MiB at least;
    /// at least `TAIL_SLACK` bytes (fast mode) or the redzone (safety mode) behind the data;
    /// every chunk registered.
    fn assert_layout(gpa: &GeneralPurposeAllocator, block: *mut u8, size: usize, align: usize) {
        use super::super::segment::SEGMENT_SIZE;
        let header = gpa.own_large_header(block as usize).expect("a large block");
        // SAFETY: the live block's sound header.
        let header = unsafe { &*header };
        let front = super::front_len(align);
        assert_eq!(front % crate::os::page_size(), 0);
        assert!(front >= crate::os::page_size() && front >= align);
        assert_eq!(header.data(), block as usize);
        assert_eq!(header.front, front);
        assert_eq!(header.base + front, block as usize);
        assert_eq!(block as usize % align, 0);
        assert_eq!(header.base % SEGMENT_SIZE.max(align), 0);
        assert_eq!(header.capacity(), header.mapping_len - front);
        let extra = if gpa.config.safety {
            crate::gpa::safety::redzone(size)
        } else {
            super::TAIL_SLACK
        };
        assert!(header.capacity() >= size + extra);
        assert!(header.is_sound());
        assert!(header.maps(header.base) && !header.maps(header.base + header.mapping_len));
        for offset in (0..header.mapping_len).step_by(SEGMENT_SIZE) {
            assert_eq!(
                crate::gpa::pagemap::lookup(header.base + offset),
                Some(crate::gpa::pagemap::Entry::Large(
                    header as *const _ as *mut _
                ))
            );
        }
    }

    #[test]
    fn mapping_layout_puts_a_front_before_the_data_and_slack_after_it() {
        let page = crate::os::page_size();
        for (size, align, extra) in [
            (200_000, 16, super::TAIL_SLACK),
            (256 << 10, 16, super::TAIL_SLACK),
            (256 << 10, 8192, super::TAIL_SLACK),
            (1 << 20, 4 << 20, 1024),
            (100, 1 << 23, 32),
        ] {
            let layout = super::mapping_layout(size, align, extra).unwrap();
            let front = super::front_len(align);
            assert_eq!(front, align.max(page));
            assert_eq!(layout.align(), align.max(4 << 20));
            assert_eq!(layout.size() % page, 0);
            assert_eq!(
                layout.size() - front,
                (size + extra).next_multiple_of(page),
                "{size} at {align}"
            );
        }
        // glibc's mmapped chunk ends `ALIGN_UP(request2size(n) + 8, page)` bytes after its
        // base, its data 16 bytes in: fast mode's tail reaches at least as far past the data.
        for size in (128 << 10)..(128 << 10) + 3 * page {
            let glibc = (((size + 23) & !15) + 8).next_multiple_of(page) - 16 - size;
            let layout = super::mapping_layout(size, 16, super::TAIL_SLACK).unwrap();
            let ours = layout.size() - super::front_len(16) - size;
            assert!(ours >= glibc && ours >= super::TAIL_SLACK, "{size}");
        }
    }

    #[test]
    fn a_large_blocks_edges_read_in_every_state_of_its_mapping() {
        for config in [Config::fast(), Config::debug()] {
            let safety = config.safety;
            let mut gpa = GeneralPurposeAllocator::with_config(Config {
                on_error: OnError::Record,
                ..config
            });
            let page = crate::os::page_size();
            // Fresh mappings (all live at once, none from the reuse cache) of many sizes and
            // alignments: the front reads as zeros (fast mode) or the front guard's canary
            // (safety mode).
            let mut live = Vec::new();
            for (size, align) in [
                (200_000, 16),
                (256 << 10, 16),
                (256 << 10, 512),
                (300 << 10, 8192),
                (64 << 10, 1 << 20),
                (1 << 20, 4 << 20),
                (5 << 20, 16),
            ] {
                let block = gpa.alloc_unsized(size, align);
                assert!(!block.is_null());
                assert_layout(&gpa, block, size, align);
                // SAFETY: a live block of `size` bytes, written, then its edges read.
                unsafe { block.write_bytes(0xa5, size) };
                read_edges(block, size);
                // SAFETY: the page before the data is the block's front (read above).
                let front = unsafe { core::slice::from_raw_parts(block.sub(page), page) };
                let fill = if safety { super::safety::CANARY } else { 0 };
                assert!(front.iter().all(|&b| b == fill), "{size} at {align}");
                live.push(block);
            }
            for block in live {
                // SAFETY: freed once.
                unsafe { gpa.free_unsized(block) };
            }
            // Reuse: the same size again (a cached mapping in fast mode, the parked pages in
            // safety mode), a smaller one from a bigger mapping (trimmed or split), a bigger
            // one (a cached mapping grown with `mremap`).
            for (old, new) in [(1 << 20, 1 << 20), (4 << 20, 600_000), (1 << 20, 1_572_869)] {
                let block = gpa.alloc_unsized(old, 16);
                // SAFETY: a live block, filled, then freed once.
                unsafe {
                    block.write_bytes(0x5a, old);
                    gpa.free_unsized(block);
                }
                let block = gpa.alloc_unsized(new, 16);
                assert_layout(&gpa, block, new, 16);
                read_edges(block, new);
                // SAFETY: freed once.
                unsafe { gpa.free_unsized(block) };
            }
            // calloc: the data reads as zeros, reused memory included.
            for size in [150_000, 3 << 20] {
                let block = gpa.calloc(size);
                assert_layout(&gpa, block, size, 16);
                // SAFETY: a live block of `size` bytes.
                let data = unsafe { core::slice::from_raw_parts(block, size) };
                assert!(data.iter().all(|&b| b == 0));
                read_edges(block, size);
                // SAFETY: freed once.
                unsafe { gpa.free_unsized(block) };
            }
            // realloc: grown in place or moved with `mremap` (the front moves along), then
            // shrunk; the contents stay.
            let mut block = gpa.alloc_unsized(300_000, 16);
            // SAFETY: a live block of 300,000 bytes.
            unsafe { block.write_bytes(0x11, 300_000) };
            for size in [3_000_000, 30_000_000, 12 << 20, 400_000] {
                // SAFETY: a live block of this GPA, replaced by the result.
                block = unsafe { gpa.realloc_unsized(block, size) };
                assert!(!block.is_null());
                // SAFETY: at least 300,000 bytes of the first block were kept.
                assert!(unsafe { core::slice::from_raw_parts(block, 300_000) }
                    .iter()
                    .all(|&b| b == 0x11));
                assert_layout(&gpa, block, size, 16);
                read_edges(block, size);
            }
            // SAFETY: freed once.
            unsafe { gpa.free_unsized(block) };
            assert!(gpa.report().is_clean(), "safety {safety}: {}", gpa.report());
            assert_eq!(gpa.deinit(), Check::Ok);
        }
    }

    #[test]
    fn a_write_before_a_large_block_damages_nothing_of_the_gpas() {
        // The front is the program's to misuse: gpa keeps nothing there (the header is in the
        // internal heap), so the block is still freed whole, and a block made from its
        // mapping again works.
        let mut gpa = GeneralPurposeAllocator::with_config(Config {
            on_error: OnError::Record,
            ..Config::fast()
        });
        let page = crate::os::page_size();
        let block = gpa.alloc_unsized(256 << 10, 16);
        // SAFETY: the block's front (see the module docs), then the block freed once.
        unsafe {
            block.sub(page).write_bytes(0xee, page);
            gpa.free_unsized(block);
        }
        let again = gpa.alloc_unsized(256 << 10, 16);
        assert_layout(&gpa, again, 256 << 10, 16);
        // SAFETY: a live block, freed once.
        unsafe { gpa.free_unsized(again) };
        assert!(gpa.report().is_clean(), "{}", gpa.report());
        assert_eq!(gpa.deinit(), Check::Ok);
    }

    #[test]
    fn a_header_whose_data_would_run_past_its_mapping_is_not_sound() {
        let mut gpa = GeneralPurposeAllocator::with_config(Config::fast());
        let block = gpa.alloc_unsized(256 << 10, 16);
        let header = gpa.own_large_header(block as usize).unwrap();
        // SAFETY: the live block's header, changed and restored by this thread only.
        unsafe {
            let requested = (*header).requested;
            (*header).requested = (*header).capacity() + 1;
            assert!(!(*header).is_sound());
            (*header).requested = requested;
            (*header).align = 3;
            assert!(!(*header).is_sound());
            // A front that does not keep the data aligned.
            (*header).align = 8192;
            assert!(!(*header).is_sound());
            (*header).align = 16;
            assert!((*header).is_sound());
            gpa.free_unsized(block);
        }
        assert_eq!(gpa.deinit(), Check::Ok);
    }

    #[test]
    fn freed_blocks_stay_known_with_their_traces() {
        let mut gpa = GeneralPurposeAllocator::with_config(Config {
            on_error: OnError::Record,
            ..Config::debug()
        });
        let allocator = gpa.allocator();
        let large = allocator.raw_alloc(1 << 20, 8).unwrap();
        let small = allocator.raw_alloc(40, 64).unwrap();
        let (large_at, small_at) = (large.as_ptr() as usize, small.as_ptr() as usize);
        let live = gpa.block_containing(small_at + 10).unwrap();
        assert_eq!(
            (live.start, live.size, live.align, live.live),
            (small_at, 40, 64, true)
        );
        assert!(live.alloc_trace.is_some() && !live.free_trace.is_some());
        // SAFETY: live blocks, each freed once with its layout.
        unsafe {
            allocator.raw_free(large, 1 << 20, 8);
            allocator.raw_free(small, 40, 64);
        }
        // The large block's range stays reserved in the quarantine; the small slot keeps its
        // record until it is reused.
        for (address, start, size) in [
            (large_at + 100, large_at, 1 << 20),
            (small_at, small_at, 40),
        ] {
            let freed = gpa.block_containing(address).unwrap();
            assert_eq!((freed.start, freed.size, freed.live), (start, size, false));
            assert!(freed.alloc_trace.is_some() && freed.free_trace.is_some());
        }
        assert!(gpa.report().is_clean(), "{}", gpa.report());
        assert_eq!(gpa.deinit(), Check::Ok);
    }
}
