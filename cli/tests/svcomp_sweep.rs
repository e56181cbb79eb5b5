//! SV-COMP's memory-safety verification tasks (sosy-lab/sv-benchmarks: `c/memsafety*/`,
//! `c/forester-heap/`, `c/list-ext*-properties/`, `c/heap-data/`, `c/ldv-memsafety/`,
//! `c/array-memsafety/`), reduced to one program of our own
//! (`tests/svcomp_sweep/shapes.c`, an argument per variant, each naming the upstream files it
//! stands for), run natively (glibc 2.36), under Valgrind memcheck 3.19 and under `gpa run` in
//! check, guard and fast modes (`docs/sweeps/svcomp.md`). The tasks build and tear down
//! doubly linked, circular and Linux-style (`list_head`) lists, trees with parent pointers
//! and skip lists, with interior and tagged pointers, and free them badly: these are the
//! shapes where the leak verdict (definitely, indirectly, possibly lost, still reachable)
//! depends on how interior pointers and cycles are classified, and on which frames are live
//! when the program returns from `main` or aborts. Each case holds check and
//! guard modes to Valgrind's verdict, written next to it (`valgrind --leak-check=full
//! --show-leak-kinds=all --show-mismatched-frees=yes ./shapes VARIANT`, the program built as
//! the test builds it: `gcc -O0 -g -pthread -w`): the kind of each finding, the block's size,
//! the access's offset, the program line memcheck's first frame in `shapes.c` names and how
//! many times a context was seen; the leak totals of each kind and the number of loss
//! records. Where gpa cannot see what Valgrind sees (check mode does not see a plain read
//! of freed memory; freed blocks' bytes are gpa's fill, or zeros in guard mode, where
//! Valgrind leaves them as they were), the comment says so and the case asserts what gpa
//! reports. Fast mode prints what the native run printed. Tests skip with a message when gcc
//! is missing.

mod common;

use common::sweep::*;
use common::LeakTotals;

/// The program: `tests/svcomp_sweep/shapes.c`; a finding's line is its stack's first frame in
/// that file (memcheck's `by ... main (shapes.c:N)`).
const SWEEP: Sweep = Sweep {
    folder: "svcomp_sweep",
    compilers: &["gcc"],
    lines: Lines::InFolder,
};

