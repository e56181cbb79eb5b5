//! The internal heap: memory for the allocator's own needs while it must not use itself.
//!
//! # Design
//! When a GPA is the process's global allocator, some work it does allocates: symbolizing a
//! trace for a report, `pthread_getattr_np` for the main thread's stack bounds, the C library
//! registering a thread-exit hook. Those requests arrive back at the GPA while it is busy; the
//! re-entrancy flag (`heap::InsideAllocator`) sends them here instead. The GPA's own metadata
//! (slot records, heap descriptors, large-block headers, quarantine rings) lives here too. This
//! heap is small and simple on purpose: one lock, power-of-two classes with a 16-byte header
//! before each block, all inside one address range reserved once, so that ownership is a range
//! check and the GPA can route a later free of such a block back here from any thread.
//!
//! Any pointer may reach [`free_user`] and [`usable_size`] (a C program's `free(p + 1 GiB)` can
//! land in this range), so nothing about a block is trusted before the **live map** says the
//! heap handed it out: one bit per 16 bytes of the region, set while a block starts there. A
//! pointer whose bit is clear is refused without touching the memory it points to. Blocks that
//! hold gpa's own metadata ([`alloc_metadata`]) are marked in their header and are never freed
//! or measured through the paths a program's pointer can take.
//!
//! A crash report (the fault handler, `capi::exit`) must not wait for this heap's lock: the
//! interrupted thread may hold it. [`enter_emergency`] switches every later request to a
//! lock-free bump allocator over the last sixteenth of the region (256 MiB), whose blocks
//! are never freed (the process is about to end), and makes frees no-ops.
//!
//! # Memory layout
//! ```text
//!  one reservation, made on first use (PROT_NONE unless said otherwise)
//!  ┌───────┬─────────────────────┬───────┬────────────────────────────────────────┬───────┐
//!  │ guard │ live map (rw, 1 bit │ guard │ blocks: committed (rw) │ reserved      │ guard │
//!  │ 64 MiB│ per 16 bytes)       │ 64 MiB│ as the bump grows      │ (PROT_NONE)   │ 64 MiB│
//!  └───────┴─────────────────────┴───────┴────────────────────────┴───────────────┴───────┘
//!                                        REGION_START ──── region length (4 GiB) ──►
//! ```
//! The guards keep the program's memory (mapped anywhere around) from running into gpa's
//! metadata: a stray write up to 64 MiB off the end of a neighbouring mapping faults. Under an
//! address-space limit (`RLIMIT_AS`) too tight for the 4.3 GiB reservation, the region is the
//! largest power of two down to 16 MiB that fits, with the guards and emergency reserve scaled
//! alike (1/64 and 1/16 of it) and a live map for the largest power of two up to the limit
//! (1/128 of that): the region grows in place when it fills up ([`grow`]), the emergency
//! reserve staying at the end of its first length, skipped by the bump pointer. The part
//! of the region not yet used stays inaccessible, so a wild write into it faults too.
//!
//! # Invariants
//! * Every block lies in `[REGION_START, REGION_START + REGION_LEN)` below the bump pointer,
//!   is preceded by a [`Header`] holding its length and alignment and its start (bit 0:
//!   metadata) folded with [`MAGIC`], and has its live-map bit set exactly while it is
//!   allocated.
//! * Free lists hold only freed blocks of their class, linked through their first word.
//! * `COMMITTED` only grows; memory below it is readable and writable, but for the emergency
//!   reserve (until [`enter_emergency`]) and, in a grown region, the uncommitted part before
//!   the reserve, where no block lies: the bump pointer went past both.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::lock::{Guard, Lock};
use crate::os;

