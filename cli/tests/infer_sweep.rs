//! Facebook Infer's Pulse tests (`infer/tests/codetoanalyze/cpp/pulse/`: `vector.cpp`,
//! `vector_iterator.cpp`, `basic_string.cpp`, `use_after_delete.cpp`, `use_after_destructor.cpp`,
//! `temporaries.cpp`, `leaks.cpp`, `unique_ptr_deref.cpp`, `unique_ptr_deleter.cpp`,
//! `shared_ptr_deleter.cpp`, `placement_new.cpp`, `use_after_free.cpp`,
//! `reference_stability.cpp`, `std_containers.cpp`, `unique_ptr_destructor.cpp`;
//! `infer/tests/codetoanalyze/c/pulse/`: `realloc.c`, `memory_leak.c`), the functions that do
//! something at run time reduced to programs of our own (`tests/infer_sweep/*`: `argv[1]` names
//! one case, one case per run), built with gcc/g++ 12 at -O0 and -O2, run natively (glibc
//! 2.36), under Valgrind memcheck 3.19 (`--leak-check=full --show-leak-kinds=all
//! --show-mismatched-frees=yes`, the oracle) and under `gpa run` in check, guard and fast modes
//! (`docs/sweeps/infer_pulse.md`). Each case holds check and guard modes to Valgrind's verdict,
//! written next to it: each finding's kind, block size, offset and the program line its stack
//! names (the first frame in `tests/infer_sweep/`); the leak totals of each kind and the number
//! of loss records; every mode prints "done" and exits 0 where glibc aborts. Where gpa answers
//! otherwise by design (check mode does not see a direct read and sees a write after free at
//! exit), the comment says so and the case asserts what gpa reports. Check mode is left out
//! where a program follows pointers read from a freed block (three cases: its fill of freed
//! memory crashes them; guard mode keeps the old bytes, as Valgrind). [`valgrind_agrees`] runs
//! Valgrind itself on a few cases. Tests skip with a message when gcc, g++ or (for that one)
//! valgrind is missing.

mod common;

use std::path::Path;

use common::sweep::*;
use common::*;

/// The programs: `tests/infer_sweep/`, C and C++; a finding's line is the first frame's in that
/// folder (an -O2 build's case function may have tail-called `free` or `operator delete`,
/// leaving `main`'s call of the case as the first frame).
const SWEEP: Sweep = Sweep {
    folder: "infer_sweep",
    compilers: &["gcc", "g++"],
    lines: Lines::InFolder,
};

const STDLIB: &str = "stdlib.cpp";
const CONTAINERS: &str = "containers.cpp";
const OWNERS: &str = "owners.cpp";
const REALLOC: &str = "realloc.c";
const O2: &[&str] = &["-O2"];
/// What every run prints where glibc aborts the native one.
const DONE: Option<&str> = Some("done\n");
/// Why check mode is left out of the cases that follow pointers read from a freed block.
const FOLLOWS_FREED: Option<&str> = Some(
    "it follows pointers read from a freed block: check mode's fill of freed memory makes it \
     crash where Valgrind's kept bytes let it run on (docs/sweeps/infer_pulse.md)",
);

/// A read of `shared_close_twice`'s freed 472-byte `FILE` at `offset`, in its second `fclose`.
const fn file_read(offset: i64) -> Want {
    want("read_after_free", 472, Some(offset), ("access", 537))
}

/// A write into `shared_close_twice`'s freed `FILE` at `offset`, in its second `fclose`.
const fn file_write(offset: i64) -> Want {
    want("write_after_free", 472, Some(offset), ("access", 537))
}

/// `shared_close_twice` in guard mode, -O0 and -O2 alike. Valgrind: 30 errors from 25
/// contexts, all in the `shared_ptr`'s `fclose` at :537 of the 472-byte `FILE` the first
/// `fclose` freed (at :536): reads of size 4 or 1 at offset 0 (6 contexts), of size 8 at 136
/// (3), 232, 216, 56, 96, 72 and 80, of size 4 at 112 (2), 192, 224 (2) and 228 (2); writes of
/// size 8 at 232 (2); an invalid free, "0 bytes inside a block of size 472 free'd"; no leak.
/// Guard mode: the same 25, but the four at 224 and 228 are writes: a `lock cmpxchg` and an
/// `addl $1` (the `FILE` lock's word and count), read-modify-write instructions whose fault
/// the CPU reports as a write, where Valgrind names the read.
const SHARED_CLOSE_TWICE: &[Want] = &[
    want("double_free", 472, None, ("second_free", 537)),
    file_read(0),
    file_read(0),
    file_read(0),
    file_read(0),
    file_read(0),
    file_read(0),
    file_read(136),
    file_read(136),
    file_read(136),
    file_read(232),
    file_read(216),
    file_read(56),
    file_read(96),
    file_read(72),
    file_read(80),
    file_read(112),
    file_read(112),
    file_read(192),
    file_write(224),
    file_write(224),
    file_write(228),
    file_write(228),
    file_write(232),
    file_write(232),
];

