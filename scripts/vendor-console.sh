#!/usr/bin/env bash
# Vendors the web console's charting library (uPlot, MIT) from npm into .build/console-vendor/, with its licence.
# Run by the Ananas.Server build when the files are missing (and by scripts/setup.sh); the binary embeds them, so
# the console needs no CDN. The version is pinned here; bump it deliberately.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="1.6.32"
out="$root/.build/console-vendor"
if [ -f "$out/dist/uPlot.iife.min.js" ] && [ "$(cat "$out/dist/VERSION" 2>/dev/null)" = "$version" ]; then exit 0; fi
if ! command -v npm >/dev/null 2>&1; then
  echo "vendor-console: npm is required to fetch uPlot $version (Debian: apt-get install npm)" >&2
  exit 1
fi
work="$out/npm"
rm -rf "$work" "$out/dist"
mkdir -p "$work" "$out/dist"
(cd "$work" && npm init -y >/dev/null && npm install --no-audit --no-fund --ignore-scripts "uplot@$version" >&2)
package="$work/node_modules/uplot"
cp "$package/dist/uPlot.iife.min.js" "$package/dist/uPlot.min.css" "$package/LICENSE" "$out/dist/"
echo "$version" > "$out/dist/VERSION"
echo "vendor-console: uPlot $version in $out/dist" >&2
