// FreshTrack guardrails: `pulumi preview --policy-pack policy [--policy-pack-config policy/config/<stack>.json]`.
// The policies themselves are pure (policies/*.ts); lib/pack.ts adapts them.
import { PolicyPack } from "@pulumi/policy";
import { toPulumiPolicy } from "./lib/pack";
import { POLICIES } from "./policies";

new PolicyPack("freshtrack-guardrails", {
  description: "FreshTrack Pro: never lose a reading, never leak a credential.",
  policies: POLICIES.map(toPulumiPolicy),
});
