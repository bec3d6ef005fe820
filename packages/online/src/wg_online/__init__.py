"""A Fwumious-Wabbit-style online learner: VW format, hashing, logistic regression and FFM."""
