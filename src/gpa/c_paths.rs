//! The fast paths of C's allocation functions: `malloc`, `calloc`, `free` without a size,
//! `realloc` and `malloc_usable_size`, for a GPA in fast mode without accounting (`plain`).
//!
//! # Design
//! A C `free` carries no layout, so the block's page must be found from the address, and the
//! address validated, before the slot goes back on a free list. One page-map lookup serves
//! both: the page map gives the segment, the segment's header says it is a small segment of
//! this GPA, the unit table gives the page, and one subtraction, compare and multiplication
//! ([`Page::carved_slot`]) say the address starts a carved slot. The same lookup answers
//! `malloc_usable_size` and decides whether `realloc` stays in place. Anything else (a large
//! block, a block of the internal heap, a pointer that is none of ours, any configuration with
//! checks) takes the general paths, which report what they find.
//!
//! The C ABI's GPA is *designated* ([`GeneralPurposeAllocator::designate_c_heap`]): each
//! thread's heap of it sits in one initial-exec TLS slot (`heap::c_heap`), null while the
//! thread has none or is inside an allocator operation. [`c_malloc`] and [`c_free`] start from
//! that one load, with no other test of the configuration: a `malloc` is then a table lookup
//! and a pop from the class's current page; `calloc` skips clearing slots carved from memory
//! that is still zero from the OS ([`Page::pop_zeroed`]).
//!
//! Fast mode's checks of a free stay: the slot is validated (an invalid pointer goes to the
//! general path, which rejects it with a message), and a slot freed twice while still on a
//! free list is caught by the key in its second word (`fast_free`): `malloc` clears that word
//! in the block it hands out, `free` checks and sets it.
//!
//! # Invariants
//! * These paths run only for a `plain` GPA (no safety, no memory limit, no log), so no slot
//!   metadata, accounting or log line can be missed; only a plain GPA can be designated.
//! * They run only while no observer is registered: otherwise every request takes the general
//!   paths, which deliver the events. The fastest paths test no flag for that: `c_free` adds
//!   the observer gate to the address it compares with the thread's remembered segments
//!   (`heap::is_own_c_segment`), `c_malloc` compares the size with limits that are 0 while
//!   an observer is registered ([`observers_changed`]); the other paths ask
//!   `observer::active`.
//! * A slot is pushed on its page's local free list only by the page's owner thread, as
//!   everywhere else; other threads push it on the page's thread-free list (`Page::remote`).

use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use super::heap::{self, Heap};
use super::segment::{Page, Segment, SegmentKind, SEGMENT_SIZE};
use super::size_class::{self, C_LOOKUP_MAX, MAX_SMALL_SIZE};
use super::small::page_needs_attention;
use super::{observer, pagemap, GeneralPurposeAllocator};

/// The alignment of every C block.
const C_ALIGN: usize = 16;

/// The designated GPA (see [`GeneralPurposeAllocator::designate_c_heap`]), for the slow
/// parts of [`c_free`].
static C_GPA: AtomicPtr<GeneralPurposeAllocator> = AtomicPtr::new(core::ptr::null_mut());
/// The designated GPA's free key (`fast_free`), set with the designation.
pub static C_FREE_KEY: AtomicU64 = AtomicU64::new(0);

/// Requests below this size take `c_malloc`'s direct table (`C_LOOKUP_MAX + 1`), while no
/// observer is registered; 0 while one is, so that the size compare is also the observer
/// gate (`observers_changed`).
pub static C_DIRECT_BELOW: AtomicUsize = AtomicUsize::new(C_LOOKUP_MAX + 1);
/// Requests below this size are small blocks [`c_malloc`] serves (`MAX_SMALL_SIZE + 1`),
/// while no observer is registered; 0 while one is.
static C_SMALL_BELOW: AtomicUsize = AtomicUsize::new(MAX_SMALL_SIZE + 1);

/// The observers' gate (`observer::gate`, 1 when none is registered) changed to `gate`:
/// closes or opens [`c_malloc`] (called under the observer registry's lock, so changes come
/// in order). While a registration is being made, a request may still take the fast path, as
/// with any relaxed gate: events that start before the registration returns may be missed.
pub(super) fn observers_changed(gate: usize) {
    let open = gate == 1;
    C_DIRECT_BELOW.store(if open { C_LOOKUP_MAX + 1 } else { 0 }, Ordering::Relaxed);
    C_SMALL_BELOW.store(if open { MAX_SMALL_SIZE + 1 } else { 0 }, Ordering::Relaxed);
}

