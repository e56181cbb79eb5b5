//! `pthread_attr_setstacksize` interposed: a thread started with a stack size of the program's
//! choosing has the room it would have without the preload library.
//!
//! # Why
//! glibc places the static thread-local storage of every object loaded at start-up at the top
//! of each new thread's stack (`allocate_stack`), and refuses with `EINVAL` a stack size that
//! cannot hold it plus a little room. The preload library is such an object, with about 30 KiB
//! of thread-locals (the GPA's thread caches, the unwinder's remembered walks). Without this
//! module a program asking for `PTHREAD_STACK_MIN` (16 KiB) or 32 KiB gets `EINVAL` from
//! `pthread_create` (node 20 prints "pthread_create: Invalid argument" at start-up), and one
//! asking for 64 KiB gets a thread with 30 KiB less stack than natively, which may overflow
//! where it would not. Valgrind adds no thread-locals to the program, so under it these
//! threads run as natively (`clean_small_stacks.c`).
//!
//! # Design
//! The size a program sets is stored with this library's share of static TLS added (`PT_TLS`
//! size plus alignment, read once from the loader with
//! [`os::static_tls_of`](crate::os::static_tls_of)), rounded up to whole pages; what is left
//! for the thread's frames is then what it would be without gpa. In check and guard modes
//! [`CHECK_ROOM`] is added too: the checks run on the program's threads, and a trace's first
//! capture needs stack a program that asked for `PTHREAD_STACK_MIN` did not plan for. Interposing
//! `pthread_attr_setstacksize` rather than `pthread_create` catches every way a size is chosen
//! (C, C++, Rust's `std::thread::Builder::stack_size`, libuv) without touching the creation
//! itself, whose symbol the [`testing`](crate::testing) module already defines for Rust test
//! programs. Applies in every mode: the thread-locals are there in fast mode too.
//!
//! # Limits
//! * `pthread_attr_getstacksize` returns the larger size.
//! * Threads with the default size (8 MiB, from `RLIMIT_STACK`) are created as they are: they
//!   have 30 KiB less room than natively, 0.4% of it.
//! * A thread on a stack the program supplies (`pthread_attr_setstack`) still has this
//!   library's TLS taken out of it; one too small for it fails with `EINVAL`.

use core::ffi::c_int;
use core::sync::atomic::{AtomicUsize, Ordering};

type SetStackSize = unsafe extern "C" fn(*mut libc::pthread_attr_t, libc::size_t) -> c_int;

/// The stack the check and guard modes' own work needs on top of the program's, in bytes:
/// a `malloc` that captures its first trace through a new return address parses unwind
/// tables (gimli), which took 13-17 KiB of a thread's stack when measured; the exit report
/// moves to a stack of its own when less than [`REPORT_ROOM`](crate::os::signal::REPORT_ROOM)
/// is left. Four times the measured need: address space only, untouched pages cost nothing.
pub const CHECK_ROOM: usize = 64 * 1024;

/// libc's `pthread_attr_setstacksize`, resolved on first use (0: not yet).
static REAL: AtomicUsize = AtomicUsize::new(0);
/// The bytes added to every requested stack size, plus one (0: not yet measured).
static EXTRA_PLUS_ONE: AtomicUsize = AtomicUsize::new(0);

/// What [`pthread_attr_setstacksize`] adds: the stack bytes this library's static TLS takes
/// from every thread glibc starts, in whole pages, plus [`CHECK_ROOM`] in check and guard
/// modes.
pub fn stack_bytes_added() -> usize {
    let cached = EXTRA_PLUS_ONE.load(Ordering::Relaxed);
    if cached != 0 {
        return cached - 1;
    }
    let here = stack_bytes_added as fn() -> usize as usize;
    let tls = crate::os::static_tls_of(here);
    let page = crate::os::page_size();
    let room = if super::state().settings.mode.checks() {
        CHECK_ROOM
    } else {
        0
    };
    let bytes = tls.div_ceil(page) * page + room;
    EXTRA_PLUS_ONE.store(bytes + 1, Ordering::Relaxed);
    bytes
}

/// `pthread_attr_setstacksize(attr, size)`: libc's, with [`stack_bytes_added`] added to
/// `size` (`size` itself if the sum overflows). Errors are libc's: `EINVAL` for a `size`
/// below `PTHREAD_STACK_MIN`, judged on the size asked for; `ENOSYS` if libc's function
/// cannot be found.
///
/// # Safety
/// As for C's `pthread_attr_setstacksize`: `attr` is initialized attributes.
pub unsafe fn pthread_attr_setstacksize(attr: *mut libc::pthread_attr_t, size: usize) -> c_int {
    let mut address = REAL.load(Ordering::Relaxed);
    if address == 0 {
        // SAFETY: `dlsym` with `RTLD_NEXT` and a NUL-terminated name: libc's function, the
        // definition after this library's.
        address =
            unsafe { libc::dlsym(libc::RTLD_NEXT, c"pthread_attr_setstacksize".as_ptr()) } as usize;
        if address == 0 {
            return libc::ENOSYS;
        }
        REAL.store(address, Ordering::Relaxed);
    }
    // SAFETY: a non-null result of that lookup is libc's function, of this type.
    let real = unsafe { core::mem::transmute::<usize, SetStackSize>(address) };
    if size < libc::PTHREAD_STACK_MIN {
        // SAFETY: the caller's arguments; libc refuses the size as it would without gpa.
        return unsafe { real(attr, size) };
    }
    let larger = size.checked_add(stack_bytes_added()).unwrap_or(size);
    // SAFETY: the caller's attributes, with a size at least as large as the one asked for.
    unsafe { real(attr, larger) }
}