/// `stdlib.cpp` at -O0: references, pointers and iterators into a `std::vector`'s or a
/// `std::string`'s buffer kept across a call that moves it; objects used after `delete`, after
/// their destructor or after a temporary owner died; owners released or given a deleter that
/// does not delete (leaks). `shared_close_twice` (`fclose` of a `FILE` its `shared_ptr` closes
/// again) runs in guard mode only: glibc follows pointers read from the freed `FILE`, which
/// guard mode keeps as Valgrind does and check mode fills (the page says more).
#[test]
fn cxx_std_uses_after_free() {
    SWEEP.sweep(
        "infer-stdlib",
        &[
            // vector_push_back. Valgrind: invalid read of size 4 at :26, 4 bytes inside a block of
            // size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["vector_push_back"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 8, Some(4), ("access", 26))],
                )
            },
            // vector_at_push_back. Valgrind: invalid read of size 4 at :32, 4 bytes inside a block
            // of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["vector_at_push_back"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 8, Some(4), ("access", 32))],
                )
            },
            // vector_reserve_too_small. Valgrind: invalid read of size 4 at :41, 0 bytes inside a
            // block of size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["vector_reserve_too_small"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 4, Some(0), ("access", 41))],
                )
            },
            // vector_push_back_loop. Valgrind: invalid read of size 4 at :49, 4 bytes inside a
            // block of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["vector_push_back_loop"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 8, Some(4), ("access", 49))],
                )
            },
            // vector_reserve. Valgrind: invalid read of size 4 at :55, 4 bytes inside a block of
            // size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["vector_reserve"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 8, Some(4), ("access", 55))],
                )
            },
            // vector_assign. Valgrind: invalid read of size 4 at :61, 4 bytes inside a block of
            // size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["vector_assign"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 8, Some(4), ("access", 61))],
                )
            },
            // vector_shrink_to_fit. Valgrind: invalid read of size 4 at :70, 4 bytes inside a block
            // of size 32 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["vector_shrink_to_fit"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 32, Some(4), ("access", 70))],
                )
            },
            // vector_insert. Valgrind: invalid read of size 4 at :76, 4 bytes inside a block of
            // size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["vector_insert"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 8, Some(4), ("access", 76))],
                )
            },
            // vector_emplace_back. Valgrind: invalid read of size 4 at :82, 4 bytes inside a block
            // of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["vector_emplace_back"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 8, Some(4), ("access", 82))],
                )
            },
            // vector_resize. Valgrind: invalid read of size 4 at :88, 4 bytes inside a block of
            // size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["vector_resize"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 8, Some(4), ("access", 88))],
                )
            },
            // vector_front_push_back. Valgrind: invalid read of size 4 at :94, 0 bytes inside a
            // block of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["vector_front_push_back"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 8, Some(0), ("access", 94))],
                )
            },
            // vector_data_push_back. Valgrind: invalid read of size 4 at :100, 4 bytes inside a
            // block of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["vector_data_push_back"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 8, Some(4), ("access", 100))],
                )
            },
            // vector_clear_keeps_buffer. Valgrind: no error.
            same(STDLIB, &["vector_clear_keeps_buffer"], &[]),
            // vector_erase_keeps_buffer. Valgrind: no error.
            same(STDLIB, &["vector_erase_keeps_buffer"], &[]),
            // vector_ok. Valgrind: no error.
            same(STDLIB, &["vector_ok"], &[]),
            // iterator_emplace. Valgrind: invalid read of size 4 at :141, 0 bytes inside a block of
            // size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["iterator_emplace"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 8, Some(0), ("access", 141))],
                )
            },
            // iterator_after_push_back_loop. Valgrind: invalid read of size 4 at :152, 0 bytes
            // inside a block of size 8 free'd (2 errors from 1 context, the second at offset 4).
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["iterator_after_push_back_loop"],
                ..case(
                    STDLIB,
                    &[],
                    &[again(
                        2,
                        want("read_after_free", 8, Some(0), ("access", 152)),
                    )],
                )
            },
            // iterator_end_read. Valgrind: invalid read of size 4 at :158, 0 bytes after a block of
            // size 8 alloc'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["iterator_end_read"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("overflow", 8, Some(8), ("access", 158))],
                )
            },
            // iterator_erase_then_push_back. Valgrind: invalid read of size 4 at :165, 0 bytes
            // inside a block of size 12 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["iterator_erase_then_push_back"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 12, Some(0), ("access", 165))],
                )
            },
            // iterator_ok. Valgrind: no error.
            same(STDLIB, &["iterator_ok"], &[]),
            // string_c_str_temporary. Valgrind: invalid read of size 1 at :196, 0 bytes inside a
            // block of size 29 free'd; invalid read of size 1 at :196, 1 bytes inside a block of
            // size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            // gpa checks strlen's argument before the call (both modes): one finding where
            // Valgrind's strlen reads the block a byte at a time (29 errors from 2 contexts).
            same(
                STDLIB,
                &["string_c_str_temporary"],
                &[want("read_after_free", 29, Some(0), ("access", 196))],
            ),
            // string_c_str_after_scope. Valgrind: invalid read of size 1 at :204, 0 bytes inside a
            // block of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["string_c_str_after_scope"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 29, Some(0), ("access", 204))],
                )
            },
            // string_c_str_of_local. Valgrind: invalid read of size 1 at :210, 0 bytes inside a
            // block of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["string_c_str_of_local"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 29, Some(0), ("access", 210))],
                )
            },
            // string_data_append. Valgrind: invalid read of size 1 at :215, 0 bytes inside a block
            // of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["string_data_append"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 29, Some(0), ("access", 215))],
                )
            },
            // string_c_str_push_back. Valgrind: invalid read of size 1 at :221, 0 bytes inside a
            // block of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["string_c_str_push_back"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 29, Some(0), ("access", 221))],
                )
            },
            // string_c_str_assign. Valgrind: invalid read of size 1 at :228, 0 bytes inside a block
            // of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["string_c_str_assign"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 29, Some(0), ("access", 228))],
                )
            },
            // string_c_str_reserve. Valgrind: invalid read of size 1 at :234, 0 bytes inside a
            // block of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["string_c_str_reserve"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 29, Some(0), ("access", 234))],
                )
            },
            // string_begin_append. Valgrind: invalid read of size 1 at :240, 0 bytes inside a block
            // of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["string_begin_append"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 29, Some(0), ("access", 240))],
                )
            },
            // string_begin_after_scope. Valgrind: invalid read of size 1 at :248, 0 bytes inside a
            // block of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["string_begin_after_scope"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 29, Some(0), ("access", 248))],
                )
            },
            // string_subscript_append. Valgrind: invalid read of size 1 at :254, 0 bytes inside a
            // block of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["string_subscript_append"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 29, Some(0), ("access", 254))],
                )
            },
            // string_ok. Valgrind: no error.
            same(STDLIB, &["string_ok"], &[]),
            // deref_deleted. Valgrind: invalid read of size 4 at :294, 0 bytes inside a block of
            // size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["deref_deleted"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 4, Some(0), ("access", 294))],
                )
            },
            // field_of_deleted. Valgrind: invalid write of size 4 at :302, 0 bytes inside a block
            // of size 4 free'd.
            // Check mode sees the write at exit, guard mode at the access.
            Case {
                args: &["field_of_deleted"],
                ..case(
                    STDLIB,
                    &[want("write_after_free", 4, Some(0), ("detected", 0))],
                    &[want("write_after_free", 4, Some(0), ("access", 302))],
                )
            },
            // double_delete. Valgrind: invalid free at :309, 0 bytes inside a block of size 4
            // free'd.
            Case {
                native_aborts: true,
                output: DONE,
                ..same(
                    STDLIB,
                    &["double_delete"],
                    &[want("double_free", 4, None, ("second_free", 309))],
                )
            },
            // delete_in_loop. Valgrind: invalid free at :315, 0 bytes inside a block of size 4
            // free'd (9 errors from 1 context): one block, its 4 bytes, counted 9 times (the
            // findings name their block, and the exit's grouping counts each block once).
            Case {
                native_aborts: true,
                output: DONE,
                ..same(
                    STDLIB,
                    &["delete_in_loop"],
                    &[again(9, want("double_free", 4, None, ("second_free", 315)))],
                )
            },
            // use_in_loop. Valgrind: invalid write of size 4 at :324, 0 bytes inside a block of
            // size 4 free'd (10 errors from 1 context).
            // Check mode sees the write at exit, guard mode at the access.
            Case {
                args: &["use_in_loop"],
                ..case(
                    STDLIB,
                    &[want("write_after_free", 4, Some(0), ("detected", 0))],
                    &[again(
                        10,
                        want("write_after_free", 4, Some(0), ("access", 324)),
                    )],
                )
            },
            // field_pointer_after_delete. Valgrind: invalid write of size 4 at :336, 4 bytes inside
            // a block of size 8 free'd.
            // Check mode sees the write at exit, guard mode at the access.
            Case {
                args: &["field_pointer_after_delete"],
                ..case(
                    STDLIB,
                    &[want("write_after_free", 8, Some(4), ("detected", 0))],
                    &[want("write_after_free", 8, Some(4), ("access", 336))],
                )
            },
            // delete_ok. Valgrind: no error.
            same(STDLIB, &["delete_ok"], &[]),
            // double_destructor. Valgrind: invalid free at :360, 0 bytes inside a block of size 4
            // free'd.
            Case {
                native_aborts: true,
                output: DONE,
                ..same(
                    STDLIB,
                    &["double_destructor"],
                    &[want("double_free", 4, None, ("second_free", 360))],
                )
            },
            // use_after_destructor. Valgrind: invalid read of size 4 at :373, 0 bytes inside a
            // block of size 4 free'd; invalid free at :360, 0 bytes inside a block of size 4
            // free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                native_aborts: true,
                output: DONE,
                ..Case {
                    args: &["use_after_destructor"],
                    ..case(
                        STDLIB,
                        &[want("double_free", 4, None, ("second_free", 360))],
                        &[
                            want("read_after_free", 4, Some(0), ("access", 373)),
                            want("double_free", 4, None, ("second_free", 360)),
                        ],
                    )
                }
            },
            // copy_assign_then_scope. Valgrind: invalid free at :360, 0 bytes inside a block of
            // size 4 free'd; definitely lost 4 in 1.
            Case {
                native_aborts: true,
                output: DONE,
                leaks: [(1, 4), NONE, NONE, NONE],
                records: 1,
                ..same(
                    STDLIB,
                    &["copy_assign_then_scope"],
                    &[want("double_free", 4, None, ("second_free", 360))],
                )
            },
            // placement_new_aliasing. Valgrind: invalid read of size 1 at :390, 0 bytes inside a
            // block of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["placement_new_aliasing"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 8, Some(0), ("access", 390))],
                )
            },
            // destructor_ok. Valgrind: no error.
            same(STDLIB, &["destructor_ok"], &[]),
            // temporary_unique_ptr_get. Valgrind: invalid read of size 4 at :433, 0 bytes inside a
            // block of size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["temporary_unique_ptr_get"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 4, Some(0), ("access", 433))],
                )
            },
            // temporaries_ok. Valgrind: no error.
            same(STDLIB, &["temporaries_ok"], &[]),
            // simple_new. Valgrind: definitely lost 4 in 1.
            Case {
                leaks: [(1, 4), NONE, NONE, NONE],
                records: 1,
                ..same(STDLIB, &["simple_new"], &[])
            },
            // simple_new_array. Valgrind: definitely lost 28 in 1.
            Case {
                leaks: [(1, 28), NONE, NONE, NONE],
                records: 1,
                ..same(STDLIB, &["simple_new_array"], &[])
            },
            // new_array_delete. Valgrind: invalid free at :464, 8 bytes inside a block of size 28
            // alloc'd (the pointer past `new X[5]`'s cookie); definitely lost 28 in 1. Native:
            // SIGSEGV in glibc's free.
            Case {
                native_aborts: true,
                output: DONE,
                leaks: [(1, 28), NONE, NONE, NONE],
                records: 1,
                ..same(
                    STDLIB,
                    &["new_array_delete"],
                    &[want("invalid_free", 28, Some(8), ("invalid_free", 464))],
                )
            },
            // unique_ptr_pointer. Valgrind: definitely lost 8 in 1; indirectly lost 4 in 1.
            Case {
                leaks: [(1, 8), (1, 4), NONE, NONE],
                records: 2,
                ..same(STDLIB, &["unique_ptr_pointer"], &[])
            },
            // unique_ptr_release. Valgrind: definitely lost 16 in 1; indirectly lost 4 in 1.
            Case {
                leaks: [(1, 16), (1, 4), NONE, NONE],
                records: 2,
                ..same(STDLIB, &["unique_ptr_release"], &[])
            },
            // make_unique_release. Valgrind: definitely lost 16 in 1; indirectly lost 4 in 1.
            Case {
                leaks: [(1, 16), (1, 4), NONE, NONE],
                records: 2,
                ..same(STDLIB, &["make_unique_release"], &[])
            },
            // leaky_unique_ptr. Valgrind: definitely lost 16 in 1; indirectly lost 4 in 1.
            Case {
                leaks: [(1, 16), (1, 4), NONE, NONE],
                records: 2,
                ..same(STDLIB, &["leaky_unique_ptr"], &[])
            },
            // leaks_ok. Valgrind: no error.
            same(STDLIB, &["leaks_ok"], &[]),
            // unique_noop_lambda. Valgrind: definitely lost 4 in 1.
            Case {
                leaks: [(1, 4), NONE, NONE, NONE],
                records: 1,
                ..same(STDLIB, &["unique_noop_lambda"], &[])
            },
            // unique_reference_deleter_use. Valgrind: invalid read of size 4 at :516, 0 bytes
            // inside a block of size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["unique_reference_deleter_use"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 4, Some(0), ("access", 516))],
                )
            },
            // unique_delete_deleter_use. Valgrind: invalid read of size 4 at :525, 0 bytes inside a
            // block of size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["unique_delete_deleter_use"],
                ..case(
                    STDLIB,
                    &[],
                    &[want("read_after_free", 4, Some(0), ("access", 525))],
                )
            },
            // unique_file_release. Valgrind: still reachable 472 in 1 (the released `FILE`, still
            // on glibc's list of open files).
            Case {
                leaks: [NONE, NONE, NONE, (1, 472)],
                records: 1,
                ..same(STDLIB, &["unique_file_release"], &[])
            },
            // shared_noop_lambda. Valgrind: definitely lost 4 in 1.
            Case {
                leaks: [(1, 4), NONE, NONE, NONE],
                records: 1,
                ..same(STDLIB, &["shared_noop_lambda"], &[])
            },
            // shared_close_twice. Valgrind: see [`SHARED_CLOSE_TWICE`]; exit 0, "done" (glibc
            // aborts the native run: "free(): double free detected in tcache 2").
            Case {
                native_aborts: true,
                output: DONE,
                check_open: FOLLOWS_FREED,
                args: &["shared_close_twice"],
                ..case(STDLIB, &[], SHARED_CLOSE_TWICE)
            },
            // deleters_ok. Valgrind: no error.
            same(STDLIB, &["deleters_ok"], &[]),
            // placement_storage_deleted. Valgrind: invalid write of size 4 at :580, 0 bytes inside
            // a block of size 4 free'd.
            // Check mode sees the write at exit, guard mode at the access.
            Case {
                args: &["placement_storage_deleted"],
                ..case(
                    STDLIB,
                    &[want("write_after_free", 4, Some(0), ("detected", 0))],
                    &[want("write_after_free", 4, Some(0), ("access", 580))],
                )
            },
            // placement_ok. Valgrind: no error.
            same(STDLIB, &["placement_ok"], &[]),
        ],
    );
}

