//! Descriptors gpa holds open inside a program's process, and their protection from the
//! program's own `close` calls.
//!
//! # Why
//! A process that changes its root, enters a mount namespace or installs a seccomp filter
//! can no longer open the files gpa needs at its exit: the report directory (named by a path
//! the new root or a read-only bind mount hides), `/proc` (a jail has none) and the process's
//! memory map (a filter refuses `open`). So gpa opens them ahead ([`super::keep_proc`],
//! `capi::process::events`) and reaches them through descriptors from then on. Those
//! descriptors live in the program's descriptor table, where programs that close "every
//! descriptor they do not know" find them: bubblewrap's sandbox init walks `/proc/self/fd` and
//! `close`s each entry, daemons and sandboxes loop `close` over every number. Closed, the
//! process's report had nowhere to go ("not checked" where Valgrind, which hides its own
//! descriptors from the program, checks it). Every such descriptor is therefore registered
//! here by role, and the interposed `close`, `close_range` and `closefrom` leave a registered
//! one open (`close` says it succeeded); `dup2`/`dup3` onto one move it out of the way first
//! ([`make_way`]).
//!
//! # Design
//! One fixed table of [`Role`]s, each slot a descriptor number and the device and inode of
//! the file it was opened on, to tell it from a descriptor the program closed by other means
//! (a raw system call) and whose number it got again: a slot is trusted only while `fstat`
//! of its number still names that file (or `fstat` is refused by a filter, where the program
//! rarely touches descriptors it did not open). Descriptors are moved to [`HELD_FROM`] or
//! above ([`hold_high`]), out of the lowest numbers programs count on, and are close-on-exec
//! (the report directory's is passed to a new image only while it is being `exec`ed, by
//! `capi::process::events::Passed`).
//!
//! # Invariants
//! * Nothing here allocates or takes a lock: `vfork` children and exit paths call it.
//! * A slot holds -1 or a descriptor gpa opened (or adopted from the image before an `exec`)
//!   in this process or a parent before `fork`.
//! * [`is_held`] is one load and compare per role for a descriptor that is none of them: the
//!   interposed `close` costs a few instructions when nothing is held.

use core::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// The lowest descriptor number [`hold_high`] moves a descriptor to: programs count on the
/// lowest free numbers (a descriptor limit below this leaves it where `open` put it).
pub const HELD_FROM: libc::c_int = 512;

/// What a held descriptor is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Role {
    /// The report directory of `gpa run` (`O_PATH`), for a process that changed its root or
    /// entered another mount namespace, or started from one that did (`GPA_REPORT_FD`).
    ReportDir,
    /// `/proc` (`O_PATH`; its `self` follows whichever process asks, `fork` children included).
    ProcDir,
    /// This process's `/proc/self/maps`, open for reading (for a filter that refuses `open`);
    /// a `fork` child forgets it.
    ProcMaps,
    /// The event file of this process's exit report, created ahead of a seccomp filter.
    ReservedEvent,
    /// That report's JSON file.
    ReservedJson,
    /// That report's text file.
    ReservedText,
    /// Empty files of the report directory made ahead for the events of processes that can
    /// open no file (`capi::process::events::make_spares`), inherited by `fork` children.
    Spare0,
    Spare1,
    Spare2,
    Spare3,
    Spare4,
    Spare5,
    Spare6,
    Spare7,
    Spare8,
    Spare9,
    Spare10,
    Spare11,
}

/// Number of [`Role`]s.
pub const ROLES: usize = 18;

/// The spare files' roles, in the order they are claimed.
pub const SPARES: [Role; 12] = [
    Role::Spare0,
    Role::Spare1,
    Role::Spare2,
    Role::Spare3,
    Role::Spare4,
    Role::Spare5,
    Role::Spare6,
    Role::Spare7,
    Role::Spare8,
    Role::Spare9,
    Role::Spare10,
    Role::Spare11,
];

/// One held descriptor and the file it was opened on.
struct Slot {
    fd: AtomicI32,
    id: [AtomicU64; 2],
}

impl Slot {
    #[allow(clippy::declare_interior_mutable_const)] // a template for the table below
    const NONE: Slot = Slot {
        fd: AtomicI32::new(-1),
        id: [AtomicU64::new(0), AtomicU64::new(0)],
    };
}

