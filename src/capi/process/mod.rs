//! Every process of a run accounted for: which program images loaded the library (and so are
//! checked), which were started but cannot be checked, and why; and reports from processes
//! that end without running exit-time hooks.
//!
//! # Design
//! The preload library learns about processes from inside them, without `ptrace` (which
//! container runtimes and CI sandboxes often forbid, which a traced program such as `gdb` or
//! `strace` cannot be under twice, and which stops every process at each `fork` and `exec`).
//! Under `gpa run` (`GPA_REPORT_DIR` set, check mode) each process writes small event files
//! into the report directory ([`events`]), which `gpa run` reads after the program ends:
//!
//! * **start**: the library's constructor records the image (pid, parent, `argv[0]`, exe);
//!   a child of `fork` records itself from the `pthread_atfork` child handler;
//! * **exec**: the exported `execve`, `execv`, `execvp`, `execvpe`, `execveat`, `fexecve`
//!   (and `execl`, `execle`, `execlp` through them) put back in the new environment what the
//!   run set, when the program left it out (`environment`), inspect the target
//!   ([`inspect`]: statically linked, set-id, foreign ELF; and whether the new environment
//!   keeps `LD_PRELOAD` and `GPA_REPORT_DIR`) and record the verdict before calling the real
//!   `exec`; a failed `exec` removes it. An
//!   image replaced by `exec` first writes the findings recorded so far (no leak verdict:
//!   Valgrind gives none there either, and the memory is not leaked but discarded);
//! * **spawn**: `posix_spawn` and `posix_spawnp` put the environment right as `exec` does,
//!   and record the child and the verdict on its program;
//! * **shell**: glibc's `system`, `popen` and `wordexp` start `/bin/sh` with glibc's
//!   internal spawn and exec, which no export sees: they are interposed ([`shell`]) to give
//!   the shell the restored environment, so that it loads the library and records itself
//!   (`system` spawns it through the exported `posix_spawn`, recorded as a `spawn`);
//! * **report**: written at `exit`, at `_exit`/`_Exit` (interposed here: dash ends every
//!   `sh -c` with `_exit`, so `atexit` hooks never run), at `quick_exit`, and on a fatal
//!   signal.
//!
//! `gpa run` also inspects the program it starts, before starting it, with the same
//! [`inspect`]. What it cannot learn: processes started by a program that is not checked
//! (a static program's children), children created with the raw `clone`/`fork` system
//! calls rather than glibc's `fork` until they exit, exec or take a fatal signal (then
//! they are adopted: [`is_original_process`]), and programs started by a raw `execve`
//! system call.
//!
//! # Paths that stop leading to the report directory
//! `chroot`, and `unshare`, `setns` and `clone` that enter a new mount namespace (also made
//! through `syscall()`: [`syscall_watched`]), first hold the report directory open
//! ([`events`]); every exec and spawn here passes that descriptor on to the new image
//! ([`events::Passed`], `GPA_REPORT_FD`), and [`descriptors`] keeps `close_range` and
//! `closefrom` from closing it.
//!
//! # `vfork` children
//! dash, `posix_spawn` and others run the child of `vfork` (or `clone(CLONE_VM)`) in the
//! parent's memory, with the parent's other threads still running: such a child may call
//! `execve` and, when that fails, `_exit`. Here it must not allocate, take a lock or touch the
//! GPA. It is recognized by its process id: [`OWN_PID`] is the id of the process whose memory
//! this is (set at start-up and by the `fork` child handler), and the `getpid` system call
//! differs from it in a child sharing that memory. Such a child only writes its `exec` event
//! with raw system calls and stack buffers, and its `_exit` ends it directly. glibc's own
//! `posix_spawn`, `system`, `popen` and `wordexp` children call glibc's internal `execve` and
//! `_exit`, which this library never sees (their environment is put right before: [`shell`]).
//!
//! # Invariants
//! * `errno` is as the real call left it when an exec function returns.
//! * Code reachable from a `vfork` child ([`is_original_process`] false) allocates nothing.

pub mod confine;
pub mod daemon;
pub mod descriptors;
pub mod environment;
pub mod events;
pub mod inspect;
pub mod shell;
pub mod sys;
pub mod syscall;

use core::ffi::{c_char, c_int, c_long, c_void, CStr};
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU8, AtomicUsize, Ordering};

use super::settings::{self, SavedPath};
use events::Event;
use inspect::Reason;

/// The id of the process whose memory this is (0 before start-up).
static OWN_PID: AtomicI32 = AtomicI32::new(0);
/// This library's path, as the loader loaded it.
static LIBRARY: SavedPath = SavedPath::new();
/// `argv[0]` of this program image.
static PROGRAM: SavedPath = SavedPath::new();
/// The executable of this image (`/proc/self/exe`).
static EXE: SavedPath = SavedPath::new();

/// The real functions behind the exported ones that are not plain system calls.
#[derive(Clone, Copy)]
enum Real {
    Execvp,
    Execvpe,
    PosixSpawn,
    PosixSpawnp,
    System,
    Popen,
    Wordexp,
    Clone,
}

const REAL_NAMES: [&CStr; 8] = [
    c"execvp",
    c"execvpe",
    c"posix_spawn",
    c"posix_spawnp",
    c"system",
    c"popen",
    c"wordexp",
    c"clone",
];
static REAL: [AtomicUsize; 8] = [const { AtomicUsize::new(0) }; 8];

type ExecvpFn = unsafe extern "C" fn(*const c_char, *const *const c_char) -> c_int;
type ExecvpeFn =
    unsafe extern "C" fn(*const c_char, *const *const c_char, *const *const c_char) -> c_int;
type SpawnFn = unsafe extern "C" fn(
    *mut libc::pid_t,
    *const c_char,
    *const libc::posix_spawn_file_actions_t,
    *const libc::posix_spawnattr_t,
    *const *mut c_char,
    *const *mut c_char,
) -> c_int;

extern "C" {
    static environ: *const *const c_char;
}

/// The address of the next definition of `real` after this library (glibc's).
/// Resolved at start-up ([`on_start`]), so only a call before the constructor looks it up.
fn real(which: Real) -> usize {
    super::next_definition(&REAL[which as usize], REAL_NAMES[which as usize]).unwrap_or(0)
}

