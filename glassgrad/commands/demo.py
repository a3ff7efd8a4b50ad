"""Train a tiny MLP on a toy problem with the bare engine and print its loss falling."""

from __future__ import annotations

import argparse

import glassgrad as gg


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=200, help="gradient steps (default 200)")
    parser.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the initial weights (default 0)")


def run(args: argparse.Namespace) -> int:
    """Fit y = sin(3x) on [-1, 1] with a 1-32-32-1 tanh MLP by plain gradient descent."""
    gg.manual_seed(args.seed)
    x = gg.linspace(-1, 1, 128).reshape(-1, 1)
    y = (3 * x).sin()
    sizes = [1, 32, 32, 1]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1 / fan_in**0.5
        params.append((gg.rand(fan_in, fan_out) * 2 - 1).mul_(bound).requires_grad_())
        params.append(gg.zeros(fan_out, requires_grad=True))
    for step in range(args.steps + 1):
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i < len(params) - 2:
                h = h.tanh()
        loss = ((h - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with gg.no_grad():
            for p in params:
                p -= args.lr * p.grad
        if step % max(args.steps // 10, 1) == 0:
            print(f"step {step:4d}  loss {loss.item():.5f}")
    return 0
