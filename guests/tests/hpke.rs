//! HPKE compiled into the guest, to compare with the host's HPKE hostcalls (issue: "the design reports about 4×").
//! RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, in plain safe Rust (no crates):
//! X25519 (RFC 7748) on five 51-bit limbs, SHA-256 (FIPS 180-4), HMAC/HKDF (RFC 2104/5869), AES-128 with 32-bit
//! tables and GCM (SP 800-38D) with a bitwise GHASH. Not constant-time (table lookups): a measuring guest only.
//!
//! Not a plugin: a module of plain exports the tests and benchmarks call through Wasmtime.
//! - `buffer() -> i32`: a static 16 KiB buffer for inputs and outputs.
//! - `vector(len) -> i32`: runs one RFC 9180 vector's inputs from the buffer, writes every derived value (see
//!   `run_vector`); returns the output length, or -1 on malformed input / a failed open.
//! - `odoh_target(len, iterations) -> i32`: the ODoH target's per-query crypto, `iterations` times: SetupBaseR,
//!   Open of the query, Export, HKDF of the response key and nonce, Seal of a 468-byte answer; writes the last
//!   sealed answer to the buffer and returns its length (-1 when the query does not open).
use std::convert::TryInto;

// ---------- field arithmetic mod p = 2^255 - 19, five 51-bit limbs ----------

type Fe = [u64; 5];
const MASK51: u64 = (1 << 51) - 1;

fn load64(s: &[u8]) -> u64 {
    u64::from_le_bytes(s[..8].try_into().unwrap())
}

fn fe_from_bytes(s: &[u8; 32]) -> Fe {
    [
        load64(&s[0..]) & MASK51,
        (load64(&s[6..]) >> 3) & MASK51,
        (load64(&s[12..]) >> 6) & MASK51,
        (load64(&s[19..]) >> 1) & MASK51,
        (load64(&s[24..]) >> 12) & MASK51, // also drops bit 255 (RFC 7748 §5)
    ]
}

fn fe_carry(r: [u128; 5]) -> Fe {
    let mut r = r;
    r[1] += r[0] >> 51;
    r[2] += r[1] >> 51;
    r[3] += r[2] >> 51;
    r[4] += r[3] >> 51;
    let c = r[4] >> 51;
    let mut l0 = (r[0] & MASK51 as u128) + c * 19;
    let l1 = (r[1] & MASK51 as u128) + (l0 >> 51);
    l0 &= MASK51 as u128;
    [l0 as u64, l1 as u64, (r[2] & MASK51 as u128) as u64, (r[3] & MASK51 as u128) as u64, (r[4] & MASK51 as u128) as u64]
}

fn fe_add(a: &Fe, b: &Fe) -> Fe {
    fe_carry([
        (a[0] + b[0]) as u128,
        (a[1] + b[1]) as u128,
        (a[2] + b[2]) as u128,
        (a[3] + b[3]) as u128,
        (a[4] + b[4]) as u128,
    ])
}

fn fe_sub(a: &Fe, b: &Fe) -> Fe {
    // a + 4p - b: limbs stay positive for inputs below 2^53.
    fe_carry([
        (a[0] + 0x1F_FFFF_FFFF_FFB4 - b[0]) as u128,
        (a[1] + 0x1F_FFFF_FFFF_FFFC - b[1]) as u128,
        (a[2] + 0x1F_FFFF_FFFF_FFFC - b[2]) as u128,
        (a[3] + 0x1F_FFFF_FFFF_FFFC - b[3]) as u128,
        (a[4] + 0x1F_FFFF_FFFF_FFFC - b[4]) as u128,
    ])
}

fn m(a: u64, b: u64) -> u128 {
    a as u128 * b as u128
}

