//! `GeneralPurposeAllocator`: any size, any free order, and memory mistakes caught with
//! stack traces (Zig's `GeneralPurposeAllocator` / `DebugAllocator`, built for speed).
//!
//! # Features
//! * Small blocks (up to 128 KiB) in size classes carved from pages of 4 MiB segments taken
//!   from the backing allocator; large blocks in mappings of their own (`large`).
//! * Per-thread heaps (`heap`): no lock on the common path; a block freed by another thread
//!   goes to its heap's atomic remote list; threads that exit hand their heaps back.
//! * Safety mode (`Config::safety`): per-slot state out of line, so double frees, invalid and
//!   foreign frees and layout mismatches are reported with the allocation, first-free and
//!   current traces; freed memory is poisoned with 0xAA and quarantined before reuse; a
//!   redzone after every block, growing with its size (`safety`), catches overflows; a
//!   block of no bytes (C's `malloc(0)`) gets an address of its own on an inaccessible page
//!   (`guarded`), so any access to it faults and is reported; leaks are reported at
//!   `deinit`/`detect_leaks`.
//! * Guard mode (`Config::guard`, or `Config::guard_sample` for one allocation in N): blocks
//!   on pages of their own against an inaccessible guard page (`guarded`), freed ones kept
//!   inaccessible in a quarantine, so reads and writes past the end and uses after free fault
//!   at the access; the fault is reported with the faulting access's trace (`fault`).
//! * Any pointer may be freed in safety mode (and by C's `free` in any mode): it is looked up
//!   in the page map and validated headers, never followed, and gpa's own metadata lies
//!   behind inaccessible guards (`internal`, `segment`, `large`, `pagemap`), so a program's
//!   mistake is reported and never crashes or corrupts the allocator.
//! * Reports go to stderr and are kept as data ([`crate::report::Report`], also as JSON).
//! * Tools above the GPA (leak-check scopes, a heap profiler) see its allocation events by
//!   registering an [`observer::Observer`]; with none registered, each entry point pays one
//!   predictable branch.
//!
//! # Basic design: the data path of one allocation
//! `alloc(layout)` → size class (a table lookup) → this thread's heap (one thread-local
//! compare) → pop the current page of that class (a few instructions) → in safety mode, mark
//! the slot live, store the size, capture the trace. `free(ptr)` → the page map gives the
//! segment (or the size class gives it directly in fast mode) → owned by this thread's heap?
//! push on the page's free list : push on the owner's remote list → in safety mode, check the
//! slot and the layout, check the redzone, poison, quarantine, store the free trace.
//!
//! # Invariants
//! * A GPA's id is assigned on first use from a global counter and never reused; every
//!   segment and large block records it, so a pointer of another instance is recognized.
//! * Nothing on an allocation path allocates from a user heap: traces are captured into a
//!   fixed array and interned into a table mapped from the OS; reports are rendered with the
//!   thread marked as inside the allocator (see `heap::InsideAllocator`).

mod at_exit;
mod block_at;
pub(crate) use block_at::HeapSlot;
mod c_checked;
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
pub mod c_entry;
pub(crate) use c_checked::CheckedBlock;
mod c_paths;
pub(crate) mod caches;
mod fast_free;
mod findings;
pub(crate) use findings::{site as finding_site, KEPT_APART as FINDINGS_KEPT_APART};
pub(crate) mod fault;
mod guarded;
mod heap;
mod internal;
mod large;
mod leaks;
pub(crate) mod lock;
pub mod observer;
mod pagemap;
mod quarpages;
mod released;
mod safety;
pub(crate) use safety::{all_bytes_are, near_fill, Prefix};
mod segment;
mod size_class;
mod small;
mod usage;
pub(crate) use usage::Usage;

use core::alloc::{GlobalAlloc, Layout};
use core::fmt;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::interface::{impl_allocator_api2, Allocator, RawAllocator, SyncAllocator};
use crate::report::{self, FindingKind, RawFinding, Report};
use crate::trace::{self, TraceId, TraceMethod};
use crate::PageAllocator;
use lock::Lock;

pub(crate) use c_paths::{c_calloc, c_free, c_free_validated, c_malloc, c_realloc};
pub(crate) use heap::{
    c_heap_gpa, defer_signal, exit_hook_ran, inside_allocator, CCall, InsideAllocator,
};
pub(crate) use internal::enter_emergency as enter_emergency_allocation;
pub(crate) use leaks::{Examine, LiveBlock};
pub(crate) use size_class::MAX_SMALL_ALIGN;

/// The internal heap's live map (`[start, end)`), once it exists: see
/// `leakcheck::roots::OwnState::with_allocator_metadata`.
pub(crate) fn internal_live_map() -> Option<(usize, usize)> {
    internal::live_map_range()
}

/// Calls `visit` with each page-map leaf's bytes: see
/// `leakcheck::roots::OwnState::with_allocator_metadata`.
pub(crate) fn for_each_page_map_leaf(visit: &mut dyn FnMut(usize, usize)) {
    pagemap::for_each_leaf(visit);
}

/// The library's own per-thread state of the calling thread, `(address, bytes)` each: every
/// variable the crate defines with `fast_thread_local!` (heap cache, sampling state, trace
/// capture state, the blocks a C call has in flight, the checked libc call in progress). They
/// live in the thread's static TLS block, outside any heap a GPA manages, and some hold copies
/// of the program's pointers, so a leak scan must skip them: Valgrind never sees its own state
/// as the program's roots. (The trace layer's caches, remembered walks that keep `rbp`, a
/// general register in code without frame pointers, are out of static TLS, in mappings of
/// their own that the scan skips too: `trace::for_each_thread_caches`.)
pub(crate) fn own_thread_locals() -> [(usize, usize); 6] {
    [
        heap::thread_local_extent(),
        guarded::thread_local_extent(),
        c_checked::thread_local_extent(),
        trace::thread_local_extent(),
        crate::capi::scan::thread_local_extent(),
        crate::capi::libc_calls::thread_local_extent(),
    ]
}

/// What the GPA does when it detects a mistake ([`Config::on_error`]). Every finding is also
/// recorded in the GPA's [`report`](GeneralPurposeAllocator::report) in all three modes; the
/// [`GeneralPurposeAllocator`] example uses `Record`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Print the report to stderr, record it, and continue (Zig's behaviour; the default).
    Report,
    /// Record it without printing (for tests that assert on [`GeneralPurposeAllocator::report`]).
    Record,
    /// Print the report and abort the process.
    Abort,
}

