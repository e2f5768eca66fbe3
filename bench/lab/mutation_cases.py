"""The cases of the DNSSEC mutation lab: classes of broken or tricky signed zones and the questions to ask about them.

Every case zone is c<N>.mut. (served by group A), with children <label>.c<N>.mut. (group B). Shared fixture zones
under mut. (sec, sec3, ins, bog) are the targets of CNAME and DNAME chains. The expected verdict is not written
here: the two peer validators are the judges (bench/lab/mutations.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mutation_zones import (Key, Zone, add, bogus_sigs, colliding_rsa_keys, corrupt_b64, corrupt_denial,
                            denial_bitmap_add, drop, drop_denial, drop_sigs, edit_sig, set_ttl)

BASE = [
    "@\tIN\tA\t10.1.0.1",
    "www\tIN\tA\t10.1.0.2",
    "www\tIN\tAAAA\t2001:db8::2",
    'txt\tIN\tTXT\t"t"',
    "alias\tIN\tCNAME\twww",
    "a.ent\tIN\tA\t10.1.0.3",
    "c.b.deep\tIN\tA\t10.1.0.5",
    "*.wild\tIN\tA\t10.1.0.4",
    '*.wild\tIN\tTXT\t"w"',
    "mx\tIN\tMX\t10 www",
]

# Signing profiles: (label, keys, NSEC3 parameters or None for NSEC)
PROFILES = [
    ("rsa-nsec", ["8"], None),
    ("ecdsa-nsec", ["13"], None),
    ("ed25519-nsec", ["15"], None),
    ("ecdsa-nsec3", ["13"], (0, "", False)),
    ("rsa-nsec3", ["8"], (0, "", False)),
    ("p384-nsec3salt", ["14"], (1, "a1b2", False)),
]
ALGS = {"8": 8, "8b": 8, "13": 13, "13b": 13, "13r": 13, "14": 14, "15": 15, "16": 16}


@dataclass
class Case:
    id: int
    cls: str
    variant: str
    zones: list[Zone]
    queries: list[tuple[str, str]]  # asked in order (some cases need a first answer cached)
    note: str = ""
    quick: bool = False

    @property
    def origin(self) -> str:
        return self.zones[0].origin


@dataclass
class Plan:
    cases: list[Case] = field(default_factory=list)
    fixtures: list[Zone] = field(default_factory=list)

    def new(self, cls: str, variant: str, zone_kw: dict, queries: list[tuple[str, str]], children=(), note="") -> Case:
        n = len(self.cases)
        origin = f"c{n}.mut."
        kw = dict(zone_kw)
        records = list(BASE) + kw.pop("records", [])
        z = Zone(origin, "A", records, **kw)
        zones = [z]
        for label, child_kw in children:
            ck = dict(child_kw)
            child_records = ["www\tIN\tA\t10.2.0.2", 'txt\tIN\tTXT\t"child"'] + ck.pop("records", [])
            zones.append(Zone(f"{label}.{origin}", "B", child_records, **ck))
        q = [(name.replace("@Z", origin.rstrip(".")), t) for name, t in queries]
        c = Case(n, cls, variant, zones, q, note)
        self.cases.append(c)
        return c


def fixtures() -> list[Zone]:
    return [
        Zone("sec.mut.", "A", list(BASE), keys=["13"]),
        Zone("sec3.mut.", "A", list(BASE), keys=["13"], nsec3=(0, "", False)),
        Zone("ins.mut.", "A", list(BASE), keys=[]),
        Zone("bog.mut.", "A", list(BASE) + ["bad\tIN\tA\t10.9.9.9"], keys=["13"],
             mutations=[edit_sig("www", "A", 8, corrupt_b64), edit_sig("bad", "A", 8, corrupt_b64),
                        drop_denial("nx")]),
    ]


def profile_kw(keys, nsec3) -> dict:
    return {"keys": list(keys), "nsec3": nsec3}


SIG_TARGETS = [("www", "A", [("www.@Z", "A")]), ("@", "DNSKEY", [("www.@Z", "A")]),
               ("@", "SOA", [("nx.@Z", "A"), ("www.@Z", "MX")])]


def sig_field_classes(p: Plan, keys: dict[str, Key]) -> None:
    other_alg = {8: "13", 13: "8", 14: "13", 15: "13"}
    edits = {
        "rrsig-expired": (4, lambda v: "20200101000000"),
        "rrsig-not-yet-valid": (5, lambda v: "20350101000000"),
        "rrsig-labels-high": (2, lambda v: str(int(v) + 1)),
        "rrsig-labels-low": (2, lambda v: str(max(int(v) - 1, 0))),
        "rrsig-signer-parent": (7, lambda v: "mut."),
        "rrsig-signer-other": (7, lambda v: "sec.mut."),
        "rrsig-keytag": (6, lambda v: str((int(v) + 1) % 65536)),
        "rrsig-orig-ttl": (3, lambda v: "60"),
        "rrsig-type-covered": (0, lambda v: "NAPTR"),
        "rrsig-corrupt": (8, corrupt_b64),
    }
    for cls, (index, fn) in edits.items():
        for label, ks, n3 in PROFILES:
            for owner, covered, queries in SIG_TARGETS:
                p.new(cls, f"{label} {covered}", {**profile_kw(ks, n3), "mutations": [edit_sig(owner, covered, index, fn)]},
                      queries)
    for label, ks, n3 in PROFILES:
        alg = ALGS[ks[0]]
        for owner, covered, queries in SIG_TARGETS:
            p.new("rrsig-algorithm", f"{label} {covered}",
                  {**profile_kw(ks, n3), "mutations": [edit_sig(owner, covered, 1, lambda v, a=other_alg[alg]: str(ALGS[a]))]},
                  queries)
            p.new("rrsig-missing", f"{label} {covered}", {**profile_kw(ks, n3), "mutations": [drop_sigs(owner, covered)]},
                  queries)
        p.new("zone-expired", label, {**profile_kw(ks, n3), "valid_days": (-40, -1)}, [("www.@Z", "A"), ("nx.@Z", "A")])
        p.new("zone-not-yet-valid", label, {**profile_kw(ks, n3), "valid_days": (1, 60)}, [("www.@Z", "A")])
        p.new("ttl-above-original", label, {**profile_kw(ks, n3), "mutations": [set_ttl("www", "A", 86400)]},
              [("www.@Z", "A")], note="valid: the TTL is capped at the RRSIG's original TTL (RFC 4035 §5.3.3)")


def control_classes(p: Plan) -> None:
    for label, ks, n3 in PROFILES:
        p.new("control-positive", label, profile_kw(ks, n3),
              [("www.@Z", "A"), ("www.@Z", "AAAA"), ("txt.@Z", "TXT"), ("alias.@Z", "A"), ("alias.@Z", "CNAME"),
               ("@Z", "DNSKEY"), ("mx.@Z", "MX")])
        p.new("control-negative", label, profile_kw(ks, n3),
              [("nx.@Z", "A"), ("www.@Z", "MX"), ("nx.alias.@Z", "A"), ("a.b.nx.@Z", "TXT")])
        p.new("ent-nodata", label, profile_kw(ks, n3),
              [("ent.@Z", "A"), ("deep.@Z", "TXT"), ("b.deep.@Z", "AAAA"), ("x.a.ent.@Z", "A")])
        p.new("wildcard-expansion", label, profile_kw(ks, n3),
              [("x.wild.@Z", "A"), ("a.b.wild.@Z", "TXT"), ("x.wild.@Z", "MX"), ("wild.@Z", "A")])


def denial_classes(p: Plan) -> None:
    targets = [("nxdomain", "nx", [("nx.@Z", "A")]), ("nodata", "www", [("www.@Z", "MX")]),
               ("ent", "ent", [("ent.@Z", "A")]), ("wildcard", "x.wild", [("x.wild.@Z", "A")]),
               ("wildcard-denial", "*.@Z", [("q.nx2.@Z", "A")])]
    for label, ks, n3 in PROFILES:
        for tname, name, queries in targets:
            name = name.replace("*.@Z", "*")
            p.new("denial-gap", f"{label} {tname}", {**profile_kw(ks, n3), "mutations": [drop_denial(name)]}, queries)
            p.new("denial-badsig", f"{label} {tname}", {**profile_kw(ks, n3), "mutations": [corrupt_denial(name)]},
                  queries)
        p.new("denial-bitmap-lie", label, {**profile_kw(ks, n3), "mutations": [denial_bitmap_add("www", "MX")]},
              [("www.@Z", "MX")])
        p.new("denial-soa-missing", label, {**profile_kw(ks, n3), "mutations": [drop_sigs("@", "SOA")]},
              [("nx.@Z", "A"), ("www.@Z", "MX")])


def nsec3_classes(p: Plan) -> None:
    for it in (0, 1, 10, 25, 50, 51, 100, 149, 150, 151, 200, 500):
        p.new("nsec3-iterations", f"{it}", {"keys": ["13"], "nsec3": (it, "", False)},
              [("nx.@Z", "A"), ("www.@Z", "MX")])
    for salt in ("", "aa", "0123456789abcdef", "ff" * 32):
        p.new("nsec3-salt", f"{len(salt) // 2} bytes", {"keys": ["13"], "nsec3": (0, salt, False)},
              [("nx.@Z", "A"), ("ent.@Z", "A")])
    for it in (0, 10):
        for label, ks in (("ecdsa", ["13"]), ("rsa", ["8"]), ("ed25519", ["15"])):
            kw = {"keys": ks, "nsec3": (it, "", True)}
            p.new("nsec3-optout", f"{label} it={it}", kw,
                  [("www.uns.@Z", "A"), ("uns.@Z", "DS"), ("nx.@Z", "A"), ("www.@Z", "A")],
                  children=[("uns", {"keys": []})])
            p.new("nsec3-optout-signed-child", f"{label} it={it}", kw,
                  [("www.sig.@Z", "A"), ("sig.@Z", "DS"), ("nx.sig.@Z", "A")],
                  children=[("sig", {"keys": ["13"]})])


def ds_classes(p: Plan, keys: dict[str, Key]) -> None:
    for kname in ("8", "13", "15"):
        k = keys[kname]
        alg = k.algorithm

        def zone_ds(origin: str, dt=2) -> str:
            return k.ds(origin, dt)
        queries = [("www.@Z", "A"), ("nx.@Z", "A")]
        for dt in (1, 2, 4):
            p.new("ds-digest-mismatch", f"alg{alg} digest{dt}", {"keys": [kname]}, queries).zones[0].ds = ["DEFER", dt]
        for variant in ("type200", "type3-gost", "type200+valid", "type5", "type1+valid-sha256-bad"):
            p.new("ds-digest-unsupported", f"alg{alg} {variant}", {"keys": [kname]}, queries).zones[0].ds = ["DEFER", variant]
        for variant in ("alg200", "alg253", "alg1-rsamd5", "alg200+valid", "alg12-gost", "alg3-dsa"):
            p.new("ds-algorithm-unsupported", f"alg{alg} {variant}", {"keys": [kname]}, queries).zones[0].ds = ["DEFER", variant]
        p.new("ds-keytag-mismatch", f"alg{alg}", {"keys": [kname]}, queries).zones[0].ds = ["DEFER", "tag+1"]
        p.new("ds-algorithm-mismatch", f"alg{alg}", {"keys": [kname]}, queries).zones[0].ds = ["DEFER", "alg-swap"]
        p.new("ds-no-dnskey", f"alg{alg} unsigned child", {"keys": [], "ds": [lambda o, k=k: k.ds(o, 2)]}, queries)
        p.new("dnskey-missing", f"alg{alg}", {"keys": [kname], "mutations": [drop("@", "DNSKEY"), drop_sigs("@", "DNSKEY")]},
              queries)
        p.new("dnskey-unsigned", f"alg{alg}", {"keys": [kname], "mutations": [drop_sigs("@", "DNSKEY")]}, queries)
        p.new("signed-no-ds", f"alg{alg}", {"keys": [kname], "ds": []}, queries)


def resolve_ds(case: Case, keys: dict[str, Key]) -> None:
    """Fills in the DS variants marked DEFER (they need the zone's origin)."""
    z = case.zones[0]
    if not z.ds or z.ds[0] != "DEFER":
        return
    k = keys[z.keys[0]]
    o = z.origin
    v = z.ds[1]
    valid = k.ds(o, 2)
    tag, alg, dt, digest = valid.split()
    if isinstance(v, int):
        d = k.ds(o, v).split()
        d[3] = d[3][:-4] + ("0000" if d[3][-4:] != "0000" else "1111")
        z.ds = [" ".join(d)]
        return
    table = {
        "type200": [f"{tag} {alg} 200 {digest}"],
        "type3-gost": [f"{tag} {alg} 3 {'AB' * 32}"],
        "type5": [f"{tag} {alg} 5 {digest}"],
        "type200+valid": [f"{tag} {alg} 200 {digest}", valid],
        "type1+valid-sha256-bad": [k.ds(o, 1), f"{tag} {alg} 2 {'00' * 32}"],
        "alg200": [f"{tag} 200 2 {digest}"],
        "alg253": [f"{tag} 253 2 {digest}"],
        "alg1-rsamd5": [f"{tag} 1 2 {digest}"],
        "alg12-gost": [f"{tag} 12 2 {digest}"],
        "alg3-dsa": [f"{tag} 3 2 {digest}"],
        "alg200+valid": [f"{tag} 200 2 {digest}", valid],
        "tag+1": [f"{(int(tag) + 1) % 65536} {alg} 2 {digest}"],
        "alg-swap": [f"{tag} {13 if alg != '13' else 8} 2 {digest}"],
    }
    z.ds = table[v]


def key_set_classes(p: Plan, keys: dict[str, Key]) -> None:
    q = [("www.@Z", "A"), ("nx.@Z", "A"), ("@Z", "DNSKEY")]
    for pair in (["8", "13"], ["13", "15"], ["8", "14"]):
        a, b = pair
        aa, ab = ALGS[a], ALGS[b]
        p.new("mixed-algorithms", f"{aa}+{ab} both DS", {"keys": pair}, q)
        p.new("mixed-algorithms", f"{aa}+{ab} DS {aa} only", {"keys": pair, "ds": [lambda o, k=keys[a]: k.ds(o, 2)]}, q)
        p.new("mixed-algorithms", f"{aa}+{ab} answer signed by {aa} only",
              {"keys": pair, "mutations": [drop_sigs("www", "A", ab)]}, q)
        p.new("mixed-algorithms", f"{aa}+{ab} DS {ab} only, answer signed by {aa} only",
              {"keys": pair, "ds": [lambda o, k=keys[b]: k.ds(o, 2)], "mutations": [drop_sigs("www", "A", ab)]}, q)
        p.new("mixed-algorithms", f"{aa}+{ab} {ab} signature bad",
              {"keys": pair, "mutations": [drop_sigs("www", "A", ab), add(f"www 3600 RRSIG A {ab} 3 3600 20350101000000 "
                                                                          f"20200101000000 {keys[b].tag()} @Z. AAAA")]}, q)
        p.new("mixed-algorithms", f"{aa}+{ab} DNSKEY signed by {aa} only, DS {ab} only",
              {"keys": pair, "ds": [lambda o, k=keys[b]: k.ds(o, 2)], "mutations": [drop_sigs("@", "DNSKEY", ab)]}, q)
    # Revoked keys (RFC 5011 §2.1: a key with the REVOKE bit must not be used to validate)
    p.new("revoked-key", "only key revoked, DS of the revoked key", {"keys": ["13r"]}, q)
    p.new("revoked-key", "revoked plus a valid key, DS of the valid key",
          {"keys": ["13r", "13"], "ds": [lambda o: keys["13"].ds(o, 2)]}, q)
    p.new("revoked-key", "revoked plus a valid key, DS of the revoked key",
          {"keys": ["13r", "13"], "ds": [lambda o: keys["13r"].ds(o, 2)]}, q)
    p.new("revoked-key", "revoked plus a valid key, answer signed by the revoked only",
          {"keys": ["13r", "8"], "ds": [lambda o: keys["8"].ds(o, 2)],
           "mutations": [drop_sigs("www", "A", 8)]}, q)
    # KeyTrap shapes: keys colliding with the real key's tag and bogus signatures naming it.
    for kn, sn in ((2, 2), (4, 4), (8, 8), (16, 16), (32, 32), (64, 4), (4, 64)):
        for target in ("www", "@"):
            covered = "A" if target == "www" else "DNSKEY"
            colliding = [f"@\tIN\tDNSKEY\t257 3 8 {pub}" for pub in colliding_rsa_keys(keys["8"].tag(), kn, kn * 7 + sn)]
            p.new("keytrap", f"{kn} keys x {sn} sigs on {covered}",
                  {"keys": ["8"], "records": colliding, "mutations": [bogus_sigs(target, covered, sn, 8)]},
                  [("www.@Z", "A")])


def chain_classes(p: Plan) -> None:
    targets = {"sec": "www.sec.mut.", "sec3": "www.sec3.mut.", "ins": "www.ins.mut.", "bog": "www.bog.mut.",
               "nx-sec": "nx.sec.mut.", "nx-sec3": "nx.sec3.mut.", "nx-ins": "nx.ins.mut.", "nx-bog": "nx.bog.mut.",
               "ent-sec": "ent.sec.mut.", "wild-sec3": "x.wild.sec3.mut."}
    for src_label, ks, n3 in (("secure", ["13"], None), ("secure-nsec3", ["13"], (0, "", False)), ("insecure", [], None)):
        for tname, target in targets.items():
            p.new("cname-chain", f"{src_label} -> {tname}",
                  {"keys": ks, "nsec3": n3, "records": [f"to\tIN\tCNAME\t{target}", f"two\tIN\tCNAME\tto"]},
                  [("to.@Z", "A"), ("two.@Z", "A"), ("to.@Z", "CNAME"), ("to.@Z", "MX")])
        for tname, zone in (("sec", "sec.mut."), ("sec3", "sec3.mut."), ("ins", "ins.mut."), ("bog", "bog.mut.")):
            p.new("dname", f"{src_label} -> {tname}", {"keys": ks, "nsec3": n3, "records": [f"dn\tIN\tDNAME\t{zone}"]},
                  [("www.dn.@Z", "A"), ("nx.dn.@Z", "A"), ("dn.@Z", "DNAME"), ("www.dn.@Z", "MX"), ("www.dn.@Z", "CNAME")])
    for tname, zone in (("sec", "sec.mut."), ("ins", "ins.mut."), ("sec3", "sec3.mut.")):
        for label, mut in (("signature bad", edit_sig("dn", "DNAME", 8, corrupt_b64)), ("unsigned", drop_sigs("dn", "DNAME")),
                           ("wildcard-labelled", edit_sig("dn", "DNAME", 2, lambda v: str(int(v) - 1)))):
            p.new("dname-bogus", f"{label} -> {tname}",
                  {"keys": ["13"], "records": [f"dn\tIN\tDNAME\t{zone}"], "mutations": [mut]},
                  [("www.dn.@Z", "A"), ("nx.dn.@Z", "A"), ("dn.@Z", "DNAME")])
        p.new("cname-bogus", f"signature bad -> {tname}",
              {"keys": ["13"], "records": [f"to\tIN\tCNAME\twww.{zone}"], "mutations": [edit_sig("to", "CNAME", 8, corrupt_b64)]},
              [("to.@Z", "A"), ("to.@Z", "CNAME")])


def cut_classes(p: Plan) -> None:
    for label, ks, n3 in PROFILES:
        kw = profile_kw(ks, n3)
        # RFC 6840 §4.1: the parent's NSEC at a cut (NS, no SOA) proves nothing below the cut.
        p.new("overreach-parent-nsec", f"{label} insecure child", kw,
              [("sub.@Z", "DS"), ("nothere.sub.@Z", "A"), ("www.sub.@Z", "A"), ("txt.sub.@Z", "TXT")],
              children=[("sub", {"keys": []})])
        p.new("overreach-parent-nsec", f"{label} secure child", kw,
              [("sub.@Z", "DS"), ("sub.@Z", "A"), ("nothere.sub.@Z", "A"), ("www.sub.@Z", "A")],
              children=[("sub", {"keys": ["13"]})])
        # A span signed before the delegation was added: its NSEC covers the cut (RFC 4035 §5.4 and RFC 6840 §4.3).
        p.new("overreach-span-across-cut", label,
              {**kw, "mutations": [add("sub 3600 NS ns.sub.@Z.", "ns.sub 3600 A @B@")]},
              [("nx.@Z", "A"), ("sua.@Z", "A"), ("www.sub.@Z", "A")], children=[("sub", {"keys": [], "delegate": False})])
        p.new("insecure-delegation", label, kw, [("www.sub.@Z", "A"), ("nx.sub.@Z", "A"), ("sub.@Z", "DS")],
              children=[("sub", {"keys": []})])
        p.new("insecure-delegation-no-proof", label, {**kw, "mutations": [drop_denial("sub")]},
              [("www.sub.@Z", "A"), ("sub.@Z", "DS")], children=[("sub", {"keys": []})])
        p.new("insecure-delegation-badsig", label, {**kw, "mutations": [corrupt_denial("sub")]},
              [("www.sub.@Z", "A")], children=[("sub", {"keys": []})])
        p.new("secure-delegation", label, kw, [("www.sub.@Z", "A"), ("nx.sub.@Z", "A"), ("sub.@Z", "DS")],
              children=[("sub", {"keys": ["15"], "nsec3": (0, "", False)})])
        p.new("ds-without-delegation", label, kw, [("www.sub.@Z", "A"), ("sub.@Z", "DS"), ("sub.@Z", "A")],
              children=[("sub", {"keys": ["13"], "delegate": False})])
        p.new("child-ds-bogus", label, {**kw, "mutations": [edit_sig("sub", "DS", 8, corrupt_b64)]},
              [("www.sub.@Z", "A"), ("sub.@Z", "DS")], children=[("sub", {"keys": ["13"]})])


def build_plan(keys: dict[str, Key]) -> Plan:
    p = Plan(fixtures=fixtures())
    control_classes(p)
    sig_field_classes(p, keys)
    denial_classes(p)
    nsec3_classes(p)
    ds_classes(p, keys)
    key_set_classes(p, keys)
    chain_classes(p)
    cut_classes(p)
    for c in p.cases:
        resolve_ds(c, keys)
    # The quick subset: every class, spread over its variants.
    seen: dict[str, int] = {}
    for c in p.cases:
        seen[c.cls] = seen.get(c.cls, 0) + 1
        if seen[c.cls] % 4 == 1:
            c.quick = True
    return p
