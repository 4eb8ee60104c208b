/**
 * WGSL compute kernels of the WebGPU backend. Used by `backend.ts`, which caches one pipeline per generated source.
 *
 * Three kernels, all f32, all tiled through workgroup memory:
 *   - `attention`: block-sparse attention with online softmax (FlashAttention's recurrence). A workgroup owns TQ
 *     query rows of one query block of one head; it walks that query block's CSR list of key blocks, stages TK keys
 *     and values at a time in workgroup memory, computes the TQ×TK score tile, updates the per-row running max M and
 *     sum L (kept in workgroup memory) and rescales its register accumulators. Row ranges and many heads (each with
 *     its own layout and rows) come from a per-head descriptor table; grid y is the head.
 *   - `rowStats`: the same recurrence over ALL keys (dense, causal-masked) without values: lse per row.
 *   - `blockMass`: one workgroup per (query block, key block) pair sums exp(scale·q·k − lse_row) over the pair's
 *     rows and keys and divides by the query block's row count; a tree reduction in workgroup memory finishes it.
 *
 * Dimension letters follow core/src/kernel/types.ts (N, d, B). Rows are handled as vec4<f32>: d is padded to
 * DV = ⌈d/4⌉ vec4s with zeros on load, so any d works.
 *
 * Compile time on lavapipe shapes this file. lavapipe compiles a compute shader with LLVM at its first dispatch, and
 * loops with constant bounds get fully unrolled: a kernel with d, B and the tile as constants took ~50 s to compile
 * at d = 64 on our 2-core machine. So the only compile-time constants are the workgroup-memory capacities (TQ, TK,
 * DVMAX, see `dvClass`) and the workgroup size; d, B and every loop bound are runtime values of the uniform
 * `Params` block. One pipeline per kernel then serves every d ≤ 128 and every B ≥ 16 (a few seconds of compile
 * each on lavapipe, at the first dispatch).
 *
 * Barriers sit in uniform control flow only: every bound a barrier depends on comes from the uniform buffer, the
 * workgroup id or ONE `workgroupUniformLoad` before the loops (a `workgroupUniformLoad` inside a loop never
 * finished on lavapipe, Mesa 25.0.7). Key-block indices read from storage only mask, never bound a loop.
 */

/** Workgroup-memory capacities of one generated kernel. */
export interface Tile {
  /** Query rows per workgroup. */
  readonly tq: number;
  /** Keys staged per step. */
  readonly tk: number;
  /** Invocations per workgroup. */
  readonly wg: number;
  /** vec4s per row the arrays hold (`dvClass`). */
  readonly dvMax: number;
}

/** The softmax sentinel for "no key yet" / a masked score: far below any real logit, still finite. */
export const NEG = -3.0e38;

/** Words of the uniform `Params` block. */
export const PARAM_WORDS = 20;

/** Workgroup memory bytes the attention kernel needs for this tile (Q, K, V tiles, scores, M, L, alpha). */
export const attentionSharedBytes = (t: Tile): number => 16 * t.dvMax * (t.tq + 2 * t.tk) + 4 * (t.tq * t.tk + 3 * t.tq) + 16;

/**
 * The d class a pipeline serves, as vec4s per row its arrays hold: 32 (d ≤ 128) or 64 (d ≤ 256). Two classes
 * only, because each distinct kernel costs a multi-second LLVM compile on lavapipe; the loops run to the actual
 * ⌈d/4⌉, so a small d wastes workgroup memory, not time.
 */
export const dvClass = (d: number): number => (d <= 128 ? 32 : 64);

/**
 * The largest tile that fits the device's workgroup memory: 16×16 (query rows × keys), else 8×16, 8×8, 4×4
 * (d = 256 on 32 KiB gets 8×8). Neither exceeds the block size B.
 */
export const chooseTile = (d: number, B: number, sharedLimit: number): Tile | undefined => {
  const wg = 64;
  const dvMax = dvClass(d);
  for (const [tq, tk] of [[16, 16], [8, 16], [8, 8], [4, 4]] as const) {
    const t = { tq: Math.min(tq, B), tk: Math.min(tk, B), wg, dvMax };
    if (attentionSharedBytes(t) <= sharedLimit) return t;
  }
  return undefined;
};

/** The uniform block's values for one call. */
export interface ShapeValues {
  readonly tokens: number;
  readonly blocks: number;
  readonly causal: boolean;
  readonly qbFirst: number;
  readonly scale: number;
  readonly heads: number;
  readonly headDim: number;
  readonly blockSize: number;
}

