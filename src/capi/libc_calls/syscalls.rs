//! The system-call wrappers that hand the kernel a path, a structure or a buffer of the
//! program's (`open`, `stat`, `poll`, `bind`, `clock_gettime`, `uname`, `pipe`...), checked
//! as Valgrind checks a system call's parameters before the call: each range the kernel
//! reads or writes must lie in a live heap block where it touches the heap. A finding is the
//! kind a fault gets (`Overflow` with the offset of the first bad byte, `ReadAfterFree`,
//! `WriteAfterFree`), named by the function and Valgrind's parameter name: `stat(buf)`,
//! `open(filename)`, `poll(ufds.revents)`, `bind(my_addr.sin_addr)`.
//!
//! # Design
//! Each function is an [`Interposed`](super::Interposed) slot of the parent module (its
//! bootstrap is glibc's internal alias, `__open`, `__poll`..., or the lazy resolver; fast
//! mode jumps straight to glibc's). The checks run before glibc's function, on the sizes the
//! kernel really touches (Valgrind's `PRE_MEM_READ`/`PRE_MEM_WRITE` sizes): `sizeof(struct
//! stat)` for `stat`, `*addrlen` for `getsockname`, 8 bytes a `pollfd` for `poll` (its `fd`
//! and `events` read, `revents` written), `nfds / 8` bytes of each `fd_set` for `select`.
//! A NULL pointer where the call allows one is not checked; neither is memory outside the
//! heap (stacks, statics: one page-map load says so).
//!
//! Paths are read as the kernel reads them, up to their NUL: only the in-bounds part of a heap
//! string is read (a path with no NUL before its block's end, or in a freed block, is one
//! invalid read of 1 byte where the reading goes wrong); glibc's function then runs as it
//! would have (the kernel answers `EFAULT` for a guard page, or reads on).
//!
//! Socket addresses are checked field by field as Valgrind's `pre_mem_read_sockaddr` checks
//! them: `sa_family`, then by family (`AF_INET`: `sin_port`, `sin_addr`; `AF_INET6`: up to
//! `sin6_scope_id`; `AF_UNIX`: `sun_path` as a string; `AF_UNSPEC`: nothing more; others:
//! `sa_data`, the rest of the length).
//!
//! Where glibc reads or writes the structure in user code rather than the kernel (`select`
//! converts `timeout`), Valgrind reports an invalid read or write inside glibc; gpa reports
//! the same bytes, named by the parameter. `sigaction`, `sigprocmask` and `pthread_sigmask`
//! are interposed by other modules (`exit`, `threads`), which call the checks here
//! ([`check_sigaction_act`], [`check_signal_mask`]); so do the exec calls (`process`:
//! [`check_exec`]).
//!
//! # Invariants
//! * As for every interposed function: a call from the preload library itself is forwarded
//!   unchecked ([`own`]); checks never fault (they only look up the heap's metadata and, for
//!   paths, the in-bounds bytes of a live block); a finding keeps `errno`.

use super::{check_range, clean, own, readable, Access, Found, Unit};
use crate::capi::gpa;
use crate::gpa::GeneralPurposeAllocator;

use super::{
    ACCEPT, ACCEPT4, ACCESS, BIND, CHDIR, CLOCK_GETTIME, CLOCK_NANOSLEEP, CONNECT, EPOLL_CTL,
    EPOLL_PWAIT, EPOLL_WAIT, FSTAT, FSTATAT, GETCWD, GETDENTS64, GETPEERNAME, GETRANDOM, GETRLIMIT,
    GETSOCKNAME, GETSOCKOPT, GETTIMEOFDAY, IOCTL, LSTAT, MKDIR, NANOSLEEP, OPEN, OPENAT, PIPE,
    PIPE2, POLL, PPOLL, PRLIMIT, READLINK, RENAME, SELECT, SETRLIMIT, SETSOCKOPT, SOCKETPAIR, STAT,
    STATX, SYSINFO, UNAME, UNLINK,
};

