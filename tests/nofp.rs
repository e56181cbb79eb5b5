//! Builds and runs the test crate `tests/nofp/` as a new user's crate is built: no rustflags
//! (this repository's `.cargo/config.toml` turns frame pointers on; the nested build clears
//! that), so no frame pointers, in three profiles: debug, debug with `opt-level = 1` (where
//! issue 12's crash appeared: the frame-pointer register held a block length), and release;
//! and once more in release with frame pointers. Each build has a target directory under
//! `target/tmp`; the two debug builds share one (their dependencies are built alike, once). Its tests check that trace capture never faults over many shapes of code,
//! that traces start at the user's function (in leak reports of `deinit`, of `gpa::testing`
//! checks and of the global allocator at exit), and that threads count for leak checks with
//! gpa's default features.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// One nested build at a time: they share the machine's cores.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs the test crate's tests in the nested build `name`, with the target directory
/// `nofp-{target_name}` (two builds whose dependencies are built alike share one, and build
/// those once).
fn run_nested(
    name: &str,
    target_name: &str,
    profile_args: &[&str],
    rustflags: &str,
    env: &[(&str, &str)],
) {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nofp");
    let target: PathBuf =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("nofp-{target_name}"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .arg("test")
        .args(profile_args)
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .current_dir(&crate_dir)
        .env("CARGO_TARGET_DIR", &target)
        // CARGO_ENCODED_RUSTFLAGS, even empty, takes precedence over every other source of
        // flags (this repository's `.cargo/config.toml` among them).
        .env("CARGO_ENCODED_RUSTFLAGS", rustflags)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET_DIR");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("run cargo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "nested build `{name}` failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // The crate's tests ran (not just built).
    assert!(stdout.contains("test result: ok"), "{stdout}\n{stderr}");
    println!("{stdout}");
}

#[test]
fn without_frame_pointers_debug() {
    run_nested("debug", "debug", &[], "", &[]);
}

#[test]
fn without_frame_pointers_debug_opt_level_1() {
    // This crate and gpa at `opt-level = 1`; the dependencies as in the plain debug build,
    // whose target directory this build shares (the test crate's `[profile.dev.package."*"]`
    // keeps them at 0).
    run_nested(
        "debug-o1",
        "debug",
        &["--config", "profile.dev.package.gpa.opt-level=1"],
        "",
        &[
            ("CARGO_PROFILE_DEV_OPT_LEVEL", "1"),
            ("CARGO_PROFILE_TEST_OPT_LEVEL", "1"),
        ],
    );
}

#[test]
fn without_frame_pointers_release() {
    run_nested("release", "release", &["--release"], "", &[]);
}

/// The same crate with frame pointers, in release (this repository's own tests cover debug
/// builds with frame pointers).
#[test]
fn with_frame_pointers_release() {
    run_nested(
        "release-fp",
        "release-fp",
        &["--release"],
        "-Cforce-frame-pointers=yes",
        &[("GPA_NOFP_WITH_FRAME_POINTERS", "1")],
    );
}
