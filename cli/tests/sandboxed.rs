//! Programs that sandbox themselves the way real daemons do (docs/sweeps/lifecycle.md item 13):
//! a seccomp filter that KILLS the process on a system call it does not allow (OpenSSH's
//! pre-authentication child, Chromium's renderers, systemd's `SystemCallFilter=`), where
//! `lifecycle.rs`'s filter only refuses with `EACCES`. Each test skips (with a message) when a
//! tool it needs is absent.

mod common;

use common::*;
use serde_json::Value;

/// `sandbox_kill_filter.c`: a worker installs sshd 9.2's filter (reduced: the same allowed
/// list, `EACCES` for `open`/`stat`, kill for the rest), allocates, prints "worker done" and
/// exits with 3; its parent leaked 16 bytes and exits without waiting, so `gpa run` reaps the
/// worker. `early`: the worker has allocated before its filter, as sshd's child has; `late`:
/// its first allocation comes after the filter.
///
/// gpa's exit report makes system calls the filter kills on (`sigaltstack`, `rt_sigaction`,
/// `mincore`, `process_vm_readv`...). gpa reads the filter when the worker installs it
/// (`os::seccomp`), so at exit it leaves the report out and the worker ends as natively,
/// with status 3 (before: killed by `SIGSYS`); the worker is listed as not checked, reason
/// `confined`, with the calls named. Valgrind 3.19 (`--trace-children=yes --leak-check=full
/// --vgdb=no`): the parent 16 bytes in 1 block definitely lost, nothing else; the worker
/// leaves no report either (`early`: it prints "worker done", then its log stops; `late`:
/// killed at once, by Valgrind's own `mmap` with `PROT_EXEC`).
#[test]
fn a_worker_under_a_killing_seccomp_filter_ends_as_natively_and_is_listed_as_confined() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("sandbox-kill-filter");
    compile_c("sandbox_kill_filter", &dir);
    for way in ["early", "late"] {
        let command = ["./sandbox_kill_filter", way];
        let native = plain_run(&dir, &command, |_| {});
        assert_eq!(native.status.code(), Some(0), "{native:?}");
        assert_eq!(String::from_utf8_lossy(&native.stdout), "worker done\n");
        for mode in [&[][..], &["--guard"][..]] {
            let run = gpa_run(&dir, mode, &command);
            assert_eq!(
                run.output.status.code(),
                Some(0),
                "{way} {mode:?}: {}",
                run.stderr()
            );
            assert_eq!(
                run.stdout(),
                "worker done\n",
                "{way} {mode:?}: {}",
                run.stderr()
            );
            let processes = run.json["processes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert_eq!(processes.len(), 2, "{way} {mode:?}: {processes:#?}");
            let parent = &processes[0];
            assert_eq!(parent["status"], "checked", "{way} {mode:?}: {parent}");
            // Valgrind's figures for the parent: 16 bytes in 1 block definitely lost.
            assert_eq!(
                gpa_leak_totals(parent),
                [(1, 16), (0, 0), (0, 0), (0, 0)],
                "{way} {mode:?}: {parent}"
            );
            let worker = &processes[1];
            assert_eq!(worker["status"], "not_checked", "{way} {mode:?}: {worker}");
            assert_eq!(worker["reason"], "confined", "{way} {mode:?}: {worker}");
            assert!(
                worker.get("killed_by_signal_name").is_none(),
                "{way} {mode:?}: {worker}"
            );
            let detail = worker["detail"].as_str().unwrap_or("");
            assert!(
                detail.starts_with("its seccomp filter would kill the process on system calls")
                    && detail.contains("sigaltstack")
                    && detail.contains("rt_sigaction")
                    && !detail.contains("openat"),
                "{way} {mode:?}: {detail}"
            );
            assert!(
                run.stderr().contains("NOT CHECKED: its seccomp filter"),
                "{way} {mode:?}: {}",
                run.stderr()
            );
        }
    }
}

/// The parent waits for the sandboxed worker and prints how it ended, as sshd's monitor reads
/// its child's status: natively "worker exited with 3". Under gpa the same, in check and guard
/// modes (before the filter was read: "worker killed by signal 31", `SIGSYS` from gpa's exit
/// report). Valgrind 3.19 changes it ("worker killed by signal 31": its own system calls die
/// on the filter), so its figure here is the parent's alone: 16 bytes in 1 block definitely
/// lost.
#[test]
fn a_parent_sees_its_sandboxed_child_end_as_natively() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("sandbox-kill-filter-wait");
    compile_c("sandbox_kill_filter", &dir);
    let expected = "worker done\nworker exited with 3\n";
    ends_as_natively(&dir, "wait", expected, |processes, mode| {
        assert_eq!(processes[1]["reason"], "confined", "{mode}: {processes}");
    });
}

