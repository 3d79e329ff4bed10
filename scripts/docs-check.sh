#!/usr/bin/env bash
# CI: the generated references (configuration, OpenAPI, the web UI's API types) match the code.
set -euo pipefail
npm run --silent docs >/dev/null
stale=$(git status --porcelain -- docs/openapi.json docs/configuration.md web/src/api-types.ts)
if [ -n "$stale" ]; then
  echo "Generated files are stale; run npm run docs and commit them:" >&2
  echo "$stale" >&2
  git --no-pager diff --stat -- docs/openapi.json docs/configuration.md web/src/api-types.ts >&2
  exit 1
fi
echo "generated references are current"
