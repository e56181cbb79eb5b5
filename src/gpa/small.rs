//! Small blocks: the hot paths (pop and push on the current page), their slow paths (new
//! pages and segments, collecting cross-thread frees) and their safety-mode twins (slot states,
//! canaries, poison and quarantine).
//!
//! # Invariants
//! * The fast paths are only taken with safety off; every safety-mode operation goes through
//!   the `*_checked` functions, which keep the `SlotMeta` state machine:
//!   `FREE/FREED --alloc--> TAKING --> LIVE --free--> QUARANTINED --evict--> FREED`
//!   (`TAKING` while the allocation's trace and canaries are written, by the owner only).
//! * A slot in `FREED` holds the poison its free wrote, but for the free list's link in its
//!   first word, until it is checked: once, as an allocation takes it
//!   (`check_reused_slot`), as its page is released (`remember_released`) or at exit
//!   (`check_freed_slot`); the eviction from the quarantine does not read it (slots of
//!   `quarpages::MIN_SLOT` bytes and more: as they leave the quarantine, `evict_protected`).
//! * A slot's state moves out of `LIVE` by one compare-and-swap, so two threads freeing the
//!   same block concurrently produce exactly one free and one double-free report.

use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use super::heap::{self, Heap, Room};
use super::safety::Prefix;
use super::segment::{
    is_freed_state, FreeBlock, NoPage, Page, Segment, SlotMeta, REMOTE_QUEUED, SEGMENT_SIZE,
    SLOT_FREE, SLOT_FREED, SLOT_LIVE, SLOT_QUARANTINED, SLOT_REMOTE, SLOT_TAKING, UNIT_SIZE,
};
use super::size_class::{page_units, Class, CLASS_COUNT};
use super::{
    internal, lock, pagemap, quarpages, released, safety, segment, BlockSpan,
    GeneralPurposeAllocator,
};
use crate::report::{FindingKind, RawFinding};
use crate::trace::TraceId;

impl GeneralPurposeAllocator {
    /// The calling thread's heap, created on first use.
    #[inline(always)]
    pub(super) fn current_heap(&self) -> Option<NonNull<Heap>> {
        // The id as it is (`id()` would assign one first): 0, none assigned yet, matches only
        // a thread's empty cache ways, whose heap is null, and `find_or_create` assigns it.
        let heap = heap::cached(self.id.load(Ordering::Relaxed));
        if !heap.is_null() {
            // SAFETY: checked non-null.
            return Some(unsafe { NonNull::new_unchecked(heap) });
        }
        heap::find_or_create(self)
    }

    /// `SAMPLED`: sampled guard mode's fast path, which counts down to the next guarded
    /// request (`guarded::due`, one decrement); fast mode's has no such step.
    #[inline(always)]
    pub(super) fn alloc_small_fast<const SAMPLED: bool>(
        &self,
        class: Class,
        layout: Layout,
    ) -> Option<NonNull<u8>> {
        let heap = heap::cached(self.id.load(Ordering::Relaxed));
        if !heap.is_null() {
            // SAFETY: the cached heap belongs to this thread; its queue heads are live pages;
            // `class_for` returns classes below `CLASS_COUNT`, the queues' length.
            unsafe {
                if SAMPLED && super::guarded::due(heap) {
                    return self.alloc_small_due(heap, class, layout);
                }
                let page = (*heap).queues.get_unchecked(class).head;
                if !page.is_null() {
                    if let Some(block) =
                        (*page).pop(|page, block, next| self.checked_link(page, block, next))
                    {
                        return Some(block);
                    }
                }
            }
        } else if SAMPLED {
            // No heap at hand (the thread's first request, or another GPA's heap cached).
            return self.alloc_small_no_heap(class, layout);
        }
        self.alloc_small_slow(class).map(|(block, _)| block)
    }

    /// Refills: drains remote frees, walks the class queue, or makes a new page.
    #[cold]
    #[inline(never)]
    pub(super) fn alloc_small_slow(&self, class: Class) -> Option<(NonNull<u8>, *mut Page)> {
        let mut heap_ptr = self.current_heap()?;
        // SAFETY: the heap belongs to the calling thread.
        let heap = unsafe { heap_ptr.as_mut() };
        self.drain_remote(heap);
        loop {
            let page = heap.queues[class].head;
            if page.is_null() {
                break;
            }
            // SAFETY: queue members are live pages of this heap.
            if let Some(block) = unsafe { self.pop_checked(&mut *page) } {
                return Some((block, page));
            }
            // Fast mode: the slots other threads freed come back just before they are used.
            let check = |page: &Page, block, next| self.checked_link(page, block, next);
            // SAFETY: as above.
            if !self.config.safety && unsafe { !(*page).mark_full(check) } {
                continue;
            }
            heap.dequeue(page);
        }
        let page = self.new_page(heap, class)?;
        heap.enqueue(page);
        // SAFETY: a fresh page of this heap with at least eight slots.
        unsafe { self.pop_checked(&mut *page) }.map(|block| (block, page))
    }

    /// Pops a slot; in safety mode first validates the free-list link, which a write after
    /// free (after the quarantine) could have overwritten.
    #[inline]
    fn pop_checked(&self, page: &mut Page) -> Option<NonNull<u8>> {
        if self.config.safety {
            return self.pop_validated(page);
        }
        page.pop(|page, block, next| self.checked_link(page, block, next))
    }

    /// [`Self::pop_checked`] in safety mode (the caller knows it is on), without testing it.
    ///
    /// A slot carved now (the free list is empty) was never given out: when the page's
    /// never-carved part reads as zero (`Page::zeroed_tail`), the slot must still be all
    /// zero. A write far past a block before it that landed there, beyond every redzone
    /// check's reach, would otherwise be covered unseen by the front guard and redzone the
    /// allocation writes next (heapfuzz seeds 59 and 1032): it is reported here
    /// ([`Self::report_carved_damage`]). Each slot is read so once in its life, on its
    /// first allocation.
    ///
    /// A slot taken from the free list held a freed block, poisoned at its free and not
    /// checked since it left the quarantine: its poison is checked now
    /// ([`Self::check_reused_slot`]), before the allocation covers it.
    ///
    /// A link found sound (null, or the start of a free carved slot of the page,
    /// [`is_free_slot_start`]) becomes the head at once (`Page::take_head`: `Page::pop`'s test of the same link again, whether it stays in
    /// its unit, cost every checked `malloc` four instructions).
    #[inline(always)]
    fn pop_validated(&self, page: &mut Page) -> Option<NonNull<u8>> {
        let block = page.free;
        if !block.is_null() {
            // SAFETY: the head is a free slot of this page.
            let next = unsafe { (*block).next };
            if next.is_null() || is_free_slot_start(page, next as usize) {
                // SAFETY: `block` is the head, not null; `next` its link, null or a free
                // carved slot's start of this page (tested just above).
                let taken = unsafe { page.take_head(block, next) };
                self.check_reused_slot(page, block as usize);
                return Some(taken);
            }
            self.corrupt_free_list(page);
        }
        page.pop_or_carve(
            |page, block, next| self.checked_link(page, block, next),
            |page, block| {
                if page.zeroed_tail {
                    self.check_carved_slot(page, block);
                }
            },
        )
    }

    /// [`Self::pop_validated`]'s check of the slot at `address` just carved from `page`,
    /// whose never-carved part reads as zero: reports the slot's damage
    /// ([`Self::report_carved_damage`]) when it is not all zero. A slot longer than two
    /// [`CARVE_CHECK_SPAN`]s is read at its ends only, to the end of the OS page it starts in
    /// and from the start of the one it ends in (where the front guard and the redzone go,
    /// and where a far overflow from the block before lands first): a read maps a page never
    /// touched to the kernel's zero page, a page fault, and reading all of a 100,000-byte
    /// slot cost 28 more faults a block (2,000 fresh blocks: 0.08 s to 0.19 s). Out of line,
    /// and cold (though
    /// every carve calls it): inlined, or called on a branch of ordinary weight, the check
    /// made check mode's `malloc` keep one more value on the stack across its trace capture,
    /// two instructions on every call, also those that take a slot from a free list
    /// (bench/c/glibc-simple; `performance.md`, stop 53).
    #[cold]
    #[inline(never)]
    fn check_carved_slot(&self, page: &Page, address: usize) {
        let block_size = page.block_size as usize;
        let end = address + block_size;
        // SAFETY: the slot just carved from the calling thread's page, `block_size` bytes,
        // readable (a page's units are accessible while it serves a class); slots of 16 bytes
        // and more are multiples of 16 bytes from the page's start, which is aligned to its
        // unit (64 KiB), so both ends of a longer slot below are 16-byte aligned multiples of
        // 16 bytes too.
        let clean = unsafe {
            if block_size % 16 != 0 {
                safety::all_bytes_are(address, block_size, 0)
            } else if block_size <= 2 * CARVE_CHECK_SPAN {
                safety::all_zero_aligned(address, block_size)
            } else {
                let head = (address + CARVE_CHECK_SPAN) & !(CARVE_CHECK_SPAN - 1);
                let tail = (end - 1) & !(CARVE_CHECK_SPAN - 1);
                safety::all_zero_aligned(address, head - address)
                    && safety::all_zero_aligned(tail, end - tail)
            }
        };
        if !clean {
            self.report_carved_damage(page, address);
        }
    }

    /// [`Self::pop_validated`]'s check of the slot at `address` just taken from `page`'s free
    /// list: the freed block it held was poisoned whole at its free, and the list's link has
    /// overwritten its first word since; the rest must still be poison. A write into the
    /// block after it left the quarantine (a use long after the free, or a far overflow from
    /// a block before it that landed in the free slot), which the allocation would now cover
    /// unseen, is reported as the freed block's write after free at the first changed byte,
    /// detected at this allocation ([`Self::report_reused_damage`]); the allocation goes on
    /// as usual. The eviction from the quarantine does not read the poison
    /// ([`Self::evict`]): each free slot is read once, here, as its page is released, or at
    /// exit. Slots of [`quarpages::MIN_SLOT`] bytes or more are skipped (past the quarantine
    /// their interior holds old contents: `quarpages` checked its head and tail as it left),
    /// and so are 8-byte slots (all link). The free list of a safety-mode page holds only
    /// slots in `SLOT_FREED` ([`Self::evict`] and [`Self::evict_protected`] push them), the
    /// blocks of other threads' frees too (their remote list's link lay in the same word).
    /// Inlined: most slots of 24 to 136 bytes take `safety::all_bytes_are_short`'s few loads,
    /// on lines the allocation writes next.
    #[inline(always)]
    fn check_reused_slot(&self, page: &Page, address: usize) {
        let block_size = page.block_size as usize;
        let skip = core::mem::size_of::<FreeBlock>();
        if block_size <= skip || block_size >= quarpages::MIN_SLOT {
            return;
        }
        // SAFETY: the slot just taken from the calling thread's page's free list: `block_size`
        // bytes, readable, poisoned at its free (but for the first `skip` bytes, the link),
        // and nobody else's.
        let damage = unsafe { safety::poison_damage_inline_avx2(address, skip, block_size) };
        if let Some(offset) = damage {
            self.report_reused_damage(page, address, offset);
        }
    }

    /// [`Self::check_reused_slot`]'s report: a write after free of the block that slot
    /// `address` of `page` held, at `offset`, detected at this allocation (the slot's
    /// metadata still describes the freed block).
    #[cold]
    #[inline(never)]
    fn report_reused_damage(&self, page: &Page, address: usize, offset: usize) {
        let (index, _) = page.slot_of(address);
        // SAFETY: safety mode keeps metadata for every carved slot; a slot of the free list
        // is carved.
        let meta = unsafe { page.meta(index) };
        self.report_write_after_free(meta, address, offset, page.block_size as usize);
    }

    /// The slow test of a free-list link that failed `segment::link_in_unit` (a link of a
    /// page's local or thread-free list, any mode): `next` when it is null or a carved slot of
    /// `page` (a page of more than one unit, or of 8-byte slots); else the program wrote into
    /// the freed slot `block` after its free (how2heap's `tcache_poisoning`), which is
    /// reported as a write after free into it (glibc: "malloc(): unaligned tcache chunk
    /// detected", and an abort), and null is returned: the rest of the list is dropped, its
    /// slots not reused until the page is released (they count as neither used nor free; the
    /// page's count of used slots stays exact), and nothing outside the page is handed out.
    #[cold]
    #[inline(never)]
    pub(super) fn checked_link(
        &self,
        page: &Page,
        block: *mut FreeBlock,
        next: *mut FreeBlock,
    ) -> *mut FreeBlock {
        let sound = segment::sound_link(page, block, next);
        if sound.is_null() && !next.is_null() {
            self.report_forged_link(page, block as usize);
        }
        sound
    }

    /// [`Self::checked_link`]'s report: the freed slot at `block`, whose first word no longer
    /// links a free slot.
    #[cold]
    #[inline(never)]
    fn report_forged_link(&self, page: &Page, block: usize) {
        let mut finding = RawFinding::new(FindingKind::WriteAfterFree, block);
        finding.offset = Some(0);
        let (index, _) = page.slot_of(block);
        if page.meta.is_null() || index >= page.capacity as usize {
            finding.size = page.block_size as usize;
            finding.size_is_slot = true;
        } else {
            // SAFETY: safety mode has metadata for every slot; `index` is below the capacity.
            let meta = unsafe { page.meta(index) };
            meta.describe_block(&mut finding);
            finding.site_trace = self.trace_here();
        }
        self.record(finding);
    }

    #[cold]
    fn corrupt_free_list(&self, page: &mut Page) {
        let block = page.free as usize;
        let (index, _) = page.slot_of(block);
        let mut finding = RawFinding::new(FindingKind::WriteAfterFree, block);
        // SAFETY: safety mode has metadata for every slot; `index` is a carved slot.
        let meta = unsafe { page.meta(index) };
        meta.describe_block(&mut finding);
        finding.site_trace = self.trace_here();
        // The rest of the list cannot be trusted: drop it (those slots are lost, the heap stays
        // consistent). The head slot stays in use, as if leaked, so it is never handed out.
        let mut lost = 0u32;
        let mut cursor = page.free;
        page.free = core::ptr::null_mut();
        while !cursor.is_null() && is_free_slot_start(page, cursor as usize) && lost < page.capacity
        {
            lost += 1;
            // SAFETY: validated as a slot start of this page.
            cursor = unsafe { (*cursor).next };
        }
        page.set_used(page.used() + lost);
        self.record(finding);
    }

    #[cold]
    fn new_page(&self, heap: &mut Heap, class: Class) -> Option<*mut Page> {
        // Free units still resident anywhere in the heap first (no page faults), then the
        // units of other classes' idle pages, then any.
        for pass in 0..3 {
            let resident_only = pass < 2;
            if pass == 1 {
                // Not again before the pages of the last release came back (their classes
                // claim their units first): a fresh unit instead (`Heap::idle_release_credit`).
                if heap.idle_release_credit != 0 {
                    continue;
                }
                let released = self.release_idle_pages(heap, class);
                if released == 0 {
                    continue;
                }
                heap.idle_release_credit = released + 1;
            }
            let mut segment = heap.segments;
            while !segment.is_null() {
                // SAFETY: the heap's segments are live and owned by this thread.
                let dirty_before = unsafe { (*segment).dirty_units };
                // SAFETY: as above.
                if let Some(page) = unsafe { (*segment).claim_page(class, resident_only) } {
                    heap.idle_release_credit = heap.idle_release_credit.saturating_sub(1);
                    // Dirty units taken back count as resident memory in use again; the
                    // page's other units (purged, or never used) are faulted in.
                    // SAFETY: as above; a page just claimed.
                    let (dirty, units) = unsafe { ((*segment).dirty_units, (*page).units) };
                    let reused = (dirty_before ^ dirty).count_ones() as usize;
                    heap.dirty_bytes = heap.dirty_bytes.saturating_sub(reused * UNIT_SIZE);
                    heap.refaulted_bytes += (units as usize).saturating_sub(reused) * UNIT_SIZE;
                    return self.prepare_page(page, segment);
                }
                // SAFETY: as above.
                segment = unsafe { (*segment).next };
            }
        }
        if self.take_abandoned_segments(heap) {
            return self.new_page(heap, class);
        }
        let segment = self.new_segment(heap)?;
        // SAFETY: a fresh segment has every page unit free.
        let page = unsafe { (*segment).claim_page(class, false) }?;
        heap.idle_release_credit = heap.idle_release_credit.saturating_sub(1);
        self.prepare_page(page, segment)
    }

    /// Fast mode, before mapping a new segment: takes over the segments of a heap whose
    /// thread exited (abandoned, see `heap`) and that no thread adopted, with their pages,
    /// queues, notified pages and resident free units; the heap itself stays abandoned,
    /// empty, for the next new thread. Returns whether any segment was taken.
    ///
    /// An abandoned heap's memory is otherwise reused only when a new thread starts, and
    /// the frees of its blocks by the threads still running go on its pages' thread-free
    /// lists, which nobody collects meanwhile (mimalloc's threads reclaim abandoned segments
    /// the same way when they need one). bench/c/rptest: when one thread finishes first, the
    /// other runs on with 20-30 MiB of the first one's pages resident and unused.
    #[cold]
    #[inline(never)]
    fn take_abandoned_segments(&self, heap: &mut Heap) -> bool {
        if self.config.safety {
            return false;
        }
        let this: *mut Heap = heap;
        // Under the heap-list lock: no thread adopts the abandoned heap meanwhile (adoption
        // takes the lock), and `usage` does not walk the segment lists (it takes the lock,
        // and `segment_walk`, also held).
        let heaps = lock(&self.heaps);
        let mut cursor = heaps.head;
        while !cursor.is_null() {
            // SAFETY: heaps in the GPA's list stay allocated while HEAP_GPA_REF is held; an
            // abandoned heap's `takeover_waits` changes only under the list lock.
            let candidate = unsafe { &mut *cursor };
            if cursor != this
                && candidate.owner_thread.load(Ordering::Acquire) == 0
                && !candidate.segments.is_null()
            {
                if candidate.takeover_waits >= TAKEOVER_WAITS {
                    break;
                }
                candidate.takeover_waits += 1;
            }
            cursor = candidate.next_in_gpa;
        }
        if cursor.is_null() {
            return false;
        }
        let _walk = lock(&self.segment_walk);
        // SAFETY: an abandoned heap: no thread owns it, and none can adopt it while the list
        // lock is held, so its owner-only state is ours to move.
        let from = unsafe { &mut *cursor };
        // SAFETY: the abandoned heap's segments are live; other threads only read their
        // `heap` field (the owner of a block they free), a word stored atomically here. A
        // free that read the old owner may still put a page on the old heap's notified list:
        // `drain_remote` forwards such a page to its segment's heap.
        unsafe {
            let mut segment = from.segments;
            let mut last = segment;
            while !segment.is_null() {
                core::sync::atomic::AtomicPtr::from_ptr(&mut (*segment).heap)
                    .store(this, Ordering::Release);
                last = segment;
                segment = (*segment).next;
            }
            (*last).next = heap.segments;
        }
        heap.segments = core::mem::replace(&mut from.segments, core::ptr::null_mut());
        for class in 0..CLASS_COUNT {
            let mut page = from.queues[class].head;
            while !page.is_null() {
                // SAFETY: queue members are live pages, now of this heap; the link is read
                // before `enqueue` rewrites it.
                let next = unsafe { (*page).next };
                heap.enqueue(page);
                page = next;
            }
        }
        from.clear_queues();
        let mut page = from.take_remote_pages();
        while !page.is_null() {
            // SAFETY: a notified page (its `REMOTE_QUEUED` flag held by the list it is on),
            // now of this heap; its link is read before it is linked again.
            unsafe {
                let next = (*page).remote_next;
                heap.push_remote_page(page);
                page = next;
            }
        }
        from.takeover_waits = 0;
        heap.dirty_bytes += core::mem::take(&mut from.dirty_bytes);
        from.refaulted_bytes = 0;
        from.dirty_bound = RETAINED_DIRTY_MIN;
        drop(heaps);
        true
    }

