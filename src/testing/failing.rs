//! `FailingAllocator`: wraps any allocator and makes the n-th allocation (and the m-th resize)
//! fail on purpose, counting everything that goes through it (Zig's
//! `std.testing.FailingAllocator`).
//!
//! # Design
//! Each `alloc` request has an index: the number of successful allocations before it. The
//! request whose index equals [`Config::fail_index`] fails, and so does every later one: the
//! index only advances on success, so once memory "runs out" it stays out, as it would for a
//! real exhausted heap (and as in Zig). A closure that retries after an out-of-memory error
//! therefore keeps failing, which is what lets
//! [`check_all_allocation_failures`](crate::testing::check_all_allocation_failures) notice code
//! that swallows the error. `resize` and `remap` share a second index with
//! [`Config::resize_fail_index`], with the same sticky behaviour.
//!
//! The first induced failure records the stack of the failing request with
//! `backtrace::Backtrace::new_unresolved()` (return addresses only, no symbol lookup); it is
//! symbolized only when [`FailingAllocator::induced_failure_trace`] is asked for it.
//!
//! # Invariants
//! `allocated_bytes - freed_bytes` is the number of bytes live through this wrapper (resizes
//! count as allocation or freeing of the difference), and `allocations - deallocations` the
//! number of live blocks, provided the code under test frees what it allocated through this
//! same wrapper.

use core::alloc::Layout;
use core::cell::{Cell, RefCell};
use core::fmt::{self, Write as _};
use core::ptr::NonNull;

use crate::interface::{impl_allocator_api2, Allocator, RawAllocator};

/// Which requests a [`FailingAllocator`] fails. `usize::MAX` means never.
///
/// Example: [`FailingAllocator`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Config {
    /// Index of the first allocation to fail (0 fails the first one).
    pub fail_index: usize,
    /// Index of the first resize or remap to fail.
    pub resize_fail_index: usize,
}

impl Config {
    /// Never fail.
    pub const NEVER: Config = Config {
        fail_index: usize::MAX,
        resize_fail_index: usize::MAX,
    };

    /// Fail allocation `index` (and every later one); resizes never fail.
    pub const fn fail_at(index: usize) -> Config {
        Config {
            fail_index: index,
            resize_fail_index: usize::MAX,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::NEVER
    }
}

/// Which kind of request was made to fail.
///
/// Example: [`FailingAllocator`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InducedFailure {
    /// An allocation, with the allocation index.
    Alloc(usize),
    /// A resize or remap, with the resize index.
    Resize(usize),
}

/// Wraps a child allocator, failing requests at chosen indices and counting traffic (Zig's
/// `std.testing.FailingAllocator`).
///
/// Each allocation has an index, the number of successful allocations before it; the one
/// whose index is [`Config::fail_index`] fails, and so does every later one (memory that ran
/// out stays out, so code that retries cannot hide the failure). Resizes and remaps share a
/// second index with [`Config::resize_fail_index`]. The first induced failure records the
/// stack of its request, symbolized only when [`induced_failure_trace`](Self::induced_failure_trace)
/// asks for it.
///
/// ```
/// use gpa::testing::{Config, FailingAllocator};
///
/// let page = gpa::PageAllocator::new();
/// let failing = FailingAllocator::new(page.allocator(), Config::fail_at(1));
/// let allocator = failing.allocator();
/// let first = allocator.new_box(1u32).unwrap(); // allocation 0 succeeds
/// assert_eq!(allocator.new_box(2u32).unwrap_err(), gpa::Error::OutOfMemory); // 1 fails
/// assert!(allocator.new_box(3u32).is_err()); // and every later one
/// drop(first);
/// assert_eq!(failing.live_bytes(), 0);
/// assert!(failing.has_induced_failure());
/// ```
pub struct FailingAllocator<'a> {
    child: Allocator<'a>,
    config: Config,
    alloc_index: Cell<usize>,
    resize_index: Cell<usize>,
    allocations: Cell<usize>,
    deallocations: Cell<usize>,
    allocated_bytes: Cell<usize>,
    freed_bytes: Cell<usize>,
    induced: Cell<Option<InducedFailure>>,
    trace: RefCell<Option<backtrace::Backtrace>>,
}

impl fmt::Debug for FailingAllocator<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FailingAllocator")
            .field("config", &self.config)
            .field("alloc_index", &self.alloc_index.get())
            .field("resize_index", &self.resize_index.get())
            .field("allocations", &self.allocations.get())
            .field("deallocations", &self.deallocations.get())
            .field("allocated_bytes", &self.allocated_bytes.get())
            .field("freed_bytes", &self.freed_bytes.get())
            .field("induced", &self.induced.get())
            .finish()
    }
}

impl<'a> FailingAllocator<'a> {
    /// Wraps `child` with the failure points in `config`.
    pub fn new(child: Allocator<'a>, config: Config) -> Self {
        FailingAllocator {
            child,
            config,
            alloc_index: Cell::new(0),
            resize_index: Cell::new(0),
            allocations: Cell::new(0),
            deallocations: Cell::new(0),
            allocated_bytes: Cell::new(0),
            freed_bytes: Cell::new(0),
            induced: Cell::new(None),
            trace: RefCell::new(None),
        }
    }

