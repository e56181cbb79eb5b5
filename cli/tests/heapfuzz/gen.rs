//! heapgen: a deterministic generator of small C programs that make heap mistakes, for the
//! differential test of `gpa run` against Valgrind memcheck (`tests/heapfuzz.rs`,
//! `docs/sweeps/heapfuzz.md`).
//!
//! Design: [`program`] turns a seed into one C program through a xorshift64* stream. The
//! program keeps a few slots `void *p[K]` and runs 5 to 40 operations on them (the `malloc`
//! family, `realloc` growing, shrinking, to 0 and from `NULL`, the aligned allocators,
//! `strdup`/`strndup`, `free`, `memset`/`memcpy`/`memmove`/`strcpy` and reads and writes of
//! 1 to 16 bytes), all within bounds, then frees what is left and prints a checksum of what it
//! read. A model of the slots (each block's size and which of its bytes were written) keeps
//! every ordinary operation in bounds and every read on written bytes, so a correct program's
//! output does not depend on the allocator. Zero, one or two mistakes of a known kind are
//! injected ([`Mistake`]), each on a line of its own ending in `/* MISTAKE: kind ... */`, so
//! the line the oracle must name is known; what a mistake reads goes to a `volatile` sink
//! that is never printed.
//!
//! Invariants: the same seed gives the same text (the committed programs of
//! `tests/heapfuzz/` are checked against it); the program includes no header beyond libc's.

use std::fmt::Write as _;

/// xorshift64* (Marsaglia; Vigna's multiplier): small, deterministic, good enough to draw
/// programs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // A zero state would stay zero; mix the seed so that small seeds differ at once.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True `percent` times in 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The mistakes the generator injects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mistake {
    OverflowRead,
    OverflowWrite,
    UnderflowRead,
    UnderflowWrite,
    UafRead,
    UafWrite,
    UafMemcpyFrom,
    UafMemcpyInto,
    ReallocMoved,
    DoubleFree,
    FreeInterior,
    FreeStack,
    FreeGlobal,
    ReallocFreed,
    BadAlignment,
    MemcpyOverlap,
    UninitBranch,
    LeakDrop,
}

const MISTAKES: [Mistake; 18] = [
    Mistake::OverflowRead,
    Mistake::OverflowWrite,
    Mistake::UnderflowRead,
    Mistake::UnderflowWrite,
    Mistake::UafRead,
    Mistake::UafWrite,
    Mistake::UafMemcpyFrom,
    Mistake::UafMemcpyInto,
    Mistake::ReallocMoved,
    Mistake::DoubleFree,
    Mistake::FreeInterior,
    Mistake::FreeStack,
    Mistake::FreeGlobal,
    Mistake::ReallocFreed,
    Mistake::BadAlignment,
    Mistake::MemcpyOverlap,
    Mistake::UninitBranch,
    Mistake::LeakDrop,
];

/// A live block in the model: its size and which bytes hold a value the program wrote.
struct Block {
    size: usize,
    init: Vec<bool>,
}

impl Block {
    fn new(size: usize, init: bool) -> Block {
        Block {
            size,
            init: vec![init; size],
        }
    }

    /// An offset where `width` written bytes start, if there is one (tries a few).
    fn written_run(&self, rng: &mut Rng, width: usize) -> Option<usize> {
        if self.size < width {
            return None;
        }
        for _ in 0..8 {
            let at = rng.below((self.size - width + 1) as u64) as usize;
            if self.init[at..at + width].iter().all(|&b| b) {
                return Some(at);
            }
        }
        None
    }

    fn mark(&mut self, at: usize, len: usize) {
        self.init[at..at + len].iter_mut().for_each(|b| *b = true);
    }
}

/// A slot's state in the model.
enum Slot {
    Empty,
    Live(Block),
    /// `realloc(p, 0)` or a `realloc` of a freed pointer: `NULL` or a block of no bytes
    /// (allocators differ); only freed again.
    Unknown,
}

