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
//! * JSON to `GPA_JSON`, and `<pid>.json` / `<pid>.txt` into `GPA_REPORT_DIR` (for `gpa run`,
//!   which merges the reports of every process of the run).
//!
//! The JSON object is [`Report::to_json`]'s (`findings`, `leaked_blocks`, `leaked_bytes`) plus
//! `pid`, `program`, `reachable_blocks`, `reachable_bytes` and, with `GPA_SHOW_REACHABLE`, a
//! `reachable` array shaped like `findings`; after a fatal signal, `signal` (its number).
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
use super::scan;
use super::settings::env_bytes;
use crate::gpa::{GeneralPurposeAllocator, InsideAllocator, LiveBlock};
use crate::os::signal::{Fault, Verdict};
use crate::report::{self, Access, FindingKind, RawFinding, Report};
use crate::trace::TraceId;

static REPORTED: AtomicBool = AtomicBool::new(false);

/// Registers the exit report (once per process).
pub fn register() {
    static REGISTERED: AtomicBool = AtomicBool::new(false);
    if !REGISTERED.swap(true, Ordering::AcqRel) {
        // SAFETY: `at_exit` is an `extern "C" fn()` that lives as long as the process (this
        // library is preloaded, never unloaded).
        unsafe { libc::atexit(at_exit) };
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
pub fn on_fatal_signal(fault: &Fault) -> Verdict {
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
        return Verdict::NotOurs;
    }
    // From here on the process ends: allocate without waiting for a lock the interrupted
    // thread may hold (the unwinder's rule cache allocates too).
    crate::gpa::enter_emergency_allocation();
    if let Some(finding) = finding.as_mut() {
        finding.site_trace = access_trace(fault, state.settings.frames);
        if gpa.config().safety {
            *finding = guard::to_user(gpa, *finding);
        }
    }
    crash_report(finding, fault.signal);
    Verdict::Reported
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
    if REPORTED.swap(true, Ordering::AcqRel) {
        return;
    }
    crate::gpa::enter_emergency_allocation();
    let _inside = InsideAllocator::enter();
    flush_c_stdio();
    let state = super::state();
    let gpa = &state.gpa;
    let pads = gpa.config().safety;
    let mut raw: std::vec::Vec<RawFinding> = std::vec::Vec::new();
    let recorded = gpa.try_take_raw_findings().unwrap_or_default();
    let user = recorded.into_iter().map(|finding| {
        if pads {
            guard::to_user(gpa, finding)
        } else {
            finding
        }
    });
    let own = guard::try_take_findings()
        .into_iter()
        .chain(super::family::try_take_findings());
    for finding in user.chain(own).chain(extra) {
        if !raw
            .iter()
            .any(|seen| seen.kind == finding.kind && seen.address == finding.address)
        {
            raw.push(finding);
        }
    }
    let outcome = Outcome {
        report: Report {
            findings: raw
                .iter()
                .map(|finding| report::render(finding, state.settings.frames))
                .collect(),
        },
        reachable: (0, 0),
        reachable_groups: Report::default(),
        signal: Some(signal),
    };
    write_outputs(&outcome);
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
    if REPORTED.swap(true, Ordering::AcqRel) {
        return;
    }
    let _inside = InsideAllocator::enter();
    let state = super::state();
    let live_stack = scan::caller_frame_address(at_exit as *const () as usize);
    let outcome = examine(
        &state.gpa,
        live_stack,
        state.settings.frames,
        state.settings.show_reachable,
    );
    write_outputs(&outcome);
}

/// What the exit check found.
pub struct Outcome {
    /// Findings during the run, then leaks grouped by allocation site.
    pub report: Report,
    /// Still-reachable blocks and bytes.
    pub reachable: (usize, usize),
    /// Still-reachable blocks grouped by site (only with `GPA_SHOW_REACHABLE`).
    pub reachable_groups: Report,
    /// The fatal signal that ended the process, for a crash report (leaks unchecked).
    pub signal: Option<i32>,
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
    let scan::Verdict { leaked, reachable } = scan::scan(gpa, live_stack);
    guard::check_live(gpa, &leaked);
    guard::check_live(gpa, &reachable);
    let user = |blocks: std::vec::Vec<LiveBlock>| {
        blocks
            .into_iter()
            .map(|block| guard::block_to_user(gpa, block))
            .collect::<std::vec::Vec<_>>()
    };
    let (leaked, reachable) = (user(leaked), user(reachable));
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
    let mut report = Report {
        findings: merge_same_site(raw)
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
            .collect(),
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
        signal: None,
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
        if let Some(signal) = outcome.signal {
            object.insert("signal".into(), signal.into());
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
    if let Some(signal) = outcome.signal {
        if !text.is_empty() {
            text.push_str(&format!(
                "info(gpa): the process was ended by signal {signal}; leaks were not checked\n"
            ));
        }
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

fn program() -> String {
    std::env::args_os()
        .next()
        .map(|arg| arg.to_string_lossy().into_owned())
        .or_else(|| {
            std::fs::read_link("/proc/self/exe")
                .ok()
                .map(|p| p.display().to_string())
        })
        .unwrap_or_default()
}

fn env_path(name: &core::ffi::CStr) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = env_bytes(name).filter(|bytes| !bytes.is_empty())?;
    Some(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

fn write_outputs(outcome: &Outcome) {
    let text = to_text(outcome);
    let json = to_json(outcome);
    let pid = std::process::id();
    if let Some(dir) = env_path(c"GPA_REPORT_DIR") {
        let _ = std::fs::write(dir.join(format!("{pid}.json")), json.to_string());
        if !text.is_empty() {
            let header = format!("== gpa: process {pid} ({})\n", program());
            let _ = std::fs::write(dir.join(format!("{pid}.txt")), header + &text);
        }
        return;
    }
    if let Some(path) = env_path(c"GPA_JSON") {
        let _ = std::fs::write(path, json.to_string());
    }
    if text.is_empty() {
        return;
    }
    match env_path(c"GPA_LOG") {
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
