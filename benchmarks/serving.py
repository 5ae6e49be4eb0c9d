"""keraslearn's server beside a Flask app calling ``pipeline.predict`` per request.

Usage::

    python benchmarks/serving.py                    # 5,000 requests from 16 clients, ~2 min
    python benchmarks/serving.py --quick            # 300 requests, 4 clients; prints only
    python benchmarks/serving.py --requests 20000 --clients 32 --time-cap 300

The same fitted pipeline (StandardScaler -> keraslearn MLPClassifier(64, 32), on
scikit-learn's breast-cancer table: 30 named features, as the source material's
tabular medical data) is served three ways, one after the other, each in its own
process on 127.0.0.1 only:

- keraslearn: ``keraslearn.serving.run(pipeline)`` with its default batching;
- keraslearn without batching (``max_batch_rows=1``): what batching adds;
- Flask: the source material's way, a Flask app whose ``/predict`` builds a
  DataFrame from the JSON records and calls ``pipeline.predict``, on Flask's own
  threaded server.

The load generator is the same for all: a separate process running ``--clients``
concurrent keep-alive HTTP/1.1 connections on asyncio, each sending one record
per request (a row of the table, in turn) as soon as its previous answer came,
after a warm-up. Every answer is checked against ``pipeline.predict`` of its row.
It stops after ``--requests`` requests or ``--time-cap`` seconds. Reported:
requests per second, p50/p99/max latency, errors and wrong answers (both must
be 0), and the CPU the server, the client and other processes used. Request
logging is off on every server. Results: printed, and written to
``benchmarks/serving_results.md``.
"""

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "serving_results.md"
HOST = "127.0.0.1"
SERVERS = {
    "keraslearn": ("keraslearn.serving", {}),
    "keraslearn-unbatched": ("keraslearn.serving, no batching (max_batch_rows=1)",
                             {"max_batch_rows": 1, "max_wait_ms": 0.0}),
    "flask": ("Flask (threaded), pipeline.predict per request", None),
}


# --- the servers ------------------------------------------------------------

def serve(kind, model_path, port, options):
    import joblib

    pipeline = joblib.load(model_path)
    if kind == "flask":
        import logging

        import pandas as pd
        from flask import Flask, jsonify, request

        app = Flask("baseline")

        @app.post("/predict")
        def predict():
            frame = pd.DataFrame(request.get_json())
            return jsonify({"predictions": pipeline.predict(frame).tolist()})

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        app.run(host=HOST, port=port, threaded=True)
    else:
        from keraslearn.serving import run

        run(pipeline, HOST, port, log_level="warning", **options)


# --- the load generator -----------------------------------------------------

async def _response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    version, status = lines[0].split(" ", 2)[:2]
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(":") for line in lines[1:] if line)}
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            body += (await reader.readexactly(size + 2))[:size]
            if size == 0:
                break
    else:
        body = await reader.readexactly(int(headers.get("content-length", 0)))
    connection = headers.get("connection", "").lower()
    close = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
    return int(status), body, close


async def _load(port, bodies, expected, n_warmup, n_requests, n_clients, time_cap):
    state = {"next": 0, "errors": 0, "wrong": 0, "reconnects": 0, "first_error": None}
    latencies, total = [], n_warmup + n_requests
    requests = [(f"POST /predict HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: "
                 f"application/json\r\nContent-Length: {len(b)}\r\n\r\n").encode() + b
                for b in bodies]
    measured = {}

    async def client():
        reader = writer = None
        while state["next"] < total:
            i = state["next"]
            state["next"] += 1
            if i == n_warmup:
                measured["start"] = _snapshot()
            if "start" in measured and time.perf_counter() - measured["start"]["wall"] > time_cap:
                break
            row = i % len(requests)
            t0 = time.perf_counter()
            outcome = None
            for _ in range(2):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection(HOST, port)
                    writer.write(requests[row])
                    outcome = await _response(reader)
                    break
                except (ConnectionError, asyncio.IncompleteReadError) as exc:
                    writer, outcome = None, exc
                    state["reconnects"] += 1
            latency = time.perf_counter() - t0
            if i >= n_warmup:
                latencies.append(latency)
            if isinstance(outcome, Exception) or outcome[0] != 200:
                state["errors"] += 1
                state["first_error"] = state["first_error"] or repr(outcome)[:300]
                continue
            status, body, close = outcome
            if json.loads(body)["predictions"] != [expected[row]]:
                state["wrong"] += 1
            if close:
                writer.close()
                writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client() for _ in range(n_clients)))
    return state, latencies, measured.get("start"), _snapshot()


