//! Processes ended by a signal's default action get the leak check, as under Valgrind
//! memcheck 3.19 ("Process terminating with default action of signal 13 (SIGPIPE)", then the
//! HEAP and LEAK SUMMARY): SIGPIPE in a pipeline, `raise(SIGTERM)`, SIGTERM/SIGINT/SIGHUP
//! from outside, `abort()`, a NULL write in the program, `alarm()`, a signal to a
//! multi-threaded process, a block only a register holds at the signal (where gpa's verdict
//! and Valgrind's part, on purpose), stale pointers in the C library's frames that raised the
//! signal, SIGTERM at random moments to threads that allocate in a
//! loop; and
//! what must not change: a program's own handler that calls `exit`, `SIG_IGN` for SIGPIPE
//! (EPIPE, a normal exit), `SIG_IGN` inherited across `exec`, `sigaction` queries returning
//! `SIG_DFL`. Valgrind's totals (`valgrind --leak-check=full --show-leak-kinds=all`) are the
//! expected values; each case runs in check mode and with `--guard`.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    gcc_or_skip, gpa_leak_totals, repeat_count, scratch, valgrind_leak_totals, LeakTotals,
};
use serde_json::Value;

/// Valgrind on `sig_leaks` ended by any signal (and by its own handler's `exit(3)`): the 33
/// bytes lost, the 100 a global holds.
const VALGRIND_SIG_LEAKS: &str = "\
==22741==    definitely lost: 33 bytes in 1 blocks
==22741==    indirectly lost: 0 bytes in 0 blocks
==22741==      possibly lost: 0 bytes in 0 blocks
==22741==    still reachable: 100 bytes in 1 blocks";

/// The modes every case runs in.
const MODES: [&[&str]; 2] = [&[], &["--guard"]];

fn compile(name: &str, dir: &Path) -> PathBuf {
    common::compile_c(name, dir)
}

/// The one process of a run's JSON.
fn process(json: &Value) -> &Value {
    &json["processes"][0]
}

/// Asserts a run ended by `signal` was checked with the leak check and found `expected`.
fn assert_checked_by(json: &Value, stderr: &str, signal: i32, name: &str, expected: LeakTotals) {
    let process = process(json);
    assert_eq!(process["status"], "checked", "{stderr}");
    assert_eq!(process["ended"], "signal", "{stderr}");
    assert_eq!(process["signal"], signal, "{stderr}");
    assert_eq!(process["signal_name"], name, "{stderr}");
    assert_eq!(process["leaks_checked"], true, "{stderr}");
    assert_eq!(gpa_leak_totals(json), expected, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "Process terminating with default action of signal {signal} ({name})"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("checked, 1 finding(s), ended by {name}")),
        "{stderr}"
    );
}

#[test]
fn a_signal_s_default_action_ends_the_process_with_the_leak_check() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("fatal-signals-own");
    let binary = compile("sig_leaks", &dir);
    let expected = valgrind_leak_totals(VALGRIND_SIG_LEAKS);
    for options in MODES {
        for (mode, signal, name) in [
            ("term", libc::SIGTERM, "SIGTERM"),
            ("abort", libc::SIGABRT, "SIGABRT"),
            ("segv", libc::SIGSEGV, "SIGSEGV"),
            ("alarm", libc::SIGALRM, "SIGALRM"),
        ] {
            let run = gpa_run(&dir, options, &[binary.to_str().unwrap(), mode]);
            let stderr = run.stderr();
            assert_eq!(
                run.output.status.code(),
                Some(128 + signal),
                "{options:?} {mode}: {stderr}"
            );
            assert_checked_by(&run.json, &stderr, signal, name, expected);
        }
    }
}

#[test]
fn the_stack_where_a_synchronous_signal_arrived_is_shown() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("fatal-signals-stack");
    let binary = compile("sig_leaks", &dir);
    let run = gpa_run(&dir, &[], &[binary.to_str().unwrap(), "segv"]);
    let stderr = run.stderr();
    // Valgrind: "Access not within mapped region at address 0x0 / at 0x...: main (sig_leaks.c)".
    assert!(
        stderr.contains("Access not within mapped region at address 0x0"),
        "{stderr}"
    );
    let header = stderr
        .split("where it arrived:")
        .nth(1)
        .and_then(|rest| rest.split("error(gpa)").next())
        .unwrap_or_default();
    assert!(header.contains("at main"), "{stderr}");
}

