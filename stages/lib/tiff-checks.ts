/**
 * What ingest checks about one image file before it decodes it, and the
 * decoder itself. Each check answers with a message that says what the file
 * is and why ingest will not read it; the caller puts the file's name in
 * front. sharp loads lazily, inside the functions that need it.
 *
 *   sniffFile     bytes only: empty, PNG/JPEG/GIF/BMP/text renamed .tif, not a
 *                 TIFF, a TIFF whose directory or pixel data lies past its end
 *   probeImage    sniffFile, then sharp's header: one page, 8-bit, one channel
 *   readGrey      decodes the pixels (a truncated strip is an error)
 */
import { open, type FileHandle } from 'node:fs/promises';
import { fail, ok, type Result } from '../../engine/result.js';

/** Size of an image that passed {@link probeImage}. */
export interface ImageHeader {
  readonly h: number;
  readonly w: number;
}

/** Grey pixels of one decoded file, row-major, at its original size. */
export interface Decoded extends ImageHeader {
  readonly pixels: Uint8Array;
}

const MAGIC: ReadonlyArray<readonly [string, readonly number[]]> = [
  ['a PNG', [0x89, 0x50, 0x4e, 0x47]],
  ['a JPEG', [0xff, 0xd8, 0xff]],
  ['a GIF', [0x47, 0x49, 0x46, 0x38]],
  ['a BMP', [0x42, 0x4d]],
];

/** Reads `length` bytes at `position` (fewer at the end of the file). */
async function bytesAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/**
 * Checks a file's bytes without decoding it: not empty, a TIFF by its magic
 * number (else names the format it has: PNG, JPEG, GIF, BMP, text), and for a
 * classic TIFF, that its first directory and the pixel data that directory
 * points at (strips or tiles) lie inside the file, which is how a truncated
 * copy shows. BigTIFF files pass on to sharp unchecked.
 */
export async function sniffFile(path: string): Promise<Result<void, string>> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    return fail(`cannot open: ${(e as Error).message}`);
  }
  try {
    const size = (await fh.stat()).size;
    if (size === 0) return fail('empty file (0 bytes), not a TIFF');
    const head = await bytesAt(fh, 0, 512);
    for (const [name, magic] of MAGIC) {
      if (magic.every((b, i) => head[i] === b)) return fail(`${name} file named .tif: ingest reads TIFF files only`);
    }
    const le = head[0] === 0x49 && head[1] === 0x49;
    if (!(le || (head[0] === 0x4d && head[1] === 0x4d)) || head.length < 8) {
      const text = head.every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127) || b >= 128);
      return fail(text ? 'a text file, not a TIFF' : `not a TIFF (starts with bytes ${[...head.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')})`);
    }
    const u16 = (b: Buffer, at: number): number => (le ? b.readUInt16LE(at) : b.readUInt16BE(at));
    const u32 = (b: Buffer, at: number): number => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
    const version = u16(head, 2);
    if (version === 43) return ok(undefined);
    if (version !== 42) return fail(`not a TIFF (version ${version} after the byte-order mark)`);
    return await checkDirectory(fh, size, u16, u32);
  } finally {
    await fh.close();
  }
}

type Reader = (b: Buffer, at: number) => number;

