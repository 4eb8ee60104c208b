// hplb's CUDA attention kernels: block-sparse forward attention over a CSR block layout and the per-block softmax
// mass (`blockMass`), the two kernels behind @hplb/backend-cuda. addon.cc calls the launchers at the bottom.
//
// Two paths:
//  - fp16 / bf16 (tensor cores): flash-attention style. A CTA owns up to 64 query rows of ONE query block (one warp
//    per 16 rows); it walks that block's CSR row of key blocks in chunks of min(B, 64) keys, stages K and V chunks
//    in shared memory and runs mma.sync.m16n8k16 (fp32 accumulation) for S = Q·Kᵀ and O += P·V, with an online
//    softmax kept in registers (row max / row sum per thread quad). Q fragments stay in registers for the whole
//    CTA. The head dim is padded with zeros up to 32/64/128 (template D).
//    The `pipelined` variant (default) double-buffers the K/V chunks with cp.async and reads K / V fragments with
//    ldmatrix (V transposed on the fly); it needs d = 32/64/128 and falls back to the simple kernel otherwise.
//  - fp32 (conformance, and what `hplb execute` runs): the same CTA tiling on CUDA cores: Q tile and 32-key K/V
//    chunks in shared memory, lanes across keys for the scores and across the head dim for the output, exact fp32
//    arithmetic with the same online softmax. blockMass at fp32 is one warp per query row.
// Many heads, each with its own layout and row range, run in one launch: the grid is a list of WorkItems.
// Scores are kept in the log2 domain (scale · log2 e folded in); lse is returned in natural log.
#include "kernels.h"
#include "fragments.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cmath>
#include <cstring>

namespace hplb {
namespace {

constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;
constexpr int kTileMax = 64;  // max query rows per CTA and keys per chunk
constexpr int kF32Warps = 4;

// ------------------------------------------------------------------------------------------------ 16-bit helpers

template <typename T>
struct Half16;

template <>
struct Half16<__half> {
  static __device__ __forceinline__ __half from(float x) { return __float2half_rn(x); }
  static __device__ __forceinline__ uint32_t packFloats(float lo, float hi) {
    __half2 h = __floats2half2_rn(lo, hi);
    uint32_t u;
    memcpy(&u, &h, 4);
    return u;
  }
  static __device__ __forceinline__ uint32_t packPair(__half lo, __half hi) {
    __half2 h = __halves2half2(lo, hi);
    uint32_t u;
    memcpy(&u, &h, 4);
    return u;
  }
  // D(16x8, f32) += A(16x16, f16, row) · B(16x8, f16, col)
  static __device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};

template <>
struct Half16<__nv_bfloat16> {
  static __device__ __forceinline__ __nv_bfloat16 from(float x) { return __float2bfloat16_rn(x); }
  static __device__ __forceinline__ uint32_t packFloats(float lo, float hi) {
    __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
    uint32_t u;
    memcpy(&u, &h, 4);
    return u;
  }
  static __device__ __forceinline__ uint32_t packPair(__nv_bfloat16 lo, __nv_bfloat16 hi) {
    __nv_bfloat162 h = __halves2bfloat162(lo, hi);
    uint32_t u;
    memcpy(&u, &h, 4);
    return u;
  }
  static __device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  }
};

template <typename T>
__device__ __forceinline__ uint32_t ld32(const T* p) {
  return *reinterpret_cast<const uint32_t*>(p);
}

__device__ __forceinline__ float quadMax(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quadSum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}
__device__ __forceinline__ float warpMax(float x) {
  for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}
__device__ __forceinline__ float warpSum(float x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// ------------------------------------------------------------------------------------------------ tensor-core path

// Shared-memory row stride: D + 8 elements (16 bytes) keeps rows 16-byte aligned and spreads banks.
template <int D>
__host__ __device__ constexpr int strideOf() {
  return D + 8;
}

// Copy rows [rowBegin, rowBegin + nRows) of a [N][d] 16-bit matrix into `rows` rows of shared memory, zero-filling
// rows past nRows and columns past d (so padded lanes contribute exactly 0 to every product).
template <typename T, int D>
__device__ __forceinline__ void loadTile(T* s, const T* g, int rowBegin, int nRows, int rows, int d) {
  constexpr int LD = strideOf<D>();
  const int tid = threadIdx.x, nThreads = blockDim.x;
  if (d == D) {
    constexpr int VPR = D / 8;  // 8 elements = 16 bytes per vector
    for (int idx = tid; idx < rows * VPR; idx += nThreads) {
      const int r = idx / VPR, cv = idx - r * VPR;
      uint4 val = make_uint4(0u, 0u, 0u, 0u);
      if (r < nRows) val = *reinterpret_cast<const uint4*>(g + (size_t)(rowBegin + r) * D + cv * 8);
      *reinterpret_cast<uint4*>(s + r * LD + cv * 8) = val;
    }
  } else {
    const T zero = Half16<T>::from(0.f);
    for (int idx = tid; idx < rows * D; idx += nThreads) {
      const int r = idx / D, col = idx - r * D;
      s[r * LD + col] = (r < nRows && col < d) ? g[(size_t)(rowBegin + r) * d + col] : zero;
    }
  }
}

// S[16 rows × 8·nTiles keys] = Q_warp · K_chunkᵀ (raw, unscaled) into s[j][*] (C-fragment layout).
template <typename T, int D>
__device__ __forceinline__ void qkChunk(float (&s)[8][4], const uint32_t (&qf)[D / 16][4], const T* sK, int nTiles,
                                        int g, int c) {
  constexpr int LD = strideOf<D>();
#pragma unroll
  for (int j = 0; j < 8; ++j) {
    s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
    if (j < nTiles) {
      const int lane = 4 * g + c;
#pragma unroll
      for (int ks = 0; ks < D / 16; ++ks)
        Half16<T>::mma(s[j], qf[ks], ld32(sK + frag::bOffsetNK(j, ks, 0, lane, LD)), ld32(sK + frag::bOffsetNK(j, ks, 1, lane, LD)));
    }
  }
}

// Scale into the log2 domain and mask: keys past keyLimit, past the tile's chunk, or above the diagonal -> -inf.
__device__ __forceinline__ void scaleMask(float (&s)[8][4], int nTiles, int keyBase, int keyLimit, int rowA, int rowB,
                                          bool causal, float scaleLog2, int c) {
#pragma unroll
  for (int j = 0; j < 8; ++j) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int col = keyBase + j * 8 + 2 * c + (e & 1);
      const int row = e < 2 ? rowA : rowB;
      const bool ok = j < nTiles && col < keyLimit && (!causal || col <= row);
      s[j][e] = ok ? s[j][e] * scaleLog2 : -INFINITY;
    }
  }
}

