//! Leak checks and tear-down: `detect_leaks`, `deinit`, and returning every byte to the
//! backing allocator.
//!
//! # Design
//! Live blocks are found from the metadata, not from the user's memory: in safety mode from
//! the slot states, otherwise from each page's carved count minus its free list. Before the
//! scan at `deinit`, remote lists are drained and quarantines flushed (which checks their
//! poison), so that blocks freed by other threads are not mistaken for leaks.
//!
//! # Invariants
//! * `deinit` takes `&mut self`: no other thread can be inside this GPA, so every heap,
//!   including those of running threads that once used it, may be walked and torn down.
//! * `detect_leaks` takes `&self`: it walks only the calling thread's heap and abandoned heaps
//!   (whose owners have exited) plus large blocks, so it never races with an owner thread.

use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use super::heap::{self, Heap};
use super::segment::{Page, Segment, SLOT_FREED, SLOT_LIVE, UNITS};
use super::{internal, lock, Check, GeneralPurposeAllocator, OnError};
use crate::report::{FindingKind, RawFinding};
use crate::trace::TraceId;

/// A `readable` predicate for the walks of [`GeneralPurposeAllocator::for_each_live_block_of`]
/// that lets every redzone be checked (the GPA's own leak checks: a Rust program does not
/// protect its allocator's blocks).
const ANY: fn(usize, usize) -> bool = |_, _| true;

/// Whether [`GeneralPurposeAllocator::for_each_live_block_of`] examines a heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Examine {
    /// Its blocks are left out.
    No,
    /// Its blocks are visited and their redzones checked.
    Yes,
    /// Its blocks are visited, their redzones not checked: the heap of a thread that may have
    /// been halfway through setting a block up (a canary not yet written would look like an
    /// overflow), as the parent's other threads in the child of a threaded `fork`.
    WithoutRedzones,
}

/// A block that is still allocated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveBlock {
    /// Its address.
    pub address: usize,
    /// Its requested size (safety mode and large blocks) or slot size.
    pub size: usize,
    /// Where it was allocated (none without traces).
    pub alloc_trace: TraceId,
    /// The allocating thread's serial number of the block (safety mode's small and large
    /// blocks, `heap::next_serial`: 1 for a thread's first block, then 2, ...; renewed by an
    /// in-place resize under `Config::resize_stack_traces`, the C ABI's `realloc`, as
    /// Valgrind's `realloc` always moves the block); 0 where none is kept (fast
    /// mode, guarded blocks). Only blocks of one thread compare. For a leak scan that takes
    /// lost blocks in allocation order (memcheck's clique leaders) whatever their addresses.
    pub serial: u32,
}

impl GeneralPurposeAllocator {
    /// Reports every block still allocated (address, size, allocation trace), without
    /// freeing anything, and returns how many there are. Blocks in heaps of *other running
    /// threads* are not examined (see `deinit` for the complete check). Left out: std's own
    /// runtime blocks and caches marked with [`crate::testing::mark_cache`] (both need allocation
    /// traces).
    pub fn detect_leaks(&self) -> usize {
        // The scan holds this GPA's locks; anything it allocates (when this GPA is the global
        // allocator) must come from the internal heap.
        let _inside = heap::InsideAllocator::enter();
        let me = heap::current_thread_id();
        let mut leaks = std::vec::Vec::new();
        self.visit_heaps(|heap| {
            // SAFETY: heaps in the list stay allocated while HEAP_GPA_REF is held.
            let heap = unsafe { &*heap };
            let owner = heap.owner_thread.load(Ordering::Acquire);
            if owner == me || owner == 0 {
                // SAFETY: the calling thread owns the heap, or nobody does.
                unsafe { self.live_small_blocks(heap, &ANY, &mut |block| leaks.push(block)) };
            }
        });
        self.live_large_blocks(&ANY, &mut |block| leaks.push(block));
        self.live_guarded_blocks(&ANY, &mut |block| leaks.push(block));
        leaks.retain(|block| !super::caches::left_out(block.alloc_trace, true));
        self.report_leaks(&leaks);
        leaks.len()
    }

