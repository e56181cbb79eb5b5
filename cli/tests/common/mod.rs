//! Helpers shared by the `gpa run` integration tests: finding the preload library (building
//! it when missing), compiling C programs, running commands with and without gpa.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

pub mod sweep;

/// The `gpa` executable under test.
pub fn gpa_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gpa"))
}

/// `libgpa_preload.so`, next to the `gpa` executable, (re)built with cargo first (a
/// `cargo test -p gpa-cli` does not build the `gpa-capi` crate by itself).
pub fn preload_library() -> PathBuf {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY
        .get_or_init(|| {
            let exe = gpa_exe();
            let dir = exe.parent().expect("gpa has a directory");
            let library = dir.join("libgpa_preload.so");
            // Always ask cargo: a library left from an older build would test old code.
            {
                let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
                let mut build = Command::new(cargo);
                build.args(["build", "-p", "gpa-capi", "--profile"]);
                // A debug build of the tests (CI's) gets the library in the same `test` profile
                // as `gpa` itself: debug assertions and overflow checks on, `opt-level = 1`
                // (the dev profile's `opt-level = 0` made each check-mode run of a C program
                // several times slower, and CI's run spent minutes in it).
                build.arg(if dir.ends_with("release") {
                    "release"
                } else {
                    "test"
                });
                // The target directory is the one holding `gpa`'s profile directory.
                build
                    .arg("--target-dir")
                    .arg(dir.parent().expect("profile dir has a parent"));
                let status = build.status().expect("run cargo build -p gpa-capi");
                assert!(status.success(), "cargo build -p gpa-capi failed");
            }
            assert!(
                library.is_file(),
                "{} missing after build",
                library.display()
            );
            library
        })
        .clone()
}

