//! The recorder: what the profiler does with each allocation event, and where it keeps it.
//!
//! # Design
//! * **Per-thread buffers, one lock per batch.** An event (allocation, free, reallocation) is
//!   stamped with [`os::ticks`] and appended to the calling thread's [`Buffer`] for the
//!   session: a store of 32 bytes and a release store of the length, no lock, no shared
//!   counter. When the buffer is full, its owner takes the session's lock and *applies* the
//!   batch to the session's [`State`] (plain integers, one thread at a time). A thread keeps
//!   buffers for up to [`WAYS`] sessions in a thread-local cache; its destructor applies and
//!   releases them at thread exit.
//! * **Applying** an event updates the block map (address → site, size, birth time;
//!   [`super::blocks`]), the site's counters (found through a table indexed by the trace id the
//!   observer hook hands over), the global counters, the global peak, and the timeline
//!   ([`super::timeline`]). Each of these is a likely cache miss per event, so the apply loop
//!   prefetches the block map slot and the site index of the event [`PREFETCH`] places ahead.
//!   Everything the recorder allocates comes from the GPA's internal heap when a GPA is the
//!   global allocator (observers run inside the allocator).
//! * **Cross-thread frees.** A block allocated by thread A and freed by thread B may reach the
//!   state in either order. When a free (or reallocation) finds no block, every buffer of the
//!   session is drained first (the allocation was appended before its address could reach B,
//!   so an acquire load of A's length sees it) and the free is tried again; frees that miss
//!   during that drain wait in a short list until it ends. A free that still finds nothing is
//!   of a block allocated before the profile started (counted as `unmatched_frees`).
//! * **Address reuse seen out of order.** Buffers of different threads are applied in no
//!   common order, so the allocation of a new block at an address (thread C reused the slot)
//!   can be applied before the free of the old block there (still in thread B's buffer). The
//!   allocation then ends the old block at once and notes the address and the new block's
//!   birth in `ended_early`; the free, stamped before that birth, is matched to the note when
//!   it comes and leaves the new block alone. (Without the note the free would end the new
//!   block, and the new block's own free would find nothing: counted as unmatched.)
//! * **The values at the global peak** are captured lazily, as DHAT's are not: the state
//!   remembers the sequence number of the event that set the peak; the first time a site is
//!   touched after it, the site's current values (unchanged since the peak) are copied as its
//!   values at the peak. A site not touched since the peak still holds them. So the peak costs
//!   nothing per event, however many sites there are.
//!
//! # Invariants
//! * A buffer is linked in the list of the session it records for exactly while its `session`
//!   is that session; linking, unlinking and `drained` change only under that session's lock.
//! * Events `[0, len)` of a buffer are written; `[drained, len)` are not applied yet. Only the
//!   owner thread writes events and raises `len`; `len` goes back to 0 only under the lock.
//! * Sessions are never freed (a dispatcher in flight may still deliver to an ended
//!   observation); their tables are released when they stop.
//! * For every site, `peak_seen == peak_seq` or the site was not touched after event
//!   `peak_seq` (so its current values are its values at the peak).

use core::cell::{Cell, UnsafeCell};
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::blocks::{BlockMap, Live};
use super::timeline::{Recorded, Timeline};
use crate::gpa::lock::Lock;
use crate::gpa::observer::Observer;
use crate::gpa::{GeneralPurposeAllocator, InsideAllocator};
use crate::os;
use crate::trace::TraceId;

/// Events a thread buffers before applying them under the session's lock.
pub const CAPACITY: usize = 256;
/// Sessions a thread keeps a buffer for at once (more evict the least recent).
pub const WAYS: usize = 4;

const KIND_SHIFT: u32 = 62;
const TICKS_MASK: u64 = (1 << KIND_SHIFT) - 1;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Alloc = 0,
    Free = 1,
    Realloc = 2,
}

/// One allocation event: 32 bytes, the kind in the stamp's top bits.
#[derive(Clone, Copy)]
#[repr(C)]
struct Event {
    stamp: u64,
    address: usize,
    /// Allocation and reallocation: the (new) size.
    size: usize,
    /// Allocation: the trace id; reallocation: the new address.
    extra: usize,
}

const _: () = assert!(core::mem::size_of::<Event>() == 32);

impl Event {
    fn new(kind: Kind, address: usize, size: usize, extra: usize) -> Event {
        Event {
            stamp: (os::ticks() & TICKS_MASK) | ((kind as u64) << KIND_SHIFT),
            address,
            size,
            extra,
        }
    }

