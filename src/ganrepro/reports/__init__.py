"""Tables (pandas: long CSV + paper-shaped markdown) and figures (seaborn PNG)."""
