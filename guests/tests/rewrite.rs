//! Later phases: in `resolved`, rewrites A answers of `*.rewrite.test` to 192.0.2.99 (reading the current
//! response first) and continues, keeping the edits; in `upstream`, refuses sub-requests for `refuse.upstream.test`;
//! in `response`, tries to answer (not allowed there: a fault).
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{response, Phase, Request, Section, Verdict};

fn on_resolved(req: &Request) -> Verdict {
    if !req.qname().ends_with(".rewrite.test") {
        return Verdict::Continue;
    }
    let count = response::record_count(Section::Answer).unwrap_or(0);
    let mut kept = Vec::new();
    for i in 0..count {
        let record = response::read_record(Section::Answer, i).unwrap();
        if !record.contains("\tA\t") {
            kept.push(record);
        }
    }
    response::clear(Section::Answer).unwrap();
    for record in kept {
        response::add_record(Section::Answer, &record).unwrap();
    }
    response::add_record(Section::Answer, &format!("{}. 30 IN A 192.0.2.99", req.qname())).unwrap();
    response::set_flag(ananas::Flag::Ad, false).unwrap();
    Verdict::Continue
}

fn on_upstream(req: &Request) -> Verdict {
    // Responses cannot be touched for upstream sub-requests.
    if response::set_rcode(2) != Err(ananas::HostError::NotAllowed) {
        return Verdict::Answer; // an invalid result in this phase: the test would see a fault
    }
    if req.qname() == "refuse.upstream.test" { Verdict::Refuse } else { Verdict::Continue }
}

fn on_response(req: &Request) -> Verdict {
    if req.qname() == "answer.response.test" { Verdict::Answer } else { Verdict::Continue }
}

fn start(_args: &str) -> Result<(), String> {
    ananas::register(Phase::Resolved, on_resolved);
    ananas::register(Phase::Upstream, on_upstream);
    ananas::register(Phase::Response, on_response);
    Ok(())
}
ananas::plugin!(start);
