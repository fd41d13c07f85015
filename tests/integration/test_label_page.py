"""The labelling page in a real browser: headless Chromium (Debian's chromium package) driven by
Playwright. In CI (.ci/run installs both) a missing browser fails instead of skipping."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from labelling import make_labelling_dir, serving

from rlcli.rlhf.label_queue import LABELS, PairQueue

sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the test extra)")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

CLICKS = ["left", "right", "equal", "skip"]
KEYS = {"ArrowLeft": "left", "ArrowRight": "right", "e": "equal", "s": "skip"}

VIDEOS_PLAY = """() => ["left", "right"].every((side) => {
    const video = document.getElementById(side);
    return video.readyState >= 2 && video.duration > 0 && !video.error && video.currentTime > 0;
})"""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).is_file():
        pytest.skip("needs Debian's chromium package (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def shown_pair(page: object) -> str:
    return page.get_attribute("#pair", "data-pair")


def wait_for_another_pair(page: object, previous: str) -> str:
    page.wait_for_function(
        "(previous) => document.getElementById('pair').dataset.pair !== previous", arg=previous
    )
    return shown_pair(page)


def labels(directory: Path) -> list[dict]:
    text = (directory / LABELS).read_text()
    return [json.loads(line) for line in text.splitlines()]


def test_each_button_and_shortcut_labels_the_shown_pair(tmp_path: Path, browser: object):
    directory = make_labelling_dir(tmp_path / "labelling", pairs=len(CLICKS) + len(KEYS))
    queue = PairQueue(directory, "tester")
    expected = {}
    with serving(queue) as url:
        page = browser.new_page()
        page.goto(url)
        page.wait_for_function("document.getElementById('pair').dataset.pair !== ''")
        page.wait_for_function(VIDEOS_PLAY, timeout=15_000)  # both clips load and play
        assert "labelled 0" in page.inner_text("#progress")
        actions = [("click", answer) for answer in CLICKS] + list(KEYS.items())
        for how, answer in actions:
            pair = shown_pair(page)
            sides = page.inner_text("#left-name"), page.inner_text("#right-name")
            expected[pair] = (answer, *sides)
            if how == "click":
                page.click(f"#answer-{answer}")
            else:
                page.keyboard.press(how)
            wait_for_another_pair(page, pair)
        assert shown_pair(page) == ""  # the queue is done
        assert f"labelled {len(actions)}" in page.inner_text("#progress")
    written = {line["pair"]: line for line in labels(directory)}
    assert len(labels(directory)) == len(expected)
    for pair, (answer, left, right) in expected.items():
        line = written[pair]
        assert (line["preference"], line["left"], line["right"]) == (answer, left, right)
        assert line["labeller"] == "tester" and line["time"].endswith("Z")


def test_two_pages_never_label_a_pair_twice_nor_lose_one(tmp_path: Path, browser: object):
    pairs = 12
    directory = make_labelling_dir(tmp_path / "labelling", pairs=pairs)
    queue = PairQueue(directory, "two-tabs")
    with serving(queue) as url:
        context = browser.new_context()
        pages = [context.new_page(), context.new_page()]
        for page in pages:
            page.goto(url)
            page.wait_for_function("document.getElementById('pair').dataset.pair !== ''")
        answered = 0
        while any(shown_pair(page) for page in pages):
            shown = [shown_pair(page) for page in pages]
            assert shown[0] != shown[1] or not shown[0]  # one pair, one page
            for page, key in zip(pages, ("ArrowLeft", "ArrowRight"), strict=True):
                if shown_pair(page):
                    page.keyboard.press(key)  # both answer at nearly the same time
            for page, before in zip(pages, shown, strict=True):
                if before:
                    wait_for_another_pair(page, before)
                    answered += 1
        context.close()
    lines = labels(directory)
    assert answered == pairs
    assert sorted(line["pair"] for line in lines) == sorted(queue.queued())
    assert len({line["pair"] for line in lines}) == pairs
