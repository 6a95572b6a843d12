"use strict";
// s3rver 3.7's FilesystemStore.putObject resolves once the body has passed through its md5
// transform (at once for a body it holds as a Buffer), not once its file is written. So the PUT
// is answered while the file is still being written, and a HEAD right after it can report a
// short size. rclone checks the size after every upload and failed on this under load ("sizes
// differ 757 vs 0", "70000 vs 65536": read vs stored). S3 and SeaweedFS answer a PUT only once
// the object is whole. Here the object is written to a file beside it, renamed into place once
// closed, then its metadata: the PUT is answered after all three.
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const { Readable, Transform } = require("stream");
const { pipeline } = require("stream/promises");

/** Replaces `store.putObject` (a FilesystemStore) with one that returns after the object is whole. */
function putObjectWhole(store) {
  store.putObject = async function putObject(object) {
    const objectPath = this.getResourcePath(object.bucket, object.key, "object");
    await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
    // Not listed meanwhile: s3rver lists only files that end in its object suffix.
    const partial = `${objectPath}.${crypto.randomBytes(6).toString("hex")}.partial`;
    const md5 = crypto.createHash("md5");
    let size = 0;
    const count = new Transform({
      transform(chunk, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    const body = Buffer.isBuffer(object.content) ? Readable.from([object.content]) : object.content;
    try {
      await pipeline(body, count, fs.createWriteStream(partial));
      await fs.promises.rename(partial, objectPath);
    } catch (e) {
      await fs.promises.rm(partial, { force: true });
      throw e;
    }
    const digest = md5.digest("hex");
    await this.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}

module.exports = { putObjectWhole };