/// A pointer kept after its block was freed (or moved by `realloc`), and what to do with it.
struct Stale {
    size: usize,
    mistake: Mistake,
    /// Operations to run before the mistake.
    delay: u64,
}

struct Gen {
    rng: Rng,
    out: String,
    slots: Vec<Slot>,
    stale: Option<Stale>,
    /// The mistakes still to inject, each at an operation index.
    plan: Vec<(usize, Mistake)>,
}

const STRINGS: [&str; 4] = ["heap", "fuzzing C", "memcheck oracle", "gpa"];

impl Gen {
    fn line(&mut self, text: &str) {
        self.out.push_str("    ");
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn size(&mut self) -> usize {
        let r = self.rng.below(100);
        if r < 4 {
            self.rng.range(1 << 20, (1 << 20) + 300_000) as usize
        } else if r < 10 {
            self.rng.range(128 * 1024 + 1, 400_000) as usize
        } else if r < 14 {
            0
        } else if r < 60 {
            self.rng.range(1, 64) as usize
        } else {
            self.rng.range(1, 5000) as usize
        }
    }

    fn live(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&i| matches!(self.slots[i], Slot::Live(_)))
            .collect()
    }

    fn live_sized(&self, least: usize) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&i| matches!(&self.slots[i], Slot::Live(b) if b.size >= least))
            .collect()
    }

    fn block(&mut self, i: usize) -> &mut Block {
        match &mut self.slots[i] {
            Slot::Live(block) => block,
            _ => unreachable!("slot {i} is live"),
        }
    }

    fn byte(&mut self) -> u64 {
        // Never 0 nor gpa's fills (0xC5, 0xAA, 0xF7): a written byte always changes them.
        self.rng.range(0x21, 0x7e)
    }

    fn value(&mut self, width: usize) -> String {
        if width == 16 {
            let (lo, hi) = (self.value(8), self.value(8));
            return format!("(u128){{{lo}, {hi}}}");
        }
        let mut v: u128 = 0;
        for _ in 0..width {
            v = (v << 8) | self.byte() as u128;
        }
        format!("0x{v:x}")
    }

    fn cast(width: usize) -> &'static str {
        match width {
            1 => "u8",
            2 => "u16",
            4 => "u32",
            8 => "u64",
            _ => "u128",
        }
    }

    /// Empties slot `i` (frees its block).
    fn release(&mut self, i: usize) {
        if !matches!(self.slots[i], Slot::Empty) {
            self.line(&format!("free(p[{i}]); p[{i}] = 0;"));
            self.slots[i] = Slot::Empty;
        }
    }

    /// One allocation into slot `i` (freed first when it holds a block).
    fn allocate(&mut self, i: usize) {
        self.release(i);
        let size = self.size();
        let (text, block) = match self.rng.below(9) {
            0 | 1 => (format!("p[{i}] = malloc({size});"), Block::new(size, false)),
            2 => {
                let n = self.rng.pick(&[1, 2, 4, 8]).min(size.max(1));
                (
                    format!("p[{i}] = calloc({}, {n});", size / n),
                    Block::new(size / n * n, true),
                )
            }
            3 => (
                format!("p[{i}] = realloc(0, {size});"),
                Block::new(size, false),
            ),
            4 => {
                let align = self.rng.pick(&[8, 16, 32, 64, 256, 4096]);
                (
                    format!("if (posix_memalign(&p[{i}], {align}, {size})) return 1;"),
                    Block::new(size, false),
                )
            }
            5 => {
                let align = self.rng.pick(&[16, 64, 512, 4096]);
                let size = size.div_ceil(align) * align;
                (
                    format!("p[{i}] = aligned_alloc({align}, {size});"),
                    Block::new(size, false),
                )
            }
            6 => {
                let align = self.rng.pick(&[16, 32, 128, 1024]);
                (
                    format!("p[{i}] = memalign({align}, {size});"),
                    Block::new(size, false),
                )
            }
            7 => {
                let s = self.rng.pick(&STRINGS);
                (
                    format!("p[{i}] = strdup(\"{s}\");"),
                    Block::new(s.len() + 1, true),
                )
            }
            _ => {
                let s = self.rng.pick(&STRINGS);
                let n = self.rng.below(s.len() as u64 + 3) as usize;
                (
                    format!("p[{i}] = strndup(\"{s}\", {n});"),
                    Block::new(n.min(s.len()) + 1, true),
                )
            }
        };
        self.line(&text);
        self.slots[i] = Slot::Live(block);
    }

    /// One ordinary operation, in bounds.
    fn operation(&mut self) {
        let k = self.slots.len();
        let live = self.live();
        if live.is_empty() || self.rng.chance(22) {
            let i = self.rng.below(k as u64) as usize;
            self.allocate(i);
            return;
        }
        let i = self.rng.pick(&live);
        let size = self.block(i).size;
        match self.rng.below(12) {
            0 => self.release(i),
            1 => {
                // realloc: grow, shrink, or to 0.
                let new = match self.rng.below(5) {
                    0 => 0,
                    1 => size / 2,
                    _ => self.size(),
                };
                self.line(&format!("p[{i}] = realloc(p[{i}], {new});"));
                if new == 0 {
                    // glibc frees and returns NULL; other allocators return a block of no bytes.
                    self.line(&format!("printf(\"realloc0 %d\\n\", p[{i}] == 0);"));
                    self.slots[i] = Slot::Unknown;
                } else {
                    let block = self.block(i);
                    let mut init = block.init.clone();
                    init.resize(new, false);
                    *block = Block { size: new, init };
                }
            }
            2 | 3 if size > 0 => {
                let at = self.rng.below(size as u64) as usize;
                let len = self.rng.range(1, (size - at).min(3000) as u64) as usize;
                let v = self.byte();
                self.line(&format!(
                    "memset((char *)p[{i}] + {at}, 0x{v:x}, n({len}));"
                ));
                self.block(i).mark(at, len);
            }
            4 if size > 0 => {
                // memcpy from another block's written bytes, or memmove within one.
                let j = self.rng.pick(&live);
                let len = self.rng.range(1, size.min(2000) as u64) as usize;
                let src = match &self.slots[j] {
                    Slot::Live(b) if b.size >= len => Some(()),
                    _ => None,
                };
                if src.is_none() {
                    return self.write(i, size);
                }
                let Some(from) = ({
                    let Slot::Live(b) = &self.slots[j] else {
                        unreachable!()
                    };
                    b.written_run(&mut self.rng, len)
                }) else {
                    return self.write(i, size);
                };
                let to = self.rng.below((size - len + 1) as u64) as usize;
                let f = if i == j { "memmove" } else { "memcpy" };
                self.line(&format!(
                    "{f}((char *)p[{i}] + {to}, (char *)p[{j}] + {from}, n({len}));"
                ));
                self.block(i).mark(to, len);
            }
            5 => {
                let which = self.rng.below(STRINGS.len() as u64) as usize;
                let s = STRINGS[which];
                if size > s.len() {
                    let at = self.rng.below((size - s.len()) as u64) as usize;
                    // Through `text()`: a literal source would be copied inline by gcc.
                    self.line(&format!("strcpy((char *)p[{i}] + {at}, text({which}));"));
                    self.block(i).mark(at, s.len() + 1);
                } else {
                    self.write(i, size)
                }
            }
            6..=8 => self.write(i, size),
            _ => self.read(i, size),
        }
    }

    fn write(&mut self, i: usize, size: usize) {
        let width = self.rng.pick(&[1, 2, 4, 8, 16]);
        if size < width {
            return;
        }
        let at = self.rng.below((size - width + 1) as u64) as usize;
        let v = self.value(width);
        let t = Self::cast(width);
        self.line(&format!("*({t} *)((char *)p[{i}] + {at}) = {v};"));
        self.block(i).mark(at, width);
    }

    fn read(&mut self, i: usize, size: usize) {
        let width = self.rng.pick(&[1, 2, 4, 8, 16]);
        let rng = &mut self.rng;
        let Slot::Live(block) = &self.slots[i] else {
            unreachable!()
        };
        let Some(at) = block.written_run(rng, width) else {
            return self.write(i, size);
        };
        let t = Self::cast(width);
        self.line(&format!(
            "sum += fold{width}(*({t} *)((char *)p[{i}] + {at}));"
        ));
    }

    /// Injects `mistake` now (or starts it: a use after free frees first, the use comes
    /// later); false when no slot suits it (another operation runs instead).
    fn inject(&mut self, mistake: Mistake) -> bool {
        use Mistake::*;
        let tag = |m: Mistake, extra: String| format!("/* MISTAKE: {m:?}{extra} */");
        match mistake {
            OverflowRead | OverflowWrite | UnderflowRead | UnderflowWrite => {
                let live = self.live();
                if live.is_empty() {
                    return false;
                }
                let i = self.rng.pick(&live);
                let size = self.block(i).size;
                let width = self.rng.pick(&[1, 1, 2, 4, 8]);
                let (offset, what) = if matches!(mistake, OverflowRead | OverflowWrite) {
                    let d = self.rng.pick(&[
                        0, 0, 1, 3, 7, 8, 15, 16, 24, 31, 32, 40, 63, 64, 100, 127, 128, 200, 255,
                        500, 1000, 4000, 8000,
                    ]);
                    (size as i64 + d, format!(" {d} bytes after {size}"))
                } else {
                    let d = self.rng.pick(&[1, 2, 4, 8, 16, 17, 32, 33, 64, 100, 1000]);
                    let width = width.min(d as usize) as i64;
                    (-d, format!(" {d} bytes before {size} width {width}"))
                };
                let width = if offset < 0 {
                    width.min(-offset as usize)
                } else {
                    width
                };
                let t = Self::cast(width);
                let text = if matches!(mistake, OverflowRead | UnderflowRead) {
                    format!(
                        "bad += fold{width}(*(volatile {t} *)((char *)p[{i}] + {offset})); {}",
                        tag(mistake, what)
                    )
                } else {
                    let v = self.value(width);
                    format!(
                        "*(volatile {t} *)((char *)p[{i}] + {offset}) = {v}; {}",
                        tag(mistake, what)
                    )
                };
                self.line(&text);
                true
            }
            UafRead | UafWrite | UafMemcpyFrom | UafMemcpyInto | DoubleFree | ReallocFreed
            | ReallocMoved => {
                if self.stale.is_some() {
                    return false;
                }
                let least = if matches!(mistake, DoubleFree | ReallocFreed) {
                    0
                } else {
                    1
                };
                let live = self.live_sized(least);
                if live.is_empty() {
                    return false;
                }
                let i = self.rng.pick(&live);
                let Slot::Live(block) = std::mem::replace(&mut self.slots[i], Slot::Empty) else {
                    unreachable!()
                };
                if mistake == ReallocMoved {
                    // Growing by 200,000 bytes moves the block in every allocator.
                    let new = block.size + 200_000;
                    self.line(&format!("stale = p[{i}]; p[{i}] = realloc(p[{i}], {new});"));
                    let mut init = block.init.clone();
                    init.resize(new, false);
                    self.slots[i] = Slot::Live(Block { size: new, init });
                } else {
                    self.line(&format!("stale = p[{i}]; free(p[{i}]); p[{i}] = 0;"));
                }
                let delay = self.rng.pick(&[0, 0, 1, 2, 4, 8]);
                self.stale = Some(Stale {
                    size: block.size,
                    mistake,
                    delay,
                });
                true
            }
            FreeInterior => {
                let live = self.live_sized(1);
                if live.is_empty() {
                    return false;
                }
                let i = self.rng.pick(&live);
                let size = self.block(i).size;
                let at = self.rng.range(1, size as u64);
                self.line(&format!(
                    "free((char *)p[{i}] + {at}); {}",
                    tag(mistake, format!(" {at} in {size}"))
                ));
                true
            }
            FreeStack => {
                let at = self.rng.pick(&[0, 8, 16]);
                self.line(&format!(
                    "free(local + {at}); {}",
                    tag(mistake, String::new())
                ));
                true
            }
            FreeGlobal => {
                let at = self.rng.pick(&[0, 8, 40]);
                self.line(&format!(
                    "free(global + {at}); {}",
                    tag(mistake, String::new())
                ));
                true
            }
            BadAlignment => {
                let align = self.rng.pick(&[0, 3, 24, 48]);
                let size = self.rng.range(1, 200);
                self.line(&format!(
                    "printf(\"posix_memalign %d\\n\", posix_memalign(&spare, {align}, {size})); {}",
                    tag(mistake, String::new())
                ));
                true
            }
            MemcpyOverlap => {
                let live = self.live_sized(2);
                if live.is_empty() {
                    return false;
                }
                let i = self.rng.pick(&live);
                let size = self.block(i).size;
                let len = self.rng.range(2, size.min(600) as u64) as usize;
                let rng = &mut self.rng;
                let Slot::Live(block) = &self.slots[i] else {
                    unreachable!()
                };
                let Some(from) = block.written_run(rng, len) else {
                    return false;
                };
                // A destination that overlaps the source and stays in the block.
                let lo = from.saturating_sub(len - 1);
                let hi = (from + len - 1).min(size - len);
                let mut to = self.rng.range(lo as u64, hi as u64) as usize;
                if to == from {
                    to = if from > lo {
                        from - 1
                    } else {
                        (from + 1).min(hi)
                    };
                }
                if to == from {
                    return false;
                }
                self.line(&format!(
                    "memcpy((char *)p[{i}] + {to}, (char *)p[{i}] + {from}, n({len})); {}",
                    tag(mistake, String::new())
                ));
                self.block(i).mark(to, len);
                true
            }
            UninitBranch => {
                let live = self.live_sized(1);
                let found = live.iter().find_map(|&i| {
                    let Slot::Live(b) = &self.slots[i] else {
                        return None;
                    };
                    b.init.iter().position(|&x| !x).map(|at| (i, at))
                });
                let Some((i, at)) = found else {
                    return false;
                };
                self.line(&format!(
                    "if (((volatile u8 *)p[{i}])[{at}] == 0x5a) bad++; {}",
                    tag(mistake, String::new())
                ));
                true
            }
            LeakDrop => {
                let live = self.live();
                if live.is_empty() {
                    return false;
                }
                let i = self.rng.pick(&live);
                let size = self.block(i).size;
                self.line(&format!(
                    "p[{i}] = 0; {}",
                    tag(mistake, format!(" {size} bytes"))
                ));
                self.slots[i] = Slot::Empty;
                true
            }
        }
    }

    /// The later half of a use after free, a double free or a `realloc` of a freed pointer.
    fn use_stale(&mut self, stale: Stale) {
        use Mistake::*;
        let m = stale.mistake;
        let size = stale.size;
        let tag = |extra: String| format!("/* MISTAKE: {m:?}{extra} */");
        // A power of two no larger than the block (a 3-byte block: 2 bytes).
        let width: usize = 1 << self.rng.pick(&[1, 2, 4, 8]).min(size.max(1)).ilog2();
        let at = self
            .rng
            .below((size + 1).saturating_sub(width).max(1) as u64);
        let text = match m {
            UafRead | ReallocMoved => {
                let t = Self::cast(width);
                format!(
                    "bad += fold{width}(*(volatile {t} *)((char *)stale + {at})); {}",
                    tag(format!(" read {at} in {size}"))
                )
            }
            UafWrite => {
                let t = Self::cast(width);
                let v = self.value(width);
                format!(
                    "*(volatile {t} *)((char *)stale + {at}) = {v}; {}",
                    tag(format!(" write {at} in {size}"))
                )
            }
            UafMemcpyFrom | UafMemcpyInto => {
                let len = self.rng.range(1, (size - at as usize).min(64) as u64);
                if m == UafMemcpyFrom {
                    format!(
                        "memcpy(buffer, (char *)stale + {at}, n({len})); {}",
                        tag(format!(" {at} in {size}"))
                    )
                } else {
                    format!(
                        "memcpy((char *)stale + {at}, \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\", n({len})); {}",
                        tag(format!(" {at} in {size}"))
                    )
                }
            }
            DoubleFree => format!("free(stale); {}", tag(format!(" {size}"))),
            ReallocFreed => {
                let k = self.slots.len() as u64;
                let i = self.rng.below(k) as usize;
                self.release(i);
                let n = self.rng.range(1, 300);
                self.slots[i] = Slot::Unknown;
                format!("p[{i}] = realloc(stale, {n}); {}", tag(format!(" {size}")))
            }
            _ => unreachable!("not a stale pointer's mistake"),
        };
        self.line(&text);
    }
}

