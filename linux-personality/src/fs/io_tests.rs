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

#[test]
fn sendfile_between_files_and_pipes() {
    let mut k = FakeKernel::new();
    let a = k.open("/a", O_CREAT | O_RDWR, 0o644).unwrap();
    k.write(a, b"hello world").unwrap();
    k.sys(nr::LSEEK, &[a, 0, 0]).unwrap();
    let b = k.open("/b", O_CREAT | O_RDWR, 0o644).unwrap();
    let ap = k.open("/b", O_WRONLY | O_APPEND, 0).unwrap();
    let ro = k.open("/a", O_RDONLY, 0).unwrap();
    let wo = k.open("/a", O_WRONLY, 0).unwrap();
    let d = k.open("/", O_RDONLY, 0).unwrap();
    let fds = k.alloc(8);
    k.sys(nr::PIPE2, &[fds, 0]).unwrap();
    let pipe = k.mem.peek(fds, 8).unwrap();
    let (pr, pw) = (u64::from(pipe[0]), u64::from(pipe[4]));
    assert_eq!(k.sys(nr::SENDFILE, &[b, a, 0, 5]), Ok(5));
    assert_eq!(
        k.sys(nr::LSEEK, &[a, 0, 1]),
        Ok(5),
        "the input's offset moved"
    );
    let off = k.alloc(8);
    k.mem.poke(off, &6i64.to_le_bytes()).unwrap();
    assert_eq!(k.sys(nr::SENDFILE, &[b, a, off, 100]), Ok(5));
    assert_eq!(
        k.mem.peek(off, 8).unwrap(),
        11i64.to_le_bytes(),
        "*offset moved"
    );
    assert_eq!(k.sys(nr::LSEEK, &[a, 0, 1]), Ok(5), "not the file's offset");
    assert_eq!(
        k.sys(nr::SENDFILE, &[ap, ro, 0, 3]),
        Err(EINVAL),
        "O_APPEND output"
    );
    assert_eq!(
        k.sys(nr::SENDFILE, &[b, pr, 0, 3]),
        Err(EINVAL),
        "pipe input"
    );
    assert_eq!(k.sys(nr::SENDFILE, &[pw, ro, 0, 4]), Ok(4));
    assert_eq!(k.read(pr, 16).unwrap(), b"hell");
    assert_eq!(k.sys(nr::SENDFILE, &[b, wo, 0, 3]), Err(EBADF));
    assert_eq!(k.sys(nr::SENDFILE, &[ro, a, 0, 3]), Err(EBADF));
    assert_eq!(k.sys(nr::SENDFILE, &[b, ro, 0, 0]), Ok(0));
    k.mem.poke(off, &(-1i64).to_le_bytes()).unwrap();
    assert_eq!(k.sys(nr::SENDFILE, &[b, ro, off, 3]), Err(EINVAL));
    assert_eq!(k.sys(nr::SENDFILE, &[b, ro, 1, 3]), Err(EFAULT));
    assert_eq!(
        k.sys(nr::SENDFILE, &[b, d, 0, 3]),
        Err(EINVAL),
        "directory input"
    );
    let buf = k.alloc(16);
    assert_eq!(k.sys(nr::PREAD64, &[b, buf, 16, 0]), Ok(10));
    assert_eq!(k.mem.peek(buf, 10).unwrap(), b"helloworld");
}

#[test]
fn fifos_connect_their_openers() {
    use crate::fs::mode::*;
    let mut k = FakeKernel::new();
    assert_eq!(
        k.path_call(nr::MKNOD, "/p", &[u64::from(S_IFIFO | 0o644), 0]),
        Ok(0)
    );
    assert_eq!(
        k.open("/p", O_WRONLY | O_NONBLOCK, 0),
        Err(ENXIO),
        "no reader"
    );
    let r = k.open("/p", O_RDONLY | O_NONBLOCK, 0).unwrap();
    assert_eq!(
        k.fstat(r).unwrap().st_mode,
        S_IFIFO | 0o644,
        "the node's stat"
    );
    assert_eq!(k.read(r, 8), Err(EAGAIN), "a writer is still to come");
    let w = k.open("/p", O_WRONLY | O_NONBLOCK, 0).unwrap();
    assert_eq!(k.write(w, b"hi"), Ok(2));
    assert_eq!(k.read(r, 8).unwrap(), b"hi");
    assert_eq!(k.sys(nr::LSEEK, &[r, 0, 0]), Err(ESPIPE));
    assert_eq!(k.read(w, 1), Err(EBADF));
    k.sys(nr::CLOSE, &[w]).unwrap();
    assert_eq!(k.read(r, 8).unwrap(), b"", "the last writer closed: EOF");
    k.sys(nr::CLOSE, &[r]).unwrap();
    // A writer first: its data waits in the pipe for the reader.
    let w = k.open("/p", O_WRONLY, 0).unwrap();
    assert_eq!(k.write(w, b"early"), Ok(5));
    let r = k.open("/p", O_RDONLY, 0).unwrap();
    assert_eq!(k.read(r, 8).unwrap(), b"early");
    k.sys(nr::CLOSE, &[r]).unwrap();
    assert_eq!(k.write(w, b"x"), Err(EPIPE), "the reader is gone");
    k.sys(nr::CLOSE, &[w]).unwrap();
    // O_RDWR holds both ends.
    let rw = k.open("/p", O_RDWR, 0).unwrap();
    assert_eq!(k.write(rw, b"self"), Ok(4));
    assert_eq!(k.read(rw, 8).unwrap(), b"self");
    // A user without read permission is refused before any pipe is made.
    k.creds = crate::fs::Creds::user(1000, 1000);
    assert_eq!(k.open("/p", O_WRONLY | O_NONBLOCK, 0), Err(EACCES));
}
