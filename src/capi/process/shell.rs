//! glibc's functions that start `/bin/sh` themselves (`system`, `popen`, `wordexp` with a
//! command substitution), with the run's settings put back in the shell's environment.
//!
//! glibc's `system` and `popen` start the shell with its internal `__posix_spawn`, and
//! `wordexp` with `fork` and its internal `__execve`, each with `__environ`: no exported exec
//! or spawn function sees the call, so after `clearenv()` (or `environ = NULL`, or
//! `unsetenv("LD_PRELOAD")`) the shell and everything it starts ran without the library,
//! unchecked, and `gpa run` never learned of them. Valgrind's `--trace-children=yes`
//! follows them.
//!
//! # Design
//! Each function is interposed. When `environ` has what the run set (the usual case: the
//! environment [`environment::with_restored`] would pass unchanged), glibc's own function
//! runs, untouched. Otherwise:
//!
//! * `popen` and `wordexp` run glibc's own function with `environ` pointing at the restored
//!   copy for the length of the call, and back afterwards. The shell is started inside the
//!   call (`popen` returns once the shell has been `exec`'d: glibc's `posix_spawn` waits for
//!   it; `wordexp` waits for the shell to end), so the copy, built on this function's stack,
//!   outlives every read of it by the child's start. Changing the environment while another
//!   thread starts a program with it is a data race already (`setenv` and `putenv` are
//!   `MT-Unsafe const:env` in glibc's manual), and the swap lasts no longer than glibc's
//!   function, which reads `environ` throughout. Thus every part of glibc's behaviour stays
//!   glibc's: the list of other `popen` streams closed in the child (glibc's own list),
//!   close-on-exec (`"e"`), `pclose` and `fclose` waiting
//!   for the child, the `wordexp` errors. Cancellation is disabled during the swap (a
//!   cancelled call would leave `environ` pointing into a dead frame) and put back after.
//! * `system` waits for its child inside the call, for as long as the command runs, while
//!   other threads may legitimately change the environment. So it is reproduced here
//!   (glibc 2.36's `sysdeps/posix/system.c`): `system(NULL)` runs `exit 0` and says whether
//!   that worked; otherwise `SIGINT` and `SIGQUIT` are ignored (the first of concurrent
//!   calls saves their dispositions, the last puts them back) and `SIGCHLD` blocked while
//!   the shell runs; the shell (`/bin/sh -c LINE`, no `--` in 2.36) gets the caller's signal
//!   mask and the default action for the two signals unless they were ignored before; the
//!   result is the shell's wait status, `-1` when the wait fails, and the status of
//!   `_exit(127)` with `errno` set when the spawn fails. The spawn is the exported
//!   [`super::posix_spawn`], with the restored environment: the shell is recorded as a
//!   `spawn` event with its verdict, as a program's own `posix_spawn` is.
//!
//! # Differences from glibc, by design
//! * During a swapped `popen` or `wordexp`, another thread's `getenv` sees the restored copy
//!   (the program's entries and the run's settings); a pointer it keeps to the copy's
//!   `LD_PRELOAD` value does not outlive the call.
//! * `system`, when it restores the environment, is not a cancellation point: cancellation
//!   is disabled while it waits and the pending request is acted on at the thread's next
//!   cancellation point (glibc kills the shell instead). Nothing is left half done either way.
//!
//! # Invariants
//! * Nothing here allocates; the only lock is [`SYSTEM_LOCK`], held across two `sigaction`
//!   calls, never across a wait (glibc holds its own lock the same way).
//! * `environ` is swapped only while glibc's function runs, and put back only if it still
//!   holds the copy.

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_int, c_void, CStr};
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use super::{environment, real, sys, Real};

extern "C" {
    static mut environ: *const *const c_char;
    fn pthread_setcancelstate(state: c_int, old: *mut c_int) -> c_int;
}

/// `PTHREAD_CANCEL_DISABLE` (glibc's value).
const PTHREAD_CANCEL_DISABLE: c_int = 1;

type SystemFn = unsafe extern "C" fn(*const c_char) -> c_int;
type PopenFn = unsafe extern "C" fn(*const c_char, *const c_char) -> *mut c_void;
type WordexpFn = unsafe extern "C" fn(*const c_char, *mut c_void, c_int) -> c_int;

