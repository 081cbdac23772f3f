//! Receive offloads a driver may negotiate (virtio-net's GUEST_CSUM and GUEST_TSO4):
//! the host then hands over TCP segments of up to 64 KiB as one frame, with the
//! transport checksum only partially computed (virtio's `NEEDS_CSUM`) or already
//! verified (`DATA_VALID`, where the checksum field may be stale). smoltcp verifies
//! every checksum it receives, so the driver completes it here first: what reaches the
//! stack is a frame with a correct checksum, exactly as if it had crossed a wire.
//!
//! One large frame instead of some forty 1514-byte ones is what makes the receive path
//! cheap on both sides of the emulated device (Linux guests use the same offloads).

/// The ones-complement sum (RFC 1071) of `data`, folded to 16 bits, not complemented,
/// as a big-endian value. Sums 8 bytes at a time in native order (RFC 1071 2(B): the
/// sum is byte-order independent) so it costs little per byte.
pub fn ones_sum(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        // Two 32-bit halves into a 64-bit accumulator: no carry is lost before 2^32
        // words, far beyond any frame.
        acc += (w & 0xffff_ffff) + (w >> 32);
    }
    let mut rest = chunks.remainder();
    while rest.len() >= 2 {
        acc += u64::from(u16::from_ne_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
    }
    if let [last] = rest {
        // A trailing odd byte is the first byte of a word padded with zero.
        acc += u64::from(u16::from_ne_bytes([*last, 0]));
    }
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // The folded sum has the bytes in memory order; read them as a big-endian word.
    u16::from_be_bytes((acc as u16).to_ne_bytes())
}

/// Completes a partial checksum (virtio-net `VIRTIO_NET_HDR_F_NEEDS_CSUM`): the 16-bit
/// field at `start + offset` holds the pseudo-header sum; the ones-complement sum from
/// `start` to the end of `frame` is computed and its complement stored there. False
/// (frame unchanged) if the offsets lie outside the frame.
pub fn complete_partial(frame: &mut [u8], start: usize, offset: usize) -> bool {
    let Some(field) = start.checked_add(offset) else {
        return false;
    };
    if start >= frame.len() || field.saturating_add(2) > frame.len() {
        return false;
    }
    let sum = !ones_sum(&frame[start..]);
    // UDP sends a computed zero as all ones (zero means "no checksum"); for TCP both
    // encode the same value, so this is right for either.
    let sum = if sum == 0 { 0xffff } else { sum };
    frame[field..field + 2].copy_from_slice(&sum.to_be_bytes());
    true
}

const ETH_HEADER: usize = 14;

/// Recomputes the TCP or UDP checksum of an Ethernet/IPv4 frame whose transport
/// checksum the device already verified (`VIRTIO_NET_HDR_F_DATA_VALID`): a segment the
/// host merged (GRO) keeps its first part's checksum field. Other frames are left alone.
pub fn refresh_valid(frame: &mut [u8]) -> bool {
    if frame.len() < ETH_HEADER + 20 || frame[12..14] != [0x08, 0x00] {
        return false;
    }
    let ip = &frame[ETH_HEADER..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let fragmented = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0;
    let field = match ip[9] {
        6 => 16,
        17 => 6,
        _ => return false,
    };
    if ip[0] >> 4 != 4 || ihl < 20 || total < ihl + field + 2 || total > ip.len() || fragmented {
        return false;
    }
    let proto = ip[9];
    let len = (total - ihl) as u16;
    let mut pseudo = [0u8; 12];
    pseudo[..8].copy_from_slice(&ip[12..20]);
    pseudo[9] = proto;
    pseudo[10..].copy_from_slice(&len.to_be_bytes());
    let start = ETH_HEADER + ihl;
    let end = ETH_HEADER + total;
    frame[start + field..start + field + 2].copy_from_slice(&ones_sum(&pseudo).to_be_bytes());
    complete_partial(&mut frame[..end], start, field)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::internet_checksum;

    #[test]
    fn ones_sum_matches_the_reference_for_every_length_and_alignment() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + i / 3) as u8 ^ 0xa5).collect();
        for start in 0..9 {
            for end in start..data.len() {
                let d = &data[start..end];
                assert_eq!(!ones_sum(d), internet_checksum(d), "{start}..{end}");
            }
        }
        assert_eq!(ones_sum(&[0xff; 64]), 0xffff);
    }

    /// The vendored smoltcp's checksum loop is patched for speed (README.WRIT.md):
    /// it must still give the reference sum.
    #[test]
    fn smoltcp_checksum_data_matches_the_reference() {
        let data: Vec<u8> = (0..70_000u32).map(|i| (i * 13 + i / 7) as u8).collect();
        for start in 0..9 {
            for end in (start..300).chain([1514, 65_535, 65_536, 70_000]) {
                let d = &data[start..end];
                assert_eq!(
                    !smoltcp::wire::checksum::data(d),
                    internet_checksum(d),
                    "{start}..{end}"
                );
            }
        }
        assert_eq!(smoltcp::wire::checksum::data(&[0xff; 100_000]), 0xffff);
    }

    /// An Ethernet/IPv4/TCP frame with `payload`, its TCP checksum correct.
    fn tcp_frame(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let total = (20 + 20 + payload.len()) as u16;
        let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&[192, 168, 77, 1, 192, 168, 77, 50]);
        let c = internet_checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&80u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&40000u16.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = 0x18;
        tcp.extend_from_slice(payload);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&[192, 168, 77, 1, 192, 168, 77, 50, 0, 6]);
        pseudo.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
        pseudo.extend_from_slice(&tcp);
        let c = internet_checksum(&pseudo);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&tcp);
        f
    }

    #[test]
    fn a_partial_checksum_is_completed_to_the_real_one() {
        for n in [0, 1, 2, 1459, 1460, 65_000] {
            let payload: Vec<u8> = (0..n).map(|i| (i * 31 + 5) as u8).collect();
            let good = tcp_frame(&payload);
            // What the host hands over: the pseudo-header sum, not complemented.
            let mut partial = good.clone();
            let mut pseudo = [0u8; 12];
            pseudo[..8].copy_from_slice(&good[26..34]);
            pseudo[9] = 6;
            pseudo[10..].copy_from_slice(&((20 + n) as u16).to_be_bytes());
            partial[50..52].copy_from_slice(&ones_sum(&pseudo).to_be_bytes());
            assert!(complete_partial(&mut partial, 34, 16));
            assert_eq!(partial, good, "payload {n}");
            // A stale checksum (merged segments) is recomputed.
            let mut stale = good.clone();
            stale[50..52].copy_from_slice(&[0x12, 0x34]);
            assert!(refresh_valid(&mut stale));
            assert_eq!(stale, good, "payload {n}");
        }
    }

    #[test]
    fn offsets_outside_the_frame_and_other_frames_are_left_alone() {
        let good = tcp_frame(b"hello");
        let mut f = good.clone();
        assert!(!complete_partial(&mut f, 34, 100));
        assert!(!complete_partial(&mut f, 500, 6));
        assert!(!complete_partial(&mut f, usize::MAX, 6));
        assert_eq!(f, good);
        let mut arp = good.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(!refresh_valid(&mut arp));
        let mut short = good[..40].to_vec();
        assert!(!refresh_valid(&mut short));
        // An IP total length beyond the frame.
        let mut long = good.clone();
        long[16..18].copy_from_slice(&5000u16.to_be_bytes());
        assert!(!refresh_valid(&mut long));
    }
}
