//! Fault signals and the signals that end the process: the `SIGSEGV`/`SIGBUS` handler (and
//! `SIGTERM`, `SIGPIPE`... for the report at a fatal signal), alternate signal stacks, and what
//! a fault's context says (address, read or write, registers, access width and start).
//!
//! # Design
//! One process-wide handler is installed with `SA_SIGINFO | SA_ONSTACK` for the signals a
//! caller asks for, remembering the action that was there before as the **program's action**.
//! On a signal it decodes the context into a [`Fault`] and asks the registered [`Hook`]
//! (policy, installed by the GPA or the C ABI) whether the fault is its own:
//! * [`Verdict::Reported`]: the hook has written its report; the process ends as the signal
//!   would have ended it (default action restored, signal unblocked and raised again).
//! * [`Verdict::Resumed`]: the hook recorded the fault and [`resume_after`] opened the
//!   faulting page for the faulting instruction alone (`step`: the trap flag, then the
//!   single-step `SIGTRAP` closes it again): the program goes on. For that, `SIGTRAP` is
//!   handled whenever `SIGSEGV` is; a trap that is not a step goes on like any other signal.
//! * [`Verdict::Deferred`]: another thread writes the report that ends the process; this
//!   thread waits (off the crash stack) to be stopped by it.
//! * [`Verdict::Retry`]: not now (the thread was interrupted inside the allocator): the
//!   handler returns and a one-shot timer sends the signal to this thread again a
//!   millisecond or two later (`retry_later`).
//! * [`Verdict::NotOurs`]: the signal goes on, unchanged, to the program's action (its
//!   `sa_sigaction` or `sa_handler` with the same arguments, its `sa_mask` blocked and the
//!   signal itself unblocked under `SA_NODEFER`, `SA_RESETHAND` honoured), or to the default
//!   action.
//!
//! # The handler is invisible to the program
//! Programs often install a fault handler only when the disposition is still `SIG_DFL` (Rust's
//! std does so for its stack-overflow message), so a handler installed before `main` must not
//! be seen. [`sigaction`] and [`set_handler`] (interposed by the C ABI for `sigaction`,
//! `signal`, `bsd_signal`, `ssignal`, `sysv_signal`, `__sysv_signal`, `__sigaction`; `sigset`
//! and `sigvec` are built on them) keep, for a signal this module handles, the program's
//! action here instead of in the kernel: a query returns it
//! (`SIG_DFL` until the program sets one), and a new action (handler, `SIG_IGN` or `SIG_DFL`,
//! with its flags and mask) replaces it while our handler stays installed. Other signals, and
//! every signal before [`install`], go to the C library unchanged. This module's own calls use
//! the C library's `sigaction` (found with `dlsym(RTLD_NEXT)`, past any interposer).
//!
//! The program's handler is called on the stack our handler runs on: the thread's alternate
//! stack (the program's own if it registered one with `sigaltstack`, else the one
//! [`ensure_alt_stack`] made). For a handler installed with `SA_ONSTACK` this is where the
//! kernel would have run it. A handler without `SA_ONSTACK` would have run on the interrupted
//! stack; it runs on the alternate one instead (switching back to the interrupted stack is
//! not safe: a fault there under `SA_NODEFER` would be delivered on the alternate stack, over
//! our live frames). The only difference a program can see is that such a handler still runs
//! after a stack overflow, where the kernel would have killed the process.
//!
//! The program's action is guarded by a sequence lock: writers (the interposed calls, which
//! block every signal meanwhile, and `SA_RESETHAND`) take a spin lock and make the sequence
//! odd while they write; the handler reads until it sees the same even sequence before and
//! after. A writer is never interrupted by a handler on its own thread, so the handler never
//! waits for itself.
//!
//! The hook runs on a dedicated **crash stack** (mapped once, with a guard page below it), not
//! on the alternate stack: reports symbolize and format, which needs more stack than a signal
//! stack has (Rust's own are 8 KiB). Only one thread runs the hook at a time; a thread that
//! faults meanwhile waits for it (the first report ends the process, or the first fault was not
//! ours and it carries on). A fault inside the hook itself ends the process at once with a
//! one-line message, never recursing.
//!
//! Every thread that may fault needs an alternate stack for the handler to run at all when its
//! own stack is the problem (an overflow into the guard page): [`ensure_alt_stack`] gives the
//! calling thread one if it has none (the GPA calls it when a thread gets its heap or makes a
//! guarded block); a pthread key's destructor unmaps it at thread exit. That stack is
//! invisible to the program ([`program_sigaltstack`], the preload library's `sigaltstack`):
//! gpa's own calls go to the kernel ([`raw_sigaltstack`]).
//!
//! # Signals that end the process
//! [`install_termination`] installs the same handler for every signal whose default action
//! ends the process ([`ends_process`]: `SIGTERM`, `SIGINT`, `SIGPIPE`, `SIGALRM`, the
//! real-time signals...) and whose action is `SIG_DFL` at start-up (one the parent left
//! ignored stays ignored, with no handler), so that the hook can write the report, leak check
//! included, before the default action. For these signals only `SIG_DFL` is kept here: the
//! program's other actions (a handler with its flags and mask, `SIG_IGN`) go to the kernel as
//! they are (`PASSTHROUGH`), so a handler the program installs runs exactly as without gpa
//! (`SA_RESTART`, `SA_RESETHAND`, its stack), an ignored signal interrupts nothing and
//! survives `exec`, and our handler is back when the program sets `SIG_DFL` again. Queries
//! still return the program's action. Slots of the tables are signal numbers (1 to 64).
//!
//! # Stepping aside
//! A process about to install a seccomp filter that kills the calls the handler needs
//! (`rt_sigaction` to end the process by its signal, `rt_sigreturn` to go on after a handler,
//! `tgkill` to raise) gets its signals back: [`step_aside`] installs the program's own action
//! in the kernel for every signal handled here, and from then on this module installs nothing
//! and passes every call to the C library, as without gpa ([`step_back`] undoes it when the
//! kernel refuses the filter).
//!
//! # Invariants
//! * The handler and everything it calls before the hook are async-signal-safe: atomics,
//!   `sigaction`, `sigprocmask`, `raise`, `write`, `nanosleep`; no lock, no allocation.
//! * The program's action for a signal is written (from the action in place before) before
//!   our handler is installed for it, and afterwards only under the sequence lock.
//! * `sigset` (System V) and the obsolete `sigvec` (still in glibc for old binaries) are built
//!   on [`sigaction`] in [`legacy`], so they see and set the program's action too.
//! * Not covered: an `exec` after the program set a handled fault signal to `SIG_IGN` starts
//!   the new image with `SIG_DFL` there (the kernel keeps only `SIG_IGN` across `exec`); the
//!   signals that end the process pass `SIG_IGN` to the kernel, so it is kept.

pub mod defer;
mod legacy;
#[cfg(target_arch = "x86_64")]
mod step;

pub use legacy::{sigset, sigvec, SigVec};

use core::cell::Cell;
use core::ffi::{c_int, c_void};
use core::sync::atomic::{fence, AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};

/// What the context of a fault says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fault {
    /// The signal number.
    pub signal: i32,
    /// `si_code`: why the kernel sent it (`SEGV_MAPERR`, `SEGV_ACCERR`, ...); zero or negative
    /// when a process sent it (`kill`, `raise`).
    pub code: i32,
    /// The faulting address (`si_addr`).
    pub address: usize,
    /// `Some(true)` for a write, `Some(false)` for a read, `None` when the context does not say
    /// (x86-64: the page-fault error code, bit 1).
    pub write: Option<bool>,
    /// The fault was an instruction fetch (x86-64: error code bit 4): code ran from data.
    pub fetch: bool,
    /// The width in bytes of the faulting access, where the instruction could be decoded.
    pub access_size: Option<usize>,
    /// The first byte of the faulting access, where the instruction's memory operand could be
    /// decoded (x86-64: ModRM/SIB and the registers, or a string instruction's `rsi`/`rdi`;
    /// not with an `fs`/`gs` override): `address` is the first byte the access touched in an
    /// inaccessible page, which for an access that straddles into it lies past its start.
    /// Always `start <= address < start + access_size` when set.
    pub access_start: Option<usize>,
    /// The faulting instruction's address.
    pub ip: usize,
    /// The stack pointer at the fault.
    pub sp: usize,
    /// The frame pointer at the fault (`rbp`; `x29` on AArch64).
    pub bp: usize,
    /// The interrupted context (the `ucontext_t` the kernel passed; 0 when there is none), for
    /// [`resume_after`].
    pub context: usize,
}

impl Fault {
    /// Whether the kernel raised the signal for a memory access (not `kill` or `raise`).
    pub fn is_memory_fault(&self) -> bool {
        self.code > 0 && (self.signal == libc::SIGSEGV || self.signal == libc::SIGBUS)
    }
}

/// The hook's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not the hook's business: the previous action (or the default one) gets the signal.
    NotOurs,
    /// The hook reported the fault: end the process as the signal would.
    Reported,
    /// The hook recorded the fault and [`resume_after`] opened its page: the faulting
    /// instruction runs again and the program goes on.
    Resumed,
    /// Another thread is writing the report that ends the process: this thread waits for
    /// it (off the crash stack, which that thread may need), never returning.
    Deferred,
    /// Not now: the thread was interrupted where the report cannot run (inside the
    /// allocator, say). The handler returns, and the signal comes to this thread again
    /// [`RETRY_DELAY`] later (`retry_later`), when the thread has most likely moved on.
    Retry,
}

/// `si_code` of a `SIGSEGV` for an access the page's protection refused (Linux's
/// `<asm-generic/siginfo.h>`; the `libc` crate does not define it for Linux).
const SEGV_ACCERR: i32 = 2;

/// How long a [`Verdict::Retry`] waits before the signal comes again.
pub const RETRY_DELAY: core::time::Duration = core::time::Duration::from_millis(1);

/// The policy the handler asks about each signal.
pub type Hook = fn(&Fault) -> Verdict;

/// The fault signals [`install`] handles.
const FAULT_SIGNALS: [c_int; 6] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGABRT,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGTRAP,
];

/// Slots of the tables below: one per signal number (slot 0 unused).
const SLOTS: usize = 65;

/// The slot of a signal: its number, for the fault signals and for the signals whose default
/// action ends the process ([`ends_process`]).
fn slot_of(signal: c_int) -> Option<usize> {
    (FAULT_SIGNALS.contains(&signal) || ends_process(signal)).then_some(signal as usize)
}

