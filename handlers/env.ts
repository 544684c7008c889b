/**
 * Handler settings come from environment variables only (never captured config values: those
 * would be serialized into the archive in plain text). Read once per container, fail fast.
 */

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
  /** `debug` | `info` | `warn` | `error`. */
  logLevel: LogLevel;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

const LOG_LEVELS: readonly string[] = ["debug", "info", "warn", "error"];

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === "") {
    throw new Error(`environment variable ${name} is required`);
  }
  return value.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") {
    return fallback;
  }
  const value = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`environment variable ${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function logLevel(env: Env): LogLevel {
  const given = env.LOG_LEVEL?.trim();
  const raw = (given === undefined || given === "" ? "info" : given).toLowerCase();
  if (!LOG_LEVELS.includes(raw)) {
    throw new Error(`environment variable LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got "${raw}"`);
  }
  return raw as LogLevel;
}

export function readSettings(env: Env = process.env): HandlerSettings {
  const origins = (env.CORS_ALLOWED_ORIGINS ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter((origin) => origin !== "");
  const endpoint = env.DYNAMODB_ENDPOINT?.trim();
  return {
    tableName: required(env, "TABLE_NAME"),
    idempotencyTableName: required(env, "IDEMPOTENCY_TABLE_NAME"),
    cursorSecret: required(env, "CURSOR_SECRET"),
    corsAllowedOrigins: origins,
    dynamoDbMaxAttempts: integer(env, "DYNAMODB_MAX_ATTEMPTS", 3, 1, 10),
    dynamoDbRequestTimeoutMs: integer(env, "DYNAMODB_REQUEST_TIMEOUT_MS", 2000, 100, 28000),
    dynamoDbEndpoint: endpoint === undefined || endpoint === "" ? undefined : endpoint,
    logLevel: logLevel(env),
  };
}
