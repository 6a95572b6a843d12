// Pure decisions of a move: which steps each phase declares, how a released
// side's resources are marked, what the operator must do with DNS.
import { MovePhase } from "../../core/config";
import { DnsRecord } from "../shared/target";

/**
 * Steps a move between two hosts declares in a phase (resource names under the move component;
 * a move onto aws: aws-steps.ts):
 *   move-transfer-key   key the new host uses to pull the export from the old one
 *   move-authorize      old host: authorizes that key for `bin/move-export` only
 *   move-acme           old host: Caddy forwards ACME HTTP-01 challenges to the new side (its certificate);
 *                       only with tlsMode acme (internal certificates need no challenge, and the
 *                       forward is a Caddy config load, which resets idle client connections once)
 *   move-copy           new host: first full copy; backend and worker stay stopped (no traffic, no jobs)
 *   move-cutover        new host: write freeze on the old side, final copy, verify, new app started
 *                       (on failure the old side's freeze ends: it serves on)
 *   move-forward        old host: Caddy forwards every request to the new side (after move-cutover)
 *   move-final-backup   old host: a last encrypted dump into the old side's backups bucket (FINAL_BACKUP_ARGS)
 *   move-unforward      old host: Caddy serves locally again (rollback)
 *   move-authorize-back / move-copy-back   rollback after cutover: the data written on the new side comes back
 * A step stays declared in later phases where its delete would undo something still needed.
 */
export function stepsFor(phase: MovePhase, cutoverDone: boolean, acme = true): string[] {
  const challenges = acme ? ["move-acme"] : [];
  switch (phase) {
    case "prepare":
      return ["move-transfer-key", "move-authorize", ...challenges, "move-copy"];
    case "cutover":
      return ["move-transfer-key", "move-authorize", ...challenges, "move-copy", "move-cutover", "move-forward"];
    case "retire":
      // The old side keeps forwarding until it is removed; the pull key is revoked.
      return ["move-forward", "move-final-backup"];
    case "rollback":
      return cutoverDone ? ["move-transfer-key", "move-authorize-back", "move-copy-back", "move-unforward"] : [];
  }
}

/**
 * `bin/backup` arguments of move-final-backup: its manifest and audit line say why (on vm -> vm it
 * lands in the bucket the new host backs up to). Not --scheduled: a frozen side's own runs skip.
 */
export const FINAL_BACKUP_ARGS = ["--reason", "move-retire"];

/** Options for every resource of a side being released (old side at retire, new side at rollback). */
export function releaseOptions(opts: { protect?: boolean }, purge: boolean): { protect: boolean; retainOnDelete?: boolean } {
  // Protected resources hold data (databases, buckets, VPC of the database). Unprotected now so that
  // removing the side later never needs `pulumi state unprotect`; retained (kept in the cloud, only
  // dropped from the stack) unless the operator asked for a purge.
  if (!opts.protect) return { protect: false };
  return purge ? { protect: false } : { protect: false, retainOnDelete: true };
}

/** What the operator does with DNS in this phase, or with `flip` what the program does with the old side's record (old-dns-record.ts). */
export function dnsInstructions(phase: MovePhase, from: DnsRecord[], to: DnsRecord[], ttl: number, previousTtl: number, flip = false): string[] {
  const show = (r: DnsRecord) => `${r.type} ${r.name} -> ${r.value}`;
  const names = from.map((r) => r.name).join(", ") || "the app's records";
  // flip: the old side's record is the program's (old-dns-record.ts): it says what it does instead.
  switch (phase) {
    case "prepare":
      return [
        flip
          ? `This run lowers the TTL of ${names} to ${ttl} s (an alias to a load balancer has none of its own); the value stays.`
          : `Now: lower the TTL of ${names} to ${ttl} s (keep the values: ${from.map(show).join("; ")}).`,
        `Wait at least ${previousTtl} s (the old TTL) before cutover, so no resolver still caches the long TTL.`,
      ];
    case "cutover":
      return [
        flip
          ? `This run points ${names} at the new side once every cutover step succeeded: ${to.map(show).join("; ")}.`
          : `After this up succeeded: change ${to.map(show).join("; ")}.`,
        `The old side forwards every request to the new one meanwhile. Retire no sooner than ${Math.max(ttl, previousTtl)} s after the change.`,
      ];
    case "retire":
      return flip
        ? [
            `The record points at the new side (${to.map(show).join("; ")}) and stays in the zone when the move is finished: it is yours from then on (raise its TTL again).`,
          ]
        : [`The records must already be ${to.map(show).join("; ")}; afterwards raise their TTL again.`];
    case "rollback":
      return flip
        ? [`This run points the record back at the old side: ${from.map(show).join("; ")}.`]
        : [`Point the records back at the old side: ${from.map(show).join("; ")}.`];
  }
}
