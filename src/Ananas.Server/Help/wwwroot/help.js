// /help: one probe over DoH from this page, one through the system resolver, then ask the server what it saw.
"use strict";
const $ = (id) => document.getElementById(id);
const ZONE = "ananas-help.internal";
const NAMES = { https: "DNS over HTTPS", tls: "DNS over TLS", tcp: "plain DNS (TCP)", udp: "plain DNS (UDP)" };
const bytes = new Uint8Array(8);
crypto.getRandomValues(bytes);
const nonce = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
window.ananasHelp = { nonce, done: false };
$("nonce").textContent = nonce;

function describe(probes, kind) {
  const seen = probes.filter((p) => p.kind === kind);
  if (seen.length === 0) return null;
  return [...new Set(seen.map((p) => NAMES[p.transport] || p.transport))].join(", ");
}

async function check() {
  const response = await fetch("/help/probe?nonce=" + nonce, { cache: "no-store" });
  const facts = await response.json();
  $("resolver").textContent = `${facts.resolver} ${facts.version}`;
  $("node").textContent = facts.nodeId + (facts.clusterId ? " / " + facts.clusterId : " (no cluster)");
  $("validation").textContent = facts.validation ? "on" : "off";
  $("validation").className = facts.validation ? "yes" : "no";
  $("client-address").textContent = facts.clientAddress || "unknown";
  const browser = describe(facts.probes, "doh");
  const system = describe(facts.probes, "os");
  $("browser-protocol").textContent = browser || "not this resolver";
  $("system-protocol").textContent = system || "not this resolver (no probe arrived)";
  $("system-protocol").className = system ? "yes" : "no";
  return facts;
}

async function run() {
  // Over DoH, through this server's JSON API: the probe arrives as an https frame.
  try {
    await fetch(`/dns-query?name=${nonce}.doh.${ZONE}&type=TXT`, { cache: "no-store" });
  } catch (e) {
    /* shown as "not this resolver" */
  }
  // Through the system resolver: the browser resolves the name to load an image; the load itself fails (no address).
  const probe = new Image();
  probe.src = `https://${nonce}.os.${ZONE}/probe.png`;
  // The system resolver's probe may arrive a little later: look a few times (bounded).
  for (let i = 0; i < 20; i++) {
    const facts = await check();
    if (facts.probes.some((p) => p.kind === "os")) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  $("progress").textContent = "Done.";
  window.ananasHelp.done = true;
}

// Tests (and a curious operator) can re-check after making a probe by other means.
window.ananasHelp.check = check;
run();
