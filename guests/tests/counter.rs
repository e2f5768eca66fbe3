//! Memory isolation: counts calls in a static (one per instance's memory) and, for `count.test`, waits 100 ms on
//! a host timer (so concurrent calls need separate instances) before answering with TXT "count=N".
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{response, Phase, Request, Section, Verdict};

static mut CALLS: u32 = 0;

async fn on_request(req: Request) -> Verdict {
    if req.qname() != "count.test" {
        return Verdict::Continue;
    }
    let count = unsafe {
        CALLS += 1;
        CALLS
    };
    if ananas::sleep(100).await.is_err() {
        return Verdict::Continue;
    }
    response::add_record(Section::Answer, &format!("count.test. 0 IN TXT \"count={}\"", count)).unwrap();
    ananas::counter_add("answered", 1);
    ananas::log(ananas::Level::Info, &format!("answered count={}", count));
    Verdict::Answer
}

fn start(_args: &str) -> Result<(), String> {
    ananas::register_async(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
