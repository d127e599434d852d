"""Progress bars on long data work (issue 17, item 3): demo-data generation and CIFAR10-DVS
event-to-frame conversion show a bar where a person watches (forced here with
MMQSD_PROGRESS=1, as a terminal would) and stay quiet in logs."""
import importlib.util
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _make_demo_data():
    path = osp.join(ROOT, 'tools', 'misc', 'make_demo_data.py')
    spec = importlib.util.spec_from_file_location('make_demo_data', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cifar10dvs_generation_and_conversion_show_bars(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('MMQSD_PROGRESS', '1')
    _make_demo_data().main(['cifar10dvs', '--out', str(tmp_path / 'dvs'), '--num-events', '40',
                            '--frames', '2'])
    captured = capsys.readouterr()
    assert 'wrote cifar10dvs demo data' in captured.out  # the result stays on stdout
    assert 'cifar10dvs demo: recordings' in captured.err and '100/100' in captured.err
    assert 'CIFAR10-DVS: recordings to frames' in captured.err


def test_shape_generators_show_bars_and_logs_stay_quiet(tmp_path, monkeypatch, capsys):
    from mmqsd.datasets.synthetic_coco import make_synthetic_coco
    monkeypatch.setenv('MMQSD_PROGRESS', '1')
    make_synthetic_coco(str(tmp_path / 'coco'), num_train=3, num_val=2, size=32)
    err = capsys.readouterr().err
    assert 'coco demo: train images' in err and '3/3' in err and 'coco demo: val images' in err
    monkeypatch.setenv('MMQSD_PROGRESS', '0')  # what a log file or CI gets
    make_synthetic_coco(str(tmp_path / 'coco2'), num_train=3, num_val=2, size=32)
    assert capsys.readouterr().err == ''
