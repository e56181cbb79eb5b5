//! Profiling the global allocator (`gpa::profile::start_all`): ordinary Rust code (`Vec`,
//! `String`, `Box`) on a GPA `#[global_allocator]`, sites named after the caller's function.

use gpa::profile;
use gpa::{Config, GeneralPurposeAllocator};

#[global_allocator]
static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config::fast());

#[inline(never)]
fn build_words(count: usize) -> Vec<String> {
    std::hint::black_box((0..count).map(|i| format!("word number {i:08}")).collect())
}

#[inline(never)]
fn big_buffer() -> Vec<u8> {
    // Not a tail call: the allocation's trace keeps this function's frame.
    std::hint::black_box(vec![7u8; 1 << 20])
}

#[test]
fn ordinary_rust_code_is_profiled_by_site() {
    let profiler = profile::start_all().unwrap();
    let words = build_words(1000);
    let buffer = big_buffer();
    let total: usize = words.iter().map(String::len).sum::<usize>() + buffer.len();
    drop(buffer);
    let profile = profiler.stop();
    assert_eq!(total, 1000 * 20 + (1 << 20));
    // The 1 MiB buffer was live at the peak, with the 1000 words.
    assert!(
        profile.peak.bytes >= (1 << 20) + 1000 * 20,
        "{:?}",
        profile.peak
    );
    let named = |function: &str| {
        profile
            .sites
            .iter()
            .filter(|site| {
                site.frames.iter().any(|frame| {
                    frame
                        .function
                        .as_deref()
                        .is_some_and(|name| name.contains(function))
                })
            })
            .collect::<Vec<_>>()
    };
    let buffers = named("big_buffer");
    assert_eq!(buffers.len(), 1, "{:#?}", profile.sites);
    assert_eq!(buffers[0].total.bytes, 1 << 20);
    assert_eq!(buffers[0].at_peak.bytes, 1 << 20);
    assert_eq!(buffers[0].at_end.bytes, 0);
    // Each word is one String of 20 bytes (the Vec of them is another site of the function).
    let word_bytes: u64 = named("build_words")
        .iter()
        .map(|site| site.at_end.bytes)
        .sum();
    assert!(word_bytes >= 1000 * 20, "{word_bytes}");
    drop(words);
}
