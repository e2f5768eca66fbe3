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

// X25519, SHA-256/HMAC/HKDF and AES-128-GCM, each in guests/tests/hpke/ (not guests themselves: build-guests.sh
// builds only the .rs files directly in guests/tests).
#[path = "hpke/x25519.rs"]
mod x25519;
#[path = "hpke/sha256.rs"]
mod sha256;
#[path = "hpke/aes_gcm.rs"]
mod aes_gcm;
use aes_gcm::*;
use sha256::*;
use x25519::*;

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
