"""The web app of ``rlcli label`` (Flask): the page, its two JSON calls and the clips."""

from __future__ import annotations

from typing import Any

from rlcli.errors import UserError, install_hint
from rlcli.rlhf.label_page import PAGE
from rlcli.rlhf.label_queue import CLIPS, NAME, BadAnswer, PairQueue


def _flask() -> Any:
    try:
        import flask
    except ImportError:
        raise UserError(f"rlcli label needs Flask: {install_hint('label')}") from None
    return flask


def _answer_fields(body: Any) -> tuple[str, str, str]:
    """pair, lease and preference of an answer request; BadAnswer (400) when malformed."""
    if not isinstance(body, dict):
        raise BadAnswer('send a JSON object: {"pair": ..., "lease": ..., "preference": ...}')
    fields = []
    for key in ("pair", "lease", "preference"):
        value = body.get(key)
        if not isinstance(value, str) or not value:
            raise BadAnswer(f"{key} is missing or not a string")
        fields.append(value)
    if not NAME.match(fields[0]):
        raise BadAnswer(f"pair {fields[0]!r} is not a valid pair id")
    return fields[0], fields[1], fields[2]


def create_app(queue: PairQueue) -> Any:
    """A Flask app serving ``queue``: GET / (the page), GET api/next?tab=, POST api/answer,
    GET api/progress and GET clips/<segment>.mp4; every refusal is JSON {"error": ...}."""
    flask = _flask()
    app = flask.Flask("rlcli.label")
    _add_page_and_clips(app, flask, queue)
    _add_api(app, flask, queue)
    return app


def _add_page_and_clips(app: Any, flask: Any, queue: PairQueue) -> None:
    clips = (queue.directory / CLIPS).resolve()

    @app.get("/")
    def page() -> Any:
        return flask.Response(PAGE, mimetype="text/html")

    @app.get("/clips/<name>.mp4")
    def clip(name: str) -> Any:
        if not NAME.match(name):
            return flask.jsonify(error=f"no clip {name!r}"), 404
        return flask.send_from_directory(clips, f"{name}.mp4", mimetype="video/mp4")

    @app.errorhandler(404)
    def not_found(error: Any) -> Any:
        return flask.jsonify(error=f"no such page or clip: {flask.request.path}"), 404

    @app.errorhandler(405)
    def wrong_method(error: Any) -> Any:
        return flask.jsonify(error=f"{flask.request.method} is not allowed here"), 405


def _add_api(app: Any, flask: Any, queue: PairQueue) -> None:
    @app.get("/api/next")
    def next_pair() -> Any:
        tab = flask.request.args.get("tab", "")
        if not tab or len(tab) > 100:
            return flask.jsonify(error="tab=<id of the page> is required"), 400
        lease = queue.lease(tab)
        body: dict[str, Any] = {"pair": None, "progress": queue.progress()}
        if lease is not None:
            body.update(
                pair=lease.pair,
                lease=lease.token,
                left=lease.left,
                right=lease.right,
                left_clip=f"clips/{lease.left}.mp4",
                right_clip=f"clips/{lease.right}.mp4",
                lease_seconds=queue.lease_seconds,
            )
        return flask.jsonify(body)

    @app.post("/api/answer")
    def answer() -> Any:
        try:
            pair, token, preference = _answer_fields(flask.request.get_json(silent=True))
            queue.answer(pair, token, preference)
        except BadAnswer as error:
            return flask.jsonify(error=str(error)), error.status
        return flask.jsonify(ok=True, progress=queue.progress())

    @app.get("/api/progress")
    def progress() -> Any:
        return flask.jsonify(queue.progress())
