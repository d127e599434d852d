"""Transparent huge pages for large CPU tensors.

PyTorch allocates CPU tensors of 2 MiB and more on 2 MiB boundaries and
advises the kernel to back them with huge pages when ``THP_MEM_ALLOC_ENABLE=1``
(read once, at the first large allocation).  Each forward pass allocates
fresh activation buffers, and with 4 KiB pages every first touch of them
faults: writing a fresh 51 MB tensor took 17 ms instead of 1.7 ms on the
project's CPU machine, 3 ms with huge pages (docs/benchmarks.md).  Importing
mmqsd turns it on unless the variable is already set (``THP_MEM_ALLOC_ENABLE=0``
opts out); it takes effect when mmqsd is imported before the process's first
large tensor, as in every ``tools/`` script.
"""
import os

ENV_VAR = 'THP_MEM_ALLOC_ENABLE'


def enable_huge_page_allocations() -> bool:
    """Ask PyTorch for huge-page CPU allocations unless the user decided; return whether on."""
    os.environ.setdefault(ENV_VAR, '1')
    return os.environ[ENV_VAR] == '1'