/// `stdlib.cpp` at -O2 (`shared_close_twice` in guard mode only, as at -O0): the same uses after free
/// through the optimizer's inlining of the C++ library, where a case function's tail call
/// leaves `main` (:664) as the first frame in the folder.
#[test]
fn cxx_std_uses_after_free_o2() {
    SWEEP.sweep(
        "infer-stdlib-o2",
        &[
            // vector_push_back. Valgrind: invalid read of size 4 at :26, 4 bytes inside a block of
            // size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["vector_push_back"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 8, Some(4), ("access", 26))],
                    )
                }
            },
            // vector_at_push_back. Valgrind: invalid read of size 4 at :32, 4 bytes inside a block
            // of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["vector_at_push_back"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 8, Some(4), ("access", 32))],
                    )
                }
            },
            // vector_reserve_too_small. Valgrind: invalid read of size 4 at :41, 0 bytes inside a
            // block of size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["vector_reserve_too_small"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 4, Some(0), ("access", 41))],
                    )
                }
            },
            // vector_push_back_loop. Valgrind: invalid read of size 4 at :49, 4 bytes inside a
            // block of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["vector_push_back_loop"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 8, Some(4), ("access", 49))],
                    )
                }
            },
            // vector_reserve. Valgrind: invalid read of size 4 at :55, 4 bytes inside a block of
            // size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["vector_reserve"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 8, Some(4), ("access", 55))],
                    )
                }
            },
            // vector_assign. Valgrind: invalid read of size 4 at :61, 4 bytes inside a block of
            // size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["vector_assign"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 8, Some(4), ("access", 61))],
                    )
                }
            },
            // vector_shrink_to_fit. Valgrind: invalid read of size 4 at :70, 4 bytes inside a block
            // of size 32 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["vector_shrink_to_fit"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 32, Some(4), ("access", 70))],
                    )
                }
            },
            // vector_insert. Valgrind: invalid read of size 4 at :76, 4 bytes inside a block of
            // size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["vector_insert"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 8, Some(4), ("access", 76))],
                    )
                }
            },
            // vector_emplace_back. Valgrind: invalid read of size 4 at :82, 4 bytes inside a block
            // of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["vector_emplace_back"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 8, Some(4), ("access", 82))],
                    )
                }
            },
            // vector_resize. Valgrind: invalid read of size 4 at :88, 4 bytes inside a block of
            // size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["vector_resize"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 8, Some(4), ("access", 88))],
                    )
                }
            },
            // vector_front_push_back. Valgrind: invalid read of size 4 at :94, 0 bytes inside a
            // block of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["vector_front_push_back"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 8, Some(0), ("access", 94))],
                    )
                }
            },
            // vector_data_push_back. Valgrind: invalid read of size 4 at :26, 4 bytes inside a
            // block of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["vector_data_push_back"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 8, Some(4), ("access", 26))],
                    )
                }
            },
            // vector_clear_keeps_buffer. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["vector_clear_keeps_buffer"], &[])
            },
            // vector_erase_keeps_buffer. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["vector_erase_keeps_buffer"], &[])
            },
            // vector_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["vector_ok"], &[])
            },
            // iterator_emplace. Valgrind: invalid read of size 4 at :141, 0 bytes inside a block of
            // size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["iterator_emplace"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 8, Some(0), ("access", 141))],
                    )
                }
            },
            // iterator_after_push_back_loop. Valgrind: invalid read of size 4 at :152, 0 bytes
            // inside a block of size 8 free'd; invalid read of size 4 at :152, 4 bytes inside a
            // block of size 8 free'd.
            // Check mode does not see the direct read; guard mode does (two reads unrolled).
            Case {
                flags: O2,
                ..Case {
                    args: &["iterator_after_push_back_loop"],
                    ..case(
                        STDLIB,
                        &[],
                        &[
                            want("read_after_free", 8, Some(0), ("access", 152)),
                            want("read_after_free", 8, Some(4), ("access", 152)),
                        ],
                    )
                }
            },
            // iterator_end_read. Valgrind: invalid read of size 4 at :158, 0 bytes after a block of
            // size 8 alloc'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["iterator_end_read"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("overflow", 8, Some(8), ("access", 158))],
                    )
                }
            },
            // iterator_erase_then_push_back. Valgrind: invalid read of size 4 at :166, 0 bytes
            // inside a block of size 12 free'd.
            // Check mode does not see the direct read; guard mode does, at :165: the load
            // (`mov (%r12),%eax`) is at 0x6045, which the line table gives to :165; Valgrind names
            // 0x6093, the `jmp 0x6045` after `_M_realloc_insert` (its inlined `~vector`: :166).
            Case {
                flags: O2,
                ..Case {
                    args: &["iterator_erase_then_push_back"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 12, Some(0), ("access", 165))],
                    )
                }
            },
            // iterator_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["iterator_ok"], &[])
            },
            // string_c_str_temporary. Valgrind: invalid read of size 1 at :196, 0 bytes inside a
            // block of size 29 free'd; invalid read of size 1 at :196, 1 bytes inside a block of
            // size 29 free'd (29 errors from 2 contexts).
            // gpa checks strlen's argument before the call (both modes): one finding.
            Case {
                flags: O2,
                ..same(
                    STDLIB,
                    &["string_c_str_temporary"],
                    &[want("read_after_free", 29, Some(0), ("access", 196))],
                )
            },
            // string_c_str_after_scope. Valgrind: invalid read of size 1 at :204, 0 bytes inside a
            // block of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["string_c_str_after_scope"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 29, Some(0), ("access", 204))],
                    )
                }
            },
            // string_c_str_of_local. Valgrind: invalid read of size 1 at :210, 0 bytes inside a
            // block of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["string_c_str_of_local"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 29, Some(0), ("access", 210))],
                    )
                }
            },
            // string_data_append. Valgrind: invalid read of size 1 at :215, 0 bytes inside a block
            // of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["string_data_append"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 29, Some(0), ("access", 215))],
                    )
                }
            },
            // string_c_str_push_back. Valgrind: invalid read of size 1 at :221, 0 bytes inside a
            // block of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["string_c_str_push_back"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 29, Some(0), ("access", 221))],
                    )
                }
            },
            // string_c_str_assign. Valgrind: invalid read of size 1 at :228, 0 bytes inside a block
            // of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["string_c_str_assign"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 29, Some(0), ("access", 228))],
                    )
                }
            },
            // string_c_str_reserve. Valgrind: invalid read of size 1 at :234, 0 bytes inside a
            // block of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["string_c_str_reserve"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 29, Some(0), ("access", 234))],
                    )
                }
            },
            // string_begin_append. Valgrind: invalid read of size 1 at :215, 0 bytes inside a block
            // of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["string_begin_append"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 29, Some(0), ("access", 215))],
                    )
                }
            },
            // string_begin_after_scope. Valgrind: invalid read of size 1 at :242, 0 bytes inside a
            // block of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["string_begin_after_scope"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 29, Some(0), ("access", 242))],
                    )
                }
            },
            // string_subscript_append. Valgrind: invalid read of size 1 at :215, 0 bytes inside a
            // block of size 29 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["string_subscript_append"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 29, Some(0), ("access", 215))],
                    )
                }
            },
            // string_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["string_ok"], &[])
            },
            // deref_deleted. Valgrind: invalid read of size 4 at :294, 0 bytes inside a block of
            // size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["deref_deleted"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 4, Some(0), ("access", 294))],
                    )
                }
            },
            // field_of_deleted. Valgrind: invalid write of size 4 at :302, 0 bytes inside a block
            // of size 4 free'd.
            // Check mode sees the write at exit, guard mode at the access.
            Case {
                flags: O2,
                ..Case {
                    args: &["field_of_deleted"],
                    ..case(
                        STDLIB,
                        &[want("write_after_free", 4, Some(0), ("detected", 0))],
                        &[want("write_after_free", 4, Some(0), ("access", 302))],
                    )
                }
            },
            // double_delete. Valgrind: invalid free at :664, 0 bytes inside a block of size 4
            // free'd.
            Case {
                flags: O2,
                native_aborts: true,
                output: DONE,
                ..same(
                    STDLIB,
                    &["double_delete"],
                    &[want("double_free", 4, None, ("second_free", 664))],
                )
            },
            // delete_in_loop. Valgrind: invalid free at :315, 0 bytes inside a block of size 4
            // free'd (9 errors from 1 context); gpa: see the -O0 case.
            Case {
                flags: O2,
                native_aborts: true,
                output: DONE,
                ..same(
                    STDLIB,
                    &["delete_in_loop"],
                    &[again(9, want("double_free", 4, None, ("second_free", 315)))],
                )
            },
            // use_in_loop. Valgrind: invalid write of size 4 at :324, 0 bytes inside a block of
            // size 4 free'd; invalid write of size 4 at :322, 0 bytes inside a block of size 4
            // free'd (10 errors from 2 contexts).
            // Check mode sees the write at exit, guard mode at the access: all ten at :324, the
            // store (`mov %edx,(%rbx)` at 0x3a18, the loop's only store); Valgrind names 0x3a20
            // (the loop's `jne`, :322) for all but one.
            Case {
                flags: O2,
                ..Case {
                    args: &["use_in_loop"],
                    ..case(
                        STDLIB,
                        &[want("write_after_free", 4, Some(0), ("detected", 0))],
                        &[again(
                            10,
                            want("write_after_free", 4, Some(0), ("access", 324)),
                        )],
                    )
                }
            },
            // field_pointer_after_delete. Valgrind: invalid write of size 4 at :336, 4 bytes inside
            // a block of size 8 free'd.
            // Check mode sees the write at exit, guard mode at the access.
            Case {
                flags: O2,
                ..Case {
                    args: &["field_pointer_after_delete"],
                    ..case(
                        STDLIB,
                        &[want("write_after_free", 8, Some(4), ("detected", 0))],
                        &[want("write_after_free", 8, Some(4), ("access", 336))],
                    )
                }
            },
            // delete_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["delete_ok"], &[])
            },
            // double_destructor. Valgrind: conditional jump or move depends on uninitialised
            // value(s) at :360 and at :664; invalid free at :664, in a rw- mapped file
            // /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 segment (-O2 frees whatever the
            // destroyed object's stack slot holds).
            // gpa does not track definedness: the invalid free alone.
            Case {
                flags: O2,
                native_aborts: true,
                output: DONE,
                ..same(
                    STDLIB,
                    &["double_destructor"],
                    &[want("invalid_free", 0, None, ("invalid_free", 664))],
                )
            },
            // use_after_destructor. Valgrind: use of uninitialised value of size 8 at :373;
            // invalid read of size 4 at :373, not stack'd, malloc'd or (recently) free'd; killed by
            // SIGSEGV; still reachable 72704 in 1 (the C++ library's emergency pool at the
            // signal). -O2 reads through an uninitialized pointer: native, Valgrind and every gpa
            // mode die of SIGSEGV there. gpa does not track definedness and sees no block.
            Case {
                flags: O2,
                ends_by_signal: Some(11),
                leaks: [NONE, NONE, NONE, (1, 72704)],
                records: 1,
                ..same(STDLIB, &["use_after_destructor"], &[])
            },
            // copy_assign_then_scope. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["copy_assign_then_scope"], &[])
            },
            // placement_new_aliasing. Valgrind: invalid read of size 1 at :390, 0 bytes inside a
            // block of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["placement_new_aliasing"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 8, Some(0), ("access", 390))],
                    )
                }
            },
            // destructor_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["destructor_ok"], &[])
            },
            // temporary_unique_ptr_get. Valgrind: invalid read of size 4 at :433, 0 bytes inside a
            // block of size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["temporary_unique_ptr_get"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 4, Some(0), ("access", 433))],
                    )
                }
            },
            // temporaries_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["temporaries_ok"], &[])
            },
            // simple_new. Valgrind: definitely lost 4 in 1.
            Case {
                flags: O2,
                leaks: [(1, 4), NONE, NONE, NONE],
                records: 1,
                ..same(STDLIB, &["simple_new"], &[])
            },
            // simple_new_array. Valgrind: definitely lost 28 in 1.
            Case {
                flags: O2,
                leaks: [(1, 28), NONE, NONE, NONE],
                records: 1,
                ..same(STDLIB, &["simple_new_array"], &[])
            },
            // new_array_delete. Valgrind: invalid free at :664, 8 bytes inside a block of size 28
            // alloc'd (the pointer past `new X[5]`'s cookie); definitely lost 28 in 1. Native:
            // SIGSEGV in glibc's free.
            Case {
                flags: O2,
                native_aborts: true,
                output: DONE,
                leaks: [(1, 28), NONE, NONE, NONE],
                records: 1,
                ..same(
                    STDLIB,
                    &["new_array_delete"],
                    &[want("invalid_free", 28, Some(8), ("invalid_free", 664))],
                )
            },
            // unique_ptr_pointer. Valgrind: definitely lost 8 in 1; indirectly lost 4 in 1.
            Case {
                flags: O2,
                leaks: [(1, 8), (1, 4), NONE, NONE],
                records: 2,
                ..same(STDLIB, &["unique_ptr_pointer"], &[])
            },
            // unique_ptr_release. Valgrind: definitely lost 16 in 1; indirectly lost 4 in 1.
            Case {
                flags: O2,
                leaks: [(1, 16), (1, 4), NONE, NONE],
                records: 2,
                ..same(STDLIB, &["unique_ptr_release"], &[])
            },
            // make_unique_release. Valgrind: definitely lost 16 in 1; indirectly lost 4 in 1.
            Case {
                flags: O2,
                leaks: [(1, 16), (1, 4), NONE, NONE],
                records: 2,
                ..same(STDLIB, &["make_unique_release"], &[])
            },
            // leaky_unique_ptr. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["leaky_unique_ptr"], &[])
            },
            // leaks_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["leaks_ok"], &[])
            },
            // unique_noop_lambda. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["unique_noop_lambda"], &[])
            },
            // unique_reference_deleter_use. Valgrind: invalid read of size 4 at :516, 0 bytes
            // inside a block of size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["unique_reference_deleter_use"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 4, Some(0), ("access", 516))],
                    )
                }
            },
            // unique_delete_deleter_use. Valgrind: invalid read of size 4 at :525, 0 bytes inside a
            // block of size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["unique_delete_deleter_use"],
                    ..case(
                        STDLIB,
                        &[],
                        &[want("read_after_free", 4, Some(0), ("access", 525))],
                    )
                }
            },
            // unique_file_release. Valgrind: still reachable 472 in 1 (the released `FILE`, still
            // on glibc's list of open files).
            Case {
                flags: O2,
                leaks: [NONE, NONE, NONE, (1, 472)],
                records: 1,
                ..same(STDLIB, &["unique_file_release"], &[])
            },
            // shared_noop_lambda. Valgrind: definitely lost 4 in 1.
            Case {
                flags: O2,
                leaks: [(1, 4), NONE, NONE, NONE],
                records: 1,
                ..same(STDLIB, &["shared_noop_lambda"], &[])
            },
            // shared_close_twice. Valgrind: as at -O0.
            Case {
                flags: O2,
                args: &["shared_close_twice"],
                native_aborts: true,
                output: DONE,
                check_open: FOLLOWS_FREED,
                ..case(STDLIB, &[], SHARED_CLOSE_TWICE)
            },
            // deleters_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["deleters_ok"], &[])
            },
            // placement_storage_deleted. Valgrind: invalid write of size 4 at :580, 0 bytes inside
            // a block of size 4 free'd.
            // Check mode sees the write at exit, guard mode at the access.
            Case {
                flags: O2,
                ..Case {
                    args: &["placement_storage_deleted"],
                    ..case(
                        STDLIB,
                        &[want("write_after_free", 4, Some(0), ("detected", 0))],
                        &[want("write_after_free", 4, Some(0), ("access", 580))],
                    )
                }
            },
            // placement_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(STDLIB, &["placement_ok"], &[])
            },
        ],
    );
}

