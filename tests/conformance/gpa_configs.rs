//! Conformance registrations for the GeneralPurposeAllocator in several configurations. Each
//! program ends with the GPA's own verdict: no findings and `deinit() == Check::Ok`.

use crate::model::Expect;

/// The GPA never runs out here, but refuses to shrink a large block into a size class in
/// place (the block must move to a small page so that its layout finds it).
const GPA: Expect = Expect {
    alloc_may_fail: false,
    shrink_succeeds: false,
};
/// As [`GPA`], over a bounded backing allocator or limit.
const GPA_BOUNDED: Expect = Expect {
    alloc_may_fail: true,
    shrink_succeeds: false,
};
use gpa::{Check, Config, GeneralPurposeAllocator, OnError};

fn run_gpa(config: Config, run: &mut dyn FnMut(gpa::Allocator<'_>)) {
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..config
    });
    run(gpa.allocator());
    assert!(gpa.report().is_clean(), "{}", gpa.report());
    assert_eq!(gpa.deinit(), Check::Ok);
}

conformance!(gpa_fast, 128, GPA, |run| {
    run_gpa(Config::fast(), run);
});

conformance!(gpa_debug, 128, GPA, |run| {
    run_gpa(Config::debug(), run);
});

conformance!(gpa_debug_retaining, 64, GPA, |run| {
    run_gpa(
        Config {
            never_unmap: true,
            retain_metadata: true,
            ..Config::debug()
        },
        run,
    );
});

conformance!(gpa_memory_limited, 64, GPA_BOUNDED, |run| {
    let config = Config {
        enable_memory_limit: true,
        ..Config::debug()
    };
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..config
    });
    gpa.set_requested_memory_limit(8 << 20);
    run(gpa.allocator());
    assert!(gpa.report().is_clean(), "{}", gpa.report());
    assert_eq!(gpa.total_requested_bytes(), 0);
    assert_eq!(gpa.deinit(), Check::Ok);
});

conformance!(gpa_over_fixed_buffer, 64, GPA_BOUNDED, |run| {
    // The backing allocator must be 'static: leak one buffer-backed allocator per program.
    let buffer: &'static mut [u8] = Box::leak(vec![0u8; 96 << 20].into_boxed_slice());
    let fixed: &'static gpa::ThreadSafeFixedBufferAllocator<'static> =
        Box::leak(Box::new(gpa::ThreadSafeFixedBufferAllocator::new(buffer)));
    run_gpa(
        Config {
            backing_allocator: fixed,
            backing_allocator_zeroes: false,
            ..Config::debug()
        },
        run,
    );
});
