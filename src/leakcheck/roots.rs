//! The roots of an exit-time leak check, shared by `gpa run`'s report (`capi::scan`) and the
//! Rust global allocator's report at exit (`gpa::at_exit`): every readable and writable
//! mapping of the process except memory a GPA manages (its blocks are judged, not roots), the
//! library's own per-thread state ([`OwnState`]) and pages never touched, with each known
//! thread stack scanned only from where its live frames begin; and where the live frames of
//! the exiting thread begin.
//!
//! # Design
//! The library's thread-locals lie in each thread's static TLS block, among the program's own
//! (a root: C's `__thread` variables), and some hold copies of the program's pointers: the
//! unwinder's remembered walks keep `rbp`, which code without frame pointers uses as a general
//! register. Scanned, such a copy turns a lost block into a reachable one, and which copies
//! are there depends on where the cache placed them (address-space randomization): a verdict
//! that changed from run to run on `gcc`'s driver (one block in about twenty runs) until they
//! were skipped. (The remembered walks now live in mappings of their own, the threads' trace
//! caches, out of static TLS: skipped the same way, [`OwnState::with_trace_caches`].)
//! Valgrind's own state is never in the program's memory. The same holds for
//! the signal stacks the library maps (the crash stack, each thread's alternate stack): a
//! program's fault handler runs there (the library's handler forwards on the stack it runs
//! on), and what it leaves behind after a `siglongjmp` is stale.
//!
//! A stack's dead part (below its stack pointer, or below the frame that called `exit`) holds
//! stale copies of pointers that Valgrind, knowing them unwritten, ignores: scanning it would
//! turn lost blocks into reachable ones. What the frame that called `exit` kept in
//! callee-saved registers is live, though, and saved there by `exit`'s own frames: those
//! values are recovered with the call-frame information and are root words
//! ([`caller_frame`]). Stacks whose thread is not known (threads still
//! running) are roots whole, as Valgrind scans them from their stack pointer, which is not
//! known here.
//!
//! # Invariants
//! * Memory is only read through [`Graph::scan_root_range`], which reads what `/proc/self/maps`
//!   says is readable.

use super::maps::Maps;
use super::Graph;

/// A thread stack whose live part is known: the mapping holding `stack_pointer` is scanned
/// from `live_from` up (`usize::MAX`: not at all), and its `registers` are root words.
#[derive(Clone, Copy, Debug, Default)]
pub struct LiveStack {
    /// An address inside the stack (its stack pointer).
    pub stack_pointer: usize,
    /// Where its live part begins.
    pub live_from: usize,
    /// The exiting thread's callee-saved registers as the C library's exit frames hold them
    /// ([`ExitCaller::registers`]); none for other threads (their registers come from the
    /// stop).
    pub registers: ExitRegisters,
}

impl LiveStack {
    /// The calling (exiting) thread's stack, live from the frame that called `exit`, with
    /// the callee-saved registers of that frame and of the C library's exit frames
    /// ([`caller_frame`]; no frame: the stack is not scanned at all).
    pub fn this_thread(caller: &ExitCaller) -> LiveStack {
        LiveStack {
            stack_pointer: crate::os::approximate_stack_pointer(),
            live_from: caller.live_from.unwrap_or(usize::MAX),
            registers: caller.registers,
        }
    }

    /// The calling (exiting) thread's stacks: the one it runs on (as [`Self::this_thread`]),
    /// and, when that is an alternate signal stack (a signal handler that called `exit`), the
    /// stack the signal interrupted, live from the interrupted frame's stack pointer less the
    /// 128-byte red zone (the interrupted code may be a leaf using it). Without the second,
    /// that stack would be a root whole, dead part included, where stale copies of dropped
    /// pointers lie (memcheck skips them as undefined: there the handler ran below the
    /// interrupted frame on the same stack).
    pub fn this_thread_all(caller: &ExitCaller) -> std::vec::Vec<LiveStack> {
        let running = LiveStack::this_thread(caller);
        let mut stacks = std::vec::Vec::from([running]);
        if let Some((low, high)) = crate::os::current_alternate_stack() {
            if let Some(interrupted) = first_frame_outside(low, high) {
                stacks.push(LiveStack {
                    stack_pointer: interrupted,
                    live_from: interrupted.saturating_sub(RED_ZONE),
                    registers: ExitRegisters::default(),
                });
            }
        }
        stacks
    }
}

