//! The SDK's wrappers of phase frame, the crypto hostcalls, sockets, resolve and HTTP (docs/plugins.md). Part of
//! the `ananas` SDK module: lib.rs includes it.
use super::*;

/// Hostcalls of phase frame, crypto and operations with results. Declared apart so that a guest importing none
/// of them (the linker drops unused imports) still loads on a host without them.
pub(crate) mod raw_ext {
    #[link(wasm_import_module = "ananas")]
    extern "C" {
        pub fn frame_request(buf: i32, cap: i32) -> i32;
        pub fn frame_reply(status: i32, ctype: i32, ctype_len: i32, body: i32, body_len: i32) -> i32;
        pub fn resolve_start(msg: i32, len: i32) -> i32;
        pub fn http_post_start(url: i32, url_len: i32, ctype: i32, ctype_len: i32, body: i32, body_len: i32) -> i32;
        pub fn op_result(handle: i32, buf: i32, cap: i32) -> i32;
        pub fn hpke_key_configs(buf: i32, cap: i32) -> i32;
        pub fn hpke_setup_receiver(key_id: i32, key_id_len: i32, enc: i32, enc_len: i32, info: i32, info_len: i32) -> i32;
        pub fn hpke_open(ctx: i32, aad: i32, aad_len: i32, ct: i32, ct_len: i32, out: i32, cap: i32) -> i32;
        pub fn hpke_seal(ctx: i32, aad: i32, aad_len: i32, pt: i32, pt_len: i32, out: i32, cap: i32) -> i32;
        pub fn hpke_export(ctx: i32, exp: i32, exp_len: i32, out: i32, len: i32) -> i32;
        pub fn hpke_close(ctx: i32) -> i32;
        pub fn hkdf_extract(salt: i32, salt_len: i32, ikm: i32, ikm_len: i32, out: i32) -> i32;
        pub fn hkdf_expand(prk: i32, prk_len: i32, info: i32, info_len: i32, out: i32, len: i32) -> i32;
        pub fn aead_seal(aead: i32, key: i32, key_len: i32, nonce: i32, nonce_len: i32, aad: i32, aad_len: i32, pt: i32, pt_len: i32, out: i32, cap: i32) -> i32;
        pub fn aead_open(aead: i32, key: i32, key_len: i32, nonce: i32, nonce_len: i32, aad: i32, aad_len: i32, ct: i32, ct_len: i32, out: i32, cap: i32) -> i32;
        pub fn random_bytes(buf: i32, len: i32) -> i32;
        pub fn socket_open(kind: i32, addr: i32, addr_len: i32) -> i32;
        pub fn socket_send(id: i32, data: i32, len: i32) -> i32;
        pub fn socket_recv(id: i32, cap: i32) -> i32;
        pub fn socket_close(id: i32) -> i32;
        pub fn register_periodic(interval_ms: i32, callback_id: i32) -> i32;
        pub fn data_fetch_start(table: i32, table_len: i32, url: i32, url_len: i32) -> i32;
    }
}

/// Awaits a host operation that yields bytes (resolve, HTTP) and reads its result.
pub(crate) async fn operation_result(handle: i32) -> Result<Vec<u8>, HostError> {
    HostOperation::new(handle).await?;
    read_growing(4096, |buf, cap| unsafe { raw_ext::op_result(handle, buf, cap) })
}

/// Resolves a DNS query (wire format) through the server's pipeline (cache, recursor, other plugins); the reply.
pub async fn resolve(query: &[u8]) -> Result<Vec<u8>, HostError> {
    operation_result(unsafe { raw_ext::resolve_start(ptr(query), query.len() as i32) }).await
}

