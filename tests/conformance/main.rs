//! One conformance suite for every allocator in the crate (Zig runs all of its allocators through
//! `testAllocator` and friends; talc runs each test over each configuration with a macro).
//!
//! Each registered allocator runs random programs of alloc / resize / remap / free and
//! `allocator_api2` grow / shrink (sizes 0 to
//! 1 MiB, alignments 1 to 1 MiB, both skewed small) against the reference model in
//! [`model`], which checks alignment, overlap, writability and that contents survive resize and
//! remap. See `model.rs` for the exact checks.
//!
//! # Registering an allocator
//! Add a line to *your own* file in this directory (`simple.rs`, `family.rs`, `gpa_configs.rs`):
//!
//! ```ignore
//! conformance!(arena_over_page, 256, Expect::UNBOUNDED, |run| {
//!     let page = gpa::PageAllocator::new();
//!     let arena = gpa::ArenaAllocator::new(page.allocator());
//!     run(arena.allocator());
//! });
//! ```
//!
//! * The first argument names the generated `#[test]`.
//! * The second is the number of random programs (each has 160 to 200 operations, so 64
//!   programs give the required 10,000+ operations per allocator; the test asserts it).
//!   `GPA_CONFORMANCE_CASES=5000 cargo test --test conformance` runs a long session.
//! * The third says what the allocator promises beyond the interface's contract:
//!   [`model::Expect::UNBOUNDED`] (never out of memory, shrinking in place always works),
//!   [`model::Expect::BOUNDED`] (may run out, e.g. over a fixed buffer) or
//!   [`model::Expect::CONTRACT_ONLY`] (may refuse any in-place resize too), or your own
//!   `Expect { .. }`.
//! * The body is run once per program with a fresh allocator: build it (and anything it borrows)
//!   inside the body and call `run(handle)` exactly once. Anything you want to check after the
//!   program (a GPA's `deinit()` being leak-free) goes after `run`, as an assertion.

/// Registers a conformance test; see the crate documentation above.
macro_rules! conformance {
    ($name:ident, $cases:expr, $expect:expr, |$run:ident| $body:block) => {
        #[test]
        fn $name() {
            fn setup($run: &mut dyn FnMut(gpa::Allocator<'_>)) $body
            crate::model::check(stringify!($name), $cases, $expect, setup);
        }
    };
}

mod family;
mod gpa_configs;
pub mod model;
mod simple;