    fn kind(&self) -> Kind {
        match self.stamp >> KIND_SHIFT {
            0 => Kind::Alloc,
            1 => Kind::Free,
            _ => Kind::Realloc,
        }
    }

    fn time(&self) -> u64 {
        self.stamp & TICKS_MASK
    }
}

/// A thread's events for one session.
struct Buffer {
    /// The session it records for (null: none); see the module invariants.
    session: Cell<*const Session>,
    len: AtomicUsize,
    drained: Cell<usize>,
    next: Cell<*mut Buffer>,
    events: [UnsafeCell<MaybeUninit<Event>>; CAPACITY],
}

impl Buffer {
    fn fresh() -> *mut Buffer {
        let buffer = std::boxed::Box::new(Buffer {
            session: Cell::new(core::ptr::null()),
            len: AtomicUsize::new(0),
            drained: Cell::new(0),
            next: Cell::new(core::ptr::null_mut()),
            events: [const { UnsafeCell::new(MaybeUninit::uninit()) }; CAPACITY],
        });
        std::boxed::Box::into_raw(buffer)
    }

    /// Appends an event (owner thread only); true when the buffer is now full.
    fn push(&self, event: Event) -> bool {
        let len = self.len.load(Ordering::Relaxed);
        // SAFETY: only the owner writes events, at `len < CAPACITY` (it applies the buffer as
        // soon as it is full), and nobody reads index `len` before the store below.
        unsafe { (*self.events[len].get()).write(event) };
        self.len.store(len + 1, Ordering::Release);
        len + 1 == CAPACITY
    }
}

/// The calling thread's buffers, by session.
struct Local {
    ways: [Cell<(*const Session, *mut Buffer)>; WAYS],
    next_victim: Cell<usize>,
}

impl Drop for Local {
    fn drop(&mut self) {
        let _inside = InsideAllocator::enter();
        for way in &self.ways {
            let (_, buffer) = way.replace((core::ptr::null(), core::ptr::null_mut()));
            if !buffer.is_null() {
                detach(buffer);
                // SAFETY: made by `Buffer::fresh`, now unlinked from every session.
                drop(unsafe { std::boxed::Box::from_raw(buffer) });
            }
        }
    }
}

thread_local! {
    static LOCAL: Local = const {
        Local {
            ways: [const { Cell::new((core::ptr::null(), core::ptr::null_mut())) }; WAYS],
            next_victim: Cell::new(0),
        }
    };
}

/// Unlinks `buffer` from its session, applying what it still holds.
fn detach(buffer: *mut Buffer) {
    // SAFETY: the caller owns the buffer; it stays allocated during this call.
    let buffer_ref = unsafe { &*buffer };
    let session = buffer_ref.session.get();
    if session.is_null() {
        return;
    }
    // SAFETY: sessions are never freed.
    let session = unsafe { &*session };
    let mut state = session.state.lock();
    state.drain_buffer(buffer);
    state.unlink(buffer);
    buffer_ref.session.set(core::ptr::null());
    buffer_ref.len.store(0, Ordering::Relaxed);
    buffer_ref.drained.set(0);
}

/// Notes of blocks ended early kept at most (module docs, "Address reuse seen out of order").
const ENDED_EARLY_MAX: usize = 4096;

/// Events applied ahead of the one whose cache lines are fetched.
const PREFETCH: usize = 8;