/// Whether the default action of `signal` ends the process (terminates it, with or without a
/// core dump) and it is not one of the fault signals: `SIGHUP`, `SIGINT`, `SIGQUIT`,
/// `SIGUSR1`, `SIGUSR2`, `SIGPIPE`, `SIGALRM`, `SIGTERM`, `SIGSTKFLT`, `SIGXCPU`, `SIGXFSZ`,
/// `SIGVTALRM`, `SIGPROF`, `SIGIO`, `SIGPWR`, `SIGSYS` and the real-time signals the C library
/// leaves to programs (`SIGRTMIN` to `SIGRTMAX`; glibc keeps 32 and 33).
pub fn ends_process(signal: c_int) -> bool {
    matches!(
        signal,
        libc::SIGHUP
            | libc::SIGINT
            | libc::SIGQUIT
            | libc::SIGUSR1
            | libc::SIGUSR2
            | libc::SIGPIPE
            | libc::SIGALRM
            | libc::SIGTERM
            | libc::SIGSTKFLT
            | libc::SIGXCPU
            | libc::SIGXFSZ
            | libc::SIGVTALRM
            | libc::SIGPROF
            | libc::SIGIO
            | libc::SIGPWR
            | libc::SIGSYS
    ) || (libc::SIGRTMIN()..=libc::SIGRTMAX()).contains(&signal) && (signal as usize) < SLOTS
}

static HOOK: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
/// Slots of [`install_termination`]'s signals: the program's actions other than `SIG_DFL`
/// go to the kernel as they are (see "Signals that end the process").
static PASSTHROUGH: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
/// The program's action for each signal (see "The handler is invisible to the program"):
/// handler, flags and mask, under the sequence lock [`PROGRAM_SEQUENCE`].
static PROGRAM_HANDLER: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static PROGRAM_FLAGS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
/// Words of a `sigset_t`.
const MASK_WORDS: usize = core::mem::size_of::<libc::sigset_t>() / 8;
static PROGRAM_MASK: [[AtomicU64; MASK_WORDS]; SLOTS] =
    [const { [const { AtomicU64::new(0) }; MASK_WORDS] }; SLOTS];
/// Odd while a writer changes the program's action for the slot.
static PROGRAM_SEQUENCE: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
/// Serializes the writers of the program's actions.
static PROGRAM_LOCK: AtomicBool = AtomicBool::new(false);
/// The C library's `sigaction`, past any interposer (0: not looked up yet).
static REAL_SIGACTION: AtomicUsize = AtomicUsize::new(0);
/// The C library's `signal` and `sysv_signal`, for the signals not handled here.
static REAL_SIGNAL: AtomicUsize = AtomicUsize::new(0);
static REAL_SYSV_SIGNAL: AtomicUsize = AtomicUsize::new(0);

static INSTALL_LOCK: AtomicBool = AtomicBool::new(false);
/// The thread id of the thread running the hook (0: none).
static REPORTER: AtomicU64 = AtomicU64::new(0);
/// The crash stack: its top (0 until mapped).
static CRASH_STACK_TOP: AtomicUsize = AtomicUsize::new(0);

/// The alternate stacks this module mapped and still owns, by base (usable part: a page
/// above it, [`ALT_STACK_SIZE`] bytes; 0: a free entry). A thread whose entry could not be
/// recorded (all taken) keeps its stack, unlisted.
static ALT_STACKS: [AtomicUsize; ALT_STACK_ENTRIES] =
    [const { AtomicUsize::new(0) }; ALT_STACK_ENTRIES];
/// Entries of [`ALT_STACKS`].
const ALT_STACK_ENTRIES: usize = 1024;

/// Bytes of the crash stack the hook runs on.
pub const CRASH_STACK_SIZE: usize = 8 << 20;
/// Bytes of each alternate signal stack this module maps.
pub const ALT_STACK_SIZE: usize = 256 << 10;

/// Installs the handler for `signals` (any of `SIGSEGV`, `SIGBUS`, `SIGABRT`, `SIGFPE`,
/// `SIGILL`, `SIGTRAP`; with `SIGSEGV` also `SIGTRAP`, for [`resume_after`]) and registers
/// `hook`: `replace_hook` makes it the hook even if another one is
/// registered (the C ABI, which owns the process), otherwise it is registered only if none is
/// (a GPA instance). Gives the calling thread an alternate stack. Returns whether the handler
/// is installed for every signal asked for.
pub fn install(signals: &[c_int], hook: Hook, replace_hook: bool) -> bool {
    if ASIDE.load(Ordering::Acquire) {
        return false;
    }
    if replace_hook {
        HOOK.store(hook as usize, Ordering::Release);
    } else {
        let _ = HOOK.compare_exchange(0, hook as usize, Ordering::AcqRel, Ordering::Acquire);
    }
    let all = installing(|| {
        let mut all = true;
        for &signal in signals {
            let Some(slot) = slot_of(signal).filter(|_| FAULT_SIGNALS.contains(&signal)) else {
                all = false;
                continue;
            };
            if INSTALLED[slot].load(Ordering::Acquire) {
                continue;
            }
            all &= install_one(signal, slot, libc::SA_SIGINFO | libc::SA_ONSTACK);
        }
        // The single-step trap of `resume_after` comes with the fault handler (a failure
        // only means faults cannot be resumed).
        #[cfg(target_arch = "x86_64")]
        if signals.contains(&libc::SIGSEGV) {
            if let Some(slot) = slot_of(libc::SIGTRAP) {
                if !INSTALLED[slot].load(Ordering::Acquire) {
                    install_one(libc::SIGTRAP, slot, libc::SA_SIGINFO | libc::SA_ONSTACK);
                }
            }
        }
        all
    });
    ensure_alt_stack();
    all
}

/// Runs `install` under [`INSTALL_LOCK`] (one installer at a time), after the C library's
/// functions are looked up and the crash stack is mapped: what every installation needs first.
fn installing<R>(install: impl FnOnce() -> R) -> R {
    while INSTALL_LOCK
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    resolve_real_functions();
    map_crash_stack();
    let result = install();
    INSTALL_LOCK.store(false, Ordering::Release);
    result
}

/// Installs the handler for `signal` with `flags` (the program's action before it kept as
/// the program's).
fn install_one(signal: c_int, slot: usize, flags: c_int) -> bool {
    // SAFETY: sigaction with valid pointers; the program's action is stored before ours is
    // installed, so the handler never reads an unwritten one.
    unsafe {
        let mut previous: libc::sigaction = core::mem::zeroed();
        if real_sigaction(signal, core::ptr::null(), &mut previous) != 0 {
            return false;
        }
        write_program_action(slot, &previous);
        if real_sigaction(signal, &own_action(flags), core::ptr::null_mut()) != 0 {
            return false;
        }
    }
    INSTALLED[slot].store(true, Ordering::Release);
    true
}

/// This module's handler as a `sigaction`, with `flags`.
fn own_action(flags: c_int) -> libc::sigaction {
    // SAFETY: all-zero bytes are a valid `sigaction`.
    let mut action: libc::sigaction = unsafe { core::mem::zeroed() };
    action.sa_sigaction =
        on_signal as extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) as usize;
    action.sa_flags = flags;
    // SAFETY: a valid set.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    action
}

/// The flags of the handler for the signals that end the process: on the alternate stack
/// where the thread has one (the hook moves to the crash stack at once), system calls
/// restarted (the handler returns only when the program changed the action meanwhile and
/// its handler returned: see [`chain`]).
const TERMINATION_FLAGS: c_int = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;

/// Installs the handler, with `hook` (registered as by [`install`] with `replace_hook`), for
/// every signal whose default action ends the process ([`ends_process`]) and whose action is
/// `SIG_DFL` now, except those in `except` (signals the caller uses itself). A signal the
/// parent left ignored (`SIG_IGN`, kept across `exec`) stays ignored, without a handler. See
/// "Signals that end the process".
pub fn install_termination(hook: Hook, except: &[c_int]) {
    if ASIDE.load(Ordering::Acquire) {
        return;
    }
    HOOK.store(hook as usize, Ordering::Release);
    installing(|| install_termination_signals(except));
}

/// [`install_termination`]'s work under the install lock.
fn install_termination_signals(except: &[c_int]) {
    for signal in 1..SLOTS as c_int {
        if !ends_process(signal) || except.contains(&signal) {
            continue;
        }
        let slot = signal as usize;
        if INSTALLED[slot].load(Ordering::Acquire) {
            continue;
        }
        // SAFETY: all-zero bytes are a valid `sigaction`; a query only.
        let mut current: libc::sigaction = unsafe { core::mem::zeroed() };
        // SAFETY: valid pointers.
        if unsafe { real_sigaction(signal, core::ptr::null(), &mut current) } != 0
            || current.sa_sigaction != libc::SIG_DFL
        {
            continue;
        }
        PASSTHROUGH[slot].store(true, Ordering::Release);
        if !install_one(signal, slot, TERMINATION_FLAGS) {
            PASSTHROUGH[slot].store(false, Ordering::Release);
        }
    }
}

/// Set by [`step_aside`] (until [`step_back`]): [`install`] and [`install_termination`]
/// install nothing more.
static ASIDE: AtomicBool = AtomicBool::new(false);

/// The signals [`step_aside`] handed back to the kernel (bit `slot` of each set), for
/// [`step_back`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SteppedAside {
    /// The slots whose handler was installed.
    installed: u128,
    /// Those of them that were [`install_termination`]'s.
    passthrough: u128,
}

/// Hands every signal this module handles back to the kernel with the program's action (its
/// handler with its flags and mask, `SIG_IGN` or `SIG_DFL`), for a process about to confine
/// itself where the handler could no longer do its work: a seccomp filter that kills the
/// process on `rt_sigaction`, `rt_sigreturn` or `tgkill` (which ending the process by its
/// signal, chaining to the program's handler and returning from ours need). From then on
/// every signal is the kernel's, as without gpa (default actions, core dumps, handlers), the
/// hook is never asked again, and the interposed `sigaction` and `signal` go to the C library.
/// Returns what was handed back, for [`step_back`] when the confinement fails.
pub fn step_aside() -> SteppedAside {
    let mut aside = SteppedAside::default();
    ASIDE.store(true, Ordering::Release);
    installing(|| {
        for slot in 1..SLOTS {
            if !INSTALLED[slot].load(Ordering::Acquire) {
                continue;
            }
            // Under the writers' lock, every signal blocked: an interposed `sigaction` of
            // another thread then goes to the kernel after this (`change_program_action`).
            let old_mask = block_all();
            lock_program_actions();
            let action = read_program_action(slot);
            // SAFETY: valid pointers; the signal number is the slot's.
            if unsafe { real_sigaction(slot as c_int, &action, core::ptr::null_mut()) } == 0 {
                INSTALLED[slot].store(false, Ordering::Release);
                aside.installed |= 1 << slot;
                if PASSTHROUGH[slot].swap(false, Ordering::AcqRel) {
                    aside.passthrough |= 1 << slot;
                }
            }
            PROGRAM_LOCK.store(false, Ordering::Release);
            // SAFETY: restoring the mask `block_all` saved.
            unsafe { set_mask(libc::SIG_SETMASK, &old_mask, core::ptr::null_mut()) };
        }
    });
    aside
}

