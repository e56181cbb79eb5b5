//! The caching unwinder of check mode against libgcc's: `tests/unwind/random_stacks.c` (random
//! recursion depths and shapes, loops at one depth, a frame addressed from `rbp`, calls through
//! a function pointer and through `qsort`), built with `gcc -O2` (no frame pointers), runs under
//! `gpa run` with `GPA_UNWIND_CHECK=1`, which compares every trace the caching unwinder
//! produced (remembered captures answered whole, remembered walks replayed, the rest by the
//! unwind rules) with the plain `_Unwind_Backtrace` walk of the same stack. Every trace must
//! agree, and remembered captures must be among them.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// Builds `tests/unwind/NAME.c` with `gcc -O2 -g -fomit-frame-pointer` into `dir/NAME`.
fn build_unwind_program(dir: &Path, name: &str) -> std::path::PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/unwind/{name}.c"));
    let binary = dir.join(name);
    let out = Command::new("gcc")
        .args(["-O2", "-g", "-fomit-frame-pointer", "-o"])
        .arg(&binary)
        .arg(&source)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "gcc {name}.c: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    binary
}

/// Builds `tests/unwind/random_stacks.c` into `dir`.
fn build_random_stacks(dir: &Path) -> std::path::PathBuf {
    build_unwind_program(dir, "random_stacks")
}

/// (traces compared, traces that differed, traces a remembered capture answered, traces a
/// recalled walk answered) from the cross-check's line at exit.
fn cross_check_counts(stderr: &str) -> (u64, u64, u64, u64) {
    let line = stderr
        .lines()
        .find(|line| line.contains("traces compared with libgcc's"))
        .unwrap_or_else(|| panic!("no cross-check summary in:\n{stderr}"));
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|word| word.parse().ok())
        .collect();
    (numbers[0], numbers[1], numbers[2], numbers[3])
}

fn check_at_depth(frames: &str, rounds: &str) {
    if !have("gcc") {
        eprintln!("SKIPPED: gcc is not installed (apt-get install gcc)");
        return;
    }
    let dir = scratch(&format!("unwind-{frames}"));
    let binary = build_random_stacks(&dir);
    let run = gpa_run_with(
        &dir,
        &["--frames", frames],
        &[binary.to_str().unwrap(), rounds],
        |command| {
            command.env("GPA_UNWIND_CHECK", "1");
        },
    );
    let stderr = run.stderr();
    assert!(run.output.status.success(), "{stderr}");
    assert_eq!(run.stdout(), format!("random stacks: {rounds} rounds\n"));
    assert!(run.findings().is_empty(), "{}", describe(&run.findings()));
    let (compared, differed, remembered, recalled) = cross_check_counts(&stderr);
    assert!(compared > 5_000, "only {compared} traces compared");
    assert_eq!(differed, 0, "traces differ from libgcc's:\n{stderr}");
    // The loops at one depth and the twin call sites replay remembered captures, which the
    // comparison covers too (8 frames; a 32-frame capture reads more words than a memo keeps,
    // so few are remembered).
    // The recursions through two call sites (espresso's shape) come back to call paths
    // walked before, which recalled walks answer, and the comparison covers them too.
    if frames == "8" {
        assert!(
            remembered > compared / 50,
            "only {remembered} of {compared} traces were remembered ones"
        );
        assert!(
            recalled > compared / 100,
            "only {recalled} of {compared} traces were recalled ones"
        );
    }
}

#[test]
fn eight_frame_traces_agree_with_libgcc() {
    check_at_depth("8", "200");
}

#[test]
fn deep_traces_agree_with_libgcc() {
    check_at_depth("32", "200");
}

