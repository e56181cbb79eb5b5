//! `gpa run`: starts the program with the preload library and the settings in its
//! environment, waits for it, and turns the per-process reports into one report and one exit
//! status.

use std::path::{Path, PathBuf};

use gpa::__capi::process::inspect::Reason;

use crate::child_env::ChildEnv;
use crate::collect::{self, Image};
use crate::launch;
use crate::RunArgs;

/// The preload library's file name.
const LIBRARY: &str = "libgpa_preload.so";

/// Where the preload library is: `--preload`, `$GPA_PRELOAD`, or next to this executable
/// (also one directory up, for test binaries in `target/*/deps`).
fn find_library(explicit: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    if let Some(path) = std::env::var_os("GPA_PRELOAD") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let mut dir = exe.parent();
    for _ in 0..2 {
        let Some(here) = dir else { break };
        let candidate = here.join(LIBRARY);
        if candidate.is_file() {
            return Ok(candidate);
        }
        dir = here.parent();
    }
    Err(format!(
        "{LIBRARY} not found next to {}; build it with `cargo build --release -p gpa-capi -p gpa-cli` \
         or pass --preload PATH",
        exe.display()
    ))
}

/// The directory every process of the run writes its events and report into
/// (`GPA_REPORT_DIR`), new, in the temporary directory.
///
/// Run by root, the program may give up root (`su`, `sudo`, `login`, a daemon's workers,
/// `setuid(nobody)` in a test harness): a process of another user must still be able to
/// write there, or it and everything it starts go unchecked (before, `su -c CMD USER`'s
/// child was "not checked" and the shell and `CMD` not even listed). So a root run's
/// directory is `1733` (`rwx-wx-wx` with the sticky bit, as `/tmp` but not listable):
/// anyone may create a file in it, nobody but its owner (and root) may remove or replace
/// it; each process creates its files with `O_EXCL` under its own process id
/// (`gpa::__capi::process::events`). Another user of the machine could add files of their
/// own while the run lasts (listed as processes of the run), not change or remove the run's.
/// Without root a program cannot become another user (a set-user-ID program does not load
/// the preload library and is listed as not checked), so other runs keep the default mode.
fn fresh_report_dir() -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!("gpa-run-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    // SAFETY: `geteuid` has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1733))
            .map_err(|e| format!("cannot open {} to other users: {e}", dir.display()))?;
    }
    Ok(dir)
}

/// Why `gpa run` stops without a verdict: the status to exit with and what to say.
pub(crate) struct Failure {
    /// 125 for gpa's own failures, 126/127 when the program cannot start.
    pub status: u8,
    /// The message, printed after `gpa: `.
    pub message: String,
}

/// gpa's own failures (no library, no report directory, an unwritable `--log`): 125.
pub(crate) const OWN_FAILURE: u8 = 125;

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure {
            status: OWN_FAILURE,
            message,
        }
    }
}

impl From<&str> for Failure {
    fn from(message: &str) -> Failure {
        Failure::from(message.to_string())
    }
}

/// What `gpa run` sets in check and guard modes (unless set already), so that the pool
/// allocators of common libraries give each block of the program its own `malloc` or
/// `operator new` block, which gpa then checks, as under Valgrind:
/// * `G_SLICE=always-malloc`: GLib's slice allocator (`g_slice_alloc`, GLib before 2.76;
///   Debian 12 has 2.74) carves small blocks out of chunks of its own, where an overflow of
///   one slice into the next or a slice used after `g_slice_free` is invisible, and a lost
///   slice counts as its chunk, "possibly lost" through an interior pointer. GLib turns that
///   off by itself under Valgrind (`RUNNING_ON_VALGRIND`).
/// * `GLIBCXX_FORCE_NEW=1`: libstdc++'s pool allocators (`__gnu_cxx::__pool_alloc`,
///   `__mt_alloc`) the same, with `operator new`; Debian's `valgrind` wrapper sets it.
const POOLS_OFF: [(&str, &str); 2] = [("G_SLICE", "always-malloc"), ("GLIBCXX_FORCE_NEW", "1")];

