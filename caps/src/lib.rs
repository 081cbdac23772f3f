//! caps: Writ's seL4-style capability core (skeleton; see issue 3).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
extern crate alloc;
