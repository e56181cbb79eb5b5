//! Reports: memory mistakes as data, as text for people and as JSON for tools.
//!
//! # Design
//! Detection happens inside the allocator, where nothing may allocate from the user heap or
//! symbolize; it records a raw finding (kind, address, sizes and trace ids, all plain
//! numbers). Turning that into a [`Finding`] (symbolized frames, strings) happens later, outside
//! the allocator's locks: when the finding is printed, or when a caller asks for a [`Report`].
//!
//! Text output follows Zig's DebugAllocator (`error(gpa): ...` then the traces), with one
//! addition: a double free shows the allocation, the first free and the second free.
//!
//! # Example
//! A double free, found in safety mode, read back as data and as JSON:
//!
//! ```
//! use gpa::{Config, FindingKind, GeneralPurposeAllocator, OnError};
//!
//! let gpa = GeneralPurposeAllocator::with_config(Config {
//!     on_error: OnError::Record, // keep findings, print nothing
//!     ..Config::debug()
//! });
//! let allocator = gpa.allocator();
//! let block = allocator.raw_alloc(24, 8).unwrap();
//! // SAFETY: deliberate misuse: the second free is reported and not performed.
//! unsafe {
//!     allocator.raw_free(block, 24, 8);
//!     allocator.raw_free(block, 24, 8);
//! }
//! let report = gpa.report();
//! assert!(!report.is_clean());
//! let finding = report.of_kind(FindingKind::DoubleFree).next().unwrap();
//! assert_eq!((finding.address, finding.size), (block.as_ptr() as usize, 24));
//! // Named stacks of symbolized frames: where the block was allocated, freed, freed again.
//! for name in ["alloc", "free", "second_free"] {
//!     assert!(finding.stack(name).is_some(), "{name}");
//! }
//! // (Frames need frame pointers or `TraceMethod::Unwinder`; see `TraceMethod`.)
//! if let Some(frame) = finding.stack("alloc").unwrap().frames.first() {
//!     println!("allocated in {:?} at {:?}:{:?}", frame.function, frame.file, frame.line);
//! }
//! println!("{report}"); // the text the GPA prints with `OnError::Report`
//! let json = report.to_json();
//! assert_eq!(json["findings"][0]["kind"], "double_free");
//! ```

pub mod html;
pub(crate) mod suppress;
pub(crate) mod symbolize;

use core::fmt;

use crate::trace::TraceId;

/// A hash map with a fixed-key hasher (std's SipHash with zero keys). std's default
/// `RandomState` asks the OS for a random seed (`getrandom`, else `/dev/urandom`) and panics
/// where it is refused, as in a process under a seccomp filter (sshd's pre-authentication
/// child, a sandboxed worker); gpa's own maps (reports, symbols, profiles, findings) hash
/// addresses and names it made itself, so they need no seed.
pub(crate) type FixedHashMap<K, V> =
    std::collections::HashMap<K, V, core::hash::BuildHasherDefault<std::hash::DefaultHasher>>;

/// A hash set with a fixed-key hasher: see [`FixedHashMap`].
pub(crate) type FixedHashSet<T> =
    std::collections::HashSet<T, core::hash::BuildHasherDefault<std::hash::DefaultHasher>>;

