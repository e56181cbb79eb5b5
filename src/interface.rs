//! The allocator interface: one [`RawAllocator`] trait with four raw operations, one cheap
//! [`Allocator`] handle over any implementation, and typed helpers written once on the handle.
//!
//! # Design
//! This is Zig's `std.mem.Allocator` in Rust shape. An implementation (page, arena, GPA, ...)
//! implements [`RawAllocator`]; code that needs memory takes an [`Allocator<'a>`], a `Copy`
//! fat pointer (`&'a dyn RawAllocator`) obtained with `.allocator()`. The lifetime `'a` ties
//! every handle, and every owning value made through it, to the implementation, so the borrow
//! checker enforces "the allocator outlives the memory it gives out".
//!
//! The raw contract (what implementations may assume of their callers) is stated on
//! [`RawAllocator`]; the two forms of typed helpers on [`Allocator`].

use core::alloc::Layout;
use core::fmt;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

/// Why a request for memory was not served. Errors are values, never panics:
///
/// ```
/// let mut buffer = [0u8; 64];
/// let fixed = gpa::FixedBufferAllocator::new(&mut buffer);
/// let allocator = fixed.allocator();
/// assert_eq!(allocator.alloc::<u8>(1000).unwrap_err(), gpa::Error::OutOfMemory);
/// assert_eq!(allocator.alloc::<u64>(usize::MAX).unwrap_err(), gpa::Error::SizeOverflow);
/// assert_eq!(allocator.raw_alloc(8, 3).unwrap_err(), gpa::Error::InvalidAlignment);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The implementation has no memory left for this request (or a limit forbids it).
    OutOfMemory,
    /// The requested size overflowed (`n * size_of::<T>()`) or exceeds `isize::MAX`.
    SizeOverflow,
    /// The requested alignment is not a power of two.
    InvalidAlignment,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::OutOfMemory => "out of memory",
            Error::SizeOverflow => "allocation size overflows isize::MAX",
            Error::InvalidAlignment => "alignment is not a power of two",
        })
    }
}

impl std::error::Error for Error {}

impl From<Error> for allocator_api2::alloc::AllocError {
    fn from(_: Error) -> Self {
        allocator_api2::alloc::AllocError
    }
}

/// The four raw operations every allocator implements (Zig's `Allocator.VTable`). Code that
/// needs memory does not call them: it takes an [`Allocator`] handle, whose typed helpers are
/// written once over these four.
///
/// What implementations may assume of their callers (the handle guarantees it):
/// * `layout.size() > 0` on every call: the handle answers zero-size requests itself with a
///   dangling, well-aligned pointer and ignores their frees, as Zig does.
/// * `free`, `resize` and `remap` receive a pointer the same implementation returned, with the
///   same alignment and the length it currently has (the length of the last successful
///   alloc/resize/remap). The GPA checks this in safety mode and reports violations;
///   [`ValidatingAllocator`](crate::ValidatingAllocator) checks it for any implementation.
///
/// An implementation that counts the bytes it hands out, over a child:
///
/// ```
/// use core::alloc::Layout;
/// use core::cell::Cell;
/// use core::ptr::NonNull;
/// use gpa::{Allocator, RawAllocator};
///
/// struct Counting<'a> {
///     child: Allocator<'a>,
///     live: Cell<usize>,
/// }
///
/// // SAFETY: every block comes from the child, which upholds the contract; resize and free
/// // forward the caller's contract unchanged.
/// unsafe impl RawAllocator for Counting<'_> {
///     fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
///         let block = self.child.alloc_layout(layout).ok()?;
///         self.live.set(self.live.get() + layout.size());
///         Some(block)
///     }
///     unsafe fn resize(&self, memory: NonNull<u8>, layout: Layout, new_len: usize) -> bool {
///         // SAFETY: forwarded caller contract.
///         let done = unsafe { self.child.raw_resize(memory, layout.size(), layout.align(), new_len) };
///         if done {
///             self.live.set(self.live.get() - layout.size() + new_len);
///         }
///         done
///     }
///     unsafe fn free(&self, memory: NonNull<u8>, layout: Layout) {
///         self.live.set(self.live.get() - layout.size());
///         // SAFETY: forwarded caller contract.
///         unsafe { self.child.free_layout(memory, layout) }
///     }
/// }
///
/// let page = gpa::PageAllocator::new();
/// let counting = Counting { child: page.allocator(), live: Cell::new(0) };
/// let allocator = Allocator::new(&counting);
/// let text = allocator.print(format_args!("{}", "twelve bytes")).unwrap();
/// assert_eq!(counting.live.get(), 12);
/// drop(text);
/// assert_eq!(counting.live.get(), 0);
/// ```
///
/// # Safety
/// Implementors promise that a pointer returned by `alloc` (or `remap`) is valid for reads and
/// writes of `layout.size()` bytes, aligned to `layout.align()`, and does not overlap any other
/// live block, until it is freed or successfully resized or remapped.
pub unsafe trait RawAllocator {
    /// Returns a new block for `layout` (`layout.size() > 0`), or `None` when out of memory.
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>>;

