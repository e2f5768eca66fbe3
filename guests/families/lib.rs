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
//!   refresh-url=URL      a background task downloads the malware list from URL into the malware table (the host
//!                        fetches and parses it; its origin must be on the plugin's `http-allow`)
//!   refresh-every=SECS   how often (default 3600; at least 1)
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
    refresh_url: String,
    refresh_every: u32,
}

thread_local! {
    static SETTINGS: RefCell<Settings> = RefCell::new(Settings {
        adult: false,
        ttl: 60,
        malware_table: "malware".to_string(),
        adult_table: "adult".to_string(),
        refresh_url: String::new(),
        refresh_every: 3600,
    });
}

fn parse_args(args: &str) -> Result<Settings, String> {
    let mut settings = Settings {
        adult: false,
        ttl: 60,
        malware_table: "malware".into(),
        adult_table: "adult".into(),
        refresh_url: String::new(),
        refresh_every: 3600,
    };
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
            "refresh-url" => settings.refresh_url = value.to_string(),
            "refresh-every" => settings.refresh_every = match value.parse::<u32>() {
                Ok(n) if n >= 1 => n,
                _ => return Err(format!("refresh-every: '{}' is not a number of seconds (at least 1)", value)),
            },
            _ => return Err(format!("unknown argument '{}' (known: adult, ttl, malware-table, adult-table, refresh-url, refresh-every)", key)),
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
    let _span = ananas::Span::start("lists"); // the list lookups, in the query log's spans
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

/// The background refresh: the host downloads the list into the table; a failure keeps the previous list.
async fn refresh() {
    let (table, url) = SETTINGS.with(|s| {
        let s = s.borrow();
        (s.malware_table.clone(), s.refresh_url.clone())
    });
    match ananas::data::fetch(&table, &url).await {
        Ok(200) => ananas::counter_add("refreshed", 1),
        Ok(status) => {
            ananas::counter_add("refresh_failed", 1);
            ananas::log(ananas::Level::Warn, &format!("refresh from {}: HTTP {}; keeping the previous list", url, status));
        }
        Err(e) => {
            ananas::counter_add("refresh_failed", 1);
            ananas::log(ananas::Level::Warn, &format!("refresh from {}: {:?}; keeping the previous list", url, e));
        }
    }
}

fn start(args: &str) -> Result<(), String> {
    let settings = parse_args(args)?;
    let every = if settings.refresh_url.is_empty() { 0 } else { settings.refresh_every };
    SETTINGS.with(|s| *s.borrow_mut() = settings);
    ananas::register(Phase::Request, on_request);
    if every > 0 {
        ananas::every(every.saturating_mul(1000), refresh);
    }
    Ok(())
}
ananas::plugin!(start);
