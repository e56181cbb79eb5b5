//! The good beginner pattern: create the GPA once at the top, pass its handle down, free what
//! you allocate (or let owning values free themselves), and check `deinit()` at the end.
//!
//! Run: `cargo run --example beginner`

use gpa::{Allocator, Check, GeneralPurposeAllocator};

/// Returns owned memory; the caller decides when it goes away.
fn squares(allocator: Allocator<'_>, n: usize) -> Result<gpa::Box<'_, [u64]>, gpa::Error> {
    let mut values = allocator.boxed_slice(n, 0u64)?;
    for (i, value) in values.iter_mut().enumerate() {
        *value = (i * i) as u64;
    }
    Ok(values)
}

fn main() {
    let mut gpa = GeneralPurposeAllocator::new();
    let allocator = gpa.allocator();

    // Explicit free, Zig style.
    let buffer = allocator.alloc_filled(256, 0u8).expect("out of memory");
    buffer[0] = 1;
    // SAFETY: `buffer` came from this allocator and is not used afterwards.
    unsafe { allocator.free(buffer) };

    // Owning values free themselves.
    let values = squares(allocator, 10).expect("out of memory");
    println!("squares: {:?}", &*values);
    let mut list = allocator.vec::<String>();
    list.push("collections from allocator_api2 work too".to_string());
    println!("{}", list[0]);
    drop((values, list));

    let check = gpa.deinit();
    println!("deinit() returned Check::{check:?}");
    assert_eq!(check, Check::Ok);
}
