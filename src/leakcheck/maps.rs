//! The process's memory map (`/proc/self/maps`) read at scan time: which memory a leak scan
//! may read, and which mappings are roots.
//!
//! # Design
//! A snapshot is taken after the other threads are stopped, so it stays true while the scan
//! runs (the scanning thread itself maps nothing but its internal heap, which is already
//! reserved). It serves as the scan's [`Memory`]: a range is read only where a mapping with
//! read permission covers it, so a page the program made inaccessible (`mprotect`,
//! `PROT_NONE`), inside a live block or elsewhere, is skipped instead of faulting. Nor is
//! memory read that holds no pointer for sure: the pages of private anonymous memory that are
//! neither present nor swapped out (never touched: zeros), in each readable part of
//! [`LARGE_PAGES`] pages or more ([`super::populated`]; a smaller part is read whole), and
//! in the roots ([`Maps::for_each_populated_run`]).
//!
//! Root mappings are memcheck's: every mapping that is readable and writable, private or
//! shared, anonymous or backed by a file (`MAP_SHARED` memory holds real references), except
//! character and block devices other than `/dev/zero` (reading them may hang or have effects)
//! and the kernel's `[vvar]`/`[vsyscall]` pages.
//!
//! # Invariants
//! * `mappings` is sorted by start address and the mappings do not overlap.

use super::graph::Memory;
use super::populated::Populated;

/// The pages a readable part of private anonymous memory must span for its untouched pages
/// to be skipped ([`Memory::for_each_readable`]): a smaller part (every small block) is read
/// whole, as before, without the question's system call.
pub const LARGE_PAGES: usize = 16;

/// One line of `/proc/self/maps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// `r`.
    pub read: bool,
    /// `w`.
    pub write: bool,
    /// `x`.
    pub execute: bool,
    /// `s` (shared) rather than `p` (private).
    pub shared: bool,
    /// The inode of the mapped file (0 for anonymous memory).
    pub inode: u64,
    /// The path or pseudo-name (`[stack]`, `[heap]`), empty for anonymous memory.
    pub path: String,
}

impl Mapping {
    /// Whether the mapping is private anonymous memory (`[heap]`, `[stack]` and named
    /// anonymous memory included), whose pages never touched read as zeros.
    pub fn is_private_anonymous(&self) -> bool {
        !self.shared && self.inode == 0
    }

    /// Whether the mapping is backed by a file (not anonymous, not a pseudo-name).
    pub fn is_file(&self) -> bool {
        self.inode != 0 && self.path.starts_with('/')
    }

    /// Whether a leak scan takes this mapping as a root (see the module docs).
    pub fn is_root(&self) -> bool {
        if !(self.read && self.write) || self.start >= self.end {
            return false;
        }
        if self.path == "[vvar]" || self.path == "[vsyscall]" || self.path == "[vdso]" {
            return false;
        }
        // Shared anonymous memory shows as `/dev/zero (deleted)`.
        let name = self.path.strip_suffix(" (deleted)").unwrap_or(&self.path);
        !(name.starts_with("/dev/") && name != "/dev/zero" && is_device(name))
    }
}

/// Whether `path` names a character or block device (a file that is gone is not one).
fn is_device(path: &str) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|meta| {
        let kind = meta.file_type();
        kind.is_char_device() || kind.is_block_device()
    })
}

/// A snapshot of the memory map.
#[derive(Clone, Debug, Default)]
pub struct Maps {
    mappings: std::vec::Vec<Mapping>,
    /// Every other thread is stopped for good ([`Maps::with_every_other_thread_stopped`]).
    nothing_runs: bool,
    /// Which pages are present or swapped, for the scan this snapshot serves.
    populated: Populated,
}

impl Maps {
    /// Reads the process's maps (`/proc/thread-self/maps`, or through the descriptors a
    /// confined process holds: [`os::read_proc_maps`]); `None` when they cannot be read.
    ///
    /// [`os::read_proc_maps`]: crate::os::read_proc_maps
    pub fn try_read() -> Option<Maps> {
        crate::os::read_proc_maps().map(|text| Maps::parse(&text))
    }

    /// As [`Maps::try_read`], empty when the maps cannot be read.
    pub fn read() -> Maps {
        Self::try_read().unwrap_or_default()
    }

    /// Parses the text of a maps file.
    pub fn parse(text: &[u8]) -> Maps {
        let mut mappings: std::vec::Vec<Mapping> = text
            .split(|&byte| byte == b'\n')
            .filter_map(parse_line)
            .collect();
        mappings.sort_by_key(|mapping| mapping.start);
        Maps {
            mappings,
            nothing_runs: false,
            populated: Populated::new(),
        }
    }

