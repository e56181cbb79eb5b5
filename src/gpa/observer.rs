//! Observers of allocation events: the one hook through which tools above the GPA (the leak
//! checks of [`crate::testing`], a heap profiler) see allocations, frees and reallocations,
//! without the GPA knowing them.
//!
//! # Use
//! Implement [`Observer`] on a `'static` value and register it, either for one GPA instance
//! ([`GeneralPurposeAllocator::observe`]) or for every GPA of the process ([`observe_all`]:
//! what a tool that does not know which instance is the `#[global_allocator]` needs). The
//! returned [`Observation`] ends it ([`Observation::end`]). Events come from every entry point
//! of the GPA: `GlobalAlloc` (`alloc`, `alloc_zeroed`, `dealloc`, `realloc`), `RawAllocator`
//! (`alloc`, `resize`, `remap`, `free`, so also the `Allocator` handle and `allocator_api2`),
//! and the C ABI's `free_unsized`/`realloc_unsized`.
//!
//! # Design
//! * **The gate**: `ACTIVE` is 1 plus the number of registrations in the process. Each entry
//!   point tests it with one relaxed load and a branch that is never taken while nothing is
//!   registered (the whole cost then); when set, a `#[cold]` dispatcher does the rest. The C
//!   ABI's fastest paths fold the test into compares they make anyway: `free` adds the word to
//!   the address it compares with the thread's remembered segments (the 1 is the entries'
//!   tag, `heap::is_own_c_segment`), and `malloc` compares the size with limits that drop to
//!   0 while anything is registered (`c_paths::observers_changed`).
//! * **Registrations are immutable and never freed**: (observer, watched instance, trace
//!   frames) is written once into a `Registration` from the internal heap, and a registry
//!   slot holds a pointer to it. A dispatcher in flight may thus still read a registration
//!   that was just ended (it delivers at most the events that had started); nothing it reads
//!   is ever freed or rewritten. Identical registrations are interned (an append-only list),
//!   so registering and ending the same observer repeatedly uses no more memory.
//! * **Re-entrancy**: observers run with the thread marked inside the allocator
//!   (`InsideAllocator`): what they allocate through a GPA's `GlobalAlloc` entry
//!   points comes from the internal heap and raises no event, so an observer never observes
//!   itself. Events of requests made while the thread is already inside the allocator (the
//!   GPA's own reports, an observer's bookkeeping) and frees of internal-heap blocks are not
//!   delivered.
//! * **One trace per event**: when a registration asks for trace frames, the dispatcher
//!   captures the allocation's stack once (the deepest any matching registration asked for,
//!   with the GPA's [`TraceMethod`](crate::trace::TraceMethod)) and hands the same
//!   [`TraceId`] to all.
//!
//! # Ordering
//! `on_free` runs *before* the block is freed and `on_alloc` *after* it is allocated, so for
//! one address the free event of a block precedes the allocation event of the next block
//! there. `on_realloc` runs after the new block exists and, when the contents were copied,
//! before the old block is freed; when a large block's mapping was moved (`mremap`), the old
//! address is already unmapped.
//!
//! # Invariants
//! * `ACTIVE` equals 1 plus the number of non-null slots of `SLOTS` (both changed under
//!   `REGISTRY`, which also tells `c_paths` after each change); every non-null slot lies
//!   below `USED`.
//! * A `Registration` is never freed or modified after it is published.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use super::heap::{self, InsideAllocator};
use super::lock::Lock;
use super::{internal, GeneralPurposeAllocator};
use crate::trace::{self, TraceId};

