//! Answers queries under `answer.test` from the request region: an A record and a TXT record echoing what the
//! host wrote (qtype, transport, client address and network); names in the `blocked` domain table (when the
//! plugin has one) get 0.0.0.0 with EDE 15. Everything else continues.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{response, Phase, Request, Section, Verdict};

fn dotted(bytes: &[u8]) -> String {
    bytes.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(".")
}

fn on_request(req: &Request) -> Verdict {
    let qname = req.qname();
    if let Ok(Some(_)) = ananas::data::match_suffix("blocked", qname) {
        response::add_record(Section::Answer, &format!("{}. 60 IN A 0.0.0.0", qname)).unwrap();
        response::set_ede(15, "blocked by test").unwrap();
        ananas::counter_add("blocked", 1);
        return Verdict::Answer;
    }
    if qname != "answer.test" && !qname.ends_with(".answer.test") {
        return Verdict::Continue;
    }
    if qname.starts_with("refuse.") {
        return Verdict::Refuse;
    }
    let client = if req.client_is_ipv4() { dotted(req.client_address()) } else { format!("{:?}", req.client_address()) };
    let network = if req.client_is_ipv4() { dotted(req.client_network()) } else { format!("{:?}", req.client_network()) };
    let txt = format!(
        "{}. 60 IN TXT \"qtype={}\" \"id={}\" \"transport={:?}\" \"client={}\" \"network={}/{}\" \"do={}\"",
        qname, req.qtype(), req.id(), req.transport(), client, network, req.client_prefix_length(), req.dnssec_ok());
    response::add_record(Section::Answer, &format!("{}. 60 IN A 192.0.2.1", qname)).unwrap();
    response::add_record(Section::Answer, &txt).unwrap();
    response::set_flag(ananas::Flag::Aa, true).unwrap();
    Verdict::Answer
}

fn start(_args: &str) -> Result<(), String> {
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
