//! Stack traces: captured without allocating, stored once per distinct stack.
//!
//! # Design
//! [`capture`] walks the frame-pointer chain (`[fp]` is the caller's frame pointer, `[fp + 8]`
//! the return address, on x86-64 and AArch64), so a frame costs a couple of loads. Code built
//! without frame pointers uses the frame-pointer register for anything, so every record is
//! checked against the stack the thread runs on (from the stack pointer to the stack's top)
//! before it is read: a capture never faults, whatever the registers hold. The default
//! [`TraceMethod::Auto`] checks once per process whether the code has frame pointers and
//! otherwise unwinds with the call-frame information ([`unwind`], a caching unwinder, on
//! x86-64; libgcc's elsewhere).
//!
//! An allocator captures from a few call paths over and over, so [`capture_id`] remembers the
//! last frame-pointer walks of each thread ([`FpMemo`], chosen by the frame the walk starts
//! from): a walk from the same frame pointer, with the same bounds, depth and module epoch,
//! that finds every frame record it reads (link and return address) equal to the remembered
//! ones is the same walk, so it returns the remembered trace after one 16-byte load, XOR and OR
//! per frame and one test at the end, with no bounds checks (the remembered walk made them against the same bounds),
//! no hash and no table lookup. Any difference is a miss: the walk is made and remembered.
//!
//! Traces are interned in one process-wide, lock-free, open-addressed table keyed by a hash of
//! the addresses: millions of allocations from one site cost one entry, and a block stores only
//! a 4-byte [`TraceId`]. The table is an index of 16-byte entries (hash, where the frames are,
//! how many) over an append-only arena where each distinct trace's frames are packed, so a new
//! trace costs a line of the index and its frames, not a page: a program whose recursion makes
//! a hundred thousand distinct traces keeps a few MiB, not hundreds. Both are reserved
//! virtually (the OS maps their pages on first touch) and never shrink; when the index is
//! nearly full, new traces get [`TraceId::NONE`]. Each lies between two inaccessible guard
//! regions of [`TABLE_GUARD`] bytes, so that a stray write running off a program's block mapped
//! next to them faults instead of corrupting traces. Under an address-space limit
//! (`RLIMIT_AS`, which counts reservations) the guards and the arena are sized to a share of
//! it (see [`os::reservation_len`]).
//!
//! Each trace also records the *module epoch* it was captured in: a counter that a checker bumps
//! ([`next_module_epoch`]) when a shared object is unloaded (`dlclose`). The epoch is part of
//! the key, so a stack captured after an unload never shares an entry with an equal list of
//! addresses from before it (the same addresses may now belong to another library), and the
//! symbolizer can tell which library an address belonged to ([`epoch_of`]). It is kept in the
//! arena, in the word before the trace's frames.
//!
//! A thread's recent traces and remembered walks (this module's and the unwinder's, 264 KiB)
//! are its [`Caches`], out of static TLS (which every thread of every program pays for, fast
//! mode's too): a mapping [`thread_caches`] hands out at the thread's first capture or
//! [`prepare_thread`], and takes back at its exit. Static TLS keeps the stack's bounds and the
//! caches' address.
//!
//! More frames than the configured depth are captured ([`SKIP_BUDGET`] extra): the allocator's
//! own frames and the allocation plumbing of std and `allocator_api2` are dropped when a trace
//! is symbolized (`report::symbolize`), so they do not use up the user's depth.
//!
//! # Invariants
//! * A table slot's `key` goes from 0 to a hash once (CAS), then its frames are copied into the
//!   arena and their index is published in `frames` with `Release`; readers compare frames
//!   only after an `Acquire` of a non-zero `frames`. Arena ranges are handed out by one
//!   `fetch_add` and never reused.
//! * Nothing here allocates from any heap, except the unwinders ([`TraceMethod::needs_guard`]),
//!   which an allocator calls inside its re-entrancy guard.
//! * Known stack bounds (`ThreadTraces::stack`'s highest address above 1) imply caches:
//!   [`prepare_thread`] stores the caches' address before the bounds, the exit hook
//!   ([`release_thread_caches`]) clears the bounds before the address.
//! * A remembered walk is read or written only while the thread's `memo_busy` is set; a
//!   capture that finds it set (one made by a signal handler that interrupted another) walks
//!   without a memo, so a memo is never seen half written.

use core::cell::Cell;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use crate::os;

mod thread_caches;
#[cfg(target_arch = "x86_64")]
pub mod unwind;

/// Frames captured beyond the configured depth, to be skipped as allocator plumbing: the
/// GPA's own frames (many more when this crate is built without optimizations, as in a debug
/// build) and those of `alloc`/`std`/`allocator_api2` between the user's call and the GPA.
pub const SKIP_BUDGET: usize = if cfg!(debug_assertions) { 16 } else { 8 };
/// The most frames a stored trace holds.
pub const MAX_FRAMES: usize = 32;

/// How the GPA collects the return addresses of a stack trace ([`Config::trace_method`]).
///
/// Frame pointers are the fast way, but Rust omits them unless asked: build with them for
/// complete traces, in your project's `.cargo/config.toml`:
///
/// ```toml
/// [build]
/// rustflags = ["-C", "force-frame-pointers=yes"]
/// ```
///
/// Without them, a frame-pointer walk stops early and traces are short or empty; choose
/// [`TraceMethod::Unwinder`] instead, which needs no rebuild but is far slower (the figures
/// are in [`Config::trace_method`]).
///
/// ```
/// use gpa::{Config, GeneralPurposeAllocator, TraceMethod};
///
/// // Complete traces in a program built without frame pointers, at the unwinder's price.
/// let gpa = GeneralPurposeAllocator::with_config(Config {
///     trace_method: TraceMethod::Unwinder,
///     ..Config::debug()
/// });
/// # drop(gpa);
/// ```
///
/// [`Config::trace_method`]: crate::Config::trace_method
// `Custom` compares by function address, which is all a configuration needs.
#[allow(unpredictable_function_pointer_comparisons)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceMethod {
    /// Frame pointers when the code has them, an unwinder when it does not (the default): the
    /// first capture of the process checks that a frame-pointer walk from a function of this
    /// crate reaches its caller ([`TraceMethod::frame_pointers_work`]), since this crate is
    /// built with the same flags as the code that calls it. Without frame pointers, traces
    /// cost about 2.7 times the instructions ([`TraceMethod::caching_unwinder`]: gpa's own on
    /// x86-64; elsewhere libgcc's, much slower).
    Auto,
    /// Walk the chain of frame pointers: a few nanoseconds per frame, no allocation, no lock.
    /// Complete only for code built with `-C force-frame-pointers=yes`. Without them the
    /// walk is still safe (every frame is checked against the stack's bounds) but misses
    /// frames or finds none.
    FramePointers,
    /// The system unwinder (`_Unwind_Backtrace`): complete without frame pointers, but costs
    /// microseconds per trace.
    Unwinder,
    /// A walker of the caller's choice: fills the slice with return addresses, innermost
    /// first, and returns how many ([`TraceMethod::caching_unwinder`] is one, on x86-64).
    /// It runs inside the allocator's re-entrancy guard, so it must not allocate from a user
    /// heap or take a lock the allocating thread may hold.
    Custom(fn(&mut [usize]) -> usize),
}

impl TraceMethod {
    /// Whether an allocator must capture with this method inside its re-entrancy guard: an
    /// unwinder may allocate (the caching unwinder computes a rule with `gimli`, libgcc may
    /// take `malloc`ed memory), a frame-pointer walk never does.
    #[inline]
    pub(crate) fn needs_guard(self) -> bool {
        match self {
            TraceMethod::FramePointers => false,
            TraceMethod::Auto => FRAME_POINTERS.load(Ordering::Relaxed) != FP_WORK,
            TraceMethod::Unwinder | TraceMethod::Custom(_) => true,
        }
    }

    /// Whether captures with this method read the thread's stack bounds (which
    /// [`prepare_thread`] finds).
    pub(crate) fn needs_stack_bounds(self) -> bool {
        !matches!(self, TraceMethod::Unwinder)
    }

    /// Whether this program's code has frame pointers, as [`TraceMethod::Auto`] finds out
    /// (once per process, at the first call): a frame-pointer walk started in a function of
    /// gpa, which is compiled with the same flags as the code that uses it, finds the same
    /// two callers as the system unwinder.
    ///
    /// ```
    /// // This crate's tests are built with `-C force-frame-pointers=yes`; a new crate's are not.
    /// let _with_frame_pointers: bool = gpa::TraceMethod::frame_pointers_work();
    /// ```
    pub fn frame_pointers_work() -> bool {
        frame_pointers_work()
    }

    /// The unwinder [`TraceMethod::Auto`] falls back to without frame pointers: gpa's caching
    /// DWARF unwinder on x86-64 (a [`TraceMethod::Custom`] walker), libgcc's
    /// ([`TraceMethod::Unwinder`]) elsewhere. For comparing methods; `Auto` picks it by itself.
    ///
    /// ```
    /// use gpa::{Config, GeneralPurposeAllocator, TraceMethod};
    ///
    /// let gpa = GeneralPurposeAllocator::with_config(Config {
    ///     trace_method: TraceMethod::caching_unwinder(),
    ///     ..Config::debug()
    /// });
    /// let block = gpa.allocator().alloc::<u64>(4).unwrap();
    /// // SAFETY: a live block of this GPA, freed once.
    /// unsafe { gpa.allocator().free(block) };
    /// ```
    pub fn caching_unwinder() -> TraceMethod {
        #[cfg(target_arch = "x86_64")]
        return TraceMethod::Custom(unwind::capture);
        #[cfg(not(target_arch = "x86_64"))]
        TraceMethod::Unwinder
    }
}

/// A handle to an interned trace.
///
/// Example: the [`observer`](crate::observer) module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct TraceId(pub(crate) u32);

impl TraceId {
    /// No trace (traces disabled, or the table is full).
    pub const NONE: TraceId = TraceId(0);

    /// Whether this refers to a stored trace.
    pub fn is_some(self) -> bool {
        self.0 != 0
    }
}

