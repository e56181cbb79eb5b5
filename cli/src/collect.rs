//! Merging what every process of a run wrote into the report directory: the event files and
//! reports of `gpa::__capi::process::events`, into one list of processes (each program image,
//! checked or not and why) and one report.
//!
//! # Design
//! The events of one process id are read in their order (`<pid>.<n>`, by `n`):
//! * `start` or `fork` opens a checked image (a `start` right after an `exec` is that exec's
//!   target);
//! * `report` attaches a report to the open image (an image that `exec`s writes one part
//!   before, and, if the `exec` fails, another at its end: the parts are merged);
//! * `exec` ends the open image; its target is expected to `start` next. If it does not, the
//!   target is an image that was not checked, for the reason the `exec` recorded (or
//!   `not_loaded` when the library should have loaded);
//! * `spawn` names a child (`posix_spawn`); a child with no events of its own is not checked.
//!
//! An image that started but never reported is not checked (`no_report`). The program
//! `gpa run` started is always listed: when it has no events, it was not checked, for the
//! reason the inspection before the start gave (or `not_loaded`).

use std::collections::BTreeMap;
use std::path::Path;

use gpa::__capi::process::events::{self, CHECKED};
use gpa::__capi::process::inspect::Reason;
use serde_json::{json, Value};

/// One program image of the run.
#[derive(Debug, Default)]
pub(crate) struct Image {
    /// Its process id.
    pub pid: u64,
    /// Its parent's, when known.
    pub ppid: Option<u64>,
    /// `argv[0]`.
    pub program: String,
    /// The executable file, when known.
    pub exe: Option<String>,
    /// `None`: checked; otherwise why not.
    pub unchecked: Option<Reason>,
    /// How it began: `start`, `fork`, `exec`, `spawn`, `run` (the program `gpa run` started).
    pub began: &'static str,
    /// How it ended, from its report (`exit`, `_exit`, `quick_exit`, `signal`, `exec`).
    pub ended: Option<String>,
    /// The program it `exec`ed, if it ended that way.
    pub exec_target: Option<String>,
    /// The signal that ended it, when one did (its report says so).
    pub signal: Option<u64>,
    /// Why its leaks were not checked, when it ended by a signal in a state where the leak
    /// check could not run (inside gpa's allocator, the loader, the unwinder).
    pub leaks_not_checked: Option<String>,
    /// Threads its exit scan could not stop that own a heap (`threads_not_examined`): their
    /// heaps' blocks were not judged.
    pub threads_not_examined: u64,
    /// The signal that killed it, when it left no report and `gpa run` reaped it (a process
    /// re-parented to `gpa run`, or the program itself): `SIGSYS` where a seccomp filter
    /// refused a system call of gpa's exit report, `SIGKILL`, `SIGXFSZ`...
    pub killed_by: Option<i32>,
    /// Why its report was left out, as it said (`Reason::Confined`: the system calls its
    /// seccomp filter would have killed it on).
    pub left_out: Option<String>,
    /// Its report parts merged: `findings` and the leak and reachable totals.
    pub report: Option<Value>,
    /// Its text report.
    pub text: String,
    /// One of the images of the process `gpa run` started.
    pub main: bool,
    /// It ran in fast mode, where only the blocks sampled guard mode guarded are watched: it
    /// is listed because a fault on one of them ended it (its report), not because it was
    /// checked.
    pub fast: bool,
}

/// What the event files of one process id say, in order.
struct Event {
    fields: Vec<(String, Vec<u8>)>,
    json: Option<Value>,
    text: String,
}

impl Event {
    fn get(&self, key: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| String::from_utf8_lossy(value).into_owned())
    }

    fn number(&self, key: &str) -> Option<u64> {
        self.get(key).and_then(|value| value.parse().ok())
    }
}

