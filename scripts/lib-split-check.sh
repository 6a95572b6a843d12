#!/usr/bin/env bash
# Usage: scripts/lib-split-check.sh [REV]   (default REV: main)
# Proves the split of compose/files/bin/lib.sh into bin/lib/<job>.sh behaviour-neutral
# against REV (the one-file lib.sh):
#   1. functions: bash's own text of every function that sourcing lib.sh defines
#      (`declare -f`: comments and layout normalised away) at REV, renamed with
#      scripts/lib-rename.sh's map, equals the working tree's, function by function;
#   2. variables: sourcing lib.sh sets the same globals to the same values;
#   3. commands: every other bin/ file at REV, renamed, equals the working tree's once
#      comment lines are dropped.
# Prints every difference; exits 1 when one is not in the EXPECTED lists below.
set -euo pipefail
rev=${1:-main}
root=$(git rev-parse --show-toplevel)
# Deliberate changes, each explained:
#   ft_paths_resolve: it now lives in bin/lib/, one level below bin/, so it finds bin/ as "$(dirname "${BASH_SOURCE[0]}")/..".
#   deploy: dead code removed (step_switch_links read `previous` into a variable nothing used).
EXPECTED_FUNCS="ft_paths_resolve"
EXPECTED_FILES="deploy"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/old" "$tmp/new"
git -C "$root" archive "$rev" compose/files/bin | tar -x -C "$tmp/old"
cp -R "$root/compose/files/bin" "$tmp/new/"
old=$tmp/old/compose/files/bin new=$tmp/new/bin

# One file per function: <dir>/<name>, the text `declare -f` prints for it.
functions_of() { # functions_of LIB OUTDIR
  mkdir -p "$2"
  # shellcheck disable=SC2016 # expanded by the inner bash
  env -i PATH="$PATH" bash -c 'source "$1" >/dev/null; declare -f' fns "$1" |
    awk -v out="$2" '/^[A-Za-z_][A-Za-z0-9_]* \(\) $/ { f = out "/" $1 } { print > f }'
}
# Globals sourcing lib.sh sets (name=value), minus what bash itself sets.
globals_of() { # globals_of LIB
  # shellcheck disable=SC2016 # expanded by the inner bash
  env -i PATH="$PATH" bash -c 'a=$(declare -p | grep -E "^declare -[-aAixr]* [A-Z_][A-Za-z0-9_]*=" | sort); source "$1" >/dev/null
    b=$(declare -p | grep -E "^declare -[-aAixr]* [A-Z_][A-Za-z0-9_]*=" | sort); comm -13 <(printf "%s\n" "$a") <(printf "%s\n" "$b") | grep -vE "^declare -[-a-z]* (_|a|BASH_[A-Z_]*|PIPESTATUS)="' globals "$1"
}

functions_of "$old/lib.sh" "$tmp/fold"
functions_of "$new/lib.sh" "$tmp/fnew"
# Rename the old functions' text, then the files they are in.
"$root/scripts/lib-rename.sh" "$tmp"/fold/*
for f in "$tmp"/fold/*; do
  name=$(head -n1 "$f" | cut -d' ' -f1)
  [[ ${f##*/} == "$name" ]] || mv "$f" "$tmp/fold/$name"
done

unexpected=0
echo "== 1. functions: $(find "$tmp/fold" -type f | wc -l) at $rev, $(find "$tmp/fnew" -type f | wc -l) in the working tree"
for f in "$tmp"/fold/* "$tmp"/fnew/*; do
  name=${f##*/}
  [[ -f $tmp/fold/$name && -f $tmp/fnew/$name ]] || { echo "only on one side: $name"; unexpected=1; continue; }
  [[ $f == "$tmp"/fold/* ]] || continue
  if ! d=$(diff -u "$tmp/fold/$name" "$tmp/fnew/$name"); then
    printf '%s\n' "$d" | sed "s|$tmp/f||"
    [[ " $EXPECTED_FUNCS " == *" $name "* ]] && echo "(expected: see EXPECTED_FUNCS)" || unexpected=1
  fi
done

echo "== 2. globals set by sourcing lib.sh"
globals_of "$old/lib.sh" | sed 's/^declare -[-a-zA-Z]* //' >"$tmp/gold"
globals_of "$new/lib.sh" | sed 's/^declare -[-a-zA-Z]* //' >"$tmp/gnew"
"$root/scripts/lib-rename.sh" "$tmp/gold"
echo "$(wc -l <"$tmp/gnew") globals: $(cut -d= -f1 "$tmp/gnew" | tr '\n' ' ')"
diff -u "$tmp/gold" "$tmp/gnew" || unexpected=1

echo "== 3. the other bin/ files, comment lines dropped"
for f in "$old"/*; do
  name=${f##*/}
  [[ $name == lib.sh ]] && continue
  [[ -f $new/$name ]] || { echo "missing in the working tree: $name"; unexpected=1; continue; }
  cp "$f" "$tmp/cmd-old"
  "$root/scripts/lib-rename.sh" "$tmp/cmd-old"
  if ! d=$(diff -u <(grep -vE '^\s*#' "$tmp/cmd-old") <(grep -vE '^\s*#' "$new/$name")); then
    echo "--- $name"
    printf '%s\n' "$d" | tail -n +3
    [[ " $EXPECTED_FILES " == *" $name "* ]] && echo "(expected: see EXPECTED_FILES)" || unexpected=1
  fi
done
for f in "$new"/*; do
  [[ -f $f && ! -e $old/${f##*/} ]] && { echo "new in the working tree: ${f##*/}"; unexpected=1; }
done

if [[ $unexpected -eq 0 ]]; then echo "same modulo the rename map (scripts/lib-rename.sh --print-map) and the expected changes above"; else echo "UNEXPECTED differences above"; exit 1; fi
