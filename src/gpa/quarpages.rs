//! Quarantined pages: a freed small block of at least [`MIN_SLOT`] bytes keeps the whole OS
//! pages inside its slot inaccessible while it waits in its heap's quarantine (safety mode),
//! instead of having them filled with poison at the free and the poison checked later.
//!
//! # Design
//! A checked free of a small block poisons its slot and every byte of that poison is read
//! again later (as an allocation takes the slot again, or as its page is released): for the slots of 64 KiB and more (the C
//! blocks of 60 KiB to 128 KiB) that is twice the block's size in memory traffic on every
//! free, for bytes the program usually never touched. Here the slot is split into three parts:
//! ```text
//!  slot start                                                                   slot end
//!  │ head: poisoned      │ interior: PROT_NONE while quarantined      │ tail: poisoned │
//!  │ ≥ HEAD_KEEP bytes,  │ whole OS pages                             │ < one OS page  │
//!  │ to a page boundary  │                                            │                │
//! ```
//! * The **head** holds the slot's first word (the remote list's link, later the free list's)
//!   and the C ABI's front guard, and covers the farthest a neighbour's redzone check reads
//!   into a freed slot ([`HEAD_KEEP`]): the previous slot's redzone scan
//!   (`small::redzone_scan`) reaches `4 * redzone(requested)` past its block's end, and the
//!   slot holds at least `redzone(requested)` of it, so it reads at most three largest
//!   redzones (3 KiB) into this slot. Those checks compare freed slots with poison, so the
//!   head is poisoned and stays poisoned after the eviction.
//! * The **interior** is made inaccessible (`mprotect(PROT_NONE)`) at the free: a read or a
//!   write after free faults at the access, and the fault handler reports it as a use after
//!   free of the block with the access's, the allocation's and the free's traces
//!   ([`attribute`], called by `fault::attribute`), where the poison check saw writes only,
//!   and only later. At the eviction it is made readable and writable again and not
//!   checked (nothing could write it). It is not poisoned again either: a slot back on its
//!   page's free list holds the program's old bytes in its interior (nothing compares them:
//!   the neighbour checks stop within the head), and a new block there shows them as a
//!   `malloc` under glibc would.
//! * The **tail** (the part of the last OS page of the slot, if the slot does not end on a
//!   page boundary) is poisoned and checked as before.
//!
//! Each protected interior splits its segment's mapping (at most two more mappings, of the
//! kernel's `vm.max_map_count`, 65530 by default): at most [`MAX_PROTECTED`] interiors are
//! protected at once in the process; past that, or where `mprotect` fails (`ENOMEM` at the
//! mapping limit), the block is poisoned whole as before. The quarantine holds a few such
//! blocks per thread by default (256 KiB: three slots of 80 KiB), so the bound is reached
//! only with a large `GPA_QUARANTINE` and many threads.
//!
//! # Invariants
//! * A slot's interior is inaccessible only while the slot is `SLOT_QUARANTINED` in its
//!   owner's quarantine, with [`PROTECTED`] set in its quarantine entry; every other slot of
//!   a small page is accessible (the eviction opens the interior before the slot changes
//!   state or joins the free list).
//! * `PROTECTED_COUNT` is the number of interiors protected now (give or take one being
//!   changed).
//! * Fast mode never comes here: the checked frees alone protect interiors.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::safety;
use super::segment::{Segment, SegmentKind, SLOT_QUARANTINED};
use crate::os;
use crate::report::{Access, FindingKind, RawFinding};

/// The OS page size these slots are split by (`os::page_size()` on x86-64 and most aarch64
/// Linux; where the OS page is larger, [`interior`] finds fewer whole pages, or none).
const PAGE: usize = 4096;

/// The least slot size whose interior is protected: sixteen OS pages (64 KiB).
pub const MIN_SLOT: usize = 16 * PAGE;

/// Bytes at a slot's start that stay accessible and poisoned (see the module
/// documentation): three of the largest redzones, beyond the reach of the previous slot's
/// redzone check into the slot, the first word and the C ABI's front guard included.
pub const HEAD_KEEP: usize = 3 * safety::redzone(usize::MAX);
const _: () = assert!(HEAD_KEEP >= 64 && safety::redzone(usize::MAX) == 1024);

