//! The GPA's record of findings: one entry per block up to a bound, then one per site.
//!
//! # Design
//! Every finding the GPA makes (an overflow found at `free`, a double free, a write after
//! free found when an allocation takes the freed block's slot again...) is kept as a [`RawFinding`] until it is
//! reported, so that the report can say which block it was and `gpa run` can tell a finding
//! the GPA made from the same mistake seen by a checked libc call (matched by block address).
//! A program that makes one mistake in a loop would otherwise grow this record without
//! bound: a 1-byte overflow of each of ten million blocks, each found at its `free`, is ten
//! million entries of about 200 bytes, and such a program ran out of memory under check mode
//! where Valgrind reports one error context with its count.
//!
//! So the first [`KEPT_APART`] findings are kept one per block, as before. After that, a
//! finding whose *site* (kind, access and the allocation, free and detection traces: what
//! the report groups by, after Valgrind's error contexts) is already in the record is counted
//! on that entry (`count`, and `blocks_bytes` for the bytes of all its blocks); only a finding
//! of a new site adds an entry. The record then grows with the program's distinct mistakes,
//! not with their repetitions, and nothing is dropped: every block is still counted in its
//! site's entry. What the bound gives up is per-block detail past it (the address of each
//! counted block), which the report shows only for a site's first block anyway.
//!
//! Sites are found through a hash map from site to entry, built the first time the bound is
//! reached: recording stays O(1) however many findings come.
//!
//! Leak findings (made by `deinit`'s leak check, already one per allocation site) are never
//! counted on another entry.
//!
//! # Invariants
//! * `sites` is `None` until `list` first reaches the bound; once built, it maps the site of
//!   every non-leak entry of `list` to the first entry of that site (every later non-leak
//!   entry is pushed by the branch that adds it to the map).
//! * Callers hold the GPA's findings lock and are inside the allocator (the map allocates
//!   from the internal heap).

use crate::report::{Access, BlockClaim, FindingKind, FixedHashMap, RawFinding};
use crate::trace::TraceId;

/// Findings kept one per block before repeats of a site are counted on its entry: about
/// 20 MiB of record at most for them.
pub const KEPT_APART: usize = 100_000;

/// What a report groups findings by: kind, access, allocation, free and detection traces.
pub type Site = (FindingKind, Option<Access>, TraceId, TraceId, TraceId);

/// The site of `finding` (see [`Site`]).
pub fn site(finding: &RawFinding) -> Site {
    (
        finding.kind,
        finding.access,
        finding.alloc_trace,
        finding.free_trace,
        finding.site_trace,
    )
}

/// The GPA's findings not yet taken (see the module notes).
pub struct Findings {
    list: Vec<RawFinding>,
    /// Built when `list` first reaches [`KEPT_APART`]: where each site's entry is.
    sites: Option<FixedHashMap<Site, usize>>,
    /// Bound on entries kept apart (a field, so that tests can lower it).
    kept_apart: usize,
    /// Block serial numbers ([`RawFinding::block`]): the last one given, and the one of the
    /// block each block metadata (by its address) last held when a finding named it, with
    /// whether that block's first finding is still to come (a later one was recorded first:
    /// see [`Self::resolve_block`]). Kept across [`Self::take`]; one entry per slot or record
    /// ever named, so bounded by the heap's metadata, not by the findings.
    serials: (u64, Option<FixedHashMap<usize, Serial>>),
}

/// A block metadata's last serial number, and whether its block's first finding is still to
/// come ([`Findings::resolve_block`]).
type Serial = (u64, bool);

impl Default for Findings {
    fn default() -> Self {
        Self::new()
    }
}

impl Findings {
    /// An empty record.
    pub const fn new() -> Self {
        Findings {
            list: Vec::new(),
            sites: None,
            kept_apart: KEPT_APART,
            serials: (0, None),
        }
    }

    /// Gives `finding` its block's serial number from its claim (see [`BlockClaim`]): a new
    /// one for the first finding on a block, the block's own for a later one. Threads claim
    /// a block's mark before they take the record's lock, so a later finding may be recorded
    /// before the first (`fence_sweep`'s `gwp_recoverable` threads, which free one block 100
    /// times at once: 2 blocks in the clean-clone CI of stop 50): a later finding on a
    /// metadata never seen gets a new serial marked as waiting for its first finding, which
    /// then takes it.
    fn resolve_block(&mut self, finding: &mut RawFinding) {
        let (last, serials) = &mut self.serials;
        let serials = serials.get_or_insert_with(FixedHashMap::default);
        let serial = match finding.block_claim {
            BlockClaim::None => return,
            BlockClaim::First(key) => match serials.get(&key) {
                Some(&(serial, true)) => {
                    serials.insert(key, (serial, false));
                    serial
                }
                _ => {
                    *last += 1;
                    serials.insert(key, (*last, false));
                    *last
                }
            },
            BlockClaim::Again(key) => match serials.get(&key) {
                Some(&(serial, _)) => serial,
                None => {
                    *last += 1;
                    serials.insert(key, (*last, true));
                    *last
                }
            },
        };
        finding.block = serial;
        finding.block_claim = BlockClaim::None;
    }

    /// Records `finding`: its own entry while the record is under the bound or its site is
    /// new, else counted on its site's entry.
    pub fn push(&mut self, mut finding: RawFinding) {
        self.resolve_block(&mut finding);
        if self.list.len() < self.kept_apart || finding.kind == FindingKind::Leak {
            // Under the bound `sites` is not built yet; leaks are never in it.
            self.list.push(finding);
            return;
        }
        let list = &self.list;
        let sites = self.sites.get_or_insert_with(|| {
            let mut sites = FixedHashMap::default();
            for (index, kept) in list.iter().enumerate() {
                if kept.kind != FindingKind::Leak {
                    sites.entry(site(kept)).or_insert(index);
                }
            }
            sites
        });
        match sites.get(&site(&finding)) {
            Some(&index) => {
                let entry = &mut self.list[index];
                let bytes = entry.bytes() + finding.bytes();
                entry.count += finding.count;
                entry.blocks_bytes = bytes;
            }
            None => {
                sites.insert(site(&finding), self.list.len());
                self.list.push(finding);
            }
        }
    }

