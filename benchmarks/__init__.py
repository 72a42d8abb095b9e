"""Performance measurements of backprop-course, printed as tables of times and ratios.

Run ``python -m benchmarks`` (``make bench``). Each benchmark compares figures measured side by
side in the same process, so the ratios mean something on a shared, noisy machine.
"""
