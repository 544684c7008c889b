/**
 * Child-process entry: builds the naive baseline's Lambdas (bench/naive.ts) under Pulumi mocks,
 * as common examples do (`callback`, no role, default `codePathOptions`, so AWS SDK v3 is zipped
 * into each archive), then extracts each archive to `<outDir>/<operationId>/` (its `__index.js`
 * then loads the SDK from the archive's own node_modules, as in Lambda, where the archive's copy
 * takes precedence) and writes a summary.
 *
 *   node -r ts-node/register/transpile-only bench/naive-child.ts <outDir> <summary.json>
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import { dirname, join } from "path";
import * as pulumi from "@pulumi/pulumi";
import { ZipFile, filesUnder, zipArchive } from "./zip";

const PROJECT_ROOT = join(__dirname, "..");

export interface ArchiveFigures {
  /** Entries as CallbackFunction lists them (`__index.js`, then one per package folder). */
  entries: number;
  files: number;
  unzippedBytes: number;
  zippedBytes: number;
  /** Native addons (`.node` files): code that would tie the archive to one architecture. */
  nativeAddons: number;
}

export interface NaiveFunction extends ArchiveFigures {
  operationId: string;
  /** The extracted `__index.js`. */
  indexPath: string;
}

/** The files of an archive as CallbackFunction builds it (folders are paths under the project). */
export async function archiveFiles(archive: pulumi.asset.AssetArchive): Promise<{ entries: number; files: ZipFile[] }> {
  const assets = (await archive.assets) as Record<string, pulumi.asset.Asset | pulumi.asset.Archive>;
  const files: ZipFile[] = [];
  for (const [path, asset] of Object.entries(assets)) {
    if (asset instanceof pulumi.asset.StringAsset) {
      files.push({ path, content: Buffer.from(await asset.text, "utf8") });
    } else if (asset instanceof pulumi.asset.FileArchive) {
      const source = join(PROJECT_ROOT, await asset.path);
      files.push(...filesUnder(source, path));
    } else if (asset instanceof pulumi.asset.FileAsset) {
      files.push({ path, content: readFileSync(join(PROJECT_ROOT, await asset.path)) });
    } else {
      throw new Error(`unexpected archive entry ${path}`);
    }
  }
  return { entries: Object.keys(assets).length, files };
}

async function main(): Promise<void> {
  const [outDir, summaryFile] = process.argv.slice(2);
  if (outDir === undefined || summaryFile === undefined) {
    throw new Error("usage: naive-child.ts <outDir> <summary.json>");
  }
  const archives = new Map<string, pulumi.asset.AssetArchive>();
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        if (args.inputs.code instanceof pulumi.asset.AssetArchive) {
          archives.set(args.name, args.inputs.code);
        }
        return { id: `${args.name}-id`, state: { ...args.inputs, arn: `arn:aws:mock:::${args.name}` } };
      },
      call(): Record<string, unknown> {
        return {};
      },
    },
    "items-api-bench",
    "naive",
    false,
  );
  // After setMocks, as the program itself is loaded in test/support/program-child.ts.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const aws = require("@pulumi/aws") as typeof import("@pulumi/aws");
  const { NAIVE_OPERATIONS, naiveHandler } = require("./naive") as typeof import("./naive");
  /* eslint-enable @typescript-eslint/no-require-imports */
  for (const [operationId, operation] of Object.entries(NAIVE_OPERATIONS)) {
    new aws.lambda.CallbackFunction(operationId, { callback: naiveHandler(operationId, operation) });
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  await (require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> }).waitForRPCs();

  const summary: NaiveFunction[] = [];
  for (const operationId of Object.keys(NAIVE_OPERATIONS)) {
    const archive = archives.get(operationId);
    if (archive === undefined) {
      throw new Error(`no archive was registered for ${operationId}`);
    }
    const { entries, files } = await archiveFiles(archive);
    const dir = join(outDir, operationId);
    rmSync(dir, { recursive: true, force: true });
    for (const file of files) {
      mkdirSync(dirname(join(dir, file.path)), { recursive: true });
      writeFileSync(join(dir, file.path), file.content);
    }
    summary.push({
      operationId,
      indexPath: join(dir, "__index.js"),
      entries,
      files: files.length,
      unzippedBytes: files.reduce((sum, file) => sum + file.content.length, 0),
      zippedBytes: zipArchive(files).length,
      nativeAddons: files.filter((file) => file.path.endsWith(".node")).length,
    });
  }
  writeFileSync(summaryFile, JSON.stringify(summary));
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
