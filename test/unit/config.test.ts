/** infra/settings.ts and infra/config.ts: raw stack config -> validated settings (pure parts). */
import { expect } from "chai";
import { parseRegion } from "../../infra/region";
import {
  CONFIG_KEYS,
  CURSOR_SECRET_MIN_LENGTH,
  LAMBDA_MIN_UNRESERVED_CONCURRENCY,
  RawValue,
  Settings,
  parseCursorSecret,
  parseSettings,
} from "../../infra/settings";
import { routes } from "../../infra/routes";
import { expectPlainError } from "./fixtures";

type Raw = Record<string, RawValue>;

const parse = (raw: Raw): Settings => parseSettings((key) => raw[key]);

/** A key's value in Settings, at its `setting` path (where it lands: the literal Settings below say). */
function valueOf(settings: Settings, key: string): unknown {
  const path = CONFIG_KEYS.find((entry) => entry.key === key)?.setting?.split(".") ?? [];
  expect(path, key).not.to.deep.equal([]);
  return path.reduce<unknown>((object, part) => (object as Record<string, unknown>)[part], settings);
}

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

const ORIGIN_HINT =
  'is not an origin such as https://app.example.com (scheme, host and optional port only) or "*" (any)';

/** CloudWatch Logs' retention periods (the oracle: its API reference lists them). */
const CLOUDWATCH_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

