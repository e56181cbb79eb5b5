// Memory-safety bugs of the RustSec advisory database (github.com/rustsec/advisory-db),
// reduced to programs of our own (std only): one case per run, named by the first argument;
// each buggy case has a `_fixed` counterpart doing the same work the safe way.
// Advisories by case: see docs/sweeps/rustsec.md.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;

extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(ptr: *mut u8);
}

/// An iterator that claims `lower` items and panics before yielding any.
struct Liar {
    lower: usize,
}

impl Iterator for Liar {
    type Item = Box<u32>;
    fn next(&mut self) -> Option<Box<u32>> {
        panic!("iterator panics");
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.lower, Some(self.lower))
    }
}

fn boxes(n: u32) -> Vec<Box<u32>> {
    (0..n).map(Box::new).collect()
}

// RUSTSEC-2018-0003 (smallvec insert_many), RUSTSEC-2021-0042 (insert_many),
// RUSTSEC-2021-0018 (qwutils insert_slice_clone): the tail is shifted, then the iterator
// panics while the length still counts the stale copies.
fn insert_many_buggy(v: &mut Vec<Box<u32>>, index: usize, iter: impl Iterator<Item = Box<u32>>) {
    let (lower, _) = iter.size_hint();
    let old_len = v.len();
    v.reserve(lower);
    unsafe {
        let p = v.as_mut_ptr().add(index);
        ptr::copy(p, p.add(lower), old_len - index);
        for (i, item) in iter.enumerate() {
            ptr::write(p.add(i), item);
        }
        v.set_len(old_len + lower);
    }
}

fn insert_many() {
    let mut v = boxes(4);
    let _ = catch_unwind(AssertUnwindSafe(|| insert_many_buggy(&mut v, 1, Liar { lower: 2 })));
    drop(v);
}

fn insert_many_fixed() {
    let mut v = boxes(4);
    let _ = catch_unwind(AssertUnwindSafe(|| {
        v.splice(1..1, Liar { lower: 2 });
    }));
    drop(v);
}

// RUSTSEC-2019-0009 (smallvec grow): growing a spilled vector back to its inline buffer frees
// the heap buffer but leaves the vector marked spilled.
struct Small {
    heap: *mut u32,
    len: usize,
    inline: [u32; 4],
    spilled: bool,
}

impl Small {
    fn layout() -> std::alloc::Layout {
        std::alloc::Layout::array::<u32>(8).unwrap()
    }
    fn spilled(values: &[u32]) -> Small {
        let heap = unsafe { std::alloc::alloc(Small::layout()) as *mut u32 };
        for (i, value) in values.iter().enumerate() {
            unsafe { heap.add(i).write(*value) };
        }
        Small { heap, len: values.len(), inline: [0; 4], spilled: true }
    }
    fn shrink_inline(&mut self, fixed: bool) {
        unsafe {
            ptr::copy_nonoverlapping(self.heap, self.inline.as_mut_ptr(), self.len);
            std::alloc::dealloc(self.heap as *mut u8, Small::layout());
        }
        if fixed {
            self.spilled = false;
        }
    }
    fn first(&self) -> u32 {
        if self.spilled {
            unsafe { *self.heap }
        } else {
            self.inline[0]
        }
    }
}

impl Drop for Small {
    fn drop(&mut self) {
        if self.spilled {
            unsafe { std::alloc::dealloc(self.heap as *mut u8, Small::layout()) };
        }
    }
}

fn grow(fixed: bool) {
    let mut small = Small::spilled(&[7, 8, 9]);
    small.shrink_inline(fixed);
    std::hint::black_box(small.first());
    println!("first read");
}

