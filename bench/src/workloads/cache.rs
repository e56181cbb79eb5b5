//! Cache false sharing, after Hoard's `cache-scratch` (passive) and `cache-thrash` (active).
//!
//! Each thread repeatedly allocates an 8-byte object, writes every byte of it `WRITES` times and
//! frees it. An allocator that hands neighbouring bytes of one cache line to different threads
//! makes those writes fight over the line.
//! * thrash: the threads start from nothing (active false sharing: the allocator itself puts
//!   objects of different threads side by side).
//! * scratch: the main thread first allocates one object per thread, side by side; each thread
//!   starts by freeing its object (a remote free, timed) and then loops. An allocator that
//!   reuses that freed slot for the thread's own objects inherits the shared line (passive
//!   false sharing).
//!
//! Reported: wall nanoseconds per object (allocate + `8 * WRITES` byte writes + free).

use core::alloc::GlobalAlloc;

use super::{alloc, free, share, timed, Params, Sample};

const OBJECT: usize = 8;
const WRITES: usize = 16;

/// Runs cache-scratch (`scratch`) or cache-thrash on `threads` threads.
pub fn run<A: GlobalAlloc + Sync>(a: &A, threads: usize, scratch: bool, p: &Params) -> Sample {
    let objects = p.count(1_000_000, 1000);
    let handed: Vec<_> = if scratch {
        (0..threads).map(|_| alloc(a, OBJECT)).collect()
    } else {
        Vec::new()
    };
    let elapsed = timed(
        threads,
        |_| (),
        |t, ()| {
            if let Some(&b) = handed.get(t) {
                // SAFETY: object t was allocated from `a` above and is freed only by thread t.
                unsafe { free(a, b) };
            }
            for _ in 0..share(objects, threads, t) {
                let b = alloc(a, OBJECT);
                for round in 0..WRITES {
                    for j in 0..OBJECT {
                        // SAFETY: j < OBJECT, the size of the live block `b`; volatile keeps
                        // the writes (they are the point of the workload).
                        unsafe { b.ptr.as_ptr().add(j).write_volatile(round as u8) };
                    }
                }
                // SAFETY: `b` was allocated from `a` in this iteration and is freed once.
                unsafe { free(a, b) };
            }
        },
        |()| {},
    );
    Sample::per_unit(elapsed, objects)
}
