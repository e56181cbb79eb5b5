//! Deliberate mistakes against the GeneralPurposeAllocator in safety mode: each is reported
//! with the right kind, size and traces naming this file's functions, and the heap stays
//! intact (every test ends with `deinit() == Check::Ok` once the mistake's block is freed).

use core::alloc::Layout;
use core::ptr::NonNull;

use gpa::report::FindingKind;
use gpa::{Check, Config, GeneralPurposeAllocator, OnError};

fn checked() -> GeneralPurposeAllocator {
    GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..Config::debug()
    })
}

fn single(gpa: &GeneralPurposeAllocator, kind: FindingKind) -> gpa::report::Finding {
    let report = gpa.report();
    let mut found = report.of_kind(kind);
    let finding = found
        .next()
        .unwrap_or_else(|| panic!("no {kind:?} in:\n{report}"));
    assert!(
        found.next().is_none(),
        "more than one {kind:?} in:\n{report}"
    );
    assert_eq!(
        report.findings.len(),
        1,
        "unexpected extra findings:\n{report}"
    );
    finding.clone()
}

#[test]
fn double_free_of_small_and_large_blocks() {
    for size in [24usize, 300_000] {
        let mut gpa = checked();
        let allocator = gpa.allocator();
        let block = allocator.raw_alloc(size, 8).unwrap();
        // SAFETY: deliberate double free, reported by safety mode.
        unsafe {
            allocator.raw_free(block, size, 8);
            allocator.raw_free(block, size, 8);
        }
        let finding = single(&gpa, FindingKind::DoubleFree);
        assert_eq!(finding.size, size);
        assert_eq!(finding.address, block.as_ptr() as usize);
        for stack in ["alloc", "free", "second_free"] {
            assert!(finding.stack(stack).is_some(), "missing {stack}");
        }
        assert!(finding.mentions_function("double_free_of_small_and_large_blocks"));
        assert_eq!(gpa.deinit(), Check::Ok);
    }
}

#[test]
fn free_of_a_pointer_never_allocated() {
    let mut gpa = checked();
    let mut on_stack = [0u8; 64];
    let stack_pointer = NonNull::new(on_stack.as_mut_ptr()).unwrap();
    // SAFETY: deliberate invalid free of a stack address; the GPA only reads its own metadata.
    unsafe { gpa.allocator().raw_free(stack_pointer, 64, 1) };
    let finding = single(&gpa, FindingKind::InvalidFree);
    assert_eq!(finding.address, stack_pointer.as_ptr() as usize);
    assert!(finding.mentions_function("free_of_a_pointer_never_allocated"));
    assert_eq!(gpa.deinit(), Check::Ok);
}

/// A pointer read from a freed block is the GPA's fill (0xAA bytes) or near it (the fill plus
/// a field's offset): its free says so, where Valgrind, which leaves freed bytes as they were,
/// names the block the stale pointer still held (sv-benchmarks' `global-atexit-1.c`:
/// `cli/tests/svcomp_sweep.rs`, `atexit_refree`). Any other wild pointer does not.
#[test]
fn free_of_the_freed_memory_fill_says_so() {
    let fill = usize::from_ne_bytes([0xAA; size_of::<usize>()]);
    for (address, says) in [
        (fill, true),
        (fill + 0x18, true),
        (fill - 0x20, true),
        (0x1234_5670, false),
    ] {
        let mut gpa = checked();
        let wild = NonNull::new(address as *mut u8).unwrap();
        // SAFETY: deliberate invalid free of an address no allocator handed out; the GPA only
        // reads its own metadata.
        unsafe { gpa.allocator().raw_free(wild, 8, 8) };
        let finding = single(&gpa, FindingKind::InvalidFree);
        assert_eq!(finding.address, address);
        assert_eq!(
            finding.message.contains("gpa's fill of freed memory"),
            says,
            "{:#x}: {}",
            address,
            finding.message
        );
        assert_eq!(gpa.deinit(), Check::Ok);
    }
}

