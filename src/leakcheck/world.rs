//! Stopping the other threads of the process for a leak scan, and reading their registers
//! (Linux on x86-64; the platform part of a leak check: no policy here).
//!
//! # Design
//! LeakSanitizer stops threads with `ptrace` from a helper process; that needs a permission
//! containers often withhold. Here each thread stops itself: the scanning thread enumerates
//! `/proc/self/task` and sends each other thread a real-time signal with `tgkill`. The handler
//! copies the interrupted context's general-purpose registers, its stack pointer and the
//! thread pointer (glibc's thread descriptor) into a slot preallocated for that thread, marks
//! the slot stopped and waits on a futex until the scan releases it (or forever: a scan at
//! process exit never does, and `exit_group` ends the waiting threads). The enumeration is
//! repeated until it finds no new thread, since a thread not yet stopped may create one.
//!
//! The caller passes `lock`/`unlock` closures run around the signalling: a scan takes there the
//! locks it will need later (the allocator's, the dynamic loader's), so that no thread is
//! stopped while holding one. In between, nothing here allocates or takes a lock: the slots
//! are allocated before `lock` (and the attempt restarts with more slots if threads appear).
//!
//! A thread that keeps blocking the signal (its `SigBlk` mask, checked after a grace period,
//! since a thread being created blocks every signal for a moment) or does not answer in time
//! is reported as *missed*: it keeps running, and the caller treats its memory conservatively.
//!
//! # Invariants
//! * The handler touches only its own slot and the session's futex words, with atomics, and
//!   restores `errno`; it never allocates.
//! * A session is freed only once every thread that stopped has left the handler
//!   (`departed`); a session that is never resumed stays allocated.

use core::sync::atomic::{AtomicI32, AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

/// General-purpose registers kept per stopped thread (x86-64: r8-r15, rdi, rsi, rbp, rbx,
/// rdx, rax, rcx, rsp, rip).
pub const REGISTERS: usize = 17;

/// A thread stopped by [`stop_others`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoppedThread {
    /// Its kernel thread id.
    pub tid: i32,
    /// Its stack pointer when it was interrupted.
    pub stack_pointer: usize,
    /// Its general-purpose registers when it was interrupted.
    pub registers: [usize; REGISTERS],
    /// Its thread pointer (glibc: the address of its `struct pthread`).
    pub thread_pointer: usize,
}

const EMPTY: u32 = 0;
const SIGNALLED: u32 = 1;
const STOPPED: u32 = 2;
const MISSED: u32 = 3;

struct Slot {
    tid: AtomicI32,
    state: AtomicU32,
    stack_pointer: AtomicUsize,
    registers: [AtomicUsize; REGISTERS],
    thread_pointer: AtomicUsize,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            tid: AtomicI32::new(0),
            state: AtomicU32::new(EMPTY),
            stack_pointer: AtomicUsize::new(0),
            registers: [const { AtomicUsize::new(0) }; REGISTERS],
            thread_pointer: AtomicUsize::new(0),
        }
    }
}

struct Session {
    slots: std::vec::Vec<Slot>,
    used: AtomicUsize,
    release: AtomicU32,
    departed: AtomicUsize,
}

static SESSION: AtomicPtr<Session> = AtomicPtr::new(core::ptr::null_mut());
/// One stop at a time in the process: held from [`stop_others`] to [`Stopped::resume`] (for
/// ever when the threads are never resumed).
static STOPPING: AtomicU32 = AtomicU32::new(0);

/// The threads of one stop: those that stopped, and those that could not be stopped.
pub struct Stopped {
    session: *mut Session,
    /// Threads stopped in the signal handler, waiting for [`Stopped::resume`].
    pub threads: std::vec::Vec<StoppedThread>,
    /// Threads that block the signal or did not answer in time: still running.
    pub missed: std::vec::Vec<i32>,
}

