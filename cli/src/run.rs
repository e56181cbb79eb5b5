//! `gpa run`: starts the program with the preload library and the settings in its
//! environment, waits for it, and turns the per-process reports into one report and one exit
//! status.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::collect::collect;
use crate::RunArgs;

/// The preload library's file name.
const LIBRARY: &str = "libgpa_preload.so";

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

pub(crate) fn run(args: &RunArgs) -> Result<u8, String> {
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

fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => 128u8.wrapping_add(signal as u8),
        _ => 1,
    }
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
