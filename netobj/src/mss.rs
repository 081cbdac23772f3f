//! MSS clamping on the device path, so loopback can run with a 64 KiB MTU.
//!
//! smoltcp has one MTU per interface and derives the TCP MSS it advertises and sends
//! with from it. The interface runs with Linux's loopback MTU (65535) so local TCP and
//! big local datagrams work as on Linux; for connections over the device, the link then
//! clamps the MSS option of every SYN crossing it, in both directions, to what the
//! device carries (device MTU - 40), as a router clamping MSS would. Segments on the
//! wire thus never exceed the device MTU, whatever either side's interface says.

/// Clamp the MSS option of a TCP SYN in an Ethernet/IPv4 frame to `max_mss`, fixing
/// the TCP checksum incrementally (RFC 1624). Anything else is left alone.
pub(crate) fn clamp_mss(frame: &mut [u8], max_mss: u16) {
    if frame.get(12..14) != Some(&[0x08, 0x00][..]) || frame.len() < 14 + 20 {
        return;
    }
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let fragment_offset = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
    if ip[0] >> 4 != 4 || ip[9] != 6 || ihl < 20 || fragment_offset != 0 {
        return;
    }
    let t = 14 + ihl;
    let Some(&flags) = frame.get(t + 13) else {
        return;
    };
    if flags & 0x02 == 0 {
        return;
    }
    let doff = usize::from(frame[t + 12] >> 4) * 4;
    let Some(options) = frame.get(t + 20..t + doff) else {
        return;
    };
    let mut i = 0;
    while i < options.len() {
        match options[i] {
            0 => return,
            1 => i += 1,
            kind => {
                let Some(&len) = options.get(i + 1) else {
                    return;
                };
                let len = usize::from(len);
                if len < 2 || i + len > options.len() {
                    return;
                }
                if kind == 2 && len == 4 {
                    let at = t + 20 + i + 2;
                    let old = u16::from_be_bytes([frame[at], frame[at + 1]]);
                    if old > max_mss {
                        frame[at..at + 2].copy_from_slice(&max_mss.to_be_bytes());
                        let sum = u16::from_be_bytes([frame[t + 16], frame[t + 17]]);
                        let new = adjust_checksum(sum, old, max_mss);
                        frame[t + 16..t + 18].copy_from_slice(&new.to_be_bytes());
                    }
                    return;
                }
                i += len;
            }
        }
    }
}

/// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m').
fn adjust_checksum(sum: u16, old: u16, new: u16) -> u16 {
    let mut s = u32::from(!sum) + u32::from(!old) + u32::from(new);
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datagram::internet_checksum;

    /// An Ethernet/IPv4/TCP SYN with an MSS option, its checksum valid.
    fn syn(mss: u16) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let mut ip = vec![
            0x45, 0, 0, 48, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1,
        ];
        let c = internet_checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let mut tcp = vec![
            0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x70, 0x02, 0xff, 0xff, 0, 0, 0, 0,
        ];
        tcp.extend_from_slice(&[1, 1, 2, 4]);
        tcp.extend_from_slice(&mss.to_be_bytes());
        tcp.extend_from_slice(&[1, 1, 1, 0]);
        let c = tcp_checksum(&ip, &tcp);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&tcp);
        f
    }

    fn tcp_checksum(ip: &[u8], tcp: &[u8]) -> u16 {
        let mut p = ip[12..20].to_vec();
        p.extend_from_slice(&[0, 6]);
        p.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        p.extend_from_slice(tcp);
        internet_checksum(&p)
    }

    #[test]
    fn clamps_the_mss_and_keeps_the_checksum_valid() {
        let mut f = syn(65_495);
        clamp_mss(&mut f, 1460);
        assert_eq!(&f[14 + 20 + 24..14 + 20 + 26], &1460u16.to_be_bytes());
        let (ip, tcp) = f[14..].split_at(20);
        let mut zeroed = tcp.to_vec();
        zeroed[16..18].copy_from_slice(&[0, 0]);
        assert_eq!(tcp_checksum(ip, &zeroed).to_be_bytes(), [tcp[16], tcp[17]]);
        // Smaller MSS and non-SYN segments stay as they are.
        let mut small = syn(536);
        let before = small.clone();
        clamp_mss(&mut small, 1460);
        assert_eq!(small, before);
        let mut ack = syn(9000);
        ack[14 + 20 + 13] = 0x10;
        let before = ack.clone();
        clamp_mss(&mut ack, 1460);
        assert_eq!(ack, before);
        // Truncated frames are ignored, never indexed past their end.
        for n in 0..f.len() {
            let mut t = syn(9000)[..n].to_vec();
            clamp_mss(&mut t, 1460);
        }
    }
}
