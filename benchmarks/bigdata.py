"""Data larger than memory: memory-mapped arrays, and image files decoded batch by batch.

Usage::

    python benchmarks/bigdata.py                  # benchmarks/bigdata_results.md
    python benchmarks/bigdata.py --quick          # small sizes, a smoke run; prints only
    python benchmarks/bigdata.py --sizes 256,512,1024 --images 3000

1. Memory-mapped arrays: for each file size, a float32 ``.npy`` file of 1024
   columns is opened with ``np.load(path, mmap_mode="r")``, and an
   ``MLPClassifier`` is fitted on it for one epoch, then predicts on all of
   it. The peak resident set size (RSS) above what the process held just
   before the fit must stay flat as the file grows. For comparison, the same
   fit on the file loaded into memory (``np.load(path)``).
2. Image files: a folder of JPEG files (one sub-folder per class) is
   trained on for 2 epochs by ``ImageClassifier.fit(paths, y)`` (decoded
   batch by batch in parallel; with Pillow, as ``ImageLoader`` decodes, and with
   ``image_decoder="tensorflow"``, as Keras' loader decodes) and by the same Keras
   network fed by
   ``keras.utils.image_dataset_from_directory`` (resized to the same size,
   scaled to [0, 1], prefetched), in images per second and peak RSS.

Every measure runs in its own fresh Python process, one after the other;
peak RSS is the kernel's high-water mark (``VmHWM``, reset just before the
measured call through ``/proc/self/clear_refs``), so this runs on Linux only.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "bigdata_results.md"
COLUMNS = 1024
IMAGE_SIZE = (64, 64)  # what both pipelines resize to
NETWORK = dict(conv_filters=(16, 32), dense_units=64, dropout=0.0, batch_size=32,
               learning_rate=1e-3, random_state=0)
EPOCHS = 2
# Each image pipeline runs this many times, alternated with the others: its
# best and its median speed are reported (other work only adds time, but fresh
# processes of one pipeline also fall into slow spells of their own, so the
# best alone hides them) with the median of its peak RSS growth.
IMAGE_REPEATS = 5


# ------------------------------------------------------------------ workers
def _status():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    return out


def _measured(fn):
    """Seconds and peak RSS growth (bytes) of ``fn()``."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    before = _status()["VmRSS"]
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    return seconds, _status()["VmHWM"] - before


def _worker_memmap(path, in_memory):
    import numpy as np

    from keraslearn import MLPClassifier

    params = dict(hidden_layer_sizes=(16,), max_iter=1, batch_size=1024, random_state=0)
    X = np.load(path, mmap_mode="r")
    y = np.arange(len(X)) % 3
    # Imports, traces and thread pools first: what a fit costs once in a process.
    warm = MLPClassifier(**params).fit(np.array(X[:4096]), y[:4096])
    warm.predict(np.array(X[:4096]))
    del X

    def run():
        X = np.load(path) if in_memory else np.load(path, mmap_mode="r")
        clf = MLPClassifier(**params).fit(X, y)
        times["predict"] = time.perf_counter()
        clf.predict(X)

    times = {}
    start = time.perf_counter()
    seconds, peak = _measured(run)
    return {"fit_s": times["predict"] - start, "predict_s": start + seconds - times["predict"],
            "peak": peak}


