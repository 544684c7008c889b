/**
 * Logging, as AWS will take it (DESIGN §3; issue 21): every stack deploys first and alone, into an
 * account of its own, with everything its stage logging needs, or stops before its first resource
 * when it relies on an account-level API Gateway role that is missing; destroying one stack leaves
 * the other's logging working; and the functions' log lines are what Lambda's log-level filtering
 * reads (Lambda Developer Guide, "Log-level filtering",
 * https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).
 */
import { expect } from "chai";
import { LOG_LEVELS, LogLevel, parseLogLevel } from "../../handlers/env";
import { createLogger } from "../../handlers/logger";
import {
  ProgramSnapshot,
  RegisteredResource,
  programSnapshot,
  resourceOf,
  resourcesOfType,
  stackSnapshot,
} from "../support/program-snapshot";
import {
  EXISTING_ROLE_NAME,
  RELY_ON_DELETED_ROLE_RUN,
  RELY_ON_EXISTING_ROLE_RUN,
  RELY_ON_UNSET_ROLE_RUN,
  STACKS,
  startInfraPrograms,
} from "./programs";

const ACCOUNT = "aws:apigateway/account:Account";
const ROLE = "aws:iam/role:Role";
const ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const PUSH_TO_CLOUDWATCH = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs";

/** Every resource `resource` waits for, directly or through others (its recorded dependencies). */
function dependencyClosure(snapshot: ProgramSnapshot, resource: RegisteredResource): RegisteredResource[] {
  const byUrn = new Map(snapshot.resources.map((candidate) => [candidate.urn, candidate]));
  const found = new Map<string, RegisteredResource>();
  const visit = (urns: readonly string[]) => {
    for (const urn of urns) {
      const dependency = byUrn.get(urn);
      if (dependency !== undefined && !found.has(urn)) {
        found.set(urn, dependency);
        visit(dependency.dependencies ?? []);
      }
    }
  };
  visit(resource.dependencies ?? []);
  return [...found.values()];
}

// ---------------------------------------------------------------------------------------------
// API Gateway's account-level CloudWatch role, as AWS holds it across stacks

interface AwsAccount {
  /** What `aws apigateway get-account` names as cloudwatchRoleArn ("" when unset). */
  setting: string;
  /** Live resources, by stack and name. */
  live: Map<string, RegisteredResource>;
}

const key = (snapshot: ProgramSnapshot, resource: RegisteredResource) => `${snapshot.stack}/${resource.name}`;

/** `pulumi up` of a stack into the account: its resources exist, and an Account resource sets the setting. */
function up(account: AwsAccount, snapshot: ProgramSnapshot): void {
  for (const resource of snapshot.resources.filter((candidate) => candidate.custom)) {
    account.live.set(key(snapshot, resource), resource);
    if (resource.type === ACCOUNT) {
      account.setting = String(resource.inputs.cloudwatchRoleArn);
    }
  }
}

/**
 * `pulumi destroy` of a stack: every resource it registered without `retainOnDelete` is deleted;
 * an Account resource's delete resets the region's setting (@pulumi/aws 7, terraform-provider-aws
 * 6's account delete; see infra/api.ts).
 */
function destroy(account: AwsAccount, snapshot: ProgramSnapshot): void {
  for (const resource of snapshot.resources.filter((candidate) => candidate.custom && !candidate.retainOnDelete)) {
    account.live.delete(key(snapshot, resource));
    if (resource.type === ACCOUNT) {
      account.setting = "";
    }
  }
}

/** Stage logging works when the setting names a live role that API Gateway may use to push logs. */
function stageLoggingWorks(account: AwsAccount): boolean {
  const live = [...account.live.values()];
  const role = live.find((resource) => resource.type === ROLE && resource.state.arn === account.setting);
  return (
    role !== undefined &&
    live.some(
      (resource) =>
        resource.type === ATTACHMENT &&
        resource.inputs.role === role.state.name &&
        resource.inputs.policyArn === PUSH_TO_CLOUDWATCH,
    )
  );
}

function withoutRetention(snapshot: ProgramSnapshot): ProgramSnapshot {
  return { ...snapshot, resources: snapshot.resources.map((resource) => ({ ...resource, retainOnDelete: false })) };
}

// ---------------------------------------------------------------------------------------------
// Lambda's log-level filtering, as its guide states it

/** Lambda's application log levels, least severe first. */
const LAMBDA_LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
/** RFC 3339 `date-time` (section 5.6): full-date "T" full-time, time-offset Z or +hh:mm. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * The level Lambda assigns to a line a function writes to stdout, by the guide's rules: a JSON
 * object's `level` (the guide's own example writes `"level": "debug"` and is read as DEBUG); INFO
 * when the level is invalid or missing, or when there is no valid RFC 3339 `timestamp`.
 */
