// The S3 stand-in (s3rver, in the tools tests and, as `weed`, in the e2e) answers a PUT only once
// the object is whole, as S3 and SeaweedFS do. s3rver 3.7 answers before its file is written; under
// the e2e's load rclone's size check after an upload then read 0 of 757 bytes. Here file writes are
// slowed so that the race is certain: rclone's upload fails against s3rver as it ships and
// succeeds, whole, with putObjectWhole (startS3rver's default).
import { strict as assert } from "assert";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run } from "../fixtures/bin/harness";
import { RCLONE_BASE_ENV, s3rverRcloneConf, startS3rver } from "../fixtures/s3-standin";

const SLOW_WRITE_MS = 1500;

describe("tools: the S3 stand-in answers a PUT only once the object is whole", function () {
  this.timeout(60000);
  const proto = fs.WriteStream.prototype as unknown as Record<"_write" | "_writev", (...a: unknown[]) => void>;
  const original = { _write: proto._write, _writev: proto._writev };
  let dir = "";

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ft-s3-whole-"));
    // Every file write (s3rver's object files) waits first: its answer to the PUT, if it does not
    // wait for the file, goes out before the file has its bytes.
    for (const k of ["_write", "_writev"] as const) {
      const fn = original[k];
      proto[k] = function (this: unknown, ...a: unknown[]) {
        setTimeout(() => fn.apply(this, a), SLOW_WRITE_MS);
      };
    }
  });
  after(() => {
    Object.assign(proto, original);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function upload(whole: boolean, size: number) {
    const server = await startS3rver({ directory: path.join(dir, `${whole}-${size}`), buckets: ["bkt"], asShipped: !whole });
    try {
      const conf = path.join(dir, `rclone-${server.port}.conf`);
      fs.writeFileSync(conf, s3rverRcloneConf(["s3"], `http://127.0.0.1:${server.port}`));
      const body = Buffer.from(Array.from({ length: size }, (_, i) => (i * 13) % 256));
      const sh = (script: string, input?: string) => run("sh", ["-c", script], { env: RCLONE_BASE_ENV, input });
      const put = await sh(`base64 -d | rclone --config ${conf} rcat s3:bkt/obj`, body.toString("base64"));
      // Read at once: an object answered whole is whole now.
      const stored = (await sh(`rclone --config ${conf} cat s3:bkt/obj | sha256sum | cut -c1-64`)).stdout.trim();
      return { put, want: createHash("sha256").update(body).digest("hex"), stored };
    } finally {
      await server.close();
    }
  }

  for (const size of [757, 70000]) {
    it(`${size} bytes: s3rver as it ships answers before its file is written (rclone reads a short size)`, async () => {
      const { put } = await upload(false, size);
      assert.notEqual(put.code, 0, "rclone's upload passed: the race this guards against did not happen");
      assert.match(put.stderr, new RegExp(`sizes differ ${size} vs \\d+|not found`), put.stderr);
    });

    it(`${size} bytes: with putObjectWhole the upload passes and the object is whole`, async () => {
      const { put, want, stored } = await upload(true, size);
      assert.equal(put.code, 0, put.stderr);
      assert.equal(stored, want);
    });
  }
});
