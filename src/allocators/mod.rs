//! The simple allocators, one module each. Every one implements [`crate::RawAllocator`],
//! offers `.allocator()`, and implements `allocator_api2::alloc::Allocator` for `&Self`.

pub mod page;

pub use page::*;