/// As from a terminal: the signals' default actions in `command`'s process, whatever this
/// test inherited (a shell starts a background job, and so CI started with `&`, with SIGINT
/// and SIGQUIT ignored, `nohup` SIGHUP; ignored signals stay ignored across `exec`, and the
/// program would pause on, or its queries see `SIG_IGN`).
fn default_signals(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: `signal` is async-signal-safe; nothing else runs between `fork` and `exec`.
    unsafe {
        command.pre_exec(|| {
            for signal in [
                libc::SIGINT,
                libc::SIGQUIT,
                libc::SIGTERM,
                libc::SIGHUP,
                libc::SIGPIPE,
            ] {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        });
    }
}

/// `common::gpa_run` with [`default_signals`].
fn gpa_run(dir: &Path, options: &[&str], command: &[&str]) -> common::Run {
    common::gpa_run_with(dir, options, command, default_signals)
}

/// Starts `gpa run <options> --json <dir>/report.json -- command` with its stdout piped.
fn spawn_gpa(dir: &Path, options: &[&str], command: &[&str], own_group: bool) -> Child {
    use std::os::unix::process::CommandExt;
    let mut gpa = common::gpa_command(dir, options, command, &dir.join("report.json"));
    gpa.stdout(Stdio::piped()).stderr(Stdio::piped());
    if own_group {
        gpa.process_group(0);
    }
    default_signals(&mut gpa);
    gpa.spawn().expect("start gpa run")
}

/// Waits for `child` for at most `limit`; kills it (and fails) when it does not end.
fn wait_or_fail(child: &mut Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for gpa run") {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("{what}: gpa run still running after {limit:?}: a hang");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Reads the program's "ready <pid>" line.
fn ready_pid(reader: &mut impl BufRead) -> i32 {
    let mut line = String::new();
    reader.read_line(&mut line).expect("read ready line");
    line.trim()
        .strip_prefix("ready ")
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no ready line: {line:?}"))
}

/// The report and gpa run's stderr after it ended.
fn finish(mut child: Child, dir: &Path, what: &str) -> (std::process::ExitStatus, Value, String) {
    let status = wait_or_fail(&mut child, Duration::from_secs(60), what);
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut stderr);
    }
    let text = std::fs::read_to_string(dir.join("report.json"))
        .unwrap_or_else(|e| panic!("{what}: no report ({e}): {stderr}"));
    (status, serde_json::from_str(&text).expect("JSON"), stderr)
}

#[test]
fn sigpipe_in_a_pipeline() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("fatal-signals-pipe");
    let binary = compile("sig_leaks", &dir);
    let expected = valgrind_leak_totals(VALGRIND_SIG_LEAKS);
    for options in MODES {
        // `gpa run -- sig_leaks pipe | head -c 10`.
        let mut child = spawn_gpa(&dir, options, &[binary.to_str().unwrap(), "pipe"], false);
        let mut reader = child.stdout.take().expect("stdout");
        let mut head = [0u8; 10];
        reader.read_exact(&mut head).expect("read");
        drop(reader);
        let (status, json, stderr) = finish(child, &dir, "pipe");
        assert_eq!(status.code(), Some(128 + libc::SIGPIPE), "{stderr}");
        assert_checked_by(&json, &stderr, libc::SIGPIPE, "SIGPIPE", expected);
    }
}

#[test]
fn signals_from_outside_while_paused() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("fatal-signals-kill");
    let binary = compile("sig_leaks", &dir);
    let expected = valgrind_leak_totals(VALGRIND_SIG_LEAKS);
    for options in MODES {
        for (signal, name) in [
            (libc::SIGTERM, "SIGTERM"),
            (libc::SIGINT, "SIGINT"),
            (libc::SIGHUP, "SIGHUP"),
        ] {
            let mut child = spawn_gpa(&dir, options, &[binary.to_str().unwrap(), "pause"], false);
            let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
            let pid = ready_pid(&mut reader);
            // SAFETY: sending a signal to the test's own grandchild.
            unsafe { libc::kill(pid, signal) };
            let (status, json, stderr) = finish(child, &dir, name);
            assert_eq!(status.code(), Some(128 + signal), "{name}: {stderr}");
            assert_checked_by(&json, &stderr, signal, name, expected);
        }
    }
}

