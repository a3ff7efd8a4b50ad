"""``python -m glassgrad explain``: the mlp-2-2-3-1 numbers against a derivation written out here by hand (plain
Python floats, no engine), expressions read safely, Markdown and LaTeX well formed, --out and --graph."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from glassgrad.autograd import mlp_by_hand
from glassgrad.cli import main

TIMEOUT = 180


def explain(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(["explain", *args])
    out, err = capsys.readouterr()
    return code, out, err


def results(text: str) -> dict[str, float]:
    """lhs → the number at the end of each ``  lhs = ... = result   note`` line (the first line per lhs)."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        m = re.match(r"  (\S+(?: \S+)?)\s+= .* = (-?[0-9.e+-]+)(?:   .*)?$", line)
        if m and m.group(1) not in found:
            found[m.group(1)] = float(m.group(2))
    return found


def hand_derivation() -> dict[str, float]:
    """mlp-2-2-3-1 by hand: x = (1, 2), y = 1, ReLU after each layer, L = ½(ŷ − y)², SGD lr = 0.1."""
    x0, x1, y, lr = 1.0, 2.0, 1.0, 0.1
    # layer 1: W1 = [[0.1, 0.2], [0.3, 0.4]], b1 = (0.1, 0.2)
    z1_0 = 0.1 * x0 + 0.2 * x1 + 0.1  # 0.6
    z1_1 = 0.3 * x0 + 0.4 * x1 + 0.2  # 1.3
    h1_0, h1_1 = max(z1_0, 0.0), max(z1_1, 0.0)
    # layer 2: W2 = [[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]], b2 = (0.1, 0.2, 0.3)
    z2_0 = 0.1 * h1_0 + 0.4 * h1_1 + 0.1  # 0.68
    z2_1 = 0.2 * h1_0 + 0.5 * h1_1 + 0.2  # 0.97
    z2_2 = 0.3 * h1_0 + 0.6 * h1_1 + 0.3  # 1.26
    h2_0, h2_1, h2_2 = max(z2_0, 0.0), max(z2_1, 0.0), max(z2_2, 0.0)
    # layer 3: W3 = [[0.1, 0.1, 0.1]], b3 = 0.1
    z3 = 0.1 * h2_0 + 0.1 * h2_1 + 0.1 * h2_2 + 0.1  # 0.391
    y_hat = max(z3, 0.0)
    loss = 0.5 * (y_hat - y) ** 2  # 0.1854405
    # backward: all pre-activations are positive, so every ReLU passes its gradient
    d_y = y_hat - y  # -0.609
    d_z3 = d_y
    d_W3 = [d_z3 * h2_0, d_z3 * h2_1, d_z3 * h2_2]
    d_b3 = d_z3
    d_h2 = [d_z3 * 0.1, d_z3 * 0.1, d_z3 * 0.1]
    d_z2 = d_h2
    d_W2 = [[d_z2[i] * h1_0, d_z2[i] * h1_1] for i in range(3)]
    d_b2 = d_z2
    d_h1 = [d_z2[0] * 0.1 + d_z2[1] * 0.2 + d_z2[2] * 0.3, d_z2[0] * 0.4 + d_z2[1] * 0.5 + d_z2[2] * 0.6]
    d_z1 = d_h1
    d_W1 = [[d_z1[i] * x0, d_z1[i] * x1] for i in range(2)]
    d_b1 = d_z1
    # one SGD step
    W1 = [[0.1 - lr * d_W1[0][0], 0.2 - lr * d_W1[0][1]], [0.3 - lr * d_W1[1][0], 0.4 - lr * d_W1[1][1]]]
    b1 = [0.1 - lr * d_b1[0], 0.2 - lr * d_b1[1]]
    W2 = [[w - lr * g for w, g in zip(row, grow, strict=True)] for row, grow in zip([[0.1, 0.4], [0.2, 0.5], [0.3, 0.6]], d_W2, strict=True)]  # fmt: skip
    b2 = [0.1 - lr * d_b2[0], 0.2 - lr * d_b2[1], 0.3 - lr * d_b2[2]]
    W3 = [0.1 - lr * g for g in d_W3]
    b3 = 0.1 - lr * d_b3
    # the loss with the new weights
    n1 = [max(W1[i][0] * x0 + W1[i][1] * x1 + b1[i], 0.0) for i in range(2)]
    n2 = [max(W2[i][0] * n1[0] + W2[i][1] * n1[1] + b2[i], 0.0) for i in range(3)]
    n3 = max(W3[0] * n2[0] + W3[1] * n2[1] + W3[2] * n2[2] + b3, 0.0)
    new_loss = 0.5 * (n3 - y) ** 2

    out = {"z1[0]": z1_0, "z1[1]": z1_1, "h1[0]": h1_0, "h1[1]": h1_1}
    out |= {"z2[0]": z2_0, "z2[1]": z2_1, "z2[2]": z2_2, "h2[0]": h2_0, "h2[1]": h2_1, "h2[2]": h2_2}
    out |= {"z3[0]": z3, "h3[0]": y_hat, "L": loss, "dL/dŷ": d_y, "dL/dz3[0]": d_z3, "dL/db3[0]": d_b3}
    for j in range(3):
        out[f"dL/dW3[0,{j}]"] = d_W3[j]
        out[f"dL/dh2[{j}]"] = d_h2[j]
        out[f"dL/dz2[{j}]"] = d_z2[j]
        out[f"dL/db2[{j}]"] = d_b2[j]
        out[f"new W3[0,{j}]"] = W3[j]
        out[f"new b2[{j}]"] = b2[j]
        for k in range(2):
            out[f"dL/dW2[{j},{k}]"] = d_W2[j][k]
            out[f"new W2[{j},{k}]"] = W2[j][k]
    for i in range(2):
        out[f"dL/dh1[{i}]"] = d_h1[i]
        out[f"dL/dz1[{i}]"] = d_z1[i]
        out[f"dL/db1[{i}]"] = d_b1[i]
        out[f"new b1[{i}]"] = b1[i]
        for k in range(2):
            out[f"dL/dW1[{i},{k}]"] = d_W1[i][k]
            out[f"new W1[{i},{k}]"] = W1[i][k]
    out["new b3[0]"] = b3
    out["new L"] = new_loss
    return out


