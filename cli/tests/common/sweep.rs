//! The sweeps' runner: a table of cases (a C or C++ program of a folder under `cli/tests/`, its
//! compiler flags and arguments, and what `gpa run` must report on it, as Valgrind memcheck
//! reports it) run natively and under `gpa run` in check, guard and fast modes.
//!
//! Design: one [`Case`] and one [`Want`] for every sweep, with the fields each sweep needs
//! (a case leaves the rest at [`case`]'s defaults); one [`Sweep`] per test file names the
//! program folder, the compilers its programs need and which frame a [`Want`]'s line is read
//! from; [`sweep`] compiles a table's programs at once and checks every case.
//!
//! What every case asserts (the invariants the tables rely on):
//! * the native run exits 0 (or the status the program ends itself with, [`Case::exits_with`]),
//!   or is killed by a signal where [`Case::native_aborts`] says glibc aborts it, or by the
//!   signal the program ends itself by ([`Case::ends_by_signal`]);
//! * check and guard modes exit 0 (128 + that signal where the program ends itself by one, the
//!   status it exits with where it ends itself by `exit`: [`Case::exits_with`]), say every
//!   process was checked, report exactly the case's findings (kind, block size, count, offset,
//!   the line and function a stack names), its leak totals and number of loss records, and no
//!   stack shows a frame of gpa's own library;
//! * every mode prints what the native run printed, or the case's own expected output (where
//!   glibc aborts, or where gpa answers otherwise and the case says so), unless the program
//!   prints bytes it read out of bounds ([`Case::prints_invalid_bytes`]);
//! * fast mode exits 0 (128 + that signal where the program ends itself by one, the status it
//!   exits with), unless the case leaves it out and says why ([`Case::fast_open`]), and
//!   prints the one-line report the case names ([`Case::fast_reports`]).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;

/// No blocks, no bytes.
pub const NONE: (u64, u64) = (0, 0);

/// No leak of any kind.
pub const NO_LEAKS: LeakTotals = [NONE; 4];

