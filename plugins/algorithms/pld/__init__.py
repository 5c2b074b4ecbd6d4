"""Probe-Learn-Distill: residual RL on a frozen WA model, distilled back into it (a baseline)."""
