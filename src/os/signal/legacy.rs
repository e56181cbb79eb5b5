//! The older interfaces to signal actions, System V's `sigset` and BSD's `sigvec`, built on
//! [`sigaction`](super::sigaction) as the C library builds them. The C library's own versions
//! call its internal `sigaction`, past the interposed one, so a program installing a `SIGSEGV`
//! handler through them would replace our fault handler in the kernel; through these, the
//! handler becomes the program's action (see the parent module) and gpa's reports still work.
//!
//! Both follow glibc 2.36 (`sysdeps/posix/sigset.c`, `sysdeps/posix/sigvec.c`) in behaviour:
//! `sigset` with `SIG_HOLD` blocks the signal, otherwise sets the handler (no flags, empty
//! mask) and unblocks it, returning `SIG_HOLD` when it was blocked before; `sigvec` converts
//! its 32-bit mask and `SV_*` flags to and from a `sigaction`.

use core::ffi::c_int;

/// `SIG_HOLD` (Linux): `sigset`'s request to block a signal, and its answer when the signal
/// was blocked.
pub const SIG_HOLD: libc::sighandler_t = 2;

/// BSD's `struct sigvec`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigVec {
    /// The handler, `SIG_DFL` or `SIG_IGN`.
    pub sv_handler: libc::sighandler_t,
    /// Signals blocked while the handler runs: bit `n - 1` for signal `n` (the first 32).
    pub sv_mask: c_int,
    /// [`SV_ONSTACK`], [`SV_INTERRUPT`], [`SV_RESETHAND`].
    pub sv_flags: c_int,
}

/// Run the handler on the alternate stack (`SA_ONSTACK`).
pub const SV_ONSTACK: c_int = 1;
/// Interrupted system calls fail with `EINTR` (no `SA_RESTART`).
pub const SV_INTERRUPT: c_int = 2;
/// Reset to the default action on delivery (`SA_RESETHAND`).
pub const SV_RESETHAND: c_int = 4;

/// C `sigset` as the program sees it.
///
/// # Safety
/// As for C's `sigset`: `disposition` is `SIG_DFL`, `SIG_IGN`, [`SIG_HOLD`] or a function
/// taking the signal.
pub unsafe fn sigset(signal: c_int, disposition: libc::sighandler_t) -> libc::sighandler_t {
    // SAFETY: all-zero bytes are valid signal sets and actions.
    let (mut set, mut before) = unsafe { (core::mem::zeroed(), core::mem::zeroed()) };
    // SAFETY: valid sets; an invalid signal makes `sigaddset` fail with EINVAL.
    if unsafe { libc::sigemptyset(&mut set) != 0 || libc::sigaddset(&mut set, signal) != 0 } {
        return libc::SIG_ERR;
    }
    // SAFETY: all-zero bytes are a valid action.
    let mut old: libc::sigaction = unsafe { core::mem::zeroed() };
    if disposition == SIG_HOLD {
        // SAFETY: valid sets.
        if unsafe { super::set_mask(libc::SIG_BLOCK, &set, &mut before) } != 0 {
            return libc::SIG_ERR;
        }
        // SAFETY: a valid set.
        if unsafe { libc::sigismember(&before, signal) } == 1 {
            return SIG_HOLD;
        }
        // SAFETY: a null new action only reads; `old` is valid.
        if unsafe { super::sigaction(signal, core::ptr::null(), &mut old) } != 0 {
            return libc::SIG_ERR;
        }
        return old.sa_sigaction;
    }
    // SAFETY: all-zero bytes are a valid action: no flags, empty mask.
    let mut action: libc::sigaction = unsafe { core::mem::zeroed() };
    action.sa_sigaction = disposition;
    // SAFETY: valid actions (caller contract for the handler).
    if unsafe { super::sigaction(signal, &action, &mut old) } != 0 {
        return libc::SIG_ERR;
    }
    // SAFETY: valid sets.
    if unsafe { super::set_mask(libc::SIG_UNBLOCK, &set, &mut before) } != 0 {
        return libc::SIG_ERR;
    }
    // SAFETY: a valid set.
    if unsafe { libc::sigismember(&before, signal) } == 1 {
        SIG_HOLD
    } else {
        old.sa_sigaction
    }
}

