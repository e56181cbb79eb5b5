//! Dr. Memory's test programs (`tests/*.c`, `*.cpp` and `tests/app_suite/` of
//! DynamoRIO/drmemory), reduced to programs of our own (`tests/drm_sweep/*`: each names the
//! upstream file it follows), run natively (glibc 2.36), under Valgrind memcheck 3.19
//! (`valgrind --leak-check=full --show-leak-kinds=all`) and under `gpa run` in check, guard and
//! fast modes (`docs/sweeps/drmemory_tests.md`). Each case holds check and guard modes to
//! Valgrind's verdict, written next to it: the kind of each finding, the block's size, the
//! offset of the access and the program line a stack names; the leak totals of each kind and
//! the number of loss records. Where gpa cannot see what Valgrind sees (check mode does not see
//! reads; guard mode sees neither the alignment slack without `--guard-flush` nor underflows
//! without `--guard-underflow`), the comment says so and the case asserts what gpa reports. The
//! output of every mode is the native run's. Tests skip with a message when gcc or g++ is
//! missing.

mod common;

use common::sweep::sized as want;
use common::sweep::*;
use common::*;
use serde_json::Value;

/// The programs: `tests/drm_sweep/`, C and C++; a finding's line is its stack's first frame's.
const SWEEP: Sweep = Sweep {
    folder: "drm_sweep",
    compilers: &["gcc", "g++"],
    lines: Lines::FirstFrame,
};

#[test]
fn heap_basics_and_leak_kinds() {
    SWEEP.sweep(
        "drm-basics",
        &[
            // malloc.c. Valgrind: "Invalid read of size 1 at main (heap_basics.c:30)", "0 bytes
            // after a block of size 3" (20 errors, 1 context), "Invalid free() at main (:56)",
            // "Invalid read of size 1 at main (:63)" (address 0x100, no heap: out of gpa's
            // scope); 42 bytes in 1 block definitely lost (leak_pair, :20), 17 in 1 indirectly
            // (:21), 24 in 1 possibly (:61, only an interior pointer), 27 in 2 still reachable
            // (:59, :60); 5 loss records. Check mode does not see reads; guard mode not in the
            // alignment slack (3 bytes round up to 16): `--guard-flush` sees it, below.
            Case {
                leaks: [(1, 42), (1, 17), (1, 24), (2, 27)],
                records: 5,
                ..case(
                    "heap_basics.c",
                    &[want("invalid_free", 0, None, Some(("invalid_free", 56)))],
                    &[want("invalid_free", 0, None, Some(("invalid_free", 56)))],
                )
            },
            // leak_indirect.c. Valgrind: 64 bytes in 2 blocks definitely lost (A and X), 160 in
            // 5 indirectly (B, C, D, E, F: reached from A and X, F and D also through interior
            // pointers); 7 loss records. (Dr. Memory calls F a possible leak.)
            leaks("leak_graph.c", [(2, 64), (5, 160), NONE, NONE], 7),
            // leakcycle.cpp. Valgrind: 8 bytes in 1 block definitely lost, 8 in 1 indirectly (the
            // two objects point at each other); 2 loss records.
            leaks("leak_cycle.cpp", [(1, 8), (1, 8), NONE, NONE], 2),
            // cs2bug.cpp's test_leaks. Valgrind (its default heuristics, as gpa's): 32 bytes in
            // 1 block definitely lost (:47), 324 in 9 still reachable, of which reachable via
            // heuristic newarray 72 bytes in 1 block and multipleinheritance 40 in 1; 7 loss
            // records. The exception thrown and caught leaves nothing.
            leaks("cxx_leaks.cpp", [(1, 32), NONE, NONE, (9, 324)], 7),
        ],
    );
}