/// C `malloc` on the designated GPA, fast path: a block of `size` bytes from the calling
/// thread's current page of its class, or null when the general path must serve the request
/// (a large block, no heap yet, inside the allocator, page empty). The class comes from
/// [`size_class::c_small_class_of`], for every small size (bench/c/rptest, 8..16000 bytes: a
/// third of its requests took the general path when only sizes up to 1 KiB were served here).
#[inline(always)]
pub fn c_malloc(size: usize) -> *mut u8 {
    let heap = heap::c_heap();
    if heap.is_null() {
        return core::ptr::null_mut();
    }
    // SAFETY: the C heap slot holds this thread's heap of the designated GPA; its queue heads
    // and direct entries are live pages of that heap (or its empty page).
    unsafe {
        // Also the observer gate: the limits are 0 while an observer is registered.
        if size < C_DIRECT_BELOW.load(Ordering::Relaxed) {
            // The limit is `C_LOOKUP_MAX + 1` or 0 (`observers_changed`).
            core::hint::assert_unchecked(size <= C_LOOKUP_MAX);
            // The page straight from the direct table: no class, no null test (an empty
            // queue's entry is a page with no slot, whose pop fails).
            if super::guarded::due(heap) {
                return core::ptr::null_mut();
            }
            let page = *(*heap).direct.get_unchecked(size.div_ceil(16));
            return pop_page(page, designated);
        }
        if size >= C_SMALL_BELOW.load(Ordering::Relaxed) {
            return core::ptr::null_mut();
        }
        let Some(class) = size_class::c_small_class_of(size) else {
            return core::ptr::null_mut();
        };
        // Sampled guard mode's countdown: one decrement (see `guarded::due`). When it runs
        // out, the general path serves the request (`malloc_sampled`): no call here, so
        // nothing to keep across one.
        if super::guarded::due(heap) {
            return core::ptr::null_mut();
        }
        pop_current(heap, class, designated)
    }
}

/// C `calloc` on the designated GPA, fast path, after the caller's overflow check: `size`
/// zeroed bytes from the calling thread's current page of its class, or null when the general
/// path must serve the request (a large block, no heap yet, inside the allocator, no slot on
/// the page). Slots carved from memory still zero from the OS are not cleared again
/// ([`Page::pop_zeroed`]), as in [`GeneralPurposeAllocator::calloc`].
///
/// Before this path a C `calloc` went through the general entry (`gpa()`, the thread's heap
/// from its heap list, `class_for`): 78 instructions a call besides the clearing, against
/// mimalloc's 37.
#[inline(always)]
pub fn c_calloc(size: usize) -> *mut u8 {
    let heap = heap::c_heap();
    // Also the observer gate: the limit is 0 while an observer is registered.
    if heap.is_null() || size >= C_SMALL_BELOW.load(Ordering::Relaxed) {
        return core::ptr::null_mut();
    }
    let Some(class) = size_class::c_small_class_of(size) else {
        return core::ptr::null_mut();
    };
    // SAFETY: the C heap slot holds this thread's heap of the designated GPA; its queue heads
    // are live pages of that heap.
    unsafe {
        // Sampled guard mode's countdown (see `guarded::due`): when it runs out, the guarded
        // block is made here, since the general path would count down again.
        if super::guarded::due(heap) {
            return calloc_sampled(heap, size);
        }
        let page = (*heap).queues.get_unchecked(class).head;
        if page.is_null() {
            return core::ptr::null_mut();
        }
        let Some((block, zeroed)) =
            (*page).pop_zeroed(|page, block, next| designated().checked_link(page, block, next))
        else {
            return core::ptr::null_mut();
        };
        if !zeroed {
            // At least 16 bytes: the free mark's word too (a C class has 16 bytes or more).
            core::ptr::write_bytes(block.as_ptr(), 0, size.max(16));
        }
        block.as_ptr()
    }
}

/// [`c_calloc`]'s sampled block: a guarded block of `size` zeroed bytes, or null (then the
/// general path serves the request; the countdown is restarted either way).
///
/// # Safety
/// `heap` is the calling thread's heap of the designated GPA, whose countdown just ran out.
#[cold]
#[inline(never)]
unsafe fn calloc_sampled(heap: *mut Heap, size: usize) -> *mut u8 {
    // SAFETY: `size` is a small size, far below `isize::MAX`; 16 is a power of two.
    let layout = unsafe { Layout::from_size_align_unchecked(size, C_ALIGN) };
    // SAFETY: caller contract.
    match unsafe { designated().alloc_sampled_due(heap, layout) } {
        Some(block) => {
            // SAFETY: a fresh block of `size` bytes; a guarded slot keeps its last block's
            // bytes.
            unsafe { core::ptr::write_bytes(block.as_ptr(), 0, size) };
            block.as_ptr()
        }
        None => core::ptr::null_mut(),
    }
}

