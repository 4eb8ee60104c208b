/**
 * Input rounding by declared precision: a backend that computes in fp16/bf16 sees its inputs rounded, so the
 * conformance suite computes the reference on the same rounded inputs (round-to-nearest-even). fp32 is exact.
 */
import type { Precision } from '@hplb/core/kernel';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

const toBf16 = (x: number): number => {
  f32[0] = x;
  const u = u32[0]!;
  if ((u & 0x7f800000) === 0x7f800000) return x;
  u32[0] = ((u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000) >>> 0;
  return f32[0]!;
};

const toFp16 = (x: number): number => {
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  const e = Math.max(Math.floor(Math.log2(a)), -14);
  const ulp = 2 ** (e - 10);
  const q = a / ulp;
  let r = Math.round(q);
  if (Math.abs(q - Math.trunc(q) - 0.5) < 1e-12 && r % 2 === 1) r -= 1; // ties to even
  return Math.sign(x) * r * ulp;
};

export const roundToPrecision = (x: Float32Array, precision: Precision): Float32Array => {
  if (precision === 'fp32') return x;
  const f = precision === 'bf16' ? toBf16 : toFp16;
  return Float32Array.from(x, f);
};