/// One finding (leaks are counted by [`Case::leaks`] instead): gpa's kind, the block's size
/// (0: no block), the access's offset in it (negative before it; `None`: not compared), the
/// stack (`access`, `invalid_free`, `detected`, `free`, `second_free`) whose frame (see
/// [`Lines`]) must be at `line` of the program (0: the stack is absent, as for a finding at
/// exit; `None`: not compared) and name `function` (`None`: not compared), and how many times
/// the finding's context was seen (its `count`; a counted finding's `size` is the bytes of all
/// its blocks; `None`: the count not compared and `size` compared with the finding's whole
/// `size`).
#[derive(Clone, Copy, Debug)]
pub struct Want {
    pub kind: &'static str,
    pub size: u64,
    pub offset: Option<i64>,
    pub at: Option<(&'static str, u64)>,
    pub function: Option<&'static str>,
    pub count: Option<u64>,
    /// The `count` repeats were accesses to one block (a read in a loop): the finding's `size`
    /// is that block's, not `count` blocks' ([`again`]).
    pub one_block: bool,
}

/// A finding seen once, its stack's line compared.
pub const fn want(
    kind: &'static str,
    size: u64,
    offset: Option<i64>,
    at: (&'static str, u64),
) -> Want {
    Want {
        kind,
        size,
        offset,
        at: Some(at),
        function: None,
        count: Some(1),
        one_block: false,
    }
}

/// A finding seen once, its stacks not compared.
pub const fn unplaced(kind: &'static str, size: u64, offset: Option<i64>) -> Want {
    Want {
        at: None,
        ..want(kind, size, offset, ("", 0))
    }
}

/// A finding whose count is not compared (`size`: the finding's whole size), its stack's line
/// compared where `at` is given.
pub const fn sized(
    kind: &'static str,
    size: u64,
    offset: Option<i64>,
    at: Option<(&'static str, u64)>,
) -> Want {
    let want = match at {
        Some(at) => want(kind, size, offset, at),
        None => unplaced(kind, size, offset),
    };
    Want {
        count: None,
        ..want
    }
}

/// An access `want` seen `count` times on its one block (memcheck: `count` errors from one
/// context; gpa: one finding of that block's bytes, counted `count` times, as
/// `capi::recorded` counts repeats).
pub const fn again(count: u64, want: Want) -> Want {
    Want {
        count: Some(count),
        one_block: true,
        ..want
    }
}

/// A fishy argument at `line`, seen `count` times (memcheck: one error context).
pub const fn fishy(line: u64, count: u64) -> Want {
    Want {
        count: Some(count),
        ..want("fishy_value", 0, None, ("detected", line))
    }
}

/// A program of the sweep's folder (`file`, with its suffix: `.c` for gcc, `.cpp` for g++),
/// compiled with `flags` and run with `args`; what check and guard modes must find, the leak
/// totals (definitely, indirectly, possibly lost, still reachable as (blocks, bytes)) and the
/// number of loss records; and where the runs' output or status is not the native run's.
#[derive(Clone, Copy, Debug)]
pub struct Case<'a> {
    pub file: &'static str,
    pub flags: &'a [&'a str],
    pub args: &'a [&'a str],
    pub check: &'a [Want],
    pub guard: &'a [Want],
    pub leaks: LeakTotals,
    pub records: usize,
    /// glibc aborts the native run (a double or invalid free it detects, a heap it finds
    /// corrupt): gpa's runs go on and exit 0, as Valgrind's does; their output is
    /// [`Case::output`]'s, or not compared without it.
    pub native_aborts: bool,
    /// The program ends itself by this signal in every mode (its own `abort()` after a failed
    /// assertion: 6; a store to address 0: 11): the native run is killed by it and every gpa
    /// mode exits 128 + it, the leak verdict taken at the signal; the output is compared as
    /// usual.
    pub ends_by_signal: Option<i32>,
    /// The program ends itself by `exit` with this status in every mode (Fortran's `ERROR STOP
    /// n`, a libgfortran runtime error's 2): the native run and every gpa mode exit with it, the
    /// leak verdict taken at the exit.
    pub exits_with: Option<i32>,
    /// The native run is left out: glibc's outcome depends on where ASLR put its heap (a raw
    /// pointer written into a freed chunk's link is read through safe-linking's mangling:
    /// "malloc(): unaligned tcache chunk detected" or a SIGSEGV, as the address falls); every
    /// mode prints [`Case::output`].
    pub native_left_out: bool,
    /// What every mode prints where glibc aborts or the native run is left out.
    pub output: Option<&'static str>,
    /// Check and guard modes' output where it is not the native run's (Valgrind's answer
    /// where glibc's is undefined behaviour).
    pub checked_output: Option<&'static str>,
    /// Guard mode's output where it is not the native run's (a system call given a guarded
    /// freed block fails with `EFAULT`: the kernel cannot read or write it; a program that
    /// prints what it read from a recently freed block, whose bytes guard mode keeps as
    /// Valgrind does: compared even with [`Case::prints_invalid_bytes`]).
    pub guard_output: Option<&'static str>,
    /// Fast mode's output where it is not the native run's.
    pub fast_output: Option<&'static str>,
    /// Lines of the output (calls of `alloc_sweep/api_errno.c`) whose block guard mode aligns
    /// below 16 bytes (blocks of 1 to 8 bytes: guard mode's documented alignment slack,
    /// `capi/guard.rs`): they say "aligned 0" in guard mode.
    pub guard_unaligned: &'a [&'a str],
    /// The program prints what it read from freed memory or past its block: check mode fills
    /// freed blocks and the bytes after a block, guard mode keeps only the recently freed
    /// blocks' bytes, and fast mode reuses freed memory otherwise than glibc, so no mode's
    /// output is compared (but [`Case::guard_output`], where given).
    pub prints_invalid_bytes: bool,
    /// Check mode left out, and why (a program that follows pointers read from a freed block
    /// crashes on check mode's fill of freed memory where Valgrind's kept bytes, and guard
    /// mode's, let it run on).
    pub check_open: Option<&'static str>,
    /// Fast mode left out, and why.
    pub fast_open: Option<&'static str>,
    /// What fast mode reports on stderr (its one-line message), if anything.
    pub fast_reports: Option<&'static str>,
}

/// A case without arguments or flags, its output the native run's, no leaks.
pub const fn case<'a>(file: &'static str, check: &'a [Want], guard: &'a [Want]) -> Case<'a> {
    Case {
        file,
        flags: &[],
        args: &[],
        check,
        guard,
        leaks: NO_LEAKS,
        records: 0,
        native_aborts: false,
        ends_by_signal: None,
        exits_with: None,
        native_left_out: false,
        output: None,
        checked_output: None,
        guard_output: None,
        fast_output: None,
        guard_unaligned: &[],
        prints_invalid_bytes: false,
        check_open: None,
        fast_open: None,
        fast_reports: None,
    }
}

