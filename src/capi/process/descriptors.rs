//! `close`, `close_range`, `closefrom`, `dup2` and `dup3` that leave gpa's held descriptors
//! open ([`crate::os::held`]: the report directory of a process that entered another mount
//! namespace or changed its root, `/proc` and the memory map of one that confines itself, the
//! exit report's files created ahead of a seccomp filter).
//!
//! # Why
//! A program that starts another often closes every descriptor it does not mean to pass
//! first: Python's `subprocess` (`close_fds=True`, the default, by `close_range`), daemons and
//! sandboxes (`closefrom`, or `close` of every entry of `/proc/self/fd`: bubblewrap's
//! sandbox init, its pid 1). In a mount namespace that covers the report directory, that
//! descriptor is the only way the programs started there reach it: closed, they were "not
//! checked" (`no_report`), where Valgrind, which keeps its own descriptors out of the
//! program's reach, checks them. So `close` of a held descriptor leaves it open and says it
//! succeeded, a range is cut around the held descriptors, and `dup2`/`dup3` onto one move it
//! to another number first. The program loses nothing it owns: the descriptors are
//! close-on-exec (the report directory's goes to a new image only when that image loads the
//! library, [`super::events::Passed`]) and lie at 512 or above; a held descriptor is trusted
//! only while it is still open on the file gpa opened (a program that got rid of it by a raw
//! system call and got the number again closes its own file).
//!
//! # Invariants
//! * Nothing here allocates or takes a lock: `vfork` children call these before `exec`.
//! * The result and `errno` are the system call's (of the first part that failed); a
//!   `close` of a held descriptor returns 0 and leaves `errno` alone.
//! * gpa's own code that must close a held descriptor takes it out of the table first
//!   ([`held::take`]) or closes it by the system call ([`held::forget`]).

use core::ffi::{c_int, c_long, c_uint};
use core::sync::atomic::{AtomicUsize, Ordering};

use super::sys;
use crate::os::held;

/// The real `closefrom` (glibc's), resolved at the first call.
static REAL_CLOSEFROM: AtomicUsize = AtomicUsize::new(0);

type ClosefromFn = unsafe extern "C" fn(c_int);

/// The system call, as glibc's `close_range` makes it.
fn close_range_call(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    raw(
        libc::SYS_close_range,
        [first as c_long, last as c_long, flags as c_long],
    )
}

/// System call `number` with up to three numbers, made directly (libc's `syscall` is the
/// exported one, which sends these calls back here).
fn raw(number: c_long, args: [c_long; 3]) -> c_int {
    // SAFETY: the descriptor system calls take numbers only.
    unsafe { super::syscall::raw(number, [args[0], args[1], args[2], 0, 0, 0]) as c_int }
}

/// C `close_range(first, last, flags)`, the held descriptors left out of the range (unless
/// `CLOSE_RANGE_CLOEXEC` asks only for close-on-exec, which they have).
pub fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    let mut kept = [0; held::ROLES];
    let count = if flags as c_uint & libc::CLOSE_RANGE_CLOEXEC == 0 && first <= last {
        held::held_within(first, last, &mut kept)
    } else {
        0
    };
    if count == 0 {
        return close_range_call(first, last, flags);
    }
    // The gaps between the held descriptors; `CLOSE_RANGE_UNSHARE` with the first call made
    // (the table is this process's then).
    let mut flags = flags;
    let mut from = first;
    for &fd in &kept[..count] {
        if fd > from {
            let result = close_range_call(from, fd - 1, flags);
            if result != 0 {
                return result;
            }
            flags &= !(libc::CLOSE_RANGE_UNSHARE as c_int);
        }
        from = fd + 1;
    }
    let tail = kept[count - 1];
    if tail < last {
        return close_range_call(tail + 1, last, flags);
    }
    if flags & libc::CLOSE_RANGE_UNSHARE as c_int != 0 {
        // Nothing left to close, but the table was to be unshared.
        return close_range_call(tail, tail, libc::CLOSE_RANGE_CLOEXEC as c_int | flags);
    }
    0
}

/// C `closefrom(low)`, as glibc's: [`close_range`] from `low` (at least 0) to the last
/// descriptor; glibc's own `closefrom` (which reads `/proc/self/fd`, and closes the held
/// descriptor too) only when that fails (a kernel without `close_range`).
pub fn closefrom(low: c_int) {
    let low = low.max(0);
    let errno = sys::errno();
    let result = close_range(low as c_uint, c_uint::MAX, 0);
    sys::set_errno(errno);
    if result != 0 {
        real_closefrom(low);
    }
}