/// `containers.cpp` at -O0 and -O2: iterators and references to the nodes of `std::list`,
/// `std::set`, `std::multiset`, `std::unordered_set` and `std::map` kept across `erase` or
/// `clear`; objects used after their `unique_ptr` died; members overwritten (leaks).
/// `map_erase_in_loop` and `unordered_map_erase_in_loop` (`++it` after `erase(it)`) run in
/// guard mode only: the increment follows links read from the freed node, which Valgrind and
/// guard mode keep as they were and check mode fills (the page says more).
#[test]
fn cxx_containers() {
    SWEEP.sweep(
        "infer-containers",
        &[
            // list_erase. Valgrind: invalid read of size 4 at :23, 16 bytes inside a block of size
            // 24 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["list_erase"],
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 24, Some(16), ("access", 23))],
                )
            },
            // set_erase. Valgrind: invalid read of size 4 at :29, 32 bytes inside a block of size
            // 40 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["set_erase"],
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 40, Some(32), ("access", 29))],
                )
            },
            // multiset_erase. Valgrind: invalid read of size 4 at :35, 32 bytes inside a block of
            // size 40 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["multiset_erase"],
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 40, Some(32), ("access", 35))],
                )
            },
            // unordered_set_erase. Valgrind: invalid read of size 4 at :41, 8 bytes inside a block
            // of size 16 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["unordered_set_erase"],
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 16, Some(8), ("access", 41))],
                )
            },
            // map_erase_copy. Valgrind: invalid read of size 4 at :48, 36 bytes inside a block of
            // size 40 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["map_erase_copy"],
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 40, Some(36), ("access", 48))],
                )
            },
            // map_erase_in_loop. Valgrind: invalid reads of size 8 at :52, 24 and 8 bytes inside
            // a block of size 40 free'd (at :54); exit 0, "done". The native run dies of SIGSEGV.
            Case {
                args: &["map_erase_in_loop"],
                native_aborts: true,
                output: DONE,
                check_open: FOLLOWS_FREED,
                fast_open: Some("it dies of SIGSEGV, as the native run"),
                ..case(
                    CONTAINERS,
                    &[],
                    &[
                        want("read_after_free", 40, Some(24), ("access", 52)),
                        want("read_after_free", 40, Some(8), ("access", 52)),
                    ],
                )
            },
            // unordered_map_erase_in_loop. Valgrind: invalid read of size 8 at :58, 0 bytes inside
            // a block of size 16 free'd (at :60); exit 0, "done". The native run dies of SIGSEGV.
            Case {
                args: &["unordered_map_erase_in_loop"],
                native_aborts: true,
                output: DONE,
                check_open: FOLLOWS_FREED,
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 16, Some(0), ("access", 58))],
                )
            },
            // map_erase_reference. Valgrind: invalid read of size 4 at :67, 36 bytes inside a block
            // of size 40 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["map_erase_reference"],
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 40, Some(36), ("access", 67))],
                )
            },
            // map_clear_reference. Valgrind: invalid read of size 4 at :73, 36 bytes inside a block
            // of size 40 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["map_clear_reference"],
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 40, Some(36), ("access", 73))],
                )
            },
            // list_clear_iterator. Valgrind: invalid read of size 4 at :79, 16 bytes inside a block
            // of size 24 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["list_clear_iterator"],
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 24, Some(16), ("access", 79))],
                )
            },
            // list_clear_reference. Valgrind: invalid read of size 4 at :86, 16 bytes inside a
            // block of size 24 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["list_clear_reference"],
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 24, Some(16), ("access", 86))],
                )
            },
            // call_deref_after_erase. Valgrind: invalid read of size 4 at :88, 16 bytes inside a
            // block of size 24 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["call_deref_after_erase"],
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 24, Some(16), ("access", 88))],
                )
            },
            // containers_ok. Valgrind: no error.
            same(CONTAINERS, &["containers_ok"], &[]),
            // heap_owner_deleted. Valgrind: invalid read of size 4 at :151, 0 bytes inside a block
            // of size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["heap_owner_deleted"],
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 4, Some(0), ("access", 151))],
                )
            },
            // owner_scope_ended. Valgrind: invalid read of size 4 at :156, 0 bytes inside a block
            // of size 16 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["owner_scope_ended"],
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 16, Some(0), ("access", 156))],
                )
            },
            // member_overwritten. Valgrind: definitely lost 16 in 1; indirectly lost 4 in 1.
            Case {
                leaks: [(1, 16), (1, 4), NONE, NONE],
                records: 2,
                ..same(CONTAINERS, &["member_overwritten"], &[])
            },
            // member_overwritten_reset. Valgrind: definitely lost 16 in 1; indirectly lost 4 in 1.
            Case {
                leaks: [(1, 16), (1, 4), NONE, NONE],
                records: 2,
                ..same(CONTAINERS, &["member_overwritten_reset"], &[])
            },
            // owners_ok. Valgrind: no error.
            same(CONTAINERS, &["owners_ok"], &[]),
            // list_erase. Valgrind: invalid read of size 4 at :23, 16 bytes inside a block of size
            // 24 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["list_erase"],
                    ..case(
                        CONTAINERS,
                        &[],
                        &[want("read_after_free", 24, Some(16), ("access", 23))],
                    )
                }
            },
            // set_erase. Valgrind: invalid read of size 4 at :29, 32 bytes inside a block of size
            // 40 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["set_erase"],
                    ..case(
                        CONTAINERS,
                        &[],
                        &[want("read_after_free", 40, Some(32), ("access", 29))],
                    )
                }
            },
            // multiset_erase. Valgrind: invalid read of size 4 at :35, 32 bytes inside a block of
            // size 40 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["multiset_erase"],
                    ..case(
                        CONTAINERS,
                        &[],
                        &[want("read_after_free", 40, Some(32), ("access", 35))],
                    )
                }
            },
            // unordered_set_erase. Valgrind: invalid read of size 4 at :41, 8 bytes inside a block
            // of size 16 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["unordered_set_erase"],
                    ..case(
                        CONTAINERS,
                        &[],
                        &[want("read_after_free", 16, Some(8), ("access", 41))],
                    )
                }
            },
            // map_erase_copy. Valgrind: invalid read of size 4 at :48, 36 bytes inside a block of
            // size 40 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["map_erase_copy"],
                    ..case(
                        CONTAINERS,
                        &[],
                        &[want("read_after_free", 40, Some(36), ("access", 48))],
                    )
                }
            },
            // map_erase_in_loop. Valgrind: invalid reads of size 8 at :52, 24 and 8 bytes inside
            // a block of size 40 free'd (at :54); exit 0, "done". The native run dies of SIGSEGV.
            Case {
                flags: O2,
                args: &["map_erase_in_loop"],
                native_aborts: true,
                output: DONE,
                check_open: FOLLOWS_FREED,
                fast_open: Some("it dies of SIGSEGV, as the native run"),
                ..case(
                    CONTAINERS,
                    &[],
                    &[
                        want("read_after_free", 40, Some(24), ("access", 52)),
                        want("read_after_free", 40, Some(8), ("access", 52)),
                    ],
                )
            },
            // unordered_map_erase_in_loop. Valgrind: invalid read of size 8 at :58, 0 bytes inside
            // a block of size 16 free'd (at :60); exit 0, "done". The native run dies of SIGSEGV.
            Case {
                flags: O2,
                args: &["unordered_map_erase_in_loop"],
                native_aborts: true,
                output: DONE,
                check_open: FOLLOWS_FREED,
                ..case(
                    CONTAINERS,
                    &[],
                    &[want("read_after_free", 16, Some(0), ("access", 58))],
                )
            },
            // map_erase_reference. Valgrind: invalid read of size 4 at :67, 36 bytes inside a block
            // of size 40 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["map_erase_reference"],
                    ..case(
                        CONTAINERS,
                        &[],
                        &[want("read_after_free", 40, Some(36), ("access", 67))],
                    )
                }
            },
            // map_clear_reference. Valgrind: invalid read of size 4 at :73, 36 bytes inside a block
            // of size 40 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["map_clear_reference"],
                    ..case(
                        CONTAINERS,
                        &[],
                        &[want("read_after_free", 40, Some(36), ("access", 73))],
                    )
                }
            },
            // list_clear_iterator. Valgrind: invalid read of size 4 at :79, 16 bytes inside a block
            // of size 24 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["list_clear_iterator"],
                    ..case(
                        CONTAINERS,
                        &[],
                        &[want("read_after_free", 24, Some(16), ("access", 79))],
                    )
                }
            },
            // list_clear_reference. Valgrind: invalid read of size 4 at :79, 16 bytes inside a
            // block of size 24 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["list_clear_reference"],
                    ..case(
                        CONTAINERS,
                        &[],
                        &[want("read_after_free", 24, Some(16), ("access", 79))],
                    )
                }
            },
            // call_deref_after_erase. Valgrind: invalid read of size 4 at :88, 16 bytes inside a
            // block of size 24 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["call_deref_after_erase"],
                    ..case(
                        CONTAINERS,
                        &[],
                        &[want("read_after_free", 24, Some(16), ("access", 88))],
                    )
                }
            },
            // containers_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(CONTAINERS, &["containers_ok"], &[])
            },
            // heap_owner_deleted. Valgrind: invalid read of size 4 at :151, 0 bytes inside a block
            // of size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["heap_owner_deleted"],
                    ..case(
                        CONTAINERS,
                        &[],
                        &[want("read_after_free", 4, Some(0), ("access", 151))],
                    )
                }
            },
            // owner_scope_ended. Valgrind: invalid read of size 4 at :156, 0 bytes inside a block
            // of size 16 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["owner_scope_ended"],
                    ..case(
                        CONTAINERS,
                        &[],
                        &[want("read_after_free", 16, Some(0), ("access", 156))],
                    )
                }
            },
            // member_overwritten. Valgrind: no error.
            Case {
                flags: O2,
                ..same(CONTAINERS, &["member_overwritten"], &[])
            },
            // member_overwritten_reset. Valgrind: no error.
            Case {
                flags: O2,
                ..same(CONTAINERS, &["member_overwritten_reset"], &[])
            },
            // owners_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(CONTAINERS, &["owners_ok"], &[])
            },
        ],
    );
}

