//! Stacks gpa owns, for its cold, stack-hungry work: [`on_own_stack`] runs a closure on one
//! of a small pool of stacks this module maps, then returns to the caller's stack.
//!
//! # Why
//! gpa's checks run on the program's threads, inside its `malloc` and `free`. Most of that
//! work is small, but a few cold paths are not: computing the unwind rule for a return
//! address not seen before (`trace::unwind`, gimli's CFI evaluation: about 12 KiB of stack in
//! a release build, 53 KiB in a debug one), and the event a fork-like `clone()` child writes
//! when it becomes a process of its own (`capi::process`: over 10 KiB of buffers). A
//! program may run on stacks gpa knows nothing of and cannot enlarge: a `clone()` child on a
//! 16 KiB stack it mapped itself, `makecontext` coroutines, a signal handler on a
//! `sigaltstack` of `SIGSTKSZ` bytes, a thread on a stack given with `pthread_attr_setstack`.
//! There the program runs fine natively and under Valgrind (whose own work runs on its own
//! stacks), and overflowed under gpa (`cli/tests/c/stk_*.c`). So the heavy work moves to a
//! stack of gpa's; the allocator, the walk and the switch stay on the program's stack (under
//! 1 KiB in a release build). Traces stay the program's: the walk reads the program's stack
//! from its registers; only the rule's computing moves.
//!
//! # Design
//! One reservation of [`SLOTS`] stacks of [`STACK_SIZE`] bytes, each with an inaccessible
//! guard page below it, made on first use (address space only: pages are committed as they
//! are touched). A caller claims a free slot with one compare-and-swap, makes it accessible
//! the first time it is used, switches the stack pointer to its top (x86-64: inline assembly,
//! `call` on the new stack, the old stack pointer kept in a callee-saved register), runs the
//! work, switches back and frees the slot. No lock, no wait, no allocation, no system call
//! after a slot's first use: async-signal-safe as far as the work is.
//!
//! * Already on one of these stacks (the work nests, or a signal handler without an alternate
//!   stack interrupted it): the work runs right there, where there is room.
//! * Every slot taken (as many threads in cold work at once, or a signal handler's work
//!   nested in the interrupted code's): the work runs on the caller's stack, as before.
//!   Never a wait, which could deadlock against a thread stopped for the leak scan.
//! * Other architectures (no switch written): on the caller's stack.
//!
//! # What stays on the program's stack
//! The caller's frames down to [`on_own_stack`] and the switch itself (a few hundred bytes),
//! with everything else gpa does there: the allocator and a trace's walk. Measured as the
//! deepest byte a `clone()` child doing 100 `malloc`/`free` pairs, an overflow found at its
//! `free` and a leak writes, less its native use: 768 bytes in check mode and 960 in guard
//! mode in a release build (12,760 and 13,224 before); 18,368 and 12,144 in a debug build
//! (73,120 and 66,848 before), whose fast mode alone takes 5,456 (docs/c_abi.md, "Threads'
//! stacks").
//!
//! # Invariants
//! * A slot is used by one thread at a time: `BUSY[i]` is set by a successful
//!   compare-and-swap before its stack is touched and cleared after the switch back.
//! * A panic in the work cannot unwind across the switch: the work runs under an
//!   `extern "C"` trampoline, which aborts on a panic (gpa's cold work does not panic).
//! * The leak scan does not take what these stacks hold for the program's roots
//!   ([`for_each_stack`], called by `signal::for_each_own_stack`).

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Stacks in the pool.
pub const SLOTS: usize = 8;
/// Usable bytes of each stack (address space; only touched pages are committed). gimli's rule
/// computation needs a few KiB in a release build and a few tens of KiB in a debug one.
pub const STACK_SIZE: usize = 256 << 10;

/// The pool's reservation: its lowest address (0: not made yet; 1: being made, or refused).
static POOL: AtomicUsize = AtomicUsize::new(0);
/// Which slots are in use.
static BUSY: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];
/// Which slots have been made accessible.
static READY: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];

/// Bytes of one slot: its guard page and its stack.
fn slot_span() -> usize {
    STACK_SIZE + super::page_size()
}

/// The pool's lowest address, reserving it on first use; `None` when it cannot be made.
fn pool() -> Option<usize> {
    match POOL.load(Ordering::Acquire) {
        0 => {}
        1 => return None,
        base => return Some(base),
    }
    if POOL
        .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        // Another thread is making it: this work runs where it is called.
        return match POOL.load(Ordering::Acquire) {
            0 | 1 => None,
            base => Some(base),
        };
    }
    match super::reserve(SLOTS * slot_span()) {
        Some(base) => {
            let base = base.as_ptr() as usize;
            POOL.store(base, Ordering::Release);
            Some(base)
        }
        // Stays 1: refused (RLIMIT_AS), not asked again.
        None => None,
    }
}

