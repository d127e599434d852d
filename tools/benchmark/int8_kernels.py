#!/usr/bin/env python
"""Time the exact int8 synapse kernels against float32 on QSD-T's layer shapes.

For each shape: the float32 convolution PyTorch runs for the multi-bit model
(``F.conv2d``, channels-last) and the int8 kernels of the integer path
(:mod:`mmqsd.ops.int8_kernels`: ``onednn`` and ``int_mm``) on spike counts
0..4 and 4-bit weights, median of ``--repeats``.  It shows what the hardware
gives an exact integer path (VNNI / AMX / GPU int8 units), which bounds the
whole-model speed-up together with the layers that must stay float
(docs/benchmarks.md).  Throughput is ``2 * MACs / time`` in TOP/s (tera integer
operations per second, a multiply and an add per MAC); the best over shapes and
backends is the machine's int8 figure that ``benchmark_model.py`` compares the
whole integer forward against.

Example::

    python tools/benchmark/int8_kernels.py --threads 1 [--out-json int8.json]
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from mmqsd.ops.int8_kernels import (Epilogue, Int8Conv2d, Int8Linear, onednn_available,
                                    use_int8_backend)

#: (name, batch, in channels, size, out channels, kernel, groups) of QSD-T at 224^2, batch 8
SHAPES = [
    ('stage1 conv1 3x3', 8, 32, 112, 128, 3, 1),
    ('stage2 conv1 3x3', 8, 128, 28, 512, 3, 1),
    ('stage2 conv2 3x3', 8, 512, 28, 128, 3, 1),
    ('stage2 dw 7x7', 8, 256, 28, 256, 7, 256),
    ('stage3 1x1 256', 8, 256, 14, 256, 1, 1),
    ('stage3 mlp fc1', 8, 256, 14, 1024, 1, 1),
]


def median_ms(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def time_shape(shape, repeats, backends, fp32=True):
    name, n, c, size, o, k, groups = shape
    counts = torch.randint(0, 5, (n, c, size, size), dtype=torch.uint8).contiguous(
        memory_format=torch.channels_last)
    weight = torch.randint(-8, 8, (o, c // groups, k, k), dtype=torch.int8)
    epilogue = Epilogue(torch.rand(o) * 0.1, torch.randn(o))
    dense = counts.float().contiguous(memory_format=torch.channels_last)
    fp_weight = weight.float() * epilogue.scale.view(-1, 1, 1, 1)
    row = dict(shape=name, gmac=n * o * size * size * (c // groups) * k * k / 1e9)
    if fp32:
        row['fp32_ms'] = median_ms(lambda: F.conv2d(dense, fp_weight, epilogue.bias,
                                                    padding=k // 2, groups=groups), repeats)
    if k == 1 and groups == 1:
        kernel, rows = Int8Linear(weight[:, :, 0, 0]), counts.permute(0, 2, 3, 1).reshape(-1, c)
        run = lambda: kernel(rows, epilogue)  # noqa: E731
    else:
        kernel = Int8Conv2d(weight, (1, 1), (k // 2, k // 2), (1, 1), groups)
        run = lambda: kernel(counts, epilogue)  # noqa: E731
    for backend in backends:
        with use_int8_backend(backend):
            row[f'{backend}_ms'] = median_ms(run, repeats)
        row[f'{backend}_tops'] = 2 * row['gmac'] / row[f'{backend}_ms']
    return row


def int8_backends():
    """The int8 backends this machine has, fastest first where present."""
    return (['onednn'] if onednn_available() else []) + ['int_mm']


def peak_int8_tops(rows) -> dict:
    """The best int8 throughput among ``rows`` (from :func:`time_shape`): TOP/s, the
    layer shape and the backend that reached it."""
    best = max(((row[f'{b}_tops'], row['shape'], b) for row in rows for b in int8_backends()
                if f'{b}_tops' in row), default=(0.0, None, None))
    return dict(tops=best[0], shape=best[1], backend=best[2])


def measure_peak_int8_tops(repeats: int = 5) -> dict:
    """Time every shape of :data:`SHAPES` on every int8 backend; :func:`peak_int8_tops`."""
    return peak_int8_tops([time_shape(shape, repeats, int8_backends(), fp32=False)
                           for shape in SHAPES])


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be 1 or more, got {text}')
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=_positive_int, default=5)
    parser.add_argument('--threads', type=_positive_int)
    parser.add_argument('--out-json', help='write the rows and the peak as JSON')
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    backends = int8_backends()
    print('| layer | GMAC | fp32 ms | ' + ' | '.join(f'{b} ms (speed-up) TOP/s' for b in backends)
          + ' |')
    print('|---|---|---|' + '---|' * len(backends))
    rows = []
    for shape in SHAPES:
        row = time_shape(shape, args.repeats, backends)
        rows.append(row)
        cells = ' | '.join(f"{row[f'{b}_ms']:.2f} ({row['fp32_ms'] / row[f'{b}_ms']:.1f}x) "
                           f"{row[f'{b}_tops']:.2f}" for b in backends)
        print(f"| {row['shape']} | {row['gmac']:.2f} | {row['fp32_ms']:.2f} | {cells} |")
    peak = peak_int8_tops(rows)
    print(f"int8 peak: {peak['tops']:.2f} TOP/s ({peak['backend']}, {peak['shape']}, "
          f'{torch.get_num_threads()} thread(s))')
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump(dict(rows=rows, peak=peak, threads=torch.get_num_threads()), f, indent=2)
    return rows


if __name__ == '__main__':
    main()
