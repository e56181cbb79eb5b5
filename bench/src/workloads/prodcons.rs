//! Producer/consumer: one thread allocates blocks of 16..=512 bytes and passes them through a
//! bounded queue to a second thread, which reads and frees them. Every free is a remote free.
//!
//! # Design
//! The queue is a single-producer single-consumer ring of 1024 slots with the two indices on
//! separate cache lines, so that its own cost (a few ns) stays small next to the allocator's.
//! Waiting spins briefly, then yields (the machine may have other work on its two cores).
//! Reported: wall nanoseconds per block passed.

use core::alloc::GlobalAlloc;
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::hint::black_box;

use super::{alloc, free, timed, Block, Params, Sample};
use crate::rng::Rng;

const CAPACITY: usize = 1024;
const MIN_SIZE: usize = 16;
const MAX_SIZE: usize = 512;

#[repr(align(128))]
struct Padded(AtomicUsize);

/// A bounded single-producer single-consumer queue of blocks.
///
/// Invariant: `tail <= head <= tail + CAPACITY`; slots `tail..head` (mod CAPACITY) hold
/// blocks written by the producer and not yet read by the consumer.
struct Ring {
    slots: Box<[UnsafeCell<MaybeUninit<Block>>]>,
    /// The next slot the producer writes; only the producer stores it.
    head: Padded,
    /// The next slot the consumer reads; only the consumer stores it.
    tail: Padded,
}

// SAFETY: a slot is written by the producer only while it is outside tail..head and read by
// the consumer only while inside; the Release/Acquire pairs on head and tail order those
// accesses, so no slot is accessed by both threads at once.
unsafe impl Sync for Ring {}

impl Ring {
    fn new() -> Ring {
        Ring {
            slots: (0..CAPACITY)
                .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
                .collect(),
            head: Padded(AtomicUsize::new(0)),
            tail: Padded(AtomicUsize::new(0)),
        }
    }

    /// Appends `b`, waiting while the ring is full.
    ///
    /// # Safety
    /// Only one thread ever pushes.
    unsafe fn push(&self, b: Block) {
        let head = self.head.0.load(Ordering::Relaxed);
        let mut spins = 0;
        while head - self.tail.0.load(Ordering::Acquire) == CAPACITY {
            backoff(&mut spins);
        }
        // SAFETY: slot `head` is outside tail..head (the ring is not full), so the consumer
        // does not touch it until the Release store below publishes it; we are the only
        // producer.
        unsafe { (*self.slots[head % CAPACITY].get()).write(b) };
        self.head.0.store(head + 1, Ordering::Release);
    }

    /// Removes the oldest block, waiting while the ring is empty.
    ///
    /// # Safety
    /// Only one thread ever pops.
    unsafe fn pop(&self) -> Block {
        let tail = self.tail.0.load(Ordering::Relaxed);
        let mut spins = 0;
        while self.head.0.load(Ordering::Acquire) == tail {
            backoff(&mut spins);
        }
        // SAFETY: slot `tail` is inside tail..head, written before the producer's Release
        // store that our Acquire load saw; the producer will not rewrite it until our
        // Release store below.
        let b = unsafe { (*self.slots[tail % CAPACITY].get()).assume_init_read() };
        self.tail.0.store(tail + 1, Ordering::Release);
        b
    }
}

#[cold]
fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}

/// Runs producer/consumer (always two threads: thread 0 produces, thread 1 consumes).
pub fn run<A: GlobalAlloc + Sync>(a: &A, p: &Params) -> Sample {
    let blocks = p.count(2_000_000, 2000);
    let ring = Ring::new();
    let elapsed = timed(
        2,
        |t| Rng::new(p.seed, t as u64),
        |t, rng| {
            if t == 0 {
                for _ in 0..blocks {
                    // SAFETY: thread 0 is the only producer.
                    unsafe { ring.push(alloc(a, rng.range(MIN_SIZE, MAX_SIZE))) };
                }
            } else {
                for _ in 0..blocks {
                    // SAFETY: thread 1 is the only consumer.
                    let b = unsafe { ring.pop() };
                    // SAFETY: the producer wrote the first byte before publishing the block.
                    black_box(unsafe { b.ptr.as_ptr().read() });
                    // SAFETY: the block came from `a`, and popping moved its ownership here.
                    unsafe { free(a, b) };
                }
            }
        },
        |_| {},
    );
    Sample::per_unit(elapsed, blocks)
}
