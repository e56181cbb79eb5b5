//! The debugging allocators' own tests, reduced to programs of our own
//! (`tests/fence_sweep/*`: each names the upstream file it follows): Electric Fence's
//! `eftest.c` and `tstheap.c`, DUMA's `tests/` and `examples/`, dmalloc's `dmalloc_t.c` and
//! LLVM's GWP-ASan tests (`compiler-rt/lib/gwp_asan/tests/`), run natively (glibc 2.36),
//! under Valgrind memcheck 3.19 (`--leak-check=full --show-leak-kinds=all
//! --show-mismatched-frees=yes`) and under `gpa run` in check mode, guard mode and the guard
//! variants each case names (`--guard-underflow`, `--guard-flush`, `--guard-sample`), and in
//! fast mode (`docs/sweeps/debug_allocators.md`). Each mode is held to Valgrind's verdict,
//! written next to the case: the kind of each finding, the block's size, the access's offset,
//! the program line a stack names (and for some, the callers' lines in the other stacks) and
//! how many times the context was seen (memcheck's errors per context; gpa's `count`); the
//! leak totals of each kind and the number of loss records. Where gpa cannot see what
//! Valgrind sees (check mode does not see reads; guard mode sees neither the alignment slack
//! nor underflows without `--guard-underflow`, nor overflows with it), the comment says so and
//! the case asserts what gpa reports. Every mode prints what the native run printed; fast
//! mode exits as the native run did, or 0 where glibc aborts. Valgrind is not run here (its
//! verdicts are written in); tests skip with a message when gcc or g++ is missing.

mod common;

use common::*;
use serde_json::Value;

const NONE: (u64, u64) = (0, 0);
const NO_LEAKS: LeakTotals = [NONE; 4];

/// One finding (leaks are counted by [`Case::leaks`]): gpa's kind, the block's size, the
/// access's offset in it (negative before it), the stack (`access`, `invalid_free`,
/// `detected`, `alloc`, `free`, `second_free`) whose first frame must be at `at`'s line, how
/// many times the finding's context was seen (its `count`), the finding's `size` (the bytes
/// of the blocks it counts: see [`repeats`]), and lines that other stacks must
/// hold a frame of the program at (`frames`: a report's allocation, free and access traces).
struct Want {
    kind: &'static str,
    size: u64,
    offset: Option<i64>,
    at: (&'static str, u64),
    count: u64,
    bytes: u64,
    frames: &'static [(&'static str, u64)],
}

const fn want(kind: &'static str, size: u64, offset: Option<i64>, at: (&'static str, u64)) -> Want {
    Want {
        kind,
        size,
        offset,
        at,
        count: 1,
        bytes: size,
        frames: &[],
    }
}

/// [`want`] of a mistake made `count` times on one block: an access that faulted, a free
/// repeated (memcheck: `count` errors from one context; gpa: one finding, its block's bytes
/// once: the findings name their block, and the exit's grouping counts each block once).
const fn repeats(count: u64, want: Want) -> Want {
    Want { count, ..want }
}

/// The `gpa run` options of each mode a case is run in.
const CHECK: &[&str] = &[];
const GUARD: &[&str] = &["--guard"];
const UNDERFLOW: &[&str] = &["--guard-underflow"];
const FLUSH: &[&str] = &["--guard-flush"];
/// Every block sampled: guard mode's verdict.
const SAMPLE_ALL: &[&str] = &["--guard-sample", "1"];
/// About one block in a million sampled: none of these programs' few blocks, so check mode's
/// verdict (sampling is silent when it misses, never wrong).
const SAMPLE_NONE: &[&str] = &["--guard-sample", "1000000"];