/// What a tool implements to see a GPA's allocation events. Methods run on the allocating (or
/// freeing) thread, with the thread marked inside the allocator (see
/// [`observer`](crate::observer)); they must not panic. Sizes are the sizes the caller asked for (for a C `free`, the block's
/// size as the GPA knows it).
///
/// Example: the [`observer`](crate::observer) module documentation.
pub trait Observer: Sync {
    /// A block of `size` bytes aligned to `align` was allocated at `ptr` by `gpa`. `trace` is
    /// the allocation's stack when the registration asked for frames ([`TraceId::NONE`]
    /// otherwise, or when the trace table is full).
    fn on_alloc(
        &self,
        gpa: &GeneralPurposeAllocator,
        ptr: NonNull<u8>,
        size: usize,
        align: usize,
        trace: TraceId,
    );

    /// The block of `size` bytes at `ptr` is about to be freed.
    fn on_free(&self, gpa: &GeneralPurposeAllocator, ptr: NonNull<u8>, size: usize);

    /// The block at `old` (`old_size` bytes) now lives at `new` with `new_size` bytes
    /// (`old == new`: resized in place).
    fn on_realloc(
        &self,
        gpa: &GeneralPurposeAllocator,
        old: NonNull<u8>,
        new: NonNull<u8>,
        old_size: usize,
        new_size: usize,
    );
}

/// How many registrations may be active at once in a process.
///
/// Example: the [`observer`](crate::observer) module documentation.
pub const MAX_OBSERVATIONS: usize = 16;

/// Registering failed: [`MAX_OBSERVATIONS`] registrations are active already.
///
/// Example: the [`observer`](crate::observer) module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyObservers;

impl core::fmt::Display for TooManyObservers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "gpa: at most {MAX_OBSERVATIONS} allocation observers may be registered at once"
        )
    }
}

impl std::error::Error for TooManyObservers {}

/// An active registration; [`Observation::end`] ends it (dropping it does not, so that a
/// process-long observation needs no owner).
///
/// Example: the [`observer`](crate::observer) module documentation.
#[derive(Debug)]
#[must_use = "an observation lasts until `end` is called; keep it to end it"]
pub struct Observation {
    slot: usize,
    registration: *const Registration,
}

// SAFETY: the handle only names a slot and a never-freed, immutable registration.
unsafe impl Send for Observation {}
// SAFETY: as above.
unsafe impl Sync for Observation {}

impl Observation {
    /// Ends the registration: events that start afterwards are not delivered to it (one that
    /// is being dispatched on another thread may still arrive).
    pub fn end(self) {
        let _registry = REGISTRY.lock();
        let slot = &SLOTS[self.slot];
        if slot.load(Ordering::Relaxed).cast_const() == self.registration {
            slot.store(core::ptr::null_mut(), Ordering::Release);
            closed();
        }
    }
}

/// Which GPAs a registration watches: every one, or the instance with this id.
const EVERY_GPA: u64 = 0;

struct Registration {
    observer: &'static dyn Observer,
    gpa: u64,
    frames: usize,
    /// The next interned registration (the list only grows).
    next: *const Registration,
}

impl Registration {
    fn same(&self, observer: &'static dyn Observer, gpa: u64, frames: usize) -> bool {
        // Compares the data address and the vtable: a vtable duplicated across codegen units
        // only costs another interned record.
        #[allow(ambiguous_wide_pointer_comparisons)]
        let same_observer = core::ptr::eq(self.observer, observer);
        same_observer && self.gpa == gpa && self.frames == frames
    }
}

struct Interned {
    head: *const Registration,
}

// SAFETY: the list is only read and extended under the lock; its records are immutable.
unsafe impl Send for Interned {}

/// 1 plus the registrations active now, in the whole process (the entry points' gate).
pub static ACTIVE: AtomicUsize = AtomicUsize::new(1);

/// A registration was added (under `REGISTRY`).
fn opened() {
    let gate = ACTIVE.fetch_add(1, Ordering::Relaxed) + 1;
    super::c_paths::observers_changed(gate);
}