    /// As [`RawAllocator::alloc`], for a block that will hold a program's data in full (the
    /// GPA's large blocks, which C's `malloc` asks for): the page allocator maps it as glibc's
    /// `malloc` maps its large chunks, accounted by the kernel's overcommit policy, so that a
    /// request the kernel refuses glibc (1 TiB under the default heuristic) fails here too,
    /// with `errno` `ENOMEM`; [`RawAllocator::alloc`] maps with `MAP_NORESERVE`, for
    /// reservations that stay mostly untouched (the GPA's segments). The default (every
    /// allocator but the page allocator) is [`RawAllocator::alloc`].
    #[doc(hidden)]
    fn alloc_accounted(&self, layout: Layout) -> Option<NonNull<u8>> {
        self.alloc(layout)
    }

    /// Tries to change the length of `memory` to `new_len` (`> 0`) without moving it.
    ///
    /// # Safety
    /// `memory` is a live block of this allocator with `layout` as it currently is.
    unsafe fn resize(&self, memory: NonNull<u8>, layout: Layout, new_len: usize) -> bool;

    /// Changes the length of `memory` to `new_len` (`> 0`), moving it if that is cheaper than a
    /// copy by the caller (for instance by `mremap`). `None` leaves `memory` untouched.
    ///
    /// The default is for allocators that cannot move a block more cheaply than the caller:
    /// it resizes in place or answers `None`.
    ///
    /// # Safety
    /// As for [`RawAllocator::resize`]. On success the old pointer must no longer be used.
    unsafe fn remap(
        &self,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> Option<NonNull<u8>> {
        // SAFETY: forwarded caller contract.
        unsafe { self.resize(memory, layout, new_len) }.then_some(memory)
    }

    /// Returns `memory` to the allocator.
    ///
    /// # Safety
    /// `memory` is a live block of this allocator with exactly `layout`.
    unsafe fn free(&self, memory: NonNull<u8>, layout: Layout);

    /// Moves the memory (the OS pages) of `memory`, a block of `layout`, into a new block of
    /// the same layout, which is returned: both are then live blocks of this allocator, the
    /// new one with the old one's contents, the old one keeping its address range (and the
    /// OS protection of it) but not its contents. For the GPA's safety mode, which keeps a
    /// freed large block's range reserved and inaccessible and reuses its memory elsewhere
    /// (`gpa::large`). The default (every allocator but the page allocator) cannot: `None`,
    /// nothing changed.
    ///
    /// # Safety
    /// `memory` is a live block of this allocator with exactly `layout`, whose contents nobody
    /// uses (or needs) in place any more.
    #[doc(hidden)]
    unsafe fn move_pages_out(&self, memory: NonNull<u8>, layout: Layout) -> Option<NonNull<u8>> {
        let _ = (memory, layout);
        None
    }

    /// Splits the block `memory` of `layout` at `at` (a multiple of the OS page size, less
    /// than its size): its bytes from `at` on move (with their contents) into a new block of
    /// layout `tail` (`layout.size() - at` bytes), which is returned; `memory` is then a block
    /// of `at` bytes with `layout`'s alignment. The default (every allocator but the page
    /// allocator) cannot: `None`, nothing changed.
    ///
    /// # Safety
    /// `memory` is a live block of this allocator with exactly `layout`.
    #[doc(hidden)]
    unsafe fn split_off(
        &self,
        memory: NonNull<u8>,
        layout: Layout,
        at: usize,
        tail: Layout,
    ) -> Option<NonNull<u8>> {
        let _ = (memory, layout, at, tail);
        None
    }
}

/// The handle that functions take: a `Copy` reference to some allocator implementation.
///
/// Its lifetime ties every handle, and every owning value made through it, to the
/// implementation, so the borrow checker enforces "the allocator outlives the memory it gives
/// out". Typed helpers come in two forms: *raw* ones (`alloc`, `create`, `dupe`,
/// `alloc_print`, `realloc`) return references that the caller frees explicitly (`free`,
/// `destroy`), the Zig pattern; *owning* ones (`new_box`, `boxed_slice`, `boxed_dupe`,
/// `print`, `vec`) return values that free themselves on drop, built on `allocator_api2`'s
/// `Box` and `Vec`, so they interoperate with hashbrown. The `raw_*` and `*_layout` methods
/// work in bytes and layouts, for building other allocators.
///
/// Obtained with `.allocator()` on any implementation. `Allocator<'a>` (the default, over
/// `dyn RawAllocator`) is `!Send` and `!Sync`: single-threaded implementations (arena, fixed
/// buffer) are behind it too, so neither the handle nor a collection using it may leave the
/// thread. Thread-safe implementations (the GPA, the page allocator, ...) also give a
/// [`SyncAllocator`] with `.sync_allocator()`: the same handle over
/// `dyn RawAllocator + Sync`, which is `Send + Sync`, as are the collections built on it.
///
/// ```
/// let page = gpa::PageAllocator::new();
/// let allocator = page.allocator();
/// let mut names = allocator.vec::<&str>(); // a gpa::Vec<'_, &str>
/// names.push("ada");
/// let greeting = allocator.print(format_args!("hello, {}", names[0])).unwrap();
/// assert_eq!(&*greeting, "hello, ada");
/// ```
///
/// A collection over a single-threaded handle cannot move to another thread:
///
/// ```compile_fail,E0277
/// let page = gpa::PageAllocator::new();
/// let arena = gpa::ArenaAllocator::new(page.allocator());
/// let mut numbers = arena.allocator().vec::<u32>();
/// std::thread::scope(|s| {
///     s.spawn(move || numbers.push(1)); // `dyn RawAllocator` cannot be shared between threads
/// });
/// ```
///
/// The type parameter `R` is the implementation behind the reference; it rarely needs naming
/// (`Allocator<'a>` and [`SyncAllocator<'a>`] are the two handles functions take).
pub struct Allocator<'a, R: ?Sized = dyn RawAllocator + 'a> {
    implementation: &'a R,
}

/// A handle over a thread-safe implementation: `Send + Sync`, so collections built on it
/// ([`Vec<'a, T, SyncAllocator<'a>>`](Vec), [`Box<'a, T, SyncAllocator<'a>>`](Box)) can move to
/// other threads or live in an `Arc<Mutex<..>>`. Obtained with `.sync_allocator()` on the GPA,
/// the page allocator, [`ThreadSafeFixedBufferAllocator`](crate::ThreadSafeFixedBufferAllocator),
/// [`ThreadSafeAllocator`](crate::ThreadSafeAllocator) and
/// [`AlwaysFailingAllocator`](crate::AlwaysFailingAllocator); `.into()` turns it into an
/// [`Allocator<'a>`] for functions that take one.
///
/// ```
/// use gpa::{GeneralPurposeAllocator, SyncAllocator};
///
/// fn fill(allocator: SyncAllocator<'_>, n: u32) -> gpa::Vec<'_, u32, SyncAllocator<'_>> {
///     let mut numbers = allocator.vec();
///     numbers.extend(0..n);
///     numbers
/// }
///
/// let mut gpa = GeneralPurposeAllocator::new();
/// let numbers = fill(gpa.sync_allocator(), 10);
/// let sum = std::thread::scope(|s| s.spawn(move || numbers.iter().sum::<u32>()).join());
/// assert_eq!(sum.unwrap(), 45);
/// assert_eq!(gpa.deinit(), gpa::Check::Ok);
/// ```
///
/// Only `Sync` implementations give one; an arena (`!Sync`) does not:
///
/// ```compile_fail,E0277
/// let page = gpa::PageAllocator::new();
/// let arena = gpa::ArenaAllocator::new(page.sync_allocator());
/// let handle = gpa::SyncAllocator::new_sync(&arena);
/// ```
pub type SyncAllocator<'a> = Allocator<'a, dyn RawAllocator + Sync + 'a>;

impl<R: ?Sized> Clone for Allocator<'_, R> {
    #[inline]
    fn clone(&self) -> Self {
        *self
    }
}

