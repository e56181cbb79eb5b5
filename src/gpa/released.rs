//! Blocks of released pages: what safety mode still knows about freed small blocks once their
//! page went back (its slots' metadata freed), so that a later double free, interior free,
//! `realloc` or faulting access of such a block is still named as the block's (Valgrind's
//! "0 bytes inside a block of size 128 free'd", with the free's and the allocation's traces).
//!
//! # Design
//! A freed small block waits in its heap's quarantine (256 KiB a thread by default), then
//! goes back on its page's free list as `SLOT_FREED`, its metadata (size, traces) kept while
//! the page lives. Once every slot of a page is free the page is released
//! (`GeneralPurposeAllocator::release_page`) and its metadata with it: a second free of one of
//! its blocks found no page and was reported as a free of memory "not allocated by this
//! allocator". Memcheck keeps freed blocks in a FIFO bounded in bytes (`--freelist-vol`,
//! 20,000,000 by default) and names any of them. Here, when a page is released, each of its
//! freed slots leaves a compact [`Record`] (24 bytes: start, size and alignment, the two
//! traces, the GPA's id) in one process-wide FIFO ring, bounded like memcheck's list by the
//! bytes of the blocks it describes ([`FREELIST_BYTES`]) and by a count ([`RECORDS`]). The
//! ring is read only where a pointer finds no block: a free or `realloc` that finds no page or
//! no block at its slot (`GeneralPurposeAllocator::invalid_free`, `report_bad_state`), and the
//! fault handler for an access to a free page unit or to unmapped space (`fault`). Nothing on
//! the allocation and free paths reads it; the page release writes it, one record per freed
//! slot, under its lock.
//!
//! Records enter at the page's release, not at each block's free, so the ring's order is the
//! pages' release order, and a block is remembered at least as long as memcheck's list would
//! keep it (memcheck counts every freed block against its bound; the ring only those of
//! released pages). A block's range is `[start, start + size + REDZONE)`: memcheck describes
//! a pointer up to its redzone (16 bytes) past a freed block's end as "N bytes after" it. An
//! address may be in several records (a page released, its units reused and released again):
//! the most recent one answers, as memcheck names the most recently freed block.
//!
//! Memory: the ring is one guarded mapping of [`RECORDS`] records (24 MiB of address space;
//! under an address-space limit L, `ulimit -v`, the largest power of two of records in L/64:
//! [`RING_SHARE`]), mapped at the first record; it wraps at a capacity that doubles only while the bounds keep
//! every record (4,096 records first), so only about as many records are resident as the
//! bounds keep at once: 20 MB of blocks of 160 bytes (a C block of 128) take 125,000 records,
//! 3 MiB; blocks of 16 bytes or less the whole 24 MiB.
//!
//! # Invariants
//! * `records[(oldest + i) % capacity]` for `i < len` are the remembered blocks, oldest first;
//!   `bytes` is the sum of their sizes, at most [`FREELIST_BYTES`] once a push returns.
//! * `chunks` has the bit (4 MiB chunk number modulo its bits) of every 4 MiB chunk that a
//!   remembered block's range touches (and maybe of chunks that no longer hold one): a lookup of an address whose chunk bit is clear finds
//!   nothing and reads no record.
//! * A leak scan takes no word of the ring's mapping for a root ([`owns`]).
//! * The ring's lock is taken by nothing that holds it (no allocation under it); the fault
//!   handler only tries it ([`try_find_any`]).

use core::sync::atomic::{AtomicUsize, Ordering};

use super::lock::Lock;
use crate::os;
use crate::trace::TraceId;

/// Bytes of freed blocks the ring describes at most: memcheck's default `--freelist-vol`.
pub const FREELIST_BYTES: usize = 20_000_000;

/// Records the ring holds at most (24 MiB of records; blocks of 16 bytes or less reach this
/// bound before [`FREELIST_BYTES`]).
pub const RECORDS: usize = 1 << 20;

/// Bytes past a remembered block's end that are still described as its (memcheck's redzone
/// of a `malloc` block).
pub const REDZONE: usize = 16;

/// Under an address-space limit (`RLIMIT_AS`), the ring's mapping takes at most this
/// fraction of it (`os::reservation_len`; docs/c_abi.md, "Address-space limits"). With the
/// whole 24 MiB under a 200 MB limit, guard mode's report of 200,000 live blocks could not
/// have its table (`rlimit_as.rs`: the program died by SIGABRT, not checked).
pub const RING_SHARE: usize = 64;

