//! The report at process exit (check mode): findings, loss records and the leak summary,
//! written as text and JSON.
//!
//! # Design
//! An exit hook registered before any other exit function (with `__cxa_atexit` and no library
//! handle, so that glibc does not run it among this library's destructors): at the first
//! `__cxa_atexit`, `atexit` or `on_exit` call of the program or a library (this library
//! exports `__cxa_atexit` and `on_exit`: [`cxa_atexit`], [`on_exit`]), or from the preload
//! library's constructor if none came before. Exit functions run newest first, so it runs after the program's own hooks, after
//! every library's destructors and exit functions (even those registered by constructors the
//! loader ran before this library's), so blocks the program frees at exit are freed by then. It holds the GPA's re-entrancy guard
//! throughout, so everything it allocates (symbolization caches, strings, files) comes from
//! the internal heap and never changes the user heap it is judging. Steps:
//! 1. the leak scan ([`super::scan`]: other threads stopped, glibc's exit-time frees, the
//!    reachability graph), which also flushes the quarantine (checking the poison of recently
//!    freed blocks: writes after free);
//! 2. the findings recorded during the run, those of one site merged;
//! 3. loss records ([`crate::leakcheck::records`]): blocks grouped by loss kind and allocation
//!    stack, ordered by kind then size, numbered "loss record X of Y";
//! 4. suppressions ([`crate::report::suppress`]): the built-in set and `GPA_SUPPRESSIONS`'
//!    files; a suppressed finding or record is counted, not listed. The stack they match is
//!    Valgrind's (the entry point, then every frame down to `main`);
//! 5. output: findings and the records of the shown kinds (`GPA_SHOW_LEAK_KINDS`), each a
//!    one-line header (`error(gpa):` when it counts as an error, `info(gpa):` when only shown)
//!    and its trace, then the leak summary; with `GPA_GEN_SUPPRESSIONS`, a ready suppression
//!    entry after each. Text goes to `GPA_LOG` (appended) or stderr, only when there is
//!    something to say; JSON to `GPA_JSON`; or, under `gpa run` (`GPA_REPORT_DIR`), a
//!    `report` event with the JSON and text beside it (`<pid>.<n>.json`, `<pid>.<n>.txt`; see
//!    `process::events`), which `gpa run` merges with the reports of every other process.
//!
//! The paths are the ones the environment held at start-up (`settings::save_paths`): a
//! program that calls `clearenv` or `setenv` (or glibc's exit-time frees, which clear the
//! environment) still reports where it was asked to.
//!
//! Reports are also written when the process ends without `exit`'s hooks: at `_exit`/`_Exit`
//! (interposed, `process::exit_now`), at `quick_exit`, on a fatal signal (with the leak
//! verdict where it can run: "The crash report"), and, without the leak verdict, before an
//! `exec` replaces the image ([`report_before_exec`]). glibc's
//! exit-time frees flush stdio; at `_exit` and `quick_exit`, which must not, the streams'
//! unwritten bytes are discarded first (as those calls would). A report at a fatal signal
//! frees nothing, and scans only where the interrupted thread holds nothing the scan needs
//! (see "The crash report").
//!
//! The JSON object is [`Report::to_json`]'s (`findings`) plus `pid`, `program`,
//! `leak_summary` (`definite`, `indirect`, `possible`, `reachable`, `suppressed`: each
//! `blocks` and `bytes`), `errors` (findings and unsuppressed loss records of the error
//! kinds), `suppressed_findings`, `threads_stopped`, `threads_not_examined`, and the older
//! totals `leaked_blocks`/`leaked_bytes` (definitely and indirectly lost) and
//! `reachable_blocks`/`reachable_bytes`. A `leak` finding is a loss record: `leak_kind`,
//! `count` (blocks), `size` (direct plus indirect bytes), `direct_bytes`, `indirect_bytes`,
//! `loss_record`, `loss_records`, `error`, and `suppression` when generated.
//!
//! # The crash report
//! [`register_crash_report`] installs the fault handler (`os::signal`) for `SIGSEGV`,
//! `SIGBUS`, `SIGABRT`, `SIGFPE` and `SIGILL` (and `SIGTRAP`, which the handler needs for
//! stepping over a fault), and in check and guard modes for every other signal whose default
//! action ends the process (`os::signal::install_termination`: `SIGTERM`, `SIGINT`,
//! `SIGPIPE`, `SIGALRM`, the real-time ones...; not the leak scan's stop signal), with
//! [`on_fatal_signal`] as its hook. A memory
//! fault on a guarded block, on a freed large block's held range or past a large block
//! becomes a finding (`gpa::fault`) with the faulting access's stack, unwound from the signal
//! context by the caching unwinder ([`crate::trace::unwind::capture_from`]); a fault whose
//! instruction lies in this library is an `internal_error`.
//!
//! In check and guard modes the program then **goes on** after an access past a block or to
//! a freed one made by the program (not from inside the allocator, not an instruction fetch),
//! as under Valgrind: the finding is recorded once per faulting instruction and stack (`FAULTS`,
//! reported with the others at exit) and `os::signal::resume_after` opens the page for that
//! one instruction; after `STEP_BUDGET` faults a faulting page is left open until gpa
//! changes it, and after `RESUME_BUDGET` the fault ends the process as below. Otherwise
//! the report is written (the findings recorded so far plus that one, unless suppressed;
//! leaks are not checked: the process did not end normally) and the process ends as the
//! signal would have (`gpa run` shows 128 + N). Either way the fault is gpa's finding, even
//! when the program installed a handler of its own. Any other signal goes to the program's own handler, unchanged, when it installed one
//! (before us, or later: the handler is invisible to the program, which sees and sets its own
//! action through the interposed `sigaction` and `signal`); otherwise the report of the
//! findings so far is written before the default action.
//!
//! **With the leak check** (`signal_report`), as Valgrind checks leaks when a signal's
//! default action ends the process: when the program's action is `SIG_DFL` and the
//! interrupted thread holds nothing the check needs (`leak_check_refusal`: not inside gpa,
//! by its "inside the allocator" flag and by the interrupted instruction and the return
//! addresses of its stack, nor inside the dynamic loader or libgcc's unwinder), the report is
//! the exit report's: the other threads stopped and scanned, the interrupted thread's stack
//! (from its stack pointer less the red zone) and registers (from the signal context) as
//! roots, no `__libc_freeres`, the stdio buffers not flushed but for the core-dumping fault
//! signals; it opens with Valgrind's "Process terminating with default action of signal N
//! (NAME)" and the stack where the signal arrived. Where the check cannot run, a signal the
//! interrupted instruction did not raise itself is retried (`Verdict::Retry`: sent to the
//! thread again 1-2 ms later, up to `RETRY_BUDGET` times); otherwise the report below, whose
//! text and JSON say why leaks were not checked (`leaks_not_checked`). A signal arriving while
//! another thread writes a report waits for it (`Verdict::Deferred`), and that thread ends the
//! process by the signal afterwards; the thread writing the exit report blocks these signals
//! meanwhile.
//!
//! **A lock kept elsewhere.** The leak scan stops the other threads while holding every GPA
//! lock (`scan`), and the report allocates from the internal heap: a thread the program keeps
//! for ever inside gpa (a signal handler that interrupted an allocation and never returns, a
//! deadlock) made the report wait for ever, and so the process (lifecycle.md item 22). Both
//! reports first try those locks with a bounded wait (`lock_held_elsewhere`: the exit report
//! 2 s; at a signal a 20 ms glance, then, from the emergency reserve, the interrupted thread's
//! own refusal and 2 s): when one is kept, the report below, saying why leaks were not checked.
//!
//! **Without it**, the crash path takes no lock the interrupted thread may hold: the GPA's findings and the
//! front guards' findings are taken with try-locks (skipped when busy), the symbolizer's locks
//! are only tried (`report::symbolize::enter_crash_report`), and everything it
//! allocates comes from the internal heap's lock-free emergency reserve
//! (`gpa::enter_emergency_allocation`). The program's C stdio buffers are flushed so that its
//! output before the crash is not lost: `fflush(NULL)` is not async-signal-safe (it waits for
//! every stream's lock, and the crash may have happened inside `printf`), so `stdout` and
//! `stderr` are flushed only if `ftrylockfile` succeeds (it does when this thread already
//! holds the lock, as after a fault inside `printf`, which then writes what the stream holds
//! so far); other streams are left unflushed, as the default action would leave them.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::io::Write;

use super::guard;
use super::process::{self, events};
use super::scan;
use super::settings::{self, Settings};
use crate::gpa::{near_fill, GeneralPurposeAllocator, InsideAllocator, LiveBlock};
use crate::leakcheck::roots::LiveStack;
use crate::leakcheck::{self, KindSet, Maps, Totals};
use crate::os::signal::{Fault, Verdict as SignalVerdict};
use crate::report::suppress::{self, StackFrame, Suppressions};
use crate::report::{self, Access, FindingKind, RawFinding, Report};
use crate::trace::TraceId;

static REPORTED: AtomicBool = AtomicBool::new(false);
/// Set when [`report_at_end`] has finished the report it started (see [`EXIT_WAITERS`]).
static REPORT_FINISHED: AtomicBool = AtomicBool::new(false);

/// Exit functions registered before the report's, so that they run after it, one per further
/// thread that may call `exit` at the same moment (`life_exit_race.c`). glibc 2.36's `exit`
/// lets concurrent callers share the list of exit functions: while one thread ran the report,
/// another found the list empty and ended the process (`_exit`, no report: "not checked"),
/// where Valgrind reports at the first `exit_group`. A thread that takes one of these while
/// another reports waits for the report, so the list is not empty before it is written.
const EXIT_WAITERS: usize = 3;

/// The thread that took the report's exit function ([`at_exit`]) from the C library's list
/// (0: none yet).
static EXIT_REPORT_TAKEN_BY: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// One of the [`EXIT_WAITERS`]. Exit functions run newest first, so when one of these runs,
/// the report's ([`at_exit`], registered after them) has been taken from the list already:
/// by this thread, which has written the report (or had none to write), or by another, which
/// is writing it or is about to start. So this waits until the report is finished, unless
/// this thread took it and no other writes a report ([`REPORTED`] is also set by the report
/// at a fatal signal). It waited only once the report had marked itself started: a thread
/// that ran its waiters in the moment between the other's taking the report's function and
/// that mark found the list empty and ended the process unchecked (1 run in 60 of
/// `life_exit_race two --guard`, debug build). It never waits for ever: the thread that took
/// the report's function goes on through `exit` once it returns, and ends the process.
unsafe extern "C" fn wait_for_report_elsewhere(_: *mut libc::c_void) {
    let me = crate::os::thread_id();
    while !REPORT_FINISHED.load(Ordering::Acquire)
        && (REPORTED.load(Ordering::Acquire) || EXIT_REPORT_TAKEN_BY.load(Ordering::Acquire) != me)
    {
        // The reporting thread stops this one for its scan (a signal interrupts the sleep);
        // the process ends with its `exit` once the report is written.
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

extern "C" {
    fn at_quick_exit(function: extern "C" fn()) -> libc::c_int;
}

/// An exit function as `__cxa_atexit` takes it.
pub type ExitFunction = Option<unsafe extern "C" fn(*mut libc::c_void)>;

/// The signature of the C library's `__cxa_atexit`.
type CxaAtexit =
    unsafe extern "C" fn(ExitFunction, *mut libc::c_void, *mut libc::c_void) -> libc::c_int;

/// The C library's `__cxa_atexit` (this library exports its own, [`cxa_atexit`]), found once.
fn next_cxa_atexit() -> Option<CxaAtexit> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let mut address = NEXT.load(Ordering::Acquire);
    if address == 0 {
        address = super::foreign::real(c"__cxa_atexit")?;
        NEXT.store(address, Ordering::Release);
    }
    // SAFETY: the C library's `__cxa_atexit` has this signature.
    Some(unsafe { core::mem::transmute::<usize, CxaAtexit>(address) })
}

/// `__cxa_atexit` as the program and its libraries call it (C's `atexit` calls it too, and
/// C++ registers static destructors with it): in check and guard modes the exit report is
/// registered first ([`register`]), then `function` with the C library. Exit functions run
/// newest first, so the report, registered before any other, runs after all of them, as
/// Valgrind's leak check comes after `exit` ran them. Registered from this library's
/// constructor only, it was newer than what the program's libraries register from their
/// constructors, which the loader runs first (apt-cache: a buffer freed by such a function
/// was "still reachable", and glibc's lists of more than 32 exit functions, freed as `exit`
/// walks past them, were still allocated: `prog_atexit_lists.c`). `-1` when the C library's
/// `__cxa_atexit` cannot be found.
///
/// The mode comes from the state once built, else from the environment: this library's own
/// start-up registers exit functions while it builds its state (the unwind cross-check's
/// summary), and asking for the state there waited for itself (a hang, in every process under
/// `GPA_UNWINDER=cross-check`). This library's own registrations (`dso_handle` its own) are
/// forwarded untouched: they keep the order gpa gives them.
///
/// # Safety
/// As for the C++ ABI's `__cxa_atexit`.
pub unsafe fn cxa_atexit(
    function: ExitFunction,
    argument: *mut libc::c_void,
    dso_handle: *mut libc::c_void,
) -> libc::c_int {
    extern "C" {
        /// This library's handle for `__cxa_atexit` (from the C runtime's start files).
        static __dso_handle: u8;
    }
    let checks = || {
        super::STATE
            .get()
            .map_or_else(settings::Mode::from_env, |state| state.settings.mode)
            .checks()
    };
    if dso_handle.cast_const() != (&raw const __dso_handle).cast() && checks() {
        register();
    }
    match next_cxa_atexit() {
        // SAFETY: forwarded caller contract.
        Some(next) => unsafe { next(function, argument, dso_handle) },
        None => -1,
    }
}

/// An exit function as glibc's `on_exit` takes it: called with `exit`'s status and its
/// argument.
pub type OnExitFunction = Option<unsafe extern "C" fn(libc::c_int, *mut libc::c_void)>;

/// The signature of the C library's `on_exit`.
type OnExit = unsafe extern "C" fn(OnExitFunction, *mut libc::c_void) -> libc::c_int;

/// The C library's `on_exit` (this library exports its own, [`on_exit`]), found once.
fn next_on_exit() -> Option<OnExit> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let mut address = NEXT.load(Ordering::Acquire);
    if address == 0 {
        address = super::foreign::real(c"on_exit")?;
        NEXT.store(address, Ordering::Release);
    }
    // SAFETY: the C library's `on_exit` has this signature.
    Some(unsafe { core::mem::transmute::<usize, OnExit>(address) })
}