/// A registration was ended (under `REGISTRY`).
fn closed() {
    let gate = ACTIVE.fetch_sub(1, Ordering::Relaxed) - 1;
    super::c_paths::observers_changed(gate);
}
static SLOTS: [AtomicPtr<Registration>; MAX_OBSERVATIONS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_OBSERVATIONS];
/// Slots `[0, USED)` may hold a registration (it only grows, under `REGISTRY`): events look
/// at those only.
static USED: AtomicUsize = AtomicUsize::new(0);
/// Serializes registration changes and owns the interning list.
static REGISTRY: Lock<Interned> = Lock::new(Interned {
    head: core::ptr::null(),
});

/// Whether any observer is registered (one relaxed load): the entry points' only cost.
#[inline(always)]
pub(super) fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed) != 1
}

/// 1 plus the number of registrations active now (1: none), for an entry point that folds
/// the gate into a compare it makes anyway (`heap::is_own_c_segment`).
#[inline(always)]
pub(super) fn gate() -> usize {
    ACTIVE.load(Ordering::Relaxed)
}

/// Registers `observer` for the allocation events of every GPA instance in the process, with
/// allocation traces of `trace_frames` frames (0: none). Registering the same observer for
/// every GPA and for one instance delivers that instance's events twice.
///
/// Example: the [`observer`](crate::observer) module documentation.
pub fn observe_all(
    observer: &'static dyn Observer,
    trace_frames: usize,
) -> Result<Observation, TooManyObservers> {
    register(observer, EVERY_GPA, trace_frames)
}

impl GeneralPurposeAllocator {
    /// Registers `observer` for this instance's allocation events, with allocation traces of
    /// `trace_frames` frames (0: none). The registration ends with [`Observation::end`], or
    /// when this GPA is torn down (`deinit`, drop), after which it behaves as a fresh instance.
    pub fn observe(
        &self,
        observer: &'static dyn Observer,
        trace_frames: usize,
    ) -> Result<Observation, TooManyObservers> {
        register(observer, self.id(), trace_frames)
    }
}

fn register(
    observer: &'static dyn Observer,
    gpa: u64,
    frames: usize,
) -> Result<Observation, TooManyObservers> {
    let frames = frames.min(trace::MAX_FRAMES - trace::SKIP_BUDGET);
    let mut interned = REGISTRY.lock();
    let Some(slot) = SLOTS
        .iter()
        .position(|slot| slot.load(Ordering::Relaxed).is_null())
    else {
        return Err(TooManyObservers);
    };
    let mut known = interned.head;
    // SAFETY: interned records are never freed (module invariant).
    while let Some(record) = unsafe { known.as_ref() } {
        if record.same(observer, gpa, frames) {
            break;
        }
        known = record.next;
    }
    if known.is_null() {
        let Some(fresh) = internal::alloc(
            core::mem::size_of::<Registration>(),
            core::mem::align_of::<Registration>(),
        ) else {
            return Err(TooManyObservers);
        };
        let fresh = fresh.cast::<Registration>().as_ptr();
        // SAFETY: a fresh internal block of the right size and alignment, published below.
        unsafe {
            fresh.write(Registration {
                observer,
                gpa,
                frames,
                next: interned.head,
            })
        };
        interned.head = fresh;
        known = fresh;
    }
    SLOTS[slot].store(known.cast_mut(), Ordering::Release);
    USED.fetch_max(slot + 1, Ordering::Release);
    opened();
    Ok(Observation {
        slot,
        registration: known,
    })
}

/// Ends every registration that watches the instance `gpa` (its teardown).
pub(super) fn forget_instance(gpa: u64) {
    if gpa == EVERY_GPA || !active() {
        return;
    }
    let _registry = REGISTRY.lock();
    for slot in &SLOTS {
        let current = slot.load(Ordering::Relaxed);
        // SAFETY: published registrations are never freed.
        if unsafe { current.as_ref() }.is_some_and(|record| record.gpa == gpa) {
            slot.store(core::ptr::null_mut(), Ordering::Release);
            closed();
        }
    }
}