/// A program (`tests/fence_sweep/<file>`), its arguments, what each mode (its `gpa run`
/// options) must find, the leak totals (definitely, indirectly, possibly lost, still
/// reachable as (blocks, bytes)) and the number of loss records.
struct Case<'a> {
    file: &'static str,
    args: &'a [&'a str],
    modes: &'a [(&'a [&'a str], &'a [Want])],
    leaks: LeakTotals,
    records: usize,
    /// glibc aborts the native run (its heap found corrupt): gpa's runs go on and exit 0,
    /// as Valgrind's does.
    native_aborts: bool,
    /// The findings are the `fork` child's: the main process has none.
    forked: bool,
    /// Faults on one guarded page by several threads at once (guard modes): while one
    /// thread is stepped over its access, the page is open and the others' accesses to it
    /// are not seen (open, see the doc), so each of these may be missing or counted short;
    /// any finding not in the mode's list must be one of these, seen at most `count` times.
    racing: &'a [Want],
}

const fn case<'a>(file: &'static str, modes: &'a [(&'a [&'a str], &'a [Want])]) -> Case<'a> {
    Case {
        file,
        args: &[],
        modes,
        leaks: NO_LEAKS,
        records: 0,
        native_aborts: false,
        forked: false,
        racing: &[],
    }
}

/// Whether the compilers are there; prints why the test is skipped when they are not.
fn compilers_or_skip() -> bool {
    gcc_or_skip() && !skip("g++", "g++")
}

/// Whether one of `finding`'s `stack` frames is in the program at `line`.
fn has_line(finding: &Value, stack: &str, line: u64) -> bool {
    finding["stacks"][stack]
        .as_array()
        .into_iter()
        .flatten()
        .any(|frame| {
            frame["line"] == line
                && frame["file"]
                    .as_str()
                    .is_some_and(|file| file.contains("fence_sweep/"))
        })
}

/// The line of a stack's first frame.
fn first_line(finding: &Value, stack: &str) -> Option<u64> {
    finding["stacks"][stack].as_array()?.first()?["line"].as_u64()
}

/// Checks one run's findings against `wants` (in any order), its leak totals and records.
fn assert_verdict(tag: &str, run: &Run, wants: &[Want], case: &Case<'_>) {
    let findings = run.findings();
    let shown = format!("{tag}: {}\nstderr:\n{}", describe(&findings), run.stderr());
    let (records, errors): (Vec<&Value>, Vec<&Value>) =
        findings.iter().partition(|f| f["kind"] == "leak");
    let is = |finding: &Value, want: &Want| {
        finding["kind"] == want.kind
            && want.offset.is_none_or(|offset| finding["offset"] == offset)
            && first_line(finding, want.at.0) == Some(want.at.1)
            && want
                .frames
                .iter()
                .all(|&(stack, line)| has_line(finding, stack, line))
    };
    let racing = |finding: &&Value| {
        case.racing.iter().any(|want| {
            is(finding, want)
                && finding["size"] == want.bytes
                && finding["count"].as_u64().is_some_and(|n| n <= want.count)
        })
    };
    let (raced, errors): (Vec<&Value>, Vec<&Value>) = errors.into_iter().partition(racing);
    assert!(raced.len() <= case.racing.len(), "{shown}");
    assert_eq!(errors.len(), wants.len(), "{shown}");
    for want in wants {
        let found = errors.iter().any(|finding| {
            is(finding, want) && finding["size"] == want.bytes && finding["count"] == want.count
        });
        assert!(
            found,
            "{tag}: no {} of a {}-byte block at offset {:?}, {:?} (and {:?}), seen {} time(s)\n{shown}",
            want.kind, want.size, want.offset, want.at, want.frames, want.count
        );
    }
    assert_eq!(gpa_leak_totals(&run.json), case.leaks, "{shown}");
    assert_eq!(records.len(), case.records, "{shown}");
    if case.forked {
        let processes = run.json["processes"].as_array().expect("processes");
        assert_eq!(processes.len(), 2, "{shown}");
        for process in processes {
            let errors = if process["main"] == true {
                0
            } else {
                wants.len()
            };
            assert_eq!(process["errors"], errors as u64, "{tag}: {process}");
        }
        let child = processes
            .iter()
            .find(|p| p["began"] == "fork")
            .expect("the child");
        assert!(
            errors.iter().all(|finding| finding["pid"] == child["pid"]),
            "{shown}"
        );
    }
}

