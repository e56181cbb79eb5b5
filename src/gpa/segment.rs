//! Segments and pages: where small blocks live, and their out-of-line metadata.
//!
//! # Memory layout
//! ```text
//!  segment (4 MiB, aligned to 4 MiB, from the backing allocator)
//!  ┌──────────────────────────────┬───────────────┬───────────────┬─────┬───────────────┐
//!  │ unit 0                       │ unit 1        │ units 2-3     │ ... │ unit 63       │
//!  │ guard │ Segment  │ guard     │ page (class a)│ page (class b)│     │ free unit     │
//!  │ 16 KiB│ header + │ to 64 KiB │ slot slot ... │ slot slot ... │     │ (PROT_NONE in │
//!  │ (none)│ 64 Page  │ (none)    │               │               │     │  safety mode) │
//!  │       │ descrs   │           │               │               │     │               │
//!  └──────────────────────────────┴───────────────┴───────────────┴─────┴───────────────┘
//! ```
//! A segment is owned by one heap. Unit 0 holds the [`Segment`] header with one [`Page`]
//! descriptor per unit, at [`HEADER_OFFSET`], between two guard regions: user
//! memory starts at unit 1, and whatever lies before the segment (another segment's last page,
//! a large block, any mapping of the program) ends at least 16 KiB before the header, so a
//! stray write that runs off a block in either direction faults before it reaches metadata.
//! The guards' outer OS pages, the first of the segment and the last before unit 1, are
//! read-only (zeros, never committed) and the rest inaccessible: a read a few bytes before a
//! segment's first block or past the last block of the segment before (`s[strlen (s) - 1]`
//! of an empty string; glibc reads its chunk header there) returns zero as natively instead
//! of killing the program in fast mode, where nothing reports it (Dr. Memory's
//! `tests/memalign.c`: `drm_sweep.rs`); writes there fault, and safety mode reports them.
//! Without safety (fast mode) the outer pages are left read-write (zeros, committed only if
//! written): a write a few bytes before a segment's first block or past the last block of
//! the segment before (`p[-1] = 5`, where glibc writes its chunk header and aborts at the
//! `free`; gperftools' `debugallocation_test.cc`: `gperf_sweep.rs`) lands there as a write
//! before any other block lands in the slot before it, instead of killing the program with
//! nothing printed. The inaccessible pages between them and the header still stop a stray
//! write that runs on.
//! A page spans a power-of-two number of units (see `size_class::page_units`) and serves one
//! size class; its slots are carved lazily (`carved`), so a fresh page costs nothing until
//! used. With safety on, each page has a [`SlotMeta`] per slot, allocated separately (out of
//! line, in the guarded internal heap), and free units are made inaccessible, so a wild
//! write into unused parts of a segment faults too.
//!
//! # Invariants
//! * `segment_of(p) = (p & !(SEGMENT_SIZE - 1)) + HEADER_OFFSET` for every block of a small
//!   segment.
//! * For a page: `used == carved - |free list|` in slots (blocks in the heap's quarantine or
//!   remote list still count as used), less the free slots dropped with a list whose link a
//!   program forged (`Page::pop`, `link_in_unit`: in neither until the page is released);
//!   `carved <= capacity`.
//! * `free_units` has bit `u` set exactly when unit `u` belongs to no page; bit 0 is never set.
//! * Only the owning heap's thread touches `free`, `used`, `carved` and the queue links, and
//!   only it reads the memory of slots it does not hold (free slots next to a block, checked
//!   as part of that block's redzone): slots in `SLOT_QUARANTINED` and `SLOT_FREED` are
//!   poisoned and nobody writes them; another thread's free is `SLOT_REMOTE` until drained.
//!   Slots of 64 KiB and more are poisoned in their first and last pages only: in the
//!   quarantine the pages between are inaccessible, after it they hold the old contents
//!   (`quarpages`; no neighbour check reads that far into a slot).
//! * With `guard_free_units`, a unit is accessible exactly while a page uses it; with
//!   `zero_units` as well, the slots of a page that were never carved read as zero.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use super::heap::Heap;
use super::size_class::{class_size, page_units, Class};

/// log2 of the segment size.
pub const SEGMENT_SHIFT: u32 = 22;
/// Segment size and alignment: 4 MiB.
pub const SEGMENT_SIZE: usize = 1 << SEGMENT_SHIFT;
/// A page unit: 64 KiB.
pub const UNIT_SIZE: usize = 64 * 1024;
/// Units in a segment.
pub const UNITS: usize = SEGMENT_SIZE / UNIT_SIZE;

/// Where the [`Segment`] header lies in its segment: after a guard region, so that nothing
/// mapped before the segment is adjacent to it.
pub const HEADER_OFFSET: usize = 16 * 1024;

/// The generation of the small pages' layout, one counter per shard of segments (a
/// segment's shard: [`generation_shard`] of its address): bumped by [`page_layout_changes`]
/// both before and after any change of which page descriptor covers a unit of a segment of
/// the shard, of a descriptor's shape, or of its metadata pointer (a page claimed, a page
/// released, a segment released). A lookup remembered in one generation of its address's
/// shard (check mode's C `free`, `c_checked::FreeLookup`) is still what the lookup would find
/// while that generation is the same: the generation is read before the lookup, so a lookup
/// that ran while a change was under way (and may have seen the old layout) is remembered in
/// a generation the change's second bump ends, and one that starts during a change reads a
/// generation the change's first bump began.
///
/// Sharded, not one process-wide counter: each thread's heap carves pages from segments of
/// its own, and with one counter every page one thread claimed or released made every other
/// thread's remembered lookups stale (bench/c/larson, 2 threads: 3.4 times the full lookups
/// of one thread for the same frees) and moved the counter's cache line to the writer, away
/// from every other thread's next `free`. Each shard has a 128-byte line pair of its own;
/// consecutive segments fall in different shards.
static PAGE_LAYOUT_GENERATIONS: [GenerationShard; GENERATION_SHARDS] =
    [const { GenerationShard(AtomicU64::new(1)) }; GENERATION_SHARDS];

/// Shards of [`PAGE_LAYOUT_GENERATIONS`] (a power of two).
const GENERATION_SHARDS: usize = 32;
const _: () = assert!(GENERATION_SHARDS.is_power_of_two());

/// One shard's generation, alone in its 128 bytes (the adjacent-line prefetcher pairs lines).
#[repr(align(128))]
struct GenerationShard(AtomicU64);

/// The generation counter of the shard of the segment holding `address` (any address of the
/// segment, or its base).
#[inline(always)]
fn generation_shard(address: usize) -> &'static AtomicU64 {
    &PAGE_LAYOUT_GENERATIONS[(address >> SEGMENT_SHIFT) & (GENERATION_SHARDS - 1)].0
}

