/**
 * THE handler environment: each variable's name, how a handler parses it and its default, and
 * `handlerEnvironment`, the one function that builds the variables from settings (for the stack,
 * the local runtime, the bench and the tests alike). Handlers take settings from these variables
 * only (never captured config values: those would be serialized into the archive in plain text),
 * read once per container, failing fast.
 */

/** The log levels, least severe first. */
const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Who may call: anyone the gateway lets through (`none`), or users signed in with Cognito. */
const SIGN_IN_MODES = ["none", "cognito"] as const;
export type SignIn = (typeof SIGN_IN_MODES)[number];

export interface HandlerSettings {
  /** DynamoDB table holding the items. */
  tableName: string;
  /** DynamoDB table holding Idempotency-Key records (TTL on `expiresAt`). */
  idempotencyTableName: string;
  /** HMAC key that makes list cursors tamper-evident. */
  cursorSecret: string;
  /** Exact origins allowed by CORS; `*` allows any. Empty: no CORS headers. */
  corsAllowedOrigins: string[];
  /** Attempts per DynamoDB call, the first included (SDK `maxAttempts`). */
  dynamoDbMaxAttempts: number;
  /** Per-attempt DynamoDB request timeout in milliseconds. */
  dynamoDbRequestTimeoutMs: number;
  /** Overrides the DynamoDB endpoint (local runtime, DynamoDB Local). Unset in AWS. */
  dynamoDbEndpoint: string | undefined;
  logLevel: LogLevel;
  /** `cognito`: every request carries the claims of a user pool's ID token; items are the user's. */
  signIn: SignIn;
  /** App clients whose ID tokens the functions accept (the token's `aud`); empty without sign-in. */
  cognitoClientIds: string[];
  /**
   * The role whose sessions, tagged with the caller's `sub`, reach DynamoDB on a sign-in stack
   * (IAM limits them to that partition). Unset: the function's own role (locally, or no sign-in).
   */
  dataAccessRoleArn: string | undefined;
}

/** The variable of each setting. */
const HANDLER_VARIABLES = {
  tableName: "TABLE_NAME",
  idempotencyTableName: "IDEMPOTENCY_TABLE_NAME",
  cursorSecret: "CURSOR_SECRET",
  corsAllowedOrigins: "CORS_ALLOWED_ORIGINS",
  dynamoDbMaxAttempts: "DYNAMODB_MAX_ATTEMPTS",
  dynamoDbRequestTimeoutMs: "DYNAMODB_REQUEST_TIMEOUT_MS",
  dynamoDbEndpoint: "DYNAMODB_ENDPOINT",
  logLevel: "LOG_LEVEL",
  signIn: "SIGN_IN",
  cognitoClientIds: "COGNITO_CLIENT_IDS",
  dataAccessRoleArn: "DATA_ACCESS_ROLE_ARN",
} as const satisfies Record<keyof HandlerSettings, string>;

// The integer settings: the value when unset (`fallback`: an object with a `default` key would
// break CallbackFunction's serializer) and the accepted range.
/** Attempts per DynamoDB call: the SDK's own default, stated explicitly. */
const DYNAMODB_ATTEMPTS = { fallback: 3, min: 1, max: 10 };
/** No single attempt waits longer than the fallback; a function's timeout may ask for less. */
const DYNAMODB_ATTEMPT_TIMEOUT_MS = { fallback: 2000, min: 100, max: 28000 };
const DEFAULT_LOG_LEVEL: LogLevel = "info";

// Exported here rather than at their declarations: `readSettings` then reaches them as
// module-local bindings, which the serializer writes as one plain variable each.
export { HANDLER_VARIABLES, LOG_LEVELS, SIGN_IN_MODES };

type Env = Record<string, string | undefined>;

/** One of `choices` in any case, from the variable `name`; blank or unset is `fallback`. */
function oneOf<T extends string>(given: string | undefined, name: string, choices: readonly T[], fallback: T): T {
  const raw = given?.trim().toLowerCase() ?? "";
  const choice = raw === "" ? fallback : choices.find((candidate) => candidate === raw);
  if (choice === undefined) {
    throw new Error(`environment variable ${name} must be one of ${choices.join(", ")}, got "${raw}"`);
  }
  return choice;
}

/** A log level in any case; blank or unset is the default. `name` is the variable, for the message. */
export function parseLogLevel(given: string | undefined, name: string): LogLevel {
  return oneOf(given, name, LOG_LEVELS, DEFAULT_LOG_LEVEL);
}

/**
 * The settings, failing fast on a variable that is missing or bad. Its helpers are declared
 * inside it: CallbackFunction's serializer writes each module-level function into the archive
 * with a wrapper of its own, about 200 bytes (bench/README.md, archives).
 */
