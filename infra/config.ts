/**
 * Stack settings: the ONE place `new pulumi.Config()` is read. Every key is declared here once
 * (type, description, default, validation); `Pulumi.yaml` declares the same keys (a test keeps
 * them equal) and the local runtime reads a stack's YAML through the same parser.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { routes } from "./routes";

export type LogLevel = "debug" | "info" | "warn" | "error";
export type Architecture = "arm64" | "x86_64";

export interface Settings {
  /** Days CloudWatch keeps Lambda, access and execution logs. */
  logRetentionDays: number;
  logLevel: LogLevel;
  lambda: {
    memoryMb: number;
    timeoutSeconds: number;
    architecture: Architecture;
    /** Ship AWS SDK v3 in every archive instead of using the runtime's copy (see infra/functions.ts). */
    bundleAwsSdk: boolean;
    /** Concurrent executions reserved for (and capping) each function; undefined: none. */
    reservedConcurrency: number | undefined;
    /** The account's concurrent-executions limit in the region, as stated; undefined: not stated. */
    accountConcurrencyLimit: number | undefined;
  };
  /** Stage-wide API Gateway throttling (requests per second and burst). */
  throttle: { rateLimit: number; burstLimit: number };
  /** Exact origins CORS allows; `*` allows any (refused when API keys are on). Empty: no CORS. */
  corsAllowedOrigins: string[];
  apiKeys: { required: boolean; quotaPerDay: number; rateLimit: number; burstLimit: number };
  tracing: boolean;
  pointInTimeRecovery: boolean;
  deletionProtection: boolean;
  alarmEmail: string | undefined;
  /** Create the account-level API Gateway CloudWatch role (one per account and region). */
  manageApiGatewayAccount: boolean;
}

type KeyType = "string" | "integer" | "boolean" | "array";

export interface ConfigKey {
  key: string;
  type: KeyType;
  description: string;
  default?: string | number | boolean | string[];
}

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

export const CONFIG_KEYS: readonly ConfigKey[] = [
  {
    key: "logRetentionDays",
    type: "integer",
    default: 14,
    description: "Days CloudWatch keeps the API's logs; one of CloudWatch's allowed values.",
  },
  { key: "logLevel", type: "string", default: "info", description: "Handler log level: debug, info, warn or error." },
  {
    key: "lambdaMemoryMb",
    type: "integer",
    default: 256,
    description: "Memory of every Lambda function in MB (128 to 10240).",
  },
  {
    key: "lambdaTimeoutSeconds",
    type: "integer",
    default: 10,
    description: "Lambda timeout in seconds (1 to 28, under API Gateway's 29 s).",
  },
  { key: "lambdaArchitecture", type: "string", default: "arm64", description: "Lambda architecture: arm64 or x86_64." },
  {
    key: "lambdaReservedConcurrency",
    type: "integer",
    default: -1,
    description:
      "Concurrent executions reserved for, and capping, each function (1 to 1000); -1 reserves none. Needs lambdaAccountConcurrencyLimit: the reservations must leave 100 unreserved.",
  },
  {
    key: "lambdaAccountConcurrencyLimit",
    type: "integer",
    default: -1,
    description:
      "The account's Lambda concurrent-executions limit in this region, minus what other functions there reserve (aws lambda get-account-settings); -1: not stated, which refuses any reservation.",
  },
  {
    key: "bundleAwsSdk",
    type: "boolean",
    default: false,
    description:
      "Ship AWS SDK v3 inside every Lambda archive (about 7.8 MB, 2.8 MB zipped, each) instead of using the copy the nodejs22.x runtime provides; see README, Performance.",
  },
  {
    key: "throttleRateLimit",
    type: "integer",
    default: 100,
    description: "Stage throttling: steady requests per second.",
  },
  { key: "throttleBurstLimit", type: "integer", default: 200, description: "Stage throttling: burst requests." },
  {
    key: "corsAllowedOrigins",
    type: "array",
    default: [],
    description: 'Origins allowed by CORS, e.g. ["https://app.example.com"]; ["*"] allows any (not with API keys).',
  },
  {
    key: "apiKeyRequired",
    type: "boolean",
    default: false,
    description: "Require an API key (x-api-key) on every route, with a usage plan.",
  },
  {
    key: "usagePlanQuotaPerDay",
    type: "integer",
    default: 10000,
    description: "Usage plan: requests per day per API key.",
  },
  {
    key: "usagePlanRateLimit",
    type: "integer",
    default: 50,
    description: "Usage plan: steady requests per second per API key.",
  },
  { key: "usagePlanBurstLimit", type: "integer", default: 100, description: "Usage plan: burst requests per API key." },
  {
    key: "tracingEnabled",
    type: "boolean",
    default: false,
    description: "X-Ray tracing on the Lambdas and the stage.",
  },
  {
    key: "pointInTimeRecovery",
    type: "boolean",
    default: false,
    description: "DynamoDB point-in-time recovery on the tables.",
  },
  {
    key: "deletionProtection",
    type: "boolean",
    default: false,
    description: "DynamoDB deletion protection on the tables.",
  },
  {
    key: "alarmEmail",
    type: "string",
    default: "",
    description: "E-mail address subscribed to the alarm topic (optional).",
  },
  {
    key: "manageApiGatewayAccount",
    type: "boolean",
    default: false,
    description: "Create the account-wide API Gateway CloudWatch role; only one stack per account and region should.",
  },
  {
    key: "cursorSecret",
    type: "string",
    default: "",
    description:
      "HMAC key of list cursors, at least 32 characters; set it with --secret. Empty: derived from the stack and table (see README).",
  },
];

