//! Process life-cycle corner cases under `gpa run` against Valgrind memcheck 3.19
//! (`docs/sweeps/lifecycle.md`): what daemons, launchers and test harnesses do (double fork
//! and closing every descriptor, closed or redirected standard streams, a tiny descriptor
//! limit, exec with a cleaned environment, `posix_spawnp`, `vfork`, `system`, `popen`,
//! `clone` without `CLONE_VM`, raw exit system calls, exit races between threads, exec from a
//! threaded program, static and set-user-ID programs, threads that first ask for their own
//! attributes, threads running at exit holding blocks as a JVM's do, processes in a new mount
//! namespace that covers the report directory). Each test runs a `tests/c/life_*.c`
//! program natively and under `gpa run` (check mode and `--guard`; `--fast` where output is
//! compared) and checks every process of the run against Valgrind's verdict, written here
//! from `valgrind --trace-children=yes --leak-check=full --show-leak-kinds=all` (one log per
//! process). Every run has a time limit. Tests skip with a message when gcc is missing.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const NONE: (u64, u64) = (0, 0);
/// `gpa run`'s status when the program was not checked.
const UNCHECKED: i32 = 77;
/// No run of these programs takes more than a few seconds; one that does hangs.
const LIMIT: Duration = Duration::from_secs(30);

/// What one process of a run must be: its program's name (the end of `program` in the
/// JSON), and `Some(totals)` when checked (definitely, indirectly, possibly lost, still
/// reachable as (blocks, bytes)), `Err(reason)` when not.
struct Expect {
    program: &'static str,
    verdict: Result<LeakTotals, &'static str>,
}

fn checked(program: &'static str, totals: LeakTotals) -> Expect {
    Expect {
        program,
        verdict: Ok(totals),
    }
}

fn not_checked(program: &'static str, reason: &'static str) -> Expect {
    Expect {
        program,
        verdict: Err(reason),
    }
}

/// A finished run: status, stdout, stderr (from files: a daemon may keep no pipe open).
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `command` with stdout and stderr to files in `dir`, killing it (and failing the
/// test) after [`LIMIT`].
fn finish(mut command: Command, dir: &Path, tag: &str) -> Finished {
    let out = dir.join(format!("{tag}.out"));
    let err = dir.join(format!("{tag}.err"));
    command
        .stdin(Stdio::null())
        .stdout(File::create(&out).expect("stdout file"))
        .stderr(File::create(&err).expect("stderr file"));
    let mut child = command.spawn().expect("start");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{tag}: still running after {LIMIT:?} (a hang)");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Finished {
        status,
        stdout: std::fs::read_to_string(&out).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err).unwrap_or_default(),
    }
}

/// `sh -c LINE` in `dir`, where `@` in `line` stands for the prefix (`gpa run ... --`, or
/// nothing natively): shell redirections apply to the program as written.
fn shell(dir: &Path, line: &str, prefix: &str) -> Command {
    let mut command = Command::new("sh");
    command
        .current_dir(dir)
        .arg("-c")
        .arg(line.replace('@', prefix));
    command
}

/// The `gpa run` prefix for `shell`, with `options` and the JSON report at `json`.
fn gpa_prefix(options: &[&str], json: &Path) -> String {
    let mut words = vec![
        gpa_exe().display().to_string(),
        "run".into(),
        "--preload".into(),
        preload_library().display().to_string(),
        "--show-leak-kinds=all".into(),
    ];
    words.extend(options.iter().map(|option| option.to_string()));
    words.extend(["--json".into(), json.display().to_string(), "--".into()]);
    words.join(" ")
}

/// `(program, status, reason, totals)` of every process of a report.
fn processes(json: &Value) -> Vec<(String, String, Option<String>, LeakTotals)> {
    json["processes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|process| {
            (
                process["program"].as_str().unwrap_or("").to_string(),
                process["status"].as_str().unwrap_or("").to_string(),
                process["reason"].as_str().map(str::to_string),
                gpa_leak_totals(process),
            )
        })
        .collect()
}

/// Runs `line` natively, then under `gpa run` in check mode, with `--guard` and with
/// `--fast`; each run's stdout and exit status must be the native run's (`expect_status`:
/// gpa's own status when it differs, 77 for a program not checked), and in check and guard
/// modes the processes must be `expected`, in order. `reachable_at_most`: for a process
/// whose still reachable blocks depend on timing, the most blocks allowed (the totals'
/// reachable entry is then not compared).
fn agree(
    dir: &Path,
    line: &str,
    expected: &[Expect],
    expect_status: Option<i32>,
    reachable_at_most: Option<u64>,
) -> Vec<Value> {
    let native = finish(shell(dir, line, ""), dir, "native");
    let mut reports = Vec::new();
    for (mode, options) in [
        ("check", &[][..]),
        ("guard", &["--guard"][..]),
        ("fast", &["--fast"][..]),
    ] {
        let json = dir.join(format!("{mode}.json"));
        let _ = std::fs::remove_file(&json);
        let prefix = if mode == "fast" {
            format!(
                "{} run --preload {} --fast --",
                gpa_exe().display(),
                preload_library().display()
            )
        } else {
            gpa_prefix(options, &json)
        };
        let run = finish(shell(dir, line, &prefix), dir, mode);
        assert_eq!(
            run.stdout, native.stdout,
            "{mode}: stdout differs from the native run's; stderr:\n{}",
            run.stderr
        );
        let status = match expect_status {
            Some(status) if mode != "fast" => Some(status),
            _ => native.status.code(),
        };
        assert_eq!(run.status.code(), status, "{mode}: stderr:\n{}", run.stderr);
        if mode == "fast" {
            continue;
        }
        let text = std::fs::read_to_string(&json)
            .unwrap_or_else(|e| panic!("{mode}: no JSON report ({e}); stderr:\n{}", run.stderr));
        let report: Value = serde_json::from_str(&text).expect("JSON");
        let found = processes(&report);
        let shown = format!("{mode}: {found:?}\nstderr:\n{}", run.stderr);
        assert_eq!(found.len(), expected.len(), "{shown}");
        for ((program, status, reason, totals), expect) in found.iter().zip(expected) {
            assert!(program.ends_with(expect.program), "{shown}");
            match expect.verdict {
                Ok(want) => {
                    assert_eq!(status, "checked", "{shown}");
                    match reachable_at_most {
                        Some(most) => {
                            assert_eq!(totals[..3], want[..3], "{shown}");
                            assert!(totals[3].0 <= most, "{shown}");
                        }
                        None => assert_eq!(*totals, want, "{shown}"),
                    }
                }
                Err(want) => {
                    assert_eq!(status, "not_checked", "{shown}");
                    assert_eq!(reason.as_deref(), Some(want), "{shown}");
                }
            }
        }
        reports.push(report);
    }
    reports
}

