// Pure scripts for the one-off ECS tasks (db-setup, migrate) that must finish
// before the backend service rolls. The local command only ever sees ids and
// ARNs, through environment variables; secrets reach the task from Secrets
// Manager inside AWS and never touch this machine or a command line.

import { RDS_CA_ENV, RDS_CA_FILE } from "./rds-ca";

/** Env the run-task script reads (all non-secret). */
export interface RunTaskEnv {
  AWS_REGION: string;
  CLUSTER: string;
  TASK_DEFINITION: string;
  CONTAINER: string;
  SUBNETS: string;
  SECURITY_GROUPS: string;
  ASSIGN_PUBLIC_IP: "ENABLED" | "DISABLED";
  LOG_GROUP: string;
}

export interface RunTaskOptions {
  /**
   * Also pass OVERRIDES_JSON, when set and not empty, as run-task's `--overrides` (e.g. a
   * container's environment for this run only: the move's export gets the freeze's start so).
   * Off, the script is byte for byte what db-setup, migrate and the move's import have always run.
   */
  overrides?: boolean;
}

/**
 * Starts one Fargate task, waits until it stops (ECS's waiter gives up after
 * 10 minutes, so it is retried up to an hour) and fails unless the container
 * exited 0. A failed run fails `pulumi up` before the backend service changes.
 */
export function runTaskScript(options: RunTaskOptions = {}): string {
  const overrides = options.overrides ? ' ${OVERRIDES_JSON:+--overrides "$OVERRIDES_JSON"}' : "";
  return `set -euo pipefail
: "\${AWS_REGION:?}" "\${CLUSTER:?}" "\${TASK_DEFINITION:?}" "\${CONTAINER:?}" "\${SUBNETS:?}" "\${SECURITY_GROUPS:?}" "\${ASSIGN_PUBLIC_IP:?}"
out=$(aws ecs run-task --region "$AWS_REGION" --cluster "$CLUSTER" --task-definition "$TASK_DEFINITION" \\
  --launch-type FARGATE --count 1 --started-by pulumi-one-off${overrides} \\
  --network-configuration "awsvpcConfiguration={subnets=[$SUBNETS],securityGroups=[$SECURITY_GROUPS],assignPublicIp=$ASSIGN_PUBLIC_IP}" \\
  --query '[tasks[0].taskArn, length(failures)]' --output text)
task=$(printf '%s' "$out" | cut -f1)
if [ -z "$task" ] || [ "$task" = "None" ]; then echo "run-task started no task for $TASK_DEFINITION: $out" >&2; exit 1; fi
echo "started $task ($CONTAINER)"
tries=0
until aws ecs wait tasks-stopped --region "$AWS_REGION" --cluster "$CLUSTER" --tasks "$task"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 6 ]; then echo "$task still running after an hour; not rolling the backend" >&2; exit 1; fi
done
code=$(aws ecs describe-tasks --region "$AWS_REGION" --cluster "$CLUSTER" --tasks "$task" \\
  --query "tasks[0].containers[?name=='$CONTAINER'] | [0].exitCode" --output text)
reason=$(aws ecs describe-tasks --region "$AWS_REGION" --cluster "$CLUSTER" --tasks "$task" --query 'tasks[0].stoppedReason' --output text)
if [ "$code" != "0" ]; then
  echo "$CONTAINER task $task failed: exit code $code ($reason). Logs: aws logs tail $LOG_GROUP --log-stream-name-prefix $CONTAINER --region $AWS_REGION" >&2
  exit 1
fi
echo "$CONTAINER task $task exited 0"
`;
}

/**
 * psql script run by the db-setup task as the RDS master user: creates or
 * re-passwords the app role and hands it the database. Idempotent. It gets the
 * role's SCRAM-SHA-256 verifier, not the password, from the environment
 * (\\getenv, psql 15+), quoted by format(%L): no command line holds it, and a
 * failed statement logged by the server shows only the verifier.
 */
export function dbSetupSql(dbName: string, dbUser: string): string {
  const ident = /^[a-z_][a-z0-9_]*$/;
  if (!ident.test(dbName) || !ident.test(dbUser)) throw new Error("database and role names must be plain identifiers");
  return [
    "\\set ON_ERROR_STOP on",
    "\\getenv app_verifier APP_DB_PASSWORD_SCRAM",
    `SELECT format('CREATE ROLE ${dbUser} LOGIN PASSWORD %L', :'app_verifier') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${dbUser}') \\gexec`,
    `SELECT format('ALTER ROLE ${dbUser} WITH LOGIN PASSWORD %L', :'app_verifier') \\gexec`,
    // PG16: the creator may only hand a database to a role it can SET ROLE to.
    `GRANT ${dbUser} TO CURRENT_USER;`,
    `SELECT 'CREATE DATABASE ${dbName}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${dbName}') \\gexec`,
    // Owner of the database is owner of its public schema (pg_database_owner): migrations can create tables.
    `ALTER DATABASE ${dbName} OWNER TO ${dbUser};`,
    "",
  ].join("\n");
}

/**
 * Container command of the db-setup task: the SQL travels in an env var, psql reads it from stdin.
 * The server is verified (verify-full) against the region's RDS root CAs from $RDS_CA_BUNDLE.
 */
export function dbSetupCommand(): string[] {
  return [
    "sh",
    "-c",
    `printf '%s\\n' "$${RDS_CA_ENV}" > ${RDS_CA_FILE} && printf "%s" "$DB_SETUP_SQL" | psql -X -q "host=$PGHOST port=5432 dbname=postgres user=$PGUSER sslmode=verify-full sslrootcert=${RDS_CA_FILE}"`,
  ];
}