    /// Calls `visit` for every live block of the heaps whose owner (kernel thread id, 0 for
    /// heaps of exited threads) `include` accepts, and for every large block (for tools such
    /// as a conservative leak scan). Each block's redzone is checked on the way where
    /// `readable(start, length)` says its bytes may be read (a program may have protected
    /// pages of its own blocks with `mprotect`, and the check must not fault on them), except
    /// in heaps `include` takes as [`Examine::WithoutRedzones`]. `visit` runs while this GPA's locks are held: it must not
    /// free blocks of this GPA, and what it allocates through a GPA that is the global
    /// allocator comes from the internal heap.
    ///
    /// # Safety
    /// Every included heap belongs to the calling thread, to no thread, or to a thread that
    /// cannot run meanwhile (stopped for a leak scan). A stopped thread may have been
    /// interrupted inside this GPA: the walk only follows links that the owner publishes in a
    /// safe order (segments are linked before use and unlinked before release, page metadata
    /// lives in the never-unmapped internal heap), so at worst a block being allocated or
    /// freed at that instant is seen in either state.
    pub(crate) unsafe fn for_each_live_block_of(
        &self,
        include: impl Fn(u64) -> Examine,
        readable: &dyn Fn(usize, usize) -> bool,
        mut visit: impl FnMut(&LiveBlock),
    ) {
        let _inside = heap::InsideAllocator::enter();
        let unreadable: &dyn Fn(usize, usize) -> bool = &|_, _| false;
        self.visit_heaps(|heap| {
            // SAFETY: heaps in the list stay allocated while HEAP_GPA_REF is held.
            let heap = unsafe { &*heap };
            let owner = heap.owner_thread.load(Ordering::Acquire);
            let readable = match include(owner) {
                Examine::No => return,
                Examine::Yes => readable,
                Examine::WithoutRedzones => unreadable,
            };
            // SAFETY: caller contract: nobody mutates the heap meanwhile.
            unsafe { self.live_small_blocks(heap, readable, &mut |block| visit(&block)) };
        });
        self.live_large_blocks(readable, &mut |block| visit(&block));
        self.live_guarded_blocks(readable, &mut |block| visit(&block));
    }

    /// Calls `visit(start, end)` with the block area (every unit but the header's) of each
    /// small segment of the heaps `owned_by` names by their owner's thread id: heaps of
    /// threads that could not be stopped for the exit scan, which still run. Their blocks are
    /// not judged (their metadata may change under the walk), but their memory is scanned as
    /// a root, so a block of another heap held only by one of theirs is not taken for lost.
    ///
    /// Nothing of such a heap is trusted: the heap descriptor stays allocated while this
    /// GPA's heap list is locked, but its owner may link, unlink and unmap segments
    /// meanwhile, so each segment's `heap` and `next` fields are read through `read_word`
    /// (a fault-free read, `None` where the memory is gone), the walk stops at a segment
    /// that is misaligned or no longer this heap's, and after [`Self::MISSED_SEGMENTS_MAX`]
    /// segments (a cycle seen mid-update).
    pub(crate) fn segments_of_running(
        &self,
        owned_by: impl Fn(u64) -> bool,
        read_word: &dyn Fn(usize) -> Option<usize>,
        mut visit: impl FnMut(usize, usize),
    ) {
        use super::segment::{HEADER_OFFSET, SEGMENT_SIZE, UNIT_SIZE};
        let _inside = heap::InsideAllocator::enter();
        self.visit_heaps(|heap| {
            // SAFETY: heaps in the list stay allocated while HEAP_GPA_REF is held; `owner_thread`
            // is atomic.
            let owner = unsafe { (*heap).owner_thread.load(Ordering::Acquire) };
            if owner == 0 || !owned_by(owner) {
                return;
            }
            // SAFETY: the descriptor is allocated (above); its owner may write `segments`
            // meanwhile, so it is read once, volatile, and checked before use.
            let mut segment =
                unsafe { core::ptr::addr_of!((*heap).segments).read_volatile() } as usize;
            let heap_at = core::mem::offset_of!(Segment, heap);
            let next_at = core::mem::offset_of!(Segment, next);
            for _ in 0..Self::MISSED_SEGMENTS_MAX {
                // The header lies `HEADER_OFFSET` into the segment's first unit.
                if segment % SEGMENT_SIZE != HEADER_OFFSET {
                    break;
                }
                if read_word(segment + heap_at) != Some(heap as usize) {
                    break;
                }
                let base = segment - HEADER_OFFSET;
                visit(base + UNIT_SIZE, base + SEGMENT_SIZE);
                match read_word(segment + next_at) {
                    Some(next) => segment = next,
                    None => break,
                }
            }
        });
    }

