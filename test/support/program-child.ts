/**
 * Child-process entry: runs the real `index.ts` under Pulumi mocks with a stack's YAML config,
 * once per request in the list argv[2] names, and writes each run's JSON snapshot (every
 * registered resource with its inputs, the stack outputs, and each Lambda archive's entries and
 * `__index.js`) into the folder argv[3] as soon as the run ends, printing `wrote <index> <file>`.
 *
 *   node -r ts-node/register/transpile-only test/support/program-child.ts <requests.json> <out-dir>
 *
 * A process per run: the Pulumi runtime keeps global state (mocks, config, the stack resource),
 * so stacks cannot share one. Use `programSnapshot` (program-snapshot.ts), not this file.
 */
import { createHash } from "crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "fs";
import { join } from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../../local/stack-settings";
import { MOCK_ACCOUNT_ID, MOCK_FRESH_ACCOUNT } from "./program-snapshot";
import type {
  ArchiveEntry,
  ArchiveSnapshot,
  MockAccount,
  ProgramRequest,
  ProgramSnapshot,
  ReadResource,
  RegisteredResource,
} from "./program-snapshot";

// V8's own stack traces, not ts-node's source-mapped ones: the Pulumi SDK takes a stack trace
// for every promise and resource it makes, and mapping each one costs about a tenth of a run.
delete (Error as { prepareStackTrace?: unknown }).prepareStackTrace;

interface ArboristPrototype {
  path: string;
  loadActual(this: ArboristPrototype, options?: object): Promise<unknown>;
}

/**
 * Reads node_modules once per process. CallbackFunction's closure serialization walks the whole
 * tree with @npmcli/arborist for every function it packages (@pulumi/pulumi
 * runtime/closure/codePaths.js, allFoldersForPackages: `new Arborist({ path }).loadActual()`),
 * which is a third of a program run here. The tree cannot change while the suite runs, and
 * Pulumi only reads it, so the archives are the same as with a walk per function.
 */
function readNodeModulesOnce(): void {
  const arboristPath = require.resolve("@npmcli/arborist", { paths: [require.resolve("@pulumi/pulumi")] });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Arborist } = require(arboristPath) as { Arborist: { prototype: ArboristPrototype } };
  const loadActual = Arborist.prototype.loadActual;
  const trees = new Map<string, Promise<unknown>>();
  Arborist.prototype.loadActual = function (options) {
    if (options !== undefined) {
      return loadActual.call(this, options);
    }
    let tree = trees.get(this.path);
    if (tree === undefined) {
      tree = loadActual.call(this);
      trees.set(this.path, tree);
    }
    return tree;
  };
}
readNodeModulesOnce();

interface TsNodeService {
  compile(code: string, fileName: string): string;
}

/**
 * Transpiles each module once per process: every run of a batch loads the program afresh (the
 * require cache is cleared), and ts-node would emit the same source again each time (a quarter
 * of a batch of short runs). Same source, same emit: the cache is keyed by both.
 */
function transpileOnce(): void {
  const service = (process as unknown as Record<symbol, TsNodeService | undefined>)[
    Symbol.for("ts-node.register.instance")
  ];
  if (service === undefined) {
    return;
  }
  const compile = service.compile.bind(service);
  const emitted = new Map<string, string>();
  service.compile = (code, fileName) => {
    const key = `${fileName}\0${code}`;
    let output = emitted.get(key);
    if (output === undefined) {
      output = compile(code, fileName);
      emitted.set(key, output);
    }
    return output;
  };
}
transpileOnce();

export const MOCK_ACCOUNT = MOCK_ACCOUNT_ID;
export const MOCK_REGION = "us-east-1";

/** Pulumi's marker for a secret value in serialized properties. */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function isSecretWrapper(value: unknown): value is { value: unknown } {
  return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** Unwraps secret markers, noting where they were; drops the code archive (snapshotted apart). */
function plain(value: unknown, path: string, secretPaths: string[]): unknown {
  if (isSecretWrapper(value)) {
    secretPaths.push(path);
    return plain(value.value, path, secretPaths);
  }
  if (value instanceof pulumi.asset.Archive || value instanceof pulumi.asset.Asset) {
    return { archive: true };
  }
  if (Array.isArray(value)) {
    return value.map((member, index) => plain(member, `${path}[${index}]`, secretPaths));
  }
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value).map(([key, member]) => [
        key,
        plain(member, path === "" ? key : `${path}.${key}`, secretPaths),
      ]),
    );
  }
  return value;
}

