//! Without frame pointers, traces still start at the user's function: in a leak report of an
//! instance's `deinit`, and in a `gpa::testing` check on the global allocator (issue 12: they
//! started at libtest's `run_test_in_process`, eight frames up, with no user frame).

use gpa::report::{Finding, Report};
use gpa::{Config, GeneralPurposeAllocator, OnError};

#[global_allocator]
static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config {
    on_error: OnError::Record,
    ..Config::debug()
});

#[inline(never)]
fn leaky_user_function(len: usize) -> usize {
    let kept = std::hint::black_box(vec![0x5a_u8; len]);
    let address = kept.as_ptr() as usize;
    core::mem::forget(kept);
    address
}

#[inline(never)]
fn leaky_user_function_with_its_own_gpa(a: gpa::Allocator<'_>) {
    std::hint::black_box(a.raw_alloc(72, 8).unwrap());
}

/// The function the allocation stack of the only leak finding starts at.
fn first_frame(report: &Report) -> &str {
    let leaks: Vec<&Finding> = report.findings.iter().collect();
    assert_eq!(leaks.len(), 1, "{report}");
    let stack = leaks[0].stack("alloc").expect("an allocation stack");
    stack
        .frames
        .first()
        .and_then(|frame| frame.function.as_deref())
        .unwrap_or_else(|| panic!("no frame:\n{report}"))
}

#[test]
fn a_leak_check_names_the_user_function() {
    let report = gpa::testing::check(|| {
        leaky_user_function(40);
    });
    assert_eq!(report.leak_totals(), (1, 40), "{report}");
    assert!(
        first_frame(&report).contains("leaky_user_function"),
        "{report}"
    );
}

#[test]
fn a_deinit_leak_report_names_the_user_function() {
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..Config::debug()
    });
    leaky_user_function_with_its_own_gpa(gpa.allocator());
    assert_eq!(gpa.deinit(), gpa::Check::Leak);
    let report = gpa.take_report();
    assert!(
        first_frame(&report).contains("leaky_user_function_with_its_own_gpa"),
        "{report}"
    );
}
