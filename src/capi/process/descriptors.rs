//! `close_range` and `closefrom` that leave the report directory's descriptor open, in a
//! process that holds one ([`super::events`]: it entered another mount namespace or changed
//! its root).
//!
//! # Why
//! A program that starts another often closes every descriptor it does not mean to pass
//! first: Python's `subprocess` (`close_fds=True`, the default, by `close_range`), daemons and
//! sandboxes (`closefrom`). In a mount namespace that covers the report directory, that
//! descriptor is the only way the programs started there reach it: closed, they were "not
//! checked" (`no_report`), where Valgrind, whose `close_range` leaves its own descriptors
//! open, checks them. So the range is cut around the held descriptor. The program loses
//! nothing it owns: the descriptor is close-on-exec (it goes to a new image only when that
//! image loads the library, [`super::events::Passed`]), and lies at 512 or above.
//!
//! A program that closes descriptors one by one (`close` in a loop) still closes it: its
//! processes fall back to the path, as before.
//!
//! # Invariants
//! * Nothing here allocates or takes a lock: `vfork` children call these before `exec`.
//! * The result and `errno` are the system call's (of the first part that failed).

use core::ffi::{c_int, c_uint};
use core::sync::atomic::AtomicUsize;

use super::{events, sys};

/// The real `closefrom` (glibc's), resolved at the first call.
static REAL_CLOSEFROM: AtomicUsize = AtomicUsize::new(0);

type ClosefromFn = unsafe extern "C" fn(c_int);

/// The system call, as glibc's `close_range` makes it.
fn close_range_call(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    // SAFETY: the system call takes numbers only.
    unsafe { libc::syscall(libc::SYS_close_range, first, last, flags) as c_int }
}

/// C `close_range(first, last, flags)`, the held descriptor left out of the range (unless
/// `CLOSE_RANGE_CLOEXEC` asks only for close-on-exec, which it has).
pub fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    let held = events::held().and_then(|fd| c_uint::try_from(fd).ok());
    let Some(held) = held.filter(|&fd| {
        first <= fd && fd <= last && flags as c_uint & libc::CLOSE_RANGE_CLOEXEC == 0
    }) else {
        return close_range_call(first, last, flags);
    };
    // `CLOSE_RANGE_UNSHARE` with the first call made: the table is this process's then.
    let mut flags = flags;
    if held > first {
        let result = close_range_call(first, held - 1, flags);
        if result != 0 {
            return result;
        }
        flags &= !(libc::CLOSE_RANGE_UNSHARE as c_int);
    }
    if held < last {
        return close_range_call(held + 1, last, flags);
    }
    if flags & libc::CLOSE_RANGE_UNSHARE as c_int != 0 {
        // Nothing left to close, but the table was to be unshared.
        return close_range_call(held, held, libc::CLOSE_RANGE_CLOEXEC as c_int | flags);
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
