//! GCC's static analyzer heap tests (`-fanalyzer`: gcc-mirror/gcc's
//! `gcc/testsuite/gcc.dg/analyzer/`, `c-c++-common/analyzer/` and `g++.dg/analyzer/`:
//! allocation-size-*.c, CWE-131-examples.c, malloc-CWE-416-examples.c,
//! malloc-CWE-590-examples.c, realloc-1.c, attr-malloc-1.c, data-model-20.c, malloc-1.c,
//! attr-malloc-CVE-2019-19078-usb-leak.c, file-1.c; exception-leak-*.C, placement-new-size.C,
//! out-of-bounds-placement-new.C, unique_ptr-1.C, new-1.C; and blocks libc allocates for the
//! caller, frees of mappings, argv and static arrays), the functions that do something at
//! run time reduced to programs of our own (`tests/gccsa_sweep/*`: `argv[1]` names one case,
//! one case per run), built with gcc/g++ 12, run natively (glibc 2.36), under Valgrind memcheck
//! 3.19 (`--leak-check=full --show-leak-kinds=all`, the oracle) and under `gpa run` in check,
//! guard and fast modes (`docs/sweeps/gcc_analyzer.md`, with the -O2 builds measured the same
//! way). Each case holds check and guard modes to Valgrind's verdict, written next to it: each
//! finding's kind, block size, offset and the program line its stack names (the first frame in
//! `tests/gccsa_sweep/`); the leak totals of each kind and the number of loss records; every
//! mode prints "done" and exits 0 where glibc aborts (and where Valgrind itself dies of the heap
//! damage: three cases). Where gpa answers otherwise by design (check mode sees a write past a
//! block or after free when the block is freed or at exit, not at the access, and does not see
//! direct reads or writes beyond its redzone's reach; guard mode sees a write into the
//! alignment slack past a block at its free, and a read there not at all, without
//! `--guard-flush`), the comment says so and the case asserts what gpa reports. Check mode is
//! left out of `list_teardown_after_free`, which follows links read from freed nodes (its
//! fill of freed memory crashes it; guard mode keeps the old bytes, as Valgrind).
//! [`valgrind_agrees`] runs Valgrind itself on a representative few. Tests skip with a message
//! when gcc, g++ or (for that one) valgrind is missing.

mod common;

use std::path::Path;

use common::sweep::*;
use common::*;

/// The programs: `tests/gccsa_sweep/`, C and C++; a finding's line is the first frame's in
/// that folder (an -O2 build's case function may have tail-called `free`, leaving `main`'s
/// call of the case as the first frame).
const SWEEP: Sweep = Sweep {
    folder: "gccsa_sweep",
    compilers: &["gcc", "g++"],
    lines: Lines::InFolder,
};

const HEAP: &str = "heap.c";
const NEW_DELETE: &str = "newdelete.cpp";
const LIBC_ALLOC: &str = "libc_alloc.c";
const O2: &[&str] = &["-O2"];
/// What every run prints where glibc aborts the native one.
const DONE: Option<&str> = Some("done\n");

/// A case of `file` run with `args`, check and guard modes' findings apart.
fn split<'a>(
    file: &'static str,
    args: &'a [&'a str],
    check: &'a [Want],
    guard: &'a [Want],
) -> Case<'a> {
    Case {
        args,
        ..case(file, check, guard)
    }
}

/// A case of `file` run with `args` whose only findings are its leaks.
fn leaking<'a>(
    file: &'static str,
    args: &'a [&'a str],
    totals: LeakTotals,
    records: usize,
) -> Case<'a> {
    Case {
        args,
        ..leaks(file, totals, records)
    }
}

