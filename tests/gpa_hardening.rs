//! Safety mode's reach and robustness through the Rust API: redzones that grow with the
//! block, overflows of large blocks that are never freed, double frees long after the block
//! was released, and wild pointers anywhere, which are reported without gpa ever following
//! them. Every test ends with the heap intact (`deinit` is `Ok` once the test's own block is
//! freed).

use core::ptr::NonNull;

use gpa::{Check, Config, FindingKind, GeneralPurposeAllocator, OnError};

/// The least redzone after a block of `size` bytes, as documented (docs/c_abi.md,
/// "Redzones"; `gpa::safety::redzone` inside the crate).
fn redzone(size: usize) -> usize {
    match size {
        0..=256 => 32,
        257..=1024 => 64,
        1025..=4096 => 128,
        4097..=16384 => 256,
        16385..=65536 => 512,
        _ => 1024,
    }
}

/// Freed large blocks whose range stays reserved, as documented (docs/c_abi.md).
const QUARANTINE_BLOCKS: usize = 4096;

fn checked() -> GeneralPurposeAllocator {
    GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..Config::debug()
    })
}

#[test]
fn an_overflow_anywhere_in_the_redzone_is_found_at_free() {
    for size in [8usize, 100, 4096, 60_000, 300_000] {
        // The last byte of the least redzone, and the first past the end.
        for distance in [0, redzone(size) - 1] {
            let mut gpa = checked();
            let allocator = gpa.allocator();
            let block = allocator.raw_alloc(size, 8).unwrap();
            // SAFETY: deliberate overflow within the block's redzone (inside its slot or
            // mapping), then the block's one free.
            unsafe {
                *block.as_ptr().add(size + distance) ^= 0x41;
                allocator.raw_free(block, size, 8);
            }
            let report = gpa.report();
            let overflows: Vec<_> = report.of_kind(FindingKind::Overflow).collect();
            assert_eq!(overflows.len(), 1, "{size} + {distance}: {report}");
            assert_eq!(report.findings.len(), 1, "{size} + {distance}: {report}");
            let overflow = overflows[0];
            assert_eq!(overflow.address, block.as_ptr() as usize);
            assert_eq!(overflow.size, size);
            assert_eq!(overflow.offset, Some((size + distance) as isize));
            assert!(overflow.mentions_function("an_overflow_anywhere_in_the_redzone"));
            assert_eq!(gpa.deinit(), Check::Ok);
        }
    }
}

#[test]
fn an_overflow_into_the_free_slot_that_follows_is_found() {
    // 8 bytes take a 48-byte slot (8 + a 32-byte redzone, rounded up): a write 100 bytes
    // past the end lies in the next slot, never handed out, which the check reads as part of
    // the redzone.
    let mut gpa = checked();
    let allocator = gpa.allocator();
    let block = allocator.raw_alloc(8, 8).unwrap();
    // SAFETY: deliberate overflow into the free slot after the block (same page).
    unsafe {
        *block.as_ptr().add(8 + 99) ^= 0x41;
        allocator.raw_free(block, 8, 8);
    }
    let report = gpa.report();
    let overflow = report
        .of_kind(FindingKind::Overflow)
        .next()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(overflow.offset, Some(107));
    assert_eq!(report.findings.len(), 1, "{report}");
    // The damaged slot was repaired: it can be used and freed without a false report.
    let next = allocator.raw_alloc(8, 8).unwrap();
    // SAFETY: a live block freed once.
    unsafe { allocator.raw_free(next, 8, 8) };
    assert_eq!(gpa.report().findings.len(), 1);
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn an_overflow_of_a_large_block_never_freed_is_found_at_deinit() {
    let mut gpa = checked();
    let size = 300_000;
    let block = gpa.allocator().raw_alloc(size, 8).unwrap();
    // SAFETY: deliberate overflow 32 bytes past the end, inside the mapping's redzone.
    unsafe { *block.as_ptr().add(size + 31) ^= 0x41 };
    assert_eq!(gpa.detect_leaks(), 1);
    assert_eq!(gpa.deinit(), Check::Leak);
    let report = gpa.report();
    let overflows: Vec<_> = report.of_kind(FindingKind::Overflow).collect();
    // Found by `detect_leaks`' walk, which repairs the redzone: `deinit`'s walk finds it
    // intact, so the overflow is reported once (and the leak by each walk).
    assert_eq!(overflows.len(), 1, "{report}");
    assert_eq!(overflows[0].address, block.as_ptr() as usize);
    assert_eq!(overflows[0].offset, Some(size as isize + 31));
    assert!(overflows[0].mentions_function("an_overflow_of_a_large_block_never_freed"));
    assert_eq!(report.of_kind(FindingKind::Leak).count(), 2, "{report}");
}

#[inline(never)]
fn release(gpa: &GeneralPurposeAllocator, block: NonNull<u8>, size: usize) {
    // SAFETY: the callers free live blocks, or deliberately free one twice.
    unsafe { gpa.allocator().raw_free(block, size, 8) };
}

/// Frees a large block of `size` bytes, then allocates and frees blocks of the sizes
/// `others` gives, then frees the first block again: the one finding, a double free of it.
fn stale_double_free(size: usize, others: impl Iterator<Item = usize>) -> gpa::Finding {
    let mut gpa = checked();
    let stale = gpa.allocator().raw_alloc(size, 8).unwrap();
    release(&gpa, stale, size);
    for other_size in others {
        let other = gpa.allocator().raw_alloc(other_size, 8).unwrap();
        release(&gpa, other, other_size);
    }
    release(&gpa, stale, size);
    let report = gpa.report();
    let finding = report
        .of_kind(FindingKind::DoubleFree)
        .next()
        .unwrap_or_else(|| panic!("{report}"))
        .clone();
    assert_eq!(report.findings.len(), 1, "{report}");
    assert_eq!(finding.address, stale.as_ptr() as usize);
    assert_eq!(finding.size, size);
    assert!(finding.stack("free").is_some() && finding.stack("second_free").is_some());
    assert_eq!(gpa.deinit(), Check::Ok);
    finding
}

#[test]
fn a_double_free_of_a_large_block_released_long_ago_is_a_double_free() {
    // 2,000 frees later the block's range is still reserved in the quarantine: the finding
    // describes this block, with its allocation and both frees.
    let finding = stale_double_free(1 << 20, (0..2000).map(|round| 200_000 + round));
    assert!(finding.stack("alloc").is_some());
    assert!(finding.mentions_function("release"));
    assert!(finding.mentions_function("stale_double_free"));
}

#[test]
fn a_double_free_after_the_quarantine_moved_on_is_still_a_double_free() {
    // More frees than the quarantine holds: the block's range is given back and only its
    // record remains (a later block of the same size may have been mapped at the same
    // address since, and would then be the one described).
    stale_double_free(150_000, (0..QUARANTINE_BLOCKS + 64).map(|_| 150_000));
}

/// An address inside the internal heap's reservation (see `gpa::internal`): the largest
/// inaccessible anonymous mapping of a GiB or more, and the readable part below it.
fn internal_heap_addresses() -> Option<(usize, usize)> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let mut best: Option<(usize, usize, usize)> = None;
    let mut previous = (0usize, 0usize);
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let range = fields.next()?;
        let perms = fields.next()?;
        let (start, end) = range.split_once('-')?;
        let (start, end) = (
            usize::from_str_radix(start, 16).ok()?,
            usize::from_str_radix(end, 16).ok()?,
        );
        if perms == "---p"
            && end - start >= 1 << 30
            && best.is_none_or(|(s, e, _)| end - start > e - s)
        {
            let below = if previous.1 == start { previous.0 } else { 0 };
            best = Some((start, end, below));
        }
        previous = (start, end);
    }
    let (unused, _, used) = best?;
    (used != 0).then_some((unused + 4096, used + 64))
}

