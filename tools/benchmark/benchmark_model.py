#!/usr/bin/env python
"""Time training steps and inference of a config's model, with peak memory.

Modes: ``train`` (forward + backward + optimizer step with the config's
optim_wrapper), ``infer`` (multi-bit fp32 inference), ``infer-bf16`` (the same
under bfloat16 autocast), ``spike`` (spike-driven
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
import os.path as osp
import platform
import statistics
import sys
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
        if cfg.get('compile', None):
            from mmqsd.engine.hooks.compile_hook import plain_param_groups
            plain_param_groups(optim_wrapper)  # torch.compile fails on ConfigDict groups
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


def _infer_step_fn(model, inputs, autocast_dtype=None):
    @torch.no_grad()
    def step():
        with torch.autocast(inputs.device.type, autocast_dtype or torch.bfloat16,
                            enabled=autocast_dtype is not None):
            return model(inputs, mode='tensor')  # returned: torch.compile drops unused work
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
        elif mode in ('infer', 'infer-bf16'):
            step = _infer_step_fn(model.eval(), inputs,
                                  torch.bfloat16 if mode == 'infer-bf16' else None)
        elif mode == 'integer':
            deployed = to_integer_inference(model)
            step = _infer_step_fn(deployed, inputs)
        elif mode in ('onnx', 'onnx-float'):
            step = _onnx_step_fn(model, inputs, 'integer' if mode == 'onnx' else 'float',
                                 args.threads)
        else:
            deployed = to_spike_driven(model, integer=mode == 'spike-integer')
            step = _infer_step_fn(deployed, inputs)
        step, first_call_s = _maybe_compile(step, model, mode)
        results[mode] = _timed(step, args.warmup, args.repeats, args.device)
        if first_call_s is not None:
            results[mode]['compile_s'] = round(first_call_s, 2)
            print(f'{config} [{mode}] torch.compile: first call {first_call_s:.1f} s')
        results[mode]['images_per_s'] = round(args.batch_size / results[mode]['median_s'], 2)
        print(f'{config} [{mode}] median {results[mode]["median_s"]:.3f} s '
              f'(min {results[mode]["min_s"]:.3f}, max {results[mode]["max_s"]:.3f}; CPU '
              f'{results[mode]["median_cpu_s"]:.3f} s), '
              f'{results[mode]["images_per_s"]} img/s, peak {results[mode]["peak_mem_mib"]} MiB')
        if args.profile:
            results[mode]['profile'] = _profile(step, args.profile)
        if mode in INT8_MODES:
            results[mode].update(_int8_throughput(deployed, inputs, results[mode]['median_s'],
                                                  args))
    return results


def _profile(step, top):
    """One more ``step()`` under ``torch.profiler``; prints and returns its ``top`` operators
    by self CPU time (a Markdown table: operator, self CPU ms, share, calls)."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    events = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events)
    rows = [dict(op=e.key, self_cpu_ms=round(e.self_cpu_time_total / 1e3, 1),
                 share=round(e.self_cpu_time_total / total, 4), calls=e.count)
            for e in events[:top]]
    print(f'  top {top} operators by self CPU time (total {total / 1e6:.3f} s):')
    print('  | operator | self CPU ms | share | calls |\n  |---|---|---|---|')
    for row in rows:
        print(f"  | {row['op']} | {row['self_cpu_ms']} | {row['share']:.1%} | {row['calls']} |")
    return dict(total_self_cpu_s=total / 1e6, top=rows)


#: modes whose synapses run on int8 kernels
INT8_MODES = ('integer', 'spike-integer')


def _machine_int8_peak(args):
    """The machine's int8 figure in TOP/s (``--int8-peak``; 'auto': measured once by
    ``int8_kernels.py`` on QSD-T's layer shapes, CPU only), or None."""
    if args.int8_peak == 'none':
        return None
    if args.int8_peak != 'auto':
        return dict(tops=float(args.int8_peak), source='--int8-peak')
    if torch.device(args.device).type != 'cpu':
        return None
    if not hasattr(args, '_measured_peak'):
        sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
        from int8_kernels import measure_peak_int8_tops
        args._measured_peak = dict(measure_peak_int8_tops(), source='int8_kernels.py')
    return args._measured_peak


