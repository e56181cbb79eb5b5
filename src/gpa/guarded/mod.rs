//! Guarded blocks: each block on pages of its own, against an inaccessible guard page
//! (Electric Fence, Windows PageHeap, GWP-ASan), so that reads and writes past its end (or,
//! with `Config::guard_underflow`, before its start) and any use after it is freed fault at the
//! access instead of going unnoticed.
//!
//! # Design
//! A GPA that guards blocks reserves one large **area** of address space (64 GiB of
//! `PROT_NONE`, no commit charge; under an address-space limit, `RLIMIT_AS`, a sixteenth of the
//! limit, with a one-time warning in guard mode, and none when even that does not fit: blocks
//! are then placed as in check mode) on first use and carves **extents** (runs of pages)
//! from it:
//!
//! ```text
//!  base (4 MiB aligned)                       block_start
//!  ┌────────────────────────────┬───────────┬──────────────────────────────────────────────┐
//!  │ Area header, owner map     │ gap       │ extent │ extent │ extent ...  (bump →)      │
//!  │ (page → record), records   │ (4 MiB,   │                                              │
//!  │ (RW, touched lazily)       │ PROT_NONE)│                                              │
//!  └────────────────────────────┴───────────┴──────────────────────────────────────────────┘
//!  one extent, end placement (default)          one extent, start placement
//!  ┌──────────────┬──────────────┬───────┐      ┌───────┬──────────────┬──────────────┐
//!  │ fill │ data  │ data   │ fill│ guard │      │ guard │ data   data  │ data │ fill  │
//!  └──────────────┴──────────────┴───────┘      └───────┴──────────────┴──────────────┘
//! ```
//! Only a live block's data pages are accessible. The bytes of those pages around the data
//! (the alignment slack after the end, the unused start of the first page) are filled with the
//! canary byte and checked when the block is freed and at exit. At end placement the block's
//! end is rounded up to its alignment before it meets the guard, so a block whose size is a
//! multiple of its alignment (every Rust layout of a type or an array) ends flush against the
//! guard and its first byte past the end faults; a C `malloc` block, whose alignment is not
//! its type's, has up to `align - 1` bytes of slack, where a write is found by the canary
//! check and a read by nothing (`capi::guard`, "Alignment slack", chooses the alignment). Freeing makes the data pages
//! inaccessible again (their memory goes back to the OS, unless the block's contents are kept:
//! below) and puts the extent in a FIFO **quarantine** bounded in bytes
//! (`Config::guard_quarantine_bytes`): until it leaves, any access faults and the address is
//! not reused. Extents that left the
//! quarantine are reused by exact page count (up to [`area::EXACT_LISTS`] pages) or first fit.
//!
//! # Contents kept after free
//! Valgrind keeps a freed block's bytes while it is in its free queue (`--freelist-vol`), so a
//! read after free returns the old value and a write after free stays, and the program goes on
//! as natively without the reuse (a list freed node by node reads each node's link after its
//! free). The most recently freed extents do the same here, up to `Config::guard_keep_bytes`
//! of data pages and an eighth of the mapping limit in blocks with guard markers: their data
//! pages are made `PROT_NONE` instead of discarded (the record's `kept` flag is set first),
//! every access still faults, and the fault hook tells `os::signal::step` to close the page
//! again without discarding it (`keeps`), so the stepped instruction reads the block's bytes
//! and what it writes stays. The kept records are the newest part of the quarantine, from
//! `kept_head` on; when the window is full, or a kept record leaves the quarantine, the
//! oldest is **forgotten** under the area's lock: a guard marker installed (it zaps the pages)
//! before the protection goes back to read-write, which merges the split mapping again, or
//! with `mprotect` pages a discard. A forgotten block's pages read zeros, as every freed
//! block's did before. Neither a forget nor an extent's reuse happens while a fault's step
//! has one of the pages open (`os::signal::claim` fails, and the block stays kept, or the
//! extent waits on its free list), since the step's close would undo it; the pages are
//! claimed while they change, so no step opens one meanwhile. Sampled mode's pool slots keep their contents until their chunk is
//! reused (`PROT_NONE`, never discarded).
//!
//! Safety mode also places every block of no bytes here (`alloc_empty`), guard mode or not:
//! its extent is a single guard page with no data page (one page of address space, no
//! memory, no system call), so the block has an address of its own and any access to it
//! faults.
//!
//! The area is registered in the page map under its header ([`super::segment::SegmentKind::Guarded`]), so
//! the GPA's common paths (free of any pointer, `block_layout`, `manages`) find it as they find
//! small segments and large blocks. The **owner map** gives, for every page of the block area,
//! the record of the extent that contains it: a fault address is mapped to its block without a
//! lock and without allocating ([`Area::attribute`]); an address that no extent contains (the
//! gap, space never handed out) is attributed to the nearest live block.
//!
//! # Sampled mode's slot pool
//! In sampled mode (`Config::guard_sample`) a request of up to a page takes a slot of a small
//! pool carved from the area instead of an extent (`area/pool.rs`): 256 one-page slots, each a
//! mapping of its own with its guard page, kept resident and opened sixteen at a time, so a
//! sampled block costs one `mprotect` at free and a sixteenth of one at allocation, with no
//! `madvise` and no fresh page. A freed slot stays inaccessible until its chunk of sixteen is
//! reused (the oldest free chunk first); when no chunk is free the request is served
//! unguarded. Larger requests take extents as in full guard mode, which does not use the pool.
//!
//! # Choosing the sampled requests
//! About one request in `Config::guard_sample` (N) is guarded: a countdown restarted at a
//! random length in `1..2N` each time it runs out. The small-allocation fast paths (Rust's
//! sized `alloc`, C's `malloc` and `calloc`) keep the countdown in the thread's heap, which
//! they hold already, so sampling costs them one decrement and a branch ([`due`]); a GPA in
//! sampled mode with no other checks is served by a copy of fast mode's path with that step
//! in it (`sampled_bare`), and its frees by fast mode's path plus one range compare
//! ([`Guarded::holds`]). Heaps of GPAs that do not sample count down from `u64::MAX` and
//! never get there. Requests without a heap at hand (a thread's first), of no size class, or
//! on a GPA with other checks take a per-thread countdown ([`sample`]) in initial-exec TLS.
//!
//! # The mapping limit
//! Making a page range of a mapping accessible with `mprotect` splits the mapping, and the
//! kernel allows `vm.max_map_count` (65530 by default) mappings per process. Where the kernel
//! supports guard pages inside a mapping (`MADV_GUARD_INSTALL`, Linux 6.13) the area is made
//! accessible in 2 MiB steps as extents are carved and every page that is not live data is a
//! guard page: no split at all, no limit on guarded blocks. Elsewhere (or with the environment
//! variable `GPA_GUARD_PAGES=mprotect`) data pages are opened with `mprotect`, each live block
//! costs up to two mappings, and at most [`Area::budget`] blocks (about a third of the limit)
//! are guarded at once: beyond that, requests are served unguarded, never failed.
//!
//! # Invariants
//! * `owner[p]` is the record of the extent holding block-area page `p`, or 0 (never carved).
//!   Extents partition the carved pages `[1, bump)`; page 0 is never carved.
//! * A record becomes `SLOT_LIVE` last (a release store, `Birth`): its data, layout, traces,
//!   tag, the canary bytes around its data and the caller's prefix (the C ABI's front guard)
//!   are all in place before, so a reader that sees it live (the exit-time scan, which stops
//!   threads wherever they are) never sees a block half set up.
//! * A record's `kept` is 1 only while it is `SLOT_QUARANTINED` (or a released pool slot) with
//!   its data pages `PROT_NONE` and not discarded; every extent that leaves the quarantine is
//!   forgotten first, so an extent on a free list has its data pages closed and zero as before.
//! * A record's `state` is `SLOT_LIVE` exactly while its data pages are accessible; a record in
//!   the quarantine is `SLOT_QUARANTINED`; one on a free list is `SLOT_FREED` (traces of its
//!   last block kept) or `SLOT_FREE` (never held a block).
//! * Records and the owner map are only written under the area's lock, except `state`, which a
//!   free moves out of `SLOT_LIVE` by one compare-and-swap (exactly one of two racing frees
//!   wins). Readers without the lock (faults, lookups) see atomics only.