impl Stopped {
    /// Lets the stopped threads run again and waits until each has left the handler.
    pub fn resume(self) {
        // SAFETY: the session stays allocated until this function frees it below.
        let session = unsafe { &*self.session };
        session.release.store(1, Ordering::Release);
        futex_wake_all(&session.release);
        let stopped = self.threads.len();
        while session.departed.load(Ordering::Acquire) < stopped {
            crate::os::yield_now();
        }
        let _ = SESSION.compare_exchange(
            self.session,
            core::ptr::null_mut(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if self.missed.is_empty() {
            // SAFETY: every stopped thread has left the handler and no signal is pending for
            // a missed one (there is none), so nobody holds the session any more. With missed
            // threads, a late handler may still look at it: it is kept.
            drop(unsafe { std::boxed::Box::from_raw(self.session) });
        }
        STOPPING.store(0, Ordering::Release);
    }
}

/// The signal used to stop threads: a real-time signal near the top of the range, where
/// programs rarely install handlers of their own.
pub(crate) fn stop_signal() -> libc::c_int {
    libc::SIGRTMAX() - 2
}

/// Stops every other thread of the process (see the module docs). `lock` runs before the
/// first signal and `unlock` after the last thread stopped or was given up on; `timeout`
/// bounds the wait for each round of signals, and a thread still blocking the signal after
/// `blocked_grace` ([`BLOCKED_GRACE`] unless the caller will retry anyway) is missed.
pub fn stop_others(
    lock: &mut dyn FnMut(),
    unlock: &mut dyn FnMut(),
    timeout: Duration,
    blocked_grace: Duration,
) -> Stopped {
    while STOPPING
        .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        crate::os::yield_now();
    }
    install_handler();
    let mut capacity = count_tasks() * 2 + 16;
    loop {
        let session = std::boxed::Box::into_raw(std::boxed::Box::new(Session {
            slots: (0..capacity).map(|_| Slot::new()).collect(),
            used: AtomicUsize::new(0),
            release: AtomicU32::new(0),
            departed: AtomicUsize::new(0),
        }));
        // Allocated before any thread stops: a stopped thread may hold the allocator's lock.
        let mut stopped = Stopped {
            session,
            threads: std::vec::Vec::with_capacity(capacity),
            missed: std::vec::Vec::with_capacity(capacity),
        };
        SESSION.store(session, Ordering::Release);
        lock();
        // SAFETY: allocated above; freed only by `resume`.
        let complete = signal_until_stable(unsafe { &*session }, timeout, blocked_grace);
        unlock();
        // SAFETY: as above.
        collect(unsafe { &*session }, &mut stopped);
        if complete {
            return stopped;
        }
        // More threads than slots: let them go and try again with room for all.
        stopped.resume();
        while STOPPING
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            crate::os::yield_now();
        }
        capacity *= 2;
    }
}

/// Fills `stopped` (whose vectors have room for every slot) from the session's slots.
fn collect(session: &Session, stopped: &mut Stopped) {
    let (threads, missed) = (&mut stopped.threads, &mut stopped.missed);
    for slot in &session.slots[..session.used.load(Ordering::Acquire)] {
        let tid = slot.tid.load(Ordering::Relaxed);
        match slot.state.load(Ordering::Acquire) {
            STOPPED => {
                let mut registers = [0; REGISTERS];
                for (value, saved) in registers.iter_mut().zip(&slot.registers) {
                    *value = saved.load(Ordering::Relaxed);
                }
                threads.push(StoppedThread {
                    tid,
                    stack_pointer: slot.stack_pointer.load(Ordering::Relaxed),
                    registers,
                    thread_pointer: slot.thread_pointer.load(Ordering::Relaxed),
                });
            }
            MISSED => missed.push(tid),
            _ => {} // gone before it was signalled
        }
    }
}

/// Signals every thread not yet in the session, waits for them, and repeats until a pass
/// finds no new thread. `false` when the slots ran out.
fn signal_until_stable(session: &Session, timeout: Duration, blocked_grace: Duration) -> bool {
    let me = crate::os::thread_id() as i32;
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let signal = stop_signal();
    loop {
        let mut new_threads = false;
        let mut full = false;
        for_each_task(&mut |tid| {
            if tid == me || full || has_ended(tid) {
                return;
            }
            let used = session.used.load(Ordering::Relaxed);
            if session.slots[..used]
                .iter()
                .any(|slot| slot.tid.load(Ordering::Relaxed) == tid)
            {
                return;
            }
            if used == session.slots.len() {
                full = true;
                return;
            }
            let slot = &session.slots[used];
            slot.tid.store(tid, Ordering::Relaxed);
            slot.state.store(SIGNALLED, Ordering::Release);
            session.used.store(used + 1, Ordering::Release);
            new_threads = true;
            // SAFETY: tgkill with our own pid; a thread that exited meanwhile gives ESRCH.
            // A thread blocking the signal gets it when it unblocks (a new thread starts with
            // every signal blocked, for a moment).
            let sent = unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, signal) };
            if sent != 0 {
                slot.state.store(EMPTY, Ordering::Release);
            }
        });
        if full {
            return false;
        }
        if !new_threads {
            return true;
        }
        wait_for_slots(session, timeout, blocked_grace);
    }
}

