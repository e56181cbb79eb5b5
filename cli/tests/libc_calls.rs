//! Heap mistakes made through libc's memory and string functions (`memcpy`, `strlen`,
//! `strcpy`, `__memcpy_chk`...), which check mode checks at the call (`gpa::capi::libc_calls`):
//! each planted bug is reported once, at the call's line, with the block's relation and
//! traces that Valgrind memcheck 3.19 gives for the same program (quoted per case); clean
//! programs with heavy legitimate use report nothing, as under Valgrind.
//!
//! Where gpa and Valgrind differ, by design:
//! * Valgrind's "Invalid read of size N" is the width of one load of its replacement function
//!   (8, 2, 1...), and its error count is one per load or store instruction (a 4-byte overflow
//!   by `memcpy` is "4 errors from 1 contexts"); gpa reports each call site once, with the
//!   bytes of the call's range outside the block ("read of 8 bytes"), or 1 byte where the
//!   function stops at data (a string's end, the first difference). The block, its size, the
//!   relation ("0 bytes after", "4 bytes before", "4 bytes inside ... free'd") and the sites
//!   are the same.
//! * Valgrind 3.19 replaces glibc 2.36's `memcpy` with its `memmove` (glibc's variants share
//!   code), so it reports no overlap in a plain `memcpy`; it does for `__memcpy_chk`
//!   ("Source and destination overlap in memcpy_chk(...)"). gpa reports both: an overlapping
//!   `memcpy` is undefined behaviour whatever the library does today.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// The 1-based line of `source` holding `needle`, after line `after`.
fn line_of(source: &str, needle: &str, after: usize) -> u64 {
    source
        .lines()
        .enumerate()
        .skip(after)
        .find(|(_, line)| line.contains(needle))
        .map(|(index, _)| index as u64 + 1)
        .unwrap_or_else(|| panic!("no line with {needle:?}"))
}

/// The line of the last line holding `needle` before line `before`.
fn line_before(source: &str, needle: &str, before: u64) -> u64 {
    source
        .lines()
        .enumerate()
        .take(before as usize - 1)
        .filter(|(_, line)| line.contains(needle))
        .map(|(index, _)| index as u64 + 1)
        .last()
        .unwrap_or_else(|| panic!("no line with {needle:?} before {before}"))
}

fn source_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/libc")
        .join(format!("{name}.c"));
    std::fs::read_to_string(path).expect("read the C source")
}

/// The first frame of a finding's stack in the program's own source: its function and line
/// (`_FORTIFY_SOURCE`'s inline wrappers, `memcpy (string_fortified.h:29)`, come before it, as
/// in Valgrind's stacks).
fn first_frame(finding: &Value, stack: &str) -> (String, u64) {
    let frames = finding["stacks"][stack]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let Some(frame) = frames.iter().find(|frame| !fortify_header(frame)) else {
        return ("?".to_owned(), 0);
    };
    (
        frame["function"].as_str().unwrap_or("?").to_owned(),
        frame["line"].as_u64().unwrap_or(0),
    )
}

/// Whether `frame` is in one of glibc's `_FORTIFY_SOURCE` headers (`bits/string_fortified.h`,
/// `bits/wchar2.h`, `bits/unistd.h`, `bits/stdio2.h`...): an inline wrapper.
fn fortify_header(frame: &Value) -> bool {
    frame["file"]
        .as_str()
        .is_some_and(|file| file.contains("/bits/") || file.ends_with("string_fortified.h"))
}

/// Runs `binary CASE` under `gpa run` (check mode, or `options`) for each case, two at a
/// time, each in a directory of its own.
fn run_cases(dir: &Path, binary: &Path, options: &[&str], cases: &[&str]) -> Vec<Run> {
    let mut runs: Vec<Option<Run>> = (0..cases.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let half = cases.len().div_ceil(2);
        for (chunk_index, chunk) in runs.chunks_mut(half).enumerate() {
            scope.spawn(move || {
                for (offset, slot) in chunk.iter_mut().enumerate() {
                    let index = chunk_index * half + offset;
                    let case_dir = dir.join(format!("case-{index}"));
                    std::fs::create_dir_all(&case_dir).unwrap();
                    let command = [binary.to_str().unwrap(), cases[index]];
                    *slot = Some(gpa_run(&case_dir, options, &command));
                }
            });
        }
    });
    runs.into_iter().map(Option::unwrap).collect()
}

/// What Valgrind says of one planted bug, in gpa's terms.
struct Expected {
    /// The program's case name (and its `@CASE` marker).
    case: &'static str,
    /// gpa's kind for Valgrind's verdict.
    kind: &'static str,
    /// "read" or "write" (none for an overlap).
    access: Option<&'static str>,
    /// The first bad byte's offset from the block's start (Valgrind's "N bytes after a block
    /// of size M" is offset M + N; "N bytes before" is -N; "N bytes inside" is N).
    offset: Option<i64>,
    /// The block's size.
    size: u64,
    /// The line (marker) of the allocation, searched backwards from the call.
    alloc: &'static str,
    /// The line of the free, for a freed block.
    freed: bool,
    /// The start of the message (overlaps: Valgrind's text).
    message: &'static str,
}

const fn access(
    case: &'static str,
    kind: &'static str,
    access: &'static str,
    offset: i64,
    size: u64,
    alloc: &'static str,
) -> Expected {
    Expected {
        case,
        kind,
        access: Some(access),
        offset: Some(offset),
        size,
        alloc,
        freed: false,
        message: "",
    }
}

const P: &str = "char *p = malloc(16);";
const Q: &str = "char *q = malloc(";

