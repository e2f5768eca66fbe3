//! as112: answers for the locally served zones of RFC 6303 (with RFC 7793's 100.64.0.0/10), the AS112
//! redirection target `empty.as112.arpa` (RFC 7534, RFC 7535) and `home.arpa` (RFC 8375) on the spot, so
//! such queries (reverse lookups of private addresses, mostly) never leave the resolver.
//!
//! Each zone is served as RFC 6303 §3 describes it: an SOA and an NS record at the apex and nothing else.
//!   below the apex          -> NXDOMAIN, the zone's SOA in the authority section
//!   apex, SOA or NS         -> NOERROR, that record in the answer section
//!   apex, any other type    -> NOERROR/NODATA, the SOA in the authority section
//! Answers are authoritative (AA), as from a local zone. No arguments.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{response, Flag, Phase, Request, Section, Verdict};

const TYPE_NS: u16 = 2;
const TYPE_SOA: u16 = 6;
const CLASS_IN: u16 = 1;
const RCODE_NXDOMAIN: u16 = 3;

/// RFC 6303 §3: TTL and SOA timers of the locally served zones (negative answers live for 10800 s).
const TTL: u32 = 10800;

/// The zones, as presentation names without the final dot. Built once at start (see `zones`).
fn zones() -> Vec<String> {
    let mut zones: Vec<String> = Vec::new();
    // RFC 6303 §4.2–4.6: IPv4 private use (RFC 1918), "this network", link local, documentation, broadcast.
    // Loopback (127.in-addr.arpa, and ::1's zone below) is the resolver's own local zone (resolver.local-zones),
    // which answers 1.0.0.127.in-addr.arpa PTR localhost. as Unbound does: one owner, one answer.
    zones.push("10.in-addr.arpa".into());
    for second in 16..=31 {
        zones.push(format!("{}.172.in-addr.arpa", second));
    }
    zones.push("168.192.in-addr.arpa".into());
    zones.push("0.in-addr.arpa".into());
    zones.push("254.169.in-addr.arpa".into());
    zones.push("2.0.192.in-addr.arpa".into());
    zones.push("100.51.198.in-addr.arpa".into());
    zones.push("113.0.203.in-addr.arpa".into());
    zones.push("255.255.255.255.in-addr.arpa".into());
    // RFC 7793: shared address space 100.64.0.0/10.
    for second in 64..=127 {
        zones.push(format!("{}.100.in-addr.arpa", second));
    }
    // RFC 6303 §4.7–4.11: IPv6 unspecified, unique local (fd00::/8), link local (fe80::/10), documentation
    // (2001:db8::/32); loopback is the resolver's local zone, as above.
    zones.push(format!("{}ip6.arpa", "0.".repeat(32)));
    zones.push("d.f.ip6.arpa".into());
    for nibble in ["8", "9", "a", "b"] {
        zones.push(format!("{}.e.f.ip6.arpa", nibble));
    }
    zones.push("8.b.d.0.1.0.0.2.ip6.arpa".into());
    // RFC 7534/7535: the empty zone AS112 DNAME redirection points at; RFC 8375: home networks.
    zones.push("empty.as112.arpa".into());
    zones.push("home.arpa".into());
    zones
}

thread_local! {
    static ZONES: Vec<String> = zones();
}

/// The served zone that contains `name` (the longest one, although served zones do not nest).
fn zone_of(name: &str) -> Option<String> {
    ZONES.with(|zones| {
        zones
            .iter()
            .filter(|z| name == z.as_str() || (name.len() > z.len() && name.ends_with(z.as_str()) && name.as_bytes()[name.len() - z.len() - 1] == b'.'))
            .max_by_key(|z| z.len())
            .cloned()
    })
}

fn soa(zone: &str) -> String {
    format!("{zone}. {TTL} IN SOA {zone}. nobody.invalid. 1 3600 1200 604800 {TTL}")
}

fn on_request(req: &Request) -> Verdict {
    if req.qclass() != CLASS_IN {
        return Verdict::Continue;
    }
    let name = req.qname();
    // Every served zone is under arpa: the common case leaves without scanning.
    if !name.ends_with("arpa") {
        return Verdict::Continue;
    }
    let zone = match zone_of(name) {
        Some(zone) => zone,
        None => return Verdict::Continue,
    };
    let added = if name != zone {
        response::set_rcode(RCODE_NXDOMAIN).and_then(|_| response::add_record(Section::Authority, &soa(&zone)))
    } else {
        match req.qtype() {
            TYPE_SOA => response::add_record(Section::Answer, &soa(&zone)),
            TYPE_NS => response::add_record(Section::Answer, &format!("{zone}. {TTL} IN NS {zone}.")),
            _ => response::add_record(Section::Authority, &soa(&zone)),
        }
    };
    if added.is_err() {
        ananas::log(ananas::Level::Warn, &format!("as112: could not build the answer for {}", name));
        return Verdict::Continue;
    }
    let _ = response::set_flag(Flag::Aa, true);
    let _ = response::set_flag(Flag::Ra, true);
    ananas::counter_add(if name == zone { "apex" } else { "nxdomain" }, 1);
    Verdict::Answer
}

fn start(args: &str) -> Result<(), String> {
    if !args.trim().is_empty() {
        return Err(format!("as112 takes no arguments, not '{}'", args));
    }
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
