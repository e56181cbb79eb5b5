//! Threads as the program makes them, with the preload library in: their stacks
//! (`pthread_attr_setstacksize`, `pthread_getattr_np`) and their signal masks
//! (`pthread_sigmask`, `sigprocmask`).
//!
//! # Stacks
//! glibc places the static thread-local storage of every object loaded at start-up at the top
//! of each new thread's stack (`allocate_stack`), and refuses with `EINVAL` a stack size that
//! cannot hold it plus a little room. The preload library is such an object: its thread-locals
//! (the GPA's thread caches) are 2.7 KiB since the trace caches moved out of static TLS
//! (`trace::thread_caches`, 2026-12-02); with them they were 60 KiB, and a program asking for
//! `PTHREAD_STACK_MIN` (16 KiB) or 32 KiB got `EINVAL` from `pthread_create` (node 20 printed
//! "pthread_create: Invalid argument" at start-up), and one asking for 64 KiB a thread with
//! 60 KiB less stack than natively, which may overflow where it would not.
//! Valgrind adds no thread-locals to the program, so under it these threads run as natively
//! (`clean_small_stacks.c`).
//!
//! So the size a program sets is stored with this library's share of static TLS added
//! (`PT_TLS` size plus alignment, read once from the loader with
//! [`os::static_tls_of`](crate::os::static_tls_of)), rounded up to whole pages; what is left
//! for the thread's frames is then what it would be without gpa. In check and guard modes
//! [`CHECK_ROOM`] is added too: the checks run on the program's threads, and a trace's first
//! capture needs stack a program that asked for `PTHREAD_STACK_MIN` did not plan for. (Its
//! heavy part, an unwind rule's computation, runs on a stack of gpa's own,
//! [`os::stack`](crate::os::stack), as it must on stacks gpa cannot enlarge: a thread's given
//! with `pthread_attr_setstack`, a `clone()` child's, a coroutine's, a signal stack.)
//! Interposing `pthread_attr_setstacksize` rather than `pthread_create` catches every way a
//! size is chosen (C, C++, Rust's `std::thread::Builder::stack_size`, libuv) without touching
//! the creation itself, whose symbol the [`testing`](crate::testing) module already defines for
//! Rust test programs. Applies in every mode: the thread-locals are there in fast mode too.
//!
//! A thread asking for its own attributes (`pthread_getattr_np`, which allocates while glibc
//! holds the thread's lock) is marked as inside that call, so that gpa does not ask for the
//! same thread's stack from an allocation made there ([`pthread_getattr_np`]).
//!
//! # Signal masks
//! The leak scan at exit stops the other threads with a real-time signal
//! (`leakcheck::world`). A thread that blocks every signal (a
//! `sigwait` thread; node's inspector thread, started with every signal blocked) could not be
//! stopped: its heap went unexamined, its whole stack counted as a root, and glibc's exit-time
//! frees were skipped for safety, so the blocks glibc and libstdc++ keep until exit (cached
//! thread stacks' vectors, the exception-handling pool) stayed in the report where Valgrind,
//! which needs no signal, frees them. In check and guard modes a mask that blocks every
//! real-time signal (one built with `sigfillset`) is applied without the stop signal; a mask
//! that names signals one by one is applied as given, so a program that waits for that very
//! signal with `sigwait` keeps it. gpa's own masks go around this (`os::signal::set_mask`).
//!
//! # Limits
//! * `pthread_attr_getstacksize` returns the larger size, and a thread's mask as read back
//!   lacks the stop signal.
//! * Threads with the default stack size (8 MiB, from `RLIMIT_STACK`) are created as they are:
//!   they have 2.7 KiB less room than natively (60 KiB before 2026-12-02).
//! * A thread on a stack the program supplies (`pthread_attr_setstack`) still has this
//!   library's TLS taken out of it; one too small for it fails with `EINVAL` (glibc wants the
//!   TLS, 2.7 KiB in a release build since 2026-12-02, 60 KiB before, plus 16 KiB; natively
//!   16 KiB works).
//! * A program that blocks every signal and then waits with `sigwait` for the stop signal
//!   itself (`SIGRTMAX - 2`) would have it delivered instead, in check and guard modes.
//! * Masks set for the length of one call (`sigsuspend`, `pselect`, `ppoll`, `epoll_pwait`),
//!   by the raw system call, or given to a new thread with `pthread_attr_setsigmask_np`, are
//!   applied as given: such a thread may still not be stoppable.

use core::ffi::c_int;

use crate::leakcheck::world::stop_signal;
use core::sync::atomic::{AtomicUsize, Ordering};

type SetStackSize = unsafe extern "C" fn(*mut libc::pthread_attr_t, libc::size_t) -> c_int;

