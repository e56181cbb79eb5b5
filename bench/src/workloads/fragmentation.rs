//! Fragmentation: phases of allocation with changing size ranges, each followed by freeing a
//! random 80% of everything live, so that survivors pin pages of every size class while the
//! next phase asks for different sizes. Reported: the peak resident set (above the RSS at the
//! start) divided by the peak of the bytes live at once; 1.0 would be a perfect allocator.
//!
//! # Design
//! RSS belongs to the whole process, so the harness runs this workload in a child process per
//! allocator (`gpa-bench --child fragmentation-1t --alloc NAME`), which resets the kernel's
//! peak (`VmHWM`, via `/proc/self/clear_refs`) before starting. Every block is filled
//! completely, as a program would, so untouched memory does not hide waste. Live bytes are
//! counted in requested bytes. The live sets are intrusive lists threaded through the blocks
//! themselves (every block is at least 16 bytes), so the benchmark's own bookkeeping adds
//! nothing to the RSS. With two threads, both run the phases on half the bytes in
//! lockstep and, before each free step, pass their survivors to the other thread, so the frees
//! are remote and the other thread's pages must be reusable.

use core::alloc::GlobalAlloc;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Instant;

use super::{alloc, free, share, Block, Params, Sample};
use crate::rng::Rng;
use crate::sys;

/// The size range of each phase (inclusive), small to large and back.
const PHASES: [(usize, usize); 7] = [
    (16, 128),
    (128, 1024),
    (1024, 8192),
    (8192, 65_536),
    (16, 256),
    (256, 4096),
    (32, 32_768),
];

/// A set of live blocks linked through their first 16 bytes: `[next: *mut u8, size: usize]`.
struct Chain {
    head: Option<NonNull<u8>>,
}

// SAFETY: a chain owns its blocks; moving it moves that ownership to another thread.
unsafe impl Send for Chain {}

impl Chain {
    const fn new() -> Chain {
        Chain { head: None }
    }

    /// Links `b` in.
    ///
    /// # Safety
    /// `b` is live, at least 16 bytes, 8-aligned, owned by the caller and given to the chain.
    unsafe fn push(&mut self, b: Block) {
        debug_assert!(b.size >= 16);
        let words = b.ptr.as_ptr().cast::<usize>();
        // SAFETY: the block has 16 writable, 8-aligned bytes (the contract).
        unsafe {
            words.write(self.head.map_or(0, |h| h.as_ptr() as usize));
            words.add(1).write(b.size);
        }
        self.head = Some(b.ptr);
    }

    /// Unlinks the most recently pushed block.
    fn pop(&mut self) -> Option<Block> {
        let ptr = self.head?;
        let words = ptr.as_ptr().cast::<usize>();
        // SAFETY: every block in the chain was pushed with its header written and is live.
        let (next, size) = unsafe { (words.read(), words.add(1).read()) };
        self.head = NonNull::new(next as *mut u8);
        Some(Block { ptr, size })
    }
}

/// Runs the phases on `threads` threads.
pub fn run<A: GlobalAlloc + Sync>(a: &A, threads: usize, p: &Params) -> Sample {
    let phase_bytes = p.count(64 << 20, 1 << 20);
    let live = AtomicUsize::new(0);
    let peak_live = AtomicUsize::new(0);
    let ops = AtomicUsize::new(0);
    let mailboxes: Vec<Mutex<Chain>> = (0..threads).map(|_| Mutex::new(Chain::new())).collect();
    let barrier = Barrier::new(threads);
    let baseline = sys::status_bytes("VmRSS").unwrap_or(0);
    let reset = sys::reset_peak_rss();
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (live, peak_live, ops, mailboxes, barrier) =
                (&live, &peak_live, &ops, &mailboxes, &barrier);
            s.spawn(move || {
                let mut rng = Rng::new(p.seed, t as u64);
                let mut mine = Chain::new();
                let mut n = 0;
                for (lo, hi) in PHASES {
                    let mut bytes = 0;
                    while bytes < share(phase_bytes, threads, t) {
                        let b = alloc(a, rng.range(lo, hi));
                        // SAFETY: the block is live with `b.size` bytes.
                        unsafe { b.ptr.as_ptr().write_bytes(0xA5, b.size) };
                        bytes += b.size;
                        let now = live.fetch_add(b.size, Ordering::Relaxed) + b.size;
                        peak_live.fetch_max(now, Ordering::Relaxed);
                        // SAFETY: a fresh block of at least 16 bytes, owned by this thread.
                        unsafe { mine.push(b) };
                        n += 1;
                    }
                    // Hand the live set to the next thread (to itself with one thread).
                    *mailboxes[(t + 1) % threads].lock().unwrap() =
                        std::mem::replace(&mut mine, Chain::new());
                    barrier.wait();
                    let mut received =
                        std::mem::replace(&mut *mailboxes[t].lock().unwrap(), Chain::new());
                    barrier.wait();
                    while let Some(b) = received.pop() {
                        if rng.chance(4, 5) {
                            live.fetch_sub(b.size, Ordering::Relaxed);
                            // SAFETY: the set moved to this thread through its mailbox; each
                            // block is in exactly one set.
                            unsafe { free(a, b) };
                            n += 1;
                        } else {
                            // SAFETY: `b` left the received chain and is owned here.
                            unsafe { mine.push(b) };
                        }
                    }
                }
                while let Some(b) = mine.pop() {
                    live.fetch_sub(b.size, Ordering::Relaxed);
                    // SAFETY: a survivor, live in `a` and owned by this thread's chain.
                    unsafe { free(a, b) };
                    n += 1;
                }
                ops.fetch_add(n, Ordering::Relaxed);
            });
        }
    });
    let elapsed = start.elapsed();
    let peak_rss = sys::status_bytes("VmHWM").unwrap_or(0);
    let end_rss = sys::status_bytes("VmRSS").unwrap_or(0);
    let peak_live = peak_live.into_inner();
    let mut sample = Sample::per_unit(elapsed, ops.into_inner());
    let time_per_op = sample.value;
    sample.value = peak_rss.saturating_sub(baseline) as f64 / peak_live.max(1) as f64;
    sample.extra = vec![
        ("peak_rss_bytes".into(), peak_rss as f64),
        ("baseline_rss_bytes".into(), baseline as f64),
        ("end_rss_bytes".into(), end_rss as f64),
        ("peak_live_bytes".into(), peak_live as f64),
        ("peak_rss_reset".into(), f64::from(u8::from(reset))),
        ("ns_per_op".into(), time_per_op),
    ];
    sample
}