/// `owners.cpp` at -O0 and -O2: smart pointers given a block of the other family (C++
/// mismatches), a map's node used after `clear`/`erase`, a global pointer freed twice.
#[test]
fn cxx_owners_and_mismatches() {
    SWEEP.sweep(
        "infer-owners",
        &[
            // double_free_global. Valgrind: invalid free at :20, 0 bytes inside a block of size 4
            // free'd.
            Case {
                native_aborts: true,
                output: DONE,
                ..same(
                    OWNERS,
                    &["double_free_global"],
                    &[want("double_free", 4, None, ("second_free", 20))],
                )
            },
            // use_after_free_param. Valgrind: invalid read of size 4 at :30, 0 bytes inside a block
            // of size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["use_after_free_param"],
                ..case(
                    OWNERS,
                    &[],
                    &[want("read_after_free", 4, Some(0), ("access", 30))],
                )
            },
            // unordered_map_rehash_ok. Valgrind: no error.
            same(OWNERS, &["unordered_map_rehash_ok"], &[]),
            // unordered_map_clear. Valgrind: invalid read of size 4 at :48, 12 bytes inside a block
            // of size 16 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["unordered_map_clear"],
                ..case(
                    OWNERS,
                    &[],
                    &[want("read_after_free", 16, Some(12), ("access", 48))],
                )
            },
            // map_erase. Valgrind: invalid read of size 4 at :54, 36 bytes inside a block of size
            // 40 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["map_erase"],
                ..case(
                    OWNERS,
                    &[],
                    &[want("read_after_free", 40, Some(36), ("access", 54))],
                )
            },
            // shared_ptr_of_new_array. Valgrind: mismatched free at :61, 0 bytes inside a block of
            // size 16 alloc'd.
            same(
                OWNERS,
                &["shared_ptr_of_new_array"],
                &[want("mismatched_free", 16, None, ("invalid_free", 61))],
            ),
            // unique_ptr_of_new_array. Valgrind: mismatched free at :65, 0 bytes inside a block of
            // size 16 alloc'd.
            same(
                OWNERS,
                &["unique_ptr_of_new_array"],
                &[want("mismatched_free", 16, None, ("invalid_free", 65))],
            ),
            // unique_array_of_new. Valgrind: mismatched free at :69, 0 bytes inside a block of size
            // 4 alloc'd.
            same(
                OWNERS,
                &["unique_array_of_new"],
                &[want("mismatched_free", 4, None, ("invalid_free", 69))],
            ),
            // unique_ptr_of_malloc. Valgrind: mismatched free at :73, 0 bytes inside a block of
            // size 4 alloc'd.
            same(
                OWNERS,
                &["unique_ptr_of_malloc"],
                &[want("mismatched_free", 4, None, ("invalid_free", 73))],
            ),
            // shared_array_of_malloc. Valgrind: mismatched free at :77, 0 bytes inside a block of
            // size 16 alloc'd.
            same(
                OWNERS,
                &["shared_array_of_malloc"],
                &[want("mismatched_free", 16, None, ("invalid_free", 77))],
            ),
            // placement_new_delete_array. Valgrind: mismatched free at :87, 0 bytes inside a block
            // of size 8 alloc'd.
            same(
                OWNERS,
                &["placement_new_delete_array"],
                &[want("mismatched_free", 8, None, ("invalid_free", 87))],
            ),
            // owners_ok. Valgrind: no error.
            same(OWNERS, &["owners_ok"], &[]),
            // double_free_global. Valgrind: invalid free at :124, 0 bytes inside a block of size 4
            // free'd.
            Case {
                flags: O2,
                native_aborts: true,
                output: DONE,
                ..same(
                    OWNERS,
                    &["double_free_global"],
                    &[want("double_free", 4, None, ("second_free", 124))],
                )
            },
            // use_after_free_param. Valgrind: invalid read of size 4 at :30, 0 bytes inside a block
            // of size 4 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["use_after_free_param"],
                    ..case(
                        OWNERS,
                        &[],
                        &[want("read_after_free", 4, Some(0), ("access", 30))],
                    )
                }
            },
            // unordered_map_rehash_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(OWNERS, &["unordered_map_rehash_ok"], &[])
            },
            // unordered_map_clear. Valgrind: invalid read of size 4 at :48, 12 bytes inside a block
            // of size 16 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["unordered_map_clear"],
                    ..case(
                        OWNERS,
                        &[],
                        &[want("read_after_free", 16, Some(12), ("access", 48))],
                    )
                }
            },
            // map_erase. Valgrind: invalid read of size 4 at :54, 36 bytes inside a block of size
            // 40 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["map_erase"],
                    ..case(
                        OWNERS,
                        &[],
                        &[want("read_after_free", 40, Some(36), ("access", 54))],
                    )
                }
            },
            // shared_ptr_of_new_array. Valgrind: mismatched free at :61, 0 bytes inside a block of
            // size 16 alloc'd.
            Case {
                flags: O2,
                ..same(
                    OWNERS,
                    &["shared_ptr_of_new_array"],
                    &[want("mismatched_free", 16, None, ("invalid_free", 61))],
                )
            },
            // unique_ptr_of_new_array. Valgrind: mismatched free at :124, 0 bytes inside a block of
            // size 16 alloc'd.
            Case {
                flags: O2,
                ..same(
                    OWNERS,
                    &["unique_ptr_of_new_array"],
                    &[want("mismatched_free", 16, None, ("invalid_free", 124))],
                )
            },
            // unique_array_of_new. Valgrind: mismatched free at :124, 0 bytes inside a block of
            // size 4 alloc'd.
            Case {
                flags: O2,
                ..same(
                    OWNERS,
                    &["unique_array_of_new"],
                    &[want("mismatched_free", 4, None, ("invalid_free", 124))],
                )
            },
            // unique_ptr_of_malloc. Valgrind: mismatched free at :124, 0 bytes inside a block of
            // size 4 alloc'd.
            Case {
                flags: O2,
                ..same(
                    OWNERS,
                    &["unique_ptr_of_malloc"],
                    &[want("mismatched_free", 4, None, ("invalid_free", 124))],
                )
            },
            // shared_array_of_malloc. Valgrind: mismatched free at :77, 0 bytes inside a block of
            // size 16 alloc'd.
            Case {
                flags: O2,
                ..same(
                    OWNERS,
                    &["shared_array_of_malloc"],
                    &[want("mismatched_free", 16, None, ("invalid_free", 77))],
                )
            },
            // placement_new_delete_array. Valgrind: mismatched free at :124, 0 bytes inside a block
            // of size 8 alloc'd.
            Case {
                flags: O2,
                ..same(
                    OWNERS,
                    &["placement_new_delete_array"],
                    &[want("mismatched_free", 8, None, ("invalid_free", 124))],
                )
            },
            // owners_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(OWNERS, &["owners_ok"], &[])
            },
        ],
    );
}