/// A scratch directory with the `life_*.c` programs `names` built in it (the `life_child`
/// these programs start is always built), or `None` when gcc is missing.
fn with_programs(test: &str, names: &[&str]) -> Option<Scratch> {
    if !gcc_or_skip() {
        return None;
    }
    let dir = scratch(&format!("life-{test}"));
    compile_c("life_child", &dir);
    for name in names {
        compile_c(name, &dir);
    }
    Some(dir)
}

/// `life_child`: 40 bytes definitely lost, 16 still reachable (Valgrind 3.19, every way it
/// was started here).
const CHILD: LeakTotals = [(1, 40), NONE, NONE, (1, 16)];

/// A daemon made the classic way (fork, setsid, fork, chdir, close every descriptor, reopen
/// /dev/null on 0-2) that leaks 100 bytes: all three processes checked, the leak in the
/// third, as Valgrind (whose log descriptor, like gpa's report files, survives the closing).
#[test]
fn a_daemon_that_closes_every_descriptor_is_checked() {
    let Some(dir) = with_programs("daemon", &["life_daemon"]) else {
        return;
    };
    for way in ["loop", "range", "closefrom"] {
        let done = dir.join(format!("done-{way}"));
        // The daemon may outlive `gpa run`'s parent: the shell waits for its file.
        let line = format!(
            "rm -f {done}; @ ./life_daemon {way} {done}; \
             i=0; while [ ! -s {done} ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; \
             cat {done}",
            done = done.display()
        );
        // Valgrind: the parent and the middle child "All heap blocks were freed"; the daemon
        // 100 bytes in 1 blocks definitely lost.
        agree(
            &dir,
            &line,
            &[
                checked("life_daemon", [NONE; 4]),
                checked("life_daemon", [NONE; 4]),
                checked("life_daemon", [(1, 100), NONE, NONE, NONE]),
            ],
            None,
            None,
        );
    }
}

/// `prog >&- 2>&-`: the program's first two `open`s get descriptors 1 and 2, as natively
/// (gpa run had passed on the `/dev/null` Rust's runtime puts on closed standard
/// descriptors: they got 3 and 4), and nothing of gpa's goes into the file on descriptor 2.
/// Valgrind: 24 bytes definitely lost (its own log file took descriptor 1: "first fd 2").
#[test]
fn closed_standard_streams_stay_closed_for_the_program() {
    let Some(dir) = with_programs("closed-std", &["life_closed_std"]) else {
        return;
    };
    agree(
        &dir,
        "@ ./life_closed_std a.txt b.txt >&- 2>&-; cat a.txt b.txt",
        &[checked("life_closed_std", [(1, 24), NONE, NONE, NONE])],
        None,
        None,
    );
    let a = std::fs::read_to_string(dir.join("a.txt")).unwrap();
    let b = std::fs::read_to_string(dir.join("b.txt")).unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("first fd 1\n", "second fd 2\n"));
}

/// A file `dup2`ed over descriptor 2 holds the program's line only (gpa's report goes to the
/// report directory; Valgrind's to its own descriptor). Valgrind: 32 bytes definitely lost.
#[test]
fn a_file_put_over_stderr_gets_only_the_programs_output() {
    let Some(dir) = with_programs("dup2", &["life_dup2_stderr"]) else {
        return;
    };
    agree(
        &dir,
        "@ ./life_dup2_stderr e.txt; cat e.txt",
        &[checked("life_dup2_stderr", [(1, 32), NONE, NONE, NONE])],
        None,
        None,
    );
    let file = std::fs::read_to_string(dir.join("e.txt")).unwrap();
    assert_eq!(file, "program's own line\n");
}

/// A soft `RLIMIT_NOFILE` of 3 (every descriptor in use): checked, as under Valgrind (48
/// bytes definitely lost); before, the report could not be opened ("not checked",
/// `no_report`). Limits of 4 and 5 too. With the hard limit at 3 to 5 as well, Valgrind
/// refuses the `setrlimit` (EPERM: it keeps descriptors of its own above the limit; the
/// program prints the error and exits 1), so the program runs on as it does natively only
/// under gpa. Until stop 51 gpa could not write the report then and said so (not checked,
/// `no_report`, status 77); now the report's files, the memory map and the objects' files
/// are opened before the hard limit goes down (`confine::before_descriptor_limit`), and the
/// program is checked: the 48 bytes definitely lost Valgrind finds with the soft limit alone,
/// with the frames named (`main`, `life_nofile.c`). `prlimit` on the process itself, and
/// `syscall(SYS_prlimit64)` and `syscall(SYS_setrlimit)`, the same.
#[test]
fn a_tiny_descriptor_limit_leaves_the_program_checked() {
    let Some(dir) = with_programs("nofile", &["life_nofile"]) else {
        return;
    };
    for limit in ["3", "4", "5"] {
        agree(
            &dir,
            &format!("@ ./life_nofile {limit}"),
            &[checked("life_nofile", [(1, 48), NONE, NONE, NONE])],
            None,
            None,
        );
    }
    for (limit, how) in [
        ("3", "hard"),
        ("4", "hard"),
        ("3", "prlimit"),
        ("3", "syscall"),
        ("4", "syscall_setrlimit"),
    ] {
        let reports = agree(
            &dir,
            &format!("@ ./life_nofile {limit} {how}"),
            &[checked("life_nofile", [(1, 48), NONE, NONE, NONE])],
            None,
            None,
        );
        for report in reports {
            let finding = &report["findings"][0];
            assert_eq!(
                finding["stacks"]["alloc"][0]["function"].as_str(),
                Some("main"),
                "{limit} {how}: {finding}"
            );
            assert!(
                finding["stacks"]["alloc"][0]["file"]
                    .as_str()
                    .is_some_and(|file| file.ends_with("life_nofile.c")),
                "{limit} {how}: {finding}"
            );
        }
    }
}

