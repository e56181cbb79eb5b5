//! `daemon` interposed: the process that `daemon` leaves behind ends through the exported
//! `_exit`, so it writes its report.
//!
//! # Design
//! glibc's `daemon` forks and ends the parent with its own internal `_exit`, which no export
//! sees: the parent (under `gpa run`, often the program itself) ended without a report, was
//! listed "not checked" (`no_report`), its leaks went unreported and `gpa run` exited with 77
//! ("the program was not checked"), where Valgrind follows it to `exit_group` and reports it
//! (tmux's server start, `daemon.c`). [`daemon`] does what glibc 2.36's does, with public
//! calls: `fork` (glibc's, so the child records itself from the `pthread_atfork` handler);
//! the parent ends with [`super::exit_now`] and status 0 (the report, then `exit_group`, as
//! `_exit`: no exit functions, no stdio flush); the child starts a session, changes to `/`
//! unless `nochdir`, and unless `noclose` puts `/dev/null` on descriptors 0, 1 and 2, after
//! checking that it is the null character device (else `ENODEV`, as glibc).
//!
//! # Invariants
//! * The child's `errno` on failure is the failing call's (`ENODEV` for a `/dev/null` that is
//!   not the null device), and nothing is left open.

use core::ffi::c_int;

/// Linux's null device, major 1, minor 3.
const NULL_DEVICE: (u32, u32) = (1, 3);

/// C `daemon(nochdir, noclose)` (see the module's design).
///
/// # Safety
/// As for C's `daemon`.
pub unsafe fn daemon(nochdir: c_int, noclose: c_int) -> c_int {
    // SAFETY: glibc's `fork`; in the child only async-signal-safe calls follow until return.
    match unsafe { libc::fork() } {
        -1 => return -1,
        0 => {}
        _ => super::exit_now(0),
    }
    // SAFETY: plain system-call wrappers with valid arguments.
    unsafe {
        if libc::setsid() == -1 {
            return -1;
        }
        if nochdir == 0 {
            libc::chdir(c"/".as_ptr());
        }
        if noclose == 0 {
            let descriptor = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            if descriptor == -1 {
                return -1;
            }
            let Some(status) = super::sys::fstat(descriptor) else {
                let error = super::sys::errno();
                libc::close(descriptor);
                super::sys::set_errno(error);
                return -1;
            };
            let null = libc::makedev(NULL_DEVICE.0, NULL_DEVICE.1);
            if status.st_mode & libc::S_IFMT != libc::S_IFCHR || status.st_rdev != null {
                libc::close(descriptor);
                super::sys::set_errno(libc::ENODEV);
                return -1;
            }
            for standard in 0..3 {
                libc::dup2(descriptor, standard);
            }
            if descriptor > 2 {
                libc::close(descriptor);
            }
        }
    }
    0
}
