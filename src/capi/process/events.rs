//! Event files: what each process of a run tells `gpa run` about itself, in the report
//! directory (`GPA_REPORT_DIR`).
//!
//! # Layout
//! ```text
//! <dir>/<pid>.<n>        one event: `key=value` lines, the first `event=<kind>`
//! <dir>/<pid>.<n>.json   the JSON report of a `report` event
//! <dir>/<pid>.<n>.txt    its text (absent when there is nothing to say)
//! ```
//! `n` numbers the events of one process id from 0; each writer claims the next free number
//! by creating the file with `O_EXCL`, so the order of `n` is the order in which the events of
//! that pid happened (an image that `exec`s another writes its `exec` event before the new
//! image writes its `start`).
//!
//! Kinds and their keys (all also have `pid`, `ppid`):
//! * `start`: a program image loaded the library (`program`: its `argv[0]`, `exe`);
//! * `fork`: a child of `fork` (`program`, `exe` as the parent's);
//! * `exec`: the image is about to be replaced (`target`: the resolved path, `program`: the new
//!   `argv[0]`, `verdict`: `checked` or a [`Reason`] code, `vfork`: `1` when written by a child
//!   that shares its parent's memory). Removed again when the `exec` fails;
//! * `spawn`: `posix_spawn` started `child` (same keys as `exec`);
//! * `report`: the image wrote its report (`ended`: `exit`, `_exit`, `signal` or `exec`,
//!   `status` or `signal` when known).
//!
//! Values are escaped: bytes below 0x20, 0x7f and `\` are written as `\xHH`.
//!
//! # A process in a `chroot`
//! The directory is named by an absolute path, which a process that calls `chroot` (a
//! privilege-separated daemon's jail, a build sandbox) no longer reaches: it was "not
//! checked", where Valgrind, writing to a descriptor, reports it. Before such a process
//! changes its root ([`keep_open`], from the interposed `chroot`), the directory is opened
//! (`O_PATH`, close-on-exec, moved to a descriptor number of at least [`held::HELD_FROM`], out of
//! the way of the descriptors the program counts on) and its files are then created and
//! removed relative to that descriptor. The descriptor is used only while it is still that
//! directory (same device and inode, checked at each use); it is one of the descriptors
//! [`crate::os::held`] keeps from the program's `close`, and a program that still gets rid of
//! it (a raw system call) falls back to the path. A process that never calls `chroot` nor enters a mount
//! namespace (below), and was not started by one that did, holds no descriptor of gpa's.
//!
//! # A process in another mount namespace
//! A process that enters a new mount namespace (`unshare -m`, `setns`, `clone` with
//! `CLONE_NEWNS`: sandboxes, containers, `unshare -m sh -c 'mount -t tmpfs none /tmp; ...'`)
//! reaches the directory by its path until something is mounted over it, and the programs it
//! then `exec`s never reach it: they were "not checked". So the interposed `unshare`,
//! `setns` and `clone` hold the directory open first, as `chroot` does, and every `exec` and
//! spawn the library sees passes it on ([`Passed`]): the descriptor loses its close-on-exec
//! flag for the length of the call, and the new image's environment gets
//! `GPA_REPORT_FD=<fd>:<device>:<inode>` ([`passed_entry`]), which its library takes at
//! start-up ([`adopt_passed`]) when that descriptor still is that directory, setting
//! close-on-exec again. `close`, `close_range` and `closefrom` leave the descriptor open
//! ([`super::descriptors`]: bubblewrap's sandbox init `close`s every entry of
//! `/proc/self/fd`), and `dup2` onto it moves it elsewhere first.
//!
//! # Invariants
//! * Writing an event allocates nothing and takes no lock ([`super::sys`]): `vfork` children
//!   and signal handlers write them.
//! * The held report directory ([`held::Role::ReportDir`]) is a descriptor this process (or a
//!   parent before `fork`, or the image before `exec` that passed it on) opened on the report
//!   directory; it is close-on-exec but inside a [`Passed`]'s life.

