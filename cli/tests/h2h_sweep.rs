//! shellphish/how2heap's heap-exploitation programs (`glibc_2.36/`, the folder for the glibc
//! these tests run on), reduced to programs of our own (`tests/h2h_sweep/*.c`: each names the
//! upstream files it follows) that keep each technique's invalid operations (the bad writes,
//! frees and reads, with their sizes and offsets) and drop the checks of glibc's layout. Run
//! natively (glibc 2.36), under Valgrind memcheck 3.19 (`valgrind --leak-check=full
//! --show-leak-kinds=all --show-mismatched-frees=yes PROGRAM [ARG]`, by hand: its verdicts are
//! written next to each case) and under `gpa run` in check, guard and fast modes
//! (`docs/sweeps/how2heap.md`). Check and guard modes are held to Valgrind's verdict (each
//! finding's kind, block size, offset, the program line its stack names, how many times it was
//! seen; the leak totals of each kind and the number of loss records) where gpa can see what
//! Valgrind sees (check mode sees writes outside a block at its free or at exit, not at the
//! access, and no reads; a comment says so); every mode exits 0 and prints what the native run
//! printed, or, where glibc aborts on the corruption, goes on and exits 0 (the heap intact).
//! Tests skip with a message when gcc is missing.

mod common;

use common::sweep::*;

/// Fast mode's report of a forged free-list link (`GeneralPurposeAllocator::checked_link`).
const FORGED_LINK: &str = "was modified: its free-list link was overwritten";

/// The programs: `tests/h2h_sweep/`, C (`-O0 -g -pthread -w`, as upstream's Makefile but for
/// the warnings); a finding's line is its stack's first frame's (0: the stack is absent).
const SWEEP: Sweep = Sweep {
    folder: "h2h_sweep",
    compilers: &["gcc"],
    lines: Lines::FirstFrame,
};

