//! The C allocation ABI on the GPA: what `libgpa_preload.so` (the `gpa-capi` crate) exports
//! for `LD_PRELOAD`, and what `gpa run` relies on.
//!
//! # Design
//! The exported `malloc`, `free`, ... in the `capi/` crate only forward here; this module holds
//! the C semantics (`calloc` overflow checks, `realloc`'s null and size-0 cases as glibc
//! documents them, `errno`, alignment rules of `posix_memalign` and friends) over one
//! process-wide [`GeneralPurposeAllocator`] kept in a [`OnceLock`]. Its configuration comes
//! from environment variables ([`settings`]), read with `getenv` only, so the first `malloc`
//! can happen anywhere: before `main`, from `dlsym` during start-up, in a thread-exit hook.
//! Every request goes through `GlobalAlloc::alloc`, which routes requests made while the GPA
//! is busy (re-entrant ones) to its internal heap. `pthread_atfork` handlers hold every GPA
//! lock across `fork`, so a child of a multithreaded program can allocate.
//!
//! Two modes: **check** (safety, traces through the system unwinder since C programs have no
//! frame pointers, a guard in front of every block for underflows ([`guard`]), findings
//! recorded and reported at exit with a conservative leak scan, [`scan`], [`exit`]) and
//! **fast** (no checks, no traces, no report: the GPA's blocks as they are).
//!
//! # Invariants
//! * Nothing on the path to the first allocation allocates: [`gpa`] builds the GPA from
//!   `getenv` results and integers only.
//! * Every block handed to C is 16-byte aligned at least (`max_align_t`), and its layout as
//!   the GPA knows it has alignment [`MIN_ALIGN`] unless the caller asked for more.

pub mod exit;
pub mod guard;
pub mod scan;
pub mod settings;
#[cfg(target_arch = "x86_64")]
pub mod unwind;

use core::alloc::{GlobalAlloc, Layout};
use std::sync::OnceLock;

use crate::gpa::{Config, GeneralPurposeAllocator, OnError};
use crate::trace::TraceMethod;
use settings::{Mode, Settings};

/// The alignment of every `malloc` block (glibc's `MALLOC_ALIGNMENT` on 64-bit targets).
pub const MIN_ALIGN: usize = 16;

static STATE: OnceLock<State> = OnceLock::new();

/// The process-wide allocator and the settings it was built from.
pub struct State {
    /// The allocator every C entry point uses.
    pub gpa: GeneralPurposeAllocator,
    /// What the environment asked for.
    pub settings: Settings,
}

/// The process-wide state, built from the environment on first use.
#[inline]
pub fn state() -> &'static State {
    match STATE.get() {
        Some(state) => state,
        None => init_state(),
    }
}

#[cold]
#[inline(never)]
fn init_state() -> &'static State {
    let state = STATE.get_or_init(|| {
        let settings = Settings::from_env();
        let config = match settings.mode {
            Mode::Fast => Config::fast(),
            Mode::Check => Config {
                safety: true,
                stack_trace_frames: settings.frames,
                trace_method: trace_method(),
                on_error: OnError::Record,
                ..Config::fast()
            },
        };
        let config = Config {
            enable_memory_limit: settings.memory_limit.is_some(),
            ..config
        };
        let gpa = GeneralPurposeAllocator::with_config(config);
        if let Some(limit) = settings.memory_limit {
            gpa.set_requested_memory_limit(limit);
        }
        State { gpa, settings }
    });
    // Fast mode: `malloc` and `free` start from one thread-local load (see `gpa::c_malloc`).
    state.gpa.designate_c_heap();
    state
}

/// How check mode captures stack traces: the caching unwinder where there is one
/// (`GPA_UNWINDER=libgcc` selects libgcc's, for comparison; `GPA_UNWIND_CHECK=1` compares
/// every trace of the caching unwinder with libgcc's, a debug setting for tests).
fn trace_method() -> TraceMethod {
    #[cfg(target_arch = "x86_64")]
    if settings::env_bytes(c"GPA_UNWINDER") != Some(b"libgcc") {
        if settings::env_bytes(c"GPA_UNWIND_CHECK") == Some(b"1") {
            unwind::enable_cross_check();
        }
        return TraceMethod::CustomId(unwind::capture_user);
    }
    TraceMethod::Unwinder
}