    /// Releases the empty pages that head other classes' queues (a page that empties while it
    /// heads its queue stays for the class's next allocation), so that a new page takes their
    /// resident units instead of faulting in clean ones while they sit idle: a program that
    /// moves on to other sizes does not keep a page of every size it used before. Returns
    /// how many were released. Out of line, so that the fast-path section (capi/fast-path.ld)
    /// can name it.
    #[cold]
    #[inline(never)]
    fn release_idle_pages(&self, heap: &mut Heap, except: Class) -> u32 {
        let mut released = 0;
        let units = page_units(except);
        for class in 0..CLASS_COUNT {
            let page = heap.queues[class].head;
            if class == except || page.is_null() || page_units(class) < units {
                continue;
            }
            // SAFETY: queue heads are live pages of this heap, owned by this thread.
            unsafe {
                if (*page).used() != 0
                    || (*page).remote.load(Ordering::Relaxed) & REMOTE_QUEUED != 0
                {
                    continue;
                }
            }
            heap.dequeue(page);
            self.release_page(heap, page);
            released += 1;
        }
        released
    }

    // Out of line (a page refill, not the per-block path), so that the fast-path section
    // (capi/fast-path.ld) names it whatever LTO decides for its two callers.
    #[inline(never)]
    fn prepare_page(&self, page: *mut Page, segment: *mut Segment) -> Option<*mut Page> {
        if !self.config.safety {
            return Some(page);
        }
        // SAFETY: a freshly claimed page of a live segment.
        let capacity = unsafe { (*page).capacity } as usize;
        let bytes = capacity * core::mem::size_of::<SlotMeta>();
        let Some(meta) = internal::alloc_metadata(bytes, 16) else {
            // SAFETY: the page is empty and in no queue.
            unsafe { (*segment).release_page(page) };
            return None;
        };
        // SAFETY: `meta` holds `bytes` bytes; all-zero `SlotMeta`s are `SLOT_FREE`.
        unsafe {
            core::ptr::write_bytes(meta.as_ptr(), 0, bytes);
            (*page).meta = meta.as_ptr().cast();
        }
        Some(page)
    }

    #[cold]
    fn new_segment(&self, heap: &mut Heap) -> Option<*mut Segment> {
        // SAFETY: constant, valid layout.
        let layout = unsafe { Layout::from_size_align_unchecked(SEGMENT_SIZE, SEGMENT_SIZE) };
        let memory = self.config.backing_allocator.alloc(layout)?;
        // SAFETY: fresh, aligned, exclusively ours.
        let segment = unsafe {
            Segment::init(
                memory,
                self.id(),
                self.config.canary,
                heap,
                self.config.backing_allocator_zeroes,
                self.config.safety,
            )
        };
        let registered = segment.is_some() && pagemap::register_small(memory.as_ptr() as usize);
        let Some(segment) = segment.filter(|_| registered) else {
            // SAFETY: never published; a segment that was set up is made accessible again.
            unsafe {
                if let Some(segment) = segment {
                    (*segment).unprotect_all();
                }
                self.config.backing_allocator.free(memory, layout);
            }
            return None;
        };
        if self.config.safety {
            // A stray access to the segment's guards, or to unmapped space next to it, is
            // reported with the nearest block (`fault`).
            super::fault::install_default_hook();
        }
        // SAFETY: the segment is fresh and ours.
        unsafe { (*segment).next = heap.segments };
        heap.segments = segment;
        Some(segment)
    }

    /// Returns a segment to the backing allocator.
    ///
    /// # Safety
    /// The segment has no pages and is unlinked from its heap.
    pub(super) unsafe fn release_segment(&self, segment: *mut Segment) {
        // Not while another thread reads the segment headers (`usage`).
        let _walk = lock(&self.segment_walk);
        // Remembered lookups of the segment's pages go stale, from now until it is gone.
        // SAFETY: caller contract: a live segment header.
        let base = unsafe { (*segment).base() };
        let _change = segment::page_layout_changes(base);
        heap::forget_c_segment(base);
        pagemap::unregister(base, SEGMENT_SIZE);
        // SAFETY: constant, valid layout.
        let layout = unsafe { Layout::from_size_align_unchecked(SEGMENT_SIZE, SEGMENT_SIZE) };
        // SAFETY: caller contract; the segment came from the backing allocator, which may
        // hand its memory to anyone: its guards go first.
        unsafe {
            (*segment).unprotect_all();
            self.config
                .backing_allocator
                .free(NonNull::new_unchecked(base as *mut u8), layout)
        };
    }

    /// Frees a small block of a segment, fast mode.
    ///
    /// # Safety
    /// `memory` is a live small block of this allocator.
    #[inline(always)]
    pub(super) unsafe fn free_small_fast(&self, memory: NonNull<u8>) {
        let segment = Segment::of(memory.as_ptr() as usize);
        // SAFETY: caller contract: the block's segment is live.
        unsafe {
            // `Segment::of` masked the address, so it lies in the segment.
            let page = (*segment).page_of_unchecked(memory.as_ptr() as usize);
            let owner = (*segment).heap;
            if owner == heap::cached(self.id.load(Ordering::Relaxed)) {
                (*page).push(memory);
                if page_needs_attention(&*owner, &*page, page) {
                    self.page_gained_free(&mut *owner, page);
                }
            } else {
                (*owner).free_remote(page, memory);
            }
        }
    }

    /// A page of this thread's heap got a slot back: requeue it, or release it when empty.
    #[cold]
    #[inline(never)]
    pub(super) fn page_gained_free(&self, heap: &mut Heap, page: *mut Page) {
        // SAFETY: a live page of the caller's heap.
        let page_ref = unsafe { &mut *page };
        if !page_ref.in_queue() {
            heap.enqueue(page);
        }
        let queue = heap.queues[page_ref.class as usize];
        if page_ref.used() != 0 || queue.head == page {
            return;
        }
        heap.dequeue(page);
        self.release_page(heap, page);
    }

    fn release_page(&self, heap: &mut Heap, page: *mut Page) {
        let segment = Segment::of(page as usize);
        // From before its metadata is freed until the page is released: remembered lookups
        // of the page go stale.
        let _change = segment::page_layout_changes(segment as usize);
        // SAFETY: an empty page of this heap, out of its queue; its metadata came from the
        // internal heap.
        unsafe {
            let meta = (*page).meta;
            if !meta.is_null() {
                self.remember_released(&*page);
                internal::free(NonNull::new_unchecked(meta.cast()));
                (*page).meta = core::ptr::null_mut();
            }
            heap.dirty_bytes += (*page).units as usize * UNIT_SIZE;
            (*segment).release_page(page);
            if (*segment).is_empty()
                && !(*segment).has_notified_pages()
                && self.other_empty_segments(heap, segment) >= EMPTY_SEGMENTS_KEPT
            {
                let resident = (*segment).dirty_units.count_ones() as usize * UNIT_SIZE;
                heap.dirty_bytes = heap.dirty_bytes.saturating_sub(resident);
                self.unlink_segment(heap, segment);
                self.release_segment(segment);
            }
        }
        self.purge_if_due(heap);
    }

    /// Before an empty page's metadata goes: its freed slots' sizes and traces into the ring
    /// of blocks of released pages (`released`), so that a later double free, interior free
    /// or access of one of them still names the block. First each freed slot's poison is
    /// checked, as an allocation taking the slot would have checked it
    /// ([`Self::check_reused_slot`]): the eviction from the quarantine does not, so a write
    /// into a slot since would otherwise be lost with the page. (Every carved slot of an
    /// empty page is on its free list, `SLOT_FREED`.)
    #[cold]
    #[inline(never)]
    fn remember_released(&self, page: &Page) {
        let mut ring = None;
        for index in 0..page.carved as usize {
            // SAFETY: safety mode's metadata covers every carved slot (the caller checked
            // that the page has metadata).
            let meta = unsafe { page.meta(index) };
            let state = meta.state.load(Ordering::Relaxed);
            if !is_freed_state(state) {
                continue;
            }
            if state == SLOT_FREED {
                self.check_reused_slot(page, page.slot_address(index));
            }
            let block = released::Remembered {
                start: page.slot_address(index),
                size: meta.requested.load(Ordering::Relaxed) as usize,
                align: 1 << meta.align_log2.load(Ordering::Relaxed),
                alloc_trace: TraceId(meta.alloc_trace.load(Ordering::Relaxed)),
                free_trace: TraceId(meta.free_trace.load(Ordering::Relaxed)),
            };
            ring.get_or_insert_with(released::lock)
                .push(self.id(), block, false);
        }
    }

    /// Purges the heap's free units once their resident bytes exceed the heap's bound (units
    /// taken back by new pages no longer count).
    ///
    /// The bound adapts to the program: when new pages of its segments took at least half as
    /// many clean bytes (purged or never used: to be faulted in) since the last purge as this
    /// purge returns, the heap is
    /// churning through memory it keeps giving back and faulting in again, and the bound
    /// doubles (up to [`RETAINED_DIRTY_MAX`]); otherwise it halves (down to
    /// [`RETAINED_DIRTY_MIN`]). A program that frees much at once and goes on smaller keeps a
    /// small footprint; one whose pages come and go by the megabyte stops paying a page fault
    /// per page (bench/c/mstress, 2 threads: a fixed 4 MiB bound purged ~270 MB in ~1,100
    /// `madvise` calls and took 4x glibc's page faults).
    ///
    /// With safety on, the bound may reach [`RETAINED_DIRTY_MAX_CHECKED`], and a purge that
    /// follows the last one with no page taken in between (the same burst of frees) keeps the
    /// bound instead of halving it: a check-mode block is larger than the program's (its
    /// redzone, the C ABI's front guard) and the poison fill writes every byte of it at its
    /// free, so a program that allocates and frees 32 MiB of 64 KiB blocks at a time faulted
    /// in every page of each round again (Dr. Memory's `malloc_tests.cpp`, 128 rounds: 9.1 s in
    /// check mode against Valgrind's 3.7 s; `bench/c`-style loop of 32 rounds: 302,000 page
    /// faults and 2.2 s before, 40,000 and 0.9 s after, Valgrind 1.4 s).
    fn purge_if_due(&self, heap: &mut Heap) {
        if heap.dirty_bytes > heap.dirty_bound {
            let safety = self.config.safety;
            let max = if safety {
                RETAINED_DIRTY_MAX_CHECKED
            } else {
                RETAINED_DIRTY_MAX
            };
            if heap.refaulted_bytes >= heap.dirty_bytes / 2 {
                heap.dirty_bound = (heap.dirty_bound * 2).min(max);
            } else if !safety || heap.refaulted_bytes != 0 {
                heap.dirty_bound = (heap.dirty_bound / 2).max(RETAINED_DIRTY_MIN);
            }
            heap.refaulted_bytes = 0;
            self.purge(heap);
        }
    }

    /// Returns the memory of every free page unit of the heap to the OS.
    #[cold]
    fn purge(&self, heap: &mut Heap) {
        let mut segment = heap.segments;
        while !segment.is_null() {
            // SAFETY: the heap's segments are live and owned by this thread.
            unsafe {
                (*segment).purge_free_units();
                segment = (*segment).next;
            }
        }
        heap.dirty_bytes = 0;
    }

    fn other_empty_segments(&self, heap: &Heap, except: *mut Segment) -> usize {
        let mut segment = heap.segments;
        let mut empty = 0;
        while !segment.is_null() {
            // SAFETY: the heap's segments are live.
            unsafe {
                if segment != except && (*segment).is_empty() {
                    empty += 1;
                }
                segment = (*segment).next;
            }
        }
        empty
    }

    fn unlink_segment(&self, heap: &mut Heap, target: *mut Segment) {
        let mut link: *mut *mut Segment = &mut heap.segments;
        // SAFETY: walking the heap's own segment list.
        unsafe {
            while !(*link).is_null() {
                if *link == target {
                    *link = (*target).next;
                    return;
                }
                link = &mut (**link).next;
            }
        }
    }

    /// Takes the blocks other threads freed and frees them here; requeues the full pages
    /// that other threads freed slots of (their slots are collected when the page is used).
    pub(super) fn drain_remote(&self, heap: &mut Heap) {
        let this: *mut Heap = heap;
        let mut page = heap.take_remote_pages();
        while !page.is_null() {
            // SAFETY: notified pages are pages of this heap, or of a heap that took over this
            // one's segments (`take_abandoned_segments`); a page stays live while it is on
            // the list (`Segment::has_notified_pages`), and its link is read before it leaves.
            unsafe {
                let next = (*page).remote_next;
                let owner = (*Segment::of(page as usize)).heap;
                if owner != this {
                    // Put here by a free that read the segment's owner before it changed.
                    (*owner).push_remote_page(page);
                    page = next;
                    continue;
                }
                let waiting = (*page).leave_notified();
                let check = |page: &Page, block, next| self.checked_link(page, block, next);
                if (*page).units != 0
                    && !(*page).in_queue()
                    && (waiting || !(*page).mark_full(check))
                {
                    (*page).collect_remote(check);
                    self.page_gained_free(heap, page);
                }
                page = next;
            }
        }
        let mut block = heap.take_remote();
        while !block.is_null() {
            // SAFETY: remote entries are blocks of this heap, linked via their first word.
            let mut next = unsafe { (*block).next };
            // A link that is no remote slot of this heap: the program wrote into the freed
            // block after the other thread's free. Reported; the rest of the list is dropped
            // (those slots stay out of use).
            if !next.is_null() && !self.is_remote_slot(this, next as usize) {
                let segment = Segment::of(block as usize);
                // SAFETY: `block` is a slot of a live page of this heap (the list's head, or
                // a link checked here).
                self.report_forged_link(
                    unsafe { &*(*segment).page_of(block as usize) },
                    block as usize,
                );
                next = core::ptr::null_mut();
            }
            // SAFETY: as above.
            let memory = unsafe { NonNull::new_unchecked(block.cast::<u8>()) };
            if self.config.safety {
                let size = self.take_remote_slot(memory.as_ptr() as usize);
                self.quarantine::<true>(heap, memory.as_ptr() as usize | 1, size);
            } else {
                self.push_local(heap, memory);
            }
            block = next;
        }
    }

    /// Collects the thread-free slots of every page of the heap (fast mode), for an exact
    /// count of the live blocks; the caller owns the heap and no other thread frees into it.
    pub(super) fn collect_all_remote(&self, heap: &mut Heap) {
        self.drain_remote(heap);
        let mut segment = heap.segments;
        while !segment.is_null() {
            // SAFETY: the heap's segments are live and owned by the caller.
            unsafe {
                for page in (&mut (*segment).pages)[1..].iter_mut() {
                    if page.units != 0 {
                        page.collect_remote(|page, block, next| {
                            self.checked_link(page, block, next)
                        });
                    }
                }
                segment = (*segment).next;
            }
        }
    }

    fn push_local(&self, heap: &mut Heap, memory: NonNull<u8>) {
        let segment = Segment::of(memory.as_ptr() as usize);
        // SAFETY: a used block of this heap; its segment is live.
        let page = unsafe { (*segment).page_of(memory.as_ptr() as usize) };
        self.push_to_page(heap, page, memory);
    }

    #[inline]
    fn push_to_page(&self, heap: &mut Heap, page: *mut Page, memory: NonNull<u8>) {
        // SAFETY: `memory` is a used slot of `page`, a live page of this heap, that nobody
        // uses any more.
        unsafe {
            (*page).push(memory);
            if page_needs_attention(heap, &*page, page) {
                self.page_gained_free(heap, page);
            }
        }
    }

    // ---- safety mode ----

    /// A safety-mode allocation of a small block: slot state, layout, allocation trace and
    /// redzone. Inlined into its one caller, `alloc_checked` (itself out of the fast paths).
    #[inline(always)]
    pub(super) fn alloc_small_checked(&self, class: Class, layout: Layout) -> Option<NonNull<u8>> {
        self.alloc_small_checked_at::<false>(class, layout, 0, 0, Prefix::NONE)
    }

    /// [`Self::alloc_small_checked`] with the allocation trace taken from `frame` (see
    /// `GeneralPurposeAllocator::trace_at`; 0: from here), the block's tag set to `tag`
    /// (what `set_block_tag` would set right after) and its first bytes filled as `prefix`
    /// says (a front guard the C ABI keeps in the block), all before the slot goes live.
    /// `ENTRY`: called from a C ABI check-mode entry (`c_checked`: a lean configuration,
    /// `frame` from the entry function, see `trace_at`).
    #[inline(always)]
    pub(super) fn alloc_small_checked_at<const ENTRY: bool>(
        &self,
        class: Class,
        layout: Layout,
        frame: usize,
        tag: u8,
        prefix: Prefix,
    ) -> Option<NonNull<u8>> {
        let (block, page) = self.alloc_small_slow_or_fast(class)?;
        // SAFETY: `page` is the live page the block came from.
        let page = unsafe { &mut *page };
        let address = block.as_ptr() as usize;
        let (index, _) = page.slot_of(address);
        // SAFETY: safety mode keeps metadata for every slot.
        let meta = unsafe { page.meta(index) };
        // Only the owner thread writes the state of a slot that is not live, so plain stores
        // suffice (no other thread may free it before we hand it out). The slot is `TAKING`
        // while its trace is captured (the slow part, which may call into libc) and its
        // canaries are written, and `LIVE` only once both are in place: the exit-time scan,
        // which stops threads wherever they are, then never checks a redzone half written
        // (a false overflow or underflow of a block being allocated) nor reads the slot as a
        // freed neighbour's poison.
        // (A slot carved just now was checked for zeros as it was carved: `pop_validated`.)
        debug_assert!(matches!(
            meta.state.load(Ordering::Relaxed),
            SLOT_FREE | SLOT_FREED
        ));
        meta.state.store(SLOT_TAKING, Ordering::Relaxed);
        meta.requested
            .store(layout.size() as u32, Ordering::Relaxed);
        meta.align_log2
            .store(layout.align().trailing_zeros() as u8, Ordering::Relaxed);
        meta.set_tag_clear_mark(tag);
        // The Rust allocation's capture (no entry frame given) with the remembered walk's
        // replay inlined; the C entries' as before.
        let alloc_trace = if !ENTRY && frame == 0 {
            self.trace_here_inline(0)
        } else {
            self.trace_at::<ENTRY>(frame, 0)
        };
        meta.alloc_trace.store(alloc_trace.0, Ordering::Relaxed);
        // A live slot's `free_trace` is its serial: the leak scan's allocation order.
        meta.free_trace
            .store(heap::next_serial(), Ordering::Relaxed);
        // SAFETY: the slot is ours and `block_size` bytes long; `prefix.len <= layout.size()`
        // (`Prefix` contract).
        unsafe {
            // The Rust allocations' long redzones by the AVX2 loop; the C entries keep the
            // code they had.
            let (size, capacity) = (layout.size(), page.block_size as usize);
            if ENTRY {
                write_canary_inline::<false>(address, size, capacity);
            } else {
                write_canary_inline::<true>(address, size, capacity);
            }
            prefix.fill(address);
        }
        meta.state.store(SLOT_LIVE, Ordering::Release);
        Some(block)
    }

    /// Whether `address` is a slot of a page of `heap` (of this GPA) that another thread freed
    /// (safety mode: `SLOT_REMOTE`), so a link of the heap's remote list may lead to it. The
    /// page as the checked C `free` finds it (`remembered_page`: the page this thread
    /// remembers for the address's unit in the current layout generation, else the page map,
    /// the segment header's checks and the page descriptor's, which the remote list's links,
    /// mostly of a few pages at a time, cost each before: xmalloc-test's every block); any
    /// address may be asked.
    pub(super) fn is_remote_slot(&self, heap: *const Heap, address: usize) -> bool {
        let Some(page) = self.remembered_page(address) else {
            return false;
        };
        // SAFETY: a live page of this GPA's small segment (`remembered_page`), whose
        // descriptor lies in its segment's header.
        if !core::ptr::eq(unsafe { (*Segment::of(page as usize)).heap }, heap) {
            return false;
        }
        // SAFETY: as above.
        let page = unsafe { &*page };
        if !page.holds_slot(address) {
            return false;
        }
        let (index, _) = page.slot_of(address);
        // SAFETY: metadata for every slot (live: `remembered_page`); a carved slot's index is
        // below the capacity.
        unsafe { page.meta(index) }.state.load(Ordering::Acquire) == SLOT_REMOTE
    }

