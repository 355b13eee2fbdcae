package convnet.serve;

import convnet.eval.Classifier;

/** A model the server serves: its name, its classifier and the batcher in front of it. */
record ServedModel(String name, Classifier classifier, Batcher batcher) {}