/// The region's size when the address space allows it (see [`region_init`]).
const REGION_SIZE: usize = 1 << 32;
/// The smallest region tried: an address-space limit (`ulimit -v`, `RLIMIT_AS`) that leaves
/// less makes the internal heap, and so the GPA, unavailable.
const MIN_REGION_SIZE: usize = 16 << 20;
/// Each guard's size for a region of `len` bytes: 64 MiB for the full 4 GiB.
const fn guard_len(len: usize) -> usize {
    len / 64
}
/// Bytes of the live map for a region of `len` bytes: one bit per 16-byte granule.
const fn live_map_len(len: usize) -> usize {
    len / 16 / 8
}
/// The bump pointer commits memory in steps of this many bytes.
const COMMIT_STEP: usize = 1 << 20;
/// Bytes at the end of a region of `len` bytes kept for emergency allocations (crash
/// reports): a sixteenth, 256 MiB of the full 4 GiB.
const fn emergency_len(len: usize) -> usize {
    len / 16
}
const HEADER: usize = 16;
const MAGIC: usize = 0x6770_615f_696e_7472; // "gpa_intr"
const CLASS_COUNT: usize = 13; // 16 B ..= 64 KiB

/// The 16 bytes before every block.
#[repr(C)]
struct Header {
    /// The block's total bytes (from its header's start) `<< 8`, and log2 of the alignment
    /// it was asked for in the low byte.
    total_and_align: usize,
    /// The block's start (bit 0: metadata) xor [`MAGIC`].
    magic: usize,
}

struct State {
    bump: usize,
    free: [usize; CLASS_COUNT],
    /// Freed big blocks: (address of header, total length), reused first-fit.
    big_free: [(usize, usize); 64],
}

static REGION_START: AtomicUsize = AtomicUsize::new(0);
/// The region's length in bytes, stored before `REGION_START` is published (0 before).
static REGION_LEN: AtomicUsize = AtomicUsize::new(0);
/// The live map (see the module docs), set together with `REGION_START`.
static LIVE_MAP: AtomicUsize = AtomicUsize::new(0);
/// The region's length when it was first reserved (0 before): the emergency reserve is the
/// last sixteenth of it, wherever the region grows afterwards (see [`grow`]).
static FIRST_LEN: AtomicUsize = AtomicUsize::new(0);
/// The length the region may grow to (its live map covers that much), stored with
/// `REGION_LEN`: the first length without an address-space limit, else the largest power of
/// two up to the limit (at most [`REGION_SIZE`]).
static MAX_LEN: AtomicUsize = AtomicUsize::new(0);
/// Bytes of the region, from its start, that are committed (readable and writable), the
/// emergency reserve aside (inaccessible until [`enter_emergency`], although a grown region
/// commits past it).
static COMMITTED: AtomicUsize = AtomicUsize::new(0);
/// Set by [`enter_emergency`]: allocate lock-free from the reserve, never free.
static EMERGENCY: AtomicBool = AtomicBool::new(false);
/// The next free offset in the emergency reserve (from the reserve's start).
static EMERGENCY_BUMP: AtomicUsize = AtomicUsize::new(0);
static STATE: Lock<State> = Lock::new(State {
    bump: 0,
    free: [0; CLASS_COUNT],
    big_free: [(0, 0); 64],
});

/// Where the region is asked for under an address-space limit (16 to 20 TiB, below the range
/// of `os::map_aligned`'s hints and far from where the kernel places mappings by itself), so
/// that the address space above it stays free for [`grow`].
const GROWABLE_HINT: usize = 0x1000_0000_0000;

