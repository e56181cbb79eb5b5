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
//! * in the address range of a large block freed in safety mode: the GPA keeps that range
//!   reserved and inaccessible for a while ([`hold_released`]: the last [`HELD_SLOTS`] blocks),
//!   so that a use after free faults *and* maps to the block instead of being a bare
//!   "Segmentation fault" (or reaching whatever is mapped there next).
//!
//! The GPA installs [`default_hook`] when it first makes a guarded block or holds a freed
//! range (unless another hook, such as the C ABI's, is registered): it symbolizes the
//! finding, writes it to stderr and lets the process end as the signal would. The C ABI
//! registers its own hook, which writes its whole report instead.
//!
//! # Invariants
//! * Held-range slots are written under `HELD_LOCK` with a sequence count (odd while being
//!   written); the signal handler reads them without the lock and retries a torn read.
//! * A held range stays reserved (`PROT_NONE`, nothing else mapped there) until its slot is
//!   reused; then it is unmapped.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use super::guarded::Area;
use super::large::LargeBlock;
use super::lock::Lock;
use super::segment::{Segment, SegmentCommon, SegmentKind, SLOT_LIVE};
use super::{heap, pagemap};
use crate::os;
use crate::os::signal::{Fault, Verdict};
use crate::report::{self, Access, FindingKind, RawFinding};
use crate::trace::{self, TraceId};

/// Freed large blocks whose address ranges are held inaccessible.
pub const HELD_SLOTS: usize = 64;

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

struct Held {
    sequence: AtomicU32,
    start: AtomicUsize,
    len: AtomicUsize,
    data: AtomicUsize,
    size: AtomicUsize,
    gpa_id: AtomicUsize,
    frames: AtomicUsize,
    alloc_trace: AtomicU32,
    free_trace: AtomicU32,
}

static HELD: [Held; HELD_SLOTS] = [const {
    Held {
        sequence: AtomicU32::new(0),
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        data: AtomicUsize::new(0),
        size: AtomicUsize::new(0),
        gpa_id: AtomicUsize::new(0),
        frames: AtomicUsize::new(0),
        alloc_trace: AtomicU32::new(0),
        free_trace: AtomicU32::new(0),
    }
}; HELD_SLOTS];
static HELD_LOCK: Lock<usize> = Lock::new(0);

/// Keeps the range of a large block just freed (its mapping already returned) reserved and
/// inaccessible, remembering the block (`freed`: its address, size and traces), so that a
/// later access faults and is reported as a use after free. The oldest held range is
/// released when all slots are in use. Nothing happens when the range was taken meanwhile.
pub fn hold_released(start: usize, len: usize, freed: &RawFinding, gpa_id: u64, frames: usize) {
    let Some(range) = core::ptr::NonNull::new(start as *mut u8) else {
        return;
    };
    if !os::hold_unmapped(range, len) {
        return;
    }
    install_default_hook();
    let mut next = HELD_LOCK.lock();
    let slot = &HELD[*next % HELD_SLOTS];
    *next += 1;
    slot.sequence.fetch_add(1, Ordering::AcqRel);
    let (old_start, old_len) = (
        slot.start.swap(start, Ordering::AcqRel),
        slot.len.swap(len, Ordering::AcqRel),
    );
    slot.data.store(freed.address, Ordering::Relaxed);
    slot.size.store(freed.size, Ordering::Relaxed);
    slot.gpa_id.store(gpa_id as usize, Ordering::Relaxed);
    slot.frames.store(frames, Ordering::Relaxed);
    slot.alloc_trace
        .store(freed.alloc_trace.0, Ordering::Relaxed);
    slot.free_trace.store(freed.free_trace.0, Ordering::Relaxed);
    slot.sequence.fetch_add(1, Ordering::AcqRel);
    drop(next);
    if old_len != 0 {
        // SAFETY: the old range was held by this module (a PROT_NONE mapping of ours) and its
        // slot now describes another one.
        unsafe {
            os::unmap(
                core::ptr::NonNull::new_unchecked(old_start as *mut u8),
                old_len,
            )
        };
    }
}

/// Releases the held ranges of a GPA instance being torn down (its ids are never reused, so
/// only the address space is at stake).
pub fn release_held(gpa_id: u64) {
    let _writer = HELD_LOCK.lock();
    for slot in &HELD {
        if slot.gpa_id.load(Ordering::Relaxed) != gpa_id as usize {
            continue;
        }
        slot.sequence.fetch_add(1, Ordering::AcqRel);
        let (start, len) = (
            slot.start.swap(0, Ordering::AcqRel),
            slot.len.swap(0, Ordering::AcqRel),
        );
        slot.sequence.fetch_add(1, Ordering::AcqRel);
        if len != 0 {
            // SAFETY: a range this module held.
            unsafe { os::unmap(core::ptr::NonNull::new_unchecked(start as *mut u8), len) };
        }
    }
}

