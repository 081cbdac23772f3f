//! Socket options: the typed form of `setsockopt`/`getsockopt` and Linux's rules for them.
//!
//! The personality decodes (level, name) into a [`SockOpt`]; options the stack does not know
//! never reach it (ENOPROTOOPT is the personality's answer). Values are Linux `int`s.
//! Buffer sizes follow Linux exactly: the value set is clamped to `net.core.{r,w}mem_max`
//! and doubled (for bookkeeping overhead), with a floor, and that doubled value is what
//! `getsockopt` returns.

use crate::error::{NetError, NetResult};

/// Linux `net.core.rmem_max` / `wmem_max` defaults.
pub const RMEM_MAX: u32 = 212_992;
/// Linux `net.core.wmem_max` default.
pub const WMEM_MAX: u32 = 212_992;
/// Linux SOCK_MIN_RCVBUF on x86_64 (2048 + aligned sizeof(sk_buff)).
pub const SOCK_MIN_RCVBUF: u32 = 2304;
/// Linux SOCK_MIN_SNDBUF (twice SOCK_MIN_RCVBUF).
pub const SOCK_MIN_SNDBUF: u32 = 4608;

/// A socket option the stack implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockOpt {
    /// SOL_SOCKET SO_REUSEADDR.
    ReuseAddr,
    /// SOL_SOCKET SO_KEEPALIVE.
    KeepAlive,
    /// SOL_SOCKET SO_RCVBUF.
    RcvBuf,
    /// SOL_SOCKET SO_SNDBUF.
    SndBuf,
    /// SOL_SOCKET SO_ERROR (read-only; reading clears it).
    Error,
    /// SOL_SOCKET SO_TYPE (read-only).
    Type,
    /// SOL_SOCKET SO_ACCEPTCONN (read-only).
    AcceptConn,
    /// SOL_SOCKET SO_BROADCAST.
    Broadcast,
    /// SOL_TCP TCP_NODELAY.
    TcpNoDelay,
    /// SOL_TCP TCP_KEEPIDLE (seconds).
    TcpKeepIdle,
    /// SOL_TCP TCP_KEEPINTVL (seconds).
    TcpKeepIntvl,
    /// SOL_TCP TCP_KEEPCNT.
    TcpKeepCnt,
    /// SOL_IP IP_TTL.
    IpTtl,
    /// SOL_IP IP_RECVTTL (accepted and remembered; no control messages yet).
    IpRecvTtl,
    /// SOL_IP IP_RETOPTS (accepted and remembered).
    IpRetOpts,
}

impl SockOpt {
    /// The option Linux names (level, optname) on x86_64, if the stack implements it.
    pub const fn from_linux(level: i32, name: i32) -> Option<SockOpt> {
        const SOL_IP: i32 = 0;
        const SOL_SOCKET: i32 = 1;
        const SOL_TCP: i32 = 6;
        Some(match (level, name) {
            (SOL_SOCKET, 2) => SockOpt::ReuseAddr,
            (SOL_SOCKET, 3) => SockOpt::Type,
            (SOL_SOCKET, 4) => SockOpt::Error,
            (SOL_SOCKET, 6) => SockOpt::Broadcast,
            (SOL_SOCKET, 7) => SockOpt::SndBuf,
            (SOL_SOCKET, 8) => SockOpt::RcvBuf,
            (SOL_SOCKET, 9) => SockOpt::KeepAlive,
            (SOL_SOCKET, 30) => SockOpt::AcceptConn,
            (SOL_IP, 2) => SockOpt::IpTtl,
            (SOL_IP, 7) => SockOpt::IpRetOpts,
            (SOL_IP, 12) => SockOpt::IpRecvTtl,
            (SOL_TCP, 1) => SockOpt::TcpNoDelay,
            (SOL_TCP, 4) => SockOpt::TcpKeepIdle,
            (SOL_TCP, 5) => SockOpt::TcpKeepIntvl,
            (SOL_TCP, 6) => SockOpt::TcpKeepCnt,
            _ => return None,
        })
    }

    /// Options at the SOL_TCP level, which only stream sockets have.
    pub const fn is_tcp_level(self) -> bool {
        matches!(
            self,
            SockOpt::TcpNoDelay
                | SockOpt::TcpKeepIdle
                | SockOpt::TcpKeepIntvl
                | SockOpt::TcpKeepCnt
        )
    }
}

/// The kind of socket, for SO_TYPE and the buffer defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockKind {
    /// SOCK_STREAM (1).
    Stream,
    /// SOCK_DGRAM (2).
    Dgram,
    /// SOCK_RAW (3).
    Raw,
}

impl SockKind {
    const fn linux_type(self) -> i32 {
        match self {
            SockKind::Stream => 1,
            SockKind::Dgram => 2,
            SockKind::Raw => 3,
        }
    }
}

/// The option values every endpoint keeps, with Linux's defaults.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    pub kind: SockKind,
    pub reuse_addr: bool,
    pub keepalive: bool,
    pub rcvbuf: Option<u32>,
    pub sndbuf: Option<u32>,
    pub broadcast: bool,
    pub nodelay: bool,
    pub keepidle: u32,
    pub keepintvl: u32,
    pub keepcnt: u32,
    pub ttl: u8,
    pub recvttl: bool,
    pub retopts: bool,
}

impl Options {
    pub fn new(kind: SockKind) -> Options {
        Options {
            kind,
            reuse_addr: false,
            keepalive: false,
            rcvbuf: None,
            sndbuf: None,
            broadcast: false,
            nodelay: false,
            keepidle: 7200,
            keepintvl: 75,
            keepcnt: 9,
            ttl: 64,
            recvttl: false,
            retopts: false,
        }
    }