static HELD: [Slot; ROLES] = [Slot::NONE; ROLES];

/// The device and inode of the file `fd` is open on.
pub fn file_id(fd: libc::c_int) -> Option<(u64, u64)> {
    let mut stat = core::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `stat` is a valid out-parameter; the kernel checks `fd`.
    if unsafe { libc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: `fstat` succeeded and filled it.
    let stat = unsafe { stat.assume_init() };
    Some((stat.st_dev, stat.st_ino))
}

/// Moves descriptor `fd` (the caller's) to a close-on-exec copy at [`HELD_FROM`] or above,
/// out of the way of the descriptors a program counts on; the copy's number (`fd` itself when
/// no copy can be made).
pub fn hold_high(fd: libc::c_int) -> libc::c_int {
    // SAFETY: `fd` is the caller's descriptor; `F_DUPFD_CLOEXEC` makes a copy at `HELD_FROM`
    // or above, or fails, leaving `fd` as it is.
    let moved = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, HELD_FROM) };
    if moved < 0 {
        return fd;
    }
    // SAFETY: the caller's descriptor, replaced by its copy.
    unsafe { libc::close(fd) };
    moved
}

/// Holds `fd` (gpa's, already where it should stay) as `role`, remembering its file; false
/// (and `fd` closed) when its file cannot be named.
pub fn hold(role: Role, fd: libc::c_int) -> bool {
    let Some((dev, ino)) = file_id(fd) else {
        // SAFETY: the caller's descriptor, given to us.
        unsafe { libc::close(fd) };
        return false;
    };
    adopt(role, fd, dev, ino);
    true
}

/// Opens `path` with `flags` (close-on-exec added) and holds it as `role`, moved to
/// [`HELD_FROM`] or above; nothing when `role` is already held or the file cannot be opened.
/// Allocates nothing.
pub fn open_and_hold(role: Role, path: &core::ffi::CStr, flags: libc::c_int) {
    if get(role).is_some() {
        return;
    }
    // SAFETY: a NUL-terminated path.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd >= 0 {
        hold(role, hold_high(fd));
    }
}

/// Holds `fd` as `role` for the file of device `dev` and inode `ino` (checked by the caller:
/// a descriptor an earlier image passed on).
pub fn adopt(role: Role, fd: libc::c_int, dev: u64, ino: u64) {
    let slot = &HELD[role as usize];
    slot.id[0].store(dev, Ordering::Relaxed);
    slot.id[1].store(ino, Ordering::Relaxed);
    slot.fd.store(fd, Ordering::Release);
}

/// The device and inode `role`'s descriptor was opened on (meaningful while [`get`] finds it).
pub fn id(role: Role) -> (u64, u64) {
    let slot = &HELD[role as usize];
    (
        slot.id[0].load(Ordering::Relaxed),
        slot.id[1].load(Ordering::Relaxed),
    )
}

/// Whether descriptor `fd` still is the file of `slot` (trusted where a filter refuses
/// `fstat` itself).
fn still_open_on(slot: &Slot, fd: libc::c_int) -> bool {
    match file_id(fd) {
        Some((dev, ino)) => {
            dev == slot.id[0].load(Ordering::Relaxed) && ino == slot.id[1].load(Ordering::Relaxed)
        }
        // SAFETY: the calling thread's errno, as `fstat` left it.
        None => (unsafe { *libc::__errno_location() }) != libc::EBADF,
    }
}

/// `role`'s descriptor, while it is still the file it was opened on.
pub fn get(role: Role) -> Option<libc::c_int> {
    let slot = &HELD[role as usize];
    let fd = slot.fd.load(Ordering::Acquire);
    (fd >= 0 && still_open_on(slot, fd)).then_some(fd)
}

/// `role`'s descriptor number, unchecked, taken out of the table (the caller closes it).
pub fn take(role: Role) -> Option<libc::c_int> {
    let fd = HELD[role as usize].fd.swap(-1, Ordering::AcqRel);
    (fd >= 0).then_some(fd)
}

