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
//! * The allocation functions return through `capi::scrubbed` (`capi::scrub_void` for those
//!   returning nothing): no value of the allocator's is left in a caller-saved register,
//!   where a program's `swapcontext` would save it for the exit's leak scan to read.
//! * The library's own Rust allocations go to the same entry points directly (a
//!   `#[global_allocator]`), never through the `malloc` symbol a program may define itself.
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

use core::ffi::{c_char, c_int, c_long, c_uint, c_void};

use gpa::__capi as capi;

/// Runs when the library is loaded, before the program's constructors and `main`.
extern "C" fn constructor() {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    {
        extern "C" {
            /// The bounds the linker gives the section of the stubs' restartable ranges
            /// (`gpa::c_entry`'s `malloc` and `free`, expanded below).
            static __start_gpa_fast_restart: u8;
            static __stop_gpa_fast_restart: u8;
        }
        gpa::__capi::entry::register_restart_table(
            core::ptr::addr_of!(__start_gpa_fast_restart) as usize,
            core::ptr::addr_of!(__stop_gpa_fast_restart) as usize,
        );
    }
    capi::init();
}

#[used]
#[link_section = ".init_array"]
static CONSTRUCTOR: extern "C" fn() = constructor;

/// The library's own Rust allocations (the report's text, the leak scan's tables, the unwinder's
/// caches) go straight to the entry points below, not through the `malloc` symbol. With
/// `std`'s default allocator they went through it, and a program that defines its own `malloc`
/// and `free` but not `realloc` (Valgrind's `static_malloc.c`) got them, while their `realloc`
/// reached gpa: an invalid free inside the report, a fault, and no report at all.
struct OwnAllocations;

// SAFETY: every block comes from the GPA's C entry points with at least the layout's size and
// alignment (`malloc` blocks are `MIN_ALIGN`-aligned, `memalign` gives the rest), and goes back
// through `free`/`realloc`, which take any of them.
unsafe impl core::alloc::GlobalAlloc for OwnAllocations {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        if layout.align() <= capi::MIN_ALIGN {
            capi::malloc(layout.size())
        } else {
            capi::memalign(layout.align(), layout.size())
        }
    }

    unsafe fn alloc_zeroed(&self, layout: core::alloc::Layout) -> *mut u8 {
        if layout.align() <= capi::MIN_ALIGN {
            return capi::calloc(1, layout.size());
        }
        let block = capi::memalign(layout.align(), layout.size());
        if !block.is_null() {
            // SAFETY: a fresh block of `layout.size()` bytes.
            unsafe { block.write_bytes(0, layout.size()) };
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, _layout: core::alloc::Layout) {
        // SAFETY: a block of `alloc` (GlobalAlloc's contract).
        unsafe { capi::free(block) }
    }

    unsafe fn realloc(
        &self,
        block: *mut u8,
        layout: core::alloc::Layout,
        new_size: usize,
    ) -> *mut u8 {
        if layout.align() <= capi::MIN_ALIGN {
            // SAFETY: a block of `alloc` (GlobalAlloc's contract); `new_size` is not zero.
            return unsafe { capi::realloc(block, new_size) };
        }
        let moved = capi::memalign(layout.align(), new_size);
        if !moved.is_null() {
            // SAFETY: both blocks hold at least the smaller size; they are distinct blocks;
            // `block` is a block of `alloc`.
            unsafe {
                core::ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                capi::free(block);
            }
        }
        moved
    }
}

#[global_allocator]
static OWN_ALLOCATIONS: OwnAllocations = OwnAllocations;

/// C `malloc`: fast mode's direct-table path written out without a frame (`gpa::c_entry`:
/// the forced frame pointer was 3 of its 24 instructions); the rest as `capi::malloc`.
///
/// # Safety
/// None beyond C's: any size is accepted.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    gpa::c_malloc_entry!()
}

/// C `malloc`.
///
/// # Safety
/// None beyond C's: any size is accepted.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    capi::malloc(size).cast()
}

/// C `free`: `c_paths::c_free` written out without a frame (`gpa::c_entry`); the rest as
/// `capi::free`.
///
/// # Safety
/// `memory` is null or a block from this library (checked and reported in check mode).
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn free(memory: *mut c_void) {
    gpa::c_free_entry!()
}

/// C `free`.
///
/// # Safety
/// `memory` is null or a block from this library (checked and reported in check mode).
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
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
    capi::scrubbed(capi::calloc(count, size).cast())
}

/// C `realloc`.
///
/// # Safety
/// As for [`free`].
#[no_mangle]
pub unsafe extern "C" fn realloc(memory: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: forwarded caller contract.
    capi::scrubbed(unsafe { capi::realloc(memory.cast(), size).cast() })
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
    capi::scrubbed(unsafe { capi::reallocarray(memory.cast(), count, size).cast() })
}

/// C `posix_memalign`.
///
/// # Safety
/// `out` is valid for a pointer write.
#[no_mangle]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> i32 {
    // SAFETY: forwarded caller contract.
    capi::scrubbed(unsafe { capi::posix_memalign(out.cast(), align, size) })
}

/// C `aligned_alloc`.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    capi::scrubbed(capi::aligned_alloc(align, size).cast())
}

/// C `memalign`.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    capi::scrubbed(capi::memalign(align, size).cast())
}

/// C `valloc`.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    capi::scrubbed(capi::valloc(size).cast())
}

/// C `pvalloc`.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    capi::scrubbed(capi::pvalloc(size).cast())
}

/// C `malloc_usable_size`.
///
/// # Safety
/// None: any pointer is looked up, not dereferenced.
#[no_mangle]
pub unsafe extern "C" fn malloc_usable_size(memory: *mut c_void) -> usize {
    capi::scrubbed(capi::malloc_usable_size(memory.cast()))
}

/// C `mallinfo2`: gpa's heap figures in glibc's fields.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn mallinfo2() -> capi::mallinfo::Mallinfo2 {
    capi::mallinfo::mallinfo2()
}

/// C `mallinfo`: as `mallinfo2`, with `int` fields.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn mallinfo() -> capi::mallinfo::Mallinfo {
    capi::mallinfo::mallinfo()
}

/// C `malloc_stats`.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn malloc_stats() {
    capi::mallinfo::malloc_stats()
}

/// C `malloc_info`.
///
/// # Safety
/// `stream` is null or a `FILE *` open for writing.
#[no_mangle]
pub unsafe extern "C" fn malloc_info(options: c_int, stream: *mut libc::FILE) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::mallinfo::malloc_info(options, stream) }
}

/// C `malloc_trim`.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn malloc_trim(pad: usize) -> c_int {
    capi::mallinfo::malloc_trim(pad)
}

