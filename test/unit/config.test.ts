/** infra/config.ts: raw stack config -> validated settings (pure part). */
import { expect } from "chai";
import {
  CONFIG_KEYS,
  CURSOR_SECRET_MIN_LENGTH,
  LOG_RETENTION_DAYS,
  RawValue,
  Settings,
  parseCursorSecret,
  parseSettings,
} from "../../infra/config";
import { expectPlainError } from "./fixtures";

type Raw = Record<string, RawValue>;

const parse = (raw: Raw): Settings => parseSettings((key) => raw[key]);

/** Where each key lands in Settings. */
const FIELD: Record<string, (settings: Settings) => unknown> = {
  logRetentionDays: (s) => s.logRetentionDays,
  logLevel: (s) => s.logLevel,
  lambdaMemoryMb: (s) => s.lambda.memoryMb,
  lambdaTimeoutSeconds: (s) => s.lambda.timeoutSeconds,
  lambdaArchitecture: (s) => s.lambda.architecture,
  bundleAwsSdk: (s) => s.lambda.bundleAwsSdk,
  // -1 in config means "no reservation", which the settings say with undefined.
  lambdaReservedConcurrency: (s) => s.lambda.reservedConcurrency ?? -1,
  throttleRateLimit: (s) => s.throttle.rateLimit,
  throttleBurstLimit: (s) => s.throttle.burstLimit,
  corsAllowedOrigins: (s) => s.corsAllowedOrigins,
  apiKeyRequired: (s) => s.apiKeys.required,
  usagePlanQuotaPerDay: (s) => s.apiKeys.quotaPerDay,
  usagePlanRateLimit: (s) => s.apiKeys.rateLimit,
  usagePlanBurstLimit: (s) => s.apiKeys.burstLimit,
  tracingEnabled: (s) => s.tracing,
  pointInTimeRecovery: (s) => s.pointInTimeRecovery,
  deletionProtection: (s) => s.deletionProtection,
  alarmEmail: (s) => s.alarmEmail,
  manageApiGatewayAccount: (s) => s.manageApiGatewayAccount,
};

/** Integer keys and their inclusive ranges. */
const INTEGERS: Array<[key: string, min: number, max: number]> = [
  ["lambdaMemoryMb", 128, 10240],
  ["lambdaTimeoutSeconds", 1, 28],
  ["throttleRateLimit", 1, 10000],
  ["throttleBurstLimit", 1, 5000],
  ["usagePlanQuotaPerDay", 1, 100000000],
  ["usagePlanRateLimit", 1, 10000],
  ["usagePlanBurstLimit", 1, 5000],
];

const BOOLEANS = [
  "bundleAwsSdk",
  "apiKeyRequired",
  "tracingEnabled",
  "pointInTimeRecovery",
  "deletionProtection",
  "manageApiGatewayAccount",
];

const ORIGIN_HINT = "is not an origin such as https://app.example.com (scheme, host and optional port only)";

