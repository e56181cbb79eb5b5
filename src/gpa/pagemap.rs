//! The page map: from any address to the GPA segment or large block that contains it, in two
//! loads.
//!
//! # Design
//! A process-wide two-level radix table over the 48-bit address space at segment granularity
//! (snmalloc's pagemap): `TOP[index >> 13]` points to a leaf of 8192 entries, each describing
//! the 4 MiB chunk it stands for, or 0. Leaves are mapped from the OS on first use, between
//! guard regions, and never freed, so a reader can never see a dangling leaf. It answers "is
//! this pointer ours, and where is its metadata" for frees of arbitrary pointers (C `free`,
//! foreign pointers, pointers into the middle of a large block) without touching the pointer
//! itself.
//!
//! An entry is a tagged word: `segment base | TAG_SMALL` for the one chunk of a small
//! segment, `header address | TAG_LARGE` for each chunk of a large block (its header lives in
//! the internal heap), `area address | TAG_GUARDED` for each chunk of a guarded area. [`lookup`] validates an entry before anyone follows it: a small entry
//! must name the chunk it is stored for, a large entry a live metadata block of the internal heap,
//! a guarded entry a live guarded area (`guarded::is_area`).
//! Anything else (an entry damaged by a stray write, an unknown tag) reads as "not ours".
//!
//! # Invariants
//! * An entry is non-zero exactly while the chunk belongs to a live segment or to a large
//!   block whose header is kept (live, quarantined after its free, or retained).
//! * Entries are written only by the thread that owns the segment, before the segment's memory
//!   is handed out (registration) or after its last block is gone (removal), so `Acquire` loads
//!   see a fully initialized header.

use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use super::guarded::{self, Area};
use super::internal;
use super::large::LargeBlock;
use super::segment::{Segment, SEGMENT_SHIFT, SEGMENT_SIZE};
use crate::os;

const ADDRESS_BITS: u32 = 48;
const LEAF_BITS: u32 = 13;
const LEAF_LEN: usize = 1 << LEAF_BITS;
const TOP_LEN: usize = 1 << (ADDRESS_BITS - SEGMENT_SHIFT - LEAF_BITS);
/// Inaccessible bytes on each side of a leaf.
const LEAF_GUARD: usize = 4 << 20;

/// The low bits of an entry that hold its tag (headers are 16-byte aligned).
const TAG_MASK: usize = 0xf;
/// Tag of a small segment's chunk.
const TAG_SMALL: usize = 1;
/// Tag of a large block's chunk.
const TAG_LARGE: usize = 2;
/// Tag of a guarded area's chunk.
const TAG_GUARDED: usize = 3;

type Leaf = [AtomicUsize; LEAF_LEN];

static TOP: [AtomicPtr<Leaf>; TOP_LEN] = [const { AtomicPtr::new(core::ptr::null_mut()) }; TOP_LEN];

/// What a chunk belongs to, as the page map says (validated, see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// A small segment; its header (not yet checked for its owner).
    Small(*mut Segment),
    /// A large block; its header in the internal heap.
    Large(*mut LargeBlock),
    /// A guarded area; its header at the start of its reservation.
    Guarded(*const Area),
}

/// Calls `visit` with each leaf's bytes (`[start, end)`): tagged words naming segments,
/// large blocks' headers and guarded areas, gpa's bookkeeping that a conservative leak scan
/// must not take for the program's pointers.
pub fn for_each_leaf(visit: &mut dyn FnMut(usize, usize)) {
    for leaf in &TOP {
        let leaf = leaf.load(Ordering::Acquire) as usize;
        if leaf != 0 {
            visit(leaf, leaf + core::mem::size_of::<Leaf>());
        }
    }
}

#[inline]
fn split(address: usize) -> Option<(usize, usize)> {
    let chunk = address >> SEGMENT_SHIFT;
    let top = chunk >> LEAF_BITS;
    (top < TOP_LEN).then_some((top, chunk & (LEAF_LEN - 1)))
}

#[inline]
fn raw(address: usize) -> usize {
    let Some((top, index)) = split(address) else {
        return 0;
    };
    let leaf = TOP[top].load(Ordering::Acquire);
    if leaf.is_null() {
        return 0;
    }
    // SAFETY: leaves are never freed once installed (module invariant).
    unsafe { (*leaf)[index].load(Ordering::Acquire) }
}

