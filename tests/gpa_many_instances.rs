//! One thread using more GPA instances than its heap cache holds (four ways): each instance's
//! heap is found again after being evicted, and every instance ends clean.

use gpa::{Check, Config, GeneralPurposeAllocator, OnError};

#[test]
fn a_thread_alternates_between_more_instances_than_its_cache_holds() {
    for config in [Config::fast(), Config::debug()] {
        let mut gpas: Vec<GeneralPurposeAllocator> = (0..7)
            .map(|_| {
                GeneralPurposeAllocator::with_config(Config {
                    on_error: OnError::Record,
                    ..config
                })
            })
            .collect();
        for round in 0..50usize {
            for gpa in &gpas {
                let allocator = gpa.allocator();
                let numbers = allocator.dupe(&[round; 16]).unwrap();
                assert_eq!(numbers[15], round);
                // SAFETY: `numbers` came from this allocator and is not used again.
                unsafe { allocator.free(numbers) };
            }
        }
        for gpa in &mut gpas {
            assert_eq!(gpa.heap_count(), 1, "one heap per instance for this thread");
            assert_eq!(gpa.deinit(), Check::Ok, "{}", gpa.report());
        }
    }
}