/// A change of the small pages' layout under way in one shard of segments (see
/// [`page_layout_generation`]): made by [`page_layout_changes`], which starts a new
/// generation, and starting another when dropped, once the change is done.
#[must_use = "the change ends, and a new generation starts, when this is dropped"]
pub struct LayoutChange(&'static AtomicU64);

impl Drop for LayoutChange {
    #[inline]
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// Starts a change of the layout of the small pages of the segment at `segment` (its base,
/// or any address in it): a new generation of its shard now and another when the returned
/// [`LayoutChange`] is dropped (held across the change). On page claims and releases, not on
/// the per-block paths.
#[inline]
pub fn page_layout_changes(segment: usize) -> LayoutChange {
    let shard = generation_shard(segment);
    shard.fetch_add(1, Ordering::AcqRel);
    LayoutChange(shard)
}

/// The current generation of the layout of the small pages of the segment holding `address`,
/// if it is one (never 0).
#[inline(always)]
pub fn page_layout_generation(address: usize) -> u64 {
    generation_shard(address).load(Ordering::Acquire)
}

/// What a header describes; stored as a `u32` tag, so that a header overwritten by a stray
/// write is recognized rather than read as an invalid enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum SegmentKind {
    /// Pages of small blocks ([`Segment`]).
    Small = 0x5347_4d53,
    /// One large block (`large::LargeBlock`).
    Large = 0x4c52_4745,
    /// A guarded area (`guarded::Area`): blocks on pages of their own, against guard pages.
    Guarded = 0x4755_4152,
}

/// The prefix shared by small-segment, large-block and guarded-area headers.
#[repr(C)]
pub struct SegmentCommon {
    /// Which header follows ([`SegmentKind`] as a number).
    pub kind: u32,
    /// The owning GPA instance's id (never reused).
    pub gpa_id: u64,
    /// The owner's `Config::canary`.
    pub canary: u64,
    /// The header's own address: a header copied or overwritten elsewhere does not match.
    pub this: usize,
}

impl SegmentCommon {
    /// A header prefix of `kind` for the header at `this`.
    pub const fn new(kind: SegmentKind, gpa_id: u64, canary: u64, this: usize) -> Self {
        SegmentCommon {
            kind: kind as u32,
            gpa_id,
            canary,
            this,
        }
    }

    /// Whether this prefix is intact and of `kind` (the header was not overwritten).
    #[inline]
    pub fn is(&self, kind: SegmentKind) -> bool {
        self.kind == kind as u32 && self.this == self as *const SegmentCommon as usize
    }
}

/// A free slot, linked through its first word.
#[repr(C)]
pub struct FreeBlock {
    /// The next free slot of the same list.
    pub next: *mut FreeBlock,
}

/// The bits in which a free-list link and the slot holding it may differ for the link to pass
/// [`link_in_unit`]: everything above the 64 KiB unit, and the low four bits (C slots are
/// multiples of 16 bytes). An `i32` immediate, sign-extended (`c_entry`'s `test`).
pub const LINK_MASK: i32 = -(UNIT_SIZE as i32) | 15;

/// Whether `next`, read from the first word of the free slot `block`, is a link the pop paths
/// follow without looking further: 16-byte aligned in the same 64 KiB unit as `block`, so
/// inside the page that holds `block` (a page spans whole units) and mapped, with 16 bytes
/// before the unit ends (the free key's word). Three instructions and a branch (mimalloc's
/// secure mode tests that a link stays in its page). A program's write after free into the
/// word (how2heap's `tcache_poisoning`: a stack address) fails it; so do a null link (the
/// list's end), a link across units of a page of more than one unit and a link of a page of
/// 8-byte slots half the time: the callers' slow test ([`sound_link`], or the GPA's
/// `checked_link`, which also reports) tells those apart. A link to a 16-byte boundary of
/// the same unit that is no slot's start passes: memory of the page all the same.
#[inline(always)]
pub fn link_in_unit(block: *mut FreeBlock, next: *mut FreeBlock) -> bool {
    (block as usize ^ next as usize) & LINK_MASK as usize == 0
}

/// The slow test of a link that failed [`link_in_unit`]: `next` when it is null or the start
/// of a carved slot of `page`, else null (the rest of the list is dropped: those slots are
/// not reused until the page is released). Reports nothing (the GPA's `checked_link` does).
pub fn sound_link(page: &Page, _block: *mut FreeBlock, next: *mut FreeBlock) -> *mut FreeBlock {
    if next.is_null() || page.holds_slot(next as usize) {
        next
    } else {
        core::ptr::null_mut()
    }
}

/// Per-slot metadata, kept only in safety mode.
#[repr(C)]
pub struct SlotMeta {
    /// One of the `SLOT_*` states.
    pub state: AtomicU8,
    /// log2 of the alignment the block was allocated with.
    pub align_log2: AtomicU8,
    /// The caller's tag for the live block (0 when allocated; `set_block_tag`): the C ABI
    /// keeps the allocation family (`malloc`, `new`, `new[]`...) here.
    pub tag: AtomicU8,
    /// 0 from the block's allocation until a finding names it, then 1 (see
    /// [`crate::report::BlockClaim`]): cleared by the allocation's store of `tag`, which
    /// covers both bytes ([`Self::set_tag_clear_mark`]), so it costs no instruction.
    pub mark: AtomicU8,
    /// The requested size.
    pub requested: AtomicU32,
    /// Interned allocation trace.
    pub alloc_trace: AtomicU32,
    /// Interned trace of the (first) free, in a freed slot ([`is_freed_state`]). In a live
    /// one (from the allocation's `SLOT_TAKING` on) the allocating thread's serial number of
    /// the block ([`super::heap::next_serial`], [`Self::serial`]): a live block has no free
    /// trace, and the allocation's store of the serial is the store of 0 it had, so the
    /// order costs no byte of metadata (a 17th byte would make these 32). A free stores its
    /// trace just after the state change: a reader on another thread in between (a fault's
    /// attribution) may see the serial as a free trace, an id that names no trace or another
    /// one.
    pub free_trace: AtomicU32,
}

const _: () = assert!(core::mem::size_of::<SlotMeta>() == 16);

const _: () =
    assert!(core::mem::offset_of!(SlotMeta, mark) == core::mem::offset_of!(SlotMeta, tag) + 1);
const _: () = assert!(core::mem::offset_of!(SlotMeta, tag) % 2 == 0);

impl SlotMeta {
    /// Sets the tag of a block being allocated and clears its mark, in one 2-byte store (what
    /// the tag's store alone cost).
    #[inline(always)]
    pub(crate) fn set_tag_clear_mark(&self, tag: u8) {
        // SAFETY: `tag` and `mark` are the two bytes of a 2-aligned pair (asserted above),
        // inside this live metadata; the slot is being allocated by its owner thread, which
        // alone writes either byte now (the exit scan, which reads the tag, stops the
        // thread first), so no access of another size races with this one.
        let pair = unsafe { core::sync::atomic::AtomicU16::from_ptr(self.tag.as_ptr().cast()) };
        pair.store(u16::from_ne_bytes([tag, 0]), Ordering::Relaxed);
    }

    /// The claim a finding on this slot's block makes (see [`crate::report::BlockClaim`]).
    pub(crate) fn claim(&self) -> crate::report::BlockClaim {
        crate::report::BlockClaim::on(&self.mark, self as *const Self as usize)
    }

    /// Fills `finding` with the block this metadata describes: its requested size, alignment,
    /// allocation and free traces (none for a block never freed, nor for a live or taken
    /// slot, whose `free_trace` is its serial).
    pub(crate) fn describe_block(&self, finding: &mut crate::report::RawFinding) {
        finding.size = self.requested.load(Ordering::Relaxed) as usize;
        finding.align = 1 << self.align_log2.load(Ordering::Relaxed).min(63);
        finding.alloc_trace = crate::trace::TraceId(self.alloc_trace.load(Ordering::Relaxed));
        finding.free_trace = match self.state.load(Ordering::Acquire) {
            SLOT_LIVE | SLOT_TAKING => crate::trace::TraceId::NONE,
            _ => crate::trace::TraceId(self.free_trace.load(Ordering::Relaxed)),
        };
    }

    /// The serial number of the live block in this slot ([`super::heap::next_serial`]).
    /// Meaningful only while the slot is live.
    pub(crate) fn serial(&self) -> u32 {
        self.free_trace.load(Ordering::Relaxed)
    }
}

/// Never handed out, or back on the page's free list after quarantine.
pub const SLOT_FREE: u8 = 0;
/// Handed out to the user.
pub const SLOT_LIVE: u8 = 1;
/// Freed by the user on the owner thread, or taken from the remote list by it; poisoned; in
/// the owner's quarantine, not reusable yet.
pub const SLOT_QUARANTINED: u8 = 2;
/// Freed and back on the page's free list, carrying its free trace; its poison is checked as an
/// allocation takes it, as its page is released, or at exit (not as it left the quarantine).
pub const SLOT_FREED: u8 = 3;
/// Freed by another thread than the owner: being poisoned, or on the owner's remote list
/// (only the owner moves it on, to `SLOT_QUARANTINED`).
pub const SLOT_REMOTE: u8 = 4;

/// Being handed out by its owner thread: taken off the free list, its allocation trace being
/// captured and its redzone being written. Neither live nor free: a walk of a stopped thread's
/// heap (the exit-time leak scan) neither checks its redzone nor reads it as a free
/// neighbour's poison, either of which it holds only in part.
pub const SLOT_TAKING: u8 = 5;

/// Whether a slot in `state` holds a block the user freed (any of the freed states).
#[inline]
pub const fn is_freed_state(state: u8) -> bool {
    matches!(state, SLOT_QUARANTINED | SLOT_FREED | SLOT_REMOTE)
}

/// A page descriptor, in the segment header.
///
/// Two cache lines: the first holds what the owner thread writes on every allocation (the
/// free list, the count of used slots, queue links); the second what a free from another
/// thread reads to validate its pointer and the list it pushes on (`start`, `carved`,
/// `block_size`, `reciprocal`, `remote`), which the owner writes only while it carves a
/// fresh page or takes the thread-free list. So a thread freeing another thread's blocks does
/// not miss in its cache on every free because the owner just allocated from the same page.
#[repr(C, align(64))]
pub struct Page {
    /// Local free list.
    pub free: *mut FreeBlock,
    /// Slots handed out (see the module invariants) less one, less [`OUT_OF_QUEUE`] while the
    /// page is not linked in its heap's queue for `class` (as an `i32`): one word, so that a
    /// free tells whether the page needs attention (it left its queue, or its last slot came
    /// back) from the sign of the count it just decremented ([`Page::release_needs_attention`]:
    /// negative then, and only then). Read through [`Page::used`] and [`Page::in_queue`].
    used_state: u32,
    /// Size class.
    pub class: u8,
    /// Units spanned (0 for an unused descriptor).
    pub units: u8,
    /// Fills the byte `in_queue` had (the layout stays as it was).
    _spare: u8,
    /// Slots not yet carved hold zeros (the page's memory was fresh or purged when claimed):
    /// `calloc` need not clear them.
    pub zeroed_tail: bool,
    /// Neighbours in the heap's queue for `class`.
    pub next: *mut Page,
    /// See `next`.
    pub prev: *mut Page,
    /// `capacity` slot records in safety mode, else null.
    pub meta: *mut SlotMeta,
    /// The next page of the owner heap's notified pages (`Heap::remote_pages`), written by
    /// the thread that sets [`REMOTE_QUEUED`].
    pub remote_next: *mut Page,
    /// Fills the owner's cache line.
    _owner_line: [u64; 2],
    /// First slot.
    pub start: *mut u8,
    /// Slots carved so far (a whole word: [`Page::is_c_slot`]'s compare reads it from memory,
    /// one instruction fewer on every C `free`).
    pub carved: u64,
    /// Slots in the page.
    pub capacity: u32,
    /// Slot size in bytes.
    pub block_size: u32,
    /// [`Page::is_c_slot`]'s rotation: the number of trailing zero bits of `block_size` (0
    /// on a page whose slots C's `free` never takes).
    c_shift: u32,
    /// `2^40 / block_size + 1`: slot indices by multiplication instead of division.
    pub reciprocal: u64,
    /// Fast mode's thread-free list: slots of this page freed by other threads (linked via
    /// their first word, oldest last), with [`REMOTE_NOTIFY`] and [`REMOTE_QUEUED`] in the
    /// low bits and the list's length in the top bits; see [`Page::push_remote`].
    pub remote: AtomicUsize,
    /// [`Page::is_c_slot`]'s multiplier: the inverse modulo 2^64 of `block_size`'s odd part
    /// (0 on a page whose slots C's `free` never takes).
    c_inverse: u64,
    /// `start * c_inverse` (modulo 2^64), or [`C_SLOT_NEVER`] on a page whose slots C's
    /// `free` never takes.
    c_start: u64,
}

const _: () = assert!(core::mem::offset_of!(Page, start) == 64);
// The fields `Page::is_c_slot` reads share the descriptor's second cache line.
const _: () = assert!(core::mem::offset_of!(Page, c_start) < 128);
const _: () = assert!(core::mem::size_of::<Page>() == 128);
/// Byte offset of [`Page`]'s count of slots in use (`c_entry`'s assembly).
pub const PAGE_USED_OFFSET: usize = core::mem::offset_of!(Page, used_state);
/// Byte offset of [`Page::is_c_slot`]'s multiplier (`c_entry`'s assembly).
pub const PAGE_C_INVERSE_OFFSET: usize = core::mem::offset_of!(Page, c_inverse);
/// Byte offset of [`Page::is_c_slot`]'s start product (`c_entry`'s assembly).
pub const PAGE_C_START_OFFSET: usize = core::mem::offset_of!(Page, c_start);
/// Byte offset of [`Page::is_c_slot`]'s rotation (`c_entry`'s assembly).
pub const PAGE_C_SHIFT_OFFSET: usize = core::mem::offset_of!(Page, c_shift);
/// Byte offset of a segment's unit table from the segment's base (`c_entry`'s assembly).
pub const UNIT_DESCRIPTOR_OFFSET: usize =
    HEADER_OFFSET + core::mem::offset_of!(Segment, unit_descriptor);

/// What [`Page`]'s `used_state` is lowered by while the page is out of its heap's queue: in
/// its queue the word is `used - 1`, from -1 to 8191 (a page has at most 8192 slots), out of
/// it `used - 1 - 2^30`, below -1.
const OUT_OF_QUEUE: u32 = 1 << 30;

/// [`Page::remote`] flag, set by the owner on a full page out of its queue with no
/// thread-free slots: the next remote free puts the page on the heap's notified pages.
pub const REMOTE_NOTIFY: usize = 1;
/// [`Page::remote`] flag: the page is on its heap's notified pages, until the owner takes it
/// off ([`Page::leave_notified`]).
pub const REMOTE_QUEUED: usize = 2;
/// Both flags of [`Page::remote`].
pub const REMOTE_FLAGS: usize = REMOTE_NOTIFY | REMOTE_QUEUED;
/// [`Page::remote`] keeps the length of the thread-free list in its top bits (user addresses
/// have 48 bits; a page has at most 8192 slots), so the owner takes the list without walking
/// it to count the slots: on a page whose slots another core freed, that walk was a chain of
/// cache misses, one per slot (bench/c/xmalloc-test: 92% of the allocation slow path).
const REMOTE_COUNT_SHIFT: u32 = 48;
/// The first slot's address in [`Page::remote`].
const REMOTE_LINK: usize = ((1 << REMOTE_COUNT_SHIFT) - 1) & !REMOTE_FLAGS;
// A one-unit page of the smallest class has the most slots (`slot_counts_fit_the_remote_count`).
const _: () = assert!(UNIT_SIZE / 8 < 1 << (usize::BITS - REMOTE_COUNT_SHIFT));

/// The header of a small segment (unit 0).
#[repr(C)]
pub struct Segment {
    /// Kind and owner.
    pub common: SegmentCommon,
    /// The heap whose pages these are.
    pub heap: *mut Heap,
    /// Bit `u` set: unit `u` is free.
    pub free_units: u64,
    /// Bit `u` set: unit `u` is free but its memory is still resident (not yet purged).
    pub dirty_units: u64,
    /// For each unit, the first unit of the page covering it.
    pub unit_page: [u8; UNITS],
    /// For each unit, the byte offset from the segment's base of the descriptor `unit_page`
    /// names (`pages[0]`, never a page, for a unit never claimed): the free path's page
    /// lookup in one load and one add ([`Segment::page_of_unchecked`]).
    unit_descriptor: [u16; UNITS],
    /// Pages in use.
    pub page_count: u32,
    /// The next segment of the same heap.
    pub next: *mut Segment,
    /// Page descriptors, indexed by their first unit.
    pub pages: [Page; UNITS],
    /// Free units are inaccessible (safety mode).
    pub guard_free_units: bool,
    /// Units read as zero until written (fresh OS memory): released units are cleared again
    /// when claimed, so a page's never-carved slots are known to be zero (safety mode).
    pub zero_units: bool,
}

const _: () = assert!(HEADER_OFFSET + core::mem::size_of::<Segment>() + 4096 <= UNIT_SIZE);
// Descriptor offsets fit `Segment::unit_descriptor`.
const _: () = assert!(HEADER_OFFSET + core::mem::size_of::<Segment>() <= u16::MAX as usize);

/// The byte offset from a segment's base of `pages[first]` (`Segment::unit_descriptor`).
const fn descriptor_offset(first: usize) -> u16 {
    (HEADER_OFFSET + core::mem::offset_of!(Segment, pages) + first * core::mem::size_of::<Page>())
        as u16
}

/// `floor(offset * (2^40 / size + 1) / 2^40) == offset / size` for every offset below
/// `SEGMENT_SIZE` (2^22) and size up to 2^17: the error term `offset / 2^40 < 2^-18` never
/// reaches the gap `1 / size >= 2^-17` before the next integer. Tested below.
pub const RECIPROCAL_SHIFT: u32 = 40;

/// What [`Segment::claim_page`] writes into the descriptor of a page of each class: its
/// units, its capacity and slot size (`capacity | block_size << 32`, the two adjacent `u32`
/// fields, so that one 64-bit compare checks both) and its reciprocal. The checked free
/// ([`Segment::checked_page_of_inlined`]) compares a descriptor with its class's row, which
/// is the soundness the multiplications checked, without them.
#[derive(Clone, Copy)]
struct PageShape {
    units: u64,
    capacity_and_size: u64,
    reciprocal: u64,
}

/// [`PageShape`] by class.
static PAGE_SHAPES: [PageShape; crate::gpa::size_class::CLASS_COUNT] = {
    let mut shapes = [PageShape {
        units: 0,
        capacity_and_size: 0,
        reciprocal: 0,
    }; crate::gpa::size_class::CLASS_COUNT];
    let mut class = 0;
    while class < shapes.len() {
        let (units, size) = (page_units(class), class_size(class));
        shapes[class] = PageShape {
            units: units as u64,
            capacity_and_size: (units * UNIT_SIZE / size) as u64 | (size as u64) << 32,
            reciprocal: (1u64 << RECIPROCAL_SHIFT) / size as u64 + 1,
        };
        class += 1;
    }
    shapes
};

/// The smallest slot [`Page::is_c_slot`] accepts: C's blocks are 16 bytes or more, and a
/// freed one carries fast mode's free key in its second word (`fast_free`).
pub const C_SLOT_MIN: u64 = 16;

/// `Page::c_start` of a page whose slots [`Page::is_c_slot`] never accepts: with a zero
/// multiplier the index is `0 - 2^63 = 2^63` for every address, above any slot count.
const C_SLOT_NEVER: u64 = 1 << 63;

/// All units but unit 0.
pub const ALL_PAGE_UNITS: u64 = !1;

/// Why [`Segment::checked_page_of`] found no page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoPage {
    /// The address is in no page's slots.
    Outside,
    /// The segment's descriptors are not what gpa wrote.
    Damaged,
}