/// POSTs `body` to `url`, whose origin must be on the plugin's `http-allow` list (else `NotAllowed`): (status, body).
pub async fn http_post(url: &str, content_type: &str, body: &[u8]) -> Result<(u16, Vec<u8>), HostError> {
    let handle = unsafe {
        raw_ext::http_post_start(ptr(url.as_bytes()), url.len() as i32, ptr(content_type.as_bytes()), content_type.len() as i32, ptr(body), body.len() as i32)
    };
    let result = operation_result(handle).await?;
    if result.len() < 2 {
        return Err(HostError::Other(-5));
    }
    Ok((u16::from_be_bytes([result[0], result[1]]), result[2..].to_vec()))
}

/// Phase frame: the HTTP request the DoH listener handed to guests, and the reply.
pub mod frame {
    use super::*;

    /// (method, path with query, content type).
    pub fn request_head() -> Result<(String, String, String), HostError> {
        let head = read_growing(512, |buf, cap| unsafe { raw_ext::frame_request(buf, cap) })?;
        let head = String::from_utf8_lossy(&head).into_owned();
        let (line, content_type) = head.split_once('\n').unwrap_or((head.as_str(), ""));
        let (method, target) = line.split_once(' ').unwrap_or((line, ""));
        Ok((method.to_string(), target.to_string(), content_type.to_string()))
    }

    /// The request body.
    pub fn body() -> Result<Vec<u8>, HostError> {
        read_growing(1024, |buf, cap| unsafe { raw::request_message(buf, cap) })
    }

    /// Sets the reply; the callback then returns `Verdict::Answer`.
    pub fn reply(status: u16, content_type: &str, body: &[u8]) -> Result<(), HostError> {
        check(unsafe { raw_ext::frame_reply(status as i32, ptr(content_type.as_bytes()), content_type.len() as i32, ptr(body), body.len() as i32) }).map(|_| ())
    }
}

/// HPKE (RFC 9180) with the host's keys, HKDF-SHA256, AEADs, randomness: all computed by the host.
pub mod crypto {
    use super::*;

    /// The host key set as ObliviousDoHConfigs (RFC 9230 §6).
    pub fn key_configs() -> Result<Vec<u8>, HostError> {
        read_growing(256, |buf, cap| unsafe { raw_ext::hpke_key_configs(buf, cap) })
    }

    /// An HPKE receiver context for the host key with this key id (`NotFound`: no such key, or expired).
    pub struct Receiver(i32);

    impl Receiver {
        pub fn setup(key_id: &[u8], enc: &[u8], info: &[u8]) -> Result<Receiver, HostError> {
            check(unsafe { raw_ext::hpke_setup_receiver(ptr(key_id), key_id.len() as i32, ptr(enc), enc.len() as i32, ptr(info), info.len() as i32) }).map(Receiver)
        }
        pub fn open(&self, aad: &[u8], ct: &[u8]) -> Result<Vec<u8>, HostError> {
            if ct.len() < 16 { return Err(HostError::InvalidArgument); }
            let mut out = vec![0u8; ct.len() - 16];
            let n = check(unsafe { raw_ext::hpke_open(self.0, ptr(aad), aad.len() as i32, ptr(ct), ct.len() as i32, mut_ptr(&mut out), out.len() as i32) })?;
            out.truncate(n as usize);
            Ok(out)
        }
        pub fn seal(&self, aad: &[u8], pt: &[u8]) -> Result<Vec<u8>, HostError> {
            let mut out = vec![0u8; pt.len() + 16];
            check(unsafe { raw_ext::hpke_seal(self.0, ptr(aad), aad.len() as i32, ptr(pt), pt.len() as i32, mut_ptr(&mut out), out.len() as i32) })?;
            Ok(out)
        }
        pub fn export(&self, context: &[u8], len: usize) -> Result<Vec<u8>, HostError> {
            let mut out = vec![0u8; len];
            check(unsafe { raw_ext::hpke_export(self.0, ptr(context), context.len() as i32, mut_ptr(&mut out), len as i32) })?;
            Ok(out)
        }
    }