/// The general path's half of [`c_malloc`]'s sampling: when the calling thread's C heap
/// ran out its countdown (left at 0 by `guarded::due`), a guarded block for `size`, or null
/// (then served as usual). The countdown is restarted either way.
#[inline(always)]
fn malloc_sampled(size: usize) -> *mut u8 {
    let heap = heap::c_heap();
    // SAFETY: the C heap slot holds this thread's heap of the designated GPA, or null.
    if heap.is_null() || unsafe { (*heap).sample_countdown } != 0 {
        return core::ptr::null_mut();
    }
    guarded_malloc(heap, size)
}

#[cold]
#[inline(never)]
fn guarded_malloc(heap: *mut Heap, size: usize) -> *mut u8 {
    let Ok(layout) = Layout::from_size_align(size, C_ALIGN) else {
        return core::ptr::null_mut();
    };
    // SAFETY: `heap` is this thread's heap of the designated GPA (`malloc_sampled`).
    unsafe { designated().alloc_sampled_due(heap, layout) }
        .map_or(core::ptr::null_mut(), NonNull::as_ptr)
}

/// C `free` on the designated GPA, fastest path: true when `memory` was a small block in a
/// segment the calling thread owns and remembers, and is freed; false when
/// [`c_free_validated`] must look at the pointer.
///
/// # Safety
/// As for [`GeneralPurposeAllocator::free_unsized`] in fast mode.
#[inline(always)]
pub unsafe fn c_free(memory: *mut u8) -> bool {
    let address = memory as usize;
    let base = address & !(SEGMENT_SIZE - 1);
    // The observer gate rides on the compare (see `is_own_c_segment`).
    if !heap::is_own_c_segment(base, observer::gate()) {
        return false;
    }
    // A segment of this thread's C heap: no page-map lookup, no header check, no owner check;
    // the slot is still validated.
    let segment = Segment::of(address);
    // SAFETY: remembered segments are live small segments of the designated GPA owned by this
    // thread's heap, and `address` lies in this one.
    unsafe {
        let page = (*segment).page_of_unchecked(address);
        // A carved slot of 16 bytes or more: the second word can hold the free key.
        if !(*page).is_c_slot(address) {
            return false;
        }
        free_own_slot(page, memory);
    }
    true
}

/// Frees a validated slot of a page of the calling thread's C heap ([`c_free`]'s second
/// half): the double-free key is checked and set, the slot pushed on the page's local free
/// list, and the page requeued or released when it needs it.
///
/// # Safety
/// `memory` is a carved slot of 16 bytes or more of `page` ([`Page::is_c_slot`]), a page of
/// a segment the calling thread remembers (`heap::is_own_c_segment`); the caller gives the
/// block up.
#[inline(always)]
unsafe fn free_own_slot(page: *mut Page, memory: *mut u8) {
    // SAFETY: caller contract.
    unsafe {
        let word = memory.add(8).cast::<u64>();
        let key = C_FREE_KEY.load(Ordering::Relaxed);
        if word.read_unaligned() == key {
            free_marked_local(page, memory);
            return;
        }
        word.write_unaligned(key);
        (*page).push(NonNull::new_unchecked(memory));
        // One test of the count just decremented; the heap is read only then.
        if (*page).release_needs_attention() {
            attend_own_page(page);
        }
    }
}