/// Return addresses of one stack, innermost first.
#[derive(Clone, Copy)]
pub struct Frames {
    len: usize,
    addresses: [MaybeUninit<usize>; MAX_FRAMES],
}

impl Frames {
    /// No frames.
    pub fn new() -> Self {
        Frames {
            len: 0,
            addresses: [MaybeUninit::uninit(); MAX_FRAMES],
        }
    }

    /// The captured return addresses, innermost first.
    pub fn addresses(&self) -> &[usize] {
        // SAFETY: the first `len` entries were written by `push`.
        unsafe { &*(&self.addresses[..self.len] as *const [MaybeUninit<usize>] as *const [usize]) }
    }

    #[inline(always)]
    fn push(&mut self, address: usize) -> bool {
        if self.len == MAX_FRAMES {
            return false;
        }
        self.addresses[self.len] = MaybeUninit::new(address);
        self.len += 1;
        true
    }
}

impl Default for Frames {
    fn default() -> Self {
        Self::new()
    }
}

/// Per-thread state of the capture kept in static TLS: the stack's bounds, and where the
/// thread's caches are ([`Caches`], out of static TLS: 32 bytes here instead of 264 KiB in every
/// thread of every program, fast mode's too).
#[repr(C)]
struct ThreadTraces {
    /// This thread's stack, `(lowest, highest)` address, found once per thread (highest 0: not
    /// yet known; 1: being found, or not found).
    stack: Cell<(usize, usize)>,
    /// The thread's [`Caches`] (null: none yet, or released at thread exit), from
    /// [`thread_caches`]'s mappings. Never null while `stack`'s highest address is above 1
    /// (see [`prepare_thread`]).
    caches: Cell<*mut Caches>,
    /// Calls of the C library's `pthread_getattr_np` the thread is inside
    /// ([`enter_stack_query`]): not 0, its stack is not asked for (see [`prepare_thread`]).
    stack_queries: Cell<usize>,
}

// SAFETY: an unknown stack top, no caches (null) and no stack query are the initial state.
unsafe impl crate::tls::ZeroInit for ThreadTraces {}

crate::tls::fast_thread_local!(
    /// The calling thread's capture state (initial-exec TLS: no `__tls_get_addr`).
    fn thread_traces() -> ThreadTraces;
    /// A word of the calling thread's `ThreadTraces` (the caches' address: one load).
    fn thread_traces_word<OFFSET>() -> usize;
);

/// Byte offset in [`ThreadTraces`] of the caches' address, for [`thread_traces_word`].
const CACHES: usize = core::mem::offset_of!(ThreadTraces, caches);

/// The trace layer's per-thread caches: the recently interned traces, the remembered
/// frame-pointer walks and (x86-64) the caching unwinder's remembered walks. A thread gets
/// them at its first capture ([`caches`]) from [`thread_caches`], never in a thread that
/// captures nothing (fast mode), and gives them back when it ends
/// ([`release_thread_caches`]).
#[repr(C)]
pub(crate) struct Caches {
    /// Recently interned traces, by hash: most allocations come from a few sites, and this
    /// saves the shared table's probe and compare (a recursion's captures come from many
    /// paths, hence many ways). A match of the 64-bit hash and of the outermost and innermost
    /// addresses (folded to 32 bits, [`recent_check`]) is trusted. `(key, check, id)`: 16
    /// bytes a way.
    recent: [Cell<(u64, u32, u32)>; RECENT_WAYS],
    /// Remembered frame-pointer walks ([`FpMemo`]), by the frame they start from.
    memos: [FpMemo; MEMOS],
    /// A capture is reading or writing `memos` (one interrupted by a signal handler that
    /// captures too: the nested capture leaves them alone).
    memo_busy: Cell<bool>,
    /// The caching unwinder's remembered walks.
    #[cfg(target_arch = "x86_64")]
    walks: unwind::PathCache,
}

// SAFETY: empty (all-zero) recent entries and memos (id 0: nothing remembered), `memo_busy`
// false, and the unwinder's empty `PathCache` (itself `ZeroInit`) are the initial state.
unsafe impl crate::tls::ZeroInit for Caches {}

/// Words the block of a thread's [`Caches`] holds after them for the allocator's own
/// per-thread memos ([`side_words`]): 8 KiB, two more pages of the block's mapping, touched
/// as used.
pub(crate) const SIDE_WORDS: usize = 1024;

/// The calling thread's side words: memory of its caches' block, right after the [`Caches`]
/// (`thread_caches`' layout), that the trace layer only holds for the allocator (check mode's
/// second-level page lookup, `gpa::c_checked`): out of static TLS, made only in threads that
/// capture or ask for them. All zero in a fresh block; kept as they are when the block goes to
/// another thread (`thread_caches`' pool), so what the allocator keeps there must be valid for
/// any thread, and (the leak scan skipping the blocks) hold no address of the program's
/// memory. Made with the thread's caches at their first use (as [`caches`]: async-signal-safe,
/// no `malloc`); `None` only when the system refuses the mapping. The reference stays valid
/// until the thread ends. (A field of `Caches`, the side words changed the compiler's code of
/// check mode's captures: espresso 10, 0.4% more instructions.)
#[inline]
pub(crate) fn side_words() -> Option<&'static [Cell<u64>; SIDE_WORDS]> {
    let caches: *const Caches = caches()?;
    // SAFETY: a thread's caches lie at the start of a block whose mapping holds `SIDE_WORDS`
    // words right after them (`thread_caches::block_len`), zero when fresh, aligned (the size
    // of `Caches` is a multiple of its alignment, at least 8's); this thread's until it ends,
    // as its caches are. `Cell`s: only this thread uses them meanwhile.
    Some(unsafe { &*(caches.add(1) as *const [Cell<u64>; SIDE_WORDS]) })
}

impl Caches {
    /// Forgets what ties these caches to the thread that used them, for the next thread
    /// ([`thread_caches`]' pool): `memo_busy` (false anyway once no capture runs) and the
    /// unwinder's records at positions on that thread's stack (`PathCache::forget_thread`).
    /// The rest stays, as valid for any thread as for the one that filled it: `recent` maps
    /// traces (by their addresses' hash, checked) to interned ids, which are the process's;
    /// a frame-pointer memo answers only for a walk from the same frame pointer under the
    /// same stack top whose records still hold (read within the current thread's bounds); the
    /// unwinder's remembered steps and captures are checked against the stack likewise.
    pub(super) fn forget_thread(&self) {
        self.memo_busy.set(false);
        #[cfg(target_arch = "x86_64")]
        self.walks.forget_thread();
    }

    /// Fills one remembered trace and makes the thread-bound records look used (a test's).
    #[cfg(test)]
    pub(super) fn touch_for_test(&self) {
        self.recent[0].set((0x1234, 5, 6));
        self.memo_busy.set(true);
        #[cfg(target_arch = "x86_64")]
        self.walks.touch_thread_records();
    }

    /// Whether the remembered trace [`Self::touch_for_test`] filled is there, and whether a
    /// thread-bound record is in use (a test's).
    #[cfg(test)]
    pub(super) fn touched_for_test(&self) -> (bool, bool) {
        #[cfg(target_arch = "x86_64")]
        let walks = self.walks.holds_thread_records();
        #[cfg(not(target_arch = "x86_64"))]
        let walks = false;
        (
            self.recent[0].get() == (0x1234, 5, 6),
            self.memo_busy.get() || walks,
        )
    }
}

/// The calling thread's [`Caches`], made at its first use (async-signal-safe: a pool pop or a
/// mapping, no `malloc`); `None` only when the system refuses the mapping (then captures go
/// without caches). The reference stays valid until the thread ends: only
/// [`release_thread_caches`], at thread exit, takes them away.
#[inline(always)]
fn caches() -> Option<&'static Caches> {
    let caches = thread_traces_word::<CACHES>() as *const Caches;
    if caches.is_null() {
        return first_caches();
    }
    // SAFETY: a non-null pointer here is this thread's caches (`first_caches`), a live,
    // zero-initialized `Caches` nobody else uses until `release_thread_caches` runs.
    Some(unsafe { &*caches })
}

/// [`caches`]'s slow path: the thread's first capture.
#[cold]
#[inline(never)]
fn first_caches() -> Option<&'static Caches> {
    let fresh = thread_caches::acquire()?;
    let slot = &thread_traces().caches;
    if !slot.get().is_null() {
        // A signal handler's capture got the thread its caches meanwhile: keep those.
        // SAFETY: `fresh` was just acquired and is not referenced anywhere.
        unsafe { thread_caches::release(fresh) };
    } else {
        slot.set(fresh.as_ptr());
    }
    // SAFETY: as in `caches`.
    Some(unsafe { &*slot.get() })
}

/// Gives the calling thread's caches back to the pool ([`thread_caches`]), for its exit hook
/// (`gpa::heap`'s): a capture made after it (by a later thread-exit destructor) gets caches
/// again, which the hook, armed again by that allocation, gives back too.
pub(crate) fn release_thread_caches() {
    let traces = thread_traces();
    // Bounds unknown first (known bounds imply caches, see `prepare_thread`): the next
    // `prepare_thread` finds them again, with caches.
    traces.stack.set((0, 0));
    core::sync::atomic::compiler_fence(Ordering::SeqCst);
    let caches = traces.caches.replace(core::ptr::null_mut());
    if let Some(caches) = NonNull::new(caches) {
        // SAFETY: the thread's own caches, no longer reachable from it (the slot is null) and
        // not in use: the exit hook runs outside any capture of this thread.
        unsafe { thread_caches::release(caches) };
    }
}

