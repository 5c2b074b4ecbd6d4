"""``warl bench``: a matrix of training runs (algorithms x envs x seeds) under one equal
env-step budget, and the paper-style comparison rendered from it.

``matrix`` is the spec and the cell layout, ``runner`` runs the cells, ``aggregate`` turns the
finished cells into numbers, ``table`` and ``figures`` render them and ``report`` writes the
bench folder's results. Only ``runner`` needs the training stack (torch); a report renders from
the cell folders alone.
"""