#[test]
fn free_of_a_pointer_into_the_middle_of_a_block() {
    for size in [100usize, 500_000] {
        let mut gpa = checked();
        let allocator = gpa.allocator();
        let block = allocator.raw_alloc(size, 8).unwrap();
        // SAFETY: deliberate interior free; then the real free.
        unsafe {
            allocator.raw_free(NonNull::new(block.as_ptr().add(16)).unwrap(), 8, 8);
        }
        let finding = single(&gpa, FindingKind::InvalidFree);
        assert_eq!(
            finding.size, size,
            "the containing block's size is reported"
        );
        assert!(finding.stack("alloc").is_some());
        // SAFETY: the block is still live and intact.
        unsafe { allocator.raw_free(block, size, 8) };
        assert_eq!(gpa.deinit(), Check::Ok);
    }
}

#[test]
fn free_with_the_wrong_size_or_alignment() {
    let mut gpa = checked();
    let allocator = gpa.allocator();
    let block = allocator.raw_alloc(40, 8).unwrap();
    // SAFETY: deliberate layout mismatch; the block is identified exactly and freed.
    unsafe { allocator.raw_free(block, 48, 8) };
    let finding = single(&gpa, FindingKind::LayoutMismatch);
    assert_eq!(finding.size, 40);
    assert!(
        finding.message.contains("freed as 48 bytes"),
        "{}",
        finding.message
    );
    assert!(finding.mentions_function("free_with_the_wrong_size_or_alignment"));
    assert_eq!(gpa.deinit(), Check::Ok);

    let mut gpa = checked();
    let block = gpa.allocator().raw_alloc(64, 64).unwrap();
    // SAFETY: deliberate alignment mismatch.
    unsafe { gpa.allocator().raw_free(block, 64, 8) };
    assert!(single(&gpa, FindingKind::LayoutMismatch)
        .message
        .contains("aligned to 8"));
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn resize_with_the_wrong_size_is_refused_and_reported() {
    let mut gpa = checked();
    let allocator = gpa.allocator();
    let block = allocator.raw_alloc(40, 8).unwrap();
    // SAFETY: deliberate mismatch on resize; the block stays as it was.
    assert!(!unsafe { allocator.raw_resize(block, 32, 8, 20) });
    single(&gpa, FindingKind::LayoutMismatch);
    // SAFETY: the block is live with its real layout.
    unsafe { allocator.raw_free(block, 40, 8) };
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn free_into_another_instance_is_foreign() {
    let mut first = checked();
    let mut second = checked();
    let block = first.allocator().raw_alloc(32, 8).unwrap();
    // SAFETY: deliberate free into the wrong instance; it only reads its page map.
    unsafe { second.allocator().raw_free(block, 32, 8) };
    single(&second, FindingKind::ForeignFree);
    assert!(first.report().is_clean());
    // SAFETY: the block is still live in `first`.
    unsafe { first.allocator().raw_free(block, 32, 8) };
    assert_eq!(first.deinit(), Check::Ok);
    assert_eq!(second.deinit(), Check::Ok);
}

#[test]
fn write_after_free_is_found_before_reuse() {
    let mut gpa = checked();
    let allocator = gpa.allocator();
    let block = allocator.raw_alloc(64, 8).unwrap();
    // SAFETY: deliberate write after free into a quarantined (still mapped) slot.
    unsafe {
        allocator.raw_free(block, 64, 8);
        assert_eq!(*block.as_ptr().add(10), 0xAA, "freed memory is poisoned");
        *block.as_ptr().add(10) = 7;
    }
    assert_eq!(gpa.deinit(), Check::Ok, "nothing leaked");
    let finding = single(&gpa, FindingKind::WriteAfterFree);
    assert_eq!(finding.size, 64);
    assert!(finding.stack("alloc").is_some() && finding.stack("free").is_some());
    assert!(finding.mentions_function("write_after_free_is_found_before_reuse"));
}

#[test]
fn overflow_by_one_byte_is_found_at_free() {
    for size in [13usize, 4096, 1 << 20] {
        let mut gpa = checked();
        let allocator = gpa.allocator();
        let block = allocator.raw_alloc(size, 1).unwrap();
        // SAFETY: deliberate one-byte overflow into the canary (inside the slot or mapping).
        unsafe {
            *block.as_ptr().add(size) = 0;
            allocator.raw_free(block, size, 1);
        }
        let finding = single(&gpa, FindingKind::Overflow);
        assert_eq!(finding.size, size);
        assert!(finding.mentions_function("overflow_by_one_byte_is_found_at_free"));
        assert_eq!(gpa.deinit(), Check::Ok);
    }
}

#[test]
fn overflow_of_a_leaked_block_is_found_at_deinit() {
    let mut gpa = checked();
    let block = gpa.allocator().raw_alloc(20, 1).unwrap();
    // SAFETY: deliberate overflow within the slot's canary.
    unsafe { *block.as_ptr().add(21) = 1 };
    assert_eq!(gpa.deinit(), Check::Leak);
    let report = gpa.report();
    assert_eq!(report.of_kind(FindingKind::Overflow).count(), 1, "{report}");
    assert_eq!(report.of_kind(FindingKind::Leak).count(), 1, "{report}");
}

/// A write far past a small block, into the part of its page no slot was ever carved from
/// (beyond any redzone check's reach), is found at `deinit` (the never-carved part reads as
/// zero until written): an overflow of the nearest block before it, at the changed byte's
/// offset. Valgrind reports such a write at the access ("Address ... is N bytes inside an
/// unallocated block"); before stop 51 nothing saw it.
#[test]
fn a_write_into_a_pages_never_carved_part_is_found_at_deinit() {
    for (size, distance) in [(20usize, 3000usize), (20, 30_000), (200, 5000)] {
        let mut gpa = checked();
        let allocator = gpa.allocator();
        let block = allocator.raw_alloc(size, 1).unwrap();
        // SAFETY: deliberate write `distance` bytes past the block, inside its page (64 KiB or
        // more), where no slot was carved yet: mapped memory of the GPA's.
        unsafe {
            *block.as_ptr().add(size + distance) = 1;
            allocator.raw_free(block, size, 1);
        }
        assert_eq!(gpa.deinit(), Check::Ok);
        let finding = single(&gpa, FindingKind::Overflow);
        assert_eq!(finding.size, size, "{distance}");
        assert_eq!(
            finding.offset,
            Some((size + distance) as isize),
            "{distance}"
        );
        assert!(
            finding.mentions_function("a_write_into_a_pages_never_carved_part_is_found_at_deinit"),
            "{distance}"
        );
    }
}

#[test]
fn stale_double_free_of_a_retained_large_block() {
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        never_unmap: true,
        retain_metadata: true,
        on_error: OnError::Record,
        ..Config::debug()
    });
    let allocator = gpa.allocator();
    let stale = allocator.raw_alloc(1 << 20, 8).unwrap();
    // SAFETY: free once, churn, then free the stale pointer again (deliberate).
    unsafe { allocator.raw_free(stale, 1 << 20, 8) };
    for round in 0..200 {
        let block = allocator.raw_alloc(300_000 + round, 8).unwrap();
        // SAFETY: live block freed once.
        unsafe { allocator.raw_free(block, 300_000 + round, 8) };
    }
    // SAFETY: deliberate stale double free; the header is retained.
    unsafe { allocator.raw_free(stale, 1 << 20, 8) };
    let finding = single(&gpa, FindingKind::DoubleFree);
    assert!(finding.stack("free").is_some() && finding.stack("second_free").is_some());
    assert_eq!(gpa.retained_block_count(), 201);
    gpa.flush_retained_metadata();
    assert_eq!(gpa.retained_block_count(), 0);
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn memory_limit_is_never_exceeded_even_concurrently() {
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        enable_memory_limit: true,
        ..Config::fast()
    });
    gpa.set_requested_memory_limit(1 << 20);
    let layout = Layout::from_size_align(1000, 8).unwrap();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let gpa = &gpa;
            scope.spawn(move || {
                let allocator = gpa.allocator();
                let mut held = Vec::new();
                for _ in 0..2000 {
                    match allocator.alloc_layout(layout) {
                        Ok(block) => held.push(block),
                        Err(error) => assert_eq!(error, gpa::Error::OutOfMemory),
                    }
                    assert!(gpa.total_requested_bytes() <= 1 << 20);
                }
                for block in held {
                    // SAFETY: each block is live and freed once.
                    unsafe { allocator.free_layout(block, layout) };
                }
            });
        }
    });
    assert_eq!(gpa.total_requested_bytes(), 0);
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn detect_leaks_counts_without_freeing() {
    let mut gpa = checked();
    let allocator = gpa.allocator();
    let a = allocator.create(5u64).unwrap();
    let b = allocator.raw_alloc(400_000, 8).unwrap();
    assert_eq!(gpa.detect_leaks(), 2);
    assert_eq!(*a, 5, "detect_leaks frees nothing");
    // SAFETY: both blocks are live and freed once.
    unsafe {
        allocator.destroy(a);
        allocator.raw_free(b, 400_000, 8);
    }
    assert_eq!(gpa.detect_leaks(), 0);
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn reports_render_as_text_and_json() {
    let mut gpa = checked();
    let block = gpa.allocator().raw_alloc(77, 1).unwrap();
    let _ = block;
    assert_eq!(gpa.deinit(), Check::Leak);
    let report = gpa.report();
    let text = report.to_string();
    assert!(text.contains("leaked (77 bytes)"), "{text}");
    assert!(text.contains("gpa_misuse.rs:"), "a file:line frame: {text}");
    let json = report.to_json();
    assert_eq!(json["findings"][0]["kind"], "leak");
    assert_eq!(json["findings"][0]["size"], 77);
    assert_eq!(json["leaked_bytes"], 77);
    let frames = json["findings"][0]["stacks"]["alloc"].as_array().unwrap();
    assert!(frames.iter().any(|f| f["function"]
        .as_str()
        .is_some_and(|name| name.contains("reports_render_as_text_and_json"))));
}

#[test]
fn resize_and_remap_keep_contents() {
    for config in [Config::fast(), Config::debug()] {
        let mut gpa = GeneralPurposeAllocator::with_config(config);
        let allocator = gpa.allocator();
        let mut len = 1usize;
        let mut block = allocator.raw_alloc(len, 8).unwrap();
        // SAFETY: the block has `len` bytes.
        unsafe { block.as_ptr().write(0x42) };
        while len < 4 << 20 {
            let new_len = len * 3 / 2 + 1;
            // SAFETY: growing our own live block; on failure move it by copy.
            unsafe {
                block = match allocator.raw_remap(block, len, 8, new_len) {
                    Some(moved) => moved,
                    None => {
                        let fresh = allocator.raw_alloc(new_len, 8).unwrap();
                        core::ptr::copy_nonoverlapping(block.as_ptr(), fresh.as_ptr(), len);
                        allocator.raw_free(block, len, 8);
                        fresh
                    }
                };
                assert_eq!(*block.as_ptr(), 0x42);
                block.as_ptr().add(new_len - 1).write(1);
            }
            len = new_len;
        }
        // SAFETY: live block with its current length.
        unsafe { allocator.raw_free(block, len, 8) };
        assert!(gpa.report().is_clean(), "{}", gpa.report());
        assert_eq!(gpa.deinit(), Check::Ok);
    }
}

#[test]
fn verbose_log_lines_name_each_operation() {
    if std::env::var_os("GPA_VERBOSE_CHILD").is_some() {
        let mut gpa = GeneralPurposeAllocator::with_config(Config {
            verbose_log: true,
            ..Config::fast()
        });
        let allocator = gpa.allocator();
        let block = allocator.raw_alloc(100, 8).unwrap();
        // SAFETY: resizing and freeing our own live block.
        unsafe {
            assert!(allocator.raw_resize(block, 100, 8, 90));
            allocator.raw_free(block, 90, 8);
        }
        assert_eq!(gpa.deinit(), Check::Ok);
        return;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "verbose_log_lines_name_each_operation",
            "--exact",
            "--nocapture",
        ])
        .env("GPA_VERBOSE_CHILD", "1")
        .output()
        .unwrap();
    assert!(output.status.success());
    let log = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "info(gpa): alloc 100 bytes (align 8)",
        "from 100 to 90 bytes: in place",
        "info(gpa): free 0x",
    ] {
        assert!(log.contains(expected), "missing {expected:?} in:\n{log}");
    }
}

