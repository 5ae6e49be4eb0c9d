"""The README's example runs as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.slow
def test_readme_example_runs(capsys):
    text = README.read_text()
    example = text[text.index("## Example"):]
    code = re.search(r"```python\n(.*?)```", example, re.S).group(1)
    exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    printed = capsys.readouterr().out
    best_params, score = re.match(r"(\{.*\}) ([0-9.]+)", printed.strip()).groups()
    assert "kerasclassifier__hidden" in best_params
    assert float(score) > 0.9