/// A child forked after the hard `RLIMIT_NOFILE` went down to the descriptors in use can open
/// no file: until stop 51 it wrote neither the event that lists it nor its report, and `gpa
/// run` listed one process where two ran. Now it takes spare files its parent made before the
/// limit went down (`events::make_spares`): it is listed and checked; its leaks are not
/// checked (its memory map cannot be opened either: the map its parent holds shows the
/// parent's memory), and it says why. Valgrind refuses the `setrlimit` (EPERM, exit 1); with
/// the soft limit alone it reports the parent's 48 bytes and the child's 20 definitely lost.
#[test]
fn a_child_forked_under_a_tiny_hard_descriptor_limit_is_listed_and_checked() {
    let Some(dir) = with_programs("nofile-fork", &["life_nofile"]) else {
        return;
    };
    let reports = agree(
        &dir,
        "@ ./life_nofile 3 hard fork",
        &[
            checked("life_nofile", [(1, 48), NONE, NONE, NONE]),
            checked("life_nofile", [NONE; 4]),
        ],
        None,
        None,
    );
    for report in reports {
        let child = &report["processes"][1];
        assert_eq!(child["began"], "fork", "{child}");
        assert_eq!(child["leaks_checked"], false, "{child}");
        assert!(
            child["leaks_not_checked"]
                .as_str()
                .is_some_and(|why| why.contains("RLIMIT_NOFILE")),
            "{child}"
        );
    }
}

/// `posix_spawnp` (by name, `PATH` searched), `vfork` then `execv`, `system` and `popen` of a
/// leaking child: every process listed and checked with Valgrind's totals (the parent: 8
/// bytes definitely lost; `system`'s and `popen`'s shell checked: its still reachable blocks
/// differ by the environment's size, servers.md item 3).
#[test]
fn children_of_spawn_vfork_system_and_popen_are_checked() {
    let Some(dir) = with_programs("spawn", &["life_spawn"]) else {
        return;
    };
    let parent = [(1, 8), NONE, NONE, NONE];
    for way in ["spawnp", "vfork"] {
        let line = format!("PATH=.:$PATH @ ./life_spawn {way} life_child");
        let line = if way == "vfork" {
            line.replace(" life_child", " ./life_child")
        } else {
            line
        };
        agree(
            &dir,
            &line,
            &[checked("life_spawn", parent), checked("life_child", CHILD)],
            None,
            None,
        );
    }
    for way in ["system", "popen"] {
        let reports = agree(
            &dir,
            &format!("@ ./life_spawn {way} ./life_child"),
            &[
                checked("life_spawn", parent),
                Expect {
                    program: "sh",
                    verdict: Ok([NONE; 4]),
                },
                checked("life_child", CHILD),
            ],
            None,
            Some(u64::MAX),
        );
        // The shell: nothing lost (its reachable blocks are not compared above, nor the
        // others' here but for the child's).
        for report in reports {
            let list = processes(&report);
            assert_eq!(list[2].3, CHILD, "{list:?}");
            assert_eq!(list[0].3, parent, "{list:?}");
        }
    }
}

/// A child made by `clone()` without `CLONE_VM`, or by `syscall(SYS_clone, SIGCHLD, ...)`,
/// runs no `pthread_atfork` handler: it was neither checked nor listed ("1 process(es)
/// checked"), while Valgrind follows it as a fork (64 bytes definitely lost in the child, 8
/// in the parent). Now it is adopted at its `exit`. `return`: the child's function returns
/// instead (glibc's `clone` ends the child with the raw `exit` system call, which no export
/// sees): the child was still neither checked nor listed; Valgrind 3.19, the same totals.
/// Now gpa's `clone` runs such a child's function in a wrapper that ends it as `_exit` does.
#[test]
fn a_child_of_raw_clone_is_listed_and_checked() {
    let Some(dir) = with_programs("clone", &["life_clone"]) else {
        return;
    };
    for way in ["clone", "syscall", "return"] {
        agree(
            &dir,
            &format!("@ ./life_clone {way}"),
            &[
                checked("life_clone", [(1, 8), NONE, NONE, NONE]),
                checked("life_clone", [(1, 64), NONE, NONE, NONE]),
            ],
            None,
            None,
        );
    }
}

/// `syscall(SYS_exit_group)` with threads running: the process was listed as not checked
/// (`no_report`, status 77: no interposition saw it), where Valgrind, which sees system
/// calls, reports; gpa now interposes C's `syscall` and ends the process through `_exit`'s
/// report. Valgrind: 16 bytes definitely lost, 544 in 2 blocks possibly lost (gpa 576, as
/// below), 64 in 2 still reachable, status 4. `syscall(SYS_execve)`: the program started was
/// not listed; now both images are, as for `execv` (the replaced one checked with no leak
/// verdict, Valgrind gives none at exec; `life_child` with Valgrind's 40/1 definitely lost,
/// 16/1 still reachable). `syscall(SYS_exit)` ending only the main thread while the others go on: the
/// process is checked when a thread calls `exit`, and main's blocks are in the leak check
/// (they were not in check mode: its heap belonged to a zombie thread). Valgrind: 16/1
/// definitely, 544/2 possibly lost (gpa: 576, one more DTV slot per thread, servers.md item
/// 2), 64/2 still reachable.
#[test]
fn raw_exit_system_calls_are_listed_or_checked() {
    let Some(dir) = with_programs("raw-exit", &["life_raw_exit"]) else {
        return;
    };
    agree(
        &dir,
        "@ ./life_raw_exit group",
        &[checked("life_raw_exit", [(1, 16), NONE, (2, 576), (2, 64)])],
        None,
        None,
    );
    agree(
        &dir,
        "@ ./life_raw_exit exec ./life_child",
        &[
            checked("life_raw_exit", [NONE; 4]),
            checked("life_child", CHILD),
        ],
        None,
        None,
    );
    agree(
        &dir,
        "@ ./life_raw_exit exit",
        &[checked("life_raw_exit", [(1, 16), NONE, (2, 576), (2, 64)])],
        None,
        None,
    );
}

/// `execv` from a program whose other thread holds a block: the image replaced is listed
/// (checked, no leak verdict: Valgrind gives none at exec either) and the new one checked
/// with Valgrind's totals; an exec of a static program lists it as not checked
/// (`static_binary`; Valgrind: "0 allocs", its malloc replacement cannot apply either).
#[test]
fn exec_from_a_threaded_program_lists_both_images() {
    let Some(dir) = with_programs("exec-threads", &["life_exec_threads"]) else {
        return;
    };
    agree(
        &dir,
        "@ ./life_exec_threads ./life_child",
        &[
            checked("life_exec_threads", [NONE; 4]),
            checked("life_child", CHILD),
        ],
        None,
        None,
    );
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/life_static.c");
    let built = Command::new("gcc")
        .args(["-O0", "-g", "-static", "-w", "-o"])
        .arg(dir.join("life_static"))
        .arg(&source)
        .status();
    if !built.is_ok_and(|status| status.success()) {
        eprintln!("SKIPPED (static part): gcc -static failed (apt-get install libc6-dev)");
        return;
    }
    agree(
        &dir,
        "@ ./life_exec_threads ./life_static",
        &[
            checked("life_exec_threads", [NONE; 4]),
            not_checked("life_static", "static_binary"),
        ],
        Some(UNCHECKED),
        None,
    );
    agree(
        &dir,
        "@ ./life_static",
        &[not_checked("life_static", "static_binary")],
        Some(UNCHECKED),
        None,
    );
}