def test_mlp_2_2_3_1_prints_the_hand_derived_numbers_each_checked(capsys: pytest.CaptureFixture) -> None:
    code, text, err = explain(capsys, "mlp-2-2-3-1")
    assert code == 0, err
    expected = hand_derivation()
    assert expected["L"] == pytest.approx(0.1854405) and expected["dL/dW1[1,1]"] == pytest.approx(-0.1827)
    printed = results(text)
    new_forward = text.split("Forward pass with the new weights")[1]
    printed["new L"] = results(new_forward)["L"]
    for name, value in expected.items():
        assert name in printed, f"{name} is not printed"
        assert printed[name] == pytest.approx(value, rel=1e-5, abs=1e-9), name  # 6 significant digits
    derived = [line for line in text.splitlines() if re.match(r"  \S.* = ", line) and "→" not in line]
    assert len(derived) == 13 + 31 + 19 + 13  # forward, backward, SGD step, new forward: every line checked
    assert all(line.endswith("   checked") for line in derived)
    # each line shows its formula and numbers: the backward of one weight, and one update, in full
    assert "dL/dW2[1,0] = dL/dz2[1] · h1[0] = (-0.0609) · 0.6 = -0.03654   checked" in text
    assert "new W3[0,2] = W3[0,2] − lr · dL/dW3[0,2] = 0.1 − 0.1 · (-0.76734) = 0.176734   checked" in text
    assert "\n  L = 0.18544 → 0.058278   lower by 0.127162\n" in text


