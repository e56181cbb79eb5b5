//! `ThreadSafeAllocator`: one arena shared by four threads through a lock, then freed at once.
//!
//! Run with `cargo run --example thread_safe`.

use gpa::{ArenaAllocator, PageAllocator, ThreadSafeAllocator};

pub fn main() {
    let page = PageAllocator::new();
    // An arena over a handle is `!Send` (the handle could point at a single-threaded
    // allocator); this one points at the page allocator, which is thread-safe, and nothing
    // else uses the arena, so the promise holds.
    // SAFETY: see the comment above.
    let shared =
        unsafe { ThreadSafeAllocator::new_assume_send(ArenaAllocator::new(page.allocator())) };

    let totals: Vec<(usize, usize)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|thread| {
                let shared = &shared;
                scope.spawn(move || {
                    // Handles are per thread; the wrapper is shared by reference.
                    let allocator = shared.allocator();
                    let mut lines = Vec::new();
                    for i in 0..1000 {
                        let line = allocator
                            .alloc_print(format_args!("thread {thread} line {i}"))
                            .expect("the page allocator does not run out here");
                        lines.push(line);
                    }
                    let bytes = lines.iter().map(|line| line.len()).sum();
                    assert!(lines
                        .iter()
                        .enumerate()
                        .all(|(i, line)| **line == *format!("thread {thread} line {i}")));
                    (lines.len(), bytes)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().unwrap())
            .collect()
    });

    for (thread, (lines, bytes)) in totals.iter().enumerate() {
        println!("thread {thread}: {lines} strings, {bytes} bytes, all intact");
    }
    let arena = shared.into_inner().into_inner();
    println!(
        "arena capacity after the run: {} bytes in {} buffers; freeing them all at once",
        arena.query_capacity(),
        arena.buffer_count()
    );
    arena.deinit();
}
