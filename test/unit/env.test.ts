/** handlers/env.ts: handler settings from environment variables, fail-fast, and the environment built from settings. */
import { readFileSync, readdirSync } from "fs";
import { join } from "path";
import { expect } from "chai";
import { HANDLER_VARIABLES, handlerEnvironment, readSettings } from "../../handlers/env";
import { createLogger } from "../../handlers/logger";
import { parseSettings } from "../../infra/settings";
import { PROJECT_ROOT } from "../support/program-snapshot";
import { expectPlainError } from "./fixtures";

const REQUIRED = { TABLE_NAME: "items", IDEMPOTENCY_TABLE_NAME: "idempotency", CURSOR_SECRET: "secret" };

describe("handlers/env", () => {
  it("applies the defaults when only the required variables are set", () => {
    expect(readSettings({ ...REQUIRED })).to.deep.equal({
      tableName: "items",
      idempotencyTableName: "idempotency",
      cursorSecret: "secret",
      corsAllowedOrigins: [],
      dynamoDbMaxAttempts: 3,
      dynamoDbRequestTimeoutMs: 2000,
      dynamoDbEndpoint: undefined,
      logLevel: "info",
      signIn: "none",
      cognitoClientIds: [],
      dataAccessRoleArn: undefined,
    });
  });

  it("reads every variable", () => {
    expect(
      readSettings({
        TABLE_NAME: " t ",
        IDEMPOTENCY_TABLE_NAME: "i",
        CURSOR_SECRET: "s",
        CORS_ALLOWED_ORIGINS: " https://a.example.com ,,https://b.example.com:8443, ",
        DYNAMODB_MAX_ATTEMPTS: "10",
        DYNAMODB_REQUEST_TIMEOUT_MS: " 28000 ",
        DYNAMODB_ENDPOINT: " http://127.0.0.1:8000 ",
        LOG_LEVEL: " DEBUG ",
        SIGN_IN: "cognito",
        COGNITO_CLIENT_IDS: " client-a ,client-b",
        DATA_ACCESS_ROLE_ARN: " arn:aws:iam::123456789012:role/data ",
      }),
    ).to.deep.equal({
      tableName: "t",
      idempotencyTableName: "i",
      cursorSecret: "s",
      corsAllowedOrigins: ["https://a.example.com", "https://b.example.com:8443"],
      dynamoDbMaxAttempts: 10,
      dynamoDbRequestTimeoutMs: 28000,
      dynamoDbEndpoint: "http://127.0.0.1:8000",
      logLevel: "debug",
      signIn: "cognito",
      cognitoClientIds: ["client-a", "client-b"],
      dataAccessRoleArn: "arn:aws:iam::123456789012:role/data",
    });
  });

  it("refuses an unknown sign-in mode, and sign-in without app clients", () => {
    expectPlainError(
      () => readSettings({ ...REQUIRED, SIGN_IN: "oauth" }),
      'environment variable SIGN_IN must be one of none, cognito, got "oauth"',
    );
    expectPlainError(
      () => readSettings({ ...REQUIRED, SIGN_IN: "cognito", COGNITO_CLIENT_IDS: " , " }),
      "environment variable COGNITO_CLIENT_IDS is required when SIGN_IN is cognito",
    );
  });

  it("fails naming each missing or blank required variable", () => {
    for (const name of Object.keys(REQUIRED)) {
      for (const value of [undefined, "", "   "]) {
        expectPlainError(
          () => readSettings({ ...REQUIRED, [name]: value }),
          `environment variable ${name} is required`,
        );
      }
    }
    expectPlainError(() => readSettings({}), "environment variable TABLE_NAME is required");
  });

  it("takes integers within their bounds, and blank as the default", () => {
    const bounds: Array<[string, string, number]> = [
      ["DYNAMODB_MAX_ATTEMPTS", "1", 1],
      ["DYNAMODB_MAX_ATTEMPTS", "", 3],
      ["DYNAMODB_REQUEST_TIMEOUT_MS", "100", 100],
      ["DYNAMODB_REQUEST_TIMEOUT_MS", " ", 2000],
    ];
    for (const [name, raw, expected] of bounds) {
      const settings = readSettings({ ...REQUIRED, [name]: raw });
      const value = name === "DYNAMODB_MAX_ATTEMPTS" ? settings.dynamoDbMaxAttempts : settings.dynamoDbRequestTimeoutMs;
      expect(value, `${name}=${JSON.stringify(raw)}`).to.equal(expected);
    }
  });

  it("fails on bad integers, naming the variable, its range and the value", () => {
    for (const raw of ["abc", "0", "11", "2.5", "-1", "3 attempts", "Infinity"]) {
      expectPlainError(
        () => readSettings({ ...REQUIRED, DYNAMODB_MAX_ATTEMPTS: raw }),
        `environment variable DYNAMODB_MAX_ATTEMPTS must be an integer from 1 to 10, got "${raw}"`,
      );
    }
    for (const raw of ["99", "28001", "1s", "2e5"]) {
      expectPlainError(
        () => readSettings({ ...REQUIRED, DYNAMODB_REQUEST_TIMEOUT_MS: raw }),
        `environment variable DYNAMODB_REQUEST_TIMEOUT_MS must be an integer from 100 to 28000, got "${raw}"`,
      );
    }
  });

  it("accepts the four log levels in any case and fails on others", () => {
    for (const level of ["debug", "info", "warn", "error", "WARN", "Error"]) {
      expect(readSettings({ ...REQUIRED, LOG_LEVEL: level }).logLevel).to.equal(level.toLowerCase());
    }
    for (const level of ["verbose", "trace", "warning"]) {
      expectPlainError(
        () => readSettings({ ...REQUIRED, LOG_LEVEL: level }),
        `environment variable LOG_LEVEL must be one of debug, info, warn, error, got "${level}"`,
      );
    }
  });

  it("leaves the endpoint unset when blank", () => {
    expect(readSettings({ ...REQUIRED, DYNAMODB_ENDPOINT: "  " }).dynamoDbEndpoint).to.equal(undefined);
    expect(readSettings({ ...REQUIRED, CORS_ALLOWED_ORIGINS: " , " }).corsAllowedOrigins).to.deep.equal([]);
  });
});

