//! tmpfs unit tests.
