//! Threads spawned inside a leak check count for it with gpa's default features (issue 12:
//! `assert_no_leaks(|| spawn 4 threads that each leak 512 B)` passed unless the
//! `leak-check-threads` feature was on).

use std::thread;

use gpa::{Config, GeneralPurposeAllocator, OnError};

#[global_allocator]
static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config {
    on_error: OnError::Record,
    ..Config::debug()
});

#[inline(never)]
fn leak_in_a_thread(len: usize) {
    core::mem::forget(std::hint::black_box(vec![0x33_u8; len]));
}

#[test]
#[should_panic(expected = "4 leaked block(s), 2048 byte(s)")]
fn four_spawned_threads_that_each_leak_512_bytes_fail_the_check() {
    gpa::testing::assert_no_leaks(|| {
        let threads: Vec<_> = (0..4)
            .map(|_| thread::spawn(|| leak_in_a_thread(512)))
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    });
}

#[test]
fn the_report_names_the_function_the_threads_leaked_in() {
    let report = gpa::testing::check(|| {
        thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| leak_in_a_thread(100));
            }
        });
    });
    assert_eq!(report.leak_totals(), (3, 300), "{report}");
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.mentions_function("leak_in_a_thread")),
        "{report}"
    );
}

#[test]
fn threads_that_free_everything_pass() {
    gpa::testing::assert_no_leaks(|| {
        let threads: Vec<_> = (0..4)
            .map(|t| {
                thread::spawn(move || {
                    let words: Vec<String> = (0..100).map(|i| format!("{t}:{i}")).collect();
                    words.len()
                })
            })
            .collect();
        let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(total, 400);
    });
}