#[test]
fn double_and_invalid_frees() {
    SWEEP.sweep(
        "h2h-frees",
        &[
            // fastbin_dup.c, fastbin_dup_into_stack.c: a, b, a. Valgrind: "Invalid free()" at
            // main (fastbin_dup.c:26), "0 bytes inside a block of size 8 free'd" (:24);
            // still reachable 40 bytes in 5 blocks, 5 loss records.
            Case {
                leaks: [NONE, NONE, NONE, (5, 40)],
                records: 5,
                ..case(
                    "fastbin_dup.c",
                    &[want("double_free", 8, None, ("second_free", 26))],
                    &[want("double_free", 8, None, ("second_free", 26))],
                )
            },
            // 9 frees of its size between (tcache_dup_many.c). glibc aborts ("free(): double
            // free detected in tcache 2"). Valgrind: "Invalid free()" (:23), "0 bytes inside
            // a block of size 32 free'd" (:20).
            Case {
                native_aborts: true,
                ..case(
                    "tcache_dup_many.c",
                    &[want("double_free", 32, None, ("second_free", 23))],
                    &[want("double_free", 32, None, ("second_free", 23))],
                )
            },
            // 2,400 frees of 128 bytes between ("far"). Valgrind: as above, "a block of size
            // 128 free'd" (:20). Check mode: the block's page was given back once its slots
            // left the quarantine (256 KiB); the ring of released pages' blocks still names
            // it (branch `freedpage`; before, "invalid free ... not allocated by this
            // allocator"; more kinds in freed_pages.rs).
            Case {
                args: &["far"],
                native_aborts: true,
                ..case(
                    "tcache_dup_many.c",
                    &[want("double_free", 128, None, ("second_free", 23))],
                    &[want("double_free", 128, None, ("second_free", 23))],
                )
            },
            // house_of_botcake.c: a freed, a malloc of its size, a freed again. Valgrind:
            // "Invalid free()" (:23), "0 bytes inside a block of size 256 free'd" (:20);
            // definitely lost 784 bytes in 2 blocks (:22 and :24), 2 loss records.
            Case {
                leaks: [(2, 784), NONE, NONE, NONE],
                records: 2,
                ..case(
                    "house_of_botcake.c",
                    &[want("double_free", 256, None, ("second_free", 23))],
                    &[want("double_free", 256, None, ("second_free", 23))],
                )
            },
            // house_of_spirit.c, tcache_house_of_spirit.c. Valgrind, 3 errors: "Invalid
            // free()" at :20 ("on thread 1's stack"), :24 ("16 bytes inside data symbol
            // global_chunk"), :29 ("32784 bytes inside data symbol big_global"). gpa before:
            // the first two; the fake chunk in anonymous .bss pages passed for a block of
            // libc's own malloc and went to libc's free silently (fixed: libc holds nothing).
            case("house_of_spirit.c", &SPIRIT, &SPIRIT),
            // mmap_overlapping_chunks.c's kind: a fake mmapped chunk in a page of the
            // program's. Valgrind: "Invalid free()" (:19), "in a rw- anonymous segment". gpa
            // before: nothing (handed to libc's free, which munmapped the page); fixed.
            case(
                "mmap_fake_chunk.c",
                &[want("invalid_free", 0, None, ("invalid_free", 19))],
                &[want("invalid_free", 0, None, ("invalid_free", 19))],
            ),
            // house_of_mind_fastbin.c, fastbin_reverse_into_tcache.c's kind: free of a chunk
            // forged 16 bytes into a 64-byte block. Valgrind: "Invalid free()" (:24), "16
            // bytes inside a block of size 64 alloc'd" (:14).
            case(
                "interior_free.c",
                &[want("invalid_free", 64, Some(16), ("invalid_free", 24))],
                &[want("invalid_free", 64, Some(16), ("invalid_free", 24))],
            ),
            // The same by realloc. glibc aborts ("realloc(): invalid next size"). Valgrind:
            // "Invalid free() / delete / delete[] / realloc()" (:19), the same block.
            Case {
                args: &["realloc"],
                native_aborts: true,
                ..case(
                    "interior_free.c",
                    &[want("invalid_free", 64, Some(16), ("invalid_free", 19))],
                    &[want("invalid_free", 64, Some(16), ("invalid_free", 19))],
                )
            },
        ],
    );
}

/// house_of_spirit.c's three fake chunks: stack (:20), global (:24), anonymous .bss (:29).
const SPIRIT: [Want; 3] = [
    want("invalid_free", 0, None, ("invalid_free", 20)),
    want("invalid_free", 0, None, ("invalid_free", 24)),
    want("invalid_free", 0, None, ("invalid_free", 29)),
];