    /// The handle to pass to the code under test.
    pub fn allocator(&self) -> Allocator<'_> {
        Allocator::new(self)
    }

    /// The configuration it was created with.
    pub fn config(&self) -> Config {
        self.config
    }

    /// The index the next allocation request gets (successful allocations so far).
    pub fn alloc_index(&self) -> usize {
        self.alloc_index.get()
    }

    /// The index the next resize or remap request gets (successful ones so far).
    pub fn resize_index(&self) -> usize {
        self.resize_index.get()
    }

    /// Successful allocations.
    pub fn allocations(&self) -> usize {
        self.allocations.get()
    }

    /// Frees passed to the child.
    pub fn deallocations(&self) -> usize {
        self.deallocations.get()
    }

    /// Bytes obtained: allocation lengths plus growth by resize and remap.
    pub fn allocated_bytes(&self) -> usize {
        self.allocated_bytes.get()
    }

    /// Bytes given back: freed lengths plus shrinkage by resize and remap.
    pub fn freed_bytes(&self) -> usize {
        self.freed_bytes.get()
    }

    /// Bytes still live (`allocated_bytes - freed_bytes`, saturating).
    pub fn live_bytes(&self) -> usize {
        self.allocated_bytes().saturating_sub(self.freed_bytes())
    }

    /// Whether some request was made to fail.
    pub fn has_induced_failure(&self) -> bool {
        self.induced.get().is_some()
    }

    /// The first request made to fail, if any.
    pub fn induced_failure(&self) -> Option<InducedFailure> {
        self.induced.get()
    }

    /// The stack of the first induced failure, symbolized now (function, then `file:line`),
    /// without the frames of the allocator machinery itself. `None` if nothing failed.
    pub fn induced_failure_trace(&self) -> Option<String> {
        let mut trace = self.trace.borrow().clone()?;
        trace.resolve();
        Some(format_trace(&trace))
    }

    #[cold]
    #[inline(never)]
    fn induce(&self, failure: InducedFailure) {
        if self.induced.get().is_none() {
            self.induced.set(Some(failure));
            *self.trace.borrow_mut() = Some(backtrace::Backtrace::new_unresolved());
        }
    }

    fn count_length_change(&self, old_len: usize, new_len: usize) {
        if new_len < old_len {
            self.freed_bytes
                .set(self.freed_bytes.get() + (old_len - new_len));
        } else {
            self.allocated_bytes
                .set(self.allocated_bytes.get() + (new_len - old_len));
        }
    }
}

/// Frames whose function is part of the allocation machinery, skipped at the top of a trace.
fn is_machinery(name: &str) -> bool {
    const PREFIXES: [&str; 8] = [
        "backtrace::",
        "gpa::testing::failing::",
        "<gpa::testing::failing::",
        "<&gpa::testing::failing::",
        "gpa::interface::",
        "<gpa::interface::",
        "allocator_api2::",
        "<allocator_api2::",
    ];
    PREFIXES.iter().any(|prefix| name.starts_with(prefix))
}

fn format_trace(trace: &backtrace::Backtrace) -> String {
    let mut out = String::new();
    let mut skipping = true;
    let mut number = 0;
    'frames: for frame in trace.frames() {
        for symbol in frame.symbols() {
            let name = symbol
                .name()
                .map_or_else(|| "<unknown>".to_owned(), |name| format!("{name:#}"));
            // std's marker: everything below it is the runtime or the test harness.
            if name.contains("__rust_begin_short_backtrace") {
                break 'frames;
            }
            if skipping && is_machinery(&name) {
                continue;
            }
            // Below the closure under test: the harness of `check_all_allocation_failures`.
            if !skipping && name.starts_with("gpa::testing::all_failures::") {
                break 'frames;
            }
            skipping = false;
            let _ = writeln!(out, "{number:4}: {name}");
            if let (Some(file), Some(line)) = (symbol.filename(), symbol.lineno()) {
                let _ = writeln!(out, "             at {}:{line}", file.display());
            }
            number += 1;
        }
    }
    if out.is_empty() {
        out.push_str("      <no symbols: build with debug info for a readable trace>\n");
    }
    out
}

// SAFETY: blocks come from the child unchanged; failures only withhold calls.
unsafe impl RawAllocator for FailingAllocator<'_> {
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        let index = self.alloc_index.get();
        if index >= self.config.fail_index {
            self.induce(InducedFailure::Alloc(index));
            return None;
        }
        let memory = self.child.implementation().alloc(layout)?;
        self.allocated_bytes
            .set(self.allocated_bytes.get() + layout.size());
        self.allocations.set(self.allocations.get() + 1);
        self.alloc_index.set(index + 1);
        Some(memory)
    }

    unsafe fn resize(&self, memory: NonNull<u8>, layout: Layout, new_len: usize) -> bool {
        let index = self.resize_index.get();
        if index >= self.config.resize_fail_index {
            self.induce(InducedFailure::Resize(index));
            return false;
        }
        // SAFETY: forwarded caller contract; our blocks are the child's blocks.
        if !unsafe { self.child.implementation().resize(memory, layout, new_len) } {
            return false;
        }
        self.count_length_change(layout.size(), new_len);
        self.resize_index.set(index + 1);
        true
    }

    unsafe fn remap(
        &self,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> Option<NonNull<u8>> {
        let index = self.resize_index.get();
        if index >= self.config.resize_fail_index {
            self.induce(InducedFailure::Resize(index));
            return None;
        }
        // SAFETY: forwarded caller contract.
        let moved = unsafe { self.child.implementation().remap(memory, layout, new_len) }?;
        self.count_length_change(layout.size(), new_len);
        self.resize_index.set(index + 1);
        Some(moved)
    }

    unsafe fn free(&self, memory: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded caller contract.
        unsafe { self.child.implementation().free(memory, layout) };
        self.deallocations.set(self.deallocations.get() + 1);
        self.freed_bytes.set(self.freed_bytes.get() + layout.size());
    }
}

impl_allocator_api2!(['a] &FailingAllocator<'a> => |this| this.allocator());
