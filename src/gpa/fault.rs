//! Fault attribution: from the address of a `SIGSEGV`/`SIGBUS` to the block it concerns, and
//! the finding that says what happened.
//!
//! # Design
//! The platform layer (`os::signal`) catches the signal and decodes its context; this module
//! is the policy it asks. [`attribute`] looks the address up without a lock and without
//! allocating:
//! * in a guarded area (page map → area header → owner map → record): overflow or underflow of
//!   a live block, read or write after free of a quarantined one (`guarded`);
//! * past the end of a live large block's mapping (page map → header): overflow;
//! * in the address range of a large block freed in safety mode, which the GPA keeps reserved
//!   and inaccessible while the block is in its quarantine (`large`): read or write after
//!   free, instead of a bare "Segmentation fault";
//! * in the interior of a small block of 64 KiB or more freed in safety mode, which the GPA
//!   keeps inaccessible while the block is in its quarantine (`quarpages`): read or write
//!   after free;
//! * in a freed small block whose page was released since (a free unit of its segment, or
//!   the unmapped range of a segment given back), remembered by `released`: read or write
//!   after free of that block;
//! * inside a live block of any kind, for an instruction fetch: code ran from the heap;
//! * on a small segment's guards (around its header, its free units, which safety mode keeps
//!   inaccessible), or in unmapped space within a segment's length of the GPA's memory (a
//!   wild access a mebibyte off a block): overflow or underflow of the nearest live block
//!   (`nearest_block`), as Valgrind names the block an address is "N bytes after". A fault
//!   in another mapping (a thread's stack guard, the program's own inaccessible pages) is
//!   never attributed to a block.
//!
//! An access that starts before the fault address (in the block, or its slack) and reaches
//! into the inaccessible page is named by its start where the faulting instruction was
//! decoded (`Fault::access_start`; [`straddling`]), as Valgrind names it.
//!
//! The GPA installs [`default_hook`] when it first makes a guarded block, a small segment in
//! safety mode or reserves the range of a freed large block (unless another hook, such as the
//! C ABI's, is registered): it symbolizes the finding, writes it to stderr and lets the process end as the signal would. The C ABI
//! registers its own hook, which writes its whole report instead.
//!
//! # Invariants
//! * Nothing here waits for a lock or allocates: the page map, area and large-block headers
//!   are read through atomics and plain loads, as a signal handler may; the ring of released
//!   pages' blocks only if its lock is free within a few attempts.

use core::sync::atomic::Ordering;

use super::segment::{Segment, SegmentKind, SEGMENT_SIZE, SLOT_LIVE, UNITS};
use super::{heap, pagemap};
use crate::os;
use crate::os::signal::{Fault, Verdict};
use crate::report::{self, Access, FindingKind, RawFinding};
use crate::trace::{self, TraceId};

/// Frames of the access trace when the GPA that owns the block is not known.
const DEFAULT_FRAMES: usize = 16;

/// A finding for a fault, and the depth its owner renders traces at.
#[derive(Clone, Copy, Debug)]
pub struct Attribution {
    /// What happened (the access trace still empty).
    pub finding: RawFinding,
    /// The id of the GPA instance whose block it is.
    pub gpa_id: u64,
    /// Frames per trace that GPA keeps.
    pub frames: usize,
}

/// What the GPA knows about a fault at `address`: see the module documentation. The
/// finding's access trace is left empty for the caller, who knows how to unwind. `fetch`:
/// the fault was an instruction fetch (code ran from `address`): inside a live block, that is
/// a heap execution. `start`: the access's first byte where the instruction was decoded
/// (`Fault::access_start`), for an access that straddles a block's end ([`straddling`]).
pub fn attribute(
    address: usize,
    access: Option<Access>,
    access_size: usize,
    fetch: bool,
    start: Option<usize>,
) -> Option<Attribution> {
    let mut attribution = attribute_address(address, access, access_size, fetch)?;
    straddling(&mut attribution.finding, address, start);
    Some(attribution)
}