    /// This snapshot, for a scan during which every other thread of the process stays
    /// stopped: nothing can unmap or protect memory the snapshot calls readable, so the
    /// judged blocks' bytes (their contents, and the words the heuristics read) are read
    /// directly ([`Memory::read_in_block`]), not with one `process_vm_readv` each (a Perl
    /// interpreter's exit made about 1.5 million calls for the heuristics alone). Memory
    /// outside the blocks (roots, which may hold guard pages that the maps do not show, or
    /// file mappings past their file's end) is still read with `process_vm_readv`.
    pub fn with_every_other_thread_stopped(mut self) -> Maps {
        self.nothing_runs = true;
        self
    }

    /// Calls `visit(from, to)` for the runs of `[start, end)` (inside one mapping) whose
    /// pages are present or swapped out, the others being zeros or not in memory
    /// ([`Populated::for_each_run`]; by pagemap where it can be read, else by `mincore`, else
    /// the whole range): how the roots skip pages never touched.
    pub fn for_each_populated_run(
        &self,
        start: usize,
        end: usize,
        visit: &mut dyn FnMut(usize, usize),
    ) {
        let private_anonymous = self
            .find(start)
            .is_some_and(|mapping| mapping.is_private_anonymous() && end <= mapping.end);
        self.populated
            .for_each_run(start, end, private_anonymous, visit);
    }

    /// Every mapping, by address.
    pub fn mappings(&self) -> &[Mapping] {
        &self.mappings
    }

    /// The mapping containing `address`.
    pub fn find(&self, address: usize) -> Option<&Mapping> {
        let after = self.mappings.partition_point(|m| m.start <= address);
        let mapping = self.mappings.get(after.checked_sub(1)?)?;
        (address < mapping.end).then_some(mapping)
    }
}

fn parse_line(line: &[u8]) -> Option<Mapping> {
    let text = core::str::from_utf8(line).ok()?;
    let mut fields = text.split_ascii_whitespace();
    let (start, end) = fields.next()?.split_once('-')?;
    let perms = fields.next()?.as_bytes();
    let _offset = fields.next()?;
    let _device = fields.next()?;
    let inode = fields.next()?.parse().ok()?;
    // The path is the rest of the line (it may contain spaces).
    let path = text
        .splitn(6, |c: char| c.is_ascii_whitespace())
        .nth(5)
        .map_or("", str::trim)
        .to_owned();
    if perms.len() < 4 {
        return None;
    }
    Some(Mapping {
        start: usize::from_str_radix(start, 16).ok()?,
        end: usize::from_str_radix(end, 16).ok()?,
        read: perms[0] == b'r',
        write: perms[1] == b'w',
        execute: perms[2] == b'x',
        shared: perms[3] == b's',
        inode,
        path,
    })
}

impl Memory for Maps {
    fn for_each_readable(&self, start: usize, end: usize, visit: &mut dyn FnMut(usize, usize)) {
        let first = self.mappings.partition_point(|m| m.end <= start);
        let large = LARGE_PAGES * crate::os::page_size();
        let mut run: Option<(usize, usize)> = None;
        // Adds the readable piece `[from, to)` to the run (`None`: a gap, which ends it), and
        // visits the run it ends.
        let mut add = |piece: Option<(usize, usize)>, visit: &mut dyn FnMut(usize, usize)| {
            run = match (run, piece) {
                (Some((run_from, run_to)), Some((from, to))) if run_to == from => {
                    Some((run_from, to))
                }
                (Some((run_from, run_to)), piece) => {
                    visit(run_from, run_to);
                    piece
                }
                (None, piece) => piece,
            };
        };
        for mapping in &self.mappings[first..] {
            if mapping.start >= end {
                break;
            }
            if !mapping.read {
                add(None, visit);
                continue;
            }
            let from = mapping.start.max(start);
            let to = mapping.end.min(end);
            if to - from >= large && mapping.is_private_anonymous() {
                self.populated
                    .for_each_run(from, to, true, &mut |a, b| add(Some((a, b)), visit));
            } else {
                add(Some((from, to)), visit);
            }
        }
        add(None, visit);
    }

    fn is_readable(&self, address: usize) -> bool {
        self.find(address).is_some_and(|mapping| mapping.read)
    }

