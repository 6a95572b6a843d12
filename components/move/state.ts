// What the stack's last deployment says, and which config changes it allows.
// The deployed target is read from state (the stack's own `target` and `move`
// outputs, through a StackReference to this very stack), never from memory:
// a plain change of `target` would create an empty new side and tear the
// serving one down in the same run.
import * as pulumi from "@pulumi/pulumi";
import { FreshtrackConfig, MovePhase, TARGETS, Target, moveCopiesBack } from "../../core/config";
import { DeployedWith, changedSecrets, changedSections } from "../../core/deployed-with";

/** The `move` stack output: the state of a move as the last `pulumi up` left it. */
export interface MoveState {
  from: Target;
  to: Target;
  phase: MovePhase;
  /** vm -> vm: the new host, so finishing can check vmHost was switched to it. */
  newHost?: string;
  /** Writes have moved to the new side once: a rollback must copy them back. */
  cutoverDone?: boolean;
}

/** What the last deployment recorded. `target` undefined: never deployed (or deployed before `target` was an output). */
export interface DeployedState {
  target?: Target;
  move?: MoveState;
  /** The program, config and secrets' digests the last deployment ran with; undefined when deployed by a program that did not record them. */
  with?: DeployedWith;
}

/** Phases a phase may follow: each `pulumi up` advances at most one step (rollback from anywhere before retire). */
const MAY_FOLLOW: Record<MovePhase, (MovePhase | "none")[]> = {
  prepare: ["none", "prepare", "rollback"],
  cutover: ["prepare", "cutover"],
  retire: ["cutover", "retire"],
  rollback: ["prepare", "cutover", "rollback"],
};

const NEXT: Record<MovePhase | "none", MovePhase> = { none: "prepare", prepare: "cutover", cutover: "retire", retire: "retire", rollback: "prepare" };

const HOW_TO_MOVE = (from: Target, to: Target) =>
  `To move this customer from ${from} to ${to} without losing data: keep target=${from}, then ` +
  `pulumi config set moveTo ${to} && pulumi config set movePhase prepare && pulumi up ` +
  `(then cutover, retire; see docs/move.md).`;

/** Parses the raw outputs a StackReference returned; tolerant of stacks deployed before these outputs existed. */
export function deployedStateOf(outputs: { target?: unknown; move?: unknown; deployedWith?: unknown; deployedSecrets?: unknown }): DeployedState {
  const target = (TARGETS as readonly unknown[]).includes(outputs.target) ? (outputs.target as Target) : undefined;
  const m = outputs.move as Partial<MoveState> | null | undefined;
  const move = m && typeof m === "object" && m.from && m.to && m.phase ? (m as MoveState) : undefined;
  const w = outputs.deployedWith as Partial<DeployedWith> | null | undefined;
  const used = w && typeof w === "object" && typeof w.program === "string" && w.config && typeof w.config === "object" ? (w as DeployedWith) : undefined;
  const s = outputs.deployedSecrets;
  const secrets = s && typeof s === "object" && Object.values(s).every((v) => typeof v === "string") ? (s as Record<string, string>) : undefined;
  return { target, move, ...(used ? { with: { program: used.program, config: used.config, ...(secrets ? { secrets } : {}) } } : {}) };
}

/**
 * Why a move may not start (its first prepare, or a prepare after a rollback) on what the stack
 * was last deployed with: the prepare must leave the serving side exactly as deployed, so this
 * run's program, config (move keys aside) and secrets must be those of the last deployment.
 */
function startRefusal(deployed: DeployedState, now: DeployedWith): string | undefined {
  const first =
    `Fix: deploy them to the serving side alone first: pulumi config rm moveTo and every other move* key you set, pulumi up, check it serves, ` +
    `then set the move keys again and pulumi up (docs/move.md "Before you start").`;
  if (!deployed.with?.secrets) {
    return `a move starts only on a stack whose last deployment recorded the program, config and secrets it ran with (the deployedWith and deployedSecrets outputs), and this one's did not (an older program deployed it): the prepare could change the serving side. ${first}`;
  }
  if (deployed.with.program !== now.program) {
    return `this program differs from the one that last deployed the stack: the prepare would deploy the new program to the serving side while it starts the move. ${first}`;
  }
  const changed = changedSections(deployed.with, now);
  if (changed.length) {
    return `config other than the move keys changed since the last deployment (${changed.join(", ")} settings): the prepare would deploy that change to the serving side too. ${first}`;
  }
  const secrets = changedSecrets(deployed.with, now);
  if (secrets.length) {
    return `secrets changed since the last deployment (${secrets.join(", ")}: set, removed or given another value): the prepare would deploy them to the serving side too. ${first}`;
  }
  return undefined;
}

