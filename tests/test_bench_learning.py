"""benchmarks/bench_learning.py's bookkeeping (the training itself is a benchmark, not a test)."""
from benchmarks.bench_learning import accuracy_at, first_step_at, report

CURVE = [(25, 5.0, 0.30), (50, 10.0, 0.52), (75, 15.0, 0.61)]


def test_first_step_at_finds_the_first_step_at_the_level():
    assert first_step_at(CURVE, 0.5) == 50 and first_step_at(CURVE, 0.9) is None


def test_accuracy_at_takes_the_first_point_at_or_after_the_step():
    assert accuracy_at(CURVE, 40) == 0.52


def test_report_says_which_targets_are_met_and_never_for_no_exit():
    results = {"crepe-workshop": {"curve": CURVE, "test": 0.85, "seconds": 600, "steps": 75, "parameters": 10},
               "crepe-paper": {"curve": [(25, 5.0, 0.3)], "test": 0.4, "seconds": 600, "steps": 25, "parameters": 20}}
    text = report(results, 10)
    assert "- met: workshop Crepe leaves chance (val >= 0.50) within 150 steps (step 50)" in text
    assert "- met: workshop Crepe >= 0.82 test accuracy within 10 min (0.850)" in text
    assert "- NOT met: paper Crepe leaves chance within 400 steps (step never" in text
    assert "| never " in text


def test_report_names_each_model_s_augmentation():
    results = {"crepe-workshop": {"curve": CURVE, "test": 0.8, "seconds": 600, "steps": 75, "parameters": 10,
                                  "augment": "words out 0.2 + typos 0.1"},
               "crepe-workshop-plain": {"curve": CURVE, "test": 0.7, "seconds": 600, "steps": 75, "parameters": 10,
                                        "augment": "none"}}
    rows = [line for line in report(results, 10).splitlines() if line.startswith("| crepe")]
    assert "| words out 0.2 + typos 0.1 " in rows[0] and "| none " in rows[1]
