"""Convolution/matmul time of one PyTorch training step, for bench/train-throughput-bound
only (never a dependency of the project).

Reads the same JSON spec as torch_models.py on argv[1] ({"threads", "steps", "configs"}).
For each config it builds the PyTorch twin (torch_models.py), times whole training
steps (Adam, as there), records every Conv2d / ConvTranspose2d / Linear call of one
training forward pass (input shape, whether the input needs a gradient), then replays
each layer alone on its exact shape: its forward pass and the gradients the step
computes (weight always, input only when the step needs it; bias not, as ours sums it
outside the convolution), `reps` times, and sums the per-layer least times.

Prints one JSON line: {"torch": version, "results": {name: {"step_wall_ms", "step_cpu_ms",
"conv_wall_ms", "conv_cpu_ms", "conv_flop", "layers"}}}. CPU figures are
time.process_time (the whole process, so also any helper thread torch runs).
"""
import json
import sys
import time

import torch
import torch.nn as nn

from torch_models import build, median, train_steps


def layer_flop(m, x_shape, out_shape, need_dx):
    """Multiply-adds x2 of forward, weight gradient and (if needed) input gradient."""
    if isinstance(m, nn.Linear):
        one = 2 * x_shape[0] * m.in_features * m.out_features
    elif isinstance(m, nn.ConvTranspose2d):
        kh, kw = m.kernel_size
        one = 2 * x_shape[0] * x_shape[2] * x_shape[3] * m.in_channels * m.out_channels * kh * kw
    else:
        kh, kw = m.kernel_size
        one = 2 * out_shape[0] * out_shape[2] * out_shape[3] * m.out_channels * (m.in_channels // m.groups) * kh * kw
    return one * (3 if need_dx else 2)


def bench(cfg, steps, reps):
    model, x, y, loss_fn = build(cfg)
    wall, cpu = train_steps(model, x, y, loss_fn, 1, steps)
    calls = []
    hooks = [m.register_forward_hook(lambda m, i, o: calls.append((m, tuple(i[0].shape), tuple(o.shape), i[0].requires_grad)))
             for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    loss_fn(model(x), y)
    for h in hooks:
        h.remove()
    conv_wall = conv_cpu = 0.0
    flop = 0
    for m, xs, ys, need_dx in calls:
        xi = torch.rand(xs, requires_grad=need_dx)
        g = torch.rand(ys)
        inputs = [xi, m.weight] if need_dx else [m.weight]
        ws, cs = [], []
        for r in range(1 + reps):
            t, c = time.perf_counter(), time.process_time()
            out = m(xi)
            torch.autograd.grad(out, inputs, g)
            if r >= 1:
                ws.append((time.perf_counter() - t) * 1000)
                cs.append((time.process_time() - c) * 1000)
        conv_wall += min(ws)
        conv_cpu += min(cs)
        flop += layer_flop(m, xs, ys, need_dx)
    return {"step_wall_ms": median(wall), "step_cpu_ms": median(cpu), "conv_wall_ms": conv_wall,
            "conv_cpu_ms": conv_cpu, "conv_flop": flop, "layers": len(calls)}


def main():
    spec = json.loads(sys.argv[1])
    torch.set_num_threads(int(spec["threads"]))
    reps = int(spec.get("reps", 5))
    results = {c["name"]: bench(c, int(spec["steps"]), reps) for c in spec["configs"]}
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
