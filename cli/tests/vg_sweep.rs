//! Disagreements with Valgrind found by running Valgrind's own memcheck regression tests
//! (`memcheck/tests/*.c`, `*.cpp`) under both (`docs/sweeps/valgrind_memcheck.md`), reduced
//! to programs of our own (`tests/vg_sweep/*.c`, built with `gcc -O0 -g -pthread`), with
//! cases of our own beside each. Each test holds gpa to Valgrind 3.19's verdict on that same
//! program, written next to it.

mod common;

use common::*;
use serde_json::Value;

/// The leak findings of a run as (size, count, loss kind, first frames of the allocation
/// stack as `function:line`), sorted by size.
fn leaks(run: &Run) -> Vec<(u64, u64, String, Vec<String>)> {
    let mut leaks: Vec<_> = run
        .findings()
        .iter()
        .filter(|finding| finding["kind"] == "leak")
        .map(|finding| {
            let message = finding["message"].as_str().unwrap_or_default();
            let kind = ["definitely", "indirectly", "possibly", "still reachable"]
                .into_iter()
                .find(|kind| message.contains(kind))
                .unwrap_or("?");
            (
                finding["size"].as_u64().unwrap_or(0),
                finding["count"].as_u64().unwrap_or(0),
                kind.to_owned(),
                places(finding, "alloc"),
            )
        })
        .collect();
    leaks.sort();
    leaks
}

