//! The report at process exit (check mode): findings, leaks by allocation site, reachable
//! totals, written as text and JSON.
//!
//! # Design
//! An `atexit` handler registered by the preload library's constructor runs after the
//! program's own handlers (they were registered later), so blocks the program frees at exit
//! are freed by then. It holds the GPA's re-entrancy guard throughout, so everything it
//! allocates (symbolization caches, strings, files) comes from the internal heap and never
//! changes the user heap it is judging. Steps: flush the quarantine (checks the poison of
//! recently freed blocks: writes after free), scan for leaks ([`super::scan`]), group leaked
//! blocks by allocation trace (largest total first), then write:
//! * text to `GPA_LOG` (appended) or to stderr, only when there is something to say;
//! * JSON to `GPA_JSON`; or, under `gpa run` (`GPA_REPORT_DIR`), a `report` event with the
//!   JSON and text beside it (`<pid>.<n>.json`, `<pid>.<n>.txt`; see `process::events`), which
//!   `gpa run` merges with the reports of every other process of the run.
//!
//! The paths are the ones the environment held at start-up (`settings::save_paths`): a
//! program that calls `clearenv` or `setenv` still reports where it was asked to.
//!
//! Reports are also written when the process ends without `exit`'s hooks: at `_exit`/`_Exit`
//! (interposed, `process::exit_now`), at `quick_exit`, on a fatal signal, and, without the
//! leak verdict, before an `exec` replaces the image ([`report_before_exec`]).
//!
//! The JSON object is [`Report::to_json`]'s (`findings`, `leaked_blocks`, `leaked_bytes`) plus
//! `pid`, `program`, `reachable_blocks`, `reachable_bytes` and, with `GPA_SHOW_REACHABLE`, a
//! `reachable` array shaped like `findings`.

use core::sync::atomic::{AtomicBool, Ordering};
use std::io::Write;

use super::guard;
use super::process::{self, events};
use super::scan::{self, Verdict};
use super::settings;
use crate::gpa::{GeneralPurposeAllocator, InsideAllocator, LiveBlock};
use crate::report::{self, Finding, FindingKind, RawFinding, Report};

static REPORTED: AtomicBool = AtomicBool::new(false);

extern "C" {
    fn at_quick_exit(function: extern "C" fn()) -> libc::c_int;
}

/// How a process (program image) ended, as its report records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `exit`, or a return from `main`.
    Exit,
    /// `_exit`/`_Exit` with this status.
    UnderscoreExit(libc::c_int),
    /// `quick_exit`.
    QuickExit,
    /// A fatal signal.
    Signal(libc::c_int),
    /// Replaced by `exec` (findings only, no leak verdict).
    Exec,
}

impl Ending {
    fn name(self) -> &'static str {
        match self {
            Ending::Exit => "exit",
            Ending::UnderscoreExit(_) => "_exit",
            Ending::QuickExit => "quick_exit",
            Ending::Signal(_) => "signal",
            Ending::Exec => "exec",
        }
    }
}

/// Registers the exit report (once per process).
pub fn register() {
    static REGISTERED: AtomicBool = AtomicBool::new(false);
    if !REGISTERED.swap(true, Ordering::AcqRel) {
        // SAFETY: `at_exit` and `at_quick_exit_hook` are `extern "C" fn()`s that live as
        // long as the process (this library is preloaded, never unloaded).
        unsafe {
            libc::atexit(at_exit);
            at_quick_exit(at_quick_exit_hook);
        }
    }
}

/// Signals whose default action ends the process with a core dump: the report is written
/// first, so findings recorded before a crash (often its cause) are not lost.
const FATAL_SIGNALS: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGABRT,
    libc::SIGFPE,
    libc::SIGILL,
];

