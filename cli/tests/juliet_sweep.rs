//! NIST's Juliet Test Suite for C/C++ (SARD, public domain; the GitHub mirror
//! arichardson/juliet-test-suite-c, commit f88433e), its heap CWEs (122, 124, 126, 127, 401,
//! 415, 416, 590, 761, 762), reduced to programs of our own (`tests/juliet_sweep/*`: each
//! names the Juliet files it stands for; an argument selects Juliet's "bad" flaw or its "good"
//! counterpart), run natively (glibc 2.36), under Valgrind memcheck 3.19 (`--leak-check=full
//! --show-leak-kinds=all --show-mismatched-frees=yes`, the oracle) and under `gpa run` in
//! check, guard and fast modes (`docs/sweeps/juliet.md`, with the whole suite's flow-variant-01
//! files measured the same way). Each case holds check and guard modes to Valgrind's verdict,
//! written next to it: each finding's kind, block size, offset and program line; the leak
//! totals of each kind and the number of loss records. Every "good" variant must report
//! nothing (a false positive is a trust defect too). Where gpa cannot see what Valgrind sees by
//! design (check mode does not see a direct read, and sees a direct write past a block at its
//! free or at exit; guard mode does not see an underflow without `--guard-underflow`, nor an
//! access in a block's alignment slack until the free), the comment says so and the case
//! asserts what gpa reports. Tests skip with a message when gcc or g++ is missing.

mod common;

use common::sweep::*;
use common::*;

/// The programs: `tests/juliet_sweep/`, C and C++; a finding's line is its stack's first
/// frame's.
const SWEEP: Sweep = Sweep {
    folder: "juliet_sweep",
    compilers: &["gcc", "g++"],
    lines: Lines::FirstFrame,
};

/// mismatched.cpp "bad": Valgrind, 9 errors from 9 contexts, "Mismatched free() / delete /
/// delete []" at bad() (mismatched.cpp:18, 20, 22, 24, 26, 28, 30, 32, 34), each "0 bytes
/// inside a block of size" 100 (malloc, :17), 80 (calloc), 8 (realloc of NULL), 8 (new), 40
/// (new[]), 40 (new wchar_t[10]), 8 (new long long), 9 (strdup), 56 (wcsdup) "alloc'd" the
/// line before. gpa: the same 9, in both modes.
const MISMATCHES: [Want; 9] = [
    want("mismatched_free", 100, None, ("invalid_free", 18)),
    want("mismatched_free", 80, None, ("invalid_free", 20)),
    want("mismatched_free", 8, None, ("invalid_free", 22)),
    want("mismatched_free", 8, None, ("invalid_free", 24)),
    want("mismatched_free", 40, None, ("invalid_free", 26)),
    want("mismatched_free", 40, None, ("invalid_free", 28)),
    want("mismatched_free", 8, None, ("invalid_free", 30)),
    want("mismatched_free", 9, None, ("invalid_free", 32)),
    want("mismatched_free", 56, None, ("invalid_free", 34)),
];

/// not_on_heap.cpp "bad": Valgrind, 6 errors from 6 contexts, "Invalid free() / delete /
/// delete[] / realloc()" at bad() (not_on_heap.cpp:23, "on thread 1's stack"; :26, "0 bytes
/// inside data symbol _ZL12static_longs"; :29, the alloca block on the stack; :31, a stack
/// object deleted; :33, "inside data symbol _ZZL3badvE5pairs"; :37, the placement-new
/// object in a stack buffer). gpa: the same 6, no block (size 0).
const NOT_ON_HEAP: [Want; 6] = [
    want("invalid_free", 0, None, ("invalid_free", 23)),
    want("invalid_free", 0, None, ("invalid_free", 26)),
    want("invalid_free", 0, None, ("invalid_free", 29)),
    want("invalid_free", 0, None, ("invalid_free", 31)),
    want("invalid_free", 0, None, ("invalid_free", 33)),
    want("invalid_free", 0, None, ("invalid_free", 37)),
];