/// Reads the events of `dir`, by pid, each pid's in order.
fn read_events(dir: &Path) -> BTreeMap<u64, Vec<Event>> {
    let mut found: BTreeMap<u64, BTreeMap<u64, Event>> = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some((pid, n)) = name.split_once('.') else {
            continue;
        };
        // `<pid>.confined`: a process whose seccomp filter would kill its report, where it
        // could not write why at exit (`events::mark_confined`): its last event.
        if n == "confined" {
            if let Ok(pid) = pid.parse::<u64>() {
                let why = format!("event=unreported\nwhy={}\n", Reason::Confined.describe());
                let event = Event {
                    fields: events::parse(why.as_bytes()),
                    json: None,
                    text: String::new(),
                };
                found.entry(pid).or_default().insert(u64::MAX, event);
            }
            continue;
        }
        let (Ok(pid), Ok(n)) = (pid.parse::<u64>(), n.parse::<u64>()) else {
            continue;
        };
        let Ok(content) = std::fs::read(entry.path()) else {
            continue;
        };
        let json = std::fs::read(dir.join(format!("{name}.json")))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let text = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap_or_default();
        let event = Event {
            fields: events::parse(&content),
            json,
            text,
        };
        found.entry(pid).or_default().insert(n, event);
    }
    found
        .into_iter()
        .map(|(pid, events)| (pid, events.into_values().collect()))
        .collect()
}

fn reason_of(verdict: Option<String>) -> Option<Reason> {
    match verdict.as_deref() {
        None | Some(CHECKED) => None,
        Some(code) => Some(Reason::from_code(code).unwrap_or(Reason::NotLoaded)),
    }
}

/// Adds a report part to an image's report.
fn merge_report(image: &mut Image, part: &Value, text: &str) {
    let report = image.report.get_or_insert_with(|| {
        json!({
            "findings": [], "leaked_blocks": 0, "leaked_bytes": 0,
            "reachable_blocks": 0, "reachable_bytes": 0, "libc_blocks_released": 0,
            "errors": 0, "suppressed_findings": 0,
        })
    });
    let summary =
        crate::leaks::merge_summaries([&report["leak_summary"], &part["leak_summary"]].into_iter());
    if summary.as_object().is_some_and(|kinds| !kinds.is_empty()) {
        report["leak_summary"] = summary;
    }
    let seen: Vec<Value> = report["findings"].as_array().cloned().unwrap_or_default();
    for finding in part["findings"].as_array().into_iter().flatten() {
        // A part written before a failed `exec` and the final one can both hold a finding
        // found by re-checking a live block: keep it once.
        let same = |other: &Value| {
            other["kind"] == finding["kind"] && other["address"] == finding["address"]
        };
        if !seen.iter().any(same) {
            if let Some(findings) = report["findings"].as_array_mut() {
                findings.push(finding.clone());
            }
        }
    }
    for key in [
        "leaked_blocks",
        "leaked_bytes",
        "reachable_blocks",
        "reachable_bytes",
        "libc_blocks_released",
        "suppressed_findings",
    ] {
        let total = report[key].as_u64().unwrap_or(0) + part[key].as_u64().unwrap_or(0);
        report[key] = total.into();
    }
    report["errors"] = (report["errors"].as_u64().unwrap_or(0) + crate::leaks::errors(part)).into();
    if let Some(elsewhere) = part["allocator_elsewhere"].as_str() {
        report["allocator_elsewhere"] = elsewhere.into();
    }
    if let Some(reachable) = part["reachable"].as_array() {
        let mut all = report["reachable"].as_array().cloned().unwrap_or_default();
        all.extend(reachable.iter().cloned());
        report["reachable"] = Value::Array(all);
    }
    image.text.push_str(text);
}

