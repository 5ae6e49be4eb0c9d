"""keraslearn's names are imported on first use; threads using several at once
for the first time all get them."""

import subprocess
import sys
import textwrap

_SCRIPT = textwrap.dedent("""
    import threading

    import keraslearn

    names = ["export", "MLPClassifier", "load", "KerasClassifier", "ImageClassifier"] * 2
    barrier = threading.Barrier(len(names))
    failures = []

    def first_use(name):
        barrier.wait()
        try:
            getattr(keraslearn, name)
        except Exception as exc:
            failures.append(f"{name}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=first_use, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    print(failures)
""")


def test_threads_first_using_different_names_at_once_all_get_them():
    # Each imported half of keraslearn's modules, which import each other:
    # "cannot import name ... from partially initialized module", KeyError.
    run = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_another_keras_backend_is_named_before_keras_starts(tmp_path):
    # Found in an audit: with KERAS_BACKEND=jax (not installed here) the first
    # estimator failed deep inside Keras ("No module named 'jax'"), at every try.
    import os

    code = textwrap.dedent("""
        import sys
        import keraslearn
        from keraslearn.evaluation import evaluate  # (no Keras: it works)
        for take in (lambda: keraslearn.MLPClassifier, lambda: keraslearn.load,
                     lambda: __import__("keraslearn.wrappers"), lambda: keraslearn.export,
                     lambda: __import__("keraslearn.tracking._callback")):
            try:
                take()
            except ImportError as exc:
                print(str(exc)[:80])
        print(sorted(m for m in ("keras", "jax") if m in sys.modules))
    """)
    (tmp_path / "keras.json").write_text('{"backend": "jax"}')
    for env, source in (({"KERAS_BACKEND": "jax"}, "KERAS_BACKEND"),
                        ({"KERAS_HOME": str(tmp_path)}, "keras.json")):  # (found in review)
        environ = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=120, env={**environ, **env})
        assert run.returncode == 0, run.stderr[-2000:]
        lines = run.stdout.strip().splitlines()
        assert lines[:5] == ["keraslearn runs Keras on TensorFlow, but Keras' backend is 'jax' "
                             f"({source}). Set KERAS_BACKEND=tensorflow"[:80]] * 5
        assert lines[5] == "[]"