/// Installs the handler again for the signals [`step_aside`] handed back (the confinement
/// failed): the kernel's action now is the program's, as at [`install`] and
/// [`install_termination`] (for these, ours only where it is `SIG_DFL`).
pub fn step_back(aside: SteppedAside) {
    ASIDE.store(false, Ordering::Release);
    installing(|| {
        for slot in 1..SLOTS {
            if aside.installed & (1 << slot) == 0 {
                continue;
            }
            let signal = slot as c_int;
            if aside.passthrough & (1 << slot) == 0 {
                install_one(signal, slot, libc::SA_SIGINFO | libc::SA_ONSTACK);
                continue;
            }
            // SAFETY: all-zero bytes are a valid `sigaction`; a query only.
            let mut current: libc::sigaction = unsafe { core::mem::zeroed() };
            // SAFETY: valid pointers.
            if unsafe { real_sigaction(signal, core::ptr::null(), &mut current) } != 0 {
                continue;
            }
            PASSTHROUGH[slot].store(true, Ordering::Release);
            if current.sa_sigaction == libc::SIG_DFL {
                if !install_one(signal, slot, TERMINATION_FLAGS) {
                    PASSTHROUGH[slot].store(false, Ordering::Release);
                }
            } else {
                // The program's own action stays in the kernel (see "Signals that end the
                // process"); ours comes back when it sets `SIG_DFL` again.
                write_program_action(slot, &current);
                INSTALLED[slot].store(true, Ordering::Release);
            }
        }
    });
}

/// Whether the program's action for `signal` is the default one (or `SIG_IGN` for a fault
/// signal, which the kernel treats as the default for a fault): then a fault that is not the
/// hook's ends the process. `false` when the program has a handler of its own, or ignores a
/// signal that ends the process by default (it goes on).
pub fn previous_is_default(signal: c_int) -> bool {
    let Some(slot) = slot_of(signal) else {
        return true;
    };
    let handler = read_program_action(slot).sa_sigaction;
    handler == libc::SIG_DFL || (handler == libc::SIG_IGN && FAULT_SIGNALS.contains(&signal))
}

/// Looks up the C library's `sigaction`, `signal` and `sysv_signal` behind any interposer
/// (once; `dlsym` is not async-signal-safe, so never from the handler).
fn resolve_real_functions() {
    if REAL_SIGACTION.load(Ordering::Acquire) != 0 {
        return;
    }
    // `sigaction` last: once it is set, the others are too.
    for (slot, name) in [
        (&REAL_SIGNAL, c"signal"),
        (&REAL_SYSV_SIGNAL, c"sysv_signal"),
        (&REAL_SIGACTION, c"sigaction"),
    ] {
        // SAFETY: `dlsym` with `RTLD_NEXT` and a NUL-terminated name: the definition after the
        // object that calls it (the C library's, past an interposer in the preload library).
        let found = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) };
        slot.store(found as usize, Ordering::Release);
    }
}

/// The C library's `sigaction`, looked up on first use (before [`install`], or in a process
/// that never installs the handler, such as fast mode: the interposed calls still come here).
/// After `install` it is known, so the handler never looks it up. `libc::sigaction` only when
/// `dlsym` finds none (no C library after the caller: a static build, where nothing is
/// interposed either).
///
/// # Safety
/// As for C's `sigaction`.
unsafe fn real_sigaction(
    signal: c_int,
    action: *const libc::sigaction,
    old: *mut libc::sigaction,
) -> c_int {
    let mut real = REAL_SIGACTION.load(Ordering::Acquire);
    if real == 0 {
        resolve_real_functions();
        real = REAL_SIGACTION.load(Ordering::Acquire);
    }
    if real == 0 {
        // SAFETY: caller contract.
        return unsafe { libc::sigaction(signal, action, old) };
    }
    type Sigaction =
        unsafe extern "C" fn(c_int, *const libc::sigaction, *mut libc::sigaction) -> c_int;
    // SAFETY: `dlsym` found the C library's `sigaction`, of this type; caller contract.
    unsafe { core::mem::transmute::<usize, Sigaction>(real)(signal, action, old) }
}

/// The slot of `signal` when our handler is installed for it.
fn installed_slot(signal: c_int) -> Option<usize> {
    slot_of(signal).filter(|&slot| INSTALLED[slot].load(Ordering::Acquire))
}

/// The program's action for a slot, read under the sequence lock (async-signal-safe).
fn read_program_action(slot: usize) -> libc::sigaction {
    loop {
        let before = PROGRAM_SEQUENCE[slot].load(Ordering::Acquire);
        if before & 1 != 0 {
            core::hint::spin_loop();
            continue;
        }
        // SAFETY: all-zero bytes are a valid `sigaction`.
        let mut action: libc::sigaction = unsafe { core::mem::zeroed() };
        action.sa_sigaction = PROGRAM_HANDLER[slot].load(Ordering::Relaxed);
        action.sa_flags = PROGRAM_FLAGS[slot].load(Ordering::Relaxed);
        let mut words = [0u64; MASK_WORDS];
        for (word, stored) in words.iter_mut().zip(&PROGRAM_MASK[slot]) {
            *word = stored.load(Ordering::Relaxed);
        }
        // SAFETY: `sigset_t` is `MASK_WORDS` 64-bit words of plain bits.
        action.sa_mask =
            unsafe { core::mem::transmute::<[u64; MASK_WORDS], libc::sigset_t>(words) };
        fence(Ordering::Acquire);
        if PROGRAM_SEQUENCE[slot].load(Ordering::Relaxed) == before {
            return action;
        }
    }
}

/// Replaces the program's action for a slot. The caller holds [`PROGRAM_LOCK`] (or is
/// [`install_one`], before the handler exists) and has blocked every signal.
fn write_program_action(slot: usize, action: &libc::sigaction) {
    let sequence = PROGRAM_SEQUENCE[slot].load(Ordering::Relaxed);
    PROGRAM_SEQUENCE[slot].store(sequence.wrapping_add(1), Ordering::Relaxed);
    fence(Ordering::Release);
    PROGRAM_HANDLER[slot].store(action.sa_sigaction, Ordering::Relaxed);
    PROGRAM_FLAGS[slot].store(action.sa_flags, Ordering::Relaxed);
    // SAFETY: `sigset_t` is `MASK_WORDS` 64-bit words of plain bits.
    let words =
        unsafe { core::mem::transmute::<libc::sigset_t, [u64; MASK_WORDS]>(action.sa_mask) };
    for (stored, word) in PROGRAM_MASK[slot].iter().zip(words) {
        stored.store(word, Ordering::Relaxed);
    }
    PROGRAM_SEQUENCE[slot].store(sequence.wrapping_add(2), Ordering::Release);
}

/// Blocks every signal of the calling thread; returns the mask before.
fn block_all() -> libc::sigset_t {
    // SAFETY: valid sets; blocking every signal of this thread only.
    unsafe {
        let mut old_mask: libc::sigset_t = core::mem::zeroed();
        let mut all: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        set_mask(libc::SIG_BLOCK, &all, &mut old_mask);
        old_mask
    }
}

/// Takes [`PROGRAM_LOCK`], the writers' lock (every signal blocked by the caller).
fn lock_program_actions() {
    while PROGRAM_LOCK
        .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
}

/// Replaces the program's action for a slot with `new` (when given), every signal blocked and the
/// writers' lock held; returns the action before.
fn change_program_action(slot: usize, new: Option<&libc::sigaction>) -> libc::sigaction {
    let old_mask = block_all();
    lock_program_actions();
    if !INSTALLED[slot].load(Ordering::Acquire) {
        // Handed back to the kernel meanwhile ([`step_aside`]): the call is the kernel's.
        // SAFETY: all-zero bytes are a valid `sigaction`.
        let mut before: libc::sigaction = unsafe { core::mem::zeroed() };
        let new = new.map_or(core::ptr::null(), |new| new as *const libc::sigaction);
        // SAFETY: valid pointers; the signal number is the slot's.
        unsafe { real_sigaction(slot as c_int, new, &mut before) };
        PROGRAM_LOCK.store(false, Ordering::Release);
        // SAFETY: restoring the mask saved above.
        unsafe { set_mask(libc::SIG_SETMASK, &old_mask, core::ptr::null_mut()) };
        return before;
    }
    let before = read_program_action(slot);
    if let Some(new) = new {
        write_program_action(slot, new);
        if PASSTHROUGH[slot].load(Ordering::Acquire) {
            // The kernel holds the program's own action, or ours while it is `SIG_DFL`.
            let kernel = if new.sa_sigaction == libc::SIG_DFL {
                own_action(TERMINATION_FLAGS)
            } else {
                defer::kernel_action(slot as c_int, new)
            };
            // SAFETY: valid pointers; the signal number is the slot's.
            unsafe { real_sigaction(slot as c_int, &kernel, core::ptr::null_mut()) };
        }
    }
    PROGRAM_LOCK.store(false, Ordering::Release);
    // SAFETY: restoring the mask saved above.
    unsafe { set_mask(libc::SIG_SETMASK, &old_mask, core::ptr::null_mut()) };
    before
}

/// C `sigaction` as the program sees it: for a signal our handler is installed for, reads and
/// replaces the program's action (see "The handler is invisible to the program"); any other
/// signal goes to the C library.
///
/// # Safety
/// As for C's `sigaction`: `action` and `old` are null or valid.
pub unsafe fn sigaction(
    signal: c_int,
    action: *const libc::sigaction,
    old: *mut libc::sigaction,
) -> c_int {
    let Some(slot) = installed_slot(signal) else {
        // SAFETY: caller contract; `real_sigaction` is the C library's.
        return unsafe { defer::sigaction(signal, action, old, real_sigaction) };
    };
    // Structures that cannot be accessed (a wild pointer, a freed block behind gpa's guard
    // page) must not fault inside gpa: an action that cannot be read is the kernel's
    // `EFAULT` (probed before anything changes); the old action is not stored where it
    // cannot be (the C ABI reports the program's bad `oldact`).
    let size = core::mem::size_of::<libc::sigaction>();
    let reachable = |at: usize| super::readable(at) && super::readable(at + size - 1);
    if !action.is_null() && !reachable(action as usize) {
        // SAFETY: errno of this thread.
        unsafe { *libc::__errno_location() = libc::EFAULT };
        return -1;
    }
    // SAFETY: caller contract; readable, probed above.
    let new = (!action.is_null()).then(|| unsafe { action.read() });
    let before = change_program_action(slot, new.as_ref());
    if !old.is_null() && reachable(old as usize) {
        // SAFETY: caller contract; mapped, probed above.
        unsafe { old.write(before) };
    }
    0
}

