//! Bad input gets an error, never undefined behaviour or an abort (issue 2, item 8): size
//! overflow, `usize::MAX` sizes, alignments that are not powers of two, zero sizes, frees of
//! zero-size (dangling) blocks, and `allocator_api2` with zero-size layouts. Every check runs
//! against each simple allocator.

use std::alloc::{GlobalAlloc, Layout};
use std::fmt;
use std::ptr::NonNull;

use allocator_api2::alloc::Allocator as Api2Allocator;
use gpa::{
    Allocator, ArenaAllocator, Error, FixedBufferAllocator, PageAllocator,
    ThreadSafeFixedBufferAllocator,
};

/// Sizes that cannot be allocated: overflowing `n * size_of::<T>()` or above `isize::MAX`.
fn size_overflow(a: Allocator<'_>) {
    assert_eq!(a.alloc::<u64>(usize::MAX).unwrap_err(), Error::SizeOverflow);
    assert_eq!(
        a.alloc::<u64>(usize::MAX / 8 + 1).unwrap_err(),
        Error::SizeOverflow
    );
    assert_eq!(
        a.alloc::<u8>(isize::MAX as usize + 1).unwrap_err(),
        Error::SizeOverflow
    );
    assert_eq!(
        a.alloc_filled(usize::MAX / 2, 0u16).unwrap_err(),
        Error::SizeOverflow
    );
    assert_eq!(a.raw_alloc(usize::MAX, 1), Err(Error::SizeOverflow));
    assert_eq!(a.raw_alloc(usize::MAX, 4096), Err(Error::SizeOverflow));
    assert_eq!(
        a.raw_alloc(isize::MAX as usize + 1, 1),
        Err(Error::SizeOverflow)
    );
    // The largest valid layout is valid, but no allocator here can serve it.
    assert_eq!(a.raw_alloc(isize::MAX as usize, 1), Err(Error::OutOfMemory));
    assert_eq!(
        a.raw_alloc(isize::MAX as usize - 4095, 4096),
        Err(Error::OutOfMemory)
    );
    // A valid alignment of 2^62 cannot be met either; 2^63 makes the layout itself invalid.
    assert_eq!(a.raw_alloc(1, 1 << 62), Err(Error::OutOfMemory));
    assert_eq!(a.raw_alloc(1, 1 << 63), Err(Error::SizeOverflow));
}

/// Alignments that are not powers of two.
fn invalid_alignment(a: Allocator<'_>) {
    for alignment in [0, 3, 6, 12, 100, usize::MAX] {
        assert_eq!(a.raw_alloc(8, alignment), Err(Error::InvalidAlignment));
        assert_eq!(a.raw_alloc(0, alignment), Err(Error::InvalidAlignment));
    }
    // Resize, remap and free with a bad alignment are refused without reaching the allocator.
    let block = a.raw_alloc(16, 8).unwrap();
    // SAFETY: the block is live; the bad alignment makes the handle refuse the calls.
    unsafe {
        assert!(!a.raw_resize(block, 16, 3, 8));
        assert!(a.raw_remap(block, 16, 3, 8).is_none());
        a.raw_free(block, 16, 3);
        block.as_ptr().write_bytes(1, 16);
        a.raw_free(block, 16, 8);
    }
}

