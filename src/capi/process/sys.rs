//! Raw file and process calls for [`super`]: thin wrappers over the system calls, usable where
//! nothing may allocate or take a lock (a `vfork` child, which shares the parent's memory and
//! runs while the parent's other threads may hold any lock).
//!
//! # Invariants
//! * No function here allocates, and none keeps state.
//! * Each preserves nothing of `errno`: callers that must (exec wrappers) save and restore it.

use core::ffi::{c_char, CStr};

/// A file descriptor closed on drop.
pub struct Fd(libc::c_int);

impl Fd {
    /// Opens `path` read-only (close-on-exec).
    pub fn open_read(path: &CStr) -> Result<Fd, i32> {
        // SAFETY: `path` is NUL-terminated.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            Err(errno())
        } else {
            Ok(Fd(fd))
        }
    }

    /// Creates `path` for writing; fails with `EEXIST` when it exists (`O_EXCL`).
    pub fn create_new(path: &CStr) -> Result<Fd, i32> {
        Fd::create_new_at(libc::AT_FDCWD, path)
    }

    /// Creates `name` in the directory open as `dir` (`AT_FDCWD`: the working directory, or
    /// an absolute `name`) for writing; fails with `EEXIST` when it exists (`O_EXCL`).
    pub fn create_new_at(dir: libc::c_int, name: &CStr) -> Result<Fd, i32> {
        // SAFETY: `name` is NUL-terminated; a bad `dir` is an error of the call.
        let fd = unsafe {
            libc::openat(
                dir,
                name.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                0o644,
            )
        };
        if fd < 0 {
            Err(errno())
        } else {
            Ok(Fd(fd))
        }
    }

    /// Reads up to `buffer.len()` bytes at `offset`; the count read (short at end of file).
    pub fn read_at(&self, buffer: &mut [u8], offset: u64) -> usize {
        let mut done = 0;
        while done < buffer.len() {
            // SAFETY: the pointer and length describe the unread part of `buffer`.
            let got = unsafe {
                libc::pread(
                    self.0,
                    buffer[done..].as_mut_ptr().cast(),
                    buffer.len() - done,
                    (offset + done as u64) as libc::off_t,
                )
            };
            if got <= 0 {
                break;
            }
            done += got as usize;
        }
        done
    }

    /// Writes all of `bytes`; false on an error.
    pub fn write_all(&self, bytes: &[u8]) -> bool {
        let mut rest = bytes;
        while !rest.is_empty() {
            // SAFETY: the pointer and length describe a live byte slice.
            let written = unsafe { crate::os::write_nocancel(self.0, rest.as_ptr(), rest.len()) };
            if written <= 0 {
                return false;
            }
            rest = &rest[written as usize..];
        }
        true
    }

    /// Takes ownership of the open descriptor `fd`.
    ///
    /// # Safety
    /// `fd` is open and nothing else closes it.
    pub unsafe fn from_raw(fd: libc::c_int) -> Fd {
        Fd(fd)
    }

    /// The descriptor, given up by this value (not closed).
    pub fn into_raw(self) -> libc::c_int {
        let fd = self.0;
        core::mem::forget(self);
        fd
    }

    /// `fstat` of the open file.
    pub fn stat(&self) -> Option<libc::stat> {
        fstat(self.0)
    }

    /// Whether the file lives on a file system mounted `nosuid`.
    pub fn on_nosuid_mount(&self) -> bool {
        // SAFETY: `statvfs` is plain data, filled by the call.
        unsafe {
            let mut info: libc::statvfs = core::mem::zeroed();
            libc::fstatvfs(self.0, &mut info) == 0 && info.f_flag & libc::ST_NOSUID != 0
        }
    }

    /// Whether the file carries file capabilities (`security.capability`).
    pub fn has_capabilities(&self) -> bool {
        // SAFETY: a null buffer of size 0 asks only for the attribute's size.
        let size = unsafe {
            libc::fgetxattr(
                self.0,
                c"security.capability".as_ptr(),
                core::ptr::null_mut(),
                0,
            )
        };
        size > 0
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor was opened by this value and is closed once.
        unsafe { libc::close(self.0) };
    }
}

