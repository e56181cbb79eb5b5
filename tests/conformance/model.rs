//! The conformance engine: random programs of alloc / resize / remap / free (plus
//! `allocator_api2` grow / shrink, which may change the alignment), run against any
//! [`gpa::Allocator`] and checked against a reference model.
//!
//! # What is checked after every operation
//! * Every returned block is aligned as asked (zero-size blocks too).
//! * No two live blocks overlap (an interval map of the live non-empty blocks).
//! * Every byte of a block is writable: each block is filled when it is created and refilled after
//!   every successful resize or remap.
//! * Contents survive: each block carries a pattern derived from its own seed, so two blocks never
//!   hold the same bytes; the pattern is verified before every resize / remap / free (the common
//!   prefix after a successful resize or remap) and for every live block at the end.
//! * The handle's zero-size rules: resizing from length 0 fails, resizing to 0 frees.
//! * Failures only where allowed: allocation may fail only for allocators that may legitimately
//!   run out ([`Expect::alloc_may_fail`]); shrinking in place must succeed where the allocator
//!   promises it ([`Expect::shrink_succeeds`]). Resize/remap growth may always fail.
//!
//! Blocks larger than [`FULL_CHECK_LEN`] bytes are filled with one byte (`memset`, every byte
//! still written) and carry the pattern only in their first and last 64 bytes and at every
//! [`STRIDE`]-th offset; verification reads those samples plus a second stride of fill bytes.
//! This keeps programs with 1 MiB blocks fast at the test profile's `opt-level = 1`.

use std::alloc::Layout;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::ptr::NonNull;

use gpa::{Allocator, Error};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

/// The largest block a program asks for.
pub const MAX_SIZE: usize = 1 << 20;
/// The largest alignment a program asks for is `1 << MAX_ALIGN_LOG2` (1 MiB).
pub const MAX_ALIGN_LOG2: u32 = 20;
/// The fewest operations in one generated program.
pub const MIN_OPS: usize = 160;
/// The most operations in one generated program.
pub const MAX_OPS: usize = 200;
/// Blocks up to this length carry the pattern in every byte and are verified in full.
pub const FULL_CHECK_LEN: usize = 4096;
/// Sampling stride for larger blocks (prime, so samples do not line up with page boundaries).
pub const STRIDE: usize = 4099;

/// What an allocator promises beyond the interface's contract.
#[derive(Clone, Copy, Debug)]
pub struct Expect {
    /// The allocator may answer `OutOfMemory` to a valid request (a bounded buffer, a limit).
    pub alloc_may_fail: bool,
    /// Resizing a block to a smaller non-zero length in place always succeeds.
    pub shrink_succeeds: bool,
}

impl Expect {
    /// Never runs out for the sizes in these programs; shrinking in place always succeeds.
    pub const UNBOUNDED: Expect = Expect {
        alloc_may_fail: false,
        shrink_succeeds: true,
    };
    /// May run out of memory (a fixed buffer underneath); shrinking in place always succeeds.
    pub const BOUNDED: Expect = Expect {
        alloc_may_fail: true,
        shrink_succeeds: true,
    };
    /// Only the interface's contract: may run out, may refuse any in-place resize.
    pub const CONTRACT_ONLY: Expect = Expect {
        alloc_may_fail: true,
        shrink_succeeds: false,
    };
}

/// A new length for a resize or remap.
#[derive(Clone, Copy, Debug)]
pub enum NewLen {
    /// This exact length.
    Exact(usize),
    /// The current length plus this (clamped to `0..=MAX_SIZE`); small steps exercise in-place
    /// growth and shrinking of the last block.
    Delta(i32),
}

/// One operation of a program. `pick` selects a live block (modulo the number of live blocks);
/// with no live block, resize/remap/free become allocations so every operation does something.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// Allocate `len` bytes aligned to `1 << align_log2`.
    Alloc {
        /// Requested length.
        len: usize,
        /// Log2 of the alignment.
        align_log2: u32,
    },
    /// `raw_resize` a live block.
    Resize {
        /// Which live block.
        pick: usize,
        /// Its new length.
        len: NewLen,
    },
    /// `raw_remap` a live block.
    Remap {
        /// Which live block.
        pick: usize,
        /// Its new length.
        len: NewLen,
    },
    /// `allocator_api2`'s `grow` or `shrink` of a live block through the handle, possibly to
    /// another alignment (then the block usually moves).
    Realloc {
        /// Which live block.
        pick: usize,
        /// Its new length.
        len: NewLen,
        /// Log2 of its new alignment.
        align_log2: u32,
    },
    /// `raw_free` a live block.
    Free {
        /// Which live block.
        pick: usize,
    },
}