/// Reserves the region: 4 GiB, or under an address-space limit (`RLIMIT_AS`, which counts
/// reservations although nothing is committed: under `ulimit -v 4000000` the 4.3 GiB one
/// failed and so did every `malloc`) a power of two no larger than an eighth of the limit,
/// halved further while the reservation fails, down to [`MIN_REGION_SIZE`]. The rest is left
/// for the program's blocks; the region grows into it when it fills up ([`grow`]: a program
/// with 400,000 blocks live at exit under `ulimit -v 204800` needs more than the 16 MiB an
/// eighth gives, for its slot records and the exit report's tables).
#[cold]
fn region_init() -> Option<usize> {
    let (mut len, max_len) = match os::address_space_limit() {
        Some(limit) => lengths_under(limit),
        None => (REGION_SIZE, REGION_SIZE),
    };
    let (reservation, total, max_len) = loop {
        let max_len = max_len.max(len);
        let total = 3 * guard_len(len) + live_map_len(max_len) + len;
        let reservation = if max_len > len {
            reserve_growable(total)
        } else {
            os::reserve(total)
        };
        if let Some(reservation) = reservation {
            break (reservation.as_ptr() as usize, total, max_len);
        }
        if len == MIN_REGION_SIZE {
            return None;
        }
        len /= 2;
    };
    let live_map = reservation + guard_len(len);
    let live_map_bytes = live_map_len(max_len);
    let start = live_map + live_map_bytes + guard_len(len);
    // SAFETY: the live map lies inside the reservation just made; its pages are committed
    // lazily by the kernel (only the touched ones use memory).
    let committed = unsafe {
        os::protect(
            NonNull::new_unchecked(live_map as *mut u8),
            live_map_bytes,
            true,
        )
    };
    // Racing first users may have reserved regions of different sizes: the winner alone
    // publishes its length, before the live map that readers wait for.
    let winner = if committed {
        REGION_START.compare_exchange(0, start, Ordering::AcqRel, Ordering::Acquire)
    } else {
        Err(REGION_START.load(Ordering::Acquire))
    };
    match winner {
        Ok(_) => {
            FIRST_LEN.store(len, Ordering::Release);
            MAX_LEN.store(max_len, Ordering::Release);
            REGION_LEN.store(len, Ordering::Release);
            LIVE_MAP.store(live_map, Ordering::Release);
            Some(start)
        }
        Err(other) => {
            // SAFETY: the reservation was made above and never published.
            unsafe { os::unmap(NonNull::new_unchecked(reservation as *mut u8), total) };
            (other != 0).then_some(other)
        }
    }
}

/// The region's first length under an address-space limit of `limit` bytes (the largest power
/// of two up to an eighth of it, at least [`MIN_REGION_SIZE`]) and the length it may grow to,
/// which its live map covers: the largest power of two up to the limit (1/128 of that for the
/// live map: 1 MiB under 200 MB, reserved at once). Out of line, as [`reserve_growable`]: the
/// region's start-up lies in the fast path's code section, and without a limit neither runs.
#[cold]
#[inline(never)]
fn lengths_under(limit: usize) -> (usize, usize) {
    let mut len = REGION_SIZE;
    while len > MIN_REGION_SIZE && len > limit / 8 {
        len /= 2;
    }
    let mut max = REGION_SIZE;
    while max > len && max > limit {
        max /= 2;
    }
    (len, max)
}

/// Reserves `total` bytes for a region that may grow: at [`GROWABLE_HINT`] and a random
/// number of GiB above it, where the address space after the region stays free.
#[cold]
#[inline(never)]
fn reserve_growable(total: usize) -> Option<NonNull<u8>> {
    // A start that differs from run to run (the stack's address is randomized).
    let marker = 0u8;
    let noise = (core::ptr::addr_of!(marker) as usize >> 12) & 0xfff;
    os::reserve_near(GROWABLE_HINT + (noise << 30), total)
}

fn region() -> Option<usize> {
    let start = REGION_START.load(Ordering::Acquire);
    if start != 0 && LIVE_MAP.load(Ordering::Acquire) != 0 {
        return Some(start);
    }
    if start != 0 {
        // Another thread is publishing the live map right now.
        while LIVE_MAP.load(Ordering::Acquire) == 0 {
            core::hint::spin_loop();
        }
        return Some(start);
    }
    region_init()
}