/// Asks the CPU to bring `value`'s cache line in (a hint).
#[inline]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults; the address is a live reference.
    unsafe {
        core::arch::x86_64::_mm_prefetch(
            (value as *const T).cast::<i8>(),
            core::arch::x86_64::_MM_HINT_T0,
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// What a session records, fixed when it starts.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Frames per allocation trace.
    pub frames: usize,
    /// Blocks freed within this many nanoseconds are short-lived.
    pub short_lived_ns: u64,
}

/// One profiling session: an [`Observer`] of one GPA or of all.
pub struct Session {
    state: Lock<State>,
    stopped: AtomicBool,
    /// The settings it was started with.
    pub settings: Settings,
    /// `os::ticks()` and `os::monotonic_ns()` when it started.
    pub started: (u64, u64),
}

// SAFETY: the state is behind the lock; the rest is immutable or atomic.
unsafe impl Sync for Session {}

impl Session {
    /// A new session, never freed (see the module invariants).
    pub fn start(settings: Settings) -> &'static Session {
        let _inside = InsideAllocator::enter();
        let started = (os::ticks(), os::monotonic_ns());
        let rate = ticks_per_ns();
        let short_ticks = (settings.short_lived_ns as f64 * rate) as u64;
        std::boxed::Box::leak(std::boxed::Box::new(Session {
            state: Lock::new(State::new(started.0, short_ticks, rate)),
            stopped: AtomicBool::new(false),
            settings,
            started,
        }))
    }

    /// Records an allocation.
    #[inline]
    pub fn alloc(&self, address: usize, size: usize, trace: TraceId) {
        self.record(Event::new(Kind::Alloc, address, size, trace.0 as usize));
    }

    /// Records a free.
    #[inline]
    pub fn free(&self, address: usize) {
        self.record(Event::new(Kind::Free, address, 0, 0));
    }

    /// Records a reallocation (`old == new`: in place).
    #[inline]
    pub fn realloc(&self, old: usize, new: usize, size: usize) {
        self.record(Event::new(Kind::Realloc, old, size, new));
    }

    fn record(&self, event: Event) {
        if self.stopped.load(Ordering::Relaxed) {
            return;
        }
        let this: *const Session = self;
        let recorded = LOCAL.try_with(|local| {
            let buffer = local_buffer(local, this);
            // SAFETY: the way's buffer is owned by this thread and linked to `self`.
            if unsafe { (*buffer).push(event) } {
                let mut state = self.state.lock();
                state.drain_buffer(buffer);
                // SAFETY: as above; reset under the lock (module invariants).
                unsafe {
                    (*buffer).len.store(0, Ordering::Relaxed);
                    (*buffer).drained.set(0);
                }
            }
        });
        if recorded.is_err() {
            // Thread-local storage is gone (thread exit): apply directly.
            let _inside = InsideAllocator::enter();
            self.state.lock().apply(event);
        }
    }

    /// Whether the session was stopped.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// Applies every buffered event and copies the counters out; with `stop`, the session
    /// ends and its tables are released.
    pub fn collect(&self, stop: bool) -> Collected {
        let _inside = InsideAllocator::enter();
        let mut state = self.state.lock();
        if state.stopped {
            return Collected::default();
        }
        state.drain_all();
        let now = (os::ticks(), os::monotonic_ns());
        let collected = state.collected(self.started, now);
        if stop {
            self.stopped.store(true, Ordering::Relaxed);
            state.stopped = true;
            state.release_tables();
        }
        collected
    }

    /// Takes the session's lock (a `pthread_atfork` prepare handler); pair with
    /// [`Session::unlock_after_fork`].
    pub fn lock_for_fork(&self) {
        self.state.acquire();
    }

    /// Releases the lock taken by [`Session::lock_for_fork`].
    ///
    /// # Safety
    /// `lock_for_fork` was called (in this process, or in the parent before `fork`), and the
    /// lock was not released since.
    pub unsafe fn unlock_after_fork(&self) {
        // SAFETY: caller contract.
        unsafe { self.state.release() };
    }
}

impl Observer for Session {
    fn on_alloc(
        &self,
        _gpa: &GeneralPurposeAllocator,
        ptr: NonNull<u8>,
        size: usize,
        _align: usize,
        trace: TraceId,
    ) {
        self.alloc(ptr.as_ptr() as usize, size, trace);
    }

    fn on_free(&self, _gpa: &GeneralPurposeAllocator, ptr: NonNull<u8>, _size: usize) {
        self.free(ptr.as_ptr() as usize);
    }

    fn on_realloc(
        &self,
        _gpa: &GeneralPurposeAllocator,
        old: NonNull<u8>,
        new: NonNull<u8>,
        _old_size: usize,
        new_size: usize,
    ) {
        self.realloc(old.as_ptr() as usize, new.as_ptr() as usize, new_size);
    }
}