/// Sizes from 0 to 1 MiB, mostly small.
pub fn len_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![
        1 => Just(0usize),
        14 => 1usize..=64,
        6 => 65usize..=FULL_CHECK_LEN,
        2 => (FULL_CHECK_LEN + 1)..=65_536,
        1 => 65_537usize..=MAX_SIZE,
    ]
}

/// Log2 of alignments from 1 to 1 MiB, mostly small.
pub fn align_log2_strategy() -> impl Strategy<Value = u32> {
    prop_oneof![
        16 => 0u32..=4,
        4 => 5u32..=12,
        1 => 13u32..=MAX_ALIGN_LOG2,
    ]
}

fn new_len_strategy() -> impl Strategy<Value = NewLen> {
    prop_oneof![
        2 => len_strategy().prop_map(NewLen::Exact),
        1 => (-64i32..=64).prop_map(NewLen::Delta),
    ]
}

/// One operation.
pub fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (len_strategy(), align_log2_strategy())
            .prop_map(|(len, align_log2)| Op::Alloc { len, align_log2 }),
        2 => (any::<usize>(), new_len_strategy()).prop_map(|(pick, len)| Op::Resize { pick, len }),
        2 => (any::<usize>(), new_len_strategy()).prop_map(|(pick, len)| Op::Remap { pick, len }),
        1 => (any::<usize>(), new_len_strategy(), align_log2_strategy())
            .prop_map(|(pick, len, align_log2)| Op::Realloc { pick, len, align_log2 }),
        3 => any::<usize>().prop_map(|pick| Op::Free { pick }),
    ]
}

/// A whole program of `MIN_OPS..=MAX_OPS` operations.
pub fn program_strategy() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(op_strategy(), MIN_OPS..=MAX_OPS)
}

/// What happened while running programs (printed with `--nocapture`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// Operations executed.
    pub ops: usize,
    /// Successful allocations (zero-size ones included).
    pub allocs: usize,
    /// Allocations answered with `OutOfMemory`.
    pub failed_allocs: usize,
    /// Resizes that succeeded.
    pub resized: usize,
    /// Resizes that were refused.
    pub resize_refused: usize,
    /// Remaps that kept the block in place.
    pub remapped_in_place: usize,
    /// Remaps that moved the block (remaps to length 0, which free, are not counted).
    pub remapped_moved: usize,
    /// Remaps that were refused.
    pub remap_refused: usize,
    /// `allocator_api2` grows and shrinks that succeeded.
    pub reallocated: usize,
    /// `allocator_api2` grows and shrinks that failed (out of memory).
    pub realloc_failed: usize,
    /// Bytes written into blocks.
    pub bytes_written: usize,
}

impl Stats {
    fn add(&mut self, other: &Stats) {
        self.ops += other.ops;
        self.allocs += other.allocs;
        self.failed_allocs += other.failed_allocs;
        self.resized += other.resized;
        self.resize_refused += other.resize_refused;
        self.remapped_in_place += other.remapped_in_place;
        self.remapped_moved += other.remapped_moved;
        self.remap_refused += other.remap_refused;
        self.reallocated += other.reallocated;
        self.realloc_failed += other.realloc_failed;
        self.bytes_written += other.bytes_written;
    }
}

/// A live block in the model.
#[derive(Clone, Copy, Debug)]
struct Block {
    ptr: NonNull<u8>,
    len: usize,
    align: usize,
    seed: u64,
}

/// The pattern byte at offset `i` of a block with `seed`.
#[inline]
fn pattern(seed: u64, i: usize) -> u8 {
    let x =
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    (x ^ (x >> 29) ^ (x >> 47)) as u8
}

/// The byte large blocks hold between samples.
#[inline]
fn fill_byte(seed: u64) -> u8 {
    (seed as u8) ^ 0xA5
}

/// Whether offset `i` of a large block of `len` bytes carries the pattern.
#[inline]
fn is_sample(len: usize, i: usize) -> bool {
    i < 64 || i + 64 >= len || i % STRIDE == 0
}

/// The byte expected at offset `i` of a block of `len` bytes with `seed`.
#[inline]
fn expected(seed: u64, len: usize, i: usize) -> u8 {
    if len <= FULL_CHECK_LEN || is_sample(len, i) {
        pattern(seed, i)
    } else {
        fill_byte(seed)
    }
}

