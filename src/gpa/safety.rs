//! Safety-mode byte patterns: poison for freed memory, redzones after live blocks.
//!
//! # Design
//! Freed memory is filled with [`POISON`] (0xAA, Zig's `undefined`), so use-after-free reads
//! see an obvious pattern and writes after free can be detected: the poison is checked when an
//! allocation takes the slot again (before it is reused), when its page is released, and at
//! `deinit`.
//!
//! Every live block is followed by a **redzone** filled with [`CANARY`]: all the bytes from
//! its requested size to the end of its slot (small blocks) or mapping (large blocks). Safety
//! mode asks the size class for [`redzone`]`(size)` extra bytes, so the redzone is never
//! smaller than this table (the size class's rounding adds the rest):
//!
//! | requested bytes | least redzone |
//! |-----------------|---------------|
//! | up to 256       | 32            |
//! | up to 1 KiB     | 64            |
//! | up to 4 KiB     | 128           |
//! | up to 16 KiB    | 256           |
//! | up to 64 KiB    | 512           |
//! | more            | 1 KiB         |
//!
//! As in AddressSanitizer the redzone grows with the block, so that its relative cost stays
//! small: 32 bytes up to 256-byte blocks (a C `malloc(8)` takes an 80-byte slot: its 32-byte
//! front guard, 8 bytes, 40 of redzone; glibc takes 32), at most 1/4 of the block above that,
//! and 1/64 or less from 64 KiB on. An overflow that writes 32 bytes past a block, or anywhere
//! within its redzone, changes a canary byte. The whole redzone is checked when the block is
//! freed or resized and at `deinit` / exit (for blocks never freed); small blocks also check
//! the free slots that follow them (see `small`), which extends the reach past the slot.
//!
//! A freed small block is poisoned whole, and its whole poison (but for the free list's link in
//! its first word) is checked once, when an allocation takes its slot again, when its page is
//! released, or at exit (or as a flush of the quarantine takes it out): a write after free of
//! any value (zeros included) anywhere in the block, while it is quarantined or long after,
//! is found, with the block's free trace; in a slot of 64 KiB or more only its first and last
//! pages are poisoned, the pages between kept inaccessible instead while it is quarantined,
//! and checked as it leaves the quarantine (`quarpages`). Small blocks are 128 KiB at most; a freed large block needs
//! no poison in safety mode, its range is kept inaccessible instead (any access faults),
//! except with `Config::never_unmap`, where its first [`POISON_LIMIT`] bytes are poisoned for
//! the reader's eye only.

/// Freed memory's fill byte.
pub const POISON: u8 = 0xAA;
/// Freed memory's fill ([`POISON`]) read as a pointer-sized word.
pub(crate) const FILL_WORD: usize = usize::from_ne_bytes([POISON; size_of::<usize>()]);

/// Whether `value` is the freed-memory fill as a word, or the fill plus or minus a field's
/// offset (up to a page): what a program holds that read a pointer from a freed block (or from
/// a block's bytes never written since its allocation, which a recycled slot still fills).
pub(crate) fn near_fill(value: usize) -> bool {
    value.wrapping_sub(FILL_WORD).wrapping_add(4096) < 8192
}
/// The fill byte of the redzone after a block's requested size.
pub const CANARY: u8 = 0xC5;
/// The most bytes of a freed large block kept mapped (`Config::never_unmap`) poisoned.
pub const POISON_LIMIT: usize = 4096;

/// Bytes a layer above the GPA keeps at the start of its blocks (the C ABI's front guard),
/// written by a safety-mode allocation before the slot goes live, so that no walk of the heap
/// (the exit-time scan, which stops threads wherever they are) sees a live block without
/// them. [`Prefix::NONE`] writes nothing.
#[derive(Clone, Copy, Debug)]
pub struct Prefix {
    /// The value of every byte but the last `zeros`.
    pub byte: u8,
    /// How many bytes, from the block's start: at most the block's requested size.
    pub len: usize,
    /// How many of the last bytes of the prefix are zero (at most `len`): the C++ array
    /// cookie the C ABI keeps zero in front of a scalar `operator new` block.
    pub zeros: usize,
}

impl Prefix {
    /// No prefix.
    pub const NONE: Prefix = Prefix {
        byte: 0,
        len: 0,
        zeros: 0,
    };

    /// Writes the prefix at `block`.
    ///
    /// # Safety
    /// `block` is the start of a block of at least `self.len` writable bytes.
    #[inline(always)]
    pub unsafe fn fill(self, block: usize) {
        // SAFETY: caller contract; unaligned stores have no alignment requirement;
        // `zeros <= len`.
        unsafe {
            if self.len == 32 && self.zeros == 0 {
                (block as *mut [u8; 32]).write_unaligned([self.byte; 32]);
            } else {
                let fill = self.len - self.zeros;
                core::ptr::write_bytes(block as *mut u8, self.byte, fill);
                if self.zeros != 0 {
                    core::ptr::write_bytes((block + fill) as *mut u8, 0, self.zeros);
                }
            }
        }
    }
}

/// The least redzone after a block of `size` requested bytes (see the table above).
#[inline]
pub const fn redzone(size: usize) -> usize {
    if size <= 256 {
        32
    } else if size <= 1024 {
        64
    } else if size <= 4096 {
        128
    } else if size <= 16 * 1024 {
        256
    } else if size <= 64 * 1024 {
        512
    } else {
        1024
    }
}

/// Fills the redzone: the bytes after `requested` bytes of a block of `capacity` bytes.
///
/// # Safety
/// `[block, block + capacity)` is writable memory of the block.
#[inline]
pub unsafe fn write_canary(block: usize, requested: usize, capacity: usize) {
    if capacity > requested {
        // SAFETY: caller contract; `requested < capacity`.
        unsafe { fill(block + requested, capacity - requested, CANARY) };
    }
}

