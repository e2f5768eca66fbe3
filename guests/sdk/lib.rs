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
// Phases, verdicts, the request region.
// ---------------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Request = 1,
    CacheLookup = 2,
    BeforeRecursion = 3,
    Upstream = 4,
    Resolved = 5,
    Response = 6,
    Frame = 7,
}

impl Phase {
    fn from_id(id: i32) -> Option<Phase> {
        match id {
            1 => Some(Phase::Request),
            2 => Some(Phase::CacheLookup),
            3 => Some(Phase::BeforeRecursion),
            4 => Some(Phase::Upstream),
            5 => Some(Phase::Resolved),
            6 => Some(Phase::Response),
            7 => Some(Phase::Frame),
            _ => None,
        }
    }
}

/// What a callback decides (callback results 0–3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Continue = 0,
    Answer = 1,
    Refuse = 2,
    Drop = 3,
}

const PENDING: i32 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Https,
    Other(u8),
}

/// Size of the request region: the ABI asks guests for at least 512 bytes (the v1 layout uses 313).
const REGION_SIZE: usize = 512;

#[repr(C, align(8))]
struct Region([u8; REGION_SIZE]);

// The host writes this before every callback; guests read it through `Request`.
static mut REGION: Region = Region([0; REGION_SIZE]);

/// A typed view of the request region: the query's common data, written by the host once per callback.
pub struct Request {
    _private: (),
}

impl Request {
    fn bytes(&self) -> &'static [u8; REGION_SIZE] {
        // Safety: single-threaded instance; the host writes the region only between guest calls.
        unsafe { &*(std::ptr::addr_of!(REGION.0)) }
    }
    fn u16_at(&self, offset: usize) -> u16 {
        let b = self.bytes();
        u16::from_le_bytes([b[offset], b[offset + 1]])
    }
    pub fn layout_version(&self) -> u16 { self.u16_at(0) }
    pub fn phase(&self) -> Option<Phase> { Phase::from_id(self.bytes()[2] as i32) }
    pub fn transport(&self) -> Transport {
        match self.bytes()[3] {
            0 => Transport::Udp,
            1 => Transport::Tcp,
            2 => Transport::Tls,
            3 => Transport::Https,
            other => Transport::Other(other),
        }
    }
    pub fn id(&self) -> u16 { self.u16_at(4) }
    pub fn flags(&self) -> u16 { self.u16_at(6) }
    pub fn recursion_desired(&self) -> bool { self.flags() & 0x0100 != 0 }
    pub fn qtype(&self) -> u16 { self.u16_at(8) }
    pub fn qclass(&self) -> u16 { self.u16_at(10) }
    pub fn has_edns(&self) -> bool { self.u16_at(12) & 1 != 0 }
    pub fn dnssec_ok(&self) -> bool { self.u16_at(12) & 2 != 0 }
    pub fn udp_payload_size(&self) -> u16 { self.u16_at(14) }
    /// The rcode of the current response (phases 5 and 6), or None before there is one.
    pub fn response_rcode(&self) -> Option<u16> {
        let r = self.u16_at(18);
        if r == 0xFFFF { None } else { Some(r) }
    }
    /// The client address: IPv4 as 4 bytes, IPv6 as 16.
    pub fn client_address(&self) -> &'static [u8] {
        let b = self.bytes();
        if b[16] == 4 { &b[20..24] } else { &b[20..36] }
    }
    /// The client network (the address masked to `client_prefix_length`).
    pub fn client_network(&self) -> &'static [u8] {
        let b = self.bytes();
        if b[16] == 4 { &b[36..40] } else { &b[36..52] }
    }
    pub fn client_is_ipv4(&self) -> bool { self.bytes()[16] == 4 }
    pub fn client_prefix_length(&self) -> u8 { self.bytes()[17] }
    pub fn arrival_ms(&self) -> u32 {
        let b = self.bytes();
        u32::from_le_bytes([b[52], b[53], b[54], b[55]])
    }
    /// QNAME in lowercase presentation form without the final dot ("" for the root).
    pub fn qname(&self) -> &'static str {
        let b = self.bytes();
        let len = (self.u16_at(56) as usize).min(255);
        std::str::from_utf8(&b[58..58 + len]).unwrap_or("")
    }
    /// The first EDNS option with this code, if the query has one.
    pub fn edns_option(&self, code: u16) -> Option<Vec<u8>> {
        read_growing(64, |buf, cap| unsafe { raw::request_edns_option(code as i32, buf, cap) }).ok()
    }
    /// The whole query in wire format.
    pub fn message(&self) -> Vec<u8> {
        read_growing(512, |buf, cap| unsafe { raw::request_message(buf, cap) }).unwrap_or_default()
    }
}

