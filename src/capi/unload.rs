//! `dlclose` interposed: the identity of an object is recorded before it is unloaded, so the
//! frames captured in it are still named from it at exit.
//!
//! # Design
//! Traces hold bare return addresses and are symbolized at exit. A library unloaded with
//! `dlclose` leaves addresses that later belong to nothing, or to another library loaded at
//! the same place. In check mode the preload library's `dlclose` first asks the loader which
//! object the handle names (`dlinfo(RTLD_DI_LINKMAP)`: load bias and path), lets the
//! symbolizer record its path, segments and build id with the module epoch that ends here
//! (`report::symbolize::note_unload`), forgets the unwinder's cached rules (their addresses
//! may be reused), and only then calls libc's `dlclose`. Nothing is symbolized here and
//! nothing changes on the allocation path; the file is read at exit, if its build id still
//! matches. In fast mode `dlclose` is forwarded untouched.
//!
//! # Limits
//! * A trace captured by another thread in the short moment between the record and the
//!   actual unload is taken for the object at those addresses at exit.
//! * Every `dlclose` starts a module epoch, so stacks captured after it get new trace entries
//!   even when equal to earlier ones (one entry per site and epoch).

use core::ffi::{c_char, c_int, c_void, CStr};

use crate::gpa::InsideAllocator;

/// The head of glibc's `struct link_map` (`<link.h>`).
#[repr(C)]
struct LinkMap {
    l_addr: usize,
    l_name: *const c_char,
    l_ld: *mut c_void,
    l_next: *mut LinkMap,
    l_prev: *mut LinkMap,
}

/// `dlclose(handle)`: records the object for symbolization (check mode), then unloads it with
/// libc's `dlclose`.
///
/// # Safety
/// `handle` is as for `dlclose` (a handle from `dlopen`).
pub unsafe fn dlclose(handle: *mut c_void) -> c_int {
    if super::state().settings.mode.checks() && !handle.is_null() {
        let mut map: *mut LinkMap = core::ptr::null_mut();
        // SAFETY: `dlinfo` with `RTLD_DI_LINKMAP` writes one pointer; a bad handle makes it
        // fail (the real `dlclose` then reports that too).
        let found = unsafe {
            libc::dlinfo(
                handle,
                libc::RTLD_DI_LINKMAP,
                (&mut map as *mut *mut LinkMap).cast(),
            )
        } == 0;
        if found && !map.is_null() {
            // SAFETY: the loader's record of a loaded object, valid until the unload below.
            let (bias, name) = unsafe {
                let name = (*map).l_name;
                let name = if name.is_null() {
                    ""
                } else {
                    CStr::from_ptr(name).to_str().unwrap_or("")
                };
                ((*map).l_addr, name)
            };
            let _inside = InsideAllocator::enter();
            crate::report::symbolize::note_unload(bias, name);
            #[cfg(target_arch = "x86_64")]
            crate::trace::unwind::forget_rules();
        }
    }
    // SAFETY: `dlsym` with `RTLD_NEXT`: libc's `dlclose`, after this library's.
    let real = unsafe { libc::dlsym(libc::RTLD_NEXT, c"dlclose".as_ptr()) };
    if real.is_null() {
        return -1;
    }
    // SAFETY: libc's `dlclose` has this signature; the caller's handle is passed on.
    unsafe {
        let real =
            core::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void) -> c_int>(real);
        real(handle)
    }
}
