package dev.cairn.hadoop;

import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A group's save to a real S3 endpoint (S3Proxy in this JVM) through S3A (the manifest as the
 * marker), one rank killed at each protocol point. With {@code mvn -Pmedium}: its 15 groups of
 * three JVMs take minutes on 2 cores; {@link HdfsGroupCrashTest} runs the same contract in the
 * default suite.
 */
@Tag("medium")
class S3aGroupCrashTest extends RemoteGroupCrashContract {
  @RegisterExtension static final S3ProxyExtension PROXY = S3Endpoint.extension();

  @Override
  protected RemoteBackend backend() {
    return RemoteBackend.s3(PROXY);
  }
}