/// The offset from `block` of the first byte of the redzone that is not [`CANARY`], if any.
///
/// # Safety
/// As for [`write_canary`], readable.
#[inline]
pub unsafe fn canary_damage(block: usize, requested: usize, capacity: usize) -> Option<usize> {
    let len = capacity.saturating_sub(requested);
    // SAFETY: caller contract.
    unsafe { first_difference(block + requested, len, CANARY) }.map(|offset| requested + offset)
}

/// [`canary_damage`] of a small block at every checked free and resize: redzones of 16 to
/// 128 bytes (most of them, the slack of a slot of 1 KiB or less) are compared by two or four
/// overlapping 16- or 32-byte loads ORed together, inline, as `write_canary_inline` fills
/// them; only a damaged redzone is searched byte by byte for its first damaged byte.
/// `LONG_AVX2`: longer redzones by [`canary_damage_long`]'s AVX2 loop (the Rust frees), else
/// by [`canary_damage`] (the C entries, whose code this leaves as it was).
///
/// # Safety
/// As for [`canary_damage`].
#[inline(always)]
pub unsafe fn canary_damage_inline<const LONG_AVX2: bool>(
    block: usize,
    requested: usize,
    capacity: usize,
) -> Option<usize> {
    let len = capacity.saturating_sub(requested);
    #[cfg(target_arch = "x86_64")]
    if (16..=128).contains(&len) {
        // SAFETY: the redzone `[block + requested, block + capacity)` is readable (caller
        // contract), `16 <= len <= 128`.
        if unsafe { all_bytes_are_short(block + requested, len, CANARY) } {
            return None;
        }
    }
    if LONG_AVX2 {
        // The AVX2 loop called from here (not through `canary_damage_long`'s frame and its
        // test of the feature again) for an intact redzone; a damaged one is searched there.
        #[cfg(target_arch = "x86_64")]
        if len >= AVX2_FROM
            && has_avx2()
            // SAFETY: the CPU has AVX2 (tested just above); the redzone `[block + requested,
            // block + capacity)` is readable (caller contract), `len >= AVX2_FROM > 32`.
            && unsafe { all_bytes_are_avx2(block + requested, len, CANARY) }
        {
            return None;
        }
        // SAFETY: caller contract.
        unsafe { canary_damage_long(block, requested, capacity) }
    } else {
        // SAFETY: caller contract.
        unsafe { canary_damage(block, requested, capacity) }
    }
}

/// [`canary_damage`] for the redzones [`canary_damage_inline`] does not compare inline: those
/// of [`AVX2_FROM`] bytes or more (the slack of the larger slots: about a third of the frees of
/// `gpa-bench`'s mixed workload) are compared by the AVX2 loop (128 bytes a step, where
/// `first_difference`'s SSE2 loop takes 32), and only a damaged one is searched for its first
/// damaged byte. Out of line: the checked frees inline `canary_damage_inline`, and the C fast
/// path's section holds `free_general`.
///
/// # Safety
/// As for [`canary_damage`].
#[inline(never)]
unsafe fn canary_damage_long(block: usize, requested: usize, capacity: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if capacity.saturating_sub(requested) >= AVX2_FROM && std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above); the redzone `[block + requested,
        // block + capacity)` is readable (caller contract) and at least `AVX2_FROM` (> 32)
        // bytes long.
        if unsafe { all_bytes_are_avx2(block + requested, capacity - requested, CANARY) } {
            return None;
        }
    }
    // SAFETY: caller contract.
    unsafe { canary_damage(block, requested, capacity) }
}

/// Poisons a freed block of `len` bytes, all of them.
///
/// # Safety
/// `[block, block + len)` is writable memory that nobody uses any more.
#[inline]
pub unsafe fn poison(block: usize, len: usize) {
    // SAFETY: caller contract.
    unsafe { fill(block, len, POISON) };
}

/// The longest fill [`fill`] makes by [`fill_avx2`]'s loop; longer ones go to `memset`, which
/// from glibc's `rep_stosb_threshold` (2,048 bytes by default) fills by `rep stosb`: faster
/// than the loop there (bench/c/rptest, blocks of up to 16,000 bytes, with the loop up to
/// 64 KiB: 0.27-0.35 s of CPU time against 0.27-0.30 s; stop 55), though Valgrind counts each
/// byte of it as an instruction.
const FILL_AVX2_MAX: usize = 2048;

/// Fills `len` bytes at `start` with `value`, the library's own fills of poison and
/// redzones too long to store inline: by [`fill_avx2`]'s loop where the CPU has AVX2 and
/// `32 <= len <= FILL_AVX2_MAX`, else by `write_bytes` (a `memset` call). Under `gpa run`
/// a `memset` call from the library binds to the preload library's own exported `memset`,
/// whose range check (nothing to check in the allocator's own fill) and trampoline cost
/// about 45 instructions a call before glibc's: larson's frees of blocks of 257 to 1,000
/// bytes and its allocations with redzones over 128 bytes paid that on every call (stop 55).
/// Out of line, as the `memset` call it replaces: the callers' code keeps its shape.
///
/// # Safety
/// `[start, start + len)` is writable.
#[inline(never)]
pub unsafe fn fill(start: usize, len: usize, value: u8) {
    #[cfg(target_arch = "x86_64")]
    if (32..=FILL_AVX2_MAX).contains(&len) && has_avx2() {
        // SAFETY: the CPU has AVX2 (tested just above), `len >= 32`; caller contract.
        return unsafe { fill_avx2(start, len, value) };
    }
    // SAFETY: caller contract.
    unsafe { fill_by_memset(start, len, value) }
}