pub(crate) fn run(args: &RunArgs) -> Result<u8, Failure> {
    let library = find_library(args.preload.as_deref())?;
    let library = library
        .canonicalize()
        .map_err(|e| format!("{}: {e}", library.display()))?;
    let (program, program_args) = args.command.split_first().ok_or("no program given")?;
    let launch = launch::prepare(program, program_args).map_err(|failure| Failure {
        status: failure.status,
        message: failure.message,
    })?;
    for (option, path) in [
        ("--log", &args.log),
        ("--json", &args.json),
        ("--profile", &args.profile),
        ("--html", &args.html),
    ] {
        if let Some(path) = path {
            launch::check_writable(option, path)?;
        }
    }
    let report_dir = fresh_report_dir()?;
    let mut command = launch.command;
    let preload = match std::env::var("LD_PRELOAD") {
        Ok(existing) if !existing.is_empty() => format!("{} {existing}", library.display()),
        _ => library.display().to_string(),
    };
    let mut env = ChildEnv::default();
    env.set("LD_PRELOAD", preload)
        .set("GPA_MODE", mode(args))
        .set("GPA_FRAMES", args.frames.to_string())
        .set("GPA_REPORT_DIR", &report_dir)
        .remove("GPA_LOG")
        .remove("GPA_JSON");
    if let Err(message) = crate::leaks::apply(&args.leaks, &mut env) {
        let _ = std::fs::remove_dir_all(&report_dir);
        return Err(message.into());
    }
    if let Some(limit) = &args.memory_limit {
        env.set("GPA_MEMORY_LIMIT", limit);
    }
    if let Some(every) = args.guard_sample {
        env.set("GPA_GUARD_SAMPLE", every.to_string());
    }
    if args.guard_underflow {
        env.set("GPA_GUARD_UNDERFLOW", "1");
    }
    if args.guard_flush {
        env.set("GPA_GUARD_FLUSH", "1");
    }
    if let Some(bytes) = &args.quarantine {
        env.set("GPA_QUARANTINE", bytes);
    }
    // Pool allocators of the C libraries that can be told to hand out plain `malloc` or
    // `operator new` blocks instead, as they are under Valgrind; programs that have none
    // ignore the variables, and a value the user set is kept.
    for (variable, value) in POOLS_OFF {
        if !args.fast && std::env::var_os(variable).is_none() {
            env.set(variable, value);
        }
    }
    crate::profile::prepare(args, &mut env);
    // The program inherits gpa's environment in its own order (see `child_env`).
    env.apply();
    // Processes the program leaves behind (a child still running when it exits) are
    // re-parented to gpa run, which waits for them a while: their reports would otherwise
    // come after the run's, or never (see `wait_for_descendants`).
    // Fast mode reports nothing (unless sampled guards are on): nothing to wait for there.
    let reports = !args.fast || args.guard_sample.is_some();
    if reports {
        // SAFETY: `prctl` with integer arguments; it only sets a flag of this process.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    }
    forward_signals();
    let started = command.spawn().and_then(|mut child| {
        let pid = child.id();
        CHILD.store(pid as i32, std::sync::atomic::Ordering::Release);
        // A `SIGTERM` or `SIGHUP` that came before the program's pid was known (the program
        // may run, even print, before `spawn` returns here) is passed on now.
        let early = UNFORWARDED.swap(0, std::sync::atomic::Ordering::AcqRel);
        if early != 0 {
            // SAFETY: `kill` of the program this function just started.
            unsafe { libc::kill(pid as i32, early) };
        }
        let status = child.wait()?;
        let mut killed = Vec::new();
        if reports {
            killed = wait_for_descendants(DESCENDANT_WAIT);
        }
        if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
            killed.push((u64::from(pid), signal));
        }
        Ok((pid, status, killed))
    });
    let (main_pid, status, killed) = match started {
        Ok(started) => started,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&report_dir);
            let status = match error.kind() {
                std::io::ErrorKind::NotFound => 127,
                _ => 126,
            };
            return Err(Failure {
                status,
                message: format!("{}: {error}", launch.path.display()),
            });
        }
    };
    let main = Image {
        pid: main_pid.into(),
        program: program.clone(),
        exe: Some(launch.path.display().to_string()),
        unchecked: Some(launch.unchecked.unwrap_or(Reason::NotLoaded)),
        began: "run",
        main: true,
        ..Image::default()
    };
    let images = if args.fast {
        // Fast mode writes no report, except where a fault on a block that sampled guard mode
        // guarded ended a process: keep those.
        // They are listed as fast-mode processes, not as checked ones.
        match args.guard_sample {
            Some(_) => {
                let exe = std::fs::canonicalize(&launch.path)
                    .ok()
                    .map(|path| path.display().to_string())
                    .or_else(|| main.exe.clone());
                collect::collect(&report_dir, main_pid.into(), main)
                    .into_iter()
                    .filter(|image| image.report.is_some())
                    .map(|mut image| {
                        image.fast = true;
                        if image.main && image.exe.is_none() {
                            // Fast mode records no start event (where the executable is named).
                            image.exe.clone_from(&exe);
                        }
                        image
                    })
                    .collect()
            }
            None => Vec::new(),
        }
    } else {
        let mut images = collect::collect(&report_dir, main_pid.into(), main);
        for image in &mut images {
            if image.unchecked == Some(Reason::NoReport)
                && is_running(image.pid, image.exe.as_deref())
            {
                image.unchecked = Some(Reason::StillRunning);
            }
        }
        // A process that left no report and that `gpa run` reaped: the signal that killed it
        // is the reason (its last image: the one that was running when it died).
        for (pid, signal) in killed {
            if let Some(image) = images.iter_mut().rev().find(|image| image.pid == pid) {
                if image.unchecked == Some(Reason::NoReport) && image.report.is_none() {
                    image.killed_by = Some(signal);
                }
            }
        }
        images
    };
    let profiles = crate::profile::collect(args, &report_dir, main_pid);
    let _ = std::fs::remove_dir_all(&report_dir);
    let own_code = exit_code(status);
    let mut json = collect::merged_json(&images);
    json["mode"] = if args.fast { "fast" } else { "check" }.into();
    if args.fast {
        // Fast mode checks nothing and keeps no account of processes.
        if let Some(object) = json.as_object_mut() {
            object.remove("main_checked");
            object.remove("all_checked");
        }
    }
    json["exit_status"] = own_code.into();
    crate::profile::finish(args, &mut json, profiles)?;
    let findings = json["findings"].as_array().map_or(0, Vec::len);
    let errors = json["errors"].as_u64().unwrap_or(0);
    let main_unchecked = images
        .iter()
        .find(|image| image.main && image.unchecked.is_some());
    if let Some(path) = &args.json {
        let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
        std::fs::write(path, pretty + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let mut text = collect::merged_text(&images);
    let unchecked = images.iter().any(|image| image.unchecked.is_some());
    if findings != 0 || unchecked {
        text.push_str(&collect::process_lines(&images));
    }
    let checked = collect::checked_count(&images);
    // Threads the exit scans could not stop, whose heaps were not examined: a run with
    // them is never silent, nor a clean verdict without saying so (lifecycle.md item 27).
    let not_examined: u64 = images
        .iter()
        .filter(|image| image.unchecked.is_none())
        .map(|image| image.threads_not_examined)
        .sum();
    let quiet = args.quiet && !unchecked && errors == 0 && not_examined == 0;
    if findings == 0 && checked != 0 && !args.fast && !quiet {
        // A run with no finding listed says what was checked and what was still in use at
        // exit (errors only from loss kinds `--show-leak-kinds` leaves out); a process a
        // signal ended where its leaks could not be checked (inside gpa's allocator, say)
        // leaves nothing to say about its heap.
        let crashed = images
            .iter()
            .filter(|image| image.unchecked.is_none() && image.leaks_not_checked.is_some())
            .count();
        // Processes whose program allocates with a `malloc` of its own (defined in the
        // executable, where LD_PRELOAD cannot replace it): their heap was not all checked.
        let own_malloc = json["processes"].as_array().map_or(0, |processes| {
            processes
                .iter()
                .filter(|process| process["allocator_elsewhere"].is_string())
                .count()
        });
        let heap = if own_malloc != 0 {
            format!(
                "the blocks of the program's own malloc were not checked in {own_malloc} of \
                 them (warning above)"
            )
        } else if crashed == 0 {
            crate::leaks::in_use_at_exit(&json["leak_summary"], errors)
        } else {
            format!(
                "leaks not checked in {crashed} of them (ended by a signal inside gpa, or the \
                 memory map could not be read: the process list says which)"
            )
        };
        let unexamined = if not_examined == 0 {
            String::new()
        } else {
            format!(
                "; the heaps of {not_examined} running thread(s) that could not be stopped \
                 were not examined"
            )
        };
        text.push_str(&format!(
            "gpa: {errors} error(s) in {checked} process(es) checked; {heap}{unexamined}\n"
        ));
        if let Some(unseen) = reads_not_seen(args) {
            text.push_str(unseen);
        }
        let signalled = images
            .iter()
            .any(|image| image.unchecked.is_none() && image.signal.is_some());
        if signalled && args.guard_flush {
            // The fault of an aligned SSE load of a misaligned block has no address to
            // attribute: say what may have caused it (`capi::guard`, "Alignment slack").
            text.push_str(
                "gpa: with --guard-flush blocks are not 16-byte aligned: a crash with no \
                 finding may be an aligned SSE access (movaps, movdqa) to one; --guard keeps \
                 the alignment\n",
            );
        }
    }
    if findings != 0 {
        if checked > 1 {
            text.push_str(&format!(
                "gpa: leak summary of the {checked} processes:\n{}",
                crate::leaks::summary_text(&json["leak_summary"])
            ));
        }
        if args.fast {
            text.push_str(&format!(
                "gpa: {errors} error(s) on sampled blocks in {} process(es) in fast mode\n",
                images.len()
            ));
        } else {
            text.push_str(&format!(
                "gpa: {errors} error(s) in {checked} process(es) checked\n"
            ));
        }
    }
    match &args.log {
        Some(path) => {
            std::fs::write(path, &text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => eprint!("{text}"),
    }
    if args.fast {
        if let Some(reason) = launch.unchecked {
            eprintln!(
                "gpa: note: {} runs on its own malloc, not gpa's: {}",
                launch.path.display(),
                reason.describe()
            );
        }
    }
    // A program a signal killed crashed: its status says so (as under Valgrind), never the
    // "skipped" status, even when it could not be checked.
    let killed_by = signal_of(status);
    let code = match args.error_exitcode {
        Some(code) if errors != 0 => code,
        _ => match main_unchecked {
            Some(_) if killed_by.is_none() => args.unchecked_exitcode,
            _ => own_code,
        },
    };
    if let Some(image) = main_unchecked {
        let reason = image.unchecked.unwrap_or(Reason::NotLoaded);
        let killed = killed_by.map_or(String::new(), |signal| {
            format!(", killed by {}", signal_name(signal))
        });
        eprintln!(
            "gpa: the program was not checked: {} (pid {}): {}; gpa exits with {code} (the \
             program's own status was {own_code}{killed})",
            image.exe.as_deref().unwrap_or(&image.program),
            image.pid,
            reason.describe(),
        );
    }
    Ok(code)
}

/// The program `gpa run` started (0 before it started).
static CHILD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);
/// A signal to pass on that came while [`CHILD`] was still 0 (0: none).
static UNFORWARDED: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Signals to `gpa run` while the program runs must not end it before the program's report
/// is collected: `SIGINT` and `SIGQUIT` (Ctrl-C, Ctrl-\ at a terminal, which sends them to
/// the whole process group: the program has its own) are noted and otherwise ignored, as
/// `system` does; `SIGTERM` and `SIGHUP` (sent to `gpa run` alone, by `timeout` or a closed
/// terminal) are passed on to the program. Either way the program ends as the signal makes
/// it, writes its report, and `gpa run` exits with its status (128 + N). A handler, not
/// `SIG_IGN`: handlers are reset by `exec`, so the program starts with the default actions
/// (an ignored signal would stay ignored in it).
fn forward_signals() {
    extern "C" fn on_signal(signal: libc::c_int) {
        if signal != libc::SIGTERM && signal != libc::SIGHUP {
            return;
        }
        let child = CHILD.load(std::sync::atomic::Ordering::Acquire);
        if child > 0 {
            // SAFETY: `kill` is async-signal-safe.
            unsafe { libc::kill(child, signal) };
        } else {
            // Passed on once the program's pid is known (a `SIGTERM` while `spawn` ran,
            // seen under load in `fatal_signals`' Ctrl-C test: the program never got it and
            // `gpa run` waited for it forever).
            UNFORWARDED.store(signal, std::sync::atomic::Ordering::Release);
            // The pid may have been stored meanwhile, after `gpa run` looked for this one:
            // whichever side takes it from `UNFORWARDED` passes it on.
            let child = CHILD.load(std::sync::atomic::Ordering::Acquire);
            if child > 0 {
                let early = UNFORWARDED.swap(0, std::sync::atomic::Ordering::AcqRel);
                if early != 0 {
                    // SAFETY: `kill` is async-signal-safe.
                    unsafe { libc::kill(child, early) };
                }
            }
        }
    }
    for signal in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed, then filled `sigaction` whose handler is async-signal-safe and
        // lives as long as the process.
        unsafe {
            let mut action: libc::sigaction = core::mem::zeroed();
            let mut old: libc::sigaction = core::mem::zeroed();
            libc::sigaction(signal, core::ptr::null(), &mut old);
            if old.sa_sigaction == libc::SIG_IGN {
                // Ignored by whoever started gpa run (`nohup`): the program inherits that.
                continue;
            }
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, core::ptr::null_mut());
        }
    }
}