/// The calling thread's buffer for `session`, made or taken over from another session.
fn local_buffer(local: &Local, session: *const Session) -> *mut Buffer {
    for way in &local.ways {
        let (owner, buffer) = way.get();
        if owner == session {
            return buffer;
        }
    }
    let index = match local.ways.iter().position(|way| way.get().0.is_null()) {
        Some(free) => free,
        None => {
            let victim = local.next_victim.get();
            local.next_victim.set((victim + 1) % WAYS);
            victim
        }
    };
    let (_, mut buffer) = local.ways[index].get();
    if buffer.is_null() {
        buffer = Buffer::fresh();
    } else {
        detach(buffer);
    }
    // SAFETY: sessions are never freed; the buffer is this thread's and unlinked.
    unsafe {
        let mut state = (*session).state.lock();
        (*buffer).session.set(session);
        state.link(buffer);
    }
    local.ways[index].set((session, buffer));
    buffer
}

/// Ticks per nanosecond, measured over about 50 µs.
pub fn ticks_per_ns() -> f64 {
    let (t0, n0) = (os::ticks(), os::monotonic_ns());
    let (mut t1, mut n1) = (t0, n0);
    while n1.saturating_sub(n0) < 50_000 {
        core::hint::spin_loop();
        t1 = os::ticks();
        n1 = os::monotonic_ns();
    }
    (t1.saturating_sub(t0)) as f64 / (n1.saturating_sub(n0)).max(1) as f64
}

/// One allocation site (one distinct allocation trace) and its counters.
#[derive(Clone, Debug, Default)]
pub struct SiteCounters {
    /// The site's trace.
    pub trace: TraceId,
    /// Blocks (and reallocations) and bytes allocated in total.
    pub total: (u64, u64),
    /// Blocks and bytes live now.
    pub current: (u64, u64),
    /// Blocks and bytes when this site's live bytes were highest.
    pub max: (u64, u64),
    /// Blocks and bytes live at the global peak (see `peak_seen`).
    pub at_peak: (u64, u64),
    pub(super) peak_seen: u64,
    pub(super) last_touch: u64,
    /// Blocks freed.
    pub freed: u64,
    /// Freed blocks whose lifetime was under the short-lived threshold.
    pub short_lived: u64,
    /// Lifetimes of freed blocks, in ticks: total, shortest, longest.
    pub lifetime: (u64, u64, u64),
    /// Lifetimes of the blocks still live, up to the collection, in ticks.
    pub live_lifetime: u64,
    pub(super) recorded: u64,
    pub(super) dirty: bool,
}

/// The counters of a session at one moment.
#[derive(Clone, Debug, Default)]
pub struct Collected {
    /// Every site, in the order first seen.
    pub sites: std::vec::Vec<SiteCounters>,
    /// Blocks and bytes allocated in total (reallocations count as blocks, like DHAT).
    pub total: (u64, u64),
    /// Blocks and bytes live at the end.
    pub end: (u64, u64),
    /// Blocks and bytes at the global peak, and its time in nanoseconds from the start.
    pub peak: (u64, u64, u64),
    /// Nanoseconds from the start to the collection.
    pub duration_ns: u64,
    /// Ticks per nanosecond over the session.
    pub ticks_per_ns: f64,
    /// The timeline, times in nanoseconds from the start.
    pub timeline: Recorded,
    /// Frees and reallocations of blocks the session never saw allocated.
    pub unmatched_frees: u64,
}

struct BufferList(*mut Buffer);

// SAFETY: the list is only walked and changed under the session's lock.
unsafe impl Send for BufferList {}

/// A session's tables (under its lock).
pub(super) struct State {
    buffers: BufferList,
    blocks: BlockMap,
    /// Trace id → site index + 1 (0: no site yet).
    site_index: std::vec::Vec<u32>,
    pub(super) sites: std::vec::Vec<SiteCounters>,
    total: (u64, u64),
    pub(super) current: (u64, u64),
    pub(super) peak: (u64, u64),
    peak_ticks: u64,
    peak_seq: u64,
    seq: u64,
    timeline: Timeline,
    draining: bool,
    deferred: std::vec::Vec<Event>,
    /// Blocks ended by an allocation applied before their free: (address, birth of the block
    /// that took the address); see "Address reuse seen out of order" in the module docs.
    ended_early: std::vec::Vec<(usize, u64)>,
    unmatched_frees: u64,
    short_ticks: u64,
    stopped: bool,
}

impl State {
    fn new(start_ticks: u64, short_ticks: u64, ticks_per_ns: f64) -> State {
        State {
            buffers: BufferList(core::ptr::null_mut()),
            blocks: BlockMap::new(),
            site_index: std::vec::Vec::new(),
            sites: std::vec::Vec::new(),
            total: (0, 0),
            current: (0, 0),
            peak: (0, 0),
            peak_ticks: start_ticks,
            peak_seq: 0,
            seq: 0,
            timeline: Timeline::new(start_ticks, ticks_per_ns),
            draining: false,
            deferred: std::vec::Vec::new(),
            ended_early: std::vec::Vec::new(),
            unmatched_frees: 0,
            short_ticks,
            stopped: false,
        }
    }