/** A raw value as a config source holds it: Pulumi gives strings, YAML gives typed values. */
export type RawValue = string | number | boolean | unknown[] | undefined;

function fail(key: string, message: string): never {
  throw new Error(`invalid config items-api:${key}: ${message}`);
}

function rawOrDefault(read: (key: string) => RawValue, key: string): RawValue {
  const value = read(key);
  return value ?? CONFIG_KEYS.find((entry) => entry.key === key)?.default;
}

function integer(read: (key: string) => RawValue, key: string, min: number, max: number): number {
  const raw = rawOrDefault(read, key);
  const value = typeof raw === "string" && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    return fail(key, `must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** -1 (none) or 1..1000; 0 would stop the function altogether, so it is refused. */
function reservedConcurrency(read: (key: string) => RawValue, key: string): number | undefined {
  const value = integer(read, key, -1, 1000);
  if (value === 0) {
    return fail(key, "must be -1 (no reservation) or from 1 to 1000; 0 would throttle every request");
  }
  return value === -1 ? undefined : value;
}

/**
 * Concurrency Lambda keeps unreserved in every account and region: "You can reserve up to the
 * Unreserved account concurrency value that is shown, minus 100 for functions that don't have
 * reserved concurrency" (AWS Lambda Developer Guide, "Configuring reserved concurrency for a
 * function", https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
 */
export const LAMBDA_MIN_UNRESERVED_CONCURRENCY = 100;

/** Largest account concurrency limit accepted (AWS raises limits into the tens of thousands). */
const MAX_ACCOUNT_CONCURRENCY_LIMIT = 1000000;

/** -1 (not stated) or a positive limit. */
function accountConcurrencyLimit(read: (key: string) => RawValue, key: string): number | undefined {
  const value = integer(read, key, -1, MAX_ACCOUNT_CONCURRENCY_LIMIT);
  if (value === 0) {
    return fail(key, `must be -1 (not stated) or the account's limit, from 1 to ${MAX_ACCOUNT_CONCURRENCY_LIMIT}`);
  }
  return value === -1 ? undefined : value;
}

/**
 * A reservation per function must leave LAMBDA_MIN_UNRESERVED_CONCURRENCY of the account's
 * limit unreserved, or AWS refuses it in the middle of `pulumi up`. The program cannot read the
 * limit (new accounts start below the usual 1,000), so a reservation needs it stated.
 */
function checkReservations(lambda: Settings["lambda"], functionCount: number): void {
  const { reservedConcurrency: perFunction, accountConcurrencyLimit: limit } = lambda;
  if (perFunction === undefined) {
    return;
  }
  if (limit === undefined) {
    fail(
      "lambdaAccountConcurrencyLimit",
      `must be stated when lambdaReservedConcurrency reserves executions: set it to the account's concurrent-executions limit in this region (aws lambda get-account-settings), minus what other functions there reserve`,
    );
  }
  const reserved = perFunction * functionCount;
  if (limit - reserved < LAMBDA_MIN_UNRESERVED_CONCURRENCY) {
    const most = Math.floor((limit - LAMBDA_MIN_UNRESERVED_CONCURRENCY) / functionCount);
    fail(
      "lambdaReservedConcurrency",
      `${functionCount} functions x ${perFunction} = ${reserved} reserved leaves ${limit - reserved} of lambdaAccountConcurrencyLimit ${limit} unreserved; AWS keeps at least ${LAMBDA_MIN_UNRESERVED_CONCURRENCY}, ${most >= 1 ? `so at most ${most} per function` : "so no reservation fits: keep -1 or raise the account's limit"}`,
    );
  }
}

