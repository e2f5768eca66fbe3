//! Hostile: on queries for `bomb.test` allocates until the memory limit stops it (allocation failure aborts,
//! which traps); continues otherwise.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{Phase, Request, Verdict};

fn on_request(req: &Request) -> Verdict {
    if req.qname() == "bomb.test" {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(vec![1u8; 1 << 20]);
        }
    }
    Verdict::Continue
}

fn start(_args: &str) -> Result<(), String> {
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