    fn link(&mut self, buffer: *mut Buffer) {
        // SAFETY: the caller owns the buffer (module invariants).
        unsafe { (*buffer).next.set(self.buffers.0) };
        self.buffers.0 = buffer;
    }

    fn unlink(&mut self, buffer: *mut Buffer) {
        let mut link: *mut *mut Buffer = &mut self.buffers.0;
        // SAFETY: every linked buffer is live (only unlinked buffers are freed).
        unsafe {
            while !(*link).is_null() {
                if *link == buffer {
                    *link = (*buffer).next.get();
                    return;
                }
                link = (**link).next.as_ptr();
            }
        }
    }

    /// Applies the events of `buffer` not applied yet.
    fn drain_buffer(&mut self, buffer: *mut Buffer) {
        // SAFETY: linked buffers are live; the lock is held by the caller.
        let buffer = unsafe { &*buffer };
        let end = buffer.len.load(Ordering::Acquire);
        // SAFETY: events below `len` were written before the release store of `len`.
        let event_at = |index: usize| unsafe { (*buffer.events[index].get()).assume_init() };
        // `drained` is read again each time: applying an event may drain this buffer further
        // (a free that found no block drains every buffer).
        loop {
            let next = buffer.drained.get();
            if next >= end {
                break;
            }
            if next + PREFETCH < end {
                self.prefetch(&event_at(next + PREFETCH));
            }
            let event = event_at(next);
            buffer.drained.set(next + 1);
            self.apply(event);
        }
    }

    /// Applies every buffer's pending events.
    pub(super) fn drain_all(&mut self) {
        let mut buffer = self.buffers.0;
        while !buffer.is_null() {
            self.drain_buffer(buffer);
            // SAFETY: linked buffers are live.
            buffer = unsafe { (*buffer).next.get() };
        }
    }

    /// Asks for the cache lines an event will touch: its block's slot, its site's index.
    #[inline]
    fn prefetch(&self, event: &Event) {
        self.blocks.prefetch(event.address);
        if event.kind() == Kind::Alloc {
            if let Some(index) = self.site_index.get(event.extra) {
                prefetch(index);
            }
        }
    }

    fn apply(&mut self, event: Event) {
        if self.stopped {
            return;
        }
        let found = match event.kind() {
            Kind::Alloc => {
                self.alloc(
                    event.address,
                    event.size,
                    TraceId(event.extra as u32),
                    event.time(),
                );
                true
            }
            Kind::Free => {
                self.take_ended_early(event.address, event.time())
                    || self.retire(event.address, event.time(), None)
            }
            Kind::Realloc => self.realloc(event, None),
        };
        if !found {
            self.missing(event);
        }
    }

    /// A free or reallocation found no block: see "Cross-thread frees" in the module docs.
    #[cold]
    fn missing(&mut self, event: Event) {
        if self.draining {
            self.deferred.push(event);
            return;
        }
        self.draining = true;
        self.drain_all();
        self.draining = false;
        self.deferred.insert(0, event);
        for event in core::mem::take(&mut self.deferred) {
            let found = match event.kind() {
                Kind::Free => {
                    self.retire(event.address, event.time(), Some(event.time()))
                        || self.take_ended_early(event.address, event.time())
                }
                Kind::Realloc => self.realloc(event, Some(event.time())),
                Kind::Alloc => true,
            };
            if !found {
                self.unmatched_frees += 1;
            }
        }
    }

    fn site_for(&mut self, trace: TraceId) -> usize {
        let id = trace.0 as usize;
        if id >= self.site_index.len() {
            self.site_index.resize(id + 1, 0);
        }
        let index = self.site_index[id];
        if index != 0 {
            return index as usize - 1;
        }
        self.sites.push(SiteCounters {
            trace,
            peak_seen: u64::MAX,
            lifetime: (0, u64::MAX, 0),
            ..SiteCounters::default()
        });
        self.site_index[id] = self.sites.len() as u32;
        self.sites.len() - 1
    }