/// The top of the stack the calling thread runs on ([`current_stack_bounds`]'s `high`) and its
/// unwinder's remembered walks, once [`prepare_thread`] found both (else `None`: no memo to
/// ask; this makes no caches), from one computation of the thread's TLS address (the
/// accessor's asm is not merged across the stores between two calls) and one test (known
/// bounds imply caches): for [`unwind::remembered_at`], asked at every allocation and free of
/// the C ABI's check mode. (Returning the bounds and all the caches instead, to serve
/// [`capture_id_walking`] too, cost glibc-simple 0.5% more instructions in the C ABI.)
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn stack_top_and_walks() -> Option<(usize, &'static unwind::PathCache)> {
    let traces = thread_traces();
    let (bottom, top) = traces.stack.get();
    let caches = traces.caches.get();
    let sp = os::approximate_stack_pointer();
    // `bottom <= sp < top` by one compare; unknown bounds (`top` 0 or 1, `bottom` 0) hold no
    // stack pointer, so they are tested only off the common path (three instructions fewer
    // on every remembered capture). Known bounds imply caches (`prepare_thread`).
    let top = if sp.wrapping_sub(bottom) < top.wrapping_sub(bottom) {
        top
    } else {
        if top <= 1 {
            return None;
        }
        other_stack_bounds(sp)?.1
    };
    debug_assert!(!caches.is_null());
    // SAFETY: as in `caches`: the calling thread's caches, live until it ends.
    Some((top, unsafe { &(*caches).walks }))
}

/// The calling thread's unwinder caches and the top of its own stack as [`prepare_thread`]
/// found it (0 or 1 while not known), from one computation of the thread's TLS address and
/// without [`stack_top_and_walks`]'s test of the stack pointer; `None` while the thread has
/// no caches (then its bounds are not known either). For [`unwind::remembered_at`], where a
/// lane's last memo answers only a capture whose program frame, read from the allocator's
/// frame, is the memo's, under the memo's top, which must be this one (so the capture runs
/// on the thread's own stack, as when the memo's key was made there): that stands for the
/// test.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn walks_and_known_top() -> Option<(usize, &'static unwind::PathCache)> {
    let traces = thread_traces();
    let caches = traces.caches.get();
    if caches.is_null() {
        return None;
    }
    // SAFETY: as in `caches`: the calling thread's caches, live until it ends.
    Some((traces.stack.get().1, unsafe { &(*caches).walks }))
}

/// [`current_stack_bounds`] and the calling thread's caches, once [`prepare_thread`] found
/// both (else `None`; this makes no caches), from one computation of the thread's TLS address
/// and one test (known bounds imply caches): for [`capture_id_walking`], the remembered
/// frame-pointer walks of the Rust GPA's debug mode (two captures a pair).
#[inline(always)]
fn stack_bounds_and_caches() -> Option<((usize, usize), &'static Caches)> {
    let traces = thread_traces();
    let (bottom, top) = traces.stack.get();
    if top <= 1 {
        return None;
    }
    // Known bounds imply caches (`prepare_thread`).
    let caches = traces.caches.get();
    debug_assert!(!caches.is_null());
    let sp = os::approximate_stack_pointer();
    let bounds = if sp >= bottom && sp < top {
        (sp, top)
    } else {
        other_stack_bounds(sp)?
    };
    // SAFETY: as in `caches`: the calling thread's caches, live until it ends.
    Some((bounds, unsafe { &*caches }))
}

/// The unwinder's remembered walks of the calling thread (see [`caches`]).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn path_cache() -> Option<&'static unwind::PathCache> {
    caches().map(|caches| &caches.walks)
}

/// The trace layer's per-thread state of the calling thread in static TLS, `(address, bytes)`
/// (its caches are elsewhere: [`for_each_thread_caches`]).
pub(crate) fn thread_local_extent() -> (usize, usize) {
    crate::tls::extent(thread_traces())
}

/// Calls `visit(start, end)` with every mapping that holds a thread's trace caches (in use by
/// a thread or pooled): they hold copies of `rbp`, a general register in code without frame
/// pointers, so possibly of the program's pointers, and a leak scan must not take them for
/// roots (`leakcheck::roots::OwnState`). Lock-free, allocation-free.
pub(crate) fn for_each_thread_caches(visit: &mut dyn FnMut(usize, usize)) {
    thread_caches::for_each(visit);
}

/// Calls `visit(start, end)` with each mapping of the trace store that is mapped: the index
/// (keys, arena indices, lengths) and the frame arena (epochs and return addresses). They are
/// the library's bookkeeping, whose words are never the program's pointers, so a leak scan
/// does not read them as roots (`leakcheck::roots::OwnState::with_trace_store`): after a
/// program of many traces they are tens of MiB of resident memory. Lock-free, allocation-free.
pub(crate) fn for_each_store_mapping(visit: &mut dyn FnMut(usize, usize)) {
    let table = TABLE.load(Ordering::Acquire) as usize;
    if table != 0 {
        // The index's length was chosen before it was mapped.
        visit(table, table + table_len() * core::mem::size_of::<Slot>());
    }
    let arena = ARENA.load(Ordering::Acquire) as usize;
    if arena != 0 {
        visit(
            arena,
            arena + arena_capacity() * core::mem::size_of::<usize>(),
        );
    }
}

/// Whether [`prepare_thread`] has run on this thread.
#[inline(always)]
pub fn thread_prepared() -> bool {
    thread_traces().stack.get().1 != 0
}

/// Records the calling thread's stack bounds, once per thread, before its first capture.
/// `pthread_getattr_np` may allocate, so an allocator calls this inside its re-entrancy
/// guard; a capture made meanwhile (by that nested allocation) finds the bounds still unknown
/// (`1`) and returns no frames instead of recursing.
///
/// It also gets the thread its [`Caches`], before the bounds are published: known bounds
/// (`highest > 1`) imply caches, so the captures' fast path ([`stack_top_and_walks`]) tests
/// one word, not two. Without caches (the system refused the mapping) the bounds stay
/// unknown.
pub fn prepare_thread() {
    let traces = thread_traces();
    if traces.stack.get().1 == 0 && traces.stack_queries.get() == 0 {
        traces.stack.set((0, 1));
        let bounds = os::stack_bounds().unwrap_or((0, 1));
        if caches().is_none() {
            return;
        }
        // The caches' address is stored before the bounds, also as a signal handler
        // interrupting this thread sees them.
        core::sync::atomic::compiler_fence(Ordering::SeqCst);
        traces.stack.set(bounds);
    }
}

/// The calling thread's own stack, `(lowest, highest)` address, whatever stack the thread
/// runs on now (such as an alternate signal stack): as [`prepare_thread`] found it, or, on a
/// thread that never captured a trace, asked of the system now (which may allocate: call it
/// inside an allocator's re-entrancy guard). For a fault handler on the faulting thread.
pub fn thread_stack() -> Option<(usize, usize)> {
    let traces = thread_traces();
    match traces.stack.get() {
        (bottom, top) if top > 1 => Some((bottom, top)),
        _ if traces.stack_queries.get() != 0 => None,
        _ => os::stack_bounds(),
    }
}

/// Marks the calling thread as inside the C library's `pthread_getattr_np` until the guard
/// returns: the C ABI's wrapper of that function holds one around the call. glibc holds a
/// lock of the thread there (the descriptor's, not recursive) and allocates (its `realloc` of
/// the CPU set); if that is the thread's first allocation, [`prepare_thread`] would ask for
/// the thread's stack with `pthread_getattr_np` again and wait for that lock forever (a JVM's
/// threads do this first, in `os::current_stack_base`: `java -version` hung in check mode).
/// Inside, [`prepare_thread`] leaves the thread unprepared (the allocation's capture has no
/// frames; the next allocation prepares it) and [`thread_stack`] answers `None`.
pub fn enter_stack_query() -> StackQuery {
    let queries = &thread_traces().stack_queries;
    queries.set(queries.get() + 1);
    StackQuery(core::marker::PhantomData)
}

/// The calling thread is inside `pthread_getattr_np` while this lives ([`enter_stack_query`]).
#[must_use]
pub struct StackQuery(core::marker::PhantomData<*const ()>);

impl Drop for StackQuery {
    fn drop(&mut self) {
        let queries = &thread_traces().stack_queries;
        queries.set(queries.get().saturating_sub(1));
    }
}

/// The part of the stack the calling thread runs on that a walk may read: from the current
/// stack pointer up to the stack's top, `(low, high)`. On the thread's own stack the bounds
/// come from [`prepare_thread`]; on an alternate signal stack, from `sigaltstack`; elsewhere
/// (a stack the thread switched to by itself, or bounds not known yet) `None`.
#[inline(always)]
pub fn current_stack_bounds() -> Option<(usize, usize)> {
    let (bottom, top) = thread_traces().stack.get();
    if top <= 1 {
        return None;
    }
    let sp = os::approximate_stack_pointer();
    if sp >= bottom && sp < top {
        return Some((sp, top));
    }
    other_stack_bounds(sp)
}

#[cold]
#[inline(never)]
fn other_stack_bounds(sp: usize) -> Option<(usize, usize)> {
    let (bottom, top) = os::current_alternate_stack()?;
    (sp >= bottom && sp < top).then_some((sp, top))
}

#[inline(always)]
fn frame_pointer() -> usize {
    let fp: usize;
    // SAFETY: reading the frame-pointer register has no side effects.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        core::arch::asm!("mov {}, rbp", out(reg) fp, options(nomem, nostack, preserves_flags));
        #[cfg(target_arch = "aarch64")]
        core::arch::asm!("mov {}, x29", out(reg) fp, options(nomem, nostack, preserves_flags));
    }
    fp
}

/// Captures up to `depth + SKIP_BUDGET` return addresses of the caller's stack.
#[allow(dead_code)] // `capture_id` in two steps, for callers that keep the frames
#[inline(never)]
pub fn capture(depth: usize, method: TraceMethod) -> Frames {
    let mut frames = Frames::new();
    capture_into(&mut frames, depth, method);
    frames
}

#[inline(always)]
fn capture_into(frames: &mut Frames, depth: usize, method: TraceMethod) {
    let limit = (depth + SKIP_BUDGET).min(MAX_FRAMES);
    match method {
        TraceMethod::Auto if frame_pointers_work() => walk_frame_pointers(frames, limit),
        TraceMethod::Auto => unwind_into(frames, limit),
        TraceMethod::FramePointers => walk_frame_pointers(frames, limit),
        TraceMethod::Custom(walk) => {
            if let Some(interning) = interning_walker(walk) {
                for &address in frames_of(interning(depth)).addresses() {
                    frames.push(address);
                }
                return;
            }
            custom_into(frames, limit, walk);
        }
        TraceMethod::Unwinder => libgcc_into(frames, limit),
    }
}