use core::ffi::CStr;
use core::sync::atomic::{AtomicU32, Ordering};

use super::inspect::Reason;
use super::sys::{self, Fd, PathBuf};
use crate::os::held;

/// Bytes of one event file.
const EVENT_CAPACITY: usize = 6144;
/// Bytes kept of one value (longer ones are cut: they are for display).
const VALUE_CAPACITY: usize = 1024;
/// Events kept per process id.
const MAX_EVENTS: u32 = 100_000;

/// The `verdict` value of a target that will load the library.
pub const CHECKED: &str = "checked";

/// One event, built in a fixed buffer.
pub struct Event {
    bytes: [u8; EVENT_CAPACITY],
    len: usize,
}

impl Event {
    /// An event of `kind`, with the calling process's `pid` and `ppid`.
    pub fn new(kind: &str) -> Event {
        let mut event = Event {
            bytes: [0; EVENT_CAPACITY],
            len: 0,
        };
        event.field("event", kind.as_bytes());
        event.number("pid", sys::getpid() as u64);
        event.number("ppid", sys::getppid() as u64);
        event
    }

    fn push(&mut self, bytes: &[u8]) {
        let take = bytes.len().min(EVENT_CAPACITY - self.len);
        self.bytes[self.len..self.len + take].copy_from_slice(&bytes[..take]);
        self.len += take;
    }

    /// Adds `key=value` (escaped, cut at [`VALUE_CAPACITY`] bytes).
    pub fn field(&mut self, key: &str, value: &[u8]) -> &mut Event {
        // Room for the line at its longest; otherwise it is left out whole.
        if self.len + key.len() + 2 + 4 * VALUE_CAPACITY.min(value.len()) > EVENT_CAPACITY {
            return self;
        }
        self.push(key.as_bytes());
        self.push(b"=");
        for &byte in &value[..value.len().min(VALUE_CAPACITY)] {
            if byte < 0x20 || byte == 0x7f || byte == b'\\' {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                self.push(&[
                    b'\\',
                    b'x',
                    HEX[usize::from(byte >> 4)],
                    HEX[usize::from(byte & 15)],
                ]);
            } else {
                self.push(&[byte]);
            }
        }
        self.push(b"\n");
        self
    }

    /// Adds `key=<decimal>`.
    pub fn number(&mut self, key: &str, value: u64) -> &mut Event {
        let mut digits = [0; 20];
        let digits = sys::decimal(value, &mut digits);
        // `field` would copy `digits` again; they need no escaping.
        let mut line = [0u8; 64];
        let len = key.len().min(40);
        line[..len].copy_from_slice(&key.as_bytes()[..len]);
        line[len] = b'=';
        line[len + 1..len + 1 + digits.len()].copy_from_slice(digits);
        line[len + 1 + digits.len()] = b'\n';
        self.push(&line[..len + 2 + digits.len()]);
        self
    }

    /// Adds `verdict=checked` or the reason's code.
    pub fn verdict(&mut self, unchecked: Option<Reason>) -> &mut Event {
        let code = unchecked.map_or(CHECKED, Reason::code);
        self.field("verdict", code.as_bytes())
    }