/// A case where glibc aborts the native run (or it dies of SIGSEGV): every gpa mode prints
/// "done" and exits 0.
fn aborting(case: Case<'_>) -> Case<'_> {
    Case {
        native_aborts: true,
        output: DONE,
        ..case
    }
}

/// `heap.c` at -O0: blocks too small for their type written and read past their end, frees
/// of memory not on the heap, uses after free, leaks on error paths, realloc's cases.
#[test]
fn c_heap() {
    SWEEP.sweep(
        "gccsa-heap",
        &[
            // cwe131_three_ints. Valgrind: invalid writes of size 4 at :19 (0 bytes inside a
            // block of 3), :20 (1 byte after), :21 (5 bytes after); definitely lost 3 in 1.
            // Check mode: the damage past the block at exit (no access stack); guard mode: the
            // same, and :20 and :21 at the access (the write at :19 ends in the block's
            // alignment slack: seen at exit).
            Case {
                leaks: [(1, 3), NONE, NONE, NONE],
                records: 1,
                ..split(
                    HEAP,
                    &["cwe131_three_ints"],
                    &[want("overflow", 3, Some(3), ("detected", 0))],
                    &[
                        want("overflow", 3, Some(3), ("detected", 0)),
                        want("overflow", 3, Some(4), ("access", 20)),
                        want("overflow", 3, Some(8), ("access", 21)),
                    ],
                )
            },
            // alloc_size_three_freed. Valgrind: invalid writes of size 4 at :27, :28, :29 (0
            // bytes inside, 1 and 5 bytes after a block of 3). Check mode at the free (:30),
            // guard mode there too and at :28 and :29.
            split(
                HEAP,
                &["alloc_size_three_freed"],
                &[want("overflow", 3, Some(3), ("detected", 30))],
                &[
                    want("overflow", 3, Some(3), ("detected", 30)),
                    want("overflow", 3, Some(4), ("access", 28)),
                    want("overflow", 3, Some(8), ("access", 29)),
                ],
            ),
            // alloc_size_int16_as_int32. Valgrind: invalid write of size 4 at :37 (40 bytes
            // inside a block of 42), then Valgrind itself dies ("Heap block lo/hi size
            // mismatch": its own heap metadata overwritten). Check mode at the free (:38);
            // guard mode there and at :37 (the writes into the guard page, 9 times).
            aborting(split(
                HEAP,
                &["alloc_size_int16_as_int32"],
                &[want("overflow", 42, Some(42), ("detected", 38))],
                &[
                    want("overflow", 42, Some(42), ("detected", 38)),
                    sized("overflow", 42, Some(48), Some(("access", 37))),
                ],
            )),
            // cwe131_widget_list. Valgrind: invalid write of size 8 at :47, 0 bytes after a
            // block of 40. Both modes at the free (:48): the slot's slack.
            aborting(same(
                HEAP,
                &["cwe131_widget_list"],
                &[want("overflow", 40, Some(40), ("detected", 48))],
            )),
            // struct_in_int_block. Valgrind: invalid write of size 4 at :60 (it names the
            // address "28 bytes after a block of size 16", a neighbour); gpa names the 4-byte
            // block, 44 bytes in: check mode at the free (:61), guard mode at :60.
            split(
                HEAP,
                &["struct_in_int_block"],
                &[want("overflow", 4, Some(44), ("detected", 61))],
                &[want("overflow", 4, Some(44), ("access", 60))],
            ),
            // struct_in_int_block_read. Valgrind: invalid read of size 4 at :68. Check mode does
            // not see a direct read; guard mode at :68.
            split(
                HEAP,
                &["struct_in_int_block_read"],
                &[],
                &[want("overflow", 4, Some(44), ("access", 68))],
            ),
            // far_write_page. Valgrind: invalid write of size 1 at :75 ("4,024 bytes inside an
            // unallocated block"). Check mode: at exit, the page's never-carved part found
            // changed, 4,104 bytes into the 16-byte block allocated at :73 (before stop 51:
            // nothing, 4 KiB past the block being beyond its redzone check's reach); guard
            // mode at :75, 4,104 bytes into the 16-byte block.
            split(
                HEAP,
                &["far_write_page"],
                &[want("overflow", 16, Some(4104), ("alloc", 73))],
                &[want("overflow", 16, Some(4104), ("access", 75))],
            ),
            // cwe131_escape. Valgrind: invalid writes of size 1 at :92 (0 bytes after a block of
            // 6), :86 to :90 (1 to 5 after), :94 (7 after). Check mode at the free (:95);
            // guard mode there and at :87 to :90, :92 (12 bytes in) and :94 (the bytes 6 and 7
            // fall in the slack).
            split(
                HEAP,
                &["cwe131_escape"],
                &[want("overflow", 6, Some(6), ("detected", 95))],
                &[
                    want("overflow", 6, Some(6), ("detected", 95)),
                    want("overflow", 6, Some(8), ("access", 87)),
                    want("overflow", 6, Some(9), ("access", 88)),
                    want("overflow", 6, Some(10), ("access", 89)),
                    want("overflow", 6, Some(11), ("access", 90)),
                    want("overflow", 6, Some(12), ("access", 92)),
                    want("overflow", 6, Some(13), ("access", 94)),
                ],
            ),
            // strcpy_no_room. Valgrind: invalid write of size 1 at :102 (in strcpy), 0 bytes
            // after a block of 5.
            same(
                HEAP,
                &["strcpy_no_room"],
                &[want("overflow", 5, Some(5), ("access", 102))],
            ),
            // memset_past. Valgrind: invalid writes of size 8 at :109 (0 and 16 bytes after a
            // block of 16: two contexts in memset), then Valgrind dies ("Assertion 'bszB != 0'
            // failed"). gpa: one finding for the call.
            aborting(same(
                HEAP,
                &["memset_past"],
                &[want("overflow", 16, Some(16), ("access", 109))],
            )),
            // flexible_member. Valgrind: invalid write of size 1 at :123, 0 bytes after a block
            // of 12. Both modes at the free (:124): the slack.
            same(
                HEAP,
                &["flexible_member"],
                &[want("overflow", 12, Some(12), ("detected", 124))],
            ),
            // write_before. Valgrind: invalid write of size 4 at :130, 4 bytes before a block of
            // 32. Both modes at the free (:131): the front canary (guard mode without
            // --guard-underflow).
            aborting(same(
                HEAP,
                &["write_before"],
                &[want("underflow", 32, Some(-4), ("detected", 131))],
            )),
            // cwe590_stack_array. Valgrind: invalid free at :141, on thread 1's stack.
            aborting(same(
                HEAP,
                &["cwe590_stack_array"],
                &[want("invalid_free", 0, None, ("invalid_free", 141))],
            )),
            // cwe590_global_array. Valgrind: invalid free at :146, 0 bytes inside data symbol
            // "global_records".
            aborting(same(
                HEAP,
                &["cwe590_global_array"],
                &[want("invalid_free", 0, None, ("invalid_free", 146))],
            )),
            // free_string_literal. Valgrind: invalid free at :152, in a r-- mapped file segment.
            aborting(same(
                HEAP,
                &["free_string_literal"],
                &[want("invalid_free", 0, None, ("invalid_free", 152))],
            )),
            // free_local_field. Valgrind: invalid free at :158, on thread 1's stack.
            aborting(same(
                HEAP,
                &["free_local_field"],
                &[want("invalid_free", 0, None, ("invalid_free", 158))],
            )),
            // cwe416_strncpy. Valgrind: invalid writes of size 1 at :168 (in strncpy), 0 and 5
            // bytes inside a block of 512 free'd. gpa: one finding for the call.
            same(
                HEAP,
                &["cwe416_strncpy"],
                &[want("write_after_free", 512, Some(0), ("access", 168))],
            ),
            // cwe416_log_after_free. Valgrind: invalid reads of size 1 at :174 (in strlen), 0
            // and 1 bytes inside a block of 1,024 free'd; it prints 6 (the old bytes), as guard
            // mode (which keeps them); check mode 1248 (its poison), native 5: see the doc.
            Case {
                prints_invalid_bytes: true,
                guard_output: Some("operation aborted before commit: 6\ndone\n"),
                ..same(
                    HEAP,
                    &["cwe416_log_after_free"],
                    &[want("read_after_free", 1024, Some(0), ("access", 174))],
                )
            },
            // cwe416_leak. Valgrind: definitely lost 1,024 in 1.
            leaking(HEAP, &["cwe416_leak"], [(1, 1024), NONE, NONE, NONE], 1),
            // realloc_after_free. Valgrind: invalid free at :202 (in realloc), 0 bytes inside a
            // block of 64 free'd.
            same(
                HEAP,
                &["realloc_after_free"],
                &[want("double_free", 64, None, ("second_free", 202))],
            ),
            // realloc_shrink_write. Valgrind: invalid write of size 1 at :212 ("30 bytes before
            // an unallocated block"), then Valgrind dies (its heap metadata). gpa names the
            // 10-byte block realloc left, 50 bytes in: check mode at the free (:213), guard
            // mode at :212.
            split(
                HEAP,
                &["realloc_shrink_write"],
                &[want("overflow", 10, Some(50), ("detected", 213))],
                &[want("overflow", 10, Some(50), ("access", 212))],
            ),
            // realloc_grow_old_write. Valgrind: invalid write of size 1 at :221, 0 bytes inside
            // a block of 16 free'd (by realloc). Check mode at exit, guard mode at :221.
            split(
                HEAP,
                &["realloc_grow_old_write"],
                &[want("write_after_free", 16, Some(0), ("detected", 0))],
                &[want("write_after_free", 16, Some(0), ("access", 221))],
            ),
            // realloc_grow_read_past. Valgrind: invalid read of size 1 at :230, 0 bytes after a
            // block of 24. Check mode: a direct read; guard mode: a read of the slack (with
            // --guard-flush gpa reports it at :230, as Valgrind).
            split(HEAP, &["realloc_grow_read_past"], &[], &[]),
            // attr_double_release. Valgrind: invalid free at :251 (foo_release), 0 bytes inside
            // a block of 4 free'd.
            aborting(same(
                HEAP,
                &["attr_double_release"],
                &[want("double_free", 4, None, ("second_free", 251))],
            )),
            // attr_use_after_release. Valgrind: invalid read of size 4 at :266, 0 bytes inside a
            // block of 4 free'd. Check mode does not see a direct read.
            split(
                HEAP,
                &["attr_use_after_release"],
                &[],
                &[want("read_after_free", 4, Some(0), ("access", 266))],
            ),
            // attr_free_instead. Valgrind: no error (one family at run time).
            clean_case(HEAP, &["attr_free_instead"]),
            // attr_leak. Valgrind: definitely lost 4 in 1.
            leaking(HEAP, &["attr_leak"], [(1, 4), NONE, NONE, NONE], 1),
            // error_path_elements_leak. Valgrind: definitely lost 16 in 4 (one record).
            leaking(
                HEAP,
                &["error_path_elements_leak"],
                [(4, 16), NONE, NONE, NONE],
                1,
            ),
            // usb_error_leak. Valgrind: definitely lost 200 in 1.
            leaking(HEAP, &["usb_error_leak"], [(1, 200), NONE, NONE, NONE], 1),
            // list_teardown_after_free. Valgrind: invalid read of size 8 at :326, 0 bytes inside
            // a block of size 16 free'd (at :327; 4 errors from 1 context, one per node); the
            // loop goes on through the old links: "freed 4", "done", exit 0, no leak. The native
            // run dies of SIGSEGV (glibc's safe-linking mangles the link).
            Case {
                args: &["list_teardown_after_free"],
                native_aborts: true,
                output: Some("freed 4\ndone\n"),
                check_open: Some(
                    "it follows the freed nodes' links: check mode's fill of freed memory makes \
                     it crash where Valgrind's kept bytes let it run on (docs/sweeps/gcc_analyzer.md)",
                ),
                fast_open: Some(
                    "it prints what fast mode's free list left in a freed node (the native run \
                     dies of SIGSEGV)",
                ),
                ..case(
                    HEAP,
                    &[],
                    &[Want {
                        count: Some(4),
                        ..want("read_after_free", 16, Some(0), ("access", 326))
                    }],
                )
            },
            // list_lost. Valgrind: definitely lost 16 in 1, indirectly lost 48 in 3.
            leaking(HEAP, &["list_lost"], [(1, 16), (3, 48), NONE, NONE], 2),
            // free_in_loop. Valgrind: invalid free at :348, 0 bytes inside a block of 32 free'd.
            aborting(same(
                HEAP,
                &["free_in_loop"],
                &[want("double_free", 32, None, ("second_free", 348))],
            )),
            // conditional_free_write. Valgrind: invalid write of size 4 at :355, 0 bytes inside
            // a block of 4 free'd. Check mode at exit, guard mode at :355.
            split(
                HEAP,
                &["conditional_free_write"],
                &[want("write_after_free", 4, Some(0), ("detected", 0))],
                &[want("write_after_free", 4, Some(0), ("access", 355))],
            ),
            // strdup_leak, strndup_leak. Valgrind: definitely lost 9 in 1.
            leaking(HEAP, &["strdup_leak"], [(1, 9), NONE, NONE, NONE], 1),
            leaking(HEAP, &["strndup_leak"], [(1, 9), NONE, NONE, NONE], 1),
            // asprintf_leak. Valgrind: definitely lost 8 in 1.
            leaking(HEAP, &["asprintf_leak"], [(1, 8), NONE, NONE, NONE], 1),
            // fopen_leak. Valgrind: still reachable 472 in 1 (glibc's list of streams).
            leaking(HEAP, &["fopen_leak"], [NONE, NONE, NONE, (1, 472)], 1),
            // interior_pointer. Valgrind: possibly lost 40 in 1.
            leaking(HEAP, &["interior_pointer"], [NONE, NONE, (1, 40), NONE], 1),
            // global_kept. Valgrind: still reachable 40 in 1.
            leaking(HEAP, &["global_kept"], [NONE, NONE, NONE, (1, 40)], 1),
            // good. Valgrind: no error.
            clean_case(HEAP, &["good"]),
        ],
    );
}

/// A case of `file` run with `args` without findings.
fn clean_case<'a>(file: &'static str, args: &'a [&'a str]) -> Case<'a> {
    Case {
        args,
        ..clean(file)
    }
}