/// Valgrind 3.19 on `planted.c` (gcc -O0), case by case (`valgrind ./planted CASE`):
const PLANTED: &[Expected] = &[
    // Invalid read of size 8 at memmove, by main (planted.c:@); Address is 0 bytes after a
    // block of size 16 alloc'd ... by main (planted.c:18). 1 error.
    access("memcpy_read", "overflow", "read", 16, 16, P),
    // Invalid write of size 2 at memmove; 0 bytes after a block of size 16. 4 errors, 1 context.
    access("memcpy_write", "overflow", "write", 16, 16, P),
    // Invalid read of size 8 at memmove; Address is 0 bytes inside a block of size 16 free'd
    // (free and malloc traces). 1 error.
    Expected {
        freed: true,
        ..access("memmove_read_freed", "read_after_free", "read", 0, 16, P)
    },
    // Invalid write of size 1 at memset; 0 bytes after a block of size 16. 2 errors.
    access("memset_write", "overflow", "write", 16, 16, P),
    // Invalid write of size 1 at memset; 4 bytes inside a block of size 16 free'd. 2 errors
    // from 2 contexts (two store instructions of its memset).
    Expected {
        freed: true,
        ..access("memset_freed", "write_after_free", "write", 4, 16, P)
    },
    // Invalid read of size 2 at memmove; 4 bytes before a block of size 16 alloc'd. 2 errors.
    access("memcpy_underflow", "underflow", "read", -4, 16, P),
    // Invalid read of size 1 at strlen; 0 bytes after a block of size 16. 1 error.
    access("strlen", "overflow", "read", 16, 16, P),
    // Invalid write of size 1 at strcpy; 0 bytes after a block of size 16 (2 contexts).
    access("strcpy", "overflow", "write", 16, 16, P),
    // Invalid write of size 1 at strcat; 0 bytes after a block of size 16 (2 contexts).
    access("strcat", "overflow", "write", 16, 16, P),
    // Invalid write of size 1 at strncpy; 0 bytes after a block of size 16. 4 errors.
    access("strncpy", "overflow", "write", 16, 16, P),
    // Invalid read of size 1 at bcmp; 0 bytes after a block of size 16. 1 error.
    access("memcmp", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at strcmp; 0 bytes after a block of size 16. 1 error.
    access("strcmp", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at index (strchr); 0 bytes after a block of size 16. 1 error.
    access("strchr", "overflow", "read", 16, 16, P),
    // (gcc calls strcpy for the unused stpcpy) Invalid write of size 1 at strcpy; 0 bytes
    // after a block of size 4. 1 error.
    access("stpcpy", "overflow", "write", 4, 4, Q),
    // Invalid read of size 1 at strnlen; 0 bytes after a block of size 16. 1 error.
    access("strnlen", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at memchr; 0 bytes after a block of size 16. 1 error.
    access("memchr", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at strncmp; 0 bytes after a block of size 16. 1 error.
    access("strncmp", "overflow", "read", 16, 16, P),
    // Invalid write of size 1 at strncat; 0 bytes after a block of size 16 (2 contexts).
    access("strncat", "overflow", "write", 16, 16, P),
    // Source and destination overlap in strcpy(0x4a40090, 0x4a40092), by main. 1 error.
    Expected {
        case: "overlap_strcpy",
        kind: "overlap",
        access: None,
        offset: None,
        size: 0,
        alloc: Q,
        freed: false,
        message: "Source and destination overlap in strcpy(0x",
    },
    // Source and destination overlap in strncpy(0x4a400a0, 0x4a400a2, 16). 1 error.
    Expected {
        case: "overlap_strncpy",
        kind: "overlap",
        access: None,
        offset: None,
        size: 16,
        alloc: Q,
        freed: false,
        message: "Source and destination overlap in strncpy(0x",
    },
    // Valgrind: no error (its memmove replaces glibc's memcpy; see the module docs). gpa:
    // the overlap, as Valgrind reports it for `__memcpy_chk` (`fortified_calls_*`).
    Expected {
        case: "overlap_memcpy",
        kind: "overlap",
        access: None,
        offset: None,
        size: 16,
        alloc: Q,
        freed: false,
        message: "Source and destination overlap in memcpy(0x",
    },
];

/// Checks that `run` has exactly the finding `expected` describes, at the call marked
/// `@CASE` in `source`.
fn check_case(run: &Run, expected: &Expected, source: &str) {
    let case = expected.case;
    let findings = run.findings();
    assert_eq!(
        findings.len(),
        1,
        "{case}: one finding expected:\n{}\n{}",
        describe(&findings),
        run.stderr()
    );
    let finding = &findings[0];
    assert_eq!(finding["kind"], expected.kind, "{case}: {finding}");
    match expected.access {
        Some(access) => assert_eq!(finding["access"], access, "{case}: {finding}"),
        None => assert!(finding["access"].is_null(), "{case}: {finding}"),
    }
    match expected.offset {
        Some(offset) => assert_eq!(finding["offset"], offset, "{case}: {finding}"),
        None => assert!(finding["offset"].is_null(), "{case}: {finding}"),
    }
    assert_eq!(finding["size"], expected.size, "{case}: {finding}");
    let message = finding["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(expected.message), "{case}: {message}");
    let call = line_of(source, &format!("@{case}"), 0);
    let site = if expected.kind == "overlap" {
        "detected"
    } else {
        "access"
    };
    assert_eq!(
        first_frame(finding, site),
        ("main".to_owned(), call),
        "{case}: the call's stack starts at the program's call: {finding}"
    );
    if expected.kind != "overlap" {
        let alloc = line_before(source, expected.alloc, call);
        assert_eq!(
            first_frame(finding, "alloc"),
            ("main".to_owned(), alloc),
            "{case}: {finding}"
        );
    }
    if expected.freed {
        let free = line_before(source, "free(p);", call);
        assert_eq!(
            first_frame(finding, "free"),
            ("main".to_owned(), free),
            "{case}: {finding}"
        );
    } else {
        assert!(finding["stacks"]["free"].is_null(), "{case}: {finding}");
    }
}

#[test]
fn planted_bugs_in_libc_calls_are_reported_at_the_call_as_valgrind_reports_them() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-planted");
    let binary = compile_c_with("libc", "planted", "planted", &[], &dir);
    let source = source_text("planted");
    let cases: Vec<&str> = PLANTED.iter().map(|expected| expected.case).collect();
    let runs = run_cases(&dir, &binary, &[], &cases);
    for (run, expected) in runs.iter().zip(PLANTED) {
        check_case(run, expected, &source);
        assert_eq!(run.json["errors"], 1, "{}: {}", expected.case, run.stderr());
    }
}

#[test]
fn guard_mode_reports_the_call_once_before_the_guard_page_ends_the_run() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-guard");
    let binary = compile_c_with("libc", "planted", "planted", &[], &dir);
    let source = source_text("planted");
    // A read past the block: glibc's `memcpy` then faults on the guard page (the run ends as
    // guard mode's runs do), and the fault is the same finding, kept once. A read after free
    // of a small block: Valgrind's verdict, which check mode alone could not give before.
    let cases = ["memcpy_read", "memmove_read_freed", "overlap_strcpy"];
    let runs = run_cases(&dir, &binary, &["--guard"], &cases);
    for (run, case) in runs.iter().zip(cases) {
        let expected = PLANTED.iter().find(|e| e.case == case).unwrap();
        check_case(run, expected, &source);
    }
}

/// `fortify.c` at -O2 -D_FORTIFY_SOURCE=2, as Valgrind 3.19 reports it.
#[test]
fn fortified_calls_are_checked_like_the_plain_ones() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-fortify");
    let binary = compile_c_with(
        "libc",
        "fortify",
        "fortify",
        &["-O2", "-D_FORTIFY_SOURCE=2"],
        &dir,
    );
    let source = source_text("fortify");
    let alloc = "char *p = malloc(16);";
    let expected = [
        // Invalid read of size 1 at __memcpy_chk, by memcpy (string_fortified.h:29), by main
        // (fortify.c:@read); Address is 7 bytes after a block of size 16 alloc'd (its copy
        // runs backwards: the first bad byte is at 16). 8 errors from 2 contexts.
        Expected {
            message: "buffer overflow: read of 8 bytes 0 bytes after the end of a 16-byte block",
            ..access("read", "overflow", "read", 16, 16, alloc)
        },
        // Source and destination overlap in memcpy_chk(0x4a40094, 0x4a40090, 16). 1 error.
        Expected {
            case: "overlap",
            kind: "overlap",
            access: None,
            offset: None,
            size: 16,
            alloc: "char *q = malloc(32);",
            freed: false,
            message: "Source and destination overlap in memcpy_chk(0x",
        },
        // Invalid write of size 4 at __memset_avx2_unaligned_erms, by memset
        // (string_fortified.h:59), by main (fortify.c:@freed); 4 bytes inside a block of size
        // 16 free'd. 2 errors from 2 contexts.
        Expected {
            freed: true,
            ..access("freed", "write_after_free", "write", 4, 16, alloc)
        },
        // Invalid read of size 1 at __strcpy_chk, by strcpy (string_fortified.h:79), by main
        // (fortify.c:@strcpy); 0 bytes after a block of size 16 alloc'd. 1 error.
        access("strcpy", "overflow", "read", 16, 16, alloc),
    ];
    let cases: Vec<&str> = expected.iter().map(|e| e.case).collect();
    let runs = run_cases(&dir, &binary, &[], &cases);
    for (run, expected) in runs.iter().zip(&expected) {
        check_case(run, expected, &source);
        // Valgrind's second frame: the inline wrapper of the fortified header.
        let finding = &run.findings()[0];
        let site = if expected.kind == "overlap" {
            "detected"
        } else {
            "access"
        };
        assert!(fortify_header(&finding["stacks"][site][0]), "{finding}");
    }
}

#[test]
fn one_call_site_in_four_threads_is_one_finding_for_four_blocks() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-threads");
    let binary = compile_c_with("libc", "threads", "threads", &[], &dir);
    let source = source_text("threads");
    let run = gpa_run(&dir, &[], &[binary.to_str().unwrap()]);
    assert_eq!(run.stdout(), "done\n");
    let findings = run.findings();
    assert_eq!(findings.len(), 1, "{}", describe(&findings));
    let finding = &findings[0];
    // Valgrind: Invalid read of size 2 at memmove, by reader (threads.c:@read); 0 bytes after
    // a block of size 16 alloc'd, by reader (threads.c:@alloc); 8 errors from 1 context.
    assert_eq!(finding["kind"], "overflow");
    assert_eq!(finding["access"], "read");
    assert_eq!(finding["offset"], 16);
    assert_eq!(finding["count"], 4, "{finding}");
    assert_eq!(
        first_frame(finding, "access"),
        ("reader".to_owned(), line_of(&source, "@read", 0))
    );
    assert_eq!(
        first_frame(finding, "alloc"),
        ("reader".to_owned(), line_of(&source, "@alloc", 0))
    );
}

fn clean_binaries(dir: &Path) -> Vec<PathBuf> {
    vec![
        compile_c_with("libc", "clean", "clean", &[], dir),
        compile_c_with(
            "libc",
            "clean",
            "clean-fortify",
            &["-O2", "-D_FORTIFY_SOURCE=2"],
            dir,
        ),
    ]
}

#[test]
fn heavy_legitimate_use_reports_nothing_in_check_and_guard_modes() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-clean");
    // Valgrind 3.19: ERROR SUMMARY: 0 errors from 0 contexts; all blocks freed.
    assert_clean_in_check_and_guard_modes(&dir, &clean_binaries(&dir));
}

/// `libc/NAME.c` built at -O0 and at -O2 -D_FORTIFY_SOURCE=2.
fn plain_and_fortified(dir: &Path, name: &str) -> [PathBuf; 2] {
    let fortified = format!("{name}-fortify");
    [
        compile_c_with("libc", name, name, &[], dir),
        compile_c_with(
            "libc",
            name,
            &fortified,
            &["-O2", "-D_FORTIFY_SOURCE=2"],
            dir,
        ),
    ]
}

