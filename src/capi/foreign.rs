//! Blocks gpa did not allocate: recognizing blocks of libc's own `malloc` and handing them back
//! to libc.
//!
//! # Design
//! A library loaded with `RTLD_DEEPBIND` looks up symbols in itself and its own dependencies
//! first, so its `malloc` calls bind to libc's allocator, not to the preloaded one. When the
//! program frees (or reallocates) such a block, gpa receives a pointer it never handed out.
//! Before reporting an invalid free, the C entry points ask [`is_libc_block`]: is this the user
//! pointer of an in-use chunk of glibc's allocator? If so the block goes to libc's `free`,
//! `realloc` or `malloc_usable_size` (found with `dlsym(RTLD_NEXT, ...)`), and the exit report
//! counts it in an informational note instead of an error.
//!
//! The check follows glibc's chunk layout (`malloc/malloc.c`): a 16-byte header before the user
//! pointer, `prev_size` then `size` with three flag bits (`PREV_INUSE`, `IS_MMAPPED`,
//! `NON_MAIN_ARENA`), and the next chunk's `PREV_INUSE` bit set while the chunk is in use.
//! A pointer qualifies only when it lies in no memory of any GPA, every word read lies in a
//! readable anonymous mapping (from `/proc/self/maps`, or the main heap `[heap]` up to
//! `sbrk(0)`), and the header is consistent with one of the three places glibc puts chunks:
//! * the main arena, in `[heap]`: sizes within the heap, the next chunk marks this one in use;
//! * an `mmap`ped chunk: `IS_MMAPPED` only, `prev_size` and `size` page-aligned in one mapping;
//! * another arena's heap: `NON_MAIN_ARENA`, the heap (aligned to 64 MiB) starts with a
//!   `heap_info` whose arena pointer and size are plausible, and the next chunk marks it in use.
//!
//! and libc's allocator must hold that much (its `mallinfo2`: `mmap`ped chunks for an
//! `mmap`ped one, bytes in use in its arenas otherwise), so that a chunk header a program
//! forged before memory of its own is not taken for libc's ([`libc_could_hold`]).
//!
//! # Limits
//! * gpa's `dlopen` rebinds a deep-bound library to gpa's functions ([`super::deepbind`]), but
//!   only after its constructors ran, and not one loaded by bare name or in another namespace:
//!   a gpa block freed by such a library goes to libc's `free` directly, which gpa never sees;
//!   glibc then aborts ("free(): invalid pointer").
//! * Blocks of libc's allocator are not checked (overflow, double free: glibc's own checks
//!   apply) and not part of the leak report.
//! * A double free of a libc block passes the check the second time if glibc has not reused
//!   the chunk; glibc's own double-free check then aborts.
//! * Only glibc's allocator is recognized.

use core::sync::atomic::{AtomicUsize, Ordering};

use super::mallinfo::Mallinfo2;
use crate::gpa::{GeneralPurposeAllocator, InsideAllocator};

/// Blocks released to libc so far.
static RELEASED: AtomicUsize = AtomicUsize::new(0);
/// Start of the main heap (`[heap]`), once seen.
static HEAP_START: AtomicUsize = AtomicUsize::new(0);

/// glibc's `HEAP_MAX_SIZE` on 64-bit targets: non-main arena heaps are aligned to it.
const HEAP_MAX_SIZE: usize = 64 << 20;
/// glibc's `MINSIZE` on 64-bit targets.
const MIN_CHUNK: usize = 32;
/// glibc's chunk header size before the user pointer.
const HEADER: usize = 16;
const PREV_INUSE: usize = 1;
const IS_MMAPPED: usize = 2;
const NON_MAIN_ARENA: usize = 4;
const FLAGS: usize = 7;

/// How many blocks of libc's allocator were released through gpa's entry points.
pub fn released_count() -> usize {
    RELEASED.load(Ordering::Relaxed)
}

/// The hook the GPA calls for an unknown pointer in C's `free` (fast mode): releases a libc
/// block. Safe for any pointer: only one checked to be a libc block is released.
#[allow(clippy::not_unsafe_ptr_arg_deref)]
pub fn release_hook(memory: *mut u8) -> bool {
    // SAFETY: checked to be a libc block.
    is_libc_block(memory) && unsafe { free(memory) }
}