/// Bit of a quarantine entry: the block's interior is protected (bit 0 says it came through
/// a remote list; block addresses are 16-aligned).
pub const PROTECTED: usize = 2;

/// Interiors protected at once in the process, at most: each costs up to two mappings of the
/// kernel's 65530 (`vm.max_map_count`), so they take an eighth of them at most.
pub const MAX_PROTECTED: usize = 4096;

/// Interiors protected now.
static PROTECTED_COUNT: AtomicUsize = AtomicUsize::new(0);

/// The interior `[low, high)` of a slot of `len` bytes at `start`: the whole OS pages from
/// [`HEAD_KEEP`] bytes in to the slot's end; `None` when that is less than half the slot.
#[inline]
pub fn interior(start: usize, len: usize) -> Option<(usize, usize)> {
    let low = (start + HEAD_KEEP).next_multiple_of(PAGE);
    let high = (start + len) & !(PAGE - 1);
    (high > low && 2 * (high - low) >= len).then_some((low, high))
}

/// Poisons the head and tail of a slot of `len` bytes at `start` (at least [`MIN_SLOT`]) being
/// freed into its owner's quarantine and makes its interior inaccessible. `false`, having
/// changed nothing, where the interior is not protected (the bound reached, the OS refused):
/// the caller poisons the whole slot.
///
/// # Safety
/// The slot is a freed slot of a small page of the calling thread's heap, on its way into
/// that heap's quarantine; nobody else reads or writes it until it is evicted.
#[cold]
#[inline(never)]
pub unsafe fn protect(start: usize, len: usize) -> bool {
    let Some((low, high)) = interior(start, len) else {
        return false;
    };
    if PROTECTED_COUNT.fetch_add(1, Ordering::Relaxed) >= MAX_PROTECTED {
        PROTECTED_COUNT.fetch_sub(1, Ordering::Relaxed);
        return false;
    }
    // SAFETY: caller contract: the slot's memory is ours; `[low, high)` lies inside it,
    // page-aligned, mapped (a page of a live segment) and holding nothing anybody needs.
    let protected =
        unsafe { os::protect(NonNull::new_unchecked(low as *mut u8), high - low, false) };
    if !protected {
        PROTECTED_COUNT.fetch_sub(1, Ordering::Relaxed);
        return false;
    }
    // SAFETY: the head and tail lie in the slot, accessible (caller contract).
    unsafe {
        safety::poison(start, low - start);
        safety::poison(high, start + len - high);
    }
    // A use after free now faults: let it be reported as one (`fault`).
    super::fault::install_default_hook();
    true
}

/// What [`release`] found.
pub enum Released {
    /// The interior is accessible again; the head and tail hold poison.
    Clean,
    /// The interior is accessible again; the poison of the head or tail was changed at this
    /// offset from the slot's start (a write after free).
    Damaged(usize),
    /// The OS refused to open the interior: the slot must not be used again.
    Stuck,
}

/// Makes the interior of a quarantined slot of `len` bytes at `start` (protected by
/// [`protect`]) accessible again as it leaves the quarantine, and checks the poison of its
/// head (from `skip` on: the remote list's link) and tail.
///
/// # Safety
/// The slot was protected by [`protect`] with the same `start` and `len`, is still in its
/// owner's quarantine, and the calling thread owns it.
#[cold]
#[inline(never)]
pub unsafe fn release(start: usize, len: usize, skip: usize) -> Released {
    let Some((low, high)) = interior(start, len) else {
        debug_assert!(false, "a protected slot without an interior");
        return Released::Stuck;
    };
    // SAFETY: caller contract: `[low, high)` is the slot's protected interior.
    let opened = unsafe { os::protect(NonNull::new_unchecked(low as *mut u8), high - low, true) };
    if !opened {
        return Released::Stuck;
    }
    PROTECTED_COUNT.fetch_sub(1, Ordering::Relaxed);
    // SAFETY: the head and tail are accessible memory of the caller's slot, poisoned by
    // `protect`.
    let damage = unsafe {
        safety::poison_damage(start, skip, low - start).or_else(|| {
            safety::poison_damage(high, 0, start + len - high).map(|at| high - start + at)
        })
    };
    match damage {
        None => Released::Clean,
        Some(offset) => Released::Damaged(offset),
    }
}