template <typename T, int D>
__device__ __forceinline__ void loadQFragments(uint32_t (&qf)[D / 16][4], const T* sQ, int wr0, int g, int c) {
  constexpr int LD = strideOf<D>();
  const int lane = 4 * g + c;
#pragma unroll
  for (int ks = 0; ks < D / 16; ++ks)
#pragma unroll
    for (int r = 0; r < 4; ++r) qf[ks][r] = ld32(sQ + wr0 * LD + ks * 16 + frag::aOffset(r, lane, LD));
}

template <typename T, int D>
__global__ void __launch_bounds__(128) sparseAttentionMma(AttentionLaunch p) {
  constexpr int LD = strideOf<D>();
  extern __shared__ uint4 smemRaw[];
  T* sQ = reinterpret_cast<T*>(smemRaw);
  T* sK = sQ + kTileMax * LD;
  T* sV = sK + kTileMax * LD;

  const WorkItem item = p.items[blockIdx.x];
  const int N = p.tokens, d = p.headDim, B = p.blockSize;
  const int r0 = item.rowStart, r1 = item.rowEnd, rows = r1 - r0;
  const int qb = r0 / B;
  const size_t headBase = (size_t)item.head * N * d;
  const T* Q = static_cast<const T*>(p.q) + headBase;
  const T* K = static_cast<const T*>(p.k) + headBase;
  const T* V = static_cast<const T*>(p.v) + headBase;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
  const int tileRows = blockDim.x / 2;  // 16 rows per warp
  const int chunk = B < kTileMax ? B : kTileMax;
  const int nTiles = chunk / 8;
  const float scaleLog2 = p.scale * kLog2e;

  loadTile<T, D>(sQ, Q, r0, rows, tileRows, d);
  __syncthreads();
  const int wr0 = warp * 16;
  const bool active = wr0 < rows;
  uint32_t qf[D / 16][4];
  loadQFragments<T, D>(qf, sQ, wr0, g, c);
  const int rowA = r0 + wr0 + g, rowB = rowA + 8;

  float o[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
  float mA = -INFINITY, mB = -INFINITY, lA = 0.f, lB = 0.f;

  const int32_t* off = p.offsets + (size_t)item.head * (p.blocks + 1);
  const int e0 = off[qb], e1 = off[qb + 1];
  for (int e = e0; e < e1; ++e) {
    const int kb = p.indices[e];
    if (p.causal && kb > qb) continue;
    const int kbStart = kb * B;
    const int kbEnd = min(kbStart + B, N);
    for (int k0 = kbStart; k0 < kbEnd; k0 += chunk) {
      if (p.causal && k0 > r1 - 1) break;
      const int kn = min(chunk, kbEnd - k0);
      __syncthreads();  // every warp is done with the previous chunk
      loadTile<T, D>(sK, K, k0, kn, chunk, d);
      loadTile<T, D>(sV, V, k0, kn, chunk, d);
      __syncthreads();
      if (!active) continue;

      float s[8][4];
      qkChunk<T, D>(s, qf, sK, nTiles, g, c);
      scaleMask(s, nTiles, k0, k0 + kn, rowA, rowB, p.causal, scaleLog2, c);

      float mxA = -INFINITY, mxB = -INFINITY;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        mxA = fmaxf(mxA, fmaxf(s[j][0], s[j][1]));
        mxB = fmaxf(mxB, fmaxf(s[j][2], s[j][3]));
      }
      mxA = quadMax(mxA);
      mxB = quadMax(mxB);
      const float newA = fmaxf(mA, mxA), newB = fmaxf(mB, mxB);
      // A row with nothing attended yet keeps max -inf: use 0 so exp2 gives exact zeros, never NaN.
      const float useA = newA == -INFINITY ? 0.f : newA, useB = newB == -INFINITY ? 0.f : newB;
      const float alphaA = exp2f(mA - useA), alphaB = exp2f(mB - useB);
      mA = newA;
      mB = newB;
      float sumA = 0.f, sumB = 0.f;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        s[j][0] = exp2f(s[j][0] - useA);
        s[j][1] = exp2f(s[j][1] - useA);
        s[j][2] = exp2f(s[j][2] - useB);
        s[j][3] = exp2f(s[j][3] - useB);
        sumA += s[j][0] + s[j][1];
        sumB += s[j][2] + s[j][3];
      }
      lA = lA * alphaA + sumA;  // per-thread partial row sums; the quad reduces them once at the end
      lB = lB * alphaB + sumB;
#pragma unroll
      for (int n = 0; n < D / 8; ++n) {
        o[n][0] *= alphaA;
        o[n][1] *= alphaA;
        o[n][2] *= alphaB;
        o[n][3] *= alphaB;
      }
      // O += P · V: two adjacent S C-fragments form one A fragment (k = 16 keys).
#pragma unroll
      for (int kk = 0; kk < 4; ++kk) {
        if (2 * kk < nTiles) {
          uint32_t a[4];
#pragma unroll
          for (int r = 0; r < 4; ++r)
            a[r] = Half16<T>::packFloats(s[frag::pTile(kk, r)][frag::pElem(r)], s[frag::pTile(kk, r)][frag::pElem(r) + 1]);
#pragma unroll
          for (int n = 0; n < D / 8; ++n) {
            const uint32_t b0 = Half16<T>::packPair(sV[frag::bOffsetKN(kk, n, 0, 0, lane, LD)], sV[frag::bOffsetKN(kk, n, 0, 1, lane, LD)]);
            const uint32_t b1 = Half16<T>::packPair(sV[frag::bOffsetKN(kk, n, 1, 0, lane, LD)], sV[frag::bOffsetKN(kk, n, 1, 1, lane, LD)]);
            Half16<T>::mma(o[n], a, b0, b1);
          }
        }
      }
    }
  }
  if (!active) return;
  lA = quadSum(lA);
  lB = quadSum(lB);
  const float invA = lA > 0.f ? 1.f / lA : 0.f, invB = lB > 0.f ? 1.f / lB : 0.f;
  const int outA = item.outRow + wr0 + g, outB = outA + 8;
  const bool validA = rowA < r1, validB = rowB < r1;