/** The first directory of a classic TIFF and its pixel data lie inside the file. */
async function checkDirectory(fh: FileHandle, size: number, u16: Reader, u32: Reader): Promise<Result<void, string>> {
  const truncated = (what: string, end: number): Result<void, string> =>
    fail(`truncated TIFF: its ${what} ends at byte ${end} but the file has ${size} bytes`);
  const ifd = u32(await bytesAt(fh, 4, 4), 0);
  if (ifd + 2 > size) return truncated('image directory', ifd + 2);
  const count = u16(await bytesAt(fh, ifd, 2), 0);
  const entriesEnd = ifd + 2 + 12 * count + 4;
  if (entriesEnd > size) return truncated('image directory', entriesEnd);
  const entries = await bytesAt(fh, ifd + 2, 12 * count);
  // Tag -> its values (SHORT or LONG arrays only: the offsets and byte counts).
  const values = async (tag: number): Promise<number[] | null> => {
    for (let i = 0; i < count; i++) {
      const at = 12 * i;
      if (u16(entries, at) !== tag) continue;
      const type = u16(entries, at + 2);
      const n = u32(entries, at + 4);
      const width = type === 3 ? 2 : type === 4 ? 4 : 0;
      if (width === 0 || n > 1 << 20) return null;
      const inline = n * width <= 4;
      const where = inline ? null : u32(entries, at + 8);
      if (where !== null && where + n * width > size) return [where + n * width];
      const data = inline ? entries.subarray(at + 8, at + 12) : await bytesAt(fh, where!, n * width);
      return Array.from({ length: n }, (_, k) => (width === 2 ? u16(data, k * 2) : u32(data, k * 4)));
    }
    return null;
  };
  for (const [offTag, countTag, what] of [[273, 279, 'pixel data (strips)'], [324, 325, 'pixel data (tiles)']] as const) {
    const offs = await values(offTag);
    const counts = await values(countTag);
    if (offs === null || counts === null) continue;
    let end = 0;
    for (let k = 0; k < offs.length; k++) end = Math.max(end, offs[k]! + (counts[k] ?? 0));
    if (end > size) return truncated(what, end);
  }
  return ok(undefined);
}

/**
 * Checks that a file is an image ingest reads: {@link sniffFile}, then sharp's
 * header says one page, 8-bit samples, one channel. 16-bit and colour files
 * are refused, not converted: which 16-bit range maps to 0..255, or which
 * mix of colours is the grey, is the user's choice to make once, not a
 * silent guess per file (the Kaggle data is 8-bit grey throughout).
 */
export async function probeImage(path: string): Promise<Result<ImageHeader, string>> {
  const sniffed = await sniffFile(path);
  if (!sniffed.ok) return sniffed;
  const sharp = (await import('sharp')).default;
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(path).metadata();
  } catch (e) {
    return fail(`cannot read the TIFF header: ${(e as Error).message}`);
  }
  if (meta.format !== 'tiff') return fail(`a ${meta.format} image named .tif: ingest reads TIFF files only`);
  const pages = meta.pages ?? 1;
  if (pages > 1) return fail(`a multi-page TIFF (${pages} pages): ingest reads one image per file; split the pages into files of their own`);
  const bits = meta.bitsPerSample ?? (meta.depth === 'uchar' ? 8 : undefined);
  if (meta.depth !== 'uchar') return fail(`${bits ?? meta.depth}-bit samples (${meta.depth}): ingest reads 8-bit grey only; convert the file to 8 bits (choosing the range that maps to 0..255)`);
  if (meta.channels !== 1) return fail(`${meta.channels} channels (${meta.space}${meta.hasAlpha ? ' with alpha' : ''}): ingest reads one-channel grey only; convert the file to grey`);
  if (meta.width === undefined || meta.height === undefined) return fail('no image size in the TIFF header');
  return ok({ h: meta.height, w: meta.width });
}

/**
 * Decodes a file that passed {@link probeImage} into grey pixels. Fails when
 * the pixel data cannot be decoded (a truncated or corrupt strip).
 */
export async function readGrey(path: string): Promise<Result<Decoded, string>> {
  const sharp = (await import('sharp')).default;
  try {
    const { data, info } = await sharp(path, { failOn: 'truncated' }).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    if (data.length !== info.width * info.height) return fail(`decoded ${data.length} bytes for ${info.width}x${info.height} pixels`);
    return ok({ pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), h: info.height, w: info.width });
  } catch (e) {
    return fail(`cannot decode the pixels: ${(e as Error).message}`);
  }
}
