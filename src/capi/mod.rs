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
//! Three modes: **check** (safety, traces through the system unwinder since C programs have no
//! frame pointers, a guard in front of every block for underflows ([`guard`]), each block's
//! allocation family checked when it is released ([`family`]: C++ `operator new`/`delete`),
//! findings recorded and reported at exit with a conservative leak scan, [`scan`], [`exit`]),
//! **guard** (check mode with every block on pages of its own against an inaccessible guard
//! page, `Config::guard`; a `malloc` of fewer than 16 bytes is aligned to its size rounded up to
//! a power of two, the most any object of that size needs, so that its end touches the guard,
//! and with `GPA_GUARD_FLUSH` every `malloc` block is aligned to 1 byte, its end flush against
//! the guard: see `guard`, "Alignment slack")
//! and **fast** (no checks, no traces, no report: the GPA's blocks as they are).
//! `GPA_GUARD_SAMPLE` guards a sample of the blocks in check or fast mode. In every mode but
//! plain fast mode, a `SIGSEGV`, `SIGBUS` or other fatal signal ends with the report
//! ([`exit`]). In both,
//! blocks of libc's own allocator that reach `free`/`realloc` go back to libc ([`foreign`]),
//! and `dlclose` records the unloaded object for the report first ([`unload`], check mode);
//! `pthread_attr_setstacksize` gives a thread the stack it asked for on top of the preload
//! library's thread-locals, and a mask blocking every signal leaves the leak scan's stop
//! signal out in check mode ([`threads`]).
//! libc's memory and string functions (`memcpy`, `strlen`, `__memcpy_chk`...) are exported
//! too: in check and guard modes each call's ranges are checked against the heap before
//! glibc's function runs; in fast mode they jump straight to glibc's (`libc_calls`).
//!
//! # Invariants
//! * Nothing on the path to the first allocation allocates: [`gpa`] builds the GPA from
//!   `getenv` results and integers only.
//! * Every block handed to C is 16-byte aligned at least (`max_align_t`), and its layout as
//!   the GPA knows it has alignment [`MIN_ALIGN`] unless the caller asked for more; except in
//!   guard mode, where a block of implicit alignment (`malloc`, `calloc`, `realloc`, plain
//!   `operator new`) of fewer than 16 bytes is aligned to its size rounded up to a power of
//!   two, and under `GPA_GUARD_FLUSH` to 1 (`guard::block_align`).

#[cfg(target_arch = "x86_64")]
pub mod deepbind;
pub mod exit;
pub mod family;
pub mod foreign;
pub mod fork_streams;
pub mod guard;
#[cfg(target_arch = "x86_64")]
pub mod libc_calls;
pub mod mallinfo;
pub mod process;
pub mod profile;
pub(crate) mod recorded;
pub mod scan;
pub mod settings;
pub mod threads;
pub mod unload;

/// The leak options' syntax and suppression files, for `gpa run` to check its options with the
/// parsers the preload library uses (`cli/src/leaks.rs`).
pub mod leak_options {
    pub use crate::leakcheck::{thousands, Heuristics, KindSet};
    pub use crate::report::suppress::Suppressions;
}

use core::alloc::Layout;
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

/// The next definition of `name` after this library's (glibc's), from `dlsym(RTLD_NEXT)`,
/// remembered in `slot` (0: not looked up yet, or not found, then looked up again). `dlsym`
/// may allocate and takes the loader's lock, so what a signal handler may call is resolved at
/// start-up.
pub(crate) fn next_definition(
    slot: &core::sync::atomic::AtomicUsize,
    name: &core::ffi::CStr,
) -> Option<usize> {
    use core::sync::atomic::Ordering;
    let known = slot.load(Ordering::Acquire);
    if known != 0 {
        return Some(known);
    }
    // SAFETY: `dlsym` with `RTLD_NEXT` and a NUL-terminated name: the definition after this
    // library's in the search order.
    let found = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) } as usize;
    slot.store(found, Ordering::Release);
    (found != 0).then_some(found)
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
        settings::save_paths();
        let settings = Settings::from_env();
        let checked = Config {
            safety: true,
            stack_trace_frames: settings.frames,
            trace_method: trace_method(),
            on_error: OnError::Record,
            // Valgrind names the last `realloc` as a block's allocation site (it always
            // moves the block); an in-place resize records its own trace to match.
            resize_stack_traces: true,
            ..Config::fast()
        };
        let config = match settings.mode {
            // No traces of its own; an observer (the profiler) asks for them.
            Mode::Fast => Config {
                trace_method: trace_method(),
                ..Config::fast()
            },
            Mode::Check => checked,
            Mode::Guard => Config {
                guard: true,
                ..checked
            },
        };
        let defaults = Config::new();
        let config = Config {
            enable_memory_limit: settings.memory_limit.is_some(),
            guard_sample: settings.guard_sample,
            guard_underflow: settings.guard_underflow,
            guard_quarantine_bytes: settings
                .quarantine
                .unwrap_or(defaults.guard_quarantine_bytes),
            guard_keep_bytes: settings.quarantine.unwrap_or(defaults.guard_keep_bytes),
            quarantine_bytes: settings.quarantine.unwrap_or(defaults.quarantine_bytes),
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
            crate::trace::unwind::enable_cross_check();
        }
        crate::trace::register_interning_walker(
            crate::trace::unwind::capture_user_frames,
            crate::trace::unwind::capture_user,
        );
        return TraceMethod::Custom(crate::trace::unwind::capture_user_frames);
    }
    TraceMethod::Unwinder
}

/// The process-wide allocator.
#[inline]
pub fn gpa() -> &'static GeneralPurposeAllocator {
    &state().gpa
}

