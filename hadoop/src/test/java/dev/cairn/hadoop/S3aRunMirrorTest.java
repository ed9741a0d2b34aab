package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.net.URI;
import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A run folder mirrored to S3 through S3A: no append, no rename. */
class S3aRunMirrorTest extends RemoteRunMirrorContract {
  @RegisterExtension static final S3ProxyExtension PROXY = S3Endpoint.extension();

  @Override
  protected Storage freshStorage() throws IOException {
    URI bucket = S3Endpoint.freshBucket(PROXY);
    return HadoopStorages.at(bucket.resolve("runs/r"), S3Endpoint.configuration(PROXY));
  }

  @Override
  protected Storage sameFolderElsewhere(Storage s) throws IOException {
    return HadoopStorages.at(URI.create(s.location("")), S3Endpoint.configuration(PROXY));
  }
}