fn fe_mul(a: &Fe, b: &Fe) -> Fe {
    let (b1, b2, b3, b4) = (b[1] * 19, b[2] * 19, b[3] * 19, b[4] * 19);
    fe_carry([
        m(a[0], b[0]) + m(a[1], b4) + m(a[2], b3) + m(a[3], b2) + m(a[4], b1),
        m(a[0], b[1]) + m(a[1], b[0]) + m(a[2], b4) + m(a[3], b3) + m(a[4], b2),
        m(a[0], b[2]) + m(a[1], b[1]) + m(a[2], b[0]) + m(a[3], b4) + m(a[4], b3),
        m(a[0], b[3]) + m(a[1], b[2]) + m(a[2], b[1]) + m(a[3], b[0]) + m(a[4], b4),
        m(a[0], b[4]) + m(a[1], b[3]) + m(a[2], b[2]) + m(a[3], b[1]) + m(a[4], b[0]),
    ])
}

fn fe_sq(a: &Fe) -> Fe {
    let (d0, d1, d2) = (a[0] * 2, a[1] * 2, a[2] * 2);
    let (a3_19, a4_19) = (a[3] * 19, a[4] * 19);
    fe_carry([
        m(a[0], a[0]) + m(d1, a4_19) + m(d2, a3_19),
        m(d0, a[1]) + m(d2, a4_19) + m(a[3], a3_19),
        m(d0, a[2]) + m(a[1], a[1]) + m(a[3] * 2, a4_19),
        m(d0, a[3]) + m(d1, a[2]) + m(a[4], a4_19),
        m(d0, a[4]) + m(d1, a[3]) + m(a[2], a[2]),
    ])
}

fn fe_sq_n(a: &Fe, n: u32) -> Fe {
    let mut r = fe_sq(a);
    for _ in 1..n {
        r = fe_sq(&r);
    }
    r
}

fn fe_mul_small(a: &Fe, k: u64) -> Fe {
    fe_carry([m(a[0], k), m(a[1], k), m(a[2], k), m(a[3], k), m(a[4], k)])
}

/// z^(p-2), the addition chain of ref10.
fn fe_invert(z: &Fe) -> Fe {
    let z2 = fe_sq(z);
    let z9 = fe_mul(&fe_sq_n(&z2, 2), z);
    let z11 = fe_mul(&z9, &z2);
    let z2_5_0 = fe_mul(&fe_sq(&z11), &z9);
    let z2_10_0 = fe_mul(&fe_sq_n(&z2_5_0, 5), &z2_5_0);
    let z2_20_0 = fe_mul(&fe_sq_n(&z2_10_0, 10), &z2_10_0);
    let z2_40_0 = fe_mul(&fe_sq_n(&z2_20_0, 20), &z2_20_0);
    let z2_50_0 = fe_mul(&fe_sq_n(&z2_40_0, 10), &z2_10_0);
    let z2_100_0 = fe_mul(&fe_sq_n(&z2_50_0, 50), &z2_50_0);
    let z2_200_0 = fe_mul(&fe_sq_n(&z2_100_0, 100), &z2_100_0);
    let z2_250_0 = fe_mul(&fe_sq_n(&z2_200_0, 50), &z2_50_0);
    fe_mul(&fe_sq_n(&z2_250_0, 5), &z11)
}

fn fe_to_bytes(a: &Fe) -> [u8; 32] {
    let mut h = fe_carry([a[0] as u128, a[1] as u128, a[2] as u128, a[3] as u128, a[4] as u128]);
    // q = 1 when h >= p: then h - p = h + 19 - 2^255.
    let mut q = (h[0] + 19) >> 51;
    q = (h[1] + q) >> 51;
    q = (h[2] + q) >> 51;
    q = (h[3] + q) >> 51;
    q = (h[4] + q) >> 51;
    h[0] += 19 * q;
    h[1] += h[0] >> 51;
    h[0] &= MASK51;
    h[2] += h[1] >> 51;
    h[1] &= MASK51;
    h[3] += h[2] >> 51;
    h[2] &= MASK51;
    h[4] += h[3] >> 51;
    h[3] &= MASK51;
    h[4] &= MASK51;
    let words = [h[0] | h[1] << 51, h[1] >> 13 | h[2] << 38, h[2] >> 26 | h[3] << 25, h[3] >> 39 | h[4] << 12];
    let mut out = [0u8; 32];
    for (i, w) in words.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    out
}

