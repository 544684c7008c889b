/**
 * Stack settings without Pulumi. `CONFIG` is THE table of config keys: each key's type, allowed
 * values, default, description and whether it is secret, stated once. Everything else derives
 * from it: `parseSettings` (the validators and their messages), the descriptions' "Allowed:"
 * text, `Pulumi.yaml`'s `config:` block and the README's table (both written by
 * `npm run config:docs`, local/config-docs.ts; a test fails when they drift). Rules between keys
 * are code, each in a named function below. infra/config.ts feeds this `pulumi.Config`; the
 * local runtime feeds it a stack's YAML. Importing this module loads no Pulumi package.
 */
import { LOG_LEVELS, LogLevel, SIGN_IN_MODES, SignIn } from "../handlers/env";
import { INTEGRATION_TIMEOUT_RANGE_MS } from "./apigateway-import";
import { routes } from "./routes";

/** Something a string value must be, as a phrase for messages and docs and as a test. */
export interface StringPattern {
  /** A noun phrase: `an e-mail address`. */
  label: string;
  matches: (value: string) => boolean;
}

interface KeyBase {
  /** What the key does, without its allowed values (those are appended from the fields). */
  description: string;
  /** Stack files must hold it encrypted (`pulumi config set --secret`); messages never echo it. */
  secret?: true;
}

interface IntegerRange extends KeyBase {
  type: "integer";
  default: number;
  min: number;
  max: number;
  allowed?: undefined;
}

/** An integer from `min` to `max`. */
export interface IntegerKey extends IntegerRange {
  none?: undefined;
}

/** An integer from `min` to `max`, or `none.value` (outside that range) for "not set". */
export interface OptionalIntegerKey extends IntegerRange {
  none: { value: number; meaning: string };
}

/** An integer from a fixed list. */
export interface ListedIntegerKey extends KeyBase {
  type: "integer";
  default: number;
  allowed: { name: string; values: readonly number[] };
}

export interface EnumKey extends KeyBase {
  type: "string";
  default: string;
  enum: readonly string[];
}

/** A string matching `pattern`, or empty (the default) with the stated meaning. */
export interface OptionalStringKey extends KeyBase {
  type: "string";
  default: "";
  pattern: StringPattern;
  empty: string;
}

export interface BooleanKey extends KeyBase {
  type: "boolean";
  default: boolean;
}

/** A list of strings, each matching `items`: a YAML list, or JSON text as Pulumi gives it. */
export interface StringListKey extends KeyBase {
  type: "array";
  default: readonly string[];
  items: StringPattern;
}

export type ConfigKey =
  IntegerKey | OptionalIntegerKey | ListedIntegerKey | EnumKey | OptionalStringKey | BooleanKey | StringListKey;

/**
 * Concurrency Lambda keeps unreserved in every account and region: "You can reserve up to the
 * Unreserved account concurrency value that is shown, minus 100 for functions that don't have
 * reserved concurrency" (AWS Lambda Developer Guide, "Configuring reserved concurrency for a
 * function", https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
 */
export const LAMBDA_MIN_UNRESERVED_CONCURRENCY = 100;

/** Shortest `cursorSecret` accepted: an HMAC-SHA256 key should carry at least 256 bits. */
export const CURSOR_SECRET_MIN_LENGTH = 32;

/** API Gateway gives up on an integration after this many seconds; a function must end first. */
const INTEGRATION_TIMEOUT_SECONDS = INTEGRATION_TIMEOUT_RANGE_MS.max / 1000;

const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:(\d{1,5}))?$/;

