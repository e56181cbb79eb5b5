//! Trace capture over many shapes of code built without frame pointers: it never faults,
//! whatever the frame-pointer register holds, with the default method and with a forced
//! frame-pointer walk.

use gpa::trace::TraceMethod;
use gpa_nofp::shapes;

#[test]
fn the_code_is_found_to_have_no_frame_pointers() {
    assert!(!gpa::trace::frame_pointers_work());
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
