//! Guard mode in the Rust API: blocks against guard pages, faults reported at the access with
//! the allocation, free and access traces; sampled guard mode; check mode's faults on freed
//! large blocks.
//!
//! A test that faults runs in a child process: the test binary runs itself again with
//! `GPA_GUARD_CASE` naming the case, and the parent parses the report the child wrote to
//! stderr before the signal ended it.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;
use std::ptr::NonNull;

use gpa::{Check, Config, GeneralPurposeAllocator, OnError};

fn guarded_config() -> Config {
    Config {
        on_error: OnError::Record,
        ..Config::guarded()
    }
}

/// Sampled guard mode guarding every allocation (while the slot pool lasts), with traces.
fn sampled_config() -> Config {
    Config {
        on_error: OnError::Record,
        guard_sample: 1,
        ..Config::debug()
    }
}

/// The case this process was started for, if it is a child.
fn child_case() -> Option<String> {
    std::env::var("GPA_GUARD_CASE").ok()
}

/// One report parsed from text: the first line and the functions of each named stack.
struct ParsedReport {
    message: String,
    stacks: Vec<(String, Vec<String>)>,
}

impl ParsedReport {
    fn functions(&self, stack: &str) -> &[String] {
        self.stacks
            .iter()
            .find(|(name, _)| name == stack)
            .map_or(&[], |(_, functions)| functions)
    }
}

fn parse_report(stderr: &str) -> ParsedReport {
    let mut lines = stderr
        .lines()
        .skip_while(|line| !line.starts_with("error(gpa): "));
    let message = lines
        .next()
        .unwrap_or_else(|| panic!("no report in:\n{stderr}"))
        .trim_start_matches("error(gpa): ")
        .to_string();
    let mut stacks: Vec<(String, Vec<String>)> = Vec::new();
    for line in lines {
        if let Some(name) = line
            .strip_prefix("  ")
            .and_then(|rest| rest.strip_suffix(" trace:"))
        {
            stacks.push((name.to_string(), Vec::new()));
        } else if let Some(function) = line.strip_prefix("    at ") {
            let function = function.split(" (").next().unwrap_or(function);
            if let Some((_, functions)) = stacks.last_mut() {
                functions.push(function.to_string());
            }
        } else if !line.starts_with("        ") {
            break;
        }
    }
    ParsedReport { message, stacks }
}

/// Runs test `name` of this binary again as case `case` and returns its report; the child
/// must have been ended by SIGSEGV.
fn run_child(name: &str, case: &str, env: &[(&str, &str)]) -> ParsedReport {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads", "1"])
        .env("GPA_GUARD_CASE", case)
        .envs(env.iter().copied())
        .output()
        .expect("run the test binary");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGSEGV),
        "case {case}: expected death by SIGSEGV, got {:?}\nstderr:\n{stderr}",
        output.status
    );
    parse_report(&stderr)
}

fn assert_mentions(functions: &[String], needle: &str, what: &str, report: &ParsedReport) {
    assert!(
        functions.iter().any(|function| function.contains(needle)),
        "{what} trace lacks {needle}: {functions:?}\nmessage: {}\nstacks: {:?}",
        report.message,
        report.stacks
    );
}

#[inline(never)]
fn make_block(gpa: &GeneralPurposeAllocator, size: usize) -> *mut u8 {
    let block = gpa.allocator().raw_alloc(size, 1).expect("guarded block");
    core::hint::black_box(block.as_ptr())
}

#[inline(never)]
fn release_block(gpa: &GeneralPurposeAllocator, block: *mut u8, size: usize) {
    // SAFETY: a live block of `gpa` with this layout.
    unsafe {
        gpa.allocator()
            .raw_free(core::ptr::NonNull::new(block).unwrap(), size, 1)
    };
    // Not a tail call: this frame stays on the stack during the free.
    core::hint::black_box(());
}

#[inline(never)]
fn read_byte_at(address: *const u8) -> u8 {
    // SAFETY: deliberately reads memory the test expects to fault.
    unsafe { core::ptr::read_volatile(address) }
}