#pragma unroll
  for (int n = 0; n < D / 8; ++n) {
    const int col = n * 8 + 2 * c;
    if (col < d) {
      if (validA) p.out[(size_t)outA * d + col] = o[n][0] * invA;
      if (validB) p.out[(size_t)outB * d + col] = o[n][2] * invB;
    }
    if (col + 1 < d) {
      if (validA) p.out[(size_t)outA * d + col + 1] = o[n][1] * invA;
      if (validB) p.out[(size_t)outB * d + col + 1] = o[n][3] * invB;
    }
  }
  if (c == 0) {
    if (validA) p.lse[outA] = lA > 0.f ? (mA + log2f(lA)) * kLn2 : -INFINITY;
    if (validB) p.lse[outB] = lB > 0.f ? (mB + log2f(lB)) * kLn2 : -INFINITY;
  }
}

// ------------------------------------------------------------------------------------------------ pipelined variant

// cp.async (sm_80+): 16 bytes global -> shared, or 16 zero bytes when !valid (nothing is read then).
__device__ __forceinline__ void cpAsync16(void* smem, const void* gmem, bool valid) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  const int bytes = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(bytes));
}
__device__ __forceinline__ void cpAsyncCommit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

// ldmatrix: four 8x8 b16 matrices; lane l gives the address of row (l % 8) of matrix (l / 8).
__device__ __forceinline__ void ldmatrixX4(uint32_t (&r)[4], const void* smem) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(s));
}
__device__ __forceinline__ void ldmatrixX4Trans(uint32_t (&r)[4], const void* smem) {
  const unsigned s = static_cast<unsigned>(__cvta_generic_to_shared(smem));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(s));
}

// Issue the cp.async copies of `rows` rows of a [N][D] matrix (d == D) into shared memory, zero rows past nRows.
template <typename T, int D>
__device__ __forceinline__ void loadTileAsync(T* s, const T* g, int rowBegin, int nRows, int rows) {
  constexpr int LD = strideOf<D>();
  constexpr int VPR = D / 8;
  for (int idx = threadIdx.x; idx < rows * VPR; idx += blockDim.x) {
    const int r = idx / VPR, cv = idx - r * VPR;
    const bool valid = r < nRows;
    cpAsync16(s + r * LD + cv * 8, g + (size_t)(valid ? rowBegin + r : rowBegin) * D + cv * 8, valid);
  }
}

// Position (e, k0) on the next chunk to compute, at or after (e, k0); k0 = -1 means "start of entry e's block".
// Key blocks are sorted ascending (validated by the backend), so once one lies beyond the causal limit, all do.
__device__ __forceinline__ bool seekChunk(const int32_t* __restrict__ indices, int e1, int B, int N, bool causal, int qb,
                                          int rowLast, int& e, int& k0) {
  for (; e < e1; ++e, k0 = -1) {
    const int kb = indices[e];
    if (causal && kb > qb) return false;
    const int kbStart = kb * B, kbEnd = min(kbStart + B, N);
    if (k0 < kbStart) k0 = kbStart;
    if (causal && k0 > rowLast) return false;
    if (k0 < kbEnd) return true;
  }
  return false;
}

