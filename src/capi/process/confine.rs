//! Processes that confine themselves: a `chroot`, a seccomp filter, a Landlock ruleset, a hard
//! `RLIMIT_NOFILE` below the descriptors gpa holds ([`before_descriptor_limit`]).
//!
//! # Why
//! gpa's exit report needs files: `/proc/self/maps` (the leak scan's roots; without it every
//! block was "definitely lost"), `/proc/self/task` (the threads to stop), the loaded objects'
//! symbols (the frames' names), and under `gpa run` new files in the report directory. A
//! process that changes its root to a directory without `/proc` (privilege-separated daemons'
//! jails), or installs a seccomp filter that refuses `open` and `mprotect` (sshd's
//! pre-authentication child, vsftpd, sandboxed workers, systemd's `SystemCallFilter=`), or a
//! Landlock ruleset, reaches none of them afterwards. Valgrind, which read every object's
//! symbols at load, tracks the memory map itself and writes to a descriptor, reports them all.
//!
//! # Design
//! Just before the call that confines the process ([`chroot`](super::chroot), [`prctl`] with
//! `PR_SET_SECCOMP`, and the exported `syscall` ([`super::syscall_watched`]) with
//! `SYS_seccomp`, `SYS_landlock_restrict_self`, `SYS_chroot` or `SYS_pivot_root`: libseccomp
//! and Landlock users reach the kernel through `syscall`),
//! [`before_confinement`] gets what the report needs while it still can: descriptors on `/proc`
//! and on this process's `maps` ([`crate::os::keep_proc`]; not for a new mount namespace,
//! whose `/proc` stays), the limits the allocator reads ([`crate::os::freeze_limits`], for a
//! filter), the loaded objects' symbols
//! (`open_loaded_objects`, check and guard modes), and under `gpa run` the report directory's
//! descriptor (a new root) or the report's own files, created empty ahead of time (a filter or
//! ruleset: `events::reserve_report`). All descriptors sit at 512 or above, close-on-exec; a
//! `fork` child forgets those that name its parent (`maps`, the reserved report).
//!
//! Allocator calls made after a filter refuses `mprotect` are served by replacing pages with
//! `mmap` (`os::protect`). Every other system call is passed to the kernel unchanged, with
//! `errno` as the program expects it.
//!
use core::ffi::{c_int, c_long, c_ulong};
use core::sync::atomic::{AtomicBool, Ordering};

use super::{checking, events, settings, sys};

/// What a process is about to do to itself.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Confinement {
    /// A new root directory (`chroot`): paths change, system calls stay allowed.
    Root,
    /// A seccomp filter or a Landlock ruleset: `open`, `mprotect` and others may be refused
    /// from now on.
    Filter,
    /// `RLIMIT_NOFILE`'s hard limit set below the descriptors gpa holds: no file can be
    /// opened from now on (system calls and paths stay as they were).
    Descriptors,
}

/// Gets, while it still can, what the exit report will need (see the module docs). Allocates
/// only to read the objects' symbols; `errno` is kept.
pub fn before_confinement(confinement: Confinement) {
    if checking() {
        // The leak scan's memory map and thread list: a jail rarely has `/proc`, a filter
        // refuses `open`. (Not for a new mount namespace, whose `/proc` stays: the program's
        // descriptor table is left as it was there.)
        let errno = sys::errno();
        crate::os::keep_proc();
        sys::set_errno(errno);
    }
    // The objects' symbols, the report directory.
    super::before_paths_change();
    if confinement == Confinement::Filter {
        // The allocator's `getrlimit` may be refused or kill from now on (every mode).
        crate::os::freeze_limits();
    }
    if confinement != Confinement::Root && checking() {
        if let Some(dir) = settings::REPORT_DIR.get() {
            let errno = sys::errno();
            events::reserve_report(dir);
            if confinement == Confinement::Descriptors {
                // For the children it forks, which can open no file either.
                events::make_spares(dir);
            }
            sys::set_errno(errno);
        }
    }
}

