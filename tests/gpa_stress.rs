//! Multi-threaded stress (in the spirit of mimalloc's test-stress): 8 threads, 10 million
//! operations in total, random sizes from 1 byte to 1 MiB (mostly small, as in real programs),
//! a third of all frees done by a thread other than the allocating one, and a byte pattern in
//! every block checked before it is freed. At the end nothing is lost: `deinit()` is `Ok`.

use std::sync::Mutex;

use gpa::{Allocator, Check, Config, FindingKind, GeneralPurposeAllocator, OnError};

const THREADS: usize = 8;
const SLOTS: usize = 1024;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn size(&mut self) -> usize {
        let roll = self.next() % 1000;
        let limit = match roll {
            0..=899 => 1024,
            900..=989 => 64 * 1024,
            _ => 1 << 20,
        };
        1 + (self.next() as usize) % limit
    }
}

#[derive(Clone, Copy)]
struct Block {
    address: usize,
    size: usize,
    tag: u8,
}

fn fill(block: Block) {
    let len = block.size.min(64);
    // SAFETY: the block is live and `size` bytes long.
    unsafe {
        core::ptr::write_bytes(block.address as *mut u8, block.tag, len);
        core::ptr::write_bytes(
            (block.address + block.size - len) as *mut u8,
            block.tag,
            len,
        );
    }
}

fn check_and_free(allocator: Allocator<'_>, block: Block) {
    let len = block.size.min(64);
    // SAFETY: the block is live and `size` bytes long; freed once.
    unsafe {
        let head = core::slice::from_raw_parts(block.address as *const u8, len);
        let tail =
            core::slice::from_raw_parts((block.address + block.size - len) as *const u8, len);
        assert!(
            head.iter().chain(tail).all(|&b| b == block.tag),
            "block {:#x} corrupted",
            block.address
        );
        allocator.raw_free(
            core::ptr::NonNull::new(block.address as *mut u8).unwrap(),
            block.size,
            8,
        );
    }
}

fn run(config: Config, operations: usize) {
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..config
    });
    let inboxes: Vec<Mutex<Vec<Block>>> = (0..THREADS).map(|_| Mutex::new(Vec::new())).collect();
    std::thread::scope(|scope| {
        for thread in 0..THREADS {
            let (gpa, inboxes) = (&gpa, &inboxes);
            scope.spawn(move || {
                let allocator = gpa.allocator();
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((thread as u64 + 1) * 0x1234_5678));
                let mut slots: Vec<Option<Block>> = vec![None; SLOTS];
                for op in 0..operations / THREADS {
                    if op % 64 == 0 {
                        let incoming = core::mem::take(&mut *inboxes[thread].lock().unwrap());
                        for block in incoming {
                            check_and_free(allocator, block);
                        }
                    }
                    let slot = (rng.next() as usize) % SLOTS;
                    match slots[slot].take() {
                        Some(block) if rng.next() % 3 == 0 => {
                            let target =
                                (thread + 1 + (rng.next() as usize) % (THREADS - 1)) % THREADS;
                            inboxes[target].lock().unwrap().push(block);
                        }
                        Some(block) => check_and_free(allocator, block),
                        None => {
                            let size = rng.size();
                            let address =
                                allocator.raw_alloc(size, 8).expect("alloc").as_ptr() as usize;
                            let block = Block {
                                address,
                                size,
                                tag: rng.next() as u8,
                            };
                            fill(block);
                            slots[slot] = Some(block);
                        }
                    }
                }
                for block in slots.into_iter().flatten() {
                    check_and_free(allocator, block);
                }
            });
        }
    });
    for inbox in &inboxes {
        for block in core::mem::take(&mut *inbox.lock().unwrap()) {
            check_and_free(gpa.allocator(), block);
        }
    }
    assert!(gpa.report().is_clean(), "{}", gpa.report());
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn ten_million_operations_fast_config() {
    run(Config::fast(), 10_000_000);
}

#[test]
fn ten_million_operations_debug_config() {
    run(Config::debug(), 10_000_000);
}

