//! Large blocks: allocate 2..=8 MiB (random byte counts), write one byte in every OS page, and
//! free, keeping the two most recent blocks live. Page faults dominate unless the allocator
//! reuses memory it already has mapped; an allocator that keeps too much pays in RSS instead
//! (see the fragmentation workload). Reported: wall nanoseconds per block.

use core::alloc::GlobalAlloc;
use std::collections::VecDeque;

use super::{alloc, free, free_all, share, timed, Params, Sample};
use crate::rng::Rng;

const MIN_SIZE: usize = 2 << 20;
const MAX_SIZE: usize = 8 << 20;
const KEEP: usize = 2;
const PAGE: usize = 4096;

/// Runs large blocks on `threads` threads.
pub fn run<A: GlobalAlloc + Sync>(a: &A, threads: usize, p: &Params) -> Sample {
    let blocks = p.count(300, 8);
    let elapsed = timed(
        threads,
        |t| {
            (
                Rng::new(p.seed, t as u64),
                VecDeque::with_capacity(KEEP + 1),
            )
        },
        |t, (rng, live)| {
            for _ in 0..share(blocks, threads, t) {
                let b = alloc(a, rng.range(MIN_SIZE, MAX_SIZE));
                for offset in (0..b.size).step_by(PAGE) {
                    // SAFETY: offset < b.size, inside the live block.
                    unsafe { b.ptr.as_ptr().add(offset).write_volatile(1) };
                }
                live.push_back(b);
                if live.len() > KEEP {
                    let oldest = live.pop_front().expect("more than KEEP live");
                    // SAFETY: `oldest` is a live block of `a` owned by this thread.
                    unsafe { free(a, oldest) };
                }
            }
        },
        // SAFETY: the remaining blocks are live blocks of `a` owned by this thread.
        |(_, live)| unsafe { free_all(a, live) },
    );
    Sample::per_unit(elapsed, blocks)
}
