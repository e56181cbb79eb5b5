//! `libgpa_preload.so`: the C allocation ABI on gpa's `GeneralPurposeAllocator`.
//!
//! `LD_PRELOAD=libgpa_preload.so PROGRAM` (or `gpa run -- PROGRAM`) makes every `malloc`,
//! `free`, ... of an unchanged, dynamically linked program go to the GPA. Each exported
//! function only forwards to `gpa::__capi` (a hidden module of the library, kept for this
//! crate), where the C semantics, the settings (environment variables `GPA_MODE`,
//! `GPA_FRAMES`, ...) and the exit report live (mimalloc's `alloc-override.c` and snmalloc's
//! `override/malloc.cc` are shims of this kind).
//!
//! # Invariants
//! * No function here allocates or keeps state; the constructor only asks `gpa::__capi` to
//!   read the environment and register the exit report.
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

use core::ffi::c_void;

use gpa::__capi as capi;

/// Runs when the library is loaded, before the program's constructors and `main`.
extern "C" fn constructor() {
    capi::init();
}

#[used]
#[link_section = ".init_array"]
static CONSTRUCTOR: extern "C" fn() = constructor;

/// C `malloc`.
///
/// # Safety
/// None beyond C's: any size is accepted.
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    capi::malloc(size).cast()
}

/// C `free`.
///
/// # Safety
/// `memory` is null or a block from this library (checked and reported in check mode).
#[no_mangle]
pub unsafe extern "C" fn free(memory: *mut c_void) {
    // SAFETY: forwarded caller contract.
    unsafe { capi::free(memory.cast()) }
}

/// C `calloc`.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut c_void {
    capi::calloc(count, size).cast()
}

/// C `realloc`.
///
/// # Safety
/// As for [`free`].
#[no_mangle]
pub unsafe extern "C" fn realloc(memory: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: forwarded caller contract.
    unsafe { capi::realloc(memory.cast(), size).cast() }
}

/// C `reallocarray`.
///
/// # Safety
/// As for [`free`].
#[no_mangle]
pub unsafe extern "C" fn reallocarray(
    memory: *mut c_void,
    count: usize,
    size: usize,
) -> *mut c_void {
    // SAFETY: forwarded caller contract.
    unsafe { capi::reallocarray(memory.cast(), count, size).cast() }
}

/// C `posix_memalign`.
///
/// # Safety
/// `out` is valid for a pointer write.
#[no_mangle]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> i32 {
    // SAFETY: forwarded caller contract.
    unsafe { capi::posix_memalign(out.cast(), align, size) }
}

/// C `aligned_alloc`.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    capi::aligned_alloc(align, size).cast()
}

/// C `memalign`.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    capi::memalign(align, size).cast()
}

/// C `valloc`.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    capi::valloc(size).cast()
}

/// C `pvalloc`.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    capi::pvalloc(size).cast()
}

/// C `malloc_usable_size`.
///
/// # Safety
/// None: any pointer is looked up, not dereferenced.
#[no_mangle]
pub unsafe extern "C" fn malloc_usable_size(memory: *mut c_void) -> usize {
    capi::malloc_usable_size(memory.cast())
}

/// C23 `free_sized`.
///
/// # Safety
/// As for [`free`].
#[no_mangle]
pub unsafe extern "C" fn free_sized(memory: *mut c_void, size: usize) {
    // SAFETY: forwarded caller contract.
    unsafe { capi::free_sized(memory.cast(), size) }
}

/// C23 `free_aligned_sized`.
///
/// # Safety
/// As for [`free`].
#[no_mangle]
pub unsafe extern "C" fn free_aligned_sized(memory: *mut c_void, align: usize, size: usize) {
    // SAFETY: forwarded caller contract.
    unsafe { capi::free_aligned_sized(memory.cast(), align, size) }
}