/// The request of the callback being run.
pub fn request() -> Request {
    Request { _private: () }
}

// ---------------------------------------------------------------------------------------------------------
// Responses.
// ---------------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Answer = 1,
    Authority = 2,
    Additional = 3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    Aa = 0,
    Tc = 1,
    Ra = 2,
    Ad = 3,
    Cd = 4,
}

/// The response of the current query: built from scratch in phases 1–3, the recursor's in phases 5–6.
pub mod response {
    use super::*;

    pub fn set_rcode(rcode: u16) -> Result<(), HostError> {
        check(unsafe { raw::response_set_rcode(rcode as i32) }).map(|_| ())
    }
    pub fn set_flag(flag: Flag, value: bool) -> Result<(), HostError> {
        check(unsafe { raw::response_set_flag(flag as i32, value as i32) }).map(|_| ())
    }
    pub fn clear(section: Section) -> Result<(), HostError> {
        check(unsafe { raw::response_clear(section as i32) }).map(|_| ())
    }
    /// Adds one record in zone-file presentation form with an absolute owner: `a.example. 300 IN A 0.0.0.0`.
    pub fn add_record(section: Section, text: &str) -> Result<(), HostError> {
        check(unsafe { raw::response_add_record(section as i32, ptr(text.as_bytes()), text.len() as i32) }).map(|_| ())
    }
    /// Sets an Extended DNS Error (RFC 8914).
    pub fn set_ede(code: u16, text: &str) -> Result<(), HostError> {
        check(unsafe { raw::response_set_ede(code as i32, ptr(text.as_bytes()), text.len() as i32) }).map(|_| ())
    }
    pub fn record_count(section: Section) -> Result<usize, HostError> {
        check(unsafe { raw::response_record_count(section as i32) }).map(|n| n as usize)
    }
    /// One record of the current response in presentation form.
    pub fn read_record(section: Section, index: usize) -> Result<String, HostError> {
        let bytes = read_growing(256, |buf, cap| unsafe {
            raw::response_read_record(section as i32, index as i32, buf, cap)
        })?;
        String::from_utf8(bytes).map_err(|_| HostError::InvalidArgument)
    }
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

// ---------------------------------------------------------------------------------------------------------
// Callbacks and the executor.
// ---------------------------------------------------------------------------------------------------------

type BoxedVerdictFuture = Pin<Box<dyn Future<Output = Verdict>>>;

enum Callback {
    Sync(Box<dyn Fn(&Request) -> Verdict>),
    Async(Box<dyn Fn(Request) -> BoxedVerdictFuture>),
}

struct Task {
    future: BoxedVerdictFuture,
    waker: Waker,
}

/// Marks a task ready to be polled again (guest-side wakeups, e.g. one future completing another).
struct TaskWaker {
    id: i32,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        READY.with(|r| r.borrow_mut().push_back(self.id));
    }
}

thread_local! {
    static CALLBACKS: RefCell<Vec<Callback>> = RefCell::new(Vec::new());
    static TASKS: RefCell<HashMap<i32, Task>> = RefCell::new(HashMap::new());
    static READY: RefCell<VecDeque<i32>> = RefCell::new(VecDeque::new());
    static NEXT_TASK: Cell<i32> = Cell::new(1);
    static CURRENT_TASK: Cell<i32> = Cell::new(0);
}

fn register_callback(phase: Phase, callback: Callback) {
    let id = CALLBACKS.with(|c| {
        let mut c = c.borrow_mut();
        c.push(callback);
        (c.len() - 1) as i32
    });
    let r = unsafe { raw::register_callback(phase as i32, id) };
    if r < 0 {
        panic!("register_callback({:?}) failed: {:?}", phase, HostError::from_code(r));
    }
}