#[test]
fn writes_outside_blocks() {
    SWEEP.sweep(
        "h2h-writes",
        &[
            // overlapping_chunks.c: 8 bytes before a 1,272-byte block. Valgrind: "Invalid
            // write of size 8" (:17), "8 bytes before a block of size 1,272 alloc'd" (:14);
            // still reachable 1,640 bytes in 3 blocks, 3 records. Check and guard modes: the
            // underflow at the free (:18).
            Case {
                leaks: [NONE, NONE, NONE, (3, 1640)],
                records: 3,
                ..case(
                    "overlapping_chunks.c",
                    &[want("underflow", 1272, Some(-8), ("detected", 18))],
                    &[want("underflow", 1272, Some(-8), ("detected", 18))],
                )
            },
            // poison_null_byte.c. Valgrind: "Invalid write of size 1" at :21, :22, :23, "0
            // bytes after a block of size" 256, 1,264 and 40; still reachable 1,312 bytes in
            // 4 blocks, 4 records. Check mode: the 256 and 40 at their frees (:24, :25), the
            // 1,264 never freed at exit (no stack); guard mode: 256 and 1,264 at the write
            // (the end of the block against its guard page), 40 at its free (its 8 bytes of
            // alignment slack).
            Case {
                leaks: [NONE, NONE, NONE, (4, 1312)],
                records: 4,
                ..case(
                    "poison_null_byte.c",
                    &[
                        want("overflow", 256, Some(256), ("detected", 24)),
                        want("overflow", 40, Some(40), ("detected", 25)),
                        want("overflow", 1264, Some(1264), ("detected", 0)),
                    ],
                    &[
                        want("overflow", 256, Some(256), ("access", 21)),
                        want("overflow", 1264, Some(1264), ("access", 22)),
                        want("overflow", 40, Some(40), ("detected", 25)),
                    ],
                )
            },
            // unsafe_unlink.c, house_of_einherjar.c: 16 and 8 bytes before a 1,056-byte
            // block. glibc aborts ("corrupted size vs. prev_size while consolidating").
            // Valgrind: "Invalid write of size 8" (:19) "16 bytes before a block of size
            // 1,056", "Invalid read of size 8" and "Invalid write of size 8" (:20) "8 bytes
            // before"; still reachable 1,056 in 1. gpa: one underflow, its first damaged
            // byte 16 before, at the free (:22).
            Case {
                native_aborts: true,
                leaks: [NONE, NONE, NONE, (1, 1056)],
                records: 1,
                ..case(
                    "unsafe_unlink.c",
                    &[want("underflow", 1056, Some(-16), ("detected", 22))],
                    &[want("underflow", 1056, Some(-16), ("detected", 22))],
                )
            },
            // The block never freed ("keep"): Valgrind as above, still reachable 2,112 in 2;
            // gpa: the underflow at exit.
            Case {
                args: &["keep"],
                leaks: [NONE, NONE, NONE, (2, 2112)],
                records: 2,
                ..case(
                    "unsafe_unlink.c",
                    &[want("underflow", 1056, Some(-16), ("detected", 0))],
                    &[want("underflow", 1056, Some(-16), ("detected", 0))],
                )
            },
            // sysmalloc_int_free.c, house_of_tangerine.c: 8 bytes past a 40-byte block.
            // glibc aborts ("malloc(): corrupted top size"). Valgrind: "Invalid write of size
            // 8" (:12), "0 bytes after a block of size 40 alloc'd". gpa: at the free (:15).
            Case {
                native_aborts: true,
                ..case(
                    "top_size.c",
                    &[want("overflow", 40, Some(40), ("detected", 15))],
                    &[want("overflow", 40, Some(40), ("detected", 15))],
                )
            },
        ],
    );
}

