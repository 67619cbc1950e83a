"""On real data the copula keeps pair trends that independent marginals lose."""

from sdmetrics.reports.single_table import QualityReport

import synthgen as sg
from synthgen.evaluation.split import split_train_holdout


def _scores(real, synthetic, schema):
    metadata = {
        "columns": {
            c.name: {"sdtype": "numerical" if c.kind == "numeric" else "categorical"}
            for c in schema
        }
    }
    report = QualityReport()
    report.generate(real, synthetic, metadata, verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return props["Column Shapes"], props["Column Pair Trends"]


def test_copula_beats_marginals_on_pair_trends(adult):
    train, _ = split_train_holdout(adult.head(4000), random_state=0)
    results = {}
    for key in ("marginals", "copula"):
        model = sg.make_generator(key, random_state=0).fit(train)
        results[key] = _scores(train, model.sample(len(train)), model.schema_)
    assert results["copula"][1] > results["marginals"][1]
    assert results["copula"][0] > 0.9 and results["marginals"][0] > 0.9