// The same computation as sparseAttentionMma (same tiles, same online softmax, same results up to summation order)
// with K/V chunks double-buffered through cp.async (the next chunk loads while this one computes) and K / V
// fragments read with ldmatrix (V transposed on the fly). Needs d == D (16-byte rows).
template <typename T, int D>
__global__ void __launch_bounds__(128) sparseAttentionMmaPipelined(AttentionLaunch p) {
  constexpr int LD = strideOf<D>();
  extern __shared__ uint4 smemRaw[];
  T* sQ = reinterpret_cast<T*>(smemRaw);
  T* sKV = sQ + kTileMax * LD;  // [2 buffers][K, V][kTileMax][LD]
  auto sK = [&](int buf) { return sKV + (size_t)buf * 2 * kTileMax * LD; };
  auto sV = [&](int buf) { return sKV + (size_t)buf * 2 * kTileMax * LD + kTileMax * LD; };

  const WorkItem item = p.items[blockIdx.x];
  const int N = p.tokens, B = p.blockSize;
  const int r0 = item.rowStart, r1 = item.rowEnd, rows = r1 - r0;
  const int qb = r0 / B;
  const size_t headBase = (size_t)item.head * N * D;
  const T* Q = static_cast<const T*>(p.q) + headBase;
  const T* K = static_cast<const T*>(p.k) + headBase;
  const T* V = static_cast<const T*>(p.v) + headBase;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
  const int tileRows = blockDim.x / 2;
  const int chunk = B < kTileMax ? B : kTileMax;
  const int nTiles = chunk / 8;
  const float scaleLog2 = p.scale * kLog2e;
  const int32_t* off = p.offsets + (size_t)item.head * (p.blocks + 1);
  const int e1 = off[qb + 1];

  int e = off[qb], k0 = -1;
  bool have = seekChunk(p.indices, e1, B, N, p.causal, qb, r1 - 1, e, k0);
  loadTileAsync<T, D>(sQ, Q, r0, rows, tileRows);
  if (have) {
    loadTileAsync<T, D>(sK(0), K, k0, min(chunk, min(k0 + chunk, N) - k0), chunk);
    loadTileAsync<T, D>(sV(0), V, k0, min(chunk, min(k0 + chunk, N) - k0), chunk);
  }
  cpAsyncCommit();

  const int wr0 = warp * 16;
  const bool active = wr0 < rows;
  const int rowA = r0 + wr0 + g, rowB = rowA + 8;
  uint32_t qf[D / 16][4];
  float o[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.f;
  float mA = -INFINITY, mB = -INFINITY, lA = 0.f, lB = 0.f;
  bool qLoaded = false;

  for (int buf = 0; have; buf ^= 1) {
    // The chunk after this one goes into the other buffer, which every warp finished with last iteration.
    int ne = e, nk0 = k0 + chunk;
    if (nk0 >= min((p.indices[e] + 1) * B, N)) { ++ne; nk0 = -1; }
    const bool haveNext = seekChunk(p.indices, e1, B, N, p.causal, qb, r1 - 1, ne, nk0);
    __syncthreads();
    if (haveNext) {
      const int kn = min(chunk, min(nk0 + chunk, min((p.indices[ne] + 1) * B, N)) - nk0);
      loadTileAsync<T, D>(sK(buf ^ 1), K, nk0, kn, chunk);
      loadTileAsync<T, D>(sV(buf ^ 1), V, nk0, kn, chunk);
      cpAsyncCommit();
      cpAsyncWait<1>();
    } else {
      cpAsyncWait<0>();
    }
    __syncthreads();
    if (!qLoaded) {
      loadQFragments<T, D>(qf, sQ, wr0, g, c);
      qLoaded = true;
    }
    const int kbEnd = min((p.indices[e] + 1) * B, N);
    const int kn = min(chunk, kbEnd - k0);
    if (active) {
      const T* kTile = sK(buf);
      const T* vTile = sV(buf);
      float s[8][4];
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
        if (j < nTiles) {
#pragma unroll
          for (int ks = 0; ks < D / 16; ks += 2) {
            uint32_t b[4];  // b0, b1 of k-step ks, then of ks + 1
            ldmatrixX4(b, kTile + frag::ldmatrixK(j, ks, lane, LD));
            Half16<T>::mma(s[j], qf[ks], b[0], b[1]);
            Half16<T>::mma(s[j], qf[ks + 1], b[2], b[3]);
          }
        }
      }
      scaleMask(s, nTiles, k0, k0 + kn, rowA, rowB, p.causal, scaleLog2, c);
      float mxA = -INFINITY, mxB = -INFINITY;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        mxA = fmaxf(mxA, fmaxf(s[j][0], s[j][1]));
        mxB = fmaxf(mxB, fmaxf(s[j][2], s[j][3]));
      }
      mxA = quadMax(mxA);
      mxB = quadMax(mxB);
      const float newA = fmaxf(mA, mxA), newB = fmaxf(mB, mxB);
      const float useA = newA == -INFINITY ? 0.f : newA, useB = newB == -INFINITY ? 0.f : newB;
      const float alphaA = exp2f(mA - useA), alphaB = exp2f(mB - useB);
      mA = newA;
      mB = newB;
      float sumA = 0.f, sumB = 0.f;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        s[j][0] = exp2f(s[j][0] - useA);
        s[j][1] = exp2f(s[j][1] - useA);
        s[j][2] = exp2f(s[j][2] - useB);
        s[j][3] = exp2f(s[j][3] - useB);
        sumA += s[j][0] + s[j][1];
        sumB += s[j][2] + s[j][3];
      }
      lA = lA * alphaA + sumA;
      lB = lB * alphaB + sumB;
#pragma unroll
      for (int n = 0; n < D / 8; ++n) {
        o[n][0] *= alphaA;
        o[n][1] *= alphaA;
        o[n][2] *= alphaB;
        o[n][3] *= alphaB;
      }
#pragma unroll
      for (int kk = 0; kk < 4; ++kk) {
        if (2 * kk < nTiles) {
          uint32_t a[4];
#pragma unroll
          for (int r = 0; r < 4; ++r)
            a[r] = Half16<T>::packFloats(s[frag::pTile(kk, r)][frag::pElem(r)], s[frag::pTile(kk, r)][frag::pElem(r) + 1]);
          // matrices: (keys 0-7 | 8-15 of this k-step) x (dims of n-tile n | n + 1), transposed into B fragments
#pragma unroll
          for (int n = 0; n < D / 8; n += 2) {
            uint32_t b[4];  // b0, b1 of n-tile n, then of n + 1
            ldmatrixX4Trans(b, vTile + frag::ldmatrixV(kk, n, lane, LD));
            Half16<T>::mma(o[n], a, b[0], b[1]);
            Half16<T>::mma(o[n + 1], a, b[2], b[3]);
          }
        }
      }
    }
    e = ne;
    k0 = nk0;
    have = haveNext;
  }
  if (!qLoaded) {  // no chunk at all: rows attend to nothing
    cpAsyncWait<0>();
  }
  if (!active) return;
  lA = quadSum(lA);
  lB = quadSum(lB);
  const float invA = lA > 0.f ? 1.f / lA : 0.f, invB = lB > 0.f ? 1.f / lB : 0.f;
  const int outA = item.outRow + wr0 + g, outB = outA + 8;
  const bool validA = rowA < r1, validB = rowB < r1;
#pragma unroll
  for (int n = 0; n < D / 8; ++n) {
    const int col = n * 8 + 2 * c;
    if (validA) *reinterpret_cast<float2*>(p.out + (size_t)outA * D + col) = make_float2(o[n][0] * invA, o[n][1] * invA);
    if (validB) *reinterpret_cast<float2*>(p.out + (size_t)outB * D + col) = make_float2(o[n][2] * invB, o[n][3] * invB);
  }
  if (c == 0) {
    if (validA) p.lse[outA] = lA > 0.f ? (mA + log2f(lA)) * kLn2 : -INFINITY;
    if (validB) p.lse[outB] = lB > 0.f ? (mB + log2f(lB)) * kLn2 : -INFINITY;
  }
}