/// Runs `sandbox_kill_filter WAY` natively, then under gpa in check, guard and fast modes:
/// the same output (`expected`: how the parent saw the worker end) and exit 0; in check and
/// guard modes the parent's leaks are Valgrind's (16 bytes in 1 block definitely lost) and
/// `workers` checks the processes of the JSON report (the parent first).
fn ends_as_natively(
    dir: &std::path::Path,
    way: &str,
    expected: &str,
    workers: impl Fn(&Value, &str),
) {
    let command = ["./sandbox_kill_filter", way];
    let native = plain_run(dir, &command, |_| {});
    assert_eq!(String::from_utf8_lossy(&native.stdout), expected, "{way}");
    for mode in [&[][..], &["--guard"][..], &["--fast"][..]] {
        let context = format!("{way} {mode:?}");
        let run = gpa_run(dir, mode, &command);
        assert_eq!(run.stdout(), expected, "{context}: {}", run.stderr());
        assert_eq!(
            run.output.status.code(),
            Some(0),
            "{context}: {}",
            run.stderr()
        );
        if mode == ["--fast"] {
            continue;
        }
        let parent = &run.json["processes"][0];
        assert_eq!(
            gpa_leak_totals(parent),
            [(1, 16), (0, 0), (0, 0), (0, 0)],
            "{context}: {parent}"
        );
        workers(&run.json["processes"], &context);
    }
}