/// Runs each of `binaries` without gpa, then in check and guard modes: the same output, and
/// no finding.
fn assert_clean_in_check_and_guard_modes(dir: &Path, binaries: &[PathBuf]) {
    let plain = plain_run(dir, &[binaries[0].to_str().unwrap()], |_| {});
    assert!(plain.status.success());
    for binary in binaries {
        for options in [&[][..], &["--guard"][..]] {
            let run = gpa_run(dir, options, &[binary.to_str().unwrap()]);
            assert_eq!(run.output.stdout, plain.stdout, "{options:?}");
            assert_eq!(
                run.findings().len(),
                0,
                "{} {options:?}: {}",
                binary.display(),
                describe(&run.findings())
            );
            assert_eq!(run.json["errors"], 0);
        }
    }
}

#[test]
fn fast_mode_only_passes_the_calls_through() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-fast");
    let binary = compile_c_with("libc", "planted", "planted", &[], &dir);
    let clean = compile_c_with("libc", "clean", "clean", &[], &dir);
    // A planted bug changes nothing in fast mode: same output as without gpa, no report.
    assert_fast_mode_passes_through(
        &dir,
        &[
            (&binary, "memcpy_read"),
            (&binary, "overlap_memcpy"),
            (&clean, ""),
        ],
    );
}

