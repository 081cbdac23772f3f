//! TCP carrying data both ways at once. An echo between two NetStacks on the in-memory
//! wire, whose server reads and writes the way a blocking read-then-write_all loop does
//! (its receive window closes while its own data waits for ACKs); and an exact replay,
//! by a scripted peer, of the segment sequence that deadlocked such echoes against Linux
//! (smoltcp's window-scale rounding moved its window edge left; see
//! third_party/smoltcp/README.WRIT.md). Two smoltcp stacks rarely hit that sequence on
//! their own, so the replay is the regression test; `linux_tap.rs` has the real thing.

mod common;

use common::peer::*;
use common::*;
use netobj::{Duration, NetError, Shutdown, SockOpt};

fn pattern(i: usize) -> u8 {
    (i % 251) as u8
}

/// Client on A pushes `total` bytes in writes of `write_size` and reads the echo back;
/// server on B (socket buffers from SO_RCVBUF/SO_SNDBUF `bufsize`) echoes in reads of
/// `read_size`. Returns (sent, echoed, returned) when done or stalled.
fn echo(
    net: &Net,
    total: usize,
    bufsize: Option<i32>,
    write_size: usize,
    read_size: usize,
    client_read_every: Duration,
) -> (usize, usize, usize) {
    let l = net.b.create_tcp(root()).unwrap();
    if let Some(b) = bufsize {
        l.set_option(SockOpt::RcvBuf, b).unwrap();
        l.set_option(SockOpt::SndBuf, b).unwrap();
    }
    l.bind(sa(B_IP, 9100)).unwrap();
    l.listen(1).unwrap();
    let c = net.a.create_tcp(root()).unwrap();
    let _ = c.connect(sa(B_IP, 9100));
    let mut acc = None;
    assert!(net.run_until(Duration::from_secs(10), || {
        acc = l.accept().ok();
        acc.is_some()
    }));
    let (s, _) = acc.unwrap();
    let data: Vec<u8> = (0..total + write_size).map(pattern).collect();
    let (mut sent, mut echoed, mut returned) = (0, 0, 0);
    let mut pending: Vec<u8> = Vec::new();
    let mut sbuf = vec![0u8; read_size];
    let mut cbuf = vec![0u8; 65536];
    let (mut server_eof, mut client_eof) = (false, false);
    let mut last_progress = net.now();
    let mut next_client_read = net.now();
    let mut tick = || {
        let before = (sent, echoed, returned);
        while sent < total {
            let n = write_size.min(total - sent);
            match c.send(&data[sent..sent + n]) {
                Ok(k) => sent += k,
                Err(NetError::WouldBlock) => break,
                Err(e) => panic!("client send: {e:?}"),
            }
            if sent == total {
                c.shutdown(Shutdown::Write).unwrap();
            }
        }
        loop {
            if !pending.is_empty() {
                match s.send(&pending) {
                    Ok(k) => {
                        pending.drain(..k);
                        echoed += k;
                    }
                    Err(NetError::WouldBlock) => {}
                    Err(e) => panic!("server send: {e:?}"),
                }
            }
            if !pending.is_empty() || server_eof {
                break;
            }
            match s.recv(&mut sbuf, false) {
                Ok(0) => {
                    server_eof = true;
                    s.shutdown(Shutdown::Write).unwrap();
                }
                Ok(n) => pending.extend_from_slice(&sbuf[..n]),
                Err(NetError::WouldBlock) => break,
                Err(e) => panic!("server recv: {e:?}"),
            }
        }
        // A slow client reads 16 KiB at a time, so the server's send buffer fills and
        // its read loop stops: its receive window then closes.
        while net.now() >= next_client_read {
            next_client_read = net.now() + client_read_every;
            match c.recv(&mut cbuf[..16 * 1024], false) {
                Ok(0) => {
                    client_eof = true;
                    break;
                }
                Ok(n) => {
                    assert!(
                        cbuf[..n] == data[returned..returned + n],
                        "echo corrupted near {returned}"
                    );
                    returned += n;
                }
                Err(NetError::WouldBlock) => {}
                Err(e) => panic!("client recv: {e:?}"),
            }
        }
        if (sent, echoed, returned) != before {
            last_progress = net.now();
        }
        client_eof || net.now() - last_progress > Duration::from_secs(60)
    };
    net.settle();
    while !tick() {
        net.step(client_read_every);
    }
    (sent, echoed, returned)
}

#[test]
fn echo_both_ways_with_odd_sizes_completes() {
    const TOTAL: usize = 8 << 20;
    for (bufsize, write, read, every) in [
        (None, 65_536, 4093, 1),
        (None, 1001, 4093, 5),
        (Some(100_000), 1001, 4093, 1),
        (Some(16_384), 777, 1001, 1),
    ] {
        let net = Net::with(0.0, Duration::from_millis(1), 1500);
        let r = echo(
            &net,
            TOTAL,
            bufsize,
            write,
            read,
            Duration::from_millis(every),
        );
        assert_eq!(
            r,
            (TOTAL, TOTAL, TOTAL),
            "echo with buffers {bufsize:?}, writes {write}, reads {read} stalled (sent, echoed, returned)"
        );
    }
}

const B_PORT: u16 = 9200;