/// `exit` from two threads at the same moment: checked (it was not: the second caller found
/// glibc's list of exit functions empty while the first ran the report, and ended the
/// process); `exit` from a thread while main is blocked in `read`; main returning while a
/// detached thread churns `malloc` (the block it holds then, if any, is still reachable:
/// Valgrind had one of 74 bytes). Valgrind: 16 bytes definitely lost and 272 possibly lost
/// per thread (gpa: 288, servers.md item 2).
#[test]
fn exit_races_between_threads_are_checked() {
    let Some(dir) = with_programs("exit-race", &["life_exit_race"]) else {
        return;
    };
    for _ in 0..3 {
        agree(
            &dir,
            "@ ./life_exit_race two",
            &[checked("life_exit_race", [(1, 16), NONE, (2, 576), NONE])],
            None,
            None,
        );
    }
    agree(
        &dir,
        "@ ./life_exit_race thread",
        &[checked("life_exit_race", [(1, 16), NONE, (1, 288), NONE])],
        None,
        None,
    );
    agree(
        &dir,
        "@ ./life_exit_race detached",
        &[checked("life_exit_race", [(1, 16), NONE, (1, 288), NONE])],
        None,
        Some(1),
    );
}

/// `execle` with `MINE=1` only, `clearenv()` then `execvp`, `execve` with an empty
/// environment: the new image is checked with Valgrind's totals (gpa puts its variables
/// back, as Valgrind's `--trace-children=yes` follows every exec).
#[test]
fn exec_with_a_cleaned_environment_is_checked() {
    let Some(dir) = with_programs("exec-env", &["life_exec_env"]) else {
        return;
    };
    for way in ["execle", "clearenv-execvp", "execve-empty"] {
        agree(
            &dir,
            &format!("@ ./life_exec_env {way} ./life_child"),
            &[
                checked("life_exec_env", [NONE; 4]),
                checked("life_child", CHILD),
            ],
            None,
            None,
        );
    }
}

/// A set-user-ID program of another user started by `execle` or by `vfork` and `execv` (the
/// loader's secure-execution mode drops `LD_PRELOAD`): listed as not checked (`setuid`).
/// Valgrind refuses to run it (the exec fails: status 1 and 127); gpa runs it as natively.
#[test]
fn a_setuid_child_is_listed_as_not_checked() {
    let Some(dir) = with_programs("setuid", &["life_exec_env", "life_spawn"]) else {
        return;
    };
    // SAFETY: `geteuid` has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: making a set-user-ID program of another user needs root");
        return;
    }
    let program: PathBuf = dir.join("suid_child");
    std::fs::copy(dir.join("life_child"), &program).unwrap();
    let path = std::ffi::CString::new(program.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path; 65534 is `nobody`.
    let owned = unsafe { libc::chown(path.as_ptr(), 65534, 65534) } == 0;
    // SAFETY: as above.
    let moded = unsafe { libc::chmod(path.as_ptr(), 0o4755) } == 0;
    if !owned || !moded {
        eprintln!("SKIPPED: could not make {} set-user-ID", program.display());
        return;
    }
    agree(
        &dir,
        "@ ./life_exec_env execle ./suid_child",
        &[
            checked("life_exec_env", [NONE; 4]),
            not_checked("suid_child", "setuid"),
        ],
        Some(UNCHECKED),
        None,
    );
    // A child not checked does not make the run's status 77 (only the program and the
    // programs it replaced itself with do).
    agree(
        &dir,
        "@ ./life_spawn vfork ./suid_child",
        &[
            checked("life_spawn", [(1, 8), NONE, NONE, NONE]),
            not_checked("suid_child", "setuid"),
        ],
        None,
        None,
    );
}

/// Threads whose first allocation glibc makes inside `pthread_getattr_np` (under the thread's
/// own descriptor lock), as a JVM's threads do at their start: gpa asked for the thread's
/// stack from that allocation with `pthread_getattr_np` again and waited for the lock
/// forever in check and guard modes (`java -version` hung). Valgrind 3.19: 80 bytes in 2
/// blocks definitely lost (each thread's dropped 40-byte block), nothing else.
#[test]
fn threads_whose_first_allocation_is_inside_pthread_getattr_np_are_checked() {
    let Some(dir) = with_programs("thread-getattr", &["life_thread_getattr"]) else {
        return;
    };
    agree(
        &dir,
        "@ ./life_thread_getattr",
        &[checked("life_thread_getattr", [(2, 80), NONE, NONE, NONE])],
        None,
        None,
    );
}

/// A program run as root that gives up root, as `su`, `sudo`, `login` and daemons' workers do
/// (`life_drop_user.c`): a child that becomes `nobody` and `exec`s, the process itself
/// becoming `nobody`, and one that only creates its files as `nobody` (`setfsuid`). gpa run's
/// report directory was writable by root only: the child was "not checked" and the program
/// it started not even listed; a process that became `nobody` itself was not checked.
/// Valgrind 3.19 (`--vgdb=no`, whose named pipes the other user cannot open either): the
/// parent and the image that `exec`s report nothing (no leak check at `exec`), the child
/// program 40 bytes definitely lost and 16 still reachable; `self` 32 bytes and `fsuid` 48
/// bytes in 1 block definitely lost.
#[test]
fn processes_that_give_up_root_are_checked() {
    let Some(dir) = with_programs("drop-user", &["life_drop_user"]) else {
        return;
    };
    // SAFETY: `geteuid` has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: giving up root needs root");
        return;
    }
    let library = preload_library();
    let programs = [dir.join("life_drop_user"), dir.join("life_child")];
    if !others_can_reach(&[&library, &programs[0], &programs[1]]) {
        eprintln!(
            "SKIPPED: `nobody` cannot reach {} or {}",
            library.display(),
            dir.display()
        );
        return;
    }
    agree(
        &dir,
        "@ ./life_drop_user fork ./life_child x",
        &[
            checked("life_drop_user", [NONE; 4]),
            checked("life_drop_user", [NONE; 4]),
            checked("life_child", CHILD),
        ],
        None,
        None,
    );
    agree(
        &dir,
        "@ ./life_drop_user self",
        &[checked("life_drop_user", [(1, 32), NONE, NONE, NONE])],
        None,
        None,
    );
    agree(
        &dir,
        "@ ./life_drop_user fsuid",
        &[checked("life_drop_user", [(1, 48), NONE, NONE, NONE])],
        None,
        None,
    );
}

