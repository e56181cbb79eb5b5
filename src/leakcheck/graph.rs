//! The reachability graph of a leak check: roots → blocks → blocks, and the loss kind of
//! every live block, computed as Valgrind memcheck computes it.
//!
//! # Design
//! Conservative: every aligned word of a root range, every root word (a register) and every
//! word of a scanned block, counted from its start, that points into a live block (its start
//! or its interior) is taken as a reference. (A block's words are counted from its start, not
//! from address 0: the program lays its pointers out from the block's start, and guard mode's
//! `GPA_GUARD_FLUSH` hands out blocks that are not word aligned.) The rules are memcheck's (`mc_leakcheck.c`, and the manual's
//! "Memory leak detection"):
//!
//! 1. **Marking from the roots.** A block starts *unreached*. A pointer to its start (or an
//!    interior pointer that one of the [`Heuristics`] accepts) found in a root, or in a block
//!    that is itself *reachable*, makes it *reachable*. Any other pointer (an interior one, or
//!    one found in a *possibly lost* block) makes an unreached block *possibly lost*. Each
//!    change of state (unreached → possible, unreached → reachable, possible → reachable)
//!    schedules the block to be scanned (again), so the states reach a fixed point whatever
//!    the order of the roots.
//! 2. **Cliques.** Every block still unreached is then taken in address order as a *clique
//!    leader*: the unreached blocks it reaches (start or interior pointers alike) become
//!    *indirectly lost* and their bytes are added to the leader's *indirect* bytes. A leader
//!    reached later from another leader joins that clique, bringing its indirect bytes along.
//!    Leaders left at the end are *definitely lost*. Memcheck's order is its heap's address
//!    order, which mostly follows the allocation order (the container before its nodes, a
//!    cycle's first block before the others); which block of a lost structure is definitely
//!    lost, and which record holds the others' bytes, follows it. The caller says which
//!    order stands for it here ([`LeaderOrder`], [`Graph::leaders_in`]):
//!    * [`LeaderOrder::Serials`]: the blocks' allocation serial numbers
//!      ([`LiveBlock::serial`]), the allocation order itself, whatever the placement (check
//!      mode, whose size classes put a later block below an earlier one as often as above);
//!    * [`LeaderOrder::Addresses`]: the addresses, where they follow the allocation order
//!      (guard mode: each block on fresh pages above the last one), memcheck's own rule;
//!    * [`LeaderOrder::HeadsFirst`] (the default, where neither is known: fast mode's blocks
//!      have no serial): the unreached blocks no other unreached block points at by its
//!      start (the heads of lost structures) lead first, then the others, each group by
//!      address. The head is mostly the block memcheck's order picks in its own heap (a
//!      `std::set` whose nodes size classes place below its header), not always: a head
//!      allocated after a lost cycle's blocks takes the cycle from the block memcheck makes
//!      its leader (`cli/tests/leakfuzz.rs`, seed 62: memcheck's 50-byte block definitely
//!      lost holding 8,903 bytes, and the head's 4,025 bytes holding none).
//!
//! A pointer counts only when the byte it points at is readable ([`Memory::is_readable`]), and
//! memory is only read where [`Memory::for_each_readable`] allows it, so a page the program
//! made inaccessible is skipped, never faulted on.
//!
//! A **watch** ([`Graph::watch`]) lists every word pointing into a range, in the roots and in
//! every judged block whatever its kind, as memcheck's `who_points_at` does (`gpa run`'s
//! `GPA_WHO_POINTS_AT`): for telling which memory gave a block its kind. It costs nothing
//! unless set.
//!
//! # Invariants
//! * `blocks` is sorted by address and blocks do not overlap; a zero-size block is reached
//!   only by a pointer equal to its address.
//! * A block is on the mark stack at most once (`pending`), so the stack never holds more
//!   entries than there are blocks.
//! * The caller makes sure what this module allocates does not disturb the heap being judged
//!   (`gpa run` holds the GPA's re-entrancy guard, so it comes from the internal heap).

use crate::gpa::LiveBlock;
use crate::report::LeakKind;

/// What the graph may read. Implementations decide which memory is readable: what
/// `/proc/self/maps` says ([`super::Maps`]), or all of it (a Rust program's own blocks and
/// ranges).
pub trait Memory {
    /// Calls `visit(start, end)` for each part of `[start, end)` that may be read, in address
    /// order. An implementation may leave out pages it knows hold only zeros (never touched:
    /// [`super::Maps`] skips them in large parts of private anonymous memory): they hold no
    /// pointer.
    fn for_each_readable(&self, start: usize, end: usize, visit: &mut dyn FnMut(usize, usize));
    /// Copies the bytes from `address` into `buffer`, stopping at the first byte that cannot
    /// be read; returns how many were copied. Called only for memory that
    /// [`Memory::for_each_readable`] offered (which may have changed since, when a thread
    /// still runs). The default copies directly.
    fn read(&self, address: usize, buffer: &mut [u8]) -> usize {
        // SAFETY: the trait's contract: `address` lies in memory offered as readable, and an
        // implementation whose memory may change under it overrides this method.
        unsafe {
            core::ptr::copy_nonoverlapping(address as *const u8, buffer.as_mut_ptr(), buffer.len())
        };
        buffer.len()
    }
    /// As [`Memory::read`], for bytes inside one of the judged blocks, offered as readable:
    /// a reached block's contents, and the heuristics' reads of a few words for each
    /// interior pointer (over a million of each at a Perl interpreter's exit). The default
    /// is [`Memory::read`].
    fn read_in_block(&self, address: usize, buffer: &mut [u8]) -> usize {
        self.read(address, buffer)
    }
    /// Whether the byte at `address` may be read.
    fn is_readable(&self, address: usize) -> bool;
    /// For the multiple-inheritance heuristic: if `address` lies in a readable mapping of a
    /// file, the end of that mapping; `None` otherwise (or when unknown).
    fn file_mapping_end(&self, address: usize) -> Option<usize>;
    /// Whether `address` lies in an executable mapping of a file (a function's code).
    fn is_file_code(&self, address: usize) -> bool;
}

/// One of memcheck's leak-check heuristics: an interior pointer of a recognized shape counts
/// as a pointer to the block's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Heuristic {
    /// A pointer to the characters of a reference-counted `std::string` (length, capacity and
    /// reference count before them, three words into the block).
    StdString,
    /// A pointer 8 bytes into a block whose first 8 bytes hold the rest's length (sqlite).
    Length64,
    /// A pointer one word into a block whose first word is a plausible element count (C++
    /// `new[]` of objects with a destructor).
    NewArray,
    /// A pointer to a second vtable pointer inside an object whose first word is also a
    /// vtable pointer (C++ multiple inheritance).
    MultipleInheritance,
    /// gpa's own, not memcheck's: a pointer to a GLib type system block that GLib registers
    /// with Valgrind as a block of its own starting there (`VALGRIND_MALLOCLIKE_BLOCK`, a
    /// client request, a no-op natively), so that memcheck sees a start pointer where the
    /// native program has an interior one. Only in blocks GLib's allocator (`libglib-2.0`)
    /// allocated for `libgobject-2.0` (the caller says which: [`Graph::gobject_blocks`]), in
    /// three shapes: a fundamental type's node, kept one word into its block (after its
    /// `GTypeFundamentalInfo`, a word of type flags below 16); an object instance with
    /// private data, kept `private_size` bytes into its block, whose first word (`g_class`)
    /// is the start of another such block (its class); and a closure, kept four words into
    /// its block (after `GRealClosure`'s marshallers). See `docs/leaks.md`.
    GObject,
}

