// The Node-API binding of @hplb/backend-cuda (node-addon-api): device discovery, and a Context per device that owns
// a CUDA stream, timing events and grow-only device buffers, and runs blockMass / sparseAttention synchronously.
// Its JS surface is typed by `CudaBinding` in src/binding.ts; the backend (src/backend.ts) is the only caller.
//
// Every argument is re-checked here before anything touches the device (shapes, CSR bounds, work items), so a
// caller bypassing the TypeScript layer still cannot make a kernel read out of bounds. Failures throw a JS Error:
// CUDA failures carry `cudaCode` (the cudaError_t number) and `cudaName`; argument failures carry `argument`.
#include <napi.h>

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels.h"

namespace {

using hplb::Precision;

// ------------------------------------------------------------------------------------------------ errors

Napi::Error cudaError(Napi::Env env, cudaError_t err, const std::string& what) {
  const std::string name = cudaGetErrorName(err);
  const std::string text = cudaGetErrorString(err);
  Napi::Error e = Napi::Error::New(env, what + ": error " + std::to_string((int)err) + " " + name + ": " + text);
  e.Value().Set("cudaCode", Napi::Number::New(env, (int)err));
  e.Value().Set("cudaName", Napi::String::New(env, name));
  e.Value().Set("operation", Napi::String::New(env, what));
  return e;
}

// Clear the sticky "last error" so a failed call does not poison the next one (non-sticky errors only).
void check(Napi::Env env, cudaError_t err, const char* what) {
  if (err != cudaSuccess) {
    (void)cudaGetLastError();
    throw cudaError(env, err, what);
  }
}

Napi::Error argError(Napi::Env env, const std::string& path, const std::string& expected) {
  Napi::Error e = Napi::TypeError::New(env, "at " + path + ": expected " + expected);
  e.Value().Set("argument", Napi::String::New(env, path));
  return e;
}

// ------------------------------------------------------------------------------------------------ argument access

int intField(Napi::Env env, const Napi::Object& o, const char* key, int lo, int hi) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw argError(env, std::string("$.") + key, "an integer");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d != (double)(int64_t)d || d < lo || d > hi)
    throw argError(env, std::string("$.") + key, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return (int)d;
}

float floatField(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw argError(env, std::string("$.") + key, "a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d > 0.0) || !(d < 1e30)) throw argError(env, std::string("$.") + key, "a finite positive number");
  return (float)d;
}

bool boolField(Napi::Env env, const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) throw argError(env, std::string("$.") + key, "true or false");
  return v.As<Napi::Boolean>().Value();
}

Precision precisionField(Napi::Env env, const Napi::Object& o) {
  Napi::Value v = o.Get("precision");
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "fp32") return Precision::fp32;
  if (s == "fp16") return Precision::fp16;
  if (s == "bf16") return Precision::bf16;
  throw argError(env, "$.precision", "one of fp32|fp16|bf16");
}

hplb::Variant variantField(Napi::Env env, const Napi::Object& o) {
  Napi::Value v = o.Get("kernel");
  if (v.IsUndefined()) return hplb::Variant::pipelined;
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "pipelined") return hplb::Variant::pipelined;
  if (s == "simple") return hplb::Variant::simple;
  throw argError(env, "$.kernel", "pipelined or simple");
}

template <typename A>
A typedField(Napi::Env env, const Napi::Value& v, const std::string& path, napi_typedarray_type type, size_t length,
             const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
    throw argError(env, path, std::string("a ") + what);
  A a = v.As<A>();
  if (length != SIZE_MAX && a.ElementLength() != length)
    throw argError(env, path, std::string("a ") + what + " of length " + std::to_string(length) + ", got " +
                                  std::to_string(a.ElementLength()));
  return a;
}

// ------------------------------------------------------------------------------------------------ device memory

