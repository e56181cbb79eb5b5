//! `MemoryPool<T>`: a typed object pool (Zig's `std.heap.MemoryPool`): objects of one type
//! created and destroyed in any order, each in a fixed-size **slot**, with freed slots reused
//! first.
//!
//! # Design
//! Slots are carved from **chunks** that the pool allocates from its child allocator. A chunk
//! is a small header (the next chunk, the number of slots) followed by its slots:
//!
//! ```text
//!  chunk: [ Chunk { next, slots } | pad | slot 0 | slot 1 | ... | slot slots-1 ]
//!           ^ block from the child          ^ SLOTS_OFFSET, then SLOT_SIZE apart
//! ```
//!
//! `create` pops the free list (the fast path: one load and one store); when it is empty it
//! carves the next never-used slot of the current chunk, moving on to the next chunk (kept by
//! a reset) or allocating a new one, as large as the whole pool so far (capacity doubles), when
//! the current one is used up. `destroy` drops the object and pushes its slot on the free list;
//! a free slot stores the list's next pointer in its own first bytes, so a slot is
//! `max(size_of::<T>(), size_of::<usize>())` bytes, suitably aligned.
//!
//! A **non-growable** pool ([`MemoryPool::non_growable`]) allocates its one chunk up front and
//! then answers `Err(OutOfMemory)` when every slot is in use.
//!
//! # Invariants
//! `live + |free list| + (uncarved slots) == capacity`, where uncarved slots are those past
//! `carved` in the current chunk plus every slot of the chunks after it. Every free-list
//! entry is a slot of some chunk that holds no object. Chunks form a list in allocation order;
//! `current` is in that list.
//!
//! # What is not dropped
//! `reset` and `drop` free the memory of objects still live without running their destructors
//! (the pool does not know which slots are live). Destroy objects whose `Drop` matters first.

use core::alloc::Layout;
use core::cell::Cell;
use core::fmt;
use core::marker::PhantomData;
use core::mem::{align_of, size_of};
use core::ptr::NonNull;

use crate::allocators::arena::ResetMode;
use crate::interface::{Allocator, Error, RawAllocator};

/// The header at the start of every chunk.
#[derive(Clone, Copy)]
struct Chunk {
    next: Option<NonNull<Chunk>>,
    slots: usize,
}

/// What a free slot holds.
struct FreeSlot {
    next: Option<NonNull<FreeSlot>>,
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

const fn round_up(value: usize, alignment: usize) -> usize {
    (value + alignment - 1) & !(alignment - 1)
}

/// Bytes the first chunk of a growable pool aims at (header included), so that small objects
/// do not cost one child allocation each while the pool is young.
const FIRST_CHUNK_BYTES: usize = 4096;

/// A pool of slots for values of type `T`; see the module documentation.
///
/// ```
/// let page = gpa::PageAllocator::new();
/// let pool = gpa::MemoryPool::<[u64; 4]>::new(page.allocator());
/// let a = pool.create([1; 4]).unwrap();
/// // SAFETY: `a` came from `pool.create` and is destroyed once.
/// unsafe { pool.destroy(a) };
/// let b = pool.create([2; 4]).unwrap();
/// assert_eq!(a, b); // the freed slot is reused first
/// # unsafe { pool.destroy(b) };
/// ```
pub struct MemoryPool<'a, T, R: ?Sized + RawAllocator = dyn RawAllocator + 'a> {
    child: Allocator<'a, R>,
    free_list: Cell<Option<NonNull<FreeSlot>>>,
    first: Cell<Option<NonNull<Chunk>>>,
    current: Cell<Option<NonNull<Chunk>>>,
    /// Slots of `current` handed out at least once.
    carved: Cell<usize>,
    capacity: Cell<usize>,
    live: Cell<usize>,
    growable: bool,
    _values: PhantomData<T>,
}

impl<T, R: ?Sized + RawAllocator> fmt::Debug for MemoryPool<'_, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryPool")
            .field("slot_size", &Self::SLOT_SIZE)
            .field("capacity", &self.capacity.get())
            .field("live", &self.live.get())
            .field("growable", &self.growable)
            .finish()
    }
}

