// A move's step on a host: a command:remote:Command under the move component that runs one of
// the serving release's on-host commands over SSH, after the new side exists.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { normalizeHostKey, shellQuote } from "../shared/host";
import { HostAccess } from "../shared/target";

/** `bin/SCRIPT ARGS` on a host; a secret on `extra.stdin` is marked secret in state too. */
export type RemoteStep = (
  stepName: string,
  on: HostAccess,
  script: string,
  scriptArgs: pulumi.Input<string>[],
  extra?: Partial<command.remote.CommandArgs>,
  dependsOn?: pulumi.Resource[],
) => command.remote.Command;

export function remoteStep(parent: pulumi.Resource, newSide: pulumi.Resource): RemoteStep {
  return (stepName, on, script, scriptArgs, extra = {}, dependsOn = []) =>
    new command.remote.Command(
      stepName,
      {
        connection: {
          host: on.host,
          port: on.port,
          user: on.user,
          privateKey: pulumi.secret(on.privateKey),
          hostKey: pulumi.output(on.hostKey).apply(normalizeHostKey),
        },
        create: pulumi.all(scriptArgs).apply((a) => onHostCommand(on, script, a)),
        logging: "stdoutAndStderr",
        ...extra,
      },
      { parent, dependsOn: [newSide, ...dependsOn], ...(extra.stdin ? { additionalSecretOutputs: ["stdin"] } : {}) },
    );
}

/** `[sudo -n] APP_DIR/current/bin/SCRIPT ARGS`: the scripts of the release that is serving on that host. */
export function onHostCommand(on: Pick<HostAccess, "user" | "appDir">, script: string, scriptArgs: string[]): string {
  const line = [`${on.appDir}/current/bin/${script}`, ...scriptArgs].map(shellQuote).join(" ");
  return on.user === "root" ? line : `sudo -n ${line}`;
}
