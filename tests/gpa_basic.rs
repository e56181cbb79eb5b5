//! Basic behaviour of the GeneralPurposeAllocator: blocks of every size, frees in any order,
//! cross-thread frees, and every deliberate mistake reported with the right kind and traces.

use gpa::report::FindingKind;
use gpa::{Check, Config, GeneralPurposeAllocator, OnError};

fn quiet(config: Config) -> GeneralPurposeAllocator {
    GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..config
    })
}

#[test]
fn blocks_of_every_size_round_trip_in_both_modes() {
    for config in [Config::fast(), Config::debug()] {
        let mut gpa = quiet(config);
        let allocator = gpa.allocator();
        let mut blocks = Vec::new();
        for (i, size) in [
            1usize,
            7,
            8,
            16,
            100,
            1000,
            4096,
            70_000,
            131_072,
            200_000,
            3 << 20,
        ]
        .into_iter()
        .enumerate()
        {
            for align in [1usize, 8, 64, 4096, 1 << 20] {
                let block = allocator.raw_alloc(size, align).expect("alloc");
                assert_eq!(block.as_ptr() as usize % align, 0);
                // SAFETY: the block has `size` bytes.
                unsafe { block.as_ptr().write_bytes(i as u8, size) };
                blocks.push((block, size, align, i as u8));
            }
        }
        blocks.reverse();
        for (block, size, align, fill) in blocks {
            // SAFETY: reading and freeing our own live blocks.
            unsafe {
                assert_eq!(*block.as_ptr(), fill);
                assert_eq!(*block.as_ptr().add(size - 1), fill);
                allocator.raw_free(block, size, align);
            }
        }
        assert!(gpa.report().is_clean(), "{}", gpa.report());
        assert_eq!(gpa.deinit(), Check::Ok);
    }
}

#[test]
fn leak_is_reported_with_allocation_site() {
    let mut gpa = quiet(Config::debug());
    let leaked = gpa.allocator().alloc::<u8>(1024).expect("alloc");
    assert_eq!(leaked.len(), 1024);
    assert_eq!(gpa.deinit(), Check::Leak);
    let report = gpa.report();
    let leak = report
        .of_kind(FindingKind::Leak)
        .next()
        .expect("a leak finding");
    assert_eq!(leak.size, 1024);
    assert!(
        leak.mentions_function("leak_is_reported_with_allocation_site"),
        "{report}"
    );
}