/// [`fill`] by `write_bytes` (a `memset` call), out of line: in line, the registers it
/// needs made [`fill`] save and restore three on every call (13 instructions of its 23).
///
/// # Safety
/// As for [`fill`].
#[cold]
#[inline(never)]
unsafe fn fill_by_memset(start: usize, len: usize, value: u8) {
    // SAFETY: caller contract.
    unsafe { core::ptr::write_bytes(start as *mut u8, value, len) };
}

/// The most bytes [`poison_inline`] fills with inline stores rather than a `memset` call.
pub const INLINE_POISON_MAX: usize = 256;

/// [`poison`] of a small block at every checked free: blocks of 16 to [`INLINE_POISON_MAX`]
/// bytes (most C blocks) are filled by a loop of unaligned 32-byte stores with the ragged end
/// covered by one overlapping store, instead of a `memset` call. Under `gpa run` that call
/// goes through the preload library's own checked `memset` (an interposed symbol) before
/// glibc's, ~45 instructions on each free of cfrac's small blocks; the stores cost a few.
///
/// # Safety
/// As for [`poison`].
#[inline(always)]
pub unsafe fn poison_inline(block: usize, len: usize) {
    if !(16..=INLINE_POISON_MAX).contains(&len) {
        // SAFETY: caller contract.
        return unsafe { poison(block, len) };
    }
    let end = block + len;
    // SAFETY: every store below lies inside `[block, end)`, writable by the caller contract
    // (`len >= 16`, and the 32-byte stores only when `len >= 32`, those at `block + 32` and
    // `end - 64` only when `len > 64`); unaligned stores need no alignment.
    unsafe {
        let store32 = |at: usize| (at as *mut [u8; 32]).write_unaligned([POISON; 32]);
        if len < 32 {
            (block as *mut [u8; 16]).write_unaligned([POISON; 16]);
            ((end - 16) as *mut [u8; 16]).write_unaligned([POISON; 16]);
            return;
        }
        // Up to 128 bytes (most C blocks) by two or four overlapping stores, with no loop.
        if len <= 64 {
            store32(block);
            store32(end - 32);
            return;
        }
        if len <= 128 {
            store32(block);
            store32(block + 32);
            store32(end - 64);
            store32(end - 32);
            return;
        }
        let mut at = block;
        while at + 32 <= end {
            (at as *mut [u8; 32]).write_unaligned([POISON; 32]);
            at += 32;
        }
        if at < end {
            ((end - 32) as *mut [u8; 32]).write_unaligned([POISON; 32]);
        }
    }
}

/// [`poison_damage`] with its common case inline: a block of 16 to 128 bytes (past `skip`)
/// that is still all poison is found so by [`all_bytes_are_short`] without a call (the
/// eviction from the quarantine of every checked free of a small block); anything else, and
/// a damaged block, goes to [`poison_damage`], which finds the offset.
///
/// # Safety
/// As for [`poison_damage`].
#[inline(always)]
pub unsafe fn poison_damage_inline(block: usize, skip: usize, len: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if skip <= len
        && (16..=128).contains(&(len - skip))
        // SAFETY: caller contract: the range lies inside the block and is readable.
        && unsafe { all_bytes_are_short(block + skip, len - skip, POISON) }
    {
        return None;
    }
    // SAFETY: caller contract.
    unsafe { poison_damage(block, skip, len) }
}

/// [`poison_damage_inline`] with the blocks over 128 bytes by the AVX2 loop called from here,
/// not through [`poison_damage`]: the Rust frees' evictions. (With it in
/// [`poison_damage_inline`], the C entries' `free_checked`, which inlines the eviction, ran
/// 0.7% more instructions on glibc-simple in check mode: the compiler's code for the whole
/// free changed.)
///
/// # Safety
/// As for [`poison_damage`].
#[inline(always)]
pub unsafe fn poison_damage_inline_avx2(block: usize, skip: usize, len: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if skip <= len {
        let checked = len - skip;
        if (16..=128).contains(&checked) {
            // SAFETY: caller contract: the range lies inside the block and is readable.
            if unsafe { all_bytes_are_short(block + skip, checked, POISON) } {
                return None;
            }
        } else if checked >= AVX2_FROM && has_avx2() {
            // The AVX2 loop called from here, not through `poison_damage` (a frame of its
            // own and the feature test again: about 30 instructions of the eviction of every
            // block over 128 bytes).
            // SAFETY: the CPU has AVX2 (tested just above); caller contract: the range lies
            // inside the block and is readable; `checked >= AVX2_FROM > 32`.
            if unsafe { all_bytes_are_avx2(block + skip, checked, POISON) } {
                return None;
            }
        }
    }
    // SAFETY: caller contract.
    unsafe { poison_damage(block, skip, len) }
}

/// Whether the CPU has AVX2 (one load and test of `std`'s cached feature flags).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn has_avx2() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// [`poison`] by [`fill_avx2`]'s 32-byte stores where the CPU has AVX2 and `len >= 32`
/// (returns `true`: done); else nothing (returns `false`). The checked Rust free poisons its
/// blocks over [`INLINE_POISON_MAX`] bytes so, where a `memset` call took about 80
/// instructions for a block of 600 bytes (its dispatch, and the call through
/// `poison_or_protect`), the loop takes about 40.
///
/// # Safety
/// As for [`poison`].
#[inline(always)]
pub unsafe fn poison_avx2(block: usize, len: usize) -> bool {
    // SAFETY: caller contract.
    unsafe { fill_bytes_avx2(block, len, POISON) }
}