    /// A slot taken from the remote list by its owner: it moves to the quarantine. Returns
    /// its size.
    fn take_remote_slot(&self, address: usize) -> usize {
        let segment = Segment::of(address);
        // SAFETY: remote entries are blocks of this heap's live pages.
        let page = unsafe { &*(*segment).page_of(address) };
        let (index, _) = page.slot_of(address);
        // SAFETY: safety mode keeps metadata for every slot.
        unsafe { page.meta(index) }
            .state
            .store(SLOT_QUARANTINED, Ordering::Release);
        page.block_size as usize
    }

    #[inline(always)]
    fn alloc_small_slow_or_fast(&self, class: Class) -> Option<(NonNull<u8>, *mut Page)> {
        // The id as it is, as in `current_heap` (the slow path assigns one).
        let heap = heap::cached(self.id.load(Ordering::Relaxed));
        if !heap.is_null() {
            // SAFETY: the cached heap belongs to this thread.
            unsafe {
                // `class_for` gives classes below `CLASS_COUNT`, the queues' length.
                let page = (*heap).queues.get_unchecked(class).head;
                if !page.is_null() {
                    if let Some(block) = self.pop_validated(&mut *page) {
                        return Some((block, page));
                    }
                }
            }
        }
        self.alloc_small_slow(class)
    }

    /// Frees a small block with every check (safety mode) or validates the address (fast mode
    /// without a layout, as from C).
    ///
    /// # Safety
    /// `segment` is one of this GPA's small segments.
    pub(super) unsafe fn free_small_general(
        &self,
        segment: *mut Segment,
        memory: NonNull<u8>,
        claimed: Option<Layout>,
    ) {
        let address = memory.as_ptr() as usize;
        // SAFETY: caller contract.
        let segment = unsafe { &mut *segment };
        let page = match segment.checked_page_of_inlined(address) {
            Ok(page) => page,
            Err(NoPage::Outside) => return self.invalid_free(address, claimed),
            Err(NoPage::Damaged) => return self.damaged_metadata(address),
        };
        // SAFETY: caller contract; `checked_page_of` found `page`, a live page of `segment`
        // holding `address`.
        unsafe { self.free_small_on_page(segment, page, memory, claimed) }
    }

    /// [`Self::free_small_general`] once the page is found: `page` is what
    /// `segment.checked_page_of(memory)` returned (by the caller, or by a lookup of the same
    /// slot just before: see `GeneralPurposeAllocator::free_located`).
    ///
    /// # Safety
    /// As for [`Self::free_small_general`]; `page` is a live page of `segment` holding
    /// `memory`, as `checked_page_of` found it.
    pub(super) unsafe fn free_small_on_page(
        &self,
        segment: &mut Segment,
        page: *mut Page,
        memory: NonNull<u8>,
        claimed: Option<Layout>,
    ) {
        let address = memory.as_ptr() as usize;
        // SAFETY: caller contract: a live page of this segment.
        let page = unsafe { &mut *page };
        let (index, at_start) = page.slot_of(address);
        if !self.config.safety {
            if !at_start && index < page.carved as usize {
                // Fast mode keeps no requested sizes: the slot's size says which block.
                let mut finding = RawFinding::new(FindingKind::InvalidFree, address);
                finding.size = page.block_size as usize;
                self.record(finding);
                return;
            }
            if !at_start || index >= page.carved as usize {
                self.invalid_free(address, claimed);
                return;
            }
            // SAFETY: a carved slot start of this live page (checked above).
            if claimed.is_none() && unsafe { self.fast_double_free(segment, page, address) } {
                return;
            }
            if let Some(layout) = claimed {
                self.uncharge_if_limited(layout.size());
            }
            // SAFETY: a slot start of this segment; fast mode trusts it is live.
            unsafe { self.free_small_fast(memory) };
            return;
        }
        if page.meta.is_null() || !internal::is_live(page.meta as usize) {
            self.damaged_metadata(address);
            return;
        }
        // SAFETY: safety mode keeps metadata for every slot; `index < capacity`.
        let meta = unsafe { page.meta(index) };
        let state = meta.state.load(Ordering::Acquire);
        if !at_start || index >= page.carved as usize {
            let mut finding = RawFinding::new(FindingKind::InvalidFree, address);
            if state != SLOT_LIVE && !is_freed_state(state) {
                // No block here now: maybe one of a page released since (its units reused).
                if let Some(released) = self.released_block_finding(address) {
                    finding = released;
                }
            } else {
                let start = page.slot_address(index);
                finding.size = meta.requested.load(Ordering::Relaxed) as usize;
                finding.align = 1 << meta.align_log2.load(Ordering::Relaxed);
                finding.offset = Some((address - start) as isize);
                finding.alloc_trace = TraceId(meta.alloc_trace.load(Ordering::Relaxed));
                if state != SLOT_LIVE {
                    finding.free_trace = TraceId(meta.free_trace.load(Ordering::Relaxed));
                }
                finding.block_claim = meta.claim();
            }
            finding.site_trace = self.trace_here();
            self.record(finding);
            return;
        }
        if state == SLOT_LIVE {
            if let Some(layout) = claimed {
                // The block is identified exactly, so after a mismatch freeing it is safe: go on.
                self.check_slot_layout(meta, address, layout);
            }
        }
        // SAFETY: caller contract; the slot and its metadata were validated above.
        unsafe { self.free_small_slot::<false>(segment, page, index, memory, 0) }
    }

    /// The check-mode free of the C ABI, once its block lookup
    /// (`GeneralPurposeAllocator::block_containing_located`, through `small_block_span`)
    /// found the slot: that lookup validated the page, the slot's metadata and the slot
    /// (carved, live or freed), and `memory` is the slot's start, so only the slot's state is
    /// looked at again (a double free still fails its state change and is reported).
    ///
    /// # Safety
    /// `page` is what `small_block_span` returned for an address of `memory`'s slot in the
    /// small segment `segment` of this GPA, `memory` is that slot's start, and nothing ran
    /// since but the caller's checks on the same thread (see `Located`).
    pub(super) unsafe fn free_small_located(
        &self,
        segment: &mut Segment,
        page: *mut Page,
        memory: NonNull<u8>,
    ) {
        // SAFETY: caller contract: a live page of this segment.
        let page = unsafe { &mut *page };
        let (index, _) = page.slot_of(memory.as_ptr() as usize);
        // SAFETY: caller contract: the lookup validated this slot and its metadata.
        unsafe { self.free_small_slot::<false>(segment, page, index, memory, 0) }
    }

    /// The end of a safety-mode free of slot `index`, `memory`, of `page`: changes the slot's
    /// state (a double free is reported), checks the redzone, takes the free trace (from
    /// `frame`, see `GeneralPurposeAllocator::trace_at`; 0: from here), poisons and
    /// quarantines the block.
    ///
    /// # Safety
    /// Safety mode; `page` is a live page of `segment` with metadata, `index` a carved slot
    /// of it and `memory` its start. `ENTRY`: called from a C ABI check-mode entry
    /// (`c_checked`: a lean configuration, so no memory limit to account; `frame` from the
    /// entry function, see `trace_at`).
    #[inline(always)]
    pub(super) unsafe fn free_small_slot<const ENTRY: bool>(
        &self,
        segment: &mut Segment,
        page: &mut Page,
        index: usize,
        memory: NonNull<u8>,
        frame: usize,
    ) {
        // SAFETY: caller contract: safety mode keeps metadata for every slot. The page outlives
        // this call, so its metadata does (`free_small_slot_of` takes `page` apart).
        let meta = unsafe { &*(page.meta(index) as *const SlotMeta) };
        let requested = meta.requested.load(Ordering::Relaxed) as usize;
        // SAFETY: caller contract; `meta` and `requested` are the slot's.
        unsafe {
            self.free_small_slot_of::<ENTRY>(
                segment, page, index, meta, memory, frame, requested, None,
            )
        }
    }

