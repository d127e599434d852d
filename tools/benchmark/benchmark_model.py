#!/usr/bin/env python
"""Time training steps and inference of a config's model, with peak memory.

Modes: ``train`` (forward + backward + optimizer step with the config's
optim_wrapper), ``infer`` (multi-bit fp32 inference), ``spike`` (spike-driven
inference, binary spikes over virtual time steps), ``integer`` (exact integer
inference: BN/MPRF folded, uint8 counts x int8 weights, int32 accumulation),
``spike-integer`` (spike-driven with binary uint8 spikes on the int8 kernels),
``onnx`` (the exact integer form exported to ONNX, run by ONNX Runtime on CPU with
``--threads`` intra-op threads) and ``onnx-float`` (the fp32 model in ONNX Runtime).
Wall time and process CPU time are both reported (the CPU time is the fairer
number on a machine shared with other jobs).  Each mode runs
``--warmup`` untimed iterations, then ``--repeats`` timed ones; the median and
the spread (min-max) are reported.  ``--compare CONFIG2`` runs a second config
in the same process and prints the time ratios; ``--compare-cfg-options``
changes the second one (``--compare`` defaults to the first config then, e.g.
to compare against full-precision weights).

Example::

    python tools/benchmark/benchmark_model.py configs/cls/qsd_t_in1k.py \
        --batch-size 8 --input-size 224 --modes train infer spike
    python tools/benchmark/benchmark_model.py configs/cls/qsd_t_in1k.py \
        --batch-size 8 --input-size 224 --threads 1 --modes infer integer onnx
"""
import argparse
import json
import logging
import platform
import statistics
import threading
import time

import torch
from mmengine.config import DictAction
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper

from mmqsd.apis import init_model
from mmqsd.deploy import randomize_statistics, to_integer_inference, to_spike_driven


class PeakMemory:
    """Peak resident memory (CPU, sampled every 2 ms) or CUDA max allocated, in MiB."""

    def __init__(self, device):
        self.device = torch.device(device)
        self.peak_mib = 0.0

    @staticmethod
    def _rss_mib():
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * 4096 / 2**20

    def _sample(self):
        while not self._stop.is_set():
            self.peak_mib = max(self.peak_mib, self._rss_mib())
            time.sleep(0.002)

    def __enter__(self):
        if self.device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self.device.type == 'cuda':
            self.peak_mib = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            self._stop.set()
            self._thread.join()


def _sync(device):
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def _timed(step, warmup, repeats, device):
    for _ in range(warmup):
        step()
    _sync(device)
    times, cpu_times = [], []
    with PeakMemory(device) as memory:
        for _ in range(repeats):
            start, cpu_start = time.perf_counter(), time.process_time()
            step()
            _sync(device)
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    return dict(median_s=statistics.median(times), min_s=min(times), max_s=max(times),
                median_cpu_s=statistics.median(cpu_times), repeats=repeats,
                peak_mem_mib=round(memory.peak_mib, 1))


def _classification_head(model):
    """The classification head of a classifier, or of a distiller's student."""
    for candidate in (model, getattr(model, 'student', None)):
        head = getattr(candidate, 'head', None)
        if head is not None and hasattr(head, 'num_classes'):
            return head
    return None


def _train_step_fn(model, inputs, cfg):
    logger = MMLogger.get_current_instance()  # the optimiser logs a line per parameter
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    finally:
        logger.setLevel(level)
    head = _classification_head(model)
    if head is not None:
        from mmpretrain.structures import DataSample
        samples = [DataSample().set_gt_label(i % head.num_classes) for i in range(len(inputs))]

    def step():
        model.train()
        with optim_wrapper.optim_context(model):  # e.g. bf16 autocast, as in train_step
            if head is not None:  # every loss term (e.g. loss_fgd of a distiller) counts
                loss, _ = model.parse_losses(model(inputs, samples, mode='loss'))
            else:  # synthetic loss over the raw outputs
                loss = sum(o.float().mean() for o in _flatten(model(inputs, mode='tensor')))
        optim_wrapper.update_params(loss)
    return step


def _flatten(outputs):
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [t for o in outputs for t in _flatten(o)]


