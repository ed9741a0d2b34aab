package dev.cairn.cache;

/**
 * What a model's tokens cost, per million (in any currency; Cairn adds them up).
 *
 * @param inputPerMillion price of a million prompt tokens
 * @param outputPerMillion price of a million completion tokens
 */
public record Price(double inputPerMillion, double outputPerMillion) {
  public static final Price FREE = new Price(0, 0);

  public Price {
    if (!(inputPerMillion >= 0) || !(outputPerMillion >= 0)) {
      throw new IllegalArgumentException("prices must be 0 or more");
    }
  }

  public double cost(long promptTokens, long completionTokens) {
    return (promptTokens * inputPerMillion + completionTokens * outputPerMillion) / 1e6;
  }
}