/// A byte in a `MADV_WIPEONFORK` page ([`sys::wipe_on_fork_page`]), set to 1 at start-up
/// and in every `fork` child: null when the kernel has no such advice.
static COPY_MARKER: AtomicPtr<AtomicU8> = AtomicPtr::new(core::ptr::null_mut());

/// Sets [`COPY_MARKER`]'s byte, mapping its page first if needed.
fn arm_copy_marker() {
    let mut marker = COPY_MARKER.load(Ordering::Acquire);
    if marker.is_null() {
        let Some(page) = sys::wipe_on_fork_page() else {
            return;
        };
        marker = page.as_ptr().cast();
        COPY_MARKER.store(marker, Ordering::Release);
    }
    // SAFETY: `marker` points into the page mapped above, never unmapped; `AtomicU8` has the
    // layout of `u8`.
    unsafe { (*marker).store(1, Ordering::Release) };
}

/// Whether this process is a copy of the one whose memory this was, made without glibc's
/// `fork` (so without its `pthread_atfork` child handler): `clone` without `CLONE_VM`, or a
/// raw `clone`/`fork` system call. The wipe-on-fork page reads 0 in a copy, and 1 in a child
/// sharing the memory (`vfork`).
fn is_unannounced_copy() -> bool {
    let marker = COPY_MARKER.load(Ordering::Acquire);
    // SAFETY: a non-null marker points into a page mapped for the life of the process.
    !marker.is_null() && unsafe { (*marker).load(Ordering::Acquire) } == 0
}

/// Whether this runs in a child that shares its parent's memory (`vfork`, `clone(CLONE_VM)`
/// without a thread's flags): its pid is not the one this memory belongs to and it is not a
/// copy ([`is_unannounced_copy`]). Unlike [`is_original_process`], changes nothing.
pub fn shares_parent_memory() -> bool {
    let own = OWN_PID.load(Ordering::Relaxed);
    own != 0 && sys::getpid() != own && !is_unannounced_copy()
}

/// Whether this runs in the process whose memory this is (false in a `vfork` child).
///
/// A fork-like child that glibc's `fork` did not make (its pid differs, but its memory is a
/// copy: [`is_unannounced_copy`]) becomes a process of its own here, at the first call (its
/// exit, exec or fatal signal), as the `fork` child handler would have made it: Valgrind
/// follows such children as forks, and before they were neither checked nor listed.
pub fn is_original_process() -> bool {
    let own = OWN_PID.load(Ordering::Relaxed);
    if own == 0 {
        return true;
    }
    let pid = sys::getpid();
    if own == pid {
        return true;
    }
    if !is_unannounced_copy() {
        return false;
    }
    // One thread adopts the copy; another calling at the same time sees the new id.
    if OWN_PID
        .compare_exchange(own, pid, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        super::gpa().adopt_heaps_after_fork();
        became_own_process();
    }
    true
}

fn checking() -> bool {
    super::state().settings.mode.checks()
}

/// `argv[0]` of this image, as it was at start-up.
pub fn program() -> Option<&'static [u8]> {
    PROGRAM.get()
}

/// Start-up (the library's constructor): remembers who this is, resolves the real exec and
/// spawn functions, and records the `start` event under `gpa run`.
pub fn on_start() {
    OWN_PID.store(sys::getpid(), Ordering::Relaxed);
    arm_copy_marker();
    for which in [
        Real::Execvp,
        Real::Execvpe,
        Real::PosixSpawn,
        Real::PosixSpawnp,
    ] {
        // `system`, `popen` and `wordexp` are resolved at their first call: no `vfork`
        // child calls them, and start-up stays as short as it was.
        real(which);
    }
    descriptors::resolve();
    save_identity();
    // SAFETY: `environ` is null or the null-terminated environment; nothing changes it
    // while the constructor runs.
    unsafe { environment::save(environment()) };
    if settings::REPORT_DIR.get().is_some() {
        // A descriptor of the report directory an image in another mount namespace passed on.
        if let Some(value) = settings::env_bytes(c"GPA_REPORT_FD") {
            events::adopt_passed(value);
        }
    }
    if checking() {
        record_self("start");
    }
}

fn save_identity() {
    let mut buffer = [0u8; settings::PATH_CAPACITY];
    // SAFETY: `dladdr` fills `info` for an address inside this library; `dli_fname` is then
    // null or a NUL-terminated string owned by the loader.
    unsafe {
        let mut info: libc::Dl_info = core::mem::zeroed();
        if libc::dladdr(on_start as *const libc::c_void, &mut info) != 0
            && !info.dli_fname.is_null()
        {
            LIBRARY.save(&[CStr::from_ptr(info.dli_fname).to_bytes()]);
        }
    }
    let len = sys::readlink(c"/proc/self/exe", &mut buffer);
    if len != 0 {
        EXE.save(&[&buffer[..len]]);
    }
    if let Ok(file) = sys::Fd::open_read(c"/proc/self/cmdline") {
        let got = file.read_at(&mut buffer, 0);
        let first = &buffer[..got];
        let end = first.iter().position(|&byte| byte == 0).unwrap_or(got);
        PROGRAM.save(&[&first[..end]]);
    }
}

fn record_self(kind: &str) {
    let Some(dir) = settings::REPORT_DIR.get() else {
        return;
    };
    if confine::events_stopped() {
        return;
    }
    let mut event = Event::new(kind);
    event.field("program", PROGRAM.get().unwrap_or_default());
    event.field("exe", EXE.get().unwrap_or_default());
    events::record(dir, &event);
}

/// Threads of the process when it last prepared to `fork` (in the child: its parent's).
static THREADS_AT_FORK: AtomicUsize = AtomicUsize::new(1);

/// Before `fork` (the `pthread_atfork` prepare handler): counts the process's threads (in
/// check mode: only its checks need the number).
pub fn before_fork() {
    if checking() {
        THREADS_AT_FORK.store(sys::thread_count(), Ordering::Relaxed);
    }
}

