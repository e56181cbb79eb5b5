//! Leak verdicts of `gpa run` against Valgrind memcheck's, program by program: the roots
//! (running and finished threads, shared mappings, inaccessible pages), the loss kinds and
//! records, the options that choose what is shown and what counts as an error, and
//! suppressions in Valgrind's and LeakSanitizer's formats.
//!
//! Each expected value was read from Valgrind 3.19 on the same program (the C files say which);
//! where Valgrind is installed, each test also runs it and checks that it still says so, so
//! the expectations cannot drift from the oracle. One difference is explained, not hidden:
//! glibc sizes a thread's dynamic thread vector (DTV) by the number of loaded modules with
//! thread-local storage, and `libgpa_preload.so` is one more such module than Valgrind's
//! preload library, so a running thread's DTV block is 16 bytes larger under gpa.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

/// The bytes one more module with thread-local storage adds to a thread's DTV (one `dtv_t`).
const GPA_DTV_EXTRA: u64 = 16;

fn gcc_or_skip() -> bool {
    if have("gcc") {
        return true;
    }
    eprintln!("SKIPPED: gcc is not installed (apt-get install gcc)");
    false
}

/// A leak summary: (blocks, bytes) of definitely, indirectly, possibly lost, still reachable,
/// suppressed.
type Summary = [(u64, u64); 5];

const KINDS: [&str; 5] = [
    "definite",
    "indirect",
    "possible",
    "reachable",
    "suppressed",
];

fn summary_of(json: &Value) -> Summary {
    KINDS.map(|kind| {
        let amount = &json["leak_summary"][kind];
        (
            amount["blocks"].as_u64().unwrap_or(0),
            amount["bytes"].as_u64().unwrap_or(0),
        )
    })
}

/// Valgrind's LEAK SUMMARY for `command` run in `dir` (with its "suppressed" line), or `None`
/// without Valgrind.
fn valgrind_summary(dir: &Path, command: &[&str], options: &[&str]) -> Option<Summary> {
    let text = valgrind_stderr(dir, command, options)?;
    Some(valgrind_amounts(
        &text,
        [
            "definitely lost:",
            "indirectly lost:",
            "possibly lost:",
            "still reachable:",
            "suppressed:",
        ],
    ))
}

