//! Small blocks: the hot paths (pop and push on the current page), their slow paths (new
//! pages and segments, draining remote frees) and their safety-mode twins (slot states,
//! canaries, poison and quarantine).
//!
//! # Invariants
//! * The fast paths are only taken with safety off; every safety-mode operation goes through
//!   the `*_checked` functions, which keep the `SlotMeta` state machine:
//!   `FREE/FREED --alloc--> LIVE --free--> QUARANTINED --evict--> FREED`.
//! * A slot's state moves out of `LIVE` by one compare-and-swap, so two threads freeing the
//!   same block concurrently produce exactly one free and one double-free report.

use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::Ordering;

use super::heap::{self, Heap};
use super::segment::{
    FreeBlock, Page, Segment, SlotMeta, SEGMENT_SIZE, SLOT_FREE, SLOT_FREED, SLOT_LIVE,
    SLOT_QUARANTINED, UNIT_SIZE,
};
use super::size_class::Class;
use super::{internal, pagemap, safety, GeneralPurposeAllocator};
use crate::report::{FindingKind, RawFinding};
use crate::trace::TraceId;

impl GeneralPurposeAllocator {
    /// The calling thread's heap, created on first use.
    #[inline(always)]
    fn current_heap(&self) -> Option<NonNull<Heap>> {
        let heap = heap::cached(self.id());
        if !heap.is_null() {
            // SAFETY: checked non-null.
            return Some(unsafe { NonNull::new_unchecked(heap) });
        }
        heap::find_or_create(self)
    }

