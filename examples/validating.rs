//! `ValidatingAllocator`: checks every call of the allocator contract and reports violations
//! as data (and on stderr), without forwarding invalid frees to the allocator underneath.
//!
//! Run with `cargo run --example validating`.

use gpa::{PageAllocator, ValidatingAllocator};

pub fn main() {
    let page = PageAllocator::new();
    let validating = ValidatingAllocator::new(page.allocator()).with_stderr_reports(false);
    let allocator = validating.allocator();

    // Correct use: nothing to report.
    let mut numbers = allocator_api2::vec::Vec::new_in(allocator);
    numbers.extend(0..1000u32);
    drop(numbers);
    println!(
        "after correct use: {} violations",
        validating.violations().len()
    );

    // Three classic mistakes, made on purpose through the raw interface.
    let block = allocator.raw_alloc(64, 16).expect("page memory");
    // SAFETY: deliberate misuse; the validator refuses each bad call before it reaches the
    // page allocator, so no memory is touched.
    unsafe {
        allocator.raw_free(block, 32, 16); // wrong length
        allocator.raw_free(block, 64, 16); // correct
        allocator.raw_free(block, 64, 16); // double free
    }
    for violation in validating.violations() {
        println!("reported: {violation}");
    }
    println!("live blocks at the end: {}", validating.live_blocks().len());
}
