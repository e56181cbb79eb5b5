//! Loss records: the judged blocks grouped by loss kind and allocation stack, with the totals
//! of a leak summary, as memcheck prints them.
//!
//! # Design
//! A loss record is every block of one [`LeakKind`] allocated from one interned trace (the
//! same stack, frame for frame: memcheck's `--leak-resolution=high`). Its bytes are the
//! blocks' own (*direct*) bytes; a definitely lost record also carries the *indirect* bytes of
//! the blocks lost only through its blocks. Records are ordered by kind (definitely lost
//! first, so the record holding indirect blocks comes before theirs), then by total bytes,
//! largest first, and numbered in that order ("loss record 1 of 7").
//!
//! # Invariants
//! * Summed over all records, direct bytes and blocks equal those of the judged blocks; the
//!   indirect bytes of definite records equal the direct bytes of the indirect records.

use super::graph::Judged;
use crate::report::{FindingKind, LeakKind, RawFinding};
use crate::trace::TraceId;

/// A set of loss kinds: memcheck's `--show-leak-kinds`, `--errors-for-leak-kinds` and a
/// suppression's `match-leak-kinds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KindSet(u8);

impl KindSet {
    /// Every kind.
    pub const ALL: KindSet = KindSet(0b1111);
    /// No kind.
    pub const NONE: KindSet = KindSet(0);
    /// Memcheck's default for shown kinds and for kinds that count as errors.
    pub const DEFINITE_POSSIBLE: KindSet = KindSet(1 | 1 << 2);

    const fn bit(kind: LeakKind) -> u8 {
        1 << kind as u8
    }

    /// Whether `kind` is in the set.
    pub const fn contains(self, kind: LeakKind) -> bool {
        self.0 & Self::bit(kind) != 0
    }

    /// The set with `kind` added.
    pub const fn with(self, kind: LeakKind) -> KindSet {
        KindSet(self.0 | Self::bit(kind))
    }

    /// The set as a small number (for an environment variable).
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The set from [`KindSet::bits`].
    pub const fn from_bits(bits: u8) -> KindSet {
        KindSet(bits & 0b1111)
    }

    /// Parses memcheck's syntax: `all`, `none`, or a comma-separated list of `definite`,
    /// `indirect`, `possible`, `reachable`.
    pub fn parse(text: &str) -> Result<KindSet, String> {
        KindSet::parse_names(text).ok_or_else(|| {
            format!(
                "unknown leak kinds `{}` (expected a comma-separated list of definite, \
                 indirect, possible, reachable; or all, or none)",
                text.trim()
            )
        })
    }

    /// As [`KindSet::parse`], without allocating (for settings read before any allocator).
    pub fn parse_names(text: &str) -> Option<KindSet> {
        match text.trim() {
            "all" => return Some(KindSet::ALL),
            "none" => return Some(KindSet::NONE),
            _ => {}
        }
        text.split(',').try_fold(KindSet::NONE, |set, name| {
            let kind = match name.trim() {
                "definite" => LeakKind::Definite,
                "indirect" => LeakKind::Indirect,
                "possible" => LeakKind::Possible,
                "reachable" => LeakKind::Reachable,
                _ => return None,
            };
            Some(set.with(kind))
        })
    }

    /// The kinds, in memcheck's order.
    pub fn kinds(self) -> impl Iterator<Item = LeakKind> {
        KINDS.into_iter().filter(move |&kind| self.contains(kind))
    }

    /// The set in memcheck's syntax (`definite,possible`, `all`, `none`).
    pub fn to_names(self) -> String {
        match self {
            KindSet::ALL => "all".into(),
            KindSet::NONE => "none".into(),
            _ => self
                .kinds()
                .map(LeakKind::as_str)
                .collect::<std::vec::Vec<_>>()
                .join(","),
        }
    }
}

/// The four kinds, most severe first.
pub const KINDS: [LeakKind; 4] = [
    LeakKind::Definite,
    LeakKind::Indirect,
    LeakKind::Possible,
    LeakKind::Reachable,
];

/// The blocks of one kind allocated from one stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LossRecord {
    /// The blocks' loss kind.
    pub kind: LeakKind,
    /// Where they were allocated.
    pub alloc_trace: TraceId,
    /// How many blocks.
    pub blocks: usize,
    /// Their own bytes.
    pub bytes: usize,
    /// Bytes of the blocks lost only through these (definitely lost records).
    pub indirect_bytes: usize,
    /// How many blocks are lost only through these.
    pub indirect_blocks: usize,
    /// The lowest address of the record's blocks.
    pub first_address: usize,
}

