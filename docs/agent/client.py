"""A tokenkit agent client over its Unix socket: Python's standard library only.

    python3 client.py /path/to/tokenkit-agent.sock ac-east

prints two JSON lines: the agent's answer to the token request, then its answer to
the refusal report of that token (the renewed token).
"""

import http.client
import json
import socket
import sys
import urllib.parse


class AgentError(Exception):
    """An error answer of the agent: `kind` says what to do (see docs/agent.md)."""

    def __init__(self, status, error):
        super().__init__(f"{status} {error.get('kind')}: {error.get('message')}")
        self.status = status
        self.kind = error.get("kind")
        self.error = error


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket: the Host is "localhost", the socket is the address."""

    def __init__(self, socket_path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def answer(socket_path, method, path, body=None, timeout=15):
    """The agent's JSON answer to one request; AgentError for an error answer.

    The timeout is above the agent's wait_ms (10 s by default): the agent answers 503
    itself when a token takes longer.
    """
    connection = _UnixConnection(socket_path, timeout)
    try:
        headers = {"Tokenkit-Agent": "1"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        decoded = json.loads(response.read() or b"{}")
    finally:
        connection.close()
    if response.status >= 400:
        raise AgentError(response.status, decoded.get("error", {}))
    return decoded


def _grant_path(grant, action):
    return f"/v1/grants/{urllib.parse.quote(grant, safe='')}/{action}"


def token(socket_path, grant):
    """The grant's current access token."""
    return answer(socket_path, "GET", _grant_path(grant, "token"))["access_token"]


def refused(socket_path, grant, refused_token):
    """The platform refused `refused_token`: the renewed token (renewed once for all
    callers; if another caller already did, the current one)."""
    body = {"token": refused_token}
    return answer(socket_path, "POST", _grant_path(grant, "refused"), body)["access_token"]


def with_token(socket_path, grant, call, is_refusal):
    """`call(token)` with the grant's token; if `is_refusal(result)`, once more with
    the renewed token. A second refusal is the platform's answer: it is returned."""
    current = token(socket_path, grant)
    result = call(current)
    if is_refusal(result):
        result = call(refused(socket_path, grant, current))
    return result


def main(argv):
    if len(argv) != 3:
        sys.exit(f"usage: {argv[0]} SOCKET GRANT")
    socket_path, grant = argv[1], argv[2]
    try:
        first = answer(socket_path, "GET", _grant_path(grant, "token"))
        print(json.dumps(first), flush=True)
        body = {"token": first["access_token"]}
        renewed = answer(socket_path, "POST", _grant_path(grant, "refused"), body)
        print(json.dumps(renewed), flush=True)
    except AgentError as error:
        print(json.dumps({"error": error.error}), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv)