/** The part of the engine's RegisterResourceRequest that the mock provider is not shown. */
interface RegisterResourceRequest {
  getType(): string;
  getName(): string;
  getRetainondelete(): boolean;
  getDependenciesList(): string[];
}

interface RegistrationOptions {
  retainOnDelete: boolean;
  dependencies: string[];
}

interface RegisteringMonitor {
  registerResource(request: RegisterResourceRequest, callback: unknown): unknown;
}

/**
 * Records each resource's `retainOnDelete` option and dependencies as the engine would receive
 * them: the mocks' `newResource` sees only inputs, so the mock monitor's registerResource is wrapped.
 */
function recordRegistrationOptions(): Map<string, RegistrationOptions> {
  const recorded = new Map<string, RegistrationOptions>();
  const monitor = pulumi.runtime.getMonitor() as unknown as RegisteringMonitor;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (request, callback) => {
    recorded.set(`${request.getType()}::${request.getName()}`, {
      retainOnDelete: request.getRetainondelete(),
      dependencies: request.getDependenciesList(),
    });
    return register(request, callback);
  };
  return recorded;
}

/**
 * What AWS answers the program's reads and invokes, from the mocked account: API Gateway's
 * account settings (`aws.apigateway.Account.get`) and `aws.iam.getRole`, which fails as AWS
 * does (NoSuchEntity) for a role the account lacks. Any other invoke is unexpected.
 */
function accountRead(account: MockAccount, type: string): Record<string, unknown> {
  if (type !== "aws:apigateway/account:Account") {
    throw new Error(`unexpected read of ${type}`);
  }
  return { cloudwatchRoleArn: account.apiGatewayCloudWatchRoleArn, throttleSettings: [] };
}

function accountCall(account: MockAccount, token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  if (token !== "aws:iam/getRole:getRole") {
    throw new Error(`unexpected provider function call ${token}`);
  }
  const name = String(inputs.name);
  if (!account.roles.includes(name)) {
    throw new Error(`NoSuchEntity: The role with name ${name} cannot be found.`);
  }
  return { name, id: name, arn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${name}` };
}

function suffix(name: string): string {
  return createHash("sha256").update(name).digest("hex").slice(0, 7);
}

/** Outputs the mock provider reports: inputs plus the attributes AWS would compute. */
function mockState(
  type: string,
  name: string,
  inputs: Record<string, unknown>,
): { id: string; state: Record<string, unknown> } {
  const physicalName = typeof inputs.name === "string" ? inputs.name : `${name}-${suffix(name)}`;
  const arnPrefix = (service: string) => `arn:aws:${service}:${MOCK_REGION}:${MOCK_ACCOUNT}`;
  const { code: _code, ...state } = inputs;
  switch (type) {
    case "aws:dynamodb/table:Table":
      return {
        id: physicalName,
        state: { ...state, name: physicalName, arn: `${arnPrefix("dynamodb")}:table/${physicalName}` },
      };
    case "aws:cloudwatch/logGroup:LogGroup":
      return {
        id: physicalName,
        state: { ...state, name: physicalName, arn: `${arnPrefix("logs")}:log-group:${physicalName}` },
      };
    case "aws:iam/role:Role":
      return {
        id: physicalName,
        state: { ...state, name: physicalName, arn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${physicalName}` },
      };
    case "aws:lambda/function:Function": {
      const arn = `${arnPrefix("lambda")}:function:${physicalName}`;
      return {
        id: physicalName,
        state: {
          ...state,
          name: physicalName,
          arn,
          invokeArn: `arn:aws:apigateway:${MOCK_REGION}:lambda:path/2015-03-31/functions/${arn}/invocations`,
        },
      };
    }
    case "aws:apigateway/restApi:RestApi": {
      const id = `api${suffix(name)}`;
      return {
        id,
        state: {
          ...state,
          name: physicalName,
          executionArn: `${arnPrefix("execute-api")}:${id}`,
          rootResourceId: "root",
        },
      };
    }
    case "aws:apigateway/stage:Stage": {
      const restApi = String(inputs.restApi);
      const stageName = String(inputs.stageName);
      return {
        id: `ags-${restApi}-${stageName}`,
        state: { ...state, invokeUrl: `https://${restApi}.execute-api.${MOCK_REGION}.amazonaws.com/${stageName}` },
      };
    }
    case "aws:cognito/userPool:UserPool": {
      const id = `${MOCK_REGION}_${suffix(name)}`;
      return { id, state: { ...state, arn: `${arnPrefix("cognito-idp")}:userpool/${id}` } };
    }
    case "aws:cognito/userPoolClient:UserPoolClient":
      return { id: `client${suffix(name)}`, state };
    case "aws:apigateway/apiKey:ApiKey":
      return { id: `key${suffix(name)}`, state: { ...state, value: `mock-api-key-${suffix(name)}` } };
    case "aws:sns/topic:Topic":
      return {
        id: `${arnPrefix("sns")}:${physicalName}`,
        state: { ...state, name: physicalName, arn: `${arnPrefix("sns")}:${physicalName}` },
      };
    default:
      return {
        id: `${name}-id`,
        state: { ...state, arn: `arn:aws:mock:${MOCK_REGION}:${MOCK_ACCOUNT}:${type}/${name}` },
      };
  }
}

