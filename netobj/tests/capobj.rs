//! The capability layer: a NetStack capability in a process's authority CNode, endpoints
//! created through invocations (rights checked in decode), socket operations as
//! invocations with errno replies, finalization when the last capability goes.
#![cfg(feature = "caps")]

mod common;

use caps::{CSpaceId, CapSystem, Error, Rights, Slot};
use common::*;
use netobj::capobj::{cap_rights, errno_for_missing, label, NetStackObject, TcpObject};
use netobj::{Duration, NetRights, Readiness};

const AUTH: u64 = 1 << 60;
const LO: u64 = 0x7f00_0001;

struct Proc {
    sys: CapSystem,
    cs: CSpaceId,
    auth: caps::Oid,
}

/// Root CNode (radix 4) with the authority CNode (radix 4, guard 56) in slot 1:
/// authority slot 0 = Budget, 1 = NetStack (all rights), 2 = the authority CNode itself
/// (the destination root for creations), k = CPtr `AUTH | k`.
fn process(stack: netobj::NetStack) -> Proc {
    let mut sys = CapSystem::new();
    let cs = sys.create_cspace(None, 4, 0, 0).unwrap();
    let root = sys.cap_at(Slot::root(cs)).unwrap();
    let scratch = sys.cnode_slot(root.oid, 15).unwrap();
    sys.create_budget(None, scratch, 64 << 20).unwrap();
    let auth_slot = sys.cnode_slot(root.oid, 1).unwrap();
    let auth = sys.create_cnode(scratch, auth_slot, 4, 56, 0).unwrap().oid;
    let budget = sys.cnode_slot(auth, 0).unwrap();
    sys.move_cap(scratch, budget).unwrap();
    let ns = sys.cnode_slot(auth, 1).unwrap();
    sys.create_object(budget, ns, NetStackObject::new(stack), Rights::ALL)
        .unwrap();
    let src = sys.slot_of(&root, 1).unwrap();
    let dst = sys.cnode_slot(auth, 2).unwrap();
    sys.copy(src, dst, Rights::ALL).unwrap();
    Proc { sys, cs, auth }
}

impl Proc {
    fn invoke(&mut self, cptr: u64, label: u64, words: &[u64]) -> caps::Result<caps::Reply> {
        self.sys.invoke(self.cs, cptr, label, words, &[])
    }
    /// Create through the NetStack cap at `ns` into authority slot `k`.
    fn create(&mut self, ns: u64, label: u64, k: u64, extra: &[u64]) -> caps::Result<caps::Reply> {
        let mut words = vec![k, 60];
        words.extend_from_slice(extra);
        self.sys
            .invoke(self.cs, ns, label, &words, &[AUTH, AUTH | 2])
    }
    fn slot(&self, k: u32) -> Slot {
        self.sys.cnode_slot(self.auth, k).unwrap()
    }
}