impl Heuristic {
    /// Every heuristic, in memcheck's order, then gpa's own.
    pub const ALL: [Heuristic; 5] = [
        Heuristic::StdString,
        Heuristic::Length64,
        Heuristic::NewArray,
        Heuristic::MultipleInheritance,
        Heuristic::GObject,
    ];

    /// Memcheck's name (`stdstring`, `length64`, `newarray`, `multipleinheritance`), or
    /// gpa's (`gobject`).
    pub fn as_str(self) -> &'static str {
        match self {
            Heuristic::StdString => "stdstring",
            Heuristic::Length64 => "length64",
            Heuristic::NewArray => "newarray",
            Heuristic::MultipleInheritance => "multipleinheritance",
            Heuristic::GObject => "gobject",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of the heuristics above (memcheck's `--leak-check-heuristics`, default all; `all`
/// includes gpa's `gobject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heuristics(u8);

impl Heuristics {
    /// All five: memcheck's four, its default, and gpa's `gobject`.
    pub const ALL: Heuristics = Heuristics(0b1_1111);
    /// None: only start pointers make a block reachable.
    pub const NONE: Heuristics = Heuristics(0);

    /// Whether `heuristic` is in the set.
    pub fn contains(self, heuristic: Heuristic) -> bool {
        self.0 & heuristic.bit() != 0
    }

    /// The set with `heuristic` added.
    pub fn with(self, heuristic: Heuristic) -> Heuristics {
        Heuristics(self.0 | heuristic.bit())
    }

    /// Parses memcheck's syntax: `all`, `none`, or a comma-separated list of names.
    pub fn parse(text: &str) -> Option<Heuristics> {
        match text.trim() {
            "all" => return Some(Heuristics::ALL),
            "none" | "" => return Some(Heuristics::NONE),
            _ => {}
        }
        text.split(',').try_fold(Heuristics::NONE, |set, name| {
            let heuristic = Heuristic::ALL
                .into_iter()
                .find(|h| h.as_str() == name.trim())?;
            Some(set.with(heuristic))
        })
    }
}

impl Default for Heuristics {
    fn default() -> Self {
        Heuristics::ALL
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Unreached,
    Possible,
    Reachable,
    Indirect,
}

/// The order in which the blocks left unreached by the roots are taken as clique leaders
/// (see the module docs, 2.): what stands for memcheck's address order, which mostly follows
/// the allocation order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LeaderOrder {
    /// The heads of lost structures first (no other unreached block points at their start),
    /// then the others, each group by address: where neither the addresses nor serials follow
    /// the allocation order.
    #[default]
    HeadsFirst,
    /// By address alone: the addresses follow the allocation order (guard mode), as in
    /// memcheck's heap.
    Addresses,
    /// By [`LiveBlock::serial`], then address: the allocation order whatever the placement.
    /// Serials count per thread, so blocks of two threads are ordered arbitrarily (and a
    /// block with serial 0, none kept, goes first).
    Serials,
}

/// The verdict on one live block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Judged {
    /// The block.
    pub block: LiveBlock,
    /// Its loss kind.
    pub kind: LeakKind,
    /// For a definitely lost block: bytes of the blocks lost only through it (its clique).
    pub indirect_bytes: usize,
    /// For a definitely lost block: how many blocks are lost only through it.
    pub indirect_blocks: usize,
    /// For a still reachable block: the heuristic that made an interior pointer count, when
    /// no start pointer was found.
    pub heuristic: Option<Heuristic>,
    /// For an indirectly lost block: the address of the definitely lost block holding it.
    pub held_by: Option<usize>,
}

/// Where a word pointing into a watched range ([`Graph::watch`]) was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holder {
    /// A root range (a mapping, a live part of a stack).
    Root,
    /// A root word held outside memory (a stopped thread's register, a saved register).
    Register,
    /// A judged block, by its address (whatever its loss kind).
    Block(usize),
}

/// A word pointing into the watched range: memcheck's `who_points_at`, for `gpa run`'s
/// `GPA_WHO_POINTS_AT` (a debugging aid: which memory holds a block's pointers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchHit {
    /// The word's address (0 for a [`Holder::Register`]).
    pub at: usize,
    /// Its value, inside the watched range.
    pub value: usize,
    /// What holds it.
    pub holder: Holder,
}

/// The reachability graph under construction: add roots, then [`Graph::finish`].
pub struct Graph<'m> {
    blocks: std::vec::Vec<LiveBlock>,
    state: std::vec::Vec<State>,
    pending: std::vec::Vec<bool>,
    heuristic: std::vec::Vec<Option<Heuristic>>,
    indirect_bytes: std::vec::Vec<usize>,
    indirect_blocks: std::vec::Vec<usize>,
    leader: std::vec::Vec<u32>,
    stack: std::vec::Vec<u32>,
    low: usize,
    high: usize,
    memory: &'m dyn Memory,
    heuristics: Heuristics,
    /// The range [`Graph::watch`] looks for pointers into, and what it found.
    watch: Option<(usize, usize)>,
    watch_hits: std::vec::Vec<WatchHit>,
    /// The order of clique leaders ([`Graph::leaders_in`]).
    leader_order: LeaderOrder,
    /// Which blocks GLib allocated for libgobject ([`Graph::gobject_blocks`]).
    gobject: Option<&'m dyn Fn(&LiveBlock) -> bool>,
}

const WORD: usize = core::mem::size_of::<usize>();
/// Words copied per read of scanned memory.
const CHUNK_WORDS: usize = 1024;
const NO_LEADER: u32 = u32::MAX;

/// Calls `each` with every word of the readable parts of `[start, end)` whose address is a
/// whole number of words from `anchor` (0 for aligned words), read from `memory` in chunks
/// through [`Memory::read`], or [`Memory::read_in_block`] when `[start, end)` is a judged
/// block (`in_block`). A chunk that cannot be read whole (memory unmapped by a thread that
/// still runs) is taken up to where it failed, and the walk goes on at the next page. The
/// one reader of scanned memory: the graph's, and the exit scan's look at stopped threads'
/// stacks (`capi::scan`).
pub fn for_each_word(
    memory: &dyn Memory,
    start: usize,
    end: usize,
    anchor: usize,
    in_block: bool,
    each: &mut dyn FnMut(usize),
) {
    // The walk of `for_each_word_at`, without the addresses: through it, with the address left
    // unused, the exit scan took 0.18% more instructions (2,859,384,539 against 2,854,166,666
    // on 262,144 linked blocks and an 8 MiB root array, callgrind).
    let mut chunk = [0usize; CHUNK_WORDS];
    let on_grid = |address: usize| address + anchor.wrapping_sub(address) % WORD;
    memory.for_each_readable(start, end, &mut |from, to| {
        let mut cursor = on_grid(from);
        while cursor + WORD <= to {
            let words = ((to - cursor) / WORD).min(CHUNK_WORDS);
            // SAFETY: `chunk` is a plain array of words; viewing it as bytes is sound.
            let bytes = unsafe {
                core::slice::from_raw_parts_mut(chunk.as_mut_ptr().cast::<u8>(), words * WORD)
            };
            let copied = if in_block {
                memory.read_in_block(cursor, bytes)
            } else {
                memory.read(cursor, bytes)
            } / WORD;
            for &word in &chunk[..copied] {
                each(word);
            }
            if copied < words {
                // Unreadable now (unmapped by a thread that still runs): skip its page.
                let page = crate::os::page_size();
                cursor = on_grid((cursor + (copied + 1) * WORD).next_multiple_of(page));
            } else {
                cursor += words * WORD;
            }
        }
    });
}