impl LossRecord {
    /// Direct and indirect bytes together.
    pub fn total_bytes(&self) -> usize {
        self.bytes + self.indirect_bytes
    }

    /// Memcheck's header line: `187 (24 direct, 163 indirect) bytes in 1 blocks are
    /// definitely lost in loss record 1 of 3` (sizes with thousands separators).
    pub fn header(&self, number: usize, of: usize) -> String {
        let bytes = if self.indirect_bytes != 0 {
            format!(
                "{} ({} direct, {} indirect)",
                thousands(self.total_bytes()),
                thousands(self.bytes),
                thousands(self.indirect_bytes)
            )
        } else {
            thousands(self.bytes)
        };
        format!(
            "{bytes} bytes in {} blocks are {} in loss record {} of {}",
            thousands(self.blocks),
            self.kind.describe(),
            thousands(number),
            thousands(of)
        )
    }

    /// The record as a raw `leak` finding (size: direct plus indirect bytes).
    pub(crate) fn to_raw_finding(self) -> RawFinding {
        let mut finding = RawFinding::new(FindingKind::Leak, self.first_address);
        finding.size = self.total_bytes();
        finding.count = self.blocks;
        finding.alloc_trace = self.alloc_trace;
        finding.leak_kind = Some(self.kind);
        finding.indirect_bytes = self.indirect_bytes;
        finding.indirect_blocks = self.indirect_blocks;
        finding
    }
}

/// Groups judged blocks into loss records, in report order (see the module docs). Blocks
/// without a trace each make a record of their own.
pub fn loss_records(judged: &[Judged]) -> std::vec::Vec<LossRecord> {
    let mut order: std::vec::Vec<usize> = (0..judged.len()).collect();
    order.sort_unstable_by_key(|&i| (judged[i].kind, judged[i].block.alloc_trace.0, i));
    let mut records: std::vec::Vec<LossRecord> = std::vec::Vec::new();
    for i in order {
        let block = &judged[i];
        match records.last_mut() {
            Some(record)
                if record.kind == block.kind
                    && record.alloc_trace == block.block.alloc_trace
                    && block.block.alloc_trace.is_some() =>
            {
                record.blocks += 1;
                record.bytes += block.block.size;
                record.indirect_bytes += block.indirect_bytes;
                record.indirect_blocks += block.indirect_blocks;
                record.first_address = record.first_address.min(block.block.address);
            }
            _ => records.push(LossRecord {
                kind: block.kind,
                alloc_trace: block.block.alloc_trace,
                blocks: 1,
                bytes: block.block.size,
                indirect_bytes: block.indirect_bytes,
                indirect_blocks: block.indirect_blocks,
                first_address: block.block.address,
            }),
        }
    }
    records.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then(b.total_bytes().cmp(&a.total_bytes()))
            .then(b.blocks.cmp(&a.blocks))
            .then(a.first_address.cmp(&b.first_address))
    });
    records
}

/// Blocks and bytes of one kind (or of the suppressed records).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amount {
    /// Blocks.
    pub blocks: usize,
    /// Bytes (direct: a definitely lost record's indirect bytes count as indirectly lost).
    pub bytes: usize,
}

/// A leak summary: memcheck's five lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Definitely lost.
    pub definite: Amount,
    /// Indirectly lost.
    pub indirect: Amount,
    /// Possibly lost.
    pub possible: Amount,
    /// Still reachable.
    pub reachable: Amount,
    /// In suppressed records (not counted above).
    pub suppressed: Amount,
}

impl Totals {
    /// The amount of `kind`.
    pub fn of(&self, kind: LeakKind) -> Amount {
        match kind {
            LeakKind::Definite => self.definite,
            LeakKind::Indirect => self.indirect,
            LeakKind::Possible => self.possible,
            LeakKind::Reachable => self.reachable,
        }
    }

    /// Counts one record, in its kind or as suppressed.
    pub fn add(&mut self, record: &LossRecord, suppressed: bool) {
        let amount = if suppressed {
            &mut self.suppressed
        } else {
            match record.kind {
                LeakKind::Definite => &mut self.definite,
                LeakKind::Indirect => &mut self.indirect,
                LeakKind::Possible => &mut self.possible,
                LeakKind::Reachable => &mut self.reachable,
            }
        };
        amount.blocks += record.blocks;
        amount.bytes += record.bytes;
    }

