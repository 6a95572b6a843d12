// Pure IAM policy documents. Each task family gets its own execution role whose
// only secret permission is GetSecretValue on exactly the secrets its containers
// reference: a leaked role cannot read another family's credentials.

export interface PolicyStatement {
  Sid: string;
  Effect: "Allow";
  Action: string[];
  Resource: string[];
}
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: PolicyStatement[];
}

const sortedUnique = (xs: string[]) => [...new Set(xs)].sort();

/**
 * The secret an ECS `valueFrom` points at: "arn…:secret:name-AbCdEf:password::"
 * (JSON key, stage, version) is reduced to the secret's own ARN. Anything else is
 * returned unchanged, so a policy never silently widens to a pattern.
 */
export function secretArnOf(valueFrom: string): string {
  const m = /^(arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:[^:]+)(:[^:]*:[^:]*:[^:]*)?$/.exec(valueFrom);
  return m ? m[1] : valueFrom;
}

/**
 * Inline policy of a task family's execution role: pull images, write to its own
 * log group, and read exactly the secrets its containers reference (ARNs as ECS
 * `valueFrom` holds them; JSON-key suffixes are reduced to the secret). No
 * kms:Decrypt: the secrets use the AWS-managed aws/secretsmanager key, whose key
 * policy lets Secrets Manager decrypt for any principal allowed GetSecretValue.
 */
export function executionRolePolicy(args: { secretValueFroms: string[]; logGroupArn: string }): PolicyDocument {
  const statements: PolicyStatement[] = [
    // ECR auth tokens are account-wide by design; pulls from other registries need none of this.
    {
      Sid: "PullImages",
      Effect: "Allow",
      Action: ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetAuthorizationToken", "ecr:GetDownloadUrlForLayer"],
      Resource: ["*"],
    },
    { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: [`${args.logGroupArn.replace(/:\*$/, "")}:*`] },
  ];
  const arns = sortedUnique(args.secretValueFroms.map(secretArnOf));
  if (arns.length) statements.push({ Sid: "ReadTaskSecrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: arns });
  return { Version: "2012-10-17", Statement: statements };
}

/** Every secret ARN a policy lets its holder read (tests, reviewers). */
export function readableSecretArns(doc: PolicyDocument): string[] {
  return sortedUnique(doc.Statement.filter((s) => s.Action.some((a) => a.startsWith("secretsmanager:") || a === "*")).flatMap((s) => s.Resource));
}

/** Trust policy: the AWS service may assume the role acting for this account only (confused-deputy guard). */
export function serviceAssumeRolePolicy(service: string, accountId: string): object {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: service },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
      },
    ],
  };
}

/** Assume-role policy for ECS tasks, limited to this account. */
export function ecsTasksAssumeRolePolicy(accountId: string): object {
  return serviceAssumeRolePolicy("ecs-tasks.amazonaws.com", accountId);
}

/** Static-key user of the app's object storage: this one bucket, objects and listing only. */
export function assetsBucketUserPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      { Sid: "ListAssets", Effect: "Allow", Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], Resource: [bucketArn] },
      {
        Sid: "AssetObjects",
        Effect: "Allow",
        Action: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject"],
        Resource: [`${bucketArn}/*`],
      },
    ],
  };
}

/** Task role addition for ECS Exec (break-glass shell), only when enabled in config. */
export function ecsExecPolicy(): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "EcsExec",
        Effect: "Allow",
        Action: ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"],
        Resource: ["*"],
      },
    ],
  };
}

/** AWS Backup's role trust (the database snapshots beyond RDS's 35 days). */
export function backupAssumeRolePolicy(): object {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "backup.amazonaws.com" }, Action: "sts:AssumeRole" }],
  };
}
