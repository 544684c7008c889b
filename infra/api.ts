/**
 * The REST API: `aws.apigateway.RestApi` whose body is the OpenAPI document with API Gateway's
 * extensions, a Deployment keyed on that body's hash, a Stage with JSON access logs, execution
 * logs, throttling and tracing, one Lambda permission per route, and, when the stack asks for
 * them, an API key with a usage plan. Plain @pulumi/aws resources only, so mocks see them all.
 */
import { createHash } from "crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { describeFindings, importRestApi } from "./apigateway-import";
import { permissionPath, restApiBody } from "./apigateway-openapi";
import type { Settings } from "./config";
import type { RouteFunction } from "./functions";
import { Route, methodsOf, operationIdOf } from "./routes";

export interface ItemsRestApiArgs {
  /** Physical API name, e.g. `items-api-prod`. */
  apiName: string;
  stageName: string;
  routes: readonly Route[];
  /** The route functions, by operationId. */
  functions: Record<string, RouteFunction>;
  settings: Pick<
    Settings,
    | "corsAllowedOrigins"
    | "apiKeys"
    | "signIn"
    | "throttle"
    | "tracing"
    | "logRetentionDays"
    | "manageApiGatewayAccount"
  >;
  /** With sign-in: the user pool the Cognito authorizer trusts. */
  userPoolArn?: pulumi.Input<string>;
}

/**
 * The access log line: one JSON object per request, each field a `$context` variable in quotes.
 * API Gateway substitutes access-log variables as they are, unescaped, and writes `-` for a
 * variable that has no value in a request (no integration, no API key, no error: seen in AWS's
 * own logs, e.g. `"caller": "-"` in ministryofjustice/modernisation-platform-environments#3807);
 * so every value is quoted, and only variables that cannot hold a quote or a backslash are used
 * ("Variables for access logging for API Gateway",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-access-logging.html):
 * ids AWS makes (a client's `x-amzn-RequestId` that is not a UUID is logged as
 * `UUID_REPLACED_INVALID_REQUEST_ID`, "Access logging for REST APIs"), the source IP, the
 * method (DELETE, GET, HEAD, OPTIONS, PATCH, POST or PUT), the document's resource paths,
 * numbers, the CLF time, the gateway response type and the X-Ray trace header. Left out on
 * purpose: the request path and user agent (the client's text), and the error message
 * (`$context.error.message` can echo request text; `messageString` is quoted by AWS when there is
 * a message, but a bare `-` when there is none). The gateway response type says which error it
 * was; the function's own log line (handlers) has the path.
 */
export const ACCESS_LOG_FIELDS: Record<string, string> = {
  requestId: "$context.requestId",
  extendedRequestId: "$context.extendedRequestId",
  ip: "$context.identity.sourceIp",
  apiKeyId: "$context.identity.apiKeyId",
  requestTime: "$context.requestTime",
  httpMethod: "$context.httpMethod",
  resourcePath: "$context.resourcePath",
  status: "$context.status",
  protocol: "$context.protocol",
  responseLength: "$context.responseLength",
  responseLatency: "$context.responseLatency",
  integrationLatency: "$context.integrationLatency",
  integrationStatus: "$context.integrationStatus",
  errorType: "$context.error.responseType",
  xrayTraceId: "$context.xrayTraceId",
};

export const ACCESS_LOG_FORMAT = JSON.stringify(ACCESS_LOG_FIELDS);

/** The managed policy AWS provides for API Gateway's account-level logging role (not FullAccess). */
export const API_GATEWAY_CLOUDWATCH_POLICY_ARN =
  "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs";

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

