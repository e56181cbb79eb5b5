//! Other allocators' test suites (microsoft/mimalloc `test/`, microsoft/snmalloc
//! `src/test/func/`, LLVM compiler-rt `lib/scudo/standalone/tests/`, jemalloc
//! `test/integration/`), reduced to programs of our own (`tests/alloc_sweep/*`: each names
//! the upstream files it follows), run natively (glibc 2.36), under Valgrind memcheck 3.19
//! (`--leak-check=full --show-leak-kinds=all --show-mismatched-frees=yes`) and under `gpa
//! run` in check, guard and fast modes (`docs/sweeps/allocator_tests.md`). For the C
//! semantics (return values, errno, contents kept, zeroed memory) glibc natively is the
//! oracle: the programs print one line per call and every mode must print what the native
//! run printed. For misuse, check and guard modes are held to Valgrind's verdict, written
//! next to each case: the kind of each finding, the block's size, the access's offset, the
//! program line a stack names and how many times a context was seen; the leak totals of each
//! kind and the number of loss records. Where gpa cannot see what Valgrind sees (check mode
//! does not see reads outside libc's functions), the comment says so and the case asserts
//! what gpa reports. Tests skip with a message when gcc is missing.

mod common;

use common::sweep::*;
use common::*;

/// The programs: `tests/alloc_sweep/`, C; a finding's line is that of its stack's first frame
/// in the program (past libc's own frames).
const SWEEP: Sweep = Sweep {
    folder: "alloc_sweep",
    compilers: &["gcc"],
    lines: Lines::InFolder,
};

/// api_errno.c's fishy arguments with its argument (the calls Valgrind can run). Valgrind:
/// 31 errors from 11 contexts ("Argument 'size' of function malloc has a fishy (possibly
/// negative) value: -9223372036854775808" at main (api_errno.c:77), malloc -1 (:79),
/// calloc's nmemb -1 (:98), posix_memalign (memcheck 3.19 names it memalign) -1 in pm
/// (:56) called from :124 and from :125, memalign's 1 - align in the loop (:140, 14 times),
/// aligned_alloc (named memalign) (:162), memalign (:164), valloc (named memalign) (:180),
/// realloc (NULL, SIZE_MAX) (named malloc, :192), realloc (p, SIZE_MAX) in the loop (:221, 8
/// times). `valgrind --leak-check=full --show-leak-kinds=all ./api_errno vg`.
const API_FISHY: [Want; 11] = [
    fishy(77, 1),
    fishy(79, 1),
    fishy(98, 1),
    fishy(56, 1),
    fishy(56, 1),
    fishy(140, 14),
    fishy(162, 1),
    fishy(164, 1),
    fishy(180, 1),
    fishy(192, 1),
    fishy(221, 8),
];

/// The calls whose block guard mode aligns below 16 bytes (1 to 8 bytes asked).
const GUARD_UNALIGNED: [&str; 8] = [
    "malloc(2^0)",
    "malloc(2^0+1)",
    "malloc(2^1)",
    "malloc(2^1+1)",
    "malloc(2^2)",
    "malloc(2^2+1)",
    "malloc(2^3)",
    "realloc(NULL,4)",
];

#[test]
fn c_entry_points_errno_and_results() {
    SWEEP.sweep(
        "alloc-api",
        &[
            // mimalloc test-api.c, snmalloc malloc.cc, scudo wrappers_c_test.cpp, jemalloc's
            // malloc/overflow/aligned_alloc/posix_memalign: one line per call, every mode as
            // glibc. Before: posix_memalign failing for want of memory (a size of SIZE_MAX or
            // SIZE_MAX / 2 at any alignment, an alignment of 2^63) left errno alone where
            // glibc leaves ENOMEM (all modes: 20 lines); fixed. With the argument "vg": the
            // calls Valgrind can run, held to its fishy arguments.
            Case {
                args: &["vg"],
                guard_unaligned: &GUARD_UNALIGNED,
                ..case("api_errno.c", &API_FISHY, &API_FISHY)
            },
            // Without it: alignments of 2^23 to 2^27 (mimalloc malloc-aligned9), 2^63 and
            // SIZE_MAX, and pvalloc (Valgrind stops at it); the findings are not Valgrind's
            // (it cannot run these), only the output is held to glibc's.
            Case {
                guard_unaligned: &GUARD_UNALIGNED,
                ..case("api_errno.c", &API_FISHY, &API_FISHY)
            },
            // scudo wrappers_c_test.cpp MallOpt, MallInfo, MallInfo2, MallocInfo. Valgrind: no
            // error, no leak. Before: malloc_stats wrote to descriptor 2 instead of the C
            // library's `stderr` stream, which the program had pointed at /dev/null: its lines
            // reached the terminal (all three modes); fixed.
            clean("stats_calls.c"),
        ],
    );
}

