//! Programs that run on stacks they sized themselves, which gpa knows nothing of: a `clone()`
//! child on a 16 KiB or 8 KiB stack, `makecontext` coroutines on 16 KiB stacks, a signal
//! handler on a `SIGSTKSZ` alternate stack, a thread on a stack given with
//! `pthread_attr_setstack` (`tests/c/stk_*.c`). Each allocates and frees, overflows a 20-byte
//! block by one byte and leaks 40 bytes; natively and under Valgrind they run. gpa's own work
//! must not overflow those stacks (it did: `SIGSEGV` in check and guard modes): its heavy
//! cold work runs on stacks of its own (`os::stack`). In check and guard modes gpa reports what
//! Valgrind reports (written in below, from Valgrind 3.19 `--leak-check=full`, and checked
//! against it again where it is installed); in fast mode the program just runs.
//!
//! A debug build of the preload library (CI runs `cargo test -p gpa-cli --test small_stacks`)
//! has frames several times larger, and is tested on larger small stacks ([`sizes`]).

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// One program run: its arguments, and what Valgrind says of it.
struct Case {
    program: &'static str,
    args: Vec<String>,
    /// Valgrind 3.19 cannot run it ("vm": `clone(CLONE_VM)` without `CLONE_THREAD`).
    valgrind_refuses: bool,
    /// Processes that write a report (a `clone()` child that is a process of its own and
    /// calls `exit` writes one too).
    processes: usize,
    /// Valgrind's leak totals (of all processes): definitely, indirectly, possibly lost,
    /// still reachable. The 40 bytes are definitely lost, or still reachable when `exit` is
    /// called from the frame whose (unoptimized) local still holds the pointer.
    leaks: LeakTotals,
    /// The overflow findings gpa reports: Valgrind's one, except in a `clone()` child that is
    /// a process of its own ("exit"): gpa notices it is a new process only at its `exit`
    /// (no `fork` handler ran) and drops the findings recorded before as its parent's
    /// (`capi::process::is_original_process`), so the child's overflow is not reported.
    overflows: usize,
}

const LOST: LeakTotals = [(1, 40), (0, 0), (0, 0), (0, 0)];
const HELD: LeakTotals = [(0, 0), (0, 0), (0, 0), (1, 40)];

/// The stack sizes tested, in bytes: (the smaller, the larger) for the `clone()` children,
/// the coroutines and the signal stack; and the `pthread_attr_setstack` thread's.
///
/// A debug build of the preload library (what `cargo test` builds) has frames several times
/// larger: with the unwind rules computed on gpa's stacks, its `malloc` and `free` still take
/// up to 18 KiB of the program's stack in check mode (a finding's capture and walk; 5.3 KiB in
/// fast mode), where a release build takes under 1 KiB (docs/c_abi.md, "Threads' stacks").
/// So a debug build is tested on 32 and 48 KiB stacks (before, check mode needed 71 KiB),
/// a release build on 8 and 16 KiB ones (SIGSTKSZ for the signal stack).
fn sizes() -> ((usize, usize), usize) {
    if !debug_library() {
        ((8 << 10, 16 << 10), 96 << 10)
    } else {
        ((32 << 10, 48 << 10), 128 << 10)
    }
}

/// Whether the preload library under test is a debug build (it is built in the profile of
/// the `gpa` executable's directory).
fn debug_library() -> bool {
    !preload_library()
        .parent()
        .is_some_and(|dir| dir.ends_with("release"))
}

fn cases() -> Vec<Case> {
    let ((small, larger), thread) = sizes();
    let case = |program, args: &[&str], refuses, processes, leaks, overflows| Case {
        program,
        args: args.iter().map(|arg| arg.to_string()).collect(),
        valgrind_refuses: refuses,
        processes,
        leaks,
        overflows,
    };
    let (small, larger, thread) = (small.to_string(), larger.to_string(), thread.to_string());
    let signal_stack = if debug_library() {
        larger.as_str()
    } else {
        "8192"
    };
    vec![
        case("stk_clone", &[&larger], false, 1, LOST, 1),
        case("stk_clone", &[&small], false, 1, LOST, 1),
        case("stk_clone", &[&larger, "vm"], true, 1, LOST, 1),
        case("stk_clone", &[&small, "vm"], true, 1, LOST, 1),
        case("stk_clone", &[&larger, "exit"], false, 2, HELD, 0),
        case("stk_clone", &[&small, "exit"], false, 2, HELD, 0),
        case("stk_ucontext", &["run", &larger], false, 1, LOST, 1),
        case("stk_ucontext", &["exit", &larger], false, 1, HELD, 1),
        case("stk_sigaltstack", &[signal_stack], false, 1, LOST, 1),
        case("stk_pthread_own", &[&thread], false, 1, LOST, 1),
    ]
}

