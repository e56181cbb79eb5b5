//! Reads at the edges of large blocks (`tests/large_edges/large_edges.c`): the bytes before
//! a block's data and past its end that glibc's mmapped chunks let a program read (its 16-byte
//! header, more for an aligned block; the rest of the chunk's last page, at least 8 bytes). The
//! program runs natively (glibc 2.36, every block from 64 KiB on an mmapped chunk), under
//! Valgrind memcheck 3.19 and under `gpa run` in fast, check and guard modes. Fast and check
//! modes run it to the native output and exit status: a large block's mapping has a page (or
//! the alignment) before its data and slack after it (`gpa::large`'s module docs). Check mode
//! sees no plain read (Valgrind reports each; the comments say what); guard mode reports
//! the reads past the end (and, with `--guard-underflow`, before the start) at the access, as
//! Valgrind does. Tests skip with a message when gcc is missing.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// The program's lines that read (see `edges` and `far_edges`) and write.
const BEFORE_1: u64 = 31;
const BEFORE_16: u64 = 32;
const AFTER_0: u64 = 33;
const AFTER_7: u64 = 34;
const PAGE_END: u64 = 35;
const PAGE_BEFORE: u64 = 41;
/// The `free` after the write before a block (at line 136).
const FREE_AFTER_WRITE: u64 = 137;

fn program(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/large_edges/large_edges.c");
    compile_source(&source, dir)
}

/// The errors of a run (leaks aside), as (kind, size, offset, line of the access or
/// detection stack's first frame).
fn errors(run: &Run) -> Vec<(String, u64, i64, Option<u64>)> {
    run.findings()
        .iter()
        .filter(|finding| finding["kind"] != "leak")
        .map(|finding| {
            let stacks = &finding["stacks"];
            let stack: &Value = if stacks["access"].is_array() {
                &stacks["access"]
            } else {
                &stacks["detected"]
            };
            (
                finding["kind"].as_str().unwrap_or_default().to_owned(),
                finding["size"].as_u64().unwrap_or_default(),
                finding["offset"].as_i64().unwrap_or(i64::MIN),
                stack[0]["line"].as_u64(),
            )
        })
        .collect()
}

/// Each block kind read at its edges: native, fast and check modes print the same and exit
/// 0; check mode reports nothing (it does not see plain reads). Valgrind, for each kind (once
/// per line, the first block's): "Invalid read of size 1" at `edges` (:31) "Address ... is 1
/// bytes before a block of size S alloc'd", (:32) "16 bytes before", (:33) "0 bytes after",
/// (:34) "7 bytes after", and (:35) "N bytes inside an unallocated block ... in arena
/// "client"" (its own arena's next page, past its 16-byte redzone), S the first block's size:
/// plain 131,073; aligned 262,144; calloc 150,000; realloc 300,000; reuse 1,048,576. Before
/// this branch fast mode died of SIGSEGV (exit 139, nothing printed) on every one.
#[test]
fn fast_and_check_modes_read_the_edges_glibc_lets_a_program_read() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("large-edges");
    let program = program(&dir);
    let program = program.to_str().unwrap();
    for mode in ["plain", "aligned", "calloc", "realloc", "reuse"] {
        let command = [program, mode];
        let native = plain_run(&dir, &command, |_| {});
        assert_eq!(native.status.code(), Some(0), "{mode}: native");
        let stdout = String::from_utf8_lossy(&native.stdout).into_owned();
        assert!(stdout.ends_with("success\n"), "{mode}: {stdout}");
        assert!(!stdout.contains(" 0:") && !stdout.contains("aligned: 0"));
        let fast = fast_run(&dir, &command);
        assert_eq!(
            fast.status.code(),
            Some(0),
            "{mode} (fast): {}",
            String::from_utf8_lossy(&fast.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&fast.stdout),
            stdout,
            "{mode} (fast)"
        );
        let check = gpa_run(&dir, &[], &command);
        assert_eq!(
            check.output.status.code(),
            Some(0),
            "{mode}: {}",
            check.stderr()
        );
        assert_eq!(check.stdout(), stdout, "{mode} (check)");
        assert_eq!(
            check.json["all_checked"],
            true,
            "{mode}: {}",
            check.stderr()
        );
        assert_eq!(errors(&check), vec![], "{mode} (check): {}", check.stderr());
    }
}

