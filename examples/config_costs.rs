//! What each GPA setting costs: one mixed workload run on GPA instances that differ in one
//! `Config` field at a time. A benchmark, not a test:
//!
//! ```text
//! cargo run --release --example config_costs
//! ```
//!
//! The workload keeps 1000 live blocks; each step frees a random one and allocates a block of
//! a random size in 8..=1024 bytes, writing its first byte (the `mixed-1t` workload of
//! `gpa-bench`), called 20 frames deep so that traces have frames to walk. Time is the
//! thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), so waiting for a core while other processes
//! run does not count. Every round runs every configuration once (interleaved, so background
//! load hits all alike); the table shows the median of the rounds in nanoseconds per
//! free+allocate pair, and its ratio to `Config::fast()`.

use std::hint::black_box;

use gpa::{Allocator, Check, Config, GeneralPurposeAllocator, TraceMethod};

const LIVE: usize = 1000;
const STEPS: usize = 400_000;
const ROUNDS: usize = 7;
/// Frames between `main` and the workload.
const DEPTH: usize = 20;

struct Case {
    name: &'static str,
    config: Config,
    /// Fewer steps for the slow unwinder (the result is per step anyway).
    steps: usize,
}

fn cases() -> Vec<Case> {
    let debug = Config::debug();
    let case = |name, config| Case {
        name,
        config,
        steps: STEPS,
    };
    vec![
        case("Config::fast()", Config::fast()),
        case(
            "fast, enable_memory_limit",
            Config {
                enable_memory_limit: true,
                ..Config::fast()
            },
        ),
        case(
            "fast, stack_trace_frames: 6",
            Config {
                stack_trace_frames: 6,
                ..Config::fast()
            },
        ),
        case(
            "safety, stack_trace_frames: 0",
            Config {
                stack_trace_frames: 0,
                ..debug
            },
        ),
        case("Config::debug() (safety, 6 frames)", debug),
        case(
            "debug, stack_trace_frames: 12",
            Config {
                stack_trace_frames: 12,
                ..debug
            },
        ),
        case(
            "debug, quarantine_bytes: 0",
            Config {
                quarantine_bytes: 0,
                ..debug
            },
        ),
        case(
            "debug, quarantine_bytes: 4 MiB",
            Config {
                quarantine_bytes: 4 << 20,
                ..debug
            },
        ),
        Case {
            name: "debug, trace_method: Unwinder",
            config: Config {
                trace_method: TraceMethod::Unwinder,
                ..debug
            },
            steps: STEPS / 20,
        },
    ]
}

/// SplitMix64: the same inputs for every configuration.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Runs `steps` steps of the mixed workload and returns nanoseconds per step.
#[inline(never)]
fn mixed(allocator: Allocator<'_>, steps: usize, seed: u64) -> f64 {
    let mut random = Random(seed);
    let mut live: Vec<(*mut u8, usize)> = Vec::with_capacity(LIVE);
    let allocate = |random: &mut Random| {
        let size = 8 + (random.next() % 1017) as usize;
        let block = allocator.raw_alloc(size, 8).expect("memory").as_ptr();
        // SAFETY: a fresh block of at least 8 bytes.
        unsafe { block.write(size as u8) };
        (block, size)
    };
    for _ in 0..LIVE {
        live.push(allocate(&mut random));
    }
    let start = thread_cpu_ns();
    for _ in 0..steps {
        let index = (random.next() % LIVE as u64) as usize;
        let (block, size) = live[index];
        // SAFETY: a live block of this allocator with this length and alignment.
        unsafe { allocator.raw_free(black_box(core::ptr::NonNull::new_unchecked(block)), size, 8) };
        live[index] = allocate(&mut random);
    }
    let elapsed = (thread_cpu_ns() - start) as f64 / steps as f64;
    for (block, size) in live {
        // SAFETY: as above.
        unsafe { allocator.raw_free(core::ptr::NonNull::new_unchecked(block), size, 8) };
    }
    elapsed
}

/// The calling thread's CPU time in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write to.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime");
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// Calls `f` `depth` frames deeper.
#[inline(never)]
fn nested<R>(depth: usize, f: &mut dyn FnMut() -> R) -> R {
    if depth == 0 {
        return f();
    }
    let result = nested(depth - 1, f);
    black_box(depth);
    result
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() {
    let cases = cases();
    let mut gpas: Vec<GeneralPurposeAllocator> = cases
        .iter()
        .map(|case| GeneralPurposeAllocator::with_config(case.config))
        .collect();
    let mut samples = vec![Vec::new(); cases.len()];
    for round in 0..=ROUNDS {
        for (index, case) in cases.iter().enumerate() {
            let allocator = gpas[index].allocator();
            let ns = nested(DEPTH, &mut || mixed(allocator, case.steps, round as u64));
            eprintln!("round {round}: {:<36} {ns:>8.1} ns", case.name);
            if round > 0 {
                samples[index].push(ns); // round 0 warms heaps, pages and the trace table
            }
        }
    }
    let fast = median(samples[0].clone());
    println!("mixed workload, {DEPTH} frames deep; median of {ROUNDS} interleaved rounds");
    println!("| configuration | ns per free+alloc pair | ratio to fast |");
    println!("|---|---:|---:|");
    for (case, samples) in cases.iter().zip(samples) {
        let ns = median(samples);
        println!("| {} | {ns:.1} | {:.2}x |", case.name, ns / fast);
    }
    for gpa in &mut gpas {
        assert_eq!(gpa.deinit(), Check::Ok);
    }
}
