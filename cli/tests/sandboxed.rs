//! Programs that sandbox themselves the way real daemons do (docs/sweeps/lifecycle.md item 12):
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
/// gpa's exit report dies on the filter (its `sigaltstack`/`sigaction`: item 12 lists it for
/// the lead's files), so the worker is not checked; it is now listed with the signal that
/// killed it, not the generic paragraph. Valgrind 3.19 (`--trace-children=yes --leak-check=full
/// --vgdb=no`): the parent 16 bytes in 1 block definitely lost, nothing else; the worker
/// leaves no report either (`early`: it prints "worker done", then its log stops; `late`:
/// killed at once, by Valgrind's own `mmap` with `PROT_EXEC`). Under gpa, `early` prints
/// "worker done" as natively; `late` does not yet (its first allocation asks
/// `getrlimit(RLIMIT_AS)`, `os::reservation_len`: item 12), so only its listing is asserted.
#[test]
fn a_worker_under_a_killing_seccomp_filter_is_listed_with_its_signal() {
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
            if way == "early" {
                assert_eq!(run.stdout(), "worker done\n", "{mode:?}: {}", run.stderr());
            }
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
            assert_eq!(worker["reason"], "no_report", "{way} {mode:?}: {worker}");
            assert_eq!(
                worker["killed_by_signal_name"], "SIGSYS",
                "{way} {mode:?}: {worker}"
            );
            let detail = worker["detail"].as_str().unwrap_or("");
            assert!(
                detail.starts_with("killed by SIGSYS before it wrote its report"),
                "{way} {mode:?}: {detail}"
            );
            assert!(
                run.stderr().contains("NOT CHECKED: killed by SIGSYS"),
                "{way} {mode:?}: {}",
                run.stderr()
            );
        }
    }
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