/// The sandboxed worker ends by a signal, goes on after a fault gpa's guards cause, or execs,
/// as it would natively; the parent waits and prints how it ended. Ways of
/// `sandbox_kill_filter.c`: `crash` (sshd's filter, then a write through a wild pointer:
/// natively "worker killed by signal 11"), `abort` (sshd's filter, then `abort()`, whose
/// `tgkill` the filter kills: natively signal 31), `mild` (a filter that kills only
/// `getdents64` and `sched_yield`, calls of the exit report and none of the fault handler's
/// or glibc's start-up, then the wild write: signal 11), `stale` (the mild filter, then a
/// read of a freed block, which guard mode's protected pages fault on: natively "worker
/// exited with 3"), `exec` (the mild filter, then an exec of a program that leaks 40 bytes
/// and exits with 3), `threads` (the mild filter, then a thread that stays blocked while the
/// worker exits with 3) and `refused` (below). Before (lifecycle.md item 18): `crash` and
/// `mild` ended by signal 31 under gpa, the fatal-signal report's system calls killed, and
/// so did `exec` (the new image did not know its inherited filter). Now a filter that kills
/// the handler's own calls (`rt_sigaction`, `rt_sigreturn`, `tgkill`...) takes the signals
/// back from gpa before it is installed; under any filter that stops the report the handler
/// lets the signal go on (a guard fault resumed); and an exec passes the stopped calls on
/// (`GPA_SECCOMP_STOPPED`). Since lifecycle.md item 19, a filter that stops only calls the
/// report does without (`getdents64` in a process with one thread, `sched_yield`) leaves the
/// report in: `mild`, `stale` and `exec` are reported as Valgrind reports them. Since item
/// 21, a process with threads under a filter that kills `getdents64` is reported when gpa
/// finds all of them without the list of `/proc/self/task` (glibc's thread descriptors):
/// `threads`, `unlisted`, and, asking every thread id given out since the process id,
/// `ownstack` and `heapstack` (a thread on a stack of the program's own).
///
/// Valgrind 3.19 (`--trace-children=yes --leak-check=full --vgdb=no`): the parent 16 bytes in
/// 1 block definitely lost, as gpa. The worker: `crash` "worker killed by signal 31"
/// (Valgrind's own calls die on sshd's filter), `abort` 31, `mild` 11 ("Invalid write of size
/// 4"; 16 bytes in 1 block definitely lost), `stale` exited with 3 ("Invalid read of size 1",
/// "3 bytes inside a block of size 24 free'd"; 56 bytes in 2 blocks definitely lost, 100 in 1
/// still reachable), `exec` exited with 3 (the new image: 40 bytes in 1 block definitely
/// lost), `threads`: Valgrind's worker never ends (its parent waits until killed: its
/// scheduler's `sched_yield` is killed), `unlisted` exited with 3 (88 bytes in 3 blocks
/// definitely lost, 544 in 2 possibly lost: the running threads' DTVs, 164 in 2 still
/// reachable), `ownstack` exited with 3 (56 bytes in 2 blocks definitely lost, 272 in 1
/// possibly lost, 100 in 1 still reachable), `heapstack` the same but 2,097,252 bytes in 2
/// blocks still reachable.
#[test]
fn a_sandboxed_worker_ends_by_its_signal_or_goes_on_as_natively() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("sandbox-kill-filter-signal");
    compile_c("sandbox_kill_filter", &dir);
    let confined = |named: &'static str| {
        move |processes: &Value, context: &str| {
            let listed = processes.as_array().map_or(0, Vec::len);
            assert_eq!(listed, 2, "{context}: {processes}");
            let worker = &processes[1];
            assert_eq!(worker["reason"], "confined", "{context}: {worker}");
            let detail = worker["detail"].as_str().unwrap_or("");
            assert!(detail.contains(named), "{context}: {detail}");
        }
    };
    ends_as_natively(
        &dir,
        "crash",
        "worker killed by signal 11\n",
        confined("rt_sigaction"),
    );
    ends_as_natively(
        &dir,
        "abort",
        "worker killed by signal 31\n",
        confined("rt_sigaction"),
    );
    // `threads`: checked since lifecycle.md item 21 (the blocked thread found in its glibc
    // descriptor). Valgrind hangs on this worker; its verdict on the same shape under a
    // filter it tolerates (`unlisted`, below) is gpa's here: the worker's 16 + 40 bytes
    // definitely lost, the running thread's DTV possibly lost (272 bytes under Valgrind, 288
    // under gpa: its library's thread-local storage adds one `dtv_t`), 100 bytes reachable.
    ends_as_natively(
        &dir,
        "threads",
        "worker done\nworker exited with 3\n",
        |processes, context| {
            let worker = &processes[1];
            checked(worker, context, None, [(2, 56), (0, 0), (1, 288), (1, 100)]);
            assert_eq!(worker["findings"], 3, "{context}: {worker}");
        },
    );
    // `unlisted` (a filter that kills `getdents64` and `getdents` only, three threads:
    // one never allocates and stays blocked, one keeps 64 bytes on its stack and stays
    // blocked, one leaks 32 bytes and is joined): Valgrind 3.19's verdict, the two running
    // threads' DTVs 16 bytes larger each (above).
    ends_as_natively(
        &dir,
        "unlisted",
        "worker done\nworker exited with 3\n",
        |processes, context| {
            let worker = &processes[1];
            checked(worker, context, None, [(3, 88), (0, 0), (2, 576), (2, 164)]);
            // Three definitely lost records, two possibly lost.
            assert_eq!(worker["findings"], 5, "{context}: {worker}");
        },
    );
    // `ownstack`: the one other thread runs on a stack the worker mapped itself, its
    // descriptor not at the top of a mapping; `heapstack`: on a stack inside a block from
    // `malloc`. gpa finds them by asking every thread id given out since the process id
    // (`tgkill`), and reports as Valgrind 3.19 does: 56 bytes in 2 blocks definitely lost,
    // the running thread's DTV possibly lost (272 bytes; 288 under gpa, above), 100 bytes
    // in 1 block still reachable (`heapstack`: 2,097,252 bytes in 2 blocks, the stack's
    // block too).
    for (way, reachable) in [("ownstack", (1, 100)), ("heapstack", (2, 2_097_252))] {
        ends_as_natively(
            &dir,
            way,
            "worker done\nworker exited with 3\n",
            |processes, context| {
                let worker = &processes[1];
                checked(
                    worker,
                    context,
                    None,
                    [(2, 56), (0, 0), (1, 288), reachable],
                );
                assert_eq!(worker["findings"], 3, "{context}: {worker}");
            },
        );
    }
    ends_as_natively(
        &dir,
        "mild",
        "worker killed by signal 11\n",
        |processes, context| {
            let totals = [(1, 16), (0, 0), (0, 0), (0, 0)];
            checked(&processes[1], context, Some("SIGSEGV"), totals);
        },
    );
    ends_as_natively(
        &dir,
        "stale",
        "worker done\nworker exited with 3\n",
        |processes, context| {
            let worker = &processes[1];
            checked(worker, context, None, [(2, 56), (0, 0), (0, 0), (1, 100)]);
            // The two loss records; guard mode also sees the read after free at the access,
            // as Valgrind (check mode does not see reads outside libc's calls: c_abi.md).
            let findings = if context.contains("--guard") { 3 } else { 2 };
            assert_eq!(worker["findings"], findings, "{context}: {worker}");
        },
    );
    ends_as_natively(
        &dir,
        "exec",
        "worker done\nworker exited with 3\n",
        |processes, context| {
            // The worker's image before the exec, and the new one.
            let listed = processes.as_array().map_or(0, Vec::len);
            assert_eq!(listed, 3, "{context}: {processes}");
            checked(
                &processes[2],
                context,
                None,
                [(1, 40), (0, 0), (0, 0), (0, 0)],
            );
        },
    );
    // `refused`: the kernel refuses the filter (a flag it does not know), so gpa takes the
    // signals back and the worker, unconfined, is checked: its crash report, and the copy of
    // its parent's 16 bytes definitely lost. Valgrind 3.19 changes this worker's path (its
    // `seccomp` fails otherwise: "worker exited with 2") and reports it with the same 16
    // bytes in 1 block definitely lost.
    ends_as_natively(
        &dir,
        "refused",
        "worker killed by signal 11\n",
        |processes, context| {
            let totals = [(1, 16), (0, 0), (0, 0), (0, 0)];
            checked(&processes[1], context, Some("SIGSEGV"), totals);
        },
    );
}