/// [`scrubbed`] for the exported functions that return nothing: `rax` is cleared too.
#[inline(always)]
pub fn scrub_void() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: clears a register the compiler is told is clobbered; no memory, no stack.
    unsafe {
        core::arch::asm!("xor eax, eax", out("rax") _, options(nomem, nostack));
    }
    scrubbed(())
}

/// `value`, returned with the caller-saved registers `getcontext` saves cleared (`rcx`, `rdx`,
/// `rsi`, `rdi`, `r8` and `r9`; not `rax`, the result): the exported allocation functions return through it (the
/// exported `malloc` and `free` clear the same registers in their stubs, `gpa::c_entry`), and
/// so do `malloc_usable_size` and the checking functions of the interposed libc calls
/// (`libc_calls`: the test profile's build left a value `memcpy`'s check computed in `rcx`,
/// inside a block the program dropped; `register_residue.c`).
///
/// Why: a call leaves in those registers whatever the allocator computed last (a slot's or a
/// page's address, a pointer into a neighbour block), dead for the program, which does not
/// read them; but code that saves the whole register file keeps them in memory: glibc's
/// `getcontext`/`swapcontext` store `rcx`, `rdx`, `rsi`, `rdi`, `r8` and `r9` in a
/// `ucontext_t`, often a static. The exit's leak scan then read such a word as the program's
/// pointer into a block the program had dropped (`small_stacks.rs`, `stk_ucontext.c`: check
/// mode's carve check left `r8` one byte into a leaked block; the 40 bytes memcheck calls
/// definitely lost were possibly lost, from a coroutine's saved context). glibc's and
/// Valgrind's allocators leave their own values there, which no scan of theirs judges.
/// Cost: six register-clearing `xor`s a call, which the processor's register renaming
/// executes without an execution unit.
#[inline(always)]
pub fn scrubbed<T>(value: T) -> T {
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    // SAFETY: clears registers the compiler is told are clobbered; no memory, no stack.
    unsafe {
        core::arch::asm!(
            crate::__c_clear_scratch!(),
            out("rcx") _,
            out("rdx") _,
            out("rsi") _,
            out("rdi") _,
            out("r8") _,
            out("r9") _,
            options(nomem, nostack),
        );
    }
    value
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
        // Realigned, as [`malloc`]'s way to check mode: the exported `posix_memalign`,
        // `aligned_alloc`, ... may be called on a misaligned stack.
        #[cfg(target_arch = "x86_64")]
        return crate::os::stack::call_realigned!(
            alloc_checked,
            gpa as *const GeneralPurposeAllocator,
            size,
            align
        ) as *mut u8;
        #[cfg(not(target_arch = "x86_64"))]
        return alloc_checked(gpa, size, align);
    }
    // C's `malloc(0)` gets a unique block.
    gpa.alloc_unsized(size, align)
}

/// Check mode's block of `size` bytes at `align` (`posix_memalign`, `aligned_alloc`, ...): the
/// check-mode entry first (`guard::alloc_tagged_at`, the trace remembered from this
/// function's frame, as [`malloc_checked`]), else the general path.
///
/// Runs on a 16-byte-aligned stack: [`try_alloc`] calls it through
/// `os::stack::call_realigned` (hence the C ABI; `C-unwind` as [`malloc_general`]), with no
/// frame between this function's and the exported function's, as [`malloc_checked`] has.
/// Before (`on_aligned_stack` around the body, stop 44), the body was a closure.
#[inline(never)]
extern "C-unwind" fn alloc_checked(
    gpa: &GeneralPurposeAllocator,
    size: usize,
    align: usize,
) -> *mut u8 {
    let block = guard::alloc_tagged_at(gpa, size, align, 0, crate::os::frame_address());
    if !block.is_null() {
        return block;
    }
    guard::alloc(gpa, size, align, guard::Asked::Explicit)
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
    let _call = crate::gpa::CCall::enter();
    let block = crate::gpa::c_malloc(size);
    if !block.is_null() {
        return block;
    }
    // Realigned: a Rust caller here (`calloc`, `realloc` of null) may run on the program's
    // misaligned stack, and check mode's `malloc` trusts the exported stubs' alignment
    // ([`malloc_checked`]).
    #[cfg(target_arch = "x86_64")]
    return crate::os::stack::call_realigned!(malloc_general, size) as *mut u8;
    #[cfg(not(target_arch = "x86_64"))]
    malloc_general(size)
}

/// `malloc` when the fast path did not serve it: both ways are tail calls, so that this
/// keeps no frame and saves no register (check mode comes through here on every `malloc`).
/// The exported `malloc` (`gpa::c_entry`'s assembly) calls it, hence the C ABI; `C-unwind`,
/// not `C`: Rust guards the calls out of a `C` function with an abort on unwinding, so they
/// would stop being tail calls and put one more of this library's frames under check mode's
/// trace (its captures walked about 75% more instructions). A panic that leaves here still
/// ends the process: no C frame above handles it.
#[inline(never)]
pub extern "C-unwind" fn malloc_general(size: usize) -> *mut u8 {
    let gpa = gpa();
    if gpa.is_plain() {
        return malloc_plain(gpa, size);
    }
    malloc_checked(gpa, size)
}

/// Fast mode's `malloc` beyond the fast path (the first of a thread, a large block, sampled
/// guards...).
#[inline(never)]
fn malloc_plain(gpa: &GeneralPurposeAllocator, size: usize) -> *mut u8 {
    let block = gpa.malloc(size);
    gpa.sync_c_heap();
    if block.is_null() {
        fail(libc::ENOMEM)
    } else {
        block
    }
}

