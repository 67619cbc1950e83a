"""The one verdict of an export: the report's privacy verdict, the copy filter's outcome,
and what the protections changed, recorded in the report."""

from __future__ import annotations

from typing import Any

from synthgen.privacy.changes import change_sentences

__all__ = ["settle_verdict"]


def _export_verdict(report, copies: dict[str, Any] | None) -> tuple[str, list[str]]:
    """The one verdict: the report's privacy verdict, failed when the copy filter left no row
    and at best a warning when it left too few."""
    found = report.verdicts["privacy"]
    verdict, reasons = found["verdict"], list(found["reasons"])
    if copies is None or copies["kept"] >= copies["wanted"]:
        return verdict, reasons
    passed = verdict == "pass"
    if passed:
        reasons = []  # "every measurement passes" is not the whole story any more
    if copies["kept"] == 0:
        reasons.insert(
            0,
            f"The copy filter dropped every synthetic row ({copies['checked']:,} drawn): each "
            "copied or nearly copied a training row, so no safe row is left; the measurements "
            "judge the rows the generator would have released.",
        )
        return "fail", reasons
    reasons.insert(
        0,
        f"Only {copies['kept']:,} of {copies['wanted']:,} synthetic rows are left after the copy "
        "filter: the generator kept producing copies of training rows.",
    )
    return ("warn" if passed else verdict), reasons


def settle_verdict(
    report: Any,
    copies: dict[str, Any] | None,
    log: dict[str, Any],
    protections: Any,
    force: bool,
    can_write: bool = True,
) -> tuple[str, list[str], list[str], bool]:
    """The export's one verdict set on ``report``, with what the protections changed and
    whether the data is written (a pass, or ``force``); records them in ``report.meta``.
    Returns ``(verdict, reasons, changes, written)``."""
    verdict, reasons = _export_verdict(report, copies)
    report.set_privacy_verdict(verdict, reasons)
    changes = change_sentences(log["changes"], copies, protections.min_category_count)
    written = can_write and (verdict == "pass" or force)
    log["protections"] = protections.to_dict()
    report.meta["export"] = {
        "verdict": verdict,
        "data_written": written,
        "change_lines": changes,
        "changes": log["changes"],
        "copies": copies,
        "protections": log["protections"],
    }
    if "rows" in log:  # an export in parts: how many rows, and the samples judged
        report.meta["export"]["rows"] = log["rows"]
    return verdict, reasons, changes, written
