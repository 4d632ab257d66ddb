"""The derivations point at code and tests that exist, and every result names both."""
import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "derivations").glob("[0-9][0-9]-*.md"))
TICKED = re.compile(r"`([^`]+)`")


def links(kind):
    """(page, name) for every code (``Code``) or test (``Check``) name on a line starting with
    ``Code:``, ``Check:`` or ``Illustration:`` (an example that shows a result without testing it)."""
    for page in PAGES:
        for line in page.read_text().splitlines():
            if line.startswith((f"{kind}:", "Illustration:")):
                for name in TICKED.findall(line.split(":", 1)[1]):
                    if kind == "Code" and not re.fullmatch(r"nprob(\.\w+)+", name):
                        continue     # code spans such as `kind='minimax'` are not links
                    if kind == "Check" and not name.startswith("tests/"):
                        continue     # figures and commands named beside the tests
                    yield page.name, name


def resolve(dotted: str):
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as err:   # only "part of this dotted name is not a module" moves on
            if not (err.name and (dotted + ".").startswith(err.name + ".")):
                raise                        # a module that exists but lacks a dependency says so
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_every_page_is_in_the_reading_guide():
    assert len(PAGES) >= 10
    guide = (ROOT / "derivations" / "README.md").read_text()
    assert all(page.name in guide for page in PAGES)


@pytest.mark.parametrize("page,name", sorted(set(links("Code"))))
def test_code_links_resolve(page, name):
    assert callable(resolve(name)), f"{page}: {name} is not a function or class"


@pytest.mark.parametrize("page,name", sorted(set(links("Check"))))
def test_check_links_name_existing_tests(page, name):
    path, _, test = name.partition("::")
    file = ROOT / path
    assert file.exists(), f"{page}: {path} does not exist"
    defined = {n.name for n in ast.walk(ast.parse(file.read_text())) if isinstance(n, ast.FunctionDef)}
    assert test.split("[")[0] in defined, f"{page}: {name} is not a test in {path}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_result_names_its_code_and_its_check(page):
    """A result names the code that implements it (or an illustration of it), and the test that checks
    it, or says plainly that there is none."""
    sections = re.split(r"^## ", page.read_text(), flags=re.M)[1:]
    for section in sections:
        if section.startswith("Result"):
            title = section.splitlines()[0]
            assert re.search(r"^(Code|Illustration): .*`nprob\.|^Code: none\b", section, re.M), \
                f"{page.name}: '{title}' has no Code: line"
            assert re.search(r"^Check: .*`tests/|^Check: none\b", section, re.M), \
                f"{page.name}: '{title}' has no Check: line"


def test_equations_cited_by_the_code_exist():
    """Every 'eq. (p.n)' in nprob/ names an equation tagged (p.n) on derivation page p."""
    tags = {}
    for page in PAGES:
        tags.update({t: page.name for t in re.findall(r"\\tag\{(\d+\.\d+)\}", page.read_text())})
    cited = set()
    for source in (ROOT / "nprob").rglob("*.py"):
        for group in re.findall(r"eqs?\. \(([\d.]+\)(?:(?:,| and|-)\s*\(?[\d.]+\)?)*)", source.read_text()):
            cited |= set(re.findall(r"\d+\.\d+", group))
    assert len(cited) >= 15
    missing = sorted(c for c in cited if c not in tags)
    assert not missing, f"cited in nprob/ but not tagged in derivations/: {missing}"
