//! `gpa`: the command-line front end of the gpa allocator.
//!
//! `gpa run [OPTIONS] -- PROGRAM [ARGS]` runs an unchanged, dynamically linked program with
//! `libgpa_preload.so` preloaded, so that every `malloc`/`free` goes to gpa's
//! `GeneralPurposeAllocator`, then prints one report (memory mistakes with stack traces, leaks
//! grouped by allocation site) and optionally writes it as JSON.
//!
//! # Design
//! Options become environment variables of the child (`GPA_MODE`, `GPA_FRAMES`, ...; see
//! `gpa::capi::settings`). Every process of the run (the program and the children it starts,
//! which inherit `LD_PRELOAD`) writes its own report into a fresh directory
//! (`GPA_REPORT_DIR`) at exit; this program merges them after the program ends. The exit
//! status is the program's own (128 + signal number when a signal ended it), or
//! `--error-exitcode` when there are findings.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};

/// The preload library's file name.
const LIBRARY: &str = "libgpa_preload.so";

#[derive(Parser)]
#[command(
    name = "gpa",
    version,
    about = "Run programs on gpa's checking allocator"
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Run PROGRAM with every malloc/free on gpa and report memory mistakes and leaks.
    Run(RunArgs),
}

#[derive(Args)]
struct RunArgs {
    /// Frames kept per stack trace (check mode).
    #[arg(long, value_name = "N", default_value_t = 8)]
    frames: usize,
    /// Fast mode: gpa as a drop-in fast malloc, no checks and no report.
    #[arg(long)]
    fast: bool,
    /// Guard mode: check mode with every block against an inaccessible guard page, so reads
    /// and writes past the end and uses after free are reported at the access.
    #[arg(long, conflicts_with = "fast")]
    guard: bool,
    /// Guard about one allocation in N (with check or fast mode).
    #[arg(long, value_name = "N")]
    guard_sample: Option<usize>,
    /// Guarded blocks start against their guard page (underflows fault); implies --guard
    /// without --guard-sample.
    #[arg(long)]
    guard_underflow: bool,
    /// Bytes of freed blocks kept from reuse (suffixes k, m, g): guarded blocks' quarantine
    /// (default 1g, address space only) and, in check mode, each thread's (default 256k).
    #[arg(long, value_name = "BYTES")]
    quarantine: Option<String>,
    /// Make allocations fail once live blocks total more than BYTES (suffixes k, m, g).
    #[arg(long, value_name = "BYTES")]
    memory_limit: Option<String>,
    /// Exit status when there are findings (default: the program's own status).
    #[arg(long, value_name = "N")]
    error_exitcode: Option<u8>,
    /// List still-reachable blocks at exit (by allocation site), not only count them.
    #[arg(long)]
    show_reachable: bool,
    /// Write the text report to FILE instead of stderr.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Write the report as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// The preload library (default: next to this executable, or $GPA_PRELOAD).
    #[arg(long, value_name = "PATH")]
    preload: Option<PathBuf>,
    /// The program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM"
    )]
    command: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Commands::Run(args) => match run(&args) {
            Ok(code) => ExitCode::from(code),
            Err(message) => {
                eprintln!("gpa: {message}");
                ExitCode::from(125)
            }
        },
    }
}

/// Where the preload library is: `--preload`, `$GPA_PRELOAD`, or next to this executable
/// (also one directory up, for test binaries in `target/*/deps`).
fn find_library(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("GPA_PRELOAD") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let mut dir = exe.parent();
    for _ in 0..2 {
        let Some(here) = dir else { break };
        let candidate = here.join(LIBRARY);
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = here.parent();
    }
    Err(format!(
        "{LIBRARY} not found next to {}; build it with `cargo build --release -p gpa-capi -p gpa-cli` \
         or pass --preload PATH",
        exe.display()
    ))
}

