//! Trace capture over many shapes of code built with frame pointers (this repository's
//! `.cargo/config.toml`): the walk follows the chain up to a garbage record and stops there,
//! never faulting. `tests/nofp/` runs the same shapes without frame pointers.

#[allow(dead_code)]
#[path = "nofp/src/shapes.rs"]
mod shapes;

use gpa::TraceMethod;

#[test]
fn the_code_is_found_to_have_frame_pointers() {
    assert!(gpa::TraceMethod::frame_pointers_work());
}

#[test]
fn many_shapes_with_the_default_method() {
    shapes::many_shapes(TraceMethod::Auto, 150, 40, 1);
}

#[test]
fn many_shapes_with_the_unwinder() {
    shapes::many_shapes(TraceMethod::caching_unwinder(), 60, 40, 3);
}

#[test]
fn small_stacks() {
    shapes::small_stacks(TraceMethod::Auto);
}

#[test]
fn alternate_signal_stack() {
    shapes::alternate_stack(TraceMethod::Auto);
}