/// An access that starts before the faulting address, at or after the block's start, and
/// reaches into the inaccessible page: an overflow from inside the block or the slack after
/// it into its guard page (an 8-byte store into a 4-byte block: the kernel names the first
/// byte of the guard page, 4 bytes in), or a use after free from a freed block's accessible
/// head into its protected interior (`quarpages`). The finding's offset is the access's
/// start, as Valgrind names it ("Invalid write of size 8 ... 0 bytes inside a block of size
/// 4"). Every other finding's fault address is the access's start already (an access wholly
/// past the end or before the start, a use after free of a wholly protected block: the first
/// byte it touches is inaccessible), or the start is not known.
pub fn straddling(finding: &mut RawFinding, address: usize, start: Option<usize>) {
    let Some(start) = start else {
        return;
    };
    let block = finding.address;
    let kinds = [
        FindingKind::Overflow,
        FindingKind::ReadAfterFree,
        FindingKind::WriteAfterFree,
    ];
    let width = finding.access_size;
    if !kinds.contains(&finding.kind)
        || start >= address
        || start < block
        || address - start >= width
        || finding.offset != Some(address as isize - block as isize)
    {
        return;
    }
    let mut start = start;
    // Valgrind checks a vector store (16 or 32 bytes) as 8-byte stores, the lowest first,
    // and names the first that is not wholly inside the block ("Invalid write of size 8 ...
    // 0 bytes after a block of size 24" for a 32-byte store 8 bytes into it); a load, whole.
    if finding.access == Some(Access::Write) && width > LANE {
        let end = if finding.kind == FindingKind::Overflow {
            block + finding.size
        } else {
            block
        };
        while start + LANE <= end && start + LANE <= address {
            start += LANE;
        }
        finding.access_size = LANE;
    }
    finding.offset = Some((start - block) as isize);
}

/// The piece Valgrind checks a vector store in ([`straddling`]).
const LANE: usize = 8;

/// [`attribute`] for the fault address alone.
fn attribute_address(
    address: usize,
    access: Option<Access>,
    access_size: usize,
    fetch: bool,
) -> Option<Attribution> {
    if fetch {
        if let Some(found) = executed_block(address) {
            return Some(found);
        }
    }
    let entry = pagemap::lookup(address);
    match entry {
        Some(pagemap::Entry::Guarded(area)) => {
            // SAFETY: the page map validated a live area header.
            let area = unsafe { &*area };
            if !area.common.is(SegmentKind::Guarded) {
                return None;
            }
            let finding = area.attribute(address, access, access_size)?;
            return Some(Attribution {
                finding,
                gpa_id: area.common.gpa_id,
                frames: area.frames,
            });
        }
        Some(pagemap::Entry::Large(header)) => {
            if let Some(found) = large_fault(header, address, access, access_size) {
                return Some(found);
            }
        }
        // In a small segment: the protected interior of a quarantined slot (`quarpages`), or
        // one of the segment's guards (around the header, free units).
        Some(pagemap::Entry::Small(segment)) => {
            if let Some((finding, gpa_id)) =
                super::quarpages::attribute(segment, address, access, access_size)
            {
                return Some(Attribution {
                    finding,
                    gpa_id,
                    frames: DEFAULT_FRAMES,
                });
            }
        }
        None => {}
    }
    // Code that ran from no live block is no heap mistake this module can name.
    if fetch {
        return None;
    }
    // Outside a small segment, only where nothing is mapped: another mapping's fault (a
    // thread's stack guard, the program's own inaccessible pages) is not about a block.
    if !matches!(entry, Some(pagemap::Entry::Small(_))) && !os::is_unmapped(address) {
        return None;
    }
    released_block(address, access, access_size)
        .or_else(|| nearest_block(address, access, access_size))
}

