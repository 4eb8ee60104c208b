/**
 * The byte-level rewrite of attention weights for an engine layout, dtype-agnostic (rows and columns are moved, never
 * converted): q_proj / k_proj / v_proj rows (and biases) are permuted and duplicated in head blocks, o_proj columns
 * are permuted in head blocks. Used by `hplb apply` and by the identity tests (which run attention on the result).
 *
 * Row-major [rows, cols] tensors, as Hugging Face stores Linear weights ([out_features, in_features]). Plain
 * `Uint8Array`s (no Node `Buffer`): this module is part of the platform-neutral `@hplb/engines` root.
 */

/** out block i = in block src[i] (each block `blockBytes` bytes); a null source is a zero block (padding head). */
export const permuteRowBlocks = (data: Uint8Array, blockBytes: number, src: ReadonlyArray<number | null>): Uint8Array => {
  const out = new Uint8Array(src.length * blockBytes);
  const inBlocks = data.byteLength / blockBytes;
  src.forEach((s, i) => {
    if (s === null) return;
    if (!(s >= 0 && s < inBlocks)) throw new RangeError(`row block ${s} outside the tensor's ${inBlocks} blocks`);
    out.set(data.subarray(s * blockBytes, (s + 1) * blockBytes), i * blockBytes);
  });
  return out;
};

/**
 * For every row of a row-major matrix with `colsIn` columns of `elemBytes` bytes: out column block i = in column
 * block src[i] (blocks of `blockCols` columns); a null source is a zero block.
 */
export const permuteColumnBlocks = (
  data: Uint8Array,
  rows: number,
  colsIn: number,
  elemBytes: number,
  blockCols: number,
  src: ReadonlyArray<number | null>,
): Uint8Array => {
  const blockBytes = blockCols * elemBytes;
  const rowIn = colsIn * elemBytes;
  const rowOut = src.length * blockBytes;
  const inBlocks = colsIn / blockCols;
  // Runs of consecutive source blocks are copied in one piece: [dst block, src block, blocks].
  const runs: [number, number, number][] = [];
  src.forEach((s, i) => {
    if (s === null) return;
    if (!(s >= 0 && s < inBlocks)) throw new RangeError(`column block ${s} outside the tensor's ${inBlocks} blocks`);
    const last = runs[runs.length - 1];
    if (last && last[0] + last[2] === i && last[1] + last[2] === s) last[2]++;
    else runs.push([i, s, 1]);
  });
  const out = new Uint8Array(rows * rowOut);
  for (let r = 0; r < rows; r++) {
    const base = r * rowIn;
    const obase = r * rowOut;
    for (const [dst, s, n] of runs) out.set(data.subarray(base + s * blockBytes, base + (s + n) * blockBytes), obase + dst * blockBytes);
  }
  return out;
};