/**
 * Why this config must not be applied to the deployed stack, or undefined when it may.
 * Pure: tests call it with every transition.
 */
export function refusal(deployed: DeployedState, cfg: FreshtrackConfig, now: DeployedWith): string | undefined {
  const was = deployed.target;
  if (was === undefined) {
    return cfg.move ? `moveTo is set but this stack has never been deployed: there is nothing to move. Fix: pulumi config rm moveTo, pulumi up` : undefined;
  }
  const prev = deployed.move;
  const move = cfg.move;

  if (!move) {
    if (cfg.target === was) {
      if (prev && prev.phase !== "rollback") {
        return (
          `a move ${prev.from} -> ${prev.to} is in phase ${prev.phase}: removing moveTo now would delete the new side. ` +
          `Fix: to abandon it, pulumi config set moveTo ${prev.to} && pulumi config set movePhase rollback && pulumi up, then pulumi config rm moveTo.`
        );
      }
      return undefined;
    }
    if (prev && prev.phase === "retire" && prev.to === cfg.target) {
      if (prev.newHost && cfg.vm && cfg.vm.host !== prev.newHost) {
        return `the move to the new host ${prev.newHost} is retired, but vmHost is still ${cfg.vm.host}. Fix: set vmHost, vmPort, vmUser, vmHostKey and vmSshPrivateKey to the new host's (the moveVm* values), then pulumi up.`;
      }
      return undefined; // finishing a retired move: the old side is removed, the new one stays
    }
    return (
      `target changed from ${was} (deployed) to ${cfg.target}: a plain target change would create an empty ${cfg.target} side and stop the serving ${was} side in the same run. ` +
      `Fix: pulumi config set target ${was}. ${HOW_TO_MOVE(was, cfg.target)}`
    );
  }

  if (cfg.target !== was) {
    return `target changed from ${was} (deployed) to ${cfg.target} during a move: target names the old side until the move is retired. Fix: pulumi config set target ${was}.`;
  }
  if (prev && prev.to !== move.to && prev.phase !== "rollback") {
    return `a move to ${prev.to} is in phase ${prev.phase}; moveTo is now ${move.to}. Fix: pulumi config set moveTo ${prev.to}, or roll that move back first (movePhase rollback).`;
  }
  const from: MovePhase | "none" = prev && prev.to === move.to ? prev.phase : "none";
  if (!MAY_FOLLOW[move.phase].includes(from)) {
    const next = NEXT[from];
    return `movePhase ${move.phase} cannot follow ${from === "none" ? "no move" : from}: phases advance one pulumi up at a time (prepare, cutover, retire). Fix: pulumi config set movePhase ${next}.`;
  }
  if (move.phase === "prepare" && (from === "none" || from === "rollback")) {
    const why = startRefusal(deployed, now);
    if (why) return why;
  }
  // After a cutover the new side holds the writes; onto aws with tlsMode internal nothing copies them back.
  if (move.phase === "rollback" && prev?.cutoverDone && !moveCopiesBack(cfg.target, move.to, cfg.app.tlsMode) && !move.manualDataCopy) {
    return (
      `a rollback of ${cfg.target} -> ${move.to} after its cutover would serve from the ${cfg.target} side's old data: the program does not copy the ${move.to} side's data back with tlsMode ${cfg.app.tlsMode} (aws's forwarder verifies the old host against the public CAs). ` +
      `Fix: finish the move (pulumi config set movePhase retire), or copy the database and the uploads back yourself (docs/move.md "Pairs with aws"), then pulumi config set moveManualDataCopy true.`
    );
  }
  return undefined;
}

/** The stack's own last outputs, through a StackReference to itself (read at preview, before any resource). */
export async function readDeployedState(): Promise<DeployedState> {
  const self = new pulumi.StackReference("self", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
  const [target, move, used, secrets] = await Promise.all(["target", "move", "deployedWith", "deployedSecrets"].map((name) => self.getOutputDetails(name)));
  return deployedStateOf({ target: target.value, move: move.value, deployedWith: used.value, deployedSecrets: secrets.secretValue ?? secrets.value });
}

/** The `move` output this run leaves for the next one. */
export function moveStateOf(cfg: FreshtrackConfig, previous?: MoveState): MoveState | null {
  if (!cfg.move) return null;
  const sameMove = previous && previous.to === cfg.move.to && previous.from === cfg.target;
  const cutoverDone = cfg.move.phase === "cutover" || cfg.move.phase === "retire" || (cfg.move.phase === "rollback" && !!sameMove && !!previous.cutoverDone);
  return { from: cfg.target, to: cfg.move.to, phase: cfg.move.phase, cutoverDone, ...(cfg.move.vm ? { newHost: cfg.move.vm.host } : {}) };
}
