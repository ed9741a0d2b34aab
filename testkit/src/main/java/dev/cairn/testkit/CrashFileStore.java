package dev.cairn.testkit;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileStoreAttributeView;

/** The real file store, except that usable space can be set by the test. */
final class CrashFileStore extends FileStore {
  private final CrashFileSystem fs;
  private final FileStore delegate;

  CrashFileStore(CrashFileSystem fs, FileStore delegate) {
    this.fs = fs;
    this.delegate = delegate;
  }

  @Override
  public String name() {
    return delegate.name();
  }

  @Override
  public String type() {
    return "crashfs+" + delegate.type();
  }

  @Override
  public boolean isReadOnly() {
    return delegate.isReadOnly();
  }

  @Override
  public long getTotalSpace() throws IOException {
    return delegate.getTotalSpace();
  }

  @Override
  public long getUsableSpace() throws IOException {
    long override = fs.usableSpaceOverride();
    return override >= 0 ? override : delegate.getUsableSpace();
  }

  @Override
  public long getUnallocatedSpace() throws IOException {
    long override = fs.usableSpaceOverride();
    return override >= 0 ? override : delegate.getUnallocatedSpace();
  }

  @Override
  public long getBlockSize() throws IOException {
    return delegate.getBlockSize();
  }

  @Override
  public boolean supportsFileAttributeView(Class<? extends FileAttributeView> type) {
    return delegate.supportsFileAttributeView(type);
  }

  @Override
  public boolean supportsFileAttributeView(String name) {
    return delegate.supportsFileAttributeView(name);
  }

  @Override
  public <V extends FileStoreAttributeView> V getFileStoreAttributeView(Class<V> type) {
    return delegate.getFileStoreAttributeView(type);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CrashFileStore other && other.delegate.equals(delegate);
  }

  @Override
  public int hashCode() {
    return delegate.hashCode();
  }

  @Override
  public Object getAttribute(String attribute) throws IOException {
    return delegate.getAttribute(attribute);
  }
}