/// The GPA's settings (Zig's `DebugAllocator.Config`, same names and meanings).
///
/// Start from [`Config::fast()`] (no checks: the production setting), [`Config::debug()`]
/// (every check, 6-frame traces: tests and debug builds) or [`Config::new()`] (the default:
/// `debug()` in debug builds, `fast()` in release builds), and change single fields with
/// struct update syntax. All three are `const fn`, so a configured GPA can be the
/// `#[global_allocator]`:
///
/// ```
/// use gpa::{Config, GeneralPurposeAllocator, OnError};
///
/// #[global_allocator]
/// static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config {
///     stack_trace_frames: 12,   // deeper traces than debug()'s 6
///     on_error: OnError::Abort, // stop at the first mistake
///     ..Config::debug()
/// });
/// # fn main() {}
/// ```
///
/// # What the settings cost
/// Measured with `cargo run --release --example config_costs`: a mixed workload (1000 live
/// blocks; each step frees a random one and allocates 8..=1024 bytes) called 20 frames deep,
/// each configuration differing from the one above it in one field, in CPU time of the
/// measuring thread per free+allocate pair, median of 7 interleaved rounds; the table gives,
/// for each row, the median of three such runs (2026-11-30 13:19-13:21 UTC, 2-vCPU AMD EPYC
/// virtual machine, load average 9.5-10.6, CPU time counts no waiting; release build with
/// frame pointers):
///
/// | configuration | ns per pair | vs `fast()` |
/// |---|---:|---:|
/// | `Config::fast()` | 12.4 | 1.00x |
/// | `fast()`, `enable_memory_limit: true` | 30.9 | 2.49x |
/// | `fast()`, `stack_trace_frames: 6` | 12.3 | 0.99x |
/// | `safety: true`, `stack_trace_frames: 0` | 118.4 | 9.55x |
/// | `Config::debug()` (safety, 6 frames) | 140.3 | 11.31x |
/// | `debug()`, `stack_trace_frames: 12` | 182.3 | 14.70x |
/// | `debug()`, `quarantine_bytes: 0` | 120.9 | 9.75x |
/// | `debug()`, `quarantine_bytes: 4 MiB` | 219.2 | 17.68x |
/// | `debug()`, `trace_method: Unwinder` | 3821.6 | 308.19x |
///
/// Safety mode's own cost (118 ns) is mostly memory touched per pair: the redzone checked at
/// each free, blocks poisoned whole at the free and the poison checked as their slots are taken
/// again (stop 54 moved that check from the eviction; these figures are from before).
///
/// The benchmark suite's comparison with other allocators is in
/// [the performance page](crate::docs::performance).
#[derive(Clone, Copy)]
pub struct Config {
    /// Frames of stack trace kept per allocation and per free (0: none); the report shows
    /// them for every finding.
    ///
    /// Default: 6 in debug builds, 0 in release builds (`debug()`: 6, `fast()`: 0).
    ///
    /// Cost: with `safety`, each allocation and each free captures a trace: 6 frames added
    /// 22 ns per pair to safety mode's 118 ns (about 11 ns per trace: a walk that starts from
    /// the frame of one of the thread's last walks and finds its frame records unchanged
    /// returns that trace without interning it again), and 12 frames another 42 ns (walks of
    /// more than 8 frames are not remembered). Distinct traces are stored once, in a table
    /// mapped from the OS. Without `safety`, only large blocks (above 128 KiB) record their
    /// allocation trace, so small blocks pay nothing (the table above: 12.3 vs 12.4 ns).
    ///
    /// Change it when reports stop short of your code (raise it: deep library or generic
    /// call chains), or set 0 to keep the checks at about four fifths of the cost of `debug()`.
    pub stack_trace_frames: usize,
    /// Detect double frees, invalid and foreign frees, frees with another layout, writes
    /// after free and overflows (see [the design notes](crate::docs::design) for how): per-slot
    /// state out of line, poisoning and a quarantine of freed blocks, canaries after blocks.
    ///
    /// Default: on in debug builds, off in release builds (`debug()`: on, `fast()`: off).
    ///
    /// Cost: 9.5x `fast()` without traces (118 vs 12 ns per pair), 11.3x with 6-frame traces;
    /// each block also gets at least 8 canary bytes. The heap stays intact on a mistake.
    ///
    /// Turn it on wherever a wrong free would otherwise go unnoticed: tests, debug builds,
    /// a staging run of a release build.
    pub safety: bool,
    /// Count the requested bytes of live blocks, so that
    /// [`GeneralPurposeAllocator::set_requested_memory_limit`] can make allocations beyond a
    /// limit fail cleanly (also under concurrency) and
    /// [`GeneralPurposeAllocator::total_requested_bytes`] can tell the total.
    ///
    /// Default: off.
    ///
    /// Cost: an atomic update per allocation and free: 29.7 vs 12.0 ns per pair in
    /// `fast()`.
    ///
    /// Turn it on to cap a program's heap or to test how code behaves when memory runs out
    /// at a given size.
    pub enable_memory_limit: bool,
    /// Accepted for parity with Zig, and ignored: this GPA is always thread-safe, because
    /// per-thread heaps cost no lock on the common path, so there is nothing to save.
    ///
    /// Default: on. No cost either way; no reason to change it.
    pub thread_safe: bool,
    /// Never give the memory of freed large blocks (above 128 KiB) back to the backing
    /// allocator; in safety mode it is poisoned, so a use after free reads `0xAA` bytes
    /// instead of faulting, and a later free of the stale pointer is still a diagnosed double
    /// free. Addresses of large blocks are then never reused.
    ///
    /// Default: off.
    ///
    /// Cost: every large block freed stays mapped (memory grows with the bytes freed) until
    /// [`GeneralPurposeAllocator::flush_retained_metadata`] or `deinit`; no cost for small
    /// blocks.
    ///
    /// Turn it on while hunting a use after free of a large buffer.
    pub never_unmap: bool,
    /// Keep the header of each freed large block (the rest of its mapping is given back when
    /// the backing allocator can shrink it), so that a double free of it much later is still
    /// diagnosed with its allocation and free traces. Release them with
    /// [`GeneralPurposeAllocator::flush_retained_metadata`].
    ///
    /// Default: off.
    ///
    /// Cost: one OS page per freed large block until flushed; no cost for small blocks,
    /// whose state is always kept in safety mode.
    ///
    /// Turn it on when a second free of a large block comes after more than 64 other large
    /// blocks were freed: safety mode remembers only the last 64 by default, and reports an
    /// older one as a free of an unknown pointer, without its traces.
    pub retain_metadata: bool,
    /// Write one line to stderr for every allocation, resize and free (size, alignment,
    /// address).
    ///
    /// Default: off.
    ///
    /// Cost: a formatted write to stderr per operation: for following a small program, not for
    /// running a large one.
    pub verbose_log: bool,
    /// Where the GPA takes its 4 MiB segments and its large blocks from.
    ///
    /// Default: the page allocator ([`PAGE_ALLOCATOR`](crate::PAGE_ALLOCATOR)).
    ///
    /// Change it to keep the GPA's memory in a region of your choice (a
    /// [`ThreadSafeFixedBufferAllocator`](crate::ThreadSafeFixedBufferAllocator) over a static
    /// buffer, for instance); it must be `Sync` and live for the whole program. Set
    /// [`backing_allocator_zeroes`](Self::backing_allocator_zeroes) to match it.
    pub backing_allocator: &'static (dyn RawAllocator + Sync),
    /// What to do when a mistake is detected: print the report to stderr and go on (`Report`,
    /// Zig's behaviour), only record it (`Record`), or print it and abort (`Abort`). In all
    /// three the finding is kept in [`GeneralPurposeAllocator::report`].
    ///
    /// Default: [`OnError::Report`].
    ///
    /// Use `Record` in tests that assert on the report, `Abort` to stop under a debugger or
    /// get a core dump at the first mistake. No cost until a mistake is found.
    pub on_error: OnError,
    /// How stack traces are captured: by walking frame pointers, or with the system unwinder.
    ///
    /// Default: [`TraceMethod::FramePointers`].
    ///
    /// Cost: frame pointers cost about 11 ns per 6-frame trace; the unwinder about 1.8 µs
    /// (3,822 vs 140 ns per pair in `debug()`, 27x slower) but needs no rebuild.
    ///
    /// Use `Unwinder` for code built without `-C force-frame-pointers=yes`, whose
    /// frame-pointer traces are short or empty (see [`TraceMethod`]).
    pub trace_method: TraceMethod,
    /// Bytes of freed small blocks held back from reuse in safety mode, per thread: a double
    /// free or a write after free of a block still in the quarantine is caught (the poison is
    /// checked when the block leaves it).
    ///
    /// Default: 256 KiB per thread. Ignored without `safety`.
    ///
    /// Cost: that much memory per thread, and the time of poisoning and checking blocks as
    /// they leave: in `debug()`, 121 ns per pair with no quarantine, 140 ns with 256 KiB,
    /// 186-220 ns with 4 MiB (the blocks leaving it are cold in the cache). On `gpa-bench`'s
    /// `mixed-1t` (1,000 live blocks of 8-1024 bytes; CPU time per pair, medians of 12
    /// alternating runs, 2026-11-30; misses per pair simulated by cachegrind with a 1 MiB
    /// 8-way L2): 64 KiB 122.8 ns and 2.0 L2 misses, 128 KiB 125.3 ns and 2.2, 256 KiB
    /// 127.8 ns and 5.9, 1 MiB 142.7 ns and 18.2. The default stays at 256 KiB: a quarter of
    /// it would save about 4% of debug mode's time and shorten by four times the window in
    /// which a write after free is caught (Valgrind memcheck holds 20 MB,
    /// `--freelist-vol`).
    ///
    /// Raise it when a double free or write after free is found only long after the first
    /// free (the block was reused in between: a report of another kind, or none); lower it to
    /// save memory in programs with many threads.
    pub quarantine_bytes: usize,
    /// Guard mode: every block gets pages of its own, its end against an inaccessible guard
    /// page (the alignment slack after it holds canary bytes), so a read or write past the end
    /// faults at once; freed blocks stay inaccessible in a quarantine of
    /// `guard_quarantine_bytes`, so a use after free faults too. A fault is reported with the
    /// faulting access's stack trace, the allocation and the free traces, and ends the process
    /// as the signal would (the `SIGSEGV` handler is installed when the first guarded block is
    /// made; faults that are not on a GPA's block go to the handler installed before it).
    /// Independent of `safety`; when the kernel's mapping limit is reached (before Linux 6.13,
    /// see the `guarded` module), further blocks are served unguarded.
    ///
    /// Default: off.
    ///
    /// Cost: a page of memory and two of address space per block, two system calls and a page
    /// fault per allocation and free: 2.6x to 9x check mode's CPU time on real C programs
    /// ([the performance page](crate::docs::performance), "Guard mode").
    pub guard: bool,
    /// Sampled guard mode: about one allocation in this many is guarded (a per-thread
    /// countdown of random length), the rest served as without it. 0: off. Ignored when
    /// `guard` is set.
    ///
    /// Default: 0.
    ///
    /// Cost: one countdown per allocation (kept in the thread's heap on the fast paths), and
    /// per sampled block of up to a page
    /// one `mprotect` when it is freed and a sixteenth of one when it is made (it takes a slot
    /// of a resident pool of 256; when all are taken, requests are served unguarded); larger
    /// sampled blocks cost what guard mode's do. At 1000, over fast mode: 1.00x on the C
    /// `alloc_workload`, 1.24x on a C loop of nothing but `malloc`/`free`, about 1.3x on
    /// gpa-bench's `mixed` workload with one thread and 2.6x with two threads on two idle
    /// cores (the `mprotect` at a sampled block's free, about 1.7 µs on the development VM, and
    /// with a second thread running, the other CPU's TLB flush; [the performance page](crate::docs::performance), "Sampled guard
    /// mode on the fast paths").
    pub guard_sample: usize,
    /// Guarded blocks start right after their guard page instead of ending against it, so
    /// that underflows fault (and overflows are found by the canary at free).
    ///
    /// Default: off (debug and release).
    ///
    /// Cost: no time or memory beyond guard mode's; what it trades is detection: overflows are
    /// then found by the canary when the block is freed, not at the access. Turn it on for a
    /// second run when a program is suspected of writing before its blocks.
    pub guard_underflow: bool,
    /// Bytes of freed guarded blocks (whole pages, guard included) kept inaccessible before
    /// their addresses are reused. Their memory goes back to the OS (but for the most recently
    /// freed, `guard_keep_bytes`), so this costs address space only.
    ///
    /// Default: 1 GiB.
    pub guard_quarantine_bytes: usize,
    /// Of the quarantined guarded blocks, the most recently freed keep their contents up to
    /// this many bytes of data pages (whole pages: a 16-byte block keeps one page), as
    /// Valgrind memcheck keeps the blocks of its free queue (`--freelist-vol`, 20,000,000
    /// bytes): a read after free is reported at the access and returns what the block held,
    /// a write after free is reported and kept, and the program goes on as natively without
    /// the reuse. Older quarantined blocks give their memory back to the OS; an access to
    /// one is still reported, and reads zeros. The window is also held to an eighth of the
    /// kernel's mapping limit in blocks (each kept block splits the area's mapping). 0: keep
    /// none (reads after free return zeros).
    ///
    /// Default: 20,000,000 (`gpa run --quarantine` sets it too).
    ///
    /// Cost: up to this much resident memory more in guard mode, and one more `mprotect`
    /// (and a `madvise`) per freed guarded block when it leaves the window.
    pub guard_keep_bytes: usize,
    /// A resize records its own stack as the block's allocation trace (Zig's
    /// `resize_stack_traces`), so a leak of a grown block names where it was last grown.
    ///
    /// Default: off.
    ///
    /// Cost: one trace per successful in-place resize (about 14 ns with 6 frames).
    ///
    /// Turn it on when leaks are reported at a creation site far from the code that filled
    /// the block.
    pub resize_stack_traces: bool,
    /// A value recorded in every segment and large block and compared on every checked free
    /// (Zig's `canary`): a pointer of another GPA instance, or of one configured with another
    /// canary, is reported as a foreign free. Each instance also has a unique id that is
    /// checked the same way, so the default value is enough to tell instances apart.
    ///
    /// Default: `0x9232_a6ff_85df_f10f`. No cost beyond the comparison of a free in safety
    /// mode; no reason to change it within one process.
    pub canary: u64,
    /// The backing allocator returns zeroed memory (true of the page allocator), so fresh
    /// segments need no clearing of their descriptors.
    ///
    /// Default: on.
    ///
    /// Set it to `false` for a backing allocator that reuses memory (a fixed buffer, an
    /// arena); each new 4 MiB segment then has its descriptors cleared.
    pub backing_allocator_zeroes: bool,
}

