//! Where a comparison stops (`memcmp`, `strcmp`, `strncasecmp`, `wcscmp`...): whether, among
//! the first `within` units of two ranges, one differs or (for strings) one of the first range
//! is a NUL. [`super::check_compare`] asks this of the units both ranges have in bounds; a
//! comparison that does not stop there reads past a block's end.
//!
//! # Design
//! On x86_64 the units are compared 16 bytes at a time with SSE2 (part of the x86_64
//! baseline, so no feature detection): one load of each side, a byte (or 4-byte, for
//! `wchar_t`) equality, a NUL test, ASCII letters folded with a range compare for
//! `strcasecmp`; then a last chunk that ends exactly at `within` (overlapping the one before
//! it), or the units one at a time when fewer than a chunk's worth remain. Other targets
//! compare one unit at a time ([`stops_one_by_one`]). The tests check the chunks against a
//! plain byte loop over fenced pages (a read past what may be read faults).
//!
//! Chunks are read with `movdqu` from inline assembly, as the unit loads are volatile: the
//! program's memory, which another of its threads may be writing, is read as the hardware
//! reads it, not as Rust data.
//!
//! # Invariants
//! * Never reads a unit at or past `within`.
//! * A side not known to be readable up to `within` ([`Sides`]: memory outside the heap,
//!   whose string may end just before an unmapped page) is read in chunks only where the
//!   chunk lies in one page with the unit it starts at, which the comparison reads (no stop
//!   before it): the chunk's page is then mapped and readable. Elsewhere that side is read one
//!   unit at a time, never past the stop.

use super::{Comparison, Unit};

/// Whether each side's first `within` units are known readable (they lie in a live heap
/// block) or only up to where the comparison stops (memory outside the heap, which the
/// program's comparison reads at least as far).
pub(super) type Sides = [bool; 2];

/// Whether comparing the first `within` units at `a` and `b` as `how` compares stops among
/// them: at a unit that differs (ASCII letters folded when `how.fold`) or, for strings, at a
/// NUL of `a` (where both are NUL, or they differ).
///
/// # Safety
/// For each side, `within` units are readable when its entry of `readable` is true; else at
/// least the units up to and including the stop (all `within` when there is none).
#[inline(always)]
pub(super) unsafe fn stops(
    a: *const u8,
    b: *const u8,
    within: usize,
    how: Comparison,
    readable: Sides,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: caller contract.
        unsafe { sse2::stops(a, b, within, how, readable) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = readable;
        // SAFETY: caller contract (units read in order, none past the stop).
        unsafe { stops_one_by_one(a, b, 0, within, how) }
    }
}

/// [`stops`] over the units `from..to`, one unit at a time, in order.
///
/// # Safety
/// The units `from..to` of both sides are readable, up to the stop where there is one.
#[inline(always)]
pub(super) unsafe fn stops_one_by_one(
    a: *const u8,
    b: *const u8,
    from: usize,
    to: usize,
    how: Comparison,
) -> bool {
    let fold = |x: u32| {
        if how.fold {
            u32::from((x as u8).to_ascii_lowercase())
        } else {
            x
        }
    };
    (from..to).any(|index| {
        // SAFETY: caller contract: units before the stop are readable, and this one is
        // reached only when none before it stopped.
        let (x, y) = unsafe { (how.unit.load(a, index), how.unit.load(b, index)) };
        fold(x) != fold(y) || (how.strings && x == 0)
    })
}

#[cfg(target_arch = "x86_64")]
mod sse2 {
    use core::arch::x86_64::{
        __m128i, _mm_add_epi8, _mm_and_si128, _mm_cmpeq_epi32, _mm_cmpeq_epi8, _mm_cmplt_epi8,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_setzero_si128,
    };

    use super::{stops_one_by_one, Comparison, Sides, Unit};

    /// Bytes of one chunk.
    const CHUNK: usize = 16;
    /// The smallest page size of the target: a chunk that does not cross a multiple of it
    /// lies in one page.
    const PAGE: usize = 4096;

    /// Whether the chunk at `p` lies in one page.
    #[inline(always)]
    fn in_one_page(p: *const u8) -> bool {
        (p as usize & (PAGE - 1)) <= PAGE - CHUNK
    }

    /// The 16 bytes at `p`, as the hardware reads them.
    ///
    /// # Safety
    /// The 16 bytes at `p` are mapped and readable.
    #[inline(always)]
    unsafe fn load(p: *const u8) -> __m128i {
        let chunk: __m128i;
        // SAFETY: caller contract; an unaligned load, no other effect.
        unsafe {
            core::arch::asm!(
                "movdqu {chunk}, [{p}]",
                p = in(reg) p,
                chunk = out(xmm_reg) chunk,
                options(nostack, readonly, preserves_flags, pure)
            );
        }
        chunk
    }

    /// ASCII upper-case letters of `bytes` made lower case (`u8::to_ascii_lowercase` on
    /// each byte): a byte `x` is in `'A'..='Z'` when `x + 63` (wrapping) is, as a signed
    /// byte, in `-128..=-103`.
    #[inline(always)]
    fn lower(bytes: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe {
            let shifted = _mm_add_epi8(bytes, _mm_set1_epi8(63));
            let upper = _mm_cmplt_epi8(shifted, _mm_set1_epi8(-102));
            _mm_or_si128(bytes, _mm_and_si128(upper, _mm_set1_epi8(0x20)))
        }
    }

