//! The page map: from any address to the GPA segment that contains it, in two loads.
//!
//! # Design
//! A process-wide two-level radix table over the 48-bit address space at segment granularity
//! (snmalloc's pagemap): `TOP[index >> 13]` points to a leaf of 8192 entries, each holding the
//! base address of the segment that covers that 4 MiB chunk, or 0. Leaves are mapped from the OS
//! on first use and never freed, so a reader can never see a dangling leaf. It answers "is this
//! pointer ours, and where is its metadata" for frees of arbitrary pointers (C `free`, foreign
//! pointers, pointers into the middle of a large block) without touching the pointer itself.
//!
//! # Invariants
//! * An entry is non-zero exactly while the chunk belongs to a live segment (or a retained
//!   large-block header when `retain_metadata` keeps it for diagnosis).
//! * Entries are written only by the thread that owns the segment, before the segment's memory
//!   is handed out (registration) or after its last block is gone (removal), so `Acquire` loads
//!   see a fully initialized segment header.

use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use super::segment::SEGMENT_SHIFT;
use crate::os;

const ADDRESS_BITS: u32 = 48;
const LEAF_BITS: u32 = 13;
const LEAF_LEN: usize = 1 << LEAF_BITS;
const TOP_LEN: usize = 1 << (ADDRESS_BITS - SEGMENT_SHIFT - LEAF_BITS);

type Leaf = [AtomicUsize; LEAF_LEN];

static TOP: [AtomicPtr<Leaf>; TOP_LEN] = [const { AtomicPtr::new(core::ptr::null_mut()) }; TOP_LEN];

#[inline]
fn split(address: usize) -> Option<(usize, usize)> {
    let chunk = address >> SEGMENT_SHIFT;
    let top = chunk >> LEAF_BITS;
    (top < TOP_LEN).then_some((top, chunk & (LEAF_LEN - 1)))
}

/// The base of the segment covering `address`, if a GPA owns it.
#[inline]
pub fn lookup(address: usize) -> Option<usize> {
    let (top, index) = split(address)?;
    let leaf = TOP[top].load(Ordering::Acquire);
    if leaf.is_null() {
        return None;
    }
    // SAFETY: leaves are never freed once installed (module invariant).
    let base = unsafe { (*leaf)[index].load(Ordering::Acquire) };
    (base != 0).then_some(base)
}

#[cold]
fn install_leaf(top: usize) -> Option<*mut Leaf> {
    let fresh = os::map(core::mem::size_of::<Leaf>())?
        .as_ptr()
        .cast::<Leaf>();
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
                os::unmap(
                    core::ptr::NonNull::new_unchecked(fresh.cast()),
                    core::mem::size_of::<Leaf>(),
                )
            };
            Some(winner)
        }
    }
}

/// Records that `[start, start + len)` belongs to the segment at `base` (`0` removes it).
/// Returns `false` when a leaf could not be mapped (the caller then gives the memory back).
pub fn set_range(start: usize, len: usize, base: usize) -> bool {
    let first = start >> SEGMENT_SHIFT;
    let last = (start + len - 1) >> SEGMENT_SHIFT;
    for chunk in first..=last {
        let Some((top, index)) = split(chunk << SEGMENT_SHIFT) else {
            return false;
        };
        let mut leaf = TOP[top].load(Ordering::Acquire);
        if leaf.is_null() {
            if base == 0 {
                continue;
            }
            match install_leaf(top) {
                Some(installed) => leaf = installed,
                None => return false,
            }
        }
        // SAFETY: leaves are never freed once installed.
        unsafe { (*leaf)[index].store(base, Ordering::Release) };
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_lookup_and_clear() {
        let base = 0x7000_0000_0000usize + (123 << SEGMENT_SHIFT);
        assert!(set_range(base, 3 << SEGMENT_SHIFT, base));
        assert_eq!(lookup(base), Some(base));
        assert_eq!(lookup(base + (2 << SEGMENT_SHIFT) + 5), Some(base));
        assert_eq!(lookup(base + (3 << SEGMENT_SHIFT)), None);
        assert!(set_range(base, 3 << SEGMENT_SHIFT, 0));
        assert_eq!(lookup(base + 1), None);
        assert_eq!(lookup(usize::MAX), None);
    }
}