/** The bytes of `Params` (layout below, 20 words). */
export const paramsBytes = (s: ShapeValues, t: Tile): ArrayBuffer => {
  const buf = new ArrayBuffer(PARAM_WORDS * 4);
  const u = new Uint32Array(buf);
  const dv = Math.ceil(s.headDim / 4);
  u.set([
    s.tokens, s.blocks, s.causal ? 1 : 0, s.qbFirst, 0, s.heads, s.headDim, dv, s.blockSize,
    t.tk, t.tq, t.wg, Math.ceil((t.tq * dv) / t.wg), Math.ceil(s.blockSize / t.tk), t.tq * dv, t.tk * dv,
    Math.ceil(s.blockSize / t.tq), 0, 0, 0,
  ]);
  new Float32Array(buf)[4] = s.scale;
  return buf;
};

const header = (t: Tile): string => `
const TQ: u32 = ${t.tq}u;
const TK: u32 = ${t.tk}u;
const WG: u32 = ${t.wg}u;
const DVMAX: u32 = ${t.dvMax}u;
const PERMAX: u32 = ${Math.ceil((t.tq * t.dvMax) / t.wg)}u;
const NEG: f32 = ${NEG.toExponential()};
const HALF_NEG: f32 = ${(NEG / 2).toExponential()};

struct Params {
  N: u32,
  blocks: u32,
  causal: u32,
  qbFirst: u32,
  scale: f32,
  heads: u32,
  d: u32,
  dv: u32,         // ceil(d / 4)
  B: u32,
  tk: u32,         // = TK
  tq: u32,         // = TQ
  wg: u32,         // = WG
  per: u32,        // vec4 accumulators per invocation: ceil(TQ·dv / WG)
  kt: u32,         // key tiles per key block: ceil(B / TK)
  tqdv: u32,       // TQ·dv
  tkdv: u32,       // TK·dv
  sub: u32,        // query tiles per query block: ceil(B / TQ)
  pad0: u32,
  pad1: u32,
  pad2: u32,
};
`;

/**
 * A zero-padded vec4 load of columns 4·cv .. 4·cv+3 of row 'row' of a row-major [N × d] storage tensor, one
 * function per buffer (core WGSL does not pass storage pointers to functions).
 */
const loader = (buffer: string): string => `
fn load_${buffer}(base: u32, row: u32, cv: u32) -> vec4<f32> {
  let c = cv * 4u;
  let o = base + row * P.d + c;
  var x = vec4<f32>(0.0);
  if (c < P.d) { x.x = ${buffer}[o]; }
  if (c + 1u < P.d) { x.y = ${buffer}[o + 1u]; }
  if (c + 2u < P.d) { x.z = ${buffer}[o + 2u]; }
  if (c + 3u < P.d) { x.w = ${buffer}[o + 3u]; }
  return x;
}
`;

/**
 * Block-sparse attention (`values = true`) or dense row statistics (`values = false`, the first pass of blockMass).
 * Bindings: 0 q, 1 k, 2 v, 3 offsets, 4 indices, 5 head table, 6 out, 7 lse, 8 params (uniform).
 * Head table entry h: rowStart, rowEnd, outRow0 (first output row of this head), offBase (index of the head's
 * offsets[0] in the concatenated offsets); the head's q/k/v start at h·N·d. Grid: x = query tiles from
 * qbFirst (`sub` per query block), y = head.
 */