/// A fault in a freed small block whose page was released since (a free unit, inaccessible
/// in safety mode, or a segment given back): a read or write after free of that block, from
/// the ring of such blocks (`released`), if its lock is free.
fn released_block(
    address: usize,
    access: Option<Access>,
    access_size: usize,
) -> Option<Attribution> {
    let (gpa, block) = super::released::try_find_any(address)?;
    let kind = match access {
        Some(Access::Write) => FindingKind::WriteAfterFree,
        _ => FindingKind::ReadAfterFree,
    };
    let mut finding = RawFinding::new(kind, block.start);
    finding.size = block.size;
    finding.align = block.align;
    finding.alloc_trace = block.alloc_trace;
    finding.free_trace = block.free_trace;
    finding.access = access;
    finding.access_size = access_size;
    finding.offset = Some(address as isize - block.start as isize);
    Some(Attribution {
        finding,
        // The ring keeps the id's low 32 bits (ids count up from 1).
        gpa_id: u64::from(gpa),
        frames: DEFAULT_FRAMES,
    })
}

/// A fault on the range of a large block: past the end of a live one's mapping (an
/// overflow), or anywhere in a freed one's range held reserved (a use after free).
fn large_fault(
    header: *mut super::large::LargeBlock,
    address: usize,
    access: Option<Access>,
    access_size: usize,
) -> Option<Attribution> {
    // SAFETY: the page map validated a live metadata block of the internal heap holding the
    // header; it stays allocated while the page map points at it.
    let block = unsafe { &*header };
    if !block.is_sound() {
        return None;
    }
    let data = block.data();
    let state = block.state.load(Ordering::Acquire);
    let kind = if state == SLOT_LIVE && address >= block.base + block.mapping_len {
        FindingKind::Overflow
    } else if state != SLOT_LIVE && block.reserved {
        match access {
            Some(Access::Write) => FindingKind::WriteAfterFree,
            _ => FindingKind::ReadAfterFree,
        }
    } else {
        return None;
    };
    let mut finding = RawFinding::new(kind, data);
    finding.size = block.requested;
    finding.align = block.align;
    finding.alloc_trace = TraceId(block.alloc_trace.load(Ordering::Relaxed));
    finding.free_trace = TraceId(block.free_trace.load(Ordering::Relaxed));
    finding.access = access;
    finding.access_size = access_size;
    finding.offset = Some(address as isize - data as isize);
    Some(Attribution {
        finding,
        gpa_id: block.common.gpa_id,
        frames: DEFAULT_FRAMES,
    })
}

/// A live block near a faulting address (see [`nearest_block`]).
#[derive(Clone, Copy)]
struct Near {
    distance: usize,
    start: usize,
    size: usize,
    align: usize,
    alloc_trace: TraceId,
    gpa_id: u64,
}

impl Near {
    /// Keeps the block `[start, start + size)` in `best` if it is nearer to `address`.
    fn consider(best: &mut Option<Near>, address: usize, candidate: Near) {
        let end = candidate.start + candidate.size;
        let distance = if address < candidate.start {
            candidate.start - address
        } else {
            address.saturating_sub(end)
        };
        if best.is_none_or(|near| distance < near.distance) {
            *best = Some(Near {
                distance,
                ..candidate
            });
        }
    }
}

/// A fault on gpa's guards in a small segment (around its header, its free units), or in
/// unmapped space next to gpa's memory: an overflow or an underflow of the nearest live block
/// of the chunk holding `address` or of the chunks on either side (at most a segment away,
/// so a wild write a mebibyte off a block names that block). Needs safety mode's slot
/// metadata to know live slots; `None` when no live block is that near.
fn nearest_block(
    address: usize,
    access: Option<Access>,
    access_size: usize,
) -> Option<Attribution> {
    let chunk = address & !(SEGMENT_SIZE - 1);
    let mut best = None;
    for base in [
        chunk.wrapping_sub(SEGMENT_SIZE),
        chunk,
        chunk.wrapping_add(SEGMENT_SIZE),
    ] {
        match pagemap::lookup(base) {
            Some(pagemap::Entry::Small(segment)) => nearest_slot(segment, address, &mut best),
            Some(pagemap::Entry::Large(header)) => {
                // SAFETY: as in `large_fault`.
                let block = unsafe { &*header };
                if block.is_sound() && block.state.load(Ordering::Acquire) == SLOT_LIVE {
                    let candidate = Near {
                        distance: 0,
                        start: block.data(),
                        size: block.requested,
                        align: block.align,
                        alloc_trace: TraceId(block.alloc_trace.load(Ordering::Relaxed)),
                        gpa_id: block.common.gpa_id,
                    };
                    Near::consider(&mut best, address, candidate);
                }
            }
            // A guarded area attributes the faults in its own range.
            Some(pagemap::Entry::Guarded(_)) | None => {}
        }
    }
    let near = best?;
    let kind = if address < near.start {
        FindingKind::Underflow
    } else {
        FindingKind::Overflow
    };
    let mut finding = RawFinding::new(kind, near.start);
    finding.size = near.size;
    finding.align = near.align;
    finding.alloc_trace = near.alloc_trace;
    finding.access = access;
    finding.access_size = access_size;
    finding.offset = Some(address as isize - near.start as isize);
    Some(Attribution {
        finding,
        gpa_id: near.gpa_id,
        frames: DEFAULT_FRAMES,
    })
}

