//! Check mode on blocks whose page (or, for a large block, whose mapping) went back after
//! their free: the block left the quarantine (256 KiB a thread), its page emptied and was
//! released with its slots' metadata, yet a double free, a `realloc`, an interior free, a
//! read or write, or a C++ `delete` of it must still name the block, as Valgrind memcheck
//! names any block of its freed-block list (`--freelist-vol`, 20,000,000 bytes by default).
//! Programs of our own in `tests/freed_pages/` (each names the upstream file it follows); each
//! case's comment gives Valgrind 3.19's verdict on it (`valgrind PROGRAM ARG`, by hand), which
//! the test holds check mode to: the finding's kind, the block's size, the offset, and the
//! lines of the access or second free, of the first free and of the allocation.
//! Skips with a message when gcc or g++ is missing.

mod common;

use common::*;
use serde_json::Value;

/// One case: the program and its argument, and Valgrind's verdict in gpa's terms.
struct Case {
    program: &'static str,
    arg: &'static str,
    kind: &'static str,
    size: u64,
    offset: Option<i64>,
    /// The stack of the access or second free (`second_free`, `invalid_free`, `access`) and
    /// the line of its first frame.
    at: (&'static str, u64),
    /// The lines of the first free and of the allocation.
    freed: u64,
    allocated: u64,
}

// One argument per field of the table's rows, as `Case` literals would spell them.
#[allow(clippy::too_many_arguments)]
const fn case(
    program: &'static str,
    arg: &'static str,
    kind: &'static str,
    size: u64,
    offset: Option<i64>,
    at: (&'static str, u64),
    freed: u64,
    allocated: u64,
) -> Case {
    Case {
        program,
        arg,
        kind,
        size,
        offset,
        at,
        freed,
        allocated,
    }
}

/// The line of a stack's first frame (0 when the stack is absent).
fn first_line(finding: &Value, stack: &str) -> u64 {
    finding["stacks"][stack]
        .as_array()
        .and_then(|frames| frames.first())
        .and_then(|frame| frame["line"].as_u64())
        .unwrap_or(0)
}

const CASES: &[Case] = &[
    // Valgrind: "Invalid free() / delete / delete[] / realloc()" (:28), "Address ... is 0
    // bytes inside a block of size 128 free'd" (:24), "Block was alloc'd at" (:19). Check mode
    // before: "invalid free of 0x...: not allocated by this allocator" (no block, no traces).
    case(
        "released_small",
        "free",
        "double_free",
        128,
        None,
        ("second_free", 28),
        24,
        19,
    ),
    // Valgrind: "Invalid free() / delete / delete[] / realloc()" (:30, realloc), "0 bytes
    // inside a block of size 128 free'd" (:24), alloc'd (:19). Before: as above.
    case(
        "released_small",
        "realloc",
        "double_free",
        128,
        None,
        ("second_free", 30),
        24,
        19,
    ),
    // Valgrind: "Invalid free()" (:32), "8 bytes inside a block of size 128 free'd" (:24),
    // alloc'd (:19). Before: "not allocated by this allocator".
    case(
        "released_small",
        "interior",
        "invalid_free",
        128,
        Some(8),
        ("invalid_free", 32),
        24,
        19,
    ),
    // Valgrind: "Invalid read of size 1" (:34), "5 bytes inside a block of size 128 free'd"
    // (:24), alloc'd (:19). Before: the access faulted on the released page's inaccessible
    // unit and was named after the nearest live block ("buffer underflow: read of 1 byte
    // 196603 bytes before a 32000-byte block", the program's array of pointers).
    case(
        "released_small",
        "read",
        "read_after_free",
        128,
        Some(5),
        ("access", 34),
        24,
        19,
    ),
    // Valgrind: "Invalid write of size 1" (:36), "5 bytes inside a block of size 128 free'd"
    // (:24), alloc'd (:19). Before: "buffer underflow: write of 1 byte 196603 bytes before a
    // 32000-byte block".
    case(
        "released_small",
        "write",
        "write_after_free",
        128,
        Some(5),
        ("access", 36),
        24,
        19,
    ),
    // Valgrind: "Invalid free() / delete / delete[] / realloc()" (:38, delete), "0 bytes
    // inside a block of size 128 free'd" (:35), alloc'd (:31, new). Before: "not allocated".
    case(
        "released_delete",
        "delete",
        "double_free",
        128,
        None,
        ("second_free", 38),
        35,
        31,
    ),
    // Valgrind: as above for delete[] (:26), free'd (:23), alloc'd (:19, new[]).
    case(
        "released_delete",
        "array",
        "double_free",
        128,
        None,
        ("second_free", 26),
        23,
        19,
    ),
    // Large blocks: 4,200 frees of 140,000 bytes between (588 MB: past check mode's
    // quarantine of freed large blocks, 4,096 blocks, so the block's range is unmapped; past
    // Valgrind's default freed-block list too, which then names the 140,000-byte block it
    // reused the address for). Valgrind with `--freelist-vol=1000000000`: "Invalid free()"
    // (:26), "0 bytes inside a block of size 200,000 free'd" (:18), alloc'd (:16). Check
    // mode named it before this branch too (`large`'s ring of records).
    case(
        "released_large",
        "free",
        "double_free",
        200_000,
        None,
        ("second_free", 26),
        18,
        16,
    ),
    // As above: realloc (:28), "0 bytes inside a block of size 200,000 free'd".
    case(
        "released_large",
        "realloc",
        "double_free",
        200_000,
        None,
        ("second_free", 28),
        18,
        16,
    ),
    // As above: "Invalid free()" (:30), "8 bytes inside a block of size 200,000 free'd".
    case(
        "released_large",
        "interior",
        "invalid_free",
        200_000,
        Some(8),
        ("invalid_free", 30),
        18,
        16,
    ),
    // As above: "Invalid read of size 1" (:32), "5 bytes inside a block of size 200,000
    // free'd". Before: the access to the unmapped range killed the program, unattributed
    // ("Access not within mapped region").
    case(
        "released_large",
        "read",
        "read_after_free",
        200_000,
        Some(5),
        ("access", 32),
        18,
        16,
    ),
];

#[test]
fn check_mode_names_the_blocks_of_released_pages_as_valgrind_does() {
    if !gcc_or_skip() || skip("g++", "g++") {
        return;
    }
    let dir = scratch("freed_pages");
    let files = [
        "released_small.c",
        "released_delete.cpp",
        "released_large.c",
    ];
    compile_programs("freed_pages", &files, dir.as_ref());
    for case in CASES {
        let program = format!("./{}", case.program);
        let run = gpa_run(dir.as_ref(), &[], &[&program, case.arg]);
        let findings = run.findings();
        let tag = format!("{} {}", case.program, case.arg);
        let shown = format!("{tag}: {}\nstderr:\n{}", describe(&findings), run.stderr());
        let errors: Vec<&Value> = findings.iter().filter(|f| f["kind"] != "leak").collect();
        assert_eq!(errors.len(), 1, "{shown}");
        let finding = errors[0];
        assert_eq!(finding["kind"], case.kind, "{shown}");
        assert_eq!(finding["size"], case.size, "{shown}");
        assert_eq!(finding["count"], 1, "{shown}");
        if let Some(offset) = case.offset {
            assert_eq!(finding["offset"], offset, "{shown}");
        }
        assert_eq!(first_line(finding, case.at.0), case.at.1, "{shown}");
        assert_eq!(first_line(finding, "free"), case.freed, "{shown}");
        assert_eq!(first_line(finding, "alloc"), case.allocated, "{shown}");
        // The program goes on after the finding, as under Valgrind.
        assert!(run.stdout().contains("done"), "{shown}");
        assert_eq!(run.output.status.code(), Some(0), "{shown}");
    }
}

/// Blocks allocated again at the addresses of remembered ones: the ring's records are
/// gpa's memory, never a leak scan's roots. Valgrind (`--leak-check=full`): "128 bytes in 1
/// blocks are definitely lost in loss record 1 of 1" (:40), nothing else lost, no error.
#[test]
fn blocks_at_remembered_addresses_leak_as_valgrind_says() {
    if !gcc_or_skip() {
        return;
    }
    let dir = scratch("freed_pages_leak");
    compile_programs("freed_pages", &["released_small.c"], dir.as_ref());
    let run = gpa_run(dir.as_ref(), &[], &["./released_small", "leak"]);
    let findings = run.findings();
    let shown = format!("{}\nstderr:\n{}", describe(&findings), run.stderr());
    assert_eq!(
        gpa_leak_totals(&run.json),
        [(1, 128), (0, 0), (0, 0), (0, 0)],
        "{shown}"
    );
    let leaks: Vec<&Value> = findings.iter().filter(|f| f["kind"] == "leak").collect();
    assert_eq!(leaks.len(), 1, "{shown}");
    assert_eq!(first_line(leaks[0], "alloc"), 40, "{shown}");
    assert_eq!(findings.len(), 1, "{shown}");
}
