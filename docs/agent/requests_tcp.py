"""A tokenkit agent client over loopback TCP with `requests` (pip install requests).

    TOKENKIT_AGENT_BEARER_FILE=/etc/tokenkit/bearer \
        python3 requests_tcp.py http://127.0.0.1:8790 ac-east [http://127.0.0.1:8780]

calls the ac platform's `center` with the grant's token (the last argument is the ac
platform: the sandbox by default) and prints the platform's code, "0".
"""

import os
import sys

import requests


class AgentError(Exception):
    """An error answer of the agent: `kind` says what to do (see docs/agent.md)."""

    def __init__(self, status, error):
        super().__init__(f"{status} {error.get('kind')}: {error.get('message')}")
        self.status = status
        self.kind = error.get("kind")
        self.error = error


class Agent:
    def __init__(self, base_url, bearer_file=None, timeout=15):
        # The timeout is above the agent's wait_ms (10 s by default).
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Tokenkit-Agent"] = "1"
        if bearer_file:  # listen.bearer_file of the agent
            with open(bearer_file) as f:
                self.session.headers["Authorization"] = "Bearer " + f.read().strip()

    def _answer(self, method, path, body=None):
        response = self.session.request(
            method, self.base_url + path, json=body, timeout=self.timeout
        )
        decoded = response.json()
        if response.status_code >= 400:
            raise AgentError(response.status_code, decoded.get("error", {}))
        return decoded

    def token(self, grant):
        """The grant's current access token."""
        return self._answer("GET", f"/v1/grants/{grant}/token")["access_token"]

    def refused(self, grant, refused_token):
        """The platform refused `refused_token`: the renewed token."""
        body = {"token": refused_token}
        return self._answer("POST", f"/v1/grants/{grant}/refused", body)["access_token"]

    def with_token(self, grant, call, is_refusal):
        """`call(token)`; if `is_refusal(result)`, once more with the renewed token."""
        current = self.token(grant)
        result = call(current)
        if is_refusal(result):
            result = call(self.refused(grant, current))
        return result


if __name__ == "__main__":
    agent = Agent(sys.argv[1], os.environ.get("TOKENKIT_AGENT_BEARER_FILE"))
    grant = sys.argv[2]
    platform = sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:8780"

    # An ac call: the token goes in the `token` header; code "10008" (or HTTP 401)
    # means the platform no longer takes it.
    def center(token):
        return requests.get(
            platform + "/ac/openapi/v2/center",
            headers={"token": token},
            timeout=15,
        )

    def refused_by_ac(response):
        return response.status_code == 401 or response.json().get("code") == "10008"

    print(agent.with_token(grant, center, refused_by_ac).json()["code"])
