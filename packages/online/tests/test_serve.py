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


def _without_arrays(path) -> None:
    """Rewrite a version-3 model with a header lacking "arrays" and a valid checksum."""
    import json

    from wg_io.checksum import digest

    raw = path.read_bytes()
    size = int.from_bytes(raw[12:16], "little")
    header = json.loads(raw[32 : 32 + size])
    del header["arrays"]
    new = json.dumps(header).encode()
    path.write_bytes(raw[:12] + len(new).to_bytes(4, "little") + digest([new]).encode() + new)


def test_watcher_survives_a_bad_model_and_loads_a_later_good_one(tmp_path) -> None:
    import time

    path = tmp_path / "m.wgm"
    OnlineLearner().fit(["1 | a"] * 20).save(path)
    logs: list[str] = []
    srv = PredictionServer(ModelHolder(path, logs.append), 0, poll_seconds=0.01, log=logs.append)
    try:
        bad = tmp_path / "bad.wgm"
        OnlineLearner().fit(["1 | a"]).save(bad)
        _without_arrays(bad)
        bad.replace(path)
        time.sleep(0.2)  # many polls: one line, not one per poll
        assert logs == [
            f"keeping the current model: {path}: the model header has no 'arrays' field; "
            "the file is damaged or was not written by `wg online train -f`: train the model "
            "again"
        ]
        OnlineLearner().fit(["-1 | a"] * 20).save(path)
        for _ in range(500):
            if srv.holder.swaps:
                break
            time.sleep(0.01)
        assert srv.holder.swaps == 1
        assert float(srv.holder.answer(b"| a")) < 0.5
        assert logs[-1] == f"swapped in {path} (swap 1)"
    finally:
        srv.server_close()


def test_busy_port_is_one_clear_error(tmp_path) -> None:
    from wg_online.serve import ServeError

    path = tmp_path / "m.wgm"
    OnlineLearner().fit(["1 | a"]).save(path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(ServeError) as caught:
            PredictionServer(ModelHolder(path), port)
    assert str(caught.value) == (
        f"cannot listen on 127.0.0.1:{port}: the port is in use; stop the program using it or "
        "choose another --port"
    )


def test_client_leaving_mid_request_is_not_an_error(tmp_path, capfd) -> None:
    import time

    path = tmp_path / "m.wgm"
    OnlineLearner().fit(["1 | a"]).save(path)
    logs: list[str] = []
    srv = PredictionServer(ModelHolder(path), 0, poll_seconds=10, log=logs.append)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        for _ in range(3):
            with socket.create_connection(srv.server_address) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                sock.sendall(b"| a\n" * 20000)  # answers the client never reads
        time.sleep(0.3)
        with socket.create_connection(srv.server_address) as sock, sock.makefile("rwb") as f:
            assert float(ask(f, "| a")) > 0.5  # still serving
    finally:
        srv.shutdown()
        srv.server_close()
    assert logs == []
    assert "Traceback" not in capfd.readouterr().err
