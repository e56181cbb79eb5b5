//! Finding and inspecting the program before it starts, with the shell's and Valgrind's
//! conventions: 127 when it is not found, 126 when it cannot be executed (a directory, no
//! permission, a bad `#!` interpreter, or a set-id program the loader would run without the
//! preload library, which Valgrind also refuses); a file with neither an ELF header nor a
//! `#!` line runs with `/bin/sh`, as `execvp` and shells do.
//!
//! The program gets `gpa run`'s standard descriptors as `gpa run` got them: one that was
//! closed (`prog >&- 2>&-`, a daemon's launcher) is closed in the program too. Rust's runtime
//! opens `/dev/null` on a closed 0, 1 or 2 before `main`; passed on, that gave the program's
//! first `open` descriptor 3 instead of 1, and its writes to a closed `stdout` succeeded.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU8, Ordering};

use gpa::__capi::process::inspect::{self, Kind, LaunchError, Reason};

/// The program, ready to start.
pub(crate) struct Launch {
    /// The file that will run (after the `PATH` search).
    pub path: PathBuf,
    /// The command to start (`/bin/sh PATH ARGS` for a script without `#!`).
    pub command: Command,
    /// Why the program will not be checked, if it will not.
    pub unchecked: Option<Reason>,
}

/// Why the program cannot start; [`LaunchFailure::status`] is the exit status.
pub(crate) struct LaunchFailure {
    /// 126 or 127.
    pub status: u8,
    /// What to print after `gpa: `.
    pub message: String,
}

fn failure(status: u8, message: String) -> LaunchFailure {
    LaunchFailure { status, message }
}

/// The standard descriptors (bit `n`: descriptor `n`, 0 to 2) that were closed when this
/// process started, before Rust's runtime put `/dev/null` on them.
static CLOSED_AT_START: AtomicU8 = AtomicU8::new(0);

/// Runs before Rust's runtime (an ELF constructor; the runtime's `/dev/null` comes with
/// `main`'s start-up): records which standard descriptors are closed.
extern "C" fn record_closed_standard_descriptors() {
    let mut closed = 0;
    for fd in 0..3 {
        // SAFETY: `F_GETFD` only reads the descriptor's flags; it fails with `EBADF` when
        // the descriptor is not open.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            closed |= 1 << fd;
        }
    }
    CLOSED_AT_START.store(closed, Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array"]
static RECORD_CLOSED_STANDARD_DESCRIPTORS: extern "C" fn() = record_closed_standard_descriptors;

/// Closes in the program's process the standard descriptors that were closed when `gpa run`
/// started (see the module documentation).
fn keep_closed_standard_descriptors(command: &mut Command) {
    let closed = CLOSED_AT_START.load(Ordering::Relaxed);
    if closed == 0 {
        return;
    }
    // SAFETY: the hook runs in the child between `fork` and `exec` and only calls `close`,
    // which is async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            for fd in 0..3 {
                if closed & (1 << fd) != 0 {
                    libc::close(fd);
                }
            }
            Ok(())
        });
    }
}

/// Ends the program with `gpa run`: the program gets `SIGKILL` when the `gpa run` process that
/// started it dies first (`PR_SET_PDEATHSIG`). Under Valgrind the program and the tool are one
/// process, so whatever kills `valgrind` (`timeout -s KILL`, a harness's timeout, the OOM
/// killer) kills the program; a `gpa run` killed so left the program running on, orphaned,
/// unwatched (its report written to a folder nobody reads) and, for a program that loops, for
/// ever: a sweep's harness killing `gpa run` at its time limit left `while (1) free(p);`
/// spinning. `gpa run` passes on the signals it can catch (`run::forward_signals`) and waits
/// for the program: only a death it cannot catch reaches this. The signal goes to this one
/// process: the program's own children keep theirs (`fork` clears the setting), as does a
/// set-id program it executes (`execve` clears it).
///
/// `PR_SET_PDEATHSIG` follows the thread that forked: `gpa run` starts the program from its
/// main thread, which lives until `gpa run` exits.
fn end_with_gpa_run(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the hook runs in the child between `fork` and `exec` and only calls `prctl`,
    // `getppid`, `getpid` and `kill`, which are async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            // `gpa run` died between the `fork` and the `prctl`: the program would outlive it.
            if libc::getppid() != parent {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
            Ok(())
        });
    }
}

/// Finds and inspects `program`; the command to start it with `args`.
pub(crate) fn prepare(program: &str, args: &[String]) -> Result<Launch, LaunchFailure> {
    let path = resolve(program)?;
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| failure(127, format!("{program}: not a valid file name")))?;
    let inspected = inspect::inspect(&c_path).map_err(|error| {
        let shown = path.display();
        let message = match error {
            LaunchError::NotFound => format!("{shown}: No such file or directory"),
            LaunchError::Directory => format!("{shown}: is a directory"),
            LaunchError::NotExecutable(errno) => {
                format!("{shown}: {}", std::io::Error::from_raw_os_error(errno))
            }
            LaunchError::BadInterpreter => {
                format!("{shown}: bad interpreter (the #! line names no program that can run)")
            }
            LaunchError::ExecFormat => {
                format!("{shown}: cannot execute binary file: Exec format error")
            }
        };
        failure(error.status(), message)
    })?;
    if let Some(reason @ (Reason::Setuid | Reason::Setgid | Reason::FileCapabilities)) =
        inspected.unchecked
    {
        return Err(failure(
            126,
            format!(
                "{}: cannot be checked: {} (Valgrind refuses it the same way)",
                path.display(),
                reason.describe()
            ),
        ));
    }
    let command = match inspected.kind {
        Kind::NoInterpreterLine => {
            let mut command = Command::new("/bin/sh");
            command.arg(&path).args(args);
            command
        }
        Kind::Elf | Kind::Script => {
            let mut command = Command::new(&path);
            command.arg0(program).args(args);
            command
        }
    };
    let mut command = command;
    keep_closed_standard_descriptors(&mut command);
    end_with_gpa_run(&mut command);
    Ok(Launch {
        path,
        command,
        unchecked: inspected.unchecked,
    })
}

/// Where the program is: as given when it has a slash, else the first executable regular
/// file of that name in `PATH` (bash's rules: 126 when only non-executable ones exist).
fn resolve(program: &str) -> Result<PathBuf, LaunchFailure> {
    if program.is_empty() {
        return Err(failure(127, "'': command not found".into()));
    }
    if program.contains('/') {
        return Ok(PathBuf::from(program));
    }
    let search = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
    let mut denied = None;
    for dir in search.as_bytes().split(|&byte| byte == b':') {
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let candidate = dir.join(program);
        let Ok(metadata) = std::fs::metadata(&candidate) else {
            continue;
        };
        if metadata.is_dir() {
            continue;
        }
        let c_candidate = CString::new(candidate.as_os_str().as_bytes()).unwrap_or_default();
        if gpa::__capi::process::sys::executable(&c_candidate).is_ok() {
            return Ok(candidate);
        }
        denied.get_or_insert(candidate);
    }
    match denied {
        Some(candidate) => Err(failure(
            126,
            format!("{}: Permission denied", candidate.display()),
        )),
        None => Err(failure(127, format!("{program}: command not found"))),
    }
}

/// Checks that `path` can be written (creating it if needed), before the program runs.
pub(crate) fn check_writable(option: &str, path: &Path) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .map(drop)
        .map_err(|e| format!("cannot write {option} {}: {e}", path.display()))
}
