package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** A request that runs the JVM short of memory is answered, and nothing else is caught. */
class SafeHandlerTest {
  @Test
  void outOfMemoryBecomesA503Sentence() {
    assertThatThrownBy(
            () ->
                Dashboard.safe(
                        ctx -> {
                          throw new OutOfMemoryError("Java heap space");
                        })
                    .handle(null))
        .isInstanceOfSatisfying(
            ApiError.class,
            e -> {
              assertThat(e.status()).isEqualTo(503);
              assertThat(e.getMessage()).contains("ran short of memory").doesNotContain("Error");
            });
  }

  @Test
  void otherFailuresPassThroughToTheirOwnMapping() {
    IllegalStateException boom = new IllegalStateException("boom");
    assertThatThrownBy(
            () ->
                Dashboard.safe(
                        ctx -> {
                          throw boom;
                        })
                    .handle(null))
        .isSameAs(boom);
    assertThat(Failures.answer(boom, "r").status()).isEqualTo(500);
    assertThat(Failures.answer(boom, "r").getMessage()).doesNotContain("IllegalState");
  }
}