/// Whether the C string at `string` can be read to its NUL without a fault (one probe per
/// page it touches, [`crate::os::readable`]); false for null.
pub fn c_string_readable(string: *const c_char) -> bool {
    if string.is_null() {
        return false;
    }
    let page = crate::os::page_size();
    let mut at = string as usize;
    loop {
        if !crate::os::readable(at) {
            return false;
        }
        let page_end = (at | (page - 1)) + 1;
        while at < page_end {
            // SAFETY: the page holding `at` was found readable just above.
            if unsafe { *(at as *const u8) } == 0 {
                return true;
            }
            at += 1;
        }
    }
}

/// Whether `array`, a null-terminated array of C strings (an `argv` or `envp`), and each of
/// its strings can be read without a fault; true for a null array (the kernel reads it as
/// empty).
pub fn c_strings_readable(array: *const *const c_char) -> bool {
    if array.is_null() {
        return true;
    }
    let page = crate::os::page_size();
    let mut slot = array;
    let mut checked_page = usize::MAX;
    loop {
        let address = slot as usize;
        // The slot's first and last bytes: an unaligned slot may straddle two pages.
        for byte in [address, address + core::mem::size_of::<usize>() - 1] {
            if byte & !(page - 1) != checked_page {
                if !crate::os::readable(byte) {
                    return false;
                }
                checked_page = byte & !(page - 1);
            }
        }
        // SAFETY: the slot's first and last bytes were found readable.
        let entry = unsafe { slot.read_unaligned() };
        if entry.is_null() {
            return true;
        }
        if !c_string_readable(entry) {
            return false;
        }
        // SAFETY: the slot was not the terminator, so the array goes on.
        slot = unsafe { slot.add(1) };
    }
}

/// `stat` of `path` (following symbolic links).
pub fn stat(path: &CStr) -> Option<libc::stat> {
    // SAFETY: `path` is NUL-terminated; `stat` is plain data, filled by the call.
    unsafe {
        let mut stat: libc::stat = core::mem::zeroed();
        (libc::stat(path.as_ptr(), &mut stat) == 0).then_some(stat)
    }
}

/// Whether the calling user may execute `path` (`access(X_OK)`, real ids, as the kernel
/// checks for `execve`); the error number when not.
pub fn executable(path: &CStr) -> Result<(), i32> {
    // SAFETY: `path` is NUL-terminated.
    if unsafe { libc::access(path.as_ptr(), libc::X_OK) } == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// Removes `path`, ignoring errors.
pub fn unlink(path: &CStr) {
    // SAFETY: `path` is NUL-terminated.
    unsafe { libc::unlink(path.as_ptr()) };
}

/// Removes `name` (no slash) from the directory open as `dir`, ignoring errors.
pub fn unlink_at(dir: libc::c_int, name: &CStr) {
    // SAFETY: `name` is NUL-terminated; a bad `dir` is an error of the call.
    unsafe { libc::unlinkat(dir, name.as_ptr(), 0) };
}

/// `fstat` of the descriptor `fd`, which need not be an [`Fd`] of ours.
pub fn fstat(fd: libc::c_int) -> Option<libc::stat> {
    // SAFETY: `stat` is plain data, filled by the call; a bad `fd` is an error of the call.
    unsafe {
        let mut stat: libc::stat = core::mem::zeroed();
        (libc::fstat(fd, &mut stat) == 0).then_some(stat)
    }
}

/// The target of the symbolic link `path`, into `buffer`; its length (0 on failure).
pub fn readlink(path: &CStr, buffer: &mut [u8]) -> usize {
    // SAFETY: the pointer and length describe `buffer`.
    let len = unsafe { libc::readlink(path.as_ptr(), buffer.as_mut_ptr().cast(), buffer.len()) };
    if len <= 0 || len as usize >= buffer.len() {
        0
    } else {
        len as usize
    }
}

/// The calling process's id (a system call: in a `vfork` child it differs from the parent's).
pub fn getpid() -> i32 {
    // SAFETY: no preconditions.
    unsafe { libc::getpid() }
}

/// A private anonymous page marked `MADV_WIPEONFORK` (Linux 4.14): a process created as a
/// copy of this one (`fork`, `clone` without `CLONE_VM`) finds it zeroed, while a child that
/// shares this memory (`vfork`, `clone(CLONE_VM)`) sees what the parent wrote. `None` when the
/// mapping or the advice fails (an older kernel).
pub fn wipe_on_fork_page() -> Option<core::ptr::NonNull<u8>> {
    // SAFETY: a new private anonymous mapping; no existing memory is touched.
    let page = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        return None;
    }
    // SAFETY: `page` is the mapping made above, one page long.
    if unsafe { libc::madvise(page, 4096, libc::MADV_WIPEONFORK) } != 0 {
        // SAFETY: the mapping made above, which nothing else refers to.
        unsafe { libc::munmap(page, 4096) };
        return None;
    }
    core::ptr::NonNull::new(page.cast())
}

