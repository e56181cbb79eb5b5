//! `gpa`: the command-line front end of the gpa allocator.
//!
//! `gpa run [OPTIONS] -- PROGRAM [ARGS]` runs an unchanged, dynamically linked program with
//! `libgpa_preload.so` preloaded, so that every `malloc`/`free` goes to gpa's
//! `GeneralPurposeAllocator`, then prints one report (memory mistakes with stack traces, leaks
//! grouped by allocation site) and optionally writes it as JSON.
//!
//! # Design
//! Options become environment variables of the child (`GPA_MODE`, `GPA_FRAMES`, ...; see
//! `src/capi/settings.rs`). The program is found and inspected first (`launch`: 127 when it
//! is not found, 126 when it cannot run or cannot be checked, `/bin/sh` for a script without
//! `#!`). Every process of the run (the program and the children it starts, which inherit
//! `LD_PRELOAD`) records its start, its `exec`s and `posix_spawn`s, and its report in a
//! fresh directory (`GPA_REPORT_DIR`; `src/capi/process`); this program turns them into
//! one list of processes, checked or not and why, and one report (`collect`). The exit
//! status is the program's own (128 + signal number when a signal ended it),
//! `--error-exitcode` when there are findings, or `--unchecked-exitcode` (77) when the
//! program was not checked; 125 when gpa itself fails before the program runs.

mod child_env;
mod collect;
mod launch;
mod leaks;
mod profile;
mod run;
mod valgrind_options;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// The exit statuses of `gpa run`, for `--help` (docs/c_abi.md has the same table).
const EXIT_STATUS_HELP: &str = "\
Every process of the run is listed as checked or not checked (and why) in the JSON, and in \
the text report when something was found or a process was not checked.

Exit status, first that applies:
  127  the program is not found
  126  it cannot be executed, or it is a set-id program the loader would run without gpa
  125  gpa itself failed before the program ran (library, --log/--json not writable)
  N    --error-exitcode N, when there are findings
  77   --unchecked-exitcode: the program (or what it exec'd) was not checked, e.g. static,
       unless a signal killed it
  the program's own status otherwise (128 + N for signal N)";

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
    #[command(after_help = EXIT_STATUS_HELP)]
    Run(RunArgs),
}

#[derive(Args)]
pub(crate) struct RunArgs {
    /// Frames kept per stack trace (check mode): Valgrind's default `--num-callers`, deep
    /// enough for a C++ container's allocation at -O0 to reach the program's own frame; 8
    /// costs up to about an eighth less on deeply recursive programs.
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub(crate) frames: usize,
    /// Fast mode: gpa as a drop-in fast malloc, no traces and no report (but a fault on a
    /// block `--guard-sample` guarded is reported, with the access's trace). A free of a pointer
    /// gpa did not hand out, or a second free of a block still free, is ignored with one line
    /// on stderr (at most 16) where glibc would abort; the heap stays intact.
    #[arg(long)]
    pub(crate) fast: bool,
    /// Guard mode: check mode with every block against an inaccessible guard page, so reads
    /// and writes past the end and uses after free are reported at the access.
    #[arg(long, conflicts_with = "fast")]
    pub(crate) guard: bool,
    /// Guard about one allocation in N (with check or fast mode).
    #[arg(long, value_name = "N")]
    pub(crate) guard_sample: Option<usize>,
    /// Guarded blocks start against their guard page (underflows fault); implies --guard
    /// without --guard-sample.
    #[arg(long)]
    pub(crate) guard_underflow: bool,
    /// Blocks of malloc, calloc, realloc and operator new end flush against their guard page
    /// whatever their size, so a read of the first byte past the end faults (without it up
    /// to 15 bytes of alignment slack are only checked at free and in libc's functions);
    /// blocks are then aligned to 1 byte only, not the 16 C demands. Implies --guard.
    #[arg(long, conflicts_with_all = ["fast", "guard_sample"])]
    pub(crate) guard_flush: bool,
    /// Bytes of freed blocks kept from reuse (suffixes k, m, g): guarded blocks' quarantine
    /// (default 1g, address space only) and, in check mode, each thread's (default 256k).
    #[arg(long, value_name = "BYTES")]
    pub(crate) quarantine: Option<String>,
    /// Make allocations fail once live blocks total more than BYTES (suffixes k, m, g).
    #[arg(long, value_name = "BYTES")]
    pub(crate) memory_limit: Option<String>,
    /// Exit status when there are findings (default: the program's own status).
    #[arg(long, value_name = "N")]
    pub(crate) error_exitcode: Option<u8>,
    /// Exit status when the program (or a program it replaced itself with by exec) was not
    /// checked: statically linked, or its process ended without a report. 77 is what test
    /// harnesses (Automake, Meson) read as "skipped". A program killed by a signal exits with
    /// 128 + N all the same (a crash is never "skipped").
    #[arg(long, value_name = "N", default_value_t = 77)]
    pub(crate) unchecked_exitcode: u8,
    /// Leak-check options (memcheck's).
    #[command(flatten)]
    pub(crate) leaks: crate::leaks::LeakArgs,
    /// Print nothing of gpa's own when the run is clean (no errors, every process checked);
    /// without it a clean check-mode run ends with one line saying what was checked, as
    /// Valgrind ends with its error summary, and one saying which reads check mode cannot
    /// see (memcheck's -q).
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Write the text report to FILE instead of stderr.
    #[arg(long, value_name = "FILE")]
    pub(crate) log: Option<PathBuf>,
    /// Write the report as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
    /// Profile the heap (fast or check mode) and write the profile to FILE in DHAT's format
    /// (Valgrind's dh_view.html opens it); other processes of the run go to FILE.<pid>.
    #[arg(long, value_name = "FILE")]
    pub(crate) profile: Option<PathBuf>,
    /// Write the whole result of the run as one self-contained HTML page to FILE: findings
    /// with their traces and source lines, leak records, and with --profile a chart of live
    /// bytes over time and the top allocation sites.
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,
    /// The preload library (default: next to this executable, or $GPA_PRELOAD).
    #[arg(long, value_name = "PATH")]
    pub(crate) preload: Option<PathBuf>,
    /// The program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM"
    )]
    pub(crate) command: Vec<String>,
}

fn main() -> ExitCode {
    let raw: Vec<OsString> = std::env::args_os().collect();
    let mut cli = Cli::parse_from(&raw);
    // Options clap did not know ended up at the start of the program (`valgrind_options`).
    let Commands::Run(args) = &cli.command;
    let first = args.command.first();
    if first.is_some_and(|word| word.starts_with('-') && word != "-") {
        let swallowed: Vec<OsString> = args.command.iter().map(OsString::from).collect();
        match valgrind_options::translate(&swallowed) {
            Ok((options, program)) => {
                // The words before the first swallowed one, as given.
                let before = raw
                    .iter()
                    .skip(2)
                    .position(|word| *word == swallowed[0])
                    .map_or(raw.len(), |at| at + 2);
                let mut line = raw[..before].to_vec();
                line.extend(options);
                line.push("--".into());
                line.extend(program);
                cli = Cli::parse_from(&line);
            }
            Err(message) => {
                eprintln!("gpa: {message}");
                return ExitCode::from(valgrind_options::USAGE);
            }
        }
    }
    match cli.command {
        Commands::Run(args) => match run::run(&args) {
            Ok(code) => ExitCode::from(code),
            Err(failure) => {
                eprintln!("gpa: {}", failure.message);
                ExitCode::from(failure.status)
            }
        },
    }
}
