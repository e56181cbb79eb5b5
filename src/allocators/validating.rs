//! `ValidatingAllocator`: a debugging wrapper that checks every call of the raw allocator
//! contract, in both directions, and reports each violation as data and on stderr.
//!
//! # Design
//! It wraps any [`Allocator`] handle (the child) and records every live block it handed out
//! (address → layout) in a `BTreeMap` behind a `Mutex`. The ordered map makes the overlap check
//! a single range query: the only live block that can overlap `[p, p + len)` is the one with
//! the greatest start below `p + len`. A second map keeps the blocks freed since their address
//! was last handed out, to tell a double free from a pointer that was never allocated.
//!
//! Checked, on the caller's side: non-zero lengths; `free`/`resize`/`remap` of a pointer that
//! is live, with the length and alignment it currently has; no double free. On the child's
//! side: returned blocks are aligned as asked and overlap no live block.
//!
//! # What happens on a violation
//! It is appended to [`ValidatingAllocator::violations`] and printed to stderr (unless turned
//! off). A bad `free` is **not** forwarded, and a bad `resize`/`remap` fails without reaching
//! the child, so the child's heap stays intact and the program can go on to report more. A
//! child block that is misaligned or overlaps a live block is handed back to the child and the
//! request fails, so callers never receive memory that breaks the contract.
//!
//! # Costs and limits
//! Every call takes a lock and does map operations, and the bookkeeping allocates from the
//! global allocator: this is a debugging tool, not for production hot paths, and it must not
//! itself be installed as the `#[global_allocator]` (its own bookkeeping would recurse). The
//! map of freed blocks grows with the number of distinct freed addresses not since reused.

use core::alloc::Layout;
use core::fmt;
use core::ptr::NonNull;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::interface::{impl_allocator_api2, Allocator, RawAllocator};

/// Which rule of the contract a call broke (see the [`ValidatingAllocator`] example).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViolationKind {
    /// A request with length zero reached the raw interface (the handle answers those itself).
    ZeroLength,
    /// `free`, `resize` or `remap` of an address that no live block starts at, and that was
    /// not recently freed either.
    UnknownPointer,
    /// `free`, `resize` or `remap` of a block that was already freed.
    DoubleFree,
    /// The length given differs from the block's current length.
    LengthMismatch,
    /// The alignment given differs from the alignment the block was allocated with.
    AlignmentMismatch,
    /// The child returned a block not aligned as requested (the child's fault).
    MisalignedBlock,
    /// The child returned a block overlapping a live block (the child's fault).
    OverlappingBlock,
}

/// The raw operation during which a violation was seen (see the [`ValidatingAllocator`]
/// example).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RawOperation {
    /// `RawAllocator::alloc`.
    Alloc,
    /// `RawAllocator::resize`.
    Resize,
    /// `RawAllocator::remap`.
    Remap,
    /// `RawAllocator::free`.
    Free,
}

/// A block as the validator knows it: start address and layout
/// ([`ValidatingAllocator::live_blocks`], and the block a [`Violation`] conflicts with).
///
/// Example: [`ValidatingAllocator`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockRecord {
    /// Start address.
    pub address: usize,
    /// Length in bytes.
    pub len: usize,
    /// Alignment in bytes.
    pub alignment: usize,
}

impl BlockRecord {
    fn new(address: usize, layout: Layout) -> Self {
        BlockRecord {
            address,
            len: layout.size(),
            alignment: layout.align(),
        }
    }

    fn end(&self) -> usize {
        self.address.saturating_add(self.len)
    }
}

