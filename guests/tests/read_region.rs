//! Benchmark guest: reads the common query fields from the request region (id, flags, qtype, qclass, qname,
//! client address), folds them into a checksum so nothing is optimised away, and continues.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{Phase, Request, Verdict};

static mut CHECKSUM: u32 = 0;

fn on_request(req: &Request) -> Verdict {
    let mut sum = req.id() as u32 ^ req.flags() as u32 ^ req.qtype() as u32 ^ req.qclass() as u32;
    for b in req.qname().bytes().chain(req.client_address().iter().copied()) {
        sum = sum.rotate_left(5) ^ b as u32;
    }
    unsafe { CHECKSUM = CHECKSUM.wrapping_add(sum) };
    Verdict::Continue
}

fn start(_args: &str) -> Result<(), String> {
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
