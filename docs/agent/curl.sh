#!/bin/sh
# The tokenkit agent's API with curl: a token over the Unix socket, the refusal report
# of that token, then the (renewed) token over TCP. Each answer is one JSON line.
#
#   sh curl.sh target/tokenkit-agent.sock http://127.0.0.1:8790 ac-east
set -eu
SOCKET=${1:-target/tokenkit-agent.sock}
AGENT=${2:-http://127.0.0.1:8790}
GRANT=${3:-ac-east}

# Over the socket: its mode (0600) is the access control. The URL's host is ignored.
ANSWER=$(curl -sS --fail-with-body --max-time 15 --unix-socket "$SOCKET" \
    -H 'Tokenkit-Agent: 1' "http://localhost/v1/grants/$GRANT/token") ||
    { echo "$ANSWER" >&2; exit 1; }
echo "$ANSWER"
TOKEN=$(echo "$ANSWER" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')

# The platform refused $TOKEN (ac: code 10008 or HTTP 401): report it, get the renewed
# one. The body goes through stdin (printf is a shell builtin), so the token never
# stands in the process list.
printf '{"token":"%s"}' "$TOKEN" |
    curl -sS --fail-with-body --max-time 15 --unix-socket "$SOCKET" \
        -H 'Tokenkit-Agent: 1' -H 'Content-Type: application/json' --data-binary @- \
        "http://localhost/v1/grants/$GRANT/refused"
echo

# Over TCP. With listen.bearer_file, the bearer goes in a curl config read from stdin,
# not in argv, which every user of the host can read.
if [ -n "${TOKENKIT_AGENT_BEARER_FILE:-}" ]; then
    printf 'header = "Authorization: Bearer %s"\n' "$(cat "$TOKENKIT_AGENT_BEARER_FILE")"
fi | curl -sS --fail-with-body --max-time 15 -K - \
    -H 'Tokenkit-Agent: 1' "$AGENT/v1/grants/$GRANT/token"
echo