/// Whether the calling code runs on one of the pool's stacks.
#[inline]
fn on_pool(base: usize) -> bool {
    let sp = super::approximate_stack_pointer();
    sp >= base && sp < base + SLOTS * slot_span()
}

/// Claims a free slot, made accessible; its stack's top, or `None`.
fn claim(base: usize) -> Option<(usize, usize)> {
    for slot in 0..SLOTS {
        if BUSY[slot]
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            continue;
        }
        let low = base + slot * slot_span() + super::page_size();
        if !READY[slot].load(Ordering::Acquire) {
            // SAFETY: `[low, low + STACK_SIZE)` is this slot's stack inside the pool's
            // reservation, above its guard page; only this thread uses the slot now.
            let usable = unsafe {
                super::protect(
                    core::ptr::NonNull::new_unchecked(low as *mut u8),
                    STACK_SIZE,
                    true,
                )
            };
            if !usable {
                BUSY[slot].store(false, Ordering::Release);
                return None;
            }
            READY[slot].store(true, Ordering::Release);
        }
        return Some((slot, low + STACK_SIZE));
    }
    None
}

/// Runs `work` on a stack of gpa's own (see the module notes), or where it is called when
/// there is none to take or it runs on one already. Returns what `work` returns.
#[inline]
pub fn on_own_stack<R>(work: impl FnOnce() -> R) -> R {
    let mut work = Some(work);
    let mut result = None;
    run(&mut || {
        if let Some(work) = work.take() {
            result = Some(work());
        }
    });
    match result {
        Some(result) => result,
        // `run` always calls its closure once.
        None => unreachable!("on_own_stack: the work did not run"),
    }
}

/// [`on_own_stack`] for a type-erased closure (one copy of the switching code).
#[inline(never)]
fn run(work: &mut dyn FnMut()) {
    #[cfg(target_arch = "x86_64")]
    if let Some(base) = pool() {
        if !on_pool(base) {
            if let Some((slot, top)) = claim(base) {
                let mut work = work;
                // SAFETY: `top` is the 16-byte-aligned top of a mapped stack that this thread
                // alone uses until the slot is freed below; `work` outlives the call.
                unsafe {
                    call_on_stack(top, run_work, &mut work as *mut &mut dyn FnMut() as usize)
                };
                BUSY[slot].store(false, Ordering::Release);
                return;
            }
        }
    }
    work();
}

extern "C" fn run_work(work: usize) {
    // SAFETY: `run` passes a pointer to its live `&mut dyn FnMut()`.
    let work = unsafe { &mut *(work as *mut &mut dyn FnMut()) };
    work();
}

