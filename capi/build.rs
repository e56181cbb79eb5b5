//! Link settings of the preload library that keep its footprint in a program small (peak RSS
//! counts the library's pages a process touches; docs/performance.md, "Fast mode: peak RSS"):
//!
//! * The unwinder comes from `libgcc_eh.a` (linked in, hidden by the library's export list)
//!   when the C compiler has it, so that preloading gpa does not also load `libgcc_s.so.1`
//!   (about 100 KiB resident) into every program. Rust's standard library asks for
//!   `-lgcc_s`; the static archive comes first on the link line, so the linker resolves the
//!   `_Unwind_*` symbols there and drops the unneeded shared library (`--as-needed`).
//! * `fast-path.ld` places the code fast mode runs together ahead of the rest of `.text`; the
//!   script given to the linker is that file, with the PLT added to the section when a small
//!   probe link shows that the linker accepts it (lld does; GNU ld fails such a link).
//! * Relative relocations are packed (`-z pack-relative-relocs`, DT_RELR, glibc 2.36 and
//!   GNU ld 2.38 or lld 15) when a probe link accepts the flag: the dynamic loader reads every
//!   relocation at start-up, and 2,188 `R_X86_64_RELATIVE` entries of 24 bytes each were
//!   13 resident pages in every program (bench/c/cfrac: 52 KiB of its 1.9 MiB).
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=fast-path.ld");
    println!("cargo:rerun-if-env-changed=CC");
    let target = std::env::var("TARGET").unwrap_or_default();
    if !(target.contains("linux") && target.contains("gnu")) {
        return;
    }
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    if let Ok(out) = Command::new(compiler)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    {
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if let (true, Some(dir)) = (path.is_absolute() && path.exists(), path.parent()) {
            println!("cargo:rustc-link-search=native={}", dir.display());
            println!("cargo:rustc-link-lib=static=gcc_eh");
        }
    }
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let script = std::fs::read_to_string(manifest.join("fast-path.ld")).expect("fast-path.ld");
    let plt = if linker_accepts_plt(&out_dir, &target) {
        "*(.plt)"
    } else {
        "/* the PLT: not accepted by this linker */"
    };
    let script = script.replace(
        "/* @PLT@ (capi/build.rs puts the PLT here when the linker accepts it) */",
        plt,
    );
    let path = out_dir.join("fast-path.ld");
    std::fs::write(&path, script).expect("write the linker script");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-T,{}", path.display());
    if linker_accepts_relr(&out_dir, &target) {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether a one-function `cdylib` links with `-z pack-relative-relocs` and comes out with
/// packed relocations (a `DT_RELR` entry; a linker that ignores the flag adds none), with the
/// build's own flags and linker. GNU ld fails the link when the C library lacks
/// `GLIBC_ABI_DT_RELR` (glibc before 2.36), whose loader could not read them.
fn linker_accepts_relr(out_dir: &Path, target: &str) -> bool {
    let source = out_dir.join("relr_probe.rs");
    // A static holding a pointer: a relative relocation to pack.
    if std::fs::write(
        &source,
        "#[no_mangle]\npub static GPA_RELR_PROBE: &u8 = &7;\n\
         #[no_mangle]\npub extern \"C\" fn gpa_relr_probe() -> u8 { *GPA_RELR_PROBE }\n",
    )
    .is_err()
    {
        return false;
    }
    let output = out_dir.join("libgpa_relr_probe.so");
    if !probe_links(
        target,
        "gpa_relr_probe",
        &source,
        &output,
        "-Clink-arg=-Wl,-z,pack-relative-relocs",
    ) {
        return false;
    }
    // The dynamic section's tag DT_RELR (36) as a little-endian 8-byte word at an 8-byte
    // boundary: present only when the linker packed the relocations.
    std::fs::read(&output).is_ok_and(|bytes| has_relr_tag(&bytes))
}

/// Whether an ELF64 little-endian shared object's dynamic section has a `DT_RELR` entry.
fn has_relr_tag(elf: &[u8]) -> bool {
    const DT_RELR: u64 = 36;
    const PT_DYNAMIC: u32 = 2;
    let word = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(elf.get(at..at + 8)?.try_into().ok()?))
    };
    let half = |at: usize| -> Option<u16> {
        Some(u16::from_le_bytes(elf.get(at..at + 2)?.try_into().ok()?))
    };
    let found = || -> Option<bool> {
        if elf.get(0..6)? != b"\x7fELF\x02\x01" {
            return Some(false);
        }
        let (phoff, phentsize, phnum) = (word(0x20)? as usize, half(0x36)?, half(0x3c)?);
        for index in 0..usize::from(phnum) {
            let header = phoff + index * usize::from(phentsize);
            if u32::from_le_bytes(elf.get(header..header + 4)?.try_into().ok()?) != PT_DYNAMIC {
                continue;
            }
            let (offset, size) = (word(header + 8)? as usize, word(header + 32)? as usize);
            return Some((0..size / 16).any(|entry| word(offset + entry * 16) == Some(DT_RELR)));
        }
        Some(false)
    };
    found().unwrap_or(false)
}

/// Whether the linker rustc uses for this build accepts `.plt` in a script's output section:
/// links a one-function `cdylib` with such a script, with the build's own flags and linker.
fn linker_accepts_plt(out_dir: &Path, target: &str) -> bool {
    let source = out_dir.join("plt_probe.rs");
    let script = out_dir.join("plt_probe.ld");
    let written = std::fs::write(
        &source,
        "#[no_mangle]\npub extern \"C\" fn gpa_plt_probe() -> usize { std::env::args().count() }\n",
    )
    .and_then(|()| {
        std::fs::write(
            &script,
            "SECTIONS { .text.gpa_probe : { *(.text.*gpa_plt_probe*) *(.plt) } } \
             INSERT BEFORE .text;\n",
        )
    });
    if written.is_err() {
        return false;
    }
    probe_links(
        target,
        "gpa_plt_probe",
        &source,
        &out_dir.join("libgpa_plt_probe.so"),
        &format!("-Clink-arg=-Wl,-T,{}", script.display()),
    )
}

/// Whether rustc links `source` as the `cdylib` `name` into `output` with the extra argument
/// `extra`, with the build's own flags and linker (a probe of what the linker accepts).
fn probe_links(target: &str, name: &str, source: &Path, output: &Path, extra: &str) -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let mut probe = Command::new(rustc);
    probe
        .args(["--crate-type", "cdylib", "--crate-name", name])
        .args(["--target", target, "-C", "opt-level=0", "-o"])
        .arg(output)
        .arg(extra)
        .arg(source)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Ok(linker) = std::env::var("RUSTC_LINKER") {
        probe.arg(format!("-Clinker={linker}"));
    }
    if let Ok(flags) = std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        probe.args(flags.split('\x1f').filter(|flag| !flag.is_empty()));
    }
    probe.status().is_ok_and(|status| status.success())
}
