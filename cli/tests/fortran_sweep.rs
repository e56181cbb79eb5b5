//! Fortran programs under `gpa run`: gfortran's ALLOCATE/DEALLOCATE, automatic deallocation,
//! reallocation on assignment, deferred-length strings, `move_alloc`, derived types with
//! pointer and allocatable components, C interop over `malloc`, libgfortran's I/O units (and
//! its accesses to freed arrays and strings), gfortran 12's own use after `realloc` of a
//! `class(*)` allocatable, libgfortran's runtime errors (`exit(2)` after a backtrace), its
//! SIGSEGV/SIGABRT handler, `STOP` and `ERROR STOP`, and libgomp's thread pool (`-fopenmp`):
//! programs of our own (`tests/fortran_sweep/*.f90`: `mem.f90`'s first argument names one
//! case, one case per run; `omp.f90` runs its parallel loops, or with `error_stop` ends the
//! program from one thread of a parallel region, or with `use_after_free` reads freed arrays
//! in the pool's threads), built with gfortran 12 at -O0 and -O2, run natively (glibc 2.36),
//! under Valgrind memcheck 3.19 (`--leak-check=full --show-leak-kinds=all`, the oracle) and
//! under `gpa run` in check, guard and fast modes (`docs/sweeps/fortran.md`). Each case holds
//! check and guard modes to Valgrind's verdict, written next to it: each finding's kind, block
//! size, offset and the program line its stack names (the first frame in
//! `tests/fortran_sweep/`); the leak totals of each kind and the number of loss records; the
//! output and exit status of the native run (where glibc aborts the native run or it dies on
//! glibc's corrupted lists, every gpa mode prints Valgrind's output and exits 0). Where gpa
//! answers otherwise by design (check mode sees a write past a block or after free at the free
//! or at exit, and no direct read; guard mode does not see a read in a block's alignment
//! slack, and keeps no bytes written past a freed block; a checked `memcpy` is one finding
//! where Valgrind's `memmove` makes several contexts; a live thread's DTV is 16 bytes larger
//! under gpa, whose library adds a TLS module), the comment says so and the case asserts what
//! gpa reports. [`valgrind_agrees`] runs Valgrind itself on a representative few. Tests skip
//! with a message when gfortran or (for that one) valgrind is missing.

mod common;

use common::sweep::*;
use common::*;

/// The programs: `tests/fortran_sweep/`; a finding's line is the first frame's in that folder
/// (an -O2 case may have tail-called `free`, leaving the main program's call of the case as
/// the first frame, as in Valgrind's stacks).
const SWEEP: Sweep = Sweep {
    folder: "fortran_sweep",
    compilers: &["gfortran"],
    lines: Lines::InFolder,
};

const MEM: &str = "mem.f90";
const OMP: &str = "omp.f90";
const O2: &[&str] = &["-O2"];
/// What every gpa run prints where glibc aborts the native one.
const DONE: Option<&str> = Some(" done\n");
/// What realloc_after_overflow prints under Valgrind and gpa (glibc aborts the native run).
const REALLOCATED: Option<&str> = Some("          11\n done\n");
/// `mem.f90`'s lines in the main program that call the cases an -O2 build tail-calls `free`
/// from (the first frame in the folder of their second free, or of check mode's detection).
const MAIN_DOUBLE_DEALLOC: u64 = 404;
const MAIN_WRITE_PAST_END: u64 = 407;
const MAIN_CPTR_DOUBLE_FREE: u64 = 409;
const MAIN_WRITE_PAST_SHRUNK: u64 = 426;
const MAIN_WRITE_PAST_BIG: u64 = 427;
const MAIN_UNLIMITED_POLY: u64 = 431;