/// C `realloc` on the designated GPA, fastest path, for a non-null `memory` and a non-zero
/// `size`: the block when `memory` is a small block in a segment the calling thread owns and
/// remembers (as for [`c_free`]) and either stays in place (`size` fits its slot and uses at
/// least half of it, as in [`GeneralPurposeAllocator::realloc_plain`]) or moves to a block
/// [`c_malloc`] serves (the contents copied, the old slot freed as by [`c_free`]); null when
/// the general path must serve the request (the block untouched then).
///
/// Before this path a C `realloc` made two page-map lookups (`manages`, then
/// `realloc_plain`) and a `malloc` through the general entry: 251 instructions a call on the
/// C mixed workload, against mimalloc's 132.
///
/// # Safety
/// As for [`c_free`]; `size > 0`.
#[inline(always)]
pub unsafe fn c_realloc(memory: *mut u8, size: usize) -> *mut u8 {
    let address = memory as usize;
    // The observer gate rides on the compare (see `is_own_c_segment`).
    if !heap::is_own_c_segment(address & !(SEGMENT_SIZE - 1), observer::gate()) {
        return core::ptr::null_mut();
    }
    let segment = Segment::of(address);
    // SAFETY: as in `c_free`: a live small segment of the designated GPA owned by this
    // thread's heap, with `address` in it.
    unsafe {
        let page = (*segment).page_of_unchecked(address);
        if !(*page).is_c_slot(address) {
            return core::ptr::null_mut();
        }
        let block_size = (*page).block_size as usize;
        // A slot carrying the free key may be a freed block (`realloc` of a freed block):
        // the general path tells (`realloc_plain`, `fast_freed_slot`) and never answers a
        // freed slot in place, which `malloc` would hand out again. One compare.
        if block_size >= 16
            && memory.add(8).cast::<u64>().read_unaligned() == C_FREE_KEY.load(Ordering::Relaxed)
        {
            return core::ptr::null_mut();
        }
        if size <= block_size && size >= block_size / 2 {
            return memory;
        }
        // Another class than the slot's (so another page): `c_malloc` only pops, so `page`
        // and its segment stay as they are. Null (a large size, an empty page, a sampled
        // block due) leaves the request to the general path, the old block untouched.
        let fresh = c_malloc(size);
        if fresh.is_null() {
            return fresh;
        }
        // Both blocks are live and distinct; the old one is given up (caller contract).
        core::ptr::copy_nonoverlapping(memory, fresh, block_size.min(size));
        free_own_slot(page, memory);
        fresh
    }
}

/// `c_entry`'s exported `malloc`, when the direct-table page's free list is empty or its
/// head's link failed `segment::link_in_unit`: a slot popped (the link checked again, and
/// followed or reported) or carved from `page` (`Page::pop`), else the general path for
/// `size`. The sampled countdown
/// was counted down already (not again here).
///
/// # Safety
/// `page` is the calling thread's C heap's direct-table page for `size` (`size <=
/// C_LOOKUP_MAX`), read just before with no allocator operation in between.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[inline(never)]
pub unsafe extern "C-unwind" fn entry_malloc_carve(size: usize, page: *mut u8) -> *mut u8 {
    // SAFETY: caller contract.
    let block = unsafe { pop_page(page.cast(), designated) };
    if !block.is_null() {
        return block;
    }
    crate::capi::malloc_general(size)
}

/// `c_entry`'s exported `free`, when the validated slot `memory` of `page` carries the free
/// key: `free_marked_local`.
///
/// # Safety
/// As for `free_marked_local`.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[inline(never)]
pub unsafe extern "C-unwind" fn entry_free_marked(memory: *mut u8, page: *mut u8) {
    // SAFETY: caller contract.
    unsafe { free_marked_local(page.cast(), memory) }
}

/// `c_entry`'s exported `free`, when the count of `page` it just decremented went negative:
/// `attend_own_page`.
///
/// # Safety
/// As for `attend_own_page`.
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[inline(never)]
pub unsafe extern "C-unwind" fn entry_attend_own_page(page: *mut u8) {
    // SAFETY: caller contract.
    unsafe { attend_own_page(page.cast()) }
}

/// [`c_free`]'s page that may need attention (out of its queue, or empty): requeued or
/// released by [`page_gained_free`](GeneralPurposeAllocator::page_gained_free) when it does.
///
/// # Safety
/// `page` is a live page of a segment of the calling thread's C heap.
#[cold]
#[inline(never)]
unsafe fn attend_own_page(page: *mut Page) {
    // Page descriptors lie in their segment's header.
    let segment = Segment::of(page as usize);
    // SAFETY: caller contract.
    unsafe {
        let heap = (*segment).heap;
        if page_needs_attention(&*heap, &*page, page) {
            designated().page_gained_free(&mut *heap, page);
        }
    }
}

/// Fast mode's double-free check of a C free (`fast_free`): marks the slot freed with the
/// key in its second word; true when it already carried the key and is confirmed to be free
/// (reported), so the caller must not free it.
///
/// # Safety
/// `address` is a carved slot of `page`, a live page of `segment`, of the designated GPA.
#[inline(always)]
unsafe fn mark_freed(segment: *mut Segment, page: *mut Page, address: usize) -> bool {
    // SAFETY: caller contract.
    unsafe {
        if ((*page).block_size as usize) < 16 {
            return false;
        }
        let word = (address as *mut u8).add(8).cast::<u64>();
        let key = C_FREE_KEY.load(Ordering::Relaxed);
        if word.read_unaligned() == key {
            return confirm_double_free(segment, page, address);
        }
        word.write_unaligned(key);
    }
    false
}

