//! Conformance registrations for the general-purpose allocator configurations; filled by the GPA owner.
