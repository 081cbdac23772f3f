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
