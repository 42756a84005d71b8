#!/usr/bin/env bash
# What the nightly parity job runs, runnable locally:  bash scripts/nightly.sh OUTDIR
#
# 1. build; 2. `parity run`, python, rust and js (JSON, JUnit, markdown and the transcripts into OUTDIR);
# 3. `parity drift --python-client latest --bisect` (JSON, markdown; drifted scenarios get their
# first release); 4. when a scenario drifted, the full `parity bisect` from the pinned client to
# the latest release (JSON, markdown, with every change and diff), and what `parity upgrade
# --check` to it would do (markdown); 5. the property tests
# with a raised case count (PROPTEST_CASES, default 500), the differential one also through the
# js subject where Node.js runs (OUTDIR/differential.md: coverage, refusals, new js differences);
# 6. the benchmarks in quick mode
# (OUTDIR/benchmarks.md); 7. OUTDIR/summary.md (also appended to
# $GITHUB_STEP_SUMMARY when set).
#
# Exit status: non-zero on a parity break (rust or js differs from a golden without a declared
# deviation, or the matrix disagrees) or when a step could not run; upstream drift alone exits 0:
# the summary says what changed and where. PARITY_PARTITION=K/N runs one slice of `parity run`
# (the workflow's job matrix); drift and bisect then run only in slice 1. PARITY_NIGHTLY_CLIENT
# picks the release to drift against (default `latest`; e.g. 0.22.0 to try the bisect step).
set -uo pipefail
out=${1:?usage: bash scripts/nightly.sh OUTDIR}
cd "$(dirname "$0")/.."
mkdir -p "$out"
out=$(cd "$out" && pwd)

cargo build --release --locked -p parity-harness || exit 2
parity=target/release/parity
partition=()
if [ -n "${PARITY_PARTITION:-}" ]; then partition=(--partition "$PARITY_PARTITION"); fi
status=0

echo "== parity run ${partition[*]}" >&2
"$parity" run "${partition[@]}" --format json --out "$out/parity.json" --transcripts "$out/transcripts"
run_rc=$?
"$parity" run "${partition[@]}" --format junit --out "$out/parity.xml" >/dev/null
"$parity" run "${partition[@]}" --format markdown --out "$out/parity.md" >/dev/null
if [ "$run_rc" -ne 0 ]; then status=1; fi

if [ -z "${PARITY_PARTITION:-}" ] || [ "${PARITY_PARTITION%%/*}" = "1" ]; then
  client=${PARITY_NIGHTLY_CLIENT:-latest}
  echo "== parity drift --python-client $client" >&2
  "$parity" drift --python-client "$client" --bisect --format json --out "$out/drift.json"
  drift_rc=$?
  "$parity" drift --python-client "$client" --bisect --format markdown --out "$out/drift.md" >/dev/null
  if [ "$drift_rc" -eq 2 ]; then status=1; fi
  # Classifications from the JSON report (docs/drift.md).
  read -r pinned latest drifted broken < <(python3 - "$out/drift.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
classes = [s["classification"] for s in report["scenarios"]]
drifted = sum(c in ("upstream_drift", "both") for c in classes)
broken = sum(c in ("parity_break", "both") for c in classes)
print(report["pinned_version"], report["client_version"], drifted, broken)
PY
  ) || { pinned=""; latest=""; drifted=0; broken=0; status=1; }
  if [ "${broken:-0}" -gt 0 ]; then status=1; fi
  if [ "${drifted:-0}" -gt 0 ] && [ "$pinned" != "$latest" ]; then
    echo "== parity bisect --from $pinned --to $latest" >&2
    "$parity" bisect --from "$pinned" --to "$latest" --format json --out "$out/bisect.json"
    "$parity" bisect --from "$pinned" --to "$latest" --format markdown --out "$out/bisect.md" >/dev/null
    # What moving the reference to it would do (writes nothing): docs/drift.md, "Upgrading".
    echo "== parity upgrade --python-client $latest --check" >&2
    "$parity" upgrade --python-client "$latest" --check --format markdown --out "$out/upgrade.md" || status=1
  fi
fi

# Property tests with a raised case count: the differential python-vs-rust test (with the js
# subject too where Node.js runs: its new kinds of difference are listed in differential.md)
# and the correlation properties of codex-telemetry.
echo "== property tests (PROPTEST_CASES=${PROPTEST_CASES:-500})" >&2
if [ -z "${PARITY_DIFFERENTIAL_JS:-}" ] && command -v node >/dev/null 2>&1; then
  export PARITY_DIFFERENTIAL_JS=1
fi
{
  PROPTEST_CASES=${PROPTEST_CASES:-500} cargo test --release --locked -p parity-harness --test differential &&
  PROPTEST_CASES=${PROPTEST_CASES:-500} cargo test --release --locked -p codex-telemetry --test integration -- correlation cross_process
} >"$out/property-tests.txt" 2>&1 || status=1
if [ -f target/parity-differential/summary.md ]; then
  cp target/parity-differential/summary.md "$out/differential.md"
  cp target/parity-differential/summary.json "$out/differential-summary.json"
fi

# Benchmarks, quick mode: a smoke check that they run (timings are indicative; nothing gates on
# them). The report goes to OUTDIR, the committed docs/benchmarks.md is left as it was.
echo "== benchmarks (quick)" >&2
cp docs/benchmarks.md "$out/.benchmarks.committed.md"
if bash scripts/benchmarks.sh --quick >"$out/benchmarks.log" 2>&1; then
  cp docs/benchmarks.md "$out/benchmarks.md"
else
  status=1
fi
cp "$out/.benchmarks.committed.md" docs/benchmarks.md && rm "$out/.benchmarks.committed.md"

{
  for part in parity.md drift.md upgrade.md bisect.md differential.md; do
    if [ -f "$out/$part" ]; then cat "$out/$part"; echo; fi
  done
} >"$out/summary.md"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$out/summary.md" >>"$GITHUB_STEP_SUMMARY"; fi
echo "reports in $out (exit $status)" >&2
exit "$status"