/// Check mode's `malloc`: its own entry first (`guard::alloc_at`, the trace remembered from
/// this function's frame, below the exported `malloc`), else the general path. Apart from
/// [`malloc_general`], so that fast mode's calls of it keep their short prologue.
///
/// Runs on a 16-byte-aligned stack without realigning it itself: every way here realigns
/// on its way in, without a frame of its own (a program may call `malloc` on a misaligned
/// stack: `os::stack::on_aligned_stack`). The exported `malloc`'s stubs align the stack
/// before they call [`malloc_general`] (`gpa::c_entry`), and the Rust callers of
/// [`malloc`] (`calloc`, `realloc` of null) reach it through `os::stack::call_realigned`.
/// Realigning here instead (`on_aligned_stack` around the body, stop 44) cost check mode
/// 9% of `glibc-simple`'s instructions, as did `free`'s in [`free_checked`]: the body
/// became a closure called out of line, its captures passed by reference.
#[inline(never)]
fn malloc_checked(gpa: &GeneralPurposeAllocator, size: usize) -> *mut u8 {
    let frame = crate::os::frame_address();
    let block = guard::alloc_at(gpa, size, frame);
    if !block.is_null() {
        return block;
    }
    if !gpa.config().safety {
        // Fast mode with accounting (`--memory-limit`): no front guard.
        let block = alloc_aligned(size, MIN_ALIGN);
        if block.is_null() {
            family::fishy_value("malloc", "size", size);
        }
        return block;
    }
    // `malloc`'s implicit alignment, which guard mode may lower (`guard::block_align`).
    let block = guard::alloc(gpa, size, MIN_ALIGN, guard::Asked::Implicit);
    if block.is_null() {
        family::fishy_value("malloc", "size", size);
        return fail(libc::ENOMEM);
    }
    block
}