/// The images of one process id, from its events; `spawned` collects `posix_spawn` children.
fn images_of(pid: u64, events: Vec<Event>, spawned: &mut Vec<Image>) -> Vec<Image> {
    let mut images: Vec<Image> = Vec::new();
    let mut open: Option<usize> = None;
    let mut pending_exec: Option<Image> = None;
    for event in events {
        match event.get("event").as_deref() {
            Some(kind @ ("start" | "fork")) => {
                let began = match (kind, &pending_exec) {
                    ("fork", _) => "fork",
                    (_, Some(_)) => "exec",
                    _ => "start",
                };
                pending_exec = None;
                images.push(Image {
                    pid,
                    ppid: event.number("ppid"),
                    program: event.get("program").unwrap_or_default(),
                    exe: event.get("exe").filter(|exe| !exe.is_empty()),
                    began,
                    unchecked: Some(Reason::NoReport),
                    ..Image::default()
                });
                open = Some(images.len() - 1);
            }
            Some("report") => {
                let index = match open {
                    Some(index) => index,
                    None => {
                        // A report without a start (the start event could not be written).
                        images.push(Image {
                            pid,
                            ppid: event.number("ppid"),
                            began: "start",
                            ..Image::default()
                        });
                        images.len() - 1
                    }
                };
                let image = &mut images[index];
                image.ended = event.get("ended");
                image.signal = event.number("signal");
                match &event.json {
                    Some(part) => {
                        if image.ended.as_deref() == Some("signal") {
                            // Reports before the leak check at a signal had no such field.
                            image.leaks_not_checked = match part["leaks_checked"].as_bool() {
                                Some(true) => None,
                                _ => Some(
                                    part["leaks_not_checked"]
                                        .as_str()
                                        .unwrap_or("ended by a signal")
                                        .into(),
                                ),
                            };
                        } else if part["leaks_checked"].as_bool() == Some(false) {
                            // An exit whose memory map could not be read.
                            image.leaks_not_checked =
                                part["leaks_not_checked"].as_str().map(Into::into);
                        }
                        if image.program.is_empty() {
                            image.program = part["program"].as_str().unwrap_or("").into();
                        }
                        image.threads_not_examined =
                            part["threads_not_examined"].as_u64().unwrap_or(0);
                        image.unchecked = None;
                        merge_report(image, part, &event.text);
                    }
                    None => image.unchecked = Some(Reason::NoReport),
                }
                open = Some(index);
            }
            Some("unreported") => {
                // Said by a process whose seccomp filter would have killed its report.
                if let Some(index) = open {
                    let image = &mut images[index];
                    if image.report.is_none() {
                        image.unchecked = Some(Reason::Confined);
                        image.left_out = event.get("why");
                    }
                }
            }
            Some("exec") => {
                let target = event.get("target").unwrap_or_default();
                if let Some(index) = open.take() {
                    images[index].exec_target = Some(target.clone());
                    if images[index].ended.is_none() {
                        images[index].ended = Some("exec".into());
                    }
                }
                let unchecked = reason_of(event.get("verdict")).unwrap_or(Reason::NotLoaded);
                pending_exec = Some(Image {
                    pid,
                    ppid: event.number("ppid"),
                    program: event.get("program").unwrap_or_default(),
                    exe: Some(target),
                    unchecked: Some(unchecked),
                    began: "exec",
                    ..Image::default()
                });
            }
            Some("spawn") => {
                let target = event.get("target").unwrap_or_default();
                spawned.push(Image {
                    pid: event.number("child").unwrap_or(0),
                    ppid: Some(pid),
                    program: event.get("program").unwrap_or_default(),
                    exe: Some(target),
                    unchecked: Some(reason_of(event.get("verdict")).unwrap_or(Reason::NotLoaded)),
                    began: "spawn",
                    ..Image::default()
                });
            }
            _ => {}
        }
    }
    images.extend(pending_exec);
    images
}

/// Every image of the run. `main_pid` is the process `gpa run` started, `main` its image
/// as `gpa run` knows it (used when it left no events: it was not checked).
pub(crate) fn collect(dir: &Path, main_pid: u64, main: Image) -> Vec<Image> {
    let events = read_events(dir);
    let mut spawned = Vec::new();
    let mut images = Vec::new();
    let mut main_seen = false;
    for (pid, events) in events {
        for mut image in images_of(pid, events, &mut spawned) {
            image.main = pid == main_pid;
            main_seen |= image.main;
            images.push(image);
        }
    }
    for child in spawned {
        if !images.iter().any(|image| image.pid == child.pid) {
            images.push(child);
        }
    }
    if !main_seen {
        images.push(main);
    }
    // The program `gpa run` started first, then the others by process id.
    images.sort_by_key(|image| (!image.main, image.pid));
    images
}