    /// The most segments [`Self::segments_of_running`] follows in one heap (4 GiB of them).
    const MISSED_SEGMENTS_MAX: usize = 1024;

    /// How many per-thread heaps this GPA has (a diagnostic: heaps of exited threads are
    /// adopted by new threads, so this stays near the peak number of live threads).
    pub fn heap_count(&self) -> usize {
        let mut count = 0;
        self.visit_heaps(|_| count += 1);
        count
    }

    /// Checks for leaks (reporting each leaked block once, with totals; caches marked with
    /// [`crate::testing::mark_cache`] are not leaks), then returns all memory, leaked blocks
    /// included, to the backing allocator. The GPA can be used again afterwards, as a fresh
    /// instance.
    pub fn deinit(&mut self) -> Check {
        let inside = heap::InsideAllocator::enter();
        let mut leaks = std::vec::Vec::new();
        self.visit_heaps(|heap| {
            // SAFETY: `&mut self`: no thread is inside this GPA, so every heap is ours.
            unsafe {
                let heap = &mut *heap;
                self.collect_all_remote(heap);
                if self.config.safety {
                    self.flush_quarantine(heap);
                }
                self.live_small_blocks(heap, &ANY, &mut |block| leaks.push(block));
            }
        });
        self.live_large_blocks(&ANY, &mut |block| leaks.push(block));
        self.live_guarded_blocks(&ANY, &mut |block| leaks.push(block));
        leaks.retain(|block| !super::caches::left_out(block.alloc_trace, false));
        self.report_leaks(&leaks);
        self.release_everything();
        let clean = leaks.is_empty();
        drop(leaks);
        drop(inside);
        if clean {
            Check::Ok
        } else {
            Check::Leak
        }
    }

    /// Returns all memory to the backing allocator without checking for leaks.
    pub fn deinit_without_leak_checks(&mut self) {
        self.release_everything();
    }

    /// Calls `visit` for each heap of this GPA (under the heap-list lock).
    pub(super) fn visit_heaps(&self, mut visit: impl FnMut(*mut Heap)) {
        let heaps = lock(&self.heaps);
        let mut cursor = heaps.head;
        while !cursor.is_null() {
            visit(cursor);
            // SAFETY: heaps in the list stay allocated while HEAP_GPA_REF is held.
            cursor = unsafe { (*cursor).next_in_gpa };
        }
    }

    /// Checks the poison of the freed blocks the calling thread's heap still holds, for the
    /// report before `exec`, which runs no leak scan ([`Self::check_freed_blocks_of_heap`]):
    /// call it after the thread's quarantine was flushed (`flush_thread_quarantine`, which
    /// checks what it takes out). No-op without safety. Other threads' heaps are left to
    /// [`Self::check_freed_blocks_of`].
    pub(crate) fn check_thread_freed_slots(&self, readable: &dyn Fn(usize, usize) -> bool) {
        if !self.config.safety {
            return;
        }
        let heap = super::heap::cached(self.id());
        // SAFETY: the calling thread owns its cached heap (or has none).
        let Some(heap) = (unsafe { heap.as_ref() }) else {
            return;
        };
        // SAFETY: this thread owns the heap, and so its pages.
        unsafe { self.check_freed_blocks_of_heap(heap, readable, true) };
    }