/// Guard mode reports the reads past the end at the access, as Valgrind does (see above),
/// once per line: a 200,000-byte block's (the 131,073-byte block's end lies in its alignment
/// slack, up to 15 bytes that only `--guard-flush` puts on the guard page, and its last page
/// ends there). The last page's end is Valgrind's "inside an unallocated block", gpa's 4,095
/// bytes after the end. Reads before the start are read from the front guard (only
/// `--guard-underflow` sees them: there the first block's, 1 and 16 bytes before it, as
/// Valgrind's "1 bytes before a block of size 131,073", "16 bytes before"; its reads past the
/// end are in its slack, so the next block's are reported, 262,144 bytes).
#[test]
fn guard_mode_reports_the_reads_past_the_end() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("large-edges-guard");
    let program = program(&dir);
    let command = [program.to_str().unwrap(), "plain"];
    let native = plain_run(&dir, &command, |_| {});
    let stdout = String::from_utf8_lossy(&native.stdout).into_owned();
    let after = |size: u64| {
        vec![
            ("overflow".to_owned(), size, size as i64, Some(AFTER_0)),
            ("overflow".to_owned(), size, size as i64 + 7, Some(AFTER_7)),
            (
                "overflow".to_owned(),
                size,
                size as i64 + 4095,
                Some(PAGE_END),
            ),
        ]
    };
    let guard = gpa_run(&dir, &["--guard"], &command);
    assert_eq!(guard.output.status.code(), Some(0), "{}", guard.stderr());
    assert_eq!(guard.stdout(), stdout);
    // Each access site is one finding counted over the blocks it faulted on (memcheck: one
    // context, one error per block), its size their bytes since the fence sweep: 200,000 +
    // 256 KiB + (256 KiB - 16) + 1 MiB = 1,772,848 (the first block's offsets).
    let mut expected = after(200_000);
    for error in &mut expected {
        error.1 = 1_772_848;
    }
    assert_eq!(errors(&guard), expected, "{}", guard.stderr());
    let underflow = gpa_run(&dir, &["--guard-underflow"], &command);
    assert_eq!(
        underflow.output.status.code(),
        Some(0),
        "{}",
        underflow.stderr()
    );
    assert_eq!(underflow.stdout(), stdout);
    // Counted over every block each site faulted on (since the fence sweep): the reads
    // before each of the eight blocks (7,818,514 bytes in all), past the ends of the 256 KiB
    // and 1 MiB blocks (1,310,720), the first block's offsets.
    let mut wanted = vec![
        ("underflow".to_owned(), 7_818_514, -1, Some(BEFORE_1)),
        ("underflow".to_owned(), 7_818_514, -16, Some(BEFORE_16)),
    ];
    wanted.extend(after(262_144).into_iter().map(|mut e| {
        e.1 = 1_310_720;
        e
    }));
    assert_eq!(errors(&underflow), wanted, "{}", underflow.stderr());
}

/// Beyond glibc: the whole page before a large block's data and the last page's end past a
/// block of any size read in fast and check modes (natively the page before glibc's chunk is
/// whatever mapping lies there: here the run dies of SIGSEGV, not compared). Valgrind: "Invalid
/// read of size 1" at `far_edges` (:41, :42), "inside an unallocated block" or "inside a
/// block of size 262,144 free'd" (its arena's neighbours). Guard mode: an underflow 4,096
/// bytes before the 200,000-byte block at :41 and an overflow 4,095 bytes past its end at
/// :42. Check mode before this branch: the underflow at :41, then the process ended.
#[test]
fn the_page_before_a_large_block_reads_as_zeros() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("large-edges-page");
    let program = program(&dir);
    let command = [program.to_str().unwrap(), "page"];
    let expected = "malloc: 200000 bytes, page before and page end read\n\
                    malloc: 262144 bytes, page before and page end read\n\
                    malloc: 1048576 bytes, page before and page end read\n\
                    posix_memalign(65536): 300000 bytes, page before and page end read\n\
                    success\n";
    let fast = fast_run(&dir, &command);
    assert_eq!(fast.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&fast.stdout), expected);
    let check = gpa_run(&dir, &[], &command);
    assert_eq!(check.output.status.code(), Some(0), "{}", check.stderr());
    assert_eq!(check.stdout(), expected);
    assert_eq!(errors(&check), vec![], "{}", check.stderr());
    let guard = gpa_run(&dir, &["--guard"], &command);
    assert_eq!(guard.output.status.code(), Some(0), "{}", guard.stderr());
    assert_eq!(guard.stdout(), expected);
    assert_eq!(
        errors(&guard),
        vec![
            ("underflow".to_owned(), 200_000, -4096, Some(PAGE_BEFORE)),
            // Counted over the three malloc blocks whose page end it read (since the fence
            // sweep): 200,000 + 256 KiB + 1 MiB = 1,510,720 bytes.
            (
                "overflow".to_owned(),
                1_510_720,
                204_095,
                Some(PAGE_BEFORE + 1)
            ),
        ],
        "{}",
        guard.stderr()
    );
}

