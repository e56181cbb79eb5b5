// The front page is the README (its Rust examples run as doctests), then the map of the crate
// below. The README's links to `docs/*.md` are redirected to the `docs` modules that render
// those pages (the first definition of a link label wins).
#![doc = "[docs/design.md]: crate::docs::design"]
#![doc = "[docs/testing.md]: crate::docs::testing"]
#![doc = "[docs/c_abi.md]: crate::docs::c_abi"]
#![doc = "[docs/leaks.md]: crate::docs::leaks"]
#![doc = "[docs/performance.md]: crate::docs::performance"]
#![doc = "[docs/profile.md]: crate::docs::profile"]
#![doc = include_str!("../README.md")]
//!
//! ## Map of the crate
//!
//! **The interface.** [`RawAllocator`] is the trait every implementation implements (four raw
//! operations: alloc, resize, remap, free). Code that needs memory takes an [`Allocator`], a
//! `Copy` handle with the typed helpers (`create`, `alloc`, `dupe`, `alloc_print`, `free`,
//! `destroy`, and the owning `new_box`, `print`, `vec`...), or a [`SyncAllocator`] when the
//! memory must cross threads. [`Box`] and [`Vec`] are `allocator_api2`'s over a handle.
//! [`Error`] is what a failed request returns.
//!
//! **The implementations.**
//! * [`GeneralPurposeAllocator`], configured by [`Config`] (and [`OnError`], [`TraceMethod`]);
//!   [`Check`] is the verdict of its `deinit`, [`BlockInfo`] what it keeps about a live block,
//!   [`TraceId`] a stack trace it stored.
//! * [`PageAllocator`] (and the [`PAGE_ALLOCATOR`] static), [`ArenaAllocator`] (with
//!   [`ResetMode`]), [`FixedBufferAllocator`], [`ThreadSafeFixedBufferAllocator`],
//!   [`MemoryPool`], [`BufferFirstAllocator`], [`ThreadSafeAllocator`] (and [`AssumeSend`]).
//! * For debugging: [`ValidatingAllocator`] (its findings are [`Violation`]s of a
//!   [`ViolationKind`] in a [`RawOperation`], about a [`BlockRecord`]) and
//!   [`AlwaysFailingAllocator`] (and [`ALWAYS_FAILING_ALLOCATOR`]).
//!
//! **Findings.** [`Report`] holds [`Finding`]s of a [`FindingKind`], with named [`Stack`]s of
//! symbolized [`Frame`]s; an access fault has an [`Access`], a leak a [`LeakKind`]. The
//! [`report`] module has them all.
//!
//! **Modules.** [`testing`]: leak-checked tests ([`testing::check`],
//! [`testing::assert_no_leaks`], [`testing::with_gpa`]) and out-of-memory testing
//! ([`testing::FailingAllocator`], [`testing::check_all_allocation_failures`]).
//! [`observer`]: allocation events for tools built above the GPA. [`profile`]: heap profiles
//! (per allocation site, over time; DHAT's format). [`report::html`]: a report as one HTML
//! page. [`docs`]: the design notes, testing, C ABI, performance and profile pages.
//! [`page_size`] is the OS page size.
//!
//! ## Vocabulary (used throughout the crate)
//! * **OS page**: the kernel's page (4 KiB). **block**: what one allocation returns.
//! * **size class**: a block size that small requests are rounded up to.
//! * **segment**: a large aligned region the GPA takes from its backing allocator; it is
//!   divided into **pages** (GPA pages, 64 KiB or more, not OS pages), each serving one size
//!   class, split into **slots** of that class's size.
//! * **heap**: one thread's set of pages for one GPA instance.
//! * **large block**: a block above the largest size class, with a segment of its own.
//! * **guarded block**: in guard mode, a block on pages of its own, against an inaccessible
//!   **guard page**; a freed one stays inaccessible in a **quarantine** before its pages are reused.
//! * **trace**: the return addresses of a stack, captured without allocating.
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

mod allocators;
// Its submodules pass internal types (raw findings, live blocks) between each other, and their
// docs (for maintainers; hidden from users) link private items; only its top-level C functions
// are meant for the preload crate, through `__capi`.
#[allow(private_interfaces, rustdoc::private_intra_doc_links)]
mod capi;
mod gpa;
mod interface;
// Valgrind-style leak verdicts (reachability graph, loss records, stopping threads), used by
// the C ABI's exit report and the Rust GPA's leak checks.
mod leakcheck;
mod os;
pub mod profile;
pub mod report;
pub mod testing;
// Public (hidden) only so that the name of its symbol anchor is the same in every codegen unit.
#[doc(hidden)]
pub mod tls;
mod trace;

