//! The leak-verdict fuzzer's program generator: from a seed, one C program that builds an
//! object graph on the heap, keeps parts of it from roots of every kind, drops the rest and
//! exits, so that its leak verdict (definitely, indirectly, possibly lost, still reachable;
//! one loss record per allocation line) can be compared between Valgrind memcheck and
//! `gpa run`.
//!
//! Design: a xorshift generator draws, in this order, the blocks (size, allocating function),
//! the pointers stored inside blocks (aligned or not, to a block's start, into its middle,
//! one past its end, or hidden by XOR or as shifted halves), the roots (`.data`, `.bss`, a
//! thread-local, a `static` local, `main`'s stack, a thread blocked at exit, a joined
//! thread's stack), the roots cleared again, the blocks freed, and how the program ends
//! (`return` from `main`, `exit` from `main` or from a function it called). The same seed
//! always gives the same text. Invariants of the text, which keep the two tools' views the
//! same:
//! * every block is filled (zeros, or a string's letters) right after its allocation, so no
//!   word of a block is undefined to Valgrind or a stale copy to gpa;
//! * each allocation is on a line of its own (a loop allocates several blocks on one line:
//!   one loss record for them all), so a loss record is named by its line;
//! * the table of blocks that builds the graph is itself a heap block, freed before the end
//!   (a freed block is no root), and pointers are stored by a helper whose frame has
//!   returned, so `main`'s frame holds only the roots the program means it to.

/// A seeded xorshift64* generator.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A number in `low..=high`.
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// How a block is allocated.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Via {
    Malloc,
    Calloc,
    Realloc,
    PosixMemalign,
    AlignedAlloc,
    Strdup,
    /// C++: `new char[n]()`.
    NewChars,
    /// C++: `new Elem[n]()` (a destructor: an 8-byte element count before the elements, and
    /// the program's pointer is past it: memcheck's "new[] array" heuristic).
    NewArray,
    /// C++: `new C()`, `C` derived from `A` and `B`, both with virtual functions (a pointer
    /// to its `B` part is interior: the "multiple inheritance" heuristic).
    NewObject,
}

/// `sizeof(C)`: `A` and `B` are a vtable pointer and a `long` each, `C` adds a `long`.
const OBJECT_SIZE: u64 = 40;

/// One block of the graph (a loop's blocks are consecutive blocks of one line).
struct Block {
    /// The block's size, as memcheck counts it.
    size: u64,
    /// Bytes from the program's pointer `t[i]` on that may hold pointers (`size` but for
    /// `new[]`'s count and `C` objects, which hold none).
    usable: u64,
    via: Via,
    /// Blocks allocated by the same loop (this one included), on one line; 1 otherwise.
    run: usize,
}

/// Seeds from this one on are C++ programs (`prog.cpp`), which also allocate with `new`
/// and `new[]`; those below are C programs (`prog.c`).
pub const CXX_SEEDS: u64 = 100_000;

/// A generated program.
pub struct Program {
    pub source: String,
    /// Its file's name: `prog.c` or `prog.cpp`.
    pub file: &'static str,
}

/// How a stored pointer points at its target.
fn pointer_expr(rng: &mut Rng, target: usize, block: &Block) -> String {
    let size = block.usable;
    match block.via {
        Via::NewObject if rng.chance(40) => {
            return format!("(void *)static_cast<B *>((C *)t[{target}])");
        }
        Via::NewArray if rng.chance(20) => return format!("(char *)t[{target}] - 8"),
        _ => {}
    }
    let choice = rng.below(100);
    if size == 0 || choice < 55 {
        format!("t[{target}]")
    } else if choice < 85 && size > 1 {
        let offset = if rng.chance(50) {
            8.min(size - 1)
        } else {
            rng.range(1, size - 1)
        };
        format!("(char *)t[{target}] + {offset}")
    } else {
        format!("(char *)t[{target}] + {size}")
    }
}

/// The size of a block: 0, 1, mostly 8..4096, a few above 128 KiB and above 1 MiB.
fn block_size(rng: &mut Rng) -> u64 {
    match rng.below(100) {
        0..=3 => 0,
        4..=7 => 1,
        8..=11 => rng.range(128 * 1024 + 1, 300 * 1024),
        12..=13 => rng.range(1024 * 1024 + 1, 1536 * 1024),
        14..=40 => rng.range(2, 64),
        _ => rng.range(8, 4096),
    }
}

