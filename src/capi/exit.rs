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
//!
//! # The crash report
//! [`register_crash_report`] installs the fault handler (`os::signal`) for `SIGSEGV`,
//! `SIGBUS`, `SIGABRT`, `SIGFPE` and `SIGILL`, with [`on_fatal_signal`] as its hook. A memory
//! fault on a guarded block, on a freed large block's held range or past a large block
//! becomes a finding (`gpa::fault`) with the faulting access's stack, unwound from the signal
//! context by the caching unwinder ([`super::unwind::capture_from`]); a fault whose
//! instruction lies in this library is an `internal_error`. Then the report is written (the
//! findings recorded so far plus that one; leaks are not checked: the process did not end
//! normally) and the process ends as the signal would have (`gpa run` shows 128 + N). Any
//! other signal goes to the program's own handler when it installed one before us, unchanged;
//! otherwise the report of the findings so far is written before the default action.
//!
//! The crash path takes no lock the interrupted thread may hold: the GPA's findings and the
//! front guards' findings are taken with try-locks (skipped when busy), and everything it
//! allocates comes from the internal heap's lock-free emergency reserve
//! (`gpa::enter_emergency_allocation`). The program's C stdio buffers are flushed so that its
//! output before the crash is not lost: `fflush(NULL)` is not async-signal-safe (it waits for
//! every stream's lock, and the crash may have happened inside `printf`), so `stdout` and
//! `stderr` are flushed only if `ftrylockfile` succeeds (it does when this thread already
//! holds the lock, as after a fault inside `printf`, which then writes what the stream holds
//! so far); other streams are left unflushed, as the default action would leave them.

use core::sync::atomic::{AtomicBool, Ordering};
use std::io::Write;

use super::guard;
use super::process::{self, events};
use super::scan::{self, Verdict};
use super::settings;
use crate::gpa::{GeneralPurposeAllocator, InsideAllocator, LiveBlock};
use crate::os::signal::{Fault, Verdict as SignalVerdict};
use crate::report::{self, Access, Finding, FindingKind, RawFinding, Report};
use crate::trace::TraceId;

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

/// Installs the crash report for fatal signals (see the module documentation); handlers the
/// program installed before stay in charge of the signals that are not gpa's. A handler the
/// program installs later replaces ours.
pub fn register_crash_report() {
    crate::os::signal::install(&FATAL_SIGNALS, on_fatal_signal, true);
}

/// The fault handler's hook: a fault gpa can attribute becomes a finding and the report ends
/// the process; see the module documentation.
pub fn on_fatal_signal(fault: &Fault) -> SignalVerdict {
    let state = super::state();
    let gpa = &state.gpa;
    let mut finding = None;
    if fault.is_memory_fault() {
        let access = crate::gpa::fault::access_of(fault);
        let size = fault.access_size.unwrap_or(0);
        finding = gpa
            .fault_finding(fault.address, access, size, fault.fetch)
            .or_else(|| internal_error(fault, access, size));
    }
    let checked = state.settings.mode.checks();
    if finding.is_none() && (!checked || !crate::os::signal::previous_is_default(fault.signal)) {
        return SignalVerdict::NotOurs;
    }
    // From here on the process ends: allocate without waiting for a lock the interrupted
    // thread may hold (the unwinder's rule cache allocates too).
    crate::gpa::enter_emergency_allocation();
    if let Some(finding) = finding.as_mut() {
        finding.site_trace = access_trace(fault, state.settings.frames);
        // A block's finding is in the GPA's terms (its start, padded size); an internal
        // error's address is the faulting one.
        if gpa.config().safety && finding.kind != FindingKind::InternalError {
            *finding = guard::to_user(gpa, *finding);
        }
    }
    crash_report(finding, fault.signal);
    SignalVerdict::Reported
}

/// A fault whose instruction is in this library's own code: gpa itself went wrong.
fn internal_error(fault: &Fault, access: Option<Access>, size: usize) -> Option<RawFinding> {
    #[cfg(target_arch = "x86_64")]
    {
        let own = crate::os::object_containing(on_fatal_signal as *const () as usize)?;
        if crate::os::object_containing(fault.ip) != Some(own) {
            return None;
        }
        let mut finding = RawFinding::new(FindingKind::InternalError, fault.address);
        finding.access = Some(access.unwrap_or(Access::Read));
        finding.access_size = size;
        finding.offset = Some(0);
        Some(finding)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (fault, access, size);
        None
    }
}