    /// [`Self::check_thread_freed_slots`] for the heaps other than the calling thread's
    /// cached one whose owner (kernel thread id, 0 for a heap whose thread exited) `include`
    /// accepts: before `exec`, blocks other threads freed go with the image too, and Valgrind
    /// reports a write into them as it happens. No-op without safety.
    ///
    /// # Safety
    /// Every included heap belongs to the calling thread, to no thread, or to a thread that
    /// cannot run meanwhile and was not stopped inside this GPA (an operation on its heap
    /// half done: a slot's state changed but its poison not yet written, a ring entry not yet
    /// stored). Slots are read only in the state that says they are poisoned
    /// (`SLOT_QUARANTINED` in a quarantine, `SLOT_REMOTE` on a remote list, `SLOT_FREED`).
    pub(crate) unsafe fn check_freed_blocks_of(
        &self,
        include: impl Fn(u64) -> bool,
        readable: &dyn Fn(usize, usize) -> bool,
    ) {
        // SAFETY: caller contract.
        unsafe { self.check_heaps_freed_blocks(false, include, readable, true) };
    }

    /// The exit scan's part of [`Self::check_freed_blocks_of`]: the blocks held in the
    /// quarantines and remote lists of the heaps `include` accepts, the calling thread's too
    /// (its quarantine flushed before, its remote list not drained); their freed slots are
    /// checked by the walk of live blocks (`for_each_live_block_of`). Without it a write into
    /// a block another thread freed (still in its quarantine, or on the remote list of the
    /// heap that owns the block) was lost at exit as well.
    ///
    /// # Safety
    /// As for [`Self::check_freed_blocks_of`].
    pub(crate) unsafe fn check_held_blocks_of(
        &self,
        include: impl Fn(u64) -> bool,
        readable: &dyn Fn(usize, usize) -> bool,
    ) {
        // SAFETY: caller contract.
        unsafe { self.check_heaps_freed_blocks(true, include, readable, false) };
    }

    /// # Safety
    /// As for [`Self::check_freed_blocks_of`].
    unsafe fn check_heaps_freed_blocks(
        &self,
        with_mine: bool,
        include: impl Fn(u64) -> bool,
        readable: &dyn Fn(usize, usize) -> bool,
        freed_slots: bool,
    ) {
        if !self.config.safety {
            return;
        }
        let _inside = heap::InsideAllocator::enter();
        let mine = super::heap::cached(self.id());
        self.visit_heaps(|heap| {
            // SAFETY: heaps in the list stay allocated while HEAP_GPA_REF is held.
            let owner = unsafe { (*heap).owner_thread.load(Ordering::Acquire) };
            let take = if core::ptr::eq(heap, mine) {
                with_mine
            } else {
                include(owner)
            };
            if take {
                // SAFETY: as above; caller contract.
                unsafe { self.check_freed_blocks_of_heap(&*heap, readable, freed_slots) };
            }
        });
    }

