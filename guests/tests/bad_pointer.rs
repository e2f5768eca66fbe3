//! Hostile: on queries for `oob.test` passes a pointer beyond its memory to a hostcall (`log`); continues
//! otherwise.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{Phase, Request, Verdict};

#[link(wasm_import_module = "ananas")]
extern "C" {
    fn log(level: i32, msg: i32, len: i32);
}

fn on_request(req: &Request) -> Verdict {
    if req.qname() == "oob.test" {
        unsafe { log(2, 0x7fff_fff0, 4096) };
    }
    Verdict::Continue
}

fn start(_args: &str) -> Result<(), String> {
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