impl<R: ?Sized> Copy for Allocator<'_, R> {}

impl<R: ?Sized> fmt::Debug for Allocator<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let address: *const R = self.implementation;
        f.debug_tuple("Allocator")
            .field(&address.cast::<()>())
            .finish()
    }
}

impl<'a> From<SyncAllocator<'a>> for Allocator<'a> {
    /// The same implementation behind a handle that forgets it is thread-safe.
    #[inline]
    fn from(handle: SyncAllocator<'a>) -> Self {
        Allocator::new(handle.implementation)
    }
}

/// A value allocated by an [`Allocator`] and freed when dropped (`A` is [`SyncAllocator`] for
/// one that may move to another thread). Made by [`Allocator::new_box`], [`Allocator::print`],
/// [`Allocator::boxed_slice`], [`Allocator::boxed_dupe`] or `Box::new_in`; the [`Allocator`]
/// and [`SyncAllocator`] examples use it.
pub type Box<'a, T, A = Allocator<'a>> = allocator_api2::boxed::Box<T, A>;
/// A growable vector whose buffer comes from an [`Allocator`] (`A` is [`SyncAllocator`] for
/// one that may move to another thread). Made by [`Allocator::vec`] or `Vec::new_in`; the
/// [`Allocator`] and [`SyncAllocator`] examples use it.
pub type Vec<'a, T, A = Allocator<'a>> = allocator_api2::vec::Vec<T, A>;