export class ItemsRestApi extends pulumi.ComponentResource {
  readonly restApi: aws.apigateway.RestApi;
  /** The document deployed as the REST API's body (JSON). */
  readonly body: pulumi.Output<string>;
  readonly deployment: aws.apigateway.Deployment;
  readonly stage: aws.apigateway.Stage;
  readonly accessLogGroup: aws.cloudwatch.LogGroup;
  readonly executionLogGroup: aws.cloudwatch.LogGroup;
  readonly methodSettings: aws.apigateway.MethodSettings;
  readonly permissions: Record<string, aws.lambda.Permission>;
  readonly account: aws.apigateway.Account | undefined;
  readonly apiKey: aws.apigateway.ApiKey | undefined;
  readonly usagePlan: aws.apigateway.UsagePlan | undefined;
  /** Base URL of the stage, ending with `/`. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: ItemsRestApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super("items-api:api:RestApi", name, {}, opts);
    this.account = args.settings.manageApiGatewayAccount ? this.createAccount(name) : undefined;
    this.body = this.createBody(args);
    this.restApi = new aws.apigateway.RestApi(
      name,
      {
        name: args.apiName,
        description: "Items API (see openApiDocument)",
        body: this.body,
        endpointConfiguration: { types: "REGIONAL" },
        apiKeySource: args.settings.apiKeys.required ? "HEADER" : undefined,
        // Import warnings (keywords a model ignores) must not fail the deployment.
        failOnWarnings: false,
      },
      { parent: this },
    );
    this.deployment = new aws.apigateway.Deployment(
      `${name}-deployment`,
      {
        restApi: this.restApi.id,
        description: "Items API deployment",
        // A new deployment exactly when the deployed document changes.
        triggers: { documentSha256: this.body.apply(sha256) },
      },
      { parent: this },
    );
    this.accessLogGroup = new aws.cloudwatch.LogGroup(
      `${name}-access-logs`,
      {
        name: `/aws/apigateway/${args.apiName}/${args.stageName}/access`,
        retentionInDays: args.settings.logRetentionDays,
      },
      { parent: this },
    );
    // API Gateway writes execution logs to this fixed name; created here so it has a retention.
    this.executionLogGroup = new aws.cloudwatch.LogGroup(
      `${name}-execution-logs`,
      {
        name: pulumi.interpolate`API-Gateway-Execution-Logs_${this.restApi.id}/${args.stageName}`,
        retentionInDays: args.settings.logRetentionDays,
      },
      { parent: this },
    );
    this.stage = new aws.apigateway.Stage(
      `${name}-stage`,
      {
        restApi: this.restApi.id,
        deployment: this.deployment.id,
        stageName: args.stageName,
        xrayTracingEnabled: args.settings.tracing,
        accessLogSettings: { destinationArn: this.accessLogGroup.arn, format: ACCESS_LOG_FORMAT },
      },
      { parent: this, dependsOn: [this.executionLogGroup, ...(this.account === undefined ? [] : [this.account])] },
    );
    this.methodSettings = new aws.apigateway.MethodSettings(
      `${name}-method-settings`,
      {
        restApi: this.restApi.id,
        stageName: this.stage.stageName,
        methodPath: "*/*",
        settings: {
          throttlingRateLimit: args.settings.throttle.rateLimit,
          throttlingBurstLimit: args.settings.throttle.burstLimit,
          metricsEnabled: true,
          // Errors only: INFO would log request details; bodies are never logged.
          loggingLevel: "ERROR",
          dataTraceEnabled: false,
        },
      },
      { parent: this },
    );
    this.permissions = this.createPermissions(name, args);
    if (args.settings.apiKeys.required) {
      const { apiKey, usagePlan } = this.createApiKey(name, args);
      this.apiKey = apiKey;
      this.usagePlan = usagePlan;
    }
    this.url = pulumi.interpolate`${this.stage.invokeUrl}/`;
    this.registerOutputs({ url: this.url, restApiId: this.restApi.id });
  }

  /**
   * The body: the stack's document with API Gateway's extensions, checked under AWS's import
   * rules first, so a body that relies on what API Gateway ignores or drops stops the program
   * instead of deploying an API that answers differently from the local runtime.
   */
  private createBody(args: ItemsRestApiArgs): pulumi.Output<string> {
    const invokeArns = Object.fromEntries(
      Object.entries(args.functions).map(([operationId, routeFunction]) => [
        operationId,
        routeFunction.function.invokeArn,
      ]),
    );
    return pulumi.all([pulumi.all(invokeArns), args.userPoolArn]).apply(([arns, userPoolArn]) => {
      const body = restApiBody(args.settings, args.routes, arns, userPoolArn);
      const { findings } = importRestApi(body);
      if (findings.length > 0) {
        throw new pulumi.ResourceError(
          `the REST API body relies on what API Gateway ignores or drops:\n${describeFindings(findings)}`,
          this,
        );
      }
      return JSON.stringify(body);
    });
  }

  /**
   * One permission per route and method (HEAD reaches the GET route's function), scoped to that
   * method and path on any stage of this API. Keyed by the operation's id.
   */
  private createPermissions(name: string, args: ItemsRestApiArgs): Record<string, aws.lambda.Permission> {
    return Object.fromEntries(
      args.routes.flatMap((route) => {
        const routeFunction = args.functions[route.operationId];
        if (routeFunction === undefined) {
          throw new pulumi.ResourceError(`no function for route ${route.operationId}`, this);
        }
        return methodsOf(route).map((method) => {
          const operationId = operationIdOf(route, method);
          const permission = new aws.lambda.Permission(
            `${name}-${operationId}-permission`,
            {
              action: "lambda:InvokeFunction",
              function: routeFunction.function.name,
              principal: "apigateway.amazonaws.com",
              sourceArn: pulumi.interpolate`${this.restApi.executionArn}/*/${method}${permissionPath(route.path)}`,
            },
            { parent: this },
          );
          return [operationId, permission] as const;
        });
      }),
    );
  }

  private createApiKey(
    name: string,
    args: ItemsRestApiArgs,
  ): { apiKey: aws.apigateway.ApiKey; usagePlan: aws.apigateway.UsagePlan } {
    const limits = args.settings.apiKeys;
    const apiKey = new aws.apigateway.ApiKey(
      `${name}-key`,
      {
        name: `${args.apiName}-default`,
        description: "Default key of the Items API (value generated by API Gateway)",
        enabled: true,
      },
      { parent: this },
    );
    const usagePlan = new aws.apigateway.UsagePlan(
      `${name}-usage-plan`,
      {
        name: `${args.apiName}-default`,
        apiStages: [{ apiId: this.restApi.id, stage: this.stage.stageName }],
        quotaSettings: { limit: limits.quotaPerDay, period: "DAY" },
        throttleSettings: { rateLimit: limits.rateLimit, burstLimit: limits.burstLimit },
      },
      { parent: this },
    );
    new aws.apigateway.UsagePlanKey(
      `${name}-usage-plan-key`,
      { keyId: apiKey.id, keyType: "API_KEY", usagePlanId: usagePlan.id },
      { parent: this },
    );
    return { apiKey, usagePlan };
  }

  /**
   * API Gateway's account-level CloudWatch role, one per account and region, shared by every
   * stage there. All three resources are kept on destroy (`retainOnDelete`): @pulumi/aws 7 wraps
   * terraform-provider-aws 6, whose Account delete resets the region's `cloudwatchRoleArn`
   * (internal/service/apigateway/account.go), which would stop the logging of every other stage
   * in the account; and the role must outlive the setting that names it. (AWS CDK retains both
   * by default for the same reason.)
   */
  private createAccount(name: string): aws.apigateway.Account {
    const outlivesStack = { parent: this, retainOnDelete: true };
    const role = new aws.iam.Role(
      `${name}-cloudwatch-role`,
      {
        description: "Lets API Gateway write access and execution logs (account-wide setting)",
        assumeRolePolicy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" },
          ],
        }),
      },
      outlivesStack,
    );
    const attachment = new aws.iam.RolePolicyAttachment(
      `${name}-cloudwatch-role-policy`,
      { role: role.name, policyArn: API_GATEWAY_CLOUDWATCH_POLICY_ARN },
      outlivesStack,
    );
    return new aws.apigateway.Account(
      `${name}-account`,
      { cloudwatchRoleArn: role.arn },
      { ...outlivesStack, dependsOn: [attachment] },
    );
  }
}
