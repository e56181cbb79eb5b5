//! The allocators under test, one line each in [`ALL`].
//!
//! # Design
//! Each allocator is a `static`, wrapped in [`Under`], which implements [`Bench`] by calling
//! the generic workloads with the concrete allocator type. So every workload is compiled once
//! per allocator and calls its `GlobalAlloc` methods directly; the `dyn Bench` call happens
//! once per workload run, outside the timed region. None of these is the process's global
//! allocator: the harness's own bookkeeping uses `std`'s default and stays out of the way.
//!
//! Adding an allocator: a `static`, and one `entry(...)` line in [`ALL`].

use core::alloc::GlobalAlloc;
use std::alloc::System;

use gpa::{Config, GeneralPurposeAllocator};
use mimalloc::MiMalloc;
use tikv_jemallocator::Jemalloc;

use crate::workloads::{self, Params, Sample, Workload};

/// Runs workloads on one allocator.
pub trait Bench: Sync {
    /// Runs `w` once.
    fn run(&self, w: &Workload, p: &Params) -> Sample;
}

/// A `'static` allocator, benchmarked through its own monomorphized workloads.
pub struct Under<A: 'static>(pub &'static A);

impl<A: GlobalAlloc + Sync> Bench for Under<A> {
    fn run(&self, w: &Workload, p: &Params) -> Sample {
        workloads::run(self.0, w, p)
    }
}

/// One column of the report.
pub struct Entry {
    /// The short name used by `--alloc` and in the table.
    pub name: &'static str,
    /// What it is.
    pub about: &'static str,
    /// The workloads compiled for it.
    pub bench: &'static dyn Bench,
}

/// The allocator the ratios are taken against.
pub const BASELINE: &str = "mimalloc";

static SYSTEM: System = System;
static MIMALLOC: MiMalloc = MiMalloc;
static JEMALLOC: Jemalloc = Jemalloc;
static GPA_FAST: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config {
    safety: false,
    stack_trace_frames: 0,
    ..Config::new()
});
static GPA_DEBUG: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config {
    safety: true,
    stack_trace_frames: 6,
    ..Config::new()
});

static GPA_GUARD_SAMPLE: GeneralPurposeAllocator = GeneralPurposeAllocator::with_config(Config {
    safety: false,
    stack_trace_frames: 0,
    guard_sample: 1000,
    ..Config::new()
});

const fn entry(name: &'static str, about: &'static str, bench: &'static dyn Bench) -> Entry {
    Entry { name, about, bench }
}

/// Every allocator, in column order.
#[rustfmt::skip] // one line per allocator
pub static ALL: &[Entry] = &[
    entry("system", "std::alloc::System (glibc malloc)", &Under(&SYSTEM)),
    entry("mimalloc", "mimalloc::MiMalloc", &Under(&MIMALLOC)),
    entry("jemalloc", "tikv_jemallocator::Jemalloc", &Under(&JEMALLOC)),
    entry("gpa-fast", "gpa GPA, safety off, no traces", &Under(&GPA_FAST)),
    entry("gpa-debug", "gpa GPA, safety on, 6-frame traces", &Under(&GPA_DEBUG)),
    entry("gpa-guard-sample1000", "gpa GPA fast, about 1 in 1000 blocks guarded", &Under(&GPA_GUARD_SAMPLE)),
];

/// The allocator named `name`.
pub fn by_name(name: &str) -> Option<&'static Entry> {
    ALL.iter().find(|e| e.name == name)
}
