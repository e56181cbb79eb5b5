//! The internal heap: memory for the allocator's own needs while it must not use itself.
//!
//! # Design
//! When a GPA is the process's global allocator, some work it does allocates: symbolizing a
//! trace for a report, `pthread_getattr_np` for the main thread's stack bounds, the C library
//! registering a thread-exit hook. Those requests arrive back at the GPA while it is busy; the
//! re-entrancy flag (`heap::InsideAllocator`) sends them here instead. This heap is small and
//! simple on purpose: one lock, power-of-two classes with a 16-byte header before each block,
//! all inside one address range reserved once, so that ownership is a range check and the GPA
//! can route a later free of such a block back here from any thread.
//!
//! A crash report (the fault handler, `capi::exit`) must not wait for this heap's lock: the
//! interrupted thread may hold it. [`enter_emergency`] switches every later request to a
//! lock-free bump allocator over the last [`EMERGENCY_SIZE`] bytes of the region, whose
//! blocks are never freed (the process is about to end), and makes frees no-ops.
//!
//! # Invariants
//! * Every block lies in `[REGION_START, REGION_START + REGION_SIZE)` and is preceded by a
//!   [`Header`] holding its class (or its byte length for big blocks) and [`MAGIC`].
//! * Free lists hold only blocks of their class, linked through their first word.

use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::lock::{Guard, Lock};
use crate::os;

const REGION_SIZE: usize = 1 << 32;
/// Bytes at the end of the region kept for emergency allocations (crash reports).
pub const EMERGENCY_SIZE: usize = 256 << 20;
const HEADER: usize = 16;
const MAGIC: usize = 0x6770_615f_696e_7472; // "gpa_intr"
const CLASS_COUNT: usize = 13; // 16 B ..= 64 KiB
const BIG: usize = usize::MAX;

#[repr(C)]
struct Header {
    class_or_len: usize,
    magic: usize,
}

struct State {
    bump: usize,
    free: [usize; CLASS_COUNT],
    /// Freed big blocks: (address of header, total length), reused first-fit.
    big_free: [(usize, usize); 64],
}

static REGION_START: AtomicUsize = AtomicUsize::new(0);
static EMERGENCY: AtomicBool = AtomicBool::new(false);
static EMERGENCY_BUMP: AtomicUsize = AtomicUsize::new(REGION_SIZE - EMERGENCY_SIZE);

/// From now on, allocate without the lock from the emergency reserve and never free (see the
/// module documentation). For a crash report, whose process ends afterwards.
pub fn enter_emergency() {
    EMERGENCY.store(true, Ordering::Release);
}

fn emergency_alloc(start: usize, size: usize, align: usize) -> Option<NonNull<u8>> {
    let align = align.max(16);
    let total = size.checked_add(HEADER + align)?.next_multiple_of(16);
    let offset = EMERGENCY_BUMP.fetch_add(total, Ordering::AcqRel);
    if offset.checked_add(total)? > REGION_SIZE {
        return None;
    }
    let header = start + offset;
    let user = (header + HEADER).next_multiple_of(align);
    // SAFETY: `[header, header + total)` was reserved for this call alone by the bump above,
    // inside the mapped region; the header fits before `user`.
    unsafe {
        (user as *mut Header).sub(1).write(Header {
            class_or_len: BIG - total,
            magic: MAGIC ^ header,
        });
    }
    NonNull::new(user as *mut u8)
}
static STATE: Lock<State> = Lock::new(State {
    bump: 0,
    free: [0; CLASS_COUNT],
    big_free: [(0, 0); 64],
});

fn region() -> Option<usize> {
    let start = REGION_START.load(Ordering::Acquire);
    if start != 0 {
        return Some(start);
    }
    let fresh = os::map(REGION_SIZE)?.as_ptr() as usize;
    match REGION_START.compare_exchange(0, fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => Some(fresh),
        Err(winner) => {
            // SAFETY: `fresh` was mapped just above and never published.
            unsafe { os::unmap(NonNull::new_unchecked(fresh as *mut u8), REGION_SIZE) };
            Some(winner)
        }
    }
}

/// Whether `address` is a block of the internal heap.
#[inline]
pub fn owns(address: usize) -> bool {
    let start = REGION_START.load(Ordering::Relaxed);
    start != 0 && address >= start && address < start + REGION_SIZE
}

fn class_of(total: usize) -> Option<usize> {
    let class = total.max(16).next_power_of_two().trailing_zeros() as usize - 4;
    (class < CLASS_COUNT).then_some(class)
}

fn lock() -> Guard<'static, State> {
    STATE.lock()
}

/// Takes the internal heap's lock for a `fork` (see `GeneralPurposeAllocator::prepare_fork`).
pub fn lock_for_fork() {
    STATE.acquire();
}

