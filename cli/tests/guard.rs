//! `gpa run --guard` and `--guard-sample`: faults on guarded blocks reported at the access,
//! with the allocation, free and access traces, in the text and JSON reports; the process
//! ends as the signal would (128 + 11), with its buffered output kept.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{describe, gpa_run, have, scratch, stack_functions};
use serde_json::Value;

fn gcc_or_skip() -> bool {
    if have("gcc") {
        return true;
    }
    eprintln!("skipping: gcc is not installed (Debian package gcc)");
    false
}

/// Compiles `tests/guard/<name>.c`.
fn compile(name: &str, dir: &Path) -> PathBuf {
    common::compile_c_with("guard", name, name, &[], dir)
}

fn only_finding(findings: &[Value]) -> &Value {
    assert_eq!(findings.len(), 1, "{}", describe(findings));
    &findings[0]
}

fn first_function(finding: &Value, stack: &str) -> Option<String> {
    stack_functions(finding, stack).into_iter().next()
}

#[test]
fn a_read_after_free_is_reported_at_the_access_with_three_traces() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("guard-read-after-free");
    let binary = compile("read_after_free", &dir);
    let log = dir.join("report.txt");
    let run = gpa_run(
        &dir,
        &["--guard", "--log", log.to_str().unwrap()],
        &[binary.to_str().unwrap()],
    );
    assert_eq!(run.output.status.code(), Some(128 + 11), "{}", run.stderr());
    assert_eq!(run.json["exit_status"], 128 + 11);
    // The output written before the fault (a pipe: fully buffered) is flushed, not lost.
    assert_eq!(run.stdout(), "greeting: hello\n");
    let findings = run.findings();
    let finding = only_finding(&findings);
    assert_eq!(finding["kind"], "read_after_free");
    assert_eq!(finding["access"], "read");
    assert_eq!(finding["offset"], 10);
    assert_eq!(finding["size"], 100);
    assert_eq!(
        first_function(finding, "alloc").as_deref(),
        Some("make_greeting")
    );
    assert_eq!(
        first_function(finding, "free").as_deref(),
        Some("drop_greeting")
    );
    assert_eq!(first_function(finding, "access").as_deref(), Some("peek"));
    assert!(stack_functions(finding, "access").contains(&"main".to_string()));
    let text = std::fs::read_to_string(&log).expect("text report");
    assert!(
        text.contains(
            "error(gpa): read after free: read of 1 byte at offset 10 of a freed 100-byte block"
        ),
        "{text}"
    );
    for stack in ["alloc trace:", "free trace:", "access trace:"] {
        assert!(text.contains(stack), "{stack} missing in\n{text}");
    }
}

#[test]
fn a_read_past_the_end_faults_on_the_guard_page() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("guard-overflow-read");
    let binary = compile("overflow_read", &dir);
    for options in [&["--guard"][..], &["--guard-sample", "1"][..]] {
        let run = gpa_run(&dir, options, &[binary.to_str().unwrap()]);
        assert_eq!(run.output.status.code(), Some(128 + 11), "{options:?}");
        let findings = run.findings();
        let finding = only_finding(&findings);
        assert_eq!(finding["kind"], "overflow", "{options:?}");
        assert_eq!(finding["access"], "read");
        assert_eq!(finding["offset"], 128, "{options:?}: {finding}");
        assert!(
            finding["message"]
                .as_str()
                .unwrap()
                .contains("read of 1 byte 0 bytes after the end of a 128-byte block"),
            "{finding}"
        );
        assert_eq!(
            first_function(finding, "alloc").as_deref(),
            Some("make_table")
        );
        assert_eq!(
            first_function(finding, "access").as_deref(),
            Some("sum_one_too_many")
        );
    }
}

#[test]
fn with_guard_underflow_a_write_before_the_start_faults() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("guard-underflow");
    let binary = compile("underflow_write", &dir);
    let run = gpa_run(&dir, &["--guard-underflow"], &[binary.to_str().unwrap()]);
    assert_eq!(run.output.status.code(), Some(128 + 11));
    let findings = run.findings();
    let finding = only_finding(&findings);
    assert_eq!(finding["kind"], "underflow");
    assert_eq!(finding["access"], "write");
    assert_eq!(finding["offset"], -40);
    assert_eq!(
        first_function(finding, "access").as_deref(),
        Some("clear_from_before")
    );
}

#[test]
fn a_fault_in_another_thread_is_reported_too() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("guard-thread");
    let binary = compile("thread_write_after_free", &dir);
    let run = gpa_run(&dir, &["--guard"], &[binary.to_str().unwrap()]);
    assert_eq!(run.output.status.code(), Some(128 + 11));
    let findings = run.findings();
    let finding = only_finding(&findings);
    assert_eq!(finding["kind"], "write_after_free");
    assert_eq!(finding["access"], "write");
    assert!(
        stack_functions(finding, "access").contains(&"scribble".to_string()),
        "{finding}"
    );
}

#[test]
fn a_clean_program_runs_unchanged_in_guard_and_sampled_modes() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("guard-clean");
    let binary = compile("clean_work", &dir);
    let plain = Command::new(&binary).output().expect("run plainly");
    for options in [
        &["--guard"][..],
        &["--guard", "--guard-underflow"][..],
        &["--guard-sample", "10"][..],
        &["--fast", "--guard-sample", "10"][..],
        &["--guard", "--quarantine", "64k"][..],
    ] {
        let run = gpa_run(&dir, options, &[binary.to_str().unwrap()]);
        assert_eq!(run.output.status.code(), Some(0), "{options:?}");
        assert_eq!(run.output.stdout, plain.stdout, "{options:?}");
        let findings = run.findings();
        assert!(findings.is_empty(), "{options:?}: {}", describe(&findings));
    }
}