/// [`write_canary`] of a redzone over 128 bytes (the slack of the larger slots) by
/// [`fill_avx2`] where the CPU has AVX2 (returns `true`: done); else nothing (returns
/// `false`). The checked Rust allocation's, where a `memset` call took about twice the
/// loop's instructions.
///
/// # Safety
/// As for [`write_canary`].
#[inline(always)]
pub unsafe fn write_canary_avx2(block: usize, requested: usize, capacity: usize) -> bool {
    let len = capacity.saturating_sub(requested);
    // SAFETY: caller contract: the redzone `[block + requested, block + capacity)` is
    // writable.
    unsafe { fill_bytes_avx2(block + requested, len, CANARY) }
}

/// `len >= 32` bytes at `start` filled with `value` by [`fill_avx2`] where the CPU has AVX2
/// (`true`); else nothing (`false`).
///
/// # Safety
/// `[start, start + len)` is writable.
#[inline(always)]
unsafe fn fill_bytes_avx2(start: usize, len: usize, value: u8) -> bool {
    #[cfg(target_arch = "x86_64")]
    if len >= 32 && has_avx2() {
        // SAFETY: the CPU has AVX2 (tested just above), `len >= 32`; caller contract.
        unsafe { fill_avx2(start, len, value) };
        return true;
    }
    let _ = (start, len, value);
    false
}

/// Fills `len >= 32` bytes at `start` with `value`: 128 bytes a step in four unaligned
/// 32-byte stores, the ragged end covered by four overlapping stores (by 32-byte steps and one
/// overlapping store below 128 bytes).
///
/// # Safety
/// `[start, start + len)` is writable, `len >= 32`, and the CPU supports AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_avx2(start: usize, len: usize, value: u8) {
    use core::arch::x86_64::{__m256i, _mm256_set1_epi8, _mm256_storeu_si256};
    debug_assert!(len >= 32);
    // SAFETY: each store writes 32 bytes inside `[start, start + len)` (`len >= 32`),
    // writable by the caller contract; `storeu` has no alignment requirement; AVX2 is
    // available (caller contract).
    unsafe {
        let pattern = _mm256_set1_epi8(value as i8);
        let end = start + len;
        let store = |at: usize| _mm256_storeu_si256(at as *mut __m256i, pattern);
        let mut at = start;
        if len >= 128 {
            // As `all_bytes_are_avx2`: 128-byte steps, then the last 128 bytes.
            let last = end - 128;
            while at < last {
                store(at);
                store(at + 32);
                store(at + 64);
                store(at + 96);
                at += 128;
            }
            store(last);
            store(last + 32);
            store(last + 64);
            store(last + 96);
        } else {
            let last = end - 32;
            while at < last {
                store(at);
                at += 32;
            }
            store(last);
        }
    }
}

/// The offset of the first byte of a freed block of `len` bytes (from `skip` on) that is not
/// poison any more, if any: a write after free.
///
/// # Safety
/// `[block, block + len)` is readable memory of a freed block poisoned by [`poison`].
#[inline]
pub unsafe fn poison_damage(block: usize, skip: usize, len: usize) -> Option<usize> {
    let skip = skip.min(len);
    #[cfg(target_arch = "x86_64")]
    if (16..=128).contains(&(len - skip)) {
        // SAFETY: caller contract: the range lies inside the block and is readable.
        if unsafe { all_bytes_are_short(block + skip, len - skip, POISON) } {
            return None;
        }
    } else if len - skip >= AVX2_FROM && std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above); caller contract: the range lies
        // inside the block.
        if unsafe { all_bytes_are_avx2(block + skip, len - skip, POISON) } {
            return None;
        }
    }
    // SAFETY: caller contract; `[block + skip, block + len)` lies inside the block.
    unsafe { first_difference(block + skip, len - skip, POISON) }.map(|at| skip + at)
}

/// Whether `len` bytes at `start` all equal `value`: the redzone, guard and poison checks of
/// every checked free run through it. On x86-64 (SSE2 is part of the base ISA) 32 bytes per
/// step with unaligned 16-byte loads, XORed with the pattern and ORed into one accumulator,
/// and the ragged end covered by one overlapping load, so there is no byte loop; short ranges
/// take two overlapping 8- or 4-byte loads. Elsewhere a word-wide reduction.
///
/// # Safety
/// `[start, start + len)` is readable.
#[inline]
pub unsafe fn all_bytes_are(start: usize, len: usize, value: u8) -> bool {
    if len < 16 {
        // SAFETY: caller contract.
        return unsafe { short_bytes_are(start, len, value) };
    }
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8, _mm_setzero_si128, _mm_xor_si128,
        };
        // SAFETY: SSE2 is part of x86-64's base instruction set; each load reads 16 bytes
        // inside `[start, start + len)` (`len >= 16`), readable by the caller contract, and
        // `loadu` has no alignment requirement.
        unsafe {
            let pattern = _mm_set1_epi8(value as i8);
            let end = start + len;
            let load = |at: usize| _mm_loadu_si128(at as *const __m128i);
            let mut difference = _mm_setzero_si128();
            let mut at = start;
            while at + 32 <= end {
                difference = _mm_or_si128(difference, _mm_xor_si128(load(at), pattern));
                difference = _mm_or_si128(difference, _mm_xor_si128(load(at + 16), pattern));
                at += 32;
            }
            if at + 16 <= end {
                difference = _mm_or_si128(difference, _mm_xor_si128(load(at), pattern));
                at += 16;
            }
            if at < end {
                difference = _mm_or_si128(difference, _mm_xor_si128(load(end - 16), pattern));
            }
            _mm_movemask_epi8(_mm_cmpeq_epi8(difference, _mm_setzero_si128())) == 0xFFFF
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let pattern = u64::from_ne_bytes([value; 8]);
        // SAFETY: every load below lies inside `[start, start + len)`, `len >= 16`.
        let word = |at: usize| unsafe { (at as *const u64).read_unaligned() } ^ pattern;
        let mut difference = word(start + len - 8);
        let mut at = start;
        while at + 8 <= start + len {
            difference |= word(at);
            at += 8;
        }
        difference == 0
    }
}