type PathFn = unsafe extern "C" fn(*const u8) -> i32;
type PathIntFn = unsafe extern "C" fn(*const u8, i32) -> i32;
type PathPathFn = unsafe extern "C" fn(*const u8, *const u8) -> i32;
type OpenFn = unsafe extern "C" fn(*const u8, i32, u32) -> i32;
type OpenAtFn = unsafe extern "C" fn(i32, *const u8, i32, u32) -> i32;
type StatFn = unsafe extern "C" fn(*const u8, *mut u8) -> i32;
type FstatFn = unsafe extern "C" fn(i32, *mut u8) -> i32;
type FstatAtFn = unsafe extern "C" fn(i32, *const u8, *mut u8, i32) -> i32;
type StatxFn = unsafe extern "C" fn(i32, *const u8, i32, u32, *mut u8) -> i32;
type ReadlinkFn = unsafe extern "C" fn(*const u8, *mut u8, usize) -> isize;
type GetcwdFn = unsafe extern "C" fn(*mut u8, usize) -> *mut u8;
type GetdentsFn = unsafe extern "C" fn(i32, *mut u8, usize) -> isize;
type AddrInFn = unsafe extern "C" fn(i32, *const u8, u32) -> i32;
type AddrOutFn = unsafe extern "C" fn(i32, *mut u8, *mut u32) -> i32;
type Accept4Fn = unsafe extern "C" fn(i32, *mut u8, *mut u32, i32) -> i32;
type GetsockoptFn = unsafe extern "C" fn(i32, i32, i32, *mut u8, *mut u32) -> i32;
type SetsockoptFn = unsafe extern "C" fn(i32, i32, i32, *const u8, u32) -> i32;
type SocketpairFn = unsafe extern "C" fn(i32, i32, i32, *mut i32) -> i32;
type PipeFn = unsafe extern "C" fn(*mut i32) -> i32;
type Pipe2Fn = unsafe extern "C" fn(*mut i32, i32) -> i32;
type ClockGettimeFn = unsafe extern "C" fn(i32, *mut u8) -> i32;
type GettimeofdayFn = unsafe extern "C" fn(*mut u8, *mut u8) -> i32;
type NanosleepFn = unsafe extern "C" fn(*const u8, *mut u8) -> i32;
type ClockNanosleepFn = unsafe extern "C" fn(i32, i32, *const u8, *mut u8) -> i32;
type RlimitFn = unsafe extern "C" fn(i32, *mut u8) -> i32;
type PrlimitFn = unsafe extern "C" fn(i32, i32, *const u8, *mut u8) -> i32;
type OneBufferFn = unsafe extern "C" fn(*mut u8) -> i32;
type GetrandomFn = unsafe extern "C" fn(*mut u8, usize, u32) -> isize;
type PollFn = unsafe extern "C" fn(*mut u8, u64, i32) -> i32;
type PpollFn = unsafe extern "C" fn(*mut u8, u64, *const u8, *const u8) -> i32;
type SelectFn = unsafe extern "C" fn(i32, *mut u8, *mut u8, *mut u8, *mut u8) -> i32;
type EpollCtlFn = unsafe extern "C" fn(i32, i32, i32, *mut u8) -> i32;
type EpollWaitFn = unsafe extern "C" fn(i32, *mut u8, i32, i32) -> i32;
type EpollPwaitFn = unsafe extern "C" fn(i32, *mut u8, i32, i32, *const u8) -> i32;
type IoctlFn = unsafe extern "C" fn(i32, u64, *mut u8) -> i32;

