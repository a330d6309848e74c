"""`followup serve --host 0.0.0.0`: the printed URLs name this machine's LAN address (one a
phone can open, never 0.0.0.0), a QR code of the webcal:// URL follows, and it answers."""

from __future__ import annotations

import http.client
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import segno
from followup_ics import reach

NOW = "2026-11-20T19:00:00-05:00"


def test_bound_to_every_interface_the_urls_name_the_lan_address_and_a_qr_code_follows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reach, "lan_address", lambda: "192.168.1.20")
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
    lines = reach.announce(Path("/js"), "0.0.0.0", 5545, "tok")
    assert "  subscribe: http://192.168.1.20:5545/feed/tok.ics" in lines
    assert "         or: webcal://192.168.1.20:5545/feed/tok.ics" in lines
    assert not any("0.0.0.0" in line for line in lines)
    drawing = io.StringIO()
    segno.make("webcal://192.168.1.20:5545/feed/tok.ics", error="m").terminal(
        out=drawing, compact=True
    )
    assert lines[-1] == drawing.getvalue().rstrip("\n")


def test_no_qr_code_for_loopback_or_a_terminal_that_cannot_draw_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = reach.announce(Path("/js"), "127.0.0.1", 5545, "tok")
    assert lines[1] == "  subscribe: http://127.0.0.1:5545/feed/tok.ics" and len(lines) == 4
    monkeypatch.setattr(reach, "lan_address", lambda: None)
    lines = reach.announce(Path("/js"), "::", 5545, "tok")
    assert "no network address" in lines[1] and "http://127.0.0.1:5545" in lines[2]
    monkeypatch.setattr(reach, "lan_address", lambda: "10.0.0.7")
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    lines = reach.announce(Path("/js"), "0.0.0.0", 5545, "tok")
    assert lines[-1] == "(a QR code of the webcal:// URL needs a UTF-8 terminal)"


def test_the_lan_address_is_a_real_non_loopback_address_of_this_machine() -> None:
    address = reach.lan_address()
    if address is None:
        pytest.skip("this machine has no network route")
    assert not reach.is_loopback(address) and address != "0.0.0.0"


@pytest.mark.slow
def test_serve_on_every_interface_prints_a_lan_url_that_answers(
    folder: Path, followup_home: Path
) -> None:
    address = reach.lan_address()
    if address is None:
        pytest.skip("this machine has no network route")
    command = [sys.executable, "-m", "followup", "--now", NOW, "serve", str(folder)]
    process = subprocess.Popen(
        [*command, "--host", "0.0.0.0", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env={**os.environ, "FOLLOWUP_HOME": str(followup_home), "PYTHONIOENCODING": "utf-8"},
    )
    try:
        assert process.stdout is not None
        printed = []
        for line in process.stdout:
            printed.append(line)
            if line.startswith("Scan with your phone"):
                printed += [next(process.stdout) for _ in range(5)]
                break
        text = "".join(printed)
        match = re.search(r"agenda: http://([\d.]+):(\d+)(/feed/[\w-]+)", text)
        assert match is not None and match[1] == address, text
        assert "0.0.0.0" not in text and "▀" in text  # the QR code's half blocks
        connection = http.client.HTTPConnection(match[1], int(match[2]), timeout=30)
        connection.request("GET", match[3], headers={"Host": f"{match[1]}:{match[2]}"})
        response = connection.getresponse()
        page = response.read()
        assert response.status == 200
        assert f'href="webcal://{match[1]}:{match[2]}{match[3]}.ics"'.encode() in page
    finally:
        process.terminate()
        process.wait(timeout=30)