#[test]
fn endpoints_are_created_and_driven_through_invocations() {
    let net = Net::new();
    let mut p = process(net.a.clone());
    // Server and client TCP endpoints in authority slots 4 and 5.
    let r = p.create(AUTH | 1, label::CREATE_TCP, 4, &[]).unwrap();
    assert_eq!((r.label, r.words().len()), (0, 1));
    p.create(AUTH | 1, label::CREATE_TCP, 5, &[]).unwrap();
    assert_eq!(
        p.sys.type_name(&p.sys.cap_at(p.slot(4)).unwrap()),
        Some("tcp")
    );
    assert_eq!(
        p.invoke(AUTH | 4, label::BIND, &[0, 8080]).unwrap().label,
        0
    );
    assert_eq!(p.invoke(AUTH | 4, label::LISTEN, &[16]).unwrap().label, 0);
    // Socket outcomes are reply labels (errnos), not invocation errors.
    assert_eq!(
        p.invoke(AUTH | 5, label::BIND, &[0, 8080]).unwrap().label,
        98
    ); // EADDRINUSE
    assert_eq!(
        p.invoke(AUTH | 5, label::CONNECT, &[LO, 8080])
            .unwrap()
            .label,
        115
    ); // EINPROGRESS
    let local = p.invoke(AUTH | 5, label::LOCAL_ADDR, &[]).unwrap();
    assert_eq!(local.words()[0], LO);
    assert!(net.run_until(Duration::from_secs(1), || {
        let r = p.invoke(AUTH | 4, label::READINESS, &[]).unwrap();
        Readiness::from_bits_truncate(r.words()[0] as u16).contains(Readiness::IN)
    }));
    // Accept into slot 6: the reply carries the new object and the peer.
    let acc = p
        .sys
        .invoke(p.cs, AUTH | 4, label::ACCEPT, &[6, 60], &[AUTH, AUTH | 2])
        .unwrap();
    assert_eq!(acc.label, 0);
    assert_eq!(&acc.words()[1..], local.words());
    assert_eq!(p.sys.cap_at(p.slot(6)).unwrap().oid, acc.words()[0]);
    // Data goes through the plain API on the object behind the capability.
    let cap5 = p.sys.cap_at(p.slot(5)).unwrap();
    let sent = p
        .sys
        .object::<TcpObject>(&cap5)
        .unwrap()
        .with(|t| t.send(b"via caps"))
        .unwrap();
    assert_eq!(sent, Ok(8));
    net.run_for(Duration::from_millis(10));
    let cap6 = p.sys.cap_at(p.slot(6)).unwrap();
    let mut buf = [0u8; 16];
    let got = p
        .sys
        .object::<TcpObject>(&cap6)
        .unwrap()
        .with(|t| t.recv(&mut buf, false))
        .unwrap();
    assert_eq!(got, Ok(8));
    // Options by Linux (level, optname): SOL_SOCKET SO_RCVBUF reads back doubled.
    assert_eq!(
        p.invoke(AUTH | 5, label::SET_OPTION, &[1, 8, 7280])
            .unwrap()
            .label,
        0
    );
    assert_eq!(
        p.invoke(AUTH | 5, label::GET_OPTION, &[1, 8])
            .unwrap()
            .words(),
        &[14_560]
    );
    assert_eq!(
        p.invoke(AUTH | 5, label::GET_OPTION, &[1, 999])
            .unwrap()
            .label,
        92
    ); // ENOPROTOOPT
       // Invocation errors: unknown label, missing words.
    assert_eq!(p.invoke(AUTH | 5, 99, &[]), Err(Error::IllegalOperation));
    assert_eq!(
        p.invoke(AUTH | 5, label::BIND, &[1]),
        Err(Error::TruncatedMessage)
    );
    assert!(p.sys.check().is_empty());
}

#[test]
fn netstack_rights_are_checked_in_decode() {
    let net = Net::new();
    let mut p = process(net.a.clone());
    // Derive an unprivileged NetStack capability (what a process gets after setuid).
    let user = Rights::GENERIC | cap_rights(NetRights::UNPRIVILEGED);
    p.sys.copy(p.slot(1), p.slot(3), user).unwrap();
    let e = p.create(AUTH | 3, label::CREATE_RAW, 4, &[]).unwrap_err();
    let Error::InsufficientRights { missing } = e else {
        panic!("{e:?}")
    };
    assert_eq!(errno_for_missing(missing), 1); // EPERM, as Linux for SOCK_RAW
    let e = p
        .create(AUTH | 3, label::CREATE_PACKET, 4, &[0x0800])
        .unwrap_err();
    assert!(matches!(e, Error::InsufficientRights { .. }));
    let e = p
        .invoke(AUTH | 3, label::CONFIGURE, &[1, 0, 0])
        .unwrap_err();
    let Error::InsufficientRights { missing } = e else {
        panic!("{e:?}")
    };
    assert_eq!(errno_for_missing(missing), 1);
    assert!(p.sys.cap_at(p.slot(4)).is_none(), "nothing was created");
    // The ordinary rights work: a ping socket without root.
    assert_eq!(
        p.create(AUTH | 3, label::CREATE_ICMP, 4, &[])
            .unwrap()
            .label,
        0
    );
    // A capability with only UDP: EACCES for ICMP and TCP.
    p.sys
        .copy(
            p.slot(1),
            p.slot(7),
            Rights::GENERIC | cap_rights(NetRights::UDP),
        )
        .unwrap();
    let e = p.create(AUTH | 7, label::CREATE_ICMP, 8, &[]).unwrap_err();
    let Error::InsufficientRights { missing } = e else {
        panic!("{e:?}")
    };
    assert_eq!(errno_for_missing(missing), 13);
    // Privileged port through an unprivileged capability: EACCES as a socket outcome.
    p.create(AUTH | 3, label::CREATE_TCP, 9, &[]).unwrap();
    assert_eq!(p.invoke(AUTH | 9, label::BIND, &[0, 80]).unwrap().label, 13);
    // Wrong protocol for a packet endpoint is an invalid argument.
    assert_eq!(
        p.create(AUTH | 1, label::CREATE_PACKET, 10, &[0x86dd]),
        Err(Error::InvalidArgument { index: 2 })
    );
    assert!(p.sys.check().is_empty());
}

