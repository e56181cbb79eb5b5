//! Realloc-heavy growth: vectors grow from 1 byte to 1 MiB through `GlobalAlloc::realloc`, by
//! runs of 0..=15 steps of +1 byte, each run followed by a doubling.
//!
//! Four vectors grow at once, interleaved at random, so the block after a vector is usually
//! not free and in-place growth must come from the allocator's size classes or page tricks,
//! not from being last in the heap. After every realloc the new last byte is written; the
//! first byte carries a marker that is checked when the vector is freed, so an allocator that
//! loses contents fails the run. Reported: nanoseconds per realloc call.

use core::alloc::GlobalAlloc;
use core::ptr::NonNull;

use super::{alloc, free, layout, share, timed, Block, Params, Sample};
use crate::rng::Rng;

const MAX: usize = 1 << 20;
const ACTIVE: usize = 4;
const MAX_PLUS_ONE_RUN: usize = 15;

struct Growing {
    block: Block,
    plus_ones_left: usize,
    marker: u8,
}

/// Runs the growth on `threads` threads.
pub fn run<A: GlobalAlloc + Sync>(a: &A, threads: usize, p: &Params) -> Sample {
    let vectors = p.count(96, 2 * ACTIVE);
    let reallocs = std::sync::atomic::AtomicUsize::new(0);
    let elapsed = timed(
        threads,
        |t| Rng::new(p.seed, t as u64),
        |t, rng| {
            let mut to_start = share(vectors, threads, t);
            let mut slots: [Option<Growing>; ACTIVE] = Default::default();
            let mut count = 0usize;
            loop {
                let i = rng.below(ACTIVE);
                match &mut slots[i] {
                    None if to_start > 0 => {
                        to_start -= 1;
                        let marker = rng.next_u64() as u8;
                        let block = alloc(a, 1);
                        // SAFETY: the new block has one byte.
                        unsafe { block.ptr.as_ptr().write(marker) };
                        slots[i] = Some(Growing {
                            block,
                            plus_ones_left: rng.range(0, MAX_PLUS_ONE_RUN),
                            marker,
                        });
                    }
                    None => {
                        if slots.iter().all(Option::is_none) {
                            break;
                        }
                    }
                    Some(g) => {
                        let old = g.block.size;
                        let new = if g.plus_ones_left > 0 {
                            g.plus_ones_left -= 1;
                            old + 1
                        } else {
                            g.plus_ones_left = rng.range(0, MAX_PLUS_ONE_RUN);
                            old * 2
                        };
                        if new > MAX {
                            // SAFETY: the block holds `old >= 1` bytes, the first written.
                            let first = unsafe { g.block.ptr.as_ptr().read() };
                            assert_eq!(first, g.marker, "realloc lost the vector's contents");
                            // SAFETY: the vector's block is live in `a` with size `old`.
                            unsafe { free(a, g.block) };
                            slots[i] = None;
                            continue;
                        }
                        // SAFETY: the block is live in `a` with layout `layout(old)`, and
                        // `new` is non-zero and far below isize::MAX.
                        let raw = unsafe { a.realloc(g.block.ptr.as_ptr(), layout(old), new) };
                        let ptr = NonNull::new(raw)
                            .unwrap_or_else(|| std::alloc::handle_alloc_error(layout(new)));
                        // SAFETY: the block now holds `new` bytes.
                        unsafe { ptr.as_ptr().add(new - 1).write(new as u8) };
                        g.block = Block { ptr, size: new };
                        count += 1;
                    }
                }
            }
            reallocs.fetch_add(count, std::sync::atomic::Ordering::Relaxed);
        },
        |_| {},
    );
    Sample::per_unit(elapsed, reallocs.into_inner())
}