/// The soft `RLIMIT_NOFILE` limit raised to the hard one while this lives, put back on drop:
/// a process that lowered its soft limit to the descriptors it has open (3: `ulimit -Sn 3`)
/// can still open its report's files. Valgrind, which keeps descriptors of its own above the
/// limit it shows the program, writes its report there too.
pub struct DescriptorRoom(Option<libc::rlimit>);

impl DescriptorRoom {
    /// Raises the soft limit when it is below the hard one.
    pub fn new() -> DescriptorRoom {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a valid `rlimit` for the call to fill.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0
            || limit.rlim_cur >= limit.rlim_max
        {
            return DescriptorRoom(None);
        }
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: a valid `rlimit`; raising the soft limit up to the hard one needs no privilege.
        let changed = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0;
        DescriptorRoom(changed.then_some(limit))
    }
}

impl Default for DescriptorRoom {
    fn default() -> DescriptorRoom {
        DescriptorRoom::new()
    }
}

impl Drop for DescriptorRoom {
    fn drop(&mut self) {
        if let Some(limit) = self.0 {
            // SAFETY: the limits read before, which the process had.
            unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
        }
    }
}

/// The parent process's id.
pub fn getppid() -> i32 {
    // SAFETY: no preconditions.
    unsafe { libc::getppid() }
}

/// The real user and group ids (the ones `execve` compares a set-id program's owner with).
pub fn real_ids() -> (u32, u32) {
    // SAFETY: no preconditions.
    unsafe { (libc::getuid(), libc::getgid()) }
}

/// Whether `no_new_privs` is set: `execve` then ignores set-id bits and file capabilities.
pub fn no_new_privs() -> bool {
    // SAFETY: `PR_GET_NO_NEW_PRIVS` takes no pointer arguments.
    unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 }
}

/// The threads of the calling process (`/proc/self/stat`, field 20); 1 when unknown.
pub fn thread_count() -> usize {
    let Ok(file) = Fd::open_read(c"/proc/self/stat") else {
        return 1;
    };
    let mut buffer = [0u8; 1024];
    let got = file.read_at(&mut buffer, 0);
    let text = &buffer[..got];
    // The command name (field 2) is in parentheses and may hold anything: count from the last
    // ')'. Field 3 follows it, so field 20 is the 18th after it.
    let Some(close) = text.iter().rposition(|&byte| byte == b')') else {
        return 1;
    };
    text[close + 1..]
        .split(|&byte| byte == b' ')
        .filter(|field| !field.is_empty())
        .nth(17)
        .and_then(|field| core::str::from_utf8(field).ok())
        .and_then(|field| field.parse().ok())
        .unwrap_or(1)
}

/// The calling thread's `errno`.
pub fn errno() -> i32 {
    // SAFETY: `__errno_location` returns the calling thread's errno, always valid.
    unsafe { *libc::__errno_location() }
}

/// Sets the calling thread's `errno`.
pub fn set_errno(value: i32) {
    // SAFETY: as for `errno`.
    unsafe { *libc::__errno_location() = value };
}

/// Ends the process now with `status`, running nothing (the `exit_group` system call, as
/// glibc's `_exit` does).
pub fn exit_group(status: i32) -> ! {
    loop {
        // SAFETY: ends every thread of the process; never returns.
        unsafe {
            super::syscall::raw(
                libc::SYS_exit_group,
                [status as libc::c_long, 0, 0, 0, 0, 0],
            )
        };
    }
}

/// The status [`end_after`] ends the process with.
static DEADLINE_STATUS: core::sync::atomic::AtomicI32 = core::sync::atomic::AtomicI32::new(0);

