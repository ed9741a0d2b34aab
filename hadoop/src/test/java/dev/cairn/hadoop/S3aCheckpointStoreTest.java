package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.net.URI;
import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The checkpoint store on S3A against a real S3 endpoint: the marker commit strategy. */
class S3aCheckpointStoreTest extends RemoteCheckpointStoreContract {
  @RegisterExtension static final S3ProxyExtension PROXY = S3Endpoint.extension();

  @Override
  protected Storage freshStorage() throws IOException {
    URI bucket = S3Endpoint.freshBucket(PROXY);
    return HadoopStorages.at(bucket.resolve("runs/ck"), S3Endpoint.configuration(PROXY));
  }

  @Override
  protected Storage sameFolderElsewhere(Storage s) throws IOException {
    // The FileSystem cache is off for S3A in these tests: this is a new client.
    return HadoopStorages.at(URI.create(s.location("")), S3Endpoint.configuration(PROXY));
  }

  @Override
  protected boolean expectsAtomicRename() {
    return false;
  }
}