/// Whether this is the child of a `fork` made while other threads ran. Their copies in the
/// child stopped wherever they were: a block one of them had allocated but not finished
/// setting up (its front guard not yet written) is torn, so checks of inherited live blocks
/// would report mistakes nobody made.
pub fn forked_from_threads() -> bool {
    THREADS_AT_FORK.load(Ordering::Relaxed) > 1
}

/// In the child of `fork` (the `pthread_atfork` child handler): this is now its own process,
/// whose findings start empty (those recorded before the fork are the parent's to report).
pub fn on_fork_child() {
    let pid = sys::getpid();
    if OWN_PID.swap(pid, Ordering::AcqRel) == pid {
        // Adopted already ([`is_original_process`], from an earlier child handler).
        return;
    }
    became_own_process();
}

/// What a child made as a copy of this process does once [`OWN_PID`] is its own id: its
/// findings start empty (those recorded before are the parent's to report), and under
/// `gpa run` it records itself.
fn became_own_process() {
    arm_copy_marker();
    // Descriptors held for the parent's report name the parent (`confine`).
    crate::os::after_fork_child();
    events::forget_reserved_report();
    if checking() {
        // A `clone()` child may run on a small stack of the program's: the event takes
        // about 11 KiB of stack (its buffer and a path).
        crate::os::stack::on_own_stack(|| {
            drop(super::gpa().take_raw_findings());
            record_self("fork");
        });
    }
}

/// The function a `clone` child runs and its argument, as the program gave them to `clone`.
#[derive(Clone, Copy)]
struct ChildCall {
    function: CloneFn,
    argument: *mut c_void,
}

/// The function type `clone` runs in the child.
pub type CloneFn = unsafe extern "C" fn(*mut c_void) -> c_int;

type RealCloneFn = unsafe extern "C" fn(
    CloneFn,
    *mut c_void,
    c_int,
    *mut c_void,
    *mut libc::pid_t,
    *mut c_void,
    *mut libc::pid_t,
) -> c_int;

/// C `clone` (glibc's wrapper of the system call; x86-64, where the shim can take its
/// variadic tail as fixed arguments).
///
/// A child made without `CLONE_VM` is a copy of this process, adopted at its `exit`, `exec`
/// or fatal signal ([`is_original_process`]). But when its function *returns*, glibc's wrapper
/// ends it with the raw `exit` system call, which no export sees: the child was neither
/// checked nor listed (`life_clone_return.c`: Valgrind reports its 64 bytes definitely lost).
/// So, in check mode and when profiling, such a child runs [`clone_child`] around the
/// program's function, which ends it as `_exit` with the function's result does (the report
/// first, [`exit_now`]). A child sharing the memory (`CLONE_VM`: a thread or a `vfork`-like
/// child) runs the program's function as given.
///
/// # Safety
/// As for C's `clone`; `parent_tid`, `tls` and `child_tid` are what the caller passed, or
/// whatever the registers and stack slot hold when it passed fewer (glibc reads them only for
/// the flags that name them, as here).
pub unsafe fn clone(
    function: CloneFn,
    stack: *mut c_void,
    flags: c_int,
    argument: *mut c_void,
    parent_tid: *mut libc::pid_t,
    tls: *mut c_void,
    child_tid: *mut libc::pid_t,
) -> c_int {
    let real = real(Real::Clone);
    if real == 0 {
        sys::set_errno(libc::ENOSYS);
        return -1;
    }
    // SAFETY: glibc's `clone`, the address `real` resolved.
    let real = unsafe { core::mem::transmute::<usize, RealCloneFn>(real) };
    // A child in a new mount namespace holds the report directory open (see [`unshare`]);
    // this process, which stays where it was, lets it go again unless the child shares its
    // memory or descriptors.
    let lend = flags & libc::CLONE_NEWNS != 0 && events::held().is_none();
    if lend {
        before_paths_change();
    }
    // SAFETY: caller contract.
    let child = unsafe {
        clone_as_asked(
            real, function, stack, flags, argument, parent_tid, tls, child_tid,
        )
    };
    if lend && flags & (libc::CLONE_VM | libc::CLONE_FILES) == 0 {
        let errno = sys::errno();
        events::release();
        sys::set_errno(errno);
    }
    child
}

/// [`clone`] once the real function is known.
///
/// # Safety
/// As for [`clone`].
#[allow(clippy::too_many_arguments)]
unsafe fn clone_as_asked(
    real: RealCloneFn,
    function: CloneFn,
    stack: *mut c_void,
    flags: c_int,
    argument: *mut c_void,
    parent_tid: *mut libc::pid_t,
    tls: *mut c_void,
    child_tid: *mut libc::pid_t,
) -> c_int {
    let copies_memory = flags & libc::CLONE_VM == 0;
    if !copies_memory || !(checking() || super::profile::active()) {
        // SAFETY: the caller's arguments, as given.
        return unsafe { real(function, stack, flags, argument, parent_tid, tls, child_tid) };
    }
    // In this frame until `clone` returns here; the child gets a copy of this memory as it is
    // at the system call, and reads its copy.
    let call = ChildCall { function, argument };
    let call_address = core::ptr::addr_of!(call) as *mut c_void;
    // SAFETY: the caller's arguments, with the child's function wrapped; `call` outlives the
    // call in this process and is copied into the child.
    unsafe {
        real(
            clone_child,
            stack,
            flags,
            call_address,
            parent_tid,
            tls,
            child_tid,
        )
    }
}

/// Runs in a `clone` child that copies the memory ([`clone`]): the program's function, then
/// the end of the process with its result as the exit status, the report first (as glibc's
/// wrapper ends it with that status, by the `exit` system call).
///
/// The child's only thread is this one unless the program's function started others and
/// returned while they run; then, where the raw `exit` would have ended this thread alone,
/// this ends them all (not seen in a program; listed in docs/c_abi.md).
extern "C" fn clone_child(call: *mut c_void) -> c_int {
    // SAFETY: `call` is the child's copy of the `ChildCall` in `clone`'s frame.
    let call = unsafe { *call.cast::<ChildCall>() };
    // SAFETY: the program's function with its argument, as it asked `clone` to run it.
    let status = unsafe { (call.function)(call.argument) };
    exit_now(status)
}

