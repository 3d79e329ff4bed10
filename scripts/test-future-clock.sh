#!/usr/bin/env bash
# The main suite with the system clock moved DAYS ahead (default 400), so that no test depends on
# today's date. libfaketime (Debian package faketime) is preloaded into every process the suite
# starts: Node, the CLIs it spawns and the embedded PostgreSQL, whose now() test/db/database.test.ts
# compares with Node's clock. Always on the embedded PostgreSQL: a system server's clock is not moved.
set -euo pipefail
cd "$(dirname "$0")/.."
days="${1:-400}"
command -v faketime >/dev/null || { echo "faketime is not installed (apt-get install faketime)" >&2; exit 1; }
real_now="$(date -u +%s)"
unset PHOTOCHANGER_TEST_DATABASE_URL
# The moved clock is checked first: a faketime that does not reach Node would prove nothing.
faketime -f "+${days}d" node -e '
  const moved = (Date.now() / 1000 - Number(process.argv[1])) / 86400;
  if (Math.abs(moved - Number(process.argv[2])) > 1) { console.error(`faketime moved Node by ${moved.toFixed(1)} days, not ${process.argv[2]}`); process.exit(1); }
  console.log(`clock moved to ${new Date().toISOString()} (${moved.toFixed(1)} days ahead)`);
' "$real_now" "$days"
faketime -f "+${days}d" npx vitest run