/// As [`for_each_word`], with each word's address: `each(address, word)` (for
/// [`Graph::watch`]).
pub fn for_each_word_at(
    memory: &dyn Memory,
    start: usize,
    end: usize,
    anchor: usize,
    in_block: bool,
    each: &mut dyn FnMut(usize, usize),
) {
    let mut chunk = [0usize; CHUNK_WORDS];
    // The first address at or after `address` on the anchor's grid.
    let on_grid = |address: usize| address + anchor.wrapping_sub(address) % WORD;
    memory.for_each_readable(start, end, &mut |from, to| {
        let mut cursor = on_grid(from);
        while cursor + WORD <= to {
            let words = ((to - cursor) / WORD).min(CHUNK_WORDS);
            // SAFETY: `chunk` is a plain array of words; viewing it as bytes is sound.
            let bytes = unsafe {
                core::slice::from_raw_parts_mut(chunk.as_mut_ptr().cast::<u8>(), words * WORD)
            };
            let copied = if in_block {
                memory.read_in_block(cursor, bytes)
            } else {
                memory.read(cursor, bytes)
            } / WORD;
            for (at, &word) in chunk[..copied].iter().enumerate() {
                each(cursor + at * WORD, word);
            }
            if copied < words {
                // Unreadable now (unmapped by a thread that still runs): skip its page.
                let page = crate::os::page_size();
                cursor = on_grid((cursor + (copied + 1) * WORD).next_multiple_of(page));
            } else {
                cursor += words * WORD;
            }
        }
    });
}