    /// SO_RCVBUF as getsockopt reports it.
    pub fn rcvbuf_value(&self) -> u32 {
        match self.rcvbuf {
            Some(v) => (v.min(RMEM_MAX) * 2).max(SOCK_MIN_RCVBUF),
            None if self.kind == SockKind::Stream => 131_072,
            None => 212_992,
        }
    }

    /// SO_SNDBUF as getsockopt reports it.
    pub fn sndbuf_value(&self) -> u32 {
        match self.sndbuf {
            Some(v) => (v.min(WMEM_MAX) * 2).max(SOCK_MIN_SNDBUF),
            None if self.kind == SockKind::Stream => 16_384,
            None => 212_992,
        }
    }

    /// Apply a generic option (anything but SO_ERROR and SO_ACCEPTCONN, which the endpoint
    /// answers itself). TCP-level options on non-stream sockets fail with ENOPROTOOPT.
    pub fn set(&mut self, opt: SockOpt, value: i32) -> NetResult<()> {
        if opt.is_tcp_level() && self.kind != SockKind::Stream {
            return Err(NetError::NoProtoOpt);
        }
        let flag = value != 0;
        // Linux treats negative buffer sizes as huge unsigned ones, then clamps them.
        let size = if value < 0 { u32::MAX } else { value as u32 };
        match opt {
            SockOpt::ReuseAddr => self.reuse_addr = flag,
            SockOpt::KeepAlive => self.keepalive = flag,
            SockOpt::RcvBuf => self.rcvbuf = Some(size),
            SockOpt::SndBuf => self.sndbuf = Some(size),
            SockOpt::Broadcast => self.broadcast = flag,
            SockOpt::TcpNoDelay => self.nodelay = flag,
            SockOpt::TcpKeepIdle => self.keepidle = secs(value, 32_767)?,
            SockOpt::TcpKeepIntvl => self.keepintvl = secs(value, 32_767)?,
            SockOpt::TcpKeepCnt => self.keepcnt = secs(value, 127)?,
            SockOpt::IpTtl => {
                self.ttl = match value {
                    -1 => 64,
                    1..=255 => value as u8,
                    _ => return Err(NetError::Invalid),
                }
            }
            SockOpt::IpRecvTtl => self.recvttl = flag,
            SockOpt::IpRetOpts => self.retopts = flag,
            SockOpt::Error | SockOpt::Type | SockOpt::AcceptConn => {
                return Err(NetError::NoProtoOpt)
            }
        }
        Ok(())
    }

    /// Read a generic option (SO_ERROR and SO_ACCEPTCONN are answered by the endpoint).
    pub fn get(&self, opt: SockOpt) -> NetResult<i32> {
        if opt.is_tcp_level() && self.kind != SockKind::Stream {
            return Err(NetError::NoProtoOpt);
        }
        Ok(match opt {
            SockOpt::ReuseAddr => self.reuse_addr as i32,
            SockOpt::KeepAlive => self.keepalive as i32,
            SockOpt::RcvBuf => self.rcvbuf_value() as i32,
            SockOpt::SndBuf => self.sndbuf_value() as i32,
            SockOpt::Broadcast => self.broadcast as i32,
            SockOpt::TcpNoDelay => self.nodelay as i32,
            SockOpt::TcpKeepIdle => self.keepidle as i32,
            SockOpt::TcpKeepIntvl => self.keepintvl as i32,
            SockOpt::TcpKeepCnt => self.keepcnt as i32,
            SockOpt::IpTtl => self.ttl as i32,
            SockOpt::IpRecvTtl => self.recvttl as i32,
            SockOpt::IpRetOpts => self.retopts as i32,
            SockOpt::Type => self.kind.linux_type(),
            SockOpt::Error | SockOpt::AcceptConn => 0,
        })
    }
}

fn secs(value: i32, max: i32) -> NetResult<u32> {
    if (1..=max).contains(&value) {
        Ok(value as u32)
    } else {
        Err(NetError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_sizes_read_back_doubled_and_clamped_like_linux() {
        let mut o = Options::new(SockKind::Dgram);
        assert_eq!(o.get(SockOpt::RcvBuf), Ok(212_992));
        o.set(SockOpt::RcvBuf, 7280).unwrap();
        assert_eq!(o.get(SockOpt::RcvBuf), Ok(14_560));
        o.set(SockOpt::RcvBuf, 1).unwrap();
        assert_eq!(o.get(SockOpt::RcvBuf), Ok(2304));
        o.set(SockOpt::SndBuf, 10_000_000).unwrap();
        assert_eq!(o.get(SockOpt::SndBuf), Ok(425_984));
        let t = Options::new(SockKind::Stream);
        assert_eq!(t.get(SockOpt::RcvBuf), Ok(131_072));
        assert_eq!(t.get(SockOpt::SndBuf), Ok(16_384));
    }

    #[test]
    fn tcp_options_validate_and_belong_to_streams() {
        let mut t = Options::new(SockKind::Stream);
        assert_eq!(t.set(SockOpt::TcpKeepIdle, 0), Err(NetError::Invalid));
        assert_eq!(t.set(SockOpt::TcpKeepCnt, 128), Err(NetError::Invalid));
        t.set(SockOpt::TcpKeepIdle, 60).unwrap();
        assert_eq!(t.get(SockOpt::TcpKeepIdle), Ok(60));
        let mut u = Options::new(SockKind::Dgram);
        assert_eq!(u.set(SockOpt::TcpNoDelay, 1), Err(NetError::NoProtoOpt));
        assert_eq!(u.get(SockOpt::Type), Ok(2));
    }
}