/// C `mallopt`.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn mallopt(param: c_int, value: c_int) -> c_int {
    capi::mallinfo::mallopt(param, value)
}

/// C23 `free_sized`.
///
/// # Safety
/// As for [`free`].
#[no_mangle]
pub unsafe extern "C" fn free_sized(memory: *mut c_void, size: usize) {
    // SAFETY: forwarded caller contract.
    unsafe { capi::free_sized(memory.cast(), size) };
    capi::scrub_void();
}

/// C23 `free_aligned_sized`.
///
/// # Safety
/// As for [`free`].
#[no_mangle]
pub unsafe extern "C" fn free_aligned_sized(memory: *mut c_void, align: usize, size: usize) {
    // SAFETY: forwarded caller contract.
    unsafe { capi::free_aligned_sized(memory.cast(), align, size) };
    capi::scrub_void();
}

// ---- glibc's other names for its allocator ----
//
// glibc exports its allocator under a second name each (`__libc_malloc` is `malloc`'s address,
// `__libc_free` and the old `cfree` are `free`'s, ...), and some programs and libraries call
// those names directly: a block of glibc's `__libc_malloc` then went to gpa's `free` (reported
// as a block gpa never gave out, then handed back to glibc), a block of gpa's `malloc` went to
// glibc's `__libc_free` (glibc aborted the program: "munmap_chunk(): invalid pointer"), and a
// leak of a `__libc_malloc` block was never seen. Valgrind replaces functions by address, so
// these names reach its allocator as the ones they alias; mimalloc's and jemalloc's preload
// libraries export them too. Here they are the same entries as the names they alias: `malloc`
// and `free` expand the same frameless bodies, so a trace starts at the program's call as for
// `malloc` itself.

/// glibc's `__libc_malloc`: [`malloc`].
///
/// # Safety
/// As for [`malloc`].
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn __libc_malloc(size: usize) -> *mut c_void {
    gpa::c_malloc_entry!()
}

/// glibc's `__libc_malloc`: [`malloc`].
///
/// # Safety
/// As for [`malloc`].
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
#[no_mangle]
pub unsafe extern "C" fn __libc_malloc(size: usize) -> *mut c_void {
    capi::malloc(size).cast()
}

/// glibc's `__libc_free`: [`free`].
///
/// # Safety
/// As for [`free`].
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn __libc_free(memory: *mut c_void) {
    gpa::c_free_entry!()
}

/// glibc's `__libc_free`: [`free`].
///
/// # Safety
/// As for [`free`].
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
#[no_mangle]
pub unsafe extern "C" fn __libc_free(memory: *mut c_void) {
    // SAFETY: forwarded caller contract.
    unsafe { capi::free(memory.cast()) }
}

/// `cfree`, the old name of `free` (glibc keeps it for programs linked before 2.26):
/// [`free`].
///
/// # Safety
/// As for [`free`].
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn cfree(memory: *mut c_void) {
    gpa::c_free_entry!()
}

/// `cfree`, the old name of `free`: [`free`].
///
/// # Safety
/// As for [`free`].
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
#[no_mangle]
pub unsafe extern "C" fn cfree(memory: *mut c_void) {
    // SAFETY: forwarded caller contract.
    unsafe { capi::free(memory.cast()) }
}

/// glibc's `__libc_calloc`: [`calloc`].
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn __libc_calloc(count: usize, size: usize) -> *mut c_void {
    capi::scrubbed(capi::calloc(count, size).cast())
}

/// glibc's `__libc_realloc`: [`realloc`].
///
/// # Safety
/// As for [`free`].
#[no_mangle]
pub unsafe extern "C" fn __libc_realloc(memory: *mut c_void, size: usize) -> *mut c_void {
    // SAFETY: forwarded caller contract.
    capi::scrubbed(unsafe { capi::realloc(memory.cast(), size).cast() })
}

/// glibc's `__libc_memalign`: [`memalign`].
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn __libc_memalign(align: usize, size: usize) -> *mut c_void {
    capi::scrubbed(capi::memalign(align, size).cast())
}

/// glibc's `__libc_valloc`: [`valloc`].
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn __libc_valloc(size: usize) -> *mut c_void {
    capi::scrubbed(capi::valloc(size).cast())
}

/// glibc's `__libc_pvalloc`: [`pvalloc`].
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn __libc_pvalloc(size: usize) -> *mut c_void {
    capi::scrubbed(capi::pvalloc(size).cast())
}

/// glibc's `__libc_mallinfo`: [`mallinfo`].
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn __libc_mallinfo() -> capi::mallinfo::Mallinfo {
    capi::mallinfo::mallinfo()
}

/// glibc's `__libc_mallopt`: [`mallopt`].
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn __libc_mallopt(param: c_int, value: c_int) -> c_int {
    capi::mallinfo::mallopt(param, value)
}

// ---- C++: every `operator new` / `operator delete` of the Itanium ABI ----
//
// `operator new` may throw `std::bad_alloc` (through the program's C++ runtime, see
// `gpa::__capi::family`), so those functions use the `C-unwind` ABI. The `nothrow_t` arguments
// are references that are never read.

use capi::family::{self, Family, Release};

/// `operator new(unsigned long)`.
///
/// # Safety
/// None beyond C++'s; throws `std::bad_alloc` on failure.
#[no_mangle]
pub unsafe extern "C-unwind" fn _Znwm(size: usize) -> *mut c_void {
    capi::scrubbed(family::operator_new(size, Family::New, capi::MIN_ALIGN, false).cast())
}

/// `operator new[](unsigned long)`.
///
/// # Safety
/// As for [`_Znwm`].
#[no_mangle]
pub unsafe extern "C-unwind" fn _Znam(size: usize) -> *mut c_void {
    capi::scrubbed(family::operator_new(size, Family::NewArray, capi::MIN_ALIGN, false).cast())
}

/// `operator new(unsigned long, std::nothrow_t const&)`: null on failure.
///
/// # Safety
/// None beyond C++'s.
#[no_mangle]
pub unsafe extern "C-unwind" fn _ZnwmRKSt9nothrow_t(size: usize, _: *const c_void) -> *mut c_void {
    capi::scrubbed(family::operator_new(size, Family::New, capi::MIN_ALIGN, true).cast())
}

/// `operator new[](unsigned long, std::nothrow_t const&)`: null on failure.
///
/// # Safety
/// None beyond C++'s.
#[no_mangle]
pub unsafe extern "C-unwind" fn _ZnamRKSt9nothrow_t(size: usize, _: *const c_void) -> *mut c_void {
    capi::scrubbed(family::operator_new(size, Family::NewArray, capi::MIN_ALIGN, true).cast())
}

