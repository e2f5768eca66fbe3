//! X25519 (RFC 7748) on five 51-bit limbs: field arithmetic mod p = 2^255 - 19 and the Montgomery ladder. Part of
//! the hpke test guest (guests/tests/hpke.rs includes it).

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
pub(crate) fn x25519(scalar: &[u8; 32], u: &[u8; 32]) -> [u8; 32] {
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

pub(crate) const BASE_POINT: [u8; 32] = {
    let mut b = [0u8; 32];
    b[0] = 9;
    b
};