/// The ring's first capacity, in records.
const FIRST_CAPACITY: usize = 4096;

/// Bits of the chunk filter.
const CHUNK_BITS: usize = 4096;

/// A freed block whose page was released.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Remembered {
    /// The block's start.
    pub start: usize,
    /// Its requested size.
    pub size: usize,
    /// Its alignment.
    pub align: usize,
    /// Its allocation trace.
    pub alloc_trace: TraceId,
    /// The trace of its free.
    pub free_trace: TraceId,
}

/// One remembered block, packed.
#[derive(Clone, Copy)]
#[repr(C)]
struct Record {
    start: usize,
    /// The requested size (at most `u32::MAX`).
    size: u32,
    alloc_trace: u32,
    free_trace: u32,
    /// The low 24 bits of the owning GPA's id; log2 of the alignment in bits 24-29; bit 31:
    /// a large block (not counted against [`FREELIST_BYTES`]).
    gpa_align: u32,
}

const _: () = assert!(core::mem::size_of::<Record>() == 24);
const GPA_MASK: u32 = (1 << 24) - 1;
const LARGE: u32 = 1 << 31;

impl Record {
    /// The bytes it counts against [`FREELIST_BYTES`].
    fn counted(&self) -> usize {
        if self.gpa_align & LARGE != 0 {
            0
        } else {
            self.size as usize
        }
    }

    fn holds(&self, address: usize) -> bool {
        address >= self.start && address - self.start < (self.size as usize).max(1) + REDZONE
    }

    fn remembered(&self) -> Remembered {
        Remembered {
            start: self.start,
            size: self.size as usize,
            align: 1 << ((self.gpa_align >> 24) & 63),
            alloc_trace: TraceId(self.alloc_trace),
            free_trace: TraceId(self.free_trace),
        }
    }
}

/// The FIFO ring of remembered blocks (see the module docs).
pub struct Ring {
    records: *mut Record,
    /// Records the mapping holds (a power of two, at most [`RECORDS`]; 0 before it is made).
    max_records: usize,
    /// Records the ring wraps at now: a power of two, doubled (up to `max_records`) when full
    /// while the byte bound allows more, so that only as many records are ever written
    /// (resident) as the bounds keep at once.
    capacity: usize,
    oldest: usize,
    len: usize,
    bytes: usize,
    chunks: [u64; CHUNK_BITS / 64],
    /// The process's ring (its mapping is published for [`owns`]), not a test's.
    process: bool,
}

// SAFETY: the ring's mapping is owned by it and used under its lock only.
unsafe impl Send for Ring {}

/// The process's ring.
static RING: Lock<Ring> = Lock::new(Ring {
    process: true,
    ..Ring::new()
});

/// The ring's mapping (0 until made): it holds freed blocks' addresses, which a leak scan
/// must not take for the program's pointers (`GeneralPurposeAllocator::manages`).
static MAPPING: AtomicUsize = AtomicUsize::new(0);

/// The length of [`MAPPING`] in bytes.
static MAPPING_LEN: AtomicUsize = AtomicUsize::new(0);

/// Whether `address` lies in the ring's mapping.
pub fn owns(address: usize) -> bool {
    let start = MAPPING.load(Ordering::Relaxed);
    start != 0 && address.wrapping_sub(start) < MAPPING_LEN.load(Ordering::Relaxed)
}

/// The ring's lock, for `fork`'s handlers (`GeneralPurposeAllocator::fork_locks`).
pub fn fork_lock() -> &'static Lock<Ring> {
    &RING
}

/// Takes the ring's lock for a page's records ([`Ring::push`]).
pub fn lock() -> super::lock::Guard<'static, Ring> {
    RING.lock()
}

fn chunk_bit(address: usize) -> (usize, u64) {
    let chunk = (address >> 22) % CHUNK_BITS;
    (chunk / 64, 1 << (chunk % 64))
}

impl Ring {
    const fn new() -> Self {
        Ring {
            records: core::ptr::null_mut(),
            max_records: 0,
            capacity: FIRST_CAPACITY,
            oldest: 0,
            len: 0,
            bytes: 0,
            chunks: [0; CHUNK_BITS / 64],
            process: false,
        }
    }