/// The process-wide allocator.
#[inline]
pub fn gpa() -> &'static GeneralPurposeAllocator {
    &state().gpa
}

#[cold]
fn fail(code: i32) -> *mut u8 {
    // SAFETY: `__errno_location` returns the calling thread's errno, always valid.
    unsafe { *libc::__errno_location() = code };
    core::ptr::null_mut()
}

/// A block of `size` bytes at `align` (a power of two, 16 or more), guarded in check mode;
/// null on failure (errno untouched).
#[inline]
fn try_alloc(size: usize, align: usize) -> *mut u8 {
    let gpa = gpa();
    if gpa.config().safety {
        return guard::alloc(gpa, size, align);
    }
    let Ok(layout) = Layout::from_size_align(size, align) else {
        return core::ptr::null_mut();
    };
    // SAFETY: the GPA accepts any size, zero included (C's `malloc(0)` gets a unique block).
    unsafe { GlobalAlloc::alloc(gpa, layout) }
}

#[inline]
fn alloc_aligned(size: usize, align: usize) -> *mut u8 {
    let block = try_alloc(size, align);
    if block.is_null() {
        return fail(libc::ENOMEM);
    }
    block
}

/// C `malloc`: `size` bytes aligned to 16; null with `errno = ENOMEM` on failure.
#[inline]
pub fn malloc(size: usize) -> *mut u8 {
    let block = crate::gpa::c_malloc(size);
    if !block.is_null() {
        return block;
    }
    malloc_general(size)
}

#[inline(never)]
fn malloc_general(size: usize) -> *mut u8 {
    let gpa = gpa();
    if gpa.is_plain() {
        let block = gpa.malloc(size);
        gpa.sync_c_heap();
        return if block.is_null() {
            fail(libc::ENOMEM)
        } else {
            block
        };
    }
    alloc_aligned(size, MIN_ALIGN)
}

/// C `free`: null is ignored; in check mode a bad pointer is reported, not followed.
///
/// # Safety
/// In fast mode, `memory` is null or a live block from these functions.
#[inline]
pub unsafe fn free(memory: *mut u8) {
    // SAFETY: forwarded caller contract.
    if unsafe { crate::gpa::c_free(memory) } {
        return;
    }
    // SAFETY: forwarded caller contract.
    unsafe { free_general(memory) }
}

/// # Safety
/// As for [`free`].
#[inline(never)]
unsafe fn free_general(memory: *mut u8) {
    // SAFETY: forwarded caller contract.
    if unsafe { crate::gpa::c_free_validated(memory) } {
        return;
    }
    let gpa = gpa();
    if gpa.is_plain() || !gpa.config().safety {
        // SAFETY: forwarded caller contract.
        return unsafe { gpa.free_unsized(memory) };
    }
    if !memory.is_null() {
        free_checked(gpa, memory);
    }
}

fn free_checked(gpa: &GeneralPurposeAllocator, memory: *mut u8) {
    match guard::base_of(gpa, memory) {
        // SAFETY: a live block with its guard; check mode accepts any pointer in `free`.
        Some((base, pad)) => unsafe {
            guard::check(gpa, base, pad);
            gpa.free_unsized(base);
        },
        // SAFETY: check mode: the GPA diagnoses the pointer (double or invalid free).
        None => unsafe { gpa.free_unsized(guard::unknown_base(memory)) },
    }
}

