//! What a stack trace costs per allocation, by capture method: the same loop of allocation and
//! free pairs on a debug GPA (safety on, 6-frame traces) capturing with frame pointers, with
//! gpa's caching unwinder (what `TraceMethod::Auto` uses when the code has no frame pointers,
//! on x86-64), and with libgcc's unwinder; plus GPAs without traces for reference. Each pair
//! captures two traces (the allocation's and the free's). The pairs
//! run 8 frames below `main`, as in a program. A benchmark, not a test:
//!
//! ```text
//! cargo run --release --example trace_cost
//! valgrind --tool=callgrind target/release/examples/trace_cost "caching unwinder"
//! ```
//!
//! Rounds of the methods are interleaved; prints the median of nanoseconds per pair. With a
//! method's name as argument, runs only that one, once (for instruction counts).

use std::hint::black_box;
use std::time::Instant;

use gpa::TraceMethod;
use gpa::{Config, GeneralPurposeAllocator};

const PAIRS: usize = 100_000;
const ROUNDS: usize = 9;

/// Allocates and frees blocks of a few sizes, `depth` frames further down.
#[inline(never)]
fn pairs(gpa: &GeneralPurposeAllocator, depth: usize) -> usize {
    if depth > 0 {
        return black_box(pairs(gpa, depth - 1)) + 1;
    }
    let a = gpa.allocator();
    for i in 0..PAIRS {
        let len = 16 + (i % 7) * 24;
        let block = a.raw_alloc(len, 8).unwrap();
        // SAFETY: a live block of `len` bytes, freed once.
        unsafe { a.raw_free(black_box(block), len, 8) };
    }
    0
}

fn main() {
    let mut methods: Vec<(&str, Config)> = vec![
        ("fast, no traces", Config::fast()),
        (
            "safety, no traces",
            Config {
                stack_trace_frames: 0,
                ..Config::debug()
            },
        ),
        (
            "frame pointers",
            Config {
                trace_method: TraceMethod::FramePointers,
                ..Config::debug()
            },
        ),
    ];
    #[cfg(target_arch = "x86_64")]
    methods.push((
        "caching unwinder",
        Config {
            trace_method: TraceMethod::caching_unwinder(),
            ..Config::debug()
        },
    ));
    methods.push((
        "libgcc unwinder",
        Config {
            trace_method: TraceMethod::Unwinder,
            ..Config::debug()
        },
    ));
    let rounds = match std::env::args().nth(1) {
        Some(only) => {
            methods.retain(|(name, _)| *name == only);
            assert!(!methods.is_empty(), "no method named {only}");
            1
        }
        None => ROUNDS,
    };
    let mut samples = vec![Vec::new(); methods.len()];
    for _ in 0..rounds {
        for (index, (_, config)) in methods.iter().enumerate() {
            let mut gpa = GeneralPurposeAllocator::with_config(*config);
            pairs(&gpa, 8); // warm: heaps, unwinder caches
            let start = Instant::now();
            pairs(&gpa, 8);
            samples[index].push(start.elapsed().as_nanos() as f64 / PAIRS as f64);
            assert_eq!(gpa.deinit(), gpa::Check::Ok);
        }
    }
    println!(
        "frame pointers detected: {}",
        gpa::TraceMethod::frame_pointers_work()
    );
    for ((name, _), mut times) in methods.iter().zip(samples) {
        times.sort_by(f64::total_cmp);
        println!(
            "{name:>18}: {:7.1} ns per allocation and free",
            times[rounds / 2]
        );
    }
}
