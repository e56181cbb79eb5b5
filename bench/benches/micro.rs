//! Criterion micro-benchmarks: the allocators' hot paths in isolation (`cargo bench -p
//! gpa-bench`). The workloads of the `gpa-bench` binary measure whole programs; these pin
//! down single operations with criterion's statistics.
//!
//! Every benchmark is generic over `A: GlobalAlloc`, so each allocator is called directly.
//! Adding an allocator is one line in `benches`.

use std::alloc::{GlobalAlloc, System};
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gpa::{Config, GeneralPurposeAllocator};
use gpa_bench::rng::Rng;
use gpa_bench::workloads::{alloc, free, layout, Block};
use mimalloc::MiMalloc;
use tikv_jemallocator::Jemalloc;

/// Allocate-and-free pairs of one size.
fn pairs<A: GlobalAlloc>(c: &mut Criterion, name: &str, a: &A) {
    let mut group = c.benchmark_group("pair");
    for size in [16usize, 64, 256, 4096] {
        group.bench_with_input(BenchmarkId::new(name, size), &size, |b, &size| {
            b.iter(|| {
                let block = black_box(alloc(a, size));
                // SAFETY: the block was just allocated from `a` and is freed once.
                unsafe { free(a, block) };
            })
        });
    }
    group.finish();
}

/// One step of the mixed workload: free a random one of 1000 live blocks, allocate 8..=1024.
fn mixed_step<A: GlobalAlloc>(c: &mut Criterion, name: &str, a: &A) {
    let mut rng = Rng::new(0x5EED, 0);
    let mut live: Vec<Block> = (0..1000).map(|_| alloc(a, rng.range(8, 1024))).collect();
    c.bench_function(&format!("mixed-step/{name}"), |b| {
        b.iter(|| {
            let i = rng.below(live.len());
            // SAFETY: live[i] is a live block of `a`, replaced at once.
            unsafe { free(a, live[i]) };
            live[i] = alloc(a, rng.range(8, 1024));
        })
    });
    for block in live {
        // SAFETY: every remaining block is live in `a` and freed once.
        unsafe { free(a, block) };
    }
}

/// Growing a block by one byte with `realloc`, from 64 to 4096 bytes and over again.
fn realloc_plus_one<A: GlobalAlloc>(c: &mut Criterion, name: &str, a: &A) {
    let mut block = alloc(a, 64);
    c.bench_function(&format!("realloc+1/{name}"), |b| {
        b.iter(|| {
            if block.size == 4096 {
                // SAFETY: the block is live in `a` with its recorded size.
                unsafe { free(a, block) };
                block = alloc(a, 64);
            }
            let new = block.size + 1;
            // SAFETY: the block is live in `a` with layout `layout(block.size)`; new > 0.
            let raw = unsafe { a.realloc(block.ptr.as_ptr(), layout(block.size), new) };
            block = Block {
                ptr: std::ptr::NonNull::new(raw).expect("realloc failed"),
                size: new,
            };
        })
    });
    // SAFETY: the block is live in `a` with its recorded size.
    unsafe { free(a, block) };
}

fn each<A: GlobalAlloc>(c: &mut Criterion, name: &str, a: &A) {
    pairs(c, name, a);
    mixed_step(c, name, a);
    realloc_plus_one(c, name, a);
}

static GPA_FAST: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config {
    safety: false,
    stack_trace_frames: 0,
    ..Config::new()
});
static GPA_DEBUG: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config {
    safety: true,
    stack_trace_frames: 6,
    ..Config::new()
});

fn benches(c: &mut Criterion) {
    each(c, "system", &System);
    each(c, "mimalloc", &MiMalloc);
    each(c, "jemalloc", &Jemalloc);
    each(c, "gpa-fast", &GPA_FAST);
    each(c, "gpa-debug", &GPA_DEBUG);
}

criterion_group! {
    name = micro;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    targets = benches
}
criterion_main!(micro);