/// Cross-thread frees only (fast mode's per-page thread-free lists and the notification of
/// full pages): every thread allocates batches of small blocks, each filled with a pattern
/// unique to it, and hands them to the next thread, which checks the pattern (a slot handed
/// out twice would carry another block's pattern) and frees them, half through the C-style
/// unsized free. Each thread keeps a few blocks to the end: `deinit` must find exactly those.
fn cross_thread_ring(config: Config, rounds: usize) {
    /// Blocks handed to another thread: address, size and the id their pattern derives from.
    type Batch = Vec<(usize, usize, u64)>;
    const RING: usize = 6;
    const BATCH: usize = 700;
    const KEPT: usize = 5;
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..config
    });
    let inboxes: Vec<Mutex<Vec<Batch>>> = (0..RING).map(|_| Mutex::new(Vec::new())).collect();
    let pattern = |id: u64, word: usize| id.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ word as u64;
    let drain = |allocator: Allocator<'_>, gpa: &GeneralPurposeAllocator, batch: Batch| {
        for (address, size, id) in batch {
            for word in 0..size / 8 {
                // SAFETY: a live block of `size` bytes (a multiple of 8), written below.
                let value = unsafe { (address as *const u64).add(word).read() };
                assert_eq!(
                    value,
                    pattern(id, word),
                    "block {id} at {address:#x} overwritten"
                );
            }
            // SAFETY: a live block of this GPA with this layout, freed once.
            unsafe {
                if id % 2 == 0 {
                    gpa.free_unsized(address as *mut u8);
                } else {
                    allocator.raw_free(
                        core::ptr::NonNull::new_unchecked(address as *mut u8),
                        size,
                        8,
                    );
                }
            }
        }
    };
    let kept: Vec<Vec<(usize, usize)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..RING)
            .map(|thread| {
                let (gpa, inboxes) = (&gpa, &inboxes);
                scope.spawn(move || {
                    let allocator = gpa.allocator();
                    let mut rng = Rng(0x51ed_2701_a3c4_9b6d ^ (thread as u64 + 1));
                    let mut next_id = (thread as u64) << 40;
                    for _ in 0..rounds {
                        let mut batch = Vec::with_capacity(BATCH);
                        for _ in 0..BATCH {
                            let size = 8 * (1 + (rng.next() as usize) % 64);
                            let block = allocator.raw_alloc(size, 8).expect("alloc");
                            let address = block.as_ptr() as usize;
                            for word in 0..size / 8 {
                                // SAFETY: a fresh block of `size` bytes.
                                unsafe {
                                    (address as *mut u64)
                                        .add(word)
                                        .write(pattern(next_id, word))
                                };
                            }
                            batch.push((address, size, next_id));
                            next_id += 1;
                        }
                        inboxes[(thread + 1) % RING].lock().unwrap().push(batch);
                        let incoming = core::mem::take(&mut *inboxes[thread].lock().unwrap());
                        for batch in incoming {
                            drain(allocator, gpa, batch);
                        }
                    }
                    (0..KEPT)
                        .map(|_| {
                            (
                                allocator.raw_alloc(24, 8).expect("alloc").as_ptr() as usize,
                                24,
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    for inbox in &inboxes {
        for batch in core::mem::take(&mut *inbox.lock().unwrap()) {
            drain(gpa.allocator(), &gpa, batch);
        }
    }
    assert!(gpa.report().is_clean(), "{}", gpa.report());
    // The workers' heaps are abandoned now: the scan sees all of them.
    assert_eq!(gpa.detect_leaks(), RING * KEPT);
    assert_eq!(gpa.deinit(), Check::Leak);
    let expected: std::collections::HashSet<usize> =
        kept.iter().flatten().map(|&(address, _)| address).collect();
    for finding in gpa.report().of_kind(FindingKind::Leak) {
        assert!(expected.contains(&finding.address), "{finding:?}");
    }
}

#[test]
fn cross_thread_frees_fast_config() {
    cross_thread_ring(Config::fast(), 300);
}

#[test]
fn cross_thread_frees_debug_config() {
    cross_thread_ring(Config::debug(), 40);
}
