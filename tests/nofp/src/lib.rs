//! A crate built without frame pointers, for gpa's trace tests (see `tests/` and the gpa
//! crate's `tests/nofp.rs`, which builds it in debug and release with no rustflags).

pub mod shapes;
