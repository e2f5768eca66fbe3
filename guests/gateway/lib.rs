//! gateway: per-client-network DNS policy, like a secure web gateway's resolver.
//!
//! Arguments: policies separated by `;`, each a list of `key=value` separated by spaces:
//!   name=LABEL            the policy's name in logs and counters (default: its network)
//!   net=CIDR[,CIDR...]    client networks it applies to (IPv4 or IPv6); the longest matching prefix wins
//!   allow=NAME[,NAME...]  names (and their subdomains) always allowed: checked first
//!   deny=NAME[,NAME...]   names (and their subdomains) blocked
//!   block=TABLE[,...]     categories: host data tables (domain lists) whose names are blocked
//!   redirect=IPV4         block page: blocked A queries get this address (default 0.0.0.0)
//!   redirect6=IPV6        the same for AAAA (default ::)
//! e.g. `name=kids net=10.1.0.0/16 block=adult,gambling redirect=10.0.0.80; name=staff net=10.2.0.0/16 deny=example.net`
//!
//! A blocked query is answered at the request phase: A and AAAA with the block-page (or unspecified) address,
//! other types NOERROR with an empty answer, all with EDE 15 Blocked naming the rule. Every block is logged
//! (`gateway: policy=kids client=10.1.2.3 name=x.example type=1 action=block rule=category:adult`) and
//! counted (`block`, `block.<policy>`, `allow.<policy>` counters). Clients no policy covers pass unchanged.
#[path = "../sdk/lib.rs"]
mod ananas;
use ananas::{response, Flag, Level, Phase, Request, Section, Verdict};
use std::cell::RefCell;

const TYPE_A: u16 = 1;
const TYPE_AAAA: u16 = 28;
const EDE_BLOCKED: u16 = 15;
const TTL: u32 = 60;

/// An address prefix: `bytes` (4 or 16) with the first `length` bits significant.
#[derive(Clone)]
struct Network {
    bytes: Vec<u8>,
    length: u32,
}

impl Network {
    fn parse(text: &str) -> Result<Network, String> {
        let (address, length) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u32>().map_err(|_| format!("'{}': bad prefix length", text))?)),
            None => (text, None),
        };
        let bytes = parse_address(address).ok_or_else(|| format!("'{}' is not an IPv4 or IPv6 network", text))?;
        let max = bytes.len() as u32 * 8;
        let length = length.unwrap_or(max);
        if length > max {
            return Err(format!("'{}': prefix longer than the address", text));
        }
        Ok(Network { bytes, length })
    }

    fn contains(&self, address: &[u8]) -> bool {
        if address.len() != self.bytes.len() {
            return false;
        }
        let mut bits = self.length;
        for (a, b) in address.iter().zip(self.bytes.iter()) {
            if bits == 0 {
                return true;
            }
            let keep = bits.min(8);
            let mask: u8 = (0xFF00u16 >> keep) as u8;
            if a & mask != b & mask {
                return false;
            }
            bits -= keep;
        }
        true
    }
}

fn parse_address(text: &str) -> Option<Vec<u8>> {
    if let Ok(v4) = text.parse::<std::net::Ipv4Addr>() {
        return Some(v4.octets().to_vec());
    }
    text.parse::<std::net::Ipv6Addr>().ok().map(|v6| v6.octets().to_vec())
}

struct Policy {
    name: String,
    networks: Vec<Network>,
    allow: Vec<String>,
    deny: Vec<String>,
    categories: Vec<String>,
    redirect: String,
    redirect6: String,
}

thread_local! {
    static POLICIES: RefCell<Vec<Policy>> = RefCell::new(Vec::new());
}

fn names(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|n| n.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|n| !n.is_empty())
        .collect()
}

