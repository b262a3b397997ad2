"""benchmarks/bench_distributed.py's arithmetic (the timing itself is a benchmark, not a test)."""
import pytest

from benchmarks.bench_distributed import LATENCY, LINK_EFFICIENCY, TARGET, projection, report

RESULT = {"rank": 0, "workers": 2, "rows": 16, "steps": 5, "param_bytes": 1_000_000, "compute": 0.09,
          "kvstore": 0.01, "update": 0.0}


def test_projection_two_machines_on_10_gbe_by_hand():
    row = projection(0.1, 1_000_000, 16)[0]
    comm = 2 * 1_000_000 * (1 / 2) * 8 / (10e9 * LINK_EFFICIENCY) + LATENCY          # 1 MB each way, 0.8 Gb/s usable
    assert row["machines"] == 2 and row["links"]["10 GbE"] == pytest.approx(
        {"comm": comm, "samples_per_s": 2 * 16 / (0.1 + comm), "efficiency": 0.1 / (0.1 + comm)})


def test_projection_efficiency_never_rises_with_more_machines():
    rows = projection(0.1, 50_000_000, 16)
    efficiencies = [row["links"]["10 GbE"]["efficiency"] for row in rows]
    assert efficiencies == sorted(efficiencies, reverse=True) and efficiencies[-1] < efficiencies[0]


def test_report_writes_the_projection_rounded():
    single = [{**RESULT, "workers": 1, "rows": 32, "compute": 0.1, "kvstore": 0.0}]
    two = projection(0.09, 1_000_000, 16)[0]["links"]
    text = report(single, [RESULT, {**RESULT, "rank": 1}], 32).split("**Projected**")[1]
    lines = [[cell.strip() for cell in line.strip("|").split("|")]
             for line in text.splitlines() if line.startswith("|")]
    expected = [f"{two[link][key] * scale:{form}}" for link in two
                for key, scale, form in (("comm", 1e3, ".2f"), ("samples_per_s", 1, ".0f"), ("efficiency", 1, ".0%"))]
    assert ["2", *expected] in lines


def test_report_says_whether_the_target_is_met():
    single = [{**RESULT, "workers": 1, "rows": 32, "compute": 0.1, "kvstore": 0.0}]
    met = report(single, [RESULT, {**RESULT, "rank": 1}], 32)
    missed = report(single, [{**RESULT, "kvstore": 0.2}, {**RESULT, "rank": 1}], 32)
    assert f">= {TARGET:.2f}x" in met and "1.00x, met" in met and "NOT met" in missed and "**Projected**" in met
