//! A scripted TCP peer for tests that need a NetStack to meet an exact sequence of
//! segments.

use netobj::{Duration, NetDevice};

use super::{config, Clock, Net, Wire, WireEnd, A_IP, B_IP};

/// A Net at 1 s whose side-0 stack is unplugged (it sits on a fresh wire of its own
/// and is never polled), so the returned Peer owns side 0 and scripts B, whose port
/// in the peer's segments is `b_port`.
pub fn scripted(b_port: u16) -> (Net, Peer) {
    let clock = Clock::default();
    clock.set(netobj::Instant::from_secs(1));
    let wire = Wire::new(clock.clone(), 0.0, Duration::from_millis(0), 1);
    let unplugged = Wire::new(clock.clone(), 0.0, Duration::from_millis(0), 2);
    let net = Net {
        a: netobj::NetStack::new(
            Box::new(unplugged.end(0, 1500)),
            config(A_IP, 11),
            clock.now(),
        ),
        b: netobj::NetStack::new(Box::new(wire.end(1, 1500)), config(B_IP, 22), clock.now()),
        clock,
        wire,
    };
    let peer = Peer {
        dev: net.wire.end(0, 1500),
        b_mac: [0x02, 0, 0, 0, 0, 2],
        b_port,
    };
    (net, peer)
}

/// The scripted peer's port.
pub const P_PORT: u16 = 40_000;

/// A scripted TCP peer on side 0 of the wire (10.0.0.1), speaking raw frames, so a test
/// can put a NetStack on side 1 into an exact sequence of segments.
pub struct Peer {
    pub dev: WireEnd,
    pub b_mac: [u8; 6],
    /// B's port in the segments the peer makes.
    pub b_port: u16,
}

impl Peer {
    pub fn ipv4_tcp(
        &self,
        seq: u32,
        ack: Option<u32>,
        flags: u8,
        win: u16,
        opts: &[u8],
        payload: &[u8],
    ) -> Vec<u8> {
        let tcp_len = 20 + opts.len() + payload.len();
        let mut f = Vec::new();
        f.extend_from_slice(&self.b_mac);
        f.extend_from_slice(&self.dev.mac);
        f.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + tcp_len) as u16;
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&A_IP.octets());
        ip.extend_from_slice(&B_IP.octets());
        let c = netobj::internet_checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let mut t = Vec::new();
        t.extend_from_slice(&P_PORT.to_be_bytes());
        t.extend_from_slice(&self.b_port.to_be_bytes());
        t.extend_from_slice(&seq.to_be_bytes());
        t.extend_from_slice(&ack.unwrap_or(0).to_be_bytes());
        t.push((((20 + opts.len()) / 4) as u8) << 4);
        t.push(flags | if ack.is_some() { 0x10 } else { 0 });
        t.extend_from_slice(&win.to_be_bytes());
        t.extend_from_slice(&[0, 0, 0, 0]);
        t.extend_from_slice(opts);
        t.extend_from_slice(payload);
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&A_IP.octets());
        pseudo.extend_from_slice(&B_IP.octets());
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp_len as u16).to_be_bytes());
        pseudo.extend_from_slice(&t);
        let c = netobj::internet_checksum(&pseudo);
        t[16..18].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&t);
        f
    }

    /// Drain what B sent: answer ARP, return the TCP segments as (seq, ack, flags, window, payload length).
    pub fn drain(&mut self, wire: &Wire) -> Vec<(u32, u32, u8, u16, usize)> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 2048];
        while let Some(n) = self.dev.receive(&mut buf) {
            let f = &buf[..n];
            if f[12..14] == [0x08, 0x06] && f[20..22] == [0, 1] {
                let mut r = Vec::new();
                r.extend_from_slice(&f[6..12]);
                r.extend_from_slice(&self.dev.mac);
                r.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
                r.extend_from_slice(&self.dev.mac);
                r.extend_from_slice(&A_IP.octets());
                r.extend_from_slice(&f[22..28]);
                r.extend_from_slice(&f[28..32]);
                wire.inject(1, r);
                continue;
            }
            if f[12..14] != [0x08, 0x00] || f[23] != 6 {
                continue;
            }
            let ihl = usize::from(f[14] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([f[16], f[17]]));
            let t = &f[14 + ihl..14 + total];
            let be32 = |i: usize| u32::from_be_bytes([t[i], t[i + 1], t[i + 2], t[i + 3]]);
            let doff = usize::from(t[12] >> 4) * 4;
            out.push((
                be32(4),
                be32(8),
                t[13],
                u16::from_be_bytes([t[14], t[15]]),
                t.len() - doff,
            ));
        }
        out
    }
}