def test_a_disagreement_with_the_engine_fails_loudly(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    network = mlp_by_hand._network

    def off_by_a_bit(x, params):  # the engine's forward, one hidden value nudged
        out = network(x, params)
        out["z2"] = out["z2"] + 1e-6
        return out

    monkeypatch.setattr(mlp_by_hand, "_network", off_by_a_bit)
    with pytest.raises(RuntimeError, match=r"z2\[0\] = .* by hand, but the engine computed .* disagree"):
        main(["explain", "mlp-2-2-3-1"])


def test_the_command_in_a_fresh_process_and_its_markdown_and_latex(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "glassgrad", "explain", "mlp-2-2-3-1"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert results(result.stdout)["dL/dW1[0,1]"] == pytest.approx(hand_derivation()["dL/dW1[0,1]"], rel=1e-5)

    code, md, _ = explain(capsys, "mlp-2-2-3-1", "--format", "markdown")
    assert code == 0
    assert md.startswith("## mlp-2-2-3-1")
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert all(len(re.findall(r"(?<!\\)\|", row)) == 6 for row in rows)
    assert md.count("| step | formula | with the numbers | result | note |") == md.count("|---|---|---|---|---|") == 5
    assert "| `dL/dW3[0,1]` | `dL/dz3[0] · h2[1]` | `(-0.609) · 0.97` | `-0.59073` | checked |" in md

    out = tmp_path / "mlp.tex"
    code, printed, _ = explain(capsys, "mlp-2-2-3-1", "--format", "latex", "--out", str(out))
    assert code == 0 and printed.strip() == f"wrote {out}"
    tex = out.read_text(encoding="utf-8")
    assert tex.isascii()
    assert tex.startswith("\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}")
    assert tex.rstrip().endswith("\\end{document}")
    assert tex.count("\\begin{align*}") == tex.count("\\end{align*}") == 5
    depth = 0
    for i, c in enumerate(tex):
        if c in "{}" and tex[i - 1] != "\\":
            depth += 1 if c == "{" else -1
            assert depth >= 0
    assert depth == 0
    assert "\\partial L/\\partial W3[0,1] &= \\partial L/\\partial z3[0] \\cdot h2[1]" in re.sub(" +", " ", tex)
    if shutil.which("pdflatex"):  # typeset it where LaTeX is installed
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", out.name], cwd=tmp_path, capture_output=True, timeout=TIMEOUT, check=False)  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:]


def test_an_expression_is_explained_with_its_own_names(capsys: pytest.CaptureFixture) -> None:
    code, text, err = explain(capsys, "--expr", "(x*w + b).tanh()", "--values", "x=0.5,w=-1.2,b=0.1")
    assert code == 0, err
    # by hand
    import math

    t2 = 0.5 * -1.2 + 0.1
    y = math.tanh(t2)
    d_t2 = 1 - y * y
    printed = results(text)
    assert printed["t₁"] == pytest.approx(-0.6) and printed["L"] == pytest.approx(y, rel=1e-5)
    assert printed["dL/dt₂"] == pytest.approx(d_t2, rel=1e-5)
    assert printed["dL/dw"] == pytest.approx(d_t2 * 0.5, rel=1e-5)
    assert printed["dL/dx"] == pytest.approx(d_t2 * -1.2, rel=1e-5)
    assert f"dL/dw  = g · x = {d_t2:.6g} · 0.5 = {d_t2 * 0.5:.6g}" in text
    checks = text.split("Checked by central differences")[1]
    assert checks.count("checked: the engine's backward agrees") == 3


def test_a_shared_tensor_and_a_vector_expression(capsys: pytest.CaptureFixture) -> None:
    code, text, _ = explain(capsys, "shared")
    assert code == 0
    assert "dL/da  = (via L) + (via t₁) = 1 + 2 = 3" in text
    code, text, _ = explain(capsys, "--expr", "(v * v).sum() / 2", "--values", "v=[1,-2,3]", "--format", "markdown")
    assert code == 0
    assert "| `dL/dv` | `(via t₁) + (via t₁)` | `[0.5, -1, 1.5] + [0.5, -1, 1.5]` | `[1, -2, 3]` |" in text


@pytest.mark.parametrize(
    ("expr", "values", "message"),
    [
        ("q*x", "x=1,q=2", None),  # fine: both given
        ("__import__('os').system('true')", "", "unknown function 'system'"),
        ("__import__('os')", "", "unknown function '__import__'"),
        ("x.__class__", "x=1", "'x.__class__' (Attribute) is not allowed"),
        ("x.foo()", "x=1", "unknown function 'foo'"),
        ("x[0]", "x=[1,2]", "(Subscript) is not allowed"),
        ("x*y", "x=1", "no value for y"),
        ("x*2", "x=1,z=3", "z given a value but not used"),
        ("x // 2", "x=1", "the operator FloorDiv is not allowed"),
        ("x.sum(x)", "x=[1,2]", "the argument 'x' (only numbers are allowed there)"),
        ("(x", "x=1", "cannot read the expression"),
        ("x*2", "x=abc", "x='abc' is not a number"),
    ],
)
def test_an_expression_is_read_safely(capsys: pytest.CaptureFixture, expr: str, values: str, message: str | None) -> None:  # fmt: skip
    code, out, err = explain(capsys, "--expr", expr, "--values", values)
    if message is None:
        assert code == 0, err
        return
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m glassgrad explain: "), err
    assert message in lines[0]


def test_a_bad_name_lists_the_allowed_ones(capsys: pytest.CaptureFixture) -> None:
    code, _, err = explain(capsys, "--expr", "x * exp_(x)", "--values", "x=1")
    assert code == 2
    assert "unknown function 'exp_'" in err
    assert "allowed: the variables x, numbers, + - * / ** @, unary -" in err and "tanh" in err and "sigmoid" in err


def test_list_and_mistakes(capsys: pytest.CaptureFixture) -> None:
    code, out, _ = explain(capsys, "--list")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names[0] == "mlp-2-2-3-1" and {"neuron", "shared", "vector"} <= set(names)
    for args, message in [
        ((), "which example?"),
        (("nope",), "no example 'nope'; the examples are mlp-2-2-3-1, neuron"),
        (("neuron", "--expr", "x"), "not both"),
        (("neuron", "--graph", "g.jpeg"), "should end in .svg, .png, .pdf, .dot"),
    ]:
        code, _, err = explain(capsys, *args)
        assert code == 2 and message in err, (args, err)


def test_graph_dot_needs_no_graphviz_and_svg_says_how_to_install_it(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    dot = tmp_path / "g.dot"
    code, out, _ = explain(capsys, "neuron", "--graph", str(dot))
    assert code == 0 and f"wrote {dot}" in out
    source = dot.read_text(encoding="utf-8")
    assert source.startswith("digraph autograd {") and source.count(" -> ") == 5  # x, w → Mul; Mul, b → Add; → Tanh
    assert 'label="w\\n() float64\\nvalue -1.2\\ngrad 0.393224"' in source
    monkeypatch.setattr(shutil, "which", lambda name: None)
    code, out, err = explain(capsys, "neuron", "--graph", str(tmp_path / "g.svg"))
    assert code == 2 and out == ""  # refused before printing anything
    assert "apt install graphviz" in err and "brew install graphviz" in err and "conda install graphviz" in err