/**
 * What a usage plan offers one API key must fit inside the stage's own throttling, or the key
 * can never reach it (API Gateway applies the stricter of the two; see its developer guide,
 * "Throttle API requests for better throughput"). The stage burst is not required to reach the
 * stage rate: AWS's own account-level default is 10,000 requests/s with a 5,000-request bucket
 * ("Amazon API Gateway quotas and important notes"), and a token bucket smaller than the rate
 * still sustains the rate for evenly spread requests.
 */
function checkUsagePlanFitsStage(throttle: Settings["throttle"], apiKeys: Settings["apiKeys"]): void {
  if (!apiKeys.required) {
    return;
  }
  if (throttle.burstLimit < apiKeys.burstLimit) {
    fail(
      "throttleBurstLimit",
      `${throttle.burstLimit} is below usagePlanBurstLimit ${apiKeys.burstLimit}: a key could never burst as far as its usage plan offers`,
    );
  }
  if (throttle.rateLimit < apiKeys.rateLimit) {
    fail(
      "throttleRateLimit",
      `${throttle.rateLimit} is below usagePlanRateLimit ${apiKeys.rateLimit}: a key could never reach the rate its usage plan offers`,
    );
  }
}

function boolean(read: (key: string) => RawValue, key: string): boolean {
  const raw = rawOrDefault(read, key);
  if (raw === true || raw === "true") {
    return true;
  }
  if (raw === false || raw === "false") {
    return false;
  }
  return fail(key, `must be true or false, got ${JSON.stringify(raw)}`);
}

function oneOf<T extends string>(read: (key: string) => RawValue, key: string, allowed: readonly T[]): T {
  const raw = rawOrDefault(read, key);
  const found = allowed.find((value) => value === raw);
  if (found === undefined) {
    return fail(key, `must be one of ${allowed.join(", ")}, got ${JSON.stringify(raw)}`);
  }
  return found;
}

function stringList(read: (key: string) => RawValue, key: string): string[] {
  const raw = rawOrDefault(read, key);
  let value: unknown = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      return fail(key, `must be a JSON list of strings, got ${JSON.stringify(raw)}`);
    }
  }
  if (!Array.isArray(value) || !value.every((member): member is string => typeof member === "string")) {
    return fail(key, `must be a list of strings, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function origins(read: (key: string) => RawValue, key: string): string[] {
  const list = stringList(read, key);
  for (const origin of list) {
    const port = /:(\d+)$/.exec(origin)?.[1];
    const validPort = port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
    if (origin !== "*" && (!/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(origin) || !validPort)) {
      fail(key, `"${origin}" is not an origin such as https://app.example.com (scheme, host and optional port only)`);
    }
  }
  return list;
}