/// A variant of `shapes.c` with its leak totals ((blocks, bytes) definitely, indirectly,
/// possibly lost, still reachable) and loss records, no other finding.
const fn leaked<'a>(args: &'a [&'a str], leaks: LeakTotals, records: usize) -> Case<'a> {
    Case {
        args,
        ..common::sweep::leaks("shapes.c", leaks, records)
    }
}

/// A variant whose native run glibc ends (an abort or a crash in `free`): every gpa mode goes
/// on and prints "done", as the program does under Valgrind.
const fn bad_free<'a>(args: &'a [&'a str], check: &'a [Want], guard: &'a [Want]) -> Case<'a> {
    Case {
        args,
        native_aborts: true,
        output: Some("done\n"),
        ..case("shapes.c", check, guard)
    }
}

#[test]
fn lists_left_behind() {
    SWEEP.sweep(
        "svcomp-lists",
        &[
            // dll_dropped. Valgrind: 120 (24 direct, 96 indirect) bytes in 1 blocks definitely
            // lost (the clique leader), 96 bytes in 4 blocks indirectly lost; 2 loss records.
            leaked(&["dll_dropped"], [(1, 24), (4, 96), NONE, NONE], 2),
            // dll_half_freed. Valgrind: definitely lost 24 in 1, indirectly 48 in 2; 2 records.
            leaked(&["dll_half_freed"], [(1, 24), (2, 48), NONE, NONE], 2),
            // csll_interior. Valgrind: possibly lost 64 bytes in 4 blocks (the first node by
            // the interior pointer, the rest of the cycle reached from a possibly lost block
            // stay possibly lost); 2 records (shapes.c:87, :89).
            leaked(&["csll_interior"], [NONE, NONE, (4, 64), NONE], 2),
            // list_head. Valgrind: possibly lost 72 bytes in 3 blocks (every link points 8
            // bytes into its item); 1 record.
            leaked(&["list_head"], [NONE, NONE, (3, 72), NONE], 1),
            // list_head_dropped: the same cycle with no pointer from outside. Valgrind: 72 (24
            // direct, 48 indirect) bytes in 1 blocks definitely lost (interior pointers count
            // within a clique), indirectly lost 48 in 2; 2 records.
            leaked(&["list_head_dropped"], [(1, 24), (2, 48), NONE, NONE], 2),
            // possible_chain. Valgrind: possibly lost 72 bytes in 3 blocks (a start pointer
            // from a possibly lost block does not make its target definite or reachable);
            // 1 record.
            leaked(&["possible_chain"], [NONE, NONE, (3, 72), NONE], 1),
            // tagged. Valgrind: possibly lost 48 bytes in 3 blocks (a pointer with its low bit
            // set is an interior pointer), 3 records (one malloc line, three call sites).
            leaked(&["tagged"], [NONE, NONE, (3, 48), NONE], 3),
            // shared_data. Valgrind: definitely lost 24 bytes in 1 block (an int copy of a
            // pointer's low half is not a pointer); 1 record.
            leaked(&["shared_data"], [(1, 24), NONE, NONE, NONE], 1),
            // freed_holder. Valgrind: definitely lost 16 in 1 (a freed block is not scanned);
            // 1 record.
            leaked(&["freed_holder"], [(1, 16), NONE, NONE, NONE], 1),
            // end_pointer. Valgrind: definitely lost 32 in 1 (a pointer one past the end is not
            // in the block); 1 record.
            leaked(&["end_pointer"], [(1, 32), NONE, NONE, NONE], 1),
            // packed. Valgrind: definitely lost 40 in 1 (the pointer at offset 3 of a packed
            // global is not an aligned word), still reachable 48 in 1; 2 records.
            leaked(&["packed"], [(1, 40), NONE, NONE, (1, 48)], 2),
            // length64. Valgrind: still reachable 64 in 1, "of which reachable via heuristic:
            // length64"; 1 record.
            leaked(&["length64"], [NONE, NONE, NONE, (1, 64)], 1),
            // main_local. Valgrind: 64 (16 direct, 48 indirect) bytes in 1 blocks definitely
            // lost, indirectly lost 48 in 3 (main's local is no root once main has returned);
            // 2 records (shapes.c:264).
            leaked(&["main_local"], [(1, 16), (3, 48), NONE, NONE], 2),
            // low_half. Valgrind: still reachable 32 bytes in 1 block (:305): its heap lies
            // below 4 GiB, so the low half of an address with a zero high half beside it is the
            // whole address. Natively and under gpa the heap lies above 4 GiB and the word is
            // no pointer: definitely lost 32 in 1 (gpa's verdict, asserted here; Valgrind's
            // comes from its own heap placement, docs/sweeps/svcomp.md); 1 record.
            leaked(&["low_half"], [(1, 32), NONE, NONE, NONE], 1),
            // crash_register. The program ends by SIGSEGV (a store to address 0) in every run.
            // Valgrind: "Invalid write of size 4" at main (:312), "Address 0x0 is not stack'd,
            // malloc'd or (recently) free'd" (no heap finding); "Process terminating with
            // default action of signal 11 (SIGSEGV)"; definitely lost 24 bytes in 1 block
            // (memcheck's leak check at a fatal signal runs once the threads are gone: no
            // register is a root); 1 record. gpa takes the registers from the signal context
            // as roots (blocks in flight in a register stay held, `fatal_signals.rs`
            // `sigterm_at_random_moments_to_threads_that_allocate`): still reachable 24 in 1,
            // asserted here, by design (docs/sweeps/svcomp.md: Valgrind scans the registers
            // at `exit`, not at a fatal signal; `fatal_signals.rs` holds both sides).
            Case {
                ends_by_signal: Some(11),
                ..leaked(&["crash_register"], [NONE, NONE, NONE, (1, 24)], 1)
            },
            // abort_held. The program aborts (SIGABRT) in every run. Valgrind: "Process
            // terminating with default action of signal 6 (SIGABRT)" at main (:275); still
            // reachable 72 bytes in 3 blocks (main's frame is live at the abort); 1 record
            // (dll_build, :37).
            Case {
                ends_by_signal: Some(6),
                ..leaked(&["abort_held"], [NONE, NONE, NONE, (3, 72)], 1)
            },
        ],
    );
}

#[test]
fn trees_skip_lists_and_arrays() {
    SWEEP.sweep(
        "svcomp-trees",
        &[
            // tree_dropped. Valgrind: 224 (32 direct, 192 indirect) bytes in 1 blocks
            // definitely lost, indirectly lost 192 in 6; 7 loss records (the recursive
            // builder gives each node its own stack).
            leaked(&["tree_dropped"], [(1, 32), (6, 192), NONE, NONE], 7),
            // tree_subtree. Valgrind: definitely lost 64 in 2 (each subtree's root: a parent
            // pointer into the freed root does not reach them), indirectly lost 128 in 4; 6
            // records.
            leaked(&["tree_subtree"], [(2, 64), (4, 128), NONE, NONE], 6),
            // skiplist. Valgrind: 144 (24 direct, 120 indirect) bytes in 1 blocks definitely
            // lost (the head), indirectly lost 120 in 5; 2 records.
            leaked(&["skiplist"], [(1, 24), (5, 120), NONE, NONE], 2),
            // realloc_array. Valgrind: 128 (64 direct, 64 indirect) bytes in 1 blocks
            // definitely lost (the realloc'd array, shapes.c:148), indirectly lost 64 in 4 (the
            // nodes, :145); 2 records.
            leaked(&["realloc_array"], [(1, 64), (4, 64), NONE, NONE], 2),
        ],
    );
}

#[test]
fn bad_frees_and_freed_reads() {
    SWEEP.sweep(
        "svcomp-frees",
        &[
            // uaf_data. Valgrind, 3 errors from 1 context: "Invalid read of size 4" at main
            // (shapes.c:183), "8 bytes inside a block of size 16 free'd" (:182), alloc'd at
            // :174; all blocks freed. Check mode does not see a plain read (by design); guard
            // mode sees the three at the access, one finding seen 3 times.
            Case {
                args: &["uaf_data"],
                ..case(
                    "shapes.c",
                    &[],
                    &[Want {
                        count: Some(3),
                        ..want("read_after_free", 16, Some(8), ("access", 183))
                    }],
                )
            },
            // double_free. glibc aborts ("free(): double free detected in tcache 2").
            // Valgrind: "Invalid free() / delete / delete[] / realloc()" at main (:236), "0
            // bytes inside a block of size 16 free'd" (:233); no leak.
            bad_free(
                &["double_free"],
                &[want("double_free", 16, None, ("second_free", 236))],
                &[want("double_free", 16, None, ("second_free", 236))],
            ),
            // alloca_free. glibc crashes (SIGSEGV in free). Valgrind: "Invalid free()" at main
            // (:251), "Address ... is on thread 1's stack". gpa: an invalid free of no block.
            bad_free(
                &["alloca_free"],
                &[want("invalid_free", 0, None, ("invalid_free", 251))],
                &[want("invalid_free", 0, None, ("invalid_free", 251))],
            ),
            // interior_free. glibc aborts ("free(): invalid pointer"). Valgrind: "Invalid
            // free()" at main (:256), "4 bytes inside a block of size 256 alloc'd" (:254); 256
            // bytes in 1 blocks definitely lost; 1 record.
            Case {
                leaks: [(1, 256), NONE, NONE, NONE],
                records: 1,
                ..bad_free(
                    &["interior_free"],
                    &[want("invalid_free", 256, Some(4), ("invalid_free", 256))],
                    &[want("invalid_free", 256, Some(4), ("invalid_free", 256))],
                )
            },
            // atexit_refree. glibc crashes (SIGSEGV: the pointer read from the freed holder is
            // tcache's mangled link). Valgrind, 3 errors from 3 contexts: "Invalid read of size
            // 8" at release_cell (:30), "0 bytes inside a block of size 8 free'd" (:246);
            // "Invalid free()" at release_cell (:30), "0 bytes inside a block of size 4
            // free'd" (:245): the pointer read is the freed cell's, Valgrind leaving freed
            // bytes as they were; "Invalid free()" at release_holder (:24), the holder freed
            // at :246. gpa sees the holder's double free in both modes. Check mode does not
            // see the read, and what it reads is gpa's fill of freed memory: the cell's second
            // free is an invalid free of 0xaaaaaaaaaaaaaaaa (no block) at :30. Guard mode
            // sees the read at :30 and, since stop 49, reads the freed holder's bytes as
            // Valgrind does (a freed block's contents are kept): Valgrind's three errors, the
            // cell's second free at :30 among them (before, it read zeros and freed NULL).
            Case {
                fast_open: Some(
                    "the holder's second free in release_holder frees the block fast mode \
                     reused for stdout's buffer (no quarantine): the program prints 5 zero \
                     bytes where glibc crashes and prints nothing",
                ),
                ..bad_free(
                    &["atexit_refree"],
                    &[
                        want("invalid_free", 0, None, ("invalid_free", 30)),
                        want("double_free", 8, None, ("second_free", 24)),
                    ],
                    &[
                        want("read_after_free", 8, Some(0), ("access", 30)),
                        want("double_free", 4, None, ("second_free", 30)),
                        want("double_free", 8, None, ("second_free", 24)),
                    ],
                )
            },
            // wild_free. glibc crashes (SIGSEGV in free). Valgrind: "Invalid free()" at main
            // (:279), "Address 0x27 is not stack'd, malloc'd or (recently) free'd". gpa: an
            // invalid free of no block; fast mode reports it and goes on.
            Case {
                fast_reports: Some("invalid free of 0x27"),
                ..bad_free(
                    &["wild_free"],
                    &[want("invalid_free", 0, None, ("invalid_free", 279))],
                    &[want("invalid_free", 0, None, ("invalid_free", 279))],
                )
            },
            // freed_compare. glibc hands the freed chunk back for the second request, so the
            // program frees it twice and glibc aborts ("free(): double free detected in tcache
            // 2"). Valgrind: no error, all blocks freed (a freed block is not reused at once);
            // so check and guard modes (quarantine, guarded slots). Fast mode reuses the slot
            // as glibc does: it reports the double free and goes on.
            Case {
                fast_reports: Some("double free of"),
                ..bad_free(&["freed_compare"], &[], &[])
            },
            // string_step. Valgrind: "Invalid read of size 1" at main (:297), "0 bytes after a
            // block of size 16 alloc'd" (:293); all blocks freed. Check mode does not see a
            // plain read (by design); guard mode sees it at the access (the block's end is
            // against its guard page).
            Case {
                args: &["string_step"],
                ..case(
                    "shapes.c",
                    &[],
                    &[want("overflow", 16, Some(16), ("access", 297))],
                )
            },
        ],
    );
}
