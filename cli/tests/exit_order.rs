//! The exit report runs after every exit function, however it was registered: `atexit`,
//! `__cxa_atexit` and glibc's `on_exit` (which fills the same list without calling
//! `__cxa_atexit`; the preload library interposes both, `capi::exit::on_exit`). Each program
//! frees its blocks from exit functions registered before the preload library's constructor
//! ran (from a shared library's constructor) or before any other (from `main`); Valgrind
//! memcheck 3.19, which checks after `exit` ran them all, says "all heap blocks were freed"
//! for every one. Checked in check mode and with `--guard`, and against Valgrind where it is
//! installed.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

const NOTHING: LeakTotals = [(0, 0); 4];

/// Compiles `tests/c/<library>.c` into `dir/lib<library>.so` and `tests/c/<program>.c`,
/// linked against it (found beside the program), into `dir/<program>`.
fn compile_with_library(dir: &Path, program: &str, library: &str) -> std::path::PathBuf {
    let sources = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("c");
    let built = Command::new("gcc")
        .args(["-shared", "-fPIC", "-g", "-o"])
        .arg(dir.join(format!("lib{library}.so")))
        .arg(sources.join(format!("{library}.c")))
        .status()
        .expect("run gcc");
    assert!(built.success(), "gcc {library}.c");
    let binary = dir.join(program);
    let built = Command::new("gcc")
        .args(["-g", "-o"])
        .arg(&binary)
        .arg(sources.join(format!("{program}.c")))
        .arg(format!("-L{}", dir.display()))
        .arg(format!("-l{library}"))
        .arg("-Wl,-rpath,$ORIGIN")
        .status()
        .expect("run gcc");
    assert!(built.success(), "gcc {program}.c");
    binary
}

/// Runs `command` (with `environment`) under Valgrind, where installed, and under `gpa run`
/// in check mode and with `--guard`: every leak summary must be `expected`, the program's
/// output must contain `output` and its exit status be `status` in every run.
fn agrees_with_valgrind(
    dir: &Path,
    command: &[&str],
    environment: &[(&str, &str)],
    expected: LeakTotals,
    output: &str,
    status: i32,
) {
    if have("valgrind") {
        let run = Command::new("valgrind")
            .current_dir(dir)
            .args(["--leak-check=full", "--show-leak-kinds=all"])
            .args(command)
            .envs(environment.iter().copied())
            .output()
            .expect("run valgrind");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(
            valgrind_leak_totals(&stderr),
            expected,
            "Valgrind's verdict changed on {command:?}: {stderr}"
        );
        assert!(String::from_utf8_lossy(&run.stdout).contains(output));
        assert_eq!(run.status.code(), Some(status));
    } else {
        eprintln!("note: valgrind is not installed; expectations not re-checked against it");
    }
    for options in [
        &["--show-leak-kinds=all"][..],
        &["--guard", "--show-leak-kinds=all"],
    ] {
        let run = gpa_run_with(dir, options, command, |gpa| {
            gpa.envs(environment.iter().copied());
        });
        assert_eq!(
            gpa_leak_totals(&run.json),
            expected,
            "gpa run {options:?} -- {command:?}: {}",
            run.stderr()
        );
        assert!(
            run.stdout().contains(output),
            "gpa run {options:?} -- {command:?}: {}",
            run.stdout()
        );
        assert_eq!(run.output.status.code(), Some(status), "{}", run.stderr());
    }
}

/// A library's constructor, which the loader runs before the preload library's, keeps a
/// 100-byte buffer and frees it in a function it registers with `on_exit`. Before `on_exit`
/// was interposed that function was the process's oldest exit function and ran after the
/// report: the buffer was "still reachable" (1 block, 100 bytes). Valgrind 3.19: in use at
/// exit: 0 bytes in 0 blocks.
#[test]
fn a_librarys_on_exit_function_runs_before_the_report() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("onexit-library");
    let program = compile_with_library(&dir, "onexit_library", "onexit_library_so");
    agrees_with_valgrind(
        &dir,
        &[program.to_str().unwrap()],
        &[],
        NOTHING,
        "kept by the library until exit",
        0,
    );
}

/// `main` registers an `on_exit` function before any `atexit`, which frees its table (five
/// blocks) and prints the status `exit(7)` passed it. Valgrind 3.19: all heap blocks were
/// freed, "on_exit status 7", exit status 7. (This one held before `on_exit` was interposed
/// too: the preload library's constructor, which runs before `main`, had registered the
/// report already. It checks the status is passed through unchanged.)
#[test]
fn an_on_exit_function_of_main_gets_the_status_and_frees_before_the_report() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("onexit-main");
    let program = compile_c("onexit_main", &dir);
    agrees_with_valgrind(
        &dir,
        &[program.to_str().unwrap()],
        &[],
        NOTHING,
        "on_exit status 7",
        7,
    );
}

/// A library's constructor registers `on_exit`, `__cxa_atexit` and `atexit` functions in
/// turn, the first an `on_exit`, each freeing a block; the program adds an `on_exit` that
/// prints its status and calls `exit(3)`. With 9 registrations glibc's static list holds
/// them; with 40 it mallocs more lists (`__new_exitfn`, 1040 bytes each), which it frees as
/// `exit` walks past them. Every `on_exit` function gets status 3. Valgrind 3.19, both
/// counts: in use at exit: 0 bytes in 0 blocks. Before `on_exit` was interposed the block
/// of the first `on_exit` function was still reachable (16 bytes, 1 block).
#[test]
fn mixed_exit_functions_and_malloced_exit_lists_run_before_the_report() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("onexit-mix");
    let program = compile_with_library(&dir, "onexit_mix", "onexit_mix_so");
    for count in ["9", "40"] {
        agrees_with_valgrind(
            &dir,
            &[program.to_str().unwrap()],
            &[("ONEXIT_COUNT", count)],
            NOTHING,
            &format!(
                "main: on_exit status 3 (passed through)\nlibrary: {count} exit functions \
                 freed their blocks, 0 saw a wrong status, status 3"
            ),
            3,
        );
    }
}