/// A case without findings.
pub const fn clean(file: &'static str) -> Case<'static> {
    case(file, &[], &[])
}

/// A case whose only findings are its leaks.
pub const fn leaks(file: &'static str, leaks: LeakTotals, records: usize) -> Case<'static> {
    Case {
        leaks,
        records,
        ..clean(file)
    }
}

/// Which frame of a stack a [`Want`]'s line and function are read from.
#[derive(Clone, Copy, Debug)]
pub enum Lines {
    /// The stack's first frame.
    FirstFrame,
    /// The first frame in a file of the sweep's folder (past libc's own frames, as memcheck's
    /// `by ... main (file.c:N)`).
    InFolder,
}

/// A sweep's programs: their folder (`cli/tests/<folder>/`), the compilers they need (a test
/// skips with a message when one is missing) and where a [`Want`]'s line is read.
#[derive(Clone, Copy, Debug)]
pub struct Sweep {
    pub folder: &'static str,
    pub compilers: &'static [&'static str],
    pub lines: Lines,
}

impl Sweep {
    /// Whether the compilers are there; prints why the test is skipped when they are not.
    pub fn compilers_or_skip(&self) -> bool {
        self.compilers.iter().all(|&compiler| match compiler {
            "gcc" => gcc_or_skip(),
            other => !skip(other, other),
        })
    }

    /// Compiles `files` of the folder (`common::compile_programs`) into `dir`.
    pub fn compile(&self, files: &[&str], dir: &Path) -> Vec<PathBuf> {
        compile_programs(self.folder, files, dir)
    }

    /// The frame of `stack` a [`Want`] names.
    fn frame<'v>(&self, finding: &'v Value, stack: &str) -> Option<&'v Value> {
        let mut frames = finding["stacks"][stack].as_array()?.iter();
        match self.lines {
            Lines::FirstFrame => frames.next(),
            Lines::InFolder => {
                let folder = format!("{}/", self.folder);
                frames.find(|frame| frame["file"].as_str().is_some_and(|f| f.contains(&folder)))
            }
        }
    }

    /// Whether `finding` is the one `want` describes.
    fn matches(&self, finding: &Value, want: &Want) -> bool {
        finding["kind"] == want.kind
            && match want.count {
                Some(count) => {
                    let bytes = if want.one_block {
                        want.size
                    } else {
                        want.size * count
                    };
                    finding["size"] == bytes && finding["count"] == count
                }
                None => finding["size"] == want.size,
            }
            && want.offset.is_none_or(|offset| finding["offset"] == offset)
            && want.at.is_none_or(|(stack, line)| {
                let frame = self.frame(finding, stack);
                frame.and_then(|frame| frame["line"].as_u64()).unwrap_or(0) == line
                    && want.function.is_none_or(|function| {
                        frame.and_then(|frame| frame["function"].as_str()) == Some(function)
                    })
            })
    }

    /// Checks one run's findings against `wants` (in any order), its leak totals and records;
    /// no stack may show a frame of gpa's own library.
    pub fn assert_verdict(&self, tag: &str, run: &Run, wants: &[Want], case: &Case<'_>) {
        let findings = run.findings();
        let shown = format!("{tag}: {}\nstderr:\n{}", describe(&findings), run.stderr());
        let (records, errors): (Vec<&Value>, Vec<&Value>) =
            findings.iter().partition(|f| f["kind"] == "leak");
        assert_eq!(errors.len(), wants.len(), "{shown}");
        for want in wants {
            assert!(
                errors.iter().any(|finding| self.matches(finding, want)),
                "{tag}: no {} of a {}-byte block at offset {:?}, {:?} in {:?}, seen {:?} \
                 time(s)\n{shown}",
                want.kind,
                want.size,
                want.offset,
                want.at,
                want.function,
                want.count
            );
        }
        assert_eq!(gpa_leak_totals(&run.json), case.leaks, "{shown}");
        assert_eq!(records.len(), case.records, "{shown}");
        for finding in &findings {
            for (stack, frames) in finding["stacks"].as_object().into_iter().flatten() {
                for frame in frames.as_array().into_iter().flatten() {
                    let module = frame["module"].as_str().unwrap_or("");
                    assert!(
                        !module.ends_with("libgpa_preload.so"),
                        "{tag}: gpa's own frame in the {stack} stack: {frame}\n{shown}"
                    );
                }
            }
        }
    }

    /// Runs each case natively and in check, guard and fast modes and checks every run (see
    /// the module notes); `name` names the scratch directory.
    pub fn sweep(&self, name: &str, cases: &[Case<'_>]) {
        if !self.compilers_or_skip() {
            return;
        }
        let dir = scratch(name);
        // Each program once (several cases may run one program with other arguments).
        let mut builds: Vec<(&str, &[&str])> = Vec::new();
        for case in cases {
            if !builds.contains(&(case.file, case.flags)) {
                builds.push((case.file, case.flags));
            }
        }
        let programs = compile_programs_with(self.folder, &builds, &dir);
        for case in cases {
            let build = builds
                .iter()
                .position(|build| *build == (case.file, case.flags))
                .expect("compiled");
            let mut command = vec![programs[build].to_str().expect("a UTF-8 path")];
            command.extend_from_slice(case.args);
            self.run_case(&dir, case, &command);
        }
    }

    /// Runs one case's `command` (see [`Sweep::sweep`]).
    fn run_case(&self, dir: &Path, case: &Case<'_>, command: &[&str]) {
        let tag = |mode: &str| format!("{} {:?} {:?} ({mode})", case.file, case.flags, case.args);
        let native_output = if case.native_left_out {
            None
        } else {
            let native = plain_run(dir, command, |_| {});
            // A native run glibc aborts ends by SIGABRT (no status); gpa's runs exit 0.
            let native_status = if case.native_aborts || case.ends_by_signal.is_some() {
                None
            } else {
                Some(case.exits_with.unwrap_or(0))
            };
            assert_eq!(native.status.code(), native_status, "{}", tag("native"));
            if let Some(signal) = case.ends_by_signal {
                use std::os::unix::process::ExitStatusExt;
                assert_eq!(native.status.signal(), Some(signal), "{}", tag("native"));
            }
            (!case.native_aborts && !case.prints_invalid_bytes)
                .then(|| String::from_utf8_lossy(&native.stdout).into_owned())
        };
        let expected = case.output.map(str::to_owned).or(native_output);
        // gpa run exits 128 + N where the program was killed by signal N.
        let status = case
            .ends_by_signal
            .map_or(case.exits_with.unwrap_or(0), |signal| 128 + signal);
        for (mode, options, wants) in [
            ("check", &["--show-leak-kinds=all"][..], case.check),
            (
                "guard",
                &["--show-leak-kinds=all", "--guard"][..],
                case.guard,
            ),
        ] {
            let tag = tag(mode);
            if let ("check", Some(why)) = (mode, case.check_open) {
                eprintln!("{tag}: not run: {why}");
                continue;
            }
            let run = gpa_run(dir, options, command);
            assert_eq!(
                run.output.status.code(),
                Some(status),
                "{tag}: {}",
                run.stderr()
            );
            let output = match (mode, case.guard_output) {
                ("guard", Some(output)) => Some(output.to_owned()),
                _ => case.checked_output.map(str::to_owned).or(expected.clone()),
            };
            if let Some(mut output) = output {
                if mode == "guard" {
                    for call in case.guard_unaligned {
                        let line = format!("{call}: block errno kept aligned 1 covers 1\n");
                        assert!(output.contains(&line), "{tag}: {line}");
                        output = output.replace(&line, &line.replace("aligned 1", "aligned 0"));
                    }
                }
                assert_eq!(run.stdout(), output, "{tag}");
            }
            assert_eq!(run.json["all_checked"], true, "{tag}: {}", run.stderr());
            self.assert_verdict(&tag, &run, wants, case);
        }
        let tag = tag("fast");
        if let Some(why) = case.fast_open {
            eprintln!("{tag}: not run: {why}");
            return;
        }
        // Fast mode goes on where glibc aborts (no crash); elsewhere it prints what the native
        // run printed.
        let fast = fast_run(dir, command);
        let fast_stderr = String::from_utf8_lossy(&fast.stderr);
        assert_eq!(fast.status.code(), Some(status), "{tag}: {fast_stderr}");
        if let Some(report) = case.fast_reports {
            assert!(
                fast_stderr.contains(report),
                "{tag}: no {report:?}: {fast_stderr}"
            );
        }
        if let Some(output) = case.fast_output.map(str::to_owned).or(expected) {
            assert_eq!(
                String::from_utf8_lossy(&fast.stdout),
                output,
                "{tag}: stdout"
            );
        }
    }
}

