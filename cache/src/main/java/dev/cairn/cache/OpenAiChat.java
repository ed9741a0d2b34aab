package dev.cairn.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;

/**
 * A client of OpenAI-compatible chat-completions endpoints (OpenAI, vLLM, llama.cpp, Ollama's
 * OpenAI API, ...) on the JDK's HttpClient, every call going through {@link CachedCalls}. The cache
 * key covers the endpoint, the model and every field of the request body.
 */
public final class OpenAiChat {
  /** A chat message. */
  public record Message(String role, String content) {}

  private final URI endpoint;
  private final String apiKey;
  private final String model;
  private final Price price;
  private final CachedCalls calls;
  private final Duration timeout;
  private final HttpClient http;

  /**
   * @param baseUrl like {@code http://127.0.0.1:8000/v1} ({@code /chat/completions} is added unless
   *     the URL already ends with it)
   * @param apiKey sent as a bearer token; null for none
   */
  public OpenAiChat(
      URI baseUrl, String apiKey, String model, Price price, CachedCalls calls, Duration timeout) {
    String u = baseUrl.toString();
    if (!u.startsWith("http://") && !u.startsWith("https://")) {
      throw new IllegalArgumentException("the API URL must start with http:// or https://: " + u);
    }
    this.endpoint =
        URI.create(
            u.endsWith("/chat/completions")
                ? u
                : (u.endsWith("/") ? u.substring(0, u.length() - 1) : u) + "/chat/completions");
    this.apiKey = apiKey;
    this.model = model;
    this.price = price == null ? Price.FREE : price;
    this.calls = calls;
    this.timeout = timeout;
    this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
  }

  public URI endpoint() {
    return endpoint;
  }

  /** One user prompt, deterministic settings (temperature 0), a short answer. */
  public Answer ask(String prompt, int maxTokens) throws IOException {
    return ask(List.of(new Message("user", prompt)), 0.0, maxTokens);
  }

  public Answer ask(List<Message> messages, double temperature, int maxTokens) throws IOException {
    ObjectNode body = Requests.JSON.createObjectNode();
    body.put("model", model);
    ArrayNode ms = body.putArray("messages");
    for (Message m : messages) {
      ms.addObject().put("role", m.role()).put("content", m.content());
    }
    body.put("temperature", temperature);
    body.put("max_tokens", maxTokens);
    ObjectNode key = Requests.JSON.createObjectNode();
    key.put("endpoint", endpoint.toString());
    key.set("body", body);
    String json = body.toString();
    return calls.call(key, () -> post(json));
  }

  private Answer post(String json) throws IOException, InterruptedException {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(endpoint)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json, StandardCharsets.UTF_8));
    if (apiKey != null && !apiKey.isBlank()) {
      b.header("Authorization", "Bearer " + apiKey);
    }
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new HttpStatusException(
          r.statusCode(), retryAfter(r.headers().firstValue("Retry-After")), r.body());
    }
    return parse(r.body());
  }

  /** The answer of a 200 response; anything else than the expected JSON is refused. */
  Answer parse(String body) throws MalformedAnswerException {
    JsonNode root;
    try {
      root = Requests.JSON.readTree(body);
    } catch (IOException e) {
      throw new MalformedAnswerException(
          "the API answered 200 with something that is not JSON (or was cut short): "
              + abbreviate(body),
          e);
    }
    JsonNode content =
        root == null ? null : root.path("choices").path(0).path("message").get("content");
    if (content == null || !content.isTextual()) {
      throw new MalformedAnswerException(
          "the API answered 200 without choices[0].message.content: " + abbreviate(body), null);
    }
    long pt = root.path("usage").path("prompt_tokens").asLong(0);
    long ct = root.path("usage").path("completion_tokens").asLong(0);
    return new Answer(content.asText(), body, pt, ct, price.cost(pt, ct), 0, 0, false);
  }

  static Duration retryAfter(Optional<String> header) {
    if (header.isEmpty()) {
      return null;
    }
    String v = header.get().trim();
    try {
      long seconds = Long.parseLong(v);
      return seconds >= 0 ? Duration.ofSeconds(seconds) : null;
    } catch (NumberFormatException e) {
      try {
        ZonedDateTime at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME);
        Duration d = Duration.between(ZonedDateTime.now(at.getZone()), at);
        return d.isNegative() ? Duration.ZERO : d;
      } catch (RuntimeException ignored) {
        return null;
      }
    }
  }

  private static String abbreviate(String s) {
    String one = s == null ? "" : s.replace('\n', ' ');
    return one.length() > 120 ? one.substring(0, 120) + "..." : one;
  }
}