    /// Checks the poison of every freed block `heap` holds (without `freed_slots`, only those
    /// in its quarantine and on its remote list), where `readable` says its slot may be read: those in its quarantine (read in place, not taken out: the ring stays as it
    /// was, should the `exec` fail and the owner run on; slots whose interior pages the
    /// quarantine keeps inaccessible, `quarpages`, are left out: a write there faults and is
    /// reported at the access), those other threads freed that wait on its remote list (past
    /// the list's link), and its freed slots that no allocation took since they left the
    /// quarantine (`check_freed_slot`, as the exit scan does; the eviction from the
    /// quarantine reads no poison, an allocation taking the slot does,
    /// `small::check_reused_slot`). Without this, a write after free made while the block
    /// was held, or since, would go with the image.
    ///
    /// # Safety
    /// The caller may read and repair the heap's owner-only state: it owns the heap, nobody
    /// does, or its owner cannot run meanwhile (see [`Self::check_freed_blocks_of`]).
    unsafe fn check_freed_blocks_of_heap(
        &self,
        heap: &Heap,
        readable: &dyn Fn(usize, usize) -> bool,
        freed_slots: bool,
    ) {
        use super::segment::{FreeBlock, SLOT_QUARANTINED, SLOT_REMOTE};
        let quarantine = &heap.quarantine;
        if quarantine.capacity.is_power_of_two() && !quarantine.ring.is_null() {
            for position in 0..quarantine.len.min(quarantine.capacity) {
                let entry = quarantine.entry_at(position);
                if entry & super::quarpages::PROTECTED != 0 {
                    continue;
                }
                let address = entry & !1;
                if let Some((page, index)) = self.slot_in_state(heap, address, SLOT_QUARANTINED) {
                    if readable(address, page.block_size as usize) {
                        // SAFETY: a quarantined slot (its state says it was poisoned before
                        // it entered the ring) of a heap nobody changes (caller contract).
                        unsafe {
                            self.check_held_block(page, index, super::small::link_skip(entry))
                        };
                    }
                }
            }
        }
        // The remote list: each link must name a remote slot of this heap before it is
        // followed (a write after free may have overwritten one), and the walk is bounded (a
        // cycle so forged ends).
        let mut link = heap.remote.load(Ordering::Acquire) as usize;
        for _ in 0..Self::REMOTE_WALK_MAX {
            if link == 0 {
                break;
            }
            let Some((page, index)) = self.slot_in_state(heap, link, SLOT_REMOTE) else {
                break;
            };
            if !readable(link, page.block_size as usize) {
                break;
            }
            // SAFETY: a slot on the remote list, poisoned before it was pushed, of a heap
            // nobody changes (caller contract); its first word is the list's link.
            unsafe {
                self.check_held_block(page, index, core::mem::size_of::<FreeBlock>());
                link = (*(link as *const FreeBlock)).next as usize;
            }
        }
        if !freed_slots {
            return;
        }
        // SAFETY: caller contract.
        unsafe {
            heap_pages(heap, |_, page| {
                if page.meta.is_null() {
                    return;
                }
                for index in 0..(page.carved as usize).min(page.capacity as usize) {
                    self.check_freed_slot_if_readable(page, index, readable);
                }
            });
        }
    }

    /// The most links [`Self::check_freed_blocks_of_heap`] follows on one remote list.
    const REMOTE_WALK_MAX: usize = 1 << 20;

    /// # Safety
    /// The caller may read the heap's owner-only state (it owns the heap, or has `&mut` GPA).
    unsafe fn live_small_blocks(
        &self,
        heap: &Heap,
        readable: &dyn Fn(usize, usize) -> bool,
        visit: &mut dyn FnMut(LiveBlock),
    ) {
        let mut live = std::vec::Vec::new();
        // SAFETY: caller contract.
        unsafe {
            heap_pages(heap, |segment, page| {
                self.live_in_page(segment, page, &mut live, readable, visit);
            });
        }
    }

    /// Checks the poison of slot `index` of `page` (`check_freed_slot`) when the slot is
    /// freed (`SLOT_FREED`: out of the quarantine, not taken again) and `readable`.
    ///
    /// # Safety
    /// `page` is a page with slot metadata of a heap whose owner-only state the caller may
    /// read and repair (it owns the heap, or nobody does), `index` one of its carved slots.
    unsafe fn check_freed_slot_if_readable(
        &self,
        page: &Page,
        index: usize,
        readable: &dyn Fn(usize, usize) -> bool,
    ) -> bool {
        // SAFETY: safety mode keeps metadata for every carved slot (caller contract).
        let meta = unsafe { page.meta(index) };
        if meta.state.load(Ordering::Acquire) != SLOT_FREED {
            return false;
        }
        if readable(page.slot_address(index), page.block_size as usize) {
            // SAFETY: a carved, freed, readable slot of a page the caller may read and
            // repair.
            unsafe { self.check_freed_slot(page, index) };
        }
        true
    }