/** Config from `Pulumi.<stack>.yaml`, as the Pulumi CLI hands it to a program (strings). */
function stackConfig(stack: string): Record<string, string> {
  const parsed: unknown = parse(readFileSync(join(PROJECT_ROOT, `Pulumi.${stack}.yaml`), "utf8"));
  const config = (parsed as { config?: Record<string, unknown> } | null)?.config ?? {};
  return Object.fromEntries(
    Object.entries(config).map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]),
  );
}

function projectName(): string {
  const parsed = parse(readFileSync(join(PROJECT_ROOT, "Pulumi.yaml"), "utf8")) as { name?: unknown };
  if (parsed.name !== "items-api") {
    throw new Error(`Pulumi.yaml names project ${String(parsed.name)}, expected items-api`);
  }
  return parsed.name;
}

/** Sizes in bytes of the files under `root`, found by walking it (Pulumi's FileArchive holds them all). */
function fileSizesUnder(root: string): number[] {
  return readdirSync(root, { withFileTypes: true }).flatMap((entry) => {
    const full = join(root, entry.name);
    return entry.isDirectory() ? fileSizesUnder(full) : [statSync(full).size];
  });
}

async function snapshotArchive(archive: pulumi.asset.AssetArchive): Promise<ArchiveSnapshot> {
  const assets = (await archive.assets) as Record<string, pulumi.asset.Asset | pulumi.asset.Archive>;
  const entries: ArchiveEntry[] = [];
  let indexJs = "";
  for (const [path, asset] of Object.entries(assets)) {
    if (asset instanceof pulumi.asset.StringAsset) {
      const text = await asset.text;
      if (path === "__index.js") {
        indexJs = text;
      }
      entries.push({ path, kind: "string", files: 1, bytes: Buffer.byteLength(text) });
    } else if (asset instanceof pulumi.asset.FileArchive) {
      const sizes = fileSizesUnder(join(PROJECT_ROOT, await asset.path));
      entries.push({
        path,
        kind: "directory",
        files: sizes.length,
        bytes: sizes.reduce((sum, size) => sum + size, 0),
      });
    } else if (asset instanceof pulumi.asset.FileAsset) {
      entries.push({ path, kind: "file", files: 1, bytes: statSync(join(PROJECT_ROOT, await asset.path)).size });
    } else {
      entries.push({ path, kind: "other", files: 0, bytes: 0 });
    }
  }
  return {
    entries: entries.sort((a, b) => a.path.localeCompare(b.path)),
    indexJs,
    unzippedBytes: entries.reduce((sum, entry) => sum + entry.bytes, 0),
  };
}

async function settle<T>(value: T): Promise<{ value: unknown; secret: boolean }> {
  if (pulumi.Output.isInstance(value)) {
    const output = value as pulumi.Output<unknown>;
    const resolved = await new Promise<unknown>((resolve) => output.apply((inner) => resolve(inner)));
    return { value: resolved, secret: await pulumi.isSecret(output) };
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const entries = await Promise.all(
      Object.entries(value).map(async ([key, member]) => [key, await settle(member)] as const),
    );
    return {
      value: Object.fromEntries(entries.map(([key, member]) => [key, member.value])),
      secret: entries.some(([, member]) => member.secret),
    };
  }
  return { value, secret: false };
}