#[inline(never)]
fn custom_into(frames: &mut Frames, limit: usize, walk: fn(&mut [usize]) -> usize) {
    let mut buffer = [0usize; MAX_FRAMES];
    let count = walk(&mut buffer[..limit]).min(limit);
    for &address in &buffer[..count] {
        frames.push(address);
    }
}

/// The fastest unwinder there is for this target.
#[cold]
#[inline(never)]
fn unwind_into(frames: &mut Frames, limit: usize) {
    #[cfg(target_arch = "x86_64")]
    custom_into(frames, limit, unwind::capture);
    #[cfg(not(target_arch = "x86_64"))]
    libgcc_into(frames, limit);
}

#[inline(never)]
fn libgcc_into(frames: &mut Frames, limit: usize) {
    let mut skip = 1; // this function
                      // SAFETY: the callback does not allocate, panic, or reenter the unwinder.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            if skip > 0 {
                skip -= 1;
                return true;
            }
            !frame.ip().is_null() && frames.len < limit && frames.push(frame.ip() as usize)
        })
    };
}

/// Walks the frame-pointer chain: `[fp]` is the caller's frame pointer, `[fp + 8]` the return
/// address. Every frame record is checked before it is read: aligned, inside the stack the
/// thread runs on, from the current stack pointer up ([`current_stack_bounds`]), and above the
/// previous record; so whatever the frame-pointer register holds (code without frame pointers
/// uses it as a general register), the walk reads only the live part of the stack and ends.
#[inline(always)]
fn walk_frame_pointers(frames: &mut Frames, limit: usize) {
    let Some((low, high)) = current_stack_bounds() else {
        return;
    };
    walk_chain(frames, frame_pointer(), low, high, limit);
}

/// Follows the frame-pointer chain from `fp`, reading only frame records inside `[low, high)`.
/// The count lives in a register during the walk (stored once at the end): a frame costs two
/// loads, a store and a few compares.
#[inline(always)]
fn walk_chain(frames: &mut Frames, mut fp: usize, mut low: usize, high: usize, limit: usize) {
    let limit = limit.min(MAX_FRAMES);
    let top = high.saturating_sub(16);
    let mut len = frames.len;
    while len < limit {
        if fp < low || fp % core::mem::align_of::<usize>() != 0 || fp > top {
            break;
        }
        // SAFETY: `fp` is aligned and `[fp, fp + 16)` lies in `[low, high)`, the part of the
        // stack between the stack pointer and the top, which is mapped and readable.
        let (caller_fp, return_address) =
            unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
        if return_address == 0 {
            break;
        }
        // SAFETY: `len < limit <= MAX_FRAMES`, the array's length.
        unsafe { *frames.addresses.get_unchecked_mut(len) = MaybeUninit::new(return_address) };
        len += 1;
        // The caller's record lies above this one: the walk only moves up, so it ends.
        low = fp + 16;
        fp = caller_fp;
    }
    frames.len = len;
}

/// The stack of a faulting thread, from its signal context: the faulting instruction `ip`
/// first, then the return addresses of the frame-pointer chain from `bp`, read only within
/// the calling thread's stack (`[sp, top)`, where `top` is known once [`prepare_thread`] ran;
/// before that, only `ip`). `called`: `ip` is where a call through a bad pointer landed, so
/// the return address is on top of the stack (`[sp]`). Called from a signal handler on the
/// faulting thread: no allocation, no lock.
pub fn capture_from_context(ip: usize, bp: usize, sp: usize, depth: usize, called: bool) -> Frames {
    let mut frames = Frames::new();
    if ip == 0 {
        return frames;
    }
    frames.push(ip);
    let limit = (depth + SKIP_BUDGET).min(MAX_FRAMES);
    let Some((bottom, top)) = thread_stack() else {
        return frames;
    };
    if sp < bottom || sp >= top.saturating_sub(8) {
        return frames;
    }
    if called && sp % 8 == 0 {
        // SAFETY: `[sp, sp + 8)` is inside this thread's stack (checked above).
        frames.push(unsafe { (sp as *const usize).read() });
    }
    walk_chain(&mut frames, bp, sp, top, limit);
    frames
}

// ---- does the code have frame pointers? ----

const FP_UNKNOWN: u8 = 0;
const FP_WORK: u8 = 1;
const FP_MISSING: u8 = 2;

/// What [`frame_pointers_work`] found (`FP_*`).
static FRAME_POINTERS: AtomicU8 = AtomicU8::new(FP_UNKNOWN);

/// Whether the code has frame pointers: found once per process, by checking that a
/// frame-pointer walk started in a function of this crate finds the same two callers as the
/// system unwinder. This crate is compiled with the same flags as the crate that uses it, so
/// the answer holds for the user's code too. Call it inside an allocator's re-entrancy guard
/// the first time ([`TraceMethod::needs_guard`]): the unwinder may allocate.
#[inline(always)]
pub fn frame_pointers_work() -> bool {
    match FRAME_POINTERS.load(Ordering::Relaxed) {
        FP_WORK => true,
        FP_MISSING => false,
        _ => detect_frame_pointers(),
    }
}

#[cold]
#[inline(never)]
fn detect_frame_pointers() -> bool {
    if !thread_prepared() {
        prepare_thread();
    }
    if current_stack_bounds().is_none() {
        // No bounds yet (being found on this thread): decide on a later capture.
        return false;
    }
    let works = core::hint::black_box(probe_caller());
    let found = if works { FP_WORK } else { FP_MISSING };
    FRAME_POINTERS.store(found, Ordering::Relaxed);
    works
}

#[inline(never)]
fn probe_caller() -> bool {
    let works = probe_callee(probe_caller as *const () as usize);
    core::hint::black_box(works)
}

/// Walks two frames with frame pointers and with the unwinder; they must agree, and start
/// with the return address into `caller` (the function that called this one).
#[inline(never)]
fn probe_callee(caller: usize) -> bool {
    let mut walked = Frames::new();
    walk_frame_pointers(&mut walked, 2);
    let mut unwound = [0usize; 2];
    let mut found = 0;
    // SAFETY: the callback does not allocate, panic, or reenter the unwinder.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            if found > 0 || frame.symbol_address() as usize == caller {
                unwound[found] = frame.ip() as usize;
                found += 1;
            }
            found < unwound.len()
        })
    };
    found == unwound.len() && walked.addresses() == unwound
}

// ---- the interning table ----

const TABLE_BITS: u32 = 20;
/// Slots of the index (16 MiB); under an address-space limit (`RLIMIT_AS`) the largest power
/// of two whose slots take at most a 32nd of it ([`TABLE_SHARE`]), at least [`TABLE_MIN_LEN`]:
/// [`table_len`].
const TABLE_LEN: usize = 1 << TABLE_BITS;
/// The index's share of an address-space limit (see [`os::reservation_len`]).
const TABLE_SHARE: usize = 32;
/// The fewest slots the index is given under an address-space limit.
const TABLE_MIN_LEN: usize = 1 << 12;
/// Words of the frame arena (reserved, mapped by the OS on first touch): 512 MiB, room for
/// every trace the index can hold at the greatest depth. Under an address-space limit
/// (`RLIMIT_AS`) the arena is at most a sixteenth of it ([`ARENA_SHARE`]): fewer traces keep
/// their frames once it is full, the program's mallocs keep the rest of the limit.
const ARENA_WORDS: usize = 1 << 26;
/// The arena's share of an address-space limit (see [`os::reservation_len`]).
const ARENA_SHARE: usize = 16;
/// The guards' share of an address-space limit, each.
const GUARD_SHARE: usize = 256;
/// A slot whose frames could not be stored (the arena is full): it matches no trace.
const NO_FRAMES: u32 = u32::MAX;

/// An index entry: 16 bytes, so that a table of a million traces is 16 MiB of address space
/// and a new trace touches one line of it, not a page (the frames live in the arena).
#[repr(C)]
struct Slot {
    key: AtomicU64,
    /// Arena index of the first frame (0 while the frames are being written).
    frames: AtomicU32,
    len: AtomicU32,
}

const _: () = assert!(core::mem::size_of::<Slot>() == 16);

/// Inaccessible bytes on each side of the trace table and of the frame arena.
pub const TABLE_GUARD: usize = 64 << 20;

/// The current module epoch (see the module docs).
static EPOCH: AtomicU32 = AtomicU32::new(0);

/// The current module epoch: how many times [`next_module_epoch`] was called.
#[inline]
pub fn module_epoch() -> u32 {
    EPOCH.load(Ordering::Acquire)
}

/// Starts a new module epoch (a shared object is about to be unloaded); returns the epoch that
/// ended. Traces captured from now on get new entries.
pub fn next_module_epoch() -> u32 {
    let ended = EPOCH.fetch_add(1, Ordering::AcqRel);
    // Remembered captures answer with trace ids of the epoch they were made in.
    #[cfg(target_arch = "x86_64")]
    unwind::forget_memos();
    ended
}

/// The module epoch a trace was captured in (0 for [`TraceId::NONE`]).
pub fn epoch_of(id: TraceId) -> u32 {
    let Some((_, frames)) = slot_of(id) else {
        return 0;
    };
    let arena = ARENA.load(Ordering::Acquire);
    if frames == NO_FRAMES || arena.is_null() {
        return 0;
    }
    // SAFETY: a ready slot's epoch word, just before its frames, was stored in the arena
    // (never unmapped) before the slot was published.
    unsafe { (*arena.add(frames as usize - 1)).load(Ordering::Relaxed) as u32 }
}

/// The key of a stack in the current epoch: its hash, salted by the epoch (never 0).
#[inline]
fn key_of(addresses: &[usize]) -> (u64, u32) {
    let epoch = module_epoch();
    let mut key = hash(addresses);
    if epoch != 0 {
        key = (key ^ avalanche(u64::from(epoch))) | 1;
    }
    (key, epoch)
}

