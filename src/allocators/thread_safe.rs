//! `ThreadSafeAllocator`: makes any single-threaded allocator shareable between threads by
//! running each raw operation under a lock (Zig's `std.heap.ThreadSafeAllocator`).
//!
//! # Design
//! The wrapped allocator lives inside a `std::sync::Mutex`. On Linux that mutex is a futex
//! word: it never allocates (so wrapping an allocator cannot recurse into the global one) and
//! an uncontended lock is one atomic exchange. Every `RawAllocator` call takes the lock, calls
//! the inner allocator and releases it; the returned blocks are then used without the lock,
//! which is fine because an allocator never touches a block it has handed out until that
//! block comes back through a call (made under the lock again).
//!
//! # Why `Sync` needs `A: Send`
//! Sharing `&ThreadSafeAllocator<A>` lets every thread reach the inner `A`, one at a time. That
//! is exactly what `Mutex<A>` allows, and it is sound only when `A` may be *used from another
//! thread than the one that created it*, which is what `Send` means: an `A` holding an `Rc`,
//! or a handle to a `Cell`-based allocator that its creator thread still uses directly, would
//! race. An arena or pool is `Send` when its child handle is a [`SyncAllocator`] (over the page
//! allocator, the GPA or another thread-safe implementation), so wrapping it needs no promise:
//!
//! ```
//! use gpa::{ArenaAllocator, PageAllocator, ThreadSafeAllocator};
//!
//! let page = PageAllocator::new();
//! let shared = ThreadSafeAllocator::new(ArenaAllocator::new(page.sync_allocator()));
//! std::thread::scope(|s| {
//!     for id in 0..4 {
//!         let shared = &shared;
//!         s.spawn(move || {
//!             let text = shared.allocator().print(format_args!("thread {id}")).unwrap();
//!             assert_eq!(&*text, &*format!("thread {id}"));
//!         });
//!     }
//! });
//! let arena = shared.into_inner(); // the arena again, to reset or drop
//! assert!(arena.query_capacity() > 0);
//! ```
//!
//! Over a plain [`Allocator`] handle (`!Send`: it may point at a single-threaded allocator),
//! the arena is `!Send` and the wrapper is not `Sync`:
//!
//! ```compile_fail,E0277
//! fn assert_sync<T: Sync>() {}
//! assert_sync::<gpa::ThreadSafeAllocator<gpa::ArenaAllocator<'static>>>();
//! ```
//!
//! When you know such a handle points at a thread-safe allocator and nothing else uses the
//! wrapped value, say so with [`AssumeSend`] (an `unsafe` promise) or
//! [`ThreadSafeAllocator::new_assume_send`]; with the generic arena and pool this is needed
//! only for the other wrappers over a handle (buffer-first, validating, failing).
//!
//! ```
//! fn assert_sync<T: Sync>() {}
//! // A fixed buffer is `Send`, so the wrapper is `Sync`...
//! assert_sync::<gpa::ThreadSafeAllocator<gpa::FixedBufferAllocator<'static>>>();
//! // ...so is an arena over a thread-safe child...
//! assert_sync::<gpa::ThreadSafeAllocator<gpa::ArenaAllocator<'static, dyn gpa::RawAllocator + Sync>>>();
//! // ...and an arena whose `Send` was promised.
//! assert_sync::<gpa::ThreadSafeAllocator<gpa::AssumeSend<gpa::ArenaAllocator<'static>>>>();
//! ```
//!
//! # Poisoning
//! A panic inside the inner allocator while the lock is held poisons the mutex; later calls
//! still go through (`PoisonError::into_inner`). Allocators in this crate never panic halfway
//! through an update, and refusing every later free would only turn one bug into a leak storm.

use core::alloc::Layout;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::interface::{impl_allocator_api2, Allocator, RawAllocator, SyncAllocator};

/// Wraps an allocator `A` with a lock so that `&ThreadSafeAllocator<A>` can be shared between
/// threads (Zig's `std.heap.ThreadSafeAllocator`). `Sync` when `A: Send`: an arena or pool
/// over a [`SyncAllocator`] is `Send`, a fixed buffer always is. Each raw call takes the lock
/// (a futex mutex that never allocates; uncontended, one atomic exchange).
///
/// ```
/// use gpa::{ArenaAllocator, PageAllocator, ThreadSafeAllocator};
///
/// let page = PageAllocator::new();
/// let shared = ThreadSafeAllocator::new(ArenaAllocator::new(page.sync_allocator()));
/// std::thread::scope(|s| {
///     for id in 0..4 {
///         let shared = &shared;
///         s.spawn(move || shared.allocator().print(format_args!("thread {id}")).map(|_| ()));
///     }
/// });
/// let arena = shared.into_inner(); // reset or drop it: every block goes at once
/// assert!(arena.query_capacity() > 0);
/// ```
#[derive(Debug, Default)]
pub struct ThreadSafeAllocator<A> {
    inner: Mutex<A>,
}

impl<A> ThreadSafeAllocator<A> {
    /// Wraps `inner`.
    pub const fn new(inner: A) -> Self {
        ThreadSafeAllocator {
            inner: Mutex::new(inner),
        }
    }

    /// The wrapped allocator, for operations that need exclusive access (an arena's `reset`).
    /// No lock is needed: `&mut self` proves no other thread holds a reference.
    pub fn get_mut(&mut self) -> &mut A {
        self.inner.get_mut().unwrap_or_else(PoisonError::into_inner)
    }