#[test]
fn uses_after_free_and_misaligned_stacks() {
    SWEEP.sweep(
        "h2h-uaf",
        &[
            // tcache_poisoning.c: the first word of a freed 128-byte block written. Valgrind:
            // "Invalid write of size 8" (:21), "0 bytes inside a block of size 128 free'd"
            // (:20). Check mode: in the block's fill, at exit (no program frame: exit's
            // handlers); guard mode: at the access. Fast mode: the forged word is its free
            // list's link; the malloc that pops the block finds it is no slot of the page,
            // reports the write after free and drops the rest of the list (before: the next
            // malloc followed it, SIGSEGV).
            Case {
                fast_reports: Some(FORGED_LINK),
                ..case(
                    "tcache_poisoning.c",
                    &[want("write_after_free", 128, Some(0), ("free", 20))],
                    &[want("write_after_free", 128, Some(0), ("access", 21))],
                )
            },
            // "reuse": 3,000 blocks of its size freed and allocated again (past check mode's
            // quarantine). Valgrind: the same write. Check mode: found when an allocation
            // takes the block's slot again (:34, a malloc; stop 54: before, as the block left
            // the quarantine, :31, a free); every block given out after is sound ("0 bad").
            Case {
                args: &["reuse"],
                fast_reports: Some(FORGED_LINK),
                ..case(
                    "tcache_poisoning.c",
                    &[want("write_after_free", 128, Some(0), ("detected", 34))],
                    &[want("write_after_free", 128, Some(0), ("access", 21))],
                )
            },
            // decrypt_safe_linking.c: reads of freed blocks' links. Valgrind: "Invalid read of
            // size 8" (:18), "0 bytes inside a block of size 32 free'd" (:16), and (:19) "8
            // bytes inside a block of size 1,056 free'd" (:17). Check mode does not see reads;
            // guard mode: both at the access.
            case(
                "decrypt_safe_linking.c",
                &[],
                &[
                    want("read_after_free", 32, Some(0), ("access", 18)),
                    want("read_after_free", 1056, Some(8), ("access", 19)),
                ],
            ),
            // house_of_lore.c's ending (exit from a function entered by `ret`): malloc,
            // calloc, realloc, posix_memalign, free and exit on a misaligned stack.
            // Valgrind: definitely lost 24 bytes in 1 block (:54), 1 record. gpa before:
            // killed by SIGSEGV in every mode (its own code's aligned SSE stores), nothing
            // reported; fixed.
            Case {
                leaks: [(1, 24), NONE, NONE, NONE],
                records: 1,
                ..case("misaligned_stack.c", &[], &[])
            },
            // With a double free among them ("double"): glibc aborts ("double free or
            // corruption (!prev)"). Valgrind: "Invalid free()" at misaligned_call
            // (misaligned_stack.c:17, called from :53), "0 bytes inside a block of size 4,000
            // free'd" (:17, from :49).
            Case {
                args: &["double"],
                native_aborts: true,
                leaks: [(1, 24), NONE, NONE, NONE],
                records: 1,
                ..case(
                    "misaligned_stack.c",
                    &[want("double_free", 4000, None, ("second_free", 17))],
                    &[want("double_free", 4000, None, ("second_free", 17))],
                )
            },
            // misaligned_entries.c: the other ways in on a misaligned stack, those that reach
            // check mode's `malloc` and `free` without the exported functions' realigning
            // stubs (`realloc` of null and to 0 bytes, `reallocarray`), the aligned
            // allocators and a large `malloc`. Valgrind: definitely lost 24 bytes in 1 block
            // (allocated by `realloc (NULL, 24)` at :18, from :55), 1 record, no error.
            Case {
                leaks: [(1, 24), NONE, NONE, NONE],
                records: 1,
                ..case("misaligned_entries.c", &[], &[])
            },
            // With an invalid free of a pointer 8 bytes inside `memalign`'s 40-byte block
            // ("interior"): glibc aborts ("free(): invalid pointer"). Valgrind: "Invalid
            // free()" at misaligned_call (misaligned_entries.c:18, called from :49), "8 bytes
            // inside a block of size 40 alloc'd" (:18, from :41).
            Case {
                args: &["interior"],
                native_aborts: true,
                leaks: [(1, 24), NONE, NONE, NONE],
                records: 1,
                ..case(
                    "misaligned_entries.c",
                    &[want("invalid_free", 40, Some(8), ("invalid_free", 18))],
                    &[want("invalid_free", 40, Some(8), ("invalid_free", 18))],
                )
            },
            // With `calloc (-1, 1)` and `posix_memalign (&h, 64, -1)` ("fishy"): null and
            // ENOMEM (12). Valgrind: "Argument 'nmemb' of function calloc has a fishy
            // (possibly negative) value: -1" at misaligned_call (:18, called from :61), and
            // "Argument 'size' of function memalign" (its `posix_memalign` calls its
            // `memalign`; gpa names `posix_memalign`) at :18, from :62; the leak as above.
            // gpa before (branch `realign2`): killed by SIGSEGV in check and guard modes (the
            // report's capture on the misaligned stack); fixed.
            Case {
                args: &["fishy"],
                leaks: [(1, 24), NONE, NONE, NONE],
                records: 1,
                ..case(
                    "misaligned_entries.c",
                    &[fishy(18, 1); 2],
                    &[fishy(18, 1); 2],
                )
            },
        ],
    );
}

/// The C++ programs of the sweep (`.cpp`, g++).
const SWEEP_CXX: Sweep = Sweep {
    compilers: &["g++"],
    ..SWEEP
};

