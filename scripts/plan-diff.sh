#!/usr/bin/env bash
# Usage: scripts/plan-diff.sh [REV]   (default REV: HEAD)
# Proves a change is behaviour-neutral: renders the offline plan (--json) and the
# release bundle (--out) of every example stack at REV and in the working tree,
# and diffs them. Exit 0 and "identical" when every byte matches.
set -euo pipefail
rev=${1:-HEAD}
root=$(git rev-parse --show-toplevel)
tmp=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$tmp/rev" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git -C "$root" worktree add -q --detach "$tmp/rev" "$rev"
ln -s "$root/node_modules" "$tmp/rev/node_modules"
render() { # render DIR OUT
  for stack in vm do aws; do
    (cd "$1" && npm run -s plan -- --stack "$stack" --json >"$2/plan-$stack.json")
    [ "$stack" = aws ] || (cd "$1" && npm run -s plan -- --stack "$stack" --out "$2/bundle-$stack" >/dev/null)
  done
}
mkdir -p "$tmp/a" "$tmp/b"
render "$tmp/rev" "$tmp/a"
render "$root" "$tmp/b"
if diff -r "$tmp/a" "$tmp/b"; then echo "identical: plans (vm, do, aws) and bundles (vm, do) at $rev and in the working tree"; else exit 1; fi