/// The stack the check and guard modes' own work needs on top of the program's, in bytes:
/// a `malloc` that captures its first trace through a new return address parses unwind
/// tables (gimli), which took 13-17 KiB of a thread's stack when measured; that now runs on
/// a stack of gpa's own ([`os::stack`](crate::os::stack)), leaving under 1 KiB on the
/// thread's in a release build; the exit report moves to a stack of its own when less than
/// [`REPORT_ROOM`](crate::os::signal::REPORT_ROOM) is left. Kept as a margin for the rest
/// (and for debug builds' larger frames): address space only, untouched pages cost nothing.
pub const CHECK_ROOM: usize = 64 * 1024;

/// libc's `pthread_attr_setstacksize`, resolved on first use (0: not yet).
static REAL: AtomicUsize = AtomicUsize::new(0);
/// The bytes added to every requested stack size, plus one (0: not yet measured).
static EXTRA_PLUS_ONE: AtomicUsize = AtomicUsize::new(0);

/// What [`pthread_attr_setstacksize`] adds: the stack bytes this library's static TLS takes
/// from every thread glibc starts, in whole pages, plus [`CHECK_ROOM`] in check and guard
/// modes.
pub fn stack_bytes_added() -> usize {
    let cached = EXTRA_PLUS_ONE.load(Ordering::Relaxed);
    if cached != 0 {
        return cached - 1;
    }
    let here = stack_bytes_added as fn() -> usize as usize;
    let tls = crate::os::static_tls_of(here);
    let page = crate::os::page_size();
    let room = if super::state().settings.mode.checks() {
        CHECK_ROOM
    } else {
        0
    };
    let bytes = tls.div_ceil(page) * page + room;
    EXTRA_PLUS_ONE.store(bytes + 1, Ordering::Relaxed);
    bytes
}

/// `pthread_attr_setstacksize(attr, size)`: libc's, with [`stack_bytes_added`] added to
/// `size` (`size` itself if the sum overflows). Errors are libc's: `EINVAL` for a `size`
/// below `PTHREAD_STACK_MIN`, judged on the size asked for; `ENOSYS` if libc's function
/// cannot be found.
///
/// # Safety
/// As for C's `pthread_attr_setstacksize`: `attr` is initialized attributes.
pub unsafe fn pthread_attr_setstacksize(attr: *mut libc::pthread_attr_t, size: usize) -> c_int {
    let Some(address) = super::next_definition(&REAL, c"pthread_attr_setstacksize") else {
        return libc::ENOSYS;
    };
    // SAFETY: a non-null result of that lookup is libc's function, of this type.
    let real = unsafe { core::mem::transmute::<usize, SetStackSize>(address) };
    if size < libc::PTHREAD_STACK_MIN {
        // SAFETY: the caller's arguments; libc refuses the size as it would without gpa.
        return unsafe { real(attr, size) };
    }
    let larger = size.checked_add(stack_bytes_added()).unwrap_or(size);
    // SAFETY: the caller's attributes, with a size at least as large as the one asked for.
    unsafe { real(attr, larger) }
}

type GetAttributes = unsafe extern "C" fn(libc::pthread_t, *mut libc::pthread_attr_t) -> c_int;

/// libc's `pthread_getattr_np`, resolved at start-up ([`resolve`]) or on first use (0: not yet).
static REAL_GETATTR: AtomicUsize = AtomicUsize::new(0);

/// `pthread_getattr_np(thread, attr)`: libc's, with the calling thread marked as inside it
/// ([`trace::enter_stack_query`](crate::trace::enter_stack_query)) for the length of the call.
/// glibc holds the thread's descriptor lock there while it allocates (the CPU set's
/// `realloc`); a thread whose first allocation that is (a JVM's threads ask for their own
/// stack before anything else) would have gpa ask for the same thread's stack from inside
/// that allocation, and wait for the lock forever. Marked, gpa leaves that one allocation
/// without frames and finds the stack at the thread's next allocation. Errors are libc's;
/// `ENOSYS` if libc's function cannot be found.
///
/// # Safety
/// As for C's `pthread_getattr_np`: `thread` is a live thread, `attr` writable.
pub unsafe fn pthread_getattr_np(
    thread: libc::pthread_t,
    attr: *mut libc::pthread_attr_t,
) -> c_int {
    let _inside = crate::trace::enter_stack_query();
    let Some(address) = super::next_definition(&REAL_GETATTR, c"pthread_getattr_np") else {
        return libc::ENOSYS;
    };
    // SAFETY: a non-null result of that lookup is libc's function, of this type.
    let real = unsafe { core::mem::transmute::<usize, GetAttributes>(address) };
    // SAFETY: the caller's arguments, forwarded.
    unsafe { real(thread, attr) }
}

type SetMask = unsafe extern "C" fn(c_int, *const libc::sigset_t, *mut libc::sigset_t) -> c_int;