/// The live slots of a small segment (safety mode keeps their state) as candidates for
/// [`nearest_block`]. Reads the descriptors without claiming the segment, as
/// [`executed_block`] does.
fn nearest_slot(segment: *mut Segment, address: usize, best: &mut Option<Near>) {
    // SAFETY: the page map validated a registered segment's header (see `executed_block`).
    let segment = unsafe { &*segment };
    if !segment.common.is(SegmentKind::Small) {
        return;
    }
    for unit in 1..UNITS {
        if segment.free_units & (1 << unit) != 0 || segment.unit_page[unit] as usize != unit {
            continue;
        }
        let page = &segment.pages[unit];
        if page.units == 0 || page.meta.is_null() || page.block_size == 0 {
            continue;
        }
        for index in 0..page.carved.min(u64::from(page.capacity)) as usize {
            // SAFETY: safety mode keeps metadata for every slot; `index < capacity`.
            let meta = unsafe { page.meta(index) };
            if meta.state.load(Ordering::Acquire) != SLOT_LIVE {
                continue;
            }
            let candidate = Near {
                distance: 0,
                start: page.slot_address(index),
                size: meta.requested.load(Ordering::Relaxed) as usize,
                align: 1 << meta.align_log2.load(Ordering::Relaxed).min(63),
                alloc_trace: TraceId(meta.alloc_trace.load(Ordering::Relaxed)),
                gpa_id: segment.common.gpa_id,
            };
            Near::consider(best, address, candidate);
        }
    }
}

/// The live block that `address` (where code ran) lies in, as a heap-execution finding.
fn executed_block(address: usize) -> Option<Attribution> {
    let (start, size, align, alloc_trace, frames, gpa_id) = match pagemap::lookup(address)? {
        pagemap::Entry::Guarded(area) => {
            // SAFETY: the page map validated a live area header.
            let area = unsafe { &*area };
            let (start, layout, trace) = area.live_block_containing(address)?;
            let id = area.common.gpa_id;
            (start, layout.size(), layout.align(), trace, area.frames, id)
        }
        pagemap::Entry::Large(header) => {
            // SAFETY: the page map validated the header (see `attribute`).
            let block = unsafe { &*header };
            let start = block.data();
            let live = block.state.load(Ordering::Acquire) == SLOT_LIVE;
            if !block.is_sound()
                || !live
                || address < start
                || address >= start + block.requested.max(1)
            {
                return None;
            }
            let trace = TraceId(block.alloc_trace.load(Ordering::Relaxed));
            let id = block.common.gpa_id;
            (
                start,
                block.requested,
                block.align,
                trace,
                DEFAULT_FRAMES,
                id,
            )
        }
        pagemap::Entry::Small(segment) => {
            // SAFETY: the page map validated a registered segment's header; its descriptors
            // are initialized (zero when unused), read without claiming the segment.
            let segment = unsafe { &*segment };
            if !segment.common.is(SegmentKind::Small) {
                return None;
            }
            let page = segment.page_at(address)?;
            let (index, _) = page.slot_of(address);
            if index >= page.carved as usize {
                return None;
            }
            let start = page.slot_address(index);
            let mut size = page.block_size as usize;
            let mut trace = TraceId::NONE;
            if !page.meta.is_null() {
                // SAFETY: safety mode keeps metadata for every slot; `index < carved`.
                let meta = unsafe { page.meta(index) };
                if meta.state.load(Ordering::Acquire) != SLOT_LIVE {
                    return None;
                }
                size = meta.requested.load(Ordering::Relaxed) as usize;
                trace = TraceId(meta.alloc_trace.load(Ordering::Relaxed));
            }
            (start, size, 0, trace, DEFAULT_FRAMES, segment.common.gpa_id)
        }
    };
    let mut finding = RawFinding::new(FindingKind::HeapExecution, start);
    finding.size = size;
    finding.align = align;
    finding.alloc_trace = alloc_trace;
    finding.access = Some(Access::Read);
    finding.offset = Some(address as isize - start as isize);
    Some(Attribution {
        finding,
        gpa_id,
        frames,
    })
}

