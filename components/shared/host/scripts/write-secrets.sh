#!/usr/bin/env bash
# write-secrets: reads `<relative-path> <uid> <base64>` lines on stdin and puts
# each file under APP_DIR/secrets as a 0600 file owned by uid, atomically
# (staged in the same filesystem, then renamed), and removes files no longer
# listed. Values only ever travel on stdin; nothing here prints them.
# usage: write-secrets.sh APP_DIR   (payload on stdin)
set -euo pipefail
umask 077

app_dir=${1:?usage: write-secrets.sh APP_DIR}
dir="$app_dir/secrets"
path_re='^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$'

install -d -m 0700 -o 0 -g 0 "$dir"
staging=$(mktemp -d "$dir/.staging.XXXXXX")
trap 'rm -rf -- "$staging"' EXIT

declare -A owner=()
line_no=0
while IFS=' ' read -r rel uid b64 || [[ -n "${rel:-}" ]]; do
  line_no=$((line_no + 1))
  [[ -z "$rel" ]] && continue
  if [[ ! "$rel" =~ $path_re ]] || [[ ! "$uid" =~ ^[0-9]+$ ]]; then
    echo "write-secrets: malformed line $line_no; nothing was changed" >&2
    exit 1
  fi
  mkdir -p -- "$staging/$(dirname -- "$rel")"
  if ! printf '%s' "${b64:-}" | base64 -d >"$staging/$rel" 2>/dev/null; then
    echo "write-secrets: line $line_no ($rel) is not base64; nothing was changed" >&2
    exit 1
  fi
  chown "$uid:$uid" "$staging/$rel"
  chmod 0600 "$staging/$rel"
  owner["$rel"]=$uid
done

if [[ ${#owner[@]} -eq 0 ]]; then
  # An empty payload would delete every secret: refuse instead.
  echo "write-secrets: empty payload; nothing was changed" >&2
  exit 1
fi

# Everything decoded: only now touch the live files.
for rel in "${!owner[@]}"; do
  sub=$(dirname -- "$rel")
  if [[ "$sub" != "." ]]; then
    # Each directory is mounted into its reader's containers: it belongs to that uid.
    install -d -m 0700 "$dir/$sub"
    chown "${owner[$rel]}:${owner[$rel]}" "$dir/$sub"
  fi
  mv -f -- "$staging/$rel" "$dir/$rel"
done

removed=0
while IFS= read -r -d '' f; do
  rel=${f#"$dir"/}
  if [[ -z "${owner[$rel]+set}" ]]; then
    rm -f -- "$f"
    removed=$((removed + 1))
  fi
done < <(find "$dir" -mindepth 1 -path "$staging" -prune -o -type f -print0)
find "$dir" -mindepth 1 -depth -type d -empty -delete

echo "write-secrets: ${#owner[@]} files in place, $removed stale removed"
