// A move's step on the deploying machine: a command:local:Command under the move component that
// runs a pure script (components/aws/move-*.ts, forward-check.ts) with ids and ARNs only in its
// environment, after the resources it waits for; with `trigger`, it re-runs whenever that output
// changed (a step re-runs when the one before it did).
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

export type LocalStep = (
  stepName: string,
  script: string,
  environment: pulumi.Input<Record<string, pulumi.Input<string>>>,
  after: pulumi.Resource[],
  trigger?: pulumi.Output<string>,
) => command.local.Command;

export function localStep(parent: pulumi.Resource): LocalStep {
  return (stepName, script, environment, after, trigger) =>
    new command.local.Command(
      stepName,
      { interpreter: ["/bin/bash", "-c"], create: script, environment, logging: "stdoutAndStderr", ...(trigger ? { triggers: [trigger] } : {}) },
      { parent, dependsOn: after },
    );
}
