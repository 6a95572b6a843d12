// The arguments of scripts/bootstrap.sh, in its argv order. Built in one place:
// the push's bootstrap step and the droplet's cloud-init both run the script, and
// must pass it the same values.

export interface BootstrapParams {
  appDir: string;
  /** Whether the script configures ufw (vm: config vmFirewall; digitalocean: the cloud firewall filters instead). */
  firewall: boolean;
  /** The SSH port the firewall keeps open. */
  sshPort: number;
  /** The user the push connects as (it owns the copied bundles). */
  copyUser: string;
  /** Operators' non-root login, added to the docker group; none on vm. */
  deployUser?: string;
}

export function bootstrapArgs(p: BootstrapParams): string[] {
  return [p.appDir, String(p.firewall), String(p.sshPort), p.copyUser, p.deployUser ?? ""];
}
