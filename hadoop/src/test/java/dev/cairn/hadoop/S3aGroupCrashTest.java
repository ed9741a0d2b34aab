package dev.cairn.hadoop;

import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A group's save to a real S3 endpoint (S3Proxy in this JVM) through S3A (the manifest as the
 * marker), one rank killed at each protocol point.
 */
class S3aGroupCrashTest extends RemoteGroupCrashContract {
  @RegisterExtension static final S3ProxyExtension PROXY = S3Endpoint.extension();

  @Override
  protected RemoteBackend backend() {
    return RemoteBackend.s3(PROXY);
  }
}