#[derive(Clone, Copy, Debug)]
struct Mapping {
    start: usize,
    end: usize,
    readable: bool,
    anonymous: bool,
}

/// The mapping holding `address`, from `/proc/self/maps`.
fn mapping_of(address: usize) -> Option<Mapping> {
    let _inside = InsideAllocator::enter();
    let maps = std::fs::read(crate::os::proc_file("maps")).ok()?;
    let mut found = None;
    for line in maps.split(|&byte| byte == b'\n') {
        let text = core::str::from_utf8(line).unwrap_or("");
        let mut fields = text.split_ascii_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        if text.ends_with("[heap]") {
            HEAP_START.store(start, Ordering::Relaxed);
        }
        if address < start || address >= end {
            continue;
        }
        let inode = fields.nth(2).unwrap_or("1");
        let name = fields.next().unwrap_or("");
        found = Some(Mapping {
            start,
            end,
            readable: perms.starts_with('r'),
            anonymous: inode == "0" && (name.is_empty() || name == "[heap]"),
        });
    }
    found
}

/// The main heap's bounds `[start, sbrk(0))`, once its start is known.
fn main_heap() -> Option<(usize, usize)> {
    let start = HEAP_START.load(Ordering::Relaxed);
    if start == 0 {
        return None;
    }
    // SAFETY: `sbrk(0)` only reports the current program break.
    let end = unsafe { libc::sbrk(0) } as usize;
    (end != usize::MAX && end > start).then_some((start, end))
}

/// Reads a word of a region checked to be readable.
///
/// # Safety
/// `[address, address + 8)` is readable.
unsafe fn word(address: usize) -> usize {
    // SAFETY: caller contract.
    unsafe { (address as *const usize).read_unaligned() }
}

/// Whether `memory` is the user pointer of an in-use chunk of glibc's allocator (see the
/// module docs).
pub fn is_libc_block(memory: *mut u8) -> bool {
    let user = memory as usize;
    if user < HEADER || user % 16 != 0 || GeneralPurposeAllocator::manages(user) {
        return false;
    }
    let chunk = user - HEADER;
    let (start, end) = match main_heap() {
        Some((start, end)) if chunk >= start && user <= end => (start, end),
        _ => match mapping_of(chunk) {
            Some(mapping) if mapping.readable && mapping.anonymous => (mapping.start, mapping.end),
            _ => return false,
        },
    };
    if user > end {
        return false;
    }
    // SAFETY: `[chunk, user)` lies in the readable region `[start, end)`.
    let field = unsafe { word(chunk + 8) };
    let size = field & !FLAGS;
    if size < MIN_CHUNK || size % 16 != 0 {
        return false;
    }
    let shaped = match field & (IS_MMAPPED | NON_MAIN_ARENA) {
        0 => next_marks_in_use(chunk, size, start, end),
        IS_MMAPPED if field & PREV_INUSE == 0 => {
            // SAFETY: as above.
            let offset = unsafe { word(chunk) };
            let page = crate::os::page_size();
            let Some(first) = chunk.checked_sub(offset) else {
                return false;
            };
            first % page == 0
                && first >= start
                && (offset + size) % page == 0
                && chunk.checked_add(size).is_some_and(|last| last <= end)
        }
        NON_MAIN_ARENA => {
            let heap = chunk & !(HEAP_MAX_SIZE - 1);
            if heap < start || heap + 24 > end {
                return false;
            }
            // SAFETY: `[heap, heap + 24)` lies in the readable region.
            let (arena, heap_size) = unsafe { (word(heap), word(heap + 16)) };
            let arena_offset = arena & (HEAP_MAX_SIZE - 1);
            arena % 16 == 0
                && (16..=96).contains(&arena_offset)
                && heap_size <= HEAP_MAX_SIZE
                && heap.checked_add(heap_size).is_some_and(|top| top <= end)
                && next_marks_in_use(chunk, size, start, heap + heap_size)
        }
        _ => false,
    };
    shaped && libc_could_hold(libc_holdings().as_ref(), field & IS_MMAPPED != 0, size)
}

