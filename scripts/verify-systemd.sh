#!/usr/bin/env bash
# Checks a systemd unit with systemd-analyze verify and fails on any complaint: verify exits 0 on
# unknown keys and unparsable values ("ignoring"), which would let a typo land.
set -euo pipefail
unit="${1:-deploy/photochanger.service}"
out="$(systemd-analyze verify "$unit" 2>&1)" || { echo "$out"; exit 1; }
if [ -n "$out" ]; then
  echo "systemd-analyze verify $unit:"
  echo "$out"
  exit 1
fi
echo "systemd-analyze verify $unit: ok"