#[test]
fn deleting_the_last_capability_closes_the_endpoint_and_frees_its_port() {
    let net = Net::new();
    let mut p = process(net.a.clone());
    p.create(AUTH | 1, label::CREATE_UDP, 4, &[]).unwrap();
    p.sys.copy(p.slot(4), p.slot(5), Rights::GENERIC).unwrap(); // dup
    assert_eq!(
        p.invoke(AUTH | 4, label::BIND, &[0, 5353]).unwrap().label,
        0
    );
    p.create(AUTH | 1, label::CREATE_UDP, 6, &[]).unwrap();
    p.sys.delete(p.slot(4)).unwrap();
    // The dup still holds the object: the port is still taken.
    assert_eq!(
        p.invoke(AUTH | 6, label::BIND, &[0, 5353]).unwrap().label,
        98
    );
    p.sys.delete(p.slot(5)).unwrap();
    assert_eq!(
        p.invoke(AUTH | 6, label::BIND, &[0, 5353]).unwrap().label,
        0
    );
    // Finalizing the NetStack object kills its endpoints: ENETDOWN from then on.
    p.create(AUTH | 1, label::CREATE_TCP, 7, &[]).unwrap();
    p.sys.delete(p.slot(1)).unwrap();
    assert_eq!(
        p.invoke(AUTH | 7, label::BIND, &[0, 1234]).unwrap().label,
        100
    );
    assert!(p.sys.check().is_empty());
}

#[test]
fn configure_and_stats_through_the_capability() {
    let net = Net::new();
    let mut p = process(net.a.clone());
    let ip = u64::from(u32::from(std::net::Ipv4Addr::new(10, 0, 0, 7)));
    assert_eq!(
        p.invoke(AUTH | 1, label::CONFIGURE, &[0, ip, 24])
            .unwrap()
            .label,
        0
    );
    assert_eq!(
        p.invoke(AUTH | 1, label::CONFIGURE, &[0, ip, 33]),
        Err(Error::RangeError { min: 0, max: 32 })
    );
    let st = p.invoke(AUTH | 1, label::STATS, &[]).unwrap();
    assert_eq!(&st.words()[3..], &[ip, 24]);
}

#[test]
fn revoking_a_netstack_capability_deletes_and_resets_what_was_made_through_it() {
    let net = Net::new();
    let mut p = process(net.a.clone());
    // A child's copy of the NetStack cap (fork) at 3 makes a UDP endpoint at 4, dup'ed
    // to 5; the original makes one at 6.
    p.sys.copy(p.slot(1), p.slot(3), Rights::ALL).unwrap();
    p.create(AUTH | 3, label::CREATE_UDP, 4, &[]).unwrap();
    p.sys.copy(p.slot(4), p.slot(5), Rights::GENERIC).unwrap();
    p.create(AUTH | 1, label::CREATE_UDP, 6, &[]).unwrap();
    assert_eq!(p.sys.cdt_parent(p.slot(4)), Some(p.slot(3)));
    assert!(p.sys.is_made(p.slot(4)));
    assert_eq!(
        p.invoke(AUTH | 4, label::BIND, &[0, 5353]).unwrap().label,
        0
    );
    p.sys.revoke(p.slot(3)).unwrap();
    assert!(p.sys.cap_at(p.slot(4)).is_none() && p.sys.cap_at(p.slot(5)).is_none());
    assert!(
        p.sys.cap_at(p.slot(3)).is_some(),
        "revoke keeps the cap itself"
    );
    // The port is free again and the other endpoint lives.
    assert_eq!(
        p.invoke(AUTH | 6, label::BIND, &[0, 5353]).unwrap().label,
        0
    );
    assert!(p.sys.check().is_empty());
}