// A grow-only device allocation: reused across calls, reallocated only when a call needs more.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { release(); }
  void* ensure(Napi::Env env, size_t bytes, const char* what) {
    if (bytes <= capacity_) return ptr_;
    release();
    void* p = nullptr;
    check(env, cudaMalloc(&p, bytes), what);
    ptr_ = p;
    capacity_ = bytes;
    return ptr_;
  }
  void release() {
    if (ptr_ != nullptr) cudaFree(ptr_);
    ptr_ = nullptr;
    capacity_ = 0;
  }
  void* get() const { return ptr_; }

 private:
  void* ptr_ = nullptr;
  size_t capacity_ = 0;
};

size_t elementBytes(Precision p) { return p == Precision::fp32 ? 4 : 2; }

// Work items for one head's rows [start, end): tiles of ≤ tileRows rows that never cross a query block.
void appendItems(std::vector<hplb::WorkItem>& items, int head, int start, int end, int outBase, int blockSize,
                 int tileRows) {
  for (int r = start; r < end;) {
    const int qbEnd = (r / blockSize + 1) * blockSize;
    const int stop = std::min({r + tileRows, qbEnd, end});
    items.push_back({head, r, stop, outBase + (r - start)});
    r = stop;
  }
}

// ------------------------------------------------------------------------------------------------ Context

