/**
 * The real `index.ts` under Pulumi mocks, once per stack with that stack's own YAML config
 * (README, "Deploy to AWS" and "Tests"): every resource the program registers, with exact inputs.
 */
import { createHash } from "crypto";
import { expect } from "chai";
import { buildOpenApiDocument, documentOptionsOf } from "../../infra/openapi";
import { startLocalApi } from "../../local/server";
import { readStackSettings } from "../../local/stack-settings";
import {
  DEV_OPTIONS_RUN,
  ProgramRequest,
  ProgramSnapshot,
  programSnapshot,
  RegisteredResource,
  resourceOf,
  resourcesOfType,
  stackSnapshot,
} from "../support/program-snapshot";
import { EXPECTED_DYNAMODB_ACTIONS, ROUTES } from "./expectations";
import { startInfraPrograms } from "./programs";

const STACKS = ["dev", "prod"] as const;
type Stack = (typeof STACKS)[number];
const ACCOUNT = "123456789012";
const REGION = "us-east-1";
/**
 * Lambda's log-level filtering per stack, from its `logLevel` (dev debug, prod info): application
 * levels as Lambda names them, system levels DEBUG, INFO or WARN ("Log-level filtering",
 * https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
 */
const LAMBDA_LOG_LEVELS: Record<Stack, { applicationLogLevel: string; systemLogLevel: string }> = {
  dev: { applicationLogLevel: "DEBUG", systemLogLevel: "DEBUG" },
  prod: { applicationLogLevel: "INFO", systemLogLevel: "INFO" },
};
/** The DynamoDB operations (metric `Operation` dimension) the routes perform, per table. */
const TABLE_OPERATIONS = {
  items: ["DeleteItem", "GetItem", "PutItem", "Query", "UpdateItem"],
  idempotency: ["GetItem", "PutItem", "UpdateItem"],
};

/** Resources per type, per stack: each manages the account's API Gateway role, prod has keys and e-mail. */
const EXPECTED_COUNTS: Record<Stack, Record<string, number>> = {
  dev: {
    "aws:dynamodb/table:Table": 2,
    "aws:cloudwatch/logGroup:LogGroup": 8,
    "aws:iam/role:Role": 13,
    "aws:iam/rolePolicy:RolePolicy": 12,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 1,
    "aws:lambda/function:Function": 6,
    "aws:lambda/permission:Permission": 8,
    "aws:apigateway/restApi:RestApi": 1,
    "aws:apigateway/deployment:Deployment": 1,
    "aws:apigateway/stage:Stage": 1,
    "aws:apigateway/methodSettings:MethodSettings": 1,
    "aws:apigateway/account:Account": 1,
    "aws:sns/topic:Topic": 1,
    "aws:cloudwatch/dashboard:Dashboard": 1,
    "aws:cloudwatch/metricAlarm:MetricAlarm": 18,
    "aws:cognito/userPool:UserPool": 1,
    "aws:cognito/userPoolClient:UserPoolClient": 1,
    "items-api:auth:UserPoolSignIn": 1,
    "items-api:data:Tables": 1,
    "items-api:lambda:RouteFunction": 6,
    "items-api:api:RestApi": 1,
    "items-api:monitoring:Alarms": 1,
  },
  prod: {
    "aws:dynamodb/table:Table": 2,
    "aws:cloudwatch/logGroup:LogGroup": 8,
    "aws:iam/role:Role": 13,
    "aws:iam/rolePolicy:RolePolicy": 12,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 1,
    "aws:lambda/function:Function": 6,
    "aws:lambda/permission:Permission": 8,
    "aws:apigateway/restApi:RestApi": 1,
    "aws:apigateway/deployment:Deployment": 1,
    "aws:apigateway/stage:Stage": 1,
    "aws:apigateway/methodSettings:MethodSettings": 1,
    "aws:apigateway/account:Account": 1,
    "aws:apigateway/apiKey:ApiKey": 1,
    "aws:apigateway/usagePlan:UsagePlan": 1,
    "aws:apigateway/usagePlanKey:UsagePlanKey": 1,
    "aws:sns/topic:Topic": 1,
    "aws:cloudwatch/dashboard:Dashboard": 1,
    "aws:sns/topicSubscription:TopicSubscription": 1,
    "aws:cloudwatch/metricAlarm:MetricAlarm": 18,
    "aws:cognito/userPool:UserPool": 1,
    "aws:cognito/userPoolClient:UserPoolClient": 1,
    "items-api:auth:UserPoolSignIn": 1,
    "items-api:data:Tables": 1,
    "items-api:lambda:RouteFunction": 6,
    "items-api:api:RestApi": 1,
    "items-api:monitoring:Alarms": 1,
  },
};