/// C `free`: null is ignored; in check mode a bad pointer is reported, not followed.
///
/// # Safety
/// In fast mode, `memory` is null or a live block from these functions.
#[inline]
pub unsafe fn free(memory: *mut u8) {
    let _call = crate::gpa::CCall::enter();
    // SAFETY: forwarded caller contract.
    if unsafe { crate::gpa::c_free(memory) } {
        return;
    }
    // No designated GPA (check and guard mode, or before the first `malloc`): no fast path
    // to try; a tail call to check mode's `free`, with no registers to save on the way.
    // Both realigned, as in [`malloc`]: a Rust caller here (`realloc` to 0 bytes) may run on
    // the program's misaligned stack, and check mode's `free` trusts the exported stubs'
    // alignment ([`free_checked`]).
    #[cfg(target_arch = "x86_64")]
    {
        if crate::gpa::c_heap_gpa() == 0 {
            // SAFETY: forwarded caller contract (`free_undesignated`: `extern "C-unwind"`,
            // one pointer, no result).
            crate::os::stack::call_realigned!(free_undesignated, memory);
        } else {
            // SAFETY: as above, for `free_general`.
            crate::os::stack::call_realigned!(free_general, memory);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        if crate::gpa::c_heap_gpa() == 0 {
            // SAFETY: forwarded caller contract.
            return unsafe { free_undesignated(memory) };
        }
        // SAFETY: forwarded caller contract.
        unsafe { free_general(memory) }
    }
}

/// The exported `malloc` (`gpa::c_entry`'s assembly) for a size past the direct table's
/// limit (or any size while an observer is registered): [`malloc`].
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[inline(never)]
pub extern "C-unwind" fn malloc_rest(size: usize) -> *mut u8 {
    // [`malloc`]'s body: `c_malloc` is inlined here (`malloc` itself may be out of line).
    let block = crate::gpa::c_malloc(size);
    if !block.is_null() {
        return block;
    }
    malloc_general(size)
}

/// `free` past its fast path, with a designated GPA. The exported `free`
/// (`gpa::c_entry`'s assembly) calls it: `C-unwind`, as [`malloc_general`].
///
/// # Safety
/// As for [`free`].
#[inline(never)]
pub unsafe extern "C-unwind" fn free_general(memory: *mut u8) {
    // C `free` keeps `errno` (as glibc's): the mapping calls of `os` keep it.
    // SAFETY: forwarded caller contract.
    if unsafe { crate::gpa::c_free_validated(memory) } {
        return;
    }
    // SAFETY: forwarded caller contract.
    unsafe { free_undesignated(memory) }
}

/// [`free_general`] of a pointer the fast paths did not take.
///
/// # Safety
/// As for [`free`].
///
/// The exported `free` (`gpa::c_entry`'s assembly) calls it while no GPA is designated (check
/// mode): `C-unwind`, as [`malloc_general`].
#[inline(never)]
pub unsafe extern "C-unwind" fn free_undesignated(memory: *mut u8) {
    // The state's first building apart ([`free_before_state`]): with `init_state` called
    // here, the compiler saved `memory` in `rbx` on every `free`, with its frame (17
    // instructions a check-mode `free` in this function, by callgrind; 4 fewer now:
    // `glibc-simple 10` -0.6% of check mode's instructions).
    let Some(state) = STATE.get() else {
        // SAFETY: forwarded caller contract.
        return unsafe { free_before_state(memory) };
    };
    let gpa = &state.gpa;
    if !gpa.config().safety {
        // SAFETY: forwarded caller contract.
        return unsafe { free_fast(gpa, memory) };
    }
    if !memory.is_null() {
        // Not a frame of its own between the exported `free` and `free_checked`: check mode's
        // remembered captures start from `free_checked`'s (`guard::free_at`), and with
        // `KeepErrno` held here every free walked one frame more (`glibc-simple 10`: +12% of
        // check mode's instructions). `free_checked` keeps `errno` on its general path (its
        // reports), and `os`'s mapping calls keep it everywhere.
        free_checked(gpa, memory);
    }
}

/// [`free_undesignated`] before the process-wide state is built (a `free` before any
/// `malloc`): builds it, then frees.
///
/// # Safety
/// As for [`free`].
#[cold]
#[inline(never)]
unsafe fn free_before_state(memory: *mut u8) {
    init_state();
    // SAFETY: forwarded caller contract.
    unsafe { free_undesignated(memory) }
}

/// Check mode's `free` of a non-null pointer: its own entry first (`guard::free_at`, the
/// trace remembered from this function's frame); anything it does not take, the general path
/// checks and reports. Apart from [`free_general`], as [`malloc_checked`].
///
/// Runs on a 16-byte-aligned stack, realigned on the way in as [`malloc_checked`]'s: by the
/// exported `free`'s stubs, or by [`free`] for its Rust callers.
#[inline(never)]
fn free_checked(gpa: &GeneralPurposeAllocator, memory: *mut u8) {
    // For a leak scan that stops this thread meanwhile (`scan::InFlight`).
    scan::releasing(memory);
    if !guard::free_at(gpa, memory, crate::os::frame_address()) {
        release_checked_keeping_errno(gpa, memory);
    }
    scan::landed();
}

/// [`release_checked`] for `free`, keeping the program's `errno` (C `free` does, as glibc's,
/// whatever its system calls did: unmapping or protecting a large block fails with `ENOMEM`
/// at the process's limit of mappings, glibc's test `malloc/tst-free-errno.c`). Check mode's
/// own entry (`guard::free_at`) makes no system call that can fail so.
#[inline(never)]
fn release_checked_keeping_errno(gpa: &GeneralPurposeAllocator, memory: *mut u8) {
    let _errno = crate::os::KeepErrno::new();
    release_checked(gpa, memory, family::Release::FREE);
}

/// Fast mode's `free` (and every `operator delete`).
///
/// # Safety
/// `memory` is null or a live block of the GPA (or of libc's allocator: [`foreign`]).
#[inline]
unsafe fn free_fast(gpa: &GeneralPurposeAllocator, memory: *mut u8) {
    // SAFETY: forwarded caller contract; the GPA hands pointers it does not know to the
    // foreign-block hook before reporting them.
    unsafe { gpa.free_unsized(memory) }
}

/// Check mode's release of any non-null pointer by `release` (`free`, an `operator delete`):
/// a live block is checked (family, size, alignment, guard) and freed; a block of libc's own
/// allocator goes back to libc ([`foreign`]); anything else is diagnosed and reported.
///
/// Runs on a 16-byte-aligned stack, realigned on the way in without a frame of its own:
/// [`free_checked`] by the exported `free`'s stubs, `family::delete_checked` and
/// [`free_claimed`] by `os::stack::call_realigned`.
#[inline(never)]
fn release_checked(gpa: &GeneralPurposeAllocator, memory: *mut u8, release: family::Release) {
    match guard::find(gpa, memory) {
        // SAFETY: a live block with its guard; check mode accepts any pointer in `free`.
        Some(found) if found.live => unsafe {
            let mut tag = 0;
            if let Some(info) = &found.info {
                family::check_release(gpa, memory, found.pad, info, release);
                tag = info.tag;
            }
            guard::check_tagged(gpa, found.base, found.pad, tag);
            gpa.free_located(found.base, found.located);
        },
        // SAFETY: check mode: the GPA reports the double free of the block it remembers.
        Some(found) => unsafe { gpa.free_unsized(found.base) },
        None => release_unknown(gpa, memory),
    }
}

#[cold]
#[inline(never)]
fn release_unknown(gpa: &GeneralPurposeAllocator, memory: *mut u8) {
    // SAFETY: `memory` was checked to be a block of libc's allocator.
    if foreign::is_libc_block(memory) && unsafe { foreign::free(memory) } {
        return;
    }
    if family::near_block(gpa, memory) {
        return;
    }
    let base = guard::unknown_base(gpa, memory);
    if base.is_null() {
        return guard::invalid_free_without_base(gpa, memory);
    }
    // SAFETY: check mode: the GPA diagnoses the pointer (double or invalid free).
    unsafe { gpa.free_unsized(base) }
}

/// C `calloc`: `count * size` zeroed bytes; null with `ENOMEM` when the product overflows.
/// Always inlined into the exported `calloc` (as `#[inline]` it was, or not, by the build).
#[inline(always)]
pub fn calloc(count: usize, size: usize) -> *mut u8 {
    let _call = crate::gpa::CCall::enter();
    // Fast mode's fast path, inlined into the exported `calloc` as `malloc`'s (check mode
    // designates no GPA: one load and a test).
    if let Some(total) = count.checked_mul(size) {
        let block = crate::gpa::c_calloc(total);
        if !block.is_null() {
            return block;
        }
    }
    calloc_general(count, size)
}

#[inline(never)]
fn calloc_general(count: usize, size: usize) -> *mut u8 {
    let Some(total) = count.checked_mul(size) else {
        return fail(libc::ENOMEM);
    };
    let gpa = gpa();
    if !gpa.is_plain() && ((count | size) as isize) < 0 {
        // As Valgrind: the count first, then the size (`calloc(0, -1)` is fishy too).
        let _ = family::fishy_value("calloc", "nmemb", count)
            || family::fishy_value("calloc", "size", size);
    }
    if !gpa.is_plain() && (total as isize) < 0 {
        // No block has that many bytes: null at once, as Valgrind's `calloc` (which reports
        // only a fishy argument, above), not a second report as `malloc`'s fishy size
        // (`calloc(usize::MAX / 4, 4)` was "Argument 'size' of function malloc ... -4").
        return fail(libc::ENOMEM);
    }
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
    if block.is_null() {
        return block;
    }
    // For a leak scan that stops this thread while it clears the block (`scan::InFlight`):
    // across the `memset` call the pointer may be kept only in this frame.
    scan::fresh_now(block);
    if total < CALLOC_ASK_PAGES {
        // SAFETY: a fresh block of `total` bytes.
        unsafe { core::ptr::write_bytes(block, 0, total) };
    } else {
        // A large block's pages never touched (a fresh mapping's, or a reused one's given
        // back) read as zeros already: clearing them would make them resident. A calloc of
        // 16 GiB that glibc serves from untouched pages took 16 GiB of memory here, and two
        // such got the process OOM-killed on a 24 GiB machine.
        crate::leakcheck::populated::Populated::new().for_each_written_run(
            block as usize,
            block as usize + total,
            &mut |from, to| {
                // SAFETY: `[from, to)` lies within the fresh block of `total` bytes.
                unsafe { core::ptr::write_bytes(from as *mut u8, 0, to - from) }
            },
        );
    }
    scan::landed_with(block)
}

/// From how many bytes check and guard modes' `calloc` asks which pages of the block were
/// ever written before clearing it (three system calls: open, read, close of the pagemap),
/// rather than clearing every page: 1 MiB, 256 pages, whose faults alone cost more.
const CALLOC_ASK_PAGES: usize = 1 << 20;

/// Check mode's `realloc` of a non-null `memory` to `size` bytes (not 0): its own entry
/// (`guard::realloc_at`, the traces remembered from this function's frame, as for
/// [`malloc_checked`]), else the general path ([`realloc_checked_rest`]).
///
/// Runs on a 16-byte-aligned stack, as [`alloc_checked`]: [`realloc`] calls it through
/// `os::stack::call_realigned`. Before, each part ran in a closure of
/// `os::stack::on_aligned_stack` (stop 44).
///
/// For a leak scan that stops this thread inside the call (`scan::InFlight`), the old block
/// is recorded first (`scan::releasing`: before, its lookup and the fresh block's trace
/// capture kept it only in this frame, and a program holding it only in the argument
/// register, `p = realloc(p, n)` compiled with `p` in no other place, had it "definitely
/// lost"), the ways that move it record the fresh block, and the record is cleared here,
/// with the result in hand (`scan::landed_with`), for every way out.
///
/// # Safety
/// As for [`realloc`].
#[inline(never)]
unsafe extern "C-unwind" fn realloc_checked(
    gpa: &GeneralPurposeAllocator,
    memory: *mut u8,
    size: usize,
) -> *mut u8 {
    scan::releasing(memory);
    let mut moved = guard::realloc_at(gpa, memory, size, crate::os::frame_address());
    if moved.is_null() {
        // SAFETY: forwarded caller contract; `size > 0`.
        moved = unsafe { realloc_checked_rest(gpa, memory, size) };
    }
    scan::landed_with(moved)
}

/// C `realloc` (glibc semantics): a null `memory` is `malloc(size)`; size 0 frees and returns
/// null; on failure null with `ENOMEM` and the old block untouched.
///
/// # Safety
/// As for [`free`].
#[inline]
pub unsafe fn realloc(memory: *mut u8, size: usize) -> *mut u8 {
    let _call = crate::gpa::CCall::enter();
    if memory.is_null() {
        return malloc(size);
    }
    if size == 0 {
        // SAFETY: forwarded caller contract.
        unsafe { free(memory) };
        return core::ptr::null_mut();
    }
    // Fast mode's fastest path: a small block of a segment this thread remembers (check
    // mode designates no GPA, so nothing is remembered and this is one compare).
    // SAFETY: forwarded caller contract; `size > 0`.
    let moved = unsafe { crate::gpa::c_realloc(memory, size) };
    if !moved.is_null() {
        return moved;
    }
    let gpa = gpa();
    if !gpa.config().safety {
        if !GeneralPurposeAllocator::manages(memory as usize) {
            // SAFETY: forwarded caller contract.
            return unsafe { realloc_unknown_fast(gpa, memory, size) };
        }
        // SAFETY: forwarded caller contract; `size > 0`.
        let moved = unsafe { gpa.realloc_unsized(memory, size) };
        return if moved.is_null() {
            fail(libc::ENOMEM)
        } else {
            moved
        };
    }
    // Realigned, as in [`try_alloc`].
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: forwarded caller contract; `size > 0` (`realloc_checked`: `extern
        // "C-unwind"`, three pointer-sized arguments, a pointer returned).
        crate::os::stack::call_realigned!(
            realloc_checked,
            gpa as *const GeneralPurposeAllocator,
            memory,
            size
        ) as *mut u8
    }
    // SAFETY: forwarded caller contract; `size > 0`.
    #[cfg(not(target_arch = "x86_64"))]
    unsafe {
        realloc_checked(gpa, memory, size)
    }
}