/// The program of `seed`.
pub fn generate(seed: u64) -> Program {
    let cxx = seed >= CXX_SEEDS;
    let mut rng = Rng::new(seed);
    let mut out = String::new();
    let mut line = |text: &str| {
        out.push_str(text);
        out.push('\n');
    };
    line(&format!(
        "/* leakfuzz seed {seed}: generated by cli/tests/leakfuzz/gen.rs */"
    ));
    line("#define _GNU_SOURCE");
    line("#include <pthread.h>");
    line("#include <stdint.h>");
    line("#include <stdio.h>");
    line("#include <stdlib.h>");
    line("#include <string.h>");
    if cxx {
        line("struct Elem { long v; ~Elem() { v = 1; } };");
        line("struct A { virtual ~A() {} long a; };");
        line("struct B { virtual ~B() {} long b; };");
        line("struct C : A, B { long c; };");
    }
    line("");
    line("void *g_data[4] = { (void *)1 };");
    line("void *g_bss[4];");
    line("__thread void *g_tls[2];");
    line("static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;");
    line("static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;");
    line("static int ready;");
    line("");
    line("__attribute__((noinline)) static void put(void *base, size_t offset, uintptr_t word)");
    line("{");
    line("    memcpy((char *)base + offset, &word, sizeof word);");
    line("}");
    line("");
    line("__attribute__((noinline)) static void keep_static(void *p)");
    line("{");
    line("    static void *kept;");
    line("    kept = p;");
    line("    __asm__ volatile(\"\" : : \"r\"(&kept) : \"memory\");");
    line("}");
    line("");
    line("static void *waiter(void *arg)");
    line("{");
    line("    void *volatile held[2] = { arg, 0 };");
    line("    pthread_mutex_lock(&mu);");
    line("    ready++;");
    line("    pthread_cond_broadcast(&cv);");
    line("    for (;;)");
    line("        pthread_cond_wait(&cv, &mu);");
    line("    return held[1];");
    line("}");
    line("");
    line("static void *joined(void *arg)");
    line("{");
    line("    void *volatile held = arg;");
    line("    return held ? 0 : arg;");
    line("}");
    line("");
    line("__attribute__((noinline)) static void finish(void)");
    line("{");
    line("    fflush(stdout);");
    line("    exit(0);");
    line("}");
    line("");
    line("int main(void)");
    line("{");
    line("    void *volatile stk[4] = { 0 };");

    // Blocks.
    let mut blocks: Vec<Block> = Vec::new();
    let wanted = rng.range(3, 22) as usize;
    while blocks.len() < wanted {
        let via = match rng.below(100) {
            _ if cxx && rng.chance(35) => match rng.below(3) {
                0 => Via::NewChars,
                1 => Via::NewArray,
                _ => Via::NewObject,
            },
            0..=44 => Via::Malloc,
            45..=59 => Via::Calloc,
            60..=71 => Via::Realloc,
            72..=79 => Via::PosixMemalign,
            80..=87 => Via::AlignedAlloc,
            _ => Via::Strdup,
        };
        let size = match via {
            Via::NewObject => OBJECT_SIZE,
            // An element count and at least one element.
            Via::NewArray => 8 + 8 * rng.range(1, 64),
            _ => block_size(&mut rng),
        };
        let usable = match via {
            Via::NewObject => 0,
            Via::NewArray => size - 8,
            _ => size,
        };
        let run = if via == Via::Malloc && rng.chance(15) {
            rng.range(2, 4) as usize
        } else {
            1
        };
        for _ in 0..run {
            blocks.push(Block {
                size,
                usable,
                via,
                run,
            });
        }
    }
    let count = blocks.len();
    line(&format!(
        "    void **t = (void **)malloc({count} * sizeof *t);"
    ));
    let mut index = 0;
    while index < count {
        let Block { size, via, run, .. } = blocks[index];
        let text = match via {
            Via::Malloc if run > 1 => format!(
                "    for (int j = 0; j < {run}; j++) t[{index} + j] = memset(malloc({size}), 0, {size});"
            ),
            Via::Malloc => format!("    t[{index}] = memset(malloc({size}), 0, {size});"),
            Via::Calloc => format!("    t[{index}] = calloc(1, {size});"),
            Via::Realloc => {
                let first = rng.range(1, 200);
                format!(
                    "    t[{index}] = realloc(memset(malloc({first}), 0, {first}), {size}); memset(t[{index}], 0, {size});"
                )
            }
            Via::PosixMemalign => {
                let align = 1u64 << rng.range(4, 12);
                format!(
                    "    if (posix_memalign(&t[{index}], {align}, {size})) return 1; memset(t[{index}], 0, {size});"
                )
            }
            Via::AlignedAlloc => {
                let align = 1u64 << rng.range(4, 12);
                // C11: the size a multiple of the alignment.
                let size = size.div_ceil(align) * align;
                blocks[index].size = size;
                blocks[index].usable = size;
                format!(
                    "    t[{index}] = memset(aligned_alloc({align}, {size}), 0, {size});"
                )
            }
            Via::NewChars => format!("    t[{index}] = new char[{size}]();"),
            Via::NewArray => format!("    t[{index}] = new Elem[{}]();", (size - 8) / 8),
            Via::NewObject => format!("    t[{index}] = new C();"),
            Via::Strdup => {
                // A string of `size` - 1 letters: a block of `size` bytes.
                let size = size.clamp(1, 4096);
                blocks[index].size = size;
                blocks[index].usable = size;
                format!(
                    "    t[{index}] = strdup(\"{}\");",
                    "abcdefghijklmnopqrstuvwxyz"
                        .chars()
                        .cycle()
                        .take(size as usize - 1)
                        .collect::<String>()
                )
            }
        };
        line(&text);
        index += run;
    }

    // Pointers inside blocks.
    let edges = rng.below(2 * count as u64 + 2);
    for _ in 0..edges {
        let from = rng.below(count as u64) as usize;
        let from_size = blocks[from].usable;
        if from_size < 8 {
            continue;
        }
        let to = rng.below(count as u64) as usize;
        let target = pointer_expr(&mut rng, to, &blocks[to]);
        let slots = from_size / 8;
        let aligned = rng.below(slots) * 8;
        match rng.below(100) {
            0..=79 => line(&format!(
                "    put(t[{from}], {aligned}, (uintptr_t)({target}));"
            )),
            80..=87 if from_size >= 9 => {
                let offset = rng.range(1, from_size - 8);
                let offset = if offset % 8 == 0 { offset + 1 } else { offset }.min(from_size - 8);
                if offset % 8 != 0 {
                    line(&format!(
                        "    put(t[{from}], {offset}, (uintptr_t)({target}));"
                    ));
                }
            }
            88..=93 => line(&format!(
                "    put(t[{from}], {aligned}, (uintptr_t)t[{to}] ^ 0x5555555555555555u);"
            )),
            _ if from_size >= 16 && aligned + 16 <= from_size => {
                line(&format!(
                    "    put(t[{from}], {aligned}, (uintptr_t)t[{to}] << 32); put(t[{from}], {}, (uintptr_t)t[{to}] >> 32);",
                    aligned + 8
                ));
            }
            _ => {}
        }
    }

    // Roots.
    let mut threads_running = 0;
    let mut joined_threads = 0;
    let roots = rng.range(0, 8);
    let mut rooted: Vec<String> = Vec::new();
    for _ in 0..roots {
        let to = rng.below(count as u64) as usize;
        let target = pointer_expr(&mut rng, to, &blocks[to]);
        let slot = match rng.below(100) {
            0..=19 => format!("g_data[{}]", rng.below(4)),
            20..=39 => format!("g_bss[{}]", rng.below(4)),
            40..=51 => format!("g_tls[{}]", rng.below(2)),
            52..=71 => format!("stk[{}]", rng.below(4)),
            72..=79 => {
                line(&format!("    keep_static({target});"));
                continue;
            }
            80..=91 if threads_running < 2 => {
                threads_running += 1;
                line(&format!(
                    "    {{ pthread_t th; pthread_create(&th, 0, waiter, {target}); }}"
                ));
                continue;
            }
            92..=99 if joined_threads < 1 => {
                joined_threads += 1;
                line(&format!(
                    "    {{ pthread_t th; pthread_create(&th, 0, joined, {target}); pthread_join(th, 0); }}"
                ));
                continue;
            }
            _ => continue,
        };
        line(&format!("    {slot} = {target};"));
        rooted.push(slot);
    }
    if threads_running > 0 {
        line("    pthread_mutex_lock(&mu);");
        line(&format!("    while (ready < {threads_running})"));
        line("        pthread_cond_wait(&cv, &mu);");
        line("    pthread_mutex_unlock(&mu);");
    }

    // Roots cleared or overwritten.
    for slot in &rooted {
        match rng.below(100) {
            0..=24 => line(&format!("    {slot} = 0;")),
            25..=34 => line(&format!("    {slot} = (void *)&ready;")),
            _ => {}
        }
    }

    // Frees.
    for (index, block) in blocks.iter().enumerate() {
        if rng.chance(15) {
            line(&match block.via {
                Via::NewChars => format!("    delete[] (char *)t[{index}];"),
                Via::NewArray => format!("    delete[] (Elem *)t[{index}];"),
                Via::NewObject => format!("    delete (C *)t[{index}];"),
                _ => format!("    free(t[{index}]);"),
            });
        }
    }
    line("    free(t);");
    line("    printf(\"done\\n\");");
    match rng.below(3) {
        0 => line("    return 0;"),
        1 => {
            line("    fflush(stdout);");
            line("    exit(0);");
        }
        _ => line("    finish();"),
    }
    line("}");
    Program {
        source: out,
        file: if cxx { "prog.cpp" } else { "prog.c" },
    }
}