    /// [`Self::free_small_slot`] with the slot's requested size `requested` known to the
    /// caller (the Rust debug free's remembered path has compared it with the claimed layout's
    /// size, a value at hand before the slot's metadata line arrives: the redzone check's
    /// loads, whose address it gives, then need not wait for that line).
    ///
    /// `free_trace`: the free trace when the caller captured it already (the Rust debug free's
    /// remembered path, which captures it before the slot's cold lines arrive); `None`: it is
    /// captured here, after the state change (as the C entries do).
    ///
    /// `meta`: the slot's metadata, which every caller has found already (the C entry's
    /// lookup hands it on: found again here, it cost check mode's C `free` three
    /// instructions).
    ///
    /// # Safety
    /// As for [`Self::free_small_slot`]; `meta` is slot `index`'s metadata and `requested` its
    /// requested size (`meta.requested`).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) unsafe fn free_small_slot_of<const ENTRY: bool>(
        &self,
        segment: &mut Segment,
        page: &mut Page,
        index: usize,
        meta: &SlotMeta,
        memory: NonNull<u8>,
        frame: usize,
        requested: usize,
        free_trace: Option<TraceId>,
    ) {
        let address = memory.as_ptr() as usize;
        let heap = self.current_heap();
        let owner = heap.is_some_and(|heap| core::ptr::eq(heap.as_ptr(), segment.heap));
        let freed = if owner { SLOT_QUARANTINED } else { SLOT_REMOTE };
        if meta
            .state
            .compare_exchange(SLOT_LIVE, freed, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            self.report_bad_state(page, index, address);
            return;
        }
        if !ENTRY {
            self.uncharge_if_limited(requested);
        }
        let block_size = page.block_size as usize;
        // The Rust frees' long redzones by the AVX2 loop; the C entries keep the code they had
        // (the call out of line changed the compiler's code for their whole free: glibc-simple
        // 10 in check mode ran 0.16% more instructions).
        if ENTRY {
            self.check_small_redzone::<false>(
                segment, page, index, address, requested, owner, false,
            );
        } else {
            self.check_small_redzone::<true>(
                segment, page, index, address, requested, owner, false,
            );
        }
        let free_trace = match free_trace {
            Some(id) => id,
            None => self.trace_at::<ENTRY>(frame, 1),
        };
        meta.free_trace.store(free_trace.0, Ordering::Relaxed);
        // Slots filled by a `memset` call (not inline) out of line, where slots of 64 KiB and
        // more going into this thread's quarantine keep their interior pages inaccessible
        // instead (`quarpages`): the entry says which.
        let entry = if (16..=safety::INLINE_POISON_MAX).contains(&block_size) {
            // SAFETY: the slot was live and is now ours to poison.
            unsafe { safety::poison_inline(address, block_size) };
            address
        } else if !ENTRY
            && block_size < quarpages::MIN_SLOT
            // SAFETY: as above.
            && unsafe { safety::poison_avx2(address, block_size) }
        {
            // The Rust frees' larger blocks by the AVX2 loop (not `poison_or_protect`'s
            // `memset` call); the C entries keep the code they had, as for the redzones.
            address
        } else {
            // SAFETY: as above; `heap` is this thread's when `owner`.
            unsafe { self.poison_or_protect(heap, owner, address, block_size) }
        };
        match heap {
            Some(mut heap) if owner => {
                // SAFETY: this thread owns the heap.
                let heap = unsafe { heap.as_mut() };
                if ENTRY {
                    self.quarantine::<false>(heap, entry, block_size)
                } else {
                    self.quarantine::<true>(heap, entry, block_size)
                }
            }
            // SAFETY: the owner heap outlives its segments; the block is given up.
            _ => unsafe { (*segment.heap).push_remote(memory) },
        }
    }

    /// Checks the redzone of the block in slot `index` (live, or being freed by the caller):
    /// its own slot's bytes after `requested`, and, when the calling thread owns the page
    /// (`owner`), the free slots that follow it up to [`redzone_reach`] bytes past its end
    /// (at a free only as far as [`FREE_REACH`]: the next slot's memory is usually not in the
    /// cache, and reading it would cost most frees a miss).
    /// Reports an overflow at the first damaged byte, then rewrites the damaged patterns so
    /// that they are reported once (and not later as damage of a freed neighbour slot).
    /// `at_exit`: found by a walk of live blocks, where the stack says nothing (and capturing
    /// it under the walk's locks is not safe), so no detection trace is taken.
    /// Inlined (into the checked frees: one call fewer on each); the report is not.
    /// `LONG_AVX2`: redzones of more than 128 bytes by `safety::canary_damage_long`'s AVX2
    /// loop (the Rust frees), not `first_difference`'s SSE2 loop (the same answer).
    /// `start` is the slot's start (`page.slot_address(index)`), which every caller has at
    /// hand: computed here again, it cost check mode's C `free` five instructions (a load of
    /// the page's base, a multiply and an add, with a spill).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_small_redzone<const LONG_AVX2: bool>(
        &self,
        segment: &Segment,
        page: &Page,
        index: usize,
        start: usize,
        requested: usize,
        owner: bool,
        at_exit: bool,
    ) -> bool {
        let reach = if at_exit {
            redzone_reach(requested)
        } else {
            redzone_reach(requested).min(FREE_REACH)
        };
        match redzone_scan::<false, LONG_AVX2>(segment, page, index, start, requested, owner, reach)
        {
            None => true,
            Some(offset) => {
                self.report_overflow(
                    segment, page, index, requested, owner, at_exit, reach, offset,
                );
                false
            }
        }
    }

    /// Reports the overflow [`Self::check_small_redzone`] found at `offset` (or, when the
    /// changed byte lies in a freed neighbour slot that still has its free trace, that
    /// block's write after free), then repairs the patterns its scan covers.
    #[cold]
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn report_overflow(
        &self,
        segment: &Segment,
        page: &Page,
        index: usize,
        requested: usize,
        owner: bool,
        at_exit: bool,
        reach: usize,
        offset: usize,
    ) {
        let address = page.slot_address(index);
        let block_size = page.block_size as usize;
        // A changed byte in a freed slot after the block's own lies inside a block the program
        // freed: Valgrind names that block ("Address is 8 bytes inside a block of size 16
        // free'd", for as long as its free list of 20 MB holds it), whether a dangling pointer
        // or a far overflow made the write. Its traces are still in its slot's metadata.
        let neighbour = index + offset / block_size;
        let mut finding = if neighbour != index && neighbour < page.carved as usize {
            // SAFETY: safety mode keeps metadata for every slot; `neighbour` is carved.
            let other = unsafe { page.meta(neighbour) };
            let free_trace = other.free_trace.load(Ordering::Relaxed);
            (other.state.load(Ordering::Acquire) == SLOT_FREED && free_trace != 0).then(|| {
                write_after_free_finding(other, page.slot_address(neighbour), offset % block_size)
            })
        } else {
            None
        }
        .unwrap_or_else(|| {
            // SAFETY: safety mode keeps metadata for every slot.
            overflow_finding(unsafe { page.meta(index) }, address, requested, offset)
        });
        if !at_exit {
            finding.site_trace = self.trace_here();
        }
        self.record(finding);
        // Rewrite the damaged patterns so that the damage is reported once. A write that
        // straddles the scan's reach (2 bytes at 127 and 128 bytes past a 48-byte block, freed
        // with a reach of 128) left its bytes past the reach to a later, longer scan (the exit
        // check of the page's never-carved part), which reported the same write again as a
        // second overflow of the block (heapfuzz seed 220): the repair goes on, 16 bytes at a
        // time, while the damage continues right at its end.
        let mut reach = reach;
        redzone_scan::<true, false>(segment, page, index, address, requested, owner, reach);
        while redzone_scan::<false, false>(
            segment,
            page,
            index,
            address,
            requested,
            owner,
            reach + 16,
        ) == Some(requested + reach)
        {
            reach += 16;
            redzone_scan::<true, false>(segment, page, index, address, requested, owner, reach);
        }
    }

    /// Reports metadata of gpa's that is not what gpa wrote (a stray write of the program
    /// landed on it); the operation on `address` is dropped.
    #[cold]
    pub(super) fn damaged_metadata(&self, address: usize) {
        let mut finding = RawFinding::new(FindingKind::InternalError, address);
        finding.site_trace = self.trace_here();
        self.record(finding);
    }

    /// Whether `claimed` is the layout the live slot was allocated with; reports a layout
    /// mismatch (with the allocation trace) when it is not.
    /// Inlined (into the checked frees); the report is not.
    #[inline(always)]
    fn check_slot_layout(&self, meta: &SlotMeta, address: usize, claimed: Layout) -> bool {
        let requested = meta.requested.load(Ordering::Relaxed) as usize;
        let align = 1usize << meta.align_log2.load(Ordering::Relaxed);
        if claimed.size() == requested && claimed.align() == align {
            return true;
        }
        self.report_layout_mismatch(meta, address, claimed, requested, align);
        false
    }

    /// Reports a free or resize whose layout is not the block's (see
    /// [`Self::check_slot_layout`]).
    #[cold]
    #[inline(never)]
    fn report_layout_mismatch(
        &self,
        meta: &SlotMeta,
        address: usize,
        claimed: Layout,
        requested: usize,
        align: usize,
    ) {
        let mut finding = RawFinding::new(FindingKind::LayoutMismatch, address);
        finding.size = requested;
        finding.align = align;
        finding.claimed_size = claimed.size();
        finding.claimed_align = claimed.align();
        finding.alloc_trace = TraceId(meta.alloc_trace.load(Ordering::Relaxed));
        finding.site_trace = self.trace_here();
        self.record(finding);
    }

    fn uncharge_if_limited(&self, bytes: usize) {
        if self.config.enable_memory_limit {
            self.uncharge(bytes);
        }
    }

    #[cold]
    fn report_bad_state(&self, page: &Page, index: usize, address: usize) {
        // SAFETY: safety mode keeps metadata for every slot.
        let meta = unsafe { page.meta(index) };
        let state = meta.state.load(Ordering::Acquire);
        let kind = if is_freed_state(state) {
            FindingKind::DoubleFree
        } else {
            FindingKind::InvalidFree
        };
        let mut finding = RawFinding::new(kind, address);
        if kind == FindingKind::InvalidFree {
            // A slot never handed out since its page was claimed: maybe a block of a page
            // released since (its units reused).
            if let Some(released) = self.released_block_finding(address) {
                finding = released;
            }
        } else {
            meta.describe_block(&mut finding);
            finding.block_claim = meta.claim();
        }
        finding.site_trace = self.trace_here();
        self.record(finding);
    }

    /// Holds a freed block back from reuse; the oldest leaves when the quarantine is full.
    /// Bit 0 of `entry` is set when the block came through a remote list. Inlined into the
    /// checked frees (one call fewer on each).
    ///
    /// `FIRST_WORD`: the leaving block's first word is checked ([`Self::evict`]); not by the
    /// C entries, whose blocks start 32 bytes into their slots (the C ABI's front guard).
    #[inline(always)]
    fn quarantine<const FIRST_WORD: bool>(&self, heap: &mut Heap, entry: usize, size: usize) {
        if heap.quarantine.capacity == 0 {
            self.evict::<FIRST_WORD>(heap, entry);
            return;
        }
        // The ring's fields are updated before the block taken out is evicted (which touches
        // the heap's pages and free lists, never its ring): one load and one store of each
        // where the ring was read again after every eviction. The common case in a full
        // quarantine is one block out, one in.
        match heap
            .quarantine
            .push_making_room(entry, size, self.config.quarantine_bytes)
        {
            Room::Pushed => {}
            Room::PushedAfter(oldest) => self.evict::<FIRST_WORD>(heap, oldest),
            Room::NotYet(oldest) => {
                self.quarantine_making_room::<FIRST_WORD>(heap, entry, size, oldest)
            }
        }
    }

    /// [`Self::quarantine`] when one block out is not room enough (a block larger than the
    /// one that left): evicts `oldest`, then pushes `entry` taking out as many more as it
    /// needs. Out of line: inlined, the loop had the compiler set up and spill its
    /// invariants (the byte bound, the address masks) on every checked free, though the
    /// usual free takes one block out, or none.
    #[cold]
    #[inline(never)]
    fn quarantine_making_room<const FIRST_WORD: bool>(
        &self,
        heap: &mut Heap,
        entry: usize,
        size: usize,
        oldest: usize,
    ) {
        self.evict::<FIRST_WORD>(heap, oldest);
        let limit = self.config.quarantine_bytes;
        loop {
            match heap.quarantine.push_making_room(entry, size, limit) {
                Room::Pushed => return,
                Room::PushedAfter(oldest) => {
                    self.evict::<FIRST_WORD>(heap, oldest);
                    return;
                }
                Room::NotYet(oldest) => self.evict::<FIRST_WORD>(heap, oldest),
            }
        }
    }

    /// A block leaves the quarantine: it becomes reusable, back on its page's free list,
    /// poisoned but for the list's link. With `FIRST_WORD` only its first word is read here,
    /// the word the link overwrites next: a write after free there (a Rust block's first
    /// field) would be lost with it. (A block that came through a remote list holds that
    /// list's link there instead, bit 0 of `entry`; a C block starts 32 bytes into its slot,
    /// after the C ABI's front guard, and the C entries pass `false`: with the load and
    /// compare, check mode's C `free` ran 0.9% more instructions on glibc-simple and cfrac.)
    /// The rest of its poison is checked once in the slot's
    /// life as a free slot, when an allocation takes the slot again
    /// ([`Self::check_reused_slot`]), when its page is released ([`Self::remember_released`])
    /// or at exit ([`Self::check_freed_slot`]), so that a write into it after it left the
    /// quarantine is found too, and a slot reused soon is read only where the allocation and
    /// the program write next (checked here as well as at the reuse, its lines would be read
    /// twice). Inlined into [`Self::quarantine`] (one call fewer on each checked free).
    #[inline(always)]
    fn evict<const FIRST_WORD: bool>(&self, heap: &mut Heap, entry: usize) {
        if entry & quarpages::PROTECTED != 0 {
            return self.evict_protected(heap, entry);
        }
        let address = entry & !1;
        if FIRST_WORD && entry & 1 == 0 {
            // SAFETY: the block is freed and still ours; slots are at least 8 bytes long and
            // 8-byte aligned.
            let word = unsafe { (address as *const u64).read() };
            if word != u64::from_ne_bytes([safety::POISON; 8]) {
                self.report_first_word_damage(address, word);
            }
        }
        let segment = Segment::of(address);
        // SAFETY: quarantined blocks are slots of this heap's live pages (so `address` lies in
        // `segment`).
        let page_ptr = unsafe { (*segment).page_of_unchecked(address) };
        // SAFETY: as above.
        let page = unsafe { &mut *page_ptr };
        let (index, _) = page.slot_of(address);
        // SAFETY: safety mode keeps metadata for every slot.
        let meta = unsafe { page.meta(index) };
        // The slot's metadata is only written here: no load of its line waits on the path of
        // every eviction.
        meta.state.store(SLOT_FREED, Ordering::Release);
        // SAFETY: a used slot of this page that nobody uses any more.
        self.push_to_page(heap, page_ptr, unsafe {
            NonNull::new_unchecked(address as *mut u8)
        });
    }

    /// [`Self::evict`]'s report: the first word of the quarantined block at `address` reads
    /// `word`, not poison: a write after free at its first changed byte.
    #[cold]
    #[inline(never)]
    fn report_first_word_damage(&self, address: usize, word: u64) {
        // SAFETY: quarantined blocks are slots of this heap's live pages.
        let page = unsafe { &*(*Segment::of(address)).page_of_unchecked(address) };
        let (index, _) = page.slot_of(address);
        // SAFETY: safety mode keeps metadata for every slot.
        let meta = unsafe { page.meta(index) };
        let changed = word ^ u64::from_ne_bytes([safety::POISON; 8]);
        let offset = if cfg!(target_endian = "little") {
            changed.trailing_zeros()
        } else {
            changed.leading_zeros()
        } as usize
            / 8;
        self.report_write_after_free(meta, address, offset, page.block_size as usize);
    }

    /// Poisons a freed slot of `block_size` bytes at `address` that is not filled inline
    /// (`safety::poison_inline`), or, for a slot of at least `quarpages::MIN_SLOT` bytes on
    /// its way into this thread's quarantine (`owner`), makes its interior pages inaccessible
    /// instead (`quarpages::protect`, which poisons its head and tail). Returns its quarantine
    /// entry: `address`, with `quarpages::PROTECTED` when protected. Out of line (as the
    /// `memset` call it replaces): the checked frees of short blocks carry nothing for it.
    ///
    /// # Safety
    /// The slot was live and is now ours; `heap` is the calling thread's heap when `owner`.
    #[inline(never)]
    unsafe fn poison_or_protect(
        &self,
        heap: Option<NonNull<Heap>>,
        owner: bool,
        address: usize,
        block_size: usize,
    ) -> usize {
        if block_size >= quarpages::MIN_SLOT
            && owner
            // SAFETY: caller contract: this thread's heap.
            && heap.is_some_and(|heap| unsafe { heap.as_ref() }.quarantine.capacity != 0)
            // SAFETY: caller contract: the slot is ours, on its way into the quarantine.
            && unsafe { quarpages::protect(address, block_size) }
        {
            return address | quarpages::PROTECTED;
        }
        // SAFETY: caller contract.
        unsafe { safety::poison(address, block_size) };
        address
    }

    /// [`Self::evict`] of a slot whose interior pages are inaccessible (`quarpages`): opens
    /// them (their contents are not checked: nothing could write them), checks the poison of
    /// the slot's head and tail, then makes the slot reusable. A slot whose pages the OS does
    /// not open again stays out of use (counted as used).
    #[cold]
    #[inline(never)]
    fn evict_protected(&self, heap: &mut Heap, entry: usize) {
        let address = entry & !(1 | quarpages::PROTECTED);
        let skip = link_skip(entry);
        let segment = Segment::of(address);
        // SAFETY: quarantined blocks are slots of this heap's live pages.
        let page_ptr = unsafe { (*segment).page_of_unchecked(address) };
        // SAFETY: as above.
        let page = unsafe { &mut *page_ptr };
        let (index, _) = page.slot_of(address);
        // SAFETY: safety mode keeps metadata for every slot.
        let meta = unsafe { page.meta(index) };
        let block_size = page.block_size as usize;
        // SAFETY: `quarantine_protected` protected this quarantined slot of ours, this size.
        match unsafe { quarpages::release(address, block_size, skip) } {
            quarpages::Released::Clean => {}
            quarpages::Released::Damaged(offset) => {
                self.report_write_after_free(meta, address, offset, block_size)
            }
            quarpages::Released::Stuck => return,
        }
        meta.state.store(SLOT_FREED, Ordering::Release);
        // SAFETY: a used slot of this page that nobody uses any more.
        self.push_to_page(heap, page_ptr, unsafe {
            NonNull::new_unchecked(address as *mut u8)
        });
    }

    /// Reports a write after free found at `offset` in the freed block at `address` (slot
    /// metadata `meta`: the block's size and traces), detected here (as a quarantined block
    /// leaves the quarantine, as an allocation takes its slot, or as its page is released),
    /// and poisons the block again first, so that it is reported once: the free slot does not
    /// read as a neighbour's overflow, and an exit scan that stops the thread while it
    /// records the finding does not find the damage again.
    #[cold]
    #[inline(never)]
    fn report_write_after_free(
        &self,
        meta: &SlotMeta,
        address: usize,
        offset: usize,
        block_size: usize,
    ) {
        let mut finding = write_after_free_finding(meta, address, offset);
        // SAFETY: the caller's block is freed, still ours, `block_size` bytes long.
        unsafe { safety::poison(address, block_size) };
        finding.site_trace = self.trace_here();
        self.record(finding);
    }

    /// Checks the poison of the freed slot `index` of `page` at exit (or `deinit`): a block
    /// that left the quarantine and was not reused since keeps its poison (but for the free
    /// list's link at its start), so a write to it long after its free (past the quarantine's
    /// bytes; Valgrind's free list holds 20 MB) is still found, with the block's traces,
    /// where it was seen by nothing. Slots of [`quarpages::MIN_SLOT`] bytes or more are
    /// skipped: past the quarantine their interior holds old contents. Reports the first
    /// changed byte and poisons the slot again (it is reported once).
    ///
    /// # Safety
    /// `index` is a carved slot of `page`, a live page of this GPA in safety mode, in
    /// `SLOT_FREED`, readable, and no thread changes it meanwhile (its heap is the caller's,
    /// or nobody's).
    pub(super) unsafe fn check_freed_slot(&self, page: &Page, index: usize) {
        let block_size = page.block_size as usize;
        if block_size >= quarpages::MIN_SLOT {
            return;
        }
        // SAFETY: caller contract (a freed slot's poison starts after the free list's link).
        unsafe { self.check_held_block(page, index, core::mem::size_of::<FreeBlock>()) }
    }

    /// Checks, at exit or `deinit`, the never-carved part of `page` (`[tail, page_end)`, after
    /// its `carved` slots), which reads as zero (`Page::zeroed_tail`) until a write lands
    /// there: a write far past a block, beyond the reach of any block's redzone check (a
    /// write of 4,000 bytes past a 100-byte block, which memcheck reports at the access as
    /// "3,900 bytes inside an unallocated block"), was seen by nothing in check mode. It is
    /// reported as an overflow of the page's last carved block, the nearest block before it
    /// (guard mode names the same block at the access), at the first changed byte's offset,
    /// and the tail is cleared again.
    ///
    /// # Safety
    /// `page` is a live page of this GPA in safety mode with `zeroed_tail`, `carved > 0` of its
    /// slots carved, `[tail, page_end)` its never-carved part, readable, and no thread
    /// changes the page meanwhile (its heap is the caller's, or nobody's).
    pub(super) unsafe fn check_never_carved(
        &self,
        page: &Page,
        carved: usize,
        tail: usize,
        page_end: usize,
    ) {
        // SAFETY: caller contract: readable, and nobody writes it meanwhile.
        let Some(at) = (unsafe { safety::first_difference(tail, page_end - tail, 0) }) else {
            return;
        };
        self.report_never_carved(page, carved - 1, tail + at, tail, page_end);
    }

    /// Reports the damage [`Self::check_never_carved`] found at `damaged`, as an overflow of
    /// the block in slot `last`, and clears `[tail, page_end)` again.
    #[cold]
    #[inline(never)]
    fn report_never_carved(
        &self,
        page: &Page,
        last: usize,
        damaged: usize,
        tail: usize,
        page_end: usize,
    ) {
        let address = page.slot_address(last);
        // SAFETY: safety mode keeps metadata for every carved slot.
        let meta = unsafe { page.meta(last) };
        let requested = meta.requested.load(Ordering::Relaxed) as usize;
        self.record(overflow_finding(
            meta,
            address,
            requested,
            damaged - address,
        ));
        // SAFETY: the page's never-carved part (caller contract of `check_never_carved`).
        unsafe { core::ptr::write_bytes(tail as *mut u8, 0, page_end - tail) };
    }

    /// Reports the damage [`Self::pop_validated`] found in the never-used slot of `page` at
    /// `address` as it was carved (its page's last carved slot): a write far past the
    /// nearest block before it ([`block_before`]: the nearest live one), reported as that
    /// block's overflow at the first changed byte's offset, as the exit check of a page's
    /// never-carved part reports it, detected at this allocation (before the slot's state
    /// leaves `SLOT_FREE`: an exit scan that stops the thread meanwhile passes it over).
    /// Then the slot is cleared, and so is damage that runs on from its end into the page's
    /// never-carved part (one write across both, reported once), 16 bytes at a time while it
    /// continues; the allocation goes on as usual.
    #[cold]
    #[inline(never)]
    fn report_carved_damage(&self, page: &Page, address: usize) {
        let block_size = page.block_size as usize;
        let (index, _) = page.slot_of(address);
        // SAFETY: the slot being carved (caller): the calling thread's, readable.
        let Some(at) = (unsafe { safety::first_difference(address, block_size, 0) }) else {
            return;
        };
        let damaged = address + at;
        if let Some((owner, last)) = block_before(page, index, address) {
            // SAFETY: `last` is a carved slot of `owner`, a page of the calling thread's
            // segment with slot metadata (`block_before`).
            let (meta, start) = unsafe { ((*owner).meta(last), (*owner).slot_address(last)) };
            let requested = meta.requested.load(Ordering::Relaxed) as usize;
            let mut finding = overflow_finding(meta, start, requested, damaged - start);
            finding.site_trace = self.trace_here();
            self.record(finding);
        }
        let end = address + block_size;
        // SAFETY: the slot's last byte, readable as above.
        let runs_on = unsafe { *((end - 1) as *const u8) } != 0;
        // SAFETY: the slot being carved, ours to write: nothing of the block is in it yet.
        unsafe { core::ptr::write_bytes(address as *mut u8, 0, block_size) };
        let page_end = page.end();
        if !runs_on || end != page.slot_address(page.carved as usize) {
            return;
        }
        let mut position = end;
        while position < page_end {
            let len = (page_end - position).min(16);
            // SAFETY: `[position, position + len)` lies in the page's never-carved part (the
            // slot is the page's last carved one), the calling thread's, readable and
            // writable while the page serves its class.
            unsafe {
                if safety::all_bytes_are(position, len, 0) {
                    return;
                }
                let last = *((position + len - 1) as *const u8);
                core::ptr::write_bytes(position as *mut u8, 0, len);
                if last == 0 {
                    return;
                }
            }
            position += len;
        }
    }

    #[cold]
    #[inline(never)]
    fn report_write_after_free_at_exit(
        &self,
        meta: &SlotMeta,
        address: usize,
        offset: usize,
        block_size: usize,
        skip: usize,
    ) {
        self.record(write_after_free_finding(meta, address, offset));
        // SAFETY: the caller's freed slot; its free-list link (the first `skip` bytes) kept.
        unsafe { safety::poison(address + skip, block_size - skip) };
    }

    /// Empties the quarantine, e.g. before a leak check or an `exec`, checking the poison of
    /// each block as it leaves ([`Self::evict`] does not): a caller that reports at once (the
    /// findings before `exec`, which walks no freed slot) finds the writes after free of the
    /// blocks still held.
    pub(super) fn flush_quarantine(&self, heap: &mut Heap) {
        while heap.quarantine.len != 0 {
            let oldest = heap.quarantine.pop_oldest();
            if oldest & quarpages::PROTECTED == 0 {
                self.check_quarantined(oldest);
            }
            self.evict::<true>(heap, oldest);
        }
    }

    /// The page and index of the carved slot of a page of `heap` that starts at `address` and
    /// is in `state` (safety mode), if there is one. Any address may be asked: a link read
    /// from a freed slot, which the program may have overwritten.
    pub(super) fn slot_in_state(
        &self,
        heap: *const Heap,
        address: usize,
        state: u8,
    ) -> Option<(&Page, usize)> {
        let page = self.remembered_page(address)?;
        // SAFETY: a live page of this GPA's small segment (`remembered_page`), whose
        // descriptor lies in its segment's header.
        if !core::ptr::eq(unsafe { (*Segment::of(page as usize)).heap }, heap) {
            return None;
        }
        // SAFETY: as above; pages live as long as their segment.
        let page = unsafe { &*page };
        let index = page.held_slot(address)?;
        // SAFETY: live metadata for every carved slot (`remembered_page`).
        let now = unsafe { page.meta(index) }.state.load(Ordering::Acquire);
        (now == state).then_some((page, index))
    }

    /// Checks the poison of the freed block in slot `index` of `page`, past its first `skip`
    /// bytes (a free or remote list's link), at exit or before `exec`: a block a heap still
    /// holds (in its quarantine or on its remote list), or a freed slot
    /// ([`Self::check_freed_slot`]). A damage is reported as a write after free without a
    /// detection trace, and the block poisoned again from `skip` on.
    ///
    /// # Safety
    /// The slot is carved, freed and poisoned (`SLOT_QUARANTINED` in a quarantine,
    /// `SLOT_REMOTE` on a remote list, `SLOT_FREED`), readable, and no thread changes it
    /// meanwhile.
    pub(super) unsafe fn check_held_block(&self, page: &Page, index: usize, skip: usize) {
        let block_size = page.block_size as usize;
        let address = page.slot_address(index);
        // SAFETY: caller contract.
        if let Some(offset) = unsafe { safety::poison_damage_inline(address, skip, block_size) } {
            // SAFETY: safety mode keeps metadata for every carved slot.
            let meta = unsafe { page.meta(index) };
            self.report_write_after_free_at_exit(meta, address, offset, block_size, skip);
        }
    }

    /// [`Self::flush_quarantine`]'s check of the quarantined block of `entry` (not protected):
    /// its poison (but for a remote list's link, bit 0), a damage reported as a write after
    /// free ([`Self::report_write_after_free`], which poisons it again).
    fn check_quarantined(&self, entry: usize) {
        let address = entry & !1;
        let skip = link_skip(entry);
        // SAFETY: quarantined blocks are slots of this heap's live pages.
        let page = unsafe { &*(*Segment::of(address)).page_of_unchecked(address) };
        let (index, _) = page.slot_of(address);
        let block_size = page.block_size as usize;
        // SAFETY: the block is freed, quarantined and still ours, `block_size` bytes.
        if let Some(offset) = unsafe { safety::poison_damage(address, skip, block_size) } {
            // SAFETY: safety mode keeps metadata for every slot.
            let meta = unsafe { page.meta(index) };
            self.report_write_after_free(meta, address, offset, block_size);
        }
    }

    /// Resizes a small block within its slot.
    ///
    /// # Safety
    /// `segment` is one of this GPA's small segments.
    pub(super) unsafe fn resize_small(
        &self,
        segment: *mut Segment,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> bool {
        let address = memory.as_ptr() as usize;
        // SAFETY: caller contract.
        let segment = unsafe { &mut *segment };
        let page = match segment.checked_page_of(address) {
            Ok(page) => page,
            Err(NoPage::Outside) => {
                self.invalid_free(address, Some(layout));
                return false;
            }
            Err(NoPage::Damaged) => {
                self.damaged_metadata(address);
                return false;
            }
        };
        // SAFETY: a live page of this segment.
        let page = unsafe { &*page };
        let block_size = page.block_size as usize;
        if !self.config.safety {
            return new_len <= block_size;
        }
        if page.meta.is_null() || !internal::is_live(page.meta as usize) {
            self.damaged_metadata(address);
            return false;
        }
        let (index, at_start) = page.slot_of(address);
        // SAFETY: safety mode keeps metadata for every slot.
        let meta = unsafe { page.meta(index) };
        let requested = meta.requested.load(Ordering::Relaxed) as usize;
        if !at_start || meta.state.load(Ordering::Acquire) != SLOT_LIVE {
            self.report_bad_state(page, index, address);
            return false;
        }
        if !self.check_slot_layout(meta, address, layout) {
            return false;
        }
        if new_len.saturating_add(safety::redzone(new_len)) > block_size {
            return false;
        }
        let owner = self
            .current_heap()
            .is_some_and(|heap| core::ptr::eq(heap.as_ptr(), segment.heap));
        self.check_small_redzone::<false>(segment, page, index, address, requested, owner, false);
        // SAFETY: the slot is live and `block_size` bytes long.
        unsafe { safety::write_canary(address, new_len, block_size) };
        meta.requested.store(new_len as u32, Ordering::Relaxed);
        if self.config.resize_stack_traces {
            // As a block that moved, as Valgrind's `realloc` always moves it: a new trace
            // and a new serial (it is allocated now, in Valgrind's order).
            meta.alloc_trace
                .store(self.trace_here().0, Ordering::Relaxed);
            meta.free_trace
                .store(heap::next_serial(), Ordering::Relaxed);
        }
        true
    }

    /// The metadata of the live slot starting at `address` (safety mode), with its layout.
    pub(super) fn small_live_meta(
        &self,
        segment: *mut Segment,
        address: usize,
    ) -> Option<&SlotMeta> {
        if !self.config.safety {
            return None;
        }
        // SAFETY: `segment` is one of this GPA's small segments (caller checked the owner).
        let segment = unsafe { &mut *segment };
        // SAFETY: `checked_page_of` returns live pages of this segment.
        let page = unsafe { &*segment.checked_page_of(address).ok()? };
        let (index, at_start) = page.slot_of(address);
        if !at_start
            || index >= page.carved as usize
            || page.meta.is_null()
            || !internal::is_live(page.meta as usize)
        {
            return None;
        }
        // SAFETY: safety mode keeps metadata for every slot; `index < carved <= capacity`.
        // The array lives as long as the page, which holds the live slot.
        let meta = unsafe { &*page.meta.add(index) };
        (meta.state.load(Ordering::Acquire) == SLOT_LIVE).then_some(meta)
    }

    pub(super) fn small_block_layout(
        &self,
        segment: *mut Segment,
        address: usize,
    ) -> Option<Layout> {
        // SAFETY: `segment` is one of this GPA's small segments (caller checked the owner).
        let segment = unsafe { &mut *segment };
        // SAFETY: `checked_page_of` returns live pages of this segment.
        let page = unsafe { &*segment.checked_page_of(address).ok()? };
        let (index, at_start) = page.slot_of(address);
        if !at_start || index >= page.carved as usize {
            return None;
        }
        if self.config.safety {
            if page.meta.is_null() || !internal::is_live(page.meta as usize) {
                return None;
            }
            // SAFETY: safety mode keeps metadata for every slot.
            let meta = unsafe { page.meta(index) };
            if meta.state.load(Ordering::Acquire) != SLOT_LIVE {
                return None;
            }
            let align = 1usize << meta.align_log2.load(Ordering::Relaxed);
            return Layout::from_size_align(meta.requested.load(Ordering::Relaxed) as usize, align)
                .ok();
        }
        let block_size = page.block_size as usize;
        let align = (1usize << block_size.trailing_zeros()).min(super::MAX_SMALL_ALIGN);
        Layout::from_size_align(block_size, align).ok()
    }

    /// The carved slot of a small segment holding `address`, on a page whose descriptor and
    /// slot metadata array are sound (`checked_page_of`, `internal::is_live`): the page and
    /// the slot's index (safety mode keeps the metadata).
    ///
    /// `segment` must be one of this GPA's small segments (the caller checked the owner).
    /// The page lookup and the live test are inlined (`checked_page_of_inlined`,
    /// `is_live_inlined`), as in the checked Rust free; check mode's C `free`
    /// (`c_checked_block`) makes the same checks, its page lookup remembered per thread.
    #[inline(always)]
    pub(super) fn checked_slot(
        segment: *mut Segment,
        address: usize,
    ) -> Option<(*mut Page, usize)> {
        // SAFETY: caller contract: one of this GPA's small segments.
        let segment = unsafe { &mut *segment };
        let page_pointer = segment.checked_page_of_inlined(address).ok()?;
        // SAFETY: `checked_page_of` returns live pages of this segment.
        let page = unsafe { &*page_pointer };
        let (index, _) = page.slot_of(address);
        if index >= page.carved as usize
            || page.meta.is_null()
            || !internal::is_live_inlined(page.meta as usize)
        {
            return None;
        }
        Some((page_pointer, index))
    }

    /// The block (live or freed) of a small segment whose slot holds `address` (safety mode).
    /// Also the page descriptor, as `checked_page_of` found it (for `free_located`).
    pub(super) fn small_block_span(
        &self,
        segment: *mut Segment,
        address: usize,
    ) -> Option<(BlockSpan, *mut Page)> {
        if !self.config.safety {
            return None;
        }
        let (page_pointer, index) = Self::checked_slot(segment, address)?;
        // SAFETY: `checked_slot` returns live pages of this segment, with metadata for every
        // slot, and `index` is a carved slot.
        let span = unsafe { Self::slot_span(&*page_pointer, index) }?;
        Some((span, page_pointer))
    }

    /// The block (live or freed) in slot `index` of `page`, from its metadata.
    ///
    /// # Safety
    /// `page.meta` is the page's live metadata array and `index < page.carved`.
    #[inline]
    pub(super) unsafe fn slot_span(page: &Page, index: usize) -> Option<BlockSpan> {
        // SAFETY: caller contract.
        let meta = unsafe { page.meta(index) };
        let state = meta.state.load(Ordering::Acquire);
        if state != SLOT_LIVE && !is_freed_state(state) {
            return None;
        }
        Some(BlockSpan {
            start: page.slot_address(index),
            size: meta.requested.load(Ordering::Relaxed) as usize,
            align: 1 << meta.align_log2.load(Ordering::Relaxed),
            live: state == SLOT_LIVE,
            alloc_trace: TraceId(meta.alloc_trace.load(Ordering::Relaxed)),
            free_trace: if state == SLOT_LIVE {
                TraceId::NONE
            } else {
                TraceId(meta.free_trace.load(Ordering::Relaxed))
            },
            tag: Some(meta.tag.load(Ordering::Relaxed)),
        })
    }

    /// Finds a heap for a thread: its own (evicted from its cache), an abandoned one, or new.
    pub(super) fn adopt_or_create_heap(&self, thread_id: u64) -> Option<NonNull<Heap>> {
        let mut heaps = super::lock(&self.heaps);
        let mut cursor = heaps.head;
        let mut abandoned: *mut Heap = core::ptr::null_mut();
        while !cursor.is_null() {
            // SAFETY: heaps in the GPA's list stay allocated while HEAP_GPA_REF is held.
            let heap = unsafe { &*cursor };
            let owner = heap.owner_thread.load(Ordering::Acquire);
            if owner == thread_id {
                return NonNull::new(cursor);
            }
            if owner == 0 && abandoned.is_null() {
                abandoned = cursor;
            }
            cursor = heap.next_in_gpa;
        }
        if !abandoned.is_null() {
            // SAFETY: an abandoned heap of this GPA; taking it over under the list lock.
            unsafe {
                (*abandoned).takeover_waits = 0;
                (*abandoned)
                    .owner_thread
                    .store(thread_id, Ordering::Release);
                (*abandoned)
                    .refs
                    .fetch_or(heap::HEAP_THREAD_REF, Ordering::AcqRel);
            }
            return NonNull::new(abandoned);
        }
        let entries = if self.config.safety && self.config.quarantine_bytes != 0 {
            (self.config.quarantine_bytes / 64)
                .clamp(1, 1 << 16)
                .next_power_of_two()
        } else {
            0
        };
        let fresh = heap::new_heap(thread_id, entries)?;
        // SAFETY: a fresh heap, linked under the list lock.
        unsafe { (*fresh.as_ptr()).next_in_gpa = heaps.head };
        heaps.head = fresh.as_ptr();
        Some(fresh)
    }
}