/** `*`, or scheme, host and optional port (1 to 65535): what `Access-Control-Allow-Origin` echoes. */
function isOrigin(value: string): boolean {
  if (value === "*") {
    return true;
  }
  const port = ORIGIN.exec(value)?.[2];
  return ORIGIN.test(value) && (port === undefined || (Number(port) >= 1 && Number(port) <= 65535));
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** THE table of config keys, in the order Pulumi.yaml and the README list them. */
export const CONFIG = {
  logRetentionDays: {
    type: "integer",
    default: 14,
    // CloudWatch Logs accepts only these retention periods.
    allowed: {
      name: "CloudWatch's retention periods",
      values: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
    },
    description: "Days CloudWatch keeps the API's logs.",
  },
  logLevel: {
    type: "string",
    default: "info",
    enum: LOG_LEVELS,
    description: "Handler log level.",
  },
  lambdaMemoryMb: {
    type: "integer",
    default: 256,
    min: 128,
    max: 10240,
    description: "Memory of every Lambda function in MB.",
  },
  lambdaTimeoutSeconds: {
    type: "integer",
    default: 10,
    min: 1,
    max: INTEGRATION_TIMEOUT_SECONDS - 1,
    description: `Lambda timeout in seconds, under API Gateway's ${INTEGRATION_TIMEOUT_SECONDS} s integration timeout.`,
  },
  lambdaArchitecture: {
    type: "string",
    default: "arm64",
    enum: ["arm64", "x86_64"],
    description: "Lambda architecture.",
  },
  lambdaReservedConcurrency: {
    type: "integer",
    default: -1,
    // 0 is refused: it would stop the function altogether, throttling every request.
    min: 1,
    max: 1000,
    none: { value: -1, meaning: "no reservation" },
    description: `Concurrent executions reserved for, and capping, each function. Needs lambdaAccountConcurrencyLimit: the reservations must leave ${LAMBDA_MIN_UNRESERVED_CONCURRENCY} unreserved.`,
  },
  lambdaAccountConcurrencyLimit: {
    type: "integer",
    default: -1,
    // AWS raises limits into the tens of thousands; 0 is no limit anyone has.
    min: 1,
    max: 1000000,
    none: { value: -1, meaning: "not stated, which refuses any reservation" },
    description:
      "The account's Lambda concurrent-executions limit in this region, minus what other functions there reserve (aws lambda get-account-settings).",
  },
  bundleAwsSdk: {
    type: "boolean",
    default: false,
    description:
      "Ship AWS SDK v3 inside every Lambda archive (about 7.8 MB, 2.8 MB zipped, each) instead of using the copy the nodejs22.x runtime provides; see README, Performance.",
  },
  throttleRateLimit: {
    type: "integer",
    default: 100,
    min: 1,
    max: 10000,
    description: "Stage throttling: steady requests per second.",
  },
  throttleBurstLimit: {
    type: "integer",
    default: 200,
    min: 1,
    max: 5000,
    description: "Stage throttling: burst requests (with API keys, at least usagePlanBurstLimit).",
  },
  corsAllowedOrigins: {
    type: "array",
    default: [],
    items: {
      label: 'an origin such as https://app.example.com (scheme, host and optional port only) or "*" (any)',
      matches: isOrigin,
    },
    description: 'Origins allowed by CORS, e.g. ["https://app.example.com"]; ["*"] allows any (not with API keys).',
  },
  signIn: {
    type: "string",
    default: "none",
    enum: SIGN_IN_MODES,
    description:
      "Who may call: none (anyone the gateway lets through, one shared partition of items) or cognito (users signed in to a Cognito user pool; each user's items are their own, down to IAM). API keys may be required beside either.",
  },
  cognitoUserPoolId: {
    type: "string",
    default: "",
    pattern: {
      label: "a Cognito user pool id such as us-east-1_AbC123xyz",
      matches: (value) => /^[\w-]+_[0-9a-zA-Z]+$/.test(value),
    },
    empty: "the stack creates its own user pool",
    description:
      "With signIn cognito: an existing user pool whose users may call (the stack adds an app client to it).",
  },
  apiKeyRequired: {
    type: "boolean",
    default: false,
    description: "Require an API key (x-api-key) on every route, with a usage plan.",
  },
  usagePlanQuotaPerDay: {
    type: "integer",
    default: 10000,
    min: 1,
    max: 100000000,
    description: "Usage plan: requests per day per API key.",
  },
  usagePlanRateLimit: {
    type: "integer",
    default: 50,
    min: 1,
    max: 10000,
    description: "Usage plan: steady requests per second per API key.",
  },
  usagePlanBurstLimit: {
    type: "integer",
    default: 100,
    min: 1,
    max: 5000,
    description: "Usage plan: burst requests per API key.",
  },
  tracingEnabled: { type: "boolean", default: false, description: "X-Ray tracing on the Lambdas and the stage." },
  pointInTimeRecovery: {
    type: "boolean",
    default: false,
    description: "DynamoDB point-in-time recovery on the tables.",
  },
  deletionProtection: { type: "boolean", default: false, description: "DynamoDB deletion protection on the tables." },
  alarmEmail: {
    type: "string",
    default: "",
    pattern: { label: "an e-mail address", matches: (value) => EMAIL.test(value) },
    empty: "no subscription",
    description: "E-mail address subscribed to the alarm topic (confirm the subscription mail).",
  },
  manageApiGatewayAccount: {
    type: "boolean",
    default: false,
    description:
      "Create, and keep on destroy, the account-wide API Gateway CloudWatch role; only one stack per account and region should.",
  },
  cursorSecret: {
    type: "string",
    default: "",
    secret: true,
    pattern: {
      label: `a string of at least ${CURSOR_SECRET_MIN_LENGTH} characters`,
      matches: (value) => value.length >= CURSOR_SECRET_MIN_LENGTH,
    },
    empty: "a key derived from the stack and table, see README",
    description: "HMAC key of list cursors; set it with --secret.",
  },
} as const satisfies Record<string, ConfigKey>;

export type ConfigKeyName = keyof typeof CONFIG;

/** The table as a list, in its order. */
export const CONFIG_KEYS: ReadonlyArray<ConfigKey & { key: ConfigKeyName }> = Object.entries(CONFIG).map(
  ([key, spec]: [string, ConfigKey]) => ({ key: key as ConfigKeyName, ...spec }),
);

/** What a key accepts, as one phrase: the validators' messages and the docs both use it. */
export function allowedText(spec: ConfigKey): string {
  switch (spec.type) {
    case "boolean":
      return "true or false";
    case "array":
      return `a list of strings, each ${spec.items.label}`;
    case "string":
      return "enum" in spec ? `one of ${spec.enum.join(", ")}` : `${spec.pattern.label}, or empty (${spec.empty})`;
    case "integer":
      if (spec.allowed !== undefined) {
        return `one of ${spec.allowed.name}: ${spec.allowed.values.join(", ")}`;
      }
      return `an integer from ${spec.min} to ${spec.max}${spec.none === undefined ? "" : `, or ${spec.none.value} (${spec.none.meaning})`}`;
  }
}

/** A key's full description, as Pulumi.yaml states it: what it does, then what it accepts. */
export function describeKey(spec: ConfigKey): string {
  // A boolean's type says all it accepts.
  return spec.type === "boolean" ? spec.description : `${spec.description} Allowed: ${allowedText(spec)}.`;
}

export type Architecture = (typeof CONFIG.lambdaArchitecture.enum)[number];

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
  /** Who may call; with Cognito, the pool to take (undefined: the stack creates one). */
  signIn: { mode: SignIn; userPoolId: string | undefined };
  tracing: boolean;
  pointInTimeRecovery: boolean;
  deletionProtection: boolean;
  alarmEmail: string | undefined;
  /** Create the account-level API Gateway CloudWatch role (one per account and region). */
  manageApiGatewayAccount: boolean;
}

