//! Per-thread heaps: which heap a thread allocates from, page queues, cross-thread frees.
//!
//! # Design
//! Each (thread, GPA instance) pair has a [`Heap`]: per size class a queue of pages with free
//! slots, the segments those pages come from, and the cross-thread frees. In fast mode another
//! thread's free is one CAS onto the page's own thread-free list (`Page::remote`, mimalloc's
//! `thread_free`), which the owner collects in bulk when the page runs out of free slots, so the
//! slots come back just before they are used again; a full page, out of its queue, asks to be
//! told of its next remote free (`REMOTE_NOTIFY`), and that free also puts the page on the
//! heap's `remote_pages`, from which the owner requeues it. Safety mode keeps one atomic list of
//! blocks per heap (`remote`), drained into the quarantine. A
//! thread finds its heap through a small thread-local cache keyed by the GPA's id: the common
//! case is one compare. The thread-local cache has a `const` initializer and no destructor, so
//! touching it never allocates; thread exit is caught by a pthread key destructor, which runs
//! after Rust's own TLS destructors (so their frees still find the heap) and hands the thread's
//! heaps back to their GPA as *abandoned*; the next thread that needs a heap adopts one, with
//! all its pages and pending remote frees, so no block is stranded.
//!
//! Heap descriptors come from the internal heap and are shared by two owners, the thread and
//! the GPA instance ([`HEAP_THREAD_REF`], [`HEAP_GPA_REF`]); the last to let go frees it. This
//! lets a GPA be deinitialized while threads that once used it are still alive.
//!
//! # Invariants
//! * Only the owning thread touches a heap's queues, segments and quarantine; other threads
//!   only push to `remote`, `remote_pages` and pages' thread-free lists.
//! * A page is on `remote_pages` at most once: only the free that consumes its
//!   `REMOTE_NOTIFY` links it (setting `REMOTE_QUEUED`), the owner sets `REMOTE_NOTIFY` only
//!   on a page with neither flag, and clears `REMOTE_QUEUED` after reading the link. A segment
//!   with a page on the list is not released.
//! * A page is in its class queue iff `in_queue`; the queue head is the page allocations come
//!   from ("current page").
//! * `InsideAllocator` is held while the allocator does anything that may allocate through
//!   the global allocator (heap creation, reports); GPA entry points seeing it set route the
//!   request to the internal heap.

use core::cell::Cell;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, Ordering};

use super::segment::{FreeBlock, Page, Segment, SEGMENT_SHIFT};
use super::size_class::{CLASS_COUNT, C_DIRECT_ENTRIES, C_DIRECT_SPANS};
use super::{internal, GeneralPurposeAllocator};
use crate::os;

/// The thread still uses this heap.
pub const HEAP_THREAD_REF: u8 = 1;
/// The GPA instance still owns this heap.
pub const HEAP_GPA_REF: u8 = 2;

const CACHE_WAYS: usize = 4;

/// One page queue per size class.
#[derive(Clone, Copy)]
pub struct Queue {
    /// The current page (allocations come from it), or null.
    pub head: *mut Page,
    /// The last page; pages that regain free slots are appended here.
    pub tail: *mut Page,
}

/// Ring entries keep the block's size in 8-byte units above the 48-bit user address, so
/// evicting needs no metadata lookup to account for it (slot sizes are multiples of 8 up to
/// 128 KiB: 15 bits).
const QUARANTINE_SIZE_SHIFT: u32 = 48;
const QUARANTINE_ENTRY_MASK: usize = (1 << QUARANTINE_SIZE_SHIFT) - 1;

/// Freed small blocks waiting before they may be reused (safety mode).
pub struct Quarantine {
    /// Ring of block addresses; bit 0 set: the block came through a remote list, so its first
    /// word holds a link, not poison.
    pub ring: *mut usize,
    /// Ring capacity in entries: a power of two, or 0 for no quarantine.
    pub capacity: usize,
    /// Index of the oldest entry.
    pub head: usize,
    /// Entries in the ring.
    pub len: usize,
    /// Bytes held.
    pub bytes: usize,
}

/// What [`Quarantine::push_making_room`] did: pushed the entry (after taking out the oldest
/// one, to be evicted), or took out the oldest and has no room yet.
pub enum Room {
    /// The entry is in; nothing was taken out.
    Pushed,
    /// The entry is in, after the oldest entry (this one) was taken out.
    PushedAfter(usize),
    /// The oldest entry (this one) was taken out; the entry is not in yet.
    NotYet(usize),
}

