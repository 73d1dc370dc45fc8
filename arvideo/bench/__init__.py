"""Benchmarks: tokenizer quality, generation speed, and the paradigm comparison.

Each writes JSON + markdown (and plots) under benchmarks/results/; `arvideo bench <name>`.
"""
