//! Safety-mode byte patterns: poison for freed memory, canaries after live blocks.
//!
//! # Design
//! Freed memory is filled with [`POISON`] (0xAA, Zig's `undefined`), so use-after-free reads
//! see an obvious pattern and writes after free can be detected: the poison is checked when a
//! block leaves the quarantine (before it can be reused) and at `deinit`. The bytes right after
//! a live block's requested size, up to [`CANARY_LEN`] of them, hold [`CANARY`]; they are
//! checked when the block is freed or resized and at `deinit`, which catches overflows by one
//! byte or more (an overflow that writes further has to cross them). Safety mode asks the size
//! class for [`CANARY_ROOM`] extra bytes, so there is always at least that much canary.
//!
//! Poisoning and checking touch at most [`POISON_CHECK_LIMIT`] bytes per block: a write after
//! free lands in the first bytes of a block in practice (headers, lengths, pointers), and the
//! limit keeps safety mode within a small factor of the fast mode for big blocks.

/// Freed memory's fill byte.
pub const POISON: u8 = 0xAA;
/// The fill byte after a block's requested size.
pub const CANARY: u8 = 0xC5;
/// The most canary bytes written after a block.
pub const CANARY_LEN: usize = 16;
/// Extra bytes safety mode reserves after each block, so a canary always exists.
pub const CANARY_ROOM: usize = 8;
/// The most bytes of a freed block poisoned.
pub const POISON_LIMIT: usize = 4096;
/// The most bytes of a freed block checked for writes after free.
pub const POISON_CHECK_LIMIT: usize = 64;

/// Fills the canary after `requested` bytes of a block of `capacity` bytes at `block`.
///
/// # Safety
/// `[block, block + capacity)` is writable memory of the block.
#[inline]
pub unsafe fn write_canary(block: usize, requested: usize, capacity: usize) {
    let end = capacity.min(requested + CANARY_LEN);
    if end > requested {
        // SAFETY: caller contract; `requested < end <= capacity`.
        unsafe { core::ptr::write_bytes((block + requested) as *mut u8, CANARY, end - requested) };
    }
}

/// Whether the canary after `requested` bytes is intact.
///
/// # Safety
/// As for [`write_canary`], readable.
#[inline]
pub unsafe fn canary_intact(block: usize, requested: usize, capacity: usize) -> bool {
    let end = capacity.min(requested + CANARY_LEN);
    // SAFETY: caller contract.
    unsafe { all_bytes_are(block + requested, end.saturating_sub(requested), CANARY) }
}

/// Poisons the first bytes of a freed block.
///
/// # Safety
/// `[block, block + len)` is writable memory that nobody uses any more.
#[inline]
pub unsafe fn poison(block: usize, len: usize) {
    // SAFETY: caller contract.
    unsafe { core::ptr::write_bytes(block as *mut u8, POISON, len.min(POISON_LIMIT)) };
}

/// Whether the poisoned bytes of a freed block, from `skip` on, are unchanged.
///
/// # Safety
/// `[block, block + len)` is readable memory of a freed block.
#[inline]
pub unsafe fn poison_intact(block: usize, skip: usize, len: usize) -> bool {
    let end = len.min(POISON_CHECK_LIMIT);
    if skip >= end {
        return true;
    }
    // SAFETY: caller contract.
    unsafe { all_bytes_are(block + skip, end - skip, POISON) }
}

/// Whether `len` bytes at `start` all equal `value`, compared eight at a time.
///
/// # Safety
/// `[start, start + len)` is readable.
#[inline]
unsafe fn all_bytes_are(start: usize, len: usize, value: u8) -> bool {
    let word = u64::from_ne_bytes([value; 8]);
    let mut offset = 0;
    let mut difference = 0u64;
    while offset + 8 <= len {
        // SAFETY: in bounds (caller contract); unaligned reads are allowed by read_unaligned.
        difference |= unsafe { ((start + offset) as *const u64).read_unaligned() } ^ word;
        offset += 8;
    }
    while offset < len {
        // SAFETY: in bounds (caller contract).
        difference |= u64::from(unsafe { *((start + offset) as *const u8) } ^ value);
        offset += 1;
    }
    difference == 0
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
            assert!(canary_intact(base, 10, 64));
            byte(10).write(0);
            assert!(!canary_intact(base, 10, 64));
            poison(base, 64);
            assert!(poison_intact(base, 0, 64));
            byte(40).write(1);
            assert!(!poison_intact(base, 0, 64));
            assert!(poison_intact(base, 41, 64));
        }
    }
}
