//! Link settings of the preload library that keep its footprint in a program small (peak RSS
//! counts the library's pages a process touches; docs/performance.md, "Fast mode: peak RSS"):
//!
//! * The unwinder comes from `libgcc_eh.a` (linked in, hidden by the library's export list)
//!   when the C compiler has it, so that preloading gpa does not also load `libgcc_s.so.1`
//!   (about 100 KiB resident) into every program. Rust's standard library asks for
//!   `-lgcc_s`; the static archive comes first on the link line, so the linker resolves the
//!   `_Unwind_*` symbols there and drops the unneeded shared library (`--as-needed`).
//! * `fast-path.ld` places the code fast mode runs together ahead of the rest of `.text`.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=fast-path.ld");
    let target = std::env::var("TARGET").unwrap_or_default();
    if !(target.contains("linux") && target.contains("gnu")) {
        return;
    }
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    if let Ok(out) = Command::new(compiler).arg("-print-file-name=libgcc_eh.a").output() {
        let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if let (true, Some(dir)) = (path.is_absolute() && path.exists(), path.parent()) {
            println!("cargo:rustc-link-search=native={}", dir.display());
            println!("cargo:rustc-link-lib=static=gcc_eh");
        }
    }
    let script = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("fast-path.ld");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-T,{}", script.display());
}
