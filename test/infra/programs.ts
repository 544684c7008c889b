/**
 * Every Pulumi program run the suite makes. They take seconds each, so the first infra suite to
 * run starts them all at once (they are memoized), in one process; under `npm test` mocha's
 * global setup (test/support/program-runs.ts) starts them when the run starts.
 */
import {
  DEV_OPTIONS_RUN,
  EXISTING_ROLE_NAME,
  MOCK_ACCOUNT_ID,
  ProgramRequest,
  sharedProcessSnapshots,
} from "../support/program-snapshot";

export { EXISTING_ROLE_NAME };

export const STACKS = ["dev", "prod"] as const;

/** An invalid stack configuration: the program must stop before its first resource, naming `key`. */
export interface InvalidConfig {
  stack: (typeof STACKS)[number];
  /** Full config keys (`project:key`) and values, applied over the stack's YAML. */
  config: Record<string, string>;
  /** The full key the message names. */
  key: string;
  message: string;
}

export const INVALID_CONFIG: readonly InvalidConfig[] = [
  {
    stack: "dev",
    config: { "items-api:logRetentionDays": "8" },
    key: "items-api:logRetentionDays",
    message: "invalid config items-api:logRetentionDays: must be one of CloudWatch's retention periods",
  },
  // Read after the other settings: proves every value is read before any resource exists.
  {
    stack: "dev",
    config: { "items-api:cursorSecret": "too-short" },
    key: "items-api:cursorSecret",
    message: "invalid config items-api:cursorSecret: must be a string of at least 32 characters",
  },
  // Prod's former reservation (50 per function) in an account whose limit leaves 99 unreserved.
  {
    stack: "prod",
    config: { "items-api:lambdaReservedConcurrency": "50", "items-api:lambdaAccountConcurrencyLimit": "399" },
    key: "items-api:lambdaReservedConcurrency",
    message: "invalid config items-api:lambdaReservedConcurrency: 6 functions x 50 = 300 reserved leaves 99",
  },
  // Prod's former stage burst, below its usage plan's burst per key.
  {
    stack: "prod",
    config: { "items-api:throttleBurstLimit": "50" },
    key: "items-api:throttleBurstLimit",
    message: "invalid config items-api:throttleBurstLimit: 50 is below usagePlanBurstLimit 100",
  },
  {
    stack: "dev",
    config: { "aws:region": "" },
    key: "aws:region",
    message: "invalid config aws:region: not set",
  },
];

export function invalidConfigRun(invalid: InvalidConfig): ProgramRequest {
  return { stack: invalid.stack, config: invalid.config };
}

/**
 * A stack set to rely on API Gateway's account-level CloudWatch role (`manageApiGatewayAccount:
 * false`) in an account whose setting names a role that exists: the dev options run is one
 * (test/infra/logging.test.ts). The two prod runs below stop early: a fresh account (no role set),
 * and a setting that names a role deleted since.
 */
export const RELY_ON_EXISTING_ROLE_RUN = DEV_OPTIONS_RUN;
const RELY_ON_ROLE = { "items-api:manageApiGatewayAccount": "false" };
export const RELY_ON_UNSET_ROLE_RUN: ProgramRequest = { stack: "prod", config: RELY_ON_ROLE };
export const RELY_ON_DELETED_ROLE_RUN: ProgramRequest = {
  stack: "prod",
  config: RELY_ON_ROLE,
  account: { apiGatewayCloudWatchRoleArn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${EXISTING_ROLE_NAME}`, roles: [] },
};

/** The dev stack with the README's example route added (test/local/new-route.test.ts). */
export const NEW_ROUTE_RUN: ProgramRequest = { stack: "dev", preload: ["test/support/example-route-preload.ts"] };

/**
 * Every run the suite makes, one after another in one process: the first run loads the Pulumi
 * SDK, the AWS provider and awsx, most of its time, and later runs reuse them; a second process
 * would load them all again on the cores mocha, tsc and the lint need. The stacks come first, as
 * most tests wait for them; the invalid configurations stop before any resource and cost little.
 */
export const PROGRAM_RUNS: readonly ProgramRequest[] = [
  { stack: "dev" },
  { stack: "prod" },
  DEV_OPTIONS_RUN,
  NEW_ROUTE_RUN,
  ...INVALID_CONFIG.map(invalidConfigRun),
  RELY_ON_UNSET_ROLE_RUN,
  RELY_ON_DELETED_ROLE_RUN,
];

export function startInfraPrograms(): void {
  // Failures surface in the tests that await the same (memoized) promises.
  sharedProcessSnapshots(PROGRAM_RUNS).catch(() => undefined);
}
