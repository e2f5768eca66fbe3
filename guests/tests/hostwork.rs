//! Hostile: pushes the per-callback host-work bounds. `records.hostwork.test` adds 5,000 records; `timers.hostwork.test`
//! starts and collects 1,000 zero-delay timers; `fetches.hostwork.test` starts 10 refreshes of data table `t` from
//! `http://127.0.0.1:1/list` (the test allow-lists it; nothing listens there). Each stops at the first error, counts its code as `refused_<code>`
//! and answers; without a bound it answers with everything it added.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{response, HostError, Phase, Request, Section, Verdict};

#[link(wasm_import_module = "ananas")]
extern "C" {
    fn timer_start(delay_ms: i32) -> i32;
    fn op_poll(handle: i32) -> i32;
    fn data_fetch_start(table: i32, table_len: i32, url: i32, url_len: i32) -> i32;
}

fn refused(code: i32) -> Verdict {
    ananas::counter_add(&format!("refused_{}", code), 1);
    Verdict::Answer
}

fn on_request(req: &Request) -> Verdict {
    match req.qname() {
        "records.hostwork.test" => {
            for i in 0..5000 {
                let record = format!("records.hostwork.test. 60 IN TXT \"{}\"", i);
                if let Err(e) = response::add_record(Section::Answer, &record) {
                    return refused(match e { HostError::Other(c) => c, _ => -100 });
                }
            }
            Verdict::Answer
        }
        "timers.hostwork.test" => {
            for _ in 0..1000 {
                let handle = unsafe { timer_start(0) };
                if handle < 0 {
                    return refused(handle);
                }
                // A zero-delay timer has completed: polling frees its slot, so only the bound stops the loop.
                while unsafe { op_poll(handle) } == 0 {}
            }
            response::add_record(Section::Answer, "timers.hostwork.test. 60 IN TXT \"all started\"").unwrap();
            Verdict::Answer
        }
        "fetches.hostwork.test" => {
            let (table, url) = ("t", "http://127.0.0.1:1/list");
            for _ in 0..10 {
                let handle = unsafe { data_fetch_start(table.as_ptr() as i32, table.len() as i32, url.as_ptr() as i32, url.len() as i32) };
                if handle < 0 {
                    return refused(handle);
                }
            }
            Verdict::Answer
        }
        _ => Verdict::Continue,
    }
}

fn start(_args: &str) -> Result<(), String> {
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