fn fe_cswap(swap: u64, a: &mut Fe, b: &mut Fe) {
    let mask = 0u64.wrapping_sub(swap);
    for i in 0..5 {
        let t = mask & (a[i] ^ b[i]);
        a[i] ^= t;
        b[i] ^= t;
    }
}

/// X25519(k, u), RFC 7748 §5.
fn x25519(scalar: &[u8; 32], u: &[u8; 32]) -> [u8; 32] {
    let mut k = *scalar;
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    let x1 = fe_from_bytes(u);
    let (mut x2, mut z2, mut x3, mut z3): (Fe, Fe, Fe, Fe) = ([1, 0, 0, 0, 0], [0; 5], x1, [1, 0, 0, 0, 0]);
    let mut swap = 0u64;
    for t in (0..255).rev() {
        let bit = ((k[t / 8] >> (t % 8)) & 1) as u64;
        swap ^= bit;
        fe_cswap(swap, &mut x2, &mut x3);
        fe_cswap(swap, &mut z2, &mut z3);
        swap = bit;
        let a = fe_add(&x2, &z2);
        let aa = fe_sq(&a);
        let b = fe_sub(&x2, &z2);
        let bb = fe_sq(&b);
        let e = fe_sub(&aa, &bb);
        let c = fe_add(&x3, &z3);
        let d = fe_sub(&x3, &z3);
        let da = fe_mul(&d, &a);
        let cb = fe_mul(&c, &b);
        x3 = fe_sq(&fe_add(&da, &cb));
        z3 = fe_mul(&x1, &fe_sq(&fe_sub(&da, &cb)));
        x2 = fe_mul(&aa, &bb);
        z2 = fe_mul(&e, &fe_add(&aa, &fe_mul_small(&e, 121665)));
    }
    fe_cswap(swap, &mut x2, &mut x3);
    fe_cswap(swap, &mut z2, &mut z3);
    fe_to_bytes(&fe_mul(&x2, &fe_invert(&z2)))
}

const BASE_POINT: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = 9;
    b
};

// ---------- SHA-256, HMAC, HKDF ----------

const K256: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
];

struct Sha256 {
    state: [u32; 8],
    block: [u8; 64],
    used: usize,
    total: u64,
}

impl Sha256 {
    fn new() -> Sha256 {
        Sha256 {
            state: [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19],
            block: [0; 64],
            used: 0,
            total: 0,
        }
    }

