//! Exit verdicts with threads inside the dynamic loader at exit (lifecycle.md item 25): the
//! exit scan stops them for good, so it must neither wait for a lock one of them holds nor
//! leave what glibc's exit-time frees would free (they are skipped while a thread is inside
//! glibc's own code) to the leak verdict. Each program runs several times pinned to one CPU
//! beside busy loops there, each run bounded in time (a hang fails the test, it does not
//! stall it), and every run must give Valgrind memcheck 3.19's verdict
//! (`--leak-check=full --show-leak-kinds=all`, `--run-libc-freeres=yes`, its default).
//!
//! gpa's DTVs are 16 bytes longer than under Valgrind (288 bytes, not 272: gpa's library is one
//! more module with TLS), as in `leaks.rs` and `exit_threads.rs`. Timing is never asserted.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// How many times each program runs (the test profile's library takes about 5 s a run, most
/// of it the stop's rounds waiting for threads inside the loader).
const RUNS: usize = 4;

/// A run still going after this long is taken for a hang: killed, and the test fails.
const HANG: Duration = Duration::from_secs(90);

/// The bytes gpa's DTV has more than Valgrind's.
const DTV_EXTRA: u64 = 16;

/// `gpa run --show-leak-kinds=all` of `command` in `dir` pinned to `cpu`, killed after
/// [`HANG`]: the JSON report, or a panic saying the run hung or left none.
fn bounded_run(dir: &Path, cpu: u32, command: &[&str]) -> Value {
    let json_path = dir.join("report.json");
    let _ = std::fs::remove_file(&json_path);
    let gpa = gpa_command(dir, &["--show-leak-kinds=all"], command, &json_path);
    let mut child = Command::new("taskset")
        .args(["-c", &cpu.to_string()])
        .arg(gpa.get_program())
        .args(gpa.get_args())
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run gpa");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for gpa") {
            break status;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} still running after {HANG:?}: the exit report hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "{command:?}");
    let text = std::fs::read_to_string(&json_path).expect("a JSON report");
    serde_json::from_str(&text).expect("report is JSON")
}

#[test]
fn threads_opening_and_closing_libraries_at_exit_neither_hang_nor_leave_the_loaders_data() {
    if !gcc_or_skip() || skip("taskset", "util-linux") {
        return;
    }
    let Some(cpu) = first_allowed_cpu() else {
        eprintln!("SKIPPED: no Cpus_allowed_list in /proc/self/status");
        return;
    };
    // exit_heap_dlopen.c 4: four threads opening and closing libresolv.so.2 or libanl.so.1.
    // Valgrind 3.19, 3 runs: 16/1 definitely lost, 1,088/4 possibly lost (the threads'
    // DTVs), still reachable 3,481/13 (2 runs) or 2,057/9 (1 run: which libraries are open
    // at exit). gpa before: the report hung in 1 run of 2 of exit_threads_busy.c's `dlopen`
    // way (a thread stopped in gpa's `dlclose` held the symbolizer's list of unloaded
    // objects), and the loader's `_dl_find_object` segments were possibly lost (2,304 bytes
    // each) in about 2 runs of 6.
    let dir = scratch("exit-heap-dlopen");
    let binary = compile_c("exit_heap_dlopen", &dir);
    let command = [binary.to_str().unwrap(), "4"];
    let reachable_seen = [(13, 3481), (9, 2057)];
    if have("valgrind") {
        let output = Command::new("valgrind")
            .args(["--leak-check=full", "--show-leak-kinds=all"])
            .args(command)
            .current_dir(&dir)
            .output()
            .expect("run valgrind");
        let text = String::from_utf8_lossy(&output.stderr);
        let totals = valgrind_leak_totals(&text);
        assert_eq!(totals[0], (1, 16), "{text}");
        assert_eq!(totals[1], (0, 0), "{text}");
        assert_eq!(totals[2], (4, 1088), "{text}");
        assert!(reachable_seen.contains(&totals[3]), "{text}");
    } else {
        eprintln!("SKIPPED (Valgrind's side only): valgrind is not installed");
    }
    let _load = BusyLoops::start(3, cpu);
    for index in 0..RUNS {
        let run_dir = dir.join(format!("run-{index}"));
        std::fs::create_dir_all(&run_dir).unwrap();
        let json = bounded_run(&run_dir, cpu, &command);
        let totals = gpa_leak_totals(&json);
        let shown = format!("run {index}: totals {totals:?}");
        assert_eq!(totals[0], (1, 16), "{shown}");
        assert_eq!(totals[1], (0, 0), "{shown}");
        assert_eq!(totals[2], (4, 1088 + 4 * DTV_EXTRA), "{shown}");
        assert!(reachable_seen.contains(&totals[3]), "{shown}");
        let errors = json["findings"].as_array().map_or(0, |findings| {
            findings.iter().filter(|f| f["kind"] != "leak").count()
        });
        assert_eq!(errors, 0, "{shown}");
    }
}