/// glibc's `on_exit` as the program and its libraries call it: as [`cxa_atexit`], the exit
/// report is registered first in check and guard modes, then `function` with the C library,
/// which calls it with `exit`'s status unchanged. `on_exit` puts its function on the list
/// `__cxa_atexit` fills without calling `__cxa_atexit`, so before this a function a library
/// constructor (or `main`, before any `atexit`) registered with it was older than the report
/// and ran after it: the blocks it freed were reported still reachable or lost where
/// Valgrind says "all heap blocks were freed" (`cli/tests/c/onexit_*.c`). `-1` when the C
/// library's `on_exit` cannot be found. This library never calls `on_exit` itself.
///
/// # Safety
/// As for glibc's `on_exit`.
pub unsafe fn on_exit(function: OnExitFunction, argument: *mut libc::c_void) -> libc::c_int {
    let checks = super::STATE
        .get()
        .map_or_else(settings::Mode::from_env, |state| state.settings.mode)
        .checks();
    if checks {
        register();
    }
    match next_on_exit() {
        // SAFETY: forwarded caller contract.
        Some(next) => unsafe { next(function, argument) },
        None => -1,
    }
}

/// How a process (program image) ended, as its report records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// `exit`, or a return from `main`.
    Exit,
    /// `_exit`/`_Exit` with this status.
    UnderscoreExit(libc::c_int),
    /// `quick_exit`.
    QuickExit,
    /// A fatal signal.
    Signal(libc::c_int),
    /// Replaced by `exec` (findings only, no leak verdict).
    Exec,
}

impl Ending {
    fn name(self) -> &'static str {
        match self {
            Ending::Exit => "exit",
            Ending::UnderscoreExit(_) => "_exit",
            Ending::QuickExit => "quick_exit",
            Ending::Signal(_) => "signal",
            Ending::Exec => "exec",
        }
    }
}

/// Registers the exit report (once per process).
pub fn register() {
    static REGISTERED: AtomicBool = AtomicBool::new(false);
    if !REGISTERED.swap(true, Ordering::AcqRel) {
        // SAFETY: `at_exit` and `at_quick_exit_hook` have the signatures these functions
        // take and live as long as the process (this library is preloaded, never unloaded).
        // `atexit` would tie the hook to this library, and glibc would run it while unloading
        // the library's destructors (inside `_dl_fini`, before other libraries' destructors
        // and in frames no unwinder can walk out of); with no library handle it runs from
        // `exit` itself, after every destructor, as the last hook.
        unsafe {
            if let Some(next) = next_cxa_atexit() {
                for _ in 0..EXIT_WAITERS {
                    next(
                        Some(wait_for_report_elsewhere),
                        core::ptr::null_mut(),
                        core::ptr::null_mut(),
                    );
                }
                next(Some(at_exit), core::ptr::null_mut(), core::ptr::null_mut());
            }
            at_quick_exit(at_quick_exit_hook);
        }
    }
}

/// Signals whose default action ends the process with a core dump: the report is written
/// first, so findings recorded before a crash (often its cause) are not lost.
const FATAL_SIGNALS: [libc::c_int; 5] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGABRT,
    libc::SIGFPE,
    libc::SIGILL,
];

/// Installs the crash report for fatal signals (see the module documentation); handlers the
/// program installed before, or installs later through `sigaction`/`signal` (interposed:
/// [`sigaction`], [`signal`]), stay in charge of the signals that are not gpa's.
pub fn register_crash_report() {
    crate::os::signal::install(&FATAL_SIGNALS, on_fatal_signal, true);
    // The signals that end the process without a core dump (and the others of that kind):
    // the leak check as well, in check and guard modes only (fast mode's sampled guards need
    // the fault signals alone, and its start-up touches no more code).
    if super::state().settings.mode.checks() {
        crate::os::signal::install_termination(on_fatal_signal, &[leak_stop_signal()]);
    }
}

/// The signal the leak scan stops threads with (left to it).
fn leak_stop_signal() -> libc::c_int {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    {
        crate::leakcheck::world::stop_signal()
    }
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    {
        libc::SIGRTMAX() - 2
    }
}

/// The thread writing the exit or signal report (0: none, or it is written).
static REPORTING_THREAD: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
/// A signal that would have ended the process while another thread wrote the report: that
/// thread ends the process with it once the report is written (0: none).
static DEFERRED_SIGNAL: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(0);

/// C `sigaction` for the program: gpa's fault handler stays installed and invisible; the
/// program's action for the signals it handles is kept and called for faults that are not
/// gpa's (`os::signal`, "The handler is invisible to the program").
///
/// # Safety
/// As for C's `sigaction`.
pub unsafe fn sigaction(
    signal: libc::c_int,
    action: *const libc::sigaction,
    old: *mut libc::sigaction,
) -> libc::c_int {
    super::libc_calls::check_sigaction_act(action.cast());
    // SAFETY: forwarded caller contract.
    let result = unsafe { crate::os::signal::sigaction(signal, action, old) };
    if result == 0 {
        super::libc_calls::check_sigaction_oldact(old.cast());
    }
    result
}

/// C `signal` (`sysv` false: also `bsd_signal`, `ssignal`) or `sysv_signal` (`sysv` true) for
/// the program, as [`sigaction`].
///
/// # Safety
/// As for C's `signal`.
pub unsafe fn signal(
    signal: libc::c_int,
    handler: libc::sighandler_t,
    sysv: bool,
) -> libc::sighandler_t {
    let semantics = if sysv {
        crate::os::signal::HandlerSemantics::SystemV
    } else {
        crate::os::signal::HandlerSemantics::Bsd
    };
    // SAFETY: forwarded caller contract.
    unsafe { crate::os::signal::set_handler(signal, handler, semantics) }
}

/// C `sigset` (System V) for the program, on [`sigaction`].
///
/// # Safety
/// As for C's `sigset`.
pub unsafe fn sigset(signal: libc::c_int, disposition: libc::sighandler_t) -> libc::sighandler_t {
    // SAFETY: forwarded caller contract.
    unsafe { crate::os::signal::sigset(signal, disposition) }
}

/// C `sigvec` (BSD, kept in glibc for old binaries) for the program, on [`sigaction`].
///
/// # Safety
/// As for C's `sigvec`.
pub unsafe fn sigvec(
    signal: libc::c_int,
    vector: *const crate::os::signal::SigVec,
    old: *mut crate::os::signal::SigVec,
) -> libc::c_int {
    // SAFETY: forwarded caller contract.
    unsafe { crate::os::signal::sigvec(signal, vector, old) }
}

/// Whether a fault on gpa's guards came from a checked libc call rather than from the
/// program's own code: glibc's function running (`libc_calls::forwarding_from`), a check
/// reading the program's memory (`libc_calls::in_program_read`), or an instruction in
/// glibc or in this library (the formatting functions and a check's own reads do not mark
/// themselves). Such a fault on a block the call's check reported is that finding again
/// (`Recorded::merged`).
fn in_checked_call(fault: &Fault) -> bool {
    if super::libc_calls::forwarding_from() != 0 || super::libc_calls::in_program_read(fault.sp) {
        return true;
    }
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        extern "C" {
            /// glibc's version string (no preload library defines it).
            fn gnu_get_libc_version() -> *const libc::c_char;
        }
        let object = |address: usize| crate::os::object_containing(address).map(|o| o.start);
        let here = object(fault.ip);
        here.is_some()
            && (here == object(gnu_get_libc_version as *const () as usize)
                || here == object(on_fatal_signal as *const () as usize))
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    {
        true
    }
}