/// `operator new(unsigned long, std::align_val_t)`.
///
/// # Safety
/// As for [`_Znwm`].
#[no_mangle]
pub unsafe extern "C-unwind" fn _ZnwmSt11align_val_t(size: usize, align: usize) -> *mut c_void {
    let align = align.max(capi::MIN_ALIGN);
    capi::scrubbed(family::operator_new(size, Family::NewAligned, align, false).cast())
}

/// `operator new[](unsigned long, std::align_val_t)`.
///
/// # Safety
/// As for [`_Znwm`].
#[no_mangle]
pub unsafe extern "C-unwind" fn _ZnamSt11align_val_t(size: usize, align: usize) -> *mut c_void {
    let align = align.max(capi::MIN_ALIGN);
    capi::scrubbed(family::operator_new(size, Family::NewArrayAligned, align, false).cast())
}

/// `operator new(unsigned long, std::align_val_t, std::nothrow_t const&)`.
///
/// # Safety
/// None beyond C++'s.
#[no_mangle]
pub unsafe extern "C-unwind" fn _ZnwmSt11align_val_tRKSt9nothrow_t(
    size: usize,
    align: usize,
    _: *const c_void,
) -> *mut c_void {
    let align = align.max(capi::MIN_ALIGN);
    capi::scrubbed(family::operator_new(size, Family::NewAligned, align, true).cast())
}

/// `operator new[](unsigned long, std::align_val_t, std::nothrow_t const&)`.
///
/// # Safety
/// None beyond C++'s.
#[no_mangle]
pub unsafe extern "C-unwind" fn _ZnamSt11align_val_tRKSt9nothrow_t(
    size: usize,
    align: usize,
    _: *const c_void,
) -> *mut c_void {
    let align = align.max(capi::MIN_ALIGN);
    capi::scrubbed(family::operator_new(size, Family::NewArrayAligned, align, true).cast())
}

/// `operator delete(void*)`.
///
/// # Safety
/// `memory` is null or a block of `operator new` (checked and reported in check mode).
#[no_mangle]
pub unsafe extern "C" fn _ZdlPv(memory: *mut c_void) {
    // SAFETY: forwarded caller contract.
    unsafe { family::operator_delete(memory.cast(), Release::delete(Family::New, None, None)) };
    capi::scrub_void();
}

/// `operator delete[](void*)`.
///
/// # Safety
/// As for [`_ZdlPv`], with `operator new[]`.
#[no_mangle]
pub unsafe extern "C" fn _ZdaPv(memory: *mut c_void) {
    let release = Release::delete(Family::NewArray, None, None);
    // SAFETY: forwarded caller contract.
    unsafe { family::operator_delete(memory.cast(), release) };
    capi::scrub_void();
}

/// `operator delete(void*, unsigned long)`.
///
/// # Safety
/// As for [`_ZdlPv`]; `size` is the size given to `operator new`.
#[no_mangle]
pub unsafe extern "C" fn _ZdlPvm(memory: *mut c_void, size: usize) {
    let release = Release::delete(Family::New, Some(size), None);
    // SAFETY: forwarded caller contract.
    unsafe { family::operator_delete(memory.cast(), release) };
    capi::scrub_void();
}

/// `operator delete[](void*, unsigned long)`.
///
/// # Safety
/// As for [`_ZdaPv`]; `size` is the size given to `operator new[]`.
#[no_mangle]
pub unsafe extern "C" fn _ZdaPvm(memory: *mut c_void, size: usize) {
    let release = Release::delete(Family::NewArray, Some(size), None);
    // SAFETY: forwarded caller contract.
    unsafe { family::operator_delete(memory.cast(), release) };
    capi::scrub_void();
}

/// `operator delete(void*, std::nothrow_t const&)`.
///
/// # Safety
/// As for [`_ZdlPv`].
#[no_mangle]
pub unsafe extern "C" fn _ZdlPvRKSt9nothrow_t(memory: *mut c_void, _: *const c_void) {
    // SAFETY: forwarded caller contract.
    unsafe { family::operator_delete(memory.cast(), Release::delete(Family::New, None, None)) };
    capi::scrub_void();
}

/// `operator delete[](void*, std::nothrow_t const&)`.
///
/// # Safety
/// As for [`_ZdaPv`].
#[no_mangle]
pub unsafe extern "C" fn _ZdaPvRKSt9nothrow_t(memory: *mut c_void, _: *const c_void) {
    let release = Release::delete(Family::NewArray, None, None);
    // SAFETY: forwarded caller contract.
    unsafe { family::operator_delete(memory.cast(), release) };
    capi::scrub_void();
}

/// `operator delete(void*, std::align_val_t)`.
///
/// # Safety
/// As for [`_ZdlPv`], with the aligned `operator new`.
#[no_mangle]
pub unsafe extern "C" fn _ZdlPvSt11align_val_t(memory: *mut c_void, align: usize) {
    let release = Release::delete(Family::NewAligned, None, Some(align));
    // SAFETY: forwarded caller contract.
    unsafe { family::operator_delete(memory.cast(), release) };
    capi::scrub_void();
}

/// `operator delete[](void*, std::align_val_t)`.
///
/// # Safety
/// As for [`_ZdlPv`], with the aligned `operator new[]`.
#[no_mangle]
pub unsafe extern "C" fn _ZdaPvSt11align_val_t(memory: *mut c_void, align: usize) {
    let release = Release::delete(Family::NewArrayAligned, None, Some(align));
    // SAFETY: forwarded caller contract.
    unsafe { family::operator_delete(memory.cast(), release) };
    capi::scrub_void();
}

/// `operator delete(void*, unsigned long, std::align_val_t)`.
///
/// # Safety
/// As for [`_ZdlPvSt11align_val_t`]; `size` is the size given to `operator new`.
#[no_mangle]
pub unsafe extern "C" fn _ZdlPvmSt11align_val_t(memory: *mut c_void, size: usize, align: usize) {
    let release = Release::delete(Family::NewAligned, Some(size), Some(align));
    // SAFETY: forwarded caller contract.
    unsafe { family::operator_delete(memory.cast(), release) };
    capi::scrub_void();
}

/// `operator delete[](void*, unsigned long, std::align_val_t)`.
///
/// # Safety
/// As for [`_ZdaPvSt11align_val_t`]; `size` is the size given to `operator new[]`.
#[no_mangle]
pub unsafe extern "C" fn _ZdaPvmSt11align_val_t(memory: *mut c_void, size: usize, align: usize) {
    let release = Release::delete(Family::NewArrayAligned, Some(size), Some(align));
    // SAFETY: forwarded caller contract.
    unsafe { family::operator_delete(memory.cast(), release) };
    capi::scrub_void();
}

