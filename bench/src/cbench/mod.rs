//! # gpa-cbench: C programs on every allocator, each in a process of its own
//!
//! The Rust suite ([`crate::harness`]) calls allocators directly; this one measures what a C
//! program sees: the allocator comes in through `LD_PRELOAD` (or Valgrind), every call goes
//! through the C ABI, and the figure is the wall time and peak RSS of the whole process.
//!
//! # Design
//! * [`BENCHMARKS`]: C programs kept in `bench/c/` (gpa's own equivalents of mimalloc-bench's
//!   suite: the same allocation patterns, none of their code) plus the C mixed workload of
//!   `examples/c/`. Each takes `SCALE [THREADS]`; SCALE is the work in percent of a full run.
//! * [`ALLOCATORS`]: one line each: glibc (nothing preloaded), mimalloc and jemalloc (Debian's
//!   `libmimalloc2.0` and `libjemalloc2`, preloaded), gpa in fast and check mode (its preload
//!   library with the environment `gpa run` sets) and Valgrind memcheck.
//! * Two suites: **fast** (glibc, mimalloc, jemalloc, gpa-fast) at full scale, and **check**
//!   (glibc, gpa-check, Valgrind) at a reduced scale, so that Valgrind finishes in seconds.
//! * Rounds are interleaved: in each round every benchmark runs once on every allocator of its
//!   suite, the allocator order rotated from round to round, so that load from other work on
//!   the machine spreads over all of them. Medians and the spread (half the range, relative to
//!   the median) are reported; every sample goes to the JSON output.
//! * Timing and memory come from `bench/c/spawn_rss.c`, a small (static where possible) helper
//!   that forks, runs the program and reports its wall time and `ru_maxrss` from `wait4`. A
//!   process's peak RSS as the kernel counts it includes the process it was forked from; the
//!   helper is small, the harness is not (it would add several MiB to every figure).
//! * The programs print one line with a checksum of their results: a line that differs from
//!   glibc's on the same input marks the sample as wrong.
//!
//! # Invariants
//! * Nothing is downloaded: the programs are compiled from the repository's sources with the
//!   system C compiler (`$CC`, else `cc`) at `-O2`, without frame pointers (the distribution
//!   default, and the hard case for stack traces).
//! * An allocator whose library or tool is missing is skipped with a message, never faked.

pub mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A benchmark program.
pub struct Benchmark {
    /// The row name (as mimalloc-bench names its runs: `N` for multi-threaded).
    pub name: &'static str,
    /// The source file, relative to the repository root.
    pub source: &'static str,
    /// Whether it takes a thread count.
    pub threaded: bool,
    /// A fixed thread count (1 for the one-thread forms of threaded programs).
    pub fixed_threads: Option<u32>,
    /// What it does, for the report.
    pub about: &'static str,
}