/// Whether `address` lies in the internal heap's region (used or not). Says nothing about
/// whether it is a block: see [`is_live`].
#[inline]
pub fn owns(address: usize) -> bool {
    let start = REGION_START.load(Ordering::Relaxed);
    // One subtraction: below `start` it wraps to far above the length (0 until the region is
    // published).
    address.wrapping_sub(start) < region_len() && start != 0
}

/// The live map's bytes (`[start, end)`), once the region exists: gpa's bookkeeping (one bit
/// per granule of the region), which a conservative leak scan must not take for the program's
/// pointers (`leakcheck::roots::OwnState::with_allocator_metadata`).
pub fn live_map_range() -> Option<(usize, usize)> {
    let map = LIVE_MAP.load(Ordering::Acquire);
    (map != 0).then(|| (map, map + live_map_len(MAX_LEN.load(Ordering::Acquire))))
}

/// The region's length (0 before it exists).
#[inline(always)]
fn region_len() -> usize {
    REGION_LEN.load(Ordering::Relaxed)
}

/// The emergency reserve: its offset from the region's start and its length (the last
/// sixteenth of the region's first length).
fn emergency_reserve() -> (usize, usize) {
    let first = FIRST_LEN.load(Ordering::Acquire);
    (first - emergency_len(first), emergency_len(first))
}

/// The live-map word and bit of user pointer `user` (inside the region, 16-aligned).
fn live_bit(start: usize, user: usize) -> (&'static AtomicU64, u64) {
    let granule = (user - start) / 16;
    let map = LIVE_MAP.load(Ordering::Acquire) as *const AtomicU64;
    // SAFETY: `granule < region_len() / 16`, so the word lies inside the committed live map,
    // which is never unmapped.
    let word = unsafe { &*map.add(granule / 64) };
    (word, 1u64 << (granule % 64))
}

/// Whether `address` is the start of a live block of the internal heap (exactly what
/// [`alloc`] returned, not yet freed). Never reads the memory at `address`.
#[inline]
pub fn is_live(address: usize) -> bool {
    is_live_inlined(address)
}

/// [`is_live`], inlined: for the slot lookup of check mode's C `free` (`checked_slot`), which
/// runs it on every call (one call fewer on each).
#[inline(always)]
pub fn is_live_inlined(address: usize) -> bool {
    // Each global loaded once: the live map is published last (`Release`), after the
    // region's start and length, so once it reads non-zero they are visible too.
    let map = LIVE_MAP.load(Ordering::Acquire) as *const AtomicU64;
    if map.is_null() {
        return false;
    }
    let start = REGION_START.load(Ordering::Relaxed);
    let offset = address.wrapping_sub(start);
    if offset >= region_len() || address % 16 != 0 {
        return false;
    }
    let granule = offset / 16;
    // SAFETY: `granule < region_len() / 16`, so the word lies inside the committed live map,
    // which is never unmapped (as in `live_bit`).
    let word = unsafe { &*map.add(granule / 64) };
    word.load(Ordering::Acquire) & (1u64 << (granule % 64)) != 0
}

fn class_of(total: usize) -> Option<usize> {
    let class = total.max(16).next_power_of_two().trailing_zeros() as usize - 4;
    (class < CLASS_COUNT).then_some(class)
}

fn lock() -> Guard<'static, State> {
    STATE.lock()
}

/// The internal heap's lock, which a `fork` takes (`GeneralPurposeAllocator::prepare_fork`,
/// last) and a report that must end tries (`GeneralPurposeAllocator::try_prepare_fork`).
pub fn fork_lock() -> &'static dyn super::lock::RawLock {
    &STATE
}

/// Releases the lock [`fork_lock`] names, taken for a `fork`.
///
/// # Safety
/// [`fork_lock`] was taken (in this process or in the parent before `fork`) and the lock
/// was not released since.
pub unsafe fn unlock_after_fork() {
    // SAFETY: caller contract.
    unsafe { STATE.release() };
}

/// Allocates `size` bytes aligned to `align` (any power of two up to a page) for a caller
/// that may hand it to the program (re-entrant requests of the global allocator).
pub fn alloc(size: usize, align: usize) -> Option<NonNull<u8>> {
    alloc_marked(size, align, 0)
}

