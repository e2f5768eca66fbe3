//! Async: for queries under `timer.test` awaits a host timer (milliseconds from the args, default 200), then
//! answers with a TXT record saying how long it slept; continues otherwise.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{response, Phase, Request, Section, Verdict};
use std::cell::Cell;

thread_local! {
    static DELAY_MS: Cell<u32> = Cell::new(200);
}

async fn on_request(req: Request) -> Verdict {
    let qname = req.qname();
    if qname != "timer.test" && !qname.ends_with(".timer.test") {
        return Verdict::Continue;
    }
    let delay = DELAY_MS.with(|d| d.get());
    let before = ananas::monotonic_ms();
    if ananas::sleep(delay).await.is_err() {
        return Verdict::Continue;
    }
    let slept = ananas::monotonic_ms() - before;
    // The region is rewritten only at the next callback on this instance, so it still holds this query.
    response::add_record(Section::Answer, &format!("{}. 0 IN TXT \"slept={}\"", req.qname(), slept)).unwrap();
    Verdict::Answer
}

fn start(args: &str) -> Result<(), String> {
    if !args.is_empty() {
        let ms: u32 = args.trim().parse().map_err(|_| format!("bad delay '{}'", args))?;
        DELAY_MS.with(|d| d.set(ms));
    }
    ananas::register_async(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
