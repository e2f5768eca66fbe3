#!/usr/bin/env bash
# Builds every WebAssembly guest from source with Debian's rustc (no cargo, no external crates):
#   guests/<app>/lib.rs   -> .build/guests/<app>.wasm          (apps built on the SDK)
#   guests/tests/<t>.rs   -> .build/guests/tests/<t>.wasm      (test guests, including hostile ones)
# Guests include the SDK as a module (`#[path = "../sdk/lib.rs"] mod ananas;`), so each is one rustc call.
# A guest is rebuilt only when its source, a file of the SDK (guests/sdk/*.rs) or one of its own modules
# (guests/tests/<t>/*.rs) is newer than its .wasm.
# Skips (exit 0 with a reason) only when /usr/bin/rustc or the wasm32 standard library is missing and
# scripts/setup.sh could not install them.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/.build/guests"
# Always Debian's rustc: a rustup toolchain earlier on PATH has no wasm32 target.
rustc=/usr/bin/rustc
wasm_std=/usr/lib/rustlib/wasm32-unknown-unknown

if [ ! -x "$rustc" ] || [ ! -d "$wasm_std" ]; then
  echo "build-guests: SKIPPED: $rustc or $wasm_std is missing (apt packages rustc and libstd-rust-dev-wasm32;" \
       "scripts/setup.sh installs them, but it could not here)" >&2
  exit 0
fi

mkdir -p "$out/tests"
sdk_files=("$root"/guests/sdk/*.rs)
built=0

newer_than() { # output, files...
  local dst="$1" f
  shift
  for f in "$@"; do [ ! -e "$f" ] || [ "$dst" -nt "$f" ] || return 1; done
}

build() { # source, output
  local src="$1" dst="$2"
  # A test guest's own modules, if any, are in the folder of its name (guests/tests/hpke.rs: guests/tests/hpke/).
  if [ -f "$dst" ] && newer_than "$dst" "$src" "${sdk_files[@]}" "${src%.rs}"/*.rs; then return 0; fi
  "$rustc" --edition 2021 --target wasm32-unknown-unknown -O --crate-type cdylib -C strip=symbols \
    --crate-name "$(basename "$dst" .wasm | tr -c 'A-Za-z0-9_\n' '_')" -o "$dst.tmp" "$src"
  mv "$dst.tmp" "$dst"
  built=$((built + 1))
}

for dir in "$root"/guests/*/; do
  name=$(basename "$dir")
  case "$name" in sdk|tests) continue ;; esac
  [ -f "$dir/lib.rs" ] && build "$dir/lib.rs" "$out/$name.wasm"
done
for src in "$root"/guests/tests/*.rs; do
  [ -f "$src" ] && build "$src" "$out/tests/$(basename "$src" .rs).wasm"
done
[ "$built" -gt 0 ] && echo "build-guests: built $built guest(s) into $out" >&2
exit 0
