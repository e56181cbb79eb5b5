//! The allocator must outlive the memory it gives out, and the borrow checker enforces it.
//!
//! Every block handed out through an `Allocator<'a>` handle borrows the implementation for
//! `'a`. This program keeps a message after the function that made it returned, which is fine
//! because the allocator lives in `main`.
//!
//! The version below, where the allocator lives in an inner scope while the message is used
//! after it, does not compile:
//!
//! ```text
//! let message: &str;
//! {
//!     let page = gpa::PageAllocator::new();
//!     let arena = gpa::ArenaAllocator::new(page.allocator());
//!     message = arena.allocator().alloc_print(format_args!("hello")).unwrap();
//! } // `arena` (and `page`) are dropped here while still borrowed
//! println!("{message}");
//!
//! error[E0597]: `arena` does not live long enough
//! ```
//!
//! (The same code is a `compile_fail` doctest in `src/allocators/arena.rs`, so the claim is
//! checked by `cargo test`.)
//!
//! Run with `cargo run --example outlives`.

use gpa::{Allocator, ArenaAllocator, PageAllocator};

/// Returns memory that outlives this function: it borrows the allocator, not the stack frame.
fn greeting<'a>(allocator: Allocator<'a>, name: &str) -> Result<&'a mut str, gpa::Error> {
    allocator.alloc_print(format_args!("hello, {name}"))
}

fn main() -> Result<(), gpa::Error> {
    let page = PageAllocator::new();
    let arena = ArenaAllocator::new(page.allocator());

    let kept = {
        let name = String::from("world");
        // `name` dies at the end of this block; the greeting does not, because it lives in
        // the arena, which outlives both.
        greeting(arena.allocator(), &name)?
    };
    println!("{kept} (still valid after the scope that made it; the arena outlives it)");

    // Ending the arena ends every block in it: using `kept` after this line would not compile.
    arena.deinit();
    println!("arena freed; its memory can no longer be reached");
    Ok(())
}