/// Whether the `len` bytes at `start` are all zero, for a slot of a size class (16-byte
/// aligned, a multiple of 16 bytes long) that no block has held yet (`small`'s
/// `check_carved_slot`): on x86-64 aligned 16-byte loads ORed together, 64 bytes a step
/// (the loads fold into the ORs: about half of [`all_bytes_are`]'s instructions, which
/// compare with a pattern 32 bytes a step), then 16 at a time; elsewhere [`all_bytes_are`].
///
/// # Safety
/// `[start, start + len)` is readable, `start` is 16-byte aligned and `len` a multiple of 16.
#[inline]
pub unsafe fn all_zero_aligned(start: usize, len: usize) -> bool {
    debug_assert!(start % 16 == 0 && len % 16 == 0);
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_load_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_setzero_si128,
        };
        // SAFETY: SSE2 is part of x86-64's base instruction set; each load reads 16 bytes
        // inside `[start, start + len)`, readable by the caller contract, at a multiple of 16
        // from `start`, so 16-byte aligned as `_mm_load_si128` requires.
        unsafe {
            let load = |at: usize| _mm_load_si128(at as *const __m128i);
            let end = start + len;
            let mut any = _mm_setzero_si128();
            let mut at = start;
            while at + 64 <= end {
                let low = _mm_or_si128(load(at), load(at + 16));
                let high = _mm_or_si128(load(at + 32), load(at + 48));
                any = _mm_or_si128(any, _mm_or_si128(low, high));
                at += 64;
            }
            while at < end {
                any = _mm_or_si128(any, load(at));
                at += 16;
            }
            _mm_movemask_epi8(_mm_cmpeq_epi8(any, _mm_setzero_si128())) == 0xFFFF
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // SAFETY: caller contract.
        unsafe { all_bytes_are(start, len, 0) }
    }
}

/// [`all_bytes_are`] for `16 <= len <= 128` with no loop: two, four, six or eight overlapping
/// 16-byte loads XORed with the pattern and ORed together (as [`canary_damage_inline`] reads
/// a redzone), for the whole-block poison check of a small block leaving the quarantine.
///
/// # Safety
/// `[start, start + len)` is readable and `16 <= len <= 128`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn all_bytes_are_short(start: usize, len: usize, value: u8) -> bool {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        _mm_setzero_si128, _mm_xor_si128,
    };
    debug_assert!((16..=128).contains(&len));
    let end = start + len;
    // SAFETY: every load reads 16 bytes inside `[start, end)` (`len >= 16`; the loads at
    // `start + 16` and `end - 32` only when `len > 32`, those at `start + 32` and `end - 48`
    // only when `len > 64`, those at `start + 48` and `end - 64` only when `len > 96`),
    // readable by the caller contract; `loadu` has no alignment requirement; SSE2 is part of
    // x86-64.
    unsafe {
        let pattern = _mm_set1_epi8(value as i8);
        let load = |at: usize| _mm_xor_si128(_mm_loadu_si128(at as *const __m128i), pattern);
        let mut difference = _mm_or_si128(load(start), load(end - 16));
        if len > 32 {
            difference = _mm_or_si128(difference, _mm_or_si128(load(start + 16), load(end - 32)));
        }
        if len > 64 {
            // 65 to 96 bytes: three loads from each end cover them (two fewer than four).
            difference = _mm_or_si128(difference, _mm_or_si128(load(start + 32), load(end - 48)));
            if len > 96 {
                difference =
                    _mm_or_si128(difference, _mm_or_si128(load(start + 48), load(end - 64)));
            }
        }
        _mm_movemask_epi8(_mm_cmpeq_epi8(difference, _mm_setzero_si128())) == 0xFFFF
    }
}

/// From how many bytes [`poison_damage`] checks with the AVX2 loop (a call, not inlined): the
/// ranges of 16 to 128 bytes are checked inline by [`all_bytes_are_short`]; everything above
/// by the AVX2 loop (blocks of 129 to 255 bytes went through `first_difference`'s SSE2 loop,
/// one more call and about twice the loop's instructions: 4.6 instructions a pair fewer on
/// `gpa-bench`'s `mixed-1t` in debug mode). Redzone and guard checks keep the SSE2 loop.
#[cfg(target_arch = "x86_64")]
const AVX2_FROM: usize = 129;

