//! A thread still running at exit (Miri's pass/threadleak_ignored.rs and
//! pass-dep/concurrency/env-cleanup-data-race.rs leave one): glibc's thread control block on
//! its stack points 16 bytes into the thread's DTV, which `pthread_create` allocated, so the
//! DTV is "possibly lost". Valgrind 3.19 (--leak-check=full): "288 bytes in 1 blocks are
//! possibly lost", allocated at allocate_dtv (dl-tls.c:401) ... by std::thread::functions::spawn
//! (functions.rs:131), by running_thread::main (running_thread.rs:17); nothing else.

use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

static STARTED: AtomicBool = AtomicBool::new(false);

fn main() {
    // No channel: `main` blocking in `recv` would allocate its `Thread` handle, which is
    // possibly lost too when it did (it varies from run to run).
    let _detached = thread::spawn(|| {
        STARTED.store(true, Ordering::Release);
        loop {
            thread::sleep(Duration::from_secs(3600));
        }
    });
    while !STARTED.load(Ordering::Acquire) {
        thread::yield_now();
    }
    println!("done");
}
