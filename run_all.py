#!/usr/bin/env python3
"""Run every experiment of the assignment: ``python run_all.py [--backend cupy] [--quick] [--out DIR]``.

This file only hands over to :func:`nprob.assignment.cli.main`; ``python run_all.py --help`` lists the options.
"""
import sys

from nprob.assignment.cli import main

if __name__ == "__main__":
    sys.exit(main())
