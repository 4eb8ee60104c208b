/**
 * WGSL compute kernels of the WebGPU backend. Used by `backend.ts`, which caches one pipeline per generated source.
 *
 * Three kernels, all f32, all tiled through workgroup memory, one invocation per query row:
 *   - `attention`: block-sparse attention with online softmax (FlashAttention's recurrence). A workgroup owns TQ
 *     consecutive query rows of one query block of one head (one row per invocation, q and the output accumulator
 *     in registers); it walks that query block's CSR list of key blocks and stages TK keys and values at a time in
 *     workgroup memory, which every invocation then reads at the same address (a broadcast). Per key tile each row
 *     takes the tile's scores, its new running max M, rescales its sum L and accumulator by exp(M_old − M_new) and
 *     adds the tile's exp-weighted values; M and L live in workgroup memory between tiles. Row ranges and many heads
 *     (each with its own layout and rows) come from a per-head descriptor table; grid y is the head.
 *   - `rowStats`: the same recurrence over ALL keys (dense, causal-masked) without values: lse per row.
 *   - `blockMass`: one workgroup per (query block, key block) pair; each invocation sums exp(scale·q·k − lse_row)
 *     over the pair's keys for its row, a tree reduction in workgroup memory adds the rows, and the pair's mass is
 *     that sum over the query block's row count.
 *
 * Dimension letters follow core/src/kernel/types.ts (N, d, B). Rows are handled as vec4<f32>: d is padded to
 * DV = ⌈d/4⌉ vec4s with zeros on load, so any d works.
 *
 * Compile time on lavapipe shapes this file. lavapipe compiles a compute shader with LLVM at its first dispatch, and
 * loops with constant bounds get fully unrolled: a first version with d, B and the tile as constants took ~50 s to
 * compile at d = 64 on our 2-core machine. So the only compile-time constants are the capacities (TQ = workgroup
 * size, TK, DVMAX, see `dvClass`); d, B and every loop bound are runtime values of the uniform `Params` block, and one
 * pipeline per kernel serves every d ≤ 128 and every B ≥ 64 (smaller B: TQ = B, one more pipeline).
 *
 * Barriers sit in uniform control flow only: every bound a barrier depends on comes from the uniform buffer, the
 * workgroup id or ONE `workgroupUniformLoad` before the loops (a `workgroupUniformLoad` inside a loop never
 * finished on lavapipe, Mesa 25.0.7). Key-block indices read from storage only mask, never bound a loop.
 */

/** Capacities of one generated kernel. */
export interface Tile {
  /** Query rows per workgroup = invocations per workgroup. */
  readonly tq: number;
  /** Keys staged per step. */
  readonly tk: number;
  /** Invocations per workgroup (= tq). */
  readonly wg: number;
  /** vec4s per row the arrays hold (`dvClass`). */
  readonly dvMax: number;
}

/** The softmax sentinel for "no key yet" / a masked score: far below any real logit, still finite. */
export const NEG = -3.0e38;

/** Words of the uniform `Params` block. */
export const PARAM_WORDS = 20;

/** Workgroup memory bytes the attention kernel needs (K and V tiles, M and L per row, the tile bounds). */
export const attentionSharedBytes = (t: Tile): number => 16 * t.dvMax * 2 * t.tk + 4 * 2 * t.tq + 16;

/**
 * The d class a pipeline serves, as vec4s per row its arrays hold: 32 (d ≤ 128) or 64 (d ≤ 256). Two classes
 * only, because each distinct kernel costs a multi-second LLVM compile on lavapipe; the loops run to the actual
 * ⌈d/4⌉, so a small d wastes registers and workgroup memory, not time.
 */
export const dvClass = (d: number): number => (d <= 128 ? 32 : 64);