/// libc's `pthread_sigmask` and `sigprocmask`, resolved on first use (0: not yet).
static REAL_MASKS: [AtomicUsize; 2] = [AtomicUsize::new(0), AtomicUsize::new(0)];
const MASK_NAMES: [&core::ffi::CStr; 2] = [c"pthread_sigmask", c"sigprocmask"];

/// Resolves the C library's mask functions (at start-up, from the constructor: `dlsym` is no
/// call for a signal handler, where programs change masks too).
pub fn resolve() {
    for which in 0..MASK_NAMES.len() {
        real_mask(which);
    }
    super::next_definition(&REAL_GETATTR, c"pthread_getattr_np");
}

fn real_mask(which: usize) -> Option<SetMask> {
    let address = super::next_definition(&REAL_MASKS[which], MASK_NAMES[which])?;
    // SAFETY: a non-null result of that lookup is libc's function, of this type.
    Some(unsafe { core::mem::transmute::<usize, SetMask>(address) })
}

/// Whether `set`, applied with `how`, would block every real-time signal and so the leak
/// scan's stop signal (which is one of them) in check or guard mode.
///
/// # Safety
/// `set` is null or a valid signal set.
unsafe fn blocks_every_signal(how: c_int, set: *const libc::sigset_t) -> bool {
    if set.is_null() || how == libc::SIG_UNBLOCK || !super::state().settings.mode.checks() {
        return false;
    }
    // SAFETY: a valid set (caller contract).
    (libc::SIGRTMIN()..=libc::SIGRTMAX())
        .all(|signal| unsafe { libc::sigismember(set, signal) } == 1)
}

/// `pthread_sigmask` (`which` 0) or `sigprocmask` (1) with `set`, less the stop signal when it
/// blocks every signal (see the module notes).
///
/// # Safety
/// As for C's `pthread_sigmask`.
unsafe fn set_program_mask(
    which: usize,
    how: c_int,
    set: *const libc::sigset_t,
    old: *mut libc::sigset_t,
) -> Option<c_int> {
    let real = real_mask(which)?;
    const NAMES: [[&str; 2]; 2] = [
        ["pthread_sigmask(set)", "pthread_sigmask(oldset)"],
        ["sigprocmask(set)", "sigprocmask(oldset)"],
    ];
    // Read here only where it can be (its 8 bytes the kernel reads: not a freed guarded
    // block, whose reading faults; C's function then reads it, as the program's own access).
    let readable = super::libc_calls::check_signal_mask(set.cast(), old.cast(), NAMES[which]);
    // SAFETY: `set` is null or valid (caller contract), and readable.
    if readable && unsafe { blocks_every_signal(how, set) } {
        // SAFETY: the set's first word (its signals 1 to 64, all the kernel reads), readable;
        // the rest of the copy empty.
        let mut copy: libc::sigset_t = unsafe { core::mem::zeroed() };
        // SAFETY: as above; `sigset_t` is at least one word.
        unsafe {
            (&raw mut copy)
                .cast::<u64>()
                .write((set as *const u64).read_unaligned())
        };
        // SAFETY: as above.
        unsafe { libc::sigdelset(&mut copy, stop_signal()) };
        // SAFETY: the caller's `how` and `old`, a valid set.
        return Some(unsafe { real(how, &copy, old) });
    }
    // SAFETY: the caller's arguments, passed on unchanged.
    Some(unsafe { real(how, set, old) })
}

/// C `pthread_sigmask(how, set, old)`: libc's, less the stop signal in a mask that blocks
/// every signal (check and guard modes). `ENOSYS` if libc's function cannot be found.
///
/// # Safety
/// As for C's `pthread_sigmask`.
pub unsafe fn pthread_sigmask(
    how: c_int,
    set: *const libc::sigset_t,
    old: *mut libc::sigset_t,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { set_program_mask(0, how, set, old) }.unwrap_or(libc::ENOSYS)
}

/// C `sigaltstack` for the program: the alternate stack gpa gives a thread for its fault
/// handler stays invisible (`os::signal::program_sigaltstack`).
///
/// # Safety
/// As for C's `sigaltstack`.
pub unsafe fn sigaltstack(new: *const libc::stack_t, old: *mut libc::stack_t) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { crate::os::signal::program_sigaltstack(new, old) }
}

/// C `sigprocmask(how, set, old)`: as [`pthread_sigmask`], with C's error convention (-1 and
/// `errno`).
///
/// # Safety
/// As for C's `sigprocmask`.
pub unsafe fn sigprocmask(
    how: c_int,
    set: *const libc::sigset_t,
    old: *mut libc::sigset_t,
) -> c_int {
    // SAFETY: forwarded caller contract.
    match unsafe { set_program_mask(1, how, set, old) } {
        Some(result) => result,
        None => {
            // SAFETY: errno of this thread.
            unsafe { *libc::__errno_location() = libc::ENOSYS };
            -1
        }
    }
}
