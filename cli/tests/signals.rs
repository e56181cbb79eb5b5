//! gpa's fault handler is invisible to the program (issue 10, "a fault that is not gpa's goes
//! to the program's own handler or the default action, unchanged"): programs that install a
//! handler only while the disposition is `SIG_DFL` (Rust's std) still install it, queries
//! return the program's own action, `signal`/`sysv_signal` semantics hold, and a fault that is
//! gpa's finding is still reported first.

mod common;

use std::path::{Path, PathBuf};

use common::{compile_rust_file, describe, gcc_or_skip, gpa_run, have, plain_run, scratch};

/// Compiles `tests/signals/<name>.c`.
fn compile(name: &str, dir: &Path) -> PathBuf {
    common::compile_c_with("signals", name, name, &[], dir)
}

/// Compiles `tests/signals/stack_overflow.rs` with `rustc` (unoptimized, so every call keeps
/// its frame).
fn compile_rust_overflow(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/signals/stack_overflow.rs");
    compile_rust_file(
        "rustc",
        &source,
        &dir.join("stack_overflow"),
        &["-C", "opt-level=0"],
    )
}

#[test]
fn a_rust_stack_overflow_prints_its_message_and_aborts() {
    if !have("rustc") {
        eprintln!("skipping: rustc is not installed");
        return;
    }
    let dir = scratch("signals-rust-overflow");
    let binary = compile_rust_overflow(&dir);
    // Natively: "thread 'main' has overflowed its stack", then SIGABRT: 128 + 6. (Valgrind
    // 3.19 cannot run the handler: it says "Stack overflow in thread #1: can't grow stack"
    // and ends with SIGSEGV, 139; glibc's behaviour, the program's own handler running, is
    // the one the issue asks to keep.)
    let cases = [
        ("main", "main", &[][..]),
        ("thread", "deep", &[][..]),
        ("main", "main", &["--fast"][..]),
    ];
    for (argument, thread, options) in cases {
        let native = plain_run(&dir, &[binary.to_str().unwrap(), argument], |_| {});
        assert_eq!(native.status.code(), None, "{argument}: killed natively");
        let run = gpa_run(&dir, options, &[binary.to_str().unwrap(), argument]);
        let stderr = run.stderr();
        assert_eq!(
            run.output.status.code(),
            Some(128 + 6),
            "{argument}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("thread '{thread}'"))
                && stderr.contains("has overflowed its stack"),
            "{argument}: {stderr}"
        );
        // The overflow is the program's business, not a finding. Its abort gets the leak
        // check (`fatal_signals.rs`): with the thread 'deep' alive, glibc's DTV for it is
        // "possibly lost", as Valgrind says of a live thread's DTV at a fatal signal.
        let findings: Vec<_> = run
            .findings()
            .into_iter()
            .filter(|finding| finding["kind"] != "leak")
            .collect();
        assert!(findings.is_empty(), "{}", describe(&findings));
    }
}

#[test]
fn a_handler_installed_only_over_sig_dfl_runs_for_a_null_dereference() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("signals-handler-if-default");
    let binary = compile("handler_if_default", &dir);
    // Natively and under Valgrind 3.19: "own handler: signal 11 at (nil)", status 3 (Valgrind
    // first reports "Invalid read of size 4 ... Address 0x0 is not stack'd").
    // Fast mode installs no handler of gpa's, but the interposed `sigaction` is there too.
    for options in [&[][..], &["--guard"][..], &["--fast"][..]] {
        let run = gpa_run(&dir, options, &[binary.to_str().unwrap()]);
        let stderr = run.stderr();
        assert_eq!(run.output.status.code(), Some(3), "{options:?}: {stderr}");
        assert!(
            stderr.contains("own handler: signal 11 at (nil)"),
            "{options:?}: {stderr}"
        );
    }
}

#[test]
fn signal_returns_the_previous_handler_and_sysv_signal_resets_on_delivery() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("signals-sysv-reset");
    let binary = compile("signal_resets", &dir);
    // Natively and under Valgrind 3.19: "sysv handler ran" once, then the repeated fault takes
    // the default action: SIGSEGV, 128 + 11.
    for options in [&[][..], &["--fast"][..]] {
        let run = gpa_run(&dir, options, &[binary.to_str().unwrap()]);
        let stderr = run.stderr();
        assert_eq!(
            run.output.status.code(),
            Some(128 + 11),
            "{options:?}: {stderr}"
        );
        assert_eq!(stderr.matches("sysv handler ran").count(), 1, "{stderr}");
        assert!(!stderr.contains("did not return"), "{options:?}: {stderr}");
    }
}

