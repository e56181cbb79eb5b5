//! The leak-check options of `gpa run` (Valgrind memcheck's names and meanings), passed to
//! every checked process as environment variables, and the merge of the processes' leak
//! summaries.
//!
//! # Design
//! Each option is checked here, before the program starts: a bad loss-kind set or an
//! unreadable or malformed suppression file is an error of `gpa run` (status 125), not a
//! warning lost in the program's report. The preload library reads the same variables
//! (`src/capi/settings.rs`).

use crate::child_env::ChildEnv;
use std::path::PathBuf;

use clap::Args;
use gpa::__capi::leak_options::{thousands, Heuristics, KindSet, Suppressions};
use serde_json::{json, Value};

/// Leak-check options (flattened into `gpa run`'s).
#[derive(Args, Debug, Default)]
pub(crate) struct LeakArgs {
    /// Loss kinds listed in the report: a comma-separated list of definite, indirect,
    /// possible, reachable; or all, or none.
    #[arg(long, value_name = "SET", default_value = "definite,possible")]
    pub(crate) show_leak_kinds: String,
    /// Loss kinds that count as errors (for --error-exitcode), same syntax.
    #[arg(long, value_name = "SET", default_value = "definite,possible")]
    pub(crate) errors_for_leak_kinds: String,
    /// List every loss kind, still reachable blocks included (--show-leak-kinds=all).
    #[arg(long)]
    pub(crate) show_reachable: bool,
    /// Interior pointers that count as start pointers: stdstring, length64, newarray,
    /// multipleinheritance (memcheck's --leak-check-heuristics), gobject (gpa's: where GLib
    /// tells Valgrind its type system's blocks start); or all, or none.
    #[arg(long, value_name = "SET", default_value = "all")]
    pub(crate) leak_check_heuristics: String,
    /// A suppression file, in Valgrind's format ({ ... Memcheck:Leak ... fun:... }) or
    /// LeakSanitizer's (leak:PATTERN); may be given several times.
    #[arg(long, value_name = "FILE")]
    pub(crate) suppressions: Vec<PathBuf>,
    /// Print a ready suppression entry after each finding (yes or all; no to turn off).
    #[arg(long, value_name = "WHEN", num_args = 0..=1, default_missing_value = "all")]
    pub(crate) gen_suppressions: Option<String>,
    /// Apply gpa's built-in suppressions for blocks glibc keeps until exit (yes or no).
    #[arg(long, value_name = "yes|no", default_value = "yes")]
    pub(crate) default_suppressions: String,
    /// Let glibc free what it keeps until exit before the leak check, as Valgrind does
    /// (yes or no).
    #[arg(long, value_name = "yes|no", default_value = "yes")]
    pub(crate) run_libc_freeres: String,
}

fn yes_no(option: &str, value: &str) -> Result<bool, String> {
    match value {
        "yes" => Ok(true),
        "no" => Ok(false),
        other => Err(format!("--{option}: expected yes or no, found `{other}`")),
    }
}