/// A case of `mem.f90` run with `args`, check and guard modes' findings apart.
fn split<'a>(args: &'a [&'a str], check: &'a [Want], guard: &'a [Want]) -> Case<'a> {
    Case {
        args,
        ..case(MEM, check, guard)
    }
}

/// A case of `mem.f90` run with `args` whose only findings are its leaks.
fn leaking<'a>(args: &'a [&'a str], totals: LeakTotals, records: usize) -> Case<'a> {
    Case {
        args,
        ..leaks(MEM, totals, records)
    }
}

/// A case of `mem.f90` run with `args` without findings.
fn clean_case<'a>(args: &'a [&'a str]) -> Case<'a> {
    Case { args, ..clean(MEM) }
}

/// A double free glibc aborts the native run on (libgfortran's SIGABRT handler prints a
/// backtrace, then the process dies of the signal): every gpa mode prints "done" and exits 0,
/// fast mode after its one-line report.
fn aborting(case: Case<'_>) -> Case<'_> {
    Case {
        native_aborts: true,
        output: DONE,
        fast_reports: Some("double free of"),
        ..case
    }
}

/// The same case built with -O2.
fn optimized(case: Case<'_>) -> Case<'_> {
    Case { flags: O2, ..case }
}

/// A double free of a `size`-byte block, the second free at `line`.
const fn double_free(size: u64, line: u64) -> Want {
    want("double_free", size, None, ("second_free", line))
}

/// io_cases' findings, the same in both modes where both see them (below).
const IO_FROM_FREED: [Want; 1] = [again(
    10,
    want("read_after_free", 40, Some(0), ("access", 356)),
)];
const IO_INTO_FREED: [Want; 1] = [want("write_after_free", 40, Some(0), ("access", 368))];
const STRING_FROM_FREED: [Want; 1] = [want("read_after_free", 30, Some(0), ("access", 379))];

/// Uses of freed arrays and strings inside libgfortran's I/O, the same at -O0 and -O2 (`flags`),
/// the first frame in the program at the I/O statement's line, as Valgrind's.
fn io_cases(flags: &'static [&'static str]) -> [Case<'static>; 3] {
    [
        // io_from_freed. Valgrind: 10 invalid reads of size 4 in one context, the first frame
        // in the program at :356 (under four of libgfortran's), 0 bytes inside a freed block of
        // 40. Check mode does not see the reads (libgfortran's own loads).
        Case {
            flags,
            ..split(&["io_from_freed"], &[], &IO_FROM_FREED)
        },
        // io_into_freed. Valgrind: 40 invalid writes in two contexts at :368 (memmove's writes
        // of 2 and 1 bytes), 0 and 4 bytes inside a freed block of 40. gpa: one finding for the
        // `memcpy` calls at that site (a checked call's finding is kept once per block and
        // site, as cert.md's strlen), in both modes. The native run dies of SIGSEGV (glibc
        // follows the link the READ wrote over in the freed chunk); Valgrind's and gpa's runs
        // print "done".
        Case {
            flags,
            native_aborts: true,
            output: DONE,
            ..same(MEM, &["io_into_freed"], &IO_INTO_FREED)
        },
        // string_from_freed. Valgrind: 6 invalid reads in four contexts at :379 (memmove's reads
        // of 8, 8, 2 and 2 bytes at offsets 0, 16, 24, 28) of a freed block of 30. gpa: one
        // finding for the `memcpy` call (a read of 30 bytes), in both modes.
        Case {
            flags,
            ..same(MEM, &["string_from_freed"], &STRING_FROM_FREED)
        },
    ]
}

/// gfortran 12's code for an unlimited polymorphic allocatable given an integer, then a string
/// (unlimited_poly): Valgrind at -O0: an invalid write of size 2 (memmove's) at :395 (the
/// generated `__copy_character_1`, named after the module's last line), two invalid reads of
/// size 1 at :392 (0 and 2 bytes inside), an invalid free at :394, all of a 4-byte block freed
/// by the `realloc` at :389 (allocated at :388), and the 1-byte block that `realloc` returned
/// definitely lost; at -O2 the write is an 8-byte store at :389 and the free tail-called from
/// main (:431). gpa: the same four contexts (one finding for the reads) in both modes, at
/// Valgrind's lines. Valgrind's run prints "a string", as the native one (glibc's `realloc`
/// shrinks in place) and check and fast modes; guard mode prints "a st" and four NULs: the
/// string's last four bytes went past the freed 4-byte block onto its guard page, where guard
/// mode keeps nothing (it keeps a recently freed block's own bytes only).
const UNLIMITED_POLY_O0: [Want; 3] = [
    want("write_after_free", 4, Some(0), ("access", 395)),
    want("read_after_free", 4, Some(0), ("access", 392)),
    double_free(4, 394),
];
const UNLIMITED_POLY_O2: [Want; 3] = [
    want("write_after_free", 4, Some(0), ("access", 389)),
    want("read_after_free", 4, Some(0), ("access", 392)),
    double_free(4, MAIN_UNLIMITED_POLY),
];

/// unlimited_poly at `flags`, its findings `wants` in both modes.
fn unlimited_poly(flags: &'static [&'static str], wants: &'static [Want]) -> Case<'static> {
    Case {
        flags,
        leaks: [(1, 1), NONE, NONE, NONE],
        records: 1,
        guard_output: Some(" a st\0\0\0\0\n done\n"),
        fast_reports: Some("double free of"),
        ..same(MEM, &["unlimited_poly"], wants)
    }
}

/// Uses of freed memory inside libgfortran's I/O and gfortran's own code, at -O0 and -O2.
#[test]
fn io_of_freed_memory() {
    let mut cases: Vec<Case<'_>> = io_cases(&[]).into_iter().chain(io_cases(O2)).collect();
    cases.push(unlimited_poly(&[], &UNLIMITED_POLY_O0));
    cases.push(unlimited_poly(O2, &UNLIMITED_POLY_O2));
    SWEEP.sweep("fortran-io", &cases);
}

/// The mistakes at -O0: pointers lost, freed twice, used after DEALLOCATE, arrays accessed
/// past their end, C interop over `malloc`, a derived type's pointer components.
#[test]
fn mistakes() {
    SWEEP.sweep(
        "fortran-mistakes",
        &[
            // pointer_leak. Valgrind: 400 bytes in 1 block definitely lost (:37).
            leaking(&["pointer_leak"], [(1, 400), NONE, NONE, NONE], 1),
            // double_dealloc. Valgrind: invalid free at :50, 0 bytes inside a block of 40
            // free'd at :49.
            aborting(split(
                &["double_dealloc"],
                &[double_free(40, 50)],
                &[double_free(40, 50)],
            )),
            // read_after_dealloc. Valgrind: invalid read of size 4 at :61, 12 bytes inside a
            // block of 40 free'd. Check mode does not see a direct read.
            split(
                &["read_after_dealloc"],
                &[],
                &[want("read_after_free", 40, Some(12), ("access", 61))],
            ),
            // write_after_dealloc. Valgrind: invalid write of size 4 at :72, 4 bytes inside a
            // block of 40 free'd. Check mode sees the write when the block leaves its
            // quarantine (here at exit: no stack).
            split(
                &["write_after_dealloc"],
                &[want("write_after_free", 40, Some(4), ("detected", 0))],
                &[want("write_after_free", 40, Some(4), ("access", 72))],
            ),
            // write_past_end. Valgrind: invalid write of size 4 at :81, 0 bytes after a block
            // of 40. Both modes see it at the block's automatic deallocation (:84, the end of
            // the subroutine): check mode by its canary, guard mode in the block's alignment
            // slack.
            split(
                &["write_past_end"],
                &[want("overflow", 40, Some(40), ("detected", 84))],
                &[want("overflow", 40, Some(40), ("detected", 84))],
            ),
            // read_past_end. Valgrind: invalid read of size 4 at :92, 0 bytes after a block of
            // 40. Neither mode sees it: check mode no read, guard mode no read in the block's
            // alignment slack (40 bytes end 8 bytes before the guard page; `--guard-flush`
            // reports it).
            clean_case(&["read_past_end"]),
            // read_past_aligned. Valgrind: invalid read of size 4 at :274, 0 bytes after a
            // block of 48; guard mode's guard page is right after it.
            split(
                &["read_past_aligned"],
                &[],
                &[want("overflow", 48, Some(48), ("access", 274))],
            ),
            // cptr_double_free. Valgrind: invalid free at :104, 0 bytes inside a block of 80
            // free'd at :103.
            aborting(split(
                &["cptr_double_free"],
                &[double_free(80, 104)],
                &[double_free(80, 104)],
            )),
            // cptr_leak. Valgrind: 48 bytes in 1 block definitely lost (:111).
            leaking(&["cptr_leak"], [(1, 48), NONE, NONE, NONE], 1),
            // component_leak. Valgrind: 80 bytes definitely lost (:124, the component left
            // when its owner was deallocated), 192 (72 direct, 120 indirect) definitely lost
            // (:127, the owner lost with its component, :128).
            leaking(&["component_leak"], [(2, 152), (1, 120), NONE, NONE], 3),
            // realloc_after_overflow. Valgrind: invalid write of size 4 at :321, 0 bytes after a
            // block of 40; it prints 11 and "done". Both modes see it at the `realloc` of the
            // assignment (:323), by design (as write_past_end). glibc aborts the native run
            // (the write clobbered the top chunk's size: "malloc assertion failure in
            // sysmalloc").
            Case {
                native_aborts: true,
                output: REALLOCATED,
                ..split(
                    &["realloc_after_overflow"],
                    &[want("overflow", 40, Some(40), ("detected", 323))],
                    &[want("overflow", 40, Some(40), ("detected", 323))],
                )
            },
            // write_past_shrunk. Valgrind: invalid write of size 4 at :334, 0 bytes after a
            // block of 40 (reallocated from 160 at :333). Both modes see it at the automatic
            // deallocation (:336), the block's size its size after the `realloc`.
            split(
                &["write_past_shrunk"],
                &[want("overflow", 40, Some(40), ("detected", 336))],
                &[want("overflow", 40, Some(40), ("detected", 336))],
            ),
            // write_past_big. Valgrind: invalid write of size 4 at :343, 0 bytes after a block
            // of 4,000,000. Check mode sees it at the free (:345); guard mode at the access.
            split(
                &["write_past_big"],
                &[want(
                    "overflow",
                    4_000_000,
                    Some(4_000_000),
                    ("detected", 345),
                )],
                &[want(
                    "overflow",
                    4_000_000,
                    Some(4_000_000),
                    ("access", 343),
                )],
            ),
            // null_store. Valgrind: invalid write of size 4 at :297 at address 0x0 (no block:
            // gpa reports no finding), then the process dies of SIGSEGV after libgfortran's
            // handler printed its backtrace; 13,600 bytes in 22 blocks still reachable (the
            // 16-byte array and libgfortran's backtrace state; with stdout and stderr pipes, as
            // the test runs it: with files, 29,984 bytes in 24 blocks, under gpa too).
            Case {
                ends_by_signal: Some(11),
                ..leaking(&["null_store"], [NONE, NONE, NONE, (22, 13600)], 22)
            },
        ],
    );
}

/// The mistakes at -O2.
#[test]
fn mistakes_optimized() {
    SWEEP.sweep(
        "fortran-mistakes-o2",
        &[
            // Valgrind: 400 bytes in 1 block definitely lost (:37).
            optimized(leaking(&["pointer_leak"], [(1, 400), NONE, NONE, NONE], 1)),
            // Valgrind: invalid free at :404 (`free` tail-called from the case), a block of 40
            // free'd at :49.
            optimized(aborting(split(
                &["double_dealloc"],
                &[double_free(40, MAIN_DOUBLE_DEALLOC)],
                &[double_free(40, MAIN_DOUBLE_DEALLOC)],
            ))),
            // Valgrind: invalid read of size 4 at :62, 12 bytes inside a block of 40 free'd.
            optimized(split(
                &["read_after_dealloc"],
                &[],
                &[want("read_after_free", 40, Some(12), ("access", 62))],
            )),
            // Valgrind: nothing (the store after DEALLOCATE was removed as dead).
            optimized(clean_case(&["write_after_dealloc"])),
            // Valgrind: invalid write of size 4 at :80, 0 bytes after a block of 40. Both modes
            // see it at the free, tail-called from the case (:407).
            optimized(split(
                &["write_past_end"],
                &[want(
                    "overflow",
                    40,
                    Some(40),
                    ("detected", MAIN_WRITE_PAST_END),
                )],
                &[want(
                    "overflow",
                    40,
                    Some(40),
                    ("detected", MAIN_WRITE_PAST_END),
                )],
            )),
            // Valgrind: invalid read of size 4 at :93, 0 bytes after a block of 40 (the slack,
            // as at -O0).
            optimized(clean_case(&["read_past_end"])),
            // Valgrind: invalid read of size 4 at :275, 0 bytes after a block of 48.
            optimized(split(
                &["read_past_aligned"],
                &[],
                &[want("overflow", 48, Some(48), ("access", 275))],
            )),
            // Valgrind: invalid free at :409 (tail-called), a block of 80 free'd at :103.
            optimized(aborting(split(
                &["cptr_double_free"],
                &[double_free(80, MAIN_CPTR_DOUBLE_FREE)],
                &[double_free(80, MAIN_CPTR_DOUBLE_FREE)],
            ))),
            // Valgrind: 48 bytes in 1 block definitely lost (:111).
            optimized(leaking(&["cptr_leak"], [(1, 48), NONE, NONE, NONE], 1)),
            // Valgrind: 272 bytes in 3 blocks definitely lost (:124, :127, :128: the lost
            // owner no longer holds its component's address).
            optimized(leaking(
                &["component_leak"],
                [(3, 272), NONE, NONE, NONE],
                3,
            )),
            // Valgrind: invalid write of size 4 at :320, 0 bytes after a block of 40; both modes
            // see it at the `realloc` (:323); glibc aborts the native run.
            optimized(Case {
                native_aborts: true,
                output: REALLOCATED,
                ..split(
                    &["realloc_after_overflow"],
                    &[want("overflow", 40, Some(40), ("detected", 323))],
                    &[want("overflow", 40, Some(40), ("detected", 323))],
                )
            }),
            // Valgrind: invalid write of size 4 at :334, 0 bytes after a block of 40; both modes
            // see it at the free, tail-called from the case (:426).
            optimized(split(
                &["write_past_shrunk"],
                &[want(
                    "overflow",
                    40,
                    Some(40),
                    ("detected", MAIN_WRITE_PAST_SHRUNK),
                )],
                &[want(
                    "overflow",
                    40,
                    Some(40),
                    ("detected", MAIN_WRITE_PAST_SHRUNK),
                )],
            )),
            // Valgrind: invalid write of size 4 at :343, 0 bytes after a block of 4,000,000;
            // check mode sees it at the free, tail-called (:427), guard mode at the access.
            optimized(split(
                &["write_past_big"],
                &[want(
                    "overflow",
                    4_000_000,
                    Some(4_000_000),
                    ("detected", MAIN_WRITE_PAST_BIG),
                )],
                &[want(
                    "overflow",
                    4_000_000,
                    Some(4_000_000),
                    ("access", 343),
                )],
            )),
            // Valgrind: invalid write at 0x0 (no block), SIGSEGV; 16 bytes definitely lost
            // (:292), 13,584 bytes in 21 blocks still reachable (with pipes, as at -O0).
            optimized(Case {
                ends_by_signal: Some(11),
                ..leaking(&["null_store"], [(1, 16), NONE, NONE, (21, 13584)], 22)
            }),
        ],
    );
}

/// `mem.f90`'s clean cases: allocatables freed at the end of their scope (arrays, a derived
/// type's allocatable components, deferred-length strings), reallocation on assignment,
/// deferred-length strings grown and trimmed, `move_alloc`, internal, scratch and named file
/// I/O, an ALLOCATE that fails with STAT=, arrays of several MiB grown by reallocation.
const CLEAN: &[&[&str]] = &[
    &["scope_end"],
    &["realloc_assign"],
    &["deferred_string"],
    &["move_alloc"],
    &["io_units"],
    &["alloc_failure"],
    &["big_growth"],
];

/// The clean programs and the exits, at -O0 and -O2: Valgrind reports nothing but what
/// `STOP`, `ERROR STOP` and libgfortran's runtime errors leave allocated.
#[test]
fn clean_programs_and_exits() {
    let mut cases = Vec::new();
    for flags in [&[][..], O2] {
        for args in CLEAN {
            // Valgrind: no error, no leak ("All heap blocks were freed").
            cases.push(Case {
                flags,
                ..clean_case(args)
            });
        }
        // stop. Valgrind: 384 bytes in 2 blocks still reachable (:228, :229).
        cases.push(Case {
            flags,
            ..leaking(&["stop"], [NONE, NONE, NONE, (2, 384)], 2)
        });
        // error_stop. Valgrind: exit status 3, 64 bytes in 1 block still reachable (:239).
        cases.push(Case {
            flags,
            exits_with: Some(3),
            ..leaking(&["error_stop"], [NONE, NONE, NONE, (1, 64)], 1)
        });
    }
    // dealloc_unallocated. Valgrind: exit status 2; -O0: 33 bytes in 2 blocks still reachable
    // (the array, :281, and libgfortran's 1-byte block of its runtime error, :284); -O2: the
    // array definitely lost (32 bytes), the 1-byte block still reachable.
    cases.push(Case {
        exits_with: Some(2),
        ..leaking(&["dealloc_unallocated"], [NONE, NONE, NONE, (2, 33)], 2)
    });
    cases.push(optimized(Case {
        exits_with: Some(2),
        ..leaking(&["dealloc_unallocated"], [(1, 32), NONE, NONE, (1, 1)], 2)
    }));
    // bounds_error with -fcheck=bounds. Valgrind: exit status 2, 41 bytes in 2 blocks still
    // reachable (the array, :261, and libgfortran's 1-byte block, :263).
    cases.push(Case {
        flags: &["-fcheck=bounds"],
        exits_with: Some(2),
        ..leaking(&["bounds_error"], [NONE, NONE, NONE, (2, 41)], 2)
    });
    SWEEP.sweep("fortran-clean", &cases);
}

/// libgomp's thread pool, at -O0 and -O2. Valgrind: 256 bytes definitely lost (omp.f90:35,
/// the main program's allocatable, never deallocated: gfortran keeps it in the main program's
/// frame), the three pool threads' DTVs possibly lost (912 bytes in 3 blocks; under gpa 960:
/// its library's TLS module adds 16 bytes to each, debian_programs.md d), 2,696 bytes in 5
/// blocks still reachable (libgomp's pool and team); 7 loss records. With `error_stop`, thread
/// 0 ends the program while the other three spin in the region: exit status 4, the DTVs
/// possibly lost, at -O0 6,696 bytes in 9 blocks still reachable (the four threads' arrays
/// among them), at -O2 thread 0's array (400 bytes) definitely lost and 6,296 bytes in 8
/// blocks still reachable; 8 loss records. With `use_after_free`, reads after DEALLOCATE in
/// the pool's threads (below).
#[test]
fn openmp() {
    const OMP_O0: &[&str] = &["-fopenmp"];
    const OMP_O2: &[&str] = &["-fopenmp", "-O2"];
    const DTVS: (u64, u64) = (3, 960);
    let mut cases = Vec::new();
    for flags in [OMP_O0, OMP_O2] {
        cases.push(Case {
            flags,
            ..leaks(OMP, [(1, 256), NONE, DTVS, (5, 2696)], 7)
        });
    }
    cases.push(Case {
        flags: OMP_O0,
        args: &["error_stop"],
        exits_with: Some(4),
        ..leaks(OMP, [NONE, NONE, DTVS, (9, 6696)], 8)
    });
    cases.push(Case {
        flags: OMP_O2,
        args: &["error_stop"],
        exits_with: Some(4),
        ..leaks(OMP, [(1, 400), NONE, DTVS, (8, 6296)], 8)
    });
    // use_after_free. Valgrind: invalid reads of size 4 at omp.f90:46 (-O2 :47), 8 bytes
    // inside freed blocks, in two contexts: the three workers' (3 errors; blocks of 80, 120 and
    // 160 bytes: gpa's one finding counted 3 times, 360 bytes in all) and the master's (40
    // bytes, its stack through GOMP_parallel and MAIN__); the DTVs possibly lost, 2,696 bytes in
    // 5 blocks still reachable; 6 loss records. Check mode does not see the reads.
    const fn reads(line: u64) -> [Want; 2] {
        [
            Want {
                count: Some(3),
                ..want("read_after_free", 120, Some(8), ("access", line))
            },
            want("read_after_free", 40, Some(8), ("access", line)),
        ]
    }
    const READS_O0: [Want; 2] = reads(46);
    const READS_O2: [Want; 2] = reads(47);
    for (flags, guard) in [(OMP_O0, &READS_O0), (OMP_O2, &READS_O2)] {
        cases.push(Case {
            flags,
            args: &["use_after_free"],
            leaks: [NONE, NONE, DTVS, (5, 2696)],
            records: 6,
            ..case(OMP, &[], guard)
        });
    }
    SWEEP.sweep("fortran-openmp", &cases);
}

/// Valgrind itself on a representative few at -O0 (a read after DEALLOCATE, the lost derived
/// types, reads of a freed array inside libgfortran's formatted WRITE, gfortran 12's use after
/// `realloc` of a `class(*)` allocatable: a write, reads and a double free): guard mode's
/// findings are Valgrind's error contexts (what was done, at which line) and its leak totals
/// Valgrind's.
#[test]
fn valgrind_agrees() {
    if !SWEEP.compilers_or_skip() || skip("valgrind", "valgrind") {
        return;
    }
    let dir = scratch("fortran-valgrind");
    let programs = SWEEP.compile(&[MEM], &dir);
    for name in [
        "read_after_dealloc",
        "component_leak",
        "io_from_freed",
        "unlimited_poly",
    ] {
        let command = [programs[0].to_str().expect("a UTF-8 path"), name];
        let (places, totals) = valgrind_places(&dir, &[], &command, MEM);
        let run = gpa_run(&dir, &["--show-leak-kinds=all", "--guard"], &command);
        let shown = format!("{name}: valgrind {places:?} {totals:?}\n{}", run.stderr());
        assert!(!places.is_empty() || totals != [NONE; 4], "{shown}");
        assert_eq!(gpa_places(&run.findings(), MEM), places, "{shown}");
        assert_eq!(gpa_leak_totals(&run.json), totals, "{shown}");
    }
}