/// `setrlimit` or `prlimit` on this process (their wrappers, or `syscall` with
/// `SYS_setrlimit` or `SYS_prlimit64`) about to set `resource`'s limits to the `struct
/// rlimit` at `limit` (its second word the hard limit, read only where readable: a bad
/// pointer is the kernel's `EFAULT` to give). A hard `RLIMIT_NOFILE` below
/// [`crate::os::held::HELD_FROM`] leaves no descriptor for the report's files at exit (a
/// process that lowers it to the descriptors it has open, as privilege-separated daemons'
/// children do; Valgrind, which writes to a descriptor it opened at start, reports them), and
/// the process was listed "not checked". So it is a confinement
/// ([`Confinement::Descriptors`]): the memory map's descriptor is kept, the loaded objects'
/// files are opened (for the report's frames) and, under `gpa run`, the report's files are
/// made now, all held above the new limit (a descriptor over the limit stays usable). Only
/// when checking; `errno` is kept.
pub fn before_descriptor_limit(resource: c_int, limit: usize) {
    if resource != libc::RLIMIT_NOFILE as c_int || limit == 0 || !checking() {
        return;
    }
    let hard = limit.wrapping_add(8);
    if !(crate::os::readable(hard) && crate::os::readable(hard.wrapping_add(7))) {
        return;
    }
    // SAFETY: a word whose first and last bytes are readable (at most two pages, both
    // mapped).
    let hard = unsafe { (hard as *const u64).read_unaligned() };
    if hard < crate::os::held::HELD_FROM as u64 + 16 {
        DESCRIPTORS_LIMITED.store(true, Ordering::Relaxed);
        before_confinement(Confinement::Descriptors);
    }
}

/// Set by [`before_descriptor_limit`]; inherited by `fork` children.
static DESCRIPTORS_LIMITED: AtomicBool = AtomicBool::new(false);

/// Whether this process, or the one it was forked from, set its hard `RLIMIT_NOFILE` below
/// the descriptors gpa holds (through a call gpa sees): a file it cannot open may be for want
/// of a descriptor.
pub fn descriptors_limited() -> bool {
    DESCRIPTORS_LIMITED.load(Ordering::Relaxed)
}

/// `PR_SET_SECCOMP` (Linux's `prctl` option 22).
const PR_SET_SECCOMP: c_int = 22;
/// `SECCOMP_MODE_STRICT` and `SECCOMP_MODE_FILTER`, as `prctl` and `seccomp` take them.
const SECCOMP_MODES: [c_ulong; 2] = [1, 2];
/// `seccomp`'s operations that install a filter or strict mode: `SECCOMP_SET_MODE_STRICT` (0)
/// and `SECCOMP_SET_MODE_FILTER` (1).
pub const SECCOMP_SET_MODES: [c_ulong; 2] = [0, 1];

/// The calls of gpa's exit report that a seccomp mode about to be installed would stop
/// ([`crate::os::seccomp`]): strict mode's, or those of the filter program at `program`.
/// To be [`Pending::settle`]d once the kernel answered. Where the mode stops a call the
/// fault handler needs ([`SIGNAL_CALLS`]), the handled signals go back to the kernel now
/// ([`crate::os::signal::step_aside`]). `errno` is kept.
///
/// Called after [`before_confinement`], which made the report's files under `gpa run`: where
/// the filter would kill the report and the reason cannot be written at exit (no event file
/// reserved: `RLIMIT_NOFILE` at the descriptors in use; or `RLIMIT_FSIZE` too low), the
/// process is marked `confined` now ([`events::mark_confined`]).
pub fn stopped_by_mode(strict: bool, program: usize) -> Pending {
    let errno = sys::errno();
    crate::os::seccomp::note_file_size_limit();
    let stopped = if strict {
        crate::os::seccomp::stopped_by_strict_mode()
    } else {
        crate::os::seccomp::stopped_by_program_at(program).unwrap_or(0)
    };
    if crate::os::seccomp::needed(stopped) != 0 && checking() {
        let writable = crate::os::seccomp::file_size_limit() >= LEFT_OUT_ROOM
            && crate::os::held::get(crate::os::held::Role::ReservedEvent).is_some();
        if let (false, Some(dir)) = (writable, settings::REPORT_DIR.get()) {
            events::mark_confined(dir);
        }
    }
    // The fault handler cannot end the process by its signal, nor chain to the program's
    // handler, under a filter that kills these: the signals go back to the kernel now, while
    // `rt_sigaction` is allowed (lifecycle.md item 18).
    let aside = stops_signal_calls(stopped).then(crate::os::signal::step_aside);
    sys::set_errno(errno);
    Pending { stopped, aside }
}