function levelLambdaAssigns(line: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return "INFO";
  }
  if (typeof parsed !== "object" || parsed === null) {
    return "INFO";
  }
  const { level, timestamp } = parsed as { level?: unknown; timestamp?: unknown };
  if (typeof timestamp !== "string" || !RFC3339.test(timestamp) || Number.isNaN(Date.parse(timestamp))) {
    return "INFO";
  }
  const name = typeof level === "string" ? level.toUpperCase() : "";
  return LAMBDA_LEVELS.includes(name) ? name : "INFO";
}

/** Whether Lambda sends the line to CloudWatch Logs under `applicationLogLevel`. */
function lambdaKeeps(line: string, applicationLogLevel: string): boolean {
  return LAMBDA_LEVELS.indexOf(levelLambdaAssigns(line)) >= LAMBDA_LEVELS.indexOf(applicationLogLevel);
}

// ---------------------------------------------------------------------------------------------
// The access log line, as API Gateway writes it

/**
 * What API Gateway can substitute for `$context` variables in an access log line ("Variables for
 * access logging for API Gateway", api-gateway-variables-for-access-logging): values each can
 * take, as documented (the methods it lists, CLF time, UUIDs and AWS's replacement for a client's
 * request id that is not one, ...), and for the variables that carry a client's text, what a
 * hostile client can make them hold. The body's resource paths and gateway response types are
 * added per stack. A variable without a value in a request is written `-`.
 */