/// A program run as root that changes its root directory (`life_chroot.c`), as sshd's
/// privilege-separated child, vsftpd or a build sandbox do: the report directory's path led
/// nowhere from inside the jail, and the process was "not checked" (and `gpa run` exited
/// with 77); the objects' files were out of reach too, so its frames had no names. Now the
/// directory and the objects are opened at `chroot`. Valgrind 3.19 (`--vgdb=no`): `self` 56
/// bytes in 1 block definitely lost; `fork` the child 24 bytes and the parent 8; `drop`
/// (`chroot`, then `nobody`) 40; every block allocated in `lost_in_jail` called by `main`.
#[test]
fn processes_in_a_chroot_are_checked_with_named_frames() {
    let Some(dir) = with_programs("chroot", &["life_chroot"]) else {
        return;
    };
    // SAFETY: `geteuid` has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: chroot needs root");
        return;
    }
    std::fs::create_dir_all(dir.join("jail")).unwrap();
    let lost = |bytes| [(1, bytes), NONE, NONE, NONE];
    let cases: [(&str, Vec<Expect>); 3] = [
        ("self", vec![checked("life_chroot", lost(56))]),
        (
            "fork",
            vec![
                checked("life_chroot", lost(8)),
                checked("life_chroot", lost(24)),
            ],
        ),
        ("drop", vec![checked("life_chroot", lost(40))]),
    ];
    for (way, expected) in cases {
        let line = format!("@ ./life_chroot {way} jail");
        if way == "drop" && !others_can_reach(&[&preload_library()]) {
            eprintln!("SKIPPED (drop): `nobody` cannot reach the preload library");
            continue;
        }
        for report in agree(&dir, &line, &expected, None, None) {
            let findings = report["findings"].as_array().cloned().unwrap_or_default();
            assert_eq!(findings.len(), expected.len(), "{way}: {findings:?}");
            for finding in &findings {
                let functions = stack_functions(finding, "alloc");
                assert_eq!(
                    functions.iter().take(2).collect::<Vec<_>>(),
                    ["lost_in_jail", "main"],
                    "{way}: {finding}"
                );
            }
        }
    }
}

/// Whether this process may make mount namespaces (root, and `unshare -m` works here: a
/// container may refuse it); prints why the test is skipped when not.
fn mount_namespaces_or_skip() -> bool {
    // SAFETY: `geteuid` has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: mount namespaces need root");
        return false;
    }
    if skip("unshare", "util-linux") {
        return false;
    }
    let works = succeeds("unshare -m true");
    if !works {
        eprintln!("SKIPPED: `unshare -m true` fails here (no mount namespaces)");
    }
    works
}