/// The system calls gpa's signal handler makes to end the process by its signal (`raise`:
/// `rt_sigprocmask`, `getpid`, `gettid`, `tgkill`; the default action restored with
/// `rt_sigaction`) or to go on after a handler (`rt_sigreturn`).
const SIGNAL_CALLS: [&str; 6] = [
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "tgkill",
    "getpid",
    "gettid",
];

/// A seccomp mode about to be installed: the calls of the exit report it stops, and the
/// signals handed back to the kernel ahead of it. [`Pending::settle`] once the kernel answered.
#[must_use]
pub struct Pending {
    stopped: u64,
    aside: Option<crate::os::signal::SteppedAside>,
}

impl Pending {
    /// Records the stopped calls when the kernel took the mode (`installed`), or takes the
    /// signals back when it refused it.
    pub fn settle(self, installed: bool) {
        if installed {
            crate::os::seccomp::commit(self.stopped);
            // Said now under `gpa run` (not on stderr, which is the program's until it
            // ends): however the process ends from here on, by `exit` or by a signal the
            // kernel handles alone (the signals stepped aside), it is listed as confined.
            // (Not for a filter that stops only calls the report does without: a process
            // with one thread at its end is reported.)
            if crate::os::seccomp::needed(self.stopped) != 0 && settings::REPORT_DIR.get().is_some()
            {
                let _ = report_left_out();
            }
        } else if let Some(aside) = self.aside {
            let errno = sys::errno();
            crate::os::signal::step_back(aside);
            sys::set_errno(errno);
        }
    }
}

/// The `RLIMIT_FSIZE` below which [`report_left_out`] cannot write its reason.
const LEFT_OUT_ROOM: u64 = 4096;

/// C `prctl(option, ...)`: with `PR_SET_SECCOMP`, [`before_confinement`] first, and the
/// calls the filter will stop noted once it is in place; then the system call, as glibc's
/// `prctl` makes it (its variadic arguments read as four `unsigned long`s, as glibc reads
/// them).
///
/// # Safety
/// As for C's `prctl`: the arguments are what `option` expects.
pub unsafe fn prctl(option: c_int, a2: c_ulong, a3: c_ulong, a4: c_ulong, a5: c_ulong) -> c_int {
    let seccomp = option == PR_SET_SECCOMP && SECCOMP_MODES.contains(&a2);
    let mut pending = None;
    if seccomp {
        before_confinement(Confinement::Filter);
        pending = Some(stopped_by_mode(a2 == SECCOMP_MODES[0], a3 as usize));
    }
    // SAFETY: the caller's arguments, passed to the system call glibc's `prctl` makes.
    let result = unsafe {
        super::syscall::raw(
            libc::SYS_prctl,
            [
                option as c_long,
                a2 as c_long,
                a3 as c_long,
                a4 as c_long,
                a5 as c_long,
                0,
            ],
        ) as c_int
    };
    if let Some(pending) = pending {
        pending.settle(result == 0);
    }
    result
}