/// Allocates `size` bytes aligned to `align` for gpa's own metadata: such a block is only
/// freed by [`free`], never through [`free_user`].
pub fn alloc_metadata(size: usize, align: usize) -> Option<NonNull<u8>> {
    alloc_marked(size, align, METADATA)
}

/// The header bit of metadata blocks.
const METADATA: usize = 1;

/// From now on, allocate without the lock from the emergency reserve and never free (see the
/// module documentation). For a crash report, whose process ends afterwards; makes the
/// reserve accessible (one `mprotect`, async-signal-safe).
pub fn enter_emergency() {
    if EMERGENCY.load(Ordering::Acquire) {
        return;
    }
    if let Some(start) = region() {
        let (offset, len) = emergency_reserve();
        // SAFETY: the reserve is the end of the region's first length, where no block the
        // bump pointer hands out lies (it stops short of it, or skips it in a grown region).
        unsafe {
            os::protect(
                NonNull::new_unchecked((start + offset) as *mut u8),
                len,
                true,
            )
        };
    }
    EMERGENCY.store(true, Ordering::Release);
}

/// Whether `block` (a header's start) lies in the emergency reserve, once it is in use.
fn in_emergency_reserve(start: usize, block: usize) -> bool {
    let (offset, len) = emergency_reserve();
    EMERGENCY.load(Ordering::Acquire) && block.wrapping_sub(start + offset) < len
}

/// A block from the emergency reserve: a lock-free bump, never freed.
fn emergency_alloc(start: usize, size: usize, align: usize, mark: usize) -> Option<NonNull<u8>> {
    let align = align.max(16);
    let total = size
        .max(16)
        .checked_add(HEADER + align)?
        .next_multiple_of(16);
    let (reserve, len) = emergency_reserve();
    let offset = EMERGENCY_BUMP.fetch_add(total, Ordering::AcqRel);
    if offset.checked_add(total)? > len {
        return None;
    }
    let header = start + reserve + offset;
    let user = (header + HEADER).next_multiple_of(align);
    // SAFETY: `[header, header + total)` was reserved for this call alone by the bump above,
    // inside the accessible reserve; the header fits before `user`.
    unsafe {
        (user as *mut Header).sub(1).write(Header {
            total_and_align: total << 8 | align.trailing_zeros() as usize,
            magic: MAGIC ^ header ^ mark,
        });
    }
    let (word, bit) = live_bit(start, user);
    word.fetch_or(bit, Ordering::Release);
    NonNull::new(user as *mut u8)
}

fn alloc_marked(size: usize, align: usize, mark: usize) -> Option<NonNull<u8>> {
    if align > os::page_size() {
        return None;
    }
    let start = region()?;
    if EMERGENCY.load(Ordering::Acquire) {
        return emergency_alloc(start, size, align, mark);
    }
    // Room for the header, for a free-list link, and for moving the block up to `align`.
    let total = size
        .max(16)
        .checked_add(HEADER + align.saturating_sub(HEADER))?;
    let mut state = lock();
    let (header, block_len) = match class_of(total) {
        Some(class) => {
            let head = state.free[class];
            let header = if head != 0 {
                // SAFETY: free-list entries are freed blocks of this heap, linked via their
                // first word, in committed memory.
                state.free[class] = unsafe { *(head as *const usize) };
                head
            } else {
                bump(&mut state, start, 16 << class, 16)?
            };
            (header, 16 << class)
        }
        None => {
            let len = total.next_multiple_of(os::page_size());
            let reuse = state.big_free.iter().position(|&(_, l)| l >= len);
            let (header, len) = match reuse {
                Some(index) => core::mem::take(&mut state.big_free[index]),
                None => (bump(&mut state, start, len, os::page_size())?, len),
            };
            (header, len)
        }
    };
    let user = (header + HEADER).next_multiple_of(align);
    // SAFETY: `user - HEADER >= header`, inside the committed block we own; headers are
    // 8-aligned.
    unsafe {
        (user as *mut Header).sub(1).write(Header {
            total_and_align: block_len << 8 | align.trailing_zeros() as usize,
            magic: MAGIC ^ header ^ mark,
        });
    }
    let (word, bit) = live_bit(start, user);
    word.fetch_or(bit, Ordering::Release);
    drop(state);
    NonNull::new(user as *mut u8)
}