/// How many times running threads would take over an abandoned heap's segments (each time
/// they need a new segment) before they do: a program that starts threads in rounds has new
/// threads adopt the heaps of the last round's, with their resident pages (bench/c/mstress,
/// taking over at once: 34-50K page faults against 31-33K).
const TAKEOVER_WAITS: u32 = 2;

/// Bytes of free page units a heap may always keep resident (free memory that is quickly
/// reused without page faults); past its bound (this or more, see `purge_if_due`), they are
/// returned to the OS.
pub(super) const RETAINED_DIRTY_MIN: usize = 4 << 20;
/// The most bytes of free page units a heap keeps resident.
const RETAINED_DIRTY_MAX: usize = 32 << 20;
/// [`RETAINED_DIRTY_MAX`] with safety on (see `purge_if_due`).
const RETAINED_DIRTY_MAX_CHECKED: usize = 64 << 20;
/// Empty segments a heap keeps mapped (their free units are purged like any others, so this
/// bounds address space, not resident memory): a program whose live memory swings by tens of
/// megabytes does not map, guard and fault them in again each time (bench/c/xmalloc-test, 2
/// threads: 4 kept took 42 segment `munmap`s and 42,000 page faults, 16 none and 33,000).
const EMPTY_SEGMENTS_KEPT: usize = 16;

/// Whether a page that just got a slot back must be requeued (it was full) or released (it is
/// empty and not the page its class allocates from). The current page emptying is the common
/// case of alloc/free pairs and needs nothing.
#[inline(always)]
pub(super) fn page_needs_attention(heap: &Heap, page: &Page, page_ptr: *mut Page) -> bool {
    // SAFETY: a page's class is below CLASS_COUNT.
    page.release_needs_attention()
        && (!page.in_queue()
            || unsafe { heap.queues.get_unchecked(page.class as usize) }.head != page_ptr)
}

/// [`safety::write_canary`] of a fresh small block, with the redzones of 16 to 128 bytes
/// (most of them: the slack of a slot of 1 KiB or less) filled inline by two or four
/// overlapping stores of 16 or 32 bytes, instead of a `memset` call (its call and dispatch
/// cost more instructions than the stores on every checked allocation).
///
/// # Safety
/// As for [`safety::write_canary`].
///
/// `LONG_AVX2`: longer redzones by `safety::write_canary_avx2`'s AVX2 loop where the CPU has
/// it (the Rust allocations; the C entries keep the code they had).
#[inline(always)]
unsafe fn write_canary_inline<const LONG_AVX2: bool>(
    block: usize,
    requested: usize,
    capacity: usize,
) {
    let len = capacity.saturating_sub(requested);
    if !(16..=128).contains(&len) {
        if LONG_AVX2
            && len > 128
            // SAFETY: caller contract: the redzone is writable.
            && unsafe { safety::write_canary_avx2(block, requested, capacity) }
        {
            return;
        }
        // SAFETY: caller contract.
        return unsafe { safety::write_canary(block, requested, capacity) };
    }
    let (start, end) = (block + requested, block + capacity);
    let store16 = |at: usize| {
        // SAFETY: only called below with `[at, at + 16)` inside `[start, end)`, the
        // redzone, writable by the caller contract; unaligned stores need no alignment.
        unsafe { (at as *mut [u8; 16]).write_unaligned([safety::CANARY; 16]) }
    };
    let store32 = |at: usize| {
        // SAFETY: only called below with `[at, at + 32)` inside `[start, end)`, as above.
        unsafe { (at as *mut [u8; 32]).write_unaligned([safety::CANARY; 32]) }
    };
    if len <= 32 {
        store16(start);
        store16(end - 16);
    } else if len <= 64 {
        store32(start);
        store32(end - 32);
    } else {
        store32(start);
        store32(start + 32);
        store32(end - 64);
        store32(end - 32);
    }
}

#[inline(always)]
/// The block a write into the never-used slot `index` of `page` (starting at `address`) is
/// reported against: the nearest live block before it on the page (a far overflow runs from
/// a block the program holds; freed slots between, poisoned, are passed over, as the
/// neighbour scan's reach runs over them), else the slot right before it; for a page's first
/// slot, the last carved slot of the page that ends where it starts, in the same segment (so
/// of the same heap), when that page has slot metadata. `None` when no carved slot lies
/// before it (the segment's first page unit, after its header's guard, or a free unit).
/// The calling thread owns `page` (safety mode: every slot has metadata).
fn block_before(page: &Page, index: usize, address: usize) -> Option<(*const Page, usize)> {
    if index > 0 {
        let live = (0..index).rev().find(|&slot| {
            // SAFETY: safety mode keeps metadata for every slot; `slot < index < capacity`.
            let meta = unsafe { page.meta(slot) };
            meta.state.load(Ordering::Acquire) == SLOT_LIVE
        });
        return Some((page as *const Page, live.unwrap_or(index - 1)));
    }
    let segment = Segment::of(address);
    // SAFETY: `address` is a slot of a live small segment's page, so its header is live; the
    // calling thread owns the segment's heap, and so every page of it.
    let before = unsafe { (*segment).checked_page_of(address - 1) }.ok()?;
    // SAFETY: a live page descriptor of the segment (`checked_page_of`).
    let before = unsafe { &*before };
    let carved = (before.carved as usize).min(before.capacity as usize);
    (!core::ptr::eq(before, page) && !before.meta.is_null() && carved > 0)
        .then_some((before as *const Page, carved - 1))
}

/// The bytes at the start of the quarantined block of `entry` that are not poison: the remote
/// list's link when the block came through one (bit 0), else none.
pub(super) fn link_skip(entry: usize) -> usize {
    if entry & 1 != 0 {
        core::mem::size_of::<FreeBlock>()
    } else {
        0
    }
}

/// Whether `address` starts a carved slot of `page` (a page with slot metadata, safety mode)
/// that is free (`SLOT_FREED`): the only slots such a page's free list holds. A free-list
/// link forged by a write after free to another slot's start passed the test of a carved
/// slot's start alone (`Page::holds_slot`, before stop 54) when that slot was live (or quarantined): the allocation after next handed out a live block a
/// second time, two owners of one slot. One load of the next slot's state more a checked
/// allocation, on the line the allocation after it writes.
#[inline(always)]
fn is_free_slot_start(page: &Page, address: usize) -> bool {
    page.held_slot(address).is_some_and(|index| {
        // SAFETY: safety mode keeps metadata for every carved slot.
        let meta = unsafe { page.meta(index) };
        meta.state.load(Ordering::Relaxed) == SLOT_FREED
    })
}

/// The overflow of the block of `requested` bytes at `address` (slot metadata `meta`: its
/// alignment and allocation trace) whose first changed byte is `offset` bytes from its start.
fn overflow_finding(
    meta: &SlotMeta,
    address: usize,
    requested: usize,
    offset: usize,
) -> RawFinding {
    let mut finding = RawFinding::new(FindingKind::Overflow, address);
    finding.size = requested;
    finding.align = 1 << meta.align_log2.load(Ordering::Relaxed);
    finding.offset = Some(offset as isize);
    finding.alloc_trace = TraceId(meta.alloc_trace.load(Ordering::Relaxed));
    finding
}

/// The write after free of the freed block at `address` (slot metadata `meta`: its size,
/// alignment, allocation and free traces) whose first changed byte is `offset` bytes in.
fn write_after_free_finding(meta: &SlotMeta, address: usize, offset: usize) -> RawFinding {
    let mut finding = RawFinding::new(FindingKind::WriteAfterFree, address);
    meta.describe_block(&mut finding);
    finding.offset = Some(offset as isize);
    finding
}

/// The bytes of a slot longer than twice this that `check_carved_slot` reads at each of its
/// ends (up to an OS page boundary): an OS page of 4 KiB.
const CARVE_CHECK_SPAN: usize = 4096;

/// How far past a small block's end its redzone check reaches at exit and `deinit` (its own
/// slot, then the free slots after it): four times its least redzone, 128 bytes for blocks of
/// up to 256 bytes.
pub fn redzone_reach(requested: usize) -> usize {
    4 * safety::redzone(requested)
}

/// How far past a block's end its redzone check reaches when the block is freed or resized:
/// its whole slot, and free slots after it only within 128 bytes of its end (which, for the
/// small blocks whose slack is shorter than that, are usually in the same or the next cache
/// line).
pub const FREE_REACH: usize = 128;

/// Walks the redzone of the block in slot `index` (see `check_small_redzone`): returns the
/// offset from the block's start of the first damaged byte, or, with `REPAIR`, rewrites every
/// pattern it covers and returns `None`. Specialized both ways, so that the check made at
/// every free carries no repair branch (the repair runs only after a reported overflow).
/// `LONG_AVX2` and `start` (the slot's start): as for `check_small_redzone`.
#[inline(always)]
fn redzone_scan<const REPAIR: bool, const LONG_AVX2: bool>(
    segment: &Segment,
    page: &Page,
    index: usize,
    start: usize,
    requested: usize,
    owner: bool,
    reach: usize,
) -> Option<usize> {
    debug_assert_eq!(start, page.slot_address(index));
    let repair = REPAIR;
    let block_size = page.block_size as usize;
    // SAFETY: the block's slot is ours to read (live, or being freed by the caller).
    unsafe {
        if repair {
            safety::write_canary(start, requested, block_size);
        } else if let Some(offset) =
            safety::canary_damage_inline::<LONG_AVX2>(start, requested, block_size)
        {
            return Some(offset);
        }
    }
    if !owner {
        return None;
    }
    // The common case first: the next slot is carved and not a free one, so the run of free
    // slots after the block is empty and both scans below stop before reading a byte (the
    // same `None`), without the set-up of their bounds.
    // `next < carved` implies `next < capacity` (a page's invariant, `carved <= capacity`,
    // which the full lookup checks before a page is served or remembered, and on which the
    // callers' own reads of slot `index`'s metadata rely already): one test, not two.
    let next = index + 1;
    debug_assert!(page.carved <= u64::from(page.capacity));
    if !repair && next < page.carved as usize {
        // SAFETY: safety mode keeps metadata for every slot; `next < carved <= capacity`.
        let state = unsafe { page.meta(next) }.state.load(Ordering::Acquire);
        if state != SLOT_FREED {
            return None;
        }
    }
    let reach_end = start + requested + reach;
    let page_end = page.end();
    let zeroed = segment.zero_units && segment.guard_free_units;
    #[cfg(target_arch = "x86_64")]
    if !repair && reach_end.saturating_sub(start + block_size) <= NEIGHBOUR_SPAN {
        // SAFETY: as for the loop below, which this scan replaces for short reaches.
        return unsafe { neighbour_damage(page, index, start, reach_end, page_end, zeroed) };
    }
    // SAFETY: as above: the calling thread owns the page.
    unsafe { neighbour_walk::<REPAIR>(page, index, start, reach_end, page_end, zeroed) }
}

/// `redzone_scan`'s walk of the free slots after the block in slot `index` (starting at
/// `start`), up to `reach_end`, slot by slot: each freed slot (on the page's free list) is
/// compared with [`safety::POISON`] but for its first word (a free-list link), a never-carved
/// tail with zeros when the segment guarantees them; the walk stops at a slot in any other
/// state. A quarantined slot stops it too: a changed byte there lies inside a block the
/// program freed and has not yet been given again, which Valgrind reports as a write after
/// free of that block ("Address is 8 bytes inside a block of size 24 free'd"), not as an
/// overflow of the block before it; its eviction reports it so (and finds nothing new when
/// the write was already reported at a checked libc call that made it). Returns the offset from `start` of the first damaged byte, or, with `REPAIR`,
/// rewrites every pattern it covers and returns `None`. [`neighbour_damage`] answers the
/// same for the short reaches of a free in one pass.
///
/// # Safety
/// The calling thread owns `page`; `index` is a carved slot of it starting at `start`;
/// `page_end` is the page's end; `zeroed`: the segment keeps never-carved memory zero.
#[inline(always)]
unsafe fn neighbour_walk<const REPAIR: bool>(
    page: &Page,
    index: usize,
    start: usize,
    reach_end: usize,
    page_end: usize,
    zeroed: bool,
) -> Option<usize> {
    let repair = REPAIR;
    let block_size = page.block_size as usize;
    let mut slot = index + 1;
    let mut position = start + block_size;
    while position < reach_end.min(page_end) {
        let (from, len, value) = if slot >= page.capacity as usize || slot >= page.carved as usize {
            // Never carved, or the page's tail after its last slot: zero if the segment
            // guarantees it.
            if !zeroed {
                return None;
            }
            (position, reach_end.min(page_end) - position, 0)
        } else {
            // SAFETY: safety mode keeps metadata for every slot; `slot < capacity`.
            let state = unsafe { page.meta(slot) }.state.load(Ordering::Acquire);
            if state != SLOT_FREED {
                return None;
            }
            // Poisoned but for the first word (a free-list link).
            let skip = core::mem::size_of::<FreeBlock>();
            let end = (position + block_size).min(reach_end);
            (
                position + skip,
                end.saturating_sub(position + skip),
                safety::POISON,
            )
        };
        // SAFETY: the calling thread owns the page: free and never-carved slots of it, and
        // its tail, are page memory nobody else reads or writes (segment invariant).
        unsafe {
            if repair {
                core::ptr::write_bytes(from as *mut u8, value, len);
            } else if let Some(offset) = safety::first_difference(from, len, value) {
                return Some(from + offset - start);
            }
        }
        if slot >= page.carved as usize {
            break;
        }
        slot += 1;
        position += block_size;
    }
    None
}

