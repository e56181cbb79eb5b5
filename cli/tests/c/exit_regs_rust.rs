// Exit roots: a Rust program ending with `std::process::exit` while its only pointers to two
// boxes are in the callee-saved registers r12 and r13. Valgrind 3.19: both still reachable
// (129 + 130 bytes); a third box, leaked and dropped (131 bytes), definitely lost.
use std::arch::asm;

#[inline(never)]
fn leave() -> ! {
    let a = Box::into_raw(Box::new([7u8; 129]));
    let b = Box::into_raw(Box::new([8u8; 130]));
    let dropped = Box::into_raw(Box::new([9u8; 131]));
    std::hint::black_box(unsafe { (*dropped)[3] });
    println!("done");
    // SAFETY: the asm only names the registers.
    unsafe { asm!("", in("r12") a, in("r13") b, options(nostack, nomem)) };
    std::process::exit(0)
}

fn main() {
    leave()
}