/// `operator delete(void*, std::align_val_t, std::nothrow_t const&)`.
///
/// # Safety
/// As for [`_ZdlPvSt11align_val_t`].
#[no_mangle]
pub unsafe extern "C" fn _ZdlPvSt11align_val_tRKSt9nothrow_t(
    memory: *mut c_void,
    align: usize,
    _: *const c_void,
) {
    let release = Release::delete(Family::NewAligned, None, Some(align));
    // SAFETY: forwarded caller contract.
    unsafe { family::operator_delete(memory.cast(), release) };
    capi::scrub_void();
}

/// `operator delete[](void*, std::align_val_t, std::nothrow_t const&)`.
///
/// # Safety
/// As for [`_ZdaPvSt11align_val_t`].
#[no_mangle]
pub unsafe extern "C" fn _ZdaPvSt11align_val_tRKSt9nothrow_t(
    memory: *mut c_void,
    align: usize,
    _: *const c_void,
) {
    let release = Release::delete(Family::NewArrayAligned, None, Some(align));
    // SAFETY: forwarded caller contract.
    unsafe { family::operator_delete(memory.cast(), release) };
    capi::scrub_void();
}

// ---- dynamic loading ----

/// `dlclose`: in check mode, records the object's identity first, so frames captured in it are
/// still named from it in the report (see `gpa::__capi::unload`).
///
/// # Safety
/// As for C's `dlclose`.
#[no_mangle]
pub unsafe extern "C" fn dlclose(handle: *mut c_void) -> core::ffi::c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::unload::dlclose(handle) }
}

/// C `dlopen`: with `RTLD_DEEPBIND`, the loaded objects' references to the functions this
/// library interposes are bound to it, as for every other object (see
/// `gpa::__capi::deepbind`); otherwise (and where the caller decides what is loaded) a jump to
/// libc's `dlopen` with the caller's return address in place, since glibc takes the caller
/// (its namespace, `RPATH`, `$ORIGIN`) from it.
///
/// # Safety
/// As for C's `dlopen`.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void {
    // At entry `rsp` is 8 past a multiple of 16; two pushes and 24 bytes make it a multiple
    // for the call. `plan(file, mode, caller, &slot)` returns whether it made the call. The
    // call frame information lets a stack walk from inside `plan` (the loader's allocations
    // during a deep-bound load) go on to the program's caller.
    core::arch::naked_asm!(
        ".cfi_startproc",
        "push rdi",
        ".cfi_adjust_cfa_offset 8",
        "push rsi",
        ".cfi_adjust_cfa_offset 8",
        "sub rsp, 24",
        ".cfi_adjust_cfa_offset 24",
        "mov rdx, [rsp + 40]",
        "mov rcx, rsp",
        "call {plan}",
        "test al, al",
        "jnz 2f",
        "add rsp, 24",
        ".cfi_adjust_cfa_offset -24",
        "pop rsi",
        ".cfi_adjust_cfa_offset -8",
        "pop rdi",
        ".cfi_adjust_cfa_offset -8",
        "jmp qword ptr [rip + {real}]",
        "2:",
        ".cfi_adjust_cfa_offset 40",
        "mov rax, [rsp]",
        "add rsp, 40",
        ".cfi_adjust_cfa_offset -40",
        "ret",
        ".cfi_endproc",
        plan = sym capi::deepbind::plan,
        real = sym capi::deepbind::REAL_DLOPEN,
    )
}

// ---- Threads ----

/// C `pthread_attr_setstacksize`: records the size asked for plus the stack this library's
/// thread-local storage takes from every thread glibc starts, so the thread has the room it
/// would have without gpa (see `gpa::__capi::threads`).
///
/// # Safety
/// As for C's `pthread_attr_setstacksize`.
#[no_mangle]
pub unsafe extern "C" fn pthread_attr_setstacksize(
    attr: *mut libc::pthread_attr_t,
    size: libc::size_t,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::threads::pthread_attr_setstacksize(attr, size) }
}

/// C `pthread_getattr_np`: libc's, with the calling thread marked as inside it, so that an
/// allocation glibc makes there does not ask for the thread's stack again under the lock
/// glibc holds (see `gpa::__capi::threads`).
///
/// # Safety
/// As for C's `pthread_getattr_np`.
#[no_mangle]
pub unsafe extern "C" fn pthread_getattr_np(
    thread: libc::pthread_t,
    attr: *mut libc::pthread_attr_t,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::threads::pthread_getattr_np(thread, attr) }
}

/// C `pthread_sigmask`: in check and guard modes a mask blocking every signal leaves out the
/// leak scan's stop signal, so the thread can still be stopped at exit (see
/// `gpa::__capi::threads`).
///
/// # Safety
/// As for C's `pthread_sigmask`.
#[no_mangle]
pub unsafe extern "C" fn pthread_sigmask(
    how: c_int,
    set: *const libc::sigset_t,
    old: *mut libc::sigset_t,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::threads::pthread_sigmask(how, set, old) }
}

/// C `sigprocmask`: as [`pthread_sigmask`].
///
/// # Safety
/// As for C's `sigprocmask`.
#[no_mangle]
pub unsafe extern "C" fn sigprocmask(
    how: c_int,
    set: *const libc::sigset_t,
    old: *mut libc::sigset_t,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::threads::sigprocmask(how, set, old) }
}

// ---- Signals: gpa's fault handler stays invisible (forwarded to `gpa::__capi::exit`) ----

/// C `sigaltstack`: the alternate stack gpa gives a thread for its fault handler stays
/// invisible; a program that asks finds none and may install its own.
///
/// # Safety
/// As for C's `sigaltstack`.
#[no_mangle]
pub unsafe extern "C" fn sigaltstack(new: *const c_void, old: *mut c_void) -> c_int {
    // SAFETY: forwarded caller contract (the pointers are C `stack_t`s).
    unsafe { capi::threads::sigaltstack(new.cast(), old.cast()) }
}

/// C `sigaction`: for `SIGSEGV`, `SIGBUS`, `SIGABRT`, `SIGFPE` and `SIGILL`, reads and sets
/// the program's own action, which gpa's fault handler calls for faults that are not gpa's.
///
/// # Safety
/// As for C's `sigaction`.
#[no_mangle]
pub unsafe extern "C" fn sigaction(
    signal: c_int,
    action: *const c_void,
    old: *mut c_void,
) -> c_int {
    // SAFETY: forwarded caller contract (the pointers are C `struct sigaction`s).
    unsafe { capi::exit::sigaction(signal, action.cast(), old.cast()) }
}