    /// Remembers a freed block of the GPA `gpa_id`, the oldest ones leaving as the bounds
    /// require. `large`: a large block (`large`'s ring of records keeps those; this one too,
    /// for the fault handler, which knows no GPA), not counted against [`FREELIST_BYTES`].
    /// Does nothing where the ring's mapping cannot be made.
    ///
    /// Inlined: a released page pushes each of its freed slots (`remember_released`, hundreds
    /// a page), and the call's frame, with the ring's fields loaded and stored again each
    /// time, was most of a push (114 instructions a slot on bench/c/xmalloc-test, whose
    /// producers release a page of 512 slots every 512 blocks).
    #[inline(always)]
    pub fn push(&mut self, gpa_id: u64, block: Remembered, large: bool) {
        if self.records.is_null() && !self.map() {
            return;
        }
        let record = Record {
            start: block.start,
            size: block.size.min(u32::MAX as usize) as u32,
            alloc_trace: block.alloc_trace.0,
            free_trace: block.free_trace.0,
            gpa_align: (gpa_id as u32 & GPA_MASK)
                | (block.align.trailing_zeros() << 24)
                | if large { LARGE } else { 0 },
        };
        let counted = record.counted();
        if self.len == self.capacity
            && self.capacity < self.max_records
            && self.bytes + counted <= FREELIST_BYTES
        {
            self.grow();
        }
        // The capacity is a power of two (the invariant's `% capacity`, as a mask).
        let mask = self.capacity - 1;
        while self.len != 0 && (self.len == self.capacity || self.bytes + counted > FREELIST_BYTES)
        {
            // SAFETY: `oldest < capacity <= max_records` indexes the mapping; a written record
            // (invariant).
            let oldest = unsafe { &*self.records.add(self.oldest) };
            self.bytes -= oldest.counted();
            self.oldest = (self.oldest + 1) & mask;
            self.len -= 1;
        }
        let index = (self.oldest + self.len) & mask;
        // SAFETY: `index < capacity <= max_records` indexes the mapping, which is ours.
        unsafe { self.records.add(index).write(record) };
        self.len += 1;
        self.bytes += counted;
        // Every chunk the block's range touches (a large block's spans many; all of them once
        // it spans the whole filter).
        let first = block.start >> 22;
        let last = (block.start + record.size as usize + REDZONE) >> 22;
        for chunk in first..=last.min(first + CHUNK_BITS) {
            let (word, bit) = chunk_bit(chunk << 22);
            self.chunks[word] |= bit;
        }
    }

    /// Makes the ring's mapping (at the first push): whether it is there now.
    #[cold]
    #[inline(never)]
    fn map(&mut self) -> bool {
        let size = core::mem::size_of::<Record>();
        let fits = os::reservation_len(RECORDS * size, RING_SHARE) / size;
        // The largest power of two of records that fits (capacities double).
        let max_records = 1 << fits.max(1).ilog2();
        let bytes = max_records * size;
        match os::map_guarded(bytes, os::page_size()) {
            Some(memory) => {
                self.records = memory.as_ptr().cast();
                self.max_records = max_records;
                self.capacity = self.capacity.min(max_records);
                if self.process {
                    MAPPING_LEN.store(bytes, Ordering::Relaxed);
                    MAPPING.store(memory.as_ptr() as usize, Ordering::Relaxed);
                }
                true
            }
            None => false,
        }
    }

    /// Doubles the capacity of a full ring: the records that wrapped to the front move to
    /// just after the old end, so that they follow the others again.
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let old = self.capacity;
        let wrapped = (self.oldest + self.len).saturating_sub(old);
        // SAFETY: `[0, wrapped)` and `[old, old + wrapped)` lie in the mapping (`wrapped <=
        // old`, `2 * old <= max_records`) and do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(self.records, self.records.add(old), wrapped) };
        self.capacity = 2 * old;
    }

    /// The most recent remembered block whose range holds `address`, of the GPA `gpa_id` (any
    /// GPA: `None`), with the id's low 32 bits.
    fn find(&self, gpa_id: Option<u64>, address: usize) -> Option<(u32, Remembered)> {
        let (word, bit) = chunk_bit(address);
        if self.len == 0 || self.chunks[word] & bit == 0 {
            return None;
        }
        (1..=self.len).find_map(|age| {
            let index = (self.oldest + self.len - age) % self.capacity;
            // SAFETY: the `len` records from `oldest` are written (invariant).
            let record = unsafe { &*self.records.add(index) };
            let gpa = record.gpa_align & GPA_MASK;
            (record.holds(address) && gpa_id.is_none_or(|id| gpa == id as u32 & GPA_MASK))
                .then(|| (gpa, record.remembered()))
        })
    }

    /// Blocks remembered now, and the bytes they count (tests).
    #[cfg(test)]
    pub fn extent(&self) -> (usize, usize) {
        (self.len, self.bytes)
    }
}