/// Runs each `(program, case)` with the preload library in fast mode: the same status and
/// output as without gpa, and nothing on stderr (no report).
fn assert_fast_mode_passes_through(dir: &Path, runs: &[(&PathBuf, &str)]) {
    for &(program, case) in runs {
        let plain = plain_run(dir, &[program.to_str().unwrap(), case], |_| {});
        let out = std::process::Command::new(program)
            .arg(case)
            .current_dir(dir)
            .env("LD_PRELOAD", preload_library())
            .env("GPA_MODE", "fast")
            .output()
            .expect("run the program");
        assert_eq!(out.status.code(), plain.status.code(), "{case}");
        assert_eq!(out.stdout, plain.stdout, "{case}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

const W: &str = "wchar_t *w = malloc(16);";

/// A read or write `offset` bytes from the start of a freed 16-byte block `p`.
const fn freed(
    case: &'static str,
    kind: &'static str,
    access_: &'static str,
    offset: i64,
) -> Expected {
    Expected {
        freed: true,
        ..access(case, kind, access_, offset, 16, P)
    }
}

/// Valgrind 3.19 on `more.c` (gcc -O0), case by case (`valgrind --leak-check=full ./more
/// CASE`): the functions Valgrind replaces (its `vg_replace_strmem.c`), the system calls whose
/// buffers it checks, and stdio's copies, which it sees in glibc's own code. `p` is a 16-byte
/// block of 'a's without a terminator, `w` a 16-byte block of four wide 'a's without one.
const MORE: &[Expected] = &[
    // Invalid read of size 1 at rindex, by main (more.c:@); Address is 0 bytes after a block
    // of size 16 alloc'd. 1 error.
    access("strrchr", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at rindex; 0 bytes inside a block of size 16 free'd. 17 errors
    // from 2 contexts (its two loads, one per byte).
    freed("strrchr_freed", "read_after_free", "read", 0),
    // Invalid read of size 1 at strstr; 0 bytes after a block of size 16. 1 error.
    access("strstr", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at strcasestr; 0 bytes after a block of size 16. 1 error.
    access("strcasestr", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at strpbrk; 0 bytes after a block of size 16. 1 error.
    access("strpbrk", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at strcspn; 0 bytes after a block of size 16. 1 error.
    access("strcspn", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at strspn; 0 bytes after a block of size 16. 1 error.
    access("strspn", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at memrchr; Address is 3 bytes after a block of size 16 (it reads
    // backwards from the range's last byte, 19). 4 errors from 2 contexts. gpa: the first bad
    // byte in address order, 0 bytes after (as for `__memcpy_chk`'s backward copy).
    access("memrchr", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at rawmemchr; 0 bytes after a block of size 16. 1 error.
    access("rawmemchr", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at strcasecmp; 0 bytes after a block of size 16. 1 error.
    access("strcasecmp", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at strncasecmp; 0 bytes after a block of size 16. 1 error.
    access("strncasecmp", "overflow", "read", 16, 16, P),
    // Invalid write of size 1 at stpncpy; 0 bytes after a block of size 16. 4 errors.
    access("stpncpy", "overflow", "write", 16, 16, P),
    // Invalid read of size 1 at strlen, by main (more.c:@puts: glibc's puts takes the
    // string's strlen first); 0 bytes after a block of size 16. 1 error.
    access("puts", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at strlen, by main (@fputs_freed); 0 bytes inside a block of
    // size 16 free'd. 33 errors from 4 contexts (then glibc's copy into the stream).
    freed("fputs_freed", "read_after_free", "read", 0),
    // Invalid read of size 1 at strlen, by main (@fputs_unlocked); 0 bytes after a block of
    // size 16. 1 error.
    access("fputs_unlocked", "overflow", "read", 16, 16, P),
    // Invalid write of size 2 at memmove, by memccpy (memccpy.c:38), by main; 0 bytes after a
    // block of size 16. 4 errors.
    access("memccpy", "overflow", "write", 16, 16, P),
    // Invalid write of size 1 at bcopy; 0 bytes after a block of size 16. 4 errors.
    access("bcopy", "overflow", "write", 16, 16, P),
    // Invalid write of size 1 at memset (its bzero); 0 bytes after a block of size 16. 4
    // errors from 2 contexts.
    access("bzero", "overflow", "write", 16, 16, P),
    // Invalid write of size 1 at memset, by explicit_bzero (explicit_bzero.c:35), by main; 4
    // bytes inside a block of size 16 free'd. 4 errors from 2 contexts.
    freed("explicit_bzero", "write_after_free", "write", 4),
    // Invalid read of size 1 at strlen, by strdup (strdup.c:41), by main; 0 bytes after a
    // block of size 16. 2 errors from 2 contexts (strdup's strlen, then its memcpy).
    access("strdup", "overflow", "read", 16, 16, P),
    // Invalid read of size 1 at strnlen, by strndup (strndup.c:42); 0 bytes after. 1 error.
    access("strndup", "overflow", "read", 16, 16, P),
    // Invalid read of size 4 at wcslen; 0 bytes after a block of size 16. 1 error.
    access("wcslen", "overflow", "read", 16, 16, W),
    // Invalid read of size 4 at wcsnlen; 0 bytes after a block of size 16. 1 error.
    access("wcsnlen", "overflow", "read", 16, 16, W),
    // Invalid write of size 4 at wcscpy; 0 bytes after a block of size 16. 7 errors from 2
    // contexts (the rest runs on into `p`'s neighbourhood).
    access("wcscpy", "overflow", "write", 16, 16, W),
    // Invalid read of size 4 at wcscmp; 0 bytes after a block of size 16. 1 error.
    access("wcscmp", "overflow", "read", 16, 16, W),
    // Invalid read of size 4 at wcschr; 0 bytes after a block of size 16. 1 error.
    access("wcschr", "overflow", "read", 16, 16, W),
    // Invalid read of size 4 at wcsrchr; 0 bytes after a block of size 16. 1 error.
    access("wcsrchr", "overflow", "read", 16, 16, W),
    // Invalid read of size 4 at wmemchr; 0 bytes after a block of size 16. 2 errors.
    access("wmemchr", "overflow", "read", 16, 16, W),
    // (Valgrind does not replace wmemcmp.) Invalid read of size 32 at __wmemcmp_avx2_movbe;
    // 0 bytes inside a block of size 16 (one vector load over the block's end), then Invalid
    // read of size 4; 0 bytes after a block of size 16. 2 errors from 2 contexts. gpa: the
    // first wide character out of bounds.
    access("wmemcmp", "overflow", "read", 16, 16, W),
    // Invalid write of size 8 at memmove (its wmemcpy); 0 bytes after a block of size 16.
    access("wmemcpy", "overflow", "write", 16, 16, W),
    // Invalid write of size 8 at __memset_avx2_unaligned_erms; 0 bytes after. 1 error.
    access("wmemset", "overflow", "write", 16, 16, W),
    // Syscall param read(buf) points to unaddressable byte(s) at read (read.c:26), by main;
    // Address is 0 bytes after a block of size 16 alloc'd. 1 error.
    access("read", "overflow", "write", 16, 16, P),
    // Syscall param read(buf) points to unaddressable byte(s); 0 bytes inside a block of size
    // 16 free'd. 1 error.
    freed("read_freed", "write_after_free", "write", 0),
    // Syscall param write(buf) points to unaddressable byte(s); 0 bytes after. 1 error.
    access("write", "overflow", "read", 16, 16, P),
    // Syscall param pread64(buf) points to unaddressable byte(s) at pread (pread64.c:25).
    access("pread64", "overflow", "write", 16, 16, P),
    // Syscall param pwrite64(buf) points to unaddressable byte(s) at pwrite (pwrite64.c:25).
    access("pwrite64", "overflow", "read", 16, 16, P),
    // Syscall param socketcall.recvfrom(buf) points to unaddressable byte(s) at recv.
    access("recv", "overflow", "write", 16, 16, P),
    // Syscall param socketcall.recvfrom(buf) points to unaddressable byte(s) at recvfrom.
    access("recvfrom", "overflow", "write", 16, 16, P),
    // Syscall param socketcall.sendto(msg) points to unaddressable byte(s) at send.
    access("send", "overflow", "read", 16, 16, P),
    // Syscall param socketcall.sendto(msg) points to unaddressable byte(s) at sendto.
    access("sendto", "overflow", "read", 16, 16, P),
    // Syscall param readv(vector[...]) points to unaddressable byte(s); 0 bytes after.
    access("readv", "overflow", "write", 16, 16, P),
    // Syscall param writev(vector[...]) points to unaddressable byte(s); 0 bytes after.
    access("writev", "overflow", "read", 16, 16, P),
    // Invalid write of size 2 at memmove, by _IO_file_xsgetn (fileops.c:1295), by fread
    // (iofread.c:38), by main; 0 bytes after a block of size 16. 4 errors.
    access("fread", "overflow", "write", 16, 16, P),
    // Invalid read of size 1 at _IO_default_xsputn (genops.c:393), ..., by fwrite
    // (iofwrite.c:39), by main; 0 bytes after a block of size 16. 4 errors from 2 contexts.
    access("fwrite", "overflow", "read", 16, 16, P),
    // Invalid write of size 2 at memmove, by _IO_getline_info (iogetline.c:100), by fgets
    // (iofgets.c:53), by main; 0 bytes after a block of size 16. 4 errors from 3 contexts.
    access("fgets", "overflow", "write", 16, 16, P),
];

/// The function a finding of `case` names: the case's own, or the system call's parameter.
fn named_call(case: &str) -> String {
    match case {
        "strrchr_freed" => "strrchr".to_owned(),
        "fputs_freed" => "fputs".to_owned(),
        "read_freed" => "read(buf)".to_owned(),
        "read" | "write" | "pread64" | "pwrite64" | "recv" | "recvfrom" => format!("{case}(buf)"),
        "send" | "sendto" => format!("{case}(msg)"),
        "readv" | "writev" => format!("{case}(vector[...])"),
        _ => case.to_owned(),
    }
}

#[test]
fn more_libc_functions_system_calls_and_stdio_are_checked_as_valgrind_checks_them() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-more");
    let binary = compile_c_with("libc", "more", "more", &[], &dir);
    let source = source_text("more");
    let cases: Vec<&str> = MORE.iter().map(|expected| expected.case).collect();
    let runs = run_cases(&dir, &binary, &[], &cases);
    for (run, expected) in runs.iter().zip(MORE) {
        check_case(run, expected, &source);
        assert_eq!(run.json["errors"], 1, "{}: {}", expected.case, run.stderr());
        let finding = &run.findings()[0];
        let message = finding["message"].as_str().unwrap_or_default();
        let call = format!("(in {})", named_call(expected.case));
        assert!(message.ends_with(&call), "{}: {message}", expected.case);
    }
}

#[test]
fn guard_mode_reports_the_newer_calls_once() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-more-guard");
    let binary = compile_c_with("libc", "more", "more", &[], &dir);
    let source = source_text("more");
    // A string read past the block (glibc's function then faults on the guard page), a
    // freed block handed to read(2) (the kernel's EFAULT ends nothing: the call's check is the
    // only report).
    let cases = ["wcslen", "read_freed", "strspn", "fread"];
    let runs = run_cases(&dir, &binary, &["--guard"], &cases);
    for (run, case) in runs.iter().zip(&cases[..3]) {
        let expected = MORE.iter().find(|e| e.case == *case).unwrap();
        check_case(run, expected, &source);
    }
    // fread's copy past the block faults inside glibc, before the check after the call: the
    // fault is the finding, with Valgrind's stack (memmove, by _IO_file_xsgetn, by fread, by
    // main at the call).
    let findings = runs[3].findings();
    assert_eq!(findings.len(), 1, "{}", describe(&findings));
    let finding = &findings[0];
    assert_eq!(
        (&finding["kind"], &finding["access"], &finding["offset"]),
        (&"overflow".into(), &"write".into(), &16.into()),
        "{finding}"
    );
    let call = line_of(&source, "@fread", 0);
    let frames = finding["stacks"]["access"].as_array().unwrap();
    assert!(
        frames
            .iter()
            .any(|frame| frame["function"] == "main" && frame["line"] == call),
        "{finding}"
    );
}

/// `more_fortify.c` at -O2 -D_FORTIFY_SOURCE=2, as Valgrind 3.19 reports it.
#[test]
fn fortified_forms_of_the_newer_calls_are_checked_like_the_plain_ones() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-more-fortify");
    let binary = compile_c_with(
        "libc",
        "more_fortify",
        "more_fortify",
        &["-O2", "-D_FORTIFY_SOURCE=2"],
        &dir,
    );
    let source = source_text("more_fortify");
    let expected = [
        // Invalid read of size 4 at __wcscpy_chk (wcscpy_chk.c:39), by wcscpy (wchar2.h), by
        // main; 0 bytes after a block of size 16 alloc'd. 1 error.
        access("wcscpy", "overflow", "read", 16, 16, W),
        // Invalid read of size 1 at stpncpy, by __stpncpy_chk, by main; 0 bytes after a block
        // of size 16. 1 error.
        access("stpncpy", "overflow", "read", 16, 16, P),
        // Syscall param read(buf) points to unaddressable byte(s) at read, by __read_chk;
        // 0 bytes inside a block of size 16 free'd. 1 error.
        freed("read", "write_after_free", "write", 0),
        // Invalid write of size 8 at memmove, by ... __fread_chk, by main; 0 bytes inside a
        // block of size 16 free'd. 1 error.
        freed("fread", "write_after_free", "write", 0),
    ];
    let cases: Vec<&str> = expected.iter().map(|e| e.case).collect();
    let runs = run_cases(&dir, &binary, &[], &cases);
    for (run, expected) in runs.iter().zip(&expected) {
        check_case(run, expected, &source);
        assert_eq!(run.json["errors"], 1, "{}: {}", expected.case, run.stderr());
        let finding = &run.findings()[0];
        let message = finding["message"].as_str().unwrap_or_default();
        let call = match expected.case {
            "wcscpy" => "__wcscpy_chk",
            "stpncpy" => "__stpncpy_chk",
            "read" => "read(buf)",
            _ => "fread",
        };
        assert!(message.ends_with(&format!("(in {call})")), "{message}");
        // Valgrind's frame before main's: the fortified header's inline wrapper.
        assert!(fortify_header(&finding["stacks"]["access"][0]), "{finding}");
    }
}

#[test]
fn heavy_legitimate_use_of_the_newer_calls_reports_nothing() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-more-clean");
    let binaries = plain_and_fortified(&dir, "more_clean");
    // Valgrind 3.19: all blocks freed; no error of the program's (see the source).
    assert_clean_in_check_and_guard_modes(&dir, &binaries);
}

/// `handler.c`: a SIGALRM handler's out-of-bounds `memcpy` every 20 microseconds, while the
/// main thread's own out-of-bounds calls keep gpa recording. The run ends (a `timeout` of 120
/// seconds around the program turns a hang into a failure), both sites are reported, and the
/// handler's calls that interrupted gpa's own work are counted in a note, not waited on.
#[test]
fn a_signal_handler_interrupting_a_report_never_hangs_the_run() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-handler");
    let binary = compile_c_with("libc", "handler", "handler", &[], &dir);
    let source = source_text("handler");
    let run = gpa_run(&dir, &[], &["timeout", "120", binary.to_str().unwrap()]);
    assert_eq!(run.stdout(), "done\n", "{}", run.stderr());
    let findings = run.findings();
    // Valgrind 3.19 (on this program with 3000 blocks and 20000 rounds: "20003 errors from 2
    // contexts"): Invalid read of size 8 at memmove, by main (handler.c:@main); Address is 0
    // bytes after a block of size 16 alloc'd, by main (handler.c:@main_alloc). Invalid read
    // of size 8 at memmove, by on_alarm (handler.c:@handler), by ??? (libc's signal return),
    // by main; 0 bytes after a block of size 16 alloc'd, by main (handler.c:@handler_alloc).
    // With 1000 and 10000, Valgrind's slower loop ended before its first alarm was delivered
    // ("10000 errors from 1 contexts", main's); gpa's handler runs thousands of times.
    for (function, call, alloc) in [
        ("main", "@main:", "@main_alloc"),
        ("on_alarm", "@handler:", "@handler_alloc"),
    ] {
        let call = line_of(&source, call, 0);
        let Some(finding) = findings
            .iter()
            .find(|finding| first_frame(finding, "access") == (function.to_owned(), call))
        else {
            panic!("no finding at {function}:{call}: {}", describe(&findings));
        };
        assert_eq!(finding["kind"], "overflow", "{finding}");
        assert_eq!(finding["access"], "read", "{finding}");
        assert_eq!(finding["offset"], 16, "{finding}");
        // One block in the handler; 1000 in main's loop, merged (16 bytes each).
        let blocks = if function == "main" { 1000 } else { 1 };
        assert_eq!(finding["count"], blocks, "{finding}");
        assert_eq!(finding["size"], 16 * blocks, "{finding}");
        assert_eq!(
            first_frame(finding, "alloc"),
            ("main".to_owned(), line_of(&source, alloc, 0)),
            "{finding}"
        );
    }
    // Anything else is the note of the handler's calls left out (no other kind of finding).
    for finding in &findings {
        if finding["kind"] == "internal_error" {
            let message = finding["message"].as_str().unwrap_or_default();
            assert!(message.starts_with("gpa left out "), "{message}");
        } else {
            assert_eq!(finding["kind"], "overflow", "{finding}");
        }
    }
}

/// `gaps.c`'s blocks: `p` (16 bytes of 'a's) and `w` (16 bytes, the wide string L"ab").
const GP: &str = "char *p = malloc(n(16));";
const GW: &str = "wchar_t *w = malloc(n(16));";

/// A planted bug of `gaps.c`: Valgrind's verdict (`expected`) and the call gpa's message names
/// (Valgrind's parameter name for a system call).
struct Gap {
    expected: Expected,
    call: &'static str,
}

const fn gap(expected: Expected, call: &'static str) -> Gap {
    Gap { expected, call }
}

/// Valgrind 3.19 on `gaps.c` (gcc -O0), case by case (`valgrind --leak-check=full ./gaps
/// CASE`). Valgrind sees the formatting functions' stores inside glibc (it replaces none of
/// them) and a `%s` argument's read in its `strlen`; gpa checks each call once (see the module
/// docs): the first bad byte, the block and the call's line are Valgrind's.
const GAPS: &[Gap] = &[
    // Invalid write of size 1 at _IO_default_xsputn (genops.c:394), by __vfprintf_internal, by
    // __vsprintf_internal, by sprintf (sprintf.c:30), by main (gaps.c:@); Address is 0 bytes
    // after a block of size 16 alloc'd. 7 errors from 4 contexts.
    gap(
        access("sprintf", "overflow", "write", 16, 16, GP),
        "sprintf",
    ),
    // Invalid write of size 1 at _IO_default_xsputn, ..., by snprintf (snprintf.c:31), by
    // main; 0 bytes after a block of size 16. 8 errors from 4 contexts.
    gap(
        access("snprintf", "overflow", "write", 16, 16, GP),
        "snprintf",
    ),
    // Invalid write of size 1 at _IO_default_xsputn, ..., by vsprintf (iovsprintf.c:105), by
    // v_sprintf (gaps.c:@), by main; 0 bytes after a block of size 16. 4 errors from 2.
    gap(
        access("vsprintf", "overflow", "write", 16, 16, GP),
        "vsprintf",
    ),
    // Invalid write of size 1 at _IO_default_xsputn, ..., by __vsnprintf_internal, by
    // v_snprintf (gaps.c:@), by main; 0 bytes after a block of size 16. 4 errors from 2.
    gap(
        access("vsnprintf", "overflow", "write", 16, 16, GP),
        "vsnprintf",
    ),
    // Invalid read of size 1 at strlen, by __vfprintf_internal (vfprintf-process-arg.c:397),
    // by __vsprintf_internal, by sprintf, by main; 0 bytes after a block of size 8. 1 error.
    gap(
        access(
            "sprintf_arg",
            "overflow",
            "read",
            8,
            8,
            "char *s = malloc(8);",
        ),
        "sprintf",
    ),
    // Invalid write of size 1 at __vsnprintf_internal (vsnprintf.c:112), by snprintf, by main;
    // Address is 0 bytes inside a block of size 16 free'd. 6 errors from 3 contexts.
    gap(
        Expected {
            freed: true,
            ..access("snprintf_freed", "write_after_free", "write", 0, 16, GP)
        },
        "snprintf",
    ),
    // Syscall param recvmsg(msg.msg_iov[1]) points to unaddressable byte(s) at recvmsg
    // (recvmsg.c:41), by main; 0 bytes after a block of size 16. 1 error.
    gap(
        access("recvmsg", "overflow", "write", 16, 16, GP),
        "recvmsg(msg.msg_iov[1])",
    ),
    // Syscall param sendmsg(msg.msg_iov[1]) points to unaddressable byte(s); 0 bytes after a
    // block of size 16. 1 error.
    gap(
        access("sendmsg", "overflow", "read", 16, 16, GP),
        "sendmsg(msg.msg_iov[1])",
    ),
    // Syscall param recvmsg(msg.msg_name) points to unaddressable byte(s); 0 bytes after a
    // block of size 16. 1 error.
    gap(
        access("recvmsg_name", "overflow", "write", 16, 16, GP),
        "recvmsg(msg.msg_name)",
    ),
    // Syscall param sendmsg(msg.msg_control) points to unaddressable byte(s); 0 bytes after a
    // block of size 16. 1 error.
    gap(
        access("sendmsg_control", "overflow", "read", 16, 16, GP),
        "sendmsg(msg.msg_control)",
    ),
    // Syscall param preadv(vector[1]) points to unaddressable byte(s) at preadv
    // (preadv64.c:26), by main; 0 bytes after a block of size 16. 1 error.
    gap(
        access("preadv", "overflow", "write", 16, 16, GP),
        "preadv(vector[1])",
    ),
    // Syscall param pwritev(vector[1]) points to unaddressable byte(s); 0 bytes after a block
    // of size 16. 1 error.
    gap(
        access("pwritev", "overflow", "read", 16, 16, GP),
        "pwritev(vector[1])",
    ),
    // Syscall param preadv2(vector[1]) points to unaddressable byte(s); 0 bytes after a block
    // of size 16. 1 error.
    gap(
        access("preadv2", "overflow", "write", 16, 16, GP),
        "preadv2(vector[1])",
    ),
    // Syscall param pwritev2(vector[1]) points to unaddressable byte(s); 0 bytes after a
    // block of size 16. 1 error.
    gap(
        access("pwritev2", "overflow", "read", 16, 16, GP),
        "pwritev2(vector[1])",
    ),
    // Invalid write of size 4 at wcscpy, by wcscat (wcscat.c:28), by main; 0 bytes after a
    // block of size 16. 2 errors from 2 contexts.
    gap(access("wcscat", "overflow", "write", 16, 16, GW), "wcscat"),
    // Invalid write of size 8 at memmove, by main (gaps.c:@); 0 bytes after a block of size
    // 16. 1 error.
    gap(
        access("wcsncpy", "overflow", "write", 16, 16, GW),
        "wcsncpy",
    ),
    // Invalid write of size 4 at wcsncat (wcsncat.c:35): 8 bytes after a block of size 16 (the
    // terminator, stored first), and Invalid write of size 8 at memmove, by wcsncat: 0 bytes
    // after it. 2 errors from 2 contexts. gpa: the first bad byte, 0 bytes after.
    gap(
        access("wcsncat", "overflow", "write", 16, 16, GW),
        "wcsncat",
    ),
];

/// Checks that `run` has exactly the finding `expected` describes, at the line marked
/// `@CASE` in `source` (in `main`, or for the `v*` cases in the helper that calls them), named
/// `(in call)`.
fn check_gap(run: &Run, expected: &Expected, call: &str, source: &str) {
    let case = expected.case;
    let findings = run.findings();
    assert_eq!(
        findings.len(),
        1,
        "{case}: one finding expected:\n{}\n{}",
        describe(&findings),
        run.stderr()
    );
    assert_eq!(run.json["errors"], 1, "{case}: {}", run.stderr());
    let finding = &findings[0];
    assert_eq!(
        (&finding["kind"], &finding["access"]),
        (&expected.kind.into(), &expected.access.into()),
        "{case}: {finding}"
    );
    assert_eq!(
        finding["offset"],
        expected.offset.unwrap(),
        "{case}: {finding}"
    );
    assert_eq!(finding["size"], expected.size, "{case}: {finding}");
    let message = finding["message"].as_str().unwrap_or_default();
    assert!(
        message.ends_with(&format!("(in {call})")),
        "{case}: {message}"
    );
    // `@vsprintf` and `@vsnprintf` mark the call in the helpers `v_sprintf`, `v_snprintf`.
    let (spaced, colon) = (format!("@{case} "), format!("@{case}:"));
    let line = source
        .lines()
        .position(|text| text.contains(&spaced) || text.contains(&colon))
        .map(|index| index as u64 + 1)
        .unwrap_or_else(|| panic!("no line marked @{case}"));
    let (function, at) = first_frame(finding, "access");
    let caller = match case {
        "vsprintf" => "v_sprintf",
        "vsnprintf" => "v_snprintf",
        "vprintf" => "v_printf",
        "vfprintf" => "v_fprintf",
        "vdprintf" => "v_dprintf",
        "vasprintf" => "v_asprintf",
        _ => "main",
    };
    assert!(
        function.starts_with(caller) && at == line,
        "{case}: the call's stack starts at the program's call (line {line}): {finding}"
    );
    // Each block of `gaps.c` is allocated on one line.
    let alloc = line_of(source, expected.alloc, 0);
    assert_eq!(
        first_frame(finding, "alloc"),
        ("main".to_owned(), alloc),
        "{case}: {finding}"
    );
    if expected.freed {
        assert_eq!(
            first_frame(finding, "free"),
            ("main".to_owned(), line_before(source, "free(p);", line)),
            "{case}: {finding}"
        );
    } else {
        assert!(finding["stacks"]["free"].is_null(), "{case}: {finding}");
    }
}

#[test]
fn formatting_message_and_wide_string_calls_are_checked_as_valgrind_checks_them() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-gaps");
    let binary = compile_c_with("libc", "gaps", "gaps", &[], &dir);
    let source = source_text("gaps");
    let cases: Vec<&str> = GAPS.iter().map(|gap| gap.expected.case).collect();
    let runs = run_cases(&dir, &binary, &[], &cases);
    for (run, gap) in runs.iter().zip(GAPS) {
        check_gap(run, &gap.expected, gap.call, &source);
    }
}

/// `gaps.c` at -O2 -D_FORTIFY_SOURCE=2 (the blocks' sizes unknown to the compiler, so the
/// fortified functions do not stop the overflow), as Valgrind 3.19 reports it.
#[test]
fn fortified_formatting_calls_are_checked_like_the_plain_ones() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-gaps-fortify");
    let binary = compile_c_with(
        "libc",
        "gaps",
        "gaps-fortify",
        &["-O2", "-D_FORTIFY_SOURCE=2"],
        &dir,
    );
    let source = source_text("gaps");
    let planted = |case: &str| {
        &GAPS
            .iter()
            .find(|gap| gap.expected.case == case)
            .unwrap()
            .expected
    };
    let expected = [
        // Invalid write of size 1 at _IO_default_xsputn, ..., by __sprintf_chk
        // (sprintf_chk.c:40), by sprintf (stdio2.h:30), by main; 0 bytes after a block of
        // size 16. 7 errors from 4 contexts.
        (planted("sprintf"), "__sprintf_chk"),
        // ... by __snprintf_chk (snprintf_chk.c:38), by snprintf (stdio2.h:54), by main; 0
        // bytes after a block of size 16. 8 errors from 4 contexts.
        (planted("snprintf"), "__snprintf_chk"),
        // Invalid read of size 1 at strlen, ..., by __sprintf_chk, by sprintf (stdio2.h:30),
        // by main; 0 bytes after a block of size 8. 1 error.
        (planted("sprintf_arg"), "__sprintf_chk"),
        // (the size unknown: glibc's plain vsprintf) ... by vsprintf (stdio2.h:44), by
        // v_sprintf.constprop.0 (gaps.c:@); 0 bytes after a block of size 16. 4 errors.
        (planted("vsprintf"), "vsprintf"),
        // Invalid write of size 8 at memmove, by wcsncpy (wchar2.h:146), by main; 0 bytes
        // after a block of size 16. 1 error.
        (planted("wcsncpy"), "wcsncpy"),
    ];
    let cases: Vec<&str> = expected.iter().map(|(e, _)| e.case).collect();
    let runs = run_cases(&dir, &binary, &[], &cases);
    for (run, (expected, call)) in runs.iter().zip(&expected) {
        check_gap(run, expected, call, &source);
    }
}

#[test]
fn guard_mode_reports_formatting_and_message_calls_once() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-gaps-guard");
    let binary = compile_c_with("libc", "gaps", "gaps", &[], &dir);
    let source = source_text("gaps");
    // A formatted write past the block (glibc's stores would reach the guard page after the
    // block: the checks before and after the call keep the run going and report once), a
    // freed destination, a string argument read past its block, a message's buffer.
    let cases = [
        "sprintf",
        "snprintf_freed",
        "sprintf_arg",
        "recvmsg",
        "wcsncat",
    ];
    let runs = run_cases(&dir, &binary, &["--guard"], &cases);
    for (run, case) in runs.iter().zip(cases) {
        let gap = GAPS.iter().find(|gap| gap.expected.case == case).unwrap();
        check_gap(run, &gap.expected, gap.call, &source);
    }
}

#[test]
fn legitimate_formatting_messages_and_wide_strings_report_nothing() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-gaps-clean");
    let binaries = plain_and_fortified(&dir, "gaps_clean");
    // Valgrind 3.19: "All heap blocks were freed", 0 errors, at -O0 and fortified. The
    // output (formatted with every kind of argument) is the same as without gpa.
    assert_clean_in_check_and_guard_modes(&dir, &binaries);
}

#[test]
fn fast_mode_passes_formatting_and_message_calls_through() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-gaps-fast");
    let gaps = compile_c_with("libc", "gaps", "gaps", &[], &dir);
    let clean = compile_c_with("libc", "gaps_clean", "gaps_clean", &[], &dir);
    // Planted bugs change nothing in fast mode (output and status as without gpa, no report),
    // and the clean program's formatted output is the same.
    assert_fast_mode_passes_through(
        &dir,
        &[
            (&gaps, "snprintf_freed"),
            (&gaps, "sprintf_arg"),
            (&gaps, "recvmsg"),
            (&gaps, "wcsncpy"),
            (&clean, ""),
        ],
    );
}

/// `printf.c`'s blocks: `s` (8 bytes of 'b's), `w` (four wide 'a's), `q` (16 bytes), all
/// without a terminator, and `p` (freed).
const PS: &str = "char *s = malloc(n(8));";
const PW: &str = "wchar_t *w = malloc(n(16));";
const PQ: &str = "char *q = malloc(n(16));";
const PP: &str = "char *p = malloc(n(16));";
/// `printf.c`'s `%n` targets: a freed `int`, a 1-byte block taken as a `short`, a 4-byte block
/// taken as a `long`.
const PN: &str = "int *p = malloc(n(4));";
const PH: &str = "char *h = malloc(n(1));";
const PL: &str = "long *l = malloc(n(4));";

/// Valgrind 3.19 on `printf.c` (gcc -O0), case by case (`valgrind --leak-check=full ./printf
/// CASE`): the reads glibc's formatting code makes of a `%s` argument, the format and a
/// `%ls` argument, and the buffers of each message of a vector. gpa names the function the
/// program called.
const PRINTED: &[Gap] = &[
    // Invalid read of size 1 at strlen, by __vfprintf_internal (vfprintf-process-arg.c:397),
    // by printf (printf.c:33), by main (printf.c:@); Address is 0 bytes after a block of
    // size 8 alloc'd. 1 error.
    gap(access("printf", "overflow", "read", 8, 8, PS), "printf"),
    // Invalid read of size 1 at strlen, by __vfprintf_internal, by fprintf (fprintf.c:32), by
    // main; 0 bytes after a block of size 8. 1 error.
    gap(access("fprintf", "overflow", "read", 8, 8, PS), "fprintf"),
    // ... by __vfprintf_internal, by __vdprintf_internal (iovdprintf.c:54), by dprintf
    // (dprintf.c:30), by main; 0 bytes after a block of size 8. 1 error.
    gap(access("dprintf", "overflow", "read", 8, 8, PS), "dprintf"),
    // ... by __vasprintf_internal (vasprintf.c:57), by asprintf (asprintf.c:31), by main; 0
    // bytes after a block of size 8. 1 error.
    gap(access("asprintf", "overflow", "read", 8, 8, PS), "asprintf"),
    // ... by __vfprintf_internal, by v_printf (printf.c:@), by main; 0 bytes after. 1 error.
    gap(access("vprintf", "overflow", "read", 8, 8, PS), "vprintf"),
    // ... by __vfprintf_internal, by v_fprintf (printf.c:@); 0 bytes after. 1 error.
    gap(access("vfprintf", "overflow", "read", 8, 8, PS), "vfprintf"),
    // ... by __vdprintf_internal, by v_dprintf (printf.c:@); 0 bytes after. 1 error.
    gap(access("vdprintf", "overflow", "read", 8, 8, PS), "vdprintf"),
    // ... by __vasprintf_internal, by v_asprintf (printf.c:@); 0 bytes after. 1 error.
    gap(
        access("vasprintf", "overflow", "read", 8, 8, PS),
        "vasprintf",
    ),
    // Invalid read of size 1 at strnlen, by __vfprintf_internal (vfprintf-process-arg.c:395),
    // by printf, by main; 0 bytes after a block of size 8 (`%.12s` of 8 bytes). 1 error.
    gap(
        access("printf_precision", "overflow", "read", 8, 8, PS),
        "printf",
    ),
    // Invalid read of size 1 at strchrnul, by __find_specmb (printf-parse.h:82), by
    // __vfprintf_internal (vfprintf-internal.c:759), by printf, by main; 0 bytes after a
    // block of size 8 (the format). 2 errors from 2 contexts.
    gap(
        access("printf_format", "overflow", "read", 8, 8, PS),
        "printf",
    ),
    // Invalid read of size 4 at wcsnlen, by wcsrtombs (wcsrtombs.c:103), by
    // outstring_converted_wide_string (vfprintf-internal.c:324), by __vfprintf_internal
    // (vfprintf-process-arg.c:410), by printf, by main; 0 bytes after a block of size 16
    // (`%.5ls` of four wide characters), then Invalid read of size 4 at internal_ascii_loop
    // (loop.c:335), the same address. 2 errors from 2 contexts.
    gap(
        access("printf_wide", "overflow", "read", 16, 16, PW),
        "printf",
    ),
    // Invalid read of size 1 at strlen, by __vfprintf_internal, by printf, by main; Address is
    // 0 bytes inside a block of size 16 free'd. 9 errors from 4 contexts.
    gap(
        Expected {
            freed: true,
            ..access("printf_freed", "read_after_free", "read", 0, 16, PP)
        },
        "printf",
    ),
    // Invalid write of size 4 at __vfprintf_internal (vfprintf-process-arg.c:310), by printf
    // (printf.c:33), by main (printf.c:@); Address is 0 bytes inside a block of size 4 free'd.
    // 1 error.
    gap(
        Expected {
            freed: true,
            ..access("printf_count_freed", "write_after_free", "write", 0, 4, PN)
        },
        "printf",
    ),
    // Invalid write of size 2 at __vfprintf_internal (vfprintf-process-arg.c:312), by fprintf
    // (fprintf.c:32), by main; Address is 0 bytes inside a block of size 1 alloc'd (the
    // store's start; gpa names its first byte out of bounds, 1). 2 errors from 1 context.
    gap(
        access("fprintf_count_short", "overflow", "write", 1, 1, PH),
        "fprintf",
    ),
    // Invalid write of size 8 at __vfprintf_internal (vfprintf-process-arg.c:306), by printf,
    // by main; 0 bytes inside a block of size 4 (its first byte out of bounds: 4). 1 error.
    gap(
        access("printf_count_long", "overflow", "write", 4, 4, PL),
        "printf",
    ),
    // (`%hhn` into a 1-byte block: no error.) Invalid write of size 8 at
    // __vfprintf_internal, by __vdprintf_internal (iovdprintf.c:54), by dprintf, by main;
    // Address is 0 bytes after a block of size 16 (`%zn` at `q + 16`). 1 error.
    gap(
        access("dprintf_count_size", "overflow", "write", 16, 16, PQ),
        "dprintf",
    ),
    // Syscall param recvmsg(mmsg[1].msg_hdr.msg_iov[1]) points to unaddressable byte(s) at
    // recvmmsg_syscall (recvmmsg.c:29), by recvmmsg (recvmmsg.c:73), by main; 0 bytes after
    // a block of size 16. 1 error.
    gap(
        access("recvmmsg", "overflow", "write", 16, 16, PQ),
        "recvmsg(mmsg[1].msg_hdr.msg_iov[1])",
    ),
    // Syscall param recvmsg(mmsg[1].msg_hdr.msg_name) points to unaddressable byte(s); 0
    // bytes after a block of size 16. 1 error.
    gap(
        access("recvmmsg_name", "overflow", "write", 16, 16, PQ),
        "recvmsg(mmsg[1].msg_hdr.msg_name)",
    ),
    // Syscall param sendmsg(mmsg[1].msg_hdr.msg_iov[1]) points to unaddressable byte(s) at
    // sendmmsg (sendmmsg.c:30), by main; 0 bytes after a block of size 16. 1 error.
    gap(
        access("sendmmsg", "overflow", "read", 16, 16, PQ),
        "sendmsg(mmsg[1].msg_hdr.msg_iov[1])",
    ),
    // Syscall param sendmsg(mmsg[1].msg_hdr.msg_control) points to unaddressable byte(s);
    // 0 bytes after a block of size 16. 1 error.
    gap(
        access("sendmmsg_control", "overflow", "read", 16, 16, PQ),
        "sendmsg(mmsg[1].msg_hdr.msg_control)",
    ),
];

#[test]
fn stream_descriptor_and_new_string_formatting_and_message_vectors_are_checked() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-printf");
    let binary = compile_c_with("libc", "printf", "printf", &[], &dir);
    let source = source_text("printf");
    let cases: Vec<&str> = PRINTED.iter().map(|gap| gap.expected.case).collect();
    let runs = run_cases(&dir, &binary, &[], &cases);
    for (run, gap) in runs.iter().zip(PRINTED) {
        check_gap(run, &gap.expected, gap.call, &source);
    }
}

/// `printf.c` at -O2 -D_FORTIFY_SOURCE=2: the `__*_chk` forms, as Valgrind 3.19 reports them.
#[test]
fn fortified_stream_and_descriptor_formatting_is_checked_like_the_plain_one() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-printf-fortify");
    let binary = compile_c_with(
        "libc",
        "printf",
        "printf-fortify",
        &["-O2", "-D_FORTIFY_SOURCE=2"],
        &dir,
    );
    let source = source_text("printf");
    let planted = |case: &str| {
        &PRINTED
            .iter()
            .find(|gap| gap.expected.case == case)
            .unwrap()
            .expected
    };
    let expected = [
        // Invalid read of size 1 at strlen, by __vfprintf_internal, by __printf_chk
        // (printf_chk.c:33), by printf (stdio2.h:86), by main; 0 bytes after a block of
        // size 8. 1 error.
        (planted("printf"), "__printf_chk"),
        // ... by __fprintf_chk (fprintf_chk.c:33), by fprintf (stdio2.h:79), by main.
        (planted("fprintf"), "__fprintf_chk"),
        // ... by __vdprintf_internal, by __dprintf_chk (dprintf_chk.c:33), by dprintf
        // (stdio2.h:117), by main.
        (planted("dprintf"), "__dprintf_chk"),
        // ... by __vasprintf_internal, by __asprintf_chk (asprintf_chk.c:34), by asprintf
        // (stdio2.h:137), by main.
        (planted("asprintf"), "__asprintf_chk"),
        // Invalid read of size 1 at strchrnul, by __find_specmb, by __vfprintf_internal, by
        // __printf_chk, by main; 0 bytes after a block of size 8. 2 errors.
        (planted("printf_format"), "__printf_chk"),
        // Invalid read of size 4 at wcsnlen, ..., by __printf_chk, by main; 0 bytes after a
        // block of size 16. 2 errors.
        (planted("printf_wide"), "__printf_chk"),
        // A `%n` in a format in read-only memory is stored as in the plain forms: Invalid
        // write of size 4 at __vfprintf_internal, by __printf_chk (printf_chk.c:33), by main;
        // 0 bytes inside a block of size 4 free'd. 1 error.
        (planted("printf_count_freed"), "__printf_chk"),
        // Invalid write of size 2, by __fprintf_chk (fprintf_chk.c:33), by main; 0 bytes
        // inside a block of size 1 alloc'd. 2 errors from 1 context.
        (planted("fprintf_count_short"), "__fprintf_chk"),
        // Invalid write of size 8, by __dprintf_chk (dprintf_chk.c:33), by main; 0 bytes after
        // a block of size 16. 1 error.
        (planted("dprintf_count_size"), "__dprintf_chk"),
    ];
    let cases: Vec<&str> = expected.iter().map(|(e, _)| e.case).collect();
    let runs = run_cases(&dir, &binary, &[], &cases);
    for (run, (expected, call)) in runs.iter().zip(&expected) {
        check_gap(run, expected, call, &source);
    }
}

#[test]
fn legitimate_stream_formatting_and_message_vectors_report_nothing() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-printf-clean");
    let binaries = plain_and_fortified(&dir, "printf_clean");
    // Valgrind 3.19: 0 errors, "All heap blocks were freed", at -O0 and fortified. The output
    // (stdout's buffer flushed and interleaved with descriptor writes as without gpa) is the
    // same.
    assert_clean_in_check_and_guard_modes(&dir, &binaries);
}

#[test]
fn fast_mode_passes_stream_formatting_and_message_vectors_through() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-printf-fast");
    let printf = compile_c_with("libc", "printf", "printf", &[], &dir);
    let clean = compile_c_with("libc", "printf_clean", "printf_clean", &[], &dir);
    assert_fast_mode_passes_through(
        &dir,
        &[
            (&printf, "printf_freed"),
            (&printf, "sendmmsg"),
            (&clean, ""),
        ],
    );
}

