//! Behaviour tests for the allocator family: `MemoryPool`, `BufferFirstAllocator`,
//! `ThreadSafeAllocator`, `ValidatingAllocator` and `AlwaysFailingAllocator`.

use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::NonNull;
use std::rc::Rc;

use gpa::testing::{Config, FailingAllocator};
use gpa::{
    AlwaysFailingAllocator, ArenaAllocator, BufferFirstAllocator, Error, FixedBufferAllocator,
    MemoryPool, PageAllocator, RawAllocator, RawOperation, ResetMode, ThreadSafeAllocator,
    ValidatingAllocator, ViolationKind,
};

/// Asserts that the byte ranges `[start, start + len)` are pairwise disjoint.
fn assert_disjoint(mut ranges: Vec<(usize, usize)>) {
    ranges.sort_unstable();
    for pair in ranges.windows(2) {
        assert!(
            pair[0].0 + pair[0].1 <= pair[1].0,
            "blocks overlap: {:#x}+{} and {:#x}",
            pair[0].0,
            pair[0].1,
            pair[1].0
        );
    }
}

// ---------------------------------------------------------------------------------------------
// MemoryPool

#[test]
fn pool_reuses_the_most_recently_freed_slot() {
    let page = PageAllocator::new();
    let pool = MemoryPool::<u64>::new(page.allocator());
    let a = pool.create(1).unwrap();
    let b = pool.create(2).unwrap();
    assert_ne!(a, b);
    // SAFETY: both came from this pool and are destroyed once.
    unsafe {
        pool.destroy(a);
        pool.destroy(b);
    }
    assert_eq!(pool.live(), 0);
    pool.check_invariants();
    // LIFO free list: b's slot first, then a's.
    assert_eq!(pool.create(3).unwrap(), b);
    assert_eq!(pool.create(4).unwrap(), a);
    assert_eq!(pool.live(), 2);
}

#[test]
fn pool_grows_in_chunks_and_keeps_every_value() {
    let page = PageAllocator::new();
    let counting = FailingAllocator::new(page.allocator(), Config::NEVER);
    let pool = MemoryPool::<[u32; 3]>::new(counting.allocator());
    let n = 20_000u32;
    let objects: Vec<NonNull<[u32; 3]>> = (0..n)
        .map(|i| pool.create([i, !i, i ^ 0x5a5a]).unwrap())
        .collect();
    assert_eq!(pool.live(), n as usize);
    assert!(pool.capacity() >= n as usize);
    pool.check_invariants();
    // Capacity doubles, so chunk allocations are logarithmic in the object count.
    let chunks = counting.allocations();
    assert!(
        (2..=20).contains(&chunks),
        "{chunks} chunks for {n} objects"
    );
    for (i, object) in objects.iter().enumerate() {
        let i = i as u32;
        // SAFETY: live objects of the pool.
        assert_eq!(unsafe { *object.as_ptr() }, [i, !i, i ^ 0x5a5a]);
        assert_eq!(
            object.as_ptr() as usize % MemoryPool::<[u32; 3]>::SLOT_ALIGN,
            0
        );
        assert!(pool.owns(*object));
    }
    let size = MemoryPool::<[u32; 3]>::SLOT_SIZE;
    assert_disjoint(
        objects
            .iter()
            .map(|o| (o.as_ptr() as usize, size))
            .collect(),
    );
    drop(pool);
    assert_eq!(counting.deallocations(), chunks);
    assert_eq!(counting.allocated_bytes(), counting.freed_bytes());
}