/// Runs each case natively, in each of its modes and in fast mode: every mode prints what the
/// native run printed and exits as it did (0 where glibc aborts), and finds what the case
/// says.
fn sweep(name: &str, cases: &[Case<'_>]) {
    if !compilers_or_skip() {
        return;
    }
    let dir = scratch(name);
    let mut files: Vec<&str> = cases.iter().map(|case| case.file).collect();
    files.dedup();
    let programs = compile_programs("fence_sweep", &files, &dir);
    for case in cases {
        let index = files.iter().position(|file| *file == case.file).unwrap();
        let mut command = vec![programs[index].to_str().expect("a UTF-8 path")];
        command.extend_from_slice(case.args);
        let native = plain_run(&dir, &command, |_| {});
        let native_status = if case.native_aborts { None } else { Some(0) };
        assert_eq!(native.status.code(), native_status, "{}: native", case.file);
        for (options, wants) in case.modes {
            let tag = format!("{} {:?} ({options:?})", case.file, case.args);
            let mut all = vec!["--show-leak-kinds=all"];
            all.extend_from_slice(options);
            let run = gpa_run(&dir, &all, &command);
            assert_eq!(run.output.status.code(), Some(0), "{tag}: {}", run.stderr());
            if !case.native_aborts {
                assert_eq!(run.output.stdout, native.stdout, "{tag}");
            }
            assert_eq!(run.json["all_checked"], true, "{tag}: {}", run.stderr());
            assert_verdict(&tag, &run, wants, case);
        }
        let fast = fast_run(&dir, &command);
        let tag = format!("{} {:?} (fast)", case.file, case.args);
        assert_eq!(
            fast.status.code(),
            Some(0),
            "{tag}: {}",
            String::from_utf8_lossy(&fast.stderr)
        );
        if !case.native_aborts {
            assert_eq!(fast.stdout, native.stdout, "{tag}: stdout");
        }
    }
}

/// eftest.c's reads (Valgrind, 3 errors from 3 contexts: "Invalid read of size 1" in
/// read_past (eftest.c:32), "0 bytes after a block of size 1" allocated in allocate (:29);
/// in read_freed (:34), "0 bytes inside a block of size 1 free'd" in release (:33); in
/// read_before (:35), "1 bytes before a block of size 1").
const EF_OVER: Want = want("overflow", 1, Some(1), ("access", 32));
const EF_FREED: Want = Want {
    frames: &[("alloc", 29), ("free", 33)],
    ..want("read_after_free", 1, Some(0), ("access", 34))
};
const EF_UNDER: Want = want("underflow", 1, Some(-1), ("access", 35));

/// gwp_recoverable.c in one thread. Valgrind: 500 errors from 5 contexts, 100 each: "Invalid
/// free()" at :54 ("0 bytes inside a block of size 1 free'd", freed at :52), at :57 ("0 bytes
/// after a block of size 1", the interior pointer p + 1), "Invalid write of size 1" in touch
/// (:17) from :62 (inside the block freed at :60), from :66 ("16 bytes before a block of size
/// 1") and from :67 ("15 bytes after": offset 16).
const GWP_DOUBLE: Want = repeats(
    100,
    Want {
        frames: &[("alloc", 51), ("free", 52)],
        ..want("double_free", 1, None, ("second_free", 54))
    },
);
const GWP_INTERIOR: Want = repeats(100, want("invalid_free", 1, Some(1), ("invalid_free", 57)));

#[test]
fn electric_fence() {
    sweep(
        "fence-efence",
        &[
            // eftest.c: see EF_OVER, EF_FREED, EF_UNDER. Natively no step faults (glibc's
            // chunk around a 1-byte block), so the program's SIGSEGV handler must never run
            // under gpa either: every mode prints "no fault" for each step. Check mode sees
            // no read. Guard mode: the overflow and the read after free at the access; the
            // underflow needs --guard-underflow, which in turn puts the block's start, not its
            // end, against the guard page (Electric Fence's EF_PROTECT_BELOW): the read past
            // the end goes unseen. --guard-flush as guard mode (a 1-byte block has no slack).
            // Sampling none is check mode. Sampling every block is guard mode but for the
            // read past the end, unseen (open): a sampled malloc block keeps malloc's
            // 16-byte alignment, so the byte past a 1-byte block is in its 15 bytes of slack
            // (guard mode gives such a block alignment 1 and no slack).
            case(
                "eftest.c",
                &[
                    (CHECK, &[]),
                    (GUARD, &[EF_OVER, EF_FREED]),
                    (UNDERFLOW, &[EF_FREED, EF_UNDER]),
                    (FLUSH, &[EF_OVER, EF_FREED]),
                    (SAMPLE_ALL, &[EF_FREED]),
                    (SAMPLE_NONE, &[]),
                ],
            ),
            // tstheap.c (Electric Fence's and DUMA's): 20,000 random steps of malloc, realloc
            // and free of up to 30,000 bytes over a pool of 1,024 pointers. Valgrind: no
            // error; still reachable 8,681,746 bytes in 601 blocks (the pool's, a global), 2
            // loss records (malloc :42, realloc :26). gpa: the same in both modes.
            Case {
                leaks: [NONE, NONE, NONE, (601, 8_681_746)],
                records: 2,
                ..case("tstheap.c", &[(CHECK, &[]), (GUARD, &[])])
            },
        ],
    );
}

#[test]
fn duma() {
    const MISMATCHES: [Want; 2] = [
        want("mismatched_free", 40, None, ("invalid_free", 32)),
        want("mismatched_free", 40, None, ("invalid_free", 34)),
    ];
    const EXAMPLE1: [Want; 1] = [want("overflow", 40, Some(40), ("alloc", 15))];
    const BELOW_AT_FREE: [Want; 1] = [want("underflow", 40, Some(-4), ("detected", 23))];
    const SLACK_AT_FREE: [Want; 1] = [want("overflow", 13, Some(14), ("detected", 29))];
    const LONG_AFTER: Want = Want {
        frames: &[("alloc", 33)],
        ..want("write_after_free", 100, Some(10), ("free", 34))
    };
    sweep(
        "fence-duma",
        &[
            // testoperators.cpp (member new/delete, nothrow, new[]/delete[], placement new)
            // and examples 4 and 7. Valgrind, 2 errors from 2 contexts: "Mismatched free() /
            // delete / delete []" at :32 (a malloc block, :31, deleted) and :34 (a new[]
            // block, :33, deleted); "0 bytes inside a block of size 40". gpa: the same.
            case(
                "duma_operators.cpp",
                &[(CHECK, &MISMATCHES), (GUARD, &MISMATCHES)],
            ),
            // example1.cpp: "Invalid write of size 4" at :17, "0 bytes after a block of size
            // 40" (:15), never freed: 40 bytes in 1 block definitely lost. Check and guard
            // modes: the overflow found at exit (guard mode: in the block's 8 bytes of
            // alignment slack); --guard-flush: at the write.
            Case {
                args: &["example1"],
                native_aborts: true,
                leaks: [(1, 40), NONE, NONE, NONE],
                records: 1,
                ..case(
                    "duma_examples.c",
                    &[
                        (CHECK, &EXAMPLE1),
                        (GUARD, &EXAMPLE1),
                        (FLUSH, &[want("overflow", 40, Some(40), ("access", 17))]),
                    ],
                )
            },
            // DUMA_PROTECT_BELOW: "Invalid write of size 4" at :22, "4 bytes before a block of
            // size 40" (:21). Check and guard modes: at the free (:23), in the block's front
            // guard; --guard-underflow: at the write.
            Case {
                args: &["below"],
                native_aborts: true,
                ..case(
                    "duma_examples.c",
                    &[
                        (CHECK, &BELOW_AT_FREE),
                        (GUARD, &BELOW_AT_FREE),
                        (
                            UNDERFLOW,
                            &[want("underflow", 40, Some(-4), ("access", 22))],
                        ),
                    ],
                )
            },
            // DUMA_SLACKFILL: "Invalid write of size 1" at :28, "1 bytes after a block of size
            // 13" (offset 14). Check and guard modes: at the free (:29; guard mode: the
            // canary of the block's 3 bytes of slack); --guard-flush: at the write.
            Case {
                args: &["slack"],
                ..case(
                    "duma_examples.c",
                    &[
                        (CHECK, &SLACK_AT_FREE),
                        (GUARD, &SLACK_AT_FREE),
                        (FLUSH, &[want("overflow", 13, Some(14), ("access", 28))]),
                    ],
                )
            },
            // Beside it, our own: blocks of 24, 200 and 3,000 bytes written after 2 MiB of
            // other frees. Valgrind: "Invalid write of size 1" at :18, "0 bytes inside a block
            // of size 24 free'd" (:13); at :19, "199 bytes inside a block of size 200 free'd"
            // (:14); in memset from :20, "1,500 bytes inside a block of size 3,000 free'd"
            // (:15; memset's byte stores are 2 contexts of Valgrind's, 4 errors). Check mode:
            // the first two at exit (before: unseen), the memset at the call (libc's range
            // check); guard mode: all three at the access. (--guard-sample 1 names other,
            // later blocks that reused the sampled slots: open, see the doc.)
            case(
                "long_after_free.c",
                &[
                    (
                        CHECK,
                        &[
                            want("write_after_free", 24, Some(0), ("free", 13)),
                            want("write_after_free", 200, Some(199), ("free", 14)),
                            want("write_after_free", 3000, Some(1500), ("access", 20)),
                        ],
                    ),
                    (
                        GUARD,
                        &[
                            want("write_after_free", 24, Some(0), ("access", 18)),
                            want("write_after_free", 200, Some(199), ("access", 19)),
                            want("write_after_free", 3000, Some(1500), ("access", 20)),
                        ],
                    ),
                ],
            ),
            // DUMA_PROTECT_FREE: "Invalid write of size 1" at :37, "10 bytes inside a block of
            // size 100 free'd" (:34), written after 4 MiB of other blocks were allocated and
            // freed. Guard mode: at the write. Check mode: at exit, in the freed slot's
            // poison; before, unseen (the block had left the quarantine, 256 KiB, and its
            // poison was checked no more).
            Case {
                args: &["long_after"],
                ..case(
                    "duma_examples.c",
                    &[
                        (CHECK, &[LONG_AFTER]),
                        (
                            GUARD,
                            &[Want {
                                frames: &[("alloc", 33), ("free", 34)],
                                ..want("write_after_free", 100, Some(10), ("access", 37))
                            }],
                        ),
                    ],
                )
            },
        ],
    );
}

#[test]
fn dmalloc_and_signals() {
    // dmalloc_checks.c. glibc aborts ("double free or corruption (out)" at :22). Valgrind, 11
    // errors from 11 contexts: "Invalid write of size 1" at :18, "0 bytes after a block of
    // size 20"; at :21, "1 bytes before a block of size 20"; at :25, "3 bytes inside a block
    // of size 24 free'd" (:24); "Invalid free()" at :26 (on thread 1's stack), :27 (inside
    // data symbol "global"), :29 ("4 bytes inside a block of size 32"), :31 and the realloc at
    // :32 ("0 bytes inside a block of size 32 free'd", :30); "Invalid write" at :35, "0 bytes
    // after a block of size 0"; definitely lost 77 bytes in 2 blocks (keep :12, from :43 and
    // :44), 2 loss records. Check and guard modes: the fence-post writes at the frees (:19,
    // :22), the write to freed memory at exit (check) or at the write (guard), the same
    // invalid and double frees (a realloc of a freed block is one), the write to the 0-byte
    // block at the access. --guard-underflow: the write before the block at the access.
    const FENCE_ABOVE: Want = want("overflow", 20, Some(20), ("detected", 19));
    const FENCE_BELOW: Want = want("underflow", 20, Some(-1), ("detected", 22));
    const FREES: [Want; 6] = [
        want("invalid_free", 0, None, ("invalid_free", 26)),
        want("invalid_free", 0, None, ("invalid_free", 27)),
        want("invalid_free", 32, Some(4), ("invalid_free", 29)),
        want("double_free", 32, None, ("second_free", 31)),
        want("double_free", 32, None, ("second_free", 32)),
        want("overflow", 0, Some(0), ("access", 35)),
    ];
    const FREED_AT_EXIT: Want = Want {
        frames: &[("alloc", 23)],
        ..want("write_after_free", 24, Some(3), ("free", 24))
    };
    const FREED_AT_ACCESS: Want = Want {
        frames: &[("alloc", 23), ("free", 24)],
        ..want("write_after_free", 24, Some(3), ("access", 25))
    };
    let [a, b, c, d, e, f] = FREES;
    let check = [FENCE_ABOVE, FENCE_BELOW, FREED_AT_EXIT, a, b, c, d, e, f];
    let [a, b, c, d, e, f] = FREES;
    let guard = [FENCE_ABOVE, FENCE_BELOW, FREED_AT_ACCESS, a, b, c, d, e, f];
    let [a, b, c, d, e, f] = FREES;
    let underflow = [
        FENCE_ABOVE,
        want("underflow", 20, Some(-1), ("access", 21)),
        FREED_AT_ACCESS,
        a,
        b,
        c,
        d,
        e,
        f,
    ];
    // fence_signal.c: errors in a SIGUSR1 handler on an alternate stack. Valgrind: "Invalid
    // write of size 1" in on_usr1 (:16), "0 bytes after a block of size 16" (:30); "Invalid
    // read of size 1" (:17), "0 bytes inside a block of size 40 free'd" (:32). Check mode:
    // the write at the free (:34), the read unseen. Guard mode: both at the access, and the
    // program goes on after the handler.
    const SIGNAL_FREED: Want = Want {
        frames: &[("alloc", 31), ("free", 32)],
        ..want("read_after_free", 40, Some(0), ("access", 17))
    };
    sweep(
        "fence-dmalloc",
        &[
            // Fast mode: the write 3 bytes into the freed 24-byte block changes its free-list
            // link; the malloc that pops the block reports it and drops the rest of the list
            // (before: the next malloc of that size followed it, SIGSEGV).
            Case {
                native_aborts: true,
                leaks: [(2, 77), NONE, NONE, NONE],
                records: 2,
                ..case(
                    "dmalloc_checks.c",
                    &[(CHECK, &check), (GUARD, &guard), (UNDERFLOW, &underflow)],
                )
            },
            case(
                "fence_signal.c",
                &[
                    (CHECK, &[want("overflow", 16, Some(16), ("detected", 34))]),
                    (
                        GUARD,
                        &[want("overflow", 16, Some(16), ("access", 16)), SIGNAL_FREED],
                    ),
                ],
            ),
            // fence_fork.c: the child of a fork made while a live and a freed block exist
            // writes past the live one and reads the freed one. Valgrind: the parent clean;
            // the child "Invalid write of size 1" at :21, "0 bytes after a block of size 32"
            // (:14), "Invalid read of size 1" at :22, "5 bytes inside a block of size 48
            // free'd" (:16). Check mode: the child's write at its free (:23); guard mode: both
            // at the access, in the child's report; the parent's none.
            Case {
                forked: true,
                ..case(
                    "fence_fork.c",
                    &[
                        (CHECK, &[want("overflow", 32, Some(32), ("detected", 23))]),
                        (
                            GUARD,
                            &[
                                want("overflow", 32, Some(32), ("access", 21)),
                                want("read_after_free", 48, Some(5), ("access", 22)),
                            ],
                        ),
                    ],
                )
            },
            // fence_realloc.c. Valgrind: "Invalid read of size 1" at :17, "3 bytes inside a
            // block of size 16 free'd" (by the realloc that moved it, :16); "Invalid write of
            // size 1" at :18, "0 bytes after a block of size 5,000" (:16), and at :20, "0 bytes
            // after a block of size 10" (the shrinking realloc, :19). Check mode: the writes at
            // the next realloc (:19) and the free (:22); the read unseen. Guard mode: the read
            // at the access, the writes (in the 8 and 6 bytes of slack) as check mode;
            // --guard-flush: all three at the access.
            case(
                "fence_realloc.c",
                &[
                    (
                        CHECK,
                        &[
                            want("overflow", 5000, Some(5000), ("detected", 19)),
                            want("overflow", 10, Some(10), ("detected", 22)),
                        ],
                    ),
                    (
                        GUARD,
                        &[
                            want("overflow", 5000, Some(5000), ("detected", 19)),
                            want("overflow", 10, Some(10), ("detected", 22)),
                            want("read_after_free", 16, Some(3), ("access", 17)),
                        ],
                    ),
                    (
                        FLUSH,
                        &[
                            want("overflow", 5000, Some(5000), ("access", 18)),
                            want("overflow", 10, Some(10), ("access", 20)),
                            want("read_after_free", 16, Some(3), ("access", 17)),
                        ],
                    ),
                ],
            ),
        ],
    );
}

#[test]
fn gwp_asan() {
    // Guard mode and sampling every block: the five contexts, each seen 100 times (before:
    // each fault's site once, count 1), the interior free with its offset (before: none);
    // the write 16 bytes before the block needs --guard-underflow and is found at its free
    // (:69) once. Check mode: the frees as Valgrind; the writes found in the poison and the
    // canaries once each (at exit, and at the free :69). Sampling no block: check mode.
    const GUARDED: [Want; 5] = [
        GWP_DOUBLE,
        GWP_INTERIOR,
        repeats(
            100,
            Want {
                frames: &[("access", 62), ("alloc", 59), ("free", 60)],
                ..want("write_after_free", 1, Some(0), ("access", 17))
            },
        ),
        repeats(
            100,
            Want {
                frames: &[("access", 67)],
                ..want("overflow", 1, Some(16), ("access", 17))
            },
        ),
        want("underflow", 1, Some(-16), ("detected", 69)),
    ];
    const CHECKED: [Want; 5] = [
        GWP_DOUBLE,
        GWP_INTERIOR,
        want("write_after_free", 1, Some(0), ("free", 60)),
        want("overflow", 1, Some(16), ("detected", 69)),
        want("underflow", 1, Some(-16), ("detected", 69)),
    ];
    // "threads": four threads repeat one error each, 100 times, on one freed 1-byte block
    // (:41, freed :42). Valgrind, 500 errors from 5 contexts: "Invalid free()" at :27 (inside
    // the freed block) and :28 ("0 bytes after a block of size 1 free'd"), "Invalid write of
    // size 1" in touch (:17) from :29 (inside), :30 (16 bytes before, and 15 bytes after).
    // Guard mode: the frees with their counts (before: the interior free was 100 findings
    // naming no block), the three writes each one finding counted up to 100 times (before:
    // once): the writes at 0 and -16 share the freed block's data page, and while one
    // thread is stepped over its write the page is open, so the other's writes meanwhile go
    // unseen: now and then one is counted 99 times or (the loop being faster than one step)
    // not at all (open: `racing`). Check mode: the frees; the writes in the freed block's
    // poison, at exit, once (its first changed byte: 16 before).
    const THREAD_FREES: [Want; 2] = [
        repeats(100, want("double_free", 1, None, ("second_free", 27))),
        repeats(
            100,
            Want {
                frames: &[("alloc", 41), ("free", 42)],
                ..want("invalid_free", 1, Some(1), ("invalid_free", 28))
            },
        ),
    ];
    let [a, b] = THREAD_FREES;
    let threads_checked = [a, b, want("write_after_free", 1, Some(-16), ("free", 42))];
    let [a, b] = THREAD_FREES;
    let threads_guarded = [a, b];
    let threads_racing = [
        repeats(
            100,
            Want {
                frames: &[("access", 29)],
                ..want("write_after_free", 1, Some(0), ("access", 17))
            },
        ),
        repeats(
            100,
            Want {
                frames: &[("access", 30)],
                ..want("write_after_free", 1, Some(-16), ("access", 17))
            },
        ),
        repeats(
            100,
            Want {
                frames: &[("access", 30)],
                ..want("write_after_free", 1, Some(16), ("access", 17))
            },
        ),
    ];
    // backtrace.cpp: Valgrind's double free at drop (:12) from main (:22), the block freed by
    // drop from :21 and allocated by make (:11) from :20; the use after free "Invalid write of
    // size 1" in poke (:13) from :28, "2 bytes inside a block of size 24 free'd" (drop, from
    // :27; make, from :26). gpa: each trace with its callers; the write found at exit in
    // check mode.
    const DOUBLE: Want = Want {
        frames: &[
            ("second_free", 22),
            ("free", 21),
            ("alloc", 11),
            ("alloc", 20),
        ],
        ..want("double_free", 24, None, ("second_free", 12))
    };
    const USE_CHECKED: Want = Want {
        frames: &[("free", 27), ("alloc", 11), ("alloc", 26)],
        ..want("write_after_free", 24, Some(2), ("free", 12))
    };
    const USE_GUARDED: Want = Want {
        frames: &[("access", 28), ("free", 12), ("free", 27), ("alloc", 26)],
        ..want("write_after_free", 24, Some(2), ("access", 13))
    };
    const INTERIOR: [Want; 4] = [
        Want {
            frames: &[("alloc", 10), ("free", 11)],
            ..want("invalid_free", 48, Some(16), ("invalid_free", 12))
        },
        Want {
            frames: &[("alloc", 9)],
            ..want("invalid_free", 64, Some(64), ("invalid_free", 13))
        },
        Want {
            frames: &[("alloc", 10), ("free", 11)],
            ..want("invalid_free", 48, Some(8), ("invalid_free", 14))
        },
        Want {
            frames: &[("alloc", 9)],
            ..want("invalid_free", 64, Some(4), ("invalid_free", 15))
        },
    ];
    sweep(
        "fence-gwp",
        &[
            Case {
                native_aborts: true,
                ..case(
                    "gwp_recoverable.c",
                    &[
                        (CHECK, &CHECKED),
                        (GUARD, &GUARDED),
                        (SAMPLE_ALL, &GUARDED),
                        (SAMPLE_NONE, &CHECKED),
                    ],
                )
            },
            Case {
                args: &["threads"],
                native_aborts: true,
                racing: &threads_racing,
                ..case(
                    "gwp_recoverable.c",
                    &[(CHECK, &threads_checked), (GUARD, &threads_guarded)],
                )
            },
            // Beside the interior frees, our own (glibc aborts). Valgrind, 4 errors from 4
            // contexts: "Invalid free()" at :12, "16 bytes inside a block of size 48 free'd"
            // (:11, allocated :10); at :13, "0 bytes after a block of size 64" (:9); realloc
            // at :14, "8 bytes inside a block of size 48 free'd"; realloc at :15, "4 bytes
            // inside a block of size 64"; both reallocs return NULL. gpa, every mode: the
            // same four, each block named with its traces (guard mode before: the freed
            // block's two named no block).
            Case {
                native_aborts: true,
                ..case(
                    "interior_free.c",
                    &[
                        (CHECK, &INTERIOR),
                        (GUARD, &INTERIOR),
                        (SAMPLE_ALL, &INTERIOR),
                    ],
                )
            },
            Case {
                args: &["double"],
                native_aborts: true,
                ..case("gwp_backtrace.c", &[(CHECK, &[DOUBLE]), (GUARD, &[DOUBLE])])
            },
            Case {
                args: &["use"],
                ..case(
                    "gwp_backtrace.c",
                    &[(CHECK, &[USE_CHECKED]), (GUARD, &[USE_GUARDED])],
                )
            },
            // alignment.cpp: posix_memalign and aligned_alloc of alignments 1 to 4096, sizes
            // around them, each block written whole. Valgrind: no error; "alignment: 0 bad"
            // in every mode (guard mode honours an alignment that is asked for exactly).
            case(
                "gwp_backtrace.c",
                &[(CHECK, &[]), (GUARD, &[]), (FLUSH, &[])],
            ),
            // thread_contention.cpp, DUMA's testmt.c and thread-test.c: 8 threads allocating,
            // freeing each other's blocks, opening files. Valgrind: no error, no leak.
            case(
                "gwp_threads.c",
                &[(CHECK, &[]), (GUARD, &[]), (SAMPLE_ALL, &[])],
            ),
        ],
    );
}