/// The line of a stack's first frame.
pub fn first_line(finding: &Value, stack: &str) -> Option<u64> {
    finding["stacks"][stack].as_array()?.first()?["line"].as_u64()
}

/// The function and line of a stack's first frame.
pub fn first_frame(finding: &Value, stack: &str) -> Option<(String, u64)> {
    let frame = finding["stacks"][stack].as_array()?.first()?;
    Some((
        frame["function"].as_str()?.to_string(),
        frame["line"].as_u64()?,
    ))
}

/// A case of `file` run with `args` whose check and guard modes report the same.
pub fn same<'a>(file: &'static str, args: &'a [&'a str], wants: &'a [Want]) -> Case<'a> {
    Case {
        args,
        ..case(file, wants, wants)
    }
}

/// Runs Valgrind memcheck (`--leak-check=full --show-leak-kinds=all`, then `extra`) on
/// `command` in `dir`, its log in `dir/valgrind.log`, and returns the log's text. Panics when
/// Valgrind dies of a signal (the sweeps call it only where it is installed).
pub fn valgrind_log(dir: &Path, extra: &[&str], command: &[&str]) -> String {
    let log = dir.join("valgrind.log");
    let out = std::process::Command::new("valgrind")
        .current_dir(dir)
        .args(["--leak-check=full", "--show-leak-kinds=all"])
        .args(extra)
        .arg(format!("--log-file={}", log.display()))
        .args(command)
        .output()
        .expect("run valgrind");
    assert!(out.status.code().is_some(), "valgrind died: {out:?}");
    std::fs::read_to_string(&log).expect("valgrind's log")
}

