"""Where the served feed is reached: its URLs, this machine's LAN address, a QR code to scan."""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

from followup.errors import FollowupError

# Bound to these, the server answers on every interface, but no client can use the name.
ALL_INTERFACES = frozenset({"0.0.0.0", "::", ""})
# A TEST-NET-1 address (RFC 5737): connecting a UDP socket to it only picks the route.
_ROUTE_PROBE = ("192.0.2.1", 9)


def subscribe_urls(base: str, token: str) -> tuple[str, str]:
    """The feed's URL under `base` (http or https) and the same as webcal://."""
    base = base.rstrip("/")
    scheme, separator, rest = base.partition("://")
    if not separator or scheme not in ("http", "https") or not rest:
        raise FollowupError(f"feed url: expected http(s)://host[:port][/path], not {base!r}")
    url = f"{base}/feed/{token}.ics"
    return url, f"webcal://{rest}/feed/{token}.ics"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def lan_address() -> str | None:
    """This machine's address on its network (the one its default route leaves from);
    None when it has none. A UDP connect sends no packet."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(_ROUTE_PROBE)
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if ipaddress.ip_address(address).is_loopback else address


def qr_code(text: str) -> str:
    """`text` as a QR code drawn with block characters, two rows a line."""
    import io

    import segno

    drawing = io.StringIO()
    segno.make(text, error="m", micro=False).terminal(out=drawing, compact=True)
    return drawing.getvalue().rstrip("\n")


def announce(folder: Path, host: str, port: int, token: str) -> list[str]:
    """What `followup serve` prints once listening on `host`:`port`; bound to every
    interface, the URLs name the LAN address and a QR code of the webcal:// URL follows,
    for a phone to scan (when standard output can draw it)."""
    lines = [f"Serving the feed of {folder} (Ctrl-C to stop)"]
    reachable = host
    if host in ALL_INTERFACES:
        reachable = lan_address() or "127.0.0.1"
        if reachable == "127.0.0.1":
            lines.append("warning: this machine has no network address; only it can subscribe")
    shown = f"[{reachable}]" if ":" in reachable else reachable
    url, webcal = subscribe_urls(f"http://{shown}:{port}", token)
    lines += [
        f"  subscribe: {url}",
        f"         or: {webcal}",
        f"     agenda: {url.removesuffix('.ics')}",
    ]
    if not is_loopback(reachable):
        code = qr_code(webcal)
        try:
            code.encode(sys.stdout.encoding or "ascii")
        except UnicodeEncodeError:
            lines.append("(a QR code of the webcal:// URL needs a UTF-8 terminal)")
        else:
            lines += ["Scan with your phone's camera to subscribe:", code]
    return lines
