"""EpiGRAF (Skorokhodov et al., NeurIPS 2022): patch sampling, objective, dataset statistics.

Importing this package registers the ``epigraf`` objective and the ``epigraf`` model family.
"""

from ganrepro.models.epigraf import family as _family  # noqa: F401  (registers the model family)

from . import objective as _objective  # noqa: F401  (registers the objective)
