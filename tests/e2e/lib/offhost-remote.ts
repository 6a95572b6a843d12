// The operator's S3-compatible storage off the host, for the e2e: a second container of the
// SeaweedFS stand-in (its own data, its own identities), on the host network bound to the
// default bridge's gateway address, which containers of any Compose network reach through
// the host (as they would reach a provider's endpoint through its NAT). The stack gets an
// identity that can read, write and list its one bucket, as docs/backup.md asks operators
// to create; the test's own `operator` identity creates the bucket.
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { sh } from "./docker";

export const OFFHOST_CONTAINER = "freshtrack-e2e-offhost";

export interface OffHostRemote {
  endpoint: string;
  bucket: string;
  /** What the stack's config gets (vmBackupRemote*). */
  stackRemote: { endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string };
  stop: () => void;
}

/** A free TCP port on `address`. */
function freePortOn(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, address, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** Where a remote runs. Default: the run's own, on this machine's network. */
export interface OffHostPlace {
  /** Its container (a move scenario runs one of its own beside the run's). */
  name?: string;
  /** The stack's one bucket in it. */
  bucket?: string;
  /**
   * A user-defined network to run on, reached at the container's address there: the move
   * scenarios' hosts (lib/disposable-host.ts), whose containers do not reach this machine's
   * default bridge. Default: this machine's network, bound to the default bridge's gateway.
   */
  network?: string;
}

const S3_PORT_ON_NETWORK = 8333;

export async function startOffHostRemote(image: string, dir: string, place: OffHostPlace = {}): Promise<OffHostRemote> {
  const name = place.name ?? OFFHOST_CONTAINER;
  const bucket = place.bucket ?? "acme-offsite-backups";
  // The container's network, the server's listening flags, and its address once it runs.
  let network: string;
  let listen: string[];
  let endpoint: () => string;
  if (place.network) {
    network = place.network;
    listen = [`-s3.port=${S3_PORT_ON_NETWORK}`];
    endpoint = () => {
      const ip = sh("docker", ["inspect", "-f", `{{(index .NetworkSettings.Networks "${place.network}").IPAddress}}`, name]).stdout.trim();
      return `http://${ip}:${S3_PORT_ON_NETWORK}`;
    };
  } else {
    const gateway = sh("docker", ["network", "inspect", "bridge", "-f", "{{(index .IPAM.Config 0).Gateway}}"]).stdout.trim();
    if (!/^\d+\.\d+\.\d+\.\d+$/.test(gateway)) throw new Error(`no gateway address on Docker's default bridge: "${gateway}"`);
    const port = await freePortOn(gateway);
    network = "host";
    listen = [`-s3.port=${port}`, `-ip.bind=${gateway}`];
    endpoint = () => `http://${gateway}:${port}`;
  }
  // Recognisable dummy values: scenario 9 searches every output for E2ESECRET…X.
  const identity = { accessKeyId: "E2EOFFHOSTBACKUPKEY", secretAccessKey: "E2ESECREToffhostbackup0001X" };
  const operator = { accessKey: "E2EOFFHOSTOPERATOR", secretKey: "E2ESECREToffhostoperator0001X" };
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = path.join(dir, "s3.json");
  fs.writeFileSync(
    config,
    JSON.stringify({
      identities: [
        { name: "operator", credentials: [operator], actions: ["Admin"] },
        {
          name: "freshtrack-backup",
          credentials: [{ accessKey: identity.accessKeyId, secretKey: identity.secretAccessKey }],
          actions: ["Read", "Write", "List"].map((a) => `${a}:${bucket}`),
        },
      ],
    }),
    { mode: 0o644 },
  );
  sh("docker", ["rm", "-f", "-v", name], { allowFail: true });
  sh("docker", [
    "run",
    "-d",
    "--name",
    name,
    "--network",
    network,
    "-v",
    `${config}:/etc/seaweedfs/s3.json:ro`,
    image,
    "server",
    "-dir=/data",
    "-s3",
    ...listen,
    "-s3.config=/etc/seaweedfs/s3.json",
  ]);
  const stackRemote = { endpoint: endpoint(), bucket, ...identity };
  // The operator creates the bucket (PUT bucket, path-style), with the host's rclone.
  const conf = path.join(dir, "operator-rclone.conf");
  fs.writeFileSync(
    conf,
    `[op]\ntype = s3\nprovider = Other\naccess_key_id = ${operator.accessKey}\nsecret_access_key = ${operator.secretKey}\nendpoint = ${stackRemote.endpoint}\nforce_path_style = true\n`,
    { mode: 0o600 },
  );
  // rclone 1.60's S3 backend fails with any AWS_CA_BUNDLE set.
  const { AWS_CA_BUNDLE: _ca, ...env } = process.env;
  let last = "";
  for (let i = 0; i < 60; i++) {
    const r = sh("rclone", ["--config", conf, "mkdir", `op:${bucket}`], { allowFail: true, env });
    if (r.code === 0) break;
    last = r.stderr;
    if (i === 59) throw new Error(`the off-host remote did not come up: ${last}`);
    await new Promise((res) => setTimeout(res, 500));
  }
  return {
    endpoint: stackRemote.endpoint,
    bucket,
    stackRemote,
    stop: () => void sh("docker", ["rm", "-f", "-v", name], { allowFail: true }),
  };
}