/// `environ`, as an atomic pointer (to swap it).
fn environ_slot() -> &'static AtomicPtr<*const c_char> {
    // SAFETY: `environ` is glibc's pointer-sized, pointer-aligned variable; `AtomicPtr` has
    // the same layout, and every access made here is atomic.
    unsafe { &*core::ptr::addr_of_mut!(environ).cast::<AtomicPtr<*const c_char>>() }
}

/// Runs `call` with cancellation disabled, then puts the thread's cancel state back.
fn without_cancellation<R>(call: impl FnOnce() -> R) -> R {
    let mut old = 0;
    // SAFETY: glibc's function with a valid out pointer.
    unsafe { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &mut old) };
    let result = call();
    let errno = sys::errno();
    // SAFETY: as above; `old` is the state it returned.
    unsafe { pthread_setcancelstate(old, core::ptr::null_mut()) };
    sys::set_errno(errno);
    result
}

/// Runs `call` (glibc's `popen` or `wordexp`) with `environ` holding the run's settings:
/// as it is when it has them, else pointing at the restored copy during the call.
fn with_environ_restored<R>(call: impl FnOnce() -> R) -> R {
    let slot = environ_slot();
    let current = slot.load(Ordering::Acquire);
    // SAFETY: `environ` is null or the process's null-terminated environment.
    unsafe {
        environment::with_restored(current, |envp| {
            if envp == current.cast_const() {
                return call();
            }
            without_cancellation(|| {
                slot.store(envp.cast_mut(), Ordering::Release);
                let result = call();
                // Only if nothing replaced it meanwhile (see the module docs).
                let _ = slot.compare_exchange(
                    envp.cast_mut(),
                    current,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                );
                result
            })
        })
    }
}

/// C `popen`: glibc's, with the shell's environment restored (see the module docs).
///
/// # Safety
/// As for C's `popen`.
pub unsafe fn popen(command: *const c_char, mode: *const c_char) -> *mut c_void {
    let real = real(Real::Popen);
    if real == 0 {
        sys::set_errno(libc::ENOSYS);
        return core::ptr::null_mut();
    }
    // SAFETY: glibc's `popen` (resolved with `RTLD_NEXT`) with the caller's arguments.
    with_environ_restored(|| unsafe { core::mem::transmute::<usize, PopenFn>(real)(command, mode) })
}

/// C `wordexp`: glibc's, with the environment of a command substitution's shell restored.
///
/// # Safety
/// As for C's `wordexp`.
pub unsafe fn wordexp(words: *const c_char, result: *mut c_void, flags: c_int) -> c_int {
    let real = real(Real::Wordexp);
    if real == 0 {
        // WRDE_NOSPACE: the only error that is not about the words.
        return 1;
    }
    // SAFETY: glibc's `wordexp` with the caller's arguments.
    let run = || unsafe { core::mem::transmute::<usize, WordexpFn>(real)(words, result, flags) };
    // `WRDE_NOCMD`: no command is run, nothing to restore.
    if flags & 4 != 0 {
        return run();
    }
    with_environ_restored(run)
}

/// C `system`: glibc's when the environment has the run's settings, else the same steps
/// with the restored environment (see the module docs).
///
/// # Safety
/// As for C's `system`.
pub unsafe fn system(line: *const c_char) -> c_int {
    let current = environ_slot().load(Ordering::Acquire);
    // SAFETY: `environ` is null or the process's null-terminated environment.
    unsafe {
        environment::with_restored(current, |envp| {
            if envp == current.cast_const() {
                let real = real(Real::System);
                if real == 0 {
                    sys::set_errno(libc::ENOSYS);
                    return -1;
                }
                // glibc's `system` with the caller's argument.
                return core::mem::transmute::<usize, SystemFn>(real)(line);
            }
            if line.is_null() {
                // glibc: whether a shell runs at all.
                return c_int::from(run_shell(c"exit 0", envp) == 0);
            }
            run_shell(CStr::from_ptr(line), envp)
        })
    }
}

/// The dispositions of `SIGINT` and `SIGQUIT` before the first of the running `system`
/// calls, and how many run; under [`SYSTEM_LOCK`].
struct Ignored {
    users: UnsafeCell<usize>,
    intr: UnsafeCell<libc::sigaction>,
    quit: UnsafeCell<libc::sigaction>,
}