/// A well-aligned non-null pointer for zero-size blocks; never dereferenced, never freed.
#[inline]
fn dangling(alignment: usize) -> NonNull<u8> {
    // SAFETY: alignments are powers of two, so never zero.
    unsafe { NonNull::new_unchecked(core::ptr::without_provenance_mut(alignment)) }
}

#[inline]
fn layout_of(len: usize, alignment: usize) -> Result<Layout, Error> {
    if !alignment.is_power_of_two() {
        return Err(Error::InvalidAlignment);
    }
    Layout::from_size_align(len, alignment).map_err(|_| Error::SizeOverflow)
}

#[inline]
fn array_layout<T>(n: usize) -> Result<Layout, Error> {
    Layout::array::<T>(n).map_err(|_| Error::SizeOverflow)
}

impl<'a> Allocator<'a> {
    /// Wraps an implementation. Implementations call this from their `.allocator()`.
    pub const fn new(implementation: &'a dyn RawAllocator) -> Self {
        Allocator { implementation }
    }
}

impl<'a> SyncAllocator<'a> {
    /// Wraps a thread-safe implementation. Implementations call this from their
    /// `.sync_allocator()`.
    pub const fn new_sync(implementation: &'a (dyn RawAllocator + Sync)) -> Self {
        Allocator { implementation }
    }
}