/// Runs `work` with the stack pointer aligned to 16 bytes, on the caller's stack, and returns
/// what it returns: for the entry points of gpa's cold work (the exit report, a fishy
/// argument's report, guarded blocks' paths, which fast mode's sampled guards reach from
/// entries that do not realign) that a program may reach with a misaligned stack. Check
/// mode's C entries realign with [`call_realigned`] instead, which costs no closure and no
/// frame. The C ABI promises `rsp + 8` a multiple of 16 at a function's entry, and compiled
/// code relies on it (aligned SSE stores of locals: `movaps`); a program that jumps into a
/// function instead of calling it (how2heap's `house_of_lore` returns into one; hand-written
/// assembly, code built with a smaller `-mpreferred-stack-boundary`) breaks the promise.
/// glibc's `malloc`, `free` and `exit` work on such a stack, so gpa's must too (it faulted:
/// `docs/sweeps/how2heap.md`). On an aligned stack (every call but such programs') `work`
/// runs right there, after a read of the stack pointer and a test; else through a call on
/// the stack pointer rounded down to 16 (x86-64; elsewhere `work` runs as called).
#[inline(always)]
pub fn on_aligned_stack<R, F: FnOnce() -> R>(work: F) -> R {
    if stack_is_aligned() {
        return work();
    }
    // Misaligned: kept to the asm block and the two slots it points at (`work`, the result,
    // of their types' alignment); `run_once` does the rest on the aligned stack.
    #[cfg(target_arch = "x86_64")]
    {
        let work = core::mem::ManuallyDrop::new(work);
        let mut result = core::mem::MaybeUninit::<R>::uninit();
        // SAFETY: the stack pointer only moves down (at most 8 bytes, into the caller's
        // stack, which has room: the asm block does not set `nostack`, so the compiler keeps
        // nothing in the red zone across it); r12 is callee-saved, so it holds the old stack
        // pointer across the call; `run_once` follows the C ABI (clobbers declared) and gets
        // the alignment the ABI promises from a `call` on a 16-byte-aligned stack pointer. It
        // reads `work` once (left undropped here) and writes `result`.
        unsafe {
            core::arch::asm!(
                "mov r12, rsp",
                "and rsp, -16",
                "call {function}",
                "mov rsp, r12",
                function = sym run_once::<F, R>,
                in("rdi") &work as *const core::mem::ManuallyDrop<F>,
                in("rsi") result.as_mut_ptr(),
                out("r12") _,
                clobber_abi("C"),
            );
            result.assume_init()
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    work()
}

/// Calls the C-ABI function `$function` (a path) with one to four arguments, pointer-sized
/// integers or pointers passed in `rdi`, `rsi`, `rdx` and `rcx` as the C ABI passes them, with
/// the stack pointer rounded down to 16 bytes, and evaluates to its result (as a `usize`, from
/// `rax`; x86-64 only). For a Rust caller that may run on a program's misaligned stack and
/// calls a C-ABI function of this library that must not: the realignment [`on_aligned_stack`]
/// makes, with neither a closure nor a frame of its own, at the cost of three instructions
/// (`mov`, `and`, `mov`) around the call, as the exported `malloc` and `free` stubs make it
/// (`gpa::c_entry`). The callee is one frame above the caller on the frame-pointer chain (the
/// caller's frame pointer, forced by the build, stays the CFA's register across the call, so
/// an unwinder crosses it), so a capture that starts from the callee's frame walks what it
/// walked from a callee called directly. A panic unwinding out of the callee ends the process:
/// the call site has no landing pad (as for `run_once`, which is `extern "C"`).
///
/// # Safety
/// `$function` follows the C ABI (`extern "C"` or `extern "C-unwind"`), takes as many
/// arguments as given, each of the size of a pointer (an integer of that size, a raw pointer,
/// or a reference to a sized type, passed as its address), and returns nothing or a value of
/// that size; the caller upholds its contract for the arguments. A smaller integer is no
/// argument here: the callee may rely on the bits above it, which the `asm!` block leaves
/// unspecified.
#[cfg(target_arch = "x86_64")]
macro_rules! call_realigned {
    (@call $function:path; $($register:tt = $argument:expr),+) => {{
        let result: usize;
        // SAFETY: the macro's contract; r12 is callee-saved, so it holds the old stack
        // pointer across the call; the stack pointer only moves down (at most 8 bytes, into
        // the caller's stack: the asm block does not set `nostack`, so the compiler keeps
        // nothing in the red zone across it); clobbers declared (the argument registers are
        // caller-saved: each is an input whose value is discarded after); a `call` on a
        // 16-byte-aligned stack pointer gives the callee the alignment the ABI promises.
        unsafe {
            core::arch::asm!(
                "mov r12, rsp",
                "and rsp, -16",
                "call {function}",
                "mov rsp, r12",
                function = sym $function,
                $(inout($register) $argument => _,)+
                out("rax") result,
                out("r12") _,
                clobber_abi("C"),
            );
        }
        result
    }};
    ($function:path, $a:expr $(,)?) => {
        $crate::os::stack::call_realigned!(@call $function; "rdi" = $a)
    };
    ($function:path, $a:expr, $b:expr $(,)?) => {
        $crate::os::stack::call_realigned!(@call $function; "rdi" = $a, "rsi" = $b)
    };
    ($function:path, $a:expr, $b:expr, $c:expr $(,)?) => {
        $crate::os::stack::call_realigned!(@call $function; "rdi" = $a, "rsi" = $b, "rdx" = $c)
    };
    ($function:path, $a:expr, $b:expr, $c:expr, $d:expr $(,)?) => {
        $crate::os::stack::call_realigned!(
            @call $function; "rdi" = $a, "rsi" = $b, "rdx" = $c, "rcx" = $d
        )
    };
}
#[cfg(target_arch = "x86_64")]
pub(crate) use call_realigned;

/// [`on_aligned_stack`]'s work on the realigned stack: runs `work` (read once) and writes
/// what it returns to `result`. A panic cannot unwind out of it (`extern "C"`: an abort).
extern "C" fn run_once<F: FnOnce() -> R, R>(
    work: *const core::mem::ManuallyDrop<F>,
    result: *mut R,
) {
    // SAFETY: `on_aligned_stack` passes its live, never dropped `work` (read only here) and
    // its uninitialized result slot.
    unsafe {
        let work = core::mem::ManuallyDrop::into_inner(work.read());
        result.write(work());
    }
}

/// Whether the stack pointer is where the C ABI puts it in a function's body: a multiple of
/// 16. Rust guarantees it at an `asm!` block without `nostack` (x86-64: the alignment for a
/// call) when the function was entered as the ABI says; entered with the stack 8 bytes off,
/// the function's body runs 8 bytes off too.
#[inline(always)]
fn stack_is_aligned() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        let sp: usize;
        // SAFETY: reads one register; no memory access (`nostack` left out on purpose: see
        // the function's notes).
        unsafe {
            core::arch::asm!("mov {sp}, rsp", sp = out(reg) sp, options(nomem, preserves_flags));
        }
        sp % 16 == 0
    }
    #[cfg(not(target_arch = "x86_64"))]
    true
}