// blockMass on tensor cores, two passes over every (causal) key: MASS=false writes each row's log2-sum-exp,
// MASS=true sums exp2(s - lse2) per key block and adds mean-over-rows shares into mass[qb][kb].
template <typename T, int D, bool MASS>
__global__ void __launch_bounds__(128) blockMassMma(BlockMassLaunch p) {
  constexpr int LD = strideOf<D>();
  extern __shared__ uint4 smemRaw[];
  T* sQ = reinterpret_cast<T*>(smemRaw);
  T* sK = sQ + kTileMax * LD;

  const WorkItem item = p.items[blockIdx.x];
  const int N = p.tokens, d = p.headDim, B = p.blockSize;
  const int r0 = item.rowStart, r1 = item.rowEnd, rows = r1 - r0;
  const int qb = r0 / B;
  const T* Q = static_cast<const T*>(p.q);
  const T* K = static_cast<const T*>(p.k);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
  const int tileRows = blockDim.x / 2;
  const int chunk = B < kTileMax ? B : kTileMax;
  const int nTiles = chunk / 8;
  const float scaleLog2 = p.scale * kLog2e;

  loadTile<T, D>(sQ, Q, r0, rows, tileRows, d);
  __syncthreads();
  const int wr0 = warp * 16;
  const bool active = wr0 < rows;
  uint32_t qf[D / 16][4];
  loadQFragments<T, D>(qf, sQ, wr0, g, c);
  const int rowA = r0 + wr0 + g, rowB = rowA + 8;
  const bool validA = rowA < r1, validB = rowB < r1;

  float mA = -INFINITY, mB = -INFINITY, lA = 0.f, lB = 0.f;
  float lseA = 0.f, lseB = 0.f, invRows = 0.f;
  if (MASS) {
    lseA = validA ? p.rowLse2[rowA] : 0.f;
    lseB = validB ? p.rowLse2[rowB] : 0.f;
    invRows = 1.f / (float)(min(B, N - qb * B));
  }
  const int lastKb = p.causal ? qb : p.blocks - 1;
  for (int kb = 0; kb <= lastKb; ++kb) {
    const int kbStart = kb * B;
    const int kbEnd = min(kbStart + B, N);
    for (int k0 = kbStart; k0 < kbEnd; k0 += chunk) {
      if (p.causal && k0 > r1 - 1) break;
      const int kn = min(chunk, kbEnd - k0);
      __syncthreads();
      loadTile<T, D>(sK, K, k0, kn, chunk, d);
      __syncthreads();
      if (!active) continue;
      float s[8][4];
      qkChunk<T, D>(s, qf, sK, nTiles, g, c);
      scaleMask(s, nTiles, k0, k0 + kn, rowA, rowB, p.causal, scaleLog2, c);
      if (MASS) {
        float part = 0.f;
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          if (validA) part += exp2f(s[j][0] - lseA) + exp2f(s[j][1] - lseA);
          if (validB) part += exp2f(s[j][2] - lseB) + exp2f(s[j][3] - lseB);
        }
        part = warpSum(part);
        if (lane == 0 && part != 0.f) atomicAdd(p.mass + (size_t)qb * p.blocks + kb, part * invRows);
      } else {
        float mxA = -INFINITY, mxB = -INFINITY;
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          mxA = fmaxf(mxA, fmaxf(s[j][0], s[j][1]));
          mxB = fmaxf(mxB, fmaxf(s[j][2], s[j][3]));
        }
        mxA = quadMax(mxA);
        mxB = quadMax(mxB);
        const float newA = fmaxf(mA, mxA), newB = fmaxf(mB, mxB);
        const float useA = newA == -INFINITY ? 0.f : newA, useB = newB == -INFINITY ? 0.f : newB;
        float sumA = 0.f, sumB = 0.f;
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          sumA += exp2f(s[j][0] - useA) + exp2f(s[j][1] - useA);
          sumB += exp2f(s[j][2] - useB) + exp2f(s[j][3] - useB);
        }
        lA = lA * exp2f(mA - useA) + sumA;
        lB = lB * exp2f(mB - useB) + sumB;
        mA = newA;
        mB = newB;
      }
    }
  }
  if (MASS || !active) return;
  lA = quadSum(lA);
  lB = quadSum(lB);
  if (c == 0) {
    if (validA) p.rowLse2[rowA] = mA + log2f(lA);
    if (validB) p.rowLse2[rowB] = mB + log2f(lB);
  }
}

