package dev.cairn.control;

/**
 * A request, from outside the training process, to save a checkpoint now.
 *
 * @param id unique, chosen by the requester; the job answers with events carrying it
 * @param name checkpoint name (pins it), or null
 */
public record SaveRequest(String id, String name) {}