/// The semantics of the `signal` family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerSemantics {
    /// `signal`, `bsd_signal`, `ssignal` (glibc's default): the signal blocked while its
    /// handler runs, system calls restarted.
    Bsd,
    /// `sysv_signal`: the handler reset to the default on delivery (`SA_RESETHAND`), the
    /// signal not blocked (`SA_NODEFER`).
    SystemV,
}

/// C `signal` (or `sysv_signal`, per `semantics`) as the program sees it: for a signal our
/// handler is installed for, replaces the program's action as glibc's `signal` would have
/// replaced the kernel's and returns the previous handler; any other signal goes to the C
/// library.
///
/// # Safety
/// As for C's `signal`: `handler` is `SIG_DFL`, `SIG_IGN` or a function taking the signal.
pub unsafe fn set_handler(
    signal: c_int,
    handler: libc::sighandler_t,
    semantics: HandlerSemantics,
) -> libc::sighandler_t {
    let Some(slot) = installed_slot(signal) else {
        resolve_real_functions();
        let real = match semantics {
            HandlerSemantics::Bsd => REAL_SIGNAL.load(Ordering::Acquire),
            HandlerSemantics::SystemV => REAL_SYSV_SIGNAL.load(Ordering::Acquire),
        };
        if real == 0 || defer::wraps(signal) {
            // Not found, or the handler is wrapped ([`defer`]): `signal` on `sigaction`.
            return set_handler_with_sigaction(signal, handler, semantics);
        }
        type Signal = unsafe extern "C" fn(c_int, libc::sighandler_t) -> libc::sighandler_t;
        // SAFETY: `dlsym` found the C library's function, of this type; caller contract.
        return unsafe { core::mem::transmute::<usize, Signal>(real)(signal, handler) };
    };
    if handler == libc::SIG_ERR {
        // SAFETY: errno is this thread's.
        unsafe { *libc::__errno_location() = libc::EINVAL };
        return libc::SIG_ERR;
    }
    change_program_action(slot, Some(&handler_action(signal, handler, semantics))).sa_sigaction
}

/// `signal` built on [`real_sigaction`], as glibc builds it.
fn set_handler_with_sigaction(
    signal: c_int,
    handler: libc::sighandler_t,
    semantics: HandlerSemantics,
) -> libc::sighandler_t {
    if handler == libc::SIG_ERR {
        // SAFETY: errno is this thread's.
        unsafe { *libc::__errno_location() = libc::EINVAL };
        return libc::SIG_ERR;
    }
    let action = handler_action(signal, handler, semantics);
    // SAFETY: all-zero bytes are a valid `sigaction`.
    let mut old: libc::sigaction = unsafe { core::mem::zeroed() };
    // SAFETY: valid pointers; `real_sigaction` is the C library's.
    if unsafe { defer::sigaction(signal, &action, &mut old, real_sigaction) } != 0 {
        return libc::SIG_ERR;
    }
    old.sa_sigaction
}

/// The action glibc's `signal` (or `sysv_signal`) installs for `handler`.
fn handler_action(
    signal: c_int,
    handler: libc::sighandler_t,
    semantics: HandlerSemantics,
) -> libc::sigaction {
    // SAFETY: all-zero bytes are a valid `sigaction`.
    let mut action: libc::sigaction = unsafe { core::mem::zeroed() };
    action.sa_sigaction = handler;
    // SAFETY: a valid set.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    match semantics {
        HandlerSemantics::Bsd => {
            // SAFETY: a valid set; an out-of-range signal leaves it empty.
            unsafe { libc::sigaddset(&mut action.sa_mask, signal) };
            action.sa_flags = libc::SA_RESTART;
        }
        HandlerSemantics::SystemV => action.sa_flags = libc::SA_RESETHAND | libc::SA_NODEFER,
    }
    action
}

fn map_crash_stack() {
    if CRASH_STACK_TOP.load(Ordering::Acquire) != 0 {
        return;
    }
    let page = super::page_size();
    let Some(base) = super::reserve_aligned(CRASH_STACK_SIZE + page, page) else {
        return;
    };
    // SAFETY: the reservation was made above; the lowest page stays inaccessible as the
    // stack's guard.
    let usable = unsafe {
        super::protect(
            core::ptr::NonNull::new_unchecked(base.as_ptr().add(page)),
            CRASH_STACK_SIZE,
            true,
        )
    };
    if usable {
        CRASH_STACK_TOP.store(
            base.as_ptr() as usize + page + CRASH_STACK_SIZE,
            Ordering::Release,
        );
    }
}

thread_local! {
    /// 0: not looked at; 1: the thread has an alternate stack of its own (or we could not
    /// make one); otherwise the base of the one this module mapped for it.
    static ALT_STACK: Cell<usize> = const { Cell::new(0) };
}

