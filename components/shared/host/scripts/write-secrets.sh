#!/usr/bin/env bash
# write-secrets: reads `<relative-path> <uid> <base64>` lines on stdin and writes them,
# each a 0600 file owned by uid, as one new secret generation
# APP_DIR/secrets.d/GENERATION (GENERATION: the payload's digest, from the push). The
# generation is staged in the same filesystem and renamed into place only when every
# file is written, and it is never rewritten afterwards: the running release keeps
# reading its own generation (APP_DIR/secrets -> secrets.d/<its generation>), which only
# bin/deploy moves, after a deploy succeeded. secrets.d/.staged names the last generation
# written (bin/deploy keeps it when it removes unused ones). Values only ever travel on
# stdin; nothing here prints them.
# usage: write-secrets.sh APP_DIR GENERATION   (payload on stdin)
set -euo pipefail
umask 077

app_dir=${1:?usage: write-secrets.sh APP_DIR GENERATION}
gen=${2:?usage: write-secrets.sh APP_DIR GENERATION}
store="$app_dir/secrets.d"
path_re='^[A-Za-z0-9_][A-Za-z0-9_.-]*(/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$'

if [[ ! "$gen" =~ ^[0-9a-f]{16}$ ]]; then
  echo "write-secrets: generation must be 16 hex digits; nothing was changed" >&2
  exit 1
fi

install -d -m 0700 -o 0 -g 0 "$store"

mark_staged() {
  printf '%s\n' "$gen" >"$store/.staged.tmp"
  mv -f "$store/.staged.tmp" "$store/.staged"
}

if [[ -d "$store/$gen" ]]; then
  # Complete by construction (renamed into place whole): the same payload again.
  cat >/dev/null
  mark_staged
  echo "write-secrets: generation $gen already in place"
  exit 0
fi

staging=$(mktemp -d "$store/.staging.XXXXXX")
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
  # An empty generation would leave every service without its secrets: refuse instead.
  echo "write-secrets: empty payload; nothing was changed" >&2
  exit 1
fi

# A file's directory belongs to its reader's uid (some services mount the directory).
for rel in "${!owner[@]}"; do
  sub=$(dirname -- "$rel")
  if [[ "$sub" != "." ]]; then
    chmod 0700 "$staging/$sub"
    chown "${owner[$rel]}:${owner[$rel]}" "$staging/$sub"
  fi
done
chmod 0700 "$staging"

# Everything written: the generation appears whole, in one rename.
mv -T -- "$staging" "$store/$gen"
trap - EXIT
mark_staged
echo "write-secrets: generation $gen: ${#owner[@]} files in place"
