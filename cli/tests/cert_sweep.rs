//! The SEI CERT C and C++ coding standards' memory rules (C: MEM30-C, MEM31-C, MEM34-C,
//! MEM35-C, MEM36-C, ARR38-C, STR31-C, EXP33-C, FIO42-C, FIO46-C, ERR33-C; C++: MEM50-CPP to
//! MEM57-CPP, OOP52-CPP, EXP51-CPP, EXP54-CPP, ERR57-CPP, CTR50-CPP to CTR52-CPP, STR52-CPP,
//! STR53-CPP): the mistakes of their noncompliant code examples and the fixes of their
//! compliant solutions, reduced to programs of our own (`tests/cert_sweep/*`: `argv[1]` names
//! one case, one case per run; `compliant` runs every fix together), built with gcc/g++ 12,
//! run natively (glibc 2.36), under Valgrind memcheck 3.19 (`--leak-check=full
//! --show-leak-kinds=all --show-mismatched-frees=yes`, the oracle) and under `gpa run` in
//! check, guard and fast modes (`docs/sweeps/cert.md`, with the -O2 builds measured the same
//! way). Each case holds check and guard modes to Valgrind's verdict, written next to it: each
//! finding's kind, block size, offset and the program line its stack names (the first frame in
//! `tests/cert_sweep/`); the leak totals of each kind and the number of loss records; every
//! mode prints "done" and exits 0 where glibc aborts. Where gpa answers otherwise by design
//! (check mode sees a write past a block or after free at the free or at exit, and no direct
//! read; guard mode sees a write into a block's alignment slack at its free; gpa checks the
//! size of a sized `delete` and the family of an aligned `new`, which Valgrind 3.19 does not;
//! Valgrind cannot throw `std::bad_alloc` and ends the program instead), the comment says so
//! and the case asserts what gpa reports. Check mode is left out of the two programs that
//! follow pointers read from freed memory (its fill of freed memory crashes them; guard mode
//! keeps the old bytes, as Valgrind). [`valgrind_agrees`] runs Valgrind itself on a
//! representative few. Tests skip with a message when gcc, g++ or (for that one) valgrind is
//! missing.

mod common;

use common::sweep::*;
use common::*;

/// The programs: `tests/cert_sweep/`, C and C++; a finding's line is the first frame's in
/// that folder (an -O2 build's case function may have tail-called `free` or `operator
/// delete`, leaving `main`'s call of the case as the first frame).
const SWEEP: Sweep = Sweep {
    folder: "cert_sweep",
    compilers: &["gcc", "g++"],
    lines: Lines::InFolder,
};

const CXX: &str = "mem_cpp.cpp";
const C: &str = "mem_c.c";
const O2: &[&str] = &["-O2"];
/// What every run prints where glibc aborts the native one.
const DONE: Option<&str> = Some("done\n");
/// `mem_cpp.cpp`'s line in `main` that calls a case (the first frame in the folder where an
/// -O2 case function tail-called `operator delete` or `free`).
const CXX_MAIN: u64 = 414;

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

/// A case of `file` run with `args` without findings.
fn clean_case<'a>(file: &'static str, args: &'a [&'a str]) -> Case<'a> {
    Case {
        args,
        ..clean(file)
    }
}