#[test]
fn misuse() {
    SWEEP.sweep(
        "alloc-misuse",
        &[
            // mimalloc test-wrong.c. glibc aborts ("free(): invalid size"). Valgrind, 10
            // errors from 10 contexts: "Invalid read of size 1" at main (wrong.c:14), "1
            // bytes after a block of size 3" and (:15) "1 bytes before"; "Invalid read of
            // size 8" (:22) "0 bytes after a block of size 8", (:23) "8 bytes before";
            // "Invalid write of size 8" (:26) "0 bytes after", (:27) "8 bytes after", (:28)
            // "8 bytes before"; "Invalid free()" (:30) of the block freed at :29; "Invalid
            // read of size 8" (:31) "0 bytes inside a block of size 8 free'd"; 12 bytes in 1
            // block definitely lost (:9), 1 loss record; the uninitialised read (:20) is
            // never used in a branch: no error. Check mode (reads unseen, writes found in the
            // block's guards at its free): the overflow (offset 8) and the underflow (-8) at
            // the free (:29), the double free (:30). Guard mode: the three overflows and the
            // read after free at the access, the underflow at the free (reads before a block
            // need --guard-underflow), the double free.
            Case {
                native_aborts: true,
                output: Some("bytes read\nundefined read\nwords read\ndone 1\n"),
                leaks: [(1, 12), NONE, NONE, NONE],
                records: 1,
                ..case(
                    "wrong.c",
                    &[
                        want("overflow", 8, Some(8), ("detected", 29)),
                        want("underflow", 8, Some(-8), ("detected", 29)),
                        want("double_free", 8, None, ("second_free", 30)),
                    ],
                    &[
                        want("overflow", 3, Some(4), ("access", 14)),
                        want("overflow", 8, Some(8), ("access", 22)),
                        want("overflow", 8, Some(8), ("access", 26)),
                        want("overflow", 8, Some(16), ("access", 27)),
                        want("underflow", 8, Some(-8), ("detected", 29)),
                        want("double_free", 8, None, ("second_free", 30)),
                        want("read_after_free", 8, Some(0), ("access", 31)),
                    ],
                )
            },
            // scudo wrappers_c_test.cpp Malloc: free (p + 1). glibc aborts ("free(): invalid
            // pointer"). Valgrind: "Invalid free() / delete / delete[] / realloc()" at main
            // (bad_pointers.c:26), "1 bytes inside a block of size 100 alloc'd" (:25); the
            // block's own free goes through; no leak. gpa: the same in both modes.
            Case {
                args: &["plus_one"],
                native_aborts: true,
                output: Some("heap usable\n"),
                ..case(
                    "bad_pointers.c",
                    &[want("invalid_free", 100, Some(1), ("invalid_free", 26))],
                    &[want("invalid_free", 100, Some(1), ("invalid_free", 26))],
                )
            },
            // scudo Realloc: realloc of a freed block. glibc returns a block (undefined
            // behaviour, unseen). Valgrind: "Invalid free() / delete / delete[] / realloc()"
            // at realloc (:31), "0 bytes inside a block of size 100 free'd" (:30), and
            // realloc returns NULL. gpa: the double free at :31, NULL, in both modes; fast
            // mode as glibc.
            Case {
                args: &["realloc_freed"],
                checked_output: Some("realloc of a freed block: NULL\nheap usable\n"),
                ..case(
                    "bad_pointers.c",
                    &[want("double_free", 100, None, ("second_free", 31))],
                    &[want("double_free", 100, None, ("second_free", 31))],
                )
            },
            // Beside it, our own: realloc (p, 104) of a freed 100-byte block whose page another
            // block keeps in use, then malloc (100). glibc answers in place, hands the slot
            // out again to the malloc and aborts at the second free ("free(): double free
            // detected in tcache 2"). Valgrind: "Invalid free() / delete / delete[] /
            // realloc()" at realloc (:37), "0 bytes inside a block of size 100 free'd" (:36);
            // realloc returns NULL; no leak. gpa: the double free at :37, NULL, in both modes.
            // Fast mode answered the freed slot in place (it fits 104 bytes), so the program
            // held it twice, and with the page emptied first (`realloc_freed`) copied it onto
            // itself and freed the block it returned (the debug build's precondition check
            // aborted); fixed: a fresh block, the slot left free.
            Case {
                args: &["realloc_freed_kept"],
                native_aborts: true,
                output: Some("realloc of a freed block: NULL, its bytes kept\nheap usable\n"),
                fast_output: Some("realloc of a freed block: block, its bytes kept\nheap usable\n"),
                ..case(
                    "bad_pointers.c",
                    &[want("double_free", 100, None, ("second_free", 37))],
                    &[want("double_free", 100, None, ("second_free", 37))],
                )
            },
            // malloc_usable_size of a freed block and of an interior pointer. Valgrind: no
            // error (its malloc_usable_size answers 0 for both). gpa: no error.
            Case {
                args: &["usable_freed"],
                ..clean("bad_pointers.c")
            },
            // snmalloc func-memcpy.cc, one byte over. Valgrind: "Invalid read of size 1" in
            // memmove from main (:60), "0 bytes after a block of size 64 alloc'd" (:58), and
            // "Invalid write of size 1" (:60), "0 bytes after a block of size 64" (:58). gpa:
            // both, in both modes.
            Case {
                args: &["memcpy_over"],
                ..case(
                    "bad_pointers.c",
                    &[
                        want("overflow", 64, Some(64), ("access", 60)),
                        want("overflow", 64, Some(64), ("access", 60)),
                    ],
                    &[
                        want("overflow", 64, Some(64), ("access", 60)),
                        want("overflow", 64, Some(64), ("access", 60)),
                    ],
                )
            },
            // One byte under. glibc aborts at the destination's free ("double free or
            // corruption (out)"). Valgrind: "Invalid write of size 1" in memmove from main
            // (:67), "1 bytes before a block of size 64 alloc'd" (:65). gpa: the same.
            Case {
                args: &["memcpy_under"],
                native_aborts: true,
                output: Some("copied one before\nheap usable\n"),
                ..case(
                    "bad_pointers.c",
                    &[want("underflow", 64, Some(-1), ("access", 67))],
                    &[want("underflow", 64, Some(-1), ("access", 67))],
                )
            },
        ],
    );
}

