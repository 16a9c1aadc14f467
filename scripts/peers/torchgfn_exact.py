#!/usr/bin/env python3
# The torchgfn peer of `paperlab bench gfn`, with the figure the comparison needs besides speed:
# torchgfn 2.4.1 on the hypergrid (2D, H, TB, batch 16, 2x256 MLP, Adam 1e-3 / logZ 0.1, one
# thread, R0 0.1 R1 0.5 R2 2.0), trained for N trajectories after 20 warm-up batches; its
# trajectories/s, then the exact L1 of its policy's terminal distribution to the target
# (forward dynamic programming over every state, as paperlab's `l1_exact`).
#
# PB selects the backward policy: `uniform` (1 / number of parents, torchgfn's `DiscreteUniform`
# module as a backward estimator: paperlab's default), `learned` (an MLP, torchgfn's default), or
# `constant` (`pb=None, constant_pb=True`: log P_B = 0, which is right only for trees; on the
# hypergrid it trains towards R(x) times the number of paths to x, so its L1 stays far from 0.
# This is the set-up of ../shared/peers/torchgfn_hypergrid.py, kept to compare throughput).
#
# EVERY > 0 also prints the exact L1 every EVERY trajectories (warm-up included) as JSON lines,
# for the curve after convergence (docs/BENCHMARKS.md: constant step sizes spike there); the
# speed figure of such a run includes those evaluations.
#
# Set-up (not installed by scripts/setup: ~5.7 GB of torch wheels):
#   python3 -m venv V && V/bin/pip install torchgfn==2.4.1
# Usage: V/bin/python scripts/peers/torchgfn_exact.py [H] [N] [SEED] [PB] [EVERY]
import json, sys, time
import torch
from gfn.gym import HyperGrid
from gfn.gflownet import TBGFlowNet
from gfn.estimators import DiscretePolicyEstimator
from gfn.preprocessors import KHotPreprocessor
from gfn.utils.modules import MLP, DiscreteUniform

torch.set_num_threads(1)
H = int(sys.argv[1]) if len(sys.argv) > 1 else 8
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 1
PB = sys.argv[4] if len(sys.argv) > 4 else "uniform"
EVERY = int(sys.argv[5]) if len(sys.argv) > 5 else 0
torch.manual_seed(SEED)
env = HyperGrid(ndim=2, height=H, store_all_states=True, calculate_partition=True)
pre = KHotPreprocessor(height=H, ndim=2)
pf = DiscretePolicyEstimator(MLP(pre.output_dim, env.n_actions), env.n_actions, preprocessor=pre)
if PB == "constant":
    gfn = TBGFlowNet(pf=pf, pb=None, constant_pb=True, init_logZ=0.0)
else:
    module = DiscreteUniform(env.n_actions - 1) if PB == "uniform" else MLP(pre.output_dim, env.n_actions - 1)
    pb = DiscretePolicyEstimator(module, env.n_actions, preprocessor=pre, is_backward=True)
    gfn = TBGFlowNet(pf=pf, pb=pb, init_logZ=0.0)
params = [v for k, v in gfn.named_parameters() if k != "logZ"]
opt = torch.optim.Adam(params, lr=1e-3)
opt.add_param_group({"params": [dict(gfn.named_parameters())["logZ"]], "lr": 1e-1})


def iterate():
    tr = gfn.sample_trajectories(env, n=16, save_logprobs=True)
    opt.zero_grad()
    loss = gfn.loss(env, tr, recalculate_all_logprobs=False)
    loss.backward()
    opt.step()


def exact_l1():
    # Exact terminal distribution: P(reach s) flows to s + e_d with P_F(d|s), P(end at s) =
    # P(reach s) P_F(exit|s), states in order of their coordinate sum.
    with torch.no_grad():
        states = env.all_states
        logits = pf(states)
        logits = logits.masked_fill(~states.forward_masks, float("-inf"))
        probs = torch.softmax(logits, dim=-1).double()
    coords = states.tensor.long()
    index = {tuple(c.tolist()): i for i, c in enumerate(coords)}
    order = sorted(range(len(coords)), key=lambda i: int(coords[i].sum()))
    reach = torch.zeros(len(coords), dtype=torch.float64)
    reach[index[(0, 0)]] = 1.0
    terminal = torch.zeros_like(reach)
    for i in order:
        c = coords[i].tolist()
        terminal[i] += reach[i] * probs[i, 2]
        for d in range(2):
            if c[d] + 1 < H:
                nxt = list(c)
                nxt[d] += 1
                reach[index[tuple(nxt)]] += reach[i] * probs[i, d]
    true = env.true_dist().double()
    return float((terminal - true).abs().sum())


for _ in range(20):
    iterate()
t0 = time.perf_counter()
n = 0
while n < N:
    iterate()
    n += 16
    if EVERY > 0 and (n + 20 * 16) % EVERY == 0:
        print(json.dumps({"trajectories": n + 20 * 16, "l1_exact": exact_l1()}), flush=True)
dt = time.perf_counter() - t0
l1_exact = exact_l1()
print(json.dumps({
    "peer": "torchgfn 2.4.1", "pb": PB, "height": H, "seed": SEED, "trajectories": n + 20 * 16,
    "timed_trajectories": n, "torchgfn_trajectories_per_s": n / dt,
    "l1_exact": l1_exact, "log_z": float(gfn.logZ.detach()), "log_z_true": float(env.log_partition()),
}))