/// Closes `role`'s descriptor if it is still ours, and forgets it.
pub fn forget(role: Role) {
    let checked = get(role);
    HELD[role as usize].fd.store(-1, Ordering::Release);
    if let Some(fd) = checked {
        // SAFETY: our descriptor (checked just above), out of the table: the interposed
        // `close` lets it go.
        unsafe { libc::close(fd) };
    }
}

/// Whether `fd` is a descriptor gpa holds (the program must not close it). One compare per
/// role when it is none of them.
#[inline]
pub fn is_held(fd: libc::c_int) -> bool {
    fd >= 0
        && HELD
            .iter()
            .any(|slot| slot.fd.load(Ordering::Acquire) == fd && still_open_on(slot, fd))
}

/// The held descriptors in `[first, last]`, in increasing order, in `out`; how many.
pub fn held_within(
    first: libc::c_uint,
    last: libc::c_uint,
    out: &mut [libc::c_uint; ROLES],
) -> usize {
    let mut count = 0;
    for slot in &HELD {
        let fd = slot.fd.load(Ordering::Acquire);
        let Ok(number) = libc::c_uint::try_from(fd) else {
            continue;
        };
        if first <= number
            && number <= last
            && !out[..count].contains(&number)
            && still_open_on(slot, fd)
        {
            out[count] = number;
            count += 1;
        }
    }
    out[..count].sort_unstable();
    count
}

/// Before the program makes `fd` a copy of another descriptor (`dup2`, `dup3`): a held
/// descriptor of that number moves to another number at [`HELD_FROM`] or above, so that the
/// program gets the number it asked for and gpa keeps its file. Nothing when `fd` is none of
/// gpa's; when no other number can be had, the program's call wins (gpa falls back to paths).
pub fn make_way(fd: libc::c_int) {
    if fd < 0 {
        return;
    }
    for slot in &HELD {
        if slot.fd.load(Ordering::Acquire) != fd || !still_open_on(slot, fd) {
            continue;
        }
        // SAFETY: `fd` is our descriptor (checked just above); `F_DUPFD_CLOEXEC` makes a
        // copy at `HELD_FROM` or above, or fails.
        let moved = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, HELD_FROM) };
        if moved >= 0 {
            slot.fd.store(moved, Ordering::Release);
            // SAFETY: our descriptor, replaced by its copy (out of the table: the interposed
            // `close` lets it go); the program's call reuses the number next.
            unsafe { libc::close(fd) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_dir(path: &core::ffi::CStr) -> libc::c_int {
        // SAFETY: a NUL-terminated path.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_DIRECTORY) };
        assert!(fd >= 0);
        hold_high(fd)
    }

    /// One test over one role (the table is process-wide): holding, the range query, a
    /// descriptor replaced behind gpa's back, `make_way`, forgetting.
    #[test]
    fn a_held_descriptor_is_known_until_its_number_names_another_file() {
        let role = Role::ReservedText;
        let fd = open_dir(c"/");
        assert!(fd >= HELD_FROM, "{fd}");
        assert!(!is_held(fd));
        assert!(hold(role, fd));
        assert_eq!(get(role), Some(fd));
        assert!(is_held(fd));
        assert!(!is_held(fd + 1) && !is_held(-1));
        let mut out = [0; ROLES];
        let number = fd as libc::c_uint;
        assert_eq!(held_within(0, libc::c_uint::MAX, &mut out), 1);
        assert_eq!(out[0], number);
        assert_eq!(held_within(number + 1, libc::c_uint::MAX, &mut out), 0);
        assert_eq!(held_within(0, number - 1, &mut out), 0);

        // `make_way`: the descriptor moves to another number, still on its file.
        let id_before = file_id(fd);
        make_way(fd);
        let moved = get(role).expect("still held");
        assert_ne!(moved, fd);
        assert_eq!(file_id(moved), id_before);
        assert!(!is_held(fd) && is_held(moved));

        // The program puts another file at that number (a raw `dup2`): no longer gpa's.
        let other = open_dir(c"/proc");
        // SAFETY: both are this test's descriptors.
        assert_eq!(unsafe { libc::dup2(other, moved) }, moved);
        assert!(!is_held(moved));
        assert_eq!(get(role), None);
        // SAFETY: this test's descriptors.
        unsafe {
            libc::close(other);
            libc::close(moved);
        }
        forget(role);
        assert_eq!(take(role), None);
    }
}
