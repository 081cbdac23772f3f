//! uaccess tests, on [`FakeUserMemory`].

use super::*;
use crate::abi::structs::{Stat, Timespec};
use proptest::prelude::*;

const BASE: u64 = 0x10_0000;

fn mem_with(pages: u64, prot: Prot) -> FakeUserMemory {
    let mut m = FakeUserMemory::new();
    m.map(BASE, pages * PAGE_SIZE, prot).unwrap();
    m
}

#[test]
fn unmapped_and_forbidden_accesses_are_efault() {
    let mut m = mem_with(1, Prot::READ);
    let mut buf = [0u8; 8];
    assert_eq!(m.read(0, &mut buf), Err(Errno::EFAULT), "NULL");
    assert_eq!(m.read(BASE + PAGE_SIZE, &mut buf), Err(Errno::EFAULT));
    assert_eq!(
        m.read(BASE + PAGE_SIZE - 4, &mut buf),
        Err(Errno::EFAULT),
        "straddles the end"
    );
    assert_eq!(m.read(u64::MAX - 3, &mut buf), Err(Errno::EFAULT), "wraps");
    assert_eq!(m.write(BASE, &buf), Err(Errno::EFAULT), "read-only page");
    m.protect(BASE, PAGE_SIZE, Prot::NONE).unwrap();
    assert_eq!(m.read(BASE, &mut buf), Err(Errno::EFAULT), "PROT_NONE page");
    assert!(m.read(BASE, &mut []).is_ok(), "an empty copy never faults");
}

#[test]
fn failed_copies_change_nothing() {
    let mut m = mem_with(1, Prot::READ_WRITE);
    m.map(BASE + PAGE_SIZE, PAGE_SIZE, Prot::READ).unwrap();
    let data = [0xaa; 16];
    assert_eq!(m.write(BASE + PAGE_SIZE - 8, &data), Err(Errno::EFAULT));
    assert_eq!(m.peek(BASE + PAGE_SIZE - 8, 16).unwrap(), [0u8; 16]);
    m.write(BASE + PAGE_SIZE - 8, &data[..8]).unwrap();
    assert_eq!(m.peek(BASE + PAGE_SIZE - 8, 8).unwrap(), [0xaa; 8]);
}

#[test]
fn structs_round_trip_across_a_page_boundary() {
    let mut m = mem_with(2, Prot::READ_WRITE);
    let st = Stat {
        st_ino: 42,
        st_mode: 0o100644,
        st_size: 1234,
        st_mtime_nsec: 5,
        ..Stat::default()
    };
    let p = UserPtr::<Stat>::new(BASE + PAGE_SIZE - 60);
    p.write(&mut m, &st).unwrap();
    assert_eq!(p.read(&m).unwrap(), st);
    // Byte 48 of a stat is st_size, little-endian.
    assert_eq!(m.peek(p.addr() + 48, 8).unwrap(), 1234u64.to_le_bytes());
    let beyond = UserPtr::<Timespec>::new(BASE + 2 * PAGE_SIZE - 8);
    assert_eq!(beyond.read(&m), Err(Errno::EFAULT));
    assert_eq!(p.offset(1).unwrap().addr(), p.addr() + 144);
    assert_eq!(UserPtr::<Stat>::new(u64::MAX).offset(1), Err(Errno::EFAULT));
    assert!(UserPtr::<Stat>::new(0).is_null());
}

#[test]
fn user_slices_are_bounded() {
    let mut m = mem_with(1, Prot::READ_WRITE);
    assert_eq!(UserSlice::new(USER_END - 4, 8), Err(Errno::EFAULT));
    assert_eq!(UserSlice::new(u64::MAX, 2), Err(Errno::EFAULT));
    assert!(
        UserSlice::new(u64::MAX, 0).is_ok(),
        "empty ranges are never checked"
    );
    let s = UserSlice::new(BASE, 16).unwrap();
    s.write_at(&mut m, 4, b"hello").unwrap();
    assert_eq!(&s.read_all(&m).unwrap()[4..9], b"hello");
    assert_eq!(
        s.write_at(&mut m, 12, b"hello"),
        Err(Errno::EFAULT),
        "past the slice"
    );
    assert_eq!(s.sub(8, 8).unwrap().addr(), BASE + 8);
    assert_eq!(s.sub(8, 9), Err(Errno::EFAULT));
    assert_eq!(s.sub(u64::MAX, 2), Err(Errno::EFAULT));
}

