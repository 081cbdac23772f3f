//! `#!` scripts, as Linux's `binfmt_script` runs them.
//!
//! execve of a file that starts with `#!` runs the named interpreter instead, with the
//! argument vector rewritten to `interp [arg] path argv[1..]`: the optional argument is
//! everything after the interpreter name on the first line (one argument, spaces and
//! all, trailing blanks stripped), and `path` is the name the caller passed to execve,
//! not a resolved one. Linux reads at most [`HEADER_MAX`] bytes of the first line; a
//! line cut off inside the interpreter's name is ENOEXEC, one cut off in the argument
//! just truncates it. The interpreter may itself be a script, to a depth of
//! [`MAX_DEPTH`] rewrites (then ELOOP).

use alloc::vec::Vec;

use crate::Errno;

/// Bytes of the file Linux looks at (`BINPRM_BUF_SIZE`).
pub const HEADER_MAX: usize = 256;
/// How many interpreters may be stacked before execve fails with ELOOP (Linux's
/// `exec_binprm` gives up after five rewrites).
pub const MAX_DEPTH: usize = 5;

/// The interpreter line of a script.
#[derive(Debug, PartialEq, Eq)]
pub struct Shebang<'a> {
    /// The interpreter's path.
    pub interp: &'a [u8],
    /// The optional single argument.
    pub arg: Option<&'a [u8]>,
}

fn blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Parses the start of a file. `Ok(None)` when it is not a script (the caller tries
/// the other formats); ENOEXEC when it is one Linux would refuse.
pub fn parse(head: &[u8]) -> Result<Option<Shebang<'_>>, Errno> {
    let head = &head[..head.len().min(HEADER_MAX)];
    if !head.starts_with(b"#!") {
        return Ok(None);
    }
    let body = &head[2..];
    let (line, complete) = match body.iter().position(|&b| b == b'\n') {
        Some(n) => (&body[..n], true),
        None => (body, head.len() < HEADER_MAX),
    };
    let start = line.iter().position(|&b| !blank(b)).unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|&b| !blank(b))
        .map_or(start, |i| i + 1);
    let line = &line[start..end.max(start)];
    if line.is_empty() {
        return Err(Errno::ENOEXEC);
    }
    let name_end = line.iter().position(|&b| blank(b)).unwrap_or(line.len());
    // A first line longer than the buffer that ends inside the interpreter's name
    // would run a truncated path: Linux refuses it.
    if !complete && name_end == line.len() {
        return Err(Errno::ENOEXEC);
    }
    let interp = &line[..name_end];
    let rest = &line[name_end..];
    let arg = rest
        .iter()
        .position(|&b| !blank(b))
        .map(|i| &rest[i..])
        .filter(|a| !a.is_empty());
    Ok(Some(Shebang { interp, arg }))
}

/// The argument vector the interpreter receives: `interp [arg] path argv[1..]`.
pub fn rewrite_argv(sb: &Shebang<'_>, path: &[u8], argv: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(argv.len() + 2);
    out.push(sb.interp.to_vec());
    if let Some(a) = sb.arg {
        out.push(a.to_vec());
    }
    out.push(path.to_vec());
    out.extend(argv.iter().skip(1).cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sb<'a>(interp: &'a [u8], arg: Option<&'a [u8]>) -> Option<Shebang<'a>> {
        Some(Shebang { interp, arg })
    }

    #[test]
    fn plain_and_with_argument() {
        assert_eq!(parse(b"#!/bin/sh\necho hi\n"), Ok(sb(b"/bin/sh", None)));
        assert_eq!(parse(b"#! /bin/sh -e \n"), Ok(sb(b"/bin/sh", Some(b"-e"))));
        // One argument, internal blanks kept, as Linux does.
        assert_eq!(
            parse(b"#!/usr/bin/env  python3 -u\t\n"),
            Ok(sb(b"/usr/bin/env", Some(b"python3 -u")))
        );
        assert_eq!(parse(b"#!/bin/sh"), Ok(sb(b"/bin/sh", None)));
    }

    #[test]
    fn not_scripts_and_refusals() {
        assert_eq!(parse(b"\x7fELF"), Ok(None));
        assert_eq!(parse(b"#"), Ok(None));
        assert_eq!(parse(b""), Ok(None));
        assert_eq!(parse(b"#!\n"), Err(Errno::ENOEXEC));
        assert_eq!(parse(b"#!   \t\n"), Err(Errno::ENOEXEC));
        let mut long = b"#!/".to_vec();
        long.extend(core::iter::repeat_n(b'a', 300));
        assert_eq!(parse(&long), Err(Errno::ENOEXEC));
        // Cut off in the argument: the argument is truncated, the script still runs.
        let mut long = b"#!/bin/sh ".to_vec();
        long.extend(core::iter::repeat_n(b'x', 300));
        let got = parse(&long).unwrap().unwrap();
        assert_eq!(got.interp, b"/bin/sh");
        assert_eq!(got.arg.unwrap().len(), HEADER_MAX - 10);
    }

    #[test]
    fn argv_is_rewritten_like_linux() {
        let s = Shebang {
            interp: b"/bin/sh",
            arg: Some(b"-e"),
        };
        let argv = vec![b"./x.sh".to_vec(), b"one".to_vec()];
        assert_eq!(
            rewrite_argv(&s, b"./x.sh", &argv),
            vec![
                b"/bin/sh".to_vec(),
                b"-e".to_vec(),
                b"./x.sh".to_vec(),
                b"one".to_vec()
            ]
        );
        assert_eq!(rewrite_argv(&s, b"p", &[]).len(), 3);
    }
}
