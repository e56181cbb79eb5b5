//! Deferred delivery: a program's handler for an asynchronous signal never runs while the
//! interrupted thread is inside the allocator.
//!
//! # Why
//! `malloc` is not async-signal-safe, yet handlers that allocate are common (a `SIGCHLD`
//! handler that frees a job's record, a `SIGALRM` or `SIGINT` handler that formats a message).
//! Natively such a program corrupts glibc's heap now and then. Valgrind runs the handler only
//! between the program's instructions, never inside its `malloc` replacement, so the same
//! program is clean there. Under gpa the handler's `malloc` met the interrupted one's state:
//! check mode waited for ever for a lock the interrupted thread held (the internal heap's, in
//! the middle of a trace), and the report never came.
//!
//! # Design
//! For every signal that is not a fault signal (those stay with the fault handler, see the
//! module above), a handler the program installs is kept here, and the kernel gets
//! [`trampoline`] with the program's flags (`SA_SIGINFO` added, `SA_RESETHAND` done here) and
//! mask, so the handler runs on the stack, with the mask and the restart behaviour it asked
//! for. The trampoline asks the registered **busy test** (policy: the GPA's C entry points
//! count the calling thread's calls in progress) whether the thread is inside the
//! allocator:
//! * no: it calls the program's handler with the same arguments;
//! * yes: the busy test keeps the signal (its number, and the first one's `siginfo_t`), the
//!   trampoline blocks it in the interrupted context (more of it wait in the kernel, queued
//!   if it is a real-time signal) and returns; when the thread's outermost allocator call
//!   ends, the GPA calls [`replay`], which queues the signal again to this thread with the
//!   same `siginfo_t` (`rt_tgsigqueueinfo`), and [`unblock`]: the kernel delivers it, and
//!   those that came meanwhile, before the call returns to the program.
//!
//! Queries (`sigaction` with an old action) return the program's handler and flags, never the
//! trampoline. Signals the program leaves at `SIG_DFL` or `SIG_IGN` are the kernel's alone.
//!
//! Fast mode's inline paths (`gpa::c_entry`'s `malloc` and `free` without a call) count
//! nothing, to stay as short as they are: the busy test knows their instructions instead,
//! and a thread interrupted in the middle of a free-list update is made to resume at an
//! earlier instruction from which the update runs again whole ([`Busy::RestartAt`], as
//! Linux's restartable sequences do), while the handler runs at once.
//!
//! # Limits
//! Only the first signal kept during one call keeps its `siginfo_t`; another
//! signal kept during the same call comes again by `tgkill` (`SI_TKILL`). A real-time
//! signal kept comes after those of its number queued meanwhile.

use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

/// The busy test's answer for a signal that interrupted the calling thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Busy {
    /// Not inside the allocator: the handler runs now.
    No,
    /// Inside: the test kept the signal and its information for [`replay`].
    Kept,
    /// In a short inline path that holds no lock and can run again from an earlier
    /// instruction (the address given): the thread resumes there, and the handler runs now.
    RestartAt(usize),
}

/// The busy test: whether the calling thread, interrupted at the instruction address given,
/// is inside the allocator.
pub type BusyTest = fn(c_int, *const libc::siginfo_t, usize) -> Busy;

/// Slots: one per signal number (slot 0 unused).
const SLOTS: usize = 65;

/// The registered [`BusyTest`] (0: none yet: nothing is wrapped).
static BUSY: AtomicUsize = AtomicUsize::new(0);
/// The program's handler for each signal whose kernel action is [`trampoline`].
static HANDLER: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
/// The program's flags for it, as given (`SA_SIGINFO`, `SA_RESETHAND` included).
static FLAGS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
/// Serializes the changes of a signal's action that go through here (every signal blocked
/// meanwhile, so a handler never waits for its own thread).
static LOCK: AtomicBool = AtomicBool::new(false);

/// Registers the busy test; from then on the program's handlers of the signals that are not
/// fault signals are wrapped ([`kernel_action`]).
pub fn set_busy_test(test: BusyTest) {
    BUSY.store(test as usize, Ordering::Release);
}

/// Whether a handler of `signal` is wrapped: a busy test is registered and the signal is one
/// the kernel delivers asynchronously as a rule (not a fault signal).
pub fn wraps(signal: c_int) -> bool {
    BUSY.load(Ordering::Acquire) != 0
        && (1..SLOTS as c_int).contains(&signal)
        && !matches!(
            signal,
            libc::SIGSEGV
                | libc::SIGBUS
                | libc::SIGFPE
                | libc::SIGILL
                | libc::SIGTRAP
                | libc::SIGABRT
                | libc::SIGSYS
                | libc::SIGKILL
                | libc::SIGSTOP
        )
}

/// Whether `handler` is gpa's own (the leak scan's stop signal, say): it runs at once, as
/// installed, inside the allocator too.
fn own(handler: usize) -> bool {
    let object = |address: usize| super::super::object_containing(address).map(|o| o.start);
    let ours = object(trampoline_address());
    ours.is_some() && object(handler) == ours
}

