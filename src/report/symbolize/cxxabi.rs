//! libstdc++'s demangler, `abi::__cxa_demangle`: the libiberty demangler that Valgrind and
//! `c++filt` use, so its names are the ones Valgrind prints. `cpp_demangle` fails on some names
//! (`std::make_shared`'s return type `enable_if<!is_array<T>::value, T>`) and drops parameters
//! from others (`std::__shared_count`'s constructor templates).
//!
//! # Design
//! The function is looked up in a libstdc++ the process already loaded (`dlopen` with
//! `RTLD_NOLOAD`, which never loads it, then `dlsym`): gpa never links a C++ runtime itself. A
//! process without one gets `None` (the caller then uses `cpp_demangle`). A lookup that finds
//! nothing is retried next time (a program may load a C++ library later); a found function is
//! kept, and so is the library reference (libstdc++ is never unloaded anyway: its
//! `STB_GNU_UNIQUE` symbols make it `NODELETE`).
//!
//! # Invariants
//! * Never on a thread writing a crash report ([`super::objects::in_crash_report`]): `dlopen`,
//!   `dlsym` and `__cxa_demangle` call `malloc` and `free` (the program's allocator: gpa's own
//!   under `gpa run`, libc's in a Rust program), which is not async-signal-safe, and the fault
//!   may have interrupted that allocator or the loader. Names there come from `cpp_demangle`.
//! * Elsewhere the caller symbolizes with the thread marked as inside the allocator, so under
//!   `gpa run` those `malloc` calls are served by gpa's internal heap and never re-enter the
//!   GPA; the result is copied and its C string freed at once.

use core::ffi::{c_char, c_int, CStr};
use core::sync::atomic::{AtomicUsize, Ordering};

/// `char *abi::__cxa_demangle(const char *mangled, char *buffer, size_t *length, int *status)`.
type CxaDemangle =
    unsafe extern "C" fn(*const c_char, *mut c_char, *mut usize, *mut c_int) -> *mut c_char;

/// The address of `__cxa_demangle` once found; 0 until then.
static FOUND: AtomicUsize = AtomicUsize::new(0);

/// libstdc++'s `__cxa_demangle`, if the process has libstdc++ loaded.
fn cxa_demangle() -> Option<CxaDemangle> {
    let mut address = FOUND.load(Ordering::Acquire);
    if address == 0 {
        // SAFETY: `RTLD_NOLOAD` only returns a handle of a library already loaded, and loads
        // nothing; the handle is kept (see the module docs).
        let handle = unsafe {
            libc::dlopen(
                c"libstdc++.so.6".as_ptr(),
                libc::RTLD_LAZY | libc::RTLD_NOLOAD,
            )
        };
        if handle.is_null() {
            return None;
        }
        // SAFETY: a live handle and a NUL-terminated name.
        address = unsafe { libc::dlsym(handle, c"__cxa_demangle".as_ptr()) } as usize;
        if address == 0 {
            return None;
        }
        FOUND.store(address, Ordering::Release);
    }
    // SAFETY: `__cxa_demangle` has this signature (the Itanium C++ ABI's `abi::__cxa_demangle`).
    Some(unsafe { core::mem::transmute::<usize, CxaDemangle>(address) })
}

/// `name` (an Itanium C++ ABI name, `_Z...`) demangled by libstdc++'s `__cxa_demangle`; `None`
/// for other names, when libstdc++ is not loaded, on a thread writing a crash report, or when
/// it cannot demangle the name.
pub fn demangle(name: &str) -> Option<String> {
    if !name.starts_with("_Z") || super::objects::in_crash_report() {
        return None;
    }
    let demangle = cxa_demangle()?;
    let mangled = std::ffi::CString::new(name).ok()?;
    let mut status: c_int = -1;
    // SAFETY: a NUL-terminated name; a null buffer asks for a fresh `malloc` block, which is
    // ours to `free`.
    let text = unsafe {
        demangle(
            mangled.as_ptr(),
            core::ptr::null_mut(),
            core::ptr::null_mut(),
            &mut status,
        )
    };
    if text.is_null() {
        return None;
    }
    // SAFETY: on success the result is a NUL-terminated string in a `malloc` block.
    let demangled = (status == 0).then(|| unsafe { CStr::from_ptr(text) }.to_string_lossy());
    let demangled = demangled.map(|text| text.into_owned());
    // SAFETY: the block came from the runtime's `malloc` (the process's `malloc`).
    unsafe { libc::free(text.cast()) };
    demangled
}
