// The steps of a move between two hosts (vm, droplet): the new host pulls the old one's export
// over SSH with a key made for the move (components/move/plan.ts stepsFor lists them per phase).
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { normalizeHostKey } from "../shared/host";
import { HostAccess } from "../shared/target";
import { FINAL_BACKUP_ARGS } from "./plan";
import { RemoteStep, onHostCommand } from "./remote-step";

export interface HostSteps {
  /** The copies' and the cutover's reports (stdout of the steps; no secret): stack output moveStatus.verification. */
  report: Record<string, pulumi.Output<string>>;
}

export function declareHostSteps(
  parent: pulumi.Resource,
  steps: Set<string>,
  run: RemoteStep,
  oldHost: HostAccess,
  newHost: HostAccess,
  /** The old side's component: a rollback's copy back waits for its own update (a droplet's firewall). */
  oldSide: pulumi.Resource,
  /** moveMaxFreezeSeconds: the cutover is refused on the host when the prepare's copy took longer. */
  maxFreezeSeconds: number,
): HostSteps {
  const report: Record<string, pulumi.Output<string>> = {};
  const key = steps.has("move-transfer-key") ? new tls.PrivateKey("move-transfer-key", { algorithm: "ED25519" }, { parent }) : undefined;
  const pub = key?.publicKeyOpenssh.apply((k) => k.trim());
  // The pull comes from the other side's own address; the forward goes to its public one.
  const authorizeArgs = (h: HostAccess) =>
    h.egressAddress ? ["--authorize", pulumi.output(h.egressAddress), pulumi.output(h.host)] : ["--authorize", pulumi.output(h.host)];
  const source = (h: HostAccess) => [pulumi.interpolate`${h.user}@${h.host}`, String(h.port), pulumi.output(h.hostKey).apply(normalizeHostKey)];

  let authorize: pulumi.Resource | undefined;
  if (steps.has("move-authorize") && pub) {
    // The key may run bin/move-export only, and only from the new host.
    authorize = run("move-authorize", oldHost, "move-export", authorizeArgs(newHost), {
      stdin: pub,
      delete: onHostCommand(oldHost, "move-export", ["--deauthorize"]),
    });
  }
  // The new side's Caddy gets its certificate through the old one (DNS still points there).
  if (steps.has("move-acme")) run("move-acme", oldHost, "move-forward", ["--acme-to", pulumi.output(newHost.host)]);
  let copy: command.remote.Command | undefined;
  if (steps.has("move-copy") && key && authorize) {
    copy = run(
      "move-copy",
      newHost,
      "move-import",
      ["--from", ...source(oldHost), "--keep-app-stopped"],
      { stdin: pulumi.secret(key.privateKeyOpenssh), logging: "stdout" },
      [authorize],
    );
    report.copy = copy.stdout;
  }
  // Cutover first: if the final copy or its verification fails, bin/move-import ends the old
  // side's freeze and the old Caddy was never told to forward, so the old side serves on.
  let cut: pulumi.Resource | undefined;
  if (steps.has("move-cutover") && key && copy) {
    const c = run(
      "move-cutover",
      newHost,
      "move-import",
      ["--from", ...source(oldHost), "--freeze-source", "--max-freeze", String(maxFreezeSeconds), "--start-app"],
      { stdin: pulumi.secret(key.privateKeyOpenssh), logging: "stdout" },
      [copy],
    );
    report.cutover = c.stdout;
    cut = c;
  }
  let forward: pulumi.Resource | undefined;
  if (steps.has("move-forward")) {
    const f = run("move-forward", oldHost, "move-forward", ["--to", pulumi.output(newHost.host)], {}, cut ? [cut] : []);
    // The new side's health through its public address, as clients reach it after the DNS change.
    report.forward = f.stdout;
    forward = f;
  }
  if (steps.has("move-final-backup")) run("move-final-backup", oldHost, "backup", FINAL_BACKUP_ARGS, {}, forward ? [forward] : []);
  if (steps.has("move-authorize-back") && key && pub) {
    const back = run("move-authorize-back", newHost, "move-export", authorizeArgs(oldHost), {
      stdin: pub,
      delete: onHostCommand(newHost, "move-export", ["--deauthorize"]),
    });
    const copyBack = run(
      "move-copy-back",
      oldHost,
      "move-import",
      ["--from", ...source(newHost), "--freeze-source", "--start-app"],
      { stdin: pulumi.secret(key.privateKeyOpenssh), logging: "stdout" },
      // After the old side's own update (a droplet's firewall lets this pull out).
      [back, oldSide],
    );
    report.rollback = copyBack.stdout;
    run("move-unforward", oldHost, "move-forward", ["--off"], {}, [copyBack]);
  }
  return { report };
}
