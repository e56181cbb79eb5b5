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

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

const NONE: (u64, u64) = (0, 0);

/// Fast mode's report of a forged free-list link (`GeneralPurposeAllocator::checked_link`).
const FORGED_LINK: &str = "was modified: its free-list link was overwritten";
const NO_LEAKS: LeakTotals = [NONE; 4];

/// One finding (leaks are counted by [`Case::leaks`]): gpa's kind, the block's size (0: no
/// block), the access's offset in it (negative before it), and the stack (`access`,
/// `invalid_free`, `detected`, `free`, `second_free`) whose first frame must be at `line` (0:
/// the stack is absent, as for a finding at exit).
struct Want {
    kind: &'static str,
    size: u64,
    offset: Option<i64>,
    at: (&'static str, u64),
}

const fn want(kind: &'static str, size: u64, offset: Option<i64>, at: (&'static str, u64)) -> Want {
    Want {
        kind,
        size,
        offset,
        at,
    }
}

/// A program (`tests/h2h_sweep/<file>.c`), its arguments, what check and guard modes must
/// find, the leak totals (definitely, indirectly, possibly lost, still reachable as (blocks,
/// bytes)) and the number of loss records.
struct Case<'a> {
    file: &'static str,
    args: &'a [&'a str],
    check: &'a [Want],
    guard: &'a [Want],
    leaks: LeakTotals,
    records: usize,
    /// glibc aborts the native run (its heap found corrupt): every gpa mode goes on and exits
    /// 0, as Valgrind's run does.
    native_aborts: bool,
    /// What fast mode reports on stderr (its one-line message), if anything.
    fast_reports: Option<&'static str>,
    /// The program's output in every mode, when the native run is left out: glibc's outcome
    /// depends on where ASLR put its heap (a raw pointer written into a freed chunk's link is
    /// read through safe-linking's mangling: "malloc(): unaligned tcache chunk detected" or a
    /// SIGSEGV, as the address falls).
    output: Option<&'a str>,
    /// Fast mode's output when it differs from `output`.
    fast_output: Option<&'a str>,
}

const fn case<'a>(file: &'static str, check: &'a [Want], guard: &'a [Want]) -> Case<'a> {
    Case {
        file,
        args: &[],
        check,
        guard,
        leaks: NO_LEAKS,
        records: 0,
        native_aborts: false,
        fast_reports: None,
        output: None,
        fast_output: None,
    }
}

