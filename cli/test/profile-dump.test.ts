/** `hplb profile`: dump directories (.npy and safetensors), missing heads, synthetic runs and the stability report. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { decode, ProfileC } from '@hplb/core';
import { syntheticHead, syntheticHeadSpec } from '@hplb/core/kernel';
import { run } from '../src/commands/profile.ts';
import { npyBytes, openDump } from '@hplb/runtime';
import type { Io } from '../src/io.ts';

const capture = () => {
  let out = '', err = '';
  const io: Io = { out: (s) => { out += s; }, err: (s) => { err += s; }, tty: false, cwd: process.cwd() };
  return { io, get out() { return out; }, get err() { return err; } };
};

const N = 256, D = 32;
/** A 2-layer, 4-query-head, 2-KV-head dump; heads of layer 0 local, layer 1 diffuse. */
const writeNpyDump = (dir: string, skip?: string) => {
  for (let l = 0; l < 2; l++) {
    for (let h = 0; h < 4; h++) {
      const t = syntheticHead(syntheticHeadSpec(l === 0 ? 'sink-local' : 'diffuse', 10 * l + h), { tokens: N, headDim: D }, h);
      if (`q_l${l}_h${h}.npy` !== skip) writeFileSync(join(dir, `q_l${l}_h${h}.npy`), npyBytes(t.q, N, D));
      if (h < 2 && `k_l${l}_h${h}.npy` !== skip) writeFileSync(join(dir, `k_l${l}_h${h}.npy`), npyBytes(t.k, N, D));
    }
  }
};

test('npy dump: indexed (layers, Hq, Hkv, N, d), read back exactly, profiled into a valid curve profile', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-dump-'));
  try {
    writeNpyDump(dir);
    const idx = openDump(dir);
    assert.ok(E.isRight(idx));
    assert.deepEqual([idx.right.layers, idx.right.queryHeads, idx.right.kvHeads, idx.right.tokens, idx.right.headDim], [2, 4, 2, N, D]);
    const t = syntheticHead(syntheticHeadSpec('sink-local', 3), { tokens: N, headDim: D }, 3);
    const q = idx.right.readQ(0, 3);
    assert.ok(E.isRight(q));
    assert.deepEqual(q.right, t.q);
    const c = capture();
    const out = join(dir, 'profile.json');
    assert.equal(await run([dir, '--out', out, '--block', '16'], c.io), 0, c.err);
    const prof = decode(ProfileC, JSON.parse(readFileSync(out, 'utf8')));
    assert.ok(E.isRight(prof), JSON.stringify(prof));
    assert.equal(prof.right.kind, 'curve');
    if (prof.right.kind !== 'curve') return;
    assert.equal(prof.right.contextLength, N);
    assert.equal(prof.right.curves.length, 2);
    assert.equal(prof.right.curves[0]!.length, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a dump directory with missing heads names them; a missing directory says so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-dump-'));
  try {
    writeNpyDump(dir, 'q_l1_h2.npy');
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ model: { name: 'tiny', layers: 3, queryHeads: 4, kvHeads: 2, headDim: D } }));
    const c = capture();
    await assert.rejects(run([dir], c.io), (e: { error: { issues: { actual: string }[] } }) => {
      assert.match(e.error.issues[0]!.actual, /q_l1_h2\.npy/);
      assert.match(e.error.issues[0]!.actual, /q_l2_h0\.npy/);
      return true;
    });
    const missing = openDump(join(dir, 'nope'));
    assert.ok(E.isLeft(missing));
    assert.match(missing.left.issues[0]!.actual!, /no such directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('safetensors dump (F16 and F32) reads the same tensors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-st-'));
  try {
    const n = 8, d = 4;
    const q = Float32Array.from({ length: 2 * n * d }, (_, i) => (i % 7) - 3);
    const k = Float32Array.from({ length: n * d }, (_, i) => 0.5 * ((i % 5) - 2));
    const f16 = (x: number) => { // exact for these small halves: sign, exponent, mantissa
      if (x === 0) return 0;
      const s = x < 0 ? 0x8000 : 0; const a = Math.abs(x); const e = Math.floor(Math.log2(a));
      return s | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
    };
    const qb = Buffer.from(q.buffer);
    const kb = Buffer.alloc(k.length * 2);
    k.forEach((x, i) => kb.writeUInt16LE(f16(x), 2 * i));
    const header = JSON.stringify({ 'q.0': { dtype: 'F32', shape: [2, n, d], data_offsets: [0, qb.length] }, 'k.0': { dtype: 'F16', shape: [1, n, d], data_offsets: [qb.length, qb.length + kb.length] }, __metadata__: { by: 'test' } });
    const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(header.length));
    writeFileSync(join(dir, 'layer0.safetensors'), Buffer.concat([len, Buffer.from(header), qb, kb]));
    const idx = openDump(dir);
    assert.ok(E.isRight(idx), JSON.stringify(idx));
    assert.deepEqual([idx.right.layers, idx.right.queryHeads, idx.right.kvHeads, idx.right.tokens, idx.right.headDim], [1, 2, 1, n, d]);
    const q1 = idx.right.readQ(0, 1);
    assert.ok(E.isRight(q1));
    assert.deepEqual(q1.right, q.subarray(n * d));
    const k0 = idx.right.readK(0, 0);
    assert.ok(E.isRight(k0));
    assert.deepEqual(k0.right, k);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('synthetic profile with samples and context lengths writes a stability report', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hplb-syn-'));
  try {
    const c = capture();
    const st = join(dir, 'stability.json');
    const code = await run(['--synthetic', '--model', 'Llama-3.2-1B-Instruct', '--layers', '1', '--contexts', '512,1024', '--samples', '2', '--stability-out', st, '--out', join(dir, 'p.json')], c.io);
    assert.equal(code, 0, c.err);
    const rep = JSON.parse(readFileSync(st, 'utf8'));
    assert.equal(rep.format, 'hplb.stability/1');
    assert.equal(rep.pairs.length, 6);
    assert.equal(rep.heads, 32);
    assert.ok(rep.acrossSamples.min > 0.8, c.err);
    assert.match(c.err, /stability \(Spearman/);
    const prof = JSON.parse(readFileSync(join(dir, 'p.json'), 'utf8'));
    assert.equal(prof.synthetic, true);
    assert.equal(prof.contextLength, 512);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('profile --backend cpu (blockMass) gives the same curves as the exact sampled rows', async () => {
  const { createBackend } = await import('@hplb/backend-cpu');
  const { makeAttentionParams } = await import('@hplb/core/kernel');
  const { profileHead, profileHeadWithBackend } = await import('@hplb/core/kernel');
  const p = makeAttentionParams({ tokens: 320, headDim: 32, blockSize: 64 });
  assert.ok(E.isRight(p));
  const cpu = createBackend();
  for (const a of ['vertical', 'slash'] as const) {
    const t = syntheticHead(syntheticHeadSpec(a, 5), { tokens: 320, headDim: 32 }, 9);
    const exact = profileHead(t.q, t.k, p.right);
    const viaBackend = await profileHeadWithBackend(cpu, t.q, t.k, p.right);
    assert.ok(E.isRight(exact) && E.isRight(viaBackend));
    assert.deepEqual(viaBackend.right.tokens, exact.right.tokens);
    viaBackend.right.mass.forEach((m, i) => assert.ok(Math.abs(m - exact.right.mass[i]!) < 1e-5, `${a} point ${i}: ${m} vs ${exact.right.mass[i]}`));
  }
});
