"""Structure learning of :class:`~synthgen.generators.mst.DPMarginals`: the noisy tree (MST)
or Bayesian network over the released attributes, and the small numeric helpers it uses."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

__all__ = ["StructureLearning", "draw_rows"]


def _project_simplex(v: np.ndarray, total: float) -> np.ndarray:
    """Euclidean projection of ``v`` onto ``{x >= 0, sum(x) = total}``."""
    v = np.asarray(v, dtype=float).ravel()
    if total <= 0 or len(v) == 0:
        return np.zeros_like(v)
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - total
    ind = np.arange(1, len(v) + 1)
    cond = u - css / ind > 0
    r = ind[cond][-1] if cond.any() else 1
    theta = css[r - 1] / r
    return np.maximum(v - theta, 0.0)


def _ipf(table: np.ndarray, rows: np.ndarray, cols: np.ndarray, iters: int = 20) -> np.ndarray:
    """Scale ``table`` towards row sums ``rows`` and column sums ``cols``."""
    t = table.astype(float).copy()
    for _ in range(iters):
        rs = t.sum(axis=1)
        t *= np.divide(rows, rs, out=np.zeros_like(rs), where=rs > 0)[:, None]
        cs = t.sum(axis=0)
        t *= np.divide(cols, cs, out=np.zeros_like(cs), where=cs > 0)[None, :]
    return t


def draw_rows(prob: np.ndarray, given: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One code per row from ``prob[given[row]]`` (rows of ``prob`` sum to 1)."""
    cdf = np.cumsum(prob, axis=1)
    u = rng.random(len(given)) * cdf[given, -1]
    return np.minimum((cdf[given] <= u[:, None]).sum(axis=1), prob.shape[1] - 1)