/// Writes the block's contents (every byte).
fn fill(block: &Block) -> usize {
    let base = block.ptr.as_ptr();
    // SAFETY: the block is live and `len` bytes long (the allocator's contract is what we
    // test; a violation shows up as a crash or a failed check).
    unsafe {
        if block.len <= FULL_CHECK_LEN {
            for i in 0..block.len {
                base.add(i).write(pattern(block.seed, i));
            }
        } else {
            base.write_bytes(fill_byte(block.seed), block.len);
            for i in sample_offsets(block.len, block.len) {
                base.add(i).write(pattern(block.seed, i));
            }
        }
    }
    block.len
}

/// The pattern-carrying offsets below `limit` of a large block of `len` bytes.
fn sample_offsets(len: usize, limit: usize) -> impl Iterator<Item = usize> {
    let head = 0..64.min(limit);
    let strided = (0..limit)
        .step_by(STRIDE)
        .filter(move |&i| i >= 64 && i + 64 < len);
    let tail = len.saturating_sub(64).max(64)..limit;
    head.chain(strided).chain(tail)
}

/// Checks the first `limit` bytes of the block as written for a block of `len` bytes (its
/// length when it was last filled), reading them at `at`.
fn verify(block: &Block, at: NonNull<u8>, limit: usize) -> Result<(), TestCaseError> {
    let base = at.as_ptr();
    let check = |i: usize| -> Result<(), TestCaseError> {
        // SAFETY: `i < limit <=` the block's live length.
        let found = unsafe { base.add(i).read() };
        let want = expected(block.seed, block.len, i);
        if found != want {
            return Err(TestCaseError::fail(format!(
                "block {:?} (len {}, align {}, seed {}): byte {i} is {found:#04x}, expected \
                 {want:#04x}",
                block.ptr, block.len, block.align, block.seed
            )));
        }
        Ok(())
    };
    if block.len <= FULL_CHECK_LEN {
        (0..limit).try_for_each(check)
    } else {
        sample_offsets(block.len, limit).try_for_each(check)?;
        // The fill bytes between samples, at a second stride.
        (STRIDE / 2..limit)
            .step_by(STRIDE)
            .filter(|&i| !is_sample(block.len, i))
            .try_for_each(check)
    }
}

/// The live non-empty blocks as address intervals: start -> end.
#[derive(Default)]
struct Intervals(BTreeMap<usize, usize>);

impl Intervals {
    fn insert(&mut self, ptr: NonNull<u8>, len: usize) -> Result<(), TestCaseError> {
        if len == 0 {
            return Ok(());
        }
        let start = ptr.as_ptr() as usize;
        let end = start
            .checked_add(len)
            .ok_or_else(|| TestCaseError::fail(format!("block {start:#x}+{len} wraps around")))?;
        // The existing intervals are disjoint, so the one starting last before `end` is the
        // only candidate for an overlap.
        if let Some((&other_start, &other_end)) = self.0.range(..end).next_back() {
            if other_end > start {
                return Err(TestCaseError::fail(format!(
                    "new block [{start:#x}, {end:#x}) overlaps live block [{other_start:#x}, \
                     {other_end:#x})"
                )));
            }
        }
        self.0.insert(start, end);
        Ok(())
    }

    fn remove(&mut self, ptr: NonNull<u8>, len: usize) {
        if len != 0 {
            self.0.remove(&(ptr.as_ptr() as usize));
        }
    }
}

fn check_aligned(ptr: NonNull<u8>, align: usize, what: &str) -> Result<(), TestCaseError> {
    if ptr.as_ptr() as usize % align != 0 {
        return Err(TestCaseError::fail(format!(
            "{what} returned {ptr:?}, not aligned to {align}"
        )));
    }
    Ok(())
}

fn resolve(len: NewLen, current: usize) -> usize {
    match len {
        NewLen::Exact(len) => len,
        NewLen::Delta(delta) => current.saturating_add_signed(delta as isize).min(MAX_SIZE),
    }
}

/// The model state while one program runs.
struct Model<'a> {
    allocator: Allocator<'a>,
    expect: Expect,
    live: Vec<Block>,
    intervals: Intervals,
    next_seed: u64,
    stats: Stats,
}

