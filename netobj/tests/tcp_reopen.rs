//! A connection opened again on the 4-tuple of one the server closed a moment ago: the
//! server still holds the old one in TIME-WAIT and, as Linux does (RFC 1122 4.2.2.13),
//! takes the new SYN only if its sequence number lies beyond the old connection's;
//! otherwise it answers with an ACK of the old connection, the client resets that and
//! the connect waits for a SYN retransmission. smoltcp's random ISN lay behind half the
//! time: one `wget` in a few hundred against the test host hit it (ephemeral ports repeat
//! within TIME-WAIT's minute) and then stalled a second, or, with the kernel's lost
//! timer wake-up of the time, tens of seconds.

mod common;

use common::peer::*;
use common::*;
use netobj::{Duration, SockOpt};

const B_PORT: u16 = 45_000;

/// Runs one connection from B_PORT to the peer the way an HTTP fetch does (95 bytes
/// out, the server closes first) and returns the server's RCV.NXT at the end (what its
/// TIME-WAIT compares a new SYN with) and the client's ISN.
fn fetch(net: &Net, peer: &mut Peer) -> (u32, u32) {
    let c = net.b.create_tcp(root()).unwrap();
    c.set_option(SockOpt::ReuseAddr, 1).unwrap();
    c.bind(sa(B_IP, B_PORT)).unwrap();
    let _ = c.connect(sa(A_IP, P_PORT));
    let mut syn = None;
    // The first SYN waits for ARP (the peer answers it in `drain`).
    for _ in 0..50 {
        net.step(Duration::from_millis(100));
        if let Some(s) = peer.drain(&net.wire).into_iter().find(|s| s.2 & 0x02 != 0) {
            syn = Some(s);
            break;
        }
    }
    let isn = syn.expect("SYN").0;
    let p_isn = 5000u32;
    let mss = [2, 4, 0x05, 0xb4];
    net.wire.inject(
        1,
        peer.ipv4_tcp(p_isn, Some(isn + 1), 0x02, 65535, &mss, &[]),
    );
    net.run_for(Duration::from_millis(10));
    assert_eq!(c.send(&[b'G'; 95]), Ok(95));
    net.run_for(Duration::from_millis(10));
    let sent: usize = peer.drain(&net.wire).iter().map(|s| s.4).sum();
    assert_eq!(sent, 95);
    // The server answers and closes first (FIN), so it is the one left in TIME-WAIT.
    net.wire.inject(
        1,
        peer.ipv4_tcp(p_isn + 1, Some(isn + 96), 0x01, 65535, &[], &[]),
    );
    net.run_for(Duration::from_millis(10));
    drop(c);
    net.run_for(Duration::from_millis(10));
    let fin = peer
        .drain(&net.wire)
        .into_iter()
        .find(|s| s.2 & 0x01 != 0)
        .expect("the client's FIN");
    net.wire.inject(
        1,
        peer.ipv4_tcp(p_isn + 2, Some(fin.0 + 1), 0, 65535, &[], &[]),
    );
    net.run_for(Duration::from_millis(10));
    (fin.0 + 1, isn)
}

#[test]
fn a_reopened_connection_starts_beyond_the_old_ones_sequence_numbers() {
    let (net, mut peer) = scripted(B_PORT);
    let (mut rcv_nxt, _) = fetch(&net, &mut peer);
    // Reopened after pauses from nothing to most of TIME-WAIT's minute; with a random
    // ISN each passes by chance one time in two.
    for pause_ms in [0, 1, 7, 40, 150, 900, 2_500, 13_000, 31_000, 59_000] {
        net.run_for(Duration::from_millis(pause_ms));
        let (next_rcv_nxt, isn) = fetch(&net, &mut peer);
        assert!(
            (isn.wrapping_sub(rcv_nxt) as i32) > 0,
            "after {pause_ms} ms: ISN {isn} is not beyond the TIME-WAIT's RCV.NXT {rcv_nxt}"
        );
        rcv_nxt = next_rcv_nxt;
    }
}
