#!/usr/bin/env bash
# Installs what the build and tests need on a fresh machine of this kind (Debian + .NET SDK).
# Idempotent and quiet when everything is present.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "setup: the .NET 10 SDK (dotnet) is required but not on PATH" >&2
  exit 1
fi

# Debian packages used by tests and tools (loopback authoritative servers, DNS clients; liblmdb0 for the edge
# store when the LMDB bundled with the LightningDB package needs a newer glibc than the system has; nats-server for the
# cluster membership tests; postgresql for the zone pipeline's database tests through scripts/postgres.sh; unbound as
# the independent validator of online-signed zones, SignedAuthEndToEndTests). bench/run adds the other resolvers it
# compares (knot-resolver pdns-recursor bind9) through ANANAS_APT_PACKAGES.
packages=(nsd dnsperf dnsutils knot-dnsutils ldnsutils knot liblmdb0 nats-server postgresql unbound ${ANANAS_APT_PACKAGES:-})
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  # Server packages (the benchmark's resolvers, NSD) must not start their system daemons on install: the lab and
  # bench/run start their own on loopback. A policy-rc.d that says "no" does that, removed again afterwards.
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy" && own_policy=1
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2 || status=$?
  if [ -n "$own_policy" ]; then $SUDO rm -f "$policy"; fi
  if [ "$status" -ne 0 ]; then exit "$status"; fi
fi

# Optional Debian packages: a failure only warns, and what needs them is skipped (and says so).
optional() {
  local why="$1"; shift
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  echo "setup: installing ${missing[*]} ($why)" >&2
  local SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"; } >&2 ||
    echo "setup: could not install ${missing[*]}; $why will be skipped" >&2
}
# Debian's Rust compiler and wasm32 standard library build the WebAssembly guests (scripts/build-guests.sh).
optional "WebAssembly guests" rustc libstd-rust-dev-wasm32
# The browser tests drive Debian's chromium through Playwright (no browser download).
optional "browser tests" chromium
# AFL++ drives the coverage-guided fuzzers (fuzz/run; not part of ./test).
optional "fuzz/run" afl++
# The web console vendors uPlot from npm at build time; npm comes with Node.js or, failing that, from Debian.
command -v npm >/dev/null 2>&1 || optional "web console build" npm
"$root/scripts/vendor-console.sh"

# NuGet restore for the whole solution (a no-op when up to date).
dotnet restore "$root/Ananas.slnx" -v quiet >&2