/// A thread's heap for one GPA instance.
pub struct Heap {
    /// Page queues by size class.
    pub queues: [Queue; CLASS_COUNT],
    /// The page a C `malloc` of up to `C_LOOKUP_MAX` bytes pops from, by `(size + 15) / 16`:
    /// the head of its class's queue, or `empty_page` while that queue is empty, so the fast
    /// path needs neither the class nor a null test (mimalloc's `pages_free_direct`). Kept
    /// by [`Heap::head_changed`] wherever a queue head changes.
    pub direct: [*mut Page; C_DIRECT_ENTRIES],
    /// Blocks of this heap freed by other threads (safety mode; fast mode puts them on their
    /// page's thread-free list, `Page::remote`).
    pub remote: AtomicPtr<FreeBlock>,
    /// Pages out of their queue that other threads freed slots of (fast mode), linked through
    /// `Page::remote_next`: the owner requeues them.
    pub remote_pages: AtomicPtr<Page>,
    /// Kernel thread id of the owner; 0 when abandoned.
    pub owner_thread: AtomicU64,
    /// `HEAP_THREAD_REF | HEAP_GPA_REF` while each owner holds it.
    pub refs: AtomicU8,
    /// Segments whose pages this heap carves.
    pub segments: *mut Segment,
    /// Bytes of released pages whose memory is still resident; purged past `dirty_bound`.
    pub dirty_bytes: usize,
    /// The bound on `dirty_bytes` (see `small::GeneralPurposeAllocator::purge_if_due`).
    pub dirty_bound: usize,
    /// Bytes of clean (purged or never used) units of its segments that new pages took since
    /// the last purge: memory to be faulted in.
    pub refaulted_bytes: usize,
    /// While abandoned: how many times a running thread of the GPA would have taken over its
    /// segments (`small::GeneralPurposeAllocator::take_abandoned_segments`) and let a new
    /// thread have the chance to adopt them instead.
    pub takeover_waits: u32,
    /// New pages to claim before the heap releases other classes' idle pages again
    /// (`small::GeneralPurposeAllocator::new_page`): the count of the last release plus one,
    /// so that the classes whose pages it released take their units back first. Without it a
    /// loop of one block of each of twenty classes, allocated and freed (C++ `new`/`delete[]`
    /// of a few sizes, two `realloc`s, a `posix_memalign`), released and claimed three pages
    /// of each round (142,456 new pages in 40,000 rounds, 72% of its instructions): each
    /// release left one unit too few for the classes it had emptied, and the last of them
    /// released the others again.
    pub idle_release_credit: u32,
    /// The next heap of the same GPA instance.
    pub next_in_gpa: *mut Heap,
    /// The next heap of the same thread.
    pub next_in_thread: *mut Heap,
    /// Safety mode's quarantine.
    pub quarantine: Quarantine,
    /// Small allocations left before sampled guard mode guards one (`guarded::due`: one
    /// decrement on the fast paths). Starts at 1, so the heap's first fast allocation sets it:
    /// to a random span for a GPA that samples, to `u64::MAX` (never reached) otherwise.
    pub sample_countdown: u64,
    /// Whether `sample_countdown` was set (its first run out guards nothing).
    pub sample_started: bool,
    /// A page with no slot (capacity 0): what `direct` points at for an empty queue; a pop
    /// from it fails and the request takes the general path. Never in a queue or segment.
    empty_page: Page,
}

#[repr(C)]
struct ThreadState {
    ids: [Cell<u64>; CACHE_WAYS],
    heaps: [Cell<*mut Heap>; CACHE_WAYS],
    owned: Cell<*mut Heap>,
    thread_id: Cell<u64>,
    inside: Cell<u32>,
    /// The thread's count of its allocations in safety mode ([`next_serial`]): beside
    /// `inside`, which the allocation reads too, in a hole of the layout.
    allocations: Cell<u32>,
    /// The signal whose `siginfo_t` is in `deferred_info` (0: none).
    deferred_info_signal: Cell<u32>,
    exit_hook_set: Cell<bool>,
    /// Whether observers' events of this thread's requests are held back ([`EventsMuted`]).
    events_muted: Cell<bool>,
    /// This thread's heap of the GPA designated for the C ABI ([`designate_c_heap`]), while
    /// the thread is not inside an allocator operation; else null.
    c_heap: Cell<*mut Heap>,
    /// Where `c_heap` waits while the thread is inside an allocator operation.
    c_heap_parked: Cell<*mut Heap>,
    /// Segments of `c_heap` (base + 1; 0 when empty), direct-mapped by segment address: a free
    /// into one of them needs neither the page map nor the header checks (see `c_paths`).
    c_segments: [Cell<usize>; C_SEGMENT_WAYS],
    /// The C entry points' calls in progress on this thread (`c_entry`'s stubs and
    /// [`CCall`]) in the low 32 bits, and [`SIGNALS_KEPT`] while `deferred` holds signals: a
    /// program's signal handler waits for the outermost call to end ([`defer_signal`]). One
    /// word, so that a call's end is one decrement and one test: zero when it was the
    /// outermost and nothing was kept.
    c_calls: Cell<u64>,
    /// Signals kept for the end of the allocator call in progress, bit `n - 1` for signal `n`.
    deferred: Cell<u64>,
    /// The first kept signal's `siginfo_t` (128 bytes).
    deferred_info: [Cell<u64>; 16],
}

/// Ways of the thread's cache of its C heap's segments.
pub(super) const C_SEGMENT_WAYS: usize = 8;
/// Byte offset of the C heap slot in the thread's state (`c_entry`'s assembly).
pub(super) const C_HEAP_OFFSET: usize = core::mem::offset_of!(ThreadState, c_heap);
/// Byte offset of the remembered segments in the thread's state (`c_entry`'s assembly).
pub(super) const C_SEGMENTS_OFFSET: usize = core::mem::offset_of!(ThreadState, c_segments);
/// Byte offset of the count of C calls in progress (`u64`; `c_entry`'s assembly).
pub(super) const C_CALLS_OFFSET: usize = core::mem::offset_of!(ThreadState, c_calls);
/// The bit of `ThreadState::c_calls` set while signals are kept for the end of the call.
const SIGNALS_KEPT: u64 = 1 << 32;
/// The count in `ThreadState::c_calls`.
const CALLS: u64 = SIGNALS_KEPT - 1;
const _: () = assert!(core::mem::size_of::<libc::siginfo_t>() == 16 * 8);
// The thread's state in static TLS (every thread of every program pays for it): 320 bytes,
// `allocations` in what was padding.
const _: () = assert!(core::mem::size_of::<ThreadState>() == 320);

/// Marks a C entry point's call in progress on the calling thread for its lifetime (the
/// exported functions that are not `c_entry`'s stubs, which count in assembly): a program's
/// handler of an asynchronous signal that arrives meanwhile runs when the outermost call
/// ends ([`crate::os::signal::defer`]).
pub struct CCall(());

impl CCall {
    /// Counts the call.
    #[inline(always)]
    pub fn enter() -> Self {
        add_c_calls(1);
        CCall(())
    }
}

impl Drop for CCall {
    #[inline(always)]
    fn drop(&mut self) {
        add_c_calls(u64::MAX);
        if thread().c_calls.get() == SIGNALS_KEPT {
            after_c_call();
        }
    }
}