    /// The event's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// The path of event `n` of `pid` in `dir`, with an optional extension (`json`, `txt`).
pub fn path(dir: &[u8], pid: u32, n: u32, extension: Option<&str>) -> Option<PathBuf> {
    let mut pid_digits = [0; 20];
    let mut n_digits = [0; 20];
    let pid_digits = sys::decimal(u64::from(pid), &mut pid_digits);
    let n_digits = sys::decimal(u64::from(n), &mut n_digits);
    match extension {
        Some(extension) => PathBuf::join(&[
            dir,
            b"/",
            pid_digits,
            b".",
            n_digits,
            b".",
            extension.as_bytes(),
        ]),
        None => PathBuf::join(&[dir, b"/", pid_digits, b".", n_digits]),
    }
}

/// The role of the report directory's descriptor among the ones gpa holds.
const REPORT_DIR: held::Role = held::Role::ReportDir;

/// Opens the report directory `dir` to be reached through a descriptor from now on (before
/// the process changes its root); nothing when it is already held. Allocates nothing.
pub fn keep_open(dir: &[u8]) {
    if let Some(path) = PathBuf::join(&[dir]) {
        held::open_and_hold(REPORT_DIR, path.as_c(), libc::O_PATH | libc::O_DIRECTORY);
    }
}

/// The name of the variable that passes the held descriptor to a new image.
pub const PASSED_NAME: &[u8] = b"GPA_REPORT_FD";
/// Bytes of the longest `GPA_REPORT_FD=<fd>:<device>:<inode>` entry and its NUL.
pub const PASSED_CAPACITY: usize = 80;

/// Takes the report directory's descriptor an image that `exec`ed this one passed on
/// (`value`: `<fd>:<device>:<inode>`, the value of `GPA_REPORT_FD`), when it still is that
/// directory; it is close-on-exec again from here on. Allocates nothing.
pub fn adopt_passed(value: &[u8]) {
    let Some((fd, dev, ino)) = parse_passed(value) else {
        return;
    };
    if kept().is_some() || held::file_id(fd) != Some((dev, ino)) {
        return;
    }
    // SAFETY: `fd` is open (`fstat` succeeded); setting its close-on-exec flag changes no
    // data.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    held::adopt(REPORT_DIR, fd, dev, ino);
}

/// `<fd>:<device>:<inode>` read back (decimal numbers, nothing else).
fn parse_passed(value: &[u8]) -> Option<(libc::c_int, u64, u64)> {
    let mut numbers = value.split(|&byte| byte == b':').map(|part| {
        let digits = !part.is_empty() && part.len() <= 20 && part.iter().all(u8::is_ascii_digit);
        digits.then(|| {
            part.iter().try_fold(0u64, |sum, &digit| {
                sum.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
            })
        })?
    });
    let (Some(Some(fd)), Some(Some(dev)), Some(Some(ino)), None) = (
        numbers.next(),
        numbers.next(),
        numbers.next(),
        numbers.next(),
    ) else {
        return None;
    };
    Some((libc::c_int::try_from(fd).ok()?, dev, ino))
}

/// Writes `GPA_REPORT_FD=<fd>:<device>:<inode>` and its NUL into `buffer` when a descriptor
/// is held ([`keep_open`], [`adopt_passed`]); the entry.
pub fn passed_entry(buffer: &mut [u8; PASSED_CAPACITY]) -> Option<&CStr> {
    let fd = kept()?;
    let (dev, ino) = held::id(REPORT_DIR);
    let mut digits = [[0u8; 20]; 3];
    let [fd_digits, dev_digits, ino_digits] = &mut digits;
    let parts: [&[u8]; 7] = [
        PASSED_NAME,
        b"=",
        sys::decimal(fd as u64, fd_digits),
        b":",
        sys::decimal(dev, dev_digits),
        b":",
        sys::decimal(ino, ino_digits),
    ];
    let mut at = 0;
    for part in parts {
        buffer[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    buffer[at] = 0;
    CStr::from_bytes_with_nul(&buffer[..=at]).ok()
}

/// The held descriptor, open across an `exec` or spawn while this lives: its close-on-exec
/// flag is cleared at [`Passed::begin`] and set again when it is dropped (an `exec` that
/// failed, a spawn that returned). Nothing when no descriptor is held.
pub struct Passed(libc::c_int);

impl Passed {
    /// Clears the held descriptor's close-on-exec flag, if one is held.
    pub fn begin() -> Passed {
        let Some(fd) = kept() else {
            return Passed(-1);
        };
        // SAFETY: our descriptor (checked by `kept`); only its flags change.
        unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
        Passed(fd)
    }
}

impl Drop for Passed {
    fn drop(&mut self) {
        if self.0 >= 0 {
            // SAFETY: as in `begin`.
            unsafe { libc::fcntl(self.0, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
}

/// Sets the held descriptor's close-on-exec flag again inside a [`Passed`]'s life: the
/// program about to start will not load the library (a static or set-user-ID program), and
/// gets no descriptor of gpa's.
pub fn withhold_from_exec() {
    if let Some(fd) = kept() {
        // SAFETY: our descriptor (checked by `kept`); only its flags change.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
}

/// Writes `bytes` as the file `name` of the report directory `dir` (replacing one of that
/// name): through the held descriptor when there is one, else by its path. False when it
/// cannot.
pub fn write_named(dir: &[u8], name: &[u8], bytes: &[u8]) -> bool {
    let Some(path) = PathBuf::join(&[dir, b"/", name]) else {
        return false;
    };
    match through_kept(dir, &path) {
        Some((fd, name)) => sys::unlink_at(fd, name),
        None => sys::unlink(path.as_c()),
    }
    create(dir, &path).is_ok_and(|file| file.write_all(bytes))
}

/// Closes the held descriptor (a parent whose `clone` child entered a new mount namespace,
/// when the parent held none before). Allocates nothing.
pub fn release() {
    held::forget(REPORT_DIR);
}

/// The held descriptor, if any (one atomic load when none is).
pub fn held() -> Option<libc::c_int> {
    kept()
}

/// The descriptor [`keep_open`] holds, while it still is the report directory.
fn kept() -> Option<libc::c_int> {
    held::get(REPORT_DIR)
}

/// The held descriptor and the file name part of `path`, a file of the report directory
/// `dir` (`<dir>/<name>`), when a descriptor is held; `None`: use the path.
fn through_kept<'a>(dir: &[u8], path: &'a PathBuf) -> Option<(libc::c_int, &'a CStr)> {
    let fd = kept()?;
    let name = path.as_c().to_bytes_with_nul().get(dir.len() + 1..)?;
    Some((fd, CStr::from_bytes_with_nul(name).ok()?))
}

/// Creates the file `path` of the report directory `dir` (`O_EXCL`): through the held
/// descriptor when there is one, else by its path; where the process may open no more
/// descriptors (`EMFILE`: its hard `RLIMIT_NOFILE` below them), by renaming a spare file
/// made ahead ([`make_spares`]).
fn create(dir: &[u8], path: &PathBuf) -> Result<Fd, i32> {
    let made = match through_kept(dir, path) {
        Some((fd, name)) => Fd::create_new_at(fd, name),
        None => Fd::create_new(path.as_c()),
    };
    match made {
        Err(libc::EMFILE) => claim_spare(dir, path),
        made => made,
    }
}

/// The process that made the spare files this one holds (they are named after it): a
/// `fork` child inherits both the descriptors and this.
static SPARES_OF: AtomicU32 = AtomicU32::new(0);

/// The spare file `k` of process `pid` in `dir`: `<dir>/spare.<pid>.<k>`.
fn spare_path(dir: &[u8], pid: u32, k: usize) -> Option<PathBuf> {
    let (mut pid_digits, mut k_digits) = ([0; 20], [0; 20]);
    PathBuf::join(&[
        dir,
        b"/spare.",
        sys::decimal(u64::from(pid), &mut pid_digits),
        b".",
        sys::decimal(k as u64, &mut k_digits),
    ])
}

/// Makes the spare files (empty, held at [`held::HELD_FROM`] or above, see [`held::SPARES`])
/// for a process about to lower its hard `RLIMIT_NOFILE` below the descriptors it has
/// (`confine::before_descriptor_limit`): from then on neither it nor the children it forks
/// can create a file, and a child that cannot write its `fork` event and its report is not
/// even listed by `gpa run`. Each such creation takes a spare instead ([`claim_spare`]): a
/// child needs four (its event, its report's event, JSON and text), twelve serve three
/// children besides the process's own reserved report. Allocates nothing; nothing when made
/// already.
pub fn make_spares(dir: &[u8]) {
    if held::get(held::SPARES[0]).is_some() {
        return;
    }
    let pid = sys::getpid() as u32;
    SPARES_OF.store(pid, Ordering::Relaxed);
    for (k, role) in held::SPARES.into_iter().enumerate() {
        if let Some(file) = spare_path(dir, pid, k).and_then(|path| create(dir, &path).ok()) {
            held::hold(role, held::hold_high(file.into_raw()));
        }
    }
}

/// A spare file renamed to `path` (never over an existing file: `RENAME_NOREPLACE`, `Err`
/// `EEXIST` then, as `O_EXCL` says it), its descriptor taken out of the held ones; `Err`
/// `EMFILE` when none is left. Processes that inherited
/// the same spares race for them by the rename, which only one wins; a spare another claimed
/// is gone from the directory and skipped.
fn claim_spare(dir: &[u8], path: &PathBuf) -> Result<Fd, i32> {
    let of = SPARES_OF.load(Ordering::Relaxed);
    for (k, role) in held::SPARES.into_iter().enumerate() {
        if held::get(role).is_none() {
            continue;
        }
        let Some(spare) = spare_path(dir, of, k) else {
            continue;
        };
        // SAFETY: NUL-terminated names; the kernel checks the rest.
        let renamed = unsafe {
            match (through_kept(dir, &spare), through_kept(dir, path)) {
                (Some((fd, from)), Some((_, to))) => {
                    libc::renameat2(fd, from.as_ptr(), fd, to.as_ptr(), libc::RENAME_NOREPLACE)
                }
                _ => libc::renameat2(
                    libc::AT_FDCWD,
                    spare.as_c().as_ptr(),
                    libc::AT_FDCWD,
                    path.as_c().as_ptr(),
                    libc::RENAME_NOREPLACE,
                ),
            }
        };
        if renamed == 0 {
            // SAFETY: the spare's descriptor, taken out of the held ones: this process's alone
            // to write and close from now on.
            return held::take(role)
                .map(|fd| unsafe { Fd::from_raw(fd) })
                .ok_or(libc::EMFILE);
        }
        if sys::errno() == libc::EEXIST {
            return Err(libc::EEXIST);
        }
    }
    Err(libc::EMFILE)
}

/// Writes `event` as the next event of the calling process in `dir`; its number.
pub fn record(dir: &[u8], event: &Event) -> Option<u32> {
    let pid = sys::getpid() as u32;
    for n in 0..MAX_EVENTS {
        let path = path(dir, pid, n, None)?;
        match create(dir, &path) {
            Ok(file) => {
                file.write_all(event.as_bytes());
                return Some(n);
            }
            Err(libc::EEXIST) => continue,
            Err(_) => return None,
        }
    }
    None
}

/// Writes `bytes` as the file of event `n` of the calling process with `extension` (`json`,
/// `txt`); false when it cannot.
pub fn write_attachment(dir: &[u8], n: u32, extension: &str, bytes: &[u8]) -> bool {
    path(dir, sys::getpid() as u32, n, Some(extension))
        .and_then(|path| create(dir, &path).ok())
        .is_some_and(|file| file.write_all(bytes))
}

/// Removes event `n` of the calling process (an `exec` that failed).
pub fn remove(dir: &[u8], n: u32) {
    if let Some(path) = path(dir, sys::getpid() as u32, n, None) {
        match through_kept(dir, &path) {
            Some((fd, name)) => sys::unlink_at(fd, name),
            None => sys::unlink(path.as_c()),
        }
    }
}

/// The roles of the files of a `report` event created ahead by [`reserve_report`] (the
/// event, its JSON, its text), held at [`held::HELD_FROM`] or above.
const RESERVED: [held::Role; 3] = [
    held::Role::ReservedEvent,
    held::Role::ReservedJson,
    held::Role::ReservedText,
];

/// Creates the files of this process's `report` event now, empty, to be written through
/// their descriptors at exit ([`record_report`]): for a process about to install a seccomp
/// filter or a Landlock ruleset, after which `open` may be refused (sshd's pre-authentication
/// child, sandboxed workers). Until the report is written the event file is empty, which
/// `gpa run` reads as no event (the process then ended without a report). Nothing when they
/// were already made; allocates nothing.
pub fn reserve_report(dir: &[u8]) {
    if held::get(RESERVED[0]).is_some() {
        return;
    }
    let pid = sys::getpid() as u32;
    for n in 0..MAX_EVENTS {
        let Some(event) = path(dir, pid, n, None) else {
            return;
        };
        match create(dir, &event) {
            Ok(file) => {
                // The attachments first: the event's slot says the report is reserved.
                for (role, extension) in RESERVED[1..].iter().zip(["json", "txt"]) {
                    if let Some(file) =
                        path(dir, pid, n, Some(extension)).and_then(|path| create(dir, &path).ok())
                    {
                        held::hold(*role, held::hold_high(file.into_raw()));
                    }
                }
                held::hold(RESERVED[0], held::hold_high(file.into_raw()));
                return;
            }
            Err(libc::EEXIST) => continue,
            Err(_) => return,
        }
    }
}

/// A directory `<pid>.confined` in the report directory `dir`: made by a process about to
/// install a seccomp filter that would kill its report, where it could not write the reason
/// at exit (`RLIMIT_FSIZE` already below what a write needs, or `RLIMIT_NOFILE` lowered to
/// the descriptors in use: sshd's child does both before its filter). Making a directory
/// needs neither a descriptor nor file size. `gpa run` lists such a process that left no
/// report as `confined`. False when it could not be made.
pub fn mark_confined(dir: &[u8]) -> bool {
    let mut digits = [0; 20];
    let pid = sys::decimal(sys::getpid() as u64, &mut digits);
    let Some(marker) = PathBuf::join(&[dir, b"/", pid, b".confined"]) else {
        return false;
    };
    // SAFETY: NUL-terminated names; a bad descriptor is an error of the call.
    let made = unsafe {
        match through_kept(dir, &marker) {
            Some((fd, name)) => libc::mkdirat(fd, name.as_ptr(), 0o755),
            None => libc::mkdir(marker.as_c().as_ptr(), 0o755),
        }
    };
    made == 0
}

/// In a `fork` child: the reserved files are the parent's report; the child forgets them
/// (closing its copies of the descriptors).
pub fn forget_reserved_report() {
    for role in RESERVED {
        if let Some(fd) = held::take(role) {
            // SAFETY: the child's copy of a descriptor this library opened.
            unsafe { libc::close(fd) };
        }
    }
}

/// Writes this process's `report` event with its JSON and its text (the text's file is left
/// out when `text` is empty): into the files [`reserve_report`] made, else as a new event;
/// false when it cannot.
pub fn record_report(dir: &[u8], event: &Event, json: &[u8], text: &[u8]) -> bool {
    let reserved = RESERVED.map(held::take);
    if reserved[0].is_some() {
        let mut written = true;
        for (fd, bytes) in reserved.into_iter().zip([event.as_bytes(), json, text]) {
            let Some(fd) = fd else {
                continue;
            };
            // SAFETY: a descriptor `reserve_report` opened and held for this report, taken
            // out of the table of held descriptors: closed once, when `file` drops.
            let file = unsafe { Fd::from_raw(fd) };
            written &= file.write_all(bytes);
        }
        return written;
    }
    let Some(n) = record(dir, event) else {
        return false;
    };
    // Through the report directory's descriptor after a `chroot` (see `keep_open`).
    let json_written = write_attachment(dir, n, "json", json);
    json_written && (text.is_empty() || write_attachment(dir, n, "txt", text))
}

/// Writes an `unreported` event, saying `why` this process's report is left out, into the
/// event file [`reserve_report`] made (for a process whose seccomp filter would kill the
/// report's system calls: `confine::report_left_out`). Makes one `write` and no other system
/// call (not even `getpid`: `gpa run` has the pid from the file's name); false when no file
/// was reserved or the write failed. The file then reads as that event, not as an empty one.
pub fn record_unreported(why: &[u8]) -> bool {
    let Some(fd) = held::get(RESERVED[0]) else {
        return false;
    };
    let mut event = Event {
        bytes: [0; EVENT_CAPACITY],
        len: 0,
    };
    event.field("event", b"unreported").field("why", why);
    // SAFETY: `write_nocancel` of a live byte slice to a descriptor this process holds; the
    // descriptor stays held (not closed here).
    let written = unsafe { crate::os::write_nocancel(fd, event.as_bytes().as_ptr(), event.len) };
    written == event.len as isize
}

/// The `key=value` pairs of an event file, unescaped (for `gpa run`, which reads them).
pub fn parse(content: &[u8]) -> std::vec::Vec<(std::string::String, std::vec::Vec<u8>)> {
    content
        .split(|&byte| byte == b'\n')
        .filter_map(|line| {
            let equals = line.iter().position(|&byte| byte == b'=')?;
            let key = std::string::String::from_utf8_lossy(&line[..equals]).into_owned();
            Some((key, unescape(&line[equals + 1..])))
        })
        .collect()
}

fn unescape(value: &[u8]) -> std::vec::Vec<u8> {
    let mut out = std::vec::Vec::with_capacity(value.len());
    let mut at = 0;
    while at < value.len() {
        if value[at] == b'\\' && value.get(at + 1) == Some(&b'x') {
            let hex = value.get(at + 2..at + 4).and_then(|digits| {
                core::str::from_utf8(digits)
                    .ok()
                    .and_then(|digits| u8::from_str_radix(digits, 16).ok())
            });
            if let Some(byte) = hex {
                out.push(byte);
                at += 4;
                continue;
            }
        }
        out.push(value[at]);
        at += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip() {
        let mut event = Event::new("exec");
        event
            .field("target", b"/tmp/a b\\c\nd")
            .number("status", 3)
            .verdict(Some(Reason::StaticBinary));
        let fields = parse(event.as_bytes());
        let get = |key: &str| {
            fields
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.clone())
        };
        assert_eq!(get("event").unwrap(), b"exec");
        assert_eq!(get("pid").unwrap(), sys::getpid().to_string().as_bytes());
        assert_eq!(get("target").unwrap(), b"/tmp/a b\\c\nd");
        assert_eq!(get("status").unwrap(), b"3");
        assert_eq!(get("verdict").unwrap(), b"static_binary");
    }

    #[test]
    fn long_values_are_cut() {
        let mut event = Event::new("start");
        event.field("program", &[b'a'; 5000]);
        let fields = parse(event.as_bytes());
        assert_eq!(fields[3].1.len(), VALUE_CAPACITY);
    }

    #[test]
    fn a_passed_descriptor_reads_back_and_nothing_else_does() {
        assert_eq!(
            parse_passed(b"512:2049:1234567"),
            Some((512, 2049, 1_234_567))
        );
        assert_eq!(parse_passed(b"512:2049"), None);
        assert_eq!(parse_passed(b"512:2049:1:4"), None);
        assert_eq!(parse_passed(b"512:x:1"), None);
        assert_eq!(parse_passed(b"-1:2:3"), None);
        assert_eq!(parse_passed(b"99999999999:2:3"), None);
        assert_eq!(parse_passed(b"1:2:99999999999999999999"), None);
        assert_eq!(parse_passed(b""), None);
    }

    #[test]
    fn numbers_claim_the_next_free_slot() {
        let dir = std::env::temp_dir().join(format!("gpa-events-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let dir_bytes = dir.to_str().unwrap().as_bytes();
        let event = Event::new("start");
        assert_eq!(record(dir_bytes, &event), Some(0));
        assert_eq!(record(dir_bytes, &event), Some(1));
        remove(dir_bytes, 0);
        assert_eq!(record(dir_bytes, &event), Some(0));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