    /// Whether the comparison stops in the chunks at `a` and `b`.
    ///
    /// # Safety
    /// 16 bytes are readable at each.
    #[inline(always)]
    unsafe fn chunk_stops(a: *const u8, b: *const u8, how: Comparison) -> bool {
        // SAFETY: caller contract; SSE2 is part of the x86_64 baseline.
        unsafe {
            let (x, y) = (load(a), load(b));
            let (equal, nul) = match how.unit {
                Unit::Byte if how.fold => (
                    _mm_cmpeq_epi8(lower(x), lower(y)),
                    _mm_cmpeq_epi8(x, _mm_setzero_si128()),
                ),
                Unit::Byte => (_mm_cmpeq_epi8(x, y), _mm_cmpeq_epi8(x, _mm_setzero_si128())),
                Unit::Wide => (
                    _mm_cmpeq_epi32(x, y),
                    _mm_cmpeq_epi32(x, _mm_setzero_si128()),
                ),
            };
            let differs = _mm_movemask_epi8(equal) != 0xffff;
            differs || (how.strings && _mm_movemask_epi8(nul) != 0)
        }
    }

    /// Whether the comparison stops in the chunk of units starting at `index`, read in
    /// chunks where both sides allow it, else one unit at a time.
    ///
    /// # Safety
    /// As for [`super::stops`]; the chunk's units lie below `within`, and no unit before
    /// `index` stops the comparison (except that units below `index` a last overlapping
    /// chunk reads again are known not to stop).
    #[inline(always)]
    unsafe fn stops_at(
        a: *const u8,
        b: *const u8,
        index: usize,
        how: Comparison,
        readable: Sides,
    ) -> bool {
        let width = how.unit.bytes();
        // SAFETY: `index` is below `within`: inside both ranges' units (caller contract).
        let (pa, pb) = unsafe { (a.add(index * width), b.add(index * width)) };
        if (readable[0] || in_one_page(pa)) && (readable[1] || in_one_page(pb)) {
            // SAFETY: each side readable for the whole chunk (below `within`), or read up to
            // the chunk's first unit by the comparison and this chunk within that unit's
            // page.
            unsafe { chunk_stops(pa, pb, how) }
        } else {
            // SAFETY: the units in order, none past the stop (caller contract).
            unsafe { stops_one_by_one(a, b, index, index + CHUNK / width, how) }
        }
    }

    /// [`super::stops`] on x86_64.
    ///
    /// # Safety
    /// As for [`super::stops`].
    #[inline(always)]
    pub(super) unsafe fn stops(
        a: *const u8,
        b: *const u8,
        within: usize,
        how: Comparison,
        readable: Sides,
    ) -> bool {
        let lanes = CHUNK / how.unit.bytes();
        if how.fold && how.unit == Unit::Wide {
            // No wide call folds; the byte folding would not be `towlower` anyway.
            // SAFETY: caller contract.
            return unsafe { stops_one_by_one(a, b, 0, within, how) };
        }
        if within < lanes {
            // SAFETY: caller contract.
            return unsafe { stops_one_by_one(a, b, 0, within, how) };
        }
        let mut index = 0;
        while index + lanes <= within {
            // SAFETY: `index + lanes <= within`; none before `index` stopped.
            if unsafe { stops_at(a, b, index, how, readable) } {
                return true;
            }
            index += lanes;
        }
        // The rest, as a last chunk ending at `within`: its units before `index` did not
        // stop the comparison, so a stop in it is one among `index..within`.
        // SAFETY: `within >= lanes`; units below `index` did not stop.
        index < within && unsafe { stops_at(a, b, within - lanes, how, readable) }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FOLDED, MEMORY, STRINGS, WIDE_MEMORY, WIDE_STRINGS};
    use super::*;
    use proptest::prelude::*;

    /// Two pages of which the second is inaccessible: a range placed to end at the first's
    /// end faults on any read past it.
    struct Fenced {
        base: *mut u8,
    }

    const PAGE: usize = 4096;

    impl Fenced {
        fn new() -> Fenced {
            // SAFETY: a fresh anonymous mapping of two pages, the second made inaccessible.
            unsafe {
                let base = libc::mmap(
                    core::ptr::null_mut(),
                    2 * PAGE,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                );
                assert_ne!(base, libc::MAP_FAILED);
                assert_eq!(
                    libc::mprotect(base.cast::<u8>().add(PAGE).cast(), PAGE, 0),
                    0
                );
                Fenced { base: base.cast() }
            }
        }

        /// `bytes` copied to end at the fence; their address.
        fn place(&self, bytes: &[u8]) -> *const u8 {
            assert!(bytes.len() <= PAGE);
            // SAFETY: `bytes.len()` bytes before the fence, in the first (writable) page.
            unsafe {
                let at = self.base.add(PAGE - bytes.len());
                core::ptr::copy_nonoverlapping(bytes.as_ptr(), at, bytes.len());
                at
            }
        }
    }