impl Config {
    /// The defaults: [`debug()`](Self::debug) in debug builds (`debug_assertions` on),
    /// [`fast()`](Self::fast) in release builds; every other field as documented on it. Also
    /// `Config::default()`.
    pub const fn new() -> Self {
        let debug = cfg!(debug_assertions);
        Config {
            stack_trace_frames: if debug { 6 } else { 0 },
            safety: debug,
            enable_memory_limit: false,
            thread_safe: true,
            never_unmap: false,
            retain_metadata: false,
            verbose_log: false,
            backing_allocator: &PageAllocator,
            on_error: OnError::Report,
            trace_method: TraceMethod::Auto,
            quarantine_bytes: 256 * 1024,
            guard: false,
            guard_sample: 0,
            guard_underflow: false,
            guard_quarantine_bytes: 1 << 30,
            guard_keep_bytes: 20_000_000,
            resize_stack_traces: false,
            backing_allocator_zeroes: true,
            canary: 0x9232_a6ff_85df_f10f,
        }
    }

    /// The fast configuration: no safety checks, no traces (the [`Config`] table: mimalloc's
    /// speed). The other fields as in [`Config::new`].
    pub const fn fast() -> Self {
        Config {
            safety: false,
            stack_trace_frames: 0,
            ..Config::new()
        }
    }

    /// The debug configuration: safety checks and 6-frame traces, in any build (11.9x the cost
    /// of `fast()` in the [`Config`] table). The other fields as in [`Config::new`].
    pub const fn debug() -> Self {
        Config {
            safety: true,
            stack_trace_frames: 6,
            ..Config::new()
        }
    }

    /// The guard configuration: [`Config::debug`] with every block guarded ([`Config::guard`]).
    pub const fn guarded() -> Self {
        Config {
            guard: true,
            ..Config::debug()
        }
    }

    /// Whether any block may be guarded.
    const fn guards(&self) -> bool {
        self.guard || self.guard_sample != 0
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("stack_trace_frames", &self.stack_trace_frames)
            .field("safety", &self.safety)
            .field("enable_memory_limit", &self.enable_memory_limit)
            .field("thread_safe", &self.thread_safe)
            .field("never_unmap", &self.never_unmap)
            .field("retain_metadata", &self.retain_metadata)
            .field("verbose_log", &self.verbose_log)
            .field("on_error", &self.on_error)
            .field("trace_method", &self.trace_method)
            .field("quarantine_bytes", &self.quarantine_bytes)
            .field("guard", &self.guard)
            .field("guard_sample", &self.guard_sample)
            .field("guard_underflow", &self.guard_underflow)
            .field("guard_quarantine_bytes", &self.guard_quarantine_bytes)
            .field("guard_keep_bytes", &self.guard_keep_bytes)
            .field("resize_stack_traces", &self.resize_stack_traces)
            .field("backing_allocator_zeroes", &self.backing_allocator_zeroes)
            .field("canary", &format_args!("{:#x}", self.canary))
            .finish_non_exhaustive()
    }
}

/// What safety mode keeps about a live block ([`GeneralPurposeAllocator::block_info`]).
///
/// ```
/// let gpa = gpa::GeneralPurposeAllocator::with_config(gpa::Config::debug());
/// let allocator = gpa.allocator();
/// let block = allocator.raw_alloc(40, 8).unwrap();
/// assert!(gpa.set_block_tag(block.as_ptr(), 7)); // a caller's mark, kept with the block
/// let info = gpa.block_info(block.as_ptr()).unwrap();
/// assert_eq!((info.layout.size(), info.layout.align(), info.tag), (40, 8, 7));
/// // SAFETY: `block` came from this allocator with this length and alignment.
/// unsafe { allocator.raw_free(block, 40, 8) };
/// assert!(gpa.block_info(block.as_ptr()).is_none()); // not live any more
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// The requested size and alignment.
    pub layout: Layout,
    /// The caller's tag ([`GeneralPurposeAllocator::set_block_tag`]), 0 unless set.
    pub tag: u8,
    /// Where the block was allocated.
    pub alloc_trace: TraceId,
}

/// A live block's layout and the cells of its tag and allocation trace.
type BlockCells<'a> = (
    Layout,
    &'a core::sync::atomic::AtomicU8,
    &'a core::sync::atomic::AtomicU32,
);

/// What the GPA knows of the block whose memory holds an address, live or freed
/// ([`GeneralPurposeAllocator::block_containing_located`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockSpan {
    /// The block's first byte (what its allocation returned).
    pub start: usize,
    /// Its requested size.
    pub size: usize,
    /// Its requested alignment.
    pub align: usize,
    /// Still allocated (else freed, and remembered).
    pub live: bool,
    /// Where it was allocated.
    pub alloc_trace: TraceId,
    /// Where it was freed (none while live).
    pub free_trace: TraceId,
    /// Its [tag](GeneralPurposeAllocator::set_block_tag), for a block of the GPA's own
    /// segments or mappings (`None` for the internal heap's and forgotten blocks').
    pub tag: Option<u8>,
}

/// Where [`GeneralPurposeAllocator::block_containing_located`] found a block: for a block of a
/// small segment, the segment and the page descriptor that `Segment::checked_page_of` returned
/// for the address (both null for any other block). Valid until the program runs again: the
/// caller frees the block ([`GeneralPurposeAllocator::free_located`]) right after, on the same
/// thread, without a second lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Located(*mut segment::Segment, *mut segment::Page);

impl Located {
    /// Not in a small segment: [`GeneralPurposeAllocator::free_located`] looks the block up.
    pub(crate) const ELSEWHERE: Located = Located(core::ptr::null_mut(), core::ptr::null_mut());
}

/// The verdict of a leak check: what [`GeneralPurposeAllocator::deinit`] returns (its example
/// shows both values). The leaked blocks themselves are in the GPA's
/// [`report`](GeneralPurposeAllocator::report).
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Nothing was left allocated.
    Ok,
    /// Some blocks were still allocated (each was reported).
    Leak,
}

struct HeapList {
    head: *mut heap::Heap,
}

// SAFETY: the list holds heap descriptors shared between threads by design; all access goes
// through the mutex, and each heap's mutable parts are touched only by its owner thread.
unsafe impl Send for HeapList {}