def _infer_step_fn(model, inputs):
    @torch.no_grad()
    def step():
        model(inputs, mode='tensor')
    return step


def _onnx_step_fn(model, inputs, form, threads):
    """Export ``model`` (``form``: 'integer' / 'float') at the inputs' shape to a temporary
    file and run it in ONNX Runtime."""
    import os
    import tempfile

    from mmqsd.deploy.onnx_export import export_onnx
    from mmqsd.deploy.onnx_runtime import OnnxModel
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'model.onnx')
        export_onnx(model, path, form, tuple(inputs.shape))
        session = OnnxModel(path, threads)
    array = inputs.cpu().numpy()

    def step():
        session(array)
    return step


def benchmark(config, args, cfg_options=None):
    torch.manual_seed(0)
    model = init_model(config, cfg_options=cfg_options, device=args.device)
    randomize_statistics(model)  # realistic firing instead of an untrained model's
    height, width = (args.input_size * 2)[:2]
    inputs = torch.randn(args.batch_size, 3, height, width, device=args.device)
    results = {}
    for mode in args.modes:
        if mode == 'train':
            step = _train_step_fn(model, inputs, model.cfg)
        elif mode == 'infer':
            step = _infer_step_fn(model.eval(), inputs)
        elif mode == 'integer':
            step = _infer_step_fn(to_integer_inference(model), inputs)
        elif mode in ('onnx', 'onnx-float'):
            step = _onnx_step_fn(model, inputs, 'integer' if mode == 'onnx' else 'float',
                                 args.threads)
        else:
            step = _infer_step_fn(to_spike_driven(model, integer=mode == 'spike-integer'),
                                  inputs)
        results[mode] = _timed(step, args.warmup, args.repeats, args.device)
        results[mode]['images_per_s'] = round(args.batch_size / results[mode]['median_s'], 2)
        print(f'{config} [{mode}] median {results[mode]["median_s"]:.3f} s '
              f'(min {results[mode]["min_s"]:.3f}, max {results[mode]["max_s"]:.3f}; CPU '
              f'{results[mode]["median_cpu_s"]:.3f} s), '
              f'{results[mode]["images_per_s"]} img/s, peak {results[mode]["peak_mem_mib"]} MiB')
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--compare', help='a second config to run side by side')
    parser.add_argument('--compare-cfg-options', nargs='+', action=DictAction,
                        help='options of the second run (with --compare, or of the same config)')
    parser.add_argument('--modes', nargs='+', default=['train', 'infer'],
                        choices=['train', 'infer', 'spike', 'integer', 'spike-integer', 'onnx',
                                 'onnx-float'])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--input-size', type=int, nargs='+', default=[224])
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int,
                        help='torch.set_num_threads and ONNX Runtime intra-op threads (CPU)')
    parser.add_argument('--out-json')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    report = dict(machine=dict(processor=platform.processor() or platform.machine(),
                               threads=torch.get_num_threads(), torch=torch.__version__,
                               device=args.device),
                  batch_size=args.batch_size, input_size=args.input_size,
                  results={args.config: benchmark(args.config, args, args.cfg_options)})
    if args.compare or args.compare_cfg_options:
        second_name = args.compare or args.config
        options = dict(args.cfg_options or {}, **(args.compare_cfg_options or {}))
        if second_name == args.config:
            second_name += ' ' + ' '.join(f'{k}={v}' for k, v in options.items())
        report['results'][second_name] = benchmark(args.compare or args.config, args, options)
        first, second = (report['results'][c] for c in (args.config, second_name))
        report['ratio'] = {m: first[m]['median_s'] / second[m]['median_s'] for m in args.modes}
        report['cpu_ratio'] = {m: first[m]['median_cpu_s'] / second[m]['median_cpu_s']
                               for m in args.modes}
        for mode, ratio in report['ratio'].items():
            print(f'[{mode}] {args.config} / {second_name} time ratio: {ratio:.2f} '
                  f'(CPU time {report["cpu_ratio"][mode]:.2f})')
    if args.out_json:
        with open(args.out_json, 'w') as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == '__main__':
    main()