#[test]
fn frees_cwe415_590_761_762() {
    SWEEP.sweep(
        "juliet-frees",
        &[
            // CWE-762: see MISMATCHES; glibc runs it to the end.
            case("mismatched.cpp", &MISMATCHES, &MISMATCHES),
            // Each block by its own routine. Valgrind: no error, all blocks freed.
            Case {
                args: &["good"],
                ..clean("mismatched.cpp")
            },
            // CWE-590: see NOT_ON_HEAP. glibc aborts at the first free ("free(): invalid
            // pointer"); gpa's runs go on, the heap intact, and print "done".
            Case {
                native_aborts: true,
                output: Some("done\n"),
                ..case("not_on_heap.cpp", &NOT_ON_HEAP, &NOT_ON_HEAP)
            },
            // Valgrind: no error, all blocks freed.
            Case {
                args: &["good"],
                ..clean("not_on_heap.cpp")
            },
            // CWE-761. glibc aborts ("free(): invalid pointer"). Valgrind: "Invalid free() /
            // delete / delete[] / realloc()" at narrow (not_at_start.c:27), "Address ... is 17
            // bytes inside a block of size 100 alloc'd" (:12); the block, never freed, 100
            // bytes in 1 block definitely lost; 1 loss record. gpa: the same.
            Case {
                native_aborts: true,
                output: Some("found it\ndone\n"),
                leaks: [(1, 100), NONE, NONE, NONE],
                records: 1,
                ..case(
                    "not_at_start.c",
                    &[want("invalid_free", 100, Some(17), ("invalid_free", 27))],
                    &[want("invalid_free", 100, Some(17), ("invalid_free", 27))],
                )
            },
            // The wchar_t string: Valgrind, "Invalid free()" at wide (:38), "88 bytes inside
            // a block of size 400" (:31); 400 bytes in 1 block definitely lost.
            Case {
                args: &["wide"],
                native_aborts: true,
                output: Some("found it\ndone\n"),
                leaks: [(1, 400), NONE, NONE, NONE],
                records: 1,
                ..case(
                    "not_at_start.c",
                    &[want("invalid_free", 400, Some(88), ("invalid_free", 38))],
                    &[want("invalid_free", 400, Some(88), ("invalid_free", 38))],
                )
            },
            // The search by index, the start freed. Valgrind: no error, all blocks freed.
            Case {
                args: &["good"],
                ..clean("not_at_start.c")
            },
            // CWE-415, the struct by malloc and free. glibc aborts ("free(): double free
            // detected in tcache 2"). Valgrind: "Invalid free() / delete / delete[] /
            // realloc()" at main (double_free.cpp:31), "0 bytes inside a block of size 8
            // free'd" (:30), alloc'd at :28. gpa: the same.
            Case {
                args: &["malloc"],
                native_aborts: true,
                output: Some("done\n"),
                ..case(
                    "double_free.cpp",
                    &[want("double_free", 8, None, ("second_free", 31))],
                    &[want("double_free", 8, None, ("second_free", 31))],
                )
            },
            // new and delete twice. Valgrind: "Invalid free()" at :35, block of size 8
            // free'd at :34.
            Case {
                args: &["new"],
                native_aborts: true,
                output: Some("done\n"),
                ..case(
                    "double_free.cpp",
                    &[want("double_free", 8, None, ("second_free", 35))],
                    &[want("double_free", 8, None, ("second_free", 35))],
                )
            },
            // new wchar_t[100] and delete[] twice. Valgrind: "Invalid free()" at :40, block
            // of size 400 free'd at :39.
            Case {
                args: &["array"],
                native_aborts: true,
                output: Some("done\n"),
                ..case(
                    "double_free.cpp",
                    &[want("double_free", 400, None, ("second_free", 40))],
                    &[want("double_free", 400, None, ("second_free", 40))],
                )
            },
            // A class whose destructor reads a member, deleted twice. Valgrind, 2 errors from
            // 2 contexts: "Invalid read of size 4" at Counted::~Counted() (:20), by main
            // (:44), "0 bytes inside a block of size 4 free'd" (:43); "Invalid free()" at
            // :44. Check mode: the double delete (the destructor's direct read unseen, by
            // design); guard mode: both.
            Case {
                args: &["class"],
                native_aborts: true,
                output: Some("done\n"),
                ..case(
                    "double_free.cpp",
                    &[want("double_free", 4, None, ("second_free", 44))],
                    &[
                        want("double_free", 4, None, ("second_free", 44)),
                        want("read_after_free", 4, Some(0), ("access", 20)),
                    ],
                )
            },
            // Each released once. Valgrind: no error, all blocks freed.
            Case {
                args: &["good"],
                ..clean("double_free.cpp")
            },
        ],
    );
}