#[test]
fn fork_while_other_threads_allocate_leaves_the_child_usable() {
    static SHARED: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config::fast());
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            // Large blocks and fresh heaps take the GPA's locks all the time.
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let block = SHARED.allocator().raw_alloc(300_000, 8).unwrap();
                // SAFETY: live block freed once.
                unsafe { SHARED.allocator().raw_free(block, 300_000, 8) };
                // A short-lived thread: creating its heap takes the heap-list lock.
                std::thread::spawn(|| {
                    let small = SHARED.allocator().raw_alloc(64, 8).unwrap();
                    // SAFETY: live block freed once.
                    unsafe { SHARED.allocator().raw_free(small, 64, 8) };
                })
                .join()
                .unwrap();
            }
        });
        for _ in 0..20 {
            SHARED.prepare_fork();
            // SAFETY: fork in a test process; the child only allocates through the GPA and
            // leaves with _exit.
            let child = unsafe { libc::fork() };
            // SAFETY: prepare_fork was called by this thread just before the fork.
            unsafe { SHARED.finish_fork() };
            if child == 0 {
                let ok = (0..100).all(|i| {
                    let block = SHARED.allocator().raw_alloc(200_000 + i, 8);
                    let small = SHARED.allocator().raw_alloc(24, 8);
                    block.is_ok() && small.is_ok()
                });
                // SAFETY: leaving the child without running the parent's destructors.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            let mut status = 0;
            // SAFETY: waiting for our own child.
            assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
            assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}

#[test]
fn a_different_canary_makes_a_pointer_foreign() {
    let mut first = checked();
    let mut second = GeneralPurposeAllocator::with_config(Config {
        canary: 0x1234_5678,
        on_error: OnError::Record,
        ..Config::debug()
    });
    assert_ne!(first.config().canary, second.config().canary);
    for size in [40usize, 500_000] {
        let block = first.allocator().raw_alloc(size, 8).unwrap();
        // SAFETY: deliberate free into the wrong instance; it only reads its page map.
        unsafe { second.allocator().raw_free(block, size, 8) };
        // SAFETY: the block is still live in `first`.
        unsafe { first.allocator().raw_free(block, size, 8) };
    }
    assert_eq!(second.report().of_kind(FindingKind::ForeignFree).count(), 2);
    assert!(first.report().is_clean(), "{}", first.report());
    assert_eq!(first.deinit(), Check::Ok);
    assert_eq!(second.deinit(), Check::Ok);
}

/// The page map covers 4 MiB chunks, and a large block's mapping may share its chunk with
/// other mappings (a thread's stack, a file): a free of an address there is an invalid free,
/// not a free into another GPA instance.
#[test]
fn free_of_memory_next_to_another_instances_large_block_is_invalid() {
    let owner = checked();
    let mut gpa = checked();
    let large = Layout::from_size_align(300_000, 16).unwrap();
    let block = gpa::RawAllocator::alloc(&owner, large).unwrap();
    let chunk = block.as_ptr() as usize & !((4 << 20) - 1);
    // A free page in the rest of the chunk (tests running meanwhile may have taken some).
    let page = [1, 2, 3].into_iter().find_map(|mebibytes| {
        let neighbour = chunk + (mebibytes << 20);
        // SAFETY: a fresh anonymous page at an address nothing else uses (or the call fails).
        let page = unsafe {
            libc::mmap(
                neighbour as *mut libc::c_void,
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                -1,
                0,
            )
        };
        (page as usize == neighbour).then_some(page)
    });
    match page {
        Some(page) => {
            // SAFETY: in safety mode a wrong free is reported, not performed.
            unsafe { gpa.free_unsized(page.cast()) };
            let finding = single(&gpa, FindingKind::InvalidFree);
            assert_eq!(finding.address, page as usize);
            // SAFETY: the page mapped above.
            unsafe { libc::munmap(page, 4096) };
            assert_eq!(gpa.take_report().findings.len(), 1);
        }
        None => eprintln!("skipped: the rest of the large block's chunk is taken"),
    }
    // SAFETY: the block allocated above, with its layout.
    unsafe { gpa::RawAllocator::free(&owner, block, large) };
    let mut owner = owner;
    assert_eq!(owner.deinit(), Check::Ok);
    assert_eq!(gpa.deinit(), Check::Ok);
}

/// A leak's size is what was requested, except for small blocks in fast mode, which keep no
/// requested sizes: there the report gives the slot's size and says so, rather than pass a
/// size class for the request.
#[test]
fn fast_mode_says_when_a_leaks_size_is_its_slots() {
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..Config::fast()
    });
    let allocator = gpa.allocator();
    let small = allocator.raw_alloc(20, 8).unwrap().as_ptr() as usize;
    let large = allocator.raw_alloc(300_000, 8).unwrap().as_ptr() as usize;
    assert_eq!(gpa.deinit(), Check::Leak);
    let report = gpa.report();
    let leaks: Vec<_> = report.of_kind(FindingKind::Leak).collect();
    let small = leaks.iter().find(|leak| leak.address == small).unwrap();
    assert!((20..=32).contains(&small.size), "{small:?}");
    assert!(
        small.message.ends_with(&format!(
            "leaked (a {}-byte slot: fast mode keeps no requested sizes)",
            small.size
        )),
        "{small:?}"
    );
    let large = leaks.iter().find(|leak| leak.address == large).unwrap();
    assert_eq!(large.size, 300_000);
    assert!(
        large.message.ends_with("leaked (300000 bytes)"),
        "{large:?}"
    );

    // With checks, the requested size.
    let mut gpa = checked();
    let _ = gpa.allocator().raw_alloc(20, 8).unwrap();
    assert_eq!(gpa.deinit(), Check::Leak);
    let report = gpa.report();
    let leak = report.of_kind(FindingKind::Leak).next().unwrap();
    assert_eq!(leak.size, 20);
    assert!(leak.message.ends_with("leaked (20 bytes)"), "{leak:?}");
}