    /// The findings recorded, in order.
    pub fn as_slice(&self) -> &[RawFinding] {
        &self.list
    }

    /// The findings recorded, taken: the record is empty again.
    pub fn take(&mut self) -> Vec<RawFinding> {
        self.sites = None;
        core::mem::take(&mut self.list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn overflow(address: usize, size: usize, alloc: u32) -> RawFinding {
        let mut finding = RawFinding::new(FindingKind::Overflow, address);
        finding.size = size;
        finding.alloc_trace = TraceId(alloc);
        finding.site_trace = TraceId(alloc + 100);
        finding
    }

    /// Under the bound every block has its entry; past it, a known site's findings are
    /// counted on its first entry (blocks and bytes exact), a new site still gets its own.
    #[test]
    fn past_the_bound_repeats_are_counted_on_their_site_and_new_sites_kept() {
        let mut record = Findings {
            kept_apart: 4,
            ..Findings::new()
        };
        for block in 0..4 {
            record.push(overflow(0x1000 + block * 16, 8, 1));
        }
        assert_eq!(record.as_slice().len(), 4);
        for block in 4..1000 {
            record.push(overflow(0x1000 + block * 16, 8 + block % 3, 1));
        }
        // A new site after a thousand repeats of the first one is still reported.
        record.push(overflow(0x9000, 24, 2));
        let mut leak = RawFinding::new(FindingKind::Leak, 0xa000);
        leak.alloc_trace = TraceId(1);
        record.push(leak);
        record.push(leak);
        let taken = record.take();
        assert_eq!(taken.len(), 4 + 1 + 2);
        let first = &taken[0];
        assert_eq!(first.count, 1 + 996);
        let repeats: usize = (4..1000).map(|block| 8 + block % 3).sum();
        assert_eq!(first.bytes(), 8 + repeats);
        assert!(taken[1..4]
            .iter()
            .all(|kept| kept.count == 1 && kept.bytes() == 8));
        assert_eq!((taken[4].address, taken[4].count), (0x9000, 1));
        assert_eq!(taken[5].kind, FindingKind::Leak);
        assert_eq!(taken[6].kind, FindingKind::Leak);
        // Rendered (the Rust API's report), the counted finding says how many blocks and
        // gives their bytes.
        let mut counted = taken[0];
        counted.alloc_trace = TraceId::NONE;
        counted.site_trace = TraceId::NONE;
        let rendered = crate::report::render(&counted, 0);
        assert_eq!((rendered.count, rendered.size), (997, 8 + repeats));
        assert!(rendered
            .message
            .ends_with("(and 996 more block(s) from the same allocation site)"));
        // Taken: the record starts over, under the bound again.
        record.push(overflow(0x1000, 8, 1));
        record.push(overflow(0x1010, 8, 1));
        assert_eq!(record.take().len(), 2);
    }

    /// A block's findings share one serial number; the metadata's next block (its mark
    /// cleared by the allocation: a first claim again) gets a new one, and so does a block
    /// of other metadata; findings that name no block keep 0.
    #[test]
    fn findings_on_one_block_share_its_serial_and_a_reused_slot_gets_a_new_one() {
        let mut record = Findings::new();
        let mark = core::sync::atomic::AtomicU8::new(0);
        let other = core::sync::atomic::AtomicU8::new(0);
        let claimed = |mark: &core::sync::atomic::AtomicU8, key: usize| {
            let mut finding = RawFinding::new(FindingKind::DoubleFree, 0x1000);
            finding.block_claim = BlockClaim::on(mark, key);
            finding
        };
        for _ in 0..3 {
            record.push(claimed(&mark, 1));
        }
        record.push(claimed(&other, 2));
        record.push(RawFinding::new(FindingKind::InvalidFree, 0x2000));
        // The slot's block freed and allocated again: the allocation clears the mark.
        mark.store(0, core::sync::atomic::Ordering::Relaxed);
        record.push(claimed(&mark, 1));
        record.push(claimed(&mark, 1));
        let blocks: Vec<u64> = record.take().iter().map(|finding| finding.block).collect();
        assert_eq!(blocks, [1, 1, 1, 2, 0, 3, 3]);
        assert!(record.as_slice().is_empty());
        // Kept across a take: the block named again keeps its serial.
        record.push(claimed(&mark, 1));
        assert_eq!(record.take()[0].block, 3);
    }

    /// A later finding on a block recorded before its first (two threads' frees of one
    /// block: the second claims the mark after the first but takes the lock before it): both
    /// name one block, and the metadata's next block a new one.
    #[test]
    fn a_first_finding_recorded_after_a_later_one_names_the_same_block() {
        let mut record = Findings::new();
        let key = 0x4000;
        let finding = |claim| {
            let mut finding = RawFinding::new(FindingKind::DoubleFree, 0x1000);
            finding.block_claim = claim;
            finding
        };
        record.push(finding(BlockClaim::Again(key)));
        record.push(finding(BlockClaim::First(key)));
        record.push(finding(BlockClaim::Again(key)));
        // The metadata's next block.
        record.push(finding(BlockClaim::First(key)));
        let blocks: Vec<u64> = record.take().iter().map(|finding| finding.block).collect();
        assert_eq!(blocks, [1, 1, 1, 2]);
    }
}