fn real_closefrom(low: c_int) {
    match super::super::next_definition(&REAL_CLOSEFROM, c"closefrom") {
        // SAFETY: glibc's `closefrom`, with the caller's argument.
        Some(real) => unsafe { core::mem::transmute::<usize, ClosefromFn>(real)(low) },
        None => {
            close_range_call(low.max(0) as c_uint, c_uint::MAX, 0);
        }
    }
}

/// The real `close` (glibc's: a cancellation point), `dup2` and `dup3`, resolved at start-up
/// ([`resolve`]); 0 before (a constructor that runs before the library's), when the system
/// calls are made instead.
static REAL_CLOSE: AtomicUsize = AtomicUsize::new(0);
static REAL_DUP2: AtomicUsize = AtomicUsize::new(0);
static REAL_DUP3: AtomicUsize = AtomicUsize::new(0);

type CloseFn = unsafe extern "C" fn(c_int) -> c_int;
type Dup2Fn = unsafe extern "C" fn(c_int, c_int) -> c_int;
type Dup3Fn = unsafe extern "C" fn(c_int, c_int, c_int) -> c_int;

/// Resolves the real functions (the library's constructor): the wrappers then never call
/// `dlsym`, which a `vfork` child must not (it may allocate in its parent's memory).
pub fn resolve() {
    for (slot, name) in [
        (&REAL_CLOSE, c"close"),
        (&REAL_DUP2, c"dup2"),
        (&REAL_DUP3, c"dup3"),
    ] {
        super::super::next_definition(slot, name);
    }
}

/// C `close(fd)`: 0 without closing for a descriptor gpa holds ([`held::is_held`]), else
/// glibc's `close`.
pub fn close(fd: c_int) -> c_int {
    if held::is_held(fd) {
        return 0;
    }
    match REAL_CLOSE.load(Ordering::Acquire) {
        0 => raw(libc::SYS_close, [fd as c_long, 0, 0]),
        // SAFETY: glibc's `close`, with the caller's argument.
        real => unsafe { core::mem::transmute::<usize, CloseFn>(real)(fd) },
    }
}

/// [`held::make_way`] for `new`, but not in a child that shares its parent's memory
/// (`vfork`): the table of held descriptors is the parent's, whose own descriptors did not
/// move (the child's copy is then the program's to replace; the child falls back to paths).
fn make_way(new: c_int) {
    if !super::shares_parent_memory() {
        held::make_way(new);
    }
}

/// C `dup2(old, new)`: a held descriptor numbered `new` moves out of the way first
/// ([`held::make_way`]), so the program gets the number it asked for; then glibc's `dup2`.
pub fn dup2(old: c_int, new: c_int) -> c_int {
    if old != new {
        make_way(new);
    }
    match REAL_DUP2.load(Ordering::Acquire) {
        0 if old == new => {
            let valid = raw(libc::SYS_fcntl, [old as c_long, libc::F_GETFD as c_long, 0]) >= 0;
            if valid {
                new
            } else {
                -1
            }
        }
        0 => raw(libc::SYS_dup3, [old as c_long, new as c_long, 0]),
        // SAFETY: glibc's `dup2`, with the caller's arguments.
        real => unsafe { core::mem::transmute::<usize, Dup2Fn>(real)(old, new) },
    }
}

/// C `dup3(old, new, flags)`: as [`dup2`].
pub fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    if old != new {
        make_way(new);
    }
    match REAL_DUP3.load(Ordering::Acquire) {
        0 => raw(
            libc::SYS_dup3,
            [old as c_long, new as c_long, flags as c_long],
        ),
        // SAFETY: glibc's `dup3`, with the caller's arguments.
        real => unsafe { core::mem::transmute::<usize, Dup3Fn>(real)(old, new, flags) },
    }
}

/// The descriptor system calls made by number through the exported `syscall` (`close`,
/// `close_range`, `dup2`, `dup3`), answered as the wrappers above answer them, so that a
/// program that closes every descriptor by `syscall(SYS_close_range, ...)` (built against a
/// glibc without the wrapper) or `syscall(SYS_close, fd)` leaves gpa's open too. `None` for
/// any other number.
pub fn by_number(number: c_long, a1: c_long, a2: c_long, a3: c_long) -> Option<c_long> {
    let result = match number {
        libc::SYS_close => close(a1 as c_int),
        libc::SYS_close_range => close_range(a1 as c_uint, a2 as c_uint, a3 as c_int),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_dup2 => dup2(a1 as c_int, a2 as c_int),
        libc::SYS_dup3 => dup3(a1 as c_int, a2 as c_int, a3 as c_int),
        _ => return None,
    };
    Some(c_long::from(result))
}