#[test]
fn guard_mode_reports_stream_formatting_and_message_vectors_once() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-printf-guard");
    let binary = compile_c_with("libc", "printf", "printf", &[], &dir);
    let source = source_text("printf");
    // A `%s` argument and a format read past their block (glibc's reads would reach the guard
    // page after it: the check before the call reports, and the fault's report is the same
    // finding, kept once), a freed argument, a `%ls` with a precision, a message's buffer.
    let cases = [
        "printf",
        "printf_format",
        "printf_freed",
        "printf_wide",
        "recvmmsg",
    ];
    let runs = run_cases(&dir, &binary, &["--guard"], &cases);
    for (run, case) in runs.iter().zip(cases) {
        let gap = PRINTED
            .iter()
            .find(|gap| gap.expected.case == case)
            .unwrap();
        check_gap(run, &gap.expected, gap.call, &source);
    }
}

/// The allocation of `lookup.c`'s large blocks.
const BIG: &str = "char *big = malloc(n(LARGE));";

/// Valgrind 3.19 on `lookup.c` (gcc -O0), case by case (`valgrind ./lookup CASE`): calls on
/// large blocks, which the check's lookup leaves to the full one (the page map's entry is no
/// small segment's).
const LOOKUP: &[Expected] = &[
    // Invalid read of size 8 at memmove, by main (lookup.c:@); Address is 0 bytes after a
    // block of size 200,008 alloc'd at malloc, by main. 1 error.
    access(
        "large_memcpy_read",
        "overflow",
        "read",
        200_008,
        200_008,
        BIG,
    ),
    // Invalid write of size 1 at memset, by main; 0 bytes after a block of size 200,008.
    // 5 errors from 2 contexts.
    access(
        "large_memset_write",
        "overflow",
        "write",
        200_008,
        200_008,
        BIG,
    ),
    // Invalid read of size 1 at strcmp, by main; 0 bytes after a block of size 200,008.
    // 1 error.
    access("large_strcmp", "overflow", "read", 200_008, 200_008, BIG),
];

