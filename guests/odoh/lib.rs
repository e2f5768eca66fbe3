//! Oblivious DNS over HTTPS (RFC 9230) at phase frame on the DoH listener.
//!
//! Arguments (space or comma separated): `target` (decrypt, resolve through the pipeline, encrypt; serve
//! /.well-known/odohconfigs from the host's key set) and/or `proxy` (forward an opaque query to
//! `targethost`/`targetpath`; the host allows only the origins of the plugin's `http-allow`). HPKE is the
//! host's: the private keys never enter this guest, which names them by key id.

#[path = "../sdk/lib.rs"]
mod ananas;

use ananas::crypto::{self, Receiver};
use ananas::{frame, HostError, Phase, Request, Verdict};
use std::cell::Cell;

const MEDIA_TYPE: &str = "application/oblivious-dns-message";
const QUERY: u8 = 0x01;
const RESPONSE: u8 = 0x02;
const NN: usize = 12;
/// RFC 8467 §4.1: responses padded to a multiple of 468 bytes.
const RESPONSE_BLOCK: usize = 468;

thread_local! {
    static TARGET: Cell<bool> = Cell::new(false);
    static PROXY: Cell<bool> = Cell::new(false);
    /// The key set's AEAD id once read (0: not yet). Fixed for the plugin's life: a rotation keeps it.
    static AEAD: Cell<u16> = Cell::new(0);
}

fn start(args: &str) -> Result<(), String> {
    for word in args.split(|c: char| c == ' ' || c == ',').filter(|w| !w.is_empty()) {
        match word {
            "target" => TARGET.with(|t| t.set(true)),
            "proxy" => PROXY.with(|p| p.set(true)),
            other => return Err(format!("unknown argument '{}' (expected target and/or proxy)", other)),
        }
    }
    if !TARGET.with(|t| t.get()) && !PROXY.with(|p| p.get()) {
        return Err("no role: give target and/or proxy".to_string());
    }
    ananas::register_async(Phase::Frame, on_frame);
    Ok(())
}

ananas::plugin!(start);

fn reply(status: u16, content_type: &str, body: &[u8]) -> Verdict {
    match frame::reply(status, content_type, body) {
        Ok(()) => Verdict::Answer,
        Err(_) => Verdict::Continue,
    }
}

fn error(status: u16, why: &str) -> Verdict {
    ananas::counter_add(if status >= 500 { "errors_upstream" } else { "errors_client" }, 1);
    reply(status, "text/plain; charset=utf-8", why.as_bytes())
}

async fn on_frame(_req: Request) -> Verdict {
    let (method, target, content_type) = match frame::request_head() {
        Ok(head) => head,
        Err(_) => return Verdict::Continue,
    };
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let target_role = TARGET.with(|t| t.get());
    let proxy_role = PROXY.with(|p| p.get());
    if target_role && path == "/.well-known/odohconfigs" && (method == "GET" || method == "HEAD") {
        return match crypto::key_configs() {
            Ok(configs) => reply(200, "application/octet-stream", &configs),
            Err(_) => error(503, "no ODoH keys configured"),
        };
    }
    if method != "POST" || media != MEDIA_TYPE {
        return Verdict::Continue;
    }
    let body = match frame::body() {
        Ok(body) => body,
        Err(_) => return error(400, "unreadable body"),
    };
    if proxy_role && query.contains("targethost=") {
        return forward(query, &body).await;
    }
    if target_role && path == "/dns-query" {
        return answer(&body).await;
    }
    Verdict::Continue
}

// ---- Proxy (RFC 9230 §5) ----

fn query_parameter(query: &str, name: &str) -> Option<String> {
    for pair in query.split('&') {
        if let Some((key, value)) = pair.split_once('=') {
            if key == name {
                return percent_decode(value);
            }
        }
    }
    None
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn forward(query: &str, body: &[u8]) -> Verdict {
    let host = query_parameter(query, "targethost");
    let path = query_parameter(query, "targetpath");
    let (host, path) = match (host, path) {
        (Some(h), Some(p)) if !h.is_empty() && p.starts_with('/') => (h, p),
        _ => return error(400, "targethost and targetpath are required (RFC 9230 §4.1)"),
    };
    // A host with a path, user info or a query would change the origin the allow-list checks.
    if host.contains(|c: char| c == '/' || c == '@' || c == '?' || c == '#') {
        return error(400, "targethost is not a host[:port]");
    }
    let url = format!("https://{}{}", host, path);
    match ananas::http_post(&url, MEDIA_TYPE, body).await {
        Ok((status, answer)) => {
            ananas::counter_add("proxied", 1);
            reply(status, MEDIA_TYPE, &answer)
        }
        Err(HostError::NotAllowed) => error(403, "target is not on this proxy's allow-list"),
        Err(_) => error(502, "the target did not answer"),
    }
}

// ---- Target (RFC 9230 §6) ----

fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]) as usize)
}

