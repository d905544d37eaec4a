"""EpiGRAF (Skorokhodov et al., NeurIPS 2022): patch sampling, objective, dataset statistics."""