/// Installs the crash report for fatal signals whose action is still the default (the
/// program may install its own handlers later; those then win).
pub fn register_crash_report() {
    for signal in FATAL_SIGNALS {
        // SAFETY: `sigaction` with a zeroed, then filled, action; querying first leaves any
        // handler installed before us in place.
        unsafe {
            let mut current: libc::sigaction = core::mem::zeroed();
            if libc::sigaction(signal, core::ptr::null(), &mut current) != 0
                || current.sa_sigaction != libc::SIG_DFL
            {
                continue;
            }
            let mut action: libc::sigaction = core::mem::zeroed();
            action.sa_sigaction = on_fatal_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESETHAND | libc::SA_NODEFER;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, core::ptr::null_mut());
        }
    }
}

/// Writes the report, then lets the signal take its default action. Not async-signal-safe
/// (it symbolizes and writes files), like other tools' crash reports: an alarm ends the
/// process if the report cannot finish (say, the crash happened while a lock was held).
extern "C" fn on_fatal_signal(signal: libc::c_int) {
    // SAFETY: `alarm` and `raise` are async-signal-safe; SA_RESETHAND restored the default
    // action, so the raise ends the process with this signal.
    unsafe { libc::alarm(10) };
    report_at_end(Ending::Signal(signal));
    // SAFETY: as above.
    unsafe { libc::raise(signal) };
}

extern "C" fn at_exit() {
    report_at_end(Ending::Exit);
}

extern "C" fn at_quick_exit_hook() {
    report_at_end(Ending::QuickExit);
}

/// The report at the end of the process (once; never in a `vfork` child, which shares its
/// parent's memory and must leave it alone).
#[inline(never)]
pub fn report_at_end(ending: Ending) {
    if !process::is_original_process() || REPORTED.swap(true, Ordering::AcqRel) {
        return;
    }
    let _inside = InsideAllocator::enter();
    let state = super::state();
    let live_stack = scan::caller_frame_address(report_at_end as *const () as usize);
    let outcome = examine(
        &state.gpa,
        live_stack,
        state.settings.frames,
        state.settings.show_reachable,
    );
    write_outputs(&outcome, ending);
}

/// Before `exec` replaces this image: the findings recorded so far (and the quarantine's
/// writes after free), without a leak verdict, as Valgrind does. The leak scan is skipped
/// because the memory is not leaked but discarded, and because a `fork` child that `exec`s
/// would otherwise scan all of its parent's heap first.
pub fn report_before_exec() {
    let _inside = InsideAllocator::enter();
    let state = super::state();
    state.gpa.flush_thread_quarantine();
    let outcome = Outcome {
        report: Report {
            findings: recorded_findings(&state.gpa, state.settings.frames),
        },
        reachable: (0, 0),
        reachable_groups: Report::default(),
    };
    write_outputs(&outcome, Ending::Exec);
}

/// What the exit check found.
pub struct Outcome {
    /// Findings during the run, then leaks grouped by allocation site.
    pub report: Report,
    /// Still-reachable blocks and bytes.
    pub reachable: (usize, usize),
    /// Still-reachable blocks grouped by site (only with `GPA_SHOW_REACHABLE`).
    pub reachable_groups: Report,
}

/// Checks the quarantine, scans for leaks and builds the report.
///
/// `live_stack`: where the live frames of the calling thread's stack begin (scanned as roots).
pub fn examine(
    gpa: &GeneralPurposeAllocator,
    live_stack: Option<usize>,
    frames: usize,
    show_reachable: bool,
) -> Outcome {
    gpa.flush_thread_quarantine();
    let Verdict { leaked, reachable } = scan::scan(gpa, live_stack);
    guard::check_live(gpa, &leaked);
    guard::check_live(gpa, &reachable);
    let user = |blocks: std::vec::Vec<LiveBlock>| {
        blocks
            .into_iter()
            .map(|block| guard::block_to_user(gpa, block))
            .collect::<std::vec::Vec<_>>()
    };
    let (leaked, reachable) = (user(leaked), user(reachable));
    let mut report = Report {
        findings: recorded_findings(gpa, frames),
    };
    report
        .findings
        .extend(group(leaked).iter().map(|raw| report::render(raw, frames)));
    let totals = (
        reachable.len(),
        reachable.iter().map(|block| block.size).sum(),
    );
    let mut reachable_groups = Report::default();
    if show_reachable {
        reachable_groups.findings = group(reachable)
            .iter()
            .map(|raw| {
                let mut finding = report::render(raw, frames);
                finding.message = format!(
                    "still reachable: {} block(s), {} byte(s), first at {:#x}",
                    raw.count, raw.size, raw.address
                );
                finding
            })
            .collect();
    }
    Outcome {
        report,
        reachable: totals,
        reachable_groups,
    }
}