describe("infra/config", () => {
  describe("parseSettings", () => {
    it("reads exactly the declared keys (cursorSecret apart: it is read as a secret)", () => {
      const read: string[] = [];
      parseSettings((key) => {
        read.push(key);
        return undefined;
      });
      expect([...new Set(read)].sort()).to.deep.equal(
        CONFIG_KEYS.map((entry) => entry.key)
          .filter((key) => key !== "cursorSecret")
          .sort(),
      );
      expect(Object.keys(FIELD).sort()).to.deep.equal([...new Set(read)].sort());
    });

    it("gives exactly the declared defaults when nothing is set", () => {
      const settings = parse({});
      for (const entry of CONFIG_KEYS.filter((candidate) => candidate.key !== "cursorSecret")) {
        // alarmEmail's declared default "" means no subscription.
        const expected = entry.key === "alarmEmail" && entry.default === "" ? undefined : entry.default;
        const field = FIELD[entry.key];
        expect(field, entry.key).to.be.a("function");
        expect(field?.(settings), entry.key).to.deep.equal(expected);
      }
      expect(settings).to.deep.equal({
        logRetentionDays: 14,
        logLevel: "info",
        lambda: {
          memoryMb: 256,
          timeoutSeconds: 10,
          architecture: "arm64",
          bundleAwsSdk: false,
          reservedConcurrency: undefined,
        },
        throttle: { rateLimit: 100, burstLimit: 200 },
        corsAllowedOrigins: [],
        apiKeys: { required: false, quotaPerDay: 10000, rateLimit: 50, burstLimit: 100 },
        tracing: false,
        pointInTimeRecovery: false,
        deletionProtection: false,
        alarmEmail: undefined,
        manageApiGatewayAccount: false,
      });
    });

    it("accepts strings as Pulumi gives them and typed values as YAML does", () => {
      const fromPulumi = parse({
        logRetentionDays: "30",
        logLevel: "debug",
        lambdaMemoryMb: "1024",
        lambdaTimeoutSeconds: " 28 ",
        lambdaArchitecture: "x86_64",
        bundleAwsSdk: "true",
        lambdaReservedConcurrency: "25",
        throttleRateLimit: "10",
        throttleBurstLimit: "20",
        corsAllowedOrigins: '["https://app.example.com","http://localhost:5173"]',
        apiKeyRequired: "true",
        usagePlanQuotaPerDay: "500",
        usagePlanRateLimit: "5",
        usagePlanBurstLimit: "10",
        tracingEnabled: "true",
        pointInTimeRecovery: "true",
        deletionProtection: "false",
        alarmEmail: "ops@example.com",
        manageApiGatewayAccount: "true",
      });
      const fromYaml = parse({
        logRetentionDays: 30,
        logLevel: "debug",
        lambdaMemoryMb: 1024,
        lambdaTimeoutSeconds: 28,
        lambdaArchitecture: "x86_64",
        bundleAwsSdk: true,
        lambdaReservedConcurrency: 25,
        throttleRateLimit: 10,
        throttleBurstLimit: 20,
        corsAllowedOrigins: ["https://app.example.com", "http://localhost:5173"],
        apiKeyRequired: true,
        usagePlanQuotaPerDay: 500,
        usagePlanRateLimit: 5,
        usagePlanBurstLimit: 10,
        tracingEnabled: true,
        pointInTimeRecovery: true,
        deletionProtection: false,
        alarmEmail: "ops@example.com",
        manageApiGatewayAccount: true,
      });
      const expected: Settings = {
        logRetentionDays: 30,
        logLevel: "debug",
        lambda: {
          memoryMb: 1024,
          timeoutSeconds: 28,
          architecture: "x86_64",
          bundleAwsSdk: true,
          reservedConcurrency: 25,
        },
        throttle: { rateLimit: 10, burstLimit: 20 },
        corsAllowedOrigins: ["https://app.example.com", "http://localhost:5173"],
        apiKeys: { required: true, quotaPerDay: 500, rateLimit: 5, burstLimit: 10 },
        tracing: true,
        pointInTimeRecovery: true,
        deletionProtection: false,
        alarmEmail: "ops@example.com",
        manageApiGatewayAccount: true,
      };
      expect(fromPulumi).to.deep.equal(expected);
      expect(fromYaml).to.deep.equal(expected);
    });

    it("keeps a deliberate false and the smallest values (no || defaults)", () => {
      const settings = parse({ lambdaTimeoutSeconds: "1", throttleRateLimit: 1, tracingEnabled: "false" });
      expect([settings.lambda.timeoutSeconds, settings.throttle.rateLimit, settings.tracing]).to.deep.equal([
        1,
        1,
        false,
      ]);
    });

    it("accepts every CloudWatch retention value and nothing else", () => {
      for (const days of LOG_RETENTION_DAYS) {
        expect(parse({ logRetentionDays: String(days) }).logRetentionDays).to.equal(days);
      }
      for (const days of [2, 4, 13, 15, 364, 366, 3652]) {
        expectPlainError(
          () => parse({ logRetentionDays: days }),
          `invalid config items-api:logRetentionDays: must be one of CloudWatch's values ${LOG_RETENTION_DAYS.join(", ")}, got ${days}`,
        );
      }
      for (const raw of [0, "0", 3654, "-14", "14.5", "fourteen", "", true, ["14"]]) {
        expectPlainError(
          () => parse({ logRetentionDays: raw }),
          `invalid config items-api:logRetentionDays: must be an integer from 1 to 3653, got ${JSON.stringify(raw)}`,
        );
      }
    });

    for (const [key, min, max] of INTEGERS) {
      it(`takes ${key} from ${min} to ${max} and fails on anything else, naming items-api:${key}`, () => {
        expect(FIELD[key]?.(parse({ [key]: String(min) }))).to.equal(min);
        expect(FIELD[key]?.(parse({ [key]: max }))).to.equal(max);
        for (const raw of [min - 1, String(max + 1), "1.5", 2.5, "ten", "", " ", "1e3", "+5", "0x10", false, [min]]) {
          expectPlainError(
            () => parse({ [key]: raw }),
            `invalid config items-api:${key}: must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
          );
        }
      });
    }

    for (const key of BOOLEANS) {
      it(`takes ${key} as true/false or "true"/"false" only`, () => {
        expect(FIELD[key]?.(parse({ [key]: "true" }))).to.equal(true);
        expect(FIELD[key]?.(parse({ [key]: false }))).to.equal(false);
        for (const raw of ["yes", "TRUE", "True", "1", 1, 0, "", ["true"]]) {
          expectPlainError(
            () => parse({ [key]: raw }),
            `invalid config items-api:${key}: must be true or false, got ${JSON.stringify(raw)}`,
          );
        }
      });
    }

    it("reserves concurrency from 1 to 1000, none for -1, and refuses 0", () => {
      expect(parse({}).lambda.reservedConcurrency).to.equal(undefined);
      expect(parse({ lambdaReservedConcurrency: -1 }).lambda.reservedConcurrency).to.equal(undefined);
      expect(parse({ lambdaReservedConcurrency: "1000" }).lambda.reservedConcurrency).to.equal(1000);
      expect(() => parse({ lambdaReservedConcurrency: 0 })).to.throw(
        "invalid config items-api:lambdaReservedConcurrency: must be -1 (no reservation) or from 1 to 1000; 0 would throttle every request",
      );
      expect(() => parse({ lambdaReservedConcurrency: 1001 })).to.throw(
        "invalid config items-api:lambdaReservedConcurrency: must be an integer from -1 to 1000, got 1001",
      );
    });

    it("takes logLevel and lambdaArchitecture from their lists only", () => {
      for (const raw of ["trace", "INFO", "", 1, true]) {
        expectPlainError(
          () => parse({ logLevel: raw }),
          `invalid config items-api:logLevel: must be one of debug, info, warn, error, got ${JSON.stringify(raw)}`,
        );
      }
      for (const raw of ["arm", "x86", "ARM64", "", 64]) {
        expectPlainError(
          () => parse({ lambdaArchitecture: raw }),
          `invalid config items-api:lambdaArchitecture: must be one of arm64, x86_64, got ${JSON.stringify(raw)}`,
        );
      }
    });

    it("takes corsAllowedOrigins as a list of origins, JSON text or typed", () => {
      expect(parse({ corsAllowedOrigins: "[]" }).corsAllowedOrigins).to.deep.equal([]);
      expect(parse({ corsAllowedOrigins: '["*"]' }).corsAllowedOrigins).to.deep.equal(["*"]);
      expect(parse({ corsAllowedOrigins: ["http://127.0.0.1:3000"] }).corsAllowedOrigins).to.deep.equal([
        "http://127.0.0.1:3000",
      ]);
      for (const raw of ["https://app.example.com", "[", "{}x"]) {
        expectPlainError(
          () => parse({ corsAllowedOrigins: raw }),
          `invalid config items-api:corsAllowedOrigins: must be a JSON list of strings, got ${JSON.stringify(raw)}`,
        );
      }
      for (const raw of ['{"a":1}', "[1]", '"x"', "null", 5, true, [1]]) {
        expectPlainError(
          () => parse({ corsAllowedOrigins: raw }),
          `invalid config items-api:corsAllowedOrigins: must be a list of strings, got ${JSON.stringify(raw)}`,
        );
      }
      for (const origin of [
        "https://app.example.com/",
        "https://app.example.com/path",
        "ftp://app.example.com",
        "app.example.com",
        "https://*.example.com",
        "https://user@app.example.com",
        "",
      ]) {
        expectPlainError(
          () => parse({ corsAllowedOrigins: [origin] }),
          `invalid config items-api:corsAllowedOrigins: "${origin}" ${ORIGIN_HINT}`,
        );
      }
    });

    it('refuses "*" origins when API keys are required, however the values are spelled', () => {
      const message =
        'invalid config items-api:corsAllowedOrigins: "*" is not allowed when apiKeyRequired is true; list the allowed origins';
      expectPlainError(() => parse({ apiKeyRequired: true, corsAllowedOrigins: ["*"] }), message);
      expectPlainError(
        () => parse({ apiKeyRequired: "true", corsAllowedOrigins: '["https://app.example.com","*"]' }),
        message,
      );
      expect(parse({ apiKeyRequired: "false", corsAllowedOrigins: '["*"]' }).corsAllowedOrigins).to.deep.equal(["*"]);
      expect(
        parse({ apiKeyRequired: "true", corsAllowedOrigins: '["https://app.example.com"]' }).corsAllowedOrigins,
      ).to.deep.equal(["https://app.example.com"]);
    });

    it("takes alarmEmail as an e-mail address, empty meaning none", () => {
      expect(parse({ alarmEmail: "" }).alarmEmail).to.equal(undefined);
      expect(parse({ alarmEmail: "a.b+alarms@ops.example.com" }).alarmEmail).to.equal("a.b+alarms@ops.example.com");
      for (const raw of ["ops", "ops@example", "@example.com", "ops @example.com", "a@b@c.d", 5, true]) {
        expectPlainError(
          () => parse({ alarmEmail: raw }),
          `invalid config items-api:alarmEmail: must be an e-mail address, got ${JSON.stringify(raw)}`,
        );
      }
    });
  });

  describe("parseCursorSecret", () => {
    it(`is unset when absent or empty, and takes ${CURSOR_SECRET_MIN_LENGTH} characters or more`, () => {
      expect(parseCursorSecret(undefined)).to.equal(undefined);
      expect(parseCursorSecret("")).to.equal(undefined);
      expect(parseCursorSecret("s".repeat(32))).to.equal("s".repeat(32));
    });

    it("fails naming items-api:cursorSecret for short or non-string values", () => {
      for (const raw of ["s".repeat(31), "short", 42, true]) {
        expectPlainError(
          () => parseCursorSecret(raw),
          "invalid config items-api:cursorSecret: must be a string of at least 32 characters (set it with --secret)",
        );
      }
    });
  });
});
