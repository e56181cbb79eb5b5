//! Multi-threaded stress (in the spirit of mimalloc's test-stress): 8 threads, 10 million
//! operations in total, random sizes from 1 byte to 1 MiB (mostly small, as in real programs),
//! a third of all frees done by a thread other than the allocating one, and a byte pattern in
//! every block checked before it is freed. At the end nothing is lost: `deinit()` is `Ok`.

use std::sync::Mutex;

use gpa::{Allocator, Check, Config, GeneralPurposeAllocator, OnError};

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