/// Adds `delta` (wrapping) to the calling thread's `c_calls` in one instruction: the busy
/// test ([`defer_signal`]) sets a bit of the word from a signal handler on this thread, which
/// a separate load and store around it would undo.
#[inline(always)]
fn add_c_calls(delta: u64) {
    let word = thread().c_calls.as_ptr();
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the calling thread's own word, live as long as the thread; one `add` to memory
    // (a signal arrives before or after it, never inside).
    unsafe {
        core::arch::asm!("add qword ptr [{word}], {delta}", word = in(reg) word, delta = in(reg) delta, options(nostack));
    }
    #[cfg(not(target_arch = "x86_64"))]
    // SAFETY: as above; elsewhere nothing defers signals (no busy test is registered).
    unsafe {
        word.write(word.read().wrapping_add(delta));
    }
}

/// The busy test of [`crate::os::signal::defer`] for a signal that interrupted the calling
/// thread at `ip`: inside an inline free-list update of `c_entry`'s, the update's restart
/// point; else whether the thread is inside the allocator (a C call in progress, or
/// [`InsideAllocator`]), and if so `signal` (and the first kept signal's `info`) kept for
/// [`replay_deferred`]. Async-signal-safe: the thread's own state only.
pub fn defer_signal(
    signal: libc::c_int,
    info: *const libc::siginfo_t,
    ip: usize,
) -> crate::os::signal::defer::Busy {
    use crate::os::signal::defer::Busy;
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    if let Some(to) = super::c_entry::restart_point(ip) {
        return Busy::RestartAt(to);
    }
    let _ = ip;
    let thread = thread();
    if thread.c_calls.get() & CALLS == 0 && thread.inside.get() == 0 {
        return Busy::No;
    }
    if !(1..=64).contains(&signal) {
        return Busy::No;
    }
    if thread.deferred_info_signal.get() == 0 && !info.is_null() {
        // SAFETY: the kernel's `siginfo_t`, 128 bytes, 8-aligned.
        let words = unsafe { &*info.cast::<[u64; 16]>() };
        for (kept, word) in thread.deferred_info.iter().zip(words) {
            kept.set(*word);
        }
        thread.deferred_info_signal.set(signal as u32);
    }
    thread
        .deferred
        .set(thread.deferred.get() | 1u64 << (signal - 1));
    thread.c_calls.set(thread.c_calls.get() | SIGNALS_KEPT);
    Busy::Kept
}

/// The end of the outermost C call with signals kept for it (the count word holds the flag
/// alone): they are queued again.
#[cold]
#[inline(never)]
pub extern "C" fn after_c_call() {
    let thread = thread();
    if thread.c_calls.get() == SIGNALS_KEPT {
        replay_deferred();
    }
}

/// Queues again every signal [`defer_signal`] kept for the calling thread (its outermost
/// allocator call has ended): the program's handlers run before that call returns.
#[inline(never)]
pub extern "C" fn replay_deferred() {
    let thread = thread();
    if thread.inside.get() != 0 || thread.c_calls.get() & CALLS != 0 {
        // Inside the allocator still: the end of the call or of `InsideAllocator` replays
        // them.
        return;
    }
    thread.c_calls.set(thread.c_calls.get() & CALLS);
    let mut kept = thread.deferred.replace(0);
    let info_signal = thread.deferred_info_signal.replace(0);
    // SAFETY: 16 words make a `siginfo_t` (asserted above); any bits are a valid one to queue.
    let info: libc::siginfo_t = unsafe {
        core::mem::transmute::<[u64; 16], libc::siginfo_t>(core::array::from_fn(|word| {
            thread.deferred_info[word].get()
        }))
    };
    let all = kept;
    while kept != 0 {
        let signal = kept.trailing_zeros() as libc::c_int + 1;
        kept &= kept - 1;
        let info = (signal as u32 == info_signal).then_some(&info);
        crate::os::signal::defer::replay(signal, info);
    }
    crate::os::signal::defer::unblock(all);
}

// `is_own_c_segment` adds 1 plus the count of observers to a segment-aligned address.
const _: () = assert!(super::observer::MAX_OBSERVATIONS + 1 < super::segment::SEGMENT_SIZE);

// SAFETY: zero ids, null pointers, a zero count and `false` are this state's initial values.
unsafe impl crate::tls::ZeroInit for ThreadState {}

crate::tls::fast_thread_local!(
    /// The calling thread's heap cache and re-entrancy count (initial-exec TLS: two
    /// instructions, no `__tls_get_addr`, on the hot paths).
    fn thread() -> ThreadState;
    /// A word of the calling thread's `ThreadState` (`c_heap`: one load fewer).
    fn thread_word<OFFSET>() -> usize;
);

/// The calling thread's [`ThreadState`], `(address, bytes)`.
pub(crate) fn thread_local_extent() -> (usize, usize) {
    crate::tls::extent(thread())
}

/// The id of the GPA instance whose heaps the C ABI's fast paths reach through one TLS slot
/// (`ThreadState::c_heap`), or 0. Set once, for a GPA without checks (see `c_paths`).
pub static C_HEAP_GPA: AtomicU64 = AtomicU64::new(0);

/// Makes the GPA with `id` the one whose heaps [`c_heap`] returns (the process-wide C heap).
pub fn designate_c_heap(id: u64) {
    C_HEAP_GPA.store(id, Ordering::Release);
}

/// The id of the designated GPA (0: none).
#[inline(always)]
pub fn c_heap_gpa() -> u64 {
    C_HEAP_GPA.load(Ordering::Relaxed)
}

/// The calling thread's heap of the designated GPA, null while the thread has none or is
/// inside an allocator operation: the one load the C fast paths start with.
#[inline(always)]
pub fn c_heap() -> *mut Heap {
    thread_word::<{ core::mem::offset_of!(ThreadState, c_heap) }>() as *mut Heap
}

/// Whether `base` (a segment-aligned address) is a segment of the calling thread's C heap
/// that the thread has remembered, and `gate` (`observer::gate`: 1 plus the number of
/// registered observers) is 1: then every address in it is in a live small segment of the
/// designated GPA that this thread owns, and no event needs delivering.
///
/// The observer gate costs no test of its own: an entry holds `base + 1`, and is compared with
/// `base + gate`, which no entry equals while observers are registered (entries hold
/// segment-aligned addresses plus 1, and `gate` stays far below the segment size).
#[inline(always)]
pub fn is_own_c_segment(base: usize, gate: usize) -> bool {
    let way = (base >> SEGMENT_SHIFT) % C_SEGMENT_WAYS;
    // SAFETY: `way < C_SEGMENT_WAYS`.
    unsafe { thread().c_segments.get_unchecked(way) }.get() == base.wrapping_add(gate)
}