/// Every benchmark, in table order.
pub const BENCHMARKS: &[Benchmark] = &[
    Benchmark {
        name: "cfrac",
        source: "bench/c/cfrac.c",
        threaded: false,
        fixed_threads: None,
        about: "bignum continued fractions: millions of small, short-lived blocks",
    },
    Benchmark {
        name: "espresso",
        source: "bench/c/espresso.c",
        threaded: false,
        fixed_threads: None,
        about: "recursive cover complement: small blocks at every depth of a deep recursion",
    },
    Benchmark {
        name: "larsonN",
        source: "bench/c/larson.c",
        threaded: true,
        fixed_threads: None,
        about: "server threads that come and go; successors free their predecessors' blocks",
    },
    Benchmark {
        name: "xmalloc-testN",
        source: "bench/c/xmalloc-test.c",
        threaded: true,
        fixed_threads: None,
        about: "producer threads allocate 64-byte blocks, consumer threads free them",
    },
    Benchmark {
        name: "glibc-simple",
        source: "bench/c/glibc-simple.c",
        threaded: false,
        fixed_threads: None,
        about: "batches of 16-byte blocks allocated and freed: the fastest path",
    },
    Benchmark {
        name: "glibc-thread",
        source: "bench/c/glibc-thread.c",
        threaded: true,
        fixed_threads: None,
        about: "random replacement in per-thread working sets, 4..32768 bytes",
    },
    Benchmark {
        name: "alloc-test1",
        source: "bench/c/alloc-test.c",
        threaded: true,
        fixed_threads: Some(1),
        about: "skewed slot churn with long- and short-lived blocks, one thread",
    },
    Benchmark {
        name: "alloc-testN",
        source: "bench/c/alloc-test.c",
        threaded: true,
        fixed_threads: None,
        about: "the same on every thread",
    },
    Benchmark {
        name: "cache-scratch1",
        source: "bench/c/cache-scratch.c",
        threaded: true,
        fixed_threads: Some(1),
        about: "passive false sharing, one thread",
    },
    Benchmark {
        name: "cache-scratchN",
        source: "bench/c/cache-scratch.c",
        threaded: true,
        fixed_threads: None,
        about: "passive false sharing: threads free objects allocated side by side",
    },
    Benchmark {
        name: "mstressN",
        source: "bench/c/mstress.c",
        threaded: true,
        fixed_threads: None,
        about: "threads allocate, keep, free and trade blocks; rounds of fresh threads",
    },
    Benchmark {
        name: "rptestN",
        source: "bench/c/rptest.c",
        threaded: true,
        fixed_threads: None,
        about: "batches of 8..16000-byte blocks, part of them freed by the next thread",
    },
    Benchmark {
        name: "malloc-large",
        source: "bench/c/malloc-large.c",
        threaded: false,
        fixed_threads: None,
        about: "5..25 MiB buffers replaced at random, zeroed on allocation",
    },
    Benchmark {
        name: "alloc-workload",
        source: "examples/c/alloc_workload.c",
        threaded: false,
        fixed_threads: None,
        about: "the C mixed workload: word table, binary tree, churn of 8..16K blocks",
    },
];

/// How an allocator is brought into a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// Nothing: the C library's `malloc`.
    Plain,
    /// `LD_PRELOAD` of a system library (first existing path).
    Preload(&'static [&'static str]),
    /// `LD_PRELOAD` of gpa's preload library, with these environment variables.
    Gpa(&'static [(&'static str, &'static str)]),
    /// Under `valgrind --tool=memcheck`.
    Valgrind,
}

/// Which suite an allocator belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// Full scale: glibc, mimalloc, jemalloc, gpa fast mode.
    Fast,
    /// Reduced scale: glibc, gpa check mode, Valgrind.
    Check,
}

/// An allocator under test.
pub struct AllocatorSpec {
    /// Column name.
    pub name: &'static str,
    /// How it is brought in.
    pub via: Via,
    /// The suites it runs in.
    pub suites: &'static [Suite],
}