/// Calls `function(argument)` with the stack pointer at `top`, then returns to the caller's
/// stack (also the switch of `signal::with_stack_room`).
///
/// # Safety
/// `top` is the 16-byte-aligned top of a mapped stack nobody else uses meanwhile.
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn call_on_stack(top: usize, function: extern "C" fn(usize), argument: usize) {
    // SAFETY: caller contract; r12 is callee-saved, so it holds the old stack pointer across
    // the call; the callee follows the C ABI (clobbers declared); `call` on a 16-aligned
    // stack pointer gives the callee the alignment the ABI promises.
    unsafe {
        core::arch::asm!(
            "mov r12, rsp",
            "mov rsp, {top}",
            "call {function}",
            "mov rsp, r12",
            top = in(reg) top & !15,
            function = in(reg) function,
            in("rdi") argument,
            out("r12") _,
            clobber_abi("C"),
        );
    }
}

/// Calls `visit` with the usable part (`start`, `end`) of each pool stack made accessible.
/// What they hold is gpa's (live frames of cold work, or stale ones), never the program's
/// roots.
pub fn for_each_stack(visit: &mut dyn FnMut(usize, usize)) {
    let base = POOL.load(Ordering::Acquire);
    if base <= 1 {
        return;
    }
    for (slot, ready) in READY.iter().enumerate() {
        if ready.load(Ordering::Acquire) {
            let low = base + slot * slot_span() + super::page_size();
            visit(low, low + STACK_SIZE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the stack is aligned in a function of its own (called, not inlined).
    #[inline(never)]
    fn aligned_in_a_call() -> bool {
        stack_is_aligned()
    }

    /// Entered on a misaligned stack (below): whether its body saw the stack aligned, and
    /// whether `on_aligned_stack`'s work did, written to `out`.
    extern "C" fn entered_misaligned(out: *mut [bool; 2]) {
        let before = aligned_in_a_call_here();
        let inside = on_aligned_stack(aligned_in_a_call);
        // SAFETY: the caller passes its live array.
        unsafe { *out = [before, inside] };
    }

    /// Whether the stack is aligned in this C-ABI function (its argument unused): the callee
    /// of `call_realigned!` below.
    #[cfg(target_arch = "x86_64")]
    extern "C" fn aligned_in_a_c_call(_: usize) -> usize {
        usize::from(aligned_in_a_call())
    }

    /// The callee of `call_realigned!` with four arguments: its arguments in the order they
    /// came (each a decimal digit), and 10,000 more when the stack was aligned in it. A
    /// pointer among them, to check that one passes as an integer does.
    #[cfg(target_arch = "x86_64")]
    extern "C" fn digits_in_a_c_call(a: usize, b: *const usize, c: usize, d: usize) -> usize {
        // SAFETY: the callers pass the address of a live `usize`.
        let b = unsafe { *b };
        usize::from(aligned_in_a_call()) * 10_000 + a * 1000 + b * 100 + c * 10 + d
    }

    /// As [`digits_in_a_c_call`], with two and three arguments.
    #[cfg(target_arch = "x86_64")]
    extern "C" fn digits_in_a_c_call_2(a: usize, b: usize) -> usize {
        usize::from(aligned_in_a_call()) * 10_000 + a * 10 + b
    }

    /// See [`digits_in_a_c_call_2`].
    #[cfg(target_arch = "x86_64")]
    extern "C" fn digits_in_a_c_call_3(a: usize, b: usize, c: usize) -> usize {
        usize::from(aligned_in_a_call()) * 10_000 + a * 100 + b * 10 + c
    }

    /// What each arity of `call_realigned!` returns from the callees above (1: each callee saw
    /// an aligned stack and its arguments in order).
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn realigned_calls_agree() -> bool {
        let two = 2usize;
        call_realigned!(aligned_in_a_c_call, 0usize) == 1
            && call_realigned!(digits_in_a_c_call_2, 1usize, 2usize) == 10_012
            && call_realigned!(digits_in_a_c_call_3, 1usize, 2usize, 3usize) == 10_123
            && call_realigned!(
                digits_in_a_c_call,
                1usize,
                &two as *const usize,
                3usize,
                4usize
            ) == 11_234
    }

    /// Entered on a misaligned stack: whether its body saw the stack aligned, and whether
    /// the callees of `call_realigned!` did (with their arguments in order), written to `out`.
    #[cfg(target_arch = "x86_64")]
    extern "C" fn entered_misaligned_calls(out: *mut [bool; 2]) {
        let before = aligned_in_a_call_here();
        let inside = realigned_calls_agree();
        // SAFETY: the caller passes its live array.
        unsafe { *out = [before, inside] };
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_realigned_call_runs_on_an_aligned_stack_when_called_on_a_misaligned_one() {
        assert_eq!(call_misaligned(entered_misaligned_calls), [false, true]);
        // On an aligned stack too.
        assert!(realigned_calls_agree());
    }

    /// Calls `function` (C ABI) with the stack pointer 8 bytes off the ABI's alignment (as a
    /// program that jumps into a function does) and returns what it wrote.
    #[cfg(target_arch = "x86_64")]
    fn call_misaligned(function: extern "C" fn(*mut [bool; 2])) -> [bool; 2] {
        let mut out = [true, false];
        // SAFETY: `function` takes the array's address in rdi and writes it; the stack pointer
        // is rounded down to 16 and moved 8 below, so the call enters misaligned; r12
        // (callee-saved) keeps the old stack pointer; clobbers declared.
        unsafe {
            core::arch::asm!(
                "mov r12, rsp",
                "and rsp, -16",
                "sub rsp, 8",
                "call {function}",
                "mov rsp, r12",
                function = in(reg) function,
                in("rdi") &mut out as *mut [bool; 2],
                out("r12") _,
                clobber_abi("C"),
            );
        }
        out
    }

    /// [`stack_is_aligned`] in `entered_misaligned`'s own body.
    #[inline(always)]
    fn aligned_in_a_call_here() -> bool {
        stack_is_aligned()
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn work_runs_on_an_aligned_stack_when_called_on_a_misaligned_one() {
        assert_eq!(call_misaligned(entered_misaligned), [false, true]);
        // On an aligned stack the work runs right there.
        assert!(on_aligned_stack(aligned_in_a_call));
    }

    #[test]
    fn work_runs_on_a_pool_stack_and_returns_its_value() {
        let outer = crate::os::approximate_stack_pointer();
        let (inner, nested) = on_own_stack(|| {
            let inner = crate::os::approximate_stack_pointer();
            // Nested: runs right there, on the same pool stack.
            let nested = on_own_stack(crate::os::approximate_stack_pointer);
            (inner, nested)
        });
        #[cfg(target_arch = "x86_64")]
        {
            let base = POOL.load(Ordering::Acquire);
            assert!(base > 1);
            let end = base + SLOTS * slot_span();
            assert!(inner >= base && inner < end, "{inner:#x} not in the pool");
            assert!(nested >= base && nested < end && nested < inner);
            assert!(!(outer >= base && outer < end));
        }
        let _ = (outer, inner, nested);
        let mut seen = 0;
        for_each_stack(&mut |start, end| {
            assert_eq!(end - start, STACK_SIZE);
            seen += 1;
        });
        assert!(seen >= 1 || cfg!(not(target_arch = "x86_64")));
    }

    #[test]
    fn many_threads_share_the_pool() {
        let threads: std::vec::Vec<_> = (0..4 * SLOTS)
            .map(|index| {
                std::thread::spawn(move || {
                    (0..200)
                        .map(|round| on_own_stack(|| index * round))
                        .sum::<usize>()
                })
            })
            .collect();
        for (index, thread) in threads.into_iter().enumerate() {
            assert_eq!(thread.join().unwrap(), index * (0..200).sum::<usize>());
        }
    }
}