/// Whether this process's report (or profile) must be left out because a seccomp filter it
/// installed would kill one of the system calls the report makes ([`crate::os::seccomp`]):
/// the process then ends as it would have without gpa (its own status, not `SIGSYS`). The
/// first time, it says so with the calls the filter allows: an `unreported` event in the
/// report files made ahead under `gpa run` (which lists the process as not checked, with
/// the calls), else a line on stderr. Takes no lock and allocates nothing.
///
/// A filter that stops only calls the report does without
/// ([`crate::os::seccomp::DONE_WITHOUT`]) leaves the report in, unless it stops
/// `getdents64` and the process has other threads not all found without the list of
/// `/proc/self/task` (`leakcheck::unlisted`) or its thread count cannot be read: that is
/// decided here, when the report is due.
pub fn report_left_out() -> bool {
    let stopped = stopped_now();
    if stopped == 0 {
        return false;
    }
    static SAID: AtomicBool = AtomicBool::new(false);
    // Said once, with `write` (when the filter allows it, and within `RLIMIT_FSIZE`: a write
    // past it raises `SIGXFSZ`, which would end the process all the same).
    if SAID.swap(true, Ordering::AcqRel)
        || crate::os::seccomp::stops("write")
        || crate::os::seccomp::file_size_limit() < LEFT_OUT_ROOM
    {
        return true;
    }
    let mut why = [0u8; 900];
    let mut len = 0;
    let mut push = |bytes: &[u8]| {
        let take = bytes.len().min(why.len() - len);
        why[len..len + take].copy_from_slice(&bytes[..take]);
        len += take;
    };
    push(LEFT_OUT_BEFORE);
    let mut names = [0u8; 600];
    let named = crate::os::seccomp::names(stopped, &mut names);
    push(&names[..named]);
    if crate::os::seccomp::needed(stopped) == 0 {
        // Only the thread list is missing: say so.
        push(LEFT_OUT_UNLISTED);
    }
    push(LEFT_OUT_AFTER);
    let errno = sys::errno();
    if settings::REPORT_DIR.get().is_none() || !events::record_unreported(&why[..len]) {
        let mut line = [0u8; 1000];
        let total = (len + 6).min(line.len());
        line[..5].copy_from_slice(b"gpa: ");
        line[5..total - 1].copy_from_slice(&why[..total - 6]);
        line[total - 1] = b'\n';
        // SAFETY: a live byte slice written to stderr; the result does not matter.
        unsafe { crate::os::write_nocancel(2, line.as_ptr(), total) };
    }
    sys::set_errno(errno);
    true
}

/// The calls of the exit report this process's filters stop (all of them, to name them),
/// when the report cannot be made now: one of them is a call the report cannot do without,
/// or `getdents64` while the process has other threads that cannot all be found without it
/// (`leakcheck::unlisted`: a thread on a stack of the program's own, or started by a raw
/// `clone`; or their number cannot be read). Else 0. Reads `/proc/self/status` (and, with
/// other threads, `/proc/self/maps`) only where a filter stops `getdents64` and nothing the
/// report needs.
fn stopped_now() -> u64 {
    let stopped = crate::os::seccomp::stopped();
    let left_out = crate::os::seccomp::needed(stopped) != 0 || !threads_found(stopped);
    if left_out {
        stopped
    } else {
        0
    }
}

/// Whether the exit scan can find every thread of the process: always, unless a filter
/// stops `getdents64` (the list of `/proc/self/task`); then when it has one thread, or its
/// threads are all found without the list (`leakcheck::world::for_each_task`).
fn threads_found(stopped: u64) -> bool {
    const LISTING: u64 = crate::os::seccomp::bit_of("getdents64");
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    let found = || crate::leakcheck::world::for_each_task(&mut |_| {});
    #[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
    let found = || crate::os::thread_count() == Some(1);
    stopped & LISTING == 0 || found()
}

/// The reason [`report_left_out`] gives, before and after the calls' names.
const LEFT_OUT_BEFORE: &[u8] =
    b"its seccomp filter would kill the process on system calls gpa's exit report makes (";
const LEFT_OUT_UNLISTED: &[u8] =
    b"; it has a thread gpa could not find without getdents64: not in glibc's thread \
      descriptors, and not among the thread ids it could ask (more than 131072 given out since \
      the process started, or /proc/sys/kernel/ns_last_pid unreadable)";
