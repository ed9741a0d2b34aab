package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.net.URI;
import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Network faults between a checkpoint store and a real S3 endpoint, through S3A. */
class S3aFaultTest extends RemoteFaultContract {
  @RegisterExtension static final S3ProxyExtension PROXY = S3Endpoint.extension();

  @Override
  protected Storage freshStorage() throws IOException {
    URI bucket = S3Endpoint.freshBucket(PROXY);
    return HadoopStorages.at(bucket.resolve("runs/ck"), S3Endpoint.configuration(PROXY));
  }
}