static TABLE: AtomicPtr<Slot> = AtomicPtr::new(core::ptr::null_mut());
static FILLED: AtomicUsize = AtomicUsize::new(0);
/// The frame arena: frames of interned traces, packed, append-only; word 0 is unused.
static ARENA: AtomicPtr<AtomicUsize> = AtomicPtr::new(core::ptr::null_mut());
static ARENA_USED: AtomicUsize = AtomicUsize::new(1);
/// Words of the arena as reserved (0 until first needed): [`ARENA_WORDS`], or less under an
/// address-space limit.
static ARENA_CAPACITY: AtomicUsize = AtomicUsize::new(0);
/// Slots of the index as reserved (0 until first needed): [`TABLE_LEN`], or fewer under an
/// address-space limit.
static TABLE_SLOTS: AtomicUsize = AtomicUsize::new(0);

/// The value of `cell`, chosen with `choose` by its first caller (the first to store it wins
/// a race, so every caller sees one value, and the mapping is made with it).
#[inline]
fn chosen_once(cell: &AtomicUsize, choose: fn() -> usize) -> usize {
    match cell.load(Ordering::Acquire) {
        0 => match cell.compare_exchange(0, choose(), Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => cell.load(Ordering::Acquire),
            Err(winner) => winner,
        },
        value => value,
    }
}

/// The arena's length in words.
#[inline]
fn arena_capacity() -> usize {
    chosen_once(&ARENA_CAPACITY, || {
        let word = core::mem::size_of::<usize>();
        os::reservation_len(ARENA_WORDS * word, ARENA_SHARE) / word
    })
}

/// The index's length in slots (a power of two).
#[inline]
fn table_len() -> usize {
    chosen_once(&TABLE_SLOTS, || {
        let slot = core::mem::size_of::<Slot>();
        let slots = os::reservation_len(TABLE_LEN * slot, TABLE_SHARE) / slot;
        let power = if slots.is_power_of_two() {
            slots
        } else {
            (slots.next_power_of_two() / 2).max(1)
        };
        power.clamp(TABLE_MIN_LEN, TABLE_LEN)
    })
}

/// Maps `bytes` between guard regions once into `cell` (another thread may win the race; its
/// mapping is kept). The guards are [`TABLE_GUARD`] bytes, less under an address-space limit.
#[cold]
fn map_once<T>(cell: &AtomicPtr<T>, bytes: usize) -> Option<NonNull<T>> {
    let guard = os::reservation_len(TABLE_GUARD, GUARD_SHARE);
    let fresh = os::map_guarded(bytes, guard)?;
    match cell.compare_exchange(
        core::ptr::null_mut(),
        fresh.as_ptr().cast(),
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => Some(fresh.cast()),
        Err(winner) => {
            // SAFETY: `fresh` was just mapped by us and never published.
            unsafe { os::unmap_guarded(fresh, bytes, guard) };
            NonNull::new(winner)
        }
    }
}

#[cold]
fn table_init() -> Option<NonNull<Slot>> {
    map_once(&TABLE, table_len() * core::mem::size_of::<Slot>())
}

#[inline]
fn table() -> Option<NonNull<Slot>> {
    NonNull::new(TABLE.load(Ordering::Acquire)).or_else(table_init)
}

#[inline]
fn arena() -> Option<NonNull<AtomicUsize>> {
    NonNull::new(ARENA.load(Ordering::Acquire))
        .or_else(|| map_once(&ARENA, arena_capacity() * core::mem::size_of::<usize>()))
}

/// Copies the epoch and `addresses` into the arena; the index of the first address (the epoch
/// is in the word before it), or `NO_FRAMES` when the arena is full.
fn store_frames(addresses: &[usize], epoch: u32) -> u32 {
    let Some(arena) = arena() else {
        return NO_FRAMES;
    };
    let words = addresses.len() + 1;
    let start = ARENA_USED.fetch_add(words, Ordering::Relaxed);
    if start + words > arena_capacity() {
        return NO_FRAMES;
    }
    let values = core::iter::once(epoch as usize).chain(addresses.iter().copied());
    for (offset, value) in values.enumerate() {
        // SAFETY: `start + offset < arena_capacity()`, the words mapped, inside the mapped arena, and this range was
        // handed to this thread alone by the `fetch_add`.
        unsafe { (*arena.as_ptr().add(start + offset)).store(value, Ordering::Relaxed) };
    }
    (start + 1) as u32
}

/// The frames of a ready slot (`frames` loaded with `Acquire`).
fn slot_frames(frames: u32, len: usize) -> &'static [AtomicUsize] {
    let arena = ARENA.load(Ordering::Acquire);
    if frames == NO_FRAMES || arena.is_null() {
        return &[];
    }
    // SAFETY: a ready slot's frames were stored in the arena (never unmapped) before its
    // `frames` field was published with `Release`.
    unsafe { core::slice::from_raw_parts(arena.add(frames as usize), len) }
}

/// Hashes a stack: two independent xor-rotate lanes (one cycle per frame, no dependency on a
/// multiply), then a full avalanche of both; never 0.
#[inline]
fn hash(addresses: &[usize]) -> u64 {
    let (mut even, mut odd) = (0x9e37_79b9_7f4a_7c15u64, addresses.len() as u64);
    let mut pairs = addresses.chunks_exact(2);
    for pair in &mut pairs {
        even = even.rotate_left(19) ^ pair[0] as u64;
        odd = odd.rotate_left(23) ^ pair[1] as u64;
    }
    if let [last] = pairs.remainder() {
        even = even.rotate_left(19) ^ *last as u64;
    }
    (avalanche(even) ^ avalanche(odd).rotate_left(32)) | 1
}

#[inline]
pub(crate) fn avalanche(mut value: u64) -> u64 {
    value ^= value >> 33;
    value = value.wrapping_mul(0xff51_afd7_ed55_8ccd);
    value ^= value >> 33;
    value = value.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    value ^ (value >> 33)
}

/// Stores `frames` (once per distinct stack) and returns its id.
#[allow(dead_code)] // see `capture`
pub fn intern(frames: &Frames) -> TraceId {
    let addresses = frames.addresses();
    if addresses.is_empty() {
        return TraceId::NONE;
    }
    let (key, epoch) = key_of(addresses);
    intern_hashed(addresses, key, epoch)
}

#[inline(never)]
fn intern_hashed(addresses: &[usize], key: u64, epoch: u32) -> TraceId {
    let Some(table) = table() else {
        return TraceId::NONE;
    };
    let len = table_len();
    let mut index = (key as usize >> 7) & (len - 1);
    for _ in 0..len {
        if index == 0 {
            index = 1; // slot 0 is TraceId::NONE
        }
        // SAFETY: `index < table_len()`, inside the mapped table, which is never unmapped.
        let slot = unsafe { &*table.as_ptr().add(index) };
        let current = slot.key.load(Ordering::Acquire);
        if current == 0 {
            if FILLED.load(Ordering::Relaxed) >= len / 10 * 9 {
                return TraceId::NONE;
            }
            if slot
                .key
                .compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                FILLED.fetch_add(1, Ordering::Relaxed);
                let frames = store_frames(addresses, epoch);
                slot.len.store(addresses.len() as u32, Ordering::Relaxed);
                slot.frames.store(frames, Ordering::Release);
                return TraceId(index as u32);
            }
            continue; // lost the race for this slot: look at it again
        }
        if current == key && slot_matches(slot, addresses) {
            return TraceId(index as u32);
        }
        index = (index + 1) & (len - 1);
    }
    TraceId::NONE
}

fn slot_matches(slot: &Slot, addresses: &[usize]) -> bool {
    // Another thread is writing this slot's frames; wait a little, then give up (a thread
    // forked away in the middle of an insert never finishes it: the child must not hang).
    let mut spins = 0u32;
    let frames = loop {
        let frames = slot.frames.load(Ordering::Acquire);
        if frames != 0 {
            break frames;
        }
        spins += 1;
        if spins > 1 << 20 {
            return false;
        }
        core::hint::spin_loop();
    };
    let len = slot.len.load(Ordering::Relaxed) as usize;
    len == addresses.len()
        && slot_frames(frames, len)
            .iter()
            .zip(addresses)
            .all(|(cell, &address)| cell.load(Ordering::Relaxed) == address)
}

/// The ready slot of an interned trace, and the arena index of its frames.
fn slot_of(id: TraceId) -> Option<(&'static Slot, u32)> {
    if !id.is_some() || id.0 as usize >= table_len() {
        return None;
    }
    let table = NonNull::new(TABLE.load(Ordering::Acquire))?;
    // SAFETY: in bounds of the never-unmapped table.
    let slot = unsafe { &*table.as_ptr().add(id.0 as usize) };
    let frames = slot.frames.load(Ordering::Acquire);
    (frames != 0).then_some((slot, frames))
}

/// The frames of an interned trace (empty for [`TraceId::NONE`]).
pub fn frames_of(id: TraceId) -> Frames {
    let mut frames = Frames::new();
    let Some((slot, stored)) = slot_of(id) else {
        return frames;
    };
    let len = slot.len.load(Ordering::Relaxed) as usize;
    for cell in slot_frames(stored, len) {
        frames.push(cell.load(Ordering::Relaxed));
    }
    frames
}

/// Captures and interns the caller's stack in one step.
#[inline(never)]
pub fn capture_id(depth: usize, method: TraceMethod) -> TraceId {
    if depth == 0 {
        return TraceId::NONE;
    }
    let walking = match method {
        TraceMethod::FramePointers => true,
        TraceMethod::Auto => frame_pointers_work(),
        _ => false,
    };
    if walking {
        return capture_id_walking(depth, 0);
    }
    if let TraceMethod::Custom(walk) = method {
        if let Some(interning) = interning_walker(walk) {
            return interning(depth);
        }
    }
    let mut frames = Frames::new();
    capture_into(&mut frames, depth, method);
    intern_addresses(frames.addresses())
}

