// A leak three calls deep in a Rust program: a generic function, a method of a trait impl, a
// closure.
struct Maker;
trait Make {
    fn make(&self, n: usize) -> Vec<u8>;
}
impl Make for Maker {
    #[inline(never)]
    fn make(&self, n: usize) -> Vec<u8> {
        let build = |n: usize| vec![7u8; n];
        std::hint::black_box(build(n))
    }
}
#[inline(never)]
fn generic<T: Make>(maker: &T, n: usize) {
    std::mem::forget(maker.make(n));
}
fn main() {
    generic(&Maker, 77);
}