/// The general-purpose allocator: blocks of any size, freed in any order, from any thread; in
/// safety mode it also reports memory mistakes with the stack traces that explain them (Zig's
/// `GeneralPurposeAllocator` / `DebugAllocator`, built for speed).
///
/// Use it as an instance whose [`allocator`](Self::allocator) handle is passed to functions
/// (and whose [`deinit`](Self::deinit) is the leak check), or as the process's
/// `#[global_allocator]` ([`new`](Self::new) and [`with_config`](Self::with_config) are
/// `const`). [`Config`] chooses the checks; [`Config::fast()`] has none and runs at mimalloc's
/// speed, [`Config::debug()`] has all of them with 6-frame traces.
///
/// ```
/// use gpa::{Check, Config, GeneralPurposeAllocator, OnError};
///
/// let mut gpa = GeneralPurposeAllocator::with_config(Config {
///     on_error: OnError::Record, // keep findings as data, print nothing
///     ..Config::debug()
/// });
/// let allocator = gpa.allocator();
/// let kept = allocator.dupe(&[1u32, 2, 3]).unwrap(); // never freed
/// assert_eq!(kept, [1, 2, 3]);
/// let freed = allocator.create(7u64).unwrap();
/// // SAFETY: `freed` came from this allocator and is not used again.
/// unsafe { allocator.destroy(freed) };
///
/// assert_eq!(gpa.deinit(), Check::Leak); // `kept` leaked
/// let report = gpa.report();
/// let leak = report.of_kind(gpa::FindingKind::Leak).next().unwrap();
/// assert_eq!(leak.size, 12);
/// assert!(leak.stack("alloc").is_some()); // where `kept` was allocated
/// ```
///
/// As the global allocator:
///
/// ```
/// use gpa::{Config, GeneralPurposeAllocator};
///
/// #[global_allocator]
/// static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config::debug());
///
/// fn main() {
///     let words: Vec<String> = "a b c".split(' ').map(String::from).collect();
///     assert_eq!(words.len(), 3);
///     assert!(GPA.config().safety); // every Box, Vec and String above was checked
/// }
/// ```
///
/// What safety mode catches and how is in [the design notes](crate::docs::design); the findings
/// are in [`report`](Self::report) and printed to stderr as they happen (see [`OnError`]).
/// It is `Send + Sync`: share `&GeneralPurposeAllocator` between threads, or use
/// [`sync_allocator`](Self::sync_allocator) for collections that move between threads.
pub struct GeneralPurposeAllocator {
    config: Config,
    /// No safety, no accounting, no log: the C ABI's fast paths apply (one flag to test).
    plain: bool,
    id: AtomicU64,
    heaps: Lock<HeapList>,
    large: Lock<large::LargeList>,
    retained: Lock<large::LargeList>,
    findings: Lock<findings::Findings>,
    recently_freed_large: Lock<large::FreedRing>,
    large_cache: Lock<large::LargeCache>,
    /// Held by a walk of the heaps' segments from another thread (`usage`) and by
    /// `release_segment`: no segment is unmapped while the walk reads its header.
    segment_walk: Lock<()>,
    requested_bytes: AtomicUsize,
    memory_limit: AtomicUsize,
    /// Mistakes fast mode has reported (`fast_free`).
    fast_errors: AtomicUsize,
    /// The key fast mode marks freed slots with (`fast_free`); 0 until first needed.
    free_key: AtomicU64,
    foreign_block_hook: AtomicUsize,
    /// `config.guards()`, kept apart so the hot paths test one flag.
    guards: bool,
    /// `plain` and no guarded blocks: the sized alloc/free fast paths need no other test,
    /// so they load this one flag instead of four settings.
    bare: bool,
    /// `plain` with sampled guard mode (and not full guard mode): the sized alloc fast path
    /// counts down to the next guarded request in the heap (`guarded::due`).
    sampled_bare: bool,
    /// 1 when safety is on and there is nothing else for the general paths to do (no guarded
    /// blocks, accounting or log), else 0: check mode's C entries (`c_checked`) apply while it
    /// equals the observers' gate (`observer::gate`, 1 while no observer is registered, never
    /// 0), one compare for both tests.
    lean_gate: usize,
    /// Traces on, by [`TraceMethod::Auto`]: the checked paths' captures test this flag, then
    /// go straight to the frame-pointer walk once it is known to work (`trace_here`).
    auto_traced: bool,
    /// The depth of the captures [`Self::trace_at`] asks the remembered captures about
    /// (`config.stack_trace_frames`, capped as a capture caps it), set by the first capture
    /// that finds the method remembers them (`trace::remembers_at`); 0 before, and for
    /// methods that do not: one load and test on every capture, where the settings (depth,
    /// method, walker) took three tests and the cap a `cmov`.
    remembered_depth: AtomicUsize,
    guarded: guarded::Guarded,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl GeneralPurposeAllocator {
    /// A GPA with the default [`Config`]. `const`, so it can be a `static` (also the
    /// `#[global_allocator]`).
    pub const fn new() -> Self {
        Self::with_config(Config::new())
    }

    /// A GPA with `config`.
    pub const fn with_config(config: Config) -> Self {
        GeneralPurposeAllocator {
            config,
            plain: !config.safety && !config.enable_memory_limit && !config.verbose_log,
            id: AtomicU64::new(0),
            heaps: Lock::new(HeapList {
                head: core::ptr::null_mut(),
            }),
            large: Lock::new(large::LargeList::new()),
            retained: Lock::new(large::LargeList::new()),
            findings: Lock::new(findings::Findings::new()),
            recently_freed_large: Lock::new(large::FreedRing::new()),
            large_cache: Lock::new(large::LargeCache::new()),
            segment_walk: Lock::new(()),
            requested_bytes: AtomicUsize::new(0),
            memory_limit: AtomicUsize::new(usize::MAX),
            fast_errors: AtomicUsize::new(0),
            free_key: AtomicU64::new(0),
            foreign_block_hook: AtomicUsize::new(0),
            guards: config.guards(),
            bare: !config.safety
                && !config.enable_memory_limit
                && !config.verbose_log
                && !config.guards(),
            sampled_bare: !config.safety
                && !config.enable_memory_limit
                && !config.verbose_log
                && !config.guard
                && config.guard_sample != 0,
            lean_gate: (config.safety
                && !config.guards()
                && !config.enable_memory_limit
                && !config.verbose_log) as usize,
            auto_traced: config.stack_trace_frames != 0
                && matches!(config.trace_method, TraceMethod::Auto),
            remembered_depth: AtomicUsize::new(0),
            guarded: guarded::Guarded::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The handle to pass to functions.
    pub fn allocator(&self) -> Allocator<'_> {
        Allocator::new(self)
    }

    /// A handle that is `Send + Sync`: collections built on it may move to other threads
    /// (see [`SyncAllocator`]).
    pub fn sync_allocator(&self) -> SyncAllocator<'_> {
        SyncAllocator::new_sync(self)
    }

    /// Whether a segment or large-block header belongs to this instance: its id (unique per
    /// instance) and its canary both match.
    #[inline]
    fn owns_header(&self, common: &segment::SegmentCommon) -> bool {
        common.gpa_id == self.id() && common.canary == self.config.canary
    }

    /// What the page map says covers `address`, with the header checked: `Ok(Some(..))` for
    /// a sound header of this GPA, `Ok(None)` when no GPA owns the address, `Err(finding)`
    /// for another instance's (foreign) or a damaged header.
    fn locate(&self, address: usize) -> Result<Option<pagemap::Entry>, FindingKind> {
        self.locate_inlined(address)
    }

    /// [`Self::locate`], inlined: for `free_general`, the checked free (one call fewer on
    /// each).
    #[inline(always)]
    fn locate_inlined(&self, address: usize) -> Result<Option<pagemap::Entry>, FindingKind> {
        let Some(entry) = pagemap::lookup(address) else {
            return Ok(None);
        };
        // SAFETY: the page map validated the entry: a registered segment's header, or a live
        // metadata block of the internal heap holding a large-block header.
        let (sound, common) = unsafe {
            match entry {
                pagemap::Entry::Small(segment) => (
                    (*segment).common.is(segment::SegmentKind::Small),
                    &(*segment).common,
                ),
                pagemap::Entry::Large(header) => ((*header).is_sound(), &(*header).common),
                pagemap::Entry::Guarded(area) => (
                    (*area).common.is(segment::SegmentKind::Guarded),
                    &(*area).common,
                ),
            }
        };
        if !sound {
            return Err(FindingKind::InternalError);
        }
        if let pagemap::Entry::Large(header) = entry {
            // The page map covers whole chunks, and the last chunk of a large block's mapping
            // may hold other mappings (a thread's stack, say): an address there is no GPA's.
            // SAFETY: a sound header, checked just above.
            let block = unsafe { &*header };
            if !block.maps(address) {
                return Ok(None);
            }
        }
        if !self.owns_header(common) {
            return Err(FindingKind::ForeignFree);
        }
        Ok(Some(entry))
    }

    #[inline(always)]
    fn id(&self) -> u64 {
        let id = self.id.load(Ordering::Relaxed);
        if id != 0 {
            return id;
        }
        self.assign_id()
    }

    #[cold]
    fn assign_id(&self) -> u64 {
        let fresh = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        match self
            .id
            .compare_exchange(0, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => fresh,
            Err(winner) => winner,
        }
    }

    /// Limits the total of requested bytes of live blocks (needs `enable_memory_limit`).
    /// Allocations that would pass it fail cleanly.
    pub fn set_requested_memory_limit(&self, bytes: usize) {
        self.memory_limit.store(bytes, Ordering::Relaxed);
    }

    /// The total of requested bytes of live blocks (counted with `enable_memory_limit`).
    pub fn total_requested_bytes(&self) -> usize {
        self.requested_bytes.load(Ordering::Relaxed)
    }

    fn charge(&self, bytes: usize) -> bool {
        let limit = self.memory_limit.load(Ordering::Relaxed);
        let mut current = self.requested_bytes.load(Ordering::Relaxed);
        loop {
            let Some(next) = current.checked_add(bytes).filter(|&next| next <= limit) else {
                return false;
            };
            match self.requested_bytes.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    fn uncharge(&self, bytes: usize) {
        self.requested_bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    #[inline(always)]
    fn trace_here(&self) -> TraceId {
        self.trace_here_in(0)
    }

    /// [`Self::trace_here_in`] with the remembered walk's replay inlined into the caller
    /// (`trace::capture_id_walking_frames_inline`: no call, no frame of its own; the walk
    /// starts from the caller's frame): the Rust debug mode's checked allocation and free,
    /// which capture at every call. Anything but a frame-pointer walk goes out of line.
    #[inline(always)]
    fn trace_here_inline(&self, lane: usize) -> TraceId {
        if self.auto_traced && trace::walks_frame_pointers() {
            let id = trace::capture_id_walking_frames_inline(self.config.stack_trace_frames, lane);
            if id != TraceId::NONE || trace::thread_prepared() {
                return id;
            }
        }
        self.trace_here_out_of_line(lane)
    }

    /// [`Self::trace_here_in`], out of line (for [`Self::trace_here_inline`]'s rare cases).
    #[cold]
    #[inline(never)]
    fn trace_here_out_of_line(&self, lane: usize) -> TraceId {
        self.trace_here_in(lane)
    }

    /// [`Self::trace_here`] in remembered-walk lane `lane` (0 or 1; see
    /// `trace::capture_id_walking_frames`): the checked Rust free captures in lane 1, so that
    /// its remembered walk and the allocation's (lane 0), whose captures start one call below
    /// the program's frame both, do not take each other's place.
    #[inline(always)]
    fn trace_here_in(&self, lane: usize) -> TraceId {
        if self.auto_traced && trace::walks_frame_pointers() {
            // The common case (frame pointers), in one call and three tests. The walk finds
            // no stack bounds (no trace) on a thread not prepared yet: that case (rare, once
            // a thread) prepares the thread and captures again, as `capture_guarded` does.
            let id = trace::capture_id_walking_frames(self.config.stack_trace_frames, lane);
            if id != TraceId::NONE || trace::thread_prepared() {
                return id;
            }
        }
        if self.config.stack_trace_frames == 0 {
            return TraceId::NONE;
        }
        self.capture_guarded(trace::capture_id)
    }

    /// A capture by `capture` (given the depth and the method), on a prepared thread and,
    /// when the method's unwinder may allocate, inside the re-entrancy guard.
    #[inline(always)]
    fn capture_guarded(&self, capture: impl FnOnce(usize, TraceMethod) -> TraceId) -> TraceId {
        if !trace::thread_prepared() {
            let _inside = heap::InsideAllocator::enter();
            trace::prepare_thread();
        }
        let method = self.config.trace_method;
        if method == trace::TraceMethod::Auto && trace::walks_frame_pointers() {
            // The common case (frame pointers), in one call.
            return trace::capture_id_walking_frames(self.config.stack_trace_frames, 0);
        }
        if method.needs_guard() {
            // An unwinder may allocate: keep that on the internal heap.
            let _inside = heap::InsideAllocator::enter();
            return capture(self.config.stack_trace_frames, method);
        }
        capture(self.config.stack_trace_frames, method)
    }

    /// [`Self::trace_here`] for the C ABI's check-mode entries, which pass `frame`, the frame
    /// pointer of one of this object's functions between here and the exported function the
    /// program called (see `trace::capture_id_at`): the same trace, remembered by where the
    /// program's frames start, in `lane` (0 for allocations, 1 for frees). `frame` 0 is
    /// [`Self::trace_here`], unless `ENTRY`: then `frame` is the frame pointer of a C ABI
    /// entry function of this object, never 0 where this object keeps frame pointers (and
    /// where it does not, the remembered captures answer nothing and the capture finds no
    /// program frame: `trace::capture_id_at`), so the test is left out (two instructions a
    /// capture, two captures a `malloc`/`free` pair).
    #[inline(always)]
    fn trace_at<const ENTRY: bool>(&self, frame: usize, lane: usize) -> TraceId {
        if !ENTRY && frame == 0 {
            return self.trace_here();
        }
        // A remembered capture first: it neither walks nor allocates, so it needs no guard.
        let depth = self.remembered_depth.load(Ordering::Relaxed);
        if depth != 0 {
            // Where the remembered capture does not answer, the capture is made from the
            // program's frames it found (`depth` is not 0, so neither are the settings' frames:
            // `trace::remembers_at`).
            if let Some(id) =
                trace::remembered_id_at(frame, lane, depth, |start| self.capture_unanswered(start))
            {
                return id;
            }
        }
        if self.config.stack_trace_frames == 0 {
            return TraceId::NONE;
        }
        self.capture_at(frame, lane)
    }

    /// [`Self::trace_at`] when no remembered capture answers (it asked
    /// `trace::remembered_id_at` first; or the method remembers none; or this is the GPA's
    /// first capture, which finds whether it does: the capture does not ask, which changes
    /// no trace, only whether the memo's words are compared again).
    ///
    /// The depth is published after the capture, and only once the remembered captures can
    /// answer (`trace::remembered_ready`: this object found, with frame pointers, the
    /// cross-check off), which the first capture finds: so `remembered_id_at` is asked only
    /// then, and need not test it on every capture (three instructions each, six a pair).
    #[inline(never)]
    fn capture_at(&self, frame: usize, lane: usize) -> TraceId {
        let id = self.capture_guarded(|depth, method| {
            trace::capture_id_at(frame, lane, depth, method, true)
        });
        if self.remembered_depth.load(Ordering::Relaxed) == 0 && trace::remembered_ready() {
            let settings = (self.config.stack_trace_frames, self.config.trace_method);
            if let Some(depth) = trace::remembers_at(settings.0, settings.1) {
                self.remembered_depth.store(depth, Ordering::Relaxed);
            }
        }
        id
    }

    /// [`Self::capture_at`] of a capture whose remembered trace `trace::remembered_id_at`
    /// found missing (`start`): the same trace, walked from where that found the program's
    /// frames start. What [`Self::capture_guarded`] tests first holds here: the thread is
    /// prepared (`remembered_id_at` looked only on a stack whose bounds `trace::prepare_thread`
    /// found), and the method is the caching unwinder (`trace::remembers_at` accepted it),
    /// which may allocate (a rule computed): inside the re-entrancy guard.
    #[inline(never)]
    fn capture_unanswered(&self, start: trace::Unanswered) -> TraceId {
        let method = self.config.trace_method;
        debug_assert!(trace::thread_prepared() && method.needs_guard());
        let _inside = heap::InsideAllocator::enter();
        trace::capture_id_unanswered(start, self.config.stack_trace_frames, method)
    }

    // ---- the raw operations ----

    #[inline]
    fn alloc_impl(&self, layout: Layout) -> Option<NonNull<u8>> {
        if self.bare {
            return match size_class::class_for(layout.size(), layout.align()) {
                Some(class) => self.alloc_small_fast::<false>(class, layout),
                None => self.alloc_large(layout),
            };
        }
        if self.sampled_bare {
            if let Some(class) = size_class::class_for(layout.size(), layout.align()) {
                return self.alloc_small_fast::<true>(class, layout);
            }
        }
        // Safety on and nothing else to do (no guarded blocks, accounting or log): where
        // `alloc_unaccounted` would arrive after four more tests of the settings.
        if self.lean_gate != 0 {
            return self.alloc_checked(layout);
        }
        if self.config.enable_memory_limit || self.config.verbose_log {
            return self.alloc_accounted(layout);
        }
        self.alloc_unaccounted(layout)
    }

    #[inline(always)]
    fn alloc_unaccounted(&self, layout: Layout) -> Option<NonNull<u8>> {
        if self.guards && (self.config.guard || guarded::sample(self.config.guard_sample)) {
            if let Some(block) = self.alloc_guarded(layout) {
                return Some(block);
            }
        }
        if self.config.safety {
            return self.alloc_checked(layout);
        }
        match size_class::class_for(layout.size(), layout.align()) {
            Some(class) => self.alloc_small_fast::<false>(class, layout),
            None => self.alloc_large(layout),
        }
    }

    #[cold]
    fn alloc_accounted(&self, layout: Layout) -> Option<NonNull<u8>> {
        if self.config.enable_memory_limit && !self.charge(layout.size()) {
            self.log(format_args!(
                "alloc {} bytes: over the memory limit",
                layout.size()
            ));
            return None;
        }
        let block = self.alloc_unaccounted(layout);
        if block.is_none() && self.config.enable_memory_limit {
            self.uncharge(layout.size());
        }
        self.log(format_args!(
            "alloc {} bytes (align {}) -> {:?}",
            layout.size(),
            layout.align(),
            block.map(NonNull::as_ptr)
        ));
        block
    }

    #[cold]
    fn alloc_checked(&self, layout: Layout) -> Option<NonNull<u8>> {
        if layout.size() == 0 {
            if let Some(block) = self.alloc_empty(layout) {
                return Some(block);
            }
        }
        let padded = layout.size().checked_add(safety::redzone(layout.size()))?;
        match size_class::class_for(padded, layout.align()) {
            Some(class) => self.alloc_small_checked(class, layout),
            None => self.alloc_large(layout),
        }
    }

    /// Frees `memory`; `claimed` is the caller's layout where it has one (Rust), `None` for C.
    ///
    /// # Safety
    /// In fast mode `memory` must be a live block of this allocator with `claimed` as its
    /// layout. In safety mode any pointer is accepted and mistakes are reported.
    #[inline]
    unsafe fn free_impl(&self, memory: NonNull<u8>, claimed: Option<Layout>) {
        let address = memory.as_ptr() as usize;
        if self.bare {
            if let Some(layout) = claimed {
                if size_class::class_for(layout.size(), layout.align()).is_some()
                    && !internal::owns(address)
                {
                    // SAFETY: fast-mode contract: a live small block of this allocator.
                    unsafe { self.free_small_fast(memory) };
                    return;
                }
            }
        } else if self.sampled_bare {
            // As `bare`, and a block of sampled guard mode's area takes the general path.
            if let Some(layout) = claimed {
                if size_class::class_for(layout.size(), layout.align()).is_some()
                    && !internal::owns(address)
                    && !self.guarded.holds(address)
                {
                    // SAFETY: fast-mode contract: a live small block of this allocator.
                    unsafe { self.free_small_fast(memory) };
                    return;
                }
            }
        } else if self.plain {
            if let Some(layout) = claimed {
                if let Some(_class) = size_class::class_for(layout.size(), layout.align()) {
                    let elsewhere =
                        internal::owns(address) || (self.guards && self.guarded.holds(address));
                    if !elsewhere {
                        // SAFETY: fast-mode contract: a live small block of this allocator.
                        unsafe { self.free_small_fast(memory) };
                        return;
                    }
                }
            }
        } else if self.lean_gate != 0 {
            // Safety on and nothing else to do: the checked free without `free_general`.
            if let Some(layout) = claimed {
                // SAFETY: forwarded contract (safety mode: any pointer).
                return unsafe { self.free_checked_rust(memory, layout) };
            }
        }
        // SAFETY: forwarded contract.
        unsafe { self.free_general(memory, claimed, false) }
    }

    /// `foreign`: offer a pointer in no memory of any GPA to the foreign-block hook
    /// ([`GeneralPurposeAllocator::set_foreign_block_hook`]) before reporting it.
    #[cold]
    unsafe fn free_general(&self, memory: NonNull<u8>, claimed: Option<Layout>, foreign: bool) {
        let address = memory.as_ptr() as usize;
        if self.config.verbose_log {
            self.log(format_args!(
                "free {:#x} ({:?})",
                address,
                claimed.map(|l| l.size())
            ));
        }
        if let Some(layout) = claimed {
            // SAFETY: forwarded contract (safety mode: any pointer).
            if self.config.safety && unsafe { self.free_checked_remembered(address, layout) } {
                return;
            }
        }
        // SAFETY: forwarded contract.
        unsafe { self.free_unremembered(memory, claimed, foreign) }
    }

    /// [`Self::free_general`] past the checked free of a remembered page (which declined, or
    /// does not apply): the page map's lookup, then the path of the block's kind.
    ///
    /// # Safety
    /// As for [`Self::free_general`].
    #[cold]
    #[inline(never)]
    pub(super) unsafe fn free_unremembered(
        &self,
        memory: NonNull<u8>,
        claimed: Option<Layout>,
        foreign: bool,
    ) {
        let address = memory.as_ptr() as usize;
        match self.locate_inlined(address) {
            Ok(None) => {
                // SAFETY: only a live block of the internal heap that the program may hold
                // (one handed out while gpa was busy) is freed; anything else is refused.
                if internal::owns(address) && unsafe { internal::free_user(memory) } {
                    return;
                }
                if foreign && self.release_foreign(memory) {
                    return;
                }
                self.invalid_free(address, claimed);
            }
            Err(kind) => {
                let mut finding = RawFinding::new(kind, address);
                finding.site_trace = self.trace_here();
                self.record(finding);
            }
            // SAFETY: a small segment of ours; the small path validates the address.
            Ok(Some(pagemap::Entry::Small(segment))) => unsafe {
                self.free_small_general(segment, memory, claimed)
            },
            // SAFETY: a sound large block of ours; the large path validates the address.
            Ok(Some(pagemap::Entry::Large(header))) => unsafe {
                self.free_large(header, memory, claimed)
            },
            Ok(Some(pagemap::Entry::Guarded(area))) => self.free_guarded(area, memory, claimed),
        }
    }

    #[cold]
    fn invalid_free(&self, address: usize, claimed: Option<Layout>) {
        if let Some(mut finding) = self
            .recently_freed_large_at(address)
            .or_else(|| self.released_block_finding(address))
        {
            finding.site_trace = self.trace_here();
            self.record(finding);
            return;
        }
        let mut finding = RawFinding::new(FindingKind::InvalidFree, address);
        if let Some(layout) = claimed {
            finding.claimed_size = layout.size();
            finding.claimed_align = layout.align();
        }
        // A checking GPA fills freed blocks: a free of the fill is a pointer the program read
        // from one (Valgrind, which leaves freed bytes as they were, names the block it held).
        finding.freed_fill = self.config.safety && safety::near_fill(address);
        finding.site_trace = self.trace_here();
        self.record(finding);
    }

    /// A double free (at the start) or invalid free (inside) of a freed small block whose page
    /// was released since (`released`), if `address` was in one (safety mode).
    #[cold]
    fn released_block_finding(&self, address: usize) -> Option<RawFinding> {
        if !self.config.safety || address == 0 {
            return None;
        }
        let block = released::find(self.id(), address)?;
        let mut finding = free_of_freed_block(address, block.start);
        finding.size = block.size;
        finding.align = block.align;
        finding.alloc_trace = block.alloc_trace;
        finding.free_trace = block.free_trace;
        Some(finding)
    }

    /// Resizes in place where the block's slot or mapping has room.
    ///
    /// # Safety
    /// As for `free_impl`, with `layout` the block's current layout.
    unsafe fn resize_impl(&self, memory: NonNull<u8>, layout: Layout, new_len: usize) -> bool {
        let address = memory.as_ptr() as usize;
        if internal::owns(address) {
            return false;
        }
        let entry = match self.locate(address) {
            Ok(Some(entry)) => entry,
            Ok(None) => {
                self.invalid_free(address, Some(layout));
                return false;
            }
            Err(kind) => {
                let mut finding = RawFinding::new(kind, address);
                finding.site_trace = self.trace_here();
                self.record(finding);
                return false;
            }
        };
        if self.config.enable_memory_limit {
            if new_len > layout.size() && !self.charge(new_len - layout.size()) {
                return false;
            }
            if new_len < layout.size() {
                self.uncharge(layout.size() - new_len);
            }
        }
        let resized = match entry {
            // SAFETY: a small segment of ours.
            pagemap::Entry::Small(segment) => unsafe {
                self.resize_small(segment, memory, layout, new_len)
            },
            // SAFETY: a sound large block of ours.
            pagemap::Entry::Large(header) => unsafe {
                self.resize_large(header, memory, layout, new_len)
            },
            pagemap::Entry::Guarded(area) => self.resize_guarded(area, memory, layout, new_len),
        };
        if !resized && self.config.enable_memory_limit {
            if new_len > layout.size() {
                self.uncharge(new_len - layout.size());
            } else {
                self.charge(layout.size() - new_len);
            }
        }
        if self.config.verbose_log {
            self.log(format_args!(
                "resize {address:#x} from {} to {new_len} bytes: {}",
                layout.size(),
                if resized { "in place" } else { "refused" }
            ));
        }
        resized
    }

    // ---- findings ----

    /// Records a finding, and prints it unless `on_error` is `Record`.
    #[cold]
    #[inline(never)]
    fn record(&self, finding: RawFinding) {
        if !self.config.safety {
            return self.record_fast(finding);
        }
        let _inside = heap::InsideAllocator::enter();
        lock(&self.findings).push(finding);
        if self.config.on_error == OnError::Record {
            return;
        }
        let text = report::render(&finding, self.config.stack_trace_frames).to_string();
        crate::os::write_stderr(text.as_bytes());
        if self.config.on_error == OnError::Abort {
            crate::os::write_stderr(b"error(gpa): aborting (Config::on_error is Abort)\n");
            std::process::abort();
        }
    }

    /// Everything found so far, symbolized.
    pub fn report(&self) -> Report {
        let raw = {
            let _inside = heap::InsideAllocator::enter();
            lock(&self.findings).as_slice().to_vec()
        };
        self.render_all(&raw)
    }

    /// Everything found so far, symbolized; the record is cleared.
    pub fn take_report(&self) -> Report {
        let raw = {
            let _inside = heap::InsideAllocator::enter();
            lock(&self.findings).take()
        };
        self.render_all(&raw)
    }

    /// Everything found so far, unsymbolized; the record is cleared. For tools that adjust
    /// findings before rendering them with [`report::render`] (`capi`'s front guards).
    pub(crate) fn take_raw_findings(&self) -> std::vec::Vec<RawFinding> {
        let _inside = heap::InsideAllocator::enter();
        lock(&self.findings).take()
    }

    /// As [`GeneralPurposeAllocator::take_raw_findings`], but `None` instead of waiting when
    /// the record's lock stays taken (for a crash report: the interrupted thread may hold it).
    pub(crate) fn try_take_raw_findings(&self) -> Option<std::vec::Vec<RawFinding>> {
        let _inside = heap::InsideAllocator::enter();
        self.findings
            .try_lock(1 << 20)
            .map(|mut findings| findings.take())
    }

    fn render_all(&self, raw: &[RawFinding]) -> Report {
        Report {
            findings: raw
                .iter()
                .map(|finding| report::render(finding, self.config.stack_trace_frames))
                .collect(),
        }
    }

    #[cold]
    fn log(&self, args: fmt::Arguments<'_>) {
        use fmt::Write;
        if !self.config.verbose_log {
            return;
        }
        let mut line = crate::os::StderrLine::<256>::new();
        let _ = writeln!(line, "info(gpa): {args}");
        line.flush();
    }

    /// Takes every lock of this GPA and of the internal heap, so that a `fork` cannot copy
    /// one of them in a locked state into the child (a `pthread_atfork` "prepare" handler).
    /// Call it for one GPA instance per fork, and [`GeneralPurposeAllocator::finish_fork`]
    /// after the fork in the parent and in the child.
    pub fn prepare_fork(&self) {
        for lock in self.fork_locks() {
            lock.acquire();
        }
    }

    /// The locks [`GeneralPurposeAllocator::prepare_fork`] takes, in the order every path
    /// takes them in: the internal heap's lock is innermost (heap creation and findings
    /// allocate from it while holding theirs); the guarded area's own lock only once the area
    /// exists.
    fn fork_locks(&self) -> [&dyn lock::RawLock; 10] {
        let [create, area] = self.guarded.fork_locks();
        [
            &self.heaps,
            &self.large,
            &self.retained,
            &self.findings,
            &self.recently_freed_large,
            &self.large_cache,
            released::fork_lock(),
            create,
            area,
            internal::fork_lock(),
        ]
    }

    /// [`GeneralPurposeAllocator::prepare_fork`] for a report that must end: the same locks
    /// in the same order, but waiting for them `patience` at most in all. When one stays
    /// held (by a thread that never releases it: stopped for ever inside gpa by a signal
    /// handler that does not return, or deadlocked there), the ones taken are released and
    /// `false` returned; on `true`, release them with
    /// [`GeneralPurposeAllocator::finish_fork`].
    pub(crate) fn try_prepare_fork(&self, patience: core::time::Duration) -> bool {
        let locks = self.fork_locks();
        let started = std::time::Instant::now();
        for (index, held) in locks.iter().enumerate() {
            let mut tries = 0u32;
            while !held.try_acquire() {
                tries += 1;
                if tries < 64 {
                    core::hint::spin_loop();
                } else if tries < 128 {
                    crate::os::yield_now();
                } else if started.elapsed() >= patience {
                    for taken in locks[..index].iter().rev() {
                        // SAFETY: taken by this loop above, not released since.
                        unsafe { taken.release() };
                    }
                    return false;
                } else {
                    std::thread::sleep(core::time::Duration::from_millis(1));
                }
            }
        }
        true
    }

    /// Releases what [`GeneralPurposeAllocator::prepare_fork`] took.
    ///
    /// # Safety
    /// `prepare_fork` was called on this GPA by this thread (in the parent), or by the thread
    /// that forked this child, and nothing released its locks since.
    pub unsafe fn finish_fork(&self) {
        // SAFETY: caller contract: `prepare_fork` holds every one of these locks.
        unsafe {
            internal::unlock_after_fork();
            self.guarded.release_after_fork();
            released::fork_lock().release();
            self.large_cache.release();
            self.recently_freed_large.release();
            self.findings.release();
            self.retained.release();
            self.large.release();
            self.heaps.release();
        }
    }

    /// In the child of `fork`, from its `pthread_atfork` child handler (only the forking
    /// thread exists): that thread's heaps pass from its parent thread's kernel id to its own
    /// (the cached id too). Otherwise they stay owned by an id no thread of the child has:
    /// an exit scan that leaves out the heaps of threads absent from a threaded `fork`'s
    /// child (their blocks may be half set up) would leave out the forking thread's own
    /// blocks too, and report them neither lost nor reachable. Other GPAs' heaps of this
    /// thread keep the old id (this thread then gets new ones for them).
    pub(crate) fn adopt_heaps_after_fork(&self) {
        let Some((old, new)) = heap::renew_thread_id_after_fork() else {
            return;
        };
        self.visit_heaps(|heap| {
            // SAFETY: heaps in the list stay allocated while HEAP_GPA_REF is held.
            let heap = unsafe { &*heap };
            let _ =
                heap.owner_thread
                    .compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire);
        });
    }

    /// The layout of a live block of this allocator: its requested size and alignment in
    /// safety mode and for large blocks, its slot size in fast mode. `None` when `memory` is
    /// not the start of a live block of this allocator.
    pub(crate) fn block_layout(&self, memory: *const u8) -> Option<Layout> {
        let address = memory as usize;
        if internal::owns(address) {
            let size = internal::usable_size(memory)?;
            return Layout::from_size_align(size, 16).ok();
        }
        match self.locate(address).ok()?? {
            pagemap::Entry::Small(segment) => self.small_block_layout(segment, address),
            pagemap::Entry::Large(header) => {
                // SAFETY: a sound large block header of ours.
                let block = unsafe { &*header };
                let live = block.state.load(Ordering::Acquire) == segment::SLOT_LIVE;
                (live && block.data() == address)
                    .then(|| Layout::from_size_align(block.requested, block.align).ok())
                    .flatten()
            }
            pagemap::Entry::Guarded(area) => self.guarded_block_layout(area, address),
        }
    }

    /// The block (live, or freed and still remembered) whose memory holds `address`: see
    /// [`Self::block_containing_located`] (the tests' form).
    #[cfg(test)]
    pub(crate) fn block_containing(&self, address: usize) -> Option<BlockSpan> {
        self.block_containing_located(address).map(|(span, _)| span)
    }

    /// The block (live, or freed and still remembered) whose memory holds `address`: its
    /// start, requested size and alignment, and traces. Safety mode only (`None` otherwise,
    /// but for blocks of the internal heap), and only blocks of this GPA; never reads the
    /// memory at `address`. A tool that places its own header in front of blocks (`capi`'s
    /// front guards) maps a pointer back to its block with it, also after the block was freed.
    /// Also where the block was found, so that freeing it ([`Self::free_located`]) need not
    /// look it up again.
    pub(crate) fn block_containing_located(&self, address: usize) -> Option<(BlockSpan, Located)> {
        if !self.config.safety {
            return None;
        }
        let span = match self.locate(address) {
            Ok(Some(pagemap::Entry::Small(segment))) => {
                let (span, page) = self.small_block_span(segment, address)?;
                return Some((span, Located(segment, page)));
            }
            Ok(Some(pagemap::Entry::Large(header))) => {
                // SAFETY: a sound large block header of ours.
                let block = unsafe { &*header };
                let live = block.state.load(Ordering::Acquire) == segment::SLOT_LIVE;
                (address < block.data() + block.capacity()).then(|| BlockSpan {
                    start: block.data(),
                    size: block.requested,
                    align: block.align,
                    live,
                    alloc_trace: TraceId(block.alloc_trace.load(Ordering::Relaxed)),
                    free_trace: if live {
                        TraceId::NONE
                    } else {
                        TraceId(block.free_trace.load(Ordering::Relaxed))
                    },
                    tag: Some(block.tag.load(Ordering::Relaxed)),
                })
            }
            Ok(Some(pagemap::Entry::Guarded(area))) => self.guarded_block_span(area, address),
            Ok(None) if internal::owns(address) => {
                // A block handed out while gpa was busy (re-entrant requests).
                let (start, size, align) =
                    internal::block_containing(address, os_page_size_bound())?;
                Some(BlockSpan {
                    start,
                    size,
                    align,
                    live: true,
                    alloc_trace: TraceId::NONE,
                    free_trace: TraceId::NONE,
                    tag: None,
                })
            }
            Ok(None) => self.freed_large_at(address).map(|freed| BlockSpan {
                start: freed.start,
                size: freed.requested,
                align: freed.align,
                live: false,
                alloc_trace: freed.alloc_trace,
                free_trace: freed.free_trace,
                tag: None,
            }),
            Err(_) => None,
        };
        span.map(|span| (span, Located::ELSEWHERE))
    }

    /// What safety mode keeps about the live block starting at `memory`: its layout, its
    /// [tag](GeneralPurposeAllocator::set_block_tag) and its allocation trace. `None` when
    /// `memory` is not the start of a live block of this allocator, or without safety.
    pub fn block_info(&self, memory: *const u8) -> Option<BlockInfo> {
        let (layout, tag, trace) = self.live_block_cells(memory as usize)?;
        Some(BlockInfo {
            layout,
            tag: tag.load(Ordering::Relaxed),
            alloc_trace: TraceId(trace.load(Ordering::Relaxed)),
        })
    }

    /// Stores a caller's one-byte tag with the live block starting at `memory` (safety mode;
    /// every block starts with tag 0). The C ABI records each block's allocation family
    /// there (`malloc`, `new`, `new[]`...). Returns whether `memory` is such a block.
    pub fn set_block_tag(&self, memory: *const u8, tag: u8) -> bool {
        self.live_block_cells(memory as usize)
            .map(|(_, cell, _)| cell.store(tag, Ordering::Relaxed))
            .is_some()
    }

    fn live_block_cells(&self, address: usize) -> Option<BlockCells<'_>> {
        if !self.config.safety || internal::owns(address) {
            return None;
        }
        match self.locate(address).ok()?? {
            pagemap::Entry::Small(segment) => {
                let meta = self.small_live_meta(segment, address)?;
                let align = 1usize << meta.align_log2.load(Ordering::Relaxed);
                let size = meta.requested.load(Ordering::Relaxed) as usize;
                let layout = Layout::from_size_align(size, align).ok()?;
                Some((layout, &meta.tag, &meta.alloc_trace))
            }
            pagemap::Entry::Large(header) => {
                // SAFETY: a sound large block header of ours (in the internal heap, which is
                // never unmapped).
                let block = unsafe { &*header };
                let live = block.state.load(Ordering::Acquire) == segment::SLOT_LIVE;
                if !live || block.data() != address {
                    return None;
                }
                let layout = Layout::from_size_align(block.requested, block.align).ok()?;
                Some((layout, &block.tag, &block.alloc_trace))
            }
            pagemap::Entry::Guarded(area) => self.guarded_live_cells(area, address),
        }
    }

    /// The usable size of a live block (`malloc_usable_size`), 0 when `memory` is not one.
    pub fn usable_size(&self, memory: *const u8) -> usize {
        if self.plain {
            if let Some(size) = self.usable_size_plain(memory) {
                return size;
            }
        }
        self.block_layout(memory).map_or(0, |layout| layout.size())
    }

    /// Whether `address` lies in memory any GPA manages (segments, large blocks, the internal
    /// heap, the ring of released pages' blocks): a conservative leak scan skips it as a root
    /// (`capi::scan`). Only the mapped part of a large block counts: the rest of its last
    /// page-map chunk may hold other mappings.
    pub(crate) fn manages(address: usize) -> bool {
        if internal::owns(address) || released::owns(address) {
            return true;
        }
        match pagemap::lookup(address) {
            None => false,
            Some(pagemap::Entry::Small(_)) => true,
            Some(pagemap::Entry::Large(header)) => {
                // SAFETY: the page map validated a live metadata block holding a header.
                let block = unsafe { &*header };
                block.is_sound() && block.maps(address)
            }
            Some(pagemap::Entry::Guarded(_)) => true,
        }
    }

    /// Empties the calling thread's quarantine, checking the poison of each block (reports
    /// writes after free); for a checker at process exit. No-op without safety.
    pub(crate) fn flush_thread_quarantine(&self) {
        if !self.config.safety {
            return;
        }
        let heap = heap::cached(self.id());
        // SAFETY: the calling thread owns its cached heap.
        if let Some(heap) = unsafe { heap.as_mut() } {
            self.flush_quarantine(heap);
        }
    }

    /// C's `malloc`: a block of `size` bytes at `align` (a power of two), null when out of
    /// memory. In fast mode it clears the word [`GeneralPurposeAllocator::free_unsized`] marks
    /// freed blocks with (see `fast_free`).
    #[inline]
    pub(crate) fn alloc_unsized(&self, size: usize, align: usize) -> *mut u8 {
        let Ok(layout) = Layout::from_size_align(size, align) else {
            return core::ptr::null_mut();
        };
        // SAFETY: the GPA accepts any size, zero included.
        let block = unsafe { GlobalAlloc::alloc(self, layout) };
        // SAFETY: a fresh block of `layout`, or null.
        unsafe { self.clear_free_key(block, size, align) };
        block
    }

    /// [`Self::alloc_unsized`] of a block tagged `tag` (`set_block_tag`) whose first bytes
    /// are `prefix` (the C ABI's front guard), for safety mode's C requests that the
    /// check-mode entries (`c_checked`) do not serve: large blocks, alignments no size class
    /// serves, a configuration with accounting. The tag and the prefix are written before
    /// the block goes live (a small slot's state, a large block's place in the live list, a
    /// guarded block's record), so that a walk of the heap at exit, which stops threads
    /// wherever they are, never sees the block without them. Blocks of no bytes, blocks made
    /// while the thread is inside the allocator and blocks of fast mode or of a logging GPA
    /// get them right after the allocation instead. Null when out of memory.
    #[cold]
    #[inline(never)]
    pub(crate) fn alloc_prefixed(
        &self,
        size: usize,
        align: usize,
        tag: u8,
        prefix: Prefix,
    ) -> *mut u8 {
        let Ok(layout) = Layout::from_size_align(size, align) else {
            return core::ptr::null_mut();
        };
        let before_live = self.config.safety
            && size != 0
            && prefix.len <= size
            && !self.config.verbose_log
            && !heap::inside_allocator();
        if !before_live {
            let block = self.alloc_unsized(size, align);
            if !block.is_null() {
                if tag != 0 {
                    self.set_block_tag(block, tag);
                }
                // SAFETY: a fresh block of `size >= prefix.len` bytes (`alloc_unsized` gives
                // a block of no bytes only for `size == 0`, where the caller asks no prefix).
                unsafe { prefix.fill(block as usize) };
            }
            return block;
        }
        if self.config.enable_memory_limit && !self.charge(size) {
            return core::ptr::null_mut();
        }
        // Guard mode: a guarded block (`guarded::Area::alloc` writes the tag and the prefix
        // before the block goes live), or, when it is not to be guarded or the area cannot
        // serve it, a block as check mode makes it.
        let guarded = if self.guards && self.guard_prefixed() {
            self.alloc_guarded_as(layout, tag, prefix)
        } else {
            None
        };
        let block = guarded
            .or_else(|| {
                size.checked_add(safety::redzone(size)).and_then(|padded| {
                    match size_class::class_for(padded, align) {
                        Some(class) => {
                            self.alloc_small_checked_at::<false>(class, layout, 0, tag, prefix)
                        }
                        None => self.alloc_large_prefixed(layout, tag, prefix),
                    }
                })
            })
            .map_or(core::ptr::null_mut(), NonNull::as_ptr);
        if block.is_null() && self.config.enable_memory_limit {
            self.uncharge(size);
        }
        if observer::active() {
            observer::alloc_event(self, block, size, align);
        }
        block
    }

    /// C's `free`: no layout needed. A null pointer is ignored; in safety mode any other
    /// pointer is accepted and mistakes are reported; in fast mode, a pointer that is not a
    /// block's start and a double free of a block still on a free list are rejected with a
    /// message (see `fast_free`).
    ///
    /// # Safety
    /// In fast mode, `memory` is null or a live block of this allocator.
    #[inline]
    pub unsafe fn free_unsized(&self, memory: *mut u8) {
        // SAFETY: forwarded caller contract.
        if self.plain && unsafe { self.free_plain(memory) } {
            return;
        }
        if let Some(memory) = NonNull::new(memory) {
            if observer::active() {
                let size = self.block_layout(memory.as_ptr()).map_or(0, |l| l.size());
                observer::free_event(self, memory.as_ptr(), size);
            }
            // SAFETY: forwarded caller contract.
            unsafe { self.free_general(memory, None, true) }
        }
    }

    /// [`Self::free_unsized`] of a block start that [`Self::block_containing_located`] found
    /// (at an address in the same slot) just before, on this thread: a block of a small segment
    /// is freed on the page found then, without looking it up again (the page map, the page
    /// descriptor and the slot metadata checks, which that lookup made). The free checks the
    /// slot's state (a double free), the redzone and the rest as `free_unsized` does.
    ///
    /// # Safety
    /// As for [`Self::free_unsized`]; `memory` is the block start (`BlockSpan::start`) that
    /// `block_containing_located` returned with `located`, and no block of that page was
    /// freed by this thread since.
    #[inline]
    pub(crate) unsafe fn free_located(&self, memory: *mut u8, located: Located) {
        let Located(segment, page) = located;
        match NonNull::new(memory) {
            Some(memory)
                if !segment.is_null()
                    && !self.plain
                    && !self.config.verbose_log
                    && !observer::active() =>
            {
                // SAFETY: caller contract: `page` is what `small_block_span` returned for an
                // address of `memory`'s slot, in the small segment `segment` of this GPA, with
                // the slot and its metadata validated and `memory` its start; the page still
                // holds the slot (no free of it since: a page with a live or quarantined block
                // is not released).
                unsafe { self.free_small_located(&mut *segment, page, memory) }
            }
            // SAFETY: forwarded caller contract.
            _ => unsafe { self.free_unsized(memory) },
        }
    }

    /// Registers the hook that C's `free` ([`GeneralPurposeAllocator::free_unsized`]) offers a
    /// pointer to when it lies in no memory of any GPA, before reporting it as an invalid
    /// free: the hook releases the block and returns `true` if it belongs to another
    /// allocator it knows (the C ABI: blocks of libc's own `malloc`).
    pub(crate) fn set_foreign_block_hook(&self, hook: fn(*mut u8) -> bool) {
        self.foreign_block_hook
            .store(hook as usize, Ordering::Release);
    }

    #[cold]
    fn release_foreign(&self, memory: NonNull<u8>) -> bool {
        let hook = self.foreign_block_hook.load(Ordering::Acquire);
        if hook == 0 {
            return false;
        }
        // SAFETY: only `set_foreign_block_hook` stores here, a `fn(*mut u8) -> bool`.
        let hook = unsafe { core::mem::transmute::<usize, fn(*mut u8) -> bool>(hook) };
        hook(memory.as_ptr())
    }

    /// C's `realloc` for a non-null block: resizes in place or moves (copying the contents);
    /// null when out of memory (the old block is then untouched) or when `memory` is not a
    /// live block of this allocator (reported in safety mode).
    ///
    /// # Safety
    /// As for [`GeneralPurposeAllocator::free_unsized`]; `new_size > 0`.
    pub unsafe fn realloc_unsized(&self, memory: *mut u8, new_size: usize) -> *mut u8 {
        if self.plain {
            // SAFETY: forwarded caller contract.
            if let Some(moved) = unsafe { self.realloc_plain(memory, new_size) } {
                return moved;
            }
        }
        let Some(block) = NonNull::new(memory) else {
            return core::ptr::null_mut();
        };
        let Some(old) = self.block_layout(memory) else {
            // SAFETY: not a live block: the general free path reports what it is.
            unsafe { self.free_general(block, None, false) };
            return core::ptr::null_mut();
        };
        if internal::owns(memory as usize) {
            let fresh = internal::alloc(new_size, 16);
            if let Some(fresh) = fresh {
                // SAFETY: both blocks are live and distinct (`block_layout` checked the old
                // one is a block the program may hold).
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        memory,
                        fresh.as_ptr(),
                        old.size().min(new_size),
                    );
                    internal::free_user(block);
                }
            }
            return fresh.map_or(core::ptr::null_mut(), NonNull::as_ptr);
        }
        if Layout::from_size_align(new_size, old.align()).is_err() {
            // GlobalAlloc::realloc requires the new size, rounded up to the alignment, to fit
            // in `isize` (C `realloc (p, SIZE_MAX)`, snmalloc's and mimalloc's tests): no such
            // block; the old one stays.
            return core::ptr::null_mut();
        }
        // SAFETY: `old` is the block's current layout and `new_size` makes a valid layout
        // with its alignment, as GlobalAlloc::realloc requires.
        let moved = unsafe { GlobalAlloc::realloc(self, memory, old, new_size) };
        let kept = old.size().min(new_size);
        if moved != memory && kept < 16 {
            // The copy did not cover the whole key word of the new block.
            // SAFETY: a fresh block of `new_size` bytes at `old.align()` holding the first
            // `kept` bytes of the old one, or null.
            unsafe { self.clear_free_key_past(moved, new_size, old.align(), kept) };
        }
        moved
    }
}