/// Every allocator, in column order.
pub const ALLOCATORS: &[AllocatorSpec] = &[
    AllocatorSpec {
        name: "glibc",
        via: Via::Plain,
        suites: &[Suite::Fast, Suite::Check],
    },
    AllocatorSpec {
        name: "mimalloc",
        via: Via::Preload(&[
            "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2",
            "/usr/lib/aarch64-linux-gnu/libmimalloc.so.2",
        ]),
        suites: &[Suite::Fast],
    },
    AllocatorSpec {
        name: "jemalloc",
        via: Via::Preload(&[
            "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
            "/usr/lib/aarch64-linux-gnu/libjemalloc.so.2",
        ]),
        suites: &[Suite::Fast],
    },
    AllocatorSpec {
        name: "gpa-fast",
        // What `gpa run --fast` sets.
        via: Via::Gpa(&[("GPA_MODE", "fast")]),
        suites: &[Suite::Fast],
    },
    AllocatorSpec {
        name: "gpa-check",
        // What `gpa run` sets (8-frame traces), with the text report discarded.
        via: Via::Gpa(&[
            ("GPA_MODE", "check"),
            ("GPA_FRAMES", "8"),
            ("GPA_LOG", "/dev/null"),
        ]),
        suites: &[Suite::Check],
    },
    AllocatorSpec {
        name: "valgrind",
        via: Via::Valgrind,
        suites: &[Suite::Check],
    },
];

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The repository root (sources are found relative to it).
    pub root: PathBuf,
    /// Where the programs are built.
    pub build_dir: PathBuf,
    /// gpa's preload library.
    pub preload: PathBuf,
    /// Work of the fast suite, in percent of a full run.
    pub fast_scale: u32,
    /// Work of the check suite, in percent of a full run.
    pub check_scale: u32,
    /// Threads of the `N` benchmarks.
    pub threads: u32,
    /// Interleaved rounds.
    pub rounds: usize,
    /// Only benchmarks whose name contains one of these.
    pub filter: Vec<String>,
    /// Only these allocators (empty: all).
    pub allocators: Vec<String>,
    /// Only these suites.
    pub suites: Vec<Suite>,
}

/// One run of one program.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Wall seconds from spawn to exit.
    pub seconds: f64,
    /// Peak resident set size in KiB (`ru_maxrss`).
    pub max_rss_kib: u64,
    /// The exit status was 0 and the output line matched glibc's.
    pub ok: bool,
    /// The first line the program printed.
    pub output: String,
}

/// Samples by (suite, benchmark, allocator).
pub type Results = BTreeMap<(SuiteKey, String, String), Vec<Sample>>;

/// A sortable suite key for [`Results`].
pub type SuiteKey = u8;

/// The key of a suite in [`Results`].
pub fn suite_key(suite: Suite) -> SuiteKey {
    match suite {
        Suite::Fast => 0,
        Suite::Check => 1,
    }
}

/// The benchmarks `options` selects.
pub fn selected_benchmarks(options: &Options) -> Vec<&'static Benchmark> {
    BENCHMARKS
        .iter()
        .filter(|b| options.filter.is_empty() || options.filter.iter().any(|f| b.name.contains(f)))
        .collect()
}

/// The allocators `options` selects that are available here, with the reason for each one
/// skipped.
pub fn available_allocators(
    options: &Options,
) -> (Vec<&'static AllocatorSpec>, Vec<(&'static str, String)>) {
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for spec in ALLOCATORS {
        if !options.allocators.is_empty() && !options.allocators.iter().any(|a| a == spec.name) {
            continue;
        }
        if !spec.suites.iter().any(|s| options.suites.contains(s)) {
            continue;
        }
        match missing(spec, options) {
            Some(reason) => skipped.push((spec.name, reason)),
            None => found.push(spec),
        }
    }
    (found, skipped)
}

fn missing(spec: &AllocatorSpec, options: &Options) -> Option<String> {
    match spec.via {
        Via::Plain => None,
        Via::Preload(paths) => (!paths.iter().any(|p| Path::new(p).exists())).then(|| {
            format!(
                "{} not found (Debian: apt-get install libmimalloc2.0 libjemalloc2)",
                paths[0]
            )
        }),
        Via::Gpa(_) => (!options.preload.exists()).then(|| {
            format!(
                "{} not found (cargo build --release -p gpa-capi)",
                options.preload.display()
            )
        }),
        Via::Valgrind => (!on_path("valgrind")).then(|| "valgrind not on PATH".to_string()),
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// The C compiler: `$CC`, else `cc`.
pub fn compiler() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_string())
}

/// The path of the spawn helper in `options.build_dir`.
pub fn spawn_helper(options: &Options) -> PathBuf {
    options.build_dir.join("spawn_rss")
}

