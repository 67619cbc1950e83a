"""The privacy sections of the HTML report: threat model, attack table, diagnostics note,
differential-privacy ledger and the manifest. Everything shown goes through
:func:`html.escape`; no row of any frame is shown."""

from __future__ import annotations

import html
import math
from typing import Any

__all__ = ["privacy_sections"]


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _n(value: Any) -> str:
    if isinstance(value, (int, float)) and math.isfinite(value):
        return _e(f"{value:.3g}")
    return "&ndash;"


def _iv(interval: Any) -> str:
    if not interval:
        return ""
    return f" <span class='small'>[{_n(interval[0])}, {_n(interval[1])}]</span>"


def _attack_table(table: dict[str, Any]) -> str:
    heads = [
        "attack",
        "AUC (all)",
        "TPR @ 0.1% FPR",
        "TPR @ 1% FPR",
        "TPR @ 10% FPR",
        "AUC (vulnerable)",
        "TPR @ 1% FPR (vulnerable)",
        "seconds",
    ]
    rows = ["<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in heads) + "</tr>"]
    for name, parts in table.get("attacks", {}).items():
        a, v = parts["all"], parts["vulnerable"]
        cells = [
            _e(name),
            _n(a["auc"]) + _iv(a["auc_interval"]),
            *(_n(a["tpr_at_fpr"][f]) + _iv(a["tpr_interval"][f]) for f in ("0.001", "0.01", "0.1")),
            _n(v["auc"]) + _iv(v["auc_interval"]),
            _n(v["tpr_at_fpr"]["0.01"]) + _iv(v["tpr_interval"]["0.01"]),
            _n(table.get("seconds", {}).get(name)),
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    for name, why in table.get("skipped", {}).items():
        rows.append(
            f"<tr class='skipped'><td>{_e(name)}</td><td colspan='7'>skipped: {_e(why)}</td></tr>"
        )
    return "".join(rows) + "</table>"


def _threat_model(table: dict[str, Any]) -> str:
    sizes = table.get("sizes", {})
    items = "".join(
        f"<li><b>{_e(k.replace('_', ' '))}</b>: {_e(v)}</li>"
        for k, v in table.get("threat_model", {}).items()
    )
    size_text = ", ".join(f"{k.replace('_', ' ')}: {v:,}" for k, v in sizes.items())
    return (
        f"<ul>{items}</ul><p class='small'>Rows: {_e(size_text)}; seed {_e(table.get('seed'))}.</p>"
    )


def _ledger(dp: dict[str, Any]) -> str:
    steps = dp.get("steps") or {}
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{_n(v)}</td></tr>" for k, v in steps.items())
    sgd = dp.get("dp_sgd") or {}
    extra = ""
    if sgd:
        extra = (
            f"<p class='small'>DP-SGD: noise multiplier {_n(sgd.get('noise_multiplier'))}, "
            f"sample rate {_n(sgd.get('sample_rate'))}, {_e(sgd.get('steps'))} steps, "
            f"clipping norm {_n(sgd.get('max_grad_norm'))}.</p>"
        )
    return (
        "<h3>Privacy ledger</h3>"
        f"<p>Spent &epsilon; = {_n(dp.get('epsilon'))} at &delta; = {_n(dp.get('delta'))} "
        f"(target &epsilon; = {_n(dp.get('target_epsilon'))}). Accountant: "
        f"{_e(dp.get('accountant') or dp.get('accounting') or 'not recorded')}"
        + (f"; opacus {_e(dp['opacus_version'])}" if dp.get("opacus_version") else "")
        + ".</p>"
        + (
            f"<table><tr><th>step</th><th>&epsilon; on its own</th></tr>{rows}</table>"
            if rows
            else ""
        )
        + extra
    )


def _manifest(meta: dict[str, Any]) -> str:
    man = meta.get("manifest") or {}
    versions = man.get("versions") or {}
    vtext = ", ".join(f"{k} {v}" for k, v in versions.items() if v)
    return (
        "<h2>Manifest</h2><p class='small'>"
        f"random_state {_e(man.get('random_state'))}; attack seed {_e(man.get('attack_seed'))}; "
        f"versions: {_e(vtext)}.</p>"
    )


def privacy_sections(meta: dict[str, Any]) -> str:
    """Threat model and attack table, the diagnostics note, the DP ledger and the manifest."""
    out = []
    table = meta.get("privacy_attacks")
    if table:
        out.append("<h2>Privacy attacks</h2><h3>Threat model</h3>" + _threat_model(table))
        out.append("<h3>Membership inference</h3>" + _attack_table(table))
        out.append(
            "<p class='small'>The privacy verdict rests on these attacks (the strongest one "
            "decides) and on the singling-out, linkability and attribute-inference risks, each "
            "measured against unseen rows. DCR share, NNDR and exact-copy rates are "
            "<b>diagnostics, not evidence of privacy</b>: data can pass them and still be open "
            "to membership inference.</p>"
        )
    dp = meta.get("differential_privacy")
    if dp:
        out.append(_ledger(dp))
    out.append(_manifest(meta))
    return "".join(out)