/// [`capture_id`] for an allocator entry point that passes `frame`, the frame pointer of one
/// of its functions between the capture and the exported function the program called (not
/// the exported function's own frame): with the caching unwinder
/// ([`unwind::capture_user_frames`]), the remembered capture is keyed by the program's first
/// frame, found from `frame`, so that it need not check the allocator's own frames
/// ([`unwind::capture_user_at`], which keeps captures of the two `lane`s apart: 0 for
/// allocations, 1 for frees); the trace is the one [`capture_id`] makes. Any other method is
/// [`capture_id`].
///
/// `asked`: [`remembered_id_at`] answered `None` for this very capture just before (same
/// `frame`, `lane`, `depth` and `method`, nothing written to the program's stack in between),
/// so the remembered capture is not asked a second time (the trace is the same either way:
/// an allocator's first capture, before it knows whether its method remembers, passes `true`
/// too and walks).
#[inline]
pub fn capture_id_at(
    frame: usize,
    lane: usize,
    depth: usize,
    method: TraceMethod,
    asked: bool,
) -> TraceId {
    #[cfg(target_arch = "x86_64")]
    if let TraceMethod::Custom(walk) = method {
        if depth != 0 && walk as usize == unwind::capture_user_frames as *const () as usize {
            return unwind::capture_user_at(frame, lane, depth, asked);
        }
    }
    let _ = (frame, lane, asked);
    capture_id(depth, method)
}

/// Whether captures of `depth` frames by `method` from an allocator entry are remembered
/// (the caching unwinder's, [`unwind::capture_user_at`]): then the depth to ask
/// [`remembered_id_at`] with (capped as the capture caps it). An allocator asks this once
/// (its settings do not change), not on every capture.
#[inline]
pub fn remembers_at(depth: usize, method: TraceMethod) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if let TraceMethod::Custom(walk) = method {
        if depth != 0 && walk as usize == unwind::capture_user_frames as *const () as usize {
            return Some(depth.min(MAX_FRAMES - 1));
        }
    }
    let _ = (depth, method);
    None
}

/// Whether [`remembered_id_at`] can answer: this object was found (by a capture), keeps frame
/// pointers, and the cross-check is off. An allocator asks [`remembered_id_at`] only after
/// this held once (the cross-check is turned on at start-up, before any capture).
#[inline]
pub fn remembered_ready() -> bool {
    #[cfg(target_arch = "x86_64")]
    return unwind::remembered_ready();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The part of [`capture_id_at`] that neither walks nor allocates (so an allocator may ask it
/// outside its re-entrancy guard), for captures by a method [`remembers_at`] accepts, with
/// the depth it gave: the remembered trace of the capture, when there is one; else, where the
/// capture's program frames were found, the trace `unanswered` makes from them (by
/// [`capture_id_unanswered`], inside the allocator's guard: the trace [`capture_id_at`] makes
/// with `asked`); `None` when [`capture_id_at`] must capture. Asked only once
/// [`remembered_ready`] held (`unwind::remembered_at` does not test it again).
#[inline(always)]
pub fn remembered_id_at(
    frame: usize,
    lane: usize,
    depth: usize,
    unanswered: impl FnOnce(Unanswered) -> TraceId,
) -> Option<TraceId> {
    #[cfg(target_arch = "x86_64")]
    return unwind::remembered_at(frame, lane, depth, unanswered);
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (frame, lane, depth, unanswered);
        None
    }
}

/// Where a capture's program frames start, as [`remembered_id_at`] found them
/// (`unwind::Unanswered`; on other architectures none is ever made).
#[cfg(target_arch = "x86_64")]
pub use unwind::Unanswered;
/// Where a capture's program frames start (never made on this architecture).
#[cfg(not(target_arch = "x86_64"))]
pub enum Unanswered {}

/// [`capture_id_at`] (with `asked`) of a capture [`remembered_id_at`] found unanswered
/// (`start`), by `method` to `depth` frames, the allocator's settings [`remembers_at`]
/// accepted: the same trace, walked from the program's first frame as found then.
#[cfg(target_arch = "x86_64")]
#[inline]
pub fn capture_id_unanswered(start: Unanswered, depth: usize, method: TraceMethod) -> TraceId {
    if let TraceMethod::Custom(walk) = method {
        if depth != 0 && walk as usize == unwind::capture_user_frames as *const () as usize {
            return unwind::capture_unanswered(start, depth);
        }
    }
    // Not the settings `remembers_at` accepted (they do not change): as `capture_id_at`.
    capture_id(depth, method)
}

/// [`capture_id_unanswered`] where no [`Unanswered`] is ever made.
#[cfg(not(target_arch = "x86_64"))]
pub fn capture_id_unanswered(start: Unanswered, depth: usize, method: TraceMethod) -> TraceId {
    let _ = (depth, method);
    match start {}
}

/// [`capture_id`] with [`TraceMethod::Auto`] once the process found that frame-pointer walks
/// work ([`walks_frame_pointers`]), for a capture of at least one frame: the same remembered
/// walk from its own frame as `capture_id` makes (the same trace), without the choice of
/// method (the Rust GPA's debug mode captures twice per allocation and free).
///
/// `lane` (0 or 1) moves the remembered walk this capture replays (chosen by `(fp >> 4) +
/// lane`): two capture sites whose captures start from frame pointers that choose the same
/// one (the Rust GPA's checked `alloc` and `dealloc`, each one call below the program's
/// frame) would otherwise evict each other's at every call.
#[inline(never)]
pub fn capture_id_walking_frames(depth: usize, lane: usize) -> TraceId {
    debug_assert!(depth != 0 && frame_pointers_work());
    capture_id_walking(depth, lane)
}

/// [`capture_id_walking_frames`] inlined into its caller: the walk starts from the caller's
/// frame (the same program frames; one allocator frame fewer at the top, which symbolization
/// drops anyway), and the replay of a remembered walk costs no call, no frame of its own and
/// no registers saved around it. For the Rust GPA's checked allocation and free, which
/// capture at every call; the walks that miss, and those made without a remembered walk,
/// stay out of line.
#[inline(always)]
pub fn capture_id_walking_frames_inline(depth: usize, lane: usize) -> TraceId {
    debug_assert!(depth != 0 && frame_pointers_work());
    capture_id_walking(depth, lane)
}

/// Whether [`TraceMethod::Auto`] walks frame pointers (it was found that they work), without
/// finding it out: `false` before the first capture.
#[inline(always)]
pub fn walks_frame_pointers() -> bool {
    FRAME_POINTERS.load(Ordering::Relaxed) == FP_WORK
}

/// [`capture_id`] by a frame-pointer walk, answered from the thread's remembered walks
/// ([`FpMemo`]) when the stack still holds what the last walk from the same frame read: a
/// frame then costs one 16-byte load compared against the memo, with no bounds checks, no
/// hash and no table lookup. Otherwise it walks, interns, and remembers the walk. Inlined
/// into [`capture_id`], so that a capture is one call: the walk starts from `capture_id`'s
/// frame.
#[inline(always)]
fn capture_id_walking(depth: usize, lane: usize) -> TraceId {
    let Some(((low, high), caches)) = stack_bounds_and_caches() else {
        return TraceId::NONE;
    };
    walk_remembered_in(Some(caches), frame_pointer(), low, high, depth, lane)
}

/// The trace of a frame-pointer walk from `fp` within `[low, high)` for a capture of `depth`
/// frames (keeping at most `depth + SKIP_BUDGET` return addresses), from the thread's
/// remembered walks when one matches.
#[inline(always)]
#[cfg(test)]
fn walk_remembered(fp: usize, low: usize, high: usize, depth: usize) -> TraceId {
    walk_remembered_in(caches(), fp, low, high, depth, 0)
}

/// `walk_remembered` (the tests' form) with the calling thread's `caches` (`None`: it has none), in the
/// remembered walk chosen by `fp` and `lane` (see [`capture_id_walking_frames`]).
#[inline(always)]
fn walk_remembered_in(
    caches: Option<&Caches>,
    fp: usize,
    low: usize,
    high: usize,
    depth: usize,
    lane: usize,
) -> TraceId {
    let traces = match caches {
        Some(caches) if depth <= MEMO_FRAMES - SKIP_BUDGET && !caches.memo_busy.get() => caches,
        // Too deep to remember, a capture interrupted (by a signal handler's allocation) in
        // the middle of its memo, or no caches: walk without a memo.
        _ => return walk_unremembered(fp, low, high, depth),
    };
    traces.memo_busy.set(true);
    let memo = &traces.memos[((fp >> 4) + lane) % MEMOS];
    let id = match memo.replay(fp, low, high, depth) {
        Some(id) => id,
        None => memo.walk(fp, low, high, depth),
    };
    traces.memo_busy.set(false);
    id
}

/// The trace of a walk from `fp` within `[low, high)` for a capture of `depth` frames, made
/// without a remembered walk. Out of line (and its frame buffer with it): the captures that
/// inline [`walk_remembered_in`] carry nothing of it.
#[cold]
#[inline(never)]
fn walk_unremembered(fp: usize, low: usize, high: usize, depth: usize) -> TraceId {
    let limit = (depth + SKIP_BUDGET).min(MAX_FRAMES);
    let mut frames = Frames::new();
    walk_chain(&mut frames, fp, low, high, limit);
    intern_addresses(frames.addresses())
}

/// Frames a remembered walk ([`FpMemo`]) holds: walks of up to 8 frames past the
/// [`SKIP_BUDGET`] (traces of up to 8 frames, the common depths) are remembered.
const MEMO_FRAMES: usize = 8 + SKIP_BUDGET;
/// Remembered walks per thread, chosen by the frame the capture starts from.
const MEMOS: usize = 8;

/// A remembered frame-pointer walk: the frame records it read, and the trace they made. The
/// same walk started again from the same frame pointer, on the same stack, at the same depth
/// and module epoch, reads the same records if every record still holds what it held then
/// (each link `[fp]` and return address `[fp + 8]`): the bound checks each record passed
/// pass again (the first record, `fp`, lies above the capture's stack pointer each time; each
/// later one is bounded by the one before and the top), so it makes the same trace, and
/// [`FpMemo::replay`] needs no checks beyond those compares. A record's two words are kept
/// side by side as they lie on the stack, so the replay compares a frame with one 16-byte
/// load, XOR and OR, and decides once at the end.
#[repr(C)]
struct FpMemo {
    /// The trace (0: nothing remembered).
    id: Cell<u32>,
    /// Return addresses kept (at most `MEMO_FRAMES`).
    len: Cell<u32>,
    /// The depth of the capture it was for (its limit: `depth + SKIP_BUDGET` frames).
    depth: Cell<u32>,
    /// The module epoch it was interned in.
    epoch: Cell<u32>,
    /// The top of the stack it was bounded by.
    high: Cell<usize>,
    /// The first frame record read (the frame pointer the walk started from); 0 while
    /// nothing is remembered (set last, once the walk is interned).
    start: Cell<usize>,
    /// The record after the last kept one (`records[len - 1]`'s link, or `start` when `len`
    /// is 0), whose return address was 0 when `stopped_at_zero`.
    last: Cell<usize>,
    /// It stopped at record `last` because that record's return address was 0 (else at the
    /// limit, or at a record out of bounds).
    stopped_at_zero: Cell<bool>,
    /// The records read, as they were: `records[i]` is `[link, return address]` of the `i`-th
    /// record (at `start`, then at each link in turn).
    records: [Record; MEMO_FRAMES],
}

/// One frame record as a remembered walk read it: `[fp]` (the link) and `[fp + 8]` (the
/// return address), aligned for one 16-byte load.
#[repr(C, align(16))]
struct Record(Cell<[usize; 2]>);

impl FpMemo {
    /// The remembered trace, if a walk from `fp` with these bounds for `depth` reads the same
    /// records now.
    #[inline(always)]
    fn replay(&self, fp: usize, low: usize, high: usize, depth: usize) -> Option<TraceId> {
        // `start` is 0 unless the memo holds a trace (`walk` sets it last: a walk that kept
        // no frame is not remembered), and `fp` is never 0, so an empty memo fails this first
        // compare. `low` need not equal the remembered walk's: that walk's first record was
        // `fp` itself, so `fp` passed its bound check then (`fp >= low` then); with `fp >=
        // low` now it passes again, and the later records are bounded by the record before
        // and `high` alone. (Frame pointers always lie above the stack pointer, `low`; `fp <
        // low` is a register that is not a frame pointer, in code built without them.)
        if self.start.get() != fp
            || fp < low
            || self.high.get() != high
            || self.depth.get() as usize != depth
            || self.epoch.get() != module_epoch()
        {
            return None;
        }
        let len = self.len.get() as usize;
        debug_assert!(len <= MEMO_FRAMES && self.id.get() != 0);
        // SAFETY: `walk` keeps `len <= MEMO_FRAMES`. The remembered walk checked each record
        // it read (`fp`, then each link it remembered) against `high` and the record before:
        // aligned, with `[record, record + 16)` inside `[fp, high)`, part of `[low, high)`,
        // the live part of this thread's stack (`fp >= low`, tested above); `last` too when
        // it stopped at a zero return address there.
        let same = unsafe { records_unchanged(fp, self.records.get_unchecked(..len)) }
            && (!self.stopped_at_zero.get()
                || unsafe { *((self.last.get() + 8) as *const usize) } == 0);
        same.then_some(TraceId(self.id.get()))
    }

    /// Walks from `fp` as [`walk_chain`] does for a capture of `depth` frames (`depth +
    /// SKIP_BUDGET <= MEMO_FRAMES`), interns the trace, and remembers the walk.
    #[inline(never)]
    fn walk(&self, mut fp: usize, low: usize, high: usize, depth: usize) -> TraceId {
        let limit = depth + SKIP_BUDGET;
        let top = high.saturating_sub(16);
        let mut bound = low;
        let mut frames = Frames::new();
        let mut stopped_at_zero = false;
        let start = fp;
        // Nothing remembered until the walk is interned (`replay` tests `start` first).
        self.start.set(0);
        while frames.len < limit.min(MEMO_FRAMES) {
            if fp < bound || fp % core::mem::align_of::<usize>() != 0 || fp > top {
                break;
            }
            // SAFETY: `fp` is aligned and `[fp, fp + 16)` lies in `[low, high)`, the part of
            // the stack between the stack pointer and the top, which is mapped and readable.
            let (link, return_address) =
                unsafe { (*(fp as *const usize), *((fp + 8) as *const usize)) };
            if return_address == 0 {
                stopped_at_zero = true;
                break;
            }
            self.records[frames.len].0.set([link, return_address]);
            frames.push(return_address);
            bound = fp + 16;
            fp = link;
        }
        let id = intern_addresses(frames.addresses());
        self.last.set(fp);
        self.len.set(frames.len as u32);
        self.depth.set(depth as u32);
        self.epoch.set(module_epoch());
        self.high.set(high);
        self.stopped_at_zero.set(stopped_at_zero);
        self.id.set(id.0);
        if id.0 != 0 {
            self.start.set(start);
        }
        id
    }
}

/// Whether the frame records at `first`, then at each remembered link in turn, still hold
/// the remembered `[link, return address]` pairs: every difference is ORed into one value,
/// tested once (no branch per frame; the addresses of the records come from the memo, so the
/// loads do not wait on each other).
///
/// # Safety
/// `first` and the links of `records` but the last are aligned addresses of 16 readable bytes.
#[inline(always)]
unsafe fn records_unchanged(first: usize, records: &[Record]) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_load_si128, _mm_loadu_si128, _mm_movemask_epi8,
            _mm_or_si128, _mm_setzero_si128, _mm_xor_si128,
        };
        // SAFETY: SSE2 is part of x86-64's base instruction set; each stack load reads the 16
        // bytes of a record, readable by the caller contract; each memo load reads a
        // 16-byte-aligned `Record` of this thread's memo.
        unsafe {
            let mut difference = _mm_setzero_si128();
            let mut record = first;
            for then in records {
                let now = _mm_loadu_si128(record as *const __m128i);
                let then_pair = _mm_load_si128(then.0.as_ptr() as *const __m128i);
                difference = _mm_or_si128(difference, _mm_xor_si128(now, then_pair));
                record = then.0.get()[0];
            }
            _mm_movemask_epi8(_mm_cmpeq_epi8(difference, _mm_setzero_si128())) == 0xFFFF
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut difference = 0usize;
        let mut record = first;
        for then in records {
            let [link, return_address] = then.0.get();
            // SAFETY: caller contract: `[record, record + 16)` is readable and aligned.
            let (now_link, now_return) =
                unsafe { (*(record as *const usize), *((record + 8) as *const usize)) };
            difference |= (now_link ^ link) | (now_return ^ return_address);
            record = link;
        }
        difference == 0
    }
}

