//! Long-lived objects migrating across thread generations.
//!
//! Generation 0 of `threads` threads allocates a live set per thread; each later generation
//! receives the sets of the previous one (rotated, so with two threads a set changes thread
//! every generation), frees a random half of each, allocates back up to the set size, and
//! exits, handing the sets on. Objects thus outlive the threads that allocated them, and
//! threads keep being born and dying, which exercises per-thread heap creation, thread-exit
//! cleanup and remote frees. Timed: the whole chain of generations, thread creation included.
//! Reported: nanoseconds per operation (one allocation or one free).

use core::alloc::GlobalAlloc;
use std::time::Instant;

use super::{alloc, free, free_all, Block, Params, Sample};
use crate::rng::Rng;

const MIN_SIZE: usize = 16;
const MAX_SIZE: usize = 2048;

/// Runs the generations with `threads` threads each.
pub fn run<A: GlobalAlloc + Sync>(a: &A, threads: usize, p: &Params) -> Sample {
    let generations = p.count(40, 3);
    let live = p.count(20_000, 200) / threads;
    let mut sets: Vec<Vec<Block>> = vec![Vec::new(); threads];
    let mut ops = 0usize;
    let start = Instant::now();
    for g in 0..generations {
        let inherited = std::mem::take(&mut sets);
        let results: Vec<(Vec<Block>, usize)> = std::thread::scope(|s| {
            let handles: Vec<_> = inherited
                .into_iter()
                .enumerate()
                .map(|(t, set)| {
                    s.spawn(move || {
                        let mut rng = Rng::new(p.seed, (g * threads + t) as u64);
                        let mut ops = 0;
                        let mut kept = Vec::with_capacity(live);
                        for b in set {
                            if rng.chance(1, 2) {
                                // SAFETY: the set was moved to this thread, which now owns
                                // its blocks; the block is dropped from the set.
                                unsafe { free(a, b) };
                                ops += 1;
                            } else {
                                kept.push(b);
                            }
                        }
                        while kept.len() < live {
                            kept.push(alloc(a, rng.range(MIN_SIZE, MAX_SIZE)));
                            ops += 1;
                        }
                        (kept, ops)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("worker panicked"))
                .collect()
        });
        for (set, n) in results {
            ops += n;
            sets.push(set);
        }
        // Rotate: thread t of the next generation gets the set of thread t-1.
        sets.rotate_right(1);
    }
    let elapsed = start.elapsed();
    for set in sets {
        // SAFETY: the last generation handed every set back; each block is in one set.
        unsafe { free_all(a, set) };
    }
    Sample::per_unit(elapsed, ops)
}
