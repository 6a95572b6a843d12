// Every policy of the pack, in the order the README lists them.
import type { AnyPolicy } from "../lib/types";
import { bucketPrivateEncrypted } from "./buckets";
import { noCredentialsInEnv } from "./credentials";
import { backupRetentionRecommended, databaseFirewalled, databaseProtected } from "./databases";
import { imagesPinned } from "./images";
import { httpListenerRulesRedirect, listenerHttpsOnly } from "./listeners";
import { logGroupRetention } from "./log-groups";
import { ingressRestricted } from "./network";
import { remoteHostKeyPinned, remoteStdinNotLogged } from "./remote";

export const POLICIES: AnyPolicy[] = [
  imagesPinned,
  databaseProtected,
  databaseFirewalled,
  listenerHttpsOnly,
  httpListenerRulesRedirect,
  ingressRestricted,
  bucketPrivateEncrypted,
  noCredentialsInEnv,
  remoteHostKeyPinned,
  remoteStdinNotLogged,
  logGroupRetention,
  backupRetentionRecommended,
];