/// Gives the calling thread an alternate signal stack if the handler is installed and the
/// thread has none (a guard page below it). Cheap after the first call on a thread.
pub fn ensure_alt_stack() {
    if !INSTALLED[libc::SIGSEGV as usize].load(Ordering::Relaxed)
        && !INSTALLED[libc::SIGBUS as usize].load(Ordering::Relaxed)
    {
        return;
    }
    // A thread started under a seccomp filter that kills on `sigaltstack` goes without.
    if super::seccomp::stops("sigaltstack") {
        return;
    }
    let _ = ALT_STACK.try_with(|alt| {
        if alt.get() != 0 {
            return;
        }
        alt.set(1);
        // SAFETY: querying with a null new stack only reads the current setting.
        let mut current: libc::stack_t = unsafe { core::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { raw_sigaltstack(core::ptr::null(), &mut current) } != 0
            || current.ss_flags & libc::SS_DISABLE == 0
        {
            return;
        }
        let page = super::page_size();
        let Some(base) = super::reserve_aligned(ALT_STACK_SIZE + page, page) else {
            return;
        };
        // SAFETY: the reservation is ours; the lowest page stays a guard.
        let stack = unsafe { base.as_ptr().add(page) };
        // SAFETY: as above.
        if !unsafe {
            super::protect(
                core::ptr::NonNull::new_unchecked(stack),
                ALT_STACK_SIZE,
                true,
            )
        } {
            // SAFETY: the reservation is unused.
            unsafe { super::unmap(base, ALT_STACK_SIZE + page) };
            return;
        }
        let fresh = libc::stack_t {
            ss_sp: stack.cast(),
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        // SAFETY: `fresh` describes a mapped, writable stack that lives until
        // `release_alt_stack`.
        if unsafe { raw_sigaltstack(&fresh, core::ptr::null_mut()) } == 0 {
            alt.set(base.as_ptr() as usize);
            let _ = ALT_STACKS.iter().find(|entry| {
                entry
                    .compare_exchange(
                        0,
                        base.as_ptr() as usize,
                        Ordering::AcqRel,
                        Ordering::Relaxed,
                    )
                    .is_ok()
            });
            release_at_thread_exit();
        } else {
            // SAFETY: never installed.
            unsafe { super::unmap(base, ALT_STACK_SIZE + page) };
        }
    });
}

/// Releases the alternate stacks of exiting threads.
static EXIT_KEY: super::ThreadExitKey = super::ThreadExitKey::new(alt_stack_destructor);

/// Arranges for [`release_alt_stack`] to run when the calling thread exits (`pthread_setspecific`
/// may allocate, so callers inside an allocator hold its re-entrancy guard).
fn release_at_thread_exit() {
    EXIT_KEY.arm();
}

extern "C" fn alt_stack_destructor(_: *mut c_void) {
    release_alt_stack();
}

/// The kernel's `sigaltstack`, past the preload library's own [`program_sigaltstack`] (which
/// the C library's symbol resolves to inside the library too): gpa's calls see and set the
/// thread's real alternate stack. Returns 0, or -1 with `errno` set.
///
/// # Safety
/// `new` and `old` are null or valid (`EFAULT` otherwise, from the kernel).
pub unsafe fn raw_sigaltstack(new: *const libc::stack_t, old: *mut libc::stack_t) -> c_int {
    // SAFETY: caller contract; glibc's `stack_t` is the kernel's on Linux.
    let result = unsafe { libc::syscall(libc::SYS_sigaltstack, new, old) };
    if result == 0 {
        0
    } else {
        -1
    }
}

/// C `sigaltstack` as the program sees it: the alternate stack [`ensure_alt_stack`] gave the
/// thread for gpa's fault handler is invisible, as under Valgrind and natively, where the
/// thread starts without one. While it is installed a query answers "none" (`SS_DISABLE`), a
/// program's own stack replaces it (and is then the one the handler runs on), and disabling
/// leaves it in place; once the program has a stack of its own, every call goes to the
/// kernel, and disabling the program's stack puts gpa's back, unseen.
///
/// Found with `llc-14` (LLVM's `InitLLVM` mallocs a 73,728-byte stack only when the thread
/// has none: under gpa it had one, and the block Valgrind lists as still reachable was never
/// allocated); Rust's runtime and Go's make the same test.
///
/// # Safety
/// As for C's `sigaltstack`: `new` and `old` are null or valid (`EFAULT` otherwise).
pub unsafe fn program_sigaltstack(new: *const libc::stack_t, old: *mut libc::stack_t) -> c_int {
    let own = ALT_STACK.try_with(Cell::get).unwrap_or(0);
    if own <= 1 {
        // SAFETY: caller contract.
        return unsafe { raw_sigaltstack(new, old) };
    }
    let own_stack = own + super::page_size();
    let mut current = libc::stack_t {
        ss_sp: core::ptr::null_mut(),
        ss_flags: 0,
        ss_size: 0,
    };
    // SAFETY: a null new stack only queries; `current` is a valid out-parameter.
    if unsafe { raw_sigaltstack(core::ptr::null(), &mut current) } != 0 {
        // SAFETY: caller contract.
        return unsafe { raw_sigaltstack(new, old) };
    }
    let ours = current.ss_flags & libc::SS_DISABLE == 0 && current.ss_sp as usize == own_stack;
    if !ours {
        // The program's own stack (or none): the kernel answers.
        // SAFETY: caller contract.
        let result = unsafe { raw_sigaltstack(new, old) };
        if result == 0 && !new.is_null() {
            // SAFETY: the kernel read it just now.
            let wanted = unsafe { new.read() };
            if wanted.ss_flags & libc::SS_DISABLE != 0 {
                // The program gave its stack up: gpa's goes back, unseen.
                let fresh = libc::stack_t {
                    ss_sp: own_stack as *mut c_void,
                    ss_flags: 0,
                    ss_size: ALT_STACK_SIZE,
                };
                // SAFETY: gpa's stack stays mapped until the thread exits.
                unsafe { raw_sigaltstack(&fresh, core::ptr::null_mut()) };
            }
        }
        return result;
    }
    let fail = |errno: c_int| {
        // SAFETY: errno of this thread.
        unsafe { *libc::__errno_location() = errno };
        -1
    };
    let size = core::mem::size_of::<libc::stack_t>();
    let reachable = |at: usize| super::readable(at) && super::readable(at + size - 1);
    if !new.is_null() {
        if !reachable(new as usize) {
            return fail(libc::EFAULT);
        }
        // SAFETY: caller contract; readable, probed above.
        let wanted = unsafe { new.read() };
        if current.ss_flags & libc::SS_ONSTACK != 0 {
            // The kernel's answer while running on the stack being replaced.
            return fail(libc::EPERM);
        }
        if wanted.ss_flags & libc::SS_DISABLE == 0 {
            // The program's stack replaces gpa's; the kernel checks it (`EINVAL`, `ENOMEM`).
            // SAFETY: `new` readable, probed above.
            if unsafe { raw_sigaltstack(new, core::ptr::null_mut()) } != 0 {
                return -1;
            }
        } else if wanted.ss_flags & !(libc::SS_DISABLE | SS_AUTODISARM) != 0 {
            return fail(libc::EINVAL);
        }
    }
    if !old.is_null() {
        if !reachable(old as usize) {
            return fail(libc::EFAULT);
        }
        // SAFETY: caller contract; mapped, probed above. What the kernel reports for a
        // thread without an alternate stack.
        unsafe {
            old.write(libc::stack_t {
                ss_sp: core::ptr::null_mut(),
                ss_flags: libc::SS_DISABLE,
                ss_size: 0,
            })
        };
    }
    0
}

/// `SS_AUTODISARM` (Linux 4.7): a flag the kernel accepts beside `SS_DISABLE`.
const SS_AUTODISARM: c_int = 1 << 31;

/// Removes and unmaps the alternate stack [`ensure_alt_stack`] made for the calling thread,
/// if any (at thread exit).
pub fn release_alt_stack() {
    let _ = ALT_STACK.try_with(|alt| {
        let base = alt.replace(0);
        if base <= 1 {
            return;
        }
        let disable = libc::stack_t {
            ss_sp: core::ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: disabling the thread's own alternate stack (not running on it: this is not
        // a signal handler), then unmapping the memory this module mapped for it.
        unsafe {
            if raw_sigaltstack(&disable, core::ptr::null_mut()) == 0 {
                if let Some(entry) = ALT_STACKS
                    .iter()
                    .find(|entry| entry.load(Ordering::Acquire) == base)
                {
                    entry.store(0, Ordering::Release);
                }
                super::unmap(
                    core::ptr::NonNull::new_unchecked(base as *mut u8),
                    ALT_STACK_SIZE + super::page_size(),
                );
            }
        }
    });
}

/// Calls `visit` with the usable part (`start`, `end`) of each signal stack this module mapped
/// and still owns: the crash stack and the threads' alternate stacks (and the stacks of
/// [`super::stack`], for gpa's cold work). Only signal handlers (and gpa) run
/// there, so what they hold outside a handler that is running is stale (for a leak scan,
/// which must not take it for the program's roots).
pub fn for_each_own_stack(visit: &mut dyn FnMut(usize, usize)) {
    let top = CRASH_STACK_TOP.load(Ordering::Acquire);
    if top != 0 {
        visit(top - CRASH_STACK_SIZE, top);
    }
    super::stack::for_each_stack(visit);
    let page = super::page_size();
    for entry in &ALT_STACKS {
        let base = entry.load(Ordering::Acquire);
        if base != 0 {
            visit(base + page, base + page + ALT_STACK_SIZE);
        }
    }
}

/// Ends the process as `signal` would have: the default action restored, the signal
/// unblocked and raised again. Never returns.
pub fn end_process(signal: c_int) -> ! {
    // SAFETY: all async-signal-safe calls with valid arguments.
    unsafe {
        let mut action: libc::sigaction = core::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut action.sa_mask);
        real_sigaction(signal, &action, core::ptr::null_mut());
        let mut set: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        set_mask(libc::SIG_UNBLOCK, &set, core::ptr::null_mut());
        libc::raise(signal);
        // Only reachable for a signal whose default action is to continue.
        libc::_exit(128 + signal)
    }
}

extern "C" fn on_signal(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    #[cfg(target_arch = "x86_64")]
    if signal == libc::SIGTRAP {
        // SAFETY: the kernel's context for this thread's handler.
        if unsafe { step::finish_step(context) } {
            return;
        }
        // Any other trap (a breakpoint, `raise`) is the program's: the hook and the program's
        // action see it as any other signal handled here.
    }
    // SAFETY: the kernel passes a valid siginfo and ucontext to an SA_SIGINFO handler.
    let mut fault = unsafe { decode(signal, info, context) };
    fault.context = context as usize;
    let hook = HOOK.load(Ordering::Acquire);
    if hook != 0 {
        // SAFETY: only `fn(&Fault) -> Verdict` values are stored in HOOK.
        let hook: Hook = unsafe { core::mem::transmute::<usize, Hook>(hook) };
        match run_hook(hook, &fault) {
            Verdict::Reported => end_process(signal),
            Verdict::Resumed => return,
            // The reporting thread stops this one for its scan and ends the process.
            Verdict::Deferred => loop {
                sleep_briefly();
            },
            Verdict::Retry => {
                if retry_later(signal) {
                    return;
                }
                end_process(signal)
            }
            Verdict::NotOurs => {}
        }
    }
    // SAFETY: forwarding the kernel's arguments unchanged.
    unsafe { chain(signal, info, context, &fault) };
}

/// The kernel timer of the last [`retry_later`] (-1: none).
static RETRY_TIMER: AtomicI32 = AtomicI32::new(-1);

/// Sends `signal` to the calling thread again after one to two [`RETRY_DELAY`]s, with a one-shot kernel
/// timer (`timer_create` with `SIGEV_THREAD_ID`: the system calls themselves,
/// async-signal-safe); the previous one is deleted first (it has fired, or the signal came
/// from elsewhere meanwhile). `false` when the timer cannot be made.
fn retry_later(signal: c_int) -> bool {
    let previous = RETRY_TIMER.swap(-1, Ordering::AcqRel);
    if previous >= 0 {
        // SAFETY: deleting a timer this module created.
        unsafe { libc::syscall(libc::SYS_timer_delete, previous) };
    }
    // SAFETY: all-zero bytes are a valid `sigevent`.
    let mut event: libc::sigevent = unsafe { core::mem::zeroed() };
    event.sigev_notify = libc::SIGEV_THREAD_ID;
    event.sigev_signo = signal;
    event.sigev_notify_thread_id = super::thread_id() as c_int;
    let mut timer: c_int = -1;
    // Jittered over [RETRY_DELAY, 2 * RETRY_DELAY): a thread in a loop that spends most of
    // each round in the allocator is not caught at the same point of the round each time.
    static ROUNDS: AtomicUsize = AtomicUsize::new(0);
    let round = ROUNDS.fetch_add(1, Ordering::Relaxed);
    let base = RETRY_DELAY.as_nanos() as usize;
    let delay = base + round.wrapping_mul(7919) % 997 * (base / 997);
    // SAFETY: valid pointers to an event and to the kernel's timer id (an int).
    let made = unsafe {
        libc::syscall(
            libc::SYS_timer_create,
            libc::CLOCK_MONOTONIC,
            &event as *const libc::sigevent,
            &mut timer as *mut c_int,
        )
    } == 0;
    if !made {
        return false;
    }
    let value = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: 0,
            tv_nsec: delay as libc::c_long,
        },
    };
    // SAFETY: the timer was just created; a valid relative expiry, no old value asked for.
    let armed = unsafe {
        libc::syscall(
            libc::SYS_timer_settime,
            timer,
            0,
            &value as *const libc::itimerspec,
            core::ptr::null_mut::<libc::itimerspec>(),
        )
    } == 0;
    if !armed {
        // SAFETY: deleting the timer just created.
        unsafe { libc::syscall(libc::SYS_timer_delete, timer) };
        return false;
    }
    RETRY_TIMER.store(timer, Ordering::Release);
    true
}

/// Runs the hook on the crash stack, one thread at a time.
fn run_hook(hook: Hook, fault: &Fault) -> Verdict {
    let mut verdict = Verdict::NotOurs;
    if !on_crash_stack(&mut || verdict = hook(fault)) {
        super::write_stderr(
            b"error(gpa): fault while writing a fault report; ending the process\n",
        );
        end_process(fault.signal);
    }
    verdict
}

/// The general registers of the interrupted thread a fault's context holds (x86-64: `r8` to
/// `r15`, `rdi`, `rsi`, `rbp`, `rbx`, `rdx`, `rax`, `rcx`, `rsp`; AArch64: `x0` to `x30`),
/// into `out`; returns how many (0 without a context). For the leak check at a fatal
/// signal: they are roots, as Valgrind scans a thread's registers.
pub fn general_registers(fault: &Fault, out: &mut [usize; 32]) -> usize {
    if fault.context == 0 {
        return 0;
    }
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        // SAFETY: `context` is the ucontext_t the kernel passed to the handler running now
        // (the hook's caller), alive until it returns.
        let context = unsafe { &*(fault.context as *const libc::ucontext_t) };
        for (slot, &value) in out.iter_mut().zip(&context.uc_mcontext.gregs[..16]) {
            *slot = value as usize;
        }
        16
    }
    #[cfg(all(target_arch = "aarch64", target_os = "linux"))]
    {
        // SAFETY: as above.
        let context = unsafe { &*(fault.context as *const libc::ucontext_t) };
        for (slot, &value) in out.iter_mut().zip(&context.uc_mcontext.regs[..31]) {
            *slot = value as usize;
        }
        31
    }
    #[cfg(not(all(
        any(target_arch = "x86_64", target_arch = "aarch64"),
        target_os = "linux"
    )))]
    {
        let _ = out;
        0
    }
}

