//! Exit roots in registers: the exiting thread's callee-saved registers (`rbx`, `rbp`, `r12`
//! to `r15`) as the C library's exit frames hold them are roots, as they are to Valgrind
//! memcheck, which scans from the stack pointer at `exit_group` (and the registers); the dead
//! part of the stack below the frame that called `exit` stays no root. See `docs/leaks.md`,
//! "Registers at exit".
//!
//! Each program is built with `gcc -O2` (the code shapes of a distribution's programs: values
//! kept in callee-saved registers across calls, `rbp` a general register) and run under
//! `gpa run` in check mode and with `--guard`. The expected leak summaries were read from
//! Valgrind 3.19 on the same programs (the C files say so); where Valgrind is installed, each
//! test runs it again and checks that it still says so.

mod common;

use std::path::Path;

use common::*;

/// The bytes one more module with thread-local storage adds to a thread's DTV (one `dtv_t`):
/// `libgpa_preload.so` has thread-locals, Valgrind's preload library has none (see
/// `leaks.rs`).
const GPA_DTV_EXTRA: u64 = 16;

type Summary = LeakTotals;

/// Runs `command` (built in `dir`) under Valgrind (where installed: its verdict must still be
/// `valgrind`) and under `gpa run` in check mode and with `--guard`: each must print `stdout`
/// and give `valgrind`'s summary, with the possibly lost bytes larger by `possible_extra`.
fn judged_like_valgrind(
    dir: &Path,
    command: &[&str],
    stdout: &str,
    valgrind: Summary,
    possible_extra: u64,
) {
    let mut expected = valgrind;
    expected[2].1 += possible_extra;
    judged(dir, command, stdout, valgrind, expected);
}

/// As [`judged_like_valgrind`], gpa's summary being `expected` (a difference the caller
/// explains).
fn judged(dir: &Path, command: &[&str], stdout: &str, valgrind: Summary, expected: Summary) {
    let name = command[0];
    if let Some(live) = valgrind_summary(dir, command, &[]) {
        assert_eq!(live, valgrind, "{name}: Valgrind's verdict changed");
    }
    for mode in [&[][..], &["--guard"][..]] {
        let options = [mode, &["--show-leak-kinds=all"][..]].concat();
        let run = gpa_run(dir, &options, command);
        assert_eq!(run.stdout(), stdout, "{name} {mode:?}");
        assert_eq!(
            gpa_leak_totals(&run.json),
            expected,
            "{name} {mode:?}: {}",
            run.stderr()
        );
    }
}

/// Builds `tests/c/<program>.c` with `gcc -O2` and `flags` and checks it as
/// [`judged_like_valgrind`] does, run with `arguments`.
fn c_program_judged_like_valgrind(
    program: &str,
    flags: &[&str],
    arguments: &[&str],
    stdout: &str,
    valgrind: Summary,
    possible_extra: u64,
) {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch(program);
    let binary = compile_c_with("c", program, program, &[&["-O2"][..], flags].concat(), &dir);
    let command = [&[binary.to_str().unwrap()][..], arguments].concat();
    judged_like_valgrind(&dir, &command, stdout, valgrind, possible_extra);
}

#[test]
fn seqs_buffers_held_in_registers_at_exit_are_still_reachable() {
    // coreutils' `seq 1 300`, reduced: the 32- and 8,192-byte blocks' start pointers are in
    // callee-saved registers of the frame that calls `exit` (they were definitely lost).
    let line = "1111111111111111111111111111111\n";
    c_program_judged_like_valgrind(
        "exit_regs",
        &[],
        &["3"],
        &line.repeat(3),
        [(0, 0), (0, 0), (0, 0), (2, 8224)],
        0,
    );
}

#[test]
fn each_callee_saved_register_of_a_deep_frame_calling_exit_is_a_root() {
    c_program_judged_like_valgrind(
        "exit_regs_deep",
        &[],
        &[],
        "done\n",
        [(1, 77), (0, 0), (0, 0), (6, 231)],
        0,
    );
}

#[test]
fn a_dead_pointer_below_the_frame_that_called_exit_stays_definitely_lost() {
    // Without lazy binding: `exit`'s frames lie on 4 of the 64 stale copies, in slots they
    // never write (seen with gdb at gpa's exit hook), which scanning those frames would count.
    c_program_judged_like_valgrind(
        "exit_regs_dead",
        &["-Wl,-z,now"],
        &[],
        "done\n",
        [(1, 99), (0, 0), (0, 0), (1, 88)],
        0,
    );
}

#[test]
fn a_register_main_restored_before_returning_is_no_root() {
    c_program_judged_like_valgrind(
        "exit_regs_main",
        &[],
        &[],
        "done\n",
        [(1, 111), (0, 0), (0, 0), (1, 222)],
        0,
    );
}

#[test]
fn registers_at_quick_exit_are_roots() {
    c_program_judged_like_valgrind(
        "exit_regs_quick",
        &[],
        &[],
        "done\n",
        [(1, 67), (0, 0), (0, 0), (2, 168)],
        0,
    );
}

#[test]
fn registers_of_a_thread_other_than_main_calling_exit_are_roots() {
    // The possibly lost block is the exiting thread's DTV (see `GPA_DTV_EXTRA`).
    c_program_judged_like_valgrind(
        "exit_regs_thread",
        &[],
        &[],
        "done\n",
        [(1, 543), (0, 0), (1, 272), (2, 753)],
        GPA_DTV_EXTRA,
    );
}

#[test]
fn the_programs_atexit_handler_runs_first_and_exits_callers_registers_stay_roots() {
    c_program_judged_like_valgrind(
        "exit_regs_atexit",
        &[],
        &[],
        "done\n",
        [(1, 300), (0, 0), (0, 0), (3, 1100)],
        0,
    );
}

#[test]
fn boxes_held_in_registers_at_std_process_exit_are_still_reachable() {
    if !have("rustc") {
        eprintln!("skipping: rustc is not installed");
        return;
    }
    let dir = scratch("exit_regs_rust");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/exit_regs_rust.rs");
    let binary = compile_rust_file("rustc", &source, &dir.join("exit_regs_rust"), &["-O"]);
    // Still reachable: the two boxes (129 + 130 bytes) and std's stdout buffer (544).
    judged_like_valgrind(
        &dir,
        &[binary.to_str().unwrap()],
        "done\n",
        [(1, 131), (0, 0), (0, 0), (3, 803)],
        0,
    );
}

#[test]
fn registers_at_underscore_exit_are_roots_even_those_valgrinds_freeres_call_loses() {
    // gpa's `_exit` runs the report from below the program's frame: the two blocks in r13 and
    // rbx, and the dropped one (its pointer still in rbp), are reachable. Valgrind's verdict
    // differs on the r13 block: at exit_group it runs its `_vgnU_freeres` on the exiting
    // thread (glibc's `__libc_freeres`), which ends the process itself, so the registers it
    // scans are that call's; the program's survive only where the call saved them on the
    // stack (`rbx`, `rbp`). With `--run-libc-freeres=no --run-cxx-freeres=no` it keeps even
    // fewer. The values the program held are the ones gpa takes (docs/leaks.md).
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("exit_regs_underscore");
    let binary = compile_c_with(
        "c",
        "exit_regs_underscore",
        "exit_regs_underscore",
        &["-O2"],
        &dir,
    );
    judged(
        &dir,
        &[binary.to_str().unwrap()],
        "done\n",
        [(1, 76), (0, 0), (0, 0), (2, 86)],
        [(0, 0), (0, 0), (0, 0), (3, 162)],
    );
}