/// Check mode's `realloc` of a non-null `memory` to `size > 0` bytes once
/// `guard::realloc_at` left it to the general path (on [`realloc_checked`]'s aligned stack).
///
/// # Safety
/// As for [`realloc`].
#[inline(never)]
unsafe fn realloc_checked_rest(
    gpa: &GeneralPurposeAllocator,
    memory: *mut u8,
    size: usize,
) -> *mut u8 {
    if family::fishy_value("realloc", "size", size) {
        return fail(libc::ENOMEM);
    }
    let found = guard::find(gpa, memory);
    let Some((base, pad)) = found.filter(|found| found.live).map(|f| (f.base, f.pad)) else {
        if let Some(found) = found {
            // SAFETY: a freed block's start: the GPA reports the double free, returns null.
            unsafe { gpa.realloc_unsized(found.base, size.saturating_add(guard::FRONT)) };
            return fail(libc::ENOMEM);
        }
        // SAFETY: forwarded caller contract.
        return unsafe { realloc_unknown(gpa, memory, size) };
    };
    if pad == 0
        && gpa
            .block_layout(base)
            .is_some_and(|layout| layout.size() == 0)
    {
        // SAFETY: `base` is a live block of no bytes.
        return unsafe { realloc_empty(gpa, base, size) };
    }
    if size.checked_add(pad).is_none() {
        return fail(libc::ENOMEM);
    }
    let tag = gpa.block_info(base).map_or(0, |info| {
        family::check_release(gpa, memory, pad, &info, family::Release::REALLOC);
        info.tag
    });
    // SAFETY: a live block with its guard; `size > 0`. Guard mode moves the block to one
    // aligned for its new size (`guard::realloc_moved`); check mode resizes in place or
    // moves it to a block whose guard is written before it goes live
    // (`guard::realloc_general`).
    let moved = unsafe {
        guard::check(gpa, base, pad);
        if gpa.config().guard {
            guard::realloc_moved(gpa, base, pad, size)
        } else {
            guard::realloc_general(gpa, base, pad, tag, size)
        }
    };
    if moved.is_null() {
        return fail(libc::ENOMEM);
    }
    moved
}

