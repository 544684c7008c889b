/**
 * Stack settings without Pulumi. `CONFIG` is THE table of config keys: each key's type, allowed
 * values, default, description, whether it is secret and where it lands in `Settings`, stated
 * once. Everything else derives from it: the `Settings` type, `parseSettings` (the validators and
 * their messages), the descriptions' "Allowed:"
 * text, `Pulumi.yaml`'s `config:` block and the README's table (both written by
 * `npm run config:docs`, local/config-docs.ts; a test fails when they drift). Rules between keys
 * are code, each in a named function below. infra/config.ts feeds this `pulumi.Config`; the
 * local runtime feeds it a stack's YAML. Importing this module loads no Pulumi package.
 */
import { LOG_LEVELS, SIGN_IN_MODES } from "../handlers/env";
import { INTEGRATION_TIMEOUT_RANGE_MS } from "./apigateway-import";
import { routes } from "./routes";

/** Something a string value must be, as a phrase for messages and docs and as a test. */
export interface StringPattern {
  /** A noun phrase: `an e-mail address`. */
  label: string;
  matches: (value: string) => boolean;
}

interface KeyBase {
  /**
   * Where `parseSettings` puts the value in `Settings`, as a dot path (`lambda.memoryMb`); the
   * `Settings` type derives from these paths and the keys' kinds. None: not a setting (the
   * cursor secret, read apart by `parseCursorSecret`).
   */
  setting?: string;
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
    setting: "logRetentionDays",
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
    setting: "logLevel",
    type: "string",
    default: "info",
    enum: LOG_LEVELS,
    description: "Handler log level.",
  },
  lambdaMemoryMb: {
    setting: "lambda.memoryMb",
    type: "integer",
    default: 256,
    min: 128,
    max: 10240,
    description: "Memory of every Lambda function in MB.",
  },
  lambdaTimeoutSeconds: {
    setting: "lambda.timeoutSeconds",
    type: "integer",
    default: 10,
    min: 1,
    max: INTEGRATION_TIMEOUT_SECONDS - 1,
    description: `Lambda timeout in seconds, under API Gateway's ${INTEGRATION_TIMEOUT_SECONDS} s integration timeout.`,
  },
  lambdaArchitecture: {
    setting: "lambda.architecture",
    type: "string",
    default: "arm64",
    enum: ["arm64", "x86_64"],
    description: "Lambda architecture.",
  },
  lambdaReservedConcurrency: {
    setting: "lambda.reservedConcurrency",
    type: "integer",
    default: -1,
    // 0 is refused: it would stop the function altogether, throttling every request.
    min: 1,
    max: 1000,
    none: { value: -1, meaning: "no reservation" },
    description: `Concurrent executions reserved for, and capping, each function. Needs lambdaAccountConcurrencyLimit: the reservations must leave ${LAMBDA_MIN_UNRESERVED_CONCURRENCY} unreserved.`,
  },
  lambdaAccountConcurrencyLimit: {
    setting: "lambda.accountConcurrencyLimit",
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
    setting: "lambda.bundleAwsSdk",
    type: "boolean",
    default: false,
    description:
      "Ship AWS SDK v3 inside every Lambda archive (about 7.8 MB, 2.8 MB zipped, each) instead of using the copy the nodejs22.x runtime provides; see README, Performance.",
  },
  throttleRateLimit: {
    setting: "throttle.rateLimit",
    type: "integer",
    default: 100,
    min: 1,
    max: 10000,
    description: "Stage throttling: steady requests per second.",
  },
  throttleBurstLimit: {
    setting: "throttle.burstLimit",
    type: "integer",
    default: 200,
    min: 1,
    max: 5000,
    description: "Stage throttling: burst requests (with API keys, at least usagePlanBurstLimit).",
  },
  corsAllowedOrigins: {
    setting: "corsAllowedOrigins",
    type: "array",
    default: [],
    items: {
      label: 'an origin such as https://app.example.com (scheme, host and optional port only) or "*" (any)',
      matches: isOrigin,
    },
    description: 'Origins allowed by CORS, e.g. ["https://app.example.com"]; ["*"] allows any (not with API keys).',
  },
  signIn: {
    setting: "signIn.mode",
    type: "string",
    default: "none",
    enum: SIGN_IN_MODES,
    description:
      "Who may call: none (anyone the gateway lets through, one shared partition of items) or cognito (users signed in to a Cognito user pool; each user's items are their own, down to IAM). API keys may be required beside either.",
  },
  cognitoUserPoolId: {
    setting: "signIn.userPoolId",
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
    setting: "apiKeys.required",
    type: "boolean",
    default: false,
    description: "Require an API key (x-api-key) on every route, with a usage plan.",
  },
  usagePlanQuotaPerDay: {
    setting: "apiKeys.quotaPerDay",
    type: "integer",
    default: 10000,
    min: 1,
    max: 100000000,
    description: "Usage plan: requests per day per API key.",
  },
  usagePlanRateLimit: {
    setting: "apiKeys.rateLimit",
    type: "integer",
    default: 50,
    min: 1,
    max: 10000,
    description: "Usage plan: steady requests per second per API key.",
  },
  usagePlanBurstLimit: {
    setting: "apiKeys.burstLimit",
    type: "integer",
    default: 100,
    min: 1,
    max: 5000,
    description: "Usage plan: burst requests per API key.",
  },
  tracingEnabled: {
    setting: "tracing",
    type: "boolean",
    default: false,
    description: "X-Ray tracing on the Lambdas and the stage.",
  },
  pointInTimeRecovery: {
    setting: "pointInTimeRecovery",
    type: "boolean",
    default: false,
    description: "DynamoDB point-in-time recovery on the tables.",
  },
  deletionProtection: {
    setting: "deletionProtection",
    type: "boolean",
    default: false,
    description: "DynamoDB deletion protection on the tables.",
  },
  alarmEmail: {
    setting: "alarmEmail",
    type: "string",
    default: "",
    pattern: { label: "an e-mail address", matches: (value) => EMAIL.test(value) },
    empty: "no subscription",
    description: "E-mail address subscribed to the alarm topic (confirm the subscription mail).",
  },
  manageApiGatewayAccount: {
    setting: "manageApiGatewayAccount",
    type: "boolean",
    default: true,
    description:
      "Create API Gateway's account-wide CloudWatch role and setting (kept on destroy); false relies on an existing one, checked before creating anything.",
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

/** The value a key of this kind gives its setting: `none` and an empty string become undefined. */
type ValueOfKey<Spec> = Spec extends { type: "boolean" }
  ? boolean
  : Spec extends { type: "array" }
    ? string[]
    : Spec extends { enum: readonly (infer Member)[] }
      ? Member
      : Spec extends { type: "string" }
        ? string | undefined
        : Spec extends { none: object }
          ? number | undefined
          : number;

/** `{ a: { b: Value } }` for the path `a.b`. */
type Nested<Path extends string, Value> = Path extends `${infer Head}.${infer Rest}`
  ? { [K in Head]: Nested<Rest, Value> }
  : { [K in Path]: Value };
type Intersection<Union> = (Union extends unknown ? (member: Union) => void : never) extends (
  member: infer Both,
) => void
  ? Both
  : never;
/** An intersection of nested objects as one object type, arrays and scalars left as they are. */
type Merged<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]: Merged<T[K]> } : T;