    /// Visits the live blocks of a page, checking each one's redzone (safety mode).
    fn live_in_page(
        &self,
        segment: &Segment,
        page: &Page,
        live: &mut std::vec::Vec<bool>,
        readable: &dyn Fn(usize, usize) -> bool,
        visit: &mut dyn FnMut(LiveBlock),
    ) {
        let block_size = page.block_size as usize;
        if page.meta.is_null() && self.config.safety {
            return; // a page being set up by a thread stopped for a scan: no block yet
        }
        if page.meta.is_null() {
            live.clear();
            live.resize(page.capacity as usize, false);
            page.live_slots(live);
            for (index, _) in live.iter().enumerate().filter(|(_, &is_live)| is_live) {
                visit(LiveBlock {
                    address: page.slot_address(index),
                    size: block_size,
                    alloc_trace: TraceId::NONE,
                    serial: 0,
                });
            }
            return;
        }
        for index in 0..page.carved as usize {
            // A block freed long ago (out of the quarantine, not reused): its poison, where
            // the caller may read the heap's pages.
            // SAFETY: a carved slot of a live page with metadata; the caller may read and
            // repair the heap's owner-only state (function contract).
            if unsafe { self.check_freed_slot_if_readable(page, index, readable) } {
                continue;
            }
            // SAFETY: safety mode keeps metadata for every slot.
            let meta = unsafe { page.meta(index) };
            let state = meta.state.load(Ordering::Acquire);
            if state != SLOT_LIVE {
                continue;
            }
            let address = page.slot_address(index);
            let size = meta.requested.load(Ordering::Relaxed) as usize;
            let alloc_trace = TraceId(meta.alloc_trace.load(Ordering::Relaxed));
            // The caller may read the heap's pages (it owns the heap, or nobody does), unless
            // the program protected them.
            // (Its slot: a range past the slot may end past the segment's mapping.)
            if readable(address, block_size) {
                self.check_small_redzone::<false>(segment, page, index, address, size, true, true);
            }
            visit(LiveBlock {
                address,
                size,
                alloc_trace,
                serial: meta.serial(),
            });
        }
        // The page's never-carved part, after every live block's own check (which repairs
        // what it reports, so nothing is reported twice).
        let carved = (page.carved as usize).min(page.capacity as usize);
        let tail = page.slot_address(carved);
        let page_end = page.end();
        if page.zeroed_tail && carved != 0 && tail < page_end && readable(tail, page_end - tail) {
            // SAFETY: the caller may read and repair the page (it owns the heap, or nobody
            // does), and its tail is readable.
            unsafe { self.check_never_carved(page, carved, tail, page_end) };
        }
    }

    fn live_large_blocks(
        &self,
        readable: &dyn Fn(usize, usize) -> bool,
        visit: &mut dyn FnMut(LiveBlock),
    ) {
        let large = lock(&self.large);
        for header in large.iter() {
            // SAFETY: members of the live list are valid headers.
            let block = unsafe { &*header };
            // A block being freed (its state changed, not yet out of the list; a thread the
            // exit-time scan stopped may be there) is no longer the program's: its tag and
            // layout are gone, and judging its front guard or redzone by them gave false
            // underflows of `operator new` blocks (exit_scan_churn_large.c, "new").
            if block.state.load(Ordering::Acquire) != SLOT_LIVE {
                continue;
            }
            // Overflows of large blocks that are never freed (where the program left the
            // redzone readable).
            let redzone = block.data() + block.requested;
            if readable(redzone, block.capacity() - block.requested) {
                self.check_large_redzone(block, true);
            }
            visit(LiveBlock {
                address: block.data(),
                size: block.requested,
                alloc_trace: TraceId(block.alloc_trace.load(Ordering::Relaxed)),
                serial: block.serial.load(Ordering::Relaxed),
            });
        }
    }

