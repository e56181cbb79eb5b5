//! The workloads: small programs, generic over the allocator, that each measure one way of
//! using a heap.
//!
//! # Design
//! A [`Workload`] is a name, a [`Kind`] (which program), a thread count and the unit of its
//! result. [`run`] dispatches to the program, monomorphized for the allocator `A`. Sizes,
//! indices and choices come from [`Rng`](crate::rng::Rng) streams seeded by [`Params::seed`];
//! the amount of work is a full-run count scaled by [`Params::scale`] (`--quick` uses 1%).
//! Multi-threaded workloads split the total work between the threads and report wall time per
//! unit of the total, so perfect scaling on two cores halves the number.
//!
//! # Invariants
//! * Every block a workload allocates is freed before `run` returns, with the layout it was
//!   allocated (or last reallocated) with.
//! * Only the work between the start and end barriers of [`timed`] (or the explicit
//!   `Instant`s of a workload) is timed; setting up live sets and freeing leftovers is not.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::NonNull;
use std::sync::Barrier;
use std::time::{Duration, Instant};

mod cache;
mod fragmentation;
mod large;
mod larson;
mod migrate;
mod mixed;
mod pairs;
mod prodcons;
mod realloc;

/// Which program a workload runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// 1000 live blocks; each step frees a random one and allocates 8..=1024 bytes.
    Mixed,
    /// Allocate and immediately free blocks of one size.
    Pairs(usize),
    /// A server loop whose live set moves between threads, so blocks are freed by a thread
    /// other than the one that allocated them.
    Larson,
    /// One thread allocates, the other frees, through a bounded queue.
    ProdCons,
    /// Passive false sharing: each thread starts by freeing a small object allocated by the
    /// main thread, then allocates, writes and frees small objects.
    CacheScratch,
    /// Active false sharing: threads allocate, write and free small objects concurrently.
    CacheThrash,
    /// Long-lived objects handed from each generation of threads to the next.
    Migrate,
    /// Vectors grown by `realloc` from 1 byte to 1 MiB by +1 steps and doublings.
    Realloc,
    /// Blocks of 2..=8 MiB: allocate, touch every page, free.
    Large,
    /// Phases of allocation and mostly-freeing with changing sizes; reports peak RSS over peak
    /// live bytes (run in a child process).
    Fragmentation,
}

/// One row of the report.
#[derive(Clone, Copy, Debug)]
pub struct Workload {
    /// The name used by `--filter` and in the table (`mixed-1t`).
    pub name: &'static str,
    /// The program.
    pub kind: Kind,
    /// How many threads run it.
    pub threads: usize,
    /// The unit of the result.
    pub unit: &'static str,
}

impl Workload {
    /// Whether this workload must run alone in a child process (it measures the process's RSS).
    pub fn needs_child(&self) -> bool {
        self.kind == Kind::Fragmentation
    }

    /// The workload named `name`.
    pub fn by_name(name: &str) -> Option<&'static Workload> {
        ALL.iter().find(|w| w.name == name)
    }
}

const fn w(name: &'static str, kind: Kind, threads: usize, unit: &'static str) -> Workload {
    Workload {
        name,
        kind,
        threads,
        unit,
    }
}

/// Every workload, in report order.
pub const ALL: &[Workload] = &[
    w("mixed-1t", Kind::Mixed, 1, "ns/pair"),
    w("mixed-2t", Kind::Mixed, 2, "ns/pair"),
    w("pairs16-1t", Kind::Pairs(16), 1, "ns/pair"),
    w("pairs64-1t", Kind::Pairs(64), 1, "ns/pair"),
    w("pairs256-1t", Kind::Pairs(256), 1, "ns/pair"),
    w("pairs4096-1t", Kind::Pairs(4096), 1, "ns/pair"),
    w("pairs64-2t", Kind::Pairs(64), 2, "ns/pair"),
    w("larson-2t", Kind::Larson, 2, "ns/pair"),
    w("prodcons-2t", Kind::ProdCons, 2, "ns/block"),
    w("cache-scratch-1t", Kind::CacheScratch, 1, "ns/object"),
    w("cache-scratch-2t", Kind::CacheScratch, 2, "ns/object"),
    w("cache-thrash-1t", Kind::CacheThrash, 1, "ns/object"),
    w("cache-thrash-2t", Kind::CacheThrash, 2, "ns/object"),
    w("migrate-1t", Kind::Migrate, 1, "ns/op"),
    w("migrate-2t", Kind::Migrate, 2, "ns/op"),
    w("realloc-1t", Kind::Realloc, 1, "ns/realloc"),
    w("realloc-2t", Kind::Realloc, 2, "ns/realloc"),
    w("large-1t", Kind::Large, 1, "ns/block"),
    w("large-2t", Kind::Large, 2, "ns/block"),
    w("fragmentation-1t", Kind::Fragmentation, 1, "RSS/live"),
    w("fragmentation-2t", Kind::Fragmentation, 2, "RSS/live"),
];

/// How much work to do and which random inputs to use.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    /// Multiplies the full-run operation counts (1.0 full, 0.01 for `--quick`).
    pub scale: f64,
    /// The seed of every random stream of the run.
    pub seed: u64,
}

impl Params {
    /// `full` scaled, but at least `min`.
    pub fn count(&self, full: usize, min: usize) -> usize {
        ((full as f64 * self.scale) as usize).max(min)
    }
}

/// The result of one run of one workload on one allocator.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The reported number, in the workload's unit.
    pub value: f64,
    /// Supporting numbers (peak RSS, peak live bytes, ...), by name.
    pub extra: Vec<(String, f64)>,
}

