//! Processes that confine themselves: a `chroot`, a seccomp filter, a Landlock ruleset.
//!
//! # Why
//! gpa's exit report needs files: `/proc/self/maps` (the leak scan's roots; without it every
//! block was "definitely lost"), `/proc/self/task` (the threads to stop), the loaded objects'
//! symbols (the frames' names), and under `gpa run` new files in the report directory. A
//! process that changes its root to a directory without `/proc` (privilege-separated daemons'
//! jails), or installs a seccomp filter that refuses `open` and `mprotect` (sshd's
//! pre-authentication child, vsftpd, sandboxed workers, systemd's `SystemCallFilter=`), or a
//! Landlock ruleset, reaches none of them afterwards. Valgrind, which read every object's
//! symbols at load, tracks the memory map itself and writes to a descriptor, reports them all.
//!
//! # Design
//! Just before the call that confines the process ([`chroot`](super::chroot), [`prctl`] with
//! `PR_SET_SECCOMP`, and the exported `syscall` ([`super::syscall_watched`]) with
//! `SYS_seccomp`, `SYS_landlock_restrict_self`, `SYS_chroot` or `SYS_pivot_root`: libseccomp
//! and Landlock users reach the kernel through `syscall`),
//! [`before_confinement`] gets what the report needs while it still can: descriptors on `/proc`
//! and on this process's `maps` ([`crate::os::keep_proc`]; not for a new mount namespace,
//! whose `/proc` stays), the limits the allocator reads ([`crate::os::freeze_limits`], for a
//! filter), the loaded objects' symbols
//! (`open_loaded_objects`, check and guard modes), and under `gpa run` the report directory's
//! descriptor (a new root) or the report's own files, created empty ahead of time (a filter or
//! ruleset: `events::reserve_report`). All descriptors sit at 512 or above, close-on-exec; a
//! `fork` child forgets those that name its parent (`maps`, the reserved report).
//!
//! Allocator calls made after a filter refuses `mprotect` are served by replacing pages with
//! `mmap` (`os::protect`). Every other system call is passed to the kernel unchanged, with
//! `errno` as the program expects it.
//!
use core::ffi::{c_int, c_long, c_ulong};

use super::{checking, events, settings, sys};

/// What a process is about to do to itself.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Confinement {
    /// A new root directory (`chroot`): paths change, system calls stay allowed.
    Root,
    /// A seccomp filter or a Landlock ruleset: `open`, `mprotect` and others may be refused
    /// from now on.
    Filter,
}

/// Gets, while it still can, what the exit report will need (see the module docs). Allocates
/// only to read the objects' symbols; `errno` is kept.
pub fn before_confinement(confinement: Confinement) {
    if checking() {
        // The leak scan's memory map and thread list: a jail rarely has `/proc`, a filter
        // refuses `open`. (Not for a new mount namespace, whose `/proc` stays: the program's
        // descriptor table is left as it was there.)
        let errno = sys::errno();
        crate::os::keep_proc();
        sys::set_errno(errno);
    }
    // The objects' symbols, the report directory.
    super::before_paths_change();
    if confinement == Confinement::Filter {
        // The allocator's `getrlimit` may be refused or kill from now on (every mode).
        crate::os::freeze_limits();
    }
    if confinement == Confinement::Filter && checking() {
        if let Some(dir) = settings::REPORT_DIR.get() {
            let errno = sys::errno();
            events::reserve_report(dir);
            sys::set_errno(errno);
        }
    }
}

/// `PR_SET_SECCOMP` (Linux's `prctl` option 22).
const PR_SET_SECCOMP: c_int = 22;
/// `SECCOMP_MODE_STRICT` and `SECCOMP_MODE_FILTER`, as `prctl` and `seccomp` take them.
const SECCOMP_MODES: [c_ulong; 2] = [1, 2];
/// `seccomp`'s operations that install a filter or strict mode: `SECCOMP_SET_MODE_STRICT` (0)
/// and `SECCOMP_SET_MODE_FILTER` (1).
pub const SECCOMP_SET_MODES: [c_ulong; 2] = [0, 1];

/// C `prctl(option, ...)`: with `PR_SET_SECCOMP`, [`before_confinement`] first; then the
/// system call, as glibc's `prctl` makes it (its variadic arguments read as four `unsigned
/// long`s, as glibc reads them).
///
/// # Safety
/// As for C's `prctl`: the arguments are what `option` expects.
pub unsafe fn prctl(option: c_int, a2: c_ulong, a3: c_ulong, a4: c_ulong, a5: c_ulong) -> c_int {
    if option == PR_SET_SECCOMP && SECCOMP_MODES.contains(&a2) {
        before_confinement(Confinement::Filter);
    }
    // SAFETY: the caller's arguments, passed to the system call glibc's `prctl` makes.
    unsafe {
        super::syscall::raw(
            libc::SYS_prctl,
            [
                option as c_long,
                a2 as c_long,
                a3 as c_long,
                a4 as c_long,
                a5 as c_long,
                0,
            ],
        ) as c_int
    }
}