// RUSTSEC-2021-0003 (smallvec insert_many; stackvector's RUSTSEC-2021-0048 on the stack): the
// room is reserved from the iterator's lower bound, and the iterator yields more.
fn extend_by_hint(v: &mut Vec<u32>, items: impl Iterator<Item = u32>, fixed: bool) {
    let (lower, _) = items.size_hint();
    v.reserve_exact(lower);
    let mut len = v.len();
    for item in items {
        if fixed && len == v.capacity() {
            unsafe { v.set_len(len) };
            v.reserve(1);
        }
        unsafe { v.as_mut_ptr().add(len).write(item) };
        len += 1;
    }
    // (std's `set_len` checks its argument against the capacity in debug builds.)
    unsafe { v.set_len(len.min(v.capacity())) };
}

fn overflow(fixed: bool) {
    let mut v: Vec<u32> = Vec::new();
    // A `filter`'s lower bound is 0: the chained item is not counted.
    let items = vec![1, 2, 3, 4].into_iter().chain(std::iter::once(5).filter(|_| true));
    extend_by_hint(&mut v, items, fixed);
    println!("len {}", v.len());
}

// RUSTSEC-2021-0049 (through), 2021-0039 (endian_trait), 2021-0005 (glsl-layout map_array),
// 2021-0010 (containers mutate), 2019-0021 (linea zip_elements): the value is moved out
// with `ptr::read`, the closure panics, and the owner drops it again.
fn through<T>(place: &mut T, f: impl FnOnce(T) -> T) {
    unsafe {
        let value = ptr::read(place);
        ptr::write(place, f(value));
    }
}

fn through_panic(fixed: bool) {
    let mut name = String::from("through");
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let f = |s: String| -> String {
            if s.len() > 1 {
                panic!("map panics");
            }
            s
        };
        if fixed {
            let value = std::mem::take(&mut name);
            name = f(value);
        } else {
            through(&mut name, f);
        }
    }));
    drop(name);
}