/// How long a thread may block the stop signal before it is given up on (a thread being
/// created blocks every signal for a moment), for a caller that does not retry.
pub const BLOCKED_GRACE: Duration = Duration::from_millis(500);

/// Waits until no slot is `SIGNALLED`. A thread that still blocks the signal after
/// `blocked_grace`, and every straggler after `timeout`, becomes `MISSED`.
fn wait_for_slots(session: &Session, timeout: Duration, blocked_grace: Duration) {
    let start = now();
    let signal = stop_signal();
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut masks_checked = false;
    let mut rounds = 0u32;
    loop {
        let used = session.used.load(Ordering::Acquire);
        let waiting = session.slots[..used]
            .iter()
            .filter(|slot| slot.state.load(Ordering::Acquire) == SIGNALLED)
            .count();
        if waiting == 0 {
            return;
        }
        rounds += 1;
        if rounds % 64 == 0 {
            // A thread that ended after it was signalled never answers: forget it.
            for slot in &session.slots[..used] {
                let tid = slot.tid.load(Ordering::Relaxed);
                // SAFETY: signal 0 only checks that the thread exists.
                let alive = unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, 0) } == 0;
                if !alive {
                    let _ = slot.state.compare_exchange(
                        SIGNALLED,
                        EMPTY,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                }
            }
        }
        let elapsed = now() - start;
        if !masks_checked && elapsed >= blocked_grace {
            masks_checked = true;
            for slot in &session.slots[..used] {
                if slot.state.load(Ordering::Acquire) == SIGNALLED
                    && blocks_signal(slot.tid.load(Ordering::Relaxed), signal)
                {
                    let _ = slot.state.compare_exchange(
                        SIGNALLED,
                        MISSED,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    );
                }
            }
        }
        if elapsed >= timeout {
            for slot in &session.slots[..used] {
                let _ = slot.state.compare_exchange(
                    SIGNALLED,
                    MISSED,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
            }
            return;
        }
        // SAFETY: a plain sleep; no preconditions.
        unsafe {
            let pause = libc::timespec {
                tv_sec: 0,
                tv_nsec: 100_000,
            };
            libc::nanosleep(&pause, core::ptr::null_mut());
        }
    }
}

fn now() -> Duration {
    let mut time = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `time` is a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut time) };
    Duration::new(time.tv_sec as u64, time.tv_nsec as u32)
}

fn install_handler() {
    // SAFETY: a zeroed, then filled `sigaction` with an `SA_SIGINFO` handler of the right
    // signature; the handler is async-signal-safe (see the module invariants).
    unsafe {
        let mut action: libc::sigaction = core::mem::zeroed();
        action.sa_sigaction = on_stop_signal
            as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void)
            as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigfillset(&mut action.sa_mask);
        libc::sigaction(stop_signal(), &action, core::ptr::null_mut());
    }
}

extern "C" fn on_stop_signal(
    _signal: libc::c_int,
    _info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: `__errno_location` is the calling thread's errno; restored before returning.
    let saved_errno = unsafe { *libc::__errno_location() };
    let session = SESSION.load(Ordering::Acquire);
    if !session.is_null() {
        // SAFETY: a published session stays allocated while a thread may wait in it.
        let session = unsafe { &*session };
        // SAFETY: the kernel passes the interrupted context of an SA_SIGINFO handler.
        unsafe { stop_here(session, context.cast()) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = saved_errno };
}

/// # Safety
/// `context` is the `ucontext_t` the kernel passed to the handler.
unsafe fn stop_here(session: &Session, context: *const libc::ucontext_t) {
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) } as i32;
    let used = session.used.load(Ordering::Acquire);
    let Some(slot) = session.slots[..used]
        .iter()
        .find(|slot| slot.tid.load(Ordering::Relaxed) == tid)
    else {
        return;
    };
    // SAFETY: caller contract: a valid context of this thread.
    let registers = unsafe { (*context).uc_mcontext.gregs };
    for (index, saved) in slot.registers.iter().enumerate() {
        saved.store(registers[index] as usize, Ordering::Relaxed);
    }
    slot.stack_pointer.store(
        registers[libc::REG_RSP as usize] as usize,
        Ordering::Relaxed,
    );
    // SAFETY: pthread_self only reads the thread pointer.
    slot.thread_pointer
        .store(unsafe { libc::pthread_self() } as usize, Ordering::Relaxed);
    if slot
        .state
        .compare_exchange(SIGNALLED, STOPPED, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return; // given up on (too late) or a stray signal
    }
    while session.release.load(Ordering::Acquire) == 0 {
        futex_wait(&session.release, 0);
    }
    session.departed.fetch_add(1, Ordering::AcqRel);
}