/// The sequence the virtio-net tester captured against Linux, replayed exactly: the
/// NetStack's window-scale rounding moves its right edge 4 bytes left while the peer has
/// already sent up to the old edge; its window closes; the peer's pure ACK (SEG.SEQ =
/// SND.NXT, 4 past the new edge, as Linux's tcp_acceptable_seq sends it) acknowledges the
/// NetStack's data. smoltcp 0.14 ignored that ACK, so a NetStack application blocked on a
/// full send buffer (and so not reading) never moved again.
#[test]
fn pure_ack_past_a_rounded_down_window_edge_is_processed() {
    let (net, mut peer) = scripted(B_PORT);
    let l = net.b.create_tcp(root()).unwrap();
    l.bind(sa(B_IP, 9200)).unwrap();
    l.listen(1).unwrap();
    // Default buffers: 256 KiB, window shift 3. SYN with MSS 1460, window scale 7.
    let isn = 1000u32;
    let syn_opts = [2, 4, 0x05, 0xb4, 1, 3, 3, 7];
    net.wire
        .inject(1, peer.ipv4_tcp(isn, None, 0x02, 65535, &syn_opts, &[]));
    let mut synack = None;
    // smoltcp sends nothing until ARP resolves, then retries the SYN-ACK on a timer.
    for _ in 0..50 {
        net.step(Duration::from_millis(100));
        if let Some(s) = peer
            .drain(&net.wire)
            .into_iter()
            .find(|s| s.2 & 0x12 == 0x12)
        {
            synack = Some(s);
            break;
        }
    }
    let (b_isn, _, _, _, _) = synack.expect("SYN-ACK");
    let mut snd_nxt = isn + 1;
    let b_una = b_isn + 1;
    net.wire
        .inject(1, peer.ipv4_tcp(snd_nxt, Some(b_una), 0, 512, &[], &[]));
    net.settle();
    let (s, _) = l.accept().expect("established");
    // The application fills its send buffer; the peer holds its ACKs back.
    let mut queued = 0;
    while let Ok(n) = s.send(&[7u8; 65536]) {
        queued += n;
    }
    net.run_for(Duration::from_millis(50));
    let _ = peer.drain(&net.wire);
    let tx_queue = |net: &Net| {
        net.b
            .sockets()
            .iter()
            .find(|i| i.local.port() == 9200 && i.remote.is_some())
            .unwrap()
            .tx_queue
    };
    assert_eq!(tx_queue(&net), queued);
    // Fill the NetStack's receive buffer with 1460-byte segments up to where its last
    // ACK's edge leaves 408 bytes (a multiple of 8).
    let last_edge = |segs: &[(u32, u32, u8, u16, usize)]| {
        let &(_, ack, _, win, _) = segs.iter().rev().find(|s| s.2 & 0x10 != 0).unwrap();
        ack.wrapping_add(u32::from(win) << 3)
    };
    let mut edge = snd_nxt + 65535;
    let chunk = [0x42u8; 1460];
    loop {
        let room = edge.wrapping_sub(snd_nxt) as usize;
        if room <= 1460 + 408 {
            break;
        }
        net.wire
            .inject(1, peer.ipv4_tcp(snd_nxt, Some(b_una), 0, 512, &[], &chunk));
        snd_nxt += 1460;
        net.run_for(Duration::from_millis(20));
        edge = last_edge(&peer.drain(&net.wire));
    }
    // Bring the free space of the 256 KiB buffer (nothing is read) down to 408 bytes, a
    // multiple of 8, so the edge is exactly the buffer's end; then send two 204-byte
    // segments up to that edge, the second before the ACK of the first arrives. After
    // the first, 204 bytes are free and the window rounds down to 200: the edge moves 4
    // bytes left, and 4 bytes of the second segment fall beyond it.
    let sent = snd_nxt.wrapping_sub(isn + 1) as usize;
    let filler = vec![0x43u8; 256 * 1024 - 408 - sent];
    net.wire
        .inject(1, peer.ipv4_tcp(snd_nxt, Some(b_una), 0, 512, &[], &filler));
    snd_nxt += filler.len() as u32;
    net.run_for(Duration::from_millis(20));
    let segs = peer.drain(&net.wire);
    edge = last_edge(&segs);
    assert_eq!(edge.wrapping_sub(snd_nxt), 408, "{segs:?}");
    net.wire.inject(
        1,
        peer.ipv4_tcp(snd_nxt, Some(b_una), 0, 512, &[], &[0x44; 204]),
    );
    net.run_for(Duration::from_millis(20));
    let segs = peer.drain(&net.wire);
    let shrunk = last_edge(&segs);
    net.wire.inject(
        1,
        peer.ipv4_tcp(snd_nxt + 204, Some(b_una), 0, 512, &[], &[0x45; 204]),
    );
    snd_nxt += 408;
    net.run_for(Duration::from_millis(20));
    let segs = peer.drain(&net.wire);
    let &(_, b_ack, _, b_win, _) = segs.iter().rev().find(|s| s.2 & 0x10 != 0).unwrap();
    println!(
        "edge {edge}, after 204 bytes {shrunk} ({} back), then ack {b_ack} win {b_win}, peer SND.NXT {snd_nxt}",
        edge.wrapping_sub(shrunk) as i32
    );
    // The scenario of the bug report: the window edge moved back 4 bytes and closed.
    assert_eq!(edge.wrapping_sub(shrunk), 4);
    assert_eq!((b_ack, b_win), (snd_nxt - 4, 0));
    // The peer acknowledges 10000 bytes with a pure ACK at its SND.NXT, as Linux does.
    net.wire.inject(
        1,
        peer.ipv4_tcp(snd_nxt, Some(b_una + 10_000), 0, 512, &[], &[]),
    );
    net.run_for(Duration::from_millis(20));
    assert_eq!(
        tx_queue(&net),
        queued - 10_000,
        "the NetStack ignored the ACK of a pure ACK at SEG.SEQ {snd_nxt}, its RCV.NXT {b_ack}, window {b_win}"
    );
}