// blockMass with the pipelined variant's loads: K chunks double-buffered through cp.async, K fragments by ldmatrix.
// Same passes and results as blockMassMma; needs d == D. Keys are walked in chunks of min(B, 64) from 0 to the
// causal limit (a chunk never crosses a key block: the chunk size divides B).
template <typename T, int D, bool MASS>
__global__ void __launch_bounds__(128) blockMassMmaPipelined(BlockMassLaunch p) {
  constexpr int LD = strideOf<D>();
  extern __shared__ uint4 smemRaw[];
  T* sQ = reinterpret_cast<T*>(smemRaw);
  auto sK = [&](int buf) { return sQ + (size_t)(1 + buf) * kTileMax * LD; };

  const WorkItem item = p.items[blockIdx.x];
  const int N = p.tokens, B = p.blockSize;
  const int r0 = item.rowStart, r1 = item.rowEnd, rows = r1 - r0;
  const int qb = r0 / B;
  const T* Q = static_cast<const T*>(p.q);
  const T* K = static_cast<const T*>(p.k);
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, c = lane & 3;
  const int tileRows = blockDim.x / 2;
  const int chunk = B < kTileMax ? B : kTileMax;
  const int nTiles = chunk / 8;
  const float scaleLog2 = p.scale * kLog2e;
  const int keyEnd = p.causal ? min(N, r1) : N;  // chunks starting at or past it hold no allowed key

  loadTileAsync<T, D>(sQ, Q, r0, rows, tileRows);
  loadTileAsync<T, D>(sK(0), K, 0, min(chunk, N), chunk);
  cpAsyncCommit();

  const int wr0 = warp * 16;
  const bool active = wr0 < rows;
  const int rowA = r0 + wr0 + g, rowB = rowA + 8;
  const bool validA = rowA < r1, validB = rowB < r1;
  uint32_t qf[D / 16][4];
  float mA = -INFINITY, mB = -INFINITY, lA = 0.f, lB = 0.f;
  float lseA = 0.f, lseB = 0.f, invRows = 0.f;
  if (MASS) {
    lseA = validA ? p.rowLse2[rowA] : 0.f;
    lseB = validB ? p.rowLse2[rowB] : 0.f;
    invRows = 1.f / (float)(min(B, N - qb * B));
  }
  for (int k0 = 0, buf = 0; k0 < keyEnd; k0 += chunk, buf ^= 1) {
    const int nk0 = k0 + chunk;
    __syncthreads();
    if (nk0 < keyEnd) {
      loadTileAsync<T, D>(sK(buf ^ 1), K, nk0, min(chunk, N - nk0), chunk);
      cpAsyncCommit();
      cpAsyncWait<1>();
    } else {
      cpAsyncWait<0>();
    }
    __syncthreads();
    if (k0 == 0) loadQFragments<T, D>(qf, sQ, wr0, g, c);
    if (!active) continue;
    const int kn = min(chunk, N - k0);
    const T* kTile = sK(buf);
    float s[8][4];
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.f;
      if (j < nTiles) {
#pragma unroll
        for (int ks = 0; ks < D / 16; ks += 2) {
          uint32_t b[4];
          ldmatrixX4(b, kTile + frag::ldmatrixK(j, ks, lane, LD));
          Half16<T>::mma(s[j], qf[ks], b[0], b[1]);
          Half16<T>::mma(s[j], qf[ks + 1], b[2], b[3]);
        }
      }
    }
    scaleMask(s, nTiles, k0, k0 + kn, rowA, rowB, p.causal, scaleLog2, c);
    if (MASS) {
      float part = 0.f;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        if (validA) part += exp2f(s[j][0] - lseA) + exp2f(s[j][1] - lseA);
        if (validB) part += exp2f(s[j][2] - lseB) + exp2f(s[j][3] - lseB);
      }
      part = warpSum(part);
      if (lane == 0 && part != 0.f) atomicAdd(p.mass + (size_t)qb * p.blocks + k0 / B, part * invRows);
    } else {
      float mxA = -INFINITY, mxB = -INFINITY;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        mxA = fmaxf(mxA, fmaxf(s[j][0], s[j][1]));
        mxB = fmaxf(mxB, fmaxf(s[j][2], s[j][3]));
      }
      mxA = quadMax(mxA);
      mxB = quadMax(mxB);
      const float newA = fmaxf(mA, mxA), newB = fmaxf(mB, mxB);
      const float useA = newA == -INFINITY ? 0.f : newA, useB = newB == -INFINITY ? 0.f : newB;
      float sumA = 0.f, sumB = 0.f;
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        sumA += exp2f(s[j][0] - useA) + exp2f(s[j][1] - useA);
        sumB += exp2f(s[j][2] - useB) + exp2f(s[j][3] - useB);
      }
      lA = lA * exp2f(mA - useA) + sumA;
      lB = lB * exp2f(mB - useB) + sumB;
      mA = newA;
      mB = newB;
    }
  }
  if (MASS || !active) return;
  lA = quadSum(lA);
  lB = quadSum(lB);
  if (c == 0) {
    if (validA) p.rowLse2[rowA] = mA + log2f(lA);
    if (validB) p.rowLse2[rowB] = mB + log2f(lB);
  }
}

// ------------------------------------------------------------------------------------------------ fp32 path

// Scores of this lane's key against the warp's (pre-scaled) query row in shared memory.
__device__ __forceinline__ float dotRow(const float* q, const float* k, int d) {
  float acc = 0.f;
  for (int t = 0; t < d; ++t) acc = fmaf(q[t], k[t], acc);
  return acc;
}

// fp32 attention, tiled: a CTA owns up to 64 query rows of one query block (16 per warp, Q pre-scaled in shared
// memory); K and V chunks of 32 keys are staged in shared memory (K rows padded to d + 1 floats: lane j reads key
// j's row conflict-free). Lane j computes the 16 rows' scores against key j; the online softmax reduces across the
// warp per row; P goes through shared memory and lanes own output dims (t = lane + 32·i) for O += P·V.
constexpr int kF32Keys = 32;