#[test]
fn calls_on_large_blocks_and_on_memory_next_to_the_heap_are_checked_as_valgrind_checks_them() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-lookup");
    let binary = compile_c_with("libc", "lookup", "lookup", &[], &dir);
    let source = source_text("lookup");
    let cases: Vec<&str> = LOOKUP.iter().map(|expected| expected.case).collect();
    let runs = run_cases(&dir, &binary, &[], &cases);
    for (run, expected) in runs.iter().zip(LOOKUP) {
        check_case(run, expected, &source);
        assert_eq!(run.json["errors"], 1, "{}: {}", expected.case, run.stderr());
    }
    // Valgrind 3.19: 0 errors from 0 contexts for both; `large_clean` prints 30, `adjacent`
    // "2 182" (both chunks next to the heap block's mapped, 91 for each).
    for options in [&[][..], &["--guard"][..]] {
        let runs = run_cases(&dir, &binary, options, &["large_clean", "adjacent"]);
        for run in &runs {
            assert!(
                run.findings().is_empty(),
                "{options:?}: {}\n{}",
                describe(&run.findings()),
                run.stderr()
            );
            assert_eq!(run.json["errors"], 0, "{options:?}: {}", run.stderr());
        }
        assert_eq!(runs[0].stdout().trim(), "30", "{options:?}");
        let printed = runs[1].stdout();
        let (mapped, sum) = printed.trim().split_once(' ').expect("two numbers");
        let mapped: i64 = mapped.parse().unwrap();
        assert_eq!(
            sum.parse::<i64>().unwrap(),
            91 * mapped,
            "{options:?}: {printed}"
        );
        // Check mode's small segments leave the chunks around them to the program here; in
        // guard mode a small block lies in a guarded area's reservation, whose neighbours
        // may be taken.
        if options.is_empty() {
            assert!(
                mapped >= 1,
                "no chunk next to the heap block could be mapped: {printed}"
            );
        }
    }
}

