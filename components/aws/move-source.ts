// aws as a move's OLD side: what a move off it declares, handed to the move as a factory so that
// every resource lands under the move component (the old side's own resources keep their URNs
// and inputs), with this side's provider. Nothing is declared unless the move calls it.
import { MoveSourceFactory } from "../shared/target";
import * as pulumi from "@pulumi/pulumi";
import { Listeners, LoadBalancer } from "./load-balancer";
import { MoveExportInputs, createMoveExport } from "./move-export-task";
import { MOVE_FORWARD_ALL_PRIORITY } from "./move-forward";
import { createMoveForward } from "./move-forward-service";
import { createMoveImport } from "./move-import-task";
import { AwsScope } from "./scope";
import { RegistryLogin } from "./secrets";
import { moveServicesEnvironment } from "./move-task";
import { Services } from "./services";

export interface MoveSourceHandles extends MoveExportInputs {
  lb: LoadBalancer;
  listeners: Listeners;
  registryLogin?: RegistryLogin;
  /** This side's backend and worker: the freeze stops them, a rollback starts them again. */
  services: Services;
}

export function moveSourceFactory(scope: AwsScope, h: MoveSourceHandles): MoveSourceFactory {
  return (parent, args) => {
    const moved: AwsScope = { ...scope, parent, opts: (extra = {}) => ({ parent, provider: scope.provider, ...extra }) };
    const exportAccess = args.exportData ? createMoveExport(moved, h) : undefined;
    // A rollback's copy back: the new host pushes into this side's buckets as an old host of a move onto aws does.
    const importAccess = args.importData ? createMoveImport(moved, h) : undefined;
    const forward = args.forwarder ? createMoveForward(moved, { ...h, newAddress: args.newAddress }) : undefined;
    // The freeze stops, and a rollback restores, this side's backend and worker at their declared counts.
    const freeze = moveServicesEnvironment(scope, h.cluster, h.services);
    return {
      exportAccess,
      freeze,
      forwarder: forward?.service,
      importAccess,
      forwardOff: pulumi
        .output(h.listeners.https.arn)
        .apply((listener): Record<string, string> => ({ AWS_REGION: scope.cfg.region, LISTENER_ARN: listener, PRIORITY: String(MOVE_FORWARD_ALL_PRIORITY) })),
      forwardRules: (which, after) => (forward ? forward.declareRules(which, after) : []),
    };
  };
}
