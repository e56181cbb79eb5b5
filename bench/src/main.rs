//! `gpa-bench`: runs the workloads on every allocator side by side and prints a table of
//! medians and ratios against mimalloc (see `docs/performance.md`).
//!
//! `--child WORKLOAD --alloc NAME` is the internal mode the harness uses for workloads that
//! need a process of their own: it runs once and prints the sample as one JSON line.

use std::process::ExitCode;

use clap::Parser;
use gpa_bench::{allocators, harness, sys, table, workloads, Params};

/// Allocator benchmarks: gpa against glibc malloc, mimalloc and jemalloc.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// A fast smoke run: 1% of the work, one repetition (unless --repeats is given).
    #[arg(long)]
    quick: bool,
    /// Repetitions per (workload, allocator); the table shows medians.
    #[arg(long)]
    repeats: Option<usize>,
    /// Only workloads whose name contains one of these comma-separated strings.
    #[arg(long, value_delimiter = ',')]
    filter: Vec<String>,
    /// Only these allocators (comma-separated names).
    #[arg(long, value_delimiter = ',')]
    alloc: Vec<String>,
    /// Also write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<std::path::PathBuf>,
    /// The base seed of the random inputs (repetition r uses seed + r).
    #[arg(long, default_value_t = 0x5EED)]
    seed: u64,
    /// Multiplies the amount of work (1.0 = full run; --quick means 0.01).
    #[arg(long)]
    scale: Option<f64>,
    /// List the workloads and allocators, then exit.
    #[arg(long)]
    list: bool,
    /// Internal: run one workload once in this process and print its sample as JSON.
    #[arg(long, hide = true, value_name = "WORKLOAD")]
    child: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gpa-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let scale = args.scale.unwrap_or(if args.quick { 0.01 } else { 1.0 });
    if !(scale > 0.0 && scale.is_finite()) {
        return Err(format!("--scale must be positive, got {scale}"));
    }
    let params = Params {
        scale,
        seed: args.seed,
    };
    if let Some(name) = &args.child {
        let w = workloads::Workload::by_name(name).ok_or(format!("no workload {name}"))?;
        let [alloc] = args.alloc.as_slice() else {
            return Err("--child needs exactly one --alloc".into());
        };
        let e = allocators::by_name(alloc).ok_or(format!("no allocator {alloc}"))?;
        println!("{}", harness::sample_to_json(&e.bench.run(w, &params)));
        return Ok(());
    }
    if args.list {
        for w in workloads::ALL {
            println!(
                "workload  {:<18} {} thread(s), {}",
                w.name, w.threads, w.unit
            );
        }
        for e in allocators::ALL {
            println!("allocator {:<18} {}", e.name, e.about);
        }
        return Ok(());
    }
    let selected_workloads: Vec<_> = workloads::ALL
        .iter()
        .filter(|w| {
            args.filter.is_empty() || args.filter.iter().any(|f| w.name.contains(f.as_str()))
        })
        .collect();
    let selected_allocators: Vec<_> = allocators::ALL
        .iter()
        .filter(|e| args.alloc.is_empty() || args.alloc.iter().any(|a| a == e.name))
        .collect();
    if selected_workloads.is_empty() || selected_allocators.is_empty() {
        return Err("nothing selected (see --list)".into());
    }
    let repeats = args
        .repeats
        .unwrap_or(if args.quick { 1 } else { 9 })
        .max(1);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let command = std::iter::once("gpa-bench".to_string())
        .chain(std::env::args().skip(1))
        .collect::<Vec<_>>()
        .join(" ");
    let date = sys::utc_now();
    let load_before = sys::loadavg();
    let plan = harness::Plan {
        workloads: selected_workloads,
        allocators: selected_allocators,
        repeats,
        params,
        exe: &exe,
    };
    let cells = harness::run(&plan, |cell, rep| {
        eprintln!(
            "{:<18} {:<10} rep {:>2}: {:.2} {}",
            cell.workload.name,
            cell.allocator,
            rep + 1,
            cell.samples.last().map_or(f64::NAN, |s| s.value),
            cell.workload.unit
        );
    })?;
    let meta = table::Meta {
        command,
        date,
        cpus: sys::cpus(),
        cpu_model: sys::cpu_model(),
        loadavg: (load_before, sys::loadavg()),
        repeats,
        scale,
        seed: args.seed,
    };
    print!("{}", table::markdown(&cells, &meta));
    let targets = table::targets(&cells);
    if !targets.is_empty() {
        print!("\nGoals (ratios of medians from this run):\n\n{targets}");
    }
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&table::json(&cells, &meta))
            .expect("JSON of numbers and strings");
        std::fs::write(path, text + "\n")
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