#[test]
fn guard_mode_reports_an_overflow_even_when_the_program_handles_sigsegv() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("signals-guard-with-handler");
    let binary = compile("guard_with_handler", &dir);
    // Valgrind 3.19: "Invalid read of size 1 ... 0 bytes after a block of size 128", and the
    // program goes on (status 0): its redzones are readable. In guard mode the read faults on
    // the guard page; that fault is gpa's finding, not the program's: gpa records it and the
    // program goes on as under Valgrind (status 0); the program's handler never runs.
    let run = gpa_run(&dir, &["--guard"], &[binary.to_str().unwrap()]);
    let stderr = run.stderr();
    assert_eq!(run.output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("own handler ran"), "{stderr}");
    let findings = run.findings();
    assert_eq!(findings.len(), 1, "{}", describe(&findings));
    assert_eq!(findings[0]["kind"], "overflow");
    assert_eq!(findings[0]["access"], "read");
    assert_eq!(findings[0]["offset"], 128);
}

#[test]
fn handlers_installed_through_sigset_sigvec_and_dunder_sigaction_are_the_programs() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("signals-legacy-apis");
    let binary = compile("legacy_apis", &dir);
    let binary = binary.to_str().unwrap();
    for api in ["sigset", "sigvec", "__sigaction"] {
        // Natively and under Valgrind 3.19: the previous disposition is SIG_DFL, a query
        // returns the new handler, and the null dereference reaches it: "own handler: signal
        // 11", status 3 (Valgrind first reports "Invalid read of size 4").
        for options in [&[][..], &["--guard"][..], &["--fast"][..]] {
            let run = gpa_run(&dir, options, &[binary, api, "null"]);
            let stderr = run.stderr();
            assert_eq!(
                run.output.status.code(),
                Some(3),
                "{api} {options:?}: {stderr}"
            );
            assert!(
                stderr.contains("own handler: signal 11"),
                "{api} {options:?}: {stderr}"
            );
        }
        // Valgrind 3.19: "Invalid read of size 1 ... 0 bytes after a block of size 128", and
        // the program goes on (status 0). In guard mode the read faults on the guard page:
        // gpa's finding, recorded before the program's handler could run, and the program
        // goes on as under Valgrind (status 0).
        let run = gpa_run(&dir, &["--guard"], &[binary, api, "overflow"]);
        let stderr = run.stderr();
        assert_eq!(run.output.status.code(), Some(0), "{api}: {stderr}");
        assert!(!stderr.contains("own handler"), "{api}: {stderr}");
        let findings = run.findings();
        assert_eq!(findings.len(), 1, "{api}: {}", describe(&findings));
        assert_eq!(findings[0]["kind"], "overflow");
        assert_eq!(findings[0]["access"], "read");
        assert_eq!(findings[0]["offset"], 128);
    }
}

#[test]
fn the_programs_own_sigtrap_is_handled_as_without_gpa() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("signals-trap");
    let binary = compile("trap", &dir);
    let binary = binary.to_str().unwrap();
    // Natively and under Valgrind 3.19: with a handler, "trapped 1" and status 0 (Valgrind
    // also reports the read after free: "Invalid read of size 1"); without one, SIGTRAP's
    // default action ends the program (128 + 5) before it prints.
    for options in [&["--guard"][..], &[][..]] {
        let run = gpa_run(&dir, options, &[binary, "handled"]);
        assert_eq!(
            run.output.status.code(),
            Some(0),
            "{options:?}: {}",
            run.stderr()
        );
        assert!(run.stdout().starts_with("trapped 1 "), "{}", run.stdout());
        let run = gpa_run(&dir, options, &[binary]);
        assert_eq!(
            run.output.status.code(),
            Some(128 + 5),
            "{options:?}: {}",
            run.stderr()
        );
        assert_eq!(run.stdout(), "");
        // The report is written all the same (with the leak check: `fatal_signals.rs`).
        assert_eq!(run.json["processes"][0]["status"], "checked", "{options:?}");
        if options == ["--guard"] {
            let findings = run.findings();
            assert_eq!(findings.len(), 1, "{}", describe(&findings));
            assert_eq!(findings[0]["kind"], "read_after_free");
            assert_eq!(findings[0]["offset"], 1);
        }
    }
}

