/**
 * Every program run the infra suite needs. Each is a child process of several seconds, so the
 * first infra suite to run starts them all at once (they are memoized) instead of one after
 * another in each test's hooks.
 */
import { ProgramRequest, programSnapshot } from "../support/program-snapshot";

export const STACKS = ["dev", "prod"] as const;

/** Invalid values: the program must stop before its first resource, naming the key. */
export const INVALID_CONFIG: readonly (readonly [key: string, value: string, message: string])[] = [
  ["logRetentionDays", "8", "invalid config items-api:logRetentionDays: must be one of CloudWatch's values"],
  // Read after the other settings: proves every value is read before any resource exists.
  ["cursorSecret", "too-short", "invalid config items-api:cursorSecret: must be a string of at least 32 characters"],
];

export function invalidConfigRun(key: string, value: string): ProgramRequest {
  return { stack: "dev", config: { [`items-api:${key}`]: value } };
}

export const CURSOR_SECRET = "a-configured-cursor-secret-of-40-chars-!!";
export const CURSOR_SECRET_RUN: ProgramRequest = {
  stack: "prod",
  config: { "items-api:cursorSecret": CURSOR_SECRET },
  secretKeys: ["items-api:cursorSecret"],
};

export function startInfraPrograms(): void {
  const requests: ProgramRequest[] = [
    ...STACKS.map((stack) => ({ stack })),
    ...INVALID_CONFIG.map(([key, value]) => invalidConfigRun(key, value)),
    CURSOR_SECRET_RUN,
  ];
  for (const request of requests) {
    // Failures surface in the tests that await the same (memoized) promise.
    programSnapshot(request).catch(() => undefined);
  }
}