fn bump(state: &mut State, start: usize, len: usize, align: usize) -> Option<usize> {
    let offset = state.bump.next_multiple_of(align);
    let end = offset.checked_add(len)?;
    let (reserve, reserve_len) = emergency_reserve();
    let (offset, end) = if (end > reserve && offset < reserve + reserve_len) || end > region_len() {
        bump_grown(start, offset, len, align)?
    } else {
        (offset, end)
    };
    // Commits stop short of the emergency reserve while blocks lie before it.
    let usable = if end <= reserve {
        reserve
    } else {
        region_len()
    };
    let committed = COMMITTED.load(Ordering::Relaxed);
    if end > committed {
        let target = end.next_multiple_of(COMMIT_STEP).min(usable);
        // SAFETY: `[start + committed, start + target)` lies in our reservation and holds
        // nothing yet.
        let done = unsafe {
            os::protect(
                NonNull::new_unchecked((start + committed) as *mut u8),
                target - committed,
                true,
            )
        };
        if !done {
            return None;
        }
        COMMITTED.store(target, Ordering::Release);
    }
    state.bump = end;
    Some(start + offset)
}

/// [`bump`]'s way when the block does not fit before the emergency reserve or the region's
/// end: the block goes past the reserve, into a grown region ([`grow`]). Out of line: the
/// allocation paths that inline [`bump`] lie in the fast path's code section.
#[cold]
#[inline(never)]
fn bump_grown(start: usize, offset: usize, len: usize, align: usize) -> Option<(usize, usize)> {
    let (reserve, reserve_len) = emergency_reserve();
    let (mut offset, mut end) = (offset, offset.checked_add(len)?);
    if end > reserve && offset < reserve + reserve_len {
        if !grow(start, reserve + reserve_len + len) {
            return None;
        }
        offset = (reserve + reserve_len).next_multiple_of(align);
        end = offset.checked_add(len)?;
        if COMMITTED.load(Ordering::Relaxed) < reserve + reserve_len {
            // The reserve stays inaccessible; the commits go on after it.
            COMMITTED.store(reserve + reserve_len, Ordering::Release);
        }
    }
    (end <= region_len() || grow(start, end)).then_some((offset, end))
}

/// Makes the region at least `end` bytes long by reserving the address space after its
/// trailing guard (`MAP_FIXED_NOREPLACE`): the old guard becomes part of the region and the
/// new reservation's last [`guard_len`] bytes are the new guard. Doubles the region where the
/// limit allows, else takes less, down to what `end` needs. `false` when the region may not
/// grow (no address-space limit made it small, or it reached [`MAX_LEN`]) or the space after
/// it is taken or over the limit. Called with the heap's lock held.
#[cold]
#[inline(never)]
fn grow(start: usize, end: usize) -> bool {
    let len = region_len();
    if end <= len {
        return true;
    }
    let max = MAX_LEN.load(Ordering::Acquire);
    let guard = guard_len(FIRST_LEN.load(Ordering::Acquire));
    if end > max || EMERGENCY.load(Ordering::Acquire) {
        return false;
    }
    // The smallest step: what `end` needs, whole commit steps, and room for the new guard.
    let least = (end - len).max(guard).next_multiple_of(COMMIT_STEP);
    if least > max - len {
        return false;
    }
    // Steps of `len`, then halves of it while they are more than `least`, then `least`.
    let mut step = len.min(max - len);
    loop {
        let taken = step.max(least);
        if os::reserve_fixed(start + len + guard, taken) {
            REGION_LEN.store(len + taken, Ordering::Release);
            return true;
        }
        if taken == least {
            return false;
        }
        step /= 2;
    }
}