/// Checks the options and sets the child's environment for them.
pub(crate) fn apply(args: &LeakArgs, env: &mut ChildEnv) -> Result<(), String> {
    let show = if args.show_reachable {
        KindSet::ALL
    } else {
        KindSet::parse(&args.show_leak_kinds).map_err(|e| format!("--show-leak-kinds: {e}"))?
    };
    let errors = KindSet::parse(&args.errors_for_leak_kinds)
        .map_err(|e| format!("--errors-for-leak-kinds: {e}"))?;
    if Heuristics::parse(&args.leak_check_heuristics).is_none() {
        return Err(format!(
            "--leak-check-heuristics: unknown heuristics `{}` (expected a comma-separated list \
             of stdstring, length64, newarray, multipleinheritance, gobject; or all, or none)",
            args.leak_check_heuristics
        ));
    }
    env.set("GPA_SHOW_LEAK_KINDS", show.to_names())
        .set("GPA_ERRORS_FOR_LEAK_KINDS", errors.to_names())
        .set("GPA_LEAK_CHECK_HEURISTICS", &args.leak_check_heuristics)
        .remove("GPA_SHOW_REACHABLE");
    let mut files = Vec::new();
    for path in &args.suppressions {
        Suppressions::from_file(path).map_err(|e| format!("--suppressions: {e}"))?;
        let absolute = path
            .canonicalize()
            .map_err(|e| format!("--suppressions: {}: {e}", path.display()))?;
        let text = absolute.to_str().ok_or_else(|| {
            format!(
                "--suppressions: {}: the path is not UTF-8",
                absolute.display()
            )
        })?;
        if text.contains(':') {
            return Err(format!(
                "--suppressions: {text}: a path containing `:` cannot be passed on"
            ));
        }
        files.push(text.to_owned());
    }
    if files.is_empty() {
        env.remove("GPA_SUPPRESSIONS");
    } else {
        env.set("GPA_SUPPRESSIONS", files.join(":"));
    }
    let generate = match args.gen_suppressions.as_deref() {
        None | Some("no") => false,
        Some("yes" | "all") => true,
        Some(other) => {
            return Err(format!(
                "--gen-suppressions: expected yes, all or no, found `{other}`"
            ))
        }
    };
    env.set("GPA_GEN_SUPPRESSIONS", if generate { "1" } else { "0" });
    let defaults = yes_no("default-suppressions", &args.default_suppressions)?;
    env.set("GPA_DEFAULT_SUPPRESSIONS", if defaults { "1" } else { "0" });
    let freeres = yes_no("run-libc-freeres", &args.run_libc_freeres)?;
    env.set("GPA_RUN_LIBC_FREERES", if freeres { "1" } else { "0" });
    Ok(())
}

/// Leak summaries (`{"definite": {"blocks", "bytes"}, ...}`) added up.
pub(crate) fn merge_summaries<'a>(summaries: impl Iterator<Item = &'a Value>) -> Value {
    let mut totals = json!({});
    for summary in summaries {
        let Some(summary) = summary.as_object() else {
            continue;
        };
        for (kind, amount) in summary {
            for field in ["blocks", "bytes"] {
                let add = amount[field].as_u64().unwrap_or(0);
                let slot = &mut totals[kind][field];
                *slot = (slot.as_u64().unwrap_or(0) + add).into();
            }
        }
    }
    totals
}

/// Findings that count as errors in one process's report (`errors`; for reports without
/// it, every finding).
pub(crate) fn errors(report: &Value) -> u64 {
    report["errors"].as_u64().unwrap_or_else(|| {
        report["findings"]
            .as_array()
            .map_or(0, |findings| findings.len() as u64)
    })
}

/// What a leak summary leaves in use at exit, for the line that ends a run with no finding
/// listed: "all heap blocks were freed" (memcheck's words when nothing is left), or the bytes
/// and blocks still in use, said to be no error only when `errors` is 0 (a loss kind that
/// counts as an error may be left out of the listing by `--show-leak-kinds`).
pub(crate) fn in_use_at_exit(totals: &Value, errors: u64) -> String {
    let kinds = [
        "definite",
        "indirect",
        "possible",
        "reachable",
        "suppressed",
    ];
    let sum = |field: &str| -> u64 {
        kinds
            .iter()
            .map(|kind| totals[*kind][field].as_u64().unwrap_or(0))
            .sum()
    };
    let (bytes, blocks) = (sum("bytes"), sum("blocks"));
    if blocks == 0 {
        return "all heap blocks were freed".into();
    }
    let verdict = if errors == 0 {
        ", none of them an error"
    } else {
        ""
    };
    format!(
        "in use at exit: {} bytes in {} blocks{verdict} (--show-leak-kinds=all lists them)",
        thousands(bytes as usize),
        thousands(blocks as usize)
    )
}

/// The leak summary as text, memcheck's layout.
pub(crate) fn summary_text(totals: &Value) -> String {
    let mut text = String::new();
    for (label, kind) in [
        ("definitely lost", "definite"),
        ("indirectly lost", "indirect"),
        ("  possibly lost", "possible"),
        ("still reachable", "reachable"),
        ("     suppressed", "suppressed"),
    ] {
        let amount = &totals[kind];
        text.push_str(&format!(
            "    {label}: {} bytes in {} blocks\n",
            thousands(amount["bytes"].as_u64().unwrap_or(0) as usize),
            thousands(amount["blocks"].as_u64().unwrap_or(0) as usize)
        ));
    }
    text
}
