"""Every chapter of the book, executed with papermill on the quick profile.

The first run trains the models every chapter shares (minutes on two CPU cores);
later runs load them from the model cache. Run only these tests with
``pytest -m notebook``, or skip them with ``pytest -m "not notebook"``.

Why papermill and not nbval: the chapters are committed without outputs, so
nbval (even in lax mode) would only run their cells. Papermill runs them the
same way and also injects parameters, and the executed notebook it returns lets
these tests check what the book build needs: every glued value that the prose
uses exists and formats, and every displayed widget has saved state.
"""

import re
from pathlib import Path

import nbformat
import pytest

papermill = pytest.importorskip("papermill")
format_plain_text = pytest.importorskip("myst_nb.core.variables").format_plain_text

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
GLUE_ROLE = re.compile(r"\{glue:text\}`([^`:]+):?([^`]*)`")
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

pytestmark = pytest.mark.notebook


def execute(path: Path, out_dir: Path, **parameters) -> nbformat.NotebookNode:
    """Run one chapter in its own folder, as the book build does."""
    out = out_dir / path.name
    papermill.execute_notebook(
        str(path), str(out), parameters={"profile": "quick", **parameters},
        cwd=str(path.parent), kernel_name="python3", progress_bar=False,
        execution_timeout=1800)
    return nbformat.read(out, as_version=4)


def outputs(nb: nbformat.NotebookNode):
    for cell in nb.cells:
        if cell.cell_type == "code":
            yield from cell.outputs


def test_every_chapter_is_found():
    assert len(CHAPTERS) >= 5, [p.name for p in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_and_every_reference_resolves(path, tmp_path):
    nb = execute(path, tmp_path)

    glued = {}
    for out in outputs(nb):
        record = out.get("metadata", {}).get("scrapbook")
        if record:
            # the book build warns on (and -W fails for) a key glued twice
            assert record["name"] not in glued, f"{record['name']!r} glued twice"
            glued[record["name"]] = out.data[record["mime_prefix"] + "text/plain"]
    used = {(key, spec) for cell in nb.cells if cell.cell_type == "markdown"
            for key, spec in GLUE_ROLE.findall(cell.source)}
    missing = sorted({key for key, _ in used} - set(glued))
    assert not missing, f"glue keys used but never glued: {missing}"
    for key, spec in used:  # what the book build does with each value
        try:
            format_plain_text(glued[key], spec or "s")
        except (TypeError, ValueError) as err:
            pytest.fail(f"glued {key!r} = {glued[key]} cannot be shown as "
                        f"{spec!r}: {err}")

    views = [out.data[WIDGET_VIEW]["model_id"] for out in outputs(nb)
             if WIDGET_VIEW in out.get("data", {})]
    if views:
        saved = nb.metadata["widgets"][WIDGET_STATE]["state"]
        assert set(views) <= set(saved), "a displayed widget has no saved state"


def test_injected_parameters_take_effect(tmp_path, monkeypatch):
    # The environment asks for the paper profile (and offers no data for it);
    # only the injected parameter can make the chapter run on the quick profile.
    monkeypatch.setenv("MI_PROFILE", "paper")
    monkeypatch.setenv("MI_DATA_ROOT", str(tmp_path / "no-data"))
    nb = execute(NOTEBOOKS / "01_threat_model.ipynb", tmp_path, profile="quick")

    injected = [cell for cell in nb.cells
                if "injected-parameters" in cell.metadata.get("tags", [])]
    assert len(injected) == 1 and 'profile = "quick"' in injected[0].source
    printed = "".join(out.get("text", "") for out in outputs(nb))
    assert "profile quick, data embedded, seed 0" in printed