/** Runs index.ts once for `request`, with fresh mocks, config and program modules. */
async function runProgram(request: ProgramRequest, project: string): Promise<ProgramSnapshot> {
  const resources: RegisteredResource[] = [];
  const reads: ReadResource[] = [];
  const invokes: string[] = [];
  const account = request.account ?? MOCK_FRESH_ACCOUNT;
  const archives = new Map<string, pulumi.asset.AssetArchive>();
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const inputs = args.inputs as Record<string, unknown>;
        // A read (`Resource.get`) comes with the id it asked for; a registration with none.
        if (args.id !== undefined && args.id !== "") {
          const state = accountRead(account, args.type);
          reads.push({ type: args.type, name: args.name, id: args.id, state });
          return { id: args.id, state };
        }
        if (inputs.code instanceof pulumi.asset.AssetArchive) {
          archives.set(args.name, inputs.code);
        }
        const secretPaths: string[] = [];
        const plainInputs = plain(inputs, "", secretPaths) as Record<string, unknown>;
        const { id, state } =
          args.custom === false ? { id: "", state: {} } : mockState(args.type, args.name, plainInputs);
        resources.push({
          type: args.type,
          name: args.name,
          custom: args.custom !== false,
          id,
          inputs: plainInputs,
          secretPaths,
          state,
        });
        return { id, state };
      },
      call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        invokes.push(args.token);
        if (args.token === "aws:cognito/getUserPool:getUserPool") {
          const id = String(args.inputs.userPoolId);
          return { ...args.inputs, id, arn: `arn:aws:cognito-idp:${MOCK_REGION}:${MOCK_ACCOUNT}:userpool/${id}` };
        }
        return accountCall(account, args.token, args.inputs as Record<string, unknown>);
      },
    },
    project,
    request.stack,
    false,
  );
  pulumi.runtime.setAllConfig({ ...stackConfig(request.stack), ...request.config }, request.secretKeys ?? []);
  const registrationOptions = recordRegistrationOptions();
  // A fresh copy of the program and everything it loads from the project, as in a new process.
  for (const module of Object.keys(require.cache)) {
    if (module.startsWith(PROJECT_ROOT) && !module.includes("node_modules") && module !== __filename) {
      delete require.cache[module];
    }
  }

  try {
    for (const module of request.preload ?? []) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(join(PROJECT_ROOT, module));
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported = require(join(PROJECT_ROOT, "index.ts")) as unknown;
    // As Pulumi runs a program: an exported function is called and awaited, its result the outputs.
    const program = (typeof exported === "function" ? await exported() : exported) as Record<string, unknown>;
    const outputs: ProgramSnapshot["outputs"] = {};
    for (const [name, value] of Object.entries(program)) {
      // Pulumi drops undefined stack outputs (e.g. apiKey where keys are off).
      if (value !== undefined) {
        outputs[name] = await settle(value);
      }
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    await (require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> }).waitForRPCs();
    const monitor = pulumi.runtime.getMonitor() as unknown as { getRegisteredResources(): Map<string, unknown> };
    const urns = [...monitor.getRegisteredResources().keys()];
    for (const resource of resources) {
      resource.urn = urns.find((urn) => urn.endsWith(`::${resource.name}`) && urn.includes(resource.type));
      const options = registrationOptions.get(`${resource.type}::${resource.name}`);
      resource.retainOnDelete = options?.retainOnDelete;
      resource.dependencies = options?.dependencies;
    }
    const archiveSnapshots: Record<string, ArchiveSnapshot> = {};
    for (const [name, archive] of archives) {
      archiveSnapshots[name] = await snapshotArchive(archive);
    }
    return { project, stack: request.stack, resources, reads, invokes, outputs, archives: archiveSnapshots };
  } catch (error) {
    return {
      project,
      stack: request.stack,
      resources,
      reads,
      invokes,
      outputs: {},
      archives: {},
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/**
 * The request file holds a list of requests, run one after another in this process: each resets
 * the mocks and the config and loads the program afresh, which gives the snapshot a process of its
 * own gives (the order of registration aside, which varies anyway) and saves a process start and
 * the load of the Pulumi SDK per run. Each snapshot is written as soon as its run ends, so a test
 * that needs the first waits for the first alone.
 */
async function main(): Promise<void> {
  const [requestFile, outDir] = process.argv.slice(2);
  if (requestFile === undefined || outDir === undefined) {
    throw new Error("usage: program-child.ts <requests.json> <out-dir>");
  }
  const requests = JSON.parse(readFileSync(requestFile, "utf8")) as ProgramRequest[];
  const project = projectName();
  for (const [index, request] of requests.entries()) {
    const file = join(outDir, `${index}.json`);
    writeFileSync(file, JSON.stringify(await runProgram(request, project)));
    process.stdout.write(`wrote ${index} ${file}\n`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