/// Fast mode lists every leak `deinit` finds, each as a leak: the cap of
/// `FAST_MODE_MESSAGES` (16) is for wrong frees, which a broken program may repeat without end;
/// a leak line once said "the free was ignored" and the report kept only the first 16 leaks.
#[test]
fn fast_mode_reports_every_leak_as_a_leak() {
    const LEAKED: usize = 40;
    if std::env::var_os("GPA_FAST_LEAK_CHILD").is_some() {
        let mut gpa = GeneralPurposeAllocator::with_config(Config::fast());
        let allocator = gpa.allocator();
        for _ in 0..LEAKED {
            allocator.raw_alloc(24, 8).unwrap();
        }
        assert_eq!(gpa.deinit(), Check::Leak);
        return;
    }
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..Config::fast()
    });
    let allocator = gpa.allocator();
    let blocks: Vec<usize> = (0..LEAKED)
        .map(|_| allocator.raw_alloc(24, 8).unwrap().as_ptr() as usize)
        .collect();
    assert_eq!(gpa.deinit(), Check::Leak);
    let report = gpa.report();
    let leaks: Vec<_> = report.of_kind(FindingKind::Leak).collect();
    assert_eq!(leaks.iter().map(|leak| leak.count).sum::<usize>(), LEAKED);
    for leak in &leaks {
        assert!(blocks.contains(&leak.address), "{leak:?}");
    }

    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "fast_mode_reports_every_leak_as_a_leak",
            "--exact",
            "--nocapture",
        ])
        .env("GPA_FAST_LEAK_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let lines = stderr
        .lines()
        .filter(|line| line.contains(" leaked ("))
        .count();
    assert_eq!(lines, LEAKED, "{stderr}");
    assert!(!stderr.contains("the free was ignored"), "{stderr}");
    assert!(
        stderr.contains(&format!("error(gpa): {LEAKED} leaked block(s)")),
        "{stderr}"
    );
}