function countByType(snapshot: ProgramSnapshot): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const resource of snapshot.resources) {
    counts[resource.type] = (counts[resource.type] ?? 0) + 1;
  }
  return counts;
}

function functionOf(snapshot: ProgramSnapshot, operationId: string): RegisteredResource {
  return resourceOf(snapshot, `${operationId}-function`);
}

function tableNamed(snapshot: ProgramSnapshot, logicalName: "items" | "idempotency"): RegisteredResource {
  return resourceOf(snapshot, `${logicalName}`);
}

function parseJson(text: unknown): Record<string, unknown> {
  expect(text).to.be.a("string");
  return JSON.parse(String(text)) as Record<string, unknown>;
}

describe("infra: index.ts under Pulumi mocks", function () {
  this.timeout(120000);
  // Start every program run of the infra suite at once, when (and only if) it runs.
  before(startInfraPrograms);

  before(async () => {
    // Both stacks' child processes run at once; each test then reads its memoized snapshot.
    await Promise.all(STACKS.map((stack) => stackSnapshot(stack)));
  });

  it("has different, real settings per stack (prod: PITR, protection, keys, no wildcard CORS, longer retention, tighter throttling)", () => {
    const dev = readStackSettings("dev");
    const prod = readStackSettings("prod");
    expect([dev.pointInTimeRecovery, dev.deletionProtection, dev.apiKeys.required]).to.deep.equal([
      false,
      false,
      false,
    ]);
    expect([prod.pointInTimeRecovery, prod.deletionProtection, prod.apiKeys.required]).to.deep.equal([
      true,
      true,
      true,
    ]);
    expect(dev.corsAllowedOrigins).to.deep.equal(["*"]);
    expect(prod.corsAllowedOrigins).to.deep.equal(["https://app.example.com"]);
    expect(prod.logRetentionDays).to.be.greaterThan(dev.logRetentionDays);
    expect(prod.throttle.rateLimit).to.be.lessThan(dev.throttle.rateLimit);
    expect(prod.throttle.burstLimit).to.be.lessThan(dev.throttle.burstLimit);
  });

  it("redeploys exactly when the deployed document changes: same document, same trigger; another, another", async () => {
    const trigger = async (request: ProgramRequest) =>
      resourceOf(await programSnapshot(request), "deployment").inputs.triggers;
    const dev = await trigger({ stack: "dev" });
    // Settings the document does not depend on (bundleAwsSdk, the cursor secret) leave it alone.
    expect(await trigger(DEV_OPTIONS_RUN)).to.deep.equal(dev);
    expect(await trigger({ stack: "prod" })).to.not.deep.equal(dev);
  });

  for (const stack of STACKS) {
    describe(`${stack} stack`, () => {
      const settings = readStackSettings(stack);
      const prefix = `items-api-${stack}`;
      let snapshot: ProgramSnapshot;
      before(async () => {
        snapshot = await stackSnapshot(stack);
      });

      it("registers exactly the expected resources, each under a component", () => {
        expect(snapshot.project).to.equal("items-api");
        expect(countByType(snapshot)).to.deep.equal(EXPECTED_COUNTS[stack]);
        for (const resource of snapshot.resources.filter((candidate) => candidate.custom)) {
          // urn:pulumi:<stack>::items-api::<parent type>$<type>::<name>
          expect(resource.urn, resource.name).to.match(
            new RegExp(`^urn:pulumi:${stack}::items-api::items-api:[a-z]+:[A-Za-z]+\\$`),
          );
        }
      });

      it("creates both tables on demand keyed by owner and id, SSE, PITR and deletion protection from config", () => {
        for (const logicalName of ["items", "idempotency"] as const) {
          const table = tableNamed(snapshot, logicalName);
          expect(table.inputs).to.deep.include({
            billingMode: "PAY_PER_REQUEST",
            hashKey: "owner",
            rangeKey: "id",
            attributes: [
              { name: "owner", type: "S" },
              { name: "id", type: "S" },
            ],
            serverSideEncryption: { enabled: true },
            pointInTimeRecovery: { enabled: settings.pointInTimeRecovery },
            deletionProtectionEnabled: settings.deletionProtection,
          });
          expect(table.inputs.ttl).to.deep.equal(
            logicalName === "idempotency" ? { attributeName: "expiresAt", enabled: true } : undefined,
          );
        }
      });

      it("creates one log group per function and two for the stage, all with the configured retention", () => {
        const logGroups = resourcesOfType(snapshot, "aws:cloudwatch/logGroup:LogGroup");
        const restApiId = resourceOf(snapshot).id;
        expect(
          Object.fromEntries(logGroups.map((group) => [group.inputs.name, group.inputs.retentionInDays])),
        ).to.deep.equal({
          ...Object.fromEntries(
            ROUTES.map((route) => [`/aws/lambda/${prefix}-${route.operationId}`, settings.logRetentionDays]),
          ),
          [`/aws/apigateway/${prefix}/${stack}/access`]: settings.logRetentionDays,
          [`API-Gateway-Execution-Logs_${restApiId}/${stack}`]: settings.logRetentionDays,
        });
      });

      for (const route of ROUTES) {
        describe(route.operationId, () => {
          it("is a nodejs22.x CallbackFunction with its own role, settings as environment variables and JSON logs", () => {
            const fn = functionOf(snapshot, route.operationId);
            const role = resourceOf(snapshot, `${route.operationId}-role`);
            const items = tableNamed(snapshot, "items");
            const idempotency = tableNamed(snapshot, "idempotency");
            const expectedSecret = createHash("sha256")
              .update(`items-api/cursor/v1/${stack}/${String(items.state.arn)}`)
              .digest("hex");
            expect(fn.inputs).to.deep.include({
              name: `${prefix}-${route.operationId}`,
              description: `${route.operationId}: ${route.method} ${route.path}`,
              runtime: "nodejs22.x",
              handler: "__index.handler",
              role: role.state.arn,
              architectures: [settings.lambda.architecture],
              memorySize: settings.lambda.memoryMb,
              timeout: settings.lambda.timeoutSeconds,
              loggingConfig: {
                logFormat: "JSON",
                logGroup: `/aws/lambda/${prefix}-${route.operationId}`,
                ...LAMBDA_LOG_LEVELS[stack],
              },
              tracingConfig: { mode: settings.tracing ? "Active" : "PassThrough" },
            });
            expect(fn.inputs.timeout).to.be.below(29);
            expect(fn.inputs.reservedConcurrentExecutions).to.equal(settings.lambda.reservedConcurrency);
            expect(fn.inputs.environment).to.deep.equal({
              variables: {
                TABLE_NAME: items.state.name,
                IDEMPOTENCY_TABLE_NAME: idempotency.state.name,
                CURSOR_SECRET: expectedSecret,
                CORS_ALLOWED_ORIGINS: settings.corsAllowedOrigins.join(","),
                DYNAMODB_MAX_ATTEMPTS: "3",
                DYNAMODB_REQUEST_TIMEOUT_MS: "2000",
                LOG_LEVEL: settings.logLevel,
                SIGN_IN: "cognito",
                COGNITO_CLIENT_IDS: resourceOf(snapshot, "app").id,
                DATA_ACCESS_ROLE_ARN: resourceOf(snapshot, `${route.operationId}-data-role`).state.arn,
              },
            });
            expect(fn.secretPaths).to.deep.equal([]);
          });

          it("has a role only Lambda can assume, with exactly one hand-written inline policy and nothing attached", () => {
            const role = resourceOf(snapshot, `${route.operationId}-role`);
            expect(parseJson(role.inputs.assumeRolePolicy)).to.deep.equal({
              Version: "2012-10-17",
              Statement: [
                { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
              ],
            });
            expect(role.inputs.managedPolicyArns).to.equal(undefined);
            expect(role.inputs.inlinePolicies).to.equal(undefined);
            const policies = resourcesOfType(snapshot, "aws:iam/rolePolicy:RolePolicy").filter(
              (policy) => policy.inputs.role === role.id,
            );
            expect(policies.map((policy) => policy.name)).to.deep.equal([`${prefix}-${route.operationId}-policy`]);
            const attachments = resourcesOfType(snapshot, "aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter(
              (attachment) => attachment.inputs.role === role.id,
            );
            expect(attachments).to.deep.equal([]);
          });

          it("allows exactly owner-tagged sessions of its data access role, whose DynamoDB actions hold only on the owner's partition; log writes to its own group, X-Ray only with tracing", () => {
            const policy = resourceOf(snapshot, `${route.operationId}-policy`);
            const logGroupArn = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/${prefix}-${route.operationId}`;
            const expected = EXPECTED_DYNAMODB_ACTIONS[route.operationId] ?? {};
            const tableStatements = (["items", "idempotency"] as const).flatMap((logicalName) => {
              const actions = expected[logicalName];
              return actions === undefined
                ? []
                : [
                    {
                      Sid: logicalName === "items" ? "DynamoDbItems" : "DynamoDbIdempotency",
                      Effect: "Allow",
                      Action: actions,
                      Resource: [
                        `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${String(tableNamed(snapshot, logicalName).state.name)}`,
                      ],
                    },
                  ];
            });
            const dataRole = resourceOf(snapshot, `${route.operationId}-data-role`);
            // With sign-in the function's own role reaches DynamoDB only through owner sessions.
            expect(parseJson(resourceOf(snapshot, `${route.operationId}-data-policy`).inputs.policy)).to.deep.equal({
              Version: "2012-10-17",
              Statement: tableStatements.map((statement) => ({
                ...statement,
                Condition: {
                  "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": ["${aws:PrincipalTag/owner}"] },
                  Null: { "dynamodb:LeadingKeys": "false" },
                },
              })),
            });
            expect(parseJson(dataRole.inputs.assumeRolePolicy)).to.deep.equal({
              Version: "2012-10-17",
              Statement: [
                {
                  Effect: "Allow",
                  Principal: { AWS: resourceOf(snapshot, `${route.operationId}-role`).state.arn },
                  Action: ["sts:AssumeRole", "sts:TagSession"],
                  Condition: {
                    Null: { "aws:RequestTag/owner": "false" },
                    "ForAllValues:StringEquals": { "aws:TagKeys": ["owner"] },
                  },
                },
              ],
            });
            expect(parseJson(policy.inputs.policy)).to.deep.equal({
              Version: "2012-10-17",
              Statement: [
                {
                  Sid: "OwnerSessions",
                  Effect: "Allow",
                  Action: ["sts:AssumeRole", "sts:TagSession"],
                  Resource: [dataRole.state.arn],
                },
                {
                  Sid: "OwnLogGroup",
                  Effect: "Allow",
                  Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                  Resource: [`${logGroupArn}:log-stream:*`],
                },
                ...(settings.tracing
                  ? [
                      {
                        Sid: "XRayWrite",
                        Effect: "Allow",
                        Action: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                        Resource: ["*"],
                      },
                    ]
                  : []),
              ],
            });
          });

          it("is wired into the REST API body as an aws_proxy integration, with a permission scoped to its method and path", () => {
            const restApi = resourceOf(snapshot);
            const body = parseJson(restApi.inputs.body) as {
              paths: Record<string, Record<string, Record<string, unknown>>>;
            };
            const operation = body.paths[route.path]?.[route.method.toLowerCase()];
            const fn = functionOf(snapshot, route.operationId);
            expect(operation?.operationId).to.equal(route.operationId);
            expect(operation?.["x-amazon-apigateway-integration"]).to.deep.equal({
              type: "aws_proxy",
              httpMethod: "POST",
              uri: `arn:aws:apigateway:${REGION}:lambda:path/2015-03-31/functions/arn:aws:lambda:${REGION}:${ACCOUNT}:function:${prefix}-${route.operationId}/invocations`,
              passthroughBehavior: "when_no_match",
              timeoutInMillis: 29000,
            });
            expect(fn.state.invokeArn).to.equal(
              (operation?.["x-amazon-apigateway-integration"] as { uri: string }).uri,
            );
            const permission = resourceOf(snapshot, `${route.operationId}-permission`);
            expect(permission.inputs).to.deep.include({
              action: "lambda:InvokeFunction",
              function: `${prefix}-${route.operationId}`,
              principal: "apigateway.amazonaws.com",
              sourceArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${restApi.id}/*/${route.method}${route.permissionPath}`,
            });
            // HEAD wherever GET is (RFC 9110 §9.1): the same function, a permission of its own.
            const head = body.paths[route.path]?.head;
            if (route.method !== "GET") {
              return;
            }
            expect(head?.operationId).to.equal(`${route.operationId}Head`);
            expect(head?.["x-amazon-apigateway-integration"]).to.deep.equal(
              operation?.["x-amazon-apigateway-integration"],
            );
            expect(resourceOf(snapshot, `${route.operationId}Head-permission`).inputs).to.deep.include({
              action: "lambda:InvokeFunction",
              function: `${prefix}-${route.operationId}`,
              principal: "apigateway.amazonaws.com",
              sourceArn: `arn:aws:execute-api:${REGION}:${ACCOUNT}:${restApi.id}/*/HEAD${route.permissionPath}`,
            });
          });
        });
      }

      it("deploys the REST API body with a Deployment keyed on the body's hash, regional, keys from config", () => {
        const restApi = resourceOf(snapshot);
        expect(restApi.inputs).to.deep.include({
          name: prefix,
          endpointConfiguration: { types: "REGIONAL" },
          failOnWarnings: false,
        });
        expect(restApi.inputs.apiKeySource).to.equal(settings.apiKeys.required ? "HEADER" : undefined);
        const deployment = resourceOf(snapshot, "deployment");
        expect(deployment.inputs.restApi).to.equal(restApi.id);
        expect(deployment.inputs.triggers).to.deep.equal({
          documentSha256: createHash("sha256").update(String(restApi.inputs.body)).digest("hex"),
        });
      });

      it("has a stage named after the stack with JSON access logs, tracing, throttling and error-level execution logs", () => {
        const restApi = resourceOf(snapshot);
        const stage = resourceOf(snapshot, "stage");
        const accessLogs = resourceOf(snapshot, "access-logs");
        expect(stage.inputs).to.deep.include({
          restApi: restApi.id,
          deployment: resourceOf(snapshot, "deployment").id,
          stageName: stack,
          xrayTracingEnabled: settings.tracing,
        });
        const accessLogSettings = stage.inputs.accessLogSettings as { destinationArn: string; format: string };
        expect(accessLogSettings.destinationArn).to.equal(accessLogs.state.arn);
        // What API Gateway substitutes into it is tested in logging.test.ts.
        const format = parseJson(accessLogSettings.format);
        expect(format).to.include({
          requestId: "$context.requestId",
          httpMethod: "$context.httpMethod",
          resourcePath: "$context.resourcePath",
          status: "$context.status",
          apiKeyId: "$context.identity.apiKeyId",
        });
        expect(resourceOf(snapshot, "method-settings").inputs).to.deep.equal({
          restApi: restApi.id,
          stageName: stack,
          methodPath: "*/*",
          settings: {
            throttlingRateLimit: settings.throttle.rateLimit,
            throttlingBurstLimit: settings.throttle.burstLimit,
            metricsEnabled: true,
            loggingLevel: "ERROR",
            dataTraceEnabled: false,
          },
        });
      });

      it("keeps API Gateway's account-level setting, its role and policy attachment on destroy, and nothing else", () => {
        // Every registration reached the recorder (components included), so an absent option is false.
        expect(snapshot.resources.filter((resource) => typeof resource.retainOnDelete !== "boolean")).to.deep.equal([]);
        const retained = snapshot.resources.filter((resource) => resource.retainOnDelete === true);
        expect(retained.map((resource) => `${resource.type} ${resource.name}`).sort()).to.deep.equal(
          settings.manageApiGatewayAccount
            ? [
                `aws:apigateway/account:Account ${prefix}-account`,
                `aws:iam/role:Role ${prefix}-cloudwatch-role`,
                `aws:iam/rolePolicyAttachment:RolePolicyAttachment ${prefix}-cloudwatch-role-policy`,
              ]
            : [],
        );
      });

      it("manages API Gateway's account-level CloudWatch role only where the stack says so", () => {
        const accounts = resourcesOfType(snapshot, "aws:apigateway/account:Account");
        if (!settings.manageApiGatewayAccount) {
          expect(accounts).to.deep.equal([]);
          return;
        }
        const role = resourceOf(snapshot, "cloudwatch-role");
        expect(accounts.map((account) => account.inputs)).to.deep.equal([{ cloudwatchRoleArn: role.state.arn }]);
        expect(parseJson(role.inputs.assumeRolePolicy)).to.deep.equal({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" },
          ],
        });
        expect(resourceOf(snapshot, "cloudwatch-role-policy").inputs).to.deep.equal({
          role: role.state.name,
          policyArn: "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        });
      });

      it("issues an API key with a usage plan exactly when the stack requires keys", () => {
        const keys = resourcesOfType(snapshot, "aws:apigateway/apiKey:ApiKey");
        const plans = resourcesOfType(snapshot, "aws:apigateway/usagePlan:UsagePlan");
        if (!settings.apiKeys.required) {
          expect([keys, plans]).to.deep.equal([[], []]);
          expect(snapshot.outputs).not.to.have.property("apiKey");
          return;
        }
        const restApi = resourceOf(snapshot);
        expect(plans.map((plan) => plan.inputs)).to.deep.equal([
          {
            name: `${prefix}-default`,
            apiStages: [{ apiId: restApi.id, stage: stack }],
            quotaSettings: { limit: settings.apiKeys.quotaPerDay, period: "DAY" },
            throttleSettings: { rateLimit: settings.apiKeys.rateLimit, burstLimit: settings.apiKeys.burstLimit },
          },
        ]);
        const [key] = keys;
        expect(
          resourcesOfType(snapshot, "aws:apigateway/usagePlanKey:UsagePlanKey").map((entry) => entry.inputs),
        ).to.deep.equal([{ keyId: key?.id, keyType: "API_KEY", usagePlanId: plans[0]?.id }]);
        expect(snapshot.outputs.apiKey).to.deep.equal({ value: key?.state.value, secret: true });
      });

      it("has a dashboard graphing the alarms' metrics, built by awsx's classic Dashboard", () => {
        const dashboard = resourceOf(snapshot, "dashboard");
        expect(dashboard.inputs.dashboardName).to.equal(prefix);
        // awsx's per-metric rendering options; the dashboard's region is the stack's.
        const line = (stat: string, label: string) => ({ stat, label, period: 300, visible: true, yAxis: "left" });
        const graph = (x: number, y: number, title: string, metrics: unknown[][]) => ({
          x,
          y,
          width: 12,
          height: 6,
          type: "metric",
          properties: { metrics, title, period: 300, region: REGION, view: "timeSeries", stacked: false },
        });
        const lambdaMetrics = (metricName: string) =>
          ROUTES.map((route) => [
            "AWS/Lambda",
            metricName,
            "FunctionName",
            `${prefix}-${route.operationId}`,
            line("Sum", route.operationId),
          ]);
        const api = ["ApiName", prefix, "Stage", stack];
        const tableMetrics = (logicalName: "items" | "idempotency") =>
          TABLE_OPERATIONS[logicalName].flatMap((operation) =>
            ["ThrottledRequests", "SystemErrors"].map((metricName) => [
              "AWS/DynamoDB",
              metricName,
              "TableName",
              tableNamed(snapshot, logicalName).state.name,
              "Operation",
              operation,
              line("Sum", `${metricName} ${operation}`),
            ]),
          );
        expect(JSON.parse(String(dashboard.inputs.dashboardBody))).to.deep.equal({
          widgets: [
            graph(0, 0, "Lambda Errors", lambdaMetrics("Errors")),
            graph(12, 0, "Lambda Throttles", lambdaMetrics("Throttles")),
            graph(0, 6, "API 5XX rate", [["AWS/ApiGateway", "5XXError", ...api, line("Average", "5XX rate")]]),
            graph(12, 6, "API latency", [
              ["AWS/ApiGateway", "Latency", ...api, line("p99", "p99")],
              ["AWS/ApiGateway", "Latency", ...api, line("p50", "p50")],
              ["AWS/ApiGateway", "IntegrationLatency", ...api, line("p99", "integration p99")],
            ]),
            graph(0, 12, "DynamoDB items: throttled requests and system errors", tableMetrics("items")),
            graph(12, 12, "DynamoDB idempotency: throttled requests and system errors", tableMetrics("idempotency")),
          ],
        });
      });

      it("registers the awsx classic alarms and dashboard as plain aws.cloudwatch resources under the Alarms component", () => {
        expect(
          snapshot.resources.filter((resource) => resource.type.includes("awsx")).map((resource) => resource.type),
        ).to.deep.equal([]);
        const monitoring = snapshot.resources.filter(
          (resource) =>
            resource.type.startsWith("aws:cloudwatch/") && resource.type !== "aws:cloudwatch/logGroup:LogGroup",
        );
        // 18 alarms and the dashboard.
        expect(monitoring).to.have.length(19);
        for (const resource of monitoring) {
          expect(resource.urn, resource.name).to.equal(
            `urn:pulumi:${stack}::items-api::items-api:monitoring:Alarms$${resource.type}::${resource.name}`,
          );
        }
      });

      it("alarms on Lambda errors and throttles, API 5XX and p99 latency, DynamoDB throttles and system errors", () => {
        const topic = resourceOf(snapshot, "topic");
        const alarms = resourcesOfType(snapshot, "aws:cloudwatch/metricAlarm:MetricAlarm");
        // Every alarm notifies the topic on ALARM and OK; an idle API (no data) is not a failure.
        const notify = {
          actionsEnabled: true,
          alarmActions: [topic.state.arn],
          okActions: [topic.state.arn],
          treatMissingData: "notBreaching",
        };
        const lambdaAlarm = (operationId: string, metricName: string) => ({
          ...notify,
          alarmDescription: `Lambda ${operationId}: ${metricName} in the last 5 minutes`,
          namespace: "AWS/Lambda",
          metricName,
          dimensions: { FunctionName: `${prefix}-${operationId}` },
          statistic: "Sum",
          period: 300,
          evaluationPeriods: 1,
          threshold: 1,
          comparisonOperator: "GreaterThanOrEqualToThreshold",
        });
        const apiDimensions = { ApiName: prefix, Stage: stack };
        const tableAlarm = (logicalName: "items" | "idempotency", metricName: string) => {
          const operations = TABLE_OPERATIONS[logicalName];
          const tableName = tableNamed(snapshot, logicalName).state.name;
          return {
            ...notify,
            alarmDescription: `DynamoDB ${logicalName} table: ${metricName} (${operations.join(", ")}) in the last 5 minutes`,
            metricQueries: [
              ...operations.map((operation, index) => ({
                id: `m${index}`,
                returnData: false,
                metric: {
                  namespace: "AWS/DynamoDB",
                  metricName,
                  dimensions: { TableName: tableName, Operation: operation },
                  stat: "Sum",
                  period: 300,
                },
              })),
              {
                id: "total",
                label: `${metricName} (${logicalName})`,
                returnData: true,
                expression: `SUM([${operations.map((_, index) => `m${index}`).join(", ")}])`,
              },
            ],
            evaluationPeriods: 1,
            threshold: 1,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
          };
        };
        expect(Object.fromEntries(alarms.map((alarm) => [alarm.name, alarm.inputs]))).to.deep.equal({
          ...Object.fromEntries(
            ROUTES.flatMap((route) => [
              [`${prefix}-${route.operationId}-errors`, lambdaAlarm(route.operationId, "Errors")],
              [`${prefix}-${route.operationId}-throttles`, lambdaAlarm(route.operationId, "Throttles")],
            ]),
          ),
          [`${prefix}-api-5xx`]: {
            ...notify,
            alarmDescription: "API: more than 5% of requests answered 5XX in 5 minutes",
            namespace: "AWS/ApiGateway",
            metricName: "5XXError",
            dimensions: apiDimensions,
            statistic: "Average",
            period: 300,
            evaluationPeriods: 1,
            threshold: 0.05,
            comparisonOperator: "GreaterThanOrEqualToThreshold",
          },
          [`${prefix}-api-latency-p99`]: {
            ...notify,
            alarmDescription: "API: p99 latency above 3000 ms for 3 minutes",
            namespace: "AWS/ApiGateway",
            metricName: "Latency",
            dimensions: apiDimensions,
            extendedStatistic: "p99",
            period: 60,
            evaluationPeriods: 3,
            threshold: 3000,
            comparisonOperator: "GreaterThanThreshold",
          },
          [`${prefix}-items-throttledrequests`]: tableAlarm("items", "ThrottledRequests"),
          [`${prefix}-items-systemerrors`]: tableAlarm("items", "SystemErrors"),
          [`${prefix}-idempotency-throttledrequests`]: tableAlarm("idempotency", "ThrottledRequests"),
          [`${prefix}-idempotency-systemerrors`]: tableAlarm("idempotency", "SystemErrors"),
        });
        expect(alarms).to.have.length(18);
        const subscriptions = resourcesOfType(snapshot, "aws:sns/topicSubscription:TopicSubscription");
        expect(subscriptions.map((subscription) => subscription.inputs)).to.deep.equal(
          settings.alarmEmail === undefined
            ? []
            : [{ topic: topic.state.arn, protocol: "email", endpoint: settings.alarmEmail }],
        );
      });

      it("exports apiUrl, tableName, functionNames and the public OpenAPI document", () => {
        const restApi = resourceOf(snapshot);
        expect(snapshot.outputs.apiUrl).to.deep.equal({
          value: `https://${restApi.id}.execute-api.${REGION}.amazonaws.com/${stack}/`,
          secret: false,
        });
        expect(snapshot.outputs.tableName).to.deep.equal({
          value: tableNamed(snapshot, "items").state.name,
          secret: false,
        });
        expect(snapshot.outputs.idempotencyTableName).to.deep.equal({
          value: tableNamed(snapshot, "idempotency").state.name,
          secret: false,
        });
        expect(snapshot.outputs.functionNames).to.deep.equal({
          value: Object.fromEntries(ROUTES.map((route) => [route.operationId, `${prefix}-${route.operationId}`])),
          secret: false,
        });
        expect(snapshot.outputs.openApiDocument).to.deep.equal({
          value: JSON.parse(JSON.stringify(buildOpenApiDocument(documentOptionsOf(settings)))),
          secret: false,
        });
        expect(Object.keys(snapshot.outputs).sort()).to.deep.equal(
          [
            "apiUrl",
            "functionNames",
            "idempotencyTableName",
            "openApiDocument",
            "tableName",
            "userPoolClientId",
            "userPoolId",
            ...(settings.apiKeys.required ? ["apiKey"] : []),
          ].sort(),
        );
      });

      it("exports the very document the local runtime serves at /openapi.json for this stack", async () => {
        const api = await startLocalApi({ settings, port: 0, accessLog: () => undefined });
        try {
          const response = await fetch(`${api.url}openapi.json`);
          expect(response.status).to.equal(200);
          expect(await response.json()).to.deep.equal(snapshot.outputs.openApiDocument?.value);
        } finally {
          await api.close();
        }
      });
    });
  }
});
