/**
 * Runs the real Pulumi program (`index.ts`) under Pulumi mocks with a stack's own
 * `Pulumi.<stack>.yaml`, in a child process (the Pulumi runtime's state is global, so each
 * stack gets a fresh process), and returns what it registered as plain JSON. Results are
 * memoized per request, so every test file shares one run per stack.
 */
import { spawn } from "child_process";
import { createHash } from "crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { createInterface } from "readline";
import { PROJECT_ROOT } from "../../local/stack-settings";
import { TYPESCRIPT_EMIT_COVERAGE_VARIABLE } from "./mocha-run";

export interface ProgramRequest {
  stack: string;
  /** Extra or overriding config, `project:key` -> string value, applied over the YAML. */
  config?: Record<string, string>;
  /** Keys of `config` to mark secret (as `pulumi config set --secret` does). */
  secretKeys?: string[];
  /** Project-relative modules required before index.ts (e.g. one that adds a route). */
  preload?: string[];
  /** What the mocked AWS account holds before the run; default: a fresh account (MOCK_FRESH_ACCOUNT). */
  account?: MockAccount;
}

/** The part of an AWS account (in the stack's region) that the program reads. */
export interface MockAccount {
  /** API Gateway's account-level CloudWatch role (`aws apigateway get-account`); "" when unset. */
  apiGatewayCloudWatchRoleArn: string;
  /** IAM roles that exist, by name. */
  roles: string[];
}

/** The account id the mock provider puts in every ARN it synthesizes. */
export const MOCK_ACCOUNT_ID = "123456789012";

/** A new account: no API Gateway CloudWatch role set, no roles. */
export const MOCK_FRESH_ACCOUNT: MockAccount = { apiGatewayCloudWatchRoleArn: "", roles: [] };

export interface RegisteredResource {
  type: string;
  name: string;
  custom: boolean;
  id: string;
  /** Inputs as the provider would receive them (secrets unwrapped; see secretPaths). */
  inputs: Record<string, unknown>;
  /** Dotted paths of inputs that were secret, e.g. `environment.variables.CURSOR_SECRET`. */
  secretPaths: string[];
  /** What the mock provider answered (inputs plus synthesized ARNs, names, URLs). */
  state: Record<string, unknown>;
  /** `urn:pulumi:stack::project::parent$type::name`: shows the parent chain. */
  urn?: string;
  /** The `retainOnDelete` option the engine received: true leaves the resource in AWS on destroy. */
  retainOnDelete?: boolean;
  /** URNs of the resources it depends on (`dependsOn` and the resources its inputs came from). */
  dependencies?: string[];
}

/** A resource the program read (`Resource.get`) rather than registered: the engine never changes it. */
export interface ReadResource {
  type: string;
  name: string;
  id: string;
  state: Record<string, unknown>;
}

export interface ArchiveEntry {
  path: string;
  kind: "string" | "file" | "directory" | "other";
  files: number;
  bytes: number;
}

export interface ArchiveSnapshot {
  entries: ArchiveEntry[];
  /** The exact `__index.js` that would ship. */
  indexJs: string;
  unzippedBytes: number;
}

export interface ProgramSnapshot {
  project: string;
  stack: string;
  resources: RegisteredResource[];
  /** Resources read, not registered (e.g. API Gateway's account settings). */
  reads: ReadResource[];
  /** Provider functions (invokes) the program called, by token, in order. */
  invokes: string[];
  outputs: Record<string, { value: unknown; secret: boolean }>;
  /** By CallbackFunction resource name. */
  archives: Record<string, ArchiveSnapshot>;
  /** Set when the program threw (e.g. invalid config); resources holds what came before. */
  error?: string;
}

export { PROJECT_ROOT };

/** A configured cursor secret, at least 32 characters. */
export const CURSOR_SECRET = "a-configured-cursor-secret-of-40-chars-!!";

/** A role that API Gateway's account setting names in DEV_OPTIONS_RUN's account (another stack's). */
export const EXISTING_ROLE_NAME = "items-api-prod-cloudwatch-role-0a1b2c3";

/**
 * The dev stack with its optional settings on, in one program run for the tests of each:
 * `bundleAwsSdk` (every archive ships AWS SDK v3, as CallbackFunction does by default), a
 * configured `cursorSecret` (set as a secret, as `pulumi config set --secret` does), and
 * `manageApiGatewayAccount: false` in an account whose API Gateway setting names a role that
 * exists (the stack relies on it: test/infra/logging.test.ts).
 */