/// What the chunk covering `address` belongs to, if a GPA owns it.
#[inline]
pub fn lookup(address: usize) -> Option<Entry> {
    let entry = raw(address);
    let target = entry & !TAG_MASK;
    match entry & TAG_MASK {
        TAG_SMALL if target == address & !(SEGMENT_SIZE - 1) => {
            Some(Entry::Small(Segment::of(target)))
        }
        TAG_LARGE if internal::is_metadata(target) => Some(Entry::Large(target as *mut LargeBlock)),
        TAG_GUARDED if guarded::is_area(target) => Some(Entry::Guarded(target as *const Area)),
        _ => None,
    }
}

/// The page map's entry for `address` as the checks of libc's calls first need it
/// ([`small_segment_or`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmallOr {
    /// No entry: [`lookup`] returns `None`.
    Nothing,
    /// The small segment of the chunk (its header not yet checked for its owner), as
    /// [`lookup`] returns it.
    Small(*mut Segment),
    /// Any other entry (a large block's, a guarded area's, or one [`lookup`] rejects): ask
    /// [`lookup`].
    Other,
}

/// [`lookup`] for the common case of a small segment's chunk, tested first and in one
/// compare (the tag and the chunk's address together, where `lookup` tests the other tags
/// first); anything but no entry or a small segment's is [`SmallOr::Other`], for `lookup`
/// to validate.
#[inline(always)]
pub fn small_segment_or(address: usize) -> SmallOr {
    let entry = raw(address);
    if entry == (address & !(SEGMENT_SIZE - 1)) | TAG_SMALL {
        SmallOr::Small(Segment::of(entry & !TAG_MASK))
    } else if entry == 0 {
        SmallOr::Nothing
    } else {
        SmallOr::Other
    }
}

#[cold]
fn install_leaf(top: usize) -> Option<*mut Leaf> {
    let bytes = core::mem::size_of::<Leaf>();
    let fresh = os::map_guarded(bytes, LEAF_GUARD)?.as_ptr().cast::<Leaf>();
    match TOP[top].compare_exchange(
        core::ptr::null_mut(),
        fresh,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => Some(fresh),
        Err(winner) => {
            // SAFETY: `fresh` was mapped just above and never published.
            unsafe {
                os::unmap_guarded(
                    core::ptr::NonNull::new_unchecked(fresh.cast()),
                    bytes,
                    LEAF_GUARD,
                )
            };
            Some(winner)
        }
    }
}

/// Records that `[start, start + len)` holds `value` (`0` removes it). Returns `false` when a
/// leaf could not be mapped (the caller then gives the memory back).
fn set_range(start: usize, len: usize, value: usize) -> bool {
    let first = start >> SEGMENT_SHIFT;
    let last = (start + len - 1) >> SEGMENT_SHIFT;
    for chunk in first..=last {
        let Some((top, index)) = split(chunk << SEGMENT_SHIFT) else {
            return false;
        };
        let mut leaf = TOP[top].load(Ordering::Acquire);
        if leaf.is_null() {
            if value == 0 {
                continue;
            }
            match install_leaf(top) {
                Some(installed) => leaf = installed,
                None => return false,
            }
        }
        // SAFETY: leaves are never freed once installed.
        unsafe { (*leaf)[index].store(value, Ordering::Release) };
    }
    true
}

/// Registers the small segment at `base` (its one chunk).
pub fn register_small(base: usize) -> bool {
    debug_assert!(base % SEGMENT_SIZE == 0);
    set_range(base, SEGMENT_SIZE, base | TAG_SMALL)
}

/// Registers `[start, start + len)` as the large block whose header is `header` (a block of
/// the internal heap).
pub fn register_large(start: usize, len: usize, header: *mut LargeBlock) -> bool {
    debug_assert!(header as usize & TAG_MASK == 0);
    set_range(start, len, header as usize | TAG_LARGE)
}

/// Registers `[start, start + len)` as the guarded area whose header is at `area`.
pub fn register_guarded(start: usize, len: usize, area: *const Area) -> bool {
    debug_assert!(area as usize & TAG_MASK == 0);
    set_range(start, len, area as usize | TAG_GUARDED)
}

