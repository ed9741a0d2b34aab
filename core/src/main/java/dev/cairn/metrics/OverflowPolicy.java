package dev.cairn.metrics;

/** What logging does when the writer thread has fallen a whole queue behind. */
public enum OverflowPolicy {
  /** The training thread waits for room (default); each wait is counted in an event. */
  BLOCK,
  /** The record is dropped and counted; drops are reported as queue_overflow events. */
  DROP_AND_COUNT
}