const CONTEXT_VALUES: Record<string, string[]> = {
  "$context.requestId": ["c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "UUID_REPLACED_INVALID_REQUEST_ID"],
  "$context.extendedRequestId": ["Abcd1EfGhIjKlM=", "eIvSGHxZoAMF+3A="],
  "$context.identity.sourceIp": ["203.0.113.7", "2001:db8::1"],
  "$context.identity.apiKeyId": ["a1b2c3d4e5"],
  "$context.requestTime": ["06/Dec/2026:23:07:55 +0000"],
  "$context.httpMethod": ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
  "$context.status": ["200", "404", "502"],
  "$context.protocol": ["HTTP/1.1", "HTTP/2.0"],
  "$context.responseLength": ["0", "1523"],
  "$context.responseLatency": ["12"],
  "$context.integrationLatency": ["10"],
  "$context.integrationStatus": ["200", "500"],
  "$context.xrayTraceId": ["Root=1-5e1b4151-5ac6c58f5b5dbd6a6f3d3a1e;Parent=53995c3f42cd8ad8;Sampled=1"],
  // A client's text, or AWS's message about it.
  "$context.path": ['/dev/items/a"b\\c'],
  "$context.identity.userAgent": ['curl "7.88" \\ agent'],
  "$context.error.message": ["Authorization header requires 'Credential' parameter. Authorization=Bearer \"x\""],
  "$context.error.messageString": ['"Invalid request body"'],
  "$context.error.validationErrorString": ['[instance value ("x") not found in enum (possible values: ["a"])]'],
};

/** API Gateway's substitution: each variable as it is, unescaped; `-` where it has no value. */
function renderAccessLog(format: string, values: Record<string, string | undefined>): string {
  return format.replace(/\$context\.[A-Za-z0-9.]+/g, (variable) => values[variable] ?? "-");
}

/** Renderings of `format` over the outcomes: each value of each variable, and each variable absent. */
function renderings(
  format: string,
  domains: Record<string, string[]>,
): { values: Record<string, string>; line: string }[] {
  const variables = [...new Set(format.match(/\$context\.[A-Za-z0-9.]+/g) ?? [])];
  const first = Object.fromEntries(variables.map((variable) => [variable, domains[variable]?.[0] ?? "-"]));
  const cases: Record<string, string>[] = [
    first,
    ...variables.flatMap((variable) => (domains[variable] ?? []).map((value) => ({ ...first, [variable]: value }))),
    ...variables.map((variable) => ({ ...first, [variable]: "-" })),
    Object.fromEntries(variables.map((variable) => [variable, "-"])),
  ];
  return cases.map((values) => ({ values, line: renderAccessLog(format, values) }));
}

function parsesAsJson(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}

describe("infra: logging", function () {
  this.timeout(120000);
  before(startInfraPrograms);

  describe("API Gateway's account-level CloudWatch role", () => {
    for (const stack of STACKS) {
      it(`${stack}, deployed alone into a fresh account, registers the role, its policy and the setting before its stage logs`, async () => {
        // The default run's account is a fresh one: no API Gateway role set, no roles.
        const snapshot = await stackSnapshot(stack);
        const account = resourceOf(snapshot, "account");
        const role = resourceOf(snapshot, "cloudwatch-role");
        const attachment = resourceOf(snapshot, "cloudwatch-role-policy");
        expect(account.inputs).to.deep.equal({ cloudwatchRoleArn: role.state.arn });
        expect(attachment.inputs).to.deep.equal({
          role: role.state.name,
          policyArn: PUSH_TO_CLOUDWATCH,
        });
        // Access logs (the stage) and execution logs (the method settings) wait for the setting,
        // which waits for the role's policy.
        for (const logging of [resourceOf(snapshot, "stage"), resourceOf(snapshot, "method-settings")]) {
          const waitsFor = dependencyClosure(snapshot, logging).map((resource) => resource.name);
          expect(waitsFor, logging.name).to.include.members([account.name, role.name, attachment.name]);
        }
        expect(snapshot.reads).to.deep.equal([]);
        expect(snapshot.invokes).to.deep.equal([]);
      });
    }

    it("relying on the account's role (manageApiGatewayAccount: false), reads the setting and the role, and manages neither", async () => {
      const snapshot = await programSnapshot(RELY_ON_EXISTING_ROLE_RUN);
      expect(snapshot.error).to.equal(undefined);
      expect(snapshot.reads.map((read) => [read.type, read.id])).to.deep.equal([[ACCOUNT, "api-gateway-account"]]);
      expect(snapshot.invokes).to.deep.equal(["aws:iam/getRole:getRole"]);
      expect(resourcesOfType(snapshot, ACCOUNT)).to.deep.equal([]);
      expect(resourcesOfType(snapshot, ATTACHMENT)).to.deep.equal([]);
      expect(resourcesOfType(snapshot, ROLE).filter((role) => role.name.endsWith("-cloudwatch-role"))).to.deep.equal(
        [],
      );
      expect(resourcesOfType(snapshot, "aws:apigateway/stage:Stage")).to.have.length(1);
    });

    for (const [run, account, detail] of [
      [RELY_ON_UNSET_ROLE_RUN, "a fresh account", "the account setting names no role"],
      [
        RELY_ON_DELETED_ROLE_RUN,
        "an account whose setting names a deleted role",
        `the account setting names arn:aws:iam::123456789012:role/${EXISTING_ROLE_NAME}, which cannot be read`,
      ],
    ] as const) {
      it(`relying on the account's role in ${account} stops before the first resource, saying what to do`, async () => {
        const snapshot = await programSnapshot(run);
        expect(snapshot.error).to.be.a("string");
        expect(snapshot.error).to.contain(
          `invalid config items-api:manageApiGatewayAccount: false relies on API Gateway's CloudWatch role in us-east-1, but ${detail}`,
        );
        expect(snapshot.error).to.contain("Set items-api:manageApiGatewayAccount true");
        expect(snapshot.resources.filter((resource) => resource.custom)).to.deep.equal([]);
      });
    }

    it("destroying either stack leaves the other's stage logging working, whichever was deployed last", async () => {
      const [dev, prod, devRelying] = await Promise.all([
        stackSnapshot("dev"),
        stackSnapshot("prod"),
        programSnapshot(RELY_ON_EXISTING_ROLE_RUN),
      ]);
      const scenarios: [string, ProgramSnapshot[], ProgramSnapshot][] = [
        ["dev, prod; destroy dev", [dev, prod], dev],
        ["prod, dev; destroy dev", [prod, dev], dev],
        ["dev, prod; destroy prod", [dev, prod], prod],
        ["prod, dev; destroy prod", [prod, dev], prod],
        ["prod, dev relying on prod's role; destroy prod", [prod, devRelying], prod],
        ["prod, dev relying on prod's role; destroy dev", [prod, devRelying], devRelying],
      ];
      const outcome = (transform: (snapshot: ProgramSnapshot) => ProgramSnapshot) =>
        scenarios.map(([name, deployed, destroyed]) => {
          const account: AwsAccount = { setting: "", live: new Map() };
          for (const snapshot of deployed) {
            up(account, transform(snapshot));
          }
          expect(stageLoggingWorks(account), `${name}: before the destroy`).to.equal(true);
          destroy(account, transform(destroyed));
          return [name, stageLoggingWorks(account)];
        });
      expect(outcome((snapshot) => snapshot)).to.deep.equal(scenarios.map(([name]) => [name, true]));
      // The model can fail: without retainOnDelete, a destroy takes the role (or the setting) with it.
      expect(outcome(withoutRetention).filter(([, works]) => works === false).length).to.be.greaterThan(0);
    });
  });

  describe("the stage's access log", () => {
    for (const stack of STACKS) {
      it(`${stack}: is one JSON object for every request, whatever API Gateway substitutes`, async () => {
        const snapshot = await stackSnapshot(stack);
        const { format } = resourceOf(snapshot, "stage").inputs.accessLogSettings as { format: string };
        const body = JSON.parse(String(resourceOf(snapshot).inputs.body)) as {
          paths: Record<string, unknown>;
          "x-amazon-apigateway-gateway-responses": Record<string, unknown>;
        };
        const domains: Record<string, string[]> = {
          ...CONTEXT_VALUES,
          "$context.resourcePath": Object.keys(body.paths),
          "$context.error.responseType": Object.keys(body["x-amazon-apigateway-gateway-responses"]),
        };
        const variables = [...new Set(format.match(/\$context\.[A-Za-z0-9.]+/g) ?? [])];
        // Every variable in the format is one whose values this test knows.
        expect(variables.filter((variable) => domains[variable] === undefined)).to.deep.equal([]);
        expect(variables).to.include.members(["$context.requestId", "$context.extendedRequestId", "$context.status"]);
        const rendered = renderings(format, domains);
        expect(rendered.length).to.be.greaterThan(40);
        for (const { values, line } of rendered) {
          expect(parsesAsJson(line), line).to.equal(true);
          const fields = JSON.parse(line) as Record<string, unknown>;
          // Each field holds exactly what was substituted, as a string.
          const template = JSON.parse(format) as Record<string, string>;
          expect(fields).to.deep.equal(
            Object.fromEntries(Object.entries(template).map(([field, variable]) => [field, values[variable]])),
          );
        }
      });
    }

    it("the rendering finds the formats that break: an unquoted messageString, or a client's text in quotes", () => {
      for (const format of [
        '{"requestId":"$context.requestId","errorMessage":$context.error.messageString}',
        '{"requestId":"$context.requestId","path":"$context.path"}',
        '{"requestId":"$context.requestId","agent":"$context.identity.userAgent"}',
        '{"requestId":"$context.requestId","error":"$context.error.message"}',
      ]) {
        expect(
          renderings(format, CONTEXT_VALUES).some(({ line }) => !parsesAsJson(line)),
          format,
        ).to.equal(true);
      }
    });
  });

  describe("Lambda's log-level filtering", () => {
    it("reads the form its guide documents: the level of a JSON line with an RFC 3339 timestamp, else INFO", () => {
      // The oracle itself, on the guide's own example and the cases it names.
      expect(
        levelLambdaAssigns('{"level": "debug", "msg": "my debug log", "timestamp": "2024-11-02T16:51:31.587199Z"}'),
      ).to.equal("DEBUG");
      expect(levelLambdaAssigns('{"level": "ERROR", "message": "x", "time": "2024-11-02T16:51:31.587Z"}')).to.equal(
        "INFO",
      );
      expect(levelLambdaAssigns('{"level": "ERROR", "timestamp": "yesterday"}')).to.equal("INFO");
      expect(levelLambdaAssigns('{"level": "SEVERE", "timestamp": "2024-11-02T16:51:31Z"}')).to.equal("INFO");
      expect(levelLambdaAssigns("plain text")).to.equal("INFO");
    });

    for (const stack of STACKS) {
      it(`${stack}: Lambda keeps exactly the lines the handlers write at the stack's level and above, each at its own level`, async () => {
        const snapshot = await stackSnapshot(stack);
        for (const fn of resourcesOfType(snapshot, "aws:lambda/function:Function")) {
          const { applicationLogLevel } = fn.inputs.loggingConfig as { applicationLogLevel: string };
          const logLevel = parseLogLevel(
            (fn.inputs.environment as { variables: Record<string, string> }).variables.LOG_LEVEL ?? "",
            "LOG_LEVEL",
          );
          const written: { level: LogLevel; line: string }[] = [];
          const lines: string[] = [];
          const log = createLogger(logLevel, { operationId: "x" }, (line) => lines.push(line));
          for (const level of LOG_LEVELS) {
            // A field named like Lambda's keys must not change what Lambda reads.
            log[level](`a ${level} line`, { level: "FATAL", timestamp: "not a time" });
            written.push(...lines.splice(0).map((line) => ({ level, line })));
          }
          const kept = written.filter(({ line }) => lambdaKeeps(line, applicationLogLevel));
          const atOrAbove = LOG_LEVELS.slice(LOG_LEVELS.indexOf(logLevel));
          expect(
            kept.map(({ level }) => level),
            fn.name,
          ).to.deep.equal(atOrAbove);
          expect(
            kept.map(({ line }) => levelLambdaAssigns(line)),
            fn.name,
          ).to.deep.equal(atOrAbove.map((level) => level.toUpperCase()));
        }
      });
    }
  });
});
