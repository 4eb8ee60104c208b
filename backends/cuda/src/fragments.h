// Where each lane's mma.sync.m16n8k16 fragments live in shared memory: element offsets into row-major tiles with a
// row stride of LD elements, for the attention kernels in kernels.cu (nvcc) and for the host check in
// test/fragments.cc, which emulates ldmatrix and mma from the PTX ISA's fragment layouts and verifies that these
// offsets produce S = Q·Kᵀ and O = P·V exactly. Lane l: g = l / 4 (group), c = l % 4 (thread in group).
#pragma once

#if defined(__CUDACC__)
#define HPLB_HD __host__ __device__ __forceinline__
#else
#define HPLB_HD inline
#endif

namespace hplb {
namespace frag {

// A fragment (16 × 16, rows = query rows, cols = k): register r ∈ 0..3 holds cols (2c, 2c + 1) of row
// g + 8·(r & 1), shifted by 8 columns for r ≥ 2.
HPLB_HD int aOffset(int r, int lane, int LD) { return ((lane >> 2) + 8 * (r & 1)) * LD + 2 * (lane & 3) + 8 * (r >> 1); }

// B fragment (16 × 8, k × n) read from a tile stored [n][k] (K: keys × dims): n-tile j, k-step ks, register
// r ∈ {0, 1}; the register's two elements are consecutive in memory.
HPLB_HD int bOffsetNK(int j, int ks, int r, int lane, int LD) { return (j * 8 + (lane >> 2)) * LD + ks * 16 + 2 * (lane & 3) + 8 * r; }

// B fragment read from a tile stored [k][n] (V: keys × dims): k-step kk, n-tile n, register r ∈ {0, 1},
// element e ∈ {0, 1} (the two elements sit one row apart).
HPLB_HD int bOffsetKN(int kk, int n, int r, int e, int lane, int LD) {
  return (kk * 16 + 2 * (lane & 3) + e + 8 * r) * LD + n * 8 + (lane >> 2);
}

// ldmatrix.x4 row address (lane l gives row l % 8 of matrix l / 8) for the B fragments of K ([n][k]): n-tile j,
// k-steps ks and ks + 1; registers come back as (b0, b1) of ks, then (b0, b1) of ks + 1.
HPLB_HD int ldmatrixK(int j, int ks, int lane, int LD) { return (j * 8 + (lane & 7)) * LD + ks * 16 + (lane >> 3) * 8; }

// ldmatrix.x4.trans row address for the B fragments of V ([k][n]): k-step kk, n-tiles n and n + 1; registers come
// back as (b0, b1) of n-tile n, then (b0, b1) of n-tile n + 1.
HPLB_HD int ldmatrixV(int kk, int n, int lane, int LD) {
  return (kk * 16 + ((lane >> 3) & 1) * 8 + (lane & 7)) * LD + ((lane >> 3) >> 1) * 8 + n * 8;
}

// P·V reuses S's C fragments as A fragments: register r of k-step kk packs C elements (pElem, pElem + 1) of
// S n-tile pTile (C layout: elements 0, 1 on row g, 2, 3 on row g + 8, at cols 2c, 2c + 1).
HPLB_HD int pTile(int kk, int r) { return 2 * kk + (r >> 1); }
HPLB_HD int pElem(int r) { return 2 * (r & 1); }

}  // namespace frag
}  // namespace hplb
