// The CUDA kernels' host-side interface: launch records and launchers, shared by kernels.cu (nvcc) and
// addon.cc (the Node-API binding, compiled by the host C++ compiler). Pointers in the records are device pointers;
// every launcher enqueues on the given stream and returns the launch's cudaError_t (never synchronizes).
// Dimension letters follow core/src/kernel/types.ts: N tokens, d head dim, B block size, Qb = Kb = ceil(N / B).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

namespace hplb {

enum class Precision : int { fp32 = 0, fp16 = 1, bf16 = 2 };

// Tensor-core attention kernel: `pipelined` (cp.async double-buffered K/V, ldmatrix fragments; needs d = 32/64/128)
// or `simple` (synchronous loads, scalar fragment loads; any d ≤ 128). Same tiles, same results up to rounding order.
enum class Variant : int { pipelined = 0, simple = 1 };

// Largest head dim per path: the tensor-core path pads d up to 32/64/128; the fp32 path keeps d/32 values per lane.
constexpr int kMaxHeadDimMma = 128;
constexpr int kMaxHeadDimF32 = 256;

// Query rows per CTA for a block size: one CTA never spans two query blocks (they attend to different key blocks).
int tileRows(int blockSize);

// One CTA's work: rows [rowStart, rowEnd) of head `head`, all inside one query block; output row `outRow` onward.
struct WorkItem {
  int32_t head;
  int32_t rowStart;
  int32_t rowEnd;
  int32_t outRow;
};

struct AttentionLaunch {
  // fp32 inputs [H][N][d] (fp32 precision) or 16-bit copies of the same shape (fp16 / bf16).
  const void* q;
  const void* k;
  const void* v;
  // CSR layouts of all heads: offsets [H][Qb + 1] index `indices` directly (already rebased per head).
  const int32_t* offsets;
  const int32_t* indices;
  const WorkItem* items;
  int itemCount;
  float* out;  // [Σ rows × d]
  float* lse;  // [Σ rows]
  int tokens;
  int headDim;
  int blockSize;
  int blocks;
  bool causal;
  float scale;
  Precision precision;
  Variant variant;
};

struct BlockMassLaunch {
  const void* q;  // [N][d], fp32 or 16-bit as `precision` says
  const void* k;
  const WorkItem* items;  // query tiles of head 0 covering every row
  int itemCount;
  float* rowLse2;  // scratch [N]: per-row log2-sum-exp of the scaled scores
  float* mass;     // [Qb][Kb], zeroed by the launcher
  int tokens;
  int headDim;
  int blockSize;
  int blocks;
  bool causal;
  float scale;
  Precision precision;
  Variant variant;
};

// float -> fp16 / bf16 (round to nearest even), n elements.
cudaError_t launchConvert(const float* src, void* dst, size_t n, Precision p, cudaStream_t stream);
cudaError_t launchSparseAttention(const AttentionLaunch& a, cudaStream_t stream);
cudaError_t launchBlockMass(const BlockMassLaunch& a, cudaStream_t stream);

}  // namespace hplb