#[inline(never)]
fn write_byte_at(address: *mut u8) {
    // SAFETY: deliberately writes memory the test expects to fault.
    unsafe { core::ptr::write_volatile(address, 0x41) }
}

/// The faulting cases: allocate, maybe free, then one bad access.
fn run_case(case: &str) {
    let underflow = case.contains("before");
    // "sampled_" cases take a slot of sampled mode's pool instead of an extent.
    let (base, case, sampled) = match case.strip_prefix("sampled_") {
        Some(rest) => (sampled_config(), rest, true),
        None => (guarded_config(), case, false),
    };
    let gpa = GeneralPurposeAllocator::with_config(Config {
        guard_underflow: underflow,
        ..base
    });
    if sampled {
        // The block then takes the second slot, next to a quarantined one: a fault between
        // them is still the block's.
        let neighbour = gpa.allocator().raw_alloc(100, 1).expect("sampled block");
        // SAFETY: a live block, freed once.
        unsafe { gpa.allocator().raw_free(neighbour, 100, 1) };
    }
    let block = make_block(&gpa, 100);
    match case {
        "read_past_end" => {
            read_byte_at(block.wrapping_add(100));
        }
        "write_past_end" => write_byte_at(block.wrapping_add(100)),
        "read_before_start" => {
            read_byte_at(block.wrapping_sub(1));
        }
        "write_before_start" => write_byte_at(block.wrapping_sub(1)),
        "read_after_free" => {
            release_block(&gpa, block, 100);
            read_byte_at(block.wrapping_add(10));
        }
        "write_after_free" => {
            release_block(&gpa, block, 100);
            write_byte_at(block.wrapping_add(10));
        }
        other => panic!("unknown case {other}"),
    }
    eprintln!("NOT_CAUGHT");
    std::process::exit(0);
}

fn check_fault(case: &str, kind_text: &str, access: &str, detail: &str, freed: bool) {
    let report = run_child("faults_are_reported_with_three_traces", case, &[]);
    assert!(
        report.message.starts_with(kind_text),
        "{case}: {}",
        report.message
    );
    assert!(
        report.message.contains(access) && report.message.contains(detail),
        "{case}: {}",
        report.message
    );
    assert_mentions(report.functions("alloc"), "make_block", "alloc", &report);
    if freed {
        assert_mentions(report.functions("free"), "release_block", "free", &report);
    }
    let accessor = if access.starts_with("read") {
        "read_byte_at"
    } else {
        "write_byte_at"
    };
    assert_mentions(report.functions("access"), accessor, "access", &report);
    assert_mentions(report.functions("access"), "run_case", "access", &report);
}

#[test]
fn faults_are_reported_with_three_traces() {
    if let Some(case) = child_case() {
        return run_case(&case);
    }
    check_all_faults("");
}

/// The same six faults on blocks in sampled mode's slot pool.
#[test]
fn faults_on_sampled_blocks_are_reported_with_three_traces() {
    if child_case().is_some() {
        return;
    }
    check_all_faults("sampled_");
}

/// The six faulting cases (named with `prefix`), each with its kind, access and traces.
fn check_all_faults(prefix: &str) {
    let check_fault = |case: &str, kind_text, access, detail, freed| {
        check_fault(&format!("{prefix}{case}"), kind_text, access, detail, freed)
    };
    check_fault(
        "read_past_end",
        "buffer overflow",
        "read of 1 byte",
        "0 bytes after the end of a 100-byte block",
        false,
    );
    check_fault(
        "write_past_end",
        "buffer overflow",
        "write of 1 byte",
        "0 bytes after the end of a 100-byte block",
        false,
    );
    check_fault(
        "read_before_start",
        "buffer underflow",
        "read of 1 byte",
        "1 byte before a 100-byte block",
        false,
    );
    check_fault(
        "write_before_start",
        "buffer underflow",
        "write of 1 byte",
        "1 byte before a 100-byte block",
        false,
    );
    check_fault(
        "read_after_free",
        "read after free",
        "read of 1 byte",
        "at offset 10 of a freed 100-byte block",
        true,
    );
    check_fault(
        "write_after_free",
        "write after free",
        "write of 1 byte",
        "at offset 10 of a freed 100-byte block",
        true,
    );
}