// Valgrind's verdict on every case: one invalid write (1 byte, 0 bytes after a block of
// 24), and the 40 bytes in 1 block of `Case::leaks` (in the child, for the "exit" clone).

fn compile(name: &str, dir: &Path) -> PathBuf {
    compile_c(name, dir)
}

fn command_of<'a>(binary: &'a Path, case: &'a Case) -> Vec<&'a str> {
    let mut command = vec![binary.to_str().expect("a UTF-8 path")];
    command.extend(case.args.iter().map(String::as_str));
    command
}

fn name_of(case: &Case) -> String {
    format!("{} {}", case.program, case.args.join(" "))
}

/// Valgrind's verdict, checked against the one written in, where Valgrind is installed.
fn check_valgrind_agrees(dir: &Path, command: &[&str], name: &str, leaks: LeakTotals) {
    if !have("valgrind") {
        eprintln!("note: valgrind is not installed; expectations not re-checked against it");
        return;
    }
    let output = std::process::Command::new("valgrind")
        .args(["--leak-check=full", "--trace-children=no"])
        .args(command)
        .current_dir(dir)
        .output()
        .expect("run valgrind");
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{name}: valgrind: {text}");
    assert_eq!(
        valgrind_leak_totals(&text),
        leaks,
        "{name}: valgrind: {text}"
    );
    assert!(
        text.contains("Invalid write of size 1")
            && text.contains("0 bytes after a block of size 20"),
        "{name}: valgrind: {text}"
    );
}

/// Runs every case natively, under Valgrind (where it can) and under gpa in `mode`.
fn run_all(mode: &[&str]) {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch(&format!("small-stacks{}", mode.join("")));
    let checks = mode != ["--fast"];
    for case in &cases() {
        let binary = compile(case.program, &dir);
        let command = command_of(&binary, case);
        let name = name_of(case);
        let native = plain_run(&dir, &command, |_| {});
        assert!(native.status.success(), "{name}: natively: {native:?}");
        if checks && !case.valgrind_refuses && mode.is_empty() {
            check_valgrind_agrees(&dir, &command, &name, case.leaks);
        }
        let run = gpa_run(&dir, mode, &command);
        let stderr = run.stderr();
        assert!(
            run.output.status.success(),
            "{name} {mode:?}: gpa run: {:?}\n{stderr}",
            run.output.status
        );
        assert_eq!(
            run.stdout(),
            String::from_utf8_lossy(&native.stdout),
            "{name} {mode:?}"
        );
        if !checks {
            continue;
        }
        let processes = run.json["processes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(processes.len(), case.processes, "{name} {mode:?}: {stderr}");
        let mut leaks = [(0, 0); 4];
        for process in &processes {
            assert_eq!(process["status"], "checked", "{name} {mode:?}: {stderr}");
            for (sum, (blocks, bytes)) in leaks.iter_mut().zip(gpa_leak_totals(process)) {
                *sum = (sum.0 + blocks, sum.1 + bytes);
            }
        }
        assert_eq!(leaks, case.leaks, "{name} {mode:?}: {stderr}");
        let findings = run.findings();
        let overflows: Vec<_> = findings
            .iter()
            .filter(|finding| finding["kind"] == "overflow")
            .collect();
        let others: Vec<_> = findings
            .iter()
            .filter(|finding| finding["kind"] != "overflow" && finding["kind"] != "leak")
            .cloned()
            .collect();
        assert_eq!(
            (overflows.len(), others.len()),
            (case.overflows, 0),
            "{name} {mode:?}: {}\n{stderr}",
            describe(&findings)
        );
    }
}

#[test]
fn check_mode_runs_on_the_programs_small_stacks_and_reports_what_valgrind_does() {
    run_all(&[]);
}

#[test]
fn guard_mode_runs_on_the_programs_small_stacks_and_reports_what_valgrind_does() {
    run_all(&["--guard"]);
}

#[test]
fn fast_mode_runs_on_the_programs_small_stacks() {
    run_all(&["--fast"]);
}
