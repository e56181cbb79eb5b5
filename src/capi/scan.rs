//! The conservative leak scan at exit: which live blocks can the program still reach?
//!
//! # Design
//! Like LeakSanitizer and Valgrind memcheck: every aligned word of the program's *roots* that
//! points into a live block (its start or its interior) marks that block reached, and the
//! contents of reached blocks are scanned in turn (a mark stack, so depth costs no recursion).
//! Blocks never reached are leaks; the others are still reachable.
//!
//! Roots are the private writable mappings listed in `/proc/self/maps`: the data and bss of
//! every loaded object, the stacks of other threads, TLS blocks and thread descriptors, and
//! memory the program maps itself (CPython's object arenas, for one). That is broader than
//! the `PT_LOAD` segments of `dl_iterate_phdr`, on purpose: pointers kept in anonymous
//! mappings are real references, and missing them would turn them into false leaks. Skipped:
//! * memory any GPA manages (its segments hold the blocks themselves, and freed slots with
//!   stale pointers; its internal heap holds this scan's own arrays);
//! * pages that are not resident (`mincore`): never touched, so all zero;
//! * the dead part of the exiting thread's stack: below the frame that called `exit` lie
//!   `exit`'s own frames and this scan's, whose slots hold stale copies of pointers from
//!   earlier calls that would hide leaks. The frames of the functions that called `exit` (a
//!   shell exiting from deep inside its interpreter loop, say) are live and are scanned,
//!   from `exit`'s canonical frame address up; when `main` returned, that is only the C
//!   start-up code's frame, so `main`'s dead locals do not count (as with Valgrind, a block
//!   held only by them is lost);
//! * shared and device mappings, `[vvar]`, `[vsyscall]`.
//!
//! # Invariants
//! * The caller holds the GPA's re-entrancy guard, so this module's own allocations come from
//!   the internal heap (never blocks of the scanned set, never scanned as roots).
//! * Only readable memory is read: mappings are `rw`, resident pages are checked per chunk,
//!   and block contents lie within their live slots or mappings.

use crate::gpa::{GeneralPurposeAllocator, LiveBlock};

/// The verdict of a scan.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Live blocks that no root reaches.
    pub leaked: std::vec::Vec<LiveBlock>,
    /// Live blocks that some root reaches.
    pub reachable: std::vec::Vec<LiveBlock>,
}

/// Pages examined per `mincore` call.
const CHUNK_PAGES: usize = 4096;

/// One root range, `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

struct Marker {
    blocks: std::vec::Vec<LiveBlock>,
    marked: std::vec::Vec<bool>,
    stack: std::vec::Vec<usize>,
    low: usize,
    high: usize,
}

impl Marker {
    fn new(mut blocks: std::vec::Vec<LiveBlock>) -> Marker {
        blocks.sort_unstable_by_key(|block| block.address);
        let low = blocks.first().map_or(0, |block| block.address);
        let high = blocks
            .iter()
            .map(|block| block.address + block.size.max(1))
            .max()
            .unwrap_or(0);
        let marked = std::vec![false; blocks.len()];
        Marker {
            blocks,
            marked,
            stack: std::vec::Vec::new(),
            low,
            high,
        }
    }

    /// The block containing `address` (its start or interior).
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
        (address < block.address + block.size.max(1)).then_some(index)
    }

    /// Marks the blocks that words of `[start, end)` point into.
    ///
    /// # Safety
    /// `[start, end)` is readable memory.
    unsafe fn scan_words(&mut self, start: usize, end: usize) {
        let word = core::mem::size_of::<usize>();
        let mut cursor = start.next_multiple_of(word);
        while cursor + word <= end {
            // SAFETY: caller contract; `cursor` is aligned and the word lies in the range. A
            // volatile read: the memory may be anything, the compiler must not reason about it.
            let value = unsafe { core::ptr::read_volatile(cursor as *const usize) };
            if let Some(index) = self.find(value) {
                if !self.marked[index] {
                    self.marked[index] = true;
                    self.stack.push(index);
                }
            }
            cursor += word;
        }
    }

    /// Scans the contents of every newly reached block, transitively.
    fn drain(&mut self) {
        while let Some(index) = self.stack.pop() {
            let block = self.blocks[index];
            // SAFETY: a live block: its `size` bytes are mapped and readable.
            unsafe { self.scan_words(block.address, block.address + block.size) };
        }
    }
}

