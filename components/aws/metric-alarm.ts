// One CloudWatch alarm from a pure spec (alarms.ts, dump.ts, uploads-backup.ts), named
// `alarm-<name>`, raising and clearing through one SNS topic: every alarm of the target
// is declared here, so they all mail the operator the same way.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { cloudName } from "../../core/naming";
import { AlarmSpec } from "./alarms";

/** An alarm spec whose metric may have no dimensions (a log metric filter's, say). */
export type MetricAlarmSpec = Omit<AlarmSpec<pulumi.Input<string>>, "dimensions"> & { dimensions?: Record<string, pulumi.Input<string>> };

/** `quiet`: the alarm still changes state (visible in the console) but notifies nobody. */
export function metricAlarm(s: MetricAlarmSpec, topicArn: pulumi.Input<string>, opts: pulumi.CustomResourceOptions, quiet = false): aws.cloudwatch.MetricAlarm {
  return new aws.cloudwatch.MetricAlarm(
    `alarm-${s.name}`,
    {
      name: cloudName(s.name, 255),
      alarmDescription: s.description,
      namespace: s.namespace,
      metricName: s.metricName,
      ...(s.dimensions ? { dimensions: s.dimensions } : {}),
      statistic: s.statistic,
      period: s.period,
      evaluationPeriods: s.evaluationPeriods,
      threshold: s.threshold,
      comparisonOperator: s.comparisonOperator,
      treatMissingData: s.treatMissingData,
      alarmActions: [topicArn],
      okActions: [topicArn],
      ...(quiet ? { actionsEnabled: false } : {}),
    },
    opts,
  );
}