/// The access of a decoded fault.
pub fn access_of(fault: &Fault) -> Option<Access> {
    fault
        .write
        .map(|write| if write { Access::Write } else { Access::Read })
}

/// Installs [`default_hook`] for `SIGSEGV` and `SIGBUS` unless a hook is registered already.
pub fn install_default_hook() {
    static DONE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if DONE.swap(true, Ordering::AcqRel) {
        return;
    }
    os::signal::install(&[libc::SIGSEGV, libc::SIGBUS], default_hook, false);
}

/// The hook of a program that uses the GPA from Rust: a fault attributed to a block is
/// reported on stderr (with the faulting access's trace, walked through frame pointers from
/// the signal context) and ends the process; any other goes on to the previous handler.
pub fn default_hook(fault: &Fault) -> Verdict {
    if !fault.is_memory_fault() {
        return Verdict::NotOurs;
    }
    let Some(attribution) = attribute(
        fault.address,
        access_of(fault),
        fault.access_size.unwrap_or(0),
        fault.fetch,
        fault.access_start,
    ) else {
        return Verdict::NotOurs;
    };
    let mut finding = attribution.finding;
    let depth = if attribution.frames == 0 {
        DEFAULT_FRAMES
    } else {
        attribution.frames
    };
    // Whatever lock the interrupted thread holds, the report (and finding the thread's stack
    // for the access trace) allocates without waiting.
    super::internal::enter_emergency();
    report::symbolize::enter_crash_report();
    let _inside = heap::InsideAllocator::enter();
    finding.site_trace = access_trace(fault, depth);
    let text = report::render(&finding, attribution.frames).to_string();
    os::write_stderr(text.as_bytes());
    Verdict::Reported
}

/// The faulting access's stack, walked through frame pointers from the signal context and
/// interned (none when traces are off).
pub fn access_trace(fault: &Fault, frames: usize) -> TraceId {
    if frames == 0 {
        return TraceId::NONE;
    }
    let captured = trace::capture_from_context(fault.ip, fault.bp, fault.sp, frames, fault.fetch);
    trace::intern(&captured)
}