const LEFT_OUT_AFTER: &[u8] =
    b"), so the report was left out and the process ended as it would have without gpa";

/// The variable that passes the calls this process's seccomp filters stop to a new image
/// (`exec` keeps the filters; the new image's gpa cannot read them): `GPA_SECCOMP_STOPPED`,
/// the set in hexadecimal (bit `i` for `os::seccomp::CALLS[i]`).
pub const STOPPED_NAME: &[u8] = b"GPA_SECCOMP_STOPPED";
/// Bytes of the longest `GPA_SECCOMP_STOPPED=<hex>` entry and its NUL.
pub const STOPPED_CAPACITY: usize = 40;

/// Writes `GPA_SECCOMP_STOPPED=<hex>` and its NUL into `buffer` when a filter of this
/// process stops calls; the entry (`environment::with_restored` passes it on).
pub fn stopped_entry(buffer: &mut [u8; STOPPED_CAPACITY]) -> Option<&core::ffi::CStr> {
    let set = crate::os::seccomp::stopped();
    if set == 0 {
        return None;
    }
    let mut at = STOPPED_NAME.len();
    buffer[..at].copy_from_slice(STOPPED_NAME);
    buffer[at] = b'=';
    at += 1;
    let digits = (64 - set.leading_zeros()).div_ceil(4) as usize;
    for shift in (0..digits).rev() {
        buffer[at] = b"0123456789abcdef"[(set >> (shift * 4)) as usize & 15];
        at += 1;
    }
    buffer[at] = 0;
    core::ffi::CStr::from_bytes_with_nul(&buffer[..=at]).ok()
}

/// At start-up, before anything that may make a stopped call (first in the library's
/// constructor): the calls that the filters of the image that `exec`ed this one stop
/// (`GPA_SECCOMP_STOPPED`), inherited with them. They are committed; the signals are left
/// to the kernel where the handler's calls are stopped ([`crate::os::signal::step_aside`],
/// before any handler is installed).
pub fn inherit_stopped() {
    let Some(value) = settings::env_bytes(c"GPA_SECCOMP_STOPPED") else {
        return;
    };
    let set = core::str::from_utf8(value)
        .ok()
        .filter(|digits| !digits.is_empty() && digits.len() <= 16)
        .and_then(|digits| u64::from_str_radix(digits, 16).ok())
        .unwrap_or(0);
    if set == 0 {
        return;
    }
    crate::os::seccomp::commit(set);
    if stops_signal_calls(set) {
        let _ = crate::os::signal::step_aside();
    }
}

/// After start-up under `gpa run`, in an image that inherited a filter that stops calls of
/// its report ([`inherit_stopped`]): the report's files are made now where the filter allows
/// it (as `before_confinement` makes them before a filter goes in), and the reason is
/// written, so that the process is listed as confined however it ends.
pub fn after_start() {
    if crate::os::seccomp::stopped() == 0 || !checking() {
        return;
    }
    let Some(dir) = settings::REPORT_DIR.get() else {
        return;
    };
    let errno = sys::errno();
    if !["openat", "fcntl", "close", "getpid"]
        .iter()
        .any(|name| crate::os::seccomp::stops(name))
    {
        events::reserve_report(dir);
    }
    let _ = report_left_out();
    sys::set_errno(errno);
}

/// Whether `set` holds a call of [`SIGNAL_CALLS`].
fn stops_signal_calls(set: u64) -> bool {
    SIGNAL_CALLS
        .iter()
        .any(|name| crate::os::seccomp::index_of(name).is_some_and(|i| set & (1 << i) != 0))
}

/// Whether a seccomp filter of this process would kill a call that writing an event makes
/// (`getpid`, `getppid`, `openat`, `write`, `close`): a `fork` child's, an `exec`'s or a
/// spawn's event is then left out, so that the program goes on as it would without gpa.
pub fn events_stopped() -> bool {
    ["getpid", "getppid", "openat", "write", "close"]
        .iter()
        .any(|name| crate::os::seccomp::stops(name))
}