impl Model<'_> {
    fn alloc(&mut self, len: usize, align: usize) -> Result<(), TestCaseError> {
        self.stats.allocs += 1;
        let ptr = match self.allocator.raw_alloc(len, align) {
            Ok(ptr) => ptr,
            Err(Error::OutOfMemory) if self.expect.alloc_may_fail => {
                self.stats.allocs -= 1;
                self.stats.failed_allocs += 1;
                return Ok(());
            }
            Err(error) => {
                return Err(TestCaseError::fail(format!(
                    "alloc({len}, {align}) failed: {error}"
                )))
            }
        };
        check_aligned(ptr, align, "alloc")?;
        self.intervals.insert(ptr, len)?;
        self.next_seed += 1;
        let block = Block {
            ptr,
            len,
            align,
            seed: self.next_seed,
        };
        self.stats.bytes_written += fill(&block);
        self.live.push(block);
        Ok(())
    }

    fn resize(&mut self, index: usize, new_len: usize) -> Result<(), TestCaseError> {
        let block = self.live[index];
        verify(&block, block.ptr, block.len)?;
        // SAFETY: `block` is live in this allocator with this length and alignment.
        let ok = unsafe {
            self.allocator
                .raw_resize(block.ptr, block.len, block.align, new_len)
        };
        if block.len == 0 && new_len != 0 && ok {
            return Err(TestCaseError::fail("resize from length 0 succeeded"));
        }
        if block.len != 0 && new_len == 0 && !ok {
            return Err(TestCaseError::fail("resize to length 0 (a free) failed"));
        }
        if !ok {
            if new_len < block.len && self.expect.shrink_succeeds {
                return Err(TestCaseError::fail(format!(
                    "shrinking {} -> {new_len} in place was refused",
                    block.len
                )));
            }
            self.stats.resize_refused += 1;
            return verify(&block, block.ptr, block.len);
        }
        self.stats.resized += 1;
        self.replace(index, block.ptr, new_len)
    }

    fn remap(&mut self, index: usize, new_len: usize) -> Result<(), TestCaseError> {
        let block = self.live[index];
        verify(&block, block.ptr, block.len)?;
        // SAFETY: `block` is live in this allocator with this length and alignment.
        let moved = unsafe {
            self.allocator
                .raw_remap(block.ptr, block.len, block.align, new_len)
        };
        let Some(ptr) = moved else {
            if block.len != 0 && new_len == 0 {
                return Err(TestCaseError::fail("remap to length 0 (a free) failed"));
            }
            self.stats.remap_refused += 1;
            return verify(&block, block.ptr, block.len);
        };
        if block.len == 0 && new_len != 0 {
            return Err(TestCaseError::fail("remap from length 0 succeeded"));
        }
        check_aligned(ptr, block.align, "remap")?;
        if ptr == block.ptr {
            self.stats.remapped_in_place += 1;
        } else if new_len != 0 {
            self.stats.remapped_moved += 1;
        }
        self.replace(index, ptr, new_len)
    }

    /// Records a successful resize/remap of block `index` to `ptr` and `new_len`: checks the
    /// common prefix survived, then refills the block.
    fn replace(
        &mut self,
        index: usize,
        ptr: NonNull<u8>,
        new_len: usize,
    ) -> Result<(), TestCaseError> {
        let old = self.live[index];
        self.intervals.remove(old.ptr, old.len);
        self.intervals.insert(ptr, new_len)?;
        verify(&old, ptr, old.len.min(new_len))?;
        self.next_seed += 1;
        let block = Block {
            ptr,
            len: new_len,
            align: old.align,
            seed: self.next_seed,
        };
        self.stats.bytes_written += fill(&block);
        self.live[index] = block;
        Ok(())
    }

    /// `grow`/`shrink` through `allocator_api2` (the interface's `api2_reallocate`): may move,
    /// may change the alignment, must keep the common prefix; fails only when allocation may.
    fn realloc(&mut self, index: usize, new_len: usize, align: usize) -> Result<(), TestCaseError> {
        use allocator_api2::alloc::Allocator as _;
        let block = self.live[index];
        verify(&block, block.ptr, block.len)?;
        let old = Layout::from_size_align(block.len, block.align).expect("valid layout");
        let new = Layout::from_size_align(new_len, align).expect("valid layout");
        // SAFETY: `block` is live in this allocator with layout `old`; `grow` gets a larger or
        // equal size and `shrink` a smaller one, as allocator_api2 requires.
        let result = unsafe {
            if new_len >= block.len {
                self.allocator.grow(block.ptr, old, new)
            } else {
                self.allocator.shrink(block.ptr, old, new)
            }
        };
        let memory = match result {
            Ok(memory) => memory,
            Err(_) if self.expect.alloc_may_fail => {
                self.stats.realloc_failed += 1;
                return verify(&block, block.ptr, block.len);
            }
            Err(_) => {
                return Err(TestCaseError::fail(format!(
                    "allocator_api2 realloc {old:?} -> {new:?} failed"
                )))
            }
        };
        if memory.len() < new_len {
            return Err(TestCaseError::fail(format!(
                "realloc to {new_len} bytes returned only {}",
                memory.len()
            )));
        }
        let ptr = memory.cast::<u8>();
        check_aligned(ptr, align, "realloc")?;
        self.stats.reallocated += 1;
        self.live[index].align = align;
        self.replace(index, ptr, new_len)
    }

    fn free(&mut self, index: usize) -> Result<(), TestCaseError> {
        let block = self.live.swap_remove(index);
        verify(&block, block.ptr, block.len)?;
        self.intervals.remove(block.ptr, block.len);
        // SAFETY: `block` is live in this allocator with this length and alignment, and the
        // model forgets it here.
        unsafe { self.allocator.raw_free(block.ptr, block.len, block.align) };
        Ok(())
    }

    fn step(&mut self, op: Op) -> Result<(), TestCaseError> {
        self.stats.ops += 1;
        let count = self.live.len();
        match op {
            Op::Alloc { len, align_log2 } => self.alloc(len, 1 << align_log2),
            Op::Resize { len, .. } | Op::Remap { len, .. } if count == 0 => {
                self.alloc(resolve(len, 0), 8)
            }
            Op::Free { .. } if count == 0 => self.alloc(1, 1),
            Op::Realloc {
                len, align_log2, ..
            } if count == 0 => self.alloc(resolve(len, 0), 1 << align_log2),
            Op::Resize { pick, len } => {
                let current = self.live[pick % count].len;
                self.resize(pick % count, resolve(len, current))
            }
            Op::Remap { pick, len } => {
                let current = self.live[pick % count].len;
                self.remap(pick % count, resolve(len, current))
            }
            Op::Realloc {
                pick,
                len,
                align_log2,
            } => {
                let current = self.live[pick % count].len;
                self.realloc(pick % count, resolve(len, current), 1 << align_log2)
            }
            Op::Free { pick } => self.free(pick % count),
        }
    }

    /// Verifies and frees every live block.
    fn finish(&mut self) -> Result<(), TestCaseError> {
        for block in &self.live {
            verify(block, block.ptr, block.len)?;
        }
        while !self.live.is_empty() {
            self.free(self.live.len() - 1)?;
        }
        Ok(())
    }
}