impl<'a, T, R: ?Sized + RawAllocator> MemoryPool<'a, T, R> {
    /// Alignment of a slot: enough for `T` and for a free-list link.
    pub const SLOT_ALIGN: usize = max(align_of::<T>(), align_of::<FreeSlot>());
    /// Size of a slot, a multiple of [`Self::SLOT_ALIGN`].
    pub const SLOT_SIZE: usize =
        round_up(max(size_of::<T>(), size_of::<FreeSlot>()), Self::SLOT_ALIGN);
    const SLOTS_OFFSET: usize = round_up(size_of::<Chunk>(), Self::SLOT_ALIGN);
    const CHUNK_ALIGN: usize = max(Self::SLOT_ALIGN, align_of::<Chunk>());
    /// Layout assumptions, checked at compile time for every `T` the pool is used with.
    const LAYOUT_CHECK: () = {
        assert!(Self::SLOT_SIZE % Self::SLOT_ALIGN == 0);
        assert!(Self::SLOT_SIZE >= size_of::<FreeSlot>() && Self::SLOT_SIZE >= size_of::<T>());
        assert!(Self::SLOTS_OFFSET >= size_of::<Chunk>());
        assert!(Self::SLOTS_OFFSET % Self::SLOT_ALIGN == 0);
    };

    /// An empty growable pool; the first `create` allocates a chunk.
    pub const fn new(child: Allocator<'a, R>) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::LAYOUT_CHECK;
        MemoryPool {
            child,
            free_list: Cell::new(None),
            first: Cell::new(None),
            current: Cell::new(None),
            carved: Cell::new(0),
            capacity: Cell::new(0),
            live: Cell::new(0),
            growable: true,
            _values: PhantomData,
        }
    }

    /// A growable pool with room for `slots` objects allocated now ("preheated").
    pub fn with_capacity(child: Allocator<'a, R>, slots: usize) -> Result<Self, Error> {
        let pool = MemoryPool::new(child);
        if slots > 0 {
            pool.add_chunk(slots)?;
        }
        Ok(pool)
    }

    /// A pool of exactly `slots` slots, allocated now; `create` fails with
    /// [`Error::OutOfMemory`] when all of them are in use.
    pub fn non_growable(child: Allocator<'a, R>, slots: usize) -> Result<Self, Error> {
        let mut pool = MemoryPool::with_capacity(child, slots)?;
        pool.growable = false;
        Ok(pool)
    }

    /// Number of slots in all chunks.
    pub fn capacity(&self) -> usize {
        self.capacity.get()
    }

    /// Number of objects created and not yet destroyed.
    pub fn live(&self) -> usize {
        self.live.get()
    }

    /// Whether the pool allocates more chunks when full.
    pub fn is_growable(&self) -> bool {
        self.growable
    }