/// `heap.c` at -O2: the cases gcc keeps (the frees of non-heap memory, the double frees, the
/// writes after free, the leaks); a case function that tail-calls `free` leaves `main`'s call
/// (:465) as the first frame in the folder, in Valgrind's stack as in gpa's.
#[test]
fn c_heap_optimized() {
    let o2 = |args, wants| Case {
        flags: O2,
        ..same(HEAP, args, wants)
    };
    let o2_leaking = |args, totals, records| Case {
        flags: O2,
        ..leaking(HEAP, args, totals, records)
    };
    SWEEP.sweep(
        "gccsa-heap-o2",
        &[
            // Valgrind: invalid free at :141, on thread 1's stack.
            aborting(o2(
                &["cwe590_stack_array"],
                &[want("invalid_free", 0, None, ("invalid_free", 141))],
            )),
            // Valgrind: invalid free at :465, 0 bytes inside data symbol "global_records".
            aborting(o2(
                &["cwe590_global_array"],
                &[want("invalid_free", 0, None, ("invalid_free", 465))],
            )),
            // Valgrind: invalid free at :465, in a r-- mapped file segment.
            aborting(o2(
                &["free_string_literal"],
                &[want("invalid_free", 0, None, ("invalid_free", 465))],
            )),
            // Valgrind: invalid free at :158, on thread 1's stack.
            aborting(o2(
                &["free_local_field"],
                &[want("invalid_free", 0, None, ("invalid_free", 158))],
            )),
            // Valgrind: invalid writes of size 1 at :465 (strncpy tail-called), 0 and 5 bytes
            // inside a block of 512 free'd.
            o2(
                &["cwe416_strncpy"],
                &[want("write_after_free", 512, Some(0), ("access", 465))],
            ),
            // Valgrind: invalid free at :202, 0 bytes inside a block of 64 free'd.
            o2(
                &["realloc_after_free"],
                &[want("double_free", 64, None, ("second_free", 202))],
            ),
            // Valgrind: invalid free at :465, 0 bytes inside a block of 4 free'd.
            aborting(o2(
                &["attr_double_release"],
                &[want("double_free", 4, None, ("second_free", 465))],
            )),
            // Valgrind: invalid free at :465, 0 bytes inside a block of 32 free'd.
            aborting(o2(
                &["free_in_loop"],
                &[want("double_free", 32, None, ("second_free", 465))],
            )),
            // Valgrind: invalid write of size 4 at :355, 0 bytes inside a block of 4 free'd.
            // Check mode at exit, guard mode at :355.
            Case {
                flags: O2,
                ..split(
                    HEAP,
                    &["conditional_free_write"],
                    &[want("write_after_free", 4, Some(0), ("detected", 0))],
                    &[want("write_after_free", 4, Some(0), ("access", 355))],
                )
            },
            // cwe131_three_ints: gcc merges the first two stores into one of 8 bytes.
            // Valgrind: invalid writes of size 4 at :21 (5 bytes after a block of 3) and of
            // size 8 at :19 (0 bytes inside it); definitely lost 3 in 1. Check mode at exit;
            // guard mode at exit (the slack byte the 8-byte store wrote) and at both accesses.
            Case {
                flags: O2,
                leaks: [(1, 3), NONE, NONE, NONE],
                records: 1,
                ..split(
                    HEAP,
                    &["cwe131_three_ints"],
                    &[want("overflow", 3, Some(3), ("detected", 0))],
                    &[
                        want("overflow", 3, Some(3), ("detected", 0)),
                        want("overflow", 3, Some(0), ("access", 19)),
                        want("overflow", 3, Some(8), ("access", 21)),
                    ],
                )
            },
            // Valgrind: the leaks of -O0, the same totals and records.
            o2_leaking(&["cwe416_leak"], [(1, 1024), NONE, NONE, NONE], 1),
            o2_leaking(
                &["error_path_elements_leak"],
                [(4, 16), NONE, NONE, NONE],
                1,
            ),
            // list_teardown_after_free. Valgrind, as at -O0: invalid read of size 8 at :326, 0 bytes inside
            // a block of size 16 free'd (at :327; 4 errors from 1 context, one per node); the
            // loop goes on through the old links: "freed 4", "done", exit 0, no leak. The native
            // run dies of SIGSEGV (glibc's safe-linking mangles the link).
            Case {
                flags: O2,
                args: &["list_teardown_after_free"],
                native_aborts: true,
                output: Some("freed 4\ndone\n"),
                check_open: Some(
                    "it follows the freed nodes' links: check mode's fill of freed memory makes \
                     it crash where Valgrind's kept bytes let it run on (docs/sweeps/gcc_analyzer.md)",
                ),
                fast_open: Some(
                    "it prints what fast mode's free list left in a freed node (the native run \
                     dies of SIGSEGV)",
                ),
                ..case(
                    HEAP,
                    &[],
                    &[Want {
                        count: Some(4),
                        ..want("read_after_free", 16, Some(0), ("access", 326))
                    }],
                )
            },
            o2_leaking(&["list_lost"], [(1, 16), (3, 48), NONE, NONE], 2),
            o2_leaking(&["asprintf_leak"], [(1, 8), NONE, NONE, NONE], 1),
            o2_leaking(&["fopen_leak"], [NONE, NONE, NONE, (1, 472)], 1),
            o2_leaking(&["interior_pointer"], [NONE, NONE, (1, 40), NONE], 1),
            // Valgrind: no error.
            Case {
                flags: O2,
                ..clean_case(HEAP, &["good"])
            },
        ],
    );
}

