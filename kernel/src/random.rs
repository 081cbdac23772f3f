//! The kernel's random source: a ChaCha-style mixing of RDRAND (when the CPU has it)
//! and TSC jitter into a 256-bit state. Good enough for AT_RANDOM and getrandom's
//! users here (stack canaries, hash seeds, DNS ids); not a vetted CSPRNG yet.

use spin::Mutex;

static STATE: Mutex<[u64; 4]> = Mutex::new([
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
]);

fn rdrand() -> u64 {
    let has = core::arch::x86_64::__cpuid(1).ecx & (1 << 30) != 0;
    let mut r = 0u64;
    if has {
        // SAFETY: guarded by the CPUID check above.
        unsafe { core::arch::x86_64::_rdrand64_step(&mut r) };
    }
    r
}

fn rotl(x: u64, k: u32) -> u64 {
    x.rotate_left(k)
}

/// xoshiro256** step over a state re-seeded from hardware on every call.
fn next(s: &mut [u64; 4]) -> u64 {
    let result = rotl(s[1].wrapping_mul(5), 7).wrapping_mul(9);
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    result
}

pub fn fill(buf: &mut [u8]) {
    let mut s = STATE.lock();
    s[0] ^= rdrand();
    s[1] ^= crate::time::uptime_ns();
    for chunk in buf.chunks_mut(8) {
        let v = next(&mut s).to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}
