#!/usr/bin/env bash
# unpack-bundle: turns APP_DIR/releases/<hash>.bundle (copied by the push) into
# the release directory APP_DIR/releases/<hash>/, atomically. A release that is
# already unpacked is left alone: deployed releases never change.
# usage: unpack-bundle.sh APP_DIR BUNDLE_HASH
set -euo pipefail
umask 022

app_dir=${1:?usage: unpack-bundle.sh APP_DIR BUNDLE_HASH}
hash=${2:?usage: unpack-bundle.sh APP_DIR BUNDLE_HASH}
[[ $hash =~ ^[0-9a-f]{8,64}$ ]] || { echo "unpack-bundle: bad bundle hash" >&2; exit 64; }
releases="$app_dir/releases"
payload="$releases/$hash.bundle"
dest="$releases/$hash"
path_re='^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$'

if [[ -f "$dest/.complete" ]]; then
  echo "unpack-bundle: release $hash already unpacked"
  exit 0
fi
[[ -f $payload ]] || { echo "unpack-bundle: $payload is missing; the copy-bundle step did not run" >&2; exit 1; }

staging=$(mktemp -d "$releases/.unpack.XXXXXX")
trap 'rm -rf -- "$staging"' EXIT
count=0
{
  IFS= read -r header
  [[ $header == "freshtrack-bundle/1" ]] || { echo "unpack-bundle: unknown payload format" >&2; exit 1; }
  while IFS=' ' read -r rel mode b64; do
    [[ -z $rel ]] && continue
    [[ $rel =~ $path_re && $mode =~ ^0[67][45][45]$ ]] || { echo "unpack-bundle: malformed entry '$rel'" >&2; exit 1; }
    mkdir -p -- "$staging/$(dirname -- "$rel")"
    printf '%s' "${b64:-}" | base64 -d >"$staging/$rel"
    chmod "$mode" "$staging/$rel"
    count=$((count + 1))
  done
} <"$payload"
[[ $count -gt 0 ]] || { echo "unpack-bundle: empty bundle" >&2; exit 1; }
chmod 0755 "$staging"
touch "$staging/.complete"
rm -rf -- "$dest"
mv -- "$staging" "$dest"
trap - EXIT
echo "unpack-bundle: release $hash: $count files"
