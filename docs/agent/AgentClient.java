// A tokenkit agent client over loopback TCP: Java 11+ standard library only.
//
//   TOKENKIT_AGENT_BEARER_FILE=/etc/tokenkit/bearer \
//       java AgentClient.java http://127.0.0.1:8790 ac-east
//
// prints two JSON lines: the agent's answer to the token request, then its answer to
// the refusal report of that token (the renewed token).

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class AgentClient {
    /** An error answer of the agent; its body's `error.kind` says what to do. */
    public static class AgentException extends IOException {
        public final int status;
        public final String body;

        AgentException(int status, String body) {
            super("the agent answered " + status + ": " + body);
            this.status = status;
            this.body = body;
        }
    }

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String baseUrl;
    private final String bearer; // listen.bearer_file of the agent, or null

    public AgentClient(String baseUrl, String bearerFile) throws IOException {
        this.baseUrl = baseUrl.replaceAll("/+$", "");
        this.bearer = bearerFile == null ? null : Files.readString(Path.of(bearerFile)).strip();
    }

    /** The agent's JSON answer (a body of one line). */
    public String answer(String method, String path, String json)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path))
                // Above the agent's wait_ms (10 s by default).
                .timeout(Duration.ofSeconds(15))
                .header("Tokenkit-Agent", "1");
        if (bearer != null) {
            request.header("Authorization", "Bearer " + bearer);
        }
        if (json == null) {
            request.GET();
        } else {
            request.header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(json));
        }
        HttpResponse<String> response =
                http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() >= 400) {
            throw new AgentException(response.statusCode(), response.body());
        }
        return response.body();
    }

    /** The grant's current access token. */
    public String token(String grant) throws IOException, InterruptedException {
        return accessToken(answer("GET", grantPath(grant, "token"), null));
    }

    /** The platform refused `refusedToken`: the renewed token. */
    public String refused(String grant, String refusedToken)
            throws IOException, InterruptedException {
        return accessToken(answer("POST", grantPath(grant, "refused"), refusedBody(refusedToken)));
    }

    /** `call(token)`; if `isRefusal(result)`, once more with the renewed token. */
    public <T> T withToken(String grant, Function<String, T> call, Predicate<T> isRefusal)
            throws IOException, InterruptedException {
        String current = token(grant);
        T result = call.apply(current);
        if (!isRefusal.test(result)) {
            return result;
        }
        return call.apply(refused(grant, current));
    }

    private static String grantPath(String grant, String action) {
        return "/v1/grants/" + URLEncoder.encode(grant, StandardCharsets.UTF_8) + "/" + action;
    }

    // The JDK has no JSON library: tokens are printable ASCII without quotes or
    // backslashes, so one field can be read and written by hand. With Jackson or Gson
    // at hand, use them.
    private static final Pattern ACCESS_TOKEN =
            Pattern.compile("\"access_token\"\\s*:\\s*\"([^\"\\\\]*)\"");

    static String accessToken(String json) throws IOException {
        Matcher m = ACCESS_TOKEN.matcher(json);
        if (!m.find()) {
            throw new IOException("no access_token in the agent's answer");
        }
        return m.group(1);
    }

    static String refusedBody(String token) {
        return "{\"token\":\"" + token + "\"}";
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: java AgentClient.java AGENT_URL GRANT");
            System.exit(2);
        }
        AgentClient agent = new AgentClient(args[0], System.getenv("TOKENKIT_AGENT_BEARER_FILE"));
        String grant = args[1];
        try {
            String first = agent.answer("GET", grantPath(grant, "token"), null);
            System.out.println(first);
            String body = refusedBody(accessToken(first));
            System.out.println(agent.answer("POST", grantPath(grant, "refused"), body));
        } catch (AgentException e) {
            System.err.println(e.body);
            System.exit(1);
        }
    }
}