describe("infra/settings", () => {
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
      expect(
        CONFIG_KEYS.filter((entry) => entry.setting === undefined).map((entry) => entry.key),
        "keys without a setting",
      ).to.deep.equal(["cursorSecret"]);
    });

    it("gives exactly the declared defaults when nothing is set", () => {
      const settings = parse({});
      for (const entry of CONFIG_KEYS.filter((candidate) => candidate.key !== "cursorSecret")) {
        // "" (alarmEmail: no subscription) and -1 (none) are undefined in Settings.
        const none = entry.default === "" || ("none" in entry && entry.default === entry.none?.value);
        expect(valueOf(settings, entry.key), entry.key).to.deep.equal(none ? undefined : entry.default);
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
          accountConcurrencyLimit: undefined,
        },
        throttle: { rateLimit: 100, burstLimit: 200 },
        corsAllowedOrigins: [],
        apiKeys: { required: false, quotaPerDay: 10000, rateLimit: 50, burstLimit: 100 },
        signIn: { mode: "none", userPoolId: undefined },
        tracing: false,
        pointInTimeRecovery: false,
        deletionProtection: false,
        alarmEmail: undefined,
        manageApiGatewayAccount: true,
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
        lambdaAccountConcurrencyLimit: "1000",
        throttleRateLimit: "10",
        throttleBurstLimit: "20",
        corsAllowedOrigins: '["https://app.example.com","http://localhost:5173"]',
        signIn: "cognito",
        cognitoUserPoolId: "us-east-1_AbC123xyz",
        apiKeyRequired: "true",
        usagePlanQuotaPerDay: "500",
        usagePlanRateLimit: "5",
        usagePlanBurstLimit: "10",
        tracingEnabled: "true",
        pointInTimeRecovery: "true",
        deletionProtection: "false",
        alarmEmail: "ops@example.com",
        manageApiGatewayAccount: "false",
      });
      const fromYaml = parse({
        logRetentionDays: 30,
        logLevel: "debug",
        lambdaMemoryMb: 1024,
        lambdaTimeoutSeconds: 28,
        lambdaArchitecture: "x86_64",
        bundleAwsSdk: true,
        lambdaReservedConcurrency: 25,
        lambdaAccountConcurrencyLimit: 1000,
        throttleRateLimit: 10,
        throttleBurstLimit: 20,
        corsAllowedOrigins: ["https://app.example.com", "http://localhost:5173"],
        signIn: "cognito",
        cognitoUserPoolId: "us-east-1_AbC123xyz",
        apiKeyRequired: true,
        usagePlanQuotaPerDay: 500,
        usagePlanRateLimit: 5,
        usagePlanBurstLimit: 10,
        tracingEnabled: true,
        pointInTimeRecovery: true,
        deletionProtection: false,
        alarmEmail: "ops@example.com",
        manageApiGatewayAccount: false,
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
          accountConcurrencyLimit: 1000,
        },
        throttle: { rateLimit: 10, burstLimit: 20 },
        corsAllowedOrigins: ["https://app.example.com", "http://localhost:5173"],
        apiKeys: { required: true, quotaPerDay: 500, rateLimit: 5, burstLimit: 10 },
        signIn: { mode: "cognito", userPoolId: "us-east-1_AbC123xyz" },
        tracing: true,
        pointInTimeRecovery: true,
        deletionProtection: false,
        alarmEmail: "ops@example.com",
        manageApiGatewayAccount: false,
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
      for (const days of CLOUDWATCH_RETENTION_DAYS) {
        expect(parse({ logRetentionDays: String(days) }).logRetentionDays).to.equal(days);
        expect(parse({ logRetentionDays: days }).logRetentionDays).to.equal(days);
      }
      for (const raw of [2, 4, 13, 15, 364, 366, 3652, 0, "0", 3654, "-14", "14.5", "fourteen", "", true, ["14"]]) {
        expectPlainError(
          () => parse({ logRetentionDays: raw }),
          `invalid config items-api:logRetentionDays: must be one of CloudWatch's retention periods: ${CLOUDWATCH_RETENTION_DAYS.join(", ")}, got ${JSON.stringify(raw)}`,
        );
      }
    });

    for (const [key, min, max] of INTEGERS) {
      it(`takes ${key} from ${min} to ${max} and fails on anything else, naming items-api:${key}`, () => {
        expect(valueOf(parse({ [key]: String(min) }), key)).to.equal(min);
        expect(valueOf(parse({ [key]: max }), key)).to.equal(max);
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
        expect(valueOf(parse({ [key]: "true" }), key)).to.equal(true);
        expect(valueOf(parse({ [key]: false }), key)).to.equal(false);
        for (const raw of ["yes", "TRUE", "True", "1", 1, 0, "", ["true"]]) {
          expectPlainError(
            () => parse({ [key]: raw }),
            `invalid config items-api:${key}: must be true or false, got ${JSON.stringify(raw)}`,
          );
        }
      });
    }

    it("reserves concurrency from 1 to 1000, none for -1, and refuses 0", () => {
      const limit = { lambdaAccountConcurrencyLimit: 100000 };
      expect(parse({}).lambda.reservedConcurrency).to.equal(undefined);
      expect(parse({ lambdaReservedConcurrency: -1 }).lambda.reservedConcurrency).to.equal(undefined);
      expect(parse({ ...limit, lambdaReservedConcurrency: "1" }).lambda.reservedConcurrency).to.equal(1);
      expect(parse({ ...limit, lambdaReservedConcurrency: "1000" }).lambda.reservedConcurrency).to.equal(1000);
      for (const raw of [0, "0", -2, 1001, "1.5", "", "fifty"]) {
        expectPlainError(
          () => parse({ ...limit, lambdaReservedConcurrency: raw }),
          `invalid config items-api:lambdaReservedConcurrency: must be an integer from 1 to 1000, or -1 (no reservation), got ${JSON.stringify(raw)}`,
        );
      }
    });

    it("takes lambdaAccountConcurrencyLimit as -1 (not stated) or 1 to 1000000", () => {
      expect(parse({ lambdaAccountConcurrencyLimit: -1 }).lambda.accountConcurrencyLimit).to.equal(undefined);
      expect(parse({ lambdaAccountConcurrencyLimit: "10" }).lambda.accountConcurrencyLimit).to.equal(10);
      expect(parse({ lambdaAccountConcurrencyLimit: 1000000 }).lambda.accountConcurrencyLimit).to.equal(1000000);
      for (const raw of [0, -2, 1000001, "1e3", true]) {
        expectPlainError(
          () => parse({ lambdaAccountConcurrencyLimit: raw }),
          `invalid config items-api:lambdaAccountConcurrencyLimit: must be an integer from 1 to 1000000, or -1 (not stated, which refuses any reservation), got ${JSON.stringify(raw)}`,
        );
      }
    });

    it(`refuses reservations that leave less than ${LAMBDA_MIN_UNRESERVED_CONCURRENCY} of the stated account limit unreserved`, () => {
      // One function per route: the program's own count is the default.
      expect(routes).to.have.length(6);
      expect(
        parse({ lambdaReservedConcurrency: 50, lambdaAccountConcurrencyLimit: 400 }).lambda.reservedConcurrency,
      ).to.equal(50);
      expectPlainError(
        () => parse({ lambdaReservedConcurrency: 50, lambdaAccountConcurrencyLimit: 399 }),
        "invalid config items-api:lambdaReservedConcurrency: 6 functions x 50 = 300 reserved leaves 99 of lambdaAccountConcurrencyLimit 399 unreserved; AWS keeps at least 100, so at most 49 per function",
      );
      // A new account's reduced quota: no reservation fits.
      expectPlainError(
        () => parse({ lambdaReservedConcurrency: "1", lambdaAccountConcurrencyLimit: "10" }),
        "invalid config items-api:lambdaReservedConcurrency: 6 functions x 1 = 6 reserved leaves 4 of lambdaAccountConcurrencyLimit 10 unreserved; AWS keeps at least 100, so no reservation fits: keep -1 or raise the account's limit",
      );
      // The count of functions is a parameter (a stack with another route table).
      const hundredEach: Raw = { lambdaReservedConcurrency: 100, lambdaAccountConcurrencyLimit: 400 };
      expect(parseSettings((key) => hundredEach[key], 3).lambda.reservedConcurrency).to.equal(100);
      expectPlainError(
        () => parseSettings((key) => hundredEach[key], 4),
        "invalid config items-api:lambdaReservedConcurrency: 4 functions x 100 = 400 reserved leaves 0 of lambdaAccountConcurrencyLimit 400 unreserved; AWS keeps at least 100, so at most 75 per function",
      );
    });

    it("refuses a reservation while the account limit is not stated, naming items-api:lambdaAccountConcurrencyLimit", () => {
      for (const raw of [
        { lambdaReservedConcurrency: 1 },
        { lambdaReservedConcurrency: "5", lambdaAccountConcurrencyLimit: "-1" },
      ]) {
        expectPlainError(
          () => parse(raw),
          "invalid config items-api:lambdaAccountConcurrencyLimit: must be stated when lambdaReservedConcurrency reserves executions: set it to the account's concurrent-executions limit in this region (aws lambda get-account-settings), minus what other functions there reserve",
        );
      }
      // A stated limit without a reservation changes nothing.
      expect(parse({ lambdaAccountConcurrencyLimit: 10 }).lambda.reservedConcurrency).to.equal(undefined);
    });

    it("with API keys, refuses a stage burst or rate below what the usage plan offers a key", () => {
      const keys = { apiKeyRequired: true, usagePlanRateLimit: 50, usagePlanBurstLimit: 100 };
      expect(parse({ ...keys, throttleRateLimit: 50, throttleBurstLimit: 100 }).throttle).to.deep.equal({
        rateLimit: 50,
        burstLimit: 100,
      });
      expectPlainError(
        () => parse({ ...keys, throttleRateLimit: 100, throttleBurstLimit: 99 }),
        "invalid config items-api:throttleBurstLimit: 99 is below usagePlanBurstLimit 100: a key could never burst as far as its usage plan offers",
      );
      expectPlainError(
        () => parse({ ...keys, throttleRateLimit: "49", throttleBurstLimit: "200" }),
        "invalid config items-api:throttleRateLimit: 49 is below usagePlanRateLimit 50: a key could never reach the rate its usage plan offers",
      );
      // Without keys there is no usage plan to fit.
      expect(
        parse({ ...keys, apiKeyRequired: false, throttleRateLimit: 1, throttleBurstLimit: 1 }).throttle,
      ).to.deep.equal({
        rateLimit: 1,
        burstLimit: 1,
      });
      // A bucket smaller than the rate is allowed, as AWS's own account default (10,000/s, 5,000) has.
      expect(parse({ throttleRateLimit: 10000, throttleBurstLimit: 5000 }).throttle).to.deep.equal({
        rateLimit: 10000,
        burstLimit: 5000,
      });
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
          `invalid config items-api:alarmEmail: must be an e-mail address, or empty (no subscription), got ${JSON.stringify(raw)}`,
        );
      }
    });
  });

  describe("parseRegion", () => {
    it("takes an AWS region name", () => {
      for (const region of ["us-east-1", "eu-central-2", "ap-southeast-4", "us-gov-west-1", "eusc-de-east-1"]) {
        expect(parseRegion(region)).to.equal(region);
      }
    });

    it("fails naming aws:region when it is not set: a region is never guessed", () => {
      for (const raw of [undefined, ""]) {
        expectPlainError(
          () => parseRegion(raw),
          "invalid config aws:region: not set; set it with `pulumi config set aws:region <region>` (or AWS_REGION); the program does not guess a region",
        );
      }
    });

    it("fails naming aws:region for anything but a region name", () => {
      for (const raw of ["US-EAST-1", "us-east", "useast1", " us-east-1", "us-east-1a", "xx-east-1", 1, true]) {
        expectPlainError(
          () => parseRegion(raw),
          `invalid config aws:region: must be an AWS region the AWS provider knows, such as us-east-1, got ${JSON.stringify(raw)}`,
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
          "invalid config items-api:cursorSecret: must be a string of at least 32 characters, or empty (a key derived from the stack and table, see README)",
        );
      }
    });
  });
});