/// A custom walker's interning twin (see [`register_interning_walker`]).
static INTERNING_WALKER: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

/// Registers `interning` as the twin of the custom walker `walk`: where a GPA is configured
/// with `TraceMethod::Custom(walk)`, [`capture_id`] calls `interning(depth)` instead, which
/// returns the interned trace of that depth itself (the C ABI's caching unwinder, which
/// remembers the ids of recent walks and skips the allocator's own frames). One twin per
/// process.
pub fn register_interning_walker(walk: fn(&mut [usize]) -> usize, interning: fn(usize) -> TraceId) {
    INTERNING_WALKER[1].store(interning as usize, Ordering::Relaxed);
    INTERNING_WALKER[0].store(walk as usize, Ordering::Release);
}

/// The interning twin registered for `walk`, if any.
#[inline]
fn interning_walker(walk: fn(&mut [usize]) -> usize) -> Option<fn(usize) -> TraceId> {
    let registered = INTERNING_WALKER[0].load(Ordering::Acquire);
    if registered == 0 || registered != walk as usize {
        return None;
    }
    let twin = INTERNING_WALKER[1].load(Ordering::Relaxed);
    // SAFETY: only `register_interning_walker` stores here, a `fn(usize) -> TraceId`, before
    // it publishes the walker it belongs to.
    Some(unsafe { core::mem::transmute::<usize, fn(usize) -> TraceId>(twin) })
}

/// Interns the return addresses of a trace (innermost first): its id, from the calling
/// thread's cache of recent traces or the shared table.
pub fn intern_addresses(addresses: &[usize]) -> TraceId {
    intern_addresses_inline(addresses)
}

/// [`intern_addresses`], inlined into the walk of the C ABI's check-mode captures
/// (`unwind::walk`: 2.7 million walks on espresso, each a call and its prologue fewer); the
/// shared table's probe stays out of line.
#[inline(always)]
pub(crate) fn intern_addresses_inline(addresses: &[usize]) -> TraceId {
    if addresses.is_empty() {
        return TraceId::NONE;
    }
    let (key, epoch) = key_of(addresses);
    let check = recent_check(addresses);
    let way = (key as usize >> 3) & (RECENT_WAYS - 1);
    let Some(caches) = caches() else {
        return intern_hashed(addresses, key, epoch);
    };
    let recent = &caches.recent[way];
    let (cached_key, cached_check, id) = recent.get();
    if cached_key == key && cached_check == check {
        return TraceId(id);
    }
    let id = intern_hashed(addresses, key, epoch);
    recent.set((key, check, id.0));
    id
}

/// Ways of a thread's cache of recently interned traces (64 KiB, its pages touched as ways are
/// used). A recursion's walks make many traces: with 1024 ways espresso's 2.67 million
/// check-mode walks reached the shared table 1.58 million times, with 4096 647,000 times
/// (-1.8% of its instructions), with 8192 339,000 (-2.4%, for 64 KiB more a thread).
const RECENT_WAYS: usize = 4096;
const _: () = assert!(RECENT_WAYS.is_power_of_two());