/// Asserts that a worker's process (an image) was checked, ended by `signal` (if given), with
/// the leak totals `totals`.
fn checked(process: &Value, context: &str, signal: Option<&str>, totals: LeakTotals) {
    assert_eq!(process["status"], "checked", "{context}: {process}");
    if let Some(signal) = signal {
        assert_eq!(process["signal_name"], signal, "{context}: {process}");
    }
    assert_eq!(gpa_leak_totals(process), totals, "{context}: {process}");
}

/// The same worker run under Valgrind, when it is installed: the parent's figures above are
/// Valgrind's (checked here so that a change of either side shows).
#[test]
fn the_killing_filters_parent_figures_are_valgrinds() {
    if !gcc_or_skip() || skip("valgrind", "valgrind") {
        return;
    }
    let dir = scratch("sandbox-kill-filter-vg");
    compile_c("sandbox_kill_filter", &dir);
    let valgrind = std::process::Command::new("valgrind")
        .args([
            "--leak-check=full",
            "--vgdb=no",
            "./sandbox_kill_filter",
            "early",
        ])
        .current_dir(&dir)
        .output()
        .expect("run valgrind");
    let text = String::from_utf8_lossy(&valgrind.stderr).into_owned();
    let expected = valgrind_leak_totals(&text);
    let run = gpa_run(&dir, &[], &["./sandbox_kill_filter", "early"]);
    let parent: &Value = &run.json["processes"][0];
    assert_eq!(gpa_leak_totals(parent), expected, "{text}");
}

