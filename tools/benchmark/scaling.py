#!/usr/bin/env python
"""Data-parallel scaling of a config's training step: images/s with 1, 2, ... processes.

Each process count runs in fresh processes (``torch.multiprocessing``, gloo on a free
local port): every rank builds the config's model (BN/MPRF statistics randomised as in
``benchmark_model.py``), its own synthetic batch of ``--batch-size`` images, and times
``train_step`` (data preprocessor, forward, backward, optimizer step) -- with one process
the plain model, with several mmengine's ``MMDistributedDataParallel`` as
``tools/dist_train.sh`` sets it up on CPU (``device_ids=None``, ``broadcast_buffers=False``),
so the gradients are all-reduced every step.  The per-process batch stays fixed (weak
scaling):

    images/s(N) = N * batch / median step time of rank 0
    efficiency(N) = images/s(N) / (N * images/s(1))

With several processes the all-reduce of a flat tensor as large as all gradients is
timed alone too, and ``--no-sync`` times the step under DDP's ``no_sync()`` (no
all-reduce): together they separate the cost of communication from that of sharing
the cores.  Wall and
process CPU time per rank are reported, median and spread (min-max) over ``--repeats``
steps after ``--warmup``; ``--rounds`` repeats the whole sweep, alternating, so that load
from other jobs shows up as a difference between rounds.

Example (one thread per process, as in docs/benchmarks.md)::

    OMP_NUM_THREADS=1 python tools/benchmark/scaling.py configs/cls/qsd_t_in1k.py \\
        --batch-size 8 --input-size 224 --nprocs 1 2 --warmup 1 --repeats 5 --rounds 2
"""
import argparse
import os
import os.path as osp
import socket
import tempfile

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import DictAction
from mmengine.fileio import dump, load

from benchmark_model import _classification_head, _timed  # tools/benchmark: on sys.path

ISA_FLAGS = ('avx2', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_int8',
             'amx_bf16')


def machine_info():
    """CPU model, core count and the x86 ISA extensions that matter for int8/bf16 work."""
    model, flags = 'unknown', set()
    if osp.exists('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                if key.strip() == 'model name':
                    model = value.strip()
                elif key.strip() == 'flags':
                    flags = set(value.split())
    return dict(cpu=model, logical_cpus=os.cpu_count(),
                isa=[flag for flag in ISA_FLAGS if flag in flags],
                torch_cpu_capability=torch.backends.cpu.get_cpu_capability(),
                torch=torch.__version__)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _worker(rank, world_size, port, args, out_dir):
    """One rank: build, wrap, time; writes ``rank{R}.json`` to ``out_dir``."""
    from mmengine.logging import MMLogger
    from mmengine.model import MMDistributedDataParallel
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.structures import DataSample

    from mmqsd.apis import init_model
    from mmqsd.deploy import randomize_statistics

    torch.set_num_threads(args.threads)
    if world_size > 1:
        dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                                world_size=world_size)
    try:
        torch.manual_seed(0)  # the same initial weights on every rank
        model = init_model(args.config, cfg_options=args.cfg_options, device='cpu')
        randomize_statistics(model)
        height, width = (args.input_size * 2)[:2]
        torch.manual_seed(1 + rank)  # each rank its own images
        head = _classification_head(model)
        if head is None:
            raise ValueError(f'{args.config}: scaling.py times classifiers (a model with a '
                             'classification head); this config has none')
        classes = head.num_classes
        data = dict(inputs=torch.randn(args.batch_size, 3, height, width),
                    data_samples=[DataSample().set_gt_label(i % classes)
                                  for i in range(args.batch_size)])
        MMLogger.get_current_instance().setLevel('WARNING')  # one line per parameter
        optim_wrapper = build_optim_wrapper(model, model.cfg.optim_wrapper)
        wrapped = model if world_size == 1 else MMDistributedDataParallel(
            module=model, device_ids=None, broadcast_buffers=False)
        wrapped.train()

        def step():
            wrapped.train_step(data, optim_wrapper)
        result = dict(rank=rank, world_size=world_size, step=_timed(step, args.warmup,
                                                                     args.repeats, 'cpu'))
        if world_size > 1:  # the gradients' all-reduce alone, as one flat tensor
            grads = torch.zeros(sum(p.numel() for p in model.parameters() if p.requires_grad))
            result['all_reduce'] = _timed(lambda: dist.all_reduce(grads), args.warmup,
                                          args.repeats, 'cpu')
            result['all_reduce']['mib'] = grads.numel() * 4 / 2**20
        if args.no_sync and world_size > 1:
            def local_step():
                with wrapped.no_sync():
                    step()
            result['no_sync'] = _timed(local_step, args.warmup, args.repeats, 'cpu')
        dump(result, osp.join(out_dir, f'rank{rank}.json'))
        if world_size > 1:
            dist.barrier()
    finally:
        if world_size > 1:
            dist.destroy_process_group()