/// Calls `visit` for each registration that watches the GPA with id `gpa`.
#[inline(always)]
fn for_each_matching(gpa: u64, mut visit: impl FnMut(&Registration)) {
    for slot in &SLOTS[..USED.load(Ordering::Acquire)] {
        // SAFETY: published registrations are never freed or modified.
        if let Some(record) = unsafe { slot.load(Ordering::Acquire).as_ref() } {
            if record.gpa == EVERY_GPA || record.gpa == gpa {
                visit(record);
            }
        }
    }
}

/// Whether an event about `ptr` is delivered at all (see "Re-entrancy" in the module docs).
fn deliverable(ptr: *mut u8) -> Option<NonNull<u8>> {
    if heap::inside_allocator() || heap::events_muted() || internal::owns(ptr as usize) {
        return None;
    }
    NonNull::new(ptr)
}

/// Delivers an allocation event (the caller checked [`active`]).
#[cold]
#[inline(never)]
pub(super) fn alloc_event(gpa: &GeneralPurposeAllocator, ptr: *mut u8, size: usize, align: usize) {
    let Some(ptr) = deliverable(ptr) else {
        return;
    };
    let id = gpa.id();
    let (mut matched, mut frames) = (false, 0);
    for_each_matching(id, |record| {
        matched = true;
        frames = frames.max(record.frames);
    });
    if !matched {
        return;
    }
    let _inside = InsideAllocator::enter();
    let trace = if frames == 0 {
        TraceId::NONE
    } else {
        if !trace::thread_prepared() {
            trace::prepare_thread();
        }
        trace::capture_id(frames, gpa.config.trace_method)
    };
    for_each_matching(id, |record| {
        record.observer.on_alloc(gpa, ptr, size, align, trace)
    });
}

/// Delivers a free event, before the block is freed (the caller checked [`active`]).
#[cold]
#[inline(never)]
pub(super) fn free_event(gpa: &GeneralPurposeAllocator, ptr: *mut u8, size: usize) {
    let Some(ptr) = deliverable(ptr) else {
        return;
    };
    let _inside = InsideAllocator::enter();
    for_each_matching(gpa.id(), |record| record.observer.on_free(gpa, ptr, size));
}

impl GeneralPurposeAllocator {
    /// Whether any observer is registered (one relaxed load).
    #[inline(always)]
    pub(crate) fn observing(&self) -> bool {
        active()
    }

    /// Runs `f` with observers' events of the calling thread's requests held back (see
    /// [`Self::observe_move`]).
    pub(crate) fn without_events<R>(&self, f: impl FnOnce() -> R) -> R {
        let _muted = heap::EventsMuted::enter();
        f()
    }

    /// Tells observers that the block at `old` (`old_size` bytes) now lives at `new`
    /// (`new_size` bytes): for a move made of an allocation and a free whose own events were
    /// held back ([`Self::without_events`]), as the C ABI's `realloc` makes one. Called after
    /// the contents were copied and before the old block is freed, as `on_realloc` runs.
    pub(crate) fn observe_move(
        &self,
        old: *mut u8,
        new: *mut u8,
        old_size: usize,
        new_size: usize,
    ) {
        if active() {
            realloc_event(self, old, new, old_size, new_size);
        }
    }
}

/// Delivers a reallocation event (the caller checked [`active`]).
#[cold]
#[inline(never)]
pub(super) fn realloc_event(
    gpa: &GeneralPurposeAllocator,
    old: *mut u8,
    new: *mut u8,
    old_size: usize,
    new_size: usize,
) {
    let (Some(old), Some(new)) = (deliverable(old), NonNull::new(new)) else {
        return;
    };
    let _inside = InsideAllocator::enter();
    for_each_matching(gpa.id(), |record| {
        record
            .observer
            .on_realloc(gpa, old, new, old_size, new_size)
    });
}