#[test]
fn wild_pointers_are_invalid_frees_and_are_never_followed() {
    let mut gpa = checked();
    let allocator = gpa.allocator();
    let block = allocator.raw_alloc(64, 8).unwrap();
    let base = block.as_ptr() as usize;
    let on_stack = [0u8; 64];
    let mut wild = vec![
        base.wrapping_add(1 << 30),
        base.wrapping_sub(1 << 20),
        on_stack.as_ptr() as usize + 16,
        (base & !((4 << 20) - 1)) + 4096, // the guard in front of the segment's header
        (base & !((4 << 20) - 1)) + (48 << 20 >> 4), // an unused, inaccessible unit
        0x10000,
    ];
    // The GPA's metadata lives in the internal heap, so it exists by now.
    let (unused, used) = internal_heap_addresses().expect("the internal heap's reservation");
    wild.extend([unused, used, used - 48]);
    for &address in &wild {
        let pointer = NonNull::new(address as *mut u8).unwrap();
        assert_eq!(gpa.block_info(pointer.as_ptr()), None, "{address:#x}");
        assert_eq!(gpa.usable_size(pointer.as_ptr()), 0, "{address:#x}");
        // SAFETY: safety mode accepts any pointer and reports it; it is never followed.
        unsafe {
            allocator.raw_free(pointer, 64, 8);
            gpa.free_unsized(pointer.as_ptr());
            assert!(gpa.realloc_unsized(pointer.as_ptr(), 100).is_null());
        }
        let report = gpa.take_report();
        // Other tests' GPA instances run in this process: an address far from the block may
        // lie in one of their segments, which is a foreign free.
        let bad_frees = report.findings.iter().filter(|finding| {
            matches!(
                finding.kind,
                FindingKind::InvalidFree | FindingKind::ForeignFree
            )
        });
        assert_eq!(bad_frees.count(), 3, "{address:#x}: {report}");
        assert_eq!(report.findings.len(), 3, "{address:#x}: {report}");
        assert!(report.findings[0].mentions_function("wild_pointers_are_invalid_frees"));
    }
    // The heap is intact: the real block is still live and frees cleanly.
    assert_eq!(gpa.usable_size(block.as_ptr()), 64);
    // SAFETY: the live block, freed once.
    unsafe { allocator.raw_free(block, 64, 8) };
    assert!(gpa.report().is_clean(), "{}", gpa.report());
    assert_eq!(gpa.deinit(), Check::Ok);
}