fn fresh_report_dir() -> Result<PathBuf, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("gpa-run-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

fn run(args: &RunArgs) -> Result<u8, String> {
    let library = find_library(args.preload.as_deref())?;
    let library = library
        .canonicalize()
        .map_err(|e| format!("{}: {e}", library.display()))?;
    let report_dir = fresh_report_dir()?;
    let (program, program_args) = args.command.split_first().ok_or("no program given")?;
    let mut command = Command::new(program);
    command.args(program_args);
    let preload = match std::env::var("LD_PRELOAD") {
        Ok(existing) if !existing.is_empty() => format!("{} {existing}", library.display()),
        _ => library.display().to_string(),
    };
    command
        .env("LD_PRELOAD", preload)
        .env("GPA_MODE", mode(args))
        .env("GPA_FRAMES", args.frames.to_string())
        .env("GPA_REPORT_DIR", &report_dir)
        .env_remove("GPA_LOG")
        .env_remove("GPA_JSON");
    if args.show_reachable {
        command.env("GPA_SHOW_REACHABLE", "1");
    }
    if let Some(limit) = &args.memory_limit {
        command.env("GPA_MEMORY_LIMIT", limit);
    }
    if let Some(every) = args.guard_sample {
        command.env("GPA_GUARD_SAMPLE", every.to_string());
    }
    if args.guard_underflow {
        command.env("GPA_GUARD_UNDERFLOW", "1");
    }
    if let Some(bytes) = &args.quarantine {
        command.env("GPA_QUARANTINE", bytes);
    }
    let status = command.status();
    let collected = collect(&report_dir);
    let _ = std::fs::remove_dir_all(&report_dir);
    let status = status.map_err(|e| format!("cannot run {program}: {e}"))?;
    let own_code = exit_code(status);
    let (text, merged) = collected;
    let findings = merged["findings"].as_array().map_or(0, Vec::len);
    let mut json = merged;
    json["exit_status"] = own_code.into();
    if let Some(path) = &args.json {
        let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
        std::fs::write(path, pretty + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let mut text = text;
    if findings != 0 {
        let processes = json["processes"].as_array().map_or(0, Vec::len);
        text.push_str(&format!(
            "gpa: {findings} finding(s) in {processes} process(es) checked; {} leaked block(s), {} byte(s)\n",
            json["leaked_blocks"], json["leaked_bytes"]
        ));
    }
    match &args.log {
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => eprint!("{text}"),
    }
    Ok(match args.error_exitcode {
        Some(code) if findings != 0 => code,
        _ => own_code,
    })
}

/// `GPA_MODE` for the options given.
fn mode(args: &RunArgs) -> &'static str {
    if args.fast {
        "fast"
    } else if args.guard || (args.guard_underflow && args.guard_sample.is_none()) {
        "guard"
    } else {
        "check"
    }
}

fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => 128u8.wrapping_add(signal as u8),
        _ => 1,
    }
}

/// Merges the per-process reports of `dir`: the text of each (by pid) and one JSON object.
fn collect(dir: &Path) -> (String, Value) {
    let mut reports: Vec<(u64, Value, String)> = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let Some(pid) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse().ok())
            else {
                continue;
            };
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            let text = std::fs::read_to_string(path.with_extension("txt")).unwrap_or_default();
            reports.push((pid, value, text));
        }
    }
    reports.sort_by_key(|(pid, _, _)| *pid);
    let mut findings = Vec::new();
    let mut reachable = Vec::new();
    let mut processes = Vec::new();
    let mut text = String::new();
    let sum = |key: &str| -> u64 {
        reports
            .iter()
            .map(|(_, v, _)| v[key].as_u64().unwrap_or(0))
            .sum()
    };
    let totals = json!({
        "leaked_blocks": sum("leaked_blocks"),
        "leaked_bytes": sum("leaked_bytes"),
        "reachable_blocks": sum("reachable_blocks"),
        "reachable_bytes": sum("reachable_bytes"),
    });
    let single = reports.len() == 1;
    for (pid, value, process_text) in &reports {
        let program = value["program"].clone();
        let tag = |mut finding: Value| {
            finding["pid"] = (*pid).into();
            finding["program"] = program.clone();
            finding
        };
        let own = value["findings"].as_array().cloned().unwrap_or_default();
        processes.push(json!({
            "pid": pid,
            "program": program,
            "findings": own.len(),
            "leaked_blocks": value["leaked_blocks"],
            "leaked_bytes": value["leaked_bytes"],
            "reachable_blocks": value["reachable_blocks"],
            "reachable_bytes": value["reachable_bytes"],
        }));
        findings.extend(own.into_iter().map(tag));
        reachable.extend(
            value["reachable"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(tag),
        );
        if single {
            // One process: its report as it is, without the per-process header line.
            text.push_str(process_text.split_once('\n').map_or("", |(_, rest)| rest));
        } else {
            text.push_str(process_text);
        }
    }
    let mut merged = json!({ "findings": findings, "processes": processes });
    for (key, value) in totals.as_object().into_iter().flatten() {
        merged[key] = value.clone();
    }
    if !reachable.is_empty() {
        merged["reachable"] = Value::Array(reachable);
    }
    (text, merged)
}
