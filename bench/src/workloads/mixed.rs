//! The mixed workload of issue 5: a live set of 1000 blocks; each step frees a random block and
//! allocates one of a random size in 8..=1024 bytes, touching its first byte.
//!
//! With two threads each thread has its own live set and does half of the steps; the result is
//! wall nanoseconds per free+alloc pair of the total.

use core::alloc::GlobalAlloc;

use super::{alloc, free, free_all, share, timed, Block, Params, Sample};
use crate::rng::Rng;

/// Blocks live at any time, per thread.
const LIVE: usize = 1000;
const MIN_SIZE: usize = 8;
const MAX_SIZE: usize = 1024;

/// Runs the mixed workload on `threads` threads.
pub fn run<A: GlobalAlloc + Sync>(a: &A, threads: usize, p: &Params) -> Sample {
    let steps = p.count(2_000_000, 1000);
    let elapsed = timed(
        threads,
        |t| {
            let mut rng = Rng::new(p.seed, t as u64);
            let live: Vec<Block> = (0..LIVE)
                .map(|_| alloc(a, rng.range(MIN_SIZE, MAX_SIZE)))
                .collect();
            (rng, live)
        },
        |t, (rng, live)| {
            for _ in 0..share(steps, threads, t) {
                let i = rng.below(LIVE);
                // SAFETY: live[i] is a block of `a` owned by this thread; it is replaced at
                // once, so it is never freed twice.
                unsafe { free(a, live[i]) };
                live[i] = alloc(a, rng.range(MIN_SIZE, MAX_SIZE));
            }
        },
        // SAFETY: the live set holds blocks of `a` owned by this thread, each once.
        |(_, live)| unsafe { free_all(a, live) },
    );
    Sample::per_unit(elapsed, steps)
}
