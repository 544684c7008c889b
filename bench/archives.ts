/**
 * The Lambda archives: the program's own (index.ts under Pulumi mocks, through the test suite's
 * program snapshot), the same program with `bundleAwsSdk`, and the naive baseline's
 * (bench/naive-child.ts). Each is rebuilt as real files and zipped with bench/zip.ts.
 */
import { execFile } from "child_process";
import { readFileSync } from "fs";
import { join } from "path";
import { promisify } from "util";
import type { ArchiveSnapshot, ProgramRequest } from "../test/support/program-snapshot";
import type { NaiveFunction } from "./naive-child";
import type { ArchiveRow, Design } from "./budgets";
import { ZipFile, filesUnder, zipArchive } from "./zip";

const execFileAsync = promisify(execFile);

export const BUNDLED_SDK_RUN: ProgramRequest = { stack: "dev", config: { "items-api:bundleAwsSdk": "true" } };

/**
 * The files of an archive from its snapshot: `__index.js` from the serialized code, package
 * folders from the project's node_modules (where CallbackFunction copies them from). Throws when
 * the sizes disagree with the snapshot, i.e. when the files are not the ones that would ship.
 */
export function archiveFiles(projectRoot: string, archive: ArchiveSnapshot): ZipFile[] {
  const files: ZipFile[] = [];
  for (const entry of archive.entries) {
    if (entry.path === "__index.js") {
      files.push({ path: entry.path, content: Buffer.from(archive.indexJs, "utf8") });
    } else if (entry.kind === "directory") {
      files.push(...filesUnder(join(projectRoot, entry.path), entry.path));
    } else {
      throw new Error(`unexpected archive entry ${entry.path} (${entry.kind})`);
    }
  }
  const bytes = files.reduce((sum, file) => sum + file.content.length, 0);
  if (bytes !== archive.unzippedBytes) {
    throw new Error(`archive files hold ${bytes} bytes, the snapshot ${archive.unzippedBytes}`);
  }
  return files;
}

export function archiveRow(design: Design, operationId: string, entries: number, files: ZipFile[]): ArchiveRow {
  return {
    design,
    operationId,
    entries,
    files: files.length,
    unzippedBytes: files.reduce((sum, file) => sum + file.content.length, 0),
    zippedBytes: zipArchive(files).length,
    nativeAddons: files.filter((file) => file.path.endsWith(".node")).length,
  };
}

/** Builds the naive baseline's archives in a child process and extracts them under `outDir`. */
export async function buildNaiveArchives(projectRoot: string, outDir: string): Promise<NaiveFunction[]> {
  const summary = join(outDir, "naive.json");
  await execFileAsync(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", join(__dirname, "naive-child.ts"), join(outDir, "naive"), summary],
    { cwd: projectRoot, maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(readFileSync(summary, "utf8")) as NaiveFunction[];
}