// RUSTSEC-2021-0053 (algorithmica merge_sort::merge): elements are copied out with
// `ptr::read` into a new vector while the old one still owns them, and both drop them (no
// panic needed).
fn merge(a: &[String], b: &[String], fixed: bool) -> Vec<String> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let take_a = j == b.len() || (i < a.len() && a[i] <= b[j]);
        let item = if take_a { &a[i] } else { &b[j] };
        out.push(if fixed { item.clone() } else { unsafe { ptr::read(item) } });
        if take_a {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

fn merge_case(fixed: bool) {
    let a = vec![String::from("ant"), String::from("cat")];
    let b = vec![String::from("bee"), String::from("dog")];
    let merged = merge(&a, &b, fixed);
    println!("merged {}", merged.len());
    drop(merged);
    drop(a);
    drop(b);
}

// RUSTSEC-2021-0130 (lru): an iterator's raw pointer to a node outlives the node, which a
// `put` of the same key replaced and freed.
struct Node {
    key: u64,
    value: u64,
}

fn lru(fixed: bool) {
    let mut map: std::collections::HashMap<u64, Box<Node>> = std::collections::HashMap::new();
    map.insert(1, Box::new(Node { key: 1, value: 10 }));
    let mut node: *const Node = &**map.get(&1).unwrap();
    map.insert(1, Box::new(Node { key: 1, value: 11 }));
    if fixed {
        node = &**map.get(&1).unwrap();
    }
    let value = unsafe { (*node).value };
    let key = unsafe { (*node).key };
    std::hint::black_box((key, value));
    println!("read");
}

// RUSTSEC-2023-0054 (mail-internals vec_insert_bytes): a pointer into the vector is taken,
// the vector grows (its buffer moves), the bytes are written through the old pointer.
fn insert_bytes(v: &mut Vec<u8>, at: usize, bytes: &[u8], fixed: bool) {
    let old_len = v.len();
    let mut p = unsafe { v.as_mut_ptr().add(at) };
    v.reserve(bytes.len());
    if fixed {
        p = unsafe { v.as_mut_ptr().add(at) };
    }
    unsafe {
        ptr::copy(p, p.add(bytes.len()), old_len - at);
        ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        v.set_len(old_len + bytes.len());
    }
}

fn vec_insert(fixed: bool) {
    let mut v = b"Subject".to_vec();
    v.shrink_to_fit();
    insert_bytes(&mut v, 0, b"X-Mail-", fixed);
    println!("{}", v.len());
}

// RUSTSEC-2022-0078 (bumpalo Vec::into_iter): the iterator outlives the arena whose chunk
// holds its items.
struct Bump {
    chunk: Vec<u64>,
}

struct ArenaIter {
    at: *const u64,
    end: *const u64,
}

impl Iterator for ArenaIter {
    type Item = u64;
    fn next(&mut self) -> Option<u64> {
        if self.at == self.end {
            return None;
        }
        let value = unsafe { *self.at };
        self.at = unsafe { self.at.add(1) };
        Some(value)
    }
}

fn bump(fixed: bool) {
    let arena = Bump { chunk: (1..=64).collect() };
    let range = arena.chunk.as_ptr_range();
    let iter = ArenaIter { at: range.start, end: range.end };
    let kept;
    if fixed {
        kept = iter.take(2).fold(0u64, u64::wrapping_add);
        drop(arena);
    } else {
        drop(arena);
        kept = iter.take(2).fold(0u64, u64::wrapping_add);
    }
    std::hint::black_box(kept);
    println!("summed");
}

// RUSTSEC-2020-0145 (heapless): cloning a partly consumed `IntoIter` clones the items already
// moved out (their buffers freed) as well.
struct InlineIter {
    items: [std::mem::MaybeUninit<String>; 3],
    next: usize,
    len: usize,
}

impl Iterator for InlineIter {
    type Item = String;
    fn next(&mut self) -> Option<String> {
        if self.next == self.len {
            return None;
        }
        self.next += 1;
        Some(unsafe { self.items[self.next - 1].assume_init_read() })
    }
}

impl InlineIter {
    fn clone_from_start(&self, fixed: bool) -> InlineIter {
        let mut items = [const { std::mem::MaybeUninit::uninit() }; 3];
        let first = if fixed { self.next } else { 0 };
        for i in first..self.len {
            items[i].write(unsafe { self.items[i].assume_init_ref() }.clone());
        }
        InlineIter { items, next: self.next, len: self.len }
    }
}

impl Drop for InlineIter {
    fn drop(&mut self) {
        for i in self.next..self.len {
            unsafe { self.items[i].assume_init_drop() };
        }
    }
}

fn heapless(fixed: bool) {
    let mut iter = InlineIter {
        items: [
            std::mem::MaybeUninit::new(String::from("hello")),
            std::mem::MaybeUninit::new(String::from("world")),
            std::mem::MaybeUninit::new(String::from("again")),
        ],
        next: 0,
        len: 3,
    };
    drop(iter.next());
    let copy = iter.clone_from_start(fixed);
    println!("rest {}", copy.count());
    drop(iter);
}

/// An item whose drop panics the first time when `bomb` (and every time when `again`).
struct Item {
    value: Box<u32>,
    bomb: bool,
    again: bool,
}

static EXPLODED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Drop for Item {
    fn drop(&mut self) {
        if self.bomb && (self.again || !EXPLODED.swap(true, std::sync::atomic::Ordering::Relaxed))
        {
            panic!("drop of item {} panics", self.value);
        }
    }
}

fn items(again: bool) -> Vec<Item> {
    (0..3).map(|i| Item { value: Box::new(i), bomb: i == 1, again }).collect()
}

// RUSTSEC-2026-0122 (rkyv InlineVec::clear), RUSTSEC-2026-0256 (circular-buffer clear),
// RUSTSEC-2026-0255 (sized-chunks): the elements are dropped in place before the length is
// reset, so a drop that panics leaves the dropped ones counted.
struct RawVec {
    ptr: *mut Item,
    len: usize,
    cap: usize,
}

impl RawVec {
    fn from(v: Vec<Item>) -> RawVec {
        let mut v = std::mem::ManuallyDrop::new(v);
        RawVec { ptr: v.as_mut_ptr(), len: v.len(), cap: v.capacity() }
    }
    fn clear(&mut self, fixed: bool) {
        let len = self.len;
        if fixed {
            self.len = 0;
        }
        unsafe { ptr::drop_in_place(ptr::slice_from_raw_parts_mut(self.ptr, len)) };
        self.len = 0;
    }
}

impl Drop for RawVec {
    fn drop(&mut self) {
        unsafe { drop(Vec::from_raw_parts(self.ptr, self.len, self.cap)) };
    }
}

fn clear_panic(fixed: bool) {
    let mut v = RawVec::from(items(false));
    let _ = catch_unwind(AssertUnwindSafe(|| v.clear(fixed)));
    println!("cleared");
}

// The same with an item whose drop panics every time, the vector dropped while the first
// panic unwinds: the second panic aborts the process.
fn clear_abort(fixed: bool) {
    println!("clearing");
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let mut v = RawVec::from(items(true));
        v.clear(fixed);
    }));
    println!("cleared");
}

