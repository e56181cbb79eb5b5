//! Smoke tests of the benchmark tool: the binary runs every workload on every allocator in
//! quick mode and reports sane numbers, and every workload frees exactly what it allocates.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use gpa_bench::workloads::{self, Kind};
use gpa_bench::{allocators, Params};

/// `System`, counting what goes through it.
struct Counting {
    allocs: AtomicUsize,
    frees: AtomicUsize,
    reallocs: AtomicUsize,
    live: AtomicUsize,
    peak: AtomicUsize,
}

impl Counting {
    fn grow(&self, n: usize) {
        let now = self.live.fetch_add(n, Ordering::Relaxed) + n;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    fn reset(&self) {
        for c in [
            &self.allocs,
            &self.frees,
            &self.reallocs,
            &self.live,
            &self.peak,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

// SAFETY: forwards every call to System unchanged; the counters do not affect the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocs.fetch_add(1, Ordering::Relaxed);
        self.grow(layout.size());
        // SAFETY: the caller's GlobalAlloc contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.frees.fetch_add(1, Ordering::Relaxed);
        self.live.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's GlobalAlloc contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.reallocs.fetch_add(1, Ordering::Relaxed);
        self.live.fetch_sub(layout.size(), Ordering::Relaxed);
        self.grow(new_size);
        // SAFETY: the caller's GlobalAlloc contract, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

static COUNTING: Counting = Counting {
    allocs: AtomicUsize::new(0),
    frees: AtomicUsize::new(0),
    reallocs: AtomicUsize::new(0),
    live: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
};

/// The counters are global, so the tests that use them take turns.
static SERIAL: Mutex<()> = Mutex::new(());

#[test]
fn every_workload_frees_exactly_what_it_allocates() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let p = Params {
        scale: 0.01,
        seed: 99,
    };
    for w in workloads::ALL {
        COUNTING.reset();
        let sample = workloads::run(&COUNTING, w, &p);
        let allocs = COUNTING.allocs.load(Ordering::Relaxed);
        let frees = COUNTING.frees.load(Ordering::Relaxed);
        assert!(allocs > 0, "{}: allocated nothing", w.name);
        assert_eq!(allocs, frees, "{}: allocations and frees differ", w.name);
        assert_eq!(
            COUNTING.live.load(Ordering::Relaxed),
            0,
            "{}: bytes left live (or freed with a wrong size)",
            w.name
        );
        // In this process the RSS ratio can be 0 (the heap already had the pages), so only
        // the timed workloads must report a positive number here.
        assert!(
            sample.value.is_finite() && (sample.value > 0.0 || w.needs_child()),
            "{}: {}",
            w.name,
            sample.value
        );
        if w.kind == Kind::Realloc {
            assert!(
                COUNTING.reallocs.load(Ordering::Relaxed) > 100,
                "{}: too few reallocs",
                w.name
            );
        }
    }
}

#[test]
fn fragmentation_reports_the_true_peak_of_live_bytes() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let w = workloads::Workload::by_name("fragmentation-1t").unwrap();
    COUNTING.reset();
    let sample = workloads::run(
        &COUNTING,
        w,
        &Params {
            scale: 0.01,
            seed: 5,
        },
    );
    let reported = sample
        .extra
        .iter()
        .find(|(k, _)| k == "peak_live_bytes")
        .unwrap()
        .1;
    let peak = COUNTING.peak.load(Ordering::Relaxed);
    assert_eq!(reported as usize, peak);
    // 1 MiB per phase at this scale, and survivors stay live into the next phase.
    assert!(peak > 1 << 20, "peak live {peak}");
}

#[test]
fn mixed_keeps_a_thousand_blocks_live_per_thread() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for (name, threads) in [("mixed-1t", 1), ("mixed-2t", 2)] {
        COUNTING.reset();
        workloads::run(
            &COUNTING,
            workloads::Workload::by_name(name).unwrap(),
            &Params {
                scale: 0.01,
                seed: 1,
            },
        );
        let allocs = COUNTING.allocs.load(Ordering::Relaxed);
        let steps = 20_000; // 2,000,000 at full scale
        assert_eq!(allocs, threads * 1000 + steps, "{name}");
        // 1000 blocks of 8..=1024 bytes average about 516 KB; the peak stays near that.
        let peak = COUNTING.peak.load(Ordering::Relaxed);
        assert!(
            (threads * 400_000..threads * 700_000).contains(&peak),
            "{name}: peak {peak}"
        );
    }
}

#[test]
fn quick_run_covers_every_workload_and_allocator() {
    let dir = std::env::temp_dir().join(format!("gpa-bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json_path = dir.join("out.json");
    let out = Command::new(env!("CARGO_BIN_EXE_gpa-bench"))
        .args(["--quick", "--json"])
        .arg(&json_path)
        .output()
        .expect("run gpa-bench");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();

    // With the GPA columns present, the issue-5 target lines follow the table.
    assert!(
        table.contains("- gpa-fast mixed-1t vs mimalloc: "),
        "{table}"
    );
    assert!(
        table.contains("- gpa-debug mixed-1t vs mimalloc: "),
        "{table}"
    );
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), workloads::ALL.len() * allocators::ALL.len());
    for w in workloads::ALL {
        assert!(
            table.contains(&format!("| {} |", w.name)),
            "table lacks {}",
            w.name
        );
        for e in allocators::ALL {
            let r = results
                .iter()
                .find(|r| r["workload"] == w.name && r["allocator"] == e.name)
                .unwrap_or_else(|| panic!("no result for {} on {}", w.name, e.name));
            let median = r["median"].as_f64().unwrap();
            assert!(
                median.is_finite() && median > 0.0,
                "{} on {}: {median}",
                w.name,
                e.name
            );
            let ratio = r["ratio_vs_baseline"].as_f64().unwrap();
            if e.name == allocators::BASELINE {
                assert_eq!(ratio, 1.0);
            }
            if w.needs_child() {
                let extra = &r["extra_medians"];
                assert!(extra["peak_live_bytes"].as_f64().unwrap() >= (1 << 20) as f64);
                // The child's own peak RSS must cover the live bytes it held.
                assert!(
                    extra["peak_rss_bytes"].as_f64().unwrap()
                        >= extra["peak_live_bytes"].as_f64().unwrap()
                );
            }
        }
    }
}

#[test]
fn filter_and_alloc_select_rows_and_columns() {
    let out = Command::new(env!("CARGO_BIN_EXE_gpa-bench"))
        .args([
            "--quick",
            "--filter",
            "pairs16,larson",
            "--alloc",
            "mimalloc,system",
        ])
        .output()
        .expect("run gpa-bench");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| {
            l.starts_with("| ") && !l.starts_with("| workload") && !l.starts_with("| geomean")
        })
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        table.contains("| workload | unit | system | mimalloc |\n"),
        "{table}"
    );
}