/// The loss records among the findings: (leak kind, blocks, direct bytes, indirect bytes,
/// first function of the allocation stack).
fn records(run: &Run) -> Vec<(String, u64, u64, u64, String)> {
    run.findings()
        .iter()
        .filter(|f| f["kind"] == "leak")
        .map(|f| {
            (
                f["leak_kind"].as_str().unwrap_or("").to_owned(),
                f["count"].as_u64().unwrap(),
                f["direct_bytes"].as_u64().unwrap(),
                f["indirect_bytes"].as_u64().unwrap(),
                stack_functions(f, "alloc")
                    .first()
                    .cloned()
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn record(
    kind: &str,
    blocks: u64,
    direct: u64,
    indirect: u64,
    function: &str,
) -> (String, u64, u64, u64, String) {
    (kind.into(), blocks, direct, indirect, function.into())
}

/// Compiles `tests/c/<program>.c` into a fresh directory and runs it under `gpa run
/// --show-leak-kinds=all`; checks that it prints "done" and exits 0, that Valgrind (where
/// installed) still gives `valgrind`, and that gpa gives the same, with the possibly lost
/// bytes larger by `possible_extra` (the DTVs of running threads, see the module docs).
/// `None` when gcc is missing.
fn judged_like_valgrind(program: &str, valgrind: Summary, possible_extra: u64) -> Option<Run> {
    judged_like_valgrind_built(program, &[], valgrind, possible_extra)
}

/// As [`judged_like_valgrind`], the program built with gcc `flags` added.
fn judged_like_valgrind_built(
    program: &str,
    flags: &[&str],
    valgrind: Summary,
    possible_extra: u64,
) -> Option<Run> {
    if !gcc_or_skip() {
        return None;
    }
    let dir = scratch(program);
    let binary = compile_c_with("c", program, program, flags, &dir);
    let path = binary.to_str().unwrap();
    let run = gpa_run(&dir, &["--show-leak-kinds=all"], &[path]);
    assert_eq!(run.stdout(), "done\n", "{program}");
    assert_eq!(run.output.status.code(), Some(0), "{program}");
    if let Some(live) = valgrind_summary(&dir, &[path], &[]) {
        assert_eq!(live, valgrind, "{program}: Valgrind's verdict changed");
    }
    let mut expected = valgrind;
    expected[2].1 += possible_extra;
    assert_eq!(
        summary_of(&run.json),
        expected,
        "{program}: {}",
        run.stderr()
    );
    Some(run)
}

fn assert_has_records(run: &Run, wanted: &[(String, u64, u64, u64, String)]) {
    let records = records(run);
    for record in wanted {
        assert!(records.contains(record), "{record:?} in {records:?}");
    }
}

#[test]
fn a_running_threads_leak_is_found_and_its_stack_and_registers_are_roots() {
    let valgrind = [(1, 3333), (0, 0), (1, 272), (1, 1111), (0, 0)];
    let Some(run) = judged_like_valgrind("leak_thread_running", valgrind, GPA_DTV_EXTRA) else {
        return;
    };
    assert_has_records(
        &run,
        &[
            record("definite", 1, 3333, 0, "worker"),
            record("reachable", 1, 1111, 0, "worker"),
        ],
    );
    assert_eq!(
        run.json["processes"][0]["errors"], 2,
        "3,333 B definite, the DTV possible"
    );
}

#[test]
fn threads_waiting_at_exit_are_roots_and_glibcs_exit_time_frees_still_run() {
    let valgrind = [(1, 7), (0, 0), (4, 1088), (4, 400), (0, 0)];
    let Some(run) = judged_like_valgrind("leak_thread_pool", valgrind, 4 * GPA_DTV_EXTRA) else {
        return;
    };
    assert_has_records(&run, &[record("reachable", 4, 400, 0, "worker")]);
}

#[test]
fn the_frames_that_called_exit_are_roots() {
    let valgrind = [(1, 12), (0, 0), (0, 0), (1, 321), (0, 0)];
    judged_like_valgrind("leak_exit_in_callee", valgrind, 0);
    // `exit` from another thread than the main one.
    let valgrind = [(1, 555), (0, 0), (1, 272), (1, 666), (0, 0)];
    judged_like_valgrind("leak_exit_from_thread", valgrind, GPA_DTV_EXTRA);
    // ... from a thread started with a 64 KiB stack: the scan and report move to a stack of
    // their own (they ended the process with SIGSEGV, unchecked, on the thread's stack).
    let valgrind = [(1, 100), (0, 0), (1, 272), (0, 0), (0, 0)];
    if let Some(run) = judged_like_valgrind("leak_exit_small_stack", valgrind, GPA_DTV_EXTRA) {
        assert_eq!(run.json["processes"][0]["status"], "checked");
    }
    // ... from the last thread, after the main thread ended with `pthread_exit`: the process
    // id names a zombie then (its memory, its executable and its stop signal are out of reach
    // through it: everything was definitely lost, after a 2-second wait).
    let valgrind = [(2, 77), (0, 0), (1, 272), (0, 0), (0, 0)];
    if let Some(run) = judged_like_valgrind("leak_main_pthread_exit", valgrind, GPA_DTV_EXTRA) {
        assert_has_records(
            &run,
            &[
                record("definite", 1, 33, 0, "worker"),
                record("definite", 1, 44, 0, "main"),
            ],
        );
        assert!(
            !run.stderr().contains("could not be stopped"),
            "{}",
            run.stderr()
        );
    }
}

#[test]
fn a_joined_threads_return_value_is_definitely_lost() {
    let valgrind = [(1, 4242), (0, 0), (0, 0), (0, 0), (0, 0)];
    let Some(run) = judged_like_valgrind("leak_thread_joined", valgrind, 0) else {
        return;
    };
    assert_eq!(records(&run), [record("definite", 1, 4242, 0, "worker")]);
}

#[test]
fn an_unjoined_finished_threads_return_value_stays_reachable() {
    let valgrind = [(1, 5353), (0, 0), (1, 272), (1, 4242), (0, 0)];
    let Some(run) = judged_like_valgrind("leak_thread_unjoined", valgrind, GPA_DTV_EXTRA) else {
        return;
    };
    assert_has_records(
        &run,
        &[
            record("definite", 1, 5353, 0, "detached"),
            record("reachable", 1, 4242, 0, "joinable"),
        ],
    );
}

/// gpa's own state is no root: the unwinder's remembered walks keep copies of `rbp`, a
/// general register in code without frame pointers, in gpa's thread-locals. The programs call
/// `malloc` while `rbp` holds the only copy of a block outside the heap, then drop it.
#[test]
fn gpas_own_thread_locals_are_not_roots() {
    let built = ["-O2", "-fomit-frame-pointer"];
    // The exiting thread: the list head is definitely lost, the block behind it indirectly
    // (it was still reachable through gpa's copy).
    let valgrind = [(1, 16), (1, 16), (0, 0), (0, 0), (0, 0)];
    if let Some(run) = judged_like_valgrind_built("leak_rbp_copy", &built, valgrind, 0) {
        assert_eq!(
            records(&run),
            [
                record("definite", 1, 16, 16, "make_list"),
                record("indirect", 1, 16, 0, "make_list")
            ]
        );
    }
    // A thread blocked in `pause` at exit: its copy of gpa's thread-locals is no root, nor
    // the stale red zone below its stack pointer.
    let valgrind = [(1, 16), (0, 0), (1, 272), (0, 0), (0, 0)];
    let program = "leak_rbp_copy_thread";
    if let Some(run) = judged_like_valgrind_built(program, &built, valgrind, GPA_DTV_EXTRA) {
        assert_has_records(&run, &[record("definite", 1, 16, 0, "make_and_drop_list")]);
    }
}

/// Signal stacks: what a program's fault handler left on the alternate stack gpa made for
/// the thread is no root once the handler is gone; a handler that is running (it called
/// `exit`) is live, and so is the interrupted stack from the interrupted frame up. The exit
/// report runs on a stack with room for it (it overflowed the 64 KiB alternate stack: SIGSEGV,
/// the process not checked).
#[test]
fn signal_stacks_hold_roots_only_while_a_handler_runs() {
    let valgrind = [(1, 40), (0, 0), (0, 0), (0, 0), (0, 0)];
    judged_like_valgrind("leak_signal_stack", valgrind, 0);
    let valgrind = [(1, 12), (0, 0), (0, 0), (1, 40), (0, 0)];
    if let Some(run) = judged_like_valgrind("leak_exit_in_handler", valgrind, 0) {
        assert_eq!(run.json["processes"][0]["status"], "checked");
        assert_has_records(
            &run,
            &[
                record("definite", 1, 12, 0, "drop_one"),
                record("reachable", 1, 40, 0, "main"),
            ],
        );
    }
}

#[test]
fn shared_writable_mappings_are_roots() {
    let valgrind = [(1, 999), (0, 0), (0, 0), (2, 1665), (0, 0)];
    judged_like_valgrind("leak_shared_mapping", valgrind, 0);
}

#[test]
fn inaccessible_pages_are_never_read() {
    // The program: the scan used to fault on the protected page at exit.
    let valgrind = [(1, 32768), (0, 0), (0, 0), (0, 0), (0, 0)];
    judged_like_valgrind("leak_prot_none", valgrind, 0);
    // Protected pages inside referenced blocks: neither read nor pointed into.
    let valgrind = [(2, 32790), (0, 0), (0, 0), (3, 12332), (0, 0)];
    judged_like_valgrind("leak_prot_none_held", valgrind, 0);
}

/// A program that protects the first page of one heap block and the last page of another
/// (Valgrind's `leak-segv-jmp.c` does so): the checks of their front guard and redzone at exit
/// used to fault, and the run lost its report ("not checked", exit 139). Valgrind 3.19:
/// definitely lost 200,100 bytes in 2 blocks (the lost 100 bytes, and the block whose start
/// is unreadable), still reachable 200,000 bytes in 1 block.
#[test]
fn blocks_whose_pages_the_program_protected_are_judged_without_a_fault() {
    let valgrind = [(2, 200100), (0, 0), (0, 0), (1, 200000), (0, 0)];
    if let Some(run) = judged_like_valgrind("leak_protected_block", valgrind, 0) {
        // Valgrind 3.19: no error besides the two loss records.
        assert_eq!(run.json["errors"], 2, "{}", run.stderr());
    }
}

/// A thread that blocked every signal with `pthread_sigmask` (a `sigwait` thread) is stopped
/// and examined all the same: glibc's exit-time frees run, and the verdict is Valgrind's.
/// Before, the thread could not be stopped, and node's verdict kept the blocks glibc and
/// libstdc++ free at exit (its cached thread stacks' vectors: 4 more possibly lost blocks).
#[test]
fn a_thread_that_blocked_every_signal_is_stopped_all_the_same() {
    let valgrind = [(0, 0), (0, 0), (1, 272), (1, 4096), (0, 0)];
    if let Some(run) = judged_like_valgrind("leak_thread_blocked", valgrind, GPA_DTV_EXTRA) {
        assert!(
            !run.stderr().contains("could not be stopped"),
            "{}",
            run.stderr()
        );
        assert_has_records(&run, &[record("reachable", 1, 4096, 0, "worker")]);
    }
}

#[test]
fn a_thread_that_blocks_every_signal_is_reported_as_not_examined() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("leak-blocked-thread");
    let binary = compile_c("leak_thread_blocked_raw", &dir);
    let start = std::time::Instant::now();
    let run = gpa_run(&dir, &[], &[binary.to_str().unwrap()]);
    assert_eq!(run.stdout(), "done\n");
    assert_eq!(run.output.status.code(), Some(0));
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
    let process = &run.json["processes"][0];
    assert_eq!(run.json["processes"].as_array().unwrap().len(), 1);
    let report = run.findings();
    assert!(
        run.stderr()
            .contains("1 running thread(s) could not be stopped"),
        "{}\n{}",
        run.stderr(),
        describe(&report)
    );
    assert!(process["errors"].as_u64().is_some());
}

/// A thread that blocks every signal with the raw system call and never allocates
/// (`leak_thread_blocked_idle.c`): the stop misses it, and it owns no heap, so the exit scan
/// judged the DTVs of descriptors no running thread uses freed, its own among them
/// (lifecycle.md item 20's left case: 0 possibly lost). It is found by its descriptor and
/// its mask (it blocks the stop signal but not glibc's own signals, as glibc's thread-exit
/// code would): its DTV is reported as a running thread's, as Valgrind 3.19 reports it
/// (lifecycle.md item 21).
#[test]
fn a_thread_that_blocks_every_signal_and_never_allocates_keeps_its_dtv_reported() {
    let valgrind = [(1, 16), (0, 0), (1, 272), (0, 0), (0, 0)];
    if let Some(run) = judged_like_valgrind("leak_thread_blocked_idle", valgrind, GPA_DTV_EXTRA) {
        assert_has_records(&run, &[record("definite", 1, 16, 0, "main")]);
    }
}

#[test]
fn exiting_while_threads_create_threads_and_allocate_is_safe() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("leak-busy-threads");
    let binary = compile_c("threads_busy_at_exit", &dir);
    for attempt in 0..3 {
        let start = std::time::Instant::now();
        let run = gpa_run(&dir, &[], &[binary.to_str().unwrap()]);
        assert_eq!(run.stdout(), "done\n", "attempt {attempt}");
        assert_eq!(
            run.output.status.code(),
            Some(0),
            "attempt {attempt}: {}",
            run.stderr()
        );
        assert_eq!(
            run.json["processes"].as_array().map(Vec::len),
            Some(1),
            "attempt {attempt}: the report was written"
        );
        assert!(run.json["processes"][0]["leak_summary"]["definite"].is_object());
        assert!(start.elapsed() < std::time::Duration::from_secs(30));
    }
}

#[test]
fn the_readme_programs_list_is_one_definitely_lost_record_holding_the_rest() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("leak-readme");
    let binary = compile_source(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/c/planted_bug.c"),
        &dir,
    );
    let run = gpa_run(&dir, &[], &[binary.to_str().unwrap()]);
    // Valgrind: "187 (24 direct, 163 indirect) bytes in 1 blocks are definitely lost in loss
    // record 3 of 3", at split (planted_bug.c:36).
    let expected: Summary = [(1, 24), (10, 163), (0, 0), (0, 0), (0, 0)];
    if let Some(live) = valgrind_summary(&dir, &[binary.to_str().unwrap()], &[]) {
        assert_eq!(live, expected);
    }
    assert_eq!(summary_of(&run.json), expected);
    assert_eq!(records(&run), [record("definite", 1, 24, 163, "split")]);
    let leak = run
        .findings()
        .into_iter()
        .find(|f| f["kind"] == "leak")
        .unwrap();
    assert_eq!(leak["size"], 187);
    assert_eq!(leak["loss_record"], 1);
    assert_eq!(leak["loss_records"], 3);
    let frames = leak["stacks"]["alloc"].as_array().unwrap();
    assert_eq!(frames[0]["line"], 36, "{frames:?}");
    assert!(
        run.stderr().contains(
            "error(gpa): 187 (24 direct, 163 indirect) bytes in 1 blocks are definitely lost in loss record 1 of 3\n"
        ),
        "{}",
        run.stderr()
    );
    // The records of the blocks it holds are listed when asked for, after it.
    let all = gpa_run(
        &dir,
        &["--show-leak-kinds=all"],
        &[binary.to_str().unwrap()],
    );
    let kinds: Vec<String> = records(&all).into_iter().map(|r| r.0).collect();
    assert_eq!(kinds, ["definite", "indirect", "indirect"]);
}

#[test]
fn shown_kinds_and_error_kinds_are_chosen_like_valgrinds() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("leak-kinds");
    let binary = compile_c("leak", &dir);
    let program = binary.to_str().unwrap();
    // Default: definite and possible are shown and are errors.
    let run = gpa_run(&dir, &["--error-exitcode", "9"], &[program]);
    assert_eq!(run.output.status.code(), Some(9));
    assert_eq!(records(&run), [record("definite", 1, 100, 0, "leak_site")]);
    // Still reachable blocks are counted, listed only when asked for.
    assert_eq!(summary_of(&run.json)[3], (1, 50));
    for options in [&["--show-leak-kinds=all"][..], &["--show-reachable"][..]] {
        let run = gpa_run(&dir, options, &[program]);
        assert!(
            records(&run).contains(&record("reachable", 1, 50, 0, "keep_site")),
            "{options:?}: {:?}",
            records(&run)
        );
        assert!(run
            .stderr()
            .contains("info(gpa): 50 bytes in 1 blocks are still reachable"));
    }
    // Shown but not an error: listed as information, the exit status is the program's.
    let run = gpa_run(
        &dir,
        &["--error-exitcode", "9", "--errors-for-leak-kinds=possible"],
        &[program],
    );
    assert_eq!(run.output.status.code(), Some(0));
    assert_eq!(run.json["errors"], 0);
    assert!(run
        .stderr()
        .contains("info(gpa): 100 bytes in 1 blocks are definitely lost"));
    // Not shown but an error: counted for the exit status, not listed.
    let run = gpa_run(
        &dir,
        &["--error-exitcode", "9", "--show-leak-kinds=none"],
        &[program],
    );
    assert_eq!(run.output.status.code(), Some(9));
    assert!(records(&run).is_empty());
    assert_eq!(summary_of(&run.json)[0], (1, 100));
    // Bad sets are refused before the program runs.
    let bad = Command::new(gpa_exe())
        .args(["run", "--show-leak-kinds=most", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown leak kinds `most`"));
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn suppression_files_in_valgrinds_and_leak_sanitizers_formats_silence_a_leak() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("leak-suppressions");
    let binary = compile_c("leak_suppressed", &dir);
    let program = binary.to_str().unwrap();
    let valgrind_format = write(
        &dir,
        "third_party.supp",
        "# the third-party library's cache\n{\n   third-party-cache\n   Memcheck:Leak\n   match-leak-kinds: definite\n   fun:malloc\n   fun:third_party_*\n   ...\n   fun:main\n}\n",
    );
    let lsan_format = write(
        &dir,
        "lsan.supp",
        "# LeakSanitizer\nleak:third_party_cache\n",
    );
    for file in [&valgrind_format, &lsan_format] {
        let run = gpa_run(
            &dir,
            &["--suppressions", file, "--error-exitcode", "9"],
            &[program],
        );
        assert_eq!(
            records(&run),
            [record("definite", 1, 32, 0, "own_leak")],
            "{file}"
        );
        assert_eq!(
            summary_of(&run.json)[4],
            (1, 64),
            "suppressed, counted: {file}"
        );
        assert_eq!(summary_of(&run.json)[0], (1, 32));
        assert_eq!(
            run.output.status.code(),
            Some(9),
            "own_leak is still an error"
        );
        assert!(run.stderr().contains("suppressed: 64 bytes in 1 blocks"));
    }
    // Valgrind reads the same Valgrind-format file the same way.
    if let Some(live) = valgrind_summary(
        &dir,
        &[program],
        &[&format!("--suppressions={valgrind_format}")],
    ) {
        assert_eq!(live[0], (1, 32));
        assert_eq!(live[4], (1, 64));
    }
    // Both files together: the first matching entry counts once.
    let run = gpa_run(
        &dir,
        &[
            "--suppressions",
            &valgrind_format,
            "--suppressions",
            &lsan_format,
        ],
        &[program],
    );
    assert_eq!(summary_of(&run.json)[4], (1, 64));
    // A malformed file is refused before the program runs, with its line.
    let broken = write(
        &dir,
        "broken.supp",
        "{\n   name\n   Memcheck:Leak\n   fun:a\n",
    );
    let refused = Command::new(gpa_exe())
        .args(["run", "--suppressions", &broken, "--", "true"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(125));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("broken.supp:1") && message.contains("closing"),
        "{message}"
    );
}

#[test]
fn a_generated_suppression_silences_the_finding_it_was_generated_from() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("leak-gen-suppressions");
    for (program, kind) in [
        ("leak_suppressed", "leak"),
        ("double_free", "double_free"),
        ("overflow_1", "overflow"),
    ] {
        let binary = compile_c(program, &dir);
        let path = binary.to_str().unwrap();
        let run = gpa_run(&dir, &["--gen-suppressions"], &[path]);
        let findings = run.findings();
        let finding = findings
            .iter()
            .find(|f| f["kind"] == kind)
            .unwrap_or_else(|| panic!("{program}: {}", describe(&findings)));
        let entry = finding["suppression"]
            .as_str()
            .expect("an entry per finding");
        assert!(run.stderr().contains(entry), "printed after the finding");
        let file = write(&dir, &format!("{program}.supp"), entry);
        let again = gpa_run(&dir, &["--suppressions", &file], &[path]);
        assert!(
            !again
                .findings()
                .iter()
                .any(|f| f["kind"] == kind && f["stacks"]["alloc"] == finding["stacks"]["alloc"]),
            "{program}: {}",
            describe(&again.findings())
        );
        if kind == "leak" {
            assert_eq!(summary_of(&again.json)[4].0, 1);
        } else {
            assert_eq!(again.json["suppressed_findings"], 1);
        }
        // Valgrind accepts the generated entry too, and it silences the same leak there.
        if kind == "leak" {
            let own = finding["stacks"]["alloc"][0]["function"]
                .as_str()
                .unwrap()
                .to_owned();
            if let Some(live) =
                valgrind_summary(&dir, &[path], &[&format!("--suppressions={file}")])
            {
                let size = finding["size"].as_u64().unwrap();
                assert_eq!(live[4], (1, size), "{own}");
            }
        }
    }
}

#[test]
fn valgrinds_generated_suppressions_work_in_gpa() {
    if !gcc_or_skip() || !have("valgrind") {
        eprintln!("SKIPPED: needs gcc and valgrind");
        return;
    }
    let dir = scratch("leak-valgrind-suppressions");
    let binary = compile_c("leak_suppressed", &dir);
    let program = binary.to_str().unwrap();
    let output = Command::new("valgrind")
        .args(["--leak-check=full", "--gen-suppressions=all", program])
        .current_dir(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    // The entries are the lines between "{" and "}" that do not start with "==pid==".
    let entries: String = text
        .lines()
        .filter(|line| !line.starts_with("=="))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(entries.contains("Memcheck:Leak"), "{text}");
    let file = write(&dir, "valgrind.supp", &entries);
    let run = gpa_run(&dir, &["--suppressions", &file], &[program]);
    assert!(records(&run).is_empty(), "{:?}", records(&run));
    assert_eq!(summary_of(&run.json)[4], (2, 96));
}

#[test]
fn built_in_suppressions_cover_glibcs_thread_local_blocks_and_can_be_turned_off() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("leak-default-suppressions");
    let module = dir.join("libtls_module.so");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/tls_module.c");
    let status = Command::new("gcc")
        .args(["-shared", "-fPIC", "-O0", "-g", "-o"])
        .arg(&module)
        .arg(&source)
        .status()
        .unwrap();
    assert!(status.success());
    let binary = compile_c("leak_dlopen_tls", &dir);
    let command = [binary.to_str().unwrap(), module.to_str().unwrap()];
    let run = gpa_run(&dir, &["--error-exitcode", "9"], &command);
    assert_eq!(run.stdout(), "done\n");
    assert_eq!(summary_of(&run.json)[4], (1, 1000), "{}", run.stderr());
    let functions: Vec<String> = records(&run).into_iter().map(|r| r.4).collect();
    assert!(
        !functions.iter().any(|f| f.contains("tls")),
        "{functions:?}"
    );
    let off = gpa_run(
        &dir,
        &["--default-suppressions=no", "--error-exitcode", "9"],
        &command,
    );
    assert_eq!(summary_of(&off.json)[4], (0, 0));
    // Valgrind 3.19 reports it on this glibc (its entry no longer matches): possibly lost.
    if let Some(live) = valgrind_summary(&dir, &command, &[]) {
        assert_eq!(live[2].0, 2, "the DTV and the 1,000-byte block");
        assert_eq!(summary_of(&off.json)[2], (2, live[2].1 + GPA_DTV_EXTRA));
    }
}