fn held_at(address: usize) -> Option<Attribution> {
    for slot in &HELD {
        for _ in 0..4 {
            let before = slot.sequence.load(Ordering::Acquire);
            if before % 2 == 1 {
                continue;
            }
            let start = slot.start.load(Ordering::Acquire);
            let len = slot.len.load(Ordering::Acquire);
            let mut finding = RawFinding::new(FindingKind::ReadAfterFree, 0);
            finding.address = slot.data.load(Ordering::Relaxed);
            finding.size = slot.size.load(Ordering::Relaxed);
            finding.alloc_trace = TraceId(slot.alloc_trace.load(Ordering::Relaxed));
            finding.free_trace = TraceId(slot.free_trace.load(Ordering::Relaxed));
            let gpa_id = slot.gpa_id.load(Ordering::Relaxed) as u64;
            let frames = slot.frames.load(Ordering::Relaxed);
            if slot.sequence.load(Ordering::Acquire) != before {
                continue;
            }
            if len != 0 && address >= start && address < start + len {
                return Some(Attribution {
                    finding,
                    gpa_id,
                    frames,
                });
            }
            break;
        }
    }
    None
}

/// What the GPA knows about a fault at `address`: see the module documentation. The
/// finding's access trace is left empty for the caller, who knows how to unwind. `fetch`:
/// the fault was an instruction fetch (code ran from `address`): inside a live block, that is
/// a heap execution.
pub fn attribute(
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
    if let Some(base) = pagemap::lookup(address) {
        // SAFETY: the page map holds bases of live headers of GPA segments, large blocks and
        // guarded areas, which start with a `SegmentCommon`.
        let common = unsafe { &*(base as *const SegmentCommon) };
        let gpa_id = common.gpa_id;
        match common.kind {
            SegmentKind::Guarded => {
                // SAFETY: an area header, as its kind says.
                let area = unsafe { &*(base as *const Area) };
                let finding = area.attribute(address, access, access_size)?;
                return Some(Attribution {
                    finding,
                    gpa_id,
                    frames: area.frames,
                });
            }
            SegmentKind::Large => {
                // SAFETY: a large-block header, as its kind says; a live block's header page
                // is mapped.
                let block = unsafe { &*(base as *const LargeBlock) };
                if block.state.load(Ordering::Acquire) == SLOT_LIVE
                    && address >= base + block.mapping_len
                {
                    let mut finding = RawFinding::new(FindingKind::Overflow, block.data());
                    finding.size = block.requested;
                    finding.align = block.align;
                    finding.alloc_trace = TraceId(block.alloc_trace.load(Ordering::Relaxed));
                    finding.access = access;
                    finding.access_size = access_size;
                    finding.offset = Some(address as isize - block.data() as isize);
                    return Some(Attribution {
                        finding,
                        gpa_id,
                        frames: DEFAULT_FRAMES,
                    });
                }
            }
            SegmentKind::Small => {}
        }
    }
    let mut held = held_at(address)?;
    held.finding.kind = match access {
        Some(Access::Write) => FindingKind::WriteAfterFree,
        _ => FindingKind::ReadAfterFree,
    };
    held.finding.access = access;
    held.finding.access_size = access_size;
    held.finding.offset = Some(address as isize - held.finding.address as isize);
    Some(held)
}

/// The live block that `address` (where code ran) lies in, as a heap-execution finding.
fn executed_block(address: usize) -> Option<Attribution> {
    let base = pagemap::lookup(address)?;
    // SAFETY: page-map targets start with a `SegmentCommon` (see `attribute`).
    let common = unsafe { &*(base as *const SegmentCommon) };
    let (start, size, align, alloc_trace, frames) = match common.kind {
        SegmentKind::Guarded => {
            // SAFETY: an area header, as its kind says.
            let area = unsafe { &*(base as *const Area) };
            let (start, layout, trace) = area.live_block_containing(address)?;
            (start, layout.size(), layout.align(), trace, area.frames)
        }
        SegmentKind::Large => {
            // SAFETY: a large-block header, as its kind says.
            let block = unsafe { &*(base as *const LargeBlock) };
            let start = block.data();
            let live = block.state.load(Ordering::Acquire) == SLOT_LIVE;
            if !live || address < start || address >= start + block.requested.max(1) {
                return None;
            }
            let trace = TraceId(block.alloc_trace.load(Ordering::Relaxed));
            (start, block.requested, block.align, trace, DEFAULT_FRAMES)
        }
        SegmentKind::Small => {
            // SAFETY: a small segment's header, as its kind says; its descriptors are
            // initialized (zero when unused), read without claiming the segment.
            let segment = unsafe { &*(base as *const Segment) };
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
            (start, size, 0, trace, DEFAULT_FRAMES)
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
        gpa_id: common.gpa_id,
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
    ) else {
        return Verdict::NotOurs;
    };
    let mut finding = attribution.finding;
    let depth = if attribution.frames == 0 {
        DEFAULT_FRAMES
    } else {
        attribution.frames
    };
    finding.site_trace = access_trace(fault, depth);
    // Whatever lock the interrupted thread holds, the report allocates without waiting.
    super::internal::enter_emergency();
    let _inside = heap::InsideAllocator::enter();
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
    /// [`attribute`]), the access trace left empty; `None` for any other address.
    pub fn fault_finding(
        &self,
        address: usize,
        access: Option<Access>,
        access_size: usize,
        fetch: bool,
    ) -> Option<RawFinding> {
        let attribution = attribute(address, access, access_size, fetch)?;
        (attribution.gpa_id == self.id.load(Ordering::Relaxed)).then_some(attribution.finding)
    }
}