/// The longest neighbour range (from the block's slot end to its reach end) that
/// [`neighbour_damage`] checks in one masked pass; at a free it is at most 96 bytes
/// ([`FREE_REACH`] less the least redzone, 32 bytes), so every free takes that pass; longer
/// ranges (the exit check of blocks over 256 bytes) take the slot walk.
#[cfg(target_arch = "x86_64")]
const NEIGHBOUR_SPAN: usize = 128;

/// `redzone_scan::<false>`'s walk of the slots after the block in slot `index` (starting at
/// `start`) up to `reach_end` (at most [`NEIGHBOUR_SPAN`] bytes past the slot's end), with
/// the same answer: the offset from `start` of the first damaged byte, or `None`.
///
/// The slot walk ([`neighbour_walk`]) compares each free neighbour slot on its own (a
/// `first_difference` call on a few bytes: a fixed cost per slot, several slots within the
/// reach of a small block). Here the slot states are read first, to find where the run of
/// freed slots ends: at a slot in any other state (a quarantined one included, see
/// [`neighbour_walk`]) the scan stops there,
/// at the page's never-carved part it goes on into it when the segment guarantees it zero.
/// Then the whole run, `[slot end, min(run end, reach end))`, is compared with
/// [`safety::POISON`] in one pass of at most eight 16-byte loads ending at its end, into a
/// 128-bit map (two words) of the bytes that differ, from which the bytes before the range
/// and the free-list link words (the first 8 bytes of each free slot, which the walk skips)
/// are masked out; the lowest remaining bit is the first damaged byte. A never-carved tail is
/// then checked for zeros as the walk checks it.
///
/// # Safety
/// As for the loop in `redzone_scan`: the calling thread owns `page`, the block's slot is
/// readable, `index` is a carved slot, `start + block_size <= reach_end` or the range is
/// empty, `reach_end - (start + block_size) <= NEIGHBOUR_SPAN`, and `page_end` is the
/// page's end.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn neighbour_damage(
    page: &Page,
    index: usize,
    start: usize,
    reach_end: usize,
    page_end: usize,
    zeroed: bool,
) -> Option<usize> {
    let block_size = page.block_size as usize;
    let from = start + block_size;
    let limit = reach_end.min(page_end);
    let carved = (page.carved as usize).min(page.capacity as usize);
    // The run of free slots after the block, each checked as its state is read: poison but
    // for its first word (a free-list link), up to the reach.
    let mut slot = index + 1;
    let mut run_end = from;
    let mut tail = false;
    let mut clean = true;
    while run_end < limit {
        if slot >= carved {
            tail = zeroed;
            break;
        }
        // SAFETY: safety mode keeps metadata for every slot; `slot < carved <= capacity`.
        let state = unsafe { page.meta(slot) }.state.load(Ordering::Acquire);
        if state != SLOT_FREED {
            break;
        }
        let (low, high) = (run_end + 8, (run_end + block_size).min(reach_end));
        if high > low {
            // SAFETY: `[low, high)` lies in this free slot of the calling thread's page; the
            // bytes before `low` that a short check reads lie in the slot before it (this
            // block's own, or the run's previous one), readable as well (`from - 7 > start`).
            clean &= unsafe { poison_from_to(low, high) };
        }
        slot += 1;
        run_end += block_size;
    }
    if !clean {
        // Somewhere in the run: the first damaged byte, as the one-pass scan finds it.
        // SAFETY: the caller's contract, passed on.
        return unsafe { neighbour_damage_exact(page, index, start, reach_end, page_end, zeroed) };
    }
    if tail && run_end < limit {
        // SAFETY: the page's never-carved part, `[run_end, limit)`, inside the page that the
        // calling thread owns.
        if let Some(offset) = unsafe { safety::first_difference(run_end, limit - run_end, 0) } {
            return Some(run_end + offset - start);
        }
    }
    None
}

/// Whether every byte of `[low, high)` (`high - low <= 128`) is [`safety::POISON`]: one
/// 16-byte load ending at `high` when the range is shorter (the bytes before `low` masked
/// out), else [`safety::all_bytes_are_short`].
///
/// # Safety
/// `[low, high)` is readable, and so is `[high - 16, high)` when the range is shorter than 16
/// bytes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn poison_from_to(low: usize, high: usize) -> bool {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let len = high - low;
    if len >= 16 {
        // SAFETY: the caller's contract (`16 <= len <= 128`).
        return unsafe { safety::all_bytes_are_short(low, len, safety::POISON) };
    }
    // SAFETY: `[high - 16, high)` is readable (caller contract); SSE2 is part of x86-64.
    let same = unsafe {
        let data = _mm_loadu_si128((high - 16) as *const __m128i);
        _mm_movemask_epi8(_mm_cmpeq_epi8(data, _mm_set1_epi8(safety::POISON as i8))) as u32
    };
    (!same & 0xFFFF) >> (16 - len) == 0
}