fn parse_policy(text: &str) -> Result<Policy, String> {
    let mut policy = Policy {
        name: String::new(),
        networks: Vec::new(),
        allow: Vec::new(),
        deny: Vec::new(),
        categories: Vec::new(),
        redirect: "0.0.0.0".into(),
        redirect6: "::".into(),
    };
    for item in text.split_whitespace() {
        let (key, value) = item.split_once('=').ok_or_else(|| format!("'{}' is not key=value", item))?;
        match key {
            "name" => policy.name = value.to_string(),
            "net" => {
                for n in value.split(',').filter(|n| !n.is_empty()) {
                    policy.networks.push(Network::parse(n)?);
                }
            }
            "allow" => policy.allow.extend(names(value)),
            "deny" => policy.deny.extend(names(value)),
            "block" => policy.categories.extend(names(value)),
            "redirect" => {
                value.parse::<std::net::Ipv4Addr>().map_err(|_| format!("redirect: '{}' is not an IPv4 address", value))?;
                policy.redirect = value.to_string();
            }
            "redirect6" => {
                value.parse::<std::net::Ipv6Addr>().map_err(|_| format!("redirect6: '{}' is not an IPv6 address", value))?;
                policy.redirect6 = value.to_string();
            }
            _ => return Err(format!("unknown key '{}' (known: name, net, allow, deny, block, redirect, redirect6)", key)),
        }
    }
    if policy.networks.is_empty() {
        return Err(format!("policy '{}' has no net=", text.trim()));
    }
    if policy.name.is_empty() {
        policy.name = text.split_whitespace().find_map(|i| i.strip_prefix("net=")).unwrap_or("").to_string();
    }
    Ok(policy)
}

/// `name` is `suffix` or below it.
fn under(name: &str, suffix: &str) -> bool {
    name == suffix || (name.len() > suffix.len() && name.ends_with(suffix) && name.as_bytes()[name.len() - suffix.len() - 1] == b'.')
}

/// The policy for a client: the one whose matching network is the longest.
fn policy_index(policies: &[Policy], client: &[u8]) -> Option<usize> {
    let mut best: Option<(usize, u32)> = None;
    for (i, p) in policies.iter().enumerate() {
        for n in &p.networks {
            if n.contains(client) && best.map_or(true, |(_, l)| n.length > l) {
                best = Some((i, n.length));
            }
        }
    }
    best.map(|(i, _)| i)
}

fn client_text(req: &Request) -> String {
    let a = req.client_address();
    if a.len() == 4 {
        std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string()
    } else {
        let mut o = [0u8; 16];
        o.copy_from_slice(a);
        std::net::Ipv6Addr::from(o).to_string()
    }
}

fn on_request(req: &Request) -> Verdict {
    POLICIES.with(|policies| {
        let policies = policies.borrow();
        let policy = match policy_index(&policies, req.client_address()) {
            Some(i) => &policies[i],
            None => return Verdict::Continue,
        };
        let name = req.qname();
        if policy.allow.iter().any(|a| under(name, a)) {
            ananas::counter_add(&format!("allow.{}", policy.name), 1);
            return Verdict::Continue;
        }
        let rule = if let Some(d) = policy.deny.iter().find(|d| under(name, d)) {
            format!("deny:{}", d)
        } else if let Some(c) = policy.categories.iter().find(|c| matches!(ananas::data::match_suffix(c, name), Ok(Some(_)))) {
            format!("category:{}", c)
        } else {
            return Verdict::Continue;
        };
        let owner = format!("{}.", name);
        let built = match req.qtype() {
            TYPE_A => response::add_record(Section::Answer, &format!("{} {} IN A {}", owner, TTL, policy.redirect)),
            TYPE_AAAA => response::add_record(Section::Answer, &format!("{} {} IN AAAA {}", owner, TTL, policy.redirect6)),
            _ => Ok(()),
        };
        if built.is_err() {
            return Verdict::Continue;
        }
        let _ = response::set_flag(Flag::Ra, true);
        let _ = response::set_ede(EDE_BLOCKED, &format!("blocked by gateway policy {} ({})", policy.name, rule));
        ananas::log(Level::Info, &format!(
            "gateway: policy={} client={} name={} type={} action=block rule={}",
            policy.name, client_text(req), name, req.qtype(), rule));
        ananas::counter_add("block", 1);
        ananas::counter_add(&format!("block.{}", policy.name), 1);
        Verdict::Answer
    })
}

fn start(args: &str) -> Result<(), String> {
    let mut policies = Vec::new();
    for text in args.split(';').filter(|t| !t.trim().is_empty()) {
        policies.push(parse_policy(text)?);
    }
    if policies.is_empty() {
        return Err("no policy in the arguments (e.g. `name=kids net=10.1.0.0/16 block=adult`)".into());
    }
    POLICIES.with(|p| *p.borrow_mut() = policies);
    ananas::register(Phase::Request, on_request);
    Ok(())
}
ananas::plugin!(start);
