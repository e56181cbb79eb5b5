//! The "checking deinit" pattern: the program ends by asking the GPA whether anything leaked
//! and says so, the way Zig programs do with `defer if (gpa.deinit() == .leak) ...`.
//!
//! Run: `cargo run --example check_deinit`

use gpa::{Allocator, Check, GeneralPurposeAllocator};

/// Builds a greeting; forgets to free the scratch buffer it used (the planted bug).
fn greet<'a>(allocator: Allocator<'a>, name: &str) -> Result<gpa::Box<'a, str>, gpa::Error> {
    let scratch = allocator.dupe(name.as_bytes())?;
    scratch.make_ascii_uppercase();
    let upper = core::str::from_utf8(scratch).expect("ASCII stays UTF-8");
    allocator.print(format_args!("Hello, {upper}!"))
}

fn main() {
    let mut gpa = GeneralPurposeAllocator::new();
    {
        let greeting = greet(gpa.allocator(), "zig").expect("out of memory");
        println!("{}", &*greeting);
    }
    match gpa.deinit() {
        Check::Ok => println!("no leaks"),
        Check::Leak => println!("memory leak detected"),
    }
}