    fn compress(state: &mut [u32; 8], block: &[u8; 64]) {
        let mut w = [0u32; 64];
        for i in 0..16 {
            w[i] = u32::from_be_bytes(block[i * 4..i * 4 + 4].try_into().unwrap());
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = h.wrapping_add(s1).wrapping_add(ch).wrapping_add(K256[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *s = s.wrapping_add(v);
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        while !data.is_empty() {
            let take = (64 - self.used).min(data.len());
            self.block[self.used..self.used + take].copy_from_slice(&data[..take]);
            self.used += take;
            data = &data[take..];
            if self.used == 64 {
                Sha256::compress(&mut self.state, &self.block);
                self.used = 0;
            }
        }
    }

    fn finish(mut self) -> [u8; 32] {
        let bits = self.total * 8;
        self.update(&[0x80]);
        while self.used != 56 {
            self.update(&[0]);
        }
        self.update(&bits.to_be_bytes());
        let mut out = [0u8; 32];
        for (i, s) in self.state.iter().enumerate() {
            out[i * 4..i * 4 + 4].copy_from_slice(&s.to_be_bytes());
        }
        out
    }
}

/// HMAC-SHA256 over the concatenation of `parts`.
fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        let mut h = Sha256::new();
        h.update(key);
        k[..32].copy_from_slice(&h.finish());
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    let mut pad = [0u8; 64];
    for i in 0..64 {
        pad[i] = k[i] ^ 0x36;
    }
    inner.update(&pad);
    for p in parts {
        inner.update(p);
    }
    let inner = inner.finish();
    let mut outer = Sha256::new();
    for i in 0..64 {
        pad[i] = k[i] ^ 0x5c;
    }
    outer.update(&pad);
    outer.update(&inner);
    outer.finish()
}

fn extract(salt: &[u8], ikm: &[&[u8]]) -> [u8; 32] {
    hmac(if salt.is_empty() { &[0u8; 32] } else { salt }, ikm)
}

fn expand(prk: &[u8], info: &[&[u8]], out: &mut [u8]) {
    let mut previous: [u8; 32] = [0; 32];
    let mut have_previous = false;
    for (i, chunk) in out.chunks_mut(32).enumerate() {
        let counter = [(i + 1) as u8];
        let mut parts: Vec<&[u8]> = Vec::with_capacity(info.len() + 2);
        if have_previous {
            parts.push(&previous);
        }
        parts.extend_from_slice(info);
        parts.push(&counter);
        let t = hmac(prk, &parts);
        chunk.copy_from_slice(&t[..chunk.len()]);
        previous = t;
        have_previous = true;
    }
}

// ---------- HPKE (RFC 9180 §4, §5.1, §7.1) ----------

const KEM_SUITE: &[u8] = b"KEM\x00\x20";
const HPKE_SUITE: &[u8] = b"HPKE\x00\x20\x00\x01\x00\x01"; // X25519/HKDF-SHA256, HKDF-SHA256, AES-128-GCM

fn labeled_extract(suite: &[u8], salt: &[u8], label: &[u8], ikm: &[u8]) -> [u8; 32] {
    extract(salt, &[b"HPKE-v1", suite, label, ikm])
}

fn labeled_expand(suite: &[u8], prk: &[u8], label: &[u8], info: &[u8], out: &mut [u8]) {
    let length = (out.len() as u16).to_be_bytes();
    expand(prk, &[&length, b"HPKE-v1", suite, label, info], out);
}

fn derive_key_pair(ikm: &[u8]) -> ([u8; 32], [u8; 32]) {
    let prk = labeled_extract(KEM_SUITE, &[], b"dkp_prk", ikm);
    let mut sk = [0u8; 32];
    labeled_expand(KEM_SUITE, &prk, b"sk", &[], &mut sk);
    (sk, x25519(&sk, &BASE_POINT))
}

fn dh(sk: &[u8; 32], pk: &[u8; 32]) -> Option<[u8; 32]> {
    let shared = x25519(sk, pk);
    if shared == [0u8; 32] {
        None
    } else {
        Some(shared)
    }
}

fn shared_secret(dh: &[u8; 32], enc: &[u8; 32], pk_r: &[u8; 32]) -> [u8; 32] {
    let prk = labeled_extract(KEM_SUITE, &[], b"eae_prk", dh);
    let mut context = [0u8; 64];
    context[..32].copy_from_slice(enc);
    context[32..].copy_from_slice(pk_r);
    let mut out = [0u8; 32];
    labeled_expand(KEM_SUITE, &prk, b"shared_secret", &context, &mut out);
    out
}

struct Context {
    key: Aes128,
    base_nonce: [u8; 12],
    exporter: [u8; 32],
    raw_key: [u8; 16],
    seq: u64,
}

fn key_schedule(shared: &[u8; 32], info: &[u8]) -> Context {
    let psk_id_hash = labeled_extract(HPKE_SUITE, &[], b"psk_id_hash", &[]);
    let info_hash = labeled_extract(HPKE_SUITE, &[], b"info_hash", info);
    let mut context = [0u8; 65];
    context[1..33].copy_from_slice(&psk_id_hash);
    context[33..].copy_from_slice(&info_hash);
    let secret = labeled_extract(HPKE_SUITE, shared, b"secret", &[]);
    let mut raw_key = [0u8; 16];
    let mut base_nonce = [0u8; 12];
    let mut exporter = [0u8; 32];
    labeled_expand(HPKE_SUITE, &secret, b"key", &context, &mut raw_key);
    labeled_expand(HPKE_SUITE, &secret, b"base_nonce", &context, &mut base_nonce);
    labeled_expand(HPKE_SUITE, &secret, b"exp", &context, &mut exporter);
    Context { key: Aes128::new(&raw_key), base_nonce, exporter, raw_key, seq: 0 }
}

impl Context {
    fn nonce(&self) -> [u8; 12] {
        let mut nonce = self.base_nonce;
        for (n, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *n ^= s;
        }
        nonce
    }

    fn seal(&mut self, aad: &[u8], pt: &[u8]) -> Vec<u8> {
        let ct = gcm_seal(&self.key, &self.nonce(), aad, pt);
        self.seq += 1;
        ct
    }

    fn open(&mut self, aad: &[u8], ct: &[u8]) -> Option<Vec<u8>> {
        let pt = gcm_open(&self.key, &self.nonce(), aad, ct)?;
        self.seq += 1;
        Some(pt)
    }

    fn export(&self, exporter_context: &[u8], out: &mut [u8]) {
        labeled_expand(HPKE_SUITE, &self.exporter, b"sec", exporter_context, out);
    }
}

/// SetupBaseS with the ephemeral key derived from `ikm_e`: (shared secret, enc, context).
fn setup_base_s(pk_r: &[u8; 32], info: &[u8], ikm_e: &[u8]) -> Option<([u8; 32], [u8; 32], Context)> {
    let (sk_e, pk_e) = derive_key_pair(ikm_e);
    let shared = shared_secret(&dh(&sk_e, pk_r)?, &pk_e, pk_r);
    Some((shared, pk_e, key_schedule(&shared, info)))
}

fn setup_base_r(enc: &[u8; 32], sk_r: &[u8; 32], pk_r: &[u8; 32], info: &[u8]) -> Option<Context> {
    let shared = shared_secret(&dh(sk_r, enc)?, enc, pk_r);
    Some(key_schedule(&shared, info))
}

// ---------- AES-128 (FIPS 197) and GCM ----------

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

struct Aes128 {
    rk: [u32; 44],
}

impl Aes128 {
    fn new(key: &[u8; 16]) -> Aes128 {
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

fn gcm_seal(key: &Aes128, nonce: &[u8; 12], aad: &[u8], pt: &[u8]) -> Vec<u8> {
    let h = u128::from_be_bytes(key.encrypt(&[0u8; 16]));
    let mut out = Vec::with_capacity(pt.len() + 16);
    out.extend_from_slice(pt);
    let mask = gcm_ctr(key, nonce, &mut out);
    let tag = ghash(h, aad, &out) ^ mask;
    out.extend_from_slice(&tag.to_be_bytes());
    out
}

fn gcm_open(key: &Aes128, nonce: &[u8; 12], aad: &[u8], ct: &[u8]) -> Option<Vec<u8>> {
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

// ---------- the exports ----------

const BUFFER_SIZE: usize = 16 * 1024;
static mut BUFFER: [u8; BUFFER_SIZE] = [0; BUFFER_SIZE];

fn io() -> &'static mut [u8; BUFFER_SIZE] {
    // Single-threaded guest; the host never calls in re-entrantly.
    unsafe { &mut *std::ptr::addr_of_mut!(BUFFER) }
}

#[no_mangle]
pub extern "C" fn buffer() -> i32 {
    io().as_ptr() as i32
}

/// Reads length-prefixed fields from the input.
struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.data.len() < n {
            return None;
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Some(head)
    }

    fn u16(&mut self) -> Option<usize> {
        self.take(2).map(|b| (b[0] as usize) << 8 | b[1] as usize)
    }

    fn var(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n)
    }

    fn key(&mut self) -> Option<[u8; 32]> {
        self.take(32).map(|b| b.try_into().unwrap())
    }
}

/// Input: ikmE(32) ikmR(32) info(u16-prefixed) pt(u16-prefixed) n(u8) then n × { seq(u64) aad(u16-prefixed) }
/// m(u8) then m × exporter context(u16-prefixed).
/// Output: skR pkR enc shared_secret key(16) base_nonce(12) exporter_secret, then per encryption the sender's
/// ciphertext and the receiver's plaintext, then per exporter context the receiver's 32-byte export.
fn run_vector(input: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader { data: input };
    let ikm_e = r.take(32)?;
    let ikm_r = r.take(32)?;
    let info = r.var()?;
    let pt = r.var()?;
    let (sk_r, pk_r) = derive_key_pair(ikm_r);
    let (shared, enc, mut sender) = setup_base_s(&pk_r, info, ikm_e)?;
    let mut receiver = setup_base_r(&enc, &sk_r, &pk_r, info)?;
    let mut out = Vec::new();
    for part in [&sk_r[..], &pk_r, &enc, &shared, &sender.raw_key, &sender.base_nonce, &sender.exporter] {
        out.extend_from_slice(part);
    }
    let n = r.take(1)?[0];
    for _ in 0..n {
        let seq = u64::from_be_bytes(r.take(8)?.try_into().unwrap());
        let aad = r.var()?;
        sender.seq = seq;
        receiver.seq = seq;
        let ct = sender.seal(aad, pt);
        out.extend_from_slice(&ct);
        out.extend_from_slice(&receiver.open(aad, &ct)?);
    }
    let m = r.take(1)?[0];
    for _ in 0..m {
        let mut value = [0u8; 32];
        receiver.export(r.var()?, &mut value);
        out.extend_from_slice(&value);
    }
    Some(out)
}

#[no_mangle]
pub extern "C" fn vector(len: i32) -> i32 {
    let buf = io();
    let input = buf[..(len as usize).min(BUFFER_SIZE)].to_vec();
    match run_vector(&input) {
        Some(out) if out.len() <= BUFFER_SIZE => {
            buf[..out.len()].copy_from_slice(&out);
            out.len() as i32
        }
        _ => -1,
    }
}

/// The ODoH target's crypto for one query (RFC 9230 §6.4–6.5 shapes): open the query under skR, derive the
/// response key and nonce from the context's export, seal a 468-byte answer.
fn odoh_query(sk_r: &[u8; 32], pk_r: &[u8; 32], enc: &[u8; 32], ct: &[u8], answer: &[u8]) -> Option<Vec<u8>> {
    let mut receiver = setup_base_r(enc, sk_r, pk_r, b"odoh query")?;
    let query = receiver.open(&[], ct)?;
    let mut secret = [0u8; 16];
    receiver.export(b"odoh response", &mut secret);
    let prk = extract(&query, &[&secret]);
    let mut key = [0u8; 16];
    let mut nonce = [0u8; 12];
    expand(&prk, &[b"odoh key"], &mut key);
    expand(&prk, &[b"odoh nonce"], &mut nonce);
    Some(gcm_seal(&Aes128::new(&key), &nonce, &[], answer))
}

/// Input: skR pkR enc (32 each), ct (u16-prefixed).
#[no_mangle]
pub extern "C" fn odoh_target(len: i32, iterations: i32) -> i32 {
    let buf = io();
    let input = buf[..(len as usize).min(BUFFER_SIZE)].to_vec();
    let mut r = Reader { data: &input };
    let parsed = (|| Some((r.key()?, r.key()?, r.key()?, r.var()?)))();
    let (sk_r, pk_r, enc, ct) = match parsed {
        Some(p) => p,
        None => return -1,
    };
    let answer = [0u8; 468];
    let mut last = Vec::new();
    for _ in 0..iterations.max(1) {
        last = match odoh_query(&sk_r, &pk_r, &enc, ct, &answer) {
            Some(sealed) => sealed,
            None => return -1,
        };
    }
    buf[..last.len()].copy_from_slice(&last);
    last.len() as i32
}