    /// Unwraps the allocator.
    pub fn into_inner(self) -> A {
        self.inner
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` with the wrapped allocator while holding the lock (for queries such as an
    /// arena's capacity). Do not allocate through `self` inside `f`: the lock is not re-entrant.
    pub fn with_locked<R>(&self, f: impl FnOnce(&A) -> R) -> R {
        f(&self.lock())
    }

    #[inline]
    fn lock(&self) -> MutexGuard<'_, A> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<A: RawAllocator> ThreadSafeAllocator<A> {
    /// The handle to pass to functions; call it in each thread that needs one (this handle is
    /// `!Send`, the wrapper itself is shared by reference).
    pub fn allocator(&self) -> Allocator<'_> {
        Allocator::new(self)
    }
}

impl<A: RawAllocator + Send> ThreadSafeAllocator<A> {
    /// A handle that is `Send + Sync` (the wrapper is `Sync` because `A: Send`): collections
    /// built on it may move to other threads (see [`SyncAllocator`]).
    pub fn sync_allocator(&self) -> SyncAllocator<'_> {
        SyncAllocator::new_sync(self)
    }
}

impl<A> ThreadSafeAllocator<AssumeSend<A>> {
    /// Wraps an allocator that is `!Send` only because the type system cannot see that its
    /// parts are thread-safe (a buffer-first, validating or failing allocator over an
    /// [`Allocator`] handle to the page allocator or the GPA). An arena or pool needs no
    /// promise: build it over a [`SyncAllocator`] and use [`ThreadSafeAllocator::new`].
    ///
    /// # Safety
    /// As for [`AssumeSend::new`].
    pub unsafe fn new_assume_send(inner: A) -> Self {
        // SAFETY: forwarded caller contract.
        ThreadSafeAllocator::new(unsafe { AssumeSend::new(inner) })
    }
}

// SAFETY: each operation runs on the inner allocator with the lock held, and the inner
// allocator upholds the contract for the blocks it returns; the lock adds no other behaviour.
unsafe impl<A: RawAllocator> RawAllocator for ThreadSafeAllocator<A> {
    #[inline]
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        self.lock().alloc(layout)
    }

    #[inline]
    unsafe fn resize(&self, memory: NonNull<u8>, layout: Layout, new_len: usize) -> bool {
        // SAFETY: forwarded caller contract; blocks of the wrapper are blocks of the inner one.
        unsafe { self.lock().resize(memory, layout, new_len) }
    }

    #[inline]
    unsafe fn remap(
        &self,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded caller contract.
        unsafe { self.lock().remap(memory, layout, new_len) }
    }

    #[inline]
    unsafe fn free(&self, memory: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded caller contract.
        unsafe { self.lock().free(memory, layout) }
    }
}

impl_allocator_api2!([A: RawAllocator] &ThreadSafeAllocator<A> => |this| this.allocator());

/// Declares a value safe to move to, and use from, another thread although its type is
/// `!Send`. It exists for [`ThreadSafeAllocator`], whose lock supplies the "one thread at a
/// time" half of the argument; this type supplies the other half by the caller's promise.
/// It forwards [`RawAllocator`] and derefs to the wrapped value.
///
/// ```
/// use gpa::{PageAllocator, ThreadSafeAllocator, ValidatingAllocator};
///
/// let page = PageAllocator::new();
/// // A validating wrapper over a plain handle is `!Send`; the page allocator behind the
/// // handle is thread-safe and nothing else uses the wrapper, so the promise holds.
/// // SAFETY: see above.
/// let shared = unsafe { ThreadSafeAllocator::new_assume_send(ValidatingAllocator::new(page.allocator())) };
/// std::thread::scope(|s| {
///     s.spawn(|| shared.allocator().new_box(1u8).map(drop));
/// });
/// assert!(shared.with_locked(|validating| validating.violations().is_empty()));
/// ```
#[derive(Debug)]
pub struct AssumeSend<A>(A);

// SAFETY: the caller of `AssumeSend::new` promised that the value may be used from any
// thread, one thread at a time.
unsafe impl<A> Send for AssumeSend<A> {}

impl<A> AssumeSend<A> {
    /// Wraps `inner`.
    ///
    /// # Safety
    /// Everything `inner` refers to without owning it (for an arena or pool: the child
    /// allocator behind its handle) must be usable from any thread, that is, be `Sync`, or be
    /// used by nobody else while `inner` lives; and `inner` must own nothing that is tied to
    /// its creating thread (`Rc`, thread-local pointers). The page allocator and the GPA are
    /// `Sync`; a `FixedBufferAllocator` also used directly elsewhere is not.
    pub unsafe fn new(inner: A) -> Self {
        AssumeSend(inner)
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> A {
        self.0
    }
}

impl<A> Deref for AssumeSend<A> {
    type Target = A;
    fn deref(&self) -> &A {
        &self.0
    }
}

impl<A> DerefMut for AssumeSend<A> {
    fn deref_mut(&mut self) -> &mut A {
        &mut self.0
    }
}

// SAFETY: pure forwarding to the wrapped allocator.
unsafe impl<A: RawAllocator> RawAllocator for AssumeSend<A> {
    #[inline]
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.alloc(layout)
    }

    #[inline]
    unsafe fn resize(&self, memory: NonNull<u8>, layout: Layout, new_len: usize) -> bool {
        // SAFETY: forwarded caller contract.
        unsafe { self.0.resize(memory, layout, new_len) }
    }

    #[inline]
    unsafe fn remap(
        &self,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded caller contract.
        unsafe { self.0.remap(memory, layout, new_len) }
    }

    #[inline]
    unsafe fn free(&self, memory: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded caller contract.
        unsafe { self.0.free(memory, layout) }
    }
}
