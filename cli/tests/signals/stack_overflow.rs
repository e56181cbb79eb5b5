// Unbounded recursion, on the main thread or (argument `thread`) on a spawned one: Rust's
// std installs its stack-overflow handler for SIGSEGV only when the disposition is still
// SIG_DFL, and that handler prints "thread '...' has overflowed its stack" and aborts
// (SIGABRT).
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 16]);
    recurse(depth + 1) + frame[0]
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("thread") {
        let deep = std::thread::Builder::new()
            .name("deep".into())
            .spawn(|| recurse(0))
            .unwrap();
        println!("{:?}", deep.join().is_ok());
    } else {
        println!("{}", recurse(0));
    }
}