/// Compiles `tests/h2h_sweep/<file>.c` with gcc (`-O0 -g -pthread -w`, as upstream's
/// Makefile but for the warnings) into `dir`, all at once; returns the binaries in order.
fn compile_all(files: &[&str], dir: &Path) -> Vec<PathBuf> {
    let started: Vec<_> = files
        .iter()
        .map(|file| {
            let source = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/h2h_sweep")
                .join(format!("{file}.c"));
            let binary = dir.join(file);
            let child = Command::new("gcc")
                .args(["-O0", "-g", "-pthread", "-w", "-o"])
                .arg(&binary)
                .arg(&source)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("run gcc");
            (child, binary, source)
        })
        .collect();
    started
        .into_iter()
        .map(|(child, binary, source)| {
            let out = child.wait_with_output().expect("wait for gcc");
            assert!(
                out.status.success(),
                "{}: {}",
                source.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            binary
        })
        .collect()
}

/// The line of a stack's first frame (0 when the stack is absent).
fn first_line(finding: &Value, stack: &str) -> u64 {
    finding["stacks"][stack]
        .as_array()
        .and_then(|frames| frames.first())
        .and_then(|frame| frame["line"].as_u64())
        .unwrap_or(0)
}

/// Checks one run's findings against `wants` (in any order), its leak totals and records.
fn assert_verdict(tag: &str, run: &Run, wants: &[Want], case: &Case<'_>) {
    let findings = run.findings();
    let shown = format!("{tag}: {}\nstderr:\n{}", describe(&findings), run.stderr());
    let (records, errors): (Vec<&Value>, Vec<&Value>) =
        findings.iter().partition(|f| f["kind"] == "leak");
    assert_eq!(errors.len(), wants.len(), "{shown}");
    for want in wants {
        let found = errors.iter().any(|finding| {
            finding["kind"] == want.kind
                && finding["size"] == want.size
                && finding["count"] == 1
                && want.offset.is_none_or(|offset| finding["offset"] == offset)
                && first_line(finding, want.at.0) == want.at.1
        });
        assert!(
            found,
            "{tag}: no {} of a {}-byte block at offset {:?}, {:?}\n{shown}",
            want.kind, want.size, want.offset, want.at
        );
    }
    assert_eq!(gpa_leak_totals(&run.json), case.leaks, "{shown}");
    assert_eq!(records.len(), case.records, "{shown}");
}

/// Runs each case natively and in check, guard and fast modes (see the module notes).
fn sweep(name: &str, cases: &[Case<'_>]) {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch(name);
    // Each program once (cases may share one, with other arguments).
    let mut files: Vec<&str> = cases.iter().map(|case| case.file).collect();
    files.sort_unstable();
    files.dedup();
    let programs = compile_all(&files, &dir);
    for case in cases {
        let program = &programs[files.binary_search(&case.file).expect("compiled")];
        let mut command = vec![program.to_str().expect("a UTF-8 path")];
        command.extend_from_slice(case.args);
        let native_output = match case.output {
            Some(output) => output.to_owned(),
            None => {
                let native = plain_run(&dir, &command, |_| {});
                let native_status = if case.native_aborts { None } else { Some(0) };
                assert_eq!(native.status.code(), native_status, "{}: native", case.file);
                String::from_utf8_lossy(&native.stdout).into_owned()
            }
        };
        for (mode, options, wants) in [
            ("check", &["--show-leak-kinds=all"][..], case.check),
            (
                "guard",
                &["--show-leak-kinds=all", "--guard"][..],
                case.guard,
            ),
        ] {
            let tag = format!("{} {:?} ({mode})", case.file, case.args);
            let run = gpa_run(&dir, options, &command);
            assert_eq!(run.output.status.code(), Some(0), "{tag}: {}", run.stderr());
            if !case.native_aborts {
                assert_eq!(run.stdout(), native_output, "{tag}");
            }
            assert_eq!(run.json["all_checked"], true, "{tag}: {}", run.stderr());
            assert_verdict(&tag, &run, wants, case);
        }
        let tag = format!("{} {:?} (fast)", case.file, case.args);
        let fast = fast_run(&dir, &command);
        let fast_stderr = String::from_utf8_lossy(&fast.stderr);
        assert_eq!(fast.status.code(), Some(0), "{tag}: {fast_stderr}");
        if !case.native_aborts {
            let wanted = case.fast_output.unwrap_or(&native_output);
            assert_eq!(
                String::from_utf8_lossy(&fast.stdout),
                wanted,
                "{tag}: stdout"
            );
        }
        if let Some(report) = case.fast_reports {
            assert!(
                fast_stderr.contains(report),
                "{tag}: no {report:?}: {fast_stderr}"
            );
        }
    }
}

#[test]
fn double_and_invalid_frees() {
    sweep(
        "h2h-frees",
        &[
            // fastbin_dup.c, fastbin_dup_into_stack.c: a, b, a. Valgrind: "Invalid free()" at
            // main (fastbin_dup.c:26), "0 bytes inside a block of size 8 free'd" (:24);
            // still reachable 40 bytes in 5 blocks, 5 loss records.
            Case {
                leaks: [NONE, NONE, NONE, (5, 40)],
                records: 5,
                ..case(
                    "fastbin_dup",
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
                    "tcache_dup_many",
                    &[want("double_free", 32, None, ("second_free", 23))],
                    &[want("double_free", 32, None, ("second_free", 23))],
                )
            },
            // 2,400 frees of 128 bytes between ("far"). Valgrind: as above, "a block of size
            // 128 free'd" (:20). Check mode: the block's page was given back once its slots
            // left the quarantine (256 KiB), so the second free names no block: "invalid
            // free ... not allocated by this allocator" (open, docs/sweeps/how2heap.md).
            Case {
                args: &["far"],
                native_aborts: true,
                ..case(
                    "tcache_dup_many",
                    &[want("invalid_free", 0, None, ("invalid_free", 23))],
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
                    "house_of_botcake",
                    &[want("double_free", 256, None, ("second_free", 23))],
                    &[want("double_free", 256, None, ("second_free", 23))],
                )
            },
            // house_of_spirit.c, tcache_house_of_spirit.c. Valgrind, 3 errors: "Invalid
            // free()" at :20 ("on thread 1's stack"), :24 ("16 bytes inside data symbol
            // global_chunk"), :29 ("32784 bytes inside data symbol big_global"). gpa before:
            // the first two; the fake chunk in anonymous .bss pages passed for a block of
            // libc's own malloc and went to libc's free silently (fixed: libc holds nothing).
            case("house_of_spirit", &SPIRIT, &SPIRIT),
            // mmap_overlapping_chunks.c's kind: a fake mmapped chunk in a page of the
            // program's. Valgrind: "Invalid free()" (:19), "in a rw- anonymous segment". gpa
            // before: nothing (handed to libc's free, which munmapped the page); fixed.
            case(
                "mmap_fake_chunk",
                &[want("invalid_free", 0, None, ("invalid_free", 19))],
                &[want("invalid_free", 0, None, ("invalid_free", 19))],
            ),
            // house_of_mind_fastbin.c, fastbin_reverse_into_tcache.c's kind: free of a chunk
            // forged 16 bytes into a 64-byte block. Valgrind: "Invalid free()" (:24), "16
            // bytes inside a block of size 64 alloc'd" (:14).
            case(
                "interior_free",
                &[want("invalid_free", 64, Some(16), ("invalid_free", 24))],
                &[want("invalid_free", 64, Some(16), ("invalid_free", 24))],
            ),
            // The same by realloc. glibc aborts ("realloc(): invalid next size"). Valgrind:
            // "Invalid free() / delete / delete[] / realloc()" (:19), the same block.
            Case {
                args: &["realloc"],
                native_aborts: true,
                ..case(
                    "interior_free",
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
    sweep(
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
                    "overlapping_chunks",
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
                    "poison_null_byte",
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
                    "unsafe_unlink",
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
                    "unsafe_unlink",
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
                    "top_size",
                    &[want("overflow", 40, Some(40), ("detected", 15))],
                    &[want("overflow", 40, Some(40), ("detected", 15))],
                )
            },
        ],
    );
}

#[test]
fn uses_after_free_and_misaligned_stacks() {
    sweep(
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
                    "tcache_poisoning",
                    &[want("write_after_free", 128, Some(0), ("free", 20))],
                    &[want("write_after_free", 128, Some(0), ("access", 21))],
                )
            },
            // "reuse": 3,000 blocks of its size freed and allocated again (past check mode's
            // quarantine). Valgrind: the same write. Check mode: found when the block leaves
            // the quarantine (:31, a free); every block given out after is sound ("0 bad").
            Case {
                args: &["reuse"],
                fast_reports: Some(FORGED_LINK),
                ..case(
                    "tcache_poisoning",
                    &[want("write_after_free", 128, Some(0), ("detected", 31))],
                    &[want("write_after_free", 128, Some(0), ("access", 21))],
                )
            },
            // decrypt_safe_linking.c: reads of freed blocks' links. Valgrind: "Invalid read of
            // size 8" (:18), "0 bytes inside a block of size 32 free'd" (:16), and (:19) "8
            // bytes inside a block of size 1,056 free'd" (:17). Check mode does not see reads;
            // guard mode: both at the access.
            case(
                "decrypt_safe_linking",
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
                ..case("misaligned_stack", &[], &[])
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
                    "misaligned_stack",
                    &[want("double_free", 4000, None, ("second_free", 17))],
                    &[want("double_free", 4000, None, ("second_free", 17))],
                )
            },
        ],
    );
}

/// One run of `tcache_poisoning_targets.c`: its arguments, its output, fast mode's output
/// when it differs, and check mode's findings.
type Target<'a> = (&'a [&'a str], &'a str, Option<&'a str>, &'a [Want]);

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
/// forged link. The native run is left out (see `Case::output`).
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
            fast_reports: Some(FORGED_LINK),
            output: Some(output),
            fast_output,
            ..case("tcache_poisoning_targets", check, &guard)
        })
        .collect();
    sweep("h2h-forged", &cases);
}
