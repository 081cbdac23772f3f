//! Readiness as Linux `poll` reports it, and the wakers that are told when it changes.
//!
//! Bits carry Linux's values so the personality can hand them to user space unchanged.
//! A waker is a `core::task::Waker` the kernel registers on an endpoint (its wait queue);
//! `NetStack::poll` wakes it whenever the endpoint's readiness gains a bit it did not have
//! when last looked at, which is the only moment a sleeper can need to wake.

use bitflags::bitflags;

bitflags! {
    /// Linux poll bits.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Readiness: u16 {
        /// Data (or an EOF, or a connection to accept) can be read.
        const IN = 0x001;
        /// Urgent data (never set: no out-of-band support, as most Linux programs expect).
        const PRI = 0x002;
        /// Data can be written.
        const OUT = 0x004;
        /// An error is pending (SO_ERROR).
        const ERR = 0x008;
        /// Hung up: both directions are closed.
        const HUP = 0x010;
        /// Same as IN for normal data.
        const RDNORM = 0x040;
        /// Same as OUT for normal data.
        const WRNORM = 0x100;
        /// The peer shut down its sending half (FIN received).
        const RDHUP = 0x2000;
    }
}

impl Readiness {
    /// IN with RDNORM, as Linux always reports them together.
    pub const READABLE: Readiness = Readiness::IN.union(Readiness::RDNORM);
    /// OUT with WRNORM, as Linux always reports them together.
    pub const WRITABLE: Readiness = Readiness::OUT.union(Readiness::WRNORM);
}
