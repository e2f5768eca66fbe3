//! The smallest plugin: one request callback that reads nothing and continues (the cost baseline).
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{Phase, Request, Verdict};

fn start(_args: &str) -> Result<(), String> {
    ananas::register(Phase::Request, |_req: &Request| Verdict::Continue);
    Ok(())
}
ananas::plugin!(start);