/// Zero sizes: dangling, aligned pointers; their frees and resizes follow Zig.
fn zero_sizes(a: Allocator<'_>) {
    for log2 in 0..=20 {
        let alignment = 1usize << log2;
        let empty = a.raw_alloc(0, alignment).unwrap();
        assert_eq!(empty.as_ptr() as usize % alignment, 0);
        // SAFETY: a zero-size block of this alignment.
        unsafe {
            assert!(a.raw_resize(empty, 0, alignment, 0));
            assert!(
                !a.raw_resize(empty, 0, alignment, 16),
                "growing from zero fails"
            );
            assert!(a.raw_remap(empty, 0, alignment, 16).is_none());
            a.raw_free(empty, 0, alignment);
        }
    }
    assert!(a.alloc::<u64>(0).unwrap().is_empty());
    assert!(a.dupe::<String>(&[]).unwrap().is_empty());
    assert_eq!(a.alloc_print(format_args!("")).unwrap(), "");
    let unit = a.create(()).unwrap();
    // SAFETY: zero-size values from this allocator.
    unsafe { a.destroy(unit) };
    let nothing = a.create([0u128; 0]).unwrap();
    // SAFETY: as above.
    unsafe { a.destroy(nothing) };

    // Freeing a dangling zero-size slice that never came from an allocator is a no-op.
    let dangling: &mut [u64] = &mut [];
    // SAFETY: zero-size frees never reach the implementation.
    unsafe { a.free(dangling) };
    // SAFETY: as above.
    unsafe { a.raw_free(NonNull::dangling(), 0, 1) };

    // Shrinking a real block to zero frees it; the pointer that comes back is dangling.
    let block = a.raw_alloc(32, 16).unwrap();
    // SAFETY: the block is live with this layout; after the resize to 0 it is freed.
    unsafe {
        assert!(a.raw_resize(block, 32, 16, 0));
    }
    let block = a.raw_alloc(32, 16).unwrap();
    // SAFETY: as above, through remap.
    let empty = unsafe { a.raw_remap(block, 32, 16, 0) }.unwrap();
    assert_eq!(empty.as_ptr() as usize % 16, 0);

    // realloc to and from zero elements.
    let values = a.alloc::<u32>(4).unwrap();
    // SAFETY: each slice comes from the previous call and is not used again.
    unsafe {
        let values = a.realloc(values, 0).unwrap();
        assert!(values.is_empty());
        let values = a.realloc(values, 3).unwrap();
        assert_eq!(values.len(), 3);
        a.free(values);
    }
}

/// Growing a live block to an impossible size fails and leaves it intact.
fn impossible_growth(a: Allocator<'_>) {
    let values = a.alloc_filled(8, 0xABu8).unwrap();
    let pointer = NonNull::from(&mut *values).cast::<u8>();
    // SAFETY: the block is live with 8 bytes and alignment 1.
    unsafe {
        assert!(!a.raw_resize(pointer, 8, 1, usize::MAX));
        assert!(a.raw_remap(pointer, 8, 1, usize::MAX).is_none());
        assert!(!a.raw_resize(pointer, 8, 1, isize::MAX as usize));
    }
    assert!(values.iter().all(|&byte| byte == 0xAB));
    let uninit = a.dupe(values).unwrap();
    // SAFETY: `uninit` came from `dupe`; realloc fails before touching it.
    let uninit = unsafe {
        let as_uninit = &mut *(uninit as *mut [u8] as *mut [std::mem::MaybeUninit<u8>]);
        let copy: *mut [std::mem::MaybeUninit<u8>] = as_uninit;
        assert_eq!(
            a.realloc(as_uninit, usize::MAX).unwrap_err(),
            Error::SizeOverflow
        );
        &mut *copy
    };
    // SAFETY: both are live blocks from this allocator.
    unsafe {
        a.free(uninit);
        a.free(values);
    }
}

/// A `Display` that fails, and one that prints differently the second time: `alloc_print`
/// returns an error and gives its buffer back.
fn misbehaving_display(a: Allocator<'_>) {
    struct Failing;
    impl fmt::Display for Failing {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("partial")?;
            Err(fmt::Error)
        }
    }
    struct Growing(std::cell::Cell<usize>);
    impl fmt::Display for Growing {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.set(self.0.get() + 1);
            for _ in 0..self.0.get() {
                f.write_str("more")?;
            }
            Ok(())
        }
    }
    assert!(a.alloc_print(format_args!("{}", Failing)).is_err());
    let growing = Growing(std::cell::Cell::new(0));
    assert!(a.alloc_print(format_args!("{growing}")).is_err());
    assert!(a.print(format_args!("{}", Failing)).is_err());
}