/// Check mode's `realloc` of a live block of no bytes: nothing to copy and no guard to keep,
/// so a fresh `malloc` block, and the old one freed (its family checked first).
///
/// # Safety
/// `base` is a live block of no bytes of the GPA (its own user pointer); `size > 0`.
#[cold]
#[inline(never)]
unsafe fn realloc_empty(gpa: &GeneralPurposeAllocator, base: *mut u8, size: usize) -> *mut u8 {
    let fresh = malloc_checked(gpa, size);
    if fresh.is_null() {
        return fresh;
    }
    // For a leak scan that stops this thread meanwhile (`scan::InFlight`; `realloc_checked`
    // clears the record).
    scan::fresh_now(fresh);
    if let Some(info) = gpa.block_info(base) {
        family::check_release(gpa, base, 0, &info, family::Release::REALLOC);
    }
    // SAFETY: caller contract: a live block, released once.
    unsafe { gpa.free_unsized(base) };
    fresh
}

/// Fast mode's `realloc` of a pointer in no GPA's memory: a block of libc's allocator, or a
/// mistake the GPA reports.
///
/// # Safety
/// As for [`realloc`]; `size > 0`.
#[cold]
#[inline(never)]
unsafe fn realloc_unknown_fast(
    gpa: &GeneralPurposeAllocator,
    memory: *mut u8,
    size: usize,
) -> *mut u8 {
    if foreign::is_libc_block(memory) {
        // SAFETY: a block of libc's allocator.
        if let Some(moved) = unsafe { foreign::realloc(memory, size) } {
            return moved;
        }
    }
    // SAFETY: forwarded caller contract: the GPA reports the pointer and returns null.
    unsafe { gpa.realloc_unsized(memory, size) };
    fail(libc::ENOMEM)
}

/// Check mode's `realloc` of a pointer that is no live block: libc's, or reported.
///
/// # Safety
/// As for [`realloc`]; `size > 0`.
#[cold]
#[inline(never)]
unsafe fn realloc_unknown(gpa: &GeneralPurposeAllocator, memory: *mut u8, size: usize) -> *mut u8 {
    if foreign::is_libc_block(memory) {
        // SAFETY: a block of libc's allocator.
        if let Some(moved) = unsafe { foreign::realloc(memory, size) } {
            return moved;
        }
        return fail(libc::ENOMEM);
    }
    let base = guard::unknown_base(gpa, memory);
    if base.is_null() {
        guard::invalid_free_without_base(gpa, memory);
    } else if !family::near_block(gpa, memory) {
        // SAFETY: check mode: the GPA reports the bad pointer and returns null.
        unsafe { gpa.realloc_unsized(base, size.saturating_add(guard::FRONT)) };
    }
    fail(libc::ENOMEM)
}

/// C `reallocarray`: `realloc(memory, count * size)` with an overflow check (`ENOMEM`).
///
/// # Safety
/// As for [`free`].
pub unsafe fn reallocarray(memory: *mut u8, count: usize, size: usize) -> *mut u8 {
    let _call = crate::gpa::CCall::enter();
    match count.checked_mul(size) {
        // SAFETY: forwarded caller contract.
        Some(total) => unsafe { realloc(memory, total) },
        None => fail(libc::ENOMEM),
    }
}

/// The size an aligned allocation function asks for: in check mode a request for no bytes
/// stays one (a block of no bytes, any access to which is reported, as Valgrind does for
/// `aligned_alloc(64, 0)` and the like); fast mode gives it one byte.
fn aligned_size(size: usize) -> usize {
    if gpa().config().safety {
        size
    } else {
        size.max(1)
    }
}

/// C `posix_memalign`: `align` must be a power of two and a multiple of the pointer size
/// (else `EINVAL`, errno untouched); returns 0 or the error code, `*out` set on success.
/// Like glibc's (its `_mid_memalign` sets errno on the way), a request that fails for want
/// of memory also leaves errno `ENOMEM`: a program that reads errno after it, as
/// snmalloc's `malloc.cc` test does, sees what it sees under glibc.
///
/// # Safety
/// `out` is valid for a pointer write.
pub unsafe fn posix_memalign(out: *mut *mut u8, align: usize, size: usize) -> i32 {
    let _call = crate::gpa::CCall::enter();
    if !align.is_power_of_two() || align % core::mem::size_of::<usize>() != 0 {
        return libc::EINVAL;
    }
    let block = try_alloc(aligned_size(size), align.max(MIN_ALIGN));
    if block.is_null() {
        family::fishy_value("posix_memalign", "size", size);
        fail(libc::ENOMEM);
        return libc::ENOMEM;
    }
    // SAFETY: caller contract.
    unsafe { out.write(block) };
    0
}