/** A raw value as a config source holds it: Pulumi gives strings, YAML gives typed values. */
export type RawValue = string | number | boolean | readonly unknown[] | undefined;

export type ReadRaw = (key: string) => RawValue;

/** The keys whose table entry is of one kind, so each reader takes only keys it can read. */
type KeysOf<Kind> = { [K in ConfigKeyName]: (typeof CONFIG)[K] extends Kind ? K : never }[ConfigKeyName];

function fail(key: string, message: string): never {
  throw new Error(`invalid config items-api:${key}: ${message}`);
}

/** The message for a value the key does not accept; a secret's value is never repeated. */
function refuse(key: ConfigKeyName, raw: RawValue): never {
  const spec: ConfigKey = CONFIG[key];
  return fail(key, `must be ${allowedText(spec)}${spec.secret ? "" : `, got ${JSON.stringify(raw)}`}`);
}

function rawOrDefault(read: ReadRaw, key: ConfigKeyName): RawValue {
  return read(key) ?? CONFIG[key].default;
}

/** Integers as YAML gives them, or as Pulumi's text ("-1", " 28 "); anything else is not one. */
function integerValue(raw: RawValue): number | undefined {
  const value = typeof raw === "string" && /^-?\d+$/.test(raw.trim()) ? Number(raw) : raw;
  return typeof value === "number" && Number.isInteger(value) ? value : undefined;
}