pub use allocators::{
    AlwaysFailingAllocator, ArenaAllocator, AssumeSend, BlockRecord, BufferFirstAllocator,
    FixedBufferAllocator, MemoryPool, PageAllocator, RawOperation, ResetMode, ThreadSafeAllocator,
    ThreadSafeFixedBufferAllocator, ValidatingAllocator, Violation, ViolationKind,
    ALWAYS_FAILING_ALLOCATOR, PAGE_ALLOCATOR,
};
pub use gpa::{BlockInfo, Check, Config, GeneralPurposeAllocator, OnError};
pub use interface::{Allocator, Box, Error, RawAllocator, SyncAllocator, Vec};
pub use os::page_size;
pub use report::{Access, Finding, FindingKind, Frame, LeakKind, Report, Stack};
pub use trace::{TraceId, TraceMethod};

/// Allocation events for tools built above the GPA (leak checks, heap profilers): implement
/// [`Observer`](observer::Observer) and register it for one instance with
/// [`GeneralPurposeAllocator::observe`] or for every instance with
/// [`observe_all`](observer::observe_all). [`gpa::testing`](crate::testing)'s leak checks are
/// built this way.
///
/// Observers run on the allocating thread, inside the allocator: what they allocate comes
/// from the GPA's internal heap and raises no event. While nothing is registered, the hook
/// costs each allocation and free one relaxed load.
///
/// ```
/// use core::ptr::NonNull;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// use gpa::observer::{Observer, TraceId};
/// use gpa::GeneralPurposeAllocator;
///
/// /// Counts the bytes live in the observed GPA.
/// struct LiveBytes(AtomicUsize);
///
/// impl Observer for LiveBytes {
///     fn on_alloc(&self, _: &GeneralPurposeAllocator, _: NonNull<u8>, size: usize, _: usize, _: TraceId) {
///         self.0.fetch_add(size, Ordering::Relaxed);
///     }
///     fn on_free(&self, _: &GeneralPurposeAllocator, _: NonNull<u8>, size: usize) {
///         self.0.fetch_sub(size, Ordering::Relaxed);
///     }
///     fn on_realloc(&self, _: &GeneralPurposeAllocator, _: NonNull<u8>, _: NonNull<u8>, old: usize, new: usize) {
///         self.0.fetch_add(new, Ordering::Relaxed);
///         self.0.fetch_sub(old, Ordering::Relaxed);
///     }
/// }
///
/// static LIVE: LiveBytes = LiveBytes(AtomicUsize::new(0));
///
/// let gpa = GeneralPurposeAllocator::new();
/// let observation = gpa.observe(&LIVE, 0).unwrap(); // 0: no allocation traces
/// let mut numbers = gpa.allocator().vec::<u64>();
/// numbers.extend(0..100);
/// assert!(LIVE.0.load(Ordering::Relaxed) >= 800);
/// drop(numbers);
/// assert_eq!(LIVE.0.load(Ordering::Relaxed), 0);
/// observation.end();
/// ```
pub mod observer {
    pub use crate::gpa::observer::{
        observe_all, Observation, Observer, TooManyObservers, MAX_OBSERVATIONS,
    };
    #[doc(no_inline)]
    pub use crate::TraceId;
}

/// The pages of the repository's `docs/` directory: how gpa is built, testing with it, the C
/// ABI and `gpa run`, and performance. Each module is one page (its examples are not compiled).
pub mod docs {
    /// Declares a module whose documentation is a page of `docs/`, with its links to the other
    /// pages redirected to their modules. Rustdoc does not compile its examples (`doctest` is
    /// set only while collecting doctests) and its prose is not held to intra-doc rules.
    macro_rules! page {
        ($name:ident, $file:literal, $title:literal) => {
            #[cfg_attr(
                                        not(doctest),
                                        doc = "[design.md]: crate::docs::design",
                                        doc = "[testing.md]: crate::docs::testing",
                                        doc = "[c_abi.md]: crate::docs::c_abi",
                                        doc = "[leaks.md]: crate::docs::leaks",
                                        doc = "[performance.md]: crate::docs::performance",
                                        doc = "[profile.md]: crate::docs::profile",
                                        doc = include_str!($file)
                                    )]
            #[cfg_attr(doctest, doc = $title)]
            #[allow(rustdoc::all)]
            pub mod $name {}
        };
    }
    page!(design, "../docs/design.md", "How gpa is built.");
    page!(
        testing,
        "../docs/testing.md",
        "Testing with gpa, in detail."
    );
    page!(
        c_abi,
        "../docs/c_abi.md",
        "`gpa run` and the preload library, in detail."
    );
    page!(
        leaks,
        "../docs/leaks.md",
        "Leak reports: loss kinds, loss records, suppressions."
    );
    page!(performance, "../docs/performance.md", "Performance.");
    page!(
        profile,
        "../docs/profile.md",
        "Heap profiles: where the memory goes."
    );
}

/// The C allocation ABI for `libgpa_preload.so` (the `gpa-capi` crate): C semantics, settings,
/// front guards, the leak scan and the exit report. Not a Rust API: it may change in any
/// release.
#[doc(hidden)]
pub mod __capi {
    pub use crate::capi::*;
    /// The exported `malloc` and `free`'s assembly's constants and slow functions.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    pub use crate::gpa::c_entry as entry;
}