/// `sizeof(struct stat)` on x86-64 (`stat`, `fstat`, `lstat`, `fstatat` and their `64`
/// names: one layout).
const STAT_SIZE: usize = 144;
/// `sizeof(struct statx)`.
const STATX_SIZE: usize = 256;
/// `sizeof(struct timespec)`, `sizeof(struct timeval)`, `sizeof(struct rlimit)`.
const TWO_WORDS: usize = 16;
/// `sizeof(struct timezone)`.
const TIMEZONE_SIZE: usize = 8;
/// `sizeof(struct utsname)`: six fields of 65 bytes.
const UTSNAME_SIZE: usize = 390;
/// `sizeof(struct sysinfo)` on x86-64.
const SYSINFO_SIZE: usize = 112;
/// The bytes of a signal set the kernel reads or writes (`_NSIG / 8`).
const KERNEL_SIGSET: usize = 8;
/// `sizeof(struct pollfd)`: `fd` at offset 0, `events` at 4, `revents` at 6.
const POLLFD_SIZE: usize = 8;
/// `sizeof(struct epoll_event)` (packed on x86-64).
const EPOLL_EVENT_SIZE: usize = 12;
/// The pair of descriptors `pipe` and `socketpair` store.
const FD_PAIR: usize = 8;
/// `FIONREAD`: the `int` the kernel stores.
const FIONREAD: u64 = 0x541B;
/// `EPOLL_CTL_DEL`: its `event` is not read.
const EPOLL_CTL_DEL: i32 = 2;

/// Checks the path `s` the kernel reads up to its NUL: in a live heap block, the terminator
/// must lie before the block's end; a freed block is read at its first byte (one invalid read
/// of 1 byte where the reading goes wrong, as Valgrind's `PRE_MEM_RASCIIZ` reports it). Never
/// reads past a live block's end nor a freed block.
fn check_path(gpa: &GeneralPurposeAllocator, s: *const u8, call: &'static str) {
    let start = s as usize;
    if s.is_null() {
        return;
    }
    let Some(found) = Found::at(gpa, start) else {
        return;
    };
    // SAFETY: `found.room` bytes at `s` lie in a live block: mapped and readable.
    if found.room > 0 && unsafe { Unit::Byte.find(s, 0, found.room) }.is_some() {
        return;
    }
    if let Some(block) = found.block(gpa, start) {
        super::judge(gpa, block, start + found.room, 1, Access::Read, call);
    }
}

/// The length a call reads from `*length` (an `addrlen`, an `optlen`), if the pointer is
/// not NULL and may be read ([`readable`]: a length word in a bad heap block is reported as
/// `length_call`, Valgrind's `getsockname(namelen_in)`).
fn length_at(
    gpa: &GeneralPurposeAllocator,
    length: *const u32,
    length_call: &'static str,
) -> Option<usize> {
    if length.is_null() || !readable(gpa, length as usize, 4, length_call) {
        return None;
    }
    // SAFETY: the program's length word, readable (`readable`).
    Some(unsafe { core::ptr::read_volatile(length) } as usize)
}

/// What Valgrind calls the fields of a socket address a call hands the kernel.
pub(super) struct AddressNames {
    family: &'static str,
    port: &'static str,
    addr: &'static str,
    flowinfo: &'static str,
    addr6: &'static str,
    scope_id: &'static str,
    path: &'static str,
    data: &'static str,
}

/// The [`AddressNames`] of `$call($parameter.FIELD)`.
macro_rules! address_names {
    ($call:literal, $parameter:literal) => {
        AddressNames {
            family: concat!($call, "(", $parameter, ".sa_family)"),
            port: concat!($call, "(", $parameter, ".sin_port)"),
            addr: concat!($call, "(", $parameter, ".sin_addr)"),
            flowinfo: concat!($call, "(", $parameter, ".sin6_flowinfo)"),
            addr6: concat!($call, "(", $parameter, ".sin6_addr)"),
            scope_id: concat!($call, "(", $parameter, ".sin6_scope_id)"),
            path: concat!($call, "(", $parameter, ".sun_path)"),
            data: concat!($call, "(", $parameter, ".sa_data)"),
        }
    };
}

static BIND_NAMES: AddressNames = address_names!("bind", "my_addr");
static CONNECT_NAMES: AddressNames = address_names!("connect", "serv_addr");
pub(super) static SENDTO_NAMES: AddressNames = address_names!("sendto", "to");

