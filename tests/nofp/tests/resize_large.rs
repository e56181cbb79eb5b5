//! Issue 12's crash: without frame pointers, shrinking and growing a 300,000-byte block with
//! `raw_remap`/`raw_resize` and freeing it ended in SIGSEGV inside the frame-pointer walk
//! (with `opt-level = 1`, the register held a block length, which the walk read). Run with the
//! default trace method and with a forced frame-pointer walk.

use gpa::TraceMethod;
use gpa::{Config, GeneralPurposeAllocator, OnError};

const SIZES: [usize; 6] = [50_000, 100_000, 200_000, 300_000, 600_000, 3_000_000];

#[test]
fn shrink_and_grow_every_way_then_free() {
    for method in [TraceMethod::Auto, TraceMethod::FramePointers] {
        shrink_and_grow(method);
    }
}

fn shrink_and_grow(method: TraceMethod) {
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        trace_method: method,
        ..Config::debug()
    });
    let a = gpa.allocator();
    for &first in &SIZES {
        for &second in &SIZES {
            for ops in 0..4 {
                let block = a.raw_alloc(300_000, 16).unwrap();
                let mut len = 300_000;
                let mut block = block;
                for (step, &target) in [first, second].iter().enumerate() {
                    // SAFETY: `block` is live with `len` bytes.
                    unsafe {
                        if ops >> step & 1 == 0 {
                            if let Some(moved) = a.raw_remap(block, len, 16, target) {
                                block = moved;
                                len = target;
                            }
                        } else if a.raw_resize(block, len, 16, target) {
                            len = target;
                        }
                    }
                }
                // SAFETY: as above.
                unsafe { a.raw_free(block, len, 16) };
            }
        }
    }
    assert_eq!(gpa.deinit(), gpa::Check::Ok);
}