/// What a live block's header says, after checking that the block is one.
#[derive(Clone, Copy)]
struct Block {
    /// The header's start (the block's first byte).
    start: usize,
    /// Bytes from `start`.
    total: usize,
    /// [`METADATA`] or 0.
    mark: usize,
    /// The alignment the block was asked for.
    align: usize,
}

/// A live block's header, after checking that `user` is one.
fn validate(user: usize) -> Option<Block> {
    if !is_live(user) {
        return None;
    }
    let start = REGION_START.load(Ordering::Relaxed);
    // SAFETY: a live block is preceded by its header, in committed memory (invariant).
    let header = unsafe { (user as *const Header).sub(1).read() };
    let mark = (header.magic ^ MAGIC) & METADATA;
    let block = header.magic ^ MAGIC ^ mark;
    let total = header.total_and_align >> 8;
    let align_log2 = header.total_and_align & 0xff;
    // The live map says the heap handed this block out; these catch a header overwritten
    // since (a stray write of the program into gpa's memory).
    let consistent = block >= start
        && block % 16 == 0
        && block + HEADER <= user
        && user - block <= os::page_size()
        && total <= region_len()
        && user < block + total
        && (block + total <= start + COMMITTED.load(Ordering::Acquire)
            || (in_emergency_reserve(start, block) && {
                let (reserve, len) = emergency_reserve();
                block + total <= start + reserve + len
            }))
        && align_log2 < usize::BITS as usize
        && user % (1 << align_log2) == 0;
    consistent.then_some(Block {
        start: block,
        total,
        mark,
        align: 1 << align_log2,
    })
}

/// Whether `address` is a live metadata block (from [`alloc_metadata`]).
pub fn is_metadata(address: usize) -> bool {
    validate(address).is_some_and(|block| block.mark == METADATA)
}

/// Frees a block of the internal heap (metadata or not). Returns `false`, doing nothing,
/// when `memory` is not a live block of this heap (a bad pointer, or a second free).
///
/// # Safety
/// If `memory` is a live block of this heap, nobody uses it afterwards.
pub unsafe fn free(memory: NonNull<u8>) -> bool {
    // SAFETY: forwarded caller contract.
    unsafe { free_marked(memory, true) }
}

/// Frees a block the program may hold (not gpa's metadata); `false`, doing nothing, for any
/// other pointer.
///
/// # Safety
/// As for [`free`].
pub unsafe fn free_user(memory: NonNull<u8>) -> bool {
    // SAFETY: forwarded caller contract.
    unsafe { free_marked(memory, false) }
}

unsafe fn free_marked(memory: NonNull<u8>, metadata_too: bool) -> bool {
    let user = memory.as_ptr() as usize;
    if EMERGENCY.load(Ordering::Acquire) {
        // The process is about to end: nothing is reused, no lock is taken.
        return validate(user).is_some();
    }
    let mut state = lock();
    // Validated under the lock, so that two frees of one block cannot both pass.
    let Some(Block {
        start: block,
        total,
        mark,
        ..
    }) = validate(user)
    else {
        return false;
    };
    if mark == METADATA && !metadata_too {
        return false;
    }
    let start = REGION_START.load(Ordering::Relaxed);
    let (word, bit) = live_bit(start, user);
    word.fetch_and(!bit, Ordering::Release);
    match class_of(total).filter(|&class| 16 << class == total) {
        Some(class) => {
            // SAFETY: the block is ours and at least 32 bytes long.
            unsafe { *(block as *mut usize) = state.free[class] };
            state.free[class] = block;
        }
        None => {
            if let Some(slot) = state.big_free.iter_mut().find(|(address, _)| *address == 0) {
                *slot = (block, total);
            }
            // With all 64 big slots in use the block stays unused: bounded waste.
        }
    }
    true
}

