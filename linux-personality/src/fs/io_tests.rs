//! fsync, fdatasync, syncfs, fadvise64 and fallocate on tmpfs files, directories,
//! pipes and O_PATH descriptors, with the results Linux 6.18 gives on its tmpfs.

use crate::abi::nr;
use crate::abi::Errno::*;
use crate::file::flags::*;
use crate::fs::test_kernel::FakeKernel;

#[test]
fn sync_advise_allocate() {
    let mut k = FakeKernel::new();
    let f = k.open("/f", O_CREAT | O_RDWR, 0o644).unwrap();
    let d = k.open("/", O_RDONLY, 0).unwrap();
    let ro = k.open("/f", O_RDONLY, 0).unwrap();
    let o = k.open("/f", O_PATH, 0).unwrap();
    let fds = k.alloc(8);
    k.sys(nr::PIPE2, &[fds, 0]).unwrap();
    let pipe = k.mem.peek(fds, 8).unwrap();
    let (pr, pw) = (u64::from(pipe[0]), u64::from(pipe[4]));

    assert_eq!(k.sys(nr::FADVISE64, &[f, 0, 0, 0]), Ok(0));
    assert_eq!(k.sys(nr::FADVISE64, &[d, 0, 0, 0]), Ok(0));
    assert_eq!(k.sys(nr::FADVISE64, &[pr, 0, 0, 0]), Err(ESPIPE));
    assert_eq!(k.sys(nr::FADVISE64, &[f, 0, 0, 99]), Err(EINVAL));
    assert_eq!(k.sys(nr::FADVISE64, &[o, 0, 0, 0]), Err(EBADF));

    assert_eq!(k.sys(nr::FSYNC, &[f]), Ok(0));
    assert_eq!(k.sys(nr::FSYNC, &[d]), Ok(0));
    assert_eq!(k.sys(nr::FSYNC, &[pr]), Err(EINVAL));
    assert_eq!(k.sys(nr::FSYNC, &[o]), Err(EBADF));
    assert_eq!(k.sys(nr::FSYNC, &[99]), Err(EBADF));
    assert_eq!(k.sys(nr::FDATASYNC, &[ro]), Ok(0));
    assert_eq!(k.sys(nr::SYNCFS, &[pr]), Ok(0));
    assert_eq!(k.sys(nr::SYNC, &[]), Ok(0));

    assert_eq!(k.sys(nr::FALLOCATE, &[f, 0, 0, 100]), Ok(0));
    assert_eq!(k.fstat(f).unwrap().st_size, 100);
    assert_eq!(k.sys(nr::FALLOCATE, &[f, 1, 0, 200]), Ok(0));
    assert_eq!(k.fstat(f).unwrap().st_size, 100, "KEEP_SIZE");
    assert_eq!(k.sys(nr::FALLOCATE, &[ro, 0, 0, 300]), Err(EBADF));
    assert_eq!(k.sys(nr::FALLOCATE, &[d, 0, 0, 300]), Err(EBADF));
    assert_eq!(k.sys(nr::FALLOCATE, &[pw, 0, 0, 300]), Err(ESPIPE));
    assert_eq!(k.sys(nr::FALLOCATE, &[f, 0, 0, 0]), Err(EINVAL));
    assert_eq!(k.sys(nr::FALLOCATE, &[f, 0x100, 0, 10]), Err(EOPNOTSUPP));
    assert_eq!(k.sys(nr::FALLOCATE, &[f, 8, 0, 4096]), Err(EOPNOTSUPP));
    assert_eq!(
        k.sys(nr::FALLOCATE, &[f, 2, 0, 10]),
        Err(EOPNOTSUPP),
        "punch needs KEEP_SIZE"
    );
    // PUNCH_HOLE zeros in place.
    k.sys(nr::LSEEK, &[f, 0, 0]).unwrap();
    k.write(f, b"abcdefgh").unwrap();
    assert_eq!(k.sys(nr::FALLOCATE, &[f, 3, 2, 3]), Ok(0));
    let buf = k.alloc(8);
    assert_eq!(k.sys(nr::PREAD64, &[f, buf, 8, 0]), Ok(8));
    assert_eq!(k.mem.peek(buf, 8).unwrap(), b"ab\0\0\0fgh");
    assert_eq!(k.fstat(f).unwrap().st_size, 100);
}