/// A call whose range starts inside a block and runs past its end (`straddle.c`, 10-byte
/// blocks, in check mode and with `--guard`): the finding names the first unit of the call
/// not wholly in the block, by its start, and the call's bytes from there. For the calls on
/// bytes that is the first byte past the end (offset 10), as Valgrind 3.19 names it for its
/// byte-wise functions; for the wide-string calls the `wchar_t` that straddles the end
/// (offset 8), as Valgrind names it for `wcscpy` (and for reads with `--partial-loads-ok=no`).
/// Where Valgrind's answer differs it is an artifact of its replacements copying 8-byte words
/// or of its default `--partial-loads-ok=yes` (docs/c_abi.md, "Straddling calls").
#[test]
fn a_call_across_a_block_end_is_named_by_its_first_unit_not_wholly_inside() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-straddle");
    let binary = compile_c_with("libc", "straddle", "straddle", &[], &dir);
    let source = source_text("straddle");
    // (case, access, offset, bytes the message names); Valgrind 3.19 (gcc -O0) in comments.
    let cases: [(&str, &str, i64, u64); 15] = [
        // Invalid write of size 8 at memmove: 8 bytes inside a block of size 10. 1 error.
        ("memcpy", "write", 10, 6),
        // Invalid write of size 8 at memset: 8 bytes inside a block of size 10. 1 error.
        ("memset", "write", 10, 6),
        // Invalid write of size 8 at memmove: 8 bytes inside a block of size 10. 1 error.
        ("memmove", "write", 10, 6),
        // Invalid write of size 8 at memmove (its memccpy): 8 bytes inside a block of size
        // 10. 1 error.
        ("memccpy", "write", 10, 6),
        // Invalid write of size 1 at strcpy: 0 bytes after a block of size 10. 6 errors from
        // 2 contexts.
        ("strcpy", "write", 10, 6),
        // Invalid write of size 1 at strncpy: 0 bytes after a block of size 10. 6 errors.
        ("strncpy", "write", 10, 6),
        // Invalid read of size 1 at bcmp: 0 bytes after a block of size 10 (and a conditional
        // jump on the uninitialised bytes it read, which gpa does not track). 2 errors from 2
        // contexts.
        ("memcmp", "read", 10, 1),
        // Invalid read of size 1 at strlen: 0 bytes after a block of size 10. 1 error.
        ("strlen", "read", 10, 1),
        // Invalid read of size 1 at memchr: 0 bytes after a block of size 10. 6 errors.
        ("memchr", "read", 10, 1),
        // Invalid write of size 4 at wcscpy: 8 bytes inside a block of size 10; then 6 bytes
        // after (the terminator). 3 errors from 2 contexts.
        ("wcscpy", "write", 8, 12),
        // Invalid write of size 8 at memmove (its wcsncpy): 8 bytes inside a block of size
        // 10. 1 error.
        ("wcsncpy", "write", 8, 8),
        // Invalid write of size 8 at memmove (its wmemcpy): 8 bytes inside a block of size
        // 10. 1 error.
        ("wmemcpy", "write", 8, 8),
        // Invalid write of size 8 at __memset_avx2_unaligned_erms (glibc's wmemset is not
        // replaced): 8 bytes inside a block of size 10. 2 errors from 2 contexts.
        ("wmemset", "write", 8, 8),
        // Invalid read of size 4 at wcslen: 2 bytes after a block of size 10 (the aligned
        // load at 8, partly inside, passes under --partial-loads-ok=yes; with =no: 8 bytes
        // inside). 1 error.
        ("wcslen", "read", 8, 4),
        // Invalid read of size 4 at wmemchr: 2 bytes after a block of size 10 (with
        // --partial-loads-ok=no: 8 bytes inside). 1 error.
        ("wmemchr", "read", 8, 4),
    ];
    let names: Vec<&str> = cases.iter().map(|case| case.0).collect();
    for options in [&[][..], &["--guard"][..]] {
        let runs = run_cases(&dir, &binary, options, &names);
        for ((case, access, offset, bytes), run) in cases.iter().zip(&runs) {
            let context = format!("{case} {options:?}");
            let findings = run.findings();
            assert_eq!(findings.len(), 1, "{context}: {}", describe(&findings));
            let finding = &findings[0];
            assert_eq!(
                (&finding["kind"], &finding["access"], &finding["offset"]),
                (&"overflow".into(), &(*access).into(), &(*offset).into()),
                "{context}: {finding}"
            );
            assert_eq!(finding["size"], 10, "{context}: {finding}");
            let message = finding["message"].as_str().unwrap();
            let place = if *offset < 10 {
                format!("{offset} bytes inside a 10-byte block")
            } else {
                "0 bytes after the end of a 10-byte block".to_owned()
            };
            let unit = if *bytes == 1 { "byte" } else { "bytes" };
            let what = format!("buffer overflow: {access} of {bytes} {unit} {place}");
            assert!(message.starts_with(&what), "{context}: {message}");
            assert!(
                message.ends_with(&format!("(in {case})")),
                "{context}: {message}"
            );
            let line = line_of(&source, &format!("@{case} "), 0);
            assert_eq!(
                first_frame(finding, "access"),
                ("main".to_owned(), line),
                "{context}: {finding}"
            );
            assert_eq!(
                run.output.status.code(),
                Some(0),
                "{context}: {}",
                run.stderr()
            );
        }
    }
}