impl Default for GeneralPurposeAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for GeneralPurposeAllocator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneralPurposeAllocator")
            .field("id", &self.id.load(Ordering::Relaxed))
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// How far before an address the start of an internal block holding it may lie (internal
/// blocks are aligned to a page at most).
fn os_page_size_bound() -> usize {
    2 * crate::os::page_size()
}

fn lock<T>(lock: &Lock<T>) -> lock::Guard<'_, T> {
    lock.lock()
}

// SAFETY: blocks come from size-class slots or large mappings that no other live block
// overlaps; resize keeps a block within its slot or mapping (see `small` and `large`).
unsafe impl RawAllocator for GeneralPurposeAllocator {
    #[inline]
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        let block = self.alloc_impl(layout);
        if observer::active() {
            if let Some(block) = block {
                observer::alloc_event(self, block.as_ptr(), layout.size(), layout.align());
            }
        }
        block
    }

    unsafe fn resize(&self, memory: NonNull<u8>, layout: Layout, new_len: usize) -> bool {
        // SAFETY: forwarded caller contract (checked in safety mode).
        let resized = unsafe { self.resize_impl(memory, layout, new_len) };
        if resized && observer::active() {
            let address = memory.as_ptr();
            observer::realloc_event(self, address, address, layout.size(), new_len);
        }
        resized
    }

    unsafe fn remap(
        &self,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded caller contract.
        let moved = unsafe { self.remap_unobserved(memory, layout, new_len) };
        if observer::active() {
            if let Some(moved) = moved {
                observer::realloc_event(
                    self,
                    memory.as_ptr(),
                    moved.as_ptr(),
                    layout.size(),
                    new_len,
                );
            }
        }
        moved
    }

    #[inline]
    unsafe fn free(&self, memory: NonNull<u8>, layout: Layout) {
        if observer::active() {
            observer::free_event(self, memory.as_ptr(), layout.size());
        }
        // SAFETY: forwarded caller contract (checked in safety mode).
        unsafe { self.free_impl(memory, Some(layout)) }
    }
}

