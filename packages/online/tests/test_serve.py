from __future__ import annotations

import socket
import threading

import numpy as np
import pytest
from wg_online.learner import OnlineLearner
from wg_online.serve import ModelHolder, PredictionServer


@pytest.fixture
def server(tmp_path):
    path = tmp_path / "m.wgm"
    OnlineLearner().fit(["1 | good", "-1 | bad"] * 20).save(path)
    holder = ModelHolder(path)
    srv = PredictionServer(holder, 0, poll_seconds=0.01)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, path
    srv.shutdown()
    srv.server_close()


def ask(sock_file, line: str) -> str:
    sock_file.write(line.encode() + b"\n")
    sock_file.flush()
    return sock_file.readline().decode().rstrip("\n")


def test_one_line_in_one_prediction_out(server) -> None:
    srv, _ = server
    with socket.create_connection(srv.server_address) as sock, sock.makefile("rwb") as f:
        good, bad = float(ask(f, "| good")), float(ask(f, "| bad"))
        assert good > 0.8 > 0.2 > bad
        assert ask(f, "maybe | x").startswith("error: <request>:1: bad label 'maybe'")
        assert ask(f, "") == "error: send exactly one example per line"


def test_hot_swap_answers_every_request_with_a_whole_model(server, tmp_path) -> None:
    srv, path = server
    flipped = OnlineLearner().fit(["-1 | good", "1 | bad"] * 20)
    answers: list[str] = []
    with socket.create_connection(srv.server_address) as sock, sock.makefile("rwb") as f:
        after_swap = 0
        for i in range(5000):
            if i == 100:
                flipped.save(path)  # atomic replace while the client keeps asking
            answers.append(ask(f, "| good"))
            after_swap += float(answers[-1]) < 0.5
            if after_swap == 50:
                break
    assert srv.holder.swaps == 1
    values = np.array([float(a) for a in answers])  # every answer is a number: none failed
    old, new = values[0], values[-1]
    assert old > 0.8
    assert new < 0.2
    assert set(np.round(values, 6)) == {round(old, 6), round(new, 6)}  # never a mixture
    first_new = int(np.argmax(values < 0.5))
    assert (values[first_new:] < 0.5).all()


def test_broken_new_file_keeps_the_old_model(tmp_path) -> None:
    path = tmp_path / "m.wgm"
    OnlineLearner().fit(["1 | a"]).save(path)
    logs: list[str] = []
    holder = ModelHolder(path, logs.append)
    path.write_bytes(b"not a model")
    assert holder.refresh() is False
    assert "keeping the current model" in logs[0]
    assert float(holder.answer(b"| a")) > 0.5


def test_fast_answer_equals_the_batch_path(tmp_path) -> None:
    from wg_online.datagen import ctr
    from wg_online.parsing import parse_lines

    path = tmp_path / "q.wgm"
    learner = OnlineLearner(interactions=("ab",), ffm_k=2, ffm_fields=("a", "b"))
    learner.fit(ctr(300, seed=3).lines()).save(path)
    holder = ModelHolder(path)
    for line in [*ctr(20, seed=4).lines(), "|a a1 |b b2:0.5 |c"]:
        batch = holder.model.run(parse_lines([line]), learn=False)[0][0]
        assert holder.answer(line.encode() + b"\r\n") == f"{float(batch):.6f}"
    assert (
        holder.answer("1 |a é".encode())
        == f"{float(holder.model.run(parse_lines(['1 |a é']), False)[0][0]):.6f}"
    )