/// Whether `tool` can be run (found on PATH).
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Whether `tool` is missing; prints why the test is skipped when it is (`package`: the
/// Debian package that has it).
pub fn skip(tool: &str, package: &str) -> bool {
    if have(tool) {
        return false;
    }
    eprintln!("SKIPPED: {tool} is not installed (apt-get install {package})");
    true
}

/// Whether gcc is there; prints why the test is skipped when it is not.
pub fn gcc_or_skip() -> bool {
    if have("gcc") {
        return true;
    }
    eprintln!("skipping: gcc is not installed (Debian package gcc)");
    false
}

/// The interpreter itself, not a version manager's shell shim.
pub fn python() -> Option<String> {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A test's scratch directory: removed when the test passes, kept (for a look at what it
/// built and wrote) when it fails. Copies of `gpa` and the preload library in it weigh about
/// 90 MB, so a passing test must not leave it behind.
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A fresh scratch directory for one test (see [`Scratch`]).
pub fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("gpa-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    Scratch(dir)
}

/// Compiles the Rust program `source` with `rustc` (`rustc`: the compiler's path or name),
/// warnings off and `flags` added, into `binary`; panics with rustc's message if it fails.
pub fn compile_rust_file(
    rustc: impl AsRef<std::ffi::OsStr>,
    source: &Path,
    binary: &Path,
    flags: &[&str],
) -> PathBuf {
    let out = Command::new(rustc)
        .args(["-A", "warnings"])
        .args(flags)
        .arg("-o")
        .arg(binary)
        .arg(source)
        .output()
        .expect("run rustc");
    assert!(
        out.status.success(),
        "rustc {}: {}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    binary.to_path_buf()
}

/// Compiles `tests/c/<name>.c` with `gcc -O0 -g` into `dir`.
pub fn compile_c(name: &str, dir: &Path) -> PathBuf {
    compile_c_with("c", name, name, &[], dir)
}

/// Compiles `tests/<folder>/<name>.c` with `gcc -O0 -g -pthread` and `flags` into
/// `dir/<output>`.
pub fn compile_c_with(
    folder: &str,
    name: &str,
    output: &str,
    flags: &[&str],
    dir: &Path,
) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(folder)
        .join(format!("{name}.c"));
    compile_file(&source, &dir.join(output), flags)
}

/// Compiles the C file `source` with `gcc -O0 -g -pthread` into `dir`, named after it.
pub fn compile_source(source: &Path, dir: &Path) -> PathBuf {
    let name = source.file_stem().expect("a file name").to_owned();
    compile_file(source, &dir.join(name), &[])
}

/// Compiles `source` with `gcc -O0 -g -pthread` and `flags` into `binary`.
fn compile_file(source: &Path, binary: &Path, flags: &[&str]) -> PathBuf {
    let out = Command::new("gcc")
        .args(["-O0", "-g", "-pthread", "-w"])
        .args(flags)
        .arg("-o")
        .arg(binary)
        .arg(source)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "gcc {}: {}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    binary.to_path_buf()
}

/// Compiles `tests/<folder>/<file>` for each of `files` with gcc (`.c`), g++ (`.cpp`) or
/// gfortran (`.f90`: its module files in a folder of the binary's own, `<binary>.mod`, so that
/// builds of one file at once do not share them), `-O0 -g -pthread -w` (and `-lm`), or rustc
/// (`.rs`: `--edition 2021 -C debuginfo=2 -C opt-level=0`, warnings off), into `dir` (each
/// binary named after its file's stem), all at once (the sweeps' programs); returns the
/// binaries in the files' order. Panics with the compiler's message if one fails.
pub fn compile_programs(folder: &str, files: &[&str], dir: &Path) -> Vec<PathBuf> {
    let builds: Vec<(&str, &[&str])> = files.iter().map(|file| (*file, &[][..])).collect();
    compile_programs_with(folder, &builds, dir)
}

/// As [`compile_programs`], each file with flags of its own (`(file, flags)`: the flags come
/// after `-O0 -g -pthread -w`, so `-O2` overrides `-O0`); a binary built with flags is named
/// after its stem and flags (`stem-O2`), so that one file may be built with several.
pub fn compile_programs_with(folder: &str, builds: &[(&str, &[&str])], dir: &Path) -> Vec<PathBuf> {
    let started: Vec<_> = builds
        .iter()
        .map(|(file, flags)| {
            let source = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join(folder)
                .join(file);
            let (stem, extension) = file.rsplit_once('.').expect("a file name with a suffix");
            let name: String = std::iter::once(stem.to_owned())
                .chain(flags.iter().map(|flag| flag.replace(['/', ' ', '='], "_")))
                .collect::<Vec<_>>()
                .join("");
            let binary = dir.join(name);
            let mut command = match extension {
                // Rust: as the Rust sweeps' debug builds; `-Copt-level=2` in `flags` overrides.
                "rs" => {
                    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
                    let mut rustc = Command::new(rustc);
                    rustc.args(["--edition", "2021", "-A", "warnings", "-C", "debuginfo=2"]);
                    rustc.args(["-C", "opt-level=0"]);
                    rustc
                }
                "cpp" => Command::new("g++"),
                "f90" => {
                    let modules = binary.with_extension("mod");
                    std::fs::create_dir_all(&modules).expect("a folder for gfortran's modules");
                    let mut gfortran = Command::new("gfortran");
                    gfortran.arg("-J").arg(modules);
                    gfortran
                }
                _ => Command::new("gcc"),
            };
            if extension != "rs" {
                command.args(["-O0", "-g", "-pthread", "-w"]);
            }
            command.args(*flags).arg("-o").arg(&binary).arg(&source);
            if extension != "rs" {
                command.arg("-lm");
            }
            let child = command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("run the compiler");
            (child, binary, source)
        })
        .collect();
    started
        .into_iter()
        .map(|(child, binary, source)| {
            let out = child.wait_with_output().expect("wait for the compiler");
            assert!(
                out.status.success(),
                "{}: {}",
                source.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            binary
        })
        .collect()
}

/// The result of one `gpa run`.
pub struct Run {
    /// The program's output and `gpa`'s exit status.
    pub output: Output,
    /// The JSON report.
    pub json: Value,
}

impl Run {
    /// The findings array.
    pub fn findings(&self) -> Vec<Value> {
        self.json["findings"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Stdout as text.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    /// Stderr as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
}

/// `gpa run --preload LIBRARY <options> --json <json> -- <command>`, to be started in `dir`.
pub fn gpa_command(dir: &Path, options: &[&str], command: &[&str], json: &Path) -> Command {
    let mut gpa = Command::new(gpa_exe());
    gpa.current_dir(dir)
        .arg("run")
        .arg("--preload")
        .arg(preload_library())
        .args(options)
        .arg("--json")
        .arg(json)
        .arg("--")
        .args(command);
    gpa
}

/// Runs `gpa run <options> --json FILE -- <command>` in `dir`.
pub fn gpa_run(dir: &Path, options: &[&str], command: &[&str]) -> Run {
    gpa_run_with(dir, options, command, |_| {})
}

/// As [`gpa_run`], with a hook to adjust the command (environment, stdin).
pub fn gpa_run_with(
    dir: &Path,
    options: &[&str],
    command: &[&str],
    adjust: impl FnOnce(&mut Command),
) -> Run {
    let json_path = dir.join(format!("report-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&json_path);
    let mut gpa = gpa_command(dir, options, command, &json_path);
    adjust(&mut gpa);
    let output = gpa.output().expect("run gpa");
    let text = std::fs::read_to_string(&json_path).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let json = serde_json::from_str(&text).expect("report is JSON");
    Run { output, json }
}

/// Runs `command` in `dir` without gpa.
pub fn plain_run(dir: &Path, command: &[&str], adjust: impl FnOnce(&mut Command)) -> Output {
    let mut plain = Command::new(command[0]);
    plain.current_dir(dir).args(&command[1..]);
    adjust(&mut plain);
    plain.output().expect("run program")
}

/// `gpa run --fast -- command` in `dir` (fast mode: no report), its output.
pub fn fast_run(dir: &Path, command: &[&str]) -> Output {
    let gpa = gpa_exe();
    let preload = preload_library();
    let mut full = vec![
        gpa.to_str().unwrap(),
        "run",
        "--preload",
        preload.to_str().unwrap(),
        "--fast",
        "--",
    ];
    full.extend_from_slice(command);
    plain_run(dir, &full, |_| {})
}

/// How many times a repeated-run test runs its program: `release` times in a release build,
/// `debug` in a debug one (CI's `cargo test` builds the test profile, whose runs are slower
/// and whose time the CI budget counts), or the number in the environment variable `var`
/// when it is set (to hunt a rare failure: `GPA_EXIT_THREADS_RUNS=200 cargo test ...`).
pub fn repeat_count(var: &str, release: usize, debug: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|runs| runs.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) {
            debug
        } else {
            release
        })
}

/// Busy loops (`sh -c 'while :; do :; done'`) pinned to one CPU with `taskset`, killed when
/// dropped: load for the tests of what threads do at exit on a busy machine.
pub struct BusyLoops(Vec<std::process::Child>);

impl BusyLoops {
    pub fn start(count: usize, cpu: u32) -> BusyLoops {
        let loops = (0..count)
            .map(|_| {
                Command::new("taskset")
                    .args(["-c", &cpu.to_string(), "sh", "-c", "while :; do :; done"])
                    .spawn()
                    .expect("start a busy loop")
            })
            .collect();
        BusyLoops(loops)
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The first CPU this process may run on (`Cpus_allowed_list` of `/proc/self/status`): the
/// one test programs' "pinned" and "niced" arguments pin them to.
pub fn first_allowed_cpu() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let list = status
        .lines()
        .find_map(|line| line.strip_prefix("Cpus_allowed_list:"))?;
    let first = list.trim().split([',', '-']).next()?;
    first.parse().ok()
}

/// The function names of one stack of a finding.
pub fn stack_functions(finding: &Value, stack: &str) -> Vec<String> {
    finding["stacks"][stack]
        .as_array()
        .map(|frames| {
            frames
                .iter()
                .filter_map(|frame| frame["function"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// A short description of findings, for assertion messages.
pub fn describe(findings: &[Value]) -> String {
    findings
        .iter()
        .map(|f| format!("{} {} ({})", f["kind"], f["message"], f["program"]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A leak summary: (blocks, bytes) of definitely, indirectly, possibly lost and still
/// reachable, in that order.
pub type LeakTotals = [(u64, u64); 4];

/// The kinds of [`LeakTotals`] as gpa's JSON names them.
pub const LEAK_KINDS: [&str; 4] = ["definite", "indirect", "possible", "reachable"];

/// The leak summary of one process's JSON report (a kind it leaves out counts as none).
pub fn gpa_leak_totals(report: &Value) -> LeakTotals {
    LEAK_KINDS.map(|kind| {
        let amount = &report["leak_summary"][kind];
        (
            amount["blocks"].as_u64().unwrap_or(0),
            amount["bytes"].as_u64().unwrap_or(0),
        )
    })
}

/// Valgrind's LEAK SUMMARY for `command` run in `dir` with `--leak-check=full` and `options`,
/// or `None` (with a note) where Valgrind is not installed: the tests that hold gpa to a
/// verdict written in check it is still Valgrind's wherever they can.
#[allow(dead_code)]
pub fn valgrind_summary(dir: &Path, command: &[&str], options: &[&str]) -> Option<LeakTotals> {
    valgrind_stderr(dir, command, options).map(|text| valgrind_leak_totals(&text))
}

/// What Valgrind printed (its standard error) for `command` run in `dir` with
/// `--leak-check=full` and `options`, or `None` (with a note) where it is not installed.
#[allow(dead_code)]
pub fn valgrind_stderr(dir: &Path, command: &[&str], options: &[&str]) -> Option<String> {
    if !have("valgrind") {
        eprintln!("note: valgrind is not installed; expectations not re-checked against it");
        return None;
    }
    let output = Command::new("valgrind")
        .arg("--leak-check=full")
        .args(options)
        .args(command)
        .current_dir(dir)
        .output()
        .expect("run valgrind");
    Some(String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Valgrind's LEAK SUMMARY in its output `text` (a kind it does not print, or no summary at
/// all, as after "All heap blocks were freed", counts as none).
pub fn valgrind_leak_totals(text: &str) -> LeakTotals {
    valgrind_amounts(
        text,
        [
            "definitely lost:",
            "indirectly lost:",
            "possibly lost:",
            "still reachable:",
        ],
    )
}

/// The (blocks, bytes) Valgrind's output `text` gives after each of `labels` ("definitely
/// lost:", "suppressed:"...): none for a label it does not print.
pub fn valgrind_amounts<const N: usize>(text: &str, labels: [&str; N]) -> [(u64, u64); N] {
    labels.map(|label| {
        let Some(line) = text.lines().find(|line| line.contains(label)) else {
            return (0, 0);
        };
        // "==pid==    definitely lost: 8,325 bytes in 30 blocks"
        let numbers: Vec<u64> = line
            .split_once(label)
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .filter_map(|word| word.replace(',', "").parse().ok())
            .collect();
        match numbers[..] {
            [bytes, blocks, ..] => (blocks, bytes),
            _ => (0, 0),
        }
    })
}

/// Whether a process of another user (`nobody`) can read and run each of `paths` (the
/// preload library, programs): every directory above them searchable by others, the files
/// readable and executable by them.
pub fn others_can_reach(paths: &[&Path]) -> bool {
    use std::os::unix::fs::PermissionsExt;
    paths.iter().all(|path| {
        let mode = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.permissions().mode());
        mode(path) & 0o005 == 0o005
            && path
                .ancestors()
                .skip(1)
                .all(|dir| dir.as_os_str().is_empty() || mode(dir) & 0o001 != 0)
    })
}