impl GeneralPurposeAllocator {
    /// `RawAllocator::remap` without the observer event: in place, or by moving a large
    /// block's mapping.
    ///
    /// # Safety
    /// As for `RawAllocator::remap`.
    unsafe fn remap_unobserved(
        &self,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded caller contract.
        if unsafe { self.resize_impl(memory, layout, new_len) } {
            return Some(memory);
        }
        // SAFETY: forwarded caller contract.
        unsafe { self.remap_large(memory, layout, new_len) }
    }

    /// `GlobalAlloc::alloc` without the observer event: requests made while the thread is
    /// inside the allocator go to the internal heap.
    #[inline(always)]
    fn alloc_global(&self, layout: Layout) -> *mut u8 {
        if heap::inside_allocator() {
            return internal::alloc(layout.size().max(1), layout.align())
                .map_or(core::ptr::null_mut(), NonNull::as_ptr);
        }
        self.alloc_impl(layout)
            .map_or(core::ptr::null_mut(), NonNull::as_ptr)
    }
}

impl_allocator_api2!([] &GeneralPurposeAllocator => |this| this.allocator());

// SAFETY: as for `RawAllocator`; while the thread is inside the allocator (reports, heap
// set-up), requests go to the internal heap, so the GPA never re-enters itself.
unsafe impl GlobalAlloc for GeneralPurposeAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let block = self.alloc_global(layout);
        if observer::active() {
            observer::alloc_event(self, block, layout.size(), layout.align());
        }
        block
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if observer::active() {
            observer::free_event(self, ptr, layout.size());
        }
        if let Some(memory) = NonNull::new(ptr) {
            // SAFETY: GlobalAlloc's contract: `ptr` came from `alloc` with `layout` (internal
            // blocks are recognized by address inside).
            unsafe { self.free_impl(memory, Some(layout)) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(memory) = NonNull::new(ptr) else {
            return core::ptr::null_mut();
        };
        // In place, or by moving a large block's mapping: `remap` tries both.
        // SAFETY: GlobalAlloc's contract: `ptr` is live with `layout`.
        if let Some(moved) = unsafe { self.remap_unobserved(memory, layout, new_size) } {
            if observer::active() {
                observer::realloc_event(self, ptr, moved.as_ptr(), layout.size(), new_size);
            }
            return moved.as_ptr();
        }
        // SAFETY: `layout.align()` is valid and `new_size` non-zero by GlobalAlloc's contract.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let fresh = self.alloc_global(new_layout);
        if !fresh.is_null() {
            if observer::active() {
                observer::realloc_event(self, ptr, fresh, layout.size(), new_size);
            }
            // SAFETY: both blocks are live and distinct; the old one is freed with its layout
            // (internal blocks are recognized by address inside).
            unsafe {
                core::ptr::copy_nonoverlapping(ptr, fresh, layout.size().min(new_size));
                self.free_impl(memory, Some(layout));
            }
        }
        fresh
    }
}