/// Registers a synchronous callback for a phase. Only valid in the start function.
pub fn register<F: Fn(&Request) -> Verdict + 'static>(phase: Phase, callback: F) {
    register_callback(phase, Callback::Sync(Box::new(callback)));
}

/// Registers an async callback: it may await host operations (e.g. `sleep`) without holding a host thread.
pub fn register_async<F, Fut>(phase: Phase, callback: F)
where
    F: Fn(Request) -> Fut + 'static,
    Fut: Future<Output = Verdict> + 'static,
{
    register_callback(phase, Callback::Async(Box::new(move |req| Box::pin(callback(req)))));
}

/// Registers a background task: runs when the plugin version becomes current, then every `interval_ms` (at
/// least 100), without a query, until the version is replaced or unloaded. Only valid in the start function.
pub fn every<F, Fut>(interval_ms: u32, task: F)
where
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let id = CALLBACKS.with(|c| {
        let mut c = c.borrow_mut();
        c.push(Callback::Async(Box::new(move |_req| {
            let run = task();
            Box::pin(async move {
                run.await;
                Verdict::Continue
            })
        })));
        (c.len() - 1) as i32
    });
    let r = unsafe { raw_ext::register_periodic(interval_ms.min(i32::MAX as u32) as i32, id) };
    if r < 0 {
        panic!("register_periodic failed: {:?}", HostError::from_code(r));
    }
}

/// The id of the task being polled (0 outside any task).
pub fn current_task() -> i32 {
    CURRENT_TASK.with(|c| c.get())
}

/// Polls a task until it completes or waits on something no guest code can complete.
fn run_task(id: i32) -> i32 {
    let mut task = match TASKS.with(|t| t.borrow_mut().remove(&id)) {
        Some(task) => task,
        None => return -2,
    };
    // Bounded: a task that keeps waking itself would otherwise spin here; the host's CPU budget also applies.
    for _ in 0..1024 {
        CURRENT_TASK.with(|c| c.set(id));
        let mut cx = Context::from_waker(&task.waker);
        let poll = task.future.as_mut().poll(&mut cx);
        CURRENT_TASK.with(|c| c.set(0));
        match poll {
            Poll::Ready(verdict) => {
                READY.with(|r| r.borrow_mut().retain(|&t| t != id));
                return verdict as i32;
            }
            Poll::Pending => {
                let woken = READY.with(|r| {
                    let mut r = r.borrow_mut();
                    let before = r.len();
                    r.retain(|&t| t != id);
                    r.len() != before
                });
                if !woken {
                    break;
                }
            }
        }
    }
    TASKS.with(|t| t.borrow_mut().insert(id, task));
    PENDING
}

#[doc(hidden)]
pub fn __trampoline(callback_id: i32, _phase: i32) -> i32 {
    // Take the future out before polling, so a callback may use the SDK freely (no RefCell held across it).
    enum Started {
        Done(Verdict),
        Future(BoxedVerdictFuture),
        Missing,
    }
    let started = CALLBACKS.with(|c| {
        let c = c.borrow();
        match c.get(callback_id as usize) {
            Some(Callback::Sync(f)) => Started::Done(f(&request())),
            Some(Callback::Async(f)) => Started::Future(f(request())),
            None => Started::Missing,
        }
    });
    match started {
        Started::Done(v) => v as i32,
        Started::Missing => -2,
        Started::Future(future) => {
            let id = NEXT_TASK.with(|n| {
                let id = n.get();
                n.set(if id == i32::MAX { 1 } else { id + 1 });
                id
            });
            let waker = Waker::from(Arc::new(TaskWaker { id }));
            TASKS.with(|t| t.borrow_mut().insert(id, Task { future, waker }));
            run_task(id)
        }
    }
}

#[doc(hidden)]
pub fn __wake(task_id: i32) -> i32 {
    run_task(task_id)
}