/// A case where glibc aborts the native run: every gpa mode prints "done" and exits 0.
fn aborting(case: Case<'_>) -> Case<'_> {
    Case {
        native_aborts: true,
        output: DONE,
        ..case
    }
}

/// The same case built with -O2.
fn optimized(case: Case<'_>) -> Case<'_> {
    Case { flags: O2, ..case }
}

/// `mem_cpp.cpp` at -O0: uses after free through the C++ library, mismatched and invalid
/// deallocations, double deletes of shared owners, objects past their lifetime, container
/// indices and invalidated iterators, and the compliant solutions.
#[test]
fn cxx_rules() {
    SWEEP.sweep(
        "cert-cxx",
        &[
            // mem50_call_after_delete. Valgrind: invalid read of size 4 at :22 (S::f), 0 bytes
            // inside a block of 4 free'd. Check mode does not see a direct read.
            split(
                CXX,
                &["mem50_call_after_delete"],
                &[],
                &[want("read_after_free", 4, Some(0), ("access", 22))],
            ),
            // mem50_c_str_of_temporary. Valgrind: invalid reads of size 1 at :35 (in strlen), 0
            // and 1 bytes inside a block of 45 free'd (two contexts; gpa one finding for the
            // call); it prints 44 (the old bytes), as guard mode; check mode its poison's length.
            Case {
                prints_invalid_bytes: true,
                guard_output: Some("44\ndone\n"),
                ..same(
                    CXX,
                    &["mem50_c_str_of_temporary"],
                    &[want("read_after_free", 45, Some(0), ("access", 35))],
                )
            },
            // mem50_get_after_reset. Valgrind: invalid read of size 4 at :42, 0 bytes inside a
            // block of 4 free'd.
            split(
                CXX,
                &["mem50_get_after_reset"],
                &[],
                &[want("read_after_free", 4, Some(0), ("access", 42))],
            ),
            // mem50_lambda_dangling. Valgrind: invalid read of size 8 at :48, 0 bytes inside a
            // block of 24 free'd (the vector), then of size 4 at :48, 4 bytes inside a block of
            // 16 free'd (its elements, through the pointer read from the freed vector); "done".
            // The native run dies of SIGSEGV (glibc's safe-linking mangles the pointer).
            Case {
                args: &["mem50_lambda_dangling"],
                native_aborts: true,
                output: DONE,
                check_open: Some(
                    "it follows a pointer read from the freed vector: check mode's fill of freed \
                     memory makes it crash where Valgrind's kept bytes let it run on",
                ),
                fast_open: Some(
                    "it follows what fast mode's free list left in the freed vector (the native \
                     run dies of SIGSEGV)",
                ),
                ..case(
                    CXX,
                    &[],
                    &[
                        want("read_after_free", 24, Some(0), ("access", 48)),
                        want("read_after_free", 16, Some(4), ("access", 48)),
                    ],
                )
            },
            // mem51_new_free. Valgrind: mismatched free at :60, a block of 4.
            same(
                CXX,
                &["mem51_new_free"],
                &[want("mismatched_free", 4, None, ("invalid_free", 60))],
            ),
            // mem51_new_array_delete. Valgrind: mismatched free at :66, a block of 32.
            same(
                CXX,
                &["mem51_new_array_delete"],
                &[want("mismatched_free", 32, None, ("invalid_free", 66))],
            ),
            // mem51_new_array_delete_cookie. Valgrind: invalid free at :76, 8 bytes inside a
            // block of 72 (past the array cookie); definitely lost 72 in 1, indirectly lost 45
            // in 1 (the first element's string).
            aborting(Case {
                leaks: [(1, 72), (1, 45), NONE, NONE],
                records: 2,
                ..same(
                    CXX,
                    &["mem51_new_array_delete_cookie"],
                    &[want("invalid_free", 72, Some(8), ("invalid_free", 76))],
                )
            }),
            // mem51_malloc_delete. Valgrind: mismatched free at :83, a block of 4.
            same(
                CXX,
                &["mem51_malloc_delete"],
                &[want("mismatched_free", 4, None, ("invalid_free", 83))],
            ),
            // mem51_placement_delete. Valgrind: invalid free at :90, on thread 1's stack.
            aborting(same(
                CXX,
                &["mem51_placement_delete"],
                &[want("invalid_free", 0, None, ("invalid_free", 90))],
            )),
            // mem51_allocator_free. Valgrind: mismatched free at :97, a block of 16.
            same(
                CXX,
                &["mem51_allocator_free"],
                &[want("mismatched_free", 16, None, ("invalid_free", 97))],
            ),
            // mem51_copy_double_delete. Valgrind: invalid free at :102 (~Holder), 0 bytes inside
            // a block of 4 free'd.
            aborting(same(
                CXX,
                &["mem51_copy_double_delete"],
                &[want("double_free", 4, None, ("second_free", 102))],
            )),
            // mem51_class_new_global_delete. Valgrind: mismatched free at :294, a block of 16
            // (the class's operator new called malloc).
            same(
                CXX,
                &["mem51_class_new_global_delete"],
                &[want("mismatched_free", 16, None, ("invalid_free", 294))],
            ),
            // mem51_global_new_class_delete. Valgrind: mismatched free at :288 (the class's
            // operator delete, which calls free), a block of 16.
            same(
                CXX,
                &["mem51_global_new_class_delete"],
                &[want("mismatched_free", 16, None, ("invalid_free", 288))],
            ),
            // mem52_nothrow_checked. Valgrind: no error; "failed".
            clean_case(CXX, &["mem52_nothrow_checked"]),
            // mem52_bad_alloc_caught. Valgrind cannot throw std::bad_alloc ("new/new[] failed and
            // should throw an exception, but Valgrind cannot throw exceptions and so is aborting
            // instead"): it ends the program, exit 1. gpa throws it, as glibc's runtime does:
            // "bad_alloc", no error.
            clean_case(CXX, &["mem52_bad_alloc_caught"]),
            // err57_constructor_throws. Valgrind ends the program at the throwing new (above):
            // still reachable 4 in 1, the first member's int (the constructor's frame still
            // held it). gpa, as the native run, goes on past the exception: the int is
            // definitely lost (the CERT rule's point).
            leaking(
                CXX,
                &["err57_constructor_throws"],
                [(1, 4), NONE, NONE, NONE],
                1,
            ),
            // mem53_no_destructor. Valgrind: definitely lost 45 in 1 (the string).
            leaking(
                CXX,
                &["mem53_no_destructor"],
                [(1, 45), NONE, NONE, NONE],
                1,
            ),
            // mem54_placement_too_small. Valgrind: invalid write of size 8 at :132, 0 bytes
            // inside a block of 4. Check mode at the delete[] (:134), 4 bytes in (its first
            // changed byte past the end); guard mode at :132, offset 0 (the access's start).
            split(
                CXX,
                &["mem54_placement_too_small"],
                &[want("overflow", 4, Some(4), ("detected", 134))],
                &[want("overflow", 4, Some(0), ("access", 132))],
            ),
            // mem56_two_shared_ptrs. Valgrind: invalid free at :142 (the second owner's
            // destructor), 0 bytes inside a block of 4 free'd.
            aborting(same(
                CXX,
                &["mem56_two_shared_ptrs"],
                &[want("double_free", 4, None, ("second_free", 142))],
            )),
            // mem56_shared_and_unique. Valgrind: invalid free at :149, a block of 4 free'd.
            aborting(same(
                CXX,
                &["mem56_shared_and_unique"],
                &[want("double_free", 4, None, ("second_free", 149))],
            )),
            // mem57_aligned_new. Valgrind: no error; "aligned 1".
            clean_case(CXX, &["mem57_aligned_new"]),
            // mem57_aligned_plain_delete. Valgrind 3.19: no error (it does not check aligned
            // families; 3.22 does). gpa: a mismatched free at :164 ("allocated by operator
            // new(std::align_val_t), freed by operator delete(void*)").
            same(
                CXX,
                &["mem57_aligned_plain_delete"],
                &[want("mismatched_free", 64, None, ("invalid_free", 164))],
            ),
            // oop52_no_virtual_dtor. Valgrind: definitely lost 45 in 1 (the derived part's
            // string); no error (3.19 does not check a sized delete's size; 3.22 does). gpa: also
            // a mismatched free at :177 (operator delete(void*, unsigned long) with size 4 for
            // the 40-byte object).
            Case {
                leaks: [(1, 45), NONE, NONE, NONE],
                records: 1,
                ..same(
                    CXX,
                    &["oop52_no_virtual_dtor"],
                    &[want("mismatched_free", 40, None, ("invalid_free", 177))],
                )
            },
            // oop52_second_base. Valgrind: invalid free at :190, 8 bytes inside a block of 16;
            // definitely lost 16 in 1.
            aborting(Case {
                leaks: [(1, 16), NONE, NONE, NONE],
                records: 1,
                ..same(
                    CXX,
                    &["oop52_second_base"],
                    &[want("invalid_free", 16, Some(8), ("invalid_free", 190))],
                )
            }),
            // exp51_delete_array_base. Valgrind: invalid free at :203, 8 bytes inside a block of
            // 56 (the cookie not seen through the base); definitely lost 56 in 1.
            aborting(Case {
                leaks: [(1, 56), NONE, NONE, NONE],
                records: 1,
                ..same(
                    CXX,
                    &["exp51_delete_array_base"],
                    &[want("invalid_free", 56, Some(8), ("invalid_free", 203))],
                )
            }),
            // exp54_string_view_temporary. Valgrind: invalid read of size 1 at :208, 2 bytes
            // inside a block of 45 free'd; it prints the old 's', as guard mode.
            Case {
                prints_invalid_bytes: true,
                guard_output: Some("s\ndone\n"),
                ..split(
                    CXX,
                    &["exp54_string_view_temporary"],
                    &[],
                    &[want("read_after_free", 45, Some(2), ("access", 208))],
                )
            },
            // ctr50_index_past_end. Valgrind: invalid write of size 4 at :215, 0 bytes after a
            // block of 16. Check mode at the vector's destruction (:216), guard mode at :215.
            split(
                CXX,
                &["ctr50_index_past_end"],
                &[want("overflow", 16, Some(16), ("detected", 216))],
                &[want("overflow", 16, Some(16), ("access", 215))],
            ),
            // ctr51_iterator_after_push_back. Valgrind: invalid read of size 4 at :222, 0 bytes
            // inside a block of 16 free'd.
            split(
                CXX,
                &["ctr51_iterator_after_push_back"],
                &[],
                &[want("read_after_free", 16, Some(0), ("access", 222))],
            ),
            // ctr51_reference_after_growth. Valgrind: invalid write of size 8 at :229, 0 bytes
            // inside a block of 16 free'd. Check mode at exit (its free stack names :228);
            // guard mode at :229.
            split(
                CXX,
                &["ctr51_reference_after_growth"],
                &[want("write_after_free", 16, Some(0), ("free", 228))],
                &[want("write_after_free", 16, Some(0), ("access", 229))],
            ),
            // ctr52_copy_too_small. Valgrind: invalid write of size 8 at :236 (in std::copy's
            // memmove), 0 bytes after a block of 8.
            same(
                CXX,
                &["ctr52_copy_too_small"],
                &[want("overflow", 8, Some(8), ("access", 236))],
            ),
            // str52_c_str_after_append. Valgrind: invalid read of size 1 at :244, 0 bytes inside
            // a block of 45 free'd; it prints the old 'a', as guard mode.
            Case {
                prints_invalid_bytes: true,
                guard_output: Some("a\ndone\n"),
                ..split(
                    CXX,
                    &["str52_c_str_after_append"],
                    &[],
                    &[want("read_after_free", 45, Some(0), ("access", 244))],
                )
            },
            // str52_iterator_after_insert. Valgrind: invalid write of size 1 at :251, 1 byte
            // inside a block of 45 free'd. Check mode at exit (its free stack names :250);
            // guard mode at :251.
            split(
                CXX,
                &["str52_iterator_after_insert"],
                &[want("write_after_free", 45, Some(1), ("free", 250))],
                &[want("write_after_free", 45, Some(1), ("access", 251))],
            ),
            // str53_index_past_size. Valgrind: invalid read of size 1 at :306, 7 bytes after a
            // block of 45. Check mode does not see a direct read; guard mode at :306, 52 bytes
            // in (past the slack, on the guard page).
            split(
                CXX,
                &["str53_index_past_size"],
                &[],
                &[want("overflow", 45, Some(52), ("access", 306))],
            ),
            // compliant. Valgrind: no error, no leak.
            clean_case(CXX, &["compliant"]),
        ],
    );
}

/// `mem_c.c` at -O0: uses after free, leaks, frees of memory not allocated, blocks too small
/// for what is written, library calls past a block, a stream used after `fclose`, an
/// allocation failure ignored, and the compliant solutions.
#[test]
fn c_rules() {
    SWEEP.sweep(
        "cert-c",
        &[
            // mem30_list_free_loop. Valgrind: invalid read of size 8 at :31, 0 bytes inside a
            // block of 16 free'd (3 errors from 1 context); "done", no leak. The native run dies
            // of SIGSEGV (safe-linking mangles the link).
            Case {
                args: &["mem30_list_free_loop"],
                native_aborts: true,
                output: DONE,
                check_open: Some(
                    "it follows the freed nodes' links: check mode's fill of freed memory makes \
                     it crash where Valgrind's kept bytes let it run on",
                ),
                ..case(
                    C,
                    &[],
                    &[Want {
                        count: Some(3),
                        ..want("read_after_free", 16, Some(0), ("access", 31))
                    }],
                )
            },
            // mem30_write_after_free. Valgrind: invalid writes of size 8, 8 and 2 at :39 (the
            // inlined strcpy), 0, 8 and 16 bytes inside a block of 32 free'd. Check mode at
            // exit (its free stack names :38); guard mode the three at :39.
            split(
                C,
                &["mem30_write_after_free"],
                &[want("write_after_free", 32, Some(0), ("free", 38))],
                &[
                    want("write_after_free", 32, Some(0), ("access", 39)),
                    want("write_after_free", 32, Some(8), ("access", 39)),
                    want("write_after_free", 32, Some(16), ("access", 39)),
                ],
            ),
            // mem30_realloc_zero_then_free. Valgrind: invalid free at :47, 0 bytes inside a block
            // of 16 free'd (by realloc(p, 0)).
            aborting(same(
                C,
                &["mem30_realloc_zero_then_free"],
                &[want("double_free", 16, None, ("second_free", 47))],
            )),
            // mem31_leak. Valgrind: definitely lost 18 in 1.
            leaking(C, &["mem31_leak"], [(1, 18), NONE, NONE, NONE], 1),
            // mem31_realloc_failure_leak. Valgrind: definitely lost 16 in 1; "null".
            leaking(
                C,
                &["mem31_realloc_failure_leak"],
                [(1, 16), NONE, NONE, NONE],
                1,
            ),
            // mem34_free_not_allocated. Valgrind: invalid free at :61 (a string constant).
            aborting(same(
                C,
                &["mem34_free_not_allocated"],
                &[want("invalid_free", 0, None, ("invalid_free", 61))],
            )),
            // mem34_realloc_stack. Valgrind: invalid free at :67 (in realloc), on thread 1's
            // stack.
            aborting(same(
                C,
                &["mem34_realloc_stack"],
                &[want("invalid_free", 0, None, ("invalid_free", 67))],
            )),
            // mem35_sizeof_pointer. Valgrind: invalid writes of size 4 at :74 (12 bytes after a
            // block of 8) and :75 (4 bytes after). Check mode at the free (:76), the first
            // changed byte 12 bytes in; guard mode both at their lines (20 and 12 bytes in).
            split(
                C,
                &["mem35_sizeof_pointer"],
                &[want("overflow", 8, Some(12), ("detected", 76))],
                &[
                    want("overflow", 8, Some(20), ("access", 74)),
                    want("overflow", 8, Some(12), ("access", 75)),
                ],
            ),
            // mem35_count_not_bytes. Valgrind: invalid write of size 8 at :84, 0 bytes inside a
            // block of 4 (4 errors from 1 context). Check mode at the free (:85); guard mode
            // at :84, 4 times, named by the first access's start. glibc aborts.
            aborting(split(
                C,
                &["mem35_count_not_bytes"],
                &[want("overflow", 4, Some(4), ("detected", 85))],
                &[again(4, want("overflow", 4, Some(0), ("access", 84)))],
            )),
            // mem35_flexible_member. Valgrind: invalid write of size 4 at :98, 8 bytes inside a
            // block of 11 (3 errors from 1 context). Check mode at the free (:99); guard mode
            // there (the writes into the slack) and at :98 for the one on the guard page, 16
            // bytes in.
            split(
                C,
                &["mem35_flexible_member"],
                &[want("overflow", 11, Some(11), ("detected", 99))],
                &[
                    want("overflow", 11, Some(11), ("detected", 99)),
                    want("overflow", 11, Some(16), ("access", 98)),
                ],
            ),
            // mem36_realloc_aligned. Valgrind: no error.
            clean_case(C, &["mem36_realloc_aligned"]),
            // arr38_memset_past. Valgrind: invalid write of size 1 at :114 (in memset), 0 bytes
            // after a block of 20.
            same(
                C,
                &["arr38_memset_past"],
                &[want("overflow", 20, Some(20), ("access", 114))],
            ),
            // arr38_memcpy_elements. Valgrind: invalid writes of size 8 at :123 (in memcpy), 0
            // and 8 bytes after a block of 16 (two contexts; gpa one finding for the call).
            // glibc aborts.
            aborting(same(
                C,
                &["arr38_memcpy_elements"],
                &[want("overflow", 16, Some(16), ("access", 123))],
            )),
            // arr38_strncpy_pad. Valgrind: invalid write of size 1 at :189 (in strncpy), 0 bytes
            // after a block of 8.
            same(
                C,
                &["arr38_strncpy_pad"],
                &[want("overflow", 8, Some(8), ("access", 189))],
            ),
            // str31_off_by_one. Valgrind: invalid write of size 2 at :130 (the inlined strcpy's
            // last store), 16 bytes inside a block of 17. Both modes at the free (:131): the
            // terminator lands in the slot's slack.
            same(
                C,
                &["str31_off_by_one"],
                &[want("overflow", 17, Some(17), ("detected", 131))],
            ),
            // str31_sprintf_past. Valgrind: invalid writes of size 1 at :182 (in sprintf), 0 and
            // 1 bytes after a block of 8 (two contexts; gpa one finding for the call).
            same(
                C,
                &["str31_sprintf_past"],
                &[want("overflow", 8, Some(8), ("access", 182))],
            ),
            // exp33_uninitialized. Valgrind: "Conditional jump or move depends on uninitialised
            // value(s)" at :137. gpa does not track definedness: nothing.
            clean_case(C, &["exp33_uninitialized"]),
            // fio42_not_closed. Valgrind: still reachable 472 in 1 (the FILE).
            leaking(C, &["fio42_not_closed"], [NONE, NONE, NONE, (1, 472)], 1),
            // fio46_after_fclose. Valgrind: invalid reads of size 4 and 1 at :152 (in ferror),
            // 0 and 116 bytes inside a block of 472 free'd. Check mode does not see a direct
            // read.
            split(
                C,
                &["fio46_after_fclose"],
                &[],
                &[
                    want("read_after_free", 472, Some(0), ("access", 152)),
                    want("read_after_free", 472, Some(116), ("access", 152)),
                ],
            ),
            // err33_unchecked. Valgrind: invalid write of size 1 at :159 ("Address 0x0 is not
            // stack'd, malloc'd or (recently) free'd"), then the program dies of SIGSEGV; still
            // reachable 4,096 in 1 (stdout's buffer). gpa: the fault reported (no finding: no
            // block), the same leak verdict, exit 139; "null" printed (gpa flushes stdout at a
            // fault, docs/c_abi.md; native and Valgrind lose it).
            Case {
                ends_by_signal: Some(11),
                checked_output: Some("null\n"),
                leaks: [NONE, NONE, NONE, (1, 4096)],
                records: 1,
                ..clean_case(C, &["err33_unchecked"])
            },
            // compliant. Valgrind: no error, no leak.
            clean_case(C, &["compliant"]),
        ],
    );
}

/// The -O2 builds' cases where gcc keeps the mistake: mismatched, invalid and double frees,
/// leaks, uses after free. A case function that tail-called `operator delete` or `free` leaves
/// `main`'s call of it as the first frame in the folder, in Valgrind's stack as in gpa's.
#[test]
fn optimized_builds() {
    SWEEP.sweep(
        "cert-o2",
        &[
            // Valgrind: mismatched free at main's call, a block of 4 (32 for new[]).
            optimized(same(
                CXX,
                &["mem51_new_free"],
                &[want("mismatched_free", 4, None, ("invalid_free", CXX_MAIN))],
            )),
            optimized(same(
                CXX,
                &["mem51_new_array_delete"],
                &[want(
                    "mismatched_free",
                    32,
                    None,
                    ("invalid_free", CXX_MAIN),
                )],
            )),
            // Valgrind: mismatched free at main's call, a block of 16: the class's operator new,
            // inlined, called malloc (gpa took it for another C++ runtime's operator new and
            // said nothing until this sweep: docs/sweeps/cert.md, "Found and fixed").
            optimized(same(
                CXX,
                &["mem51_class_new_global_delete"],
                &[want(
                    "mismatched_free",
                    16,
                    None,
                    ("invalid_free", CXX_MAIN),
                )],
            )),
            optimized(same(
                CXX,
                &["mem51_global_new_class_delete"],
                &[want(
                    "mismatched_free",
                    16,
                    None,
                    ("invalid_free", CXX_MAIN),
                )],
            )),
            // Valgrind: invalid free at main's call, 8 bytes inside a block of 72; definitely
            // lost 72 in 1, indirectly lost 45 in 1.
            optimized(aborting(Case {
                leaks: [(1, 72), (1, 45), NONE, NONE],
                records: 2,
                ..same(
                    CXX,
                    &["mem51_new_array_delete_cookie"],
                    &[want(
                        "invalid_free",
                        72,
                        Some(8),
                        ("invalid_free", CXX_MAIN),
                    )],
                )
            })),
            // Valgrind: invalid free at main's call, a block of 4 free'd.
            optimized(aborting(same(
                CXX,
                &["mem51_copy_double_delete"],
                &[want("double_free", 4, None, ("second_free", CXX_MAIN))],
            ))),
            // Valgrind: invalid free at :142, a block of 4 free'd.
            optimized(aborting(same(
                CXX,
                &["mem56_two_shared_ptrs"],
                &[want("double_free", 4, None, ("second_free", 142))],
            ))),
            // Valgrind: invalid free at main's call, 8 bytes inside a block of 56; definitely
            // lost 56 in 1.
            optimized(aborting(Case {
                leaks: [(1, 56), NONE, NONE, NONE],
                records: 1,
                ..same(
                    CXX,
                    &["exp51_delete_array_base"],
                    &[want(
                        "invalid_free",
                        56,
                        Some(8),
                        ("invalid_free", CXX_MAIN),
                    )],
                )
            })),
            // Valgrind: invalid write of size 8 at :229, 0 bytes inside a block of 16 free'd.
            optimized(split(
                CXX,
                &["ctr51_reference_after_growth"],
                &[want("write_after_free", 16, Some(0), ("free", 228))],
                &[want("write_after_free", 16, Some(0), ("access", 229))],
            )),
            // Valgrind: definitely lost 45 in 1.
            optimized(leaking(
                CXX,
                &["mem53_no_destructor"],
                [(1, 45), NONE, NONE, NONE],
                1,
            )),
            // Valgrind: no error, no leak.
            optimized(clean_case(CXX, &["compliant"])),
            // Valgrind: invalid free at :251, 0 bytes inside a block of 16 free'd: gcc merged the
            // case's `free(p)`, inlined into main, with the compliant solution's `free` (:251),
            // and the call's line is that one, in Valgrind's stack as in gpa's.
            optimized(aborting(same(
                C,
                &["mem30_realloc_zero_then_free"],
                &[want("double_free", 16, None, ("second_free", 251))],
            ))),
            // Valgrind: invalid free at :67 (in realloc), on thread 1's stack.
            optimized(aborting(same(
                C,
                &["mem34_realloc_stack"],
                &[want("invalid_free", 0, None, ("invalid_free", 67))],
            ))),
            // Valgrind: definitely lost 16 in 1.
            optimized(leaking(
                C,
                &["mem31_realloc_failure_leak"],
                [(1, 16), NONE, NONE, NONE],
                1,
            )),
            // Valgrind: no error, no leak.
            optimized(clean_case(C, &["compliant"])),
        ],
    );
}

/// Valgrind itself on a representative few (C++: delete past an array cookie, a class's
/// operator new undone by the global delete, two shared owners, delete[] through a base, an
/// iterator after push_back, a string iterator after insert; C: realloc(p, 0) then free, a
/// stream used after fclose and one closed twice): guard mode's findings are Valgrind's error
/// contexts (what was done, at which line) and its leak totals Valgrind's.
/// (`fio46_double_fclose` is here only: guard mode reports its 24 reads and writes of the
/// freed FILE inside the second fclose and the double free, as Valgrind's 25 contexts; check
/// mode is left out, as in the sweep: it follows the FILE's pointers, read from freed memory,
/// into its fill and dies of SIGSEGV.)
#[test]
fn valgrind_agrees() {
    if !SWEEP.compilers_or_skip() || skip("valgrind", "valgrind") {
        return;
    }
    let dir = scratch("cert-valgrind");
    let programs = SWEEP.compile(&[CXX, C], &dir);
    for (program, file, names) in [
        (
            &programs[0],
            CXX,
            &[
                "mem51_new_array_delete_cookie",
                "mem51_class_new_global_delete",
                "mem56_two_shared_ptrs",
                "exp51_delete_array_base",
                "ctr51_iterator_after_push_back",
                "str52_iterator_after_insert",
            ][..],
        ),
        (
            &programs[1],
            C,
            &[
                "mem30_realloc_zero_then_free",
                "fio46_after_fclose",
                "fio46_double_fclose",
            ][..],
        ),
    ] {
        for name in names {
            let command = [program.to_str().expect("a UTF-8 path"), name];
            // (An error whose stack never reaches the program is left out: Valgrind's unwinder
            // stops in glibc's fclose at one of the second fclose's reads, `iofclose.c:49`;
            // gpa names :176 there, as for the others.)
            let (places, totals) =
                valgrind_places(&dir, &["--show-mismatched-frees=yes"], &command, file);
            let run = gpa_run(&dir, &["--show-leak-kinds=all", "--guard"], &command);
            let shown = format!("{name}: valgrind {places:?} {totals:?}\n{}", run.stderr());
            assert!(!places.is_empty() || totals != [NONE; 4], "{shown}");
            assert_eq!(gpa_places(&run.findings(), file), places, "{shown}");
            assert_eq!(gpa_leak_totals(&run.json), totals, "{shown}");
        }
    }
}