#[test]
fn ctrl_c_to_the_process_group_waits_for_the_program_s_report() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("fatal-signals-ctrl-c");
    let binary = compile("sig_leaks", &dir);
    let expected = valgrind_leak_totals(VALGRIND_SIG_LEAKS);
    // A terminal's Ctrl-C: SIGINT to gpa run and the program alike (their process group).
    let mut child = spawn_gpa(&dir, &[], &[binary.to_str().unwrap(), "pause"], true);
    let group = child.id() as i32;
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    ready_pid(&mut reader);
    // SAFETY: signalling the process group made for this run.
    unsafe { libc::kill(-group, libc::SIGINT) };
    let (status, json, stderr) = finish(child, &dir, "ctrl-c");
    assert_eq!(status.code(), Some(128 + libc::SIGINT), "{stderr}");
    assert_checked_by(&json, &stderr, libc::SIGINT, "SIGINT", expected);
    // And SIGTERM to gpa run alone is passed on to the program.
    let mut child = spawn_gpa(&dir, &[], &[binary.to_str().unwrap(), "pause"], false);
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    ready_pid(&mut reader);
    // SAFETY: signalling the gpa run this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let (status, json, stderr) = finish(child, &dir, "term to gpa run");
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{stderr}");
    assert_checked_by(&json, &stderr, libc::SIGTERM, "SIGTERM", expected);
}

#[test]
fn another_thread_s_stack_holds_a_block_at_the_signal() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("fatal-signals-thread");
    let binary = compile("sig_thread_root", &dir);
    // Valgrind: the main thread's 33 bytes lost, the other thread's 48 reachable from its
    // stack, and its DTV (glibc's, 272 bytes there; 288 under gpa, whose preload library
    // adds a TLS module) possibly lost.
    let valgrind = valgrind_leak_totals(
        "==22843==    definitely lost: 33 bytes in 1 blocks
==22843==    indirectly lost: 0 bytes in 0 blocks
==22843==      possibly lost: 272 bytes in 1 blocks
==22843==    still reachable: 48 bytes in 1 blocks",
    );
    let mut expected = valgrind;
    expected[2].1 += 16;
    for options in MODES {
        let run = gpa_run(&dir, options, &[binary.to_str().unwrap()]);
        let stderr = run.stderr();
        assert_eq!(
            run.output.status.code(),
            Some(128 + libc::SIGTERM),
            "{stderr}"
        );
        let process = process(&run.json);
        assert_eq!(process["leaks_checked"], true, "{stderr}");
        assert_eq!(
            gpa_leak_totals(&run.json),
            expected,
            "{options:?}: {stderr}"
        );
    }
}