/// C `calloc`: `count * size` zeroed bytes; null with `ENOMEM` when the product overflows.
pub fn calloc(count: usize, size: usize) -> *mut u8 {
    let Some(total) = count.checked_mul(size) else {
        return fail(libc::ENOMEM);
    };
    let gpa = gpa();
    if gpa.is_plain() {
        // Skips clearing memory still zero from the OS.
        let block = gpa.calloc(total);
        return if block.is_null() {
            fail(libc::ENOMEM)
        } else {
            block
        };
    }
    let block = malloc(total);
    if !block.is_null() {
        // SAFETY: a fresh block of `total` bytes.
        unsafe { core::ptr::write_bytes(block, 0, total) };
    }
    block
}

/// C `realloc` (glibc semantics): a null `memory` is `malloc(size)`; size 0 frees and returns
/// null; on failure null with `ENOMEM` and the old block untouched.
///
/// # Safety
/// As for [`free`].
pub unsafe fn realloc(memory: *mut u8, size: usize) -> *mut u8 {
    if memory.is_null() {
        return malloc(size);
    }
    if size == 0 {
        // SAFETY: forwarded caller contract.
        unsafe { free(memory) };
        return core::ptr::null_mut();
    }
    let gpa = gpa();
    if !gpa.config().safety {
        // SAFETY: forwarded caller contract; `size > 0`.
        let moved = unsafe { gpa.realloc_unsized(memory, size) };
        return if moved.is_null() {
            fail(libc::ENOMEM)
        } else {
            moved
        };
    }
    let Some((base, pad)) = guard::base_of(gpa, memory) else {
        // SAFETY: check mode: the GPA reports the bad pointer and returns null.
        unsafe {
            gpa.realloc_unsized(
                guard::unknown_base(memory),
                size.saturating_add(guard::FRONT),
            )
        };
        return fail(libc::ENOMEM);
    };
    let Some(total) = size.checked_add(pad) else {
        return fail(libc::ENOMEM);
    };
    // SAFETY: a live block with its guard; `total > 0`.
    let moved = unsafe {
        guard::check(gpa, base, pad);
        gpa.realloc_unsized(base, total)
    };
    if moved.is_null() {
        return fail(libc::ENOMEM);
    }
    // SAFETY: the moved block keeps its guard (contents are copied from its start).
    unsafe { moved.add(pad) }
}

/// C `reallocarray`: `realloc(memory, count * size)` with an overflow check (`ENOMEM`).
///
/// # Safety
/// As for [`free`].
pub unsafe fn reallocarray(memory: *mut u8, count: usize, size: usize) -> *mut u8 {
    match count.checked_mul(size) {
        // SAFETY: forwarded caller contract.
        Some(total) => unsafe { realloc(memory, total) },
        None => fail(libc::ENOMEM),
    }
}

/// C `posix_memalign`: `align` must be a power of two and a multiple of the pointer size
/// (else `EINVAL`); returns 0 or the error code, errno untouched, `*out` set on success.
///
/// # Safety
/// `out` is valid for a pointer write.
pub unsafe fn posix_memalign(out: *mut *mut u8, align: usize, size: usize) -> i32 {
    if !align.is_power_of_two() || align % core::mem::size_of::<usize>() != 0 {
        return libc::EINVAL;
    }
    let block = try_alloc(size.max(1), align.max(MIN_ALIGN));
    if block.is_null() {
        return libc::ENOMEM;
    }
    // SAFETY: caller contract.
    unsafe { out.write(block) };
    0
}

/// C `aligned_alloc` (glibc 2.38 rules): `align` must be a power of two, else `EINVAL`.
pub fn aligned_alloc(align: usize, size: usize) -> *mut u8 {
    if !align.is_power_of_two() {
        return fail(libc::EINVAL);
    }
    alloc_aligned(size.max(1), align.max(MIN_ALIGN))
}

/// C `memalign`: like glibc, an `align` that is not a power of two is rounded up to one.
pub fn memalign(align: usize, size: usize) -> *mut u8 {
    let Some(align) = align.max(MIN_ALIGN).checked_next_power_of_two() else {
        return fail(libc::EINVAL);
    };
    alloc_aligned(size.max(1), align)
}