/// The lines of a Valgrind log without their `==pid== ` prefix (the blank line between two
/// errors is empty).
pub fn log_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(|line| line.split_once("== ").map_or("", |(_, rest)| rest))
        .collect()
}

/// The number right after `marker` in `line`, thousands separators dropped: a line number
/// after `(file.c:`, a block's size after `a block of size `.
pub fn number_after(line: &str, marker: &str) -> Option<u64> {
    let rest = line.split_once(marker)?.1;
    rest.chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(|c| *c != ',')
        .collect::<String>()
        .parse()
        .ok()
}

/// An error context of Valgrind's or a finding of gpa's: what was done (`read`, `write`,
/// `free`) and the line of the first frame in the program's file.
pub type Place = (String, u64);

/// Valgrind (with `extra` options) on `command`, run in `dir`: its error contexts as
/// [`Place`]s (an invalid read, write or free, or a mismatched free, each at the first frame
/// in `file` of the error's own stack, not the free's or the allocation's after "Address";
/// one that never reaches the program is left out; deduplicated, sorted) and its leak totals.
pub fn valgrind_places(
    dir: &Path,
    extra: &[&str],
    command: &[&str],
    file: &str,
) -> (Vec<Place>, LeakTotals) {
    let text = valgrind_log(dir, extra, command);
    let lines = log_lines(&text);
    let marker = format!("({file}:");
    let mut places = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let what = if line.starts_with("Invalid read") {
            "read"
        } else if line.starts_with("Invalid write") {
            "write"
        } else if line.starts_with("Invalid free") || line.starts_with("Mismatched free") {
            "free"
        } else {
            continue;
        };
        if let Some(number) = lines[at..]
            .iter()
            .take_while(|line| !line.is_empty() && !line.starts_with(" Address"))
            .find_map(|line| number_after(line, &marker))
        {
            places.push((what.to_owned(), number));
        }
    }
    places.sort();
    places.dedup();
    (places, valgrind_leak_totals(&text))
}

/// gpa's findings (leaks aside) as [`Place`]s, deduplicated and sorted: the access's line where
/// there is one, else the free's.
pub fn gpa_places(findings: &[Value], file: &str) -> Vec<Place> {
    let line_in = |finding: &Value, stack: &str| {
        finding["stacks"][stack].as_array().and_then(|frames| {
            frames
                .iter()
                .find(|frame| frame["file"].as_str().is_some_and(|f| f.ends_with(file)))
                .and_then(|frame| frame["line"].as_u64())
        })
    };
    let mut places: Vec<Place> = findings
        .iter()
        .filter(|finding| finding["kind"] != "leak")
        .map(|finding| {
            let message = finding["message"].as_str().unwrap_or("");
            let what = match finding["kind"].as_str().unwrap_or("") {
                "invalid_free" | "double_free" | "mismatched_free" => "free",
                "read_after_free" => "read",
                "write_after_free" => "write",
                _ if message.contains("read of") => "read",
                _ => "write",
            };
            let line = line_in(finding, "access")
                .or_else(|| line_in(finding, "second_free"))
                .or_else(|| line_in(finding, "invalid_free"))
                .unwrap_or(0);
            (what.to_owned(), line)
        })
        .collect();
    places.sort();
    places.dedup();
    places
}
