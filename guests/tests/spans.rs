//! Tracing spans: for `spans.test` opens 20 spans ("step") in one query, one more than the per-query bound
//! allows plus three, each ended; tries a name longer than the host accepts; counts what span_start returned
//! (`opened`, `refused` for -5, `invalid` for -2). In its start function (no query) counts `outside` for -4.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{Phase, Request, Verdict};

#[link(wasm_import_module = "ananas")]
extern "C" {
    fn span_start(name: i32, len: i32) -> i32;
    fn span_end(handle: i32) -> i32;
}

fn code(name: &str) -> i32 {
    unsafe { span_start(name.as_ptr() as usize as i32, name.len() as i32) }
}

fn count(result: i32) {
    match result {
        r if r >= 0 => ananas::counter_add("opened", 1),
        -5 => ananas::counter_add("refused", 1),
        -2 => ananas::counter_add("invalid", 1),
        -4 => ananas::counter_add("outside", 1),
        _ => ananas::counter_add("other", 1),
    }
}

fn on_request(req: &Request) -> Verdict {
    if req.qname() != "spans.test" {
        let _span = ananas::Span::start("other");
        return Verdict::Continue;
    }
    for _ in 0..20 {
        let handle = code("step");
        count(handle);
        if handle >= 0 {
            unsafe { span_end(handle) };
        }
    }
    count(code(&"x".repeat(65)));
    Verdict::Continue
}

fn start(_args: &str) -> Result<(), String> {
    count(code("start"));
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
