#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets from the repository's examples and test
# fixtures, into fuzz/corpus/<target>/. Run from anywhere; needs a built hoist (cargo build).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
hoist="${HOIST:-$root/target/debug/hoist}"
corpus="$root/fuzz/corpus"
mkdir -p "$corpus/package" "$corpus/spec" "$corpus/kie"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Packages: every example and fixture package folder, packed; every ZIP among the fixtures.
n=0
while IFS= read -r dir; do
  n=$((n + 1))
  "$hoist" pack "$dir" -o "$tmp/p$n.zip" >/dev/null 2>&1 || continue
  cp "$tmp/p$n.zip" "$corpus/package/pack-$n.zip"
done < <(find "$root/examples/packages" "$root/examples/targets" "$root/tests/cases" -mindepth 1 -maxdepth 3 -type d \
           \( -exec test -d '{}/assets' \; -o -exec test -f '{}/hoist.json' \; \) -print | sort)
find "$root/tests/cases" -name '*.zip' -type f | sort | while IFS= read -r f; do
  cp "$f" "$corpus/package/fixture-$(echo "$f" | sha256sum | cut -c1-12).zip"
done
# Specs: the example specs and every case's spec.
for f in "$root"/specs/*.yaml "$root"/tests/cases/*/spec.yaml; do
  cp "$f" "$corpus/spec/$(echo "$f" | sha256sum | cut -c1-12).yaml"
done
# KIE files: the examples and the KIE cases' inputs and targets.
for f in "$root"/examples/packages/kie/* "$root"/examples/targets/kie-prod.json \
         "$root"/tests/cases/kie-*/in/* "$root"/tests/cases/kie-*/target.json; do
  [ -f "$f" ] && cp "$f" "$corpus/kie/$(echo "$f" | sha256sum | cut -c1-12)"
done
# What the fuzzers found before stays in every run's corpus.
for t in package spec kie; do
  cp "$root/fuzz/regressions/$t"/* "$corpus/$t/" 2>/dev/null || true
done
for t in package spec kie; do
  echo "$t: $(ls "$corpus/$t" | wc -l) seeds"
done