/// malloc.c's read past a 3-byte block, seen by guard mode with `--guard-flush` at the access
/// (Valgrind: "Invalid read of size 1 at main (heap_basics.c:30)", "0 bytes after a block of
/// size 3", 20 times from 1 context: gpa reports one finding counted 20 times, its size the
/// 20 blocks' bytes; counted once before the fence sweep).
#[test]
fn guard_flush_sees_the_read_past_a_small_block() {
    if !SWEEP.compilers_or_skip() {
        return;
    }
    let dir = scratch("drm-flush");
    let program = SWEEP.compile(&["heap_basics.c"], &dir).remove(0);
    let run = gpa_run(&dir, &["--guard-flush"], &[program.to_str().unwrap()]);
    let overflows: Vec<Value> = run
        .findings()
        .into_iter()
        .filter(|f| f["kind"] == "overflow")
        .collect();
    assert_eq!(overflows.len(), 1, "{}", describe(&run.findings()));
    assert_eq!(overflows[0]["size"], 3 * 20);
    assert_eq!(overflows[0]["count"], 20);
    assert_eq!(overflows[0]["offset"], 3);
    assert_eq!(overflows[0]["access"], "read");
    assert_eq!(first_line(&overflows[0], "access"), Some(30));
}

#[test]
fn heap_errors() {
    SWEEP.sweep(
        "drm-errors",
        &[
            // cs2bug.cpp's test_basic and test_mismatch_int, multierror.cpp. Valgrind, 13 errors
            // from 12 contexts: "Invalid read of size 4" and "Invalid write of size 4" at
            // basic() (cxx_errors.cpp:14), "4 bytes after a block of size 12"; "Mismatched free()
            // / delete / delete []" at :15 (new[], alloc :13); "Invalid write of size 1" at :17
            // ("0 bytes after a block of size 0") and :20 ("1 bytes after a block of size 0");
            // at :23 ("0 bytes after a block of size 32"); mismatches at :29, :31 (28 bytes,
            // new[] at :28, :30), :33, :35 (7 bytes, malloc at :32, :34); "Invalid write of
            // size 4" (twice) and "Invalid read of size 4" at fibonacci() (:46), "0 bytes after a
            // block of size 112". Check mode: the writes past the 32- and 112-byte blocks at
            // their delete[] (:24, :48), those past the 0-byte blocks (guarded in every mode) at
            // the access; the write at :14 stores the byte already there (a[4] = a[4]), which no
            // canary can tell, and the reads it does not see. Guard mode: all 12.
            case(
                "cxx_errors.cpp",
                &[
                    want("overflow", 32, Some(32), Some(("detected", 24))),
                    want("overflow", 112, Some(112), Some(("detected", 48))),
                    want("overflow", 0, Some(0), Some(("access", 17))),
                    want("overflow", 0, Some(1), Some(("access", 20))),
                    want("mismatched_free", 12, None, Some(("invalid_free", 15))),
                    want("mismatched_free", 28, None, Some(("invalid_free", 29))),
                    want("mismatched_free", 28, None, Some(("invalid_free", 31))),
                    want("mismatched_free", 7, None, Some(("invalid_free", 33))),
                    want("mismatched_free", 7, None, Some(("invalid_free", 35))),
                ],
                &[
                    want("overflow", 12, Some(16), Some(("access", 14))),
                    want("overflow", 12, Some(16), Some(("access", 14))),
                    want("overflow", 0, Some(0), Some(("access", 17))),
                    want("overflow", 0, Some(1), Some(("access", 20))),
                    want("overflow", 32, Some(32), Some(("access", 23))),
                    want("overflow", 112, Some(112), Some(("access", 46))),
                    want("overflow", 112, Some(112), Some(("access", 46))),
                    want("mismatched_free", 12, None, Some(("invalid_free", 15))),
                    want("mismatched_free", 28, None, Some(("invalid_free", 29))),
                    want("mismatched_free", 28, None, Some(("invalid_free", 31))),
                    want("mismatched_free", 7, None, Some(("invalid_free", 33))),
                    want("mismatched_free", 7, None, Some(("invalid_free", 35))),
                ],
            ),
            // cs2bug.cpp's test_mismatch_dtr: delete of new[]'s element pointer, 8 bytes into
            // the block. glibc aborts ("munmap_chunk(): invalid pointer"). Valgrind: "Invalid
            // free() / delete / delete[] / realloc()" at main (:18), "8 bytes inside a block of
            // size 36 alloc'd" (:14); 36 bytes in 1 block definitely lost; 1 loss record.
            Case {
                leaks: [(1, 36), NONE, NONE, NONE],
                records: 1,
                native_aborts: true,
                ..case(
                    "cxx_interior_delete.cpp",
                    &[want(
                        "invalid_free",
                        36,
                        Some(8),
                        Some(("invalid_free", 18)),
                    )],
                    &[want(
                        "invalid_free",
                        36,
                        Some(8),
                        Some(("invalid_free", 18)),
                    )],
                )
            },
            // The same with free (argument "free"): Valgrind: "Invalid free()" at main (:16), "8
            // bytes inside a block of size 36"; 36 bytes definitely lost.
            Case {
                args: &["free"],
                leaks: [(1, 36), NONE, NONE, NONE],
                records: 1,
                native_aborts: true,
                ..case(
                    "cxx_interior_delete.cpp",
                    &[want(
                        "invalid_free",
                        36,
                        Some(8),
                        Some(("invalid_free", 16)),
                    )],
                    &[want(
                        "invalid_free",
                        36,
                        Some(8),
                        Some(("invalid_free", 16)),
                    )],
                )
            },
            // free.c. Valgrind, 66 errors from 3 contexts: "Invalid read of size 1" at main
            // (freed_access.c:19), "3 bytes inside a block of size 64 free'd" (64 times: every
            // block, the smallest 3 read past their end); "Invalid write of size 1" at :22, "32
            // bytes inside a block of size 64 free'd"; at :25, "0 bytes after a block of size 2
            // free'd". Check mode: the two writes, found in the freed blocks' fill at exit;
            // guard mode: all three at the access, the reads one finding counted 64 times as
            // Valgrind's (size: the 64 blocks' bytes, 64 + 63 + ... + 1 = 2,080; before the
            // fence sweep counted once, size 64).
            case(
                "freed_access.c",
                &[
                    want("write_after_free", 64, Some(32), Some(("free", 21))),
                    want("write_after_free", 2, Some(2), Some(("free", 24))),
                ],
                &[
                    want("read_after_free", 2080, Some(3), Some(("access", 19))),
                    want("write_after_free", 64, Some(32), Some(("access", 22))),
                    want("write_after_free", 2, Some(2), Some(("access", 25))),
                ],
            ),
            // strmem_tests.cpp. Valgrind, 3 errors from 2 contexts: "Invalid write of size 2"
            // at main (heap_strings.c:48), "4 bytes inside a block of size 5" (strcpy inlined);
            // "Invalid read of size 1" at strlen, by main (:49), "0 bytes after a block of size
            // 5". gpa: the read in strlen at the access, the write (in the alignment slack) at
            // the free (:50). The other string functions on short heap strings: no error.
            case(
                "heap_strings.c",
                &[
                    want("overflow", 5, Some(5), Some(("access", 49))),
                    want("overflow", 5, Some(5), Some(("detected", 50))),
                ],
                &[
                    want("overflow", 5, Some(5), Some(("access", 49))),
                    want("overflow", 5, Some(5), Some(("detected", 50))),
                ],
            ),
            // memalign.c. Valgrind: "Invalid read of size 1" at edges (aligned_bounds.c:17, one
            // byte before) and (:18, "0 bytes after") for the blocks of posix_memalign (256,
            // 42), (128, 99), memalign (64, 3), valloc (643): 8 errors from 8 contexts; then
            // memcheck aborts the program at pvalloc ("Program aborting because of call to
            // pvalloc"). Check mode does not see reads. Guard mode sees the read flush against a
            // guard page, past the 4 KiB of pvalloc (643) (Valgrind never got there); not the
            // others' (alignment slack) nor the underflows (`--guard-underflow`). Fast mode
            // died of SIGSEGV (nothing printed) on the read before posix_memalign (256, 42)'s
            // block, the first of its segment: fixed (the large block: `large_block_edges`).
            case(
                "aligned_bounds.c",
                &[],
                &[want("overflow", 4096, Some(4096), Some(("access", 18)))],
            ),
            // syscalls_unix.c. Valgrind, 4 errors from 4 contexts: "Syscall param
            // openat(filename) points to unaddressable byte(s)" (syscall_args.c:16), "0 bytes
            // inside a block of size 16 free'd"; "write(buf)" (:22), "0 bytes after a block of
            // size 5"; "read(buf)" (:26), "0 bytes inside a block of size 32 free'd"; openat of
            // the wild address (:30: no heap, out of gpa's scope). gpa: the three, at the call
            // (in libc's functions). The program's output follows what the allocator left in
            // the freed block (Valgrind's run opens /dev/null; glibc's and gpa's free overwrite
            // the name); in guard mode the kernel refuses the guarded freed blocks (EFAULT).
            Case {
                guard_output: Some(
                    "open of freed: Bad address\nwrite past: 8\nread into freed: -1\n\
                     wild open: Bad address\ndone\n",
                ),
                ..case(
                    "syscall_args.c",
                    &[
                        want("read_after_free", 16, Some(0), Some(("access", 16))),
                        want("overflow", 5, Some(5), Some(("access", 22))),
                        want("write_after_free", 32, Some(0), Some(("access", 26))),
                    ],
                    &[
                        want("read_after_free", 16, Some(0), Some(("access", 16))),
                        want("overflow", 5, Some(5), Some(("access", 22))),
                        want("write_after_free", 32, Some(0), Some(("access", 26))),
                    ],
                )
            },
            // Beside malloc.c's reallocs: the old pointer written after realloc grew the
            // block (:13) and after it shrank it (:18; glibc keeps that block in place).
            // Valgrind: "Invalid write of size 1" at main (realloc_stale.c:13), "0 bytes inside
            // a block of size 20 free'd" (by realloc, :12), and at :18, "15 bytes inside a
            // block of size 20 free'd" (:17). Check mode: both in the freed blocks' fill at
            // exit; guard mode: both at the access.
            case(
                "realloc_stale.c",
                &[
                    want("write_after_free", 20, Some(0), Some(("free", 12))),
                    want("write_after_free", 20, Some(15), Some(("free", 17))),
                ],
                &[
                    want("write_after_free", 20, Some(0), Some(("access", 13))),
                    want("write_after_free", 20, Some(15), Some(("access", 18))),
                ],
            ),
            // Beside memalign.c: `s[strlen (s) - 1]` of an empty string, the program's first
            // block, and one byte before the first block of 16 sizes. Valgrind: "Invalid read
            // of size 1" at main (underflow_read.c:16), "1 bytes before a block of size 1", and
            // at :21 (16 times), "1 bytes before a block of size 8": 17 errors from 2 contexts.
            // Check and guard modes do not see underflowing reads (`--guard-underflow` does,
            // below); fast mode died of SIGSEGV at :16 (exit 139, nothing printed); fixed.
            clean("underflow_read.c"),
        ],
    );
}

