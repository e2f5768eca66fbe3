//! Hostile: reads the request region's whole QNAME area (255 bytes), past the length the host wrote, and answers
//! queries under `peek.test` with TXT "tail=…": the non-zero bytes found after this query's name (what an earlier
//! query, possibly another client's, left there).
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{response, Phase, Request, Section, Verdict};

fn on_request(req: &Request) -> Verdict {
    let qname = req.qname();
    if qname != "peek.test" && !qname.ends_with(".peek.test") {
        return Verdict::Continue;
    }
    // The name is a slice of the region: its pointer is the start of the 255-byte QNAME area.
    let area = unsafe { std::slice::from_raw_parts(qname.as_ptr(), 255) };
    let tail: String = area[qname.len()..].iter().filter(|b| **b != 0).map(|b| if b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-' { *b as char } else { '?' }).collect();
    response::add_record(Section::Answer, &format!("{}. 0 IN TXT \"tail={}\"", qname, tail)).unwrap();
    Verdict::Answer
}

fn start(_args: &str) -> Result<(), String> {
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
