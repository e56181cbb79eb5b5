//! Conformance registrations for the allocator family: buffer-first, thread-safe, validating,
//! always-failing, and the testing `FailingAllocator` with no failure. (`MemoryPool` is typed,
//! not a raw allocator; `tests/family.rs` covers it.) Each body also checks, after the program,
//! what the wrapper knows: nothing left live, no contract violation.

use crate::model::Expect;

conformance!(buffer_first_over_page, 256, Expect::UNBOUNDED, |run| {
    let page = gpa::PageAllocator::new();
    // Count the fallback's traffic: every block that went there must come back there.
    let fallback = gpa::testing::FailingAllocator::new(page.allocator(), Default::default());
    let mut buffer = vec![0u8; 64 << 10];
    let stack_first = gpa::BufferFirstAllocator::new(&mut buffer, fallback.allocator());
    run(stack_first.allocator());
    assert_eq!(
        fallback.live_bytes(),
        0,
        "fallback blocks were all freed there"
    );
    assert_eq!(fallback.allocations(), fallback.deallocations());
});

conformance!(thread_safe_over_arena, 256, Expect::UNBOUNDED, |run| {
    let page = gpa::PageAllocator::new();
    let shared = gpa::ThreadSafeAllocator::new(gpa::ArenaAllocator::new(page.allocator()));
    run(shared.allocator());
    shared.into_inner().deinit();
});

conformance!(validating_over_page, 256, Expect::UNBOUNDED, |run| {
    let page = gpa::PageAllocator::new();
    let validating = gpa::ValidatingAllocator::new(page.allocator());
    run(validating.allocator());
    assert_eq!(validating.violations(), vec![]);
    assert_eq!(validating.live_blocks(), vec![]);
});

conformance!(
    failing_allocator_never_failing,
    256,
    Expect::UNBOUNDED,
    |run| {
        let page = gpa::PageAllocator::new();
        let failing = gpa::testing::FailingAllocator::new(page.allocator(), Default::default());
        run(failing.allocator());
        assert!(!failing.has_induced_failure());
        assert_eq!(failing.live_bytes(), 0);
        assert_eq!(failing.allocations(), failing.deallocations());
    }
);

conformance!(always_failing, 64, Expect::CONTRACT_ONLY, |run| {
    let failing = gpa::AlwaysFailingAllocator::new();
    run(failing.allocator());
});
