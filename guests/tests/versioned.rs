//! Answers every query for `version.test` with a TXT record holding its args (the "version"), for hot-swap tests.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{response, Phase, Request, Section, Verdict};
use std::cell::RefCell;

thread_local! {
    static VERSION: RefCell<String> = RefCell::new(String::new());
}

fn on_request(req: &Request) -> Verdict {
    if req.qname() != "version.test" {
        return Verdict::Continue;
    }
    let text = VERSION.with(|v| format!("version.test. 0 IN TXT \"{}\"", v.borrow()));
    response::add_record(Section::Answer, &text).unwrap();
    Verdict::Answer
}

fn start(args: &str) -> Result<(), String> {
    VERSION.with(|v| *v.borrow_mut() = args.to_string());
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
