//! The block of the program's heap at an address, for checks of the ranges a program hands to
//! libc's memory and string functions (`capi::libc_calls`).
//!
//! # Design
//! [`GeneralPurposeAllocator::heap_block_at`] is [`GeneralPurposeAllocator::block_containing_located`]
//! behind one page-map load: an address no GPA segment, large block or guarded area covers
//! (a stack, a static, libc's own heap, a mapping of the program's) is rejected in a few
//! instructions, before any header is read. Blocks of the internal heap (requests made while
//! gpa was busy) are not the program's and are never returned.
//!
//! # Invariants
//! * Never reads the memory at the address, takes no lock and does not allocate.

use super::{pagemap, BlockSpan, GeneralPurposeAllocator};

impl GeneralPurposeAllocator {
    /// The block (live, or freed and still in the quarantine) of this GPA's segments, large
    /// mappings or guarded areas whose memory holds `address`: its start, requested size and
    /// alignment, liveness and traces, in the GPA's terms (a front guard a caller adds is part
    /// of the block). `None` quickly for memory no GPA manages; `None` without safety.
    #[inline]
    pub(crate) fn heap_block_at(&self, address: usize) -> Option<BlockSpan> {
        pagemap::lookup(address)?;
        let (span, _) = self.block_containing_located(address)?;
        // The internal heap's blocks carry no tag: gpa's own, not the program's.
        span.tag.map(|_| span)
    }
}