/// Lets the program go on after a memory fault the hook has recorded: opens the faulting
/// page for the faulting instruction alone (the single-step trap closes it again; see
/// `step`), or with `leave_open` until gpa itself next changes that memory
/// ([`close_left_open`]), after which the hook returns [`Verdict::Resumed`]. `false`,
/// changing nothing, where that cannot be done (no context, a page that cannot be opened,
/// another target than x86-64): the hook then reports and ends the process. Called only from
/// the hook, on the faulting thread. `keep`: whether the page holds what a program may read
/// again (a freed block whose contents are kept): a `PROT_NONE` page is then closed again
/// without discarding it, so reads through it see its bytes and writes stay. Asked once the
/// page is not claimed ([`claim`]), so lock-free and async-signal-safe.
pub fn resume_after(fault: &Fault, leave_open: bool, keep: &dyn Fn() -> bool) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let denied_write = fault.write == Some(true) && fault.code == SEGV_ACCERR;
        fault.is_memory_fault()
            && step::resume_after(fault.address, fault.context, denied_write, leave_open, keep)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (fault, leave_open, keep);
        false
    }
}

/// Whether the calling thread is in the middle of a step [`resume_after`] began: a fault it
/// takes meanwhile is the same instruction's access reaching a second inaccessible page, not
/// another access. Always `false` where there are no steps (another target than x86-64).
pub fn stepping_here() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        step::stepping_here()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A range claimed by [`claim`], released when dropped.
#[cfg(target_arch = "x86_64")]
pub use step::Claim;
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) use step::{begin_test_step, end_test_step};
/// A range claimed by [`claim`], released when dropped.
#[cfg(not(target_arch = "x86_64"))]
pub struct Claim;

#[cfg(not(target_arch = "x86_64"))]
impl Claim {
    /// See the x86-64 `Claim::marks`.
    pub fn marks(&self) {}
}

/// Claims `[start, start + len)` before gpa changes it in a way a step's close would undo (a
/// kept page forgotten, an extent handed out again: see `step`, "Claims"), until the claim
/// is dropped: `None` when a fault's step has a page of it open (the caller leaves that
/// memory as it is for now), else no step opens a page of it meanwhile. Runs left open
/// do not count (the caller's range operations close them). `tid`: the calling thread's
/// kernel id, cached (a step waiting for the claim goes on when that thread has ended). No
/// system call, no lock.
#[inline]
pub fn claim(start: usize, len: usize, tid: u64) -> Option<Claim> {
    #[cfg(target_arch = "x86_64")]
    {
        step::claim(start, len, tid)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (start, len, tid);
        Some(Claim)
    }
}

/// In the child of `fork` (only the forking thread runs): drops what the parent's other
/// threads held in the step machinery (claims, pages open for a step, its lock), which no
/// thread of the child would ever release. See `step::after_fork_in_child`.
pub fn after_fork_in_child() {
    #[cfg(target_arch = "x86_64")]
    step::after_fork_in_child();
}

/// Puts back the pages [`resume_after`] left open in `[start, start + len)`, before gpa
/// changes that range itself. The memory layer calls it from each of its range operations; one atomic load when
/// no page is left open.
#[inline]
pub fn close_left_open(start: usize, len: usize) {
    #[cfg(target_arch = "x86_64")]
    step::close_left_open(start, len);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (start, len);
}

/// Runs `work` with every signal of the calling thread blocked (async-signal-safe).
pub fn with_signals_blocked(work: &mut dyn FnMut()) {
    // SAFETY: plain signal sets; blocking this thread's signals only, restored after.
    unsafe {
        let mut all: libc::sigset_t = core::mem::zeroed();
        let mut old: libc::sigset_t = core::mem::zeroed();
        libc::sigfillset(&mut all);
        set_mask(libc::SIG_BLOCK, &all, &mut old);
        work();
        set_mask(libc::SIG_SETMASK, &old, core::ptr::null_mut());
    }
}

/// Changes the calling thread's signal mask as glibc's `pthread_sigmask` does (its two
/// internal signals, 32 and 33, are never blocked), with the system call itself: gpa's own
/// masks must not go through the preload library's `pthread_sigmask`, which keeps the leak
/// scan's stop signal deliverable to the program's threads. Returns 0 or an `errno` value.
/// Async-signal-safe.
///
/// # Safety
/// `set` is null or a valid signal set; `old` is null or writable.
pub unsafe fn set_mask(how: c_int, set: *const libc::sigset_t, old: *mut libc::sigset_t) -> c_int {
    let mut copy: libc::sigset_t;
    let mut set = set;
    if !set.is_null() {
        // SAFETY: `set` is a valid set (caller contract); `copy` is a plain value.
        unsafe {
            copy = *set;
            libc::sigdelset(&mut copy, 32);
            libc::sigdelset(&mut copy, 33);
        }
        set = &copy;
    }
    // SAFETY: valid or null pointers (caller contract); the kernel's set is 8 bytes.
    let result = unsafe { libc::syscall(libc::SYS_rt_sigprocmask, how, set, old, 8) };
    if result == 0 {
        0
    } else {
        // SAFETY: errno of this thread.
        unsafe { *libc::__errno_location() }
    }
}

/// The stack a leak scan and its report may need, in bytes: [`with_stack_room`] moves them to
/// the crash stack when the calling thread has less left.
pub const REPORT_ROOM: usize = 1 << 20;

/// Runs `work` where there is stack room for it: on the crash stack (one thread at a time,
/// as the hook) when the calling thread runs on an alternate signal stack or has less than
/// [`REPORT_ROOM`] bytes of its stack left, else right here. A program's signal handler that
/// calls `exit` runs the exit hooks on the stack it runs on, an alternate one if it was
/// installed with `SA_ONSTACK` or forwarded by this module's handler: [`ALT_STACK_SIZE`] bytes
/// when this module made it (8 KiB for Rust's std), little for a leak scan and its report (at
/// 64 KiB they ended such programs with `SIGSEGV` on the stack's guard page). A thread the
/// program started with a small stack (`PTHREAD_STACK_MIN`, 64 KiB) that calls `exit` is in the
/// same position, and so is a coroutine or a `clone()` child on a stack of its own.
pub fn with_stack_room(work: &mut dyn FnMut()) {
    // Off the thread's own stack (a coroutine's, a `clone()` child's, wherever it lies):
    // no room known.
    let roomy = || match super::stack_bounds() {
        Some((lowest, highest)) => {
            let sp = super::approximate_stack_pointer();
            sp < highest && sp.saturating_sub(lowest) >= REPORT_ROOM
        }
        None => true,
    };
    if super::current_alternate_stack().is_none() && roomy() {
        work();
        return;
    }
    map_crash_stack();
    // Already on the crash stack: a report that ends the process.
    if !on_crash_stack(work) {
        work();
    }
}

/// Runs `work` on the crash stack (on the current one while none is mapped), after waiting
/// for any other thread using it; `false`, without running it, when the calling thread is
/// using it already.
fn on_crash_stack(work: &mut dyn FnMut()) -> bool {
    let me = super::thread_id();
    loop {
        match REPORTER.compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => break,
            Err(owner) if owner == me => return false,
            Err(_) => sleep_briefly(),
        }
    }
    let top = CRASH_STACK_TOP.load(Ordering::Acquire);
    let mut work = work;
    // SAFETY: `work` outlives the call; the crash stack is used by one thread at a time
    // (REPORTER) and is at least CRASH_STACK_SIZE bytes below `top` (or `top` is 0: here).
    unsafe { call_on_stack(top, run_work, &mut work as *mut &mut dyn FnMut() as usize) };
    REPORTER.store(0, Ordering::Release);
    true
}

extern "C" fn run_work(work: usize) {
    // SAFETY: `on_crash_stack` passes a pointer to its live `&mut dyn FnMut()`.
    let work = unsafe { &mut *(work as *mut &mut dyn FnMut()) };
    work();
}

/// Calls `function(argument)` with the stack pointer at `top` (the current stack when `top`
/// is 0 or on targets without an implementation).
///
/// # Safety
/// `top` is 0 or the 16-byte-aligned top of a mapped stack nobody else uses meanwhile.
unsafe fn call_on_stack(top: usize, function: extern "C" fn(usize), argument: usize) {
    #[cfg(target_arch = "x86_64")]
    if top != 0 {
        // SAFETY: caller contract.
        unsafe { super::stack::call_on_stack(top, function, argument) };
        return;
    }
    let _ = top;
    function(argument);
}

fn sleep_briefly() {
    let pause = libc::timespec {
        tv_sec: 0,
        tv_nsec: 1_000_000,
    };
    // SAFETY: nanosleep is async-signal-safe; a null remainder is allowed.
    unsafe { libc::nanosleep(&pause, core::ptr::null_mut()) };
}

/// Sends the signal on to the program's action, as the kernel would have delivered it (on the
/// stack we run on: see "The handler is invisible to the program").
///
/// # Safety
/// The arguments are those the kernel passed to [`on_signal`].
unsafe fn chain(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void, fault: &Fault) {
    let Some(slot) = slot_of(signal) else {
        end_process(signal);
    };
    let mut action = read_program_action(slot);
    let handler = action.sa_sigaction;
    let flags = action.sa_flags;
    if handler == libc::SIG_DFL {
        end_process(signal);
    }
    if handler == libc::SIG_IGN {
        if fault.code > 0 && signal != libc::SIGABRT {
            // The kernel does not let a fault be ignored: returning would fault again.
            end_process(signal);
        }
        return;
    }
    if flags & libc::SA_RESETHAND != 0 {
        // As the kernel does: the handler becomes the default before it runs (the flags and
        // mask stay). Every signal is blocked while the writers' lock is held, so this thread
        // does not hold it now.
        action.sa_sigaction = libc::SIG_DFL;
        change_program_action(slot, Some(&action));
    }
    // SAFETY: blocking the program handler's `sa_mask` around the call (and unblocking the
    // signal itself under SA_NODEFER; without it the signal is blocked already, as no
    // SA_NODEFER was given for ours), as the kernel would have.
    unsafe {
        let mut mask = action.sa_mask;
        let mut old: libc::sigset_t = core::mem::zeroed();
        set_mask(libc::SIG_BLOCK, &mask, &mut old);
        if flags & libc::SA_NODEFER != 0 && libc::sigismember(&action.sa_mask, signal) != 1 {
            libc::sigemptyset(&mut mask);
            libc::sigaddset(&mut mask, signal);
            set_mask(libc::SIG_UNBLOCK, &mask, core::ptr::null_mut());
        }
        if flags & libc::SA_SIGINFO != 0 {
            let action: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
                core::mem::transmute(handler);
            action(signal, info, context);
        } else {
            let action: extern "C" fn(c_int) = core::mem::transmute(handler);
            action(signal);
        }
        set_mask(libc::SIG_SETMASK, &old, core::ptr::null_mut());
    }
}

