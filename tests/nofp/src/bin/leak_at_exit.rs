//! A program with one planted leak and the GPA as its global allocator, asking for the leak
//! report at exit (run by `tests/at_exit.rs`). It also prints (stdout's buffer), spawns a
//! thread and frees everything else, so the report must leave std's runtime blocks out and
//! show exactly the planted block.

use gpa::{Config, GeneralPurposeAllocator};

#[global_allocator]
static GPA: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config::debug());

#[inline(never)]
fn plant_leak() {
    core::mem::forget(std::hint::black_box(vec![0xab_u8; 333]));
}

fn main() {
    GPA.report_leaks_at_exit();
    println!("working");
    let words: Vec<String> = (0..100).map(|i| format!("word {i}")).collect();
    let total = std::thread::spawn(move || words.iter().map(String::len).sum::<usize>())
        .join()
        .unwrap();
    println!("{total} bytes of words");
    plant_leak();
}
