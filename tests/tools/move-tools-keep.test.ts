// A move's PostgreSQL clients and rclone run in one container each for the whole run
// (ft_move_tools_keep, lib/db.sh ft_db_tool_keep), not a container per call: the docker
// commands bin/move-export and bin/move-import then give, on the vm release the program
// renders, through a docker stand-in that logs them. A real engine runs them in e2e
// scenarios 14, 16, 17 and 18 (every cutover's copy), which also check that none is left.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stubDocker } from "../fixtures/bin/harness";
import { AppDir, installPlanned, plannedRelease } from "../fixtures/bin/release";

describe("tools: a move's tool containers (ft_move_tools_keep) on the planned vm release", function () {
  this.timeout(120_000);
  let app: AppDir;
  let stub: string;
  let log: string;
  let postgresImage: string;
  let rcloneImage: string;

  before(() => {
    const planned = plannedRelease("vm");
    postgresImage = planned.release.images.postgres as string;
    rcloneImage = planned.release.images.rclone as string;
    app = installPlanned(planned);
    stub = stubDocker(path.join(app.root, "stub"));
    log = path.join(app.root, "docker.log");
  });

  after(() => fs.rmSync(app.root, { recursive: true, force: true }));

  /** Sources the release's move-lib.sh as the move's commands do, then runs CALLS; the docker argv lines. */
  function calls(script: string, stubScript = ""): { status: number | null; docker: string[]; stderr: string } {
    fs.rmSync(log, { force: true });
    const bin = path.join(app.relDir, "bin");
    const r = spawnSync(
      "bash",
      [
        "-c",
        `set -Eeuo pipefail; source "$1/move-lib.sh"; ft_paths_resolve; ft_release_use "$2"; ft_db_connection; ft_backup_setup
         WORK=$(ft_paths_tmpdir move-test); ${script}`,
        "t",
        bin,
        app.relDir,
      ],
      {
        env: {
          ...process.env,
          FT_APP_DIR: app.appDir,
          FT_RCLONE: "container",
          FT_STUB_LOG: log,
          FT_STUB_SCRIPT: stubScript,
          PATH: `${stub}:${process.env.PATH}`,
        },
        encoding: "utf8",
      },
    );
    const docker = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
    return { status: r.status, docker, stderr: r.stderr };
  }

  it("kept: one container each, started once; every call execs into it; both removed by ft_move_tools_drop, after which calls start their own", () => {
    const r = calls(
      `ft_move_tools_keep
       ft_db_tool pg_dump -Fc -d frostguard; ft_db_query frostguard 'SELECT 1'
       ft_move_rclone lsjson store:frostguard-assets
       ft_move_tools_drop
       ft_db_tool psql -c 'SELECT 2'; ft_move_rclone lsjson store:after`,
    );
    assert.equal(r.status, 0, r.stderr);
    const secrets = path.join(app.appDir, "secrets");
    const work = /-v (\S+):\/work /.exec(r.docker.join("\n"))?.[1] ?? "";
    assert.match(work, /\/state\/tmp\/move-test\./);
    assert.deepEqual(r.docker, [
      "rm -f freshtrack-move-db",
      `run -d --rm --name freshtrack-move-db --entrypoint sleep --network freshtrack_default --user 0 -v ${secrets}/backup/pgpass:/run/ft/pgpass:ro ${postgresImage} 86400`,
      "rm -f freshtrack-move-rclone",
      `run -d --rm --name freshtrack-move-rclone --entrypoint sleep --network freshtrack_default -v ${secrets}/backup/rclone.conf:/config/rclone/rclone.conf:ro -v ${work}:/work ${rcloneImage} 86400`,
      "exec -i -e PGHOST -e PGPORT -e PGUSER -e PGSSLMODE -e PGCONNECT_TIMEOUT -e PGPASSFILE=/run/ft/pgpass freshtrack-move-db pg_dump -Fc -d frostguard",
      "exec -i -e PGHOST -e PGPORT -e PGUSER -e PGSSLMODE -e PGCONNECT_TIMEOUT -e PGPASSFILE=/run/ft/pgpass freshtrack-move-db psql -X -q -At -v ON_ERROR_STOP=1 -d frostguard -c SELECT 1",
      "exec freshtrack-move-rclone rclone --config /config/rclone/rclone.conf lsjson store:frostguard-assets",
      "rm -f freshtrack-move-db",
      "rm -f freshtrack-move-rclone",
      `run --rm -i --network freshtrack_default --user 0 --entrypoint psql -e PGHOST -e PGPORT -e PGUSER -e PGSSLMODE -e PGCONNECT_TIMEOUT -e PGPASSFILE=/run/ft/pgpass -v ${secrets}/backup/pgpass:/run/ft/pgpass:ro ${postgresImage} -c SELECT 2`,
      `run --rm --network freshtrack_default -v ${secrets}/backup/rclone.conf:/config/rclone/rclone.conf:ro -v ${work}:/work ${rcloneImage} --config /config/rclone/rclone.conf lsjson store:after`,
    ]);
  });

  // A move through aws S3 writes its own config into the work directory (ft_move_s3_credential):
  // the kept container sees it under /work, so its calls exec there too. A config elsewhere: a
  // container per call, with that config mounted.
  it("rclone's container also serves the config a move through aws S3 writes into the work directory; another config gets a container per call", () => {
    const r = calls(
      `ft_move_tools_keep; RCLONE_CONF=$WORK/rclone.conf; ft_move_rclone lsjson ft-move-assets:a
       RCLONE_CONF=/etc/other-rclone.conf; ft_move_rclone lsjson other:b; ft_move_tools_drop`,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.docker.filter((l) => l.startsWith("run -d ")).length, 2, r.docker.join("\n"));
    assert.deepEqual(
      r.docker.filter((l) => l.endsWith("lsjson ft-move-assets:a")),
      ["exec freshtrack-move-rclone rclone --config /work/rclone.conf lsjson ft-move-assets:a"],
    );
    const other = r.docker.filter((l) => l.endsWith("lsjson other:b"));
    assert.equal(other.length, 1);
    assert.match(other[0], /^run --rm --network freshtrack_default -v \/etc\/other-rclone\.conf:\/config\/rclone\/rclone\.conf:ro /);
  });

  it("a container that cannot start: a warning, and each call starts its own as without it (the move goes on)", () => {
    const r = calls(
      `ft_move_tools_keep; ft_db_tool psql -c 'SELECT 3'; ft_move_rclone lsjson store:x; ft_move_tools_drop`,
      'case "$1 $2" in "run -d") exit 125 ;; esac',
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /could not start freshtrack-move-db for the PostgreSQL clients: each call starts its own container/);
    assert.match(r.stderr, /could not start freshtrack-move-rclone: each rclone call starts its own container/);
    assert.ok(
      r.docker.some((l) => l.startsWith("run --rm -i ") && l.endsWith(" -c SELECT 3")),
      r.docker.join("\n"),
    );
    assert.ok(
      r.docker.some((l) => l.startsWith("run --rm --network ") && l.endsWith(" lsjson store:x")),
      r.docker.join("\n"),
    );
    assert.equal(r.docker.filter((l) => l.startsWith("exec ")).length, 0, r.docker.join("\n"));
  });
});
