//! The Ananas guest SDK: safe Rust over the plugin ABI v1 (docs/plugins.md).
//!
//! No external crates (there is no cargo dependency resolution offline), so a guest includes this file as a
//! module named `ananas` and invokes the `plugin!` macro once:
//!
//! ```ignore
//! #[path = "../sdk/lib.rs"]
//! mod ananas;
//! use ananas::{Phase, Request, Verdict};
//!
//! fn start(args: &str) -> Result<(), String> {
//!     ananas::register(Phase::Request, |req: &Request| {
//!         if req.qname() == "blocked.example" { Verdict::Refuse } else { Verdict::Continue }
//!     });
//!     Ok(())
//! }
//! ananas::plugin!(start);
//! ```
//!
//! Build: `/usr/bin/rustc --target wasm32-unknown-unknown -O --crate-type cdylib guest.rs` (see
//! scripts/build-guests.sh). Everything here runs on the single thread of one instance; the host never enters
//! an instance twice at once, so the statics below need no locking.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// The ABI version this SDK speaks.
pub const ABI_VERSION: i32 = 1;

// ---------------------------------------------------------------------------------------------------------
// Raw hostcalls.
// ---------------------------------------------------------------------------------------------------------

mod raw {
    #[link(wasm_import_module = "ananas")]
    extern "C" {
        pub fn register_callback(phase: i32, callback_id: i32) -> i32;
        pub fn request_edns_option(code: i32, buf: i32, cap: i32) -> i32;
        pub fn request_message(buf: i32, cap: i32) -> i32;
        pub fn response_set_rcode(rcode: i32) -> i32;
        pub fn response_set_flag(flag: i32, value: i32) -> i32;
        pub fn response_clear(section: i32) -> i32;
        pub fn response_add_record(section: i32, text: i32, len: i32) -> i32;
        pub fn response_set_ede(code: i32, text: i32, len: i32) -> i32;
        pub fn response_record_count(section: i32) -> i32;
        pub fn response_read_record(section: i32, index: i32, buf: i32, cap: i32) -> i32;
        pub fn data_match_suffix(table: i32, table_len: i32, name: i32, name_len: i32) -> i32;
        pub fn data_get(table: i32, table_len: i32, key: i32, key_len: i32, buf: i32, cap: i32) -> i32;
        pub fn log(level: i32, msg: i32, len: i32);
        pub fn counter_add(name: i32, len: i32, delta: i64);
        pub fn now_unix_ms() -> i64;
        pub fn monotonic_ms() -> i64;
        pub fn timer_start(delay_ms: i32) -> i32;
        pub fn op_poll(handle: i32) -> i32;
        pub fn op_wake_on(handle: i32, task_id: i32) -> i32;
        pub fn span_start(name: i32, len: i32) -> i32;
        pub fn span_end(handle: i32) -> i32;
    }
}

fn ptr(bytes: &[u8]) -> i32 {
    bytes.as_ptr() as usize as i32
}

fn mut_ptr(bytes: &mut [u8]) -> i32 {
    bytes.as_mut_ptr() as usize as i32
}

/// Errors of hostcalls (negative results, docs/plugins.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostError {
    NotFound,
    InvalidArgument,
    BufferTooSmall,
    NotAllowed,
    Other(i32),
}

impl HostError {
    fn from_code(code: i32) -> HostError {
        match code {
            -1 => HostError::NotFound,
            -2 => HostError::InvalidArgument,
            -3 => HostError::BufferTooSmall,
            -4 => HostError::NotAllowed,
            other => HostError::Other(other),
        }
    }
}

fn check(code: i32) -> Result<i32, HostError> {
    if code < 0 { Err(HostError::from_code(code)) } else { Ok(code) }
}

/// Calls a hostcall that copies a variable-length value into a buffer, growing the buffer on -3.
fn read_growing<F: Fn(i32, i32) -> i32>(initial: usize, call: F) -> Result<Vec<u8>, HostError> {
    let mut cap = initial;
    for _ in 0..4 {
        let mut buf = vec![0u8; cap];
        let n = call(mut_ptr(&mut buf), cap as i32);
        if n == -3 {
            cap *= 4;
            continue;
        }
        let n = check(n)? as usize;
        buf.truncate(n);
        return Ok(buf);
    }
    Err(HostError::BufferTooSmall)
}

// ---------------------------------------------------------------------------------------------------------
// Host data, logging, metrics, time.
// ---------------------------------------------------------------------------------------------------------

pub mod data {
    use super::*;

    /// Whether `name` or one of its parents is in the domain table `table`: the matched suffix's label count.
    pub fn match_suffix(table: &str, name: &str) -> Result<Option<u32>, HostError> {
        let r = unsafe {
            raw::data_match_suffix(ptr(table.as_bytes()), table.len() as i32, ptr(name.as_bytes()), name.len() as i32)
        };
        match r {
            -1 => Ok(None),
            _ => check(r).map(|n| Some(n as u32)),
        }
    }
    /// The value stored for `key` in the key-value table `table`.
    /// Replaces a host table's contents with the list at `url` (its origin on the plugin's `http-allow`): the
    /// host downloads and parses it; the guest gets the HTTP status. The table keeps its contents unless 200.
    pub async fn fetch(table: &str, url: &str) -> Result<u16, HostError> {
        let handle = unsafe { raw_ext::data_fetch_start(ptr(table.as_bytes()), table.len() as i32, ptr(url.as_bytes()), url.len() as i32) };
        HostOperation::new(handle).await?;
        let status = read_growing(8, |buf, cap| unsafe { raw_ext::op_result(handle, buf, cap) })?;
        if status.len() < 2 { return Err(HostError::Other(-5)); }
        Ok(u16::from_be_bytes([status[0], status[1]]))
    }

    pub fn get(table: &str, key: &str) -> Result<Option<String>, HostError> {
        let r = read_growing(128, |buf, cap| unsafe {
            raw::data_get(ptr(table.as_bytes()), table.len() as i32, ptr(key.as_bytes()), key.len() as i32, buf, cap)
        });
        match r {
            Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
            Err(HostError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
}

/// Logs a message through the host (rate-limited there).
pub fn log(level: Level, message: &str) {
    unsafe { raw::log(level as i32, ptr(message.as_bytes()), message.len() as i32) }
}

/// Adds to the counter `ananas_plugin_counter_total{plugin, name}`.
pub fn counter_add(name: &str, delta: i64) {
    unsafe { raw::counter_add(ptr(name.as_bytes()), name.len() as i32, delta) }
}

/// A tracing span around work done for a query (in a query callback): it ends when dropped, and the query's
/// line in the server's query log lists it with its start and duration. Outside a query it records nothing.
pub struct Span(i32);

impl Span {
    pub fn start(name: &str) -> Span {
        Span(unsafe { raw::span_start(ptr(name.as_bytes()), name.len() as i32) })
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        if self.0 >= 0 {
            unsafe { raw::span_end(self.0) };
        }
    }
}

pub fn now_unix_ms() -> i64 {
    unsafe { raw::now_unix_ms() }
}

pub fn monotonic_ms() -> i64 {
    unsafe { raw::monotonic_ms() }
}

// The query, the response and the executor: in request.rs and executor.rs; phase frame, cryptography, sockets,
// resolving and HTTP: in services.rs (modules of this SDK).
#[path = "request.rs"]
mod request;
pub use request::*;
#[path = "executor.rs"]
mod executor;
pub use executor::*;
pub(crate) use executor::plugin;
#[path = "services.rs"]
mod services;
pub use services::{crypto, frame, http_post, net, resolve};
use services::raw_ext;