/// `realloc.c` at -O0 and -O2: the original block used or freed after a successful `realloc`,
/// `realloc(p, 0)` (glibc frees `p` and returns NULL), leaks.
#[test]
fn c_realloc() {
    SWEEP.sweep(
        "infer-realloc",
        &[
            // use_original_after_realloc. Valgrind: invalid write of size 4 at :15, 0 bytes inside
            // a block of size 4 free'd.
            // Check mode sees the write at exit, guard mode at the access.
            Case {
                args: &["use_original_after_realloc"],
                ..case(
                    REALLOC,
                    &[want("write_after_free", 4, Some(0), ("detected", 0))],
                    &[want("write_after_free", 4, Some(0), ("access", 15))],
                )
            },
            // free_original_after_realloc. Valgrind: invalid free at :23, 0 bytes inside a block of
            // size 4 free'd.
            Case {
                native_aborts: true,
                output: DONE,
                ..same(
                    REALLOC,
                    &["free_original_after_realloc"],
                    &[want("double_free", 4, None, ("second_free", 23))],
                )
            },
            // realloc_after_free. Valgrind: invalid free at :29, 0 bytes inside a block of size 4
            // free'd.
            Case {
                native_aborts: true,
                output: DONE,
                ..same(
                    REALLOC,
                    &["realloc_after_free"],
                    &[want("double_free", 4, None, ("second_free", 29))],
                )
            },
            // realloc_of_null_leak. Valgrind: definitely lost 4 in 1.
            Case {
                leaks: [(1, 4), NONE, NONE, NONE],
                records: 1,
                ..same(REALLOC, &["realloc_of_null_leak"], &[])
            },
            // grow_int_buffer_use_original. Valgrind: invalid write of size 4 at :48, 0 bytes
            // inside a block of size 4 free'd.
            // Check mode sees the write at exit, guard mode at the access.
            Case {
                args: &["grow_int_buffer_use_original"],
                ..case(
                    REALLOC,
                    &[want("write_after_free", 4, Some(0), ("detected", 0))],
                    &[want("write_after_free", 4, Some(0), ("access", 48))],
                )
            },
            // realloc_moved_use_original. Valgrind: invalid write of size 1 at :57, 0 bytes inside
            // a block of size 16 free'd.
            // Check mode sees the write at exit, guard mode at the access.
            Case {
                args: &["realloc_moved_use_original"],
                ..case(
                    REALLOC,
                    &[want("write_after_free", 16, Some(0), ("detected", 0))],
                    &[want("write_after_free", 16, Some(0), ("access", 57))],
                )
            },
            // realloc_moved_field_use_original. Valgrind: invalid read of size 4 at :70, 0 bytes
            // inside a block of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                args: &["realloc_moved_field_use_original"],
                ..case(
                    REALLOC,
                    &[],
                    &[want("read_after_free", 8, Some(0), ("access", 70))],
                )
            },
            // realloc_zero_size_double_free. Valgrind: invalid free at :79, 0 bytes inside a block
            // of size 4 free'd (`realloc(p, 0)` freed it and returned NULL, as glibc's).
            Case {
                native_aborts: true,
                output: DONE,
                ..same(
                    REALLOC,
                    &["realloc_zero_size_double_free"],
                    &[want("double_free", 4, None, ("second_free", 79))],
                )
            },
            // realloc_zero_size. Valgrind: no error.
            same(REALLOC, &["realloc_zero_size"], &[]),
            // malloc_no_free. Valgrind: definitely lost 8 in 1.
            Case {
                leaks: [(1, 8), NONE, NONE, NONE],
                records: 1,
                ..same(REALLOC, &["malloc_no_free"], &[])
            },
            // malloc_interproc_no_free. Valgrind: definitely lost 8 in 1.
            Case {
                leaks: [(1, 8), NONE, NONE, NONE],
                records: 1,
                ..same(REALLOC, &["malloc_interproc_no_free"], &[])
            },
            // realloc_ok. Valgrind: no error.
            same(REALLOC, &["realloc_ok"], &[]),
            // use_original_after_realloc. Valgrind: invalid write of size 4 at :15, 0 bytes inside
            // a block of size 4 free'd.
            // Check mode sees the write at exit, guard mode at the access.
            Case {
                flags: O2,
                ..Case {
                    args: &["use_original_after_realloc"],
                    ..case(
                        REALLOC,
                        &[want("write_after_free", 4, Some(0), ("detected", 0))],
                        &[want("write_after_free", 4, Some(0), ("access", 15))],
                    )
                }
            },
            // free_original_after_realloc. Valgrind: invalid free at :166, 0 bytes inside a block
            // of size 4 free'd.
            Case {
                flags: O2,
                native_aborts: true,
                output: DONE,
                ..same(
                    REALLOC,
                    &["free_original_after_realloc"],
                    &[want("double_free", 4, None, ("second_free", 166))],
                )
            },
            // realloc_after_free. Valgrind: invalid free at :29, 0 bytes inside a block of size 4
            // free'd.
            Case {
                flags: O2,
                native_aborts: true,
                output: DONE,
                ..same(
                    REALLOC,
                    &["realloc_after_free"],
                    &[want("double_free", 4, None, ("second_free", 29))],
                )
            },
            // realloc_of_null_leak. Valgrind: definitely lost 4 in 1.
            Case {
                flags: O2,
                leaks: [(1, 4), NONE, NONE, NONE],
                records: 1,
                ..same(REALLOC, &["realloc_of_null_leak"], &[])
            },
            // grow_int_buffer_use_original. Valgrind: invalid write of size 4 at :48, 0 bytes
            // inside a block of size 4 free'd.
            // Check mode sees the write at exit, guard mode at the access.
            Case {
                flags: O2,
                ..Case {
                    args: &["grow_int_buffer_use_original"],
                    ..case(
                        REALLOC,
                        &[want("write_after_free", 4, Some(0), ("detected", 0))],
                        &[want("write_after_free", 4, Some(0), ("access", 48))],
                    )
                }
            },
            // realloc_moved_use_original. Valgrind: invalid write of size 1 at :57, 0 bytes inside
            // a block of size 16 free'd.
            // Check mode sees the write at exit, guard mode at the access.
            Case {
                flags: O2,
                ..Case {
                    args: &["realloc_moved_use_original"],
                    ..case(
                        REALLOC,
                        &[want("write_after_free", 16, Some(0), ("detected", 0))],
                        &[want("write_after_free", 16, Some(0), ("access", 57))],
                    )
                }
            },
            // realloc_moved_field_use_original. Valgrind: invalid read of size 4 at :70, 0 bytes
            // inside a block of size 8 free'd.
            // Check mode does not see the direct read; guard mode does.
            Case {
                flags: O2,
                ..Case {
                    args: &["realloc_moved_field_use_original"],
                    ..case(
                        REALLOC,
                        &[],
                        &[want("read_after_free", 8, Some(0), ("access", 70))],
                    )
                }
            },
            // realloc_zero_size_double_free. Valgrind: invalid free at :166, 0 bytes inside a block
            // of size 4 free'd.
            Case {
                flags: O2,
                native_aborts: true,
                output: DONE,
                ..same(
                    REALLOC,
                    &["realloc_zero_size_double_free"],
                    &[want("double_free", 4, None, ("second_free", 166))],
                )
            },
            // realloc_zero_size. Valgrind: no error.
            Case {
                flags: O2,
                ..same(REALLOC, &["realloc_zero_size"], &[])
            },
            // malloc_no_free. Valgrind: definitely lost 8 in 1.
            Case {
                flags: O2,
                leaks: [(1, 8), NONE, NONE, NONE],
                records: 1,
                ..same(REALLOC, &["malloc_no_free"], &[])
            },
            // malloc_interproc_no_free. Valgrind: definitely lost 8 in 1.
            Case {
                flags: O2,
                leaks: [(1, 8), NONE, NONE, NONE],
                records: 1,
                ..same(REALLOC, &["malloc_interproc_no_free"], &[])
            },
            // realloc_ok. Valgrind: no error.
            Case {
                flags: O2,
                ..same(REALLOC, &["realloc_ok"], &[])
            },
        ],
    );
}

