//! C's `syscall(number, ...)`, interposed: the system calls a program makes by number that
//! gpa must see as it sees their libc wrappers.
//!
//! # Why
//! A program that ends with `syscall(SYS_exit_group, status)` or replaces itself with
//! `syscall(SYS_execve, ...)` bypassed gpa's `_exit` and `execve`: the process ended without
//! its report (listed "not checked"), the program it started was not listed. Valgrind, which
//! sees every system call, reports and follows them. libseccomp and Landlock users install
//! their filters through `syscall` too (`confine`).
//!
//! # Design
//! [`syscall`] looks at the number: `exit_group` goes to [`exit_now`](super::exit_now) (the
//! report, then the end, as `_exit`), `execve` and `execveat` to gpa's wrappers, `seccomp`
//! (installing a filter), `landlock_restrict_self` and `chroot` first to
//! [`confine::before_confinement`](super::confine::before_confinement); every other number
//! goes straight to the kernel ([`raw`]), with glibc's conventions (six arguments read, `-1`
//! and `errno` on failure). A raw `syscall` instruction in the program's own code is still
//! unseen (listed in docs/c_abi.md).
//!
//! # Invariants
//! * [`raw`] makes the system call itself, never through libc's `syscall`: this library's
//!   own Rust code (std's futex waits) reaches `syscall` through the same symbol, so a call
//!   back into libc would be a second, needless hop on every futex wait.

use core::ffi::{c_char, c_int, c_long, c_ulong};

use super::confine::{self, Confinement};

/// C `syscall(number, ...)`: see the module docs.
///
/// # Safety
/// As for C's `syscall`: the arguments are what the system call expects.
pub unsafe fn syscall(number: c_long, args: [c_long; 6]) -> c_long {
    match number {
        libc::SYS_exit_group => super::exit_now(args[0] as c_int),
        libc::SYS_execve => {
            // SAFETY: the caller's arguments, as `execve` takes them (the kernel checks them).
            return unsafe {
                c_long::from(super::execve(
                    args[0] as *const c_char,
                    args[1] as *const *const c_char,
                    args[2] as *const *const c_char,
                ))
            };
        }
        libc::SYS_execveat => {
            // SAFETY: as above, for `execveat`.
            return unsafe {
                c_long::from(super::execveat(
                    args[0] as c_int,
                    args[1] as *const c_char,
                    args[2] as *const *const c_char,
                    args[3] as *const *const c_char,
                    args[4] as c_int,
                ))
            };
        }
        libc::SYS_seccomp if confine::SECCOMP_SET_MODES.contains(&(args[0] as c_ulong)) => {
            confine::before_confinement(Confinement::Filter);
        }
        libc::SYS_landlock_restrict_self => confine::before_confinement(Confinement::Filter),
        libc::SYS_chroot => confine::before_confinement(Confinement::Root),
        _ => {}
    }
    // SAFETY: the caller's system call and arguments.
    unsafe { raw(number, args) }
}

/// Makes system call `number` with `args`; `-1` with `errno` set on failure, as glibc's
/// `syscall` returns.
///
/// # Safety
/// The arguments are what the system call expects.
#[cfg(target_arch = "x86_64")]
pub unsafe fn raw(number: c_long, args: [c_long; 6]) -> c_long {
    let result: c_long;
    // SAFETY: the x86-64 Linux system call convention (number in rax, arguments in rdi, rsi,
    // rdx, r10, r8, r9; rcx and r11 clobbered; memory may be read and written); the caller
    // vouches for the arguments.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") number => result,
            in("rdi") args[0],
            in("rsi") args[1],
            in("rdx") args[2],
            in("r10") args[3],
            in("r8") args[4],
            in("r9") args[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    if (-4095..0).contains(&result) {
        super::sys::set_errno(-result as c_int);
        -1
    } else {
        result
    }
}

/// As above, through libc's `syscall` (other architectures: this library exports no
/// `syscall` there).
///
/// # Safety
/// The arguments are what the system call expects.
#[cfg(not(target_arch = "x86_64"))]
pub unsafe fn raw(number: c_long, args: [c_long; 6]) -> c_long {
    // SAFETY: the caller's system call and arguments.
    unsafe { libc::syscall(number, args[0], args[1], args[2], args[3], args[4], args[5]) }
}
