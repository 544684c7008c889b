/**
 * bench/zip.ts: the archives the bench weighs are real zips. Read back here through their central
 * directory, every entry inflates to its input with the CRC-32 the header states.
 */
import { randomBytes } from "crypto";
import { expect } from "chai";
import { crc32, inflateRawSync } from "zlib";
import { ZipFile, zipArchive } from "../../bench/zip";

interface ReadEntry {
  path: string;
  method: number;
  content: Buffer;
  crc: number;
}

function readZip(zip: Buffer): ReadEntry[] {
  const end = zip.length - 22;
  expect(zip.readUInt32LE(end), "end of central directory").to.equal(0x06054b50);
  const count = zip.readUInt16LE(end + 10);
  let cursor = zip.readUInt32LE(end + 16);
  const entries: ReadEntry[] = [];
  for (let index = 0; index < count; index++) {
    expect(zip.readUInt32LE(cursor), "central header").to.equal(0x02014b50);
    const method = zip.readUInt16LE(cursor + 10);
    const crc = zip.readUInt32LE(cursor + 16);
    const compressedSize = zip.readUInt32LE(cursor + 20);
    const size = zip.readUInt32LE(cursor + 24);
    const nameLength = zip.readUInt16LE(cursor + 28);
    const offset = zip.readUInt32LE(cursor + 42);
    const path = zip.subarray(cursor + 46, cursor + 46 + nameLength).toString("utf8");
    expect(zip.readUInt32LE(offset), `local header of ${path}`).to.equal(0x04034b50);
    const dataStart = offset + 30 + zip.readUInt16LE(offset + 26) + zip.readUInt16LE(offset + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    const content = method === 8 ? inflateRawSync(data) : Buffer.from(data);
    expect(content.length, `size of ${path}`).to.equal(size);
    entries.push({ path, method, content, crc });
    cursor += 46 + nameLength;
  }
  return entries;
}

describe("bench: zip writer", () => {
  it("writes a zip whose entries read back to their inputs, deflated or stored", () => {
    const files: ZipFile[] = [
      { path: "__index.js", content: Buffer.from("exports.handler = () => 1;\n".repeat(200)) },
      { path: "node_modules/pkg/random.bin", content: randomBytes(4096) },
      { path: "node_modules/pkg/empty.txt", content: Buffer.alloc(0) },
      { path: "dir/ünïcode.json", content: Buffer.from('{"a":1}') },
    ];
    const zip = zipArchive(files);
    const entries = readZip(zip);
    expect(entries.map((entry) => entry.path)).to.deep.equal(files.map((file) => file.path));
    for (const [index, entry] of entries.entries()) {
      const input = files[index]?.content ?? Buffer.alloc(0);
      expect(entry.content.equals(input), entry.path).to.equal(true);
      expect(entry.crc, entry.path).to.equal(crc32(input));
    }
    // Repetitive text deflates; random, empty and tiny contents would grow, so they are stored.
    expect(entries.map((entry) => entry.method)).to.deep.equal([8, 0, 0, 0]);
    expect(zip.length).to.be.below(files.reduce((sum, file) => sum + file.content.length, 0));
  });

  it("gives equal bytes for equal inputs (fixed timestamps)", () => {
    const files: ZipFile[] = [{ path: "a.txt", content: Buffer.from("same") }];
    expect(zipArchive(files).equals(zipArchive(files))).to.equal(true);
  });
});
