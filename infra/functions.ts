/**
 * One Lambda function per route: its log group (created first, retention from config), its
 * role with one hand-written inline policy, and the `CallbackFunction` that serializes the
 * route's handler factory. Settings reach the handler as environment variables only: nothing
 * from config or from other resources is captured in the serialized closure.
 */
import { createHash } from "crypto";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { LOG_LINE_LEVELS } from "../handlers/logger";
import { HANDLER_VARIABLES, LogLevel } from "../handlers/env";
import type { Settings } from "./config";
import {
  LAMBDA_ASSUME_ROLE_POLICY,
  dataAccessPolicyDocument,
  dataAccessTrustPolicy,
  functionPolicyDocument,
} from "./policies";
import type { Route } from "./routes";
import type { TableName } from "./tables";

/**
 * Packages the archive leaves out because the `nodejs22.x` runtime provides them (AWS SDK v3),
 * unless the stack sets `bundleAwsSdk`. Shipping them adds about 3,300 files (7.8 MB, 2.8 MB
 * zipped) to every function and, measured by `npm run bench`, buys no faster init; the handlers
 * use only long-stable SDK APIs (DynamoDBClient options, DynamoDBDocumentClient.from,
 * Get/Put/Update/Delete/Query commands, STS AssumeRole). `bundleAwsSdk: true` pins the SDK
 * version instead. The Lambda Developer Guide says the Node.js runtimes include the AWS SDK for
 * JavaScript v3, not which clients; the nodejs18.x image held all of them (419 @aws-sdk
 * packages, client-sts among them), and `bundleAwsSdk` is the way out should one be missing.
 */
export const RUNTIME_PROVIDED_PACKAGES: readonly string[] = [
  "@aws-sdk/client-dynamodb",
  "@aws-sdk/lib-dynamodb",
  "@aws-sdk/client-sts",
];

export const LAMBDA_RUNTIME = "nodejs22.x";

/**
 * Lambda's log-level filtering from the stack's `logLevel` (Lambda Developer Guide, "Log-level
 * filtering", https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
 * Application logs: the level the handlers' lines name (handlers/logger.ts), so Lambda keeps
 * exactly the lines the handler writes at that level. System logs (START, END, REPORT and the
 * platform's errors) take DEBUG, INFO or WARN only: `error` keeps WARN, the most it filters.
 * Without `applicationLogLevel`, a JSON-format function is filtered at INFO whatever it logs.
 */
export function lambdaLogLevels(logLevel: LogLevel): {
  applicationLogLevel: string;
  systemLogLevel: "DEBUG" | "INFO" | "WARN";
} {
  const applicationLogLevel = LOG_LINE_LEVELS[logLevel];
  return { applicationLogLevel, systemLogLevel: applicationLogLevel === "ERROR" ? "WARN" : applicationLogLevel };
}

/**
 * Cursor HMAC key when the stack sets no `cursorSecret`: derived from the stack and the items
 * table's ARN, so it is stable across deployments, differs between stacks and tables (a cursor
 * from another stack is refused), and needs no extra provider. It is not a secret (anyone who
 * knows the stack and ARN can compute it); a forged cursor can only choose where a Scan starts,
 * which reveals nothing a client cannot list anyway. Set `cursorSecret` for unforgeable cursors.
 */
export function deriveCursorSecret(stack: string, itemsTableArn: string): string {
  return createHash("sha256").update(`items-api/cursor/v1/${stack}/${itemsTableArn}`).digest("hex");
}

export interface RouteFunctionArgs {
  route: Route;
  /** Physical function name, e.g. `items-api-prod-getItem`; the log group is `/aws/lambda/<name>`. */
  functionName: string;
  tables: Record<TableName, aws.dynamodb.Table>;
  /** Environment variables (handlers/env.ts `handlerEnvironment`). */
  environment: Record<string, pulumi.Input<string>>;
  settings: Pick<Settings, "logRetentionDays" | "logLevel" | "lambda" | "tracing">;
  /**
   * With sign-in: the function reaches DynamoDB through sessions of a data access role of its
   * own, tagged with the caller (infra/policies.ts); its own role has no DynamoDB access.
   */
  ownerSessions?: boolean;
}

export class RouteFunction extends pulumi.ComponentResource {
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly role: aws.iam.Role;
  readonly policy: aws.iam.RolePolicy;
  readonly function: aws.lambda.CallbackFunction<APIGatewayProxyEvent, APIGatewayProxyResult>;
  readonly route: Route;
  /** With sign-in: the role whose owner-tagged sessions reach DynamoDB, and its policy. */
  readonly dataAccess: { role: aws.iam.Role; policy: aws.iam.RolePolicy } | undefined;