/// The one place gpa's leak verdict and Valgrind's part on purpose: a block whose only
/// pointer is in a register when a fatal signal ends the process. gpa takes every thread's
/// registers as roots at a signal as at `exit` (the interrupted thread's from the signal
/// context); Valgrind 3.19 takes them at `exit` only, its leak check at a fatal signal runs
/// once the threads are gone. The same spinning thread with the same register makes its block
/// still reachable for Valgrind when main calls `exit` and definitely lost when main
/// crashes: the difference is Valgrind's teardown, not the program's, and gpa keeps one
/// verdict for both (docs/c_abi.md, "The crash report"). Valgrind's totals, measured, are
/// written in; with valgrind installed they are measured again, so a Valgrind that changes
/// this shows up here.
#[test]
fn a_block_only_a_register_holds_at_a_fatal_signal_stays_reachable() {
    if !gcc_or_skip() || !cfg!(target_arch = "x86_64") {
        return;
    }
    let dir = scratch("fatal-signals-register");
    let binary = compile("sig_register_root", &dir);
    let program = binary.to_str().unwrap();
    // (case, Valgrind 3.19's totals, gpa's: definite, indirect, possible, reachable as
    // (blocks, bytes); the other thread's DTV is 272 bytes under Valgrind, 288 under gpa,
    // whose preload library adds a TLS module).
    let cases: [(&str, Option<i32>, LeakTotals, LeakTotals); 3] = [
        (
            "crash1",
            Some(libc::SIGSEGV),
            [(1, 32), (0, 0), (0, 0), (0, 0)],
            [(0, 0), (0, 0), (0, 0), (1, 32)],
        ),
        (
            "crash2",
            Some(libc::SIGSEGV),
            [(1, 48), (0, 0), (1, 272), (0, 0)],
            [(0, 0), (0, 0), (1, 288), (1, 48)],
        ),
        (
            "exit2",
            None,
            [(0, 0), (0, 0), (1, 272), (1, 48)],
            [(0, 0), (0, 0), (1, 288), (1, 48)],
        ),
    ];
    for (case, signal, valgrind, expected) in cases {
        for options in MODES {
            let run = gpa_run(&dir, options, &[program, case]);
            let stderr = run.stderr();
            assert_eq!(
                run.output.status.code(),
                Some(signal.map_or(0, |signal| 128 + signal)),
                "{case} {options:?}: {stderr}"
            );
            if signal.is_some() {
                assert_eq!(process(&run.json)["leaks_checked"], true, "{stderr}");
            }
            assert_eq!(
                gpa_leak_totals(&run.json),
                expected,
                "{case} {options:?}: {stderr}"
            );
        }
        if common::have("valgrind") {
            let out = Command::new("valgrind")
                .args(["--leak-check=full", "--show-leak-kinds=all", program, case])
                .current_dir(&dir)
                .output()
                .expect("run valgrind");
            let text = String::from_utf8_lossy(&out.stderr);
            assert_eq!(valgrind_leak_totals(&text), valgrind, "{case}: {text}");
        } else {
            eprintln!("SKIPPED: Valgrind's side (apt-get install valgrind)");
        }
    }
}

/// A signal the C library raises for the program (`abort`, `raise`, `kill`) arrives in the
/// library's frames, which reuse the slots of the program's returned frames without writing
/// all of them: stale copies of pointers the program dropped. The interrupted thread's stack
/// is live from the program's frame that called the library (`capi::scan::
/// library_caller_frame`), as Valgrind, which skips unwritten slots, sees it. Before, the
/// block was still reachable in 7 of 24 runs here, by where the stack lay (the environment's
/// size moves it by 16 bytes a step: 8 steps cover the library's frames' 128 bytes).
#[test]
fn stale_pointers_in_the_c_library_s_frames_at_a_fatal_signal_hold_nothing() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("fatal-signals-stale");
    let binary = compile("sig_stale_frames", &dir);
    let program = binary.to_str().unwrap();
    // Valgrind 3.19, every case and placement: definitely lost 24 bytes in 1 block.
    let expected: LeakTotals = [(1, 24), (0, 0), (0, 0), (0, 0)];
    for (how, signal) in [
        ("raise", libc::SIGTERM),
        ("abort", libc::SIGABRT),
        ("kill", libc::SIGTERM),
    ] {
        for options in MODES {
            if !options.is_empty() && how != "raise" {
                continue;
            }
            for step in 0..8 {
                let padding = "p".repeat(1 + 16 * step);
                let run = common::gpa_run_with(&dir, options, &[program, how], |command| {
                    command.env("GPA_TEST_PADDING", &padding);
                    default_signals(command);
                });
                let stderr = run.stderr();
                assert_eq!(
                    run.output.status.code(),
                    Some(128 + signal),
                    "{how} {options:?}: {stderr}"
                );
                assert_eq!(process(&run.json)["leaks_checked"], true, "{stderr}");
                assert_eq!(
                    gpa_leak_totals(&run.json),
                    expected,
                    "{how} {options:?}, padding {}: {stderr}",
                    padding.len()
                );
            }
        }
    }
    if common::have("valgrind") {
        let out = Command::new("valgrind")
            .args(["--leak-check=full", program, "abort"])
            .current_dir(&dir)
            .output()
            .expect("run valgrind");
        let text = String::from_utf8_lossy(&out.stderr);
        assert_eq!(valgrind_leak_totals(&text), expected, "{text}");
    }
}

