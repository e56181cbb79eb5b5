//! Comparisons (`strcmp`, `strncmp`, `strcasecmp`, `wcscmp`, `memcmp`) whose stop, or whose
//! block's end, lies past the first 16 bytes: check mode finds where a comparison stops 16
//! bytes at a time (`gpa::capi::libc_calls::compare`), and these cases cross chunk
//! boundaries at offsets that are not multiples of 16. Each planted read past a block's end
//! is reported once, at the call's line, as Valgrind memcheck 3.19 reports it (quoted per
//! case: `valgrind ./compare CASE`, gcc -O0); the comparisons that stop in bounds report
//! nothing, in check and guard modes. Short heap strings, whose `strcmp` check mode answers
//! itself, compare to glibc's values.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// What Valgrind says of one planted read, in gpa's terms.
struct Expected {
    /// The program's case name (and its `@CASE` marker).
    case: &'static str,
    /// The call a finding names.
    call: &'static str,
    /// The first bad byte's offset from the block's start (Valgrind's "0 bytes after a block
    /// of size M" is offset M).
    offset: i64,
    /// The block's size.
    size: u64,
    /// The bytes of the first bad unit (Valgrind's "Invalid read of size N").
    access_size: u64,
    /// The function and line of the allocation (`filled`'s `malloc`, or `main`'s).
    alloc: (&'static str, &'static str),
}

/// `filled`'s `malloc` line.
const FILLED: (&str, &str) = ("filled", "char *p = malloc(n(size));");

/// Valgrind 3.19 on `compare.c`:
const CASES: &[Expected] = &[
    // Invalid read of size 1 at strcmp, by main (compare.c:@); Address is 0 bytes after a
    // block of size 40 alloc'd at malloc, by filled (compare.c:19), by main. 1 error.
    Expected {
        case: "strcmp_past_chunk",
        call: "strcmp",
        offset: 40,
        size: 40,
        access_size: 1,
        alloc: FILLED,
    },
    // Invalid read of size 1 at strcmp; 0 bytes after a block of size 37 (the second
    // argument's). 1 error.
    Expected {
        case: "strcmp_second",
        call: "strcmp",
        offset: 37,
        size: 37,
        access_size: 1,
        alloc: FILLED,
    },
    // Invalid read of size 1 at strncmp; 0 bytes after a block of size 37. 1 error.
    Expected {
        case: "strncmp_to_end",
        call: "strncmp",
        offset: 37,
        size: 37,
        access_size: 1,
        alloc: FILLED,
    },
    // Invalid read of size 1 at strcasecmp; 0 bytes after a block of size 33. 1 error.
    Expected {
        case: "strcasecmp_past_chunk",
        call: "strcasecmp",
        offset: 33,
        size: 33,
        access_size: 1,
        alloc: FILLED,
    },
    // Invalid read of size 4 at wcscmp; 0 bytes after a block of size 36 alloc'd at malloc,
    // by main. 1 error.
    Expected {
        case: "wcscmp_past_chunk",
        call: "wcscmp",
        offset: 36,
        size: 36,
        access_size: 4,
        alloc: ("main", "wchar_t *w = malloc("),
    },
];

fn source_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/libc/compare.c");
    std::fs::read_to_string(path).expect("read the C source")
}

/// The 1-based line of `source` holding `needle`.
fn line_of(source: &str, needle: &str) -> u64 {
    source
        .lines()
        .position(|line| line.contains(needle))
        .map(|index| index as u64 + 1)
        .unwrap_or_else(|| panic!("no line with {needle:?}"))
}

/// The first frame of a finding's stack: its function and line.
fn first_frame(finding: &Value, stack: &str) -> (String, u64) {
    let frame = &finding["stacks"][stack][0];
    (
        frame["function"].as_str().unwrap_or("?").to_owned(),
        frame["line"].as_u64().unwrap_or(0),
    )
}

/// Runs `binary CASE` under `gpa run` with `options`, each case in a directory of its own.
fn run_case(dir: &Path, binary: &Path, options: &[&str], case: &str) -> Run {
    let case_dir = dir.join(case);
    std::fs::create_dir_all(&case_dir).unwrap();
    gpa_run(&case_dir, options, &[binary.to_str().unwrap(), case])
}

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
    assert_eq!(finding["kind"], "overflow", "{case}: {finding}");
    assert_eq!(finding["access"], "read", "{case}: {finding}");
    assert_eq!(finding["offset"], expected.offset, "{case}: {finding}");
    assert_eq!(finding["size"], expected.size, "{case}: {finding}");
    let message = finding["message"].as_str().unwrap_or_default();
    let unit = match expected.access_size {
        1 => "1 byte".to_owned(),
        bytes => format!("{bytes} bytes"),
    };
    assert!(
        message.starts_with(&format!("buffer overflow: read of {unit} 0 bytes after")),
        "{case}: {message}"
    );
    assert!(
        message.ends_with(&format!("(in {})", expected.call)),
        "{case}: {message}"
    );
    assert_eq!(
        first_frame(finding, "access"),
        ("main".to_owned(), line_of(source, &format!("@{case}"))),
        "{case}: the call's stack starts at the program's call: {finding}"
    );
    let (function, line) = expected.alloc;
    assert_eq!(
        first_frame(finding, "alloc"),
        (function.to_owned(), line_of(source, line)),
        "{case}: {finding}"
    );
}

#[test]
fn comparisons_past_a_block_end_beyond_the_first_chunk_are_reported_as_valgrind_reports_them() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-compare");
    let binary = compile_c_with("libc", "compare", "compare", &[], &dir);
    let source = source_text();
    for expected in CASES {
        let run = run_case(&dir, &binary, &[], expected.case);
        check_case(&run, expected, &source);
        assert_eq!(run.json["errors"], 1, "{}: {}", expected.case, run.stderr());
    }
}

#[test]
fn comparisons_that_stop_in_bounds_past_the_first_chunk_report_nothing() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-compare-clean");
    let binary = compile_c_with("libc", "compare", "compare", &[], &dir);
    for options in [&[][..], &["--guard"][..]] {
        let run = run_case(&dir, &binary, options, "clean");
        // Valgrind 3.19: ERROR SUMMARY: 0 errors; the program prints 10.
        assert_eq!(run.stdout().trim(), "10", "{options:?}: {}", run.stderr());
        assert!(
            run.findings().is_empty(),
            "{options:?}: {}\n{}",
            describe(&run.findings()),
            run.stderr()
        );
    }
}

#[test]
fn short_heap_strings_compare_as_glibcs_strcmp_compares_them() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("libc-compare-short");
    let binary = compile_c_with("libc", "compare", "compare", &[], &dir);
    // The values of glibc's own `strcmp`: the program without gpa.
    let plain = std::process::Command::new(&binary)
        .arg("short")
        .output()
        .unwrap();
    assert!(plain.status.success());
    let expected = String::from_utf8(plain.stdout).unwrap();
    assert_eq!(expected.lines().count(), 11);
    for options in [&[][..], &["--guard"][..]] {
        let run = run_case(&dir, &binary, options, "short");
        // Valgrind 3.19: ERROR SUMMARY: 0 errors.
        assert_eq!(run.stdout(), expected, "{options:?}: {}", run.stderr());
        assert!(
            run.findings().is_empty(),
            "{options:?}: {}\n{}",
            describe(&run.findings()),
            run.stderr()
        );
    }
}