/// The slot carries the free key: let `fast_free` confirm (and report) a double free.
///
/// # Safety
/// As for [`mark_freed`].
#[cold]
#[inline(never)]
unsafe fn confirm_double_free(segment: *mut Segment, page: *mut Page, address: usize) -> bool {
    // SAFETY: caller contract.
    unsafe { designated().fast_double_free(&*segment, &*page, address) }
}

/// A local free of a slot that carries the free key: a double free (reported, the slot left
/// alone) or a slot whose second word happens to hold the key (freed).
///
/// # Safety
/// `memory` is a carved slot of `page`, a live page of a segment of the calling thread's C
/// heap.
#[cold]
#[inline(never)]
unsafe fn free_marked_local(page: *mut Page, memory: *mut u8) {
    let segment = Segment::of(page as usize);
    // SAFETY: caller contract.
    unsafe {
        if !designated().fast_double_free(&*segment, &*page, memory as usize) {
            push_local((*segment).heap, page, memory, designated);
        }
    }
}

/// The designated GPA.
#[inline(always)]
fn designated<'a>() -> &'a GeneralPurposeAllocator {
    // SAFETY: set before any heap of the designated GPA exists, never unset; that GPA lives as
    // long as the process.
    unsafe { &*C_GPA.load(Ordering::Relaxed) }
}

/// C `free` on the designated GPA, after [`c_free`]: the page map and the segment header tell
/// whether `memory` is a small block of the designated GPA (then it is freed, and its segment
/// remembered when this thread owns it), or null (nothing to do); false when the general path
/// must look at the pointer (a large block, a block of the internal heap, not ours, or any
/// pointer while no GPA is designated or an observer is registered).
///
/// # Safety
/// As for [`c_free`].
pub unsafe fn c_free_validated(memory: *mut u8) -> bool {
    // No designated GPA (check and guard mode): nothing here can match, so no page-map
    // lookup (the checked path makes its own).
    let gpa_id = heap::c_heap_gpa();
    if gpa_id == 0 || observer::active() {
        return false;
    }
    // `free(NULL)`, done: no page-map lookup, no general path (bench/c/alloc-test frees its
    // 2^17 slots at the end, half of them null: 69 instructions each on the general path).
    if memory.is_null() {
        return true;
    }
    let Some((segment, page)) = plain_slot(memory as usize, gpa_id) else {
        return false;
    };
    let current = heap::c_heap();
    // SAFETY: a live segment of the designated GPA.
    if !current.is_null() && unsafe { (*segment).heap } == current {
        // SAFETY: as above.
        heap::remember_c_segment(unsafe { (*segment).base() });
    }
    // SAFETY: validated above; caller contract: the block is live and given up.
    unsafe {
        if !mark_freed(segment, page, memory as usize) {
            free_slot(segment, page, memory, current, designated);
        }
    }
    true
}

/// Pops a slot of `page` and clears its free mark; null when the page has none. A forged
/// free-list link is reported through `gpa` (the page's GPA: `GeneralPurposeAllocator::checked_link`).
///
/// # Safety
/// `page` is a page of the calling thread's heap (or that heap's empty page).
#[inline(always)]
unsafe fn pop_page<'a>(
    page: *mut Page,
    gpa: impl FnOnce() -> &'a GeneralPurposeAllocator,
) -> *mut u8 {
    // SAFETY: caller contract.
    let Some(block) =
        (unsafe { (*page).pop(|page, block, next| gpa().checked_link(page, block, next)) })
    else {
        return core::ptr::null_mut();
    };
    // SAFETY: a fresh slot of a C class: 16 bytes or more. The word is the one a free marks a
    // freed slot with (`fast_free`).
    unsafe { block.as_ptr().add(8).cast::<u64>().write_unaligned(0) };
    block.as_ptr()
}

/// Pops a slot of the current page of `class`; null when there is none.
///
/// # Safety
/// `heap` is the calling thread's heap.
#[inline(always)]
unsafe fn pop_current<'a>(
    heap: *mut Heap,
    class: usize,
    gpa: impl FnOnce() -> &'a GeneralPurposeAllocator,
) -> *mut u8 {
    // SAFETY: caller contract; queue heads are live pages of the heap.
    unsafe {
        let page = (*heap).queues.get_unchecked(class).head;
        if page.is_null() {
            return core::ptr::null_mut();
        }
        pop_page(page, gpa)
    }
}

