//! What datagram-style endpoints (UDP, ICMP, raw, packet) share: the result of a receive
//! and the Internet checksum.

use core::net::SocketAddrV4;

/// One received datagram as recvfrom(2) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Bytes copied into the caller's buffer (the return value of recvfrom).
    pub copied: usize,
    /// The datagram's full length; larger than `copied` means MSG_TRUNC.
    pub len: usize,
    /// The sender (for ping sockets, port 0, as Linux reports).
    pub from: SocketAddrV4,
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// What an ICMP destination-unreachable message says about a datagram we sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unreachable {
    /// The protocol of the original datagram (6 TCP, 17 UDP).
    pub proto: u8,
    /// Its source port (ours).
    pub src_port: u16,
    /// Its destination.
    pub dst: SocketAddrV4,
    /// The errno Linux maps the code to (icmp_err_convert).
    pub err: crate::error::NetError,
}

/// Parse an ICMP message (starting at its header); None unless it is a destination
/// unreachable quoting at least the original IP header and 4 bytes of ports.
pub(crate) fn icmp_unreachable(icmp: &[u8]) -> Option<Unreachable> {
    use crate::error::NetError as E;
    if *icmp.first()? != 3 {
        return None;
    }
    let err = match *icmp.get(1)? {
        0 | 6 | 9 | 11 => E::NetUnreach,
        2 => E::NoProtoOpt,
        3 => E::ConnRefused,
        4 => E::MsgSize,
        5 => E::OpNotSupported,
        _ => E::HostUnreach,
    };
    let ip = icmp.get(8..)?;
    let ihl = usize::from(*ip.first()? & 0x0f) * 4;
    if ihl < 20 {
        return None;
    }
    let d = ip.get(16..20)?;
    let ports = ip.get(ihl..ihl + 4)?;
    Some(Unreachable {
        proto: *ip.get(9)?,
        src_port: u16::from_be_bytes([ports[0], ports[1]]),
        dst: SocketAddrV4::new(
            core::net::Ipv4Addr::new(d[0], d[1], d[2], d[3]),
            u16::from_be_bytes([ports[2], ports[3]]),
        ),
        err,
    })
}

/// Copy as much of `src` as fits into `dst`; returns the count.
pub(crate) fn copy_into(dst: &mut [u8], src: &[u8]) -> usize {
    let n = dst.len().min(src.len());
    dst[..n].copy_from_slice(&src[..n]);
    n
}

#[cfg(test)]
mod tests {
    use super::internet_checksum;

    #[test]
    fn checksum_of_rfc1071_example() {
        // RFC 1071 section 3 example: sum 0xddf2, checksum its complement.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(internet_checksum(&data), !0xddf2);
        // A buffer including its own checksum sums to zero.
        let mut pkt = [8u8, 0, 0, 0, 0x12, 0x34, 0, 1, 0xaa];
        let c = internet_checksum(&pkt);
        pkt[2..4].copy_from_slice(&c.to_be_bytes());
        assert_eq!(internet_checksum(&pkt), 0);
    }
}
