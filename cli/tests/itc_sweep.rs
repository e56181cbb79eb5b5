//! Toyota InfoTechnology Center's static-analysis benchmark (ITC; the GitHub mirror
//! regehr/itc-benchmarks, commit 7bfb56a), its heap-defect files (`01.w_Defects/`: one planted
//! defect per function; `02.wo_Defects/`: the same functions without it), reduced to programs
//! of our own (`tests/itc_sweep/*`: each names the ITC functions it stands for; an argument
//! selects the defect or the good variant), run natively (glibc 2.36), under Valgrind memcheck
//! 3.19 (`--leak-check=full --show-leak-kinds=all --show-mismatched-frees=yes`, the oracle) and
//! under `gpa run` in check, guard and fast modes (`docs/sweeps/itc.md`, with the whole
//! files' 182 functions measured the same way, each in a program of its own). Each case holds
//! check and guard modes to Valgrind's verdict, written next to it: each finding's kind, block
//! size, offset and program line; the leak totals of each kind and the number of loss records.
//! Every good variant must report nothing. Where gpa cannot see what Valgrind sees by design
//! (check mode does not see a direct read, and sees a direct write past a block at its free;
//! guard mode sees neither a write into a block's alignment slack nor one before a block until
//! the free, without `--guard-flush` or `--guard-underflow`), the comment says so and the case
//! asserts what gpa reports. Tests skip with a message when gcc is missing.

mod common;

use common::sweep::*;

/// The programs: `tests/itc_sweep/`, C; a finding's line is its stack's first frame's.
const SWEEP: Sweep = Sweep {
    folder: "itc_sweep",
    compilers: &["gcc"],
    lines: Lines::FirstFrame,
};

#[test]
fn writes_before_and_past_blocks() {
    SWEEP.sweep(
        "itc-bounds",
        &[
            // dynamic_buffer_underrun_026: a 4-byte write 40 bytes before the program's first
            // block. Valgrind: "Invalid write of size 4" at far (underrun.c:14), "Address ... is
            // in a rwx anonymous segment" (no block: past its 16-byte redzone); the program goes
            // on. gpa names the nearest block, as it does for a wild access near its memory:
            // underflow 40 bytes before the 5-byte block. Check mode: at the access (the write
            // lands on the segment's read-only header guard); guard mode: at the free (:15).
            // Before: check mode recorded the write, went on three times and died of SIGSEGV
            // (a write to a read-only guard page was taken for one to a page opened meanwhile).
            case(
                "underrun.c",
                &[want("underflow", 5, Some(-40), ("access", 14))],
                &[want("underflow", 5, Some(-40), ("detected", 15))],
            ),
            // dynamic_buffer_underrun_001. glibc aborts at the free (the write broke its chunk
            // header). Valgrind: "Invalid write of size 1" at near (:22), "1 bytes before a
            // block of size 5 alloc'd" (:20). gpa: the damaged front redzone at the free (:23),
            // in both modes (guard mode: the block ends against its guard, it does not start
            // against one, without --guard-underflow).
            Case {
                args: &["near"],
                native_aborts: true,
                output: Some("done\n"),
                ..case(
                    "underrun.c",
                    &[want("underflow", 5, Some(-1), ("detected", 23))],
                    &[want("underflow", 5, Some(-1), ("detected", 23))],
                )
            },
            // Within the blocks. Valgrind: no error, all blocks freed.
            Case {
                args: &["good"],
                ..clean("underrun.c")
            },
            // dynamic_buffer_overrun_001: Valgrind, "Invalid write of size 1" at loop
            // (overrun.c:14), "0 bytes after a block of size 5 alloc'd" (:12). gpa: at the free
            // (:15) in both modes (guard mode: the write lands in the block's alignment slack).
            Case {
                args: &["loop"],
                ..case(
                    "overrun.c",
                    &[want("overflow", 5, Some(5), ("detected", 15))],
                    &[want("overflow", 5, Some(5), ("detected", 15))],
                )
            },
            // dynamic_buffer_overrun_009. Natively SIGSEGV (the writes broke glibc's chunk
            // headers). Valgrind: 5 errors from 1 context, "Invalid write of size 4" at words
            // (:25), "4 bytes after a block of size 20 alloc'd" (:22). gpa: one finding at the
            // free loop (:27) seen 5 times, in both modes (the writes land in the blocks'
            // alignment slack).
            Case {
                args: &["words"],
                native_aborts: true,
                output: Some("done\n"),
                ..case(
                    "overrun.c",
                    &[Want {
                        count: Some(5),
                        ..want("overflow", 20, Some(24), ("detected", 27))
                    }],
                    &[Want {
                        count: Some(5),
                        ..want("overflow", 20, Some(24), ("detected", 27))
                    }],
                )
            },
            // Within the blocks. Valgrind: no error, all blocks freed.
            Case {
                args: &["good"],
                ..clean("overrun.c")
            },
        ],
    );
}