#[test]
fn guard_mode_works_with_the_mprotect_backend_too() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("guard-mprotect");
    let binary = compile("read_after_free", &dir);
    let run = common::gpa_run_with(&dir, &["--guard"], &[binary.to_str().unwrap()], |command| {
        command.env("GPA_GUARD_PAGES", "mprotect");
    });
    assert_eq!(run.output.status.code(), Some(128 + 11));
    let findings = run.findings();
    assert_eq!(only_finding(&findings)["kind"], "read_after_free");
}

#[test]
fn sampled_fast_mode_guards_about_one_malloc_and_calloc_in_n() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("guard-sample-rate");
    let binary = compile("sample_rate", &dir);
    let counts = |options: &[&str]| -> (usize, usize) {
        let run = gpa_run(&dir, options, &[binary.to_str().unwrap()]);
        assert_eq!(run.output.status.code(), Some(0), "{options:?}");
        let stdout = String::from_utf8_lossy(&run.output.stdout).to_string();
        let mut numbers = stdout.split_whitespace().map(|n| n.parse().unwrap());
        (numbers.next().unwrap(), numbers.next().unwrap())
    };
    // The C fast paths (`malloc`, `calloc`) count down to the next guarded block: about
    // 200 of each 20000 at N = 100.
    let (malloc, calloc) = counts(&["--fast", "--guard-sample", "100"]);
    assert!(
        (100..400).contains(&malloc),
        "{malloc} of 20000 mallocs guarded"
    );
    assert!(
        (100..400).contains(&calloc),
        "{calloc} of 20000 callocs guarded"
    );
    // Every block at N = 1 (the pool's slots are reused as blocks are freed).
    assert_eq!(counts(&["--fast", "--guard-sample", "1"]), (20000, 20000));
    assert_eq!(counts(&["--fast"]), (0, 0));
}

#[test]
fn fast_mode_reports_a_fault_on_a_sampled_block() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("guard-sample-fast-fault");
    let binary = compile("read_after_free", &dir);
    // Every block sampled: the freed greeting's slot is inaccessible. Fast mode keeps no
    // allocation or free traces; the access's is unwound from the fault.
    let run = gpa_run(
        &dir,
        &["--fast", "--guard-sample", "1"],
        &[binary.to_str().unwrap()],
    );
    assert_eq!(run.output.status.code(), Some(128 + 11));
    assert!(String::from_utf8_lossy(&run.output.stdout).contains("greeting: hello"));
    let findings = run.findings();
    let finding = only_finding(&findings);
    assert_eq!(finding["kind"], "read_after_free");
    assert_eq!(finding["access"], "read");
    assert_eq!(finding["offset"], 10);
    assert_eq!(first_function(finding, "access").as_deref(), Some("peek"));
}

#[test]
fn a_process_a_sampled_fault_ended_in_fast_mode_is_not_counted_as_checked() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("guard-sample-fast-summary");
    let binary = compile("read_after_free", &dir);
    let summary = |options: &[&str]| {
        let log = dir.join("report.txt");
        let _ = std::fs::remove_file(&log);
        let mut all = options.to_vec();
        all.extend(["--guard-sample", "1", "--log", log.to_str().unwrap()]);
        let run = gpa_run(&dir, &all, &[binary.to_str().unwrap()]);
        assert_eq!(run.output.status.code(), Some(128 + 11), "{}", run.stderr());
        let text = std::fs::read_to_string(&log).expect("text report");
        let lines: Vec<String> = text
            .lines()
            .filter(|line| line.starts_with("gpa: "))
            .map(str::to_owned)
            .collect();
        (run, lines)
    };
    let exe = std::fs::canonicalize(&binary).unwrap();
    let exe = exe.display();
    // Check mode checked the process, and the fault report ended it.
    let (check, lines) = summary(&[]);
    assert_eq!(check.json["processes"][0]["status"], "checked");
    assert_eq!(check.json["processes"][0]["ended"], "signal");
    assert_eq!(lines[0], "gpa: 1 process(es): 1 checked, 0 not checked");
    assert_eq!(lines[2], "gpa: 1 error(s) in 1 process(es) checked");
    // Fast mode checked nothing but the sampled blocks: the process is listed for the fault
    // report that ended it, as a fast-mode process, never as a checked one.
    let (fast, lines) = summary(&["--fast"]);
    let process = &fast.json["processes"][0];
    assert_eq!(process["status"], "fast");
    assert_eq!(process["ended"], "signal");
    assert_eq!(process["findings"], 1);
    assert_eq!(process["exe"], exe.to_string());
    assert_eq!(
        lines,
        [
            "gpa: 1 process(es) in fast mode ended on a fault on a sampled block (fast mode \
             checks nothing else)"
                .to_string(),
            format!(
                "gpa:   pid {} {exe}: fast mode, ended on a fault on a sampled block, 1 \
                 finding(s)",
                process["pid"]
            ),
            "gpa: 1 error(s) on sampled blocks in 1 process(es) in fast mode".to_string(),
        ]
    );
    assert!(
        lines.iter().all(|line| !line.contains("checked,")),
        "{lines:?}"
    );
}