/// [`neighbour_damage`]'s answer where a freed slot of the run is not all poison: the first
/// damaged byte, by one masked pass over the run (below). Out of line: it runs only where a
/// write after free is found.
///
/// # Safety
/// As for [`neighbour_damage`].
#[cfg(target_arch = "x86_64")]
#[cold]
#[inline(never)]
unsafe fn neighbour_damage_exact(
    page: &Page,
    index: usize,
    start: usize,
    reach_end: usize,
    page_end: usize,
    zeroed: bool,
) -> Option<usize> {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let block_size = page.block_size as usize;
    let from = start + block_size;
    let limit = reach_end.min(page_end);
    let carved = (page.carved as usize).min(page.capacity as usize);
    // The run of free slots after the block: `run` slots, up to `run_end`.
    let mut slot = index + 1;
    let mut run_end = from;
    let mut tail = false;
    while run_end < limit {
        if slot >= carved {
            tail = zeroed;
            break;
        }
        // SAFETY: safety mode keeps metadata for every slot; `slot < carved <= capacity`.
        let state = unsafe { page.meta(slot) }.state.load(Ordering::Acquire);
        if state != SLOT_FREED {
            break;
        }
        slot += 1;
        run_end += block_size;
    }
    let run = slot - (index + 1);
    let end = run_end.min(reach_end);
    if end > from {
        // The range in `chunks` 16-byte loads ending at `end`, from `base` (up to 15 bytes
        // before `from`, in the block's own slot): bit `b` of the map `(low, high)` is set
        // when the byte at `base + b` is not poison.
        let len = end - from;
        let chunks = len.div_ceil(16);
        let base = end - 16 * chunks;
        let skip = from - base;
        let (mut low, mut high) = (0u64, 0u64);
        // SAFETY: each load reads 16 bytes inside `[base, end)`: `base >= from - 15 > start`
        // (`block_size >= 16`), the block's own slot, readable by the caller contract, then
        // the run of free slots, readable (the calling thread owns the page); `chunks <= 8`
        // (`len <= NEIGHBOUR_SPAN`).
        unsafe {
            let pattern = _mm_set1_epi8(safety::POISON as i8);
            for chunk in 0..chunks {
                let data = _mm_loadu_si128((base + 16 * chunk) as *const __m128i);
                let bits = !(_mm_movemask_epi8(_mm_cmpeq_epi8(data, pattern)) as u64) & 0xFFFF;
                if chunk < 4 {
                    low |= bits << (16 * chunk);
                } else {
                    high |= bits << (16 * chunk - 64);
                }
            }
        }
        // Not the bytes before `from`, nor the free-list link words (the first 8 bytes of
        // each slot of the run).
        low &= !0u64 << skip;
        for link in 0..run {
            let at = skip + link * block_size;
            if at < 64 {
                low &= !(0xFFu64 << at);
                if at > 56 {
                    high &= !(0xFFu64 >> (64 - at));
                }
            } else if at < 128 {
                high &= !(0xFFu64 << (at - 64));
            }
        }
        if low != 0 {
            return Some(base + low.trailing_zeros() as usize - start);
        }
        if high != 0 {
            return Some(base + 64 + high.trailing_zeros() as usize - start);
        }
    }
    if tail && run_end < limit {
        // SAFETY: the page's never-carved part, `[run_end, limit)`, inside the page that the
        // calling thread owns.
        if let Some(offset) = unsafe { safety::first_difference(run_end, limit - run_end, 0) } {
            return Some(run_end + offset - start);
        }
    }
    None
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::gpa::{Config, OnError};
    use crate::report::FindingKind;

    /// A GPA with every check, recording its findings (for the check-mode tests of `gpa`).
    pub(in crate::gpa) fn checked() -> GeneralPurposeAllocator {
        GeneralPurposeAllocator::with_config(Config {
            on_error: OnError::Record,
            ..Config::debug()
        })
    }

    /// The calling thread's heap of `gpa`'s (purge bound, resident free bytes).
    fn purge_state(gpa: &GeneralPurposeAllocator) -> (usize, usize) {
        let heap = heap::cached(gpa.id());
        assert!(!heap.is_null());
        // SAFETY: this thread's heap, read between operations.
        unsafe { ((*heap).dirty_bound, (*heap).dirty_bytes) }
    }

    /// The calling thread's heap of `gpa`'s: its only segment's clean free units (free and not
    /// resident), and whether the queue of `class` has a page.
    fn units_and_queue(gpa: &GeneralPurposeAllocator, class: Class) -> (u64, bool) {
        let heap = heap::cached(gpa.id());
        assert!(!heap.is_null());
        // SAFETY: this thread's heap and its segments, read between operations.
        unsafe {
            let segment = (*heap).segments;
            assert!(!segment.is_null() && (*segment).next.is_null());
            let clean = (*segment).free_units & !(*segment).dirty_units;
            (clean, !(*heap).queues[class].head.is_null())
        }
    }

    /// Safety mode: a page claimed over units another class's page left resident (dirty)
    /// reads as zero there, as a page over fresh units does: the units are cleared when
    /// claimed (by hand, not discarded), so neither a new block's bytes the program has not
    /// written nor the page's never-carved tail (which the neighbour scan expects zero) show
    /// the old blocks' contents or the free list's links.
    #[test]
    fn a_safety_page_over_dirty_units_reads_as_zero() {
        let mut gpa = checked();
        let allocator = gpa.allocator();
        // One-unit pages of ~2 KiB slots, written whole, then freed and evicted from the
        // quarantine: the pages no longer heading their queue are released, their units dirty.
        let old_size = 2000;
        let old: Vec<_> = (0..100)
            .map(|_| {
                let block = allocator.raw_alloc(old_size, 16).unwrap();
                // SAFETY: a fresh block of `old_size` bytes.
                unsafe { block.as_ptr().write_bytes(0x5A, old_size) };
                block
            })
            .collect();
        for &block in &old {
            // SAFETY: a live block of this layout, freed once.
            unsafe { allocator.raw_free(block, old_size, 16) };
        }
        gpa.flush_thread_quarantine();
        let heap = heap::cached(gpa.id());
        // SAFETY: this thread's heap and its only segment, read between operations.
        let (segment, dirty) = unsafe {
            let segment = (*heap).segments;
            assert!(!segment.is_null() && (*segment).next.is_null());
            (segment, (*segment).dirty_units)
        };
        assert_ne!(dirty, 0);
        // A block of another class (one-unit pages too) takes a dirty unit.
        let size = 700;
        let block = allocator.raw_alloc(size, 16).unwrap();
        let address = block.as_ptr() as usize;
        assert_eq!(Segment::of(address), segment);
        // SAFETY: as above.
        let base = unsafe { (*segment).base() };
        let unit = (address - base) / UNIT_SIZE;
        assert_ne!(
            dirty & (1 << unit),
            0,
            "the new page is not over a dirty unit"
        );
        // SAFETY: the block's bytes, and its page's last KiB, never carved: memory of this
        // thread's page.
        let (bytes, tail) = unsafe {
            (
                core::slice::from_raw_parts(block.as_ptr(), size),
                core::slice::from_raw_parts(
                    (base + (unit + 1) * UNIT_SIZE - 1024) as *const u8,
                    1024,
                ),
            )
        };
        assert!(bytes.iter().all(|&b| b == 0));
        assert!(tail.iter().all(|&b| b == 0));
        // SAFETY: a live block of this layout, freed once.
        unsafe { allocator.raw_free(block, size, 16) };
        assert!(gpa.report().is_clean());
        assert_eq!(gpa.deinit(), crate::gpa::Check::Ok);
    }

    /// A class's page that emptied while heading its queue stays for the class (no page
    /// churn on alloc/free pairs), but once the heap would fault in clean units for another
    /// class, it gives that idle page's resident units first (alloc-workload's peak RSS: the
    /// churn's idle pages of ~40 classes made the next word table fault in a new segment).
    #[test]
    fn a_new_page_takes_the_units_of_other_classes_idle_pages_before_clean_ones() {
        let mut gpa = GeneralPurposeAllocator::with_config(Config::fast());
        let allocator = gpa.allocator();
        // One-unit pages of ten classes, each emptied while heading its queue.
        let sizes = [48usize, 64, 96, 128, 256, 512, 1024, 2048, 3072, 4096];
        let live: Vec<_> = sizes
            .iter()
            .map(|&size| allocator.raw_alloc(size, 8).unwrap())
            .collect();
        for (&size, block) in sizes.iter().zip(live) {
            // SAFETY: a live block of this layout, freed once.
            unsafe { allocator.raw_free(block, size, 8) };
        }
        let class_of = |size| crate::gpa::size_class::class_for(size, 8).unwrap();
        let (clean_before, _) = units_and_queue(&gpa, class_of(48));
        assert!(sizes.iter().all(|&s| units_and_queue(&gpa, class_of(s)).1));
        // A page of two units (10 KiB slots) cannot use a one-unit idle page: they stay.
        let big = allocator.raw_alloc(10 << 10, 8).unwrap();
        assert!(sizes.iter().all(|&s| units_and_queue(&gpa, class_of(s)).1));
        let (clean_after_big, _) = units_and_queue(&gpa, class_of(48));
        assert_eq!((clean_before & !clean_after_big).count_ones(), 2);
        // Pages of 16-byte slots: the first takes an idle page's unit, not a clean one; every
        // idle page went back to the segment, and the 16-byte class's queue was not emptied.
        let blocks: Vec<_> = (0..4096 * 3)
            .map(|_| allocator.raw_alloc(16, 8).unwrap())
            .collect();
        let (clean_after, has_page) = units_and_queue(&gpa, class_of(16));
        assert!(has_page);
        assert_eq!(
            clean_after, clean_after_big,
            "the three pages took released units"
        );
        assert!(sizes.iter().all(|&s| !units_and_queue(&gpa, class_of(s)).1));
        for block in blocks {
            // SAFETY: live blocks of this layout, freed once.
            unsafe { allocator.raw_free(block, 16, 8) };
        }
        // SAFETY: as above.
        unsafe { allocator.raw_free(big, 10 << 10, 8) };
        assert_eq!(gpa.deinit(), crate::gpa::Check::Ok);
    }

    /// A loop of one block at a time in each of sixteen classes in turn ends up keeping a page
    /// of every class: the release of idle pages for a new page ([`Heap::idle_release_credit`])
    /// waits until as many pages as it released were claimed again, then one more, which
    /// takes a fresh unit; so each release leaves one page more than the one before, and
    /// after `n * (n + 1) / 2` rounds (`n` classes) no round claims or releases a page.
    /// Before, every new page released the pages of all the other classes, in every round
    /// for ever: in C fast mode 49.7M instructions for 20,000 such rounds against 2.9M now
    /// (mimalloc: 48.8M), and a C++ loop of `new`, `new[]`, `realloc` and `posix_memalign`
    /// 7.6 times slower than now.
    #[test]
    fn a_round_of_classes_in_turn_keeps_a_page_of_each() {
        let mut gpa = GeneralPurposeAllocator::with_config(Config::fast());
        let allocator = gpa.allocator();
        let sizes = [
            16usize, 32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512,
        ];
        let class_of = |size| crate::gpa::size_class::class_for(size, 8).unwrap();
        let mut classes: Vec<_> = sizes.iter().map(|&size| class_of(size)).collect();
        classes.dedup();
        assert_eq!(classes.len(), sizes.len(), "sixteen different classes");
        let n = sizes.len();
        let settled = n * (n + 1) / 2;
        for round in 0..settled + 4 * n {
            let size = sizes[round % n];
            let block = allocator.raw_alloc(size, 8).unwrap();
            // SAFETY: a live block of this layout, freed once.
            unsafe { allocator.raw_free(block, size, 8) };
            let kept = sizes
                .iter()
                .filter(|&&size| units_and_queue(&gpa, class_of(size)).1)
                .count();
            if round >= settled {
                assert_eq!(kept, n, "round {round}: classes with a page");
            }
        }
        assert_eq!(gpa.deinit(), crate::gpa::Check::Ok);
    }

    /// The inline canary fill writes exactly the redzone, `[requested, capacity)`, for every
    /// length it handles inline (16 to 128 bytes) and those it hands to `write_canary`.
    /// Both ways: the C entries' (`memset` over 128 bytes) and the Rust allocations' (the
    /// AVX2 loop over 128 bytes, where the CPU has it).
    #[test]
    fn inline_canary_fill_covers_exactly_the_redzone() {
        for capacity in [16usize, 48, 80, 144, 256, 400, 1040] {
            for requested in 0..=capacity {
                for long_avx2 in [false, true] {
                    let mut slot = vec![0x11u8; capacity + 32];
                    let block = slot.as_mut_ptr() as usize + 16;
                    // SAFETY: `[block, block + capacity)` lies inside `slot`.
                    unsafe {
                        if long_avx2 {
                            write_canary_inline::<true>(block, requested, capacity);
                        } else {
                            write_canary_inline::<false>(block, requested, capacity);
                        }
                    }
                    for (offset, &byte) in slot.iter().enumerate() {
                        let inside = offset >= 16 + requested && offset < 16 + capacity;
                        let expected = if inside { safety::CANARY } else { 0x11 };
                        assert_eq!(byte, expected, "capacity {capacity} requested {requested}");
                    }
                }
            }
        }
    }

    /// `count` blocks of `requested` bytes (alignment 8) from `gpa`, as addresses.
    fn alloc_blocks(gpa: &GeneralPurposeAllocator, requested: usize, count: usize) -> Vec<usize> {
        let allocator = gpa.allocator();
        (0..count)
            .map(|_| allocator.raw_alloc(requested, 8).unwrap().as_ptr() as usize)
            .collect()
    }

    /// Frees the live block at `at` of `requested` bytes (alignment 8) from `gpa`.
    fn free_block(gpa: &GeneralPurposeAllocator, at: usize, requested: usize) {
        let block = NonNull::new(at as *mut u8).unwrap();
        // SAFETY: the caller's live block of this layout, freed once.
        unsafe { gpa.allocator().raw_free(block, requested, 8) }
    }

    /// A freed slot's free-list link (its first word, once the block left the quarantine)
    /// overwritten by a write after free is found when the slot is handed out again
    /// (`pop_validated`, `is_free_slot_start`), wherever the stray value points: into a slot (not
    /// its start), before the page, past the segment, at a slot not carved yet, or anywhere;
    /// or at the start of a live or a quarantined slot (`is_free_slot_start`: before, that
    /// slot was handed out by the allocation after next while its block was in use).
    /// (Valgrind names such a write at once, as an invalid write inside a freed block; here
    /// it is a write after free too, found later.)
    #[test]
    fn a_damaged_free_list_link_is_a_write_after_free_wherever_it_points() {
        let requested = 48;
        for kind in 0..7 {
            let gpa = checked();
            let blocks = alloc_blocks(&gpa, requested, 4);
            free_block(&gpa, blocks[1], requested);
            // Out of the quarantine, onto its page's free list (the head, its link first).
            gpa.flush_thread_quarantine();
            let (_, page, index, start) = slot_of_block(blocks[1]);
            // SAFETY: the page is this thread's, read between operations.
            let (page_start, block_size, carved) = unsafe {
                (
                    (*page).start as usize,
                    (*page).block_size as usize,
                    (*page).carved,
                )
            };
            assert_eq!(start, blocks[1]);
            if kind == 6 {
                free_block(&gpa, blocks[3], requested);
            }
            let stray = match kind {
                0 => blocks[2] + 8,
                1 => page_start.wrapping_sub(block_size),
                2 => page_start + SEGMENT_SIZE,
                3 => page_start + (carved as usize + 1) * block_size,
                4 => 0x1234,
                5 => blocks[2],
                _ => blocks[3],
            };
            // SAFETY: the freed slot's first word, its link (a write after free).
            unsafe { (start as *mut usize).write(stray) };
            let again = alloc_blocks(&gpa, requested, 1)[0];
            assert_eq!(
                gpa.report().of_kind(FindingKind::WriteAfterFree).count(),
                1,
                "kind {kind} (slot {index})"
            );
            // The damaged head is kept out of use; the heap still serves blocks, never the
            // live or quarantined slot the link named.
            assert_ne!(again, start);
            let more = alloc_blocks(&gpa, requested, 8);
            assert_eq!(more.len(), 8);
            for block in [again].iter().chain(&more) {
                assert!(*block != blocks[2] && *block != blocks[3], "kind {kind}");
            }
        }
    }

    /// Fast mode: a freed slot's link overwritten by a write after free (a stack address, a
    /// wild one, a slot of another size class, 8 bytes into a slot) is reported once as a
    /// write after free of that slot, with its slot's size, and never followed: the blocks
    /// handed out after it are apart from each other and from the target (before: the pop
    /// followed the link, and the next allocation faulted or handed out the target).
    #[test]
    fn fast_mode_reports_a_forged_free_list_link_and_never_follows_it() {
        let requested = 128;
        let stack = [0u128; 4];
        for kind in 0..4 {
            let gpa = GeneralPurposeAllocator::with_config(Config {
                on_error: OnError::Record,
                ..Config::fast()
            });
            let other = alloc_blocks(&gpa, 40, 1)[0];
            let blocks = alloc_blocks(&gpa, requested, 2);
            free_block(&gpa, blocks[0], requested);
            free_block(&gpa, blocks[1], requested);
            let target = match kind {
                0 => stack.as_ptr() as usize,
                1 => 0x4141_4141_4141_4140,
                2 => other,
                _ => blocks[0] + 8,
            };
            // SAFETY: the freed slot's first word, its link (a write after free).
            unsafe { (blocks[1] as *mut usize).write(target) };
            let again = alloc_blocks(&gpa, requested, 64);
            let forged = gpa.report();
            let forged: Vec<_> = forged.of_kind(FindingKind::WriteAfterFree).collect();
            assert_eq!(forged.len(), 1, "kind {kind}");
            assert_eq!(forged[0].address, blocks[1], "kind {kind}");
            assert_eq!(forged[0].size, 128, "kind {kind}");
            let mut sorted = again.clone();
            sorted.sort_unstable();
            assert!(
                sorted.windows(2).all(|pair| pair[1] - pair[0] >= requested),
                "kind {kind}: blocks overlap"
            );
            assert!(!again.contains(&target), "kind {kind}");
            for &block in &again {
                free_block(&gpa, block, requested);
            }
            free_block(&gpa, other, 40);
        }
    }

    /// Fast mode: a link of a page's thread-free list (written by another thread's free),
    /// overwritten after that free, is reported when the owner takes the list and not
    /// followed, whether the pop meets it (the local list empty) or the walk to the taken
    /// list's end does (`Page::collect_remote` with the local list in use: `deinit`).
    #[test]
    fn fast_mode_reports_a_forged_link_of_the_thread_free_list() {
        let requested = 128;
        let stack = [0u128; 4];
        for walk in [false, true] {
            let mut gpa = GeneralPurposeAllocator::with_config(Config {
                on_error: OnError::Record,
                ..Config::fast()
            });
            let blocks = alloc_blocks(&gpa, requested, 3);
            let (first, second) = (blocks[1], blocks[2]);
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    free_block(&gpa, first, requested);
                    free_block(&gpa, second, requested);
                });
            });
            // The head of the thread-free list is the last freed: its link leads to `first`.
            // SAFETY: the freed slot's first word, its link (a write after free).
            unsafe { (second as *mut usize).write(stack.as_ptr() as usize) };
            if walk {
                // A slot on the local list, so the taken list is walked to its end.
                free_block(&gpa, blocks[0], requested);
                // The leak check collects every thread-free list (the forged link's slot
                // and the one it hid count as live: not asserted).
                let _ = gpa.deinit();
            } else {
                // Past the page's never-carved slots, into the thread-free ones.
                let again = alloc_blocks(&gpa, requested, 600);
                assert!(!again.contains(&(stack.as_ptr() as usize)));
            }
            let report = gpa.report();
            let forged: Vec<_> = report.of_kind(FindingKind::WriteAfterFree).collect();
            assert_eq!(forged.len(), 1, "walk {walk}");
            assert_eq!(forged[0].address, second, "walk {walk}");
        }
    }

    /// Safety mode: a link of the heap's remote list (another thread's free), overwritten by
    /// a write after free before the owner drains the list, is reported as a write after
    /// free of that block (its requested size, at offset 0) and not followed (before: the
    /// drain followed it, a fault in the allocator). Valgrind on the same steps in C
    /// (`tcache_poisoning_targets.c thread`): "Invalid write of size 8 ... 0 bytes inside a
    /// block of size 128 free'd".
    #[test]
    fn a_forged_link_of_the_remote_list_is_reported_and_not_followed() {
        let requested = 128;
        let stack = [0u128; 4];
        let gpa = checked();
        let blocks = alloc_blocks(&gpa, requested, 2);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                free_block(&gpa, blocks[0], requested);
                free_block(&gpa, blocks[1], requested);
            });
        });
        // The head of the remote list is the last freed: its link leads to the first.
        // SAFETY: the freed block's first word, the remote list's link (a write after free).
        unsafe { (blocks[1] as *mut usize).write(stack.as_ptr() as usize) };
        // Enough blocks to need another page: the slow path drains the remote list.
        let again = alloc_blocks(&gpa, requested, 600);
        let report = gpa.report();
        let forged: Vec<_> = report.of_kind(FindingKind::WriteAfterFree).collect();
        assert_eq!(forged.len(), 1);
        assert_eq!(forged[0].address, blocks[1]);
        assert_eq!(forged[0].size, requested);
        assert_eq!(forged[0].offset, Some(0));
        for &block in &again {
            free_block(&gpa, block, requested);
        }
    }

    /// The page, slot index and slot start of the live or freed small block at `block`.
    fn slot_of_block(block: usize) -> (*mut Segment, *mut Page, usize, usize) {
        let Some(pagemap::Entry::Small(segment)) = pagemap::lookup(block) else {
            panic!("not a small block");
        };
        let (page, index) = GeneralPurposeAllocator::checked_slot(segment, block).unwrap();
        // SAFETY: `checked_slot` returns a live page of the segment and a carved slot.
        (segment, page, index, unsafe { (*page).slot_address(index) })
    }

    /// The one-pass neighbour scan of a free (`neighbour_damage`) finds the same first
    /// damaged byte as the slot-by-slot walk (`neighbour_walk`) for a byte planted anywhere
    /// from 16 bytes before the block's slot end (its own redzone, which the scan must not
    /// count) to its reach end: in freed slots (a free-list link in the first word, which does
    /// not count), a quarantined or live neighbour (where both stop) and
    /// the page's never-carved tail. For blocks of 1 to 256 bytes, so slots of 16 bytes to
    /// 320, neighbour runs of one to six slots.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_one_pass_neighbour_scan_finds_what_the_slot_walk_finds() {
        for requested in [1usize, 8, 16, 24, 40, 48, 64, 72, 100, 128, 200, 256] {
            let gpa = checked();
            let blocks = alloc_blocks(&gpa, requested, 24);
            let free = |at: usize| free_block(&gpa, at, requested);
            // Neighbour states: 1, 2 freed (free-list links), 3 quarantined, 4 live; 6, 7, 8
            // quarantined, 9 live; 11..=16 freed; 18 quarantined, 19 freed. The first block
            // freed leaves the quarantine with the flush, the rest stay in it.
            for k in [1, 2, 11, 12, 13, 14, 15, 16, 19] {
                free(blocks[k]);
            }
            gpa.flush_thread_quarantine();
            for k in [3, 6, 7, 8, 18] {
                free(blocks[k]);
            }
            let mut compared = 0;
            for (k, &block) in blocks.iter().enumerate() {
                let (segment, page, index, start) = slot_of_block(block);
                // SAFETY: the test's thread owns the GPA's only heap and its pages.
                let (segment, page) = unsafe { (&*segment, &*page) };
                // SAFETY: safety mode keeps metadata for every slot.
                if unsafe { page.meta(index) }.state.load(Ordering::Acquire) != SLOT_LIVE {
                    continue;
                }
                let block_size = page.block_size as usize;
                let reach_end = start + requested + FREE_REACH;
                let page_end = page.end();
                let zeroed = segment.zero_units && segment.guard_free_units;
                let limit = reach_end.min(page_end);
                let both = || {
                    // SAFETY: the slot and its neighbours up to the reach are page memory of
                    // this thread's page.
                    unsafe {
                        (
                            neighbour_damage(page, index, start, reach_end, page_end, zeroed),
                            neighbour_walk::<false>(
                                page, index, start, reach_end, page_end, zeroed,
                            ),
                        )
                    }
                };
                let (one_pass, walk) = both();
                assert_eq!(one_pass, walk, "requested {requested} block {k}: intact");
                assert_eq!(one_pass, None, "requested {requested} block {k}: intact");
                for at in (start + block_size - 16).max(start + requested)..limit {
                    let byte = at as *mut u8;
                    // SAFETY: inside this thread's page (up to `limit`); restored below before
                    // anything else reads or writes it.
                    let old = unsafe { byte.read() };
                    for value in [0u8, safety::POISON ^ 1, 0x5A] {
                        // SAFETY: as above.
                        unsafe { byte.write(value) };
                        let (one_pass, walk) = both();
                        assert_eq!(
                            one_pass,
                            walk,
                            "requested {requested} block {k}: byte {} past the block set to {value:#x}",
                            at - start - requested,
                        );
                        compared += 1;
                    }
                    // SAFETY: as above.
                    unsafe { byte.write(old) };
                }
            }
            assert!(compared > 0);
            for k in [0, 4, 5, 9, 10, 17, 20, 21, 22, 23] {
                free(blocks[k]);
            }
            assert!(gpa.report().is_clean(), "requested {requested}");
        }
    }

    /// A write into a free slot after a small block is that freed block's write after free,
    /// never the block's overflow (Valgrind names the freed block a write lands in): when
    /// the slot is back on the free list, found by the block's free (the neighbour scan, as
    /// far as [`FREE_REACH`] bytes past its end), at its offset in the freed block; the first
    /// word of such a slot (a free-list link) is not checked by the scan. When the slot is
    /// still quarantined, found as the flush takes it out of the quarantine (an eviction by
    /// later frees does not check it: the slot is checked as an allocation takes it again).
    /// A stray write into a slot no block has held yet, beyond every redzone check's reach
    /// when it is made, is found as an allocation takes that slot (before its canaries cover
    /// the byte): an overflow of the nearest live block before it (freed slots between are
    /// passed over), at the byte's offset; damage that runs on into the next never-used
    /// slot is reported once.
    #[test]
    fn a_write_into_a_never_used_slot_is_found_as_the_slot_is_carved() {
        let requested = 24;
        // (slots between the block and the written one, freed ones among them, offset in
        // the written slot, bytes written)
        for (between, freed, in_slot, len) in [
            (0usize, false, 0usize, 1usize),
            (0, false, 20, 1),
            (2, true, 5, 1),
            (2, false, 5, 1),
            (0, false, 56, 16),
        ] {
            let case = format!("between {between} freed {freed} byte {in_slot} len {len}");
            let gpa = checked();
            let first = alloc_blocks(&gpa, requested, 1)[0];
            let (_, page, index, start) = slot_of_block(first);
            // SAFETY: the test's thread owns the page.
            let block_size = unsafe { (*page).block_size } as usize;
            let middle = alloc_blocks(&gpa, requested, between);
            if freed {
                for &block in &middle {
                    free_block(&gpa, block, requested);
                }
            }
            let at = start + (1 + between) * block_size + in_slot;
            // SAFETY: never-used slots of this thread's page, written as a stray write would
            // (`in_slot + len` runs at most into the slot after).
            unsafe { core::ptr::write_bytes(at as *mut u8, 0x11, len) };
            let taken = alloc_blocks(&gpa, requested, 2);
            assert_eq!(slot_of_block(taken[0]).2, index + 1 + between, "{case}");
            let report = gpa.report();
            let overflows: Vec<_> = report.of_kind(FindingKind::Overflow).collect();
            assert_eq!(overflows.len(), 1, "{case}: one overflow");
            let owner = if between > 0 && !freed {
                middle[between - 1]
            } else {
                first
            };
            assert_eq!(
                (overflows[0].address, overflows[0].size, overflows[0].offset),
                (owner, requested, Some((at - owner) as isize)),
                "{case}"
            );
            assert_eq!(report.findings.len(), 1, "{case}: nothing else");
            for block in taken.into_iter().chain(Some(first)) {
                free_block(&gpa, block, requested);
            }
            if !freed {
                for block in middle {
                    free_block(&gpa, block, requested);
                }
            }
        }
    }

    /// Stop 55: the check before `exec` of the heaps other than the calling thread's
    /// (`check_freed_blocks_of`) finds a write after free in each place another thread's heap
    /// holds a freed block: its quarantine (read in place), its remote list (a block it
    /// allocated that this thread freed) and a freed slot past its quarantine; each at its
    /// offset, with the block's size, once (the block is poisoned again), and the owner's
    /// heap goes on as before (its quarantine keeps its blocks, its remote list is drained
    /// as usual, `deinit` finds nothing more).
    #[test]
    fn another_threads_freed_blocks_are_checked_in_place() {
        let gpa = std::sync::Arc::new(checked());
        let (to_main, from_worker) = std::sync::mpsc::channel();
        let (to_worker, from_main) = std::sync::mpsc::channel::<()>();
        let worker = {
            let gpa = gpa.clone();
            std::thread::spawn(move || {
                // A live neighbour keeps the page (an empty page is released, its freed
                // slots checked then).
                let pair = alloc_blocks(&gpa, 40, 2);
                let old = pair[0];
                free_block(&gpa, old, 40);
                // Out of the quarantine: frees of another size class (each block's class its own).
                for _ in 0..2000 {
                    let other = alloc_blocks(&gpa, 1000, 1)[0];
                    free_block(&gpa, other, 1000);
                }
                let quarantined = alloc_blocks(&gpa, 600, 1)[0];
                free_block(&gpa, quarantined, 600);
                let theirs = alloc_blocks(&gpa, 3000, 1)[0];
                to_main.send((old, quarantined, theirs)).unwrap();
                // Parked outside the GPA while main checks its heap.
                from_main.recv().unwrap();
                let more = alloc_blocks(&gpa, 3000, 4);
                for block in more {
                    free_block(&gpa, block, 3000);
                }
                free_block(&gpa, pair[1], 40);
            })
        };
        let (old, quarantined, theirs) = from_worker.recv().unwrap();
        free_block(&gpa, theirs, 3000);
        let writes = [(old, 40, 39), (quarantined, 600, 9), (theirs, 3000, 2999)];
        for &(block, _, offset) in &writes {
            // SAFETY: freed slots of the GPA, written as a write after free would.
            unsafe { ((block + offset) as *mut u8).write(0) };
        }
        assert_eq!(gpa.report().findings.len(), 0, "nothing before the check");
        for round in 0..2 {
            // SAFETY: the worker waits on its channel, outside the GPA.
            unsafe { gpa.check_freed_blocks_of(|_| true, &|_, _| true) };
            let report = gpa.report();
            let mut found: Vec<_> = report
                .of_kind(FindingKind::WriteAfterFree)
                .map(|f| (f.address, f.size, f.offset))
                .collect();
            found.sort_unstable();
            let mut wanted: Vec<_> = writes
                .iter()
                .map(|&(block, size, offset)| (block, size, Some(offset as isize)))
                .collect();
            wanted.sort_unstable();
            assert_eq!(found, wanted, "round {round}");
            assert_eq!(report.findings.len(), 3, "round {round}: reported once");
        }
        to_worker.send(()).unwrap();
        worker.join().unwrap();
        let mut gpa = std::sync::Arc::into_inner(gpa).unwrap();
        assert_eq!(gpa.deinit(), crate::gpa::Check::Ok);
        assert_eq!(gpa.report().findings.len(), 3, "nothing more at deinit");
    }

    /// A write into a freed block after it left the quarantine is found when an allocation
    /// takes its slot from the free list (`check_reused_slot`), as a write after free of that
    /// block at the written offset (its size and traces, detected at the allocation), and the
    /// allocation is served from the slot as usual; reported once. Slots of 32 bytes (the
    /// inline check of 24 bytes past the link) to 3,072 (`poison_damage`'s AVX2 loop), the
    /// byte after the link, the block's last byte and the slot's last (the block's old
    /// redzone, poisoned at its free too). The eviction itself reads nothing: a write made
    /// while the block was quarantined is found at the reuse too, not as it leaves.
    #[test]
    fn a_write_into_a_freed_slot_is_found_when_an_allocation_takes_it_again() {
        for requested in [24usize, 100, 600, 3000] {
            for place in 0..3 {
                for while_quarantined in [false, true] {
                    let case = format!("{requested} bytes, place {place}, {while_quarantined}");
                    let gpa = checked();
                    let blocks = alloc_blocks(&gpa, requested, 2);
                    let (_, page, _, start) = slot_of_block(blocks[1]);
                    assert_eq!(start, blocks[1]);
                    // SAFETY: the test's thread owns the page.
                    let block_size = unsafe { (*page).block_size } as usize;
                    let offset = [8, requested - 1, block_size - 1][place];
                    free_block(&gpa, blocks[1], requested);
                    let write = || {
                        // SAFETY: the freed slot, ours, written as a write after free would.
                        unsafe { ((blocks[1] + offset) as *mut u8).write(0) };
                    };
                    if while_quarantined {
                        write();
                        // Out of the quarantine by frees of another size, not by the flush
                        // (which checks the poison of the blocks it takes out).
                        for _ in 0..2000 {
                            let other = alloc_blocks(&gpa, 200, 1)[0];
                            free_block(&gpa, other, 200);
                        }
                    } else {
                        gpa.flush_thread_quarantine();
                        write();
                    }
                    assert_eq!(
                        gpa.report().findings.len(),
                        0,
                        "{case}: nothing before the reuse"
                    );
                    let again = alloc_blocks(&gpa, requested, 1)[0];
                    assert_eq!(again, blocks[1], "{case}: the slot is taken again");
                    let report = gpa.report();
                    let waf: Vec<_> = report.of_kind(FindingKind::WriteAfterFree).collect();
                    assert_eq!(report.findings.len(), 1, "{case}");
                    assert_eq!(
                        (waf[0].address, waf[0].size, waf[0].offset),
                        (blocks[1], requested, Some(offset as isize)),
                        "{case}"
                    );
                    for name in ["alloc", "free", "detected"] {
                        assert!(
                            waf[0].stacks.iter().any(|stack| stack.name == name),
                            "{case}: the {name} trace"
                        );
                    }
                    // The new block is whole: it is freed and reused without another report.
                    free_block(&gpa, again, requested);
                    free_block(&gpa, blocks[0], requested);
                    gpa.flush_thread_quarantine();
                    let more = alloc_blocks(&gpa, requested, 4);
                    for block in more {
                        free_block(&gpa, block, requested);
                    }
                    assert_eq!(gpa.report().findings.len(), 1, "{case}: reported once");
                }
            }
        }
    }

    /// A write into the first word of a quarantined block (where the free list's link goes
    /// next: the reuse check skips it) is found as the block leaves the quarantine by later
    /// frees (`evict` reads that word), at its offset.
    #[test]
    fn a_write_into_the_first_word_of_a_quarantined_block_is_found_as_it_leaves() {
        for (requested, offset) in [(1usize, 0usize), (8, 7), (48, 0), (48, 3), (600, 5)] {
            let case = format!("{requested} bytes, offset {offset}");
            let gpa = checked();
            let block = alloc_blocks(&gpa, requested, 1)[0];
            free_block(&gpa, block, requested);
            // SAFETY: the freed block, quarantined, written as a write after free would.
            unsafe { ((block + offset) as *mut u8).write(0x11) };
            for _ in 0..2000 {
                let other = alloc_blocks(&gpa, 200, 1)[0];
                free_block(&gpa, other, 200);
            }
            let report = gpa.report();
            let waf: Vec<_> = report.of_kind(FindingKind::WriteAfterFree).collect();
            assert_eq!(report.findings.len(), 1, "{case}");
            assert_eq!(
                (waf[0].address, waf[0].size, waf[0].offset),
                (block, requested, Some(offset as isize)),
                "{case}"
            );
            // Poisoned again: the slot's reuse (or its page's release) finds nothing more.
            let again = alloc_blocks(&gpa, requested, 4);
            assert_eq!(gpa.report().findings.len(), 1, "{case}");
            for block in again {
                free_block(&gpa, block, requested);
            }
        }
    }

    /// A block freed by another thread comes back through its owner's remote list (whose
    /// link lay in its first word) and the quarantine to its page's free list: a write into
    /// it there is found as an allocation takes the slot again, at its offset, once.
    #[test]
    fn a_write_into_a_slot_freed_by_another_thread_is_found_at_its_reuse() {
        let requested = 128;
        let gpa = checked();
        let block = alloc_blocks(&gpa, requested, 1)[0];
        std::thread::scope(|scope| {
            scope.spawn(|| free_block(&gpa, block, requested));
        });
        // Enough blocks to need another page: the slow path drains the remote list.
        let mut taken = alloc_blocks(&gpa, requested, 600);
        gpa.flush_thread_quarantine();
        assert_eq!(gpa.report().findings.len(), 0);
        // SAFETY: the freed slot, back on its page's free list, written as a write after
        // free would.
        unsafe { ((block + 50) as *mut u8).write(7) };
        while !taken.contains(&block) && taken.len() < 4000 {
            taken.push(alloc_blocks(&gpa, requested, 1)[0]);
        }
        assert!(taken.contains(&block), "the slot is taken again");
        let report = gpa.report();
        let waf: Vec<_> = report.of_kind(FindingKind::WriteAfterFree).collect();
        assert_eq!(report.findings.len(), 1);
        assert_eq!(
            (waf[0].address, waf[0].size, waf[0].offset),
            (block, requested, Some(50))
        );
        for block in taken {
            free_block(&gpa, block, requested);
        }
    }

    /// A slot freed, written after its eviction and never taken again is found when its page
    /// is released (emptied by the eviction of its last block while another page of its class
    /// heads the queue): `remember_released` checks the poison of every freed slot before the
    /// page's metadata goes, detected at that free.
    #[test]
    fn a_write_into_a_free_slot_is_found_when_its_page_is_released() {
        let requested = 1000;
        let gpa = checked();
        let first = alloc_blocks(&gpa, requested, 1)[0];
        let (_, page, _, _) = slot_of_block(first);
        let mut blocks = std::vec![first];
        loop {
            let block = alloc_blocks(&gpa, requested, 1)[0];
            blocks.push(block);
            if slot_of_block(block).1 != page {
                break;
            }
        }
        // `blocks` but the last lie on `page`, which is full; the last heads the queue.
        let on_page = &blocks[..blocks.len() - 1];
        let (written, kept) = (on_page[0], on_page[1]);
        for &block in &on_page[2..] {
            free_block(&gpa, block, requested);
        }
        free_block(&gpa, written, requested);
        gpa.flush_thread_quarantine();
        // SAFETY: a freed slot of this thread's page, off the quarantine, written as a write
        // after free would.
        unsafe { ((written + 300) as *mut u8).write(1) };
        assert_eq!(gpa.report().findings.len(), 0);
        free_block(&gpa, kept, requested);
        gpa.flush_thread_quarantine();
        // SAFETY: the descriptor lies in the segment's header, which stays mapped.
        assert!(unsafe { (*page).meta.is_null() }, "the page was released");
        let report = gpa.report();
        let waf: Vec<_> = report.of_kind(FindingKind::WriteAfterFree).collect();
        assert_eq!(report.findings.len(), 1);
        assert_eq!(
            (waf[0].address, waf[0].size, waf[0].offset),
            (written, requested, Some(300))
        );
        free_block(&gpa, *blocks.last().unwrap(), requested);
    }

    #[test]
    fn writes_into_free_neighbour_slots_are_the_freed_blocks_writes_after_free() {
        let requested = 24;
        // (slot of the planted byte after the block's, offset in that slot, quarantined,
        // reported)
        for (neighbour, in_slot, quarantined, reported) in [
            (1usize, 8usize, true, true),
            (1, 0, true, true),
            (1, 0, false, false),
            (1, 7, false, false),
            (1, 8, false, true),
            (1, 30, false, true),
            (2, 20, true, true),
            (2, 20, false, true),
        ] {
            let case = format!("neighbour {neighbour} byte {in_slot} quarantined {quarantined}");
            let gpa = checked();
            let blocks = alloc_blocks(&gpa, requested, 4);
            let free = |at: usize| free_block(&gpa, at, requested);
            let (_, page, index, start) = slot_of_block(blocks[0]);
            // SAFETY: the test's thread owns the page.
            let block_size = unsafe { (*page).block_size } as usize;
            // The blocks follow each other in slots `index`, `index + 1`, ...
            for (k, &block) in blocks.iter().enumerate() {
                assert_eq!(slot_of_block(block).2, index + k);
            }
            free(blocks[1]);
            free(blocks[2]);
            if !quarantined {
                gpa.flush_thread_quarantine();
            }
            let at = start + neighbour * block_size + in_slot;
            if at - start >= requested + FREE_REACH {
                continue;
            }
            // SAFETY: a free slot of this thread's page, written as a stray write would.
            let old = unsafe { (at as *mut u8).replace(0x11) };
            free(blocks[0]);
            if quarantined {
                gpa.flush_thread_quarantine();
            }
            let report = gpa.report();
            assert_eq!(report.of_kind(FindingKind::Overflow).count(), 0, "{case}");
            let waf: Vec<_> = report.of_kind(FindingKind::WriteAfterFree).collect();
            if reported {
                assert_eq!(waf.len(), 1, "{case}: one write after free");
                assert_eq!(
                    (waf[0].address, waf[0].size, waf[0].offset),
                    (blocks[neighbour], requested, Some(in_slot as isize)),
                    "{case}"
                );
                assert!(
                    waf[0].stacks.iter().any(|stack| stack.name == "free"),
                    "{case}: the free trace"
                );
            } else {
                assert!(waf.is_empty(), "{case}: a link word is no write after free");
                // SAFETY: the link word written above, put back before the slot is reused.
                unsafe { (at as *mut u8).write(old) };
            }
        }
    }

    #[test]
    fn a_heap_that_faults_its_purged_pages_in_again_keeps_more_resident() {
        let mut gpa = GeneralPurposeAllocator::with_config(Config::fast());
        let allocator = gpa.allocator();
        // 100 KiB blocks: a page each, released (and its units counted resident) when freed.
        let size = 100 << 10;
        let mut bounds = Vec::new();
        for round in 0..6u8 {
            let blocks: Vec<_> = (0..96)
                .map(|_| {
                    let block = allocator.raw_alloc(size, 16).unwrap();
                    // SAFETY: a fresh block of `size` bytes.
                    unsafe { block.as_ptr().write_bytes(round, size) };
                    block
                })
                .collect();
            for block in blocks {
                // SAFETY: each block was written whole above and is freed once.
                unsafe {
                    assert_eq!(*block.as_ptr().add(size - 1), round);
                    allocator.raw_free(block, size, 16);
                }
            }
            bounds.push(purge_state(&gpa).0);
        }
        // Each round frees ~9.4 MiB and allocates it again: the bound grows, within limits.
        assert!(bounds
            .iter()
            .all(|&b| (RETAINED_DIRTY_MIN..=RETAINED_DIRTY_MAX).contains(&b)));
        assert!(*bounds.last().unwrap() > RETAINED_DIRTY_MIN, "{bounds:?}");
        let (bound, resident) = purge_state(&gpa);
        assert!(resident <= bound, "{resident} > {bound}");
        assert_eq!(gpa.deinit(), crate::gpa::Check::Ok);
    }

    #[test]
    fn a_checked_heap_keeps_a_whole_burst_of_frees_resident_when_it_comes_again() {
        // Check mode's shape of Dr. Memory's 64 KiB churn: rounds of 40 MiB allocated, then
        // freed at once (several purges in one burst, no page taken between them).
        let mut gpa = checked();
        let allocator = gpa.allocator();
        let size = 80 << 10;
        let mut bounds = Vec::new();
        for round in 0..8u8 {
            let blocks: Vec<_> = (0..512)
                .map(|_| {
                    let block = allocator.raw_alloc(size, 16).unwrap();
                    // SAFETY: a fresh block of `size` bytes.
                    unsafe { block.as_ptr().write(round) };
                    block
                })
                .collect();
            for block in blocks {
                // SAFETY: each block was allocated above and is freed once.
                unsafe { allocator.raw_free(block, size, 16) };
            }
            gpa.flush_thread_quarantine();
            bounds.push(purge_state(&gpa).0);
        }
        // A burst no longer halves what the round before doubled: the bound climbs to the
        // checked maximum and stays there.
        assert!(bounds
            .iter()
            .all(|&b| (RETAINED_DIRTY_MIN..=RETAINED_DIRTY_MAX_CHECKED).contains(&b)));
        assert_eq!(
            *bounds.last().unwrap(),
            RETAINED_DIRTY_MAX_CHECKED,
            "{bounds:?}"
        );
        let (bound, resident) = purge_state(&gpa);
        assert!(resident <= bound, "{resident} > {bound}");
        assert_eq!(gpa.deinit(), crate::gpa::Check::Ok);
    }

    /// The heap a thread uses, its segments, and the owner of each.
    fn heap_segments(gpa: &GeneralPurposeAllocator) -> (*mut Heap, Vec<usize>) {
        let heap = heap::cached(gpa.id());
        assert!(!heap.is_null());
        let mut segments = Vec::new();
        // SAFETY: this thread's heap and its segments, read between operations.
        unsafe {
            let mut segment = (*heap).segments;
            while !segment.is_null() {
                assert_eq!((*segment).heap, heap);
                segments.push(segment as usize);
                segment = (*segment).next;
            }
        }
        (heap, segments)
    }

    /// Fast mode: a thread that runs on takes over the segments of a thread that exited
    /// rather than map more of its own, once it has mapped `TAKEOVER_WAITS` more (bench/c/
    /// rptest: the survivor ran on with the exited thread's pages resident and unused). The exited thread's live blocks stay intact and
    /// are freed as any others, the slots freed into its pages are reused, the heap it left
    /// is empty and adoptable, and leak counts are unchanged.
    #[test]
    fn a_running_thread_takes_over_an_exited_threads_segments_before_mapping_one() {
        let mut gpa = GeneralPurposeAllocator::with_config(Config::fast());
        let allocator = gpa.sync_allocator();
        let first = allocator.raw_alloc(1024, 8).unwrap();
        let (_, own_before) = heap_segments(&gpa);
        assert_eq!(own_before.len(), 1);
        // Another thread fills most of a segment with 1 KiB blocks, each written, and exits.
        let blocks: Vec<usize> = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    (0..3500)
                        .map(|i| {
                            let block = allocator.raw_alloc(1024, 8).unwrap();
                            // SAFETY: a fresh block of 1024 bytes.
                            unsafe { core::ptr::write_bytes(block.as_ptr(), i as u8, 1024) };
                            block.as_ptr() as usize
                        })
                        .collect()
                })
                .join()
                .unwrap()
        });
        let theirs = Segment::of(blocks[0]) as usize;
        assert!(!own_before.contains(&theirs));
        // Free half of them here (remote frees into the abandoned heap's pages).
        for &block in blocks.iter().step_by(2) {
            // SAFETY: live blocks of this layout, freed once.
            unsafe { allocator.raw_free(NonNull::new(block as *mut u8).unwrap(), 1024, 8) };
        }
        // Fill this thread's segment, then `TAKEOVER_WAITS` new ones, and more: the next
        // segment is the exited thread's (63 pages of 64 slots a segment).
        let full = (1 + TAKEOVER_WAITS as usize) * 63 * 64;
        let mine: Vec<_> = (0..full + 500)
            .map(|_| allocator.raw_alloc(1024, 8).unwrap().as_ptr() as usize)
            .collect();
        let (heap, own_after) = heap_segments(&gpa);
        assert!(own_after.contains(&theirs), "{own_after:x?} {theirs:x}");
        assert_eq!(
            own_after.len(),
            2 + TAKEOVER_WAITS as usize,
            "{own_after:x?}"
        );
        assert!(mine
            .iter()
            .any(|&block| Segment::of(block) as usize == theirs));
        // The exited thread's heap: abandoned, empty, nothing queued.
        let mut others = 0;
        gpa.visit_heaps(|other| {
            if other != heap {
                others += 1;
                // SAFETY: an abandoned heap, read under the list lock.
                unsafe {
                    assert_eq!((*other).owner_thread.load(Ordering::Relaxed), 0);
                    assert!((*other).segments.is_null());
                    assert!((*other).queues.iter().all(|queue| queue.head.is_null()));
                }
            }
        });
        assert_eq!(others, 1);
        for (i, &block) in blocks.iter().enumerate().skip(1).step_by(2) {
            // SAFETY: live blocks of 1024 bytes.
            let bytes = unsafe { core::slice::from_raw_parts(block as *const u8, 1024) };
            assert!(bytes.iter().all(|&b| b == i as u8), "block {i} changed");
        }
        let usage = gpa.usage();
        assert_eq!(usage.segments, 2 + TAKEOVER_WAITS as usize);
        assert_eq!(
            usage.small_live_bytes,
            (1 + blocks.len() / 2 + mine.len()) * 1024
        );
        for block in blocks.iter().skip(1).step_by(2).chain(&mine) {
            // SAFETY: live blocks of this layout, freed once.
            unsafe { allocator.raw_free(NonNull::new(*block as *mut u8).unwrap(), 1024, 8) };
        }
        // SAFETY: as above.
        unsafe { allocator.raw_free(first, 1024, 8) };
        assert_eq!(gpa.deinit(), crate::gpa::Check::Ok);
    }

    #[test]
    fn a_heap_that_frees_without_allocating_again_goes_back_to_the_smallest_bound() {
        let mut gpa = GeneralPurposeAllocator::with_config(Config::fast());
        let allocator = gpa.allocator();
        let size = 100 << 10;
        let mut blocks: Vec<_> = (0..320)
            .map(|_| allocator.raw_alloc(size, 16).unwrap())
            .collect();
        // Free in bursts: every purge after the first finds nothing faulted in since the last.
        for block in blocks.drain(..) {
            // SAFETY: live blocks of this layout, freed once.
            unsafe { allocator.raw_free(block, size, 16) };
        }
        let (bound, resident) = purge_state(&gpa);
        assert_eq!(bound, RETAINED_DIRTY_MIN);
        assert!(resident <= bound);
        assert_eq!(gpa.deinit(), crate::gpa::Check::Ok);
    }

    #[test]
    fn the_unchecked_page_lookup_finds_the_checked_descriptor_for_every_unit() {
        let gpa = GeneralPurposeAllocator::with_config(Config::fast());
        let allocator = gpa.allocator();
        // Pages of several classes (several units each for the larger ones) in one segment.
        let blocks: Vec<_> = [16, 48, 1000, 5000, 30000]
            .iter()
            .flat_map(|&size| (0..3).map(move |_| (size, 16)))
            .map(|(size, align)| (allocator.raw_alloc(size, align).unwrap(), size, align))
            .collect();
        for &(block, _, _) in &blocks {
            let address = block.as_ptr() as usize;
            let segment = Segment::of(address);
            // SAFETY: a live block of ours: its segment is live.
            unsafe {
                let checked = (*segment).page_of(address);
                assert_eq!((*segment).page_of_unchecked(address), checked);
                // Every address of the page's units, first to last, has that descriptor.
                let start = (*checked).start as usize;
                let end = start + (*checked).units as usize * super::super::segment::UNIT_SIZE;
                for probe in [start, address, end - 1] {
                    assert_eq!((*segment).page_of_unchecked(probe), checked);
                }
                // A unit never claimed names the descriptor of unit 0, which is no page.
                let last = (*segment).base() + super::super::segment::SEGMENT_SIZE - 1;
                if (*segment).free_units & (1 << 63) != 0 && (*segment).unit_page[63] == 0 {
                    let never = (*segment).page_of_unchecked(last);
                    assert_eq!(never, (*segment).pages.as_mut_ptr());
                    assert!(!(*never).is_c_slot(last));
                }
            }
        }
        for (block, size, align) in blocks {
            // SAFETY: each block is freed once, with its layout.
            unsafe { allocator.raw_free(block, size, align) };
        }
    }

    #[test]
    fn a_damaged_segment_header_is_reported_and_not_followed() {
        let mut gpa = checked();
        let allocator = gpa.allocator();
        let block = allocator.raw_alloc(24, 8).unwrap();
        let segment = Segment::of(block.as_ptr() as usize);
        // SAFETY: the test damages the live segment's header on purpose (as a stray write of
        // a program would), then restores it; nothing else uses the GPA meanwhile.
        unsafe {
            let kind = (*segment).common.kind;
            (*segment).common.kind = 0xdead;
            allocator.raw_free(block, 24, 8);
            (*segment).common.kind = kind;
        }
        let report = gpa.take_report();
        assert_eq!(
            report.of_kind(FindingKind::InternalError).count(),
            1,
            "{report}"
        );
        // The block was not freed through the damaged header: it still is live.
        assert_eq!(gpa.usable_size(block.as_ptr()), 24);
        // SAFETY: as above, for a page descriptor.
        unsafe {
            let page = (*segment).page_of(block.as_ptr() as usize);
            let size = (*page).block_size;
            (*page).block_size = 7;
            allocator.raw_free(block, 24, 8);
            (*page).block_size = size;
            allocator.raw_free(block, 24, 8);
        }
        let report = gpa.report();
        assert_eq!(report.findings.len(), 1, "{report}");
        assert_eq!(report.findings[0].kind, FindingKind::InternalError);
        assert_eq!(gpa.deinit(), crate::gpa::Check::Ok);
    }
}