    impl Drop for Receiver {
        fn drop(&mut self) {
            unsafe { raw_ext::hpke_close(self.0) };
        }
    }

    pub fn hkdf_extract(salt: &[u8], ikm: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        unsafe { raw_ext::hkdf_extract(ptr(salt), salt.len() as i32, ptr(ikm), ikm.len() as i32, mut_ptr(&mut out)) };
        out
    }

    pub fn hkdf_expand(prk: &[u8], info: &[u8], len: usize) -> Result<Vec<u8>, HostError> {
        let mut out = vec![0u8; len];
        check(unsafe { raw_ext::hkdf_expand(ptr(prk), prk.len() as i32, ptr(info), info.len() as i32, mut_ptr(&mut out), len as i32) })?;
        Ok(out)
    }

    /// Seal with AEAD `aead` (1 AES-128-GCM, 3 ChaCha20-Poly1305): ciphertext and tag.
    pub fn aead_seal(aead: u16, key: &[u8], nonce: &[u8], aad: &[u8], pt: &[u8]) -> Result<Vec<u8>, HostError> {
        let mut out = vec![0u8; pt.len() + 16];
        check(unsafe {
            raw_ext::aead_seal(aead as i32, ptr(key), key.len() as i32, ptr(nonce), nonce.len() as i32, ptr(aad), aad.len() as i32, ptr(pt), pt.len() as i32, mut_ptr(&mut out), out.len() as i32)
        })?;
        Ok(out)
    }

    pub fn aead_open(aead: u16, key: &[u8], nonce: &[u8], aad: &[u8], ct: &[u8]) -> Result<Vec<u8>, HostError> {
        if ct.len() < 16 { return Err(HostError::InvalidArgument); }
        let mut out = vec![0u8; ct.len() - 16];
        check(unsafe {
            raw_ext::aead_open(aead as i32, ptr(key), key.len() as i32, ptr(nonce), nonce.len() as i32, ptr(aad), aad.len() as i32, ptr(ct), ct.len() as i32, mut_ptr(&mut out), out.len() as i32)
        })?;
        Ok(out)
    }

    pub fn random_bytes(buf: &mut [u8]) {
        unsafe { raw_ext::random_bytes(mut_ptr(buf), buf.len() as i32) };
    }
}

/// Host-owned sockets: only to destinations on the plugin's `socket-allow` list, within the callback's byte
/// and time limits; closed when dropped or when the callback ends.
pub mod net {
    use super::*;

    pub struct Socket(i32);

    impl Socket {
        /// A UDP socket to `ip:port` (`NotAllowed` when it is not on the allow-list).
        pub fn udp(destination: &str) -> Result<Socket, HostError> {
            check(unsafe { raw_ext::socket_open(0, ptr(destination.as_bytes()), destination.len() as i32) }).map(Socket)
        }

        /// A TCP connection to `ip:port` (connected by the first send or receive).
        pub fn tcp(destination: &str) -> Result<Socket, HostError> {
            check(unsafe { raw_ext::socket_open(1, ptr(destination.as_bytes()), destination.len() as i32) }).map(Socket)
        }

        pub async fn send(&self, data: &[u8]) -> Result<(), HostError> {
            let handle = check(unsafe { raw_ext::socket_send(self.0, ptr(data), data.len() as i32) })?;
            HostOperation::new(handle).await
        }

        /// Up to `max` bytes (one datagram for UDP).
        pub async fn recv(&self, max: usize) -> Result<Vec<u8>, HostError> {
            let handle = check(unsafe { raw_ext::socket_recv(self.0, max as i32) })?;
            HostOperation::new(handle).await?;
            read_growing(max.max(1), |buf, cap| unsafe { raw_ext::op_result(handle, buf, cap) })
        }
    }

    impl Drop for Socket {
        fn drop(&mut self) {
            unsafe { raw_ext::socket_close(self.0) };
        }
    }
}