/// Remembers `base` as a segment of the calling thread's C heap (after validating it).
pub fn remember_c_segment(base: usize) {
    thread().c_segments[(base >> SEGMENT_SHIFT) % C_SEGMENT_WAYS].set(base + 1);
}

/// Forgets `base` (its segment is being released by its owner thread).
pub fn forget_c_segment(base: usize) {
    let entry = &thread().c_segments[(base >> SEGMENT_SHIFT) % C_SEGMENT_WAYS];
    if entry.get() == base + 1 {
        entry.set(0);
    }
}

fn forget_c_segments(thread: &ThreadState) {
    for entry in &thread.c_segments {
        entry.set(0);
    }
}

/// Records `heap` (the calling thread's heap of the designated GPA) in the C heap slot.
pub fn set_current_c_heap(heap: *mut Heap) {
    set_c_heap(thread(), heap);
}

/// Records `heap` as the thread's heap of the designated GPA (parked while inside).
fn set_c_heap(thread: &ThreadState, heap: *mut Heap) {
    forget_c_segments(thread);
    if thread.inside.get() == 0 {
        thread.c_heap.set(heap);
    } else {
        thread.c_heap_parked.set(heap);
    }
}

/// The calling thread's heap for the GPA with `id`, if it is the most recently used one.
#[inline(always)]
pub fn cached(id: u64) -> *mut Heap {
    let thread = thread();
    if thread.ids[0].get() == id {
        thread.heaps[0].get()
    } else {
        core::ptr::null_mut()
    }
}

/// The calling thread's heap for the GPA with `id` when it is the most recently used one and
/// the thread is not inside an allocator operation: the condition of the fast paths.
#[inline(always)]
pub fn cached_outside(id: u64) -> *mut Heap {
    let thread = thread();
    if thread.ids[0].get() == id && thread.inside.get() == 0 {
        thread.heaps[0].get()
    } else {
        core::ptr::null_mut()
    }
}

/// The calling thread's next allocation serial number (1 for its first block, then 2, ...;
/// wrapping after 2^32 - 1): safety mode keeps it with each block
/// ([`super::LiveBlock::serial`]) so that a leak scan can take the blocks in the order they
/// were allocated, whatever their addresses. Per thread, so one add and one store: the
/// order of two threads' blocks is not kept (nor is it for Valgrind, whose address order
/// stands for it).
#[inline(always)]
pub fn next_serial() -> u32 {
    let thread = thread();
    let serial = thread.allocations.get().wrapping_add(1);
    thread.allocations.set(serial);
    serial
}

/// Whether the calling thread is inside an allocator operation that may allocate.
#[inline(always)]
pub fn inside_allocator() -> bool {
    thread().inside.get() != 0
}

/// Marks the calling thread as inside the allocator for its lifetime: allocations through a
/// GPA's global-allocator entry points go to the internal heap meanwhile.
pub struct InsideAllocator(());

impl InsideAllocator {
    /// Enters the guarded region (nesting is allowed).
    pub fn enter() -> Self {
        let thread = thread();
        if thread.inside.get() == 0 {
            thread
                .c_heap_parked
                .set(thread.c_heap.replace(core::ptr::null_mut()));
        }
        thread.inside.set(thread.inside.get() + 1);
        InsideAllocator(())
    }
}

impl Drop for InsideAllocator {
    fn drop(&mut self) {
        let thread = thread();
        let inside = thread.inside.get().saturating_sub(1);
        thread.inside.set(inside);
        if inside == 0 {
            thread
                .c_heap
                .set(thread.c_heap_parked.replace(core::ptr::null_mut()));
            if thread.c_calls.get() == SIGNALS_KEPT {
                replay_deferred();
            }
        }
    }
}

/// Whether observers' events of the calling thread's requests are held back
/// ([`EventsMuted`]).
#[inline(always)]
pub fn events_muted() -> bool {
    thread().events_muted.get()
}

/// Holds back observers' events of the calling thread's requests for its lifetime: for a
/// move the caller reports to them as one reallocation (`GeneralPurposeAllocator::
/// observe_move`) rather than as an allocation and a free.
pub struct EventsMuted(bool);

impl EventsMuted {
    /// Holds the events back (nesting is allowed).
    pub fn enter() -> Self {
        EventsMuted(thread().events_muted.replace(true))
    }
}

impl Drop for EventsMuted {
    fn drop(&mut self) {
        thread().events_muted.set(self.0);
    }
}

/// The calling thread's kernel id, cached.
pub fn current_thread_id() -> u64 {
    let thread = thread();
    if thread.thread_id.get() == 0 {
        let tid = os::thread_id();
        thread.thread_id.set(tid);
        forget_exited(tid);
    }
    thread.thread_id.get()
}

