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


@pytest.mark.slow
def test_readme_ready_estimator_example_scales_its_columns(capsys):
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    text = README.read_text()
    example = text[text.index("## Ready estimators"):]
    code = re.search(r"```python\n(.*?)```", example, re.S).group(1)
    namespace = {"__name__": "readme_ready_example"}
    exec(compile(code, str(README), "exec"), namespace)
    clf = namespace["clf"]
    assert isinstance(clf, Pipeline) and isinstance(clf[0], StandardScaler)
    n_iter, score = capsys.readouterr().out.split()[:2]
    assert int(n_iter) == clf[-1].n_iter_
    # The scaler is worth having: the same network on the raw columns does worse.
    X_train, X_test, y_train, y_test = (namespace[k] for k in
                                        ("X_train", "X_test", "y_train", "y_test"))
    unscaled = clone(clf[-1]).fit(X_train, y_train).score(X_test, y_test)
    assert float(score) >= 0.94
    assert float(score) > unscaled + 0.02
