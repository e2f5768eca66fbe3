//! families: blocks malware, and optionally adult content, like public family resolvers (1.1.1.2 / 1.1.1.3).
//!
//! Lists are host data tables (docs/plugins.md, `[plugin.data]`), in hosts or domain-list format; the host
//! reloads them when their files change, so a list update needs no plugin reload. A listed name blocks the name
//! and every name below it.
//!
//! Arguments (space- or comma-separated `key=value`):
//!   adult=true|false     also block the `adult` table (default false)
//!   ttl=SECONDS          TTL of the sinkhole answers (default 60)
//!   malware-table=NAME   table names (defaults `malware` and `adult`); a missing table blocks nothing
//!   adult-table=NAME
//!
//! A blocked query is answered at the request phase (before the cache, so a list change applies at once):
//!   A     -> NOERROR, `name. TTL IN A 0.0.0.0`
//!   AAAA  -> NOERROR, `name. TTL IN AAAA ::`
//!   other -> NOERROR with an empty answer (what 1.1.1.2/1.1.1.3 do: no NXDOMAIN, which would claim the name
//!            does not exist, and no SOA, so downstream caches do not keep the refusal as a negative answer)
//! with an Extended DNS Error: 15 Blocked for malware, 17 Filtered for adult content (RFC 8914).
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{response, Flag, Phase, Request, Section, Verdict};
use std::cell::RefCell;

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const EDE_BLOCKED: u16 = 15;
const EDE_FILTERED: u16 = 17;

struct Settings {
    adult: bool,
    ttl: u32,
    malware_table: String,
    adult_table: String,
}

thread_local! {
    static SETTINGS: RefCell<Settings> = RefCell::new(Settings {
        adult: false,
        ttl: 60,
        malware_table: "malware".to_string(),
        adult_table: "adult".to_string(),
    });
}

fn parse_args(args: &str) -> Result<Settings, String> {
    let mut settings = Settings { adult: false, ttl: 60, malware_table: "malware".into(), adult_table: "adult".into() };
    for item in args.split(|c: char| c == ',' || c.is_whitespace()).filter(|s| !s.is_empty()) {
        let (key, value) = item.split_once('=').ok_or_else(|| format!("'{}' is not key=value", item))?;
        match key {
            "adult" => settings.adult = match value {
                "true" | "yes" | "1" => true,
                "false" | "no" | "0" => false,
                _ => return Err(format!("adult: '{}' is not true or false", value)),
            },
            "ttl" => settings.ttl = value.parse::<u32>().map_err(|_| format!("ttl: '{}' is not a number of seconds", value))?,
            "malware-table" => settings.malware_table = value.to_string(),
            "adult-table" => settings.adult_table = value.to_string(),
            _ => return Err(format!("unknown argument '{}' (known: adult, ttl, malware-table, adult-table)", key)),
        }
    }
    Ok(settings)
}

/// Whether the table lists the name or a parent of it (a missing table lists nothing).
fn listed(table: &str, name: &str) -> bool {
    matches!(ananas::data::match_suffix(table, name), Ok(Some(_)))
}

fn block(req: &Request, ttl: u32, ede: u16, reason: &str) -> Verdict {
    let name = req.qname();
    let owner = if name.is_empty() { "." } else { name };
    let sinkhole = match req.qtype() {
        TYPE_A => Some("A 0.0.0.0"),
        TYPE_AAAA => Some("AAAA ::"),
        _ => None,
    };
    if let Some(rdata) = sinkhole {
        let dot = if name.is_empty() { "" } else { "." };
        if response::add_record(Section::Answer, &format!("{}{} {} IN {}", owner, dot, ttl, rdata)).is_err() {
            return Verdict::Continue;
        }
    }
    let _ = response::set_flag(Flag::Ra, true);
    let _ = response::set_ede(ede, reason);
    ananas::counter_add(if ede == EDE_BLOCKED { "blocked_malware" } else { "blocked_adult" }, 1);
    Verdict::Answer
}

fn on_request(req: &Request) -> Verdict {
    let name = req.qname();
    SETTINGS.with(|s| {
        let s = s.borrow();
        if listed(&s.malware_table, name) {
            return block(req, s.ttl, EDE_BLOCKED, "blocked: malware");
        }
        if s.adult && listed(&s.adult_table, name) {
            return block(req, s.ttl, EDE_FILTERED, "filtered: adult content");
        }
        Verdict::Continue
    })
}

fn start(args: &str) -> Result<(), String> {
    let settings = parse_args(args)?;
    SETTINGS.with(|s| *s.borrow_mut() = settings);
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