#[test]
fn guarded_blocks_keep_their_contents_and_alignment() {
    for backend in ["default", "mprotect"] {
        if child_case().is_some() {
            break;
        }
        let output = Command::new(std::env::current_exe().unwrap())
            .args([
                "guarded_blocks_keep_their_contents_child",
                "--exact",
                "--ignored",
                "--nocapture",
            ])
            .env("GPA_GUARD_PAGES", backend)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{backend}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Run by `guarded_blocks_keep_their_contents_and_alignment` with each backend.
#[test]
#[ignore = "run by guarded_blocks_keep_their_contents_and_alignment"]
fn guarded_blocks_keep_their_contents_child() {
    for underflow in [false, true] {
        let mut gpa = GeneralPurposeAllocator::with_config(Config {
            guard_underflow: underflow,
            ..guarded_config()
        });
        let allocator = gpa.allocator();
        let mut blocks = Vec::new();
        for (index, &(size, align)) in [
            (0, 1),
            (1, 1),
            (8, 8),
            (100, 16),
            (4096, 8),
            (4097, 64),
            (10_000, 4096),
            (300_000, 16),
            (5000, 8192),
        ]
        .iter()
        .enumerate()
        {
            let block = allocator.raw_alloc(size, align).expect("alloc");
            assert_eq!(block.as_ptr() as usize % align, 0, "{size}/{align}");
            // SAFETY: writing within the live block.
            unsafe { block.as_ptr().write_bytes(index as u8, size) };
            blocks.push((block, size, align, index as u8));
        }
        // Zero-size requests get a dangling pointer from the `Allocator` handle.
        assert_eq!(gpa.guarded_block_count(), blocks.len() - 1);
        for &(block, size, _, fill) in &blocks {
            // SAFETY: reading within the live block.
            let bytes = unsafe { core::slice::from_raw_parts(block.as_ptr(), size) };
            assert!(bytes.iter().all(|&b| b == fill));
            if size == 0 {
                continue;
            }
            assert_eq!(gpa.usable_size(block.as_ptr()), size);
        }
        for (block, size, align, _) in blocks {
            // SAFETY: each block freed once with its layout.
            unsafe { allocator.raw_free(block, size, align) };
        }
        assert!(gpa.report().is_clean(), "{}", gpa.report());
        assert_eq!(gpa.deinit(), Check::Ok);
    }
}

#[test]
fn two_hundred_thousand_live_guarded_blocks_fit_in_the_mapping_limit() {
    let mut gpa = GeneralPurposeAllocator::with_config(guarded_config());
    let allocator = gpa.allocator();
    let count = 200_000;
    let mut blocks = Vec::with_capacity(count);
    for index in 0..count {
        let block = allocator.raw_alloc(16, 8).expect("every request is served");
        // SAFETY: writing within the live block.
        unsafe { block.as_ptr().cast::<u64>().write(index as u64) };
        blocks.push(block);
    }
    let guarded = gpa.guarded_block_count();
    let limit: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(65530);
    // With guard pages inside the mapping (Linux 6.13) all are guarded; with mprotect,
    // as many as the mapping budget allows and the rest unguarded.
    assert!(guarded >= (limit / 4).min(count), "{guarded} guarded");
    eprintln!("{guarded} of {count} blocks guarded (vm.max_map_count {limit})");
    for (index, block) in blocks.into_iter().enumerate() {
        // SAFETY: reading, then freeing, each live block once.
        unsafe {
            assert_eq!(block.as_ptr().cast::<u64>().read(), index as u64);
            allocator.raw_free(block, 16, 8);
        }
    }
    assert!(gpa.report().is_clean(), "{}", gpa.report());
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn double_and_invalid_frees_of_guarded_blocks_are_reported() {
    let mut gpa = GeneralPurposeAllocator::with_config(guarded_config());
    let allocator = gpa.allocator();
    let block = allocator.raw_alloc(64, 8).unwrap();
    // SAFETY: deliberate misuse, which guard mode diagnoses without touching the block.
    unsafe {
        allocator.raw_free(block, 64, 8);
        allocator.raw_free(block, 64, 8);
        gpa.free_unsized(block.as_ptr().add(8));
    }
    let report = gpa.take_report();
    let kinds: Vec<_> = report.findings.iter().map(|f| f.kind.as_str()).collect();
    assert_eq!(kinds, ["double_free", "invalid_free"], "{report}");
    let double = &report.findings[0];
    assert!(double.stack("alloc").is_some() && double.stack("free").is_some());
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn writes_into_the_alignment_slack_and_before_the_start_are_found_at_free() {
    let mut gpa = GeneralPurposeAllocator::with_config(guarded_config());
    let allocator = gpa.allocator();
    // 100 bytes at alignment 16 end 12 bytes before the guard page: canary bytes.
    let block = allocator.raw_alloc(100, 16).unwrap();
    // SAFETY: deliberate writes just past the end and 32 bytes before the start, both on
    // the block's own (accessible) page.
    unsafe {
        block.as_ptr().add(101).write(1);
        block.as_ptr().sub(32).write(2);
        allocator.raw_free(block, 100, 16);
    }
    let report = gpa.take_report();
    let overflow = report
        .of_kind(gpa::FindingKind::Overflow)
        .next()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(overflow.offset, Some(101));
    let underflow = report
        .of_kind(gpa::FindingKind::Underflow)
        .next()
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(underflow.offset, Some(-32));
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn leaked_guarded_blocks_are_reported_at_deinit() {
    let mut gpa = GeneralPurposeAllocator::with_config(guarded_config());
    let block = gpa.allocator().raw_alloc(40, 8).unwrap();
    core::hint::black_box(block);
    assert_eq!(gpa.deinit(), Check::Leak);
}

#[test]
fn freed_addresses_are_not_reused_while_quarantined() {
    let mut gpa = GeneralPurposeAllocator::with_config(guarded_config());
    let allocator = gpa.allocator();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1000 {
        let block = allocator.raw_alloc(32, 8).unwrap();
        assert!(seen.insert(block.as_ptr() as usize), "address reused");
        // SAFETY: live block, freed once.
        unsafe { allocator.raw_free(block, 32, 8) };
    }
    assert_eq!(gpa.deinit(), Check::Ok);
    // A small quarantine lets addresses come back.
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        guard_quarantine_bytes: 16 * 4096,
        ..guarded_config()
    });
    let allocator = gpa.allocator();
    let mut reused = false;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..100 {
        let block = allocator.raw_alloc(32, 8).unwrap();
        reused |= !seen.insert(block.as_ptr() as usize);
        // SAFETY: live block, freed once.
        unsafe { allocator.raw_free(block, 32, 8) };
    }
    assert!(reused);
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn sampled_mode_guards_about_one_block_in_n() {
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        guard_sample: 50,
        ..Config::fast()
    });
    let allocator = gpa.allocator();
    let blocks: Vec<_> = (0..10_000)
        .map(|_| allocator.raw_alloc(24, 8).unwrap())
        .collect();
    let guarded = gpa.guarded_block_count();
    assert!((100..400).contains(&guarded), "{guarded} of 10000 guarded");
    for block in blocks {
        // SAFETY: each live block freed once with its layout (fast mode: also the guarded
        // ones, found by address).
        unsafe { allocator.raw_free(block, 24, 8) };
    }
    assert_eq!(gpa.guarded_block_count(), 0);
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn sampled_mode_serves_blocks_normally_when_its_slots_are_used_up() {
    let mut gpa = GeneralPurposeAllocator::with_config(sampled_config());
    let allocator = gpa.allocator();
    let blocks: Vec<_> = (0..2000u32)
        .map(|value| {
            let block = allocator.raw_alloc(64, 8).unwrap();
            // SAFETY: a live 64-byte block.
            unsafe { block.as_ptr().cast::<u32>().write(value) };
            block
        })
        .collect();
    // Every request was sampled: the pool's slots are all taken, the rest served unguarded.
    let guarded = gpa.guarded_block_count();
    assert!((16..2000).contains(&guarded), "{guarded} of 2000 guarded");
    for (value, &block) in (0..2000u32).zip(&blocks) {
        // SAFETY: a live block written above.
        assert_eq!(unsafe { block.as_ptr().cast::<u32>().read() }, value);
        assert_eq!(gpa.usable_size(block.as_ptr()), 64);
    }
    for block in blocks {
        // SAFETY: each live block freed once with its layout.
        unsafe { allocator.raw_free(block, 64, 8) };
    }
    assert_eq!(gpa.guarded_block_count(), 0);
    // Freed slots come back: sampling goes on.
    let block = allocator.raw_alloc(64, 8).unwrap();
    assert_eq!(gpa.guarded_block_count(), 1);
    // SAFETY: a live block, freed once.
    unsafe { allocator.raw_free(block, 64, 8) };
    assert!(gpa.report().is_clean(), "{}", gpa.report());
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn a_freed_slot_is_reused_only_after_the_other_free_slots() {
    let mut gpa = GeneralPurposeAllocator::with_config(sampled_config());
    let allocator = gpa.allocator();
    let first = allocator.raw_alloc(100, 8).unwrap();
    assert_eq!(gpa.guarded_block_count(), 1);
    // SAFETY: a live block, freed once.
    unsafe { allocator.raw_free(first, 100, 8) };
    let mut addresses = std::collections::HashSet::new();
    let mut reused_after = None;
    for round in 0..2000 {
        let block = allocator.raw_alloc(100, 8).unwrap();
        assert_eq!(gpa.guarded_block_count(), 1, "round {round}");
        if block == first && reused_after.is_none() {
            reused_after = Some(round);
        }
        addresses.insert(block.as_ptr() as usize);
        // SAFETY: a live block, freed once.
        unsafe { allocator.raw_free(block, 100, 8) };
    }
    // Slots are reused in chunks, oldest first: the first slot comes back only after many
    // others were used, and the pool stays bounded (no fresh address per block).
    let reused_after = reused_after.expect("the first slot is reused eventually");
    assert!(reused_after >= 100, "reused after {reused_after} others");
    assert!(addresses.len() < 1000, "{} addresses", addresses.len());
    assert!(gpa.report().is_clean(), "{}", gpa.report());
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn sampled_blocks_keep_their_contents_through_realloc_into_and_out_of_slots() {
    use core::alloc::{GlobalAlloc, Layout};
    for underflow in [false, true] {
        let mut gpa = GeneralPurposeAllocator::with_config(Config {
            guard_underflow: underflow,
            ..sampled_config()
        });
        let small = Layout::from_size_align(32, 8).unwrap();
        let plain_layout = Layout::from_size_align(40, 8).unwrap();
        // SAFETY (this block): each block is used within its layout and freed once.
        unsafe {
            // Fill the pool, so that the next block is served unguarded.
            let mut pool_blocks = Vec::new();
            let plain = loop {
                let before = gpa.guarded_block_count();
                let block = gpa.alloc(small);
                if gpa.guarded_block_count() == before {
                    gpa.dealloc(block, small);
                    break gpa.alloc(plain_layout);
                }
                pool_blocks.push(block);
            };
            plain.write_bytes(7, 40);
            // Free every slot: the pool can serve again.
            for block in pool_blocks {
                gpa.dealloc(block, small);
            }
            assert_eq!(gpa.guarded_block_count(), 0);
            // Into a slot: the moved block is sampled.
            let slot = gpa.realloc(plain, plain_layout, 3000);
            assert_eq!(gpa.guarded_block_count(), 1);
            assert!(core::slice::from_raw_parts(slot, 40)
                .iter()
                .all(|&b| b == 7));
            slot.add(40).write_bytes(9, 2960);
            assert_eq!(gpa.usable_size(slot), 3000);
            // Out of the slot, larger than a slot: a guarded extent.
            let slot_layout = Layout::from_size_align(3000, 8).unwrap();
            let large = gpa.realloc(slot, slot_layout, 20_000);
            assert_eq!(gpa.guarded_block_count(), 1);
            let bytes = core::slice::from_raw_parts(large, 3000);
            assert!(bytes[..40].iter().all(|&b| b == 7) && bytes[40..].iter().all(|&b| b == 9));
            assert_eq!(gpa.usable_size(large), 20_000);
            gpa.dealloc(large, Layout::from_size_align(20_000, 8).unwrap());
        }
        assert_eq!(gpa.guarded_block_count(), 0);
        assert!(gpa.report().is_clean(), "{}", gpa.report());
        assert_eq!(gpa.deinit(), Check::Ok);
    }
}

#[test]
fn vectors_grow_and_shrink_on_guarded_blocks() {
    let mut gpa = GeneralPurposeAllocator::with_config(guarded_config());
    {
        let mut numbers = allocator_api2::vec::Vec::new_in(gpa.allocator());
        for value in 0..5000u32 {
            numbers.push(value);
        }
        numbers.truncate(10);
        numbers.shrink_to_fit();
        assert_eq!(numbers.iter().sum::<u32>(), 45);
    }
    assert!(gpa.report().is_clean(), "{}", gpa.report());
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[inline(never)]
fn make_large(gpa: &GeneralPurposeAllocator) -> *mut u8 {
    let block = make_block(gpa, 1 << 20);
    core::hint::black_box(block)
}

#[test]
fn check_mode_reports_a_use_after_free_of_a_large_block() {
    if child_case().as_deref() == Some("large") {
        let gpa = GeneralPurposeAllocator::with_config(Config {
            on_error: OnError::Record,
            ..Config::debug()
        });
        let block = make_large(&gpa);
        release_block(&gpa, block, 1 << 20);
        read_byte_at(block.wrapping_add(5000));
        eprintln!("NOT_CAUGHT");
        std::process::exit(0);
    }
    let report = run_child(
        "check_mode_reports_a_use_after_free_of_a_large_block",
        "large",
        &[],
    );
    assert!(
        report.message.starts_with(
            "read after free: read of 1 byte at offset 5000 of a freed 1048576-byte block"
        ),
        "{}",
        report.message
    );
    assert_mentions(report.functions("alloc"), "make_large", "alloc", &report);
    assert_mentions(report.functions("free"), "release_block", "free", &report);
    assert_mentions(
        report.functions("access"),
        "read_byte_at",
        "access",
        &report,
    );
}

/// Check mode: a wild access a mebibyte off a small block faults on gpa's guards (a free unit
/// of the segment) or in unmapped space before the segment, and is reported as an overflow
/// or an underflow of that block, with its allocation trace and the access's. Valgrind
/// memcheck 3.19 on the same C program (`overflow_by_1m.c`, `underflow_by_1m.c` in
/// `cli/tests/security`): "Address ... is 1,048,503 bytes inside an unallocated block" for
/// the write past the end, and a bare SIGSEGV for the one before the start.
#[test]
fn check_mode_reports_a_wild_access_a_mebibyte_off_a_small_block() {
    if let Some(case) = child_case() {
        let gpa = GeneralPurposeAllocator::with_config(Config {
            on_error: OnError::Record,
            ..Config::debug()
        });
        let block = make_block(&gpa, 100);
        match case.as_str() {
            "past_end" => write_byte_at(block.wrapping_add(100 + (1 << 20))),
            "before_start" => {
                read_byte_at(block.wrapping_sub(1 << 20));
            }
            other => panic!("unknown case {other}"),
        }
        eprintln!("NOT_CAUGHT");
        std::process::exit(0);
    }
    let name = "check_mode_reports_a_wild_access_a_mebibyte_off_a_small_block";
    let report = run_child(name, "past_end", &[]);
    assert!(
        report.message.starts_with(
            "buffer overflow: write of 1 byte 1048576 bytes after the end of a 100-byte block"
        ),
        "{}",
        report.message
    );
    assert_mentions(report.functions("alloc"), "make_block", "alloc", &report);
    assert_mentions(
        report.functions("access"),
        "write_byte_at",
        "access",
        &report,
    );
    let report = run_child(name, "before_start", &[]);
    assert!(
        report
            .message
            .starts_with("buffer underflow: read of 1 byte 1048576 bytes before a 100-byte block"),
        "{}",
        report.message
    );
    assert_mentions(report.functions("alloc"), "make_block", "alloc", &report);
    assert_mentions(
        report.functions("access"),
        "read_byte_at",
        "access",
        &report,
    );
}

static mut PROGRAM_HANDLER_RAN: bool = false;

extern "C" fn program_handler(_: libc::c_int) {
    // SAFETY: async-signal-safe write and exit.
    unsafe {
        PROGRAM_HANDLER_RAN = true;
        libc::write(2, c"program handler\n".as_ptr().cast(), 16);
        libc::_exit(42);
    }
}

#[test]
fn faults_that_are_not_gpas_reach_the_programs_own_handler() {
    if child_case().as_deref() == Some("foreign") {
        // SAFETY: installing a plain handler for SIGSEGV before gpa installs its own.
        unsafe {
            libc::signal(
                libc::SIGSEGV,
                program_handler as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
        let gpa = GeneralPurposeAllocator::with_config(guarded_config());
        let block = make_block(&gpa, 10);
        core::hint::black_box(block);
        // An address no allocator owns.
        read_byte_at(8 as *const u8);
        std::process::exit(0);
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "faults_that_are_not_gpas_reach_the_programs_own_handler",
            "--exact",
            "--nocapture",
        ])
        .env("GPA_GUARD_CASE", "foreign")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(42), "{stderr}");
    assert!(stderr.contains("program handler"), "{stderr}");
    assert!(!stderr.contains("error(gpa)"), "{stderr}");
}

/// Sampled guard mode over fast mode: `(size, align)` requests churned through a live set
/// of 500 blocks; returns how many of the `steps` fresh blocks were guarded. Each block
/// holds a pattern, checked before it is freed: the fast paths stay correct with sampling.
///
/// A guarded block is told by its usable size, which is exactly its size (a size that is no
/// multiple of 8 is no size class's), or for a request of no size class (`size` above
/// 128 KiB, one thread only) by the GPA's count of live guarded blocks.
fn churn_sampled(gpa: &GeneralPurposeAllocator, steps: usize, sizes: &[(usize, usize)]) -> usize {
    let allocator = gpa.allocator();
    let mut live: Vec<(NonNull<u8>, usize, usize, u8)> = Vec::new();
    let mut guarded = 0;
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for step in 0..steps {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let (size, align) = sizes[seed as usize % sizes.len()];
        if live.len() == 500 {
            let (block, size, align, byte) = live.swap_remove((seed >> 32) as usize % 500);
            // SAFETY: a live block of `size` bytes written below.
            let bytes = unsafe { std::slice::from_raw_parts(block.as_ptr(), size) };
            assert!(
                bytes.iter().all(|&b| b == byte),
                "block {block:?} lost its contents"
            );
            // SAFETY: a live block freed once with its layout.
            unsafe { allocator.raw_free(block, size, align) };
        }
        let before = gpa.guarded_block_count();
        let block = allocator.raw_alloc(size, align).unwrap();
        if size > 128 << 10 {
            guarded += gpa.guarded_block_count() - before;
        } else {
            assert_ne!(size % 8, 0);
            guarded += usize::from(gpa.usable_size(block.as_ptr()) == size);
        }
        assert_eq!(block.as_ptr() as usize % align, 0);
        let byte = step as u8;
        // SAFETY: a fresh block of `size` bytes.
        unsafe { block.as_ptr().write_bytes(byte, size) };
        live.push((block, size, align, byte));
    }
    for (block, size, align, _) in live {
        // SAFETY: each live block freed once with its layout.
        unsafe { allocator.raw_free(block, size, align) };
    }
    guarded
}

#[test]
fn sampled_fast_mode_guards_about_one_request_in_n_on_its_fast_paths() {
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        guard_sample: 100,
        ..Config::fast()
    });
    let sizes = [(7, 1), (23, 8), (100, 4), (250, 2), (1001, 8), (3001, 64)];
    let guarded = churn_sampled(&gpa, 100_000, &sizes);
    // 1000 expected: each fresh block is guarded with probability about 1/100.
    assert!(
        (600..1500).contains(&guarded),
        "{guarded} of 100000 guarded"
    );
    assert_eq!(gpa.guarded_block_count(), 0);
    assert!(gpa.report().is_clean(), "{}", gpa.report());
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn sampled_fast_mode_samples_each_thread_and_large_requests_too() {
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        guard_sample: 50,
        ..Config::fast()
    });
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| churn_sampled(&gpa, 20_000, &[(47, 1), (700, 4)])))
            .collect();
        for thread in threads {
            let guarded = thread.join().unwrap();
            // 400 expected per thread.
            assert!((200..700).contains(&guarded), "{guarded} of 20000 guarded");
        }
    });
    // Requests of no size class (256 KiB) take the thread's countdown; about 1 in 50.
    let guarded = churn_sampled(&gpa, 2000, &[((256 << 10) + 1, 8)]);
    assert!(
        (10..100).contains(&guarded),
        "{guarded} of 2000 large blocks guarded"
    );
    assert!(gpa.report().is_clean(), "{}", gpa.report());
    assert_eq!(gpa.deinit(), Check::Ok);
}

