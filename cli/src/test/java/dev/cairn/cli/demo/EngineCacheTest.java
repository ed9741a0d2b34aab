package dev.cairn.cli.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the PyTorch engine is unpacked: once per user, not once per runs folder. */
class EngineCacheTest {
  @TempDir Path dir;

  @Test
  void oneFolderPerUserUnlessTheUserMovesIt() {
    String before = System.getProperty(EngineCache.PROPERTY);
    try {
      System.clearProperty(EngineCache.PROPERTY);
      if (System.getenv(EngineCache.ENV) == null) {
        Path user = EngineCache.resolve(null);
        assertThat(user).isEqualTo(dev.cairn.run.UserFolders.cache().resolve("cairn/engine"));
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base =
            xdg != null && !xdg.isBlank()
                ? Path.of(xdg)
                : Path.of(System.getProperty("user.home"), ".cache");
        assertThat(user).isEqualTo(base.resolve("cairn/engine"));
      }
      System.setProperty(EngineCache.PROPERTY, dir.resolve("prop").toString());
      assertThat(EngineCache.resolve(null)).isEqualTo(dir.resolve("prop").toAbsolutePath());
      assertThat(EngineCache.resolve(dir.resolve("flag")))
          .as("--engine-cache wins")
          .isEqualTo(dir.resolve("flag").toAbsolutePath());
    } finally {
      if (before == null) {
        System.clearProperty(EngineCache.PROPERTY);
      } else {
        System.setProperty(EngineCache.PROPERTY, before);
      }
    }
  }

  @Test
  void aFailedUnpackSaysWhatItNeedsWhereAndHowToMoveIt() {
    RuntimeException djl =
        new RuntimeException(
            "Failed to extract PyTorch native library", new IOException("No space left on device"));
    assertThat(EngineCache.isExtractionFailure(djl)).isTrue();
    assertThat(EngineCache.isExtractionFailure(new IllegalStateException("other"))).isFalse();
    Path cache = dir.resolve("small/engine");
    String m = EngineCache.extractionFailed(cache, djl).getMessage();
    assertThat(m)
        .contains(cache.toString())
        .contains("450")
        .contains("is free")
        .contains("--engine-cache DIR")
        .contains(EngineCache.ENV)
        .doesNotContain("\n");
  }
}
