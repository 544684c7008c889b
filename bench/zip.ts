/**
 * A minimal zip writer (stored names, deflated data, no extra fields), enough to measure what a
 * Lambda archive weighs zipped, as `pulumi up` would upload it. Node's zlib does the deflate and
 * the CRC-32; a file that deflate would grow is stored as is.
 */
import { readFileSync, readdirSync, statSync } from "fs";
import { join } from "path";
import { crc32, deflateRawSync } from "zlib";

export interface ZipFile {
  path: string;
  content: Buffer;
}

/** Every file under `root`, named `<prefix>/<path below root>`. */
export function filesUnder(root: string, prefix: string): ZipFile[] {
  return readdirSync(root).flatMap((entry) => {
    const full = join(root, entry);
    return statSync(full).isDirectory()
      ? filesUnder(full, `${prefix}/${entry}`)
      : [{ path: `${prefix}/${entry}`, content: readFileSync(full) }];
  });
}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
/** 1980-01-01 00:00, so equal inputs give equal bytes. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;

export function zipArchive(files: readonly ZipFile[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.path, "utf8");
    const deflated = deflateRawSync(file.content, { level: 9 });
    const stored = deflated.length >= file.content.length;
    const data = stored ? file.content : deflated;
    const crc = crc32(file.content);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL_HEADER, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(stored ? METHOD_STORED : METHOD_DEFLATED, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(file.content.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(CENTRAL_HEADER, 0);
    central.writeUInt16LE(0x0314, 4); // made by: Unix, 2.0
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(stored ? METHOD_STORED : METHOD_DEFLATED, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(file.content.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // -rw-r--r--
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
