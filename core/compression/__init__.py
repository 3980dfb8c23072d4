"""Model compression: post-training quantization, pruning, clustering and QAT, with a report."""