/// Scans the process's roots and splits the live blocks of `gpa` (those of the calling thread
/// and of exited threads) into leaked and reachable.
///
/// `live_stack` is where the live part of the calling thread's stack begins (see
/// [`caller_frame_address`]); `None` skips that stack.
pub fn scan(gpa: &GeneralPurposeAllocator, live_stack: Option<usize>) -> Verdict {
    let mut blocks = std::vec::Vec::new();
    gpa.for_each_live_block(|block| blocks.push(*block));
    let mut marker = Marker::new(blocks);
    let stack_pointer = crate::os::approximate_stack_pointer();
    let mut residency = std::vec![0u8; CHUNK_PAGES];
    let mut roots = root_mappings(stack_pointer);
    if let Some(live) = live_stack {
        if let Some(stack) = stack_mapping(stack_pointer) {
            if (stack.start..stack.end).contains(&live) {
                roots.push(Range {
                    start: live,
                    end: stack.end,
                });
            }
        }
    }
    for range in roots {
        scan_mapping(&mut marker, range, &mut residency);
        marker.drain();
    }
    let mut verdict = Verdict::default();
    for (block, reached) in marker.blocks.iter().zip(&marker.marked) {
        if *reached {
            verdict.reachable.push(*block);
        } else {
            verdict.leaked.push(*block);
        }
    }
    verdict
}

/// Scans the resident pages of `range` that no GPA manages.
fn scan_mapping(marker: &mut Marker, range: Range, residency: &mut [u8]) {
    let page = crate::os::page_size();
    let mut chunk = range.start;
    while chunk < range.end {
        let chunk_end = range.end.min(chunk + CHUNK_PAGES * page);
        let pages = (chunk_end - chunk).div_ceil(page);
        // SAFETY: `chunk` is page-aligned (mappings are) and `residency` has room for `pages`
        // entries; mincore only writes that vector.
        let status = unsafe {
            libc::mincore(
                chunk as *mut libc::c_void,
                chunk_end - chunk,
                residency.as_mut_ptr(),
            )
        };
        for (index, &resident) in residency[..pages].iter().enumerate() {
            let start = chunk + index * page;
            if status == 0 && resident & 1 == 0 {
                continue;
            }
            if GeneralPurposeAllocator::manages(start) {
                continue;
            }
            // SAFETY: a page of a readable, writable private mapping that was listed in
            // /proc/self/maps (nothing unmaps memory while the exiting thread runs this).
            unsafe { marker.scan_words(start, (start + page).min(chunk_end)) };
        }
        chunk = chunk_end;
    }
}

/// Where the live frames of the exiting thread begin: the canonical frame address of the
/// frame that called `handler` (glibc's `__run_exit_handlers`, called by `exit`), so the live
/// region starts inside `exit`'s own small frame and covers every frame that called `exit`.
/// `None` when `handler` is not on the stack.
pub fn caller_frame_address(handler: usize) -> Option<usize> {
    let mut seen_handler = false;
    let mut found = None;
    // SAFETY: the callback neither allocates nor panics nor reenters the unwinder.
    unsafe {
        backtrace::trace_unsynchronized(|frame| {
            if seen_handler {
                found = Some(frame.sp() as usize);
                return false;
            }
            seen_handler = frame.symbol_address() as usize == handler;
            true
        });
    }
    found.filter(|&address| address != 0)
}