    /// Before a site changes: capture its values at the peak (module docs), mark it dirty.
    fn touch(&mut self, index: usize) {
        let site = &mut self.sites[index];
        if site.last_touch <= self.peak_seq && site.peak_seen != self.peak_seq {
            site.at_peak = site.current;
            site.peak_seen = self.peak_seq;
        }
        site.last_touch = self.seq;
        if !site.dirty {
            site.dirty = true;
            self.timeline.mark_dirty(index as u32);
        }
    }

    fn grew(&mut self, index: usize, time: u64) {
        let site = &mut self.sites[index];
        if site.current.1 > site.max.1 {
            site.max = site.current;
        }
        if self.current.1 > self.peak.1 {
            self.peak = self.current;
            self.peak_seq = self.seq;
            self.peak_ticks = time;
        }
    }

    fn alloc(&mut self, address: usize, size: usize, trace: TraceId, time: u64) {
        let index = self.site_for(trace);
        let fresh = Live {
            site: index as u32,
            size,
            born: time,
        };
        let mut displaced = None;
        if let Some(old) = self.blocks.insert(address, fresh) {
            if old.born > time {
                // This allocation is the older one, applied after a newer block's at the same
                // address: its block ended before that one began. Keep the newer block.
                self.blocks.insert(address, old);
                displaced = Some(old.born);
            } else {
                // A free not applied yet (or never seen): the old block ends here.
                self.end_block(old, time);
                self.note_ended_early(address, time);
            }
        }
        self.seq += 1;
        self.touch(index);
        let size64 = size as u64;
        let site = &mut self.sites[index];
        site.total.0 += 1;
        site.total.1 += size64;
        site.current.0 += 1;
        site.current.1 += size64;
        self.total.0 += 1;
        self.total.1 += size64;
        self.current.0 += 1;
        self.current.1 += size64;
        self.grew(index, time);
        if let Some(newer) = displaced {
            self.end_block(fresh, time);
            self.note_ended_early(address, newer);
        }
        self.sample(time);
    }

    /// Frees the block at `address`; false when there is none (or, with `not_before`, when
    /// the block there was born after that time: a newer block at the same address).
    fn retire(&mut self, address: usize, time: u64, not_before: Option<u64>) -> bool {
        let Some(live) = self.blocks.remove(address) else {
            return false;
        };
        if not_before.is_some_and(|limit| live.born > limit) {
            self.blocks.insert(address, live);
            return false;
        }
        self.end_block(live, time);
        true
    }

    /// Accounts for the end of a block already removed from the map.
    fn end_block(&mut self, live: Live, time: u64) {
        self.seq += 1;
        let index = live.site as usize;
        self.touch(index);
        let size = live.size as u64;
        let lifetime = time.saturating_sub(live.born);
        let short = lifetime < self.short_ticks;
        let site = &mut self.sites[index];
        site.current.0 -= 1;
        site.current.1 -= size;
        site.freed += 1;
        site.short_lived += u64::from(short);
        site.lifetime.0 = site.lifetime.0.saturating_add(lifetime);
        site.lifetime.1 = site.lifetime.1.min(lifetime);
        site.lifetime.2 = site.lifetime.2.max(lifetime);
        self.current.0 -= 1;
        self.current.1 -= size;
        self.sample(time);
    }

    /// A reallocation: the block keeps its site and birth; it counts as one more block of
    /// its new size in the totals (DHAT's rule). False when the old block is unknown.
    fn realloc(&mut self, event: Event, not_before: Option<u64>) -> bool {
        let (old, new, size, time) = (event.address, event.extra, event.size, event.time());
        let Some(live) = self.blocks.remove(old) else {
            return false;
        };
        if not_before.is_some_and(|limit| live.born > limit) {
            self.blocks.insert(old, live);
            return false;
        }
        self.seq += 1;
        let index = live.site as usize;
        self.touch(index);
        let (before, after) = (live.size as u64, size as u64);
        let site = &mut self.sites[index];
        site.total.0 += 1;
        site.total.1 += after;
        site.current.1 = site.current.1 - before + after;
        self.total.0 += 1;
        self.total.1 += after;
        self.current.1 = self.current.1 - before + after;
        self.grew(index, time);
        if let Some(stale) = self.blocks.insert(new, Live { size, ..live }) {
            self.end_block(stale, time);
            self.note_ended_early(new, time);
        }
        self.sample(time);
        true
    }

