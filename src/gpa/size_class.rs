//! Size classes: the block sizes small requests are rounded up to.
//!
//! # Design
//! Pure policy, no state. Sizes up to 128 bytes use classes every 16 bytes (plus an 8-byte
//! class); above that there are four classes per doubling, so a request wastes at most 25% and
//! typically about 10% (Zig's powers of two waste up to 50%; mimalloc spaces its bins the same
//! way as here). Classes end at [`MAX_SMALL_SIZE`]; bigger blocks are large blocks.
//!
//! # Invariants (checked by the tests below)
//! * `class_size(class_of(n)) >= n` for every `n` in `1..=MAX_SMALL_SIZE`, and the class is the
//!   smallest such.
//! * For a power-of-two alignment `a <= MAX_SMALL_ALIGN` and a size `n` that is a multiple of
//!   `a`, `class_size(class_of(n))` is a multiple of `a`; since pages start at multiples of
//!   their span, every slot of that class is then `a`-aligned.

/// The largest block served from a size class.
pub const MAX_SMALL_SIZE: usize = 128 * 1024;
/// The largest alignment served from a size class; stricter requests become large blocks.
pub const MAX_SMALL_ALIGN: usize = 4096;
/// The number of size classes.
pub const CLASS_COUNT: usize = 49;

/// Index of a size class, `0..CLASS_COUNT`.
pub type Class = usize;

const fn compute_class_size(class: Class) -> usize {
    if class == 0 {
        8
    } else if class <= 8 {
        class * 16
    } else {
        let doubling = 7 + (class - 9) / 4;
        let quarter = (class - 9) % 4;
        (5 + quarter) << (doubling - 2)
    }
}

const CLASS_SIZES: [u32; CLASS_COUNT] = {
    let mut sizes = [0u32; CLASS_COUNT];
    let mut class = 0;
    while class < CLASS_COUNT {
        sizes[class] = compute_class_size(class) as u32;
        class += 1;
    }
    sizes
};

/// Classes of sizes `1..=1024` indexed by `(size + 7) / 8`, the common case as one load.
const SMALL_LOOKUP: [u8; 129] = {
    let mut table = [0u8; 129];
    let mut index = 1;
    while index <= 128 {
        table[index] = compute_class_of(index * 8) as u8;
        index += 1;
    }
    table
};

const _: () = assert!(compute_class_size(CLASS_COUNT - 1) == MAX_SMALL_SIZE);

const fn compute_class_of(size: usize) -> Class {
    if size <= 8 {
        0
    } else if size <= 128 {
        size.div_ceil(16)
    } else {
        let last = size - 1;
        let doubling = (usize::BITS - 1 - last.leading_zeros()) as usize;
        let quarter = (last >> (doubling - 2)) & 3;
        9 + (doubling - 7) * 4 + quarter
    }
}

/// The class serving `size` bytes (`1..=MAX_SMALL_SIZE`).
#[inline]
pub fn class_of(size: usize) -> Class {
    debug_assert!(size > 0 && size <= MAX_SMALL_SIZE);
    if size <= 1024 {
        SMALL_LOOKUP[size.div_ceil(8)] as Class
    } else {
        compute_class_of(size)
    }
}

/// The largest request [`c_class_of`] serves (one table load).
pub const C_LOOKUP_MAX: usize = 1024;

/// Classes of C requests (16-byte alignment) of sizes `0..=C_LOOKUP_MAX`, indexed by
/// `(size + 15) / 16`: class boundaries up to 1024 are multiples of 16.
const C_LOOKUP: [u8; C_LOOKUP_MAX / 16 + 1] = {
    let mut table = [0u8; C_LOOKUP_MAX / 16 + 1];
    let mut index = 0;
    while index < table.len() {
        let size = if index == 0 { 16 } else { index * 16 };
        table[index] = compute_class_of(size) as u8;
        index += 1;
    }
    table
};

/// Entries of a heap's direct page table (`Heap::direct`): one per 16 bytes of a C request
/// up to [`C_LOOKUP_MAX`], indexed like [`c_class_of`]'s table.
pub const C_DIRECT_ENTRIES: usize = C_LOOKUP_MAX / 16 + 1;

/// The direct-table indices of each class, `first..=last` (empty, `(1, 0)`, for a class no C
/// request up to [`C_LOOKUP_MAX`] maps to): [`c_class_of`]'s table is sorted, so each class
/// has one run.
pub const C_DIRECT_SPANS: [(u8, u8); CLASS_COUNT] = {
    let mut spans = [(1u8, 0u8); CLASS_COUNT];
    let mut index = 0;
    while index < C_LOOKUP.len() {
        let class = C_LOOKUP[index] as usize;
        if spans[class].0 > spans[class].1 {
            spans[class].0 = index as u8;
        }
        spans[class].1 = index as u8;
        index += 1;
    }
    spans
};

