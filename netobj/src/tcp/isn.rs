//! Initial sequence numbers of connections we open: clock-driven, as RFC 9293 requires
//! (MUST-8; the form of RFC 6528): ISN = M + F(local, remote, secret), M a clock that
//! ticks every 62.5 ns (Linux's ticks every 64 ns), F a keyed hash of the 4-tuple.
//!
//! Why not smoltcp's random ISN: a server that closed the previous connection on the same
//! 4-tuple holds it in TIME-WAIT (60 s on Linux) and accepts a new SYN there only if its
//! sequence number is beyond the old connection's (RFC 1122 4.2.2.13). A random ISN is
//! behind it half the time: the server answers the SYN with an ACK for the old
//! connection, we reset that, and the connect waits a SYN retransmission (1 s at best).
//! Ephemeral ports repeat within a minute often enough for that to hit one `wget` in a
//! few hundred against the test host. A clock-driven ISN moves on by 16 per microsecond,
//! so a new connection on the same 4-tuple starts beyond the old one unless that one sent
//! more than 16 bytes per microsecond of its life (as with Linux, whose clock runs at
//! about the same rate).

use core::net::SocketAddrV4;

use smoltcp::time::Instant;

/// The ISN for a connection from `local` to `remote` opened at `now`.
pub(crate) fn initial_seq(
    secret: u64,
    local: SocketAddrV4,
    remote: SocketAddrV4,
    now: Instant,
) -> u32 {
    let words = [
        u64::from(local.ip().to_bits()) << 32 | u64::from(remote.ip().to_bits()),
        u64::from(local.port()) << 16 | u64::from(remote.port()),
    ];
    let mut h = mix(secret ^ 0x6973_6e5f_6b65_7921);
    for w in words {
        h = mix(h ^ w);
    }
    let clock = (now.total_micros() as u64).wrapping_mul(16);
    (h as u32).wrapping_add(clock as u32)
}

/// The splitmix64 finalizer: every input bit affects every output bit.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    fn sa(a: u8, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, a), port)
    }

    #[test]
    fn same_tuple_moves_on_with_the_clock_and_tuples_differ() {
        let (l, r) = (sa(2, 40_000), sa(1, 80));
        let t0 = Instant::from_secs(5);
        let a = initial_seq(7, l, r, t0);
        let b = initial_seq(7, l, r, t0 + smoltcp::time::Duration::from_millis(1));
        assert_eq!(b.wrapping_sub(a), 16_000);
        // Another port, peer or secret: unrelated numbers.
        assert_ne!(initial_seq(7, sa(2, 40_001), r, t0), a);
        assert_ne!(initial_seq(7, l, sa(3, 80), t0), a);
        assert_ne!(initial_seq(8, l, r, t0), a);
    }
}