/// The underflows of `underflow_read.c` under `--guard-underflow` (Valgrind: 17 errors from 2
/// contexts, at lines 16 and 21: once and 16 times; gpa counts them so, the second finding's
/// size the bytes of its 16 blocks, 8 + 16 + ... + 20000 = 36,724).
#[test]
fn guard_underflow_sees_reads_before_blocks() {
    if !SWEEP.compilers_or_skip() {
        return;
    }
    let dir = scratch("drm-underflow");
    let program = SWEEP.compile(&["underflow_read.c"], &dir).remove(0);
    let run = gpa_run(&dir, &["--guard-underflow"], &[program.to_str().unwrap()]);
    let mut lines: Vec<(u64, u64, u64)> = run
        .findings()
        .iter()
        .filter(|f| f["kind"] == "underflow")
        .map(|f| {
            (
                first_line(f, "access").unwrap_or(0),
                f["size"].as_u64().unwrap(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [(16, 1, 1), (21, 36_724, 16)],
        "{}",
        describe(&run.findings())
    );
    assert_eq!(run.stdout(), "read 17 bytes before blocks\n");
}

/// memalign.c's posix_memalign (512, 256 KiB) (`aligned_bounds.c large`). Valgrind: "Invalid
/// read of size 1" at edges (aligned_bounds.c:17), "1 bytes before a block of size 262,144",
/// and (:18) "0 bytes after": 2 errors from 2 contexts. Check mode: nothing (reads); guard
/// mode: the read past the end, at :18.
#[test]
fn large_block_edges_checked() {
    SWEEP.sweep(
        "drm-large",
        &[Case {
            args: &["large"],
            fast_open: Some("`large_block_edges_fast` runs it"),
            ..case(
                "aligned_bounds.c",
                &[],
                &[want(
                    "overflow",
                    262_144,
                    Some(262_144),
                    Some(("access", 18)),
                )],
            )
        }],
    );
}

/// The same in fast mode, which died of SIGSEGV (exit 139, nothing printed) where glibc reads
/// its mapped chunk's header and slack, when a large block's data started at its mapping's
/// start and, for a size of whole pages, ended at its end. The data now lies a page into
/// its mapping and fast mode's mapping ends at least 32 bytes past it (`gpa::large`; more
/// cases in `tests/large_edges.rs`).
#[test]
fn large_block_edges_fast() {
    if !SWEEP.compilers_or_skip() {
        return;
    }
    let dir = scratch("drm-large-fast");
    let program = SWEEP.compile(&["aligned_bounds.c"], &dir).remove(0);
    let command = [program.to_str().unwrap(), "large"];
    let native = plain_run(&dir, &command, |_| {});
    let fast = fast_run(&dir, &command);
    assert_eq!(fast.status.code(), Some(0));
    assert_eq!(fast.stdout, native.stdout);
}

#[test]
fn operators_signals_threads_and_the_heap_as_code() {
    SWEEP.sweep(
        "drm-runtime",
        &[
            // operators.cpp. Valgrind: no error, then it aborts the program at the huge new[]
            // ("new/new[] failed and should throw an exception, but Valgrind cannot throw
            // exceptions and so is aborting instead"). gpa: bad_alloc thrown and caught, as
            // natively, in every mode.
            clean("cxx_operators.cpp"),
            // signal.c. Valgrind: "Invalid write of size 4" at main (signals.c:56), address 0x4
            // (no heap: out of gpa's scope); the handlers run on the malloc'd alternate stack.
            clean("signals.c"),
            // clone.c. Valgrind: no error.
            clean("raw_clone.c"),
            // app_suite/malloc_tests.cpp. Valgrind: no error.
            clean("heap_exec.c"),
        ],
    );
}

/// pthreads.c and realloc.c: threads still running at exit. Valgrind: 4 blocks "possibly lost"
/// (each thread's DTV, 272 bytes: gpa's are 288, its library being one more module with TLS),
/// still reachable 400 bytes in 4 blocks from spin (threads.c:30) and, as the threads were
/// caught, some of their 64-byte blocks in flight (Valgrind: 3); nothing definitely lost.
/// (pthreads.c's read below a thread's stack pointer is no heap access: out of gpa's scope.)
#[test]
fn threads_running_at_exit() {
    if !SWEEP.compilers_or_skip() {
        return;
    }
    let dir = scratch("drm-threads");
    let program = SWEEP.compile(&["threads.c"], &dir).remove(0);
    let command = [program.to_str().unwrap()];
    let native = plain_run(&dir, &command, |_| {});
    for options in [
        &["--show-leak-kinds=all"][..],
        &["--show-leak-kinds=all", "--guard"],
    ] {
        let run = gpa_run(&dir, options, &command);
        let tag = format!("{options:?}");
        assert_eq!(run.output.status.code(), Some(0), "{tag}: {}", run.stderr());
        assert_eq!(run.output.stdout, native.stdout, "{tag}");
        let totals = gpa_leak_totals(&run.json);
        assert_eq!(totals[0], NONE, "{tag}: {}", run.stderr());
        assert_eq!(totals[1], NONE, "{tag}: {}", run.stderr());
        assert_eq!(totals[2].0, 4, "{tag}: {}", run.stderr());
        let spin = run
            .findings()
            .into_iter()
            .find(|f| f["leak_kind"] == "reachable" && first_line(f, "alloc") == Some(30));
        let spin = spin.unwrap_or_else(|| panic!("{tag}: no record at :30\n{}", run.stderr()));
        assert_eq!(
            (spin["count"].as_u64(), spin["size"].as_u64()),
            (Some(4), Some(400))
        );
    }
    assert_eq!(fast_run(&dir, &command).stdout, native.stdout);
}

/// execve.c and procterm.c: the processes of a run.
#[test]
fn exec_and_killed_children() {
    if !SWEEP.compilers_or_skip() {
        return;
    }
    let dir = scratch("drm-children");
    let programs = SWEEP.compile(&["exec_child.c", "heap_basics.c", "killed_child.c"], &dir);
    let exec = [programs[0].to_str().unwrap(), programs[1].to_str().unwrap()];
    // execve.c runs malloc.c in a forked child with an empty environment. Valgrind follows it
    // with --trace-children=yes (by default it runs the child natively): the child's 24
    // errors from 5 contexts, the leaks of `heap_basics_and_leak_kinds`. gpa puts itself back
    // into the environment and checks all three processes (the parent, the child before and
    // after its exec).
    let run = gpa_run(&dir, &["--show-leak-kinds=all"], &exec);
    assert_eq!(run.output.status.code(), Some(0), "{}", run.stderr());
    assert_eq!(run.json["all_checked"], true, "{}", run.stderr());
    assert_eq!(run.json["processes"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        gpa_leak_totals(&run.json),
        [(1, 42), (1, 17), (1, 24), (2, 27)],
        "{}",
        run.stderr()
    );
    let invalid: Vec<Value> = run
        .findings()
        .into_iter()
        .filter(|f| f["kind"] == "invalid_free")
        .collect();
    assert_eq!(invalid.len(), 1, "{}", describe(&run.findings()));
    assert_eq!(first_line(&invalid[0], "invalid_free"), Some(56));
    // procterm.c: the parent writes past a 3-byte block (Valgrind: "Invalid write of size 1"
    // at main (killed_child.c:29), "0 bytes after a block of size 3"), and kills its child
    // with SIGKILL (Valgrind says nothing of the child, whose 42-byte leak nobody can see).
    // gpa: the overflow at the free (:30), and the child listed as not checked.
    let killed = [programs[2].to_str().unwrap()];
    let run = gpa_run(&dir, &[], &killed);
    assert_eq!(run.output.status.code(), Some(0), "{}", run.stderr());
    assert_eq!(run.json["all_checked"], false, "{}", run.stderr());
    let reasons: Vec<String> = run.json["processes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| p["reason"].as_str().unwrap_or("checked").to_string())
        .collect();
    assert_eq!(reasons, ["checked", "no_report"], "{}", run.stderr());
    let findings = run.findings();
    assert_eq!(findings.len(), 1, "{}", describe(&findings));
    assert_eq!(findings[0]["kind"], "overflow");
    assert_eq!(findings[0]["size"], 3);
    assert_eq!(findings[0]["offset"], 3);
    assert_eq!(first_line(&findings[0], "detected"), Some(30));
}