extern "C" fn deadline_passed(_signal: libc::c_int) {
    exit_group(DEADLINE_STATUS.load(core::sync::atomic::Ordering::Relaxed));
}

/// Ends the process with `status` after `seconds` (`SIGALRM`, unblocked for the calling
/// thread), whatever the process is doing then: a bound on work that may never finish, such as
/// a report in a signal handler that interrupted a thread holding a lock the report needs.
pub fn end_after(seconds: u32, status: i32) {
    DEADLINE_STATUS.store(status, core::sync::atomic::Ordering::Relaxed);
    // SAFETY: a zeroed, then filled, `sigaction` with a handler that lives as long as the
    // process; `sigset_t` values are initialized by `sigemptyset` before use.
    unsafe {
        let mut action: libc::sigaction = core::mem::zeroed();
        action.sa_sigaction = deadline_passed as extern "C" fn(libc::c_int) as usize;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGALRM, &action, core::ptr::null_mut());
        let mut alarm_only: libc::sigset_t = core::mem::zeroed();
        libc::sigemptyset(&mut alarm_only);
        libc::sigaddset(&mut alarm_only, libc::SIGALRM);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &alarm_only, core::ptr::null_mut());
        libc::alarm(seconds);
    }
}

/// A path built in a fixed buffer (no allocation): `parts` joined, NUL-terminated.
pub struct PathBuf {
    bytes: [u8; super::super::settings::PATH_CAPACITY + 64],
    len: usize,
}

impl PathBuf {
    /// `parts` concatenated; `None` when too long.
    pub fn join(parts: &[&[u8]]) -> Option<PathBuf> {
        let mut path = PathBuf {
            bytes: [0; super::super::settings::PATH_CAPACITY + 64],
            len: 0,
        };
        for part in parts {
            if path.len + part.len() >= path.bytes.len() || part.contains(&0) {
                return None;
            }
            path.bytes[path.len..path.len + part.len()].copy_from_slice(part);
            path.len += part.len();
        }
        Some(path)
    }

    /// As a C string.
    pub fn as_c(&self) -> &CStr {
        // SAFETY: the bytes hold no NUL (checked in `join`), and one follows at `len` (the
        // buffer is zeroed and `len` stays below its length).
        unsafe { CStr::from_bytes_with_nul_unchecked(&self.bytes[..=self.len]) }
    }

    /// The bytes, without the NUL.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// Writes the decimal digits of `value` into `buffer`; the slice written.
pub fn decimal(value: u64, buffer: &mut [u8; 20]) -> &[u8] {
    let mut at = buffer.len();
    let mut rest = value;
    loop {
        at -= 1;
        buffer[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    &buffer[at..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_counted() {
        let before = thread_count();
        assert!(before >= 1);
        let (tell, wait) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || wait.recv());
        assert!(thread_count() >= 2);
        drop(tell);
        let _ = thread.join();
    }

    #[test]
    fn the_deadline_ends_a_process_that_never_finishes_with_the_status_asked_for() {
        // SAFETY: the child only makes async-signal-safe calls (sigaction, sigprocmask,
        // alarm, pause, exit_group) before it ends.
        unsafe {
            let child = libc::fork();
            assert!(child >= 0);
            if child == 0 {
                end_after(1, 7);
                loop {
                    libc::pause();
                }
            }
            let mut status = 0;
            assert_eq!(libc::waitpid(child, &mut status, 0), child);
            assert!(libc::WIFEXITED(status), "{status:#x}");
            assert_eq!(libc::WEXITSTATUS(status), 7);
        }
    }

    #[test]
    fn decimal_digits() {
        let mut buffer = [0; 20];
        assert_eq!(decimal(0, &mut buffer), b"0");
        assert_eq!(decimal(4242, &mut buffer), b"4242");
        assert_eq!(decimal(u64::MAX, &mut buffer), b"18446744073709551615");
    }

    #[test]
    fn paths_are_joined_and_terminated() {
        let path = PathBuf::join(&[b"/tmp", b"/", b"x"]).unwrap();
        assert_eq!(path.as_c(), c"/tmp/x");
        assert!(PathBuf::join(&[b"a\0b"]).is_none());
        assert!(PathBuf::join(&[&[b'a'; 8000]]).is_none());
    }
}
