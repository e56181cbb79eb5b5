//! Disagreements with Valgrind found by running Miri's test programs (`tests/fail`,
//! `tests/pass`, `tests/pass-dep` of rust-lang/miri) as unmodified Rust programs under both
//! (`docs/sweeps/miri_tests.md`), reduced to programs of our own (`tests/rust_sweep/*.rs`,
//! built here with `rustc -C debuginfo=2 -C opt-level=0`). Each test holds gpa to Valgrind
//! 3.19's verdict on that same program, written next to it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// Whether rustc is there (it is wherever cargo runs this test, but not always on PATH).
fn rustc() -> Option<PathBuf> {
    let rustc = std::env::var_os("RUSTC").map_or_else(|| PathBuf::from("rustc"), PathBuf::from);
    let found = Command::new(&rustc)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        eprintln!("skipping: rustc is not on PATH");
    }
    found.then_some(rustc)
}

/// Compiles `tests/rust_sweep/<name>.rs` with debug information and no optimization (as
/// the sweep's debug builds) into `dir`.
fn compile_rust(rustc: &Path, name: &str, dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("rust_sweep")
        .join(format!("{name}.rs"));
    let flags = [
        "--edition",
        "2021",
        "-C",
        "debuginfo=2",
        "-C",
        "opt-level=0",
    ];
    compile_rust_file(rustc, &source, &dir.join(name), &flags)
}

/// One stack of a finding as `function:line`, the function's path left out (`main:13`).
fn places(finding: &Value, stack: &str) -> Vec<String> {
    finding["stacks"][stack]
        .as_array()
        .map(|frames| {
            frames
                .iter()
                .map(|frame| {
                    let function = frame["function"].as_str().unwrap_or("?");
                    let short = function.rsplit("::").next().unwrap_or(function);
                    format!("{short}:{}", frame["line"])
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_calloc_too_large_to_serve_fails_without_a_fishy_malloc() {
    let Some(rustc) = rustc() else {
        return;
    };
    let dir = scratch("rust-calloc-huge");
    let program = compile_rust(&rustc, "calloc_huge", &dir);
    for mode in [&[][..], &["--guard"][..]] {
        let run = gpa_run(&dir, mode, &[program.to_str().unwrap()]);
        assert_eq!(run.stdout(), "done\n", "{mode:?}: {}", run.stderr());
        assert_eq!(run.output.status.code(), Some(0), "{mode:?}");
        // Valgrind 3.19: "Argument 'size' of function calloc has a fishy (possibly negative)
        // value: -1" at main (calloc_huge.rs:18), nothing for `calloc(usize::MAX / 4, 4)`
        // (:20) or `calloc(1 << 62, 3)` (:22), whose arguments are not fishy. gpa reported
        // both as "Argument 'size' of function malloc has a fishy (possibly negative) value"
        // (-4 and -4611686018427387904), and the first call a second time as malloc's -1.
        let findings = run.findings();
        assert_eq!(findings.len(), 1, "{mode:?}: {}", describe(&findings));
        let fishy = &findings[0];
        assert_eq!(fishy["kind"], "fishy_value", "{mode:?}");
        assert_eq!(
            fishy["message"],
            "Argument 'size' of function calloc has a fishy (possibly negative) value: -1",
            "{mode:?}"
        );
        assert_eq!(
            places(fishy, "detected").first().map(String::as_str),
            Some("main:18"),
            "{mode:?}: {fishy:#}"
        );
    }
}

#[test]
fn a_running_threads_dtv_is_traced_to_the_programs_spawn() {
    let Some(rustc) = rustc() else {
        return;
    };
    let dir = scratch("rust-running-thread");
    let program = compile_rust(&rustc, "running_thread", &dir);
    let run = gpa_run(&dir, &[], &[program.to_str().unwrap()]);
    assert_eq!(run.stdout(), "done\n", "{}", run.stderr());
    // Valgrind 3.19 (--num-callers=12, its default): "288 bytes in 1 blocks are possibly
    // lost", at calloc, allocate_dtv (dl-tls.c:401), _dl_allocate_tls (:670), allocate_stack
    // and pthread_create (one address), std::sys::thread::unix::Thread::new (unix.rs:98),
    // spawn_unchecked (lifecycle.rs:137), Builder::spawn_unchecked (builder.rs:261),
    // Builder::spawn and std::thread::functions::spawn (one address, functions.rs:131), by
    // running_thread::main (running_thread.rs:17). gpa's DTV is 304 bytes: its preload
    // library adds a TLS module. Its 8 frames (`--frames`' default) counted functions, not
    // addresses: the trace stopped at Builder::spawn, without the program's frame.
    let findings = run.findings();
    assert_eq!(findings.len(), 1, "{}", describe(&findings));
    let dtv = &findings[0];
    assert_eq!(dtv["kind"], "leak");
    assert_eq!(dtv["count"], 1);
    assert!(
        dtv["message"]
            .as_str()
            .unwrap_or_default()
            .contains("possibly lost"),
        "{dtv:#}"
    );
    let stack = places(dtv, "alloc");
    assert_eq!(stack.first().map(String::as_str), Some("allocate_dtv:401"));
    assert_eq!(
        stack.last().map(String::as_str),
        Some("main:17"),
        "{stack:?}"
    );
    assert!(stack.iter().any(|frame| frame == "spawn:131"), "{stack:?}");
}
