//! glibc's lock of its list of open streams (`_IO_list_lock`), taken around `fork` before any
//! lock of gpa's, the order glibc's own malloc keeps (glibc bug 19431, its test
//! `malloc/tst-malloc-fork-deadlock.c`; docs/sweeps/glibc_malloc_tests.md).
//!
//! glibc's `fork` runs the `pthread_atfork` prepare handlers first, then takes the stream
//! list's lock, then its own malloc's locks. An interposed malloc that takes its locks in a
//! prepare handler takes them *before* the stream list's lock, the reverse order, and a
//! threaded program could hang: one thread in `getline` holds its stream's lock and waits in
//! `realloc` for a gpa lock the forking thread holds; the forking thread waits in `fork` for the
//! stream list's lock, which a third thread in `fflush (NULL)` holds while it waits for the
//! first thread's stream.
//!
//! Design: one more `pthread_atfork` handler, registered after every other one of gpa's
//! (prepare handlers run in reverse order of registration), whose prepare takes the stream
//! list's lock, so it is held before gpa's locks are taken; glibc's `fork` then takes it again
//! (it is a recursive lock). The parent handler releases it (registered last, it runs after
//! gpa's own, which released gpa's locks). In the child, `_IO_list_resetlock` leaves it unlocked
//! whether or not glibc reset it already (it does only when the parent had several threads):
//! the child has one thread, so nothing else can hold it.
//!
//! Invariant: the three functions are glibc's exported `_IO_list_lock`, `_IO_list_unlock` and
//! `_IO_list_resetlock`, looked up once at start (`dlsym` may allocate and takes the loader's
//! lock: never from a fork handler); with another C library they are absent and nothing is done.

use core::sync::atomic::{AtomicUsize, Ordering};

type ListFn = unsafe extern "C" fn();

/// The addresses of `_IO_list_lock`, `_IO_list_unlock` and `_IO_list_resetlock` (0: absent).
static FUNCTIONS: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];

const LOCK: usize = 0;
const UNLOCK: usize = 1;
const RESET: usize = 2;

/// Looks the functions up and registers the handlers; call once, after every other
/// `pthread_atfork` registration of gpa's.
pub fn register() {
    let names = [c"_IO_list_lock", c"_IO_list_unlock", c"_IO_list_resetlock"];
    let mut all = true;
    for (slot, name) in FUNCTIONS.iter().zip(names) {
        // SAFETY: RTLD_DEFAULT lookup of a NUL-terminated name.
        let address = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
        all &= !address.is_null();
        slot.store(address as usize, Ordering::Relaxed);
    }
    if !all {
        return;
    }
    // SAFETY: the handlers are `extern "C" fn()`s that live as long as the process (this
    // library is never unloaded).
    unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
}

/// Calls one of the functions, when it was found.
fn call(which: usize) {
    let address = FUNCTIONS[which].load(Ordering::Relaxed);
    if address != 0 {
        // SAFETY: the address is that of one of glibc's `void (void)` functions above.
        unsafe { core::mem::transmute::<usize, ListFn>(address)() };
    }
}

extern "C" fn prepare() {
    call(LOCK);
}

extern "C" fn parent() {
    call(UNLOCK);
}

extern "C" fn child() {
    call(RESET);
}