/// The C program of `seed`.
pub fn program(seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let slots = rng.range(3, 5) as usize;
    let operations = rng.range(5, 40) as usize;
    let count = match rng.below(100) {
        0..=14 => 0,
        15..=86 => 1,
        _ => 2,
    };
    let mut plan = Vec::new();
    for _ in 0..count {
        let at = rng.below(operations as u64) as usize;
        let m = rng.pick(&MISTAKES);
        plan.push((at, m));
    }
    plan.sort_by_key(|&(at, _)| at);
    let mut g = Gen {
        rng,
        out: String::new(),
        slots: (0..slots).map(|_| Slot::Empty).collect(),
        stale: None,
        plan,
    };
    for step in 0..operations {
        while let Some(&(at, m)) = g.plan.first() {
            if at > step {
                break;
            }
            g.plan.remove(0);
            if !g.inject(m) {
                // Retry at the next operation.
                if step + 1 < operations {
                    g.plan.insert(0, (step + 1, m));
                }
                break;
            }
        }
        if let Some(stale) = &mut g.stale {
            if stale.delay == 0 {
                let stale = g.stale.take().expect("a stale pointer");
                g.use_stale(stale);
            } else {
                stale.delay -= 1;
            }
        }
        g.operation();
    }
    if let Some(stale) = g.stale.take() {
        g.use_stale(stale);
    }
    for i in 0..slots {
        g.release(i);
    }
    let mut text = String::new();
    let _ = writeln!(
        text,
        "/* heapfuzz seed {seed}: generated by tests/heapfuzz/gen.rs */"
    );
    text.push_str(
        "#include <malloc.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdlib.h>\n\
         #include <string.h>\n\n\
         typedef uint8_t u8;\ntypedef uint16_t u16;\ntypedef uint32_t u32;\ntypedef uint64_t u64;\n\
         typedef struct { uint64_t lo, hi; } __attribute__((packed)) u128;\n\n\
         static char global[64];\n\
         static volatile unsigned long bad;\n\
         static unsigned long fold1(u8 v) { return v; }\n\
         static unsigned long fold2(u16 v) { return v; }\n\
         static unsigned long fold4(u32 v) { return v; }\n\
         static unsigned long fold8(u64 v) { return v; }\n\
         static unsigned long fold16(u128 v) { return v.lo ^ (v.hi * 3); }\n\
         /* Lengths and sources through calls: gcc copies constant ones inline, out of sight. */\n\
         static size_t n(size_t v) { return v; }\n\
         static const char *text(int i) {\n    \
         static const char *const texts[] = {\"heap\", \"fuzzing C\", \"memcheck oracle\", \"gpa\"};\n    \
         return texts[i];\n}\n\n",
    );
    let _ = writeln!(text, "int main(void) {{\n    void *p[{slots}] = {{0}};");
    text.push_str(
        "    void *stale = 0, *spare = 0;\n    char local[32], buffer[64];\n    \
         unsigned long sum = 0;\n    (void)stale; (void)spare; (void)local; (void)buffer;\n",
    );
    text.push_str(&g.out);
    text.push_str("    printf(\"sum %lu\\n\", sum);\n    return 0;\n}\n");
    text
}