// SAFETY: every access is under `SYSTEM_LOCK` (the dispositions are also read after the
// count is known to be non-zero, by a call that holds one of the counted uses).
unsafe impl Sync for Ignored {}

static SYSTEM_LOCK: AtomicBool = AtomicBool::new(false);
static IGNORED: Ignored = Ignored {
    users: UnsafeCell::new(0),
    // SAFETY: `sigaction` is plain data, all zeros a valid value.
    intr: UnsafeCell::new(unsafe { core::mem::zeroed() }),
    // SAFETY: as above.
    quit: UnsafeCell::new(unsafe { core::mem::zeroed() }),
};

/// Runs `with` under [`SYSTEM_LOCK`].
fn locked<R>(with: impl FnOnce() -> R) -> R {
    while SYSTEM_LOCK
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        crate::os::yield_now();
    }
    let result = with();
    SYSTEM_LOCK.store(false, Ordering::Release);
    result
}

/// glibc 2.36's `do_system`, with `envp` (see the module docs).
///
/// # Safety
/// `envp` is a null-terminated environment.
unsafe fn run_shell(line: &CStr, envp: *const *const c_char) -> c_int {
    // SAFETY: plain data, initialized by `sigemptyset` below.
    let mut ignore: libc::sigaction = unsafe { core::mem::zeroed() };
    ignore.sa_sigaction = libc::SIG_IGN;
    // SAFETY: valid pointers to owned values throughout; the statics under the lock.
    unsafe {
        libc::sigemptyset(&mut ignore.sa_mask);
        locked(|| {
            let users = &mut *IGNORED.users.get();
            if *users == 0 {
                libc::sigaction(libc::SIGINT, &ignore, IGNORED.intr.get());
                libc::sigaction(libc::SIGQUIT, &ignore, IGNORED.quit.get());
            }
            *users += 1;
        });
        let mut block = ignore.sa_mask;
        libc::sigaddset(&mut block, libc::SIGCHLD);
        let mut old_mask: libc::sigset_t = core::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, &block, &mut old_mask);

        let mut reset: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut reset);
        let (intr, quit) = locked(|| {
            (
                (*IGNORED.intr.get()).sa_sigaction,
                (*IGNORED.quit.get()).sa_sigaction,
            )
        });
        if intr != libc::SIG_IGN {
            libc::sigaddset(&mut reset, libc::SIGINT);
        }
        if quit != libc::SIG_IGN {
            libc::sigaddset(&mut reset, libc::SIGQUIT);
        }
        let mut attributes: libc::posix_spawnattr_t = core::mem::zeroed();
        libc::posix_spawnattr_init(&mut attributes);
        libc::posix_spawnattr_setsigmask(&mut attributes, &old_mask);
        libc::posix_spawnattr_setsigdefault(&mut attributes, &reset);
        libc::posix_spawnattr_setflags(
            &mut attributes,
            (libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK) as libc::c_short,
        );
        let argv = [
            c"sh".as_ptr(),
            c"-c".as_ptr(),
            line.as_ptr(),
            core::ptr::null(),
        ];
        let mut pid: libc::pid_t = 0;
        let spawned = super::posix_spawn(
            &mut pid,
            c"/bin/sh".as_ptr(),
            core::ptr::null(),
            &attributes,
            argv.as_ptr().cast(),
            envp.cast(),
            false,
        );
        libc::posix_spawnattr_destroy(&mut attributes);

        let status = if spawned == 0 {
            without_cancellation(|| {
                let mut status = 0;
                loop {
                    let waited = libc::waitpid(pid, &mut status, 0);
                    if waited == pid {
                        break status;
                    }
                    if waited == -1 && sys::errno() == libc::EINTR {
                        continue;
                    }
                    break -1;
                }
            })
        } else {
            // POSIX: as if the shell had ended with `_exit(127)`.
            127 << 8
        };
        let errno = sys::errno();
        locked(|| {
            let users = &mut *IGNORED.users.get();
            *users -= 1;
            if *users == 0 {
                libc::sigaction(libc::SIGINT, IGNORED.intr.get(), core::ptr::null_mut());
                libc::sigaction(libc::SIGQUIT, IGNORED.quit.get(), core::ptr::null_mut());
            }
        });
        libc::sigprocmask(libc::SIG_SETMASK, &old_mask, core::ptr::null_mut());
        sys::set_errno(if spawned != 0 { spawned } else { errno });
        status
    }
}
