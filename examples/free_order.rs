//! Many buffers, freed in a different order than they were allocated.
//!
//! General-purpose allocators (here the page allocator) accept frees in any order. A fixed
//! buffer accepts them too, but only reclaims space when the most recent block is freed: the
//! second half shows how the free order decides how much of the buffer comes back.
//!
//! Run with `cargo run --example free_order`.

use gpa::{Allocator, FixedBufferAllocator, PageAllocator};

const COUNT: usize = 8;

/// Allocates `COUNT` buffers of different sizes, each filled with its own index.
fn allocate_all(allocator: Allocator<'_>) -> Result<Vec<&mut [u8]>, gpa::Error> {
    (0..COUNT)
        .map(|i| allocator.alloc_filled(16 * (i + 1), i as u8))
        .collect()
}

/// Checks and frees `buffers` in the order given by `order`.
fn free_in_order(allocator: Allocator<'_>, buffers: Vec<&mut [u8]>, order: &[usize]) {
    let mut buffers: Vec<Option<&mut [u8]>> = buffers.into_iter().map(Some).collect();
    for &i in order {
        let buffer = buffers[i].take().expect("each buffer is freed once");
        assert!(
            buffer.iter().all(|&byte| byte == i as u8),
            "buffer {i} intact"
        );
        // SAFETY: each buffer came from `allocator` and is freed exactly once.
        unsafe { allocator.free(buffer) };
    }
}

fn main() -> Result<(), gpa::Error> {
    let shuffled = [5, 0, 7, 2, 6, 1, 4, 3];

    let page = PageAllocator::new();
    let buffers = allocate_all(page.allocator())?;
    free_in_order(page.allocator(), buffers, &shuffled);
    println!("page allocator: {COUNT} buffers freed in the order {shuffled:?}, all intact");

    let mut storage = [0u8; 1024];
    let mut fixed = FixedBufferAllocator::new(&mut storage);
    for (name, order) in [
        ("reverse", [7, 6, 5, 4, 3, 2, 1, 0]),
        ("allocation", [0, 1, 2, 3, 4, 5, 6, 7]),
        ("shuffled", shuffled),
    ] {
        fixed.reset();
        let buffers = allocate_all(fixed.allocator())?;
        let used = fixed.end_index();
        free_in_order(fixed.allocator(), buffers, &order);
        println!(
            "fixed buffer, {name:>10} order: {used} bytes used, {} still used after freeing all",
            fixed.end_index()
        );
    }
    Ok(())
}
