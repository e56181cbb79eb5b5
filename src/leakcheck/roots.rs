//! The roots of an exit-time leak check, shared by `gpa run`'s report (`capi::scan`) and the
//! Rust global allocator's report at exit (`gpa::at_exit`): every readable and writable
//! mapping of the process except memory a GPA manages (its blocks are judged, not roots) and
//! pages never touched, with each known thread stack scanned only from where its live frames
//! begin; and where the live frames of the exiting thread begin.
//!
//! # Design
//! A stack's dead part (below its stack pointer, or below the frame that called `exit`) holds
//! stale copies of pointers that Valgrind, knowing them unwritten, ignores: scanning it would
//! turn lost blocks into reachable ones. Stacks whose thread is not known (threads still
//! running) are roots whole, as Valgrind scans them from their stack pointer, which is not
//! known here.
//!
//! # Invariants
//! * Memory is only read through [`Graph::scan_root_range`], which reads what `/proc/self/maps`
//!   says is readable.

use super::maps::Maps;
use super::Graph;

/// A thread stack whose live part is known: the mapping holding `stack_pointer` is scanned
/// from `live_from` up (`usize::MAX`: not at all).
#[derive(Clone, Copy, Debug)]
pub struct LiveStack {
    /// An address inside the stack (its stack pointer).
    pub stack_pointer: usize,
    /// Where its live part begins.
    pub live_from: usize,
}

impl LiveStack {
    /// The calling (exiting) thread's stack, live from `live_from`
    /// ([`caller_frame_address`]; `None`: not scanned at all).
    pub fn this_thread(live_from: Option<usize>) -> LiveStack {
        LiveStack {
            stack_pointer: crate::os::approximate_stack_pointer(),
            live_from: live_from.unwrap_or(usize::MAX),
        }
    }
}

/// Scans every root mapping of `maps` into `graph` (see the module docs): the pages that are
/// resident and that `managed` (a GPA manages the page at this address) rejects; in a
/// mapping holding one of `stacks`, only from its live part up.
pub fn scan_mappings(
    graph: &mut Graph<'_>,
    maps: &Maps,
    stacks: &[LiveStack],
    managed: &dyn Fn(usize) -> bool,
) {
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
        scan_unmanaged(graph, start, end, managed);
    }
}

/// Scans the pages of `[start, end)` that are resident and not managed by a GPA.
fn scan_unmanaged(
    graph: &mut Graph<'_>,
    start: usize,
    end: usize,
    managed: &dyn Fn(usize) -> bool,
) {
    let page = crate::os::page_size();
    let first_page = start & !(page - 1);
    super::maps::for_each_resident_run(first_page, end, &mut |from, to| {
        let mut cursor = from;
        while cursor < to {
            // Runs of pages no GPA manages.
            let run_start = cursor;
            while cursor < to && !managed(cursor) {
                cursor += page;
            }
            let (a, b) = (run_start.max(start), cursor.min(to));
            if a < b {
                graph.scan_root_range(a, b);
            }
            while cursor < to && managed(cursor) {
                cursor += page;
            }
        }
    });
}

/// Where the live frames of the exiting thread begin: the stack pointer of the first frame
/// above `handler`'s (an exit hook) that is not the C library's, nor, with
/// `skip_handler_object`, in the object holding `handler` (the preload library: its frames
/// between `exit` and the hook are machinery too). That is the program's frame that called
/// `exit` or `_exit`, or the start-up code's when `main` returned, so the live region covers
/// the frames that led to the end of the process, and not those of `exit`'s machinery and of
/// the report: they lie where the program's last frames were (`main`'s, when it returned) and
/// their unwritten slots still hold stale copies of its pointers, which Valgrind, knowing them
/// unwritten, ignores. `None` when `handler` is not on the stack.
pub fn caller_frame_address(handler: usize, skip_handler_object: bool) -> Option<usize> {
    let own = object_base(handler)?;
    let libc = object_base(libc::exit as *const () as usize);
    let mut seen_handler = false;
    let mut found = None;
    // SAFETY: the callback neither allocates nor panics nor reenters the unwinder (`dladdr`
    // does neither).
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            let ip = frame.ip() as usize;
            let object = object_base(ip.saturating_sub(1));
            let machinery = object == libc || (skip_handler_object && object == Some(own));
            if seen_handler && !machinery {
                found = Some(frame.sp() as usize);
                return false;
            }
            seen_handler |= frame.symbol_address() as usize == handler;
            true
        });
    }
    found.filter(|&address| address != 0)
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