/// What kind of mistake a finding is.
///
/// Example: the [`report`](crate::report) module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FindingKind {
    /// A block still allocated when checked (at `deinit`, `detect_leaks`, or exit).
    Leak,
    /// A block freed a second time.
    DoubleFree,
    /// A free (or resize) of a pointer that is not the start of a live block of this
    /// allocator: never allocated, the middle of a block, a stack or static address.
    InvalidFree,
    /// A free of a block that belongs to another GPA instance.
    ForeignFree,
    /// A free or resize whose size or alignment differs from the allocation's.
    LayoutMismatch,
    /// Freed memory was written to (its poison changed) before it was reused.
    WriteAfterFree,
    /// Bytes past the end of a block were overwritten.
    Overflow,
    /// Bytes before the start of a block were overwritten (or, in guard mode, accessed).
    Underflow,
    /// Freed memory was read (guard mode, or a fault on a released large block).
    ReadAfterFree,
    /// A block freed by a function of another allocation family than the one that allocated
    /// it (`malloc` + `delete`, `new[]` + `delete`, `new` + `free`, a sized or aligned `delete`
    /// that does not match the `new`).
    MismatchedFree,
    /// gpa itself faulted or found its own structures damaged; the report says where.
    InternalError,
    /// The program ran code from a heap block (a call through a pointer into data: a
    /// corrupted or freed function pointer or vtable); heap memory is not executable.
    HeapExecution,
    /// A copy function of libc whose source and destination overlap (`memcpy`, `strcpy`,
    /// `strcat`...: undefined behaviour; `memmove` allows it), found at the call
    /// (Valgrind's "Source and destination overlap in memcpy(...)").
    Overlap,
    /// A size argument of an allocation function that is negative when read as a signed
    /// number (`malloc(-1)`, `calloc(0, -1)`: a negative `int` converted to `size_t`), found
    /// at the call (Valgrind's "Argument 'size' of function malloc has a fishy (possibly
    /// negative) value: -1"). The call does what it would do anyway (a `malloc` fails).
    FishyValue,
}

/// Whether a faulting access read or wrote memory.
///
/// Example: the [`report`](crate::report) module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
}

impl Access {
    /// `"read"` or `"write"` (the JSON value).
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// Valgrind memcheck's loss kinds of a leaked (or still reachable) block.
///
/// Example: the [`report`](crate::report) module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeakKind {
    /// No pointer to the block (start or interior) from the roots or from reachable blocks.
    Definite,
    /// Reachable only through definitely or possibly lost blocks.
    Indirect,
    /// Reached only through pointers into its interior.
    Possible,
    /// A pointer to its start is still held by a root or a reachable block.
    Reachable,
}

impl LeakKind {
    /// The JSON value: `definite`, `indirect`, `possible`, `reachable` (Valgrind's
    /// `--show-leak-kinds` names).
    pub fn as_str(self) -> &'static str {
        match self {
            LeakKind::Definite => "definite",
            LeakKind::Indirect => "indirect",
            LeakKind::Possible => "possible",
            LeakKind::Reachable => "reachable",
        }
    }

    /// Valgrind's wording: `definitely lost`, `indirectly lost`, `possibly lost`,
    /// `still reachable`.
    pub fn describe(self) -> &'static str {
        match self {
            LeakKind::Definite => "definitely lost",
            LeakKind::Indirect => "indirectly lost",
            LeakKind::Possible => "possibly lost",
            LeakKind::Reachable => "still reachable",
        }
    }
}

impl FindingKind {
    /// The stable snake_case name used in JSON (`leak`, `double_free`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Leak => "leak",
            FindingKind::DoubleFree => "double_free",
            FindingKind::InvalidFree => "invalid_free",
            FindingKind::ForeignFree => "foreign_free",
            FindingKind::LayoutMismatch => "layout_mismatch",
            FindingKind::WriteAfterFree => "write_after_free",
            FindingKind::Overflow => "overflow",
            FindingKind::Underflow => "underflow",
            FindingKind::ReadAfterFree => "read_after_free",
            FindingKind::MismatchedFree => "mismatched_free",
            FindingKind::InternalError => "internal_error",
            FindingKind::HeapExecution => "heap_execution",
            FindingKind::Overlap => "overlap",
            FindingKind::FishyValue => "fishy_value",
        }
    }
}

