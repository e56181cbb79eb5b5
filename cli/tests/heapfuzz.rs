//! heapfuzz: generated C programs that make heap mistakes (`tests/heapfuzz/gen.rs`, one seed
//! a program), run natively (glibc 2.36), under Valgrind memcheck 3.19 and under `gpa run` in
//! check, guard and fast modes (`docs/sweeps/heapfuzz.md`). The offline sweep ran a few hundred
//! seeds and classified every disagreement; the seeds kept here cover every mistake the
//! generator injects (two programs each, the shortest without an unexplained difference). Each
//! case holds check and guard modes to Valgrind's verdict on the same program, built as the
//! test builds it (`gcc -O0 -g -pthread -w`; `valgrind --leak-check=full
//! --show-leak-kinds=all`), written next to it: the kind of each finding, the block's size,
//! the offset, the program line of its stack (the access's where gpa sees it; check mode sees
//! an overflow or a write after free at the `free` or at exit: the `detected` line) and the
//! leak totals and loss records. Where gpa sees otherwise by design (check mode does not see
//! plain reads, guard mode reads before a block or in its alignment slack, gpa tracks no
//! uninitialised values, Valgrind 3.19 reports no overlap in a plain `memcpy`), the comment
//! says so and the case asserts what gpa reports. Fast mode prints what the native run
//! printed (where glibc aborts, the output is not compared). The committed programs are
//! the generator's text for their seeds (`generator_is_deterministic`). Tests skip with a
//! message when gcc is missing.

mod common;

#[path = "heapfuzz/gen.rs"]
mod gen;

use common::sweep::*;

/// The programs: `tests/heapfuzz/s<seed>.c`; a finding's line is its stack's first frame in
/// that file.
const SWEEP: Sweep = Sweep {
    folder: "heapfuzz",
    compilers: &["gcc"],
    lines: Lines::InFolder,
};

/// The seeds of the committed programs.
const SEEDS: [u64; 40] = [
    110, 27, 54, 155, 87, 18, 173, 187, 210, 56, 46, 184, 156, 154, 50, 146, 41, 220, 194, 137, 66,
    178, 100, 168, 107, 192, 49, 88, 215, 162, 190, 53, 10, 70, 73, 8, 57, 132, 59, 1032,
];

#[test]
fn generator_is_deterministic() {
    for seed in SEEDS {
        let path = format!("{}/tests/heapfuzz/s{seed}.c", env!("CARGO_MANIFEST_DIR"));
        let committed = std::fs::read_to_string(&path).expect("a committed program");
        assert_eq!(gen::program(seed), committed, "{path}");
    }
}