/// C `valloc`: page-aligned.
pub fn valloc(size: usize) -> *mut u8 {
    alloc_aligned(size.max(1), crate::os::page_size())
}

/// C `pvalloc`: page-aligned, size rounded up to whole pages.
pub fn pvalloc(size: usize) -> *mut u8 {
    let page = crate::os::page_size();
    match size.max(1).checked_next_multiple_of(page) {
        Some(rounded) => alloc_aligned(rounded, page),
        None => fail(libc::ENOMEM),
    }
}

/// C `malloc_usable_size`: the bytes the caller may use (the requested size in check mode, so
/// that using them all never touches a canary); 0 for null or an unknown pointer.
pub fn malloc_usable_size(memory: *const u8) -> usize {
    if memory.is_null() {
        return 0;
    }
    let gpa = gpa();
    if !gpa.config().safety {
        return gpa.usable_size(memory);
    }
    guard::base_of(gpa, memory as *mut u8).map_or(0, |(base, pad)| gpa.usable_size(base) - pad)
}

/// C23 `free_sized`. In check mode the size is checked against the allocation (a mismatch is
/// reported as a layout mismatch); in fast mode it is ignored.
///
/// # Safety
/// As for [`free`].
pub unsafe fn free_sized(memory: *mut u8, size: usize) {
    // SAFETY: forwarded caller contract.
    unsafe { free_with_claim(memory, size, MIN_ALIGN) }
}

/// C23 `free_aligned_sized`: as [`free_sized`], with the alignment also checked.
///
/// # Safety
/// As for [`free`].
pub unsafe fn free_aligned_sized(memory: *mut u8, align: usize, size: usize) {
    // SAFETY: forwarded caller contract.
    unsafe { free_with_claim(memory, size, align.max(MIN_ALIGN)) }
}

/// # Safety
/// As for [`free`].
unsafe fn free_with_claim(memory: *mut u8, size: usize, align: usize) {
    let gpa = gpa();
    if !gpa.config().safety {
        // SAFETY: forwarded caller contract.
        return unsafe { gpa.free_unsized(memory) };
    }
    let Some((base, pad)) = guard::base_of(gpa, memory) else {
        if !memory.is_null() {
            free_checked(gpa, memory);
        }
        return;
    };
    let claimed = size
        .checked_add(pad)
        .and_then(|total| Layout::from_size_align(total, align).ok());
    let (Some(claimed), Some(actual)) = (claimed, gpa.block_layout(base)) else {
        return free_checked(gpa, memory);
    };
    // `aligned_alloc` and friends give zero-size requests one byte.
    let claimed = if size == 0 && actual.size() == pad + 1 {
        actual
    } else {
        claimed
    };
    // SAFETY: a live block with its guard; safety mode checks the claimed layout and reports
    // a mismatch.
    unsafe {
        guard::check(gpa, base, pad);
        crate::RawAllocator::free(gpa, core::ptr::NonNull::new_unchecked(base), claimed);
    }
}

/// Process start-up work, called from the preload library's constructor: builds the state
/// from the environment and, in check mode, arranges the report at exit.
pub fn init() {
    let state = state();
    if state.settings.mode == Mode::Check {
        exit::register();
        exit::register_crash_report();
    }
    // SAFETY: the handlers are `extern "C" fn()`s that live as long as the process.
    unsafe { libc::pthread_atfork(Some(fork_prepare), Some(fork_finish), Some(fork_finish)) };
}

/// Before `fork`: takes every GPA lock, so the child cannot inherit one held by a thread that
/// does not exist in it (another thread in the middle of a large allocation, say). Registered
/// first, this runs after the program's own prepare handlers, which may still allocate.
extern "C" fn fork_prepare() {
    gpa().prepare_fork();
}

/// After `fork`, in the parent and in the child: releases what [`fork_prepare`] took.
extern "C" fn fork_finish() {
    // SAFETY: `fork_prepare` ran on this GPA in the forking thread, and nothing released its
    // locks since (the child's only thread is that thread's copy).
    unsafe { gpa().finish_fork() }
}
