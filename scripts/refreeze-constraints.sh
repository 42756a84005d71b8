#!/usr/bin/env bash
# Re-pins the Python client and its dependencies:  bash scripts/refreeze-constraints.sh VERSION
#
# Installs openai-agents==VERSION into a scratch venv made with the interpreter the harness embeds
# (python3, or PYO3_PYTHON), then writes the pin into harness/python/requirements.txt and every
# other installed package into harness/python/constraints.txt. Log lines name classes of these
# packages, so the goldens must be re-recorded and reviewed in the same change
# (docs/runbook.md, "Accept drift").
set -euo pipefail
version=${1:?usage: bash scripts/refreeze-constraints.sh VERSION}
cd "$(dirname "$0")/.."
python=${PYO3_PYTHON:-python3}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$python" -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --disable-pip-version-check --quiet "openai-agents==$version"
{
  echo "# Exact versions of the client's dependencies, frozen from the venv the goldens were recorded in."
  echo "# Log lines and exports name classes from these packages (e.g. openai's ResponseOutputMessage),"
  echo "# so they are pinned as tightly as the client. Regenerate with scripts/refreeze-constraints.sh."
  "$scratch/venv/bin/python" -m pip freeze --disable-pip-version-check --all \
    | grep -v -i -E '^(openai-agents|pip|setuptools|wheel)=='
} >harness/python/constraints.txt
sed -i -E "s/^openai-agents==.*/openai-agents==$version/" harness/python/requirements.txt
echo "pinned openai-agents==$version; constraints.txt re-frozen ($(grep -c '==' harness/python/constraints.txt) packages)." >&2
echo "next: cargo test --workspace (locally), cargo insta review, parity matrix check, commit." >&2
