//! Where each thread's trace caches ([`Caches`]) live: mappings of their own, out of static TLS.
//!
//! # Why
//! The caches (recently interned traces, remembered walks: 57 KiB) were initial-exec
//! thread-locals, so the dynamic loader reserved and zeroed them in every thread of every
//! program the library was preloaded into, fast mode's too, where no trace is ever taken: a
//! 68 KiB larger anonymous mapping per thread (docs/performance.md, "Stop 33"). Static TLS
//! now keeps only a pointer to them (`trace::ThreadTraces::caches`), set at the thread's first
//! capture.
//!
//! # Design
//! A thread's first capture [`acquire`]s a block: a retired one from the pool, else a fresh
//! private mapping (`os::map`). Both are async-signal-safe and allocate nothing (a capture may
//! run in a signal handler, or inside `malloc`): the pool is a lock-free stack (Treiber) whose
//! head carries a 16-bit change count above the 48-bit address, so that a pop that read a
//! stale head fails its compare-and-swap (ABA). A thread's exit hook [`release`]s its block:
//! what ties it to that thread is forgotten (`Caches::forget_thread`: the unwinder's records
//! of the last captures and its shadow stack, which hold positions on that thread's stack),
//! and it goes on the pool for the next thread with its remembered walks and traces, which
//! every capture checks against its own thread's stack and bounds before it uses them (as it
//! does after the thread's own stack changed). The next thread, often on the same stack
//! (glibc keeps a finished thread's stack for the next one), then captures from warm caches
//! and its pages are not faulted in again: they used to be discarded here, and `mstress 10 2`,
//! 50 threads, took some 1,300 of its 8,000 page faults in them (docs/performance.md, branch
//! `rptcheck`). Blocks are never unmapped, so a pop may read the link of a block another
//! thread popped meanwhile.
//!
//! Every block ever mapped is also on a push-only list, which [`for_each`] walks for the leak
//! scan: the caches hold copies of `rbp` (a general register in code without frame pointers),
//! so a block, in use or pooled, is never a root.
//!
//! `fork` children keep the parent's pointer and a copy of its block (private memory); so do
//! `clone()` children without `CLONE_VM`.
//!
//! # Memory layout
//! ```text
//!  one mapping per block (101 pages on x86-64)
//!  ┌──────────────────────────────────────────┬────────────┬──────────┬────────┐
//!  │ Caches                                   │ side words │ (zeroed) │ Links  │
//!  └──────────────────────────────────────────┴────────────┴──────────┴────────┘
//!  0                             size_of::<Caches>()        len - size_of::<Links>()
//! ```
//!
//! The side words (`trace::side_words`, 8 KiB) are the allocator's: check mode's
//! second-level page lookup (`gpa::c_checked`). Like the caches, they go to the next thread
//! as they are.
//!
//! # Invariants
//! * A block is on the pool only while no thread's `ThreadTraces::caches` points to it, and
//!   its thread-bound parts are forgotten there (`Caches::forget_thread`); a fresh block is
//!   all zero.
//! * Blocks are never unmapped; `ALL` only grows, and a block's `next_all` is written before
//!   the block is published on it.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::Caches;
use crate::os;

/// The links of a block, at the end of its mapping (outside the pages a release discards).
#[repr(C)]
struct Links {
    /// The next block of the pool (0: the last).
    next_free: AtomicUsize,
    /// The next block of `ALL` (0: the last).
    next_all: AtomicUsize,
}

/// The pool of released blocks: the top block's address, with a change count in the bits
/// above [`ADDRESS_BITS`] (0: empty).
static FREE: AtomicU64 = AtomicU64::new(0);
/// Every block mapped, newest first (0: none).
static ALL: AtomicUsize = AtomicUsize::new(0);
/// Blocks mapped so far (for tests and measurements).
static MAPPED: AtomicUsize = AtomicUsize::new(0);

/// User-space addresses fit in 48 bits on x86-64 and AArch64 (4-level paging, 48-bit VA).
const ADDRESS_BITS: u32 = 48;
const ADDRESS_MASK: u64 = (1 << ADDRESS_BITS) - 1;

/// Bytes of a block's mapping: the caches, the side words (`trace::side_words`) and the
/// links, in whole pages.
fn block_len() -> usize {
    let page = os::page_size();
    let used = core::mem::size_of::<Caches>()
        + super::SIDE_WORDS * core::mem::size_of::<u64>()
        + core::mem::size_of::<Links>();
    used.div_ceil(page) * page
}

const _: () = assert!(core::mem::align_of::<Caches>() >= core::mem::align_of::<u64>());

/// The links of the block at `block`.
fn links(block: usize) -> &'static Links {
    let at = block + block_len() - core::mem::size_of::<Links>();
    // SAFETY: `block` is a block's mapping (never unmapped), which ends with its `Links`
    // (aligned: the mapping's length and `Links`' size are multiples of 8).
    unsafe { &*(at as *const Links) }
}