/**
 * TQ = min(64, B) rows per workgroup (a workgroup never spans two query blocks), and the largest TK of 16 / 8 / 4
 * keys whose K and V tiles fit the device's workgroup memory (16 at d ≤ 128 and 8 at d ≤ 256 on 32 KiB).
 */
export const chooseTile = (d: number, B: number, sharedLimit: number): Tile | undefined => {
  const tq = Math.min(64, B);
  const dvMax = dvClass(d);
  for (const tk of [16, 8, 4]) {
    const t = { tq, tk: Math.min(tk, B), wg: tq, dvMax };
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
  per: u32,        // unused (layout kept stable)
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
var<workgroup> Ks: array<vec4<f32>, TK * DVMAX>;
${values ? 'var<workgroup> Vs: array<vec4<f32>, TK * DVMAX>;' : ''}
var<workgroup> M: array<f32, TQ>;
var<workgroup> L: array<f32, TQ>;
var<workgroup> tileBounds: vec4<u32>;

@compute @workgroup_size(TQ)
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
      let tileLo = qb * P.B + sub * TQ;
      let tileHi = min(min(tileLo + TQ, qb * P.B + P.B), P.N);
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
  // This invocation's row: the tile's first row is lo (the head's rowStart may cut into the tile).
  let row = lo + t;
  let live = row < hi;

  var qv: array<vec4<f32>, DVMAX>;
  ${values ? 'var acc: array<vec4<f32>, DVMAX>;' : ''}
  for (var i = 0u; i < dv; i++) {
    var x = vec4<f32>(0.0);
    if (live) { x = load_q(base, row, i) * P.scale; }
    qv[i] = x;
    ${values ? 'acc[i] = vec4<f32>(0.0);' : ''}
  }
  M[t] = NEG;
  L[t] = 0.0;
  var sc: array<f32, TK>;

  // Keys [0, keyLimit) are the only ones any row of this tile may see.
  let keyLimit = select(P.N, hi, P.causal != 0u);
  for (var x = bnd.z; x < bnd.w; x++) {
    ${values ? `// kb is the same for every invocation but not provably uniform: the tile loop runs P.kt times and kb
    // only masks (tiles past kEnd cost loop overhead, no dot products).
    let kb = indices[x];
    let kStart = kb * P.B;
    let kEnd = min(min(kStart + P.B, P.N), keyLimit);
    for (var kt = 0u; kt < P.kt; kt++) {
      let k0 = kStart + kt * TK;` : `let kEnd = keyLimit;
    for (var k0 = 0u; k0 < kEnd; k0 += TK) {`}
      workgroupBarrier();
      for (var e = t; e < P.tkdv; e += TQ) {
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
      // Scores of this row against the tile (every invocation reads the same K address: a broadcast).
      var mTile = NEG;
      for (var c = 0u; c < TK; c++) {
        let j = k0 + c;
        var s = NEG;
        if (live && j < kEnd && (P.causal == 0u || j <= row)) {
          var a4 = vec4<f32>(0.0);
          for (var i = 0u; i < dv; i++) { a4 += qv[i] * Ks[c * dv + i]; }
          s = a4.x + a4.y + a4.z + a4.w;
        }
        sc[c] = s;
        mTile = max(mTile, s);
      }
      // Online softmax: new running max, rescale of the running sum (and accumulator), this tile's terms.
      let mOld = M[t];
      let mNew = max(mOld, mTile);
      if (mTile > HALF_NEG) {
        let alpha = select(exp(mOld - mNew), 0.0, mOld <= HALF_NEG);
        var l = L[t] * alpha;
        ${values ? 'for (var i = 0u; i < dv; i++) { acc[i] = acc[i] * alpha; }' : ''}
        for (var c = 0u; c < TK; c++) {
          let s = sc[c];
          if (s > HALF_NEG) {
            let pr = exp(s - mNew);
            l += pr;
            ${values ? 'for (var i = 0u; i < dv; i++) { acc[i] += pr * Vs[c * dv + i]; }' : ''}
          }
        }
        L[t] = l;
        M[t] = mNew;
      }
    }
  }

  if (live) {
    let l = L[t];
    let o = hd.outRow0 + row - hd.rowStart;
    lse[o] = select(NEG, M[t] + log(l), l > 0.0);
    ${values ? `let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var i = 0u; i < dv; i++) {
      let y = acc[i] * inv;
      let c = i * 4u;
      let dst = o * P.d + c;
      out[dst] = y.x;
      if (c + 1u < P.d) { out[dst + 1u] = y.y; }
      if (c + 2u < P.d) { out[dst + 2u] = y.z; }
      if (c + 3u < P.d) { out[dst + 3u] = y.w; }
    }` : ''}
  }
}
`;

/**
 * blockMass's second pass. Bindings: 0 q, 1 k, 7 lse (from `rowStats`), 9 mass, 8 params. Grid: x = key block,
 * y = query block × query tiles per block (`sub`). Each workgroup covers TQ rows of its query block against the
 * whole key block; with several query tiles per block (B > TQ) the tiles write partial sums that the host adds.
 * Causal pairs above the diagonal write 0.
 */
export const blockMassShader = (t: Tile): string => `${header(t)}
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(7) var<storage, read> lse: array<f32>;
@group(0) @binding(8) var<uniform> P: Params;
@group(0) @binding(9) var<storage, read_write> mass: array<f32>;
${loader('q')}${loader('k')}
var<workgroup> Ks: array<vec4<f32>, TK * DVMAX>;
var<workgroup> red: array<f32, TQ>;

@compute @workgroup_size(TQ)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let kb = wid.x;
  let qb = wid.y / P.sub;
  let sub = wid.y % P.sub;
  let dv = P.dv;
  if (kb >= P.blocks || qb >= P.blocks) { return; }
  let slot = (qb * P.sub + sub) * P.blocks + kb;
  if (P.causal != 0u && kb > qb) {
    if (t == 0u) { mass[slot] = 0.0; }
    return;
  }
  let rStart = qb * P.B;
  let rEnd = min(rStart + P.B, P.N);
  let row = rStart + sub * TQ + t;
  let live = row < rEnd;
  let kStart = kb * P.B;
  let kEnd = min(kStart + P.B, P.N);
  var qv: array<vec4<f32>, DVMAX>;
  for (var i = 0u; i < dv; i++) {
    var x = vec4<f32>(0.0);
    if (live) { x = load_q(0u, row, i) * P.scale; }
    qv[i] = x;
  }
  let rowLse = select(0.0, lse[min(row, P.N - 1u)], live);
  var sum = 0.0;
  for (var k0 = kStart; k0 < kEnd; k0 += TK) {
    workgroupBarrier();
    for (var e = t; e < P.tkdv; e += TQ) {
      let j = k0 + e / dv;
      var kx = vec4<f32>(0.0);
      if (j < kEnd) { kx = load_k(0u, j, e % dv); }
      Ks[e] = kx;
    }
    workgroupBarrier();
    for (var c = 0u; c < TK; c++) {
      let j = k0 + c;
      if (live && j < kEnd && (P.causal == 0u || j <= row)) {
        var a4 = vec4<f32>(0.0);
        for (var i = 0u; i < dv; i++) { a4 += qv[i] * Ks[c * dv + i]; }
        sum += exp(a4.x + a4.y + a4.z + a4.w - rowLse);
      }
    }
  }
  red[t] = sum;
  workgroupBarrier();
  // Tree reduction over the TQ rows (TQ need not be a power of two).
  var width = TQ;
  loop {
    if (width <= 1u) { break; }
    let half = (width + 1u) / 2u;
    if (t + half < width) { red[t] += red[t + half]; }
    width = half;
    workgroupBarrier();
  }
  if (t == 0u) { mass[slot] = red[0] / f32(rEnd - rStart); }
}
`;