export const DEV_OPTIONS_RUN: ProgramRequest = {
  stack: "dev",
  config: {
    "items-api:bundleAwsSdk": "true",
    "items-api:cursorSecret": CURSOR_SECRET,
    "items-api:manageApiGatewayAccount": "false",
  },
  secretKeys: ["items-api:cursorSecret"],
  account: {
    apiGatewayCloudWatchRoleArn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${EXISTING_ROLE_NAME}`,
    roles: [EXISTING_ROLE_NAME],
  },
};

/** The program child's environment: its V8 coverage goes apart (TYPESCRIPT_EMIT_COVERAGE_VARIABLE). */
function programEnvironment(): NodeJS.ProcessEnv {
  const coverage = process.env[TYPESCRIPT_EMIT_COVERAGE_VARIABLE];
  return coverage === undefined ? process.env : { ...process.env, NODE_V8_COVERAGE: coverage };
}

const runs = new Map<string, Promise<ProgramSnapshot>>();

/**
 * Runs the child on a list of requests, one after another in one process. Each request's promise
 * settles as soon as the child has written its snapshot (a line `wrote <index> <file>`), not when
 * the whole list is done.
 */
export function runPrograms(requests: readonly ProgramRequest[]): Promise<ProgramSnapshot>[] {
  const dir = mkdtempSync(join(tmpdir(), "items-api-program-"));
  const requestFile = join(dir, "requests.json");
  writeFileSync(requestFile, JSON.stringify(requests));
  const settlers: { resolve: (snapshot: ProgramSnapshot) => void; reject: (error: Error) => void }[] = [];
  const snapshots = requests.map(
    () => new Promise<ProgramSnapshot>((resolve, reject) => settlers.push({ resolve, reject })),
  );
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", join(__dirname, "program-child.ts"), requestFile, dir],
    { cwd: PROJECT_ROOT, env: programEnvironment(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  createInterface({ input: child.stdout }).on("line", (line) => {
    const [, index, file] = /^wrote (\d+) (.+)$/.exec(line) ?? [];
    const settler = settlers[Number(index)];
    if (settler !== undefined && file !== undefined) {
      try {
        settler.resolve(JSON.parse(readFileSync(file, "utf8")) as ProgramSnapshot);
      } catch (error) {
        settler.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
  });
  // A child that cannot start at all: every run fails with the reason (`close` may not follow).
  child.on("error", (error) => settlers.forEach((settler) => settler.reject(error)));
  child.on("close", (code, signal) => {
    rmSync(dir, { recursive: true, force: true });
    // A program that threw still leaves its snapshot (with `error`); a run without one is a crash,
    // e.g. closure serialization failing on a handler module. Settled promises ignore this.
    requests.forEach((request, index) =>
      settlers[index]?.reject(
        new Error(
          `the Pulumi program crashed under mocks (stack ${request.stack}, exit ${code ?? signal}):\n${stderr}`,
        ),
      ),
    );
  });
  return snapshots;
}

/** Where a whole mocha run's program runs are written (test/support/program-runs.ts), if anywhere. */
export const PROGRAM_RUNS_DIR_VARIABLE = "ITEMS_API_PROGRAM_RUNS";

export function programRunFile(dir: string, request: ProgramRequest): string {
  return join(dir, `${createHash("sha256").update(JSON.stringify(request)).digest("hex").slice(0, 20)}.json`);
}

/** The file a process of this mocha run writes this request's snapshot to, if one plans to. */
function plannedFile(request: ProgramRequest): string | undefined {
  const dir = process.env[PROGRAM_RUNS_DIR_VARIABLE];
  const file = dir === undefined ? undefined : programRunFile(dir, request);
  return file !== undefined && existsSync(`${file}.planned`) ? file : undefined;
}

/** The snapshot another process of this mocha run writes, if one plans to; else undefined. */
function sharedRun(request: ProgramRequest): Promise<ProgramSnapshot> | undefined {
  const file = plannedFile(request);
  if (file === undefined) {
    return undefined;
  }
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 300000;
    const poll = () => {
      if (existsSync(file)) {
        resolve(JSON.parse(readFileSync(file, "utf8")) as ProgramSnapshot);
      } else if (existsSync(`${file}.failed`)) {
        reject(new Error(readFileSync(`${file}.failed`, "utf8")));
      } else if (Date.now() > deadline) {
        reject(new Error(`no program run for ${JSON.stringify(request)} after 300 s`));
      } else {
        setTimeout(poll, 100);
      }
    };
    poll();
  });
}

export function programSnapshot(request: ProgramRequest): Promise<ProgramSnapshot> {
  const key = JSON.stringify(request);
  let snapshot = runs.get(key);
  if (snapshot === undefined) {
    snapshot = sharedRun(request) ?? runPrograms([request])[0];
    runs.set(key, snapshot);
  }
  return snapshot;
}

/**
 * Snapshots of several programs run one after another in one process (program-child.ts), which
 * costs about half what a process each does; `programSnapshot` then answers them from memory.
 */
export function sharedProcessSnapshots(requests: readonly ProgramRequest[]): Promise<ProgramSnapshot[]> {
  const pending = requests.filter(
    (request) => !runs.has(JSON.stringify(request)) && plannedFile(request) === undefined,
  );
  const snapshots = pending.length === 0 ? [] : runPrograms(pending);
  pending.forEach((request, index) => runs.set(JSON.stringify(request), snapshots[index]));
  return Promise.all(requests.map((request) => programSnapshot(request)));
}

/** The program's snapshot for a stack; throws if the program failed. */
export async function stackSnapshot(stack: string): Promise<ProgramSnapshot> {
  const snapshot = await programSnapshot({ stack });
  if (snapshot.error !== undefined) {
    throw new Error(`the program failed for stack ${stack}: ${snapshot.error}`);
  }
  return snapshot;
}

export function resourcesOfType(snapshot: ProgramSnapshot, type: string): RegisteredResource[] {
  return snapshot.resources.filter((resource) => resource.type === type);
}

/** `items-api-<stack>`: what the program names its components, and so every resource, after. */
export function stackPrefix(snapshot: ProgramSnapshot): string {
  return `${snapshot.project}-${snapshot.stack}`;
}

/** The custom resource named `<prefix>-<suffix>` (the REST API itself: `<prefix>`). */
export function resourceOf(snapshot: ProgramSnapshot, suffix?: string): RegisteredResource {
  const prefix = stackPrefix(snapshot);
  return resourceNamed(snapshot, suffix === undefined ? prefix : `${prefix}-${suffix}`);
}

/** The one custom resource (or, given a component type, the one component) with this name. */
export function resourceNamed(snapshot: ProgramSnapshot, name: string, type?: string): RegisteredResource {
  const found = snapshot.resources.filter(
    (resource) => resource.name === name && (type === undefined ? resource.custom : resource.type === type),
  );
  if (found.length !== 1 || found[0] === undefined) {
    throw new Error(`expected one resource named ${name}, found ${found.length}`);
  }
  return found[0];
}