/// Removes `[start, start + len)` from the map.
pub fn unregister(start: usize, len: usize) {
    set_range(start, len, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_lookup_and_clear() {
        let base = 0x7000_0000_0000usize + (123 << SEGMENT_SHIFT);
        let header = internal::alloc_metadata(64, 16)
            .unwrap()
            .as_ptr()
            .cast::<LargeBlock>();
        assert!(register_large(base, 3 << SEGMENT_SHIFT, header));
        assert_eq!(lookup(base), Some(Entry::Large(header)));
        assert_eq!(
            lookup(base + (2 << SEGMENT_SHIFT) + 5),
            Some(Entry::Large(header))
        );
        assert_eq!(lookup(base + (3 << SEGMENT_SHIFT)), None);
        unregister(base, 3 << SEGMENT_SHIFT);
        assert_eq!(lookup(base + 1), None);
        assert_eq!(lookup(usize::MAX), None);
        // SAFETY: the block was allocated above and is not used any more.
        unsafe { internal::free(core::ptr::NonNull::new(header.cast()).unwrap()) };
    }

    #[test]
    fn damaged_entries_are_not_followed() {
        let base = 0x7100_0000_0000usize;
        assert!(register_small(base));
        assert_eq!(lookup(base + 5), Some(Entry::Small(Segment::of(base))));
        // An entry naming another chunk, and one naming no live internal block.
        assert!(set_range(
            base,
            SEGMENT_SIZE,
            (base + SEGMENT_SIZE) | TAG_SMALL
        ));
        assert_eq!(lookup(base + 5), None);
        assert!(set_range(base, SEGMENT_SIZE, 0x1230 | TAG_LARGE));
        assert_eq!(lookup(base + 5), None);
        assert!(set_range(base, SEGMENT_SIZE, base | 7));
        assert_eq!(lookup(base + 5), None);
        unregister(base, SEGMENT_SIZE);
    }

    /// `small_segment_or` gives `lookup`'s small segment, `Nothing` where `lookup` finds no
    /// entry, and leaves every other entry (valid or damaged) to `lookup`, at both ends of
    /// the chunk and next to it.
    #[test]
    fn the_small_segment_test_agrees_with_lookup() {
        let base = 0x7200_0000_0000usize;
        let ends = [base, base + 5, base + SEGMENT_SIZE - 1];
        for address in ends {
            assert_eq!(small_segment_or(address), SmallOr::Nothing);
            assert_eq!(lookup(address), None);
        }
        assert!(register_small(base));
        for address in ends {
            assert_eq!(small_segment_or(address), SmallOr::Small(Segment::of(base)));
            assert_eq!(lookup(address), Some(Entry::Small(Segment::of(base))));
        }
        // The chunks just before and after: no entry.
        for address in [base - 1, base + SEGMENT_SIZE] {
            assert_eq!(small_segment_or(address), SmallOr::Nothing);
            assert_eq!(lookup(address), None);
        }
        // Damaged entries (another chunk's segment, a large block's header that is no live
        // internal block, an unknown tag) and a sound large block: left to `lookup`.
        let header = internal::alloc_metadata(64, 16)
            .unwrap()
            .as_ptr()
            .cast::<LargeBlock>();
        for entry in [
            (base + SEGMENT_SIZE) | TAG_SMALL,
            (base - SEGMENT_SIZE) | TAG_SMALL,
            0x1230 | TAG_LARGE,
            base | 7,
            base,
            header as usize | TAG_LARGE,
        ] {
            assert!(set_range(base, SEGMENT_SIZE, entry));
            for address in ends {
                assert_eq!(small_segment_or(address), SmallOr::Other, "{entry:#x}");
            }
        }
        assert_eq!(lookup(base + 5), Some(Entry::Large(header)));
        unregister(base, SEGMENT_SIZE);
        assert_eq!(small_segment_or(base + 5), SmallOr::Nothing);
        // SAFETY: the block was allocated above and is not used any more.
        unsafe { internal::free(core::ptr::NonNull::new(header.cast()).unwrap()) };
    }
}
