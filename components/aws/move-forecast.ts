// A move off aws: the cutover's write freeze forecast from the prepare, checked before anything of
// the cutover runs. From the every-request rule on, requests wait on the new host (600 s each at
// most) through the settle, the old services' stop, the export task and the new host's copy; the
// prepare ran the same export task and the same copy with the old side serving, so their times
// are the forecast (as a move between hosts reads its prepare's copy: bin/move-import --max-freeze).

/**
 * Environment: EXPORT_LINE (the prepare's export run line: `"seconds": S`), COPY_LINE (the new
 * host's prepare report: `"copy_seconds": C`), SETTLE_SECONDS, MAX_FREEZE (moveMaxFreezeSeconds).
 * Prints `{"forecast_seconds": F, "export_seconds": S, "copy_seconds": C, "settle_seconds": N,
 * "limit": MAX}` (null figures when the prepare did not report them: a warning, not a refusal).
 * Fails, with nothing of the cutover run, when F is over MAX.
 */
export function moveFreezeForecastScript(): string {
  return `set -uo pipefail
: "\${EXPORT_LINE:?}" "\${COPY_LINE:?}" "\${SETTLE_SECONDS:?}" "\${MAX_FREEZE:?}"
export_s=$(printf '%s' "$EXPORT_LINE" | sed -n 's/.*"seconds": *\\([0-9][0-9]*\\).*/\\1/p' | head -n 1)
copy_s=$(printf '%s' "$COPY_LINE" | sed -n 's/.*"copy_seconds": *\\([0-9][0-9.]*\\).*/\\1/p' | head -n 1)
if [ -z "$export_s" ] || [ -z "$copy_s" ]; then
  echo "the prepare did not report how long its export task (\${export_s:-?} s) and the new host's copy (\${copy_s:-?} s) took: the write freeze cannot be forecast (limit \${MAX_FREEZE} s); going on" >&2
  printf '{"forecast_seconds": null, "export_seconds": %s, "copy_seconds": %s, "settle_seconds": %s, "limit": %s}\\n' "\${export_s:-null}" "\${copy_s:-null}" "$SETTLE_SECONDS" "$MAX_FREEZE"
  exit 0
fi
forecast=$(awk -v a="$SETTLE_SECONDS" -v b="$export_s" -v c="$copy_s" 'BEGIN { printf "%d", a + b + c + 0.999 }')
printf '{"forecast_seconds": %s, "export_seconds": %s, "copy_seconds": %s, "settle_seconds": %s, "limit": %s}\\n' "$forecast" "$export_s" "$copy_s" "$SETTLE_SECONDS" "$MAX_FREEZE"
if [ "$forecast" -gt "$MAX_FREEZE" ]; then
  echo "cutover refused, nothing frozen or changed: the write freeze would last about $forecast s (the $SETTLE_SECONDS s settle, the prepare's export task $export_s s, the new host's copy $copy_s s, plus the old services' stop), more than moveMaxFreezeSeconds ($MAX_FREEZE s). Fix: run the prepare again when the database is quieter (pulumi config set movePhase prepare && pulumi up; a rollback first if this run recorded the cutover), or raise moveMaxFreezeSeconds (up to 540: the new host holds a request 600 s at most; docs/move.md \\"Large databases\\")" >&2
  exit 1
fi
echo "forecast write freeze: about $forecast s plus the old services' stop (limit $MAX_FREEZE s)" >&2
`;
}