mod area;

pub use area::{Area, Birth, AREA_LEN};

use core::alloc::Layout;
use core::cell::Cell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::lock::Lock;
use super::pagemap;
use super::safety::Prefix;
use crate::os;

/// A GPA's guarded area, created on first use.
pub struct Guarded {
    area: AtomicUsize,
    /// The block area's start, or [`NOWHERE`]: the fast free path's range check.
    start: AtomicUsize,
    /// The block area's length ([`AREA_LEN`], less under an address-space limit), or 0.
    len: AtomicUsize,
    /// Reserving the area failed once: not tried again (every guarded request would pay a
    /// failing `mmap`).
    refused: AtomicBool,
    create: Lock<()>,
}

/// The most guarded areas (GPA instances with guarded blocks) alive at once.
const MAX_AREAS: usize = 64;

/// The headers of the live areas: the page map accepts a guarded entry only if it names one.
static AREAS: [AtomicUsize; MAX_AREAS] = [const { AtomicUsize::new(0) }; MAX_AREAS];

/// Whether `address` is the header of a live guarded area (never reads it).
pub fn is_area(address: usize) -> bool {
    address != 0
        && AREAS
            .iter()
            .any(|slot| slot.load(Ordering::Acquire) == address)
}

/// Records a new area; `false` when [`MAX_AREAS`] are alive already.
fn register_area(address: usize) -> bool {
    AREAS.iter().any(|slot| {
        slot.compare_exchange(0, address, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    })
}

fn unregister_area(address: usize) {
    for slot in &AREAS {
        let _ = slot.compare_exchange(address, 0, Ordering::AcqRel, Ordering::Acquire);
    }
}

/// A start no user address is ever above by less than the area length.
const NOWHERE: usize = 1 << 63;

impl Guarded {
    /// No area yet.
    pub const fn new() -> Self {
        Guarded {
            area: AtomicUsize::new(0),
            start: AtomicUsize::new(NOWHERE),
            len: AtomicUsize::new(0),
            refused: AtomicBool::new(false),
            create: Lock::new(()),
        }
    }

    /// Whether `address` is in this GPA's block area (one subtraction and compare).
    #[inline(always)]
    pub fn holds(&self, address: usize) -> bool {
        address.wrapping_sub(self.start.load(Ordering::Relaxed)) < self.len.load(Ordering::Relaxed)
    }

    /// The area, if it exists.
    pub fn existing(&self) -> Option<&Area> {
        let area = self.area.load(Ordering::Acquire);
        // SAFETY: a published area stays mapped until `release`, which needs `&mut` GPA.
        (area != 0).then(|| unsafe { &*(area as *const Area) })
    }

    /// The area, reserved on first use for the GPA with `gpa_id`: [`AREA_LEN`] bytes of block
    /// area, or under an address-space limit (`RLIMIT_AS`) at most a share of it
    /// ([`area::AREA_SHARE`] in guard mode, else [`area::AREA_SHARE_UNGUARDED`]). `None`
    /// when the OS refuses (then and later). `guard_mode`: the GPA guards every block, and a
    /// smaller area, or none, is worth a warning (once per process).
    pub fn area(
        &self,
        gpa_id: u64,
        canary: u64,
        quarantine_limit: usize,
        keep_limit: usize,
        frames: usize,
        guard_mode: bool,
    ) -> Option<&Area> {
        if let Some(area) = self.existing() {
            return Some(area);
        }
        if self.refused.load(Ordering::Relaxed) {
            return None;
        }
        let _creating = self.create.lock();
        if let Some(area) = self.existing() {
            return Some(area);
        }
        if self.refused.load(Ordering::Relaxed) {
            return None;
        }
        let share = if guard_mode {
            area::AREA_SHARE
        } else {
            area::AREA_SHARE_UNGUARDED
        };
        let len = os::reservation_len(AREA_LEN, share) & !(super::segment::SEGMENT_SIZE - 1);
        let created = (len >= area::AREA_MIN)
            .then(|| Area::create(gpa_id, canary, quarantine_limit, keep_limit, frames, len))
            .flatten();
        if guard_mode && (created.is_none() || len < AREA_LEN) {
            warn_limited(created.map(|_| len));
        }
        let Some(area) = created else {
            self.refused.store(true, Ordering::Relaxed);
            return None;
        };
        // SAFETY: just created.
        let block_start = unsafe { (*area).block_start };
        self.area.store(area as usize, Ordering::Release);
        self.len.store(len, Ordering::Release);
        self.start.store(block_start, Ordering::Release);
        // SAFETY: published above; lives until `release`.
        Some(unsafe { &*area })
    }

    /// Unregisters and unmaps the area (every guarded block goes with it).
    ///
    /// # Safety
    /// Nobody uses the area's blocks any more (the GPA is being torn down).
    pub unsafe fn release(&self) {
        let area = self.area.swap(0, Ordering::AcqRel);
        self.start.store(NOWHERE, Ordering::Release);
        self.len.store(0, Ordering::Release);
        if area == 0 {
            return;
        }
        // SAFETY: caller contract; the area was mapped by `Area::create` with this length.
        unsafe {
            let total = (*(area as *const Area)).total_len;
            pagemap::unregister(area, total);
            unregister_area(area);
            os::unmap(NonNull::new_unchecked(area as *mut u8), total);
        }
    }

    /// The locks a `fork` takes (`GeneralPurposeAllocator::prepare_fork`), in their order:
    /// the creation lock, then the area's (which the `Guarded` itself stands for: the area's
    /// lock when the area exists, nothing otherwise; with the creation lock held, whether it
    /// exists cannot change).
    pub fn fork_locks(&self) -> [&dyn crate::gpa::lock::RawLock; 2] {
        [&self.create, self]
    }

    /// Releases what `GeneralPurposeAllocator::prepare_fork` took of [`Guarded::fork_locks`].
    ///
    /// # Safety
    /// Those locks were taken and are still held.
    pub unsafe fn release_after_fork(&self) {
        // SAFETY: caller contract.
        unsafe {
            if let Some(area) = self.existing() {
                area.state.release();
            }
            self.create.release();
        }
    }
}

/// The area's lock when the area exists (taken after [`Guarded`]'s creation lock: see
/// [`Guarded::fork_locks`]).
impl crate::gpa::lock::RawLock for Guarded {
    fn acquire(&self) {
        if let Some(area) = self.existing() {
            area.state.acquire();
        }
    }

    fn try_acquire(&self) -> bool {
        self.existing().is_none_or(|area| area.state.try_acquire())
    }

    unsafe fn release(&self) {
        if let Some(area) = self.existing() {
            // SAFETY: caller contract (taken by `acquire` or `try_acquire` above, with the
            // creation lock held since, so the area existed then).
            unsafe { area.state.release() };
        }
    }
}

/// Says once per process, on stderr, that guard mode's block area was sized to the
/// address-space limit (`Some(len)`: `len` bytes instead of [`AREA_LEN`]) or could not be
/// reserved under it (`None`: blocks are placed as in check mode, without guard pages).
/// Formats on the stack: it runs inside an allocation.
#[cold]
fn warn_limited(len: Option<usize>) {
    use core::fmt::Write;
    static WARNED: AtomicBool = AtomicBool::new(false);
    if WARNED.swap(true, Ordering::Relaxed) {
        return;
    }
    let limit = os::address_space_limit().unwrap_or(0);
    let mut line = os::StderrLine::<320>::new();
    let _ = match len {
        Some(len) => writeln!(
            line,
            "gpa: warning: the address-space limit (RLIMIT_AS, ulimit -v) is {} MiB: guard \
             mode's block area is {} MiB instead of {} GiB",
            limit >> 20,
            len >> 20,
            AREA_LEN >> 30
        ),
        None => writeln!(
            line,
            "gpa: warning: the address-space limit (RLIMIT_AS, ulimit -v) is {} MiB: no room \
             for guard mode's block area, blocks are placed as in check mode (no guard pages)",
            limit >> 20
        ),
    };
    line.flush();
}

// ---- sampling ----

/// A thread's sampling state for the paths that have no heap at hand (requests too large for
/// a size class, and GPAs with other checks: `sample`).
#[repr(C)]
struct SampleState {
    /// Allocations left before the next guarded one (0: not started on this thread).
    countdown: Cell<u32>,
    /// This thread's random state for the countdowns (0: not seeded yet).
    random: Cell<u64>,
}

// SAFETY: a zero countdown (not started) and a zero random state (not seeded) are valid.
unsafe impl crate::tls::ZeroInit for SampleState {}

crate::tls::fast_thread_local!(
    /// The calling thread's [`SampleState`] (initial-exec TLS: no `__tls_get_addr` in the
    /// preload library).
    fn sample_state() -> SampleState;
);

/// The calling thread's [`SampleState`], `(address, bytes)`.
pub(crate) fn thread_local_extent() -> (usize, usize) {
    crate::tls::extent(sample_state())
}

/// Whether this allocation is one of the sampled ones (about one in `every`): a per-thread
/// countdown, restarted at a random length (mean `every`) each time it runs out. The small
/// fast paths use their heap's countdown instead ([`due`]).
#[inline(always)]
pub fn sample(every: usize) -> bool {
    let countdown = &sample_state().countdown;
    let left = countdown.get();
    if left > 1 {
        countdown.set(left - 1);
        false
    } else {
        restart(countdown, every, left)
    }
}

#[cold]
#[inline(never)]
fn restart(countdown: &Cell<u32>, every: usize, left: u32) -> bool {
    if every <= 1 {
        countdown.set(1);
        return every == 1;
    }
    countdown.set(span(every) as u32);
    // The first countdown of a thread starts without a guarded allocation.
    left == 1
}

/// A random countdown length in `1..2 * every` (mean `every`, at least 1), from the calling
/// thread's xorshift state.
fn span(every: usize) -> u64 {
    if every <= 1 {
        return 1;
    }
    let state = &sample_state().random;
    let mut x = state.get();
    if x == 0 {
        x = (os::thread_id() << 32) ^ os::approximate_stack_pointer() as u64 | 1;
    }
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    state.set(x);
    let span = (2 * every.min(1 << 30) - 1) as u64;
    1 + x % span
}

/// The small-allocation fast paths' sampling test (Rust's sized `alloc`, C's `malloc` and
/// `calloc`): one decrement of the heap's countdown, which is already in cache, and a branch
/// that is taken about once in `Config::guard_sample` allocations, or never for a GPA that
/// does not sample (its heaps count down from `u64::MAX`). When it is taken the caller calls
/// [`GeneralPurposeAllocator::alloc_sampled_due`].
///
/// # Safety
/// `heap` is the calling thread's heap.
#[inline(always)]
pub(super) unsafe fn due(heap: *mut Heap) -> bool {
    // SAFETY: caller contract: only this thread touches its heap's countdown.
    unsafe {
        let left = (*heap).sample_countdown.wrapping_sub(1);
        (*heap).sample_countdown = left;
        left == 0
    }
}

// ---- the GPA's use of it ----

use super::heap::Heap;
use super::GeneralPurposeAllocator;

impl GeneralPurposeAllocator {
    /// Whether `address` lies in this GPA's guarded area (a guarded block, its slot or its
    /// guard pages): one subtraction and compare, no lookup.
    #[inline(always)]
    pub(crate) fn in_guarded_area(&self, address: usize) -> bool {
        self.guards && self.guarded.holds(address)
    }

    /// Whether `address` lies on a quarantined guarded block whose contents are kept
    /// (`Config::guard_keep_bytes`): a fault there is stepped over without discarding what
    /// the page holds. Lock-free and allocation-free (the fault path).
    pub(crate) fn keeps_freed_contents(&self, address: usize) -> bool {
        self.in_guarded_area(address)
            && self
                .guarded
                .existing()
                .is_some_and(|area| area.keeps(address))
    }

    /// A guarded block of `size` bytes (not 0) at `align` tagged `tag` (`set_block_tag`), for
    /// the C ABI with `Config::guard_underflow` (`capi::guard`): the block starts against its
    /// guard page, which is its underflow check, so the C ABI gives it no front guard. The tag
    /// is set before the block goes live. Null when the request is not to be guarded (no
    /// underflow placement, made inside the allocator, which serves it from its internal heap,
    /// sampled mode's countdown did not run out), over the memory limit, or when the area
    /// cannot serve it: the caller then makes the block as usual, with its front guard
    /// (`alloc_prefixed`, which never places such a block in the area).
    #[cold]
    #[inline(never)]
    pub(crate) fn alloc_guarded_c(&self, size: usize, align: usize, tag: u8) -> *mut u8 {
        if !self.guards
            || !self.config.guard_underflow
            || size == 0
            || super::heap::inside_allocator()
            || !(self.config.guard || sample(self.config.guard_sample))
        {
            return core::ptr::null_mut();
        }
        let Ok(layout) = Layout::from_size_align(size, align) else {
            return core::ptr::null_mut();
        };
        if self.config.enable_memory_limit && !self.charge(size) {
            return core::ptr::null_mut();
        }
        let Some(block) = self.alloc_guarded_as(layout, tag, Prefix::NONE) else {
            if self.config.enable_memory_limit {
                self.uncharge(size);
            }
            return core::ptr::null_mut();
        };
        let block = block.as_ptr();
        if super::observer::active() {
            super::observer::alloc_event(self, block, size, align);
        }
        block
    }

    /// Whether a C request of safety mode with a front guard (`alloc_prefixed`) is to be
    /// guarded: every one in guard mode, about one in `Config::guard_sample` in sampled mode
    /// ([`sample`]), none with `Config::guard_underflow`, whose guarded C blocks have no front
    /// guard and were tried first ([`GeneralPurposeAllocator::alloc_guarded_c`]): a padded
    /// block is never placed in the area, where every block is taken to have none.
    #[inline]
    pub(super) fn guard_prefixed(&self) -> bool {
        self.guards
            && !self.config.guard_underflow
            && (self.config.guard || sample(self.config.guard_sample))
    }

    /// `heap`'s sampling countdown ran out ([`due`]): restarts it and, unless this was the
    /// heap's first countdown, guards this request. `None`: serve it as usual (not sampled, or
    /// no slot free).
    ///
    /// # Safety
    /// `heap` is the calling thread's heap of this GPA.
    #[cold]
    #[inline(never)]
    pub(super) unsafe fn alloc_sampled_due(
        &self,
        heap: *mut Heap,
        layout: Layout,
    ) -> Option<NonNull<u8>> {
        // SAFETY: caller contract; the reference ends before anything else may use the heap.
        let heap = unsafe { &mut *heap };
        if !self.sampled_bare {
            heap.sample_countdown = u64::MAX;
            return None;
        }
        heap.sample_countdown = span(self.config.guard_sample);
        // A heap's first countdown starts without a guarded allocation (with N = 1 every
        // request is guarded, the first included).
        if !core::mem::replace(&mut heap.sample_started, true) && self.config.guard_sample > 1 {
            return None;
        }
        self.alloc_guarded(layout)
    }

    /// `alloc_small_fast::<true>` when the thread has no cached heap: the thread's countdown
    /// ([`sample`]) decides instead of the heap's.
    #[cold]
    #[inline(never)]
    pub(super) fn alloc_small_no_heap(
        &self,
        class: super::size_class::Class,
        layout: Layout,
    ) -> Option<NonNull<u8>> {
        if sample(self.config.guard_sample) {
            if let Some(block) = self.alloc_guarded(layout) {
                return Some(block);
            }
        }
        self.alloc_small_slow(class).map(|(block, _)| block)
    }

    /// `alloc_small_fast::<true>` when the heap's countdown ran out: a guarded block, or the
    /// request served as fast mode serves it.
    ///
    /// # Safety
    /// As for [`GeneralPurposeAllocator::alloc_sampled_due`].
    #[cold]
    #[inline(never)]
    pub(super) unsafe fn alloc_small_due(
        &self,
        heap: *mut Heap,
        class: super::size_class::Class,
        layout: Layout,
    ) -> Option<NonNull<u8>> {
        // SAFETY: caller contract.
        if let Some(block) = unsafe { self.alloc_sampled_due(heap, layout) } {
            return Some(block);
        }
        self.alloc_small_fast::<false>(class, layout)
    }

    /// A guarded block, or `None` (the caller serves the request as usual).
    #[inline]
    pub(super) fn alloc_guarded(&self, layout: Layout) -> Option<NonNull<u8>> {
        self.alloc_guarded_as(layout, 0, Prefix::NONE)
    }

    /// A guarded block tagged `tag` whose first bytes are `prefix` (at most `layout.size()`),
    /// both written before the block goes live (`Area::alloc`), or `None` (the caller serves
    /// the request as usual).
    #[cold]
    #[inline(never)]
    pub(super) fn alloc_guarded_as(
        &self,
        layout: Layout,
        tag: u8,
        prefix: Prefix,
    ) -> Option<NonNull<u8>> {
        // Realigned: the program may call in on a misaligned stack, and this path keeps SSE
        // values in aligned stack slots (`os::stack::on_aligned_stack`).
        os::stack::on_aligned_stack(|| self.alloc_guarded_aligned(layout, tag, prefix))
    }

    /// [`Self::alloc_guarded_as`] on a 16-byte-aligned stack.
    #[inline(never)]
    fn alloc_guarded_aligned(
        &self,
        layout: Layout,
        tag: u8,
        prefix: Prefix,
    ) -> Option<NonNull<u8>> {
        let area = self.guarded.area(
            self.id(),
            self.config.canary,
            self.config.guard_quarantine_bytes,
            self.config.guard_keep_bytes,
            self.config.stack_trace_frames,
            self.config.guard,
        )?;
        {
            // Giving the thread a signal stack may allocate (its exit hook).
            let _inside = super::heap::InsideAllocator::enter();
            os::signal::ensure_alt_stack();
        }
        let birth = Birth {
            start_against_guard: self.config.guard_underflow,
            trace: self.trace_here(),
            tag,
            prefix,
        };
        if self.config.guard {
            area.alloc(layout, &birth)
        } else {
            area.alloc_sampled(layout, &birth)
        }
    }

    /// A block of no bytes in safety mode (C's `malloc(0)`), placed in the guarded area as any
    /// guarded block is, with no data page: an address of its own that no access may touch,
    /// costing a page of address space, no memory and no system call. Any read or write of
    /// it faults and is reported as an overflow of a 0-byte block (`fault`), as Valgrind
    /// reports "0 bytes after a block of size 0". `None` when the area cannot be had (the
    /// caller serves the request as usual).
    #[cold]
    #[inline(never)]
    pub(super) fn alloc_empty(&self, layout: Layout) -> Option<NonNull<u8>> {
        debug_assert_eq!(layout.size(), 0);
        self.alloc_guarded(layout)
    }

    /// Frees a guarded block (any pointer into the area is accepted and diagnosed). `area` is
    /// a sound area of this GPA (the page map and `locate` checked it).
    pub(super) fn free_guarded(
        &self,
        area: *const Area,
        memory: NonNull<u8>,
        claimed: Option<Layout>,
    ) {
        // SAFETY: a sound area header of ours, mapped while the GPA lives.
        let area = unsafe { &*area };
        let address = memory.as_ptr() as usize;
        if self.config.enable_memory_limit {
            if let Some(layout) = area.layout_of(address) {
                self.uncharge(layout.size());
            }
        }
        // Realigned as in `alloc_guarded_as`.
        os::stack::on_aligned_stack(|| {
            let trace = self.trace_here();
            area.free(address, claimed, trace, &mut |finding| self.record(finding));
        });
    }

    /// Validates a resize of a guarded block; they never change size in place.
    pub(super) fn resize_guarded(
        &self,
        area: *const Area,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> bool {
        // SAFETY: as in `free_guarded`.
        let area = unsafe { &*area };
        // Realigned as in `alloc_guarded_as`.
        let found = os::stack::on_aligned_stack(|| {
            area.check_resize(memory.as_ptr() as usize, layout, self.trace_here())
        });
        match found {
            None => new_len == layout.size(),
            Some(finding) => {
                self.record(finding);
                false
            }
        }
    }

    /// The layout, tag and allocation-trace cells of a live guarded block.
    pub(super) fn guarded_live_cells(
        &self,
        area: *const Area,
        address: usize,
    ) -> Option<super::BlockCells<'_>> {
        // SAFETY: as in `free_guarded`; the area outlives `&self`.
        let area = unsafe { &*area };
        area.live_cells(address)
    }

    /// The layout of a live guarded block.
    pub(super) fn guarded_block_layout(&self, area: *const Area, address: usize) -> Option<Layout> {
        // SAFETY: as in `free_guarded`.
        let area = unsafe { &*area };
        area.layout_of(address)
    }

    /// The guarded block (live, or freed and not yet reused) whose extent holds `address`.
    pub(super) fn guarded_block_span(
        &self,
        area: *const Area,
        address: usize,
    ) -> Option<super::BlockSpan> {
        // SAFETY: as in `free_guarded`.
        let area = unsafe { &*area };
        area.span_at(address)
    }

    /// Calls `visit` for every live guarded block, reporting damaged canary bytes where
    /// `readable(start, length)` says they may be read (a program may have made its block's
    /// pages inaccessible with `mprotect`).
    pub(super) fn live_guarded_blocks(
        &self,
        readable: &dyn Fn(usize, usize) -> bool,
        visit: &mut dyn FnMut(super::LiveBlock),
    ) {
        let Some(area) = self.guarded.existing() else {
            return;
        };
        let mut damaged = std::vec::Vec::new();
        area.for_each_live(
            readable,
            &mut |address, size, alloc_trace| {
                visit(super::LiveBlock {
                    address,
                    size,
                    alloc_trace,
                    // Guard mode's blocks lie in allocation order (the scan goes by their
                    // addresses); a guarded record has no room for a serial.
                    serial: 0,
                })
            },
            &mut |finding| damaged.push(finding),
        );
        for finding in damaged {
            self.record(finding);
        }
    }

    /// The bytes the program asked for in the live guarded blocks (0 without a guarded
    /// area): see `Area::live_bytes`.
    pub(super) fn guarded_live_bytes(&self) -> usize {
        self.guarded.existing().map_or(0, |area| area.live_bytes())
    }

    /// How many guarded blocks with data pages are live (a diagnostic: with the `mprotect`
    /// backend at most the mapping budget are, the rest being served unguarded; blocks of no
    /// bytes are not counted).
    pub fn guarded_block_count(&self) -> usize {
        self.guarded
            .existing()
            .map_or(0, |area| area.live.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_guards_about_one_in_n() {
        // Each on a thread of its own: the countdown is per thread.
        let guarded = std::thread::spawn(|| (0..100_000).filter(|_| sample(100)).count())
            .join()
            .unwrap();
        assert!((500..2000).contains(&guarded), "{guarded}");
        let every = std::thread::spawn(|| (0..10).all(|_| sample(1)))
            .join()
            .unwrap();
        assert!(every);
    }
}
