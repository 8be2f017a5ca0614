"""The known incidents, reproduced small (tests/fixtures/incidents/, written here, not copied), each
flagged by the lint at exactly the lines its `# expect: LLnnn` comments mark; and the right shapes
next to them flagged nowhere. Each folder is scanned as one package, as `looplab-lint DIR` does."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from looplab.course import corpus
from looplab.tools import lint

INCIDENTS = Path(__file__).parent / "fixtures" / "incidents"
EXPECT = re.compile(r"#\s*expect:\s*(?P<rules>LL\d{3}(?:\s*,\s*LL\d{3})*)")
#: folder -> the incidents it reproduces (docs/data/lint-corpus.yml says where each is upstream)
COVERS = {
    "llama_stack_0_2_2": ["llama-stack 0.2.2 vLLM adapter (#1968)", "llama-stack 0.2.2 server.py"],
    "nvidia_2025": ["ogx #2025 aiohttp session"],
    "sqlstore_5130": ["ogx #5130 SQL engine"],
    "vertexai_5591": ["ogx #5591 client made in another module, kept in a dict"],
    "ogx_6057": ["ogx #6057 google.genai.Client", "ogx server.py executor.submit(asyncio.run, ...)"],
    "sdk_clients": ["gRPC AsyncClient", "xai_sdk.AsyncClient", "openai DefaultAsyncHttpx2Client", "redis.asyncio",
                    "AsyncMongoClient", "motor AsyncIOMotorClient"],
    "subclasses": ["a subclass of httpx.AsyncClient, defined in another module"],
    "litellm_7667": ["litellm #7667 cache filled through set_cache()"],
    "cached_factory": ["a @cache'd httpx client"],
    "fixed_shapes": [],
}


def expected(folder: Path) -> set[tuple[str, int, str]]:
    marks = set()
    for path in folder.rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = EXPECT.search(line)
            if match:
                marks |= {(str(path), number, rule.strip()) for rule in match["rules"].split(",")}
    return marks


def test_every_folder_is_named_and_every_incident_folder_expects_a_finding():
    folders = {p.name for p in INCIDENTS.iterdir() if p.is_dir()}
    assert folders == set(COVERS)
    assert all(expected(INCIDENTS / name) for name, covers in COVERS.items() if covers)


@pytest.mark.parametrize("name", sorted(COVERS))
def test_the_lint_flags_exactly_the_marked_lines(name):
    folder = INCIDENTS / name
    findings, skipped = lint.check_paths([folder])
    assert not skipped
    assert {(f.path, f.line, f.rule) for f in findings} == expected(folder)


def test_each_shape_is_flagged_only_with_its_cause(tmp_path):
    """The reproductions prove the rules, not the markers: take the cause away (the start-up use, the
    close that resets a lazy client, the loop-blind key) and the same code is not flagged."""
    redis = (INCIDENTS / "sdk_clients/service/redis_store.py").read_text()
    assert [f.rule for f in lint.check_source(redis)] == ["LL001"]
    assert lint.check_source(redis.replace("await self.redis.ping()", "pass")) == []

    lifespan = (INCIDENTS / "fixed_shapes/app/lifespan.py").read_text()
    assert lint.check_source(lifespan) == []
    unpaired = lifespan.replace("            self._client = None\n", "")
    assert [f.rule for f in lint.check_source(unpaired)] == ["LL003"]

    copy = tmp_path / "llm"
    shutil.copytree(INCIDENTS / "litellm_7667" / "llm", copy)
    assert [f.rule for f in lint.check_paths([copy])[0]] == ["LL003"]
    clients = copy / "clients.py"
    clients.write_text(clients.read_text().replace("+ provider\n", "+ provider + str(id(asyncio.get_running_loop()))\n"))
    assert lint.check_paths([copy])[0] == []

    teardown = (INCIDENTS / "fixed_shapes/app/script.py").read_text()
    assert lint.check_source(teardown) == []
    rerun = teardown.replace("asyncio.run(client.aclose())", "asyncio.run(work())")
    assert [f.rule for f in lint.check_source(rerun)] == ["LL005", "LL005"]


# -- the corpus: the lint over real code, every finding classified (docs/data/lint-corpus.yml) ----------

def test_the_corpus_records_every_finding_with_a_verdict_and_a_reason():
    data = corpus.load()
    assert len(data["repositories"]) >= 6
    for repo in data["repositories"]:
        assert len(repo["commit"]) == 40 and repo["python_files"] > 0
        assert repo["findings"] == sum(f["repo"] == repo["repo"] for f in data["findings"]), repo["repo"]
    for f in data["findings"]:
        assert f["verdict"] in corpus.VERDICTS and f["rule"] in lint.RULES and f["line"] > 0 and len(f["why"]) > 20, f


def test_false_positives_are_at_most_a_tenth_of_the_findings():
    data = corpus.load()
    assert corpus.precision(data) >= 0.9, corpus.counts(data)["all"]
    wrong = {**data, "findings": [{**f, "verdict": "fp"} for f in data["findings"][:5]]}
    assert corpus.precision(wrong) < 0.9  # the check itself can fail


def test_every_named_incident_is_flagged_and_reproduced_here():
    for incident in corpus.load()["incidents"]:
        assert incident["flagged"] in (True, None), incident["name"]  # None: real code out of reach, said so
        assert incident["reproduction"] in COVERS and COVERS[incident["reproduction"]], incident["name"]
        if incident["flagged"]:
            assert len(str(incident["commit"])) == 40 and incident["line"] > 0


def test_the_page_shows_the_corpus_numbers():
    en, zh = corpus.markdown("en"), corpus.markdown("zh")
    total = corpus.counts(corpus.load())["all"]
    assert f"**{sum(total.values())}** | **{total['bug']}** | **{total['true']}** | **{total['fp']}** |" in en
    assert "仓库" in zh and "ogx-ai/ogx" in zh and len(en.splitlines()) == len(zh.splitlines())
