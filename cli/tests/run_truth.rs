//! `gpa run` tells the truth about what it checked (issue 11, items 1, 4 and 6): every process
//! of a run is listed as checked or not checked (and why); processes that end with `_exit`,
//! `_Exit` or `quick_exit` report; settings hold against `clearenv`/`setenv`; launch errors
//! follow the shell's and Valgrind's statuses; fast mode rejects wrong frees with a message.
//!
//! The programs are `tests/run_truth/*.c`. Expected leak sizes are what Valgrind memcheck
//! 3.19 reports on the same programs ("definitely lost"), noted beside each test.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use serde_json::Value;

/// The status `gpa run` exits with when the program was not checked (`--unchecked-exitcode`).
const UNCHECKED: i32 = 77;

fn gcc_or_skip() -> bool {
    if have("gcc") {
        return true;
    }
    eprintln!("SKIPPED: gcc is not installed (apt-get install gcc)");
    false
}

/// Compiles `tests/run_truth/<name>.c` into `dir` with extra `flags`; `None` when gcc fails
/// (only expected for `-static` without a static libc).
fn build(name: &str, dir: &Path, flags: &[&str]) -> Option<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/run_truth")
        .join(format!("{name}.c"));
    let binary = dir.join(name);
    let out = Command::new("gcc")
        .args(["-O0", "-g", "-pthread", "-w"])
        .args(flags)
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .output()
        .expect("run gcc");
    if !out.status.success() {
        eprintln!(
            "gcc {name} {flags:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    Some(binary)
}

fn must_build(name: &str, dir: &Path) -> PathBuf {
    build(name, dir, &[]).unwrap_or_else(|| panic!("gcc {name} failed"))
}

/// A static build of `name`, or `None` (with a message) when this system has no static libc.
fn build_static(name: &str, dir: &Path) -> Option<PathBuf> {
    let binary = build(name, dir, &["-static"]);
    if binary.is_none() {
        eprintln!("SKIPPED: gcc -static failed (no static libc: apt-get install libc6-dev)");
    }
    binary
}

/// A scratch directory with `tests/run_truth/<name>.c` built in it, or `None` (with a
/// message) when gcc is missing.
fn with_program(test: &str, name: &str) -> Option<(Scratch, PathBuf)> {
    if !gcc_or_skip() {
        return None;
    }
    let dir = scratch(test);
    let program = must_build(name, &dir);
    Some((dir, program))
}

/// A scratch directory with a static build of `static_leak.c` in it, or `None` (with a
/// message) when gcc or a static libc is missing.
fn with_static_program(test: &str) -> Option<(Scratch, PathBuf)> {
    if !gcc_or_skip() {
        return None;
    }
    let dir = scratch(test);
    let program = build_static("static_leak", &dir)?;
    Some((dir, program))
}

/// `gpa run OPTIONS -- COMMAND` in `dir`, without the JSON report.
fn gpa(dir: &Path, options: &[&str], command: &[&str]) -> Output {
    Command::new(gpa_exe())
        .current_dir(dir)
        .arg("run")
        .arg("--preload")
        .arg(preload_library())
        .args(options)
        .arg("--")
        .args(command)
        .output()
        .expect("run gpa")
}

fn processes(run: &Run) -> Vec<Value> {
    run.json["processes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// `(program, status, reason)` of every process, for assertions.
fn statuses(run: &Run) -> Vec<(String, String, Option<String>)> {
    processes(run)
        .iter()
        .map(|process| {
            (
                process["program"].as_str().unwrap_or("").to_string(),
                process["status"].as_str().unwrap_or("").to_string(),
                process["reason"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn leaks(run: &Run) -> Vec<(u64, String)> {
    run.findings()
        .iter()
        .filter(|finding| finding["kind"] == "leak")
        .map(|finding| {
            (
                finding["size"].as_u64().unwrap_or(0),
                finding["program"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A child the program forked and left running reports when it ends: `gpa run` (a child
/// subreaper) waits for it up to 5 seconds after the program, and lists one still running
/// then as not checked. Before, the run ended with the program: "0 error(s) in 1 process(es)
/// checked" while the child's leak (Valgrind: 55 bytes definitely lost, from the child) went
/// unreported.
#[test]
fn processes_left_running_are_waited_for_or_listed() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("truth-background");
    let program = must_build("background_children", &dir);
    let path = program.to_str().unwrap();
    let run = gpa_run(&dir, &[], &[path, "orphan"]);
    assert_eq!(run.stdout(), "parent done\n");
    assert_eq!(run.output.status.code(), Some(0));
    assert_eq!(leaks(&run).len(), 1, "{}", run.stderr());
    assert_eq!(leaks(&run)[0].0, 55);
    let processes = statuses(&run);
    assert_eq!(processes.len(), 2, "{processes:?}");
    assert!(processes.iter().all(|(_, status, _)| status == "checked"));
    let start = std::time::Instant::now();
    let run = gpa_run(&dir, &[], &[path, "daemon"]);
    let waited = start.elapsed();
    assert!(waited < std::time::Duration::from_secs(20), "{waited:?}");
    assert_eq!(run.output.status.code(), Some(0));
    let processes = statuses(&run);
    assert_eq!(processes.len(), 2, "{processes:?}");
    assert_eq!(processes[1].1, "not_checked", "{processes:?}");
    assert_eq!(processes[1].2.as_deref(), Some("still_running"));
    assert!(run.stderr().contains("still running"), "{}", run.stderr());
    // The daemon: no longer a child of anything here, it goes on until its sleep ends.
    let daemon = run.json["processes"][1]["pid"].as_i64().unwrap();
    // SAFETY: a signal to the process this test started (through gpa run).
    unsafe { libc::kill(daemon as libc::pid_t, libc::SIGKILL) };
}

/// An address-space limit (`ulimit -v`, `RLIMIT_AS`) counts reservations although nothing is
/// committed. The internal heap's 4.3 GiB reservation failed under a 4 GB limit, and with it
/// every `malloc`: fast mode's program crashed on a null block, check mode aborted. Valgrind
/// runs this program under 300 MB ("100 bytes in 1 blocks are definitely lost"); so does gpa.
#[test]
fn an_address_space_limit_leaves_the_verdict_unchanged() {
    use std::os::unix::process::CommandExt;
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("truth-rlimit-as");
    let binary = compile_c("leak", &dir);
    for mib in [4000u64, 1000, 300] {
        let limit = |command: &mut Command| {
            // SAFETY: `setrlimit` is async-signal-safe; the closure allocates nothing.
            unsafe {
                command.pre_exec(move || {
                    let bytes = mib << 20;
                    let limit = libc::rlimit {
                        rlim_cur: bytes,
                        rlim_max: bytes,
                    };
                    libc::setrlimit(libc::RLIMIT_AS, &limit);
                    Ok(())
                })
            };
        };
        let run = gpa_run_with(&dir, &[], &[binary.to_str().unwrap()], limit);
        assert_eq!(run.stdout(), "leak done\n", "{mib} MiB: {}", run.stderr());
        assert_eq!(run.output.status.code(), Some(0), "{mib} MiB");
        let findings = run.findings();
        assert_eq!(findings.len(), 1, "{mib} MiB: {}", describe(&findings));
        assert_eq!(findings[0]["kind"], "leak");
        assert_eq!(findings[0]["size"], 100);
        let fast = gpa_run_with(&dir, &["--fast"], &[binary.to_str().unwrap()], limit);
        assert_eq!(
            fast.stdout(),
            "leak done\n",
            "{mib} MiB fast: {}",
            fast.stderr()
        );
        assert_eq!(fast.output.status.code(), Some(0), "{mib} MiB fast");
    }
}

/// The program sees its own environment in its own order: `gpa run` adds its settings
/// (`LD_PRELOAD`, `GPA_*`) after it and changes nothing else, as Valgrind adds its own. Set
/// through `std::process::Command::env`, the program got a copy sorted by name.
#[test]
fn the_programs_environment_keeps_its_order() {
    let dir = scratch("truth-env-order");
    // `env -i` builds the environment in the order given.
    let own = ["ZETA=1", "ALPHA=2", "MIDDLE=3"];
    let run = |under_gpa: bool| {
        let mut command = Command::new("env");
        command.arg("-i").args(own).current_dir(&dir);
        if under_gpa {
            command.arg(gpa_exe()).args(["run", "-q", "--fast", "--"]);
        }
        let output = command.arg("/usr/bin/env").output().expect("run env");
        assert!(output.status.success(), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    assert_eq!(run(false).lines().collect::<Vec<_>>(), own);
    let seen = run(true);
    let lines: Vec<&str> = seen.lines().collect();
    let gpas = |line: &&str| line.starts_with("GPA_") || line.starts_with("LD_PRELOAD=");
    assert_eq!(lines[..own.len()], own, "{seen}");
    assert!(lines[own.len()..].iter().all(gpas), "{seen}");
    assert!(
        lines.iter().any(|line| line.starts_with("GPA_MODE=fast")),
        "{seen}"
    );
}

#[test]
fn a_static_program_is_listed_as_not_checked_with_a_distinct_status() {
    let Some((dir, program)) = with_static_program("truth-static") else {
        return;
    };
    // Valgrind: "total heap usage: 0 allocs ... no leaks are possible": it cannot see the
    // 100-byte leak either, since its malloc replacement needs the dynamic loader too.
    let run = gpa_run(&dir, &[], &[program.to_str().unwrap()]);
    assert_eq!(run.stdout(), "static done\n");
    assert_eq!(
        run.output.status.code(),
        Some(UNCHECKED),
        "{}",
        run.stderr()
    );
    assert!(run.findings().is_empty());
    assert_eq!(
        statuses(&run),
        [(
            program.to_str().unwrap().to_string(),
            "not_checked".into(),
            Some("static_binary".into())
        )]
    );
    assert_eq!(run.json["main_checked"], false);
    assert_eq!(run.json["exit_status"], 0);
    assert!(
        run.stderr().contains("gpa: the program was not checked")
            && run.stderr().contains("statically linked"),
        "{}",
        run.stderr()
    );
    // The status is configurable.
    let again = gpa(
        &dir,
        &["--unchecked-exitcode", "3"],
        &[program.to_str().unwrap()],
    );
    assert_eq!(again.status.code(), Some(3));
}

#[test]
fn a_program_killed_by_a_signal_it_could_not_report_keeps_its_crash_status() {
    let Some((dir, program)) = with_program("truth-killed", "killed_leak") else {
        return;
    };
    // Valgrind: "Process terminating with default action of signal 9 (SIGKILL)", exit status
    // 137 (and 137 with --error-exitcode too: no error was reported). SIGKILL leaves gpa no
    // report, so the process is not checked; its status is still the signal's, never the
    // "skipped" 77 (nor the one asked for with --unchecked-exitcode).
    for options in [
        &[][..],
        &["--error-exitcode", "9"][..],
        &["--unchecked-exitcode", "3"][..],
    ] {
        let run = gpa_run(&dir, options, &[program.to_str().unwrap()]);
        assert_eq!(
            run.output.status.code(),
            Some(137),
            "{options:?}: {}",
            run.stderr()
        );
        assert_eq!(run.json["exit_status"], 137);
        assert_eq!(run.json["main_checked"], false);
        assert_eq!(
            statuses(&run),
            [(
                program.to_str().unwrap().to_string(),
                "not_checked".into(),
                Some("no_report".into())
            )]
        );
        assert!(
            run.stderr().contains("gpa: the program was not checked")
                && run.stderr().contains(
                    "gpa exits with 137 (the program's own status was 137, killed by SIGKILL)"
                ),
            "{}",
            run.stderr()
        );
    }
}

#[test]
fn sh_c_lists_the_shell_and_its_child_both_checked() {
    let dir = scratch("truth-sh");
    let plain = plain_run(&dir, &["sh", "-c", "cat /etc/hostname"], |_| {});
    let run = gpa_run(&dir, &[], &["sh", "-c", "cat /etc/hostname"]);
    assert_eq!(run.stdout(), text(&plain.stdout));
    assert_eq!(run.output.status.code(), Some(0));
    let stderr = run.stderr();
    assert!(
        stderr.starts_with("gpa: 0 error(s) in 2 process(es) checked; ")
            && stderr.lines().count() == 2
            && stderr
                .lines()
                .nth(1)
                .is_some_and(|line| line.starts_with("gpa: check mode sees reads outside")),
        "a clean run, every process checked, says so in one line, and which reads check \
         mode cannot see in another: {stderr}"
    );
    assert_eq!(
        statuses(&run),
        [
            ("sh".into(), "checked".into(), None),
            ("cat".into(), "checked".into(), None)
        ]
    );
    let list = processes(&run);
    // dash ends with `_exit`: without the interposed `_exit` it would never report.
    assert_eq!(list[0]["ended"], "_exit");
    assert_eq!(list[0]["main"], true);
    assert_eq!(list[1]["ended"], "exit");
    assert_eq!(list[1]["ppid"], list[0]["pid"]);
    // Valgrind --trace-children=yes on the same command: 0 bytes definitely lost in both.
    assert_eq!(list[0]["leaked_blocks"], 0);
    assert_eq!(list[1]["leaked_blocks"], 0);
    assert_eq!(run.json["all_checked"], true);
}

#[test]
fn a_process_ending_with_underscore_exit_or_quick_exit_reports() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("truth-exit");
    // (program, Valgrind's "definitely lost" bytes, exit status, how it ended)
    for (name, bytes, status, ended) in [
        ("underscore_exit", 55, 3, "_exit"),
        ("underscore_big_exit", 56, 4, "_exit"),
        ("quick_exit_leak", 66, 5, "quick_exit"),
    ] {
        let program = must_build(name, &dir);
        let run = gpa_run(&dir, &[], &[program.to_str().unwrap()]);
        assert_eq!(run.output.status.code(), Some(status), "{name}");
        assert_eq!(
            leaks(&run),
            [(bytes, program.to_str().unwrap().to_string())],
            "{name}"
        );
        let leak = &run.findings()[0];
        assert_eq!(stack_functions(leak, "alloc")[0], "leak_site", "{name}");
        assert_eq!(processes(&run)[0]["ended"], ended, "{name}");
        assert_eq!(processes(&run)[0]["status"], "checked", "{name}");
    }
}

#[test]
fn a_program_that_execs_a_static_one_is_not_checked() {
    let Some((dir, target)) = with_static_program("truth-exec-static") else {
        return;
    };
    let program = must_build("exec_static", &dir);
    let run = gpa_run(
        &dir,
        &[],
        &[program.to_str().unwrap(), target.to_str().unwrap()],
    );
    assert_eq!(run.stdout(), "static done\n");
    assert_eq!(
        run.output.status.code(),
        Some(UNCHECKED),
        "{}",
        run.stderr()
    );
    assert_eq!(
        statuses(&run),
        [
            (program.to_str().unwrap().into(), "checked".into(), None),
            (
                target.to_str().unwrap().into(),
                "not_checked".into(),
                Some("static_binary".into())
            )
        ]
    );
    let list = processes(&run);
    assert_eq!(list[0]["pid"], list[1]["pid"], "one process, two images");
    assert_eq!(list[0]["ended"], "exec");
    assert_eq!(list[0]["exec"], target.to_str().unwrap());
    // Valgrind --trace-children=yes: no leak verdict for the image replaced by exec (its 20
    // bytes are discarded, not reported), none for the static one.
    assert!(run.findings().is_empty(), "{}", describe(&run.findings()));
}

#[test]
fn settings_are_read_once_clearenv_keeps_the_report_and_the_exit_code() {
    let Some((dir, program)) = with_program("truth-clearenv", "clearenv_leak") else {
        return;
    };
    let log = dir.join("clearenv.log");
    let run = gpa_run(
        &dir,
        &["--error-exitcode", "9", "--log", log.to_str().unwrap()],
        &[program.to_str().unwrap()],
    );
    // Valgrind: 77 bytes in 1 blocks definitely lost.
    assert_eq!(leaks(&run), [(77, program.to_str().unwrap().to_string())]);
    assert_eq!(run.output.status.code(), Some(9));
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("77 bytes in 1 blocks are definitely lost"),
        "{log}"
    );
    assert!(log.contains("at drop"), "{log}");
}

#[test]
fn setenv_of_the_report_variables_does_not_move_the_report() {
    let Some((dir, program)) = with_program("truth-setenv", "setenv_redirect") else {
        return;
    };
    let elsewhere = dir.join("elsewhere");
    // Under `gpa run`: the report reaches it.
    let run = gpa_run(
        &dir,
        &[],
        &[program.to_str().unwrap(), elsewhere.to_str().unwrap()],
    );
    // Valgrind: 33 bytes in 1 blocks definitely lost.
    assert_eq!(leaks(&run), [(33, program.to_str().unwrap().to_string())]);
    assert!(!elsewhere.exists());
    // With the library alone: GPA_LOG as it was at start-up.
    let log = dir.join("asked.log");
    let out = Command::new(&program)
        .arg(&elsewhere)
        .env("LD_PRELOAD", preload_library())
        .env("GPA_LOG", &log)
        .env_remove("GPA_REPORT_DIR")
        .output()
        .unwrap();
    assert!(out.status.success());
    let asked = std::fs::read_to_string(&log).unwrap();
    assert!(
        asked.contains("33 bytes in 1 blocks are definitely lost"),
        "{asked}"
    );
    assert!(!elsewhere.exists());
}

#[test]
fn launch_errors_follow_the_shell_and_valgrind() {
    let dir = scratch("truth-launch");
    let not_executable = dir.join("not_executable");
    std::fs::write(&not_executable, "echo hi\n").unwrap();
    let bad_interpreter = dir.join("bad_interpreter");
    std::fs::write(&bad_interpreter, "#!/nonexistent/interpreter\necho hi\n").unwrap();
    std::fs::set_permissions(&bad_interpreter, std::fs::Permissions::from_mode(0o755)).unwrap();
    let subdir = dir.join("subdir");
    std::fs::create_dir_all(&subdir).unwrap();
    // (command, Valgrind's status, what gpa says)
    for (command, status, says) in [
        ("./nonexistent", 127, "No such file or directory"),
        ("gpa-test-no-such-command", 127, "command not found"),
        ("./subdir", 126, "is a directory"),
        ("./not_executable", 126, "Permission denied"),
        ("./bad_interpreter", 126, "bad interpreter"),
    ] {
        let out = gpa(&dir, &[], &[command]);
        assert_eq!(out.status.code(), Some(status), "{command}");
        assert!(
            text(&out.stderr).contains(says),
            "{command}: {}",
            text(&out.stderr)
        );
    }
    // A script without `#!` runs with /bin/sh, as Valgrind and execvp run it.
    let script = dir.join("no_interpreter_line");
    std::fs::write(&script, "echo \"script ran with $1\"\nexit 4\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = gpa_run(&dir, &[], &["./no_interpreter_line", "one"]);
    assert_eq!(run.stdout(), "script ran with one\n");
    assert_eq!(run.output.status.code(), Some(4));
    assert_eq!(statuses(&run)[0].1, "checked");
}

#[test]
fn unwritable_log_or_json_fails_before_the_program_runs() {
    let dir = scratch("truth-outputs");
    let marker = dir.join("ran");
    let touch = format!("touch {}", marker.display());
    for option in ["--log", "--json"] {
        let out = gpa(&dir, &[option, "/nonexistent/dir/x"], &["sh", "-c", &touch]);
        assert_eq!(out.status.code(), Some(125), "{option}");
        assert!(
            text(&out.stderr).contains(&format!("cannot write {option} /nonexistent/dir/x")),
            "{}",
            text(&out.stderr)
        );
        assert!(!marker.exists(), "{option}: the program ran");
    }
}

#[test]
fn every_way_of_starting_a_child_is_accounted_for() {
    let Some((dir, target)) = with_static_program("truth-spawn") else {
        return;
    };
    let program = must_build("spawn_children", &dir);
    let program_name = program.to_str().unwrap().to_string();
    let run = gpa_run(
        &dir,
        &[],
        &[program.to_str().unwrap(), target.to_str().unwrap()],
    );
    assert_eq!(run.stdout(), "popen-ran\nstatic done\nspawned all\n");
    // The program itself was checked: its own status, though a child was not.
    assert_eq!(run.output.status.code(), Some(0), "{}", run.stderr());
    let list = processes(&run);
    let described: Vec<_> = list
        .iter()
        .map(|p| {
            (
                p["program"].as_str().unwrap().to_string(),
                p["status"].as_str().unwrap().to_string(),
                p["began"].as_str().unwrap().to_string(),
                p["ended"].as_str().map(str::to_string),
            )
        })
        .collect();
    let entry = |program: &str, status: &str, began: &str, ended: Option<&str>| {
        (
            program.to_string(),
            status.to_string(),
            began.to_string(),
            ended.map(str::to_string),
        )
    };
    let target_name = target.to_str().unwrap();
    let expected = vec![
        entry(&program_name, "checked", "start", Some("exit")),
        // system("true") and popen(): glibc spawns /bin/sh, which loads the library itself.
        entry("sh", "checked", "start", Some("_exit")),
        entry("sh", "checked", "start", Some("_exit")),
        // posix_spawn of the static program.
        entry(target_name, "not_checked", "spawn", None),
        // fork, then execvp("true"): the fork child's image, then true's.
        entry(&program_name, "checked", "fork", Some("exec")),
        entry("true", "checked", "exec", Some("exit")),
        // The vfork child whose execve failed and that called _exit(127) shares its
        // parent's memory: it neither reports nor appears.
    ];
    assert_eq!(described, expected);
    assert_eq!(list[3]["reason"], "static_binary");
    // Valgrind: 44 bytes in 1 blocks definitely lost, in the program.
    assert_eq!(leaks(&run), [(44, program_name.clone())]);
    // More than one process ran: every finding in the text names its process.
    let pid = list[0]["pid"].as_u64().unwrap();
    let stderr = run.stderr();
    let headline = format!(
        "error(gpa): process {pid} ({program_name}): 44 bytes in 1 blocks are definitely lost"
    );
    assert!(stderr.contains(&headline), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "gpa:   pid {} {}",
            list[3]["pid"],
            target.display()
        )) && stderr.contains("NOT CHECKED: statically linked"),
        "{stderr}"
    );
    for finding in run.findings() {
        assert_eq!(finding["pid"], pid);
        assert_eq!(finding["program"], program_name.as_str());
    }
}

/// Every exec function is recorded, and each child checked: also `execle`'s, whose
/// environment (`PATH` alone) lacks `LD_PRELOAD` and gpa's settings, which gpa puts back, as
/// Valgrind's `--trace-children=yes` follows that child too. (Before, that child was listed
/// as not checked, `preload_dropped`; `what_gpa_cannot_put_back_is_still_listed` keeps that
/// listing tested.)
#[test]
fn every_exec_function_is_recorded_and_every_child_checked() {
    let Some((dir, program)) = with_program("truth-exec", "exec_variants") else {
        return;
    };
    let plain = plain_run(&dir, &[program.to_str().unwrap()], |_| {});
    let run = gpa_run(&dir, &[], &[program.to_str().unwrap()]);
    // Nine arguments went through every exec function, the variadic ones included.
    assert_eq!(run.stdout(), text(&plain.stdout));
    assert_eq!(
        run.stdout(),
        "l:7:abcdefg\nlp:7:abcdefg\nle:7:abcdefg\nv:7:abcdefg\nvp:7:abcdefg\n\
         vpe:7:abcdefg\nve:7:abcdefg\n"
    );
    let shells: Vec<_> = statuses(&run)
        .into_iter()
        .filter(|(program, _, _)| program == "sh")
        .collect();
    assert_eq!(shells.len(), 7, "{:?}", statuses(&run));
    for (index, shell) in shells.iter().enumerate() {
        assert_eq!(shell.1, "checked", "{index}: {shell:?}");
    }
    assert_eq!(run.output.status.code(), Some(0));
}

/// The process of a run whose program is `child_leak`, with its status and reason.
fn child_leak_process(run: &Run) -> Value {
    processes(run)
        .into_iter()
        .find(|process| {
            process["program"]
                .as_str()
                .is_some_and(|program| program.ends_with("child_leak"))
        })
        .unwrap_or_else(|| panic!("no child_leak process: {:?}", statuses(run)))
}

/// `(bytes, blocks)` of definitely, indirectly and possibly lost memory in a process's
/// `leak_summary`.
fn lost(process: &Value) -> [(u64, u64); 3] {
    ["definite", "indirect", "possible"].map(|kind| {
        let entry = &process["leak_summary"][kind];
        (
            entry["bytes"].as_u64().unwrap_or(u64::MAX),
            entry["blocks"].as_u64().unwrap_or(u64::MAX),
        )
    })
}

/// A scratch directory with `cleared_env.c` and `child_leak.c` built in it (their paths),
/// or `None` (with a message) when gcc is missing.
fn with_parent_and_child(test: &str) -> Option<(Scratch, String, String)> {
    let (dir, parent) = with_program(test, "cleared_env")?;
    let child = must_build("child_leak", &dir);
    let (parent, child) = (parent.to_str()?.to_string(), child.to_str()?.to_string());
    Some((dir, parent, child))
}

/// What Valgrind reports for `child_leak` started by each way of `cleared_env.c`
/// (`valgrind --trace-children=yes --leak-check=full ./cleared_env WAY ./child_leak`, 3.19):
/// "definitely lost: 40 bytes in 1 blocks", "indirectly lost: 24 bytes in 1 blocks",
/// "possibly lost: 32 bytes in 1 blocks", for every way, the raw system call and the huge
/// environment included (Valgrind follows every `execve` it sees).
const CHILD_LEAK_LOST: [(u64, u64); 3] = [(40, 1), (24, 1), (32, 1)];

/// A child started with an environment that lacks `LD_PRELOAD` and the `GPA_*` settings
/// (`execle` with `MINE=1` only, `execve` with an empty environment, `clearenv` then `execv`,
/// `posix_spawn` with `MINE=1`, `env -i MINE=1`, `fexecve` and `execveat` with an empty
/// environment, a `vfork` child's `execve`) is checked, with Valgrind's figures. Before,
/// each was listed as not checked (`preload_dropped`) and its leaks went unreported.
#[test]
fn children_started_with_a_cleared_environment_are_checked_as_valgrind_follows_them() {
    let Some((dir, parent, child)) = with_parent_and_child("truth-cleared-env") else {
        return;
    };
    let (parent, child) = (parent.as_str(), child.as_str());
    for way in [
        "execle", "empty", "clearenv", "spawn", "env-i", "fexecve", "execveat", "vfork",
    ]
    .into_iter()
    .chain(SHELL_WAYS)
    {
        let run = gpa_run(&dir, &[], &[parent, way, child]);
        let process = child_leak_process(&run);
        assert_eq!(process["status"], "checked", "{way}: {:?}", statuses(&run));
        assert_eq!(lost(&process), CHILD_LEAK_LOST, "{way}: {}", run.stderr());
        assert!(
            statuses(&run)
                .iter()
                .all(|(_, status, _)| status == "checked"),
            "{way}: {:?}",
            statuses(&run)
        );
        // The child's leaks are errors; the parent's status (0) is the run's.
        assert_eq!(run.output.status.code(), Some(0), "{way}");
    }
    // Python's `subprocess.run(..., env={})`: fork (or vfork) and `execve` with an empty
    // environment. Valgrind: the same 40, 24 and 32 bytes from the child.
    let python = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output();
    let Some(python) = python
        .ok()
        .filter(|out| out.status.success())
        .map(|out| text(&out.stdout).trim().to_string())
        .filter(|path| !path.is_empty())
    else {
        eprintln!("SKIPPED: python3 is not installed (the subprocess case)");
        return;
    };
    let script = format!("import subprocess; subprocess.run([{child:?}], env={{}})");
    let run = gpa_run(&dir, &[], &[&python, "-c", &script]);
    let process = child_leak_process(&run);
    assert_eq!(process["status"], "checked", "{:?}", statuses(&run));
    assert_eq!(lost(&process), CHILD_LEAK_LOST, "{}", run.stderr());
}

/// glibc's own shell starters after the environment lost the run's settings: `system`,
/// `popen` and `wordexp("$(child)")` after `clearenv()`, `system` after
/// `unsetenv("LD_PRELOAD")`, `popen` after `environ = NULL`. glibc starts `/bin/sh` with its
/// internal `__posix_spawn` or `fork` and `__execve`, which no interposed exec sees: before,
/// the shell and `child_leak` ran unchecked, unlisted ("0 error(s) in 1 process(es)
/// checked"). Valgrind 3.19 (`--trace-children=yes --leak-check=full`, with `--log-file`
/// for `wordexp`, whose shell's stderr is /dev/null) follows each: `child_leak` has
/// "definitely lost: 40 bytes in 1 blocks", "indirectly lost: 24 bytes in 1 blocks",
/// "possibly lost: 32 bytes in 1 blocks"; the shell and the parent lose nothing.
const SHELL_WAYS: [&str; 5] = [
    "system",
    "popen",
    "wordexp",
    "unsetenv-system",
    "null-popen",
];

/// What glibc's `system` and `popen` promise (the status of the shell, `system(NULL)`,
/// `SIGINT` ignored and `SIGCHLD` blocked in the caller while the shell runs and put back
/// after, the default `SIGINT` in the shell, `popen` reading and writing, `pclose`'s status,
/// the `"e"` mode, earlier streams closed in a new child, refused modes) holds under
/// `gpa run` after `clearenv()` (gpa's own copy of `system`, glibc's `popen` with the
/// environment put back) and with the environment kept (glibc's functions): the output is
/// the same as without gpa, every shell is checked (the two the program kills at their
/// signal) and the run has no error (Valgrind 3.19, `--trace-children=yes`: 0 errors in every process).
#[test]
fn system_and_popen_keep_glibcs_semantics_with_the_environment_restored() {
    let Some((dir, program)) = with_program("truth-shell-semantics", "shell_semantics") else {
        return;
    };
    let program = program.to_str().unwrap();
    for mode in ["clear", "kept"] {
        let plain = Command::new(program)
            .arg(mode)
            .current_dir(&dir)
            .output()
            .expect("run the program");
        assert_eq!(plain.status.code(), Some(0), "{mode}");
        let run = gpa_run(&dir, &[], &[program, mode]);
        assert_eq!(
            run.stdout(),
            text(&plain.stdout),
            "{mode}: {}",
            run.stderr()
        );
        assert!(
            text(&plain.stdout).contains("popen r: hello\npclose: exited 1 status 5\n"),
            "{mode}: {}",
            text(&plain.stdout)
        );
        assert_eq!(run.json["errors"], 0, "{mode}: {}", run.stderr());
        let all = statuses(&run);
        assert!(all.len() > 5, "{mode}: the shells are listed: {all:?}");
        // The two shells the program has killed (`kill -TERM $$`, `kill -INT $$`) are checked
        // too, with their leak check at the signal (`fatal_signals.rs`), as every other
        // process.
        let (checked, unchecked): (Vec<_>, Vec<_>) =
            all.iter().partition(|(_, status, _)| status == "checked");
        assert!(unchecked.is_empty(), "{mode}: {all:?}");
        assert!(checked.len() > 7, "{mode}: {all:?}");
        let signals: Vec<u64> = processes(&run)
            .iter()
            .filter_map(|process| process["signal"].as_u64())
            .collect();
        assert_eq!(
            signals,
            [libc::SIGTERM as u64, libc::SIGINT as u64],
            "{mode}: {all:?}"
        );
        assert_eq!(run.output.status.code(), Some(0), "{mode}");
    }
}

/// The environment `child_leak env` printed: the lines between `env:` and `end`.
fn printed_environment(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .skip_while(|line| *line != "env:")
        .skip(1)
        .take_while(|line| *line != "end")
        .map(str::to_string)
        .collect()
}

/// What the child sees: its parent's variables, in their order, then `LD_PRELOAD` naming the
/// library and the `GPA_*` settings of the run (under Valgrind it sees `MINE=1`,
/// `VALGRIND_LIB=...` and Valgrind's `LD_PRELOAD`: the tool's own variables are visible there
/// too). A program that gave its child an `LD_PRELOAD` keeps its entries, after the library.
#[test]
fn a_child_sees_its_parents_variables_and_the_runs_settings() {
    let Some((dir, parent, child)) = with_parent_and_child("truth-child-env") else {
        return;
    };
    let (parent, child) = (parent.as_str(), child.as_str());
    let library = preload_library();
    let library = library.to_str().unwrap();
    for (way, own) in [
        ("execle", &["MINE=1"][..]),
        ("env-i", &["MINE=1"][..]),
        ("clearenv", &[][..]),
        ("empty", &[][..]),
    ] {
        let run = gpa_run(&dir, &[], &[parent, way, child, "env"]);
        let seen = printed_environment(&run.stdout());
        let (ours, theirs): (Vec<_>, Vec<_>) = seen
            .iter()
            .partition(|line| line.starts_with("LD_PRELOAD=") || line.starts_with("GPA_"));
        assert_eq!(theirs, own, "{way}: {seen:?}");
        assert_eq!(seen[..own.len()], *own, "{way}: the parent's first");
        assert!(
            ours.contains(&&format!("LD_PRELOAD={library}")),
            "{way}: {seen:?}"
        );
        for name in ["GPA_MODE=check", "GPA_FRAMES=", "GPA_REPORT_DIR=/"] {
            assert!(
                ours.iter().any(|line| line.starts_with(name)),
                "{way}: {name} in {seen:?}"
            );
        }
        assert_eq!(child_leak_process(&run)["status"], "checked", "{way}");
    }
    // An LD_PRELOAD of the parent's choosing: its entry kept, after the library.
    let run = gpa_run(&dir, &[], &[parent, "own-preload", child, "env"]);
    let seen = printed_environment(&run.stdout());
    assert_eq!(seen[0], "MINE=1", "{seen:?}");
    assert_eq!(
        seen[1],
        format!("LD_PRELOAD={library} libm.so.6"),
        "{seen:?}"
    );
    assert_eq!(child_leak_process(&run)["status"], "checked");
    // Nothing of the parent's own environment comes back with the settings.
    let spawn = gpa_run_with(&dir, &[], &[parent, "spawn", child, "env"], |command| {
        command.env("MINE_TOO", "2");
    });
    let seen = printed_environment(&spawn.stdout());
    assert_eq!(seen[0], "MINE=1", "{seen:?}");
    assert!(
        !seen.iter().any(|line| line.starts_with("MINE_TOO")),
        "{seen:?}"
    );
}

/// What gpa cannot put back is still listed, and the run is not called clean: an
/// environment of 1100 variables (past the 1024 gpa rebuilds on its stack) is
/// `preload_dropped`; a child given another `GPA_REPORT_DIR` by its parent is
/// `report_elsewhere` (its report is there). A raw `execve` system call made through C's
/// `syscall` left the parent image without its report (`no_report`) and the child unlisted;
/// it is now followed as Valgrind follows it. Valgrind follows all three children: 40, 24
/// and 32 bytes lost in each.
#[test]
fn what_gpa_cannot_put_back_is_still_listed() {
    let Some((dir, parent, child)) = with_parent_and_child("truth-not-restored") else {
        return;
    };
    let (parent, child) = (parent.as_str(), child.as_str());
    let run = gpa_run(&dir, &[], &[parent, "huge", child]);
    let process = child_leak_process(&run);
    assert_eq!(process["status"], "not_checked");
    assert_eq!(process["reason"], "preload_dropped");
    assert_eq!(run.output.status.code(), Some(UNCHECKED));
    assert!(
        run.stderr().contains("more than 1024 variables"),
        "{}",
        run.stderr()
    );

    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let run = gpa_run(
        &dir,
        &[],
        &[parent, "elsewhere", child, elsewhere.to_str().unwrap()],
    );
    let process = child_leak_process(&run);
    assert_eq!(process["status"], "not_checked");
    assert_eq!(process["reason"], "report_elsewhere");
    assert_eq!(run.output.status.code(), Some(UNCHECKED));
    let reports: Vec<_> = std::fs::read_dir(&elsewhere)
        .unwrap()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".json"))
        .collect();
    assert_eq!(
        reports.len(),
        1,
        "the child's report went to its own directory"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(reports[0].path()).unwrap()).unwrap();
    assert_eq!(lost(&report), CHILD_LEAK_LOST);

    // `syscall(SYS_execve, ...)` goes through gpa's `execve` since C's `syscall` is
    // interposed (lifecycle.md item 4): both images listed and checked, the child with
    // Valgrind's figures.
    let run = gpa_run(&dir, &[], &[parent, "raw", child]);
    let listed = statuses(&run);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(
        listed[0],
        (parent.to_string(), "checked".to_string(), None),
        "{listed:?}"
    );
    let process = child_leak_process(&run);
    assert_eq!(process["status"], "checked");
    assert_eq!(lost(&process), CHILD_LEAK_LOST);
}

/// The user the set-user-ID test runs as (created when missing).
const OTHER_USER: &str = "gpa-runtruth-test";

fn other_user_ids() -> Option<(u32, u32)> {
    // SAFETY: `geteuid` has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: the set-user-ID test needs root (to create a user)");
        return None;
    }
    let exists = Command::new("id").arg(OTHER_USER).output().ok()?;
    if !exists.status.success() {
        let made = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/bin/sh", OTHER_USER])
            .status();
        if !made.is_ok_and(|status| status.success()) {
            eprintln!("SKIPPED: useradd {OTHER_USER} failed");
            return None;
        }
    }
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, OTHER_USER]).output().ok()?;
        text(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

#[test]
fn a_setuid_program_run_by_another_user_is_refused_or_listed() {
    if !gcc_or_skip() {
        return;
    }
    let Some((uid, gid)) = other_user_ids() else {
        return;
    };
    let dir = scratch("truth-setuid");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    // Copies of gpa and the library that the other user can reach whatever the checkout's
    // permissions are.
    let gpa_copy = dir.join("gpa");
    let library = dir.join("libgpa_preload.so");
    std::fs::copy(gpa_exe(), &gpa_copy).unwrap();
    std::fs::copy(preload_library(), &library).unwrap();
    let program = must_build("underscore_exit", &dir);
    std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let as_other = |command: &[&str]| {
        use std::os::unix::process::CommandExt;
        Command::new(&gpa_copy)
            .current_dir(&dir)
            .arg("run")
            .arg("--preload")
            .arg(&library)
            .args(["--json", dir.join("setuid.json").to_str().unwrap()])
            .arg("--")
            .args(command)
            .uid(uid)
            .gid(gid)
            .output()
            .unwrap()
    };
    // Valgrind as that user: "Can't execute setuid/setgid/setcap executable", status 126.
    let out = as_other(&[program.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(126), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("set-user-ID program of another user"),
        "{}",
        text(&out.stderr)
    );
    // Started by a shell, it runs (on its own malloc) and is listed as not checked.
    let out = as_other(&["sh", "-c", program.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("setuid.json")).unwrap()).unwrap();
    let list = json["processes"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[1]["status"], "not_checked");
    assert_eq!(list[1]["reason"], "setuid");
    assert!(json["findings"].as_array().unwrap().is_empty());
}

#[test]
fn fast_mode_rejects_invalid_and_double_frees_with_a_message() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("truth-fast");
    // `--help` says what the run shows.
    let help = Command::new(gpa_exe())
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = text(&help.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        help.contains("is ignored with one line on stderr (at most 16) where glibc would abort"),
        "{help}"
    );
    assert!(help.contains("77 --unchecked-exitcode"), "{help}");
    let program = must_build("double_free_fast", &dir);
    // glibc: "free(): double free detected in tcache 2", then SIGABRT.
    let plain = plain_run(&dir, &[program.to_str().unwrap()], |_| {});
    assert_eq!(plain.status.code(), None, "glibc aborts");
    let out = gpa(&dir, &["--fast"], &[program.to_str().unwrap()]);
    assert_eq!(text(&out.stdout), "distinct 1\nsurvived\n");
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with("error(gpa): double free of 0x")
            && lines[0].contains("(32 bytes, its slot's size: fast mode keeps no requested sizes): the free was ignored"),
        "{stderr}"
    );
    assert!(
        lines[1]
            .contains("not the start of a block (inside a 64-byte block): the free was ignored"),
        "{stderr}"
    );
    assert!(
        lines[2].contains("not allocated by this allocator: the free was ignored"),
        "{stderr}"
    );
    // Check mode: the same three, with their kinds (Valgrind: "Invalid free() /
    // delete / delete[] / realloc()" three times).
    let run = gpa_run(&dir, &[], &[program.to_str().unwrap()]);
    let kinds: Vec<_> = run.findings().iter().map(|f| f["kind"].clone()).collect();
    assert_eq!(kinds, ["double_free", "invalid_free", "invalid_free"]);

    let program = must_build("fast_more_bad_frees", &dir);
    let out = gpa(&dir, &["--fast"], &[program.to_str().unwrap()]);
    assert_eq!(text(&out.stdout), "distinct 1\n");
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    // A double free deeper in the page's free list, one from another thread, then 40 frees
    // of a stack address: 16 messages, then the line that says the rest are not reported.
    assert_eq!(lines.len(), 17, "{stderr}");
    // Fast mode keeps no requested sizes: the slot's is given, and called one.
    assert!(
        lines[0].contains("double free of") && lines[0].contains("(48 bytes, its slot's size:"),
        "{stderr}"
    );
    assert!(
        lines[1].contains("double free of") && lines[1].contains("(80 bytes, its slot's size:"),
        "{stderr}"
    );
    assert!(lines[2..16]
        .iter()
        .all(|line| line.contains("not allocated by this allocator")));
    assert_eq!(
        lines[16],
        "error(gpa): 16 mistakes reported; fast mode ignores further ones without a word"
    );
}

/// The line a clean check-mode run ends with: what was checked and what was left in use,
/// the figures memcheck 3.19 gives on the same program ("ERROR SUMMARY: 0 errors", and
/// "All heap blocks were freed -- no leaks are possible" or "in use at exit: 100 bytes in 1
/// blocks"). `-q` drops it, as memcheck's `-q` drops its summary; fast mode checks nothing
/// and says nothing.
#[test]
fn a_clean_run_says_what_it_checked_unless_quiet() {
    let Some((dir, program)) = with_program("clean_run_line", "clean_or_kept") else {
        return;
    };
    let program = program.to_str().unwrap();
    // Every checking mode also says which reads it could not have seen (memcheck sees every
    // read): check mode sees only those libc's functions make, those past a large block's
    // last page and, after a free, those of blocks of 64 KiB or more (`quarpages`); guard mode
    // all but those before a block (on its page) and in its alignment slack (`guard.rs`,
    // slack cases and `each_modes_clean_line_names_the_reads_it_cannot_see`); --guard-flush
    // leaves no slack; --guard-underflow sees those before a block but not those past its
    // end within its page. Its "0 errors" is no verdict on them.
    const UNSEEN: &str = "gpa: check mode sees reads outside a block or after its free only in \
                          libc's functions and on large blocks, and reads after a free on \
                          blocks of 64 KiB or more (--guard sees all but those before a block \
                          and in its alignment slack, --guard-flush also the slack, \
                          --guard-underflow those before a block but not those past its end \
                          within its page)\n";
    const GUARD: &str = "gpa: guard mode sees reads before a block's start, and of the up to 15 \
                         bytes between its end and its 16-byte alignment, only in libc's \
                         functions (--guard-underflow sees the first, --guard-flush the \
                         second)\n";
    const FLUSH: &str = "gpa: guard mode sees reads before a block's start only in libc's \
                         functions (--guard-underflow sees them)\n";
    const UNDERFLOW: &str = "gpa: guard mode with --guard-underflow sees reads past a block's \
                             end, up to the end of its last page, only in libc's functions \
                             (--guard sees them)\n";
    for (mode, unseen) in [
        (&[][..], UNSEEN),
        (&["--guard"][..], GUARD),
        (&["--guard-flush"][..], FLUSH),
        (&["--guard-underflow"][..], UNDERFLOW),
    ] {
        let freed = gpa(&dir, mode, &[program]);
        let stderr = text(&freed.stderr);
        assert!(freed.status.success(), "{mode:?}: {stderr}");
        assert_eq!(text(&freed.stdout), "clean\n");
        assert_eq!(
            stderr,
            format!(
                "gpa: 0 error(s) in 1 process(es) checked; all heap blocks were freed\n{unseen}"
            ),
            "{mode:?}"
        );
        let kept = gpa(&dir, mode, &[program, "keep"]);
        assert_eq!(
            text(&kept.stderr),
            format!(
                "gpa: 0 error(s) in 1 process(es) checked; in use at exit: 100 bytes in 1 \
                 blocks, none of them an error (--show-leak-kinds=all lists them)\n{unseen}"
            ),
            "{mode:?}"
        );
    }
    for quiet in [&["-q"][..], &["--quiet"][..], &["--fast"][..]] {
        let run = gpa(&dir, quiet, &[program, "keep"]);
        assert!(run.status.success());
        assert_eq!(text(&run.stderr), "", "{quiet:?}");
    }
    // A block that counts as an error but whose loss kind is not listed is not called "none
    // of them an error", with or without -q (memcheck, `--show-leak-kinds=none
    // --errors-for-leak-kinds=all`: "in use at exit: 100 bytes in 1 blocks", "ERROR SUMMARY:
    // 1 errors from 1 contexts").
    for quiet in [&[][..], &["-q"][..]] {
        let options = [
            quiet,
            &["--errors-for-leak-kinds=all", "--show-leak-kinds=none"],
        ]
        .concat();
        let hidden = gpa(&dir, &options, &[program, "keep"]);
        assert_eq!(
            text(&hidden.stderr),
            format!(
                "gpa: 1 error(s) in 1 process(es) checked; in use at exit: 100 bytes in 1 \
                 blocks (--show-leak-kinds=all lists them)\n{UNSEEN}"
            ),
            "{quiet:?}"
        );
    }
    // Quiet hides no error: the kept block, made an error, is reported with the summary.
    let as_error = gpa(
        &dir,
        &["-q", "--errors-for-leak-kinds=all", "--show-leak-kinds=all"],
        &[program, "keep"],
    );
    let stderr = text(&as_error.stderr);
    assert!(
        stderr.contains("100 bytes in 1 blocks are still reachable in loss record 1 of 1"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("gpa: 1 error(s) in 1 process(es) checked\n"),
        "{stderr}"
    );
}

/// A program that calls `daemon`: glibc's forks and ends the parent with its internal `_exit`,
/// which the exported `_exit` never saw, so the program itself ended without a report, was
/// listed "not checked" and `gpa run` exited with 77, its 40 lost bytes unreported (tmux's
/// server start showed it). gpa's `daemon` ends the parent through its report
/// (`capi::process::daemon`): both processes are checked, with Valgrind's figures, and the
/// daemon sees what glibc's `daemon` gives it (working directory, `/dev/null` on descriptor 0,
/// a new session), in check and guard modes.
#[test]
fn a_program_that_becomes_a_daemon_is_checked_in_both_processes() {
    let Some((dir, program)) = with_program("truth-daemon", "daemon_leak") else {
        return;
    };
    let program = program.to_str().unwrap();
    for how in ["keep", "close"] {
        let native_file = dir.join(format!("native-{how}.txt"));
        let native = Command::new(program)
            .current_dir(&dir)
            .args([native_file.to_str().unwrap(), how])
            .output()
            .expect("run the program");
        assert_eq!(native.status.code(), Some(0));
        for options in [&[][..], &["--guard"]] {
            let file = dir.join(format!("gpa-{how}.txt"));
            let _ = std::fs::remove_file(&file);
            let run = gpa_run(&dir, options, &[program, file.to_str().unwrap(), how]);
            assert_eq!(
                run.output.status.code(),
                Some(0),
                "{how} {options:?}: {}",
                run.stderr()
            );
            let listed = statuses(&run);
            assert_eq!(listed.len(), 2, "{listed:?}");
            assert!(
                listed.iter().all(|(_, status, _)| status == "checked"),
                "{how} {options:?}: {listed:?}"
            );
            // Valgrind 3.19: the parent 40 bytes definitely lost, the daemon 40 + 24 bytes in
            // 2 blocks.
            let mut found: Vec<u64> = leaks(&run).into_iter().map(|(bytes, _)| bytes).collect();
            found.sort_unstable();
            assert_eq!(found, [24, 40, 40], "{how} {options:?}: {}", run.stderr());
            let ended: Vec<String> = processes(&run)
                .iter()
                .map(|process| process["ended"].as_str().unwrap_or("").to_string())
                .collect();
            assert!(
                ended.iter().any(|how| how == "_exit") && ended.iter().any(|how| how == "exit"),
                "{ended:?}"
            );
            // The daemon may still be writing when the parent's report is read: gpa run waits
            // for it (a child subreaper), so the file is there.
            let seen = std::fs::read_to_string(&file).expect("the daemon's file");
            let native_seen = std::fs::read_to_string(&native_file).expect("native file");
            assert_eq!(seen, native_seen, "{how} {options:?}");
        }
    }
}

/// memcheck's usual options on `gpa run`'s command line (`gpa run --leak-check=full
/// --num-callers=20 ./prog`, as people used to Valgrind type it): those that mean what gpa
/// does anyway are accepted, those with a gpa equivalent become it, gpa's own options among
/// them keep their meaning, and the others are refused before the program runs (status 2,
/// the option named with what to use instead). Before: the first option gpa did not know was
/// taken for the program ("gpa: --leak-check=full: command not found", status 127). Options
/// after the program are the program's.
#[test]
fn memchecks_usual_options_are_understood_or_refused_by_name() {
    let Some((dir, program)) = with_program("memcheck_options", "clean_or_kept") else {
        return;
    };
    let program = program.to_str().unwrap();
    let run = |line: &[&str]| {
        Command::new(gpa_exe())
            .current_dir(&*dir)
            .arg("run")
            .arg("--preload")
            .arg(preload_library())
            .args(line)
            .output()
            .expect("run gpa")
    };
    // memcheck on `clean_or_kept keep` with --errors-for-leak-kinds=all: "still reachable:
    // 100 bytes in 1 blocks", 1 error: the status given.
    let memcheck_style = run(&[
        "--leak-check=full",
        "--num-callers=20",
        "--trace-children=yes",
        "--show-reachable=yes",
        "--errors-for-leak-kinds=all",
        "--error-exitcode=3",
        program,
        "keep",
    ]);
    let gpa_style = run(&[
        "--frames",
        "20",
        "--show-reachable",
        "--errors-for-leak-kinds=all",
        "--error-exitcode=3",
        "--",
        program,
        "keep",
    ]);
    for output in [&memcheck_style, &gpa_style] {
        assert_eq!(output.status.code(), Some(3), "{}", text(&output.stderr));
        assert_eq!(text(&output.stdout), "clean\n");
        assert!(
            text(&output.stderr).contains("100 bytes in 1 blocks are still reachable"),
            "{}",
            text(&output.stderr)
        );
    }
    // The same report, but for the process id.
    let without_pid = |output: &Output| {
        text(&output.stderr)
            .lines()
            .map(|line| match line.split_once(" pid ") {
                Some((head, tail)) => {
                    format!("{head} pid {}", tail.split_once(' ').map_or("", |t| t.1))
                }
                None => line.to_owned(),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(without_pid(&memcheck_style), without_pid(&gpa_style));
    // Refused, by name, before the program runs.
    for (option, says) in [
        ("--track-origins=yes", "does not track uninitialised values"),
        ("--leak-check=summary", "--show-leak-kinds=none"),
        ("--log-file=vg.log", "use --log FILE"),
        ("--no-such-option", "not an option of gpa run"),
    ] {
        let refused = run(&[option, program]);
        assert_eq!(refused.status.code(), Some(2), "{option}");
        assert_eq!(text(&refused.stdout), "", "{option}: the program ran");
        let stderr = text(&refused.stderr);
        assert!(
            stderr.starts_with(&format!("gpa: {option}: ")) && stderr.contains(says),
            "{option}: {stderr}"
        );
    }
    // After the program, options are its own.
    let echoed = run(&["sh", "-c", "echo \"$0\"", "--leak-check=full"]);
    assert_eq!(text(&echoed.stdout), "--leak-check=full\n");
    assert_eq!(echoed.status.code(), Some(0), "{}", text(&echoed.stderr));
}