/// A program does not outlive a `gpa run` that is killed (`SIGKILL`, which `gpa run` cannot
/// catch and pass on, as a harness's time limit or the OOM killer sends it). Under Valgrind
/// the program and the tool are one process, so `kill -9` of `valgrind` ends the program;
/// before, the program ran on orphaned, unwatched, and for ever when it loops (the ITC
/// sweep's `while (1) free(p);` behind a timed-out `gpa run`). Its own children are not
/// ended so (`fork` clears the parent-death signal), as Valgrind's are not.
#[test]
fn a_program_ends_when_gpa_run_is_killed() {
    let dir = scratch("signals-killed-run");
    let pid_file = dir.join("pid");
    for options in [&[][..], &["--fast"][..], &["--guard"][..]] {
        let _ = std::fs::remove_file(&pid_file);
        // The shell is the program: it writes its pid, then waits without end (`exec` keeps
        // the pid, `sleep` is the same process).
        let script = format!("echo $$ > {}; exec sleep 600", pid_file.display());
        let mut gpa = common::gpa_command(
            &dir,
            options,
            &["/bin/sh", "-c", &script],
            &dir.join("run.json"),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start gpa run");
        let started = std::time::Instant::now();
        let program: i32 = loop {
            if let Some(pid) = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|text| text.trim().parse().ok())
            {
                break pid;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "{options:?}: the program never wrote its pid"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let alive = |pid: i32| {
            // A zombie (state `Z`, not yet reaped by its new parent) has ended too.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let state = stat.rsplit_once(") ")?.1.chars().next()?;
                    Some(state != 'Z' && state != 'X')
                })
                .unwrap_or(false)
        };
        assert!(alive(program), "{options:?}: the program is not running");
        gpa.kill().expect("kill gpa run");
        gpa.wait().expect("reap gpa run");
        let killed = std::time::Instant::now();
        while alive(program) && killed.elapsed() < std::time::Duration::from_secs(20) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let survived = alive(program);
        if survived {
            // SAFETY: `kill` of the program this test started, to leave nothing running.
            unsafe { libc::kill(program, libc::SIGKILL) };
        }
        assert!(
            !survived,
            "{options:?}: the program (pid {program}) outlived the killed gpa run"
        );
    }
}

/// Runs `gpa run <options> -- <command>` in `dir`, failing the test after `limit` (a hang);
/// the JSON report with the output.
fn gpa_run_within(
    dir: &Path,
    options: &[&str],
    command: &[&str],
    limit: std::time::Duration,
) -> common::Run {
    let json = dir.join(format!(
        "limited-{}.json",
        command.join("-").replace('/', "_")
    ));
    let _ = std::fs::remove_file(&json);
    let mut gpa = common::gpa_command(dir, options, command, &json);
    let out = dir.join("limited.out");
    let err = dir.join("limited.err");
    gpa.stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"));
    let mut child = gpa.spawn().expect("start gpa");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{options:?} {command:?}: still running after {limit:?} (a hang)");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let output = std::process::Output {
        status,
        stdout: std::fs::read(&out).unwrap_or_default(),
        stderr: std::fs::read(&err).unwrap_or_default(),
    };
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "{options:?} {command:?}: no JSON report ({e}); stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let json = serde_json::from_str(&text).expect("report is JSON");
    common::Run { output, json }
}

#[test]
fn a_handler_that_allocates_runs_after_the_malloc_it_interrupted() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("signals-allocating-handler");
    let binary = compile("signal_allocates", &dir);
    let binary = binary.to_str().unwrap();
    // Valgrind 3.19 (`--leak-check=full`), as natively: `timer 100000 50` prints "handled",
    // "ERROR SUMMARY: 0 errors", "in use at exit: 0 bytes in 0 blocks"; `queue 20000`
    // prints "received 20000 sum 200010000 changed 0", 0 errors, 0 bytes in use. Before
    // `os::signal::defer`, check mode's `timer` case hung (the handler's `malloc` waited for
    // the internal heap's lock, held by the `malloc` it interrupted) and guard mode's ran
    // past two minutes; fast mode's slow paths hung likewise. The `queue` cases check that a
    // signal kept for the end of the call comes with its own `siginfo_t` and none is lost.
    let cases: [(&[&str], &[&str], &str); 6] = [
        (&[], &["timer", "200000", "50"], "handled\n"),
        // Fast mode's inline paths restart (`c_entry::restart_point`): before, 2 to 5 false
        // "double free" errors a run.
        (&["--fast"], &["timer", "2000000", "50"], "handled\n"),
        (&["--guard"], &["timer", "3000", "200"], "handled\n"),
        (
            &[],
            &["queue", "20000"],
            "received 20000 sum 200010000 changed 0\n",
        ),
        (
            &["--guard"],
            &["queue", "5000"],
            "received 5000 sum 12502500 changed 0\n",
        ),
        (
            &["--fast"],
            &["queue", "20000"],
            "received 20000 sum 200010000 changed 0\n",
        ),
    ];
    for (options, arguments, stdout) in cases {
        let mut command = vec![binary];
        command.extend_from_slice(arguments);
        let run = gpa_run_within(&dir, options, &command, std::time::Duration::from_secs(60));
        let stderr = run.stderr();
        assert_eq!(
            run.output.status.code(),
            Some(0),
            "{options:?} {arguments:?}: {stderr}"
        );
        assert_eq!(run.stdout(), stdout, "{options:?} {arguments:?}");
        assert!(
            !stderr.contains("error(gpa)"),
            "{options:?} {arguments:?}: {stderr}"
        );
        let findings = run.findings();
        assert!(
            findings.is_empty(),
            "{options:?} {arguments:?}: {}",
            describe(&findings)
        );
        if !options.contains(&"--fast") {
            assert!(
                stderr.contains("all heap blocks were freed"),
                "{options:?} {arguments:?}: {stderr}"
            );
        }
    }
}