/// A byte written just before a large block (the top byte of glibc's size field: glibc's
/// `free` does not notice this one, `munmap` of the damaged length fails, and the run goes
/// on). Valgrind: "Invalid write of size 1" at `underwrite` (:136), "1 bytes
/// before a block of size 262,144 alloc'd". Check and guard modes: the front guard's first
/// changed byte, 1 byte before the block, found at the free (:137); fast mode: nothing (gpa
/// keeps nothing there), the run as the native one.
#[test]
fn a_write_before_a_large_block() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("large-edges-write");
    let program = program(&dir);
    let command = [program.to_str().unwrap(), "write"];
    let native = plain_run(&dir, &command, |_| {});
    assert_eq!(native.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&native.stdout).into_owned();
    let fast = fast_run(&dir, &command);
    assert_eq!(fast.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&fast.stdout), stdout);
    for options in [&[][..], &["--guard"][..]] {
        let run = gpa_run(&dir, options, &command);
        assert_eq!(run.output.status.code(), Some(0), "{}", run.stderr());
        assert_eq!(run.stdout(), stdout);
        let found = errors(&run);
        assert_eq!(found.len(), 1, "{options:?}: {}", run.stderr());
        let (kind, size, offset, line) = &found[0];
        assert_eq!(
            (kind.as_str(), *size, *offset, *line),
            ("underflow", 262_144, -1, Some(FREE_AFTER_WRITE)),
            "{options:?}: {}",
            run.stderr()
        );
        let functions = stack_functions(&run.findings()[0], "alloc");
        assert!(
            functions.iter().any(|f| f == "underwrite"),
            "{options:?}: {}",
            run.stderr()
        );
    }
}

/// Reads before a freed large block (`freed`; natively glibc has unmapped the chunk and the
/// run dies of SIGSEGV, not compared). Valgrind: "Invalid read of size 1" at `freed` (:146),
/// "1 bytes before a block of size 262,144 free'd" (freed at :145, alloc'd at :144); the read
/// 2000 bytes before it (:147) is not reported (its own arena's memory lies there). Check and
/// guard modes: a read after free at each, 1 and 2000 bytes before the block, the second in
/// the freed block's front, which its quarantine keeps inaccessible with the rest of its
/// range (check mode), or in the guarded block's page; the run goes on.
#[test]
fn reads_before_a_freed_large_block_are_reads_after_free() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("large-edges-freed");
    let program = program(&dir);
    let command = [program.to_str().unwrap(), "freed"];
    for options in [&[][..], &["--guard"][..]] {
        let run = gpa_run(&dir, options, &command);
        assert_eq!(run.output.status.code(), Some(0), "{}", run.stderr());
        assert_eq!(run.stdout(), "read after free\nsuccess\n");
        assert_eq!(
            errors(&run),
            vec![
                ("read_after_free".to_owned(), 262_144, -1, Some(146)),
                ("read_after_free".to_owned(), 262_144, -2000, Some(147)),
            ],
            "{options:?}: {}",
            run.stderr()
        );
        for finding in run.findings().iter().filter(|f| f["kind"] != "leak") {
            assert_eq!(first_frame_line(finding, "free"), Some(145));
            assert_eq!(first_frame_line(finding, "alloc"), Some(144));
        }
    }
}

fn first_frame_line(finding: &Value, stack: &str) -> Option<u64> {
    finding["stacks"][stack][0]["line"].as_u64()
}

/// Bytes written farther before large blocks than glibc's header (`farwrite`: 40 bytes
/// before a 256 KiB block, 3,000 before a 1 MiB one; natively nothing is mapped there and the
/// run dies of SIGSEGV, not compared). Valgrind 3.19: two "Invalid write of size 1", at
/// `underwrite_far` (:156) and (:159) (its own layout puts the first in "a rwx anonymous
/// segment", the second "259,208 bytes inside a block of size 262,144 free'd"). Check mode:
/// the front guard (the front's last page, canary-filled in safety mode) damaged, an
/// underflow 40 and 3,000 bytes before each block, found at its free (:157, :160); guard
/// mode the same from its own canaries. The run goes on.
#[test]
fn writes_farther_before_a_large_block_are_underflows() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("large-edges-farwrite");
    let program = program(&dir);
    let command = [program.to_str().unwrap(), "farwrite"];
    for options in [&[][..], &["--guard"][..]] {
        let run = gpa_run(&dir, options, &command);
        assert_eq!(run.output.status.code(), Some(0), "{}", run.stderr());
        assert_eq!(run.stdout(), "written farther before\nsuccess\n");
        assert_eq!(
            errors(&run),
            vec![
                ("underflow".to_owned(), 262_144, -40, Some(157)),
                ("underflow".to_owned(), 1_048_576, -3000, Some(160)),
            ],
            "{options:?}: {}",
            run.stderr()
        );
    }
}