def _worker_images(folder, way):
    import warnings

    import numpy as np

    warnings.simplefilter("ignore")
    from keraslearn import ImageClassifier
    from keraslearn._tf import keras
    from keraslearn.datasets import load_image_folder

    paths, y = load_image_folder(folder)
    result = {}
    # The same state in every process before the measured call: keraslearn's
    # engine and Keras' layers used once, by building the network both train.
    classes = np.unique(y)
    net = ImageClassifier(**NETWORK, epochs=1).initialize(
        np.zeros((len(classes),) + IMAGE_SIZE + (3,), np.float32), classes)
    if way in ("keraslearn", "keraslearn_tf"):
        decoder = "tensorflow" if way == "keraslearn_tf" else "pillow"

        def run():
            ImageClassifier(**NETWORK, epochs=EPOCHS, image_shape=IMAGE_SIZE + (3,),
                            image_decoder=decoder).fit(paths, y)
    elif way == "decoded":  # training alone: the images decoded into memory beforehand
        from keraslearn.preprocessing import ImageLoader

        images = ImageLoader(target_size=IMAGE_SIZE).fit_transform(paths)

        def run():
            ImageClassifier(**NETWORK, epochs=EPOCHS).fit(images, y)
    else:
        # The same network, as ImageClassifier builds it, built and trained in the
        # measured call as keraslearn's fit builds and trains it.
        def run():
            model = keras.models.clone_model(net.model_)
            ds = keras.utils.image_dataset_from_directory(
                folder, image_size=IMAGE_SIZE, batch_size=NETWORK["batch_size"], seed=0,
                verbose=False)
            ds = ds.map(lambda x, label: (x / 255.0, label)).prefetch(2)
            model.compile(optimizer=keras.optimizers.Adam(NETWORK["learning_rate"]),
                          loss="sparse_categorical_crossentropy")
            model.fit(ds, epochs=EPOCHS, verbose=0)

    seconds, peak = _measured(run)
    result.update(images_per_s=len(paths) * EPOCHS / seconds, seconds=seconds, peak=peak,
                  n=len(paths))
    return result


# ------------------------------------------------------------------- parent
def _run_worker(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, __file__, "--worker", *map(str, args)],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _write_array(path, megabytes):
    import numpy as np

    rows = megabytes * 2**20 // (4 * COLUMNS)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, COLUMNS))
    rng = np.random.default_rng(0)
    for start in range(0, rows, 16384):
        stop = min(rows, start + 16384)
        out[start:stop] = rng.standard_normal((stop - start, COLUMNS), dtype=np.float32)
    out.flush()
    del out


def _write_images(folder, n):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(n):
        label = i % 3
        sub = Path(folder) / f"class_{label}"
        sub.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)
        pixels[..., label] //= 2  # a little to learn
        Image.fromarray(pixels).save(sub / f"{i:06d}.jpg", quality=90)


def _summary(runs):
    """The fastest run's time, with the median speed, every run's speed and
    the median peak RSS growth of all runs."""
    best = dict(max(runs, key=lambda r: r["images_per_s"]))
    speeds = [r["images_per_s"] for r in runs]
    best.update(median=statistics.median(speeds), speeds=speeds,
                peak=statistics.median(r["peak"] for r in runs))
    return best


