"""nprob: deep generative models with hand-written backprop, in NumPy or CuPy.

Start with ``derivations/README.md`` for the mathematics and ``README.md`` for the code map.
"""
__version__ = "0.1.0"