/// `tests/unwind/signal_stacks.c`: a signal handler that allocates, interrupting recursions of
/// random depth. Each of its traces must go on past the signal trampoline into the interrupted
/// frames, as libgcc's walk does (and Valgrind's stacks). Before, the caching unwinder ended
/// every such trace at the trampoline: 68 of 69 traces differed from libgcc's (2026-12-02).
#[test]
fn signal_handler_traces_go_on_into_the_interrupted_code_as_libgccs() {
    if !have("gcc") {
        eprintln!("SKIPPED: gcc is not installed (apt-get install gcc)");
        return;
    }
    let dir = scratch("unwind-signals");
    let binary = build_unwind_program(&dir, "signal_stacks");
    let run = gpa_run_with(
        &dir,
        &["--frames", "12"],
        &[binary.to_str().unwrap(), "100000"],
        |command| {
            command.env("GPA_UNWIND_CHECK", "1");
        },
    );
    let stderr = run.stderr();
    assert!(run.output.status.success(), "{stderr}");
    assert!(run.findings().is_empty(), "{}", describe(&run.findings()));
    let (compared, differed, _, _) = cross_check_counts(&stderr);
    // The timer fires every few milliseconds of CPU time: 70 traces or so in 0.3 s.
    assert!(compared >= 10, "only {compared} traces compared:\n{stderr}");
    assert_eq!(differed, 0, "traces differ from libgcc's:\n{stderr}");
}

/// A loss record: its blocks, its bytes, and its allocation trace's frames (function,
/// offset in its module).
type LossRecord = (u64, u64, Vec<(String, String)>);

/// The allocation traces of the leaks of `run`, one per loss record, sorted.
fn leak_traces(run: &Run) -> Vec<LossRecord> {
    let mut traces: Vec<_> = run
        .findings()
        .iter()
        .filter(|finding| finding["kind"] == "leak")
        .map(|finding| {
            let frames = finding["stacks"]["alloc"]
                .as_array()
                .map(|frames| {
                    frames
                        .iter()
                        .map(|frame| {
                            (
                                frame["function"].as_str().unwrap_or("?").to_owned(),
                                frame["offset"].as_str().unwrap_or("?").to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            (
                finding["count"].as_u64().unwrap_or(0),
                finding["size"].as_u64().unwrap_or(0),
                frames,
            )
        })
        .collect();
    traces.sort();
    traces
}

/// `tests/unwind/leaky_stacks.c`: leaks from a recursion through two call sites (espresso's
/// shape). Without the cross-check, a capture whose remembered trace does not answer walks
/// from what the look-up found (`unwind::capture_unanswered`); under it, no remembered capture
/// answers before the capture, and every trace is compared with libgcc's. The loss records,
/// trace by trace, must be the same both ways (the environment variable also moves every
/// stack address, so other captures are remembered and walked), and the leak summary is
/// Valgrind's: `valgrind --leak-check=full ./leaky_stacks 300` (3.19), "definitely lost:
/// 7,624 bytes in 248 blocks", nothing else lost or reachable.
#[test]
fn leak_traces_are_the_same_with_and_without_remembered_captures() {
    if !have("gcc") {
        eprintln!("SKIPPED: gcc is not installed (apt-get install gcc)");
        return;
    }
    let dir = scratch("unwind-leaky");
    let binary = build_unwind_program(&dir, "leaky_stacks");
    let program = [binary.to_str().unwrap(), "300"];
    let remembered = gpa_run(&dir, &["--frames", "8"], &program);
    let checked = gpa_run_with(&dir, &["--frames", "8"], &program, |command| {
        command.env("GPA_UNWIND_CHECK", "1");
    });
    let stderr = checked.stderr();
    let (compared, differed, _, _) = cross_check_counts(&stderr);
    assert!(compared > 20_000, "only {compared} traces compared");
    assert_eq!(differed, 0, "traces differ from libgcc's:\n{stderr}");
    let valgrind = [(248, 7624), (0, 0), (0, 0), (0, 0)];
    for run in [&remembered, &checked] {
        assert_eq!(
            run.stdout(),
            "leaky stacks: 300 rounds, 15187 blocks\n",
            "{}",
            run.stderr()
        );
        assert_eq!(gpa_leak_totals(&run.json), valgrind);
    }
    let traces = leak_traces(&remembered);
    assert!(traces.len() > 20, "only {} loss records", traces.len());
    assert!(
        traces.iter().any(|(_, _, frames)| frames.len() == 8),
        "no 8-frame trace: {traces:?}"
    );
    assert_eq!(traces, leak_traces(&checked));
}
