from mmqsd.utils import cpu_memory


def test_huge_pages_default_on_and_user_choice_kept(monkeypatch):
    monkeypatch.delenv(cpu_memory.ENV_VAR, raising=False)
    assert cpu_memory.enable_huge_page_allocations()
    monkeypatch.setenv(cpu_memory.ENV_VAR, '0')
    assert not cpu_memory.enable_huge_page_allocations()