// RUSTSEC-2021-0047 (slice-deque drain_filter): drained elements are dropped in place and the
// length is written back only at the end, so a predicate that panics leaves them counted.
fn drain_filter(v: &mut Vec<String>, mut pred: impl FnMut(&String) -> bool) {
    let len = v.len();
    let base = v.as_mut_ptr();
    let mut kept = 0;
    for i in 0..len {
        unsafe {
            if pred(&*base.add(i)) {
                drop(ptr::read(base.add(i)));
            } else {
                ptr::copy(base.add(i), base.add(kept), 1);
                kept += 1;
            }
        }
    }
    unsafe { v.set_len(kept) };
}

fn drain(fixed: bool) {
    let mut v: Vec<String> = ["a", "bb", "ccc", "dddd"].iter().map(|s| s.to_string()).collect();
    let pred = |s: &String| {
        if s.len() == 3 {
            panic!("predicate panics");
        }
        s.len() == 1
    };
    let _ = catch_unwind(AssertUnwindSafe(|| {
        if fixed {
            // std's `retain` moves what it has not looked at back on a panic.
            v.retain(|s| !pred(s));
        } else {
            drain_filter(&mut v, pred);
        }
    }));
    println!("left {}", v.len());
}

// RUSTSEC-2020-0100 (sys-info disk_info): a buffer kept in a global is freed by each thread
// that calls the function.
static GLOBAL: std::sync::atomic::AtomicPtr<u8> = std::sync::atomic::AtomicPtr::new(ptr::null_mut());

fn disk_info(fixed: bool) {
    let buffer = if fixed {
        GLOBAL.swap(ptr::null_mut(), std::sync::atomic::Ordering::AcqRel)
    } else {
        GLOBAL.load(std::sync::atomic::Ordering::Acquire)
    };
    if !buffer.is_null() {
        unsafe { free(buffer) };
    }
}

fn threads_free(fixed: bool) {
    GLOBAL.store(unsafe { malloc(48) }, std::sync::atomic::Ordering::Release);
    for _ in 0..2 {
        std::thread::spawn(move || disk_info(fixed)).join().unwrap();
    }
    println!("freed");
}

// RUSTSEC-2020-0121 (abox AtomicBox), RUSTSEC-2020-0137 (lever AtomicBox): a box declared
// `Send` for any `T` is handed to two threads, and each drops it.
struct Shared(*mut String);
unsafe impl Send for Shared {}

fn send_twice(fixed: bool) {
    let raw = Box::into_raw(Box::new(String::from("shared")));
    let threads = if fixed { 1 } else { 2 };
    for _ in 0..threads {
        let shared = Shared(raw);
        std::thread::spawn(move || {
            let shared = shared;
            drop(unsafe { Box::from_raw(shared.0) });
        })
        .join()
        .unwrap();
    }
    println!("dropped");
}