/// The trampoline's address, as a `sa_sigaction`.
fn trampoline_address() -> usize {
    trampoline as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) as usize
}

/// The action the kernel gets for the program's `action` on `signal`: the trampoline in place
/// of a handler (the handler and flags kept here), else `action` itself.
pub fn kernel_action(signal: c_int, action: &libc::sigaction) -> libc::sigaction {
    let handler = action.sa_sigaction;
    if !wraps(signal)
        || handler == libc::SIG_DFL
        || handler == libc::SIG_IGN
        || handler == trampoline_address()
        || own(handler)
    {
        return *action;
    }
    let slot = signal as usize;
    HANDLER[slot].store(handler, Ordering::Release);
    FLAGS[slot].store(action.sa_flags, Ordering::Release);
    let mut kernel = *action;
    kernel.sa_sigaction = trampoline_address();
    kernel.sa_flags = (action.sa_flags | libc::SA_SIGINFO) & !libc::SA_RESETHAND;
    kernel
}

/// The program's view of an action the kernel holds for `signal`: the handler and flags kept
/// here when it is the trampoline (`handler` and `flags`: those kept before the change that
/// returned it).
fn program_view(action: &mut libc::sigaction, handler: usize, flags: c_int) {
    if action.sa_sigaction == trampoline_address() {
        action.sa_sigaction = handler;
        action.sa_flags = flags;
    }
}

/// C `sigaction` for a signal the fault handler does not own, through `real` (the C library's):
/// the program's handler wrapped, the old action as the program set it.
///
/// # Safety
/// As for C's `sigaction`; `real` is the C library's.
pub unsafe fn sigaction(
    signal: c_int,
    action: *const libc::sigaction,
    old: *mut libc::sigaction,
    real: unsafe fn(c_int, *const libc::sigaction, *mut libc::sigaction) -> c_int,
) -> c_int {
    if !wraps(signal) {
        // SAFETY: caller contract.
        return unsafe { real(signal, action, old) };
    }
    let mask = super::block_all();
    while LOCK
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    let slot = signal as usize;
    let (handler, flags) = (
        HANDLER[slot].load(Ordering::Acquire),
        FLAGS[slot].load(Ordering::Acquire),
    );
    // SAFETY: caller contract: `action` is null or readable (a bad one: the kernel's EFAULT
    // below, as natively, read here only when it maps).
    let new = (!action.is_null() && super::super::readable(action as usize))
        .then(|| kernel_action(signal, unsafe { &*action }));
    // SAFETY: all-zero bytes are a valid `sigaction`.
    let mut before: libc::sigaction = unsafe { core::mem::zeroed() };
    let new_ptr = match &new {
        Some(new) => new as *const libc::sigaction,
        None => action,
    };
    // SAFETY: caller contract; `before` is ours.
    let result = unsafe { real(signal, new_ptr, &mut before) };
    if result != 0 && new.is_some() {
        // Refused: the kept handler is the one before.
        HANDLER[slot].store(handler, Ordering::Release);
        FLAGS[slot].store(flags, Ordering::Release);
    }
    LOCK.store(false, Ordering::Release);
    // SAFETY: restoring the mask saved above.
    unsafe { super::set_mask(libc::SIG_SETMASK, &mask, core::ptr::null_mut()) };
    if result == 0 && !old.is_null() {
        program_view(&mut before, handler, flags);
        // SAFETY: caller contract: `old` is writable.
        unsafe { old.write(before) };
    }
    result
}

/// The kernel's action for every wrapped signal: [`decide`], then a jump (not a call) to the
/// program's handler with the kernel's three arguments, so that no frame of gpa's lies
/// between the signal frame and the handler: the stack the handler sees, unwinds and may
/// leave by `longjmp` is the one the kernel made (a fatal signal the handler raises after
/// unblocking it, as dash's `SIGINT` handler does, finds no gpa frame under it and gets its
/// report with the leak check).
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
extern "C" fn trampoline(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    core::arch::naked_asm!(
        ".cfi_startproc",
        "push rbp",
        ".cfi_adjust_cfa_offset 8",
        ".cfi_rel_offset rbp, 0",
        "mov rbp, rsp",
        ".cfi_def_cfa_register rbp",
        // The three arguments kept (and the stack aligned to 16 bytes for the call).
        "push rdi",
        "push rsi",
        "push rdx",
        "sub rsp, 8",
        "call {decide}",
        "add rsp, 8",
        "pop rdx",
        "pop rsi",
        "pop rdi",
        "pop rbp",
        ".cfi_def_cfa rsp, 8",
        ".cfi_restore rbp",
        "test rax, rax",
        "je 2f",
        "jmp rax",
        "2:",
        "ret",
        ".cfi_endproc",
        decide = sym decide,
    )
}

/// Elsewhere: [`decide`], then the handler called.
#[cfg(not(target_arch = "x86_64"))]
extern "C" fn trampoline(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    let handler = decide(signal, info, context);
    if handler != 0 {
        type Handler = extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void);
        // SAFETY: the program installed `handler` for this signal as a C signal handler.
        unsafe { core::mem::transmute::<usize, Handler>(handler)(signal, info, context) };
    }
}