/// Reads a signal's context.
///
/// # Safety
/// `info` and `context` are what the kernel passed to an `SA_SIGINFO` handler.
unsafe fn decode(signal: c_int, info: *mut libc::siginfo_t, context: *mut c_void) -> Fault {
    let mut fault = Fault {
        signal,
        ..Fault::default()
    };
    if !info.is_null() {
        // SAFETY: caller contract.
        unsafe {
            fault.code = (*info).si_code;
            fault.address = (*info).si_addr() as usize;
        }
    }
    if context.is_null() {
        return fault;
    }
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    // SAFETY: caller contract: a ucontext_t of this thread.
    unsafe {
        const REG_RBP: usize = 10;
        const REG_RSP: usize = 15;
        const REG_RIP: usize = 16;
        const REG_ERR: usize = 19;
        let context = &*(context as *const libc::ucontext_t);
        let registers = &context.uc_mcontext.gregs;
        fault.ip = registers[REG_RIP] as usize;
        fault.sp = registers[REG_RSP] as usize;
        fault.bp = registers[REG_RBP] as usize;
        if signal == libc::SIGSEGV && fault.code > 0 {
            let error = registers[REG_ERR] as u64;
            fault.write = Some(error & 2 != 0);
            fault.fetch = error & 16 != 0;
            if !fault.fetch {
                fault.access_size = access_width(fault.ip);
                // ucontext's order (r8 to r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp) to
                // the instruction encoding's (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8...).
                const ENCODING_ORDER: [usize; 16] =
                    [13, 14, 12, 11, 15, 10, 9, 8, 0, 1, 2, 3, 4, 5, 6, 7];
                let general = ENCODING_ORDER.map(|at| registers[at] as usize);
                fault.access_start = access_start(fault.ip, &general, fault.address);
            }
        }
    }
    #[cfg(all(target_arch = "aarch64", target_os = "linux"))]
    // SAFETY: caller contract: a ucontext_t of this thread.
    unsafe {
        let context = &*(context as *const libc::ucontext_t);
        fault.ip = context.uc_mcontext.pc as usize;
        fault.sp = context.uc_mcontext.sp as usize;
        fault.bp = context.uc_mcontext.regs[29] as usize;
    }
    fault
}

/// The width of the memory operand of the x86-64 instruction at `ip`, for the common forms
/// (moves, arithmetic, compares, zero/sign extensions, SSE/AVX loads and stores, string
/// instructions). `None` when the instruction is not one of those.
#[cfg(target_arch = "x86_64")]
fn access_width(ip: usize) -> Option<usize> {
    decode_width(instruction_bytes(ip))
}

/// The 15 bytes at `ip` (the longest x86-64 instruction).
#[cfg(target_arch = "x86_64")]
fn instruction_bytes(ip: usize) -> &'static [u8] {
    // SAFETY: `ip` is the address of the instruction that faulted on a data access, so its
    // bytes are mapped and executable (readable); x86-64 instructions are at most 15 bytes
    // and code mappings end on a page boundary after the last instruction's bytes.
    unsafe { core::slice::from_raw_parts(ip as *const u8, 15) }
}

/// The first byte of the faulting access of the x86-64 instruction at `ip`, from its memory
/// operand and the interrupted thread's general registers (`registers`: `rax`, `rcx`, `rdx`,
/// `rbx`, `rsp`, `rbp`, `rsi`, `rdi`, `r8` to `r15`, the instruction encoding's order), where
/// [`decode_access`] knows the instruction's shape and the start is consistent with the fault
/// at `address` (`start <= address < start + width`).
#[cfg(target_arch = "x86_64")]
fn access_start(ip: usize, registers: &[usize; 16], address: usize) -> Option<usize> {
    decode_start(instruction_bytes(ip), ip, registers, address)
}

/// Where a decoded instruction's memory operand is.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operand {
    /// A ModRM operand: its ModRM byte's index in the instruction, and the bytes of immediate
    /// after the displacement (for the instruction's length, which a RIP-relative address
    /// counts from).
    ModRm { at: usize, immediate: usize },
    /// A string instruction's: `[rsi]` (`source`), `[rdi]` (`destination`) or either.
    String { source: bool, destination: bool },
}

/// What [`decode_access`] finds in an instruction.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Decoded {
    /// The memory operand's width in bytes.
    width: usize,
    /// Where the operand is; `None` where the decoder knows the width only.
    operand: Option<Operand>,
    /// REX.X (VEX: its inverted X): the fourth bit of the SIB index.
    rex_x: bool,
    /// REX.B (VEX: its inverted B): the fourth bit of the base (ModRM r/m or SIB base).
    rex_b: bool,
    /// An `fs` or `gs` segment override: the address is relative to a base the registers do
    /// not hold.
    segment: bool,
    /// The address-size prefix (`0x67`): 32-bit addresses.
    address32: bool,
}

/// See [`access_width`]; split out for testing.
#[cfg(target_arch = "x86_64")]
fn decode_width(code: &[u8]) -> Option<usize> {
    decode_access(code).map(|decoded| decoded.width)
}

/// Decodes an x86-64 instruction's prefixes and opcode (legacy prefixes, REX, VEX; the
/// one-byte map, `0F` and `66 0F 38`, VEX maps 1 and 2, for the forms [`access_width`] names)
/// into its memory operand's width and where the operand is.
#[cfg(target_arch = "x86_64")]
fn decode_access(code: &[u8]) -> Option<Decoded> {
    let mut index = 0;
    let mut operand16 = false;
    let mut rep_prefix = 0u8;
    let mut segment = false;
    let mut address32 = false;
    while let Some(&byte) = code.get(index) {
        match byte {
            0x66 => operand16 = true,
            0xF2 | 0xF3 => rep_prefix = byte,
            0x64 | 0x65 => segment = true,
            0x67 => address32 = true,
            0x26 | 0x2E | 0x36 | 0x3E | 0xF0 => {}
            _ => break,
        }
        index += 1;
    }
    let mut wide = false;
    let mut rex_x = false;
    let mut rex_b = false;
    if let Some(&rex) = code.get(index) {
        if rex & 0xF0 == 0x40 {
            wide = rex & 8 != 0;
            rex_x = rex & 2 != 0;
            rex_b = rex & 1 != 0;
            index += 1;
        }
    }
    let word = if wide {
        8
    } else if operand16 {
        2
    } else {
        4
    };
    let immediate_word = if operand16 { 2 } else { 4 };
    let opcode = *code.get(index)?;
    let modrm = |at: usize, immediate: usize| Some(Operand::ModRm { at, immediate });
    let (width, operand) = match opcode {
        // VEX prefixes: the map and L (vector length) bit.
        0xC5 | 0xC4 => {
            let (map, length, next) = if opcode == 0xC5 {
                rex_x = false;
                rex_b = false;
                (1, code.get(index + 1)? & 4 != 0, index + 2)
            } else {
                let first = *code.get(index + 1)?;
                rex_x = first & 0x40 == 0;
                rex_b = first & 0x20 == 0;
                (first & 0x1F, code.get(index + 2)? & 4 != 0, index + 3)
            };
            let op = *code.get(next)?;
            let vector = if length { 32 } else { 16 };
            let width = match (map, op) {
                (1, 0x10 | 0x11 | 0x28 | 0x29 | 0x6F | 0x7F | 0xE7 | 0x2B) => vector,
                (1, 0x74..=0x76 | 0xD7 | 0xEB | 0xEF | 0xDA | 0xDE | 0xF8..=0xFE) => vector,
                (2, 0x00) => vector,
                // vpbroadcastd, vpbroadcastq, vpbroadcastb, vpbroadcastw: one element.
                (2, 0x58) => 4,
                (2, 0x59) => 8,
                (2, 0x78) => 1,
                (2, 0x79) => 2,
                _ => return None,
            };
            (width, modrm(next + 1, 0))
        }
        0x00..=0x3F if opcode & 7 < 4 => {
            (if opcode & 1 == 0 { 1 } else { word }, modrm(index + 1, 0))
        }
        0x63 => (4, modrm(index + 1, 0)),
        0x80 | 0x82 | 0xC0 | 0xC6 => (1, modrm(index + 1, 1)),
        0x84 | 0x86 | 0x88 | 0x8A | 0xD0 | 0xD2 | 0xFE => (1, modrm(index + 1, 0)),
        0x81 | 0xC7 => (word, modrm(index + 1, immediate_word)),
        0x83 | 0xC1 => (word, modrm(index + 1, 1)),
        0x85 | 0x87 | 0x89 | 0x8B | 0xD1 | 0xD3 | 0xFF => (word, modrm(index + 1, 0)),
        // `test` (/0, /1) has an immediate; not, neg, mul, imul, div, idiv do not.
        0xF6 | 0xF7 => {
            let test = (code.get(index + 1)? >> 3) & 7 < 2;
            let (width, immediate) = if opcode == 0xF6 {
                (1, 1)
            } else {
                (word, immediate_word)
            };
            (width, modrm(index + 1, if test { immediate } else { 0 }))
        }
        0xA4..=0xA7 | 0xAA..=0xAF => {
            let width = if opcode & 1 == 0 { 1 } else { word };
            let (source, destination) = match opcode {
                0xA4..=0xA7 => (true, true),
                0xAA | 0xAB | 0xAE | 0xAF => (false, true),
                _ => (true, false),
            };
            (
                width,
                Some(Operand::String {
                    source,
                    destination,
                }),
            )
        }
        0x0F => {
            let second = *code.get(index + 1)?;
            let width = match second {
                0xB6 | 0xBE => 1,
                0xB7 | 0xBF => 2,
                0x10 | 0x11 => match rep_prefix {
                    0xF3 => 4,
                    0xF2 => 8,
                    _ => 16,
                },
                0x12 | 0x13 | 0x16 | 0x17 | 0xD6 => 8,
                0x28 | 0x29 | 0x2B | 0xE7 => 16,
                0x6F | 0x7F => {
                    if operand16 || rep_prefix == 0xF3 {
                        16
                    } else {
                        8
                    }
                }
                0x6E | 0x7E if rep_prefix == 0xF3 => 8,
                0x6E | 0x7E => {
                    if wide {
                        8
                    } else {
                        4
                    }
                }
                0x74..=0x76 | 0xD7 | 0xDA | 0xDE | 0xEB | 0xEF | 0xF8..=0xFE => {
                    if operand16 {
                        16
                    } else {
                        8
                    }
                }
                // 66 0F 38: SSSE3/SSE4 on 16 bytes (map 2: the ModRM after its opcode).
                0x38 if operand16 => {
                    return Some(Decoded {
                        width: 16,
                        operand: modrm(index + 3, 0),
                        rex_x,
                        rex_b,
                        segment,
                        address32,
                    })
                }
                0xB0 => 1,
                0xB1 | 0xC1 => word,
                0xC7 => {
                    if wide {
                        16
                    } else {
                        8
                    }
                }
                _ => return None,
            };
            (width, modrm(index + 2, 0))
        }
        _ => return None,
    };
    Some(Decoded {
        width,
        operand,
        rex_x,
        rex_b,
        segment,
        address32,
    })
}

