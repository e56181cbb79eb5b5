//! The planted-bug corpus (`tests/c/*.c`, one bug each, built with `gcc -O0 -g`) under
//! `gpa run`: each bug is reported with the right kind and allocation site; clean programs
//! give no findings and the same output as without gpa, in check and fast mode.

mod common;

use common::*;
use serde_json::Value;

/// (program, expected kind, function on the allocation stack, blocks, bytes). Leaks are loss
/// records, as Valgrind prints them: `leak_many`'s list is one definitely lost block of 24
/// bytes holding the other nine (216 bytes indirectly lost), 240 bytes in all.
const PLANTED: &[(&str, &str, &str, u64, u64)] = &[
    ("leak", "leak", "leak_site", 1, 100),
    ("leak_many", "leak", "grow_list", 1, 240),
    ("double_free", "double_free", "make_buffer", 1, 40),
    ("double_free_late", "double_free", "make_victim", 1, 24),
    ("invalid_free_middle", "invalid_free", "make_record", 1, 64),
    ("overflow_1", "overflow", "fill_name", 1, 10),
    ("overflow_memcpy", "overflow", "make_small", 1, 32),
    ("overflow_at_exit", "overflow", "make_kept", 1, 20),
    ("underflow", "underflow", "make_field", 1, 48),
    (
        "write_after_free",
        "write_after_free",
        "make_session",
        1,
        64,
    ),
    ("zero_size", "overflow", "make_empty", 1, 0),
    // Through check mode's `realloc` entry (a block that moves): the redzone of the block
    // given up, a write and a free through the pointer given up.
    ("realloc_overflow", "overflow", "make_line", 1, 20),
    ("realloc_write_old", "write_after_free", "make_table", 1, 24),
    ("realloc_double_free", "double_free", "make_names", 1, 32),
];

/// Frees of memory the allocator never handed out: no allocation site, the freeing function.
const BAD_POINTERS: &[(&str, &str)] = &[
    ("invalid_free_stack", "free_local"),
    ("invalid_free_static", "free_static"),
];

const CLEAN: &[&str] = &[
    "clean_basic",
    "clean_threads",
    "clean_fork",
    "clean_fork_threads",
    "clean_small_stacks",
    // Fast mode lost bytes 8 to 14 of a large block shrunk to 15 bytes by `realloc` (the
    // free key's word cleared after the copy); also fast mode's `c_realloc` and `c_calloc`
    // paths. Check mode and Valgrind 3.19: no error.
    "clean_realloc",
    // Every way into and out of the exported `malloc` and `free` (`gpa::c_entry`'s naked
    // fast paths and their slow ways: past the direct table, carved slots, pages that empty,
    // another thread's frees). Valgrind 3.19: no error, all heap blocks freed.
    "clean_entries",
];

fn gcc_or_skip() -> bool {
    if have("gcc") {
        return true;
    }
    eprintln!("SKIPPED: gcc is not installed (apt-get install gcc)");
    false
}

#[test]
fn every_planted_bug_is_reported_with_its_kind_and_allocation_site() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("planted");
    for &(name, kind, site, count, size) in PLANTED {
        let binary = compile_c(name, &dir);
        let run = gpa_run(&dir, &[], &[binary.to_str().unwrap()]);
        let findings = run.findings();
        assert_eq!(
            findings.len(),
            1,
            "{name}: one finding expected, got:\n{}",
            describe(&findings)
        );
        let finding = &findings[0];
        assert_eq!(finding["kind"], kind, "{name}: {}", describe(&findings));
        let alloc = stack_functions(finding, "alloc");
        assert_eq!(
            alloc.first().map(String::as_str),
            Some(site),
            "{name}: alloc stack {alloc:?}"
        );
        assert!(
            alloc.iter().any(|f| f == "main"),
            "{name}: alloc stack {alloc:?}"
        );
        assert_eq!(finding["count"], count, "{name}");
        assert_eq!(finding["size"], size, "{name}");
        assert!(finding["pid"].as_u64().is_some());
        // A block of no bytes lies on an inaccessible page: the write faults and is reported
        // at the access (Valgrind: "Invalid write of size 1 ... 0 bytes after a block of size
        // 0 alloc'd"), and the program goes on, as under Valgrind (exit 0, "done").
        if name == "zero_size" {
            assert_eq!(finding["access"], "write", "{name}");
            assert_eq!(finding["offset"], 0, "{name}");
            assert_eq!(run.output.status.code(), Some(0), "{name}");
            assert!(stack_functions(finding, "access")
                .iter()
                .any(|f| f == "main"));
        }
        // The report also went to stderr, after the program's own output.
        assert!(
            run.stdout().contains("done"),
            "{name}: stdout {}",
            run.stdout()
        );
        assert!(
            run.stderr().contains("error(gpa): "),
            "{name}: stderr {}",
            run.stderr()
        );
        assert!(
            run.stderr().contains(site),
            "{name}: stderr lacks {site}: {}",
            run.stderr()
        );
        assert_eq!(
            run.output.status.code(),
            Some(0),
            "{name}: the program's own status"
        );
    }
}

