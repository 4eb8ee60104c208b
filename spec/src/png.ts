/**
 * Just enough PNG decoding to tell a drawn picture from a blank one: 8-bit RGB or RGBA, non-interlaced (what Chromium's
 * screenshots are), scanline filters undone, then the luminance spread and the number of distinct colours. Used by
 * the tests that render in headless Chromium (the page's screenshot, plan.svg).
 */
import { inflateSync } from 'node:zlib';

export interface PictureStats {
  readonly width: number;
  readonly height: number;
  /** Standard deviation of the luminance (0–255) over all pixels. */
  readonly lumaStd: number;
  /** Distinct RGB colours. */
  readonly colours: number;
}

const paeth = (a: number, b: number, c: number): number => {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
};

export const pictureStats = (png: Buffer): PictureStats => {
  if (png.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error('not a PNG file');
  let off = 8, width = 0, height = 0, depth = 0, type = 0, interlace = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const kind = png.subarray(off + 4, off + 8).toString('latin1');
    const data = png.subarray(off + 8, off + 8 + len);
    if (kind === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8]!;
      type = data[9]!;
      interlace = data[12]!;
    } else if (kind === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  if (depth !== 8 || (type !== 2 && type !== 6) || interlace !== 0) throw new Error(`unsupported PNG: depth ${depth}, colour type ${type}, interlace ${interlace}`);
  const bpp = type === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const cur = new Uint8Array(stride);
  const prev = new Uint8Array(stride);
  const colours = new Set<number>();
  let sum = 0, sum2 = 0;
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp]! : 0, b = prev[i]!, c = i >= bpp ? prev[i - bpp]! : 0;
      const x = line[i]!;
      cur[i] = (f === 0 ? x : f === 1 ? x + a : f === 2 ? x + b : f === 3 ? x + ((a + b) >> 1) : x + paeth(a, b, c)) & 255;
    }
    for (let p = 0; p < stride; p += bpp) {
      const r = cur[p]!, g = cur[p + 1]!, bl = cur[p + 2]!;
      const l = 0.2126 * r + 0.7152 * g + 0.0722 * bl;
      sum += l;
      sum2 += l * l;
      if (colours.size < 100_000) colours.add((r << 16) | (g << 8) | bl);
    }
    prev.set(cur);
  }
  const n = width * height;
  const mean = sum / n;
  return { width, height, lumaStd: Math.sqrt(Math.max(0, sum2 / n - mean * mean)), colours: colours.size };
};