/// (offset, length) pairs of ranges of a segment.
type Ranges = [(usize, usize); 2];

/// The two guard regions of unit 0 around the header, as (offset, length) pairs: the
/// inaccessible parts, then the read-only ones (the segment's first OS page and the last
/// before unit 1; see the module docs). All empty when the OS page is too large to fit guards
/// in unit 0; the read-only ones when it leaves no inaccessible page between them and the
/// header.
fn header_guards() -> (Ranges, Ranges) {
    let page = crate::os::page_size();
    let header_end = (HEADER_OFFSET + core::mem::size_of::<Segment>()).next_multiple_of(page);
    if HEADER_OFFSET % page != 0 || header_end >= UNIT_SIZE {
        return ([(0, 0); 2], [(0, 0); 2]);
    }
    if HEADER_OFFSET < 2 * page || UNIT_SIZE - header_end < 2 * page {
        return (
            [(0, HEADER_OFFSET), (header_end, UNIT_SIZE - header_end)],
            [(0, 0); 2],
        );
    }
    (
        [
            (page, HEADER_OFFSET - page),
            (header_end, UNIT_SIZE - page - header_end),
        ],
        [(0, page), (UNIT_SIZE - page, page)],
    )
}

impl Segment {
    /// The header of the segment containing a small block.
    #[inline]
    pub fn of(address: usize) -> *mut Segment {
        ((address & !(SEGMENT_SIZE - 1)) + HEADER_OFFSET) as *mut Segment
    }

