"""The notebooks as stored: a clean top-to-bottom run, well-formed nbval markers, enough compared output."""
import json
import re
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
LESSONS = sorted(FOLDER.glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((FOLDER / "solutions").glob("[0-9][0-9]_*.ipynb"))
NOTEBOOKS = LESSONS + SOLUTIONS
EXERCISE = re.compile(r"^(\d+)\. ", re.MULTILINE)
HEADING = re.compile(r"^## Exercise (\d+)\b", re.MULTILINE)
MARKER = re.compile(r"^\s*#\s*NBVAL_\w+")
RANDOM_CALL = re.compile(r"\brandom\.\w+\(")      # random.seed(...), np.random.rand(...), mx.random.uniform(...)


def code_cells(path):
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
            if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def ignored(cell):
    return any(line.strip() == "# NBVAL_IGNORE_OUTPUT" for line in "".join(cell["source"]).splitlines())


def markdown(path):
    return ["".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
            if c["cell_type"] == "markdown"]


def pictures(path):
    return sum(1 for c in code_cells(path) for o in c.get("outputs", [])
               if any(kind.startswith("image/") for kind in o.get("data", {})))


def test_the_numbered_sequence_starts_at_01():
    numbers = [int(p.name[:2]) for p in LESSONS]
    assert numbers[:3] == [1, 2, 3] and numbers == sorted(set(numbers))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_as_one_clean_run(path):
    counts = [c["execution_count"] for c in code_cells(path)]
    assert counts == list(range(1, len(counts) + 1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_nbval_markers_stand_alone_on_their_line(path):
    for cell in code_cells(path):
        for line in "".join(cell["source"]).splitlines():
            if MARKER.match(line):
                assert line.strip() in ("# NBVAL_IGNORE_OUTPUT", "# NBVAL_SKIP", "# NBVAL_CHECK_OUTPUT"), line


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_most_printing_cells_are_compared(path):
    printing = [c for c in code_cells(path) if any(o["output_type"] in ("stream", "execute_result")
                                                   for o in c.get("outputs", []))]
    compared = [c for c in printing if not ignored(c)]
    assert len(compared) >= 0.8 * len(printing)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_stderr_or_errors_are_stored(path):
    for cell in code_cells(path):
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error"
            assert not (output["output_type"] == "stream" and output["name"] == "stderr"), "".join(output["text"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_reads_quick_mode_first_and_seeds_in_its_own_cell(path):
    cells = code_cells(path)
    assert "WORKSHOP_QUICK" in "".join(cells[0]["source"])
    if not RANDOM_CALL.search("\n".join("".join(c["source"]) for c in cells)):
        return                                         # draws nothing at random (07 serves a shipped model)
    assert any("".join(c["source"]).lstrip().startswith("# Seed") or "random.seed" in "".join(c["source"])
               and len("".join(c["source"]).splitlines()) <= 4 for c in cells[:4])


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_notebook_ends_with_exercises(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert cells[-1]["cell_type"] == "markdown" and "Exercises" in "".join(cells[-1]["source"])


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_notebook_stores_at_least_two_pictures(path):
    assert pictures(path) >= 2


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_notebook_states_its_time_budget(path):
    introduction = markdown(path)[0]
    assert "**Time:**" in introduction and "CPU" in introduction and "GPU" in introduction


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_every_exercise_has_a_worked_solution(path):
    exercises = sorted(set(EXERCISE.findall(markdown(path)[-1].split("## Exercises", 1)[1])), key=int)
    solution = FOLDER / "solutions" / path.name.replace(".ipynb", "_solutions.ipynb")
    assert solution.is_file(), f"no {solution.name}"
    answered = sorted(set(HEADING.findall("\n".join(markdown(solution)))), key=int)
    assert exercises and answered == exercises