/// The workers of the filters that kill only what the report does without (`mild`, `stale`,
/// `exec`: lifecycle.md item 19; `unlisted`, threads under a filter that kills `getdents64`:
/// item 21) are checked, with Valgrind's leak totals for each process
/// when it is installed (one log a process: the worker's is the one that is not the
/// parent's), else the totals Valgrind 3.19 gave (the test above's doc).
#[test]
fn the_mild_filters_workers_have_valgrinds_figures() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("sandbox-mild-vg");
    compile_c("sandbox_kill_filter", &dir);
    // With the running threads' DTVs (possibly lost): one `dtv_t` (16 bytes) more each
    // under gpa, whose library has thread-local storage.
    let ways: [(&str, LeakTotals, u64); 4] = [
        ("mild", [(1, 16), (0, 0), (0, 0), (0, 0)], 0),
        ("stale", [(2, 56), (0, 0), (0, 0), (1, 100)], 0),
        ("exec", [(1, 40), (0, 0), (0, 0), (0, 0)], 0),
        ("unlisted", [(3, 88), (0, 0), (2, 544), (2, 164)], 2),
    ];
    let with_valgrind = !skip("valgrind", "valgrind");
    for (way, recorded, dtvs) in ways {
        let mut expected = if with_valgrind {
            valgrind_last_process_totals(&dir, way)
        } else {
            recorded
        };
        assert_eq!(expected, recorded, "{way}: Valgrind changed its figures");
        expected[2].1 += 16 * dtvs;
        let run = gpa_run(&dir, &[], &["./sandbox_kill_filter", way]);
        let processes = run.json["processes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let last = processes.last().expect("the worker is listed");
        assert_eq!(last["status"], "checked", "{way}: {last}");
        assert_eq!(gpa_leak_totals(last), expected, "{way}: {last}");
    }
}

/// Valgrind's leak totals of the process of `./sandbox_kill_filter way` that started last (the
/// worker, or the image it execs), one log file a process.
fn valgrind_last_process_totals(dir: &std::path::Path, way: &str) -> LeakTotals {
    let logs = dir.join(format!("vg-{way}"));
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).unwrap();
    let status = std::process::Command::new("valgrind")
        .args([
            "--leak-check=full",
            "--vgdb=no",
            "--trace-children=yes",
            &format!("--log-file={}/%p", logs.display()),
            "./sandbox_kill_filter",
            way,
        ])
        .current_dir(dir)
        .output()
        .expect("run valgrind");
    let mut by_pid: Vec<(u32, String)> = std::fs::read_dir(&logs)
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let pid = entry.file_name().to_str()?.parse().ok()?;
            Some((pid, std::fs::read_to_string(entry.path()).ok()?))
        })
        .collect();
    by_pid.sort();
    // The exec'd image keeps the worker's pid and writes into the same log after it.
    let (_, text) = by_pid.last().expect("Valgrind's logs");
    let summaries: Vec<&str> = text.split("LEAK SUMMARY").collect();
    let last = summaries.last().copied().unwrap_or("");
    assert!(status.status.success(), "valgrind: {text}");
    valgrind_leak_totals(last)
}

/// The port the sshd tests listen on (loopback).
const SSHD_PORT: u16 = 2222;

/// Whether a TCP socket listens on `port` (`/proc/net/tcp`, `tcp6`: state `0A`), without
/// connecting (sshd in debug mode serves one connection only).
fn listening(port: u16) -> bool {
    let wanted = format!(":{port:04X} ");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.len() > 3
                    && format!("{} ", fields[1]).ends_with(&wanted)
                    && fields[3] == "0A"
            })
        })
    })
}

