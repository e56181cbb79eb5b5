//! The smallest allocator program: allocate 1024 bytes, use them, free them.
//!
//! Run with `cargo run --example alloc_free`.

fn main() -> Result<(), gpa::Error> {
    // The implementation is chosen once; functions receive the `Allocator` handle.
    let page = gpa::PageAllocator::new();
    let allocator = page.allocator();

    let bytes = allocator.alloc_filled(1024, 0u8)?;
    bytes[..5].copy_from_slice(b"hello");
    println!(
        "allocated {} bytes at {:p}; first bytes: {:?}",
        bytes.len(),
        bytes.as_ptr(),
        std::str::from_utf8(&bytes[..5]).unwrap_or("?")
    );

    // SAFETY: `bytes` came from this allocator and is not used after this line.
    unsafe { allocator.free(bytes) };
    println!("freed them again (the page allocator unmapped the page)");
    Ok(())
}
