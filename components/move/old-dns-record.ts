// The old side's own app record during a move, where the program manages DNS (doManageDns on a
// droplet, awsRoute53ZoneId on aws). "flip": the prepare run lowers its TTL (moveDnsTtlSeconds;
// an alias to a load balancer has none of its own), the cutover run points it at the new side
// once every cutover step succeeded, retire keeps it there and retains it, so the finishing run
// leaves it in the zone; a rollback's own inputs point it back. "operator": the new side has no
// address an A record can hold (a load balancer, a vm host given by name): the operator changes
// it by hand (moveStatus.dns), and the program neither puts it back nor deletes it.
import * as pulumi from "@pulumi/pulumi";
import { FreshtrackConfig, MovePhase, isIPv4 } from "../../core/config";
import { APP_RECORD } from "../aws/certificate";

export type OldRecordPlan = "flip" | "operator" | "none";

/** What the move does with the old side's app record. */
export function oldRecordPlan(cfg: FreshtrackConfig): OldRecordPlan {
  const managed = (cfg.target === "digitalocean" && !!cfg.digitalocean?.manageDns) || (cfg.target === "aws" && !!cfg.aws?.route53ZoneId);
  if (!cfg.move || !managed) return "none";
  // A droplet's reserved IP; a vm host given as IPv4 (from a non-vm side the vm* keys name it).
  if (cfg.move.to === "digitalocean" || (cfg.move.to === "vm" && isIPv4(cfg.vm?.host ?? ""))) return "flip";
  return "operator";
}

/** The record pointed at the new side: its address, resolved only once the phase's steps succeeded. */
export interface NewSideAddress {
  address: pulumi.Output<string>;
}

/** The new side's address, promised before the move's component (created after the serving side) exists. */
export function pendingNewSide(): { promise: Promise<NewSideAddress>; resolve: (n: NewSideAddress) => void; reject: (e: unknown) => void } {
  let resolve!: (n: NewSideAddress) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<NewSideAddress>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // a failed Move fails the program itself
  return { promise, resolve, reject };
}

interface AppRecordKind {
  isApp: (name: string) => boolean;
  /** Fields the operator changes by hand ("operator"). */
  fields: string[];
  /** The props with the TTL lowered and, when given, the value pointed at `address`. */
  flip: (props: Record<string, unknown>, ttl: number, address?: pulumi.Output<string>) => Record<string, unknown>;
}

const APP_RECORDS: Record<string, AppRecordKind> = {
  // The droplet's only managed record is the app's A record (components/digitalocean/dns.ts).
  "digitalocean:index/dnsRecord:DnsRecord": {
    isApp: () => true,
    fields: ["value", "ttl"],
    flip: (props, ttl, address) => ({ ...props, ttl, ...(address ? { value: address } : {}) }),
  },
  // An alias to the load balancer answers with the alias target's TTL: nothing to lower; pointed,
  // it becomes a plain A record (same name and type: one UPSERT, no gap).
  "aws:route53/record:Record": {
    isApp: (name) => name === APP_RECORD,
    fields: ["aliases", "records", "ttl", "type"],
    flip: (props, ttl, address) => {
      if (!address) return props;
      const { aliases: _alias, ...rest } = props;
      return { ...rest, records: [address], ttl };
    },
  },
};

/** The app's record among the serving side's resources, with how a move treats it; undefined for any other resource. */
function appRecord(a: pulumi.ResourceTransformationArgs): AppRecordKind | undefined {
  const rec = APP_RECORDS[a.type];
  return rec?.isApp(a.name) ? rec : undefined;
}

/** The transformation of the serving side for this phase (undefined: the record is left as declared). */
export function oldRecordTransformation(
  plan: OldRecordPlan,
  phase: MovePhase,
  ttl: number,
  newSide: Promise<NewSideAddress>,
): pulumi.ResourceTransformation | undefined {
  if (plan === "none") return undefined;
  if (plan === "operator") {
    return (a) => {
      const rec = appRecord(a);
      if (!rec) return undefined;
      const ignoreChanges = [...(a.opts.ignoreChanges ?? []), ...rec.fields];
      return { props: a.props, opts: { ...a.opts, ignoreChanges, ...(phase === "retire" ? { retainOnDelete: true } : {}) } };
    };
  }
  // A rollback declares the record as without a move: back at the old side.
  if (phase === "rollback") return undefined;
  const pointed = phase === "cutover" || phase === "retire";
  return (a) => {
    const rec = appRecord(a);
    if (!rec) return undefined;
    const address = pointed ? pulumi.output(newSide.then((n) => n.address)) : undefined;
    return { props: rec.flip(a.props, ttl, address), opts: { ...a.opts, ...(phase === "retire" ? { retainOnDelete: true } : {}) } };
  };
}