    impl Drop for Fenced {
        fn drop(&mut self) {
            // SAFETY: the mapping made in `new`.
            unsafe { libc::munmap(self.base.cast(), 2 * PAGE) };
        }
    }

    /// The plain byte loop the chunks must agree with.
    fn reference(a: &[u8], b: &[u8], within: usize, how: Comparison) -> bool {
        let width = how.unit.bytes();
        let unit = |s: &[u8], index: usize| -> u32 {
            let bytes = &s[index * width..(index + 1) * width];
            match how.unit {
                Unit::Byte => u32::from(bytes[0]),
                Unit::Wide => u32::from_ne_bytes(bytes.try_into().unwrap()),
            }
        };
        let fold = |x: u32| {
            if how.fold {
                u32::from((x as u8).to_ascii_lowercase())
            } else {
                x
            }
        };
        (0..within).any(|index| {
            let (x, y) = (unit(a, index), unit(b, index));
            fold(x) != fold(y) || (how.strings && x == 0)
        })
    }

    const HOWS: [Comparison; 5] = [MEMORY, STRINGS, FOLDED, WIDE_MEMORY, WIDE_STRINGS];

    /// Bytes from a small alphabet: NULs, letters of both cases, the bytes next to the
    /// letter range, a high byte.
    fn byte() -> impl Strategy<Value = u8> {
        prop::sample::select(vec![
            0u8, b'a', b'A', b'z', b'Z', b'@', b'[', b'`', b'{', 0xc1, 0x80,
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Random ranges (0..100 units), `b` a copy of `a` with random units changed, a random
        /// `within`, each side fenced right after `within` (a read past it faults) or with
        /// its string end fenced (a read past the stop of a side not known readable
        /// faults): the chunks say what the byte loop says.
        #[test]
        fn chunks_agree_with_the_byte_loop(
            how in prop::sample::select(HOWS.to_vec()),
            a in prop::collection::vec(byte(), 0..400),
            changes in prop::collection::vec((any::<prop::sample::Index>(), byte()), 0..4),
            within in any::<prop::sample::Index>(),
            readable in any::<[bool; 2]>(),
            pad in 0usize..16,
        ) {
            let width = how.unit.bytes();
            let units = (a.len() / width).min(100);
            let mut a = a[..units * width].to_vec();
            let mut b = a.clone();
            for (at, value) in &changes {
                if !b.is_empty() {
                    let i = at.index(b.len());
                    b[i] = *value;
                }
            }
            let within = within.index(units + 1);
            let expected = reference(&a, &b, within, how);
            // A side that is not known readable is only readable up to its stop: cut it
            // there (the stop's unit included), so that any read past it faults.
            let stop = (0..within)
                .find(|&index| reference(&a[index * width..], &b[index * width..], 1, how))
                .map_or(within, |index| index + 1);
            let cut = |s: &mut Vec<u8>, readable: bool| {
                s.truncate(if readable { within } else { stop } * width);
                // Some bytes before the range, to vary its alignment.
                s.splice(0..0, core::iter::repeat_n(b'#', pad));
            };
            cut(&mut a, readable[0]);
            cut(&mut b, readable[1]);
            let (fa, fb) = (Fenced::new(), Fenced::new());
            // SAFETY: the ranges end at their fences, each readable as `readable` says.
            let found = unsafe {
                stops(fa.place(&a).add(pad), fb.place(&b).add(pad), within, how, readable)
            };
            prop_assert_eq!(found, expected);
        }
    }

    /// Strings that stop just before a fence on the side not known readable, the other side
    /// long: the chunk that would cross into the fence is read one byte at a time.
    #[test]
    fn a_string_ending_before_an_unmapped_page_is_read_only_to_its_end() {
        let long = [b'a'; 64];
        for len in 0..40 {
            let mut short = vec![b'a'; len];
            short.push(0);
            let (fa, fb) = (Fenced::new(), Fenced::new());
            let (a, b) = (fa.place(&short), fb.place(&long));
            for within in len + 1..=64 {
                // SAFETY: `a` readable through its NUL, `b` for 64 bytes.
                unsafe {
                    assert!(stops(a, b, within, STRINGS, [false, true]));
                    assert!(stops(b, a, within, STRINGS, [true, false]));
                }
            }
        }
    }

    #[test]
    fn ascii_folding_matches_the_standard_library() {
        for x in 0..=255u8 {
            let (a, b) = ([x; 16], [x.to_ascii_lowercase(); 16]);
            // SAFETY: 16 bytes each.
            assert!(!unsafe { stops(a.as_ptr(), b.as_ptr(), 16, FOLDED, [true; 2]) } || x == 0);
            for y in 0..=255u8 {
                if !x.eq_ignore_ascii_case(&y) {
                    let mut c = [x; 16];
                    c[15] = y;
                    // SAFETY: 16 bytes each.
                    assert!(unsafe { stops(a.as_ptr(), c.as_ptr(), 16, FOLDED, [true; 2]) });
                }
            }
        }
    }
}