/// Valgrind's first error on `command` (run in `dir`) as (gpa's kind, block size, the first
/// line of `file` in its stack), or `None` without an error, and its leak totals.
fn valgrind_verdict(
    dir: &Path,
    file: &str,
    command: &[&str],
) -> (Option<(String, u64, u64)>, LeakTotals) {
    let text = valgrind_log(dir, &["--show-mismatched-frees=yes"], command);
    let lines = log_lines(&text);
    let totals = valgrind_leak_totals(&text);
    let Some(start) = lines.iter().position(|line| {
        [
            "Invalid read",
            "Invalid write",
            "Invalid free",
            "Mismatched free",
        ]
        .iter()
        .any(|head| line.starts_with(head))
    }) else {
        return (None, totals);
    };
    // The error's lines: up to the blank line that ends it.
    let error = &lines[start..start + lines[start..].iter().position(|l| l.is_empty()).unwrap()];
    let freed = error.iter().any(|line| line.ends_with("free'd"));
    let kind = match (error[0].split(" of size").next().unwrap_or(""), freed) {
        ("Invalid read", true) => "read_after_free",
        ("Invalid write", true) => "write_after_free",
        (head, true) if head.starts_with("Invalid free") => "double_free",
        (head, _) if head.starts_with("Mismatched free") => "mismatched_free",
        (head, _) => panic!("not compared: {head}\n{text}"),
    };
    let marker = format!("({file}:");
    let line = error
        .iter()
        .find_map(|line| number_after(line, &marker))
        .unwrap_or_else(|| panic!("a frame in {file}:\n{text}"));
    let size = error
        .iter()
        .find_map(|line| number_after(line, "a block of size "))
        .expect("a block");
    (Some((kind.to_owned(), size, line)), totals)
}