#[test]
fn generated_programs_as_valgrind_sees_them() {
    SWEEP.sweep(
        "heapfuzz",
        &[
            // s110: BadAlignment.
            // Valgrind: no error.
            clean("s110.c"),
            // s27: BadAlignment.
            // Valgrind: no error.
            clean("s27.c"),
            // s54: DoubleFree 64.
            // Valgrind: Invalid free() / delete / delete[] / realloc() at line 36 (free): 0 bytes
            // inside a block of size 64 free'd.
            Case {
                check: &[want("double_free", 64, None, ("second_free", 36))],
                guard: &[want("double_free", 64, None, ("second_free", 36))],
                native_aborts: true,
                ..clean("s54.c")
            },
            // s155: DoubleFree 1283189.
            // Valgrind: Invalid free() / delete / delete[] / realloc() at line 39 (free): 0 bytes
            // inside a block of size 1,283,189 free'd.
            Case {
                check: &[want("double_free", 1283189, None, ("second_free", 39))],
                guard: &[want("double_free", 1283189, None, ("second_free", 39))],
                native_aborts: true,
                ..clean("s155.c")
            },
            // s87: FreeGlobal.
            // Valgrind: Invalid free() / delete / delete[] / realloc() at line 37 (free): 0 bytes
            // inside data symbol "global".
            Case {
                check: &[want("invalid_free", 0, None, ("invalid_free", 37))],
                guard: &[want("invalid_free", 0, None, ("invalid_free", 37))],
                native_aborts: true,
                ..clean("s87.c")
            },
            // s18: FreeGlobal.
            // Valgrind: Invalid free() / delete / delete[] / realloc() at line 39 (free): 40 bytes
            // inside data symbol "global".
            Case {
                check: &[want("invalid_free", 0, None, ("invalid_free", 39))],
                guard: &[want("invalid_free", 0, None, ("invalid_free", 39))],
                native_aborts: true,
                ..clean("s18.c")
            },
            // s173: FreeInterior 329823 in 1312524.
            // Valgrind: Invalid free() / delete / delete[] / realloc() at line 42 (free): 329,823
            // bytes inside a block of size 1,312,524 alloc'd.
            Case {
                check: &[want(
                    "invalid_free",
                    1312524,
                    Some(329823),
                    ("invalid_free", 42),
                )],
                guard: &[want(
                    "invalid_free",
                    1312524,
                    Some(329823),
                    ("invalid_free", 42),
                )],
                native_aborts: true,
                ..clean("s173.c")
            },
            // s187: FreeInterior 3 in 4.
            // Valgrind: Invalid free() / delete / delete[] / realloc() at line 43 (free): 3 bytes
            // inside a block of size 4 alloc'd.
            Case {
                check: &[want("invalid_free", 4, Some(3), ("invalid_free", 43))],
                guard: &[want("invalid_free", 4, Some(3), ("invalid_free", 43))],
                native_aborts: true,
                ..clean("s187.c")
            },
            // s210: FreeStack.
            // Valgrind: Invalid free() / delete / delete[] / realloc() at line 38 (free): on thread
            // 1's stack.
            Case {
                check: &[want("invalid_free", 0, None, ("invalid_free", 38))],
                guard: &[want("invalid_free", 0, None, ("invalid_free", 38))],
                native_aborts: true,
                ..clean("s210.c")
            },
            // s56: FreeStack.
            // Valgrind: Invalid free() / delete / delete[] / realloc() at line 42 (free): on thread
            // 1's stack.
            Case {
                check: &[want("invalid_free", 0, None, ("invalid_free", 42))],
                guard: &[want("invalid_free", 0, None, ("invalid_free", 42))],
                native_aborts: true,
                ..clean("s56.c")
            },
            // s46: LeakDrop 2 bytes.
            // Valgrind: no error.
            Case {
                check: &[],
                guard: &[],
                leaks: [(1, 2), (0, 0), (0, 0), (0, 0)],
                records: 1,
                ..clean("s46.c")
            },
            // s184: LeakDrop 249270 bytes.
            // Valgrind: no error.
            Case {
                check: &[],
                guard: &[],
                leaks: [(1, 249270), (0, 0), (0, 0), (0, 0)],
                records: 1,
                ..clean("s184.c")
            },
            // s156: MemcpyOverlap.
            // Valgrind: no error.
            // check: design: Valgrind 3.19 reports no overlap in a plain memcpy (c_abi.md).
            // guard: design: Valgrind 3.19 reports no overlap in a plain memcpy (c_abi.md).
            Case {
                check: &[want("overlap", 4, None, ("detected", 43))],
                guard: &[want("overlap", 4, None, ("detected", 43))],
                ..clean("s156.c")
            },
            // s154: MemcpyOverlap.
            // Valgrind: no error.
            // check: design: Valgrind 3.19 reports no overlap in a plain memcpy (c_abi.md).
            // guard: design: Valgrind 3.19 reports no overlap in a plain memcpy (c_abi.md).
            Case {
                check: &[want("overlap", 7, None, ("detected", 44))],
                guard: &[want("overlap", 7, None, ("detected", 44))],
                ..clean("s154.c")
            },
            // s50: OverflowRead 0 bytes after 8.
            // Valgrind: Invalid read of size 2 at line 37: 0 bytes after a block of size 8 alloc'd.
            // check: design: check mode does not see plain reads.
            Case {
                check: &[],
                guard: &[want("overflow", 8, Some(8), ("access", 37))],
                ..clean("s50.c")
            },
            // s146: OverflowRead 64 bytes after 4568.
            // Valgrind: Invalid read of size 1 at line 35: 8 bytes before an unallocated block of
            // size 4,189,568 in arena "client".
            // check: design: check mode does not see plain reads.
            Case {
                check: &[],
                guard: &[want("overflow", 4568, Some(4632), ("access", 35))],
                ..clean("s146.c")
            },
            // s41: OverflowWrite 7 bytes after 2.
            // Valgrind: Invalid write of size 2 at line 36: 7 bytes after a block of size 2
            // alloc'd.
            Case {
                check: &[want("overflow", 2, Some(9), ("detected", 39))],
                guard: &[want("overflow", 2, Some(9), ("detected", 39))],
                ..clean("s41.c")
            },
            // s220: OverflowWrite 127 bytes after 48 (found and fixed: check mode reported the
            // one write twice, at the free, then at exit the byte past the free's scan).
            // Valgrind: Invalid write of size 2 at line 41: 63 bytes inside an unallocated block of
            // size 4,194,016 in arena "client".
            // Both see the access; Valgrind names the memory it lands in, gpa the block it ran
            // from (check mode at the free).
            Case {
                check: &[want("overflow", 48, Some(175), ("detected", 48))],
                guard: &[want("overflow", 48, Some(175), ("access", 41))],
                ..clean("s220.c")
            },
            // s59: OverflowWrite 40 bytes after 15 (found and fixed: check mode saw nothing).
            // Valgrind: Invalid write of size 1 at line 51: 25 bytes before an unallocated block
            // of size 2,288 in arena "client"; then it crashes (the write hit its arena), so it
            // gives no leak verdict (the program frees every block).
            // The write lands in a never-used slot after the block's, which `strndup` (line 53)
            // takes: check mode finds it there, as the slot is carved; guard mode at the write.
            Case {
                check: &[want("overflow", 15, Some(55), ("detected", 53))],
                guard: &[want("overflow", 15, Some(55), ("access", 51))],
                ..clean("s59.c")
            },
            // s1032: OverflowWrite 63 bytes after 27 (found and fixed: check mode saw nothing).
            // Valgrind: Invalid write of size 4 at line 38: 6 bytes before an unallocated block of
            // size 4,194,112 in arena "client".
            // The write lands in the never-used slot after the block's, which `realloc` (line
            // 39) moves the block into: check mode finds it as the slot is carved, before the
            // copy; guard mode at the write.
            Case {
                check: &[want("overflow", 27, Some(90), ("detected", 39))],
                guard: &[want("overflow", 27, Some(90), ("access", 38))],
                ..clean("s1032.c")
            },
            // s194: ReallocFreed 3242.
            // Valgrind: Invalid free() / delete / delete[] / realloc() at line 42 (realloc): 0
            // bytes inside a block of size 3,242 free'd.
            Case {
                check: &[want("double_free", 3242, None, ("second_free", 42))],
                guard: &[want("double_free", 3242, None, ("second_free", 42))],
                native_aborts: true,
                ..clean("s194.c")
            },
            // s137: ReallocFreed 1565.
            // Valgrind: Invalid free() / delete / delete[] / realloc() at line 41 (realloc): 0
            // bytes inside a block of size 1,565 free'd.
            Case {
                check: &[want("double_free", 1565, None, ("second_free", 41))],
                guard: &[want("double_free", 1565, None, ("second_free", 41))],
                native_aborts: true,
                ..clean("s137.c")
            },
            // s66: ReallocMoved read 4192 in 4846.
            // Valgrind: Invalid read of size 8 at line 37: 4,192 bytes inside a block of size 4,846
            // free'd.
            // check: design: check mode does not see plain reads.
            Case {
                check: &[],
                guard: &[want("read_after_free", 4846, Some(4192), ("access", 37))],
                ..clean("s66.c")
            },
            // s178: ReallocMoved read 125169 in 209317.
            // Valgrind: Invalid read of size 2 at line 52: 125,169 bytes inside a block of size
            // 209,317 free'd.
            // check: design: check mode does not see plain reads.
            Case {
                check: &[],
                guard: &[want(
                    "read_after_free",
                    209317,
                    Some(125169),
                    ("access", 52),
                )],
                native_aborts: true,
                ..clean("s178.c")
            },
            // s100: UafMemcpyFrom 18 in 19.
            // Valgrind: Invalid read of size 1 at line 51 (memmove): 18 bytes inside a block of
            // size 19 free'd.
            Case {
                check: &[want("read_after_free", 19, Some(18), ("access", 51))],
                guard: &[want("read_after_free", 19, Some(18), ("access", 51))],
                ..clean("s100.c")
            },
            // s168: UafMemcpyFrom 3918 in 4414.
            // Valgrind: Invalid read of size 2 at line 38 (memmove): 3,918 bytes inside a block of
            // size 4,414 free'd.
            Case {
                check: &[want("read_after_free", 4414, Some(3918), ("access", 38))],
                guard: &[want("read_after_free", 4414, Some(3918), ("access", 38))],
                ..clean("s168.c")
            },
            // s107: UafMemcpyInto 1128 in 1804.
            // Valgrind: Invalid write of size 8 at line 40 (memmove): 1,128 bytes inside a block of
            // size 1,804 free'd.
            Case {
                check: &[want("write_after_free", 1804, Some(1128), ("access", 40))],
                guard: &[want("write_after_free", 1804, Some(1128), ("access", 40))],
                ..clean("s107.c")
            },
            // s192: UafMemcpyInto 4 in 10.
            // Valgrind: Invalid write of size 2 at line 40 (memmove): 4 bytes inside a block of
            // size 10 free'd.
            Case {
                check: &[want("write_after_free", 10, Some(4), ("access", 40))],
                guard: &[want("write_after_free", 10, Some(4), ("access", 40))],
                ..clean("s192.c")
            },
            // s49: UafRead read 2 in 10.
            // Valgrind: Invalid read of size 1 at line 36: 2 bytes inside a block of size 10
            // free'd.
            // check: design: check mode does not see plain reads.
            Case {
                check: &[],
                guard: &[want("read_after_free", 10, Some(2), ("access", 36))],
                ..clean("s49.c")
            },
            // s88: UafRead read 1288 in 1312.
            // Valgrind: Invalid read of size 1 at line 38: 1,288 bytes inside a block of size 1,312
            // free'd.
            // check: design: check mode does not see plain reads.
            Case {
                check: &[],
                guard: &[want("read_after_free", 1312, Some(1288), ("access", 38))],
                ..clean("s88.c")
            },
            // s215: UafWrite write 15 in 46.
            // Valgrind: Invalid write of size 2 at line 44: 15 bytes inside a block of size 46
            // free'd.
            Case {
                check: &[unplaced("write_after_free", 46, Some(15))],
                guard: &[want("write_after_free", 46, Some(15), ("access", 44))],
                ..clean("s215.c")
            },
            // s162: UafWrite write 2068 in 3940.
            // Valgrind: Invalid write of size 8 at line 54: 2,068 bytes inside a block of size
            // 3,940 free'd.
            Case {
                check: &[unplaced("write_after_free", 3940, Some(2068))],
                guard: &[want("write_after_free", 3940, Some(2068), ("access", 54))],
                ..clean("s162.c")
            },
            // s190: UnderflowRead 32 bytes before 25 width 8.
            // Valgrind: Invalid read of size 8 at line 38: 32 bytes before a block of size 32 in
            // arena "client".
            // check: design: check mode does not see plain reads.
            // guard: design: guard mode sees reads before a block only in libc calls.
            clean("s190.c"),
            // s53: UnderflowRead 16 bytes before 4 width 4.
            // Valgrind: Invalid read of size 4 at line 52: 16 bytes before a block of size 4
            // alloc'd.
            // check: design: check mode does not see plain reads.
            // guard: design: guard mode sees reads before a block only in libc calls.
            clean("s53.c"),
            // s10: UnderflowWrite 32 bytes before 1737 width 2.
            // Valgrind: Invalid write of size 2 at line 40: 32 bytes before a block of size 1,744
            // in arena "client".
            Case {
                check: &[want("underflow", 1737, Some(-32), ("detected", 41))],
                guard: &[want("underflow", 1737, Some(-32), ("detected", 41))],
                ..clean("s10.c")
            },
            // s70: UnderflowWrite 4 bytes before 16 width 1.
            // Valgrind: Invalid write of size 1 at line 46: 4 bytes before a block of size 16
            // alloc'd.
            Case {
                check: &[want("underflow", 16, Some(-4), ("detected", 48))],
                guard: &[want("underflow", 16, Some(-4), ("detected", 48))],
                native_aborts: true,
                ..clean("s70.c")
            },
            // s73: UninitBranch.
            // Valgrind: Conditional jump or move depends on uninitialised value(s) at line 39.
            // check: design: no uninitialised-value tracking.
            // guard: design: no uninitialised-value tracking.
            clean("s73.c"),
            // s8: UninitBranch.
            // Valgrind: Conditional jump or move depends on uninitialised value(s) at line 37.
            // check: design: no uninitialised-value tracking.
            // guard: design: no uninitialised-value tracking.
            clean("s8.c"),
            // s57: no mistake.
            // Valgrind: no error.
            clean("s57.c"),
            // s132: no mistake.
            // Valgrind: no error.
            clean("s132.c"),
        ],
    );
}

/// Writes the programs of seeds `HEAPFUZZ_FROM..HEAPFUZZ_TO` into `HEAPFUZZ_OUT` (the offline
/// sweep's input; not a check): `HEAPFUZZ_OUT=/tmp/hf HEAPFUZZ_FROM=0 HEAPFUZZ_TO=1000 cargo
/// test -p gpa-cli --test heapfuzz -- --ignored write_programs`.
#[test]
#[ignore]
fn write_programs() {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let out = std::path::PathBuf::from(var("HEAPFUZZ_OUT"));
    std::fs::create_dir_all(&out).expect("the output folder");
    let from: u64 = var("HEAPFUZZ_FROM").parse().expect("a seed");
    let to: u64 = var("HEAPFUZZ_TO").parse().expect("a seed");
    for seed in from..to {
        std::fs::write(out.join(format!("s{seed}.c")), gen::program(seed)).expect("write");
    }
}
