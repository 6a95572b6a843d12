#!/usr/bin/env bash
# The main job on the embedded default: a local file state backend and the `local`
# stack, the vm target on a disposable host on this machine (npm run local-host
# starts it, or reuses the running one), or the stack named.
# Usage: npm run deploy -- [STACK] [pulumi up flags...]
set -euo pipefail
cd "$(dirname "$0")/.."

stack="${1:-local}"
[ $# -gt 0 ] && shift

if ! command -v pulumi >/dev/null 2>&1; then
  echo "deploy: the Pulumi CLI is not installed. Install it (https://www.pulumi.com/docs/install/) and run again." >&2
  exit 1
fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "deploy: set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts this stack's secrets. Keep it in your password manager." >&2
  exit 1
fi

# State stays on this machine unless the operator points elsewhere (s3://, https://app.pulumi.com ...).
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.state}"
mkdir -p .state

if [ "$stack" = local ]; then
  # Starts (or reuses) the host, writes Pulumi.local.yaml, selects the stack and sets its deploy key.
  npm run -s local-host
else
  pulumi stack select "$stack" --create
fi
# Validate config offline first: one clear message instead of a half-started update.
npm run -s plan -- --stack "$stack" > /dev/null
# The guardrails run on every update: a mandatory violation stops it before anything changes.
# A customer stack takes its target's policy config (Pulumi.<stack>.yaml freshtrack:target).
policy_config="policy/config/$stack.json"
if [ ! -f "$policy_config" ]; then
  target=$(node -e 'try { const c = require("yaml").parse(require("fs").readFileSync(process.argv[1], "utf8"))?.config ?? {}; console.log(c["freshtrack:target"] ?? "vm"); } catch { console.log("vm"); }' "Pulumi.$stack.yaml")
  case $target in digitalocean) policy_config=policy/config/do.json ;; *) policy_config="policy/config/$target.json" ;; esac
fi
pulumi up --stack "$stack" --policy-pack policy --policy-pack-config "$policy_config" "$@"