#[test]
fn what_a_program_does_with_its_signals_is_unchanged() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("fatal-signals-unchanged");
    let binary = compile("sig_leaks", &dir);
    let expected = valgrind_leak_totals(VALGRIND_SIG_LEAKS);
    for options in MODES {
        // Its own SIGTERM handler calls exit(3): a normal exit, leak-checked at exit.
        let run = gpa_run(&dir, options, &[binary.to_str().unwrap(), "handler"]);
        let stderr = run.stderr();
        assert_eq!(run.output.status.code(), Some(3), "{stderr}");
        assert_eq!(process(&run.json)["ended"], "exit", "{stderr}");
        assert_eq!(gpa_leak_totals(&run.json), expected, "{stderr}");
        // SIGPIPE ignored: the write fails with EPIPE and the program exits normally.
        let run = gpa_run(&dir, options, &[binary.to_str().unwrap(), "ignore"]);
        let stderr = run.stderr();
        assert_eq!(run.output.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains("EPIPE"), "{stderr}");
        assert_eq!(process(&run.json)["ended"], "exit", "{stderr}");
        assert_eq!(gpa_leak_totals(&run.json), expected, "{stderr}");
        // Queries see SIG_DFL, gpa's handler notwithstanding.
        let run = gpa_run(&dir, options, &[binary.to_str().unwrap(), "query"]);
        assert_eq!(run.output.status.code(), Some(0), "{}", run.stderr());
        assert!(!run.stderr().contains("not SIG_DFL"), "{}", run.stderr());
        // A parent that ignores SIGPIPE and execs: the child inherits SIG_IGN.
        let run = gpa_run(&dir, options, &[binary.to_str().unwrap(), "inherit"]);
        assert_eq!(run.output.status.code(), Some(0), "{}", run.stderr());
        assert_eq!(
            run.json["processes"][1]["ended"],
            "exit",
            "{}",
            run.stderr()
        );
    }
}

#[test]
fn sigterm_at_random_moments_to_threads_that_allocate() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("fatal-signals-stress");
    let binary = compile("sig_stress", &dir);
    // Fewer in a debug build (CI's), whose every run is slower.
    let runs = repeat_count("GPA_SIGNAL_STRESS_RUNS", 200, 60);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut checked = 0;
    let mut not_checked = std::collections::BTreeMap::<String, usize>::new();
    for run in 0..runs {
        let options = MODES[run % 2];
        let mut child = spawn_gpa(&dir, options, &[binary.to_str().unwrap()], false);
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let pid = ready_pid(&mut reader);
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_micros(seed % 50_000));
        // SAFETY: signalling the test's own grandchild.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let (status, json, stderr) = finish(child, &dir, &format!("run {run}"));
        assert_eq!(
            status.code(),
            Some(128 + libc::SIGTERM),
            "run {run}: {stderr}"
        );
        let process = process(&json);
        assert_eq!(process["status"], "checked", "run {run}: {stderr}");
        assert_eq!(process["signal"], libc::SIGTERM, "run {run}: {stderr}");
        if process["leaks_checked"] == true {
            // The 33 bytes lost before the threads started, and nothing else lost: every
            // block in flight is held by a stopped thread's stack or registers.
            let totals = gpa_leak_totals(&json);
            assert_eq!(totals[0], (1, 33), "run {run}: {stderr}");
            assert_eq!(totals[1], (0, 0), "run {run}: {stderr}");
            checked += 1;
        } else {
            let reason = process["leaks_not_checked"]
                .as_str()
                .unwrap_or_else(|| panic!("run {run}: no reason: {stderr}"));
            assert!(stderr.contains("leaks were not checked"), "{stderr}");
            *not_checked.entry(reason.to_string()).or_default() += 1;
        }
    }
    // Seen: 185 and 175 of 200 checked; the others were caught inside gpa's allocator 500
    // times in a row (guard mode's threads spend nearly all their time in its system calls)
    // and have the crash report, with that reason.
    eprintln!("{checked} of {runs} runs leak-checked; not checked: {not_checked:?}");
    assert!(checked * 2 >= runs, "{checked} of {runs}: {not_checked:?}");
}

