//! Safety-mode byte patterns: poison for freed memory, redzones after live blocks.
//!
//! # Design
//! Freed memory is filled with [`POISON`] (0xAA, Zig's `undefined`), so use-after-free reads
//! see an obvious pattern and writes after free can be detected: the poison is checked when a
//! block leaves the quarantine (before it can be reused) and at `deinit`.
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
//! A freed small block is poisoned whole, and its whole poison is checked when it leaves the
//! quarantine (or at exit): a write after free of any value (zeros included) anywhere in the
//! block is found, with the block's free trace. Small blocks are 128 KiB at most; a freed
//! large block needs no poison in safety mode, its range is kept inaccessible instead (any
//! access faults), except with `Config::never_unmap`, where its first [`POISON_LIMIT`] bytes
//! are poisoned for the reader's eye only.

/// Freed memory's fill byte.
pub const POISON: u8 = 0xAA;
/// The fill byte of the redzone after a block's requested size.
pub const CANARY: u8 = 0xC5;
/// The most bytes of a freed large block kept mapped (`Config::never_unmap`) poisoned.
pub const POISON_LIMIT: usize = 4096;

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
        unsafe {
            core::ptr::write_bytes((block + requested) as *mut u8, CANARY, capacity - requested)
        };
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

/// Poisons a freed block of `len` bytes, all of them.
///
/// # Safety
/// `[block, block + len)` is writable memory that nobody uses any more.
#[inline]
pub unsafe fn poison(block: usize, len: usize) {
    // SAFETY: caller contract.
    unsafe { core::ptr::write_bytes(block as *mut u8, POISON, len) };
}

/// The offset of the first byte of a freed block of `len` bytes (from `skip` on) that is not
/// poison any more, if any: a write after free.
///
/// # Safety
/// `[block, block + len)` is readable memory of a freed block poisoned by [`poison`].
#[inline]
pub unsafe fn poison_damage(block: usize, skip: usize, len: usize) -> Option<usize> {
    let skip = skip.min(len);
    // SAFETY: caller contract; `[block + skip, block + len)` lies inside the block.
    unsafe { first_difference(block + skip, len - skip, POISON) }.map(|at| skip + at)
}

/// Whether `len` bytes at `start` all equal `value`. Written as a branch-free reduction,
/// which the compiler turns into vector compares (16 or 32 bytes per step).
///
/// # Safety
/// `[start, start + len)` is readable.
#[inline]
pub unsafe fn all_bytes_are(start: usize, len: usize, value: u8) -> bool {
    // SAFETY: caller contract.
    let bytes = unsafe { core::slice::from_raw_parts(start as *const u8, len) };
    // Eight bytes per step (the byte-wise form was left scalar by the compiler).
    let pattern = u64::from_ne_bytes([value; 8]);
    let words = bytes.chunks_exact(8);
    let tail = words
        .remainder()
        .iter()
        .fold(0u8, |difference, &byte| difference | (byte ^ value));
    let body = words.fold(0u64, |difference, word| {
        difference
            | (u64::from_ne_bytes([
                word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
            ]) ^ pattern)
    });
    body == 0 && tail == 0
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