/// The most recent freed block of released pages of the GPA `gpa_id` whose range holds
/// `address`.
pub fn find(gpa_id: u64, address: usize) -> Option<Remembered> {
    RING.lock()
        .find(Some(gpa_id), address)
        .map(|(_, block)| block)
}

/// [`find`] for the fault handler: of any GPA (with the id's low 24 bits), and only if the
/// ring's lock is free within a few attempts (the interrupted thread may hold it).
pub fn try_find_any(address: usize) -> Option<(u32, Remembered)> {
    RING.try_lock(64)?.find(None, address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(start: usize, size: usize) -> Remembered {
        Remembered {
            start,
            size,
            align: 16,
            alloc_trace: TraceId(7),
            free_trace: TraceId(9),
        }
    }

    /// The ring forgets its oldest blocks once their bytes pass memcheck's bound, answers with
    /// the most recent block at an address, for its own GPA only, and counts no large block.
    #[test]
    fn the_ring_keeps_the_last_twenty_megabytes_of_blocks_newest_first() {
        let mut ring = Ring::new();
        let base = 0x7000_0000_0000usize;
        let size = 100_000;
        let count = FREELIST_BYTES / size;
        for index in 0..count {
            ring.push(3, block(base + index * 0x20000, size), false);
        }
        assert_eq!(ring.extent(), (count, count * size));
        assert_eq!(ring.find(Some(3), base + 8), Some((3, block(base, size))));
        // One more block: the oldest leaves.
        ring.push(3, block(base + count * 0x20000, size), false);
        assert_eq!(ring.extent(), (count, count * size));
        assert_eq!(ring.find(Some(3), base + 8), None);
        let second = base + 0x20000;
        assert_eq!(ring.find(Some(3), second).map(|(_, b)| b.size), Some(size));
        // A pointer up to memcheck's redzone past the end still names the block.
        assert!(ring.find(Some(3), second + size + REDZONE - 1).is_some());
        assert!(ring.find(Some(3), second + size + REDZONE).is_none());
        // Another GPA's lookup does not see it; the fault handler's (any GPA) does.
        assert_eq!(ring.find(Some(4), second), None);
        assert_eq!(ring.find(None, second).map(|(gpa, _)| gpa), Some(3));
        // A newer block at the same address answers; a large block counts no bytes.
        ring.push(3, block(second, 48), true);
        assert_eq!(ring.find(Some(3), second).map(|(_, b)| b.size), Some(48));
        assert_eq!(ring.extent(), (count + 1, count * size));
        // Nothing in a chunk no block touched.
        assert_eq!(ring.find(None, 0x1000), None);
    }

    /// A ring that wrapped grows with every record kept in order (the capacity doubles only
    /// while the byte bound keeps every record): the same pushes on a model FIFO keep the
    /// same blocks.
    #[test]
    fn a_wrapped_ring_grows_keeping_its_order() {
        let mut ring = Ring::new();
        let mut model = std::collections::VecDeque::new();
        let mut bytes = 0;
        let base = 0x6000_0000_0000usize;
        let big = FREELIST_BYTES / FIRST_CAPACITY;
        // Blocks that fill the byte bound at the first capacity and wrap it; then small ones,
        // whose first one grows the wrapped ring.
        let sizes = (0..FIRST_CAPACITY + 100)
            .map(|_| big)
            .chain((0..10_000).map(|_| 48));
        for (index, size) in sizes.enumerate() {
            let start = base + index * 0x2000;
            ring.push(5, block(start, size), false);
            model.push_back((start, size));
            bytes += size;
            while bytes > FREELIST_BYTES {
                bytes -= model.pop_front().map_or(0, |(_, size)| size);
            }
        }
        assert_eq!(ring.extent(), (model.len(), bytes));
        assert!(ring.capacity > FIRST_CAPACITY && ring.capacity >= model.len());
        for &(start, size) in &model {
            assert_eq!(ring.find(Some(5), start + 1), Some((5, block(start, size))));
        }
        // The first block left both.
        assert_ne!(model.front().map(|&(start, _)| start), Some(base));
        assert_eq!(ring.find(Some(5), base), None);
    }
}