/// glibc's `__sigaction`: as [`sigaction`].
///
/// # Safety
/// As for C's `sigaction`.
#[no_mangle]
pub unsafe extern "C" fn __sigaction(
    signal: c_int,
    action: *const c_void,
    old: *mut c_void,
) -> c_int {
    // SAFETY: forwarded caller contract (the pointers are C `struct sigaction`s).
    unsafe { capi::exit::sigaction(signal, action.cast(), old.cast()) }
}

/// C `sigset` (System V): as [`sigaction`] with no flags, or `SIG_HOLD` to block the signal.
///
/// # Safety
/// As for C's `sigset`.
#[no_mangle]
pub unsafe extern "C" fn sigset(signal: c_int, disposition: usize) -> usize {
    // SAFETY: forwarded caller contract.
    unsafe { capi::exit::sigset(signal, disposition) }
}

/// C `sigvec` (BSD; glibc keeps it for old binaries): as [`sigaction`], with a 32-bit mask and
/// `SV_*` flags.
///
/// # Safety
/// As for C's `sigvec`.
#[no_mangle]
pub unsafe extern "C" fn sigvec(signal: c_int, vector: *const c_void, old: *mut c_void) -> c_int {
    // SAFETY: forwarded caller contract (the pointers are C `struct sigvec`s).
    unsafe { capi::exit::sigvec(signal, vector.cast(), old.cast()) }
}

/// C `signal`: as [`sigaction`], with glibc's (BSD) semantics.
///
/// # Safety
/// As for C's `signal`.
#[no_mangle]
pub unsafe extern "C" fn signal(signal: c_int, handler: usize) -> usize {
    // SAFETY: forwarded caller contract.
    unsafe { capi::exit::signal(signal, handler, false) }
}

/// C `bsd_signal`: as [`signal`].
///
/// # Safety
/// As for C's `signal`.
#[no_mangle]
pub unsafe extern "C" fn bsd_signal(signal: c_int, handler: usize) -> usize {
    // SAFETY: forwarded caller contract.
    unsafe { capi::exit::signal(signal, handler, false) }
}

/// C `ssignal` (glibc's alias of [`signal`]).
///
/// # Safety
/// As for C's `signal`.
#[no_mangle]
pub unsafe extern "C" fn ssignal(signal: c_int, handler: usize) -> usize {
    // SAFETY: forwarded caller contract.
    unsafe { capi::exit::signal(signal, handler, false) }
}

/// C `sysv_signal`: as [`sigaction`], with System V semantics (reset on delivery).
///
/// # Safety
/// As for C's `sysv_signal`.
#[no_mangle]
pub unsafe extern "C" fn sysv_signal(signal: c_int, handler: usize) -> usize {
    // SAFETY: forwarded caller contract.
    unsafe { capi::exit::signal(signal, handler, true) }
}

/// glibc's `__sysv_signal`: as [`sysv_signal`].
///
/// # Safety
/// As for C's `sysv_signal`.
#[no_mangle]
pub unsafe extern "C" fn __sysv_signal(signal: c_int, handler: usize) -> usize {
    // SAFETY: forwarded caller contract.
    unsafe { capi::exit::signal(signal, handler, true) }
}

/// C++ ABI `__cxa_atexit` (C's `atexit` calls it): in check and guard modes the exit report
/// is registered first, so that it runs after every exit function (see
/// `gpa::__capi::exit::cxa_atexit`), then `function` is registered with the C library.
///
/// # Safety
/// As for the C++ ABI's `__cxa_atexit`.
#[no_mangle]
pub unsafe extern "C" fn __cxa_atexit(
    function: capi::exit::ExitFunction,
    argument: *mut c_void,
    dso_handle: *mut c_void,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::exit::cxa_atexit(function, argument, dso_handle) }
}

/// glibc's `on_exit`: as [`__cxa_atexit`], the exit report is registered first (check and
/// guard modes), then `function` with the C library (see `gpa::__capi::exit::on_exit`).
///
/// # Safety
/// As for glibc's `on_exit`.
#[no_mangle]
pub unsafe extern "C" fn on_exit(
    function: capi::exit::OnExitFunction,
    argument: *mut c_void,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::exit::on_exit(function, argument) }
}

// ---- Processes: `_exit`, `exec` and `posix_spawn` (forwarded to `gpa::__capi::process`) ----

/// C `_exit`: the report first (check mode), then the end of the process. dash ends every
/// `sh -c` this way, so `atexit` hooks never run.
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn _exit(status: c_int) -> ! {
    capi::process::exit_now(status)
}

/// C `daemon`: glibc's ends the parent with its internal `_exit`, which [`_exit`] never sees;
/// this one ends it through the report (see `gpa::__capi::process::daemon`).
///
/// # Safety
/// As for C's `daemon`.
#[no_mangle]
pub unsafe extern "C" fn daemon(nochdir: c_int, noclose: c_int) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::daemon::daemon(nochdir, noclose) }
}

/// C `_Exit`: as [`_exit`].
///
/// # Safety
/// None beyond C's.
#[no_mangle]
pub unsafe extern "C" fn _Exit(status: c_int) -> ! {
    capi::process::exit_now(status)
}

/// C `clone` (x86-64): glibc's, with the child's function wrapped when the child copies the
/// memory, so that its end is checked (see `gpa::__capi::process::clone`). The variadic tail
/// (`parent_tid`, `tls`, `child_tid`) is taken as fixed arguments: the System V ABI passes
/// both alike, and glibc reads each only for the flag that names it.
///
/// # Safety
/// As for C's `clone`.
#[cfg(target_arch = "x86_64")]
#[no_mangle]
pub unsafe extern "C" fn clone(
    function: capi::process::CloneFn,
    stack: *mut c_void,
    flags: c_int,
    argument: *mut c_void,
    parent_tid: *mut libc::pid_t,
    tls: *mut c_void,
    child_tid: *mut libc::pid_t,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::clone(function, stack, flags, argument, parent_tid, tls, child_tid) }
}

/// C `execve`.
///
/// # Safety
/// As for C's `execve`.
#[no_mangle]
pub unsafe extern "C" fn execve(
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::execve(path, argv, envp) }
}

/// C `chroot`: what the report needs is opened first, so that the process can still report
/// from inside its new root (see `gpa::__capi::process::chroot`).
///
/// # Safety
/// As for C's `chroot`.
#[no_mangle]
pub unsafe extern "C" fn chroot(path: *const c_char) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::chroot(path) }
}