#[test]
fn double_free_names_both_frees() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("double");
    let binary = compile_c("double_free", &dir);
    let run = gpa_run(&dir, &[], &[binary.to_str().unwrap()]);
    let finding = &run.findings()[0];
    assert_eq!(
        stack_functions(finding, "free").first().map(String::as_str),
        Some("release_twice")
    );
    let second = stack_functions(finding, "second_free");
    assert_eq!(second.first().map(String::as_str), Some("release_twice"));
    let frames = finding["stacks"]["second_free"].as_array().unwrap();
    assert!(frames[0]["file"]
        .as_str()
        .unwrap()
        .ends_with("double_free.c"));
    assert!(frames[0]["line"].as_u64().is_some());
}

/// GLib's slices (`g_slice_alloc`; GLib 2.74 in Debian 12 carves them out of chunks of its
/// own) are `malloc` blocks under `gpa run` in check and guard modes, as GLib makes them by
/// itself under Valgrind: `gpa run` sets `G_SLICE=always-malloc` unless the user set
/// `G_SLICE`. Valgrind 3.19 on `glib_slices.c`: an invalid write 0 bytes after a 24-byte block
/// allocated by `g_slice_alloc` from `main`, and 40 bytes in 1 blocks definitely lost. Before,
/// gpa saw no overflow, and the lost slice counted as its chunk: 1,984 bytes in 4 blocks
/// possibly lost, nothing definitely lost.
#[test]
fn glib_slices_are_checked_blocks_as_under_valgrind() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("glib-slices");
    let binary = compile_c("glib_slices", &dir);
    let program = binary.to_str().unwrap();
    let plain = plain_run(&dir, &[program], |_| {});
    if String::from_utf8_lossy(&plain.stdout).contains("no glib") {
        eprintln!("SKIPPED: GLib is not installed (apt-get install libglib2.0-0)");
        return;
    }
    for mode in [&[][..], &["--guard"][..]] {
        let run = gpa_run(&dir, mode, &[program]);
        let findings = run.findings();
        let overflows: Vec<&Value> = findings
            .iter()
            .filter(|finding| finding["kind"] == "overflow")
            .collect();
        assert_eq!(overflows.len(), 1, "{mode:?}: {}", describe(&findings));
        assert!(
            overflows[0]["message"]
                .as_str()
                .is_some_and(|message| message.contains("(24 bytes)")),
            "{mode:?}: {}",
            overflows[0]["message"]
        );
        let alloc = stack_functions(overflows[0], "alloc");
        assert!(
            alloc.iter().any(|function| function == "main"),
            "{mode:?}: {alloc:?}"
        );
        assert_eq!(
            gpa_leak_totals(&run.json["processes"][0])[..3],
            [(1, 40), (0, 0), (0, 0)],
            "{mode:?}: {}",
            describe(&findings)
        );
    }
}

#[test]
fn frees_of_stack_and_static_addresses_are_invalid_frees_at_the_freeing_function() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("bad-pointers");
    for &(name, site) in BAD_POINTERS {
        let binary = compile_c(name, &dir);
        let run = gpa_run(&dir, &[], &[binary.to_str().unwrap()]);
        let findings = run.findings();
        assert_eq!(findings.len(), 1, "{name}: {}", describe(&findings));
        assert_eq!(findings[0]["kind"], "invalid_free");
        let stack = stack_functions(&findings[0], "invalid_free");
        assert_eq!(
            stack.first().map(String::as_str),
            Some(site),
            "{name}: {stack:?}"
        );
    }
}