fn futex_wait(word: &AtomicU32, expected: u32) {
    // SAFETY: FUTEX_WAIT on a live, aligned u32 with no timeout; spurious wake-ups are
    // handled by the caller's loop.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            core::ptr::null::<libc::timespec>(),
        );
    }
}

fn futex_wake_all(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE on a live, aligned u32.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            i32::MAX,
        );
    }
}

/// How many threads the process has now.
fn count_tasks() -> usize {
    let mut count = 0;
    for_each_task(&mut |_| count += 1);
    count
}

/// Calls `visit` with the id of each thread in `/proc/self/task` (also after a `chroot`:
/// [`crate::os::open_proc_self`]), without allocating; false when the list cannot be read.
///
/// Where a seccomp filter of this process would kill `getdents64` (`os::seccomp::DONE_WITHOUT`),
/// the list is not read: a process with one thread (`os::thread_count`) visits the calling
/// thread alone; any other visits the threads found in glibc's thread descriptors
/// (`super::unlisted`), and answers whether those are all of them.
pub(crate) fn for_each_task(visit: &mut dyn FnMut(i32)) -> bool {
    if crate::os::seccomp::stops("getdents64") {
        if crate::os::thread_count() == Some(1) {
            visit(crate::os::thread_id() as i32);
            return true;
        }
        return super::unlisted::for_each_thread(visit);
    }
    let fd = crate::os::open_proc_self(b"task\0", libc::O_RDONLY | libc::O_DIRECTORY);
    if fd < 0 {
        return false;
    }
    let mut buffer = [0u8; 4096];
    loop {
        // SAFETY: getdents64 writes at most `buffer.len()` bytes into `buffer`.
        let read =
            unsafe { libc::syscall(libc::SYS_getdents64, fd, buffer.as_mut_ptr(), buffer.len()) };
        if read <= 0 {
            break;
        }
        let mut offset = 0;
        while offset + 19 < read as usize {
            // linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
            let record = u16::from_ne_bytes([buffer[offset + 16], buffer[offset + 17]]) as usize;
            if record == 0 {
                break;
            }
            let name = &buffer[offset + 19..(offset + record).min(read as usize)];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if let Some(tid) = parse_decimal(name) {
                visit(tid);
            }
            offset += record;
        }
    }
    // SAFETY: `fd` was opened above.
    unsafe { libc::close(fd) };
    true
}

/// Whether thread `tid` has ended but is still listed: a zombie (`Z`, the main thread after
/// `pthread_exit` while others run on, until the process ends) or dead (`X`). It runs no code
/// and cannot answer the stop signal; waiting for it cost the timeout and counted it as a
/// thread that could not be stopped (so glibc's exit-time frees were skipped). Reads
/// `/proc/self/task/<tid>/stat` without allocating.
pub(crate) fn has_ended(tid: i32) -> bool {
    let mut text = [0u8; 512];
    let Some(read) = read_task_file(tid, b"/stat\0", &mut text) else {
        return false;
    };
    // "tid (comm) S ...": the state follows the last `)` (a name may contain one).
    let text = &text[..read];
    text.iter()
        .rposition(|&byte| byte == b')')
        .and_then(|close| text.get(close + 2))
        .is_some_and(|&state| state == b'Z' || state == b'X')
}