function optionalEmail(read: (key: string) => RawValue, key: string): string | undefined {
  const raw = read(key);
  if (raw === undefined || raw === "") {
    return undefined;
  }
  if (typeof raw !== "string" || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(raw)) {
    return fail(key, `must be an e-mail address, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

/**
 * Pure: raw values (Pulumi config or a stack's YAML) to validated settings. `functionCount` is
 * how many functions a reservation applies to: one per route.
 */
export function parseSettings(read: (key: string) => RawValue, functionCount: number = routes.length): Settings {
  const logRetentionDays = integer(read, "logRetentionDays", 1, 3653);
  if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
    fail(
      "logRetentionDays",
      `must be one of CloudWatch's values ${LOG_RETENTION_DAYS.join(", ")}, got ${logRetentionDays}`,
    );
  }
  const apiKeyRequired = boolean(read, "apiKeyRequired");
  const corsAllowedOrigins = origins(read, "corsAllowedOrigins");
  if (apiKeyRequired && corsAllowedOrigins.includes("*")) {
    fail("corsAllowedOrigins", `"*" is not allowed when apiKeyRequired is true; list the allowed origins`);
  }
  const throttle = {
    rateLimit: integer(read, "throttleRateLimit", 1, 10000),
    burstLimit: integer(read, "throttleBurstLimit", 1, 5000),
  };
  const lambda = {
    memoryMb: integer(read, "lambdaMemoryMb", 128, 10240),
    timeoutSeconds: integer(read, "lambdaTimeoutSeconds", 1, 28),
    architecture: oneOf(read, "lambdaArchitecture", ["arm64", "x86_64"] as const),
    reservedConcurrency: reservedConcurrency(read, "lambdaReservedConcurrency"),
    accountConcurrencyLimit: accountConcurrencyLimit(read, "lambdaAccountConcurrencyLimit"),
    bundleAwsSdk: boolean(read, "bundleAwsSdk"),
  };
  checkReservations(lambda, functionCount);
  const apiKeys = {
    required: apiKeyRequired,
    quotaPerDay: integer(read, "usagePlanQuotaPerDay", 1, 100000000),
    rateLimit: integer(read, "usagePlanRateLimit", 1, 10000),
    burstLimit: integer(read, "usagePlanBurstLimit", 1, 5000),
  };
  checkUsagePlanFitsStage(throttle, apiKeys);
  return {
    logRetentionDays,
    logLevel: oneOf(read, "logLevel", ["debug", "info", "warn", "error"] as const),
    lambda,
    throttle,
    corsAllowedOrigins,
    apiKeys,
    tracing: boolean(read, "tracingEnabled"),
    pointInTimeRecovery: boolean(read, "pointInTimeRecovery"),
    deletionProtection: boolean(read, "deletionProtection"),
    alarmEmail: optionalEmail(read, "alarmEmail"),
    manageApiGatewayAccount: boolean(read, "manageApiGatewayAccount"),
  };
}

/** Shortest `cursorSecret` accepted: an HMAC-SHA256 key should carry at least 256 bits. */
export const CURSOR_SECRET_MIN_LENGTH = 32;

/**
 * Pure: the configured cursor secret, or undefined when none is set (the program then derives
 * one, see infra/functions.ts). Not part of `Settings`: it is a secret, handled as an Output.
 */
export function parseCursorSecret(raw: RawValue): string | undefined {
  if (raw === undefined || raw === "") {
    return undefined;
  }
  if (typeof raw !== "string" || raw.length < CURSOR_SECRET_MIN_LENGTH) {
    return fail(
      "cursorSecret",
      `must be a string of at least ${CURSOR_SECRET_MIN_LENGTH} characters (set it with --secret)`,
    );
  }
  return raw;
}

/** The regions the AWS provider knows (its `aws.Region` enum). */
const KNOWN_REGIONS: readonly aws.Region[] = Object.values(aws.Region);

/**
 * Pure: the stack's AWS region (`aws:region`, or AWS_REGION/AWS_DEFAULT_REGION as the provider
 * reads them), required: a region is never guessed. Only regions in the provider's `aws.Region`
 * list are accepted (a region newer than the installed @pulumi/aws needs an upgrade first).
 */
export function parseRegion(raw: RawValue): aws.Region {
  if (raw === undefined || raw === "") {
    throw new Error(
      "invalid config aws:region: not set; set it with `pulumi config set aws:region <region>` (or AWS_REGION); the program does not guess a region",
    );
  }
  const region = KNOWN_REGIONS.find((known) => known === raw);
  if (region === undefined) {
    throw new Error(
      `invalid config aws:region: must be an AWS region the AWS provider knows, such as us-east-1, got ${JSON.stringify(raw)}`,
    );
  }
  return region;
}

/** The region the stack's default AWS provider deploys to, resolved as the provider resolves it. */
export function loadRegion(): aws.Region {
  return parseRegion(aws.config.region);
}

/** Reads the current stack's configuration. */
export function loadConfig(): Settings {
  const config = new pulumi.Config();
  return parseSettings((key) => config.get(key));
}

/** The stack's `cursorSecret` as a secret Output, or undefined when it is not set. */
export function loadCursorSecret(): pulumi.Output<string> | undefined {
  const config = new pulumi.Config();
  // Read as plain text only to validate it; it leaves here wrapped as a secret.
  const value = parseCursorSecret(config.get("cursorSecret"));
  return value === undefined ? undefined : pulumi.secret(value);
}
