//! Same-size allocate/free pairs: the cost of the allocator's fastest path (a free-list pop and
//! push for size-class allocators, a cached large block for 4096 bytes in some).

use core::alloc::GlobalAlloc;
use std::hint::black_box;

use super::{alloc, free, share, timed, Params, Sample};

/// Runs `size`-byte pairs on `threads` threads.
pub fn run<A: GlobalAlloc + Sync>(a: &A, threads: usize, size: usize, p: &Params) -> Sample {
    let pairs = p.count(4_000_000, 1000);
    let elapsed = timed(
        threads,
        |_| (),
        |t, ()| {
            for _ in 0..share(pairs, threads, t) {
                // black_box keeps the compiler from pairing up and deleting the allocation
                // (LLVM knows malloc/free and elides pairs whose pointer does not escape).
                let b = black_box(alloc(a, size));
                // SAFETY: `b` was just allocated from `a` and is freed once.
                unsafe { free(a, b) };
            }
        },
        |()| {},
    );
    Sample::per_unit(elapsed, pairs)
}