#[test]
fn a_fast_gpa_beside_a_sampled_one_on_the_same_thread_guards_nothing() {
    let mut fast = GeneralPurposeAllocator::with_config(Config::fast());
    let mut sampled = GeneralPurposeAllocator::with_config(Config {
        guard_sample: 100,
        ..Config::fast()
    });
    let mut guarded = 0;
    for _ in 0..20 {
        // Interleaved: each GPA's heap keeps its own countdown.
        assert_eq!(churn_sampled(&fast, 1000, &[(61, 1)]), 0);
        guarded += churn_sampled(&sampled, 1000, &[(61, 1)]);
    }
    assert_eq!(fast.guarded_block_count(), 0);
    assert!((100..400).contains(&guarded), "{guarded} of 20000 guarded");
    assert_eq!(fast.deinit(), Check::Ok);
    assert_eq!(sampled.deinit(), Check::Ok);
}

/// `len` bytes at `address` read through `/proc/self/mem`, which ignores the pages'
/// protection; `None` where nothing can be read there (a guard marker).
fn read_through_proc(address: usize, len: usize) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open("/proc/self/mem").ok()?;
    let mut bytes = vec![0; len];
    file.read_exact_at(&mut bytes, address as u64).ok()?;
    Some(bytes)
}

#[test]
fn freed_guarded_blocks_keep_their_contents_while_in_the_window() {
    // A window of four data pages: a 32-byte block takes one.
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        guard_keep_bytes: 4 * 4096,
        ..guarded_config()
    });
    let allocator = gpa.allocator();
    let first = allocator.raw_alloc(32, 8).unwrap();
    // SAFETY: a live block of 32 bytes.
    unsafe { first.as_ptr().write_bytes(0x5a, 32) };
    // SAFETY: live, freed once.
    unsafe { allocator.raw_free(first, 32, 8) };
    let address = first.as_ptr() as usize;
    if std::fs::File::open("/proc/self/mem").is_err() {
        eprintln!("skipping: /proc/self/mem is not readable here");
        return;
    }
    assert_eq!(
        read_through_proc(address, 32),
        Some(vec![0x5a; 32]),
        "kept after the free"
    );
    // Three more fill the window; the fourth pushes the first out of it.
    for round in 0..4 {
        let block = allocator.raw_alloc(32, 8).unwrap();
        // SAFETY: live, freed once.
        unsafe {
            block.as_ptr().write_bytes(0x33, 32);
            allocator.raw_free(block, 32, 8);
        }
        let seen = read_through_proc(address, 32);
        if round < 3 {
            assert_eq!(seen, Some(vec![0x5a; 32]), "still in the window");
        } else {
            assert!(
                seen.as_ref().is_none_or(|bytes| bytes == &[0; 32]),
                "out of the window: given back ({seen:?})"
            );
        }
    }
    assert_eq!(gpa.deinit(), Check::Ok);
}