class Context : public Napi::ObjectWrap<Context> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Context",
                       {InstanceMethod("info", &Context::Info), InstanceMethod("blockMass", &Context::BlockMass),
                        InstanceMethod("sparseAttention", &Context::SparseAttention),
                        InstanceMethod("close", &Context::Close)});
  }

  explicit Context(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Context>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) throw argError(env, "$.device", "a device index");
    device_ = info[0].As<Napi::Number>().Int32Value();
    int count = 0;
    check(env, cudaGetDeviceCount(&count), "cudaGetDeviceCount");
    if (device_ < 0 || device_ >= count)
      throw argError(env, "$.device", "a device index in [0, " + std::to_string(count) + ")");
    check(env, cudaSetDevice(device_), "cudaSetDevice");
    check(env, cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
    check(env, cudaEventCreate(&start_), "cudaEventCreate");
    check(env, cudaEventCreate(&stop_), "cudaEventCreate");
    open_ = true;
  }

  ~Context() override { release(); }

 private:
  void release() {
    if (!open_) return;
    open_ = false;
    cudaSetDevice(device_);
    for (DeviceBuffer* b : {&q_, &k_, &v_, &staging_, &offsets_, &indices_, &items_, &out_, &lse_, &mass_, &rowLse_})
      b->release();
    if (start_ != nullptr) cudaEventDestroy(start_);
    if (stop_ != nullptr) cudaEventDestroy(stop_);
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
    start_ = stop_ = nullptr;
    stream_ = nullptr;
  }

  void requireOpen(Napi::Env env) {
    if (!open_) throw argError(env, "$", "an open CUDA context (this one was closed)");
    check(env, cudaSetDevice(device_), "cudaSetDevice");
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    requireOpen(env);
    cudaDeviceProp prop{};
    check(env, cudaGetDeviceProperties(&prop, device_), "cudaGetDeviceProperties");
    int driver = 0, runtime = 0;
    check(env, cudaDriverGetVersion(&driver), "cudaDriverGetVersion");
    check(env, cudaRuntimeGetVersion(&runtime), "cudaRuntimeGetVersion");
    size_t freeBytes = 0, totalBytes = 0;
    check(env, cudaMemGetInfo(&freeBytes, &totalBytes), "cudaMemGetInfo");
    Napi::Object o = Napi::Object::New(env);
    o.Set("device", device_);
    o.Set("name", std::string(prop.name));
    o.Set("computeCapability", std::to_string(prop.major) + "." + std::to_string(prop.minor));
    o.Set("multiProcessors", prop.multiProcessorCount);
    o.Set("totalMemoryBytes", (double)totalBytes);
    o.Set("freeMemoryBytes", (double)freeBytes);
    o.Set("sharedMemoryPerBlockOptin", (double)prop.sharedMemPerBlockOptin);
    o.Set("driverVersion", driver);
    o.Set("runtimeVersion", runtime);
    return o;
  }

  // Upload one head's fp32 tensor into `dst` (fp32) or, through the staging buffer, as fp16/bf16.
  void upload(Napi::Env env, const Napi::Float32Array& src, DeviceBuffer& dst, size_t elemOffset, Precision p) {
    const size_t n = src.ElementLength();
    if (p == Precision::fp32) {
      check(env,
            cudaMemcpyAsync(static_cast<float*>(dst.get()) + elemOffset, src.Data(),
                            n * sizeof(float), cudaMemcpyHostToDevice, stream_),
            "cudaMemcpyAsync(host to device)");
      return;
    }
    float* stage = static_cast<float*>(staging_.ensure(env, n * sizeof(float), "cudaMalloc(staging)"));
    check(env, cudaMemcpyAsync(stage, src.Data(), n * sizeof(float), cudaMemcpyHostToDevice, stream_),
          "cudaMemcpyAsync(host to device)");
    uint16_t* out = static_cast<uint16_t*>(dst.get()) + elemOffset;
    check(env, hplb::launchConvert(stage, out, n, p, stream_), "convert kernel launch");
  }

  struct Common {
    int tokens, headDim, blockSize, blocks;
    bool causal;
    float scale;
    Precision precision;
  };

  Common readCommon(Napi::Env env, const Napi::Object& req) {
    Common c{};
    c.tokens = intField(env, req, "tokens", 1, 1 << 30);
    c.precision = precisionField(env, req);
    const int maxD = c.precision == Precision::fp32 ? hplb::kMaxHeadDimF32 : hplb::kMaxHeadDimMma;
    c.headDim = intField(env, req, "headDim", 1, maxD);
    c.blockSize = intField(env, req, "blockSize", 1, 1 << 20);
    if (c.precision != Precision::fp32 && c.blockSize % 16 != 0)
      throw argError(env, "$.blockSize", "a multiple of 16 for fp16/bf16 (tensor-core tiles)");
    c.blocks = intField(env, req, "blocks", 1, 1 << 30);
    if (c.blocks != (c.tokens + c.blockSize - 1) / c.blockSize)
      throw argError(env, "$.blocks", "ceil(tokens / blockSize) = " +
                                          std::to_string((c.tokens + c.blockSize - 1) / c.blockSize));
    c.causal = boolField(env, req, "causal");
    c.scale = floatField(env, req, "scale");
    if ((double)c.tokens * c.headDim >= 2147483647.0) throw argError(env, "$.tokens", "tokens × headDim < 2^31");
    return c;
  }

  Napi::Object finishTiming(Napi::Env env, Napi::Object result, double hostStart) {
    float kernelMs = 0.f;
    check(env, cudaEventElapsedTime(&kernelMs, start_, stop_), "cudaEventElapsedTime");
    const double now = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
    result.Set("kernelMs", kernelMs);
    result.Set("totalMs", now - hostStart);
    return result;
  }

  static double nowMs() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }

  // req: { q, k: Float32Array[N·d], tokens, headDim, blockSize, blocks, causal, scale, precision, kernel? }
  // -> { mass: Float32Array[Qb·Kb], kernelMs, totalMs }
  Napi::Value BlockMass(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    requireOpen(env);
    if (info.Length() < 1 || !info[0].IsObject()) throw argError(env, "$", "a request object");
    const double t0 = nowMs();
    Napi::Object req = info[0].As<Napi::Object>();
    const Common c = readCommon(env, req);
    const size_t nd = (size_t)c.tokens * c.headDim;
    auto q = typedField<Napi::Float32Array>(env, req.Get("q"), "$.q", napi_float32_array, nd, "Float32Array");
    auto k = typedField<Napi::Float32Array>(env, req.Get("k"), "$.k", napi_float32_array, nd, "Float32Array");
    std::vector<hplb::WorkItem> items;
    appendItems(items, 0, 0, c.tokens, 0, c.blockSize, hplb::tileRows(c.blockSize));
    const size_t eb = elementBytes(c.precision);
    q_.ensure(env, nd * eb, "cudaMalloc(q)");
    k_.ensure(env, nd * eb, "cudaMalloc(k)");
    upload(env, q, q_, 0, c.precision);
    upload(env, k, k_, 0, c.precision);
    void* dItems = items_.ensure(env, items.size() * sizeof(hplb::WorkItem), "cudaMalloc(items)");
    check(env, cudaMemcpyAsync(dItems, items.data(), items.size() * sizeof(hplb::WorkItem), cudaMemcpyHostToDevice, stream_),
          "cudaMemcpyAsync(items)");
    const size_t massLen = (size_t)c.blocks * c.blocks;
    float* dMass = static_cast<float*>(mass_.ensure(env, massLen * sizeof(float), "cudaMalloc(mass)"));
    float* dRowLse = static_cast<float*>(rowLse_.ensure(env, (size_t)c.tokens * sizeof(float), "cudaMalloc(rowLse)"));

    hplb::BlockMassLaunch l{};
    l.q = q_.get();
    l.k = k_.get();
    l.items = static_cast<const hplb::WorkItem*>(dItems);
    l.itemCount = (int)items.size();
    l.rowLse2 = dRowLse;
    l.mass = dMass;
    l.tokens = c.tokens;
    l.headDim = c.headDim;
    l.blockSize = c.blockSize;
    l.blocks = c.blocks;
    l.causal = c.causal;
    l.scale = c.scale;
    l.precision = c.precision;
    l.variant = variantField(env, req);
    check(env, cudaEventRecord(start_, stream_), "cudaEventRecord");
    check(env, hplb::launchBlockMass(l, stream_), "blockMass kernel launch");
    check(env, cudaEventRecord(stop_, stream_), "cudaEventRecord");
    Napi::Float32Array mass = Napi::Float32Array::New(env, massLen);
    check(env, cudaMemcpyAsync(mass.Data(), dMass, massLen * sizeof(float), cudaMemcpyDeviceToHost, stream_),
          "cudaMemcpyAsync(device to host)");
    check(env, cudaStreamSynchronize(stream_), "blockMass kernel");
    Napi::Object result = Napi::Object::New(env);
    result.Set("mass", mass);
    return finishTiming(env, result, t0);
  }

  // req: { heads: H, q, k, v: Float32Array[N·d][H], offsets: Int32Array[H·(Qb+1)] (rebased into indices),
  //        indices: Int32Array, rowStart, rowEnd: Int32Array[H], tokens, headDim, blockSize, blocks, causal,
  //        scale, precision, kernel?: "pipelined" | "simple" }
  // -> { out: Float32Array[Σ rows · d], lse: Float32Array[Σ rows], kernelMs, totalMs, items }
  Napi::Value SparseAttention(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    requireOpen(env);
    if (info.Length() < 1 || !info[0].IsObject()) throw argError(env, "$", "a request object");
    const double t0 = nowMs();
    Napi::Object req = info[0].As<Napi::Object>();
    const Common c = readCommon(env, req);
    const int H = intField(env, req, "heads", 1, 1 << 20);
    const hplb::Variant variant = variantField(env, req);
    const size_t nd = (size_t)c.tokens * c.headDim;
    std::vector<Napi::Float32Array> qs, ks, vs;
    for (const char* name : {"q", "k", "v"}) {
      Napi::Value arr = req.Get(name);
      if (!arr.IsArray() || arr.As<Napi::Array>().Length() != (uint32_t)H)
        throw argError(env, std::string("$.") + name, "an array of " + std::to_string(H) + " Float32Arrays");
      Napi::Array a = arr.As<Napi::Array>();
      auto& dst = name[0] == 'q' ? qs : name[0] == 'k' ? ks : vs;
      for (int h = 0; h < H; ++h)
        dst.push_back(typedField<Napi::Float32Array>(env, a.Get(h), std::string("$.") + name + "[" + std::to_string(h) + "]",
                                                     napi_float32_array, nd, "Float32Array"));
    }
    const int Qb = c.blocks;
    auto offsets = typedField<Napi::Int32Array>(env, req.Get("offsets"), "$.offsets", napi_int32_array,
                                                (size_t)H * (Qb + 1), "Int32Array");
    auto indices = typedField<Napi::Int32Array>(env, req.Get("indices"), "$.indices", napi_int32_array, SIZE_MAX,
                                                "Int32Array");
    auto rowStart = typedField<Napi::Int32Array>(env, req.Get("rowStart"), "$.rowStart", napi_int32_array, H, "Int32Array");
    auto rowEnd = typedField<Napi::Int32Array>(env, req.Get("rowEnd"), "$.rowEnd", napi_int32_array, H, "Int32Array");
    // CSR bounds: every offset inside indices and non-decreasing, every index a valid key block.
    const int32_t* off = offsets.Data();
    const int64_t nnz = (int64_t)indices.ElementLength();
    for (int h = 0; h < H; ++h) {
      for (int qb = 0; qb <= Qb; ++qb) {
        const int32_t o = off[(size_t)h * (Qb + 1) + qb];
        if (o < 0 || o > nnz || (qb > 0 && o < off[(size_t)h * (Qb + 1) + qb - 1]))
          throw argError(env, "$.offsets[" + std::to_string((size_t)h * (Qb + 1) + qb) + "]",
                         "non-decreasing offsets within [0, indices.length]");
      }
    }
    const int32_t* idx = indices.Data();
    for (int64_t e = 0; e < nnz; ++e)
      if (idx[e] < 0 || idx[e] >= Qb)
        throw argError(env, "$.indices[" + std::to_string(e) + "]", "a key block in [0, " + std::to_string(Qb) + ")");
    // Work items, heaviest query blocks first so long rows do not trail the grid.
    std::vector<hplb::WorkItem> items;
    int64_t outRows = 0;
    const int tile = hplb::tileRows(c.blockSize);
    for (int h = 0; h < H; ++h) {
      const int s = rowStart.Data()[h], e = rowEnd.Data()[h];
      if (s < 0 || e > c.tokens || s >= e)
        throw argError(env, "$.rowStart[" + std::to_string(h) + "]", "0 ≤ rowStart < rowEnd ≤ tokens");
      appendItems(items, h, s, e, (int)outRows, c.blockSize, tile);
      outRows += e - s;
      if (outRows * c.headDim >= 2147483647LL) throw argError(env, "$.rowEnd", "Σ rows × headDim < 2^31");
    }
    auto weight = [&](const hplb::WorkItem& w) {
      const size_t base = (size_t)w.head * (Qb + 1) + w.rowStart / c.blockSize;
      return off[base + 1] - off[base];
    };
    std::stable_sort(items.begin(), items.end(),
                     [&](const hplb::WorkItem& a, const hplb::WorkItem& b) { return weight(a) > weight(b); });

    const size_t eb = elementBytes(c.precision);
    q_.ensure(env, nd * H * eb, "cudaMalloc(q)");
    k_.ensure(env, nd * H * eb, "cudaMalloc(k)");
    v_.ensure(env, nd * H * eb, "cudaMalloc(v)");
    for (int h = 0; h < H; ++h) {
      upload(env, qs[h], q_, nd * h, c.precision);
      upload(env, ks[h], k_, nd * h, c.precision);
      upload(env, vs[h], v_, nd * h, c.precision);
    }
    void* dOff = offsets_.ensure(env, offsets.ElementLength() * 4, "cudaMalloc(offsets)");
    void* dIdx = indices_.ensure(env, std::max<size_t>(4, (size_t)nnz * 4), "cudaMalloc(indices)");
    void* dItems = items_.ensure(env, std::max<size_t>(1, items.size()) * sizeof(hplb::WorkItem), "cudaMalloc(items)");
    check(env, cudaMemcpyAsync(dOff, off, offsets.ElementLength() * 4, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync(offsets)");
    if (nnz > 0)
      check(env, cudaMemcpyAsync(dIdx, idx, (size_t)nnz * 4, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync(indices)");
    check(env, cudaMemcpyAsync(dItems, items.data(), items.size() * sizeof(hplb::WorkItem), cudaMemcpyHostToDevice, stream_),
          "cudaMemcpyAsync(items)");
    float* dOut = static_cast<float*>(out_.ensure(env, (size_t)outRows * c.headDim * sizeof(float), "cudaMalloc(out)"));
    float* dLse = static_cast<float*>(lse_.ensure(env, (size_t)outRows * sizeof(float), "cudaMalloc(lse)"));

    hplb::AttentionLaunch l{};
    l.q = q_.get();
    l.k = k_.get();
    l.v = v_.get();
    l.offsets = static_cast<const int32_t*>(dOff);
    l.indices = static_cast<const int32_t*>(dIdx);
    l.items = static_cast<const hplb::WorkItem*>(dItems);
    l.itemCount = (int)items.size();
    l.out = dOut;
    l.lse = dLse;
    l.tokens = c.tokens;
    l.headDim = c.headDim;
    l.blockSize = c.blockSize;
    l.blocks = c.blocks;
    l.causal = c.causal;
    l.scale = c.scale;
    l.precision = c.precision;
    l.variant = variant;
    check(env, cudaEventRecord(start_, stream_), "cudaEventRecord");
    check(env, hplb::launchSparseAttention(l, stream_), "sparseAttention kernel launch");
    check(env, cudaEventRecord(stop_, stream_), "cudaEventRecord");
    Napi::Float32Array out = Napi::Float32Array::New(env, (size_t)outRows * c.headDim);
    Napi::Float32Array lse = Napi::Float32Array::New(env, (size_t)outRows);
    check(env, cudaMemcpyAsync(out.Data(), dOut, out.ElementLength() * sizeof(float), cudaMemcpyDeviceToHost, stream_),
          "cudaMemcpyAsync(device to host)");
    check(env, cudaMemcpyAsync(lse.Data(), dLse, lse.ElementLength() * sizeof(float), cudaMemcpyDeviceToHost, stream_),
          "cudaMemcpyAsync(device to host)");
    check(env, cudaStreamSynchronize(stream_), "sparseAttention kernel");
    Napi::Object result = Napi::Object::New(env);
    result.Set("out", out);
    result.Set("lse", lse);
    result.Set("items", (double)items.size());
    return finishTiming(env, result, t0);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    release();
    return info.Env().Undefined();
  }

  int device_ = 0;
  bool open_ = false;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
  DeviceBuffer q_, k_, v_, staging_, offsets_, indices_, items_, out_, lse_, mass_, rowLse_;
};

// ------------------------------------------------------------------------------------------------ module

// deviceCount(): number of CUDA devices; throws (with cudaCode) when the runtime cannot start (no driver: 35).
Napi::Value DeviceCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int count = 0;
  check(env, cudaGetDeviceCount(&count), "cudaGetDeviceCount");
  return Napi::Number::New(env, count);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("deviceCount", Napi::Function::New(env, DeviceCount, "deviceCount"));
  exports.Set("Context", Context::Define(env));
  Napi::Object build = Napi::Object::New(env);
  build.Set("cudaRuntime", CUDART_VERSION);
  build.Set("archs", HPLB_CUDA_ARCHS);
  build.Set("maxHeadDimMma", hplb::kMaxHeadDimMma);
  build.Set("maxHeadDimFp32", hplb::kMaxHeadDimF32);
  exports.Set("build", build);
  return exports;
}

}  // namespace

NODE_API_MODULE(hplb_cuda, Init)