/// Compiles every selected benchmark into `options.build_dir`; returns the executable of each
/// source file. Also builds the spawn helper (`spawn_rss`), statically if the C library
/// allows.
pub fn build(options: &Options) -> Result<BTreeMap<&'static str, PathBuf>, String> {
    std::fs::create_dir_all(&options.build_dir)
        .map_err(|e| format!("cannot create {}: {e}", options.build_dir.display()))?;
    let helper_source = options.root.join("bench/c/spawn_rss.c");
    let helper = spawn_helper(options);
    let built_static = Command::new(compiler())
        .args(["-O2", "-static", "-o"])
        .arg(&helper)
        .arg(&helper_source)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !built_static {
        let status = Command::new(compiler())
            .args(["-O2", "-o"])
            .arg(&helper)
            .arg(&helper_source)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", compiler()))?;
        if !status.success() {
            return Err(format!(
                "{} failed on {}",
                compiler(),
                helper_source.display()
            ));
        }
    }
    let mut built = BTreeMap::new();
    for benchmark in selected_benchmarks(options) {
        if built.contains_key(benchmark.source) {
            continue;
        }
        let source = options.root.join(benchmark.source);
        let stem = Path::new(benchmark.source)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("bench");
        let output = options.build_dir.join(stem);
        let status = Command::new(compiler())
            .args(["-O2", "-g", "-pthread", "-I"])
            .arg(options.root.join("bench/c"))
            .arg(&source)
            .arg("-o")
            .arg(&output)
            .arg("-lm")
            .status()
            .map_err(|e| format!("cannot run {}: {e}", compiler()))?;
        if !status.success() {
            return Err(format!("{} failed on {}", compiler(), source.display()));
        }
        built.insert(benchmark.source, output);
    }
    Ok(built)
}

/// The command line arguments of `benchmark` at `scale` percent.
pub fn arguments(benchmark: &Benchmark, scale: u32, threads: u32) -> Vec<String> {
    if benchmark.source.starts_with("examples/") {
        // The mixed workload takes a round count (10 is its full run).
        return vec![(scale / 10).max(1).to_string()];
    }
    let mut args = vec![scale.to_string()];
    if benchmark.threaded {
        args.push(benchmark.fixed_threads.unwrap_or(threads).to_string());
    }
    args
}

/// Runs one program once under one allocator (through the spawn helper).
pub fn run_once(
    spec: &AllocatorSpec,
    program: &Path,
    args: &[String],
    options: &Options,
) -> Result<Sample, String> {
    let result = options
        .build_dir
        .join(format!("result-{}.txt", std::process::id()));
    let _ = std::fs::remove_file(&result);
    let mut command = Command::new(spawn_helper(options));
    command.arg(&result);
    if spec.via == Via::Valgrind {
        command.args(["valgrind", "--tool=memcheck", "-q", "--log-file=/dev/null"]);
    }
    command.arg(program).args(args);
    match spec.via {
        Via::Plain | Via::Valgrind => {}
        Via::Preload(paths) => {
            let path = paths.iter().find(|p| Path::new(p).exists()).copied();
            command.env("LD_PRELOAD", path.unwrap_or(paths[0]));
        }
        Via::Gpa(variables) => {
            command.env("LD_PRELOAD", &options.preload);
            for (name, value) in variables {
                command.env(name, value);
            }
        }
    }
    let out = command
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let report = std::fs::read_to_string(&result).map_err(|e| {
        format!(
            "no result from the spawn helper for {}: {e}",
            program.display()
        )
    })?;
    let _ = std::fs::remove_file(&result);
    let fields: Vec<&str> = report.split_whitespace().collect();
    let parse_error = || format!("bad spawn helper result {report:?}");
    let [rss, seconds, status] = fields[..] else {
        return Err(parse_error());
    };
    let output = String::from_utf8_lossy(&out.stdout);
    Ok(Sample {
        seconds: seconds.parse().map_err(|_| parse_error())?,
        max_rss_kib: rss.parse().map_err(|_| parse_error())?,
        ok: status == "0",
        output: output.lines().next().unwrap_or("").to_string(),
    })
}