/// The mapping holding `stack_pointer` (the exiting thread's stack).
fn stack_mapping(stack_pointer: usize) -> Option<Range> {
    let maps = std::fs::read("/proc/self/maps").ok()?;
    maps.split(|&byte| byte == b'\n').find_map(|line| {
        let text = core::str::from_utf8(line).ok()?;
        let (start, rest) = text.split_once('-')?;
        let end = rest.split_ascii_whitespace().next()?;
        let range = Range {
            start: usize::from_str_radix(start, 16).ok()?,
            end: usize::from_str_radix(end, 16).ok()?,
        };
        (range.start..range.end)
            .contains(&stack_pointer)
            .then_some(range)
    })
}

/// The private writable mappings of the process, except the one holding `stack_pointer`.
pub fn root_mappings(stack_pointer: usize) -> std::vec::Vec<Range> {
    let Ok(maps) = std::fs::read("/proc/self/maps") else {
        return std::vec::Vec::new();
    };
    maps.split(|&byte| byte == b'\n')
        .filter_map(|line| parse_root(line, stack_pointer))
        .collect()
}

/// A root range from one line of `/proc/self/maps`, if the mapping is one.
pub fn parse_root(line: &[u8], stack_pointer: usize) -> Option<Range> {
    let text = core::str::from_utf8(line).ok()?;
    let mut fields = text.split_ascii_whitespace();
    let (start, end) = fields.next()?.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    let perms = fields.next()?.as_bytes();
    let path = fields.nth(3).unwrap_or("");
    let private_rw = perms.len() == 4 && perms[0] == b'r' && perms[1] == b'w' && perms[3] == b'p';
    let special = path.starts_with("/dev/") || path == "[vvar]" || path == "[vsyscall]";
    let own_stack = (start..end).contains(&stack_pointer);
    (private_rw && !special && !own_stack && start < end).then_some(Range { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TraceId;

    fn block(address: usize, size: usize) -> LiveBlock {
        LiveBlock {
            address,
            size,
            alloc_trace: TraceId::NONE,
        }
    }

    #[test]
    fn maps_lines_become_roots_or_not() {
        let data = b"7f0000001000-7f0000003000 rw-p 00002000 08:01 42   /usr/lib/libc.so.6";
        assert_eq!(
            parse_root(data, 0),
            Some(Range {
                start: 0x7f00_0000_1000,
                end: 0x7f00_0000_3000
            })
        );
        let anon = b"55550000-55560000 rw-p 00000000 00:00 0";
        assert_eq!(
            parse_root(anon, 0),
            Some(Range {
                start: 0x5555_0000,
                end: 0x5556_0000
            })
        );
        assert_eq!(
            parse_root(b"1000-2000 r-xp 00000000 08:01 42 /bin/x", 0),
            None
        );
        assert_eq!(
            parse_root(b"1000-2000 rw-s 00000000 00:05 42 /dev/shm/x", 0),
            None
        );
        assert_eq!(
            parse_root(b"1000-2000 rw-p 00000000 00:00 0 [stack]", 0x1800),
            None
        );
        assert_eq!(
            parse_root(b"1000-2000 rw-p 00000000 00:00 0 [vvar]", 0),
            None
        );
    }

    #[test]
    fn marking_follows_pointers_transitively_and_through_interiors() {
        // Three "blocks" in a local array: a root points into the middle of the first, the
        // first holds the start of the second; the third is not reached.
        let mut memory = [0usize; 12];
        let base = memory.as_mut_ptr() as usize;
        let word = core::mem::size_of::<usize>();
        memory[0] = base + 4 * word; // block 0 -> block 1
        let blocks = std::vec![
            block(base, 4 * word),
            block(base + 4 * word, 4 * word),
            block(base + 8 * word, 4 * word)
        ];
        let mut marker = Marker::new(blocks);
        let root = [base + word + 3];
        // SAFETY: `root` is a readable local.
        unsafe {
            marker.scan_words(root.as_ptr() as usize, root.as_ptr() as usize + word);
        }
        marker.drain();
        assert_eq!(marker.marked, std::vec![true, true, false]);
        assert_eq!(memory[0], base + 4 * word, "the scan only reads");
        assert_eq!(marker.find(base + 12 * word), None);
        assert_eq!(marker.find(base.wrapping_sub(1)), None);
    }
}