    fn report_leaks(&self, leaks: &[LiveBlock]) {
        let mut slot_sizes = false;
        for block in leaks {
            let mut finding = RawFinding::new(FindingKind::Leak, block.address);
            finding.size = block.size;
            finding.alloc_trace = block.alloc_trace;
            // Fast mode keeps requested sizes for large and guarded blocks only.
            finding.size_is_slot = !self.config.safety
                && matches!(
                    super::pagemap::lookup(block.address),
                    Some(super::pagemap::Entry::Small(_))
                );
            slot_sizes |= finding.size_is_slot;
            self.record(finding);
        }
        if !leaks.is_empty() && self.config.on_error != OnError::Record {
            let bytes: usize = leaks.iter().map(|block| block.size).sum();
            let slots = if slot_sizes {
                " (slot sizes: fast mode keeps no requested sizes)"
            } else {
                ""
            };
            let line = format!(
                "error(gpa): {} leaked block(s), {bytes} byte(s) in total{slots}\n",
                leaks.len()
            );
            crate::os::write_stderr(line.as_bytes());
        }
    }

    /// Returns every segment, large block and retained header to the backing allocator and
    /// detaches all heaps; the GPA then behaves as a fresh instance.
    pub(super) fn release_everything(&mut self) {
        let head = core::mem::replace(&mut lock(&self.heaps).head, core::ptr::null_mut());
        let mut cursor = head;
        while !cursor.is_null() {
            // SAFETY: `&mut self`: the heaps are ours to tear down; the descriptor itself
            // is released by reference count (its thread may still hold it).
            unsafe {
                let heap = &mut *cursor;
                let next = heap.next_in_gpa;
                self.release_heap_memory(heap);
                heap::release_ref(cursor, heap::HEAP_GPA_REF);
                cursor = next;
            }
        }
        let mut large = lock(&self.large);
        while !large.head.is_null() {
            let header = large.head;
            // SAFETY: live large blocks of this GPA; with `&mut self` nobody uses them.
            unsafe {
                large.remove(header);
                self.release_large(header);
            }
        }
        drop(large);
        self.flush_retained_metadata();
        self.flush_large_cache();
        // SAFETY: `&mut self`: nobody uses this GPA's guarded blocks any more.
        unsafe { self.guarded.release() };
        self.requested_bytes.store(0, Ordering::Relaxed);
        super::observer::forget_instance(self.id.load(Ordering::Relaxed));
        self.id.store(0, Ordering::Relaxed);
    }

    /// # Safety
    /// Nobody uses the heap's blocks any more.
    unsafe fn release_heap_memory(&self, heap: &mut Heap) {
        heap.quarantine.len = 0;
        heap.quarantine.bytes = 0;
        heap.remote.store(core::ptr::null_mut(), Ordering::Relaxed);
        heap.remote_pages
            .store(core::ptr::null_mut(), Ordering::Relaxed);
        heap.clear_queues();
        let mut segment = core::mem::replace(&mut heap.segments, core::ptr::null_mut());
        while !segment.is_null() {
            // SAFETY: caller contract; page metadata came from the internal heap.
            unsafe {
                let next = (*segment).next;
                // The pages' metadata is freed before the segment is released: remembered
                // lookups of the pages (`c_checked::FreeLookup`) go stale first.
                let _change = super::segment::page_layout_changes(segment as usize);
                for unit in 1..UNITS {
                    let page = &mut (*segment).pages[unit];
                    if page.units != 0 && !page.meta.is_null() {
                        internal::free(NonNull::new_unchecked(page.meta.cast()));
                        page.meta = core::ptr::null_mut();
                    }
                }
                self.release_segment(segment);
                segment = next;
            }
        }
    }
}

/// Calls `visit` with each page of `heap`'s segments that serves a class (`units != 0`), and
/// its segment.
///
/// # Safety
/// The caller may read the heap's owner-only state (it owns the heap, or nobody does).
unsafe fn heap_pages(heap: &Heap, mut visit: impl FnMut(&Segment, &Page)) {
    let mut segment = heap.segments;
    while !segment.is_null() {
        // SAFETY: the heap's segments are live; caller contract for their pages.
        let segment_ref = unsafe { &*segment };
        for unit in 1..UNITS {
            let page = &segment_ref.pages[unit];
            if page.units != 0 {
                visit(segment_ref, page);
            }
        }
        segment = segment_ref.next;
    }
}