#[test]
fn pool_honours_large_alignment() {
    #[repr(align(256))]
    struct Aligned(#[allow(dead_code)] u8);
    let page = PageAllocator::new();
    let pool = MemoryPool::<Aligned>::new(page.allocator());
    for _ in 0..100 {
        let object = pool.create(Aligned(1)).unwrap();
        assert_eq!(object.as_ptr() as usize % 256, 0);
    }
}

#[test]
fn non_growable_pool_fails_when_full_and_recovers_after_destroy() {
    let page = PageAllocator::new();
    let counting = FailingAllocator::new(page.allocator(), Config::NEVER);
    let pool = MemoryPool::<u128>::non_growable(counting.allocator(), 4).unwrap();
    assert!(!pool.is_growable());
    assert_eq!(pool.capacity(), 4);
    let objects: Vec<_> = (0..4).map(|i| pool.create(i).unwrap()).collect();
    assert_eq!(pool.create(99), Err(Error::OutOfMemory));
    assert_eq!(
        counting.allocations(),
        1,
        "the pool must not allocate when full"
    );
    // SAFETY: a live object of this pool.
    unsafe { pool.destroy(objects[2]) };
    assert_eq!(pool.create(7).unwrap(), objects[2]);
    assert_eq!(pool.create(8), Err(Error::OutOfMemory));
    pool.check_invariants();
}

#[test]
fn with_capacity_preheats_one_chunk() {
    let page = PageAllocator::new();
    let counting = FailingAllocator::new(page.allocator(), Config::NEVER);
    let pool = MemoryPool::<u64>::with_capacity(counting.allocator(), 1000).unwrap();
    assert_eq!(pool.capacity(), 1000);
    assert_eq!(counting.allocations(), 1);
    for i in 0..1000 {
        pool.create(i).unwrap();
    }
    assert_eq!(
        counting.allocations(),
        1,
        "preheated slots need no child call"
    );
    pool.create(1000).unwrap();
    assert_eq!(counting.allocations(), 2, "a growable pool grows when full");
}

#[test]
fn pool_reset_modes() {
    let page = PageAllocator::new();
    let counting = FailingAllocator::new(page.allocator(), Config::NEVER);
    let mut pool = MemoryPool::<u64>::new(counting.allocator());
    for i in 0..5000 {
        pool.create(i).unwrap();
    }
    let bytes = pool.chunk_bytes();
    let capacity = pool.capacity();
    let chunks = counting.allocations();

    // RetainCapacity: the same chunks serve the next round without child calls.
    assert!(pool.reset(ResetMode::RetainCapacity));
    assert_eq!(pool.live(), 0);
    assert_eq!(pool.chunk_bytes(), bytes);
    pool.check_invariants();
    for i in 0..capacity as u64 {
        pool.create(i).unwrap();
    }
    assert_eq!(counting.allocations(), chunks);
    assert_eq!(counting.deallocations(), 0);

    // RetainWithLimit below the total: one chunk of at most `limit` bytes.
    let limit = bytes / 3;
    assert!(pool.reset(ResetMode::RetainWithLimit(limit)));
    assert_eq!(counting.deallocations(), chunks);
    assert!(pool.chunk_bytes() <= limit && pool.chunk_bytes() > 0);
    let kept = pool.capacity();
    assert!(kept > 0);
    pool.check_invariants();
    for i in 0..kept as u64 {
        pool.create(i).unwrap();
    }
    assert_eq!(counting.allocations(), chunks + 1);

    // RetainWithLimit above the total keeps everything.
    assert!(pool.reset(ResetMode::RetainWithLimit(usize::MAX)));
    assert_eq!(pool.capacity(), kept);

    // FreeAll returns everything to the child.
    assert!(pool.reset(ResetMode::FreeAll));
    assert_eq!(pool.capacity(), 0);
    assert_eq!(pool.chunk_bytes(), 0);
    assert_eq!(counting.live_bytes(), 0);
    assert_eq!(counting.allocations(), counting.deallocations());
    pool.create(1).unwrap();
    drop(pool);
    assert_eq!(counting.live_bytes(), 0);
}

#[test]
fn non_growable_pool_keeps_its_chunk_across_resets() {
    let page = PageAllocator::new();
    let mut pool = MemoryPool::<u32>::non_growable(page.allocator(), 3).unwrap();
    for i in 0..3 {
        pool.create(i).unwrap();
    }
    assert!(pool.reset(ResetMode::FreeAll));
    assert_eq!(pool.capacity(), 3);
    for i in 0..3 {
        pool.create(i).unwrap();
    }
    assert_eq!(pool.create(3), Err(Error::OutOfMemory));
}

#[test]
fn pool_destroy_runs_the_destructor_and_failed_create_drops_the_value() {
    struct Counted(Rc<Cell<usize>>);
    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let drops = Rc::new(Cell::new(0));
    let page = PageAllocator::new();
    let pool = MemoryPool::new(page.allocator());
    let object = pool.create(Counted(drops.clone())).unwrap();
    assert_eq!(drops.get(), 0);
    // SAFETY: a live object of this pool.
    unsafe { pool.destroy(object) };
    assert_eq!(drops.get(), 1);

    let failing = AlwaysFailingAllocator::new();
    let empty = MemoryPool::new(failing.allocator());
    assert!(empty.create(Counted(drops.clone())).is_err());
    assert_eq!(drops.get(), 2, "the value of a failed create is dropped");
}

#[test]
fn pool_create_ref_and_fallible_child() {
    let page = PageAllocator::new();
    let failing = FailingAllocator::new(page.allocator(), Config::fail_at(1));
    let pool = MemoryPool::<[u8; 3000]>::new(failing.allocator());
    let mut created = 0;
    while let Ok(reference) = pool.create_ref([created as u8; 3000]) {
        reference[0] = 0xee;
        created += 1;
    }
    // One chunk (index 0) succeeded, the second chunk allocation failed.
    assert_eq!(created, pool.capacity());
    assert!(created >= 1);
    assert!(failing.has_induced_failure());
}

#[test]
fn pool_drop_frees_everything_under_the_validator() {
    let page = PageAllocator::new();
    let validating = ValidatingAllocator::new(page.allocator());
    {
        let pool = MemoryPool::<[u32; 6]>::new(validating.allocator());
        for i in 0..3000 {
            let object = pool.create([i; 6]).unwrap();
            if i % 3 == 0 {
                // SAFETY: a live object of this pool.
                unsafe { pool.destroy(object) };
            }
        }
        assert!(!validating.live_blocks().is_empty());
        pool.check_invariants();
    }
    assert!(validating.live_blocks().is_empty());
    assert_eq!(validating.violations(), vec![]);
}

#[derive(Clone, Debug)]
enum PoolOp {
    Create(u64),
    Destroy(usize),
    Reset(u8, usize),
}

fn pool_op() -> impl proptest::strategy::Strategy<Value = PoolOp> {
    use proptest::prelude::*;
    prop_oneof![
        6 => any::<u64>().prop_map(PoolOp::Create),
        3 => any::<usize>().prop_map(PoolOp::Destroy),
        1 => (0u8..3, 0usize..20_000).prop_map(|(mode, limit)| PoolOp::Reset(mode, limit)),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// Random create / destroy / reset programs against a model: values survive, live objects
    /// never share a slot, the pool's invariant holds after every step, and drop returns
    /// every chunk to the child.
    #[test]
    fn pool_matches_a_model(
        ops in proptest::collection::vec(pool_op(), 1..400),
        fixed in proptest::option::of(1usize..64),
    ) {
        let page = PageAllocator::new();
        let counting = FailingAllocator::new(page.allocator(), Config::NEVER);
        let mut pool = match fixed {
            Some(slots) => MemoryPool::<[u64; 2]>::non_growable(counting.allocator(), slots).unwrap(),
            None => MemoryPool::<[u64; 2]>::new(counting.allocator()),
        };
        let mut live: Vec<(NonNull<[u64; 2]>, u64)> = Vec::new();
        for op in ops {
            match op {
                PoolOp::Create(value) => match pool.create([value, !value]) {
                    Ok(object) => live.push((object, value)),
                    Err(error) => {
                        proptest::prop_assert_eq!(error, Error::OutOfMemory);
                        proptest::prop_assert_eq!(Some(live.len()), fixed, "only a full fixed pool fails");
                    }
                },
                PoolOp::Destroy(pick) if !live.is_empty() => {
                    let (object, value) = live.swap_remove(pick % live.len());
                    // SAFETY: a live object of this pool, destroyed once.
                    unsafe {
                        proptest::prop_assert_eq!(*object.as_ptr(), [value, !value]);
                        pool.destroy(object);
                    }
                }
                PoolOp::Destroy(_) => {}
                PoolOp::Reset(mode, limit) => {
                    let mode = [ResetMode::FreeAll, ResetMode::RetainCapacity, ResetMode::RetainWithLimit(limit)][mode as usize];
                    proptest::prop_assert!(pool.reset(mode));
                    live.clear();
                }
            }
            pool.check_invariants();
            proptest::prop_assert_eq!(pool.live(), live.len());
            for &(object, value) in &live {
                // SAFETY: live objects of this pool.
                proptest::prop_assert_eq!(unsafe { *object.as_ptr() }, [value, !value]);
            }
        }
        let mut addresses: Vec<usize> = live.iter().map(|(o, _)| o.as_ptr() as usize).collect();
        addresses.sort_unstable();
        addresses.dedup();
        proptest::prop_assert_eq!(addresses.len(), live.len());
        drop(pool);
        proptest::prop_assert_eq!(counting.live_bytes(), 0);
    }
}

// ---------------------------------------------------------------------------------------------
// BufferFirstAllocator

#[test]
fn buffer_first_serves_small_requests_from_the_buffer() {
    let mut buffer = [0u8; 1024];
    let buffer_range = buffer.as_ptr_range();
    let page = PageAllocator::new();
    let counting = FailingAllocator::new(page.allocator(), Config::NEVER);
    let stack_first = BufferFirstAllocator::new(&mut buffer, counting.allocator());
    let allocator = stack_first.allocator();

    let small = allocator.alloc_filled(100, 1u8).unwrap();
    assert!(buffer_range.contains(&small.as_ptr()));
    assert!(stack_first.in_buffer(small.as_ptr()));
    assert_eq!(counting.allocations(), 0);
    assert!(stack_first.buffer_used() >= 100);

    let large = allocator.alloc_filled(5000, 2u8).unwrap();
    assert!(!stack_first.in_buffer(large.as_ptr()));
    assert_eq!(counting.allocations(), 1);

    // Frees go to the owner: the fallback block to the fallback...
    // SAFETY: allocated above by this allocator with these layouts.
    unsafe { allocator.free(large) };
    assert_eq!(counting.deallocations(), 1);
    // ...the buffer block to the buffer, which reclaims it (it was the last one).
    // SAFETY: as above.
    unsafe { allocator.free(small) };
    assert_eq!(counting.deallocations(), 1);
    assert_eq!(stack_first.buffer_used(), 0);
}

#[test]
fn buffer_first_falls_back_when_the_buffer_is_exhausted() {
    let mut buffer = [0u8; 256];
    let page = PageAllocator::new();
    let counting = FailingAllocator::new(page.allocator(), Config::NEVER);
    let stack_first = BufferFirstAllocator::new(&mut buffer, counting.allocator());
    let allocator = stack_first.allocator();
    let mut blocks = Vec::new();
    for i in 0..40u8 {
        blocks.push(allocator.alloc_filled(32, i).unwrap());
    }
    let from_buffer = blocks
        .iter()
        .filter(|b| stack_first.in_buffer(b.as_ptr()))
        .count();
    assert_eq!(from_buffer, 256 / 32);
    assert_eq!(counting.allocations(), 40 - from_buffer);
    for (i, block) in blocks.iter().enumerate() {
        assert!(block.iter().all(|&byte| byte == i as u8));
    }
    assert_disjoint(
        blocks
            .iter()
            .map(|b| (b.as_ptr() as usize, b.len()))
            .collect(),
    );
    for block in blocks {
        // SAFETY: each block came from this allocator and is freed once.
        unsafe { allocator.free(block) };
    }
    assert_eq!(counting.live_bytes(), 0);
}

#[test]
fn buffer_first_vector_grows_out_of_the_buffer_keeping_contents() {
    let mut buffer = [0u8; 512];
    let page = PageAllocator::new();
    let counting = FailingAllocator::new(page.allocator(), Config::NEVER);
    let stack_first = BufferFirstAllocator::new(&mut buffer, counting.allocator());
    {
        let mut numbers = allocator_api2::vec::Vec::new_in(&stack_first);
        for i in 0..64u32 {
            numbers.push(i);
        }
        assert!(stack_first.in_buffer(numbers.as_ptr().cast()));
        assert_eq!(counting.allocations(), 0);
        for i in 64..10_000u32 {
            numbers.push(i);
        }
        assert!(!stack_first.in_buffer(numbers.as_ptr().cast()));
        assert!(numbers.iter().copied().eq(0..10_000u32));
    }
    assert_eq!(
        counting.live_bytes(),
        0,
        "the vector's fallback buffer was freed"
    );
}

#[test]
fn buffer_first_routes_resize_to_the_owner() {
    let mut buffer = [0u8; 128];
    let page = PageAllocator::new();
    let counting = FailingAllocator::new(page.allocator(), Config::NEVER);
    let stack_first = BufferFirstAllocator::new(&mut buffer, counting.allocator());
    let allocator = stack_first.allocator();
    let in_buffer = allocator.raw_alloc(64, 8).unwrap();
    let outside = allocator.raw_alloc(8192, 8).unwrap();
    // SAFETY: live blocks of this allocator with these lengths and alignments.
    unsafe {
        // The last buffer block grows in place within the buffer...
        assert!(allocator.raw_resize(in_buffer, 64, 8, 128));
        assert_eq!(stack_first.buffer_used(), 128);
        // ...but not beyond it.
        assert!(!allocator.raw_resize(in_buffer, 128, 8, 129));
        assert_eq!(
            counting.resize_index(),
            0,
            "buffer resizes never reach the fallback"
        );
        // A fallback block's resize goes to the fallback (page: shrink within pages works).
        assert!(allocator.raw_resize(outside, 8192, 8, 4096));
        assert_eq!(counting.resize_index(), 1);
        allocator.raw_free(outside, 4096, 8);
        allocator.raw_free(in_buffer, 128, 8);
    }
    assert_eq!(counting.live_bytes(), 0);
    assert_eq!(stack_first.buffer_used(), 0);
}

#[test]
fn buffer_first_reports_out_of_memory_when_both_fail() {
    let mut buffer = [0u8; 64];
    let failing = AlwaysFailingAllocator::new();
    let mut stack_first = BufferFirstAllocator::new(&mut buffer, failing.allocator());
    {
        let allocator = stack_first.allocator();
        assert!(allocator.alloc::<u8>(64).is_ok());
        assert_eq!(allocator.alloc::<u8>(1).unwrap_err(), Error::OutOfMemory);
    }
    stack_first.reset_buffer();
    assert_eq!(stack_first.buffer_used(), 0);
    assert!(stack_first.allocator().alloc::<u8>(64).is_ok());
}

// ---------------------------------------------------------------------------------------------
// ThreadSafeAllocator

fn assert_sync<T: Sync>(_: &T) {}

#[test]
fn thread_safe_arena_under_four_threads() {
    let page = PageAllocator::new();
    // SAFETY: the arena's child is the page allocator, which is thread-safe, and the arena is
    // used by nobody but the wrapper.
    let shared =
        unsafe { ThreadSafeAllocator::new_assume_send(ArenaAllocator::new(page.allocator())) };
    assert_sync(&shared);
    let per_thread = 2000usize;
    let ranges: Vec<(usize, usize)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4u8)
            .map(|thread| {
                let shared = &shared;
                scope.spawn(move || {
                    let allocator = shared.allocator();
                    let mut blocks = Vec::new();
                    for i in 0..per_thread {
                        let len = 1 + (i * 7 + thread as usize) % 200;
                        let block = allocator.alloc_filled(len, thread).unwrap();
                        blocks.push(block);
                    }
                    // Nobody else wrote into our blocks in the meantime.
                    for block in &blocks {
                        assert!(block.iter().all(|&byte| byte == thread));
                    }
                    blocks
                        .iter()
                        .map(|b| (b.as_ptr() as usize, b.len()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(ranges.len(), 4 * per_thread);
    assert_disjoint(ranges);
    let mut shared = shared;
    assert!(shared.get_mut().query_capacity() > 0);
    let arena = shared.into_inner().into_inner();
    arena.deinit();
}

#[test]
fn thread_safe_fixed_buffer_shares_exactly_the_buffer() {
    let mut buffer = vec![0u8; 64 * 1024];
    let buffer_len = buffer.len();
    let fixed = FixedBufferAllocator::new(&mut buffer);
    // FixedBufferAllocator is Send, so no promise is needed here.
    let shared = ThreadSafeAllocator::new(fixed);
    assert_sync(&shared);
    let counts: Vec<(usize, Vec<(usize, usize)>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let shared = &shared;
                scope.spawn(move || {
                    let allocator = shared.allocator();
                    let mut ranges = Vec::new();
                    while let Ok(block) = allocator.alloc_filled(48, 0xabu8) {
                        ranges.push((block.as_ptr() as usize, block.len()));
                    }
                    (ranges.len(), ranges)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let total: usize = counts.iter().map(|(n, _)| n).sum();
    // 48-byte blocks of alignment 1 pack exactly: every byte that fits is used.
    assert_eq!(total, buffer_len / 48);
    assert_disjoint(counts.into_iter().flat_map(|(_, r)| r).collect());
    assert_eq!(shared.with_locked(|fixed| fixed.end_index()), total * 48);
}

#[test]
fn thread_safe_allocator_works_with_allocator_api2() {
    let page = PageAllocator::new();
    let shared = ThreadSafeAllocator::new(page);
    std::thread::scope(|scope| {
        for t in 0..4u64 {
            let shared = &shared;
            scope.spawn(move || {
                let mut v = allocator_api2::vec::Vec::new_in(shared);
                for i in 0..10_000u64 {
                    v.push(i * t);
                }
                assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64 * t));
            });
        }
    });
}

// ---------------------------------------------------------------------------------------------
// ValidatingAllocator

fn quiet_validator<'a>(child: gpa::Allocator<'a>) -> ValidatingAllocator<'a> {
    ValidatingAllocator::new(child).with_stderr_reports(false)
}

#[test]
fn validator_is_silent_on_correct_traffic() {
    let page = PageAllocator::new();
    let validating = quiet_validator(page.allocator());
    let allocator = validating.allocator();
    let mut v = allocator_api2::vec::Vec::new_in(allocator);
    for i in 0..100_000u32 {
        v.push(i);
    }
    let text = allocator.print(format_args!("{} items", v.len())).unwrap();
    assert_eq!(validating.live_blocks().len(), 2);
    drop(text);
    drop(v);
    assert!(validating.live_blocks().is_empty());
    assert_eq!(validating.violations(), vec![]);
}

#[test]
fn validator_reports_zero_length_requests() {
    let page = PageAllocator::new();
    let validating = quiet_validator(page.allocator());
    let zero = Layout::from_size_align(0, 8).unwrap();
    // The handle never sends these; a caller of the raw trait can.
    assert!(RawAllocator::alloc(&validating, zero).is_none());
    let block = validating.allocator().raw_alloc(16, 8).unwrap();
    // SAFETY: deliberate misuse: the validator checks before forwarding anything.
    unsafe {
        assert!(!RawAllocator::resize(
            &validating,
            block,
            Layout::from_size_align(16, 8).unwrap(),
            0
        ));
        RawAllocator::free(&validating, block, zero);
    }
    let kinds: Vec<_> = validating
        .violations()
        .iter()
        .map(|v| (v.kind, v.operation))
        .collect();
    assert_eq!(
        kinds,
        [
            (ViolationKind::ZeroLength, RawOperation::Alloc),
            (ViolationKind::ZeroLength, RawOperation::Resize),
            (ViolationKind::ZeroLength, RawOperation::Free),
        ]
    );
    assert_eq!(
        validating.live_blocks().len(),
        1,
        "the bad free was not forwarded"
    );
    // SAFETY: the correct free.
    unsafe { validating.allocator().raw_free(block, 16, 8) };
    assert!(validating.live_blocks().is_empty());
}

#[test]
fn validator_catches_bad_frees_and_does_not_forward_them() {
    let page = PageAllocator::new();
    let counting = FailingAllocator::new(page.allocator(), Config::NEVER);
    let validating = quiet_validator(counting.allocator());
    let allocator = validating.allocator();
    let block = allocator.raw_alloc(100, 16).unwrap();
    let address = block.as_ptr() as usize;
    let mut local = 0u64;
    let stranger = NonNull::from(&mut local).cast::<u8>();
    // SAFETY: deliberate misuse; the validator refuses all of these without touching memory.
    unsafe {
        allocator.raw_free(block, 99, 16); // wrong length
        allocator.raw_free(block, 100, 8); // wrong alignment
        allocator.raw_free(stranger, 8, 8); // never allocated
        assert!(!allocator.raw_resize(block, 50, 16, 60)); // resize with a wrong length
        assert!(allocator.raw_remap(block, 100, 32, 200).is_none()); // remap, wrong alignment
    }
    assert_eq!(counting.deallocations(), 0, "no bad free reached the child");
    assert_eq!(
        counting.resize_index(),
        0,
        "no bad resize reached the child"
    );
    let violations = validating.violations();
    let summary: Vec<_> = violations
        .iter()
        .map(|v| (v.kind, v.operation, v.given.address))
        .collect();
    let stranger_address = stranger.as_ptr() as usize;
    assert_eq!(
        summary,
        [
            (ViolationKind::LengthMismatch, RawOperation::Free, address),
            (
                ViolationKind::AlignmentMismatch,
                RawOperation::Free,
                address
            ),
            (
                ViolationKind::UnknownPointer,
                RawOperation::Free,
                stranger_address
            ),
            (ViolationKind::LengthMismatch, RawOperation::Resize, address),
            (
                ViolationKind::AlignmentMismatch,
                RawOperation::Remap,
                address
            ),
        ]
    );
    let recorded = violations[0].recorded.unwrap();
    assert_eq!(
        (recorded.address, recorded.len, recorded.alignment),
        (address, 100, 16)
    );
    assert_eq!(violations[0].given.len, 99);
    assert_eq!(violations[3].new_len, Some(60));
    // The block is still intact and can be freed correctly.
    // SAFETY: the correct free.
    unsafe { allocator.raw_free(block, 100, 16) };
    assert_eq!(counting.deallocations(), 1);
    // A second free is a double free, reported and not forwarded.
    // SAFETY: deliberate misuse, refused by the validator.
    unsafe { allocator.raw_free(block, 100, 16) };
    assert_eq!(counting.deallocations(), 1);
    let last = *validating.violations().last().unwrap();
    assert_eq!(last.kind, ViolationKind::DoubleFree);
    assert_eq!(last.recorded.unwrap().len, 100);
    assert_eq!(validating.take_violations().len(), 6);
    assert!(validating.violations().is_empty());
    // A pointer into the middle of a live block names that block.
    let second = allocator.raw_alloc(64, 8).unwrap();
    // SAFETY: deliberate misuse (refused), then the correct free.
    unsafe {
        allocator.raw_free(NonNull::new_unchecked(second.as_ptr().add(8)), 56, 8);
        allocator.raw_free(second, 64, 8);
    }
    let interior = validating.take_violations().pop().unwrap();
    assert_eq!(interior.kind, ViolationKind::UnknownPointer);
    assert_eq!(interior.recorded.unwrap().address, second.as_ptr() as usize);
    assert!(interior.to_string().contains("points into live block"));
    assert_eq!(counting.deallocations(), 2);
    assert!(validating.violations().is_empty());
    assert_eq!(counting.live_bytes(), 0);
}

#[test]
fn validator_follows_resize_and_remap() {
    let page = PageAllocator::new();
    let validating = quiet_validator(page.allocator());
    let allocator = validating.allocator();
    let block = allocator.raw_alloc(10_000, 8).unwrap();
    // SAFETY: correct use; lengths follow each successful call.
    unsafe {
        assert!(allocator.raw_resize(block, 10_000, 8, 5000));
        assert_eq!(validating.live_blocks()[0].len, 5000);
        let moved = allocator.raw_remap(block, 5000, 8, 1 << 20).unwrap();
        assert_eq!(validating.live_blocks().len(), 1);
        assert_eq!(validating.live_blocks()[0].address, moved.as_ptr() as usize);
        assert_eq!(validating.live_blocks()[0].len, 1 << 20);
        if moved != block {
            // The old address is now a freed block: freeing it is a double free.
            allocator.raw_free(block, 5000, 8);
            assert_eq!(validating.violations()[0].kind, ViolationKind::DoubleFree);
        }
        allocator.raw_free(moved, 1 << 20, 8);
    }
    assert!(validating.live_blocks().is_empty());
}

/// A deliberately broken allocator over a static arena of 4 KiB: in `Misaligned` mode it
/// returns addresses one byte past the requested alignment; in `Repeating` mode it returns the
/// same address for every request.
struct Broken {
    memory: NonNull<u8>,
    misaligned: bool,
    frees: Cell<usize>,
}

impl Broken {
    fn new(misaligned: bool) -> Self {
        let memory = Box::leak(vec![0u64; 512].into_boxed_slice());
        Broken {
            memory: NonNull::from(memory).cast(),
            misaligned,
            frees: Cell::new(0),
        }
    }
}

// SAFETY: it does NOT uphold the contract, on purpose; it is only used behind the validator,
// which refuses its blocks, and nothing ever writes to what it returns.
unsafe impl RawAllocator for Broken {
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        let offset = if self.misaligned {
            layout.align() + 1
        } else {
            64
        };
        // SAFETY: offsets stay within the 4 KiB block for the small layouts used here.
        Some(unsafe { self.memory.add(offset) })
    }
    unsafe fn resize(&self, _: NonNull<u8>, _: Layout, _: usize) -> bool {
        false
    }
    unsafe fn remap(&self, _: NonNull<u8>, _: Layout, _: usize) -> Option<NonNull<u8>> {
        None
    }
    unsafe fn free(&self, _: NonNull<u8>, _: Layout) {
        self.frees.set(self.frees.get() + 1);
    }
}

#[test]
fn validator_catches_a_misaligned_child() {
    let broken = Broken::new(true);
    let validating = quiet_validator(gpa::Allocator::new(&broken));
    assert_eq!(
        validating.allocator().raw_alloc(8, 8).unwrap_err(),
        Error::OutOfMemory
    );
    let violations = validating.violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].kind, ViolationKind::MisalignedBlock);
    assert_eq!(
        violations[0].given.address,
        broken.memory.as_ptr() as usize + 9
    );
    assert_eq!(
        broken.frees.get(),
        1,
        "the bad block was handed back to the child"
    );
    assert!(validating.live_blocks().is_empty());
}

#[test]
fn validator_catches_an_overlapping_child() {
    let broken = Broken::new(false);
    let validating = quiet_validator(gpa::Allocator::new(&broken));
    let allocator = validating.allocator();
    let first = allocator.raw_alloc(32, 8).unwrap();
    assert!(allocator.raw_alloc(16, 8).is_err());
    let violations = validating.violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].kind, ViolationKind::OverlappingBlock);
    assert_eq!(
        violations[0].recorded.unwrap().address,
        first.as_ptr() as usize
    );
    assert!(violations[0].to_string().contains("OverlappingBlock"));
    assert_eq!(validating.live_blocks().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// AlwaysFailingAllocator

#[test]
fn always_failing_fails_everything_but_zero_size() {
    let failing = AlwaysFailingAllocator::new();
    let allocator = failing.allocator();
    assert_eq!(allocator.raw_alloc(1, 1).unwrap_err(), Error::OutOfMemory);
    assert_eq!(allocator.new_box(5u8).unwrap_err(), Error::OutOfMemory);
    assert_eq!(
        allocator.alloc_print(format_args!("x")).unwrap_err(),
        Error::OutOfMemory
    );
    // Zero-size requests never reach an implementation.
    assert!(allocator.alloc::<u64>(0).is_ok());
    let mut v = allocator_api2::vec::Vec::<u8, _>::new_in(&failing);
    assert!(v.try_reserve(1).is_err());
    let direct = gpa::ALWAYS_FAILING_ALLOCATOR;
    assert!(RawAllocator::alloc(&direct, Layout::new::<u8>()).is_none());
    let mut local = 0u8;
    // SAFETY: misuse, but this allocator only reports; it never touches the pointer.
    unsafe {
        let pointer = NonNull::from(&mut local);
        assert!(!RawAllocator::resize(
            &direct,
            pointer,
            Layout::new::<u8>(),
            2
        ));
        assert!(RawAllocator::remap(&direct, pointer, Layout::new::<u8>(), 2).is_none());
    }
}

#[test]
#[cfg_attr(debug_assertions, should_panic(expected = "never returned a block"))]
fn always_failing_free_is_a_contract_violation() {
    let failing = AlwaysFailingAllocator::new();
    let mut local = 0u8;
    // SAFETY: deliberate misuse; the free is a no-op apart from the debug assertion.
    unsafe { RawAllocator::free(&failing, NonNull::from(&mut local), Layout::new::<u8>()) };
}

// ---------------------------------------------------------------------------------------------
// The examples run as tests too (their `main`s assert what they print).

#[path = "../examples/memory_pool.rs"]
mod memory_pool_example;

#[path = "../examples/buffer_first.rs"]
mod buffer_first_example;

#[path = "../examples/thread_safe.rs"]
mod thread_safe_example;

#[path = "../examples/validating.rs"]
mod validating_example;

#[test]
fn examples_run() {
    memory_pool_example::main().unwrap();
    buffer_first_example::main().unwrap();
    thread_safe_example::main();
    validating_example::main();
}
