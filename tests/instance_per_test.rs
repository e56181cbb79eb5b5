//! Instance-per-test leak checks (Zig style): each test gets its own `GeneralPurposeAllocator`
//! through `gpa::testing::with_gpa`, which fails the test with the allocator's report.
//! No global allocator is involved, so these tests run in parallel with anything.

use std::panic::{catch_unwind, AssertUnwindSafe};

use gpa::testing::{assert_deinit_ok, with_gpa, with_gpa_config};
use gpa::{Allocator, Config, Error, GeneralPurposeAllocator, OnError};

/// Code under test: takes an allocator, as Zig code does.
fn join_words<'a>(allocator: Allocator<'a>, words: &[&str]) -> Result<gpa::Box<'a, str>, Error> {
    let mut joined = allocator.vec::<u8>();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            joined.try_reserve(1).map_err(|_| Error::OutOfMemory)?;
            joined.push(b' ');
        }
        joined
            .try_reserve(word.len())
            .map_err(|_| Error::OutOfMemory)?;
        joined.extend_from_slice(word.as_bytes());
    }
    let text = core::str::from_utf8(&joined).expect("words are UTF-8");
    allocator.print(format_args!("{text}"))
}

#[inline(never)]
fn forget_a_block(allocator: Allocator<'_>) {
    let block = allocator.new_box([9_u64; 3]).unwrap();
    core::mem::forget(block);
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn clean_test_passes_and_returns_its_result() {
    let len = with_gpa(|allocator| {
        let joined = join_words(allocator, &["leak", "free", "code"]).unwrap();
        assert_eq!(&*joined, "leak free code");
        joined.len()
    });
    assert_eq!(len, 14);
}

#[test]
#[should_panic(expected = "leaked")]
fn leaking_test_fails() {
    with_gpa(forget_a_block);
}

#[test]
fn the_failure_message_is_the_leak_report() {
    let payload = catch_unwind(|| with_gpa(forget_a_block)).unwrap_err();
    let message = panic_message(payload);
    assert!(
        message.starts_with("error(gpa): memory address 0x"),
        "{message}"
    );
    assert!(message.contains("leaked (24 bytes)"), "{message}");
    assert!(
        message.contains("forget_a_block"),
        "the allocation trace: {message}"
    );
    assert!(
        message.contains("1 leaked block(s), 24 byte(s) in total"),
        "{message}"
    );
}

#[test]
fn other_mistakes_fail_the_test_too() {
    let payload = catch_unwind(|| {
        with_gpa(|allocator| {
            let block = allocator.raw_alloc(32, 8).unwrap();
            // SAFETY (deliberate misuse): the second free is a double free, which the debug
            // GPA detects from its metadata and records instead of corrupting anything.
            unsafe {
                allocator.raw_free(block, 32, 8);
                allocator.raw_free(block, 32, 8);
            }
        })
    })
    .unwrap_err();
    let message = panic_message(payload);
    assert!(message.contains("double free"), "{message}");
}

#[test]
fn with_a_configuration_of_your_own() {
    let config = Config {
        stack_trace_frames: 10,
        ..Config::debug()
    };
    let total: usize = with_gpa_config(config, |allocator| {
        let mut sums = allocator.vec::<usize>();
        for i in 0..1000 {
            sums.push(i);
        }
        sums.iter().sum()
    });
    assert_eq!(total, 499_500);
}

#[test]
fn the_explicit_zig_pattern() {
    let mut gpa = GeneralPurposeAllocator::with_config(Config {
        on_error: OnError::Record,
        ..Config::debug()
    });
    {
        let joined = join_words(gpa.allocator(), &["a", "b"]).unwrap();
        assert_eq!(&*joined, "a b");
    }
    assert_deinit_ok(&mut gpa);
}

#[test]
fn parallel_instances_do_not_see_each_other() {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                catch_unwind(AssertUnwindSafe(|| {
                    with_gpa(|allocator| {
                        for _ in 0..200 {
                            drop(join_words(allocator, &["x"; 16]).unwrap());
                        }
                        if t % 2 == 1 {
                            forget_a_block(allocator);
                        }
                    })
                }))
                .is_ok()
            })
        })
        .collect();
    let verdicts: Vec<bool> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(verdicts, [true, false, true, false]);
}

#[test]
#[should_panic(expected = "needs a GeneralPurposeAllocator as the #[global_allocator]")]
fn check_refuses_to_run_without_the_gpa_as_global_allocator() {
    // This binary keeps the system allocator: a global leak check would see nothing, so it
    // says so instead of passing every test.
    let _ = gpa::testing::check(|| drop(vec![1_u8; 8]));
}
