//! Collections over a thread-safe allocator move between threads; single-threaded allocators
//! stay on theirs (the `compile_fail` doctests of `SyncAllocator`, `ArenaAllocator`,
//! `FixedBufferAllocator` and `ThreadSafeAllocator` show what does not compile).

use std::sync::{Arc, Mutex};

use gpa::{
    ArenaAllocator, Check, Config, GeneralPurposeAllocator, MemoryPool, OnError, PageAllocator,
    SyncAllocator, ThreadSafeAllocator, ThreadSafeFixedBufferAllocator,
};

fn assert_send<T: Send>() {}
fn assert_sync<T: Sync>() {}

fn checked_gpa() -> GeneralPurposeAllocator {
    GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..Config::debug()
    })
}

#[test]
fn the_types_that_may_cross_threads() {
    assert_send::<SyncAllocator<'static>>();
    assert_sync::<SyncAllocator<'static>>();
    assert_send::<gpa::Vec<'static, u32, SyncAllocator<'static>>>();
    assert_send::<gpa::Box<'static, str, SyncAllocator<'static>>>();
    assert_send::<ArenaAllocator<'static, dyn gpa::RawAllocator + Sync>>();
    assert_send::<MemoryPool<'static, u64, dyn gpa::RawAllocator + Sync>>();
    assert_sync::<ThreadSafeAllocator<ArenaAllocator<'static, dyn gpa::RawAllocator + Sync>>>();
}

#[test]
fn a_gpa_vec_over_the_gpa_moves_to_another_thread_and_back() {
    let mut gpa = checked_gpa();
    {
        let allocator = gpa.sync_allocator();
        let mut numbers: gpa::Vec<'_, u64, SyncAllocator<'_>> = allocator.vec();
        numbers.extend(0..1000);
        let greeting = allocator.print(format_args!("hello")).unwrap();
        let (numbers, greeting) = std::thread::scope(|s| {
            s.spawn(move || {
                // Grown (reallocated) and freed in part on the other thread.
                numbers.extend(1000..5000);
                numbers.truncate(10);
                numbers.shrink_to_fit();
                (numbers, greeting)
            })
            .join()
            .unwrap()
        });
        assert_eq!(numbers.iter().sum::<u64>(), 45);
        assert_eq!(&*greeting, "hello");
    }
    assert_eq!(gpa.deinit(), Check::Ok, "{}", gpa.report());
}

#[test]
fn a_gpa_vec_in_an_arc_mutex_is_shared_by_threads() {
    let mut gpa = checked_gpa();
    {
        let shared = Arc::new(Mutex::new(gpa.sync_allocator().vec::<u32>()));
        std::thread::scope(|s| {
            for id in 0..4 {
                let shared = Arc::clone(&shared);
                s.spawn(move || {
                    for i in 0..250 {
                        shared.lock().unwrap().push(id * 1000 + i);
                    }
                });
            }
        });
        let numbers = shared.lock().unwrap();
        assert_eq!(numbers.len(), 1000);
    }
    assert_eq!(gpa.deinit(), Check::Ok, "{}", gpa.report());
}

#[test]
fn a_box_over_a_static_gpa_goes_to_a_spawned_thread() {
    static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config::debug());
    let boxed = GPA.sync_allocator().new_box([7u8; 100]).unwrap();
    let sum = std::thread::spawn(move || boxed.iter().map(|&b| u32::from(b)).sum::<u32>())
        .join()
        .unwrap();
    assert_eq!(sum, 700);
    assert_eq!(GPA.detect_leaks(), 0);
}

#[test]
fn a_thread_safe_arena_is_shared_by_scoped_threads_without_unsafe() {
    let mut gpa = checked_gpa();
    {
        let shared = ThreadSafeAllocator::new(ArenaAllocator::new(gpa.sync_allocator()));
        std::thread::scope(|s| {
            for id in 0..4u32 {
                let shared = &shared;
                s.spawn(move || {
                    let allocator = shared.allocator();
                    for i in 0..100 {
                        let block = allocator.alloc_filled(64, id * 100 + i).unwrap();
                        assert!(block.iter().all(|&v| v == id * 100 + i));
                    }
                });
            }
        });
        // Collections over the wrapper's `sync_allocator()` may move between threads too.
        let mut names = shared.sync_allocator().vec::<&str>();
        names.push("ada");
        let names = std::thread::scope(|s| s.spawn(move || names).join().unwrap());
        assert_eq!(names[0], "ada");
        drop(names);
        let arena = shared.into_inner();
        assert!(arena.query_capacity() >= 4 * 100 * 64 * 4);
    } // the arena returns its buffers to the GPA here
    assert_eq!(gpa.deinit(), Check::Ok, "{}", gpa.report());
}

#[test]
fn an_arena_and_a_pool_move_to_another_thread_with_their_blocks() {
    let mut gpa = checked_gpa();
    {
        let arena = ArenaAllocator::new(gpa.sync_allocator());
        let pool = MemoryPool::<[u64; 4], _>::new(gpa.sync_allocator());
        pool.create([1; 4]).unwrap();
        arena
            .allocator()
            .alloc_print(format_args!("made here"))
            .unwrap();
        std::thread::scope(|s| {
            s.spawn(move || {
                let text = arena
                    .allocator()
                    .alloc_print(format_args!("and there"))
                    .unwrap();
                assert_eq!(text, "and there");
                let second = pool.create_ref([2; 4]).unwrap();
                assert_eq!(second[3], 2);
                assert_eq!(pool.live(), 2);
            }); // both are dropped on that thread, freeing their memory to the GPA
        });
    }
    assert_eq!(gpa.deinit(), Check::Ok, "{}", gpa.report());
}

#[test]
fn the_page_allocator_and_a_thread_safe_fixed_buffer_give_sync_handles() {
    let page = PageAllocator::new();
    let mut buffer = [0u8; 4096];
    let fixed = ThreadSafeFixedBufferAllocator::new(&mut buffer);
    let from_page = page.sync_allocator().boxed_dupe(&[1u8, 2, 3]).unwrap();
    let from_fixed = fixed.sync_allocator().boxed_dupe(&[4u8, 5]).unwrap();
    let lens = std::thread::scope(|s| {
        s.spawn(move || (from_page.len(), from_fixed.len()))
            .join()
            .unwrap()
    });
    assert_eq!(lens, (3, 2));
    // A `SyncAllocator` is also an `Allocator` for functions that take one.
    let local: gpa::Allocator<'_> = page.sync_allocator().into();
    let text = local.print(format_args!("{}", 42)).unwrap();
    assert_eq!(&*text, "42");
}