/// The merged report: findings tagged with their process, totals, and the process list.
pub(crate) fn merged_json(images: &[Image]) -> Value {
    let mut findings = Vec::new();
    let mut reachable = Vec::new();
    let mut processes = Vec::new();
    let mut totals = [0u64; 4];
    const TOTALS: [&str; 4] = [
        "leaked_blocks",
        "leaked_bytes",
        "reachable_blocks",
        "reachable_bytes",
    ];
    for image in images {
        let tag = |mut finding: Value| {
            finding["pid"] = image.pid.into();
            finding["program"] = image.program.clone().into();
            finding
        };
        let mut process = json!({
            "pid": image.pid,
            "ppid": image.ppid,
            "program": image.program,
            "exe": image.exe,
            "status": status_code(image),
            "reason": image.unchecked.map(Reason::code),
            "detail": image.left_out.clone().or(image.unchecked.map(|reason| reason.describe().into())),
            "began": image.began,
            "ended": image.ended,
            "main": image.main,
        });
        if let Some(signal) = image.signal {
            process["signal"] = signal.into();
            process["signal_name"] = signal_name(signal as i32).into();
            process["leaks_checked"] = image.leaks_not_checked.is_none().into();
            if let Some(reason) = &image.leaks_not_checked {
                process["leaks_not_checked"] = reason.clone().into();
            }
        } else if let Some(reason) = &image.leaks_not_checked {
            // An exit whose leaks were not checked (the memory map unreadable, a lock
            // another thread kept): said as at a signal.
            process["leaks_checked"] = false.into();
            process["leaks_not_checked"] = reason.clone().into();
        }
        if let Some(signal) = image
            .killed_by
            .filter(|_| image.unchecked == Some(Reason::NoReport))
        {
            process["killed_by_signal"] = signal.into();
            process["killed_by_signal_name"] = signal_name(signal).into();
            process["detail"] = killed_without_report(signal).into();
        }
        if let Some(target) = &image.exec_target {
            process["exec"] = target.clone().into();
        }
        if image.threads_not_examined != 0 {
            process["threads_not_examined"] = image.threads_not_examined.into();
        }
        if let Some(report) = &image.report {
            let own = report["findings"].as_array().cloned().unwrap_or_default();
            process["findings"] = own.len().into();
            for (total, key) in totals.iter_mut().zip(TOTALS) {
                *total += report[key].as_u64().unwrap_or(0);
                process[key] = report[key].clone();
            }
            process["libc_blocks_released"] = report["libc_blocks_released"].clone();
            process["errors"] = report["errors"].clone();
            process["suppressed_findings"] = report["suppressed_findings"].clone();
            process["leak_summary"] = report["leak_summary"].clone();
            if let Some(elsewhere) = report["allocator_elsewhere"].as_str() {
                process["allocator_elsewhere"] = elsewhere.into();
            }
            findings.extend(own.into_iter().map(tag));
            reachable.extend(
                report["reachable"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(tag),
            );
        }
        processes.push(process);
    }
    let mut merged = json!({
        "findings": findings,
        "processes": processes,
        "main_checked": images.iter().filter(|image| image.main).all(|image| image.unchecked.is_none()),
        "all_checked": images.iter().all(|image| image.unchecked.is_none()),
    });
    for (total, key) in totals.iter().zip(TOTALS) {
        merged[key] = (*total).into();
    }
    let reports = images.iter().filter_map(|image| image.report.as_ref());
    merged["leak_summary"] =
        crate::leaks::merge_summaries(reports.clone().map(|report| &report["leak_summary"]));
    merged["errors"] = reports
        .clone()
        .map(|r| r["errors"].as_u64().unwrap_or(0))
        .sum::<u64>()
        .into();
    merged["suppressed_findings"] = reports
        .map(|r| r["suppressed_findings"].as_u64().unwrap_or(0))
        .sum::<u64>()
        .into();
    if !reachable.is_empty() {
        merged["reachable"] = Value::Array(reachable);
    }
    merged
}

/// The text reports of every image; when more than one process ran, every finding's first
/// line names its process (`error(gpa): process 4242 (./prog): ...`).
pub(crate) fn merged_text(images: &[Image]) -> String {
    let tagged = images.len() > 1;
    let mut text = String::new();
    for image in images {
        for line in image.text.split_inclusive('\n') {
            let headline = ["error(gpa): ", "info(gpa): ", "warning(gpa): "]
                .into_iter()
                .find(|prefix| line.starts_with(prefix));
            match headline {
                Some(prefix) if tagged => {
                    text.push_str(prefix);
                    text.push_str(&format!("process {} ({}): ", image.pid, image.program));
                    text.push_str(&line[prefix.len()..]);
                }
                _ => text.push_str(line),
            }
        }
    }
    text
}

/// An image's `status` in the JSON: `checked`, `not_checked`, or `fast` (fast mode: listed
/// for the fault report of a sampled block that ended it, nothing else checked).
fn status_code(image: &Image) -> &'static str {
    match image.unchecked {
        Some(_) => "not_checked",
        None if image.fast => "fast",
        None => "checked",
    }
}