def _snapshot(server_pid=None):
    """Wall time, this process's CPU, the server's CPU and the whole machine's busy CPU."""
    return {"wall": time.perf_counter(), "self": time.process_time(),
            "server": _process_cpu(int(os.environ.get("BENCH_SERVER_PID", 0))),
            "machine": _machine_busy()}


def _process_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def _machine_busy():
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def load(port, data_path, n_warmup, n_requests, n_clients, time_cap, out):
    import numpy as np

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    data = json.loads(Path(data_path).read_text())
    bodies = [json.dumps([record]).encode() for record in data["records"]]
    state, latencies, start, end = asyncio.run(
        _load(port, bodies, data["expected"], n_warmup, n_requests, n_clients, time_cap))
    wall = end["wall"] - start["wall"]
    ms = np.array(latencies) * 1000
    server_cpu = end["server"] - start["server"]
    client_cpu = end["self"] - start["self"]
    result = {
        "requests": len(latencies), "seconds": wall, "rps": len(latencies) / wall,
        "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()), "errors": state["errors"], "wrong": state["wrong"],
        "reconnects": state["reconnects"], "first_error": state["first_error"],
        "server_cores": server_cpu / wall, "client_cores": client_cpu / wall,
        "other_cores": max(0.0, (end["machine"] - start["machine"] - server_cpu - client_cpu)
                           / wall),
    }
    Path(out).write_text(json.dumps(result))


# --- the run ------------------------------------------------------------------

def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    src = str(HERE.parent / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


def _free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _wait_ready(port, proc, body, timeout=300):
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        try:
            req = urllib.request.Request(f"http://{HOST}:{port}/predict", data=body,
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not answer in time")


def measure(kind, model_path, data_path, first_body, args, tmp):
    port = _free_port()
    options = SERVERS[kind][1] or {}
    server = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--model",
                               str(model_path), "--port", str(port), "--options",
                               json.dumps(options)], env=_env())
    try:
        _wait_ready(port, server, first_body)
        out = Path(tmp) / f"{kind}.json"
        subprocess.run([sys.executable, __file__, "--load", str(port), "--data", str(data_path),
                        "--warmup", str(args.warmup), "--requests", str(args.requests),
                        "--clients", str(args.clients), "--time-cap", str(args.time_cap),
                        "--out", str(out)],
                       env={**_env(), "BENCH_SERVER_PID": str(server.pid)}, check=True,
                       timeout=args.time_cap + 300)
        return json.loads(out.read_text())
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def fitted_pipeline():
    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from keraslearn import MLPClassifier

    data = load_breast_cancer(as_frame=True)
    X, y = data.data, pd.Series(data.target_names[data.target])
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=(64, 32), max_iter=30, random_state=0)).fit(X, y)
    return pipeline, X