/// [`all_bytes_are`] for `len >= 32` on a CPU with AVX2 (most x86-64 CPUs since 2013; the
/// check is one cached flag): 128 bytes per step in four 32-byte loads, each XORed with the
/// pattern and ORed into two accumulators, the ragged end covered by overlapping loads.
/// The whole-block poison check of a freed block leaving the quarantine costs a quarter of
/// the SSE2 loop's instructions with it.
///
/// # Safety
/// As for [`all_bytes_are`], `len >= 32`, and the CPU supports AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn all_bytes_are_avx2(start: usize, len: usize, value: u8) -> bool {
    use core::arch::x86_64::{
        __m256i, _mm256_loadu_si256, _mm256_or_si256, _mm256_set1_epi8, _mm256_setzero_si256,
        _mm256_testz_si256, _mm256_xor_si256,
    };
    debug_assert!(len >= 32);
    // SAFETY: each load reads 32 bytes inside `[start, start + len)` (`len >= 32`), readable
    // by the caller contract; `loadu` has no alignment requirement; AVX2 is available (caller
    // contract).
    unsafe {
        let pattern = _mm256_set1_epi8(value as i8);
        let end = start + len;
        let load = |at: usize| _mm256_xor_si256(_mm256_loadu_si256(at as *const __m256i), pattern);
        let (mut first, mut second) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let mut at = start;
        if len >= 128 {
            // 128-byte steps while more than 128 bytes are left, then the last 128 bytes
            // (overlapping the last step's): no 32-byte loop for the ragged end, and the
            // loop's test one compare with a bound computed once.
            let last = end - 128;
            while at < last {
                first = _mm256_or_si256(first, _mm256_or_si256(load(at), load(at + 32)));
                second = _mm256_or_si256(second, _mm256_or_si256(load(at + 64), load(at + 96)));
                at += 128;
            }
            first = _mm256_or_si256(first, _mm256_or_si256(load(last), load(last + 32)));
            second = _mm256_or_si256(second, _mm256_or_si256(load(last + 64), load(last + 96)));
        } else {
            let last = end - 32;
            while at < last {
                first = _mm256_or_si256(first, load(at));
                at += 32;
            }
            second = _mm256_or_si256(second, load(last));
        }
        let difference = _mm256_or_si256(first, second);
        _mm256_testz_si256(difference, difference) != 0
    }
}

/// [`all_bytes_are`] for `len < 16`: two overlapping loads of 8 or 4 bytes, or bytes.
///
/// # Safety
/// As for [`all_bytes_are`].
#[inline(always)]
unsafe fn short_bytes_are(start: usize, len: usize, value: u8) -> bool {
    // SAFETY: every read below lies inside `[start, start + len)`, readable by the
    // caller contract; unaligned reads have no alignment requirement.
    unsafe {
        if len >= 8 {
            let pattern = u64::from_ne_bytes([value; 8]);
            let first = (start as *const u64).read_unaligned();
            let last = ((start + len - 8) as *const u64).read_unaligned();
            return (first ^ pattern) | (last ^ pattern) == 0;
        }
        if len >= 4 {
            let pattern = u32::from_ne_bytes([value; 4]);
            let first = (start as *const u32).read_unaligned();
            let last = ((start + len - 4) as *const u32).read_unaligned();
            return (first ^ pattern) | (last ^ pattern) == 0;
        }
        (0..len).all(|offset| *((start + offset) as *const u8) == value)
    }
}