/// One broken rule: what, during which call, with what arguments, and the recorded block it
/// conflicts with (the live block for mismatches and overlaps, the freed one for double frees).
/// Its `Display` is the line printed to stderr. See the [`ValidatingAllocator`] example.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Violation {
    /// The rule.
    pub kind: ViolationKind,
    /// The call.
    pub operation: RawOperation,
    /// The block as the call described it (for `alloc` checks of the child: as returned).
    pub given: BlockRecord,
    /// For `resize`/`remap`, the requested new length.
    pub new_len: Option<usize>,
    /// The recorded block the call conflicts with, if any: the live block for length and
    /// alignment mismatches and overlaps, the freed block for double frees, and for an unknown
    /// pointer the live block it points into, if it points into one.
    pub recorded: Option<BlockRecord>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let given = self.given;
        write!(
            f,
            "{:?} in {:?}: block {:#x} (len {}, align {})",
            self.kind, self.operation, given.address, given.len, given.alignment
        )?;
        if let Some(new_len) = self.new_len {
            write!(f, " to new len {new_len}")?;
        }
        if let Some(recorded) = self.recorded {
            let what = match self.kind {
                ViolationKind::DoubleFree => "freed earlier as",
                ViolationKind::OverlappingBlock => "overlaps live block",
                ViolationKind::UnknownPointer => "points into live block",
                _ => "recorded as",
            };
            write!(
                f,
                "; {what} {:#x} (len {}, align {})",
                recorded.address, recorded.len, recorded.alignment
            )?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct State {
    live: BTreeMap<usize, Layout>,
    freed: BTreeMap<usize, Layout>,
    violations: Vec<Violation>,
}

impl State {
    /// The live block overlapping `[address, address + len)`, other than `except`.
    fn overlapping(
        &self,
        address: usize,
        len: usize,
        except: Option<usize>,
    ) -> Option<BlockRecord> {
        // Live blocks do not overlap each other, so only the one starting last before `end`
        // can reach into the range.
        let end = address.saturating_add(len);
        self.live
            .range(..end)
            .rev()
            .find(|(&start, _)| Some(start) != except)
            .map(|(&start, &layout)| BlockRecord::new(start, layout))
            .filter(|block| block.end() > address)
    }

    /// Records `[address, address + layout.size())` as live; it is no longer "freed".
    fn insert_live(&mut self, address: usize, layout: Layout) {
        self.live.insert(address, layout);
        let end = address.saturating_add(layout.size());
        while let Some((&start, _)) = self.freed.range(address..end).next() {
            self.freed.remove(&start);
        }
    }
}

/// A debugging wrapper that checks every raw call against the allocator contract, in both
/// directions, and keeps the violations as data (and prints them to stderr).
///
/// Checked on the caller's side: non-zero lengths; `free`/`resize`/`remap` of a live pointer
/// with the length and alignment it has; no double free. On the child's side: blocks aligned
/// as asked and overlapping no live block. A bad `free` is not forwarded and a bad
/// `resize`/`remap` fails, so the child's heap stays intact. Every call takes a lock and does
/// map operations, and the bookkeeping allocates from the global allocator: a tool for
/// debugging, never the `#[global_allocator]` itself.
///
/// ```
/// use gpa::{PageAllocator, ValidatingAllocator, ViolationKind};
///
/// let page = PageAllocator::new();
/// let validating = ValidatingAllocator::new(page.allocator()).with_stderr_reports(false);
/// let allocator = validating.allocator();
/// let block = allocator.raw_alloc(64, 16).unwrap();
/// // SAFETY: deliberate misuse; the validator refuses the bad calls before the page allocator
/// // sees them.
/// unsafe {
///     allocator.raw_free(block, 32, 16); // wrong length: refused
///     allocator.raw_free(block, 64, 16); // correct
///     allocator.raw_free(block, 64, 16); // double free: refused
/// }
/// let kinds: Vec<ViolationKind> = validating.violations().iter().map(|v| v.kind).collect();
/// assert_eq!(kinds, [ViolationKind::LengthMismatch, ViolationKind::DoubleFree]);
/// assert!(validating.live_blocks().is_empty());
/// ```
pub struct ValidatingAllocator<'a> {
    child: Allocator<'a>,
    state: Mutex<State>,
    print: bool,
}

