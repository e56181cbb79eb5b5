//! Trace capture over many shapes of code built without frame pointers (or, in one build of
//! `tests/nofp.rs`, with them): it never faults,
//! whatever the frame-pointer register holds, with the default method and with a forced
//! frame-pointer walk.

use gpa::TraceMethod;
use gpa_nofp::shapes;

/// Set by `tests/nofp.rs` for the one build it makes with frame pointers.
const BUILT_WITH_FRAME_POINTERS: bool = option_env!("GPA_NOFP_WITH_FRAME_POINTERS").is_some();

#[test]
fn frame_pointers_are_detected_as_built() {
    assert_eq!(
        gpa::TraceMethod::frame_pointers_work(),
        BUILT_WITH_FRAME_POINTERS
    );
}

#[test]
fn many_shapes_with_the_default_method() {
    shapes::many_shapes(TraceMethod::Auto, 150, 40, 1);
}

#[test]
fn many_shapes_with_a_forced_frame_pointer_walk() {
    shapes::many_shapes(TraceMethod::FramePointers, 150, 40, 2);
}

#[test]
fn small_stacks() {
    shapes::small_stacks(TraceMethod::Auto);
    shapes::small_stacks(TraceMethod::FramePointers);
}

#[test]
fn alternate_signal_stack() {
    shapes::alternate_stack(TraceMethod::Auto);
    shapes::alternate_stack(TraceMethod::FramePointers);
}