/// Reads `/proc/self/task/<tid><file>` (`file` starts with `/` and ends with a NUL; also
/// after a `chroot`: [`crate::os::open_proc_self`]) into `buffer` with system calls only: the
/// bytes read, or `None`.
fn read_task_file(tid: i32, file: &[u8], buffer: &mut [u8]) -> Option<usize> {
    let mut name = [0u8; 48];
    let prefix = b"task/";
    name[..prefix.len()].copy_from_slice(prefix);
    let mut length = prefix.len();
    let mut digits = [0u8; 12];
    let mut count = 0;
    let mut value = tid.unsigned_abs();
    loop {
        digits[count] = b'0' + (value % 10) as u8;
        count += 1;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for index in (0..count).rev() {
        name[length] = digits[index];
        length += 1;
    }
    name.get_mut(length..length + file.len())?
        .copy_from_slice(file);
    let fd = crate::os::open_proc_self(&name[..length + file.len()], libc::O_RDONLY);
    if fd < 0 {
        return None;
    }
    // SAFETY: reads at most `buffer.len()` bytes into `buffer`.
    let read = unsafe { libc::read(fd, buffer.as_mut_ptr().cast(), buffer.len()) };
    // SAFETY: opened above.
    unsafe { libc::close(fd) };
    (read > 0).then_some(read as usize)
}

fn parse_decimal(digits: &[u8]) -> Option<i32> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    digits.iter().try_fold(0i32, |value, &digit| {
        value.checked_mul(10)?.checked_add(i32::from(digit - b'0'))
    })
}

/// Whether thread `tid` has the signal mask glibc's own code gives a thread it is starting or
/// ending: the stop signal blocked with one of glibc's internal signals (32 and 33,
/// `SIGCANCEL` and `SIGSETXID`) or both. glibc's own code blocks one of them or both when it
/// blocks the others (threads caught starting or ending showed `fffffffffffbfeff` and
/// `fffffffefffbfeff`: 33 left open in the second); a program does not block them through
/// glibc (`sigfillset` and `pthread_sigmask` leave them out), nor with a raw
/// `rt_sigprocmask` of a `sigfillset` set (`leak_thread_blocked_raw.c`): such a thread, or
/// one that does not block the stop signal at all, is not so masked. False when the mask
/// cannot be read (the thread ended).
pub(crate) fn masked_by_glibc(tid: i32) -> bool {
    let mut text = [0u8; 4096];
    read_task_file(tid, b"/status\0", &mut text).is_some_and(|read| {
        let status = &text[..read];
        signal_blocked_in_status(status, stop_signal())
            && (signal_blocked_in_status(status, 32) || signal_blocked_in_status(status, 33))
    })
}

/// Whether thread `tid` has the mask glibc's thread-exit code gives a thread it is ending
/// (`start_thread`, glibc 2.34 and later, after the key destructors and
/// `__libc_thread_freeres`): every signal blocked but `SIGSETXID` (33), which the `setxid`
/// handshake still needs (`fffffffefffbfeff` as read back). Neither a program's own masks
/// (`sigfillset` leaves 32 and 33 out) nor a raw `rt_sigprocmask` of every signal
/// (`exit_heap_missed.c`: 33 blocked too) nor glibc's thread-creation mask (33 blocked too)
/// has that shape; only a raw mask made to copy it does. False when the mask cannot be read
/// (the thread ended).
pub(crate) fn in_glibc_thread_exit(tid: i32) -> bool {
    let mut text = [0u8; 4096];
    read_task_file(tid, b"/status\0", &mut text)
        .is_some_and(|read| has_thread_exit_mask(&text[..read]))
}

/// The test of [`in_glibc_thread_exit`] on a `/proc/<pid>/task/<tid>/status` text.
fn has_thread_exit_mask(status: &[u8]) -> bool {
    signal_blocked_in_status(status, stop_signal())
        && signal_blocked_in_status(status, 32)
        && !signal_blocked_in_status(status, 33)
}

/// Whether thread `tid` blocks `signal` (its `SigBlk` mask in `/proc/self/task/<tid>/status`),
/// read without allocating.
fn blocks_signal(tid: i32, signal: libc::c_int) -> bool {
    let mut text = [0u8; 4096];
    read_task_file(tid, b"/status\0", &mut text)
        .is_some_and(|read| signal_blocked_in_status(&text[..read], signal))
}