/// The signal that ended the program, if one did.
fn signal_of(status: std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

/// `SIGSEGV` for 11: the name of a signal that ends a process (or its number).
fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGKILL => "SIGKILL".into(),
        _ => collect::signal_name(signal),
    }
}

fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => 128u8.wrapping_add(signal as u8),
        _ => 1,
    }
}

/// `GPA_MODE` for the options given.
fn mode(args: &RunArgs) -> &'static str {
    if args.fast {
        "fast"
    } else if args.guard
        || args.guard_flush
        || (args.guard_underflow && args.guard_sample.is_none())
    {
        "guard"
    } else {
        "check"
    }
}

/// How long `gpa run` waits, after the program ended, for processes it left running.
const DESCENDANT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Reaps the program's other processes (re-parented here, `PR_SET_CHILD_SUBREAPER`) until none
/// is left or `limit` has passed. A child the program forked and did not wait for reports at
/// its own exit: Valgrind prints that report whenever it comes; `gpa run`, which writes one
/// report, waits for it. A process still running after `limit` (a daemon) is listed as not
/// checked ([`Reason::StillRunning`]) instead of holding the run up. The processes reaped
/// that a signal killed, with the signal.
fn wait_for_descendants(limit: std::time::Duration) -> Vec<(u64, i32)> {
    let start = std::time::Instant::now();
    let mut killed = Vec::new();
    loop {
        let mut status = 0;
        // SAFETY: `waitpid` writes the status into `status`.
        let reaped = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if reaped > 0 {
            if libc::WIFSIGNALED(status) {
                killed.push((reaped as u64, libc::WTERMSIG(status)));
            }
            continue;
        }
        if reaped < 0 || start.elapsed() >= limit {
            return killed;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Whether process `pid` exists and runs the program `exe` (the image's recorded executable,
/// compared by file name: a process in a `chroot` names its file from its own root). After
/// [`wait_for_descendants`], a child that ended was reaped, so an existing one runs. The file
/// name matters for a process of another PID namespace (`bwrap --unshare-pid`, `unshare -p`),
/// whose events name it by its number there: pid 1 or 2 in this namespace is another program
/// (`init`, a kernel thread, which has no `exe`), not that process still running.
fn is_running(pid: u64, exe: Option<&str>) -> bool {
    let Ok(number) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    if unsafe { libc::kill(number, 0) } != 0 {
        return false;
    }
    let Some(exe) = exe else {
        return true;
    };
    let name = |path: &str| {
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        path.rsplit('/').next().unwrap_or(path).to_string()
    };
    match std::fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(running) => name(&running.to_string_lossy()) == name(exe),
        // A kernel thread has no executable.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
        // Another user's process (or this container's init): its command name, which the
        // kernel sets to the file name cut to 15 bytes at `exec`.
        Err(_) => match std::fs::read(format!("/proc/{pid}/comm")) {
            Ok(comm) => {
                let wanted = name(exe);
                let wanted = &wanted.as_bytes()[..wanted.len().min(15)];
                comm.strip_suffix(b"\n").unwrap_or(&comm) == wanted
            }
            Err(_) => true,
        },
    }
}

/// What a clean run could not have seen, said after its clean line (memcheck sees every
/// read, whatever its address; a page-granular guard sees only reads that cross into a guard
/// page, so "0 errors" is no verdict on the program's other reads):
/// * check mode sees reads outside a block or after its free only where libc's functions make
///   them, past a large block's last page and after the free of a block of 64 KiB or more
///   (`quarpages`);
/// * guard mode puts a block's aligned end against its guard page: the bytes before the block
///   share its page, and its alignment slack is readable (`None` of the slack with
///   `--guard-flush`, which leaves none);
/// * `--guard-underflow` puts the block's start against its guard page instead: the bytes from
///   the block's end to its page's end are readable.
///
/// Writes to any of those bytes are seen (front guards, canaries and poison checked at free
/// and at exit); only reads are named here.
fn reads_not_seen(args: &RunArgs) -> Option<&'static str> {
    if mode(args) == "guard" {
        Some(if args.guard_underflow {
            "gpa: guard mode with --guard-underflow sees reads past a block's end, up to the \
             end of its last page, only in libc's functions (--guard sees them)\n"
        } else if args.guard_flush {
            "gpa: guard mode sees reads before a block's start only in libc's functions \
             (--guard-underflow sees them)\n"
        } else {
            "gpa: guard mode sees reads before a block's start, and of the up to 15 bytes \
             between its end and its 16-byte alignment, only in libc's functions \
             (--guard-underflow sees the first, --guard-flush the second)\n"
        })
    } else if args.guard_sample.is_some() {
        Some(
            "gpa: check mode sees reads outside a block or after its free only in libc's \
             functions, on large blocks and on the sampled ones, and reads after a free on \
             blocks of 64 KiB or more (--guard sees all but those before a block and in its \
             alignment slack, --guard-flush also the slack, --guard-underflow those before a \
             block but not those past its end within its page)\n",
        )
    } else {
        Some(
            "gpa: check mode sees reads outside a block or after its free only in libc's \
             functions and on large blocks, and reads after a free on blocks of 64 KiB or \
             more (--guard sees all but those before a block and in its alignment slack, \
             --guard-flush also the slack, --guard-underflow those before a block but not \
             those past its end within its page)\n",
        )
    }
}