/// A finding as recorded inside the allocator: numbers only, no allocation needed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawFinding {
    /// What happened.
    pub kind: FindingKind,
    /// The block's (or the bad pointer's) address.
    pub address: usize,
    /// The block's size as allocated (0 when unknown).
    pub size: usize,
    /// The size or alignment the caller claimed, for layout mismatches (0 otherwise).
    pub claimed_size: usize,
    /// The alignment the caller claimed (0 when not relevant).
    pub claimed_align: usize,
    /// The alignment the block was allocated with (0 when unknown).
    pub align: usize,
    /// Where the block was allocated.
    pub alloc_trace: TraceId,
    /// Where it was (first) freed.
    pub free_trace: TraceId,
    /// Where the mistake itself happened (second free, bad free, detection point).
    pub site_trace: TraceId,
    /// For grouped leaks: how many blocks (1 otherwise).
    pub count: usize,
    /// For faults: whether the access read or wrote.
    pub access: Option<Access>,
    /// For faults and overflows: the accessed byte's offset from the block's start (negative
    /// before it), where known.
    pub offset: Option<isize>,
    /// For faults: the width in bytes of the faulting access, where the instruction could be
    /// decoded (0 when unknown).
    pub access_size: usize,
    /// For leaks: the loss kind (`None` where no reachability graph was built).
    pub leak_kind: Option<LeakKind>,
    /// For leak records: bytes of the blocks only reachable through this record's blocks.
    pub indirect_bytes: usize,
    /// For leak records: how many such indirectly lost blocks.
    #[allow(dead_code)] // part of the shared finding shape, not rendered yet
    pub indirect_blocks: usize,
    /// For mismatched frees: the allocation function family of the block (`malloc`,
    /// `operator new`, `operator new[]`...).
    pub allocated_by: Option<&'static str>,
    /// For mismatched frees: the function that freed it (`free`, `operator delete`...).
    pub freed_by: Option<&'static str>,
    /// For leaks and fast mode's double frees: `size` is the block's slot size (its request
    /// rounded up to a size class), as fast mode keeps no requested sizes for small blocks.
    pub size_is_slot: bool,
    /// For findings made at a call of a libc function (`capi::libc_calls`): its name.
    pub call: Option<&'static str>,
    /// For overlaps: the call's source pointer (`address` is its destination).
    pub call_source: usize,
    /// For overlaps: the call's length argument, for the functions that take one.
    pub call_length: Option<usize>,
    /// For fishy values: the argument's name (`size`, `nmemb`); the value is `claimed_size`
    /// and the function `call`.
    pub argument: Option<&'static str>,
    /// Bytes of all `count` blocks, when findings on blocks of different sizes were counted
    /// on this one (the GPA's bounded record: `gpa::findings`); 0 means `size * count`.
    pub blocks_bytes: usize,
    /// For invalid frees of no block: the pointer is a checking GPA's fill of freed memory
    /// (within a page of it), so the program read it from a freed block.
    pub freed_fill: bool,
    /// For faults on gpa's guards: the fault came from a checked libc call (glibc's function
    /// or the call's check, `capi::exit::in_checked_call`), an access the call's check judged
    /// already; a fault in the program's own code is another access, another finding.
    pub in_checked_call: bool,
    /// Which block (one allocation of it: a slot reused by a later allocation is another
    /// block) the finding concerns: a serial number the GPA's record gives the first finding
    /// on each block (`gpa::findings`), the same for every later finding on it; 0 when not
    /// known. The exit's grouping counts a site's blocks by it: one block freed ten times is
    /// one block, ten blocks that took one address in turn are ten.
    pub block: u64,
    /// Set where the finding is made, resolved into [`Self::block`] by the record.
    pub block_claim: BlockClaim,
}

/// How a finding names its block before the GPA's record gives it a serial number
/// ([`RawFinding::block`]): the block's metadata (a check-mode slot's, a large block's, a
/// guarded extent's record) keeps one mark byte, cleared by each allocation at no cost (the
/// store that sets the tag covers it), set by the first finding on the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockClaim {
    /// No block named (or already resolved).
    None,
    /// The first finding on the block whose metadata is at this address: a new serial.
    First(usize),
    /// A later finding on the block whose metadata is at this address: its serial.
    Again(usize),
}

impl BlockClaim {
    /// The claim of a finding on the block whose `mark` (at `key`, its metadata's address)
    /// says whether an earlier finding named it; marks it named.
    pub(crate) fn on(mark: &core::sync::atomic::AtomicU8, key: usize) -> Self {
        if mark.swap(1, core::sync::atomic::Ordering::Relaxed) == 0 {
            BlockClaim::First(key)
        } else {
            BlockClaim::Again(key)
        }
    }
}