#[test]
fn a_signal_during_the_exit_report_neither_hangs_nor_cuts_it_short() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("fatal-signals-during-exit");
    let binary = compile("sig_during_exit", &dir);
    // Valgrind 3.19, no signal (in the C file): 33 bytes lost, 200,001 blocks reachable.
    let expected = valgrind_leak_totals(
        "==18402==    definitely lost: 33 bytes in 1 blocks
==18402==    indirectly lost: 0 bytes in 0 blocks
==18402==      possibly lost: 0 bytes in 0 blocks
==18402==    still reachable: 5,600,000 bytes in 200,001 blocks",
    );
    // 22 runs send the signal 0 to 147 ms after the exiting line, 7 ms apart (40 in release,
    // twice over).
    let runs = repeat_count("GPA_SIGNAL_EXIT_RUNS", 40, 22) as u64;
    for run in 0..runs {
        let options = MODES[run as usize % 2];
        let mut child = spawn_gpa(&dir, options, &[binary.to_str().unwrap()], false);
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        reader.read_line(&mut line).expect("read the exiting line");
        let pid: i32 = line
            .trim()
            .strip_prefix("exiting ")
            .and_then(|pid| pid.parse().ok())
            .unwrap_or_else(|| panic!("no exiting line: {line:?}"));
        // Before, during or after the exit report, whichever it meets.
        std::thread::sleep(Duration::from_millis(run * 7 % 150));
        // SAFETY: signalling the test's own grandchild (or nothing, once it has ended).
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let (status, json, stderr) = finish(child, &dir, &format!("run {run}"));
        // Ended by `exit` (the signal came during the report, blocked there, or after) or
        // by the signal (it came first, or was passed on once the report was out).
        assert!(
            matches!(status.code(), Some(0) | Some(143)),
            "run {run}: {status:?}: {stderr}"
        );
        let process = process(&json);
        assert_eq!(process["status"], "checked", "run {run}: {stderr}");
        assert_eq!(gpa_leak_totals(&json), expected, "run {run}: {stderr}");
    }
}

/// A thread of the program kept for ever inside gpa while it may hold one of gpa's locks
/// (`life_lock_held.c`: its SIGUSR1 handler never returns; a probe thread that allocates
/// and waits tells that a lock is held), then the process ends: `raise(SIGTERM)`, SIGTERM
/// from outside, `exit(0)`, `abort()`, a NULL write in main. Natively and under Valgrind
/// 3.19 each ends at once, by the signal (143, 134, 139) or with status 0, Valgrind
/// reporting the 40 bytes definitely lost (and the two threads' DTVs possibly lost, 544
/// bytes in 2 blocks; still reachable about 9 MB, the worker's blocks). gpa's report waited
/// for the lock for ever (the leak scan takes every gpa lock to stop the threads; the
/// unwinder's cache allocates from the internal heap): the process never ended. Now the
/// report waits 2 s at most and goes without the leak check, saying why (lifecycle.md item
/// 21); where the probe found no lock held, the leak check runs as before.
///
/// Since `os::signal::defer` (stop 52) a program's handler never runs inside gpa's
/// allocator, as under Valgrind, whose handlers run between the program's instructions
/// only: the handler's `dladdr` never finds the thread inside the allocator, its last try
/// stops the thread elsewhere, and the probe finds no lock held ("free") in every run, with
/// the leak check (Valgrind's 40 bytes definitely lost) in every way the process ends.
#[test]
fn a_lock_held_for_ever_by_another_thread_neither_hangs_the_report_nor_the_process() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("fatal-signals-lock-held");
    let binary = compile("life_lock_held", &dir);
    for options in MODES {
        for (how, code) in [
            ("term", 143),
            ("kill", 143),
            ("exit", 0),
            ("abort", 134),
            ("segv", 139),
        ] {
            let what = format!("{how} {options:?}");
            let mut child = spawn_gpa(&dir, options, &[binary.to_str().unwrap(), how], false);
            let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
            let mut line = String::new();
            reader.read_line(&mut line).expect("read the probe's line");
            let held = line.trim() == "held";
            if how == "kill" {
                let pid = ready_pid(&mut reader);
                // SAFETY: signalling the test's own grandchild.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
            let (status, json, stderr) = finish(child, &dir, &what);
            assert_eq!(status.code(), Some(code), "{what}: {stderr}");
            assert!(
                !held,
                "{what}: the handler ran inside gpa's allocator: {stderr}"
            );
            let process = process(&json);
            assert_eq!(process["status"], "checked", "{what}: {stderr}");
            if how != "exit" {
                // A process ended by a signal says whether its leaks were checked.
                assert_eq!(process["leaks_checked"], true, "{what}: {stderr}");
            }
            assert_eq!(gpa_leak_totals(&json)[0], (1, 40), "{what}: {stderr}");
        }
    }
}
