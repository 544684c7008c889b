/**
 * Pure: a route's least-privilege IAM policies, written by hand from the route table. Exactly
 * the route's DynamoDB actions on exactly the ARNs of the tables it uses (no `*` action, no `*`
 * resource for DynamoDB), log writes to its own log group only, X-Ray writes only when tracing.
 *
 * With sign-in the function's own role has no DynamoDB access at all: it may only start sessions
 * of its data access role, tagged with the caller's `sub`, and that role's DynamoDB actions hold
 * only where every key the request names leads with the session's tag (`dynamodb:LeadingKeys`).
 */
import type * as aws from "@pulumi/aws";
import type { Route } from "./routes";
import type { TableName } from "./tables";

export interface FunctionPolicyInputs {
  route: Route;
  /** ARN of each table, by logical name. */
  tableArns: Record<TableName, string>;
  /** ARN of the function's own log group (without the `:*` suffix). */
  logGroupArn: string;
  tracing: boolean;
  /** With sign-in: the data access role the function starts tagged sessions of, instead of DynamoDB. */
  dataAccessRoleArn?: string;
}

/** The session tag that names the owner whose partition a session may touch. */
export const OWNER_TAG = "owner";

/** What a session may start: AssumeRole with the owner tag, which needs sts:TagSession too. */
export const SESSION_ACTIONS = ["sts:AssumeRole", "sts:TagSession"];

/** Statement id of a table's DynamoDB statement, e.g. `DynamoDbItems`. */
export function tableStatementId(table: TableName): string {
  return `DynamoDb${table.charAt(0).toUpperCase()}${table.slice(1)}`;
}

/** The actions X-Ray's SDK and the Lambda runtime need to send segments (no resource-level support). */
export const XRAY_WRITE_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];

/** What the Lambda service needs to deliver the function's logs into a pre-created group. */
export const LOG_WRITE_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"];

/** The route's DynamoDB actions on its tables, each limited by `condition` when given. */
function dynamoDbStatements(
  route: Route,
  tableArns: Record<TableName, string>,
  condition?: aws.iam.PolicyStatement["Condition"],
): aws.iam.PolicyStatement[] {
  return route.dynamodb.map((access) => ({
    Sid: tableStatementId(access.table.logicalName),
    Effect: "Allow",
    Action: [...access.actions],
    Resource: [tableArns[access.table.logicalName]],
    ...(condition === undefined ? {} : { Condition: condition }),
  }));
}

export function functionPolicyDocument(inputs: FunctionPolicyInputs): aws.iam.PolicyDocument {
  const dynamoDb: aws.iam.PolicyStatement[] =
    inputs.dataAccessRoleArn === undefined
      ? dynamoDbStatements(inputs.route, inputs.tableArns)
      : [
          {
            Sid: "OwnerSessions",
            Effect: "Allow",
            Action: [...SESSION_ACTIONS],
            Resource: [inputs.dataAccessRoleArn],
          },
        ];
  const logs: aws.iam.PolicyStatement = {
    Sid: "OwnLogGroup",
    Effect: "Allow",
    Action: [...LOG_WRITE_ACTIONS],
    // Both actions authorize against log streams (`log-group:NAME:log-stream:STREAM`), and only
    // this function's group: no CreateLogGroup (the group is pre-created), no other group.
    Resource: [`${inputs.logGroupArn}:log-stream:*`],
  };
  const xray: aws.iam.PolicyStatement[] = inputs.tracing
    ? [{ Sid: "XRayWrite", Effect: "Allow", Action: [...XRAY_WRITE_ACTIONS], Resource: ["*"] }]
    : [];
  return { Version: "2012-10-17", Statement: [...dynamoDb, logs, ...xray] };
}

/** Trust policy of a role that only the Lambda service can assume. */
export const LAMBDA_ASSUME_ROLE_POLICY: aws.iam.PolicyDocument = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
};

/**
 * The data access role's policy: the route's DynamoDB actions, only on keys that lead with the
 * session's owner tag. `ForAllValues:StringEquals` on `dynamodb:LeadingKeys` is the form the
 * DynamoDB Developer Guide requires ("Using IAM policy conditions for fine-grained access
 * control": "you must use the ForAllValues modifier when using LeadingKeys"); since ForAllValues
 * also holds for a request that names no key at all (IAM User Guide, "Multivalued context keys":
 * "returns true if there are no keys in the request"), the `Null` condition requires the key to be
 * present, and no route may name Scan (infra/routes.ts `DynamoDbAction`). A session without the
 * tag matches nothing: a missing principal tag never equals a value (IAM User Guide, "Policy
 * variables").
 */
export function dataAccessPolicyDocument(route: Route, tableArns: Record<TableName, string>): aws.iam.PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: dynamoDbStatements(route, tableArns, {
      "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [`\${aws:PrincipalTag/${OWNER_TAG}}`] },
      Null: { "dynamodb:LeadingKeys": "false" },
    }),
  };
}

/**
 * Trust policy of a data access role: only its function's role may start sessions, and only
 * sessions tagged with the owner and nothing else (the trust policy must allow sts:TagSession for
 * the tags to be set: IAM User Guide, "Passing session tags in AWS STS").
 */
export function dataAccessTrustPolicy(functionRoleArn: string): aws.iam.PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: functionRoleArn },
        Action: [...SESSION_ACTIONS],
        Condition: {
          Null: { [`aws:RequestTag/${OWNER_TAG}`]: "false" },
          "ForAllValues:StringEquals": { "aws:TagKeys": [OWNER_TAG] },
        },
      },
    ],
  };
}
