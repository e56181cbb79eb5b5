//! Smoke test of the C benchmark suite: `gpa-cbench --quick` builds a few of the programs of
//! `bench/c/` with the system C compiler and runs them (tiny inputs, one round) under glibc and
//! gpa's fast and check modes; every program must print the same result line under each, and
//! the report must hold both tables. Skips when there is no C compiler.

use std::path::PathBuf;
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// `libgpa_preload.so` of this build profile, built by cargo first.
fn preload_library() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_gpa-cbench"));
    let dir = exe.parent().expect("a directory").to_path_buf();
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    // A debug run of the tests builds it in the `test` profile, as `gpa-cli`'s tests do
    // (cli/tests/common): one build of the library serves both.
    build.args(["build", "-q", "-p", "gpa-capi", "--profile"]);
    build.arg(if dir.ends_with("release") {
        "release"
    } else {
        "test"
    });
    build
        .arg("--target-dir")
        .arg(dir.parent().expect("profile dir has a parent"));
    assert!(build.status().expect("run cargo").success());
    let library = dir.join("libgpa_preload.so");
    assert!(library.is_file(), "{} missing", library.display());
    library
}

#[test]
fn quick_run_builds_runs_and_reports() {
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    if !have(&compiler) {
        eprintln!("SKIPPED: no C compiler ({compiler})");
        return;
    }
    let build_dir = std::env::temp_dir().join(format!("gpa-cbench-smoke-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_gpa-cbench"))
        .args([
            "--quick",
            "--filter",
            "cfrac,espresso,larson,malloc-large,alloc-workload",
            "--alloc",
            "glibc,gpa-fast,gpa-check",
        ])
        .arg("--preload")
        .arg(preload_library())
        .arg("--build-dir")
        .arg(&build_dir)
        .output()
        .expect("run gpa-cbench");
    let _ = std::fs::remove_dir_all(&build_dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stdout.contains("FAILED"),
        "a program failed or printed another result:\n{stdout}"
    );
    for heading in [
        "### Fast mode: wall seconds",
        "### Fast mode: peak RSS",
        "### Check mode: wall seconds",
        "### Check mode: peak RSS",
    ] {
        assert!(stdout.contains(heading), "no {heading:?} in:\n{stdout}");
    }
    for row in [
        "| cfrac |",
        "| espresso |",
        "| larsonN |",
        "| malloc-large |",
        "| alloc-workload |",
    ] {
        assert!(stdout.contains(row), "no {row:?} row in:\n{stdout}");
    }
}
