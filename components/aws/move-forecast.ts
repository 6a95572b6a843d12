// The write freeze forecast of a move with aws on one side, from its prepare, checked before
// anything of the cutover runs (as a move between hosts reads its prepare's copy:
// bin/move-import --max-freeze). The prepare ran the same steps the freeze repeats, with the old
// side serving, so their times are the forecast:
// - off aws: from the every-request rule on, requests wait on the new host (600 s each at most)
//   through the settle, the old services' stop, the export task and the new host's copy;
// - onto aws: from the old host's freeze on, requests wait on the old host (600 s each at most)
//   through its app's stop, its push, the import task and the start of aws's backend and worker
//   (which the prepare cannot measure: they stay at 0 tasks until the cutover).

/** One measured step of the prepare: the variable holding its line, the number's key in it, and what it is. */
interface ForecastPart {
  /** Its key in the forecast's output. */
  name: string;
  env: string;
  key: string;
  what: string;
}

export interface FreezeForecast {
  parts: [ForecastPart, ForecastPart];
  /** What the freeze adds that the prepare did not measure. */
  plus: string;
  /** The host that holds the requests meanwhile. */
  holder: string;
  /** The prepare's first step: replaced, it and the steps after it run (and measure) again. */
  redo: string;
}

/** A move off aws: the prepare's export task run (`"seconds"` of its line) and the new host's copy. */
export const FROM_AWS_FORECAST: FreezeForecast = {
  parts: [
    { name: "export_seconds", env: "EXPORT_LINE", key: "seconds", what: "the prepare's export task" },
    { name: "copy_seconds", env: "COPY_LINE", key: "copy_seconds", what: "the new host's copy" },
  ],
  plus: "the old services' stop",
  holder: "the new host",
  redo: "move-export",
};

/** A move onto aws: the old host's push (`"seconds"` of its manifest line) and the import task run. */
export const ONTO_AWS_FORECAST: FreezeForecast = {
  parts: [
    { name: "push_seconds", env: "PUSH_LINE", key: "seconds", what: "the old host's push" },
    { name: "import_seconds", env: "IMPORT_LINE", key: "seconds", what: "the prepare's import task" },
  ],
  plus: "the old app's stop and the start of aws's backend and worker, not measured before the cutover",
  holder: "the old host",
  redo: "move-push",
};

/**
 * Environment: the two parts' lines, SETTLE_SECONDS, MAX_FREEZE (moveMaxFreezeSeconds). Prints
 * `{"forecast_seconds": F, PART1: S, PART2: C, "settle_seconds": N, "limit": MAX}` (null figures
 * when the prepare did not report them: a warning, not a refusal). Fails, with nothing of the
 * cutover run, when F (the settle and both parts, rounded up) is over MAX.
 */
export function moveFreezeForecastScript(f: FreezeForecast): string {
  const [a, b] = f.parts;
  const num = (p: ForecastPart) => `$(printf '%s' "$${p.env}" | sed -n 's/.*"${p.key}": *\\([0-9][0-9.]*\\).*/\\1/p' | head -n 1)`;
  const out = `printf '{"forecast_seconds": %s, "${a.name}": %s, "${b.name}": %s, "settle_seconds": %s, "limit": %s}\\n'`;
  return `set -uo pipefail
: "\${${a.env}:?}" "\${${b.env}:?}" "\${SETTLE_SECONDS:?}" "\${MAX_FREEZE:?}"
a=${num(a)}
b=${num(b)}
if [ -z "$a" ] || [ -z "$b" ]; then
  echo "the prepare did not report how long ${a.what} (\${a:-?} s) and ${b.what} (\${b:-?} s) took: the write freeze cannot be forecast (limit \${MAX_FREEZE} s); going on" >&2
  ${out} null "\${a:-null}" "\${b:-null}" "$SETTLE_SECONDS" "$MAX_FREEZE"
  exit 0
fi
forecast=$(awk -v s="$SETTLE_SECONDS" -v a="$a" -v b="$b" 'BEGIN { printf "%d", s + a + b + 0.999 }')
${out} "$forecast" "$a" "$b" "$SETTLE_SECONDS" "$MAX_FREEZE"
if [ "$forecast" -gt "$MAX_FREEZE" ]; then
  echo "cutover refused, nothing frozen or changed: the write freeze would last about $forecast s (the $SETTLE_SECONDS s settle, ${a.what} $a s, ${b.what} $b s, plus ${f.plus}), more than moveMaxFreezeSeconds ($MAX_FREEZE s). Fix: when the database is quieter, run the prepare's copy again to measure again: pulumi config set movePhase prepare && pulumi up --replace \\"\\$(pulumi stack --show-urns | grep -o 'urn:[^ ]*::${f.redo}')\\" (a plain pulumi up repeats no copy), then the cutover; or raise moveMaxFreezeSeconds (up to 540: ${f.holder} holds a request 600 s at most; docs/move.md \\"Large databases\\")" >&2
  exit 1
fi
echo "forecast write freeze: about $forecast s plus ${f.plus} (limit $MAX_FREEZE s)" >&2
`;
}