/// Runs `sshd -D -d -p SSHD_PORT` behind `prefix` (nothing, `gpa run ...`, `valgrind ...`) in
/// `dir`, connects once with a wrong password, and returns the client's stderr once sshd has
/// ended (debug mode serves one connection). `None` when sshd never listened.
fn sshd_once(dir: &std::path::Path, prefix: &[&str]) -> Option<String> {
    use std::process::{Command, Stdio};
    let server_log = std::fs::File::create(dir.join("server.log")).expect("server log");
    let mut words: Vec<&str> = prefix.to_vec();
    words.extend(["/usr/sbin/sshd", "-D", "-d", "-p", "2222"]);
    let mut server = Command::new(words[0])
        .args(&words[1..])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(server_log.try_clone().expect("log"))
        .stderr(server_log)
        .spawn()
        .expect("start sshd");
    let started = std::time::Instant::now();
    while !listening(SSHD_PORT) {
        if started.elapsed() > std::time::Duration::from_secs(30) {
            let _ = server.kill();
            let _ = server.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let client = Command::new("sshpass")
        .args(["-p", "wrong", "ssh", "-p", "2222"])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args(["-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=20"])
        .args(["nobody@127.0.0.1", "true"])
        .stdin(Stdio::null())
        .output()
        .expect("run ssh");
    let waited = std::time::Instant::now();
    loop {
        if server.try_wait().expect("wait").is_some() {
            break;
        }
        if waited.elapsed() > std::time::Duration::from_secs(60) {
            let _ = server.kill();
            let _ = server.wait();
            panic!("sshd {prefix:?}: still running a minute after its one connection (a hang)");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Some(String::from_utf8_lossy(&client.stderr).into_owned())
}

/// OpenSSH's sshd in debug mode, one login with a wrong password (item 13). Its
/// pre-authentication child `chroot`s, lowers `RLIMIT_NOFILE`/`RLIMIT_FSIZE` and installs a
/// filter that kills on unlisted system calls: gpa must not change what the client sees, must
/// check the monitor, and must list the child as not checked, ended as natively, not killed
/// by `SIGSYS` (Valgrind has no verdict on it either: it refuses the child's `setrlimit`, which
/// then fails before its filter). The monitor's definitely lost blocks are Valgrind's (2 with
/// OpenSSH 9.2p1 Debian-2+deb12u10; their bytes differ with the environment, which sshd
/// copies: `gpa run` and Valgrind add different variables).
#[test]
fn sshd_with_its_sandboxed_child_is_listed_throughout() {
    if skip("sshpass", "sshpass") || skip("ssh", "openssh-client") || skip("valgrind", "valgrind") {
        return;
    }
    if !std::path::Path::new("/usr/sbin/sshd").exists() {
        eprintln!("SKIPPED: /usr/sbin/sshd is missing (apt-get install openssh-server)");
        return;
    }
    // SAFETY: `geteuid` has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIPPED: sshd needs root");
        return;
    }
    if listening(SSHD_PORT) {
        eprintln!("SKIPPED: port {SSHD_PORT} is in use");
        return;
    }
    let _ = std::fs::create_dir_all("/run/sshd");
    let dir = scratch("sshd");
    let Some(native) = sshd_once(&dir, &[]) else {
        eprintln!("SKIPPED: sshd does not start here");
        return;
    };
    assert!(native.contains("Permission denied"), "{native}");
    let json = dir.join("sshd.json");
    let json_arg = json.display().to_string();
    let gpa = gpa_exe().display().to_string();
    let library = preload_library().display().to_string();
    let prefix = [
        &gpa,
        "run",
        "--preload",
        &library,
        "--json",
        &json_arg,
        "--",
    ];
    let client = sshd_once(&dir, &prefix).expect("sshd under gpa listens");
    assert!(client.contains("Permission denied"), "{client}");
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("JSON");
    let processes = report["processes"].as_array().cloned().unwrap_or_default();
    assert_eq!(processes.len(), 3, "{processes:#?}\n{log}");
    let monitor = &processes[1];
    assert_eq!(monitor["status"], "checked", "{monitor}");
    let child = &processes[2];
    assert_eq!(child["status"], "not_checked", "{child}");
    // gpa leaves the child's report out (its filter would kill the report's calls) and it
    // ends as natively; it cannot write why at exit (its RLIMIT_FSIZE is 0), so it marked
    // its reserved event `confined` before its filter (an empty file's name).
    assert!(child.get("killed_by_signal_name").is_none(), "{child}");
    assert_eq!(child["reason"], "confined", "{child}");
    let vg_log = dir.join("vg.%p").display().to_string();
    let vg_log_arg = format!("--log-file={vg_log}");
    let valgrind = [
        "valgrind",
        "--leak-check=full",
        "--trace-children=yes",
        "--vgdb=no",
        &vg_log_arg,
    ];
    sshd_once(&dir, &valgrind).expect("sshd under Valgrind listens");
    // The monitor's log: the `-R` image's, the one with a leak summary (the child's stops
    // after its header: its RLIMIT_FSIZE is 0).
    let monitor_text = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .find(|text| text.contains("-R\n") && text.contains("definitely lost:"))
        .expect("Valgrind's log of the monitor");
    let expected = valgrind_leak_totals(&monitor_text);
    assert_eq!(
        gpa_leak_totals(monitor)[0].0,
        expected[0].0,
        "definitely lost blocks of the monitor: {monitor} against {monitor_text}"
    );
}