    /// The segment's first byte (its mapping's start).
    #[inline]
    pub fn base(&self) -> usize {
        self as *const Segment as usize - HEADER_OFFSET
    }

    /// Initializes a header in fresh segment memory; `zeroed` says the memory is known to
    /// be all zero already (fresh OS pages), which saves clearing the descriptors. Makes the
    /// guards around the header inaccessible, and with `guard_free_units` every page unit.
    /// `None` when the OS refuses to change the protection (the memory is then untouched).
    ///
    /// # Safety
    /// `base` is `SEGMENT_SIZE` bytes, `SEGMENT_SIZE`-aligned, exclusively ours, and zero if
    /// `zeroed` is set.
    pub unsafe fn init(
        base: NonNull<u8>,
        gpa_id: u64,
        canary: u64,
        heap: *mut Heap,
        zeroed: bool,
        guard_free_units: bool,
    ) -> Option<*mut Segment> {
        let start = base.as_ptr() as usize;
        let segment = (start + HEADER_OFFSET) as *mut Segment;
        let mut changed = [(0usize, 0usize); 5];
        let (guards, read_only) = header_guards();
        let units = (UNIT_SIZE, SEGMENT_SIZE - UNIT_SIZE);
        // Without safety (fast mode: no fault report) the outer pages stay writable (see the
        // module docs); the inaccessible ones still keep stray writes from the header.
        let outer = |range| if guard_free_units { range } else { (0, 0) };
        let wanted = [
            guards[0],
            guards[1],
            outer(units),
            outer(read_only[0]),
            outer(read_only[1]),
        ];
        for (done, &(offset, len)) in wanted.iter().enumerate() {
            if len == 0 {
                continue;
            }
            let address = start + offset;
            // SAFETY: page-aligned ranges of our fresh segment that hold nothing yet; nothing
            // writes the read-only ones (they hold no slot and no metadata).
            let made = unsafe {
                if done < 3 {
                    protect_range(address, len, false)
                } else {
                    crate::os::protect_read_only(NonNull::new_unchecked(address as *mut u8), len)
                }
            };
            if !made {
                for &(offset, len) in &changed[..done] {
                    // SAFETY: as above; restores what the loop changed.
                    unsafe { protect_range(start + offset, len, true) };
                }
                return None;
            }
            changed[done] = (offset, len);
        }
        // SAFETY: caller contract; a zeroed `Page` is a valid empty descriptor (null
        // pointers, zero counters), so only the header fields need writing.
        unsafe {
            if !zeroed {
                core::ptr::write_bytes(segment.cast::<u8>(), 0, core::mem::size_of::<Segment>());
            }
            (*segment).common =
                SegmentCommon::new(SegmentKind::Small, gpa_id, canary, segment as usize);
            (*segment).heap = heap;
            (*segment).free_units = ALL_PAGE_UNITS;
            (*segment).unit_descriptor = [descriptor_offset(0); UNITS];
            (*segment).guard_free_units = guard_free_units;
            (*segment).zero_units = zeroed;
        }
        Some(segment)
    }

    /// Makes the whole segment accessible again, before it goes back to the backing
    /// allocator (which may hand the memory to anyone).
    ///
    /// # Safety
    /// The segment has no pages; nobody uses it any more.
    pub unsafe fn unprotect_all(&mut self) {
        // SAFETY: caller contract; the segment's range is ours.
        unsafe { protect_range(self.base(), SEGMENT_SIZE, true) };
    }

    /// Claims a run of units for a page of `class`; `None` when no run is free.
    ///
    /// # Safety
    /// `self` is a live segment owned by the calling thread's heap.
    pub unsafe fn claim_page(&mut self, class: Class, resident_only: bool) -> Option<*mut Page> {
        let units = page_units(class);
        // While the units change: remembered lookups of their old page go stale.
        let _change = page_layout_changes(self.base());
        // Free units still resident first: reusing them costs no page faults (and keeps the
        // footprint where it is), where clean ones must be faulted in again.
        let first = find_run(self.dirty_units, units).or_else(|| {
            if resident_only {
                None
            } else {
                find_run(self.free_units, units)
            }
        })?;
        let mask = run_mask(first, units);
        // Units never used since the segment was mapped, or purged, still read as zero (and
        // dirty ones are cleared below when free units are guarded).
        let zeroed_tail =
            self.zero_units && (self.dirty_units & mask == 0 || self.guard_free_units);
        if self.guard_free_units {
            let start = self.base() + first * UNIT_SIZE;
            // SAFETY: free units of this segment, becoming a page of the owner's.
            if !unsafe { protect_range(start, units * UNIT_SIZE, true) } {
                return None;
            }
            if self.zero_units {
                // The dirty units are cleared by hand, not discarded (`MADV_DONTNEED`) to read
                // as zero: they are still resident, and a discard cost a system call, a TLB
                // shootdown on every other CPU running one of the program's threads, and a
                // page fault and the kernel's clearing per 4 KiB as the page is carved
                // (bench/c/xmalloc-test, 2 threads: two thirds of check mode's time in the
                // kernel). Clean units (never used, or purged) read as zero already.
                let mut dirty = (self.dirty_units & mask) >> first;
                while dirty != 0 {
                    let at = dirty.trailing_zeros() as usize;
                    let run = (dirty >> at).trailing_ones() as usize;
                    // SAFETY: free units of this segment, accessible since the protection
                    // change above, holding nothing anybody uses.
                    unsafe {
                        core::ptr::write_bytes(
                            (start + at * UNIT_SIZE) as *mut u8,
                            0,
                            run * UNIT_SIZE,
                        )
                    };
                    dirty &= !run_mask(at, run);
                }
            }
        }
        self.free_units &= !mask;
        self.dirty_units &= !mask;
        for unit in first..first + units {
            self.unit_page[unit] = first as u8;
            self.unit_descriptor[unit] = descriptor_offset(first);
        }
        self.page_count += 1;
        let block_size = class_size(class);
        let base = self.base();
        let page = &mut self.pages[first];
        page.free = core::ptr::null_mut();
        page.start = (base + first * UNIT_SIZE) as *mut u8;
        page.used_state = 0u32.wrapping_sub(1).wrapping_sub(OUT_OF_QUEUE);
        page.carved = 0;
        page.capacity = (units * UNIT_SIZE / block_size) as u32;
        page.block_size = block_size as u32;
        page.reciprocal = (1u64 << RECIPROCAL_SHIFT) / block_size as u64 + 1;
        page.set_c_validation();
        page.class = class as u8;
        page.units = units as u8;
        page.zeroed_tail = zeroed_tail;
        page.next = core::ptr::null_mut();
        page.prev = core::ptr::null_mut();
        page.meta = core::ptr::null_mut();
        Some(page)
    }

