"""The known incidents, reproduced small (tests/fixtures/incidents/, written here, not copied), each
flagged by the lint at exactly the lines its `# expect: LLnnn` comments mark; and the right shapes
next to them flagged nowhere. Each folder is scanned as one package, as `looplab-lint DIR` does."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

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
