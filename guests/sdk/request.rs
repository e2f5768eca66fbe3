//! The query a callback sees: phases, verdicts, the request region the host writes, and the response being
//! built. Part of the `ananas` SDK module: lib.rs includes it.
use super::*;

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

pub(crate) const PENDING: i32 = 4;

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

#[doc(hidden)]
pub fn __request_region() -> i32 {
    unsafe { std::ptr::addr_of!(REGION.0) as usize as i32 }
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