impl RawFinding {
    /// A finding of `kind` at `address` with everything else empty.
    pub const fn new(kind: FindingKind, address: usize) -> Self {
        RawFinding {
            kind,
            address,
            size: 0,
            claimed_size: 0,
            claimed_align: 0,
            align: 0,
            alloc_trace: TraceId::NONE,
            free_trace: TraceId::NONE,
            site_trace: TraceId::NONE,
            count: 1,
            access: None,
            offset: None,
            access_size: 0,
            leak_kind: None,
            indirect_bytes: 0,
            indirect_blocks: 0,
            allocated_by: None,
            freed_by: None,
            size_is_slot: false,
            call: None,
            call_source: 0,
            call_length: None,
            argument: None,
            blocks_bytes: 0,
            freed_fill: false,
            in_checked_call: false,
            block: 0,
            block_claim: BlockClaim::None,
        }
    }

    /// Bytes of the blocks this finding stands for (`count` of them).
    pub fn bytes(&self) -> usize {
        if self.blocks_bytes != 0 {
            self.blocks_bytes
        } else {
            self.size * self.count
        }
    }
}

/// One symbolized stack frame.
///
/// Example: the [`report`](crate::report) module documentation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Frame {
    /// The return address (or instruction pointer).
    pub address: usize,
    /// The demangled function name, where known.
    pub function: Option<String>,
    /// The source file, where debug info has it.
    pub file: Option<String>,
    /// The source line, where debug info has it.
    pub line: Option<u32>,
    /// The object file (executable or shared library) the address lies in, where known.
    pub module: Option<String>,
    /// The offset in `module` of the call instruction (the byte before the return address,
    /// as Valgrind shows frames; what `addr2line -e module` takes), where known.
    pub module_offset: Option<usize>,
}

/// A named stack: `alloc`, `free`, `second_free`, `site`...
///
/// Example: the [`report`](crate::report) module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stack {
    /// What this stack is (`alloc`, `free`, `second_free`, `invalid_free`, `detected`...).
    pub name: &'static str,
    /// Its frames, innermost first, starting at user code.
    pub frames: std::vec::Vec<Frame>,
}

/// A symbolized finding.
///
/// Example: the [`report`](crate::report) module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// What happened.
    pub kind: FindingKind,
    /// The block's or bad pointer's address (the first block's, for grouped leaks).
    pub address: usize,
    /// Bytes concerned (total for grouped leaks). For a leak of a small block in fast mode
    /// ([`Config::fast`](crate::Config::fast)), which keeps no requested sizes, the block's
    /// slot size: the request rounded up to its size class (the message says so).
    pub size: usize,
    /// Blocks in this finding: a grouped leak's, or, once the GPA holds 100,000 findings,
    /// every block of one site (kind, access and traces) its later findings were counted on
    /// (the message then says "and N more block(s)", and `size` is their total). In `gpa
    /// run`'s report, how many times the finding's site was seen (memcheck's errors of one
    /// context), on [`Self::blocks`] blocks.
    pub count: usize,
    /// How many blocks the finding concerns: `count`, but in `gpa run`'s report where the
    /// findings of one site named some block more than once (one block freed ten times: a
    /// count of 9, one block, and `size` that block's).
    pub blocks: usize,
    /// A one-line description.
    pub message: String,
    /// The stacks that explain it.
    pub stacks: std::vec::Vec<Stack>,
    /// For faults: whether the access read or wrote.
    pub access: Option<Access>,
    /// For faults and overflows: the accessed byte's offset from the block's start.
    pub offset: Option<isize>,
    /// For leaks: the loss kind, where a reachability graph was built.
    pub leak_kind: Option<LeakKind>,
    /// For leak records: the bytes of the record's own blocks (`size` minus
    /// `indirect_bytes`).
    pub direct_bytes: usize,
    /// For leak records: bytes only reachable through this record's blocks.
    pub indirect_bytes: usize,
    /// For mismatched frees: the allocation function family of the block.
    pub allocated_by: Option<&'static str>,
    /// For mismatched frees: the function that freed it.
    pub freed_by: Option<&'static str>,
}

impl Finding {
    /// The stack with this name, if present.
    pub fn stack(&self, name: &str) -> Option<&Stack> {
        self.stacks.iter().find(|stack| stack.name == name)
    }