/// libc's own allocator's statistics (its `mallinfo2`), or `None` where it has none.
fn libc_holdings() -> Option<Mallinfo2> {
    let mallinfo2 = real(c"mallinfo2")?;
    // SAFETY: libc's `mallinfo2`: no arguments, its statistics returned by value in the
    // layout of `struct mallinfo2` (`Mallinfo2` is `repr(C)` with the same fields).
    Some(unsafe { core::mem::transmute::<usize, unsafe extern "C" fn() -> Mallinfo2>(mallinfo2)() })
}

/// Whether libc's allocator, whose statistics are `holdings`, can hold an in-use chunk of
/// `size` bytes: an `mmap`ped one (`mmapped`) only while it has `mmap`ped chunks of at least
/// that many bytes, another only while its arenas have that many bytes in use. A program
/// that forges a chunk header before memory of its own (how2heap's house of spirit: on the
/// stack, in a global, in a page it mapped) and frees it passes the header checks above;
/// libc's allocator, which gpa's preloading leaves unused unless a deep-bound library calls
/// it, holds nothing, so the free is reported as invalid rather than handed to libc's `free`
/// (which would take the fake chunk into its bins, or `munmap` the page). Without the
/// statistics (no `mallinfo2`): the header checks alone.
fn libc_could_hold(holdings: Option<&Mallinfo2>, mmapped: bool, size: usize) -> bool {
    match holdings {
        None => true,
        Some(info) if mmapped => info.hblks > 0 && info.hblkhd >= size,
        Some(info) => info.uordblks >= size,
    }
}

/// Whether the chunk after `chunk` lies in `[start, end)` and marks `chunk` in use.
fn next_marks_in_use(chunk: usize, size: usize, start: usize, end: usize) -> bool {
    let Some(next) = chunk.checked_add(size) else {
        return false;
    };
    if chunk < start || next.checked_add(HEADER).is_none_or(|last| last > end) {
        return false;
    }
    // SAFETY: `[next, next + 16)` lies in the readable region `[start, end)`.
    let next_field = unsafe { word(next + 8) };
    next_field & PREV_INUSE != 0
}

/// The definition of C function `name` after this library's in the search order (the C
/// library's), for functions this library also exports.
pub(super) fn real(name: &core::ffi::CStr) -> Option<usize> {
    // SAFETY: `dlsym` with `RTLD_NEXT` and a NUL-terminated name: the definition after this
    // library's in the search order (libc's).
    let address = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) };
    (!address.is_null()).then_some(address as usize)
}

/// Hands a libc block to libc's `free`; whether libc's `free` was found.
///
/// # Safety
/// `memory` is a live block of libc's allocator ([`is_libc_block`]).
pub unsafe fn free(memory: *mut u8) -> bool {
    let Some(free) = real(c"free") else {
        return false;
    };
    // SAFETY: libc's `free`, with one of its blocks.
    unsafe {
        let free = core::mem::transmute::<usize, unsafe extern "C" fn(*mut u8)>(free);
        free(memory);
    }
    RELEASED.fetch_add(1, Ordering::Relaxed);
    true
}

/// libc's `realloc` of a libc block: `None` when libc's `realloc` was not found, else its
/// result (a libc block, or null).
///
/// # Safety
/// As for [`free`].
pub unsafe fn realloc(memory: *mut u8, size: usize) -> Option<*mut u8> {
    let realloc = real(c"realloc")?;
    // SAFETY: libc's `realloc`, with one of its blocks.
    let moved = unsafe {
        let realloc =
            core::mem::transmute::<usize, unsafe extern "C" fn(*mut u8, usize) -> *mut u8>(realloc);
        realloc(memory, size)
    };
    if size == 0 {
        RELEASED.fetch_add(1, Ordering::Relaxed);
    }
    Some(moved)
}

