//! AES-128 (FIPS 197) with 32-bit tables and GCM (SP 800-38D) with a bitwise GHASH. Part of the hpke test guest
//! (guests/tests/hpke.rs includes it).

const fn xtime(x: u32) -> u32 {
    ((x << 1) ^ if x & 0x80 != 0 { 0x1b } else { 0 }) & 0xff
}

const fn rotl8(x: u32, n: u32) -> u32 {
    ((x << n) | (x >> (8 - n))) & 0xff
}

/// The S-box, generated from the multiplicative inverse and affine map (FIPS 197 §5.1.1).
const SBOX: [u8; 256] = {
    let mut sbox = [0u8; 256];
    let (mut p, mut q) = (1u32, 1u32);
    loop {
        p = p ^ xtime(p); // p × 3
        q ^= q << 1; // q ÷ 3
        q ^= q << 2;
        q ^= q << 4;
        q &= 0xff;
        if q & 0x80 != 0 {
            q ^= 0x09;
        }
        let x = q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4);
        sbox[p as usize] = (x ^ 0x63) as u8;
        if p == 1 {
            break;
        }
    }
    sbox[0] = 0x63;
    sbox
};

/// Te0 of the table implementation: (2·S, S, S, 3·S); the other three rounds' tables are its rotations.
const TE0: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let s = SBOX[i] as u32;
        let s2 = xtime(s);
        t[i] = s2 << 24 | s << 16 | s << 8 | (s2 ^ s);
        i += 1;
    }
    t
};

pub(crate) struct Aes128 {
    rk: [u32; 44],
}

impl Aes128 {
    pub(crate) fn new(key: &[u8; 16]) -> Aes128 {
        let mut rk = [0u32; 44];
        for i in 0..4 {
            rk[i] = u32::from_be_bytes(key[i * 4..i * 4 + 4].try_into().unwrap());
        }
        let mut rcon = 1u32;
        for i in 4..44 {
            let mut t = rk[i - 1];
            if i % 4 == 0 {
                t = t.rotate_left(8);
                t = (SBOX[(t >> 24) as usize] as u32) << 24
                    | (SBOX[(t >> 16 & 0xff) as usize] as u32) << 16
                    | (SBOX[(t >> 8 & 0xff) as usize] as u32) << 8
                    | SBOX[(t & 0xff) as usize] as u32;
                t ^= rcon << 24;
                rcon = xtime(rcon);
            }
            rk[i] = rk[i - 4] ^ t;
        }
        Aes128 { rk }
    }

    fn encrypt(&self, block: &[u8; 16]) -> [u8; 16] {
        let rk = &self.rk;
        let mut s = [0u32; 4];
        for i in 0..4 {
            s[i] = u32::from_be_bytes(block[i * 4..i * 4 + 4].try_into().unwrap()) ^ rk[i];
        }
        let b = |x: u32, n: u32| ((x >> n) & 0xff) as usize;
        for round in 1..10 {
            let mut t = [0u32; 4];
            for i in 0..4 {
                t[i] = TE0[b(s[i], 24)]
                    ^ TE0[b(s[(i + 1) % 4], 16)].rotate_right(8)
                    ^ TE0[b(s[(i + 2) % 4], 8)].rotate_right(16)
                    ^ TE0[b(s[(i + 3) % 4], 0)].rotate_right(24)
                    ^ rk[round * 4 + i];
            }
            s = t;
        }
        let mut out = [0u8; 16];
        for i in 0..4 {
            let w = (SBOX[b(s[i], 24)] as u32) << 24
                | (SBOX[b(s[(i + 1) % 4], 16)] as u32) << 16
                | (SBOX[b(s[(i + 2) % 4], 8)] as u32) << 8
                | SBOX[b(s[(i + 3) % 4], 0)] as u32;
            out[i * 4..i * 4 + 4].copy_from_slice(&(w ^ rk[40 + i]).to_be_bytes());
        }
        out
    }
}

/// Multiplication in GF(2^128) with GCM's bit order (SP 800-38D, Algorithm 1).
fn gf_mul(x: u128, y: u128) -> u128 {
    let mut z = 0u128;
    let mut v = y;
    for i in 0..128 {
        if (x >> (127 - i)) & 1 == 1 {
            z ^= v;
        }
        v = if v & 1 == 1 { (v >> 1) ^ (0xe1u128 << 120) } else { v >> 1 };
    }
    z
}

fn ghash(h: u128, aad: &[u8], ct: &[u8]) -> u128 {
    let mut x = 0u128;
    for data in [aad, ct] {
        for chunk in data.chunks(16) {
            let mut block = [0u8; 16];
            block[..chunk.len()].copy_from_slice(chunk);
            x = gf_mul(x ^ u128::from_be_bytes(block), h);
        }
    }
    let lengths = ((aad.len() as u128 * 8) << 64) | (ct.len() as u128 * 8);
    gf_mul(x ^ lengths, h)
}

/// CTR from inc32(J0) over `data`, and the tag mask E(K, J0).
fn gcm_ctr(key: &Aes128, nonce: &[u8; 12], data: &mut [u8]) -> u128 {
    let mut counter = [0u8; 16];
    counter[..12].copy_from_slice(nonce);
    counter[15] = 1;
    let tag_mask = u128::from_be_bytes(key.encrypt(&counter));
    for (i, chunk) in data.chunks_mut(16).enumerate() {
        counter[12..].copy_from_slice(&(2 + i as u32).to_be_bytes());
        let stream = key.encrypt(&counter);
        for (d, s) in chunk.iter_mut().zip(stream.iter()) {
            *d ^= s;
        }
    }
    tag_mask
}

pub(crate) fn gcm_seal(key: &Aes128, nonce: &[u8; 12], aad: &[u8], pt: &[u8]) -> Vec<u8> {
    let h = u128::from_be_bytes(key.encrypt(&[0u8; 16]));
    let mut out = Vec::with_capacity(pt.len() + 16);
    out.extend_from_slice(pt);
    let mask = gcm_ctr(key, nonce, &mut out);
    let tag = ghash(h, aad, &out) ^ mask;
    out.extend_from_slice(&tag.to_be_bytes());
    out
}

pub(crate) fn gcm_open(key: &Aes128, nonce: &[u8; 12], aad: &[u8], ct: &[u8]) -> Option<Vec<u8>> {
    if ct.len() < 16 {
        return None;
    }
    let (body, tag) = ct.split_at(ct.len() - 16);
    let h = u128::from_be_bytes(key.encrypt(&[0u8; 16]));
    let mut pt = body.to_vec();
    let mask = gcm_ctr(key, nonce, &mut pt);
    let expected = (ghash(h, aad, body) ^ mask).to_be_bytes();
    let mut diff = 0u8;
    for (a, b) in expected.iter().zip(tag) {
        diff |= a ^ b;
    }
    if diff == 0 {
        Some(pt)
    } else {
        None
    }
}