/** `raw` if it is an integer from the key's min to its max; anything else is refused. */
function integerInRange(key: KeysOf<IntegerRange>, raw: RawValue): number {
  const spec: IntegerRange = CONFIG[key];
  const value = integerValue(raw);
  return value !== undefined && value >= spec.min && value <= spec.max ? value : refuse(key, raw);
}

function integer(read: ReadRaw, key: KeysOf<IntegerKey>): number {
  return integerInRange(key, rawOrDefault(read, key));
}

/** The key's integer, or undefined for its `none` value. */
function optionalInteger(read: ReadRaw, key: KeysOf<OptionalIntegerKey>): number | undefined {
  const raw = rawOrDefault(read, key);
  return integerValue(raw) === CONFIG[key].none.value ? undefined : integerInRange(key, raw);
}

function listedInteger(read: ReadRaw, key: KeysOf<ListedIntegerKey>): number {
  const spec: ListedIntegerKey = CONFIG[key];
  const raw = rawOrDefault(read, key);
  const value = integerValue(raw);
  return value !== undefined && spec.allowed.values.includes(value) ? value : refuse(key, raw);
}

function oneOf<K extends KeysOf<EnumKey>>(read: ReadRaw, key: K): (typeof CONFIG)[K]["enum"][number] {
  const allowed: readonly (typeof CONFIG)[K]["enum"][number][] = CONFIG[key].enum;
  const raw = rawOrDefault(read, key);
  return allowed.find((value) => value === raw) ?? refuse(key, raw);
}

/** The key's string, or undefined when it is empty. */
function optionalString(read: ReadRaw, key: KeysOf<OptionalStringKey>): string | undefined {
  const spec: OptionalStringKey = CONFIG[key];
  const raw = rawOrDefault(read, key);
  if (raw === "") {
    return undefined;
  }
  return typeof raw === "string" && spec.pattern.matches(raw) ? raw : refuse(key, raw);
}

function boolean(read: ReadRaw, key: KeysOf<BooleanKey>): boolean {
  const raw = rawOrDefault(read, key);
  if (raw === true || raw === "true") {
    return true;
  }
  if (raw === false || raw === "false") {
    return false;
  }
  return fail(key, `must be true or false, got ${JSON.stringify(raw)}`);
}

function stringList(read: ReadRaw, key: KeysOf<StringListKey>): string[] {
  const spec: StringListKey = CONFIG[key];
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
  const wrong = value.find((member) => !spec.items.matches(member));
  return wrong === undefined ? value : fail(key, `${JSON.stringify(wrong)} is not ${spec.items.label}`);
}