/// What [`trampoline`] does with a delivery: the program's handler to run now (a handler of
/// one argument, without `SA_SIGINFO`, ignores the other two: the C calling convention), or 0
/// when the signal was kept for the end of the allocator call or the program's action is no
/// longer a handler.
extern "C" fn decide(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) -> usize {
    let busy = BUSY.load(Ordering::Acquire);
    if busy != 0 && !context.is_null() {
        // SAFETY: only `BusyTest`s are stored in `BUSY`.
        let busy = unsafe { core::mem::transmute::<usize, BusyTest>(busy) };
        let context = context.cast::<libc::ucontext_t>();
        // SAFETY: the kernel's `ucontext_t` for this delivery.
        let ip = interrupted_ip(unsafe { &*context });
        let answer = busy(signal, info, ip);
        if let Busy::RestartAt(to) = answer {
            // SAFETY: as above; the thread resumes at `to` when the handler returns.
            set_interrupted_ip(unsafe { &mut *context }, to);
        }
        if answer == Busy::Kept {
            // Blocked in the interrupted context until [`unblock`]: more of it meanwhile
            // wait in the kernel (queued, for a real-time signal), not here.
            // SAFETY: the kernel's `ucontext_t` for this delivery; its mask is restored when
            // the handler returns.
            unsafe { libc::sigaddset(&mut (*context).uc_sigmask, signal) };
            return 0;
        }
    }
    let slot = signal as usize;
    let handler = HANDLER[slot].load(Ordering::Acquire);
    let flags = FLAGS[slot].load(Ordering::Acquire);
    if flags & libc::SA_RESETHAND != 0 {
        // `SA_RESETHAND`, done here (the kernel would have done it at a delivery we kept):
        // the default action again, through the same path as the program's own call.
        // SAFETY: all-zero bytes are a valid `sigaction` (`SIG_DFL`, no flags, empty mask).
        let default: libc::sigaction = unsafe { core::mem::zeroed() };
        // SAFETY: a valid action; no old action asked for.
        unsafe { super::sigaction(signal, &default, core::ptr::null_mut()) };
    }
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN || handler == trampoline_address() {
        return 0;
    }
    handler
}

/// The instruction address a signal interrupted.
#[cfg(target_arch = "x86_64")]
fn interrupted_ip(context: &libc::ucontext_t) -> usize {
    context.uc_mcontext.gregs[libc::REG_RIP as usize] as usize
}

/// Elsewhere: none known (no inline path is restarted).
#[cfg(not(target_arch = "x86_64"))]
fn interrupted_ip(_: &libc::ucontext_t) -> usize {
    0
}

/// Makes the interrupted thread resume at `ip`.
#[cfg(target_arch = "x86_64")]
fn set_interrupted_ip(context: &mut libc::ucontext_t, ip: usize) {
    context.uc_mcontext.gregs[libc::REG_RIP as usize] = ip as i64;
}

/// Elsewhere: nothing (no inline path is restarted).
#[cfg(not(target_arch = "x86_64"))]
fn set_interrupted_ip(_: &mut libc::ucontext_t, _: usize) {}

/// Unblocks the signals kept during the allocator call that has ended (bit `n - 1` for
/// signal `n`; the trampoline blocked them), after [`replay`] queued them again: the kernel
/// delivers them, and any that came meanwhile, before the call returns. Keeps `errno`.
pub fn unblock(signals: u64) {
    // SAFETY: an empty set is valid; signal numbers 1 to 64.
    let mut set: libc::sigset_t = unsafe { core::mem::zeroed() };
    for signal in 1..SLOTS as c_int {
        if signals & 1u64 << (signal - 1) != 0 {
            // SAFETY: a valid set and signal number.
            unsafe { libc::sigaddset(&mut set, signal) };
        }
    }
    // SAFETY: errno of this thread.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: a valid set; no old set asked for.
    unsafe { super::set_mask(libc::SIG_UNBLOCK, &set, core::ptr::null_mut()) };
    // SAFETY: errno of this thread.
    unsafe { *libc::__errno_location() = errno };
}

/// Queues `signal` again to the calling thread, with `info` (the one kept) or, without it, as
/// `tgkill` would: the kernel delivers it to the trampoline again before the current call
/// returns to the program (unless the program blocks it). Keeps `errno`.
pub fn replay(signal: c_int, info: Option<&libc::siginfo_t>) {
    // SAFETY: errno of this thread.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: system calls on this process and thread with a valid `siginfo_t` (a process may
    // queue any `si_code` to itself).
    unsafe {
        let pid = libc::getpid();
        let tid = super::super::thread_id() as c_int;
        let queued = info.is_some_and(|info| {
            libc::syscall(
                libc::SYS_rt_tgsigqueueinfo,
                pid,
                tid,
                signal,
                info as *const libc::siginfo_t,
            ) == 0
        });
        if !queued {
            libc::syscall(libc::SYS_tgkill, pid, tid, signal);
        }
        *libc::__errno_location() = errno;
    }
}