    /// Whether any frame of any stack names a function containing `needle`.
    pub fn mentions_function(&self, needle: &str) -> bool {
        self.stacks.iter().flat_map(|s| &s.frames).any(|frame| {
            frame
                .function
                .as_deref()
                .is_some_and(|name| name.contains(needle))
        })
    }
}

/// Findings of one allocator, in the order they were detected.
///
/// Example: the [`report`](crate::report) module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Every finding.
    pub findings: std::vec::Vec<Finding>,
}

impl Report {
    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// Findings of one kind.
    pub fn of_kind(&self, kind: FindingKind) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.kind == kind)
    }

    /// Leaked blocks and bytes in total.
    pub fn leak_totals(&self) -> (usize, usize) {
        self.of_kind(FindingKind::Leak)
            .fold((0, 0), |(blocks, bytes), f| {
                (blocks + f.count, bytes + f.size)
            })
    }

    /// The report as a JSON value: `{"findings": [{kind, count, size, address, message,
    /// stacks: {name: [{function, file, line, address}]}}]}`.
    pub fn to_json(&self) -> serde_json::Value {
        let findings = self
            .findings
            .iter()
            .map(finding_json)
            .collect::<std::vec::Vec<_>>();
        let (leaked_blocks, leaked_bytes) = self.leak_totals();
        serde_json::json!({
            "findings": findings,
            "leaked_blocks": leaked_blocks,
            "leaked_bytes": leaked_bytes,
        })
    }
}

fn finding_json(finding: &Finding) -> serde_json::Value {
    let mut stacks = serde_json::Map::new();
    for stack in &finding.stacks {
        let frames = stack
            .frames
            .iter()
            .map(Frame::to_json)
            .collect::<std::vec::Vec<_>>();
        stacks.insert(stack.name.to_string(), serde_json::Value::Array(frames));
    }
    let mut json = serde_json::json!({
        "kind": finding.kind.as_str(),
        "count": finding.count,
        "blocks": finding.blocks,
        "size": finding.size,
        "address": format!("{:#x}", finding.address),
        "message": finding.message,
        "stacks": stacks,
    });
    if let Some(access) = finding.access {
        json["access"] = access.as_str().into();
    }
    if let Some(offset) = finding.offset {
        json["offset"] = offset.into();
    }
    if let Some(name) = finding.allocated_by {
        json["allocated_by"] = name.into();
    }
    if let Some(name) = finding.freed_by {
        json["freed_by"] = name.into();
    }
    if let Some(kind) = finding.leak_kind {
        json["leak_kind"] = kind.as_str().into();
        json["direct_bytes"] = finding.direct_bytes.into();
        json["indirect_bytes"] = finding.indirect_bytes.into();
    }
    json
}

impl Frame {
    /// The frame as JSON: `{function, file, line, address}` (address in hex), plus `module`
    /// and `offset` (hex) where known.
    pub fn to_json(&self) -> serde_json::Value {
        let mut json = serde_json::json!({
            "function": self.function,
            "file": self.file,
            "line": self.line,
            "address": format!("{:#x}", self.address),
        });
        if let Some(module) = &self.module {
            json["module"] = module.clone().into();
        }
        if let Some(offset) = self.module_offset {
            json["offset"] = format!("{offset:#x}").into();
        }
        json
    }

