//! The security cases: one planted memory mistake per program (`tests/security/*.c`), of every
//! kind that mimalloc-bench's `bench/security` folder tests, each built at three block sizes
//! (8 B, 4 KiB, 256 KiB) and run under `gpa run` in check mode and in guard mode.
//!
//! Asserted: every run ends (a timeout) with its report (the JSON file: no crash without a
//! report); guard mode reports the planted kind in every case at every size; check mode in
//! every case but reads after free of small blocks (which only a guard page catches at the
//! access), and in at least the number of cases measured when this test was written; no
//! finding at all on the clean cases. Valgrind memcheck 3.19's verdict on each case was
//! measured (`valgrind --leak-check=full`, one run per case and size, all three sizes alike)
//! and is written below; guard mode must find at least as many as it does.
//!
//! The first cases stand for mimalloc-bench's tests (99 planted cases at the three sizes);
//! the cases marked `own` are gpa's own, beside them: other requests for no bytes
//! (`calloc(0, n)`, `aligned_alloc(64, 0)`, a read after the free of a `malloc(0)` block, the
//! leak of one), and writes and reads after free at other offsets (the middle, the last byte,
//! zeros over the whole block).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{gpa_exe, have, preload_library, scratch};
use serde_json::Value;

/// What Valgrind said about a case (the same at the three sizes).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Valgrind {
    /// Reported the planted kind.
    Kind,
    /// Reported an invalid access without naming a block (not the planted kind).
    OtherError,
    /// The program died of its mistake (SIGSEGV) with no error naming it.
    Crash,
    /// Nothing.
    Nothing,
}

struct Case {
    name: &'static str,
    /// The finding kind the planted mistake should produce; `None` for a clean case.
    kind: Option<&'static str>,
    valgrind: Valgrind,
    /// One of gpa's own cases (not standing for a mimalloc-bench test).
    own: bool,
}

const fn case(name: &'static str, kind: &'static str, valgrind: Valgrind) -> Case {
    Case {
        name,
        kind: Some(kind),
        valgrind,
        own: false,
    }
}

/// One of gpa's own planted cases.
const fn own(name: &'static str, kind: &'static str, valgrind: Valgrind) -> Case {
    Case {
        own: true,
        ..case(name, kind, valgrind)
    }
}

const fn clean(name: &'static str) -> Case {
    Case {
        name,
        kind: None,
        valgrind: Valgrind::Nothing,
        own: false,
    }
}

use Valgrind::{Crash, Kind, Nothing, OtherError};

const CASES: &[Case] = &[
    case("overflow_by_1", "overflow", Kind),
    case("overflow_by_32", "overflow", Kind),
    case("overflow_by_1m", "overflow", OtherError),
    case("copy_past_end_by_1", "overflow", Kind),
    case("copy_past_end_by_32", "overflow", Kind),
    case("copy_past_end_by_1m", "overflow", Kind),
    case("underflow_by_1", "underflow", Kind),
    case("underflow_by_32", "underflow", Kind),
    case("underflow_by_1m", "underflow", Crash),
    case("copy_before_start_by_1", "underflow", Kind),
    case("copy_before_start_by_32", "underflow", Kind),
    case("copy_before_start_by_1m", "underflow", Crash),
    case("double_free", "double_free", Kind),
    case("double_free_after_churn", "double_free", Kind),
    case("double_free_crossed", "double_free", Kind),
    case("double_free_then_churn", "double_free", Kind),
    case("double_free_after_new_block", "double_free", Kind),
    case("free_constant", "invalid_free", Kind),
    case("free_alloca", "invalid_free", Kind),
    case("free_local_array", "invalid_free", Kind),
    case("free_past_block", "invalid_free", Kind),
    case("free_far_away", "invalid_free", Kind),
    case("free_plus_1", "invalid_free", Kind),
    case("free_plus_16", "invalid_free", Kind),
    case("read_empty_block", "overflow", Kind),
    case("read_empty_block_freed", "overflow", Kind),
    case("write_empty_block", "overflow", Kind),
    case("write_empty_block_freed", "overflow", Kind),
    case("write_after_free", "write_after_free", Kind),
    case("write_after_free_then_churn", "write_after_free", Kind),
    case("read_after_free", "read_after_free", Kind),
    case("realloc_result_dropped", "leak", Kind),
    case("run_heap_code", "heap_execution", Nothing),
    // Valgrind: "Address ... is 0 bytes after a block of size 0 alloc'd" (or "free'd").
    own("read_calloc_empty_block", "overflow", Kind),
    own("read_aligned_empty_block", "overflow", Kind),
    own("read_empty_block_after_free", "overflow", Kind),
    // Valgrind: "0 bytes in 1 blocks are definitely lost".
    own("leak_empty_block", "leak", Kind),
    // Valgrind: "Address ... is N bytes inside a block of size M free'd".
    own("zero_after_free", "write_after_free", Kind),
    own("write_after_free_in_middle", "write_after_free", Kind),
    own("write_after_free_at_end", "write_after_free", Kind),
    own("read_after_free_at_end", "read_after_free", Kind),
    clean("clean_reuse"),
    clean("clean_many_blocks"),
    clean("clean_realloc_calloc"),
    clean("clean_empty_blocks"),
];

