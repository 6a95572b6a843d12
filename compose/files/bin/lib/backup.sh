# shellcheck shell=bash
# backup: where backups go (release.json .backup) and how dumps and manifests are encrypted.
# Variables set here are read by the files and commands that source lib.sh:
# shellcheck disable=SC2034

# Reads release.json .backup (B_REMOTE, B_BUCKET, B_PREFIX, B_RETENTION, B_BASE =
# <remote>:<bucket>/<prefix>) and the rclone mode (RCLONE_MODE: FT_RCLONE, else
# .backup.rclone, else container); dies unless secrets/backup/{rclone.conf,backup.key,age.key}
# exist and are not empty. Then ft_backup_places (U_REMOTE, A_REMOTE, B_OFFHOST, B_PRUNE).
ft_backup_setup() {
  B_REMOTE=$(rj '.backup.remote // empty')
  B_BUCKET=$(rj '.backup.bucket // empty')
  B_PREFIX=$(rj '.backup.prefix // "postgres"')
  B_RETENTION=$(rj '.backup.retention_days // 30')
  [[ -n $B_REMOTE && -n $B_BUCKET ]] || die "release.json .backup.remote and .backup.bucket are required"
  [[ $B_RETENTION =~ ^[0-9]+$ && $B_RETENTION -ge 1 ]] || die "release.json .backup.retention_days must be a positive integer"
  B_PREFIX=${B_PREFIX#/}
  B_PREFIX=${B_PREFIX%/}
  B_BASE="$B_REMOTE:$B_BUCKET${B_PREFIX:+/$B_PREFIX}"
  RCLONE_CONF=$SECRETS_DIR/backup/rclone.conf
  BACKUP_KEY=$SECRETS_DIR/backup/backup.key
  AGE_KEY=$SECRETS_DIR/backup/age.key
  [[ -s $RCLONE_CONF ]] || die "$RCLONE_CONF is missing or empty"
  [[ -s $BACKUP_KEY ]] || die "$BACKUP_KEY is missing or empty"
  [[ -s $AGE_KEY ]] || die "$AGE_KEY is missing or empty"
  RCLONE_MODE=${FT_RCLONE:-$(rj '.backup.rclone // "container"')}
  [[ $RCLONE_MODE == host || $RCLONE_MODE == container ]] || die "rclone mode must be host or container, not $RCLONE_MODE"
  ft_backup_places
}

# --- where backups go (vm: off the host, or on it by the operator's choice) --------------
# release.json .backup: `remote` receives dumps and uploads; on vm `store_remote` is the
# host's own object store as the backup job's identity (the app's uploads are read there)
# and `admin_remote` its admin identity (buckets, restored uploads). `offhost` false: the
# operator accepted on-host-only backups. `prune` false: the remote's lifecycle rule keeps
# the retention (its credential need not be able to delete).
ft_backup_places() {
  U_REMOTE=$(rj '.backup.store_remote // empty')
  U_REMOTE=${U_REMOTE:-$B_REMOTE}
  A_REMOTE=$(rj '.backup.admin_remote // empty')
  A_REMOTE=${A_REMOTE:-$U_REMOTE}
  B_OFFHOST=$(rj 'if .backup.offhost == false then "false" else "true" end')
  B_PRUNE=$(rj 'if .backup.prune == false then "false" else "true" end')
}

# One line for preflight and status, from release.json alone (no secret needed): where the
# backups go, and the risk when they stay on this host.
ft_backup_where() {
  local base
  base=$(rj '.backup | "\(.remote):\(.bucket)/\(.prefix // "postgres")"')
  if [[ $(rj '.backup.offhost') == false ]]; then
    printf 'backups are ON THIS HOST ONLY (%s, vmBackupOnHostOnly): a lost disk loses the data and its backups together' "$base"
  else
    printf 'backups go to %s, off this host' "$base"
  fi
}

# Encryption of dumps and manifests: age v1 (X25519 + ChaCha20-Poly1305, authenticated:
# a changed byte fails decryption) to the identity in secrets/backup/age.key, read by age
# itself (-i), never argv. The recipient is derived from the identity on this host and
# stored nowhere else, so only a holder of the identity can write a file that decrypts.
# (-R from a pipe instead of `-e -i`: age 1.0, Ubuntu 22.04's, cannot encrypt to an identity file.)
# ft_backup_encrypt IN OUT / ft_backup_decrypt IN OUT.
ft_backup_encrypt() { age --encrypt -R <(age-keygen -y "$AGE_KEY") -o "$2" "$1"; }
ft_backup_decrypt() { age --decrypt -i "$AGE_KEY" -o "$2" "$1"; }

# Legacy (backups written before age): AES-256-CBC, PBKDF2 key from secrets/backup/backup.key,
# no authentication (integrity only from the manifest's sha256). Kept to restore old dumps.
# ft_backup_decrypt_legacy IN OUT.
ft_backup_decrypt_legacy() { openssl enc -d -aes-256-cbc -pbkdf2 -iter 200000 -md sha256 -pass "file:$BACKUP_KEY" -in "$1" -out "$2"; }

# ft_backup_manifests: the names of the backups' manifests in B_BASE (frostguard-<UTC>.manifest.json),
# oldest first: the newest is the last line. A backups place not created yet holds none.
ft_backup_manifests() {
  local out rc=0
  out=$(ft_objectstore_rclone lsf --include 'frostguard-*.manifest.json' "$B_BASE") || rc=$?
  # rclone exit 3: directory not found (nothing was ever uploaded under the prefix).
  if [[ $rc -eq 3 ]]; then return 0; elif [[ $rc -ne 0 ]]; then return 1; fi
  [[ -z $out ]] || LC_ALL=C sort <<<"$out"
}

# ft_backup_unless_held ACTION RUN: the cron's runs (RUN "scheduled": bin/backup, bin/restore
# --check) and the install's first backup (RUN "first", bin/deploy) are skipped while a move holds
# this side's app stopped: its database is then not the serving one (the serving side backs up),
# and the two hosts of a vm -> vm move share one off-host bucket.
# Returns 1 after a log and an audit line (result "skipped") when held, else 0.
ft_backup_unless_held() {
  local hold
  hold=$(ft_metrics_move_hold_text) || return 0
  log "$2 $1 skipped: a move holds this side's app ($hold); the serving side backs up. Without --$2 it runs anyway"
  ft_audit "$1" "$REL_ID" skipped 0 "$(jq -cn --arg hold "${hold%% *}" --arg run "$2" '{move_hold: $hold, run: $run}')"
  return 1
}
