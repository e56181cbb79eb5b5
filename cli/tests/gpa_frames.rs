//! gpa's own frames are no roots: a thread the exit scan (or the scan at a fatal signal)
//! stops inside gpa (its `malloc`, `free`, ...) is judged from the program's frame that called
//! gpa, with the registers gpa's frames saved, as Valgrind memcheck judges a thread whose
//! allocator call is one step, run on Valgrind's own stack. Before, the scan read the stopped
//! thread's stack from its stack pointer, gpa's frames included, whose unwritten slots may
//! hold copies of a pointer the program has dropped: a definitely lost block counted as still
//! reachable (`sig_stress.c` about once in 300 debug runs; `frames_stale.c`, made for it,
//! nearly every run). See `docs/leaks.md`, "Registers at exit" (gpa's own frames).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// Valgrind 3.19's leak summary of `frames_stale` (either way it ends, `-O0` as built here):
/// the 33 bytes lost; the possibly lost block is the second thread's DTV (16 bytes more under
/// gpa: its preload library adds a module with thread-locals); the reachable total depends on
/// where main was stopped (0 or 24 bytes), so it is not compared.
const VALGRIND_FRAMES_STALE: &str = "==26288==    definitely lost: 33 bytes in 1 blocks
==26288==    indirectly lost: 0 bytes in 0 blocks
==26288==      possibly lost: 272 bytes in 1 blocks
==26288==    still reachable: 0 bytes in 0 blocks";

/// The bytes one more module with thread-local storage adds to a thread's DTV.
const GPA_DTV_EXTRA: u64 = 16;

/// Runs of each way (exit, SIGTERM) and mode (check, guard); `GPA_FRAMES_RUNS` sets another
/// number. Before the fix, a debug build had the 33 bytes still reachable in 40 of 40 runs in
/// check mode (20 exit, 20 SIGTERM) and 14 of 20 with `--guard`; a release build in none of
/// 60 (its frames leave fewer slots unwritten). After it, debug: 0 of 100 exit and 0 of 60
/// SIGTERM in check mode, 0 of 60 exit with `--guard` (`LD_PRELOAD`, 2026-12-02). So 4 runs
/// of each in a debug build (CI's, where the fault showed) see a return of it.
fn runs() -> usize {
    repeat_count("GPA_FRAMES_RUNS", 20, 4)
}

/// Valgrind's verdict on `frames_stale`, where Valgrind is installed: it must still be
/// [`VALGRIND_FRAMES_STALE`]'s (less the reachable total).
fn recheck_valgrind(dir: &Path, binary: &Path, how: &str) {
    if !have("valgrind") {
        eprintln!("note: valgrind is not installed; expectations not re-checked against it");
        return;
    }
    // `--fair-sched=yes`: with Valgrind's default lock, main's loop of `malloc` and `free`
    // kept the ending thread from running for minutes now and then (269 s for this test in
    // a debug build on an idle machine, 2026-12-03; 0.5-0.7 s a run with it, same verdict).
    let output = Command::new("valgrind")
        .args(["--fair-sched=yes", "--leak-check=full"])
        .arg(binary)
        .arg(how)
        .current_dir(dir)
        .output()
        .expect("run valgrind");
    let live = valgrind_leak_totals(&String::from_utf8_lossy(&output.stderr));
    let expected = valgrind_leak_totals(VALGRIND_FRAMES_STALE);
    // Now and then (1 of 2 SIGTERM runs under a loaded machine, 2026-12-02) Valgrind stops
    // main inside its `malloc`, the loop's fresh 24-byte block not yet returned, and counts
    // that block definitely lost too: 57 bytes in 2 blocks. gpa holds a block in flight
    // (docs/leaks.md), as Valgrind does everywhere else.
    let mut in_flight = expected;
    in_flight[0] = (expected[0].0 + 1, expected[0].1 + 24);
    assert!(
        live[..3] == expected[..3] || live[..3] == in_flight[..3],
        "{how}: Valgrind's verdict changed: {live:?}, not {expected:?}"
    );
}

#[test]
fn stale_copies_in_gpas_frames_keep_no_dropped_block_reachable() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("gpa-frames-stale");
    let binary = compile_c("frames_stale", &dir);
    let mut expected = valgrind_leak_totals(VALGRIND_FRAMES_STALE);
    expected[2].1 += GPA_DTV_EXTRA;
    let runs = runs();
    let mut wrong = Vec::new();
    for how in ["exit", "term"] {
        recheck_valgrind(&dir, &binary, how);
        for mode in [&[][..], &["--guard"][..]] {
            for run in 0..runs {
                let report = gpa_run(&dir, mode, &[binary.to_str().unwrap(), how]);
                let process = &report.json["processes"][0];
                assert_eq!(process["status"], "checked", "{}", report.stderr());
                if process["leaks_checked"] == false {
                    // The signal came while the thread it went to was inside gpa: not judged.
                    assert_eq!(how, "term", "{}", report.stderr());
                    continue;
                }
                let totals = gpa_leak_totals(&report.json);
                if totals[..3] != expected[..3] {
                    wrong.push(format!("{how} {mode:?} run {run}: {totals:?}"));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} runs differ from Valgrind's {expected:?}: {wrong:#?}",
        wrong.len(),
        runs * 4
    );
}
