//! The preload library's footprint in a program (issue 14, "peak RSS at most 1.2x mimalloc's"):
//! what `capi/build.rs` arranges at link time, checked on the library the tests use.
//!
//! * Preloading gpa loads no `libgcc_s.so.1` (the unwinder is linked in from `libgcc_eh.a`),
//!   asked of the dynamic loader itself (`LD_TRACE_LOADED_OBJECTS`, what `ldd` shows).
//! * Every function `capi/fast-path.ld` names is there, in its `.text.gpa_fast` section: a
//!   function renamed, moved or inlined away would drop out of the section without a sound
//!   and fast mode would fault in the library's code all over again (about 500 KiB more peak
//!   RSS on the small C benchmarks, docs/performance.md).
//!
//! The resident size itself depends on the build profile (an unoptimized library calls
//! helpers outside the section) and on the kernel's fault-around, so it is measured by the
//! benchmark (`bench/c/run.sh`), not asserted here.

mod common;

use std::path::Path;
use std::process::Command;

use object::{Object, ObjectSection, ObjectSymbol};

use common::{compile_c, gcc_or_skip, preload_library, scratch};

/// Whether the C compiler has the static unwinder (else `capi/build.rs` keeps `libgcc_s`).
fn have_libgcc_eh() -> bool {
    Command::new("cc")
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .is_ok_and(|out| Path::new(String::from_utf8_lossy(&out.stdout).trim()).is_absolute())
}

#[test]
fn preloading_gpa_loads_no_libgcc_s() {
    if !gcc_or_skip() {
        return;
    }
    if !have_libgcc_eh() {
        eprintln!("skipping: the C compiler has no libgcc_eh.a");
        return;
    }
    let dir = scratch("footprint-libgcc");
    let program = compile_c("clean_basic", &dir);
    let library = preload_library();
    // Without gpa: the program alone does not need libgcc_s (else the test proves nothing).
    let plain = Command::new(&program)
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .output()
        .expect("run the program under the loader's trace");
    let plain = String::from_utf8_lossy(&plain.stdout).into_owned();
    assert!(plain.contains("libc.so"), "loader trace: {plain}");
    assert!(!plain.contains("libgcc_s"), "loader trace: {plain}");
    let out = Command::new(&program)
        .env("LD_TRACE_LOADED_OBJECTS", "1")
        .env("LD_PRELOAD", &library)
        .output()
        .expect("run the program under the loader's trace");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("libgpa_preload.so"),
        "the loader's list names the preload library: {listing}"
    );
    assert!(
        !listing.contains("libgcc_s"),
        "preloading gpa loaded libgcc_s: {listing}"
    );
}

/// Turns a linker-script glob into a matcher of symbol names (`*` any run, `?` one byte).
fn glob_matches(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| glob_matches(rest, &name[skip..])),
        Some((&first, rest)) => name
            .split_first()
            .is_some_and(|(&c, tail)| (first == b'?' || first == c) && glob_matches(rest, tail)),
    }
}

/// The symbol-name patterns of `capi/fast-path.ld`: each input-section pattern `.text.NAME` or
/// `.text.*NAME` (the `*` also takes LLVM's `unlikely.` prefix) as `NAME`; patterns by
/// archive member or synthetic section are left out.
fn fast_path_patterns() -> Vec<String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../capi/fast-path.ld");
    let text = std::fs::read_to_string(&script).expect("read capi/fast-path.ld");
    let mut body = String::new();
    // Drop comments.
    let mut rest = text.as_str();
    while let Some(start) = rest.find("/*") {
        body.push_str(&rest[..start]);
        let end = rest[start..].find("*/").expect("closed comment") + start + 2;
        rest = &rest[end..];
    }
    body.push_str(rest);
    let mut patterns = Vec::new();
    for group in body.split("*(").skip(1) {
        let group = &group[..group.find(')').expect("closed pattern list")];
        for pattern in group.split_whitespace() {
            let Some(name) = pattern.strip_prefix(".text.") else {
                continue;
            };
            if name.starts_with("*.") {
                continue; // `.text.*.malloc`: the same function as `.text.malloc`
            }
            let name = name.strip_prefix('*').unwrap_or(name);
            if name.is_empty() {
                continue; // `*libc_nonshared.a:*(.text .text.*)`: by archive member
            }
            if !patterns.iter().any(|known| known == name) {
                patterns.push(name.to_owned());
            }
        }
    }
    patterns
}

#[test]
fn every_function_the_fast_path_script_names_is_in_its_section() {
    let patterns = fast_path_patterns();
    assert!(patterns.len() > 40, "patterns read: {patterns:?}");
    let library = preload_library();
    let data = std::fs::read(&library).expect("read the preload library");
    let file = object::File::parse(&*data).expect("parse the preload library");
    let section = file
        .section_by_name(".text.gpa_fast")
        .expect("the library has the fast path's section (capi/build.rs passes the script)");
    let index = section.index();
    // Two fault-around windows at most in an optimized build; the unoptimized one is smaller
    // still (the same functions, little inlined into them).
    assert!(
        section.size() <= 128 << 10,
        ".text.gpa_fast is {} bytes",
        section.size()
    );
    let names: Vec<&str> = file
        .symbols()
        .filter(|symbol| symbol.section_index() == Some(index))
        .filter_map(|symbol| symbol.name().ok())
        .collect();
    let missing: Vec<&String> = patterns
        .iter()
        .filter(|pattern| {
            !names
                .iter()
                .any(|name| glob_matches(pattern.as_bytes(), name.as_bytes()))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "capi/fast-path.ld names functions that are not in .text.gpa_fast of {} (renamed, \
         moved or inlined? update the script as its header says): {missing:#?}",
        library.display()
    );
}

#[test]
fn glob_matching_follows_the_linker() {
    assert!(glob_matches(b"malloc", b"malloc"));
    assert!(!glob_matches(b"malloc", b"malloc_usable_size"));
    assert!(glob_matches(b"_Znwm*", b"_ZnwmRKSt9nothrow_t"));
    assert!(glob_matches(
        b"_ZN3gpa3gpa5small*8new_page17h*",
        b"_ZN3gpa3gpa5small51_$LT$impl$u20$gpa..gpa..GeneralPurposeAllocator$GT$8new_page17h0123456789abcdefE"
    ));
    assert!(!glob_matches(
        b"_ZN3gpa4capi6calloc17h*",
        b"_ZN3gpa4capi7realloc17h0E"
    ));
}
