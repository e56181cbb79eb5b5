//! A tour of the crate: the allocator interface, then each simple allocator, printing what each
//! step shows. Run with `cargo run --example tour`.

use std::thread;

use gpa::{
    Allocator, ArenaAllocator, Error, FixedBufferAllocator, PageAllocator, ResetMode,
    ThreadSafeFixedBufferAllocator,
};

fn section(title: &str) {
    println!("\n== {title}");
}

/// Code that needs memory takes an `Allocator` handle and does not care which allocator is
/// behind it.
fn squares(allocator: Allocator<'_>, n: usize) -> Result<&mut [u64], Error> {
    let slots = allocator.alloc::<u64>(n)?;
    for (i, slot) in slots.iter_mut().enumerate() {
        slot.write((i * i) as u64);
    }
    // SAFETY: every element was written just above.
    Ok(unsafe { &mut *(slots as *mut [std::mem::MaybeUninit<u64>] as *mut [u64]) })
}

fn interface(allocator: Allocator<'_>) -> Result<(), Error> {
    section("The interface: one handle, typed helpers written once");
    let numbers = squares(allocator, 6)?;
    println!("squares(allocator, 6)              -> {numbers:?}");
    // SAFETY: `numbers` came from `allocator` and is not used afterwards.
    unsafe { allocator.free(numbers) };

    let point = allocator.create((3i32, 4i32))?;
    println!(
        "create((3, 4))                     -> {point:?} at {:p}",
        point
    );
    // SAFETY: from `create`, not used afterwards.
    unsafe { allocator.destroy(point) };

    let copy = allocator.dupe(&["a", "b", "c"])?;
    println!("dupe([\"a\", \"b\", \"c\"])              -> {copy:?}");
    // SAFETY: from `dupe`, not used afterwards.
    unsafe { allocator.free(copy) };

    let text = allocator.alloc_print(format_args!("{} + {} = {}", 2, 2, 2 + 2))?;
    println!(
        "alloc_print(\"{{}} + {{}} = {{}}\")        -> {text:?} ({} bytes)",
        text.len()
    );
    // SAFETY: from `alloc_print`, not used afterwards.
    unsafe { allocator.free(text) };

    let grown = allocator.alloc::<u8>(4)?;
    // SAFETY: `grown` came from `allocator` and is replaced by the result.
    let grown = unsafe { allocator.realloc(grown, 4096) }?;
    println!(
        "realloc(4 bytes -> 4096)           -> {} bytes",
        grown.len()
    );
    // SAFETY: from `realloc`, not used afterwards.
    unsafe { allocator.free(grown) };

    let boxed = allocator.new_box([1u8; 16])?;
    let owned = allocator.print(format_args!("freed on drop"))?;
    println!(
        "new_box / print (owning forms)     -> {:?}, {owned:?}",
        &boxed[..4]
    );

    let mut vector = allocator.vec::<u32>();
    vector.extend(1..=5);
    let mut map = hashbrown::HashMap::new_in(allocator);
    map.insert("answer", 42);
    println!("allocator_api2 Vec / hashbrown map -> {vector:?}, {map:?}");

    println!(
        "alloc::<u64>(usize::MAX)           -> {:?}",
        allocator.alloc::<u64>(usize::MAX).unwrap_err()
    );
    println!(
        "raw_alloc(8, alignment 3)          -> {:?}",
        allocator.raw_alloc(8, 3).unwrap_err()
    );
    let empty = allocator.raw_alloc(0, 64)?;
    println!("raw_alloc(0, 64)                   -> dangling {empty:p}, aligned, never freed");
    Ok(())
}

fn page_allocator() -> Result<(), Error> {
    section("PageAllocator: every block is its own OS mapping");
    let page = PageAllocator::new();
    let a = page.allocator();
    println!("OS page size: {} bytes", gpa::page_size());
    let block = a.raw_alloc(100, 1)?;
    println!("100 bytes           -> {block:p} (a whole page, page-aligned)");
    let aligned = a.raw_alloc(1 << 20, 1 << 20)?;
    println!(
        "1 MiB aligned 1 MiB -> {aligned:p} (address % 1 MiB = {})",
        aligned.as_ptr() as usize % (1 << 20)
    );
    // SAFETY: both blocks are live with these layouts; each call uses the current length.
    unsafe {
        let grew = a.raw_resize(block, 100, 1, 4000);
        println!("resize 100 -> 4000 in place: {grew} (still within the page)");
        let moved = a.raw_remap(block, 4000, 1, 1 << 20);
        match moved {
            Some(to) => {
                println!("remap 4000 -> 1 MiB: Some({to:p}) (mremap may move it)");
                a.raw_free(to, 1 << 20, 1);
            }
            None => {
                println!("remap 4000 -> 1 MiB: None");
                a.raw_free(block, 4000, 1);
            }
        }
        a.raw_free(aligned, 1 << 20, 1 << 20);
    }
    Ok(())
}

