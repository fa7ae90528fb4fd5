"""PyTorch twins of pipe's inception U-Net and ResNet-style classifier, for
bench/train-throughput only (never a dependency of the project).

Reads one JSON object on argv[1]:
  {"threads": 1, "steps": 5, "warmup": 2,
   "configs": [{"name": "...", "kind": "unet", "h": 64, "w": 80, "base": 16, "depth": 4, "batch": 8},
               {"name": "...", "kind": "classifier", "size": 128, "widths": [8, 16, 32], "blocks": 1, "batch": 32}]}
and prints one JSON line: {"torch": version, "threads": n, "results": {name: {"train_ms": median,
"infer_ms": median, "train_cpu_ms": median, "infer_cpu_ms": median, "params": n}}}: wall time
and the process's CPU time (time.process_time) per step; on a loaded machine the CPU time is
the steadier figure.
The architectures mirror stages/models/unet.ts and stages/models/classifier.ts
layer for layer (same convolutions, paddings, batch norms, pools), so the
work per step is the same.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv(cin, cout, kh, kw, stride=1, bias=True):
    # 'same' padding; even kernels pad the extra row/column at the bottom/right, like TF.
    return nn.Conv2d(cin, cout, (kh, kw), stride=stride, padding="same" if stride == 1 else (kh // 2, kw // 2), bias=bias)


class Inception(nn.Module):
    def __init__(self, cin, filters):
        super().__init__()
        t = filters // 4
        self.pool_conv = conv(cin, t, 1, 1)
        self.towers = nn.ModuleList()
        for n in (3, 5, 10):
            self.towers.append(nn.ModuleList([conv(cin, t, 1, 1), conv(t, t, 1, n), conv(t, t, n, 1)]))
        self.bns = nn.ModuleList([nn.BatchNorm2d(t, eps=1e-3, momentum=0.01) for _ in range(4)])

    def forward(self, x):
        p = F.max_pool2d(x, 3, 1, 1)
        outs = [self.bns[0](F.relu(self.pool_conv(p)))]
        for i, tower in enumerate(self.towers):
            y = x
            for c in tower:
                y = F.relu(c(y))
            outs.append(self.bns[i + 1](y))
        return torch.cat(outs, 1)


class Unet(nn.Module):
    def __init__(self, base, depth):
        super().__init__()
        self.down = nn.ModuleList()
        cin = 1
        for l in range(depth):
            f = base * 2 ** l
            self.down.append(nn.Sequential(Inception(cin, f), Inception(f, f)))
            cin = f
        f = base * 2 ** depth
        self.bottom = nn.Sequential(Inception(cin, f), Inception(f, f))
        cin = f
        self.upt = nn.ModuleList()
        self.up = nn.ModuleList()
        for l in range(depth - 1, -1, -1):
            f = base * 2 ** l
            self.upt.append(nn.ConvTranspose2d(cin, f, 2, stride=2))
            self.up.append(nn.Sequential(Inception(2 * f, f), Inception(f, f)))
            cin = f
        self.mask = nn.Conv2d(cin, 1, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2, 2)
        x = self.bottom(x)
        for convt, block in zip(self.upt, self.up):
            x = F.relu(convt(x))
            x = block(torch.cat([x, skips.pop()], 1))
        return torch.sigmoid(self.mask(x))


class Basic(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.c1 = conv(cin, cout, 3, 3, stride, bias=False)
        self.b1 = nn.BatchNorm2d(cout, eps=1e-3)
        self.c2 = conv(cout, cout, 3, 3, 1, bias=False)
        self.b2 = nn.BatchNorm2d(cout, eps=1e-3)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout, eps=1e-3))

    def forward(self, x):
        y = self.b2(self.c2(F.relu(self.b1(self.c1(x)))))
        return F.relu(y + (x if self.proj is None else self.proj(x)))


class Classifier(nn.Module):
    def __init__(self, widths, blocks):
        super().__init__()
        self.stem = nn.Sequential(conv(1, widths[0], 3, 3, 2, bias=False), nn.BatchNorm2d(widths[0], eps=1e-3), nn.ReLU(), nn.MaxPool2d(2, 2))
        layers, cin = [], widths[0]
        for s, w in enumerate(widths):
            for b in range(blocks):
                layers.append(Basic(cin, w, 2 if s > 0 and b == 0 else 1))
                cin = w
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(cin, 1)

    def forward(self, x):
        x = self.body(self.stem(x))
        return torch.sigmoid(self.fc(x.mean((2, 3))))


def dice_loss(p, y):
    inter = (p * y).sum()
    return -(2 * inter + 1) / (p.sum() + y.sum() + 1)


def focal_loss(p, y, gamma=7.0, alpha=0.9):
    p = p.clamp(1e-7, 1 - 1e-7)
    pt = torch.where(y > 0.5, p, 1 - p)
    a = torch.where(y > 0.5, torch.full_like(p, alpha), torch.full_like(p, 1 - alpha))
    return (-a * (1 - pt) ** gamma * torch.log(pt)).mean()


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def build(cfg):
    """The PyTorch twin of a benchmark config, its input batch, target and loss (seeded)."""
    torch.manual_seed(1)
    if cfg["kind"] == "unet":
        model = Unet(cfg["base"], cfg["depth"])
        x = torch.rand(cfg["batch"], 1, cfg["h"], cfg["w"])
        y = (torch.rand(cfg["batch"], 1, cfg["h"], cfg["w"]) > 0.5).float()
        return model, x, y, dice_loss
    model = Classifier(cfg["widths"], cfg["blocks"])
    x = torch.rand(cfg["batch"], 1, cfg["size"], cfg["size"])
    y = (torch.rand(cfg["batch"], 1) > 0.5).float()
    return model, x, y, focal_loss


def train_steps(model, x, y, loss_fn, warmup, steps):
    """Times `steps` Adam training steps after `warmup` untimed ones: (wall ms, CPU ms) lists."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    wall, cpu = [], []
    for i in range(warmup + steps):
        t, c = time.perf_counter(), time.process_time()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        float(loss)
        if i >= warmup:
            wall.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def bench(cfg, steps, warmup):
    model, x, y, loss_fn = build(cfg)
    train, train_cpu = train_steps(model, x, y, loss_fn, warmup, steps)
    model.eval()
    infer, infer_cpu = [], []
    with torch.no_grad():
        for i in range(warmup + steps):
            t, c = time.perf_counter(), time.process_time()
            model(x).sum().item()
            if i >= warmup:
                infer.append((time.perf_counter() - t) * 1000)
                infer_cpu.append((time.process_time() - c) * 1000)
    params = sum(p.numel() for p in model.parameters())
    return {"train_ms": median(train), "infer_ms": median(infer), "train_cpu_ms": median(train_cpu),
            "infer_cpu_ms": median(infer_cpu), "params": params}


def main():
    spec = json.loads(sys.argv[1])
    torch.set_num_threads(int(spec["threads"]))
    results = {c["name"]: bench(c, int(spec["steps"]), int(spec["warmup"])) for c in spec["configs"]}
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
