//! The one error type of every netobj operation, one variant per Linux errno it stands for.
//!
//! The personality turns a `NetError` into `-errno` with [`NetError::errno`]; nothing else
//! in the crate knows numbers, so the mapping lives in exactly one place.

/// A failed socket operation, named after the Linux errno it maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetError {
    /// EAGAIN: nothing to read, no room to write, no connection to accept (nonblocking).
    WouldBlock,
    /// EINPROGRESS: a connect was started and completes asynchronously.
    InProgress,
    /// EALREADY: a connect is already in flight.
    Already,
    /// EISCONN: the socket is already connected.
    IsConnected,
    /// ENOTCONN: the operation needs a connected socket.
    NotConnected,
    /// ECONNREFUSED: the peer answered with RST (TCP) or port unreachable (UDP).
    ConnRefused,
    /// ECONNRESET: the connection was reset by the peer.
    ConnReset,
    /// ECONNABORTED: a failed connect whose error was already reported.
    ConnAborted,
    /// ETIMEDOUT: the peer never answered.
    TimedOut,
    /// EADDRINUSE: the port (or ICMP ident) is taken.
    AddrInUse,
    /// EADDRNOTAVAIL: the address is not one of this stack's, or no ephemeral port is left.
    AddrNotAvail,
    /// EINVAL: a bad argument or an operation invalid in this state.
    Invalid,
    /// EMSGSIZE: the datagram cannot be sent in one piece.
    MsgSize,
    /// EPIPE: writing after the sending half was shut down.
    BrokenPipe,
    /// EPERM: the caller's NetStack capability lacks the right (raw, packet, configure).
    PermissionDenied,
    /// EACCES: the caller's capability lacks the right (ICMP echo, privileged port, ...).
    AccessDenied,
    /// ENOBUFS: no buffer space (socket set or queues exhausted).
    NoBufs,
    /// EHOSTUNREACH: ICMP host unreachable.
    HostUnreach,
    /// ENETUNREACH: no route to the destination network.
    NetUnreach,
    /// ENOPROTOOPT: the option does not exist at this level for this socket type.
    NoProtoOpt,
    /// EOPNOTSUPP: the operation is not supported by this socket type.
    OpNotSupported,
    /// EDESTADDRREQ: sending on an unconnected datagram socket without an address.
    DestAddrRequired,
    /// ENETDOWN: the endpoint's NetStack authority was revoked; the endpoint is dead.
    NetDown,
}

impl NetError {
    /// The Linux errno (positive) this error stands for.
    pub const fn errno(&self) -> i32 {
        match self {
            NetError::WouldBlock => 11,
            NetError::InProgress => 115,
            NetError::Already => 114,
            NetError::IsConnected => 106,
            NetError::NotConnected => 107,
            NetError::ConnRefused => 111,
            NetError::ConnReset => 104,
            NetError::ConnAborted => 103,
            NetError::TimedOut => 110,
            NetError::AddrInUse => 98,
            NetError::AddrNotAvail => 99,
            NetError::Invalid => 22,
            NetError::MsgSize => 90,
            NetError::BrokenPipe => 32,
            NetError::PermissionDenied => 1,
            NetError::AccessDenied => 13,
            NetError::NoBufs => 105,
            NetError::HostUnreach => 113,
            NetError::NetUnreach => 101,
            NetError::NoProtoOpt => 92,
            NetError::OpNotSupported => 95,
            NetError::DestAddrRequired => 89,
            NetError::NetDown => 100,
        }
    }
}

/// Shorthand for results of netobj operations.
pub type NetResult<T> = Result<T, NetError>;

#[cfg(test)]
mod tests {
    use super::NetError;

    #[test]
    fn errnos_match_linux_x86_64() {
        assert_eq!(NetError::WouldBlock.errno(), 11);
        assert_eq!(NetError::InProgress.errno(), 115);
        assert_eq!(NetError::ConnRefused.errno(), 111);
        assert_eq!(NetError::AddrInUse.errno(), 98);
        assert_eq!(NetError::PermissionDenied.errno(), 1);
        assert_eq!(NetError::AccessDenied.errno(), 13);
        assert_eq!(NetError::MsgSize.errno(), 90);
    }
}