/// The fault handler's hook: a fault gpa can attribute becomes a finding and the report ends
/// the process; see the module documentation.
pub fn on_fatal_signal(fault: &Fault) -> SignalVerdict {
    let state = super::state();
    let gpa = &state.gpa;
    if state.settings.mode.checks() && process::confine::report_left_out() {
        return confined_fault(gpa, fault);
    }
    let mut finding = None;
    if fault.is_memory_fault() {
        match attribute(gpa, fault, true) {
            Err(Stale) => return SignalVerdict::Resumed,
            Ok(found) => finding = found,
        }
    }
    let checked = state.settings.mode.checks();
    // The freed-memory fill followed as a pointer: the read of the freed block it came from
    // (not resumable: the faulting address is the fill's, no page to open).
    let mut followed = None;
    if finding.is_none() && checked {
        followed = followed_fill(gpa, fault);
        if let Some((_, block)) = followed.and_then(|followed| followed.freed) {
            let mut read = RawFinding::new(FindingKind::ReadAfterFree, block.user);
            read.size = block.size;
            read.align = block.align;
            read.alloc_trace = block.alloc_trace;
            read.free_trace = block.free_trace;
            read.access = Some(Access::Read);
            finding = Some(read);
        }
    }
    if finding.is_none() && (!checked || !crate::os::signal::previous_is_default(fault.signal)) {
        return SignalVerdict::NotOurs;
    }
    // A `vfork` child shares its parent's memory: it reports nothing (the default action).
    if finding.is_none() && !process::is_original_process() {
        return SignalVerdict::NotOurs;
    }
    // Another thread writes the report (at `exit`, or for a signal of its own): this one
    // must neither end the process before it is written nor take the crash stack it may
    // need. It waits to be stopped, and that thread ends the process by this signal.
    let reporter = REPORTING_THREAD.load(Ordering::Acquire);
    if REPORTED.load(Ordering::Acquire) && finding.is_none() {
        if reporter != 0 && reporter != crate::os::thread_id() {
            let _ = DEFERRED_SIGNAL.compare_exchange(
                0,
                fault.signal,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            return SignalVerdict::Deferred;
        }
        if reporter == 0 {
            // Written already: the signal ends the process as it would have.
            return SignalVerdict::Reported;
        }
    }
    if let Some(found) = finding.as_mut() {
        if checked && followed.is_none() && resumable(found, fault) {
            match resume(gpa, found, fault, state.settings.frames) {
                Resume::Resumed => return SignalVerdict::Resumed,
                // Its site is among the faults recorded already.
                Resume::Recorded => finding = None,
                // The finding (its access trace taken) ends the process below.
                Resume::Refused => {}
            }
        }
    }
    // The leak check too, where the interrupted thread holds nothing the check needs, and
    // no other thread holds one of gpa's locks and keeps it (`lock_held_elsewhere`).
    let refusal = if !checked || finding.is_some_and(|f| f.kind == FindingKind::InternalError) {
        Some("gpa itself faulted")
    } else if crate::gpa::inside_allocator() {
        Some("the signal arrived inside gpa's allocator")
    } else if lock_held_elsewhere(gpa, LOCK_GLANCE).is_none() {
        leak_check_refusal(fault)
    } else {
        // A lock is held: by this thread (in gpa code below the interrupted instruction,
        // say a system call gpa makes), which `leak_check_refusal` finds on its stack, or by
        // another, which may keep it for ever. Unwinding this thread's stack may allocate
        // from the internal heap, whose lock may be the one held: from here on the process
        // ends, so gpa's own memory comes from the lock-free emergency reserve.
        crate::gpa::enter_emergency_allocation();
        report::symbolize::enter_crash_report();
        leak_check_refusal(fault).or_else(|| lock_held_elsewhere(gpa, LOCK_PATIENCE))
    };
    // A signal that did not come from the instruction the thread was at (sent by `kill`, a
    // terminal, a timer, a pipe's reader gone) can wait until the thread has left gpa's
    // allocator (or the loader, or the unwinder): it comes again a moment later, for up to
    // `RETRY_BUDGET` times in all, then the crash report goes without the leak check. Not
    // for a lock another thread keeps: the program would run on meanwhile (after a
    // `raise`, say), where natively it ended.
    if refusal.is_some_and(|reason| reason != LOCK_HELD)
        && finding.is_none()
        && crate::os::signal::ends_process(fault.signal)
        && RETRIES.fetch_add(1, Ordering::AcqRel) < RETRY_BUDGET
    {
        return SignalVerdict::Retry;
    }
    if refusal.is_none() {
        let _inside = InsideAllocator::enter();
        let trace = access_trace(fault, state.settings.frames);
        if let Some(finding) = finding.as_mut().filter(|finding| finding.site_trace.0 == 0) {
            finding.site_trace = trace;
            if gpa.config().safety && followed.is_none() {
                *finding = guard::to_user(gpa, *finding);
            }
        }
        signal_report(finding, fault, trace);
        return SignalVerdict::Reported;
    }
    // From here on the process ends: allocate without waiting for a lock the interrupted
    // thread may hold (the unwinder's rule cache allocates too).
    crate::gpa::enter_emergency_allocation();
    let _inside = InsideAllocator::enter();
    let trace = access_trace(fault, state.settings.frames);
    if let Some(finding) = finding.as_mut().filter(|finding| finding.site_trace.0 == 0) {
        finding.site_trace = trace;
        // A block's finding is in the GPA's terms (its start, padded size); an internal
        // error's address is the faulting one.
        if gpa.config().safety && finding.kind != FindingKind::InternalError && followed.is_none() {
            *finding = guard::to_user(gpa, *finding);
        }
    }
    crash_report(
        finding,
        fault,
        trace,
        refusal.unwrap_or("ended by a signal"),
    );
    SignalVerdict::Reported
}

/// A stale fault ([`attribute`]): run the instruction again.
struct Stale;

/// Attributes a memory fault: its finding (`fault_finding`, marked when it came from a
/// checked libc call; `None`: no block of gpa's there), or `Err(Stale)`; with `internal`, a fault of gpa's own code with no block there is an
/// `internal_error` (the first attribution only).
///
/// A fault on a freed guarded block's page, attributed after another thread's `malloc`
/// handed its extent out again, finds a live block there: the fault is stale, and the page
/// accessible now (a live block's pages are), so the instruction is run again
/// (`Err(Stale)`), as if it had come after the reuse. Where the page is
/// inaccessible again (that block freed too meanwhile), the fault is attributed anew, at
/// most [`STALE_TRIES`] times. Not a live block's page closed under it:
/// `os::signal::claim` keeps a step from doing that. Both [`on_fatal_signal`] and
/// [`confined_fault`] go through here.
fn attribute(
    gpa: &GeneralPurposeAllocator,
    fault: &Fault,
    internal: bool,
) -> Result<Option<RawFinding>, Stale> {
    let once = |internal: bool| {
        let access = crate::gpa::fault::access_of(fault);
        let size = fault.access_size.unwrap_or(0);
        let mut finding =
            gpa.fault_finding(fault.address, access, size, fault.fetch, fault.access_start);
        if internal && finding.is_none() {
            finding = internal_error(fault, access, size);
        }
        if let Some(found) = finding.as_mut() {
            found.in_checked_call = in_checked_call(fault);
        }
        finding
    };
    let mut finding = once(internal);
    let mut tries = 0;
    while finding.is_none() && tries < STALE_TRIES && gpa.in_guarded_area(fault.address) {
        // Bounded in all: where the probe cannot answer (a seccomp filter) it says readable.
        if crate::os::readable(fault.address)
            && STALE_RESUMED.fetch_add(1, Ordering::Relaxed) < RESUME_BUDGET
        {
            return Err(Stale);
        }
        finding = once(false);
        tries += 1;
    }
    Ok(finding)
}

/// A fatal signal under a seccomp filter that would kill the report's system calls: the
/// report is left out (`confine::report_left_out` says so once) and the signal goes on as
/// without gpa (lifecycle.md item 18). A fault on gpa's own guards, which the program would
/// not have made natively, is resumed with the page left open (nothing recorded: there is no
/// report to put it in) where the filter allows what that takes (`mincore` to attribute it,
/// `mprotect` to open the page, `process_vm_readv` to step); anything else goes to the
/// program's action or the default one. (A filter that kills the handler's own calls,
/// `rt_sigaction`, `rt_sigreturn`, `tgkill`..., took the signals back from it before it was
/// installed: `confine::stopped_by_mode`.)
fn confined_fault(gpa: &GeneralPurposeAllocator, fault: &Fault) -> SignalVerdict {
    let allowed = ["mincore", "mprotect", "process_vm_readv"]
        .iter()
        .all(|name| !crate::os::seccomp::stops(name));
    if !allowed || !fault.is_memory_fault() {
        return SignalVerdict::NotOurs;
    }
    // A stale fault (see `attribute`) runs again here too: before, it went to the program's
    // action, and the process died of a fault gpa's own reuse of an extent made stale.
    let Ok(finding) = attribute(gpa, fault, false) else {
        return SignalVerdict::Resumed;
    };
    let resumed = finding.is_some_and(|found| resumable(&found, fault))
        && crate::os::signal::resume_after(fault, true, &|| {
            gpa.keeps_freed_contents(fault.address)
        });
    if resumed {
        SignalVerdict::Resumed
    } else {
        SignalVerdict::NotOurs
    }
}

/// Retries of a fatal signal so far ([`SignalVerdict::Retry`]).
static RETRIES: AtomicUsize = AtomicUsize::new(0);
/// The most retries (each `os::signal::RETRY_DELAY` apart): a thread that stays inside the
/// allocator longer (waiting for a lock another thread never releases) gets the crash report.
const RETRY_BUDGET: usize = 500;

/// How long a report waits for gpa's locks ([`lock_held_elsewhere`]) before it goes on
/// without the leak check. Those locks are held for microseconds; a thread that keeps one
/// longer than this will not let go of it.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);
/// The first, short wait for gpa's locks at a fatal signal ([`on_fatal_signal`]): when
/// they are free by then, the report goes as before.
const LOCK_GLANCE: std::time::Duration = std::time::Duration::from_millis(20);

/// Why leaks were not checked when a lock stayed held ([`lock_held_elsewhere`]).
const LOCK_HELD: &str = "another thread of the program held one of gpa's locks and did not \
     release it within 2 s (stopped inside gpa for ever, by a signal handler that does not \
     return, or deadlocked there): the leak scan needs every such lock";

/// Whether another thread holds one of the GPA's locks (or the internal heap's) and keeps
/// it for `patience` ([`LOCK_PATIENCE`], after a first [`LOCK_GLANCE`]): the leak scan
/// takes every one of them to stop the other threads (`scan`), and the report's work
/// allocates from the internal heap. A thread the program
/// keeps for ever inside gpa (its signal handler interrupted an allocation and never
/// returns; a deadlock) made the report, and so the process, wait for ever where natively
/// it ended at once (lifecycle.md item 22). `Some(reason)` then: the caller writes the
/// report without the leak check, allocating from the emergency reserve
/// ([`unchecked_outcome`]).
fn lock_held_elsewhere(
    gpa: &GeneralPurposeAllocator,
    patience: std::time::Duration,
) -> Option<&'static str> {
    if gpa.try_prepare_fork(patience) {
        // SAFETY: `try_prepare_fork` returned true on this thread just now.
        unsafe { gpa.finish_fork() };
        None
    } else {
        Some(LOCK_HELD)
    }
}

/// Why the leak check cannot run in the handler of a fatal signal, if it cannot: the
/// interrupted thread was inside gpa (its allocator, its report, its thread bookkeeping: it
/// may hold a lock the check takes, or be halfway through a heap update the check would
/// read), or inside the dynamic loader or libgcc's unwinder (their locks and lists are what
/// symbolization and the roots' walk use). Judged from the interrupted instruction and the
/// return addresses of its stack (unwound with the caching unwinder, which allocates from the
/// internal heap on a cache miss: [`on_fatal_signal`] calls this from the emergency reserve
/// when a lock is held).
fn leak_check_refusal(fault: &Fault) -> Option<&'static str> {
    if crate::gpa::inside_allocator() {
        return Some("the signal arrived inside gpa's allocator");
    }
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        extern "C" {
            /// The dynamic loader's debugger interface (in `ld.so`).
            static _r_debug: u8;
            /// One of libgcc's unwinder entry points (in `libgcc_s`, or in this library).
            fn _Unwind_GetRegionStart(context: *mut libc::c_void) -> usize;
        }
        let object = |address: usize| crate::os::object_containing(address).map(|o| o.start);
        let own = object(on_fatal_signal as *const () as usize);
        let loader = object((&raw const _r_debug) as usize);
        let unwinder = object(_Unwind_GetRegionStart as *const () as usize);
        let refusal = |address: usize| {
            let found = object(address)?;
            if Some(found) == own {
                Some("the signal arrived inside gpa's allocator")
            } else if Some(found) == loader {
                Some("the signal arrived inside the dynamic loader")
            } else if Some(found) == unwinder {
                Some("the signal arrived inside the unwinder")
            } else {
                None
            }
        };
        // A checking function reading the program's memory (`libc_calls::program_read`: a
        // wild string pointer given to `puts`, `strcpy`, `printf`): the fault is the
        // program's, below that read's frame; the checking function's frames hold nothing.
        let program_read = super::libc_calls::in_program_read(fault.sp);
        if let Some(reason) = refusal(fault.ip) {
            return Some(reason);
        }
        let mut addresses = [0usize; 64];
        let count = {
            let _inside = InsideAllocator::enter();
            crate::trace::unwind::capture_from(fault.ip, fault.sp, fault.bp, &mut addresses)
        };
        // Return addresses: the call is the byte before. One return address into gpa is
        // not gpa's work when it is the innermost and lies in the checking function whose
        // call of glibc's function is in progress (`libc_calls::forwarding_from`: a `write`
        // raising SIGPIPE, a blocked `read`); any other, or a second one, refuses.
        let forwarding = super::libc_calls::forwarding_from();
        let mut seen_own = false;
        for &address in addresses[..count].iter().skip(1) {
            let call = address.saturating_sub(1);
            let Some(reason) = refusal(call) else {
                continue;
            };
            if program_read && object(call) == own {
                continue;
            }
            // (A checking function is far shorter than 16 KiB.)
            let in_forwarding =
                forwarding != 0 && call >= forwarding && call - forwarding < 16 * 1024;
            if seen_own || !in_forwarding || object(call) != own {
                return Some(reason);
            }
            seen_own = true;
        }
        None
    }
    #[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
    {
        let _ = fault;
        Some("not supported on this platform")
    }
}

