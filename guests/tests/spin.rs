//! Hostile: loops forever on queries for `loop.test` (the CPU budget must stop it); continues otherwise.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{Phase, Request, Verdict};

fn on_request(req: &Request) -> Verdict {
    if req.qname() == "loop.test" {
        let mut x: u64 = 1;
        loop {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            if x == 0 {
                break;
            }
        }
    }
    Verdict::Continue
}

fn start(_args: &str) -> Result<(), String> {
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