/// Checks the socket address `address` of `len` bytes the kernel reads, field by field as
/// Valgrind's `pre_mem_read_sockaddr` does (module note).
pub(super) fn check_address(
    gpa: &GeneralPurposeAllocator,
    address: *const u8,
    len: usize,
    names: &AddressNames,
) {
    let start = address as usize;
    if address.is_null() || len == 0 {
        return;
    }
    // The common case: the address lies in one live block or outside the heap.
    if clean(gpa, start, len) {
        return;
    }
    if !readable(gpa, start, 2, names.family) {
        return;
    }
    // SAFETY: the family's two bytes may be read (`readable`).
    let family = i32::from(unsafe { core::ptr::read_volatile(address.cast::<u16>()) });
    let field = |offset: usize, size: usize, name: &'static str| {
        check_range(gpa, start + offset, size, Access::Read, name);
    };
    match family {
        libc::AF_UNIX => check_path(gpa, address.wrapping_add(2), names.path),
        libc::AF_INET => {
            field(2, 2, names.port);
            field(4, 4, names.addr);
        }
        libc::AF_INET6 => {
            field(2, 2, names.port);
            field(4, 4, names.flowinfo);
            field(8, 16, names.addr6);
            field(24, 4, names.scope_id);
        }
        libc::AF_UNSPEC => {}
        _ => field(2, len.saturating_sub(2), names.data),
    }
}

/// Checks a buffer of `*length` bytes the kernel writes, with its length word (`accept`,
/// `getsockname`, `recvfrom`'s `from`...): nothing when either pointer is NULL.
pub(super) fn check_address_out(
    gpa: &GeneralPurposeAllocator,
    buffer: *mut u8,
    length: *const u32,
    (call, length_call): (&'static str, &'static str),
) {
    if buffer.is_null() {
        return;
    }
    if let Some(len) = length_at(gpa, length, length_call) {
        check_range(gpa, buffer as usize, len, Access::Write, call);
    }
}

/// Checks the `count` entries of a `pollfd` array: each entry's `fd` and `events` read,
/// `revents` written (Valgrind's `ufds.fd`, `ufds.events`, `ufds.revents`).
fn check_pollfds(gpa: &GeneralPurposeAllocator, fds: *mut u8, count: u64, call: &PollNames) {
    let start = fds as usize;
    let Ok(count) = usize::try_from(count) else {
        return;
    };
    let Some(len) = count.checked_mul(POLLFD_SIZE) else {
        return;
    };
    if fds.is_null() || len == 0 || clean(gpa, start, len) {
        return;
    }
    // The kernel refuses more descriptors than `RLIMIT_NOFILE` allows; a bad array is
    // reported at its first bad entries (each finding once per call site).
    for index in 0..count.min(1 << 20) {
        let entry = start + index * POLLFD_SIZE;
        if clean(gpa, entry, POLLFD_SIZE) {
            continue;
        }
        check_range(gpa, entry, 4, Access::Read, call.fd);
        check_range(gpa, entry + 4, 2, Access::Read, call.events);
        check_range(gpa, entry + 6, 2, Access::Write, call.revents);
    }
}

/// What Valgrind calls the fields of a `pollfd` array.
struct PollNames {
    fd: &'static str,
    events: &'static str,
    revents: &'static str,
}

static POLL_NAMES: PollNames = PollNames {
    fd: "poll(ufds.fd)",
    events: "poll(ufds.events)",
    revents: "poll(ufds.revents)",
};
static PPOLL_NAMES: PollNames = PollNames {
    fd: "ppoll(ufds.fd)",
    events: "ppoll(ufds.events)",
    revents: "ppoll(ufds.revents)",
};

/// `p` and the call's checks, unless NULL.
#[inline(always)]
fn range(p: *const u8, len: usize, access: Access, call: &'static str) {
    if !p.is_null() {
        check_range(gpa(), p as usize, len, access, call);
    }
}

/// The bytes of `struct sigaction` (152 on x86-64) glibc's `__libc_sigaction` copies from
/// `act` in user code: the handler (0), the 128-byte mask (8) and the flags (136).
const SIGACTION_COPIED: usize = 140;
/// Where glibc writes `oldact`'s restorer back (8 bytes), after the bytes it copies.
const SIGACTION_RESTORER: usize = 144;

/// Whether the calls of the functions below are checked (check and guard modes).
fn checks_on() -> bool {
    crate::capi::state().settings.mode.checks()
}

