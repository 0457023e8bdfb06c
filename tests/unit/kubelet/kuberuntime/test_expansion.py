"""$(VAR) expansion follows upstream's table of cases."""

from __future__ import annotations

import pytest

from pyk8s.kubelet.kuberuntime import expansion

ENV = {"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""}


@pytest.mark.parametrize(("text", "want"), [
    ("$(VAR_A)", "A"),
    ("___$(VAR_B)___", "___B___"),
    ("$(VAR_A)-$(VAR_A)", "A-A"),
    ("$(VAR_A)$(VAR_B)$(VAR_C)", "ABC"),
    ("f000-$$VAR_A", "f000-$VAR_A"),
    ("$$(VAR_A)", "$(VAR_A)"),
    ("$$$(VAR_A)", "$A"),
    ("$(VAR_DNE)", "$(VAR_DNE)"),
    ("$(VAR_EMPTY)", ""),
    ("$(VAR_REF)", "$(VAR_A)"),  # one pass only
    ("$(VAR_A", "$(VAR_A"),
    ("$VAR_A", "$VAR_A"),
    ("$", "$"),
    ("foo$", "foo$"),
    ("$()", "$()"),
    ("$(VAR_A)$", "A$"),
])
def test_expand(text: str, want: str) -> None:
    assert expansion.expand(text, expansion.mapping_for(ENV)) == want


def test_command_expansion_uses_the_final_env() -> None:
    assert expansion.expand_command(["echo", "$(VAR_A)", "$$(VAR_B)"], ENV) == ["echo", "A", "$(VAR_B)"]
