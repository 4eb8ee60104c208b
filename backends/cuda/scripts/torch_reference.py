#!/usr/bin/env python3
"""PyTorch baselines for the CUDA backend's benchmark (issue [cuda]), run on the GPU machine by device-check.sh.

Reads the manifest and CSR layouts that bench-cuda.ts wrote (same N, d, B, heads, causal, precision) and times,
with CUDA events and the inputs already on the GPU:
  - dense causal attention through torch.nn.functional.scaled_dot_product_attention forced to the FLASH backend
    (FlashAttention-2 kernels), at the benchmark's head count and at one head (the blockMass comparison);
  - FlexAttention (torch.compile'd flex_attention) with the IDENTICAL block mask: a BlockMask built directly from
    each CSR layout (off-diagonal blocks "full", the diagonal block "partial" with the causal mask_mod), at the
    layout's block size (64), with kernel tiles of 64 when the default tiles do not divide it.
The first (compile / warm-up) call is reported apart from the median of the steady calls. As a check that the
block mask is built right, the dense layout's FlexAttention output is compared with SDPA-FLASH's.

  python3 torch_reference.py --manifest DIR/manifest.json --out DIR/torch.json [--reps 5] [--max-tokens N]
  python3 torch_reference.py --manifest DIR/manifest.json --out DIR/torch.json --dry-run   # no torch, no GPU

--dry-run parses the arguments and the manifest, checks every layout file is a valid causal CSR layout of the
declared shape, prints the planned runs and writes nothing; it never imports torch.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from typing import Any, Callable, Dict, List


def parse_args(argv: List[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="SDPA-FLASH and FlexAttention baselines for hplb's CUDA benchmark")
    p.add_argument("--manifest", required=True, help="manifest.json written by bench-cuda.ts")
    p.add_argument("--out", required=True, help="where to write the JSON results")
    p.add_argument("--reps", type=int, default=5, help="timed calls per case after the first (default 5)")
    p.add_argument("--max-tokens", type=int, default=0, help="skip cases with more tokens (0: none skipped)")
    p.add_argument("--dry-run", action="store_true", help="check arguments and layouts only; no torch, no GPU")
    a = p.parse_args(argv)
    if a.reps < 1:
        p.error("--reps must be >= 1")
    return a


def load_manifest(path: str) -> Dict[str, Any]:
    with open(path) as f:
        m = json.load(f)
    for key in ("headDim", "blockSize", "causal", "precision", "cases"):
        if key not in m:
            raise SystemExit(f"{path}: manifest has no '{key}'")
    if m["precision"] not in ("bf16", "fp16", "fp32"):
        raise SystemExit(f"{path}: precision must be bf16|fp16|fp32, got {m['precision']!r}")
    return m


def load_layout(manifest_dir: str, case: Dict[str, Any], block_size: int) -> Dict[str, Any]:
    """Read one CSR layout and check it: offsets from 0 to len(indices), sorted unique key blocks <= qb."""
    path = os.path.join(manifest_dir, case["layoutFile"])
    with open(path) as f:
        L = json.load(f)
    n, blocks = case["tokens"], L["blocks"]
    if L["tokens"] != n or L["blockSize"] != block_size or blocks != -(-n // block_size):
        raise SystemExit(f"{path}: shape does not match the manifest case {case['id']}")
    off, idx = L["offsets"], L["indices"]
    if len(off) != blocks + 1 or off[0] != 0 or off[-1] != len(idx):
        raise SystemExit(f"{path}: offsets must run from 0 to len(indices) over {blocks + 1} entries")
    for qb in range(blocks):
        row = idx[off[qb]:off[qb + 1]]
        if any(b <= a for a, b in zip(row, row[1:])) or (row and (row[0] < 0 or row[-1] > qb)):
            raise SystemExit(f"{path}: query block {qb} must list sorted unique key blocks in [0, {qb}]")
    return L


def median(xs: List[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def main(argv: List[str]) -> int:
    a = parse_args(argv)
    m = load_manifest(a.manifest)
    root = os.path.dirname(os.path.abspath(a.manifest))
    cases = [c for c in m["cases"] if a.max_tokens <= 0 or c["tokens"] <= a.max_tokens]
    B, d = m["blockSize"], m["headDim"]
    tokens = sorted({c["tokens"] for c in cases})
    if a.dry_run:
        for c in cases:
            load_layout(root, c, B)
        print(f"torch_reference (dry run): {len(cases)} FlexAttention cases and SDPA-FLASH at N = {tokens}, "
              f"d = {d}, B = {B}, {m['precision']}, {a.reps} timed calls each; layouts valid; would write {a.out}")
        return 0

    import torch  # only on the GPU machine
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.nn.attention.flex_attention import BlockMask, flex_attention

    if not torch.cuda.is_available():
        raise SystemExit("torch_reference: no CUDA device visible to PyTorch")
    dev = torch.device("cuda")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[m["precision"]]
    flex = torch.compile(flex_attention, dynamic=False)

    def timed(fn: Callable[[], Any], reps: int) -> Dict[str, float]:
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        torch.cuda.synchronize()
        first = start.elapsed_time(stop)
        times = []
        for _ in range(reps):
            start.record()
            fn()
            stop.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(stop))
        return {"firstMs": first, "ms": median(times), "minMs": min(times)}

    def block_mask_from_csr(L: Dict[str, Any]) -> "BlockMask":
        """Off-diagonal key blocks are full blocks; the diagonal block is partial (causal mask_mod inside it)."""
        qbN = L["blocks"]
        off = torch.tensor(L["offsets"], dtype=torch.int64, device=dev)
        idx = torch.tensor(L["indices"], dtype=torch.int64, device=dev)
        counts = off[1:] - off[:-1]
        rows = torch.repeat_interleave(torch.arange(qbN, device=dev), counts)
        is_diag = idx == rows
        table_full = torch.zeros(qbN, qbN, dtype=torch.bool, device=dev)
        table_full[rows[~is_diag], idx[~is_diag]] = True
        table_part = torch.zeros(qbN, qbN, dtype=torch.bool, device=dev)
        table_part[rows[is_diag], idx[is_diag]] = True

        def to_kv(table: "torch.Tensor"):
            num = table.sum(dim=1, dtype=torch.int32)
            # ascending key-block order, selected blocks first (stable sort on "not selected")
            order = torch.sort((~table).to(torch.int8), dim=1, stable=True).indices.to(torch.int32)
            return num[None, None].contiguous(), order[None, None].contiguous()

        kv_num, kv_idx = to_kv(table_part)
        full_num, full_idx = to_kv(table_full)

        def causal(b, h, q_idx, kv_idx):
            return q_idx >= kv_idx

        return BlockMask.from_kv_blocks(kv_num, kv_idx, full_num, full_idx, BLOCK_SIZE=(B, B), mask_mod=causal)

    results: Dict[str, Any] = {
        "torch": torch.__version__, "cuda": torch.version.cuda, "device": torch.cuda.get_device_name(0),
        "precision": m["precision"], "headDim": d, "blockSize": B, "flash": [], "flex": [], "checks": [],
    }
    kernel_options: Any = None
    for n in tokens:
        heads = max(c["heads"] for c in cases if c["tokens"] == n)
        gen = torch.Generator(device=dev).manual_seed(n)
        q, k, v = (torch.randn(1, heads, n, d, device=dev, dtype=dtype, generator=gen) for _ in range(3))
        flash_out: Dict[int, Any] = {}
        for h in sorted({heads, 1}):
            qh, kh, vh = q[:, :h].contiguous(), k[:, :h].contiguous(), v[:, :h].contiguous()

            def run_flash(qh=qh, kh=kh, vh=vh):
                with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                    return F.scaled_dot_product_attention(qh, kh, vh, is_causal=True)

            t = timed(run_flash, a.reps)
            if h == heads:
                flash_out[h] = run_flash()
            results["flash"].append({"tokens": n, "heads": h, **t})
            print(f"SDPA-FLASH N={n} H={h}: {t['ms']:.3f} ms (first {t['firstMs']:.1f})", flush=True)
        for c in (c for c in cases if c["tokens"] == n):
            L = load_layout(root, c, B)
            bm = block_mask_from_csr(L)

            def run_flex(bm=bm):
                if kernel_options is None:
                    return flex(q, k, v, block_mask=bm)
                return flex(q, k, v, block_mask=bm, kernel_options=kernel_options)

            try:
                t = timed(run_flex, a.reps)
            except Exception as e:  # default tiles may not divide a 64-token sparse block: retry with 64x64 tiles
                if kernel_options is not None:
                    raise
                print(f"FlexAttention with default tiles failed ({type(e).__name__}: {str(e).splitlines()[0][:200]}); "
                      f"retrying with BLOCK_M = BLOCK_N = {B}", flush=True)
                kernel_options = {"BLOCK_M": B, "BLOCK_N": B}
                t = timed(run_flex, a.reps)
            results["flex"].append({"id": c["id"], "tokens": n, "heads": c["heads"], "targetDensityPct": c["targetDensityPct"],
                                    "blockDensity": c["blockDensity"], "kernelOptions": kernel_options, **t})
            print(f"FlexAttention {c['id']} H={c['heads']}: {t['ms']:.3f} ms (first {t['firstMs']:.1f})", flush=True)
            if c["targetDensityPct"] >= 100 and heads in flash_out:
                diff = (run_flex().float() - flash_out[heads].float()).abs().max().item()
                results["checks"].append({"tokens": n, "what": "dense FlexAttention vs SDPA-FLASH max |diff|", "value": diff})
                print(f"check N={n}: dense FlexAttention vs SDPA-FLASH max |diff| = {diff:.3e}", flush=True)
        del q, k, v, flash_out
        torch.cuda.empty_cache()
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=2)
    os.replace(tmp, a.out)
    print(f"torch_reference: wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
