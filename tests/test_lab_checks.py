"""Every lab check proves itself by breakage: each committed wrong answer fails it with the hint for its
own mistake, and every requirement a lab states is broken by one of them.

Wrong answers live in ``tests/wrong_answers/`` (one module per lab), each beside the requirement of
the lab's contract it violates. Files are written into a scratch folder that the servers a check
starts import from (their working directory), exactly as a learner's ``%%writefile`` cell would.
"""

from __future__ import annotations

import textwrap

import pytest

from looplab.course import checks, contracts, labs
from looplab.course.checks import LabCheckFailed

from .wrong_answers import Wrong, by_lab

WRONG = by_lab()
SOLUTIONS = {int(path.name[4:6]): path for path in sorted(labs.SOLUTIONS.glob("lab-*.ipynb"))}


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # servers started by the checks import learners' modules from here

    def write(name: str, source: str) -> str:
        (tmp_path / name).write_text(textwrap.dedent(source))
        return name
    return write


def fails_with(hint: str, check, *args, **kwargs) -> None:
    with pytest.raises(LabCheckFailed) as failed:
        check(*args, **kwargs)
    assert hint in failed.value.hint, failed.value.hint


def test_every_lab_states_a_contract_and_every_requirement_is_broken_by_a_wrong_answer():
    assert sorted(WRONG) == sorted(SOLUTIONS), "one module of wrong answers per lab"
    for lab, solution in SOLUTIONS.items():
        stated = {r.id: r for r in contracts.requirements(solution)}
        assert stated, f"{solution.name} states no contract (- **R1** ... before its check cell)"
        broken = {w.breaks for w in WRONG[lab]}
        assert not stated.keys() - broken, f"lab {lab:02d}: no wrong answer breaks {sorted(stated.keys() - broken)}"
        assert not broken - stated.keys(), f"lab {lab:02d}: wrong answers break unstated {sorted(broken - stated.keys())}"
        for wrong in WRONG[lab]:
            assert wrong.check == stated[wrong.breaks].check, \
                f"lab {lab:02d} {wrong.name}: {wrong.breaks} is tested by checks.{stated[wrong.breaks].check}"
        names = [w.name for w in WRONG[lab]]
        assert len(set(names)) == len(names), f"lab {lab:02d}: a wrong answer's name is used twice"
        for translated in (labs.ROOT / "zh" / "solutions" / solution.name, labs.ROOT / "zh" / "labs" / solution.name):
            assert [(r.id, r.check) for r in contracts.requirements(translated)] == \
                [(r.id, r.check) for r in stated.values()], f"{translated}: not the English contract's requirements"


def test_a_contract_is_read_item_by_item_and_a_stray_or_repeated_requirement_is_refused(tmp_path):
    import nbformat

    def lab(*cells):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(c) if isinstance(c, str) else c for c in cells])
        path = tmp_path / "lab-99-x.ipynb"
        nbformat.write(nb, path)
        return path

    def check(name):
        cell = nbformat.v4.new_code_cell(f"checks.{name}(answer)")
        cell.metadata["tags"] = ["check"]
        return cell

    found = contracts.requirements(lab("- **R1** one line,\n  and its second line.\n- **R2** two.\n\nNot an item.",
                                       check("first"), "- **R3** three.", check("second")))
    assert [(r.id, r.text, r.check) for r in found] == [("R1", "one line, and its second line.", "first"),
                                                      ("R2", "two.", "first"), ("R3", "three.", "second")]
    with pytest.raises(ValueError, match="used twice"):
        contracts.requirements(lab("- **R1** one.", check("first"), "- **R1** again.", check("second")))
    with pytest.raises(ValueError, match="after the last check cell"):
        contracts.requirements(lab("- **R1** one.", check("first"), "- **R2** tested by nothing."))


