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
