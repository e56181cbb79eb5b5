//! Shapes of code around a trace capture: recursion of random depth and frame sizes, the
//! frame-pointer register set to garbage (x86-64), threads with small stacks, a signal handler
//! on an alternate stack. Shared by this crate's tests (no frame pointers) and the gpa crate's
//! `tests/trace_shapes.rs` (frame pointers on), which includes this file.

use core::ffi::c_void;
use core::hint::black_box;
use core::ptr::NonNull;

use gpa::TraceMethod;
use gpa::{Allocator, Config, GeneralPurposeAllocator, OnError};

/// A debug GPA that records its findings, with deep traces captured by `method`.
pub fn traced_gpa(method: TraceMethod) -> GeneralPurposeAllocator {
    GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        stack_trace_frames: 16,
        trace_method: method,
        ..Config::debug()
    })
}

/// A small deterministic random source (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    /// The next value in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) % bound.max(1)
    }
}

/// Allocation work in which every step captures a trace (safety mode): small blocks, a small
/// block grown through several size classes, a 300,000-byte block shrunk and grown with
/// `raw_remap` and `raw_resize` (the crash of issue 12) and moved, and one invalid free (a
/// finding, with its own trace). Returns the number of invalid frees it made (1).
#[inline(never)]
pub fn churn(a: Allocator<'_>, seed: u64) -> usize {
    let mut rng = Rng(seed | 1);
    let mut small = Vec::new();
    for _ in 0..4 {
        let len = 1 + rng.below(2000) as usize;
        small.push((a.raw_alloc(len, 8).unwrap(), len));
    }
    // SAFETY: every block is used with the length it has now, and freed once.
    unsafe {
        let (block, len) = small.pop().unwrap();
        let grown = a.raw_remap(block, len, 8, len * 40).unwrap_or_else(|| {
            let fresh = a.raw_alloc(len * 40, 8).unwrap();
            a.raw_free(block, len, 8);
            fresh
        });
        small.push((grown, len * 40));

        let mut large = a.raw_alloc(300_000, 16).unwrap();
        let mut len = 300_000;
        for target in [
            150_000 + rng.below(100_000) as usize,
            290_000,
            700_000,
            200_000,
        ] {
            if rng.below(2) == 0 {
                if let Some(moved) = a.raw_remap(large, len, 16, target) {
                    large = moved;
                    len = target;
                }
            } else if a.raw_resize(large, len, 16, target) {
                len = target;
            }
        }
        a.raw_free(large, len, 16);

        let on_stack = black_box([0u64; 4]);
        a.raw_free(NonNull::from(&on_stack).cast(), 32, 8);

        for (block, len) in small {
            a.raw_free(block, len, 8);
        }
    }
    1
}

/// Runs `work` below `depth` frames of several sizes chosen by `rng`.
pub fn at_depth(depth: usize, rng: &mut Rng, work: &mut dyn FnMut()) {
    if depth == 0 {
        return work();
    }
    match rng.below(4) {
        0 => frame::<8>(depth, rng, work),
        1 => frame::<200>(depth, rng, work),
        2 => frame::<4000>(depth, rng, work),
        _ => frame_with_args(depth, rng, work, 1, 2, 3, 4, 5, 6, 7),
    }
}

#[inline(never)]
fn frame<const PAD: usize>(depth: usize, rng: &mut Rng, work: &mut dyn FnMut()) {
    let pad = black_box([depth as u8; PAD]);
    at_depth(depth - 1, rng, work);
    black_box(&pad);
}

#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn frame_with_args(
    depth: usize,
    rng: &mut Rng,
    work: &mut dyn FnMut(),
    a: u64,
    b: u64,
    c: u64,
    d: u64,
    e: u64,
    f: u64,
    g: u64,
) {
    let sum = black_box(a + b + c + d + e + f + g);
    at_depth(depth - 1, rng, work);
    black_box(sum);
}

/// Values for the frame-pointer register that a walk must not follow: null and small
/// integers (a length, as in issue 12's crash), misaligned values, addresses just below the
/// stack pointer, an unmapped page, the top of the address space, a kernel address, and
/// records on the stack that point down or at themselves.
pub fn garbage_values(rng: &mut Rng) -> Vec<usize> {
    let here = black_box(0u8);
    let sp = &here as *const u8 as usize;
    let mut values = vec![
        0,
        1,
        8,
        50_000,
        300_000,
        sp - 8,
        sp - 16,
        sp - 4096 * 8,
        sp + 1,
        sp + 3,
        unmapped_page(),
        usize::MAX - 7,
        usize::MAX - 15,
        0xffff_8000_0000_0000,
        0x7fff_ffff_f000,
    ];
    for _ in 0..4 {
        values.push(rng.below(u64::MAX) as usize);
        values.push((rng.below(1 << 47) as usize) & !7);
    }
    values
}