/// The small segment and page of `address` if it starts a carved slot of a small segment of
/// the GPA with id `gpa_id` (plain mode's validation of a pointer: one page-map lookup).
#[inline(always)]
fn plain_slot(address: usize, gpa_id: u64) -> Option<(*mut Segment, *mut Page)> {
    let pagemap::Entry::Small(segment) = pagemap::lookup(address)? else {
        return None;
    };
    // SAFETY: the page map validated the entry: a registered small segment's header for the
    // chunk `address` lies in (a small segment is one chunk); unit 0's descriptor is never a
    // page (its `carved` is 0).
    unsafe {
        let common = &(*segment).common;
        if !common.is(SegmentKind::Small) || common.gpa_id != gpa_id {
            return None;
        }
        let page = (*segment).page_of_unchecked(address);
        (*page).carved_slot(address)?;
        Some((segment, page))
    }
}

/// Puts a validated slot back: on its page's free list when `current` (the calling thread's
/// heap of the GPA, or null) owns the page, else on the page's thread-free list. `gpa` gives
/// the page's GPA for the rare case the page must be requeued or released.
///
/// # Safety
/// `(segment, page)` came from [`plain_slot`] for `memory`, which the caller gives up; `gpa`
/// returns the GPA the page belongs to.
#[inline(always)]
unsafe fn free_slot<'a>(
    segment: *mut Segment,
    page: *mut Page,
    memory: *mut u8,
    current: *mut Heap,
    gpa: impl FnOnce() -> &'a GeneralPurposeAllocator,
) {
    // SAFETY: caller contract: a live slot of a live page of a plain GPA.
    unsafe {
        let owner = (*segment).heap;
        if owner == current {
            push_local(owner, page, memory, gpa);
        } else {
            (*owner).free_remote(page, NonNull::new_unchecked(memory));
        }
    }
}

/// Pushes a slot on its page's local free list; requeues or releases the page when needed.
///
/// # Safety
/// `memory` is a validated, live slot of `page`, a page of `heap`, the calling thread's heap;
/// `gpa` returns their GPA.
#[inline(always)]
unsafe fn push_local<'a>(
    heap: *mut Heap,
    page: *mut Page,
    memory: *mut u8,
    gpa: impl FnOnce() -> &'a GeneralPurposeAllocator,
) {
    // SAFETY: caller contract.
    unsafe {
        (*page).push(NonNull::new_unchecked(memory));
        if page_needs_attention(&*heap, &*page, page) {
            gpa().page_gained_free(&mut *heap, page);
        }
    }
}

impl GeneralPurposeAllocator {
    /// Whether the fast paths of this module apply: no safety, no memory limit, no log.
    #[inline(always)]
    pub(crate) fn is_plain(&self) -> bool {
        self.plain
    }

    /// Makes this GPA the one [`c_malloc`] and [`c_free`] serve (the process's C heap); false
    /// when it has checks (only a plain GPA can be designated). Designate one instance per
    /// process, one that lives as long as the process (the C ABI's `static`).
    pub(crate) fn designate_c_heap(&'static self) -> bool {
        if !self.plain {
            return false;
        }
        C_GPA.store(self as *const Self as *mut Self, Ordering::Release);
        C_FREE_KEY.store(self.free_key(), Ordering::Release);
        heap::designate_c_heap(self.id());
        true
    }

    /// After a general-path allocation on the designated GPA: gives the calling thread's C
    /// heap slot its heap if it has one now (a thread whose heap was made before the
    /// designation, or that just left an allocator operation).
    pub(crate) fn sync_c_heap(&self) {
        if self.plain && heap::c_heap().is_null() && heap::c_heap_gpa() == self.id() {
            heap::set_current_c_heap(heap::cached_outside(self.id()));
        }
    }

    /// C `malloc`: `size` bytes aligned to 16 (a unique block for 0); null when out of memory.
    /// In safety mode this is a plain checked allocation (the C ABI adds its front guards
    /// itself).
    pub(crate) fn malloc(&self, size: usize) -> *mut u8 {
        if self.plain && size <= MAX_SMALL_SIZE && !observer::active() {
            let block = malloc_sampled(size);
            if !block.is_null() {
                return block;
            }
            let heap = heap::cached_outside(self.id.load(Ordering::Relaxed));
            if let (false, Some(class)) = (heap.is_null(), size_class::c_small_class_of(size)) {
                // SAFETY: the cached heap belongs to this thread.
                let block = unsafe { pop_current(heap, class, || self) };
                if !block.is_null() {
                    return block;
                }
            }
        }
        self.malloc_general(size)
    }