    /// Returns a page's units to the segment.
    ///
    /// # Safety
    /// `page` is an empty page of this segment, not in any queue.
    pub unsafe fn release_page(&mut self, page: *mut Page) {
        // While the units change: remembered lookups of the page go stale.
        let _change = page_layout_changes(self.base());
        // SAFETY: caller contract.
        let page = unsafe { &mut *page };
        let first = (page.start as usize - self.base()) / UNIT_SIZE;
        if self.guard_free_units {
            // A failure only leaves the units accessible: unguarded, never unusable.
            // SAFETY: the page is empty; its units hold nothing anybody uses.
            unsafe { protect_range(page.start as usize, page.units as usize * UNIT_SIZE, false) };
        }
        self.free_units |= run_mask(first, page.units as usize);
        self.dirty_units |= run_mask(first, page.units as usize);
        self.page_count -= 1;
        page.units = 0;
        page.capacity = 0;
        page.carved = 0;
        page.free = core::ptr::null_mut();
    }

    /// The page descriptor covering `address` (inside this segment's page units).
    #[inline]
    pub fn page_of(&mut self, address: usize) -> *mut Page {
        let unit = (address - self.base()) / UNIT_SIZE;
        let first = self.unit_page[unit] as usize;
        &mut self.pages[first]
    }

    /// As [`Segment::page_of`], without the bounds checks.
    ///
    /// # Safety
    /// `address` lies in this segment (`base <= address < base + SEGMENT_SIZE`).
    #[inline(always)]
    pub unsafe fn page_of_unchecked(&mut self, address: usize) -> *mut Page {
        let unit = (address & (SEGMENT_SIZE - 1)) / UNIT_SIZE;
        // SAFETY: caller contract: `unit < UNITS`; `unit_descriptor` entries are offsets of
        // descriptors in `pages` from the base (`descriptor_offset`).
        unsafe {
            let offset = *self.unit_descriptor.get_unchecked(unit) as usize;
            (self.base() + offset) as *mut Page
        }
    }

    /// The page descriptor covering `address`, checked against where it lies (a header
    /// damaged by a stray write is not followed): [`NoPage::Outside`] for an address outside
    /// the page units, in a free unit, or past the page's last slot; [`NoPage::Damaged`] when
    /// the unit belongs to a page but the descriptors do not agree with it.
    pub fn checked_page_of(&mut self, address: usize) -> Result<*mut Page, NoPage> {
        self.checked_page_of_inlined(address)
    }

    /// [`Segment::checked_page_of`], inlined: for the checked free of a small block (safety
    /// mode's `free_small_general`), where the call's register saves and restores cost a
    /// sixth of the lookup.
    #[inline(always)]
    pub fn checked_page_of_inlined(&mut self, address: usize) -> Result<*mut Page, NoPage> {
        let base = self.base();
        if address < base + UNIT_SIZE || address >= base + SEGMENT_SIZE {
            return Err(NoPage::Outside);
        }
        let unit = (address - base) / UNIT_SIZE;
        if self.free_units & (1 << unit) != 0 {
            return Err(NoPage::Outside);
        }
        // SAFETY: `base + UNIT_SIZE <= address < base + SEGMENT_SIZE`, so `unit < UNITS`.
        let first = unsafe { *self.unit_page.get_unchecked(unit) } as usize;
        if first == 0 || first > unit {
            return Err(NoPage::Damaged);
        }
        // SAFETY: `first <= unit < UNITS`.
        let page = unsafe { self.pages.get_unchecked_mut(first) };
        let units = page.units as usize;
        // The descriptor must be what `claim_page` wrote for its class (`PAGE_SHAPES`): its
        // units, `capacity = span / block_size`, `block_size = class_size(class)` and
        // `reciprocal = 2^40 / block_size + 1`, compared with the class's row (this runs on
        // every checked free).
        let Some(shape) = PAGE_SHAPES.get(page.class as usize) else {
            return Err(NoPage::Damaged);
        };
        let capacity_and_size = page.capacity as u64 | (page.block_size as u64) << 32;
        let sound = units as u64 == shape.units
            && unit < first + units
            && page.start as usize == base + first * UNIT_SIZE
            && capacity_and_size == shape.capacity_and_size
            && page.reciprocal == shape.reciprocal
            && page.carved <= u64::from(page.capacity);
        if !sound {
            return Err(NoPage::Damaged);
        }
        let end = page.start as usize + page.capacity as usize * page.block_size as usize;
        if address >= end {
            return Err(NoPage::Outside);
        }
        Ok(page as *mut Page)
    }

    /// The page descriptor covering `address`, read-only (for lookups that must not claim
    /// the segment, such as fault attribution); `None` outside the page units.
    pub fn page_at(&self, address: usize) -> Option<&Page> {
        let unit = address.checked_sub(self.base())? / UNIT_SIZE;
        if unit == 0 || unit >= UNITS || self.free_units & (1 << unit) != 0 {
            return None;
        }
        let page = self.pages.get(self.unit_page[unit] as usize)?;
        (page.units != 0).then_some(page)
    }

    /// Returns the memory of free units to the OS (they read back as zero when reused).
    /// Returns the bytes purged.
    ///
    /// # Safety
    /// The segment is live and owned by the calling thread's heap.
    pub unsafe fn purge_free_units(&mut self) -> usize {
        let base = self.base();
        let mut dirty = self.dirty_units;
        let mut purged = 0;
        while dirty != 0 {
            let first = dirty.trailing_zeros() as usize;
            let run = (dirty >> first).trailing_ones() as usize;
            // SAFETY: free units of this segment hold nothing anybody uses.
            unsafe {
                crate::os::discard(
                    NonNull::new_unchecked((base + first * UNIT_SIZE) as *mut u8),
                    run * UNIT_SIZE,
                )
            };
            purged += run * UNIT_SIZE;
            dirty &= !run_mask(first, run);
        }
        self.dirty_units = 0;
        purged
    }

    /// Whether a page descriptor of this segment is on its heap's notified pages (then the
    /// segment must not be released yet).
    pub fn has_notified_pages(&self) -> bool {
        self.pages[1..]
            .iter()
            .any(|page| page.remote.load(Ordering::Relaxed) & REMOTE_QUEUED != 0)
    }

    /// Whether no page is in use.
    pub fn is_empty(&self) -> bool {
        self.page_count == 0
    }
}

/// Whether the free list starting at `head` holds `address`, looking at `limit` entries at most
/// and stopping at the first entry that `sound` rejects (a link a write after free forged).
///
/// # Safety
/// The list links free slots whose links nobody changes during the walk; `sound` accepts only
/// addresses of such slots (or of memory that stays mapped).
pub unsafe fn list_holds(
    head: *mut FreeBlock,
    address: usize,
    limit: usize,
    sound: impl Fn(usize) -> bool,
) -> bool {
    let mut cursor = head;
    let mut steps = 0;
    // A link that is not a free slot's address (a program's write after free) ends the walk.
    while !cursor.is_null() && steps < limit && sound(cursor as usize) {
        if cursor as usize == address {
            return true;
        }
        // SAFETY: caller contract.
        cursor = unsafe { (*cursor).next };
        steps += 1;
    }
    false
}

/// Changes the protection of `[start, start + len)`; see `os::protect`.
///
/// # Safety
/// As for `os::protect`.
unsafe fn protect_range(start: usize, len: usize, accessible: bool) -> bool {
    // SAFETY: caller contract; `start` is a non-null segment address.
    unsafe { crate::os::protect(NonNull::new_unchecked(start as *mut u8), len, accessible) }
}

fn run_mask(first: usize, units: usize) -> u64 {
    (if units == 64 {
        u64::MAX
    } else {
        (1u64 << units) - 1
    }) << first
}