/// How many frames' callee-saved registers [`caller_frame`] keeps: the C library's frames
/// between an exit hook and the program (`exit`, `__run_exit_handlers`; the start-up code's
/// two when `main` returned; a signal frame and the calls that raised it) and the program's
/// frame that called `exit`, with room to spare.
const EXIT_FRAMES: usize = 12;

/// The callee-saved registers of x86-64 (System V ABI) as DWARF register numbers: `rbx`,
/// `rbp`, `r12` to `r15`.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
const CALLEE_SAVED: [i32; 6] = [3, 6, 12, 13, 14, 15];
#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
const CALLEE_SAVED: [i32; 0] = [];

const EXIT_REGISTER_WORDS: usize = EXIT_FRAMES * CALLEE_SAVED.len();

/// The values of the callee-saved registers in the C library's exit frames and in the
/// program's frame that called `exit` (see [`caller_frame`]): root words, as the registers
/// and the exit frames' register saves are to Valgrind.
#[derive(Clone, Copy, Debug)]
pub struct ExitRegisters {
    words: [usize; EXIT_REGISTER_WORDS],
    len: usize,
}

impl Default for ExitRegisters {
    fn default() -> ExitRegisters {
        ExitRegisters {
            words: [0; EXIT_REGISTER_WORDS],
            len: 0,
        }
    }
}

impl ExitRegisters {
    /// Registers given as values (those a fatal signal's context holds for the thread it
    /// interrupted): as many as fit.
    pub fn from_words(words: &[usize]) -> ExitRegisters {
        let mut registers = ExitRegisters::default();
        for &word in words {
            registers.push(word);
        }
        registers
    }

    /// The values kept.
    pub fn words(&self) -> &[usize] {
        &self.words[..self.len]
    }

    /// Keeps `word` (dropped when full: [`EXIT_FRAMES`] frames are kept).
    fn push(&mut self, word: usize) {
        if self.len < self.words.len() {
            self.words[self.len] = word;
            self.len += 1;
        }
    }
}

/// Where the exiting thread's live frames begin ([`caller_frame`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct ExitCaller {
    /// The stack pointer of the program's frame that called `exit` (`None`: the hook was not
    /// found on the stack).
    pub live_from: Option<usize>,
    /// The callee-saved registers of that frame and of the C library's frames below it.
    pub registers: ExitRegisters,
}

/// The 128 bytes below the stack pointer that x86-64 leaf functions may use (System V ABI).
pub const RED_ZONE: usize = 128;

/// The stack pointer of the first frame of the calling thread's stack trace that lies outside
/// `[low, high)` (the alternate signal stack it runs on): the frame a signal interrupted, the
/// unwinder having crossed the kernel's signal frame.
fn first_frame_outside(low: usize, high: usize) -> Option<usize> {
    let mut found = None;
    // SAFETY: the callback neither allocates nor panics nor reenters the unwinder.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            let sp = frame.sp() as usize;
            if sp != 0 && !(low..high).contains(&sp) {
                found = Some(sp);
                return false;
            }
            true
        });
    }
    found
}

/// The library's own state in the threads of a scan, which is never a root (its thread-locals,
/// its threads' trace caches, its signal stacks): sorted, disjoint address ranges.
#[derive(Clone, Debug, Default)]
pub struct OwnState {
    ranges: std::vec::Vec<core::ops::Range<usize>>,
}