/// C `sigvec` as the program sees it: 0, or -1 with `errno` set.
///
/// # Safety
/// As for C's `sigvec`: `vector` and `old` are null or valid.
pub unsafe fn sigvec(signal: c_int, vector: *const SigVec, old: *mut SigVec) -> c_int {
    // SAFETY: caller contract; copied before use.
    let new = (!vector.is_null())
        .then(|| unsafe { vector.read() })
        .map(to_action);
    // SAFETY: all-zero bytes are a valid action.
    let mut before: libc::sigaction = unsafe { core::mem::zeroed() };
    let new_pointer = new
        .as_ref()
        .map_or(core::ptr::null(), |action| action as *const _);
    // SAFETY: valid actions (caller contract for the handler).
    if unsafe { super::sigaction(signal, new_pointer, &mut before) } != 0 {
        return -1;
    }
    if !old.is_null() {
        // SAFETY: caller contract.
        unsafe { old.write(from_action(&before)) };
    }
    0
}

fn to_action(vector: SigVec) -> libc::sigaction {
    // SAFETY: all-zero bytes are a valid action.
    let mut action: libc::sigaction = unsafe { core::mem::zeroed() };
    action.sa_sigaction = vector.sv_handler;
    // SAFETY: a valid set.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    for signal in 1..=32 {
        if vector.sv_mask as u32 & (1 << (signal - 1)) != 0 {
            // SAFETY: a valid set; signals past the last fail harmlessly.
            unsafe { libc::sigaddset(&mut action.sa_mask, signal) };
        }
    }
    if vector.sv_flags & SV_ONSTACK != 0 {
        action.sa_flags |= libc::SA_ONSTACK;
    }
    if vector.sv_flags & SV_INTERRUPT == 0 {
        action.sa_flags |= libc::SA_RESTART;
    }
    if vector.sv_flags & SV_RESETHAND != 0 {
        action.sa_flags |= libc::SA_RESETHAND;
    }
    action
}

fn from_action(action: &libc::sigaction) -> SigVec {
    let mut mask = 0u32;
    for signal in 1..=32 {
        // SAFETY: a valid set.
        if unsafe { libc::sigismember(&action.sa_mask, signal) } == 1 {
            mask |= 1 << (signal - 1);
        }
    }
    let mut flags = 0;
    if action.sa_flags & libc::SA_ONSTACK != 0 {
        flags |= SV_ONSTACK;
    }
    if action.sa_flags & libc::SA_RESTART == 0 {
        flags |= SV_INTERRUPT;
    }
    if action.sa_flags & libc::SA_RESETHAND != 0 {
        flags |= SV_RESETHAND;
    }
    SigVec {
        sv_handler: action.sa_sigaction,
        sv_mask: mask as c_int,
        sv_flags: flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigvec_flags_and_mask_round_trip() {
        let vector = SigVec {
            sv_handler: libc::SIG_IGN,
            sv_mask: (1 << (libc::SIGUSR1 - 1)) | (1 << (libc::SIGTERM - 1)),
            sv_flags: SV_ONSTACK | SV_RESETHAND,
        };
        let action = to_action(vector);
        assert_eq!(
            action.sa_flags,
            libc::SA_ONSTACK | libc::SA_RESETHAND | libc::SA_RESTART
        );
        assert_eq!(from_action(&action), vector);
        let interrupting = SigVec {
            sv_flags: SV_INTERRUPT,
            ..vector
        };
        assert_eq!(to_action(interrupting).sa_flags & libc::SA_RESTART, 0);
        assert_eq!(from_action(&to_action(interrupting)), interrupting);
    }
}
