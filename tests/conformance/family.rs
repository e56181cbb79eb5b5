//! Conformance registrations for the allocator family (pool, buffer-first, thread-safe, validating, failing); filled by their owners.