@pytest.mark.parametrize("wrong", [w for lab in sorted(WRONG) for w in WRONG[lab]],
                         ids=[f"lab{lab:02d}-{w.breaks}-{w.name}" for lab in sorted(WRONG) for w in WRONG[lab]])
def test_a_wrong_answer_fails_its_check_with_the_hint_for_its_own_mistake(wrong: Wrong, scratch):
    for name, source in wrong.files.items():
        scratch(name, source)
    fails_with(wrong.hint, getattr(checks, wrong.check), *wrong.args, **wrong.kwargs)


def test_lab1_a_missing_script_gets_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fails_with("run the %%writefile cell above first", checks.fixed_script, "fixed_lab.py")


def test_lab3_the_answer_passes(capsys):
    from .wrong_answers.lab03 import lost_ok, twice_ok

    checks.log_analysis(lost_ok, twice_ok)
    assert capsys.readouterr().out.startswith("✔ passed")


@pytest.mark.parametrize("variant", ["lifespan", "per_loop"])
def test_lab6_the_lifecycle_of_the_correct_answers_leaves_nothing_open(variant):
    report = checks.lifecycle(variant)
    assert report == {"open_after_shutdown": 0, "resource_warnings": [], "threads_alive": [], "loops_unclosed": 0}


def test_lab8_the_answer_passes(scratch, capsys):
    from .wrong_answers.lab08 import ANSWER

    checks.sync_bridge(scratch("bridge.py", ANSWER))
    assert "9 calls from 5 threads" in capsys.readouterr().out


def test_lab8_a_missing_file_and_the_stub_are_told_apart(scratch):
    fails_with("run the %%writefile cell above first", checks.sync_bridge, "nope.py")
    with pytest.raises(NotImplementedError):
        checks.sync_bridge(scratch("bridge.py", "raise NotImplementedError('Exercise: write your answer here')\n"))


WRONG_SHAPES = [  # (check, arguments, files to write, words of the hint)
    ("crash_script", ("crash_lab.py",), {}, "run the %%writefile cell above first"),
    ("lazy_adapter", ("lab_lazy",), {}, "the stack did not start with your adapter"),
    ("per_call_adapter", ("os:path",), {}, "the stack did not start with your adapter"),
    ("fast_adapter", ("nomodule:FastAdapter",), {}, "the stack did not start with your adapter"),
    ("log_analysis", (None, None), {}, "lost_requests must be a function"),
    ("regression_test", (lambda adapter: None,), {}, "must take (adapter, python)"),
    ("loop_guard", (None,), {}, "creating the guard"),
    ("sync_bridge", ("bridge.py", 3), {"bridge.py": "def close():\n    pass\n"}, "has no function ask(base_url, text)"),
    ("sync_bridge", ("bridge.py", 3), {"bridge.py": "def ask(text):\n    return text\ndef close():\n    pass\n"},
     "an error of ask() itself"),
]


@pytest.mark.parametrize("check, args, files, hint", WRONG_SHAPES, ids=[f"{c}-{n}" for n, (c, *_) in enumerate(WRONG_SHAPES)])
def test_an_answer_of_the_wrong_shape_gets_a_hint_not_a_raw_exception(scratch, check, args, files, hint):
    for name, source in files.items():
        scratch(name, source)
    fails_with(hint, getattr(checks, check), *args)


def test_counting_a_probes_unclosed_loops_does_not_wake_openais_module_proxies():
    """The probes look for event loops among every object. Asking each its class with isinstance() made
    openai's module-level proxies (openai.chat, openai.beta...) build a client in the learner's process and import
    every resource: 2 CPU-s per probe. The count must see a real loop and leave the proxies asleep."""
    import subprocess
    import sys

    script = textwrap.dedent("""
        import asyncio, sys, openai
        from looplab.course.checks.probing import loops_unclosed
        loop = asyncio.new_event_loop()
        print(loops_unclosed([]), "openai.resources.beta" in sys.modules)
        loop.close()
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "False"], result.stdout + result.stderr