    /// Notes that a block at `address` was ended early, displaced by one born at `born`, so
    /// that its free is matched when it comes (module docs).
    fn note_ended_early(&mut self, address: usize, born: u64) {
        if self.ended_early.len() >= ENDED_EARLY_MAX {
            // Frees that never come (a block freed by a path the observer does not see):
            // forget the oldest note rather than grow without bound.
            self.ended_early.remove(0);
        }
        self.ended_early.push((address, born));
    }

    /// Whether a free at `address` stamped `time` is that of a block already ended early:
    /// one displaced by a block born after the free. Consumes the note.
    fn take_ended_early(&mut self, address: usize, time: u64) -> bool {
        if self.ended_early.is_empty() {
            return false;
        }
        let found = self
            .ended_early
            .iter()
            .position(|&(at, born)| at == address && time < born);
        if let Some(index) = found {
            self.ended_early.swap_remove(index);
        }
        found.is_some()
    }

    fn sample(&mut self, time: u64) {
        if self.timeline.due(time, self.current.1, self.peak.1) {
            self.timeline
                .take(time, self.current, self.peak.1, &mut self.sites);
        }
    }

    fn collected(&mut self, started: (u64, u64), now: (u64, u64)) -> Collected {
        let elapsed_ticks = now.0.saturating_sub(started.0);
        let elapsed_ns = now.1.saturating_sub(started.1);
        let rate = if elapsed_ns >= 1_000_000 && elapsed_ticks > 0 {
            elapsed_ticks as f64 / elapsed_ns as f64
        } else {
            ticks_per_ns()
        };
        let to_ns = |ticks: u64| (ticks as f64 / rate) as u64;
        let mut sites = self.sites.clone();
        for site in &mut sites {
            if site.peak_seen != self.peak_seq {
                site.at_peak = site.current;
            }
            site.live_lifetime = 0;
        }
        for live in self.blocks.values() {
            let site = &mut sites[live.site as usize];
            site.live_lifetime = site
                .live_lifetime
                .saturating_add(now.0.saturating_sub(live.born));
        }
        let timeline = self
            .timeline
            .finish(now.0, self.current, &self.sites, started.0, &to_ns);
        Collected {
            sites,
            total: self.total,
            end: self.current,
            peak: (
                self.peak.0,
                self.peak.1,
                to_ns(self.peak_ticks.saturating_sub(started.0)),
            ),
            duration_ns: elapsed_ns,
            ticks_per_ns: rate,
            timeline,
            unmatched_frees: self.unmatched_frees,
        }
    }

    fn release_tables(&mut self) {
        self.blocks = BlockMap::new();
        self.site_index = std::vec::Vec::new();
        self.sites = std::vec::Vec::new();
        self.deferred = std::vec::Vec::new();
        self.ended_early = std::vec::Vec::new();
        self.timeline = Timeline::new(0, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State::new(os::ticks(), 0, 1.0)
    }

    /// Thread A allocates X, thread B frees it, thread C allocates a new block at X and
    /// frees it: C's allocation is applied before B's free (different buffers).
    #[test]
    fn a_reused_address_whose_old_free_is_applied_late_is_matched() {
        const X: usize = 0x1000;
        let alloc_a = Event::new(Kind::Alloc, X, 100, 1);
        let free_b = Event::new(Kind::Free, X, 0, 0);
        let alloc_c = Event::new(Kind::Alloc, X, 200, 2);
        let free_c = Event::new(Kind::Free, X, 0, 0);
        // Every order in which each thread's own events keep theirs, and C's free follows C's
        // allocation.
        let orders: [[&Event; 4]; 6] = [
            [&alloc_a, &free_b, &alloc_c, &free_c],
            [&alloc_a, &alloc_c, &free_b, &free_c],
            [&alloc_a, &alloc_c, &free_c, &free_b],
            [&alloc_c, &alloc_a, &free_b, &free_c],
            [&alloc_c, &alloc_a, &free_c, &free_b],
            [&alloc_c, &free_c, &alloc_a, &free_b],
        ];
        for (n, order) in orders.iter().enumerate() {
            let mut state = state();
            for event in order {
                state.apply(**event);
            }
            assert_eq!(state.unmatched_frees, 0, "order {n}");
            assert_eq!(state.current, (0, 0), "order {n}");
            assert_eq!(state.total, (2, 300), "order {n}");
            assert!(state.ended_early.is_empty(), "order {n}");
        }
    }
}