template <int DV>  // head dim d ≤ 32·DV
__global__ void __launch_bounds__(128) sparseAttentionF32(AttentionLaunch p) {
  extern __shared__ float smemF[];
  const WorkItem item = p.items[blockIdx.x];
  const int N = p.tokens, d = p.headDim, B = p.blockSize;
  const int r0 = item.rowStart, r1 = item.rowEnd, rows = r1 - r0;
  const int qb = r0 / B;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int tileRows = blockDim.x / 2;
  const int LDK = d + 1;
  float* sQ = smemF;                           // [tileRows][d], scaled into the log2 domain
  float* sK = sQ + tileRows * d;               // [kF32Keys][d + 1]
  float* sV = sK + kF32Keys * LDK;             // [kF32Keys][d]
  float* sP = sV + kF32Keys * d + warp * 16 * kF32Keys;  // this warp's [16][kF32Keys]
  const size_t headBase = (size_t)item.head * N * d;
  const float* Q = static_cast<const float*>(p.q) + headBase;
  const float* K = static_cast<const float*>(p.k) + headBase;
  const float* V = static_cast<const float*>(p.v) + headBase;
  const float scaleLog2 = p.scale * kLog2e;

  for (int idx = threadIdx.x; idx < tileRows * d; idx += blockDim.x) {
    const int r = idx / d;
    sQ[idx] = r < rows ? Q[(size_t)r0 * d + idx] * scaleLog2 : 0.f;
  }
  const int wr0 = warp * 16;
  const bool active = wr0 < rows;
  float acc[16][DV];
  float m[16], l[16];
#pragma unroll
  for (int r = 0; r < 16; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.f;
#pragma unroll
    for (int i = 0; i < DV; ++i) acc[r][i] = 0.f;
  }
  const int32_t* off = p.offsets + (size_t)item.head * (p.blocks + 1);
  const int e0 = off[qb], e1 = off[qb + 1];
  for (int e = e0; e < e1; ++e) {
    const int kb = p.indices[e];
    if (p.causal && kb > qb) continue;
    const int kbStart = kb * B;
    const int kbEnd = min(kbStart + B, N);
    for (int k0 = kbStart; k0 < kbEnd; k0 += kF32Keys) {
      if (p.causal && k0 > r1 - 1) break;
      const int kn = min(kF32Keys, kbEnd - k0);
      __syncthreads();  // every warp is done with the previous chunk (and, the first time, sQ is written)
      for (int idx = threadIdx.x; idx < kF32Keys * d; idx += blockDim.x) {
        const int j = idx / d, t = idx - j * d;
        const bool valid = j < kn;
        sK[j * LDK + t] = valid ? K[(size_t)(k0 + j) * d + t] : 0.f;
        sV[idx] = valid ? V[(size_t)(k0 + j) * d + t] : 0.f;
      }
      __syncthreads();
      if (!active) continue;
      float s[16];
#pragma unroll
      for (int r = 0; r < 16; ++r) s[r] = 0.f;
      const float* kr = sK + lane * LDK;
      const float* qw = sQ + wr0 * d;
      for (int t = 0; t < d; ++t) {
        const float kv = kr[t];
#pragma unroll
        for (int r = 0; r < 16; ++r) s[r] = fmaf(qw[r * d + t], kv, s[r]);
      }
      const int key = k0 + lane;
#pragma unroll
      for (int r = 0; r < 16; ++r) {
        const int row = r0 + wr0 + r;
        const float x = (lane < kn && (!p.causal || key <= row)) ? s[r] : -INFINITY;
        const float mNew = fmaxf(m[r], warpMax(x));
        const float mUse = mNew == -INFINITY ? 0.f : mNew;
        const float alpha = exp2f(m[r] - mUse);
        const float pr = exp2f(x - mUse);
        l[r] = l[r] * alpha + pr;  // per-lane partial; the warp sums it once at the end
        m[r] = mNew;
#pragma unroll
        for (int i = 0; i < DV; ++i) acc[r][i] *= alpha;
        sP[r * kF32Keys + lane] = pr;
      }
      __syncwarp();
      for (int j = 0; j < kn; ++j) {
        float vv[DV];
#pragma unroll
        for (int i = 0; i < DV; ++i) {
          const int t = lane + 32 * i;
          vv[i] = t < d ? sV[j * d + t] : 0.f;
        }
#pragma unroll
        for (int r = 0; r < 16; ++r) {
          const float pj = sP[r * kF32Keys + j];
#pragma unroll
          for (int i = 0; i < DV; ++i) acc[r][i] = fmaf(pj, vv[i], acc[r][i]);
        }
      }
      __syncwarp();
    }
  }
  if (!active) return;
#pragma unroll
  for (int r = 0; r < 16; ++r) {
    if (wr0 + r >= rows) break;  // uniform across the warp
    const float lsum = warpSum(l[r]);
    const float inv = lsum > 0.f ? 1.f / lsum : 0.f;
    const size_t outRow = (size_t)item.outRow + wr0 + r;
#pragma unroll
    for (int i = 0; i < DV; ++i) {
      const int t = lane + 32 * i;
      if (t < d) p.out[outRow * d + t] = acc[r][i] * inv;
    }
    if (lane == 0) p.lse[outRow] = lsum > 0.f ? (m[r] + log2f(lsum)) * kLn2 : -INFINITY;
  }
}