fn fixed_buffers() -> Result<(), Error> {
    section("FixedBufferAllocator: all memory from one caller-given buffer");
    let mut storage = [0u8; 256];
    let mut fixed = FixedBufferAllocator::new(&mut storage);
    let a = fixed.allocator();
    let first = a.dupe(b"first")?;
    let second = a.dupe(b"second")?;
    println!(
        "two blocks: end_index = {} of {}",
        fixed.end_index(),
        fixed.capacity()
    );
    // SAFETY: both came from `a`; neither is used after being freed.
    unsafe { a.free(first) };
    println!(
        "free(first)  (not the last block): end_index = {} (a no-op)",
        fixed.end_index()
    );
    // SAFETY: as above.
    unsafe { a.free(second) };
    println!(
        "free(second) (the last block):     end_index = {} (reclaimed)",
        fixed.end_index()
    );
    println!(
        "alloc 1000 bytes from 256          -> {:?}",
        a.raw_alloc(1000, 1).unwrap_err()
    );
    fixed.reset();
    println!("reset(): end_index = {}", fixed.end_index());

    let mut shared = vec![0u8; 4096];
    let fixed = ThreadSafeFixedBufferAllocator::new(&mut shared);
    thread::scope(|scope| {
        for id in 0..4u8 {
            let fixed = &fixed;
            scope.spawn(move || {
                let block = fixed
                    .allocator()
                    .alloc_filled(100, id)
                    .expect("room for 4 x 100");
                assert!(block.iter().all(|&byte| byte == id));
            });
        }
    });
    println!(
        "ThreadSafeFixedBufferAllocator: 4 threads x 100 bytes -> end_index = {}",
        fixed.end_index()
    );
    Ok(())
}

fn arena_allocator() -> Result<(), Error> {
    section("ArenaAllocator: many allocations, freed together");
    let page = PageAllocator::new();
    let mut arena = ArenaAllocator::new(page.allocator());
    for round in 0..1000 {
        arena
            .allocator()
            .alloc_print(format_args!("line {round}"))?;
    }
    println!(
        "1000 strings, no frees: {} buffers from the page allocator, capacity {} bytes",
        arena.buffer_count(),
        arena.query_capacity()
    );
    let capacity = arena.query_capacity();
    let kept = arena.reset(ResetMode::RetainCapacity);
    println!(
        "reset(RetainCapacity) -> {kept}: {} buffer, capacity {} (was {capacity})",
        arena.buffer_count(),
        arena.query_capacity()
    );
    let kept = arena.reset(ResetMode::RetainWithLimit(1024));
    println!(
        "reset(RetainWithLimit(1024)) -> {kept}: capacity {}",
        arena.query_capacity()
    );
    let kept = arena.reset(ResetMode::FreeAll);
    println!(
        "reset(FreeAll) -> {kept}: capacity {}",
        arena.query_capacity()
    );

    let a = arena.allocator();
    let block = a.raw_alloc(64, 8)?;
    // SAFETY: `block` is the arena's latest block, live with this layout.
    let grew = unsafe { a.raw_resize(block, 64, 8, 128) };
    println!("resize of the latest block 64 -> 128: {grew} (in place)");
    arena.deinit();
    println!("deinit(): everything returned to the page allocator");

    let mut storage = vec![0u8; 1 << 16];
    let fixed = FixedBufferAllocator::new(&mut storage);
    let arena = ArenaAllocator::new(fixed.allocator());
    arena.allocator().alloc_filled(10_000, 0u8)?;
    println!(
        "arena over a 64 KiB fixed buffer: 10000 bytes -> fixed end_index {}",
        fixed.end_index()
    );
    drop(arena);
    println!("arena dropped -> fixed end_index {}", fixed.end_index());
    Ok(())
}

fn main() -> Result<(), Error> {
    println!("gpa tour: the allocator interface and the simple allocators");
    let page = PageAllocator::new();
    interface(page.allocator())?;
    page_allocator()?;
    fixed_buffers()?;
    arena_allocator()?;
    println!("\nNext: the GeneralPurposeAllocator (leak and misuse detection) builds on these.");
    Ok(())
}