/// Valgrind itself on six cases (a vector's and a string's buffer read after they grew, an
/// object deleted twice, an owner released (leaks), a `shared_ptr` that deletes an array,
/// the original block written after `realloc`): gpa's guard-mode finding has Valgrind's
/// kind, block size and line, and the same leak totals.
#[test]
fn valgrind_agrees() {
    if !SWEEP.compilers_or_skip() || skip("valgrind", "valgrind") {
        return;
    }
    let dir = scratch("infer-valgrind");
    let programs = SWEEP.compile(&[STDLIB, OWNERS, REALLOC], &dir);
    for (program, file, name) in [
        (0, STDLIB, "vector_push_back"),
        (0, STDLIB, "string_c_str_push_back"),
        (0, STDLIB, "double_delete"),
        (0, STDLIB, "unique_ptr_release"),
        (1, OWNERS, "shared_ptr_of_new_array"),
        (2, REALLOC, "use_original_after_realloc"),
    ] {
        let command = [programs[program].to_str().expect("a UTF-8 path"), name];
        let (error, totals) = valgrind_verdict(&dir, file, &command);
        let run = gpa_run(&dir, &["--show-leak-kinds=all", "--guard"], &command);
        let findings: Vec<_> = run
            .findings()
            .into_iter()
            .filter(|finding| finding["kind"] != "leak")
            .collect();
        let shown = format!("{name}: valgrind {error:?}\n{}", run.stderr());
        assert_eq!(findings.len(), usize::from(error.is_some()), "{shown}");
        if let Some(error) = error {
            let stack = match error.0.as_str() {
                "double_free" => "second_free",
                "mismatched_free" => "invalid_free",
                _ => "access",
            };
            let frame = findings[0]["stacks"][stack]
                .as_array()
                .and_then(|frames| {
                    frames.iter().find(|frame| {
                        frame["file"]
                            .as_str()
                            .is_some_and(|path| path.ends_with(file))
                    })
                })
                .and_then(|frame| frame["line"].as_u64());
            let ours = (
                findings[0]["kind"].as_str().unwrap_or("").to_owned(),
                findings[0]["size"].as_u64().unwrap_or(0),
                frame.unwrap_or(0),
            );
            assert_eq!(ours, error, "{shown}");
        }
        assert_eq!(gpa_leak_totals(&run.json), totals, "{shown}");
    }
}
