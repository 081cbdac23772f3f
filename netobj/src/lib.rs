//! netobj: network sockets as capability objects over smoltcp (skeleton; see issue 4).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
extern crate alloc;