/// The faulting access's stack, unwound from the signal context.
fn access_trace(fault: &Fault, frames: usize) -> TraceId {
    #[cfg(target_arch = "x86_64")]
    {
        let mut addresses = [0usize; crate::trace::MAX_FRAMES];
        let limit = (frames.max(1) + crate::trace::SKIP_BUDGET).min(addresses.len());
        let count = if fault.fetch && fault.sp != 0 && limit > 1 {
            // Code ran from data (a call through a bad pointer): no unwind information there;
            // the call's return address is on top of the stack.
            // SAFETY: `sp` is the faulting thread's stack pointer: mapped and readable.
            let caller = unsafe { (fault.sp as *const usize).read() };
            addresses[0] = fault.ip;
            1 + super::unwind::capture_from(
                caller,
                fault.sp + 8,
                fault.bp,
                &mut addresses[1..limit],
            )
        } else {
            super::unwind::capture_from(fault.ip, fault.sp, fault.bp, &mut addresses[..limit])
        };
        crate::trace::intern_addresses(&addresses[..count])
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        crate::gpa::fault::access_trace(fault, frames)
    }
}

/// Writes the report after a fatal signal: the findings so far (taken without waiting for a
/// lock) plus `extra`, after flushing the program's stdio. Once per process.
fn crash_report(extra: Option<RawFinding>, signal: libc::c_int) {
    if !process::is_original_process() || REPORTED.swap(true, Ordering::AcqRel) {
        return;
    }
    crate::gpa::enter_emergency_allocation();
    let _inside = InsideAllocator::enter();
    flush_c_stdio();
    let state = super::state();
    let gpa = &state.gpa;
    let recorded = Recorded {
        gpa: gpa.try_take_raw_findings().unwrap_or_default(),
        guard: guard::try_take_findings(),
        family: super::family::try_take_findings(),
    };
    let mut findings = recorded.render(gpa, state.settings.frames, extra);
    findings.retain(|finding| finding.kind != FindingKind::Leak);
    let outcome = Outcome {
        report: Report { findings },
        reachable: (0, 0),
        reachable_groups: Report::default(),
        leaks_checked: false,
    };
    write_outputs(&outcome, Ending::Signal(signal));
}

extern "C" {
    static stdout: *mut libc::FILE;
    static stderr: *mut libc::FILE;
    fn ftrylockfile(stream: *mut libc::FILE) -> libc::c_int;
    fn funlockfile(stream: *mut libc::FILE);
    fn fflush_unlocked(stream: *mut libc::FILE) -> libc::c_int;
}

/// Flushes the C library's `stdout` and `stderr` if their locks can be taken without waiting
/// (see the module documentation).
fn flush_c_stdio() {
    // SAFETY: glibc's `stdout`/`stderr` are valid streams (or null if closed by the program);
    // a stream is flushed only while we hold its lock.
    unsafe {
        for stream in [stdout, stderr] {
            if !stream.is_null() && ftrylockfile(stream) == 0 {
                fflush_unlocked(stream);
                funlockfile(stream);
            }
        }
    }
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
        leaks_checked: false,
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
    /// Whether leaks were looked for (not before an `exec` or after a fatal signal).
    pub leaks_checked: bool,
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
        leaks_checked: true,
    }
}

/// The findings recorded during the run (the GPA's and the front guards'), each once, those
/// of one site merged, symbolized; the records are cleared.
fn recorded_findings(gpa: &GeneralPurposeAllocator, frames: usize) -> std::vec::Vec<Finding> {
    let recorded = Recorded {
        gpa: gpa.take_raw_findings(),
        guard: guard::take_findings(),
        family: super::family::take_findings(),
    };
    recorded.render(gpa, frames, None)
}

/// The raw findings of the GPA, the front guards and the allocation families.
struct Recorded {
    gpa: std::vec::Vec<RawFinding>,
    guard: std::vec::Vec<RawFinding>,
    family: std::vec::Vec<RawFinding>,
}

impl Recorded {
    /// Each finding once (plus `extra`, a fault's), in the program's terms, those of one site
    /// merged, symbolized.
    fn render(
        self,
        gpa: &GeneralPurposeAllocator,
        frames: usize,
        extra: Option<RawFinding>,
    ) -> std::vec::Vec<Finding> {
        let pads = gpa.config().safety;
        let gpa_findings = self.gpa.into_iter().map(|finding| {
            if pads {
                guard::to_user(gpa, finding)
            } else {
                finding
            }
        });
        let mut raw: std::vec::Vec<RawFinding> = std::vec::Vec::new();
        for finding in gpa_findings
            .chain(self.guard)
            .chain(self.family)
            .chain(extra)
        {
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
    if !outcome.leaks_checked {
        return text;
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
    let mut text = to_text(outcome);
    if let (Ending::Signal(signal), false) = (ending, text.is_empty()) {
        text.push_str(&format!(
            "info(gpa): the process was ended by signal {signal}; leaks were not checked\n"
        ));
    }
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