impl<'a, R: ?Sized + RawAllocator> Allocator<'a, R> {
    /// The implementation behind this handle.
    pub fn implementation(self) -> &'a R {
        self.implementation
    }

    /// Allocates `len` bytes aligned to `alignment`. A zero `len` gives a dangling, aligned
    /// pointer without calling the implementation.
    #[inline]
    pub fn raw_alloc(self, len: usize, alignment: usize) -> Result<NonNull<u8>, Error> {
        let layout = layout_of(len, alignment)?;
        self.alloc_layout(layout)
    }

    /// Allocates a block for `layout` (zero size gives a dangling pointer).
    #[inline]
    pub fn alloc_layout(self, layout: Layout) -> Result<NonNull<u8>, Error> {
        if layout.size() == 0 {
            return Ok(dangling(layout.align()));
        }
        self.implementation.alloc(layout).ok_or(Error::OutOfMemory)
    }

    /// Tries to resize `memory` (of `old_len` bytes) to `new_len` bytes without moving it.
    /// Resizing to or from zero length follows Zig: shrinking to 0 frees, growing from 0 fails.
    ///
    /// # Safety
    /// `memory` was returned by this allocator with `alignment` and currently has `old_len`
    /// bytes; on `true` with `new_len == 0` it is freed.
    pub unsafe fn raw_resize(
        self,
        memory: NonNull<u8>,
        old_len: usize,
        alignment: usize,
        new_len: usize,
    ) -> bool {
        let Ok(layout) = layout_of(old_len, alignment) else {
            return false;
        };
        if new_len == old_len {
            return true;
        }
        if old_len == 0 {
            return false;
        }
        if new_len == 0 {
            // SAFETY: forwarded caller contract.
            unsafe { self.implementation.free(memory, layout) };
            return true;
        }
        if layout_of(new_len, alignment).is_err() {
            return false;
        }
        // SAFETY: forwarded caller contract; both lengths are non-zero and valid.
        unsafe { self.implementation.resize(memory, layout, new_len) }
    }

    /// Resizes `memory`, moving it if the implementation can do so cheaply; `None` when it
    /// cannot (the caller then allocates, copies and frees).
    ///
    /// # Safety
    /// As for [`Allocator::raw_resize`]; on `Some` the old pointer is no longer valid.
    pub unsafe fn raw_remap(
        self,
        memory: NonNull<u8>,
        old_len: usize,
        alignment: usize,
        new_len: usize,
    ) -> Option<NonNull<u8>> {
        let layout = layout_of(old_len, alignment).ok()?;
        if new_len == old_len {
            return Some(memory);
        }
        if old_len == 0 || new_len == 0 {
            // SAFETY: forwarded caller contract.
            return unsafe { self.raw_resize(memory, old_len, alignment, new_len) }
                .then(|| dangling(alignment));
        }
        layout_of(new_len, alignment).ok()?;
        // SAFETY: forwarded caller contract; both lengths are non-zero and valid.
        unsafe { self.implementation.remap(memory, layout, new_len) }
    }

    /// Frees `memory` of `len` bytes aligned to `alignment`. Zero-length frees do nothing.
    ///
    /// # Safety
    /// `memory` was returned by this allocator with `alignment` and currently has `len` bytes.
    pub unsafe fn raw_free(self, memory: NonNull<u8>, len: usize, alignment: usize) {
        if len == 0 {
            return;
        }
        if let Ok(layout) = layout_of(len, alignment) {
            // SAFETY: forwarded caller contract.
            unsafe { self.implementation.free(memory, layout) }
        }
    }

    /// Frees a block described by `layout` (zero-size layouts do nothing).
    ///
    /// # Safety
    /// `memory` is a live block of this allocator with exactly `layout`.
    #[inline]
    pub unsafe fn free_layout(self, memory: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: forwarded caller contract.
            unsafe { self.implementation.free(memory, layout) }
        }
    }

    // ---- typed helpers, raw forms (the caller frees explicitly) ----

    /// Allocates room for `n` values of `T`, uninitialized (Zig's `alloc(T, n)`).
    /// Free it with [`Allocator::free`].
    pub fn alloc<T>(self, n: usize) -> Result<&'a mut [MaybeUninit<T>], Error> {
        let memory = self.alloc_layout(array_layout::<T>(n)?)?;
        // SAFETY: the block is valid for `n` values of T (zero-size: dangling and aligned), and
        // `MaybeUninit` needs no initialization.
        Ok(unsafe { core::slice::from_raw_parts_mut(memory.as_ptr().cast(), n) })
    }

    /// Allocates `n` copies of `value`.
    pub fn alloc_filled<T: Clone>(self, n: usize, value: T) -> Result<&'a mut [T], Error> {
        let slots = self.alloc::<T>(n)?;
        for slot in slots.iter_mut() {
            slot.write(value.clone());
        }
        // SAFETY: every element was initialized just above.
        Ok(unsafe { &mut *(slots as *mut [MaybeUninit<T>] as *mut [T]) })
    }

    /// Moves `value` into a new block (Zig's `create`). Free it with [`Allocator::destroy`].
    pub fn create<T>(self, value: T) -> Result<&'a mut T, Error> {
        let memory = self.alloc_layout(Layout::new::<T>())?.cast::<T>();
        // SAFETY: the block is valid and aligned for one T.
        unsafe {
            memory.as_ptr().write(value);
            Ok(&mut *memory.as_ptr())
        }
    }

    /// Copies `items` into a new block (Zig's `dupe`).
    pub fn dupe<T: Clone>(self, items: &[T]) -> Result<&'a mut [T], Error> {
        let slots = self.alloc::<T>(items.len())?;
        for (slot, item) in slots.iter_mut().zip(items) {
            slot.write(item.clone());
        }
        // SAFETY: every element was initialized just above.
        Ok(unsafe { &mut *(slots as *mut [MaybeUninit<T>] as *mut [T]) })
    }

    /// Formats `args` into a new exactly-sized string (Zig's `allocPrint`).
    pub fn alloc_print(self, args: fmt::Arguments<'_>) -> Result<&'a mut str, Error> {
        let len = formatted_len(args);
        let bytes = self.alloc::<u8>(len)?;
        let mut writer = SliceWriter {
            buffer: bytes,
            written: 0,
        };
        if fmt::write(&mut writer, args).is_err() || writer.written != len {
            // A Display impl that prints differently twice: give the memory back.
            // SAFETY: `bytes` came from this allocator with this length just above.
            unsafe { self.free(writer.buffer) };
            return Err(Error::SizeOverflow);
        }
        // SAFETY: all `len` bytes were written from `str` fragments, so they are UTF-8.
        Ok(unsafe {
            core::str::from_utf8_unchecked_mut(&mut *(writer.buffer as *mut [_] as *mut [u8]))
        })
    }

    /// Grows or shrinks `old` to `new_n` elements, in place when possible, else by moving it
    /// (Zig's `realloc`). New elements are uninitialized; elements past `new_n` are dropped by
    /// nobody, so shrink initialized data only after dropping the tail.
    ///
    /// # Safety
    /// `old` was allocated by this allocator (through these helpers) and is not used again.
    pub unsafe fn realloc<T>(
        self,
        old: &'a mut [MaybeUninit<T>],
        new_n: usize,
    ) -> Result<&'a mut [MaybeUninit<T>], Error> {
        let old_layout = Layout::for_value(old);
        let new_layout = array_layout::<T>(new_n)?;
        let old_ptr = NonNull::from(&mut *old).cast::<u8>();
        if old_layout.size() == 0 || new_layout.size() == 0 {
            let fresh = self.alloc::<T>(new_n)?;
            // SAFETY: forwarded caller contract (zero-size frees are no-ops).
            unsafe { self.free_layout(old_ptr, old_layout) };
            return Ok(fresh);
        }
        // SAFETY: forwarded caller contract.
        let moved = unsafe {
            self.raw_remap(
                old_ptr,
                old_layout.size(),
                old_layout.align(),
                new_layout.size(),
            )
        };
        let memory = match moved {
            Some(memory) => memory,
            None => {
                let fresh = self.alloc_layout(new_layout)?;
                // SAFETY: both blocks are live and distinct; we copy the common prefix and then
                // free the old block with its own layout (caller contract).
                unsafe {
                    let common = old_layout.size().min(new_layout.size());
                    core::ptr::copy_nonoverlapping(old_ptr.as_ptr(), fresh.as_ptr(), common);
                    self.free_layout(old_ptr, old_layout);
                }
                fresh
            }
        };
        // SAFETY: `memory` is valid for `new_n` elements of T.
        Ok(unsafe { core::slice::from_raw_parts_mut(memory.as_ptr().cast(), new_n) })
    }

    /// Frees memory obtained from the raw helpers, without running destructors.
    ///
    /// # Safety
    /// `memory` was allocated by this allocator with the layout of `*memory` (as the raw
    /// helpers do) and is not used afterwards.
    pub unsafe fn free<T: ?Sized>(self, memory: &mut T) {
        let layout = Layout::for_value(memory);
        // SAFETY: forwarded caller contract.
        unsafe { self.free_layout(NonNull::from(memory).cast(), layout) }
    }

    /// Drops the value in place, then frees it (Zig's `destroy`).
    ///
    /// # Safety
    /// As for [`Allocator::free`]; the value is initialized.
    pub unsafe fn destroy<T: ?Sized>(self, memory: &mut T) {
        let layout = Layout::for_value(memory);
        let pointer = NonNull::from(memory);
        // SAFETY: the value is initialized and owned by the caller (contract), then its block
        // is freed with the layout it was allocated with.
        unsafe {
            core::ptr::drop_in_place(pointer.as_ptr());
            self.free_layout(pointer.cast(), layout);
        }
    }

    // ---- typed helpers, owning forms (freed on drop) ----

    /// Moves `value` into a [`Box`] that frees itself.
    pub fn new_box<T>(self, value: T) -> Result<Box<'a, T, Self>, Error> {
        Box::try_new_in(value, self).map_err(|_| Error::OutOfMemory)
    }

    /// `n` copies of `value` in an owning boxed slice.
    pub fn boxed_slice<T: Clone>(self, n: usize, value: T) -> Result<Box<'a, [T], Self>, Error> {
        let items = self.alloc_filled(n, value)?;
        // SAFETY: `items` was allocated by this allocator with the layout of `[T; n]`, which
        // is what `Box<[T], Self>` frees with.
        Ok(unsafe { Box::from_raw_in(items, self) })
    }

    /// Copies `items` into an owning boxed slice.
    pub fn boxed_dupe<T: Clone>(self, items: &[T]) -> Result<Box<'a, [T], Self>, Error> {
        let copy = self.dupe(items)?;
        // SAFETY: as in `boxed_slice`.
        Ok(unsafe { Box::from_raw_in(copy, self) })
    }

    /// Formats `args` into an owning, exactly-sized string.
    pub fn print(self, args: fmt::Arguments<'_>) -> Result<Box<'a, str, Self>, Error> {
        let text = self.alloc_print(args)?;
        // SAFETY: as in `boxed_slice`; `str` has the layout of `[u8]`.
        Ok(unsafe { Box::from_raw_in(text, self) })
    }

    /// A new empty vector whose buffer comes from this allocator.
    pub fn vec<T>(self) -> Vec<'a, T, Self> {
        Vec::new_in(self)
    }
}