/// Releases the lock taken by [`lock_for_fork`].
///
/// # Safety
/// [`lock_for_fork`] was called (in this process or in the parent before `fork`) and the lock
/// was not released since.
pub unsafe fn unlock_after_fork() {
    // SAFETY: caller contract.
    unsafe { STATE.release() };
}

/// Allocates `size` bytes aligned to `align` (any power of two up to a page).
pub fn alloc(size: usize, align: usize) -> Option<NonNull<u8>> {
    if align > os::page_size() {
        return None;
    }
    let start = region()?;
    if EMERGENCY.load(Ordering::Acquire) {
        return emergency_alloc(start, size, align);
    }
    // Room for the header and for moving the block up to `align`.
    let total = size.checked_add(HEADER + align.saturating_sub(HEADER))?;
    let mut state = lock();
    let (header, class_or_len) = match class_of(total) {
        Some(class) => {
            let head = state.free[class];
            let header = if head != 0 {
                // SAFETY: free-list entries are blocks of this heap, linked via first word.
                state.free[class] = unsafe { *(head as *const usize) };
                head
            } else {
                bump(&mut state, start, 16 << class, 16)?
            };
            (header, class)
        }
        None => {
            let len = total.next_multiple_of(os::page_size());
            let reuse = state.big_free.iter().position(|&(_, l)| l >= len);
            let (header, len) = match reuse {
                Some(index) => core::mem::take(&mut state.big_free[index]),
                None => (bump(&mut state, start, len, os::page_size())?, len),
            };
            (header, BIG - len)
        }
    };
    drop(state);
    let user = (header + HEADER).next_multiple_of(align);
    // SAFETY: `user - HEADER >= header`, inside the block we own; headers are 8-aligned.
    unsafe {
        (user as *mut Header).sub(1).write(Header {
            class_or_len,
            magic: MAGIC ^ header,
        });
    }
    NonNull::new(user as *mut u8)
}

fn bump(state: &mut State, start: usize, len: usize, align: usize) -> Option<usize> {
    let offset = state.bump.next_multiple_of(align);
    let end = offset.checked_add(len)?;
    if end > REGION_SIZE - EMERGENCY_SIZE {
        return None;
    }
    state.bump = end;
    Some(start + offset)
}

/// Frees a block of the internal heap.
///
/// # Safety
/// `memory` was returned by [`alloc`] and is not used afterwards.
pub unsafe fn free(memory: NonNull<u8>) {
    if EMERGENCY.load(Ordering::Acquire) {
        return;
    }
    let user = memory.as_ptr() as usize;
    // SAFETY: every block is preceded by its header (module invariant).
    let header = unsafe { (user as *const Header).sub(1).read() };
    let start = header_start(&header);
    debug_assert!(owns(start), "internal heap: bad free");
    let mut state = lock();
    if header.class_or_len < CLASS_COUNT {
        // SAFETY: the block is ours and at least 16 bytes long.
        unsafe { *(start as *mut usize) = state.free[header.class_or_len] };
        state.free[header.class_or_len] = start;
    } else if let Some(slot) = state.big_free.iter_mut().find(|(address, _)| *address == 0) {
        *slot = (start, BIG - header.class_or_len);
    }
    // With all 64 big slots in use the block stays unused: bounded waste, never corruption.
}

/// Where the block behind `header` starts: `alloc` folds it into the magic word.
fn header_start(header: &Header) -> usize {
    header.magic ^ MAGIC
}

/// The usable size of an internal block.
///
/// # Safety
/// `memory` was returned by [`alloc`] and is live.
pub unsafe fn usable_size(memory: NonNull<u8>) -> usize {
    let user = memory.as_ptr() as usize;
    // SAFETY: every block is preceded by its header (module invariant).
    let header = unsafe { (user as *const Header).sub(1).read() };
    let start = header_start(&header);
    let total = if header.class_or_len < CLASS_COUNT {
        16 << header.class_or_len
    } else {
        BIG - header.class_or_len
    };
    start + total - user
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_big_and_aligned_blocks_round_trip() {
        let mut blocks = std::vec::Vec::new();
        for (size, align) in [(1, 1), (24, 8), (100, 64), (5000, 4096), (300_000, 16)] {
            let block = alloc(size, align).expect("internal alloc");
            assert_eq!(block.as_ptr() as usize % align, 0);
            assert!(owns(block.as_ptr() as usize));
            // SAFETY: the block is live.
            assert!(unsafe { usable_size(block) } >= size);
            // SAFETY: writing within the block.
            unsafe { block.as_ptr().write_bytes(0x5a, size) };
            blocks.push(block);
        }
        for block in blocks {
            // SAFETY: each block is live and freed once.
            unsafe { free(block) };
        }
        let again = alloc(24, 8).expect("reuse");
        // SAFETY: live block, freed once.
        unsafe { free(again) };
    }
}
