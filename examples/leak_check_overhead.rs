//! What a leak-checked test costs: the same allocation-heavy loop run outside any check, inside
//! `gpa::testing::check`, and outside a check while another thread runs one (so the global
//! hooks are on but this thread has no scope). A benchmark, not a test:
//!
//! ```text
//! cargo run --release --example leak_check_overhead                  # GPA Config::new()
//! GPA_BENCH_DEBUG=1 cargo run --release --example leak_check_overhead # GPA Config::debug()
//! ```
//!
//! Prints the median over rounds of nanoseconds per loop iteration for each case.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use gpa::{Config, GeneralPurposeAllocator};

const CONFIG: Config = if option_env!("GPA_BENCH_DEBUG").is_some() {
    Config::debug()
} else {
    Config::new()
};

#[global_allocator]
static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(CONFIG);

const ITERATIONS: usize = 200_000;
const ROUNDS: usize = 7;

/// One iteration: five allocations (a box, a formatted string, a vector grown twice) and their
/// frees, about what a small unit test does per step.
#[inline(never)]
fn work(i: usize) -> usize {
    let boxed = black_box(Box::new(i));
    let text = format!("item {i}");
    let mut items: Vec<usize> = Vec::new();
    for k in 0..5 {
        items.push(k + *boxed);
    }
    black_box(&items);
    text.len() + items.len()
}

fn run_loop() -> f64 {
    let start = Instant::now();
    let mut total = 0;
    for i in 0..ITERATIONS {
        total += work(i);
    }
    black_box(total);
    start.elapsed().as_nanos() as f64 / ITERATIONS as f64
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn measure(name: &str, mut one_round: impl FnMut() -> f64) -> f64 {
    one_round(); // warm-up: heaps, pages, trace table
    let ns = median((0..ROUNDS).map(|_| one_round()).collect());
    println!("{name:<48} {ns:>8.1} ns/iteration");
    ns
}

fn main() {
    println!(
        "GPA config: {} (safety {}, {} trace frames); {ITERATIONS} iterations x {ROUNDS} rounds",
        if option_env!("GPA_BENCH_DEBUG").is_some() {
            "debug"
        } else {
            "new"
        },
        CONFIG.safety,
        CONFIG.stack_trace_frames
    );
    let plain = measure("no check", run_loop);
    let checked = measure("inside gpa::testing::check", || {
        let (ns, report) = gpa::testing::check_with(run_loop);
        assert!(report.is_clean(), "{report}");
        ns
    });

    // Another thread keeps a check open: the hooks run, but this thread has no scope.
    static OPENED: AtomicBool = AtomicBool::new(false);
    let stop = Arc::new(AtomicBool::new(false));
    let other = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            gpa::testing::check(|| {
                OPENED.store(true, Ordering::Release);
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            })
        })
    };
    while !OPENED.load(Ordering::Acquire) {
        std::thread::yield_now();
    }
    let bystander = measure("no check here, another thread inside one", run_loop);
    stop.store(true, Ordering::Relaxed);
    let report = other.join().unwrap();
    assert!(report.is_clean(), "{report}");

    println!(
        "overhead: check {:.2}x ({:+.1} ns/iteration), bystander {:.2}x",
        checked / plain,
        checked - plain,
        bystander / plain
    );
}