#[test]
fn cross_thread_frees() {
    // mimalloc test-stress.c. Valgrind: no error, all blocks freed (5.5 s).
    SWEEP.sweep("alloc-stress", &[clean("stress.c")]);
}

/// scudo wrappers_c_test.cpp Fork and DisableForkEnable (without malloc_disable): 20 forks
/// while two threads allocate and free. Valgrind: no error in the parent, all its blocks
/// freed; its children report as definitely lost the blocks the parent's threads held at the
/// fork (0 to 2 per child, varying: 48 bytes of the consumer's, up to 100,001 of the
/// producer's). gpa, every mode: no hang, no crash, the parent's output and exit status as
/// glibc's; in check and guard modes the parent clean, and the children's findings only
/// definitely lost blocks.
#[test]
fn fork_while_threads_allocate() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("alloc-fork");
    let program = SWEEP.compile(&["fork_threads.c"], &dir).remove(0);
    let command = [program.to_str().unwrap()];
    let native = plain_run(&dir, &command, |_| {});
    assert_eq!(native.status.code(), Some(0));
    for options in [&[][..], &["--guard"]] {
        let run = gpa_run(&dir, options, &command);
        let tag = format!("{options:?}: {}", run.stderr());
        assert_eq!(run.output.status.code(), Some(0), "{tag}");
        assert_eq!(run.output.stdout, native.stdout, "{tag}");
        assert_eq!(run.json["all_checked"], true, "{tag}");
        let processes = run.json["processes"].as_array().expect("processes");
        assert_eq!(processes.len(), 21, "{tag}");
        let parent = processes.iter().find(|p| p["main"] == true).expect("main");
        assert_eq!(parent["findings"], 0, "{tag}");
        for finding in run.findings() {
            assert_eq!(finding["kind"], "leak", "{tag}");
            assert_eq!(finding["leak_kind"], "definite", "{tag}");
            assert_ne!(finding["pid"], parent["pid"], "{tag}");
        }
    }
    let fast = fast_run(&dir, &command);
    assert_eq!(fast.status.code(), Some(0));
    assert_eq!(fast.stdout, native.stdout);
}