/// Seconds the report at `_exit` may take before the process ends without it.
pub const EXIT_REPORT_DEADLINE: u32 = 30;

/// `_exit` and `_Exit`: the report first (in check mode, unless this is a `vfork` child),
/// then the end of the process with `status`.
///
/// `_exit` is async-signal-safe, and programs call it from signal handlers; if the signal
/// interrupted a thread holding a lock the report needs, the report would wait forever. So
/// the report runs under a deadline ([`EXIT_REPORT_DEADLINE`]): past it, the process ends
/// with `status` anyway, and `gpa run` lists it as not checked (`no_report`). LeakSanitizer
/// also checks for leaks in its `_exit` interceptor.
pub fn exit_now(status: c_int) -> ! {
    // Under a seccomp filter that would kill the report's system calls, the process ends as
    // it would have, without them (`confine::report_left_out`).
    if is_original_process()
        && (checking() || super::profile::active())
        && confine::report_left_out()
    {
        sys::exit_group(status)
    }
    if is_original_process() && super::profile::active() {
        sys::end_after(EXIT_REPORT_DEADLINE, status);
        super::profile::write_at_end();
    }
    if is_original_process() && checking() {
        sys::end_after(EXIT_REPORT_DEADLINE, status);
        super::exit::report_at_end(super::exit::Ending::UnderscoreExit(status));
    }
    sys::exit_group(status)
}