#[test]
fn leaks_are_grouped_and_reachable_blocks_only_counted_unless_asked() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("reachable");
    let binary = compile_c("leak", &dir);
    let run = gpa_run(&dir, &[], &[binary.to_str().unwrap()]);
    assert_eq!(run.json["leaked_blocks"], 1);
    assert_eq!(run.json["leaked_bytes"], 100);
    // `kept` (50 bytes, a global) is reachable: counted, not reported (stdout's buffer was
    // freed by glibc's exit-time frees, as under Valgrind).
    assert_eq!(run.json["reachable_blocks"], 1);
    assert_eq!(run.json["reachable_bytes"], 50);
    assert!(!run.findings().iter().any(|f| f["leak_kind"] == "reachable"));
    let shown = gpa_run(&dir, &["--show-reachable"], &[binary.to_str().unwrap()]);
    let reachable: Vec<Value> = shown
        .findings()
        .into_iter()
        .filter(|f| f["leak_kind"] == "reachable")
        .collect();
    assert!(
        reachable.iter().any(
            |group| stack_functions(group, "alloc").first().map(String::as_str)
                == Some("keep_site")
                && group["size"] == 50
        ),
        "{reachable:?}"
    );
    assert!(
        shown.stderr().contains("still reachable"),
        "{}",
        shown.stderr()
    );
}

#[test]
fn error_exitcode_applies_only_when_there_are_findings() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("exitcode");
    let buggy = compile_c("double_free", &dir);
    let clean = compile_c("clean_basic", &dir);
    let run = gpa_run(
        &dir,
        &["--error-exitcode", "99"],
        &[buggy.to_str().unwrap()],
    );
    assert_eq!(run.output.status.code(), Some(99));
    let run = gpa_run(
        &dir,
        &["--error-exitcode", "99"],
        &[clean.to_str().unwrap()],
    );
    assert_eq!(run.output.status.code(), Some(0));
    let false_status = gpa_run(&dir, &[], &["sh", "-c", "exit 7"]);
    assert_eq!(false_status.output.status.code(), Some(7));
}

#[test]
fn log_file_receives_the_text_report() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("log");
    let binary = compile_c("leak", &dir);
    let log = dir.join("gpa.log");
    let run = gpa_run(
        &dir,
        &["--log", log.to_str().unwrap()],
        &[binary.to_str().unwrap()],
    );
    assert!(!run.stderr().contains("error(gpa)"), "{}", run.stderr());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("100 bytes in 1 blocks are definitely lost in loss record")
            && text.contains("leak_site"),
        "{text}"
    );
}

#[test]
fn clean_programs_have_no_findings_and_unchanged_output_in_both_modes() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("clean");
    for &name in CLEAN {
        let binary = compile_c(name, &dir);
        let command = [binary.to_str().unwrap()];
        let plain = plain_run(&dir, &command, |_| {});
        assert!(plain.status.success(), "{name} fails without gpa");
        for mode in [&[][..], &["--fast"][..]] {
            let run = gpa_run(&dir, mode, &command);
            let main_pid = run.json["processes"][0]["pid"].clone();
            // A `fork` child of a multithreaded program inherits the blocks the other threads
            // were allocating at that moment, with no thread left to hold them: definitely
            // lost, as Valgrind reports them in each child ("300,000 bytes in 1 blocks are
            // definitely lost", at `churn`). Nothing else may be found.
            let unexpected: Vec<Value> = run
                .findings()
                .into_iter()
                .filter(|f| {
                    !(name == "clean_fork_threads"
                        && f["pid"] != main_pid
                        && f["leak_kind"] == "definite"
                        && stack_functions(f, "alloc").first().map(String::as_str) == Some("churn"))
                })
                .collect();
            assert!(
                unexpected.is_empty(),
                "{name} {mode:?}: {}",
                describe(&unexpected)
            );
            assert_eq!(
                run.stdout(),
                String::from_utf8_lossy(&plain.stdout),
                "{name} {mode:?}"
            );
            // A clean run adds nothing to the program's stderr but, in check mode, the line
            // that says what was checked (memcheck's error summary) and the one that says which
            // reads check mode cannot see.
            if run.findings().is_empty() {
                let stderr = run.stderr();
                if mode.is_empty() {
                    assert!(
                        stderr.starts_with("gpa: 0 error(s) in ")
                            && stderr.contains(" process(es) checked; ")
                            && stderr.lines().count() == 2
                            && stderr.lines().nth(1).is_some_and(|line| {
                                line.starts_with("gpa: check mode sees reads outside a block")
                            }),
                        "{name} {mode:?}: {stderr}"
                    );
                } else {
                    assert_eq!(stderr, "", "{name} {mode:?}");
                }
            }
            assert_eq!(run.output.status.code(), Some(0), "{name} {mode:?}");
        }
    }
}