/// The address of a page that was mapped and then unmapped (like a large block just freed).
fn unmapped_page() -> usize {
    // SAFETY: an anonymous private mapping, unmapped at once; only its address is kept.
    unsafe {
        let page = libc::mmap(
            core::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(page, libc::MAP_FAILED);
        libc::munmap(page, 4096);
        page as usize
    }
}

/// Runs `work` with the frame-pointer register holding `value` (x86-64; elsewhere it just
/// runs `work`). Code built without frame pointers leaves the register alone, so a capture
/// inside `work` starts its walk at `value`; with frame pointers the walk reaches `value` as
/// the caller record of the trampoline.
pub fn with_frame_pointer(value: usize, work: &mut dyn FnMut()) {
    extern "C" fn trampoline(context: *mut c_void) {
        // SAFETY: `context` is the `&mut &mut dyn FnMut()` passed below, alive for the call.
        let work = unsafe { &mut *context.cast::<&mut dyn FnMut()>() };
        work();
    }
    let mut work = work;
    let context = (&mut work as *mut &mut dyn FnMut()).cast::<c_void>();
    #[cfg(target_arch = "x86_64")]
    // SAFETY: saves `rbp` and keeps the stack 16-byte aligned around a call of an `extern "C"`
    // function (all caller-saved registers clobbered), then restores `rbp` and `rsp`.
    unsafe {
        core::arch::asm!(
            "push rbp",
            "sub rsp, 8",
            "mov rbp, {value}",
            "call {function}",
            "add rsp, 8",
            "pop rbp",
            value = in(reg) value,
            function = in(reg) trampoline as extern "C" fn(*mut c_void),
            in("rdi") context,
            clobber_abi("C"),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    trampoline(context);
}

/// An alternate signal stack for the calling thread, and a `SIGUSR2` handler that runs on it
/// and calls the function stored in [`HANDLER_WORK`].
pub fn install_alternate_stack_handler() {
    const SIZE: usize = 256 * 1024;
    // SAFETY: a fresh mapping becomes this thread's alternate stack (never unmapped: the
    // thread may take the signal again); the handler is a plain `extern "C"` function.
    unsafe {
        let stack = libc::mmap(
            core::ptr::null_mut(),
            SIZE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(stack, libc::MAP_FAILED);
        let alternate = libc::stack_t {
            ss_sp: stack,
            ss_flags: 0,
            ss_size: SIZE,
        };
        assert_eq!(libc::sigaltstack(&alternate, core::ptr::null_mut()), 0);
        let mut action: libc::sigaction = core::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_ONSTACK;
        assert_eq!(
            libc::sigaction(libc::SIGUSR2, &action, core::ptr::null_mut()),
            0
        );
    }
}

/// What the `SIGUSR2` handler runs (a plain function: the handler must not allocate to find
/// it).
pub static HANDLER_WORK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

extern "C" fn on_signal(_signal: libc::c_int) {
    let work = HANDLER_WORK.load(std::sync::atomic::Ordering::Acquire);
    if work != 0 {
        // SAFETY: only `fn()` values are stored in `HANDLER_WORK`.
        let work = unsafe { core::mem::transmute::<usize, fn()>(work) };
        work();
    }
}

/// Runs [`churn`] over `cases` random shapes (depth, frame sizes, a garbage frame pointer or
/// none) on a GPA capturing with `method`, then checks the GPA's verdict: no leak, and exactly
/// the invalid frees `churn` made.
pub fn many_shapes(method: TraceMethod, cases: u64, max_depth: u64, seed: u64) {
    let mut gpa = traced_gpa(method);
    let a = gpa.allocator();
    let mut rng = Rng(seed);
    let mut invalid_frees = 0;
    let garbage = garbage_values(&mut rng);
    for case in 0..cases {
        let depth = rng.below(max_depth + 1) as usize;
        let value = match rng.below(garbage.len() as u64 + 1) as usize {
            index if index < garbage.len() => Some(garbage[index]),
            _ => None,
        };
        let mut shape_rng = Rng(rng.below(u64::MAX) | 1);
        at_depth(depth, &mut shape_rng, &mut || match value {
            Some(value) => with_frame_pointer(value, &mut || invalid_frees += churn(a, case)),
            None => invalid_frees += churn(a, case),
        });
    }
    assert_eq!(gpa.deinit(), gpa::Check::Ok);
    let report = gpa.take_report();
    assert_eq!(report.findings.len(), invalid_frees, "{report}");
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.kind == gpa::report::FindingKind::InvalidFree),
        "{report}"
    );
}

/// [`many_shapes`] on threads with 256 KiB stacks (the walk's upper bound is near).
pub fn small_stacks(method: TraceMethod) {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || many_shapes(method, 10, 12, 0x5eed + t))
                .unwrap()
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

/// Captures made by a signal handler running on an alternate stack (outside the thread's
/// stack bounds), with a garbage frame pointer or without.
pub fn alternate_stack(method: TraceMethod) {
    static METHOD: std::sync::Mutex<Option<TraceMethod>> = std::sync::Mutex::new(None);
    static DONE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    fn in_handler() {
        let method = METHOD.lock().unwrap().unwrap();
        let mut gpa = traced_gpa(method);
        let a = gpa.allocator();
        let made = churn(a, 7);
        with_frame_pointer(50_000, &mut || {
            churn(a, 8);
        });
        assert_eq!(gpa.deinit(), gpa::Check::Ok);
        assert_eq!(gpa.take_report().findings.len(), made + 1);
        DONE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    *METHOD.lock().unwrap() = Some(method);
    install_alternate_stack_handler();
    HANDLER_WORK.store(
        in_handler as fn() as usize,
        std::sync::atomic::Ordering::Release,
    );
    let before = DONE.load(std::sync::atomic::Ordering::Relaxed);
    // SAFETY: raising a signal whose handler was just installed; it runs synchronously.
    assert_eq!(unsafe { libc::raise(libc::SIGUSR2) }, 0);
    assert_eq!(DONE.load(std::sync::atomic::Ordering::Relaxed), before + 1);
}