#[test]
fn double_free_has_three_traces() {
    let mut gpa = quiet(Config::debug());
    let allocator = gpa.allocator();
    let block = allocator.raw_alloc(48, 8).unwrap();
    // SAFETY: deliberate double free; safety mode reports it and keeps the heap intact.
    unsafe {
        allocator.raw_free(block, 48, 8);
        allocator.raw_free(block, 48, 8);
    }
    let report = gpa.report();
    let finding = report
        .of_kind(FindingKind::DoubleFree)
        .next()
        .expect("double free");
    for name in ["alloc", "free", "second_free"] {
        let stack = finding
            .stack(name)
            .unwrap_or_else(|| panic!("no {name} in {report}"));
        assert!(!stack.frames.is_empty());
    }
    assert!(
        finding.mentions_function("double_free_has_three_traces"),
        "{report}"
    );
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn cross_thread_frees_are_reused() {
    for config in [Config::fast(), Config::debug()] {
        let mut gpa = quiet(config);
        for _round in 0..20 {
            let blocks: Vec<usize> = (0..1000)
                .map(|i| gpa.allocator().raw_alloc(16 + i % 500, 8).unwrap().as_ptr() as usize)
                .collect();
            std::thread::scope(|scope| {
                let gpa = &gpa;
                scope.spawn(move || {
                    for (i, &block) in blocks.iter().enumerate() {
                        // SAFETY: each block is live and freed once, on another thread.
                        unsafe {
                            gpa.allocator().raw_free(
                                core::ptr::NonNull::new(block as *mut u8).unwrap(),
                                16 + i % 500,
                                8,
                            )
                        };
                    }
                });
            });
        }
        assert!(gpa.report().is_clean(), "{}", gpa.report());
        assert_eq!(gpa.deinit(), Check::Ok);
    }
}

#[test]
fn allocator_api2_and_hashbrown_collections_work_on_the_gpa() {
    let mut gpa = quiet(Config::debug());
    {
        let mut vector = allocator_api2::vec::Vec::<u8, _>::new_in(&gpa);
        vector.extend_from_slice(&[1, 2, 3]);
        let boxed = allocator_api2::boxed::Box::new_in(7u64, &gpa);
        let mut map = hashbrown::HashMap::new_in(&gpa);
        for i in 0..10_000u32 {
            map.insert(i, i * 2);
        }
        assert_eq!(map[&77], 154);
        assert_eq!((*boxed, vector.len()), (7, 3));
        let handle = gpa.allocator();
        let mut through_handle = hashbrown::HashMap::new_in(handle);
        through_handle.insert("key", vector.len());
        assert_eq!(through_handle["key"], 3);
    }
    assert!(gpa.report().is_clean(), "{}", gpa.report());
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[inline(never)]
fn leaks_a_vector(gpa: &GeneralPurposeAllocator) {
    let vector = allocator_api2::vec::Vec::<u64, _>::with_capacity_in(100, gpa);
    core::mem::forget(vector);
}

#[test]
fn a_leak_from_a_collection_names_the_user_function() {
    let mut gpa = quiet(Config::debug());
    leaks_a_vector(&gpa);
    assert_eq!(gpa.deinit(), Check::Leak);
    let report = gpa.report();
    let leak = report.of_kind(FindingKind::Leak).next().expect("a leak");
    assert_eq!(leak.size, 800);
    let first = &leak.stack("alloc").expect("alloc trace").frames[0];
    assert!(
        first
            .function
            .as_deref()
            .is_some_and(|f| f.contains("leaks_a_vector")),
        "the first frame is the user's function:\n{report}"
    );
    assert!(first
        .file
        .as_deref()
        .is_some_and(|f| f.ends_with("gpa_basic.rs")));
}

#[test]
fn heaps_of_exited_threads_are_adopted_and_nothing_is_stranded() {
    for config in [Config::fast(), Config::debug()] {
        let mut gpa = quiet(config);
        let survivors = std::sync::Mutex::new(Vec::new());
        for generation in 0..50usize {
            // Joined explicitly: a scope's end waits for the closures only, while `join`
            // waits for the OS thread to exit, after its thread-exit hook abandoned its heap.
            std::thread::scope(|scope| {
                let workers: Vec<_> = (0..2usize)
                    .map(|worker| {
                        let (gpa, survivors) = (&gpa, &survivors);
                        scope.spawn(move || {
                            let allocator = gpa.allocator();
                            let blocks: Vec<usize> = (0..200)
                                .map(|i| allocator.raw_alloc(32 + i, 8).unwrap().as_ptr() as usize)
                                .collect();
                            // Half is freed here, half outlives the thread and is freed by the
                            // next generation (a cross-thread free into an abandoned heap).
                            let mut survivors = survivors.lock().unwrap();
                            for old in survivors.drain(..) {
                                let (address, size): (usize, usize) = old;
                                // SAFETY: blocks of an earlier generation, freed once.
                                unsafe {
                                    allocator.raw_free(
                                        core::ptr::NonNull::new(address as *mut u8).unwrap(),
                                        size,
                                        8,
                                    )
                                };
                            }
                            for (i, &block) in blocks.iter().enumerate() {
                                let pointer = core::ptr::NonNull::new(block as *mut u8).unwrap();
                                if (i + generation + worker) % 2 == 0 {
                                    // SAFETY: live block freed once.
                                    unsafe { allocator.raw_free(pointer, 32 + i, 8) };
                                } else {
                                    survivors.push((block, 32 + i));
                                }
                            }
                        })
                    })
                    .collect();
                for worker in workers {
                    worker.join().unwrap();
                }
            });
        }
        for (address, size) in survivors.into_inner().unwrap() {
            // SAFETY: the last generation's survivors, freed once.
            unsafe {
                gpa.allocator().raw_free(
                    core::ptr::NonNull::new(address as *mut u8).unwrap(),
                    size,
                    8,
                )
            };
        }
        assert!(
            gpa.heap_count() <= 3,
            "heaps were not adopted: {}",
            gpa.heap_count()
        );
        assert!(gpa.report().is_clean(), "{}", gpa.report());
        assert_eq!(gpa.deinit(), Check::Ok);
    }
}

#[test]
fn block_tags_are_kept_with_each_live_block() {
    let gpa = quiet(Config::debug());
    let allocator = gpa.allocator();
    let (small, large) = ((40, 8), (1 << 20, 64));
    let a = allocator.raw_alloc(small.0, small.1).unwrap();
    let b = allocator.raw_alloc(large.0, large.1).unwrap();
    for (block, (size, align)) in [(a, small), (b, large)] {
        let info = gpa.block_info(block.as_ptr()).expect("a live block");
        assert_eq!((info.layout.size(), info.layout.align()), (size, align));
        assert_eq!(info.tag, 0, "blocks start untagged");
        assert!(info.alloc_trace.is_some());
        assert!(gpa.set_block_tag(block.as_ptr(), 0x81));
        assert_eq!(gpa.block_info(block.as_ptr()).unwrap().tag, 0x81);
    }
    // Not a block's start, or not live: no tag.
    // SAFETY: one byte into a live 40-byte block.
    let inside = unsafe { a.as_ptr().add(1) };
    assert!(gpa.block_info(inside).is_none());
    assert!(!gpa.set_block_tag(inside, 1));
    // SAFETY: blocks of this GPA with their layouts.
    unsafe {
        allocator.raw_free(a, small.0, small.1);
        allocator.raw_free(b, large.0, large.1);
    }
    assert!(gpa.block_info(a.as_ptr()).is_none());
    assert!(gpa.block_info(b.as_ptr()).is_none());
    // A new block starts untagged (the large one reuses the freed mapping when it can).
    let c = allocator.raw_alloc(large.0, large.1).unwrap();
    assert_eq!(gpa.block_info(c.as_ptr()).unwrap().tag, 0);
    // SAFETY: as above.
    unsafe { allocator.raw_free(c, large.0, large.1) };
    assert_eq!(gpa.detect_leaks(), 0);
    // Without safety nothing is kept.
    let fast = quiet(Config::fast());
    let d = fast.allocator().raw_alloc(small.0, small.1).unwrap();
    assert!(fast.block_info(d.as_ptr()).is_none());
    assert!(!fast.set_block_tag(d.as_ptr(), 1));
    // SAFETY: as above.
    unsafe { fast.allocator().raw_free(d, small.0, small.1) };
}