#[test]
fn bad_frees_and_uses_after_free() {
    SWEEP.sweep(
        "itc-frees",
        &[
            // double_free_001. glibc aborts ("free(): double free detected in tcache 2").
            // Valgrind: "Invalid free() / delete / delete[] / realloc()" at main (frees.c:19),
            // "0 bytes inside a block of size 1 free'd" (:18), alloc'd at :17. gpa: the same.
            Case {
                native_aborts: true,
                output: Some("done\n"),
                ..case(
                    "frees.c",
                    &[want("double_free", 1, None, ("second_free", 19))],
                    &[want("double_free", 1, None, ("second_free", 19))],
                )
            },
            // free_nondynamic_allocated_memory_003. glibc aborts ("free(): invalid pointer").
            // Valgrind: "Invalid free()" at main (:22), "Address ... is in a r-- mapped file
            // .../frees segment". gpa: an invalid free, no block.
            Case {
                args: &["literal"],
                native_aborts: true,
                output: Some("done\n"),
                ..case(
                    "frees.c",
                    &[want("invalid_free", 0, None, ("invalid_free", 22))],
                    &[want("invalid_free", 0, None, ("invalid_free", 22))],
                )
            },
            // free_nondynamic_allocated_memory_001. glibc aborts. Valgrind: "Invalid free()" at
            // main (:26), "Address ... is on thread 1's stack". gpa: the same.
            Case {
                args: &["stack"],
                native_aborts: true,
                output: Some("done\n"),
                ..case(
                    "frees.c",
                    &[want("invalid_free", 0, None, ("invalid_free", 26))],
                    &[want("invalid_free", 0, None, ("invalid_free", 26))],
                )
            },
            // Each block freed once, and free(NULL). Valgrind: no error, all blocks freed.
            Case {
                args: &["good"],
                ..clean("frees.c")
            },
            // invalid_memory_access_001: Valgrind, "Invalid read of size 4" at main
            // (after_free.c:21), "4 bytes inside a block of size 40 free'd" (:19), alloc'd at
            // :15. Check mode does not see the direct read (by design); guard mode sees it at
            // the access.
            case(
                "after_free.c",
                &[],
                &[want("read_after_free", 40, Some(4), ("access", 21))],
            ),
            // invalid_memory_access_004: Valgrind, 33 errors from 4 contexts, "Invalid read of
            // size 1" inside printf, by main (:28), "0 bytes inside a block of size 25 free'd"
            // (:26), alloc'd at :22 (and at offsets 1, 15 and 13: memcheck's contexts inside
            // glibc are one call). gpa: one finding at the call, in both modes. The output
            // prints freed bytes.
            Case {
                args: &["printf"],
                prints_invalid_bytes: true,
                ..case(
                    "after_free.c",
                    &[want("read_after_free", 25, Some(0), ("access", 28))],
                    &[want("read_after_free", 25, Some(0), ("access", 28))],
                )
            },
            // The reads before the free. Valgrind: no error, all blocks freed.
            Case {
                args: &["good"],
                ..clean("after_free.c")
            },
        ],
    );
}

#[test]
fn leaks_and_failed_allocations() {
    SWEEP.sweep(
        "itc-leaks",
        &[
            // memory_leak_0013: Valgrind, "48 (40 direct, 8 indirect) bytes in 1 blocks are
            // definitely lost" (leaks.c:17), "8 bytes in 1 blocks are indirectly lost" (:18):
            // definitely lost 40 in 1, indirectly lost 8 in 1, 2 loss records. gpa: the same.
            leaks("leaks.c", [(1, 40), (1, 8), NONE, NONE], 2),
            // Every block freed. Valgrind: no error.
            Case {
                args: &["good"],
                ..clean("leaks.c")
            },
            // memory_allocation_failure_013: Valgrind, "Argument 'size' of function malloc has
            // a fishy (possibly negative) value: -1" at main (alloc_fail.c:22); malloc returns
            // NULL, as natively. gpa: a fishy value, and NULL.
            case("alloc_fail.c", &[fishy(22, 1)], &[fishy(22, 1)]),
            // 5 bytes. Valgrind: no error, all blocks freed.
            Case {
                args: &["good"],
                ..clean("alloc_fail.c")
            },
        ],
    );
}
