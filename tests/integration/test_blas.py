"""The update rules load no BLAS library of their own (checked in a fresh process)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from mnist_tui.core import optim

LR = 0.1


def run(name: str, grads, lr=LR, momentum=0.9, weight_decay=0.0, betas=(0.9, 0.999)):
    theta = np.array([1.0, -2.0])
    rule = optim.make(name, theta, [theta[:1]], weight_decay, betas)  # θ[0] is "a weight"
    out = []
    for g in grads:
        rule.step(np.asarray(g, dtype=float), lr, momentum)
        out.append(theta.copy())
    return out


def test_the_update_loads_no_blas_library_of_its_own():
    """Adam's update once called SciPy's BLAS (scal, axpy): a second OpenBLAS whose two spinning
    threads fought NumPy's matmul threads for the cores (an epoch 18x slower, and every run after
    it in that process). Every rule must run on NumPy alone: no BLAS library appears that NumPy
    had not loaded."""

    code = (
        "import numpy as np, threadpoolctl\n"
        "from mnist_tui.core import optim\n"
        "before = {i['filepath'] for i in threadpoolctl.threadpool_info()}\n"
        "for name in optim.OPTIMIZERS:\n"
        "    theta = np.ones(1000, np.float32)\n"
        "    rule = optim.make(name, theta, [theta[:10]])\n"
        "    for _ in range(3): rule.step(np.full(1000, 0.1, np.float32), 0.01, 0.9)\n"
        "print(sorted({i['filepath'] for i in threadpoolctl.threadpool_info()} - before))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", f"the update loaded another BLAS: {r.stdout}"