/// The findings recorded during the run (the GPA's and the front guards'), each once, those
/// of one site merged, symbolized; the records are cleared.
fn recorded_findings(gpa: &GeneralPurposeAllocator, frames: usize) -> std::vec::Vec<Finding> {
    let mut raw: std::vec::Vec<RawFinding> = std::vec::Vec::new();
    let gpa_findings = gpa
        .take_raw_findings()
        .into_iter()
        .map(|finding| guard::to_user(gpa, finding));
    let own_findings = guard::take_findings()
        .into_iter()
        .chain(super::family::take_findings());
    for finding in gpa_findings.chain(own_findings) {
        // Each finding once: the live-block walk re-checks canaries every time it runs.
        if !raw
            .iter()
            .any(|seen| seen.kind == finding.kind && seen.address == finding.address)
        {
            raw.push(finding);
        }
    }
    merge_same_site(raw)
        .iter()
        .map(|(raw, total)| {
            let mut finding = report::render(raw, frames);
            finding.size = *total;
            if raw.count > 1 {
                finding.message.push_str(&format!(
                    " (and {} more block(s) from the same allocation site)",
                    raw.count - 1
                ));
            }
            finding
        })
        .collect()
}

/// Findings of one kind with the same traces (say, every block of one allocation site
/// overflowed, found at exit) become one finding with a count, like a leak group. The
/// finding describes its first block; the second element is the bytes of all its blocks.
fn merge_same_site(raw: std::vec::Vec<RawFinding>) -> std::vec::Vec<(RawFinding, usize)> {
    let mut merged: std::vec::Vec<(RawFinding, usize)> = std::vec::Vec::new();
    for finding in raw {
        let same = merged.iter_mut().find(|(seen, _)| {
            seen.kind == finding.kind
                && finding.alloc_trace.is_some()
                && seen.alloc_trace == finding.alloc_trace
                && seen.free_trace == finding.free_trace
                && seen.site_trace == finding.site_trace
        });
        match same {
            Some((seen, total)) => {
                seen.count += finding.count;
                *total += finding.size * finding.count;
            }
            None => merged.push((finding, finding.size * finding.count)),
        }
    }
    merged
}

/// Leak findings, one per allocation trace, largest total first.
fn group(mut blocks: std::vec::Vec<LiveBlock>) -> std::vec::Vec<RawFinding> {
    blocks.sort_unstable_by_key(|block| (block.alloc_trace.0, block.address));
    let mut groups: std::vec::Vec<RawFinding> = std::vec::Vec::new();
    for block in blocks {
        match groups.last_mut() {
            Some(group)
                if group.alloc_trace == block.alloc_trace && block.alloc_trace.is_some() =>
            {
                group.count += 1;
                group.size += block.size;
            }
            _ => {
                let mut finding = RawFinding::new(FindingKind::Leak, block.address);
                finding.size = block.size;
                finding.alloc_trace = block.alloc_trace;
                groups.push(finding);
            }
        }
    }
    groups.sort_by(|a, b| b.size.cmp(&a.size).then(a.address.cmp(&b.address)));
    groups
}

