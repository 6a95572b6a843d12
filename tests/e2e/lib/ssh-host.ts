// The e2e's test host is the local host of `npm run local-host` (scripts/lib/local-host.ts),
// started attached so it dies with the run: one code path for both.
import { LocalHost, startLocalHost } from "../../../scripts/lib/local-host";

export { freePort } from "../../../scripts/lib/local-host";
export type TestHost = LocalHost;

/** Fresh keys every run; the sshd is a child of the harness. */
export function startTestHost(dir: string): Promise<TestHost> {
  return startLocalHost(dir, { detached: false, reuseKeys: false });
}