/// The report at a fatal signal with the leak check (see "The crash report"): the other
/// threads stopped and scanned as at `exit`; the interrupted thread's stack (from its stack
/// pointer, less the red zone) and its registers, from the signal context, are roots, as
/// every thread's registers are at `exit` (Valgrind 3.19 takes no thread's registers at a
/// fatal signal, only at `exit`; gpa keeps one verdict for both: docs/c_abi.md). The hook
/// runs on the crash stack already. Once per process.
fn signal_report(extra: Option<RawFinding>, fault: &Fault, trace: TraceId) {
    if !process::is_original_process() || REPORTED.swap(true, Ordering::AcqRel) {
        return;
    }
    REPORTING_THREAD.store(crate::os::thread_id(), Ordering::Release);
    // The process ends after the report (`os::signal::end_process` unblocks the signal).
    block_termination_signals();
    let _inside = InsideAllocator::enter();
    let state = super::state();
    if FATAL_SIGNALS.contains(&fault.signal) {
        flush_c_stdio();
    }
    let mut registers = [0usize; 32];
    let count = crate::os::signal::general_registers(fault, &mut registers);
    // Live from the stack pointer less the red zone, with every register; or, when the signal
    // arrived inside the C library (`abort`, `raise`), from the program's frame that called
    // it, with the callee-saved registers of that frame and of the library's frames
    // (`scan::library_caller_frame`), as at `exit`: across the call the other registers are
    // dead for the program, and keep what its last calls left there (gpa's `malloc`'s
    // scratch registers held a lost block's address at `raise`).
    let mut gregs = [0usize; 17];
    gregs[..count.min(16)].copy_from_slice(&registers[..count.min(16)]);
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        gregs[libc::REG_RIP as usize] = fault.ip;
    }
    let (live_from, roots) = match scan::library_caller_frame(&gregs) {
        Some((caller, saved)) if caller > fault.sp => (caller, saved),
        _ => (
            fault.sp.saturating_sub(leakcheck::roots::RED_ZONE),
            std::vec::Vec::from(&registers[..count]),
        ),
    };
    let interrupted = LiveStack {
        stack_pointer: fault.sp,
        live_from,
        registers: leakcheck::roots::ExitRegisters::from_words(&roots),
    };
    let options = scan::Options {
        stop_threads: true,
        run_freeres: false,
        discard_stdio: true,
        heuristics: state.settings.heuristics,
        who_points_at: state
            .settings
            .who_points_at
            .map(|(hidden, length)| (!hidden, length)),
        leaders: leader_order(state.settings.mode),
    };
    EXTRA_FINDING.with(|slot| slot.set(extra));
    let mut outcome = examine(&state.gpa, &[interrupted], &state.settings, options);
    outcome.termination = Some(termination_header(fault, trace, state.settings.frames));
    write_outputs(&outcome, Ending::Signal(fault.signal));
    REPORTING_THREAD.store(0, Ordering::Release);
}

/// What stands for the allocation order among the blocks of `mode` when the leak scan takes
/// clique leaders ([`leakcheck::LeaderOrder`]): guard mode carves each block from a bump area
/// (reused only after its quarantine), so its addresses follow the allocation order, across
/// threads too; check mode's size classes do not, and its blocks carry their serials; fast
/// mode keeps neither.
fn leader_order(mode: settings::Mode) -> leakcheck::LeaderOrder {
    match mode {
        settings::Mode::Guard => leakcheck::LeaderOrder::Addresses,
        settings::Mode::Check => leakcheck::LeaderOrder::Serials,
        settings::Mode::Fast => leakcheck::LeaderOrder::HeadsFirst,
    }
}

std::thread_local! {
    /// The finding of the fault that ends the process, for [`examine`] (the signal report).
    static EXTRA_FINDING: core::cell::Cell<Option<RawFinding>> =
        const { core::cell::Cell::new(None) };
}

/// The name of a signal as Valgrind writes it (`SIGPIPE`; `SIGRT3` for a real-time one).
pub fn signal_name(signal: libc::c_int) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSTKFLT => "SIGSTKFLT",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGIO => "SIGIO",
        libc::SIGPWR => "SIGPWR",
        libc::SIGSYS => "SIGSYS",
        _ if signal > 32 => return format!("SIGRT{}", signal - 32),
        _ => return format!("signal {signal}"),
    };
    name.into()
}

