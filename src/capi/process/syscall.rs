//! The system call itself, for gpa's own calls of the system calls that the exported C
//! `syscall` watches (`exit_group`, `execve`, `execveat`, `chroot`, `prctl`'s forwarding):
//! through libc's `syscall`, which resolves to the exported one, they would come back to
//! gpa's wrappers (an `execve` wrapper calling itself forever, a second report at
//! `exit_group`). See `syscall_watched` in the parent module for the exported `syscall`.

use core::ffi::{c_int, c_long};

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