class StructureLearning:
    """Fitting steps of the DP marginal model (a mixin of the estimator)."""

    ledger_: Any
    preprocessor_: Any
    max_bins: int
    max_parents: int

    def _fit_tree(self, coarse, ks, one_way, n_hat, sigma1, rho_sel, rho_two, rng) -> None:
        """MST: a private maximum spanning tree, its noisy pairs, made consistent."""
        d = len(coarse)
        edges = self._select(coarse, ks, one_way, n_hat, rho_sel, rng) if d > 1 else []
        self.ledger_.add_zcdp("tree selection", rho_sel if d > 1 else 0.0)
        sigma2 = math.sqrt(max(len(edges), 1) / (2.0 * rho_two))
        self.ledger_.add_zcdp("two-way marginals", rho_two if edges else 0.0)
        tables = {}
        for i, j in edges:
            counts = np.bincount(coarse[i] * ks[j] + coarse[j], minlength=ks[i] * ks[j])
            tables[(i, j)] = (counts + rng.normal(0, sigma2, ks[i] * ks[j])).reshape(ks[i], ks[j])
        # estimation: pooled one-way estimates, consistent two-way tables
        marg = []
        for a in range(d):
            est, var = one_way[a][0], np.maximum(one_way[a][1], 1e-3 * sigma1**2)
            num, den = est / var, 1.0 / var
            for (i, j), t in tables.items():
                if a in (i, j):
                    m = t.sum(axis=1) if a == i else t.sum(axis=0)
                    v = (ks[j] if a == i else ks[i]) * sigma2**2
                    num, den = num + m / v, den + 1.0 / v
            marg.append(_project_simplex(num / den, n_hat))
        fitted = {
            e: _ipf(_project_simplex(t, n_hat).reshape(t.shape), marg[e[0]], marg[e[1]])
            for e, t in tables.items()
        }
        self._build_tree(d, edges, fitted, marg)

    def _fit_network(self, coarse, ks, one_way, n_hat, rho_sel, rho_two, rng) -> None:
        """A Bayesian network with up to ``max_parents`` parents per attribute: greedy private
        selection of (attribute, parents) by the exponential mechanism, then one noisy
        marginal per attribute and its parents; sampling it ancestrally is exact."""
        d = len(coarse)
        sigma2 = math.sqrt(d / (2.0 * rho_two))
        cap = max(n_hat / (4.0 * sigma2), 2.0)  # cells a table may have and still be useful
        probs = [_project_simplex(m, n_hat) / n_hat for m, _ in one_way]
        root = int(rng.integers(d))  # data-independent start
        added, parents = [root], {root: ()}
        eps_em = math.sqrt(8.0 * rho_sel / max(d - 1, 1))
        # AIM's penalty: the L1 error a table's noise adds (sqrt(2 / pi) sigma a cell, less
        # after the projection onto counts), so that a wide table whose dependence the noise
        # would drown loses to a narrow one; no parents scores 0. A quarter of it: at half,
        # epsilon 1 on Adult left income with one parent in some fits (TSTR 0.82 for 0.87).
        noise_l1 = 0.25 * math.sqrt(2.0 / math.pi) * sigma2
        for _ in range(d - 1):
            cands, scores = [], []
            for x in range(d):
                if x in parents:
                    continue
                cands.append((x, ()))
                scores.append(0.0)
                for r in range(1, self.max_parents + 1):
                    for pa in itertools.combinations(added, r):
                        if ks[x] * math.prod(ks[p] for p in pa) > cap and r > 1:
                            continue
                        key = np.zeros(len(coarse[x]), dtype=np.int64)
                        for p in pa:
                            key = key * ks[p] + coarse[p]
                        n_pa = math.prod(ks[p] for p in pa)
                        joint = np.bincount(key * ks[x] + coarse[x], minlength=n_pa * ks[x])
                        joint = joint.reshape(n_pa, ks[x])
                        # distance from "x independent of its parents" (sensitivity 2)
                        indep = joint.sum(axis=1, keepdims=True) * probs[x][None, :]
                        cands.append((x, pa))
                        penalty = noise_l1 * n_pa * ks[x]
                        scores.append(float(np.abs(joint - indep).sum()) - penalty)
            q = np.asarray(scores)
            w = np.exp(eps_em * (q - q.max()) / 4.0)
            x, pa = cands[int(rng.choice(len(cands), p=w / w.sum()))]
            added.append(x)
            parents[x] = pa
        self.ledger_.add_zcdp("structure selection", rho_sel if d > 1 else 0.0)
        self.ledger_.add_zcdp("marginals of attribute and parents", rho_two)
        cond = []
        for a in range(d):
            pa = parents[a]
            key = np.zeros(len(coarse[a]), dtype=np.int64)
            for p in pa:
                key = key * ks[p] + coarse[p]
            n_pa = math.prod(ks[p] for p in pa)
            counts = np.bincount(key * ks[a] + coarse[a], minlength=n_pa * ks[a]).astype(float)
            noisy = _project_simplex(counts + rng.normal(0, sigma2, len(counts)), n_hat)
            table = noisy.reshape(n_pa, ks[a])
            rows = table.sum(axis=1, keepdims=True)
            fallback = _project_simplex(one_way[a][0], n_hat) / n_hat
            cond.append(np.where(rows > 0, table / np.where(rows > 0, rows, 1.0), fallback))
        self.order_ = added
        self.parents_ = [list(parents[a]) for a in range(d)]
        self.conditionals_ = cond

    def _support(self, name: str, size: int) -> np.ndarray:
        """Fine cells the release leaves possible: numeric bins inside the released bounds
        (the rows were clipped to them), every other cell."""
        release = self.preprocessor_.releases_[name]
        live = np.ones(size, dtype=bool)
        if release.kind not in ("numeric", "datetime"):
            return live
        edges = np.asarray(release.edges, dtype=float)
        inside = (edges[1:] > release.low) & (edges[:-1] < release.high)
        if not inside.any():  # bounds of one value: the bin that holds it
            at = int(np.searchsorted(edges, release.low, side="right")) - 1
            inside[min(max(at, 0), len(inside) - 1)] = True
        live[: len(inside)] = inside
        return live

    def _pool(self, name: str, noisy: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
        """One-way estimate of column ``name``'s fine cells and its noise scale per cell: this
        model's noisy counts (noise ``sigma``) pooled by inverse variance with the counts the
        preprocessing released (free: already private); cells the release rules out (outside
        the bounds, numeric bins it dropped) are zero."""
        size = len(noisy)
        live = self._support(name, size)
        release = self.preprocessor_.releases_[name]
        scales = getattr(self.preprocessor_, "noise_", {}).get(name)
        est, sd = np.asarray(noisy, dtype=float), np.full(size, float(sigma))
        if scales is not None:
            prior = np.append(np.asarray(release.counts, dtype=float), release.missing)[:size]
            w1, w0 = 1.0 / sigma**2, 1.0 / np.asarray(scales[:size]) ** 2
            est = (est * w1 + prior * w0) / (w1 + w0)
            sd = 1.0 / np.sqrt(w1 + w0)
            if release.kind in ("numeric", "datetime"):
                live[: len(release.counts)] &= prior[: len(release.counts)] > 0
        return np.where(live, est, 0.0), sd

    def _group(self, name: str, noisy: np.ndarray, sigma: Any) -> np.ndarray:
        """Map fine codes to groups: small values pooled, numeric bins to quantile groups."""
        release = self.preprocessor_.releases_[name]
        size = len(noisy)
        group = np.full(size, -1, dtype=np.int64)
        big = noisy >= 3 * sigma
        if release.kind in ("numeric", "datetime"):
            n_fine = len(release.edges) - 1
            nxt = 0
            special = [c for c in range(n_fine, size) if big[c]]  # zero bin, missing cell
            w = np.maximum(noisy[:n_fine], 0.0)
            if 0 < np.count_nonzero(w) <= self.max_bins:  # few values: one group each
                group[:n_fine] = np.maximum(np.cumsum(w > 0) - 1, 0)
                nxt = int(group[:n_fine].max()) + 1
            elif w.sum() > 0:
                cdf = np.cumsum(w) / w.sum()
                q = np.minimum((cdf * self.max_bins - 1e-9).astype(np.int64), self.max_bins - 1)
                q = np.maximum.accumulate(np.concatenate([[0], q[:-1]]))  # bin starts its group
                _, group[:n_fine] = np.unique(q, return_inverse=True)
                nxt = int(group[:n_fine].max()) + 1
            else:
                group[:n_fine] = 0
                nxt = 1
            for c in special:
                group[c] = nxt
                nxt += 1
            rest = group < 0
            if rest.any():  # a small zero bin or missing cell joins its own rare group
                group[rest] = nxt
            return group
        keep = np.flatnonzero(big)
        group[keep] = np.arange(len(keep))
        if (group < 0).any():
            group[group < 0] = len(keep)
        return group

    def _select(self, coarse, ks, one_way, n_hat, rho_sel, rng) -> list[tuple[int, int]]:
        d = len(coarse)
        probs = [_project_simplex(m, n_hat) / n_hat for m, _ in one_way]
        score = {}
        for i in range(d):
            for j in range(i + 1, d):
                counts = np.bincount(coarse[i] * ks[j] + coarse[j], minlength=ks[i] * ks[j])
                model = n_hat * np.outer(probs[i], probs[j]).ravel()
                score[(i, j)] = float(np.abs(counts - model).sum())
        eps_em = math.sqrt(8.0 * rho_sel / (d - 1))
        comp = list(range(d))

        def find(a: int) -> int:
            while comp[a] != a:
                comp[a] = comp[comp[a]]
                a = comp[a]
            return a

        chosen = []
        for _ in range(d - 1):
            cands = [e for e in score if find(e[0]) != find(e[1])]
            q = np.array([score[e] for e in cands])
            # exponential mechanism, sensitivity 1: P ~ exp(eps * q / 2)
            logits = eps_em * (q - q.max()) / 2.0
            p = np.exp(logits)
            pick = cands[int(rng.choice(len(cands), p=p / p.sum()))]
            chosen.append(pick)
            comp[find(pick[0])] = find(pick[1])
        return chosen

    def _build_tree(self, d, edges, fitted, marg) -> None:
        neighbours: dict[int, list[int]] = {a: [] for a in range(d)}
        for i, j in edges:
            neighbours[i].append(j)
            neighbours[j].append(i)
        order, parent = [], {}
        seen = set()
        for root in range(d):
            if root in seen:
                continue
            stack = [root]
            seen.add(root)
            parent[root] = -1
            while stack:
                a = stack.pop(0)
                order.append(a)
                for b in sorted(neighbours[a]):
                    if b not in seen:
                        seen.add(b)
                        parent[b] = a
                        stack.append(b)
        self.order_ = order
        self.parents_ = [[parent[a]] if parent[a] >= 0 else [] for a in range(d)]
        cond = []
        for a in range(d):
            p = parent[a]
            if p < 0:
                m = marg[a]
                table = (m / m.sum() if m.sum() > 0 else np.full(len(m), 1 / len(m)))[None, :]
            else:
                t = fitted[(p, a)] if (p, a) in fitted else fitted[(a, p)].T
                rows = t.sum(axis=1, keepdims=True)
                m = marg[a]
                fallback = m / m.sum() if m.sum() > 0 else np.full(len(m), 1 / len(m))
                table = np.where(rows > 0, t / np.where(rows > 0, rows, 1.0), fallback[None, :])
            cond.append(table)
        self.conditionals_ = cond