impl fmt::Debug for ValidatingAllocator<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("ValidatingAllocator")
            .field("child", &self.child)
            .field("live_blocks", &state.live.len())
            .field("violations", &state.violations.len())
            .finish()
    }
}

impl<'a> ValidatingAllocator<'a> {
    /// Wraps `child`; violations are recorded and printed to stderr.
    pub fn new(child: Allocator<'a>) -> Self {
        ValidatingAllocator {
            child,
            state: Mutex::new(State::default()),
            print: true,
        }
    }

    /// Turns printing of violations to stderr on or off (they are recorded either way).
    pub fn with_stderr_reports(mut self, print: bool) -> Self {
        self.print = print;
        self
    }

    /// The handle to pass to functions.
    pub fn allocator(&self) -> Allocator<'_> {
        Allocator::new(self)
    }

    /// The wrapped allocator.
    pub fn child(&self) -> Allocator<'a> {
        self.child
    }

    /// Every violation seen so far, oldest first.
    pub fn violations(&self) -> Vec<Violation> {
        self.lock().violations.clone()
    }

    /// Returns the violations seen so far and forgets them.
    pub fn take_violations(&self) -> Vec<Violation> {
        core::mem::take(&mut self.lock().violations)
    }

    /// The blocks currently live (allocated and not freed), by address.
    pub fn live_blocks(&self) -> Vec<BlockRecord> {
        let state = self.lock();
        state
            .live
            .iter()
            .map(|(&address, &layout)| BlockRecord::new(address, layout))
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    #[cold]
    #[inline(never)]
    fn report(&self, state: &mut State, violation: Violation) {
        if self.print {
            eprintln!("gpa::ValidatingAllocator: contract violation: {violation}");
        }
        state.violations.push(violation);
    }

    /// Checks that `memory` with `layout` is a live block as recorded. Reports and returns
    /// `false` otherwise.
    fn check_live(
        &self,
        state: &mut State,
        operation: RawOperation,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: Option<usize>,
    ) -> bool {
        let address = memory.as_ptr() as usize;
        let given = BlockRecord::new(address, layout);
        let verdict = if layout.size() == 0 || new_len == Some(0) {
            Some((ViolationKind::ZeroLength, None))
        } else if let Some(&recorded) = state.live.get(&address) {
            let recorded_block = Some(BlockRecord::new(address, recorded));
            if recorded.align() != layout.align() {
                Some((ViolationKind::AlignmentMismatch, recorded_block))
            } else if recorded.size() != layout.size() {
                Some((ViolationKind::LengthMismatch, recorded_block))
            } else {
                None
            }
        } else if let Some(&freed) = state.freed.get(&address) {
            Some((
                ViolationKind::DoubleFree,
                Some(BlockRecord::new(address, freed)),
            ))
        } else {
            // An interior pointer names the block it points into, which usually explains it.
            let containing = state.overlapping(address, 1, None);
            Some((ViolationKind::UnknownPointer, containing))
        };
        let Some((kind, recorded)) = verdict else {
            return true;
        };
        let violation = Violation {
            kind,
            operation,
            given,
            new_len,
            recorded,
        };
        self.report(state, violation);
        false
    }

    /// Checks a block the child returned (alignment, overlap). `except` is the block being
    /// resized or remapped, which the new extent may of course cover.
    fn check_child_block(
        &self,
        state: &mut State,
        operation: RawOperation,
        memory: NonNull<u8>,
        layout: Layout,
        except: Option<usize>,
    ) -> bool {
        let address = memory.as_ptr() as usize;
        let given = BlockRecord::new(address, layout);
        let mut kind_and_recorded = None;
        if address % layout.align() != 0 {
            kind_and_recorded = Some((ViolationKind::MisalignedBlock, None));
        } else if let Some(other) = state.overlapping(address, layout.size(), except) {
            kind_and_recorded = Some((ViolationKind::OverlappingBlock, Some(other)));
        }
        match kind_and_recorded {
            None => true,
            Some((kind, recorded)) => {
                self.report(
                    state,
                    Violation {
                        kind,
                        operation,
                        given,
                        new_len: None,
                        recorded,
                    },
                );
                false
            }
        }
    }
}

