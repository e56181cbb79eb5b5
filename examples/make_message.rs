//! The allocator is created once and passed down; a function returns memory it allocated and
//! the caller frees it (Zig's `allocPrint` pattern).
//!
//! Run with `cargo run --example make_message`.

use gpa::{ArenaAllocator, PageAllocator};

/// Builds a message in memory from `allocator`. The caller owns the result and frees it with
/// the same allocator (the returned reference borrows the allocator, not this function).
fn make_message(allocator: gpa::Allocator<'_>, unread: usize) -> Result<&mut str, gpa::Error> {
    let plural = if unread == 1 { "" } else { "s" };
    allocator.alloc_print(format_args!("You have {unread} unread message{plural}."))
}

fn main() -> Result<(), gpa::Error> {
    // Created once, near the top of the program.
    let page = PageAllocator::new();
    let allocator = page.allocator();

    for unread in [0, 1, 42] {
        let message = make_message(allocator, unread)?;
        println!("{message} ({} bytes, exactly sized)", message.len());
        // SAFETY: `message` came from `allocator` and is not used after this.
        unsafe { allocator.free(message) };
    }

    // The same function with an arena: no individual frees, everything goes at once.
    let arena = ArenaAllocator::new(page.allocator());
    let messages: Vec<&mut str> = (1..=3)
        .map(|unread| make_message(arena.allocator(), unread))
        .collect::<Result<_, _>>()?;
    println!(
        "arena: {} messages, {} bytes of arena capacity, freed together by deinit",
        messages.len(),
        arena.query_capacity()
    );
    arena.deinit();
    Ok(())
}
