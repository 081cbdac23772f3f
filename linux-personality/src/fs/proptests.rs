//! tmpfs property tests.