/// The program's frames of one stack of a finding, as `function:line` (frames without a
/// line, in libc or gpa, left out).
fn places(finding: &Value, stack: &str) -> Vec<String> {
    finding["stacks"][stack]
        .as_array()
        .map(|frames| {
            frames
                .iter()
                .filter(|frame| frame["line"].is_u64())
                .map(|frame| {
                    format!(
                        "{}:{}",
                        frame["function"].as_str().unwrap_or("?"),
                        frame["line"]
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One expected leak record: bytes, blocks, loss kind, program frames of its allocation.
fn leak(size: u64, count: u64, kind: &str, stack: &[&str]) -> (u64, u64, String, Vec<String>) {
    (
        size,
        count,
        kind.to_owned(),
        stack.iter().map(|frame| (*frame).to_owned()).collect(),
    )
}

#[test]
fn blocks_left_inaccessible_at_exit_are_judged_from_what_can_be_read() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("vg-protected");
    let program = compile_c_with(
        "vg_sweep",
        "protected_at_exit",
        "protected_at_exit",
        &[],
        &dir,
    );
    // Valgrind 3.19 (--leak-check=full), each "definitely lost": 32 bytes at main
    // (protected_at_exit.c:35), 40 bytes at main (:41), 64 bytes at main (:31), 8,000 bytes
    // at main (:40), 8,192 bytes at page_block (:18) by main (:34); the read-only block, the
    // half-protected one and the blocks they point to from readable memory are still
    // reachable (not listed). A pointer to an inaccessible byte does not count (memcheck's
    // lc_is_a_chunk_ptr), and inaccessible pages are not scanned.
    let expected = vec![
        leak(32, 1, "definitely", &["main:35"]),
        leak(40, 1, "definitely", &["main:41"]),
        leak(64, 1, "definitely", &["main:31"]),
        leak(8000, 1, "definitely", &["main:40"]),
        leak(8192, 1, "definitely", &["page_block:18", "main:34"]),
    ];
    // Before the fix, guard mode's exit check of live blocks' canary bytes read the 8,000-byte
    // block's first page (the bytes before it, up to its page's start): SIGSEGV at exit, the
    // process unchecked (memcheck's leak-segv-jmp.c).
    for mode in [&[][..], &["--guard"][..]] {
        let run = gpa_run(&dir, mode, &[program.to_str().unwrap()]);
        assert_eq!(run.json["all_checked"], true, "{mode:?}: {}", run.stderr());
        assert_eq!(
            run.output.status.code(),
            Some(0),
            "{mode:?}: {}",
            run.stderr()
        );
        assert_eq!(leaks(&run), expected, "{mode:?}: {}", run.stderr());
        assert_eq!(
            run.findings().len(),
            5,
            "{mode:?}: {}",
            describe(&run.findings())
        );
        assert!(run.stderr().contains("sealed"), "{mode:?}");
    }
}

#[test]
fn a_block_resized_in_place_is_allocated_where_it_was_last_resized() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("vg-realloc-site");
    let program = compile_c_with("vg_sweep", "realloc_site", "realloc_site", &[], &dir);
    // Valgrind 3.19 (--leak-check=full), each "definitely lost" at the realloc that last
    // resized the block (memcheck always moves a block on realloc): 5 bytes at main
    // (realloc_site.c:24), :25 and :26; 30 bytes at :28 (the second of two resizes); 21
    // bytes at :29 (reallocarray); 21 bytes at grow (:11) by main (:30); 250,000 bytes at
    // :31. Check mode resized all of them in place and named their malloc (:16 to :22).
    let expected = vec![
        leak(5, 1, "definitely", &["main:24"]),
        leak(5, 1, "definitely", &["main:25"]),
        leak(5, 1, "definitely", &["main:26"]),
        leak(21, 1, "definitely", &["grow:11", "main:30"]),
        leak(21, 1, "definitely", &["main:29"]),
        leak(30, 1, "definitely", &["main:28"]),
        leak(250000, 1, "definitely", &["main:31"]),
    ];
    for mode in [&[][..], &["--guard"][..]] {
        let run = gpa_run(&dir, mode, &[program.to_str().unwrap()]);
        assert_eq!(run.json["all_checked"], true, "{mode:?}: {}", run.stderr());
        assert_eq!(leaks(&run), expected, "{mode:?}: {}", run.stderr());
        assert_eq!(
            run.findings().len(),
            7,
            "{mode:?}: {}",
            describe(&run.findings())
        );
    }
}

#[test]
fn one_faulting_instruction_reached_from_several_stacks_is_one_finding_per_stack() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("vg-fault-sites");
    let program = compile_c_with("vg_sweep", "fault_sites", "fault_sites", &[], &dir);
    let run = gpa_run(&dir, &["--guard"], &[program.to_str().unwrap()]);
    // Valgrind 3.19: six errors. "Invalid write of size 1 at poke (fault_sites.c:12)", 0
    // bytes after a block of size 16 by from_a (:21) by main (:34); the same of a block of
    // size 32 by from_b (:22) by main (:35); of size 48 by worker (:26) in the thread; of
    // size 64 by main (:39) (one context for the loop's 100 errors: gpa's one finding, counted
    // 100 times since the fence sweep, its size the 100 blocks' 6,400 bytes); "Invalid read of size 1 at peek
    // (:18)", 0 bytes inside a block of size 80 free'd, by main (:42) and by main (:43).
    // Before the fix guard mode kept the first fault of each instruction only: the 16-byte
    // block's write and the read at :42 (memcheck's threadname.c: three of five).
    let mut found: Vec<(String, u64, Vec<String>)> = run
        .findings()
        .iter()
        .map(|finding| {
            (
                finding["kind"].as_str().unwrap_or_default().to_owned(),
                finding["size"].as_u64().unwrap_or(0),
                places(finding, "access"),
            )
        })
        .collect();
    found.sort();
    let expected = |kind: &str, size: u64, stack: &[&str]| {
        (
            kind.to_owned(),
            size,
            stack.iter().map(|frame| (*frame).to_owned()).collect(),
        )
    };
    assert_eq!(
        found,
        vec![
            expected("overflow", 16, &["poke:12", "from_a:21", "main:34"]),
            expected("overflow", 32, &["poke:12", "from_b:22", "main:35"]),
            expected("overflow", 48, &["poke:12", "worker:26"]),
            expected("overflow", 6400, &["poke:12", "main:39"]),
            expected("read_after_free", 80, &["peek:18", "main:42"]),
            expected("read_after_free", 80, &["peek:18", "main:43"]),
        ],
        "{}",
        run.stderr()
    );
    for finding in run.findings() {
        // The loop's finding counts its 100 blocks (memcheck: 100 errors of one context).
        let count = finding["size"].as_u64().map_or(1, |size| size / 64);
        let loop_site = finding["size"] == 6400;
        assert_eq!(
            finding["count"],
            if loop_site { count } else { 1 },
            "{finding:#}"
        );
        if finding["kind"] == "overflow" {
            let block = if loop_site {
                64
            } else {
                finding["size"].as_u64().unwrap()
            };
            assert_eq!(finding["offset"], block, "{finding:#}");
        }
    }
    assert_eq!(run.output.status.code(), Some(0), "{}", run.stderr());
    assert!(run.stderr().contains("done 0"));
}