#[test]
fn operator_new_and_delete_on_a_misaligned_stack() {
    SWEEP_CXX.sweep(
        "h2h-new",
        &[
            // misaligned_new.cpp: `operator new` (plain, array, aligned, nothrow, 100,000
            // bytes) and `operator delete` (plain, array, aligned, sized) on a misaligned
            // stack. Valgrind: definitely lost 24 bytes in 1 block (operator new, from
            // misaligned_new.cpp:17 called from :59), 1 record, no error. gpa before (branch
            // `realign2`): killed by SIGSEGV in check and guard modes (check mode's `operator
            // new` ran on the stack as called); fixed.
            Case {
                leaks: [(1, 24), NONE, NONE, NONE],
                records: 1,
                ..case("misaligned_new.cpp", &[], &[])
            },
            // With the `operator new[]` block released by the scalar `operator delete`
            // ("mismatch"; glibc takes it). Valgrind: "Mismatched free() / delete / delete
            // []" at misaligned_call (:17, called from :53), "0 bytes inside a block of size
            // 100 alloc'd" (operator new[], :17 from :42); the leak as above.
            Case {
                args: &["mismatch"],
                leaks: [(1, 24), NONE, NONE, NONE],
                records: 1,
                ..case(
                    "misaligned_new.cpp",
                    &[want("mismatched_free", 100, None, ("invalid_free", 17))],
                    &[want("mismatched_free", 100, None, ("invalid_free", 17))],
                )
            },
        ],
    );
}

/// One run of `tcache_poisoning_targets.c`: its arguments, its output, fast mode's output
/// when it differs, and check mode's findings.
type Target<'a> = (
    &'a [&'a str],
    &'static str,
    Option<&'static str>,
    &'a [Want],
);

/// A freed block's free-list link forged with other targets (`tcache_poisoning_targets.c`).
/// Valgrind, every argument: "Invalid write of size 8" at main (:48), "0 bytes inside a block
/// of size 128 free'd" at main (:47; "thread": at free_it, :20, in the other thread), alloc'd
/// at main (:31); no leaks, the program's line "... 0 shared, 0 at the target". Check mode:
/// in the block's fill, at exit (its C blocks keep their links out of the program's reach);
/// guard mode: at the access. Fast mode (before: SIGSEGV for all but "class", which handed
/// out a live 48-byte slot for 128 bytes): the forged link reported when the pop meets it,
/// the rest of the list dropped, every block sound. "self" (a loop: a link to its own slot,
/// 16-byte aligned in its page's unit) passes the fast path's test, as with mimalloc's secure
/// mode and glibc's tcache: the block is handed out twice (one shared pair, and its second
/// free reported as a double free), then the program's bytes in its first word are met as a
/// forged link. The native run is left out (see `Case::native_left_out`).
#[test]
fn forged_free_list_links() {
    let check = [want("write_after_free", 128, Some(0), ("free", 47))];
    let guard = [want("write_after_free", 128, Some(0), ("access", 48))];
    let thread_check = [want("write_after_free", 128, Some(0), ("free", 20))];
    let targets: [Target<'_>; 5] = [
        (
            &["stack"],
            "stack: 0 shared, 0 at the target\n",
            None,
            &check,
        ),
        (&["wild"], "wild: 0 shared, 0 at the target\n", None, &check),
        (
            &["class"],
            "class: 0 shared, 0 at the target\n",
            None,
            &check,
        ),
        (
            &["self"],
            "self: 0 shared, 0 at the target\n",
            Some("self: 1 shared, 0 at the target\n"),
            &check,
        ),
        (
            &["thread"],
            "thread: 0 shared, 0 at the target\n",
            None,
            &thread_check,
        ),
    ];
    let cases: Vec<Case<'_>> = targets
        .iter()
        .map(|&(args, output, fast_output, check)| Case {
            args,
            native_left_out: true,
            fast_reports: Some(FORGED_LINK),
            output: Some(output),
            fast_output,
            ..case("tcache_poisoning_targets.c", check, &guard)
        })
        .collect();
    SWEEP.sweep("h2h-forged", &cases);
}
