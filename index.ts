// FreshTrack Pro: one stack per customer. Read config, check it against what is
// deployed, create the customer's lasting secrets, deploy the serving target
// (and, during a move, the new one beside it), export what the operator needs.
import * as pulumi from "@pulumi/pulumi";
import { deployCustomer, readDeployedState, refusal } from "./components/move";
import { deployedWith } from "./core/deployed-with";
import { loadConfig, loadUserSecrets, userSecretDigests } from "./core/load-config";
import { createLastingSecrets } from "./components/shared/secrets";

export = async () => {
  const config = loadConfig(); // throws one message naming every bad key, before any resource exists
  // The deployed target comes from the stack's own last outputs, not from the operator's memory.
  const deployed = await readDeployedState();
  const userSecrets = loadUserSecrets(config);
  // What this run deploys with: a move starts only where it equals the last run's.
  const used = deployedWith(config, await userSecretDigests(config, userSecrets));
  const refused = refusal(deployed, config, used);
  if (refused) throw new pulumi.RunError(`Refused (no resource was declared): ${refused}`);

  const secrets = createLastingSecrets(config.data);
  const customer = deployCustomer(pulumi.getStack(), { config, secrets, userSecrets }, deployed);
  const s = customer.serving;
  return {
    target: config.target,
    url: s.url,
    hostAddress: s.hostAddress,
    databaseEndpoint: s.databaseEndpoint,
    dnsRecords: s.dnsRecords,
    move: customer.moveState, // read back by the next run (components/move/state.ts)
    deployedWith: { program: used.program, config: used.config }, // also read back
    deployedSecrets: pulumi.secret(used.secrets), // digests of secret values: a secret all the same
    ...(customer.move ? { moveStatus: customer.move } : {}),
  };
};