    /// A frame from [`Frame::to_json`]'s form (missing or malformed fields are `None`).
    pub fn from_json(json: &serde_json::Value) -> Frame {
        let hex = |value: &serde_json::Value| {
            value
                .as_str()
                .and_then(|text| usize::from_str_radix(text.trim_start_matches("0x"), 16).ok())
        };
        let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
        Frame {
            address: hex(&json["address"]).unwrap_or(0),
            function: text(&json["function"]),
            file: text(&json["file"]),
            line: json["line"]
                .as_u64()
                .and_then(|line| u32::try_from(line).ok()),
            module: text(&json["module"]),
            module_offset: hex(&json["offset"]),
        }
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let function = self.function.as_deref().unwrap_or("???");
        match (&self.file, self.line) {
            (Some(file), Some(line)) => write!(f, "    at {function}\n        {file}:{line}"),
            (Some(file), None) => write!(f, "    at {function}\n        {file}"),
            _ => match (&self.module, self.module_offset) {
                (Some(module), Some(offset)) => {
                    let name = module.rsplit('/').next().unwrap_or(module);
                    write!(f, "    at {function} ({name}+{offset:#x})")
                }
                _ => write!(f, "    at {function} ({:#x})", self.address),
            },
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error(gpa): {}", self.message)?;
        for stack in &self.stacks {
            writeln!(f, "  {} trace:", stack.name.replace('_', " "))?;
            if stack.frames.is_empty() {
                writeln!(
                    f,
                    "    (no frames: traces are off, or gpa had no room to keep them)"
                )?;
            }
            for frame in &stack.frames {
                writeln!(f, "{frame}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.findings {
            writeln!(f, "{finding}")?;
        }
        let (blocks, bytes) = self.leak_totals();
        if blocks != 0 {
            writeln!(
                f,
                "error(gpa): {blocks} leaked block(s), {bytes} byte(s) in total"
            )?;
        }
        Ok(())
    }
}

/// Symbolizes a raw finding, keeping `depth` user frames per stack (0: all).
pub(crate) fn render(raw: &RawFinding, depth: usize) -> Finding {
    let mut message = describe(raw);
    // Repeats of one site counted on its first finding (`gpa::findings`): say so, and count
    // the bytes of all its blocks.
    let counted = raw.kind != FindingKind::Leak && raw.blocks_bytes != 0 && raw.count > 1;
    if counted {
        message.push_str(&format!(
            " (and {} more block(s) from the same allocation site)",
            raw.count - 1
        ));
    }
    // A fault's site is the faulting access; other findings' sites are where a check ran.
    let site = if raw.access.is_some() {
        "access"
    } else {
        "detected"
    };
    let mut stacks = std::vec::Vec::new();
    let mut add = |name: &'static str, id: TraceId| {
        if id.is_some() {
            stacks.push(Stack {
                name,
                frames: symbolize::symbolize(id, depth),
            });
        }
    };
    match raw.kind {
        FindingKind::Leak => add("alloc", raw.alloc_trace),
        FindingKind::DoubleFree => {
            add("alloc", raw.alloc_trace);
            add("free", raw.free_trace);
            add("second_free", raw.site_trace);
        }
        FindingKind::WriteAfterFree => {
            add("alloc", raw.alloc_trace);
            add("free", raw.free_trace);
            add(site, raw.site_trace);
        }
        FindingKind::Overflow | FindingKind::Underflow => {
            add("alloc", raw.alloc_trace);
            // An access past a freed block of no bytes (Valgrind: "0 bytes after a block of
            // size 0 free'd").
            add("free", raw.free_trace);
            add(site, raw.site_trace);
        }
        FindingKind::InvalidFree
        | FindingKind::ForeignFree
        | FindingKind::LayoutMismatch
        | FindingKind::MismatchedFree => {
            add("alloc", raw.alloc_trace);
            add("free", raw.free_trace);
            add("invalid_free", raw.site_trace);
        }
        FindingKind::ReadAfterFree => {
            add("alloc", raw.alloc_trace);
            add("free", raw.free_trace);
            add("access", raw.site_trace);
        }
        FindingKind::HeapExecution => {
            add("alloc", raw.alloc_trace);
            add("access", raw.site_trace);
        }
        FindingKind::Overlap | FindingKind::FishyValue => add(site, raw.site_trace),
        FindingKind::InternalError => {
            if raw.site_trace.is_some() {
                stacks.push(Stack {
                    name: site,
                    frames: symbolize::symbolize_all(raw.site_trace, depth),
                });
            }
        }
    }
    Finding {
        kind: raw.kind,
        address: raw.address,
        size: if counted { raw.blocks_bytes } else { raw.size },
        count: raw.count,
        blocks: raw.count,
        message,
        stacks,
        access: raw.access,
        offset: raw.offset,
        leak_kind: raw.leak_kind,
        direct_bytes: raw.size.saturating_sub(raw.indirect_bytes),
        indirect_bytes: raw.indirect_bytes,
        allocated_by: raw.allocated_by,
        freed_by: raw.freed_by,
    }
}

/// A finding's one-line message.
pub(crate) fn describe(raw: &RawFinding) -> String {
    let address = raw.address;
    if let (Some(access), Some(offset)) = (raw.access, raw.offset) {
        if let Some(mut text) = describe_access(raw, access, offset) {
            if let Some(call) = raw.call {
                text.push_str(&format!(" (in {call})"));
            }
            return text;
        }
    }
    match raw.kind {
        FindingKind::Leak if raw.count > 1 => format!(
            "memory leak: {} blocks, {} bytes in total, first at {address:#x}",
            raw.count, raw.size
        ),
        FindingKind::Leak if raw.size_is_slot => format!(
            "memory address {address:#x} leaked (a {}-byte slot: fast mode keeps no requested sizes)",
            raw.size
        ),
        FindingKind::Leak => format!("memory address {address:#x} leaked ({} bytes)", raw.size),
        FindingKind::DoubleFree if raw.size_is_slot => format!(
            "double free of {address:#x} ({} bytes, its slot's size: fast mode keeps no requested sizes)",
            raw.size
        ),
        FindingKind::DoubleFree => {
            format!("double free of {address:#x} ({} bytes)", raw.size)
        }
        // Where the pointer lies as Valgrind says it ("8 bytes inside a block of size 32",
        // "0 bytes after a block of size 16", "... free'd").
        FindingKind::InvalidFree if raw.size != 0 && raw.offset.is_some() => {
            let offset = raw.offset.unwrap_or(0);
            let freed = if raw.free_trace.is_some() { "freed " } else { "" };
            let place = if offset < 0 {
                format!("{} bytes before", offset.unsigned_abs())
            } else if (offset as usize) < raw.size {
                format!("{offset} bytes inside")
            } else {
                format!("{} bytes after", offset as usize - raw.size)
            };
            format!(
                "invalid free of {address:#x}: {place} a {freed}{}-byte block",
                raw.size
            )
        }
        FindingKind::InvalidFree if raw.size != 0 => format!(
            "invalid free of {address:#x}: not the start of a block (inside a {}-byte block)",
            raw.size
        ),
        FindingKind::InvalidFree if raw.freed_fill => format!(
            "invalid free of {address:#x}: not allocated by this allocator; it is gpa's fill \
             of freed memory, so the pointer was read from a freed block (or from a block's \
             bytes never written since its allocation)"
        ),
        FindingKind::InvalidFree => {
            format!("invalid free of {address:#x}: not allocated by this allocator")
        }
        FindingKind::ForeignFree => format!(
            "invalid free of {address:#x}: it belongs to another GeneralPurposeAllocator instance"
        ),
        FindingKind::LayoutMismatch => format!(
            "allocation of {} bytes aligned to {} freed as {} bytes aligned to {} at {address:#x}",
            raw.size, raw.align, raw.claimed_size, raw.claimed_align
        ),
        FindingKind::WriteAfterFree => format!(
            "write after free: freed block {address:#x} ({} bytes) was modified",
            raw.size
        ),
        FindingKind::Overflow => format!(
            "buffer overflow: bytes past the end of block {address:#x} ({} bytes) were overwritten{}",
            raw.size,
            changed_at(raw)
        ),
        FindingKind::Underflow => format!(
            "buffer underflow: bytes before block {address:#x} ({} bytes) were overwritten{}",
            raw.size,
            changed_at(raw)
        ),
        FindingKind::ReadAfterFree => format!(
            "read after free: freed block {address:#x} ({} bytes) was read",
            raw.size
        ),
        FindingKind::MismatchedFree if raw.allocated_by.is_some() => {
            let mut text = format!(
                "mismatched free of {address:#x} ({} bytes): allocated by {}, freed by {}",
                raw.size,
                raw.allocated_by.unwrap_or("?"),
                raw.freed_by.unwrap_or("?"),
            );
            if raw.claimed_size != 0 {
                text.push_str(&format!(" with size {}", raw.claimed_size));
            }
            if raw.claimed_align != 0 {
                text.push_str(&format!(" with alignment {}", raw.claimed_align));
            }
            if raw.align > 16 {
                text.push_str(&format!(" (allocated with alignment {})", raw.align));
            }
            text
        }
        FindingKind::MismatchedFree => format!(
            "mismatched free of {address:#x} ({} bytes): freed by a function of another \
             allocation family",
            raw.size
        ),
        // A note of gpa's own (`capi::recorded`'s dropped findings): its text and count.
        FindingKind::InternalError if raw.call.is_some() => raw
            .call
            .unwrap_or_default()
            .replace("{count}", &raw.size.to_string()),
        FindingKind::InternalError => {
            format!("internal error in gpa at {address:#x}")
        }
        FindingKind::HeapExecution => format!(
            "heap execution: code ran from a {}-byte block at {address:#x}{}",
            raw.size,
            raw.offset
                .map_or(String::new(), |offset| format!(" (at offset {offset})"))
        ),
        FindingKind::Overlap => {
            let length = raw
                .call_length
                .map_or(String::new(), |length| format!(", {length}"));
            format!(
                "Source and destination overlap in {}({address:#x}, {:#x}{length})",
                raw.call.unwrap_or("?"),
                raw.call_source
            )
        }
        FindingKind::FishyValue => format!(
            "Argument '{}' of function {} has a fishy (possibly negative) value: {}",
            raw.argument.unwrap_or("size"),
            raw.call.unwrap_or("?"),
            raw.claimed_size as isize
        ),
    }
}

/// ` (first changed byte N bytes after the end)` for a check that found damaged bytes.
fn changed_at(raw: &RawFinding) -> String {
    match raw.offset {
        Some(offset) if offset < 0 => format!(
            " (the first changed byte is {} before the start)",
            bytes(offset.unsigned_abs())
        ),
        Some(offset) => format!(
            " (the first changed byte is {} after the end)",
            bytes((offset as usize).saturating_sub(raw.size))
        ),
        None => String::new(),
    }
}

fn bytes(count: usize) -> String {
    if count == 1 {
        "1 byte".into()
    } else {
        format!("{count} bytes")
    }
}

/// The message of a fault: "read of 1 byte 0 bytes after the end of a 100-byte block at
/// 0x...", "write of 8 bytes 0 bytes inside a 4-byte block at 0x..., reaching 4 bytes past
/// its end", "write of 8 bytes at offset 16 of a freed 100-byte block at 0x...".
fn describe_access(raw: &RawFinding, access: Access, offset: isize) -> Option<String> {
    let address = raw.address;
    let size = raw.size;
    let what = if raw.access_size != 0 {
        format!("{} of {}", access.as_str(), bytes(raw.access_size))
    } else {
        access.as_str().to_string()
    };
    let freed = if raw.free_trace.is_some() {
        "freed "
    } else {
        ""
    };
    let text = match raw.kind {
        // An access from inside the block that reaches past its end, named by its start as
        // Valgrind names it ("0 bytes inside a block of size 4").
        FindingKind::Overflow if offset >= 0 && (offset as usize) < size => format!(
            "buffer overflow: {what} {} inside a {freed}{size}-byte block at {address:#x}, \
             reaching {} past its end",
            bytes(offset as usize),
            bytes((offset as usize + raw.access_size).saturating_sub(size))
        ),
        FindingKind::Overflow => format!(
            "buffer overflow: {what} {} after the end of a {freed}{size}-byte block at {address:#x}",
            bytes((offset as usize).saturating_sub(size))
        ),
        FindingKind::Underflow => format!(
            "buffer underflow: {what} {} before a {freed}{size}-byte block at {address:#x}",
            bytes(offset.unsigned_abs())
        ),
        FindingKind::ReadAfterFree | FindingKind::WriteAfterFree => {
            let kind = if access == Access::Write {
                "write after free"
            } else {
                "read after free"
            };
            format!(
                "{kind}: {what} at offset {offset} of a freed {size}-byte block at {address:#x}"
            )
        }
        FindingKind::InternalError => format!(
            "internal error in gpa: invalid {} of address {address:#x} inside gpa's own code",
            access.as_str()
        ),
        _ => return None,
    };
    Some(text)
}
