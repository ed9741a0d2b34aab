package dev.cairn.metrics;

/** How much of metrics.jsonl a power cut may take. */
public enum Durability {
  /** Every record is fsynced before the next is written: nothing acknowledged is lost. */
  EVERY_RECORD,
  /** Records are fsynced together at most every second or every 1,000 records (default). */
  GROUP_COMMIT,
  /**
   * Written to the OS and never fsynced by Cairn: a crash of the process loses nothing, a power cut
   * may.
   */
  OS_BUFFERED
}
