// vmFirewall on a disposable host, checked by its effect: bootstrap.sh's ufw must let this
// machine reach the SSH port and 443 and nothing else. A second sshd on a port no rule allows
// stands in for any other service of the host; it answers on the host itself (so the probe
// can succeed) and must not answer from here.
import { portOpen } from "../../../scripts/lib/local-host";
import { DisposableHost, onHost } from "./disposable-host";

const PROBE_PORT = 2299;

/** Whether a TCP connection from this machine to host:port opens within 3 s (ufw drops: no answer at all). */
const connects = (host: string, port: number) => portOpen(port, host, 3000);

export async function firewallFacts(h: DisposableHost): Promise<{ figures: Record<string, unknown>; problems: string[] }> {
  const status = onHost(h, "ufw status", { allowFail: true }).stdout;
  // IPv4 rules only ("22/tcp  ALLOW  Anywhere"); the (v6) twins say the same.
  const allowed = [...new Set([...status.matchAll(/^(\d+)\/tcp\s+ALLOW\b/gm)].map((m) => Number(m[1])))].sort((a, b) => a - b);
  const probe = onHost(
    h,
    `/usr/sbin/sshd -p ${PROBE_PORT} -o PidFile=/run/ft-firewall-probe.pid -o HostKey=/etc/ssh/ssh_host_ed25519_key && sleep 0.5 && timeout 3 bash -c '</dev/tcp/127.0.0.1/${PROBE_PORT}'`,
    { allowFail: true },
  );
  const figures = {
    ufw_active: /^Status: active$/m.test(status),
    allowed_tcp_ports: allowed,
    probe_port_open_on_host: probe.code === 0,
    from_outside: {
      ssh: await connects(h.host, h.port),
      https: await connects(h.host, 443),
      [`probe_${PROBE_PORT}`]: await connects(h.host, PROBE_PORT),
    },
  };
  onHost(h, "kill $(cat /run/ft-firewall-probe.pid) 2>/dev/null; rm -f /run/ft-firewall-probe.pid", { allowFail: true });
  const want = [h.port, 80, 443].sort((a, b) => a - b);
  const problems = [
    ...(figures.ufw_active ? [] : [`ufw is not active: ${status.trim().slice(0, 200)}`]),
    ...(JSON.stringify(allowed) === JSON.stringify(want) ? [] : [`ufw allows tcp ${allowed.join(",")}, not ${want.join(",")}`]),
    ...(figures.probe_port_open_on_host ? [] : [`the probe sshd on ${PROBE_PORT} did not answer on the host itself: ${probe.stderr.slice(-300)}`]),
    ...(figures.from_outside.ssh && figures.from_outside.https ? [] : ["ufw blocks the SSH port or 443 from outside"]),
    ...(figures.from_outside[`probe_${PROBE_PORT}`] ? [`port ${PROBE_PORT} answers from outside: ufw lets more than the SSH port, 80 and 443 in`] : []),
  ];
  return { figures, problems };
}