/// libc's `malloc_usable_size` of a libc block (0 if it was not found).
///
/// # Safety
/// As for [`free`].
pub unsafe fn usable_size(memory: *mut u8) -> usize {
    let Some(usable) = real(c"malloc_usable_size") else {
        return 0;
    };
    // SAFETY: libc's `malloc_usable_size`, with one of its blocks.
    unsafe {
        let usable = core::mem::transmute::<usize, unsafe extern "C" fn(*mut u8) -> usize>(usable);
        usable(memory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libc's `malloc` (this test binary does not preload gpa).
    fn libc_malloc(size: usize) -> *mut u8 {
        // SAFETY: plain `malloc`.
        unsafe { libc::malloc(size).cast() }
    }

    #[test]
    fn blocks_of_every_kind_of_glibc_chunk_are_recognized() {
        let small = libc_malloc(64);
        let mapped = libc_malloc(4 << 20);
        let from_thread = std::thread::spawn(|| libc_malloc(48) as usize)
            .join()
            .unwrap() as *mut u8;
        for block in [small, mapped, from_thread] {
            assert!(is_libc_block(block), "{block:p}");
            // Interior pointers are not blocks.
            // SAFETY: 16 bytes into a block of at least 48.
            let inside = unsafe { block.add(16) };
            // SAFETY: the block's first 16 bytes are ours to write.
            unsafe { core::ptr::write_bytes(block, 0, 16) };
            assert!(!is_libc_block(inside), "{inside:p}");
        }
        for block in [small, mapped, from_thread] {
            // SAFETY: libc blocks, freed once.
            assert!(unsafe { free(block) });
        }
        assert!(released_count() >= 3);
    }

    #[test]
    fn a_forged_chunk_is_libc_s_only_while_libc_holds_that_much() {
        let holdings = |hblks, hblkhd, uordblks| Mallinfo2 {
            hblks,
            hblkhd,
            uordblks,
            ..Mallinfo2::default()
        };
        // libc's allocator unused (gpa preloaded, no deep-bound library): nothing is libc's.
        let unused = holdings(0, 0, 0);
        assert!(!libc_could_hold(Some(&unused), true, 4096));
        assert!(!libc_could_hold(Some(&unused), false, 64));
        // One mmapped chunk of 128 KiB: a 4 KiB mmapped chunk may be it, a 1 MiB one not.
        let mapped = holdings(1, 128 << 10, 0);
        assert!(libc_could_hold(Some(&mapped), true, 4096));
        assert!(!libc_could_hold(Some(&mapped), true, 1 << 20));
        assert!(!libc_could_hold(Some(&mapped), false, 64));
        // 1 KiB in use in the arenas.
        let arena = holdings(0, 0, 1024);
        assert!(libc_could_hold(Some(&arena), false, 64));
        assert!(!libc_could_hold(Some(&arena), false, 4096));
        // No statistics: the header checks decide.
        assert!(libc_could_hold(None, true, 1 << 20));
        // This test binary's own libc blocks: libc holds them.
        let block = libc_malloc(64);
        assert!(libc_could_hold(libc_holdings().as_ref(), false, 64));
        // SAFETY: a libc block, freed once.
        unsafe { libc::free(block.cast()) };
    }

    #[test]
    fn other_memory_is_not_taken_for_a_libc_block() {
        // 16-byte aligned, so that the chunk checks themselves reject them.
        #[repr(align(16))]
        struct Words([usize; 8]);
        let on_stack = Words([0x31; 8]);
        static IN_DATA: Words = Words([0x31; 8]);
        let gpa = crate::GeneralPurposeAllocator::with_config(crate::gpa::Config::debug());
        let layout = core::alloc::Layout::from_size_align(64, 16).unwrap();
        let from_gpa = crate::RawAllocator::alloc(&gpa, layout).unwrap();
        for pointer in [
            on_stack.0[4..].as_ptr() as *mut u8,
            IN_DATA.0[4..].as_ptr() as *mut u8,
            from_gpa.as_ptr(),
            core::ptr::null_mut(),
            0x1000 as *mut u8,
            libc_malloc as *const () as *mut u8,
        ] {
            assert!(!is_libc_block(pointer), "{pointer:p}");
        }
        // SAFETY: a block of this GPA with its layout.
        unsafe { crate::RawAllocator::free(&gpa, from_gpa, layout) };
    }
}
