//! `gpa-cbench`: the C benchmark suite (see `gpa_bench::cbench` and `bench/c/run.sh`). Builds
//! the programs of `bench/c/` with the system C compiler, runs them under glibc, mimalloc,
//! jemalloc, gpa's fast and check modes and Valgrind, interleaved, and prints a markdown report
//! of medians, spreads, ratios and peak RSS.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use gpa_bench::cbench::{self, report, Options, Suite};
use gpa_bench::sys;
use serde_json::json;

/// C allocation benchmarks: gpa (fast and check mode) against glibc, mimalloc, jemalloc and
/// Valgrind memcheck, each program in a process of its own.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Interleaved rounds (the tables show medians).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Work of the fast suite, in percent of a full run.
    #[arg(long, default_value_t = 100)]
    scale: u32,
    /// Work of the check suite (glibc, gpa check mode, Valgrind), in percent of a full run.
    #[arg(long, default_value_t = 10)]
    check_scale: u32,
    /// Threads of the multi-threaded (`N`) benchmarks.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Only benchmarks whose name contains one of these (comma-separated).
    #[arg(long, value_delimiter = ',')]
    filter: Vec<String>,
    /// Only these allocators (comma-separated: glibc, mimalloc, jemalloc, gpa-fast,
    /// gpa-check, valgrind).
    #[arg(long, value_delimiter = ',')]
    alloc: Vec<String>,
    /// Only this suite: `fast` or `check` (default: both).
    #[arg(long)]
    suite: Option<String>,
    /// A smoke run: 1% of the work, one round.
    #[arg(long)]
    quick: bool,
    /// gpa's preload library (default: libgpa_preload.so next to this executable).
    #[arg(long)]
    preload: Option<PathBuf>,
    /// Where to build the programs (default: `cbench/` next to this executable).
    #[arg(long)]
    build_dir: Option<PathBuf>,
    /// Also write every sample as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gpa-cbench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let exe_dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .ok_or("no repository root")?;
    let suites = match args.suite.as_deref() {
        None => vec![Suite::Fast, Suite::Check],
        Some("fast") => vec![Suite::Fast],
        Some("check") => vec![Suite::Check],
        Some(other) => return Err(format!("--suite must be fast or check, not {other}")),
    };
    let (fast_scale, check_scale, rounds) = if args.quick {
        (1, 1, 1)
    } else {
        (args.scale, args.check_scale, args.rounds.max(1))
    };
    let options = Options {
        root,
        build_dir: args.build_dir.unwrap_or_else(|| exe_dir.join("cbench")),
        preload: args
            .preload
            .unwrap_or_else(|| exe_dir.join("libgpa_preload.so")),
        fast_scale,
        check_scale,
        threads: args.threads.max(1),
        rounds,
        filter: args.filter,
        allocators: args.alloc,
        suites,
    };
    let (allocators, skipped) = cbench::available_allocators(&options);
    for (name, reason) in &skipped {
        eprintln!("gpa-cbench: skipping {name}: {reason}");
    }
    if allocators.is_empty() {
        return Err("no allocator to run".into());
    }
    let programs = cbench::build(&options)?;
    let load_before = sys::loadavg();
    let started = sys::utc_now();
    let results = cbench::run_all(&options, &programs, &allocators, |line| eprintln!("{line}"))?;
    let load_after = sys::loadavg();
    println!(
        "Command: `gpa-cbench {}`  ",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    println!(
        "Date: {started}; {} CPUs ({}); load average before {load_before}, after {load_after}; \
         {} rounds, interleaved; fast suite at {}% scale, check suite at {}%; {} threads in the N \
         benchmarks; compiler `{} -O2` (no frame pointers).\n",
        sys::cpus(),
        sys::cpu_model(),
        options.rounds,
        options.fast_scale,
        options.check_scale,
        options.threads,
        cbench::compiler(),
    );
    print!("{}", report::markdown(&results));
    if let Some(path) = args.json {
        let context = json!({
            "date": started,
            "load_before": load_before,
            "load_after": load_after,
            "rounds": options.rounds,
            "fast_scale": options.fast_scale,
            "check_scale": options.check_scale,
            "threads": options.threads,
        });
        let text = serde_json::to_string_pretty(&report::json(&results, context))
            .map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