/// Takes `tid` out of the ring of threads whose exit hook ran ([`exit_hook_ran`]): a thread
/// that starts using gpa under an id the kernel gave out again (ids wrap at `pid_max`, soon
/// in a PID namespace with a small one, or after `ns_last_pid` was set) is not the ended
/// thread the ring remembers. Before, such a thread owning a heap and missed by the exit
/// scan was taken for one ending, and the DTVs of stacks glibc caches (its own among them)
/// were judged freed while it ran on (lifecycle.md item 26). Called once per thread, when
/// its id is first cached (every heap a thread owns is owned under that id).
#[cold]
#[inline(never)]
fn forget_exited(tid: u64) {
    // Loads first: a `lock cmpxchg` takes the cache line even when it fails, and threads
    // starting together would contend for the ring's 32 lines.
    for slot in &EXITED {
        if slot.load(Ordering::Relaxed) == tid {
            let _ = slot.compare_exchange(tid, 0, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
}

/// In the child of `fork`: the calling thread (the copy of the one that forked) has a new
/// kernel thread id, but the id cached in its state, and so the owner of its heaps, is still
/// its parent thread's. Records the new id and returns `(old, new)` for the caller to pass the
/// heaps on ([`super::GeneralPurposeAllocator::adopt_heaps_after_fork`]); `None` when nothing
/// was cached or the ids are the same.
pub(crate) fn renew_thread_id_after_fork() -> Option<(u64, u64)> {
    let thread = thread();
    let old = thread.thread_id.get();
    let new = os::thread_id();
    if old == 0 || old == new {
        return None;
    }
    thread.thread_id.set(new);
    forget_exited(new);
    Some((old, new))
}

/// Finds or makes the calling thread's heap for `gpa` (the slow path of [`cached`]).
#[cold]
#[inline(never)]
pub fn find_or_create(gpa: &GeneralPurposeAllocator) -> Option<NonNull<Heap>> {
    let id = gpa.id();
    let _guard = InsideAllocator::enter();
    // Only the frame-pointer walk and the caching unwinder need the stack bounds. Finding
    // them calls `pthread_getattr_np`, which allocates while holding a lock of the thread: a
    // first `malloc` made from inside it (Rust's runtime start-up under `LD_PRELOAD`) must
    // not call it again.
    let config = gpa.config();
    if config.stack_trace_frames != 0 && config.trace_method.needs_stack_bounds() {
        crate::trace::prepare_thread();
    }
    let thread = thread();
    for way in 1..CACHE_WAYS {
        if thread.ids[way].get() == id {
            let heap = thread.heaps[way].get();
            promote(thread, way);
            if id == c_heap_gpa() {
                set_c_heap(thread, heap);
            }
            return NonNull::new(heap);
        }
    }
    prune_dead_heaps();
    let thread_id = current_thread_id();
    let heap = gpa.adopt_or_create_heap(thread_id)?;
    // A heap this thread already owns (evicted from the cache by other instances' heaps) is
    // in its list already: linking it again would make the list a cycle.
    if !owns_heap(thread, heap.as_ptr()) {
        // SAFETY: the heap was just adopted or created for this thread.
        unsafe {
            (*heap.as_ptr()).next_in_thread = thread.owned.get();
        }
        thread.owned.set(heap.as_ptr());
    }
    let last = CACHE_WAYS - 1;
    thread.ids[last].set(id);
    thread.heaps[last].set(heap.as_ptr());
    promote(thread, last);
    if id == c_heap_gpa() {
        set_c_heap(thread, heap.as_ptr());
    }
    if !thread.exit_hook_set.get() {
        thread.exit_hook_set.set(register_exit_hook());
    }
    // A thread that allocates may fault on a guarded block: the fault handler needs a stack.
    os::signal::ensure_alt_stack();
    Some(heap)
}

/// Whether `heap` is in the thread's list of owned heaps (one per GPA instance it used).
fn owns_heap(thread: &ThreadState, heap: *mut Heap) -> bool {
    let mut cursor = thread.owned.get();
    while !cursor.is_null() {
        if cursor == heap {
            return true;
        }
        // SAFETY: heaps in the thread's list stay allocated while HEAP_THREAD_REF is held.
        cursor = unsafe { (*cursor).next_in_thread };
    }
    false
}

fn promote(thread: &ThreadState, way: usize) {
    for index in (0..way).rev() {
        thread.ids.swap_cells(index, index + 1);
        thread.heaps.swap_cells(index, index + 1);
    }
}

trait SwapCells {
    fn swap_cells(&self, a: usize, b: usize);
}

impl<T: Copy> SwapCells for [Cell<T>; CACHE_WAYS] {
    fn swap_cells(&self, a: usize, b: usize) {
        let value = self[a].get();
        self[a].set(self[b].get());
        self[b].set(value);
    }
}

/// Drops this thread's references to heaps whose GPA was deinitialized.
fn prune_dead_heaps() {
    let thread = thread();
    let mut link: &Cell<*mut Heap> = &thread.owned;
    loop {
        let heap = link.get();
        if heap.is_null() {
            break;
        }
        // SAFETY: heaps in the thread's list stay allocated while HEAP_THREAD_REF is held.
        let heap_ref = unsafe { &*heap };
        if heap_ref.refs.load(Ordering::Acquire) & HEAP_GPA_REF == 0 {
            link.set(heap_ref.next_in_thread);
            forget_cached(thread, heap);
            release_ref(heap, HEAP_THREAD_REF);
            continue;
        }
        // SAFETY: as above; the link field lives as long as the heap.
        link =
            unsafe { &*(core::ptr::addr_of!(heap_ref.next_in_thread) as *const Cell<*mut Heap>) };
    }
}

fn forget_cached(thread: &ThreadState, heap: *mut Heap) {
    for slot in [&thread.c_heap, &thread.c_heap_parked] {
        if slot.get() == heap {
            slot.set(core::ptr::null_mut());
            forget_c_segments(thread);
        }
    }
    for way in 0..CACHE_WAYS {
        if thread.heaps[way].get() == heap {
            thread.ids[way].set(0);
            thread.heaps[way].set(core::ptr::null_mut());
        }
    }
}

/// Drops one owner's reference; the last owner frees the descriptor.
pub fn release_ref(heap: *mut Heap, which: u8) {
    // SAFETY: the caller holds reference `which`, so the heap is still allocated.
    let previous = unsafe { (*heap).refs.fetch_and(!which, Ordering::AcqRel) };
    if previous & !which == 0 {
        // SAFETY: no owner is left; the descriptor and its quarantine ring came from the
        // internal heap.
        unsafe {
            let ring = (*heap).quarantine.ring;
            if !ring.is_null() {
                internal::free(NonNull::new_unchecked(ring.cast()));
            }
            internal::free(NonNull::new_unchecked(heap.cast()));
        }
    }
}

/// Allocates an empty heap descriptor owned by thread `thread_id`.
pub fn new_heap(thread_id: u64, quarantine_entries: usize) -> Option<NonNull<Heap>> {
    let memory =
        internal::alloc_metadata(core::mem::size_of::<Heap>(), core::mem::align_of::<Heap>())?;
    let heap = memory.cast::<Heap>();
    let ring = if quarantine_entries == 0 {
        core::ptr::null_mut()
    } else {
        internal::alloc_metadata(quarantine_entries * core::mem::size_of::<usize>(), 8)
            .map_or(core::ptr::null_mut(), |ring| ring.as_ptr().cast())
    };
    // SAFETY: `memory` is a fresh block sized and aligned for a Heap.
    unsafe {
        heap.as_ptr().write(Heap {
            queues: [Queue {
                head: core::ptr::null_mut(),
                tail: core::ptr::null_mut(),
            }; CLASS_COUNT],
            remote: AtomicPtr::new(core::ptr::null_mut()),
            remote_pages: AtomicPtr::new(core::ptr::null_mut()),
            owner_thread: AtomicU64::new(thread_id),
            refs: AtomicU8::new(HEAP_THREAD_REF | HEAP_GPA_REF),
            segments: core::ptr::null_mut(),
            dirty_bytes: 0,
            dirty_bound: super::small::RETAINED_DIRTY_MIN,
            refaulted_bytes: 0,
            takeover_waits: 0,
            idle_release_credit: 0,
            next_in_gpa: core::ptr::null_mut(),
            next_in_thread: core::ptr::null_mut(),
            quarantine: Quarantine {
                ring,
                capacity: if ring.is_null() {
                    0
                } else {
                    quarantine_entries
                },
                head: 0,
                len: 0,
                bytes: 0,
            },
            sample_countdown: 1,
            sample_started: false,
            direct: [core::ptr::null_mut(); C_DIRECT_ENTRIES],
            // SAFETY: a zeroed descriptor is a valid one with no slots (null pointers, zero
            // counters).
            empty_page: core::mem::MaybeUninit::zeroed().assume_init(),
        });
        (*heap.as_ptr()).clear_queues();
    }
    Some(heap)
}

/// Abandons the heaps of exiting threads.
static EXIT_KEY: os::ThreadExitKey = os::ThreadExitKey::new(on_thread_exit);

/// Registers the pthread key whose destructor abandons this thread's heaps at exit.
fn register_exit_hook() -> bool {
    EXIT_KEY.arm()
}

/// How many of the latest threads through [`on_thread_exit`] [`exit_hook_ran`] remembers.
const EXITED_SLOTS: usize = 256;

/// The kernel ids of the latest threads through [`on_thread_exit`], a ring (0: empty).
static EXITED: [AtomicU64; EXITED_SLOTS] = [const { AtomicU64::new(0) }; EXITED_SLOTS];

/// The next slot of [`EXITED`] to write.
static EXITED_NEXT: AtomicU64 = AtomicU64::new(0);

/// Whether thread `tid` is one of the latest [`EXITED_SLOTS`] threads whose exit hook ran,
/// for the exit scan: a thread still in glibc's thread-exit code may own a heap again (the
/// `free`s glibc makes after the key destructors adopt one), and is ending, not running on.
/// A later thread given the same id takes it out of the ring when it first caches its id
/// (`forget_exited`), before it can own a heap.
pub(crate) fn exit_hook_ran(tid: u64) -> bool {
    tid != 0
        && EXITED
            .iter()
            .any(|slot| slot.load(Ordering::Relaxed) == tid)
}

extern "C" fn on_thread_exit(_: *mut libc::c_void) {
    let thread = thread();
    let tid = thread.thread_id.get();
    if tid != 0 {
        let slot = EXITED_NEXT.fetch_add(1, Ordering::Relaxed) as usize % EXITED_SLOTS;
        EXITED[slot].store(tid, Ordering::Relaxed);
    }
    let mut heap = thread.owned.replace(core::ptr::null_mut());
    while !heap.is_null() {
        // SAFETY: heaps in the thread's list are alive while HEAP_THREAD_REF is held.
        let next = unsafe { (*heap).next_in_thread };
        // SAFETY: as above. Abandoning publishes the heap for adoption by another thread
        // of the same GPA; its pages and remote list travel with it.
        unsafe { (*heap).owner_thread.store(0, Ordering::Release) };
        release_ref(heap, HEAP_THREAD_REF);
        heap = next;
    }
    for way in 0..CACHE_WAYS {
        thread.ids[way].set(0);
        thread.heaps[way].set(core::ptr::null_mut());
    }
    thread.c_heap.set(core::ptr::null_mut());
    thread.c_heap_parked.set(core::ptr::null_mut());
    forget_c_segments(thread);
    thread.exit_hook_set.set(false);
    // The trace caches of a thread that captured (check mode) go back to their pool.
    crate::trace::release_thread_caches();
}

impl Quarantine {
    /// The `position`th oldest entry (below `len`), left in the ring: for a walk that must
    /// not change the quarantine (another thread's, before `exec`).
    pub fn entry_at(&self, position: usize) -> usize {
        debug_assert!(position < self.len && self.capacity.is_power_of_two());
        // SAFETY: the index is reduced below `capacity`, the ring's length.
        let packed = unsafe { *self.ring.add((self.head + position) & (self.capacity - 1)) };
        packed & QUARANTINE_ENTRY_MASK
    }

    /// Removes the oldest entry (the ring is not empty); `size_of` gives an entry's bytes.
    pub fn pop_oldest(&mut self) -> usize {
        debug_assert!(self.len != 0);
        // SAFETY: `head < capacity` indexes the ring.
        let packed = unsafe { *self.ring.add(self.head) };
        self.head = (self.head + 1) & (self.capacity - 1);
        self.len -= 1;
        self.bytes -= (packed >> QUARANTINE_SIZE_SHIFT) * 8;
        packed & QUARANTINE_ENTRY_MASK
    }

    /// Appends `entry` (`size` bytes), first taking out the oldest entry when the ring has no
    /// room for it: the ring is full, or it holds entries and `limit` bytes would be exceeded.
    /// At most one entry is taken out: [`Room::Pushed`] and [`Room::PushedAfter`] say that
    /// `entry` is in, [`Room::NotYet`] that it is not (the caller evicts the entry taken out and
    /// asks again). The ring's fields are read once and stored once (the caller's eviction
    /// touches the heap, so fields read after it would be loaded again).
    #[inline(always)]
    pub fn push_making_room(&mut self, entry: usize, size: usize, limit: usize) -> Room {
        debug_assert!(self.capacity.is_power_of_two());
        debug_assert!(entry <= QUARANTINE_ENTRY_MASK && size % 8 == 0);
        let mask = self.capacity - 1;
        let (mut head, mut len, mut bytes) = (self.head, self.len, self.bytes);
        let mut oldest = None;
        if len == self.capacity || (len != 0 && bytes + size > limit) {
            // SAFETY: `head < capacity` indexes the ring (not empty: `len != 0` either way,
            // the capacity being at least 1).
            let packed = unsafe { *self.ring.add(head) };
            head = (head + 1) & mask;
            len -= 1;
            bytes -= (packed >> QUARANTINE_SIZE_SHIFT) * 8;
            let taken = packed & QUARANTINE_ENTRY_MASK;
            // The ring has room for one now; the bytes may still be too many.
            if len != 0 && bytes + size > limit {
                (self.head, self.len, self.bytes) = (head, len, bytes);
                return Room::NotYet(taken);
            }
            oldest = Some(taken);
        }
        let slot = (head + len) & mask;
        // SAFETY: `slot < capacity` indexes the ring.
        unsafe { *self.ring.add(slot) = entry | ((size / 8) << QUARANTINE_SIZE_SHIFT) };
        (self.head, self.len, self.bytes) = (head, len + 1, bytes + size);
        match oldest {
            None => Room::Pushed,
            Some(taken) => Room::PushedAfter(taken),
        }
    }
}

impl Heap {
    /// Appends `page` to its class queue.
    pub fn enqueue(&mut self, page: *mut Page) {
        // SAFETY: `page` is a live page of this heap (caller), owned by this thread.
        let page_ref = unsafe { &mut *page };
        let queue = &mut self.queues[page_ref.class as usize];
        page_ref.set_in_queue(true);
        page_ref.next = core::ptr::null_mut();
        page_ref.prev = queue.tail;
        if queue.tail.is_null() {
            queue.head = page;
            queue.tail = page;
            self.head_changed(page_ref.class as usize);
        } else {
            // SAFETY: the tail is a live page of this queue.
            unsafe { (*queue.tail).next = page };
            queue.tail = page;
        }
    }

    /// Unlinks `page` from its class queue.
    pub fn dequeue(&mut self, page: *mut Page) {
        // SAFETY: `page` is a live page in this heap's queue (caller).
        let page_ref = unsafe { &mut *page };
        let queue = &mut self.queues[page_ref.class as usize];
        let was_head = page_ref.prev.is_null();
        if was_head {
            queue.head = page_ref.next;
        } else {
            // SAFETY: neighbours in the queue are live pages.
            unsafe { (*page_ref.prev).next = page_ref.next };
        }
        if page_ref.next.is_null() {
            queue.tail = page_ref.prev;
        } else {
            // SAFETY: as above.
            unsafe { (*page_ref.next).prev = page_ref.prev };
        }
        page_ref.set_in_queue(false);
        page_ref.next = core::ptr::null_mut();
        page_ref.prev = core::ptr::null_mut();
        if was_head {
            self.head_changed(page_ref.class as usize);
        }
    }

    /// Points the direct entries of `class` at its queue's head (at `empty_page` when the
    /// queue is empty); called whenever that head changes.
    #[inline]
    fn head_changed(&mut self, class: usize) {
        let (first, last) = C_DIRECT_SPANS[class];
        let head = self.queues[class].head;
        let page = if head.is_null() {
            &mut self.empty_page as *mut Page
        } else {
            head
        };
        // One bounds check, then stores (an empty span is an empty slice).
        self.direct[first as usize..=last as usize].fill(page);
    }

    /// Empties every queue (the heap's pages are gone or being released).
    pub fn clear_queues(&mut self) {
        for queue in self.queues.iter_mut() {
            queue.head = core::ptr::null_mut();
            queue.tail = core::ptr::null_mut();
        }
        let empty = &mut self.empty_page as *mut Page;
        self.direct = [empty; C_DIRECT_ENTRIES];
    }

    /// Pushes a block freed by another thread onto this heap's remote list.
    ///
    /// # Safety
    /// `block` is a live small block of this heap that the caller gives up.
    pub unsafe fn push_remote(&self, block: NonNull<u8>) {
        let node = block.as_ptr().cast::<FreeBlock>();
        let mut head = self.remote.load(Ordering::Relaxed);
        loop {
            // SAFETY: the block is ours to overwrite until it is published.
            unsafe { (*node).next = head };
            match self.remote.compare_exchange_weak(
                head,
                node,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(current) => head = current,
            }
        }
    }

    /// Another thread's free of a slot of `page`, a page of this heap (fast mode): onto the
    /// page's thread-free list, and the page onto this heap's notified pages when it asked.
    ///
    /// # Safety
    /// `page` is a live page of this heap and `block` a used slot of it that the caller gives
    /// up.
    #[inline(always)]
    pub unsafe fn free_remote(&self, page: *mut Page, block: NonNull<u8>) {
        // SAFETY: caller contract.
        if unsafe { Page::push_remote(page, block) } {
            // SAFETY: the push consumed the page's notify flag: this thread alone links it.
            unsafe { self.push_remote_page(page) };
        }
    }

    /// # Safety
    /// `page` is a live page of this heap whose notify flag the caller consumed.
    #[cold]
    #[inline(never)]
    pub(super) unsafe fn push_remote_page(&self, page: *mut Page) {
        let mut head = self.remote_pages.load(Ordering::Relaxed);
        loop {
            // SAFETY: caller contract: until the owner takes the page off the list, only this
            // thread writes its link.
            unsafe { (*page).remote_next = head };
            match self.remote_pages.compare_exchange_weak(
                head,
                page,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(current) => head = current,
            }
        }
    }

    /// Takes the notified pages (owner only).
    pub fn take_remote_pages(&self) -> *mut Page {
        if self.remote_pages.load(Ordering::Relaxed).is_null() {
            return core::ptr::null_mut();
        }
        self.remote_pages
            .swap(core::ptr::null_mut(), Ordering::Acquire)
    }

    /// Takes every block on the remote list (owner only).
    pub fn take_remote(&self) -> *mut FreeBlock {
        if self.remote.load(Ordering::Relaxed).is_null() {
            return core::ptr::null_mut();
        }
        self.remote.swap(core::ptr::null_mut(), Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpa::size_class::{c_class_of, C_LOOKUP_MAX};

    /// A zeroed descriptor of `class` (no slots; enough for the queue links).
    fn page_of(class: usize) -> Box<Page> {
        // SAFETY: a zeroed descriptor is a valid one (null pointers, zero counters).
        let mut page: Box<Page> =
            Box::new(unsafe { core::mem::MaybeUninit::zeroed().assume_init() });
        page.class = class as u8;
        page
    }

    #[test]
    fn direct_entries_follow_the_queue_heads() {
        let heap = new_heap(0, 0).expect("a heap");
        // SAFETY: a fresh heap that only this test uses.
        let heap = unsafe { &mut *heap.as_ptr() };
        let empty = &mut heap.empty_page as *mut Page;
        assert!(heap.direct.iter().all(|&page| page == empty));
        let class = c_class_of(100);
        let (mut first, mut second) = (page_of(class), page_of(class));
        let (first, second) = (&mut *first as *mut Page, &mut *second as *mut Page);
        let served = |heap: &Heap, page: *mut Page| {
            (0..=C_LOOKUP_MAX)
                .filter(|&size| heap.direct[size.div_ceil(16)] == page)
                .map(c_class_of)
                .all(|served| served == class)
        };
        heap.enqueue(first);
        heap.enqueue(second);
        assert_eq!(heap.direct[100usize.div_ceil(16)], first);
        assert!(served(heap, first));
        // The head leaves: its successor is served; the tail leaving changes nothing.
        heap.dequeue(first);
        assert_eq!(heap.direct[100usize.div_ceil(16)], second);
        heap.enqueue(first);
        heap.dequeue(first);
        assert_eq!(heap.direct[100usize.div_ceil(16)], second);
        heap.dequeue(second);
        assert!(heap.direct.iter().all(|&page| page == empty));
        // The empty page has no slot to give.
        // SAFETY: the heap's own empty page.
        assert!(unsafe { (*empty).pop(super::super::segment::sound_link) }.is_none());
        heap.enqueue(first);
        heap.clear_queues();
        assert!(heap.direct.iter().all(|&page| page == empty));
        assert!(heap
            .queues
            .iter()
            .all(|queue| queue.head.is_null() && queue.tail.is_null()));
    }

    #[test]
    fn a_remembered_segment_matches_only_with_the_gate_closed_to_observers() {
        let base = 0x7f00_0000_0000usize;
        remember_c_segment(base);
        // No observer (gate 1): the remembered segment is recognized, its neighbours not.
        assert!(is_own_c_segment(base, 1));
        assert!(!is_own_c_segment(
            base + (C_SEGMENT_WAYS << SEGMENT_SHIFT),
            1
        ));
        // Observers registered (gate 2 and more): no entry matches.
        for gate in 2..=crate::gpa::observer::MAX_OBSERVATIONS + 1 {
            assert!(!is_own_c_segment(base, gate));
        }
        // A null pointer's segment never matches an empty entry (empty entries hold 0).
        assert!(!is_own_c_segment(0, 1));
        forget_c_segment(base);
        assert!(!is_own_c_segment(base, 1));
    }

    /// The quarantine's rule as it was written before `push_making_room`: take out the
    /// oldest while the ring is full or, holding entries, would exceed `limit` bytes; then
    /// push. The model of `a_ring_takes_out_what_the_loop_of_pops_took_out`.
    fn model_push(
        model: &mut std::collections::VecDeque<(usize, usize)>,
        capacity: usize,
        limit: usize,
        entry: usize,
        size: usize,
    ) -> Vec<usize> {
        let mut out = Vec::new();
        while model.len() == capacity
            || (!model.is_empty() && model.iter().map(|e| e.1).sum::<usize>() + size > limit)
        {
            out.push(model.pop_front().unwrap().0);
        }
        model.push_back((entry, size));
        out
    }

    #[test]
    fn a_ring_takes_out_what_the_loop_of_pops_took_out() {
        // Sizes from 8 bytes to past the byte bound (a block larger than the bound enters an
        // empty ring), rings of 1 to 16 entries, bounds from one small block to many.
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        for capacity in [1usize, 2, 4, 8, 16] {
            for limit in [8usize, 64, 200, 1000, 4096] {
                let mut ring = vec![0usize; capacity];
                let mut quarantine = Quarantine {
                    ring: ring.as_mut_ptr(),
                    capacity,
                    head: 0,
                    len: 0,
                    bytes: 0,
                };
                let mut model = std::collections::VecDeque::new();
                for step in 0..2000usize {
                    let size = 8 * (1 + next(if step % 7 == 0 { 600 } else { 40 }) as usize);
                    let entry = (0x1000 * (step + 1)) | (step & 1);
                    let expected = model_push(&mut model, capacity, limit, entry, size);
                    let mut taken = Vec::new();
                    loop {
                        match quarantine.push_making_room(entry, size, limit) {
                            Room::Pushed => break,
                            Room::PushedAfter(oldest) => {
                                taken.push(oldest);
                                break;
                            }
                            Room::NotYet(oldest) => taken.push(oldest),
                        }
                    }
                    assert_eq!(
                        taken, expected,
                        "capacity {capacity}, limit {limit}, step {step}"
                    );
                    assert_eq!(quarantine.len, model.len());
                    assert_eq!(quarantine.bytes, model.iter().map(|e| e.1).sum::<usize>());
                }
                // What is left comes out oldest first, as the model holds it.
                while quarantine.len != 0 {
                    assert_eq!(quarantine.pop_oldest(), model.pop_front().unwrap().0);
                }
                assert!(model.is_empty());
                assert_eq!(quarantine.bytes, 0);
            }
        }
    }
}
