"""GPU check: fit and predict on ``device="gpu"``, a mirrored fit over every
GPU, and the same on the CPU, side by side.

Usage::

    python benchmarks/gpu_check.py                 # 200k rows x 64 features, 3 epochs
    python benchmarks/gpu_check.py --rows 20000    # smaller

On a machine where TensorFlow sees no GPU it says so and exits 0 (nothing to
check). Otherwise it trains the same seeded network (Dense 512 -> 512 -> 1,
Adam, global batch 1024) three ways -- ``device="cpu"``, ``device="gpu"``,
``distribute="mirrored"`` (every GPU) -- checks that each trained where it
was asked to, that the three reach the same accuracy, and that a model
fitted on the GPU predicts the same on the CPU, then prints a short table:
fit time, fit rows/s, predict rows/s and the ratios to the CPU. Each fit is
timed after a warm-up fit on a few rows (tracing and start-up not counted).
It exits 1 if a check fails.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _build(meta, width=512):
    import keras

    return keras.Sequential([
        keras.Input((meta["n_features_in_"],)),
        keras.layers.Dense(width, activation="relu"),
        keras.layers.Dense(width, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


def _data(rows, features):
    import numpy as np
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=rows, n_features=features, n_informative=features // 2,
                               random_state=0)
    return X.astype(np.float32), y


def _run(label, params, data, epochs, batch):
    import numpy as np

    from keraslearn import KerasClassifier

    X, y, X_test, y_test = data

    def make():
        return KerasClassifier(_build, optimizer="adam", optimizer__learning_rate=1e-3,
                               epochs=epochs, batch_size=batch, random_state=0, **params)

    make().set_params(epochs=1).fit(X[:4 * batch], y[:4 * batch])  # warm-up
    est = make()
    t0 = time.perf_counter()
    est.fit(X, y)
    fit_s = time.perf_counter() - t0
    est.predict_proba(X_test[:batch])  # warm-up
    t0 = time.perf_counter()
    proba = est.predict_proba(X_test)
    predict_s = time.perf_counter() - t0
    return {
        "label": label, "est": est, "fit_s": fit_s, "fit_rows_s": epochs * len(X) / fit_s,
        "predict_rows_s": len(X_test) / predict_s, "proba": proba,
        "accuracy": float(np.mean((proba[:, 1] > 0.5) == y_test)),
        "devices": sorted({v.value.device.rsplit("/", 1)[-1] for v in est.model_.weights}),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1024, help="global batch size")
    args = parser.parse_args(argv)

    try:
        import tensorflow as tf
    except ImportError:
        print("TensorFlow is not installed in this Python: nothing can be checked.")
        return 2
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        print(f"No GPU: TensorFlow {tf.__version__} sees none on this machine "
              f"(built with CUDA: {tf.test.is_built_with_cuda()}). Nothing to check; "
              "install keraslearn[gpu] on a machine with an NVIDIA GPU to run it.")
        return 0
    for gpu in gpus:  # take GPU memory as needed, not all of it at start
        tf.config.experimental.set_memory_growth(gpu, True)

    import numpy as np

    X, y = _data(args.rows + 20_000, args.features)
    data = X[:args.rows], y[:args.rows], X[args.rows:], y[args.rows:]
    X_test = data[2]
    runs = [
        _run("CPU (device=\"cpu\")", {"device": "cpu"}, data, args.epochs, args.batch),
        _run("GPU (device=\"gpu\")", {"device": "gpu"}, data, args.epochs, args.batch),
        _run(f"mirrored over {len(gpus)} GPU(s) (distribute=\"mirrored\")",
             {"distribute": "mirrored"}, data, args.epochs, args.batch),
    ]
    cpu, gpu, mirrored = runs
    on_cpu = gpu["est"].set_params(device="cpu").predict_proba(X_test)
    checks = {
        "device=\"cpu\" trained on the CPU": cpu["devices"] == ["device:CPU:0"],
        "device=\"gpu\" trained on GPU:0": gpu["devices"] == ["device:GPU:0"],
        "the mirrored model_ is plain, on the first GPU": mirrored["devices"] == ["device:GPU:0"],
        "same accuracy (within 1 point)": max(r["accuracy"] for r in runs)
        - min(r["accuracy"] for r in runs) <= 0.01,
        "fitted on the GPU, predicts the same on the CPU": bool(
            np.allclose(on_cpu, gpu["proba"], atol=1e-4)),
    }

    print(f"TensorFlow {tf.__version__}, {len(gpus)} GPU(s): "
          + ", ".join(tf.config.experimental.get_device_details(g).get("device_name", g.name)
                      for g in gpus))
    print(f"{args.rows} rows x {args.features} features, Dense 512-512-1, {args.epochs} epochs, "
          f"global batch {args.batch}; predict on {len(X_test)} rows\n")
    print("| run | fit | fit rows/s | vs CPU | predict rows/s | vs CPU | accuracy |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        print(f"| {r['label']} | {r['fit_s']:.2f} s | {r['fit_rows_s']:,.0f} | "
              f"{r['fit_rows_s'] / cpu['fit_rows_s']:.1f}× | {r['predict_rows_s']:,.0f} | "
              f"{r['predict_rows_s'] / cpu['predict_rows_s']:.1f}× | {r['accuracy']:.4f} |")
    print()
    for name, ok in checks.items():
        print(f"- {'ok' if ok else 'FAILED'}: {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