/// Interiors protected now.
#[cfg(test)]
pub fn protected_count() -> usize {
    PROTECTED_COUNT.load(Ordering::Relaxed)
}

/// The finding for a fault at `address` in a small segment: a read or write after free when
/// it lies in a quarantined slot (only a protected interior faults there), with the block's
/// size, its allocation and free traces and the offset, and the owning GPA's id; `None`
/// anywhere else. Lock-free and allocation-free, as `fault::attribute` is: the descriptors
/// are read without claiming the segment.
pub fn attribute(
    segment: *mut Segment,
    address: usize,
    access: Option<Access>,
    access_size: usize,
) -> Option<(RawFinding, u64)> {
    // SAFETY: the page map validated a registered segment's header; its descriptors are
    // initialized (zero when unused).
    let segment = unsafe { &*segment };
    if !segment.common.is(SegmentKind::Small) {
        return None;
    }
    let page = segment.page_at(address)?;
    if page.meta.is_null() || (page.block_size as usize) < MIN_SLOT {
        return None;
    }
    let (index, _) = page.slot_of(address);
    if index >= (page.carved as usize).min(page.capacity as usize) {
        return None;
    }
    // SAFETY: safety mode keeps metadata for every slot; `index < capacity`.
    let meta = unsafe { page.meta(index) };
    if meta.state.load(Ordering::Acquire) != SLOT_QUARANTINED {
        return None;
    }
    let start = page.slot_address(index);
    let kind = match access {
        Some(Access::Write) => FindingKind::WriteAfterFree,
        _ => FindingKind::ReadAfterFree,
    };
    let mut finding = RawFinding::new(kind, start);
    meta.describe_block(&mut finding);
    finding.access = access;
    finding.access_size = access_size;
    finding.offset = Some(address as isize - start as isize);
    Some((finding, segment.common.gpa_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpa::small::tests::checked;
    use crate::gpa::{Check, GeneralPurposeAllocator};

    fn alloc(gpa: &GeneralPurposeAllocator, size: usize, fill: u8) -> usize {
        let block = gpa.allocator().raw_alloc(size, 8).unwrap();
        // SAFETY: a fresh block of `size` bytes.
        unsafe { block.as_ptr().write_bytes(fill, size) };
        block.as_ptr() as usize
    }

    fn free(gpa: &GeneralPurposeAllocator, at: usize, size: usize) {
        // SAFETY: the caller's live block of this layout, freed once.
        unsafe {
            gpa.allocator()
                .raw_free(NonNull::new(at as *mut u8).unwrap(), size, 8)
        };
    }

    /// The interior starts past the head kept for the neighbour checks (and on a page), ends
    /// on the slot's last page boundary, and is most of the slot.
    #[test]
    fn the_interior_is_the_whole_pages_past_the_head() {
        for start in [
            0x10_0000usize,
            0x10_0000 + 64,
            0x10_0000 + 3000,
            0x10_0000 + 4000,
        ] {
            for len in [MIN_SLOT, 80 * 1024, 112 * 1024 + 16, 128 * 1024] {
                let (low, high) = interior(start, len).unwrap();
                assert!(
                    low >= start + HEAD_KEEP && low % PAGE == 0,
                    "{start:#x} {len}"
                );
                assert!(
                    high <= start + len && start + len - high < PAGE,
                    "{start:#x} {len}"
                );
                assert!(low - start < HEAD_KEEP + PAGE, "{start:#x} {len}");
            }
        }
        assert_eq!(interior(0x10_0000, PAGE), None);
    }

    /// A freed 64 KiB block: its interior is inaccessible while quarantined, a read or write
    /// there is attributed to it as a use after free (offset, size, traces), its first page
    /// holds poison; once out of the quarantine everything is accessible again and the slot
    /// serves a new block whose whole memory can be written; the neighbour checks of the
    /// block before it (at its free and at `deinit`) see nothing in the freed slot.
    #[test]
    fn a_quarantined_64_kib_block_keeps_its_interior_inaccessible_until_evicted() {
        let mut gpa = checked();
        let size = 65536;
        let before = alloc(&gpa, size, b'b');
        let block = alloc(&gpa, size, b'x');
        let after = alloc(&gpa, size, b'c');
        free(&gpa, block, size);
        assert!(protected_count() >= 1);
        let middle = block + 30_000;
        assert!(!os::readable(middle), "the interior is accessible");
        assert!(os::readable(block + 100));
        // SAFETY: the freed block's first bytes: its head, accessible and poisoned.
        assert_eq!(unsafe { *((block + 100) as *const u8) }, safety::POISON);
        for (access, kind) in [
            (Access::Read, FindingKind::ReadAfterFree),
            (Access::Write, FindingKind::WriteAfterFree),
        ] {
            let finding = gpa
                .fault_finding(middle, Some(access), 4, false, None)
                .unwrap();
            assert_eq!(finding.kind, kind);
            assert_eq!((finding.address, finding.size), (block, size));
            assert_eq!(finding.offset, Some(30_000));
            assert_eq!(finding.access_size, 4);
            assert_ne!(finding.alloc_trace, crate::trace::TraceId::NONE);
            assert_ne!(finding.free_trace, crate::trace::TraceId::NONE);
        }
        gpa.flush_thread_quarantine();
        assert!(os::readable(middle));
        // (A fault there now would be about the nearest live block, not this one.)
        let now = gpa.fault_finding(middle, Some(Access::Read), 1, false, None);
        assert!(
            now.is_none_or(|f| f.kind != FindingKind::ReadAfterFree),
            "{now:?}"
        );
        // The slot again, written whole, freed: clean.
        let again = alloc(&gpa, size, b'y');
        assert_eq!(again, block);
        free(&gpa, again, size);
        free(&gpa, before, size);
        gpa.flush_thread_quarantine();
        free(&gpa, after, size);
        assert!(gpa.report().is_clean(), "{:?}", gpa.report());
        assert_eq!(gpa.deinit(), Check::Ok);
    }

    /// A write into the poisoned head (or tail) of a protected block is still found as it
    /// leaves the quarantine, at its offset.
    #[test]
    fn a_write_into_the_head_of_a_protected_block_is_found_at_its_eviction() {
        let mut gpa = checked();
        let size = 100_000;
        let block = alloc(&gpa, size, b'x');
        free(&gpa, block, size);
        assert!(!os::readable(block + 50_000));
        // SAFETY: a write after free into the block's head (accessible, poisoned).
        unsafe { ((block + 100) as *mut u8).write(7) };
        gpa.flush_thread_quarantine();
        let report = gpa.report();
        let found: Vec<_> = report.of_kind(FindingKind::WriteAfterFree).collect();
        assert_eq!(found.len(), 1, "{report:?}");
        assert_eq!((found[0].address, found[0].size), (block, size));
        assert_eq!(found[0].offset, Some(100));
        drop(found);
        drop(report);
        assert_eq!(gpa.deinit(), Check::Ok);
    }

    /// Blocks in slots under sixteen pages are poisoned whole, as before.
    #[test]
    fn blocks_under_sixteen_pages_are_poisoned_whole() {
        let mut gpa = checked();
        let size = 16 * 1024;
        let block = alloc(&gpa, size, b'x');
        free(&gpa, block, size);
        assert!(os::readable(block + size / 2));
        // SAFETY: the freed block, accessible and poisoned.
        let bytes = unsafe { core::slice::from_raw_parts(block as *const u8, size) };
        assert!(bytes.iter().all(|&b| b == safety::POISON));
        assert!(gpa
            .fault_finding(block + size / 2, Some(Access::Read), 1, false, None)
            .is_none());
        gpa.flush_thread_quarantine();
        assert_eq!(gpa.deinit(), Check::Ok);
    }
}
