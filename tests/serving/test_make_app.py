"""make_app's arguments are checked when the app is made, not at the first request."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from _servers import classifier, frame, mixed, mixed_frame, regressor, serving
from sklearn.exceptions import NotFittedError

from keraslearn import MLPClassifier
from keraslearn.serving import make_app


def test_unfitted_model_is_refused():
    with pytest.raises(NotFittedError):
        make_app(MLPClassifier())


def test_object_without_predict_is_refused():
    with pytest.raises(TypeError, match="has no predict method"):
        make_app(frame()[0])


@pytest.mark.parametrize("option, value", [
    ("max_batch_rows", 0), ("max_batch_rows", 2.5), ("max_wait_ms", -1.0),
    ("max_wait_ms", float("nan")), ("max_body_bytes", 0), ("drift_window", True),
])
def test_bad_options_are_named(option, value):
    with pytest.raises(ValueError, match=f"make_app: {option} must be"):
        make_app(classifier(), **{option: value})


def test_drift_detector_needs_a_test_method():
    with pytest.raises(TypeError, match="drift_detector .* has no test method"):
        make_app(classifier(), drift_detector=object())


def test_input_example_and_dtypes_are_exclusive():
    X, _ = mixed_frame(n=3)
    with pytest.raises(ValueError, match="input_example or dtypes, not both"):
        make_app(mixed(), input_example=X, dtypes={"city": "string"})


def test_dtypes_naming_an_unknown_feature():
    with pytest.raises(ValueError, match=r"dtypes names \['town'\]"):
        make_app(mixed(), dtypes={"town": "string"})


def test_input_example_missing_a_column():
    X, _ = mixed_frame(n=3)
    with pytest.raises(ValueError, match="lacks the model's column.*'rooms'"):
        make_app(mixed(), input_example=X.drop(columns="rooms"))


def test_unsupported_dtype_is_named():
    X, _ = mixed_frame(n=3)
    X = X.assign(rooms=pd.to_datetime(["2024-01-01"] * 3))
    with pytest.raises(ValueError, match="datetime64"):
        make_app(mixed(), input_example=X)


def test_input_example_for_a_model_without_names_is_rows():
    with pytest.raises(ValueError, match="fitted without feature names"):
        make_app(regressor(), input_example=frame()[0])
    with pytest.raises(ValueError, match=r"rows with 4 features, not shape \(2, 3\)"):
        make_app(regressor(), input_example=np.zeros((2, 3)))


def test_importing_serving_stays_light():
    code = ("import sys, keraslearn.serving; "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'tensorflow', 'keras') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"


def test_a_model_failing_on_input_example_does_not_start():
    X, _ = mixed_frame(n=3)
    unseen = X.assign(city="Paris")  # the encoder refuses an unknown category
    with pytest.raises(RuntimeError, match=r"did not start \(exit code 3\)"):  # uvicorn's
        with serving(mixed(), input_example=unseen):
            pass