#[test]
fn uses_after_free_cwe416() {
    SWEEP.sweep(
        "juliet-uaf",
        &[
            // Valgrind, 217 errors from 11 contexts: reads of the freed 100-byte block by puts
            // (use_after_free.cpp:32; freed at :31; 4 contexts inside glibc's puts), direct
            // reads at :36 (size 4, a block of 400 freed at :35), :40 (size 4, the class's 8
            // bytes freed at :39) and :44 (size 8, the array's 800 freed at :43), and puts
            // reading the 8-byte string reversed_then_freed freed (:23) at :45 (4 contexts).
            // gpa: one finding per call of puts (memcheck's contexts inside glibc are one
            // call); check mode does not see the three direct reads (by design), guard mode
            // sees them at the access. The output prints freed bytes.
            Case {
                prints_invalid_bytes: true,
                ..case(
                    "use_after_free.cpp",
                    &[
                        want("read_after_free", 100, Some(0), ("access", 32)),
                        want("read_after_free", 8, Some(0), ("access", 45)),
                    ],
                    &[
                        want("read_after_free", 100, Some(0), ("access", 32)),
                        want("read_after_free", 8, Some(0), ("access", 45)),
                        want("read_after_free", 400, Some(0), ("access", 36)),
                        want("read_after_free", 8, Some(0), ("access", 40)),
                        want("read_after_free", 800, Some(0), ("access", 44)),
                    ],
                )
            },
            // The reads before the release. Valgrind: no error, all blocks freed.
            Case {
                args: &["good"],
                ..clean("use_after_free.cpp")
            },
        ],
    );
}

#[test]
fn leaks_cwe401() {
    SWEEP.sweep(
        "juliet-leaks",
        &[
            // Valgrind: definitely lost 2,748 bytes in 8 blocks, 8 loss records: malloc 100
            // (leaks.cpp:17), calloc 800 (:19), realloc of NULL 800 (:21), realloc grown to
            // 520 (:24), new 8 (:26), new[] 400 (:28), strdup 20 (:30), wcsdup 100 (:31); no
            // other error. gpa: the same totals and records.
            leaks("leaks.cpp", [(8, 2748), NONE, NONE, NONE], 8),
            // Each released. Valgrind: no error, all blocks freed.
            Case {
                args: &["good"],
                ..clean("leaks.cpp")
            },
        ],
    );
}

#[test]
fn bounds_cwe122_124_126_127() {
    SWEEP.sweep(
        "juliet-bounds",
        &[
            // CWE-122. glibc aborts at a later malloc ("malloc assertion failure in
            // sysmalloc": the 40-byte memcpy into 10 bytes broke the top chunk). Valgrind, 15
            // errors from 13 contexts: "Invalid write" at run (overflow.c:26, the inlined
            // strcpy of 11 bytes into 10), :29 (the loop's NUL, "0 bytes after a block of size
            // 10"), :32 (the inlined strcat, 2 contexts, "5 bytes inside" and "1 bytes after
            // a block of size 8"), :34 (the inlined strncpy, "0 bytes after a block of size
            // 4"), :37 (memcpy, 4 writes past a block of size 10), :40 ("0 bytes after a
            // block of size 8": sizeof the pointer), :42 (wcscpy, "0 bytes after a block of
            // size 40"), :44 (snprintf, 2 contexts, "2 bytes after a block of size 8").
            // Check mode: memcpy, wcscpy and snprintf at the call (the first byte past the
            // end); the inlined copies and direct writes at their free (:45 to :50). Guard
            // mode: the 10-byte blocks' writes land in their alignment slack (seen at the
            // free); the 8- and 4-byte blocks' at the access (:32 twice, :34, :40), the first
            // write at :32 (4 bytes, straddling the end) at its start, 5 bytes in.
            Case {
                native_aborts: true,
                output: Some("done\n"),
                ..case(
                    "overflow.c",
                    &[
                        want("overflow", 10, Some(10), ("access", 37)),
                        want("overflow", 40, Some(40), ("access", 42)),
                        want("overflow", 8, Some(8), ("access", 44)),
                        want("overflow", 10, Some(10), ("detected", 45)),
                        want("overflow", 10, Some(10), ("detected", 46)),
                        want("overflow", 8, Some(8), ("detected", 47)),
                        want("overflow", 4, Some(4), ("detected", 48)),
                        want("overflow", 8, Some(8), ("detected", 50)),
                    ],
                    &[
                        want("overflow", 10, Some(10), ("access", 37)),
                        want("overflow", 40, Some(40), ("access", 42)),
                        want("overflow", 8, Some(8), ("access", 44)),
                        want("overflow", 10, Some(10), ("detected", 45)),
                        want("overflow", 10, Some(10), ("detected", 46)),
                        want("overflow", 8, Some(5), ("access", 32)),
                        want("overflow", 8, Some(9), ("access", 32)),
                        want("overflow", 4, Some(4), ("access", 34)),
                        want("overflow", 8, Some(8), ("access", 40)),
                    ],
                )
            },
            // Blocks of the right size. Valgrind: no error, all blocks freed.
            Case {
                args: &["good"],
                ..clean("overflow.c")
            },
            // CWE-126/127/124. Valgrind, 75 errors from 12 contexts: reads past a block of
            // size 50 by memmove (overread.c:26, 6 contexts) and by the loop (:29, "0 bytes
            // after"); reads 8 bytes before a block of size 100 by memmove (:34), strcpy
            // (:35) and the loop (:37); writes 8 bytes before a block of size 100 by the
            // inlined memmove (:40) and the loop (:42); that block still reachable (100 bytes
            // in 1 block, 1 loss record). Check mode: memmove's and strcpy's reads at the
            // call, the underwrite at exit (its front redzone; the two writes are one
            // damage); the direct reads unseen (by design). Guard mode: the same, and the
            // loop's reads past the 50-byte block from its guard page on (offset 64: the
            // block's 14 bytes of alignment slack unseen), 35 times at one site; the
            // underread needs --guard-underflow. Before: guard mode left the loop out (a
            // fault on a block a checked call was reported on was taken for that call's own).
            Case {
                leaks: [NONE, NONE, NONE, (1, 100)],
                records: 1,
                ..case(
                    "overread.c",
                    &[
                        want("overflow", 50, Some(50), ("access", 26)),
                        want("underflow", 100, Some(-8), ("access", 34)),
                        want("underflow", 100, Some(-8), ("access", 35)),
                        want("underflow", 100, Some(-8), ("detected", 0)),
                    ],
                    &[
                        want("overflow", 50, Some(50), ("access", 26)),
                        // One block read at one site 35 times (its size once: the JSON's
                        // `size`, with `count` 35).
                        sized("overflow", 50, Some(64), Some(("access", 29))),
                        want("underflow", 100, Some(-8), ("access", 34)),
                        want("underflow", 100, Some(-8), ("access", 35)),
                        want("underflow", 100, Some(-8), ("detected", 0)),
                    ],
                )
            },
            // Within the blocks. Valgrind: no error; the kept block still reachable.
            Case {
                args: &["good"],
                ..leaks("overread.c", [NONE, NONE, NONE, (1, 100)], 1)
            },
        ],
    );
}