/// The usable size of a live internal block that the program may hold (not metadata);
/// `None` for any other pointer.
pub fn usable_size(memory: *const u8) -> Option<usize> {
    let user = memory as usize;
    let block = validate(user)?;
    (block.mark != METADATA).then_some(block.start + block.total - user)
}

/// The live block the program may hold (not metadata) whose memory holds `address`, found
/// by looking back at most `window` bytes for its start: (start, usable size, alignment it
/// was asked for).
pub fn block_containing(address: usize, window: usize) -> Option<(usize, usize, usize)> {
    if !owns(address) || LIVE_MAP.load(Ordering::Acquire) == 0 {
        return None;
    }
    let start = REGION_START.load(Ordering::Relaxed);
    let lowest = address.saturating_sub(window).max(start);
    let mut candidate = address & !15;
    while candidate >= lowest {
        if is_live(candidate) {
            // The nearest start below: the address is in that block or in no block.
            let block = validate(candidate)?;
            let end = block.start + block.total;
            return (block.mark != METADATA && address < end).then_some((
                candidate,
                end - candidate,
                block.align,
            ));
        }
        candidate = candidate.checked_sub(16)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_big_and_aligned_blocks_round_trip() {
        let mut blocks = std::vec::Vec::new();
        for (size, align) in [(1, 1), (24, 8), (100, 64), (5000, 4096), (300_000, 16)] {
            let block = alloc(size, align).expect("internal alloc");
            assert_eq!(block.as_ptr() as usize % align, 0);
            assert!(owns(block.as_ptr() as usize));
            assert!(is_live(block.as_ptr() as usize));
            assert!(usable_size(block.as_ptr()).unwrap() >= size);
            // SAFETY: writing within the block.
            unsafe { block.as_ptr().write_bytes(0x5a, size) };
            blocks.push(block);
        }
        for block in blocks {
            // SAFETY: each block is live and freed once.
            assert!(unsafe { free(block) });
            assert!(!is_live(block.as_ptr() as usize));
        }
        let again = alloc(24, 8).expect("reuse");
        // SAFETY: live block, freed once.
        unsafe { assert!(free(again)) };
    }

    #[test]
    fn pointers_that_are_not_live_blocks_are_refused_without_being_read() {
        let block = alloc(64, 16).expect("internal alloc");
        let address = block.as_ptr() as usize;
        // Inside the block, past the region's used part (inaccessible), far out of range.
        for wild in [
            address + 16,
            address + 8,
            REGION_START.load(Ordering::Relaxed) + (3 << 30),
        ] {
            assert!(!is_live(wild));
            assert_eq!(usable_size(wild as *const u8), None);
            // SAFETY: refused pointers are never followed.
            assert!(!unsafe { free(NonNull::new(wild as *mut u8).unwrap()) });
        }
        // SAFETY: live block, freed once; the second free is refused.
        unsafe {
            assert!(free(block));
            assert!(!free(block));
        }
    }

    #[test]
    fn metadata_blocks_are_out_of_the_programs_reach() {
        let block = alloc_metadata(48, 16).expect("internal alloc");
        assert!(is_metadata(block.as_ptr() as usize));
        assert_eq!(usable_size(block.as_ptr()), None);
        // SAFETY: refused, then freed once by its owner.
        unsafe {
            assert!(!free_user(block));
            assert!(free(block));
        }
        let user = alloc(48, 64).expect("internal alloc");
        assert!(!is_metadata(user.as_ptr() as usize));
        let address = user.as_ptr() as usize;
        assert_eq!(
            block_containing(address + 40, 4096).map(|b| (b.0, b.2)),
            Some((address, 64))
        );
        assert_eq!(block_containing(address - 1, 64), None);
        // SAFETY: live block, freed once.
        unsafe { assert!(free_user(user)) };
    }
}