impl<'m> Graph<'m> {
    /// A graph over `blocks` (any order; they must not overlap), reading through `memory`.
    pub fn new(
        mut blocks: std::vec::Vec<LiveBlock>,
        memory: &'m dyn Memory,
        heuristics: Heuristics,
    ) -> Graph<'m> {
        blocks.sort_unstable_by_key(|block| block.address);
        let low = blocks.first().map_or(0, |block| block.address);
        let high = blocks
            .iter()
            .map(|block| block.address + block.size.max(1))
            .max()
            .unwrap_or(0);
        let count = blocks.len();
        Graph {
            blocks,
            state: std::vec![State::Unreached; count],
            pending: std::vec![false; count],
            heuristic: std::vec![None; count],
            indirect_bytes: std::vec![0; count],
            indirect_blocks: std::vec![0; count],
            leader: std::vec![NO_LEADER; count],
            stack: std::vec::Vec::new(),
            low,
            high,
            memory,
            heuristics,
            watch: None,
            watch_hits: std::vec::Vec::new(),
            leader_order: LeaderOrder::HeadsFirst,
            gobject: None,
        }
    }

    /// Tells [`Heuristic::GObject`] which blocks GLib's allocator allocated for libgobject
    /// (`allocated_for_gobject`: asked only about a block an interior pointer of one of the
    /// heuristic's shapes points into). Without it the heuristic accepts nothing.
    pub fn gobject_blocks(&mut self, allocated_for_gobject: &'m dyn Fn(&LiveBlock) -> bool) {
        self.gobject = Some(allocated_for_gobject);
    }

    /// Sets the order in which unreached blocks are taken as clique leaders (see
    /// [`LeaderOrder`]; [`LeaderOrder::HeadsFirst`] unless set).
    pub fn leaders_in(&mut self, order: LeaderOrder) {
        self.leader_order = order;
    }

    /// Records every word that points into `[start, start + len)`, like memcheck's
    /// `who_points_at`: in the root ranges and root words added from now on, and, at
    /// [`Graph::watch_blocks`], in every judged block whatever its kind. Read back with
    /// [`Graph::take_watch_hits`]. Costs a second walk of each root range: for debugging.
    pub fn watch(&mut self, start: usize, len: usize) {
        self.watch = Some((start, start.saturating_add(len.max(1))));
    }

    /// Looks for words pointing into the watched range in every judged block (see
    /// [`Graph::watch`]).
    pub fn watch_blocks(&mut self) {
        let Some((low, high)) = self.watch else {
            return;
        };
        let mut hits = core::mem::take(&mut self.watch_hits);
        for block in &self.blocks {
            let end = block.address + block.size;
            for_each_word_at(
                self.memory,
                block.address,
                end,
                block.address,
                true,
                &mut |at, value| {
                    if value >= low && value < high {
                        hits.push(WatchHit {
                            at,
                            value,
                            holder: Holder::Block(block.address),
                        });
                    }
                },
            );
        }
        self.watch_hits = hits;
    }

    /// The words found pointing into the watched range so far, in the order found.
    pub fn take_watch_hits(&mut self) -> std::vec::Vec<WatchHit> {
        core::mem::take(&mut self.watch_hits)
    }

    /// The block containing `address` (its start or interior; a zero-size block only at its
    /// address).
    #[inline]
    fn find(&self, address: usize) -> Option<usize> {
        if address < self.low || address >= self.high {
            return None;
        }
        let after = self
            .blocks
            .partition_point(|block| block.address <= address);
        let index = after.checked_sub(1)?;
        let block = &self.blocks[index];
        (address < block.address + block.size || address == block.address).then_some(index)
    }

    /// The index of the block `address` points into, if it is one and the byte is readable.
    #[inline]
    fn target(&self, address: usize) -> Option<usize> {
        let index = self.find(address)?;
        self.memory.is_readable(address).then_some(index)
    }

    fn push(&mut self, index: usize) {
        if !self.pending[index] {
            self.pending[index] = true;
            self.stack.push(index as u32);
        }
    }

    /// One word found in a root or in a block scanned from the roots.
    fn reference_from_roots(&mut self, value: usize, prior_definite: bool) {
        let Some(index) = self.target(value) else {
            return;
        };
        let start = self.blocks[index].address == value;
        if self.state[index] == State::Reachable {
            if start {
                // Reached by a start pointer after all: not a heuristic's doing.
                self.heuristic[index] = None;
            }
            return;
        }
        let via_start = if start {
            true
        } else {
            let found = self.heuristic_for(value, index);
            self.heuristic[index] = found;
            found.is_some()
        };
        if via_start && prior_definite {
            self.state[index] = State::Reachable;
            self.push(index);
        } else if self.state[index] == State::Unreached {
            self.state[index] = State::Possible;
            self.push(index);
        }
    }

    /// One word found while gathering the clique of leader `leader`, in block `current`.
    fn reference_in_clique(&mut self, value: usize, leader: usize, current: usize) {
        let Some(index) = self.target(value) else {
            return;
        };
        if self.state[index] != State::Unreached || index == leader {
            return;
        }
        self.push(index);
        self.indirect_bytes[leader] += self.blocks[index].size + self.indirect_bytes[index];
        self.indirect_blocks[leader] += 1 + self.indirect_blocks[index];
        self.indirect_bytes[index] = 0;
        self.indirect_blocks[index] = 0;
        self.state[index] = State::Indirect;
        self.leader[index] = current as u32;
    }

    /// Reads the aligned word at `address` if readable.
    fn read_word(&self, address: usize) -> Option<usize> {
        if address % WORD != 0 || !self.memory.is_readable(address) {
            return None;
        }
        let mut bytes = [0u8; WORD];
        (self.memory.read(address, &mut bytes) == WORD).then(|| usize::from_ne_bytes(bytes))
    }

    /// Reads the aligned word at `address`, inside block `block`, if readable: through
    /// [`Memory::read_in_block`] when the whole word lies in the block, else (a word that
    /// runs past the block's end) as any word is read.
    fn read_block_word(&self, block: &LiveBlock, address: usize) -> Option<usize> {
        if address < block.address || address + WORD > block.address + block.size {
            return self.read_word(address);
        }
        if address % WORD != 0 || !self.memory.is_readable(address) {
            return None;
        }
        let mut bytes = [0u8; WORD];
        (self.memory.read_in_block(address, &mut bytes) == WORD)
            .then(|| usize::from_ne_bytes(bytes))
    }

    /// Memcheck's heuristics for an interior pointer `value` into block `index`.
    fn heuristic_for(&self, value: usize, index: usize) -> Option<Heuristic> {
        if self.heuristics == Heuristics::NONE {
            return None;
        }
        let block = self.blocks[index];
        let offset = value - block.address;
        if self.heuristics.contains(Heuristic::StdString) && offset == 3 * WORD {
            if let Some(capacity) = self.read_block_word(&block, block.address + WORD) {
                if capacity
                    .checked_add(3 * WORD + 1)
                    .is_some_and(|total| total == block.size)
                {
                    if let Some(length) = self.read_block_word(&block, block.address) {
                        if length <= capacity {
                            return Some(Heuristic::StdString);
                        }
                    }
                }
            }
        }
        if offset == WORD {
            if let Some(first) = self.read_block_word(&block, block.address) {
                let rest = block.size - WORD;
                if self.heuristics.contains(Heuristic::Length64) && first > 0 && rest == first {
                    return Some(Heuristic::Length64);
                }
                if self.heuristics.contains(Heuristic::NewArray) && first > 0 && rest % first == 0 {
                    return Some(Heuristic::NewArray);
                }
            }
        }
        if self.heuristics.contains(Heuristic::GObject) && self.is_gobject_start(&block, value) {
            return Some(Heuristic::GObject);
        }
        if self.heuristics.contains(Heuristic::MultipleInheritance) && value % WORD == 0 {
            let page = crate::os::page_size();
            let inner = self.read_block_word(&block, value)?;
            if inner % WORD == 0 && inner >= page {
                let first = self.read_block_word(&block, block.address)?;
                if first % WORD == 0
                    && first >= page
                    && self.is_vtable(inner)
                    && self.is_vtable(first)
                {
                    return Some(Heuristic::MultipleInheritance);
                }
            }
        }
        None
    }

    /// [`Heuristic::GObject`]: whether the interior pointer `value` into `block` is where
    /// GLib tells Valgrind a block of its own starts. GLib 2.74's `gtype.c`: a fundamental
    /// type's node is allocated `g_malloc0(SIZEOF_FUNDAMENTAL_INFO + size)` (one word of
    /// `GTypeFundamentalInfo`, flags below 16, before the node) and kept at the node,
    /// `VALGRIND_MALLOCLIKE_BLOCK(node, ...)`; `g_type_create_instance` allocates an instance
    /// with private data after that data and, under Valgrind only, registers the instance
    /// (whose first word is its class, itself a block `gtype.c` allocated with `g_malloc0`);
    /// `gclosure.c`'s `g_closure_new_simple` allocates a `GRealClosure` (four words, three
    /// of them marshallers, code or null, before the `GClosure`) and, under Valgrind only, registers
    /// the `GClosure` it returns.
    fn is_gobject_start(&self, block: &LiveBlock, value: usize) -> bool {
        let Some(allocated_for_gobject) = self.gobject else {
            return false;
        };
        if value % WORD != 0 {
            return false;
        }
        let offset = value - block.address;
        let code_or_null = |address: usize| {
            self.read_block_word(block, address)
                .is_some_and(|word| word == 0 || self.memory.is_file_code(word))
        };
        let shaped = if offset == WORD
            && self
                .read_block_word(block, block.address)
                .is_some_and(|flags| flags < 16)
        {
            true
        } else if offset == 4 * WORD
            && block.size >= 8 * WORD
            && [0, 2, 3]
                .iter()
                .all(|word| code_or_null(block.address + word * WORD))
            && code_or_null(value + WORD)
        {
            // A closure (`g_closure_new_simple`): `GRealClosure`'s meta marshaller, its data
            // (any word: `g_signal_type_cclosure_new` puts a class offset there), two
            // marshallers, then the `GClosure` the program holds, whose second word is its
            // marshaller.
            true
        } else {
            // An instance: its first word, `g_class`, is the start of another block
            // allocated for libgobject.
            self.read_block_word(block, value)
                .and_then(|class| {
                    let index = self.target(class)?;
                    let class_block = &self.blocks[index];
                    (class_block.address == class && class_block.address != block.address)
                        .then_some(class_block)
                })
                .is_some_and(allocated_for_gobject)
        };
        shaped && allocated_for_gobject(block)
    }

    /// Memcheck's test: `address` lies in a readable file mapping and, within its first 20
    /// words, holds at least two non-null pointers into executable file mappings and nothing
    /// else but nulls.
    fn is_vtable(&self, address: usize) -> bool {
        const MAX_CHECK: usize = 20;
        let Some(end) = self.memory.file_mapping_end(address) else {
            return false;
        };
        let last = (address + MAX_CHECK * WORD).min(end.saturating_sub(WORD));
        let mut functions = 0;
        let mut cursor = address;
        while cursor <= last {
            let Some(word) = self.read_word(cursor) else {
                return false;
            };
            cursor += WORD;
            if word == 0 {
                continue;
            }
            if !self.memory.is_file_code(word) {
                return false;
            }
            functions += 1;
            if functions == 2 {
                return true;
            }
        }
        false
    }

    /// Scans the root range `[start, end)` (its readable parts).
    pub fn scan_root_range(&mut self, start: usize, end: usize) {
        if let Some((low, high)) = self.watch {
            let hits = &mut self.watch_hits;
            for_each_word_at(self.memory, start, end, 0, false, &mut |at, value| {
                if value >= low && value < high {
                    hits.push(WatchHit {
                        at,
                        value,
                        holder: Holder::Root,
                    });
                }
            });
        }
        let mut found = std::vec::Vec::new();
        self.collect_hits(start, end, 0, false, &mut found);
        for value in found {
            self.reference_from_roots(value, true);
        }
    }

    /// A root word held outside memory (a register of a stopped thread).
    pub fn add_root_word(&mut self, value: usize) {
        if let Some((low, high)) = self.watch {
            if value >= low && value < high {
                self.watch_hits.push(WatchHit {
                    at: 0,
                    value,
                    holder: Holder::Register,
                });
            }
        }
        self.reference_from_roots(value, true);
    }

    /// The words of `[start, end)` (on `anchor`'s word grid, [`for_each_word`]; a
    /// judged block when `in_block`) that point into some block (cheap filter first).
    fn collect_hits(
        &self,
        start: usize,
        end: usize,
        anchor: usize,
        in_block: bool,
        found: &mut std::vec::Vec<usize>,
    ) {
        let (low, high) = (self.low, self.high);
        for_each_word(self.memory, start, end, anchor, in_block, &mut |value| {
            if value >= low && value < high {
                found.push(value);
            }
        });
    }

    fn process_from_roots(&mut self) {
        let mut found = std::vec::Vec::new();
        while let Some(index) = self.stack.pop() {
            let index = index as usize;
            self.pending[index] = false;
            let prior_definite = self.state[index] != State::Possible;
            let block = self.blocks[index];
            found.clear();
            let end = block.address + block.size;
            self.collect_hits(block.address, end, block.address, true, &mut found);
            for &value in &found {
                self.reference_from_roots(value, prior_definite);
            }
        }
    }

    fn process_clique(&mut self, leader: usize) {
        let mut found = std::vec::Vec::new();
        while let Some(index) = self.stack.pop() {
            let index = index as usize;
            self.pending[index] = false;
            let block = self.blocks[index];
            found.clear();
            let end = block.address + block.size;
            self.collect_hits(block.address, end, block.address, true, &mut found);
            for &value in &found {
                self.reference_in_clique(value, leader, index);
            }
        }
    }

    /// The definite block holding indirectly lost block `index`: the end of its chain of
    /// holders (each block's holder is the block its pointer was found in), or `NO_LEADER`.
    /// Every indirect block on the way is pointed straight at the end (path compression), so
    /// judging all the blocks of a chain costs its length, not its length squared: a lost
    /// list of 200,000 nodes took 41 s of CPU at exit, walking each node's chain again.
    fn clique_leader(&mut self, index: usize, path: &mut std::vec::Vec<u32>) -> u32 {
        path.clear();
        let mut holder = self.leader[index];
        while holder != NO_LEADER
            && self.state[holder as usize] == State::Indirect
            && path.len() < self.blocks.len()
        {
            path.push(holder);
            holder = self.leader[holder as usize];
        }
        for &on_the_way in path.iter() {
            self.leader[on_the_way as usize] = holder;
        }
        holder
    }

    /// For each block: whether it is unreached and another unreached block holds a pointer to
    /// its start. A block no other lost block points at by its start is the head of a lost
    /// structure (a container whose elements point back into it, as `std::set`'s and
    /// `std::list`'s nodes point at the header inside the container object), and leads its
    /// clique whatever its address; the order of the others is memcheck's, by address.
    fn lost_blocks_pointed_at_by_start(&self) -> std::vec::Vec<bool> {
        let mut pointed_at = std::vec![false; self.blocks.len()];
        let mut found = std::vec::Vec::new();
        for index in 0..self.blocks.len() {
            if self.state[index] != State::Unreached {
                continue;
            }
            let block = self.blocks[index];
            found.clear();
            self.collect_hits(
                block.address,
                block.address + block.size,
                block.address,
                true,
                &mut found,
            );
            for &value in &found {
                if let Some(target) = self.target(value) {
                    if target != index
                        && self.state[target] == State::Unreached
                        && self.blocks[target].address == value
                    {
                        pointed_at[target] = true;
                    }
                }
            }
        }
        pointed_at
    }

    /// Follows every reference from the roots, gathers the cliques of lost blocks and returns
    /// the verdict on each block, in address order.
    pub fn finish(mut self) -> std::vec::Vec<Judged> {
        self.process_from_roots();
        let unreached =
            (0..self.blocks.len()).filter(|&index| self.state[index] == State::Unreached);
        let leaders: std::vec::Vec<usize> = match self.leader_order {
            LeaderOrder::Addresses => unreached.collect(),
            LeaderOrder::Serials => {
                let mut leaders: std::vec::Vec<usize> = unreached.collect();
                leaders.sort_unstable_by_key(|&index| (self.blocks[index].serial, index));
                leaders
            }
            LeaderOrder::HeadsFirst => {
                // A lost block no other lost block points at by its start (what the program
                // held the structure by), then the others, each group in address order.
                let pointed_at = self.lost_blocks_pointed_at_by_start();
                let (heads, others): (std::vec::Vec<usize>, std::vec::Vec<usize>) =
                    unreached.partition(|&index| !pointed_at[index]);
                heads.into_iter().chain(others).collect()
            }
        };
        for leader in leaders {
            // Taken into an earlier leader's clique meanwhile: no longer a leader.
            if self.state[leader] == State::Unreached {
                self.push(leader);
                self.process_clique(leader);
            }
        }
        let mut judged = std::vec::Vec::with_capacity(self.blocks.len());
        let mut path = std::vec::Vec::new();
        for index in 0..self.blocks.len() {
            let kind = match self.state[index] {
                State::Unreached => LeakKind::Definite,
                State::Indirect => LeakKind::Indirect,
                State::Possible => LeakKind::Possible,
                State::Reachable => LeakKind::Reachable,
            };
            let held_by = (kind == LeakKind::Indirect).then(|| {
                let holder = self.clique_leader(index, &mut path);
                (holder != NO_LEADER).then(|| self.blocks[holder as usize].address)
            });
            judged.push(Judged {
                block: self.blocks[index],
                kind,
                indirect_bytes: self.indirect_bytes[index],
                indirect_blocks: self.indirect_blocks[index],
                heuristic: (kind == LeakKind::Reachable)
                    .then_some(self.heuristic[index])
                    .flatten(),
                held_by: held_by.flatten(),
            });
        }
        judged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TraceId;

    /// Memory that is all readable (blocks and ranges of a program that did not change page
    /// protections), with no knowledge of file mappings.
    #[derive(Clone, Copy, Debug, Default)]
    struct AllReadable;

    impl Memory for AllReadable {
        fn for_each_readable(&self, start: usize, end: usize, visit: &mut dyn FnMut(usize, usize)) {
            if start < end {
                visit(start, end);
            }
        }
        fn is_readable(&self, _address: usize) -> bool {
            true
        }
        fn file_mapping_end(&self, _address: usize) -> Option<usize> {
            None
        }
        fn is_file_code(&self, _address: usize) -> bool {
            false
        }
    }

    /// A fake heap: blocks are word ranges of one local array.
    struct Heap {
        words: std::vec::Vec<usize>,
    }

    impl Heap {
        fn new(words: usize) -> Heap {
            Heap {
                words: std::vec![0; words],
            }
        }
        fn at(&self, word: usize) -> usize {
            self.words.as_ptr() as usize + word * WORD
        }
        fn block(&self, word: usize, words: usize) -> LiveBlock {
            LiveBlock {
                address: self.at(word),
                size: words * WORD,
                alloc_trace: TraceId::NONE,
                serial: 0,
            }
        }
    }

    fn kinds(judged: &[Judged]) -> std::vec::Vec<LeakKind> {
        judged.iter().map(|j| j.kind).collect()
    }

    fn run(heap: &Heap, blocks: &[LiveBlock], roots: &[usize]) -> std::vec::Vec<Judged> {
        let mut graph = Graph::new(blocks.to_vec(), &AllReadable, Heuristics::ALL);
        let range = roots.as_ptr() as usize;
        graph.scan_root_range(range, range + core::mem::size_of_val(roots));
        let _ = heap;
        graph.finish()
    }

    /// As [`run`], with [`Graph::gobject_blocks`] saying which blocks GLib allocated for
    /// libgobject (`from_gobject`, by address).
    fn run_gobject(
        blocks: &[LiveBlock],
        roots: &[usize],
        from_gobject: &[usize],
    ) -> std::vec::Vec<Judged> {
        let predicate = |block: &LiveBlock| from_gobject.contains(&block.address);
        let mut graph = Graph::new(blocks.to_vec(), &AllReadable, Heuristics::ALL);
        graph.gobject_blocks(&predicate);
        let range = roots.as_ptr() as usize;
        graph.scan_root_range(range, range + core::mem::size_of_val(roots));
        graph.finish()
    }

    #[test]
    fn the_gobject_heuristic_takes_glibs_registered_starts_and_nothing_else() {
        use LeakKind::*;
        // A fundamental type node: 96 bytes, type flags 15 (classed, instantiatable,
        // derivable, deep derivable: no count newarray would take, 88 % 15 != 0), kept one
        // word in.
        let mut heap = Heap::new(12);
        heap.words[0] = 15;
        let node = heap.block(0, 12);
        let judged = run_gobject(&[node], &[node.address + WORD], &[node.address]);
        assert_eq!(kinds(&judged), [Reachable]);
        assert_eq!(judged[0].heuristic, Some(Heuristic::GObject));
        // Not allocated for libgobject (the program's own calloc of the same shape), not
        // told which blocks are, or with `gobject` left out: possibly lost.
        assert_eq!(
            kinds(&run_gobject(&[node], &[node.address + WORD], &[])),
            [Possible]
        );
        assert_eq!(
            kinds(&run(&heap, &[node], &[node.address + WORD])),
            [Possible]
        );
        let without = Heuristics::parse("stdstring,length64,newarray,multipleinheritance");
        let predicate = |_: &LiveBlock| true;
        let mut graph = Graph::new(std::vec![node], &AllReadable, without.unwrap());
        graph.gobject_blocks(&predicate);
        graph.add_root_word(node.address + WORD);
        assert_eq!(kinds(&graph.finish()), [Possible]);
        // A first word that is no set of type flags, or another offset: possibly lost.
        heap.words[0] = 16;
        assert_eq!(
            kinds(&run_gobject(
                &[node],
                &[node.address + WORD],
                &[node.address]
            )),
            [Possible]
        );
        heap.words[0] = 15;
        assert_eq!(
            kinds(&run_gobject(
                &[node],
                &[node.address + 2 * WORD],
                &[node.address]
            )),
            [Possible]
        );

        // An instance with 64 bytes of private data: its class's block (4 words), then the
        // instance's (8 words of private data, 5 of instance), whose `g_class` is the class.
        let mut heap = Heap::new(4 + 13);
        let class = heap.block(0, 4);
        let instance = heap.block(4, 13);
        heap.words[4 + 8] = class.address;
        let blocks = [class, instance];
        let both = [class.address, instance.address];
        let object = instance.address + 8 * WORD;
        let judged = run_gobject(&blocks, &[class.address, object], &both);
        assert_eq!(kinds(&judged), [Reachable, Reachable]);
        assert_eq!(judged[1].heuristic, Some(Heuristic::GObject));
        // A pointer to a field of the instance (memcheck: possibly lost too, an interior
        // pointer into the block GLib registered).
        let judged = run_gobject(&blocks, &[class.address, object + 3 * WORD], &both);
        assert_eq!(kinds(&judged), [Reachable, Possible]);
        // A class that is not libgobject's block, or a `g_class` that is no block's start.
        let judged = run_gobject(&blocks, &[class.address, object], &[instance.address]);
        assert_eq!(kinds(&judged), [Reachable, Possible]);
        heap.words[4 + 8] = class.address + WORD;
        let judged = run_gobject(&blocks, &[class.address, object], &both);
        assert_eq!(kinds(&judged), [Reachable, Possible]);

        // A closure: `GRealClosure`'s meta marshaller (null), its data (a class offset), two
        // more marshallers (null), then the `GClosure` with a null marshaller.
        let mut heap = Heap::new(8);
        heap.words[1] = 0x88;
        let closure = heap.block(0, 8);
        let held = closure.address + 4 * WORD;
        let judged = run_gobject(&[closure], &[held], &[closure.address]);
        assert_eq!(kinds(&judged), [Reachable]);
        assert_eq!(judged[0].heuristic, Some(Heuristic::GObject));
        // A marshaller word that is no code: possibly lost.
        heap.words[2] = 0x1234;
        let judged = run_gobject(&[closure], &[held], &[closure.address]);
        assert_eq!(kinds(&judged), [Possible]);
    }

    #[test]
    fn watch_lists_every_word_pointing_into_the_range() {
        // Block A holds an interior pointer to block B; a root range holds B's start and a
        // register its interior; a root word outside B is not listed.
        let mut heap = Heap::new(16);
        let (a, b) = (heap.block(0, 2), heap.block(4, 2));
        heap.words[0] = b.address + WORD;
        let roots = [a.address, 0, b.address];
        let mut graph = Graph::new(std::vec![a, b], &AllReadable, Heuristics::ALL);
        graph.watch(b.address, b.size);
        let range = roots.as_ptr() as usize;
        graph.scan_root_range(range, range + core::mem::size_of_val(&roots));
        graph.add_root_word(b.address + WORD);
        graph.add_root_word(a.address);
        graph.watch_blocks();
        assert_eq!(
            graph.take_watch_hits(),
            std::vec![
                WatchHit {
                    at: range + 2 * WORD,
                    value: b.address,
                    holder: Holder::Root
                },
                WatchHit {
                    at: 0,
                    value: b.address + WORD,
                    holder: Holder::Register
                },
                WatchHit {
                    at: heap.at(0),
                    value: b.address + WORD,
                    holder: Holder::Block(a.address)
                },
            ]
        );
        assert_eq!(
            kinds(&graph.finish()),
            [LeakKind::Reachable, LeakKind::Reachable]
        );
    }

    #[test]
    fn a_block_that_is_not_word_aligned_is_scanned_from_its_start() {
        // Guard mode's `GPA_GUARD_FLUSH` hands out blocks at any byte address: block A at
        // byte 3 of a buffer holds a pointer to block B at its start (byte 3, not a multiple
        // of the word size). Counting words from address 0 would miss it and call B lost.
        let mut bytes = std::vec![0u8; 8 * WORD];
        let base = bytes.as_mut_ptr() as usize;
        let (a, b) = (base + 3, base + 5 * WORD);
        // SAFETY: `a` and the word after it lie inside `bytes`.
        unsafe { (a as *mut usize).write_unaligned(b) };
        let blocks = [
            LiveBlock {
                address: a,
                size: 2 * WORD + 1,
                alloc_trace: TraceId::NONE,
                serial: 0,
            },
            LiveBlock {
                address: b,
                size: WORD,
                alloc_trace: TraceId::NONE,
                serial: 0,
            },
        ];
        let roots = [a];
        let judged = run(&Heap::new(0), &blocks, &roots);
        assert_eq!(kinds(&judged), [LeakKind::Reachable, LeakKind::Reachable]);
        drop(bytes);
    }

    #[test]
    fn the_nine_cases_of_the_manual() {
        use LeakKind::*;
        // Blocks A (words 0..4) and B (4..8).
        let mut heap = Heap::new(8);
        let blocks = [heap.block(0, 4), heap.block(4, 4)];
        let (a, b) = (heap.at(0), heap.at(4));
        // (1) RRR ---> BBB: B reachable, A definitely lost.
        assert_eq!(kinds(&run(&heap, &blocks, &[b])), [Definite, Reachable]);
        // (2) RRR ---> AAA ---> BBB: both reachable.
        heap.words[0] = b;
        assert_eq!(kinds(&run(&heap, &blocks, &[a])), [Reachable, Reachable]);
        // (3)/(4) nothing reaches AAA ---> BBB: A definite, B indirect.
        let judged = run(&heap, &blocks, &[0]);
        assert_eq!(kinds(&judged), [Definite, Indirect]);
        assert_eq!(judged[0].indirect_bytes, 4 * WORD);
        assert_eq!(judged[0].indirect_blocks, 1);
        assert_eq!(judged[1].held_by, Some(a));
        // (6) RRR ---> AAA -?-> BBB: B possibly lost.
        heap.words[0] = b + 3;
        assert_eq!(kinds(&run(&heap, &blocks, &[a])), [Reachable, Possible]);
        // (7) RRR -?-> AAA ---> BBB: both possibly lost (B's prior is not definite).
        heap.words[0] = b;
        assert_eq!(kinds(&run(&heap, &blocks, &[a + 1])), [Possible, Possible]);
        // (9) AAA -?-> BBB, nothing reaches A: cliques ignore the kind of pointer.
        heap.words[0] = b + 5;
        assert_eq!(kinds(&run(&heap, &blocks, &[0])), [Definite, Indirect]);
        // A start pointer later upgrades a possibly lost block (order does not matter).
        heap.words[0] = 0;
        assert_eq!(
            kinds(&run(&heap, &blocks, &[b + 1, b, a + 2])),
            [Possible, Reachable]
        );
    }

    #[test]
    fn cycles_and_merged_cliques() {
        use LeakKind::*;
        // A (0..2) <-> B (2..4) cycle, C (4..6) -> A: C leads, A and B are indirect.
        let mut heap = Heap::new(6);
        let blocks = [heap.block(0, 2), heap.block(2, 2), heap.block(4, 2)];
        heap.words[0] = heap.at(2);
        heap.words[2] = heap.at(0);
        heap.words[4] = heap.at(0);
        let judged = run(&heap, &blocks, &[0]);
        // A leads first (lowest address) with B; then C absorbs A's clique.
        assert_eq!(kinds(&judged), [Indirect, Indirect, Definite]);
        assert_eq!(judged[2].indirect_bytes, 4 * WORD);
        assert_eq!(judged[2].indirect_blocks, 2);
        assert_eq!(judged[0].indirect_bytes, 0, "moved to the new leader");
        assert_eq!(judged[0].held_by, Some(heap.at(4)));
        assert_eq!(judged[1].held_by, Some(heap.at(4)));
        // Without C, the cycle is one definite block holding the other.
        let judged = run(&heap, &blocks[..2], &[0]);
        assert_eq!(kinds(&judged), [Definite, Indirect]);
    }

    #[test]
    fn in_allocation_order_the_lowest_address_leads_heads_or_not() {
        use LeakKind::*;
        // Leakfuzz seed 62 reduced: A (0..2) and X (2..4) point at each other, H (4..6), the
        // head (no lost block points at its start), points at X. Allocated in that order,
        // memcheck 3.19 makes A definitely lost holding X, and H definitely lost alone (seed
        // 62: "8,953 (50 direct, 8,903 indirect)" and "4,025 bytes" definitely lost).
        let mut heap = Heap::new(6);
        let blocks = [heap.block(0, 2), heap.block(2, 2), heap.block(4, 2)];
        heap.words[0] = heap.at(2);
        heap.words[2] = heap.at(0);
        heap.words[4] = heap.at(2);
        let mut graph = Graph::new(blocks.to_vec(), &AllReadable, Heuristics::ALL);
        graph.leaders_in(LeaderOrder::Addresses);
        let judged = graph.finish();
        assert_eq!(kinds(&judged), [Definite, Indirect, Definite]);
        assert_eq!(judged[0].indirect_bytes, 2 * WORD);
        assert_eq!(judged[2].indirect_bytes, 0);
        // Where addresses say nothing of the order (check mode), the head leads and takes
        // the cycle.
        let judged = run(&heap, &blocks, &[0]);
        assert_eq!(kinds(&judged), [Indirect, Indirect, Definite]);
        assert_eq!(judged[2].indirect_bytes, 4 * WORD);
    }

    #[test]
    fn with_serials_the_first_allocated_leads_whatever_the_addresses() {
        use LeakKind::*;
        // Leakfuzz seed 62's shape placed as check mode's size classes may place it: A and X
        // point at each other, H points at X; allocated A, X, H (serials 1, 2, 3) but lying
        // H (0..2), X (2..4), A (4..6). Memcheck, whose addresses follow the allocation
        // order, makes A definitely lost holding X, and H definitely lost alone ("8,953 (50
        // direct, 8,903 indirect)" and "4,025 bytes").
        let mut heap = Heap::new(6);
        let (h, x, a) = (heap.at(0), heap.at(2), heap.at(4));
        heap.words[4] = x;
        heap.words[2] = a;
        heap.words[0] = x;
        let serial = |block: LiveBlock, serial: u32| LiveBlock { serial, ..block };
        let blocks = [
            serial(heap.block(0, 2), 3),
            serial(heap.block(2, 2), 2),
            serial(heap.block(4, 2), 1),
        ];
        let judge = |order: LeaderOrder| {
            let mut graph = Graph::new(blocks.to_vec(), &AllReadable, Heuristics::ALL);
            graph.leaders_in(order);
            graph.finish()
        };
        let judged = judge(LeaderOrder::Serials);
        assert_eq!(kinds(&judged), [Definite, Indirect, Definite]);
        assert_eq!(judged[2].block.address, a);
        assert_eq!(judged[2].indirect_bytes, 2 * WORD);
        assert_eq!(judged[2].indirect_blocks, 1);
        assert_eq!(judged[0].indirect_bytes, 0);
        assert_eq!(judged[1].held_by, Some(a));
        // By address, or heads first, H (the lowest, and the head) takes the cycle.
        for order in [LeaderOrder::Addresses, LeaderOrder::HeadsFirst] {
            let judged = judge(order);
            assert_eq!(kinds(&judged), [Definite, Indirect, Indirect], "{order:?}");
            assert_eq!(judged[0].block.address, h);
            assert_eq!(judged[0].indirect_bytes, 4 * WORD, "{order:?}");
        }
        // A later serial reaching an earlier leader takes its clique along: H allocated
        // first now leads everything (as memcheck's lowest address would).
        let mut blocks = blocks;
        blocks[0].serial = 0;
        let mut graph = Graph::new(blocks.to_vec(), &AllReadable, Heuristics::ALL);
        graph.leaders_in(LeaderOrder::Serials);
        let judged = graph.finish();
        assert_eq!(kinds(&judged), [Definite, Indirect, Indirect]);
        assert_eq!(judged[0].indirect_blocks, 2);
    }

    #[test]
    fn the_head_of_a_lost_structure_leads_whatever_its_address() {
        use LeakKind::*;
        // A std::set-like structure lost whole: nodes N1 (0..2) and N2 (2..4) below their
        // container H (4..8); H points at N1's and N2's starts, the nodes point back at the
        // header inside H (interior). Memcheck's heap puts H first (allocated first): H is
        // definitely lost, the nodes indirectly, wherever the nodes lie.
        let mut heap = Heap::new(8);
        let blocks = [heap.block(0, 2), heap.block(2, 2), heap.block(4, 4)];
        heap.words[0] = heap.at(5);
        heap.words[2] = heap.at(5);
        heap.words[5] = heap.at(0);
        heap.words[6] = heap.at(2);
        let judged = run(&heap, &blocks, &[0]);
        assert_eq!(kinds(&judged), [Indirect, Indirect, Definite]);
        assert_eq!(judged[2].indirect_bytes, 4 * WORD);
        assert_eq!(judged[2].indirect_blocks, 2);
        assert_eq!(judged[0].held_by, Some(heap.at(4)));
        // A list-like one: a container C (4..8) holding a node's start, the node pointing at
        // the next one's start, the last back at C's interior: C leads.
        let mut heap = Heap::new(8);
        let blocks = [heap.block(0, 2), heap.block(2, 2), heap.block(4, 4)];
        heap.words[4] = heap.at(0);
        heap.words[0] = heap.at(2);
        heap.words[2] = heap.at(6);
        assert_eq!(
            kinds(&run(&heap, &blocks, &[0])),
            [Indirect, Indirect, Definite]
        );
        // A cycle of start pointers has no head: the lowest address leads, as in memcheck.
        let mut heap = Heap::new(4);
        let blocks = [heap.block(0, 2), heap.block(2, 2)];
        heap.words[0] = heap.at(2);
        heap.words[2] = heap.at(0);
        assert_eq!(kinds(&run(&heap, &blocks, &[0])), [Definite, Indirect]);
        // A lost chain of 2,000 blocks, each pointing at the one before: the last is the
        // head, every other one is held by it (the holders' chains are compressed).
        let count = 2000;
        let mut chain = Heap::new(count);
        let links: std::vec::Vec<LiveBlock> = (0..count).map(|i| chain.block(i, 1)).collect();
        for i in 1..count {
            chain.words[i] = chain.at(i - 1);
        }
        let judged = run(&chain, &links, &[0]);
        assert_eq!(judged[count - 1].kind, Definite);
        assert_eq!(judged[count - 1].indirect_blocks, count - 1);
        assert!(judged[..count - 1]
            .iter()
            .all(|j| j.kind == Indirect && j.held_by == Some(chain.at(count - 1))));
        // A block reachable from the roots is no lost block's head or target.
        heap.words[2] = 0;
        assert_eq!(
            kinds(&run(&heap, &blocks, &[heap.at(2)])),
            [Definite, Reachable]
        );
    }

    #[test]
    fn heuristics_turn_recognized_interior_pointers_into_start_pointers() {
        use LeakKind::*;
        // newarray: a count of 3 elements in the 24 bytes after it (block of 4 words).
        let mut heap = Heap::new(4);
        heap.words[0] = 3;
        let blocks = [heap.block(0, 4)];
        let judged = run(&heap, &blocks, &[heap.at(1)]);
        assert_eq!(kinds(&judged), [Reachable]);
        assert_eq!(judged[0].heuristic, Some(Heuristic::NewArray));
        // length64: the rest's length (also a plausible count; length64 is tried first).
        heap.words[0] = 3 * WORD;
        let judged = run(&heap, &blocks, &[heap.at(1)]);
        assert_eq!(judged[0].heuristic, Some(Heuristic::Length64));
        heap.words[0] = 0;
        assert_eq!(kinds(&run(&heap, &blocks, &[heap.at(1)])), [Possible]);
        // stdstring: length, capacity, refcount, characters and a NUL: size 3 words + cap + 1.
        let mut heap = Heap::new(6);
        heap.words[0] = 5;
        heap.words[1] = 6;
        let block = LiveBlock {
            address: heap.at(0),
            size: 3 * WORD + 6 + 1,
            alloc_trace: TraceId::NONE,
            serial: 0,
        };
        let judged = run(&heap, &[block], &[heap.at(3)]);
        assert_eq!(judged[0].heuristic, Some(Heuristic::StdString));
        // Without heuristics the same pointer only makes the block possibly lost.
        let mut graph = Graph::new(std::vec![block], &AllReadable, Heuristics::NONE);
        graph.add_root_word(heap.at(3));
        assert_eq!(kinds(&graph.finish()), [Possible]);
        // A later start pointer clears the heuristic.
        let judged = run(&heap, &[block], &[heap.at(3), heap.at(0)]);
        assert_eq!(judged[0].heuristic, None);
    }

    #[test]
    fn zero_size_blocks_and_unreadable_memory() {
        struct Unreadable(usize);
        impl Memory for Unreadable {
            fn for_each_readable(&self, s: usize, e: usize, v: &mut dyn FnMut(usize, usize)) {
                if s < self.0 && e > self.0 {
                    v(s, self.0);
                    v(self.0 + WORD, e);
                } else {
                    v(s, e);
                }
            }
            fn is_readable(&self, address: usize) -> bool {
                !(self.0..self.0 + WORD).contains(&address)
            }
            fn file_mapping_end(&self, _: usize) -> Option<usize> {
                None
            }
            fn is_file_code(&self, _: usize) -> bool {
                false
            }
        }
        let mut heap = Heap::new(4);
        let empty = LiveBlock {
            address: heap.at(2),
            size: 0,
            alloc_trace: TraceId::NONE,
            serial: 0,
        };
        let blocks = [heap.block(0, 2), empty];
        heap.words[1] = heap.at(2);
        // The word of block 0 holding the pointer is unreadable: never read.
        let memory = Unreadable(heap.at(1));
        let mut graph = Graph::new(blocks.to_vec(), &memory, Heuristics::ALL);
        graph.add_root_word(heap.at(0));
        let judged = graph.finish();
        assert_eq!(kinds(&judged), [LeakKind::Reachable, LeakKind::Definite]);
        // A pointer into an unreadable byte does not count.
        let memory = Unreadable(heap.at(0));
        let mut graph = Graph::new(blocks.to_vec(), &memory, Heuristics::ALL);
        graph.add_root_word(heap.at(0));
        assert_eq!(graph.finish()[0].kind, LeakKind::Definite);
        // A pointer one past a zero-size block's address does not reach it.
        let mut graph = Graph::new(std::vec![empty], &AllReadable, Heuristics::ALL);
        graph.add_root_word(heap.at(2) + 1);
        assert_eq!(graph.finish()[0].kind, LeakKind::Definite);
    }

    #[test]
    fn heuristic_names_parse() {
        assert_eq!(Heuristics::parse("all"), Some(Heuristics::ALL));
        assert_eq!(Heuristics::parse("none"), Some(Heuristics::NONE));
        assert!(Heuristics::parse("all")
            .unwrap()
            .contains(Heuristic::GObject));
        assert!(Heuristics::parse("gobject")
            .unwrap()
            .contains(Heuristic::GObject));
        let set = Heuristics::parse("stdstring,newarray").unwrap();
        assert!(set.contains(Heuristic::StdString) && set.contains(Heuristic::NewArray));
        assert!(!set.contains(Heuristic::Length64));
        assert_eq!(Heuristics::parse("bogus"), None);
    }
}