/// The innermost and outermost addresses of a non-empty trace, folded to 32 bits (the low
/// bits of both, where addresses differ, and the high bits in the top half).
#[inline(always)]
fn recent_check(addresses: &[usize]) -> u32 {
    let both = addresses[0] ^ addresses[addresses.len() - 1].rotate_left(17);
    (both ^ (both >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The trace store (the index and the frame arena) holds hashes and return addresses,
    /// gpa's bookkeeping: once a trace is interned, the leak scans' own state covers both
    /// mappings, so the exit scan never reads them as roots.
    #[test]
    fn the_trace_store_is_never_a_leak_scans_roots() {
        let id = intern_addresses(&[0x1234_5678, 0x2345_6789, 0x3456_789a]);
        assert!(id.is_some());
        let mut store = std::vec::Vec::new();
        for_each_store_mapping(&mut |start, end| store.push((start, end)));
        assert_eq!(
            store.len(),
            2,
            "{store:x?}: the index and the arena are mapped"
        );
        let own = crate::leakcheck::roots::OwnState::default().with_trace_store();
        for (start, end) in store {
            assert!(start < end);
            let mut outside = std::vec::Vec::new();
            own.for_each_outside(start - 4096, end + 4096, &mut |from, to| {
                outside.push((from, to))
            });
            assert_eq!(
                outside,
                [(start - 4096, start), (end, end + 4096)],
                "{start:#x}..{end:#x}"
            );
        }
    }

    /// A thread gets its caches when it prepares for captures, with its stack's bounds, and
    /// the leak scans' own state covers them (they were skipped as thread-locals before).
    #[test]
    fn a_prepared_threads_caches_are_never_a_leak_scans_roots() {
        std::thread::spawn(|| {
            assert!(
                thread_traces().caches.get().is_null(),
                "no caches before a capture"
            );
            prepare_thread();
            let caches = thread_traces().caches.get() as usize;
            assert!(caches != 0 && current_stack_bounds().is_some());
            let end = caches + core::mem::size_of::<Caches>();
            let own = crate::leakcheck::roots::OwnState::default().with_trace_caches();
            let mut outside = std::vec::Vec::new();
            own.for_each_outside(caches - 4096, end + 4096, &mut |from, to| {
                outside.push((from, to))
            });
            assert!(
                outside
                    .iter()
                    .all(|&(from, to)| to <= caches || from >= end),
                "{outside:x?} overlaps the caches at {caches:#x}..{end:#x}"
            );
            release_thread_caches();
            assert!(thread_traces().caches.get().is_null() && !thread_prepared());
        })
        .join()
        .unwrap();
    }

    #[inline(never)]
    fn site_a() -> TraceId {
        capture_id(6, TraceMethod::FramePointers)
    }

    #[test]
    fn same_site_interns_once_and_different_sites_differ() {
        prepare_thread();
        // One call site in a loop whose trip count the optimizer cannot see, so that a
        // release build cannot unroll it into three call sites (three different traces).
        let mut ids = std::vec::Vec::new();
        for _ in 0..core::hint::black_box(3) {
            ids.push(site_a());
        }
        let first = ids[0];
        assert!(first.is_some());
        assert!(ids.iter().all(|&id| id == first), "{ids:?}");
        let other = capture_id(6, TraceMethod::FramePointers);
        assert_ne!(first, other);
        assert!(frames_of(first).addresses().len() >= 2);
    }

    /// A remembered walk's trace from this function's frame, and a plain walk of the same
    /// records.
    #[inline(never)]
    fn remembered_and_plain() -> (TraceId, Frames) {
        let (low, high) = current_stack_bounds().unwrap();
        let fp = frame_pointer();
        let limit = 6 + SKIP_BUDGET;
        let id = walk_remembered(fp, low, high, 6);
        let mut plain = Frames::new();
        walk_chain(&mut plain, fp, low, high, limit);
        (id, plain)
    }

    /// Calls through [`via_a`] and [`via_b`]: each counts its own, so that the two bodies
    /// differ and the compiler cannot fold them into one function (rustc merges identical
    /// functions: in a release build the two traces were the same).
    static VIA_CALLS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];

    #[inline(never)]
    fn via_a() -> (TraceId, Frames) {
        VIA_CALLS[0].fetch_add(1, Ordering::Relaxed);
        core::hint::black_box(remembered_and_plain())
    }

    #[inline(never)]
    fn via_b() -> (TraceId, Frames) {
        VIA_CALLS[1].fetch_add(1, Ordering::Relaxed);
        core::hint::black_box(remembered_and_plain())
    }

    /// `via_a` and `via_b` have the same frame layout, so `remembered_and_plain` starts its
    /// walk from the same frame pointer through either: the remembered walk of one must not
    /// answer for the other (a return address differs), and every remembered answer must be
    /// the plain walk's.
    #[test]
    fn remembered_walks_see_a_changed_stack() {
        prepare_thread();
        const { assert!(6 + SKIP_BUDGET <= MEMO_FRAMES) };
        let mut ids = [[TraceId::NONE; 2]; 5];
        for round in ids.iter_mut() {
            for (id, via) in round
                .iter_mut()
                .zip([via_a as fn() -> (TraceId, Frames), via_b])
            {
                let (remembered, plain) = via();
                *id = remembered;
                assert!(plain.addresses().len() >= 3, "{:x?}", plain.addresses());
                assert_eq!(frames_of(remembered).addresses(), plain.addresses());
            }
        }
        assert_ne!(ids[0][0], ids[0][1]);
        assert!(ids.iter().all(|round| *round == ids[0]), "{ids:?}");
    }

    /// A capture through one of the two wrappers below, from one call site (a call through a
    /// function pointer), so that the two traces differ in their first frame only.
    #[inline(never)]
    fn capture_through(capture: fn(usize) -> TraceId) -> TraceId {
        core::hint::black_box(capture(6))
    }

    #[inline(never)]
    fn capture_auto(depth: usize) -> TraceId {
        core::hint::black_box(capture_id(depth, TraceMethod::Auto))
    }

    #[inline(never)]
    fn capture_shortcut(depth: usize) -> TraceId {
        core::hint::black_box(capture_id_walking_frames(depth, 0))
    }

    /// Both captures from one frame: the inlined shortcut's (walking from this frame) and
    /// `capture_id`'s (walking from its own, one frame further down), in lane `lane`.
    #[inline(never)]
    fn capture_inline_and_auto(lane: usize) -> (TraceId, TraceId) {
        let inline = capture_id_walking_frames_inline(6, lane);
        let auto = capture_id(6, TraceMethod::Auto);
        core::hint::black_box((inline, auto))
    }

    /// The inlined shortcut (the Rust GPA's checked allocation and free) makes `capture_id`'s
    /// trace but for `capture_id`'s own frame, remembered or not, in either lane.
    #[test]
    fn the_inlined_frame_pointer_shortcut_makes_the_same_trace() {
        prepare_thread();
        let _ = capture_id(6, TraceMethod::Auto);
        if !walks_frame_pointers() {
            eprintln!("skipped: this build has no frame pointers");
            return;
        }
        let mut rounds = std::vec::Vec::new();
        for round in 0..core::hint::black_box(6) {
            rounds.push(capture_inline_and_auto(round % 2));
        }
        // Each lane remembers its walk: the same traces each round.
        assert!(rounds.iter().all(|&ids| ids == rounds[0]), "{rounds:?}");
        let (inline, auto) = (frames_of(rounds[0].0), frames_of(rounds[0].1));
        let (inline, auto) = (inline.addresses(), auto.addresses());
        assert!(auto.len() >= 3, "{auto:x?}");
        // `auto` starts one frame further down; both keep at most as many frames, so
        // `inline` may hold one more at the far end.
        let n = auto.len() - 1;
        assert!(inline.len() >= n, "{inline:x?} {auto:x?}");
        assert_eq!(inline[..n], auto[1..]);
    }

    /// The Rust GPA's shortcut for `Auto` with frame pointers makes the trace `capture_id`
    /// makes (but for the frame of the function each was called from), remembered or not.
    #[test]
    fn the_frame_pointer_shortcut_makes_the_same_trace() {
        prepare_thread();
        // The first capture finds out whether frame pointers work.
        let _ = capture_id(6, TraceMethod::Auto);
        if !walks_frame_pointers() {
            eprintln!("skipped: this build has no frame pointers");
            return;
        }
        // One call site of `capture_through` for both ways: a loop over the two ways would be
        // unrolled in release builds into two call sites (two return addresses in the frame
        // above `capture_through`), so the way is chosen by an index in a loop whose count the
        // optimizer cannot see.
        let ways = [capture_auto as fn(usize) -> TraceId, capture_shortcut];
        let mut ids = std::vec::Vec::new();
        for round in 0..core::hint::black_box(6) {
            ids.push(capture_through(core::hint::black_box(ways[round % 2])));
        }
        // Each way remembers its walk: the same trace each round.
        assert!(ids.chunks(2).all(|round| round == &ids[..2]), "{ids:?}");
        let (auto, shortcut) = (frames_of(ids[0]), frames_of(ids[1]));
        let (auto, shortcut) = (auto.addresses(), shortcut.addresses());
        assert!(auto.len() >= 3, "{auto:x?}");
        assert_eq!(auto.len(), shortcut.len());
        assert_ne!(auto[0], shortcut[0]);
        assert_eq!(auto[1..], shortcut[1..]);
    }

    #[test]
    fn unwinder_captures_too() {
        let id = capture_id(4, TraceMethod::Unwinder);
        assert!(frames_of(id).addresses().len() >= 2);
    }

    #[test]
    fn a_new_module_epoch_gives_equal_stacks_a_new_entry() {
        let mut frames = Frames::new();
        for address in [0x1000_usize, 0x2000, 0x3000] {
            frames.push(address);
        }
        let before = intern(&frames);
        assert_eq!(intern(&frames), before);
        let ended = next_module_epoch();
        let after = intern(&frames);
        assert!(before.is_some() && after.is_some());
        assert_ne!(before, after);
        assert!(epoch_of(before) <= ended && epoch_of(after) > ended);
        assert_eq!(frames_of(after).addresses(), frames.addresses());
    }
}
