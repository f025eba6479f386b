"""dataset-card-present: a card per dataset folder (or a parent inside the training data) with four facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.content.common import change_of, outcome
from tests.support import make_checkout, run_rule

RULE = "dataset-card-present"

CARD = """# Support chats
- **Source:** exported from the support desk, 2026-09.
- **License:** internal use only.
- **Legal basis:** legitimate interest (GDPR Art. 6(1)(f)).
- **Personal data:** no, masked before export.
"""

HF_CARD = """---
license: cc-by-4.0
---
# Dataset card
## Source data
Crawled public forum posts.
## Legal basis
Consent of the forum's users.
## Personal and sensitive information
Contains PII: user names were replaced by ids.
"""


def test_complete_card_passes(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"data/chats/README.md": CARD, "data/chats/a.csv": "x\n"})
    [result] = run_rule(RULE, checkout)
    assert outcome(result) == ("pass", "data/chats/README.md", None)
    assert result.evidence["fields"] == ["source", "license", "legal_basis", "personal_data"]


def test_hugging_face_card_passes(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"datasets/forum/DATASET.md": HF_CARD, "datasets/forum/train.jsonl": "{}\n"})
    assert [outcome(r) for r in run_rule(RULE, checkout)] == [("pass", "datasets/forum/DATASET.md", None)]


def test_missing_card_fails_on_the_folder(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"data/raw/a.csv": "x\n", "data/raw/b.csv": "y\n", "README.md": CARD})
    [result] = run_rule(RULE, checkout)
    assert (outcome(result), result.key) == (("fail", "data/raw", None), "no-card")


@pytest.mark.parametrize(("drop", "missing"), [
    ("- **Source:**", ["source"]),
    ("- **License:**", ["license"]),
    ("- **Legal basis:**", ["legal_basis"]),
    ("- **Personal data:**", ["personal_data"]),
])
def test_card_missing_a_fact_fails_naming_it(tmp_path: Path, drop: str, missing: list[str]) -> None:
    card = "\n".join(line for line in CARD.splitlines() if not line.startswith(drop))
    checkout = make_checkout(tmp_path, {"data/chats/README.md": card, "data/chats/a.csv": "x\n"})
    [result] = run_rule(RULE, checkout)
    assert outcome(result) == ("fail", "data/chats/README.md", None)
    assert result.evidence["missing"] == missing


def test_card_in_a_parent_folder_inside_the_training_data_covers_subfolders(tmp_path: Path) -> None:
    files = {"data/README.md": CARD, "data/2026/01/a.csv": "x\n", "data/2026/02/b.csv": "y\n"}
    results = run_rule(RULE, make_checkout(tmp_path, files))
    assert [outcome(r) for r in results] == [("pass", "data/README.md", None)] * 2
    assert [r.evidence["folder"] for r in results] == ["data/2026/01", "data/2026/02"]


def test_no_training_data_is_not_applicable(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"src/a.py": "x = 1\n"})
    assert [outcome(r) for r in run_rule(RULE, checkout)] == [("not_applicable", None, None)]


def test_pull_request_mode_checks_every_dataset(tmp_path: Path) -> None:
    """scope: repository: the folder the change does not touch is reported too (as not introduced)."""
    files = {"data/old/a.csv": "x\n", "data/new/b.csv": "y\n", "data/new/README.md": CARD}
    checkout = make_checkout(tmp_path, files)
    results = run_rule(RULE, checkout, change=change_of({"data/new/b.csv": None}))
    assert [outcome(r) for r in results] == [("pass", "data/new/README.md", None), ("fail", "data/old", None)]


def test_changing_a_card_rechecks_its_folder(tmp_path: Path) -> None:
    files = {"data/chats/a.csv": "x\n", "data/chats/README.md": "# chats\n"}
    results = run_rule(RULE, make_checkout(tmp_path, files), change=change_of({"data/chats/README.md": frozenset({1})}))
    assert [outcome(r) for r in results] == [("fail", "data/chats/README.md", None)]


def test_unreadable_card_is_unknown(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"data/chats/README.md": b"\x00\x01", "data/chats/a.csv": "x\n"})
    [result] = run_rule(RULE, checkout)
    assert outcome(result) == ("unknown", "data/chats/README.md", None)


@pytest.mark.parametrize("name", ["readme.md", "Readme.md", "README.MD"])
def test_card_name_matches_in_any_case(tmp_path: Path, name: str) -> None:
    checkout = make_checkout(tmp_path, {f"data/chats/{name}": CARD, "data/chats/a.csv": "x\n"})
    assert [outcome(r) for r in run_rule(RULE, checkout)] == [("pass", f"data/chats/{name}", None)]


# The shape of a Hugging Face dataset card: YAML metadata (dataset_info, configs) above the card template's sections.
HF_HUB_CARD = """---
license: apache-2.0
language:
- en
source_datasets:
- original
task_categories:
- text-generation
dataset_info:
  features:
  - name: prompt
    dtype: string
  - name: completion
    dtype: string
  splits:
  - name: train
    num_bytes: 1048576
    num_examples: 2000
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*
---
# Dataset Card for support-prompts

## Dataset Structure
Prompt and completion pairs.

## Considerations
### Personal and Sensitive Information
Names and e-mail addresses were replaced by placeholders before release.
Legal basis: consent given in the support desk's terms of service.
"""


def test_hugging_face_hub_card_states_fields_in_its_front_matter(tmp_path: Path) -> None:
    files = {"datasets/support-prompts/README.md": HF_HUB_CARD,
             "datasets/support-prompts/data/train-00000-of-00001.parquet": b"PAR1"}
    [result] = run_rule(RULE, make_checkout(tmp_path, files))
    assert outcome(result) == ("pass", "datasets/support-prompts/README.md", None)
    assert result.evidence["card_format"] == "hugging-face"


def test_hugging_face_card_without_legal_basis_names_what_is_missing(tmp_path: Path) -> None:
    card = HF_HUB_CARD.replace("Legal basis: consent given in the support desk's terms of service.\n", "")
    files = {"datasets/support-prompts/README.md": card, "datasets/support-prompts/train.jsonl": "{}\n"}
    [result] = run_rule(RULE, make_checkout(tmp_path, files))
    assert (outcome(result), result.evidence["missing"]) == (("fail", "datasets/support-prompts/README.md", None),
                                                             ["legal_basis"])


def test_folder_of_only_scripts_is_not_a_dataset(tmp_path: Path) -> None:
    # the shape of a "prepare.py downloads the data" folder: the data itself is never committed
    files = {"data/shakespeare/prepare.py": "import requests\n", "data/shakespeare/readme.md": "# tiny shakespeare\n",
             "data/openwebtext/prepare.py": "from datasets import load_dataset\n", "data/loaders/fetch.sh": "curl x\n",
             "data/loaders/__init__.py": ""}
    assert [outcome(r) for r in run_rule(RULE, make_checkout(tmp_path, files))] == [("not_applicable", None, None)]


def test_scripts_beside_data_do_not_hide_the_data(tmp_path: Path) -> None:
    files = {"data/chats/prepare.py": "x = 1\n", "data/chats/train.bin": b"\x00\x01"}
    [result] = run_rule(RULE, make_checkout(tmp_path, files))
    assert (outcome(result), result.key) == (("fail", "data/chats", None), "no-card")