def table(results, args):
    base = results["flask"]
    lines = ["| server | requests/s | p50 ms | p99 ms | max ms | errors | wrong | "
             "throughput vs Flask | p99 vs Flask |",
             "|---|---|---|---|---|---|---|---|---|"]
    for kind, r in results.items():
        lines.append(
            f"| {SERVERS[kind][0]} | {r['rps']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{r['max_ms']:.1f} | {r['errors']} | {r['wrong']} | {r['rps'] / base['rps']:.1f}x | "
            f"{r['p99_ms'] / base['p99_ms']:.2f}x |")
    cpu = ["| server | requests | seconds | server cores | client cores | other processes' "
           "cores | reconnects |", "|---|---|---|---|---|---|---|"]
    for kind, r in results.items():
        cpu.append(f"| {SERVERS[kind][0]} | {r['requests']} | {r['seconds']:.1f} | "
                   f"{r['server_cores']:.2f} | {r['client_cores']:.2f} | "
                   f"{r['other_cores']:.2f} | {r['reconnects']} |")
    ratio = results["keraslearn"]["rps"] / base["rps"]
    p99 = results["keraslearn"]["p99_ms"] <= base["p99_ms"]
    verdict = ("met" if ratio >= 5 and p99 else "**not met**")
    summary = (f"{args.requests} requests of one record from {args.clients} concurrent "
               f"keep-alive clients (after {args.warmup} warm-up requests), time cap "
               f"{args.time_cap} s. Target (at least 5x Flask's throughput, p99 no worse): "
               f"{verdict} ({ratio:.1f}x, p99 {results['keraslearn']['p99_ms']:.1f} ms "
               f"against {base['p99_ms']:.1f} ms).")
    return "\n".join(lines), "\n".join(cpu), summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--time-cap", type=float, default=120.0)
    parser.add_argument("--quick", action="store_true",
                        help="300 requests from 4 clients, which writes only to --output")
    parser.add_argument("--output", type=Path, help=f"default: {RESULTS.name}, none for --quick")
    parser.add_argument("--serve", choices=list(SERVERS), help=argparse.SUPPRESS)
    parser.add_argument("--load", type=int, metavar="PORT", help=argparse.SUPPRESS)
    for internal in ("--model", "--port", "--options", "--data", "--out"):
        parser.add_argument(internal, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.model, int(args.port), json.loads(args.options))
    if args.load:
        return load(args.load, args.data, args.warmup, args.requests, args.clients,
                    args.time_cap, args.out)
    if args.quick:
        args.requests, args.clients, args.warmup = 300, 4, 50

    import joblib

    sys.path.insert(0, str(HERE))
    import _report

    pipeline, X = fitted_pipeline()
    records = X.to_dict(orient="records")
    expected = pipeline.predict(X).tolist()
    with tempfile.TemporaryDirectory() as tmp:
        model_path, data_path = Path(tmp) / "pipeline.joblib", Path(tmp) / "data.json"
        joblib.dump(pipeline, model_path)
        data_path.write_text(json.dumps({"records": records, "expected": expected}))
        first = json.dumps(records[:1]).encode()
        results = {}
        for kind in SERVERS:
            print(f"{SERVERS[kind][0]} ...", end=" ", flush=True)
            results[kind] = measure(kind, model_path, data_path, first, args, tmp)
            r = results[kind]
            print(f"{r['rps']:.0f} requests/s, p99 {r['p99_ms']:.1f} ms, errors {r['errors']}, "
                  f"wrong {r['wrong']}" + (f" ({r['first_error']})" if r["errors"] else ""),
                  flush=True)
    speed, cpu, summary = table(results, args)
    info = _report.machine()
    for unrelated in ("cores used by other processes during the run (mean)", "scikeras"):
        info.pop(unrelated, None)
    for name in ("starlette", "uvicorn", "uvloop", "httptools", "flask", "werkzeug"):
        info[name] = _report._version(name)
    text = "\n\n".join([
        "# Serving benchmark: keraslearn.serving beside a Flask app",
        f"Made by `python benchmarks/serving.py{' --quick' if args.quick else ''}`; "
        "method in its docstring.", summary, speed, cpu, _report.machine_table(info)]) + "\n"
    print("\n" + summary + "\n\n" + speed + "\n\n" + cpu)
    output = args.output or (None if args.quick else RESULTS)
    if output:  # a smoke run leaves the published results as they are
        output.write_text(text)
        print(f"\nwritten to {output}")


if __name__ == "__main__":
    sys.exit(main())