impl OwnState {
    /// The ranges of `extents` (`(address, bytes)`: the calling thread's copies of the
    /// library's thread-locals, `gpa::own_thread_locals`) in the calling thread and in each
    /// thread whose thread pointer is in `other_threads`. On x86-64 Linux the copies are
    /// initial-exec TLS (`tls::fast_thread_local!`): at the same offset from every thread's
    /// thread pointer (glibc: `pthread_self()`). Elsewhere only the calling thread's are known.
    pub fn new(extents: &[(usize, usize)], other_threads: &[usize]) -> OwnState {
        let mut ranges: std::vec::Vec<core::ops::Range<usize>> = extents
            .iter()
            .map(|&(address, bytes)| address..address + bytes)
            .collect();
        if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
            // SAFETY: pthread_self only reads the thread pointer.
            let me = unsafe { libc::pthread_self() } as usize;
            for &thread in other_threads.iter().filter(|&&tp| tp != 0 && tp != me) {
                for &(address, bytes) in extents {
                    let at = thread.wrapping_add(address.wrapping_sub(me));
                    ranges.push(at..at.saturating_add(bytes));
                }
            }
        }
        OwnState::from_ranges(ranges)
    }

    /// Adds the signal stacks the library mapped (`os::signal::for_each_own_stack`: the crash
    /// stack, the threads' alternate stacks), except one holding a stack pointer of `stacks`
    /// (a thread running a handler there: its live part is a root). Only handlers run on
    /// them, and what a handler left there after it returned (a program's fault handler that
    /// ended with `siglongjmp`, say) is stale: memcheck sees it as undefined, the handler
    /// having run below the thread's stack pointer.
    pub fn with_own_signal_stacks(self, stacks: &[LiveStack]) -> OwnState {
        let mut ranges = self.ranges;
        crate::os::signal::for_each_own_stack(&mut |start, end| {
            if !stacks
                .iter()
                .any(|stack| (start..end).contains(&stack.stack_pointer))
            {
                ranges.push(start..end);
            }
        });
        OwnState::from_ranges(ranges)
    }

    /// Adds the mappings of the threads' trace caches (`trace::for_each_thread_caches`: each
    /// thread's remembered walks and recent traces, out of static TLS, in use or pooled). They
    /// keep copies of `rbp`, a general register in code without frame pointers, so possibly
    /// of the program's pointers; as the thread-locals they were, they are never roots.
    pub fn with_trace_caches(self) -> OwnState {
        let mut ranges = self.ranges;
        crate::trace::for_each_thread_caches(&mut |start, end| ranges.push(start..end));
        OwnState::from_ranges(ranges)
    }

    /// Adds the mappings of the trace store (`trace::for_each_store_mapping`: the index of
    /// traces and the frame arena): hashes, indices and return addresses, gpa's bookkeeping
    /// that memcheck never sees, so never roots. Scanned, they were most of the exit scan's
    /// reads (26 of 27.5 MB after alloc_workload's 260,000 walked traces).
    pub fn with_trace_store(self) -> OwnState {
        let mut ranges = self.ranges;
        crate::trace::for_each_store_mapping(&mut |start, end| ranges.push(start..end));
        OwnState::from_ranges(ranges)
    }

    /// Adds the GPA's metadata that lies outside the memory it manages
    /// (`GeneralPurposeAllocator::manages`): the internal heap's live map (one bit per granule:
    /// its words are bit patterns, some of which read as addresses) and the page map's leaves
    /// (tagged words naming segments and headers). Scanned as roots, a live-map word that
    /// happened to fall inside a leaked block made it "possibly lost" or "still reachable"
    /// (`exit_huge.rs`: a 16 GiB block, one run in four).
    pub fn with_allocator_metadata(self) -> OwnState {
        let mut ranges = self.ranges;
        if let Some((start, end)) = crate::gpa::internal_live_map() {
            ranges.push(start..end);
        }
        crate::gpa::for_each_page_map_leaf(&mut |start, end| ranges.push(start..end));
        OwnState::from_ranges(ranges)
    }

    /// Sorted, merged `ranges` (empty ones dropped).
    fn from_ranges(mut ranges: std::vec::Vec<core::ops::Range<usize>>) -> OwnState {
        ranges.retain(|range| range.start < range.end);
        ranges.sort_unstable_by_key(|range| range.start);
        let mut merged: std::vec::Vec<core::ops::Range<usize>> = std::vec::Vec::new();
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        OwnState { ranges: merged }
    }

    /// Calls `visit` with each part of `[start, end)` outside the library's own state, in
    /// address order.
    pub fn for_each_outside(&self, start: usize, end: usize, visit: &mut dyn FnMut(usize, usize)) {
        let mut cursor = start;
        let first = self.ranges.partition_point(|range| range.end <= start);
        for range in &self.ranges[first..] {
            if range.start >= end {
                break;
            }
            if range.start > cursor {
                visit(cursor, range.start);
            }
            cursor = cursor.max(range.end);
        }
        if cursor < end {
            visit(cursor, end);
        }
    }
}