#[test]
fn memory_limit_makes_allocations_fail_cleanly() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("limit");
    let binary = compile_c("clean_basic", &dir);
    // clean_basic needs about 30 MiB at its peak; under 1 MiB its big malloc fails and it
    // crashes or reports failures, so the status differs from success.
    let run = gpa_run(&dir, &["--memory-limit", "1m"], &[binary.to_str().unwrap()]);
    assert_ne!(
        run.output.status.code(),
        Some(0),
        "stdout: {}",
        run.stdout()
    );
    let run = gpa_run(&dir, &["--memory-limit", "1g"], &[binary.to_str().unwrap()]);
    assert_eq!(
        run.output.status.code(),
        Some(0),
        "stdout: {}",
        run.stdout()
    );
}

#[test]
fn the_readme_example_reports_its_overflow_and_its_leak() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("readme-example");
    let binary = compile_source(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/c/planted_bug.c"),
        &dir,
    );
    let run = gpa_run(&dir, &[], &[binary.to_str().unwrap()]);
    assert_eq!(run.stdout(), "9 words, the longest has 5 letters\n");
    let findings = run.findings();
    let overflow = findings
        .iter()
        .find(|f| f["kind"] == "overflow")
        .expect("overflow reported");
    assert_eq!(overflow["count"], 9, "one per word, grouped");
    assert_eq!(
        stack_functions(overflow, "alloc")
            .first()
            .map(String::as_str),
        Some("copy_word")
    );
    // The list: one definitely lost record (the list's own 24 bytes) holding its array and
    // its 9 words (163 bytes indirectly lost), at `split`, as Valgrind reports it.
    let leaks: Vec<&Value> = findings.iter().filter(|f| f["kind"] == "leak").collect();
    assert_eq!(leaks.len(), 1, "{}", describe(&findings));
    assert_eq!(leaks[0]["leak_kind"], "definite");
    assert_eq!(leaks[0]["size"], 187);
    assert_eq!(leaks[0]["direct_bytes"], 24);
    assert_eq!(leaks[0]["indirect_bytes"], 163);
    assert_eq!(
        stack_functions(leaks[0], "alloc")
            .first()
            .map(String::as_str),
        Some("split")
    );
    // With a second argument the program frees its list: only the overflow remains, seen at
    // the `strcpy` that writes past each word's block and at the `strlen` that reads past it
    // (Valgrind: "Invalid write of size 1 at strcpy" and "Invalid read of size 1 at strlen").
    let run = gpa_run(&dir, &[], &[binary.to_str().unwrap(), "a bb ccc", "free"]);
    let kinds: Vec<String> = run
        .findings()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["overflow", "overflow"],
        "{}",
        describe(&run.findings())
    );
}

#[test]
fn a_crash_still_writes_the_report_and_keeps_the_signal_status() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("crash");
    let binary = compile_c("crash_after_double_free", &dir);
    let run = gpa_run(&dir, &[], &[binary.to_str().unwrap()]);
    assert_eq!(run.output.status.code(), Some(128 + 11), "SIGSEGV's status");
    assert_eq!(run.json["exit_status"], 128 + 11);
    let findings = run.findings();
    assert_eq!(findings.len(), 1, "{}", describe(&findings));
    assert_eq!(findings[0]["kind"], "double_free");
    let second = stack_functions(&findings[0], "second_free");
    assert_eq!(second.first().map(String::as_str), Some("release_twice"));
}