#[test]
fn cstrings() {
    let mut m = mem_with(1, Prot::READ_WRITE);
    m.poke(BASE, b"/etc/passwd\0junk").unwrap();
    assert_eq!(read_cstring(&m, BASE, PATH_MAX).unwrap(), b"/etc/passwd");
    assert_eq!(
        read_cstring(&m, BASE, 12).unwrap(),
        b"/etc/passwd",
        "11 chars + NUL fit in 12"
    );
    assert_eq!(read_cstring(&m, BASE, 11), Err(Errno::ENAMETOOLONG));
    assert_eq!(read_cstring(&m, 0, PATH_MAX), Err(Errno::EFAULT));
    assert_eq!(read_cstring(&m, BASE + 12, PATH_MAX).unwrap(), b"junk");

    // A string ending on the last byte of the last mapped page reads fine ...
    let end = BASE + PAGE_SIZE;
    m.poke(end - 4, b"abc\0").unwrap();
    assert_eq!(read_cstring(&m, end - 4, PATH_MAX).unwrap(), b"abc");
    // ... one that runs into the unmapped page faults ...
    m.poke(end - 4, b"abcd").unwrap();
    assert_eq!(read_cstring(&m, end - 4, PATH_MAX), Err(Errno::EFAULT));
    // ... unless the limit is hit first.
    assert_eq!(read_cstring(&m, end - 4, 4), Err(Errno::ENAMETOOLONG));
    // A 4095-byte path is the longest PATH_MAX allows.
    let mut big = FakeUserMemory::new();
    big.map(BASE, 2 * PAGE_SIZE, Prot::READ).unwrap();
    big.poke(BASE, &[b'a'; 4095]).unwrap();
    assert_eq!(read_cstring(&big, BASE, PATH_MAX).unwrap().len(), 4095);
    big.poke(BASE + 4095, b"a").unwrap();
    assert_eq!(read_cstring(&big, BASE, PATH_MAX), Err(Errno::ENAMETOOLONG));
}

fn iov_bytes(iovs: &[(u64, u64)]) -> Vec<u8> {
    let mut v = Vec::new();
    for &(b, l) in iovs {
        v.extend_from_slice(&b.to_le_bytes());
        v.extend_from_slice(&l.to_le_bytes());
    }
    v
}

#[test]
fn iovecs() {
    let mut m = mem_with(1, Prot::READ_WRITE);
    m.poke(
        BASE,
        &iov_bytes(&[(BASE + 0x100, 5), (0, 0), (BASE + 0x200, 7)]),
    )
    .unwrap();
    let v = read_iovecs(&m, BASE, 3).unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!((v[0].addr(), v[0].len()), (BASE + 0x100, 5));
    assert!(v[1].is_empty());
    assert_eq!(v[2].len(), 7);
    assert_eq!(read_iovecs(&m, BASE, 0).unwrap(), []);
    assert_eq!(
        read_iovecs(&m, 0, 0).unwrap(),
        [],
        "no entries: the pointer is not read"
    );
    assert_eq!(read_iovecs(&m, BASE, UIO_MAXIOV + 1), Err(Errno::EINVAL));
    assert_eq!(
        read_iovecs(&m, BASE + PAGE_SIZE - 16, 2),
        Err(Errno::EFAULT)
    );
    assert_eq!(read_iovecs(&m, 0, 1), Err(Errno::EFAULT));

    m.poke(BASE, &iov_bytes(&[(BASE, 1u64 << 63)])).unwrap();
    assert_eq!(
        read_iovecs(&m, BASE, 1),
        Err(Errno::EINVAL),
        "negative ssize_t"
    );
    m.poke(BASE, &iov_bytes(&[(USER_END - 2, 5)])).unwrap();
    assert_eq!(
        read_iovecs(&m, BASE, 1),
        Err(Errno::EFAULT),
        "buffer leaves user space"
    );

    // Lengths are cut so the total stays within MAX_RW_COUNT.
    let big = MAX_RW_COUNT - 10;
    m.poke(
        BASE,
        &iov_bytes(&[(0x1000, big), (0x1000_0000_0000, 100), (0x2000, 3)]),
    )
    .unwrap();
    let v = read_iovecs(&m, BASE, 3).unwrap();
    assert_eq!(
        v.iter().map(UserSlice::len).collect::<Vec<_>>(),
        [big, 10, 0]
    );
}

#[test]
fn pointer_arrays() {
    let mut m = mem_with(1, Prot::READ_WRITE);
    let ptrs: Vec<u8> = [0x1111u64, 0x2222, 0]
        .iter()
        .flat_map(|p| p.to_le_bytes())
        .collect();
    m.poke(BASE, &ptrs).unwrap();
    assert_eq!(read_ptr_array(&m, BASE, 10).unwrap(), [0x1111, 0x2222]);
    assert_eq!(read_ptr_array(&m, BASE, 2).unwrap(), [0x1111, 0x2222]);
    assert_eq!(read_ptr_array(&m, BASE, 1), Err(Errno::E2BIG));
    assert_eq!(read_ptr_array(&m, 0, 1).unwrap(), [], "NULL argv is empty");
    // No terminator before the end of the mapping.
    m.poke(BASE + PAGE_SIZE - 8, &1u64.to_le_bytes()).unwrap();
    assert_eq!(
        read_ptr_array(&m, BASE + PAGE_SIZE - 8, 10),
        Err(Errno::EFAULT)
    );
}