/// Scans every root mapping of `maps` into `graph` (see the module docs): the pages that are
/// present or swapped out and that `managed` (a GPA manages the page at this address) rejects, without the
/// library's `own` state; in a mapping holding one of `stacks`, only from its live part up;
/// and each of `stacks`' registers as a root word.
pub fn scan_mappings(
    graph: &mut Graph<'_>,
    maps: &Maps,
    stacks: &[LiveStack],
    managed: &dyn Fn(usize) -> bool,
    own: &OwnState,
) {
    for stack in stacks {
        for &word in stack.registers.words() {
            graph.add_root_word(word);
        }
    }
    for mapping in maps.mappings().iter().filter(|m| m.is_root()) {
        let mut start = mapping.start;
        let end = mapping.end;
        if let Some(stack) = stacks
            .iter()
            .find(|stack| (mapping.start..mapping.end).contains(&stack.stack_pointer))
        {
            start = stack.live_from.max(mapping.start);
            if start >= end {
                continue;
            }
        }
        scan_unmanaged(graph, maps, start, end, managed, own);
    }
}

/// Scans the pages of `[start, end)` (inside one mapping of `maps`) that are present or
/// swapped out ([`Maps::for_each_populated_run`]) and not managed by a GPA, without the
/// library's `own` state.
fn scan_unmanaged(
    graph: &mut Graph<'_>,
    maps: &Maps,
    start: usize,
    end: usize,
    managed: &dyn Fn(usize) -> bool,
    own: &OwnState,
) {
    let page = crate::os::page_size();
    let first_page = start & !(page - 1);
    maps.for_each_populated_run(first_page, end, &mut |from, to| {
        let mut cursor = from;
        while cursor < to {
            // Runs of pages no GPA manages.
            let run_start = cursor;
            while cursor < to && !managed(cursor) {
                cursor += page;
            }
            let (a, b) = (run_start.max(start), cursor.min(to));
            if a < b {
                own.for_each_outside(a, b, &mut |from, to| graph.scan_root_range(from, to));
            }
            while cursor < to && managed(cursor) {
                cursor += page;
            }
        }
    });
}