    #[inline(never)]
    fn malloc_general(&self, size: usize) -> *mut u8 {
        self.alloc_unsized(size, C_ALIGN)
    }

    /// C `calloc` after its overflow check: `size` zeroed bytes aligned to 16; null when out
    /// of memory. Slots and mappings still zero from the OS are not cleared again.
    pub(crate) fn calloc(&self, size: usize) -> *mut u8 {
        if self.plain && !observer::active() {
            if let Some(class) = size_class::class_for(size, C_ALIGN) {
                let heap = heap::cached_outside(self.id.load(Ordering::Relaxed));
                if !heap.is_null() {
                    // SAFETY: as in `malloc`.
                    unsafe {
                        // Sampled guard mode's countdown (see `guarded::due`); a guarded
                        // slot keeps its last block's bytes.
                        if super::guarded::due(heap) {
                            // `size` has a size class: far below `isize::MAX`.
                            let layout = Layout::from_size_align_unchecked(size, C_ALIGN);
                            if let Some(block) = self.alloc_sampled_due(heap, layout) {
                                core::ptr::write_bytes(block.as_ptr(), 0, size);
                                return block.as_ptr();
                            }
                        }
                        let page = (*heap).queues[class].head;
                        if !page.is_null() {
                            if let Some((block, zeroed)) =
                                (*page).pop_zeroed(|page, block, next| {
                                    self.checked_link(page, block, next)
                                })
                            {
                                if !zeroed {
                                    // At least 16 bytes: the free mark's word too.
                                    core::ptr::write_bytes(block.as_ptr(), 0, size.max(16));
                                }
                                return block.as_ptr();
                            }
                        }
                    }
                }
            } else if let Ok(layout) = Layout::from_size_align(size, C_ALIGN) {
                if !heap::inside_allocator() {
                    return self
                        .alloc_large_zeroed(layout)
                        .map_or(core::ptr::null_mut(), NonNull::as_ptr);
                }
            }
        }
        let block = self.malloc_general(size);
        if !block.is_null() {
            // SAFETY: a fresh block of at least `size` bytes.
            unsafe { core::ptr::write_bytes(block, 0, size) };
        }
        block
    }

    /// `free` of a small block in plain mode: true when done, false when the general path must
    /// look at the pointer (null, large, internal, or not ours).
    ///
    /// # Safety
    /// As for `free_unsized` in fast mode.
    #[inline(always)]
    pub(super) unsafe fn free_plain(&self, memory: *mut u8) -> bool {
        if observer::active() {
            return false;
        }
        let id = self.id.load(Ordering::Relaxed);
        let Some((segment, page)) = plain_slot(memory as usize, id) else {
            return false;
        };
        // SAFETY: validated above; caller contract: the block is live and given up.
        unsafe {
            if !self.fast_double_free(&*segment, &*page, memory as usize) {
                free_slot(segment, page, memory, heap::cached(id), || self);
            }
        }
        true
    }

    /// `malloc_usable_size` of a small block in plain mode.
    #[inline(always)]
    pub(super) fn usable_size_plain(&self, memory: *const u8) -> Option<usize> {
        let (_, page) = plain_slot(memory as usize, self.id.load(Ordering::Relaxed))?;
        // SAFETY: a live page of ours.
        Some(unsafe { (*page).block_size } as usize)
    }