proptest! {
    /// Whatever the address and length, a copy either succeeds on fully mapped memory
    /// or fails with EFAULT, and never panics.
    #[test]
    fn copies_never_panic(addr in any::<u64>(), len in 0usize..9000, near in any::<bool>()) {
        let mut m = mem_with(2, Prot::READ_WRITE);
        let addr = if near { BASE.wrapping_add(addr % (3 * PAGE_SIZE)).wrapping_sub(PAGE_SIZE / 2) } else { addr };
        let mut buf = vec![0u8; len];
        let ok = addr >= BASE && addr.checked_add(len as u64).is_some_and(|e| e <= BASE + 2 * PAGE_SIZE);
        let r = m.read(addr, &mut buf);
        prop_assert_eq!(r.is_ok(), ok || len == 0);
        if let Err(e) = r { prop_assert_eq!(e, Errno::EFAULT); }
        prop_assert_eq!(m.write(addr, &buf).is_ok(), ok || len == 0);
        let _ = read_cstring(&m, addr, len);
        let _ = read_iovecs(&m, addr, len);
    }
}

#[test]
fn exec_strings_share_one_budget() {
    let mut m = mem_with(2, Prot::READ_WRITE);
    let strs = BASE + PAGE_SIZE;
    m.poke(strs, b"ls\0-l\0PATH=/bin\0").unwrap();
    let argv: Vec<u8> = [strs, strs + 3, 0]
        .iter()
        .flat_map(|p| p.to_le_bytes())
        .collect();
    let envp: Vec<u8> = [strs + 6, 0].iter().flat_map(|p| p.to_le_bytes()).collect();
    m.poke(BASE, &argv).unwrap();
    m.poke(BASE + 64, &envp).unwrap();

    let mut budget = crate::stack::ARG_MAX;
    let a = read_exec_strings(&m, BASE, &mut budget).unwrap();
    let e = read_exec_strings(&m, BASE + 64, &mut budget).unwrap();
    assert_eq!(a, [b"ls".to_vec(), b"-l".to_vec()]);
    assert_eq!(e, [b"PATH=/bin".to_vec()]);
    assert_eq!(budget, crate::stack::ARG_MAX - (3 + 3 + 10) - 3 * 8);
    assert_eq!(
        read_exec_strings(&m, 0, &mut budget).unwrap(),
        Vec::<Vec<u8>>::new()
    );

    // Exactly enough budget for "ls" + "-l" and two pointers; one byte less is E2BIG.
    let mut exact = 3 + 3 + 16;
    assert!(read_exec_strings(&m, BASE, &mut exact).is_ok());
    assert_eq!(exact, 0);
    let mut short = 3 + 3 + 16 - 1;
    assert_eq!(read_exec_strings(&m, BASE, &mut short), Err(Errno::E2BIG));

    // A bad string pointer is EFAULT, not E2BIG.
    m.poke(BASE + 8, &0xdead_0000u64.to_le_bytes()).unwrap();
    let mut budget = crate::stack::ARG_MAX;
    assert_eq!(read_exec_strings(&m, BASE, &mut budget), Err(Errno::EFAULT));
}

#[test]
fn exec_string_longer_than_max_arg_strlen_is_e2big() {
    let len = crate::stack::MAX_ARG_STRLEN as u64;
    let mut m = FakeUserMemory::new();
    m.map(BASE, PAGE_SIZE + len + PAGE_SIZE, Prot::READ_WRITE)
        .unwrap();
    let s = BASE + PAGE_SIZE;
    m.poke(s, &vec![b'x'; len as usize]).unwrap(); // no NUL within MAX_ARG_STRLEN
    m.poke(BASE, &s.to_le_bytes()).unwrap();
    let mut budget = crate::stack::ARG_MAX;
    assert_eq!(read_exec_strings(&m, BASE, &mut budget), Err(Errno::E2BIG));
    m.poke(s + len - 1, &[0]).unwrap(); // now 131071 chars + NUL: the longest allowed
    let mut budget = crate::stack::ARG_MAX;
    assert_eq!(
        read_exec_strings(&m, BASE, &mut budget).unwrap()[0].len(),
        len as usize - 1
    );
}