/// The class of a C request of `size <= C_LOOKUP_MAX` bytes at C's 16-byte alignment
/// (`class_for(size, 16)`, zero included, as one table load).
#[inline(always)]
pub fn c_class_of(size: usize) -> Class {
    debug_assert!(size <= C_LOOKUP_MAX);
    C_LOOKUP[size.div_ceil(16)] as Class
}

/// The class of a C request (16-byte alignment) of `size` bytes, or `None` above
/// [`MAX_SMALL_SIZE`]: one table load up to [`C_LOOKUP_MAX`], computed above it (classes
/// above 128 bytes are multiples of 16, C's alignment).
#[inline(always)]
pub fn c_small_class_of(size: usize) -> Option<Class> {
    if size <= C_LOOKUP_MAX {
        Some(c_class_of(size))
    } else if size <= MAX_SMALL_SIZE {
        Some(class_of(size))
    } else {
        None
    }
}

/// The block size of `class`.
#[inline]
pub const fn class_size(class: Class) -> usize {
    CLASS_SIZES[class] as usize
}

/// The class for a request of `size` bytes at `align`, or `None` when it must be a large
/// block.
#[inline]
pub fn class_for(size: usize, align: usize) -> Option<Class> {
    if align <= 16 {
        if align <= 8 && size <= 1024 {
            // The common case as one load; entry 0 is size 1's class, so a request for no
            // bytes takes the smallest slot without a `max`.
            return Some(SMALL_LOOKUP[size.div_ceil(8)] as Class);
        }
        if size <= MAX_SMALL_SIZE {
            return Some(class_of(size.max(if align > 8 { 16 } else { 1 })));
        }
        return None;
    }
    class_for_aligned(size, align)
}

#[cold]
fn class_for_aligned(size: usize, align: usize) -> Option<Class> {
    if align > MAX_SMALL_ALIGN {
        return None;
    }
    // A request for no bytes takes one slot of the alignment (`operator new[](0, align)`).
    let rounded = size.max(1).checked_add(align - 1)? & !(align - 1);
    (rounded <= MAX_SMALL_SIZE).then(|| class_of(rounded))
}

/// How many 64 KiB units a page of `class` spans: enough for at least eight slots.
pub const fn page_units(class: Class) -> usize {
    let wanted = compute_class_size(class) * 8;
    let units = wanted.div_ceil(super::segment::UNIT_SIZE);
    if units == 0 {
        1
    } else {
        units.next_power_of_two()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_spans_cover_every_c_request_up_to_the_lookup_limit_once() {
        let mut seen = [0u32; C_DIRECT_ENTRIES];
        for (class, &(first, last)) in C_DIRECT_SPANS.iter().enumerate() {
            for index in first..=last {
                seen[index as usize] += 1;
                assert_eq!(C_LOOKUP[index as usize] as usize, class);
            }
        }
        assert!(seen.iter().all(|&count| count == 1), "{seen:?}");
        for size in 0..=C_LOOKUP_MAX {
            let (first, last) = C_DIRECT_SPANS[c_class_of(size)];
            assert!((first as usize..=last as usize).contains(&size.div_ceil(16)));
        }
    }

    #[test]
    fn classes_cover_every_size_tightly() {
        for size in 1..=MAX_SMALL_SIZE {
            let class = class_of(size);
            assert!(class_size(class) >= size, "size {size}");
            if class > 0 {
                assert!(class_size(class - 1) < size, "size {size} not tight");
            }
        }
    }

    #[test]
    fn aligned_requests_get_aligned_classes() {
        let mut align = 1;
        while align <= MAX_SMALL_ALIGN {
            for size in (align..=MAX_SMALL_SIZE).step_by(align) {
                let class = class_for(size, align).expect("small");
                assert_eq!(class_size(class) % align, 0, "size {size} align {align}");
                assert!(class_size(class) >= size);
            }
            align *= 2;
        }
        assert_eq!(class_for(10, 8192), None);
        assert_eq!(class_for(MAX_SMALL_SIZE + 1, 8), None);
        // No bytes at a large alignment: one slot of that alignment.
        for align in [32, 64, 4096] {
            let class = class_for(0, align).expect("small");
            assert_eq!(class_size(class) % align, 0, "align {align}");
        }
    }

    #[test]
    fn c_classes_match_the_general_rule() {
        for size in 0..=C_LOOKUP_MAX {
            assert_eq!(Some(c_class_of(size)), class_for(size, 16), "size {size}");
        }
    }

    #[test]
    fn waste_is_bounded() {
        for size in 129..=MAX_SMALL_SIZE {
            let waste = class_size(class_of(size)) - size;
            assert!(waste * 4 < size, "size {size} wastes {waste}");
        }
    }

    #[test]
    fn pages_hold_at_least_eight_slots_and_fit_a_segment() {
        for class in 0..CLASS_COUNT {
            let units = page_units(class);
            assert!(units * super::super::segment::UNIT_SIZE / class_size(class) >= 8);
            assert!(units <= 32);
        }
    }
}