/// C `prctl` (variadic in C; its arguments read as four `unsigned long`s, as glibc reads
/// them): before `PR_SET_SECCOMP`, what the report needs is opened (see
/// `gpa::__capi::process::confine`).
///
/// # Safety
/// As for C's `prctl`.
#[no_mangle]
pub unsafe extern "C" fn prctl(
    option: c_int,
    a2: core::ffi::c_ulong,
    a3: core::ffi::c_ulong,
    a4: core::ffi::c_ulong,
    a5: core::ffi::c_ulong,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::confine::prctl(option, a2, a3, a4, a5) }
}

/// C `unshare`: with `CLONE_NEWNS`, under `gpa run`, the report directory is held open first
/// and passed on to the programs the process starts (see `gpa::__capi::process::unshare`).
///
/// # Safety
/// As for C's `unshare`.
#[no_mangle]
pub unsafe extern "C" fn unshare(flags: c_int) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::unshare(flags) }
}

/// C `setns`: as `unshare` when it may enter a mount namespace.
///
/// # Safety
/// As for C's `setns`.
#[no_mangle]
pub unsafe extern "C" fn setns(fd: c_int, nstype: c_int) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::setns(fd, nstype) }
}

/// C `syscall(number, ...)` (x86-64): glibc's wrapper's work (the arguments moved to the
/// kernel's registers, the seventh from the stack; `errno` and -1 on failure), except for
/// `clone` and `unshare` with `CLONE_NEWNS`, `clone3`, `setns`, `chroot`, `pivot_root`,
/// `seccomp`, `landlock_restrict_self`, `exit_group`, `execve`, `execveat`, `close`,
/// `close_range`, `dup2`, `dup3`, `setrlimit` and `prlimit64`, which go through
/// `gpa::__capi::process::syscall_watched` (the report directory held open first, as the
/// wrappers of those calls do; the report at `exit_group`; the `exec` recorded; the report's
/// files opened before `RLIMIT_NOFILE`'s hard limit goes down). Naked, so
/// that every other call, and a `clone` child, runs no frame of gpa's.
///
/// # Safety
/// As for C's `syscall`.
#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[no_mangle]
pub unsafe extern "C" fn syscall(
    number: c_long,
    a1: c_long,
    a2: c_long,
    a3: c_long,
    a4: c_long,
    a5: c_long,
    a6: c_long,
) -> c_long {
    core::arch::naked_asm!(
        "cmp rdi, {clone}",
        "je 3f",
        "cmp rdi, {unshare}",
        "je 3f",
        "cmp rdi, {setns}",
        "je {watched}",
        "cmp rdi, {chroot}",
        "je {watched}",
        "cmp rdi, {pivot_root}",
        "je {watched}",
        "cmp rdi, {seccomp}",
        "je {watched}",
        "cmp rdi, {landlock}",
        "je {watched}",
        "cmp rdi, {exit_group}",
        "je {watched}",
        "cmp rdi, {execve}",
        "je {watched}",
        "cmp rdi, {execveat}",
        "je {watched}",
        "cmp rdi, {clone3}",
        "je {watched}",
        "cmp rdi, {close}",
        "je {watched}",
        "cmp rdi, {close_range}",
        "je {watched}",
        "cmp rdi, {dup2}",
        "je {watched}",
        "cmp rdi, {dup3}",
        "je {watched}",
        "cmp rdi, {setrlimit}",
        "je {watched}",
        "cmp rdi, {prlimit64}",
        "je {watched}",
        "2:",
        "mov rax, rdi",
        "mov rdi, rsi",
        "mov rsi, rdx",
        "mov rdx, rcx",
        "mov r10, r8",
        "mov r8, r9",
        "mov r9, [rsp + 8]",
        "syscall",
        "cmp rax, -4095",
        "jae 4f",
        "ret",
        // `clone` and `unshare`: watched with `CLONE_NEWNS` only.
        "3:",
        "test esi, {newns}",
        "jnz {watched}",
        "jmp 2b",
        "4:",
        "neg rax",
        "mov rdi, rax",
        "jmp {failed}",
        clone = const libc::SYS_clone,
        unshare = const libc::SYS_unshare,
        setns = const libc::SYS_setns,
        chroot = const libc::SYS_chroot,
        pivot_root = const libc::SYS_pivot_root,
        seccomp = const libc::SYS_seccomp,
        landlock = const libc::SYS_landlock_restrict_self,
        exit_group = const libc::SYS_exit_group,
        execve = const libc::SYS_execve,
        execveat = const libc::SYS_execveat,
        clone3 = const libc::SYS_clone3,
        close = const libc::SYS_close,
        close_range = const libc::SYS_close_range,
        dup2 = const libc::SYS_dup2,
        dup3 = const libc::SYS_dup3,
        setrlimit = const libc::SYS_setrlimit,
        prlimit64 = const libc::SYS_prlimit64,
        newns = const libc::CLONE_NEWNS,
        watched = sym capi::process::syscall_watched,
        failed = sym capi::process::syscall_failed,
    )
}

/// C `close_range`: the report directory's descriptor, when a process in another mount
/// namespace holds one, is left open (see `gpa::__capi::process::descriptors`).
#[no_mangle]
pub extern "C" fn close_range(first: c_uint, last: c_uint, flags: c_int) -> c_int {
    capi::process::descriptors::close_range(first, last, flags)
}

/// C `close`: a descriptor gpa holds (the report directory in a sandbox, `/proc` in a jail)
/// is left open, 0 returned (see `gpa::__capi::process::descriptors`).
#[no_mangle]
pub extern "C" fn close(fd: c_int) -> c_int {
    capi::process::descriptors::close(fd)
}

/// C `dup2`: a descriptor gpa holds at `new` moves elsewhere first.
#[no_mangle]
pub extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    capi::process::descriptors::dup2(old, new)
}

/// C `dup3`: as `dup2`.
#[no_mangle]
pub extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    capi::process::descriptors::dup3(old, new, flags)
}

/// C `closefrom`: as `close_range` to the last descriptor.
#[no_mangle]
pub extern "C" fn closefrom(low: c_int) {
    capi::process::descriptors::closefrom(low)
}

/// C `execveat`.
///
/// # Safety
/// As for C's `execveat`.
#[no_mangle]
pub unsafe extern "C" fn execveat(
    dirfd: c_int,
    path: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    flags: c_int,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::execveat(dirfd, path, argv, envp, flags) }
}

/// C `fexecve`.
///
/// # Safety
/// As for C's `fexecve`.
#[no_mangle]
pub unsafe extern "C" fn fexecve(
    fd: c_int,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::fexecve(fd, argv, envp) }
}

/// C `execv`.
///
/// # Safety
/// As for C's `execv`.
#[no_mangle]
pub unsafe extern "C" fn execv(path: *const c_char, argv: *const *const c_char) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::execv(path, argv) }
}