    /// The summary as text, memcheck's layout with gpa's prefix.
    pub fn to_text(self) -> String {
        let mut text = String::from("info(gpa): leak summary:\n");
        for (label, amount) in [
            ("definitely lost", self.definite),
            ("indirectly lost", self.indirect),
            ("  possibly lost", self.possible),
            ("still reachable", self.reachable),
            ("     suppressed", self.suppressed),
        ] {
            text.push_str(&format!(
                "    {label}: {} bytes in {} blocks\n",
                thousands(amount.bytes),
                thousands(amount.blocks)
            ));
        }
        text
    }

    /// The summary as JSON: `{"definite": {"blocks", "bytes"}, ...}`.
    pub fn to_json(self) -> serde_json::Value {
        let amount = |a: Amount| serde_json::json!({ "blocks": a.blocks, "bytes": a.bytes });
        serde_json::json!({
            "definite": amount(self.definite),
            "indirect": amount(self.indirect),
            "possible": amount(self.possible),
            "reachable": amount(self.reachable),
            "suppressed": amount(self.suppressed),
        })
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(value: usize) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index != 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpa::LiveBlock;

    fn judged(address: usize, size: usize, trace: u32, kind: LeakKind) -> Judged {
        Judged {
            block: LiveBlock {
                address,
                size,
                alloc_trace: TraceId(trace),
                serial: 0,
            },
            kind,
            indirect_bytes: 0,
            indirect_blocks: 0,
            heuristic: None,
            held_by: None,
        }
    }

    #[test]
    fn records_group_by_kind_and_trace_and_sort_by_kind_then_size() {
        use LeakKind::*;
        let mut leader = judged(0x100, 24, 1, Definite);
        leader.indirect_bytes = 163;
        leader.indirect_blocks = 10;
        let blocks = [
            judged(0x200, 100, 2, Indirect),
            judged(0x300, 63, 3, Indirect),
            leader,
            judged(0x400, 5, 4, Reachable),
            judged(0x500, 7, 4, Reachable),
            judged(0x600, 1000, 5, Possible),
            judged(0x700, 8, 0, Definite),
            judged(0x800, 8, 0, Definite),
        ];
        let records = loss_records(&blocks);
        let summary: std::vec::Vec<_> = records
            .iter()
            .map(|r| (r.kind, r.blocks, r.bytes, r.indirect_bytes))
            .collect();
        assert_eq!(
            summary,
            [
                (Definite, 1, 24, 163),
                (Definite, 1, 8, 0),
                (Definite, 1, 8, 0),
                (Indirect, 1, 100, 0),
                (Indirect, 1, 63, 0),
                (Possible, 1, 1000, 0),
                (Reachable, 2, 12, 0),
            ]
        );
        assert_eq!(
            records[0].header(1, 7),
            "187 (24 direct, 163 indirect) bytes in 1 blocks are definitely lost in loss record 1 of 7"
        );
        assert_eq!(
            records[6].header(7, 7),
            "12 bytes in 2 blocks are still reachable in loss record 7 of 7"
        );
        let mut totals = Totals::default();
        for (index, record) in records.iter().enumerate() {
            totals.add(record, index == 5);
        }
        assert_eq!(
            totals.definite,
            Amount {
                blocks: 3,
                bytes: 40
            }
        );
        assert_eq!(
            totals.indirect,
            Amount {
                blocks: 2,
                bytes: 163
            }
        );
        assert_eq!(totals.possible, Amount::default());
        assert_eq!(
            totals.suppressed,
            Amount {
                blocks: 1,
                bytes: 1000
            }
        );
        let raw = records[0].to_raw_finding();
        assert_eq!((raw.size, raw.indirect_bytes, raw.count), (187, 163, 1));
    }

    #[test]
    fn kind_sets_parse_like_memcheck() {
        assert_eq!(KindSet::parse("all"), Ok(KindSet::ALL));
        assert_eq!(KindSet::parse("none"), Ok(KindSet::NONE));
        assert_eq!(
            KindSet::parse("definite,possible"),
            Ok(KindSet::DEFINITE_POSSIBLE)
        );
        let set = KindSet::parse("indirect, reachable").unwrap();
        assert!(set.contains(LeakKind::Indirect) && set.contains(LeakKind::Reachable));
        assert!(!set.contains(LeakKind::Definite));
        assert!(KindSet::parse("definitely").is_err());
        assert_eq!(KindSet::from_bits(set.bits()), set);
        assert_eq!(set.to_names(), "indirect,reachable");
        assert_eq!(KindSet::DEFINITE_POSSIBLE.to_names(), "definite,possible");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(52385), "52,385");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
