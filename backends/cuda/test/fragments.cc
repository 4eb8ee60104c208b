// Host check of the tensor-core kernels' fragment addressing (src/fragments.h), run by test/fragments.test.ts.
// It emulates, for one warp, what the kernels do with shared-memory tiles: ldmatrix (.x4, plain and .trans) and
// mma.sync.m16n8k16 with the fragment layouts of the PTX ISA (A row-major, B column-major, C/D), feeding them the
// offsets from fragments.h exactly as kernels.cu does (simple and pipelined variants), and checks that the results
// equal S = Q·Kᵀ and O = P·V computed directly. Small integer inputs keep every product and sum exact.
// Prints one line per check; exit status 0 when all hold.
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "../src/fragments.h"

using hplb::frag::aOffset;
using hplb::frag::bOffsetKN;
using hplb::frag::bOffsetNK;
using hplb::frag::ldmatrixK;
using hplb::frag::ldmatrixV;
using hplb::frag::pElem;
using hplb::frag::pTile;

namespace {

constexpr int kLanes = 32;
struct Pair {
  float lo, hi;  // a 32-bit register holding two 16-bit values: lo = bits 0-15
};

// PTX ISA, "Matrix Fragments for mma.m16n8k16" (16-bit A/B, f32 C/D). groupID = lane >> 2, tig = lane % 4.
// A (16 × 16): a_i, i = 0..7 (register i / 2, half i % 2): row = groupID + 8·((i / 2) % 2), col = 2·tig + i % 2 + 8·(i / 4).
int aRow(int lane, int i) { return (lane >> 2) + 8 * ((i / 2) % 2); }
int aCol(int lane, int i) { return 2 * (lane & 3) + (i % 2) + 8 * (i / 4); }
// B (16 × 8): b_i, i = 0..3: row (k) = 2·tig + i % 2 + 8·(i / 2), col (n) = groupID.
int bRow(int lane, int i) { return 2 * (lane & 3) + (i % 2) + 8 * (i / 2); }
int bCol(int lane, int /*i*/) { return lane >> 2; }
// C/D (16 × 8): c_i, i = 0..3: row = groupID + 8·(i / 2), col = 2·tig + i % 2.
int cRow(int lane, int i) { return (lane >> 2) + 8 * (i / 2); }
int cCol(int lane, int i) { return 2 * (lane & 3) + (i % 2); }

// mma.sync.m16n8k16: every lane's registers, as the hardware sees them.
void mma(float (&c)[kLanes][4], const Pair (&a)[kLanes][4], const Pair (&b)[kLanes][2]) {
  float A[16][16], B[16][8];
  for (int l = 0; l < kLanes; ++l) {
    for (int i = 0; i < 8; ++i) A[aRow(l, i)][aCol(l, i)] = (i % 2 == 0) ? a[l][i / 2].lo : a[l][i / 2].hi;
    for (int i = 0; i < 4; ++i) B[bRow(l, i)][bCol(l, i)] = (i % 2 == 0) ? b[l][i / 2].lo : b[l][i / 2].hi;
  }
  for (int l = 0; l < kLanes; ++l)
    for (int i = 0; i < 4; ++i) {
      float s = 0;
      for (int k = 0; k < 16; ++k) s += A[cRow(l, i)][k] * B[k][cCol(l, i)];
      c[l][i] += s;
    }
}

// ldmatrix.sync.aligned.m8n8.x4(.trans).b16: lanes 8m..8m+7 give the row addresses of matrix m; lane t receives,
// per matrix, elements (t / 4, 2·(t % 4)) and (t / 4, 2·(t % 4) + 1) — of the transposed matrix with .trans.
void ldmatrix(Pair (&out)[kLanes][4], const std::vector<float>& smem, const int (&addr)[kLanes], bool trans) {
  for (int m = 0; m < 4; ++m)
    for (int t = 0; t < kLanes; ++t) {
      const int r = t / 4, c0 = 2 * (t % 4);
      if (!trans) out[t][m] = {smem[addr[8 * m + r] + c0], smem[addr[8 * m + r] + c0 + 1]};
      else out[t][m] = {smem[addr[8 * m + c0] + r], smem[addr[8 * m + c0 + 1] + r]};
    }
}

int failures = 0;
void expect(const char* what, bool ok) {
  std::printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  if (!ok) ++failures;
}

void run(int D, bool pipelined) {
  const int LD = D + 8, KEYS = 64, ROWS = 16;
  // Q: 16 rows of the warp (rows 0..15 of the tile), K and V: a 64-key chunk; small integers, exact in fp32.
  std::vector<float> sQ(ROWS * LD, 0.f), sK(KEYS * LD, 0.f), sV(KEYS * LD, 0.f);
  unsigned seed = 12345u + D * 7u + (pipelined ? 1u : 0u);
  auto next = [&]() { seed = seed * 1103515245u + 12345u; return (int)((seed >> 16) % 7) - 3; };
  for (int r = 0; r < ROWS; ++r) for (int t = 0; t < D; ++t) sQ[r * LD + t] = (float)next();
  for (int j = 0; j < KEYS; ++j) for (int t = 0; t < D; ++t) { sK[j * LD + t] = (float)next(); sV[j * LD + t] = (float)next(); }

  // Q fragments, as loadQFragments (warp row offset 0).
  std::vector<Pair> qf((size_t)kLanes * (D / 16) * 4);
  auto Qf = [&](int lane, int ks, int r) -> Pair& { return qf[((size_t)lane * (D / 16) + ks) * 4 + r]; };
  for (int l = 0; l < kLanes; ++l)
    for (int ks = 0; ks < D / 16; ++ks)
      for (int r = 0; r < 4; ++r) {
        const int o = ks * 16 + aOffset(r, l, LD);
        Qf(l, ks, r) = {sQ[o], sQ[o + 1]};
      }

  // S = Q·Kᵀ, 8 n-tiles of 8 keys.
  float s[8][kLanes][4] = {};
  for (int j = 0; j < 8; ++j)
    for (int ks = 0; ks < D / 16; ks += (pipelined ? 2 : 1)) {
      Pair a0[kLanes][4], a1[kLanes][4], b0[kLanes][2], b1[kLanes][2];
      for (int l = 0; l < kLanes; ++l)
        for (int r = 0; r < 4; ++r) {
          a0[l][r] = Qf(l, ks, r);
          if (pipelined) a1[l][r] = Qf(l, ks + 1, r);
        }
      if (pipelined) {
        int addr[kLanes];
        for (int l = 0; l < kLanes; ++l) addr[l] = ldmatrixK(j, ks, l, LD);
        Pair b[kLanes][4];
        ldmatrix(b, sK, addr, false);
        for (int l = 0; l < kLanes; ++l) { b0[l][0] = b[l][0]; b0[l][1] = b[l][1]; b1[l][0] = b[l][2]; b1[l][1] = b[l][3]; }
        mma(s[j], a0, b0);
        mma(s[j], a1, b1);
      } else {
        for (int l = 0; l < kLanes; ++l)
          for (int r = 0; r < 2; ++r) {
            const int o = bOffsetNK(j, ks, r, l, LD);
            b0[l][r] = {sK[o], sK[o + 1]};
          }
        mma(s[j], a0, b0);
      }
    }
  bool sOk = true;
  for (int j = 0; j < 8; ++j)
    for (int l = 0; l < kLanes; ++l)
      for (int i = 0; i < 4; ++i) {
        const int row = cRow(l, i), key = j * 8 + cCol(l, i);
        float want = 0;
        for (int t = 0; t < D; ++t) want += sQ[row * LD + t] * sK[key * LD + t];
        if (s[j][l][i] != want) sOk = false;
      }
  char what[160];
  std::snprintf(what, sizeof what, "S = Q·Kᵀ (d = %d, %s fragments)", D, pipelined ? "ldmatrix" : "plain");
  expect(what, sOk);

  // O = P·V with P = S (the kernels repack S's C fragments as A fragments; softmax does not move values).
  std::vector<float> o((size_t)(D / 8) * kLanes * 4, 0.f);
  auto O = [&](int n, int l) { return reinterpret_cast<float(*)[4]>(&o[((size_t)n * kLanes + l) * 4]); };
  for (int kk = 0; kk < 4; ++kk) {
    Pair a[kLanes][4];
    for (int l = 0; l < kLanes; ++l)
      for (int r = 0; r < 4; ++r) a[l][r] = {s[pTile(kk, r)][l][pElem(r)], s[pTile(kk, r)][l][pElem(r) + 1]};
    for (int n = 0; n < D / 8; n += (pipelined ? 2 : 1)) {
      Pair b0[kLanes][2], b1[kLanes][2];
      if (pipelined) {
        int addr[kLanes];
        for (int l = 0; l < kLanes; ++l) addr[l] = ldmatrixV(kk, n, l, LD);
        Pair b[kLanes][4];
        ldmatrix(b, sV, addr, true);
        for (int l = 0; l < kLanes; ++l) { b0[l][0] = b[l][0]; b0[l][1] = b[l][1]; b1[l][0] = b[l][2]; b1[l][1] = b[l][3]; }
      } else {
        for (int l = 0; l < kLanes; ++l)
          for (int r = 0; r < 2; ++r) b0[l][r] = {sV[bOffsetKN(kk, n, r, 0, l, LD)], sV[bOffsetKN(kk, n, r, 1, l, LD)]};
      }
      float c0[kLanes][4], c1[kLanes][4];
      for (int l = 0; l < kLanes; ++l) for (int i = 0; i < 4; ++i) { c0[l][i] = O(n, l)[0][i]; c1[l][i] = pipelined ? O(n + 1, l)[0][i] : 0.f; }
      mma(c0, a, b0);
      if (pipelined) mma(c1, a, b1);
      for (int l = 0; l < kLanes; ++l) for (int i = 0; i < 4; ++i) { O(n, l)[0][i] = c0[l][i]; if (pipelined) O(n + 1, l)[0][i] = c1[l][i]; }
    }
  }
  bool oOk = true;
  for (int n = 0; n < D / 8; ++n)
    for (int l = 0; l < kLanes; ++l)
      for (int i = 0; i < 4; ++i) {
        const int row = cRow(l, i), col = n * 8 + cCol(l, i);
        float want = 0;
        for (int key = 0; key < KEYS; ++key) {
          float srow = 0;
          for (int t = 0; t < D; ++t) srow += sQ[row * LD + t] * sK[key * LD + t];
          want += srow * sV[key * LD + col];
        }
        if (O(n, l)[0][i] != want) oOk = false;
      }
  std::snprintf(what, sizeof what, "O = P·V (d = %d, %s fragments)", D, pipelined ? "ldmatrix.trans" : "plain");
  expect(what, oOk);
}

}  // namespace

int main() {
  for (int D : {32, 64, 128})
    for (bool pipelined : {false, true}) run(D, pipelined);
  std::printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
