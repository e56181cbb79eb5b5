//! `BufferFirstAllocator` (Zig's `StackFallbackAllocator`): short strings are built in a
//! buffer on the stack, and only the long ones reach the heap allocator behind it.
//!
//! Run with `cargo run --example buffer_first`.

use gpa::testing::{Config, FailingAllocator};
use gpa::{Allocator, BufferFirstAllocator, PageAllocator};

/// Joins `words` with spaces into memory from `allocator`.
fn join<'a>(allocator: Allocator<'a>, words: &[&str]) -> Result<gpa::Box<'a, str>, gpa::Error> {
    let mut text = String::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            text.push(' ');
        }
        text.push_str(word);
    }
    allocator.print(format_args!("{text}"))
}

pub fn main() -> Result<(), gpa::Error> {
    let page = PageAllocator::new();
    // Count what reaches the heap side.
    let heap = FailingAllocator::new(page.allocator(), Config::NEVER);
    let mut scratch = [0u8; 256];
    let stack_first = BufferFirstAllocator::new(&mut scratch, heap.allocator());
    let allocator = stack_first.allocator();

    let short = join(allocator, &["memory", "from", "the", "stack"])?;
    println!(
        "{short:?}: in the stack buffer: {}, heap allocations so far: {}",
        stack_first.in_buffer(short.as_ptr()),
        heap.allocations()
    );
    let words = vec!["overflow"; 100];
    let long = join(allocator, &words)?;
    println!(
        "a {}-byte string: in the stack buffer: {}, heap allocations so far: {}",
        long.len(),
        stack_first.in_buffer(long.as_ptr()),
        heap.allocations()
    );
    assert!(stack_first.in_buffer(short.as_ptr()) && !stack_first.in_buffer(long.as_ptr()));
    drop(long);
    drop(short);
    println!(
        "after freeing both: stack buffer in use {} bytes, heap bytes live {}",
        stack_first.buffer_used(),
        heap.live_bytes()
    );
    assert_eq!(heap.live_bytes(), 0);
    Ok(())
}