/// C `execvp`.
///
/// # Safety
/// As for C's `execvp`.
#[no_mangle]
pub unsafe extern "C" fn execvp(file: *const c_char, argv: *const *const c_char) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::execvp(file, argv) }
}

/// C `execvpe`.
///
/// # Safety
/// As for C's `execvpe`.
#[no_mangle]
pub unsafe extern "C" fn execvpe(
    file: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::execvpe(file, argv, envp) }
}

/// C `posix_spawn`.
///
/// # Safety
/// As for C's `posix_spawn`.
#[no_mangle]
pub unsafe extern "C" fn posix_spawn(
    pid: *mut libc::pid_t,
    path: *const c_char,
    file_actions: *const libc::posix_spawn_file_actions_t,
    attributes: *const libc::posix_spawnattr_t,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::posix_spawn(pid, path, file_actions, attributes, argv, envp, false) }
}

/// C `posix_spawnp`.
///
/// # Safety
/// As for C's `posix_spawnp`.
#[no_mangle]
pub unsafe extern "C" fn posix_spawnp(
    pid: *mut libc::pid_t,
    file: *const c_char,
    file_actions: *const libc::posix_spawn_file_actions_t,
    attributes: *const libc::posix_spawnattr_t,
    argv: *const *mut c_char,
    envp: *const *mut c_char,
) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::posix_spawn(pid, file, file_actions, attributes, argv, envp, true) }
}

/// C `system`.
///
/// # Safety
/// As for C's `system`.
#[no_mangle]
pub unsafe extern "C" fn system(line: *const c_char) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::shell::system(line) }
}

/// C `popen`.
///
/// # Safety
/// As for C's `popen`.
#[no_mangle]
pub unsafe extern "C" fn popen(command: *const c_char, mode: *const c_char) -> *mut c_void {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::shell::popen(command, mode) }
}

/// C `wordexp`.
///
/// # Safety
/// As for C's `wordexp`.
#[no_mangle]
pub unsafe extern "C" fn wordexp(words: *const c_char, result: *mut c_void, flags: c_int) -> c_int {
    // SAFETY: forwarded caller contract.
    unsafe { capi::process::shell::wordexp(words, result, flags) }
}

/// The variadic `execl`, `execlp` and `execle`, which stable Rust cannot define: each is a
/// trampoline (x86-64 System V) that lays the argument registers out in front of the
/// arguments the caller passed on the stack, so that the whole list is one null-terminated
/// array, and calls `gpa::__capi::process::exec_list` with it. On other architectures glibc's
/// versions run (their `exec` is then not recorded).
#[cfg(target_arch = "x86_64")]
mod variadic {
    use core::ffi::{c_char, c_int};

    use gpa::__capi::process::{exec_list, ExecList};

    macro_rules! trampoline {
        ($name:ident, $kind:expr, $helper:ident) => {
            extern "C" fn $helper(path: *const c_char, list: *const *const c_char) -> c_int {
                // SAFETY: `list` is the caller's argument list, laid out by the trampoline
                // (C's contract: null-terminated, then `envp` for `execle`).
                unsafe { exec_list($kind, path, list) }
            }

            /// C's variadic exec function of this name (see the module docs).
            ///
            /// # Safety
            /// As for C's function: a null-terminated argument list.
            #[unsafe(naked)]
            #[no_mangle]
            pub unsafe extern "C" fn $name(_path: *const c_char, _arg: *const c_char) -> c_int {
                // At entry: rdi = path, rsi, rdx, rcx, r8, r9 = the first five list entries,
                // [rsp] = return address, [rsp + 8...] = the rest of the list. Popping the
                // return address and pushing r9..rsi makes the list contiguous at rsp; the
                // stack stays 16-byte aligned at the call (8 + 40 + 8 bytes moved).
                core::arch::naked_asm!(
                    "pop r11",
                    "push r9",
                    "push r8",
                    "push rcx",
                    "push rdx",
                    "push rsi",
                    "mov rsi, rsp",
                    "push r11",
                    "call {helper}",
                    "pop r11",
                    "add rsp, 40",
                    "push r11",
                    "ret",
                    helper = sym $helper,
                )
            }
        };
    }

    trampoline!(execl, ExecList::Execl, execl_list);
    trampoline!(execlp, ExecList::Execlp, execlp_list);
    trampoline!(execle, ExecList::Execle, execle_list);
}

/// libc's memory and string functions (`memcpy`, `strlen`, `__memcpy_chk`, `wcscpy`...) and
/// the calls that hand a buffer to the kernel or a `FILE` (`read`, `send`, `fread`...): each export is
/// one indirect jump through its slot in `gpa::__capi::libc_calls`, which holds glibc's
/// implementation in fast mode and a checking function in check and guard modes (see that
/// module). x86-64 only; elsewhere glibc's functions run unchecked.
#[cfg(target_arch = "x86_64")]
mod libc_calls {
    use gpa::__capi::libc_calls as slots;

    macro_rules! jump_through {
        ($($name:ident => $slot:ident;)*) => {
            $(
                #[doc = concat!("C `", stringify!($name), "`: a jump through its slot.")]
                ///
                /// # Safety
                /// As for C's function of this name.
                #[unsafe(naked)]
                #[no_mangle]
                pub unsafe extern "C" fn $name() {
                    core::arch::naked_asm!(
                        "jmp qword ptr [rip + {slot}]",
                        slot = sym slots::$slot,
                    )
                }
            )*
        };
    }