def run(world_size, args):
    """Time ``world_size`` processes; returns rank 0's timings, images/s and every rank's."""
    with tempfile.TemporaryDirectory() as out_dir:
        mp.spawn(_worker, args=(world_size, _free_port(), args, out_dir), nprocs=world_size)
        ranks = [load(osp.join(out_dir, f'rank{rank}.json')) for rank in range(world_size)]
    step = ranks[0]['step']
    result = dict(nprocs=world_size, step=step,
                  images_per_s=world_size * args.batch_size / step['median_s'],
                  cpu_s_per_rank=[r['step']['median_cpu_s'] for r in ranks],
                  wall_s_per_rank=[r['step']['median_s'] for r in ranks],
                  peak_mem_mib_per_rank=[r['step']['peak_mem_mib'] for r in ranks])
    for key in ('no_sync', 'all_reduce'):
        if key in ranks[0]:
            result[key] = ranks[0][key]
    return result


def _print(result):
    step = result['step']
    line = (f'{result["nprocs"]} process(es): step median {step["median_s"]:.3f} s '
            f'(min {step["min_s"]:.3f}, max {step["max_s"]:.3f}), CPU/rank '
            + ', '.join(f'{t:.3f}' for t in result['cpu_s_per_rank'])
            + f' s; {result["images_per_s"]:.2f} img/s')
    if 'efficiency' in result:
        line += f'; efficiency {result["efficiency"]:.2f}'
    if 'no_sync' in result:
        line += f'; without all-reduce {result["no_sync"]["median_s"]:.3f} s'
    if 'all_reduce' in result:
        line += (f'; all-reduce of {result["all_reduce"]["mib"]:.1f} MiB alone '
                 f'{result["all_reduce"]["median_s"]:.3f} s')
    print(line, flush=True)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--nprocs', type=int, nargs='+', default=[1, 2],
                        help='process counts to time (the first is the baseline)')
    parser.add_argument('--batch-size', type=int, default=8, help='images per process')
    parser.add_argument('--input-size', type=int, nargs='+', default=[224])
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--rounds', type=int, default=1,
                        help='repeat the whole sweep this many times')
    parser.add_argument('--threads', type=int, default=1, help='torch threads per process')
    parser.add_argument('--no-sync', action='store_true',
                        help='also time the multi-process step without the all-reduce')
    parser.add_argument('--out-json')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    for name, least in (('batch_size', 1), ('warmup', 0), ('repeats', 1), ('rounds', 1),
                        ('threads', 1)):
        if getattr(args, name) < least:
            parser.error(f'--{name.replace("_", "-")} must be at least {least}')
    if min(args.nprocs) < 1:
        parser.error('every --nprocs value must be at least 1')
    return args


def main(argv=None):
    args = parse_args(argv)
    report = dict(machine=machine_info(), config=args.config,
                  batch_size_per_process=args.batch_size, input_size=args.input_size,
                  threads_per_process=args.threads,
                  omp_num_threads=os.environ.get('OMP_NUM_THREADS'), rounds=[])
    for _ in range(args.rounds):
        results = []
        for world_size in args.nprocs:
            result = run(world_size, args)
            if results:
                base = results[0]
                result['efficiency'] = result['images_per_s'] / (
                    world_size / base['nprocs'] * base['images_per_s'])
            _print(result)
            results.append(result)
        report['rounds'].append(results)
    if args.out_json:
        dump(report, args.out_json, indent=2)
    return report


if __name__ == '__main__':
    main()
