//! A deliberate double free. In safety mode the GPA reports it with three stack traces: where
//! the block was allocated, where it was first freed, and where it was freed again. The heap
//! stays intact and the program goes on.
//!
//! Run: `cargo run --example double_free`

use gpa::{Allocator, Check, GeneralPurposeAllocator};

struct Session {
    id: u32,
}

fn open_session(allocator: Allocator<'_>) -> &mut Session {
    allocator.create(Session { id: 7 }).expect("out of memory")
}

fn close_session(allocator: Allocator<'_>, session: &mut Session) {
    println!("closing session {}", session.id);
    // SAFETY: deliberately called twice on the same session below.
    unsafe { allocator.destroy(session) };
}

fn main() {
    let mut gpa = GeneralPurposeAllocator::new();
    let allocator = gpa.allocator();
    let session: *mut Session = open_session(allocator);
    // SAFETY: the first close is correct; the second is the planted double free, which the GPA
    // detects from its metadata without touching the freed memory's contents.
    unsafe {
        close_session(allocator, &mut *session);
        allocator.free(&mut *session);
    }
    let report = gpa.report();
    println!(
        "findings: {} ({})",
        report.findings.len(),
        report
            .findings
            .iter()
            .map(|f| f.kind.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    assert_eq!(gpa.deinit(), Check::Ok);
}