const SIZES: [usize; 3] = [8, 4096, 256 * 1024];

/// Planted-mistake cases standing for mimalloc-bench's (of 99) for which check mode reported
/// the planted kind when this test was written (81 before blocks of no bytes were placed on
/// inaccessible pages and faults a mebibyte off a block were attributed); improvements may
/// raise it.
const CHECK_MODE_AT_LEAST: usize = 97;
/// The same for all planted cases, gpa's own included (of 123).
const CHECK_MODE_ALL_AT_LEAST: usize = 119;

/// Cases check mode must get right at every size, as guard mode does: all but reads after
/// free, which check mode catches only for large blocks (their freed range is inaccessible);
/// a freed small block is only poisoned, and a read leaves no trace in it.
fn check_mode_must_find(name: &str) -> bool {
    !name.starts_with("read_after_free")
}

/// The longest any run may take.
const TIMEOUT: Duration = Duration::from_secs(120);

fn compile(name: &str, size: usize, dir: &Path) -> PathBuf {
    let block = format!("-DBLOCK={size}");
    common::compile_c_with("security", name, &format!("{name}_{size}"), &[&block], dir)
}

/// The kinds of one `gpa run`, after checking it ended in time with its report.
fn run(binary: &Path, mode: &[&str], dir: &Path) -> Vec<String> {
    let json = dir.join(format!(
        "{}-{}.json",
        binary.file_name().unwrap().to_string_lossy(),
        mode.join("")
    ));
    let _ = std::fs::remove_file(&json);
    let mut child = Command::new(gpa_exe())
        .current_dir(dir)
        .arg("run")
        .arg("--preload")
        .arg(preload_library())
        .args(mode)
        .arg("--json")
        .arg(&json)
        .arg("--")
        .arg(binary)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gpa");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait for gpa").is_some() {
            break;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("{} {mode:?}: no end after {TIMEOUT:?}", binary.display());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let output = child.wait_with_output().expect("gpa's output");
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "{} {mode:?}: no report ({e}); status {:?}; stderr:\n{}",
            binary.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let report: Value = serde_json::from_str(&text).expect("report is JSON");
    report["findings"]
        .as_array()
        .map(|findings| {
            findings
                .iter()
                .filter_map(|finding| finding["kind"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_kind_of_mistake_is_reported_in_guard_mode_and_as_often_as_valgrind_does() {
    if !have("gcc") {
        eprintln!("skipping: gcc is not installed (Debian package gcc)");
        return;
    }
    let dir = scratch("security");
    let jobs: Vec<(&Case, usize)> = CASES
        .iter()
        .flat_map(|case| SIZES.iter().map(move |&size| (case, size)))
        .collect();
    // Two at a time (each thread compiles a binary, then runs it in check and guard mode), to
    // keep the test short.
    let results: Vec<(&Case, usize, Vec<String>, Vec<String>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(jobs.len().div_ceil(2))
            .map(|chunk| {
                let dir = &dir;
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|&(case, size)| {
                            let binary = &compile(case.name, size, dir);
                            let check = run(binary, &[], dir);
                            let guard = run(binary, &["--guard"], dir);
                            (case, size, check, guard)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("a runner thread panicked"))
            .collect()
    });
    let mut guard_right = 0;
    let mut check_right = 0;
    let mut check_right_bench = 0;
    let mut valgrind_right = 0;
    let mut planted = 0;
    let mut planted_bench = 0;
    let mut problems = Vec::new();
    for (case, size, check, guard) in &results {
        let Some(kind) = case.kind else {
            if !check.is_empty() || !guard.is_empty() {
                problems.push(format!(
                    "{} at {size}: false findings: check {check:?}, guard {guard:?}",
                    case.name
                ));
            }
            continue;
        };
        planted += 1;
        planted_bench += usize::from(!case.own);
        valgrind_right += usize::from(case.valgrind == Kind);
        let check_found = check.iter().any(|k| k == kind);
        check_right += usize::from(check_found);
        check_right_bench += usize::from(check_found && !case.own);
        if !check_found && check_mode_must_find(case.name) {
            problems.push(format!(
                "{} at {size}: check mode reported {check:?}, not {kind}",
                case.name
            ));
        }
        if guard.iter().any(|k| k == kind) {
            guard_right += 1;
        } else {
            problems.push(format!(
                "{} at {size}: guard mode reported {guard:?}, not {kind}",
                case.name
            ));
        }
    }
    eprintln!(
        "planted {planted}: guard mode {guard_right}, check mode {check_right}, Valgrind \
         {valgrind_right}; of the {planted_bench} standing for mimalloc-bench's, check mode \
         {check_right_bench}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!((planted, planted_bench), (123, 99));
    assert!(guard_right >= valgrind_right);
    assert!(
        check_right_bench >= CHECK_MODE_AT_LEAST,
        "check mode: {check_right_bench} < {CHECK_MODE_AT_LEAST}"
    );
    assert!(
        check_right >= CHECK_MODE_ALL_AT_LEAST,
        "check mode, all cases: {check_right} < {CHECK_MODE_ALL_AT_LEAST}"
    );
}
