//! A program with the GPA as its global allocator that forgets a two-node `Box` chain (40
//! bytes a node) and keeps a 200-byte `Box` in a `static`, asking for the leak report at exit
//! (run by `tests/at_exit.rs`): the report must give Valgrind's loss kinds, the chain
//! definitely lost (its second node indirectly), the kept block still reachable. It prints
//! nothing: std's exit-time flush of stdout moves a writer into the `STDOUT` static with
//! padding bytes copied from the stack, which may hold the chain's second node's address;
//! Valgrind ignores those undefined bytes, gpa cannot tell them apart (see `gpa::gpa::at_exit`).

use std::sync::Mutex;

use gpa::{Config, GeneralPurposeAllocator};

#[global_allocator]
static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config::debug());

static KEPT: Mutex<Option<Box<[u8; 200]>>> = Mutex::new(None);

struct Node {
    _next: Option<Box<Node>>,
    _pad: [u64; 4],
}

#[inline(never)]
fn plant_chain() {
    let chain = Box::new(Node {
        _next: Some(Box::new(Node {
            _next: None,
            _pad: [0; 4],
        })),
        _pad: [1; 4],
    });
    std::mem::forget(std::hint::black_box(chain));
}

#[inline(never)]
fn plant_reachable() {
    *KEPT.lock().unwrap() = Some(Box::new([7; 200]));
}

fn main() {
    GPA.report_leaks_at_exit();
    plant_chain();
    plant_reachable();
}
