"""Generated data in the real on-disk formats, shared by the transfer-learning tests."""
import pytest

from mmqsd.datasets.synthetic_cifar import make_synthetic_cifar
from mmqsd.datasets.synthetic_dvs import make_synthetic_cifar10dvs


@pytest.fixture(scope='session')
def dvs_root(tmp_path_factory):
    """10 AEDAT 2.0 recordings per class + T=10 archives in frames_number_10_split_by_number/."""
    root = str(tmp_path_factory.mktemp('dvs') / 'cifar10dvs')
    make_synthetic_cifar10dvs(root, per_class=10, num_events=300, frames=10, seed=0)
    return root


@pytest.fixture(scope='session')
def cifar10_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('cifar') / 'cifar10')
    make_synthetic_cifar(root, 'cifar10', num_train=23, num_test=7, seed=0)
    return root