type SettingKey = { [K in ConfigKeyName]: (typeof CONFIG)[K] extends { setting: string } ? K : never }[ConfigKeyName];

/**
 * The validated settings, typed from THE table: each key with a `setting` path, of the type its
 * kind gives (e.g. `lambda.reservedConcurrency: number | undefined` for an optional integer).
 */
export type Settings = Merged<
  Intersection<
    {
      [K in SettingKey]: (typeof CONFIG)[K] extends { setting: infer Path extends string }
        ? Nested<Path, ValueOfKey<(typeof CONFIG)[K]>>
        : never;
    }[SettingKey]
  >
>;

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

/** A key's value, read and checked as its kind says. */
function readKey(read: ReadRaw, key: ConfigKeyName): unknown {
  const spec: ConfigKey = CONFIG[key];
  switch (spec.type) {
    case "boolean":
      return boolean(read, key as KeysOf<BooleanKey>);
    case "array":
      return stringList(read, key as KeysOf<StringListKey>);
    case "string":
      return "enum" in spec
        ? oneOf(read, key as KeysOf<EnumKey>)
        : optionalString(read, key as KeysOf<OptionalStringKey>);
    case "integer":
      if (spec.allowed !== undefined) {
        return listedInteger(read, key as KeysOf<ListedIntegerKey>);
      }
      return spec.none === undefined
        ? integer(read, key as KeysOf<IntegerKey>)
        : optionalInteger(read, key as KeysOf<OptionalIntegerKey>);
  }
}

/**
 * Pure: raw values (Pulumi config or a stack's YAML) to validated settings: every key on its
 * own first, each put where its `setting` path says, then the rules between keys.
 * `functionCount` is how many functions a reservation applies to: one per route.
 */
export function parseSettings(read: ReadRaw, functionCount: number = routes.length): Settings {
  const values: Record<string, unknown> = {};
  for (const { key, setting } of CONFIG_KEYS) {
    if (setting !== undefined) {
      const path = setting.split(".");
      const parent = path
        .slice(0, -1)
        .reduce<Record<string, unknown>>((object, part) => (object[part] ??= {}) as Record<string, unknown>, values);
      parent[path[path.length - 1] ?? key] = readKey(read, key);
    }
  }
  // Built from the table the type derives from, each value read as its key's kind says.
  const settings = values as Settings;
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
