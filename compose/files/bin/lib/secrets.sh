# shellcheck shell=bash
# secrets: the secret generations (components/shared/host/scripts/write-secrets.sh) and the
# per-service digests of their files.
# The push writes each set of secret files once, complete, into its own directory
# APP_DIR/secrets.d/<generation> (the payload digest) and never rewrites it. APP_DIR/secrets
# is a symlink to the generation the running release uses; bin/deploy moves it only after
# a deploy succeeded. Containers mount the generation's physical path, so a restarted
# container always gets the files it was created with, whatever a later push wrote.
#   FT_SECRETS_GENERATION=<generation>  (set by the push's preflight and deploy steps)
#   selects the generation being deployed; without it, the current one is used.
# Nothing here prints, logs or passes on argv the content of a secret file.
# Variables set here are read by the files and commands that source lib.sh:
# shellcheck disable=SC2034
FT_SECRETS_GENERATION_RE='^[0-9a-f]{16}$'

# Sets SECRETS_DIR: the generation FT_SECRETS_GENERATION names (it must be on this host),
# else the one APP_DIR/secrets points at, else APP_DIR/secrets itself (a plain directory
# from before generations, or none yet); SECRETS_LINK and SECRETS_STORE: APP_DIR/secrets
# and APP_DIR/secrets.d.
ft_secrets_resolve() {
  local gen=${FT_SECRETS_GENERATION:-}
  SECRETS_LINK=$APP_DIR/secrets
  SECRETS_STORE=$APP_DIR/secrets.d
  if [[ -n $gen ]]; then
    [[ $gen =~ $FT_SECRETS_GENERATION_RE ]] || die "FT_SECRETS_GENERATION '$gen' is not a generation name"
    SECRETS_DIR=$SECRETS_STORE/$gen
    [[ -d $SECRETS_DIR ]] || die "secret generation $gen is not on this host ($SECRETS_DIR): run the push's write-secrets step again"
  elif [[ -L $SECRETS_LINK ]]; then
    SECRETS_DIR=$(readlink -f "$SECRETS_LINK")
  else
    # A host whose secrets predate generations (a plain directory), or none yet.
    SECRETS_DIR=$SECRETS_LINK
  fi
}

# Generation directory name of $1 (a path under secrets.d), empty when it is not one.
ft_secrets_generation_of() {
  local p=$1
  [[ $p == "$SECRETS_STORE"/* ]] || return 0
  p=${p#"$SECRETS_STORE"/}
  p=${p%%/*}
  [[ $p =~ $FT_SECRETS_GENERATION_RE ]] && printf '%s' "$p"
  return 0
}

# After a successful deploy: APP_DIR/secrets -> the deployed generation (one rename).
# A plain directory from before generations is moved aside and removed: running
# containers hold their mounts, and its files live on in the generation.
ft_secrets_commit() {
  local gen tmp
  gen=$(ft_secrets_generation_of "$SECRETS_DIR")
  [[ -n $gen ]] || return 0
  if [[ $(readlink "$SECRETS_LINK" 2>/dev/null) == "secrets.d/$gen" ]]; then return 0; fi
  tmp=$APP_DIR/.secrets.link.$$
  ln -sfn "secrets.d/$gen" "$tmp"
  if [[ -d $SECRETS_LINK && ! -L $SECRETS_LINK ]]; then
    rm -rf "$APP_DIR/.secrets.legacy"
    mv "$SECRETS_LINK" "$APP_DIR/.secrets.legacy"
  fi
  mv -Tf "$tmp" "$SECRETS_LINK"
  rm -rf "$APP_DIR/.secrets.legacy"
  log "secrets -> secrets.d/$gen"
}

# Removes generations nothing needs any more: not current, not the last one the push
# wrote (secrets.d/.staged: a failed deploy is retried with it), not mounted by any
# container of the project (running or stopped: a restart mounts the same paths).
ft_secrets_gc() {
  local keep=" " d gen src staged
  [[ -d $SECRETS_STORE ]] || return 0
  gen=$(ft_secrets_generation_of "$(readlink -f "$SECRETS_LINK" 2>/dev/null || true)")
  keep+="$gen "
  staged=$(cat "$SECRETS_STORE/.staged" 2>/dev/null || true)
  keep+="$staged "
  while IFS= read -r src; do
    gen=$(ft_secrets_generation_of "$src")
    [[ -n $gen ]] && keep+="$gen "
  done < <(docker ps -aq --no-trunc --filter "label=com.docker.compose.project=$FT_PROJECT" |
    xargs -r docker inspect -f '{{range .Mounts}}{{println .Source}}{{end}}' 2>/dev/null)
  for d in "$SECRETS_STORE"/*; do
    [[ -d $d ]] || continue
    gen=${d##*/}
    [[ $gen =~ $FT_SECRETS_GENERATION_RE ]] || continue
    [[ $keep == *" $gen "* ]] && continue
    log "secrets: removing generation $gen (no longer current nor mounted)"
    rm -rf -- "$d"
  done
}

# FT_SECRETS_<SERVICE> digest variable name of a service.
ft_secrets_digest_var() { local s=${1^^}; printf 'FT_SECRETS_%s' "${s//[^A-Z0-9]/_}"; }

# sha256 over (name, sha256(content)) of every secret file a service reads (release.json .secrets).
# shellcheck disable=SC2016 # $s is a jq variable, not a shell one
ft_secrets_service_digest() {
  local svc=$1 f
  while IFS= read -r f; do
    [[ -f $SECRETS_DIR/$f ]] || die "secret file $SECRETS_DIR/$f (read by $svc) is missing"
    printf '%s %s\n' "$f" "$(sha256sum <"$SECRETS_DIR/$f" | cut -c1-64)"
  done < <(rj --arg s "$svc" '.secrets[$s][]?' | LC_ALL=C sort) | sha256sum | cut -c1-64
}

# Prints the whole secrets.env content (FT_SECRETS_<SERVICE>=<digest> lines) for the active release.
ft_secrets_render_digests() {
  local svc
  while IFS= read -r svc; do
    [[ -n $svc ]] || continue
    printf '%s=%s\n' "$(ft_secrets_digest_var "$svc")" "$(ft_secrets_service_digest "$svc")"
  done < <(rj '.secrets // {} | keys[]' | LC_ALL=C sort)
}

# Loads the running release's FT_SECRETS_<SERVICE>=<digest> lines (state/secrets.env).
ft_secrets_load_digests() { ft_secrets_load_digests_from "$STATE_DIR/secrets.env"; }

# Loads FT_SECRETS_<SERVICE>=<digest> lines of file $1 (validated, never `source`d) into the environment.
ft_secrets_load_digests_from() {
  local file=$1 line
  [[ -f $file ]] || return 0
  while IFS= read -r line; do
    [[ $line =~ ^(FT_SECRETS_[A-Z0-9_]+)=([0-9a-f]*)$ ]] || continue
    export "${BASH_REMATCH[1]}=${BASH_REMATCH[2]}"
  done <"$file"
}
