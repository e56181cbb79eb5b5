//! The GPA's own lock: a small spin-then-yield mutex that can also be held across `fork`.
//!
//! # Design
//! The GPA's locks guard rare operations (heap creation and adoption, large blocks, findings,
//! the internal heap), never the per-thread fast paths, so contention is low and a spinning
//! lock that yields the CPU after a while is enough. Unlike `std::sync::Mutex` it can be
//! acquired and released without a guard object, which is what `pthread_atfork` handlers need:
//! every lock is taken before `fork` and released afterwards in both processes, so the child
//! never inherits a lock held by a thread that does not exist in it.
//!
//! # Invariants
//! * `locked` is true exactly while one thread (or the fork handlers) owns `value`.
//! * Nothing here allocates or makes a system call other than `sched_yield`
//!   (`os::yield_now`: a spin where a seccomp filter would kill it).

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

/// A mutual-exclusion lock around `T`.
pub struct Lock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: access to `value` is serialized by `locked` (module invariant).
unsafe impl<T: Send> Sync for Lock<T> {}
// SAFETY: as above; moving the lock moves the value.
unsafe impl<T: Send> Send for Lock<T> {}

/// Exclusive access to a [`Lock`]'s value until dropped.
pub struct Guard<'a, T> {
    lock: &'a Lock<T>,
}

impl<T> Lock<T> {
    /// An unlocked lock.
    pub const fn new(value: T) -> Self {
        Lock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Waits for and takes the lock.
    #[inline]
    pub fn lock(&self) -> Guard<'_, T> {
        self.acquire();
        Guard { lock: self }
    }

    /// Takes the lock if it is free within `spins` attempts (for a crash report, which must
    /// not wait for a lock the interrupted thread may hold).
    pub fn try_lock(&self, spins: u32) -> Option<Guard<'_, T>> {
        for _ in 0..spins.max(1) {
            if self
                .locked
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return Some(Guard { lock: self });
            }
            core::hint::spin_loop();
        }
        None
    }

    /// Takes the lock without a guard if it is free now (one attempt); pair with
    /// [`Lock::release`]. For a report that must not wait for ever
    /// (`GeneralPurposeAllocator::try_prepare_fork`).
    pub fn try_acquire(&self) -> bool {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes the lock without a guard (for fork handlers); pair with [`Lock::release`].
    pub fn acquire(&self) {
        if self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return;
        }
        self.acquire_contended();
    }

    #[cold]
    fn acquire_contended(&self) {
        let mut spins = 0u32;
        loop {
            if !self.locked.load(Ordering::Relaxed)
                && self
                    .locked
                    .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
                return;
            }
            spins += 1;
            if spins < 64 {
                core::hint::spin_loop();
            } else {
                crate::os::yield_now();
            }
        }
    }

    /// Releases a lock taken with [`Lock::acquire`].
    ///
    /// # Safety
    /// The caller took the lock with `acquire` (or, in a forked child, the parent's fork
    /// handler did) and holds no guard of it.
    pub unsafe fn release(&self) {
        self.locked.store(false, Ordering::Release);
    }
}

/// A [`Lock`] of any value, taken and released without a guard (the fork handlers' way): so
/// that locks of different types can be tried in one list.
pub trait RawLock {
    /// [`Lock::acquire`].
    fn acquire(&self);
    /// [`Lock::try_acquire`].
    fn try_acquire(&self) -> bool;
    /// [`Lock::release`].
    ///
    /// # Safety
    /// As for [`Lock::release`].
    unsafe fn release(&self);
}

impl<T> RawLock for Lock<T> {
    fn acquire(&self) {
        Lock::acquire(self)
    }

    fn try_acquire(&self) -> bool {
        Lock::try_acquire(self)
    }

    unsafe fn release(&self) {
        // SAFETY: caller contract.
        unsafe { Lock::release(self) }
    }
}

impl<T> Deref for Guard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard owns the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for Guard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard owns the lock.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_increments_across_threads() {
        let counter = Lock::new(0u64);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..10_000 {
                        *counter.lock() += 1;
                    }
                });
            }
        });
        assert_eq!(*counter.lock(), 40_000);
        counter.acquire();
        assert!(counter.locked.load(Ordering::Relaxed));
        // SAFETY: taken just above without a guard.
        unsafe { counter.release() };
        assert_eq!(*counter.lock(), 40_000);
    }
}