fn signal_blocked_in_status(status: &[u8], signal: libc::c_int) -> bool {
    let key = b"SigBlk:";
    let Some(at) = status.windows(key.len()).position(|window| window == key) else {
        return false;
    };
    let mask = status[at + key.len()..]
        .iter()
        .skip_while(|b| b.is_ascii_whitespace())
        .take_while(|b| b.is_ascii_hexdigit())
        .fold(0u64, |mask, &digit| {
            (mask << 4) | u64::from((digit as char).to_digit(16).unwrap_or(0))
        });
    signal >= 1 && mask & (1 << (signal - 1)) != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn status_masks_are_read() {
        let status =
            b"Name:\tx\nSigQ:\t0/1\nSigPnd:\t0000000000000000\nSigBlk:\t0000000200000001\n";
        assert!(signal_blocked_in_status(status, 1));
        assert!(signal_blocked_in_status(status, 34));
        assert!(!signal_blocked_in_status(status, 2));
        assert!(!signal_blocked_in_status(b"nothing", 1));
        assert_eq!(parse_decimal(b"1234"), Some(1234));
        assert_eq!(parse_decimal(b"."), None);
    }

    #[test]
    fn only_glibc_thread_exit_mask_reads_as_ending() {
        let status = |mask: &str| format!("Name:\tx\nSigBlk:\t{mask}\n").into_bytes();
        // glibc 2.36's thread-exit mask, as read back from a thread caught ending.
        assert!(has_thread_exit_mask(&status("fffffffefffbfeff")));
        // Its thread-creation mask, and a raw rt_sigprocmask of every signal (the kernel
        // drops SIGKILL and SIGSTOP): 33 blocked too.
        assert!(!has_thread_exit_mask(&status("fffffffffffbfeff")));
        // sigfillset through glibc or a raw syscall: 32 and 33 left out.
        assert!(!has_thread_exit_mask(&status("fffffffe7ffbfeff")));
        // Nothing blocked.
        assert!(!has_thread_exit_mask(&status("0000000000000000")));
    }

    #[test]
    fn other_threads_stop_with_their_registers_and_resume() {
        let running = Arc::new(AtomicBool::new(true));
        let counter = Arc::new(AtomicUsize::new(0));
        let mut handles = std::vec::Vec::new();
        for _ in 0..3 {
            let running = running.clone();
            let counter = counter.clone();
            handles.push(std::thread::spawn(move || {
                while running.load(Ordering::Relaxed) {
                    counter.fetch_add(1, Ordering::Relaxed);
                    std::hint::spin_loop();
                }
                crate::os::thread_id() as i32
            }));
        }
        while counter.load(Ordering::Relaxed) < 1000 {
            std::thread::yield_now();
        }
        let (mut locked, mut unlocked) = (0, 0);
        let stopped = stop_others(
            &mut || locked += 1,
            &mut || unlocked += 1,
            Duration::from_secs(5),
            BLOCKED_GRACE,
        );
        // Stopped threads make no progress.
        let before = counter.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(20));
        let after = counter.load(Ordering::Relaxed);
        let threads = stopped.threads.clone();
        let missed = stopped.missed.clone();
        // Everything is checked after the threads run again (a failed assertion must not
        // leave the test harness stopped).
        stopped.resume();
        assert_eq!((locked, unlocked), (1, 1));
        assert_eq!(after, before, "stopped: {threads:?}, missed: {missed:?}");
        // The test harness may run other threads too; ours are among the stopped ones.
        assert!(threads.len() >= 3, "{missed:?}");
        for thread in &threads {
            assert_ne!(thread.stack_pointer, 0);
            assert_eq!(
                thread.registers[libc::REG_RSP as usize],
                thread.stack_pointer
            );
            assert_ne!(thread.thread_pointer, 0);
        }
        let stopped_ids: std::vec::Vec<i32> = threads.iter().map(|t| t.tid).collect();
        running.store(false, Ordering::Relaxed);
        for handle in handles {
            let tid = handle.join().unwrap();
            assert!(stopped_ids.contains(&tid));
        }
    }

    #[test]
    fn a_thread_blocking_the_signal_is_missed_not_waited_for() {
        let (sender, receiver) = std::sync::mpsc::channel();
        let (done_sender, done) = std::sync::mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            // SAFETY: blocking one signal in this thread's mask.
            unsafe {
                let mut set: libc::sigset_t = core::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, stop_signal());
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, core::ptr::null_mut());
            }
            sender.send(crate::os::thread_id() as i32).unwrap();
            done.recv().unwrap();
        });
        let tid = receiver.recv().unwrap();
        let start = std::time::Instant::now();
        let stopped = stop_others(
            &mut || {},
            &mut || {},
            Duration::from_secs(10),
            BLOCKED_GRACE,
        );
        let missed = stopped.missed.clone();
        stopped.resume();
        assert!(missed.contains(&tid));
        assert!(start.elapsed() < Duration::from_secs(5));
        done_sender.send(()).unwrap();
        handle.join().unwrap();
    }
}