/// C `aligned_alloc`, by the rules of the glibc the program runs with: since glibc 2.38 an
/// `align` that is not a power of two fails with `EINVAL`; before, `aligned_alloc` was
/// `memalign`, which rounds it up to one (`aligned_alloc(63, 8)` gives a 64-byte aligned
/// block under glibc 2.36 and Valgrind 3.19).
pub fn aligned_alloc(align: usize, size: usize) -> *mut u8 {
    let _call = crate::gpa::CCall::enter();
    if !align.is_power_of_two() {
        if rejects_odd_alignment() {
            return fail(libc::EINVAL);
        }
        let Some(align) = align.max(MIN_ALIGN).checked_next_power_of_two() else {
            return fail(libc::EINVAL);
        };
        return fishy_if_failed(
            alloc_aligned(aligned_size(size), align),
            "aligned_alloc",
            size,
        );
    }
    fishy_if_failed(
        alloc_aligned(aligned_size(size), align.max(MIN_ALIGN)),
        "aligned_alloc",
        size,
    )
}

/// Whether the C library's `aligned_alloc` rejects an alignment that is not a power of two:
/// glibc 2.38 and later (`gnu_get_libc_version`, asked once; a C library that does not say is
/// taken to be a recent one).
fn rejects_odd_alignment() -> bool {
    use core::sync::atomic::{AtomicU8, Ordering};
    static STRICT: AtomicU8 = AtomicU8::new(0);
    match STRICT.load(Ordering::Relaxed) {
        1 => return true,
        2 => return false,
        _ => {}
    }
    // SAFETY: glibc's `gnu_get_libc_version` returns a static NUL-terminated string.
    let version = unsafe { core::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
    let mut parts = version.to_str().unwrap_or("").split('.');
    let number = |part: Option<&str>| part.and_then(|p| p.parse::<u32>().ok());
    let strict = match (number(parts.next()), number(parts.next())) {
        (Some(major), Some(minor)) => (major, minor) >= (2, 38),
        _ => true,
    };
    STRICT.store(if strict { 1 } else { 2 }, Ordering::Relaxed);
    strict
}

/// `block`, after recording `size` as a fishy value of `function` when the allocation failed.
fn fishy_if_failed(block: *mut u8, function: &'static str, size: usize) -> *mut u8 {
    if block.is_null() {
        family::fishy_value(function, "size", size);
    }
    block
}

/// C `memalign`: like glibc, an `align` that is not a power of two is rounded up to one.
pub fn memalign(align: usize, size: usize) -> *mut u8 {
    let _call = crate::gpa::CCall::enter();
    let Some(align) = align.max(MIN_ALIGN).checked_next_power_of_two() else {
        return fail(libc::EINVAL);
    };
    fishy_if_failed(alloc_aligned(aligned_size(size), align), "memalign", size)
}

/// C `valloc`: page-aligned.
pub fn valloc(size: usize) -> *mut u8 {
    let _call = crate::gpa::CCall::enter();
    fishy_if_failed(
        alloc_aligned(aligned_size(size), crate::os::page_size()),
        "valloc",
        size,
    )
}

/// C `pvalloc`: page-aligned, size rounded up to whole pages.
pub fn pvalloc(size: usize) -> *mut u8 {
    let _call = crate::gpa::CCall::enter();
    let page = crate::os::page_size();
    match size.max(1).checked_next_multiple_of(page) {
        Some(rounded) => alloc_aligned(rounded, page),
        None => fail(libc::ENOMEM),
    }
}

/// C `malloc_usable_size`: the bytes the caller may use (the requested size in check mode, so
/// that using them all never touches a canary); 0 for null or an unknown pointer.
pub fn malloc_usable_size(memory: *const u8) -> usize {
    let _call = crate::gpa::CCall::enter();
    if memory.is_null() {
        return 0;
    }
    let gpa = gpa();
    let size = if !gpa.config().safety {
        gpa.usable_size(memory)
    } else {
        guard::base_of(gpa, memory as *mut u8).map_or(0, |(base, pad)| gpa.usable_size(base) - pad)
    };
    if size == 0 && foreign::is_libc_block(memory as *mut u8) {
        // SAFETY: a block of libc's allocator.
        return unsafe { foreign::usable_size(memory as *mut u8) };
    }
    size
}

/// C23 `free_sized`. In check mode the size is checked against the allocation (a mismatch is
/// reported as a layout mismatch); in fast mode it is ignored.
///
/// # Safety
/// As for [`free`].
pub unsafe fn free_sized(memory: *mut u8, size: usize) {
    let _call = crate::gpa::CCall::enter();
    // SAFETY: forwarded caller contract.
    unsafe { free_with_claim(memory, size, MIN_ALIGN) }
}

/// C23 `free_aligned_sized`: as [`free_sized`], with the alignment also checked.
///
/// # Safety
/// As for [`free`].
pub unsafe fn free_aligned_sized(memory: *mut u8, align: usize, size: usize) {
    let _call = crate::gpa::CCall::enter();
    // SAFETY: forwarded caller contract.
    unsafe { free_with_claim(memory, size, align.max(MIN_ALIGN)) }
}

/// # Safety
/// As for [`free`].
unsafe fn free_with_claim(memory: *mut u8, size: usize, align: usize) {
    let gpa = gpa();
    if !gpa.config().safety {
        // SAFETY: forwarded caller contract.
        return unsafe { free_fast(gpa, memory) };
    }
    // Realigned, as in [`try_alloc`].
    #[cfg(target_arch = "x86_64")]
    // SAFETY: forwarded caller contract (`free_claimed`: `extern "C-unwind"`, four
    // pointer-sized arguments, no result).
    crate::os::stack::call_realigned!(
        free_claimed,
        gpa as *const GeneralPurposeAllocator,
        memory,
        size,
        align
    );
    // SAFETY: forwarded caller contract.
    #[cfg(not(target_arch = "x86_64"))]
    unsafe {
        free_claimed(gpa, memory, size, align)
    };
}

/// Check mode's [`free_with_claim`], on a 16-byte-aligned stack ([`free_with_claim`] calls it
/// through `os::stack::call_realigned`, as [`alloc_checked`]'s caller). The block is recorded
/// as released meanwhile, as by [`free_checked`] (`scan::InFlight`).
///
/// # Safety
/// As for [`free`].
#[inline(never)]
unsafe extern "C-unwind" fn free_claimed(
    gpa: &GeneralPurposeAllocator,
    memory: *mut u8,
    size: usize,
    align: usize,
) {
    scan::releasing(memory);
    // SAFETY: forwarded caller contract.
    unsafe { release_claimed(gpa, memory, size, align) };
    scan::landed();
}

/// [`free_claimed`]'s checks and release.
///
/// # Safety
/// As for [`free`].
#[inline(always)]
unsafe fn release_claimed(
    gpa: &GeneralPurposeAllocator,
    memory: *mut u8,
    size: usize,
    align: usize,
) {
    let release = family::Release {
        name: if align == MIN_ALIGN {
            "free_sized"
        } else {
            "free_aligned_sized"
        },
        ..family::Release::FREE
    };
    let Some((base, pad)) = guard::base_of(gpa, memory) else {
        if !memory.is_null() {
            release_checked(gpa, memory, release);
        }
        return;
    };
    let claimed = size
        .checked_add(pad)
        .and_then(|total| Layout::from_size_align(total, align).ok());
    let (Some(claimed), Some(actual)) = (claimed, gpa.block_layout(base)) else {
        return release_checked(gpa, memory, release);
    };
    if let Some(info) = gpa.block_info(base) {
        // The family here; the size and alignment below, as a layout mismatch.
        family::check_release(gpa, memory, pad, &info, release);
    }
    // `aligned_alloc` and friends give zero-size requests one byte; guard mode aligns small
    // `malloc` blocks to less than 16 (`guard::block_align`).
    let zero_size = size == 0 && actual.size() == pad + 1;
    let small_malloc =
        align == MIN_ALIGN && actual.align() < MIN_ALIGN && actual.size() == claimed.size();
    let claimed = if zero_size || small_malloc {
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
/// from the environment and, in check and guard modes, arranges the report at exit; where
/// blocks may be guarded or checked, a fatal signal ends with the report too.
pub fn init() {
    // A seccomp filter this image inherited across `exec`, before anything that may make a
    // call it stops.
    process::confine::inherit_stopped();
    std::panic::set_hook(std::boxed::Box::new(internal_error));
    let state = state();
    #[cfg(target_arch = "x86_64")]
    libc_calls::install(state.settings.mode.checks());
    if state.settings.mode.checks() {
        exit::register();
        scan::note_startup_objects();
        // The starting thread's stack bounds now (`getrlimit`, for the main thread), not at
        // its first trace: a program whose first allocation comes after it installed a
        // seccomp filter that kills on `prlimit64` (OpenSSH's kind) died there, where it
        // runs natively (docs/sweeps/lifecycle.md item 12).
        let _inside = crate::gpa::InsideAllocator::enter();
        crate::trace::prepare_thread();
    } else {
        // Check mode recognizes libc's blocks itself, before the front-guard adjustment.
        state.gpa.set_foreign_block_hook(foreign::release_hook);
    }
    process::on_start();
    process::confine::after_start();
    threads::resolve();
    // In every mode, a program's handlers of asynchronous signals wait for the interrupted
    // allocator call to end (`os::signal::defer`): a handler that allocates meets no
    // half-done state of gpa's, and no lock its own thread holds.
    crate::os::signal::defer::set_busy_test(crate::gpa::defer_signal);
    if state.settings.mode.checks() || state.settings.guard_sample != 0 {
        exit::register_crash_report();
    }
    // SAFETY: the handlers are `extern "C" fn()`s that live as long as the process.
    unsafe { libc::pthread_atfork(Some(fork_prepare), Some(fork_finish), Some(fork_child)) };
    profile::start_if_requested(state);
    // Last: its prepare handler takes glibc's stream list lock before any lock of gpa's.
    fork_streams::register();
}

/// The preload library's panic hook (its own copy of std's; a Rust program it is loaded into
/// keeps its own): one line on standard error, formatted on the stack. std's default hook
/// allocates (the backtrace, the working directory) while holding its backtrace lock, and an
/// allocation that fails there (memory the OS refused, as under a seccomp filter) re-enters
/// that lock from the out-of-memory hook: the process hung instead of ending.
fn internal_error(info: &std::panic::PanicHookInfo<'_>) {
    use core::fmt::Write;
    let mut line = crate::os::StderrLine::<512>::new();
    let _ = writeln!(line, "gpa: internal error: {info}");
    line.flush();
}

/// Before `fork`: takes every GPA lock, so the child cannot inherit one held by a thread that
/// does not exist in it (another thread in the middle of a large allocation, say). Registered
/// first, this runs after the program's own prepare handlers, which may still allocate.
extern "C" fn fork_prepare() {
    process::before_fork();
    // The findings lists before the GPA's locks (the order a recording takes them in).
    recorded::hold_for_fork();
    gpa().prepare_fork();
}

/// After `fork`, in the parent and in the child: releases what [`fork_prepare`] took.
extern "C" fn fork_finish() {
    // SAFETY: `fork_prepare` ran on this GPA in the forking thread, and nothing released its
    // locks since (the child's only thread is that thread's copy).
    unsafe { gpa().finish_fork() };
    recorded::release_after_fork();
}

/// After `fork`, in the child: as [`fork_finish`]; the forking thread's heaps pass to its new
/// thread id (its exit scan examines them as this thread's); then the child becomes a
/// process of its own (`process::on_fork_child`).
extern "C" fn fork_child() {
    fork_finish();
    crate::os::signal::after_fork_in_child();
    gpa().adopt_heaps_after_fork();
    process::on_fork_child();
}