/// `newdelete.cpp` at -O0: a leak on an exception's path, placement new past a block,
/// `unique_ptr::release`, a read after `delete`.
#[test]
fn cxx_heap() {
    SWEEP.sweep(
        "gccsa-newdelete",
        &[
            // exception_leak. Valgrind: definitely lost 4 in 1.
            leaking(
                NEW_DELETE,
                &["exception_leak"],
                [(1, 4), NONE, NONE, NONE],
                1,
            ),
            // exception_unique_ptr. Valgrind: no error.
            clean_case(NEW_DELETE, &["exception_unique_ptr"]),
            // placement_new_too_small. Valgrind: invalid write of size 8 at :42, 0 bytes inside
            // a block of 4. Check mode at the free (:44); guard mode at :42, at the access's
            // start (the fault is 4 bytes in, on the guard page).
            split(
                NEW_DELETE,
                &["placement_new_too_small"],
                &[want("overflow", 4, Some(4), ("detected", 44))],
                &[want("overflow", 4, Some(0), ("access", 42))],
            ),
            // The same at -O2 (free tail-called: check mode's finding at main's call, :93).
            Case {
                flags: O2,
                ..split(
                    NEW_DELETE,
                    &["placement_new_too_small"],
                    &[want("overflow", 4, Some(4), ("detected", 93))],
                    &[want("overflow", 4, Some(0), ("access", 42))],
                )
            },
            // placement_new_past_array. Valgrind: invalid write of size 4 at :50, 0 bytes after
            // a block of 8. Check mode at the delete[] (:52), guard mode at :50.
            split(
                NEW_DELETE,
                &["placement_new_past_array"],
                &[want("overflow", 8, Some(8), ("detected", 52))],
                &[want("overflow", 8, Some(8), ("access", 50))],
            ),
            // unique_ptr_release_leak. Valgrind: definitely lost 4 in 1.
            leaking(
                NEW_DELETE,
                &["unique_ptr_release_leak"],
                [(1, 4), NONE, NONE, NONE],
                1,
            ),
            // read_after_delete. Valgrind: invalid read of size 4 at :64, 0 bytes inside a
            // block of 4 free'd. Check mode does not see a direct read.
            split(
                NEW_DELETE,
                &["read_after_delete"],
                &[],
                &[want("read_after_free", 4, Some(0), ("access", 64))],
            ),
            // good. Valgrind: no error.
            clean_case(NEW_DELETE, &["good"]),
        ],
    );
}