// SAFETY: blocks come from the child, which promises validity; we additionally refuse (hand
// back and fail) any child block that is misaligned or overlaps a live block, and only
// forward resize/remap/free for blocks recorded live with exactly the layout given.
unsafe impl RawAllocator for ValidatingAllocator<'_> {
    fn alloc(&self, layout: Layout) -> Option<NonNull<u8>> {
        let mut state = self.lock();
        if layout.size() == 0 {
            let violation = Violation {
                kind: ViolationKind::ZeroLength,
                operation: RawOperation::Alloc,
                given: BlockRecord::new(0, layout),
                new_len: None,
                recorded: None,
            };
            self.report(&mut state, violation);
            return None;
        }
        let memory = self.child.implementation().alloc(layout)?;
        if !self.check_child_block(&mut state, RawOperation::Alloc, memory, layout, None) {
            // SAFETY: the child just returned this block for `layout`; giving it back is
            // within its contract, and the caller never sees it.
            unsafe { self.child.implementation().free(memory, layout) };
            return None;
        }
        state.insert_live(memory.as_ptr() as usize, layout);
        Some(memory)
    }

    unsafe fn resize(&self, memory: NonNull<u8>, layout: Layout, new_len: usize) -> bool {
        let mut state = self.lock();
        let operation = RawOperation::Resize;
        if !self.check_live(&mut state, operation, memory, layout, Some(new_len)) {
            return false;
        }
        let Ok(new_layout) = Layout::from_size_align(new_len, layout.align()) else {
            return false;
        };
        // SAFETY: `memory` is recorded live with exactly `layout` (checked above).
        if !unsafe { self.child.implementation().resize(memory, layout, new_len) } {
            return false;
        }
        let address = memory.as_ptr() as usize;
        // A grown block overlapping a neighbour is the child's bug; record it, keep the new
        // length (the block did change) so later calls are judged against the truth.
        self.check_child_block(&mut state, operation, memory, new_layout, Some(address));
        state.live.insert(address, new_layout);
        true
    }

    unsafe fn remap(
        &self,
        memory: NonNull<u8>,
        layout: Layout,
        new_len: usize,
    ) -> Option<NonNull<u8>> {
        let mut state = self.lock();
        let operation = RawOperation::Remap;
        if !self.check_live(&mut state, operation, memory, layout, Some(new_len)) {
            return None;
        }
        let new_layout = Layout::from_size_align(new_len, layout.align()).ok()?;
        // SAFETY: `memory` is recorded live with exactly `layout` (checked above).
        let moved = unsafe { self.child.implementation().remap(memory, layout, new_len) }?;
        let old_address = memory.as_ptr() as usize;
        state.live.remove(&old_address);
        if moved != memory {
            state.freed.insert(old_address, layout);
        }
        // As in `resize`: the remap happened, so the block is recorded whatever the verdict.
        self.check_child_block(&mut state, operation, moved, new_layout, None);
        state.insert_live(moved.as_ptr() as usize, new_layout);
        Some(moved)
    }

    unsafe fn free(&self, memory: NonNull<u8>, layout: Layout) {
        let mut state = self.lock();
        if !self.check_live(&mut state, RawOperation::Free, memory, layout, None) {
            return;
        }
        let address = memory.as_ptr() as usize;
        state.live.remove(&address);
        state.freed.insert(address, layout);
        // SAFETY: `memory` was recorded live with exactly `layout` (checked above).
        unsafe { self.child.implementation().free(memory, layout) }
    }
}

impl_allocator_api2!(['a] &ValidatingAllocator<'a> => |this| this.allocator());