impl super::GeneralPurposeAllocator {
    /// The finding for a fault at `address` on a block of this GPA instance (see
    /// [`attribute`]; `start`: the access's first byte, where known), the access trace left
    /// empty; `None` for any other address.
    pub(crate) fn fault_finding(
        &self,
        address: usize,
        access: Option<Access>,
        access_size: usize,
        fetch: bool,
        start: Option<usize>,
    ) -> Option<RawFinding> {
        let attribution = attribute(address, access, access_size, fetch, start)?;
        (attribution.gpa_id == self.id.load(Ordering::Relaxed)).then_some(attribution.finding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::describe;

    /// A guard-mode overflow of the `size`-byte block at `block` by a `width`-byte write that
    /// faulted at `address`, as the guarded area attributes it.
    fn overflow(block: usize, size: usize, address: usize, width: usize) -> RawFinding {
        let mut finding = RawFinding::new(FindingKind::Overflow, block);
        finding.size = size;
        finding.access = Some(Access::Write);
        finding.access_size = width;
        finding.offset = Some(address as isize - block as isize);
        finding
    }

    #[test]
    fn an_access_straddling_the_end_is_placed_at_its_start() {
        // An 8-byte store at a 4-byte block's start, its guard page 4 bytes in.
        let mut finding = overflow(0x1000, 4, 0x1004, 8);
        straddling(&mut finding, 0x1004, Some(0x1000));
        assert_eq!(finding.offset, Some(0));
        assert_eq!(
            describe(&finding),
            "buffer overflow: write of 8 bytes 0 bytes inside a 4-byte block at 0x1000, \
             reaching 4 bytes past its end"
        );
        // From the slack after a 3-byte block (its guard page 8 bytes in): past the end.
        let mut finding = overflow(0x1000, 3, 0x1008, 8);
        straddling(&mut finding, 0x1008, Some(0x1004));
        assert_eq!(finding.offset, Some(4));
        assert_eq!(
            describe(&finding),
            "buffer overflow: write of 8 bytes 1 byte after the end of a 3-byte block at 0x1000"
        );
        // A use after free from a freed block's accessible head into its protected interior.
        let mut finding = overflow(0x1000, 0x20000, 0x2000, 16);
        finding.kind = FindingKind::ReadAfterFree;
        finding.access = Some(Access::Read);
        straddling(&mut finding, 0x2000, Some(0x1ff8));
        assert_eq!((finding.offset, finding.access_size), (Some(0xff8), 16));
    }

    #[test]
    fn a_vector_store_is_placed_at_its_first_8_bytes_past_the_end() {
        // Valgrind's pieces: a 16-byte store at an 8-byte block's start (guard 8 bytes in).
        let mut finding = overflow(0x1000, 8, 0x1008, 16);
        straddling(&mut finding, 0x1008, Some(0x1000));
        assert_eq!((finding.offset, finding.access_size), (Some(8), 8));
        // A 32-byte store 8 bytes into a 24-byte block (its guard 32 bytes in, past the slack).
        let mut finding = overflow(0x1000, 24, 0x1020, 32);
        straddling(&mut finding, 0x1020, Some(0x1008));
        assert_eq!((finding.offset, finding.access_size), (Some(24), 8));
        // A 16-byte store 2 bytes into a 4-byte block: its first piece is past the end.
        let mut finding = overflow(0x1000, 4, 0x1004, 16);
        straddling(&mut finding, 0x1004, Some(0x1002));
        assert_eq!((finding.offset, finding.access_size), (Some(2), 8));
        // A 16-byte load: whole.
        let mut finding = overflow(0x1000, 8, 0x1008, 16);
        finding.access = Some(Access::Read);
        straddling(&mut finding, 0x1008, Some(0x1000));
        assert_eq!((finding.offset, finding.access_size), (Some(0), 16));
    }

    #[test]
    fn other_faults_keep_the_fault_address() {
        let unchanged = |mut finding: RawFinding, address: usize, start: Option<usize>| {
            let before = finding.offset;
            straddling(&mut finding, address, start);
            assert_eq!(finding.offset, before, "{start:x?}");
        };
        // Wholly past the end (the start is the fault address), the start unknown.
        unchanged(overflow(0x1000, 4, 0x1004, 8), 0x1004, Some(0x1004));
        unchanged(overflow(0x1000, 4, 0x1004, 8), 0x1004, None);
        // A start that does not reach the fault, one before the block (another block's).
        unchanged(overflow(0x1000, 4, 0x1004, 4), 0x1004, Some(0x1000));
        unchanged(overflow(0x1000, 4, 0x1004, 8), 0x1004, Some(0x0ffe));
        // An underflow, a heap execution.
        let mut underflow = overflow(0x1000, 4, 0x0ff8, 8);
        underflow.kind = FindingKind::Underflow;
        unchanged(underflow, 0x0ff8, Some(0x0ff4));
        let mut executed = overflow(0x1000, 4, 0x1004, 8);
        executed.kind = FindingKind::HeapExecution;
        unchanged(executed, 0x1004, Some(0x1000));
    }
}
