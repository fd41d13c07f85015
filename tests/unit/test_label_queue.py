"""The labelling queue: one pair per tab under a lease that expires, answers appended once, and the
web app's refusals of malformed requests (4xx with a message, nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlcli.errors import UserError
from rlcli.rlhf.label_queue import LABELS, BadAnswer, PairQueue, enqueue_pair, write_status


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def make_queue(tmp_path: Path, pairs: int = 3) -> tuple[PairQueue, Clock]:
    for number in range(pairs):
        enqueue_pair(tmp_path, f"pair-{number}", f"seg-{2 * number}", f"seg-{2 * number + 1}")
    clock = Clock()
    return PairQueue(tmp_path, "ana", lease_seconds=10, clock=clock), clock


def lines(tmp_path: Path) -> list[dict]:
    path = tmp_path / LABELS
    return [json.loads(t) for t in path.read_text().splitlines()] if path.is_file() else []


def test_each_tab_gets_its_own_pair_and_keeps_it(tmp_path):
    queue, _ = make_queue(tmp_path)
    first, second = queue.lease("tab-1"), queue.lease("tab-2")
    assert {first.pair, second.pair} == {"pair-0", "pair-1"}
    assert queue.lease("tab-1").token == first.token  # a reload shows the same pair
    third = queue.lease("tab-3")
    assert third.pair == "pair-2" and queue.lease("tab-4") is None  # all three are held


def test_an_abandoned_pair_goes_to_another_tab_after_its_lease_expires(tmp_path):
    queue, clock = make_queue(tmp_path, pairs=1)
    abandoned = queue.lease("tab-1")
    clock.now = 9.0
    assert queue.lease("tab-2") is None
    clock.now = 10.5
    taken = queue.lease("tab-2")
    assert taken.pair == abandoned.pair and taken.token != abandoned.token
    with pytest.raises(BadAnswer) as late:  # the first tab's answer comes too late
        queue.answer(abandoned.pair, abandoned.token, "left")
    assert late.value.status == 409 and lines(tmp_path) == []
    queue.answer(taken.pair, taken.token, "right")
    assert [line["preference"] for line in lines(tmp_path)] == ["right"]


def test_an_answer_is_written_once_with_its_pair_time_and_labeller(tmp_path):
    queue, _ = make_queue(tmp_path)
    lease = queue.lease("tab")
    queue.answer(lease.pair, lease.token, "equal")
    (line,) = lines(tmp_path)
    assert line["pair"] == lease.pair and line["preference"] == "equal"
    assert (line["left"], line["right"], line["labeller"]) == (lease.left, lease.right, "ana")
    assert line["time"].endswith("Z")
    with pytest.raises(BadAnswer) as twice:
        queue.answer(lease.pair, lease.token, "left")
    assert twice.value.status == 409 and len(lines(tmp_path)) == 1
    assert queue.lease("tab").pair != lease.pair  # an answered pair is never served again
    restarted = PairQueue(tmp_path, "ben")  # the answers survive a restart of the page
    assert restarted.answered == {lease.pair}
    assert restarted.progress() == {"labelled": 1, "queued": 2, "reward_model_accuracy": None}


@pytest.mark.parametrize(
    "pair, token, preference, status",
    [
        ("pair-0", "TOKEN", "better", 400),  # not an answer
        ("pair-9", "TOKEN", "left", 404),  # no such pair
        ("pair-0", "forged", "left", 409),  # not this page's lease
    ],
)
def test_a_refused_answer_changes_nothing(tmp_path, pair, token, preference, status):
    queue, _ = make_queue(tmp_path)
    lease = queue.lease("tab")
    with pytest.raises(BadAnswer) as refused:
        queue.answer(pair, lease.token if token == "TOKEN" else token, preference)
    assert refused.value.status == status and str(refused.value)
    assert lines(tmp_path) == [] and queue.answered == set()


def test_a_labels_file_that_is_not_json_lines_is_refused_with_its_line_number(tmp_path):
    make_queue(tmp_path)
    good = {"left": "seg-0", "right": "seg-1", "preference": "left"}
    (tmp_path / LABELS).write_text(json.dumps(good) + "\n{not json\n")
    with pytest.raises(UserError, match=r"labels.jsonl:2: not a JSON object"):
        PairQueue(tmp_path, "ana")


def test_progress_shows_the_reward_models_accuracy_once_known(tmp_path):
    queue, _ = make_queue(tmp_path)
    assert queue.progress()["reward_model_accuracy"] is None
    write_status(tmp_path, 0.875)
    assert queue.progress() == {"labelled": 0, "queued": 3, "reward_model_accuracy": 0.875}


def test_ids_that_are_not_safe_file_names_are_refused(tmp_path):
    with pytest.raises(UserError, match="pair id"):
        enqueue_pair(tmp_path, "../escape", "seg-0", "seg-1")


@pytest.fixture
def client(tmp_path):
    pytest.importorskip("flask", reason="needs the label extra")
    from rlcli.rlhf.label_app import create_app

    queue, _ = make_queue(tmp_path)
    return create_app(queue).test_client()


@pytest.mark.parametrize(
    "body, status, message",
    [
        ("not json", 400, "send a JSON object"),
        ([1, 2], 400, "send a JSON object"),
        ({"pair": "pair-0", "lease": "x"}, 400, "preference is missing"),
        ({"pair": 3, "lease": "x", "preference": "left"}, 400, "pair is missing or not a string"),
        ({"pair": "../x", "lease": "x", "preference": "left"}, 400, "not a valid pair id"),
        ({"pair": "pair-0", "lease": "x", "preference": "meh"}, 400, "not one of left"),
        ({"pair": "pair-7", "lease": "x", "preference": "left"}, 404, "no pair"),
        ({"pair": "pair-0", "lease": "x", "preference": "left"}, 409, "not leased to this page"),
    ],
)
def test_the_app_answers_a_malformed_request_with_4xx_and_writes_nothing(
    client, tmp_path, body, status, message
):
    client.get("/api/next?tab=t")
    if isinstance(body, str):
        response = client.post("/api/answer", data=body, content_type="application/json")
    else:
        response = client.post("/api/answer", json=body)
    assert response.status_code == status
    assert message in response.get_json()["error"]
    assert lines(tmp_path) == []


def test_the_app_refuses_requests_it_does_not_know(client):
    assert client.get("/api/next").status_code == 400  # no tab id
    assert client.get("/api/answer").status_code == 405
    assert client.get("/clips/nothing.mp4").status_code == 404
    assert "error" in client.get("/no/such/page").get_json()


def test_the_app_serves_a_pair_and_takes_its_answer(client, tmp_path):
    shown = client.get("/api/next?tab=t").get_json()
    assert shown["pair"] == "pair-0" and shown["left_clip"] == "clips/seg-0.mp4"
    answer = {"pair": shown["pair"], "lease": shown["lease"], "preference": "left"}
    response = client.post("/api/answer", json=answer)
    assert response.status_code == 200 and response.get_json()["progress"]["labelled"] == 1
    assert [line["pair"] for line in lines(tmp_path)] == ["pair-0"]
    assert "Which clip" in client.get("/").get_data(as_text=True)
