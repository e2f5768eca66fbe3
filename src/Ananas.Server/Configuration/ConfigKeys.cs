using Ananas.Server.Pipeline;
using Ananas.Server.Scheduling;
using Microsoft.Extensions.Logging;
using Tomlyn.Syntax;
using static Ananas.Server.Configuration.ConfigValues;
using static Ananas.Server.Configuration.ReloadEffect;

namespace Ananas.Server.Configuration;

/// <summary>
/// Every key of <c>ananas serve</c>'s configuration, declared once, in the order of <c>defaults.toml</c> and the
/// key table in docs/SERVER.md (both rendered from here by <see cref="ConfigDocument"/>; ConfigKeyTableTests
/// fails when either drifts). <c>[[plugin]]</c> tables are read by <see cref="ConfigLoader"/> (docs/plugins.md).
/// </summary>
public static class ConfigKeys
{
    public static IReadOnlyList<ConfigKey> All { get; } =
    [
        new ConfigKey<List<ListenAddress>>("listen", "list of addresses", """["udp://127.0.0.1:5353", "tcp://127.0.0.1:5353"]""", ReloadEffect.Listeners,
            "addresses to serve: `udp://`, `tcp://`, `tls://` (DNS over TLS, RFC 7858, port 853 by default), `https://` (DNS over HTTPS, RFC 8484, at `/dns-query`, port 443 by default). Port 5353 by default because port 53 needs privileges (root or CAP_NET_BIND_SERVICE). `?proxy=v2` after a `tcp://`, `tls://` or `https://` address expects a PROXY v2 header (see *PROXY protocol v2*)",
            (v, k) => List(v, k, ListenAddress.Parse), c => c.Listen, (c, v) => c.Listen = v),
        Text("root-hints", "", Recursor, c => c.RootHints, (c, v) => c.RootHints = v,
            "a named.root-style file; empty: the built-in IANA root hints"),
        new ZoneRoutesKey("forward", allowsTls: true,
            "forward zones (Unbound `forward-zone`): `[[forward]]` tables with `zone = \"example.\"` (`\".\"` forwards everything), `servers = [\"192.0.2.1\", \"127.0.0.1:5300\", \"[2001:db8::1]:53\", \"tls://1.1.1.1:853#cloudflare-dns.com\"]` (address, optional port; `tls://` is DNS over TLS, port 853 by default, and the certificate must carry the name after `#`, or the address without one) and `first = false` (true: when the forwarders give no answer, resolve by iteration instead). Names in the zone are sent with RD=1 to the servers; records they send for names outside the zone are dropped (MaginotDNS), and a CNAME leaving the zone is followed by our own resolution. At most 32 servers a zone",
            c => c.Forwards, (c, v) => c.Forwards = v),
        new ZoneRoutesKey("stub", allowsTls: false,
            "stub zones (Unbound `stub-zone`): `[[stub]]` tables with `zone`, `servers` (as for `forward`, without `tls://`) and `first = false` (true: when these servers give no answer, iterate from the parent's delegation instead; Unbound `stub-first`): names in the zone are resolved by iteration starting at these authoritative servers (RD=0) instead of the parent's delegation. A deeper stub zone inside a forward zone punches a hole in it",
            c => c.Stubs, (c, v) => c.Stubs = v),

        new ConfigKey<long>("cache.size", "size, 1MiB–1TiB", "\"256MiB\"", Restart,
            "bytes for the caches (`KiB`/`MiB`/`GiB`/`TiB`, or an integer of bytes): a quarter for wire answers, the rest for RRsets",
            (v, _) => Size(v, 1 << 20, 1L << 40), c => c.CacheSizeBytes, (c, v) => c.CacheSizeBytes = v),

        Networks("access.allow", ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "fc00::/7", "fe80::/10"], Live,
            c => c.Allow, (c, v) => c.Allow = v,
            "client networks allowed to query (CIDR, or a bare address for one host); others get REFUSED. An open resolver gets abused: list only networks you serve"),
        Networks("access.snoop", [], Live, c => c.Snoop, (c, v) => c.Snoop = v,
            "client networks (of those `access.allow` admits) whose queries without RD that the cache cannot answer get a referral from the cache (RFC 1034 §4.3.2: the closest cached NS RRset and its servers' addresses; Unbound `allow_snoop`) instead of REFUSED with EDE 20. Empty by default: such referrals show what other clients asked (cache snooping); list only diagnostic hosts"),