/// How many images were checked (fast-mode images were not, whatever they reported).
pub(crate) fn checked_count(images: &[Image]) -> usize {
    images
        .iter()
        .filter(|image| image.unchecked.is_none() && !image.fast)
        .count()
}

/// The process list for people: one line per image.
pub(crate) fn process_lines(images: &[Image]) -> String {
    let checked = checked_count(images);
    let fast = images.iter().filter(|image| image.fast).count();
    let mut text = if fast == images.len() {
        // Fast mode lists only the processes a fault on a sampled block ended.
        format!(
            "gpa: {fast} process(es) in fast mode ended on a fault on a sampled block (fast mode \
             checks nothing else)\n"
        )
    } else {
        format!(
            "gpa: {} process(es): {checked} checked, {} not checked\n",
            images.len(),
            images.len() - checked - fast
        )
    };
    for image in images {
        let exe = match &image.exe {
            Some(exe) if *exe != image.program => format!(" ({exe})"),
            _ => String::new(),
        };
        let findings = image
            .report
            .as_ref()
            .and_then(|report| report["findings"].as_array())
            .map_or(0, Vec::len);
        let status = match image.unchecked {
            None if image.fast => {
                format!("fast mode, ended on a fault on a sampled block, {findings} finding(s)")
            }
            None => {
                let ended = match (image.signal, &image.leaks_not_checked) {
                    (Some(signal), None) => {
                        format!(", ended by {}", signal_name(signal as i32))
                    }
                    (Some(signal), Some(reason)) => format!(
                        ", ended by {}, leaks not checked ({reason})",
                        signal_name(signal as i32)
                    ),
                    (None, Some(reason)) => format!(", leaks not checked ({reason})"),
                    _ => String::new(),
                };
                format!("checked, {findings} finding(s){ended}")
            }
            Some(Reason::NoReport) if image.killed_by.is_some() => {
                format!(
                    "NOT CHECKED: {}",
                    killed_without_report(image.killed_by.unwrap_or(0))
                )
            }
            Some(Reason::Confined) if image.left_out.is_some() => {
                format!("NOT CHECKED: {}", image.left_out.as_deref().unwrap_or(""))
            }
            Some(reason) => format!("NOT CHECKED: {}", reason.describe()),
        };
        text.push_str(&format!(
            "gpa:   pid {} {}{exe}: {status}\n",
            image.pid, image.program
        ));
    }
    text
}

/// Why a process that left no report was not checked, when `gpa run` saw the signal that
/// killed it.
pub(crate) fn killed_without_report(signal: i32) -> String {
    let why = match signal {
        libc::SIGSYS => {
            " (a seccomp filter that kills on system calls it does not allow, as OpenSSH's \
             pre-authentication child installs, refused one that gpa's exit report makes)"
        }
        libc::SIGKILL => " (it could not write its report before it died)",
        libc::SIGXFSZ => {
            " (RLIMIT_FSIZE: the program forbade writing to files, and gpa's report is a file)"
        }
        _ => " (after the program replaced gpa's handler for it, or where gpa cannot report)",
    };
    format!(
        "killed by {} before it wrote its report{why}",
        signal_name(signal)
    )
}

/// The name of a signal (`SIGTERM`), as the report of a process it ended gives it.
pub(crate) fn signal_name(signal: i32) -> String {
    gpa::__capi::exit::signal_name(signal)
}