template <int DV>
cudaError_t launchAttentionF32(const AttentionLaunch& a, cudaStream_t stream) {
  const int rows = tileRows(a.blockSize);
  const int threads = (rows + 15) / 16 * 32;
  const int tile = threads / 2;
  const size_t smem = sizeof(float) * ((size_t)tile * a.headDim + (size_t)kF32Keys * (a.headDim + 1) +
                                       (size_t)kF32Keys * a.headDim + (size_t)(threads / 32) * 16 * kF32Keys);
  cudaError_t err = cudaFuncSetAttribute(sparseAttentionF32<DV>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  if (err != cudaSuccess) return err;
  sparseAttentionF32<DV><<<a.itemCount, threads, smem, stream>>>(a);
  return cudaGetLastError();
}

__global__ void __launch_bounds__(kF32Warps * 32) blockMassF32(BlockMassLaunch p) {
  extern __shared__ float sq[];
  const WorkItem item = p.items[blockIdx.x];
  const int N = p.tokens, d = p.headDim, B = p.blockSize;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const float* Q = static_cast<const float*>(p.q);
  const float* K = static_cast<const float*>(p.k);
  float* q = sq + warp * d;
  const int qb = item.rowStart / B;
  const float invRows = 1.f / (float)min(B, N - qb * B);
  const float scaleLog2 = p.scale * kLog2e;
  const int lastKb = p.causal ? qb : p.blocks - 1;

  for (int row = item.rowStart + warp; row < item.rowEnd; row += kF32Warps) {
    __syncwarp();
    for (int t = lane; t < d; t += 32) q[t] = Q[(size_t)row * d + t] * scaleLog2;
    __syncwarp();
    const int keyEnd = p.causal ? row + 1 : N;
    float m = -INFINITY, l = 0.f;
    for (int base = 0; base < keyEnd; base += 32) {
      const int key = base + lane;
      const float s = key < keyEnd ? dotRow(q, K + (size_t)key * d, d) : -INFINITY;
      const float mNew = fmaxf(m, warpMax(s));
      l = l * exp2f(m - mNew) + warpSum(exp2f(s - mNew));
      m = mNew;
    }
    const float lse2 = m + log2f(l);
    for (int kb = 0; kb <= lastKb; ++kb) {
      const int kStart = kb * B;
      const int kEnd = min(min(kStart + B, N), keyEnd);
      float part = 0.f;
      for (int base = kStart; base < kEnd; base += 32) {
        const int key = base + lane;
        if (key < kEnd) part += exp2f(dotRow(q, K + (size_t)key * d, d) - lse2);
      }
      part = warpSum(part);
      if (lane == 0 && part != 0.f) atomicAdd(p.mass + (size_t)qb * p.blocks + kb, part * invRows);
    }
  }
}

// ------------------------------------------------------------------------------------------------ conversion

template <typename T>
__global__ void convertKernel(const float* __restrict__ src, T* __restrict__ dst, size_t n) {
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    dst[i] = Half16<T>::from(src[i]);
}

// ------------------------------------------------------------------------------------------------ dispatch

template <typename T, int D>
size_t mmaSmemBytes(int buffers) {
  return (size_t)buffers * kTileMax * strideOf<D>() * sizeof(T);
}

template <typename T, int D>
cudaError_t launchAttentionMma(const AttentionLaunch& a, cudaStream_t stream) {
  const int threads = tileRows(a.blockSize) / 16 * 32;
  if (a.variant == Variant::pipelined && a.headDim == D) {
    const size_t smem = mmaSmemBytes<T, D>(5);  // Q + two (K, V) buffers
    cudaError_t err = cudaFuncSetAttribute(sparseAttentionMmaPipelined<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (err != cudaSuccess) return err;
    sparseAttentionMmaPipelined<T, D><<<a.itemCount, threads, smem, stream>>>(a);
    return cudaGetLastError();
  }
  const size_t smem = mmaSmemBytes<T, D>(3);
  cudaError_t err = cudaFuncSetAttribute(sparseAttentionMma<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  if (err != cudaSuccess) return err;
  sparseAttentionMma<T, D><<<a.itemCount, threads, smem, stream>>>(a);
  return cudaGetLastError();
}

template <typename T, int D>
cudaError_t launchMassMmaPipelined(const BlockMassLaunch& a, cudaStream_t stream) {
  const size_t smem = mmaSmemBytes<T, D>(3);  // Q + two K buffers
  cudaError_t err = cudaFuncSetAttribute(blockMassMmaPipelined<T, D, false>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  if (err != cudaSuccess) return err;
  err = cudaFuncSetAttribute(blockMassMmaPipelined<T, D, true>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  if (err != cudaSuccess) return err;
  const int threads = tileRows(a.blockSize) / 16 * 32;
  blockMassMmaPipelined<T, D, false><<<a.itemCount, threads, smem, stream>>>(a);
  err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  blockMassMmaPipelined<T, D, true><<<a.itemCount, threads, smem, stream>>>(a);
  return cudaGetLastError();
}

template <typename T, int D>
cudaError_t launchMassMma(const BlockMassLaunch& a, cudaStream_t stream) {
  if (a.variant == Variant::pipelined && a.headDim == D) return launchMassMmaPipelined<T, D>(a, stream);
  const size_t smem = mmaSmemBytes<T, D>(2);
  cudaError_t err = cudaFuncSetAttribute(blockMassMma<T, D, false>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  if (err != cudaSuccess) return err;
  err = cudaFuncSetAttribute(blockMassMma<T, D, true>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  if (err != cudaSuccess) return err;
  const int threads = tileRows(a.blockSize) / 16 * 32;
  blockMassMma<T, D, false><<<a.itemCount, threads, smem, stream>>>(a);
  err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  blockMassMma<T, D, true><<<a.itemCount, threads, smem, stream>>>(a);
  return cudaGetLastError();
}

template <typename T>
cudaError_t attentionForType(const AttentionLaunch& a, cudaStream_t stream) {
  if (a.headDim <= 32) return launchAttentionMma<T, 32>(a, stream);
  if (a.headDim <= 64) return launchAttentionMma<T, 64>(a, stream);
  if (a.headDim <= 128) return launchAttentionMma<T, 128>(a, stream);
  return cudaErrorInvalidValue;
}

template <typename T>
cudaError_t massForType(const BlockMassLaunch& a, cudaStream_t stream) {
  if (a.headDim <= 32) return launchMassMma<T, 32>(a, stream);
  if (a.headDim <= 64) return launchMassMma<T, 64>(a, stream);
  if (a.headDim <= 128) return launchMassMma<T, 128>(a, stream);
  return cudaErrorInvalidValue;
}

}  // namespace

int tileRows(int blockSize) { return blockSize < kTileMax ? blockSize : kTileMax; }

cudaError_t launchConvert(const float* src, void* dst, size_t n, Precision p, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  const int threads = 256;
  const size_t want = (n + threads - 1) / threads;
  const int grid = (int)(want < 65535 ? want : 65535);
  if (p == Precision::fp16) convertKernel<__half><<<grid, threads, 0, stream>>>(src, static_cast<__half*>(dst), n);
  else if (p == Precision::bf16)
    convertKernel<__nv_bfloat16><<<grid, threads, 0, stream>>>(src, static_cast<__nv_bfloat16*>(dst), n);
  else return cudaErrorInvalidValue;
  return cudaGetLastError();
}

cudaError_t launchSparseAttention(const AttentionLaunch& a, cudaStream_t stream) {
  if (a.itemCount == 0) return cudaSuccess;
  switch (a.precision) {
    case Precision::fp16:
      return attentionForType<__half>(a, stream);
    case Precision::bf16:
      return attentionForType<__nv_bfloat16>(a, stream);
    case Precision::fp32: {
      if (a.headDim <= 32) return launchAttentionF32<1>(a, stream);
      if (a.headDim <= 64) return launchAttentionF32<2>(a, stream);
      if (a.headDim <= 128) return launchAttentionF32<4>(a, stream);
      if (a.headDim <= kMaxHeadDimF32) return launchAttentionF32<8>(a, stream);
      return cudaErrorInvalidValue;
    }
  }
  return cudaErrorInvalidValue;
}

cudaError_t launchBlockMass(const BlockMassLaunch& a, cudaStream_t stream) {
  cudaError_t err = cudaMemsetAsync(a.mass, 0, (size_t)a.blocks * a.blocks * sizeof(float), stream);
  if (err != cudaSuccess || a.itemCount == 0) return err;
  switch (a.precision) {
    case Precision::fp16:
      return massForType<__half>(a, stream);
    case Precision::bf16:
      return massForType<__nv_bfloat16>(a, stream);
    case Precision::fp32: {
      if (a.headDim > kMaxHeadDimF32) return cudaErrorInvalidValue;
      blockMassF32<<<a.itemCount, kF32Warps * 32, kF32Warps * a.headDim * sizeof(float), stream>>>(a);
      return cudaGetLastError();
    }
  }
  return cudaErrorInvalidValue;
}

}  // namespace hplb
