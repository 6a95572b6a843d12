// backupSchedule (5-field cron) -> AWS cron, and when AWS Backup is needed.
import { strict as assert } from "assert";
import { awsCron, cronFieldValues, needsAwsBackup } from "../../core/aws-schedule";

describe("aws backup schedule", () => {
  const cases: [string, string][] = [
    ["17 3 * * *", "cron(17 3 * * ? *)"],
    ["0 2 1 * *", "cron(0 2 1 * ? *)"],
    ["30 1 * * 0", "cron(30 1 ? * 1 *)"],
    ["30 1 * * 7", "cron(30 1 ? * 1 *)"],
    ["0 4 * * 1-5", "cron(0 4 ? * 2,3,4,5,6 *)"],
    ["0 */6 * * *", "cron(0 0,6,12,18 * * ? *)"],
    ["15 3 * * 1,3,5", "cron(15 3 ? * 2,4,6 *)"],
    // Steps and ranges keep their meaning: */2 is Sun, Tue, Thu, Sat (was rewritten to */3).
    ["0 3 * * */2", "cron(0 3 ? * 1,3,5,7 *)"],
    ["0 3 * * 5-7", "cron(0 3 ? * 1,6,7 *)"],
    ["0 3 * * 0-6", "cron(0 3 * * ? *)"],
    ["0 3 */10 * *", "cron(0 3 1,11,21,31 * ? *)"],
    ["0 3 1 */3 *", "cron(0 3 1 1,4,7,10 ? *)"],
    ["0 * * * *", "cron(0 * * * ? *)"],
  ];
  for (const [cron, aws] of cases) it(`${cron} -> ${aws}`, () => assert.equal(awsCron(cron), aws));
  it("refuses what AWS cannot express", () => {
    assert.throws(() => awsCron("0 3 1 * 1"), /both day of month and day of week/);
    assert.throws(() => awsCron("0 3 * *"), /5-field/);
    assert.throws(() => awsCron("*/15 3 * * *"), /more than once an hour/);
    assert.throws(() => awsCron("0 3 * * 5-1"), /runs backwards/);
  });
  it("expands cron fields to the values cron runs on", () => {
    assert.deepEqual(cronFieldValues("*/2", 4), [0, 2, 4, 6]);
    assert.deepEqual(cronFieldValues("5/20", 0), [5, 25, 45]);
    assert.deepEqual(cronFieldValues("1-3,10", 1), [1, 2, 3, 10]);
  });
  it("AWS Backup only beyond RDS's 35 days", () => {
    assert.equal(needsAwsBackup(30), false);
    assert.equal(needsAwsBackup(35), false);
    assert.equal(needsAwsBackup(36), true);
  });
});