  constructor(name: string, args: RouteFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:lambda:RouteFunction", name, {}, opts);
    this.route = args.route;
    this.logGroup = this.createLogGroup(name, args);
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        description: `Runs the ${args.route.operationId} Lambda function (${args.route.method} ${args.route.path})`,
        assumeRolePolicy: pulumi.jsonStringify(LAMBDA_ASSUME_ROLE_POLICY),
      },
      { parent: this },
    );
    this.dataAccess = args.ownerSessions === true ? this.createDataAccess(name, args) : undefined;
    this.policy = this.createPolicy(name, args);
    this.function = this.createFunction(name, args);
    this.registerOutputs({ functionName: this.function.name, logGroupName: this.logGroup.name });
  }

  private createLogGroup(name: string, args: RouteFunctionArgs): aws.cloudwatch.LogGroup {
    return new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: `/aws/lambda/${args.functionName}`, retentionInDays: args.settings.logRetentionDays },
      { parent: this },
    );
  }

  private tableArns(args: RouteFunctionArgs): pulumi.Output<Record<TableName, string>> {
    return pulumi.all(
      Object.fromEntries(Object.entries(args.tables).map(([key, table]) => [key, table.arn])),
    ) as pulumi.Output<Record<TableName, string>>;
  }

  private createDataAccess(name: string, args: RouteFunctionArgs): { role: aws.iam.Role; policy: aws.iam.RolePolicy } {
    const role = new aws.iam.Role(
      `${name}-data-role`,
      {
        description: `Sessions of the ${args.route.operationId} function, each limited to its owner's partition`,
        assumeRolePolicy: pulumi.jsonStringify(this.role.arn.apply(dataAccessTrustPolicy)),
      },
      { parent: this },
    );
    const policy = new aws.iam.RolePolicy(
      `${name}-data-policy`,
      {
        role: role.id,
        policy: pulumi.jsonStringify(this.tableArns(args).apply((arns) => dataAccessPolicyDocument(args.route, arns))),
      },
      { parent: this },
    );
    return { role, policy };
  }

  private createPolicy(name: string, args: RouteFunctionArgs): aws.iam.RolePolicy {
    const document = pulumi
      .all([this.tableArns(args), this.logGroup.arn, this.dataAccess?.role.arn])
      .apply(([tableArns, logGroupArn, dataAccessRoleArn]) =>
        functionPolicyDocument({
          route: args.route,
          tableArns,
          logGroupArn,
          tracing: args.settings.tracing,
          dataAccessRoleArn,
        }),
      );
    return new aws.iam.RolePolicy(
      `${name}-policy`,
      { role: this.role.id, policy: pulumi.jsonStringify(document) },
      { parent: this },
    );
  }

  private createFunction(
    name: string,
    args: RouteFunctionArgs,
  ): aws.lambda.CallbackFunction<APIGatewayProxyEvent, APIGatewayProxyResult> {
    const lambda = args.settings.lambda;
    return new aws.lambda.CallbackFunction(
      `${name}-function`,
      {
        name: args.functionName,
        description: `${args.route.operationId}: ${args.route.method} ${args.route.path}`,
        callbackFactory: args.route.handlerFactory,
        role: this.role,
        runtime: LAMBDA_RUNTIME,
        architectures: [lambda.architecture],
        memorySize: lambda.memoryMb,
        reservedConcurrentExecutions: lambda.reservedConcurrency,
        timeout: lambda.timeoutSeconds,
        environment: {
          variables:
            this.dataAccess === undefined
              ? args.environment
              : { ...args.environment, [HANDLER_VARIABLES.dataAccessRoleArn]: this.dataAccess.role.arn },
        },
        loggingConfig: { logFormat: "JSON", logGroup: this.logGroup.name, ...lambdaLogLevels(args.settings.logLevel) },
        tracingConfig: { mode: args.settings.tracing ? "Active" : "PassThrough" },
        // A fresh object per function: CallbackFunction appends to the list it is given.
        codePathOptions: { extraExcludePackages: lambda.bundleAwsSdk ? [] : [...RUNTIME_PROVIDED_PACKAGES] },
      },
      // The policies must exist before the first invocation tries to write logs or read the table.
      // A fixed name cannot be created before the old function is deleted.
      {
        parent: this,
        dependsOn: [this.policy, ...(this.dataAccess === undefined ? [] : [this.dataAccess.policy])],
        deleteBeforeReplace: true,
      },
    );
  }
}