/// A fault that followed gpa's freed-memory fill as a pointer: which register held the fill,
/// and the freed block another register points into (the block the pointer was read from,
/// most likely: the code that loaded it from there still holds its address).
#[derive(Clone, Copy)]
struct FollowedFill {
    /// The register (its name) that holds the fill, and its value.
    fill: (&'static str, usize),
    /// The register pointing into a freed block (its name and value), and the block; `None`
    /// when no register does (the code kept no copy of the address it loaded from).
    freed: Option<((&'static str, usize), FreedBlock)>,
}

/// A freed block still in the quarantine, in the program's terms (after the front guard).
#[derive(Clone, Copy)]
struct FreedBlock {
    user: usize,
    size: usize,
    align: usize,
    alloc_trace: TraceId,
    free_trace: TraceId,
}

/// The freed block whose memory holds `address`, if any (a live block, or memory no GPA
/// manages: `None`).
fn freed_block_at(gpa: &GeneralPurposeAllocator, address: usize) -> Option<FreedBlock> {
    let span = gpa.heap_block_at(address).filter(|span| !span.live)?;
    let pad = guard::pad_at(gpa, span.start, span.size, span.align);
    Some(FreedBlock {
        user: span.start + pad,
        size: span.size - pad,
        align: span.align,
        alloc_trace: span.alloc_trace,
        free_trace: span.free_trace,
    })
}

/// x86-64 `gregs` order (`REG_R8`...`REG_RSP`), as [`crate::os::signal::general_registers`]
/// gives them.
const REGISTER_NAMES: [&str; 16] = [
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp", "rbx", "rdx", "rax",
    "rcx", "rsp",
];

/// Check mode cannot see a program's own loads, so a read of a freed block goes unseen; but a
/// pointer read from one is the fill, `0xaaaaaaaaaaaaaaaa`, no canonical address: following it
/// faults (a general protection fault, `si_addr` 0) where the program natively, or under
/// Valgrind, would have read the stale pointer and gone on (Valgrind: "Invalid read ... inside
/// a block of size N free'd"). Such a fault, with a register pointing into a freed block, is
/// that block's read after free (bug_sweep's `libzmq_map_erase_uaf.cpp`: `std::map`'s
/// increment of an erased iterator). x86-64 only.
fn followed_fill(gpa: &GeneralPurposeAllocator, fault: &Fault) -> Option<FollowedFill> {
    if !fault.is_memory_fault() || fault.fetch || !cfg!(target_arch = "x86_64") {
        return None;
    }
    let mut registers = [0usize; 32];
    let count = crate::os::signal::general_registers(fault, &mut registers);
    let registers = &registers[..count.min(REGISTER_NAMES.len())];
    let fill = if near_fill(fault.address) {
        ("the faulting address", fault.address)
    } else if fault.code == 0x80 {
        let at = registers.iter().position(|&value| near_fill(value))?;
        (REGISTER_NAMES[at], registers[at])
    } else {
        return None;
    };
    let freed = registers.iter().enumerate().find_map(|(at, &value)| {
        let block = freed_block_at(gpa, value)?;
        Some(((REGISTER_NAMES[at], value), block))
    });
    Some(FollowedFill { fill, freed })
}

/// Valgrind's words for the end by a signal, with the stack where it arrived:
/// "Process terminating with default action of signal 13 (SIGPIPE)", then the frames.
fn termination_header(fault: &Fault, trace: TraceId, frames: usize) -> String {
    let mut text = format!(
        "info(gpa): Process terminating with default action of signal {} ({})\n",
        fault.signal,
        signal_name(fault.signal)
    );
    // Valgrind's words for the kernel's reason (`si_code`).
    let reason = match (fault.signal, fault.code) {
        (libc::SIGSEGV, 1) => Some("Access not within mapped region"),
        (libc::SIGSEGV, 2) => Some("Bad permissions for mapped region"),
        (libc::SIGSEGV, 0x80) => Some("General Protection Fault"),
        (libc::SIGBUS, 1) => Some("Invalid address alignment"),
        (libc::SIGBUS, 2) => Some("Non-existent physical address"),
        (libc::SIGBUS, 3) => Some("Object specific hardware error"),
        _ => None,
    };
    match reason {
        Some(reason) if fault.code != 0x80 => {
            text.push_str(&format!("  {reason} at address {:#x}\n", fault.address));
        }
        Some(reason) => text.push_str(&format!("  {reason}\n")),
        None => {}
    }
    if let Some(followed) = followed_fill(&super::state().gpa, fault) {
        let (fill_in, fill) = followed.fill;
        text.push_str(&format!(
            "  {fill_in} holds {fill:#x}, gpa's fill of freed memory: the program followed a \
             pointer read from freed memory"
        ));
        match followed.freed {
            Some(((pointer_in, pointer), block)) => text.push_str(&format!(
                ", most likely from the freed {}-byte block at {:#x} ({pointer_in} = \
                 {pointer:#x} points {} bytes into it)\n",
                block.size,
                block.user,
                pointer.wrapping_sub(block.user) as isize,
            )),
            None => text.push_str(
                " (or from a block's bytes never written since its malloc: a recycled block \
                 holds the fill too); no register points into a freed block\n",
            ),
        }
    }
    if trace.is_some() {
        text.push_str("  where it arrived:\n");
        for frame in report::symbolize::symbolize(trace, frames) {
            text.push_str(&format!("{frame}\n"));
        }
    }
    text
}

/// Whether the program may go on after the fault `finding` describes (see "Going on after a
/// fault" in the module documentation): an access past a block or to a freed one, made by
/// the program (not by gpa: the thread is not inside the allocator, whose locks it may hold),
/// not an instruction fetch.
fn resumable(finding: &RawFinding, fault: &Fault) -> bool {
    matches!(
        finding.kind,
        FindingKind::Overflow
            | FindingKind::Underflow
            | FindingKind::ReadAfterFree
            | FindingKind::WriteAfterFree
    ) && !fault.fetch
        && !crate::gpa::inside_allocator()
}

/// Faults the program went on after, in the program's terms, each site once (its repeats
/// counted on it): reported with the other findings at exit.
static FAULTS: super::recorded::FindingList = super::recorded::FindingList::new();
/// The most faults kept.
const MAX_FAULTS: usize = 10_000;
/// The sites of the faults recorded (a hash of the faulting instruction, the kind and the
/// access trace; 0: free), so that a loop faulting at one instruction is recorded once.
/// Written only by the hook, one thread at a time.
static FAULT_SITES: [AtomicUsize; 1024] = [const { AtomicUsize::new(0) }; 1024];

/// Attributions of one fault that found a live block at its address (stale faults: see
/// [`on_fatal_signal`]), after which it ends the process as before.
const STALE_TRIES: usize = 8;
/// Stale faults run again so far (at most [`RESUME_BUDGET`]).
static STALE_RESUMED: AtomicUsize = AtomicUsize::new(0);
/// Faults stepped over one instruction at a time (each costs two signals and a few system
/// calls, about 30 µs: a loop that read a freed block a million times would take half a
/// minute). Past this many a faulting page is left open until gpa changes it (later accesses
/// to it are not seen), so a program that sweeps over freed memory still finishes.
const STEP_BUDGET: usize = 10_000;
/// Faults the program may go on after, in all; past this many the fault ends the process as
/// it would without gpa.
const RESUME_BUDGET: usize = 100_000;
/// Faults resumed so far.
static RESUMED: AtomicUsize = AtomicUsize::new(0);

/// What [`resume`] did.
enum Resume {
    /// The fault is recorded and the program goes on.
    Resumed,
    /// Not resumed; the fault's site is recorded already.
    Recorded,
    /// Not resumed; the finding has its access trace, for the crash report.
    Refused,
}

/// Records a resumable fault (its access trace, once per instruction, kind and stack) and opens its
/// page for the faulting instruction; see [`Resume`].
fn resume(
    gpa: &GeneralPurposeAllocator,
    finding: &mut RawFinding,
    fault: &Fault,
    frames: usize,
) -> Resume {
    let refused = |seen: bool| {
        if seen {
            Resume::Recorded
        } else {
            Resume::Refused
        }
    };
    let code = match finding.kind {
        FindingKind::Overflow => 1,
        FindingKind::Underflow => 2,
        FindingKind::ReadAfterFree => 3,
        _ => 4,
    };
    // The site is the faulting instruction, the kind and the access's stack: Valgrind tells
    // errors apart by their stacks, so one instruction reached from two callers (or two
    // threads' functions) is two findings, while a loop faulting at one instruction is one.
    let trace = {
        let _inside = InsideAllocator::enter();
        access_trace(fault, frames)
    };
    let key = ((fault.ip.wrapping_mul(8) | code)
        ^ (trace.0 as usize).wrapping_mul(0x9E37_79B9_7F4A_7C15))
    .max(1);
    let mut seen = false;
    let mut slot = None;
    for (index, site) in FAULT_SITES.iter().enumerate() {
        match site.load(Ordering::Acquire) {
            0 => {
                slot = Some(index);
                break;
            }
            known if known == key => {
                seen = true;
                break;
            }
            _ => {}
        }
    }
    // A repeat is put in the program's terms too: its block (when another than the site's
    // first) counts in the site's bytes.
    {
        let _inside = InsideAllocator::enter();
        finding.site_trace = trace;
        if gpa.config().safety {
            *finding = guard::to_user(gpa, *finding);
        }
    }
    let resumed = RESUMED.fetch_add(1, Ordering::Relaxed);
    if resumed >= RESUME_BUDGET {
        if resumed == RESUME_BUDGET {
            crate::os::write_stderr(
                b"gpa: the program went on after 100000 faults on gpa's guards; this one ends \
                  it\n",
            );
        }
        return refused(seen);
    }
    if resumed == STEP_BUDGET {
        crate::os::write_stderr(
            b"gpa: 10000 faults on gpa's guards so far: from now on a page that faults is left \
              open until gpa reuses it, and later accesses to it are not reported\n",
        );
    }
    let keep = || gpa.keeps_freed_contents(fault.address);
    // The second page of one access (a store across a freed block's last page and the guard
    // after it): the access memcheck reports once, counted once.
    let same_access = crate::os::signal::stepping_here();
    if !crate::os::signal::resume_after(fault, resumed >= STEP_BUDGET, &keep) {
        return refused(seen);
    }
    if seen && same_access {
        return Resume::Resumed;
    }
    if seen {
        // Counted on the site's finding, as memcheck counts each error of one context (a
        // loop that faults 100 times at one access: one finding of count 100).
        let repeat = *finding;
        crate::os::signal::with_signals_blocked(&mut || {
            FAULTS.count_repeat(&repeat, |listed, repeat| {
                listed.kind == repeat.kind && listed.site_trace == repeat.site_trace
            });
        });
        return Resume::Resumed;
    }
    // Every signal blocked while the lock is held: the leak scan's stop signal must not
    // stop this thread holding it.
    crate::os::signal::with_signals_blocked(&mut || {
        FAULTS.record(*finding, MAX_FAULTS, false, |_, _| false);
    });
    // The site is published only once its finding is listed: another thread's repeat that
    // sees it seen finds the finding to count on (published first, such a repeat was lost
    // now and then: 99 of 100 writes counted). Two threads that both find the site new
    // list it twice; the exit's grouping (`merge_same_site`) adds their counts up.
    if let Some(slot) = slot {
        FAULT_SITES[slot].store(key, Ordering::Release);
    }
    Resume::Resumed
}

/// The faults the program went on after, taken (without waiting for the lock when
/// `crashing`).
fn take_faults(crashing: bool) -> std::vec::Vec<RawFinding> {
    if crashing {
        FAULTS.try_take()
    } else {
        FAULTS.take()
    }
}

/// A fault whose instruction is in this library's own code: gpa itself went wrong.
fn internal_error(fault: &Fault, access: Option<Access>, size: usize) -> Option<RawFinding> {
    #[cfg(target_arch = "x86_64")]
    {
        let own = crate::os::object_containing(on_fatal_signal as *const () as usize)?;
        if crate::os::object_containing(fault.ip) != Some(own) {
            return None;
        }
        // A push or store next to the stack pointer: the thread ran out of stack while in
        // gpa's code (a checked `memcpy` deep in the program's recursion), the program's
        // stack overflow, left to its own handler (Rust's prints "has overflowed its stack").
        const NEAR: usize = 4096;
        if fault.sp != 0 && fault.address.abs_diff(fault.sp) <= NEAR {
            return None;
        }
        let mut finding = RawFinding::new(FindingKind::InternalError, fault.address);
        finding.access = Some(access.unwrap_or(Access::Read));
        finding.access_size = size;
        finding.offset = Some(0);
        Some(finding)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (fault, access, size);
        None
    }
}

/// The faulting access's stack, unwound from the signal context.
fn access_trace(fault: &Fault, frames: usize) -> TraceId {
    #[cfg(target_arch = "x86_64")]
    {
        let mut addresses = [0usize; crate::trace::MAX_FRAMES];
        let limit = (frames.max(1) + crate::trace::SKIP_BUDGET).min(addresses.len());
        let count = if fault.fetch && fault.sp != 0 && limit > 1 {
            // Code ran from data (a call through a bad pointer): no unwind information there;
            // the call's return address is on top of the stack.
            // SAFETY: `sp` is the faulting thread's stack pointer: mapped and readable.
            let caller = unsafe { (fault.sp as *const usize).read() };
            addresses[0] = fault.ip;
            1 + crate::trace::unwind::capture_from(
                caller,
                fault.sp + 8,
                fault.bp,
                &mut addresses[1..limit],
            )
        } else {
            crate::trace::unwind::capture_from(
                fault.ip,
                fault.sp,
                fault.bp,
                &mut addresses[..limit],
            )
        };
        // The first frame is the faulting instruction itself, not a return address: the
        // symbolizer looks every frame up one byte back (the call before a return address),
        // which put a fault on a function's first instruction, or right after a call, in the
        // previous function or line (`fault_first_insn.c`). One byte on, it finds `ip`.
        if count != 0 && addresses[0] == fault.ip {
            addresses[0] = fault.ip + 1;
        }
        crate::trace::intern_addresses(&addresses[..count])
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        crate::gpa::fault::access_trace(fault, frames)
    }
}

/// Writes the report after a fatal signal without the leak check (`reason`: why not): the
/// findings so far (taken without waiting for a lock) plus `extra`, after flushing the
/// program's stdio. Once per process.
fn crash_report(extra: Option<RawFinding>, fault: &Fault, trace: TraceId, reason: &'static str) {
    let signal = fault.signal;
    if !process::is_original_process() || REPORTED.swap(true, Ordering::AcqRel) {
        return;
    }
    block_termination_signals();
    crate::gpa::enter_emergency_allocation();
    report::symbolize::enter_crash_report();
    let _inside = InsideAllocator::enter();
    if FATAL_SIGNALS.contains(&signal) {
        flush_c_stdio();
    }
    let state = super::state();
    let mut outcome = unchecked_outcome(extra, reason);
    outcome.termination = Some(termination_header(fault, trace, state.settings.frames));
    write_outputs(&outcome, Ending::Signal(signal));
}

/// The report without the leak check (`reason`: why not): the findings so far, taken without
/// waiting for a lock, plus `extra`. The caller has entered the emergency allocation and
/// the symbolizer's crash mode: nothing here waits for a lock another thread may hold.
fn unchecked_outcome(extra: Option<RawFinding>, reason: &'static str) -> Outcome {
    let state = super::state();
    let gpa = &state.gpa;
    let recorded = Recorded {
        gpa: gpa.try_take_raw_findings().unwrap_or_default(),
        guard: guard::try_take_findings(),
        family: super::family::try_take_findings(),
        calls: take_call_findings(true),
        faults: take_faults(true),
    };
    let (suppressions, warnings) = load_suppressions(&state.settings);
    let mut outcome = Outcome::new(&state.settings, warnings);
    outcome.leaks_checked = false;
    outcome.leaks_not_checked = Some(reason);
    let raw = recorded.merged(gpa, extra);
    add_findings(
        &mut outcome,
        raw,
        &state.settings,
        &suppressions,
        &Maps::read(),
    );
    outcome
}

extern "C" {
    static stdout: *mut libc::FILE;
    static stderr: *mut libc::FILE;
    fn ftrylockfile(stream: *mut libc::FILE) -> libc::c_int;
    fn funlockfile(stream: *mut libc::FILE);
    fn fflush_unlocked(stream: *mut libc::FILE) -> libc::c_int;
}

/// Flushes the C library's `stdout` and `stderr` if their locks can be taken without waiting
/// (see the module documentation).
fn flush_c_stdio() {
    // SAFETY: glibc's `stdout`/`stderr` are valid streams (or null if closed by the program);
    // a stream is flushed only while we hold its lock.
    unsafe {
        for stream in [stdout, stderr] {
            if !stream.is_null() && ftrylockfile(stream) == 0 {
                fflush_unlocked(stream);
                funlockfile(stream);
            }
        }
    }
}

unsafe extern "C" fn at_exit(_: *mut libc::c_void) {
    EXIT_REPORT_TAKEN_BY.store(crate::os::thread_id(), Ordering::Release);
    // The program may call `exit` on a misaligned stack (it jumped into the function that
    // calls it: how2heap's `house_of_lore`), where glibc's exit handlers run fine.
    crate::os::stack::on_aligned_stack(|| report_at_end(Ending::Exit));
}

extern "C" fn at_quick_exit_hook() {
    crate::os::stack::on_aligned_stack(|| report_at_end(Ending::QuickExit));
}

/// The report at the end of the process (once; never in a `vfork` child, which shares its
/// parent's memory and must leave it alone).
#[inline(never)]
pub fn report_at_end(ending: Ending) {
    if !process::is_original_process() || REPORTED.swap(true, Ordering::AcqRel) {
        return;
    }
    let _inside = InsideAllocator::enter();
    let state = super::state();
    // Registered in check and guard modes only; a program that changes `GPA_MODE` before its
    // first `atexit` (read from the environment then, [`cxa_atexit`]) changes nothing.
    // Nor under a seccomp filter that would kill the report's system calls: the process
    // ends as it would have without gpa (`confine::report_left_out` says why).
    if !state.settings.mode.checks() || process::confine::report_left_out() {
        REPORT_FINISHED.store(true, Ordering::Release);
        return;
    }
    REPORTING_THREAD.store(crate::os::thread_id(), Ordering::Release);
    // A signal that would end the process must not end it halfway through the report: this
    // thread blocks them meanwhile (another thread that takes one waits for the report:
    // [`on_fatal_signal`]).
    let before = block_termination_signals();
    // Another thread keeps one of gpa's locks (see [`lock_held_elsewhere`]): the findings
    // so far, without the leak check, and nothing waits for that lock (the rest of the
    // process's life allocates gpa's own memory from the emergency reserve).
    if let Some(reason) = lock_held_elsewhere(&state.gpa, LOCK_PATIENCE) {
        crate::gpa::enter_emergency_allocation();
        report::symbolize::enter_crash_report();
        let outcome = unchecked_outcome(None, reason);
        write_outputs(&outcome, ending);
        report_written(&before);
        return;
    }
    let caller = leakcheck::roots::caller_frame(report_at_end as *const () as usize, true);
    // Found here, before the work may move to another stack.
    let this_thread = LiveStack::this_thread_all(&caller);
    let options = scan::Options {
        stop_threads: !matches!(ending, Ending::Signal(_)),
        run_freeres: !matches!(ending, Ending::Signal(_)) && state.settings.run_freeres,
        discard_stdio: ending != Ending::Exit,
        heuristics: state.settings.heuristics,
        who_points_at: state
            .settings
            .who_points_at
            .map(|(hidden, length)| (!hidden, length)),
        leaders: leader_order(state.settings.mode),
    };
    crate::os::signal::with_stack_room(&mut || {
        let outcome = examine(&state.gpa, &this_thread, &state.settings, options);
        write_outputs(&outcome, ending);
    });
    report_written(&before);
}

/// After the exit report is written: marks it finished, ends the process by a signal another
/// thread took meanwhile (as it would have ended), and restores this thread's signal mask
/// `before` the report (a signal sent to this thread is delivered then: its handler ends the
/// process).
fn report_written(before: &libc::sigset_t) {
    REPORTING_THREAD.store(0, Ordering::Release);
    REPORT_FINISHED.store(true, Ordering::Release);
    let deferred = DEFERRED_SIGNAL.load(Ordering::Acquire);
    if deferred != 0 {
        crate::os::signal::end_process(deferred);
    }
    // SAFETY: restoring the mask saved before the report.
    unsafe { crate::os::signal::set_mask(libc::SIG_SETMASK, before, core::ptr::null_mut()) };
}

/// Blocks, in the calling thread, the signals that end the process (but the leak scan's stop
/// signal): a report must not be cut short by one, not even by the `SIGPIPE` of its own write
/// to a closed stderr. Returns the mask before.
fn block_termination_signals() -> libc::sigset_t {
    let mut blocked: libc::sigset_t = unsafe_empty_set();
    for signal in 1..=libc::SIGRTMAX() {
        if crate::os::signal::ends_process(signal) && signal != leak_stop_signal() {
            // SAFETY: a valid set.
            unsafe { libc::sigaddset(&mut blocked, signal) };
        }
    }
    let mut before: libc::sigset_t = unsafe_empty_set();
    // SAFETY: valid sets; this thread's mask.
    unsafe { crate::os::signal::set_mask(libc::SIG_BLOCK, &blocked, &mut before) };
    before
}

/// An empty signal set.
fn unsafe_empty_set() -> libc::sigset_t {
    // SAFETY: all-zero bytes are a valid `sigset_t`, emptied again by `sigemptyset`.
    let mut set: libc::sigset_t = unsafe { core::mem::zeroed() };
    // SAFETY: a valid set.
    unsafe { libc::sigemptyset(&mut set) };
    set
}

/// Before `exec` replaces this image: the findings recorded so far (and the writes after free
/// into this thread's quarantined and freed blocks), without a leak verdict, as Valgrind does. The leak scan is skipped
/// because the memory is not leaked but discarded, and because a `fork` child that `exec`s
/// would otherwise scan all of its parent's heap first.
pub fn report_before_exec() {
    let _inside = InsideAllocator::enter();
    let state = super::state();
    state.gpa.flush_thread_quarantine();
    let maps = Maps::read();
    state
        .gpa
        .check_thread_freed_slots(&|start, length| super::scan::readable(&maps, start, length));
    if state.gpa.config().safety {
        scan::check_other_threads_freed_blocks(&state.gpa);
    }
    let (suppressions, warnings) = load_suppressions(&state.settings);
    let mut outcome = Outcome::new(&state.settings, warnings);
    add_recorded_findings(
        &mut outcome,
        &state.gpa,
        &state.settings,
        &suppressions,
        &maps,
    );
    write_outputs(&outcome, Ending::Exec);
}

/// What the exit check found.
pub struct Outcome {
    /// Findings during the run, then the loss records of the shown kinds, in report order.
    pub report: Report,
    /// For each finding of `report`: its loss record number (leaks), or 0.
    pub record_numbers: std::vec::Vec<usize>,
    /// How many loss records there are in all (shown or not, suppressed or not).
    pub record_count: usize,
    /// For each finding of `report`, with `GPA_GEN_SUPPRESSIONS`: a suppression entry.
    pub generated: std::vec::Vec<Option<String>>,
    /// The leak summary.
    pub totals: Totals,
    /// Findings and unsuppressed loss records that count as errors.
    pub errors: usize,
    /// Findings other than leaks silenced by a suppression.
    pub suppressed_findings: usize,
    /// Loss kinds that count as errors.
    pub error_kinds: KindSet,
    /// Threads stopped for the scan, and threads that could not be (their heaps unexamined).
    pub threads: (usize, usize),
    /// Problems reading suppression files, and the allocator found elsewhere.
    pub warnings: std::vec::Vec<String>,
    /// Whether leaks were looked for (not after a fatal signal that interrupted gpa itself,
    /// the dynamic loader or the unwinder).
    pub leaks_checked: bool,
    /// Why leaks were not looked for, when they were not.
    pub leaks_not_checked: Option<&'static str>,
    /// After a fatal signal: Valgrind's "Process terminating with default action of signal
    /// N" and the stack where it arrived.
    pub termination: Option<String>,
    /// The allocation functions the program's calls reach elsewhere than in gpa, and where
    /// (`allocator_elsewhere` in the JSON; see [`allocator_elsewhere`]).
    pub allocator_elsewhere: Option<String>,
}

impl Outcome {
    /// An outcome with nothing found yet.
    fn new(settings: &Settings, warnings: std::vec::Vec<String>) -> Outcome {
        Outcome {
            report: Report::default(),
            record_numbers: std::vec::Vec::new(),
            record_count: 0,
            generated: std::vec::Vec::new(),
            totals: Totals::default(),
            errors: 0,
            suppressed_findings: 0,
            error_kinds: settings.error_kinds,
            threads: (0, 0),
            warnings,
            leaks_checked: true,
            leaks_not_checked: None,
            termination: None,
            allocator_elsewhere: None,
        }
    }
}

/// The findings recorded during the run (not leaks), each unless suppressed, with a
/// generated suppression entry when asked for.
fn add_recorded_findings(
    outcome: &mut Outcome,
    gpa: &GeneralPurposeAllocator,
    settings: &Settings,
    suppressions: &Suppressions,
    maps: &Maps,
) {
    add_findings(
        outcome,
        recorded_findings(gpa),
        settings,
        suppressions,
        maps,
    );
}

/// Adds `findings` (merged, each with the bytes of its blocks) to the outcome, each unless
/// suppressed, with a generated suppression entry when asked for.
fn add_findings(
    outcome: &mut Outcome,
    findings: std::vec::Vec<Merged>,
    settings: &Settings,
    suppressions: &Suppressions,
    maps: &Maps,
) {
    for (raw, total, blocks) in findings {
        let trace = if raw.site_trace.is_some() {
            raw.site_trace
        } else {
            raw.alloc_trace
        };
        let needs_stack = !suppressions.is_empty() || settings.gen_suppressions;
        let stack = if needs_stack {
            suppression_stack(trace, maps)
        } else {
            std::vec::Vec::new()
        };
        let frames_view = stack_view(&stack);
        if suppressions.match_finding(raw.kind, &frames_view).is_some() {
            outcome.suppressed_findings += 1;
            continue;
        }
        let mut finding = report::render(&raw, settings.frames);
        finding.size = total;
        finding.blocks = blocks;
        if raw.count > 1 && raw.kind == FindingKind::FishyValue {
            finding.message.push_str(&format!(
                " (and {} more time(s) from the same call)",
                raw.count - 1
            ));
        } else if raw.count > 1 && !raw.alloc_trace.is_some() {
            // No block (an invalid free of memory no allocator gave, a wild access): the
            // same stack again, at this address or another (`merge_same_site`).
            finding.message.push_str(&format!(
                " (and {} more time(s) from the same place)",
                raw.count - 1
            ));
        } else if raw.count > 1 && raw.access.is_some() {
            // Accesses (faults the program went on after, libc calls' ranges) repeat at one
            // place, on one block or several: memcheck counts each as an error of the context.
            finding.message.push_str(&format!(
                " (and {} more time(s) at the same place)",
                raw.count - 1
            ));
        } else if raw.count > 1 && blocks == raw.count {
            finding.message.push_str(&format!(
                " (and {} more block(s) from the same allocation site)",
                raw.count - 1
            ));
        } else if raw.count > 1 && blocks <= 1 {
            // One block freed again and again (memcheck: that many errors of one context,
            // on "a block of size N").
            finding.message.push_str(&format!(
                " (and {} more time(s) on the same block)",
                raw.count - 1
            ));
        } else if raw.count > 1 {
            finding.message.push_str(&format!(
                " (and {} more time(s), on {blocks} blocks from the same allocation site)",
                raw.count - 1
            ));
        }
        outcome.errors += 1;
        outcome.report.findings.push(finding);
        outcome.record_numbers.push(0);
        outcome.generated.push(
            settings
                .gen_suppressions
                .then(|| suppress::generate(raw.kind, None, &generated_view(&frames_view)))
                .flatten(),
        );
    }
}

/// Why leaks were not checked when the memory map could not be read at exit.
const MAPS_UNREADABLE: &str = "the process's memory map (/proc/self/maps) could not be read: \
     /proc is not reachable from its root (a chroot) or a seccomp filter refuses to open it, \
     and gpa did not see the process confine itself; without the map there are no roots, and \
     every block would be called definitely lost";

/// Why leaks were not checked when the memory map could not be opened for want of a
/// descriptor (a `fork` child of a process that lowered its hard `RLIMIT_NOFILE` to the
/// descriptors in use: the map its parent opened ahead shows the parent's memory).
const MAPS_NO_DESCRIPTOR: &str = "the process's memory map (/proc/self/maps) could not be \
     opened: the hard RLIMIT_NOFILE this process inherited (lowered to the descriptors in use \
     before the fork that made it; Valgrind refuses such a limit) leaves no descriptor to open \
     it with; without the map there are no roots, and every block would be called definitely \
     lost";

/// Checks the quarantine, scans for leaks and builds the report (see the module docs).
///
/// `this_thread`: the calling thread's stacks and where their live frames begin (scanned as
/// roots).
pub fn examine(
    gpa: &GeneralPurposeAllocator,
    this_thread: &[LiveStack],
    settings: &Settings,
    options: scan::Options,
) -> Outcome {
    // The scan reads `/proc/self/maps` and the thread list: room for their descriptors in a
    // process that lowered its soft `RLIMIT_NOFILE` to the descriptors it has open (without
    // the map, leaks could not be checked).
    let _room = process::sys::DescriptorRoom::new();
    // Before the scan stops the other threads (`dlsym` takes the loader's lock).
    let allocator_elsewhere = allocator_elsewhere();
    let scan = scan::scan(gpa, this_thread, options);
    let read_maps = Maps::try_read();
    let maps = read_maps.clone().unwrap_or_default();
    // Only the guards the program left readable: it may have protected pages of its own
    // blocks with `mprotect` (Valgrind's `leak-segv-jmp.c`), and a fault here would lose the
    // whole report (`leak_protected_block.c`).
    let readable_guards: std::vec::Vec<LiveBlock> = scan
        .gpa_blocks
        .iter()
        .filter(|block| scan::readable(&maps, block.address, guard_length(gpa, block)))
        .copied()
        .collect();
    guard::check_live(gpa, &readable_guards, scan.threads_run_on);
    let (suppressions, mut warnings) = load_suppressions(settings);
    let frames = settings.frames;
    if let Some((names, object)) = &allocator_elsewhere {
        warnings.push(format!(
            "the program's {names} {} from {object}, not from gpa: the blocks allocated there \
             are not checked and not in the leak report (LD_PRELOAD cannot replace a \
             definition in the executable)",
            if names.contains(',') { "come" } else { "comes" }
        ));
    }
    let mut outcome = Outcome::new(settings, warnings);
    outcome.allocator_elsewhere =
        allocator_elsewhere.map(|(names, object)| format!("{names} from {object}"));
    outcome.threads = (scan.stopped_threads, scan.missed_threads);
    add_recorded_findings(&mut outcome, gpa, settings, &suppressions, &maps);
    if read_maps.is_none() {
        // No roots: every block would be "definitely lost". Said instead of judged.
        outcome.leaks_checked = false;
        outcome.leaks_not_checked = Some(if process::confine::descriptors_limited() {
            MAPS_NO_DESCRIPTOR
        } else {
            MAPS_UNREADABLE
        });
        return outcome;
    }
    let records = leakcheck::loss_records(&scan.judged);
    outcome.record_count = records.len();
    let leak_entries = suppressions
        .entries()
        .iter()
        .filter_map(|entry| match entry.target {
            suppress::Target::Leak(kinds) => Some(kinds),
            _ => None,
        })
        .fold(KindSet::NONE, |all, kinds| {
            kinds.kinds().fold(all, |set, kind| set.with(kind))
        });
    for (index, record) in records.iter().enumerate() {
        let shown = settings.show_kinds.contains(record.kind);
        let may_be_suppressed = leak_entries.contains(record.kind);
        let stack = if may_be_suppressed || (shown && settings.gen_suppressions) {
            suppression_stack(record.alloc_trace, &maps)
        } else {
            std::vec::Vec::new()
        };
        let frames_view = stack_view(&stack);
        let suppressed =
            may_be_suppressed && suppressions.match_leak(record.kind, &frames_view).is_some();
        outcome.totals.add(record, suppressed);
        if suppressed {
            continue;
        }
        if settings.error_kinds.contains(record.kind) {
            outcome.errors += 1;
        }
        if !shown {
            continue;
        }
        let mut finding = report::render(&record.to_raw_finding(), frames);
        finding.message = record.header(index + 1, records.len());
        outcome.report.findings.push(finding);
        outcome.record_numbers.push(index + 1);
        outcome.generated.push(
            settings
                .gen_suppressions
                .then(|| suppress::generate(FindingKind::Leak, Some(record.kind), &frames_view))
                .flatten(),
        );
    }
    outcome
}

/// Where a PLT stub at `address` jumps (its GOT slot's value): `jmp *disp(%rip)`, with an
/// `endbr64` and a `bnd` prefix where the executable was built with CET (`.plt.sec`);
/// `address` itself when the code there is not such a stub or cannot be read.
fn through_plt(address: usize) -> usize {
    let mut code = [0u8; 12];
    if leakcheck::maps::read_own_memory(address, &mut code) != Some(code.len()) {
        return address;
    }
    let mut at = 0;
    if code[..4] == [0xf3, 0x0f, 0x1e, 0xfa] {
        at = 4;
    }
    if code[at] == 0xf2 {
        at += 1;
    }
    if code[at..at + 2] != [0xff, 0x25] {
        return address;
    }
    let displacement = i32::from_le_bytes([code[at + 2], code[at + 3], code[at + 4], code[at + 5]]);
    let slot = (address + at + 6).wrapping_add_signed(displacement as isize);
    let mut target = [0u8; 8];
    if leakcheck::maps::read_own_memory(slot, &mut target) != Some(target.len()) {
        return address;
    }
    usize::from_le_bytes(target)
}

/// A warning when the program's calls to `malloc`, `free`, `calloc` or `realloc` do not
/// reach this library: the executable (or a library ahead of this one) defines them itself
/// (Valgrind's `static_malloc.c`). `LD_PRELOAD` cannot replace a definition in the executable,
/// so the blocks they allocate are neither checked nor in the leak report, and a report
/// without findings would claim more than was checked. Valgrind replaces them there too.
/// Gives the names (comma-separated) and the object that defines them.
fn allocator_elsewhere() -> Option<(String, String)> {
    let object_of = |address: usize| -> Option<std::ffi::CString> {
        // SAFETY: `Dl_info` is plain data (pointers and integers), valid when zeroed.
        let mut info: libc::Dl_info = unsafe { core::mem::zeroed() };
        // SAFETY: `dladdr` only reads the loader's tables and fills `info`.
        let found = unsafe { libc::dladdr(address as *const libc::c_void, &mut info) } != 0;
        if !found || info.dli_fname.is_null() {
            return None;
        }
        // SAFETY: `dli_fname` is the loader's NUL-terminated name of the object.
        Some(unsafe { std::ffi::CStr::from_ptr(info.dli_fname) }.to_owned())
    };
    let own = object_of(allocator_elsewhere as *const () as usize)?;
    let mut names = std::vec::Vec::new();
    let mut elsewhere = None;
    for name in [c"malloc", c"free", c"calloc", c"realloc"] {
        // SAFETY: `dlsym` with the default scope and a NUL-terminated name.
        let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) } as usize;
        if address == 0 {
            continue;
        }
        // A non-PIE executable that takes the function's address gets a "canonical" PLT
        // entry: `dlsym` answers that stub in the executable (Debian's `/usr/bin/python3`),
        // which only jumps through its GOT slot to whoever defines the function.
        let address = through_plt(address);
        match object_of(address) {
            Some(object) if object == own => {}
            object => {
                names.push(name.to_string_lossy().into_owned());
                elsewhere = elsewhere.or(object);
            }
        }
    }
    if names.is_empty() {
        return None;
    }
    let object = elsewhere.map_or_else(
        || "outside any loaded object".to_owned(),
        |object| match object.to_string_lossy() {
            name if name.is_empty() => "the executable".to_owned(),
            name => name.into_owned(),
        },
    );
    Some((names.join(", "), object))
}

/// The bytes of a live block (in the GPA's terms) that [`guard::check_live`] reads: its front
/// guard, or all of a block shorter than that.
fn guard_length(gpa: &GeneralPurposeAllocator, block: &LiveBlock) -> usize {
    let pad = gpa
        .block_layout(block.address as *const u8)
        .map_or(guard::FRONT, |layout| {
            guard::pad_at(gpa, block.address, layout.size(), layout.align())
        });
    pad.min(block.size)
}

/// The user's suppression files (`GPA_SUPPRESSIONS`) and the built-in set; problems become
/// warnings in the report.
fn load_suppressions(settings: &Settings) -> (Suppressions, std::vec::Vec<String>) {
    use std::os::unix::ffi::OsStrExt;
    let mut set = if settings.default_suppressions {
        Suppressions::built_in()
    } else {
        Suppressions::new()
    };
    let mut warnings = std::vec::Vec::new();
    for path in settings
        .suppressions
        .unwrap_or_default()
        .split(|&byte| byte == b':')
        .filter(|path| !path.is_empty())
    {
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
        match Suppressions::from_file(path) {
            Ok(more) => set.extend(more),
            Err(error) => warnings.push(format!("suppressions not used: {error}")),
        }
    }
    (set, warnings)
}

/// One frame of a suppression stack, owned.
struct OwnedFrame {
    function: Option<String>,
    object: Option<String>,
    file: Option<String>,
    line: Option<u32>,
}

/// The stack suppressions see for `trace` (Valgrind's: the entry point the program called,
/// then every frame after it), each frame with its object file.
fn suppression_stack(trace: TraceId, maps: &Maps) -> std::vec::Vec<OwnedFrame> {
    if !trace.is_some() {
        return std::vec::Vec::new();
    }
    let owned = |frame: report::Frame| OwnedFrame {
        object: frame
            .module
            .clone()
            .or_else(|| maps.find(frame.address).map(|m| m.path.clone()))
            .filter(|path| !path.is_empty()),
        function: frame.function,
        file: frame.file,
        line: frame.line,
    };
    let mut frames = report::symbolize::suppression_frames(trace);
    // Valgrind's stacks end at `main` (the C start-up code below it is not shown).
    if let Some(main) = frames
        .iter()
        .position(|frame| frame.function.as_deref() == Some("main"))
    {
        frames.truncate(main + 1);
    }
    frames.into_iter().map(owned).collect()
}

/// The frames a generated suppression lists: the stack up to the program's outermost own
/// frame (the runtime's thread start-up frames differ between tools: `clone3` here, `clone`
/// under Valgrind), so that the entry works in gpa and in Valgrind alike.
fn generated_view<'a>(stack: &[StackFrame<'a>]) -> std::vec::Vec<StackFrame<'a>> {
    let end = stack
        .iter()
        .position(|frame| {
            frame
                .function
                .is_some_and(report::symbolize::is_runtime_boundary)
        })
        .unwrap_or(stack.len());
    stack[..end].to_vec()
}

