//! Hostile: on queries for `bomb.test` allocates until the memory limit stops it (allocation failure aborts,
//! which traps); continues otherwise.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{Phase, Request, Verdict};

fn on_request(req: &Request) -> Verdict {
    if req.qname() == "bomb.test" {
        // Reserving (not touching) 1 MiB at a time grows linear memory fast and cheaply, so the memory limit
        // rather than the CPU budget is what stops it.
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            hoard.push(Vec::with_capacity(1 << 20));
        }
    }
    Verdict::Continue
}

fn start(_args: &str) -> Result<(), String> {
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