/** Rule: any origin (`*`) would hand every web page the key-protected API; list the origins. */
function checkNoAnyOriginWithApiKeys(settings: Settings): void {
  if (settings.apiKeys.required && settings.corsAllowedOrigins.includes("*")) {
    fail("corsAllowedOrigins", `"*" is not allowed when apiKeyRequired is true; list the allowed origins`);
  }
}

/** Rule: a user pool means nothing without sign-in; say so rather than ignore it. */
function checkUserPoolNeedsSignIn(signIn: Settings["signIn"]): void {
  if (signIn.userPoolId !== undefined && signIn.mode !== "cognito") {
    fail(
      "cognitoUserPoolId",
      `is set but signIn is ${signIn.mode}; set signIn to cognito, or leave cognitoUserPoolId empty`,
    );
  }
}

/**
 * Rule: a reservation per function must leave LAMBDA_MIN_UNRESERVED_CONCURRENCY of the
 * account's limit unreserved, or AWS refuses it in the middle of `pulumi up`. The program cannot
 * read the limit (new accounts start below the usual 1,000), so a reservation needs it stated.
 */
function checkReservationsLeaveUnreserved(lambda: Settings["lambda"], functionCount: number): void {
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
 * Rule: what a usage plan offers one API key must fit inside the stage's own throttling, or the
 * key can never reach it (API Gateway applies the stricter of the two; see its developer guide,
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

/**
 * Pure: raw values (Pulumi config or a stack's YAML) to validated settings: every key on its
 * own first, then the rules between keys. `functionCount` is how many functions a reservation
 * applies to: one per route.
 */
export function parseSettings(read: ReadRaw, functionCount: number = routes.length): Settings {
  const settings: Settings = {
    logRetentionDays: listedInteger(read, "logRetentionDays"),
    logLevel: oneOf(read, "logLevel"),
    lambda: {
      memoryMb: integer(read, "lambdaMemoryMb"),
      timeoutSeconds: integer(read, "lambdaTimeoutSeconds"),
      architecture: oneOf(read, "lambdaArchitecture"),
      bundleAwsSdk: boolean(read, "bundleAwsSdk"),
      reservedConcurrency: optionalInteger(read, "lambdaReservedConcurrency"),
      accountConcurrencyLimit: optionalInteger(read, "lambdaAccountConcurrencyLimit"),
    },
    throttle: { rateLimit: integer(read, "throttleRateLimit"), burstLimit: integer(read, "throttleBurstLimit") },
    corsAllowedOrigins: stringList(read, "corsAllowedOrigins"),
    apiKeys: {
      required: boolean(read, "apiKeyRequired"),
      quotaPerDay: integer(read, "usagePlanQuotaPerDay"),
      rateLimit: integer(read, "usagePlanRateLimit"),
      burstLimit: integer(read, "usagePlanBurstLimit"),
    },
    signIn: { mode: oneOf(read, "signIn"), userPoolId: optionalString(read, "cognitoUserPoolId") },
    tracing: boolean(read, "tracingEnabled"),
    pointInTimeRecovery: boolean(read, "pointInTimeRecovery"),
    deletionProtection: boolean(read, "deletionProtection"),
    alarmEmail: optionalString(read, "alarmEmail"),
    manageApiGatewayAccount: boolean(read, "manageApiGatewayAccount"),
  };
  checkNoAnyOriginWithApiKeys(settings);
  checkUserPoolNeedsSignIn(settings.signIn);
  checkReservationsLeaveUnreserved(settings.lambda, functionCount);
  checkUsagePlanFitsStage(settings.throttle, settings.apiKeys);
  return settings;
}

/**
 * Pure: the configured cursor secret, or undefined when none is set (the program then derives
 * one, see infra/functions.ts). Not part of `Settings`: it is a secret, handled as an Output.
 */
export function parseCursorSecret(raw: RawValue): string | undefined {
  return optionalString(() => raw, "cursorSecret");
}
