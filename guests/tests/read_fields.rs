//! Benchmark guest: the design the request region replaces. Reads the same fields as read_region.rs, one
//! hostcall each (benchmark-only import module `ananas_fields`, accepted only by a host configured for it).
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{Phase, Request, Verdict};

#[link(wasm_import_module = "ananas_fields")]
extern "C" {
    fn message_id() -> i32;
    fn flags() -> i32;
    fn qtype() -> i32;
    fn qclass() -> i32;
    fn qname(buf: i32, cap: i32) -> i32;
    fn client_address(buf: i32, cap: i32) -> i32;
}

static mut CHECKSUM: u32 = 0;

fn on_request(_req: &Request) -> Verdict {
    let mut name = [0u8; 255];
    let mut address = [0u8; 16];
    unsafe {
        let mut sum = message_id() as u32 ^ flags() as u32 ^ qtype() as u32 ^ qclass() as u32;
        let n = qname(name.as_mut_ptr() as usize as i32, 255).max(0) as usize;
        let a = client_address(address.as_mut_ptr() as usize as i32, 16).max(0) as usize;
        for b in name[..n].iter().chain(address[..a].iter()) {
            sum = sum.rotate_left(5) ^ *b as u32;
        }
        CHECKSUM = CHECKSUM.wrapping_add(sum);
    }
    Verdict::Continue
}

fn start(_args: &str) -> Result<(), String> {
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