/// `allocator_api2` with zero-size layouts and zero-size growth/shrink.
fn api2_zero_size<A: Api2Allocator>(a: A) {
    for alignment in [1, 8, 4096, 1 << 20] {
        let zero = Layout::from_size_align(0, alignment).unwrap();
        let empty = a.allocate(zero).unwrap();
        assert_eq!(empty.len(), 0);
        assert_eq!(empty.cast::<u8>().as_ptr() as usize % alignment, 0);
        let empty_zeroed = a.allocate_zeroed(zero).unwrap();
        let grown_layout = Layout::from_size_align(64, alignment).unwrap();
        // SAFETY: allocator_api2's contracts: each pointer is a live block with the layout
        // given, and sizes only grow in `grow` and shrink in `shrink`.
        unsafe {
            a.deallocate(empty_zeroed.cast(), zero);
            let grown = a.grow_zeroed(empty.cast(), zero, grown_layout).unwrap();
            assert_eq!(grown.cast::<u8>().as_ptr() as usize % alignment, 0);
            assert!(grown.as_ref().iter().all(|&byte| byte == 0));
            let shrunk = a.shrink(grown.cast(), grown_layout, zero).unwrap();
            assert_eq!(shrunk.len(), 0);
            a.deallocate(shrunk.cast(), zero);
        }
    }
    // Zero-size element types in collections.
    let mut units = allocator_api2::vec::Vec::new_in(&a);
    units.resize(1000, ());
    assert_eq!(units.len(), 1000);
    let boxed = allocator_api2::boxed::Box::new_in((), &a);
    drop(boxed);
    // Layouts whose size overflows cannot even be built, so `allocate` never sees them; a
    // `Vec` whose capacity would overflow reports an error instead of aborting.
    let mut big = allocator_api2::vec::Vec::<u64, _>::new_in(&a);
    assert!(big.try_reserve(usize::MAX).is_err());
    assert!(big.try_reserve(usize::MAX / 8).is_err());
}

fn all_bad_input(a: Allocator<'_>) {
    size_overflow(a);
    invalid_alignment(a);
    zero_sizes(a);
    impossible_growth(a);
    misbehaving_display(a);
    api2_zero_size(a);
}

#[test]
fn page_allocator() {
    let page = PageAllocator::new();
    all_bad_input(page.allocator());
    api2_zero_size(&page);
}

#[test]
fn fixed_buffer() {
    let mut buffer = vec![0u8; 4 << 20];
    let fixed = FixedBufferAllocator::new(&mut buffer);
    all_bad_input(fixed.allocator());
    api2_zero_size(&fixed);
}

#[test]
fn thread_safe_fixed_buffer() {
    let mut buffer = vec![0u8; 4 << 20];
    let fixed = ThreadSafeFixedBufferAllocator::new(&mut buffer);
    all_bad_input(fixed.allocator());
    api2_zero_size(&fixed);
}

#[test]
fn arena_over_page() {
    let page = PageAllocator::new();
    let arena = ArenaAllocator::new(page.allocator());
    all_bad_input(arena.allocator());
    api2_zero_size(&arena);
}

#[test]
fn arena_over_fixed_buffer() {
    let mut buffer = vec![0u8; 8 << 20];
    let fixed = FixedBufferAllocator::new(&mut buffer);
    let arena = ArenaAllocator::new(fixed.allocator());
    all_bad_input(arena.allocator());
    api2_zero_size(&arena);
    drop(arena);
    assert_eq!(fixed.end_index(), 0, "the arena gave every buffer back");
}

#[test]
fn failed_alloc_print_gives_its_buffer_back() {
    let mut buffer = [0u8; 256];
    let fixed = FixedBufferAllocator::new(&mut buffer);
    misbehaving_display(fixed.allocator());
    assert_eq!(
        fixed.end_index(),
        0,
        "every failed alloc_print freed its buffer"
    );
}

#[test]
fn page_allocator_as_global_alloc_handles_null_and_impossible_requests() {
    let page = PageAllocator::new();
    let layout = Layout::from_size_align(64, 8).unwrap();
    // SAFETY: GlobalAlloc's contract; null pointers are handled explicitly by the
    // implementation (dealloc ignores them, realloc answers null).
    unsafe {
        page.dealloc(std::ptr::null_mut(), layout);
        assert!(page.realloc(std::ptr::null_mut(), layout, 128).is_null());
        let huge = Layout::from_size_align(isize::MAX as usize - 4095, 4096).unwrap();
        assert!(page.alloc(huge).is_null());
        let block = page.alloc(layout);
        assert!(!block.is_null());
        block.write_bytes(7, 64);
        // A new size that makes the layout invalid: null, and the block stays valid.
        assert!(page.realloc(block, layout, usize::MAX).is_null());
        assert_eq!(block.add(63).read(), 7);
        page.dealloc(block, layout);
    }
}