/// `libc_alloc.c` at -O0 and -O2: blocks libc allocates for the caller leaked (getline's,
/// getcwd's, realpath's), frees of memory no allocator handed out (an anonymous mapping, the
/// program's `argv[0]`, the inside of a static array), a calloc whose size overflows.
#[test]
fn c_libc_alloc() {
    let o2 = |args, wants| Case {
        flags: O2,
        ..same(LIBC_ALLOC, args, wants)
    };
    SWEEP.sweep(
        "gccsa-libc-alloc",
        &[
            // getline_leak. Valgrind: definitely lost 120 in 1 (allocated in getline, :24).
            leaking(
                LIBC_ALLOC,
                &["getline_leak"],
                [(1, 120), NONE, NONE, NONE],
                1,
            ),
            // getcwd_leak. Valgrind: definitely lost 2 in 1.
            leaking(LIBC_ALLOC, &["getcwd_leak"], [(1, 2), NONE, NONE, NONE], 1),
            // realpath_leak. Valgrind: definitely lost 2 in 1.
            leaking(
                LIBC_ALLOC,
                &["realpath_leak"],
                [(1, 2), NONE, NONE, NONE],
                1,
            ),
            // free_mmap. Valgrind: invalid free at :36, in a rw- anonymous segment.
            aborting(same(
                LIBC_ALLOC,
                &["free_mmap"],
                &[want("invalid_free", 0, None, ("invalid_free", 36))],
            )),
            // free_argv. Valgrind: invalid free at :40, on thread 1's stack.
            aborting(same(
                LIBC_ALLOC,
                &["free_argv"],
                &[want("invalid_free", 0, None, ("invalid_free", 40))],
            )),
            // free_bss_interior. Valgrind: invalid free at :44, 8 bytes inside data symbol
            // "table".
            aborting(same(
                LIBC_ALLOC,
                &["free_bss_interior"],
                &[want("invalid_free", 0, None, ("invalid_free", 44))],
            )),
            // calloc_overflow. Valgrind: no error; calloc returns null ("null").
            clean_case(LIBC_ALLOC, &["calloc_overflow"]),
            // good. Valgrind: no error.
            clean_case(LIBC_ALLOC, &["good"]),
            // -O2. Valgrind: invalid free at :36; at :84 (main's call: free tail-called) for
            // argv[0] and the static array.
            aborting(o2(
                &["free_mmap"],
                &[want("invalid_free", 0, None, ("invalid_free", 36))],
            )),
            aborting(o2(
                &["free_argv"],
                &[want("invalid_free", 0, None, ("invalid_free", 84))],
            )),
            aborting(o2(
                &["free_bss_interior"],
                &[want("invalid_free", 0, None, ("invalid_free", 84))],
            )),
        ],
    );
}

