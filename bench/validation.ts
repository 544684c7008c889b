/**
 * How request validation is compiled, measured. The handlers validate with hand-written code
 * (handlers/item.ts: parseItemInput / parseItemPatch), serialized into `__index.js`; API Gateway
 * validates the draft-4 models in AWS and the local runtime compiles them with ajv. The
 * alternatives for the Lambdas are ajv compiling the models at init, or ajv's standalone code
 * generation at build time. For each: what it adds to every archive, what it adds to a cold
 * start (a module timed by the cold runner, alone), and what one validation costs.
 */
import { mkdirSync, readFileSync, writeFileSync } from "fs";
import { dirname, join } from "path";
import { performance } from "perf_hooks";
import Ajv from "ajv-draft-04";
import standaloneCode from "ajv/dist/standalone";
import { parseItemInput, parseItemPatch } from "../handlers/item";
import { itemPatchSchema, newItemSchema } from "../infra/schemas";
import type { ColdGroup } from "./cold";
import { ZipFile, filesUnder, zipArchive } from "./zip";

export interface ValidationOption {
  option: string;
  /** Bytes every archive would gain (0: already inside `__index.js`). */
  addedUnzippedBytes: number;
  addedZippedBytes: number;
  /** Cold-start module (timed with the others), when the option loads anything at init. */
  coldModule?: string;
  /** One NewItem plus one ItemPatch validation of a typical body, microseconds. */
  perValidationUs: number;
}

const NEW_ITEM = { name: "bench item", description: "created by npm run bench", color: "red", size: 3 };
const PATCH = { description: null, color: "blue", tags: ["a", "b"] };

/** A package and its dependencies, as CallbackFunction would copy them from node_modules. */
function packageClosure(projectRoot: string, name: string, seen = new Set<string>()): ZipFile[] {
  if (seen.has(name)) {
    return [];
  }
  seen.add(name);
  const dir = join(projectRoot, "node_modules", name);
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  // ajv-draft-04 names ajv as a peer: it would have to be a dependency of its own, so it ships too.
  const needed = [...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})];
  return [
    ...filesUnder(dir, `node_modules/${name}`),
    ...needed.flatMap((dependency) => packageClosure(projectRoot, dependency, seen)),
  ];
}

function microseconds(iterations: number, run: () => void): number {
  for (let index = 0; index < iterations / 10; index++) {
    run();
  }
  const started = performance.now();
  for (let index = 0; index < iterations; index++) {
    run();
  }
  return ((performance.now() - started) * 1000) / iterations;
}

function sizes(files: ZipFile[]): { unzipped: number; zipped: number } {
  return { unzipped: files.reduce((sum, file) => sum + file.content.length, 0), zipped: zipArchive(files).length };
}

/**
 * Measures the three options; writes the modules the cold runner times under `coldDir`, and
 * returns them as extra cold targets.
 */
export function measureValidationOptions(
  projectRoot: string,
  coldDir: string,
  iterations: number,
): { options: ValidationOption[]; coldTargets: { name: string; group: ColdGroup; modulePath: string }[] } {
  const compileAtInit = join(coldDir, "validation-ajv-compile", "index.js");
  mkdirSync(dirname(compileAtInit), { recursive: true });
  writeFileSync(
    compileAtInit,
    [
      `const Ajv = require("ajv-draft-04");`,
      `const ajv = new Ajv({ allErrors: false, strict: false });`,
      `exports.newItem = ajv.compile(${JSON.stringify(newItemSchema)});`,
      `exports.itemPatch = ajv.compile(${JSON.stringify(itemPatchSchema)});`,
      "",
    ].join("\n"),
  );

  const generator = new Ajv({ allErrors: false, strict: false, code: { source: true } });
  generator.addSchema(newItemSchema, "NewItem");
  generator.addSchema(itemPatchSchema, "ItemPatch");
  const generated = standaloneCode(generator, { newItem: "NewItem", itemPatch: "ItemPatch" });
  const standalone = join(coldDir, "validation-ajv-standalone", "index.js");
  mkdirSync(dirname(standalone), { recursive: true });
  writeFileSync(standalone, generated);
  // The generated code requires a few of ajv's runtime helpers; they would ship too.
  const helpers = [...new Set([...generated.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1] ?? ""))];
  const helperFiles = helpers.map((helper) => {
    const path = require.resolve(helper, { paths: [projectRoot] });
    return { path: helper, content: readFileSync(path) };
  });

  const runtime = new Ajv({ allErrors: false, strict: false });
  const validateNewItem = runtime.compile(newItemSchema);
  const validatePatch = runtime.compile(itemPatchSchema);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const standaloneModule = require(standalone) as {
    newItem: (data: unknown) => boolean;
    itemPatch: (data: unknown) => boolean;
  };

  const ajvPackage = sizes(packageClosure(projectRoot, "ajv-draft-04"));
  const standaloneSizes = sizes([{ path: "validators.js", content: Buffer.from(generated) }, ...helperFiles]);
  const options: ValidationOption[] = [
    {
      option: "hand-written (handlers/item.ts), what ships",
      addedUnzippedBytes: 0,
      addedZippedBytes: 0,
      perValidationUs: microseconds(iterations, () => {
        parseItemInput(NEW_ITEM);
        parseItemPatch(PATCH);
      }),
    },
    {
      option: "ajv-draft-04, models compiled at init",
      addedUnzippedBytes: ajvPackage.unzipped,
      addedZippedBytes: ajvPackage.zipped,
      coldModule: compileAtInit,
      perValidationUs: microseconds(iterations, () => {
        validateNewItem(NEW_ITEM);
        validatePatch(PATCH);
      }),
    },
    {
      option: "ajv standalone code, generated at build",
      addedUnzippedBytes: standaloneSizes.unzipped,
      addedZippedBytes: standaloneSizes.zipped,
      coldModule: standalone,
      perValidationUs: microseconds(iterations, () => {
        standaloneModule.newItem(NEW_ITEM);
        standaloneModule.itemPatch(PATCH);
      }),
    },
  ];
  return {
    options,
    coldTargets: options.flatMap((option) =>
      option.coldModule === undefined
        ? []
        : [{ name: `validation: ${option.option}`, group: "validation" as ColdGroup, modulePath: option.coldModule }],
    ),
  };
}