    fn read(&self, address: usize, buffer: &mut [u8]) -> usize {
        read_own_memory(address, buffer).unwrap_or_else(|| {
            // No `process_vm_readv` here: the snapshot says the memory is readable.
            // SAFETY: `address` lies in a readable mapping of the snapshot (the trait's
            // contract), and the caller stopped the threads that could unmap it.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    address as *const u8,
                    buffer.as_mut_ptr(),
                    buffer.len(),
                )
            };
            buffer.len()
        })
    }

    fn read_in_block(&self, address: usize, buffer: &mut [u8]) -> usize {
        if !self.nothing_runs {
            return self.read(address, buffer);
        }
        // SAFETY: the trait's contract: `[address, address + buffer.len())` lies inside a
        // live block being judged, in a readable mapping of this snapshot; every other
        // thread is stopped (`with_every_other_thread_stopped`), so the mapping and its
        // protection stay as the snapshot saw them, and a live block's bytes hold no guard
        // page (gpa's guards lie outside blocks).
        unsafe {
            core::ptr::copy_nonoverlapping(address as *const u8, buffer.as_mut_ptr(), buffer.len())
        };
        buffer.len()
    }

    fn file_mapping_end(&self, address: usize) -> Option<usize> {
        self.find(address)
            .filter(|mapping| mapping.read && mapping.is_file())
            .map(|mapping| mapping.end)
    }

    fn is_file_code(&self, address: usize) -> bool {
        self.find(address)
            .is_some_and(|mapping| mapping.execute && mapping.is_file())
    }
}