#[doc(hidden)]
pub fn __start(args_ptr: i32, args_len: i32, start: fn(&str) -> Result<(), String>) -> i32 {
    let args = if args_len <= 0 {
        String::new()
    } else {
        // Safety: the host wrote args_len bytes at args_ptr (memory it got from ananas_alloc).
        let bytes = unsafe { std::slice::from_raw_parts(args_ptr as usize as *const u8, args_len as usize) };
        String::from_utf8_lossy(bytes).into_owned()
    };
    match start(&args) {
        Ok(()) => 0,
        Err(message) => {
            log(Level::Error, &format!("start failed: {}", message));
            1
        }
    }
}

#[doc(hidden)]
pub fn __alloc(len: i32) -> i32 {
    if len <= 0 {
        return 0;
    }
    // Leaked on purpose: the host writes into it and the guest takes ownership (args, async results).
    let mut buf: Vec<u8> = Vec::new();
    if buf.try_reserve_exact(len as usize).is_err() {
        return 0;
    }
    buf.resize(len as usize, 0);
    let p = buf.as_mut_ptr() as usize as i32;
    std::mem::forget(buf);
    p
}

#[doc(hidden)]
pub fn __request_region() -> i32 {
    unsafe { std::ptr::addr_of!(REGION.0) as usize as i32 }
}

/// Defines the guest exports (docs/plugins.md, "Guest exports") around the start function. The SDK module must
/// be named `ananas` at the crate root.
macro_rules! define_plugin {
    ($start:path) => {
        #[no_mangle]
        pub extern "C" fn ananas_abi_version() -> i32 {
            crate::ananas::ABI_VERSION
        }
        #[no_mangle]
        pub extern "C" fn ananas_alloc(len: i32) -> i32 {
            crate::ananas::__alloc(len)
        }
        #[no_mangle]
        pub extern "C" fn ananas_request_region() -> i32 {
            crate::ananas::__request_region()
        }
        #[no_mangle]
        pub extern "C" fn ananas_start(args_ptr: i32, args_len: i32) -> i32 {
            crate::ananas::__start(args_ptr, args_len, $start)
        }
        #[no_mangle]
        pub extern "C" fn ananas_trampoline(callback_id: i32, phase: i32) -> i32 {
            crate::ananas::__trampoline(callback_id, phase)
        }
        #[no_mangle]
        pub extern "C" fn ananas_wake(task_id: i32) -> i32 {
            crate::ananas::__wake(task_id)
        }
    };
}
// `plugin` alone would clash with a built-in attribute name, hence the rename.
pub(crate) use define_plugin as plugin;

// ---------------------------------------------------------------------------------------------------------
// Async host operations.
// ---------------------------------------------------------------------------------------------------------

/// A future over one host operation handle: completes when `op_poll` says so; while pending it asks the host
/// (`op_wake_on`) to wake the current task.
pub struct HostOperation {
    handle: i32,
    done: bool,
}

impl HostOperation {
    /// Wraps a handle returned by an async hostcall; an error code completes at once with that error.
    pub fn new(handle: i32) -> HostOperation {
        HostOperation { handle, done: false }
    }
}

impl Future for HostOperation {
    type Output = Result<(), HostError>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.done {
            return Poll::Ready(Ok(()));
        }
        if self.handle < 0 {
            return Poll::Ready(Err(HostError::from_code(self.handle)));
        }
        match unsafe { raw::op_poll(self.handle) } {
            1 => {
                self.done = true;
                Poll::Ready(Ok(()))
            }
            0 => {
                let task = current_task();
                let r = unsafe { raw::op_wake_on(self.handle, task) };
                if r < 0 { Poll::Ready(Err(HostError::from_code(r))) } else { Poll::Pending }
            }
            error => Poll::Ready(Err(HostError::from_code(error))),
        }
    }
}

/// Waits `ms` milliseconds on a host timer, releasing the host thread meanwhile.
pub fn sleep(ms: u32) -> HostOperation {
    HostOperation::new(unsafe { raw::timer_start(ms.min(i32::MAX as u32) as i32) })
}


// Phase frame, cryptography, sockets, resolving and HTTP: in services.rs (a module of this SDK).
#[path = "services.rs"]
mod services;
pub use services::{crypto, frame, http_post, net, resolve};
use services::raw_ext;