    /// The allocator the chunks come from.
    pub fn child(&self) -> Allocator<'a, R> {
        self.child
    }

    /// Moves `value` into a slot and returns a pointer to it, valid until [`Self::destroy`],
    /// [`Self::reset`] or the pool's drop. On error `value` is dropped.
    #[inline]
    pub fn create(&self, value: T) -> Result<NonNull<T>, Error> {
        let slot = match self.free_list.get() {
            Some(free) => {
                // SAFETY: free-list entries are free slots holding a `FreeSlot` (invariant).
                self.free_list.set(unsafe { free.as_ref().next });
                free.cast::<T>()
            }
            None => self.carve()?.cast::<T>(),
        };
        // SAFETY: the slot is free, inside a live chunk, and sized and aligned for `T`.
        unsafe { slot.as_ptr().write(value) };
        self.live.set(self.live.get() + 1);
        Ok(slot)
    }

    /// As [`Self::create`], as a reference that borrows the pool (so `reset` cannot run while
    /// it is alive). Destroy it with `destroy(NonNull::from(reference))`, or let the pool free
    /// it at reset or drop.
    // Each call hands out a different slot, so the references never alias (as bumpalo's
    // `alloc`).
    #[allow(clippy::mut_from_ref)]
    #[inline]
    pub fn create_ref(&self, value: T) -> Result<&mut T, Error> {
        // SAFETY: the slot is initialized, not aliased, and lives as long as the chunk, which
        // outlives this borrow of the pool (only `reset(&mut self)` and drop free chunks).
        self.create(value)
            .map(|slot| unsafe { &mut *slot.as_ptr() })
    }

    /// Drops the object and makes its slot free for reuse.
    ///
    /// # Safety
    /// `object` was returned by `create` (or `create_ref`) of this pool since its last reset,
    /// has not been destroyed, and is not used afterwards.
    #[inline]
    pub unsafe fn destroy(&self, object: NonNull<T>) {
        debug_assert!(
            self.owns(object),
            "MemoryPool::destroy of a foreign pointer"
        );
        // SAFETY: caller contract: a live object of this pool, used no more.
        unsafe { object.as_ptr().drop_in_place() };
        let slot = object.cast::<FreeSlot>();
        // SAFETY: the slot is ours and now free; it is sized and aligned for a `FreeSlot`.
        unsafe {
            slot.as_ptr().write(FreeSlot {
                next: self.free_list.get(),
            })
        };
        self.free_list.set(Some(slot));
        self.live.set(self.live.get() - 1);
    }

    /// Whether `object` points at a slot of this pool (live or not). Walks the chunk list.
    pub fn owns(&self, object: NonNull<T>) -> bool {
        let address = object.as_ptr() as usize;
        let mut chunk = self.first.get();
        while let Some(header) = chunk {
            // SAFETY: chunks in the list are live blocks starting with a `Chunk` header.
            let Chunk { next, slots } = *unsafe { header.as_ref() };
            let base = header.as_ptr() as usize + Self::SLOTS_OFFSET;
            let offset = address.wrapping_sub(base);
            if address >= base && offset < slots * Self::SLOT_SIZE {
                return offset % Self::SLOT_SIZE == 0;
            }
            chunk = next;
        }
        false
    }

    /// Walks the chunks and the free list and panics if the module's invariant
    /// `live + |free list| + uncarved == capacity` does not hold or a free-list entry is not a
    /// slot of this pool. O(capacity); for tests.
    pub fn check_invariants(&self) {
        let mut free = 0;
        let mut entry = self.free_list.get();
        while let Some(slot) = entry {
            assert!(
                self.owns(slot.cast()),
                "free-list entry {slot:p} is not a slot of this pool"
            );
            free += 1;
            assert!(free <= self.capacity.get(), "the free list has a cycle");
            // SAFETY: free-list entries are free slots holding a `FreeSlot` (checked above).
            entry = unsafe { slot.as_ref().next };
        }
        let mut uncarved = 0;
        let mut past_current = false;
        let mut chunks_total = 0;
        let mut chunk = self.first.get();
        while let Some(header) = chunk {
            // SAFETY: chunks in the list are live and start with a `Chunk` header.
            let Chunk { next, slots } = *unsafe { header.as_ref() };
            chunks_total += slots;
            if past_current {
                uncarved += slots;
            } else if Some(header) == self.current.get() {
                assert!(self.carved.get() <= slots);
                uncarved += slots - self.carved.get();
                past_current = true;
            }
            chunk = next;
        }
        assert!(
            past_current || self.current.get().is_none(),
            "current chunk not in the list"
        );
        assert_eq!(
            chunks_total,
            self.capacity.get(),
            "capacity != slots of all chunks"
        );
        assert_eq!(
            self.live.get() + free + uncarved,
            self.capacity.get(),
            "live {} + free {free} + uncarved {uncarved} != capacity {}",
            self.live.get(),
            self.capacity.get()
        );
    }

    /// Makes every slot free again, as the arena's `reset` does for its memory; objects still
    /// live are not dropped. `&mut self` proves no `create_ref` reference is alive; pointers
    /// from `create` must not be used afterwards.
    ///
    /// * `FreeAll` returns every chunk to the child.
    /// * `RetainCapacity` keeps every chunk.
    /// * `RetainWithLimit(bytes)` keeps every chunk if they total at most `bytes`; otherwise
    ///   frees them and allocates one chunk of at most `bytes` (if one slot fits), returning
    ///   `false` if that allocation fails (the pool is then empty, as after `FreeAll`).
    ///
    /// A non-growable pool keeps its one chunk whatever the mode (its capacity is fixed).
    pub fn reset(&mut self, mode: ResetMode) -> bool {
        self.free_list.set(None);
        self.live.set(0);
        self.current.set(self.first.get());
        self.carved.set(0);
        if !self.growable {
            return true;
        }
        let limit = match mode {
            ResetMode::FreeAll => 0,
            ResetMode::RetainCapacity => usize::MAX,
            ResetMode::RetainWithLimit(limit) => limit,
        };
        if self.chunk_bytes() <= limit {
            return true;
        }
        self.free_chunks();
        let slots = limit.saturating_sub(Self::SLOTS_OFFSET) / Self::SLOT_SIZE;
        slots == 0 || self.add_chunk(slots).is_ok()
    }

    /// Bytes of all chunks (headers included), as taken from the child.
    pub fn chunk_bytes(&self) -> usize {
        let mut total = 0;
        let mut chunk = self.first.get();
        while let Some(header) = chunk {
            // SAFETY: chunks in the list are live and start with a `Chunk` header.
            let Chunk { next, slots } = *unsafe { header.as_ref() };
            total += Self::SLOTS_OFFSET + slots * Self::SLOT_SIZE;
            chunk = next;
        }
        total
    }

    fn chunk_layout(slots: usize) -> Result<Layout, Error> {
        let bytes = slots
            .checked_mul(Self::SLOT_SIZE)
            .and_then(|bytes| bytes.checked_add(Self::SLOTS_OFFSET))
            .ok_or(Error::SizeOverflow)?;
        Layout::from_size_align(bytes, Self::CHUNK_ALIGN).map_err(|_| Error::SizeOverflow)
    }

    /// Hands out the next never-used slot, moving to the next chunk or allocating one.
    #[cold]
    #[inline(never)]
    fn carve(&self) -> Result<NonNull<u8>, Error> {
        loop {
            if let Some(header) = self.current.get() {
                // SAFETY: `current` is a live chunk with a `Chunk` header (invariant).
                let Chunk { next, slots } = *unsafe { header.as_ref() };
                let index = self.carved.get();
                if index < slots {
                    self.carved.set(index + 1);
                    let offset = Self::SLOTS_OFFSET + index * Self::SLOT_SIZE;
                    // SAFETY: `offset` lies inside the chunk, whose layout covers `slots`
                    // slots after the header; the pointer keeps the chunk's provenance.
                    return Ok(unsafe { header.cast::<u8>().add(offset) });
                }
                if let Some(next) = next {
                    self.current.set(Some(next));
                    self.carved.set(0);
                    continue;
                }
            }
            if !self.growable {
                return Err(Error::OutOfMemory);
            }
            let first_slots = max(
                1,
                (FIRST_CHUNK_BYTES - Self::SLOTS_OFFSET.min(FIRST_CHUNK_BYTES)) / Self::SLOT_SIZE,
            );
            self.add_chunk(max(first_slots, self.capacity.get()))?;
        }
    }

    /// Allocates a chunk of `slots` slots, appends it after `current` (the last chunk, or
    /// none) and makes it current.
    fn add_chunk(&self, slots: usize) -> Result<(), Error> {
        let layout = Self::chunk_layout(slots)?;
        let header = self.child.alloc_layout(layout)?.cast::<Chunk>();
        // SAFETY: a fresh block aligned for `Chunk` and larger than it.
        unsafe { header.as_ptr().write(Chunk { next: None, slots }) };
        match self.current.get() {
            // SAFETY: `current` is a live chunk; new chunks are only added when it is the
            // last one (carve moves through the list first), so nothing is unlinked.
            Some(mut last) => unsafe { last.as_mut().next = Some(header) },
            None => self.first.set(Some(header)),
        }
        self.current.set(Some(header));
        self.carved.set(0);
        self.capacity.set(self.capacity.get() + slots);
        Ok(())
    }

    fn free_chunks(&self) {
        let mut chunk = self.first.take();
        while let Some(header) = chunk {
            // SAFETY: chunks in the list are live blocks of the child with a `Chunk` header,
            // and their layout follows from their slot count; each is freed once.
            unsafe {
                let Chunk { next, slots } = *header.as_ref();
                if let Ok(layout) = Self::chunk_layout(slots) {
                    self.child.free_layout(header.cast(), layout);
                }
                chunk = next;
            }
        }
        self.current.set(None);
        self.carved.set(0);
        self.capacity.set(0);
        self.free_list.set(None);
    }
}

// SAFETY: the pool owns its chunks and the values in them (the `NonNull`s point only into the
// chunks), so moving it to another thread moves them too, which `T: Send` allows; the child is
// reached through `&R`, usable from any thread because `R: Sync`. The pool stays `!Sync` (its
// `Cell`s).
unsafe impl<T: Send, R: ?Sized + RawAllocator + Sync> Send for MemoryPool<'_, T, R> {}

impl<T, R: ?Sized + RawAllocator> Drop for MemoryPool<'_, T, R> {
    fn drop(&mut self) {
        self.free_chunks();
    }
}