/// Where the live frames of the exiting thread begin, and the callee-saved registers they
/// left in the C library's exit frames. The stack pointer of the first frame above
/// `handler`'s (an exit hook) that is not the C library's, nor, with `skip_handler_object`,
/// in the object holding `handler` (the preload library: its frames between `exit` and the
/// hook are machinery too). That is the program's frame that called `exit` or `_exit`, or the
/// start-up code's when `main` returned, so the live region covers the frames that led to the
/// end of the process, and not those of `exit`'s machinery and of the report: they lie where
/// the program's last frames were (`main`'s, when it returned) and their unwritten slots still
/// hold stale copies of its pointers, which Valgrind, knowing them unwritten, ignores.
///
/// But the program's frame may hold its only pointers to blocks in callee-saved registers
/// (`rbx`, `rbp`, `r12` to `r15`), which `exit`'s frames saved below it (coreutils' `seq`),
/// and which Valgrind, scanning from the stack pointer at `exit_group`, finds there or still
/// in the registers. So the values those registers have in each C-library frame from the one
/// that called the hook (or the hook's object) up to the program's frame, that frame
/// included, are kept as root words: recovered with the call-frame information
/// (`_Unwind_GetGR`), which follows each register to the slot its first saver wrote, not
/// read from the frames' unwritten slots nor from the hook's own frames (the library's
/// bookkeeping). Neither live frames nor registers when `handler` is not on the stack.
pub fn caller_frame(handler: usize, skip_handler_object: bool) -> ExitCaller {
    let Some(own) = object_base(handler) else {
        return ExitCaller::default();
    };
    let mut walk = Walk {
        handler,
        own,
        libc: object_base(libc::exit as *const () as usize),
        skip_handler_object,
        seen_handler: false,
        found: None,
        registers: ExitRegisters::default(),
    };
    // SAFETY: `trace_frame` neither allocates nor panics nor reenters the unwinder (`dladdr`
    // does neither); `walk` outlives the call, which alone uses the pointer.
    unsafe {
        unwind::_Unwind_Backtrace(trace_frame, (&raw mut walk).cast());
    }
    ExitCaller {
        live_from: walk.found.filter(|&address| address != 0),
        registers: walk.registers,
    }
}

/// The state of [`caller_frame`]'s walk.
struct Walk {
    handler: usize,
    own: usize,
    libc: Option<usize>,
    skip_handler_object: bool,
    seen_handler: bool,
    found: Option<usize>,
    registers: ExitRegisters,
}

/// One frame of [`caller_frame`]'s walk, innermost first.
extern "C" fn trace_frame(context: *mut unwind::Context, walk: *mut libc::c_void) -> i32 {
    // SAFETY: `walk` is `caller_frame`'s `Walk`, borrowed by nothing else during the walk.
    let walk = unsafe { &mut *walk.cast::<Walk>() };
    // SAFETY: `context` is the unwinder's, valid during this call.
    let (ip, sp) = unsafe {
        (
            unwind::_Unwind_GetIP(context),
            unwind::_Unwind_GetCFA(context),
        )
    };
    if !walk.seen_handler {
        // SAFETY: only looks the address up in the unwinder's tables.
        let function = unsafe { unwind::_Unwind_FindEnclosingFunction(ip as *mut _) };
        walk.seen_handler = function as usize == walk.handler;
        return unwind::NO_REASON;
    }
    let object = object_base(ip.saturating_sub(1));
    let hooks = walk.skip_handler_object && object == Some(walk.own);
    if hooks {
        return unwind::NO_REASON;
    }
    for register in CALLEE_SAVED {
        // SAFETY: `context` is valid; every callee-saved register has a value in each frame
        // (libgcc's walk starts from a frame that saved them all).
        walk.registers
            .push(unsafe { unwind::_Unwind_GetGR(context, register) });
    }
    if object == walk.libc {
        return unwind::NO_REASON;
    }
    walk.found = Some(sp);
    unwind::STOP
}

/// The unwinder's (libgcc's, linked into the library by std) entry points.
mod unwind {
    /// An unwinder's frame context.
    pub enum Context {}

    /// `_URC_NO_REASON`: go on.
    pub const NO_REASON: i32 = 0;
    /// Any other reason stops the walk (`_URC_FATAL_PHASE1_ERROR`).
    pub const STOP: i32 = 3;

    unsafe extern "C" {
        pub fn _Unwind_Backtrace(
            trace: extern "C" fn(*mut Context, *mut libc::c_void) -> i32,
            argument: *mut libc::c_void,
        ) -> i32;
        pub fn _Unwind_GetIP(context: *mut Context) -> usize;
        /// The frame's stack pointer (the canonical frame address of the frame it called).
        pub fn _Unwind_GetCFA(context: *mut Context) -> usize;
        pub fn _Unwind_GetGR(context: *mut Context, register: i32) -> usize;
        pub fn _Unwind_FindEnclosingFunction(ip: *mut libc::c_void) -> *mut libc::c_void;
    }
}