    #[inline(always)]
    pub(super) fn alloc_small_fast(&self, class: Class) -> Option<NonNull<u8>> {
        let heap = heap::cached(self.id.load(Ordering::Relaxed));
        if !heap.is_null() {
            // SAFETY: the cached heap belongs to this thread; its queue heads are live pages.
            unsafe {
                let page = (*heap).queues[class].head;
                if !page.is_null() {
                    if let Some(block) = (*page).pop() {
                        return Some(block);
                    }
                }
            }
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
        if self.config.safety && !page.free.is_null() {
            // SAFETY: the head is a free slot of this page.
            let next = unsafe { (*page.free).next } as usize;
            if next != 0 && !is_slot_start(page, next) {
                self.corrupt_free_list(page);
            }
        }
        page.pop()
    }

    #[cold]
    fn corrupt_free_list(&self, page: &mut Page) {
        let block = page.free as usize;
        let (index, _) = page.slot_of(block);
        let mut finding = RawFinding::new(FindingKind::WriteAfterFree, block);
        finding.size = page.block_size as usize;
        // SAFETY: safety mode has metadata for every slot; `index` is a carved slot.
        let meta = unsafe { page.meta(index) };
        finding.alloc_trace = TraceId(meta.alloc_trace.load(Ordering::Relaxed));
        finding.free_trace = TraceId(meta.free_trace.load(Ordering::Relaxed));
        finding.site_trace = self.trace_here();
        // The rest of the list cannot be trusted: drop it (those slots are lost, the heap stays
        // consistent). The head slot stays in use, as if leaked, so it is never handed out.
        let mut lost = 0u32;
        let mut cursor = page.free;
        page.free = core::ptr::null_mut();
        while !cursor.is_null() && is_slot_start(page, cursor as usize) && lost < page.capacity {
            lost += 1;
            // SAFETY: validated as a slot start of this page.
            cursor = unsafe { (*cursor).next };
        }
        page.used += lost;
        self.record(finding);
    }

    #[cold]
    fn new_page(&self, heap: &mut Heap, class: Class) -> Option<*mut Page> {
        let mut segment = heap.segments;
        let zeroed = self.config.backing_allocator_zeroes;
        while !segment.is_null() {
            // SAFETY: the heap's segments are live and owned by this thread.
            if let Some(page) = unsafe { (*segment).claim_page(class, zeroed) } {
                return self.prepare_page(page, segment);
            }
            // SAFETY: as above.
            segment = unsafe { (*segment).next };
        }
        let segment = self.new_segment(heap)?;
        // SAFETY: a fresh segment has every page unit free.
        let page = unsafe { (*segment).claim_page(class, zeroed) }?;
        self.prepare_page(page, segment)
    }

    fn prepare_page(&self, page: *mut Page, segment: *mut Segment) -> Option<*mut Page> {
        if !self.config.safety {
            return Some(page);
        }
        // SAFETY: a freshly claimed page of a live segment.
        let capacity = unsafe { (*page).capacity } as usize;
        let bytes = capacity * core::mem::size_of::<SlotMeta>();
        let Some(meta) = internal::alloc(bytes, 16) else {
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
            )
        };
        if !pagemap::set_range(
            memory.as_ptr() as usize,
            SEGMENT_SIZE,
            memory.as_ptr() as usize,
        ) {
            // SAFETY: never published.
            unsafe { self.config.backing_allocator.free(memory, layout) };
            return None;
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
        let base = segment as usize;
        heap::forget_c_segment(base);
        pagemap::set_range(base, SEGMENT_SIZE, 0);
        // SAFETY: constant, valid layout.
        let layout = unsafe { Layout::from_size_align_unchecked(SEGMENT_SIZE, SEGMENT_SIZE) };
        // SAFETY: caller contract; the segment came from the backing allocator.
        unsafe {
            self.config
                .backing_allocator
                .free(NonNull::new_unchecked(segment.cast()), layout)
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
            let page = (*segment).page_of(memory.as_ptr() as usize);
            let owner = (*segment).heap;
            if owner == heap::cached(self.id.load(Ordering::Relaxed)) {
                (*page).push(memory);
                if page_needs_attention(&*owner, &*page, page) {
                    self.page_gained_free(&mut *owner, page);
                }
            } else {
                (*owner).push_remote(memory);
            }
        }
    }

    /// A page of this thread's heap got a slot back: requeue it, or release it when empty.
    #[cold]
    #[inline(never)]
    pub(super) fn page_gained_free(&self, heap: &mut Heap, page: *mut Page) {
        // SAFETY: a live page of the caller's heap.
        let page_ref = unsafe { &mut *page };
        if !page_ref.in_queue {
            heap.enqueue(page);
        }
        let queue = heap.queues[page_ref.class as usize];
        if page_ref.used != 0 || queue.head == page {
            return;
        }
        heap.dequeue(page);
        self.release_page(heap, page);
    }

    fn release_page(&self, heap: &mut Heap, page: *mut Page) {
        let segment = Segment::of(page as usize);
        // SAFETY: an empty page of this heap, out of its queue; its metadata came from the
        // internal heap.
        unsafe {
            let meta = (*page).meta;
            if !meta.is_null() {
                internal::free(NonNull::new_unchecked(meta.cast()));
                (*page).meta = core::ptr::null_mut();
            }
            heap.dirty_bytes += (*page).units as usize * UNIT_SIZE;
            (*segment).release_page(page);
            if (*segment).is_empty() && self.has_other_empty_segment(heap, segment) {
                heap.dirty_bytes = heap.dirty_bytes.saturating_sub(SEGMENT_SIZE - UNIT_SIZE);
                self.unlink_segment(heap, segment);
                self.release_segment(segment);
            }
        }
        if heap.dirty_bytes > RETAINED_DIRTY_BYTES {
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

    fn has_other_empty_segment(&self, heap: &Heap, except: *mut Segment) -> bool {
        let mut segment = heap.segments;
        while !segment.is_null() {
            // SAFETY: the heap's segments are live.
            unsafe {
                if segment != except && (*segment).is_empty() {
                    return true;
                }
                segment = (*segment).next;
            }
        }
        false
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

    /// Takes the blocks other threads freed and frees them here.
    pub(super) fn drain_remote(&self, heap: &mut Heap) {
        let mut block = heap.take_remote();
        while !block.is_null() {
            // SAFETY: remote entries are blocks of this heap, linked via their first word.
            let next = unsafe { (*block).next };
            // SAFETY: as above.
            let memory = unsafe { NonNull::new_unchecked(block.cast::<u8>()) };
            if self.config.safety {
                let size = block_size_of(memory.as_ptr() as usize);
                self.quarantine(heap, memory.as_ptr() as usize | 1, size);
            } else {
                self.push_local(heap, memory);
            }
            block = next;
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

    #[cold]
    pub(super) fn alloc_small_checked(&self, class: Class, layout: Layout) -> Option<NonNull<u8>> {
        let (block, page) = self.alloc_small_slow_or_fast(class)?;
        // SAFETY: `page` is the live page the block came from.
        let page = unsafe { &mut *page };
        let address = block.as_ptr() as usize;
        let (index, _) = page.slot_of(address);
        // SAFETY: safety mode keeps metadata for every slot.
        let meta = unsafe { page.meta(index) };
        // Only the owner thread writes the state of a slot that is not live, so a plain store
        // suffices (no other thread may free it before we hand it out).
        debug_assert!(matches!(
            meta.state.load(Ordering::Relaxed),
            SLOT_FREE | SLOT_FREED
        ));
        meta.state.store(SLOT_LIVE, Ordering::Release);
        meta.requested
            .store(layout.size() as u32, Ordering::Relaxed);
        meta.align_log2
            .store(layout.align().trailing_zeros() as u8, Ordering::Relaxed);
        meta.tag.store(0, Ordering::Relaxed);
        meta.alloc_trace
            .store(self.trace_here().0, Ordering::Relaxed);
        meta.free_trace.store(0, Ordering::Relaxed);
        // SAFETY: the slot is ours and `block_size` bytes long.
        unsafe { safety::write_canary(address, layout.size(), page.block_size as usize) };
        Some(block)
    }

    #[inline(always)]
    fn alloc_small_slow_or_fast(&self, class: Class) -> Option<(NonNull<u8>, *mut Page)> {
        let heap = heap::cached(self.id());
        if !heap.is_null() {
            // SAFETY: the cached heap belongs to this thread.
            unsafe {
                let page = (*heap).queues[class].head;
                if !page.is_null() {
                    if let Some(block) = self.pop_checked(&mut *page) {
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
    /// `base` is one of this GPA's small segments.
    pub(super) unsafe fn free_small_general(
        &self,
        base: usize,
        memory: NonNull<u8>,
        claimed: Option<Layout>,
    ) {
        let address = memory.as_ptr() as usize;
        // SAFETY: caller contract.
        let segment = unsafe { &mut *(base as *mut Segment) };
        let Some(page) = self.page_holding(segment, address) else {
            self.invalid_free(address, claimed);
            return;
        };
        // SAFETY: a live page of this segment.
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
        // SAFETY: safety mode keeps metadata for every slot; `index < capacity`.
        let meta = unsafe { page.meta(index) };
        let state = meta.state.load(Ordering::Acquire);
        if !at_start {
            let mut finding = RawFinding::new(FindingKind::InvalidFree, address);
            if state == SLOT_LIVE {
                finding.size = meta.requested.load(Ordering::Relaxed) as usize;
                finding.alloc_trace = TraceId(meta.alloc_trace.load(Ordering::Relaxed));
            }
            finding.site_trace = self.trace_here();
            self.record(finding);
            return;
        }
        let requested = meta.requested.load(Ordering::Relaxed) as usize;
        if state == SLOT_LIVE {
            if let Some(layout) = claimed {
                // The block is identified exactly, so after a mismatch freeing it is safe: go on.
                self.check_slot_layout(meta, address, layout);
            }
        }
        if meta
            .state
            .compare_exchange(
                SLOT_LIVE,
                SLOT_QUARANTINED,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_err()
        {
            self.report_bad_state(page, index, address);
            return;
        }
        self.uncharge_if_limited(requested);
        let block_size = page.block_size as usize;
        // SAFETY: the slot was live and is now ours to inspect and poison.
        unsafe {
            if !safety::canary_intact(address, requested, block_size) {
                let mut finding = RawFinding::new(FindingKind::Overflow, address);
                finding.size = requested;
                finding.alloc_trace = TraceId(meta.alloc_trace.load(Ordering::Relaxed));
                finding.site_trace = self.trace_here();
                self.record(finding);
            }
            meta.free_trace
                .store(self.trace_here().0, Ordering::Relaxed);
            safety::poison(address, block_size);
        }
        match self.current_heap() {
            Some(mut heap) if core::ptr::eq(heap.as_ptr(), segment.heap) => {
                // SAFETY: this thread owns the heap.
                self.quarantine(unsafe { heap.as_mut() }, address, block_size);
            }
            // SAFETY: the owner heap outlives its segments; the block is given up.
            _ => unsafe { (*segment.heap).push_remote(memory) },
        }
    }

    /// Whether `claimed` is the layout the live slot was allocated with; reports a layout
    /// mismatch (with the allocation trace) when it is not.
    fn check_slot_layout(&self, meta: &SlotMeta, address: usize, claimed: Layout) -> bool {
        let requested = meta.requested.load(Ordering::Relaxed) as usize;
        let align = 1usize << meta.align_log2.load(Ordering::Relaxed);
        if claimed.size() == requested && claimed.align() == align {
            return true;
        }
        let mut finding = RawFinding::new(FindingKind::LayoutMismatch, address);
        finding.size = requested;
        finding.align = align;
        finding.claimed_size = claimed.size();
        finding.claimed_align = claimed.align();
        finding.alloc_trace = TraceId(meta.alloc_trace.load(Ordering::Relaxed));
        finding.site_trace = self.trace_here();
        self.record(finding);
        false
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
        let kind = if state == SLOT_QUARANTINED || state == SLOT_FREED {
            FindingKind::DoubleFree
        } else {
            FindingKind::InvalidFree
        };
        let mut finding = RawFinding::new(kind, address);
        if kind == FindingKind::DoubleFree {
            finding.size = meta.requested.load(Ordering::Relaxed) as usize;
            finding.alloc_trace = TraceId(meta.alloc_trace.load(Ordering::Relaxed));
            finding.free_trace = TraceId(meta.free_trace.load(Ordering::Relaxed));
        }
        finding.site_trace = self.trace_here();
        self.record(finding);
    }

    /// The page covering `address` in a segment, if the address is inside a page's slots.
    fn page_holding(&self, segment: &mut Segment, address: usize) -> Option<*mut Page> {
        let base = segment as *mut Segment as usize;
        if address < base + UNIT_SIZE || address >= base + SEGMENT_SIZE {
            return None;
        }
        let page = segment.page_of(address);
        // SAFETY: descriptors of a live segment are always initialized (zeroed when unused).
        let page_ref = unsafe { &*page };
        let end =
            page_ref.start as usize + page_ref.capacity as usize * page_ref.block_size as usize;
        (page_ref.units != 0 && address >= page_ref.start as usize && address < end).then_some(page)
    }

    /// Holds a freed block back from reuse; the oldest leaves when the quarantine is full.
    /// Bit 0 of `entry` is set when the block came through a remote list.
    fn quarantine(&self, heap: &mut Heap, entry: usize, size: usize) {
        if heap.quarantine.capacity == 0 {
            self.evict(heap, entry);
            return;
        }
        while heap.quarantine.len == heap.quarantine.capacity
            || (heap.quarantine.len != 0
                && heap.quarantine.bytes + size > self.config.quarantine_bytes)
        {
            let oldest = heap.quarantine.pop_oldest();
            self.evict(heap, oldest);
        }
        heap.quarantine.push(entry, size);
    }

    /// A block leaves the quarantine: check its poison, then make it reusable.
    fn evict(&self, heap: &mut Heap, entry: usize) {
        let address = entry & !1;
        let skip = if entry & 1 != 0 {
            core::mem::size_of::<FreeBlock>()
        } else {
            0
        };
        let segment = Segment::of(address);
        // SAFETY: quarantined blocks are slots of this heap's live pages.
        let page_ptr = unsafe { (*segment).page_of(address) };
        // SAFETY: as above.
        let page = unsafe { &mut *page_ptr };
        let (index, _) = page.slot_of(address);
        // SAFETY: safety mode keeps metadata for every slot.
        let meta = unsafe { page.meta(index) };
        let block_size = page.block_size as usize;
        // SAFETY: the block is freed and still ours.
        if !unsafe { safety::poison_intact(address, skip, block_size) } {
            let mut finding = RawFinding::new(FindingKind::WriteAfterFree, address);
            finding.size = meta.requested.load(Ordering::Relaxed) as usize;
            finding.alloc_trace = TraceId(meta.alloc_trace.load(Ordering::Relaxed));
            finding.free_trace = TraceId(meta.free_trace.load(Ordering::Relaxed));
            finding.site_trace = self.trace_here();
            self.record(finding);
        }
        meta.state.store(SLOT_FREED, Ordering::Release);
        // SAFETY: a used slot of this page that nobody uses any more.
        self.push_to_page(heap, page_ptr, unsafe {
            NonNull::new_unchecked(address as *mut u8)
        });
    }

    /// Empties the quarantine (checking poison), e.g. before a leak check.
    pub(super) fn flush_quarantine(&self, heap: &mut Heap) {
        while heap.quarantine.len != 0 {
            let oldest = heap.quarantine.pop_oldest();
            self.evict(heap, oldest);
        }
    }

    /// Resizes a small block within its slot.
    ///
    /// # Safety
    /// `base` is one of this GPA's small segments.
    pub(super) unsafe fn resize_small(
        &self,
        base: usize,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> bool {
        let address = memory.as_ptr() as usize;
        // SAFETY: caller contract.
        let segment = unsafe { &mut *(base as *mut Segment) };
        let Some(page) = self.page_holding(segment, address) else {
            self.invalid_free(address, Some(layout));
            return false;
        };
        // SAFETY: a live page of this segment.
        let page = unsafe { &*page };
        let block_size = page.block_size as usize;
        if !self.config.safety {
            return new_len <= block_size;
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
        if new_len + safety::CANARY_ROOM > block_size {
            return false;
        }
        // SAFETY: the slot is live and `block_size` bytes long.
        unsafe {
            if !safety::canary_intact(address, requested, block_size) {
                let mut finding = RawFinding::new(FindingKind::Overflow, address);
                finding.size = requested;
                finding.alloc_trace = TraceId(meta.alloc_trace.load(Ordering::Relaxed));
                finding.site_trace = self.trace_here();
                self.record(finding);
            }
            safety::write_canary(address, new_len, block_size);
        }
        meta.requested.store(new_len as u32, Ordering::Relaxed);
        if self.config.resize_stack_traces {
            meta.alloc_trace
                .store(self.trace_here().0, Ordering::Relaxed);
        }
        true
    }

    /// The metadata of the live slot starting at `address` (safety mode), with its layout.
    pub(super) fn small_live_meta(&self, base: usize, address: usize) -> Option<&SlotMeta> {
        if !self.config.safety {
            return None;
        }
        let (page, index) = carved_slot_in(base, address)?;
        // SAFETY: safety mode keeps metadata for every slot; `index < carved <= capacity`.
        // The array lives as long as the page, which holds the live slot.
        let meta = unsafe { &*(*page).meta.add(index) };
        (meta.state.load(Ordering::Acquire) == SLOT_LIVE).then_some(meta)
    }

    pub(super) fn small_block_layout(&self, base: usize, address: usize) -> Option<Layout> {
        let (page, index) = carved_slot_in(base, address)?;
        // SAFETY: a live page of this segment.
        let page = unsafe { &*page };
        if self.config.safety {
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

/// Bytes of free page units a heap may keep resident (free memory that is quickly reused
/// without page faults); past this, they are returned to the OS.
const RETAINED_DIRTY_BYTES: usize = 4 << 20;

/// Whether a page that just got a slot back must be requeued (it was full) or released (it is
/// empty and not the page its class allocates from). The current page emptying is the common
/// case of alloc/free pairs and needs nothing.
#[inline(always)]
pub(super) fn page_needs_attention(heap: &Heap, page: &Page, page_ptr: *mut Page) -> bool {
    // SAFETY: a page's class is below CLASS_COUNT.
    !page.in_queue
        || (page.used == 0
            && unsafe { heap.queues.get_unchecked(page.class as usize) }.head != page_ptr)
}

/// The page and index of the carved slot of the small segment at `base` that starts at
/// `address`, if one does (one bounds check, the unit table, [`Page::carved_slot`]).
#[inline]
fn carved_slot_in(base: usize, address: usize) -> Option<(*mut Page, usize)> {
    if address < base + UNIT_SIZE || address >= base + SEGMENT_SIZE {
        return None;
    }
    // SAFETY: `base` is a live small segment (callers' contract) and `address` lies in it.
    unsafe {
        let page = (*(base as *mut Segment)).page_of_unchecked(address);
        let index = (*page).carved_slot(address)?;
        Some((page, index))
    }
}

fn is_slot_start(page: &Page, address: usize) -> bool {
    let start = page.start as usize;
    let end = start + page.carved as usize * page.block_size as usize;
    address >= start && address < end && page.slot_of(address).1
}

fn block_size_of(address: usize) -> usize {
    let segment = Segment::of(address);
    // SAFETY: callers pass blocks of live segments.
    unsafe { (*(*segment).page_of(address)).block_size as usize }
}