/// Valgrind on `command` (run in `dir`): its error contexts as [`Place`]s (deduplicated,
/// sorted) and its leak totals.
fn valgrind_places(dir: &Path, command: &[&str], file: &str) -> (Vec<Place>, LeakTotals) {
    let text = valgrind_log(dir, &[], command);
    let lines = log_lines(&text);
    let marker = format!("({file}:");
    let mut places = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let what = if line.starts_with("Invalid read") {
            "read"
        } else if line.starts_with("Invalid write") {
            "write"
        } else if line.starts_with("Invalid free") {
            "free"
        } else {
            continue;
        };
        let number = lines[at..]
            .iter()
            .take_while(|line| !line.is_empty())
            .find_map(|line| number_after(line, &marker))
            .unwrap_or(0);
        places.push((what.to_owned(), number));
    }
    places.sort();
    places.dedup();
    (places, valgrind_leak_totals(&text))
}

/// Valgrind itself on a representative few of `heap.c`'s cases (frees of a global array and of
/// a string literal, realloc of a freed block, strncpy into a freed block, a far write past a
/// too-small block, a write after a conditional free; leaks on error paths, an indirectly
/// lost list, an interior pointer, an open stream): guard mode's findings are Valgrind's
/// error contexts (what was done, at which line) and its leak totals Valgrind's.
#[test]
fn valgrind_agrees() {
    if !SWEEP.compilers_or_skip() || skip("valgrind", "valgrind") {
        return;
    }
    let dir = scratch("gccsa-valgrind");
    let program = SWEEP.compile(&[HEAP], &dir).remove(0);
    for name in [
        "cwe590_global_array",
        "free_string_literal",
        "realloc_after_free",
        "cwe416_strncpy",
        "struct_in_int_block",
        "far_write_page",
        "conditional_free_write",
        "error_path_elements_leak",
        "list_lost",
        "interior_pointer",
        "fopen_leak",
    ] {
        let command = [program.to_str().expect("a UTF-8 path"), name];
        let (places, totals) = valgrind_places(&dir, &command, HEAP);
        let run = gpa_run(&dir, &["--show-leak-kinds=all", "--guard"], &command);
        let shown = format!("{name}: valgrind {places:?} {totals:?}\n{}", run.stderr());
        assert_eq!(gpa_places(&run.findings(), HEAP), places, "{shown}");
        assert_eq!(gpa_leak_totals(&run.json), totals, "{shown}");
    }
}