def _int8_throughput(deployed, inputs, seconds, args):
    """Int8 MACs of one forward, the TOP/s achieved over the whole forward (float32
    layers included) and its fraction of the machine's int8 peak."""
    from mmqsd.deploy.int8_work import count_int8_macs
    work = count_int8_macs(deployed, lambda: deployed(inputs, mode='tensor'))
    row = dict(int8_gmac=round(work.int8_macs / 1e9, 3),
               float_gmac=round(work.float_macs / 1e9, 3),
               achieved_int8_tops=2 * work.int8_macs / seconds / 1e12)
    peak = _machine_int8_peak(args)
    line = (f'  int8 work {row["int8_gmac"]} GMAC (+{row["float_gmac"]} GMAC float32): '
            f'{row["achieved_int8_tops"]:.3f} TOP/s over the whole forward')
    if peak:
        row.update(int8_peak_tops=peak['tops'], int8_peak_source=peak['source'],
                   fraction_of_int8_peak=row['achieved_int8_tops'] / peak['tops'])
        line += (f' = {row["fraction_of_int8_peak"]:.3g} of the machine\'s int8 peak '
                 f'{peak["tops"]:.3f} TOP/s ({peak["source"]})')
    print(line)
    return row


#: modes ``--compile`` (a config's ``compile``) applies to
COMPILE_MODES = ('train', 'infer', 'infer-bf16')


def _maybe_compile(step, model, mode):
    """``torch.compile(step, **options)`` when the config sets ``compile`` (``True`` or a dict
    of torch.compile arguments, as mmengine's Runner reads it), else ``step``.  The train
    step is the whole of mmengine's ``train_step`` (forward, loss, backward, optimizer step),
    as ``compile=True`` compiles it in training; ``compile=dict(modules=[NAMES])`` compiles
    only those submodules' forward.  Returns the step and the seconds of its
    first (compiling) call, or None when not compiled."""
    if not model.cfg.get('compile', None):
        return step, None
    from mmqsd.engine.hooks.compile_hook import compile_options
    from mmqsd.layers.quant import init_pending_steps
    options = compile_options(model.cfg.get('compile', None))
    if options is None:
        return step, None
    init_pending_steps(model)  # as eager's first call would (skipped while compiling)
    if mode not in COMPILE_MODES:
        raise SystemExit(f'error: --compile / compile= applies to the modes {COMPILE_MODES}, '
                         f'not {mode!r}; run that mode without it')
    modules = options.pop('modules', None)
    if modules is None:
        compiled = torch.compile(step, **options)
    else:  # compile=dict(modules=[...]): only those submodules, as mmqsd.CompileHook does
        compiled = step
        for name in modules:
            model.get_submodule(name).compile(**options)
    start = time.perf_counter()
    compiled()
    return compiled, time.perf_counter() - start


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f'must be 0 or more, got {text}')
    return value


def _int8_peak(text):
    """``--int8-peak``: 'auto', 'none' or a positive number of TOP/s."""
    if text.lower() in ('auto', 'none'):
        return text.lower()
    try:
        value = float(text)
    except ValueError:
        value = float('nan')
    if not value > 0 or value == float('inf'):
        raise argparse.ArgumentTypeError(
            f"expected 'auto', 'none' or a positive number of TOP/s, got {text!r}")
    return text


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--compare', help='a second config to run side by side')
    parser.add_argument('--compare-cfg-options', nargs='+', action=DictAction,
                        help='options of the second run (with --compare, or of the same config)')
    parser.add_argument('--modes', nargs='+', default=['train', 'infer'],
                        choices=['train', 'infer', 'infer-bf16', 'spike', 'integer',
                                 'spike-integer', 'onnx', 'onnx-float'])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--input-size', type=int, nargs='+', default=[224])
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int,
                        help='torch.set_num_threads and ONNX Runtime intra-op threads (CPU)')
    parser.add_argument('--profile', type=_non_negative_int, metavar='N', default=0,
                        help='after timing, profile one more step and print its N slowest '
                        'operators (self CPU time)')
    parser.add_argument('--int8-peak', default='auto', type=_int8_peak,
                        help="the machine's int8 TOP/s for the integer modes' fraction: 'auto' "
                        "(measure with int8_kernels.py, CPU), a number, or 'none'")
    parser.add_argument('--out-json')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile the train / infer steps (the config option '
                        'compile=True); eager vs compiled side by side: '
                        '--compare-cfg-options compile=True instead')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.compile:
        args.cfg_options = dict(args.cfg_options or {}, compile=True)
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