/// See [`access_start`]; split out for testing (`code`: the instruction's bytes, `ip`: its
/// address).
#[cfg(target_arch = "x86_64")]
fn decode_start(code: &[u8], ip: usize, registers: &[usize; 16], address: usize) -> Option<usize> {
    const RSI: usize = 6;
    const RDI: usize = 7;
    let decoded = decode_access(code)?;
    if decoded.segment {
        return None;
    }
    let mask = if decoded.address32 {
        u32::MAX as usize
    } else {
        usize::MAX
    };
    let width = decoded.width;
    let holds = |start: usize| start <= address && address - start < width;
    let start = match decoded.operand? {
        Operand::String {
            source,
            destination,
        } => {
            let source = (source && holds(registers[RSI] & mask)).then_some(registers[RSI] & mask);
            let destination =
                (destination && holds(registers[RDI] & mask)).then_some(registers[RDI] & mask);
            destination.or(source)?
        }
        Operand::ModRm { at, immediate } => {
            let modrm = *code.get(at)?;
            let mode = modrm >> 6;
            let rm = modrm & 7;
            if mode == 3 {
                return None;
            }
            let mut next = at + 1;
            let mut base = None;
            let mut scaled = 0usize;
            let mut rip_relative = false;
            let mut displacement32 = mode == 2;
            if rm == 4 {
                let sib = *code.get(next)?;
                next += 1;
                let index = usize::from((sib >> 3) & 7) | usize::from(decoded.rex_x) << 3;
                if index != 4 {
                    scaled = registers[index].wrapping_shl(u32::from(sib >> 6));
                }
                if sib & 7 == 5 && mode == 0 {
                    displacement32 = true;
                } else {
                    base = Some(usize::from(sib & 7) | usize::from(decoded.rex_b) << 3);
                }
            } else if rm == 5 && mode == 0 {
                rip_relative = true;
                displacement32 = true;
            } else {
                base = Some(usize::from(rm) | usize::from(decoded.rex_b) << 3);
            }
            let displacement = if displacement32 {
                let bytes = code.get(next..next + 4)?;
                next += 4;
                i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as isize
            } else if mode == 1 {
                next += 1;
                isize::from(*code.get(next - 1)? as i8)
            } else {
                0
            };
            let length = next + immediate;
            if length > 15 || length > code.len() {
                return None;
            }
            let origin = if rip_relative {
                ip.wrapping_add(length)
            } else {
                base.map_or(0, |base| registers[base])
            };
            origin
                .wrapping_add(scaled)
                .wrapping_add_signed(displacement)
                & mask
        }
    };
    holds(start).then_some(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn common_instructions_decode_to_their_widths() {
        for (bytes, width) in [
            (&[0x8A, 0x00][..], 1),                           // mov al, [rax]
            (&[0x0F, 0xB6, 0x00], 1),                         // movzx eax, byte [rax]
            (&[0x88, 0x10], 1),                               // mov [rax], dl
            (&[0x89, 0x10], 4),                               // mov [rax], edx
            (&[0x48, 0x89, 0x10], 8),                         // mov [rax], rdx
            (&[0x66, 0x89, 0x10], 2),                         // mov [rax], dx
            (&[0x80, 0x30, 0x41], 1),                         // xor byte [rax], 0x41
            (&[0xC5, 0xFE, 0x7F, 0x07], 32),                  // vmovdqu [rdi], ymm0
            (&[0xC5, 0xFA, 0x6F, 0x06], 16),                  // vmovdqu xmm0, [rsi]
            (&[0xF3, 0x0F, 0x6F, 0x06], 16),                  // movdqu xmm0, [rsi]
            (&[0xF3, 0xAA], 1),                               // rep stosb
            (&[0x48, 0x63, 0x07], 4),                         // movsxd rax, dword [rdi]
            (&[0x64, 0x48, 0x8B, 0x04, 0x25, 0, 0, 0, 0], 8), // mov rax, fs:[0]
        ] {
            assert_eq!(decode_width(bytes), Some(width), "{bytes:x?}");
        }
        assert_eq!(decode_width(&[0xE8, 0, 0, 0, 0]), None); // call
    }

    /// A fake register file: register `n` (the encoding's number) holds `(n + 1) << 16`.
    #[cfg(target_arch = "x86_64")]
    fn registers() -> [usize; 16] {
        core::array::from_fn(|n| (n + 1) << 16)
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn memory_operands_decode_to_the_access_start() {
        const RAX: usize = 0x1_0000;
        const RCX: usize = 0x2_0000;
        const RBX: usize = 0x4_0000;
        const RSP: usize = 0x5_0000;
        const RBP: usize = 0x6_0000;
        const RSI: usize = 0x7_0000;
        const RDI: usize = 0x8_0000;
        const R9: usize = 0xA_0000;
        const R12: usize = 0xD_0000;
        const R13: usize = 0xE_0000;
        const IP: usize = 0x40_0000;
        let registers = registers();
        for (bytes, width, start) in [
            (&[0x48, 0x89, 0x10][..], 8, RAX),                 // mov [rax], rdx
            (&[0x89, 0x4B, 0xF8], 4, RBX - 8),                 // mov [rbx-8], ecx (disp8)
            (&[0x48, 0x8B, 0x85, 0, 1, 0, 0], 8, RBP + 0x100), // mov rax, [rbp+0x100] (disp32)
            (&[0x89, 0x54, 0x88, 0x10], 4, RAX + RCX * 4 + 0x10), // mov [rax+rcx*4+0x10], edx
            (&[0x8B, 0x04, 0xCD, 0x20, 0, 0, 0], 4, RCX * 8 + 0x20), // mov eax, [rcx*8+0x20]
            (&[0x8B, 0x44, 0x24, 0x08], 4, RSP + 8),           // mov eax, [rsp+8] (SIB, no index)
            (&[0x42, 0x8B, 0x04, 0x60], 4, RAX + R12 * 2),     // mov eax, [rax+r12*2] (REX.X)
            (&[0x49, 0x89, 0x45, 0x00], 8, R13),               // mov [r13+0], rax (REX.B)
            // mov eax, [r12+0x40]: REX.X makes index 4 r12; REX.B leaves base 5 "none"
            (&[0x43, 0x8B, 0x04, 0x25, 0x40, 0, 0, 0], 4, R12 + 0x40),
            (&[0x8B, 0x05, 0x10, 0, 0, 0], 4, IP + 6 + 0x10), // mov eax, [rip+0x10]
            (&[0xC7, 0x05, 0x10, 0, 0, 0, 7, 0, 0, 0], 4, IP + 10 + 0x10), // mov dword [rip+0x10], 7
            (&[0x66, 0xC7, 0x05, 0x10, 0, 0, 0, 7, 0], 2, IP + 9 + 0x10),  // mov word [rip+0x10], 7
            (&[0x48, 0x83, 0x05, 0x10, 0, 0, 0, 1], 8, IP + 8 + 0x10), // add qword [rip+0x10], 1
            (&[0xF6, 0x05, 0x10, 0, 0, 0, 1], 1, IP + 7 + 0x10),       // test byte [rip+0x10], 1
            (&[0xF7, 0x15, 0x10, 0, 0, 0], 4, IP + 6 + 0x10),          // not dword [rip+0x10]
            (&[0x66, 0x89, 0x57, 0x02], 2, RDI + 2), // mov [rdi+2], dx (16-bit operand)
            (&[0x0F, 0x11, 0x04, 0x08], 16, RAX + RCX), // movups [rax+rcx], xmm0
            (&[0x66, 0x0F, 0x38, 0x00, 0x40, 0x08], 16, RAX + 8), // pshufb xmm0, [rax+8]
            (&[0xC5, 0xFE, 0x7F, 0x47, 0x20], 32, RDI + 0x20), // vmovdqu [rdi+0x20], ymm0
            (&[0xC4, 0xC1, 0x7E, 0x6F, 0x01], 32, R9), // vmovdqu ymm0, [r9] (VEX.B)
            (&[0xC4, 0xE2, 0x7D, 0x58, 0x06], 4, RSI), // vpbroadcastd ymm0, [rsi]
            (&[0x67, 0x8B, 0x07], 4, RDI),           // mov eax, [edi]
            (&[0xF3, 0x48, 0xAB], 8, RDI),           // rep stosq
            (&[0xAC], 1, RSI),                       // lodsb
        ] {
            for address in [start, start + width - 1] {
                let found = decode_start(bytes, IP, &registers, address);
                assert_eq!(found, Some(start), "{bytes:x?} at {address:#x}");
            }
            assert_eq!(decode_width(bytes), Some(width), "{bytes:x?}");
        }
        // movsb: the operand the fault is in.
        assert_eq!(decode_start(&[0xA4], IP, &registers, RSI), Some(RSI));
        assert_eq!(decode_start(&[0xA4], IP, &registers, RDI), Some(RDI));
        // The start must hold the fault: else unknown.
        assert_eq!(
            decode_start(&[0x48, 0x89, 0x10], IP, &registers, RAX + 8),
            None
        );
        assert_eq!(
            decode_start(&[0x48, 0x89, 0x10], IP, &registers, RAX - 1),
            None
        );
        assert_eq!(decode_start(&[0xA4], IP, &registers, RCX), None);
        // A segment override (the base is not in the registers), a register operand, an
        // instruction the decoder does not know, a truncated one.
        let fs = [0x64, 0x48, 0x8B, 0x04, 0x25, 0, 0, 0, 0];
        assert_eq!(decode_start(&fs, IP, &registers, 0), None);
        assert_eq!(decode_start(&[0x48, 0x89, 0xC2], IP, &registers, RAX), None);
        assert_eq!(decode_start(&[0xE8, 0, 0, 0, 0], IP, &registers, RAX), None);
        assert_eq!(
            decode_start(&[0x8B, 0x85, 0, 1], IP, &registers, RBP + 0x100),
            None
        );
    }

    #[test]
    fn previous_action_is_default_for_signals_never_installed() {
        assert!(previous_is_default(libc::SIGUSR1));
    }
}