describe("handlers/env handlerEnvironment", () => {
  const sources = {
    tableNames: { items: "items-table", idempotency: "keys-table" },
    cursorSecret: "a-secret",
    settings: {
      corsAllowedOrigins: ["https://a.example.com", "https://b.example.com"],
      logLevel: "warn" as const,
      lambda: { timeoutSeconds: 10 },
    },
  };

  it("writes every variable a deployed function gets, and no endpoint", () => {
    expect(handlerEnvironment(sources)).to.deep.equal({
      TABLE_NAME: "items-table",
      IDEMPOTENCY_TABLE_NAME: "keys-table",
      CURSOR_SECRET: "a-secret",
      CORS_ALLOWED_ORIGINS: "https://a.example.com,https://b.example.com",
      DYNAMODB_MAX_ATTEMPTS: "3",
      DYNAMODB_REQUEST_TIMEOUT_MS: "2000",
      LOG_LEVEL: "warn",
    });
  });

  it("fits every attempt in the function's timeout, from 100 ms to 2 s per attempt", () => {
    const timeoutOf = (timeoutSeconds: number, maxAttempts?: number) =>
      handlerEnvironment({
        ...sources,
        settings: { ...sources.settings, lambda: { timeoutSeconds } },
        dynamoDb: { maxAttempts },
      }).DYNAMODB_REQUEST_TIMEOUT_MS;
    expect([timeoutOf(28), timeoutOf(8), timeoutOf(6), timeoutOf(2), timeoutOf(1), timeoutOf(2, 1)]).to.deep.equal([
      "2000",
      "2000",
      "1500",
      "500",
      "250",
      "1000",
    ]);
    expect(timeoutOf(1, 10)).to.equal("100");
  });

  it("sets the endpoint and the overrides it is given", () => {
    expect(
      handlerEnvironment({
        ...sources,
        dynamoDb: { endpoint: "http://127.0.0.1:8000", maxAttempts: 1, requestTimeoutMs: 250 },
      }),
    ).to.deep.include({
      DYNAMODB_ENDPOINT: "http://127.0.0.1:8000",
      DYNAMODB_MAX_ATTEMPTS: "1",
      DYNAMODB_REQUEST_TIMEOUT_MS: "250",
    });
  });

  it("builds what readSettings reads back as the same settings", () => {
    expect(
      readSettings(handlerEnvironment({ ...sources, dynamoDb: { endpoint: "http://127.0.0.1:8000" } })),
    ).to.deep.equal({
      tableName: "items-table",
      idempotencyTableName: "keys-table",
      cursorSecret: "a-secret",
      corsAllowedOrigins: ["https://a.example.com", "https://b.example.com"],
      dynamoDbMaxAttempts: 3,
      dynamoDbRequestTimeoutMs: 2000,
      dynamoDbEndpoint: "http://127.0.0.1:8000",
      logLevel: "warn",
      signIn: "none",
      cognitoClientIds: [],
      dataAccessRoleArn: undefined,
    });
    expect(
      readSettings(handlerEnvironment({ ...sources, signIn: { cognitoClientIds: "client-a,client-b" } })),
    ).to.deep.include({ signIn: "cognito", cognitoClientIds: ["client-a", "client-b"], dataAccessRoleArn: undefined });
  });

  it("is the only code that names a handler variable", () => {
    const names = Object.values(HANDLER_VARIABLES);
    const found: string[] = [];
    for (const file of sourceFiles()) {
      const text = readFileSync(join(PROJECT_ROOT, file), "utf8");
      for (const name of names) {
        const count = text.split(new RegExp(`\\b${name}\\b`)).length - 1;
        if (count > 0) {
          found.push(`${file} ${name} ${count}`);
        }
      }
    }
    expect(found).to.deep.equal(names.map((name) => `handlers/env.ts ${name} 1`));
  });

  it("gives the stack's logLevel key exactly the handlers' log levels, each reaching the handlers as set", () => {
    // The levels the handlers log at: a method of their logger each.
    const logged = Object.keys(createLogger("debug", {}, () => undefined)).sort();
    const candidates = [...logged, ...logged.map((level) => level.toUpperCase()), "trace", "fatal", "warning", ""];
    const accepted = candidates.filter((level) => {
      try {
        parseSettings((key) => (key === "logLevel" ? level : undefined));
        return true;
      } catch {
        return false;
      }
    });
    expect([...accepted].sort()).to.deep.equal(logged);
    // Through the stack's settings and the functions' environment to the handlers' own settings.
    const reached = accepted.map((level) => {
      const settings = parseSettings((key) => (key === "logLevel" ? level : undefined));
      return readSettings(
        handlerEnvironment({ ...sources, settings: { ...sources.settings, logLevel: settings.logLevel } }),
      ).logLevel;
    });
    expect(reached).to.deep.equal(accepted);
  });
});

/** The project's TypeScript outside test/ and node_modules, relative to the project root. */
function sourceFiles(): string[] {
  const files = ["index.ts"];
  for (const dir of ["handlers", "infra", "local", "bench"]) {
    for (const entry of readdirSync(join(PROJECT_ROOT, dir), { recursive: true, encoding: "utf8" })) {
      if (entry.endsWith(".ts")) {
        files.push(`${dir}/${entry}`);
      }
    }
  }
  return files;
}