/// Whether `sh -c line` exits with status 0 (its error output discarded).
fn succeeds(line: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(line)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A directory of its own for `gpa run`'s report directories (the runs below get it as
/// `TMPDIR`: `TMPDIR={parent} @ ...`), which the programs cover with a tmpfs in their new mount
/// namespace. Not `/tmp` itself: a checkout under `/tmp` (a clean clone there) would have the
/// preload library covered too, where the point is that only the report directory is.
fn report_parent() -> String {
    let dir = std::env::temp_dir().join(format!("gpa-lifecycle-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the report parent");
    dir.display().to_string()
}

/// A program run as root that enters a new mount namespace and mounts a tmpfs over the
/// directory that holds the report directory (`life_mountns.c`), as sandboxes and container
/// runtimes do: by `unshare`, by `clone(CLONE_NEWNS)`, by `setns` into another process's
/// namespace; with a child that `fork`s and `exec`s a leaking program, one that first closes
/// every descriptor above 2 (`closefrom`, `close_range`, as Python's `subprocess` does, or
/// `close` of each entry of `/proc/self/fd`, as bubblewrap's init does), or one that makes
/// descriptors 512 to 520 copies of another with `dup2` (gpa's held descriptor moves out of
/// the way, the program gets the numbers it asked for). The
/// processes lost the report directory's path: "not checked" (`no_report`, `gpa run` exited
/// with 77), and the programs they started as well. Valgrind 3.19 (`--vgdb=no`, logs outside
/// the covered directory): `self` 56 bytes in 1 block definitely lost; `fork`, `clone`,
/// `closefrom`, `close_range`, `close_each`, `dup2`: the parent 8, the child's image before `exec` no leak check,
/// `life_child` 40 definitely lost and 16 still reachable; `setns`: the parent 8, the first
/// child (the namespace's maker) 16, the second child's image before `exec` no leak check,
/// `life_child` 40 and 16; every block of the program's allocated in `lost_in_namespace` by
/// `main` (`close_each`, `dup2` and `raw_close` (the same by `syscall()`) as `fork`: Valgrind
/// refuses `close` of its own descriptors). `pidns` (`unshare(CLONE_NEWPID | CLONE_NEWNS)`, the child mounting the new
/// namespace's `/proc`, as `unshare -p -f --mount-proc`): as `fork` in Valgrind; gpa said the
/// parent's "leaks not checked" (its `/proc/self` named nothing), lifecycle.md item 15.
/// `vfork_dup2` (a `vfork` child makes descriptor 512, gpa's held one, a copy of its standard
/// output and `_exit`s before the `fork`): as `fork` in Valgrind, which also reports the
/// `vfork` child (made a `fork` there) with nothing in use; gpa lists no `vfork` child that
/// ends without `exec` (it has no memory of its own). Before, the child moved gpa's descriptor
/// in the table it shares with its parent, and the parent was "not checked", its children not
/// listed.
/// `clone3` (`syscall(SYS_clone3)` with `CLONE_NEWNS`, as container runtimes make it): as
/// `clone` in Valgrind; under gpa only the parent was listed (lifecycle.md item 16). `clone`'s parent, which stays in the first namespace, prints how many descriptors
/// it has: the same number as natively (it does not keep the directory open).
#[test]
fn processes_in_a_new_mount_namespace_are_checked() {
    let Some(dir) = with_programs("mountns", &["life_mountns"]) else {
        return;
    };
    if !mount_namespaces_or_skip() {
        return;
    }
    let lost = |bytes| [(1, bytes), NONE, NONE, NONE];
    let forked = || {
        vec![
            checked("life_mountns", lost(8)),
            checked("life_mountns", [NONE; 4]),
            checked("life_child", CHILD),
        ]
    };
    let cases: [(&str, Vec<Expect>); 12] = [
        ("self", vec![checked("life_mountns", lost(56))]),
        ("fork", forked()),
        ("clone", forked()),
        (
            "setns",
            vec![
                checked("life_mountns", lost(8)),
                checked("life_mountns", lost(16)),
                checked("life_mountns", [NONE; 4]),
                checked("life_child", CHILD),
            ],
        ),
        ("closefrom", forked()),
        ("close_range", forked()),
        ("close_each", forked()),
        ("dup2", forked()),
        ("raw_close", forked()),
        ("vfork_dup2", forked()),
        ("pidns", forked()),
        ("clone3", forked()),
    ];
    let parent = report_parent();
    for (way, expected) in cases {
        let line = format!("TMPDIR={parent} @ ./life_mountns {way} {parent} ./life_child");
        for report in agree(&dir, &line, &expected, None, None) {
            let findings = report["findings"].as_array().cloned().unwrap_or_default();
            let own: Vec<_> = findings
                .iter()
                .filter(|finding| !stack_functions(finding, "alloc").is_empty())
                .filter(|finding| stack_functions(finding, "alloc")[0] == "lost_in_namespace")
                .collect();
            let leaks = expected
                .iter()
                .filter(|expect| expect.program == "life_mountns")
                .filter(|expect| expect.verdict.is_ok_and(|totals| totals[0] != NONE))
                .count();
            assert_eq!(own.len(), leaks, "{way}: {findings:?}");
            for finding in own {
                assert_eq!(
                    stack_functions(finding, "alloc").get(1).map(String::as_str),
                    Some("main"),
                    "{way}: {finding}"
                );
            }
        }
    }
}

/// A program that cannot load the library (`gcc -static`), started from inside the
/// namespace: it gets no descriptor of gpa's (`life_fds.c` counts its descriptors from 512
/// up: 0, as natively, where a dynamic build under gpa counts the 1 passed on to it), and is
/// listed as not checked. Valgrind 3.19: `life_mountns` 8 bytes definitely lost, the child's
/// image before `exec` no leak check, the static program "0 allocs" (its `malloc` is not
/// replaced there either). `gpa run` exits with the program's status: the program it
/// started was checked.
#[test]
fn a_static_program_started_in_a_new_mount_namespace_gets_no_descriptor() {
    let Some(dir) = with_programs("mountns-static", &["life_mountns"]) else {
        return;
    };
    if !mount_namespaces_or_skip() {
        return;
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/life_fds.c");
    let built = Command::new("gcc")
        .args(["-O0", "-g", "-static", "-w", "-o"])
        .arg(dir.join("life_fds"))
        .arg(&source)
        .status();
    if !built.is_ok_and(|status| status.success()) {
        eprintln!("SKIPPED: gcc -static failed (apt-get install libc6-dev)");
        return;
    }
    agree(
        &dir,
        &format!(
            "TMPDIR={0} @ ./life_mountns fork {0} ./life_fds",
            report_parent()
        ),
        &[
            checked("life_mountns", [(1, 8), NONE, NONE, NONE]),
            checked("life_mountns", [NONE; 4]),
            not_checked("life_fds", "static_binary"),
        ],
        None,
        None,
    );
}

/// `gpa run --profile` of `life_mountns fork`: the heap profiles were written by path, so the
/// program `exec`ed inside the namespace (which covers the report directory's parent) left
/// none. Valgrind 3.19's DHAT (`--tool=dhat --trace-children=yes`, stdout to a file): the
/// parent 36,920 bytes in 3 blocks (its `opendir` buffer, stdout's buffer, 8 bytes),
/// `life_child` 4,152 bytes in 3 blocks (40, 16 and stdout's buffer); the child's image
/// before its `exec` writes no profile (DHAT's is replaced by the new image's).
#[test]
fn heap_profiles_of_processes_in_a_new_mount_namespace_are_written() {
    let Some(dir) = with_programs("mountns-profile", &["life_mountns"]) else {
        return;
    };
    if !mount_namespaces_or_skip() {
        return;
    }
    let json = dir.join("profile.json");
    let dhat = dir.join("profile.dhat.json");
    let prefix = format!(
        "{} run --preload {} --profile {} --json {} --",
        gpa_exe().display(),
        preload_library().display(),
        dhat.display(),
        json.display()
    );
    let line = format!(
        "TMPDIR={0} @ ./life_mountns fork {0} ./life_child",
        report_parent()
    );
    let run = finish(shell(&dir, &line, &prefix), &dir, "profile");
    assert_eq!(run.status.code(), Some(0), "stderr:\n{}", run.stderr);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON")).expect("JSON");
    let totals: Vec<(String, u64, u64)> = report["profiles"]
        .as_array()
        .expect("profiles")
        .iter()
        .map(|profile| {
            (
                profile["command"].as_str().unwrap_or("").to_string(),
                profile["total"]["blocks"].as_u64().unwrap_or(0),
                profile["total"]["bytes"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let parent = report_parent();
    assert_eq!(
        totals,
        [
            (
                format!("./life_mountns fork {parent} ./life_child"),
                3,
                36_920
            ),
            ("./life_child in-namespace".to_string(), 3, 4_152),
        ],
        "stderr:\n{}",
        run.stderr
    );
}

/// A copy of `mount` in `dir` without the set-user-ID bit (Valgrind refuses to run the
/// original); false, with a message, when there is no `mount`.
fn copy_of_mount(dir: &Path) -> bool {
    if skip("mount", "mount") {
        return false;
    }
    let found = Command::new("sh")
        .args(["-c", "command -v mount"])
        .output()
        .expect("sh");
    let found = String::from_utf8_lossy(&found.stdout).trim().to_string();
    let mount = dir.join("mount");
    std::fs::copy(&found, &mount).expect("copy mount");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&mount, std::fs::Permissions::from_mode(0o755)).unwrap();
    true
}

/// `system`, `popen`, `posix_spawnp` and `vfork` + `execv` of a leaking child from a program
/// started in a new mount namespace that covers the report directory's parent: the shell of
/// `system` and `popen` and the child get the descriptor through glibc's own spawn (the
/// close-on-exec flag cleared for the call). Valgrind 3.19 (`--vgdb=no`, the copy of
/// `mount`): `unshare`'s image before `exec` no leak check; `sh` nothing lost (1,466 bytes in
/// 43 blocks still reachable); `mount` nothing; `life_spawn` 8 bytes definitely lost; the shell
/// of `system` and `popen` nothing lost (1,466 in 43 still reachable); `life_child` 40 bytes
/// definitely lost, 16 still reachable.
#[test]
fn spawned_children_in_a_new_mount_namespace_are_checked() {
    let Some(dir) = with_programs("mountns-spawn", &["life_spawn"]) else {
        return;
    };
    if !mount_namespaces_or_skip() || !copy_of_mount(&dir) {
        return;
    }
    let parent = report_parent();
    let nothing_lost = |program| checked(program, [NONE; 4]);
    for way in ["system", "popen", "spawnp", "vfork"] {
        let line = format!(
            "TMPDIR={parent} @ unshare -m sh -c './mount -t tmpfs none {parent}; \
             PATH=.:$PATH ./life_spawn {way} ./life_child'"
        );
        let mut expected = vec![
            nothing_lost("unshare"),
            nothing_lost("sh"),
            nothing_lost("mount"),
            checked("life_spawn", [(1, 8), NONE, NONE, NONE]),
        ];
        if way == "system" || way == "popen" {
            expected.push(nothing_lost("sh"));
        }
        expected.push(checked("life_child", CHILD));
        let child = expected.len() - 1;
        for report in agree(&dir, &line, &expected, None, Some(u64::MAX)) {
            let list = processes(&report);
            assert_eq!(list[3].3, [(1, 8), NONE, NONE, NONE], "{way}: {list:?}");
            assert_eq!(list[child].3, CHILD, "{way}: {list:?}");
        }
    }
}

/// `unshare -m sh -c 'mount -t tmpfs none DIR; ...'` over the directory that holds the report
/// directory: `unshare` was checked, the shell and `mount` "not checked", the programs the
/// shell started after the `mount` not even listed. Valgrind 3.19 (`--vgdb=no`, on a copy of
/// `mount` without the set-user-ID bit, which it refuses to run): `unshare`'s image before
/// `exec` no leak check; `sh` nothing lost (1,519 bytes in 45 blocks still reachable: dash's
/// copy of the environment, whose size differs under gpa, servers.md item 3); `mount`
/// nothing; `life_child` 40 bytes definitely lost, 16 still reachable; `ls` nothing lost
/// (21,064 bytes in 5 blocks still reachable); `cat` nothing.
#[test]
fn a_shell_in_a_new_mount_namespace_and_what_it_starts_are_checked() {
    let Some(dir) = with_programs("mountns-shell", &[]) else {
        return;
    };
    if !mount_namespaces_or_skip() {
        return;
    }
    if !copy_of_mount(&dir) {
        return;
    }
    let parent = report_parent();
    let line = format!(
        "TMPDIR={parent} @ unshare -m sh -c './mount -t tmpfs none {parent}; ./life_child a; ls {parent}; \
         cat /etc/hostname'"
    );
    let nothing_lost = |program| checked(program, [NONE; 4]);
    let reports = agree(
        &dir,
        &line,
        &[
            nothing_lost("unshare"),
            nothing_lost("sh"),
            nothing_lost("mount"),
            checked("life_child", CHILD),
            nothing_lost("ls"),
            nothing_lost("cat"),
        ],
        None,
        Some(u64::MAX),
    );
    // Still reachable blocks are compared for the child only (above: the first three kinds).
    for report in reports {
        let list = processes(&report);
        assert_eq!(list[3].3, CHILD, "{list:?}");
    }
}

/// Whether `sandbox` (a `bwrap` command line without the program) runs `true` here: mount
/// namespaces and bubblewrap present; false with a "SKIPPED" line otherwise.
fn bubblewrap_or_skip(sandbox: &str) -> bool {
    if !mount_namespaces_or_skip() || skip("bwrap", "bubblewrap") {
        return false;
    }
    let works = succeeds(&format!("{sandbox} true"));
    if !works {
        eprintln!("SKIPPED: `{sandbox} true` fails here");
    }
    works
}

/// bubblewrap's sandbox with a tmpfs over the directory that holds the report directory:
/// `bwrap` makes its child with the raw `clone` system call (`syscall(SYS_clone,
/// CLONE_NEWNS | ...)`), which no wrapper of glibc's sees; only `bwrap` itself was listed,
/// the shell and the programs in the sandbox not at all. Now the exported `syscall` holds the
/// directory open for such a `clone` too. Valgrind 3.19 (`--vgdb=no`, the same options):
/// `bwrap` nothing lost, 280 bytes in 5 blocks still reachable (one block per mount it sets
/// up); its child's image before `exec` no leak check; `sh` nothing lost (1,495 bytes in 44
/// blocks still reachable: dash's copy of the environment,
/// whose size differs under gpa); `life_child` 40 bytes definitely lost and 16 still
/// reachable; `cat` nothing.
#[test]
fn programs_in_a_bubblewrap_sandbox_are_checked() {
    let Some(dir) = with_programs("bwrap", &[]) else {
        return;
    };
    if !bubblewrap_or_skip("bwrap --bind / /") {
        return;
    }
    // The scratch directory (in the covered one) is bound back into the sandbox; the report
    // directory is not.
    let (parent, here) = (report_parent(), dir.display().to_string());
    let line = format!(
        "TMPDIR={parent} @ bwrap --bind / / --tmpfs {parent} --bind {here} {here} --chdir {here} \
         --proc /proc --dev /dev sh -c './life_child a; cat /etc/hostname'"
    );
    let nothing_lost = |program| checked(program, [NONE; 4]);
    let reports = agree(
        &dir,
        &line,
        &[
            nothing_lost("bwrap"),
            nothing_lost("bwrap"),
            nothing_lost("sh"),
            checked("life_child", CHILD),
            nothing_lost("cat"),
        ],
        None,
        Some(u64::MAX),
    );
    for report in reports {
        let list = processes(&report);
        assert_eq!(list[0].3, [NONE, NONE, NONE, (5, 280)], "{list:?}");
        assert_eq!(list[3].3, CHILD, "{list:?}");
    }
}

/// bubblewrap's read-only sandbox in a new PID namespace (`--ro-bind / / --unshare-pid`): the
/// report directory is read-only in it, so its processes write through gpa's held descriptor
/// of the directory, which the sandbox's init (its pid 1) closed: it `close`s every entry of
/// `/proc/self/fd` before it waits. That process was "not checked" (and, its pid being 1 in
/// the namespace, said to be still running: `kill(1, 0)` found the machine's init). gpa's
/// descriptors are now kept from `close` (as Valgrind keeps its own: "Warning: invalid file
/// descriptor 19988 in syscall close()"). Valgrind 3.19 (`--trace-children=yes`): `bwrap`
/// nothing lost, 168 bytes in 3 blocks still reachable; the init (`==1==`) 170 bytes in 4
/// blocks still reachable; `life_child` it does not report here (its log goes nowhere), 40
/// bytes definitely lost and 16 still reachable every other way it was started. Its
/// processes are named by their PIDs inside the namespace, as Valgrind names them.
#[test]
fn programs_in_a_read_only_pid_namespaced_bubblewrap_sandbox_are_checked() {
    let Some(dir) = with_programs("bwrap-ro-pid", &[]) else {
        return;
    };
    let sandbox = "bwrap --ro-bind / / --unshare-pid --dev /dev --proc /proc";
    if !bubblewrap_or_skip(sandbox) {
        return;
    }
    let (parent, here) = (report_parent(), dir.display().to_string());
    // The sandbox's three processes (the outer `bwrap`, its init, the child before `exec`),
    // then the program.
    let reachable = |blocks, bytes| [NONE, NONE, NONE, (blocks, bytes)];
    let with = |program: Expect| {
        [
            checked("bwrap", reachable(3, 168)),
            checked("bwrap", reachable(4, 170)),
            checked("bwrap", [NONE; 4]),
            program,
        ]
    };
    let line = format!("TMPDIR={parent} @ {sandbox} --chdir {here} ./life_child a");
    agree(&dir, &line, &with(checked("life_child", CHILD)), None, None);
    // A process of the namespace that leaves no report (the shell, pid 2 there, killed by
    // SIGKILL; Valgrind reports nothing for it either) was said to be still running: pid 2
    // here is a kernel thread. `gpa run` now asks whether the process it finds runs the
    // image's program.
    let line = format!("TMPDIR={parent} @ {sandbox} sh -c 'kill -9 $$'");
    agree(
        &dir,
        &line,
        &with(not_checked("sh", "no_report")),
        None,
        None,
    );
}

/// Threads running at exit that hold blocks the ways a JVM's threads do (`java -version`'s
/// possibly lost blocks, `docs/sweeps/lifecycle.md` item 10): a thread object reached only
/// through a `__thread` variable, and through it a `posix_memalign(64)` block, a block whose
/// only pointer is to a 64-byte boundary inside it (HotSpot's `OopStorage::Block`), a queue
/// node whose only pointer is to its buffer (G1's `BufferNode`) and a list of nodes; on the
/// thread's stack a block's start and a pointer into another. The threads block in `read`,
/// or spin in their own code (`spin`: their stacks are scanned with the red zone). Valgrind
/// 3.19, both ways: 16 bytes in 1 block definitely lost, 6,064 in 8 possibly lost (2 x
/// (2,064 + 632 + 48 + the DTV's 288): gpa 6,096, one more DTV slot per thread, servers.md
/// item 2), 9,728 in 10 still reachable.
#[test]
fn running_threads_holding_blocks_as_a_jvm_does_are_judged_as_valgrind_judges_them() {
    let Some(dir) = with_programs("jvm-threads", &["life_jvm_threads"]) else {
        return;
    };
    for line in ["@ ./life_jvm_threads", "@ ./life_jvm_threads spin"] {
        agree(
            &dir,
            line,
            &[checked(
                "life_jvm_threads",
                [(1, 16), NONE, (8, 6_096), (10, 9_728)],
            )],
            None,
            None,
        );
    }
}

/// Processes that confine themselves (`life_confined.c`, docs/sweeps/lifecycle.md item 12):
/// a seccomp filter installed with `prctl` (as sshd's pre-authentication child, vsftpd and
/// sandboxed workers do) or through `syscall(SYS_seccomp)` (as libseccomp does), that refuses
/// `open`, `mprotect`, `pread`, `fstat`, `process_vm_readv`, `getrandom`... with `EACCES`.
/// Before: in check mode `malloc` returned null after the filter (its `mprotect` refused: the
/// program crashed), then under `gpa run` the process hung (a panic in gpa's std, which could
/// not seed a hash map, allocated inside its backtrace lock); the report could not be
/// written, nor `/proc/self/maps` read. Valgrind 3.19 (`--vgdb=no`), `seccomp`: 64 bytes in 2
/// blocks definitely lost (40 before the filter, 24 after), 100 bytes in 1 block still
/// reachable (a global). Valgrind does not know the `seccomp` system call (317: the program
/// fails with status 2), so `syscall` expects the same figures as `seccomp`, its filter and
/// blocks being the same.
#[test]
fn processes_under_a_seccomp_filter_are_checked() {
    let Some(dir) = with_programs("confined", &["life_confined"]) else {
        return;
    };
    let expected = [(2, 64), NONE, NONE, (1, 100)];
    for way in ["seccomp", "syscall"] {
        let reports = agree(
            &dir,
            &format!("@ ./life_confined {way}"),
            &[checked("life_confined", expected)],
            None,
            None,
        );
        for report in reports {
            for finding in report["findings"].as_array().cloned().unwrap_or_default() {
                let functions = stack_functions(&finding, "alloc");
                assert_eq!(
                    functions.iter().take(2).collect::<Vec<_>>(),
                    ["allocate", "main"],
                    "{way}: {finding}"
                );
            }
        }
    }
}

/// A process in a `chroot` without `/proc` (`life_confined.c jail`) and its `fork` child:
/// the leak scan read no memory map there, so it had no roots, and every block was
/// "definitely lost" (parent 164 bytes in 3 blocks, child 120 in 3). `/proc` and the
/// process's `maps` are now opened before the `chroot`. Valgrind 3.19 (`--vgdb=no
/// --trace-children=yes`): the parent 64 bytes in 2 blocks definitely lost and 100 in 1
/// still reachable; the child 72 in 2 (its copy of the parent's 40 and its own 32) and 48 in
/// 1 still reachable.
#[test]
fn a_chroot_without_proc_keeps_the_leak_scans_roots() {
    let Some(dir) = with_programs("confined-jail", &["life_confined"]) else {
        return;
    };
    // SAFETY: `geteuid` has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: chroot needs root");
        return;
    }
    std::fs::create_dir_all(dir.join("jail")).unwrap();
    agree(
        &dir,
        "@ ./life_confined jail jail",
        &[
            checked("life_confined", [(2, 64), NONE, NONE, (1, 100)]),
            checked("life_confined", [(2, 72), NONE, NONE, (1, 48)]),
        ],
        None,
        None,
    );
}