/// A block for the calling thread's caches: a pooled one (as [`release`] left it), else a
/// fresh (zero) mapping.
/// `None` when the system refuses the mapping. Async-signal-safe; allocates nothing.
pub(super) fn acquire() -> Option<NonNull<Caches>> {
    if let Some(block) = pop() {
        return NonNull::new(block as *mut Caches);
    }
    // (A block beyond 48 bits, with 5-level paging, is never pooled: used once, kept listed.)
    let block = os::map(block_len())?.as_ptr() as usize;
    publish(block);
    MAPPED.fetch_add(1, Ordering::Relaxed);
    NonNull::new(block as *mut Caches)
}

/// Puts a fresh `block` on `ALL`.
fn publish(block: usize) {
    let links = links(block);
    let mut head = ALL.load(Ordering::Relaxed);
    loop {
        links.next_all.store(head, Ordering::Relaxed);
        match ALL.compare_exchange_weak(head, block, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return,
            Err(now) => head = now,
        }
    }
}

/// Gives `caches` back: forgets what ties it to the thread that used it
/// (`Caches::forget_thread`) and puts it on the pool, its remembered walks and traces kept.
///
/// # Safety
/// `caches` came from [`acquire`], and nothing uses it or will (no thread's
/// `ThreadTraces::caches` points to it).
pub(super) unsafe fn release(caches: NonNull<Caches>) {
    let block = caches.as_ptr() as usize;
    // SAFETY: the block holds a `Caches` (from `acquire`) that nothing uses any more (caller
    // contract).
    unsafe { caches.as_ref() }.forget_thread();
    if block as u64 & !ADDRESS_MASK != 0 {
        return;
    }
    let links = links(block);
    let mut head = FREE.load(Ordering::Relaxed);
    loop {
        links
            .next_free
            .store((head & ADDRESS_MASK) as usize, Ordering::Relaxed);
        let fresh = block as u64 | next_count(head);
        match FREE.compare_exchange_weak(head, fresh, Ordering::Release, Ordering::Relaxed) {
            Ok(_) => return,
            Err(now) => head = now,
        }
    }
}

/// The change-count bits of a pool head after `head`.
fn next_count(head: u64) -> u64 {
    ((head >> ADDRESS_BITS).wrapping_add(1) << ADDRESS_BITS) & !ADDRESS_MASK
}

/// Takes the top block of the pool.
fn pop() -> Option<usize> {
    let mut head = FREE.load(Ordering::Acquire);
    loop {
        let block = (head & ADDRESS_MASK) as usize;
        if block == 0 {
            return None;
        }
        // The block may have been popped (and be in use) since `head` was read: its link is
        // then stale, and the count, changed since, fails the exchange.
        let next = links(block).next_free.load(Ordering::Relaxed) as u64;
        let fresh = next | next_count(head);
        match FREE.compare_exchange_weak(head, fresh, Ordering::Acquire, Ordering::Acquire) {
            Ok(_) => return Some(block),
            Err(now) => head = now,
        }
    }
}

/// Calls `visit(start, end)` with each block's mapping, in use or pooled.
pub(super) fn for_each(visit: &mut dyn FnMut(usize, usize)) {
    let len = block_len();
    let mut block = ALL.load(Ordering::Acquire);
    while block != 0 {
        visit(block, block + len);
        block = links(block).next_all.load(Ordering::Relaxed);
    }
}

/// Blocks mapped so far.
#[cfg(test)]
pub(super) fn mapped() -> usize {
    MAPPED.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A released block is listed and goes to the next thread that asks, its remembered
    /// traces kept and its thread-bound records forgotten.
    #[test]
    fn a_released_block_keeps_its_memory_forgets_its_thread_and_is_reused() {
        let mut reused = false;
        for _ in 0..16 {
            let first = acquire().expect("a mapping");
            let start = first.as_ptr() as usize;
            // SAFETY: this test's block, used by nothing else.
            unsafe { first.as_ref() }.touch_for_test();
            // SAFETY: acquired above and not used any more.
            unsafe { release(first) };
            let mut listed = false;
            for_each(&mut |from, to| listed |= from == start && to - from == block_len());
            assert!(listed);
            let next = acquire().expect("a mapping");
            if next == first {
                // SAFETY: this test's block again.
                let caches = unsafe { next.as_ref() };
                assert_eq!(caches.touched_for_test(), (true, false));
                reused = true;
            } else {
                // A fresh mapping, or a block another test's thread released: nothing
                // thread-bound either way.
                // SAFETY: acquired above, used by nothing else.
                assert!(!unsafe { next.as_ref() }.touched_for_test().1);
            }
            // SAFETY: acquired above and not used any more.
            unsafe { release(next) };
            if reused {
                break;
            }
        }
        assert!(reused, "a released block was never reused");
        assert!(mapped() >= 1);
    }
}