/// Copies this process's memory at `address` into `buffer` with `process_vm_readv`, which
/// fails instead of faulting where memory is not mapped or not readable (a thread that still
/// runs may unmap memory while a scan reads it). Returns the bytes copied (a readable
/// prefix), or `None` when the system call is not available.
pub fn read_own_memory(address: usize, buffer: &mut [u8]) -> Option<usize> {
    let local = libc::iovec {
        iov_base: buffer.as_mut_ptr().cast(),
        iov_len: buffer.len(),
    };
    let remote = libc::iovec {
        iov_base: address as *mut libc::c_void,
        iov_len: buffer.len(),
    };
    // The calling thread's id, not the process's: once the main thread has ended with
    // `pthread_exit`, the process id names a zombie with no memory, and every read failed
    // (every block was "definitely lost").
    let me = crate::os::thread_id() as libc::pid_t;
    // SAFETY: the local vector describes `buffer`; the kernel checks the remote one.
    let copied = unsafe { libc::process_vm_readv(me, &local, 1, &remote, 1, 0) };
    if copied >= 0 {
        return Some(copied as usize);
    }
    // SAFETY: the calling thread's errno.
    match unsafe { *libc::__errno_location() } {
        libc::EFAULT | libc::ESRCH => Some(0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"\
55d0c0000000-55d0c0001000 r--p 00000000 08:01 1234   /usr/bin/prog
55d0c0001000-55d0c0002000 r-xp 00001000 08:01 1234   /usr/bin/prog
55d0c0003000-55d0c0004000 rw-p 00003000 08:01 1234   /usr/bin/prog
7f0000000000-7f0000001000 rw-s 00000000 00:01 99     /dev/zero (deleted)
7f0000001000-7f0000002000 rw-s 00000000 00:05 77     /memfd:shared (deleted)
7f0000002000-7f0000003000 ---p 00000000 00:00 0
7f0000003000-7f0000005000 rw-p 00000000 00:00 0
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0      [stack]
7ffd00100000-7ffd00102000 r--p 00000000 00:00 0      [vvar]
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]
";

    #[test]
    fn parses_lines_and_finds_addresses() {
        let maps = Maps::parse(SAMPLE);
        assert_eq!(maps.mappings().len(), 10);
        let text = maps.find(0x55d0_c000_1800).unwrap();
        assert!(text.execute && text.is_file() && !text.write);
        assert_eq!(maps.find(0x55d0_c000_2800), None);
        assert_eq!(
            maps.find(0x7f00_0000_1000).unwrap().path,
            "/memfd:shared (deleted)"
        );
        assert_eq!(maps.find(0x7f00_0000_3000).unwrap().path, "");
        assert!(maps.is_file_code(0x55d0_c000_1000));
        assert_eq!(
            maps.file_mapping_end(0x55d0_c000_0010),
            Some(0x55d0_c000_1000)
        );
        assert_eq!(maps.file_mapping_end(0x7f00_0000_3000), None, "anonymous");
    }

    #[test]
    fn roots_are_readable_writable_mappings_shared_ones_included() {
        let maps = Maps::parse(SAMPLE);
        let roots: std::vec::Vec<usize> = maps
            .mappings()
            .iter()
            .filter(|m| m.is_root())
            .map(|m| m.start)
            .collect();
        assert_eq!(
            roots,
            [
                0x55d0_c000_3000,
                0x7f00_0000_0000,
                0x7f00_0000_1000,
                0x7f00_0000_3000,
                0x7ffd_0000_0000
            ]
        );
        // /dev/zero is scanned like anonymous memory; devices are not.
        let zero = Maps::parse(b"1000-2000 rw-s 00000000 00:01 99 /dev/zero\n");
        assert!(zero.mappings()[0].is_root());
        let tty = Maps::parse(b"1000-2000 rw-s 00000000 00:01 99 /dev/tty\n");
        assert!(!tty.mappings()[0].is_root());
    }

    #[test]
    fn readable_parts_skip_inaccessible_pages_and_merge_neighbours() {
        let maps = Maps::parse(
            b"1000-2000 rw-p 00000000 00:00 0\n2000-3000 r--p 00000000 00:00 0\n\
              3000-4000 ---p 00000000 00:00 0\n4000-6000 rw-p 00000000 00:00 0\n",
        );
        let mut parts = std::vec::Vec::new();
        maps.for_each_readable(0x1800, 0x5000, &mut |a, b| parts.push((a, b)));
        assert_eq!(parts, [(0x1800, 0x3000), (0x4000, 0x5000)]);
        parts.clear();
        maps.for_each_readable(0x3100, 0x3200, &mut |a, b| parts.push((a, b)));
        assert!(parts.is_empty());
        assert!(maps.is_readable(0x2fff) && !maps.is_readable(0x3000));
        assert!(!maps.is_readable(0x6000));
    }

    #[test]
    fn own_memory_is_read_without_faulting() {
        let page = crate::os::page_size();
        let memory = crate::os::map(2 * page).unwrap();
        // SAFETY: a fresh private mapping of ours; its second page is made inaccessible.
        unsafe {
            memory.as_ptr().write(7);
            assert!(crate::os::protect(
                core::ptr::NonNull::new_unchecked(memory.as_ptr().add(page)),
                page,
                false
            ));
        }
        let mut buffer = std::vec![0u8; 2 * page];
        let copied = read_own_memory(memory.as_ptr() as usize, &mut buffer);
        if let Some(copied) = copied {
            assert_eq!(copied, page, "the readable prefix");
            assert_eq!(buffer[0], 7);
        }
        assert_eq!(read_own_memory(16, &mut buffer[..8]), copied.map(|_| 0));
        // SAFETY: mapped above, unused now.
        unsafe { crate::os::unmap(memory, 2 * page) };
    }

    #[test]
    fn untouched_pages_of_large_anonymous_parts_are_not_read() {
        let page = crate::os::page_size();
        let pages = 4 * LARGE_PAGES;
        let memory = crate::os::map(pages * page).unwrap();
        let base = memory.as_ptr() as usize;
        // SAFETY: pages of a fresh private mapping of ours.
        unsafe {
            memory.as_ptr().add(3 * page).write(1);
            memory.as_ptr().add(40 * page).write(1);
            memory.as_ptr().add(41 * page).write(1);
        }
        let maps = Maps::read();
        assert!(maps.find(base).unwrap().is_private_anonymous());
        let mut parts = std::vec::Vec::new();
        maps.for_each_readable(base + 8, base + pages * page, &mut |a, b| {
            parts.push((a, b))
        });
        assert_eq!(
            parts,
            [
                (base + 3 * page, base + 4 * page),
                (base + 40 * page, base + 42 * page)
            ]
        );
        // A part smaller than `LARGE_PAGES` pages is read whole.
        parts.clear();
        let small = (LARGE_PAGES - 1) * page;
        maps.for_each_readable(base + 4 * page, base + 4 * page + small, &mut |a, b| {
            parts.push((a, b))
        });
        assert_eq!(parts, [(base + 4 * page, base + 4 * page + small)]);
        // The roots' question, whatever the size.
        parts.clear();
        maps.for_each_populated_run(base, base + 8 * page, &mut |a, b| parts.push((a, b)));
        assert_eq!(parts, [(base + 3 * page, base + 4 * page)]);
        // SAFETY: mapped above, unused now.
        unsafe { crate::os::unmap(memory, pages * page) };
    }
}