/// Counts the bytes `args` formats to, without allocating.
fn formatted_len(args: fmt::Arguments<'_>) -> usize {
    struct Counter(usize);
    impl fmt::Write for Counter {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Formatting into a counter only fails if a Display impl reports an error; the second pass
    // in `alloc_print` then fails too and reports it.
    let _ = fmt::write(&mut counter, args);
    counter.0
}

struct SliceWriter<'s> {
    buffer: &'s mut [MaybeUninit<u8>],
    written: usize,
}

impl fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.written.checked_add(s.len()).ok_or(fmt::Error)?;
        let target = self.buffer.get_mut(self.written..end).ok_or(fmt::Error)?;
        for (slot, byte) in target.iter_mut().zip(s.bytes()) {
            slot.write(byte);
        }
        self.written = end;
        Ok(())
    }
}

/// Implements `allocator_api2::alloc::Allocator` on top of the four raw operations, once for
/// the handle and once for `&T` of each implementation (a blanket impl over `&T` is not
/// allowed by the orphan rule).
macro_rules! impl_allocator_api2 {
    ($(#[$meta:meta])* [$($generics:tt)*] $target:ty => |$this:ident| $handle:expr) => {
        $(#[$meta])*
        // SAFETY: every method forwards to the handle, whose raw operations uphold the
        // `RawAllocator` contract; blocks stay valid until deallocated through any copy of
        // the same implementation, as `allocator_api2` requires.
        unsafe impl<$($generics)*> allocator_api2::alloc::Allocator for $target {
            #[inline]
            fn allocate(
                &self,
                layout: core::alloc::Layout,
            ) -> Result<core::ptr::NonNull<[u8]>, allocator_api2::alloc::AllocError> {
                let $this = self;
                let handle = $handle;
                $crate::interface::api2_allocate(handle, layout)
            }

            #[inline]
            unsafe fn deallocate(&self, ptr: core::ptr::NonNull<u8>, layout: core::alloc::Layout) {
                let $this = self;
                let handle = $handle;
                // SAFETY: allocator_api2's contract: `ptr` is a live block of this allocator
                // with `layout`.
                unsafe { handle.free_layout(ptr, layout) }
            }

            unsafe fn grow(
                &self,
                ptr: core::ptr::NonNull<u8>,
                old: core::alloc::Layout,
                new: core::alloc::Layout,
            ) -> Result<core::ptr::NonNull<[u8]>, allocator_api2::alloc::AllocError> {
                let $this = self;
                let handle = $handle;
                // SAFETY: allocator_api2's contract for `grow`.
                unsafe { $crate::interface::api2_reallocate(handle, ptr, old, new) }
            }

            unsafe fn shrink(
                &self,
                ptr: core::ptr::NonNull<u8>,
                old: core::alloc::Layout,
                new: core::alloc::Layout,
            ) -> Result<core::ptr::NonNull<[u8]>, allocator_api2::alloc::AllocError> {
                let $this = self;
                let handle = $handle;
                // SAFETY: allocator_api2's contract for `shrink`.
                unsafe { $crate::interface::api2_reallocate(handle, ptr, old, new) }
            }
        }
    };
}
pub(crate) use impl_allocator_api2;

impl_allocator_api2!([R: ?Sized + RawAllocator] Allocator<'_, R> => |this| *this);

#[doc(hidden)]
#[inline]
pub fn api2_allocate<R: ?Sized + RawAllocator>(
    handle: Allocator<'_, R>,
    layout: Layout,
) -> Result<NonNull<[u8]>, allocator_api2::alloc::AllocError> {
    let memory = handle.alloc_layout(layout)?;
    Ok(NonNull::slice_from_raw_parts(memory, layout.size()))
}

/// `grow` and `shrink` for `allocator_api2`: resize in place, else remap, else move by copy.
///
/// # Safety
/// `ptr` is a live block of `handle`'s allocator with layout `old`; `new` has the same
/// alignment requirement or a stricter one handled by moving.
#[doc(hidden)]
pub unsafe fn api2_reallocate<R: ?Sized + RawAllocator>(
    handle: Allocator<'_, R>,
    ptr: NonNull<u8>,
    old: Layout,
    new: Layout,
) -> Result<NonNull<[u8]>, allocator_api2::alloc::AllocError> {
    if old.align() == new.align() && old.size() != 0 && new.size() != 0 {
        // SAFETY: caller contract; same alignment, both sizes non-zero.
        if let Some(moved) = unsafe { handle.raw_remap(ptr, old.size(), old.align(), new.size()) } {
            return Ok(NonNull::slice_from_raw_parts(moved, new.size()));
        }
    }
    let fresh = handle.alloc_layout(new)?;
    // SAFETY: both blocks are live and distinct; the old one is freed with its own layout.
    unsafe {
        core::ptr::copy_nonoverlapping(ptr.as_ptr(), fresh.as_ptr(), old.size().min(new.size()));
        handle.free_layout(ptr, old);
    }
    Ok(NonNull::slice_from_raw_parts(fresh, new.size()))
}