    /// `realloc` of a small block in plain mode: `None` when the general path must handle
    /// the pointer; else the block (null when out of memory, the old block then untouched).
    /// A block stays in place when the new size fits its slot and uses at least half of it.
    ///
    /// # Safety
    /// As for `realloc_unsized` in fast mode.
    pub(super) unsafe fn realloc_plain(&self, memory: *mut u8, new_size: usize) -> Option<*mut u8> {
        if observer::active() {
            return None;
        }
        let id = self.id.load(Ordering::Relaxed);
        let (segment, page) = plain_slot(memory as usize, id)?;
        // SAFETY: a live page of ours.
        let block_size = unsafe { (*page).block_size } as usize;
        // SAFETY: `memory` is a carved slot of `page` (`plain_slot`).
        if unsafe { self.fast_freed_slot(&*segment, &*page, memory as usize) } {
            // `realloc` of a freed block (reported): the program gets a fresh block holding
            // what the slot holds, as glibc's `realloc` of a freed chunk returns one, and the
            // slot stays free. Before, the slot's size was read, `malloc` could hand the same
            // (emptied, re-carved) page's slot out again, and the copy overlapped and the
            // fresh block was freed as the old one: the program held a free block.
            let fresh = self.malloc(new_size);
            if !fresh.is_null() && fresh != memory {
                // SAFETY: `memory` is a slot of a live page (mapped, `block_size` bytes);
                // `fresh` is a live block of `new_size` bytes; `copy` allows any overlap.
                unsafe { core::ptr::copy(memory, fresh, block_size.min(new_size)) };
            }
            return Some(fresh);
        }
        if new_size <= block_size && new_size >= block_size / 2 {
            return Some(memory);
        }
        let fresh = self.malloc(new_size);
        if fresh.is_null() {
            return Some(fresh);
        }
        // SAFETY: both blocks are live and distinct; the old one is given up (validated above,
        // and live: it is not marked freed, or this would be a double free, reported).
        unsafe {
            core::ptr::copy_nonoverlapping(memory, fresh, block_size.min(new_size));
            if !self.fast_double_free(&*segment, &*page, memory as usize) {
                free_slot(segment, page, memory, heap::cached(id), || self);
            }
        }
        Some(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gpa::observer::{observe_all, Observer};
    use crate::trace::TraceId;

    struct Quiet;

    impl Observer for Quiet {
        fn on_alloc(
            &self,
            _: &GeneralPurposeAllocator,
            _: NonNull<u8>,
            _: usize,
            _: usize,
            _: TraceId,
        ) {
        }
        fn on_free(&self, _: &GeneralPurposeAllocator, _: NonNull<u8>, _: usize) {}
        fn on_realloc(
            &self,
            _: &GeneralPurposeAllocator,
            _: NonNull<u8>,
            _: NonNull<u8>,
            _: usize,
            _: usize,
        ) {
        }
    }

    static QUIET: Quiet = Quiet;

    /// The limits as they must be for the observers' gate now (other tests may hold
    /// registrations of their own meanwhile).
    fn limits_follow_the_gate() {
        let open = observer::gate() == 1;
        let limits = (
            C_DIRECT_BELOW.load(Ordering::Relaxed),
            C_SMALL_BELOW.load(Ordering::Relaxed),
        );
        if open {
            assert_eq!(limits, (C_LOOKUP_MAX + 1, MAX_SMALL_SIZE + 1));
        } else {
            assert_eq!(limits, (0, 0));
        }
    }

    /// `realloc_unsized` to a size no `Layout` holds (C `realloc (p, SIZE_MAX)`,
    /// snmalloc's and mimalloc's API tests) fails and keeps the block, small or large, in
    /// fast mode. A large block's request reached `GlobalAlloc::realloc` with such a size:
    /// undefined behaviour, an abort with debug assertions (the test profile).
    #[test]
    fn realloc_to_a_size_beyond_isize_fails_and_keeps_the_block() {
        let mut gpa = GeneralPurposeAllocator::with_config(crate::gpa::Config::fast());
        for size in [64, 1 << 20] {
            let block = gpa.malloc(size);
            assert!(!block.is_null());
            // SAFETY: a live block of `size` bytes.
            unsafe { block.write_bytes(0x5a, size) };
            for new_size in [usize::MAX, isize::MAX as usize, isize::MAX as usize - 8] {
                // SAFETY: a live block of this GPA.
                assert!(unsafe { gpa.realloc_unsized(block, new_size) }.is_null());
            }
            // SAFETY: the block is still live, its bytes as written.
            unsafe {
                assert!((0..size).all(|i| *block.add(i) == 0x5a));
                gpa.free_unsized(block);
            }
        }
        assert_eq!(gpa.deinit(), crate::gpa::Check::Ok);
    }

    #[test]
    fn registering_an_observer_closes_the_malloc_fast_path_and_ending_it_reopens_it() {
        let observation = observe_all(&QUIET, 0).expect("an observer slot is free");
        // Every size now fails both compares of `c_malloc`: the general path serves it.
        assert_eq!(C_DIRECT_BELOW.load(Ordering::Relaxed), 0);
        assert_eq!(C_SMALL_BELOW.load(Ordering::Relaxed), 0);
        limits_follow_the_gate();
        observation.end();
        limits_follow_the_gate();
    }
}