/// The load address of the object holding code address `address`.
fn object_base(address: usize) -> Option<usize> {
    let mut info: libc::Dl_info = libc::Dl_info {
        dli_fname: core::ptr::null(),
        dli_fbase: core::ptr::null_mut(),
        dli_sname: core::ptr::null(),
        dli_saddr: core::ptr::null_mut(),
    };
    // SAFETY: `info` is a valid out-pointer; dladdr only reads the loader's tables.
    let found = unsafe { libc::dladdr(address as *const libc::c_void, &mut info) } != 0;
    (found && !info.dli_fbase.is_null()).then_some(info.dli_fbase as usize)
}

#[cfg(test)]
mod tests {
    use super::OwnState;

    fn outside(own: &OwnState, start: usize, end: usize) -> std::vec::Vec<(usize, usize)> {
        let mut parts = std::vec::Vec::new();
        own.for_each_outside(start, end, &mut |from, to| parts.push((from, to)));
        parts
    }

    #[test]
    fn the_library_state_is_cut_out_of_a_root_range() {
        let own = OwnState::new(&[(0x1100, 0x100), (0x1000, 0x80), (0x1180, 0x100)], &[]);
        // Sorted and merged: 0x1000..0x1080 and 0x1100..0x1280.
        assert_eq!(
            outside(&own, 0x800, 0x2000),
            [(0x800, 0x1000), (0x1080, 0x1100), (0x1280, 0x2000)]
        );
        assert_eq!(outside(&own, 0x1040, 0x1200), [(0x1080, 0x1100)]);
        assert_eq!(outside(&own, 0x1100, 0x1280), []);
        assert_eq!(outside(&own, 0x2000, 0x3000), [(0x2000, 0x3000)]);
        assert_eq!(outside(&OwnState::default(), 8, 16), [(8, 16)]);
    }

    #[test]
    fn the_allocators_metadata_outside_its_memory_is_never_a_root() {
        // A GPA's first blocks make the internal heap (its live map) and page-map leaves.
        let mut gpa = crate::GeneralPurposeAllocator::with_config(crate::Config::debug());
        let allocator = gpa.allocator();
        let blocks: std::vec::Vec<_> = [24usize, 300_000]
            .into_iter()
            .map(|size| (allocator.raw_alloc(size, 8).expect("a block"), size))
            .collect();
        let own = OwnState::default().with_allocator_metadata();
        let (start, end) = crate::gpa::internal_live_map().expect("the live map exists");
        assert!(start < end);
        assert_eq!(outside(&own, start, end), []);
        let mut leaves = 0;
        crate::gpa::for_each_page_map_leaf(&mut |start, end| {
            leaves += 1;
            assert_eq!(outside(&own, start, end), []);
        });
        assert!(leaves > 0);
        // Only those: the memory around the live map is cut at its bounds.
        assert_eq!(outside(&own, start - 16, start), [(start - 16, start)]);
        for (block, size) in blocks {
            // SAFETY: each block was allocated above with this size and alignment.
            unsafe { allocator.raw_free(block, size, 8) };
        }
        assert_eq!(gpa.deinit(), crate::Check::Ok);
    }

    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[test]
    fn another_threads_copies_lie_at_the_same_offset_from_its_thread_pointer() {
        // SAFETY: pthread_self only reads the thread pointer.
        let me = unsafe { libc::pthread_self() } as usize;
        let other = me + (64 << 20);
        let own = OwnState::new(&[(me - 0x400, 0x40)], &[other, me, 0]);
        assert_eq!(
            outside(&own, 0, usize::MAX),
            [
                (0, me - 0x400),
                (me - 0x3c0, other - 0x400),
                (other - 0x3c0, usize::MAX)
            ]
        );
    }
}