/// Asks the CPU to bring `address`'s cache line in (a hint: no effect on any other target, and
/// none on the program's state; a null or stale address is harmless, a prefetch never faults).
#[inline(always)]
fn prefetch<T>(address: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` reads no memory architecturally and never faults.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(address.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// The first unit of an aligned run of `units` free units (pages are aligned to their span,
/// which keeps every slot aligned to its class's alignment).
fn find_run(free_units: u64, units: usize) -> Option<usize> {
    let mut first = units;
    while first + units <= UNITS {
        if free_units & run_mask(first, units) == run_mask(first, units) {
            return Some(first);
        }
        first += units;
    }
    None
}

impl Page {
    /// The slot index of `address`, and whether it is a slot's first byte.
    #[inline]
    pub fn slot_of(&self, address: usize) -> (usize, bool) {
        // A division costs tens of cycles on the free path; a multiplication by the
        // reciprocal is exact here (see `RECIPROCAL_SHIFT`).
        let offset = (address - self.start as usize) as u64;
        let index = (offset * self.reciprocal) >> RECIPROCAL_SHIFT;
        (index as usize, offset == index * self.block_size as u64)
    }

    /// The index of the carved slot that starts at `address`, if one does: the validation of
    /// a pointer to free in a subtraction, two multiplications and two compares.
    ///
    /// `address` must lie in a unit that this descriptor's page covers or once covered (as
    /// `Segment::page_of` finds it): then `address >= start` for a claimed or released page,
    /// whose reciprocal is exact for offsets below the segment size; a never-claimed
    /// descriptor is all zeros, so the index is 0 and `carved` is 0.
    #[inline(always)]
    pub fn carved_slot(&self, address: usize) -> Option<usize> {
        let offset = (address - self.start as usize) as u64;
        let index = (offset * self.reciprocal) >> RECIPROCAL_SHIFT;
        (index < self.carved && index * u64::from(self.block_size) == offset)
            .then_some(index as usize)
    }

    /// The index of the carved slot of this page that starts at `address`, for any address:
    /// less than a segment past the page's start (so not before it either), where the
    /// reciprocal is exact (`RECIPROCAL_SHIFT`), then [`Page::carved_slot`].
    #[inline(always)]
    pub fn held_slot(&self, address: usize) -> Option<usize> {
        if address.wrapping_sub(self.start as usize) < SEGMENT_SIZE {
            self.carved_slot(address)
        } else {
            None
        }
    }

    /// Whether `address` starts a carved slot of this page, for any address
    /// ([`Page::held_slot`]).
    #[inline(always)]
    pub fn holds_slot(&self, address: usize) -> bool {
        self.held_slot(address).is_some()
    }

    /// Whether `address` starts a carved slot of 16 bytes or more (the slots C's `free` takes
    /// on its fastest path, `c_paths::c_free`): [`Page::carved_slot`]'s answer in one
    /// multiplication, one rotation and one compare, with no test of the slot size.
    ///
    /// With `block_size = d' * 2^k` (`d'` odd) and `c_inverse` the inverse of `d'` modulo
    /// 2^64, `(offset * c_inverse).rotate_right(k)` is `offset / block_size` when the slot size
    /// divides `offset` exactly, and above `u64::MAX / block_size` (so above any slot count)
    /// when it does not (the test of divisibility by multiplication of Granlund and Montgomery,
    /// Hacker's Delight 10-17); an address below `start` gives an offset near 2^64, and so an
    /// index far above `carved` either way. `offset * c_inverse` is computed as `address *
    /// c_inverse - c_start`. A page with slots under 16 bytes has `c_inverse` 0 and `c_start`
    /// [`C_SLOT_NEVER`]: the index is 2^63 for every address. A never-claimed descriptor (all
    /// zero) and a released one have `carved` 0. Same preconditions on `address` as
    /// [`Page::carved_slot`].
    #[inline(always)]
    pub fn is_c_slot(&self, address: usize) -> bool {
        let index = (address as u64)
            .wrapping_mul(self.c_inverse)
            .wrapping_sub(self.c_start)
            .rotate_right(self.c_shift);
        index < self.carved
    }

    /// Sets [`Page::is_c_slot`]'s fields from `start` and `block_size`.
    pub fn set_c_validation(&mut self) {
        let size = u64::from(self.block_size);
        if size < C_SLOT_MIN {
            self.c_shift = 0;
            self.c_inverse = 0;
            self.c_start = C_SLOT_NEVER;
            return;
        }
        let shift = size.trailing_zeros();
        let odd = size >> shift;
        // Newton's iteration for the inverse modulo 2^64: each step doubles the correct low
        // bits, and `odd` itself is correct to 3 bits (odd * odd = 1 mod 8).
        let mut inverse = odd;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(odd.wrapping_mul(inverse)));
        }
        debug_assert_eq!(odd.wrapping_mul(inverse), 1);
        self.c_shift = shift;
        self.c_inverse = inverse;
        self.c_start = (self.start as u64).wrapping_mul(inverse);
    }

    /// The address just past the page's last unit.
    #[inline]
    pub fn end(&self) -> usize {
        self.start as usize + self.units as usize * UNIT_SIZE
    }

    /// The address of slot `index`.
    #[inline]
    pub fn slot_address(&self, index: usize) -> usize {
        self.start as usize + index * self.block_size as usize
    }

    /// The metadata of slot `index` (safety mode only).
    ///
    /// # Safety
    /// `meta` is non-null and `index < capacity`.
    #[inline]
    pub unsafe fn meta(&self, index: usize) -> &SlotMeta {
        debug_assert!(!self.meta.is_null() && index < self.capacity as usize);
        // SAFETY: caller contract; the array lives as long as the page.
        unsafe { &*self.meta.add(index) }
    }

    /// Slots handed out (see the module invariants).
    #[inline(always)]
    pub fn used(&self) -> u32 {
        let used = self.used_state.wrapping_add(1);
        if self.in_queue() {
            used
        } else {
            used.wrapping_add(OUT_OF_QUEUE)
        }
    }

    /// Sets the count of slots handed out (the queue bit is kept).
    #[inline]
    pub fn set_used(&mut self, used: u32) {
        debug_assert!(used < OUT_OF_QUEUE);
        let bias = if self.in_queue() { 0 } else { OUT_OF_QUEUE };
        self.used_state = used.wrapping_sub(1).wrapping_sub(bias);
    }

    /// Whether the page is linked in its heap's queue for `class`.
    #[inline(always)]
    pub fn in_queue(&self) -> bool {
        self.used_state as i32 >= -1
    }

    /// Records whether the page is linked in its heap's queue (the queue's owner only).
    #[inline]
    pub fn set_in_queue(&mut self, in_queue: bool) {
        if in_queue != self.in_queue() {
            self.used_state = if in_queue {
                self.used_state.wrapping_add(OUT_OF_QUEUE)
            } else {
                self.used_state.wrapping_sub(OUT_OF_QUEUE)
            };
        }
    }

    /// After a slot came back ([`Page::push`]): whether the page may need its owner's
    /// attention, that is it is out of its queue or has no used slot left. One test of the
    /// word the push just decremented (its sign: the decrement and the branch are one `dec`
    /// and one `js`); the caller then asks `small::page_needs_attention`.
    #[inline(always)]
    pub fn release_needs_attention(&self) -> bool {
        (self.used_state as i32) < 0
    }

    /// Pops a free or never-carved slot; `None` when the page is full.
    ///
    /// Prefetches the next free slot: a slot freed long ago, or by another thread (taken
    /// from the thread-free list), is seldom in this core's cache, and loading its link was
    /// most of an allocation's time on bench/c/mstress (2 threads: 92% of `malloc`'s samples
    /// on that load); the prefetch overlaps the miss with the program's work until its next
    /// allocation. Always inlined: out of line it is a call on every allocation, and fast mode's
    /// code outside `capi/fast-path.ld`'s section.
    ///
    /// The popped slot's link becomes the list's head only if it passes [`link_in_unit`] or
    /// `check` returns it (`check(page, slot, link)` returns the link to follow instead: null
    /// drops the rest of the list). So the head is always a slot of the page, null, or a
    /// 16-byte boundary of a unit of the page, whatever a program wrote into a freed slot.
    #[inline(always)]
    pub fn pop(
        &mut self,
        check: impl FnOnce(&Page, *mut FreeBlock, *mut FreeBlock) -> *mut FreeBlock,
    ) -> Option<NonNull<u8>> {
        let block = self.free;
        if !block.is_null() {
            // SAFETY: the head is a free slot of this page (or memory of one of its units, see
            // above), linked via its first word.
            let mut next = unsafe { (*block).next };
            if !link_in_unit(block, next) {
                next = check(self, block, next);
            }
            self.free = next;
            self.used_state = self.used_state.wrapping_add(1);
            prefetch(next);
            // SAFETY: non-null checked above.
            return Some(unsafe { NonNull::new_unchecked(block.cast()) });
        }
        self.carve()
    }

    /// As [`Page::pop`], and calls `carved(page, slot)` with a slot it carves (one no block
    /// has held), not with one from the free list: safety mode's check that a never-used
    /// slot still reads as zero (`small`'s `check_carved_slot`).
    #[inline(always)]
    pub fn pop_or_carve(
        &mut self,
        check: impl FnOnce(&Page, *mut FreeBlock, *mut FreeBlock) -> *mut FreeBlock,
        carved: impl FnOnce(&Page, usize),
    ) -> Option<NonNull<u8>> {
        if !self.free.is_null() {
            return self.pop(check);
        }
        let block = self.carve()?;
        carved(self, block.as_ptr() as usize);
        Some(block)
    }

    /// [`Page::pop`] of the head `block` (not null) whose link `next` the caller has found
    /// sound (null, or the start of a carved slot of this page: safety mode's
    /// `pop_validated`), so without [`link_in_unit`]'s test again: `next` becomes the head,
    /// prefetched as there.
    ///
    /// # Safety
    /// `block` is the list's head, not null, and `next` its link, null or a carved slot's
    /// start of this page.
    #[inline(always)]
    pub unsafe fn take_head(&mut self, block: *mut FreeBlock, next: *mut FreeBlock) -> NonNull<u8> {
        debug_assert!(core::ptr::eq(block, self.free) && !block.is_null());
        debug_assert!(next.is_null() || self.holds_slot(next as usize));
        self.free = next;
        self.used_state = self.used_state.wrapping_add(1);
        prefetch(next);
        // SAFETY: caller contract: not null.
        unsafe { NonNull::new_unchecked(block.cast()) }
    }

    /// As [`Page::pop`], also saying whether the slot is known to hold zeros.
    #[inline]
    pub fn pop_zeroed(
        &mut self,
        check: impl FnOnce(&Page, *mut FreeBlock, *mut FreeBlock) -> *mut FreeBlock,
    ) -> Option<(NonNull<u8>, bool)> {
        if !self.free.is_null() {
            return self.pop(check).map(|block| (block, false));
        }
        let zeroed = self.zeroed_tail;
        self.carve().map(|block| (block, zeroed))
    }

    #[inline]
    fn carve(&mut self) -> Option<NonNull<u8>> {
        if self.carved == u64::from(self.capacity) {
            return None;
        }
        let address = self.slot_address(self.carved as usize);
        self.carved += 1;
        self.used_state = self.used_state.wrapping_add(1);
        NonNull::new(address as *mut u8)
    }

    /// Pushes a slot back on the local free list.
    ///
    /// # Safety
    /// `block` is a used slot of this page that nobody uses any more.
    #[inline]
    pub unsafe fn push(&mut self, block: NonNull<u8>) {
        let block = block.as_ptr().cast::<FreeBlock>();
        // SAFETY: caller contract: the slot is ours to overwrite.
        unsafe { (*block).next = self.free };
        self.free = block;
        self.used_state = self.used_state.wrapping_sub(1);
    }

    /// Another thread's free of a slot of this page (fast mode): one CAS onto the page's
    /// thread-free list. Returns true when the page asked to be told ([`REMOTE_NOTIFY`]): the
    /// caller must then put it on its heap's notified pages (`Heap::push_remote_page`).
    ///
    /// # Safety
    /// `page` is a live page and `block` a used slot of it that the caller gives up.
    #[inline(always)]
    pub unsafe fn push_remote(page: *const Page, block: NonNull<u8>) -> bool {
        let node = block.as_ptr().cast::<FreeBlock>();
        // SAFETY: caller contract; only the atomic field is shared with other threads.
        let remote = unsafe { &(*page).remote };
        let mut head = remote.load(Ordering::Relaxed);
        loop {
            // SAFETY: the slot is ours to overwrite until it is published.
            unsafe { (*node).next = (head & REMOTE_LINK) as *mut FreeBlock };
            let queued = if head & REMOTE_FLAGS != 0 {
                REMOTE_QUEUED
            } else {
                0
            };
            // One more slot on the list (the count is below a page's slot count).
            let count = ((head >> REMOTE_COUNT_SHIFT) + 1) << REMOTE_COUNT_SHIFT;
            match remote.compare_exchange_weak(
                head,
                node as usize | queued | count,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return head & REMOTE_NOTIFY != 0,
                Err(current) => head = current,
            }
        }
    }

    /// The first slot of the thread-free list (null when empty); the slots after it do not
    /// change while the owner does not take the list.
    pub fn thread_free_head(&self) -> *mut FreeBlock {
        (self.remote.load(Ordering::Acquire) & REMOTE_LINK) as *mut FreeBlock
    }

    /// Owner: moves the thread-free slots to the local free list (in front of it: walking the
    /// taken list to its end only when the local list is not empty, which the allocation paths
    /// never collect into); false when there were none.
    ///
    /// The walk checks each link as [`Page::pop`] does (`check`, with the same contract, for
    /// a link that fails [`link_in_unit`]): a link that another thread's free wrote and the
    /// program overwrote after that free is cut there, the local list linked in its place.
    pub fn collect_remote(
        &mut self,
        check: impl Fn(&Page, *mut FreeBlock, *mut FreeBlock) -> *mut FreeBlock,
    ) -> bool {
        let mut head = self.remote.load(Ordering::Relaxed);
        loop {
            if head & REMOTE_LINK == 0 {
                return false;
            }
            match self.remote.compare_exchange_weak(
                head,
                head & REMOTE_FLAGS,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(current) => head = current,
            }
        }
        let first = (head & REMOTE_LINK) as *mut FreeBlock;
        // Every slot on the list is a used slot of this page; a count beyond `used` could only
        // come from a damaged list, and must not wrap it.
        let count = ((head >> REMOTE_COUNT_SHIFT) as u32).min(self.used());
        if !self.free.is_null() {
            let mut tail = first;
            let mut walked = 1;
            // SAFETY: the list holds used slots of this page given up by other threads,
            // published with release and taken with acquire; it ends in null (a push never
            // links the flags or the count).
            unsafe {
                while walked < self.capacity {
                    let mut next = (*tail).next;
                    if !link_in_unit(tail, next) {
                        next = check(self, tail, next);
                    }
                    if next.is_null() {
                        break;
                    }
                    tail = next;
                    walked += 1;
                }
                (*tail).next = self.free;
            }
        }
        self.free = first;
        self.used_state = self.used_state.wrapping_sub(count);
        true
    }

    /// Owner, when the page has no free slot and is about to leave its queue: asks to be told
    /// of the next remote free ([`REMOTE_NOTIFY`]), unless the page is already on the notified
    /// pages. Returns false when thread-free slots arrived meanwhile: they were collected and
    /// the page stays in its queue.
    pub fn mark_full(
        &mut self,
        check: impl Fn(&Page, *mut FreeBlock, *mut FreeBlock) -> *mut FreeBlock,
    ) -> bool {
        loop {
            let head = self.remote.load(Ordering::Relaxed);
            if head & REMOTE_LINK != 0 {
                return !self.collect_remote(check);
            }
            if head != 0 {
                return true;
            }
            if self
                .remote
                .compare_exchange_weak(0, REMOTE_NOTIFY, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                return true;
            }
        }
    }

    /// Owner, taking the page off its heap's notified pages: clears [`REMOTE_QUEUED`]
    /// (afterwards the page may be notified again). Returns whether thread-free slots wait.
    pub fn leave_notified(&mut self) -> bool {
        let previous = self.remote.fetch_and(!REMOTE_QUEUED, Ordering::Acquire);
        previous & REMOTE_LINK != 0
    }

    /// Marks every slot that is neither carved-and-used: `live[i]` is set for used slots
    /// (slots on the thread-free list are free). Walks the free lists, so only the owner (or
    /// an exclusive caller) may use it.
    pub fn live_slots(&self, live: &mut [bool]) {
        for (index, flag) in live.iter_mut().enumerate() {
            *flag = index < self.carved as usize;
        }
        // The local free list, then the thread-free list (other threads only push in front of
        // the head read here).
        let lists = [self.free, self.thread_free_head()];
        for mut block in lists {
            let mut steps = 0;
            // A link that is no slot of the page (a program's write after free) ends the walk.
            while !block.is_null() && steps <= self.capacity && self.holds_slot(block as usize) {
                let (index, _) = self.slot_of(block as usize);
                if let Some(flag) = live.get_mut(index) {
                    *flag = false;
                }
                // SAFETY: both lists link free slots of this page.
                block = unsafe { (*block).next };
                steps += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segments_layout_changes_bump_its_shard_and_neighbours_have_their_own() {
        let base = 0x7f12_3400_0000usize;
        assert_eq!(base % SEGMENT_SIZE, 0);
        // Every address of a segment (its base, its header, its last byte) shares its shard.
        for address in [base, base + HEADER_OFFSET, base + SEGMENT_SIZE - 1] {
            assert!(core::ptr::eq(
                generation_shard(address),
                generation_shard(base)
            ));
        }
        // The next segments have shards of their own, each in its own 128 bytes.
        for next in 1..GENERATION_SHARDS {
            let other = generation_shard(base + next * SEGMENT_SIZE);
            assert!(!core::ptr::eq(other, generation_shard(base)));
            let apart = (other as *const AtomicU64 as usize)
                .abs_diff(generation_shard(base) as *const AtomicU64 as usize);
            assert!(apart >= 128);
        }
        // A change starts a generation now and another once it is over (other tests' threads
        // may start generations too: later, never earlier).
        let before = page_layout_generation(base);
        let change = page_layout_changes(base + HEADER_OFFSET);
        let during = page_layout_generation(base);
        assert!(during > before);
        drop(change);
        assert!(page_layout_generation(base + SEGMENT_SIZE - 1) > during);
    }

    /// A descriptor of a page of 16-byte slots over `slots`, none carved.
    fn page_over<const N: usize>(slots: &mut [[u64; 2]; N]) -> Page {
        // SAFETY: a zeroed descriptor is a valid empty one (null pointers, zero counters).
        let mut page: Page = unsafe { core::mem::MaybeUninit::zeroed().assume_init() };
        page.start = slots.as_mut_ptr().cast();
        page.capacity = N as u32;
        page.block_size = 16;
        page.set_c_validation();
        page.set_used(0);
        page
    }

    #[test]
    fn the_c_slot_test_agrees_with_carved_slot_for_every_class() {
        // Descriptors only: `is_c_slot` and `carved_slot` never touch the slots. The page
        // starts one unit into a segment-aligned address, as a segment's first page does.
        let start = 0x7f12_3400_0000usize + UNIT_SIZE;
        for class in 0..crate::gpa::size_class::CLASS_COUNT {
            let size = class_size(class);
            // SAFETY: a zeroed descriptor is a valid empty one.
            let mut page: Page = unsafe { core::mem::MaybeUninit::zeroed().assume_init() };
            page.start = start as *mut u8;
            page.block_size = size as u32;
            page.capacity = (UNIT_SIZE * 8 / size).min(8192) as u32;
            page.reciprocal = (1u64 << RECIPROCAL_SHIFT) / size as u64 + 1;
            page.set_c_validation();
            for carved in [0, 1, page.capacity / 2, page.capacity] {
                page.carved = u64::from(carved);
                let end = start + page.capacity as usize * size;
                let mut probes = vec![0, 8, start - size, start - 16, start - 1, usize::MAX - 15];
                for index in (0..=page.capacity as usize).step_by(1 + page.capacity as usize / 64) {
                    let slot = start + index * size;
                    probes.extend([slot, slot + 1, slot + 8, slot + 16, slot + size - 16]);
                }
                probes.extend([end, end + size, start + SEGMENT_SIZE]);
                for address in probes {
                    // `carved_slot` takes addresses within the segment from `start` on;
                    // below or far above, no carved slot starts.
                    let expected = size as u64 >= C_SLOT_MIN
                        && (start..start + SEGMENT_SIZE).contains(&address)
                        && page.carved_slot(address).is_some();
                    assert_eq!(
                        page.is_c_slot(address),
                        expected,
                        "class {class} (size {size}), carved {carved}, address {address:#x}"
                    );
                }
            }
        }
        // A never-claimed descriptor takes no address.
        // SAFETY: as above.
        let page: Page = unsafe { core::mem::MaybeUninit::zeroed().assume_init() };
        assert!(!page.is_c_slot(start) && !page.is_c_slot(0));
    }

    /// Each class's row of `PAGE_SHAPES` (what the checked free compares a descriptor with)
    /// is what `claim_page` writes and meets the multiplications the check used to make.
    #[test]
    fn page_shapes_are_the_claimed_descriptors() {
        let one = 1u64 << RECIPROCAL_SHIFT;
        for (class, shape) in PAGE_SHAPES.iter().enumerate() {
            let (units, size) = (page_units(class) as u64, class_size(class) as u64);
            let span = units * UNIT_SIZE as u64;
            let capacity = shape.capacity_and_size & u64::from(u32::MAX);
            assert_eq!(shape.units, units);
            assert_eq!(shape.capacity_and_size >> 32, size);
            assert!(capacity * size <= span && (capacity + 1) * size > span);
            assert!((shape.reciprocal - 1) * size <= one && shape.reciprocal * size > one);
        }
    }

    #[test]
    fn reciprocal_division_is_exact_for_every_class() {
        for class in 0..crate::gpa::size_class::CLASS_COUNT {
            let size = class_size(class) as u64;
            let reciprocal = (1u64 << RECIPROCAL_SHIFT) / size + 1;
            let mut offset = 0u64;
            while offset < SEGMENT_SIZE as u64 {
                for probe in [offset, offset + size - 1, offset + 1] {
                    assert_eq!((probe * reciprocal) >> RECIPROCAL_SHIFT, probe / size);
                }
                offset += size;
            }
        }
    }

    #[test]
    fn collecting_the_thread_free_list_counts_without_walking_and_keeps_the_local_list() {
        // A page over a buffer of eight 16-byte slots, all handed out.
        let mut slots = [[0u64; 2]; 8];
        let mut page = page_over(&mut slots);
        page.carved = 8;
        page.set_used(8);
        let slot = |slots: &mut [[u64; 2]; 8], i: usize| {
            NonNull::new(slots[i].as_mut_ptr().cast::<u8>()).unwrap()
        };
        // SAFETY: slots of the page, each given up once.
        unsafe {
            for i in [1, 4, 6] {
                assert!(!Page::push_remote(&page, slot(&mut slots, i)));
            }
        }
        assert!(page.collect_remote(sound_link));
        assert_eq!(page.used(), 5);
        assert!(!page.collect_remote(sound_link));
        // Into a non-empty local list: the taken list goes in front of it.
        // SAFETY: as above; slot 0 was handed out and is given back once.
        unsafe {
            page.push(slot(&mut slots, 0));
            assert_eq!(page.used(), 4);
            for i in [2, 3] {
                assert!(!Page::push_remote(&page, slot(&mut slots, i)));
            }
        }
        assert!(page.collect_remote(sound_link));
        assert_eq!(page.used(), 2);
        let mut popped = Vec::new();
        while let Some(block) = page.pop(sound_link) {
            popped.push((block.as_ptr() as usize - slots.as_ptr() as usize) / 16);
            if popped.len() > 8 {
                break;
            }
        }
        popped.sort_unstable();
        assert_eq!(popped, [0, 1, 2, 3, 4, 6]);
        assert_eq!(page.used(), 8);
    }

    #[test]
    fn the_queue_bit_and_the_used_count_share_a_word_without_mixing() {
        // Four 16-byte slots; a fresh descriptor is in its queue with no slot used.
        let mut slots = [[0u64; 2]; 4];
        let mut page = page_over(&mut slots);
        assert!(page.in_queue() && page.used() == 0 && page.release_needs_attention());
        let a = page.pop(sound_link).unwrap();
        let b = page.pop(sound_link).unwrap();
        assert_eq!(page.used(), 2);
        assert!(
            !page.release_needs_attention(),
            "in its queue with used slots"
        );
        // Leaving the queue keeps the count; the page then needs attention at any count.
        page.set_in_queue(false);
        assert!(!page.in_queue() && page.used() == 2);
        assert!(page.release_needs_attention());
        // SAFETY: `a` was handed out by this page and is given back once.
        unsafe { page.push(a) };
        assert!(page.used() == 1 && !page.in_queue() && page.release_needs_attention());
        page.set_in_queue(true);
        assert!(page.in_queue() && page.used() == 1 && !page.release_needs_attention());
        page.set_used(3);
        assert!(page.in_queue() && page.used() == 3);
        page.set_used(1);
        // SAFETY: as above, for `b`.
        unsafe { page.push(b) };
        assert!(page.in_queue() && page.used() == 0 && page.release_needs_attention());
        // The largest count a page can have stays clear of the bit.
        page.set_in_queue(false);
        page.set_used(UNIT_SIZE as u32 / 8);
        assert!(!page.in_queue() && page.used() == UNIT_SIZE as u32 / 8);
    }

    #[test]
    fn slot_counts_fit_the_remote_count() {
        for class in 0..crate::gpa::size_class::CLASS_COUNT {
            let slots = page_units(class) * UNIT_SIZE / class_size(class);
            assert!(slots <= UNIT_SIZE / 8, "class {class}: {slots} slots");
            assert!(slots < 1 << (usize::BITS - REMOTE_COUNT_SHIFT));
        }
    }

    #[test]
    fn runs_are_aligned_to_their_span() {
        assert_eq!(find_run(ALL_PAGE_UNITS, 1), Some(1));
        assert_eq!(find_run(ALL_PAGE_UNITS, 2), Some(2));
        assert_eq!(find_run(ALL_PAGE_UNITS, 16), Some(16));
        assert_eq!(find_run(ALL_PAGE_UNITS & !(1 << 16), 16), Some(32));
        assert_eq!(find_run(0, 1), None);
        assert_eq!(run_mask(0, 64), u64::MAX);
    }
}
