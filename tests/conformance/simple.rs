//! Conformance registrations for the simple allocators: page, fixed buffer (both variants) and
//! arena (over the page allocator and over a fixed buffer).

use crate::model::Expect;

/// A fixed buffer large enough that programs rarely exhaust it (running out is allowed).
const FIXED_BUFFER_LEN: usize = 256 << 20;

conformance!(page_allocator, 256, Expect::UNBOUNDED, |run| {
    let page = gpa::PageAllocator::new();
    run(page.allocator());
});

conformance!(fixed_buffer, 256, Expect::BOUNDED, |run| {
    let mut buffer = vec![0u8; FIXED_BUFFER_LEN];
    let fixed = gpa::FixedBufferAllocator::new(&mut buffer);
    run(fixed.allocator());
});

conformance!(thread_safe_fixed_buffer, 256, Expect::BOUNDED, |run| {
    let mut buffer = vec![0u8; FIXED_BUFFER_LEN];
    let fixed = gpa::ThreadSafeFixedBufferAllocator::new(&mut buffer);
    run(fixed.allocator());
});

conformance!(arena_over_page, 256, Expect::UNBOUNDED, |run| {
    let page = gpa::PageAllocator::new();
    let arena = gpa::ArenaAllocator::new(page.allocator());
    run(arena.allocator());
    arena.deinit();
});

conformance!(arena_over_fixed_buffer, 256, Expect::BOUNDED, |run| {
    let mut buffer = vec![0u8; FIXED_BUFFER_LEN];
    let fixed = gpa::FixedBufferAllocator::new(&mut buffer);
    let arena = gpa::ArenaAllocator::new(fixed.allocator());
    run(arena.allocator());
    drop(arena);
    assert_eq!(fixed.end_index(), 0, "the arena gave every buffer back");
});