impl Drop for GeneralPurposeAllocator {
    fn drop(&mut self) {
        self.release_everything();
    }
}

/// A free of `address` where a remembered freed block starts at `start` (its page or mapping
/// given back since): a double free at the start, an invalid free with its offset inside.
/// The caller fills in the block's size, alignment and traces.
fn free_of_freed_block(address: usize, start: usize) -> RawFinding {
    if address == start {
        RawFinding::new(FindingKind::DoubleFree, address)
    } else {
        let mut finding = RawFinding::new(FindingKind::InvalidFree, address);
        finding.offset = Some(address.wrapping_sub(start) as isize);
        finding
    }
}

#[cfg(test)]
mod own_state_tests {
    use super::own_thread_locals;

    /// Every `fast_thread_local!` of the crate is in [`own_thread_locals`]'s list.
    #[test]
    fn the_list_of_own_thread_locals_is_complete() {
        fn count(dir: &std::path::Path) -> usize {
            let mut total = 0;
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    total += count(&path);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("tls.rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    total += text
                        .matches(concat!("crate::tls::", "fast_thread_local!("))
                        .count();
                }
            }
            total
        }
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        assert_eq!(count(&src), own_thread_locals().len());
    }

    /// The copies are distinct, and another thread's lie at the same offsets from its thread
    /// pointer (initial-exec TLS), which is how a scan finds a stopped thread's.
    #[test]
    fn another_threads_copies_are_at_the_same_offsets_from_its_thread_pointer() {
        let here = own_thread_locals();
        for (index, &(address, bytes)) in here.iter().enumerate() {
            assert!(bytes > 0);
            for &(other, other_bytes) in &here[index + 1..] {
                assert!(address + bytes <= other || other + other_bytes <= address);
            }
        }
        if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
            // SAFETY: pthread_self only reads the thread pointer.
            let me = unsafe { libc::pthread_self() } as usize;
            let (there, them) = std::thread::spawn(|| {
                // SAFETY: as above.
                (own_thread_locals(), unsafe { libc::pthread_self() }
                    as usize)
            })
            .join()
            .unwrap();
            for (&(address, bytes), &(other, other_bytes)) in here.iter().zip(&there) {
                assert_eq!(other_bytes, bytes);
                assert_eq!(other.wrapping_sub(them), address.wrapping_sub(me));
            }
        }
    }
}