        Boolean("resolver.qname-minimisation", true, Recursor, c => c.QnameMinimisation, (c, v) => c.QnameMinimisation = v, "QNAME minimisation (RFC 9156)"),
        Boolean("resolver.ipv6", false, Recursor, c => c.IPv6, (c, v) => c.IPv6 = v, "also query name servers over IPv6 (turn on where the host has IPv6 connectivity)"),
        Boolean("resolver.query-localhost", false, Recursor, c => c.QueryLocalhost, (c, v) => c.QueryLocalhost = v,
            "query name servers at 127.0.0.0/8 or ::1 named by referrals (root hints are always queried). Off so that a hostile zone cannot aim the resolver at services on this host; on for a lab of authoritative servers on loopback"),
        Duration("resolver.query-timeout", "5s", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5), Live, c => c.QueryTimeout, (c, v) => c.QueryTimeout = v,
            "a client query still unresolved after this is answered SERVFAIL"),
        Duration("resolver.upstream-timeout", "1500ms", TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(30), Restart, c => c.UpstreamTimeout, (c, v) => c.UpstreamTimeout = v,
            "the longest wait for one upstream reply: caps the adaptive UDP retransmission timeout and bounds one TCP/TLS exchange, connect included"),
        Boolean("resolver.root-priming", true, Recursor, c => c.RootPriming, (c, v) => c.RootPriming = v,
            "before the first iteration from the root hints, ask a hint server for the root's NS set and use (and cache) that (RFC 8109)"),
        Duration("resolver.warm-up", "2s", TimeSpan.Zero, TimeSpan.FromMinutes(1), Restart, c => c.WarmUpBudget, (c, v) => c.WarmUpBudget = v,
            "before the listeners open, resolve scripted names against a signed in-memory hierarchy (made with throwaway keys; nothing is sent, and the server's caches and statistics are not touched) until the runtime has compiled the hot paths or this time is spent, so the first clients do not wait for the JIT; `0s` turns it off"),
        Boolean("resolver.qname-case-randomisation", true, Restart, c => c.QnameCaseRandomisation, (c, v) => c.QnameCaseRandomisation = v,
            "randomise the letter case of upstream questions and accept only answers echoing it exactly (0x20, draft-vixie-dnsext-dns0x20; Unbound `use-caps-for-id`): more bits a spoofer must guess. A server found not to echo case is asked without it"),
        Boolean("resolver.prefetch", false, Recursor, c => c.Prefetch, (c, v) => c.Prefetch = v,
            "a name asked for when a tenth of its TTL is left is answered from the cache and resolved again in the background (Unbound `prefetch`), so popular names never expire"),
        Integer("resolver.max-background-refreshes", 1024, 1, 65536, Restart, c => c.MaxBackgroundRefreshes, (c, v) => c.MaxBackgroundRefreshes = v,
            "prefetches, refreshes behind stale answers and resolutions that outlive their client, running at once; past it a refresh is skipped and the cached answer still serves (a flood of names cannot pile up background work)"),
        new ConfigKey<long>("resolver.prefetch-hold-off-size", "size, 4KiB–1GiB", "\"256KiB\"", Restart,
            "bytes for the questions whose prefetch failed, each held off for 5 s; the oldest go first when it is full",
            (v, _) => Size(v, 4 << 10, 1L << 30), c => c.PrefetchHoldOffBytes, (c, v) => c.PrefetchHoldOffBytes = v),
        Boolean("resolver.serve-stale", false, Restart, c => c.ServeStale, (c, v) => c.ServeStale = v,
            "serve-stale (RFC 8767, Unbound `serve-expired`): when fresh data cannot be had in time, answer from expired data with TTL `serve-stale-reply-ttl` and Extended DNS Error 3 (Stale Answer)"),
        Duration("resolver.serve-stale-max", "1d", TimeSpan.FromMinutes(1), TimeSpan.FromDays(7), Restart, c => c.ServeStaleMax, (c, v) => c.ServeStaleMax = v,
            "how long past its expiry data may still be served (RFC 8767 max stale timer; Unbound `serve-expired-ttl`); also how long expired data is kept"),
        Duration("resolver.serve-stale-client-timeout", "1800ms", TimeSpan.Zero, TimeSpan.FromSeconds(10), Restart, c => c.ServeStaleClientTimeout, (c, v) => c.ServeStaleClientTimeout = v,
            "how long a client waits for fresh data before it gets stale data while resolution goes on (RFC 8767 client response timer; Unbound `serve-expired-client-timeout`); `0s` answers stale at once and refreshes in the background"),
        Integer("resolver.serve-stale-reply-ttl", 30, 1, 3600, Restart, c => c.ServeStaleReplyTtl, (c, v) => c.ServeStaleReplyTtl = v,
            "the TTL of every record of a stale answer, in seconds (RFC 8767 §4)"),
        Duration("resolver.serve-stale-failure-recheck", "30s", TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), Restart, c => c.ServeStaleFailureRecheck, (c, v) => c.ServeStaleFailureRecheck = v,
            "after a failed resolution answered stale, the question is answered stale without asking upstream for this long (RFC 8767 failure recheck timer)"),
        Duration("resolver.min-ttl", "0s", TimeSpan.Zero, TimeSpan.FromHours(1), Restart, c => c.MinTtl, (c, v) => c.MinTtl = v,
            "cached TTLs below this are raised to it (Unbound `cache-min-ttl`); a TTL of 0 is still never cached"),
        Duration("resolver.max-ttl", "1d", TimeSpan.FromSeconds(1), TimeSpan.FromDays(7), Restart, c => c.MaxTtl, (c, v) => c.MaxTtl = v,
            "cached TTLs are capped here (Unbound `cache-max-ttl`; RFC 8767 suggests a week at most)"),
        Duration("resolver.max-negative-ttl", "3h", TimeSpan.FromSeconds(1), TimeSpan.FromDays(1), Restart, c => c.MaxNegativeTtl, (c, v) => c.MaxNegativeTtl = v,
            "negative answers (NXDOMAIN, NODATA) are cached at most this long (RFC 2308 §5; Unbound `cache-max-negative-ttl`)"),
        Boolean("resolver.qname-minimisation-full-name", false, Recursor, c => c.MinimiseFullName, (c, v) => c.MinimiseFullName = v,
            "with QNAME minimisation, also probe the full name (NS) before sending the real type unless it is A or DS, so the parent zone's servers never see the type (RFC 9156 §2; costs one query when the name is not a zone cut)"),
        Boolean("resolver.ipv4", true, Recursor, c => c.IPv4, (c, v) => c.IPv4 = v,
            "query name servers over IPv4 (Unbound `do-ip4`); `resolver.ipv4` and `resolver.ipv6` cannot both be off"),
        Boolean("resolver.harden-glue", true, Recursor, c => c.HardenGlue, (c, v) => c.HardenGlue = v,
            "accept glue only within the bailiwick of the zone that sent it (Unbound `harden-glue`)"),
        Boolean("resolver.scrub-promiscuous", true, Recursor, c => c.ScrubPromiscuous, (c, v) => c.ScrubPromiscuous = v,
            "ignore the NS RRset in the authority section of a positive answer, so a server answering one name cannot take over its zone (Unbound `iter-scrub-promiscuous`, CVE-2025-11411)"),
        Integer("resolver.scrub-ns", 20, 0, 1000, Recursor, c => c.MaxNsRecords, (c, v) => c.MaxNsRecords = v,
            "at most this many records of an upstream NS RRset are kept, the first ones (Unbound `iter-scrub-ns`); 0 keeps them all"),
        Boolean("resolver.aggressive-nsec", true, Recursor, c => c.AggressiveNsec, (c, v) => c.AggressiveNsec = v,
            "with validation on, answer NXDOMAIN or NODATA from secure NSEC records already cached that prove the name or type absent, without asking upstream (RFC 8198, Unbound `aggressive-nsec`)"),
        Duration("resolver.failure-ttl", "5s", TimeSpan.Zero, TimeSpan.FromMinutes(5), Recursor, c => c.FailureCacheTtl, (c, v) => c.FailureCacheTtl = v,
            "how long a failed resolution is remembered and answered SERVFAIL (EDE 13) without asking upstream (RFC 9520, held within its 1s–5min); `0s` turns it off, which RFC 9520 does not allow"),
        Duration("resolver.bogus-ttl", "60s", TimeSpan.Zero, TimeSpan.FromMinutes(5), Recursor, c => c.BogusCacheTtl, (c, v) => c.BogusCacheTtl = v,
            "how long a bogus answer is remembered and answered SERVFAIL without validating again (Unbound `val-bogus-ttl`); bounded like `resolver.failure-ttl`"),
        Duration("resolver.lame-hold-down", "15m", TimeSpan.Zero, TimeSpan.FromDays(1), Recursor, c => c.LameHoldDown, (c, v) => c.LameHoldDown = v,
            "how long a name server found lame for a zone is avoided for it; `0s` never avoids it"),
        Text("resolver.tls-cert-bundle", "", Restart, c => c.TlsCertBundle, (c, v) => c.TlsCertBundle = v,
            "a PEM file of the certificates DoT forwarders' chains must end in, instead of the system's trust store (Unbound `tls-cert-bundle`): a private CA, or a server's own self-signed certificate. The name after `#` is checked either way"),
        new ConfigKey<List<string>>("resolver.local-zones", "list of zone names", Toml(Resolver.LocalZones.Supported), Recursor,
            "special-use zones answered by the resolver itself, never sent upstream, with an SOA on negative answers and AA set: `localhost.` (A 127.0.0.1 and AAAA ::1 for it and every name under it, RFC 6761 §6.3), `127.in-addr.arpa.` and `::1`'s `ip6.arpa` zone (PTR `localhost.`, RFC 6303), and NXDOMAIN for `invalid.`, `test.` (RFC 6761 §6.2, §6.4) and `onion.` (RFC 7686). Remove a zone to resolve it normally, e.g. `test.` in a lab that delegates it. The private-use reverse zones and `home.arpa.` are the `as112` plugin's (docs/plugins.md)",
            (v, k) => List(v, k, LocalZone), c => c.LocalZones, (c, v) => c.LocalZones = v),

        new ConfigKey<bool>("dnssec.validation", "`on` or `off`", "\"on\"", Recursor,
            "`on`: answers under a trust anchor are validated (RFC 4035 §5); bogus ones become SERVFAIL with an Extended DNS Error, secure ones get AD when the client set DO or AD; a client's CD turns it off for that query. `off`: nothing is validated, AD is never set",
            (v, _) => String(v) switch { "on" => true, "off" => false, var other => throw new FormatException($"'{other}' is not one of on, off") },
            c => c.DnssecValidation, (c, v) => c.DnssecValidation = v),
        Text("dnssec.trust-anchor", "", Recursor, c => c.TrustAnchorFile, (c, v) => c.TrustAnchorFile = v,
            "a file of DS or DNSKEY records (zone-file lines, or unbound-style `trust-anchor: \"...\"` lines); empty: the root KSK-2017 and KSK-2024 from IANA. An error names the file's line"),
        new ConfigKey<List<string>>("dnssec.negative-trust-anchors", "list of names", "[]", Recursor,
            "names at and below which validation is off (RFC 7646 negative trust anchors), for a zone whose DNSSEC is broken",
            (v, k) => List(v, k, DomainName), c => c.NegativeTrustAnchors, (c, v) => c.NegativeTrustAnchors = v),

        Integer("udp.max-payload", 1232, 512, 65535, Restart, c => c.UdpMaxPayload, (c, v) => c.UdpMaxPayload = v, "our largest UDP reply and advertised EDNS payload size (RFC 9715)"),
        Integer("udp.sockets", 1, 1, 256, Restart, c => c.UdpSockets, (c, v) => c.UdpSockets = v, "sockets bound to each UDP address; more than one uses `SO_REUSEPORT`"),
        Integer("udp.threads-per-socket", 2, 1, 256, Restart, c => c.UdpThreadsPerSocket, (c, v) => c.UdpThreadsPerSocket = v,
            "receive threads per UDP socket, at most the number of cores the process may run on (more would only add context switches)"),
        Integer("udp.batch-size", 32, 1, 1024, Restart, c => c.UdpBatchSize, (c, v) => c.UdpBatchSize = v,
            "datagrams each receive thread takes per `recvmmsg` call (Linux); the cache hits and errors among them leave in one `sendmmsg`. `1` receives and sends one datagram per call (what other systems always do)"),

        Duration("tcp.idle-timeout", "10s", TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1), Restart, c => c.TcpIdleTimeout, (c, v) => c.TcpIdleTimeout = v,
            "close a TCP, DoT or DoH connection quiet for this long with nothing outstanding; also bounds a TLS handshake and a PROXY header"),
        Integer("tcp.max-connections", 1024, 1, 1_000_000, Restart, c => c.TcpMaxConnections, (c, v) => c.TcpMaxConnections = v, "open connections from all clients"),
        Integer("tcp.max-connections-per-client", 32, 1, 1_000_000, Restart, c => c.TcpMaxConnectionsPerClient, (c, v) => c.TcpMaxConnectionsPerClient = v, "open connections per client address"),
        Integer("tcp.max-outstanding-per-connection", 64, 1, 65535, Restart, c => c.TcpMaxOutstanding, (c, v) => c.TcpMaxOutstanding = v,
            "pipelined queries unanswered (or answered but not yet written) at once on one connection; reading pauses beyond it. On DoH: HTTP/2 streams per connection"),
        new ConfigKey<long>("tcp.max-queued-bytes-per-connection", "size, 4KiB–64MiB", "\"256KiB\"", Restart,
            "answer bytes queued for one TCP or DoT connection and not yet taken by the client; reading pauses beyond it, and an answer that cannot be written within `tcp.idle-timeout` closes the connection (a client that never reads)",
            (v, _) => Size(v, 4 << 10, 64L << 20), c => c.TcpMaxQueuedBytes, (c, v) => c.TcpMaxQueuedBytes = v),

        Networks("proxy.trusted-sources", ["127.0.0.0/8", "::1/128"], Restart, c => c.ProxyTrustedSources, (c, v) => c.ProxyTrustedSources = v,
            "networks allowed to send a PROXY v2 header on `?proxy=v2` listeners; connections from elsewhere are closed"),

        Text("tls.certificate", "", Restart, c => c.TlsCertificate, (c, v) => c.TlsCertificate = v,
            "PEM certificate (chain) for `tls://` and `https://`. Empty: a self-signed ECDSA certificate for the listen addresses and `localhost` is generated at every start, with warning 1005 and its SHA-256 thumbprint. Clients must not be configured to trust it; it is for testing"),
        Text("tls.key", "", Restart, c => c.TlsKey, (c, v) => c.TlsKey = v, "PEM private key for `tls.certificate` (empty when the key is in the certificate file)"),

        Text("metrics.listen", "http://127.0.0.1:9153", Restart, c => c.MetricsListen, (c, v) => c.MetricsListen = v,
            "Prometheus `GET /metrics` at `http://ADDR:PORT` (plain HTTP; keep it on loopback or a management network); `\"\"` turns it off", HttpAddress),
        Text("control.listen", "http://127.0.0.1:9154", Restart, c => c.ControlListen, (c, v) => c.ControlListen = v,
            "the control API (cache purge, cache stats, status, reload, plugins; used by `ananas cache`, `ananas status`, `ananas reload`, `ananas plugin`) at `http://ADDR:PORT`, authenticated by the token of `control.token-file`. Plain HTTP: keep it on loopback (warning 1010 otherwise); `\"\"` turns it off", HttpAddress),
        Text("control.token-file", "", Restart, c => c.ControlTokenFile, (c, v) => c.ControlTokenFile = v,
            "the control API's bearer token, generated at first start into this file, mode 0600 (its directory 0700); a file others can read is refused. Empty: `$ANANAS_STATE_DIR/control.token`, else `$XDG_STATE_HOME/ananas/control.token`, else `~/.local/state/ananas/control.token`. The `ananas` control commands read the same default (`--token-file` for another)"),

        Integer("scheduler.group-prefix-v4", 24, 0, 32, Live, c => c.GroupPrefixV4, (c, v) => c.GroupPrefixV4 = v, "IPv4 clients are grouped by this prefix for fairness and shedding"),
        Integer("scheduler.group-prefix-v6", 56, 0, 128, Live, c => c.GroupPrefixV6, (c, v) => c.GroupPrefixV6 = v, "IPv6 clients are grouped by this prefix for fairness and shedding"),
        Integer("scheduler.max-in-flight", 1024, 1, 1_000_000, Live, c => c.MaxInFlight, (c, v) => c.MaxInFlight = v, "recursions running at once, overall"),
        Integer("scheduler.max-in-flight-per-group", 64, 1, 1_000_000, Live, c => c.MaxInFlightPerGroup, (c, v) => c.MaxInFlightPerGroup = v, "recursions running at once per client group"),
        Integer("scheduler.max-queued", 8192, 1, 10_000_000, Live, c => c.MaxQueued, (c, v) => c.MaxQueued = v,
            "misses waiting, overall; beyond it the group with the longest queue is shed first"),
        Integer("scheduler.max-queued-per-group", 512, 1, 10_000_000, Live, c => c.MaxQueuedPerGroup, (c, v) => c.MaxQueuedPerGroup = v,
            "misses waiting per client group; beyond it that group's new misses are shed"),
        Integer("scheduler.runners", 0, 0, 4096, Live, c => c.Runners, (c, v) => c.Runners = v,
            "resolution steps run at once, taken round robin from the client groups' lanes so one group's backlog cannot delay another's; 0: two per processor"),
        Choice("scheduler.shed", "drop", Live, c => c.Shed, (c, v) => c.Shed = v,
            "what a shed query gets: `drop` (nothing: a flooder that waits for replies is held back by its own timeout), `refuse` (REFUSED), `truncate` (TC=1 over UDP, pushing the client to TCP; REFUSED over TCP)",
            ("refuse", ShedAction.Refuse), ("drop", ShedAction.Drop), ("truncate", ShedAction.Truncate)),

        Boolean("rrl.enabled", false, Restart, c => c.RrlEnabled, (c, v) => c.RrlEnabled = v,
            "response rate limiting on UDP answers (BIND's and NSD's RRL): a token bucket per (client network, response class, name). Off by default: this resolver serves the networks of `access.allow`, whose clients (often many behind one NAT) legitimately repeat names; turn it on when spoofed sources can reach it (docs/SECURITY.md)"),
        Integer("rrl.responses-per-second", 20, 0, 1_000_000, Restart, c => c.RrlResponsesPerSecond, (c, v) => c.RrlResponsesPerSecond = v,
            "positive answers and NODATA per second for one client network, name and type (a bucket holds one second of it); 0: unlimited"),
        Integer("rrl.nxdomains-per-second", 10, 0, 1_000_000, Restart, c => c.RrlNxdomainsPerSecond, (c, v) => c.RrlNxdomainsPerSecond = v,
            "NXDOMAIN per second for one client network and domain (the name's last two labels: random subdomains share it); 0: unlimited"),
        Integer("rrl.errors-per-second", 10, 0, 1_000_000, Restart, c => c.RrlErrorsPerSecond, (c, v) => c.RrlErrorsPerSecond = v,
            "other rcodes (REFUSED, SERVFAIL, FORMERR…) per second for one client network; 0: unlimited"),
        Integer("rrl.slip", 2, 0, 10, Restart, c => c.RrlSlip, (c, v) => c.RrlSlip = v,
            "every Nth limited response is sent truncated (TC=1: a real client retries over TCP) or, to a client that sent a DNS cookie, as BADCOOKIE with a fresh cookie; the others are dropped. 0 drops them all"),
        Integer("rrl.ipv4-prefix", 24, 8, 32, Restart, c => c.RrlPrefixV4, (c, v) => c.RrlPrefixV4 = v, "IPv4 clients share a bucket per network of this prefix"),
        Integer("rrl.ipv6-prefix", 56, 16, 128, Restart, c => c.RrlPrefixV6, (c, v) => c.RrlPrefixV6 = v, "IPv6 clients share a bucket per network of this prefix"),
        Integer("rrl.table-size", 65536, 1024, 16 << 20, Restart, c => c.RrlTableSize, (c, v) => c.RrlTableSize = v,
            "buckets kept (about 40 octets each): the memory bound; beyond it the least recently used bucket of a set is reused (`ananas_rrl_evictions_total`)"),
        Networks("rrl.exempt", [], Restart, c => c.RrlExempt, (c, v) => c.RrlExempt = v, "client networks never rate limited (monitoring, known forwarders)"),

        Boolean("cookies.enabled", false, Restart, c => c.CookiesEnabled, (c, v) => c.CookiesEnabled = v,
            "DNS Cookies on UDP (RFC 7873) with interoperable server cookies (RFC 9018, SipHash-2-4): a client that echoes a valid server cookie has proved its address and is exempt from `rrl`; a malformed COOKIE option gets FORMERR. Off by default: they matter only with `rrl` on, and an anycast set must first share a secret (docs/SECURITY.md)"),
        CookieSecret("cookies.secret", c => c.CookieSecret, (c, v) => c.CookieSecret = v,
            "the server secret, shared by the servers of an anycast set; `\"\"` generates one at start, rotated every `cookies.rotation`. To rotate a configured secret, move it to `cookies.previous-secret` and set a new one"),
        CookieSecret("cookies.previous-secret", c => c.CookiePreviousSecret, (c, v) => c.CookiePreviousSecret = v,
            "the secret before the last rotation: its cookies are still accepted (RFC 9018 §4.4)"),
        Duration("cookies.rotation", "24h", TimeSpan.FromMinutes(1), TimeSpan.FromDays(30), Restart, c => c.CookieRotation, (c, v) => c.CookieRotation = v,
            "how often a generated secret is replaced (the previous one stays valid)"),

        Choice("log.level", "information", Live, c => c.LogLevel, (c, v) => c.LogLevel = v, "the least severe log messages written",
            ("trace", LogLevel.Trace), ("debug", LogLevel.Debug), ("information", LogLevel.Information), ("info", LogLevel.Information),
            ("warning", LogLevel.Warning), ("error", LogLevel.Error)),
        Text("log.query-log", "", Restart, c => c.QueryLog, (c, v) => c.QueryLog = v,
            "one JSON line per reply (see *Query log*): a file path (appended to), `stdout`, or `\"\"` for none. Written off the query path; when the writer falls behind, lines are dropped and counted (`ananas_query_log_dropped_total`)"),

        Fraction("console.top-sample", 0.125, Restart, c => c.ConsoleTopSample, (c, v) => c.ConsoleTopSample = v,
            "share of replies the web console's top names are counted from, off the query path (see *Web console*)"),
        Boolean("console.top-clients", false, Restart, c => c.ConsoleTopClients, (c, v) => c.ConsoleTopClients = v,
            "also count the top client addresses on the web console. Off by default: they are personal data"),
        Text("help.node-id", "", Live, c => c.NodeId, (c, v) => c.NodeId = v, "this server's name on the `/help` page of DoH listeners; `\"\"`: the host name", Identifier, "identifier or empty"),
        Text("help.cluster-id", "", Live, c => c.ClusterId, (c, v) => c.ClusterId = v, "its cluster's name on `/help`; `\"\"`: none", Identifier, "identifier or empty"),
        Text("plugins.tls-cert-bundle", "", Restart, c => c.PluginTlsCertBundle, (c, v) => c.PluginTlsCertBundle = v,
            "a PEM file of the certificates that plugins' HTTPS requests must chain to instead of the system's trust store: the ODoH proxy's targets, families' list URLs (`http_post_start`, `http_get_start`, `data_fetch_start`; docs/plugins.md). A private CA, or a target's own self-signed certificate; the host name is checked either way"),
        Text("shadow.reference", "", Restart, c => c.ShadowReference, (c, v) => c.ShadowReference = v,
            "live shadow mode: the reference resolver `ADDR[:PORT]` (port 53 by default) a sample of answered questions is also asked of, off the query path; stable differences are counted by field (`ananas_shadow_differences_total`) and written to the query log (see *Shadow mode*). `\"\"`: off",
            s => { if (s.Length > 0) ConfigLoader.ParseEndPoint(s, 53); return s; }),
        Fraction("shadow.sample", 0.01, Restart, c => c.ShadowSample, (c, v) => c.ShadowSample = v, "share of answered questions mirrored (0.01 = 1 %)"),
        Duration("shadow.timeout", "2s", TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(30), Restart, c => c.ShadowTimeout, (c, v) => c.ShadowTimeout = v,
            "the longest wait for the reference's answer"),

        Text("cluster.node-id", "", Restart, c => c.ClusterNodeId, (c, v) => c.ClusterNodeId = v,
            "this node's name in the cache-sharing cluster (docs/CLUSTER.md); `\"\"`: the host name. It must be unique in the cluster: rendezvous hashing ranks nodes by it", Identifier, "identifier or empty"),
        Text("cluster.listen", "", Restart, c => c.ClusterListen, (c, v) => c.ClusterListen = v,
            "`ADDR:PORT` where this node takes its peers' forwarded questions (authenticated TCP, never for clients); with static `cluster.peers` it may stay `\"\"` when this node's own entry names the address. Keep it on the data centre's private network",
            s => { if (s.Length > 0) ClusterPeersKey.ParseAddress(s); return s; }, "ADDR:PORT or empty"),
        new ClusterPeersKey("cluster.peers",
            "the cluster's nodes, this one included: `[{ id = \"a\", address = \"10.0.0.1:5390\" }, …]` (`id` is each node's `cluster.node-id`, `address` its `cluster.listen`). Cache sharing is on when this lists another node or `cluster.nats-url` is set; `[]` with no NATS: off",
            c => c.ClusterPeers, (c, v) => c.ClusterPeers = v),
        new ConfigKey<string>("cluster.secret", "64 hex digits or empty", "\"\"", Restart,
            "the shared secret (32 octets, e.g. `openssl rand -hex 32`) every message between peers is authenticated with (HMAC-SHA256 with per-connection keys and nonces, so nothing can be replayed); a node with another secret is refused and counted (`ananas_cluster_refused_peers_total`). Required when sharing is on",
            (v, _) => ConfigValues.String(v) is var text && (text.Length == 0 || (text.Length == 64 && text.All(char.IsAsciiHexDigit))) ? text
                : throw new FormatException("expected 64 hex digits (32 octets, e.g. from `openssl rand -hex 32`), or \"\""),
            c => c.ClusterSecret, (c, v) => c.ClusterSecret = v),
        Integer("cluster.replicas", 2, 1, 16, Restart, c => c.ClusterReplicas, (c, v) => c.ClusterReplicas = v,
            "nodes that may own a registered domain: its first healthy one by rendezvous hash takes its questions, the next ones when the first is over `cluster.load-bound`"),
        Integer("cluster.load-bound", 150, 110, 1000, Restart, c => c.ClusterLoadBound, (c, v) => c.ClusterLoadBound = v,
            "bounded load, in percent of the mean: a peer with more of this node's forwarded questions in flight than this share of the mean (and at least 8) gets no more; they spill to the domain's next replica, or are resolved here"),
        Duration("cluster.budget", "50ms", TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(1), Restart, c => c.ClusterBudget, (c, v) => c.ClusterBudget = v,
            "the longest a client waits for a silent owner: a forwarded question neither answered nor acknowledged within it (an owner acknowledges at once what it must resolve) is resolved here"),
        Duration("cluster.probe-interval", "100ms", TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(5), Restart, c => c.ClusterProbeInterval, (c, v) => c.ClusterProbeInterval = v,
            "how often each peer is pinged; a peer silent for three intervals, or whose connection fails, leaves the ring until it answers again"),
        Integer("cluster.max-in-flight-per-peer", 256, 1, 65535, Restart, c => c.ClusterMaxInFlightPerPeer, (c, v) => c.ClusterMaxInFlightPerPeer = v,
            "forwarded questions unanswered at once on one peer's connection (both ways: an inbound connection reads no more beyond it); past it questions are resolved here"),
        Integer("cluster.max-connections", 64, 1, 4096, Restart, c => c.ClusterMaxConnections, (c, v) => c.ClusterMaxConnections = v,
            "inbound peer connections open at once (each peer keeps one); more are closed at once"),
        Text("cluster.public-suffix-list", "", Restart, c => c.ClusterPublicSuffixList, (c, v) => c.ClusterPublicSuffixList = v,
            "a `public_suffix_list.dat` (publicsuffix.org format) naming the public suffixes below which a registered domain is the unit of ownership; `\"\"`: the copy shipped with Ananas. All nodes must use the same list"),
        Text("cluster.nats-url", "", Restart, c => c.ClusterNatsUrl, (c, v) => c.ClusterNatsUrl = v,
            "membership from a NATS JetStream key-value bucket instead of (or besides) `cluster.peers`, e.g. `nats://10.0.0.5:4222`: each node registers `cluster.listen` under its id, renews it every third of `cluster.lease`, and a node that stops renewing drops out. `\"\"`: static membership only"),
        Text("cluster.nats-bucket", "ananas-cluster", Restart, c => c.ClusterNatsBucket, (c, v) => c.ClusterNatsBucket = v,
            "the key-value bucket of `cluster.nats-url` (created when missing)", Identifier, "identifier"),
        Duration("cluster.lease", "3s", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), Restart, c => c.ClusterLease, (c, v) => c.ClusterLease = v,
            "how long a NATS registration lasts without renewal"),

        Text("authoritative.store", "", Restart, c => c.AuthoritativeStore, (c, v) => c.AuthoritativeStore = v,
            "an edge store directory filled by `ananas auth import`: when set, `ananas serve` answers authoritatively from its zones instead of resolving (docs/AUTHORITATIVE.md); `\"\"` runs the resolver"),
        Text("authoritative.identity", "", Restart, c => c.AuthoritativeIdentity, (c, v) => c.AuthoritativeIdentity = v,
            "the answer to CH TXT `id.server` and `hostname.bind` in the authoritative role; `\"\"` refuses them"),
        Text("authoritative.version", "", Restart, c => c.AuthoritativeVersion, (c, v) => c.AuthoritativeVersion = v,
            "the answer to CH TXT `version.bind` and `version.server` in the authoritative role; `\"\"` refuses them"),
        Text("authoritative.sync", "", Restart, c => c.AuthoritativeSync, (c, v) => c.AuthoritativeSync = v,
            "the NATS server (`nats://HOST:PORT`) whose JetStream change stream (the zone pipeline's, `api.nats`) this edge applies to `authoritative.store`, in order, resuming from the store's applied sequence after downtime (docs/AUTHORITATIVE.md, *Following the pipeline*); `\"\"`: the store is written by others (`auth import`, `api serve`)",
            NatsUrl, "nats://HOST:PORT or empty"),
        Text("authoritative.edge-id", "", Restart, c => c.AuthoritativeEdgeId, (c, v) => c.AuthoritativeEdgeId = v,
            "this edge's name: its durable consumer on the change stream, so it must be unique among edges; `\"\"`: the host name (other characters than letters, digits, `-`, `_` become `-`)",
            EdgeId, "name or empty"),
        Text("authoritative.snapshot-api", "", Restart, c => c.AuthoritativeSnapshotApi, (c, v) => c.AuthoritativeSnapshotApi = v,
            "the zone API (`http://HOST:PORT`, as `api.listen`) whose `GET /edge/snapshot` an empty store loads before following `authoritative.sync` from the snapshot's sequence; `\"\"`: a new edge reads the whole stream instead",
            HttpUrl, "URL or empty"),
        Text("authoritative.snapshot-token", "", Restart, c => c.AuthoritativeSnapshotToken, (c, v) => c.AuthoritativeSnapshotToken = v,
            "an API token valid for all zones (`ananas api token create --all`) for `authoritative.snapshot-api`"),
        Boolean("authoritative.signing", true, Restart, c => c.AuthoritativeSigning, (c, v) => c.AuthoritativeSigning = v,
            "sign the answers of zones that have keys in the store (`ananas auth keygen`) for DNSSEC-aware clients: RRSIGs made at answer time, the DNSKEY RRset at the apex, RFC 9824 compact denial. Off serves every zone unsigned"),
        Duration("authoritative.signature-validity", "7d", TimeSpan.FromHours(1), TimeSpan.FromDays(90), Restart, c => c.SignatureValidity, (c, v) => c.SignatureValidity = v,
            "how long an online signature is valid (before `signature-jitter`); a cached signature is reused for a quarter of it"),
        Duration("authoritative.signature-inception-offset", "1h", TimeSpan.Zero, TimeSpan.FromDays(1), Restart, c => c.SignatureInceptionOffset, (c, v) => c.SignatureInceptionOffset = v,
            "signatures are dated this far in the past, for validators whose clocks run behind"),
        Duration("authoritative.signature-jitter", "6h", TimeSpan.Zero, TimeSpan.FromDays(30), Restart, c => c.SignatureJitter, (c, v) => c.SignatureJitter = v,
            "each signature's expiration is brought forward by a random amount up to this, so they do not all expire at once; at most half of `signature-validity`"),
        Integer("authoritative.signature-cache-size", 100_000, 16, 10_000_000, Restart, c => c.SignatureCacheSize, (c, v) => c.SignatureCacheSize = v,
            "signed RRsets whose signatures are kept for reuse (each made-up NSEC of a missing name is one; the oldest make room)"),
        Integer("authoritative.reply-cache-size", 32_768, 0, 4_000_000, Restart, c => c.ReplyCacheSize, (c, v) => c.ReplyCacheSize = v,
            "finished replies kept in front of the store, 512 octets each (any store write or zone reload makes them stale; signed replies are not kept); 0: every query reads the store"),
        Duration("authoritative.dnskey-ttl", "1h", TimeSpan.FromMinutes(1), TimeSpan.FromDays(2), Restart, c => c.DnskeyTtl, (c, v) => c.DnskeyTtl = v,
            "TTL of the DNSKEY RRset made from a signed zone's keys"),
        Networks("authoritative.allow-transfer", [], Restart, c => c.AuthoritativeAllowTransfer, (c, v) => c.AuthoritativeAllowTransfer = v,
            "client networks allowed zone transfers (AXFR over TCP, RFC 5936; IXFR answered with the whole zone, RFC 1995 §4); others get REFUSED. Empty: nobody"),
        new ConfigKey<List<string>>("authoritative.notify", "list of addresses", "[]", Restart,
            "secondaries `ADDR[:PORT]` (port 53 by default) sent NOTIFY (RFC 1996) when a zone's SOA serial changes in the store, resent with doubling waits until answered",
            (v, k) => List(v, k, s => { ConfigLoader.ParseEndPoint(s, 53); return s; }), c => c.AuthoritativeNotify, (c, v) => c.AuthoritativeNotify = v),

        new ConfigKey<string>("api.listen", "URL", "\"http://127.0.0.1:9155\"", Restart,
            "the zone API of `ananas api serve` (zones and DNS records, v4 style, docs/PIPELINE.md) at `http://ADDR:PORT`; every request needs an API token (`ananas api token create`). Plain HTTP: keep it on loopback or behind a TLS proxy",
            (v, _) => String(v) is { Length: > 0 } s ? HttpAddress(s) : throw new FormatException("the API needs an address"), c => c.ApiListen, (c, v) => c.ApiListen = v),
        new ConfigKey<string>("api.database", "string", "\"\"", Restart,
            "the central database: `\"\"` is SQLite in `$ANANAS_STATE_DIR/pipeline.db` (else `$XDG_STATE_HOME/ananas/`, else `~/.local/state/ananas/`), `sqlite:PATH` another SQLite file, `postgresql:CONNECTION-STRING` PostgreSQL (Npgsql keywords, e.g. `postgresql:Host=/run/postgresql;Database=ananas`). The schema is migrated at start",
            (v, _) => DatabaseSetting(String(v)), c => c.ApiDatabase, (c, v) => c.ApiDatabase = v),
        Text("api.edge-store", "", Restart, c => c.ApiEdgeStore, (c, v) => c.ApiEdgeStore = v,
            "the single-node default: without `api.nats`, every change is applied to this edge store directory, which `ananas auth serve --store` serves. `\"\"`: `edge` beside the default database"),
        Text("api.nats", "", Restart, c => c.ApiNats, (c, v) => c.ApiNats = v,
            "the NATS server (`nats://HOST:PORT`) whose JetStream stream the publisher sends changes to, for edges that follow it (`ananas auth serve --sync`); `\"\"`: changes go into `api.edge-store` instead",
            NatsUrl, "nats://HOST:PORT or empty"),
        new ConfigKey<long>("api.max-body-size", "size, 4KiB–1GiB", "\"4MiB\"", Restart,
            "the largest request body (a JSON record, or a zone file for import); larger is refused with 413 before it is read",
            (v, _) => Size(v, 4 << 10, 1L << 30), c => c.ApiMaxBodyBytes, (c, v) => c.ApiMaxBodyBytes = v),
        Integer("api.max-records-per-zone", 1_000_000, 1, 100_000_000, Restart, c => c.ApiMaxRecordsPerZone, (c, v) => c.ApiMaxRecordsPerZone = v,
            "records one zone may hold; a change past it is refused (a zone's token cannot fill the database)"),
        Duration("api.poll-interval", "100ms", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1), Restart, c => c.ApiPollInterval, (c, v) => c.ApiPollInterval = v,
            "how often the publisher looks for changes other processes committed to a SQLite database (changes made through this server wake it at once; with PostgreSQL, NOTIFY does and it polls every 5 s)"),
        Duration("api.token-cache", "10s", TimeSpan.Zero, TimeSpan.FromHours(1), Restart, c => c.ApiTokenCache, (c, v) => c.ApiTokenCache = v,
            "how long the API trusts an API token the database confirmed before asking it again: a token deleted from the database stops working within this time. `0s`: every request asks the database"),
        Duration("api.outbox-retention", "7d", TimeSpan.FromMinutes(1), TimeSpan.FromDays(365), Restart, c => c.ApiOutboxRetention, (c, v) => c.ApiOutboxRetention = v,
            "published outbox entries older than this are removed (the outbox's bound). An edge store that falls further behind catches up from a snapshot of the database (`GET /edge/snapshot`) instead"),
    ];

    private static readonly Dictionary<string, ConfigKey> ByName = All.ToDictionary(k => k.Name, StringComparer.Ordinal);

    /// <summary>The key called <paramref name="name"/>, or null.</summary>
    public static ConfigKey? Find(string name) => ByName.GetValueOrDefault(name);

    // --- Kinds of key: each fixes the type column, the TOML form of the default and the reader. ---

    private static ConfigKey Boolean(string name, bool @default, ReloadEffect reload, Func<ServerConfig, bool> get, Action<ServerConfig, bool> set, string doc) =>
        new ConfigKey<bool>(name, "boolean", @default ? "true" : "false", reload, doc, (v, _) => ConfigValues.Boolean(v), get, set);

    private static ConfigKey Integer(string name, int @default, int min, int max, ReloadEffect reload, Func<ServerConfig, int> get, Action<ServerConfig, int> set, string doc) =>
        new ConfigKey<int>(name, $"integer, {min}–{max}", @default.ToString(System.Globalization.CultureInfo.InvariantCulture), reload, doc,
            (v, _) => (int)ConfigValues.Integer(v, min, max), get, set);

    private static ConfigKey Duration(string name, string @default, TimeSpan min, TimeSpan max, ReloadEffect reload, Func<ServerConfig, TimeSpan> get, Action<ServerConfig, TimeSpan> set, string doc) =>
        new ConfigKey<TimeSpan>(name, $"duration, {Show(min)}–{Show(max)}", $"\"{@default}\"", reload, doc, (v, _) => ConfigValues.Duration(v, min, max), get, set);

    private static ConfigKey Text(string name, string @default, ReloadEffect reload, Func<ServerConfig, string> get, Action<ServerConfig, string> set, string doc,
        Func<string, string>? check = null, string? type = null) =>
        new ConfigKey<string>(name, type ?? (check is null ? "string" : "URL or empty"), $"\"{@default}\"", reload, doc, (v, _) => String(v) is var s && check is not null ? check(s) : s, get, set);

    private static ConfigKey Networks(string name, string[] @default, ReloadEffect reload, Func<ServerConfig, List<string>> get, Action<ServerConfig, List<string>> set, string doc) =>
        new ConfigKey<List<string>>(name, "list of networks", Toml(@default), reload, doc,
            (v, k) => List(v, k, s => { AccessList.ParseNetwork(s); return s; }), get, set);

    private static ConfigKey Choice<T>(string name, string @default, ReloadEffect reload, Func<ServerConfig, T> get, Action<ServerConfig, T> set, string doc,
        params (string Text, T Value)[] choices) where T : notnull
    {
        string names = string.Join(", ", choices.Select(c => c.Text).Distinct());
        return new ConfigKey<T>(name, "one of " + string.Join(", ", choices.Select(c => $"`{c.Text}`")), $"\"{@default}\"", reload, doc,
            (v, _) => String(v) is var text && Array.FindIndex(choices, c => c.Text == text) is var i and >= 0 ? choices[i].Value
                : throw new FormatException($"'{text}' is not one of {names}"),
            get, set);
    }

    /// <summary>A share in (0, 1], e.g. 0.01 (an integer 1 too).</summary>
    private static ConfigKey Fraction(string name, double @default, ReloadEffect reload, Func<ServerConfig, double> get, Action<ServerConfig, double> set, string doc) =>
        new ConfigKey<double>(name, "number, (0, 1]", @default.ToString("R", System.Globalization.CultureInfo.InvariantCulture), reload, doc,
            (v, _) => (v switch
            {
                FloatValueSyntax f => f.Value,
                IntegerValueSyntax i => i.Value,
                _ => throw new FormatException("expected a number between 0 and 1"),
            }) is var d and > 0 and <= 1 ? d : throw new FormatException("not in (0, 1] (e.g. 0.01 for 1 %)"),
            get, set);

    /// <summary>A node or cluster name: up to 63 letters, digits, '-', '_' and '.' (or empty).</summary>
    /// <summary><c>nats://HOST:PORT</c> or empty.</summary>
    public static string NatsUrl(string s) =>
        s.Length == 0 || (Uri.TryCreate(s, UriKind.Absolute, out var u) && u.Scheme == "nats" && u.Port > 0) ? s : throw new FormatException($"'{s}' is not nats://HOST:PORT");

    /// <summary>An edge's consumer name on the change stream (a NATS subject token: no '.'), or empty.</summary>
    public static string EdgeId(string s) =>
        s.Length <= 64 && s.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_') ? s : throw new FormatException($"'{s}' is not up to 64 letters, digits, '-' and '_'");

    /// <summary><c>http(s)://HOST:PORT</c> or empty.</summary>
    public static string HttpUrl(string s) =>
        s.Length == 0 || (Uri.TryCreate(s, UriKind.Absolute, out var u) && u.Scheme is "http" or "https") ? s : throw new FormatException($"'{s}' is not http://HOST:PORT");

    internal static string Identifier(string text) => text.Length <= 63 && text.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.')
        ? text : throw new FormatException($"'{text}' is not up to 63 letters, digits, '-', '_' and '.'");

    /// <summary>An RFC 9018 server secret: 16 octets as 32 hex digits, or empty.</summary>
    private static ConfigKey CookieSecret(string name, Func<ServerConfig, string> get, Action<ServerConfig, string> set, string doc) =>
        new ConfigKey<string>(name, "32 hex digits or empty", "\"\"", Restart, doc,
            (v, _) => String(v) is var text && (text.Length == 0 || (text.Length == 32 && text.All(char.IsAsciiHexDigit))) ? text
                : throw new FormatException("expected 32 hex digits (16 octets, e.g. from `openssl rand -hex 16`), or \"\" for a generated secret"),
            get, set);

    private static string Toml(IEnumerable<string> items) => "[" + string.Join(", ", items.Select(i => $"\"{i}\"")) + "]";

    /// <summary>A domain name as written in the file, returned as given (it is parsed again where it is used).</summary>
    private static string DomainName(string text) =>
        Ananas.Dns.DnsName.TryParse(text, null, out _, out var error) && text.Length > 0 ? text : throw new FormatException($"'{text}' is not a domain name: {error}");

    /// <summary>One of the special-use zones <see cref="Resolver.LocalZones"/> can serve, returned as given.</summary>
    private static string LocalZone(string text) => Resolver.LocalZones.IsSupported(text) ? text
        : throw new FormatException($"'{text}' is not a special-use zone Ananas serves (one of {string.Join(", ", Resolver.LocalZones.Supported)})");

    /// <summary><c>""</c>, <c>sqlite:PATH</c> or <c>postgresql:CONNECTION-STRING</c>, returned as given.</summary>
    private static string DatabaseSetting(string text) =>
        text.Length == 0 || (text.StartsWith("sqlite:", StringComparison.Ordinal) && text.Length > 7) || (text.StartsWith("postgresql:", StringComparison.Ordinal) && text.Length > 11)
            ? text : throw new FormatException($"'{text}' is not \"\", sqlite:PATH or postgresql:CONNECTION-STRING");

    /// <summary><c>http://ADDR:PORT</c> or empty (off).</summary>
    private static string HttpAddress(string text)
    {
        if (text.Length > 0) Listeners.MetricsListener.ParseAddress(text);
        return text;
    }
}