/// The report as one JSON object (see the module docs).
pub fn to_json(outcome: &Outcome) -> serde_json::Value {
    let mut json = outcome.report.to_json();
    if let Some(object) = json.as_object_mut() {
        object.insert("pid".into(), std::process::id().into());
        object.insert("program".into(), program().into());
        object.insert("reachable_blocks".into(), outcome.reachable.0.into());
        object.insert("reachable_bytes".into(), outcome.reachable.1.into());
        object.insert(
            "libc_blocks_released".into(),
            super::foreign::released_count().into(),
        );
        if !outcome.reachable_groups.findings.is_empty() {
            let groups = outcome.reachable_groups.to_json()["findings"].clone();
            object.insert("reachable".into(), groups);
        }
    }
    json
}

/// The report as text; empty when there is nothing to say.
pub fn to_text(outcome: &Outcome) -> String {
    let mut text = outcome.report.to_string();
    if !outcome.reachable_groups.findings.is_empty() {
        for finding in &outcome.reachable_groups.findings {
            text.push_str(
                &finding
                    .to_string()
                    .replacen("error(gpa): ", "info(gpa): ", 1),
            );
            text.push('\n');
        }
    }
    let released = super::foreign::released_count();
    if released != 0 {
        text.push_str(&format!(
            "info(gpa): {released} block(s) allocated by libc's own malloc (not by gpa: a \
             library loaded with RTLD_DEEPBIND?) were freed through gpa and handed back to libc\n"
        ));
    }
    if !text.is_empty() || !outcome.reachable_groups.findings.is_empty() {
        let (blocks, bytes) = outcome.reachable;
        text.push_str(&format!(
            "info(gpa): {blocks} block(s), {bytes} byte(s) still reachable at exit\n"
        ));
    }
    text
}

/// `argv[0]` of this image as it was at start-up (or `/proc/self/exe`).
fn program() -> String {
    if let Some(program) = process::program() {
        return String::from_utf8_lossy(program).into_owned();
    }
    std::fs::read_link("/proc/self/exe")
        .map(|path| path.display().to_string())
        .unwrap_or_default()
}

/// A path saved at start-up.
fn env_path(saved: &settings::SavedPath) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = saved.get()?;
    Some(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

/// Writes the report where start-up settings said: a `report` event with the JSON and text
/// beside it under `gpa run`, else `GPA_JSON` and `GPA_LOG` (or stderr).
fn write_outputs(outcome: &Outcome, ending: Ending) {
    let text = to_text(outcome);
    let mut json = to_json(outcome);
    json["ended"] = ending.name().into();
    if let Some(dir) = settings::REPORT_DIR.get() {
        let mut event = events::Event::new("report");
        event.field("ended", ending.name().as_bytes());
        match ending {
            Ending::UnderscoreExit(status) => {
                event.number("status", status as u64);
            }
            Ending::Signal(signal) => {
                event.number("signal", signal as u64);
            }
            _ => {}
        }
        let Some(n) = events::record(dir, &event) else {
            return;
        };
        let pid = std::process::id();
        let write = |extension: &str, bytes: &[u8]| {
            use std::os::unix::ffi::OsStrExt;
            if let Some(path) = events::path(dir, pid, n, Some(extension)) {
                let _ = std::fs::write(std::ffi::OsStr::from_bytes(path.as_bytes()), bytes);
            }
        };
        write("json", json.to_string().as_bytes());
        if !text.is_empty() {
            write("txt", text.as_bytes());
        }
        return;
    }
    if let Some(path) = env_path(&settings::JSON) {
        let _ = std::fs::write(path, json.to_string());
    }
    if text.is_empty() {
        return;
    }
    match env_path(&settings::LOG) {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path);
            if let Ok(mut file) = file {
                let _ = file.write_all(text.as_bytes());
            }
        }
        None => crate::os::write_stderr(text.as_bytes()),
    }
}
