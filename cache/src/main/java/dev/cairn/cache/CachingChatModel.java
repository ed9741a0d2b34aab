package dev.cairn.cache;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessageSerializer;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A LangChain4j {@link ChatModel} that answers from Cairn's response cache and records into it:
 * wrap an existing model and a pipeline pays for each distinct request once, across crashes and
 * reruns.
 *
 * <pre>{@code
 * ChatModel model = new CachingChatModel(openAiModel, calls, "openai/gpt-4o-mini", price);
 * }</pre>
 *
 * The key is the request's messages (LangChain4j's own JSON form) and every parameter that changes
 * the answer (model name, temperature, top-p/k, penalties, max tokens, stop sequences, tools,
 * response format), plus {@code endpoint}, a name for the provider you choose.
 */
public final class CachingChatModel implements ChatModel {
  private final ChatModel delegate;
  private final CachedCalls calls;
  private final String endpoint;
  private final Price price;

  public CachingChatModel(ChatModel delegate, CachedCalls calls, String endpoint, Price price) {
    this.delegate = delegate;
    this.calls = calls;
    this.endpoint = endpoint;
    this.price = price == null ? Price.FREE : price;
  }

  @Override
  public ChatResponse chat(ChatRequest request) {
    ObjectNode key = Requests.JSON.createObjectNode();
    key.put("endpoint", endpoint);
    key.put("messages", ChatMessageSerializer.messagesToJson(request.messages()));
    ObjectNode p = key.putObject("parameters");
    p.put("model", request.modelName());
    p.put("temperature", request.temperature());
    p.put("top_p", request.topP());
    p.put("top_k", request.topK());
    p.put("frequency_penalty", request.frequencyPenalty());
    p.put("presence_penalty", request.presencePenalty());
    p.put("max_output_tokens", request.maxOutputTokens());
    p.put("stop", String.valueOf(request.stopSequences()));
    p.put("tools", String.valueOf(request.toolSpecifications()));
    p.put("tool_choice", String.valueOf(request.toolChoice()));
    p.put("response_format", String.valueOf(request.responseFormat()));
    try {
      Answer a =
          calls.call(
              key,
              () -> {
                ChatResponse r = delegate.chat(request);
                TokenUsage u = r.tokenUsage();
                long in = u == null || u.inputTokenCount() == null ? 0 : u.inputTokenCount();
                long out = u == null || u.outputTokenCount() == null ? 0 : u.outputTokenCount();
                ObjectNode raw = Requests.JSON.createObjectNode();
                raw.put("finish_reason", r.finishReason() == null ? null : r.finishReason().name());
                raw.put("model", r.modelName());
                return new Answer(
                    r.aiMessage().text(),
                    raw.toString(),
                    in,
                    out,
                    price.cost(in, out),
                    0,
                    0,
                    false);
              });
      JsonNode raw = Requests.JSON.readTree(a.raw());
      ChatResponse.Builder b =
          ChatResponse.builder()
              .aiMessage(AiMessage.from(a.content()))
              .tokenUsage(new TokenUsage((int) a.promptTokens(), (int) a.completionTokens()));
      String finish = raw.path("finish_reason").asText(null);
      if (finish != null) {
        b.finishReason(FinishReason.valueOf(finish));
      }
      String model = raw.path("model").asText(null);
      if (model != null) {
        b.modelName(model);
      }
      return b.build();
    } catch (IOException e) {
      throw new UncheckedIOException(e.getMessage(), e);
    }
  }
}