/// Runs every selected (suite, benchmark, allocator) `options.rounds` times, interleaved;
/// `progress` hears about each run.
pub fn run_all(
    options: &Options,
    programs: &BTreeMap<&'static str, PathBuf>,
    allocators: &[&'static AllocatorSpec],
    mut progress: impl FnMut(&str),
) -> Result<Results, String> {
    let mut results = Results::new();
    let benchmarks = selected_benchmarks(options);
    for round in 0..options.rounds {
        for (index, benchmark) in benchmarks.iter().enumerate() {
            for &suite in &options.suites {
                let scale = match suite {
                    Suite::Fast => options.fast_scale,
                    Suite::Check => options.check_scale,
                };
                let mut members: Vec<_> = allocators
                    .iter()
                    .filter(|a| a.suites.contains(&suite))
                    .collect();
                if members.is_empty() {
                    continue;
                }
                let shift = (round + index) % members.len();
                members.rotate_left(shift);
                let program = &programs[benchmark.source];
                let args = arguments(benchmark, scale, options.threads);
                for spec in members {
                    let sample = run_once(spec, program, &args, options)?;
                    progress(&format!(
                        "round {}/{} {:?} {} {}: {:.3} s, {} KiB{}",
                        round + 1,
                        options.rounds,
                        suite,
                        benchmark.name,
                        spec.name,
                        sample.seconds,
                        sample.max_rss_kib,
                        if sample.ok { "" } else { " (FAILED)" }
                    ));
                    results
                        .entry((
                            suite_key(suite),
                            benchmark.name.to_string(),
                            spec.name.to_string(),
                        ))
                        .or_default()
                        .push(sample);
                }
            }
        }
    }
    mark_wrong_outputs(&mut results);
    Ok(results)
}

/// Marks samples whose output line differs from glibc's on the same benchmark and scale.
fn mark_wrong_outputs(results: &mut Results) {
    let expected: BTreeMap<(SuiteKey, String), String> = results
        .iter()
        .filter(|((_, _, allocator), _)| allocator == "glibc")
        .filter_map(|((suite, benchmark, _), samples)| {
            samples
                .iter()
                .find(|s| s.ok)
                .map(|s| ((*suite, benchmark.clone()), s.output.clone()))
        })
        .collect();
    for ((suite, benchmark, _), samples) in results.iter_mut() {
        if let Some(line) = expected.get(&(*suite, benchmark.clone())) {
            for sample in samples.iter_mut() {
                if sample.output != *line {
                    sample.ok = false;
                }
            }
        }
    }
}

/// The median of `values` (which must not be empty).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

/// Half the range of `values` relative to their median (0.05 = ±5%).
pub fn spread(values: &[f64]) -> f64 {
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let middle = median(values);
    if middle > 0.0 {
        (high - low) / 2.0 / middle
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_spreads() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!((spread(&[0.9, 1.0, 1.1]) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn arguments_follow_the_benchmark() {
        let alloc_test1 = BENCHMARKS.iter().find(|b| b.name == "alloc-test1").unwrap();
        assert_eq!(arguments(alloc_test1, 50, 2), ["50", "1"]);
        let larson = BENCHMARKS.iter().find(|b| b.name == "larsonN").unwrap();
        assert_eq!(arguments(larson, 100, 4), ["100", "4"]);
        let cfrac = BENCHMARKS.iter().find(|b| b.name == "cfrac").unwrap();
        assert_eq!(arguments(cfrac, 100, 2), ["100"]);
        let workload = BENCHMARKS
            .iter()
            .find(|b| b.name == "alloc-workload")
            .unwrap();
        assert_eq!(arguments(workload, 100, 2), ["10"]);
        assert_eq!(arguments(workload, 5, 2), ["1"]);
    }
}