/// Before `exec` of `target` with `argv` and `envp`: the image's findings (when it is the
/// original process) and the `exec` event. The event's number, to remove it if `exec` fails.
///
/// # Safety
/// `argv` and `envp` are null or null-terminated arrays of C strings.
unsafe fn before_exec(
    target: Option<&CStr>,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> Option<u32> {
    if !checking() {
        // Profiling in fast mode may hold the report directory open (for the profile files):
        // a program that will not load the library gets none of it.
        // SAFETY: caller contract.
        if events::held().is_some() && unsafe { verdict(target, envp) }.is_some() {
            events::withhold_from_exec();
        }
        return None;
    }
    let original = is_original_process();
    if original && !confine::report_left_out() {
        super::exit::report_before_exec();
    }
    let dir = settings::REPORT_DIR.get()?;
    if confine::events_stopped() {
        return None;
    }
    let mut event = Event::new("exec");
    // SAFETY: caller contract.
    let verdict = unsafe { verdict(target, envp) };
    event.field("target", target.map_or(&[][..], CStr::to_bytes));
    // SAFETY: caller contract.
    event.field("program", unsafe { first(argv) });
    event.verdict(verdict);
    if verdict.is_some() {
        // No library to take it: the program gets no descriptor of gpa's.
        events::withhold_from_exec();
    }
    if !original {
        event.number("vfork", 1);
    }
    events::record(dir, &event)
}

/// Why a program started with `envp` will not be checked (`None`: it will).
///
/// # Safety
/// `envp` is null or a null-terminated array of C strings.
unsafe fn verdict(target: Option<&CStr>, envp: *const *const c_char) -> Option<Reason> {
    let from_file = target
        .and_then(|target| inspect::inspect(target).ok())
        .and_then(|program| program.unchecked);
    from_file.or_else(|| {
        let library = LIBRARY.get()?;
        // SAFETY: caller contract.
        unsafe { inspect::environment_verdict(envp, library, settings::REPORT_DIR.get()) }
    })
}

/// The first string of a null-terminated array (empty when there is none).
///
/// # Safety
/// `argv` is null or a null-terminated array of C strings.
unsafe fn first<'a>(argv: *const *const c_char) -> &'a [u8] {
    if argv.is_null() {
        return &[];
    }
    // SAFETY: caller contract.
    unsafe {
        let first = *argv;
        if first.is_null() {
            &[]
        } else {
            CStr::from_ptr(first).to_bytes()
        }
    }
}

/// `chroot(path)`: first what the report will need and cannot reach from the new root
/// ([`confine::before_confinement`]): under `gpa run` (`GPA_REPORT_DIR` set) the report
/// directory is opened ([`events::keep_open`]): a process in a jail (sshd's
/// privilege-separated child, a build sandbox) was not checked; in check and guard modes
/// descriptors on `/proc` and on the process's `maps` (a jail rarely has `/proc`: the leak
/// scan then had no roots, and a block held by a global was "definitely lost") and the loaded
/// objects' symbols and debug information, for the report's frames. Then the system call
/// itself, as glibc's `chroot` makes it (`-1` and `errno` on failure). Costs a few `open`s and
/// `fcntl`s, and in check and guard modes the symbolization's reading of every loaded object,
/// in the first `chroot` of a process.
///
/// # Safety
/// As for C's `chroot`: `path` is a NUL-terminated string (or an address the kernel
/// rejects with `EFAULT`).
pub unsafe fn chroot(path: *const c_char) -> c_int {
    confine::before_confinement(confine::Confinement::Root);
    // SAFETY: the caller's argument, passed to the system call glibc's `chroot` makes.
    unsafe { syscall::raw(libc::SYS_chroot, [path as c_long, 0, 0, 0, 0, 0]) as c_int }
}

/// The `execve` system call itself (never through the C library's `syscall`, which this
/// library interposes: [`syscall`]).
///
/// # Safety
/// As for the system call: the kernel checks the pointers (`EFAULT`).
unsafe fn raw_execve(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    let args = [path as c_long, argv as c_long, envp as c_long, 0, 0, 0];
    // SAFETY: caller contract.
    unsafe { syscall::raw(libc::SYS_execve, args) as c_int }
}

/// The `execveat` system call itself (see [`raw_execve`]).
///
/// # Safety
/// As for the system call: the kernel checks the pointers (`EFAULT`).
unsafe fn raw_execveat(
    dirfd: c_int,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    flags: c_int,
) -> c_int {
    let args = [
        c_long::from(dirfd),
        path as c_long,
        argv as c_long,
        envp as c_long,
        c_long::from(flags),
        0,
    ];
    // SAFETY: caller contract.
    unsafe { syscall::raw(libc::SYS_execveat, args) as c_int }
}

/// Whether the loaded objects' files have been opened ([`before_paths_change`]).
static OBJECTS_OPENED: AtomicBool = AtomicBool::new(false);

/// Before the process's paths may stop leading where they led (`chroot`, `pivot_root`, a new
/// mount namespace): under `gpa run` the report directory is held open
/// ([`events::keep_open`]), and in check and guard modes the loaded objects' files are
/// opened, for the report's frames (a new root or a filter also holds `/proc`:
/// [`confine::before_confinement`]): a tmpfs over the directory that holds the program
/// (`life_mountns self`) or a new root leaves their paths leading nowhere, where Valgrind,
/// which reads them as they load, names the frames. Once per process: it costs what
/// symbolizing a frame in each object costs (`gpa run -- unshare -m true`: 66 ms of CPU in
/// all, against 6 ms for `unshare -U true`). `errno` is kept. Nothing but an `fstat` once
/// both are done.
pub(super) fn before_paths_change() {
    let errno = sys::errno();
    if checking() && is_original_process() && !OBJECTS_OPENED.swap(true, Ordering::AcqRel) {
        // Allocations to gpa's own heap.
        let _inside = crate::gpa::InsideAllocator::enter();
        crate::report::symbolize::open_loaded_objects();
    }
    if let Some(dir) = settings::REPORT_DIR.get() {
        // Fast mode without a profile writes nothing there.
        if (checking() || super::profile::active()) && events::held().is_none() {
            events::keep_open(dir);
        }
    }
    sys::set_errno(errno);
}

/// Before `unshare(flags)` with `CLONE_NEWNS`: with `CLONE_NEWPID` too, the caller will share
/// its new mount namespace with the new PID namespace's processes, one of which may mount
/// that namespace's `/proc` (`unshare -p -f --mount-proc`): `/proc` is held first, so that
/// the caller's exit scan still reads its memory map (before: "leaks not checked", where
/// Valgrind checks them; lifecycle.md item 15). Check mode only.
fn before_pid_namespace(flags: c_int) {
    if flags & libc::CLONE_NEWPID != 0 && checking() {
        let errno = sys::errno();
        crate::os::keep_proc_dir();
        sys::set_errno(errno);
    }
}

/// Whether `setns` with `nstype` may enter a mount namespace (`0`: whatever namespace the
/// descriptor names; a pidfd with `CLONE_NEWNS` among the kinds).
fn may_enter_mount_namespace(nstype: c_int) -> bool {
    nstype == 0 || nstype & libc::CLONE_NEWNS != 0
}

/// `unshare(flags)`: with `CLONE_NEWNS`, under `gpa run`, the report directory is held open
/// first and passed on to the programs the process `exec`s ([`events`]): a process in a new
/// mount namespace, and what it starts, lose the directory's path once something is mounted
/// over it (`unshare -m sh -c 'mount -t tmpfs none /tmp; ...'`, sandboxes). Then the system
/// call, as glibc's `unshare` makes it.
///
/// # Safety
/// As for C's `unshare` (none beyond the system call's).
pub unsafe fn unshare(flags: c_int) -> c_int {
    if flags & libc::CLONE_NEWNS != 0 {
        before_pid_namespace(flags);
        before_paths_change();
    }
    // SAFETY: the caller's argument, passed to the system call glibc's `unshare` makes.
    unsafe { syscall::raw(libc::SYS_unshare, [c_long::from(flags), 0, 0, 0, 0, 0]) as c_int }
}

/// `setns(fd, nstype)`: when it may enter a mount namespace, as [`unshare`] (the process's
/// root and paths become the namespace's: `nsenter -m`, `docker exec`-like tools).
///
/// # Safety
/// As for C's `setns` (none beyond the system call's).
pub unsafe fn setns(fd: c_int, nstype: c_int) -> c_int {
    if may_enter_mount_namespace(nstype) {
        before_paths_change();
    }
    // SAFETY: the caller's arguments, passed to the system call glibc's `setns` makes.
    unsafe {
        syscall::raw(
            libc::SYS_setns,
            [c_long::from(fd), c_long::from(nstype), 0, 0, 0, 0],
        ) as c_int
    }
}

/// The end of C `syscall` when the system call failed: `errno` set to `code`, -1 returned
/// (the exported `syscall`'s error path jumps here, `capi/src/lib.rs`).
pub extern "C" fn syscall_failed(code: libc::c_long) -> libc::c_long {
    sys::set_errno(code as i32);
    -1
}

/// C `syscall` for the calls gpa must see when programs make them by number, not through
/// glibc's wrappers. Those that change what paths lead to (bubblewrap's `clone` with
/// `CLONE_NEWNS`, its `unshare`; `clone3` with it, as container runtimes make it; `setns`, `chroot`, `pivot_root`): as the wrappers
/// [`unshare`], [`setns`], [`chroot`] and [`clone`] do, the report directory is held open
/// first. Those that confine the process (`seccomp` installing a filter, as libseccomp does;
/// `landlock_restrict_self`): what the report will need is taken first
/// ([`confine::before_confinement`]). `exit_group` ends through `_exit`'s report
/// ([`exit_now`]); `execve` and `execveat` go through gpa's wrappers, so the `exec` is
/// recorded and the program started is listed (lifecycle.md item 4). The exported `syscall`
/// (`capi/src/lib.rs`) comes here only for these; every other call is the system call alone,
/// as in glibc's.
///
/// A raw `clone` child returns from here on a copy of this frame (its memory is a copy:
/// `CLONE_VM` with a new stack cannot return from any `syscall` wrapper, glibc's included).
///
/// # Safety
/// As for the system call `number` with these arguments.
#[cfg(target_arch = "x86_64")]
pub unsafe extern "C" fn syscall_watched(
    number: libc::c_long,
    a1: libc::c_long,
    a2: libc::c_long,
    a3: libc::c_long,
    a4: libc::c_long,
    a5: libc::c_long,
    a6: libc::c_long,
) -> libc::c_long {
    let mut lend = false;
    match number {
        libc::SYS_clone => {
            let flags = a1 as c_int;
            if flags & libc::CLONE_NEWNS != 0 && events::held().is_none() {
                before_paths_change();
                lend = flags & (libc::CLONE_VM | libc::CLONE_FILES) == 0;
            }
        }
        // Container runtimes (crun) make `clone3` by number; its flags are the first field
        // of the `clone_args` it points to (read only where readable: a bad pointer is the
        // kernel's `EFAULT` to give).
        libc::SYS_clone3 => {
            let args = a1 as usize;
            let fits = a2 as usize >= core::mem::size_of::<u64>() && args % 8 == 0;
            if fits && args != 0 && crate::os::readable(args) {
                // SAFETY: an aligned, readable `u64`: `clone_args.flags`.
                let flags = unsafe { (args as *const u64).read_volatile() };
                if flags & libc::CLONE_NEWNS as u64 != 0 && events::held().is_none() {
                    before_paths_change();
                    lend = flags & (libc::CLONE_VM | libc::CLONE_FILES) as u64 == 0;
                }
            }
        }
        libc::SYS_unshare if a1 as c_int & libc::CLONE_NEWNS != 0 => {
            before_pid_namespace(a1 as c_int);
            before_paths_change();
        }
        libc::SYS_setns if may_enter_mount_namespace(a2 as c_int) => before_paths_change(),
        libc::SYS_chroot | libc::SYS_pivot_root => {
            confine::before_confinement(confine::Confinement::Root);
        }
        libc::SYS_seccomp if confine::SECCOMP_SET_MODES.contains(&(a1 as libc::c_ulong)) => {
            confine::before_confinement(confine::Confinement::Filter);
            let pending = confine::stopped_by_mode(
                a1 as libc::c_ulong == confine::SECCOMP_SET_MODES[0],
                a3 as usize,
            );
            // SAFETY: caller contract.
            let result = unsafe { syscall::raw(number, [a1, a2, a3, a4, a5, a6]) };
            // A filter made with `SECCOMP_FILTER_FLAG_NEW_LISTENER` returns a descriptor;
            // one made with `SECCOMP_FILTER_FLAG_TSYNC` (without `_TSYNC_ESRCH`) returns the
            // id of a thread it could not join, and is not installed.
            let tsync = a2 & 1 != 0 && a2 & 16 == 0;
            pending.settle(result == 0 || (result > 0 && !tsync));
            return result;
        }
        libc::SYS_landlock_restrict_self => {
            confine::before_confinement(confine::Confinement::Filter);
        }
        libc::SYS_setrlimit => confine::before_descriptor_limit(a1 as c_int, a2 as usize),
        libc::SYS_prlimit64 if a1 == 0 || a1 == sys::getpid() as libc::c_long => {
            confine::before_descriptor_limit(a2 as c_int, a3 as usize);
        }
        // The report, as at `_exit` (lifecycle.md item 4).
        libc::SYS_exit_group => exit_now(a1 as c_int),
        // gpa's held descriptors stay open (lifecycle.md item 14).
        libc::SYS_close | libc::SYS_close_range | libc::SYS_dup2 | libc::SYS_dup3 => {
            if let Some(result) = descriptors::by_number(number, a1, a2, a3) {
                return result;
            }
        }
        libc::SYS_execve => {
            // SAFETY: caller contract: the arguments of `execve` (the kernel checks them).
            let result = unsafe {
                execve(
                    a1 as *const c_char,
                    a2 as *const *const c_char,
                    a3 as *const *const c_char,
                )
            };
            return c_long::from(result);
        }
        libc::SYS_execveat => {
            // SAFETY: as above, for `execveat`.
            let result = unsafe {
                execveat(
                    a1 as c_int,
                    a2 as *const c_char,
                    a3 as *const *const c_char,
                    a4 as *const *const c_char,
                    a5 as c_int,
                )
            };
            return c_long::from(result);
        }
        _ => {}
    }
    // SAFETY: caller contract.
    let result = unsafe { syscall::raw(number, [a1, a2, a3, a4, a5, a6]) };
    if lend && result != 0 {
        // The parent (or a failed clone): the child holds its own copy.
        events::release();
    }
    result
}

/// After an `exec` that returned (failed): its event is removed; `errno` is kept.
fn after_failed_exec(event: Option<u32>) {
    let (Some(n), Some(dir)) = (event, settings::REPORT_DIR.get()) else {
        return;
    };
    let errno = sys::errno();
    events::remove(dir, n);
    sys::set_errno(errno);
}

/// Where `execvp` will find `file`: as is when it has a slash, else the first executable
/// `PATH` entry (the caller's `PATH`, as glibc searches it; `/bin:/usr/bin` when unset).
fn search_path(file: &CStr) -> Option<sys::PathBuf> {
    let name = file.to_bytes();
    if name.is_empty() {
        return None;
    }
    if name.contains(&b'/') {
        return sys::PathBuf::join(&[name]);
    }
    let path = settings::env_bytes(c"PATH").unwrap_or(b"/bin:/usr/bin");
    path.split(|&byte| byte == b':').find_map(|dir| {
        let dir = if dir.is_empty() { &b"."[..] } else { dir };
        let candidate = sys::PathBuf::join(&[dir, b"/", name])?;
        let regular = sys::stat(candidate.as_c())
            .is_some_and(|stat| stat.st_mode & libc::S_IFMT != libc::S_IFDIR);
        (regular && sys::executable(candidate.as_c()).is_ok()).then_some(candidate)
    })
}

/// The process's environment (`environ`).
fn environment() -> *const *const c_char {
    // SAFETY: `environ` is glibc's variable; reading the pointer is always valid.
    unsafe { core::ptr::addr_of!(environ).read() }
}

/// The parameter names of an exec call, for its check: the call, then the name of its path
/// parameter.
macro_rules! exec_names {
    ($call:literal, $path:literal) => {
        super::libc_calls::ExecNames {
            filename: concat!($call, "(", $path, ")"),
            argv: concat!($call, "(argv)"),
            argv_item: concat!($call, "(argv[i])"),
            envp: concat!($call, "(envp)"),
            envp_item: concat!($call, "(envp[i])"),
        }
    };
}

/// Checks an exec call's arguments (check and guard modes; `libc_calls::check_exec`).
fn check_exec(
    path: Option<*const c_char>,
    argv: *const *const c_char,
    envp: *const *const c_char,
    names: &super::libc_calls::ExecNames,
) {
    super::libc_calls::check_exec(
        path.map(<*const c_char>::cast),
        argv.cast(),
        envp.cast(),
        names,
    );
}

/// C `execve`: records the exec, then the system call.
///
/// # Safety
/// As for C's `execve`.
pub unsafe fn execve(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    check_exec(Some(path), argv, envp, &exec_names!("execve", "filename"));
    // SAFETY: caller contract.
    unsafe { execve_checked(path, argv, envp) }
}

/// [`execve`] once its arguments are checked.
///
/// # Safety
/// As for C's `execve`.
unsafe fn execve_checked(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    if refused(path, argv, envp) {
        // SAFETY: the kernel checks every pointer and fails with `EFAULT`.
        return unsafe { raw_execve(path, argv, envp) };
    }
    // SAFETY: caller contract.
    unsafe {
        environment::with_restored(envp, |envp| {
            let errno = sys::errno();
            // SAFETY: caller contract: `path` is a C string (or null, which execve rejects).
            let target = (!path.is_null()).then(|| CStr::from_ptr(path));
            let event = before_exec(target, argv, envp);
            sys::set_errno(errno);
            // The system call is what glibc's `execve` makes.
            let result = raw_execve(path, argv, envp);
            after_failed_exec(event);
            result
        })
    }
}

/// Whether the kernel will refuse an exec of `path` with `argv` and `envp` with `EFAULT`
/// (a null path, or one of them or their strings unreadable: Valgrind's `execve1.c`). Such
/// an exec is passed to the kernel untouched: restoring the environment or recording the
/// exec would read those pointers and fault, killing a program that, without gpa and under
/// Valgrind, gets `-1` and goes on. Costs a `process_vm_readv` per page the arrays and
/// strings touch; an exec costs far more.
fn refused(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> bool {
    !sys::c_string_readable(path)
        || !sys::c_strings_readable(argv)
        || !sys::c_strings_readable(envp)
}

/// C `execveat`: records the exec of the file `dirfd` and `path` name, then the system call.
///
/// # Safety
/// As for C's `execveat`.
pub unsafe fn execveat(
    dirfd: c_int,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    flags: c_int,
) -> c_int {
    check_exec(Some(path), argv, envp, &exec_names!("execveat", "filename"));
    // SAFETY: caller contract.
    unsafe { execveat_checked(dirfd, path, argv, envp, flags) }
}

/// [`execveat`] once its arguments are checked.
///
/// # Safety
/// As for C's `execveat`.
unsafe fn execveat_checked(
    dirfd: c_int,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    flags: c_int,
) -> c_int {
    if refused(path, argv, envp) {
        // SAFETY: the kernel checks every pointer and fails with `EFAULT`.
        return unsafe { raw_execveat(dirfd, path, argv, envp, flags) };
    }
    // SAFETY: caller contract.
    unsafe {
        environment::with_restored(envp, |envp| {
            let errno = sys::errno();
            // SAFETY: caller contract: `path` is a C string (or null, which execveat rejects).
            let name = (!path.is_null()).then(|| CStr::from_ptr(path).to_bytes());
            let target = name.and_then(|name| at_path(dirfd, name, flags));
            let event = before_exec(target.as_ref().map(sys::PathBuf::as_c), argv, envp);
            sys::set_errno(errno);
            let result = raw_execveat(dirfd, path, argv, envp, flags);
            after_failed_exec(event);
            result
        })
    }
}

/// C `fexecve`: `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`, or, on kernels without
/// `execveat`, `execve` of `/proc/self/fd/FD` (as glibc does).
///
/// # Safety
/// As for C's `fexecve`.
pub unsafe fn fexecve(fd: c_int, argv: *const *const c_char, envp: *const *const c_char) -> c_int {
    check_exec(None, argv, envp, &exec_names!("fexecve", "fd"));
    // SAFETY: caller contract.
    let result = unsafe { execveat_checked(fd, c"".as_ptr(), argv, envp, libc::AT_EMPTY_PATH) };
    if result == -1 && sys::errno() == libc::ENOSYS {
        let mut digits = [0u8; 20];
        if let Some(path) =
            sys::PathBuf::join(&[b"/proc/self/fd/", sys::decimal(fd as u64, &mut digits)])
        {
            // SAFETY: caller contract; `path` is a C string.
            return unsafe { execve_checked(path.as_c().as_ptr(), argv, envp) };
        }
    }
    result
}

/// The file `execveat(dirfd, name, ..., flags)` runs, as a path [`inspect`] can open.
fn at_path(dirfd: c_int, name: &[u8], flags: c_int) -> Option<sys::PathBuf> {
    let mut digits = [0u8; 20];
    if name.first() == Some(&b'/') || (dirfd == libc::AT_FDCWD && !name.is_empty()) {
        return sys::PathBuf::join(&[name]);
    }
    if dirfd < 0 {
        return None;
    }
    let fd = sys::decimal(dirfd as u64, &mut digits);
    if name.is_empty() {
        (flags & libc::AT_EMPTY_PATH != 0).then(|| sys::PathBuf::join(&[b"/proc/self/fd/", fd]))?
    } else {
        sys::PathBuf::join(&[b"/proc/self/fd/", fd, b"/", name])
    }
}

/// C `execv`: `execve` with the process's environment.
///
/// # Safety
/// As for C's `execv`.
pub unsafe fn execv(path: *const c_char, argv: *const *const c_char) -> c_int {
    let envp = environment();
    check_exec(Some(path), argv, envp, &exec_names!("execv", "filename"));
    // SAFETY: caller contract.
    unsafe { execve_checked(path, argv, envp) }
}

/// C `execvp`: records the exec of the program `PATH` leads to, then glibc's `execvp`.
///
/// # Safety
/// As for C's `execvp`.
pub unsafe fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int {
    let envp = environment();
    check_exec(Some(file), argv, envp, &exec_names!("execvp", "file"));
    // SAFETY: caller contract.
    unsafe { execvpe_checked(file, argv, envp) }
}

/// C `execvpe`: as [`execvp`], with `envp`.
///
/// # Safety
/// As for C's `execvpe`.
pub unsafe fn execvpe(
    file: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    check_exec(Some(file), argv, envp, &exec_names!("execvpe", "file"));
    // SAFETY: caller contract.
    unsafe { execvpe_checked(file, argv, envp) }
}

/// [`execvpe`] once its arguments are checked.
///
/// # Safety
/// As for C's `execvpe`.
unsafe fn execvpe_checked(
    file: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    if refused(file, argv, envp) {
        // Handed to glibc untouched: reading them here would fault inside gpa (glibc's own
        // reads are the program's, as without gpa).
        return match real(Real::Execvpe) {
            0 => {
                sys::set_errno(libc::ENOSYS);
                -1
            }
            // SAFETY: glibc's `execvpe`, with the caller's arguments.
            real => unsafe { core::mem::transmute::<usize, ExecvpeFn>(real)(file, argv, envp) },
        };
    }
    // SAFETY: caller contract.
    unsafe { environment::with_restored(envp, |envp| execvpe_restored(file, argv, envp)) }
}

/// [`execvpe`] once the environment is restored.
///
/// # Safety
/// As for C's `execvpe`.
unsafe fn execvpe_restored(
    file: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    let errno = sys::errno();
    // SAFETY: caller contract: `file` is a C string or null.
    let resolved = (!file.is_null())
        .then(|| search_path(unsafe { CStr::from_ptr(file) }))
        .flatten();
    // SAFETY: caller contract.
    let event = unsafe { before_exec(resolved.as_ref().map(sys::PathBuf::as_c), argv, envp) };
    sys::set_errno(errno);
    // A restored copy is never `environ`: glibc's `execvpe` gets it.
    let same_environment = envp == environment();
    let real = real(if same_environment {
        Real::Execvp
    } else {
        Real::Execvpe
    });
    let result = if real == 0 {
        sys::set_errno(libc::ENOSYS);
        -1
    } else if same_environment {
        // SAFETY: glibc's `execvp` (resolved with `RTLD_NEXT`), with the caller's arguments.
        unsafe { core::mem::transmute::<usize, ExecvpFn>(real)(file, argv) }
    } else {
        // SAFETY: glibc's `execvpe`, with the caller's arguments.
        unsafe { core::mem::transmute::<usize, ExecvpeFn>(real)(file, argv, envp) }
    };
    after_failed_exec(event);
    result
}

/// C `posix_spawn` (`search`: `posix_spawnp`): glibc's, then the `spawn` event for the child.
///
/// # Safety
/// As for C's `posix_spawn`.
pub unsafe fn posix_spawn(
    pid: *mut libc::pid_t,
    path: *const c_char,
    file_actions: *const libc::posix_spawn_file_actions_t,
    attributes: *const libc::posix_spawnattr_t,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
    search: bool,
) -> c_int {
    let mut child: libc::pid_t = 0;
    let out = if pid.is_null() { &mut child } else { pid };
    let real = real(if search {
        Real::PosixSpawnp
    } else {
        Real::PosixSpawn
    });
    if real == 0 {
        return libc::ENOSYS;
    }
    // SAFETY: caller contract (glibc passes a null `envp` to `execve`: an empty
    // environment); glibc's `posix_spawn`/`posix_spawnp` gets the caller's arguments, the
    // environment restored (`out` is valid for a write).
    unsafe {
        environment::with_restored(envp.cast(), |envp| {
            let spawn = core::mem::transmute::<usize, SpawnFn>(real);
            let result = spawn(out, path, file_actions, attributes, argv, envp.cast());
            if result == 0 && !path.is_null() && checking() && is_original_process() {
                let errno = sys::errno();
                // `*out` was written by a successful spawn.
                record_spawn(*out, CStr::from_ptr(path), argv.cast(), envp, search);
                sys::set_errno(errno);
            }
            result
        })
    }
}

/// # Safety
/// `argv` and `envp` are null or null-terminated arrays of C strings.
unsafe fn record_spawn(
    child: libc::pid_t,
    path: &CStr,
    argv: *const *const c_char,
    envp: *const *const c_char,
    search: bool,
) {
    let Some(dir) = settings::REPORT_DIR.get() else {
        return;
    };
    // Before the `PATH` search, whose `access` calls the filter may kill too.
    if confine::events_stopped() {
        return;
    }
    let resolved = if search {
        search_path(path)
    } else {
        sys::PathBuf::join(&[path.to_bytes()])
    };
    let target = resolved.as_ref().map(sys::PathBuf::as_c);
    // SAFETY: caller contract (a null `envp` means the caller's environment).
    let verdict = unsafe { verdict(target, if envp.is_null() { environment() } else { envp }) };
    let mut event = Event::new("spawn");
    event.number("child", child as u64);
    event.field("target", target.map_or(path.to_bytes(), CStr::to_bytes));
    // SAFETY: caller contract.
    event.field("program", unsafe { first(argv) });
    event.verdict(verdict);
    events::record(dir, &event);
}

/// Which variadic exec function an argument list came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecList {
    /// `execl(path, arg0, ..., NULL)`.
    Execl,
    /// `execlp(file, arg0, ..., NULL)`.
    Execlp,
    /// `execle(path, arg0, ..., NULL, envp)`.
    Execle,
}

/// The variadic exec functions, once their arguments are an array (the preload library's
/// trampolines lay them out): `list` is `arg0, ..., NULL` (then `envp` for `execle`).
///
/// # Safety
/// `path` is a C string; `list` is a null-terminated array of C strings, followed by an
/// environment array for [`ExecList::Execle`].
pub unsafe fn exec_list(kind: ExecList, path: *const c_char, list: *const *const c_char) -> c_int {
    match kind {
        // SAFETY: forwarded caller contract.
        ExecList::Execl => unsafe { execv(path, list) },
        // SAFETY: forwarded caller contract.
        ExecList::Execlp => unsafe { execvp(path, list) },
        ExecList::Execle => {
            let mut end = 0;
            // SAFETY: caller contract: the list is null-terminated, `envp` follows.
            unsafe {
                while !(*list.add(end)).is_null() {
                    end += 1;
                }
                let envp = *list.add(end + 1).cast::<*const *const c_char>();
                execve(path, list, envp)
            }
        }
    }
}
