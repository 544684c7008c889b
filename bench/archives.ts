/**
 * What each Lambda archive weighs: the archive as the program builds it (index.ts under Pulumi
 * mocks, through the test suite's program snapshot), rebuilt as files (`__index.js` from the
 * serialized code, package folders from the project's node_modules, where CallbackFunction copies
 * them from) and zipped with fflate at deflate's default level, as `pulumi up` uploads it.
 */
import { readFileSync, readdirSync, statSync } from "fs";
import { join } from "path";
import { zipSync } from "fflate";
import { ArchiveSnapshot, PROJECT_ROOT } from "../test/support/program-snapshot";

export interface ArchiveSize {
  files: number;
  unzippedBytes: number;
  zippedBytes: number;
}

export function archiveSize(archive: ArchiveSnapshot): ArchiveSize {
  const files: Record<string, Uint8Array> = {};
  for (const entry of archive.entries) {
    if (entry.path === "__index.js") {
      files[entry.path] = Buffer.from(archive.indexJs, "utf8");
    } else if (entry.kind === "directory") {
      const root = join(PROJECT_ROOT, entry.path);
      for (const path of readdirSync(root, { recursive: true, encoding: "utf8" })) {
        if (statSync(join(root, path)).isFile()) {
          files[`${entry.path}/${path}`] = readFileSync(join(root, path));
        }
      }
    } else {
      throw new Error(`unexpected archive entry ${entry.path} (${entry.kind})`);
    }
  }
  const contents = Object.values(files);
  const unzippedBytes = contents.reduce((sum, content) => sum + content.length, 0);
  // Other bytes than the snapshot's would mean these are not the files that ship.
  if (unzippedBytes !== archive.unzippedBytes) {
    throw new Error(`the archive's files hold ${unzippedBytes} bytes, the snapshot ${archive.unzippedBytes}`);
  }
  return { files: contents.length, unzippedBytes, zippedBytes: zipSync(files).length };
}
