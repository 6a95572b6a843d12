// What the move's steps print: their log lines, then one JSON result on the last line.

/** The last line a step printed (its JSON result; what came before is the run's own log). */
export function lastLine(out: string | undefined): string {
  // Unknown (undefined) until the step ran: preview and mocks.
  const lines = (out ?? "").trim().split("\n");
  return lines[lines.length - 1] ?? "";
}

/**
 * A step's result as the stack output shows it: its JSON object, so that
 * `jq .verification.cutover.ok` reads it; the printed text when it is not JSON (kept, never lost);
 * undefined while the step has not run.
 */
export function stepResult(out: string | undefined): unknown {
  if (out === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(lastLine(out));
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) return parsed;
  } catch {
    // Not JSON: the text itself.
  }
  return out.trim();
}
