// The pgbouncer container's open-file limit follows max_client_conn and the pool
// (one descriptor per client and per server connection, plus PgBouncer's own).
import { strict as assert } from "assert";
import { parseConfig } from "../../core/config";
import type { BundleInput } from "../../compose/bundle-input";
import { renderComposeDocs } from "../../compose/render/compose";
import { LISTEN_BACKLOG_CAP, PGBOUNCER_FD_RESERVE, pgbouncerNofile, pgbouncerSettings } from "../../compose/render/pgbouncer";
import { COLD_CHAIN_RAW, COLD_CHAIN_VM_HOST, testManagedDb, testObjectStore } from "../fixtures/config";

function input(target: "vm" | "digitalocean", over: Record<string, string> = {}): BundleInput {
  const raw: Record<string, string> = {
    target,
    ...COLD_CHAIN_RAW,
    ...(target === "vm"
      ? {
          ...COLD_CHAIN_VM_HOST,
          vmSshPrivateKey: "k",
          vmBackupOnHostOnly: "true",
        }
      : { doSshCidrs: JSON.stringify(["198.51.100.7/32"]) }),
    ...over,
  };
  return {
    config: parseConfig(raw, new Set(["vmSshPrivateKey"])),
    target,
    objectStore: testObjectStore(COLD_CHAIN_RAW.domain),
    managedDb: testManagedDb(target),
  };
}

describe("pgbouncer nofile limit (compose model)", () => {
  for (const target of ["vm", "digitalocean"] as const) {
    it(`${target}: soft = hard, above max_client_conn + pool + PgBouncer's own descriptors`, () => {
      const i = input(target);
      const pg = renderComposeDocs(i).base.services.pgbouncer;
      const s = pgbouncerSettings(i);
      const need = Number(s.pgbouncer.max_client_conn) + Number(s.pgbouncer.max_db_connections) + PGBOUNCER_FD_RESERVE;
      assert.ok(pg.ulimits, "pgbouncer has ulimits");
      assert.equal(pg.ulimits.nofile.soft, pg.ulimits.nofile.hard);
      assert.ok(pg.ulimits.nofile.soft >= need && pg.ulimits.nofile.soft > 1024, `nofile ${pg.ulimits.nofile.soft} for ${need}`);
    });
  }
  it("grows with maxClientConnections", () => {
    assert.equal(pgbouncerNofile(pgbouncerSettings(input("vm"))), 2048);
    assert.equal(pgbouncerNofile(pgbouncerSettings(input("vm", { maxClientConnections: "5000" }))), 5120);
  });
  it("the listen backlog holds every client connecting at once, up to the kernel's cap", () => {
    assert.equal(pgbouncerSettings(input("vm")).pgbouncer.listen_backlog, 1000);
    assert.equal(pgbouncerSettings(input("digitalocean", { maxClientConnections: "300" })).pgbouncer.listen_backlog, 300);
    assert.equal(pgbouncerSettings(input("vm", { maxClientConnections: "5000" })).pgbouncer.listen_backlog, LISTEN_BACKLOG_CAP);
  });
});