impl Sample {
    /// Nanoseconds per unit when `units` units of work took `elapsed`.
    pub fn per_unit(elapsed: Duration, units: usize) -> Sample {
        Sample {
            value: elapsed.as_nanos() as f64 / units.max(1) as f64,
            extra: Vec::new(),
        }
    }
}

/// Runs `workload` on allocator `a`.
pub fn run<A: GlobalAlloc + Sync>(a: &A, workload: &Workload, p: &Params) -> Sample {
    let t = workload.threads;
    match workload.kind {
        Kind::Mixed => mixed::run(a, t, p),
        Kind::Pairs(size) => pairs::run(a, t, size, p),
        Kind::Larson => larson::run(a, t, p),
        Kind::ProdCons => prodcons::run(a, p),
        Kind::CacheScratch => cache::run(a, t, true, p),
        Kind::CacheThrash => cache::run(a, t, false, p),
        Kind::Migrate => migrate::run(a, t, p),
        Kind::Realloc => realloc::run(a, t, p),
        Kind::Large => large::run(a, t, p),
        Kind::Fragmentation => fragmentation::run(a, t, p),
    }
}

/// The alignment of every block (what a `u64`-holding Rust value asks for).
pub const ALIGN: usize = 8;

/// A live allocation: where it is and how many bytes were asked for.
#[derive(Clone, Copy, Debug)]
pub struct Block {
    /// The address the allocator returned.
    pub ptr: NonNull<u8>,
    /// The size it was allocated (or last reallocated) with.
    pub size: usize,
}

// SAFETY: a Block is an address and a size; the workloads pass ownership of the allocation
// between threads explicitly (channels, queues, joins), and only the owner dereferences it.
unsafe impl Send for Block {}
// SAFETY: as for Send; sharing `&Block` only shares the address, reading it is harmless.
unsafe impl Sync for Block {}

/// The layout of a `size`-byte block.
#[inline(always)]
pub fn layout(size: usize) -> Layout {
    debug_assert!(size > 0 && size <= isize::MAX as usize / 2);
    // SAFETY: ALIGN is a power of two and the workloads' sizes (at most tens of MiB) are far
    // below isize::MAX - ALIGN, so the rounded size cannot overflow.
    unsafe { Layout::from_size_align_unchecked(size, ALIGN) }
}

/// Allocates `size > 0` bytes from `a` and writes the first byte (so that the block is
/// touched, as any real use would); aborts when the allocator fails.
#[inline(always)]
pub fn alloc<A: GlobalAlloc>(a: &A, size: usize) -> Block {
    let l = layout(size);
    // SAFETY: `l` has a non-zero size (no workload asks for 0 bytes).
    let raw = unsafe { a.alloc(l) };
    let Some(ptr) = NonNull::new(raw) else {
        out_of_memory(l)
    };
    // SAFETY: the block is valid for `size >= 1` bytes of writes.
    unsafe { ptr.as_ptr().write(size as u8) };
    Block { ptr, size }
}

/// Frees `b`.
///
/// # Safety
/// `b` came from [`alloc`] (or a realloc recorded in `b`) on the same `a` and is not used
/// again.
#[inline(always)]
pub unsafe fn free<A: GlobalAlloc>(a: &A, b: Block) {
    // SAFETY: the caller's contract: `b.ptr` is live in `a` with layout `layout(b.size)`.
    unsafe { a.dealloc(b.ptr.as_ptr(), layout(b.size)) }
}

/// Frees every block of `blocks`.
///
/// # Safety
/// As for [`free`], for each block.
pub unsafe fn free_all<A: GlobalAlloc>(a: &A, blocks: impl IntoIterator<Item = Block>) {
    for b in blocks {
        // SAFETY: the caller's contract, block by block.
        unsafe { free(a, b) };
    }
}

#[cold]
#[inline(never)]
fn out_of_memory(l: Layout) -> ! {
    std::alloc::handle_alloc_error(l)
}

/// Runs `threads` copies of a program and times only their middle part.
///
/// Thread `i` runs `setup(i)`, waits until every thread is ready, runs `work(i, &mut state)`,
/// then `teardown(state)`. The result is the wall time from the earliest start of `work` to
/// the latest end, each read by the worker itself: the calling thread only waits, because on a
/// machine with as many cores as workers it would be woken late and miss the start. With one
/// thread the program runs on the calling thread (whose heap stays warm across repetitions,
/// as in a single-threaded program).
pub fn timed<S, Setup, Work, Teardown>(
    threads: usize,
    setup: Setup,
    work: Work,
    teardown: Teardown,
) -> Duration
where
    Setup: Fn(usize) -> S + Sync,
    Work: Fn(usize, &mut S) + Sync,
    Teardown: Fn(S) + Sync,
{
    if threads == 1 {
        let mut state = setup(0);
        let start = Instant::now();
        work(0, &mut state);
        let elapsed = start.elapsed();
        teardown(state);
        return elapsed;
    }
    let ready = Barrier::new(threads);
    let done = Barrier::new(threads);
    let spans: Vec<(Instant, Instant)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (ready, done, setup, work, teardown) =
                    (&ready, &done, &setup, &work, &teardown);
                s.spawn(move || {
                    let mut state = setup(i);
                    ready.wait();
                    let start = Instant::now();
                    work(i, &mut state);
                    let end = Instant::now();
                    // Teardown frees after everyone is done, so that it does not overlap
                    // (and slow down) another thread's timed work.
                    done.wait();
                    teardown(state);
                    (start, end)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker panicked"))
            .collect()
    });
    let start = spans.iter().map(|s| s.0).min().expect("threads > 0");
    let end = spans.iter().map(|s| s.1).max().expect("threads > 0");
    end - start
}

/// Splits `total` units of work into `threads` nearly equal shares; share `i`.
pub fn share(total: usize, threads: usize, i: usize) -> usize {
    total / threads + usize::from(i < total % threads)
}
