//! A `calloc` whose size is fishy, then two whose arguments are each below 2^63 but whose
//! product is not (Miri's pass-dep/libc/libc-mem.rs calls `calloc(usize::MAX / 4, 4)`).
//! All three fail. Valgrind 3.19 reports the first, "Argument 'size' of function calloc has a
//! fishy (possibly negative) value: -1" at main (line 18), then dies of an internal SIGSEGV
//! in its `calloc` of the second ("the 'impossible' happened"); its `calloc` checks the two
//! arguments only (memcheck's MC_(calloc)), so nothing is to be reported for the others.

use std::ffi::c_void;

extern "C" {
    fn calloc(count: usize, size: usize) -> *mut c_void;
    fn free(block: *mut c_void);
}

fn main() {
    // SAFETY: calloc and free of libc; a null block is never used.
    unsafe {
        let fishy = calloc(1, usize::MAX);
        assert!(fishy.is_null());
        let huge = calloc(usize::MAX / 4, 4);
        assert!(huge.is_null());
        let halves = calloc(1 << 62, 3);
        assert!(halves.is_null());
        let fine = calloc(4, 8);
        assert!(!fine.is_null());
        free(fine);
    }
    println!("done");
}