export const attentionShader = (t: Tile, values: boolean): string => `${header(t)}
struct Head { rowStart: u32, rowEnd: u32, outRow0: u32, offBase: u32 };

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
${values ? '@group(0) @binding(2) var<storage, read> v: array<f32>;' : ''}
${values ? '@group(0) @binding(3) var<storage, read> offsets: array<u32>;' : ''}
${values ? '@group(0) @binding(4) var<storage, read> indices: array<u32>;' : ''}
@group(0) @binding(5) var<storage, read> heads: array<Head>;
${values ? '@group(0) @binding(6) var<storage, read_write> out: array<f32>;' : ''}
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;
@group(0) @binding(8) var<uniform> P: Params;
${loader('q')}${loader('k')}${values ? loader('v') : ''}
var<workgroup> Qs: array<vec4<f32>, TQ * DVMAX>;
var<workgroup> Ks: array<vec4<f32>, TK * DVMAX>;
${values ? 'var<workgroup> Vs: array<vec4<f32>, TK * DVMAX>;' : ''}
var<workgroup> S: array<f32, TQ * TK>;
var<workgroup> M: array<f32, TQ>;
var<workgroup> L: array<f32, TQ>;
var<workgroup> A: array<f32, TQ>;
var<workgroup> tileBounds: vec4<u32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let h = wid.y;
  let qb = P.qbFirst + wid.x / P.sub;
  let sub = wid.x % P.sub;
  let dv = P.dv;
  if (t == 0u) {
    // Rows [lo, hi) of this tile that the head asks for; the query block's key-block list [xb, xe).
    var lo = 0u; var hi = 0u; var xb = 0u; var xe = 0u;
    if (qb < P.blocks && h < P.heads) {
      let hd = heads[h];
      let tileLo = qb * P.B + sub * P.tq;
      let tileHi = min(min(tileLo + P.tq, qb * P.B + P.B), P.N);
      lo = max(tileLo, hd.rowStart);
      hi = min(tileHi, hd.rowEnd);
      ${values ? 'if (lo < hi) { xb = offsets[hd.offBase + qb]; xe = offsets[hd.offBase + qb + 1u]; }' : 'xb = 0u; xe = 1u;'}
    }
    if (hi <= lo) { hi = lo; xe = xb; }
    tileBounds = vec4<u32>(lo, hi, xb, xe);
  }
  let bnd = workgroupUniformLoad(&tileBounds);
  let lo = bnd.x;
  let hi = bnd.y;
  if (hi <= lo) { return; }
  let hd = heads[h];
  let base = h * P.N * P.d;

  for (var e = t; e < P.tqdv; e += P.wg) {
    let r = e / dv;
    var x = vec4<f32>(0.0);
    if (lo + r < hi) { x = load_q(base, lo + r, e % dv) * P.scale; }
    Qs[e] = x;
  }
  if (t < TQ) { M[t] = NEG; L[t] = 0.0; A[t] = 1.0; }
  ${values ? 'var acc: array<vec4<f32>, PERMAX>;\n  for (var i = 0u; i < P.per; i++) { acc[i] = vec4<f32>(0.0); }' : ''}
  workgroupBarrier();

  // Keys [0, keyLimit) are the only ones any row of this tile may see.
  let keyLimit = select(P.N, hi, P.causal != 0u);
  for (var x = bnd.z; x < bnd.w; x++) {
    ${values ? `// kb is the same for every invocation but not provably uniform: the tile loop runs P.kt times and kb
    // only masks (tiles past kEnd cost loop overhead, no dot products).
    let kb = indices[x];
    let kStart = kb * P.B;
    let kEnd = min(min(kStart + P.B, P.N), keyLimit);
    for (var kt = 0u; kt < P.kt; kt++) {
      let k0 = kStart + kt * P.tk;` : `let kEnd = keyLimit;
    for (var k0 = 0u; k0 < kEnd; k0 += P.tk) {`}
      for (var e = t; e < P.tkdv; e += P.wg) {
        let j = k0 + e / dv;
        var kx = vec4<f32>(0.0);
        ${values ? 'var vx = vec4<f32>(0.0);' : ''}
        if (j < kEnd) {
          kx = load_k(base, j, e % dv);
          ${values ? 'vx = load_v(base, j, e % dv);' : ''}
        }
        Ks[e] = kx;
        ${values ? 'Vs[e] = vx;' : ''}
      }
      workgroupBarrier();
      for (var p = t; p < P.tq * P.tk; p += P.wg) {
        let r = p / P.tk;
        let c = p % P.tk;
        let row = lo + r;
        let j = k0 + c;
        var s = NEG;
        if (row < hi && j < kEnd && (P.causal == 0u || j <= row)) {
          var acc4 = vec4<f32>(0.0);
          for (var i = 0u; i < dv; i++) { acc4 += Qs[r * dv + i] * Ks[c * dv + i]; }
          s = acc4.x + acc4.y + acc4.z + acc4.w;
        }
        S[p] = s;
      }
      workgroupBarrier();
      // Online softmax, one invocation per row: new max, rescale factor, probabilities in place of the scores.
      if (t < TQ) {
        let mOld = M[t];
        var mNew = mOld;
        for (var c = 0u; c < P.tk; c++) { mNew = max(mNew, S[t * TK + c]); }
        var alpha = 1.0;
        var sum = 0.0;
        if (mNew > HALF_NEG) {
          alpha = select(exp(mOld - mNew), 0.0, mOld <= HALF_NEG);
          for (var c = 0u; c < P.tk; c++) {
            let s = S[t * TK + c];
            let pr = select(0.0, exp(s - mNew), s > HALF_NEG);
            S[t * TK + c] = pr;
            sum += pr;
          }
        } else {
          for (var c = 0u; c < P.tk; c++) { S[t * TK + c] = 0.0; }
        }
        L[t] = L[t] * alpha + sum;
        M[t] = mNew;
        A[t] = alpha;
      }
      workgroupBarrier();
      ${values ? `for (var i = 0u; i < P.per; i++) {
        let e = t + i * P.wg;
        if (e < P.tqdv) {
          let r = e / dv;
          let cv = e % dv;
          var a = acc[i] * A[r];
          for (var j = 0u; j < P.tk; j++) { a += S[r * TK + j] * Vs[j * dv + cv]; }
          acc[i] = a;
        }
      }
      workgroupBarrier();` : ''}
    }
  }

  ${values ? `for (var i = 0u; i < P.per; i++) {
    let e = t + i * P.wg;
    if (e < P.tqdv) {
      let r = e / dv;
      let row = lo + r;
      if (row < hi) {
        let l = L[r];
        let o = select(vec4<f32>(0.0), acc[i] / l, l > 0.0);
        let c = (e % dv) * 4u;
        let dst = (hd.outRow0 + row - hd.rowStart) * P.d + c;
        out[dst] = o.x;
        if (c + 1u < P.d) { out[dst + 1u] = o.y; }
        if (c + 2u < P.d) { out[dst + 2u] = o.z; }
        if (c + 3u < P.d) { out[dst + 3u] = o.w; }
      }
    }
  }` : ''}
  if (t < TQ && lo + t < hi) {
    let l = L[t];
    lse[hd.outRow0 + lo + t - hd.rowStart] = select(NEG, M[t] + log(l), l > 0.0);
  }
}
`;

/**
 * blockMass's second pass. Bindings: 0 q, 1 k, 7 lse (from `rowStats`), 9 mass, 8 params. Grid: x = key block,
 * y = query block. Causal pairs above the diagonal write 0.
 */
export const blockMassShader = (t: Tile): string => `${header(t)}
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(7) var<storage, read> lse: array<f32>;
@group(0) @binding(8) var<uniform> P: Params;
@group(0) @binding(9) var<storage, read_write> mass: array<f32>;
${loader('q')}${loader('k')}
var<workgroup> Qs: array<vec4<f32>, TQ * DVMAX>;
var<workgroup> Ks: array<vec4<f32>, TK * DVMAX>;
var<workgroup> rowLse: array<f32, TQ>;
var<workgroup> red: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let kb = wid.x;
  let qb = wid.y;
  let dv = P.dv;
  if (kb >= P.blocks || qb >= P.blocks) { return; }
  if (P.causal != 0u && kb > qb) {
    if (t == 0u) { mass[qb * P.blocks + kb] = 0.0; }
    return;
  }
  let rStart = qb * P.B;
  let rEnd = min(rStart + P.B, P.N);
  let kStart = kb * P.B;
  let kEnd = min(kStart + P.B, P.N);
  var sum = 0.0;
  for (var r0 = rStart; r0 < rEnd; r0 += P.tq) {
    for (var e = t; e < P.tqdv; e += P.wg) {
      let row = r0 + e / dv;
      var x = vec4<f32>(0.0);
      if (row < rEnd) { x = load_q(0u, row, e % dv) * P.scale; }
      Qs[e] = x;
    }
    if (t < TQ) { rowLse[t] = select(0.0, lse[min(r0 + t, P.N - 1u)], r0 + t < rEnd); }
    for (var k0 = kStart; k0 < kEnd; k0 += P.tk) {
      // Causal: a key tile entirely after this row tile's last row contributes nothing.
      if (P.causal != 0u && k0 >= min(r0 + P.tq, rEnd)) { break; }
      workgroupBarrier();
      for (var e = t; e < P.tkdv; e += P.wg) {
        let j = k0 + e / dv;
        var kx = vec4<f32>(0.0);
        if (j < kEnd) { kx = load_k(0u, j, e % dv); }
        Ks[e] = kx;
      }
      workgroupBarrier();
      for (var p = t; p < P.tq * P.tk; p += P.wg) {
        let r = p / P.tk;
        let c = p % P.tk;
        let row = r0 + r;
        let j = k0 + c;
        if (row < rEnd && j < kEnd && (P.causal == 0u || j <= row)) {
          var acc4 = vec4<f32>(0.0);
          for (var i = 0u; i < dv; i++) { acc4 += Qs[r * dv + i] * Ks[c * dv + i]; }
          sum += exp(acc4.x + acc4.y + acc4.z + acc4.w - rowLse[r]);
        }
      }
    }
    workgroupBarrier();
  }
  red[t] = sum;
  workgroupBarrier();
  for (var s = P.wg / 2u; s > 0u; s = s / 2u) {
    if (t < s) { red[t] += red[t + s]; }
    workgroupBarrier();
  }
  if (t == 0u) { mass[qb * P.blocks + kb] = red[0] / f32(rEnd - rStart); }
}
`;