fn stack_view(stack: &[OwnedFrame]) -> std::vec::Vec<StackFrame<'_>> {
    stack
        .iter()
        .map(|frame| StackFrame {
            function: frame.function.as_deref(),
            object: frame.object.as_deref(),
            file: frame.file.as_deref(),
            line: frame.line,
        })
        .collect()
}

/// The findings recorded during the run (the GPA's, the front guards' and the allocation
/// families'), each once, those of one site merged; the records are cleared. The second
/// element is the bytes of all the merged blocks.
fn recorded_findings(gpa: &GeneralPurposeAllocator) -> std::vec::Vec<Merged> {
    let recorded = Recorded {
        gpa: gpa.take_raw_findings(),
        guard: guard::take_findings(),
        family: super::family::take_findings(),
        calls: take_call_findings(false),
        faults: take_faults(false),
    };
    // The fault that ends the process, in a signal report.
    let extra = EXTRA_FINDING.with(|slot| slot.take());
    recorded.merged(gpa, extra)
}

/// The findings of checked libc calls (`libc_calls`), taken; without waiting for the lock
/// when `crashing`.
fn take_call_findings(crashing: bool) -> std::vec::Vec<RawFinding> {
    #[cfg(target_arch = "x86_64")]
    {
        if crashing {
            super::libc_calls::try_take_findings()
        } else {
            super::libc_calls::take_findings()
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = crashing;
        std::vec::Vec::new()
    }
}

/// The raw findings of the GPA, the front guards and the allocation families.
struct Recorded {
    gpa: std::vec::Vec<RawFinding>,
    guard: std::vec::Vec<RawFinding>,
    family: std::vec::Vec<RawFinding>,
    /// The checked libc calls' (already in the program's terms).
    calls: std::vec::Vec<RawFinding>,
    /// The faults the program went on after (already in the program's terms).
    faults: std::vec::Vec<RawFinding>,
}

impl Recorded {
    /// Each finding once (plus `extra`, a fault's), in the program's terms, those of one site
    /// merged, each with the bytes of its blocks.
    ///
    /// The libc calls' findings come first and are kept per call site; a later finding of the
    /// same kind on the same block is the same mistake seen again (a redzone or guard a call
    /// wrote over, found at `free` or exit; the fault of glibc's function after the check in
    /// guard mode) and is dropped, unless all the calls did there was read.
    fn merged(
        self,
        gpa: &GeneralPurposeAllocator,
        extra: Option<RawFinding>,
    ) -> std::vec::Vec<Merged> {
        let pads = gpa.config().safety;
        let gpa_findings = self.gpa.into_iter().map(|finding| {
            if pads {
                guard::to_user(gpa, finding)
            } else {
                finding
            }
        });
        // Sets, not scans: a program that overflowed a million blocks has a million findings
        // here, and a scan per finding would keep its exit busy for hours.
        let mut raw: std::vec::Vec<RawFinding> = std::vec::Vec::new();
        // (kind, block, allocation trace) of the libc calls' findings that wrote or freed
        // (not only read).
        let mut not_reads: HashSet<(FindingKind, usize, TraceId)> = HashSet::default();
        // (kind, block, access) of the libc calls' findings.
        let mut by_calls: HashSet<(FindingKind, usize, Option<report::Access>)> =
            HashSet::default();
        // (kind, block) of every finding kept after the libc calls'.
        let mut after_calls: HashSet<(FindingKind, usize)> = HashSet::default();
        // (kind, allocation trace) of the libc calls' findings that count blocks whose
        // addresses were not kept (`recorded::KEPT_APART`): the GPA's finding on such a
        // block (its redzone, found at `free` or exit) is the call's mistake seen again.
        let calls_counted: HashSet<(FindingKind, TraceId)> = self
            .calls
            .iter()
            .filter(|call| call.count > 1 && call.access != Some(report::Access::Read))
            .map(|call| (call.kind, call.alloc_trace))
            .collect();
        let calls = self.calls.len();
        for (index, finding) in self
            .calls
            .into_iter()
            .chain(gpa_findings)
            .chain(self.guard)
            .chain(self.family)
            .enumerate()
        {
            // A block's damage found by the GPA after a checked call made it is that call's
            // finding (its redzone or guard, found at `free` or exit): the same kind on a
            // block at the same address from the same allocation site. Not the address
            // alone: a freed block's address is reused, and a block from another site that
            // a program overflowed there is another mistake. Nor are the GPA's own findings
            // matched with each other: a thousand blocks overflowed at one address in a loop
            // are a thousand mistakes.
            let block = (finding.kind, finding.address, finding.alloc_trace);
            if finding.call.is_none()
                && (not_reads.contains(&block)
                    || calls_counted.contains(&(finding.kind, finding.alloc_trace)))
            {
                continue;
            }
            if index < calls {
                if finding.access != Some(report::Access::Read) {
                    not_reads.insert(block);
                }
                by_calls.insert((finding.kind, finding.address, finding.access));
            } else {
                after_calls.insert((finding.kind, finding.address));
            }
            raw.push(finding);
        }
        // The fault of glibc's function after its call was checked: the same access. Not a
        // fault in the program's own code on a block a call was reported on (a loop reading
        // past the block a `memmove` read past before): another access, another finding, as
        // Valgrind's contexts count it.
        let checked = |fault: &RawFinding| {
            fault.in_checked_call && by_calls.contains(&(fault.kind, fault.address, fault.access))
        };
        let extra = extra
            .filter(|fault| !checked(fault) && !after_calls.contains(&(fault.kind, fault.address)));
        // Faults the program went on after: each instruction's once already (the same block
        // reached from two places is two mistakes, as Valgrind counts them).
        for fault in self.faults {
            if !checked(&fault) {
                raw.push(fault);
            }
        }
        raw.extend(extra);
        merge_same_site(raw)
    }
}

/// A hash set with a fixed-key hasher: no random seed to ask the OS for at exit.
type HashSet<T> = crate::report::FixedHashSet<T>;

/// What [`merge_same_site`] groups by: kind, allocation, free and detection traces, and the
/// call and argument (fishy values).
type MergeSite = (
    FindingKind,
    TraceId,
    TraceId,
    TraceId,
    Option<&'static str>,
    Option<&'static str>,
);

/// A finding of [`merge_same_site`] with the findings of its site it stands for: their bytes
/// (each block's once) and how many blocks they concern.
type Merged = (RawFinding, usize, usize);

/// Findings of one kind with the same traces (say, every block of one allocation site
/// overflowed, found at exit) become one finding with a count, like a leak group. The
/// finding describes its first block; the second element is the bytes of all its blocks,
/// the third how many blocks: findings that name their block ([`RawFinding::block`]) count
/// each block once (one block freed ten times: nine double frees, one block of its size, as
/// memcheck says "9 errors from 1 context" on a "block of size 4"; ten blocks that took one
/// address in turn, each freed twice: ten blocks), the others one block each.
/// Findings of no block (fishy arguments, invalid frees of memory no allocator gave, wild
/// accesses) are grouped by kind, call, argument and call stack, whatever their value or
/// address, as memcheck's error contexts group them: a loop calling `malloc` with a
/// thousand huge sizes is one finding of count 1,000 that shows the first value, not a
/// thousand. Findings without any trace (`GPA_FRAMES=0`) stay apart.
fn merge_same_site(raw: std::vec::Vec<RawFinding>) -> std::vec::Vec<Merged> {
    let mut merged: std::vec::Vec<Merged> = std::vec::Vec::new();
    // Where each site's finding is in `merged` (findings with an allocation trace or a
    // detection trace).
    let mut sites: crate::report::FixedHashMap<MergeSite, usize> = Default::default();
    // The blocks each merged finding has counted (by `merged` index and block serial).
    let mut blocks_seen: HashSet<(usize, u64)> = Default::default();
    for finding in raw {
        let site = (
            finding.kind,
            finding.alloc_trace,
            finding.free_trace,
            finding.site_trace,
            finding.call,
            finding.argument,
        );
        // A finding of no block (an invalid free of memory no allocator gave, a wild access)
        // with a trace is grouped by that trace as well: memcheck's error contexts compare
        // the stack, not the address, so `while (n--) free("a");` is one invalid free of
        // count `n` (its first address shown) under Valgrind; one finding each made a loop of
        // 100,000 such frees print 100,000 reports and reach 1.2 GB at exit, and one killed
        // in the loop ran out of memory writing its report.
        let groups = finding.alloc_trace.is_some() || finding.site_trace.is_some();
        let same = if groups {
            sites.get(&site).copied()
        } else {
            None
        };
        let index = same.unwrap_or(merged.len());
        // A finding on one named block counts it once: named again, it adds no block and
        // no bytes. A finding that counts several (the GPA's record past its bound, a fault
        // repeated) counts as it says.
        let named = finding.block != 0 && finding.count == 1 && finding.blocks_bytes == 0;
        let (bytes, blocks) = if !named {
            (finding.bytes(), finding.count)
        } else if blocks_seen.insert((index, finding.block)) {
            (finding.size, 1)
        } else {
            (0, 0)
        };
        match same {
            Some(index) => {
                let (seen, total, seen_blocks) = &mut merged[index];
                seen.count += finding.count;
                *total += bytes;
                *seen_blocks += blocks;
            }
            None => {
                if groups {
                    sites.insert(site, merged.len());
                }
                merged.push((finding, bytes, blocks));
            }
        }
    }
    // The totals carry the bytes now (the caller words the count itself).
    for (finding, _, _) in &mut merged {
        finding.blocks_bytes = 0;
    }
    merged
}

/// The report as one JSON object (see the module docs).
pub fn to_json(outcome: &Outcome) -> serde_json::Value {
    let mut json = outcome.report.to_json();
    let totals = &outcome.totals;
    if let Some(object) = json.as_object_mut() {
        if let Some(findings) = object.get_mut("findings").and_then(|f| f.as_array_mut()) {
            for (index, finding) in findings.iter_mut().enumerate() {
                if let Some(&number) = outcome.record_numbers.get(index).filter(|&&n| n != 0) {
                    finding["loss_record"] = number.into();
                    finding["loss_records"] = outcome.record_count.into();
                    let kind = outcome.report.findings[index].leak_kind;
                    finding["error"] = kind.is_some_and(|k| outcome.error_kinds.contains(k)).into();
                }
                if let Some(Some(entry)) = outcome.generated.get(index) {
                    finding["suppression"] = entry.clone().into();
                }
            }
        }
        object.insert("pid".into(), std::process::id().into());
        object.insert("program".into(), program().into());
        object.insert(
            "leaked_blocks".into(),
            (totals.definite.blocks + totals.indirect.blocks).into(),
        );
        object.insert(
            "leaked_bytes".into(),
            (totals.definite.bytes + totals.indirect.bytes).into(),
        );
        object.insert("reachable_blocks".into(), totals.reachable.blocks.into());
        object.insert("reachable_bytes".into(), totals.reachable.bytes.into());
        object.insert("leak_summary".into(), totals.to_json());
        object.insert("errors".into(), outcome.errors.into());
        object.insert(
            "suppressed_findings".into(),
            outcome.suppressed_findings.into(),
        );
        object.insert(
            "libc_blocks_released".into(),
            super::foreign::released_count().into(),
        );
        object.insert("threads_stopped".into(), outcome.threads.0.into());
        object.insert("threads_not_examined".into(), outcome.threads.1.into());
        if !outcome.warnings.is_empty() {
            object.insert("warnings".into(), outcome.warnings.clone().into());
        }
        if let Some(elsewhere) = &outcome.allocator_elsewhere {
            object.insert("allocator_elsewhere".into(), elsewhere.clone().into());
        }
    }
    json
}

/// The report as text; empty when there is nothing to say: findings, then loss records,
/// each a one-line header and its stacks (`error(gpa):` for what counts as an error,
/// `info(gpa):` for kinds only shown), then the leak summary.
pub fn to_text(outcome: &Outcome) -> String {
    let mut text = String::new();
    for warning in &outcome.warnings {
        text.push_str(&format!("warning(gpa): {warning}\n"));
    }
    for (index, finding) in outcome.report.findings.iter().enumerate() {
        let rendered = finding.to_string();
        let is_error = finding
            .leak_kind
            .is_none_or(|kind| outcome.error_kinds.contains(kind));
        if is_error {
            text.push_str(&rendered);
        } else {
            text.push_str(&rendered.replacen("error(gpa): ", "info(gpa): ", 1));
        }
        if let Some(Some(entry)) = outcome.generated.get(index) {
            text.push_str(entry);
        }
        text.push('\n');
    }
    let released = super::foreign::released_count();
    if released != 0 {
        text.push_str(&format!(
            "info(gpa): {released} block(s) allocated by libc's own malloc (not by gpa: a \
             library loaded with RTLD_DEEPBIND?) were freed through gpa and handed back to libc\n"
        ));
    }
    // Said whatever was found: a run with no finding must not read as a clean verdict over
    // heaps that were not looked at (lifecycle.md item 27).
    if outcome.threads.1 != 0 {
        text.push_str(&format!(
            "info(gpa): {} running thread(s) could not be stopped; their heaps were not \
             examined (their blocks are not listed; blocks they point to count as still \
             reachable)\n",
            outcome.threads.1
        ));
    }
    if outcome.report.findings.is_empty() {
        return text;
    }
    if outcome.leaks_checked {
        text.push_str(&outcome.totals.to_text());
    }
    if outcome.suppressed_findings != 0 {
        text.push_str(&format!(
            "info(gpa): {} other finding(s) suppressed\n",
            outcome.suppressed_findings
        ));
    }
    text
}

/// `argv[0]` of this image as it was at start-up (or `/proc/self/exe`).
fn program() -> String {
    if let Some(program) = process::program() {
        return String::from_utf8_lossy(program).into_owned();
    }
    std::fs::read_link(crate::os::proc_file("exe"))
        .map(|path| path.display().to_string())
        .unwrap_or_default()
}

/// A path saved at start-up.
fn env_path(saved: &settings::SavedPath) -> Option<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = saved.get()?;
    Some(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

/// Writes the report where start-up settings said: a `report` event with the JSON and text
/// beside it under `gpa run`, else `GPA_JSON` and `GPA_LOG` (or stderr).
fn write_outputs(outcome: &Outcome, ending: Ending) {
    let mut text = to_text(outcome);
    if let (false, Some(reason)) = (
        matches!(ending, Ending::Signal(_)),
        outcome.leaks_not_checked,
    ) {
        text.push_str(&format!("warning(gpa): leaks were not checked: {reason}\n"));
    }
    if let Ending::Signal(signal) = ending {
        // Said even when nothing else is: the process did not end as it meant to.
        let header = outcome.termination.clone().unwrap_or_default();
        text.insert_str(0, &header);
        if let Some(reason) = outcome.leaks_not_checked {
            text.push_str(&format!(
                "info(gpa): the process was ended by signal {signal} ({}); leaks were not \
                 checked: {reason}\n",
                signal_name(signal)
            ));
        }
    }
    let mut json = to_json(outcome);
    json["ended"] = ending.name().into();
    if let Ending::Signal(signal) = ending {
        json["signal"] = signal.into();
        json["signal_name"] = signal_name(signal).into();
        json["leaks_checked"] = outcome.leaks_checked.into();
        if let Some(reason) = outcome.leaks_not_checked {
            json["leaks_not_checked"] = reason.into();
        }
    } else if let Some(reason) = outcome.leaks_not_checked {
        json["leaks_checked"] = false.into();
        json["leaks_not_checked"] = reason.into();
    }
    if let Some(dir) = settings::REPORT_DIR.get() {
        let _room = process::sys::DescriptorRoom::new();
        let mut event = events::Event::new("report");
        event.field("ended", ending.name().as_bytes());
        match ending {
            Ending::UnderscoreExit(status) => {
                event.number("status", status as u64);
            }
            Ending::Signal(signal) => {
                event.number("signal", signal as u64);
            }
            _ => {}
        }
        // Into the files made ahead for a confined process, or through the report
        // directory's descriptor after a `chroot` (see `events`).
        events::record_report(dir, &event, json.to_string().as_bytes(), text.as_bytes());
        return;
    }
    if let Some(path) = env_path(&settings::JSON) {
        let _ = std::fs::write(path, json.to_string());
    }
    if text.is_empty() {
        return;
    }
    match env_path(&settings::LOG) {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path);
            if let Ok(mut file) = file {
                let _ = file.write_all(text.as_bytes());
            }
        }
        None => crate::os::write_stderr(text.as_bytes()),
    }
}