/// Runs `program` against `allocator`; frees everything it allocated unless a check fails
/// (then the blocks are leaked: the allocator is suspect).
pub fn execute(
    allocator: Allocator<'_>,
    program: &[Op],
    expect: Expect,
) -> Result<Stats, TestCaseError> {
    let mut model = Model {
        allocator,
        expect,
        live: Vec::new(),
        intervals: Intervals::default(),
        next_seed: 0,
        stats: Stats::default(),
    };
    for &op in program {
        model.step(op)?;
    }
    model.finish()?;
    Ok(model.stats)
}

/// How a registered allocator is set up for one program: build it, then call `run` once with
/// its handle.
pub type Setup = fn(&mut dyn FnMut(Allocator<'_>));

/// Runs `cases` random programs (`GPA_CONFORMANCE_CASES` in the environment overrides it, for
/// long runs), each against a fresh allocator from `setup`. Panics with the shrunk failing
/// program if a check fails.
pub fn check(name: &str, cases: u32, expect: Expect, setup: Setup) {
    let cases = std::env::var("GPA_CONFORMANCE_CASES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(cases);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let totals = Cell::new(Stats::default());
    let result = runner.run(&program_strategy(), |program| {
        let mut outcome = None;
        setup(&mut |allocator| {
            if outcome.is_none() {
                outcome = Some(execute(allocator, &program, expect));
            }
        });
        let stats =
            outcome.ok_or_else(|| TestCaseError::fail("the setup never called `run`"))??;
        let mut sum = totals.get();
        sum.add(&stats);
        totals.set(sum);
        Ok(())
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, program)) => {
            panic!("{name}: conformance failure: {reason}\nminimal failing program: {program:#?}")
        }
        Err(TestError::Abort(reason)) => panic!("{name}: conformance run aborted: {reason}"),
    }
    let totals = totals.get();
    println!("{name}: {cases} programs, {totals:?}");
    assert!(
        totals.ops >= cases as usize * MIN_OPS,
        "{name}: only {} operations ran",
        totals.ops
    );
}
