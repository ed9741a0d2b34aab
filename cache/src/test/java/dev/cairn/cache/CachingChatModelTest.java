package dev.cairn.cache;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.events.Events;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.output.FinishReason;
import dev.langchain4j.model.output.TokenUsage;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CachingChatModelTest {
  @TempDir Path dir;

  @Test
  void anExistingLangChain4jModelPaysOncePerDistinctRequest() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    ChatModel paid =
        new ChatModel() {
          @Override
          public ChatResponse doChat(ChatRequest request) {
            calls.incrementAndGet();
            return ChatResponse.builder()
                .aiMessage(AiMessage.from("answer " + calls.get()))
                .tokenUsage(new TokenUsage(100, 5))
                .finishReason(FinishReason.STOP)
                .modelName("teacher-1")
                .build();
          }
        };
    try (ResponseCache cache = ResponseCache.open(dir.resolve("responses.db"))) {
      CachedCalls cached = new CachedCalls(cache, RetrySettings.defaults(), Events.NONE);
      ChatModel model = new CachingChatModel(paid, cached, "test/teacher-1", new Price(2, 8));
      ChatRequest q =
          ChatRequest.builder().messages(UserMessage.from("2+2?")).temperature(0.0).build();
      ChatResponse first = model.chat(q);
      ChatResponse second = model.chat(q);
      assertThat(calls.get()).isEqualTo(1);
      assertThat(second.aiMessage().text())
          .isEqualTo(first.aiMessage().text())
          .isEqualTo("answer 1");
      assertThat(second.tokenUsage().inputTokenCount()).isEqualTo(100);
      assertThat(second.finishReason()).isEqualTo(FinishReason.STOP);
      assertThat(cached.stats().saved()).isEqualTo((100 * 2 + 5 * 8) / 1e6);
      // The convenience API of ChatModel goes through the cache too.
      assertThat(model.chat("2+2?")).isEqualTo("answer 2");
      assertThat(model.chat("2+2?")).isEqualTo("answer 2");
      assertThat(calls.get()).isEqualTo(2);
      // A parameter that changes the answer is another request.
      model.chat(ChatRequest.builder().messages(UserMessage.from("2+2?")).temperature(0.7).build());
      assertThat(calls.get()).isEqualTo(3);
    }
  }
}