/// ObliviousDoHMessage: (message_type, key_id, encrypted_message); None when malformed.
fn parse_message(body: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let kind = *body.first()?;
    let id_len = u16_at(body, 1)?;
    let key_id = body.get(3..3 + id_len)?;
    let enc_len = u16_at(body, 3 + id_len)?;
    let encrypted = body.get(5 + id_len..5 + id_len + enc_len)?;
    if 5 + id_len + enc_len != body.len() || encrypted.is_empty() {
        return None;
    }
    Some((kind, key_id, encrypted))
}

/// ObliviousDoHMessagePlaintext: the DNS message; None when malformed or the padding is not all zeros.
fn parse_plaintext(plain: &[u8]) -> Option<&[u8]> {
    let len = u16_at(plain, 0)?;
    let message = plain.get(2..2 + len)?;
    let pad_len = u16_at(plain, 2 + len)?;
    let padding = plain.get(4 + len..4 + len + pad_len)?;
    if 4 + len + pad_len != plain.len() || message.is_empty() || padding.iter().any(|&b| b != 0) {
        return None;
    }
    Some(message)
}

fn with_length(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The AEAD id of the host key set (every key of one set shares it): from the first config, read once.
fn aead_id() -> Option<u16> {
    let known = AEAD.with(|a| a.get());
    if known != 0 {
        return Some(known);
    }
    let configs = crypto::key_configs().ok()?;
    let aead = u16::from_be_bytes([*configs.get(10)?, *configs.get(11)?]);
    AEAD.with(|a| a.set(aead));
    Some(aead)
}

async fn answer(body: &[u8]) -> Verdict {
    let (kind, key_id, encrypted) = match parse_message(body) {
        Some(m) => m,
        None => return error(400, "not an ObliviousDoHMessage"),
    };
    if kind != QUERY || encrypted.len() < 32 + 16 {
        return error(400, "not an oblivious query");
    }
    let (enc, ct) = encrypted.split_at(32);
    let receiver = match Receiver::setup(key_id, enc, b"odoh query") {
        Ok(r) => r,
        // RFC 9230 §7: a key id the target does not hold asks the client to fetch the configuration again.
        Err(HostError::NotFound) => return error(401, "unknown key id: fetch /.well-known/odohconfigs again"),
        Err(_) => return error(400, "bad encapsulated key"),
    };
    let mut aad = vec![QUERY];
    with_length(&mut aad, key_id);
    let q_plain = match receiver.open(&aad, ct) {
        Ok(p) => p,
        Err(_) => return error(400, "the query does not decrypt"),
    };
    let query = match parse_plaintext(&q_plain) {
        Some(q) => q,
        None => return error(400, "malformed plaintext or non-zero padding"),
    };
    // A query the pipeline does not answer (not a DNS query at all) still gets an encrypted reply: FORMERR
    // with the query's ID (RFC 1035 §4.1.1), so the client learns it through the oblivious channel.
    let response = match ananas::resolve(query).await {
        Ok(r) if !r.is_empty() => r,
        _ => {
            let id = if query.len() >= 2 { [query[0], query[1]] } else { [0, 0] };
            vec![id[0], id[1], 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]
        }
    };
    let aead = match aead_id() {
        Some(a) => a,
        None => return error(500, "no key set"),
    };
    let nk = if aead == 1 { 16 } else { 32 };
    let mut r_plain = Vec::with_capacity(response.len() + RESPONSE_BLOCK);
    with_length(&mut r_plain, &response);
    let padded = (r_plain.len() + 2 + RESPONSE_BLOCK - 1) / RESPONSE_BLOCK * RESPONSE_BLOCK;
    let pad = padded - r_plain.len() - 2;
    r_plain.extend_from_slice(&(pad as u16).to_be_bytes());
    r_plain.resize(padded, 0);

    // §6.4: the response key comes from the query's HPKE context and a fresh nonce.
    let secret = match receiver.export(b"odoh response", nk) {
        Ok(s) => s,
        Err(_) => return error(500, "export failed"),
    };
    let mut response_nonce = vec![0u8; if nk > NN { nk } else { NN }];
    crypto::random_bytes(&mut response_nonce);
    let mut salt = q_plain.clone();
    with_length(&mut salt, &response_nonce);
    let prk = crypto::hkdf_extract(&salt, &secret);
    let (key, nonce) = match (crypto::hkdf_expand(&prk, b"odoh key", nk), crypto::hkdf_expand(&prk, b"odoh nonce", NN)) {
        (Ok(k), Ok(n)) => (k, n),
        _ => return error(500, "key derivation failed"),
    };
    let mut aad = vec![RESPONSE];
    with_length(&mut aad, &response_nonce);
    let sealed = match crypto::aead_seal(aead, &key, &nonce, &aad, &r_plain) {
        Ok(s) => s,
        Err(_) => return error(500, "seal failed"),
    };
    let mut message = vec![RESPONSE];
    with_length(&mut message, &response_nonce);
    with_length(&mut message, &sealed);
    ananas::counter_add("answered", 1);
    reply(200, MEDIA_TYPE, &message)
}
