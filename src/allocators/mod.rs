//! The simple allocators, one module each. Every one implements [`crate::RawAllocator`],
//! offers `.allocator()`, and implements `allocator_api2::alloc::Allocator` for `&Self`.

pub mod arena;
pub mod buffer_first;
pub mod failing;
pub mod fixed_buffer;
pub mod page;
pub mod pool;
pub mod thread_safe;
pub mod validating;

pub use arena::*;
pub use buffer_first::*;
pub use failing::*;
pub use fixed_buffer::*;
pub use page::*;
pub use pool::*;
pub use thread_safe::*;
pub use validating::*;
