//! The leak example: 1024 bytes are allocated and never freed. `deinit()` reports the leaked
//! block with the file:line of its allocation and returns `Check::Leak`.
//!
//! Run: `cargo run --example leak`

use gpa::{Check, GeneralPurposeAllocator};

fn main() {
    let mut gpa = GeneralPurposeAllocator::new();
    let allocator = gpa.allocator();

    let bytes = allocator.alloc::<u8>(1024).expect("out of memory");
    println!(
        "allocated {} bytes at {:p} and never freed them",
        bytes.len(),
        bytes.as_ptr()
    );

    let check = gpa.deinit();
    println!("deinit() returned Check::{check:?}");
    assert_eq!(check, Check::Leak);
}