// RUSTSEC-2023-0017 (maligned align_first), RUSTSEC-2024-0435 (fyrox-core
// Vec::from_raw_parts): a buffer is handed back to the allocator with another layout (other
// alignment, other capacity) than it was allocated with.
#[repr(align(64))]
struct Aligned([u8; 64]);

fn layout_mismatch(fixed: bool) {
    let v: Vec<Aligned> = Vec::with_capacity(4);
    let mut v = std::mem::ManuallyDrop::new(v);
    let bytes = if fixed {
        unsafe { Vec::from_raw_parts(v.as_mut_ptr(), 0, 4) };
        Vec::<u8>::with_capacity(256)
    } else {
        unsafe { Vec::from_raw_parts(v.as_mut_ptr() as *mut u8, 0, 200) }
    };
    println!("capacity {}", bytes.capacity() >= 200);
}

// RUSTSEC-2022-0070 (secp256k1), RUSTSEC-2025-0170 (hugepage-rs dealloc): memory the program
// did not get from the allocator, or a pointer inside a block, is freed as a box.
fn box_not_boxed(fixed: bool, on_stack: bool) {
    let v: Vec<u64> = (0..8).collect();
    let mut local = 5u64;
    if fixed {
        println!("value {}", v[2] + local);
        return;
    }
    let p: *mut u64 = if on_stack { &mut local } else { unsafe { (v.as_ptr() as *mut u64).add(2) } };
    println!("value {}", unsafe { *p });
    drop(unsafe { Box::from_raw(p) });
}

// RUSTSEC-2020-0039 (simple-slab index and remove): a bounds check off by one lets an index
// equal to the length through.
fn slab_get(v: &[u64], index: usize, fixed: bool) -> Option<u64> {
    let ok = if fixed { index < v.len() } else { index <= v.len() };
    ok.then(|| unsafe { *v.as_ptr().add(index) })
}

fn slab_read(fixed: bool) {
    let mut v: Vec<u64> = Vec::with_capacity(4);
    v.extend([1, 2, 3, 4]);
    let got = slab_get(&v, 4, fixed);
    println!("got {}", got.is_some());
}

fn slab_set(v: &mut [u64], index: usize, value: u64, fixed: bool) {
    let ok = if fixed { index < v.len() } else { index <= v.len() };
    if ok {
        unsafe { *v.as_mut_ptr().add(index) = value };
    }
}

fn slab_write(fixed: bool) {
    let mut v: Vec<u64> = Vec::with_capacity(4);
    v.extend([1, 2, 3, 4]);
    slab_set(&mut v, 4, 9, fixed);
    println!("sum {}", v.iter().sum::<u64>());
}

// RUSTSEC-2021-0138 (mz-avro), RUSTSEC-2018-0022 (temporary): `set_len` over memory never
// written, then read.
fn set_len_uninit(fixed: bool) {
    let mut v: Vec<u8> = Vec::with_capacity(64);
    if fixed {
        v.resize(64, 0);
    } else {
        unsafe { v.set_len(64) };
    }
    let sum: u32 = std::hint::black_box(&v).iter().map(|&b| b as u32).sum();
    if sum == 12345 {
        println!("odd");
    }
    println!("len {}", v.len());
}

// The brief's own patterns: `mem::forget`, an `Rc` cycle, `CString::from_raw` of a block of
// libc's `malloc`, `libc::free` of a `Box`.
fn forget(fixed: bool) {
    let v = vec![1u32; 10];
    if fixed {
        drop(v);
    } else {
        std::mem::forget(v);
    }
}

struct Cycle {
    other: RefCell<Option<Rc<Cycle>>>,
    payload: [u64; 4],
}

fn rc_cycle(fixed: bool) {
    let a = Rc::new(Cycle { other: RefCell::new(None), payload: [1; 4] });
    let b = Rc::new(Cycle { other: RefCell::new(Some(a.clone())), payload: [2; 4] });
    *a.other.borrow_mut() = Some(b.clone());
    println!("{}", a.payload[0] + b.payload[0]);
    if fixed {
        a.other.borrow_mut().take();
    }
}