/// type_overrun.c (Juliet's CWE-122 `char_type_overrun`): the program dies of SIGSEGV reading
/// through a pointer its own copy overwrote with text, inside `puts`, `strcpy` or `wcslen`,
/// natively too. Valgrind 3.19, for each: "Invalid read of size 1" (4 for `wcslen`), "Address
/// 0x3736353433323130 is not stack'd, malloc'd or (recently) free'd" (no block: gpa reports a
/// crash, not a finding), "Process terminating with default action of signal 11", and the leak
/// check: definitely lost 100 bytes in 1 block (type_overrun.c:21), still reachable 4,128 in 2
/// (the structure and stdout's buffer). gpa before: "leaks were
/// not checked: the signal arrived inside gpa's allocator" (the fault came in the checking
/// function's `strnlen` of the wild string, before glibc's own would take it); after: the
/// leak check runs, as at the same fault in glibc's function.
#[test]
fn wild_pointer_crash_keeps_the_leak_check() {
    if !SWEEP.compilers_or_skip() {
        return;
    }
    let dir = scratch("juliet-wild");
    let program = SWEEP.compile(&["type_overrun.c"], &dir).remove(0);
    for variant in ["puts", "strcpy", "wcslen"] {
        let command = [program.to_str().unwrap(), variant];
        let native = plain_run(&dir, &command, |_| {});
        assert_eq!(native.status.code(), None, "{variant}: natively SIGSEGV");
        for options in [
            &["--show-leak-kinds=all"][..],
            &["--show-leak-kinds=all", "--guard"],
        ] {
            let run = gpa_run(&dir, options, &command);
            let shown = format!("{variant} {options:?}: {}", run.stderr());
            assert_eq!(run.output.status.code(), Some(139), "{shown}");
            assert_eq!(run.output.stdout, native.stdout, "{shown}");
            assert!(!run.stderr().contains("leaks were not checked"), "{shown}");
            assert_eq!(
                gpa_leak_totals(&run.json),
                [(1, 100), NONE, NONE, (2, 4128)],
                "{shown}"
            );
            let findings = run.findings();
            let definite: Vec<_> = findings
                .iter()
                .filter(|f| f["leak_kind"] == "definite")
                .collect();
            assert_eq!(definite.len(), 1, "{shown}");
            assert_eq!(first_line(definite[0], "alloc"), Some(21), "{shown}");
        }
        let fast = fast_run(&dir, &command);
        assert_eq!(fast.status.code(), Some(139), "{variant} (fast)");
        assert_eq!(fast.stdout, native.stdout, "{variant} (fast)");
    }
}
