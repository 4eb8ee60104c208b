/**
 * The CPU backend's dense product (`matmul`, the serving step's projections) against a naive triple loop, over
 * shapes that exercise every path of the blocked kernel (4×4 tiles, leftover rows and columns, several column
 * blocks, a GEMV), and its argument errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from 'fp-ts/lib/Either.js';
import { rng } from '@hplb/core/kernel';
import { compareArrays, TOLERANCES } from '@hplb/spec';
import { createBackend, matmulRows } from '../src/index.ts';

const uniform = (n: number, seed: number): Float32Array => {
  const u = rng(seed);
  return Float32Array.from({ length: n }, () => 2 * u() - 1);
};

/** C = A·B by the textbook loop, float64 accumulation. */
const naive = (a: Float32Array, b: Float32Array, rows: number, inner: number, cols: number): Float32Array => {
  const c = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let t = 0; t < inner; t++) s += a[i * inner + t]! * b[t * cols + j]!;
      c[i * cols + j] = s;
    }
  return c;
};

test('matmul equals the naive product: 4×4 tiles, leftover rows and columns, several column blocks, a GEMV', async () => {
  const cpu = createBackend();
  assert.ok(E.isRight(await cpu.init()));
  const shapes = [
    { rows: 1, inner: 1, cols: 1 }, { rows: 4, inner: 8, cols: 4 }, { rows: 7, inner: 13, cols: 5 },
    { rows: 1, inner: 32, cols: 256 }, { rows: 33, inner: 32, cols: 256 }, { rows: 64, inner: 96, cols: 131 }, { rows: 3, inner: 200, cols: 67 },
  ];
  for (const [i, s] of shapes.entries()) {
    const a = uniform(s.rows * s.inner, 10 + i), b = uniform(s.inner * s.cols, 20 + i);
    const c = await cpu.matmul!(a, b, s);
    assert.ok(E.isRight(c), JSON.stringify(c));
    const bad = compareArrays(`C ${s.rows}×${s.inner}·${s.inner}×${s.cols}`, c.right, naive(a, b, s.rows, s.inner, s.cols), TOLERANCES.fp32, s.cols);
    assert.equal(bad, null, bad ?? '');
  }
  // The kernel writes into a given output.
  const out = new Float32Array(6);
  assert.equal(matmulRows(Float32Array.of(1, 2), Float32Array.of(1, 2, 3, 4, 5, 6), 1, 2, 3, out), out);
  assert.deepEqual([...out.subarray(0, 3)], [9, 12, 15]);
  await cpu.dispose();
});

test('matmul names bad shapes and NaN inputs by their JSON path', async () => {
  const cpu = createBackend();
  const shape = await cpu.matmul!(new Float32Array(6), new Float32Array(6), { rows: 2, inner: 3, cols: 0 });
  assert.ok(E.isLeft(shape) && shape.left.issues[0]!.path === '$.shape.cols', JSON.stringify(shape));
  const size = await cpu.matmul!(new Float32Array(5), new Float32Array(6), { rows: 2, inner: 3, cols: 2 });
  assert.ok(E.isLeft(size) && size.left.issues.map((i) => i.path).join() === '$.a', JSON.stringify(size));
  const b = new Float32Array(6);
  b[4] = NaN;
  const nan = await cpu.matmul!(new Float32Array(6).fill(1), b, { rows: 2, inner: 3, cols: 2 });
  assert.ok(E.isLeft(nan) && nan.left.code === 'argument' && nan.left.issues[0]!.path === '$.b[2][0]', JSON.stringify(nan));
});
