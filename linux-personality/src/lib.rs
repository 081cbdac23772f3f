//! linux-personality: Linux system calls as capability invocations (skeleton; see
//! issue 5). Nothing here works yet: the crate exists so the workspace has its final
//! shape.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