def _mb(n):
    return f"{n / 2**20:.0f} MiB"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512,1024", help="file sizes in MiB")
    parser.add_argument("--images", type=int, default=3000, help="number of image files")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: a smoke run, which writes only to --output")
    parser.add_argument("--output", help=f"default: {RESULTS.name}, none for --quick")
    args = parser.parse_args()
    sizes = [16, 32] if args.quick else [int(s) for s in args.sizes.split(",")]
    n_images = 200 if args.quick else args.images
    load = os.getloadavg()
    lines = ["# Data larger than memory", "",
             f"`python benchmarks/bigdata.py{' --quick' if args.quick else ''}` "
             f"({time.strftime('%Y-%m-%d')}; {os.cpu_count()} CPU cores, shared with other "
             "work while it ran: times are indicative, memory is what counts). Each measure "
             "runs in a fresh process; peak RSS is the growth of the resident set above what "
             "the process held just before the measured call (imports, traced functions "
             "and thread pools already in place).", ""]
    with tempfile.TemporaryDirectory() as tmp:
        lines += ["## Memory-mapped arrays", "",
                  f"`MLPClassifier(hidden_layer_sizes=(16,), max_iter=1, batch_size=1024)` "
                  f"fitted on a float32 `.npy` file of {COLUMNS} columns, then predicting on "
                  "all of it: `np.load(path, mmap_mode=\"r\")` against `np.load(path)`.", "",
                  "| file size | rows | peak RSS growth, memory-mapped | fit | predict "
                  "| peak RSS growth, loaded in memory |",
                  "|---|---|---|---|---|---|"]
        for size in sizes:
            path = Path(tmp) / f"X_{size}.npy"
            _write_array(path, size)
            mapped = _run_worker("memmap", path, 0)
            loaded = _run_worker("memmap", path, 1)
            rows = size * 2**20 // (4 * COLUMNS)
            lines.append(f"| {_mb(path.stat().st_size)} | {rows:,} | {_mb(mapped['peak'])} "
                         f"| {mapped['fit_s']:.1f} s | {mapped['predict_s']:.1f} s "
                         f"| {_mb(loaded['peak'])} |")
            print(lines[-1], flush=True)
            path.unlink()
        folder = Path(tmp) / "images"
        _write_images(folder, n_images)
        runs = {way: [] for way in ("keraslearn", "keraslearn_tf", "keras", "decoded")}
        for _ in range(IMAGE_REPEATS):  # alternated, so that a slow spell hits every way
            for way in runs:
                runs[way].append(_run_worker("images", folder, way))
        ours, ours_tf, theirs, decoded = (_summary(runs[way]) for way in runs)
        lines += ["", "## Image files", "",
                  f"{n_images} JPEG files of 128x96 pixels in 3 class folders, resized to "
                  f"{IMAGE_SIZE[0]}x{IMAGE_SIZE[1]} RGB and scaled to [0, 1]; the same network "
                  f"(`ImageClassifier({', '.join(f'{k}={v}' for k, v in NETWORK.items())})`), "
                  f"{EPOCHS} epochs. Time and memory include listing and decoding the files. "
                  f"Each pipeline ran {IMAGE_REPEATS} times, alternated with the others: "
                  "its best and its median speed, the speed of every run, the best time, and "
                  "the median of its peak RSS growth.", "",
                  "| pipeline | images / s, best | images / s, median | every run | fit time "
                  "| peak RSS growth |", "|---|---|---|---|---|---|"]
        for name, run in (
                ("`ImageClassifier.fit(paths, y)` (Pillow, ImageLoader's pixels)", ours),
                ("`ImageClassifier(image_decoder=\"tensorflow\").fit(paths, y)` (Keras' "
                 "loader's pixels)", ours_tf),
                ("`image_dataset_from_directory` + `model.fit`", theirs),
                ("training alone: `ImageClassifier.fit(images, y)` on ImageLoader's array "
                 "(decoded beforehand, not counted)", decoded)):
            lines.append(f"| {name} | {run['images_per_s']:.0f} | {run['median']:.0f} "
                         f"| {', '.join(f'{v:.0f}' for v in run['speeds'])} "
                         f"| {run['seconds']:.1f} s | {_mb(run['peak'])} |")
    verdicts = []
    for name, run in (("Pillow", ours), ("TensorFlow", ours_tf)):
        speed = run["images_per_s"] / theirs["images_per_s"]
        median = run["median"] / theirs["median"]
        memory = run["peak"] / theirs["peak"]
        met = min(speed, median) >= 1 and memory <= 1
        verdicts.append(f"with {name}'s decoding {speed:.2f}x its best images per second, "
                        f"{median:.2f}x its median, and {memory:.2f}x its peak RSS growth ("
                        f"{'reached' if met else 'not reached'})")
    lines += [
        "", "Against the targets (at least as fast as `image_dataset_from_directory`, no more "
        f"memory), in this run: {'; '.join(verdicts)}. The "
        "last row is the same training without decoding: what decoding costs in time, and "
        "what keraslearn's training holds with no image path at all.", "",
        "Notes: the memory-mapped column is flat up to allocator noise (glibc keeps freed "
        "batches in per-thread arenas; the same measure varies by some 30 MiB from run to "
        "run), and what grows with the number of rows there is the targets, sample weights, "
        "row order and predictions, a few tens of bytes a row, which a fit in memory holds "
        "too; the loaded column grows with the file. Images are decoded by Pillow, "
        "as `ImageLoader` decodes them, in Python threads that Pillow lets run in parallel "
        "while it decodes; Keras decodes with TensorFlow's own kernels.",
        "", f"Load average (1 min) on the machine: {load[0]:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end, for {os.cpu_count()} cores."]
    text = "\n".join(lines) + "\n"
    print(text)
    output = args.output or (None if args.quick else RESULTS)
    if output:  # a smoke run leaves the published results as they are
        Path(output).write_text(text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        kind, target, option = sys.argv[2:5]
        if kind == "memmap":
            result = _worker_memmap(target, bool(int(option)))
        else:
            result = _worker_images(target, option)
        print(json.dumps(result))
    else:
        main()
