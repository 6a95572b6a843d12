// backupSchedule (5-field cron) -> AWS cron, and when AWS Backup is needed.
import { strict as assert } from "assert";
import { awsCron, needsAwsBackup } from "../../components/aws/backup";

describe("aws backup schedule", () => {
  const cases: [string, string][] = [
    ["17 3 * * *", "cron(17 3 * * ? *)"],
    ["0 2 1 * *", "cron(0 2 1 * ? *)"],
    ["30 1 * * 0", "cron(30 1 ? * 1 *)"],
    ["30 1 * * 7", "cron(30 1 ? * 1 *)"],
    ["0 4 * * 1-5", "cron(0 4 ? * 2-6 *)"],
    ["0 */6 * * *", "cron(0 */6 * * ? *)"],
    ["15 3 * * 1,3,5", "cron(15 3 ? * 2,4,6 *)"],
  ];
  for (const [cron, aws] of cases) it(`${cron} -> ${aws}`, () => assert.equal(awsCron(cron), aws));
  it("refuses what AWS cannot express", () => {
    assert.throws(() => awsCron("0 3 1 * 1"), /both day of month and day of week/);
    assert.throws(() => awsCron("0 3 * *"), /5-field/);
  });
  it("AWS Backup only beyond RDS's 35 days", () => {
    assert.equal(needsAwsBackup(30), false);
    assert.equal(needsAwsBackup(35), false);
    assert.equal(needsAwsBackup(36), true);
  });
});