export function readSettings(env: Env = process.env): HandlerSettings {
  type Key = keyof HandlerSettings;
  const optional = (key: Key): string | undefined => {
    const value = env[HANDLER_VARIABLES[key]]?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const required = (key: Key): string => {
    const value = optional(key);
    if (value === undefined) {
      throw new Error(`environment variable ${HANDLER_VARIABLES[key]} is required`);
    }
    return value;
  };
  /** A comma-separated list; blanks dropped. */
  const list = (key: Key): string[] =>
    (optional(key) ?? "")
      .split(",")
      .map((member) => member.trim())
      .filter((member) => member !== "");
  const integer = (key: Key, bounds: { fallback: number; min: number; max: number }): number => {
    const raw = optional(key);
    const value = raw === undefined ? bounds.fallback : /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
      throw new Error(
        `environment variable ${HANDLER_VARIABLES[key]} must be an integer from ${bounds.min} to ${bounds.max}, got "${env[HANDLER_VARIABLES[key]]}"`,
      );
    }
    return value;
  };
  const choice = <T extends string>(key: Key, choices: readonly T[], fallback: T): T =>
    oneOf(env[HANDLER_VARIABLES[key]], HANDLER_VARIABLES[key], choices, fallback);
  const signIn = choice("signIn", SIGN_IN_MODES, "none");
  const cognitoClientIds = list("cognitoClientIds");
  if (signIn === "cognito" && cognitoClientIds.length === 0) {
    throw new Error(
      `environment variable ${HANDLER_VARIABLES.cognitoClientIds} is required when ${HANDLER_VARIABLES.signIn} is cognito`,
    );
  }
  return {
    tableName: required("tableName"),
    idempotencyTableName: required("idempotencyTableName"),
    cursorSecret: required("cursorSecret"),
    corsAllowedOrigins: list("corsAllowedOrigins"),
    dynamoDbMaxAttempts: integer("dynamoDbMaxAttempts", DYNAMODB_ATTEMPTS),
    dynamoDbRequestTimeoutMs: integer("dynamoDbRequestTimeoutMs", DYNAMODB_ATTEMPT_TIMEOUT_MS),
    dynamoDbEndpoint: optional("dynamoDbEndpoint"),
    logLevel: choice("logLevel", LOG_LEVELS, DEFAULT_LOG_LEVEL),
    signIn,
    cognitoClientIds,
    dataAccessRoleArn: optional("dataAccessRoleArn"),
  };
}

/**
 * The per-attempt DynamoDB timeout of a function: all attempts fit in its timeout with room left
 * to answer 503, and no attempt waits longer than the fallback.
 */
function dynamoDbRequestTimeoutMs(functionTimeoutSeconds: number, maxAttempts: number): number {
  const { fallback, min } = DYNAMODB_ATTEMPT_TIMEOUT_MS;
  return Math.max(min, Math.min(fallback, Math.floor((functionTimeoutSeconds * 1000) / (maxAttempts + 1))));
}

/**
 * What the environment is built from. `Value` is whatever carries the table names and the
 * cursor secret: strings, or the stack's Pulumi outputs.
 */
export interface EnvironmentSources<Value> {
  tableNames: { items: Value; idempotency: Value };
  cursorSecret: Value;
  /** With sign-in: the app clients whose tokens the functions accept. */
  signIn?: { cognitoClientIds: Value };
  /** The stack's settings the handlers need (infra/settings.ts `Settings` has them). */
  settings: {
    corsAllowedOrigins: readonly string[];
    logLevel: LogLevel;
    lambda: { timeoutSeconds: number };
  };
  dynamoDb?: DynamoDbOptions;
}

/**
 * Where the handlers reach DynamoDB (unset in AWS), and overrides of the attempts and the
 * per-attempt timeout (the deployed values otherwise: see `dynamoDbRequestTimeoutMs`).
 */
export interface DynamoDbOptions {
  endpoint?: string;
  maxAttempts?: number;
  requestTimeoutMs?: number;
}

/** The handlers' environment variables, as every function of a stack gets them. */
export function handlerEnvironment<Value = string>(sources: EnvironmentSources<Value>): Record<string, Value | string> {
  const { settings, dynamoDb = {} } = sources;
  const maxAttempts = dynamoDb.maxAttempts ?? DYNAMODB_ATTEMPTS.fallback;
  const requestTimeoutMs =
    dynamoDb.requestTimeoutMs ?? dynamoDbRequestTimeoutMs(settings.lambda.timeoutSeconds, maxAttempts);
  return {
    [HANDLER_VARIABLES.tableName]: sources.tableNames.items,
    [HANDLER_VARIABLES.idempotencyTableName]: sources.tableNames.idempotency,
    [HANDLER_VARIABLES.cursorSecret]: sources.cursorSecret,
    [HANDLER_VARIABLES.corsAllowedOrigins]: settings.corsAllowedOrigins.join(","),
    [HANDLER_VARIABLES.dynamoDbMaxAttempts]: String(maxAttempts),
    [HANDLER_VARIABLES.dynamoDbRequestTimeoutMs]: String(requestTimeoutMs),
    [HANDLER_VARIABLES.logLevel]: settings.logLevel,
    ...(dynamoDb.endpoint === undefined ? {} : { [HANDLER_VARIABLES.dynamoDbEndpoint]: dynamoDb.endpoint }),
    ...(sources.signIn === undefined
      ? {}
      : {
          [HANDLER_VARIABLES.signIn]: "cognito",
          [HANDLER_VARIABLES.cognitoClientIds]: sources.signIn.cognitoClientIds,
        }),
  };
}
