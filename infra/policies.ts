/**
 * Pure: a route's least-privilege IAM policy, written by hand from the route table. Exactly
 * the route's DynamoDB actions on exactly the ARNs of the tables it uses (no `*` action, no `*`
 * resource for DynamoDB), log writes to its own log group only, X-Ray writes only when tracing.
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
}

/** Statement id of a table's DynamoDB statement, e.g. `DynamoDbItems`. */
export function tableStatementId(table: TableName): string {
  return `DynamoDb${table.charAt(0).toUpperCase()}${table.slice(1)}`;
}

/** The actions X-Ray's SDK and the Lambda runtime need to send segments (no resource-level support). */
export const XRAY_WRITE_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];

/** What the Lambda service needs to deliver the function's logs into a pre-created group. */
export const LOG_WRITE_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"];

export function functionPolicyDocument(inputs: FunctionPolicyInputs): aws.iam.PolicyDocument {
  const dynamoDb: aws.iam.PolicyStatement[] = inputs.route.dynamodb.map((access) => ({
    Sid: tableStatementId(access.table.logicalName),
    Effect: "Allow",
    Action: [...access.actions],
    Resource: [inputs.tableArns[access.table.logicalName]],
  }));
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