    // `index`, `rindex`, `pread`, `pwrite`, `__pread_chk`, `preadv64`, `pwritev64`,
    // `preadv64v2` and `pwritev64v2` are glibc's other names of `strchr`, `strrchr`, `pread64`,
    // `pwrite64`, `__pread64_chk`, `preadv`, `pwritev`, `preadv2` and `pwritev2`: they share
    // their slots.
    // So are `open64`, `openat64`, `stat64`, `lstat64`, `fstat64`, `fstatat64`,
    // `getrlimit64`, `setrlimit64` and `prlimit64` on x86-64 (one layout, one function).
    jump_through! {
        memcpy => MEMCPY;
        memmove => MEMMOVE;
        mempcpy => MEMPCPY;
        memset => MEMSET;
        memcmp => MEMCMP;
        memchr => MEMCHR;
        strlen => STRLEN;
        strnlen => STRNLEN;
        strcpy => STRCPY;
        stpcpy => STPCPY;
        strcat => STRCAT;
        strncpy => STRNCPY;
        strncat => STRNCAT;
        strcmp => STRCMP;
        strncmp => STRNCMP;
        strchr => STRCHR;
        __memcpy_chk => MEMCPY_CHK;
        __memmove_chk => MEMMOVE_CHK;
        __mempcpy_chk => MEMPCPY_CHK;
        __memset_chk => MEMSET_CHK;
        __strcpy_chk => STRCPY_CHK;
        __stpcpy_chk => STPCPY_CHK;
        __strcat_chk => STRCAT_CHK;
        __strncpy_chk => STRNCPY_CHK;
        index => STRCHR;
        strrchr => STRRCHR;
        rindex => STRRCHR;
        strstr => STRSTR;
        strcasestr => STRCASESTR;
        strpbrk => STRPBRK;
        strcspn => STRCSPN;
        strspn => STRSPN;
        memrchr => MEMRCHR;
        rawmemchr => RAWMEMCHR;
        strcasecmp => STRCASECMP;
        strncasecmp => STRNCASECMP;
        stpncpy => STPNCPY;
        memccpy => MEMCCPY;
        bcopy => BCOPY;
        bzero => BZERO;
        explicit_bzero => EXPLICIT_BZERO;
        strdup => STRDUP;
        strndup => STRNDUP;
        wcslen => WCSLEN;
        wcsnlen => WCSNLEN;
        wcscpy => WCSCPY;
        wcscmp => WCSCMP;
        wcschr => WCSCHR;
        wcsrchr => WCSRCHR;
        wmemchr => WMEMCHR;
        wmemcmp => WMEMCMP;
        wmemcpy => WMEMCPY;
        wmemset => WMEMSET;
        __stpncpy_chk => STPNCPY_CHK;
        __explicit_bzero_chk => EXPLICIT_BZERO_CHK;
        __wcscpy_chk => WCSCPY_CHK;
        __wmemcpy_chk => WMEMCPY_CHK;
        __wmemset_chk => WMEMSET_CHK;
        read => READ;
        write => WRITE;
        pread => PREAD64;
        pread64 => PREAD64;
        pwrite => PWRITE64;
        pwrite64 => PWRITE64;
        recv => RECV;
        send => SEND;
        recvfrom => RECVFROM;
        sendto => SENDTO;
        readv => READV;
        writev => WRITEV;
        fread => FREAD;
        fwrite => FWRITE;
        fgets => FGETS;
        puts => PUTS;
        fputs => FPUTS;
        fputs_unlocked => FPUTS_UNLOCKED;
        __read_chk => READ_CHK;
        __pread_chk => PREAD64_CHK;
        __pread64_chk => PREAD64_CHK;
        __recv_chk => RECV_CHK;
        __fread_chk => FREAD_CHK;
        __fgets_chk => FGETS_CHK;
        sprintf => SPRINTF;
        snprintf => SNPRINTF;
        vsprintf => VSPRINTF;
        vsnprintf => VSNPRINTF;
        __sprintf_chk => SPRINTF_CHK;
        __snprintf_chk => SNPRINTF_CHK;
        __vsprintf_chk => VSPRINTF_CHK;
        __vsnprintf_chk => VSNPRINTF_CHK;
        recvmsg => RECVMSG;
        sendmsg => SENDMSG;
        preadv => PREADV;
        preadv64 => PREADV;
        pwritev => PWRITEV;
        pwritev64 => PWRITEV;
        preadv2 => PREADV2;
        preadv64v2 => PREADV2;
        pwritev2 => PWRITEV2;
        pwritev64v2 => PWRITEV2;
        wcscat => WCSCAT;
        wcsncpy => WCSNCPY;
        wcsncat => WCSNCAT;
        __wcscat_chk => WCSCAT_CHK;
        __wcsncpy_chk => WCSNCPY_CHK;
        wcpcpy => WCPCPY;
        wcpncpy => WCPNCPY;
        __wcpcpy_chk => WCPCPY_CHK;
        __wcpncpy_chk => WCPNCPY_CHK;
        __wcsncat_chk => WCSNCAT_CHK;
        printf => PRINTF;
        fprintf => FPRINTF;
        dprintf => DPRINTF;
        asprintf => ASPRINTF;
        vprintf => VPRINTF;
        vfprintf => VFPRINTF;
        vdprintf => VDPRINTF;
        vasprintf => VASPRINTF;
        __printf_chk => PRINTF_CHK;
        __fprintf_chk => FPRINTF_CHK;
        __dprintf_chk => DPRINTF_CHK;
        __asprintf_chk => ASPRINTF_CHK;
        __vprintf_chk => VPRINTF_CHK;
        __vfprintf_chk => VFPRINTF_CHK;
        __vdprintf_chk => VDPRINTF_CHK;
        __vasprintf_chk => VASPRINTF_CHK;
        recvmmsg => RECVMMSG;
        sendmmsg => SENDMMSG;
        open => OPEN;
        open64 => OPEN;
        openat => OPENAT;
        openat64 => OPENAT;
        access => ACCESS;
        unlink => UNLINK;
        mkdir => MKDIR;
        rename => RENAME;
        chdir => CHDIR;
        stat => STAT;
        stat64 => STAT;
        lstat => LSTAT;
        lstat64 => LSTAT;
        fstat => FSTAT;
        fstat64 => FSTAT;
        fstatat => FSTATAT;
        fstatat64 => FSTATAT;
        statx => STATX;
        readlink => READLINK;
        getcwd => GETCWD;
        getdents64 => GETDENTS64;
        bind => BIND;
        connect => CONNECT;
        accept => ACCEPT;
        accept4 => ACCEPT4;
        getsockname => GETSOCKNAME;
        getpeername => GETPEERNAME;
        getsockopt => GETSOCKOPT;
        setsockopt => SETSOCKOPT;
        socketpair => SOCKETPAIR;
        pipe => PIPE;
        pipe2 => PIPE2;
        clock_gettime => CLOCK_GETTIME;
        gettimeofday => GETTIMEOFDAY;
        nanosleep => NANOSLEEP;
        clock_nanosleep => CLOCK_NANOSLEEP;
        getrlimit => GETRLIMIT;
        getrlimit64 => GETRLIMIT;
        setrlimit => SETRLIMIT;
        setrlimit64 => SETRLIMIT;
        prlimit => PRLIMIT;
        prlimit64 => PRLIMIT;
        uname => UNAME;
        sysinfo => SYSINFO;
        getrandom => GETRANDOM;
        poll => POLL;
        ppoll => PPOLL;
        select => SELECT;
        epoll_ctl => EPOLL_CTL;
        epoll_wait => EPOLL_WAIT;
        epoll_pwait => EPOLL_PWAIT;
        ioctl => IOCTL;
    }
}