/// The offset of the first of `len` bytes at `start` that differs from `value`, if any (the
/// common, intact case costs what [`all_bytes_are`] costs).
///
/// # Safety
/// `[start, start + len)` is readable.
#[inline]
pub unsafe fn first_difference(start: usize, len: usize, value: u8) -> Option<usize> {
    // SAFETY: caller contract.
    if unsafe { all_bytes_are(start, len, value) } {
        return None;
    }
    // SAFETY: caller contract.
    (0..len).find(|&offset| unsafe { *((start + offset) as *const u8) } != value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_writes_its_range_whole_and_nothing_around_it() {
        // Lengths on each side of the loop's bounds (32, 128, `FILL_AVX2_MAX`) and of its
        // 128-byte steps, at every start offset of a 32-byte vector.
        let lens = [
            0, 1, 31, 32, 33, 63, 64, 127, 128, 129, 255, 256, 257, 1000, 2047, 2048, 2049,
        ];
        let mut buffer = std::vec![0u8; 2049 + 64 + 32];
        for len in lens {
            for offset in 0..32 {
                buffer.fill(0x11);
                let start = buffer.as_mut_ptr() as usize + 32 + offset;
                // SAFETY: `[start, start + len)` lies in `buffer` (32 + 31 + 2,049 bytes at
                // most, of 2,145), written only through this call.
                unsafe { fill(start, len, POISON) };
                let at = 32 + offset;
                assert!(
                    buffer[..at].iter().all(|&b| b == 0x11),
                    "before: {len} at {offset}"
                );
                assert!(
                    buffer[at..at + len].iter().all(|&b| b == POISON),
                    "inside: {len} at {offset}"
                );
                assert!(
                    buffer[at + len..].iter().all(|&b| b == 0x11),
                    "after: {len} at {offset}"
                );
            }
        }
    }

    #[test]
    fn all_zero_aligned_sees_every_changed_byte() {
        #[repr(align(16))]
        struct Slot([u8; 320]);
        let mut slot = Slot([0; 320]);
        let base = slot.0.as_mut_ptr() as usize;
        // The bytes read and written lie in `slot`, accessed only through `base` from here on;
        // `base` is 16-byte aligned and every `len` a multiple of 16, at most 320.
        // SAFETY: see above.
        let set = |at: usize, value: u8| unsafe { ((base + at) as *mut u8).write(value) };
        // SAFETY: see above.
        let zero = |len: usize| unsafe { all_zero_aligned(base, len) };
        for len in (16..=320).step_by(16) {
            assert!(zero(len), "len {len}");
            for at in 0..len {
                set(at, 0x11);
                assert!(!zero(len), "len {len}, byte {at}");
                set(at, 0);
            }
            // A byte past the range is not looked at.
            if len < 320 {
                set(len, 0x11);
                assert!(zero(len), "len {len}, past");
                set(len, 0);
            }
        }
    }

    #[test]
    fn canary_and_poison_detect_changes() {
        let mut block = [0u8; 64];
        let base = block.as_mut_ptr() as usize;
        let byte = |index: usize| (base + index) as *mut u8;
        // SAFETY: all ranges and bytes are inside `block`, accessed only through `base`.
        unsafe {
            write_canary(base, 10, 64);
            assert_eq!(canary_damage(base, 10, 64), None);
            byte(41).write(0);
            assert_eq!(canary_damage(base, 10, 64), Some(41));
            byte(10).write(0);
            assert_eq!(canary_damage(base, 10, 64), Some(10));
            poison(base, 64);
            assert_eq!(poison_damage(base, 0, 64), None);
            byte(40).write(1);
            assert_eq!(poison_damage(base, 0, 64), Some(40));
            assert_eq!(poison_damage(base, 41, 64), None);
        }
    }

    /// The inline poison fills exactly `[block, block + len)`, at every length it handles
    /// inline and those it hands to `memset`, at every alignment of the block to 32 bytes
    /// for the longer ones (rptest's sizes, up to 16 KiB).
    #[test]
    fn inline_poison_fills_exactly_the_block() {
        let lengths = (0..700).chain([1023, 1024, 1025, 4095, 4096, 4097, 16000, 16383, 16384]);
        for len in lengths {
            let shifts = if len > INLINE_POISON_MAX {
                0..33
            } else {
                16..17
            };
            for shift in shifts {
                let mut buffer = vec![0x11u8; len + 96];
                // `shift` sets the block's offset from a 32-byte boundary.
                let base = (buffer.as_mut_ptr() as usize + 31) & !31;
                let block = base + shift;
                let lead = block - buffer.as_ptr() as usize;
                // SAFETY: `[block, block + len)` lies inside `buffer` (`lead <= 64`).
                unsafe { poison_inline(block, len) };
                for (offset, &byte) in buffer.iter().enumerate() {
                    let inside = offset >= lead && offset < lead + len;
                    assert_eq!(
                        byte,
                        if inside { POISON } else { 0x11 },
                        "{len} {shift} {offset}"
                    );
                }
            }
        }
    }

    /// The inline canary check finds what [`canary_damage`] finds, for any redzone length
    /// and any damaged byte, and does not look outside the redzone: both ways, with the long
    /// redzones by the AVX2 loop (`canary_damage_long`, the Rust frees) or by
    /// `first_difference` (the C entries).
    #[test]
    fn inline_canary_check_finds_the_first_damaged_byte() {
        // Up to 128 bytes of redzone inline; from `AVX2_FROM` (129) by the AVX2 loop, whose
        // steps and ragged end these capacities cover.
        for capacity in [
            16usize, 32, 48, 64, 80, 96, 128, 144, 160, 192, 224, 256, 320, 512,
        ] {
            for requested in 0..=capacity {
                let mut buffer = vec![0u8; capacity + 32];
                let block = buffer.as_mut_ptr() as usize + 16;
                // SAFETY: `[block, block + capacity)` lies inside `buffer`, which only
                // `block` accesses here.
                unsafe {
                    write_canary(block, requested, capacity);
                    assert_eq!(
                        canary_damage_inline::<true>(block, requested, capacity),
                        None
                    );
                    assert_eq!(
                        canary_damage_inline::<false>(block, requested, capacity),
                        None
                    );
                    for damaged in requested..capacity {
                        let byte = (block + damaged) as *mut u8;
                        byte.write(0);
                        assert_eq!(
                            canary_damage_inline::<true>(block, requested, capacity),
                            Some(damaged),
                            "{capacity} {requested} {damaged}"
                        );
                        assert_eq!(
                            canary_damage_inline::<false>(block, requested, capacity),
                            Some(damaged),
                            "{capacity} {requested} {damaged}"
                        );
                        byte.write(CANARY);
                    }
                }
            }
        }
    }

    #[test]
    fn all_bytes_are_finds_any_changed_byte_at_any_length_and_offset() {
        let mut buffer = [0x5Au8; 320];
        let base = buffer.as_mut_ptr() as usize;
        for offset in 0..8 {
            for len in 0..300 {
                // SAFETY: `[base + offset, base + offset + len)` is inside `buffer`.
                let intact = unsafe { all_bytes_are(base + offset, len, 0x5A) };
                assert!(intact, "{offset} {len}");
                for changed in 0..len {
                    let byte = (base + offset + changed) as *mut u8;
                    // SAFETY: inside `buffer`, which only `base` accesses here.
                    unsafe {
                        byte.write(0x5B);
                        assert!(
                            !all_bytes_are(base + offset, len, 0x5A),
                            "{offset} {len} {changed}"
                        );
                        assert_eq!(first_difference(base + offset, len, 0x5A), Some(changed));
                        byte.write(0x5A);
                    }
                }
                // The bytes just outside the range do not count.
                // SAFETY: `offset + len + 1 <= 308 < 320`, and `offset - 1` only when positive.
                unsafe {
                    ((base + offset + len) as *mut u8).write(0);
                    if offset > 0 {
                        ((base + offset - 1) as *mut u8).write(0);
                    }
                    assert!(all_bytes_are(base + offset, len, 0x5A), "{offset} {len}");
                    ((base + offset + len) as *mut u8).write(0x5A);
                    if offset > 0 {
                        ((base + offset - 1) as *mut u8).write(0x5A);
                    }
                }
            }
        }
    }

    /// The AVX2 fill and check (on CPUs that have it) at every length from 32 to 700 bytes
    /// and every start offset within a 32-byte line: the fill writes exactly its range, and
    /// the check finds a changed byte at every offset, and nothing outside the range.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_fill_and_check_cover_every_byte() {
        if !std::is_x86_feature_detected!("avx2") {
            eprintln!("skipped: this CPU has no AVX2");
            return;
        }
        for len in 32..=700usize {
            for shift in [0usize, 1, 8, 17, 31] {
                let mut buffer = vec![0x11u8; len + 96];
                let base = (buffer.as_mut_ptr() as usize + 31) & !31;
                let start = base + 32 + shift;
                let lead = start - buffer.as_ptr() as usize;
                // SAFETY: `[start, start + len)` lies inside `buffer` (`lead <= 94`, and
                // `lead + len <= len + 94`); the CPU has AVX2.
                unsafe { fill_avx2(start, len, POISON) };
                for (offset, &byte) in buffer.iter().enumerate() {
                    let inside = offset >= lead && offset < lead + len;
                    assert_eq!(byte, if inside { POISON } else { 0x11 }, "{len} {shift}");
                }
                // SAFETY: as above; the bytes around the range are 0x11, not poison.
                unsafe {
                    assert!(all_bytes_are_avx2(start, len, POISON), "{len} {shift}");
                    for changed in 0..len {
                        let byte = (start + changed) as *mut u8;
                        byte.write(0);
                        assert!(!all_bytes_are_avx2(start, len, POISON), "{len} {changed}");
                        byte.write(POISON);
                    }
                }
            }
        }
    }

    /// The AVX2 loop of the poison check (on CPUs that have it): one and two 128-byte steps,
    /// 32-byte steps and an overlapping end, any changed byte found, none outside the range.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_avx2_loop_finds_any_changed_byte() {
        if !std::is_x86_feature_detected!("avx2") {
            eprintln!("skipped: this CPU has no AVX2");
            return;
        }
        let mut buffer = [POISON; 400];
        let base = buffer.as_mut_ptr() as usize;
        for offset in [0, 1, 7, 8, 31] {
            for len in (32..330).step_by(3) {
                let start = base + offset;
                // SAFETY: `[start, start + len)` is inside `buffer`; the CPU has AVX2.
                let intact = unsafe { all_bytes_are_avx2(start, len, POISON) };
                assert!(intact, "{offset} {len}");
                for changed in [
                    0,
                    1,
                    len / 2,
                    len.saturating_sub(33),
                    len - 32,
                    len - 2,
                    len - 1,
                ] {
                    let byte = (start + changed) as *mut u8;
                    // SAFETY: inside `buffer`, which only `base` accesses here.
                    unsafe {
                        byte.write(0);
                        assert!(
                            !all_bytes_are_avx2(start, len, POISON),
                            "{offset} {len} {changed}"
                        );
                        assert_eq!(poison_damage(start, 0, len), Some(changed));
                        byte.write(POISON);
                    }
                }
                // SAFETY: the bytes around the range are inside `buffer` (`offset + len + 1 <=
                // 361 < 400`; `start - 1` only when `offset > 0`).
                unsafe {
                    ((start + len) as *mut u8).write(0);
                    if offset > 0 {
                        ((start - 1) as *mut u8).write(0);
                    }
                    assert!(all_bytes_are_avx2(start, len, POISON), "{offset} {len}");
                    ((start + len) as *mut u8).write(POISON);
                    if offset > 0 {
                        ((start - 1) as *mut u8).write(POISON);
                    }
                }
            }
        }
    }

    #[test]
    fn writes_anywhere_in_a_freed_block_are_found_zeros_included() {
        let mut block = std::vec![0u8; 8192];
        let base = block.as_mut_ptr() as usize;
        // SAFETY: all ranges are inside `block`.
        unsafe {
            poison(base, 8192);
            assert_eq!(poison_damage(base, 0, 8192), None);
            ((base + 8191) as *mut u8).write(0);
            assert_eq!(poison_damage(base, 0, 8192), Some(8191));
            ((base + 4104) as *mut u8).write(0);
            assert_eq!(poison_damage(base, 0, 8192), Some(4104));
            assert_eq!(poison_damage(base, 8192, 8192), None);
        }
    }

    /// The eviction's poison check of short blocks (`all_bytes_are_short`, 16 to 128 bytes
    /// past `skip`; inline or called) finds the first changed byte at every length, skip and
    /// offset, and nothing before `skip` or outside the block.
    #[test]
    fn poison_damage_finds_the_first_changed_byte_of_short_blocks() {
        // Past `AVX2_FROM` (129) and the AVX2 loop's first 128-byte step, its 32-byte steps
        // and its overlapping last load, so each of the checks' ways is compared.
        for len in 8..=300 {
            for skip in [0, 8] {
                let mut buffer = std::vec![0u8; len + 64];
                let block = buffer.as_mut_ptr() as usize + 32;
                // SAFETY: every range and byte below lies inside `buffer`.
                unsafe {
                    poison(block, len);
                    assert_eq!(poison_damage(block, skip, len), None, "{len} {skip}");
                    assert_eq!(poison_damage_inline(block, skip, len), None);
                    for at in 0..len {
                        let byte = (block + at) as *mut u8;
                        byte.write(0);
                        let expected = (at >= skip).then_some(at);
                        assert_eq!(
                            poison_damage(block, skip, len),
                            expected,
                            "{len} {skip} {at}"
                        );
                        assert_eq!(poison_damage_inline(block, skip, len), expected);
                        byte.write(POISON);
                    }
                }
            }
        }
    }

    #[test]
    fn redzones_grow_with_the_block_and_cover_32_bytes() {
        let mut previous = 0;
        for size in [1usize, 8, 128, 129, 512, 4096, 5000, 16384, 65536, 1 << 20] {
            let zone = redzone(size);
            assert!(zone >= 32 && zone >= previous, "{size}: {zone}");
            assert!(
                size < 512 || zone * 4 <= size,
                "{size}: {zone} is over a quarter"
            );
            previous = zone;
        }
    }
}