fn cstring_malloc() {
    unsafe {
        let p = malloc(6);
        ptr::copy_nonoverlapping(b"hello\0".as_ptr(), p, 6);
        let s = std::ffi::CString::from_raw(p as *mut std::ffi::c_char);
        println!("{}", s.to_str().unwrap());
    }
}

fn free_box() {
    let b = Box::new([3u8; 40]);
    println!("{}", b[0]);
    unsafe { free(Box::into_raw(b) as *mut u8) };
}

// std's runtime: threads, thread-locals with destructors, a caught panic, stdout, args.
thread_local! {
    static NAMES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn runtime() {
    let handles: Vec<_> = (0..3)
        .map(|i| {
            std::thread::spawn(move || {
                NAMES.with(|n| n.borrow_mut().push(format!("thread {i}")));
                NAMES.with(|n| n.borrow().len())
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    NAMES.with(|n| n.borrow_mut().push(String::from("main")));
    let caught = catch_unwind(|| panic!("caught")).is_err();
    println!("{total} {caught} {}", std::env::args().count());
}

// RUSTSEC-2022-0078 again, the arena's chunk a mebibyte (a large block).
fn bump_large(fixed: bool) {
    let arena = Bump { chunk: vec![3u64; 1 << 17] };
    let range = arena.chunk.as_ptr_range();
    let iter = ArenaIter { at: range.start, end: range.end };
    let kept;
    if fixed {
        kept = iter.take(2).fold(0u64, u64::wrapping_add);
        drop(arena);
    } else {
        drop(arena);
        kept = iter.take(2).fold(0u64, u64::wrapping_add);
    }
    std::hint::black_box(kept);
    println!("summed");
}

// RUSTSEC-2020-0017 (internment ArcIntern::drop): another thread drops the last reference
// and frees the value while this one still reads it through a pointer.
fn intern_thread(fixed: bool) {
    let value = std::sync::Arc::new([5u64; 6]);
    let address = &*value as *const [u64; 6] as usize;
    let kept = if fixed { Some(value.clone()) } else { None };
    std::thread::spawn(move || drop(value)).join().unwrap();
    let first = unsafe { (*(address as *const [u64; 6]))[1] };
    std::hint::black_box(first);
    drop(kept);
    println!("read");
}

fn main() {
    // The panic message without a backtrace (whatever RUST_BACKTRACE says).
    std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
    let case = std::env::args().nth(1).unwrap_or_default();
    let (name, fixed) = match case.strip_suffix("_fixed") {
        Some(name) => (name.to_string(), true),
        None => (case.clone(), false),
    };
    match name.as_str() {
        "insert_many" if fixed => insert_many_fixed(),
        "insert_many" => insert_many(),
        "grow" => grow(fixed),
        "overflow" => overflow(fixed),
        "through" => through_panic(fixed),
        "merge" => merge_case(fixed),
        "lru" => lru(fixed),
        "vec_insert" => vec_insert(fixed),
        "bump" => bump(fixed),
        "heapless" => heapless(fixed),
        "clear" => clear_panic(fixed),
        "clear_abort" => clear_abort(fixed),
        "drain" => drain(fixed),
        "threads_free" => threads_free(fixed),
        "send_twice" => send_twice(fixed),
        "layout" => layout_mismatch(fixed),
        "box_interior" => box_not_boxed(fixed, false),
        "box_stack" => box_not_boxed(fixed, true),
        "slab_read" => slab_read(fixed),
        "slab_write" => slab_write(fixed),
        "set_len" => set_len_uninit(fixed),
        "forget" => forget(fixed),
        "rc_cycle" => rc_cycle(fixed),
        "cstring_malloc" => cstring_malloc(),
        "free_box" => free_box(),
        "runtime" => runtime(),
        "bump_large" => bump_large(fixed),
        "intern_thread" => intern_thread(fixed),
        _ => {
            eprintln!("unknown case {case:?}");
            std::process::exit(2);
        }
    }
}