/// `sigaction(signum, act, oldact)`'s `act`, before the call: the bytes glibc copies from it
/// in user code (Valgrind: "Invalid read" in `__libc_sigaction`, one for each load), named
/// `sigaction(act)`. (Interposed by `capi::exit`, which keeps gpa's handler invisible.)
pub(crate) fn check_sigaction_act(act: *const u8) {
    if checks_on() {
        range(act, SIGACTION_COPIED, Access::Read, "sigaction(act)");
    }
}

/// `sigaction`'s `oldact`, after a call that succeeded (glibc writes it back then): the
/// handler, mask and flags, then the restorer at 144 (bytes 140 to 143 are padding, not
/// written), named `sigaction(oldact)`; one finding for a block bad from its start.
pub(crate) fn check_sigaction_oldact(old: *mut u8) {
    if !checks_on() || old.is_null() {
        return;
    }
    if clean(gpa(), old as usize, SIGACTION_COPIED) {
        range(
            old.wrapping_add(SIGACTION_RESTORER),
            8,
            Access::Write,
            "sigaction(oldact)",
        );
    } else {
        range(old, SIGACTION_COPIED, Access::Write, "sigaction(oldact)");
    }
}

/// `sigprocmask` and `pthread_sigmask` (`call`'s two names): the 8 bytes of `set` the kernel
/// reads and of `oldset` it writes (Valgrind's `rt_sigprocmask(set)` and
/// `rt_sigprocmask(oldset)`), before the call. (Interposed by `capi::threads`, which keeps
/// the leak scan's stop signal unblocked.) Whether those 8 bytes of `set` may be read
/// ([`readable`]: not null, in a live heap block, on the thread's stack or mapped); `false`
/// when the calls are not checked.
pub(crate) fn check_signal_mask(set: *const u8, old: *mut u8, call: [&'static str; 2]) -> bool {
    if !checks_on() {
        return false;
    }
    let set_readable = !set.is_null() && readable(gpa(), set as usize, KERNEL_SIGSET, call[0]);
    range(old, KERNEL_SIGSET, Access::Write, call[1]);
    set_readable
}

/// The names of an exec call's parameters: the function the program called, with Valgrind's
/// parameter names (`pre_argv_envp`: `execve(filename)`, `execve(argv)`, `execve(argv[i])`,
/// `execve(envp)`, `execve(envp[i])`).
pub(crate) struct ExecNames {
    pub filename: &'static str,
    pub argv: &'static str,
    pub argv_item: &'static str,
    pub envp: &'static str,
    pub envp_item: &'static str,
}

/// The entries of an `argv` or `envp` array the check reads at most (the kernel's limit on
/// the strings, `MAX_ARG_STRINGS`, is far above what a real array holds).
const MOST_EXEC_STRINGS: usize = 1 << 20;

/// An exec call's `filename` (`None`: the call has none, `fexecve`), `argv` and `envp`,
/// before the call, as the kernel reads them: the path up to its NUL, each array's entries
/// up to its NULL (8 bytes each), and each entry's string up to its NUL. An array entry in a
/// bad heap block is reported and ends that array's check (it is not read); a string is read
/// only within a live block ([`check_path`]). (Interposed by `capi::process`, which follows
/// the exec.)
pub(crate) fn check_exec(
    filename: Option<*const u8>,
    argv: *const *const u8,
    envp: *const *const u8,
    names: &ExecNames,
) {
    if !checks_on() {
        return;
    }
    let gpa = gpa();
    if let Some(filename) = filename {
        check_path(gpa, filename, names.filename);
    }
    check_string_array(gpa, argv, names.argv, names.argv_item);
    check_string_array(gpa, envp, names.envp, names.envp_item);
}

/// [`check_exec`]'s walk of one NULL-terminated array of strings.
fn check_string_array(
    gpa: &GeneralPurposeAllocator,
    array: *const *const u8,
    array_name: &'static str,
    item_name: &'static str,
) {
    if array.is_null() {
        return;
    }
    let entry = core::mem::size_of::<*const u8>();
    for index in 0..MOST_EXEC_STRINGS {
        let at = (array as usize).wrapping_add(index * entry);
        if !readable(gpa, at, entry, array_name) {
            return;
        }
        // SAFETY: an entry of the program's array, readable (`readable`).
        let item = unsafe { core::ptr::read_volatile(at as *const *const u8) };
        if item.is_null() {
            return;
        }
        check_path(gpa, item, item_name);
    }
}

/// `nfds / 8` bytes of an `fd_set`, as Valgrind checks `select`'s sets (`pselect6(readfds)`).
fn fd_set_bytes(nfds: i32) -> usize {
    usize::try_from(nfds).map_or(0, |n| n / 8)
}

checked! {
    pub(super) fn open_checked(path: *const u8, flags: i32, mode: u32) -> i32, OPEN as OpenFn, {
        check_path(gpa(), path, "open(filename)");
    }
    pub(super) fn openat_checked(dir: i32, path: *const u8, flags: i32, mode: u32) -> i32, OPENAT as OpenAtFn, {
        check_path(gpa(), path, "openat(filename)");
    }
    pub(super) fn access_checked(path: *const u8, mode: i32) -> i32, ACCESS as PathIntFn, {
        check_path(gpa(), path, "access(pathname)");
    }
    pub(super) fn unlink_checked(path: *const u8) -> i32, UNLINK as PathFn, {
        check_path(gpa(), path, "unlink(pathname)");
    }
    pub(super) fn mkdir_checked(path: *const u8, mode: i32) -> i32, MKDIR as PathIntFn, {
        check_path(gpa(), path, "mkdir(pathname)");
    }
    pub(super) fn rename_checked(old: *const u8, new: *const u8) -> i32, RENAME as PathPathFn, {
        check_path(gpa(), old, "rename(oldpath)");
        check_path(gpa(), new, "rename(newpath)");
    }
    pub(super) fn chdir_checked(path: *const u8) -> i32, CHDIR as PathFn, {
        check_path(gpa(), path, "chdir(path)");
    }
    pub(super) fn stat_checked(path: *const u8, buf: *mut u8) -> i32, STAT as StatFn, {
        check_path(gpa(), path, "stat(file_name)");
        range(buf, STAT_SIZE, Access::Write, "stat(buf)");
    }
    pub(super) fn lstat_checked(path: *const u8, buf: *mut u8) -> i32, LSTAT as StatFn, {
        check_path(gpa(), path, "lstat(file_name)");
        range(buf, STAT_SIZE, Access::Write, "lstat(buf)");
    }
    pub(super) fn fstat_checked(fd: i32, buf: *mut u8) -> i32, FSTAT as FstatFn, {
        range(buf, STAT_SIZE, Access::Write, "fstat(buf)");
    }
    pub(super) fn fstatat_checked(dir: i32, path: *const u8, buf: *mut u8, flags: i32) -> i32, FSTATAT as FstatAtFn, {
        check_path(gpa(), path, "fstatat(file_name)");
        range(buf, STAT_SIZE, Access::Write, "fstatat(buf)");
    }
    pub(super) fn statx_checked(dir: i32, path: *const u8, flags: i32, mask: u32, buf: *mut u8) -> i32, STATX as StatxFn, {
        check_path(gpa(), path, "statx(file_name)");
        range(buf, STATX_SIZE, Access::Write, "statx(buf)");
    }
    pub(super) fn readlink_checked(path: *const u8, buf: *mut u8, size: usize) -> isize, READLINK as ReadlinkFn, {
        check_path(gpa(), path, "readlink(path)");
        range(buf, size, Access::Write, "readlink(buf)");
    }
    pub(super) fn getcwd_checked(buf: *mut u8, size: usize) -> *mut u8, GETCWD as GetcwdFn, {
        range(buf, size, Access::Write, "getcwd(buf)");
    }
    pub(super) fn getdents64_checked(fd: i32, buf: *mut u8, size: usize) -> isize, GETDENTS64 as GetdentsFn, {
        range(buf, size, Access::Write, "getdents64(dirp)");
    }
    pub(super) fn bind_checked(fd: i32, address: *const u8, len: u32) -> i32, BIND as AddrInFn, {
        check_address(gpa(), address, len as usize, &BIND_NAMES);
    }
    pub(super) fn connect_checked(fd: i32, address: *const u8, len: u32) -> i32, CONNECT as AddrInFn, {
        check_address(gpa(), address, len as usize, &CONNECT_NAMES);
    }
    pub(super) fn accept_checked(fd: i32, address: *mut u8, len: *mut u32) -> i32, ACCEPT as AddrOutFn, {
        check_address_out(gpa(), address, len, ("accept(addr)", "accept(addrlen_in)"));
    }
    pub(super) fn accept4_checked(fd: i32, address: *mut u8, len: *mut u32, flags: i32) -> i32, ACCEPT4 as Accept4Fn, {
        check_address_out(gpa(), address, len, ("accept4(addr)", "accept4(addrlen_in)"));
    }
    pub(super) fn getsockname_checked(fd: i32, address: *mut u8, len: *mut u32) -> i32, GETSOCKNAME as AddrOutFn, {
        check_address_out(gpa(), address, len, ("getsockname(name)", "getsockname(namelen_in)"));
    }
    pub(super) fn getpeername_checked(fd: i32, address: *mut u8, len: *mut u32) -> i32, GETPEERNAME as AddrOutFn, {
        check_address_out(gpa(), address, len, ("getpeername(name)", "getpeername(namelen_in)"));
    }
    pub(super) fn getsockopt_checked(fd: i32, level: i32, name: i32, value: *mut u8, len: *mut u32) -> i32, GETSOCKOPT as GetsockoptFn, {
        check_address_out(gpa(), value, len, ("getsockopt(optval)", "getsockopt(optlen)"));
    }
    pub(super) fn setsockopt_checked(fd: i32, level: i32, name: i32, value: *const u8, len: u32) -> i32, SETSOCKOPT as SetsockoptFn, {
        range(value, len as usize, Access::Read, "setsockopt(optval)");
    }
    pub(super) fn socketpair_checked(domain: i32, kind: i32, protocol: i32, fds: *mut i32) -> i32, SOCKETPAIR as SocketpairFn, {
        range(fds.cast(), FD_PAIR, Access::Write, "socketpair(sv)");
    }
    pub(super) fn pipe_checked(fds: *mut i32) -> i32, PIPE as PipeFn, {
        range(fds.cast(), FD_PAIR, Access::Write, "pipe(filedes)");
    }
    pub(super) fn pipe2_checked(fds: *mut i32, flags: i32) -> i32, PIPE2 as Pipe2Fn, {
        range(fds.cast(), FD_PAIR, Access::Write, "pipe2(filedes)");
    }
    pub(super) fn clock_gettime_checked(clock: i32, time: *mut u8) -> i32, CLOCK_GETTIME as ClockGettimeFn, {
        range(time, TWO_WORDS, Access::Write, "clock_gettime(tp)");
    }
    pub(super) fn gettimeofday_checked(time: *mut u8, zone: *mut u8) -> i32, GETTIMEOFDAY as GettimeofdayFn, {
        range(time, TWO_WORDS, Access::Write, "gettimeofday(tv)");
        range(zone, TIMEZONE_SIZE, Access::Write, "gettimeofday(tz)");
    }
    pub(super) fn nanosleep_checked(request: *const u8, remain: *mut u8) -> i32, NANOSLEEP as NanosleepFn, {
        range(request, TWO_WORDS, Access::Read, "nanosleep(rqtp)");
        range(remain, TWO_WORDS, Access::Write, "nanosleep(rmtp)");
    }
    pub(super) fn clock_nanosleep_checked(clock: i32, flags: i32, request: *const u8, remain: *mut u8) -> i32, CLOCK_NANOSLEEP as ClockNanosleepFn, {
        range(request, TWO_WORDS, Access::Read, "clock_nanosleep(rqtp)");
        range(remain, TWO_WORDS, Access::Write, "clock_nanosleep(rmtp)");
    }
    pub(super) fn getrlimit_checked(resource: i32, limit: *mut u8) -> i32, GETRLIMIT as RlimitFn, {
        range(limit, TWO_WORDS, Access::Write, "getrlimit(old_rlim)");
    }
    pub(super) fn setrlimit_checked(resource: i32, limit: *mut u8) -> i32, SETRLIMIT as RlimitFn, {
        range(limit, TWO_WORDS, Access::Read, "setrlimit(new_rlim)");
        crate::capi::process::confine::before_descriptor_limit(resource, limit as usize);
    }
    pub(super) fn prlimit_checked(pid: i32, resource: i32, new: *const u8, old: *mut u8) -> i32, PRLIMIT as PrlimitFn, {
        range(new, TWO_WORDS, Access::Read, "prlimit(new_rlim)");
        range(old, TWO_WORDS, Access::Write, "prlimit(old_rlim)");
        // SAFETY: no preconditions.
        if pid == 0 || pid == unsafe { libc::getpid() } {
            crate::capi::process::confine::before_descriptor_limit(resource, new as usize);
        }
    }
    pub(super) fn uname_checked(buf: *mut u8) -> i32, UNAME as OneBufferFn, {
        range(buf, UTSNAME_SIZE, Access::Write, "uname(buf)");
    }
    pub(super) fn sysinfo_checked(info: *mut u8) -> i32, SYSINFO as OneBufferFn, {
        range(info, SYSINFO_SIZE, Access::Write, "sysinfo(info)");
    }
    pub(super) fn getrandom_checked(buf: *mut u8, len: usize, flags: u32) -> isize, GETRANDOM as GetrandomFn, {
        range(buf, len, Access::Write, "getrandom(buf)");
    }
    pub(super) fn poll_checked(fds: *mut u8, count: u64, timeout: i32) -> i32, POLL as PollFn, {
        check_pollfds(gpa(), fds, count, &POLL_NAMES);
    }
    pub(super) fn ppoll_checked(fds: *mut u8, count: u64, timeout: *const u8, mask: *const u8) -> i32, PPOLL as PpollFn, {
        check_pollfds(gpa(), fds, count, &PPOLL_NAMES);
        range(timeout, TWO_WORDS, Access::Read, "ppoll(tsp)");
        range(mask, KERNEL_SIGSET, Access::Read, "ppoll(sigmask)");
    }
    pub(super) fn select_checked(nfds: i32, read: *mut u8, write: *mut u8, except: *mut u8, timeout: *mut u8) -> i32, SELECT as SelectFn, {
        let bytes = fd_set_bytes(nfds);
        range(read, bytes, Access::Read, "select(readfds)");
        range(write, bytes, Access::Read, "select(writefds)");
        range(except, bytes, Access::Read, "select(exceptfds)");
        range(timeout, TWO_WORDS, Access::Read, "select(timeout)");
    }
    pub(super) fn epoll_ctl_checked(epoll: i32, op: i32, fd: i32, event: *mut u8) -> i32, EPOLL_CTL as EpollCtlFn, {
        if op != EPOLL_CTL_DEL {
            range(event, 4, Access::Read, "epoll_ctl(event)");
        }
    }
    pub(super) fn epoll_wait_checked(epoll: i32, events: *mut u8, count: i32, timeout: i32) -> i32, EPOLL_WAIT as EpollWaitFn, {
        let len = usize::try_from(count).map_or(0, |n| n.saturating_mul(EPOLL_EVENT_SIZE));
        range(events, len, Access::Write, "epoll_wait(events)");
    }
    pub(super) fn epoll_pwait_checked(epoll: i32, events: *mut u8, count: i32, timeout: i32, mask: *const u8) -> i32, EPOLL_PWAIT as EpollPwaitFn, {
        let len = usize::try_from(count).map_or(0, |n| n.saturating_mul(EPOLL_EVENT_SIZE));
        range(events, len, Access::Write, "epoll_pwait(events)");
    }
    pub(super) fn ioctl_checked(fd: i32, request: u64, arg: *mut u8) -> i32, IOCTL as IoctlFn, {
        if request == FIONREAD {
            range(arg, 4, Access::Write, "ioctl(FIONREAD)");
        }
    }
}
